/*
 * Helpers for the tests against the loopback MariaDB (test/mariadb): its
 * URLs, and a database of the test's own, created empty and dropped after.
 */
#ifndef PRAAS_TEST_MARIADB_UTIL_H
#define PRAAS_TEST_MARIADB_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqldb.h"

#define MDB_ENV_FILE "/run/praas-mariadb/env"

struct mdb {
	char name[64];  /* praas_t<pid>_<n> */
	char url[256];  /* base + name */
	char base[192]; /* mysql://praas:...@127.0.0.1:port/ */
};

/* var (PRAAS_TEST_MARIADB_URL, ..._GALERA_URL1/2) from the environment or test/mariadb's env file.
 */
static inline int mdb_base(const char *var, char *out, size_t len)
{
	const char *v = getenv(var);
	char line[512];
	size_t n = strlen(var);
	FILE *f;

	if (v && *v)
		return snprintf(out, len, "%s", v) < (int)len ? 0 : -1;
	if ((f = fopen(MDB_ENV_FILE, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, var, n) == 0 && line[n] == '=') {
			fclose(f);
			return snprintf(out, len, "%s", line + n + 1) < (int)len ? 0 : -1;
		}
	}
	fclose(f);
	return -1;
}

/* Runs one statement on base's praas_admin database. */
static inline int mdb_admin(const char *base, const char *sql)
{
	char url[256];
	struct sqldb *db;
	int r;

	snprintf(url, sizeof(url), "%spraas_admin", base);
	if ((r = sqldb_open(url, NULL, &db, NULL)) < 0)
		return r;
	r = sqldb_exec(db, sql);
	if (r < 0)
		fprintf(stderr, "mdb_admin: %s: %s\n", sql, sqldb_errmsg(db));
	sqldb_close(db);
	return r;
}

/* A fresh empty database on base; 0 or -errno. */
static inline int mdb_create(struct mdb *m, const char *base)
{
	static int seq;
	char sql[192];

	snprintf(m->base, sizeof(m->base), "%s", base);
	snprintf(m->name, sizeof(m->name), "praas_t%ld_%d", (long)getpid(), ++seq);
	snprintf(m->url, sizeof(m->url), "%s%s", base, m->name);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s", m->name,
	        m->name);
	return mdb_admin(base, sql);
}

static inline void mdb_drop(struct mdb *m)
{
	char sql[192];

	if (m->name[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", m->name);
	(void)mdb_admin(m->base, sql);
	m->name[0] = '\0';
}

#endif
