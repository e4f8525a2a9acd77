/*
 * The control socket protocol between praas-pat-agent and its local peers
 * (praas-monitor-agent, tests): newline-delimited JSON over a Unix stream
 * socket, one answer line per request line.
 *
 *   request: {"id":7,"op":"port_address_changed","port_id":"…","old_ip":"…","new_ip":"…"}
 *   answer:  {"id":7,"ok":true,…}   or   {"id":7,"ok":false,"error":"…"}
 *
 * "id" is optional (an int64); an answer carries the id of its request.
 * Every op and the fields it takes are in ipc_ops[] below; a request with a
 * field its op does not take is refused, so a typo never passes silently.
 * Don't forget to bump IPC_PROTOCOL_VERSION when an op or field changes.
 *
 * The parser takes untrusted bytes: a line is at most IPC_LINE_MAX bytes,
 * ids are names of [A-Za-z0-9._-], addresses must parse. Errors are one
 * short line fit to send back as "error".
 *
 * The client half (struct ipc_client) runs on a libevent loop: it connects,
 * numbers requests, matches answers, notices a hangup, fails what was
 * pending and reconnects with a backoff.
 */
#ifndef PRAAS_IPC_H
#define PRAAS_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "fwd.h"

struct evbuffer;
struct event_base;
struct json_object;

#define IPC_PROTOCOL_VERSION 4
/* Longest request line (without its newline). */
#define IPC_LINE_MAX (64 * 1024)
/* Most forwardings one paged list answer holds (and its default limit). */
#define IPC_LIST_LIMIT_MAX 10000
/* Longest lease one request takes (ms). */
#define IPC_LEASE_TTL_MAX_MS 600000
/* Longest answer line a client reads: an unpaged list of 100,000 forwardings fits. */
#define IPC_ANSWER_MAX (256 * 1024 * 1024)

enum ipc_op {
	IPC_OP_PING,                 /* -> "version", "agent" */
	IPC_OP_LIST,                 /* [router_id] [marker] [limit] -> "forwardings": [...]
	                              * [, "next_marker"]: see ipc_answer_list(); or
	                              * port_id alone: that port's forwardings */
	IPC_OP_PORT_DELETED,         /* port_id: remove its forwardings */
	IPC_OP_PORT_ADDRESS_CHANGED, /* port_id, old_ip, new_ip: follow the VM */
	IPC_OP_ROUTER_DELETED,       /* router_id: remove its forwardings */
	IPC_OP_GATEWAY_CHANGED,      /* router_id, new_ip: re-key its forwardings */
	IPC_OP_RESYNC,               /* [router_id]: rebuild kernel state from the store */
	IPC_OP_VERIFY,               /* router_id: compare its table with the store, on the
	                              * agent's loop (no change can interleave), and
	                              * resync it on drift -> "drift": "how" or null */
	IPC_OP_LEASE,                /* holder, ttl_ms: take or renew the monitor's lease
	                              * -> "held": true|false */
	IPC_OP_COUNT,
};

enum ipc_field {
	IPC_FIELD_PORT_ID = 1u << 0,
	IPC_FIELD_ROUTER_ID = 1u << 1,
	IPC_FIELD_OLD_IP = 1u << 2,
	IPC_FIELD_NEW_IP = 1u << 3,
	IPC_FIELD_MARKER = 1u << 4, /* list: only forwardings whose id sorts after it */
	IPC_FIELD_LIMIT = 1u << 5,  /* list: at most this many, 1..IPC_LIST_LIMIT_MAX */
	IPC_FIELD_HOLDER = 1u << 6, /* lease: who takes it, a name as router_id */
	IPC_FIELD_TTL_MS = 1u << 7, /* lease: for how long, 1..IPC_LEASE_TTL_MAX_MS */
};

struct ipc_op_desc {
	const char *name;
	unsigned int required; /* enum ipc_field */
	unsigned int optional;
};

/* Indexed by enum ipc_op. */
extern const struct ipc_op_desc ipc_ops[IPC_OP_COUNT];

struct ipc_request {
	bool has_id;
	int64_t id;
	enum ipc_op op;
	unsigned int fields; /* which of the members below were given */
	char port_id[FWD_NAME_MAX + 1];
	char router_id[FWD_NAME_MAX + 1];
	struct addr old_ip, new_ip;
	char marker[FWD_ID_LEN + 1];
	unsigned int limit;
	char holder[FWD_NAME_MAX + 1];
	unsigned int ttl_ms;
};

/*
 * Parses one line (without its newline). Returns 0, or -EINVAL with *error
 * an allocated line to send back (the caller frees it); req->has_id and
 * req->id are set whenever the id could be read, so the error answer can
 * carry it. -ENOMEM on allocation failure.
 */
int ipc_request_parse(const char *line, size_t len, struct ipc_request *req, char **error);

/* Appends req as a request line, newline included. 0, -EINVAL or -ENOMEM. */
int ipc_request_format(struct evbuffer *out, const struct ipc_request *req);

/*
 * Answers. A success is written as begin, any members the op returns (each
 * starting with ","), end. The helpers below cover the common shapes.
 */
int ipc_answer_begin(struct evbuffer *out, bool has_id, int64_t id);
int ipc_answer_end(struct evbuffer *out);
int ipc_answer_ok(struct evbuffer *out, bool has_id, int64_t id);
int ipc_answer_error(struct evbuffer *out, bool has_id, int64_t id, const char *error);
/*
 * {"id":N,"ok":true,"forwardings":[...]} and, when next_marker is not NULL,
 * ,"next_marker":"ID": a paged list (marker or limit given) is ordered by
 * id, and a full page says where the next one starts. A client asks again
 * with that marker until an answer has no next_marker.
 */
int ipc_answer_list(struct evbuffer *out, bool has_id, int64_t id, const struct forwarding *f,
        size_t n, const char *next_marker);
/* {"id":N,"ok":true,"version":IPC_PROTOCOL_VERSION,"agent":agent} */
int ipc_answer_ping(struct evbuffer *out, bool has_id, int64_t id, const char *agent);

/* An answer as a client reads it. */
struct ipc_answer {
	bool has_id;
	int64_t id;
	bool ok;
	const char *error;        /* when !ok; points into root */
	struct json_object *root; /* the whole answer, for op-specific members */
};

/* 0, or -EINVAL with *error allocated, or -ENOMEM. Free with ipc_answer_clear(). */
int ipc_answer_parse(const char *line, size_t len, struct ipc_answer *ans, char **error);
void ipc_answer_clear(struct ipc_answer *ans);
/* The "drift" of a verify answer: how the table differed (it was repaired); NULL: it did not. */
const char *ipc_answer_drift(const struct ipc_answer *ans);
/* The "held" of a lease answer (false when absent). */
bool ipc_answer_held(const struct ipc_answer *ans);
/* The "next_marker" of a list answer; NULL on the last page. */
const char *ipc_answer_next_marker(const struct ipc_answer *ans);
/* The "forwardings" of a list answer, as an allocated array the caller frees. */
int ipc_answer_forwardings(
        const struct ipc_answer *ans, struct forwarding **out, size_t *n, char **error);

/* ---- client ---- */

struct ipc_client;

/*
 * Called once per request: with the answer, or with ans NULL and error
 * saying why none will come (connection lost, timeout, malformed answer).
 */
typedef void (*ipc_client_answer_cb)(const struct ipc_answer *ans, const char *error, void *arg);
/*
 * Called on every connect (true) and hangup (false). No callback may free
 * the client; free it from elsewhere in the loop.
 */
typedef void (*ipc_client_state_cb)(bool connected, void *arg);

#define IPC_CLIENT_BACKOFF_MIN_MS 100
#define IPC_CLIENT_BACKOFF_MAX_MS 5000

/*
 * Starts connecting to path at once, and again after every hangup with a
 * backoff doubling from IPC_CLIENT_BACKOFF_MIN_MS to _MAX_MS. NULL on
 * allocation failure or a path too long for a Unix socket (errno says).
 */
struct ipc_client *ipc_client_new(
        struct event_base *base, const char *path, ipc_client_state_cb state_cb, void *arg);
/* Fails every pending request ("client closed") and frees. */
void ipc_client_free(struct ipc_client *c);
bool ipc_client_connected(const struct ipc_client *c);
/*
 * An answer not received within ms milliseconds of its request drops the
 * connection (a stuck peer), failing what is pending. 0 (the default) waits
 * forever.
 */
void ipc_client_set_timeout(struct ipc_client *c, unsigned int ms);
/*
 * Sends req with a fresh id (req->id is overwritten). 0, -ENOTCONN when not
 * connected, -EINVAL for a request that would not parse, -ENOMEM. cb runs
 * later, never from inside this call.
 */
int ipc_client_request(
        struct ipc_client *c, struct ipc_request *req, ipc_client_answer_cb cb, void *arg);

#endif
