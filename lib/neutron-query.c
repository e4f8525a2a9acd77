/*
 * Neutron query strings: filters escaped one parameter at a time, and a
 * listing's ids spread over as many queries as the URL bound needs.
 */
#include "neutron-query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

void neutron_query_add(struct neutron_query *q, const char *key, const char *value)
{
	char *ek, *ev, *kv = NULL;

	if (q->err != 0 || value == NULL)
		return;
	ek = http_escape(key);
	ev = http_escape(value);
	if (ek == NULL || ev == NULL || asprintf(&kv, "%s=%s", ek, ev) < 0) {
		kv = NULL;
		q->err = -ENOMEM;
	}
	neutron_query_raw(q, kv);
	free(ek);
	free(ev);
	free(kv);
}

void neutron_query_raw(struct neutron_query *q, const char *text)
{
	char *s;
	int r;

	if (q->err != 0)
		return;
	r = asprintf(&s, "%s%s%s", q->s ? q->s : "", q->s ? "&" : "", text);
	if (r < 0) {
		q->err = -ENOMEM;
		return;
	}
	free(q->s);
	q->s = s;
	q->len = (size_t)r;
}

void neutron_query_fixed_ip(struct neutron_query *q, const char *key, const char *value)
{
	char *v;

	if (value == NULL)
		return;
	if (asprintf(&v, "%s=%s", key, value) < 0) {
		q->err = -ENOMEM;
		return;
	}
	neutron_query_add(q, "fixed_ips", v);
	free(v);
}

int neutron_query_split(const char *collection, const char *fields, const char *filters,
        const char *const *ids, size_t ids_len, unsigned int page_size, size_t max_url,
        char ***queries, size_t *queries_len)
{
	size_t budget = max_url > 300 ? max_url - 200 : 100, i = 0;
	char limit[32];

	snprintf(limit, sizeof(limit), "limit=%u", page_size);
	do {
		struct neutron_query q = {0};
		char **qs;

		if (asprintf(&q.s, "/v2.0/%s?%s", collection, fields) < 0)
			return -ENOMEM;
		q.len = strlen(q.s);
		if (filters[0] != '\0')
			neutron_query_raw(&q, filters);
		if (page_size > 0)
			neutron_query_raw(&q, limit);
		/* At least one id per query, however long. */
		for (size_t k = 0; i < ids_len && q.err == 0; k++, i++) {
			/* The exact length: a worst case (3 bytes a character) fit 33 UUIDs a
			 * query. */
			char *esc = http_escape(ids[i]);
			size_t add;

			if (esc == NULL) {
				free(q.s);
				return -ENOMEM;
			}
			add = 4 + strlen(esc);
			free(esc);
			if (k > 0 && q.len + add > budget)
				break;
			neutron_query_add(&q, "id", ids[i]);
		}
		qs = reallocarray(*queries, *queries_len + 1, sizeof(*qs));
		if (q.err != 0 || qs == NULL) {
			free(q.s);
			return -ENOMEM;
		}
		*queries = qs;
		(*queries)[(*queries_len)++] = q.s;
	} while (i < ids_len);
	return 0;
}
