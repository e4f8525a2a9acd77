#include "routes.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "api-agents.h"
#include "api-legacy.h"
#include "api-operator.h"
#include "api-v1.h"
#include "call.h"
#include "cause.h"
#include "http-server.h"
#include "kernel.h"
#include "log.h"
#include "osclient.h"
#include "stats.h"

static void legacy_create(struct call *c)
{
	api_legacy(c, LEGACY_CREATE);
}

static void legacy_remove(struct call *c)
{
	api_legacy(c, LEGACY_REMOVE);
}

static void legacy_modify(struct call *c)
{
	api_legacy(c, LEGACY_MODIFY);
}

static void legacy_router_pat(struct call *c)
{
	api_legacy(c, LEGACY_ROUTER_PAT);
}

static void legacy_router_server_pat(struct call *c)
{
	api_legacy(c, LEGACY_ROUTER_SERVER_PAT);
}

#define V1_ROUTER "/v1/routers/{router_id}/port_forwardings"

static void on_request(struct httpd_req *r, void *arg);

/* A route's handler, carried by its line of the table (httpd_route.data). */
struct route_target {
	call_fn *fn;
};
#define TO(handler) (&(const struct route_target){handler})

/*
 * One line per route: adding one is a line here and its handler. The
 * operations' routes come first, so that with metrics_listen the REST
 * port serves the table without them (and the management port only
 * them); the legacy routes come last, so that legacy_api = false serves
 * only the ones before.
 */
static const struct httpd_route routes[] = {
        {"healthz", EVHTTP_REQ_GET, "/healthz", on_request, TO(api_healthz)},
        {"metrics", EVHTTP_REQ_GET, "/metrics", on_request, TO(api_metrics)},
        {"version", EVHTTP_REQ_GET, "/", on_request, TO(api_version)},
        {"v1_list", EVHTTP_REQ_GET, V1_ROUTER, on_request, TO(api_v1_list)},
        {"v1_create", EVHTTP_REQ_POST, V1_ROUTER, on_request, TO(api_v1_create)},
        {"v1_show", EVHTTP_REQ_GET, V1_ROUTER "/{id}", on_request, TO(api_v1_show)},
        {"v1_update", EVHTTP_REQ_PUT, V1_ROUTER "/{id}", on_request, TO(api_v1_update)},
        {"v1_delete", EVHTTP_REQ_DELETE, V1_ROUTER "/{id}", on_request, TO(api_v1_delete)},
        {"v1_list_all", EVHTTP_REQ_GET, "/v1/port_forwardings", on_request, TO(api_v1_list_all)},
        {"v1_agents", EVHTTP_REQ_GET, "/v1/agents", on_request, TO(api_agents)},
        {"legacy_create", EVHTTP_REQ_POST, "/pat/create", on_request, TO(legacy_create)},
        {"legacy_remove", EVHTTP_REQ_POST, "/pat/remove", on_request, TO(legacy_remove)},
        {"legacy_modify", EVHTTP_REQ_POST, "/pat/modify", on_request, TO(legacy_modify)},
        {"legacy_router_pat", EVHTTP_REQ_GET, "/router_pat", on_request, TO(legacy_router_pat)},
        {"legacy_router_server_pat", EVHTTP_REQ_GET, "/router_server_pat", on_request,
                TO(legacy_router_server_pat)},
};
#define NROUTES        (sizeof(routes) / sizeof(routes[0]))
#define NLEGACY_ROUTES 5
#define NOPS_ROUTES    2

static void on_request(struct httpd_req *r, void *arg)
{
	const struct route_target *t = httpd_req_route_entry(r)->data;

	call_serve(arg, r, t->fn);
}

static void on_batch(double seconds, bool ok, void *arg)
{
	stats_nft_batch(arg, seconds, ok);
}

static void on_group_commit(size_t changes, void *arg)
{
	stats_group_commit(arg, changes);
}

/*
 * A failed OpenStack call, counted when OpenStack failed us: no answer, a
 * 5xx, or our own credentials refused. A 404 or 400 is an answer about the
 * data asked for (a deleted port, a user's bad token), not an outage.
 */
static void on_openstack_error(const char *url, const struct http_error *err, void *arg)
{
	struct agent *a = arg;
	const char *auth_url = a->os->cloud.auth_url;

	if (err->status != 0 && err->status < 500 && err->status != 401 && err->status != 403)
		return;
	stats_openstack_error(a->stats,
	        auth_url && strncmp(url, auth_url, strlen(auth_url)) == 0 ? "keystone" : "neutron");
}

/*
 * metrics_listen: /metrics and /healthz on a listener of their own, plain
 * HTTP and without a token, for a management address. Its connections are
 * not in the REST metrics (one registry holds one set of those names).
 */
static int open_ops(struct agent *a, char **cause)
{
	struct httpd_config cfg = {
	        .routes = routes,
	        .nroutes = NOPS_ROUTES,
	        .arg = a,
	        .max_conns = 64, /* scrapers and probes, not clients */
	        .request_timeout = a->cfg.request_timeout,
	};
	int r;

	if ((r = httpd_new(a->base, &cfg, &a->httpd_ops, cause)) < 0)
		return r;
	if ((r = httpd_bind(a->httpd_ops, a->cfg.metrics_address, (uint16_t)a->cfg.metrics_port,
	             cause)) < 0) {
		char *why = *cause;
		*cause = NULL;
		cause_set(cause, r, "metrics_listen %s: %s", a->cfg.metrics_listen,
		        why ? why : strerror(-r));
		free(why);
	}
	return r;
}

int routes_open(struct agent *a, char **cause)
{
	size_t skip = a->cfg.metrics_address != NULL ? NOPS_ROUTES : 0;
	struct httpd_config cfg = {
	        .routes = routes + skip,
	        .nroutes = (a->cfg.legacy_api ? NROUTES : NROUTES - NLEGACY_ROUTES) - skip,
	        .arg = a,
	        .max_conns = (unsigned int)a->cfg.max_connections,
	        .request_timeout = a->cfg.request_timeout,
	        /* The legacy calls carry their parameters in the query; a body is ignored. */
	        .form_first = NROUTES - NLEGACY_ROUTES - skip,
	        .tls_certificate = a->cfg.tls_certificate,
	        .tls_key = a->cfg.tls_key,
	        .trusted_proxies = a->cfg.trusted_proxies,
	        .trusted_proxies_len = a->cfg.trusted_proxies_len,
	};
	int r;

	*cause = NULL;
	if ((r = stats_new(&a->stats)) < 0)
		return r;
	cfg.metrics = stats_registry(a->stats);
	kernel_set_batch_cb(a->kernel, on_batch, a->stats);
	a->engine.on_commit = on_group_commit;
	a->engine.on_commit_arg = a->stats;
	if (a->os != NULL)
		http_client_set_error_observer(a->os->http, on_openstack_error, a);
	if ((r = httpd_new(a->base, &cfg, &a->httpd, cause)) < 0)
		return r;
	if ((r = httpd_bind(a->httpd, a->cfg.listen, (uint16_t)a->cfg.port_app, cause)) < 0)
		return r;
	if (httpd_tls_fingerprint(a->httpd) != NULL)
		log_info("TLS on port %d: certificate %s, SHA-256 %s", a->cfg.port_app,
		        a->cfg.tls_certificate, httpd_tls_fingerprint(a->httpd));
	if (skip > 0 && (r = open_ops(a, cause)) < 0)
		return r;
	if (skip > 0)
		log_info("/metrics and /healthz on %s only", a->cfg.metrics_listen);
	return 0;
}

void routes_reload(struct agent *a)
{
	char *cause = NULL;
	int r;

	if (a->httpd == NULL || httpd_tls_fingerprint(a->httpd) == NULL)
		return;
	if ((r = httpd_reload_tls(a->httpd, &cause)) < 0)
		log_warnx("TLS certificate not reloaded, the old one still serves: %s",
		        cause ? cause : strerror(-r));
	else
		log_info("TLS certificate reloaded: %s, SHA-256 %s", a->cfg.tls_certificate,
		        httpd_tls_fingerprint(a->httpd));
	free(cause);
}

static void drained(void *arg)
{
	struct agent *a = arg;

	event_base_loopexit(a->base, NULL);
}

void routes_stop(struct agent *a)
{
	if (a->httpd == NULL)
		event_base_loopexit(a->base, NULL);
	else
		httpd_shutdown(a->httpd, drained, a);
	/* Scrapes and probes need no draining: their port just closes. */
	if (a->httpd_ops != NULL)
		httpd_shutdown(a->httpd_ops, NULL, NULL);
}

void routes_close(struct agent *a)
{
	if (a->httpd_ops != NULL)
		httpd_free(a->httpd_ops);
	a->httpd_ops = NULL;
	if (a->httpd != NULL)
		httpd_free(a->httpd);
	a->httpd = NULL;
	stats_free(a->stats);
	a->stats = NULL;
}
