/*
 * The control door: each op of lib/ipc.h, parsed by control.c into a
 * struct ipc_request, becomes a typed request (struct pipeline_request)
 * run by the runner through its op's steps (ops[] below), like the v1
 * and legacy doors' requests. The steps return faults; the end of the
 * request is rendered by control.c's one table (control_reply_outcome):
 * ok with what the op came to, or error with the fault's sentence.
 */
#include "control-handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "control.h"
#include "kernel.h"
#include "log.h"
#include "pipeline.h"
#include "praas-build.h"
#include "reports.h"
#include "store.h"
#include "storeq.h"

/* One control request on its way through the runner. */
struct control_job {
	struct pipeline_request req; /* req.router_id: the line's, "" when absent */
	struct ipc_request ipc;
	struct control_reply *rep;
	const char *op; /* for logs */
	struct control_outcome out;
	struct fwd_list list; /* a list's forwardings */
	char *drift;          /* a verify's finding */
};

static struct control_job *job_of(struct runner *r)
{
	return (struct control_job *)(void *)pipeline_of(r);
}

/* A report step's verdict: reports.h returns 0, or -1 with the fault filled. */
static enum runner_verdict reported(int rc)
{
	return rc < 0 ? RUNNER_REFUSED : RUNNER_NEXT;
}

/* A port has a few forwardings, unpaged: the monitor asks when Neutron says it changed. */
static enum runner_verdict step_check_list(struct runner *r)
{
	const struct ipc_request *q = &job_of(r)->ipc;

	if ((q->fields & IPC_FIELD_PORT_ID) &&
	        (q->fields & (IPC_FIELD_MARKER | IPC_FIELD_LIMIT | IPC_FIELD_ROUTER_ID))) {
		fault_set(&r->fault, -EINVAL, FAULT_REQUEST,
		        "port_id: not with router_id, marker or limit");
		return RUNNER_REFUSED;
	}
	return RUNNER_NEXT;
}

/*
 * A paged list (marker or limit given) asks the store for one row more
 * than the page: if it comes, the page is full and next_marker says where
 * the next one starts.
 */
static enum runner_verdict step_list(struct runner *r)
{
	struct control_job *j = job_of(r);
	struct agent *a = j->req.a;
	const struct ipc_request *q = &j->ipc;
	const char *router = q->fields & IPC_FIELD_ROUTER_ID ? q->router_id : NULL;
	bool paged = q->fields & (IPC_FIELD_MARKER | IPC_FIELD_LIMIT);
	unsigned int limit = q->fields & IPC_FIELD_LIMIT ? q->limit : IPC_LIST_LIMIT_MAX;
	char *cause = NULL;
	int rc;

	if (q->fields & IPC_FIELD_PORT_ID)
		rc = store_foreach_port_id(a->store, q->port_id, fwd_list_add, &j->list, &cause);
	else if (paged)
		rc = store_foreach_page(
		        a->store, router, q->marker, limit + 1, fwd_list_add, &j->list, &cause);
	else if (router)
		rc = store_foreach_router(a->store, router, fwd_list_add, &j->list, &cause);
	else
		rc = store_foreach_all(a->store, fwd_list_add, &j->list, &cause);
	if (rc < 0) {
		fault_set(&r->fault, rc, FAULT_STORE, "cannot read forwardings: %s",
		        cause ? cause : strerror(-rc));
		free(cause);
		return RUNNER_REFUSED;
	}
	free(cause);
	if (paged && j->list.n > limit) {
		j->list.n = limit;
		j->out.next_marker = j->list.v[limit - 1].id;
	}
	/* The same status_reason as the REST API shows (a stat per DOWN one). */
	for (size_t i = 0; i < j->list.n; i++)
		kernel_explain(a->kernel, &j->list.v[i]);
	j->out.shape = CONTROL_LISTED;
	j->out.list = j->list.v;
	j->out.n = j->list.n;
	return RUNNER_NEXT;
}

static enum runner_verdict step_port_deleted(struct runner *r)
{
	struct control_job *j = job_of(r);

	return reported(reports_port_deleted(j->req.a, j->ipc.port_id, &j->out.changed, &r->fault));
}

static enum runner_verdict step_port_address_changed(struct runner *r)
{
	struct control_job *j = job_of(r);

	return reported(reports_port_address_changed(j->req.a, j->ipc.port_id, &j->ipc.old_ip,
	        &j->ipc.new_ip, &j->out.changed, &r->fault));
}

static enum runner_verdict step_router_deleted(struct runner *r)
{
	struct control_job *j = job_of(r);

	return reported(
	        reports_router_deleted(j->req.a, j->req.router_id, &j->out.changed, &r->fault));
}

static enum runner_verdict step_gateway_changed(struct runner *r)
{
	struct control_job *j = job_of(r);

	return reported(reports_gateway_changed(
	        j->req.a, j->req.router_id, &j->ipc.new_ip, &j->out.changed, &r->fault));
}

static enum runner_verdict step_resync(struct runner *r)
{
	struct control_job *j = job_of(r);
	const char *router = j->req.router_id[0] ? j->req.router_id : NULL;

	return reported(reports_resync(j->req.a, router, &j->out.changed, &r->fault));
}

/*
 * {"ok":true,"drift":null|"how","changed":N}: the monitor logs a drift only
 * when this, the one consistent look, confirms it.
 */
static enum runner_verdict step_verify(struct runner *r)
{
	struct control_job *j = job_of(r);
	int rc = reports_verify(j->req.a, j->req.router_id, &j->drift, &j->out.changed, &r->fault);

	if (j->drift != NULL)
		log_info("Control verify: the table of router %s drifted (%s): %s",
		        j->req.router_id, j->drift, rc == 0 ? "rewritten" : "the rewrite failed");
	j->out.shape = CONTROL_VERIFIED;
	j->out.drift = j->drift;
	return reported(rc);
}

/*
 * The monitor asking for the lease: one UPDATE of the shared database (the
 * monitors of every node share it). -EAGAIN: another node's monitor took it
 * at the same instant, and won: not held, not an error.
 */
static enum runner_verdict step_lease(struct runner *r)
{
	struct control_job *j = job_of(r);
	char *cause = NULL;
	int rc = store_lease_take(j->req.a->store, j->ipc.holder, (int64_t)j->ipc.ttl_ms * 1000,
	        &j->out.held, &cause);

	j->out.shape = CONTROL_LEASED;
	if (rc < 0 && rc != -EAGAIN) {
		fault_set(&r->fault, rc, FAULT_STORE, "lease for %s: %s", j->ipc.holder,
		        cause ? cause : strerror(-rc));
		free(cause);
		return RUNNER_REFUSED;
	}
	free(cause);
	return RUNNER_NEXT;
}

/* Answers the peer, logs what it asked, and frees the job. */
static void on_finish(struct runner *r, const struct fault *fault)
{
	struct control_job *j = job_of(r);

	if (fault != NULL)
		log_warnx("Control %s failed: %s", j->op, fault->detail);
	else if (j->out.shape != CONTROL_LISTED && j->out.changed > 0)
		log_info("Control %s: %u forwarding%s changed", j->op, j->out.changed,
		        j->out.changed == 1 ? "" : "s");
	control_reply_outcome(j->rep, &j->out, fault);
	free(j->list.v);
	free(j->drift);
	free(j);
}

/* Each op's steps; an op without a line answers "not supported" (control.c). */
static const struct runner_step list_steps[] = {
        RUNNER_STEP(step_check_list), RUNNER_STEP(step_list)};
static const struct runner_step port_deleted_steps[] = {RUNNER_STEP(step_port_deleted)};
static const struct runner_step port_address_changed_steps[] = {
        RUNNER_STEP(step_port_address_changed)};
static const struct runner_step router_deleted_steps[] = {RUNNER_STEP(step_router_deleted)};
static const struct runner_step gateway_changed_steps[] = {RUNNER_STEP(step_gateway_changed)};
static const struct runner_step resync_steps[] = {RUNNER_STEP(step_resync)};
static const struct runner_step verify_steps[] = {RUNNER_STEP(step_verify)};
static const struct runner_step lease_steps[] = {RUNNER_STEP(step_lease)};

/* clang-format off */
#define OP(o, name, t) [o] = {name, t, sizeof(t) / sizeof((t)[0])}
/* clang-format on */
static const struct control_plan ops[IPC_OP_COUNT] = {
        OP(IPC_OP_LIST, "list", list_steps),
        OP(IPC_OP_PORT_DELETED, "port_deleted", port_deleted_steps),
        OP(IPC_OP_PORT_ADDRESS_CHANGED, "port_address_changed", port_address_changed_steps),
        OP(IPC_OP_ROUTER_DELETED, "router_deleted", router_deleted_steps),
        OP(IPC_OP_GATEWAY_CHANGED, "gateway_changed", gateway_changed_steps),
        OP(IPC_OP_RESYNC, "resync", resync_steps),
        OP(IPC_OP_VERIFY, "verify", verify_steps),
        OP(IPC_OP_LEASE, "lease", lease_steps),
};

const struct control_plan *control_handlers_plan(enum ipc_op op)
{
	return (unsigned int)op < IPC_OP_COUNT && ops[op].nsteps > 0 ? &ops[op] : NULL;
}

/*
 * Every op's steps are the store's and the kernel's, none waits for
 * OpenStack: the whole job runs through the store gate (storeq.h), its
 * answer included. The reply outlives a peer that went meanwhile.
 */
static void job_run(void *arg)
{
	struct control_job *j = arg;
	const struct control_plan *plan = control_handlers_plan(j->ipc.op);

	runner_start(&j->req.run, plan->steps, plan->nsteps, on_finish);
}

/* The control door: the line, parsed by control.c, becomes a typed request and runs. */
static void on_request(struct control_reply *rep, const struct ipc_request *q, void *arg)
{
	const struct control_plan *plan = control_handlers_plan(q->op);
	struct control_job *j = calloc(1, sizeof(*j));
	struct fault f;

	if (j == NULL) {
		fault_no_memory(&f);
		control_reply_outcome(rep, NULL, &f);
		return;
	}
	j->req.a = arg;
	j->req.legacy = false;
	if (q->fields & IPC_FIELD_ROUTER_ID)
		snprintf(j->req.router_id, sizeof(j->req.router_id), "%s", q->router_id);
	j->ipc = *q;
	j->rep = rep;
	j->op = plan->name;
	j->out.shape = CONTROL_CHANGED;
	if (storeq_run(j->req.a->storeq, job_run, NULL, j) < 0) {
		free(j);
		fault_no_memory(&f);
		control_reply_outcome(rep, NULL, &f);
	}
}

int control_handlers_open(struct agent *a, char **cause)
{
	struct control_handlers handlers = {.arg = a};

	for (int op = 0; op < IPC_OP_COUNT; op++)
		if (control_handlers_plan(op) != NULL)
			handlers.by_op[op] = on_request;
	return control_open(a->base, a->cfg.control_socket, "praas-pat-agent " PRAAS_VERSION,
	        &handlers, &a->control, cause);
}
