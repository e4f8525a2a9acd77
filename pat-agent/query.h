/*
 * URL query strings ("a=1&b=x%20y"): split into pairs and decoded (%XX and
 * '+'), with each pair saying whether its key and value decoded cleanly, so
 * the caller decides what a bad one means. Used by the legacy API and the
 * v1 list filters.
 */
#ifndef PRAAS_QUERY_H
#define PRAAS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_MAX     4096 /* longest query string accepted */
#define QUERY_KEY_MAX 63

struct query_pair {
	char key[QUERY_KEY_MAX + 1];
	bool key_ok;    /* decoded and no longer than QUERY_KEY_MAX */
	bool has_value; /* there was an '=' */
	bool value_ok;  /* decoded: no bad %-escape, no NUL */
	char value[QUERY_MAX + 1];
};

/* Called per non-empty pair; a negative return stops the walk and is returned. */
typedef int query_fn(const struct query_pair *p, void *arg);

/* 0, the first negative return of fn, -E2BIG for a query over QUERY_MAX, or -ENOMEM. */
int query_foreach(const char *query, query_fn *fn, void *arg);

/*
 * Decodes s[0..len) into out (size bytes) with libevent's
 * evhttp_uridecode(), '+' as a space when plus. 0, or -EINVAL for a bad
 * %-escape, a NUL or a result that does not fit, or -ENOMEM.
 */
int query_decode(const char *s, size_t len, bool plus, char *out, size_t size);

#endif
