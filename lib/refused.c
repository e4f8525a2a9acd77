/*
 * A direct-mapped table: the slot is the hash modulo the size and the whole
 * 64-bit hash is kept to tell tokens of one slot apart. No chains and no
 * eviction policy to attack: a flood of distinct bad tokens only overwrites
 * entries, each of which cost the flooder a Keystone call first.
 */
#include "refused.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "siphash.h"

struct refused_entry {
	uint64_t hash;
	time_t until; /* 0: empty */
};

struct refused {
	uint8_t key[SIPHASH_KEY_LEN];
	size_t slots;
	struct refused_entry entry[];
};

int refused_new(size_t slots, struct refused **out)
{
	struct refused *rf;
	ssize_t n;

	if (slots == 0 || slots > SIZE_MAX / sizeof(struct refused_entry) - 1)
		return -EINVAL;
	rf = calloc(1, sizeof(*rf) + slots * sizeof(struct refused_entry));
	if (rf == NULL)
		return -ENOMEM;
	rf->slots = slots;
	/* 16 bytes never block or come short once the pool is initialised. */
	n = getrandom(rf->key, sizeof(rf->key), 0);
	if (n != (ssize_t)sizeof(rf->key)) {
		int r = n < 0 ? -errno : -EIO;

		free(rf);
		return r;
	}
	*out = rf;
	return 0;
}

void refused_free(struct refused *rf)
{
	if (rf == NULL)
		return;
	explicit_bzero(rf->key, sizeof(rf->key));
	free(rf);
}

static uint64_t refused_hash(const struct refused *rf, const char *token)
{
	return siphash24(rf->key, token, strlen(token));
}

void refused_put(struct refused *rf, const char *token, time_t until)
{
	uint64_t h = refused_hash(rf, token);
	struct refused_entry *e = &rf->entry[h % rf->slots];

	e->hash = h;
	e->until = until;
}

bool refused_has(const struct refused *rf, const char *token, time_t now)
{
	uint64_t h = refused_hash(rf, token);
	const struct refused_entry *e = &rf->entry[h % rf->slots];

	return e->until != 0 && e->hash == h && now < e->until;
}

void refused_clear(struct refused *rf)
{
	memset(rf->entry, 0, rf->slots * sizeof(struct refused_entry));
}
