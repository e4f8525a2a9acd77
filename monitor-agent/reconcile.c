/*
 * One reconcile cycle: list the forwardings from the pat-agent a page at a
 * time, and for each chunk of them ask Neutron about their ports (a few
 * paginated listings, never one call per forwarding) and decide, then drop
 * the chunk; once all are listed, check each router namespace's table
 * against what the forwardings summed up to (kcheck.h), ask Neutron about
 * their routers, and report what changed. A cycle thus holds one chunk of
 * forwardings and a few bytes per router, however many there are. Nothing
 * is reported from a failed or partial look: any error ends the cycle with
 * no change and backs off.
 */
#include <errno.h>
#include <malloc.h>
#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array-grow.h"
#include "cause.h"
#include "decide.h"
#include "fwdset.h"
#include "gateway-ns.h"
#include "ipc.h"
#include "kcheck.h"
#include "lease.h"
#include "log.h"
#include "monitor.h"
#include "netns.h"
#include "neutron.h"
#include "osclient.h"
#include "report.h"

#define BACKOFF_CAP 300.0 /* seconds */
/*
 * A look at Neutron (one chunk's port listing, or the router listing and
 * the confirmations) that takes longer than this is abandoned and counts
 * as a failure (a hung Neutron must not hold the monitor for the HTTP
 * client's retries, minutes). Generous, since 10,000 forwardings cost a
 * few hundred milliseconds of Neutron's time.
 */
#define DEADLINE_MIN 20.0 /* seconds, or 3 periods if longer */
/*
 * Ports and routers missing from a listing, confirmed one GET each, per
 * cycle: a listing gone empty by mistake must not turn into 10,000 GETs.
 * The rest wait for the next cycle.
 */
#define CONFIRMS_MAX 64
/*
 * Longest Neutron URL the monitor sends: id filters are batched up to it,
 * about 195 UUIDs a call. Under the 8190 bytes Apache, nginx and eventlet
 * take by default, with room for the marker of a next page.
 */
#define MONITOR_MAX_URL 8000

/*
 * Forwardings per chunk: listed, their ports asked from Neutron in one
 * listing (its URLs, ~190 ids each, are built when it starts), decided,
 * then dropped. Two at most (one fills while the other is asked about),
 * ~0.4 MB each; fewer would cost a partial URL per chunk more often (at
 * 100,000: 551 requests, 541 with chunks of 5,000). A port whose
 * forwardings fall in two chunks is asked in both.
 */
#define CHUNK 2000
/* Tests set fewer, for many chunks from a few forwardings. */
#define CHUNK_ENV "PRAAS_TEST_MONITOR_CHUNK"

/*
 * Forwardings per list page: the pat-agent never builds, nor the monitor
 * parses, one JSON answer for all of a large cloud's forwardings. A page
 * in flight (its text, JSON tree and decoded forwardings) is the largest
 * part of a cycle's memory: 500 took ~1 MB more at peak than 250.
 */
#define LIST_PAGE 250

/* A suspect being confirmed by a GET of its own. */
struct confirm {
	struct cycle *c;
	struct action act;
	struct neutron_call *call;
	size_t slot;
};

struct cycle {
	struct monitor *m;
	double started;
	unsigned int requests_before;
	struct fwdset set;       /* every forwarding's router and external address */
	struct kcheck_sum *want; /* by router index in set: what its table should hold */
	size_t want_cap;
	/*
	 * Two chunks: chunk[fill] takes the pages as they come while Neutron
	 * is asked about the other's ports (asking), so the two overlap.
	 */
	struct fwdset chunk[2];
	int fill;
	bool asking;
	bool listing;    /* a list page is asked from the pat-agent */
	bool list_ended; /* the last page came */
	bool aborted;    /* ends when the list page in flight comes back */
	bool aborted_openstack;
	size_t listed; /* forwardings listed so far */
	char *marker;  /* of the next list page, while it waits for room */
	const char **port_ids, **router_ids;
	size_t nports, nrouters;
	struct actions actions; /* the chunks' conclusions, then the routers' */
	struct neutron_routers *routers;
	struct neutron_call *ports_call, *routers_call; /* listings in flight */
	struct confirm *confirms[CONFIRMS_MAX];         /* confirmations in flight */
	size_t nconfirms;
	struct event *deadline;
	int pending; /* confirmations in flight (and one held while starting them) */
	bool failed;
	unsigned int reported;
};

static void schedule(struct monitor *m, double elapsed);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double monitor_next_delay(double period, unsigned int failures)
{
	double cap = period > BACKOFF_CAP ? period : BACKOFF_CAP;
	double d = period * pow(2.0, failures > 16 ? 16 : failures);

	return d > cap ? cap : d;
}

double monitor_deadline(double period)
{
	return 3 * period > DEADLINE_MIN ? 3 * period : DEADLINE_MIN;
}

static unsigned int neutron_requests(const struct monitor *m)
{
	return m->os ? neutron_stats(m->os->neutron)->requests : 0;
}

/* Cancels what is still in flight (no callback will come) and frees. */
static void cycle_free(struct cycle *c)
{
	neutron_call_cancel(c->ports_call);
	neutron_call_cancel(c->routers_call);
	for (size_t i = 0; i < CONFIRMS_MAX; i++) {
		if (c->confirms[i] == NULL)
			continue;
		neutron_call_cancel(c->confirms[i]->call);
		free(c->confirms[i]);
	}
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c->port_ids);
	free(c->router_ids);
	for (size_t i = 0; i < c->want_cap; i++)
		kcheck_sum_free(&c->want[i]);
	free(c->want);
	free(c->marker);
	actions_free(&c->actions);
	fwdset_free(&c->chunk[0]);
	fwdset_free(&c->chunk[1]);
	fwdset_free(&c->set);
	if (c->routers)
		neutron_routers_free(c->routers);
	free(c);
}

static void cycle_end(struct cycle *c, bool openstack_failed)
{
	struct monitor *m = c->m;
	double elapsed;

	m->failures = openstack_failed ? m->failures + 1 : 0;
	m->cycles++;
	/* The verify answers come after the cycle: the totals so far. */
	log_info("reconcile: %zu forwardings, %u Neutron requests, %.1f ms, %u change%s "
	         "reported%s; tables: %lu drifts repaired, %lu suspects cleared by the pat-agent",
	        c->listed, neutron_requests(m) - c->requests_before, (now() - c->started) * 1000,
	        c->reported, c->reported == 1 ? "" : "s",
	        openstack_failed ? ", OpenStack failed: backing off" : "", m->drifts,
	        m->unconfirmed);
	m->cycle = NULL;
	elapsed = now() - c->started;
	cycle_free(c);
	/* What the cycle freed inside the heap goes back to the kernel too. */
	malloc_trim(0);
	schedule(m, elapsed);
}

static void report(struct cycle *c, const struct action *a, bool confirmed_gone)
{
	if (report_action(c->m, a, confirmed_gone, NULL, NULL) == 1)
		c->reported++;
}

static void confirm_done(struct confirm *cf, const struct http_error *err)
{
	struct cycle *c = cf->c;

	/*
	 * Only a 404 answer for that very id proves it gone; anything else,
	 * -ENOENT without one included (no network endpoint in the catalog),
	 * changes nothing.
	 */
	if (err != NULL && err->code == -ENOENT && err->status == 404) {
		report(c, &cf->act, true);
	} else if (err != NULL) {
		/* Neutron is unwell: back off as after a failed listing. */
		log_warnx("Could not confirm that %s is gone (%s): nothing will be changed for it",
		        cf->act.id, err->message ? err->message : strerror(-err->code));
		c->failed = true;
	} else
		log_debug(
		        "%s was missing from the listing but is there: nothing to do", cf->act.id);
	c->confirms[cf->slot] = NULL;
	free(cf);
	if (--c->pending == 0)
		cycle_end(c, c->failed);
}

static void on_confirm_port(struct neutron_port *p, const struct http_error *err, void *arg)
{
	if (p != NULL)
		neutron_port_free(p);
	confirm_done(arg, err);
}

static void on_confirm_router(struct neutron_router *r, const struct http_error *err, void *arg)
{
	if (r != NULL)
		neutron_router_free(r);
	confirm_done(arg, err);
}

static void confirm(struct cycle *c, const struct action *a)
{
	struct neutron *n = c->m->os->neutron;
	struct confirm *cf;
	int r;

	if (c->nconfirms == CONFIRMS_MAX) {
		log_debug("%s is missing from the listing: confirming it next cycle", a->id);
		return;
	}
	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return;
	cf->c = c;
	cf->act = *a;
	cf->slot = c->nconfirms;
	if (a->kind == ACTION_PORT_SUSPECT)
		r = neutron_port_get(n, a->id, on_confirm_port, cf, &cf->call);
	else
		r = neutron_router_get(n, a->id, on_confirm_router, cf, &cf->call);
	if (r < 0) {
		free(cf);
		return;
	}
	c->confirms[c->nconfirms++] = cf;
	c->pending++;
}

static void act(struct cycle *c)
{
	struct actions acts;

	if (decide_scoped(&c->set, c->routers, DECIDE_ROUTERS, &acts) < 0 ||
	        actions_merge(&c->actions, &acts) < 0) {
		log_warnx("Failed to compare with Neutron: out of memory");
		cycle_end(c, false);
		return;
	}
	c->pending = 1; /* held until every confirmation is started */
	for (size_t i = 0; i < c->actions.n; i++) {
		const struct action *a = &c->actions.v[i];
		if (a->kind == ACTION_PORT_SUSPECT || a->kind == ACTION_ROUTER_SUSPECT)
			confirm(c, a);
		else
			report(c, a, false);
	}
	actions_free(&c->actions);
	if (--c->pending == 0)
		cycle_end(c, c->failed);
}

/*
 * Ends the cycle, or, while a list page is asked from the pat-agent (its
 * answer comes to the cycle), stops all else and ends it when it comes.
 */
static void cycle_fail(struct cycle *c, bool openstack_failed)
{
	if (!c->listing) {
		cycle_end(c, openstack_failed);
		return;
	}
	c->aborted = true;
	c->aborted_openstack |= openstack_failed;
	neutron_call_cancel(c->ports_call);
	c->ports_call = NULL;
	if (c->deadline != NULL)
		evtimer_del(c->deadline);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct cycle *c = arg;

	log_warnx("Neutron did not answer within %.0f s: nothing will be changed this cycle",
	        monitor_deadline(c->m->cfg.second_monitoring));
	cycle_fail(c, true); /* cancels what is in flight */
}

/* Starts (or restarts) the deadline of a look at Neutron. */
static int arm_deadline(struct cycle *c)
{
	double d = monitor_deadline(c->m->cfg.second_monitoring);
	struct timeval tv = {.tv_sec = (time_t)d, .tv_usec = (suseconds_t)((d - floor(d)) * 1e6)};

	if (c->deadline == NULL && (c->deadline = evtimer_new(c->m->base, on_deadline, c)) == NULL)
		return -ENOMEM;
	return evtimer_add(c->deadline, &tv) < 0 ? -ENOMEM : 0;
}

static void neutron_failed(struct cycle *c, const struct http_error *err, const char *what)
{
	log_warnx("Neutron %s failed (%s): nothing will be changed this cycle", what,
	        err->message ? err->message : strerror(-err->code));
	cycle_fail(c, true);
}

/* The chunk being asked about (the one not filling). */
static struct fwdset *asked(struct cycle *c)
{
	return &c->chunk[c->fill ^ 1];
}

/*
 * Only what the decisions need is kept of the listing, a page at a time:
 * the ports' addresses (100,000 decoded ports would take ~56 MB).
 */
static int on_ports_page(const struct neutron_ports *page, void *arg)
{
	struct cycle *c = arg;
	int r = 0;

	for (size_t i = 0; r == 0 && i < page->len; i++)
		r = fwdset_note_port(asked(c), &page->v[i]);
	return r;
}

/* The asked chunk's ports are known: its conclusions kept, its records dropped. */
static int chunk_decide(struct cycle *c)
{
	struct actions acts;

	if (decide_scoped(asked(c), NULL, DECIDE_PORTS, &acts) < 0 ||
	        actions_merge(&c->actions, &acts) < 0) {
		log_warnx("Failed to compare with Neutron: out of memory");
		return -ENOMEM;
	}
	fwdset_clear_records(asked(c));
	return 0;
}

static void advance(struct cycle *c);

static void on_ports(struct neutron_ports *l, const struct http_error *err, void *arg)
{
	struct cycle *c = arg;

	c->ports_call = NULL; /* ended: the handle is no longer ours to cancel */
	if (l != NULL)
		neutron_ports_free(l); /* empty: the pages went to on_ports_page */
	free(c->port_ids);
	c->port_ids = NULL;
	c->asking = false;
	/* No deadline while only the pat-agent is asked: its own timeout holds. */
	evtimer_del(c->deadline);
	if (err != NULL)
		neutron_failed(c, err, "port listing");
	else if (chunk_decide(c) < 0)
		cycle_fail(c, false);
	else
		advance(c);
}

/*
 * The full chunk's port ids, in one listing: 0 when asked, 1 when it had
 * none (decided at once), -ENOMEM when the cycle is failing.
 */
static int ask_ports(struct cycle *c)
{
	struct neutron_port_filter pf = {0};
	int r;

	c->fill ^= 1; /* the full chunk is asked about; the other, empty, fills */
	r = decide_ids(asked(c), &c->port_ids, &c->nports, &c->router_ids, &c->nrouters);
	free(c->router_ids); /* asked once all are listed */
	c->router_ids = NULL;
	if (r < 0 || arm_deadline(c) < 0) {
		log_warnx("Failed to ask Neutron about the ports: out of memory");
		cycle_fail(c, false);
		return -ENOMEM;
	}
	if (c->nports == 0) {
		free(c->port_ids);
		c->port_ids = NULL;
		evtimer_del(c->deadline);
		if (chunk_decide(c) < 0) {
			cycle_fail(c, false);
			return -ENOMEM;
		}
		return 1;
	}
	pf.ids = c->port_ids;
	pf.ids_len = c->nports;
	r = neutron_ports_each(c->m->os->neutron, &pf, on_ports_page, on_ports, c, &c->ports_call);
	if (r < 0) { /* not started, no callback */
		neutron_failed(c, &(struct http_error){.code = -ENOMEM}, "port listing");
		return -ENOMEM;
	}
	c->asking = true;
	return 0;
}

static void on_routers(struct neutron_routers *l, const struct http_error *err, void *arg)
{
	struct cycle *c = arg;

	c->routers_call = NULL;
	c->routers = l;
	if (err != NULL)
		neutron_failed(c, err, "router listing");
	else
		act(c);
}

/* Every forwarding listed and its port judged: their routers, by their external addresses. */
static void ask_routers(struct cycle *c)
{
	struct neutron_router_filter rf = {0};

	if (fwdset_pairs_as_records(&c->set) < 0 ||
	        decide_ids(&c->set, &c->port_ids, &c->nports, &c->router_ids, &c->nrouters) < 0 ||
	        arm_deadline(c) < 0) {
		log_warnx("Failed to ask Neutron about the routers: out of memory");
		cycle_end(c, false);
		return;
	}
	if (c->nrouters == 0) {
		cycle_end(c, false);
		return;
	}
	rf.ids = c->router_ids;
	rf.ids_len = c->nrouters;
	if (neutron_routers_list(c->m->os->neutron, &rf, on_routers, c, &c->routers_call) < 0)
		neutron_failed(c, &(struct http_error){.code = -ENOMEM}, "router listing");
}

/* A suspected drift on its way to the pat-agent, who decides. */
struct suspect {
	struct monitor *m;
	char router_id[FWD_NAME_MAX + 1];
	char *seen; /* what our own look found */
};

static void suspect_free(struct suspect *s)
{
	free(s->seen);
	free(s);
}

static void on_verified(const struct ipc_answer *ans, const char *error, void *arg)
{
	struct suspect *s = arg;
	const char *drift;

	if (ans == NULL) {
		log_warnx(
		        "Failed to ask the pat-agent to verify router %s: %s", s->router_id, error);
	} else if (!ans->ok) {
		log_warnx("The pat-agent could not verify router %s: %s", s->router_id,
		        ans->error ? ans->error : "?");
	} else if ((drift = ipc_answer_drift(ans)) != NULL) {
		log_info("The table of router %s drifted (%s): the pat-agent rewrote it",
		        s->router_id, drift);
		s->m->drifts++;
	} else {
		/* Our look met a change in flight (a create between list and read): not drift. */
		log_debug("Router %s looked different (%s) but matches on the pat-agent's look",
		        s->router_id, s->seen ? s->seen : "?");
		s->m->unconfirmed++;
	}
	suspect_free(s);
}

/*
 * The monitor's look (forwardings listed in pages, then the kernel read) is
 * not one moment: a forwarding created or deleted in between looks like
 * drift. So a difference is only a suspect; the pat-agent compares again
 * on its own loop, where nothing can change between its two reads, and
 * rewrites the table only if the drift is real.
 */
static void ask_verify(struct cycle *c, const char *router_id, char *seen)
{
	struct ipc_request req;
	struct suspect *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL) {
		free(seen);
		return;
	}
	s->m = c->m;
	s->seen = seen;
	snprintf(s->router_id, sizeof(s->router_id), "%s", router_id);
	memset(&req, 0, sizeof(req));
	req.op = IPC_OP_VERIFY;
	req.fields = IPC_FIELD_ROUTER_ID;
	snprintf(req.router_id, sizeof(req.router_id), "%s", router_id);
	if ((r = ipc_client_request(c->m->ipc, &req, on_verified, s)) < 0) {
		log_warnx("Failed to ask the pat-agent to verify router %s: %s", router_id,
		        strerror(-r));
		suspect_free(s);
	}
	/* Not counted as a change reported: only the pat-agent knows if it is one. */
}

static void check_namespace(struct cycle *c, const char *name, const char *router_id)
{
	static const struct kcheck_sum none;
	struct monitor *m = c->m;
	const struct kcheck_sum *want = &none;
	struct nft_conn *conn;
	char *cause = NULL;
	uint32_t router;
	int r;

	if (*router_id == '\0' || netns_check(m->cfg.netns_dir, name) != 1)
		return;
	router = fwdset_find(&c->set, &c->set.routers, router_id);
	if (router != FWDSET_NONE && router < c->want_cap)
		want = &c->want[router];
	r = nft_open(m->cfg.netns_dir, name, &conn, &cause);
	if (r == 0) {
		r = kcheck_table(conn, &m->nft, c->set.key, want, &cause);
		nft_close(conn);
	}
	if (r == 1) {
		log_debug("The table of %s differs from the listing (%s): asking the pat-agent",
		        name, cause ? cause : "?");
		ask_verify(c, router_id, cause);
		return;
	}
	if (r < 0)
		log_warnx(
		        "Failed to check the table of %s: %s", name, cause ? cause : strerror(-r));
	free(cause);
}

/*
 * The namespaces the pat-agent writes (lib/gateway-ns.h): qrouter- ones
 * and DVR routers' snat- ones, never a qrouter- one beside a snat- one.
 */
static void check_kernel(struct cycle *c)
{
	const struct config *cfg = &c->m->cfg;
	const char *prefixes[] = {cfg->namespace_prefix, GATEWAY_NS_DVR_PREFIX};
	char **names = NULL, gw[256];
	size_t n = 0;
	int r;

	for (size_t p = 0; p < 2; p++) {
		if ((r = netns_list(cfg->netns_dir, prefixes[p], &names, &n)) < 0) {
			log_warnx("Failed to list %s: %s", cfg->netns_dir, strerror(-r));
			return;
		}
		for (size_t i = 0; i < n; i++) {
			const char *router_id = gateway_ns_router(cfg->namespace_prefix, names[i]);
			if (router_id != NULL &&
			        gateway_ns_name(cfg->netns_dir, cfg->namespace_prefix, router_id,
			                gw, sizeof(gw)) == 0 &&
			        strcmp(gw, names[i]) == 0)
				check_namespace(c, names[i], router_id);
		}
		netns_list_free(names, n);
		names = NULL;
		n = 0;
	}
}

static int request_page(struct cycle *c, const char *marker);

/* What router index router of the set calls for in its table. */
static struct kcheck_sum *want_of(struct cycle *c, uint32_t router)
{
	while (router >= c->want_cap) {
		size_t cap = c->want_cap;
		struct kcheck_sum *v = array_grow(c->want, &cap, c->want_cap, sizeof(*v), 16);
		if (v == NULL)
			return NULL;
		memset(v + c->want_cap, 0, (cap - c->want_cap) * sizeof(*v));
		c->want = v;
		c->want_cap = cap;
	}
	return &c->want[router];
}

/*
 * Adds one page's forwardings to their routers' sums and, to be judged
 * against Neutron, compactly to the filling chunk.
 */
static int add_page(struct cycle *c, const struct ipc_answer *ans, char **why)
{
	struct forwarding *page;
	struct kcheck_sum *w;
	uint32_t router;
	size_t n;
	int r = 0;

	if ((r = ipc_answer_forwardings(ans, &page, &n, why)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = fwdset_add_router(&c->set, &page[i], &router)) < 0)
			break;
		if ((w = want_of(c, router)) == NULL)
			r = -ENOMEM;
		else if ((r = kcheck_want_add(w, c->set.key, &page[i])) == 0 && c->m->os != NULL)
			r = fwdset_add(&c->chunk[c->fill], &page[i]);
	}
	if (r == -EINVAL)
		*why = strdup("a forwarding id is not a UUID");
	c->listed += n;
	free(page);
	return r;
}

/* All listed: the kernel checked against the sums, then Neutron asked about the routers. */
static void list_done(struct cycle *c)
{
	check_kernel(c);
	if (c->m->os == NULL)
		cycle_end(c, false);
	else
		ask_routers(c);
}

/*
 * Moves the look on: a full chunk (or the last) is asked about once the
 * other is decided, the next page is asked for while there is a chunk to
 * fill, and once all are listed and decided, the kernel and the routers.
 */
static void advance(struct cycle *c)
{
	struct fwdset *f = &c->chunk[c->fill];
	char *marker;
	int r;

	while (!c->asking && (f->n >= c->m->chunk || (c->list_ended && f->n > 0))) {
		if (ask_ports(c) < 0)
			return;
		f = &c->chunk[c->fill];
	}
	if (c->marker != NULL && !c->listing && f->n < c->m->chunk) {
		marker = c->marker;
		c->marker = NULL;
		r = request_page(c, marker);
		free(marker);
		if (r < 0) {
			log_warnx("Failed to ask the pat-agent for the next page of forwardings");
			cycle_fail(c, false);
		}
		return;
	}
	if (c->list_ended && !c->asking && f->n == 0)
		list_done(c);
}

static void on_list(const struct ipc_answer *ans, const char *error, void *arg)
{
	struct cycle *c = arg;
	const char *next;
	char *why = NULL;
	int r;

	c->listing = false;
	if (c->aborted) {
		cycle_end(c, c->aborted_openstack);
		return;
	}
	if (ans == NULL || !ans->ok) {
		log_warnx("Failed to list forwardings from the pat-agent: %s",
		        ans ? (ans->error ? ans->error : "?") : error);
		cycle_end(c, false);
		return;
	}
	if ((r = add_page(c, ans, &why)) < 0) {
		log_warnx("The pat-agent's list is malformed: %s", why ? why : strerror(-r));
		free(why);
		cycle_end(c, false);
		return;
	}
	if ((next = ipc_answer_next_marker(ans)) == NULL)
		c->list_ended = true;
	else if ((c->marker = strdup(next)) == NULL) {
		log_warnx("Failed to keep the list's marker: out of memory");
		cycle_end(c, false);
		return;
	}
	advance(c);
}

/* A forwarding created or deleted between two pages is seen next cycle. */
static int request_page(struct cycle *c, const char *marker)
{
	struct ipc_request req;

	memset(&req, 0, sizeof(req));
	req.op = IPC_OP_LIST;
	req.fields = IPC_FIELD_LIMIT;
	req.limit = LIST_PAGE;
	if (marker != NULL) {
		if (strlen(marker) >= sizeof(req.marker))
			return -EINVAL;
		strcpy(req.marker, marker);
		req.fields |= IPC_FIELD_MARKER;
	}
	if (ipc_client_request(c->m->ipc, &req, on_list, c) < 0)
		return -ENOMEM;
	c->listing = true;
	return 0;
}

static void cycle_start(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	struct cycle *c;

	if (m->cycle != NULL)
		return;
	if (!lease_acting(m->lease)) { /* another monitor acts: stand by */
		schedule(m, 0);
		return;
	}
	if (!ipc_client_connected(m->ipc)) {
		log_debug("The pat-agent is not connected yet: waiting");
		schedule(m, 0);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		schedule(m, 0);
		return;
	}
	c->m = m;
	fwdset_init(&c->set);
	fwdset_init(&c->chunk[0]);
	fwdset_init(&c->chunk[1]);
	c->started = now();
	c->requests_before = neutron_requests(m);
	if (request_page(c, NULL) < 0) {
		free(c);
		schedule(m, 0);
		return;
	}
	m->cycle = c;
}

/*
 * The next cycle starts a period after this one started (not after it
 * ended), so drift is seen within one period however long a look takes;
 * a look longer than the period is followed by the next at once.
 */
static void schedule(struct monitor *m, double elapsed)
{
	double d = monitor_next_delay(m->cfg.second_monitoring, m->failures) - elapsed;
	struct timeval tv;

	if (m->timer == NULL) /* stopping */
		return;
	if (d < 0)
		d = 0;
	tv.tv_sec = (time_t)d;
	tv.tv_usec = (suseconds_t)((d - floor(d)) * 1e6);
	if (m->failures > 0)
		log_info("OpenStack failed %u time%s in a row: next look in %.1f s", m->failures,
		        m->failures == 1 ? "" : "s", d);
	if (evtimer_add(m->timer, &tv) < 0)
		fatalx("Failed to schedule the next reconcile");
}

int monitor_start(struct monitor *m)
{
	struct timeval zero = {0, 0};
	const char *chunk = getenv(CHUNK_ENV);

	m->chunk = chunk != NULL && atoi(chunk) > 0 ? (size_t)atoi(chunk) : CHUNK;
	if (m->os != NULL)
		neutron_set_max_url(m->os->neutron, MONITOR_MAX_URL);
	m->timer = evtimer_new(m->base, cycle_start, m);
	if (m->timer == NULL)
		return -ENOMEM;
	return evtimer_add(m->timer, &zero) < 0 ? -EIO : 0;
}

void monitor_kick(struct monitor *m)
{
	struct timeval zero = {0, 0};

	if (m->timer != NULL && m->cycle == NULL && evtimer_add(m->timer, &zero) < 0)
		fatalx("Failed to schedule the next reconcile");
}

void monitor_stop(struct monitor *m)
{
	if (m->timer != NULL) {
		event_free(m->timer);
		m->timer = NULL;
	}
	if (m->cycle != NULL) {
		cycle_free(m->cycle);
		m->cycle = NULL;
	}
}
