/*
 * The control socket's ops carried out on the agent: one table line and
 * one handler per op of lib/ipc.h (control-handlers.c), served by
 * control.c.
 */
#ifndef PRAAS_CONTROL_HANDLERS_H
#define PRAAS_CONTROL_HANDLERS_H

struct agent;

/* Opens the control socket at control_socket. 0, or -errno with *cause allocated. */
int control_handlers_open(struct agent *a, char **cause);

#endif
