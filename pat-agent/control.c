#include "control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cause.h"
#include "json-text.h"
#include "log.h"

struct conn;

struct control_reply {
	struct conn *conn; /* NULL once the peer is gone */
	bool has_id;
	int64_t id;
	pid_t pid;
	uid_t uid;
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct control *ctl;
	struct bufferevent *bev;
	struct control_reply *busy; /* the request being handled, if any */
	unsigned int bad;           /* malformed requests so far */
	bool closing;               /* close once the output is written */
	bool eof;                   /* the peer shut its sending side */
	bool in_process;
	pid_t pid;
	uid_t uid;
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume; /* re-enables accepting after EMFILE */
	struct control_handlers handlers;
	char *agent;
	char *path;
	dev_t dev; /* the socket file we made, so close() removes only that */
	ino_t ino;
	TAILQ_HEAD(, conn) conns;
	size_t nconns;
};

/* ---- the socket file ---- */

/*
 * Removes a stale socket at path; refuses when something else is there or
 * an agent answers on it.
 */
static int clear_stale(const struct sockaddr_un *sun, char **cause)
{
	struct stat st;
	int fd, r;

	if (lstat(sun->sun_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return cause_set(
		        cause, -errno, "cannot stat %s: %s", sun->sun_path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return cause_set(cause, -EEXIST, "%s exists and is not a socket", sun->sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return cause_set(cause, -errno, "socket: %s", strerror(errno));
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	r = r == 0 ? 0 : -errno;
	close(fd);
	if (r == 0)
		return cause_set(
		        cause, -EADDRINUSE, "another agent is listening on %s", sun->sun_path);
	if (r != -ECONNREFUSED)
		return cause_set(cause, r, "cannot probe %s: %s", sun->sun_path, strerror(-r));
	if (unlink(sun->sun_path) < 0 && errno != ENOENT)
		return cause_set(cause, -errno, "cannot remove stale %s: %s", sun->sun_path,
		        strerror(errno));
	return 0;
}

static int make_socket(struct control *c, char **cause)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(c->path) >= sizeof(sun.sun_path))
		return cause_set(cause, -ENAMETOOLONG, "%s: path too long for a socket", c->path);
	strcpy(sun.sun_path, c->path);
	if ((r = clear_stale(&sun, cause)) < 0)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return cause_set(cause, -errno, "socket: %s", strerror(errno));
	/* The mode comes from the umask at bind(): no window with a wider one. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0 || stat(c->path, &st) < 0) {
		r = cause_set(cause, -errno, "cannot listen on %s: %s", c->path, strerror(errno));
		close(fd);
		return r;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return fd;
}

/* ---- peers ---- */

static void conn_free(struct conn *k)
{
	struct control *c = k->ctl;

	if (k->busy != NULL)
		k->busy->conn = NULL; /* the handler still holds it; answering only frees */
	bufferevent_free(k->bev);
	TAILQ_REMOVE(&c->conns, k, entry);
	c->nconns--;
	free(k);
}

static void conn_close_after_write(struct conn *k)
{
	k->closing = true;
	bufferevent_disable(k->bev, EV_READ);
}

static void answer_error(struct conn *k, bool has_id, int64_t id, const char *error)
{
	if (ipc_answer_error(bufferevent_get_output(k->bev), has_id, id, error) < 0)
		conn_close_after_write(k);
}

static control_handler *handler_for(const struct control *c, enum ipc_op op)
{
	return op < IPC_OP_COUNT ? c->handlers.by_op[op] : NULL;
}

static void dispatch(struct conn *k, const struct ipc_request *req)
{
	struct control *c = k->ctl;
	control_handler *fn;
	struct control_reply *r;

	if (req->op == IPC_OP_PING) {
		if (ipc_answer_ping(
		            bufferevent_get_output(k->bev), req->has_id, req->id, c->agent) < 0)
			conn_close_after_write(k);
		return;
	}
	if ((fn = handler_for(c, req->op)) == NULL) {
		answer_error(k, req->has_id, req->id, "op: not supported by this agent");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		answer_error(k, req->has_id, req->id, "out of memory");
		return;
	}
	r->conn = k;
	r->has_id = req->has_id;
	r->id = req->id;
	r->pid = k->pid;
	r->uid = k->uid;
	k->busy = r;
	fn(r, req, c->handlers.arg); /* may answer now, or later */
}

static void handle_line(struct conn *k, const char *line, size_t len)
{
	struct ipc_request req;
	char *error = NULL;
	int r;

	if ((r = ipc_request_parse(line, len, &req, &error)) < 0) {
		answer_error(k, req.has_id, req.id, error ? error : "out of memory");
		free(error);
		if (++k->bad >= CONTROL_MAX_BAD) {
			answer_error(k, false, 0, "too many malformed requests; closing");
			conn_close_after_write(k);
		}
		return;
	}
	dispatch(k, &req);
}

/*
 * Handles the lines that are waiting, one request at a time. Returns false
 * when the connection was freed.
 */
static bool process(struct conn *k)
{
	struct evbuffer *in = bufferevent_get_input(k->bev);
	struct evbuffer_ptr eol;
	size_t eol_len, len;
	char *line;

	if (k->in_process)
		return true; /* an answer given from inside a handler: the loop below goes on */
	k->in_process = true;
	while (!k->busy && !k->closing &&
	        evbuffer_get_length(bufferevent_get_output(k->bev)) < CONTROL_OUTPUT_HIGH) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		/* The read watermark lets in at most a longest line, CR and LF. */
		if (eol.pos < 0 && evbuffer_get_length(in) < IPC_LINE_MAX + 2)
			break;
		len = eol.pos < 0 ? SIZE_MAX : (size_t)eol.pos;
		if ((line = len <= IPC_LINE_MAX + 1 ? malloc(len + 1) : NULL) != NULL) {
			evbuffer_remove(in, line, len);
			evbuffer_drain(in, eol_len);
			line[len] = '\0';
			if (len > 0 && line[len - 1] == '\r')
				line[--len] = '\0';
		}
		if (line == NULL || len > IPC_LINE_MAX) {
			answer_error(k, false, 0, "request: line longer than 65536 bytes; closing");
			conn_close_after_write(k);
			free(line);
			break;
		}
		handle_line(k, line, len);
		free(line);
	}
	k->in_process = false;
	/* A peer that has said all it will say gets its answers, then is closed. */
	if (k->eof && !k->busy)
		k->closing = true;
	if (k->closing && evbuffer_get_length(bufferevent_get_output(k->bev)) == 0) {
		conn_free(k);
		return false;
	}
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	process(arg);
}

/* Output drained: close a closing peer, or resume one held back by its output. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;

	if (k->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		conn_free(k);
		return;
	}
	process(k);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *k = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* Half-closed (socat, nc -N): answer what was asked, then close. */
		k->eof = true;
		process(k);
		return;
	}
	log_debug("control: peer pid %d failed", (int)k->pid);
	conn_free(k);
}

/* Best effort: one line to a peer about to be dropped at accept. */
static void refuse(int fd, const char *why)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n", why);

	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: cannot tell a refused peer why: %s", strerror(errno));
	close(fd);
}

static void on_accept(
        struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct control *c = arg;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct conn *k;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		log_warn("control: cannot read peer credentials");
		close(fd);
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warnx("control: refused a peer with uid %u (pid %d)", (unsigned)cred.uid,
		        (int)cred.pid);
		refuse(fd, "permission denied");
		return;
	}
	if (c->nconns >= CONTROL_MAX_CONNS) {
		log_warnx("control: refused pid %d: %d peers already", (int)cred.pid,
		        CONTROL_MAX_CONNS);
		refuse(fd, "too many connections");
		return;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	        (k->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(k);
		close(fd);
		return;
	}
	k->ctl = c;
	k->pid = cred.pid;
	k->uid = cred.uid;
	TAILQ_INSERT_TAIL(&c->conns, k, entry);
	c->nconns++;
	/* Never hold more than one line plus its CR LF; reading pauses until it is handled. */
	bufferevent_setwatermark(k->bev, EV_READ, 0, IPC_LINE_MAX + 2);
	bufferevent_setcb(k->bev, on_read, on_write, on_event, k);
	if (bufferevent_enable(k->bev, EV_READ | EV_WRITE) < 0)
		conn_free(k);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	if (evconnlistener_enable(c->listener) < 0)
		log_warnx("control: cannot resume accepting");
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct control *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval second = {1, 0};

	log_warnx("control: accept failed: %s%s", strerror(err),
	        err == EMFILE || err == ENFILE ? "; pausing for a second" : "");
	/* Out of descriptors (or worse): don't spin on a readable listener. */
	evconnlistener_disable(l);
	evtimer_add(c->resume, &second);
}

/* ---- open/close ---- */

int control_open(struct event_base *base, const char *path, const char *agent,
        const struct control_handlers *handlers, struct control **out, char **cause)
{
	struct control *c;
	int fd;

	*cause = NULL;
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL ||
	        (c->agent = strdup(agent)) == NULL ||
	        (c->resume = evtimer_new(base, on_resume, c)) == NULL) {
		control_close(c);
		return cause_set(cause, -ENOMEM, "out of memory");
	}
	c->base = base;
	c->handlers = *handlers;
	TAILQ_INIT(&c->conns);
	if ((fd = make_socket(c, cause)) < 0) {
		free(c->path);
		c->path = NULL; /* not ours: close() must not unlink it */
		control_close(c);
		return fd;
	}
	c->listener = evconnlistener_new(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (c->listener == NULL) {
		close(fd);
		control_close(c);
		return cause_set(cause, -ENOMEM, "cannot listen on %s", path);
	}
	evconnlistener_set_error_cb(c->listener, on_accept_error);
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	struct conn *k;
	struct stat st;

	if (c == NULL)
		return;
	while ((k = TAILQ_FIRST(&c->conns)) != NULL)
		conn_free(k);
	if (c->listener != NULL)
		evconnlistener_free(c->listener);
	if (c->path != NULL && c->ino != 0 && stat(c->path, &st) == 0 && st.st_dev == c->dev &&
	        st.st_ino == c->ino && unlink(c->path) < 0)
		log_warn("control: cannot remove %s", c->path);
	if (c->resume != NULL)
		event_free(c->resume);
	free(c->path);
	free(c->agent);
	free(c);
}

size_t control_peer_count(const struct control *c)
{
	return c->nconns;
}

/* ---- replies ---- */

/* Ends r: the answer (already in the output) is out, the next request may run. */
static void reply_done(struct control_reply *r)
{
	struct conn *k = r->conn;

	free(r);
	if (k == NULL)
		return;
	k->busy = NULL;
	process(k);
}

static struct evbuffer *reply_out(struct control_reply *r)
{
	return r->conn ? bufferevent_get_output(r->conn->bev) : NULL;
}

void control_reply_ok(struct control_reply *r)
{
	control_reply_ok_members(r, "");
}

void control_reply_ok_members(struct control_reply *r, const char *members)
{
	struct evbuffer *out = reply_out(r);

	if (out != NULL &&
	        (ipc_answer_begin(out, r->has_id, r->id) < 0 ||
	                evbuffer_add(out, members, strlen(members)) < 0 || ipc_answer_end(out) < 0))
		conn_close_after_write(r->conn);
	reply_done(r);
}

void control_reply_list(
        struct control_reply *r, const struct forwarding *f, size_t n, const char *next_marker)
{
	struct evbuffer *out = reply_out(r);

	if (out != NULL && ipc_answer_list(out, r->has_id, r->id, f, n, next_marker) < 0)
		conn_close_after_write(r->conn);
	reply_done(r);
}

void control_reply_error(struct control_reply *r, const char *fmt, ...)
{
	struct evbuffer *out = reply_out(r);
	va_list ap;
	char *msg;

	if (out != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0)
			msg = NULL;
		va_end(ap);
		if (ipc_answer_error(out, r->has_id, r->id, msg ? msg : "out of memory") < 0)
			conn_close_after_write(r->conn);
		free(msg);
	}
	reply_done(r);
}

int control_write_fault(struct evbuffer *out, bool has_id, int64_t id, const struct fault *f)
{
	return ipc_answer_error(out, has_id, id, f->detail);
}

static int write_ok(struct evbuffer *out, bool has_id, int64_t id, const struct control_outcome *o)
{
	if (o->shape == CONTROL_LISTED)
		return ipc_answer_list(out, has_id, id, o->list, o->n, o->next_marker);
	if (o->shape == CONTROL_LEASED) {
		if (ipc_answer_begin(out, has_id, id) < 0 ||
		        evbuffer_add_printf(out, ",\"held\":%s", o->held ? "true" : "false") < 0)
			return -ENOMEM;
		return ipc_answer_end(out);
	}
	if (ipc_answer_begin(out, has_id, id) < 0 ||
	        evbuffer_add_printf(out, ",\"changed\":%u", o->changed) < 0)
		return -ENOMEM;
	if (o->shape == CONTROL_VERIFIED &&
	        (evbuffer_add(out, ",\"drift\":", 9) < 0 ||
	                (o->drift ? json_text_write_string(out, o->drift)
	                          : evbuffer_add(out, "null", 4)) < 0))
		return -ENOMEM;
	return ipc_answer_end(out);
}

int control_write_outcome(struct evbuffer *out, bool has_id, int64_t id,
        const struct control_outcome *o, const struct fault *f)
{
	return f != NULL ? control_write_fault(out, has_id, id, f) : write_ok(out, has_id, id, o);
}

void control_reply_outcome(
        struct control_reply *r, const struct control_outcome *o, const struct fault *f)
{
	struct evbuffer *out = reply_out(r);

	if (out != NULL && control_write_outcome(out, r->has_id, r->id, o, f) < 0)
		conn_close_after_write(r->conn);
	reply_done(r);
}

bool control_reply_peer_gone(const struct control_reply *r)
{
	return r->conn == NULL;
}

void control_reply_peer(const struct control_reply *r, pid_t *pid, uid_t *uid)
{
	*pid = r->pid;
	*uid = r->uid;
}
