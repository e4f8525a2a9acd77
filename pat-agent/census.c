/*
 * The database's counts and verdicts for /healthz and /metrics (census.h).
 */
#include "census.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "engine.h"
#include "kernel.h"
#include "log.h"
#include "store.h"
#include "storeq.h"

struct census {
	struct agent *a;
	bool queued, probing;
	struct census_counts last;
};

/* Counts the DOWN forwardings by reason; one namespace check per run of a router. */
struct reasons {
	struct kernel *kernel;
	char router[FWD_NAME_MAX + 1];
	enum fwd_reason last;
	size_t n[2];
};

static int count_reason(const struct forwarding *f, void *arg)
{
	struct reasons *c = arg;
	struct forwarding shown;

	if (f->status != FWD_STATUS_DOWN)
		return 0;
	if (strcmp(c->router, f->router_id) != 0) {
		shown = *f;
		kernel_explain(c->kernel, &shown);
		c->last = shown.status_reason;
		snprintf(c->router, sizeof(c->router), "%s", f->router_id);
	}
	c->n[c->last == FWD_REASON_KERNEL_REFUSED]++;
	return 0;
}

static void census_run(void *arg)
{
	struct census *c = arg;
	struct store *store = c->a->reads;
	struct reasons reasons = {.kernel = c->a->kernel};
	size_t all = 0, down = 0;
	char *cause = NULL;
	int r;

	/*
	 * Two counts, not a read of every forwarding (80 ms at 100,000); the
	 * reasons need each DOWN one's router: read only while some are DOWN.
	 */
	if ((r = store_count(store, NULL, &all, &cause)) < 0 ||
	        (r = store_count_status(store, FWD_STATUS_DOWN, &down, &cause)) < 0 ||
	        (down > 0 && (r = store_foreach_all(store, count_reason, &reasons, &cause)) < 0)) {
		c->last.r = r;
		snprintf(c->last.error, sizeof(c->last.error), "%s", cause ? cause : strerror(-r));
		free(cause);
		return;
	}
	c->last.r = 0;
	c->last.all = all;
	c->last.down = down;
	c->last.by_reason[0] = reasons.n[0];
	c->last.by_reason[1] = reasons.n[1];
	c->last.counted++;
}

static void census_done(void *arg)
{
	struct census *c = arg;

	c->queued = false;
}

/*
 * The writes' connection answers too (MariaDB: it is not the counts'): a
 * clock read, or while writes fail a real write (engine_write_check), so
 * the verdict clears once the cause is gone. SQLite: no statement.
 */
static void probe_run(void *arg)
{
	struct census *c = arg;
	char *cause = NULL;
	int64_t now_us;
	int r;

	if (c->a->engine.write_failing) {
		(void)engine_write_check(&c->a->engine);
		return;
	}
	if ((r = store_clock(c->a->store, &now_us, &cause)) == -ENOTSUP)
		r = 0;
	c->last.writes_r = r;
	if (r < 0)
		snprintf(c->last.writes_error, sizeof(c->last.writes_error), "%s",
		        cause ? cause : strerror(-r));
	free(cause);
}

static void probe_done(void *arg)
{
	struct census *c = arg;

	c->probing = false;
}

void census_refresh(struct census *c)
{
	if (!c->probing) {
		c->probing = true;
		if (storeq_run(c->a->storeq, probe_run, probe_done, c) < 0)
			c->probing = false;
	}
	if (c->queued)
		return;
	c->queued = true;
	if (storeq_run(c->a->readq, census_run, census_done, c) < 0) {
		c->queued = false;
		c->last.r = -ENOMEM;
		snprintf(c->last.error, sizeof(c->last.error), "out of memory");
	}
}

const struct census_counts *census_last(const struct census *c)
{
	return &c->last;
}

int census_new(struct agent *a, struct census **out)
{
	struct census *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->a = a;
	census_refresh(c);
	*out = c;
	return 0;
}

void census_free(struct census *c)
{
	free(c);
}
