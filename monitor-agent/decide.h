/*
 * What the monitor concludes from one look at Neutron: given the
 * forwardings the pat-agent listed (held compactly, fwdset.h) and what
 * Neutron says of the ports and routers they reference, the changes to
 * report. Pure: no I/O, so every
 * rule is unit-tested.
 *
 * A port or router missing from a listing is only a suspect: the monitor
 * confirms it with a 404 for that id before reporting it deleted.
 */
#ifndef PRAAS_MONITOR_DECIDE_H
#define PRAAS_MONITOR_DECIDE_H

#include <stddef.h>

#include "addr.h"
#include "fwd.h"
#include "fwdset.h"

struct neutron_routers;

enum action_kind {
	ACTION_PORT_SUSPECT,    /* not listed: confirm with a GET, then port_deleted */
	ACTION_PORT_MOVED,      /* port_address_changed port_id old_ip new_ip */
	ACTION_ROUTER_SUSPECT,  /* not listed: confirm, then router_deleted */
	ACTION_GATEWAY_CHANGED, /* gateway_changed router_id new_ip */
};

struct action {
	enum action_kind kind;
	char id[FWD_NAME_MAX + 1]; /* port or router id */
	struct addr old_ip, new_ip;
};

struct actions {
	struct action *v;
	size_t n, cap;
};

/*
 * Compares the forwardings of s with what Neutron said: of their ports,
 * as noted in s (fwdset_note_port; a port never noted is not listed), and
 * of their routers (routers, listed by the ids the forwardings name).
 * Each conclusion appears once however many forwardings lead to it; out
 * is sorted by kind, then id. O(N log N) in the forwardings and the
 * listings. 0 or -ENOMEM (out is then empty).
 */
int decide(const struct fwdset *s, const struct neutron_routers *routers, struct actions *out);

/* Which rules decide_scoped applies. */
enum decide_scope {
	DECIDE_PORTS = 1 << 0,   /* ports: suspect, moved */
	DECIDE_ROUTERS = 1 << 1, /* routers: suspect, gateway changed */
	DECIDE_ALL = DECIDE_PORTS | DECIDE_ROUTERS,
};

/*
 * decide() restricted to some rules: a notification about a port brings
 * the port's forwardings and Neutron's answer about that port alone (none
 * about their routers, which are then not judged), and the same for a
 * router. decide() is decide_scoped(..., DECIDE_ALL, out).
 */
int decide_scoped(const struct fwdset *s, const struct neutron_routers *routers, unsigned int scope,
        struct actions *out);
void actions_free(struct actions *a);
/*
 * Moves src's actions into dst (src is then empty), each conclusion once,
 * in decide()'s order: a cycle decides a chunk of forwardings at a time.
 * 0 or -ENOMEM (dst keeps what it held and part of src).
 */
int actions_merge(struct actions *dst, struct actions *src);

/*
 * The distinct non-empty port and router ids of s, sorted, as arrays of
 * pointers into s (valid while s is unchanged). 0 or -ENOMEM.
 */
int decide_ids(const struct fwdset *s, const char ***port_ids, size_t *nports,
        const char ***router_ids, size_t *nrouters);

#endif
