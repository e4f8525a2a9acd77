/*
 * The pat-agent's view of the kernel: one table per router namespace.
 *
 * Keeps netlink connections into recently used namespaces (entering a
 * namespace costs a setns(2) pair, so a busy router does it once, not per
 * change) and turns forwarding changes into nft batches and conntrack
 * deletions there. The cache is bounded (kernel_conn_budget()): the least
 * recently used connection is closed to open another, so the agent's
 * descriptors do not grow with the number of routers on the node.
 * A router's namespace is the one holding its gateway under netns_dir
 * (lib/gateway-ns.h): snat-<router_id> for a DVR router, else
 * namespace_prefix + router_id.
 */
#ifndef PRAAS_KERNEL_H
#define PRAAS_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd.h"

struct config;
struct kernel;

/* Called after each nft batch with its wall time in seconds (for metrics). */
typedef void (*kernel_batch_cb)(double seconds, bool ok, void *arg);

int kernel_new(const struct config *cfg, struct kernel **out);

/*
 * How many namespace connections the cache keeps: an eighth of the soft
 * descriptor limit at kernel_new() (two descriptors each at most), within
 * [8, 1024].
 */
size_t kernel_conn_budget(void);
void kernel_free(struct kernel *k);
void kernel_set_batch_cb(struct kernel *k, kernel_batch_cb cb, void *arg);

/* The router's gateway namespace exists on this node. */
bool kernel_router_present(struct kernel *k, const char *router_id);
/* This node's name: config host, else the hostname. */
const char *kernel_host(const struct kernel *k);
/*
 * Remembers that the router is DVR on this node (its snat- namespace was
 * seen): from then on only snat- is its namespace, even while snat- is
 * away, so its qrouter- namespace never gets its forwardings. 0 or -ENOMEM.
 */
int kernel_mark_dvr(struct kernel *k, const char *router_id);
/* Its name into buf (256 bytes will do) when it exists: 0, -ENOENT, or -EINVAL. */
int kernel_namespace(struct kernel *k, const char *router_id, char *buf, size_t len);

/*
 * v[0..n) in order, in one batch in the router's namespace
 * (nft_apply_many): all or none. -ENOENT when the namespace is not there;
 * other -errno with *cause (allocated) when the kernel refused.
 */
struct nft_change;
int kernel_change_many(struct kernel *k, const char *router_id, const struct nft_change *v,
        size_t n, char **cause);

/*
 * Replaces the router's whole table with v[0..n). Same errors. With
 * remove_foreign, also removes whatever is in the table that PRaaS did
 * not write (a repair of drift; one more look at the table).
 */
int kernel_sync(struct kernel *k, const char *router_id, const struct forwarding *v, size_t n,
        char **cause);
int kernel_repair(struct kernel *k, const char *router_id, const struct forwarding *v, size_t n,
        char **cause);

/*
 * Cuts the sessions still bound to the external address, protocol and
 * ports of f[0..n), forwardings of one router (f[0].router_id): one
 * conntrack dump however many there are.
 */
int kernel_cut_sessions(struct kernel *k, const struct forwarding *f, size_t n, char **cause);

/* Reads the router's table back (for drift checks). nft_state_free() it. */
struct nft_state;
struct nft_opts;
int kernel_read(struct kernel *k, const char *router_id, struct nft_state *st, char **cause);
const struct nft_opts *kernel_nft_opts(const struct kernel *k);

/* Drops the cached connection of a namespace that went away. */
void kernel_forget(struct kernel *k, const char *router_id);

/*
 * Sets f->status_reason: none when ACTIVE; for DOWN, namespace_absent when
 * the router's namespace is not on this node now, kernel_refused when it
 * is (so the last rewrite of its table failed: the log has the kernel's
 * words). Worked out at each answer, never stored: it cannot go stale.
 */
void kernel_explain(struct kernel *k, struct forwarding *f);

/*
 * Sets f->host and f->host_namespace: this node (config host, else the
 * host name) and the router's gateway namespace here, when f is ACTIVE
 * (programmed there); "" otherwise. Each agent answers for its own node:
 * one replica of an HA router per node. A stat or two, at each answer.
 */
void kernel_hosts(struct kernel *k, struct forwarding *f);

/*
 * The addresses of the router namespace's interfaces (lib/ifaddr.h): in
 * standalone mode, the gateway is on "qg-" and the tenant subnets on "qr-"
 * ("sg-" in a DVR router's snat- namespace).
 * *out is allocated, the caller frees it. -ENOENT when the namespace is absent.
 */
struct iface_addr;
int kernel_interfaces(struct kernel *k, const char *router_id, struct iface_addr **out, size_t *n);

/*
 * An address watch (ifaddr_watch_open) inside the router's namespace: it
 * fires on any address or link change there. The descriptor, or -errno
 * (-ENOENT when the namespace is absent).
 */
int kernel_watch_addresses(struct kernel *k, const char *router_id);

/* The router namespace file's identity now (netns_identity). 0 or -errno. */
int kernel_router_identity(struct kernel *k, const char *router_id, uint64_t *dev, uint64_t *ino);

#endif
