#include "api-v1.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "audit.h"
#include "call.h"
#include "fwd-json.h"
#include "http.h"
#include "kernel.h"
#include "list-filter.h"
#include "log.h"
#include "pipeline.h"
#include "query.h"
#include "readcopy.h"
#include "replicas.h"
#include "routers.h"
#include "store.h"
#include "storeq.h"

enum v1_op {
	V1_LIST,
	V1_CREATE,
	V1_SHOW,
	V1_UPDATE,
	V1_DELETE,
	V1_LIST_ALL,
};

/* One v1 request in progress: what it asked and what was learned so far. */
struct v1 {
	struct pipeline_request req; /* router_id, caller, router, target */
	struct call *call;
	enum v1_op op;
	char id[FWD_ID_LEN + 1];
	struct forwarding f; /* create: parsed; update: the stored one, then the next */
	/*
	 * update, delete: the stored one as loaded, for the audit line (a change
	 * to it in between is refused or seen by the group commit; the line
	 * says what this request replaced as it saw it).
	 */
	struct forwarding prev;
	struct forwarding given_fields;
	unsigned int given;
	bool target_resolved; /* pipeline_resolve_target() ran: req.target is the target */
	struct store *copy;   /* the database away: the read copy this read answers from */
};

static struct v1 *v1_of(struct runner *r)
{
	return runner_of(r, struct v1, req.run);
}

/* The store this request reads: the database, or the read copy once it was found away. */
static struct store *reads_of(struct v1 *v)
{
	return v->copy != NULL ? v->copy : v->req.a->reads;
}

/*
 * A read (list, show; never a write's) failed with r: whether to read
 * again from the read copy (reads_of() gives it now, the answer carries
 * X-PRaaS-Stale). Once, and only when the database is unreachable.
 */
static bool fall_back(struct v1 *v, int r)
{
	if (v->copy != NULL || (v->op != V1_LIST && v->op != V1_LIST_ALL && v->op != V1_SHOW))
		return false;
	v->copy = readcopy_fallback(v->req.a, v->call, r);
	return v->copy != NULL;
}

static void finish(struct v1 *v)
{
	free(v);
}

static void fail(struct v1 *v, const struct fault *err)
{
	call_reply_error(v->call, err);
	finish(v);
}

static void fail_with(struct v1 *v, int e, enum fault_cause cause, const char *detail)
{
	struct fault err;

	fault_set(&err, e, cause, "%s", detail);
	fail(v, &err);
}

/*
 * f as a client sees it: with the operator's masquerade = true every
 * forwarding is source-NATed (one table-wide rule), so each shows
 * "masquerade": true whatever it asked for. The stored value is kept: it
 * applies again if the operator turns the global one off. status,
 * status_reason and hosts are worked out now (replicas_show: across nodes
 * from the agents' replicas, one read per router per answer; on one node
 * kernel_explain), so they are never stale. shown->hosts lives in rv.
 */
static int shown_of(struct forwarding *shown, const struct forwarding *f, bool masquerade_all,
        struct replicas_view *rv)
{
	char *cause = NULL;
	int r;

	*shown = *f;
	if (masquerade_all)
		shown->masquerade = true;
	if ((r = replicas_show(rv, shown, &cause)) < 0) {
		log_warnx("v1: the status of %s: %s", f->id, cause ? cause : strerror(-r));
		free(cause);
	}
	return r;
}

/* Answers {"port_forwarding": f} with status. */
/* store: the one the answer's replicas are read from (the gate's the caller runs in). */
static void reply_one(struct v1 *v, int status, const struct forwarding *f, struct store *store)
{
	struct replicas_view *rv = replicas_view_new(v->req.a, store);
	struct evbuffer *b = evbuffer_new();
	struct forwarding shown;
	int r = rv != NULL && b != NULL ? 0 : -ENOMEM;

	if (r == 0 && v->copy != NULL)
		replicas_view_local(rv);
	if (r == 0 && (r = shown_of(&shown, f, v->req.a->cfg.masquerade, rv)) == 0 &&
	        (evbuffer_add_printf(b, "{\"port_forwarding\":") < 0 ||
	                fwd_json_write(b, &shown) < 0 || evbuffer_add(b, "}", 1) < 0))
		r = -ENOMEM;
	replicas_view_free(rv);
	if (r < 0) {
		if (b)
			evbuffer_free(b);
		if (r == -ENOMEM)
			fail_with(v, r, FAULT_MEMORY, "out of memory");
		else
			fail_with(v, r, FAULT_STORE, "cannot read the forwarding's replicas");
		return;
	}
	call_reply(v->call, status, b);
	evbuffer_free(b);
	finish(v);
}

/* The request of call c: its path's captures checked, its credentials noted. */
static struct v1 *start(struct call *c, enum v1_op op, bool with_router, bool with_id)
{
	struct v1 *v = calloc(1, sizeof(*v));
	const char *router, *id;
	struct fault err;

	if (v == NULL) {
		fault_no_memory(&err);
		call_reply_error(c, &err);
		return NULL;
	}
	v->call = c;
	v->req.a = call_agent(c);
	v->req.token = call_header(c, "X-Auth-Token");
	if (call_peer(c, &v->req.peer) == NULL)
		memset(&v->req.peer, 0, sizeof(v->req.peer));
	v->req.target_field = "internal_ip_address";
	v->op = op;
	router = with_router ? call_capture(c, "router_id") : NULL;
	id = with_id ? call_capture(c, "id") : NULL;
	if (router && !fwd_json_name_valid(router)) {
		fail_with(v, -ENOENT, FAULT_ROUTER,
		        "no such router: a router id is 1-64 characters of [A-Za-z0-9._-]");
		return NULL;
	}
	if (id && !fwd_uuid_valid(id)) {
		fail_with(v, -ENOENT, FAULT_FORWARDING, "no such port forwarding: ids are UUIDs");
		return NULL;
	}
	snprintf(v->req.router_id, sizeof(v->req.router_id), "%s", router ? router : "");
	snprintf(v->id, sizeof(v->id), "%s", id ? id : "");
	return v;
}

/* ---- listing ---- */

/*
 * A listing is a page (Neutron's limit, marker, page_reverse) walked by id
 * through the store, read a few rows at a time by keyset (id > the last
 * one read), and rendered as the client reads it: a client that never
 * reads holds at most one piece of it, and no statement stays open across
 * loop turns to hold up writers. Rows changed between two pieces may or
 * may not be seen, as between two pages; none is seen twice.
 */
#define LIST_PIECE_BYTES (64 * 1024) /* rendered per turn, at most (plus one row) */
#define LIST_READ_ROWS   128         /* rows per store statement */

struct listing {
	struct store *store;
	bool masquerade_all;        /* the operator's masquerade = true: see shown_of() */
	struct replicas_view *view; /* status and hosts: see shown_of() */
	struct list_filter query;
	bool by_router; /* the store read is of router_id only */
	char router_id[FWD_NAME_MAX + 1];
	bool by_project; /* a caller who is not admin sees their project's only */
	char project_id[FWD_NAME_MAX + 1];
	char base[FWD_NAME_MAX + 64]; /* the listing's path, for its links */
	char *links_query;            /* the query minus marker and page_reverse, encoded */
	unsigned int limit;
	bool desc;                 /* walk (and answer) by descending id */
	char pos[FWD_ID_LEN + 1];  /* the last id read; "" before the first */
	char stop[FWD_ID_LEN + 1]; /* the walk ends at this id; "" at the table's end */
	unsigned int n;            /* rendered so far */
	char first[FWD_ID_LEN + 1], last[FWD_ID_LEN + 1];
	bool more;   /* a match after the page */
	bool before; /* a match before the page (page_reverse) */
	bool end;    /* the walk is over */
	bool full;   /* the piece is full: the read stopped early */
	unsigned int got;
	struct evbuffer *out; /* the piece being filled */
};

/* The caller's to see, before its status is worked out (a read of its router's replicas). */
static bool list_visible(const struct listing *l, const struct forwarding *f)
{
	return !l->by_project || strcmp(f->project_id, l->project_id) == 0;
}

/* shown: with its status worked out, which the filter may name. */
static bool list_match(const struct listing *l, const struct forwarding *shown)
{
	return list_visible(l, shown) && list_filter_match(&l->query, shown);
}

static bool past_stop(const struct listing *l, const char *id)
{
	int c = l->stop[0] ? strcmp(id, l->stop) : 0;

	return l->stop[0] && (l->desc ? c <= 0 : c >= 0);
}

static int on_row(const struct forwarding *f, void *arg)
{
	struct listing *l = arg;
	struct forwarding shown;
	int r;

	l->got++;
	if (past_stop(l, f->id)) {
		l->end = true;
		return 1;
	}
	snprintf(l->pos, sizeof(l->pos), "%s", f->id);
	if (!list_visible(l, f))
		return 0;
	if ((r = shown_of(&shown, f, l->masquerade_all, l->view)) < 0)
		return r;
	if (!list_match(l, &shown))
		return 0;
	if (l->n == l->limit) {
		l->more = true;
		return 1;
	}
	if ((l->n > 0 && evbuffer_add(l->out, ",", 1) < 0) || fwd_json_write(l->out, &shown) < 0)
		return -ENOMEM;
	if (l->n++ == 0)
		snprintf(l->first, sizeof(l->first), "%s", f->id);
	snprintf(l->last, sizeof(l->last), "%s", f->id);
	if (evbuffer_get_length(l->out) >= LIST_PIECE_BYTES) {
		l->full = true;
		return 1;
	}
	return 0;
}

/* Renders rows into out until the piece is full or the walk is over. */
static int fill(struct listing *l, struct evbuffer *out, char **cause)
{
	int r;

	l->out = out;
	l->full = false;
	while (!l->end && !l->more && !l->full) {
		l->got = 0;
		r = store_foreach_page_dir(l->store, l->by_router ? l->router_id : NULL, l->pos,
		        l->desc, LIST_READ_ROWS, on_row, l, cause);
		if (r < 0)
			return r;
		if (r == 0 && l->got < LIST_READ_ROWS)
			l->end = true;
	}
	return 0;
}

static int on_probe(const struct forwarding *f, void *arg)
{
	struct listing *l = arg;
	struct forwarding shown;
	int r;

	l->got++;
	snprintf(l->pos, sizeof(l->pos), "%s", f->id);
	if (!list_visible(l, f))
		return 0;
	if ((r = shown_of(&shown, f, l->masquerade_all, l->view)) < 0)
		return r;
	if (list_match(l, &shown) && ++l->n > l->limit) {
		l->before = true;
		return 1;
	}
	return 0;
}

/*
 * page_reverse: the page is the limit matches before the marker. Walks
 * back from it to the match one before the page, then sets the walk up to
 * render the page forwards from there to the marker, so the answer is in
 * the listing's order, as Neutron's.
 */
static int find_reverse_start(struct listing *l, char **cause)
{
	int r;

	snprintf(l->pos, sizeof(l->pos), "%s", l->query.page.marker);
	do {
		l->got = 0;
		r = store_foreach_page_dir(l->store, l->by_router ? l->router_id : NULL, l->pos,
		        !l->desc, LIST_READ_ROWS, on_probe, l, cause);
		if (r < 0)
			return r;
	} while (r == 0 && l->got == LIST_READ_ROWS);
	if (!l->before)
		l->pos[0] = '\0';
	snprintf(l->stop, sizeof(l->stop), "%s", l->query.page.marker);
	l->n = 0;
	return 0;
}

/* Appends a query key or value, percent-encoding all but unreserved characters (libcurl's). */
static int add_encoded(struct evbuffer *b, const char *s)
{
	char *esc = http_escape(s);
	int r = esc != NULL && evbuffer_add(b, esc, strlen(esc)) == 0 ? 0 : -ENOMEM;

	free(esc);
	return r;
}

static int keep_for_links(const struct query_pair *p, void *arg)
{
	struct evbuffer *b = arg;

	if (strcmp(p->key, "marker") == 0 || strcmp(p->key, "page_reverse") == 0)
		return 0;
	if ((evbuffer_get_length(b) > 0 && evbuffer_add(b, "&", 1) < 0) ||
	        add_encoded(b, p->key) < 0 || evbuffer_add(b, "=", 1) < 0 ||
	        add_encoded(b, p->value) < 0)
		return -ENOMEM;
	return 0;
}

/* The query the links start from: parse_filter() checked every pair. */
static int links_query(struct listing *l, const char *query)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	int r;

	if (b == NULL)
		return -ENOMEM;
	r = query_foreach(query, keep_for_links, b);
	len = evbuffer_get_length(b);
	if (r == 0 && (l->links_query = malloc(len + 1)) == NULL)
		r = -ENOMEM;
	if (r == 0) {
		evbuffer_copyout(b, l->links_query, len);
		l->links_query[len] = '\0';
	}
	evbuffer_free(b);
	return r;
}

/* {"rel": rel, "href": base?query&marker=id[&page_reverse=True]}; no marker when none. */
static int add_link(struct evbuffer *b, const struct listing *l, const char *rel, const char *id,
        bool reverse, bool comma)
{
	const char *q = l->links_query;
	bool amp = *q != '\0';

	if (evbuffer_add_printf(b, "%s{\"rel\":\"%s\",\"href\":\"%s?%s", comma ? "," : "", rel,
	            l->base, q) < 0 ||
	        (*id && evbuffer_add_printf(b, "%smarker=%s", amp ? "&" : "", id) < 0) ||
	        (reverse &&
	                evbuffer_add_printf(b, "%spage_reverse=True", amp || *id ? "&" : "") < 0) ||
	        evbuffer_add(b, "\"}", 2) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * Ends the answer with its links, as Neutron gives them: forwards, "next"
 * when a match follows the page and "previous" when a marker was given;
 * page_reverse, the other way round. Unlike Neutron, "next" is left out
 * when nothing follows (the walk looks one match ahead), so a client
 * following "next" never fetches an empty last page.
 */
static int add_tail(struct evbuffer *b, const struct listing *l)
{
	bool marker = l->query.page.marker[0] != '\0';
	bool next = l->query.page.reverse ? marker : l->more;
	bool prev = l->query.page.reverse ? l->before : marker;

	/* Neutron leaves the links out when there are none. */
	if (!next && !prev)
		return evbuffer_add(b, "]}", 2) < 0 ? -ENOMEM : 0;
	if (evbuffer_add_printf(b, "],\"port_forwardings_links\":[") < 0 ||
	        (next && add_link(b, l, "next", l->last, false, false) < 0) ||
	        (prev && add_link(b, l, "previous", l->first, true, next) < 0) ||
	        evbuffer_add(b, "]}", 2) < 0)
		return -ENOMEM;
	return 0;
}

static void list_free(struct listing *l)
{
	replicas_view_free(l->view);
	free(l->links_query);
	free(l);
}

static void list_done(void *arg, bool complete)
{
	list_free(arg);
}

static int list_more(struct evbuffer *out, void *arg)
{
	struct listing *l = arg;
	char *cause = NULL;
	int r = fill(l, out, &cause);

	if (r == 0 && (l->end || l->more))
		return add_tail(out, l) < 0 ? -ENOMEM : 0;
	if (r < 0) {
		log_warnx("v1 listing cut short: %s", cause ? cause : strerror(-r));
		free(cause);
		return r;
	}
	return 1;
}

/* router_id filters only the listing of everything; the other routes name the router. */
static int parse_filter(struct v1 *v, struct list_filter *query, bool allow_router_id)
{
	struct fault err;
	char *why = NULL;
	int r;

	r = list_filter_parse(call_query_string(v->call), allow_router_id, query, &why);
	if (r < 0) {
		fault_set(&err, r, r == -ENOMEM ? FAULT_MEMORY : FAULT_REQUEST, "%s",
		        why ? why : "out of memory");
		free(why);
		fail(v, &err);
		return -1;
	}
	return 0;
}

/* The walk back at its start, on store (the read copy after a failed read). */
static void list_rewind(struct listing *l, struct store *store)
{
	l->store = store;
	l->pos[0] = l->stop[0] = l->first[0] = l->last[0] = '\0';
	l->n = l->got = 0;
	l->more = l->before = l->end = l->full = false;
}

/* The answer's first piece: its head, the rows that fit, its tail when the walk is over. */
static int first_piece(struct listing *l, struct evbuffer *first, char **cause)
{
	static const char head[] = "{\"port_forwardings\":[";
	int r = 0;

	if (evbuffer_drain(first, evbuffer_get_length(first)) < 0 ||
	        evbuffer_add(first, head, strlen(head)) < 0)
		return -ENOMEM;
	if (l->query.page.reverse)
		r = find_reverse_start(l, cause);
	else
		snprintf(l->pos, sizeof(l->pos), "%s", l->query.page.marker);
	if (r == 0)
		r = fill(l, first, cause);
	if (r == 0 && (l->end || l->more) && add_tail(first, l) < 0)
		r = -ENOMEM;
	return r;
}

/*
 * Answers the listing: a page that fits in one piece at once, a longer one
 * as the client reads it. Errors before the first byte are API-SIG ones;
 * the database found away by then, the page is read from the read copy.
 */
static void list(struct v1 *v, struct listing *l)
{
	struct evbuffer *first = NULL;
	unsigned int max = (unsigned int)v->req.a->cfg.pagination_max_limit;
	struct fault err;
	char *cause = NULL;
	int r;

	l->store = v->req.a->reads;
	l->masquerade_all = v->req.a->cfg.masquerade;
	if ((l->view = replicas_view_new(v->req.a, l->store)) == NULL) {
		list_free(l);
		fail_with(v, -ENOMEM, FAULT_MEMORY, "out of memory");
		return;
	}
	l->limit =
	        l->query.page.limit == 0 || l->query.page.limit > max ? max : l->query.page.limit;
	l->desc = l->query.page.descending;
	r = links_query(l, call_query_string(v->call));
	if (r == 0 && (first = evbuffer_new()) == NULL)
		r = -ENOMEM;
	if (r == 0 && v->copy == NULL)
		r = first_piece(l, first, &cause);
	/* On the copy already (standalone_known read it), or the database found away now. */
	if (first != NULL && (v->copy != NULL ? r == 0 : r < 0 && fall_back(v, r))) {
		free(cause);
		cause = NULL;
		list_rewind(l, v->copy);
		replicas_view_local(l->view);
		r = first_piece(l, first, &cause);
	}
	/*
	 * MariaDB: the whole page now, in the store gate's task (the loop goes
	 * on meanwhile); a piece read later would read outside it. A page is
	 * at most pagination_max_limit forwardings.
	 */
	if (r == 0 && !l->end && !l->more && l->store == v->req.a->reads &&
	        store_is_shared(l->store)) {
		while (r == 0 && !l->end && !l->more)
			r = fill(l, first, &cause);
		if (r == 0 && add_tail(first, l) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			fault_no_memory(&err);
		else
			fault_set(&err, r, FAULT_STORE, "cannot read forwardings: %s",
			        cause ? cause : strerror(-r));
		free(cause);
		if (first)
			evbuffer_free(first);
		list_free(l);
		fail(v, &err);
		return;
	}
	if (l->end || l->more) {
		call_reply(v->call, 200, first);
		list_free(l);
	} else {
		call_reply_stream(v->call, 200, first, list_more, list_done, l);
	}
	evbuffer_free(first);
	finish(v);
}

static struct listing *list_new(struct v1 *v, bool allow_router_id)
{
	struct listing *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		fail_with(v, -ENOMEM, FAULT_MEMORY, "out of memory");
		return NULL;
	}
	if (parse_filter(v, &l->query, allow_router_id) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void do_list(struct v1 *v)
{
	struct listing *l = list_new(v, false);

	if (l == NULL)
		return;
	l->by_router = true;
	snprintf(l->router_id, sizeof(l->router_id), "%s", v->req.router_id);
	snprintf(l->base, sizeof(l->base), "/v1/routers/%s/port_forwardings", v->req.router_id);
	list(v, l);
}

static void do_list_all(struct v1 *v)
{
	struct listing *l = list_new(v, true);

	if (l == NULL)
		return;
	if (!v->req.caller.admin) {
		l->by_project = true;
		snprintf(l->project_id, sizeof(l->project_id), "%s", v->req.caller.project_id);
	}
	if (l->query.given & LIST_FILTER_ROUTER_ID) {
		l->by_router = true;
		snprintf(l->router_id, sizeof(l->router_id), "%s", l->query.router_id);
	}
	snprintf(l->base, sizeof(l->base), "/v1/port_forwardings");
	list(v, l);
}

/* ---- one forwarding ---- */

/* Reads v->id into v->f; it must belong to the router of the path. */
static int load(struct v1 *v, struct fault *err)
{
	char *cause = NULL;
	int r = store_get(reads_of(v), v->id, &v->f, &cause);

	if (r < 0 && fall_back(v, r)) {
		free(cause);
		cause = NULL;
		r = store_get(reads_of(v), v->id, &v->f, &cause);
	}
	if (r == -ENOENT || (r == 0 && strcmp(v->f.router_id, v->req.router_id) != 0)) {
		free(cause);
		return fault_set(err, -ENOENT, FAULT_FORWARDING,
		        "no port forwarding %s on router %s", v->id, v->req.router_id);
	}
	if (r < 0) {
		fault_set(err, r, FAULT_STORE, "cannot read port forwarding %s: %s", v->id,
		        cause ? cause : strerror(-r));
		free(cause);
		return -1;
	}
	return 0;
}

static int parse_body(struct v1 *v, enum fwd_json_op op, struct forwarding *into, struct fault *err)
{
	const char *body;
	char *why = NULL;
	size_t len;
	int r;

	body = call_body(v->call, &len);
	r = fwd_json_parse_request(body ? body : "", body ? len : 0, op, into, &v->given, &why);
	if (r < 0) {
		fault_set(err, r, r == -ENOMEM ? FAULT_MEMORY : FAULT_REQUEST, "%s",
		        why ? why : "out of memory");
		free(why);
		return -1;
	}
	return 0;
}

/*
 * Standalone: a router is known while its namespace is here or while
 * forwardings of it are stored (DOWN ones stay listable). Neither: 404, as
 * with Neutron.
 */
static enum runner_verdict standalone_known(struct v1 *v, struct fault *err)
{
	char *cause = NULL;
	size_t n = 0;
	int r;

	if (kernel_router_present(v->req.a->kernel, v->req.router_id))
		return RUNNER_NEXT;
	if ((r = store_count(reads_of(v), v->req.router_id, &n, &cause)) < 0 && fall_back(v, r)) {
		free(cause);
		cause = NULL;
		r = store_count(reads_of(v), v->req.router_id, &n, &cause);
	}
	if (r < 0) {
		fault_set(err, r, FAULT_STORE, "cannot read forwardings: %s",
		        cause ? cause : strerror(-r));
		free(cause);
		return RUNNER_REFUSED;
	}
	if (n > 0)
		return RUNNER_NEXT;
	fault_set(err, -ENOENT, FAULT_ROUTER,
	        "router %s: its namespace is not on this node and it has no forwardings",
	        v->req.router_id);
	return RUNNER_REFUSED;
}

/* ---- the steps ---- */

static enum runner_verdict step_parse(struct runner *r)
{
	struct v1 *v = v1_of(r);
	int e = v->op == V1_CREATE ? parse_body(v, FWD_JSON_CREATE, &v->f, &r->fault)
	                           : parse_body(v, FWD_JSON_UPDATE, &v->given_fields, &r->fault);

	return e < 0 ? RUNNER_REFUSED : RUNNER_NEXT;
}

static enum runner_verdict step_known(struct runner *r)
{
	struct v1 *v = v1_of(r);

	return standalone_known(v, &r->fault);
}

/*
 * Standalone mode has no owners, and its routers are known only while their
 * namespace is here: reading or deleting DOWN forwardings must not need it.
 */
static enum runner_verdict step_router(struct runner *r)
{
	struct v1 *v = v1_of(r);

	if (!routers_have_owners(v->req.a->routers) && v->op != V1_CREATE && v->op != V1_UPDATE) {
		snprintf(v->req.router.id, sizeof(v->req.router.id), "%s", v->req.router_id);
		return v->op == V1_LIST ? storeq_step(v->req.a->readq, r, step_known) : RUNNER_NEXT;
	}
	return pipeline_resolve_router(r);
}

static enum runner_verdict list_now(struct runner *r)
{
	do_list(v1_of(r));
	return RUNNER_ANSWERED;
}

static enum runner_verdict list_all_now(struct runner *r)
{
	do_list_all(v1_of(r));
	return RUNNER_ANSWERED;
}

/* Reads of the store go through the store gate (storeq.h): on MariaDB the loop goes on. */
static enum runner_verdict step_list(struct runner *r)
{
	return storeq_step(v1_of(r)->req.a->readq, r, list_now);
}

static enum runner_verdict step_list_all(struct runner *r)
{
	return storeq_step(v1_of(r)->req.a->readq, r, list_all_now);
}

/* Show: the forwarding and its replicas' status, read in one go. */
static enum runner_verdict show_now(struct runner *r)
{
	struct v1 *v = v1_of(r);

	if (load(v, &r->fault) < 0)
		return RUNNER_REFUSED;
	reply_one(v, 200, &v->f, v->req.a->reads);
	return RUNNER_ANSWERED;
}

static enum runner_verdict step_show(struct runner *r)
{
	return storeq_step(v1_of(r)->req.a->readq, r, show_now);
}

/* Update: the stored one merged with what was given; delete: the one removed. */
static enum runner_verdict load_now(struct runner *r)
{
	struct v1 *v = v1_of(r);

	if (load(v, &r->fault) < 0)
		return RUNNER_REFUSED;
	v->prev = v->f; /* for the audit line */
	if (v->op == V1_UPDATE)
		fwd_json_apply(&v->f, &v->given_fields, v->given);
	return RUNNER_NEXT;
}

static enum runner_verdict step_load(struct runner *r)
{
	return storeq_step(v1_of(r)->req.a->readq, r, load_now);
}

/*
 * The forwarding's target: the address must be on one of the router's
 * subnets and, with Neutron, held by a port the caller may use. A new
 * target is checked as on create; an unchanged one was checked then.
 */
static enum runner_verdict step_target(struct runner *r)
{
	struct v1 *v = v1_of(r);

	if (v->op == V1_UPDATE) {
		if (!(v->given & (FWD_JSON_INTERNAL_IP_ADDRESS | FWD_JSON_INTERNAL_PORT_ID)))
			return RUNNER_NEXT;
		if (!(v->given & FWD_JSON_INTERNAL_PORT_ID))
			v->f.internal_port_id[0] = '\0';
	}
	v->req.target_addr = v->f.internal_addr;
	snprintf(v->req.target_port_id, sizeof(v->req.target_port_id), "%s", v->f.internal_port_id);
	v->target_resolved = true;
	return pipeline_resolve_target(r);
}

/* Everything is known: take the target, pick the gateway address, validate. */
static enum runner_verdict step_validate(struct runner *r)
{
	struct v1 *v = v1_of(r);
	const struct addr *gw;
	const char *why;

	if (v->op == V1_CREATE) {
		snprintf(v->f.router_id, sizeof(v->f.router_id), "%s", v->req.router_id);
		snprintf(v->f.project_id, sizeof(v->f.project_id), "%s", v->req.router.project_id);
	}
	if (v->target_resolved && routers_have_ports(v->req.a->routers)) {
		snprintf(v->f.internal_port_id, sizeof(v->f.internal_port_id), "%s",
		        v->req.target.id);
		v->f.internal_addr = v->req.target.addr;
	}
	if ((gw = router_gateway(&v->req.router, v->f.internal_addr.family)) == NULL)
		return fault_set(&r->fault, -EINVAL, FAULT_REQUEST,
		               "internal_ip_address: router %s has no IPv%c gateway address",
		               v->req.router_id, v->f.internal_addr.family == AF_INET6 ? '6' : '4'),
		       RUNNER_REFUSED;
	v->f.external_addr = *gw;
	/* An external range still to be allocated is checked as the one it will be. */
	if (v->op == V1_CREATE && !(v->given & FWD_JSON_EXTERNAL))
		v->f.external = (struct port_range){1, (uint16_t)port_range_len(&v->f.internal)};
	if (fwd_validate(&v->f, &why) < 0)
		return fault_set(&r->fault, -EINVAL, FAULT_REQUEST, "%s", why), RUNNER_REFUSED;
	return RUNNER_NEXT;
}

static void on_committed(const struct fault *err, void *arg)
{
	struct v1 *v = arg;

	if (err != NULL)
		runner_refuse(&v->req.run, err);
	else
		runner_resume(&v->req.run);
}

/* Answered after the group commit at the end of this loop turn. */
static enum runner_verdict step_commit(struct runner *r)
{
	struct v1 *v = v1_of(r);
	struct engine *e = &v->req.a->engine;

	if (v->op == V1_CREATE)
		engine_submit_create(e, &v->f, !(v->given & FWD_JSON_EXTERNAL), on_committed, v);
	else if (v->op == V1_UPDATE)
		engine_submit_update(e, &v->f, on_committed, v);
	else
		engine_submit_delete(e, v->id, on_committed, v);
	return RUNNER_WAIT;
}

/* Renders the outcome: the API-SIG error, or what the op answers. */
static void on_finish(struct runner *r, const struct fault *fault)
{
	struct v1 *v = v1_of(r);
	const char *rid = call_request_id(v->call);

	if (fault != NULL) {
		fail(v, fault);
		return;
	}
	switch (v->op) {
	case V1_CREATE:
		audit_log("create", rid, &v->req.caller, &v->f, NULL);
		reply_one(v, 201, &v->f, v->req.a->store); /* in the group commit's task */
		return;
	case V1_UPDATE:
		audit_log("update", rid, &v->req.caller, &v->f, &v->prev);
		reply_one(v, 200, &v->f, v->req.a->store);
		return;
	case V1_DELETE:
		audit_log("delete", rid, &v->req.caller, &v->prev, NULL);
		call_reply(v->call, 204, NULL);
		finish(v);
		return;
	default:
		reply_one(v, 200, &v->f, v->req.a->reads);
		return;
	}
}

/* ---- the ops: their steps, in order ---- */

static const struct runner_step list_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(step_router), RUNNER_STEP(pipeline_may_act), RUNNER_STEP(step_list)};
static const struct runner_step list_all_steps[] = {
        RUNNER_STEP(pipeline_authenticate), RUNNER_STEP(step_list_all)};
static const struct runner_step show_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(step_router), RUNNER_STEP(pipeline_may_act), RUNNER_STEP(step_show)};
static const struct runner_step delete_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(step_router), RUNNER_STEP(pipeline_may_act), RUNNER_STEP(step_load),
        RUNNER_STEP(step_commit)};
static const struct runner_step create_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(step_parse), RUNNER_STEP(step_router), RUNNER_STEP(pipeline_may_act),
        RUNNER_STEP(step_target), RUNNER_STEP(step_validate), RUNNER_STEP(step_commit)};
static const struct runner_step update_steps[] = {RUNNER_STEP(pipeline_authenticate),
        RUNNER_STEP(step_parse), RUNNER_STEP(step_router), RUNNER_STEP(pipeline_may_act),
        RUNNER_STEP(step_load), RUNNER_STEP(step_target), RUNNER_STEP(step_validate),
        RUNNER_STEP(step_commit)};

static void run(struct call *c, enum v1_op op, bool with_router, bool with_id,
        const struct runner_step *steps, size_t n)
{
	struct v1 *v = start(c, op, with_router, with_id);

	if (v != NULL)
		runner_start(&v->req.run, steps, n, on_finish);
}

void api_v1_list(struct call *c)
{
	run(c, V1_LIST, true, false, RUNNER_STEPS(list_steps));
}

void api_v1_list_all(struct call *c)
{
	run(c, V1_LIST_ALL, false, false, RUNNER_STEPS(list_all_steps));
}

void api_v1_create(struct call *c)
{
	run(c, V1_CREATE, true, false, RUNNER_STEPS(create_steps));
}

void api_v1_show(struct call *c)
{
	run(c, V1_SHOW, true, true, RUNNER_STEPS(show_steps));
}

void api_v1_update(struct call *c)
{
	run(c, V1_UPDATE, true, true, RUNNER_STEPS(update_steps));
}

void api_v1_delete(struct call *c)
{
	run(c, V1_DELETE, true, true, RUNNER_STEPS(delete_steps));
}
