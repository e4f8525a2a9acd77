#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "monitor.h"

struct sent {
	const char *op;
	report_done_cb *done;
	void *arg;
};

static void on_reported(const struct ipc_answer *ans, const char *error, void *arg)
{
	struct sent *s = arg;

	if (ans == NULL)
		log_warnx("Failed to report %s to the pat-agent: %s", s->op, error);
	else if (!ans->ok)
		log_warnx("The pat-agent refused %s: %s", s->op, ans->error ? ans->error : "?");
	if (s->done != NULL)
		s->done(ans != NULL && ans->ok, s->arg);
	free(s);
}

/* The request for a; false when a is a suspect not confirmed gone. */
static bool build(const struct action *a, bool confirmed_gone, struct ipc_request *req)
{
	char old[ADDR_STRLEN], new[ADDR_STRLEN];

	memset(req, 0, sizeof(*req));
	switch (a->kind) {
	case ACTION_PORT_SUSPECT:
		if (!confirmed_gone)
			return false;
		req->op = IPC_OP_PORT_DELETED;
		req->fields = IPC_FIELD_PORT_ID;
		strcpy(req->port_id, a->id);
		log_info("Port %s was deleted: removing its forwardings", a->id);
		break;
	case ACTION_ROUTER_SUSPECT:
		if (!confirmed_gone)
			return false;
		req->op = IPC_OP_ROUTER_DELETED;
		req->fields = IPC_FIELD_ROUTER_ID;
		strcpy(req->router_id, a->id);
		log_info("Router %s was deleted: removing its forwardings", a->id);
		break;
	case ACTION_PORT_MOVED:
		req->op = IPC_OP_PORT_ADDRESS_CHANGED;
		req->fields = IPC_FIELD_PORT_ID | IPC_FIELD_OLD_IP | IPC_FIELD_NEW_IP;
		strcpy(req->port_id, a->id);
		req->old_ip = a->old_ip;
		req->new_ip = a->new_ip;
		log_info("Port %s moved from %s to %s: its forwardings follow", a->id,
		        addr_format(&a->old_ip, old, sizeof(old)),
		        addr_format(&a->new_ip, new, sizeof(new)));
		break;
	case ACTION_GATEWAY_CHANGED:
		req->op = IPC_OP_GATEWAY_CHANGED;
		req->fields = IPC_FIELD_ROUTER_ID | IPC_FIELD_NEW_IP;
		strcpy(req->router_id, a->id);
		req->new_ip = a->new_ip;
		log_info("Router %s's gateway moved from %s to %s: re-keying", a->id,
		        addr_format(&a->old_ip, old, sizeof(old)),
		        addr_format(&a->new_ip, new, sizeof(new)));
		break;
	}
	return true;
}

int report_action(struct monitor *m, const struct action *a, bool confirmed_gone,
        report_done_cb *done, void *arg)
{
	struct ipc_request req;
	struct sent *s;
	int r;

	if (!build(a, confirmed_gone, &req))
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->op = ipc_ops[req.op].name;
	s->done = done;
	s->arg = arg;
	if ((r = ipc_client_request(m->ipc, &req, on_reported, s)) < 0) {
		log_warnx("Failed to report %s to the pat-agent: %s", s->op, strerror(-r));
		free(s);
		return r;
	}
	return 1;
}
