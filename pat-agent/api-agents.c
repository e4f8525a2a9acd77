#include "api-agents.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "call.h"
#include "fault.h"
#include "fwd.h"
#include "heartbeat.h"
#include "json-text.h"
#include "pipeline.h"
#include "store.h"
#include "storeq.h"

struct agents_req {
	struct pipeline_request req; /* caller */
	struct call *call;
};

struct render {
	struct evbuffer *out;
	int64_t newest_us;
	size_t n;
};

static struct agents_req *agents_of(struct runner *r)
{
	return runner_of(r, struct agents_req, req.run);
}

static void put_time(struct evbuffer *out, const char *name, int64_t us)
{
	char buf[FWD_TIME_MAX];

	evbuffer_add_printf(
	        out, ",\"%s\":\"%s\"", name, fwd_time_format(us / 1000000, buf, sizeof(buf)));
}

/*
 * Behind: the router changes made before its last heartbeat that it had
 * not applied then; later ones are not held against it yet.
 */
static int put_agent(const struct store_agent *ag, void *arg)
{
	struct render *rd = arg;
	int64_t upto = rd->newest_us < ag->seen_us ? rd->newest_us : ag->seen_us;
	int64_t behind = ag->applied_us != 0 && upto > ag->applied_us ? upto - ag->applied_us : 0;

	evbuffer_add_printf(rd->out, "%s{\"host\":", rd->n++ ? "," : "");
	if (json_text_write_string(rd->out, ag->host) < 0 ||
	        evbuffer_add_printf(rd->out, ",\"version\":") < 0 ||
	        json_text_write_string(rd->out, ag->version) < 0)
		return -ENOMEM;
	evbuffer_add_printf(
	        rd->out, ",\"alive\":%s", heartbeat_alive(ag->age_us) ? "true" : "false");
	put_time(rd->out, "started_at", ag->started_us);
	put_time(rd->out, "last_seen", ag->seen_us);
	evbuffer_add_printf(rd->out,
	        ",\"last_seen_ago_ms\":%lld,\"routers\":%u,\"behind_ms\":%lld}",
	        (long long)(ag->age_us > 0 ? ag->age_us / 1000 : 0), ag->routers,
	        (long long)(behind / 1000));
	return 0;
}

static enum runner_verdict agents_now(struct runner *r)
{
	struct agents_req *q = agents_of(r);
	struct store *s = q->req.a->reads;
	struct render rd = {0};
	char *cause = NULL;
	int e;

	if (!q->req.caller.admin)
		return fault_set(&r->fault, -EPERM, FAULT_PROJECT,
		               "only an admin may list the agents"),
		       RUNNER_REFUSED;
	if ((rd.out = evbuffer_new()) == NULL)
		return fault_set(&r->fault, -ENOMEM, FAULT_MEMORY, "out of memory"), RUNNER_REFUSED;
	evbuffer_add_printf(rd.out, "{\"agents\":[");
	if ((e = store_newest_change(s, &rd.newest_us, &cause)) < 0 ||
	        (e = store_foreach_agent(s, put_agent, &rd, &cause)) < 0) {
		fault_set(&r->fault, e, FAULT_STORE, "cannot read the agents: %s",
		        cause ? cause : strerror(-e));
		free(cause);
		evbuffer_free(rd.out);
		return RUNNER_REFUSED;
	}
	evbuffer_add_printf(rd.out, "]}");
	call_reply(q->call, 200, rd.out);
	evbuffer_free(rd.out);
	return RUNNER_NEXT;
}

/* Through the store gate (storeq.h): on MariaDB the loop goes on while it reads. */
static enum runner_verdict step_agents(struct runner *r)
{
	return storeq_step(agents_of(r)->req.a->readq, r, agents_now);
}

static void on_finish(struct runner *r, const struct fault *fault)
{
	struct agents_req *q = agents_of(r);

	if (fault != NULL)
		call_reply_error(q->call, fault);
	free(q);
}

static const struct runner_step agents_steps[] = {
        RUNNER_STEP(pipeline_authenticate), RUNNER_STEP(step_agents)};

void api_agents(struct call *c)
{
	struct agents_req *q = calloc(1, sizeof(*q));
	struct fault err;

	if (q == NULL) {
		fault_no_memory(&err);
		call_reply_error(c, &err);
		return;
	}
	q->call = c;
	q->req.a = call_agent(c);
	q->req.token = call_header(c, "X-Auth-Token");
	if (call_peer(c, &q->req.peer) == NULL)
		memset(&q->req.peer, 0, sizeof(q->req.peer));
	runner_start(&q->req.run, RUNNER_STEPS(agents_steps), on_finish);
}
