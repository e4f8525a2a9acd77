/*
 * The harness promised by oslab.h: clients for the three test users, waits
 * on the loop, counted checks, and the cleanup registry.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "oslab.h"

extern char **environ;

bool check(struct oslab *lab, bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (cond)
		lab->passed++;
	else
		lab->failed++;
	return cond;
}

bool check_ok(struct oslab *lab, const struct http_error *err, const char *what)
{
	char *s;

	if (err == NULL)
		return check(lab, true, "%s", what);
	s = http_error_string(err);
	check(lab, false, "%s: %s", what, s != NULL ? s : "(no memory for the error)");
	free(s);
	return false;
}

/* ------------------------------------------------------------ waits */

void res_begin(struct res *r)
{
	memset(r, 0, sizeof(*r));
}

static void res_fail(struct res *r, int code, const char *what, const char *why)
{
	r->err = http_error_new(code, 0, what, "%s", why);
	r->done = true;
}

bool res_end(struct oslab *lab, struct res *r, int started, const char *what)
{
	if (started < 0) {
		res_fail(r, started, what, "the call did not start");
		return false;
	}
	/* every call ends in one callback; the client's timeouts bound this */
	if (http_wait(lab->base, &r->done) < 0 && !r->done)
		res_fail(r, -EIO, what, "the loop stopped before the callback");
	return r->err == NULL;
}

void res_clear(struct res *r)
{
	http_error_free(r->err);
	r->err = NULL;
	keystone_token_info_clear(&r->info);
}

static void res_set(void *arg, void *obj, const struct http_error *err)
{
	struct res *r = arg;

	r->obj = obj;
	if (err != NULL) {
		r->err = http_error_copy(err);
		if (r->err == NULL)
			r->err = http_error_new(-ENOMEM, 0, "copy", "out of memory");
	}
	r->done = true;
}

void cb_auth(const struct http_error *err, void *arg)
{
	res_set(arg, NULL, err);
}

void cb_done(const struct http_error *err, void *arg)
{
	res_set(arg, NULL, err);
}

static int strdup_or_null(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = strdup(s);
	return *out != NULL ? 0 : -ENOMEM;
}

/* The cache owns info: keep a copy for the checks after the callback. */
static int info_copy(const struct keystone_token_info *src, struct keystone_token_info *dst)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->expires_at = src->expires_at;
	dst->issued_at = src->issued_at;
	if (strdup_or_null(src->user_id, &dst->user_id) < 0 ||
	        strdup_or_null(src->user_name, &dst->user_name) < 0 ||
	        strdup_or_null(src->project_id, &dst->project_id) < 0 ||
	        strdup_or_null(src->project_name, &dst->project_name) < 0)
		return -ENOMEM;
	if (src->roles_len == 0)
		return 0;
	dst->roles = calloc(src->roles_len, sizeof(*dst->roles));
	if (dst->roles == NULL)
		return -ENOMEM;
	for (i = 0; i < src->roles_len; i++) {
		if (strdup_or_null(src->roles[i], &dst->roles[i]) < 0)
			return -ENOMEM;
		dst->roles_len = i + 1;
	}
	return 0;
}

void cb_validate(const struct keystone_token_info *info, const struct http_error *err, void *arg)
{
	struct res *r = arg;

	if (info != NULL && info_copy(info, &r->info) < 0) {
		res_fail(r, -ENOMEM, "validate", "out of memory copying the token info");
		return;
	}
	res_set(arg, NULL, err);
}

void cb_router(struct neutron_router *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_routers(struct neutron_routers *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_port(struct neutron_port *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_ports(struct neutron_ports *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_subnet(struct neutron_subnet *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_network(struct neutron_network *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_networks(struct neutron_networks *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

void cb_interfaces(struct neutron_router_interfaces *o, const struct http_error *err, void *arg)
{
	res_set(arg, o, err);
}

/* ---------------------------------------------------------- clients */

/*
 * OS_* variables override clouds.yaml (as in the openstack CLI), and
 * OS_CLIENT_CONFIG_FILE would pick another file: the test must read
 * exactly the clouds start.sh wrote, whatever the caller's shell holds.
 */
static void drop_os_environment(void)
{
	char name[256];
	size_t len;

	for (;;) {
		char **e;
		bool found = false;

		for (e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, "OS_", 3) != 0)
				continue;
			len = strcspn(*e, "=");
			if (len >= sizeof(name))
				continue;
			memcpy(name, *e, len);
			name[len] = '\0';
			found = true;
			break;
		}
		if (!found)
			return;
		if (unsetenv(name) < 0)
			return;
	}
}

static int cloud_open(struct oslab *lab, struct oscloud *c, const char *name)
{
	char *cause = NULL;
	int r;

	c->name = name;
	r = clouds_load(lab->clouds_file, name, &c->cloud, &cause);
	if (r == 0)
		r = keystone_new(lab->http, &c->cloud, &c->ks, &cause);
	if (r == 0)
		r = neutron_new(c->ks, &c->nt);
	if (r < 0)
		printf("FAIL - cloud %s from %s: %s\n", name, lab->clouds_file,
		        cause != NULL ? cause : strerror(-r));
	free(cause);
	return r;
}

static void cloud_close(struct oscloud *c)
{
	if (c->nt != NULL)
		neutron_free(c->nt);
	if (c->ks != NULL)
		keystone_free(c->ks);
	cloud_free(&c->cloud);
	c->nt = NULL;
	c->ks = NULL;
}

/*
 * Not running: skip (77), unless the caller just started the OpenStack
 * (run-tests.sh sets PRAAS_OS_REQUIRED=1), where that is a failure.
 */
static int skip(const char *why, const char *detail)
{
	const char *req = getenv("PRAAS_OS_REQUIRED");

	if (req != NULL && strcmp(req, "1") == 0) {
		printf("FAIL - %s (%s), and PRAAS_OS_REQUIRED=1\n", why, detail);
		return 1;
	}
	printf("SKIP: %s (%s); run test/openstack/start.sh first\n", why, detail);
	return OSLAB_SKIP;
}

/* A first token for admin; no HTTP answer at all means "not running". */
static int first_auth(struct oslab *lab)
{
	struct res r;
	char *s;
	int rc = 0;

	if (SYNC(lab, r, keystone_authenticate(lab->admin.ks, cb_auth, &r, NULL)))
		return 0;
	s = http_error_string(r.err);
	if (r.err->status == 0) {
		rc = skip("PRaaS loopback OpenStack not answering", s != NULL ? s : "?");
	} else {
		printf("FAIL - admin authentication: %s\n", s != NULL ? s : "?");
		rc = 1;
	}
	free(s);
	res_clear(&r);
	return rc;
}

int oslab_open(struct oslab *lab, const char *clouds_file)
{
	memset(lab, 0, sizeof(*lab));
	lab->clouds_file = clouds_file;
	if (access(clouds_file, R_OK) < 0) {
		printf("%s: %s\n", clouds_file, strerror(errno));
		return skip("PRaaS loopback OpenStack not set up", clouds_file);
	}
	drop_os_environment();
	lab->base = event_base_new();
	if (lab->base == NULL) {
		printf("FAIL - event_base_new\n");
		return 1;
	}
	if (http_client_new(lab->base, NULL, &lab->http) < 0) {
		printf("FAIL - http_client_new\n");
		return 1;
	}
	if (cloud_open(lab, &lab->admin, "praas-admin") < 0 ||
	        cloud_open(lab, &lab->demo, "praas-demo") < 0 ||
	        cloud_open(lab, &lab->alt, "praas-alt") < 0)
		return 1;
	return first_auth(lab);
}

void oslab_close(struct oslab *lab)
{
	cloud_close(&lab->alt);
	cloud_close(&lab->demo);
	cloud_close(&lab->admin);
	if (lab->http != NULL)
		http_client_free(lab->http);
	if (lab->base != NULL)
		event_base_free(lab->base);
	lab->http = NULL;
	lab->base = NULL;
}

/* ---------------------------------------------------------- cleanup */

void oslab_created(struct oslab *lab, struct oscloud *owner, const char *resource, const char *id,
        const char *subnet_id)
{
	struct oslab_created *c;

	if (lab->created_len == sizeof(lab->created) / sizeof(lab->created[0])) {
		check(lab, false, "cleanup registry full: %s %s will leak", resource, id);
		return;
	}
	c = &lab->created[lab->created_len++];
	c->owner = owner;
	snprintf(c->resource, sizeof(c->resource), "%s", resource);
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->subnet_id, sizeof(c->subnet_id), "%s", subnet_id != NULL ? subnet_id : "");
}

static void cleanup_one(struct oslab *lab, const struct oslab_created *c)
{
	struct neutron *nt = c->owner->nt;
	struct res r;
	bool ok;

	if (strcmp(c->resource, "interface") == 0)
		ok = SYNC(lab, r,
		        neutron_router_remove_interface(
		                nt, c->id, c->subnet_id, NULL, cb_done, &r, NULL));
	else
		ok = SYNC(lab, r, neutron_delete(nt, c->resource, c->id, cb_done, &r, NULL));
	/* already gone is fine: a test may have deleted it itself */
	if (!ok && r.err->code != -ENOENT) {
		char *s = http_error_string(r.err);

		check(lab, false, "cleanup: %s %s: %s", c->resource, c->id, s != NULL ? s : "?");
		free(s);
	}
	res_clear(&r);
}

void oslab_cleanup(struct oslab *lab)
{
	while (lab->created_len > 0)
		cleanup_one(lab, &lab->created[--lab->created_len]);
}
