/*
 * Neutron's notifications turned into the monitor's reports: a message
 * says what to check (a port, a router); the pat-agent's forwardings of it
 * and Neutron's answer about it decide (decide.c, the poll's rules),
 * never the message alone.
 *
 * Per message, O(its forwardings): the pat-agent lists the forwardings of
 * that port or router (none: acknowledged, Neutron not asked), one GET to
 * Neutron (404 is the confirmation a suspect needs), then the reports.
 * The message is acknowledged once every report was accepted; a failure
 * anywhere (pat-agent, Neutron, report) retries the message after a delay
 * doubling from 1 s to 30 s, still unacknowledged. Malformed, oversized
 * and unfollowed messages are logged (the first ones, then one in 1,000)
 * and acknowledged: nothing would ever make them useful.
 *
 * notify_start/notify_stop are the one switch: the monitor's lease (issue
 * 12) turns the acting monitor's consumer on and a standby's off.
 */
#ifndef PRAAS_MONITOR_NOTIFY_H
#define PRAAS_MONITOR_NOTIFY_H

struct monitor;
struct notify;

struct notify_stats {
	unsigned long followed, ignored, malformed, acked, retried, reports;
};

/*
 * From m->cfg (transport_url and the notification_* keys). 0 with *out
 * NULL when transport_url is "" (notifications off) or the monitor is
 * standalone; -EINVAL with *cause for a bad URL; -ENOMEM.
 */
int notify_new(struct monitor *m, struct notify **out, char **cause);
/* Starts consuming (connecting in the background). */
void notify_start(struct notify *n);
/* Stops consuming: what is not acknowledged stays on the queue. */
void notify_stop(struct notify *n);
const struct notify_stats *notify_stats(const struct notify *n);
/* Before the control socket's client and OpenStack's are freed. */
void notify_free(struct notify *n);

#endif
