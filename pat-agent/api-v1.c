#include "api-v1.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "call.h"
#include "fwd-json.h"
#include "kernel.h"
#include "list-filter.h"
#include "routers.h"
#include "store.h"

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
	struct call *call;
	struct agent *a;
	enum v1_op op;
	char router_id[FWD_NAME_MAX + 1];
	char id[FWD_ID_LEN + 1];
	struct caller caller;
	struct router_info router;
	struct forwarding f; /* create: parsed; update: the stored one, then the next */
	struct forwarding given_fields;
	unsigned int given;
};

/* A listing in progress: the query's filters, and the caller's project when not admin. */
struct filter {
	struct list_filter query;
	const char *project_id;
	/*
	 * The answer, rendered while the store is read: a listing of 10,000
	 * never holds 10,000 copies of struct forwarding.
	 */
	struct evbuffer *out;
	size_t n;
};

static void after_auth(struct v1 *v);
static void after_router(struct v1 *v);
static void after_target(struct v1 *v);

static void finish(struct v1 *v)
{
	free(v);
}

static void fail(struct v1 *v, const struct apierr *err)
{
	call_reply_error(v->call, err);
	finish(v);
}

static void fail_with(struct v1 *v, int status, const char *code, const char *detail)
{
	struct apierr err;

	apierr_set(&err, status, code, "%s", detail);
	fail(v, &err);
}

/* Answers {"port_forwarding": f} with status. */
static void reply_one(struct v1 *v, int status, const struct forwarding *f)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add_printf(b, "{\"port_forwarding\":") < 0 ||
	        fwd_json_write(b, f) < 0 || evbuffer_add(b, "}", 1) < 0) {
		if (b)
			evbuffer_free(b);
		fail_with(v, 503, "praas.out_of_memory", "out of memory");
		return;
	}
	call_reply(v->call, status, b);
	evbuffer_free(b);
	finish(v);
}

static struct v1 *start(struct call *c, enum v1_op op, bool with_router, bool with_id)
{
	struct v1 *v = calloc(1, sizeof(*v));
	const char *router, *id;
	struct apierr err;

	if (v == NULL) {
		apierr_set(&err, 503, "praas.out_of_memory", "out of memory");
		call_reply_error(c, &err);
		return NULL;
	}
	v->call = c;
	v->a = call_agent(c);
	v->op = op;
	router = with_router ? call_capture(c, "router_id") : NULL;
	id = with_id ? call_capture(c, "id") : NULL;
	if (router && !fwd_json_name_valid(router)) {
		fail_with(v, 404, "praas.router_not_found",
		        "no such router: a router id is 1-64 characters of [A-Za-z0-9._-]");
		return NULL;
	}
	if (id && !fwd_uuid_valid(id)) {
		fail_with(v, 404, "praas.not_found", "no such port forwarding: ids are UUIDs");
		return NULL;
	}
	snprintf(v->router_id, sizeof(v->router_id), "%s", router ? router : "");
	snprintf(v->id, sizeof(v->id), "%s", id ? id : "");
	return v;
}

static void on_auth(const struct caller *caller, const struct apierr *err, void *arg)
{
	struct v1 *v = arg;

	if (err != NULL) {
		fail(v, err);
		return;
	}
	v->caller = *caller;
	after_auth(v);
}

static void authenticate(struct v1 *v)
{
	struct apierr err;
	struct addr peer;
	int r = auth_check(v->a->auth, call_header(v->call, "X-Auth-Token"),
	        call_peer(v->call, &peer), false, &v->caller, &err, on_auth, v);

	if (r < 0)
		fail(v, &err);
	else if (r == 1)
		after_auth(v);
}

/* ---- listing ---- */

static int keep(const struct forwarding *f, void *arg)
{
	struct filter *flt = arg;

	if (!list_filter_match(&flt->query, f) ||
	        (flt->project_id && strcmp(f->project_id, flt->project_id) != 0))
		return 0;
	if ((flt->n > 0 && evbuffer_add(flt->out, ",", 1) < 0) || fwd_json_write(flt->out, f) < 0)
		return -ENOMEM;
	flt->n++;
	return 0;
}

/* router_id filters only the listing of everything; the other routes name the router. */
static int parse_filter(struct v1 *v, struct filter *flt, bool allow_router_id)
{
	struct apierr err;
	char *why = NULL;
	int r;

	memset(flt, 0, sizeof(*flt));
	r = list_filter_parse(call_query_string(v->call), allow_router_id, &flt->query, &why);
	if (r < 0) {
		apierr_set(&err, r == -ENOMEM ? 503 : 400,
		        r == -ENOMEM ? "praas.out_of_memory" : "praas.bad_request", "%s",
		        why ? why : "out of memory");
		free(why);
		fail(v, &err);
		return -1;
	}
	return 0;
}

static int begin_list(struct v1 *v, struct filter *flt)
{
	static const char head[] = "{\"port_forwardings\":[";

	if ((flt->out = evbuffer_new()) == NULL || evbuffer_add(flt->out, head, strlen(head)) < 0) {
		if (flt->out)
			evbuffer_free(flt->out);
		fail_with(v, 503, "praas.out_of_memory", "out of memory");
		return -1;
	}
	return 0;
}

static void reply_list(struct v1 *v, struct filter *flt, int r, char *cause)
{
	struct apierr err;

	if (r == 0 && evbuffer_add(flt->out, "]}", 2) < 0)
		r = -ENOMEM;
	if (r == -ENOMEM)
		apierr_set(&err, 503, "praas.out_of_memory", "out of memory");
	else if (r < 0)
		apierr_set(&err, 503, "praas.db_unavailable", "cannot read forwardings: %s",
		        cause ? cause : strerror(-r));
	free(cause);
	if (r < 0) {
		evbuffer_free(flt->out);
		fail(v, &err);
		return;
	}
	call_reply(v->call, 200, flt->out);
	evbuffer_free(flt->out);
	finish(v);
}

static void do_list(struct v1 *v)
{
	struct filter flt;
	char *cause = NULL;
	int r;

	if (parse_filter(v, &flt, false) < 0 || begin_list(v, &flt) < 0)
		return;
	r = store_foreach_router(v->a->store, v->router_id, keep, &flt, &cause);
	reply_list(v, &flt, r, cause);
}

void api_v1_list_all(struct call *c)
{
	struct v1 *v = start(c, V1_LIST_ALL, false, false);

	if (v != NULL)
		authenticate(v);
}

static void do_list_all(struct v1 *v)
{
	struct filter flt;
	char *cause = NULL;
	int r;

	if (parse_filter(v, &flt, true) < 0 || begin_list(v, &flt) < 0)
		return;
	if (!v->caller.admin)
		flt.project_id = v->caller.project_id;
	if (flt.query.given & LIST_FILTER_ROUTER_ID)
		r = store_foreach_router(v->a->store, flt.query.router_id, keep, &flt, &cause);
	else
		r = store_foreach_all(v->a->store, keep, &flt, &cause);
	reply_list(v, &flt, r, cause);
}

/* ---- one forwarding ---- */

/* Reads v->id into v->f; it must belong to the router of the path. */
static int load(struct v1 *v)
{
	struct apierr err;
	char *cause = NULL;
	int r = store_get(v->a->store, v->id, &v->f, &cause);

	if (r == -ENOENT || (r == 0 && strcmp(v->f.router_id, v->router_id) != 0)) {
		free(cause);
		apierr_set(&err, 404, "praas.not_found", "no port forwarding %s on router %s",
		        v->id, v->router_id);
		return fail(v, &err), -1;
	}
	if (r < 0) {
		apierr_set(&err, 503, "praas.db_unavailable", "cannot read port forwarding %s: %s",
		        v->id, cause ? cause : strerror(-r));
		free(cause);
		return fail(v, &err), -1;
	}
	return 0;
}

static void do_show(struct v1 *v)
{
	if (load(v) == 0)
		reply_one(v, 200, &v->f);
}

static void do_delete(struct v1 *v)
{
	struct apierr err;

	if (load(v) < 0)
		return;
	if (engine_delete(&v->a->engine, v->id, NULL, &err) < 0) {
		fail(v, &err);
		return;
	}
	call_reply(v->call, 204, NULL);
	finish(v);
}

static int parse_body(struct v1 *v, enum fwd_json_op op, struct forwarding *into)
{
	struct apierr err;
	const char *body;
	char *why = NULL;
	size_t len;
	int r;

	body = call_body(v->call, &len);
	r = fwd_json_parse_request(body ? body : "", body ? len : 0, op, into, &v->given, &why);
	if (r < 0) {
		apierr_set(&err, r == -ENOMEM ? 503 : 400,
		        r == -ENOMEM ? "praas.out_of_memory" : "praas.bad_request", "%s",
		        why ? why : "out of memory");
		free(why);
		return fail(v, &err), -1;
	}
	return 0;
}

/* ---- the common path: auth, router, target ---- */

static void on_router(const struct router_info *info, const struct apierr *err, void *arg)
{
	struct v1 *v = arg;

	if (err != NULL) {
		fail(v, err);
		return;
	}
	v->router = *info;
	after_router(v);
}

/*
 * Standalone: a router is known while its namespace is here or while
 * forwardings of it are stored (DOWN ones stay listable). Neither: 404, as
 * with Neutron. Returns true when it answered.
 */
static bool standalone_unknown(struct v1 *v)
{
	struct apierr err;
	char *cause = NULL;
	size_t n = 0;
	int r;

	if (kernel_router_present(v->a->kernel, v->router_id))
		return false;
	if ((r = store_count(v->a->store, v->router_id, &n, &cause)) < 0) {
		apierr_set(&err, 503, "praas.db_unavailable", "cannot read forwardings: %s",
		        cause ? cause : strerror(-r));
		free(cause);
		fail(v, &err);
		return true;
	}
	if (n > 0)
		return false;
	apierr_set(&err, 404, "praas.router_not_found",
	        "router %s: its namespace is not on this node and it has no forwardings",
	        v->router_id);
	fail(v, &err);
	return true;
}

static void after_auth(struct v1 *v)
{
	struct apierr err;
	int r;

	switch (v->op) {
	case V1_LIST_ALL:
		do_list_all(v);
		return;
	case V1_CREATE:
		if (parse_body(v, FWD_JSON_CREATE, &v->f) < 0)
			return;
		break;
	case V1_UPDATE:
		if (parse_body(v, FWD_JSON_UPDATE, &v->given_fields) < 0)
			return;
		break;
	default:
		break;
	}
	/*
	 * Standalone mode has no owners, and its routers are known only while their
	 * namespace is here: reading or deleting DOWN forwardings must not need it.
	 */
	if (v->a->os == NULL && v->op != V1_CREATE && v->op != V1_UPDATE) {
		snprintf(v->router.id, sizeof(v->router.id), "%s", v->router_id);
		if (v->op == V1_LIST && standalone_unknown(v))
			return;
		after_router(v);
		return;
	}
	r = routers_get(v->a->routers, v->router_id, &v->router, &err, on_router, v);
	if (r < 0)
		fail(v, &err);
	else if (r == 1)
		after_router(v);
}

static void on_target(const struct target_port *port, const struct apierr *err, void *arg)
{
	struct v1 *v = arg;
	char a[ADDR_STRLEN];
	struct apierr e;

	if (err != NULL) {
		fail(v, err);
		return;
	}
	if (!auth_may(&v->caller, port->project_id)) {
		apierr_set(&e, 403, "praas.forbidden", "%s belongs to port %s of another project",
		        addr_format(&port->addr, a, sizeof(a)), port->id);
		fail(v, &e);
		return;
	}
	if (router_check_port(port, v->caller.admin, &e) < 0) {
		fail(v, &e);
		return;
	}
	snprintf(v->f.internal_port_id, sizeof(v->f.internal_port_id), "%s", port->id);
	v->f.internal_addr = port->addr;
	after_target(v);
}

/*
 * Checks (and in OpenStack mode, resolves) the forwarding's target: the
 * address must be on one of the router's subnets and, with Neutron, held
 * by a port the caller may use.
 */
static void check_target(struct v1 *v)
{
	const char *port_id = v->f.internal_port_id[0] ? v->f.internal_port_id : NULL;
	const struct addr *a = v->f.internal_addr.family ? &v->f.internal_addr : NULL;
	struct apierr err;

	if (v->a->os != NULL) {
		if (routers_find_target(v->a->routers, &v->router, a, port_id, &err, on_target, v) <
		        0)
			fail(v, &err);
		return;
	}
	/* Stored, it would name a port nobody checked: refused even beside an address. */
	if (port_id != NULL) {
		fail_with(v, 400, "praas.bad_request",
		        "internal_port_id: standalone mode has no Neutron ports; give "
		        "internal_ip_address only");
		return;
	}
	if (router_check_address(&v->router, a, "internal_ip_address", &err) < 0) {
		fail(v, &err);
		return;
	}
	after_target(v);
}

static void after_router(struct v1 *v)
{
	struct apierr err;

	if (!auth_may(&v->caller, v->router.project_id)) {
		apierr_set(&err, 403, "praas.forbidden", "router %s belongs to another project",
		        v->router_id);
		fail(v, &err);
		return;
	}
	switch (v->op) {
	case V1_LIST:
		do_list(v);
		return;
	case V1_SHOW:
		do_show(v);
		return;
	case V1_DELETE:
		do_delete(v);
		return;
	case V1_CREATE:
		snprintf(v->f.router_id, sizeof(v->f.router_id), "%s", v->router_id);
		snprintf(v->f.project_id, sizeof(v->f.project_id), "%s", v->router.project_id);
		check_target(v);
		return;
	case V1_UPDATE:
		if (load(v) < 0)
			return;
		fwd_json_apply(&v->f, &v->given_fields, v->given);
		/* A new target is checked as on create; an unchanged one was checked then. */
		if (v->given & (FWD_JSON_INTERNAL_IP_ADDRESS | FWD_JSON_INTERNAL_PORT_ID)) {
			if (!(v->given & FWD_JSON_INTERNAL_PORT_ID))
				v->f.internal_port_id[0] = '\0';
			check_target(v);
		} else {
			after_target(v);
		}
		return;
	case V1_LIST_ALL:
		break;
	}
}

/* Everything is known: pick the gateway address, validate, and change. */
static void after_target(struct v1 *v)
{
	const struct addr *gw = router_gateway(&v->router, v->f.internal_addr.family);
	struct apierr err;
	const char *why;

	if (gw == NULL) {
		apierr_set(&err, 400, "praas.bad_request",
		        "internal_ip_address: router %s has no IPv%c gateway address", v->router_id,
		        v->f.internal_addr.family == AF_INET6 ? '6' : '4');
		fail(v, &err);
		return;
	}
	v->f.external_addr = *gw;
	/* An external range still to be allocated is checked as the one it will be. */
	if (v->op == V1_CREATE && !(v->given & FWD_JSON_EXTERNAL))
		v->f.external = (struct port_range){1, (uint16_t)port_range_len(&v->f.internal)};
	if (fwd_validate(&v->f, &why) < 0) {
		fail_with(v, 400, "praas.bad_request", why);
		return;
	}
	if (v->op == V1_CREATE) {
		if (engine_create(&v->a->engine, &v->f, !(v->given & FWD_JSON_EXTERNAL), &err) < 0)
			fail(v, &err);
		else
			reply_one(v, 201, &v->f);
		return;
	}
	if (engine_update(&v->a->engine, &v->f, NULL, &err) < 0)
		fail(v, &err);
	else
		reply_one(v, 200, &v->f);
}

/* ---- entry points ---- */

void api_v1_list(struct call *c)
{
	struct v1 *v = start(c, V1_LIST, true, false);

	if (v != NULL)
		authenticate(v);
}

void api_v1_create(struct call *c)
{
	struct v1 *v = start(c, V1_CREATE, true, false);

	if (v != NULL)
		authenticate(v);
}

void api_v1_show(struct call *c)
{
	struct v1 *v = start(c, V1_SHOW, true, true);

	if (v != NULL)
		authenticate(v);
}

void api_v1_update(struct call *c)
{
	struct v1 *v = start(c, V1_UPDATE, true, true);

	if (v != NULL)
		authenticate(v);
}

void api_v1_delete(struct call *c)
{
	struct v1 *v = start(c, V1_DELETE, true, true);

	if (v != NULL)
		authenticate(v);
}
