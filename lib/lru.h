/*
 * An intrusive least-recently-used list: each item embeds a struct
 * lru_node, the owner keeps a struct lru. Adding, using and removing an
 * item are O(1); the least recently used item is the tail. The list owns
 * nothing: removing a node does not free its item.
 */
#ifndef PRAAS_LRU_H
#define PRAAS_LRU_H

#include <stddef.h>

struct lru_node {
	struct lru_node *prev, *next; /* towards the head (more recent), the tail */
};

struct lru {
	struct lru_node *head, *tail; /* most and least recently used; NULL when empty */
};

/* The item a node is embedded in: LRU_ITEM(node, struct conn, lru). NULL stays NULL. */
#define LRU_ITEM(node, type, member)                                                               \
	((node) == NULL ? NULL : (type *)(void *)((char *)(node)-offsetof(type, member)))

/* Puts n (not on the list) at the head. */
void lru_push(struct lru *l, struct lru_node *n);
/* Takes n (on the list) off it. */
void lru_unlink(struct lru *l, struct lru_node *n);
/* Moves n (on the list) to the head: it was just used. */
void lru_touch(struct lru *l, struct lru_node *n);

#endif
