/*
 * The pure half of the legacy API (the original Proxy CLI's wire format):
 * typed parsing of its query strings and the exact answer objects it reads.
 * Network, store and auth live elsewhere; nothing here has side effects.
 *
 *   POST /pat/create?server_ip=&router_id=qrouter-<id>&create_server_port=&gateway=
 *   POST /pat/remove?server_ip=&router_id=&remove_server_port=&gateway=
 *   POST /pat/modify?server_ip=&router_id=&modify_server_port=&modify_router_port=&gateway=
 *   GET  /router_pat?router_id=
 *   GET  /router_server_pat?router_id=&server_ip=
 *
 * Every parameter an op takes is required, given once, and checked
 * (addresses parse, ports are 1-65535, the router id is an id, with or
 * without "qrouter-"); parameters an op does not take are ignored, as the
 * original did. Answers keep the original's keys, status strings and
 * messages; ports are JSON strings.
 */
#ifndef PRAAS_LEGACY_WIRE_H
#define PRAAS_LEGACY_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "fault.h"
#include "fwd.h"

struct evbuffer;

enum legacy_op {
	LEGACY_CREATE,
	LEGACY_REMOVE,
	LEGACY_MODIFY,
	LEGACY_ROUTER_PAT,
	LEGACY_ROUTER_SERVER_PAT,
};

struct legacy_request {
	enum legacy_op op;
	char router_id[FWD_NAME_MAX + 1]; /* "qrouter-" stripped */
	struct addr server_ip;            /* all but router_pat */
	struct addr gateway;              /* create, remove, modify */
	uint16_t server_port;             /* create_, remove_ or modify_server_port */
	uint16_t router_port;             /* modify_router_port */
};

/* "/pat/create" and so on. */
const char *legacy_path(enum legacy_op op);
/* "POST" or "GET". */
const char *legacy_method(enum legacy_op op);

/*
 * Parses the query string (without '?'; NULL is empty). Returns 0, or
 * -EINVAL with *error an allocated "parameter: reason" line, or -ENOMEM.
 */
int legacy_parse(enum legacy_op op, const char *query, struct legacy_request *req, char **error);

/* ---- answers (each appends one JSON object; 0 or -ENOMEM) ---- */

/* create, new forwarding: "SUCCESS" with create_router_port. */
int legacy_write_created(
        struct evbuffer *out, const struct legacy_request *req, uint16_t router_port);
/* create, the server port was already forwarded: "CREATED". */
int legacy_write_already(
        struct evbuffer *out, const struct legacy_request *req, uint16_t router_port);
/* remove done: "REMOVED" with remove_router_port. */
int legacy_write_removed(
        struct evbuffer *out, const struct legacy_request *req, uint16_t router_port);
/* remove or modify of a server port that is not forwarded: "NO CREATED". */
int legacy_write_not_created(struct evbuffer *out, const struct legacy_request *req);
/* modify done: "SUCCESS", modified_router_port = old, modify_router_port = new. */
int legacy_write_modified(
        struct evbuffer *out, const struct legacy_request *req, uint16_t old_router_port);
/* modify to a router port already forwarded, the forwarding's own included: "USED". */
int legacy_write_used(
        struct evbuffer *out, const struct legacy_request *req, uint16_t old_router_port);
/* {"status":"ERROR","message":...} */
int legacy_write_error(struct evbuffer *out, const char *message);

/* The status word a refused op answers with. */
enum legacy_word {
	LEGACY_WORD_ERROR, /* {"status":"ERROR","message":<the fault's detail>} */
	LEGACY_WORD_USED,  /* legacy_write_used() */
};

/* The word for a fault, from one table: USED for a modify to a router port in use, else ERROR. */
enum legacy_word legacy_word_of(enum legacy_op op, const struct fault *f);
/* Appends the answer legacy_word_of() picks; old_router_port for USED. 0 or -ENOMEM. */
int legacy_write_fault(struct evbuffer *out, const struct legacy_request *req,
        const struct fault *f, uint16_t old_router_port);

/* One forwarded TCP port as the listings show it. */
struct legacy_mapping {
	struct addr server_ip;
	uint16_t server_port;
	uint16_t router_port;
};

/* router_pat: {"<ip>:<port>": "<router_port>", ...} (IPv6 as "[ip]:port"). */
int legacy_write_router_pat(struct evbuffer *out, const struct legacy_mapping *m, size_t n);
/* router_server_pat: {"<server_port>": "<router_port>", ...}. The caller passes unique keys. */
int legacy_write_router_server_pat(struct evbuffer *out, const struct legacy_mapping *m, size_t n);

#endif
