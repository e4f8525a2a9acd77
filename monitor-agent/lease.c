#include "lease.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwd.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"
#include "notify.h"

#define LEASE_ASK_MAX_S 5.0

struct lease {
	struct monitor *m; /* NULL once lease_free orphaned it */
	struct event *timer;
	char holder[FWD_NAME_MAX + 1]; /* this monitor: host.pid */
	bool acting;
	bool asking; /* a request is pending: not two at once */
	bool missed; /* a tick came while asking: ask again at its answer */
	bool told;   /* "standing by" said once */
};

/* host.pid, in the characters a control socket name takes. */
static void make_holder(char *buf, size_t len)
{
	char host[FWD_NAME_MAX + 1] = "monitor";

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "monitor");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
		            *p))
			*p = '_';
	snprintf(buf, len, "%.50s.%ld", host, (long)getpid());
}

static void set_acting(struct lease *l, bool acting, const char *why)
{
	if (acting == l->acting) {
		if (!acting && !l->told)
			log_info("Standing by: %s", why);
		l->told = true;
		return;
	}
	l->acting = acting;
	l->told = true;
	if (acting) {
		log_info("Acting: took the monitor lease as %s", l->holder);
		notify_start(l->m->notify);
		monitor_kick(l->m);
	} else {
		log_warnx("Standing by: lost the monitor lease (%s)", why);
		notify_stop(l->m->notify);
	}
}

static void ask(evutil_socket_t fd, short what, void *arg);

static void on_answer(const struct ipc_answer *ans, const char *error, void *arg)
{
	struct lease *l = arg;

	l->asking = false;
	if (l->m == NULL) { /* orphaned by lease_free: this was the answer due */
		free(l);
		return;
	}
	if (ans == NULL || !ans->ok)
		set_acting(l, false, ans ? ans->error : error);
	else
		set_acting(l, ipc_answer_held(ans), "another monitor holds the lease");
	/*
	 * An answer slower than h (a loaded pat-agent or database) made the
	 * tick it overlapped skip its ask: waiting for the next tick would let
	 * a standby take over up to h later than the 4h lease.h promises.
	 */
	if (l->missed) {
		l->missed = false;
		ask(-1, 0, l);
	}
}

/* How often to ask: half a period, at most LEASE_ASK_MAX_S. */
static double ask_every(const struct monitor *m)
{
	double half = m->cfg.second_monitoring > 0 ? m->cfg.second_monitoring / 2 : 0.5;

	return half < LEASE_ASK_MAX_S ? half : LEASE_ASK_MAX_S;
}

static void ask(evutil_socket_t fd, short what, void *arg)
{
	struct lease *l = arg;
	struct ipc_request req = {
	        .op = IPC_OP_LEASE, .fields = IPC_FIELD_HOLDER | IPC_FIELD_TTL_MS};
	double ttl_ms = ceil(ask_every(l->m) * 3000);

	(void)fd;
	(void)what;
	if (l->asking) {
		l->missed = true;
		return;
	}
	snprintf(req.holder, sizeof(req.holder), "%s", l->holder);
	req.ttl_ms = ttl_ms > IPC_LEASE_TTL_MAX_MS ? IPC_LEASE_TTL_MAX_MS : (unsigned int)ttl_ms;
	if (ipc_client_request(l->m->ipc, &req, on_answer, l) < 0) {
		set_acting(l, false, "the pat-agent cannot be asked");
		return;
	}
	l->asking = true;
}

int lease_start(struct monitor *m, struct lease **out)
{
	double every = ask_every(m);
	struct timeval tv = {(time_t)every, (suseconds_t)((every - floor(every)) * 1e6)};
	struct lease *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	l->m = m;
	make_holder(l->holder, sizeof(l->holder));
	l->timer = event_new(m->base, -1, EV_PERSIST, ask, l);
	if (l->timer == NULL || event_add(l->timer, &tv) < 0) {
		lease_free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

void lease_free(struct lease *l)
{
	if (l == NULL)
		return;
	if (l->timer)
		event_free(l->timer);
	/* An answer still due calls on_answer with l: it frees the orphan then. */
	if (l->asking) {
		l->timer = NULL;
		l->m = NULL;
		return;
	}
	free(l);
}

void lease_ask_now(struct lease *l)
{
	if (l != NULL)
		ask(-1, 0, l);
}

bool lease_acting(const struct lease *l)
{
	return l != NULL && l->acting;
}
