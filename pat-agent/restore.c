/*
 * Bringing the kernel in line with the database: at start for every router
 * namespace present, and whenever one appears or goes away.
 */
#include "restore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "array-grow.h"
#include "follow.h"
#include "gateway-ns.h"
#include "kernel.h"
#include "log.h"
#include "netns.h"
#include "nft-read.h"
#include "replicas.h"
#include "routers.h"
#include "store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Distinct router ids from an ordered iteration of all forwardings. */
struct router_ids {
	char **v;
	size_t n, cap;
};

static int collect_router(const struct forwarding *f, void *arg)
{
	struct router_ids *ids = arg;
	char **v;

	if (ids->n > 0 && strcmp(ids->v[ids->n - 1], f->router_id) == 0)
		return 0;
	if ((v = array_grow(ids->v, &ids->cap, ids->n, sizeof(*v), 64)) == NULL)
		return -ENOMEM;
	ids->v = v;
	if ((ids->v[ids->n] = strdup(f->router_id)) == NULL)
		return -ENOMEM;
	ids->n++;
	return 0;
}

/* Rebuilds one router's table; 0, or -1 when the kernel or the database refused. */
static int sync_router(struct agent *a, const char *router_id)
{
	uint64_t revision = replicas_before(a, router_id);
	struct fault err;
	char *cause = NULL;

	if (engine_sync_router(&a->engine, router_id, &err) == 0) {
		replicas_rebuilt(a, router_id, revision, NULL);
		return 0;
	}
	log_warnx("Failed to restore router %s: %s", router_id, err.detail);
	replicas_rebuilt(a, router_id, revision, err.detail);
	/*
	 * Its forwardings are not in the kernel: say so (DOWN, and with the
	 * namespace present, status_reason kernel_refused) rather than keep
	 * the ACTIVE of before. A resync that works marks them ACTIVE again.
	 */
	if (store_set_router_status(a->store, router_id, FWD_STATUS_DOWN, &cause) < 0) {
		log_warnx("Failed to mark router %s DOWN: %s", router_id, cause ? cause : "?");
		free(cause);
	}
	return -1;
}

int restore_router(struct agent *a, const char *router_id)
{
	return sync_router(a, router_id);
}

/* The router id a namespace name stands for, or NULL if it is not a router's. */
static const char *router_of(const struct agent *a, const char *name)
{
	return gateway_ns_router(a->cfg.namespace_prefix, name);
}

static bool is_snat(const char *name)
{
	return strncmp(name, GATEWAY_NS_DVR_PREFIX, strlen(GATEWAY_NS_DVR_PREFIX)) == 0;
}

/* A snat- namespace makes its router DVR on this node for the agent's life. */
static int mark_dvr(struct agent *a, const char *name)
{
	const char *router_id = router_of(a, name);

	return router_id != NULL && is_snat(name) ? kernel_mark_dvr(a->kernel, router_id) : 0;
}

/* Whether name is its router's gateway namespace, as the kernel module writes it. */
static bool is_gateway(struct agent *a, const char *name)
{
	const char *router_id = router_of(a, name);
	char gw[256];

	/* -ENOENT still names it: a DVR router's snat- while it is away. */
	return router_id != NULL &&
	        kernel_namespace(a->kernel, router_id, gw, sizeof(gw)) != -EINVAL &&
	        strcmp(gw, name) == 0;
}

/*
 * The namespaces under netns_dir that hold a router's gateway: every
 * qrouter- one without a snat- beside it, and every snat- one (DVR), so
 * each router is there once. netns_list_free() them.
 */
static int list_gateways(struct agent *a, char ***names, size_t *n)
{
	const char *prefixes[] = {a->cfg.namespace_prefix, GATEWAY_NS_DVR_PREFIX};
	char **v = NULL, **part;
	size_t nv = 0, np, keep;
	int r = 0;

	for (size_t p = 0; p < 2 && r == 0; p++) {
		if ((r = netns_list(a->cfg.netns_dir, prefixes[p], &part, &np)) < 0)
			break;
		char **grown = reallocarray(v, nv + np + 1, sizeof(*v));
		if (grown == NULL) {
			netns_list_free(part, np);
			r = -ENOMEM;
			break;
		}
		v = grown;
		for (size_t i = 0; i < np; i++)
			v[nv++] = part[i]; /* the strings move to v */
		free(part);
	}
	if (r < 0) {
		netns_list_free(v, nv);
		return r;
	}
	/* Every snat- one first: its router's qrouter- one is then not a gateway. */
	for (size_t i = 0; i < nv && r == 0; i++)
		r = mark_dvr(a, v[i]);
	if (r < 0) {
		netns_list_free(v, nv);
		return r;
	}
	for (size_t i = keep = 0; i < nv; i++)
		if (is_gateway(a, v[i]))
			v[keep++] = v[i];
		else
			free(v[i]);
	*names = v;
	*n = keep;
	return 0;
}

int restore_all(struct agent *a)
{
	struct router_ids ids = {0};
	struct fault err;
	char *cause = NULL, **names = NULL;
	size_t n = 0;
	double started = now();
	int r;

	r = store_foreach_all(a->store, collect_router, &ids, &cause);
	if (r < 0) {
		log_warnx("Failed to read the forwardings to restore: %s", cause ? cause : "?");
		free(cause);
		goto out;
	}
	/*
	 * Routers with forwardings but no namespace here are DOWN... unless
	 * other nodes' agents share the database: the router may be theirs.
	 */
	for (size_t i = 0; !store_is_shared(a->store) && i < ids.n; i++)
		if (!kernel_router_present(a->kernel, ids.v[i]) &&
		        engine_router_gone(&a->engine, ids.v[i], &err) < 0)
			log_warnx("Failed to mark router %s DOWN: %s", ids.v[i], err.detail);
	/* ...and every router namespace present gets its table, even an empty one. */
	/*
	 * The watch (started before) knows these already and reports only what
	 * comes after: each namespace is restored once.
	 */
	r = list_gateways(a, &names, &n);
	if (r < 0) {
		log_warnx("Failed to list %s: %s", a->cfg.netns_dir, strerror(-r));
		goto out;
	}
	replicas_gone(a, NULL); /* this node's replicas: those present are written below */
	for (size_t i = 0; i < n; i++) {
		const char *router_id = router_of(a, names[i]);
		if (router_id != NULL && kernel_router_present(a->kernel, router_id) &&
		        sync_router(a, router_id) == 0)
			follow_restored(a->follow, router_id);
	}
	log_info("Restored %zu router namespace%s (%zu router%s with forwardings) in %.3f s", n,
	        n == 1 ? "" : "s", ids.n, ids.n == 1 ? "" : "s", now() - started);
out:
	netns_list_free(names, n);
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	return r;
}

int restore_count_kernel_state(struct agent *a, size_t *routers, size_t *elems)
{
	char **names = NULL, *cause = NULL;
	size_t n = 0;
	int r;

	*routers = *elems = 0;
	if ((r = list_gateways(a, &names, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const char *router_id = router_of(a, names[i]);
		struct nft_state st = {0};

		if (router_id == NULL || !kernel_router_present(a->kernel, router_id))
			continue;
		r = kernel_read(a->kernel, router_id, &st, &cause);
		if (r < 0) {
			/* Unreadable is not empty: count it, so the start is refused. */
			log_warnx("Failed to read router %s's table: %s", router_id,
			        cause ? cause : strerror(-r));
			free(cause);
			cause = NULL;
			(*routers)++;
		} else if (st.table && st.n > 0) {
			(*routers)++;
			*elems += st.n;
		}
		nft_state_free(&st);
	}
	netns_list_free(names, n);
	return 0;
}

void restore_namespace(struct agent *a, const char *name, bool present)
{
	const char *router_id = router_of(a, name);
	struct fault err;

	if (router_id == NULL)
		return;
	if (present && mark_dvr(a, name) < 0)
		log_warnx("Router %s: out of memory", router_id);
	if (present && !is_gateway(a, name)) {
		log_info("Namespace %s appeared: router %s is DVR, only its %s%s namespace is "
		         "programmed",
		        name, router_id, GATEWAY_NS_DVR_PREFIX, router_id);
		return;
	}
	if (present) {
		log_info("Namespace %s appeared: restoring router %s", name, router_id);
		/* A re-created namespace is a new one: never reuse the old socket. */
		kernel_forget(a->kernel, router_id);
		routers_forget(a->routers, router_id);
		sync_router(a, router_id);
	} else if (!is_snat(name) && kernel_router_present(a->kernel, router_id)) {
		/* A qrouter- namespace went from beside the snat- one that is programmed. */
		log_info("Namespace %s went away; router %s's %s%s namespace stays", name,
		        router_id, GATEWAY_NS_DVR_PREFIX, router_id);
	} else if (store_is_shared(a->store)) {
		/* Another node may host a replica: its status is not this node's to say. */
		log_info("Namespace %s went away from this node", name);
		routers_forget(a->routers, router_id);
		replicas_gone(a, router_id);
	} else {
		/*
		 * A snat- namespace that goes takes the router's gateway off this
		 * node (DVR's SNAT moved): DOWN, even with its qrouter- namespace
		 * still here, which is never written for it (kernel_mark_dvr).
		 */
		log_info("Namespace %s went away: router %s is DOWN", name, router_id);
		routers_forget(a->routers, router_id);
		if (engine_router_gone(&a->engine, router_id, &err) < 0)
			log_warnx("Failed to mark router %s DOWN: %s", router_id, err.detail);
	}
}
