/*
 * Inside the Neutron client: what neutron.c shares with neutron-write.c
 * and nothing else includes. Each resource type is described once (its
 * names, the fields= a listing asks for, its decoder), so the call
 * machinery is written once.
 */
#ifndef PRAAS_NEUTRON_INT_H
#define PRAAS_NEUTRON_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "neutron.h"

struct neutron_query;

struct nres {
	const char *collection; /* "ports" */
	const char *single;     /* "port" */
	const char *fields;     /* the fields= parameters the decoder uses */
	size_t size;
	int (*decode)(struct json_object *, void *);
	void (*clear)(void *);
};

extern const struct nres neutron_res_routers;
extern const struct nres neutron_res_ports;
extern const struct nres neutron_res_subnets;
extern const struct nres neutron_res_networks;

enum nc_kind {
	NC_ONE,  /* one object under res->single */
	NC_LIST, /* a listing of res */
	NC_DONE, /* no payload */
	NC_IFS,  /* a router's interfaces, then their subnets */
};

/* An id Neutron could have issued: not empty, at most 255 bytes. */
bool neutron_id_ok(const char *id);
/* "/v2.0/<coll>/<id><suffix>" with the id escaped; NULL on ENOMEM. */
char *neutron_obj_path(const char *coll, const char *id, const char *suffix);
/*
 * Starts a one-request call: method on path (taken; NULL means ENOMEM)
 * with body (taken; NULL for none); the answer is decoded as res for
 * NC_ONE. 0 (cb will be called once) or -errno (-EINVAL once the client
 * is being freed, -ENOMEM; no callback).
 */
int neutron_call_start(struct neutron *n, enum nc_kind kind, const struct nres *res,
        const char *method, char *path, struct json_object *body, void (*cb)(void), void *arg,
        struct neutron_call **handle);

/*
 * Starts a listing of res filtered by filters (and ids, chunked), paged.
 * page NULL: cb gets every item at the end; else each page's items are
 * lent to page, then freed, and cb gets an empty list (a page's -errno
 * ends the listing). 0 (cb will be called once) or -errno as
 * neutron_call_start (a filter's own error, -EINVAL once the client is
 * being freed).
 */
int neutron_list_start(struct neutron *n, const struct nres *res,
        const struct neutron_query *filters, const char *const *ids, size_t ids_len,
        int (*page)(const void *, void *), void (*cb)(void), void *arg,
        struct neutron_call **handle);
/* Starts a GET of one res by id (its fields=). 0 or -errno (-EINVAL: bad id). */
int neutron_get_start(struct neutron *n, const struct nres *res, const char *id, void (*cb)(void),
        void *arg, struct neutron_call **handle);

#endif
