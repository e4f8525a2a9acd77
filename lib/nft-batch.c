#include "nft-batch.h"

#include <errno.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "array-grow.h"
#include "log.h"

#define NFT_BATCH_WHAT_MAX 160
/* How long to wait for answers the kernel should already have queued. */
#define NFT_BATCH_ACK_TIMEOUT_MS 5000
#define NFT_RECV_BUF             (256 * 1024)

struct nft_batch_op {
	uint32_t seq;
	char what[NFT_BATCH_WHAT_MAX];
};

struct nft_batch {
	char *buf;
	size_t len, cap;
	size_t last; /* offset of the message being filled, or SIZE_MAX */
	uint32_t *seq;
	uint32_t begin_seq, end_seq;
	struct nft_batch_op *ops;
	size_t nops, capops;
};

static int nft_batch_reserve(struct nft_batch *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64 * 1024;
	char *n;

	if (b->len + need <= b->cap)
		return 0;
	while (cap < b->len + need)
		cap *= 2;
	/*
	 * Zeroed, so padding libnftnl skips never sends stale bytes. The first
	 * buffer comes from calloc(): fresh pages are zero already and only those
	 * a batch touches are ever faulted in, where a memset() would touch all.
	 */
	if (b->buf == NULL) {
		if ((n = calloc(1, cap)) == NULL)
			return -ENOMEM;
	} else {
		if ((n = realloc(b->buf, cap)) == NULL)
			return -ENOMEM;
		memset(n + b->cap, 0, cap - b->cap);
	}
	b->buf = n;
	b->cap = cap;
	return 0;
}

/* Accounts for the message libnftnl finished filling. */
static void nft_batch_close_last(struct nft_batch *b)
{
	struct nlmsghdr *nlh;

	if (b->last == SIZE_MAX)
		return;
	nlh = (struct nlmsghdr *)(b->buf + b->last);
	b->len = b->last + NLMSG_ALIGN(nlh->nlmsg_len);
	b->last = SIZE_MAX;
}

struct nft_batch *nft_batch_new(uint32_t *seq)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->last = SIZE_MAX;
	b->seq = seq;
	if (nft_batch_reserve(b, NFT_BATCH_MSG_MAX) < 0) {
		free(b);
		return NULL;
	}
	b->begin_seq = (*seq)++;
	nftnl_batch_begin(b->buf, b->begin_seq);
	b->len = NLMSG_ALIGN(((struct nlmsghdr *)b->buf)->nlmsg_len);
	return b;
}

void nft_batch_free(struct nft_batch *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b->ops);
	free(b);
}

struct nlmsghdr *nft_batch_msg(
        struct nft_batch *b, uint16_t type, uint16_t family, uint16_t flags, const char *fmt, ...)
{
	struct nft_batch_op *op;
	struct nlmsghdr *nlh;
	va_list ap;

	nft_batch_close_last(b);
	if (nft_batch_reserve(b, NFT_BATCH_MSG_MAX) < 0)
		return NULL;
	if ((op = array_grow(b->ops, &b->capops, b->nops, sizeof(*op), 32)) == NULL)
		return NULL;
	b->ops = op;
	op = &b->ops[b->nops++];
	op->seq = (*b->seq)++;
	va_start(ap, fmt);
	vsnprintf(op->what, sizeof(op->what), fmt, ap);
	va_end(ap);
	b->last = b->len;
	nlh = nftnl_nlmsg_build_hdr(b->buf + b->len, type, family, flags | NLM_F_ACK, op->seq);
	return nlh;
}

/* Makes sure the socket buffers can take the whole batch and its answers. */
static void nft_batch_size_buffers(int fd, size_t len, size_t nops)
{
	int want = (int)(len + 4096), cur = 0, rcv;
	socklen_t sl = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) == 0 && cur / 2 < want &&
	        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	/* Each answer is its own skb, about 1 KiB of truesize. */
	rcv = (int)(nops * 1024 + NFT_RECV_BUF);
	sl = sizeof(cur);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &sl) == 0 && cur / 2 < rcv &&
	        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

struct nft_ack_state {
	struct nft_batch *b;
	size_t acked;
	bool batch_failed;
	int err;
	uint32_t err_seq;
	char kmsg[128];
};

static const char *nft_batch_what(const struct nft_batch *b, uint32_t seq)
{
	if (seq == b->begin_seq || seq == b->end_seq)
		return "commit the transaction";
	if (b->nops > 0 && seq >= b->ops[0].seq && seq - b->ops[0].seq < b->nops)
		return b->ops[seq - b->ops[0].seq].what;
	return "unknown message";
}

/* Pulls the kernel's own words (extended ack) out of an error, if any. */
static void nft_ack_extmsg(
        const struct nlmsghdr *nlh, const struct nlmsgerr *e, char *out, size_t len)
{
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each(attr, nlh, off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(out, len, "%s", mnl_attr_get_str(attr));
			return;
		}
	}
}

static void nft_ack_one(struct nft_ack_state *st, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_type != NLMSG_ERROR ||
	        nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		return;
	e = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_seq == st->b->begin_seq || nlh->nlmsg_seq == st->b->end_seq) {
		if (e->error != 0)
			st->batch_failed = true;
		else
			return;
	} else {
		st->acked++;
	}
	if (e->error < 0 && st->err == 0) {
		st->err = e->error;
		st->err_seq = nlh->nlmsg_seq;
		nft_ack_extmsg(nlh, e, st->kmsg, sizeof(st->kmsg));
	}
}

/* Reads answers until every message is answered or the batch failed. */
static int nft_batch_recv(struct nft_ack_state *st, int fd)
{
	bool waiting = true;
	char *buf = malloc(NFT_RECV_BUF);
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;

	for (;;) {
		int flags = waiting ? 0 : MSG_DONTWAIT;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (waiting) {
			int pr = poll(&pfd, 1, NFT_BATCH_ACK_TIMEOUT_MS);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0) {
				r = pr < 0 ? -errno : -ETIMEDOUT;
				break;
			}
		}
		n = recv(fd, buf, NFT_RECV_BUF, flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			r = -errno;
			break;
		}
		for (const struct nlmsghdr *nlh = (void *)buf; mnl_nlmsg_ok(nlh, (int)n);
		        nlh = mnl_nlmsg_next(nlh, (int *)&n))
			nft_ack_one(st, nlh);
		/* Once all is answered, drain what else is queued, then stop. */
		if (st->acked >= st->b->nops || st->batch_failed)
			waiting = false;
	}
	free(buf);
	return r;
}

int nft_batch_send(struct nft_batch *b, struct mnl_socket *nl, char **cause)
{
	struct nft_ack_state st = {.b = b};
	int fd = mnl_socket_get_fd(nl), r;
	ssize_t sent;

	if (cause)
		*cause = NULL;
	nft_batch_close_last(b);
	if (nft_batch_reserve(b, NLMSG_HDRLEN + 64) < 0)
		return -ENOMEM;
	b->end_seq = (*b->seq)++;
	nftnl_batch_end(b->buf + b->len, b->end_seq);
	b->len += NLMSG_ALIGN(((struct nlmsghdr *)(b->buf + b->len))->nlmsg_len);
	nft_batch_size_buffers(fd, b->len, b->nops);
	sent = mnl_socket_sendto(nl, b->buf, b->len);
	if (sent < 0) {
		r = -errno;
		if (cause &&
		        asprintf(cause, "send nf_tables batch of %zu bytes: %s", b->len,
		                strerror(-r)) < 0)
			*cause = NULL;
		return r;
	}
	r = nft_batch_recv(&st, fd);
	if (st.err < 0) {
		if (cause &&
		        asprintf(cause, "%s: %s%s%s%s", nft_batch_what(b, st.err_seq),
		                strerror(-st.err), st.kmsg[0] ? " (" : "", st.kmsg,
		                st.kmsg[0] ? ")" : "") < 0)
			*cause = NULL;
		log_debug("nft: batch failed at seq %u: %s", st.err_seq, strerror(-st.err));
		return st.err;
	}
	if (r < 0 || st.acked < b->nops) {
		r = r < 0 ? r : -EPROTO;
		if (cause &&
		        asprintf(cause, "read nf_tables answers (%zu of %zu): %s", st.acked,
		                b->nops, strerror(-r)) < 0)
			*cause = NULL;
		return r;
	}
	return 0;
}

int nft_dump(struct mnl_socket *nl, uint32_t *seq, uint16_t type, uint16_t family,
        void (*fill)(struct nlmsghdr *nlh, void *arg), mnl_cb_t cb, void *arg)
{
	uint32_t portid = mnl_socket_get_portid(nl), s = (*seq)++;
	char *buf = calloc(1, NFT_RECV_BUF);
	struct nlmsghdr *nlh;
	ssize_t n;
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	/* A dump answers with data then NLMSG_DONE; it is never acked. */
	nlh = nftnl_nlmsg_build_hdr(buf, type, family, NLM_F_DUMP, s);
	if (fill)
		fill(nlh, arg);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, NFT_RECV_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		errno = EPROTO;
		r = mnl_cb_run(buf, (size_t)n, s, portid, cb, arg);
		if (r < 0) {
			r = errno ? -errno : -EPROTO;
			goto out;
		}
		if (r == MNL_CB_STOP) {
			r = 0;
			break;
		}
	}
out:
	/* A dump stopped half way leaves answers queued: drop them. */
	while (r < 0 && recv(mnl_socket_get_fd(nl), buf, NFT_RECV_BUF, MSG_DONTWAIT) > 0)
		;
	free(buf);
	return r;
}
