#include "router-addrs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifaddr.h"
#include "keepalived-conf.h"
#include "kernel.h"

static bool ours(const struct iface_addr *v)
{
	return strncmp(v->ifname, "qg-", 3) == 0 || strncmp(v->ifname, "qr-", 3) == 0;
}

static bool listed(const struct iface_addr *l, size_t n, const struct iface_addr *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].ifname, v->ifname) == 0 && addr_equal(&l[i].net.addr, &v->net.addr))
			return true;
	return false;
}

/* Appends the VIPs of qg- and qr- devices not on them yet. 0 or -ENOMEM. */
static int merge(struct iface_addr **l, size_t *n, const struct iface_addr *vips, size_t nv)
{
	struct iface_addr *grown = reallocarray(*l, *n + nv + 1, sizeof(**l));

	if (grown == NULL)
		return -ENOMEM;
	*l = grown;
	for (size_t i = 0; i < nv; i++)
		if (ours(&vips[i]) && !listed(*l, *n, &vips[i]))
			(*l)[(*n)++] = vips[i];
	return 0;
}

int router_addrs_read(struct kernel *k, const char *ha_confs_path, const char *router_id,
        struct iface_addr **out, size_t *n, char **warning)
{
	struct iface_addr *vips = NULL;
	char path[4096], *cause = NULL;
	size_t nv = 0;
	int r;

	*warning = NULL;
	if ((r = kernel_interfaces(k, router_id, out, n)) < 0)
		return r;
	if (snprintf(path, sizeof(path), "%s/%s/keepalived.conf", ha_confs_path, router_id) >=
	        (int)sizeof(path))
		return 0;
	r = keepalived_conf_read(path, &vips, &nv, &cause);
	if (r == -ENOENT) /* not an HA router */
		return 0;
	if (r < 0) {
		if (asprintf(warning, "ignoring %s: %s", path, cause ? cause : strerror(-r)) < 0)
			*warning = NULL;
		free(cause);
		return 0;
	}
	r = merge(out, n, vips, nv);
	free(vips);
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}
