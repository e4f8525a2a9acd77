#include "api-operator.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "call.h"
#include "census.h"
#include "json-text.h"
#include "keystone.h"
#include "log.h"
#include "osclient.h"
#include "praas-build.h"
#include "stats.h"
#include "store.h"

void api_version(struct call *c)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		return;
	evbuffer_add_printf(b,
	        "{\"versions\":[{\"id\":\"v1\",\"status\":\"CURRENT\",\"version\":\"%s\","
	        "\"links\":[{\"rel\":\"self\",\"href\":\"/v1/\"}]}]}",
	        PRAAS_VERSION);
	call_reply(c, 200, b);
	evbuffer_free(b);
}

/*
 * Liveness plus what the agent depends on. The database decides the
 * status (without it nothing can be served): it must answer a read, and
 * the last write must have worked or a write probe must work now (a full
 * disk still answers reads). OpenStack is reported but a Keystone outage
 * does not make the agent unhealthy, since standalone and cached calls
 * still work.
 */
void api_healthz(struct call *c)
{
	struct agent *a = call_agent(c);
	struct evbuffer *b = evbuffer_new();
	const char *openstack = "not configured";
	const struct census_counts *counts;
	const char *cause = NULL;
	size_t n = 0;
	bool writes;
	int r;

	if (b == NULL)
		return;
	/* census.h: counted now on SQLite; on MariaDB the last count, never waiting for it. */
	census_probe(a->census);
	census_refresh(a->census);
	counts = census_last(a->census);
	if ((r = counts->r) < 0)
		cause = counts->error;
	else if ((r = counts->reads.r) < 0)
		cause = counts->reads.error;
	else if ((r = counts->writes.r) < 0)
		cause = counts->writes.error;
	n = counts->all;
	writes = !a->engine.write_failing;
	if (a->os != NULL)
		openstack = keystone_token(a->os->keystone) ? "ok" : "no token yet";
	evbuffer_add_printf(b,
	        "{\"status\":\"%s\",\"database\":\"%s\",\"writes\":\"%s\",\"forwardings\":%zu,"
	        "\"openstack\":\"%s\",\"stopping\":%s",
	        r < 0 || !writes ? "unhealthy" : "ok", r < 0 ? "unavailable" : "ok",
	        writes ? "ok" : "failing", n, openstack, a->stopping ? "true" : "false");
	if (!writes) {
		log_warnx("Health check: the database refuses writes: %s", a->engine.write_error);
		evbuffer_add_printf(b, ",\"write_error\":");
		json_text_write_string(b, a->engine.write_error);
	}
	/* An operator reading a 503 wants the reason, not only the verdict. */
	if (r < 0) {
		const char *why = cause ? cause : strerror(-r);

		log_warnx("Health check: the database is unusable: %s", why);
		evbuffer_add_printf(b, ",\"database_error\":");
		json_text_write_string(b, why);
	}
	evbuffer_add(b, "}", 1);
	call_reply(c, r < 0 || !writes ? 503 : 200, b);
	evbuffer_free(b);
}

void api_metrics(struct call *c)
{
	struct agent *a = call_agent(c);
	struct evbuffer *b = evbuffer_new();
	struct fault err;

	if (b == NULL)
		return;
	if (stats_render(a->stats, a->store, a->reads, a->census, b) < 0) {
		evbuffer_free(b);
		fault_set(&err, -EIO, FAULT_STORE, "cannot count forwardings");
		call_reply_error(c, &err);
		return;
	}
	call_reply_text(c, 200, b);
	evbuffer_free(b);
}
