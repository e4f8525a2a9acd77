/*
 * Validated callers' tokens: a hash table of TOKEN_CACHE_BUCKETS chains.
 * Expired entries go when met or when room is needed; a full cache drops
 * the entry closest to expiry, which would have gone first anyway.
 */
#include "token-cache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct token_cache_entry {
	struct token_cache_entry *next;
	char *token;
	struct keystone_token_info info;
	time_t until;
};

static unsigned int cache_hash(const char *s)
{
	unsigned int h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % TOKEN_CACHE_BUCKETS;
}

static void cache_entry_free(struct token_cache_entry *e)
{
	explicit_bzero(e->token, strlen(e->token));
	free(e->token);
	keystone_token_info_clear(&e->info);
	free(e);
}

/* Removes expired entries, and the soonest-to-expire one if still full. */
static unsigned int cache_make_room(struct token_cache *tc, time_t now)
{
	struct token_cache_entry **victim = NULL;

	for (size_t b = 0; b < TOKEN_CACHE_BUCKETS; b++) {
		for (struct token_cache_entry **pp = &tc->bucket[b]; *pp != NULL;) {
			struct token_cache_entry *e = *pp;

			if (e->until <= now) {
				*pp = e->next;
				cache_entry_free(e);
				tc->len--;
				continue;
			}
			if (victim == NULL || e->until < (*victim)->until)
				victim = pp;
			pp = &e->next;
		}
	}
	if (tc->len >= tc->max && victim != NULL) {
		struct token_cache_entry *e = *victim;

		*victim = e->next;
		cache_entry_free(e);
		tc->len--;
		return 1;
	}
	return 0;
}

unsigned int token_cache_put(
        struct token_cache *tc, const char *token, const struct keystone_token_info *info)
{
	time_t now = time(NULL), until = info->expires_at;
	struct token_cache_entry *e;
	unsigned int b = cache_hash(token), evicted = 0;

	if (tc->max == 0 || tc->max_age <= 0)
		return 0;
	if (until > now + tc->max_age)
		until = now + tc->max_age;
	if (until <= now)
		return 0;
	if (tc->len >= tc->max)
		evicted = cache_make_room(tc, now);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return evicted; /* a cache is an optimisation: skip it */
	if ((e->token = strdup(token)) == NULL || keystone_token_info_copy(info, &e->info) < 0) {
		free(e->token);
		free(e);
		return evicted;
	}
	e->until = until;
	e->next = tc->bucket[b];
	tc->bucket[b] = e;
	tc->len++;
	return evicted;
}

const struct keystone_token_info *token_cache_get(struct token_cache *tc, const char *token)
{
	time_t now = time(NULL);
	unsigned int b = cache_hash(token);

	for (struct token_cache_entry **pp = &tc->bucket[b]; *pp != NULL; pp = &(*pp)->next) {
		struct token_cache_entry *e = *pp;

		if (strcmp(e->token, token) != 0)
			continue;
		if (e->until > now)
			return &e->info;
		*pp = e->next;
		cache_entry_free(e);
		tc->len--;
		return NULL;
	}
	return NULL;
}

void token_cache_set_limits(struct token_cache *tc, int max_age_seconds, size_t max_tokens)
{
	tc->max_age = max_age_seconds;
	tc->max = max_tokens;
}

void token_cache_clear(struct token_cache *tc)
{
	for (size_t b = 0; b < TOKEN_CACHE_BUCKETS; b++) {
		struct token_cache_entry *e, *next;

		for (e = tc->bucket[b]; e != NULL; e = next) {
			next = e->next;
			cache_entry_free(e);
		}
		tc->bucket[b] = NULL;
	}
	tc->len = 0;
}
