#include "gateway-ns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netns.h"

static int join(char *buf, size_t len, const char *prefix, const char *router_id)
{
	int n = snprintf(buf, len, "%s%s", prefix, router_id);

	if (n < 0 || (size_t)n >= len || netns_name_valid(buf) < 0)
		return -EINVAL;
	return 0;
}

int gateway_ns_name(
        const char *netns_dir, const char *prefix, const char *router_id, char *buf, size_t len)
{
	/* One stat more per look: the snat- namespace wins wherever it exists. */
	if (join(buf, len, GATEWAY_NS_DVR_PREFIX, router_id) == 0 &&
	        netns_check(netns_dir, buf) == 1)
		return 0;
	return join(buf, len, prefix, router_id);
}

const char *gateway_ns_router(const char *prefix, const char *name)
{
	size_t plen = strlen(prefix), dlen = strlen(GATEWAY_NS_DVR_PREFIX);

	if (strncmp(name, prefix, plen) == 0 && name[plen] != '\0')
		return name + plen;
	if (strncmp(name, GATEWAY_NS_DVR_PREFIX, dlen) == 0 && name[dlen] != '\0')
		return name + dlen;
	return NULL;
}
