/*
 * mysql://USER[:PASSWORD]@HOST[:PORT]/DB split into its parts, checked:
 * a pure function, fuzzed (test/fuzz/fuzz-dburl.c). Its refusals never
 * repeat the URL: it holds the password.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sqldb.h"

#define URL_DEFAULT_PORT 3306

static bool name_ok(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		            (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i])))
			return false;
	return n > 0;
}

/*
 * Splits mysql://USER[:PASSWORD]@HOST[:PORT]/DB. The password may hold
 * any character but none of the other parts may: the last '@' ends it.
 */
static int parse(const char *url, struct sqldb_url *m, const char **why)
{
	const char *rest = url + strlen("mysql://"), *at = strrchr(rest, '@'), *colon, *slash;
	const char *host, *port_end;
	char *end;
	long port = URL_DEFAULT_PORT;

	if (at == NULL)
		return *why = "no USER@ (mysql://USER:PASSWORD@HOST[:PORT]/DB)", -EINVAL;
	colon = memchr(rest, ':', (size_t)(at - rest));
	if (!name_ok(rest, (size_t)((colon ? colon : at) - rest), "_-.$"))
		return *why = "USER: letters, digits, '_', '-', '.' or '$'", -EINVAL;
	m->user = strndup(rest, (size_t)((colon ? colon : at) - rest));
	if (colon && (m->password = strndup(colon + 1, (size_t)(at - colon - 1))) == NULL)
		return *why = "out of memory", -ENOMEM;
	host = at + 1;
	if ((slash = strchr(host, '/')) == NULL)
		return *why = "no /DB after the host", -EINVAL;
	if (*host == '[') {
		if ((port_end = memchr(host, ']', (size_t)(slash - host))) == NULL)
			return *why = "HOST: '[' without ']'", -EINVAL;
		if (!name_ok(host + 1, (size_t)(port_end - host - 1), ":.") ||
		        (port_end + 1 != slash && port_end[1] != ':'))
			return *why = "HOST: [an IPv6 address]", -EINVAL;
		m->host = strndup(host + 1, (size_t)(port_end - host - 1));
		colon = port_end + 1 != slash ? port_end + 1 : NULL;
	} else {
		colon = memchr(host, ':', (size_t)(slash - host));
		if (!name_ok(host, (size_t)((colon ? colon : slash) - host), "-."))
			return *why = "HOST: a name or an address", -EINVAL;
		m->host = strndup(host, (size_t)((colon ? colon : slash) - host));
	}
	if (colon) {
		if (colon[1] < '0' || colon[1] > '9')
			return *why = "PORT: 1 to 65535", -EINVAL;
		port = strtol(colon + 1, &end, 10);
		if (end != slash || port < 1 || port > 65535)
			return *why = "PORT: 1 to 65535", -EINVAL;
	}
	m->port = (unsigned int)port;
	if (!name_ok(slash + 1, strlen(slash + 1), "_$"))
		return *why = "DB: letters, digits, '_' or '$'", -EINVAL;
	m->dbname = strdup(slash + 1);
	if (m->user == NULL || m->host == NULL || m->dbname == NULL)
		return *why = "out of memory", -ENOMEM;
	return 0;
}

int sqldb_url_parse(const char *url, struct sqldb_url *out, const char **why)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "mysql://", strlen("mysql://")) != 0) {
		*why = "not mysql://";
		return -EINVAL;
	}
	if ((r = parse(url, out, why)) < 0)
		sqldb_url_free(out);
	return r;
}

void sqldb_url_free(struct sqldb_url *u)
{
	if (u->password)
		explicit_bzero(u->password, strlen(u->password));
	free(u->password);
	free(u->user);
	free(u->host);
	free(u->dbname);
	memset(u, 0, sizeof(*u));
}
