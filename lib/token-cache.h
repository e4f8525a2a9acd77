/*
 * The cache of callers' tokens Keystone validated, with what each said.
 *
 * Promises:
 * - An entry is kept until its token's expiry and at most max_age seconds;
 *   a lookup never returns an expired one.
 * - At most max_tokens entries; when full, the entry closest to expiry is
 *   dropped for the new one.
 * - Tokens are wiped from memory (explicit_bzero) when their entry goes.
 * - Failing to allocate only means not caching: it is never an error.
 * A zeroed struct token_cache is empty and caches nothing until
 * token_cache_set_limits().
 */
#ifndef PRAAS_TOKEN_CACHE_H
#define PRAAS_TOKEN_CACHE_H

#include <stddef.h>

#include "keystone-token.h"

#define TOKEN_CACHE_BUCKETS 256

struct token_cache_entry;

struct token_cache {
	int max_age; /* seconds; <= 0: cache nothing */
	size_t max;  /* entries; 0: cache nothing */
	size_t len;
	struct token_cache_entry *bucket[TOKEN_CACHE_BUCKETS];
};

void token_cache_set_limits(struct token_cache *tc, int max_age_seconds, size_t max_tokens);
/* Keeps a copy of info for token; returns how many entries were evicted to make room. */
unsigned int token_cache_put(
        struct token_cache *tc, const char *token, const struct keystone_token_info *info);
/* What token was validated as, while fresh (valid until the next put or clear), or NULL. */
const struct keystone_token_info *token_cache_get(struct token_cache *tc, const char *token);
/* Drops every entry. */
void token_cache_clear(struct token_cache *tc);

#endif
