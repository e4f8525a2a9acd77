/*
 * Freeing a client from inside one of its own callbacks. The code that
 * called the callback still holds the client, so the free is put off until
 * the outermost callback level returns; meanwhile the client is "dead":
 * it starts nothing new. The HTTP, Keystone and Neutron clients share this.
 *
 * Promises: guard_leave() answers true exactly once, on the level that
 * ends the outermost callback after guard_free() was put off; guard_free()
 * answers true only outside every callback.
 */
#ifndef PRAAS_CB_GUARD_H
#define PRAAS_CB_GUARD_H

#include <stdbool.h>

struct cb_guard {
	int depth; /* callback levels in progress */
	bool dead; /* freed from inside one: destroyed when depth is back to 0 */
};

/* Before calling out (a callback, or code that may call one). */
static inline void guard_enter(struct cb_guard *g)
{
	g->depth++;
}

/* After it returned: true when the owner must now be destroyed. */
static inline bool guard_leave(struct cb_guard *g)
{
	return --g->depth == 0 && g->dead;
}

/*
 * The owner is being freed: true when it may be destroyed now; false when
 * inside a callback (the owner should stop its work; the last guard_leave()
 * will say when to destroy it).
 */
static inline bool guard_free(struct cb_guard *g)
{
	if (g->depth == 0)
		return true;
	g->dead = true;
	return false;
}

#endif
