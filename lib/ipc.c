#include "ipc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cause.h"
#include "fwd-json.h"
#include "json-text.h"
#include "log.h"

const struct ipc_op_desc ipc_ops[IPC_OP_COUNT] = {
        [IPC_OP_PING] = {"ping", 0, 0},
        [IPC_OP_LIST] = {"list", 0,
                IPC_FIELD_ROUTER_ID | IPC_FIELD_PORT_ID | IPC_FIELD_MARKER | IPC_FIELD_LIMIT},
        [IPC_OP_PORT_DELETED] = {"port_deleted", IPC_FIELD_PORT_ID, 0},
        [IPC_OP_PORT_ADDRESS_CHANGED] = {"port_address_changed",
                IPC_FIELD_PORT_ID | IPC_FIELD_OLD_IP | IPC_FIELD_NEW_IP, 0},
        [IPC_OP_ROUTER_DELETED] = {"router_deleted", IPC_FIELD_ROUTER_ID, 0},
        [IPC_OP_GATEWAY_CHANGED] = {"gateway_changed", IPC_FIELD_ROUTER_ID | IPC_FIELD_NEW_IP,
                IPC_FIELD_OLD_IP},
        [IPC_OP_RESYNC] = {"resync", 0, IPC_FIELD_ROUTER_ID},
        [IPC_OP_VERIFY] = {"verify", IPC_FIELD_ROUTER_ID, 0},
        [IPC_OP_LEASE] = {"lease", IPC_FIELD_HOLDER | IPC_FIELD_TTL_MS, 0},
};

static const struct {
	const char *name;
	unsigned int bit;
} ipc_fields[] = {
        {"port_id", IPC_FIELD_PORT_ID},
        {"router_id", IPC_FIELD_ROUTER_ID},
        {"old_ip", IPC_FIELD_OLD_IP},
        {"new_ip", IPC_FIELD_NEW_IP},
        {"marker", IPC_FIELD_MARKER},
        {"limit", IPC_FIELD_LIMIT},
        {"holder", IPC_FIELD_HOLDER},
        {"ttl_ms", IPC_FIELD_TTL_MS},
};
#define N_FIELDS (sizeof(ipc_fields) / sizeof(ipc_fields[0]))

/* Reads a JSON integer that fits int64 (json-c clamps larger ones). */
static int get_int64(struct json_object *v, int64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	*out = json_object_get_int64(v);
	if (*out == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return -ERANGE;
	return 0;
}

static int find_op(const char *name)
{
	for (int i = 0; i < IPC_OP_COUNT; i++)
		if (strcmp(ipc_ops[i].name, name) == 0)
			return i;
	return -1;
}

/* "ping, list, ..." for the unknown-op error. */
static const char *op_names(void)
{
	return "ping, list, port_deleted, port_address_changed, router_deleted, "
	       "gateway_changed, resync, verify";
}

static int read_op(struct json_object *root, struct ipc_request *req, char **error)
{
	struct json_object *v;
	int op;

	if (!json_object_object_get_ex(root, "op", &v))
		return cause_invalid(error, "op: is required");
	if (!json_object_is_type(v, json_type_string))
		return cause_invalid(error, "op: must be a string");
	if ((op = find_op(json_object_get_string(v))) < 0)
		return cause_invalid(error, "op: unknown; expected one of %s", op_names());
	req->op = (enum ipc_op)op;
	return 0;
}

static int read_field(unsigned int bit, const char *name, struct json_object *v,
        struct ipc_request *req, char **error)
{
	const char *s;
	struct addr *a;
	int64_t n;

	if (bit == IPC_FIELD_LIMIT || bit == IPC_FIELD_TTL_MS) {
		int max = bit == IPC_FIELD_LIMIT ? IPC_LIST_LIMIT_MAX : IPC_LEASE_TTL_MAX_MS;

		if (get_int64(v, &n) < 0 || n < 1 || n > max)
			return cause_invalid(
			        error, "%s: must be an integer from 1 to %d", name, max);
		*(bit == IPC_FIELD_LIMIT ? &req->limit : &req->ttl_ms) = (unsigned int)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return cause_invalid(error, "%s: must be a string", name);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return cause_invalid(error, "%s: contains a NUL character", name);
	if (bit == IPC_FIELD_PORT_ID || bit == IPC_FIELD_ROUTER_ID || bit == IPC_FIELD_HOLDER) {
		if (!fwd_json_name_valid(s))
			return cause_invalid(error,
			        "%s: must be 1 to %d characters of [A-Za-z0-9._-]", name,
			        FWD_NAME_MAX);
		strcpy(bit == IPC_FIELD_PORT_ID           ? req->port_id
		                : bit == IPC_FIELD_HOLDER ? req->holder
		                                          : req->router_id,
		        s);
		return 0;
	}
	if (bit == IPC_FIELD_MARKER) {
		if (!fwd_uuid_valid(s))
			return cause_invalid(error, "%s: must be a forwarding id (a UUID)", name);
		strcpy(req->marker, s);
		return 0;
	}
	a = bit == IPC_FIELD_OLD_IP ? &req->old_ip : &req->new_ip;
	if (addr_parse(s, a) < 0)
		return cause_invalid(error, "%s: is not an IPv4 or IPv6 address", name);
	return 0;
}

static int read_members(struct json_object *root, struct ipc_request *req, char **error)
{
	const struct ipc_op_desc *d = &ipc_ops[req->op];
	size_t i;
	int r;

	json_object_object_foreach(root, key, val)
	{
		if (strcmp(key, "id") == 0 || strcmp(key, "op") == 0)
			continue;
		for (i = 0; i < N_FIELDS && strcmp(ipc_fields[i].name, key) != 0; i++)
			;
		if (i == N_FIELDS)
			return cause_invalid(error, "%.64s: is not a field of the protocol", key);
		if (!((d->required | d->optional) & ipc_fields[i].bit))
			return cause_invalid(error, "%s: is not taken by op %s", key, d->name);
		if ((r = read_field(ipc_fields[i].bit, key, val, req, error)) < 0)
			return r;
		req->fields |= ipc_fields[i].bit;
	}
	for (i = 0; i < N_FIELDS; i++)
		if ((d->required & ipc_fields[i].bit) && !(req->fields & ipc_fields[i].bit))
			return cause_invalid(
			        error, "%s: is required by op %s", ipc_fields[i].name, d->name);
	return 0;
}

int ipc_request_parse(const char *line, size_t len, struct ipc_request *req, char **error)
{
	struct json_object *root = NULL, *v;
	char why[96];
	int r;

	memset(req, 0, sizeof(*req));
	*error = NULL;
	if (len > IPC_LINE_MAX)
		return cause_invalid(error, "request: longer than %d bytes", IPC_LINE_MAX);
	if ((r = json_text_parse(line, len, &root, why, sizeof(why))) < 0)
		return r == -ENOMEM ? r : cause_invalid(error, "request: %s", why);
	if (!json_object_is_type(root, json_type_object)) {
		r = cause_invalid(error, "request: must be a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(root, "id", &v)) {
		if (get_int64(v, &req->id) < 0) {
			r = cause_invalid(error, "id: must be an integer (int64)");
			goto out;
		}
		req->has_id = true;
	}
	if ((r = read_op(root, req, error)) < 0 || (r = read_members(root, req, error)) < 0)
		goto out;
out:
	json_object_put(root);
	return r;
}

int ipc_request_format(struct evbuffer *out, const struct ipc_request *req)
{
	char buf[ADDR_STRLEN];
	int sep = 0;

	if ((unsigned int)req->op >= IPC_OP_COUNT)
		return -EINVAL;
	if (evbuffer_add(out, "{", 1) < 0)
		return -ENOMEM;
	if (req->has_id) {
		if (evbuffer_add_printf(out, "\"id\":%lld", (long long)req->id) < 0)
			return -ENOMEM;
		sep = 1;
	}
	if (evbuffer_add_printf(out, "%s\"op\":\"%s\"", sep ? "," : "", ipc_ops[req->op].name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < N_FIELDS; i++) {
		unsigned int bit = ipc_fields[i].bit;
		const char *value;

		if (!(req->fields & bit))
			continue;
		if (bit == IPC_FIELD_LIMIT || bit == IPC_FIELD_TTL_MS) {
			if (evbuffer_add_printf(out, ",\"%s\":%u", ipc_fields[i].name,
			            bit == IPC_FIELD_LIMIT ? req->limit : req->ttl_ms) < 0)
				return -ENOMEM;
			continue;
		}
		if (bit == IPC_FIELD_MARKER)
			value = req->marker;
		else if (bit == IPC_FIELD_HOLDER)
			value = req->holder;
		else if (bit == IPC_FIELD_PORT_ID || bit == IPC_FIELD_ROUTER_ID)
			value = bit == IPC_FIELD_PORT_ID ? req->port_id : req->router_id;
		else
			value = addr_format(bit == IPC_FIELD_OLD_IP ? &req->old_ip : &req->new_ip,
			        buf, sizeof(buf));
		if (evbuffer_add_printf(out, ",\"%s\":", ipc_fields[i].name) < 0 ||
		        json_text_write_string(out, value) < 0)
			return -ENOMEM;
	}
	return evbuffer_add(out, "}\n", 2) < 0 ? -ENOMEM : 0;
}

/* ---- answers ---- */

static int answer_head(struct evbuffer *out, bool has_id, int64_t id, bool ok)
{
	int n = has_id ? evbuffer_add_printf(out, "{\"id\":%lld,\"ok\":%s", (long long)id,
	                         ok ? "true" : "false")
	               : evbuffer_add_printf(out, "{\"ok\":%s", ok ? "true" : "false");
	return n < 0 ? -ENOMEM : 0;
}

int ipc_answer_begin(struct evbuffer *out, bool has_id, int64_t id)
{
	return answer_head(out, has_id, id, true);
}

int ipc_answer_end(struct evbuffer *out)
{
	return evbuffer_add(out, "}\n", 2) < 0 ? -ENOMEM : 0;
}

int ipc_answer_ok(struct evbuffer *out, bool has_id, int64_t id)
{
	if (answer_head(out, has_id, id, true) < 0)
		return -ENOMEM;
	return ipc_answer_end(out);
}

int ipc_answer_error(struct evbuffer *out, bool has_id, int64_t id, const char *error)
{
	if (answer_head(out, has_id, id, false) < 0 || evbuffer_add(out, ",\"error\":", 9) < 0 ||
	        json_text_write_string(out, error ? error : "failed") < 0)
		return -ENOMEM;
	return ipc_answer_end(out);
}

int ipc_answer_list(struct evbuffer *out, bool has_id, int64_t id, const struct forwarding *f,
        size_t n, const char *next_marker)
{
	if (answer_head(out, has_id, id, true) < 0 ||
	        evbuffer_add(out, ",\"forwardings\":", 15) < 0 ||
	        fwd_json_write_array(out, f, n) < 0)
		return -ENOMEM;
	if (next_marker != NULL &&
	        (evbuffer_add(out, ",\"next_marker\":", 15) < 0 ||
	                json_text_write_string(out, next_marker) < 0))
		return -ENOMEM;
	return ipc_answer_end(out);
}

int ipc_answer_ping(struct evbuffer *out, bool has_id, int64_t id, const char *agent)
{
	if (answer_head(out, has_id, id, true) < 0 ||
	        evbuffer_add_printf(out, ",\"version\":%d,\"agent\":", IPC_PROTOCOL_VERSION) < 0 ||
	        json_text_write_string(out, agent) < 0)
		return -ENOMEM;
	return ipc_answer_end(out);
}

int ipc_answer_parse(const char *line, size_t len, struct ipc_answer *ans, char **error)
{
	struct json_object *v;
	char why[96];
	int r;

	memset(ans, 0, sizeof(*ans));
	*error = NULL;
	if ((r = json_text_parse(line, len, &ans->root, why, sizeof(why))) < 0)
		return r == -ENOMEM ? r : cause_invalid(error, "answer: %s", why);
	if (!json_object_is_type(ans->root, json_type_object)) {
		r = cause_invalid(error, "answer: must be a JSON object");
		goto bad;
	}
	if (json_object_object_get_ex(ans->root, "id", &v)) {
		if (get_int64(v, &ans->id) < 0) {
			r = cause_invalid(error, "answer: id must be an integer");
			goto bad;
		}
		ans->has_id = true;
	}
	if (!json_object_object_get_ex(ans->root, "ok", &v) ||
	        !json_object_is_type(v, json_type_boolean)) {
		r = cause_invalid(error, "answer: ok must be true or false");
		goto bad;
	}
	ans->ok = json_object_get_boolean(v);
	if (!ans->ok) {
		ans->error = "failed without a reason";
		if (json_object_object_get_ex(ans->root, "error", &v) &&
		        json_object_is_type(v, json_type_string))
			ans->error = json_object_get_string(v);
	}
	return 0;
bad:
	ipc_answer_clear(ans);
	return r;
}

const char *ipc_answer_drift(const struct ipc_answer *ans)
{
	struct json_object *v;

	if (ans->root == NULL || !json_object_object_get_ex(ans->root, "drift", &v) ||
	        !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool ipc_answer_held(const struct ipc_answer *ans)
{
	struct json_object *v;

	return ans->root != NULL && json_object_object_get_ex(ans->root, "held", &v) &&
	        json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

const char *ipc_answer_next_marker(const struct ipc_answer *ans)
{
	struct json_object *v;

	if (ans->root == NULL || !json_object_object_get_ex(ans->root, "next_marker", &v) ||
	        !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void ipc_answer_clear(struct ipc_answer *ans)
{
	json_object_put(ans->root);
	memset(ans, 0, sizeof(*ans));
}

int ipc_answer_forwardings(
        const struct ipc_answer *ans, struct forwarding **out, size_t *n, char **error)
{
	struct json_object *arr;
	struct forwarding *f;
	size_t len;
	int r;

	*out = NULL;
	*n = 0;
	*error = NULL;
	if (!json_object_object_get_ex(ans->root, "forwardings", &arr) ||
	        !json_object_is_type(arr, json_type_array))
		return cause_invalid(error, "answer: forwardings missing or not an array");
	len = json_object_array_length(arr);
	if ((f = calloc(len ? len : 1, sizeof(*f))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char *why;

		if ((r = fwd_json_decode(json_object_array_get_idx(arr, i), &f[i], &why)) < 0) {
			free(f);
			if (r == -ENOMEM)
				return r;
			r = cause_invalid(
			        error, "answer: forwardings[%zu]: %s", i, why ? why : "bad");
			free(why);
			return r;
		}
	}
	*out = f; /* the caller owns the array */
	*n = len;
	return 0;
}

/* ---- client ---- */

struct pending {
	TAILQ_ENTRY(pending) entry;
	int64_t id;
	struct timeval sent;
	ipc_client_answer_cb cb;
	void *arg;
};
TAILQ_HEAD(pending_list, pending);

struct ipc_client {
	struct event_base *base;
	struct sockaddr_un sun;
	ipc_client_state_cb state_cb;
	void *arg;
	struct bufferevent *bev; /* NULL while disconnected */
	struct event *retry;     /* reconnect timer */
	struct event *watchdog;  /* answer timeout */
	struct event *deferred;  /* runs callbacks failed while sending */
	unsigned int backoff_ms;
	unsigned int timeout_ms;
	int64_t next_id;
	struct pending_list pending;
	struct pending_list failed; /* to be told "connection lost" from the loop */
	char *failure;              /* why the requests in failed failed */
};

static void client_connect(struct ipc_client *c);

static void ms_to_tv(unsigned int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* Tells every request in failed that no answer will come. */
static void run_failed(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;
	struct pending *p;
	char *why = c->failure;

	c->failure = NULL;
	while ((p = TAILQ_FIRST(&c->failed)) != NULL) {
		TAILQ_REMOVE(&c->failed, p, entry);
		p->cb(NULL, why ? why : "connection lost", p->arg);
		free(p);
	}
	free(why);
}

static void schedule_retry(struct ipc_client *c)
{
	struct timeval tv;

	ms_to_tv(c->backoff_ms, &tv);
	c->backoff_ms = c->backoff_ms * 2 > IPC_CLIENT_BACKOFF_MAX_MS ? IPC_CLIENT_BACKOFF_MAX_MS
	                                                              : c->backoff_ms * 2;
	evtimer_add(c->retry, &tv);
}

/* Drops the connection: pending requests fail, a reconnect is scheduled. */
static void client_hangup(struct ipc_client *c, const char *why)
{
	bool was = c->bev != NULL;

	log_debug("ipc client %s: %s", c->sun.sun_path, why);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	evtimer_del(c->watchdog);
	TAILQ_CONCAT(&c->failed, &c->pending, entry);
	if (!TAILQ_EMPTY(&c->failed)) {
		if (c->failure == NULL)
			c->failure = strdup(why);
		event_active(c->deferred, 0, 0);
	}
	schedule_retry(c);
	if (was && c->state_cb != NULL)
		c->state_cb(false, c->arg);
}

static void arm_watchdog(struct ipc_client *c)
{
	struct pending *p = TAILQ_FIRST(&c->pending);
	struct timeval now, due, left;

	if (c->timeout_ms == 0 || p == NULL) {
		evtimer_del(c->watchdog);
		return;
	}
	ms_to_tv(c->timeout_ms, &left);
	timeradd(&p->sent, &left, &due);
	event_base_gettimeofday_cached(c->base, &now);
	if (timercmp(&due, &now, <))
		timerclear(&left);
	else
		timersub(&due, &now, &left);
	evtimer_add(c->watchdog, &left);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	client_hangup(arg, "no answer in time");
}

static void deliver(struct ipc_client *c, const char *line, size_t len)
{
	struct ipc_answer ans;
	struct pending *p;
	char *error = NULL;

	if (ipc_answer_parse(line, len, &ans, &error) < 0) {
		client_hangup(c, error ? error : "malformed answer");
		free(error);
		return;
	}
	TAILQ_FOREACH(p, &c->pending, entry)
	if (ans.has_id && p->id == ans.id)
		break;
	if (p == NULL) {
		ipc_answer_clear(&ans);
		client_hangup(c, "answer to no pending request");
		return;
	}
	TAILQ_REMOVE(&c->pending, p, entry);
	p->cb(&ans, NULL, p->arg);
	free(p);
	ipc_answer_clear(&ans);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ipc_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	/* deliver() may hang up, which frees bev: re-check each round. */
	while (c->bev == bev) {
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > IPC_ANSWER_MAX)
				client_hangup(c, "answer too long");
			break;
		}
		deliver(c, line, len);
		free(line);
	}
	if (c->bev == bev)
		arm_watchdog(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	client_hangup(
	        arg, what & BEV_EVENT_EOF ? "peer closed the connection" : "connection error");
}

static void client_connect(struct ipc_client *c)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&c->sun, sizeof(c->sun)) < 0) {
		/* A Unix socket connects at once or not at all (EAGAIN: backlog full). */
		log_debug("ipc client: connect %s: %s", c->sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		schedule_retry(c);
		return;
	}
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		schedule_retry(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	if (bufferevent_enable(c->bev, EV_READ) < 0) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		schedule_retry(c);
		return;
	}
	c->backoff_ms = IPC_CLIENT_BACKOFF_MIN_MS;
	if (c->state_cb != NULL)
		c->state_cb(true, c->arg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	client_connect(arg);
}

struct ipc_client *ipc_client_new(
        struct event_base *base, const char *path, ipc_client_state_cb state_cb, void *arg)
{
	struct ipc_client *c;

	if (strlen(path) >= sizeof(c->sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->sun.sun_family = AF_UNIX;
	strcpy(c->sun.sun_path, path);
	c->state_cb = state_cb;
	c->arg = arg;
	c->backoff_ms = IPC_CLIENT_BACKOFF_MIN_MS;
	c->next_id = 1;
	TAILQ_INIT(&c->pending);
	TAILQ_INIT(&c->failed);
	c->retry = evtimer_new(base, on_retry, c);
	c->watchdog = evtimer_new(base, on_watchdog, c);
	c->deferred = event_new(base, -1, 0, run_failed, c);
	if (c->retry == NULL || c->watchdog == NULL || c->deferred == NULL) {
		ipc_client_free(c);
		errno = ENOMEM;
		return NULL;
	}
	/* The first attempt runs from the loop, so state_cb never fires inside new(). */
	event_active(c->retry, EV_TIMEOUT, 0);
	return c;
}

void ipc_client_free(struct ipc_client *c)
{
	struct pending *p;

	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	TAILQ_CONCAT(&c->failed, &c->pending, entry);
	while ((p = TAILQ_FIRST(&c->failed)) != NULL) {
		TAILQ_REMOVE(&c->failed, p, entry);
		p->cb(NULL, "client closed", p->arg);
		free(p);
	}
	if (c->retry != NULL)
		event_free(c->retry);
	if (c->watchdog != NULL)
		event_free(c->watchdog);
	if (c->deferred != NULL)
		event_free(c->deferred);
	free(c->failure);
	free(c);
}

bool ipc_client_connected(const struct ipc_client *c)
{
	return c->bev != NULL;
}

void ipc_client_set_timeout(struct ipc_client *c, unsigned int ms)
{
	c->timeout_ms = ms;
	if (c->bev != NULL)
		arm_watchdog(c);
}

int ipc_client_request(
        struct ipc_client *c, struct ipc_request *req, ipc_client_answer_cb cb, void *arg)
{
	struct pending *p;
	int r;

	if (c->bev == NULL)
		return -ENOTCONN;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	req->has_id = true;
	req->id = c->next_id++;
	if ((r = ipc_request_format(bufferevent_get_output(c->bev), req)) < 0) {
		free(p);
		return r;
	}
	p->id = req->id;
	p->cb = cb;
	p->arg = arg;
	event_base_gettimeofday_cached(c->base, &p->sent);
	TAILQ_INSERT_TAIL(&c->pending, p, entry);
	if (TAILQ_FIRST(&c->pending) == p)
		arm_watchdog(c);
	return 0;
}
