/*
 * A small harness for tests against the real loopback OpenStack that
 * test/openstack/start.sh runs: one libevent loop, one HTTP client, a
 * Keystone and a Neutron client per test user (admin, demo, alt_demo, from
 * the clouds.yaml start.sh wrote), blocking waits on the loop for the
 * library's callbacks, check() that counts, and a registry of everything a
 * test created so that it is deleted at the end even when checks failed.
 *
 * The library under test stays asynchronous: each call is started and the
 * loop runs until that call's callback has fired, so every answer really
 * travels through libcurl's multi interface on libevent.
 */
#ifndef PRAAS_TEST_OSLAB_H
#define PRAAS_TEST_OSLAB_H

#include <stdbool.h>
#include <stddef.h>

#include "clouds.h"
#include "http-sync.h"
#include "http.h"
#include "keystone-validate.h"
#include "keystone.h"
#include "neutron-write.h"
#include "neutron.h"

/* Exit status meaning "skipped" for meson. */
#define OSLAB_SKIP 77

struct oscloud {
	const char *name; /* the cloud's name in clouds.yaml */
	struct cloud cloud;
	struct keystone *ks;
	struct neutron *nt;
};

struct oslab_created {
	struct oscloud *owner;
	char resource[16]; /* "ports", "routers", "networks", or "interface" */
	char id[64];
	char subnet_id[64]; /* for "interface": the subnet to detach */
};

struct oslab {
	struct event_base *base;
	struct http_client *http;
	struct oscloud admin, demo, alt;
	const char *clouds_file;
	int passed, failed;
	struct oslab_created created[64];
	size_t created_len;
};

/*
 * What one asynchronous call handed its callback. obj is the result the
 * callback owns (a struct neutron_... *), err a copy of the error, info a
 * copy of a validated token.
 */
struct res {
	bool done;
	void *obj;
	struct http_error *err;
	struct keystone_token_info info;
};

/*
 * Opens the loop, the clients and authenticates admin. Returns 0, or
 * OSLAB_SKIP after printing why when the OpenStack is not there (no
 * clouds.yaml, nothing answers), or 1 after printing what failed.
 */
int oslab_open(struct oslab *lab, const char *clouds_file);
/* Frees everything (call oslab_cleanup first). */
void oslab_close(struct oslab *lab);

/* Prints "ok - ..." or "FAIL - ..." and counts; returns cond. */
bool check(struct oslab *lab, bool cond, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* check() that an error is NULL; prints the error's words when not. */
bool check_ok(struct oslab *lab, const struct http_error *err, const char *what);

/* Remembers a resource to delete at the end (in reverse order). */
void oslab_created(struct oslab *lab, struct oscloud *owner, const char *resource, const char *id,
        const char *subnet_id);
/* Deletes what was remembered; every failure other than a 404 is a FAIL. */
void oslab_cleanup(struct oslab *lab);
/*
 * Deletes resources named "praas-test-PID-..." whose PID no longer runs
 * this test: leftovers of runs killed before their cleanup (ossweep.c).
 */
void oslab_sweep(struct oslab *lab);

/*
 * Blocking use of an asynchronous call: res_begin() zeroes r, res_end()
 * takes what the call's start returned (0 or -errno) and runs the loop until
 * r->done. True when the call succeeded. Use through SYNC().
 */
void res_begin(struct res *r);
bool res_end(struct oslab *lab, struct res *r, int started, const char *what);
/* Frees err and the token info copy (not obj: its type is the caller's). */
void res_clear(struct res *r);

#define SYNC(lab, r, start) (res_begin(&(r)), res_end((lab), &(r), (start), #start))

/* Callbacks that fill a struct res passed as arg. */
void cb_auth(const struct http_error *err, void *arg);
void cb_done(const struct http_error *err, void *arg);
void cb_validate(const struct keystone_token_info *info, const struct http_error *err, void *arg);
void cb_router(struct neutron_router *r, const struct http_error *err, void *arg);
void cb_routers(struct neutron_routers *l, const struct http_error *err, void *arg);
void cb_port(struct neutron_port *p, const struct http_error *err, void *arg);
void cb_ports(struct neutron_ports *l, const struct http_error *err, void *arg);
void cb_subnet(struct neutron_subnet *s, const struct http_error *err, void *arg);
void cb_network(struct neutron_network *n, const struct http_error *err, void *arg);
void cb_networks(struct neutron_networks *l, const struct http_error *err, void *arg);
void cb_interfaces(struct neutron_router_interfaces *i, const struct http_error *err, void *arg);

#endif
