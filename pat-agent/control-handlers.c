/*
 * The control socket's handlers: each op of lib/ipc.h carried out on the
 * agent (reports.c) and answered on the socket.
 */
#include "control-handlers.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "kernel.h"
#include "control.h"
#include "json-text.h"
#include "log.h"
#include "reports.h"
#include "praas-build.h"
#include "store.h"

/*
 * A paged list (marker or limit given) asks the store for one row more
 * than the page: if it comes, the page is full and next_marker says where
 * the next one starts.
 */
static void on_list(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct agent *a = arg;
	const char *router = req->fields & IPC_FIELD_ROUTER_ID ? req->router_id : NULL;
	bool paged = req->fields & (IPC_FIELD_MARKER | IPC_FIELD_LIMIT);
	unsigned int limit = req->fields & IPC_FIELD_LIMIT ? req->limit : IPC_LIST_LIMIT_MAX;
	struct fwd_list l = {0};
	const char *next = NULL;
	char *cause = NULL;
	int r;

	/* A port has a few forwardings, unpaged: the monitor asks when Neutron says it changed. */
	if ((req->fields & IPC_FIELD_PORT_ID) && (paged || router)) {
		control_reply_error(rep, "port_id: not with router_id, marker or limit");
		return;
	}
	if (req->fields & IPC_FIELD_PORT_ID)
		r = store_foreach_port_id(a->store, req->port_id, fwd_list_add, &l, &cause);
	else if (paged)
		r = store_foreach_page(
		        a->store, router, req->marker, limit + 1, fwd_list_add, &l, &cause);
	else if (router)
		r = store_foreach_router(a->store, router, fwd_list_add, &l, &cause);
	else
		r = store_foreach_all(a->store, fwd_list_add, &l, &cause);
	if (r < 0) {
		control_reply_error(
		        rep, "cannot read forwardings: %s", cause ? cause : strerror(-r));
	} else {
		if (paged && l.n > limit) {
			l.n = limit;
			next = l.v[limit - 1].id;
		}
		/* The same status_reason as the REST API shows (a stat per DOWN one). */
		for (size_t i = 0; i < l.n; i++)
			kernel_explain(a->kernel, &l.v[i]);
		control_reply_list(rep, l.v, l.n, next);
	}
	free(cause);
	free(l.v);
}

/* Answers {"ok":true,"changed":N} or the error, and logs what the peer asked. */
static void answer(struct control_reply *rep, const char *op, int r, unsigned int count,
        const struct fault *err)
{
	char members[64];

	if (r < 0) {
		log_warnx("Control %s failed: %s", op, err->detail);
		control_reply_fault(rep, err);
		return;
	}
	if (count > 0)
		log_info("Control %s: %u forwarding%s changed", op, count, count == 1 ? "" : "s");
	snprintf(members, sizeof(members), ",\"changed\":%u", count);
	control_reply_ok_members(rep, members);
}

static void on_port_deleted(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct fault err;
	unsigned int n;
	int r = reports_port_deleted(arg, req->port_id, &n, &err);

	answer(rep, "port_deleted", r, n, &err);
}

static void on_port_address_changed(
        struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct fault err;
	unsigned int n;
	int r = reports_port_address_changed(
	        arg, req->port_id, &req->old_ip, &req->new_ip, &n, &err);

	answer(rep, "port_address_changed", r, n, &err);
}

static void on_router_deleted(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct fault err;
	unsigned int n;
	int r = reports_router_deleted(arg, req->router_id, &n, &err);

	answer(rep, "router_deleted", r, n, &err);
}

static void on_gateway_changed(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct fault err;
	unsigned int n;
	int r = reports_gateway_changed(arg, req->router_id, &req->new_ip, &n, &err);

	answer(rep, "gateway_changed", r, n, &err);
}

static void on_resync(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	const char *router = (req->fields & IPC_FIELD_ROUTER_ID) ? req->router_id : NULL;
	struct fault err;
	unsigned int n;
	int r = reports_resync(arg, router, &n, &err);

	answer(rep, "resync", r, n, &err);
}

/*
 * {"ok":true,"drift":null|"how","changed":N}: the monitor logs a drift only
 * when this, the one consistent look, confirms it.
 */
static void on_verify(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct evbuffer *members;
	struct fault err;
	char *drift = NULL;
	unsigned int n = 0;
	size_t len;
	int r = reports_verify(arg, req->router_id, &drift, &n, &err);

	if (drift != NULL)
		log_info("Control verify: the table of router %s drifted (%s): %s", req->router_id,
		        drift, r == 0 ? "rewritten" : "the rewrite failed");
	if (r < 0) {
		answer(rep, "verify", r, n, &err);
		free(drift);
		return;
	}
	if ((members = evbuffer_new()) == NULL ||
	        evbuffer_add_printf(members, ",\"changed\":%u,\"drift\":", n) < 0 ||
	        (drift ? json_text_write_string(members, drift)
	               : evbuffer_add(members, "null", 4)) < 0 ||
	        evbuffer_add(members, "", 1) < 0) {
		control_reply_error(rep, "out of memory");
	} else {
		len = evbuffer_get_length(members);
		control_reply_ok_members(rep, (const char *)evbuffer_pullup(members, (ssize_t)len));
	}
	if (members != NULL)
		evbuffer_free(members);
	free(drift);
}

/*
 * {"ok":true,"held":true|false}: the monitor asking for the lease (one
 * UPDATE of the shared database: the monitors of every node share it).
 */
static void on_lease(struct control_reply *rep, const struct ipc_request *req, void *arg)
{
	struct agent *a = arg;
	char *cause = NULL;
	bool held = false;
	int r = store_lease_take(a->store, req->holder, (int64_t)req->ttl_ms * 1000, &held, &cause);

	if (r < 0 && r != -EAGAIN) {
		log_warnx("Control lease for %s failed: %s", req->holder,
		        cause ? cause : strerror(-r));
		control_reply_error(rep, "%s", cause ? cause : strerror(-r));
	} else {
		/* -EAGAIN: another node's monitor took it at the same instant, and won. */
		control_reply_ok_members(rep, held ? ",\"held\":true" : ",\"held\":false");
	}
	free(cause);
}

int control_handlers_open(struct agent *a, char **cause)
{
	/* One line per op of lib/ipc.h; an op without one answers "not supported". */
	const struct control_handlers handlers = {
	        .by_op =
	                {
	                        [IPC_OP_LIST] = on_list,
	                        [IPC_OP_PORT_DELETED] = on_port_deleted,
	                        [IPC_OP_PORT_ADDRESS_CHANGED] = on_port_address_changed,
	                        [IPC_OP_ROUTER_DELETED] = on_router_deleted,
	                        [IPC_OP_GATEWAY_CHANGED] = on_gateway_changed,
	                        [IPC_OP_RESYNC] = on_resync,
	                        [IPC_OP_VERIFY] = on_verify,
	                        [IPC_OP_LEASE] = on_lease,
	                },
	        .arg = a,
	};

	return control_open(a->base, a->cfg.control_socket, "praas-pat-agent " PRAAS_VERSION,
	        &handlers, &a->control, cause);
}
