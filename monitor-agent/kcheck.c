#include "kcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "nft-read.h"

/*
 * An element's hash: its bytes in a fixed layout (only the address's own
 * bytes, so padding never counts); a masquerade element is its key alone,
 * tagged apart from map elements.
 */
static uint64_t elem_hash(const uint8_t key[SIPHASH_KEY_LEN], const struct nft_elem *e, bool masq)
{
	uint8_t b[2 * (1 + 16 + 2) + 2];
	size_t n = 0;

	memset(b, 0, sizeof(b));
	b[n++] = masq;
	b[n++] = e->protocol;
	b[n++] = (uint8_t)e->ext.family;
	memcpy(b + n, e->ext.u.bytes, addr_len(&e->ext));
	n += 16;
	b[n++] = (uint8_t)(e->ext_port >> 8);
	b[n++] = (uint8_t)e->ext_port;
	if (!masq) {
		b[n++] = (uint8_t)e->in.family;
		memcpy(b + n, e->in.u.bytes, addr_len(&e->in));
		n += 16;
		b[n++] = (uint8_t)(e->in_port >> 8);
		b[n++] = (uint8_t)e->in_port;
	}
	return siphash24(key, b, n);
}

static void sum_add(struct kcheck_sum *s, const uint8_t key[SIPHASH_KEY_LEN],
        const struct nft_elem *e, bool masq)
{
	if (masq) {
		s->masq += elem_hash(key, e, true);
		s->nmasq++;
	} else {
		s->map += elem_hash(key, e, false);
		s->nmap++;
	}
}

int kcheck_want_add(
        struct kcheck_sum *w, const uint8_t key[SIPHASH_KEY_LEN], const struct forwarding *f)
{
	char *cause = NULL;
	struct nft_elem e;

	if (w->unsound != NULL)
		return 0;
	/* Refused as nft_sync() would: the check of this router then fails. */
	if (nft_fwd_check(f, &cause) < 0) {
		w->unsound = cause;
		return cause != NULL ? 0 : -ENOMEM;
	}
	for (unsigned int p = f->external.lo; p <= f->external.hi; p++) {
		nft_elem_at(f, (uint16_t)p, &e);
		sum_add(w, key, &e, false);
		if (f->masquerade)
			sum_add(w, key, &e, true);
	}
	return 0;
}

void kcheck_sum_free(struct kcheck_sum *w)
{
	free(w->unsound);
	memset(w, 0, sizeof(*w));
}

struct kcheck {
	const uint8_t *key;
	struct kcheck_sum seen;
};

static int on_elem(void *arg, const struct nft_elem *e, bool masq)
{
	struct kcheck *k = arg;

	sum_add(&k->seen, k->key, e, masq);
	return 0;
}

static void on_restart(void *arg)
{
	struct kcheck *k = arg;

	memset(&k->seen, 0, sizeof(k->seen));
}

/* 1 with *cause when the sums differ, 0 when not, -ENOMEM. */
static int compare_sums(const struct kcheck_sum *seen, const struct kcheck_sum *want, char **cause)
{
	int r = 0;

	if (seen->nmap != want->nmap)
		r = asprintf(cause, "%llu elements where %llu are wanted",
		        (unsigned long long)seen->nmap, (unsigned long long)want->nmap);
	else if (seen->nmasq != want->nmasq)
		r = asprintf(cause, "%llu masquerade elements where %llu are wanted",
		        (unsigned long long)seen->nmasq, (unsigned long long)want->nmasq);
	else if (seen->map != want->map)
		r = asprintf(cause, "the %llu elements are not the ones wanted",
		        (unsigned long long)seen->nmap);
	else if (seen->masq != want->masq)
		r = asprintf(cause, "the %llu masquerade elements are not the ones wanted",
		        (unsigned long long)seen->nmasq);
	else
		return 0;
	return r < 0 ? cause_errno(cause, -ENOMEM, "describe a drift") : 1;
}

int kcheck_table(struct nft_conn *conn, const struct nft_opts *o,
        const uint8_t key[SIPHASH_KEY_LEN], const struct kcheck_sum *want, char **cause)
{
	struct kcheck k = {.key = key};
	struct nft_elem_sink sink = {.elem = on_elem, .restart = on_restart, .arg = &k};
	struct nft_state st;
	int r;

	*cause = NULL;
	if (want->unsound != NULL)
		return cause_errno(cause, -EINVAL, "%s", want->unsound);
	if ((r = nft_read_sink(conn, o, &st, &sink, cause)) < 0)
		return r;
	r = nft_compare_rules(&st, o, cause);
	nft_state_free(&st);
	if (r != 0)
		return r;
	return compare_sums(&k.seen, want, cause);
}
