/*
 * The addresses an HA router's keepalived will put on its interfaces, read
 * from the keepalived.conf Neutron's L3 agent writes for it
 * (<ha_confs_path>/<router_id>/keepalived.conf).
 *
 * On a standby replica the gateway address (a VIP) is not on qg- yet, nor
 * the tenant subnets' addresses on qr-: Neutron lists them in the
 * virtual_ipaddress and virtual_ipaddress_excluded blocks of the router's
 * vrrp_instance, one per line, "ADDRESS/PREFIX dev IFNAME [options]".
 * Knowing them, the agent programs a standby before it is needed.
 *
 * Promises: the text is untrusted (a file another program writes): any
 * bytes give either the list or -EINVAL with a cause naming the line and
 * what is wrong with it, never a crash, and at most KEEPALIVED_CONF_MAX
 * bytes are read. Entries without "dev" (the instance's own interface) are
 * left out: they are never a qg- or qr- address.
 */
#ifndef PRAAS_KEEPALIVED_CONF_H
#define PRAAS_KEEPALIVED_CONF_H

#include <stddef.h>

#include "ifaddr.h"

#define KEEPALIVED_CONF_MAX      (1024 * 1024)
#define KEEPALIVED_CONF_MAX_VIPS 4096

/*
 * Parses text[0..len) (need not be NUL-terminated). On success *out is an
 * allocated array of *n entries (interface and address with its prefix
 * length; *out may be NULL when *n is 0) the caller frees. 0 or -errno
 * with *cause (allocated, may be NULL).
 */
int keepalived_conf_parse(
        const char *text, size_t len, struct iface_addr **out, size_t *n, char **cause);

/*
 * Reads and parses the file: -ENOENT (no cause) when it does not exist
 * (not an HA router, or not on this node), -EFBIG over KEEPALIVED_CONF_MAX.
 */
int keepalived_conf_read(const char *path, struct iface_addr **out, size_t *n, char **cause);

#endif
