/*
 * Building Neutron query strings, without a network.
 *
 * Promises:
 * - Every key and value given to neutron_query_add is percent-encoded
 *   (http_escape): a value cannot add a parameter of its own.
 * - A listing of many ids is split so that no query (with room for the
 *   endpoint and a marker) exceeds max_url, and each query holds at least
 *   one id however long; together the queries name every id once.
 * - The first allocation failure sticks (err), so a chain of adds is
 *   checked once at the end.
 */
#ifndef PRAAS_NEUTRON_QUERY_H
#define PRAAS_NEUTRON_QUERY_H

#include <stddef.h>

/* A query being built; zeroed to start, s freed by the caller. */
struct neutron_query {
	char *s;
	size_t len;
	int err;
};

/* Appends key=value, both escaped; nothing for a NULL value. */
void neutron_query_add(struct neutron_query *q, const char *key, const char *value);
/* Appends text as it is (already a parameter). */
void neutron_query_raw(struct neutron_query *q, const char *text);
/* fixed_ips=<key>=<value>: one parameter whose value holds an '='. Nothing for NULL. */
void neutron_query_fixed_ip(struct neutron_query *q, const char *key, const char *value);

/*
 * Appends to *queries the paths "/v2.0/<collection>?<fields>&<filters>
 * [&limit=page_size]&id=..." that together name ids (one query when there
 * are none), each within max_url. 0 or -ENOMEM (what was appended stays
 * the caller's to free).
 */
int neutron_query_split(const char *collection, const char *fields, const char *filters,
        const char *const *ids, size_t ids_len, unsigned int page_size, size_t max_url,
        char ***queries, size_t *queries_len);

#endif
