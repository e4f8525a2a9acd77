#include "conntrack.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array-grow.h"
#include "cause.h"
#include "log.h"
#include "netns.h"

#define CT_RECV_BUF (256 * 1024)

struct conntrack {
	struct mnl_socket *nl;
	uint32_t seq;
};

/* One forwarded range, as a dumped entry is matched against it. */
struct ct_key {
	uint8_t family, protocol;
	uint8_t addr[16];
	uint16_t lo, hi;
};

struct ct_match {
	const struct ct_key *keys; /* sorted by ct_key_cmp */
	size_t nkeys;
	struct nf_conntrack **v;
	size_t n, cap;
	int err;
};

int conntrack_open(const char *netns_dir, const char *name, struct conntrack **out, char **cause)
{
	struct conntrack *ct;
	int r;

	if (cause)
		*cause = NULL;
	*out = NULL;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return cause_errno(cause, -ENOMEM, "allocate conntrack handle");
	if ((r = netns_open_netlink(netns_dir, name, NETLINK_NETFILTER, &ct->nl, cause)) < 0) {
		free(ct);
		return r;
	}
	ct->seq = (uint32_t)time(NULL);
	*out = ct;
	return 0;
}

void conntrack_close(struct conntrack *ct)
{
	if (ct == NULL)
		return;
	mnl_socket_close(ct->nl);
	free(ct);
}

static int ct_key_cmp(const void *pa, const void *pb)
{
	const struct ct_key *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if ((r = memcmp(a->addr, b->addr, 16)) != 0)
		return r;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/*
 * Whether the entry's original destination (address, protocol, port) is
 * in one of the keys: the candidate is the key with the greatest start at
 * or below the port (ranges of one address and protocol never overlap), so
 * an entry costs O(log n) however many forwardings are flushed at once.
 */
static bool ct_matches(const struct nf_conntrack *c, const struct ct_match *m)
{
	struct ct_key want = {0};
	size_t lo = 0, hi = m->nkeys;

	if (!nfct_attr_is_set(c, ATTR_ORIG_L3PROTO) || !nfct_attr_is_set(c, ATTR_ORIG_L4PROTO) ||
	        !nfct_attr_is_set(c, ATTR_ORIG_PORT_DST))
		return false;
	want.family = nfct_get_attr_u8(c, ATTR_ORIG_L3PROTO);
	want.protocol = nfct_get_attr_u8(c, ATTR_ORIG_L4PROTO);
	if (want.family == AF_INET)
		memcpy(want.addr, nfct_get_attr(c, ATTR_ORIG_IPV4_DST), 4);
	else if (want.family == AF_INET6)
		memcpy(want.addr, nfct_get_attr(c, ATTR_ORIG_IPV6_DST), 16);
	else
		return false;
	want.lo = ntohs(nfct_get_attr_u16(c, ATTR_ORIG_PORT_DST));
	while (lo < hi) { /* the first key greater than want */
		size_t mid = (lo + hi) / 2;
		if (ct_key_cmp(&m->keys[mid], &want) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct ct_key *k = &m->keys[lo - 1];
	return k->family == want.family && k->protocol == want.protocol &&
	        memcmp(k->addr, want.addr, 16) == 0 && want.lo <= k->hi;
}

static int ct_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct ct_match *m = arg;
	struct nf_conntrack *c = nfct_new(), **v;

	if (c == NULL) {
		m->err = -ENOMEM;
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nfct_nlmsg_parse(nlh, c) < 0 || !ct_matches(c, m)) {
		nfct_destroy(c);
		return MNL_CB_OK;
	}
	if ((v = array_grow(m->v, &m->cap, m->n, sizeof(*v), 16)) == NULL) {
		nfct_destroy(c);
		m->err = -ENOMEM;
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	m->v = v;
	m->v[m->n++] = c;
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(
        char *buf, uint16_t type, uint16_t flags, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;

	/* Fresh zeroes: the request must not carry the last answer's bytes. */
	memset(buf, 0, MNL_SOCKET_BUFFER_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

/* Sends nlh and reads answers until its ack/done; 0 or -errno. */
static int ct_talk(struct conntrack *ct, char *buf, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(ct->nl);
	ssize_t n;
	int r;

	if (mnl_socket_sendto(ct->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(ct->nl, buf, CT_RECV_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		errno = EPROTO;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, arg);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static int ct_stats_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) == CTA_STATS_GLOBAL_ENTRIES &&
		        mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			*(int64_t *)arg = ntohl(mnl_attr_get_u32(attr));
	}
	return MNL_CB_OK;
}

/*
 * How many entries this namespace's conntrack table holds (the kernel
 * keeps the count per namespace), or -1 when it does not say. A dump
 * walks the host's whole conntrack hash table, every namespace's buckets
 * (10 ms at 262,144 buckets), so a namespace with nothing tracked is not
 * dumped at all.
 */
static int64_t ct_count(struct conntrack *ct, char *buf)
{
	int64_t count = -1;
	struct nlmsghdr *nlh =
	        ct_msg(buf, IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK, AF_UNSPEC, ct->seq++);

	if (ct_talk(ct, buf, nlh, ct_stats_cb, &count) < 0)
		return -1;
	return count;
}

static void ct_free_matches(struct ct_match *m)
{
	for (size_t i = 0; i < m->n; i++)
		nfct_destroy(m->v[i]);
	free(m->v);
}

/* Dumps one family's entries and deletes those matching m. Returns how many went. */
static int flush_family(
        struct conntrack *ct, char *buf, uint8_t family, struct ct_match *m, char **cause)
{
	struct nlmsghdr *nlh;
	int r, deleted = 0;

	/* The entry's full tuple (client address and port) is only known by a dump. */
	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, ct->seq++);
	r = ct_talk(ct, buf, nlh, ct_dump_cb, m);
	if (r < 0 || m->err < 0)
		return cause_errno(cause, r < 0 ? r : m->err, "list conntrack entries (IPv%c)",
		        family == AF_INET ? '4' : '6');
	for (size_t i = 0; i < m->n; i++) {
		nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, ct->seq++);
		if (nfct_nlmsg_build(nlh, m->v[i]) < 0)
			return cause_errno(cause, -errno, "build conntrack delete");
		r = ct_talk(ct, buf, nlh, NULL, NULL);
		if (r == -ENOENT)
			continue; /* it timed out or closed meanwhile */
		if (r < 0)
			return cause_errno(cause, r, "delete a conntrack entry to port %u",
			        ntohs(nfct_get_attr_u16(m->v[i], ATTR_ORIG_PORT_DST)));
		deleted++;
	}
	return deleted;
}

int conntrack_flush_forwardings(
        struct conntrack *ct, const struct forwarding *f, size_t n, char **cause)
{
	struct ct_key *keys;
	char *buf = NULL;
	int r = 0, total = 0;
	bool has[2] = {false, false};

	if (cause)
		*cause = NULL;
	if (n == 0)
		return 0;
	if ((keys = calloc(n, sizeof(*keys))) == NULL)
		return cause_errno(cause, -ENOMEM, "allocate conntrack keys");
	for (size_t i = 0; i < n; i++) {
		const struct addr *a = &f[i].external_addr;

		if (a->family != AF_INET && a->family != AF_INET6) {
			r = cause_errno(
			        cause, -EINVAL, "forwarding %s has no external address", f[i].id);
			goto out;
		}
		keys[i].family = (uint8_t)a->family;
		keys[i].protocol = f[i].protocol;
		memcpy(keys[i].addr, &a->u, addr_len(a));
		keys[i].lo = f[i].external.lo;
		keys[i].hi = f[i].external.hi;
		has[a->family == AF_INET6] = true;
	}
	qsort(keys, n, sizeof(*keys), ct_key_cmp);
	if ((buf = calloc(1, CT_RECV_BUF)) == NULL) {
		r = cause_errno(cause, -ENOMEM, "allocate conntrack buffer");
		goto out;
	}
	/* A dump walks the host's whole conntrack hash: skip it when nothing is tracked here. */
	if (ct_count(ct, buf) == 0)
		goto out;
	for (int v6 = 0; v6 < 2; v6++) {
		struct ct_match m = {.keys = keys, .nkeys = n};

		if (!has[v6])
			continue;
		r = flush_family(ct, buf, v6 ? AF_INET6 : AF_INET, &m, cause);
		ct_free_matches(&m);
		if (r < 0)
			goto out;
		total += r;
	}
	log_debug("conntrack: deleted %d entries of %zu forwarding%s", total, n, n == 1 ? "" : "s");
	r = total;
out:
	free(keys);
	free(buf);
	return r;
}
