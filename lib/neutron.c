/*
 * Neutron v2.0. A call is a struct neutron_call: one request (get, create,
 * update, delete) or a listing that walks queries (one per chunk of ids)
 * and, within each, pages (limit/marker, following the "next" link's
 * marker). Each resource type is described once (struct nres, in
 * neutron-int.h: its names, the fields asked for, its decoder) so the
 * machinery is written once; neutron-write.c uses it too.
 */
#include "neutron.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "cb-guard.h"
#include "log.h"
#include "neutron-int.h"
#include "neutron-page.h"
#include "neutron-query.h"

/* ---- resource descriptions ------------------------------------------- */

#define NRES(name, coll, single, fields)                                                           \
	static int name##_dec(struct json_object *o, void *out)                                    \
	{                                                                                          \
		return neutron_##single##_decode(o, out);                                          \
	}                                                                                          \
	static void name##_clr(void *x)                                                            \
	{                                                                                          \
		neutron_##single##_clear(x);                                                       \
	}                                                                                          \
	const struct nres neutron_##name = {                                                       \
	        #coll, #single, fields, sizeof(struct neutron_##single), name##_dec, name##_clr};
NRES(res_routers, routers, router,
        "fields=id&fields=name&fields=project_id&fields=status&fields=external_gateway_info"
        "&fields=distributed&fields=ha")
NRES(res_ports, ports, port,
        "fields=id&fields=name&fields=device_id&fields=device_owner&fields=network_id"
        "&fields=project_id&fields=mac_address&fields=status&fields=fixed_ips")
NRES(res_subnets, subnets, subnet,
        "fields=id&fields=name&fields=network_id&fields=project_id&fields=cidr"
        "&fields=ip_version&fields=gateway_ip")
NRES(res_networks, networks, network,
        "fields=id&fields=name&fields=project_id&fields=status&fields=router%3Aexternal"
        "&fields=shared")
#undef NRES

/* ---- the client ------------------------------------------------------ */

struct neutron_call {
	TAILQ_ENTRY(neutron_call) entry;
	struct neutron *n;
	enum nc_kind kind;
	const struct nres *res;
	struct keystone_call *kc;
	void (*cb)(void); /* cast to the kind's callback type when called */
	void *arg;
	bool in_cb;
	bool unlinked;
	int auth_rounds; /* authentications this call asked for */

	char *method;
	char *path; /* for NC_LIST: the query of the current chunk */
	char *body;

	/* Listings: chunks of queries, pages within each. */
	char **queries;
	size_t queries_len;
	size_t qi;
	char *marker;
	char **seen; /* markers followed in this chunk */
	size_t seen_len;
	unsigned int pages;
	char *items; /* res->size each */
	size_t len;
	size_t cap;
	void (*list_done)(struct neutron_call *call);
	/* Listings a page at a time: each page's items go here, then are freed. */
	int (*page)(const void *list, void *arg);

	/* NC_IFS */
	struct neutron_router_interfaces *ifs;
};

TAILQ_HEAD(neutron_call_list, neutron_call);

struct neutron {
	struct keystone *ks;
	char *endpoint;
	unsigned int page_size;
	size_t max_url;
	struct neutron_call_list calls;
	struct neutron_stats stats;
	struct cb_guard guard;
};

static void nc_destroy(struct neutron_call *call);
static void nc_send(struct neutron_call *call);

int neutron_new(struct keystone *ks, struct neutron **out)
{
	struct neutron *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	n->ks = ks;
	n->page_size = NEUTRON_DEFAULT_PAGE_SIZE;
	n->max_url = NEUTRON_DEFAULT_MAX_URL;
	TAILQ_INIT(&n->calls);
	*out = n;
	return 0;
}

/* Drops every call (no callbacks): what a free does at once, even from a callback. */
static void neutron_stop(struct neutron *n)
{
	struct neutron_call *call;

	while ((call = TAILQ_FIRST(&n->calls)) != NULL)
		nc_destroy(call);
}

static void neutron_destroy(struct neutron *n)
{
	neutron_stop(n);
	free(n->endpoint);
	free(n);
}

void neutron_free(struct neutron *n)
{
	if (n == NULL)
		return;
	/* From a callback: the calls go now, the client when the dispatch unwinds. */
	neutron_stop(n);
	if (guard_free(&n->guard))
		neutron_destroy(n);
}

int neutron_set_endpoint(struct neutron *n, const char *url)
{
	char *s = NULL;

	if (url != NULL) {
		size_t len = strlen(url);

		while (len > 0 && url[len - 1] == '/')
			len--;
		if (len >= 5 && strncmp(url + len - 5, "/v2.0", 5) == 0)
			len -= 5;
		if ((s = strndup(url, len)) == NULL)
			return -ENOMEM;
	}
	free(n->endpoint);
	n->endpoint = s;
	return 0;
}

void neutron_set_page_size(struct neutron *n, unsigned int limit)
{
	n->page_size = limit;
}

void neutron_set_max_url(struct neutron *n, size_t bytes)
{
	n->max_url = bytes;
}

const struct neutron_stats *neutron_stats(const struct neutron *n)
{
	return &n->stats;
}

/* ---- calls ----------------------------------------------------------- */

static struct neutron_call *nc_new(
        struct neutron *n, enum nc_kind kind, const struct nres *res, void (*cb)(void), void *arg)
{
	struct neutron_call *call = calloc(1, sizeof(*call));

	if (call == NULL)
		return NULL;
	call->n = n;
	call->kind = kind;
	call->res = res;
	call->cb = cb;
	call->arg = arg;
	TAILQ_INSERT_TAIL(&n->calls, call, entry);
	return call;
}

static void nc_items_clear(struct neutron_call *call, const struct nres *res)
{
	for (size_t i = 0; i < call->len; i++)
		res->clear(call->items + i * res->size);
	free(call->items);
	call->items = NULL;
	call->len = call->cap = 0;
}

static void nc_seen_clear(struct neutron_call *call)
{
	for (size_t i = 0; i < call->seen_len; i++)
		free(call->seen[i]);
	free(call->seen);
	call->seen = NULL;
	call->seen_len = 0;
	free(call->marker);
	call->marker = NULL;
}

static void nc_destroy(struct neutron_call *call)
{
	if (!call->unlinked) {
		TAILQ_REMOVE(&call->n->calls, call, entry);
		call->unlinked = true;
	}
	if (call->kc != NULL)
		keystone_call_cancel(call->kc);
	call->kc = NULL;
	if (call->in_cb)
		return; /* nc_end frees it once the callback returns */
	nc_items_clear(call, call->res);
	nc_seen_clear(call);
	for (size_t i = 0; i < call->queries_len; i++)
		free(call->queries[i]);
	free(call->queries);
	free(call->method);
	free(call->path);
	free(call->body);
	neutron_router_interfaces_free(call->ifs);
	free(call);
}

void neutron_call_cancel(struct neutron_call *call)
{
	if (call != NULL)
		nc_destroy(call);
}

/* Runs fn (which calls the user's callback) guarded, then ends the call. */
static void nc_end(struct neutron_call *call, void (*fn)(struct neutron_call *, void *), void *ctx)
{
	struct neutron *n = call->n;

	guard_enter(&n->guard);
	call->in_cb = true;
	fn(call, ctx);
	call->in_cb = false;
	nc_destroy(call);
	if (guard_leave(&n->guard))
		neutron_destroy(n);
}

/* Calls the callback with an error and no result. */
static void nc_call_error(struct neutron_call *call, void *ctx)
{
	const struct http_error *err = ctx;

	switch (call->kind) {
	case NC_DONE:
		((neutron_done_cb)call->cb)(err, call->arg);
		break;
	default:
		/* Every other callback takes (result, err, arg). */
		((void (*)(void *, const struct http_error *, void *))call->cb)(
		        NULL, err, call->arg);
		break;
	}
}

static void nc_error(struct neutron_call *call, const struct http_error *err)
{
	nc_end(call, nc_call_error, (void *)err);
}

/* Our own error for this call ("GET /v2.0/ports?...": words). */
static void nc_fail(struct neutron_call *call, int code, long status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void nc_fail(struct neutron_call *call, int code, long status, const char *fmt, ...)
{
	static struct http_error oom = {-ENOMEM, 0, (char *)"", (char *)"out of memory"};
	struct http_error *err;
	char *name = NULL, *words = NULL;
	const char *path = call->path ? call->path : "";
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&words, fmt, ap) < 0)
		words = NULL;
	va_end(ap);
	name = http_call_name(call->method, path);
	err = words && name ? http_error_new(code, status, name, "%s", words) : NULL;
	nc_error(call, err ? err : &oom);
	http_error_free(err);
	free(words);
	free(name);
}

/* ---- sending --------------------------------------------------------- */

static void nc_on_response(
        const struct http_response *resp, const struct http_error *err, void *arg);

static void nc_on_auth(const struct http_error *err, void *arg)
{
	struct neutron_call *call = arg;

	call->kc = NULL;
	if (err != NULL) {
		nc_error(call, err);
		return;
	}
	nc_send(call);
}

/* The full URL of path: the fixed endpoint, or the catalog's (then a
 * token must be held). */
static int nc_url(struct neutron_call *call, const char *path, char **url, char **cause)
{
	struct neutron *n = call->n;
	char *base = NULL;
	size_t len;
	int r;

	if (n->endpoint != NULL)
		return asprintf(url, "%s%s", n->endpoint, path) < 0 ? -ENOMEM : 0;
	if ((r = keystone_endpoint(n->ks, "network", &base, cause)) < 0)
		return r;
	/* Some catalogs name the versioned URL; our paths carry /v2.0. */
	len = strlen(base);
	if (len >= 5 && strcmp(base + len - 5, "/v2.0") == 0)
		base[len - 5] = '\0';
	r = asprintf(url, "%s%s", base, path) < 0 ? -ENOMEM : 0;
	free(base);
	return r;
}

/* The path of the next request: the call's, or for a listing the current
 * chunk's query with the page's marker. */
static char *nc_path(struct neutron_call *call)
{
	char *esc, *s;
	int r;

	if (call->kind != NC_LIST && !(call->kind == NC_IFS && call->queries != NULL))
		return strdup(call->path);
	free(call->path);
	call->path = strdup(call->queries[call->qi]);
	if (call->path == NULL)
		return NULL;
	if (call->marker == NULL)
		return strdup(call->path);
	if ((esc = http_escape(call->marker)) == NULL)
		return NULL;
	r = asprintf(&s, "%s&marker=%s", call->path, esc);
	free(esc);
	return r < 0 ? NULL : s;
}

static void nc_send(struct neutron_call *call)
{
	struct neutron *n = call->n;
	char *path, *url = NULL, *cause = NULL;
	int r;

	if (n->endpoint == NULL && keystone_token(n->ks) == NULL) {
		/* The endpoint comes from the catalog, which comes with a token.
		 * A token that is stale as soon as it arrives must not loop. */
		if (++call->auth_rounds > 2) {
			nc_fail(call, -EPROTO, 0, "Keystone's tokens expire as soon as issued");
			return;
		}
		r = keystone_authenticate(n->ks, nc_on_auth, call, &call->kc);
		if (r < 0)
			nc_fail(call, r, 0, "cannot authenticate: %s", strerror(-r));
		return;
	}
	if ((path = nc_path(call)) == NULL) {
		nc_fail(call, -ENOMEM, 0, "out of memory");
		return;
	}
	r = nc_url(call, path, &url, &cause);
	free(path);
	if (r < 0) {
		nc_fail(call, r, 0, "%s", cause ? cause : strerror(-r));
		free(cause);
		return;
	}
	n->stats.requests++;
	r = keystone_request(
	        n->ks, NULL, call->method, url, call->body, nc_on_response, call, &call->kc);
	free(url);
	if (r < 0)
		nc_fail(call, r, 0, "%s", strerror(-r));
}

static struct json_object *nc_parse(const struct http_response *resp, const char **why)
{
	struct json_tokener *tk;
	struct json_object *obj = NULL;
	enum json_tokener_error e;

	*why = "out of memory";
	if (resp->body_len > INT32_MAX) {
		*why = "answer too large";
		return NULL;
	}
	if ((tk = json_tokener_new()) == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tk, resp->body, (int)resp->body_len);
	e = json_tokener_get_error(tk);
	if (obj == NULL || e != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
		*why = e == json_tokener_continue ? "unexpected end of data (truncated JSON)"
		                                  : json_tokener_error_desc(e);
	} else if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
		*why = "not a JSON object";
	}
	json_tokener_free(tk);
	return obj;
}

/* ---- single objects -------------------------------------------------- */

struct nc_one_ctx {
	void *obj;
};

static void nc_call_one(struct neutron_call *call, void *ctx)
{
	struct nc_one_ctx *c = ctx;

	((void (*)(void *, const struct http_error *, void *))call->cb)(c->obj, NULL, call->arg);
}

static void nc_one(struct neutron_call *call, struct json_object *root)
{
	struct json_object *inner;
	struct nc_one_ctx c;
	int r;

	if (!json_object_object_get_ex(root, call->res->single, &inner)) {
		nc_fail(call, -EPROTO, 200, "answer has no \"%s\" object", call->res->single);
		return;
	}
	if ((c.obj = malloc(call->res->size)) == NULL) {
		nc_fail(call, -ENOMEM, 0, "out of memory");
		return;
	}
	if ((r = call->res->decode(inner, c.obj)) < 0) {
		free(c.obj);
		nc_fail(call, r, 200, "cannot decode the %s: %s", call->res->single,
		        r == -ENOMEM ? "out of memory" : "unexpected shape");
		return;
	}
	nc_end(call, nc_call_one, &c); /* the object is the callback's now */
}

static void nc_call_done(struct neutron_call *call, void *ctx)
{
	((neutron_done_cb)call->cb)(NULL, call->arg);
}

/* ---- listings -------------------------------------------------------- */

static int nc_items_add(struct neutron_call *call, const struct nres *res, struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	if (call->len + n > call->cap) {
		size_t cap = call->cap ? call->cap : 16;
		char *p;

		while (cap < call->len + n)
			cap *= 2;
		if ((p = reallocarray(call->items, cap, res->size)) == NULL)
			return -ENOMEM;
		call->items = p;
		call->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		int r = res->decode(
		        json_object_array_get_idx(arr, i), call->items + call->len * res->size);

		if (r < 0)
			return r;
		call->len++;
	}
	return 0;
}

static bool nc_marker_seen(struct neutron_call *call, const char *m)
{
	for (size_t i = 0; i < call->seen_len; i++)
		if (strcmp(call->seen[i], m) == 0)
			return true;
	return false;
}

/* Hands a page's items to the caller's page callback, then frees them. */
static int nc_page_out(struct neutron_call *call)
{
	struct {
		void *v;
		size_t len;
	} l = {call->items, call->len};
	int r = call->page(&l, call->arg);

	nc_items_clear(call, call->res);
	return r;
}

/* One page in: keep its items, then ask for the next page, the next
 * chunk, or end the listing. */
static void nc_page(struct neutron_call *call, struct json_object *root)
{
	const struct nres *res = call->res;
	struct json_object *arr;
	char *next, **seen;
	bool bad;
	int r;

	if (!json_object_object_get_ex(root, res->collection, &arr) ||
	        !json_object_is_type(arr, json_type_array)) {
		nc_fail(call, -EPROTO, 200, "answer has no \"%s\" list", res->collection);
		return;
	}
	if ((r = nc_items_add(call, res, arr)) < 0) {
		nc_fail(call, r, 200, "cannot decode the %s: %s", res->collection,
		        r == -ENOMEM ? "out of memory" : "unexpected shape");
		return;
	}
	if (call->page != NULL && (r = nc_page_out(call)) < 0) {
		nc_fail(call, r, 0, "the %s page was refused: %s", res->collection, strerror(-r));
		return;
	}
	next = neutron_page_next(root, res->collection, &bad);
	if (bad) {
		nc_fail(call, -EPROTO, 200, "unusable \"next\" link in %s_links", res->collection);
		return;
	}
	if (next != NULL && json_object_array_length(arr) == 0) {
		free(next); /* an empty page ends the listing whatever its links say */
		next = NULL;
	}
	if (next != NULL) {
		if (nc_marker_seen(call, next) || ++call->pages >= NEUTRON_MAX_PAGES) {
			nc_fail(call, -ELOOP, 200,
			        "pagination loops: the next link repeats marker %.64s after %u "
			        "pages",
			        next, call->pages);
			free(next);
			return;
		}
		seen = reallocarray(call->seen, call->seen_len + 1, sizeof(*seen));
		if (seen == NULL) {
			free(next);
			nc_fail(call, -ENOMEM, 0, "out of memory");
			return;
		}
		call->seen = seen;
		call->seen[call->seen_len++] = next;
		free(call->marker);
		call->marker = strdup(next);
		if (call->marker == NULL) {
			nc_fail(call, -ENOMEM, 0, "out of memory");
			return;
		}
		nc_send(call);
		return;
	}
	nc_seen_clear(call);
	if (++call->qi < call->queries_len) {
		nc_send(call);
		return;
	}
	call->list_done(call);
}

static void nc_call_list(struct neutron_call *call, void *ctx)
{
	((void (*)(void *, const struct http_error *, void *))call->cb)(ctx, NULL, call->arg);
}

/* Hands the items over as a list ({v, len}, the same shape for every type). */
static void nc_list_deliver(struct neutron_call *call)
{
	struct {
		void *v;
		size_t len;
	} *l = malloc(sizeof(*l));

	if (l == NULL) {
		nc_fail(call, -ENOMEM, 0, "out of memory");
		return;
	}
	l->v = call->items;
	l->len = call->len;
	call->items = NULL; /* the list owns them now, and the callback the list */
	call->len = call->cap = 0;
	nc_end(call, nc_call_list, l);
}

static void nc_on_response(
        const struct http_response *resp, const struct http_error *err, void *arg)
{
	struct neutron_call *call = arg;
	struct json_object *root;
	const char *why;

	call->kc = NULL;
	if (err != NULL) {
		nc_error(call, err);
		return;
	}
	if (call->kind == NC_DONE) {
		nc_end(call, nc_call_done, NULL);
		return;
	}
	if ((root = nc_parse(resp, &why)) == NULL) {
		nc_fail(call, -EPROTO, resp->status, "malformed JSON in the answer: %s", why);
		return;
	}
	if (call->kind == NC_ONE)
		nc_one(call, root);
	else
		nc_page(call, root);
	json_object_put(root);
}

/* ---- building queries ------------------------------------------------ */

/* Splits ids over the call's queries (see neutron_query_split). */
static int nc_queries(
        struct neutron_call *call, const char *filters, const char *const *ids, size_t ids_len)
{
	return neutron_query_split(call->res->collection, call->res->fields, filters, ids, ids_len,
	        call->n->page_size, call->n->max_url, &call->queries, &call->queries_len);
}

int neutron_list_start(struct neutron *n, const struct nres *res,
        const struct neutron_query *filters, const char *const *ids, size_t ids_len,
        int (*page)(const void *, void *), void (*cb)(void), void *arg,
        struct neutron_call **handle)
{
	struct neutron_call *call;
	int r;

	if (n->guard.dead)
		return -EINVAL;
	if (filters->err != 0)
		return filters->err;
	if ((call = nc_new(n, NC_LIST, res, cb, arg)) == NULL)
		return -ENOMEM;
	call->list_done = nc_list_deliver;
	call->page = page;
	if ((call->method = strdup("GET")) == NULL ||
	        (r = nc_queries(call, filters->s ? filters->s : "", ids, ids_len)) < 0) {
		nc_destroy(call);
		return -ENOMEM;
	}
	if (handle != NULL)
		*handle = call;
	nc_send(call);
	return 0;
}

int neutron_routers_list(struct neutron *n, const struct neutron_router_filter *f,
        neutron_routers_cb cb, void *arg, struct neutron_call **handle)
{
	struct neutron_query q = {0};
	int r;

	if (cb == NULL || n->guard.dead)
		return -EINVAL;
	if (f != NULL) {
		neutron_query_add(&q, "name", f->name);
		neutron_query_add(&q, "project_id", f->project_id);
	}
	r = neutron_list_start(n, &neutron_res_routers, &q, f ? f->ids : NULL, f ? f->ids_len : 0,
	        NULL, (void (*)(void))cb, arg, handle);
	free(q.s);
	return r;
}

static int ports_list(struct neutron *n, const struct neutron_port_filter *f,
        neutron_ports_page_cb page, neutron_ports_cb cb, void *arg, struct neutron_call **handle)
{
	struct neutron_query q = {0};
	int r;

	if (cb == NULL || n->guard.dead)
		return -EINVAL;
	if (f != NULL) {
		neutron_query_fixed_ip(&q, "ip_address", f->ip_address);
		neutron_query_fixed_ip(&q, "subnet_id", f->subnet_id);
		neutron_query_add(&q, "device_id", f->device_id);
		neutron_query_add(&q, "device_owner", f->device_owner);
		neutron_query_add(&q, "network_id", f->network_id);
		neutron_query_add(&q, "project_id", f->project_id);
	}
	r = neutron_list_start(n, &neutron_res_ports, &q, f ? f->ids : NULL, f ? f->ids_len : 0,
	        (int (*)(const void *, void *))page, (void (*)(void))cb, arg, handle);
	free(q.s);
	return r;
}

int neutron_ports_list(struct neutron *n, const struct neutron_port_filter *f, neutron_ports_cb cb,
        void *arg, struct neutron_call **handle)
{
	return ports_list(n, f, NULL, cb, arg, handle);
}

int neutron_ports_each(struct neutron *n, const struct neutron_port_filter *f,
        neutron_ports_page_cb page, neutron_ports_cb cb, void *arg, struct neutron_call **handle)
{
	if (page == NULL)
		return -EINVAL;
	return ports_list(n, f, page, cb, arg, handle);
}

/* ---- single requests ------------------------------------------------- */

bool neutron_id_ok(const char *id)
{
	return id != NULL && id[0] != '\0' && strlen(id) <= 255;
}

int neutron_call_start(struct neutron *n, enum nc_kind kind, const struct nres *res,
        const char *method, char *path, struct json_object *body, void (*cb)(void), void *arg,
        struct neutron_call **handle)
{
	struct neutron_call *call;

	if (path == NULL || n->guard.dead) {
		free(path);
		json_object_put(body);
		return path == NULL ? -ENOMEM : -EINVAL;
	}
	if ((call = nc_new(n, kind, res, cb, arg)) == NULL) {
		free(path);
		json_object_put(body);
		return -ENOMEM;
	}
	call->path = path;
	call->method = strdup(method);
	if (body != NULL)
		call->body = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	json_object_put(body);
	if (call->method == NULL || (body != NULL && call->body == NULL)) {
		nc_destroy(call);
		return -ENOMEM;
	}
	if (handle != NULL)
		*handle = call;
	nc_send(call);
	return 0;
}

char *neutron_obj_path(const char *coll, const char *id, const char *suffix)
{
	char *esc = http_escape(id), *s;
	int r;

	if (esc == NULL)
		return NULL;
	r = asprintf(&s, "/v2.0/%s/%s%s", coll, esc, suffix);
	free(esc);
	return r < 0 ? NULL : s;
}

int neutron_get_start(struct neutron *n, const struct nres *res, const char *id, void (*cb)(void),
        void *arg, struct neutron_call **handle)
{
	char suffix[512];

	if (cb == NULL || !neutron_id_ok(id) || n->guard.dead)
		return -EINVAL;
	snprintf(suffix, sizeof(suffix), "?%s", res->fields);
	return neutron_call_start(n, NC_ONE, res, "GET",
	        neutron_obj_path(res->collection, id, suffix), NULL, cb, arg, handle);
}

int neutron_router_get(struct neutron *n, const char *id, neutron_router_cb cb, void *arg,
        struct neutron_call **handle)
{
	return neutron_get_start(n, &neutron_res_routers, id, (void (*)(void))cb, arg, handle);
}

int neutron_port_get(struct neutron *n, const char *id, neutron_port_cb cb, void *arg,
        struct neutron_call **handle)
{
	return neutron_get_start(n, &neutron_res_ports, id, (void (*)(void))cb, arg, handle);
}

/* ---- router interfaces ----------------------------------------------- */

static void nc_call_ifs(struct neutron_call *call, void *ctx)
{
	struct neutron_router_interfaces *ifs = call->ifs;

	call->ifs = NULL; /* the callback's now */
	((neutron_interfaces_cb)call->cb)(ifs, NULL, call->arg);
}

/* Step 2 done: the subnets are in the items. */
static void ifs_subnets_done(struct neutron_call *call)
{
	call->ifs->subnets.v = (struct neutron_subnet *)call->items;
	call->ifs->subnets.len = call->len;
	call->items = NULL;
	call->len = call->cap = 0;
	nc_end(call, nc_call_ifs, NULL);
}

static bool ids_has(const char **ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* Step 1 done: keep the interface ports, then list their subnets by id. */
static void ifs_ports_done(struct neutron_call *call)
{
	struct neutron_port *ports = (struct neutron_port *)call->items;
	const char **ids = NULL;
	size_t n = 0, kept = 0, total = 0;
	int r;

	for (size_t i = 0; i < call->len; i++) {
		if (!neutron_is_router_interface(ports[i].device_owner)) {
			neutron_port_clear(&ports[i]);
			continue;
		}
		ports[kept++] = ports[i];
		total += ports[i].fixed_ips_len;
	}
	call->ifs->ports.v = ports;
	call->ifs->ports.len = kept;
	call->items = NULL;
	call->len = call->cap = 0;
	if (total > 0 && (ids = calloc(total, sizeof(*ids))) == NULL) {
		nc_fail(call, -ENOMEM, 0, "out of memory");
		return;
	}
	for (size_t i = 0; i < kept; i++)
		for (size_t j = 0; j < ports[i].fixed_ips_len; j++) {
			const char *s = ports[i].fixed_ips[j].subnet_id;

			if (s != NULL && !ids_has(ids, n, s))
				ids[n++] = s;
		}
	if (n == 0) {
		free(ids);
		nc_end(call, nc_call_ifs, NULL);
		return;
	}
	for (size_t i = 0; i < call->queries_len; i++)
		free(call->queries[i]);
	free(call->queries);
	call->queries = NULL;
	call->queries_len = call->qi = 0;
	call->res = &neutron_res_subnets;
	call->list_done = ifs_subnets_done;
	r = nc_queries(call, "", ids, n);
	free(ids);
	if (r < 0) {
		nc_fail(call, r, 0, "out of memory");
		return;
	}
	nc_send(call);
}

int neutron_router_interfaces(struct neutron *n, const char *router_id, neutron_interfaces_cb cb,
        void *arg, struct neutron_call **handle)
{
	struct neutron_call *call;
	struct neutron_query q = {0};
	int r;

	if (cb == NULL || !neutron_id_ok(router_id) || n->guard.dead)
		return -EINVAL;
	neutron_query_add(&q, "device_id", router_id);
	neutron_query_add(&q, "device_owner", "network:router_interface");
	neutron_query_add(&q, "device_owner", "network:router_interface_distributed");
	neutron_query_add(&q, "device_owner", "network:ha_router_replicated_interface");
	if (q.err != 0)
		return q.err;
	if ((call = nc_new(n, NC_IFS, &neutron_res_ports, (void (*)(void))cb, arg)) == NULL) {
		free(q.s);
		return -ENOMEM;
	}
	call->list_done = ifs_ports_done;
	call->ifs = calloc(1, sizeof(*call->ifs));
	if (call->ifs == NULL || (call->method = strdup("GET")) == NULL ||
	        (r = nc_queries(call, q.s, NULL, 0)) < 0) {
		free(q.s);
		nc_destroy(call);
		return -ENOMEM;
	}
	free(q.s);
	if (handle != NULL)
		*handle = call;
	nc_send(call);
	return 0;
}
