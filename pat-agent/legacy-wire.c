#include "legacy-wire.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "fwd-json.h"
#include "json-text.h"
#include "query.h"

enum param {
	P_SERVER_IP = 1u << 0,
	P_ROUTER_ID = 1u << 1,
	P_GATEWAY = 1u << 2,
	P_SERVER_PORT = 1u << 3,
	P_ROUTER_PORT = 1u << 4,
};

/* Per op: its path, method, the parameters it takes and their names. */
static const struct legacy_op_desc {
	const char *path, *method;
	unsigned int params;
	const char *server_port_name, *router_port_name;
} ops[] = {
        [LEGACY_CREATE] = {"/pat/create", "POST",
                P_SERVER_IP | P_ROUTER_ID | P_SERVER_PORT | P_GATEWAY, "create_server_port", NULL},
        [LEGACY_REMOVE] = {"/pat/remove", "POST",
                P_SERVER_IP | P_ROUTER_ID | P_SERVER_PORT | P_GATEWAY, "remove_server_port", NULL},
        [LEGACY_MODIFY] = {"/pat/modify", "POST",
                P_SERVER_IP | P_ROUTER_ID | P_SERVER_PORT | P_ROUTER_PORT | P_GATEWAY,
                "modify_server_port", "modify_router_port"},
        [LEGACY_ROUTER_PAT] = {"/router_pat", "GET", P_ROUTER_ID, NULL, NULL},
        [LEGACY_ROUTER_SERVER_PAT] = {"/router_server_pat", "GET", P_ROUTER_ID | P_SERVER_IP, NULL,
                NULL},
};

const char *legacy_path(enum legacy_op op)
{
	return ops[op].path;
}

const char *legacy_method(enum legacy_op op)
{
	return ops[op].method;
}

/* Which parameter a key names for this op, or 0 for one it does not take. */
static unsigned int param_of(const struct legacy_op_desc *d, const char *key)
{
	unsigned int p = 0;

	if (strcmp(key, "server_ip") == 0)
		p = P_SERVER_IP;
	else if (strcmp(key, "router_id") == 0)
		p = P_ROUTER_ID;
	else if (strcmp(key, "gateway") == 0)
		p = P_GATEWAY;
	else if (d->server_port_name && strcmp(key, d->server_port_name) == 0)
		p = P_SERVER_PORT;
	else if (d->router_port_name && strcmp(key, d->router_port_name) == 0)
		p = P_ROUTER_PORT;
	return p & d->params;
}

static int set_param(const struct legacy_op_desc *d, unsigned int p, const char *key,
        const char *value, struct legacy_request *req, char **error)
{
	const char *id = value, *why;

	if (*value == '\0')
		return cause_invalid(error, "%s: is empty", key);
	switch (p) {
	case P_SERVER_IP:
	case P_GATEWAY:
		if (addr_parse(value, p == P_SERVER_IP ? &req->server_ip : &req->gateway) < 0)
			return cause_invalid(error, "%s: is not an IPv4 or IPv6 address", key);
		return 0;
	case P_ROUTER_ID:
		if (strncmp(id, "qrouter-", 8) == 0)
			id += 8;
		if (!fwd_json_name_valid(id))
			return cause_invalid(
			        error, "%s: is not a router id (qrouter-<id> or <id>)", key);
		strcpy(req->router_id, id);
		return 0;
	default:
		if (port_parse(value, p == P_SERVER_PORT ? &req->server_port : &req->router_port,
		            &why) < 0)
			return cause_invalid(error, "%s: %s", key, why);
		return 0;
	}
}

static const char *param_name(const struct legacy_op_desc *d, unsigned int p)
{
	switch (p) {
	case P_SERVER_IP:
		return "server_ip";
	case P_ROUTER_ID:
		return "router_id";
	case P_GATEWAY:
		return "gateway";
	case P_SERVER_PORT:
		return d->server_port_name;
	default:
		return d->router_port_name;
	}
}

struct parse_state {
	const struct legacy_op_desc *d;
	unsigned int seen;
	struct legacy_request *req;
	char **error;
};

/* Handles one "key=value" of the query. */
static int parse_pair(const struct query_pair *p, void *arg)
{
	struct parse_state *st = arg;
	unsigned int param;

	if (!p->key_ok || (param = param_of(st->d, p->key)) == 0)
		return 0; /* not a parameter of ours: ignored, as the original did */
	if (!p->has_value)
		return cause_invalid(st->error, "%s: is empty", p->key);
	if (!p->value_ok)
		return cause_invalid(st->error, "%s: has a bad %%-escape or a NUL", p->key);
	if (st->seen & param)
		return cause_invalid(st->error, "%s: is given more than once", p->key);
	st->seen |= param;
	return set_param(st->d, param, p->key, p->value, st->req, st->error);
}

int legacy_parse(enum legacy_op op, const char *query, struct legacy_request *req, char **error)
{
	struct parse_state st = {&ops[op], 0, req, error};
	int r;

	memset(req, 0, sizeof(*req));
	req->op = op;
	*error = NULL;
	if ((r = query_foreach(query, parse_pair, &st)) == -E2BIG)
		return cause_invalid(error, "query: longer than %d bytes", QUERY_MAX);
	if (r < 0)
		return r;
	for (unsigned int p = 1; p <= P_ROUTER_PORT; p <<= 1)
		if ((st.d->params & p) && !(st.seen & p))
			return cause_invalid(error, "%s: is required", param_name(st.d, p));
	return 0;
}

/* ---- answers ---- */

struct kv {
	const char *key;
	const char *value;
};

static int write_object(struct evbuffer *out, const struct kv *kv, size_t n)
{
	if (evbuffer_add(out, "{", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && evbuffer_add(out, ",", 1) < 0) ||
		        json_text_write_string(out, kv[i].key) < 0 ||
		        evbuffer_add(out, ":", 1) < 0 ||
		        json_text_write_string(out, kv[i].value) < 0)
			return -ENOMEM;
	return evbuffer_add(out, "}", 1) < 0 ? -ENOMEM : 0;
}

/* The text forms every answer of a request shares. */
struct texts {
	char server_ip[ADDR_STRLEN], gateway[ADDR_STRLEN];
	char server_port[8], router_port[8], other_port[8];
};

static void texts_fill(struct texts *t, const struct legacy_request *req, uint16_t other)
{
	addr_format(&req->server_ip, t->server_ip, sizeof(t->server_ip));
	addr_format(&req->gateway, t->gateway, sizeof(t->gateway));
	snprintf(t->server_port, sizeof(t->server_port), "%u", req->server_port);
	snprintf(t->router_port, sizeof(t->router_port), "%u", req->router_port);
	snprintf(t->other_port, sizeof(t->other_port), "%u", other);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int legacy_write_created(
        struct evbuffer *out, const struct legacy_request *req, uint16_t router_port)
{
	struct texts t;

	texts_fill(&t, req, router_port);
	const struct kv kv[] = {
	        {"status", "SUCCESS"},
	        {"create_router_port", t.other_port},
	        {"server_ip", t.server_ip},
	        {"create_server_port", t.server_port},
	        {"gateway", t.gateway},
	        {"message", "Create PAT connection successfully"},
	};
	return write_object(out, kv, N(kv));
}

int legacy_write_already(
        struct evbuffer *out, const struct legacy_request *req, uint16_t router_port)
{
	struct texts t;

	texts_fill(&t, req, router_port);
	const struct kv kv[] = {
	        {"status", "CREATED"},
	        {"created_server_port", t.server_port},
	        {"created_router_port", t.other_port},
	        {"server_ip", t.server_ip},
	        {"gateway", t.gateway},
	        {"message", "Server port has been established already"},
	};
	return write_object(out, kv, N(kv));
}

int legacy_write_removed(
        struct evbuffer *out, const struct legacy_request *req, uint16_t router_port)
{
	struct texts t;

	texts_fill(&t, req, router_port);
	const struct kv kv[] = {
	        {"status", "REMOVED"},
	        {"remove_router_port", t.other_port},
	        {"server_ip", t.server_ip},
	        {"remove_server_port", t.server_port},
	        {"gateway", t.gateway},
	        {"message", "Remove PAT connection successfully"},
	};
	return write_object(out, kv, N(kv));
}

int legacy_write_not_created(struct evbuffer *out, const struct legacy_request *req)
{
	struct texts t;
	bool modify = req->op == LEGACY_MODIFY;

	texts_fill(&t, req, 0);
	const struct kv kv[] = {
	        {"status", "NO CREATED"},
	        {modify ? "modify_server_port" : "remove_server_port", t.server_port},
	        {"server_ip", t.server_ip},
	        {"gateway", t.gateway},
	        {"message",
	                modify ? "Server port has not established yet"
	                       : "The remove port has not been established yet"},
	};
	return write_object(out, kv, N(kv));
}

int legacy_write_modified(
        struct evbuffer *out, const struct legacy_request *req, uint16_t old_router_port)
{
	struct texts t;

	texts_fill(&t, req, old_router_port);
	const struct kv kv[] = {
	        {"status", "SUCCESS"},
	        {"modified_router_port", t.other_port},
	        {"modify_router_port", t.router_port},
	        {"server_ip", t.server_ip},
	        {"modify_server_port", t.server_port},
	        {"gateway", t.gateway},
	        {"message", "Modify PAT connection successfully"},
	};
	return write_object(out, kv, N(kv));
}

int legacy_write_used(
        struct evbuffer *out, const struct legacy_request *req, uint16_t old_router_port)
{
	struct texts t;

	texts_fill(&t, req, old_router_port);
	const struct kv kv[] = {
	        {"status", "USED"},
	        {"modified_router_port", t.other_port},
	        {"server_ip", t.server_ip},
	        {"modify_server_port", t.server_port},
	        {"modify_router_port", t.router_port},
	        {"gateway", t.gateway},
	        {"message", "New router port has been used already"},
	};
	return write_object(out, kv, N(kv));
}

int legacy_write_error(struct evbuffer *out, const char *message)
{
	const struct kv kv[] = {
	        {"status", "ERROR"},
	        {"message", message ? message : "error"},
	};
	return write_object(out, kv, N(kv));
}

/* The first row matching the op, cause and errno decides; an err of 0 matches any. */
static const struct {
	enum legacy_op op;
	enum fault_cause cause;
	int err;
	enum legacy_word word;
} words[] = {
        /* The original answers USED for a router port another forwarding holds. */
        {LEGACY_MODIFY, FAULT_EXTERNAL_PORT, -EADDRINUSE, LEGACY_WORD_USED},
};

enum legacy_word legacy_word_of(enum legacy_op op, const struct fault *f)
{
	for (size_t i = 0; i < N(words); i++)
		if (words[i].op == op && words[i].cause == f->cause &&
		        (words[i].err == 0 || words[i].err == f->err))
			return words[i].word;
	return LEGACY_WORD_ERROR;
}

int legacy_write_fault(struct evbuffer *out, const struct legacy_request *req,
        const struct fault *f, uint16_t old_router_port)
{
	if (legacy_word_of(req->op, f) == LEGACY_WORD_USED)
		return legacy_write_used(out, req, old_router_port);
	return legacy_write_error(out, f->detail);
}

static int write_map(struct evbuffer *out, const struct legacy_mapping *m, size_t n, bool with_ip)
{
	char ip[ADDR_STRLEN], key[ADDR_STRLEN + 16], value[8];

	if (evbuffer_add(out, "{", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!with_ip)
			snprintf(key, sizeof(key), "%u", m[i].server_port);
		else if (m[i].server_ip.family == AF_INET6)
			snprintf(key, sizeof(key), "[%s]:%u",
			        addr_format(&m[i].server_ip, ip, sizeof(ip)), m[i].server_port);
		else
			snprintf(key, sizeof(key), "%s:%u",
			        addr_format(&m[i].server_ip, ip, sizeof(ip)), m[i].server_port);
		snprintf(value, sizeof(value), "%u", m[i].router_port);
		if ((i > 0 && evbuffer_add(out, ",", 1) < 0) ||
		        json_text_write_string(out, key) < 0 || evbuffer_add(out, ":", 1) < 0 ||
		        json_text_write_string(out, value) < 0)
			return -ENOMEM;
	}
	return evbuffer_add(out, "}", 1) < 0 ? -ENOMEM : 0;
}

int legacy_write_router_pat(struct evbuffer *out, const struct legacy_mapping *m, size_t n)
{
	return write_map(out, m, n, true);
}

int legacy_write_router_server_pat(struct evbuffer *out, const struct legacy_mapping *m, size_t n)
{
	return write_map(out, m, n, false);
}
