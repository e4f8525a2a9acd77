/*
 * The filters of the v1 listings, from their query strings:
 *   GET /v1/routers/{router_id}/port_forwardings?protocol=&internal_ip_address=
 *       &internal_port_id=&external_port=
 *   GET /v1/port_forwardings?router_id=   (and the same filters)
 * Each filter is given at most once and checked; Neutron's paging and field
 * selection parameters (fields, limit, marker, sort_key, sort_dir,
 * page_reverse) are accepted and ignored; any other parameter is refused,
 * naming it, so a misspelt filter never silently lists everything.
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
};

struct list_filter {
	unsigned int given; /* enum list_filter_field */
	uint8_t protocol;
	struct addr internal_ip_address;
	char internal_port_id[FWD_NAME_MAX + 1];
	uint16_t external_port;
	char router_id[FWD_NAME_MAX + 1];
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
