/*
 * The standalone backend of routers.h: a router is its namespace, its
 * gateway the address on its qg- interface, its subnets those of its qr-
 * interfaces. Reading them costs a netlink round trip inside the
 * namespace, so the answer is kept per router (router-cache.h) with an
 * address watch opened in the namespace before the read (kernel.h): a
 * cached answer is used only while that watch has seen no address or
 * link change and the namespace file is still the same namespace (not
 * deleted or re-created). Checking both is one non-blocking read and one
 * stat(), so a create on a router whose interfaces did not change costs
 * no netlink round trip, and a changed gateway or a removed subnet is
 * seen by the very next request, as without the cache. The namespace
 * watch (restore.c) and the gateway follow (gateways.c, through ops.c)
 * also forget a router. The cache holds at most CACHE_MAX routers (fewer
 * under a low descriptor limit: half kernel_conn_budget()), one descriptor
 * each; only complete answers are kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ifaddr.h"
#include "kernel.h"
#include "log.h"
#include "router-addrs.h"
#include "router-cache.h"
#include "routers-backend.h"

#define CACHE_MIN 8
#define CACHE_MAX 256

/*
 * Half as many routers as the kernel keeps sockets for (kernel_conn_budget:
 * an eighth of the descriptor limit), one watch each: a sixteenth more.
 */
static size_t cache_capacity(void)
{
	size_t n = kernel_conn_budget() / 2;

	return n < CACHE_MIN ? CACHE_MIN : n > CACHE_MAX ? CACHE_MAX : n;
}

/* Reads the namespace's interfaces: 1 with info filled, or -1 with err. */
static int read_facts(struct routers_state *rs, const char *router_id, struct router_info *info,
        struct fault *err)
{
	struct iface_addr *ifs = NULL;
	const struct iface_addr *gw;
	char *warning = NULL;
	size_t n = 0;
	int r;

	memset(info, 0, sizeof(*info));
	snprintf(info->id, sizeof(info->id), "%s", router_id);
	/* An HA standby's gateway and subnets are in its keepalived.conf (router-addrs.h). */
	r = router_addrs_read(rs->kernel, rs->ha_confs_path, router_id, &ifs, &n, &warning);
	if (warning != NULL) {
		log_warnx("Router %s: %s", router_id, warning);
		free(warning);
	}
	if (r == -ENOENT)
		return fault_set(err, -ENOENT, FAULT_ROUTER,
		        "router %s: its namespace is not on this node", router_id);
	if (r < 0)
		return fault_set(err, r, FAULT_TABLE, "router %s: cannot read its interfaces: %s",
		        router_id, strerror(-r));
	if ((gw = ifaddr_find(ifs, n, "qg-", AF_INET)) != NULL)
		info->gateway4 = gw->net.addr;
	if ((gw = ifaddr_find(ifs, n, "qg-", AF_INET6)) != NULL)
		info->gateway6 = gw->net.addr;
	for (size_t i = 0; i < n; i++) {
		/* A DVR router's snat- namespace is on its subnets through sg- ports. */
		if ((strncmp(ifs[i].ifname, "qr-", 3) == 0 ||
		            strncmp(ifs[i].ifname, "sg-", 3) == 0) &&
		        info->subnets_len < ROUTERS_MAX_SUBNETS)
			info->subnets[info->subnets_len++] = ifs[i].net;
		if (info->own_len < ROUTERS_MAX_OWN)
			info->own[info->own_len++] = ifs[i].net.addr;
	}
	free(ifs);
	/*
	 * A namespace being (re)built gets its interfaces and addresses one by
	 * one after it appears: without a gateway or a subnet yet it is not a
	 * bad request, it is not ready. Retry in a moment.
	 */
	if (info->gateway4.family == 0 && info->gateway6.family == 0)
		return fault_set(err, -EAGAIN, FAULT_ROUTER,
		        "router %s has no gateway address yet (no address on a qg- interface); "
		        "retry when its namespace is configured",
		        router_id);
	if (info->subnets_len == 0)
		return fault_set(err, -EAGAIN, FAULT_ROUTER,
		        "router %s has no subnet yet (no address on a qr- or sg- interface); retry "
		        "when "
		        "its namespace is configured",
		        router_id);
	return 1;
}

/* Whether e still says what the namespace holds: nothing changed there, and it is the same one. */
static bool still_true(struct routers_state *rs, const struct router_cache_entry *e)
{
	uint64_t dev, ino;

	if (ifaddr_watch_fired(e->watch_fd))
		return false;
	return kernel_router_identity(rs->kernel, e->info.id, &dev, &ino) == 0 &&
	        dev == e->ns_dev && ino == e->ns_ino;
}

/*
 * Reads the facts with a watch opened first, so that a change during or
 * after the read fires it, and keeps them when the namespace was the same
 * one before and after. Without a watch (descriptors short) the answer is
 * still given, only not kept.
 */
static int read_and_keep(struct routers_state *rs, const char *router_id, struct router_info *info,
        struct fault *err)
{
	uint64_t dev0 = 0, ino0 = 0, dev1 = 0, ino1 = 0;
	bool same = kernel_router_identity(rs->kernel, router_id, &dev0, &ino0) == 0;
	int fd = same ? kernel_watch_addresses(rs->kernel, router_id) : -1;
	int r = read_facts(rs, router_id, info, err);

	same = same && kernel_router_identity(rs->kernel, router_id, &dev1, &ino1) == 0 &&
	        dev0 == dev1 && ino0 == ino1;
	if (r == 1 && fd >= 0 && same) {
		router_cache_put(rs->cache, info, 0, fd, dev0, ino0);
		log_debug("Router %s: facts read from its namespace, kept until they change",
		        router_id);
		return r;
	}
	if (fd >= 0 && close(fd) < 0)
		log_warn("close");
	log_debug("Router %s: facts read from its namespace, not kept", router_id);
	return r;
}

/* Always synchronous: 1 with info, or -1 with err. */
static int get(struct routers_state *rs, const char *router_id, struct router_info *info,
        struct fault *err, routers_cb cb, void *arg)
{
	struct router_cache_entry *e = router_cache_find(rs->cache, router_id);

	(void)cb;
	(void)arg;
	if (e != NULL && still_true(rs, e)) {
		*info = e->info;
		return 1;
	}
	if (e != NULL)
		router_cache_forget(rs->cache, router_id);
	return read_and_keep(rs, router_id, info, err);
}

const struct routers_backend routers_local_backend = {
        .name = "local",
        .has_ports = false,
        .has_owners = false,
        .follows_gateways = true,
        .cache_capacity = cache_capacity,
        .get = get,
        .find_target = NULL,
};
