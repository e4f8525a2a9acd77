/*
 * The filters of the v1 listings, from their query strings:
 *   GET /v1/routers/{router_id}/port_forwardings?protocol=&internal_ip_address=
 *       &internal_port_id=&external_port=&status=ACTIVE|BUILD|ERROR|DOWN
 *   GET /v1/port_forwardings?router_id=   (and the same filters)
 * and Neutron's paging parameters on both:
 *   limit=N (0: the server's maximum), marker=ID (a forwarding id: the page
 *   starts after it), page_reverse=true|false (the page before the marker),
 *   sort_key=id, sort_dir=asc|desc.
 * Each parameter is given at most once and checked. The listing is ordered
 * by id only (the key it is paged by), so any other sort_key is refused,
 * naming it, rather than silently ignored. fields is accepted and ignored
 * (every answer has every field). Any other parameter is refused, naming
 * it, so a misspelt filter never silently lists everything.
 */
#ifndef PRAAS_LIST_FILTER_H
#define PRAAS_LIST_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "fwd.h"

enum list_filter_field {
	LIST_FILTER_PROTOCOL = 1u << 0,
	LIST_FILTER_INTERNAL_IP_ADDRESS = 1u << 1,
	LIST_FILTER_INTERNAL_PORT_ID = 1u << 2,
	LIST_FILTER_EXTERNAL_PORT = 1u << 3,
	LIST_FILTER_ROUTER_ID = 1u << 4,
	LIST_FILTER_STATUS = 1u << 5,
};

/* Which paging parameters were given. */
enum list_page_field {
	LIST_PAGE_LIMIT = 1u << 0,
	LIST_PAGE_MARKER = 1u << 1,
	LIST_PAGE_REVERSE = 1u << 2,
	LIST_PAGE_SORT_KEY = 1u << 3,
	LIST_PAGE_SORT_DIR = 1u << 4,
};

struct list_page {
	unsigned int given;          /* enum list_page_field */
	unsigned int limit;          /* 0: not given or 0, i.e. the server's maximum */
	char marker[FWD_ID_LEN + 1]; /* lower case; "" when none */
	bool reverse;                /* page_reverse=true */
	bool descending;             /* sort_dir=desc */
};

struct list_filter {
	unsigned int given; /* enum list_filter_field */
	struct list_page page;
	uint8_t protocol;
	struct addr internal_ip_address;
	char internal_port_id[FWD_NAME_MAX + 1];
	uint16_t external_port;
	char router_id[FWD_NAME_MAX + 1];
	enum fwd_status status;
};

/*
 * Parses query (NULL is empty). router_id is a filter only when
 * allow_router_id (the all-routers listing). 0, or -EINVAL with *why an
 * allocated "parameter: reason" line, or -ENOMEM.
 */
int list_filter_parse(const char *query, bool allow_router_id, struct list_filter *f, char **why);

/* True when fw passes every given filter (external_port: within its range). */
bool list_filter_match(const struct list_filter *f, const struct forwarding *fw);

#endif
