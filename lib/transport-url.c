#include "transport-url.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) percent-decoded into a new string; -EINVAL for a bad escape or a NUL. */
static int decode(const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1);
	size_t o = 0;

	if (d == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[o++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(d);
			return -EINVAL;
		}
		int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(d);
			return -EINVAL;
		}
		d[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[o] = '\0';
	*out = d;
	return 0;
}

static int parse_port(const char *s, size_t n, int *port)
{
	int v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/* HOST[:PORT] or [V6][:PORT] in s[0..n). */
static int parse_hostport(const char *s, size_t n, struct transport_host *h, char **cause)
{
	const char *end = s + n, *host = s, *colon;
	size_t hlen;

	h->port = TRANSPORT_URL_DEFAULT_PORT;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return cause_invalid(cause, "transport_url: an IPv6 host lacks its ']'");
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return cause_invalid(cause, "transport_url: text after an IPv6 host's ']'");
	} else {
		colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
	}
	if (hlen == 0)
		return cause_invalid(cause, "transport_url: a host is empty");
	for (size_t i = 0; i < hlen; i++)
		if (host[i] == '%' || host[i] == '@' || host[i] == '/' ||
		        (unsigned char)host[i] <= ' ')
			return cause_invalid(
			        cause, "transport_url: a host name holds a bad character");
	if (colon != NULL && parse_port(colon + 1, (size_t)(end - colon - 1), &h->port) < 0)
		return cause_invalid(cause, "transport_url: a port is not 1-65535");
	if ((h->host = strndup(host, hlen)) == NULL)
		return -ENOMEM;
	return 0;
}

/* USER:PASS@HOST:PORT in s[0..n); prev gives the credentials when absent. */
static int parse_host(const char *s, size_t n, const struct transport_host *prev,
        struct transport_host *h, char **cause)
{
	const char *at = NULL, *colon;
	int r;

	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '@') {
			at = s + i - 1;
			break;
		}
	if (at == NULL) {
		if (prev == NULL)
			return cause_invalid(
			        cause, "transport_url: the first host has no USER:PASS@");
		if ((h->user = strdup(prev->user)) == NULL ||
		        (h->password = strdup(prev->password)) == NULL)
			return -ENOMEM;
		return parse_hostport(s, n, h, cause);
	}
	colon = memchr(s, ':', (size_t)(at - s));
	if (colon == NULL || colon == s)
		return cause_invalid(cause, "transport_url: credentials are not USER:PASS");
	if ((r = decode(s, (size_t)(colon - s), &h->user)) < 0 ||
	        (r = decode(colon + 1, (size_t)(at - colon - 1), &h->password)) < 0)
		return r == -ENOMEM
		        ? r
		        : cause_invalid(cause, "transport_url: a bad %%-escape in credentials");
	return parse_hostport(at + 1, (size_t)(s + n - at - 1), h, cause);
}

static int parse_hosts(const char *s, size_t n, struct transport_url *u, char **cause)
{
	size_t start = 0;
	int r;

	if ((u->hosts = calloc(TRANSPORT_URL_MAX_HOSTS, sizeof(*u->hosts))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		if (u->n == TRANSPORT_URL_MAX_HOSTS)
			return cause_invalid(cause, "transport_url: more than %d hosts",
			        TRANSPORT_URL_MAX_HOSTS);
		r = parse_host(s + start, i - start, u->n ? &u->hosts[u->n - 1] : NULL,
		        &u->hosts[u->n], cause);
		u->n++; /* counted even when half filled: transport_url_free frees it */
		if (r < 0)
			return r;
		start = i + 1;
	}
	return 0;
}

int transport_url_parse(const char *text, struct transport_url *out, char **cause)
{
	const char *rest, *slash, *query;
	size_t vlen;
	int r;

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "rabbit://", 9) == 0)
		rest = text + 9;
	else if (strncmp(text, "amqp://", 7) == 0)
		rest = text + 7;
	else
		return cause_invalid(
		        cause, "transport_url: not rabbit://USER:PASS@HOST:PORT/VHOST");
	slash = strchr(rest, '/');
	query = strchr(rest, '?');
	if (slash == NULL || (query != NULL && query < slash))
		slash = query ? query : rest + strlen(rest);
	if (slash == rest)
		return cause_invalid(cause, "transport_url: no host");
	if ((r = parse_hosts(rest, (size_t)(slash - rest), out, cause)) < 0)
		goto fail;
	vlen = 0;
	if (*slash == '/') {
		slash++;
		vlen = query ? (size_t)(query - slash) : strlen(slash);
	}
	r = vlen ? decode(slash, vlen, &out->vhost) : ((out->vhost = strdup("/")) ? 0 : -ENOMEM);
	if (r == -EINVAL)
		r = cause_invalid(cause, "transport_url: a bad %%-escape in the virtual host");
	if (r == 0)
		return 0;
fail:
	transport_url_free(out);
	return r;
}

void transport_url_free(struct transport_url *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->hosts[i].user);
		free(u->hosts[i].password);
		free(u->hosts[i].host);
	}
	free(u->hosts);
	free(u->vhost);
	memset(u, 0, sizeof(*u));
}
