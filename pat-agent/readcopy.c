#include "readcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "array-grow.h"
#include "call.h"
#include "log.h"
#include "store.h"

#define READCOPY_CHANGES_MAX 2048 /* more waiting for one router: copy its rows anew */

struct anchor {
	uint64_t revision; /* of the last logged change applied to the copy */
	char router_id[];  /* the tree's key */
};

struct readcopy {
	struct store *main, *copy;
	int lock_fd;
	void *anchors;           /* tsearch tree of struct anchor */
	struct timespec current; /* CLOCK_MONOTONIC: last known current */
	bool in_poll;
	bool poll_ok;   /* every router of this poll applied */
	uint64_t from;  /* the applying router's anchor */
	uint64_t last;  /* its newest change applied */
	bool gap;       /* its anchor's own row was not in the log */
	size_t changes; /* applied of this router in this poll */
	int failed;     /* a change the copy refused */
};

static int by_router(const void *x, const void *y)
{
	return strcmp(((const struct anchor *)x)->router_id, ((const struct anchor *)y)->router_id);
}

static void now(struct timespec *ts)
{
	(void)clock_gettime(CLOCK_MONOTONIC, ts);
}

/* The copy's file, its journal and WAL: a cache, rewritten at every start. */
static int unlink_copy(const char *path)
{
	static const char *const tails[] = {"", "-wal", "-shm", "-journal"};
	char name[4096];

	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		if (snprintf(name, sizeof(name), "%s%s", path, tails[i]) >= (int)sizeof(name))
			return -ENAMETOOLONG;
		if (unlink(name) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* One agent per file: an flock on PATH.lock, held for the agent's life. */
static int lock_copy(const char *path, int *fd)
{
	char name[4096];

	if (snprintf(name, sizeof(name), "%s.lock", path) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	if ((*fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(*fd);
		*fd = -1;
		return e;
	}
	return 0;
}

/* A cache: a crash loses nothing the next start does not rewrite. */
static int fast_writes(struct store *copy, char **cause)
{
	char *err = NULL;

	if (sqlite3_exec(store_handle(copy), "PRAGMA synchronous = OFF", NULL, NULL, &err) ==
	        SQLITE_OK)
		return 0;
	if (asprintf(cause, "set synchronous: %s", err ? err : "?") < 0)
		*cause = NULL;
	sqlite3_free(err);
	return -EIO;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	now(&t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int fill(struct readcopy *rc, const char *path, int64_t *since_us, char **cause)
{
	struct timespec t0;
	size_t n = 0;
	int r;

	if ((r = lock_copy(path, &rc->lock_fd)) < 0)
		return r;
	now(&t0);
	if ((r = unlink_copy(path)) < 0 || (r = store_open(path, &rc->copy, cause)) < 0 ||
	        (r = fast_writes(rc->copy, cause)) < 0 ||
	        (r = store_clock(rc->main, since_us, cause)) < 0 ||
	        (r = store_copy(rc->main, rc->copy, &n, cause)) < 0)
		return r;
	log_info("The read copy %s holds the database's %zu forwardings (copied in %.3f s)", path,
	        n, since(&t0));
	return 0;
}

void readcopy_open(struct agent *a, struct readcopy **out, int64_t *since_us)
{
	const char *path = a->cfg.database_read_copy;
	struct readcopy *rc;
	char *cause = NULL;
	int r;

	*out = NULL;
	if (path == NULL || !store_is_shared(a->store))
		return;
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		log_warnx("No read copy: out of memory");
		return;
	}
	rc->main = a->store;
	rc->lock_fd = -1;
	if ((r = fill(rc, path, since_us, &cause)) < 0) {
		log_warnx("No read copy (reads answer 503 while the database is away): %s: %s",
		        path,
		        r == -EBUSY     ? "another agent uses it"
		                : cause ? cause
		                        : strerror(-r));
		free(cause);
		readcopy_free(rc);
		return;
	}
	now(&rc->current);
	*out = rc;
}

void readcopy_free(struct readcopy *rc)
{
	if (rc == NULL)
		return;
	store_close(rc->copy);
	tdestroy(rc->anchors, free);
	if (rc->lock_fd >= 0)
		close(rc->lock_fd);
	free(rc);
}

void readcopy_poll_begin(struct readcopy *rc)
{
	if (rc != NULL)
		rc->poll_ok = true;
}

/* The poll's one transaction, begun at its first changed router: an idle poll writes nothing. */
static int poll_txn(struct readcopy *rc)
{
	char *cause = NULL;

	if (rc->in_poll)
		return 0;
	if (store_begin(rc->copy, &cause) < 0) {
		log_warnx("Read copy: %s", cause ? cause : "cannot begin");
		free(cause);
		return -EIO;
	}
	rc->in_poll = true;
	return 0;
}

void readcopy_poll_end(struct readcopy *rc, bool ok)
{
	char *cause = NULL;

	if (rc == NULL)
		return;
	if (rc->in_poll) {
		rc->in_poll = false;
		if (store_commit(rc->copy, &cause) < 0) {
			log_warnx("Read copy: %s", cause ? cause : "cannot commit");
			free(cause);
			return;
		}
	}
	if (ok && rc->poll_ok)
		now(&rc->current);
}

/* The router's anchor entry, made at 0 (none: copy its rows anew) when new. */
static struct anchor *anchor_of(struct readcopy *rc, const char *router_id)
{
	size_t len = strlen(router_id) + 1;
	struct anchor *key = calloc(1, sizeof(*key) + len), **found;

	if (key == NULL)
		return NULL;
	memcpy(key->router_id, router_id, len);
	if ((found = tsearch(key, &rc->anchors, by_router)) == NULL) {
		free(key);
		return NULL;
	}
	if (*found != key)
		free(key);
	return *found;
}

void readcopy_anchor(struct readcopy *rc, const char *router_id, uint64_t revision)
{
	struct anchor *an;

	/* Out of memory: no anchor, and the router's first change copies it anew. */
	if (rc != NULL && (an = anchor_of(rc, router_id)) != NULL)
		an->revision = revision;
}

/* ---- one router's rows copied anew ---- */

struct ids {
	char (*v)[FWD_ID_LEN + 1];
	size_t n, cap;
};

static int keep_id(const struct forwarding *f, void *arg)
{
	struct ids *ids = arg;
	char(*v)[FWD_ID_LEN + 1] = array_grow(ids->v, &ids->cap, ids->n, sizeof(*v), 64);

	if (v == NULL)
		return -ENOMEM;
	ids->v = v;
	snprintf(ids->v[ids->n++], sizeof(ids->v[0]), "%s", f->id);
	return 0;
}

static int copy_row(const struct forwarding *f, void *arg)
{
	struct forwarding g = *f;

	return store_insert(arg, &g, NULL, NULL);
}

/*
 * The router's rows in the copy replaced by the database's, anchored at
 * the log's newest change read first (a change landing meanwhile is
 * applied again after: see apply_change).
 */
static int recopy(struct readcopy *rc, struct anchor *an, char **cause)
{
	struct ids ids = {0};
	int r;

	an->revision = 0;
	if ((r = store_router_last_change(rc->main, an->router_id, &an->revision, cause)) < 0)
		return r;
	r = store_foreach_router(rc->copy, an->router_id, keep_id, &ids, cause);
	for (size_t i = 0; r >= 0 && i < ids.n; i++)
		r = store_delete(rc->copy, ids.v[i], NULL, cause);
	free(ids.v);
	if (r >= 0)
		r = store_foreach_router(rc->main, an->router_id, copy_row, rc->copy, cause);
	if (r < 0)
		an->revision = 0; /* copied again at the next change */
	return r < 0 ? r : 0;
}

/* ---- one router's logged changes applied ---- */

/*
 * A change replayed over rows that already hold it (after a recopy) may
 * find its own id there (replaced) or, rarely, a later state in its way:
 * then the router is copied anew.
 */
static int apply_change(const struct store_change *c, void *arg)
{
	struct readcopy *rc = arg;
	struct forwarding g = c->f;
	int r;

	if (c->revision == rc->from) {
		rc->gap = false; /* the anchor's own rows: nothing trimmed, already applied */
		return 0;
	}
	r = store_delete(rc->copy, c->f.id, NULL, NULL);
	if (r < 0 && r != -ENOENT)
		return rc->failed = r;
	if (c->added && (r = store_insert(rc->copy, &g, NULL, NULL)) < 0)
		return rc->failed = r;
	rc->last = c->revision;
	rc->changes++;
	return 0;
}

/*
 * The router's logged changes since its anchor applied: 1 when that was
 * enough, 0 when it must be copied anew (a gap, too many, a change the
 * copy refused), -errno when the database could not be read.
 */
static int from_log(struct readcopy *rc, struct anchor *an, char **cause)
{
	int r;

	rc->from = rc->last = an->revision;
	rc->gap = true; /* until the anchor's own row is read */
	rc->changes = 0;
	rc->failed = 0;
	r = store_router_changes(rc->main, an->router_id, an->revision, READCOPY_CHANGES_MAX + 1,
	        apply_change, rc, cause);
	if (r < 0 && rc->failed == 0)
		return r;
	free(*cause);
	*cause = NULL;
	if (r < 0 || rc->gap || rc->changes >= READCOPY_CHANGES_MAX) {
		log_info("Read copy: router %s: copied anew (%s)", an->router_id,
		        r < 0             ? "a change the copy refused"
		                : rc->gap ? "a gap in its change log"
		                          : "too many changes waiting");
		return 0;
	}
	an->revision = rc->last;
	return 1;
}

int readcopy_router(struct readcopy *rc, const char *router_id)
{
	struct anchor *an;
	char *cause = NULL;
	int r;

	if (rc == NULL)
		return 0;
	if ((r = poll_txn(rc)) < 0) {
		rc->poll_ok = false;
		return r;
	}
	if ((an = anchor_of(rc, router_id)) == NULL) {
		rc->poll_ok = false; /* tried again at the router's next poll */
		return -ENOMEM;
	}
	r = an->revision != 0 ? from_log(rc, an, &cause) : 0;
	if (r == 0)
		r = recopy(rc, an, &cause);
	if (r >= 0)
		return 0;
	log_warnx("Read copy: router %s: %s", router_id, cause ? cause : strerror(-r));
	free(cause);
	rc->poll_ok = false;
	return r;
}

uint64_t readcopy_stale_s(const struct readcopy *rc)
{
	struct timespec t;

	now(&t);
	return t.tv_sec > rc->current.tv_sec ? (uint64_t)(t.tv_sec - rc->current.tv_sec) : 0;
}

struct store *readcopy_fallback(struct agent *a, struct call *c, int r)
{
	char secs[24];

	if (r != -ENOTCONN || a->readcopy == NULL)
		return NULL;
	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)readcopy_stale_s(a->readcopy));
	/* Without the header the answer would look current: refuse it instead. */
	if (call_add_header(c, "X-PRaaS-Stale", secs) < 0)
		return NULL;
	return a->readcopy->copy;
}
