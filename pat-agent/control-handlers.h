/*
 * The control door of the pat-agent: each op of lib/ipc.h is a typed
 * request (pipeline.h) run by the runner (runner.h) through its op's
 * table of steps, and its end answered by control.c's table
 * (control_reply_outcome: ok, or error with the fault's sentence).
 * Adding an op: its line in lib/ipc.c, its steps and one line in ops[]
 * (control-handlers.c).
 */
#ifndef PRAAS_CONTROL_HANDLERS_H
#define PRAAS_CONTROL_HANDLERS_H

#include <stddef.h>

#include "ipc.h"
#include "runner.h"

struct agent;

/* One op's line of the control door's table. */
struct control_plan {
	const char *name; /* for logs */
	const struct runner_step *steps;
	size_t nsteps;
};

/* The op's line; NULL for ping (control.c answers it) and unknown ops. */
const struct control_plan *control_handlers_plan(enum ipc_op op);

/* Opens the control socket at control_socket. 0, or -errno with *cause allocated. */
int control_handlers_open(struct agent *a, char **cause);

#endif
