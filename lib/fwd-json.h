/*
 * The JSON of a forwarding, as the v1 REST API and the control socket show
 * it: Neutron's port forwarding object plus PRaaS's own fields.
 *
 * Rendering writes straight into an evbuffer (listing 10,000 forwardings
 * builds no tree). A single-port forwarding shows both forms, as Neutron
 * does: "external_port": 4022 and "external_port_range": "4022:4022"; a
 * range shows "external_port": null. The same holds for the internal side.
 *
 * Parsing a request body ({"port_forwarding": {...}}) checks everything that
 * can be checked without the store or OpenStack and, on failure, says which
 * field is wrong and why, in one allocated line "field: reason".
 */
#ifndef PRAAS_FWD_JSON_H
#define PRAAS_FWD_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "fwd.h"

struct evbuffer;
struct json_object;

/* The fields a request body may set; a mask of them says which were given. */
enum fwd_json_field {
	FWD_JSON_EXTERNAL_PORT = 1u << 0,
	FWD_JSON_EXTERNAL_PORT_RANGE = 1u << 1,
	FWD_JSON_INTERNAL_PORT = 1u << 2,
	FWD_JSON_INTERNAL_PORT_RANGE = 1u << 3,
	FWD_JSON_PROTOCOL = 1u << 4,
	FWD_JSON_INTERNAL_IP_ADDRESS = 1u << 5,
	FWD_JSON_INTERNAL_PORT_ID = 1u << 6,
	FWD_JSON_MASQUERADE = 1u << 7,
	FWD_JSON_DESCRIPTION = 1u << 8,
};
#define FWD_JSON_EXTERNAL (FWD_JSON_EXTERNAL_PORT | FWD_JSON_EXTERNAL_PORT_RANGE)
#define FWD_JSON_INTERNAL (FWD_JSON_INTERNAL_PORT | FWD_JSON_INTERNAL_PORT_RANGE)

enum fwd_json_op {
	FWD_JSON_CREATE,
	FWD_JSON_UPDATE,
};

/* Largest request body the parser reads; the HTTP layer enforces it first. */
#define FWD_JSON_BODY_MAX (64 * 1024)

/*
 * Appends the JSON object of f (without the "port_forwarding" wrapper).
 * 0 or -ENOMEM.
 */
int fwd_json_write(struct evbuffer *out, const struct forwarding *f);

/* Appends [obj, obj, ...]. 0 or -ENOMEM. */
int fwd_json_write_array(struct evbuffer *out, const struct forwarding *f, size_t n);

/*
 * Parses a create or update body. On create, *f is reset and filled with
 * the given fields; protocol defaults to tcp; an internal port (or range)
 * and an internal_ip_address or internal_port_id are required; the external
 * port may be absent (the agent allocates one). On update, only the given
 * fields are set in *f (apply them with fwd_json_apply()). *given receives
 * the mask of enum fwd_json_field given in the body.
 *
 * Returns 0, or -EINVAL with *why an allocated "field: reason" line (the
 * caller frees it), or -ENOMEM.
 */
int fwd_json_parse_request(const char *body, size_t len, enum fwd_json_op op, struct forwarding *f,
        unsigned int *given, char **why);

/*
 * Copies the fields named in given from src into dst: an update's new
 * values over the stored forwarding. The caller then runs fwd_validate().
 */
void fwd_json_apply(struct forwarding *dst, const struct forwarding *src, unsigned int given);

/*
 * Reads a forwarding as fwd_json_write() renders it (the control socket's
 * list answer, the CLI reading the REST API). 0, or -EINVAL with *why an
 * allocated line, or -ENOMEM.
 */
int fwd_json_decode(struct json_object *obj, struct forwarding *f, char **why);

/*
 * True for an id PRaaS accepts from outside (router, project, Neutron port):
 * 1 to FWD_NAME_MAX characters of [A-Za-z0-9._-].
 */
bool fwd_json_name_valid(const char *s);

#endif
