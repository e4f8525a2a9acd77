/*
 * The addresses of a namespace's interfaces, read over rtnetlink. In
 * standalone mode a router's gateway address is the one on its "qg-"
 * interface and forwardings may target only the subnets of its "qr-"
 * interfaces.
 */
#ifndef PRAAS_IFADDR_H
#define PRAAS_IFADDR_H

#include <net/if.h>
#include <stddef.h>

#include "addr.h"

struct mnl_socket;

struct iface_addr {
	char ifname[IF_NAMESIZE];
	struct cidr net; /* the address itself, with its prefix length */
};

/*
 * Dumps every global-scope address of every interface over nl, a
 * NETLINK_ROUTE socket (opened in the namespace of interest). On success
 * *out is an allocated array of *n entries the caller frees. 0 or -errno.
 */
int ifaddr_list(struct mnl_socket *nl, struct iface_addr **out, size_t *n);

/* The first address of the given family on an interface whose name starts with prefix. */
const struct iface_addr *ifaddr_find(
        const struct iface_addr *list, size_t n, const char *prefix, int family);

/*
 * An address watch: a NETLINK_ROUTE socket of the calling thread's
 * namespace (open it inside netns_run_in() for another one), non-blocking,
 * subscribed to every address and link change there. Returns the
 * descriptor (the caller closes it) or -errno.
 */
int ifaddr_watch_open(void);

/*
 * Whether the watch saw anything since it was opened: a change pending,
 * or an error such as ENOBUFS (changes were lost). Never waits: one
 * non-blocking read. Once it has said true, the watch is spent (close it).
 */
bool ifaddr_watch_fired(int fd);

/* True when a lies in the subnet of an interface whose name starts with prefix. */
bool ifaddr_subnet_contains(
        const struct iface_addr *list, size_t n, const char *prefix, const struct addr *a);

#endif
