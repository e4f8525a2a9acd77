/*
 * Router facts kept between requests, for both backends of routers.c: at
 * most `capacity` routers, found by id in O(1) (a hash table keyed by
 * SipHash with a random key, so no caller can choose colliding ids), the
 * least recently used one dropped to make room. An entry may own a
 * descriptor (the standalone backend's address watch), closed when the
 * entry goes, so the cache never holds more than `capacity` of them.
 */
#ifndef PRAAS_ROUTER_CACHE_H
#define PRAAS_ROUTER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lru.h"
#include "routers.h"

struct router_cache;

struct router_cache_entry {
	struct router_info info; /* info.id is the key */
	double fetched;          /* monotonic seconds, when info was read */
	int watch_fd;            /* owned; -1: none */
	uint64_t ns_dev, ns_ino; /* the namespace file read (standalone); 0: none */
	/* The cache's own links. */
	struct router_cache_entry *next;
	struct lru_node lru;
};

/* 0 or -ENOMEM. capacity > 0. */
int router_cache_new(size_t capacity, struct router_cache **out);
/* Closes every entry's watch_fd. NULL is fine. */
void router_cache_free(struct router_cache *c);

/* The entry of router id, now the most recently used, or NULL. */
struct router_cache_entry *router_cache_find(struct router_cache *c, const char *id);

/*
 * Stores info (replacing what was kept of info->id) with fetched, taking
 * watch_fd (-1: none) and the namespace identity; evicts the least
 * recently used entry when full. Returns the entry.
 */
struct router_cache_entry *router_cache_put(struct router_cache *c, const struct router_info *info,
        double fetched, int watch_fd, uint64_t ns_dev, uint64_t ns_ino);

/* Drops router id's entry, closing its watch_fd. Unknown ids are fine. */
void router_cache_forget(struct router_cache *c, const char *id);

/* How many routers are kept. */
size_t router_cache_len(const struct router_cache *c);

#endif
