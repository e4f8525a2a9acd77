/*
 * Neutron's notifications, as oslo.messaging puts them on the bus: the
 * envelope {"oslo.version": "2.0", "oslo.message": "<json>"} (or, from the
 * older "messaging" driver, the message itself), whose event_type and
 * payload say what changed. This module only reads; it never decides.
 *
 * Promises: any byte string is either a parsed event, an event of a type
 * PRaaS does not follow (OSLO_EVENT_OTHER), or -EINVAL with a one-line
 * cause naming what was wrong. Ids are checked (1..FWD_NAME_MAX of
 * [A-Za-z0-9_-]) before anyone uses them in a URL or a control request.
 */
#ifndef PRAAS_OSLO_NOTIFY_H
#define PRAAS_OSLO_NOTIFY_H

#include <stddef.h>

#include "fwd.h"

/* Bodies larger than this are refused unread: Neutron's are a few kB. */
#define OSLO_NOTIFY_MAX_BODY (1024 * 1024)

enum oslo_event_kind {
	OSLO_EVENT_OTHER,  /* well formed, not one PRaaS follows */
	OSLO_EVENT_PORT,   /* id is a port's: port.delete.end, port.update.end */
	OSLO_EVENT_ROUTER, /* id is a router's: router.update.end, router.delete.end,
	                      router.interface.delete(.end) */
};

struct oslo_event {
	enum oslo_event_kind kind;
	char type[64]; /* event_type, cut to fit; "" when absent */
	char id[FWD_NAME_MAX + 1];
};

/*
 * Reads body[0..len) (not NUL-terminated). 0 with *ev filled, or -EINVAL
 * (malformed; *cause says why) or -ENOMEM; cause may be NULL.
 */
int oslo_notify_parse(const char *body, size_t len, struct oslo_event *ev, char **cause);

#endif
