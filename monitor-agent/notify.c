#include "notify.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "decide.h"
#include "fwdset.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"
#include "neutron.h"
#include "osclient.h"
#include "oslo-notify.h"
#include "report.h"
#include "transport-url.h"

#define RETRY_MAX 30 /* seconds */
/* Hostile input must not flood the log: the first ones, then one in this many. */
#define LOG_FIRST 20
#define LOG_EVERY 1000

struct job;

struct notify {
	struct monitor *m;
	struct transport_url url;
	struct bus_params params;
	struct bus *bus;
	struct job *jobs; /* in flight, for notify_free */
	struct notify_stats stats;
};

/* One followed message, from the pat-agent's list to the acknowledgement. */
struct job {
	struct notify *n; /* NULL once notify_free orphaned it */
	struct job *prev, *next;
	struct bus_delivery d;
	struct oslo_event ev;
	struct forwarding *fwds;
	size_t nfwds;
	struct neutron_call *call;
	struct event *retry;
	unsigned int delay;
	bool waiting_ipc; /* an answer from the pat-agent is due: it frees an orphan */
	int reports;      /* sent, not yet answered */
	bool failed;
};

static void job_run(struct job *j);

static void job_unlink(struct job *j)
{
	if (j->n == NULL)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		j->n->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
}

static void job_free(struct job *j)
{
	job_unlink(j);
	neutron_call_cancel(j->call);
	if (j->retry != NULL)
		event_free(j->retry);
	free(j->fwds);
	free(j);
}

static void job_done(struct job *j)
{
	/* Most of a cloud's notifications are about ports PRaaS does not forward to. */
	if (j->nfwds > 0)
		log_info("Notification %s for %s: handled (%zu forwarding%s checked)", j->ev.type,
		        j->ev.id, j->nfwds, j->nfwds == 1 ? "" : "s");
	bus_ack(j->n->bus, j->d);
	j->n->stats.acked++;
	job_free(j);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	/* Its connection is gone: the broker has delivered it again, to another job. */
	if (!bus_delivery_current(j->n->bus, j->d)) {
		job_free(j);
		return;
	}
	job_run(j);
}

/* Not handled: kept unacknowledged and tried again later. */
static void job_retry(struct job *j, const char *why)
{
	struct timeval tv = {j->delay, 0};

	log_warnx("Notification %s %s: %s; trying again in %u s", j->ev.type, j->ev.id, why,
	        j->delay);
	j->n->stats.retried++;
	free(j->fwds);
	j->fwds = NULL;
	j->nfwds = 0;
	j->failed = false;
	if (evtimer_add(j->retry, &tv) < 0) {
		job_free(j); /* the broker delivers it again after a reconnection */
		return;
	}
	j->delay = j->delay * 2 > RETRY_MAX ? RETRY_MAX : j->delay * 2;
}

static void on_report(bool ok, void *arg)
{
	struct job *j = arg;

	if (!ok)
		j->failed = true;
	if (--j->reports > 0)
		return;
	if (j->n == NULL) { /* orphaned by notify_free: this was the last answer due */
		job_free(j);
		return;
	}
	if (j->failed)
		job_retry(j, "the pat-agent did not take the change");
	else
		job_done(j);
}

/* Neutron answered about the port or router (gone: 404). */
static void conclude(
        struct job *j, struct neutron_ports *ports, struct neutron_routers *routers, bool gone)
{
	unsigned int scope = j->ev.kind == OSLO_EVENT_PORT ? DECIDE_PORTS : DECIDE_ROUTERS;
	struct actions acts;
	struct fwdset set;
	int r;

	fwdset_init(&set);
	r = fwdset_add_all(&set, j->fwds, j->nfwds);
	for (size_t i = 0; r == 0 && ports != NULL && i < ports->len; i++)
		r = fwdset_note_port(&set, &ports->v[i]);
	if (r == 0)
		r = decide_scoped(&set, routers, scope, &acts);
	fwdset_free(&set);
	if (r < 0) {
		job_retry(j, r == -ENOMEM ? "out of memory" : "a forwarding id is not a UUID");
		return;
	}
	j->reports = 1; /* held until every report is sent */
	for (size_t i = 0; i < acts.n; i++) {
		r = report_action(j->n->m, &acts.v[i], gone, on_report, j);
		if (r == 1) {
			j->reports++;
			j->n->stats.reports++;
		} else if (r < 0)
			j->failed = true;
	}
	actions_free(&acts);
	on_report(true, j);
}

/* 404 for that very id is "gone"; another error is Neutron unwell. */
static bool neutron_failed(struct job *j, const struct http_error *err, bool *gone)
{
	*gone = err != NULL && err->code == -ENOENT && err->status == 404;
	if (err == NULL || *gone)
		return false;
	job_retry(j, err->message ? err->message : strerror(-err->code));
	return true;
}

static void on_port(struct neutron_port *p, const struct http_error *err, void *arg)
{
	struct job *j = arg;
	struct neutron_ports l = {.v = p, .len = p ? 1 : 0};
	bool gone;

	j->call = NULL;
	if (!neutron_failed(j, err, &gone))
		conclude(j, &l, NULL, gone);
	if (p != NULL)
		neutron_port_free(p);
}

static void on_router(struct neutron_router *rt, const struct http_error *err, void *arg)
{
	struct job *j = arg;
	struct neutron_routers l = {.v = rt, .len = rt ? 1 : 0};
	bool gone;

	j->call = NULL;
	if (!neutron_failed(j, err, &gone))
		conclude(j, NULL, &l, gone);
	if (rt != NULL)
		neutron_router_free(rt);
}

static void ask_neutron(struct job *j)
{
	struct neutron *nu = j->n->m->os->neutron;
	int r;

	if (j->ev.kind == OSLO_EVENT_PORT)
		r = neutron_port_get(nu, j->ev.id, on_port, j, &j->call);
	else
		r = neutron_router_get(nu, j->ev.id, on_router, j, &j->call);
	if (r < 0)
		job_retry(j, strerror(-r));
}

static void on_list(const struct ipc_answer *ans, const char *error, void *arg)
{
	struct job *j = arg;
	char *why = NULL;
	int r;

	j->waiting_ipc = false;
	if (j->n == NULL) { /* orphaned by notify_free */
		job_free(j);
		return;
	}
	if (ans == NULL || !ans->ok) {
		job_retry(j, ans ? (ans->error ? ans->error : "?") : error);
		return;
	}
	if ((r = ipc_answer_forwardings(ans, &j->fwds, &j->nfwds, &why)) < 0) {
		job_retry(j, why ? why : strerror(-r));
		free(why);
		return;
	}
	if (j->nfwds == 0) /* not one of ours: Neutron is not asked */
		job_done(j);
	else
		ask_neutron(j);
}

/* Asks the pat-agent for the forwardings of the port or router. */
static void job_run(struct job *j)
{
	struct ipc_request req;
	int r;

	memset(&req, 0, sizeof(req));
	req.op = IPC_OP_LIST;
	if (j->ev.kind == OSLO_EVENT_PORT) {
		req.fields = IPC_FIELD_PORT_ID;
		strcpy(req.port_id, j->ev.id);
	} else {
		req.fields = IPC_FIELD_ROUTER_ID;
		strcpy(req.router_id, j->ev.id);
	}
	if ((r = ipc_client_request(j->n->m->ipc, &req, on_list, j)) < 0) {
		job_retry(j, r == -ENOTCONN ? "the pat-agent is not connected" : strerror(-r));
		return;
	}
	j->waiting_ipc = true;
}

static void log_dropped(struct notify *n, const char *why)
{
	unsigned long k = n->stats.malformed;

	if (k <= LOG_FIRST || k % LOG_EVERY == 0)
		log_warnx("Notifications: dropped a malformed message (%s; %lu so far)", why, k);
}

static void on_message(
        struct bus_delivery d, const char *body, size_t len, bool oversized, void *arg)
{
	struct notify *n = arg;
	struct oslo_event ev;
	char *why = NULL;
	struct job *j;

	if (oversized || oslo_notify_parse(body, len, &ev, &why) < 0) {
		n->stats.malformed++;
		log_dropped(n, oversized ? "too large" : why ? why : "out of memory");
		free(why);
		bus_ack(n->bus, d);
		return;
	}
	if (ev.kind == OSLO_EVENT_OTHER) {
		n->stats.ignored++;
		bus_ack(n->bus, d);
		return;
	}
	n->stats.followed++;
	log_debug("Notification %s for %s: checking", ev.type, ev.id);
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	        (j->retry = evtimer_new(n->m->base, on_retry, j)) == NULL) {
		free(j); /* unacknowledged: redelivered after a reconnection */
		return;
	}
	j->n = n;
	j->d = d;
	j->ev = ev;
	j->delay = 1;
	j->next = n->jobs;
	if (n->jobs != NULL)
		n->jobs->prev = j;
	n->jobs = j;
	job_run(j);
}

int notify_new(struct monitor *m, struct notify **out, char **cause)
{
	struct notify *n;
	int r;

	*out = NULL;
	if (m->os == NULL || m->cfg.transport_url[0] == '\0')
		return 0;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->m = m;
	if ((r = transport_url_parse(m->cfg.transport_url, &n->url, cause)) < 0) {
		free(n);
		return r;
	}
	n->params = (struct bus_params){
	        .url = &n->url,
	        .exchange = m->cfg.notification_exchange,
	        .routing_key = m->cfg.notification_routing_key,
	        .queue = m->cfg.notification_queue,
	        .tls = m->cfg.notification_tls,
	        .tls_ca = m->cfg.notification_tls_ca,
	};
	if ((r = bus_new(m->base, &n->params, on_message, n, &n->bus)) < 0) {
		transport_url_free(&n->url);
		free(n);
		return r;
	}
	*out = n;
	return 0;
}

void notify_start(struct notify *n)
{
	if (n != NULL)
		bus_start(n->bus);
}

void notify_stop(struct notify *n)
{
	if (n != NULL)
		bus_stop(n->bus);
}

const struct notify_stats *notify_stats(const struct notify *n)
{
	return &n->stats;
}

void notify_free(struct notify *n)
{
	struct job *j, *next;

	if (n == NULL)
		return;
	bus_free(n->bus);
	for (j = n->jobs; j != NULL; j = next) {
		next = j->next;
		j->n = NULL; /* unlinked all at once below */
		if (j->waiting_ipc || j->reports > 0) {
			/* The answer (or the client's failing it) frees it; nothing else runs. */
			neutron_call_cancel(j->call);
			j->call = NULL;
			evtimer_del(j->retry);
			continue;
		}
		job_free(j);
	}
	transport_url_free(&n->url);
	free(n);
}
