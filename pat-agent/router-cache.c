#include "router-cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "siphash.h"

struct router_cache {
	struct router_cache_entry *slots; /* capacity of them; info.id "" when free */
	struct router_cache_entry **buckets;
	size_t capacity, nbuckets, len;
	struct lru lru;                       /* the entries, most recently used first */
	struct router_cache_entry *free_list; /* linked by next */
	uint8_t key[SIPHASH_KEY_LEN];
};

int router_cache_new(size_t capacity, struct router_cache **out)
{
	struct router_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->capacity = capacity;
	/* A power of two at least twice the capacity: short chains. */
	for (c->nbuckets = 16; c->nbuckets < 2 * capacity; c->nbuckets *= 2)
		;
	c->slots = calloc(capacity, sizeof(*c->slots));
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->slots == NULL || c->buckets == NULL ||
	        getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key)) {
		router_cache_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < capacity; i++) {
		c->slots[i].watch_fd = -1;
		c->slots[i].next = c->free_list;
		c->free_list = &c->slots[i];
	}
	*out = c;
	return 0;
}

void router_cache_free(struct router_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->slots != NULL && i < c->capacity; i++)
		if (c->slots[i].watch_fd >= 0 && close(c->slots[i].watch_fd) < 0)
			log_warn("close");
	free(c->slots);
	free(c->buckets);
	free(c);
}

static struct router_cache_entry **bucket(struct router_cache *c, const char *id)
{
	return &c->buckets[siphash24(c->key, id, strlen(id)) & (c->nbuckets - 1)];
}

struct router_cache_entry *router_cache_find(struct router_cache *c, const char *id)
{
	struct router_cache_entry *e = *bucket(c, id);

	while (e != NULL && strcmp(e->info.id, id) != 0)
		e = e->next;
	if (e != NULL)
		lru_touch(&c->lru, &e->lru);
	return e;
}

/* Unlinks e everywhere, closes its descriptor and puts its slot on the free list. */
static void drop(struct router_cache *c, struct router_cache_entry *e)
{
	struct router_cache_entry **p = bucket(c, e->info.id);

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	lru_unlink(&c->lru, &e->lru);
	if (e->watch_fd >= 0 && close(e->watch_fd) < 0)
		log_warn("close");
	memset(e, 0, sizeof(*e));
	e->watch_fd = -1;
	e->next = c->free_list;
	c->free_list = e;
	c->len--;
}

void router_cache_forget(struct router_cache *c, const char *id)
{
	struct router_cache_entry *e = router_cache_find(c, id);

	if (e != NULL)
		drop(c, e);
}

/* A free slot, the least recently used entry dropped when there is none. */
static struct router_cache_entry *free_slot(struct router_cache *c)
{
	struct router_cache_entry *e;

	if (c->free_list == NULL)
		drop(c, LRU_ITEM(c->lru.tail, struct router_cache_entry, lru));
	e = c->free_list;
	c->free_list = e->next;
	e->next = NULL;
	return e;
}

struct router_cache_entry *router_cache_put(struct router_cache *c, const struct router_info *info,
        double fetched, int watch_fd, uint64_t ns_dev, uint64_t ns_ino)
{
	struct router_cache_entry *e, **b;

	router_cache_forget(c, info->id);
	e = free_slot(c);
	e->info = *info;
	e->fetched = fetched;
	e->watch_fd = watch_fd;
	e->ns_dev = ns_dev;
	e->ns_ino = ns_ino;
	b = bucket(c, info->id);
	e->next = *b;
	*b = e;
	lru_push(&c->lru, &e->lru);
	c->len++;
	return e;
}

size_t router_cache_len(const struct router_cache *c)
{
	return c->len;
}
