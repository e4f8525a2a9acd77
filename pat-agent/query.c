#include "query.h"

#include <ctype.h>
#include <errno.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

int query_decode(const char *s, size_t len, bool plus, char *out, size_t size)
{
	char *raw = strndup(s, len), *dec = NULL;
	size_t n = 0;
	int r = 0;

	if (raw == NULL)
		return -ENOMEM;
	/* libevent passes a bad escape through as it is; here it is an error. */
	for (const char *p = raw; r == 0 && (p = strchr(p, '%')) != NULL; p++)
		if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
			r = -EINVAL;
	if (r == 0 && (dec = evhttp_uridecode(raw, plus, &n)) == NULL)
		r = -ENOMEM;
	/* A NUL would cut the value short where the client did not. */
	if (r == 0 && (strlen(dec) != n || n + 1 > size))
		r = -EINVAL;
	if (r == 0)
		memcpy(out, dec, n + 1);
	free(dec);
	free(raw);
	return r;
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
		int kr, vr = 0;

		amp = strchr(s, '&');
		if (amp == NULL)
			amp = s + strlen(s);
		if (amp == s)
			continue;
		eq = memchr(s, '=', (size_t)(amp - s));
		kr = query_decode(s, (size_t)((eq ? eq : amp) - s), true, p->key, sizeof(p->key));
		if (eq != NULL)
			vr = query_decode(
			        eq + 1, (size_t)(amp - eq - 1), true, p->value, sizeof(p->value));
		if (kr == -ENOMEM || vr == -ENOMEM) {
			r = -ENOMEM;
			break;
		}
		p->key_ok = kr == 0;
		if (!p->key_ok)
			p->key[0] = '\0';
		p->has_value = eq != NULL;
		p->value_ok = vr == 0;
		if (!eq || !p->value_ok)
			p->value[0] = '\0';
		r = fn(p, arg);
	}
	free(p);
	return r < 0 ? r : 0;
}
