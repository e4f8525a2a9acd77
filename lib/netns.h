/*
 * Network namespaces by name, as `ip netns` keeps them: bind-mounted nsfs
 * files under netns_dir (normally /run/netns).
 *
 * The only work ever done inside a router namespace is opening a socket:
 * netns_open_netlink() enters the namespace, opens and binds a netlink
 * socket, and returns to the original namespace before it returns. A
 * socket keeps the namespace it was created in, so everything after that
 * runs from the agent's own namespace. If the way back fails the process
 * would go on running in a tenant's namespace; that is fatal().
 */
#ifndef PRAAS_NETNS_H
#define PRAAS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/*
 * A namespace name is one path component: not empty, not "." or "..",
 * no '/', at most NAME_MAX bytes, printable. Returns 0 or -EINVAL.
 */
int netns_name_valid(const char *name);

/*
 * Opens a netlink socket of protocol bus (NETLINK_NETFILTER, ...) inside
 * netns_dir/name and binds it (automatic port id). name NULL means the
 * current namespace. On success *out owns the socket (mnl_socket_close()).
 * Returns 0 or -errno, with *cause (may be NULL) set to an allocated
 * message the caller frees.
 */
int netns_open_netlink(
        const char *netns_dir, const char *name, int bus, struct mnl_socket **out, char **cause);

/*
 * Runs fn(arg) inside netns_dir/name (NULL: the current namespace) and
 * returns to the original namespace; for libraries that open their own
 * sockets. Returns fn's result, or -errno if the namespace cannot be
 * entered. fn must only open descriptors.
 */
int netns_run_in(
        const char *netns_dir, const char *name, int (*fn)(void *arg), void *arg, char **cause);

/*
 * Whether netns_dir/name is a usable network namespace now: it exists
 * and is an nsfs file for a network namespace (not the empty file `ip
 * netns add` creates before it mounts the namespace onto it). 1, 0, or
 * -errno for errors other than "not there".
 */
int netns_check(const char *netns_dir, const char *name);

/*
 * What netns_dir/name is now, as a device and inode number: a namespace
 * keeps its inode while it lives, so a different pair means the name was
 * deleted, re-created or not yet mounted. One stat(). 0 or -errno.
 */
int netns_identity(const char *netns_dir, const char *name, uint64_t *dev, uint64_t *ino);

/*
 * The names under netns_dir starting with prefix (NULL or "": all), sorted,
 * that are valid names; whether each is mounted yet is not checked. A
 * missing netns_dir is an empty list. *names is an allocated array of
 * allocated strings (netns_list_free). Returns 0 or -errno.
 */
int netns_list(const char *netns_dir, const char *prefix, char ***names, size_t *n);
void netns_list_free(char **names, size_t n);

/*
 * Claims netns_dir for this process: an exclusive flock(2) on the
 * directory itself (made, mode 0755, if it is missing), held as long as
 * the returned descriptor *fd is open; it is close-on-exec and goes with
 * the process, even after kill -9. Two agents writing the same namespaces'
 * tables would undo each other's work, so a second one is refused: -EBUSY
 * with *cause naming the holder ("pid N: its command line", from
 * /proc/locks). The lock is on the directory's inode: a bind mount of
 * the directory onto itself (what `ip netns` does) is the same directory.
 * Returns 0 or -errno with *cause (allocated, may be NULL).
 */
int netns_dir_lock(const char *netns_dir, int *fd, char **cause);

#endif
