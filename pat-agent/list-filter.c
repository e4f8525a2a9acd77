#include "list-filter.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cause.h"
#include "fwd-json.h"
#include "query.h"

/* Every answer has every field: field selection is accepted and ignored. */
static const char *const ignored[] = {"fields"};

static const struct {
	const char *name;
	unsigned int bit;
} paging[] = {
        {"limit", LIST_PAGE_LIMIT},
        {"marker", LIST_PAGE_MARKER},
        {"page_reverse", LIST_PAGE_REVERSE},
        {"sort_key", LIST_PAGE_SORT_KEY},
        {"sort_dir", LIST_PAGE_SORT_DIR},
};

static const struct {
	const char *name;
	unsigned int bit;
} filters[] = {
        {"protocol", LIST_FILTER_PROTOCOL},
        {"internal_ip_address", LIST_FILTER_INTERNAL_IP_ADDRESS},
        {"internal_port_id", LIST_FILTER_INTERNAL_PORT_ID},
        {"external_port", LIST_FILTER_EXTERNAL_PORT},
        {"router_id", LIST_FILTER_ROUTER_ID},
        {"status", LIST_FILTER_STATUS},
};

struct state {
	bool allow_router_id;
	struct list_filter *f;
	char **why;
};

static int set_filter(
        unsigned int bit, const char *name, const char *v, struct list_filter *f, char **why)
{
	struct port_range r;
	const char *reason;
	int proto;

	switch (bit) {
	case LIST_FILTER_PROTOCOL:
		if ((proto = fwd_protocol_parse(v)) < 0)
			return cause_invalid(why, "protocol: must be tcp or udp");
		f->protocol = (uint8_t)proto;
		return 0;
	case LIST_FILTER_STATUS:
		/* Upper case as shown; Neutron's own filters compare exactly too. */
		for (int st = FWD_STATUS_ACTIVE; st <= FWD_STATUS_ERROR; st++)
			if (strcmp(v, fwd_status_name((enum fwd_status)st)) == 0) {
				f->status = (enum fwd_status)st;
				return 0;
			}
		return cause_invalid(
		        why, "status: must be ACTIVE, BUILD, ERROR or DOWN, not '%.32s'", v);
	case LIST_FILTER_INTERNAL_IP_ADDRESS:
		if (addr_parse(v, &f->internal_ip_address) < 0)
			return cause_invalid(
			        why, "internal_ip_address: is not an IPv4 or IPv6 address");
		return 0;
	case LIST_FILTER_EXTERNAL_PORT:
		if (port_range_parse(v, &r, &reason) < 0 || r.lo != r.hi)
			return cause_invalid(why, "external_port: must be a port from 1 to 65535");
		f->external_port = r.lo;
		return 0;
	default:
		if (!fwd_json_name_valid(v))
			return cause_invalid(why, "%s: is not an id", name);
		strcpy(bit == LIST_FILTER_ROUTER_ID ? f->router_id : f->internal_port_id, v);
		return 0;
	}
}

/*
 * limit as Neutron reads it: an integer >= 0, 0 meaning "the maximum".
 * A huge one saturates: it is cut to the maximum anyway.
 */
static int set_limit(const char *v, struct list_page *pg, char **why)
{
	unsigned long long n = 0;

	if (*v == '\0')
		return cause_invalid(why, "limit: must be an integer 0 or greater, not empty");
	for (const char *c = v; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return cause_invalid(
			        why, "limit: must be an integer 0 or greater, not '%.32s'", v);
		if (n < UINT32_MAX)
			n = n * 10 + (unsigned long long)(*c - '0');
	}
	pg->limit = n > UINT32_MAX ? UINT32_MAX : (unsigned int)n;
	return 0;
}

static int set_paging(unsigned int bit, const char *v, struct list_page *pg, char **why)
{
	switch (bit) {
	case LIST_PAGE_LIMIT:
		return set_limit(v, pg, why);
	case LIST_PAGE_MARKER:
		/* Empty is "no marker", as in Neutron (a first page's link may carry one). */
		if (*v != '\0' && !fwd_uuid_valid(v))
			return cause_invalid(why, "marker: must be a port forwarding id (a UUID)");
		/* Ids are stored in lower case; the page is cut by comparing them. */
		for (size_t i = 0; v[i]; i++)
			pg->marker[i] = (char)tolower((unsigned char)v[i]);
		pg->marker[strlen(v)] = '\0';
		return 0;
	case LIST_PAGE_REVERSE:
		if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0)
			return cause_invalid(why, "page_reverse: must be true or false");
		pg->reverse = strcasecmp(v, "true") == 0;
		return 0;
	case LIST_PAGE_SORT_KEY:
		if (strcmp(v, "id") != 0)
			return cause_invalid(why,
			        "sort_key: '%.64s' is not supported: listings are sorted by id, "
			        "the key they are paged by",
			        v);
		return 0;
	default:
		if (strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0)
			return cause_invalid(why, "sort_dir: must be asc or desc");
		pg->descending = strcmp(v, "desc") == 0;
		return 0;
	}
}

static int on_paging(const struct query_pair *p, struct state *st)
{
	size_t i;

	for (i = 0; i < sizeof(paging) / sizeof(paging[0]); i++)
		if (strcmp(p->key, paging[i].name) == 0)
			break;
	if (i == sizeof(paging) / sizeof(paging[0]))
		return 1;
	if (!p->value_ok)
		return cause_invalid(st->why, "%s: has a bad %%-escape or a NUL", p->key);
	if (st->f->page.given & paging[i].bit)
		return cause_invalid(st->why, "%s: is given more than once", p->key);
	st->f->page.given |= paging[i].bit;
	return set_paging(paging[i].bit, p->value, &st->f->page, st->why);
}

static int on_pair(const struct query_pair *p, void *arg)
{
	struct state *st = arg;
	size_t i;
	int r;

	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (p->key_ok && strcmp(p->key, ignored[i]) == 0)
			return 0;
	if (p->key_ok && (r = on_paging(p, st)) <= 0)
		return r;
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (p->key_ok && strcmp(p->key, filters[i].name) == 0)
			break;
	if (i == sizeof(filters) / sizeof(filters[0]) ||
	        (filters[i].bit == LIST_FILTER_ROUTER_ID && !st->allow_router_id))
		return cause_invalid(st->why,
		        "%s: is not a filter of this listing (%s; paging: limit, marker, "
		        "page_reverse, sort_key, sort_dir)",
		        p->key_ok ? p->key : "(undecodable)",
		        st->allow_router_id ? "router_id, protocol, internal_ip_address, "
		                              "internal_port_id, external_port, status"
		                            : "protocol, internal_ip_address, internal_port_id, "
		                              "external_port, status");
	if (!p->value_ok)
		return cause_invalid(st->why, "%s: has a bad %%-escape or a NUL", p->key);
	if (st->f->given & filters[i].bit)
		return cause_invalid(st->why, "%s: is given more than once", p->key);
	st->f->given |= filters[i].bit;
	return set_filter(filters[i].bit, p->key, p->value, st->f, st->why);
}

int list_filter_parse(const char *query, bool allow_router_id, struct list_filter *f, char **why)
{
	struct state st = {allow_router_id, f, why};
	int r;

	memset(f, 0, sizeof(*f));
	*why = NULL;
	if ((r = query_foreach(query, on_pair, &st)) == -E2BIG)
		return cause_invalid(why, "query: longer than %d bytes", QUERY_MAX);
	return r;
}

bool list_filter_match(const struct list_filter *f, const struct forwarding *fw)
{
	if ((f->given & LIST_FILTER_PROTOCOL) && fw->protocol != f->protocol)
		return false;
	if ((f->given & LIST_FILTER_INTERNAL_IP_ADDRESS) &&
	        !addr_equal(&fw->internal_addr, &f->internal_ip_address))
		return false;
	if ((f->given & LIST_FILTER_INTERNAL_PORT_ID) &&
	        strcmp(fw->internal_port_id, f->internal_port_id) != 0)
		return false;
	if ((f->given & LIST_FILTER_EXTERNAL_PORT) &&
	        (f->external_port < fw->external.lo || f->external_port > fw->external.hi))
		return false;
	if ((f->given & LIST_FILTER_ROUTER_ID) && strcmp(fw->router_id, f->router_id) != 0)
		return false;
	if ((f->given & LIST_FILTER_STATUS) && fw->status != f->status)
		return false;
	return true;
}
