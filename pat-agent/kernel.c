#include "kernel.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conntrack.h"
#include "gateway-ns.h"
#include "ifaddr.h"
#include "log.h"
#include "lru.h"
#include "netns.h"
#include "nft-read.h"

#define BUCKETS 4096
/*
 * Bounds of the connection cache. A connection holds up to two descriptors
 * (nft and conntrack); the cache may take an eighth of the soft descriptor
 * limit, so 1,024 leaves room for clients, the database and the control
 * socket, however many routers the node has.
 */
#define CONN_MIN 8
#define CONN_MAX 1024

/* An open nft connection into one router's namespace. */
struct conn {
	char *router_id;
	struct nft_conn *nft;
	struct conntrack *ct; /* opened on first use: most changes cut nothing */
	struct conn *next;    /* in its hash bucket */
	struct lru_node lru;
};

/* A router seen with a snat- namespace here: DVR, whatever comes and goes after. */
struct dvr {
	char *router_id;
	struct dvr *next;
};

struct kernel {
	const struct config *cfg;
	struct dvr *dvr[BUCKETS];
	struct nft_opts opts;
	struct conn *buckets[BUCKETS];
	struct lru lru; /* the connections, most recently used first */
	size_t nconns, max_conns;
	kernel_batch_cb batch_cb;
	void *batch_arg;
	char host[FWD_HOST_MAX + 1]; /* this node's name in answers */
};

static unsigned int hash(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

int kernel_new(const struct config *cfg, struct kernel **out)
{
	struct kernel *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -ENOMEM;
	k->cfg = cfg;
	k->opts.table = getenv("PRAAS_NFT_TABLE"); /* tests may use their own; NULL: praas */
	k->opts.masquerade = cfg->masquerade;
	k->max_conns = kernel_conn_budget();
	if (cfg->host != NULL && cfg->host[0] != '\0')
		snprintf(k->host, sizeof(k->host), "%s", cfg->host);
	else if (gethostname(k->host, sizeof(k->host)) < 0)
		snprintf(k->host, sizeof(k->host), "localhost"); /* ENAMETOOLONG: a name anyway */
	k->host[sizeof(k->host) - 1] = '\0'; /* gethostname need not terminate a cut name */
	*out = k;
	return 0;
}

size_t kernel_conn_budget(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return CONN_MAX;
	n = rl.rlim_cur / 8;
	return n < CONN_MIN ? CONN_MIN : n > CONN_MAX ? CONN_MAX : (size_t)n;
}

static void conn_free(struct conn *c)
{
	if (c->ct != NULL)
		conntrack_close(c->ct);
	nft_close(c->nft);
	free(c->router_id);
	free(c);
}

void kernel_free(struct kernel *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		while (k->buckets[i]) {
			struct conn *c = k->buckets[i];
			k->buckets[i] = c->next;
			conn_free(c);
		}
		while (k->dvr[i]) {
			struct dvr *d = k->dvr[i];
			k->dvr[i] = d->next;
			free(d->router_id);
			free(d);
		}
	}
	free(k);
}

void kernel_set_batch_cb(struct kernel *k, kernel_batch_cb cb, void *arg)
{
	k->batch_cb = cb;
	k->batch_arg = arg;
}

static bool is_dvr(const struct kernel *k, const char *router_id)
{
	for (const struct dvr *d = k->dvr[hash(router_id)]; d; d = d->next)
		if (strcmp(d->router_id, router_id) == 0)
			return true;
	return false;
}

int kernel_mark_dvr(struct kernel *k, const char *router_id)
{
	unsigned int h = hash(router_id);
	struct dvr *d;

	if (is_dvr(k, router_id))
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->router_id = strdup(router_id)) == NULL) {
		free(d);
		return -ENOMEM;
	}
	d->next = k->dvr[h];
	k->dvr[h] = d;
	return 0;
}

/*
 * The name of the namespace holding a router's gateway (lib/gateway-ns.h),
 * or -EINVAL. A router known as DVR here keeps snat- even when it is gone:
 * its qrouter- namespace is never the one to program.
 */
static int ns_name(const struct kernel *k, const char *router_id, char *buf, size_t len)
{
	int n;

	if (!is_dvr(k, router_id))
		return gateway_ns_name(
		        k->cfg->netns_dir, k->cfg->namespace_prefix, router_id, buf, len);
	n = snprintf(buf, len, "%s%s", GATEWAY_NS_DVR_PREFIX, router_id);
	return n < 0 || (size_t)n >= len || netns_name_valid(buf) < 0 ? -EINVAL : 0;
}

/* The router's namespace name, when that namespace is here: 0, -ENOENT or -EINVAL. */
static int ns_present(const struct kernel *k, const char *router_id, char *buf, size_t len)
{
	int r = ns_name(k, router_id, buf, len);

	if (r < 0)
		return r;
	return netns_check(k->cfg->netns_dir, buf) == 1 ? 0 : -ENOENT;
}

bool kernel_router_present(struct kernel *k, const char *router_id)
{
	char name[256];

	return ns_present(k, router_id, name, sizeof(name)) == 0;
}

int kernel_namespace(struct kernel *k, const char *router_id, char *buf, size_t len)
{
	return ns_present(k, router_id, buf, len);
}

void kernel_explain(struct kernel *k, struct forwarding *f)
{
	if (f->status == FWD_STATUS_ACTIVE)
		f->status_reason = FWD_REASON_NONE;
	else
		f->status_reason = kernel_router_present(k, f->router_id)
		        ? FWD_REASON_KERNEL_REFUSED
		        : FWD_REASON_NAMESPACE_ABSENT;
}

const char *kernel_host(const struct kernel *k)
{
	return k->host;
}

void kernel_hosts(struct kernel *k, struct forwarding *f)
{
	f->host[0] = f->host_namespace[0] = '\0';
	if (f->status != FWD_STATUS_ACTIVE ||
	        kernel_namespace(k, f->router_id, f->host_namespace, sizeof(f->host_namespace)) <
	                0) {
		f->host_namespace[0] = '\0';
		return;
	}
	snprintf(f->host, sizeof(f->host), "%s", k->host);
}

/* Takes c out of the cache and closes it. */
static void conn_drop(struct kernel *k, struct conn *c)
{
	struct conn **p = &k->buckets[hash(c->router_id)];

	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	lru_unlink(&k->lru, &c->lru);
	k->nconns--;
	conn_free(c);
}

/*
 * The cached connection into a router's namespace, opened on first use.
 * When the cache is full the least recently used one is closed first: a
 * node may have more routers than the agent may have descriptors, and
 * reopening costs a setns(2) pair, not a restore.
 */
static int conn_get(struct kernel *k, const char *router_id, struct conn **out, char **cause)
{
	unsigned int h = hash(router_id);
	struct conn *c;
	char name[256];
	int r;

	for (c = k->buckets[h]; c; c = c->next)
		if (strcmp(c->router_id, router_id) == 0) {
			lru_touch(&k->lru, &c->lru);
			*out = c;
			return 0;
		}
	if ((r = ns_present(k, router_id, name, sizeof(name))) < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->router_id = strdup(router_id)) == NULL) {
		free(c);
		return -ENOMEM;
	}
	while (k->nconns >= k->max_conns && k->lru.tail != NULL)
		conn_drop(k, LRU_ITEM(k->lru.tail, struct conn, lru));
	if ((r = nft_open(k->cfg->netns_dir, name, &c->nft, cause)) < 0) {
		free(c->router_id);
		free(c);
		return r;
	}
	c->next = k->buckets[h];
	k->buckets[h] = c;
	lru_push(&k->lru, &c->lru);
	k->nconns++;
	*out = c;
	return 0;
}

void kernel_forget(struct kernel *k, const char *router_id)
{
	struct conn *c = k->buckets[hash(router_id)];

	for (; c; c = c->next)
		if (strcmp(c->router_id, router_id) == 0) {
			conn_drop(k, c);
			return;
		}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A namespace deleted and re-created keeps its name but not its identity:
 * a cached socket would write into the dead one. So when the namespace is
 * gone, or a change fails with a socket error, the connection is dropped.
 */
static int settle(struct kernel *k, const char *router_id, int r, double started)
{
	if (k->batch_cb)
		k->batch_cb(now() - started, r >= 0, k->batch_arg);
	if (r < 0 && !kernel_router_present(k, router_id)) {
		kernel_forget(k, router_id);
		return -ENOENT;
	}
	if (r == -EBADF || r == -ENOTCONN || r == -ECONNREFUSED)
		kernel_forget(k, router_id);
	return r;
}

int kernel_change_many(
        struct kernel *k, const char *router_id, const struct nft_change *v, size_t n, char **cause)
{
	struct conn *c;
	double started = now();
	int r;

	if ((r = conn_get(k, router_id, &c, cause)) < 0)
		return r;
	r = nft_apply_many(c->nft, &k->opts, v, n, cause);
	return settle(k, router_id, r, started);
}

static int sync_with(struct kernel *k, const char *router_id, const struct forwarding *v, size_t n,
        bool remove_foreign, char **cause)
{
	struct nft_opts o = k->opts;
	struct conn *c;
	double started = now();
	int r;

	if ((r = conn_get(k, router_id, &c, cause)) < 0)
		return r;
	o.remove_foreign = remove_foreign;
	r = nft_sync(c->nft, &o, v, n, cause);
	return settle(k, router_id, r, started);
}

int kernel_sync(
        struct kernel *k, const char *router_id, const struct forwarding *v, size_t n, char **cause)
{
	return sync_with(k, router_id, v, n, false, cause);
}

int kernel_repair(
        struct kernel *k, const char *router_id, const struct forwarding *v, size_t n, char **cause)
{
	return sync_with(k, router_id, v, n, true, cause);
}

int kernel_read(struct kernel *k, const char *router_id, struct nft_state *st, char **cause)
{
	struct conn *c;
	int r;

	if ((r = conn_get(k, router_id, &c, cause)) < 0)
		return r;
	r = nft_read(c->nft, &k->opts, st, cause);
	return settle(k, router_id, r, now());
}

const struct nft_opts *kernel_nft_opts(const struct kernel *k)
{
	return &k->opts;
}

int kernel_cut_sessions(struct kernel *k, const struct forwarding *f, size_t n, char **cause)
{
	struct conn *c;
	char name[256];
	int r;

	if ((r = conn_get(k, f->router_id, &c, cause)) < 0)
		return r;
	if (c->ct == NULL) {
		if ((r = ns_name(k, f->router_id, name, sizeof(name))) < 0)
			return r;
		if ((r = conntrack_open(k->cfg->netns_dir, name, &c->ct, cause)) < 0)
			return r;
	}
	return conntrack_flush_forwardings(c->ct, f, n, cause);
}

int kernel_interfaces(struct kernel *k, const char *router_id, struct iface_addr **out, size_t *n)
{
	struct mnl_socket *nl;
	char name[256];
	int r;

	if ((r = ns_present(k, router_id, name, sizeof(name))) < 0)
		return r;
	if ((r = netns_open_netlink(k->cfg->netns_dir, name, NETLINK_ROUTE, &nl, NULL)) < 0)
		return r;
	r = ifaddr_list(nl, out, n);
	mnl_socket_close(nl);
	return r;
}

static int open_watch(void *arg)
{
	int *fd = arg;

	*fd = ifaddr_watch_open();
	return *fd < 0 ? *fd : 0;
}

int kernel_watch_addresses(struct kernel *k, const char *router_id)
{
	char name[256];
	int fd = -1, r;

	if ((r = ns_present(k, router_id, name, sizeof(name))) < 0)
		return r;
	if ((r = netns_run_in(k->cfg->netns_dir, name, open_watch, &fd, NULL)) < 0)
		return r;
	return fd;
}

int kernel_router_identity(struct kernel *k, const char *router_id, uint64_t *dev, uint64_t *ino)
{
	char name[256];
	int r;

	if ((r = ns_name(k, router_id, name, sizeof(name))) < 0)
		return r;
	return netns_identity(k->cfg->netns_dir, name, dev, ino);
}
