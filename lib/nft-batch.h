/*
 * nf_tables netlink transport for lib/nft.c: a batch of messages sent as
 * one transaction, and dumps.
 *
 * A batch is every message between a batch-begin and a batch-end, sent in
 * one sendmsg(): the kernel applies all of it or none of it. Every message
 * carries NLM_F_ACK and a short description of what it does, so a refusal
 * comes back as the kernel's errno plus the words for the message that
 * failed ("add 512 elements to map dnat4: File exists").
 */
#ifndef PRAAS_NFT_BATCH_H
#define PRAAS_NFT_BATCH_H

#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>

/* Room reserved for one message; libnftnl writes without bounds checks. */
#define NFT_BATCH_MSG_MAX (96 * 1024)

struct nft_batch;

/* An empty batch (begin written); NULL when out of memory. */
struct nft_batch *nft_batch_new(uint32_t *seq);
void nft_batch_free(struct nft_batch *b);

/*
 * Starts the next message: reserves room, writes its header with
 * NLM_F_ACK added to flags, remembers what (printf-style) for errors.
 * Returns the header for libnftnl to fill, or NULL when out of memory.
 */
struct nlmsghdr *nft_batch_msg(struct nft_batch *b, uint16_t type, uint16_t family, uint16_t flags,
        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Ends the batch, sends it on nl and reads every answer. Returns 0 when
 * the kernel applied it, else the first error (-errno) with *cause set to
 * what the failing message did and why.
 */
int nft_batch_send(struct nft_batch *b, struct mnl_socket *nl, char **cause);

/*
 * Sends a dump request (type, family, NLM_F_DUMP) whose attributes fill()
 * adds, and calls cb for every answer until the dump ends. Returns 0 or
 * -errno (-ENOENT: the table or set is not there).
 */
int nft_dump(struct mnl_socket *nl, uint32_t *seq, uint16_t type, uint16_t family,
        void (*fill)(struct nlmsghdr *nlh, void *arg), mnl_cb_t cb, void *arg);

#endif
