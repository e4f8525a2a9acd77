/*
 * Moving a database to another engine (one node's SQLite into the cloud's
 * MariaDB): every forwarding as it is, ids, timestamps and status kept,
 * in one transaction of the target, into a target that holds none.
 */
#include <errno.h>
#include <stdlib.h>

#include "cause.h"
#include "store.h"

struct copy {
	struct store *to;
	size_t n;
	char **cause;
};

static int copy_one(const struct forwarding *f, void *arg)
{
	struct copy *c = arg;
	struct forwarding g = *f;
	int r;

	/* store_insert keeps a given id and non-zero timestamps. */
	if ((r = store_insert(c->to, &g, NULL, c->cause)) < 0)
		return r;
	c->n++;
	return 0;
}

int store_copy(struct store *from, struct store *to, size_t *copied, char **cause)
{
	struct copy c = {to, 0, cause};
	size_t n;
	int r;

	*copied = 0;
	if ((r = store_count(to, NULL, &n, cause)) < 0)
		return r;
	if (n > 0)
		return cause_set(cause, -EEXIST,
		        "the target holds %zu forwardings already: copy into an empty database "
		        "only",
		        n);
	if ((r = store_begin(to, cause)) < 0)
		return r;
	if ((r = store_foreach_all(from, copy_one, &c, cause)) < 0) {
		(void)store_rollback(to, NULL);
		return r;
	}
	if ((r = store_commit(to, cause)) < 0)
		return r;
	*copied = c.n;
	return 0;
}
