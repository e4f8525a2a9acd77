#include "ifaddr.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "array-grow.h"

/* Interface names by index, filled from an RTM_GETLINK dump. */
struct links {
	struct {
		int index;
		char name[IF_NAMESIZE];
	} * v;
	size_t n, cap;
};

struct addrs {
	struct iface_addr *v;
	size_t n, cap;
	const struct links *links;
	int error;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct links *l = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nlattr *attr;
	void *v;

	mnl_attr_for_each(attr, nlh, sizeof(*ifi))
	{
		if (mnl_attr_get_type(attr) != IFLA_IFNAME ||
		        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		if ((v = array_grow(l->v, &l->cap, l->n, sizeof(*l->v), 16)) == NULL)
			return MNL_CB_ERROR;
		l->v = v;
		l->v[l->n].index = ifi->ifi_index;
		strncpy(l->v[l->n].name, mnl_attr_get_str(attr), IF_NAMESIZE - 1);
		l->v[l->n].name[IF_NAMESIZE - 1] = '\0';
		l->n++;
	}
	return MNL_CB_OK;
}

static const char *link_name(const struct links *l, int index)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].index == index)
			return l->v[i].name;
	return NULL;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addrs *a = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const void *raw = NULL;
	struct nlattr *attr;
	const char *name;
	struct iface_addr *e, *v;

	if (ifa->ifa_scope != RT_SCOPE_UNIVERSE ||
	        (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa))
	{
		/* IFA_LOCAL is the address on point-to-point links, IFA_ADDRESS the peer's. */
		if (mnl_attr_get_type(attr) == IFA_LOCAL ||
		        (mnl_attr_get_type(attr) == IFA_ADDRESS && raw == NULL))
			raw = mnl_attr_get_payload(attr);
	}
	name = link_name(a->links, (int)ifa->ifa_index);
	if (raw == NULL || name == NULL)
		return MNL_CB_OK;
	if ((v = array_grow(a->v, &a->cap, a->n, sizeof(*v), 16)) == NULL) {
		a->error = -ENOMEM;
		return MNL_CB_ERROR;
	}
	a->v = v;
	e = &a->v[a->n++];
	memset(e, 0, sizeof(*e));
	strcpy(e->ifname, name);
	e->net.addr.family = ifa->ifa_family;
	memcpy(&e->net.addr.u, raw, ifa->ifa_family == AF_INET ? 4 : 16);
	e->net.prefixlen = ifa->ifa_prefixlen;
	return MNL_CB_OK;
}

/* Sends one dump request and runs cb over every answer until NLMSG_DONE. */
static int dump(struct mnl_socket *nl, int type, size_t hdrlen, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int seq = (unsigned int)time(NULL), portid = mnl_socket_get_portid(nl);
	struct rtgenmsg *g;
	ssize_t len;
	int r;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)len, seq, portid, cb, data);
	} while (r == MNL_CB_OK);
	return r < 0 ? (errno ? -errno : -EIO) : 0;
}

int ifaddr_list(struct mnl_socket *nl, struct iface_addr **out, size_t *n)
{
	struct links links = {0};
	struct addrs addrs = {.links = &links};
	int r;

	r = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg), link_cb, &links);
	if (r == 0)
		r = dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_cb, &addrs);
	if (r == 0 && addrs.error)
		r = addrs.error;
	free(links.v);
	if (r < 0) {
		free(addrs.v);
		return r;
	}
	*out = addrs.v;
	*n = addrs.n;
	return 0;
}

const struct iface_addr *ifaddr_find(
        const struct iface_addr *list, size_t n, const char *prefix, int family)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].net.addr.family == family &&
		        strncmp(list[i].ifname, prefix, strlen(prefix)) == 0)
			return &list[i];
	return NULL;
}

bool ifaddr_subnet_contains(
        const struct iface_addr *list, size_t n, const char *prefix, const struct addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(list[i].ifname, prefix, strlen(prefix)) == 0 &&
		        cidr_contains(&list[i].net, a))
			return true;
	return false;
}

int ifaddr_watch_open(void)
{
	struct sockaddr_nl sa = {
	        .nl_family = AF_NETLINK,
	        .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

bool ifaddr_watch_fired(int fd)
{
	char buf[64];
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}
