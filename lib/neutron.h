/*
 * Neutron v2.0 reads over Keystone's authenticated requests: routers and
 * ports, one by id or listed by filter, and a router's interfaces (with
 * their subnets). The objects and their decoding are neutron-decode.h's;
 * the writes and network reads (tests only) neutron-write.h's.
 *
 * Promises:
 * - Listings follow pagination (limit, marker, <resource>_links "next")
 *   until the end, and fail with -ELOOP when a next link repeats a marker
 *   already seen or the page count passes a bound; a listing is complete
 *   or an error, never partial.
 * - Listings ask only for the fields neutron-decode.c reads (fields=...).
 * - A filter with many ids is sent as repeated id= parameters, split into
 *   several calls so that no URL exceeds the bound (default 4000 bytes);
 *   the results are merged.
 * - Every error carries the HTTP status, OpenStack's message and the call
 *   that failed (see struct http_error); a malformed answer is -EPROTO.
 * - Results handed to a callback belong to it (free with the matching
 *   *_free); callbacks run from the loop, once, unless cancelled.
 */
#ifndef PRAAS_NEUTRON_H
#define PRAAS_NEUTRON_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "http.h"
#include "keystone.h"
#include "neutron-decode.h"

#define NEUTRON_DEFAULT_PAGE_SIZE 500
#define NEUTRON_DEFAULT_MAX_URL   4000
#define NEUTRON_MAX_PAGES         10000

struct neutron;
struct neutron_call;

/*
 * Filters: a NULL field is not filtered on. ids, when ids_len > 0, keeps
 * only those ids (repeated id= parameters).
 */
struct neutron_port_filter {
	const char *ip_address; /* fixed_ips=ip_address=... */
	const char *subnet_id;  /* fixed_ips=subnet_id=... */
	const char *device_id;
	const char *device_owner;
	const char *network_id;
	const char *project_id;
	const char *const *ids;
	size_t ids_len;
};

struct neutron_router_filter {
	const char *name;
	const char *project_id;
	const char *const *ids;
	size_t ids_len;
};

struct neutron_stats {
	unsigned int requests; /* HTTP calls sent (pages, chunks) */
};

/*
 * Callbacks: on success err is NULL and the result is non-NULL and the
 * callback's to free; on error the result is NULL.
 */
typedef void (*neutron_router_cb)(
        struct neutron_router *r, const struct http_error *err, void *arg);
typedef void (*neutron_routers_cb)(
        struct neutron_routers *l, const struct http_error *err, void *arg);
typedef void (*neutron_port_cb)(struct neutron_port *p, const struct http_error *err, void *arg);
typedef void (*neutron_ports_cb)(struct neutron_ports *l, const struct http_error *err, void *arg);
typedef void (*neutron_subnet_cb)(
        struct neutron_subnet *s, const struct http_error *err, void *arg);
typedef void (*neutron_network_cb)(
        struct neutron_network *n, const struct http_error *err, void *arg);
typedef void (*neutron_networks_cb)(
        struct neutron_networks *l, const struct http_error *err, void *arg);
typedef void (*neutron_interfaces_cb)(
        struct neutron_router_interfaces *ifs, const struct http_error *err, void *arg);
/* For delete and interface add/remove: err NULL on success. */
typedef void (*neutron_done_cb)(const struct http_error *err, void *arg);

/*
 * A Neutron client over ks (borrowed; it must outlive the neutron). The
 * endpoint is the catalog's "network" entry (a trailing /v2.0 is dropped)
 * unless neutron_set_endpoint() names one. 0 or -ENOMEM.
 */
int neutron_new(struct keystone *ks, struct neutron **out);
/* Cancels every pending call (no callbacks) and frees. */
void neutron_free(struct neutron *n);
/* Fixed endpoint ("http://host:9696"), or NULL for the catalog. 0 or -ENOMEM. */
int neutron_set_endpoint(struct neutron *n, const char *url);
void neutron_set_page_size(struct neutron *n, unsigned int limit);
void neutron_set_max_url(struct neutron *n, size_t bytes);
const struct neutron_stats *neutron_stats(const struct neutron *n);

/* Stops a pending call; its callback will not be called. */
void neutron_call_cancel(struct neutron_call *call);

/*
 * Reads. Each returns 0 (the callback will be called once) or -errno
 * (-EINVAL for a missing id, -ENOMEM; no callback). call may be NULL.
 */
int neutron_router_get(struct neutron *n, const char *id, neutron_router_cb cb, void *arg,
        struct neutron_call **call);
int neutron_routers_list(struct neutron *n, const struct neutron_router_filter *f,
        neutron_routers_cb cb, void *arg, struct neutron_call **call);
int neutron_port_get(struct neutron *n, const char *id, neutron_port_cb cb, void *arg,
        struct neutron_call **call);
int neutron_ports_list(struct neutron *n, const struct neutron_port_filter *f, neutron_ports_cb cb,
        void *arg, struct neutron_call **call);
/*
 * neutron_ports_list() a page at a time, for listings too large to hold:
 * each page's ports are lent to page (freed when it returns; it must not
 * cancel the call) and not kept, and cb gets an empty list at the end.
 * page returning -errno ends the listing: cb gets that error.
 */
typedef int (*neutron_ports_page_cb)(const struct neutron_ports *page, void *arg);
int neutron_ports_each(struct neutron *n, const struct neutron_port_filter *f,
        neutron_ports_page_cb page, neutron_ports_cb cb, void *arg, struct neutron_call **call);
/*
 * The router's interface ports (device_id = router_id, device_owner
 * network:router_interface, network:router_interface_distributed,
 * network:ha_router_replicated_interface) and the subnets of their fixed
 * IPs, fetched in one listing each.
 */
int neutron_router_interfaces(struct neutron *n, const char *router_id, neutron_interfaces_cb cb,
        void *arg, struct neutron_call **call);

#endif
