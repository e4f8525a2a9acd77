/*
 * One monitor acts at a time, cloud-wide: every h = half a period
 * (second_monitoring), at most 5 s, and when it connects, the monitor asks
 * its pat-agent for the lease (control op "lease"), which takes or renews
 * one row of the shared database with one UPDATE (store_lease_take) for 3h.
 * Only while it holds it does the monitor poll (reconcile.c asks
 * lease_acting; taking it starts a poll at once) and consume Neutron's
 * notifications (notify_start on taking it, notify_stop on losing it).
 *
 * Why these times: a holder that starts a cycle renewed at most h before,
 * so it holds the lease at least 2h after: no other monitor acts while
 * that look runs (a look takes milliseconds to seconds; 2h is at least 1 s).
 * A holder killed at t leaves a lease ending by t + 3h (plus its last
 * ask's round trip: one sent just before t still renews after it); a
 * standby asks every h, so it takes over by t + 4h <= t + 2 periods, plus
 * the round trips of those two asks (a control socket request and one
 * UPDATE each). A tick that finds the previous ask unanswered asks as soon
 * as the answer comes, so a slow answer never costs a standby a whole h.
 * A monitor that cannot reach its pat-agent stops acting at once.
 */
#ifndef PRAAS_MONITOR_LEASE_H
#define PRAAS_MONITOR_LEASE_H

#include <stdbool.h>

struct monitor;
struct lease;

/* Asks now, then every half period. 0 or -errno. */
int lease_start(struct monitor *m, struct lease **out);
/*
 * Stops asking (the lease runs out by itself). NULL is fine. An ask still
 * unanswered keeps the lease until its answer comes: ipc_client_free
 * answers every pending request, so free the lease before the client.
 */
void lease_free(struct lease *l);
/* Asks at once (the pat-agent just connected). */
void lease_ask_now(struct lease *l);
/* Whether this monitor holds the lease now. */
bool lease_acting(const struct lease *l);

#endif
