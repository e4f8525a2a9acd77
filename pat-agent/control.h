/*
 * The control socket server of praas-pat-agent: the Unix socket its local
 * peers (praas-monitor-agent, operators' tools) talk to, speaking the
 * protocol of lib/ipc.h.
 *
 * What it promises:
 * - The socket file is created mode 0600. A stale file left by a dead agent
 *   is replaced; if another agent answers on the path, opening fails with
 *   -EADDRINUSE and nothing is touched.
 * - Only root and the agent's own uid get in (SO_PEERCRED); others get one
 *   error line and are closed. At most CONTROL_MAX_CONNS peers at a time.
 * - Requests of one peer are handled one at a time, in order: the next line
 *   is read only once the previous one is answered, so a handler may answer
 *   later (after async work) through its reply handle.
 * - A line over IPC_LINE_MAX, or CONTROL_MAX_BAD malformed requests, get an
 *   error answer and the peer is closed once that answer is written.
 * - A peer that shuts its sending side (socat, nc -N) still gets the
 *   answers to every complete line it sent, then is closed.
 * - accept() failing for lack of descriptors pauses accepting for a second
 *   instead of spinning.
 * - "ping" is answered here; every other op goes to its handler.
 */
#ifndef PRAAS_CONTROL_H
#define PRAAS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fault.h"
#include "fwd.h"
#include "ipc.h"

struct event_base;
struct control;
struct control_reply;
struct evbuffer;

#define CONTROL_MAX_CONNS 16
#define CONTROL_MAX_BAD   5
/* A peer that does not read its answers stops being read past this much output. */
#define CONTROL_OUTPUT_HIGH (1024 * 1024)

/*
 * One function per op. Each must, now or later, answer through exactly one
 * control_reply_*() call, which frees the handle. A NULL handler answers
 * "not supported".
 */
typedef void control_handler(struct control_reply *r, const struct ipc_request *req, void *arg);

struct control_handlers {
	control_handler *by_op[IPC_OP_COUNT]; /* IPC_OP_PING's is never called */
	void *arg;
};

/*
 * Creates the socket at path and starts serving it on base. agent names
 * this program in ping answers ("praas-pat-agent 0.1.0"). Returns 0, or a
 * negative errno with *cause an allocated sentence the caller frees.
 */
int control_open(struct event_base *base, const char *path, const char *agent,
        const struct control_handlers *handlers, struct control **out, char **cause);

/*
 * Closes every peer and the listener and removes the socket file (if it is
 * still ours). Reply handles still held stay valid; answering them only
 * frees them.
 */
void control_close(struct control *c);

/* Number of peers connected now. */
size_t control_peer_count(const struct control *c);

/* ---- answering ---- */

/* {"id":N,"ok":true} */
void control_reply_ok(struct control_reply *r);
/*
 * {"id":N,"ok":true<members>}, members being "" or JSON members each
 * starting with a comma: ",\"removed\":3".
 */
void control_reply_ok_members(struct control_reply *r, const char *members);
/* {"id":N,"ok":true,"forwardings":[...][,"next_marker":ID]} */
void control_reply_list(
        struct control_reply *r, const struct forwarding *f, size_t n, const char *next_marker);
/* {"id":N,"ok":false,"error":"..."} */
void control_reply_error(struct control_reply *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/*
 * The control socket's word for a refusal of the core: whatever the
 * fault's errno and cause, {"id":N,"ok":false,"error":<its detail>} (a
 * peer acts on ok and logs the sentence; the monitor retries on its own
 * schedule). control_write_fault appends that line: 0 or -ENOMEM.
 */
int control_write_fault(struct evbuffer *out, bool has_id, int64_t id, const struct fault *f);
/*
 * What an op of the control door came to, when it passed: the shape of its
 * "ok" answer and what goes in it.
 */
enum control_shape {
	CONTROL_CHANGED,  /* {"ok":true,"changed":N} */
	CONTROL_VERIFIED, /* {"ok":true,"changed":N,"drift":null|"how"} */
	CONTROL_LISTED,   /* {"ok":true,"forwardings":[...][,"next_marker":ID]} */
	CONTROL_LEASED,   /* {"ok":true,"held":true|false} */
};

struct control_outcome {
	enum control_shape shape;
	unsigned int changed;
	const char *drift; /* NULL: none */
	const struct forwarding *list;
	size_t n;
	const char *next_marker; /* NULL: the last page */
	bool held;               /* the monitor's lease is the asker's */
};

/*
 * The control door's one table from a request's end to its line: with f
 * (a refusal) control_write_fault's error line, else o's "ok" line.
 * 0 or -ENOMEM. control_reply_outcome writes it to r's peer and frees r.
 */
int control_write_outcome(struct evbuffer *out, bool has_id, int64_t id,
        const struct control_outcome *o, const struct fault *f);
void control_reply_outcome(
        struct control_reply *r, const struct control_outcome *o, const struct fault *f);
/* True once the peer has gone: the answer would go nowhere. */
bool control_reply_peer_gone(const struct control_reply *r);
/* The peer's credentials, for logs. */
void control_reply_peer(const struct control_reply *r, pid_t *pid, uid_t *uid);

#endif
