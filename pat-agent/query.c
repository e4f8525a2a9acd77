#include "query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int query_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) ('+' is a space, %XX a byte) into out of size bytes. */
static bool decode(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = query_hexval(s[i + 1])) < 0 ||
			        (lo = query_hexval(s[i + 2])) < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= size)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

int query_foreach(const char *query, query_fn *fn, void *arg)
{
	struct query_pair *p;
	const char *s, *amp, *eq;
	int r = 0;

	if (query == NULL)
		return 0;
	if (strlen(query) > QUERY_MAX)
		return -E2BIG;
	if ((p = malloc(sizeof(*p))) == NULL)
		return -ENOMEM;
	for (s = query; *s != '\0' && r >= 0; s = *amp ? amp + 1 : amp) {
		amp = strchr(s, '&');
		if (amp == NULL)
			amp = s + strlen(s);
		if (amp == s)
			continue;
		eq = memchr(s, '=', (size_t)(amp - s));
		p->key_ok = decode(s, (size_t)((eq ? eq : amp) - s), p->key, sizeof(p->key));
		if (!p->key_ok)
			p->key[0] = '\0';
		p->has_value = eq != NULL;
		p->value_ok = eq
		        ? decode(eq + 1, (size_t)(amp - eq - 1), p->value, sizeof(p->value))
		        : true;
		if (!eq || !p->value_ok)
			p->value[0] = '\0';
		r = fn(p, arg);
	}
	free(p);
	return r < 0 ? r : 0;
}
