/*
 * The forwarding model shared by the store, the rule engine, the REST API
 * and the control socket: one forwarding maps
 * external_addr:ext_lo..ext_hi/protocol on a router to
 * internal_addr:int_lo..int_hi. A single port is a range with lo == hi.
 * Ranges are either the same length (port N maps to port N) or map many
 * external ports onto one internal port ("N:1").
 */
#ifndef PRAAS_FWD_H
#define PRAAS_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

#define FWD_ID_LEN          36 /* canonical UUID text */
#define FWD_NAME_MAX        64 /* router, project and Neutron port ids */
#define FWD_DESCRIPTION_MAX 255
#define FWD_HOST_MAX        64 /* a node's name (config host) */

enum fwd_status {
	FWD_STATUS_ACTIVE,
	FWD_STATUS_DOWN,
	/* Worked out at an answer across nodes, never stored: */
	FWD_STATUS_BUILD, /* a live agent hosting the router has not applied it yet */
	FWD_STATUS_ERROR, /* a live agent's kernel refused it */
};

/*
 * Why a forwarding is DOWN. Not stored: the agent works it out when it
 * answers (pat-agent kernel_explain), from the status and whether the
 * router's namespace is on the node now. A stable, small set; the names
 * are the API's "status_reason" values and the /metrics reason label.
 */
enum fwd_reason {
	FWD_REASON_NONE,             /* ACTIVE, or not worked out (null) */
	FWD_REASON_NAMESPACE_ABSENT, /* the router's namespace is not on this node */
	FWD_REASON_KERNEL_REFUSED,   /* the namespace is there; writing its table failed */
	FWD_REASON_APPLYING,         /* BUILD: a node hosting it has not applied it yet */
};

/* One node's replica of a forwarding's router, as an answer across nodes shows it. */
struct fwd_host {
	char host[FWD_HOST_MAX + 1];
	char ns[FWD_NAME_MAX + 16];
	enum fwd_status status; /* ACTIVE, BUILD or ERROR there */
	const char *error;      /* ERROR: the kernel's words; else NULL */
};

struct port_range {
	uint16_t lo, hi;
};

struct forwarding {
	char id[FWD_ID_LEN + 1];
	char router_id[FWD_NAME_MAX + 1];
	char project_id[FWD_NAME_MAX + 1];
	struct addr external_addr;
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	struct port_range external;
	struct addr internal_addr;
	struct port_range internal;
	char internal_port_id[FWD_NAME_MAX + 1];
	bool masquerade;
	char description[FWD_DESCRIPTION_MAX + 1];
	enum fwd_status status;
	enum fwd_reason status_reason; /* not stored; see enum fwd_reason */
	/*
	 * Not stored either: the node and namespace that hold it, filled by the
	 * agent when it answers (pat-agent kernel_hosts); "" when none.
	 */
	char host[FWD_HOST_MAX + 1];
	char host_namespace[FWD_NAME_MAX + 16];
	/* Across nodes (not stored): every live node's replica, instead of host above. */
	const struct fwd_host *hosts;
	size_t n_hosts;
	uint64_t revision;  /* the router revision it was last written at (shared store); 0: none */
	int64_t created_at; /* seconds since the epoch, UTC */
	int64_t updated_at;
};

/* "tcp" -> IPPROTO_TCP, "udp" -> IPPROTO_UDP; -EINVAL otherwise. */
int fwd_protocol_parse(const char *name);
/* "tcp", "udp", or "?" */
const char *fwd_protocol_name(uint8_t protocol);
const char *fwd_status_name(enum fwd_status status);
/* "namespace_absent", "kernel_refused", or NULL for FWD_REASON_NONE. */
const char *fwd_reason_name(enum fwd_reason reason);
/* The reverse; -EINVAL for an unknown name. */
int fwd_reason_parse(const char *name);

/*
 * Parses "N" or "N:M" with 1 <= N <= M <= 65535. Returns 0, or -EINVAL
 * with *why set to a static phrase saying what is wrong.
 */
int port_range_parse(const char *text, struct port_range *out, const char **why);
/*
 * Parses one decimal port "N", 1 <= N <= 65535: digits only, no sign or
 * spaces. Returns 0, or -EINVAL with *why set to a static phrase ("is not a
 * port ...") saying what is wrong.
 */
int port_parse(const char *text, uint16_t *out, const char **why);
/* Formats as "N:M" into buf (12 bytes is enough). */
const char *port_range_format(const struct port_range *r, char *buf, size_t len);
unsigned int port_range_len(const struct port_range *r);
bool port_range_overlap(const struct port_range *a, const struct port_range *b);

/*
 * Checks the invariants every stored forwarding holds: a known protocol,
 * matching address families, ranges of equal length or an internal range
 * of one port. Returns 0, or -EINVAL with *why naming the field and reason.
 */
int fwd_validate(const struct forwarding *f, const char **why);

/*
 * The internal port that external port ext maps to; ext must lie in
 * f->external.
 */
uint16_t fwd_internal_port_for(const struct forwarding *f, uint16_t ext);

/* A random (version 4) UUID in canonical text form. 0 or -errno. */
int fwd_uuid_generate(char out[FWD_ID_LEN + 1]);
bool fwd_uuid_valid(const char *text);

/*
 * A growing array of forwardings. fwd_list_add() has the shape of a store
 * iteration callback, so a listing is store_foreach_*(..., fwd_list_add, &l).
 * Returns 0 or -ENOMEM.
 */
struct fwd_list {
	struct forwarding *v;
	size_t n, cap;
};
int fwd_list_add(const struct forwarding *f, void *list);
void fwd_list_free(struct fwd_list *l);

/*
 * ISO 8601 UTC, "2026-11-26T06:38:40Z", as Neutron writes timestamps. A year
 * outside 0000-9999 is written in ISO 8601's expanded form, signed and in
 * full ("+10000-01-01T00:00:00Z", "-0001-12-31T23:59:59Z"): the real date,
 * never a substitute. FWD_TIME_MAX bytes hold any int64_t time; a shorter
 * buf gets the text truncated, as snprintf would. Returns buf.
 */
#define FWD_TIME_MAX 32
const char *fwd_time_format(int64_t t, char *buf, size_t len);

#endif
