/*
 * What the monitor concluded, told to the pat-agent over the control
 * socket: the same requests whether the poll (reconcile.c) or a
 * notification (notify.c) led there.
 */
#ifndef PRAAS_MONITOR_REPORT_H
#define PRAAS_MONITOR_REPORT_H

#include <stdbool.h>

#include "decide.h"

struct monitor;

/* The pat-agent's answer: ok is false when it refused or never answered. */
typedef void report_done_cb(bool ok, void *arg);

/*
 * Reports a (a suspect only when confirmed_gone: Neutron answered 404 for
 * it; otherwise nothing is sent). Returns 1 when a request was sent (done,
 * if not NULL, will be called once), 0 when there was nothing to send, or
 * -errno when it could not be sent (logged; done is not called).
 */
int report_action(struct monitor *m, const struct action *a, bool confirmed_gone,
        report_done_cb *done, void *arg);

#endif
