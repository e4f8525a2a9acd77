/*
 * Helpers for the store and allocator tests: a private directory for the
 * database, removed with everything in it, and a short way to write a
 * forwarding.
 */
#ifndef PRAAS_TEST_STORE_UTIL_H
#define PRAAS_TEST_STORE_UTIL_H

#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwd.h"

struct tmpdb {
	char dir[64];
	char path[96];
};

/* mkdtemp under $TMPDIR (or /tmp); returns 0 or -1. */
static inline int tmpdb_make(struct tmpdb *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/praas-store-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/praas.db", t->dir);
	return 0;
}

/* Removes the directory and the files in it (db, -wal, -shm). */
static inline void tmpdb_remove(struct tmpdb *t)
{
	char file[512];
	struct dirent *e;
	DIR *d;

	if (t->dir[0] == '\0' || (d = opendir(t->dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", t->dir, e->d_name);
		(void)unlink(file);
	}
	closedir(d);
	(void)rmdir(t->dir);
	t->dir[0] = '\0';
}

/* A valid forwarding; ports lo..hi on each side, "a:b" style. */
static inline struct forwarding fwd_make(const char *router, const char *ext, uint8_t proto,
        uint16_t elo, uint16_t ehi, const char *in, uint16_t ilo, uint16_t ihi)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	snprintf(f.router_id, sizeof(f.router_id), "%s", router);
	snprintf(f.project_id, sizeof(f.project_id), "project-1");
	if (ext)
		(void)addr_parse(ext, &f.external_addr);
	f.protocol = proto;
	f.external.lo = elo;
	f.external.hi = ehi;
	(void)addr_parse(in, &f.internal_addr);
	f.internal.lo = ilo;
	f.internal.hi = ihi;
	f.status = FWD_STATUS_ACTIVE;
	return f;
}

#endif
