/*
 * The OpenStack client against the fault-injecting fake
 * (test/fake-openstack/fake_openstack.py): each case starts its own fake
 * on a loopback port, drives lib/http, lib/keystone and lib/neutron on a
 * libevent loop, and asserts what the caller sees. Usage:
 *   test-openstack-fake CASE      (see the table at the bottom)
 * The fake is stopped at exit, whatever happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "clouds.h"
#include "http-sync.h"
#include "http.h"
#include "keystone-validate.h"
#include "keystone.h"
#include "neutron-write.h"
#include "neutron.h"

/* ---- plumbing -------------------------------------------------------- */

static pid_t fake_pid = -1;
static char fake_dir[64];
static int fake_port;
static char fake_url[64];

static void fake_stop(void)
{
	char path[128];

	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
		fake_pid = -1;
	}
	if (fake_dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/port", fake_dir);
		unlink(path);
		rmdir(fake_dir);
		fake_dir[0] = '\0';
	}
}

static void on_signal(int sig)
{
	if (fake_pid > 0)
		kill(fake_pid, SIGTERM);
	_exit(128 + sig);
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                               \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		exit(1);                                                                           \
	} while (0)
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FAIL(__VA_ARGS__);                                                         \
	} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts the fake with extra flags (NULL-terminated); waits for its port. */
static void fake_start(const char *const *extra)
{
	const char *root = getenv("PRAAS_SOURCE_ROOT");
	char script[512], portfile[128];
	const char *argv[32];
	int n = 0;
	FILE *f;

	if (root == NULL)
		root = ".";
	snprintf(script, sizeof(script), "%s/test/fake-openstack/fake_openstack.py", root);
	if (access(script, R_OK) < 0) {
		printf("SKIP: %s not found (set PRAAS_SOURCE_ROOT)\n", script);
		exit(77);
	}
	snprintf(fake_dir, sizeof(fake_dir), "/tmp/praas-fake.XXXXXX");
	CHECK(mkdtemp(fake_dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(portfile, sizeof(portfile), "%s/port", fake_dir);
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	for (; extra != NULL && *extra != NULL && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	fake_pid = fork();
	CHECK(fake_pid >= 0, "fork: %s", strerror(errno));
	if (fake_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			int ok = fscanf(f, "%d", &fake_port);

			fclose(f);
			if (ok == 1)
				break;
		}
		usleep(50000);
	}
	CHECK(fake_port > 0, "the fake did not start");
	snprintf(fake_url, sizeof(fake_url), "http://127.0.0.1:%d", fake_port);
}

/* The loop, the client stack and the cloud pointing at the fake. */
struct env {
	struct event_base *base;
	struct http_client *http;
	struct keystone *ks;
	struct neutron *nt;
	struct cloud cloud;
};

static void env_cloud(struct env *e, const char *user)
{
	char url[96];

	memset(&e->cloud, 0, sizeof(e->cloud));
	snprintf(url, sizeof(url), "%s/v3", fake_url);
	e->cloud.name = strdup("fake");
	e->cloud.source = strdup("test");
	e->cloud.auth_url = strdup(url);
	e->cloud.username = strdup(user);
	e->cloud.password = strdup(user);
	e->cloud.user_domain_name = strdup("Default");
	e->cloud.project_name = strdup(user);
	e->cloud.project_domain_name = strdup("Default");
	e->cloud.interface = strdup("public");
	e->cloud.region_name = strdup("RegionOne");
	e->cloud.verify = true;
}

static void env_open(struct env *e, const struct http_options *opts)
{
	struct http_options o;
	char *cause = NULL;

	if (opts == NULL) {
		http_options_default(&o);
		o.connect_timeout_ms = 1000;
		o.total_timeout_ms = 3000;
		o.retry_base_ms = 200;
		opts = &o;
	}
	e->base = event_base_new();
	CHECK(e->base != NULL, "event_base_new");
	CHECK(http_client_new(e->base, opts, &e->http) == 0, "http_client_new");
	if (e->cloud.auth_url == NULL)
		env_cloud(e, "demo");
	CHECK(keystone_new(e->http, &e->cloud, &e->ks, &cause) == 0, "keystone_new: %s", cause);
	CHECK(neutron_new(e->ks, &e->nt) == 0, "neutron_new");
}

static void env_close(struct env *e)
{
	neutron_free(e->nt);
	keystone_free(e->ks);
	http_client_free(e->http);
	event_base_free(e->base);
	cloud_free(&e->cloud);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

/* Runs the loop until *done or seconds pass; false on the deadline. */
static bool run(struct env *e, const bool *done, double seconds)
{
	bool late = false;
	struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
	struct event *t = evtimer_new(e->base, on_deadline, &late);

	CHECK(t != NULL && evtimer_add(t, &tv) == 0, "evtimer");
	while (!*done && !late)
		CHECK(event_base_loop(e->base, EVLOOP_ONCE) >= 0, "event_base_loop");
	event_free(t);
	return *done;
}

/* Lets the loop run for seconds (so tokens age, say). */
static void idle(struct env *e, double seconds)
{
	bool never = false;

	run(e, &never, seconds);
}

/* A blocking request to the fake's control endpoint; returns the JSON. */
static struct json_object *control(const char *method, const char *path, const char *body)
{
	struct event_base *base = event_base_new();
	struct http_client *c;
	struct http_result res;
	struct json_object *o;
	char url[160];

	CHECK(base != NULL && http_client_new(base, NULL, &c) == 0, "control client");
	snprintf(url, sizeof(url), "%s%s", fake_url, path);
	CHECK(http_request_sync(c, method, url, NULL, body, &res) == 0, "control %s", path);
	CHECK(res.error == NULL, "control %s: %s", path, res.error->message);
	o = json_tokener_parse(res.body);
	CHECK(o != NULL, "control %s: not JSON", path);
	http_result_free(&res);
	http_client_free(c);
	event_base_free(base);
	return o;
}

static void fault(const char *json)
{
	json_object_put(control("POST", "/_control/fault", json));
}

/* The fake's count of "METHOD /path" requests (or tokens_issued for NULL). */
static int fake_count(const char *key)
{
	struct json_object *st = control("GET", "/_control/stats", NULL), *reqs, *v;
	int n = 0;

	if (key == NULL) {
		json_object_object_get_ex(st, "tokens_issued", &v);
		n = json_object_get_int(v);
	} else if (json_object_object_get_ex(st, "requests", &reqs) &&
	        json_object_object_get_ex(reqs, key, &v)) {
		n = json_object_get_int(v);
	}
	json_object_put(st);
	return n;
}

/* What a callback saw. */
struct result {
	bool done;
	double at;
	struct http_error *err;
	void *obj;
	int count;
};

static void result_take(struct result *r, void *obj, const struct http_error *err)
{
	r->done = true;
	r->at = now_s();
	r->obj = obj;
	r->err = err ? http_error_copy(err) : NULL;
}

static void result_clear(struct result *r)
{
	http_error_free(r->err);
	memset(r, 0, sizeof(*r));
}

static void on_ports(struct neutron_ports *l, const struct http_error *err, void *arg)
{
	result_take(arg, l, err);
}

static void on_port(struct neutron_port *p, const struct http_error *err, void *arg)
{
	result_take(arg, p, err);
}

static void on_router(struct neutron_router *r, const struct http_error *err, void *arg)
{
	result_take(arg, r, err);
}

static void on_routers(struct neutron_routers *l, const struct http_error *err, void *arg)
{
	result_take(arg, l, err);
}

static void on_ifs(struct neutron_router_interfaces *ifs, const struct http_error *err, void *arg)
{
	result_take(arg, ifs, err);
}

static void on_done(const struct http_error *err, void *arg)
{
	result_take(arg, NULL, err);
}

static void on_http(const struct http_response *resp, const struct http_error *err, void *arg)
{
	result_take(arg, NULL, err);
}

static void on_validate(
        const struct keystone_token_info *info, const struct http_error *err, void *arg)
{
	struct result *r = arg;

	result_take(r, NULL, err);
	if (info != NULL) {
		r->count = (int)info->roles_len;
		r->obj = strdup(info->project_id);
	}
}

static void expect_error(const struct result *r, int code, long status, const char *words)
{
	char *s;

	CHECK(r->done, "the call did not end");
	CHECK(r->err != NULL, "expected an error (%s), got success", strerror(-code));
	s = http_error_string(r->err);
	printf("  error: %s\n", s);
	CHECK(r->err->code == code, "code %d (%s), expected %d (%s)", r->err->code,
	        strerror(-r->err->code), code, strerror(-code));
	CHECK(r->err->status == status, "status %ld, expected %ld", r->err->status, status);
	CHECK(words == NULL || strstr(s, words) != NULL, "\"%s\" lacks \"%s\"", s, words);
	CHECK(r->err->call != NULL && r->err->call[0] != '\0', "error names no call");
	free(s);
}

static void expect_ok(const struct result *r)
{
	char *s;

	CHECK(r->done, "the call did not end");
	if (r->err != NULL) {
		s = http_error_string(r->err);
		FAIL("unexpected error: %s", s);
	}
}

/* Lists every port (fills *out), asserting success. */
static struct neutron_ports *list_ports(struct env *e, const struct neutron_port_filter *f)
{
	struct result r = {0};

	CHECK(neutron_ports_list(e->nt, f, on_ports, &r, NULL) == 0, "ports_list");
	CHECK(run(e, &r.done, 10), "ports_list did not end");
	expect_ok(&r);
	return r.obj;
}

/* ---- cases ----------------------------------------------------------- */

/* A token that expires mid-run: one re-auth, and the calls succeed, even
 * three at once. */
static void case_expired_token(void)
{
	const char *args[] = {"--token-ttl", "2", NULL};
	struct result r[3] = {{0}};
	struct neutron_ports *l;
	struct env e = {0};

	fake_start(args);
	env_open(&e, NULL);
	l = list_ports(&e, NULL);
	CHECK(l->len >= 5, "only %zu ports", l->len);
	neutron_ports_free(l);
	CHECK(fake_count(NULL) == 1, "tokens issued: %d", fake_count(NULL));
	idle(&e, 2.5); /* the fake now answers 401 to our token */
	for (int i = 0; i < 3; i++)
		CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r[i], NULL) == 0, "list");
	for (int i = 0; i < 3; i++) {
		CHECK(run(&e, &r[i].done, 10), "call %d did not end", i);
		expect_ok(&r[i]);
		CHECK(((struct neutron_ports *)r[i].obj)->len >= 5, "short listing");
		neutron_ports_free(r[i].obj);
		result_clear(&r[i]);
	}
	CHECK(keystone_stats(e.ks)->reauth_on_401 == 1, "re-auths: %u",
	        keystone_stats(e.ks)->reauth_on_401);
	CHECK(fake_count(NULL) == 2, "tokens issued: %d (want 2)", fake_count(NULL));
	env_close(&e);
}

/* A 500: an error with the status, Neutron's message and the call; no retry. */
static void case_status_500(void)
{
	struct result r = {0};
	struct env e = {0};

	fake_start(NULL);
	env_open(&e, NULL);
	fault("{\"kind\":\"status\",\"status\":500,\"path\":\"/v2.0/routers\","
	      "\"message\":\"Request Failed: internal server error while processing\"}");
	CHECK(neutron_router_get(
	              e.nt, "6f9619ff-8b86-d011-b42d-00c04fc964ff", on_router, &r, NULL) == 0,
	        "router_get");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -EIO, 500, "internal server error while processing");
	CHECK(strstr(r.err->call, "GET /v2.0/routers/6f9619ff") == r.err->call, "call is %s",
	        r.err->call);
	CHECK(fake_count("GET /v2.0/routers/6f9619ff-8b86-d011-b42d-00c04fc964ff") == 1,
	        "a 500 was retried");
	result_clear(&r);
	/* A 404 says so too. */
	CHECK(neutron_port_get(e.nt, "no-such-port", on_port, &r, NULL) == 0, "port_get");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -ENOENT, 404, "no-such-port could not be found");
	result_clear(&r);
	env_close(&e);
}

/* 503: GET retried with growing delays, then success; too many: the error;
 * POST: never retried. */
static void case_status_503(void)
{
	struct neutron_port_spec spec = {.name = "x", .network_id = "net"};
	struct result r = {0};
	struct env e = {0};
	double t0;

	fake_start(NULL);
	env_open(&e, NULL); /* retry base 200 ms: waits 200 + 400 */
	neutron_ports_free(list_ports(&e, NULL));
	json_object_put(control("POST", "/_control/reset", NULL));
	fault("{\"kind\":\"status\",\"status\":503,\"path\":\"/v2.0/ports\",\"count\":2}");
	t0 = now_s();
	CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r, NULL) == 0, "list");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_ok(&r);
	printf("  2 x 503 then 200 after %.2f s\n", r.at - t0);
	CHECK(r.at - t0 >= 0.55, "no backoff: %.2f s", r.at - t0);
	CHECK(fake_count("GET /v2.0/ports") == 3, "attempts: %d", fake_count("GET /v2.0/ports"));
	neutron_ports_free(r.obj);
	result_clear(&r);

	json_object_put(control("POST", "/_control/reset", NULL));
	fault("{\"kind\":\"status\",\"status\":503,\"path\":\"/v2.0/ports\",\"count\":100,"
	      "\"message\":\"Service Unavailable\"}");
	CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r, NULL) == 0, "list");
	CHECK(run(&e, &r.done, 20), "did not end");
	expect_error(&r, -EIO, 503, "Service Unavailable");
	CHECK(fake_count("GET /v2.0/ports") == 4, "attempts: %d (want 1 + 3 retries)",
	        fake_count("GET /v2.0/ports"));
	result_clear(&r);

	json_object_put(control("POST", "/_control/reset", NULL));
	fault("{\"kind\":\"status\",\"status\":503,\"path\":\"/v2.0/ports\",\"method\":\"POST\","
	      "\"count\":100}");
	CHECK(neutron_port_create(e.nt, &spec, on_port, &r, NULL) == 0, "create");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -EIO, 503, NULL);
	CHECK(fake_count("POST /v2.0/ports") == 1, "a POST was retried");
	result_clear(&r);
	env_close(&e);
}

/* A server that accepts and never answers: the call times out, and a
 * second call to a healthy endpoint completes while the first hangs. */
static void case_hang(void)
{
	struct result hung = {0}, ok = {0};
	struct http_options o;
	struct env e = {0};
	double t0;

	fake_start(NULL);
	http_options_default(&o);
	o.connect_timeout_ms = 1000;
	o.total_timeout_ms = 2000;
	env_open(&e, &o);
	neutron_ports_free(list_ports(&e, NULL)); /* token in hand */
	fault("{\"kind\":\"hang\",\"path\":\"/v2.0/ports\"}");
	t0 = now_s();
	CHECK(neutron_ports_list(e.nt, NULL, on_ports, &hung, NULL) == 0, "list");
	CHECK(neutron_routers_list(e.nt, NULL, on_routers, &ok, NULL) == 0, "routers");
	CHECK(run(&e, &ok.done, 10), "the healthy call did not end");
	expect_ok(&ok);
	CHECK(!hung.done, "the hung call ended before the healthy one");
	printf("  healthy call done after %.2f s while the other hangs\n", ok.at - t0);
	CHECK(run(&e, &hung.done, 10), "the hung call never timed out");
	expect_error(&hung, -ETIMEDOUT, 0, NULL);
	printf("  hung call timed out after %.2f s\n", hung.at - t0);
	CHECK(hung.at - t0 >= 1.8 && hung.at - t0 < 5, "timeout after %.2f s", hung.at - t0);
	CHECK(fake_count("GET /v2.0/ports") == 2, "a timed-out GET was retried");
	neutron_routers_free(ok.obj);
	result_clear(&ok);
	result_clear(&hung);

	/* Cancelling a hanging call: no callback, nothing left pending. */
	fault("{\"kind\":\"hang\",\"path\":\"/v2.0/ports\"}");
	{
		struct neutron_call *call;

		CHECK(neutron_ports_list(e.nt, NULL, on_ports, &hung, &call) == 0, "list");
		idle(&e, 0.3);
		CHECK(http_client_pending(e.http) == 1, "pending %u", http_client_pending(e.http));
		neutron_call_cancel(call);
		CHECK(http_client_pending(e.http) == 0, "cancel left %u requests",
		        http_client_pending(e.http));
		idle(&e, 0.3);
		CHECK(!hung.done, "a cancelled call called back");
	}
	env_close(&e);
}

/* Malformed, truncated and short JSON answers: clean errors. */
static void case_bad_json(void)
{
	static const char *const kinds[] = {"malformed", "truncated", "short"};
	static const char *const words[] = {"malformed JSON", "truncated", "truncated"};
	struct env e = {0};

	fake_start(NULL);
	env_open(&e, NULL);
	for (size_t i = 0; i < 3; i++) {
		struct result r = {0};
		char f[128];

		snprintf(f, sizeof(f), "{\"kind\":\"%s\",\"path\":\"/v2.0/ports\"}", kinds[i]);
		fault(f);
		CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r, NULL) == 0, "list");
		CHECK(run(&e, &r.done, 10), "%s: did not end", kinds[i]);
		expect_error(&r, -EPROTO, i == 2 ? 0 : 200, words[i]);
		result_clear(&r);
	}
	env_close(&e);
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* An enormous body, announced or chunked: rejected, memory bounded. */
static void case_huge(void)
{
	struct http_options o;
	struct env e = {0};
	long before;

	fake_start(NULL);
	http_options_default(&o);
	o.max_body = 1 << 20;
	o.total_timeout_ms = 20000;
	env_open(&e, &o);
	neutron_ports_free(list_ports(&e, NULL));
	before = maxrss_kib();
	for (int chunked = 0; chunked < 2; chunked++) {
		struct result r = {0};
		char f[160];

		snprintf(f, sizeof(f),
		        "{\"kind\":\"huge\",\"path\":\"/v2.0/ports\",\"bytes\":268435456,"
		        "\"chunked\":%s}",
		        chunked ? "true" : "false");
		fault(f);
		CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r, NULL) == 0, "list");
		CHECK(run(&e, &r.done, 25), "did not end");
		expect_error(&r, -EMSGSIZE, 0, "larger than the 1048576 bytes");
		result_clear(&r);
	}
	printf("  max RSS grew by %ld KiB for two 256 MiB answers\n", maxrss_kib() - before);
	CHECK(maxrss_kib() - before < 32 * 1024, "memory grew by %ld KiB", maxrss_kib() - before);
	env_close(&e);
}

/* A redirect is not followed: a clean error naming where it pointed. */
static void case_redirect(void)
{
	struct result r = {0};
	struct env e = {0};

	fake_start(NULL);
	env_open(&e, NULL);
	fault("{\"kind\":\"redirect\",\"path\":\"/v2.0/routers\","
	      "\"location\":\"http://127.0.0.1:1/elsewhere\"}");
	CHECK(neutron_routers_list(e.nt, NULL, on_routers, &r, NULL) == 0, "list");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -EPROTO, 302, "redirect (HTTP 302) to http://127.0.0.1:1/elsewhere");
	CHECK(fake_count("GET /elsewhere") == 0, "the redirect was followed");
	result_clear(&r);
	env_close(&e);
}

/* Pagination whose next link loops: detected, not followed forever. */
static void case_pagination_loop(void)
{
	const char *args[] = {"--ports", "10", NULL};
	struct result r = {0};
	struct neutron_ports *l;
	struct env e = {0};

	fake_start(args);
	env_open(&e, NULL);
	neutron_set_page_size(e.nt, 4);
	l = list_ports(&e, NULL); /* a sane walk first: 15 ports over 4 pages */
	CHECK(l->len == 15, "%zu ports", l->len);
	for (size_t i = 1; i < l->len; i++)
		CHECK(strcmp(l->v[i - 1].id, l->v[i].id) < 0, "pages overlap or repeat");
	neutron_ports_free(l);
	fault("{\"kind\":\"loop_pages\",\"path\":\"/v2.0/ports\",\"count\":1000}");
	CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r, NULL) == 0, "list");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -ELOOP, 200, "pagination loops");
	result_clear(&r);
	env_close(&e);
}

/* A listing taken a page at a time (neutron_ports_each). */
struct paged {
	struct result r; /* first: on_ports takes it */
	unsigned int pages, refuse_at;
	size_t ports, biggest;
	char last[64];
	bool ordered;
};

static int on_page(const struct neutron_ports *page, void *arg)
{
	struct paged *p = arg;

	if (++p->pages == p->refuse_at)
		return -ECANCELED;
	p->ports += page->len;
	p->biggest = page->len > p->biggest ? page->len : p->biggest;
	for (size_t i = 0; i < page->len; i++) {
		if (strcmp(p->last, page->v[i].id) >= 0)
			p->ordered = false;
		snprintf(p->last, sizeof(p->last), "%s", page->v[i].id);
	}
	return 0;
}

/*
 * Pages handed over one by one, none kept: every port once, in order, no
 * page larger than the limit, an empty list at the end; a page refused
 * ends the listing with that error.
 */
static void case_pages(void)
{
	const char *args[] = {"--ports", "10", NULL};
	struct paged p = {.ordered = true};
	struct neutron_ports *l;
	struct env e = {0};

	fake_start(args);
	env_open(&e, NULL);
	neutron_set_page_size(e.nt, 4);
	CHECK(neutron_ports_each(e.nt, NULL, NULL, on_ports, &p, NULL) == -EINVAL, "no page cb");
	CHECK(neutron_ports_each(e.nt, NULL, on_page, on_ports, &p, NULL) == 0, "each");
	CHECK(run(&e, &p.r.done, 10), "did not end");
	expect_ok(&p.r);
	l = p.r.obj;
	printf("  %u pages, %zu ports, at most %zu a page\n", p.pages, p.ports, p.biggest);
	CHECK(l != NULL && l->len == 0, "the end should bring an empty list");
	CHECK(p.ports == 15 && p.pages == 4 && p.biggest == 4, "%zu ports in %u pages", p.ports,
	        p.pages);
	CHECK(p.ordered, "pages overlap or repeat");
	neutron_ports_free(l);
	p = (struct paged){.refuse_at = 2};
	CHECK(neutron_ports_each(e.nt, NULL, on_page, on_ports, &p, NULL) == 0, "each");
	CHECK(run(&e, &p.r.done, 10), "did not end");
	expect_error(&p.r, -ECANCELED, 0, "refused");
	CHECK(p.pages == 2, "%u pages after a refusal", p.pages);
	result_clear(&p.r);
	env_close(&e);
}

/* Filters, ids in chunks, fields=, interfaces and subnets. */
static void case_queries(void)
{
	const char *args[] = {"--ports", "30", NULL};
	struct neutron_port_filter f = {.ip_address = "10.0.0.5"};
	struct neutron_router_interfaces *ifs;
	struct neutron_ports *all, *some;
	struct neutron_routers *rl;
	struct result r = {0};
	const char *ids[40];
	struct env e = {0};
	unsigned int before;

	fake_start(args);
	env_open(&e, NULL);
	some = list_ports(&e, &f);
	CHECK(some->len == 1 && strcmp(some->v[0].name, "vm1") == 0, "ip filter: %zu", some->len);
	CHECK(some->v[0].fixed_ips_len == 1 && some->v[0].fixed_ips[0].addr.family == AF_INET,
	        "fixed ip not decoded");
	neutron_ports_free(some);

	all = list_ports(&e, NULL);
	CHECK(all->len == 35, "%zu ports", all->len);
	for (size_t i = 0; i < 30; i++)
		ids[i] = all->v[i].id;
	neutron_set_max_url(e.nt, 700); /* a handful of ids per URL */
	before = neutron_stats(e.nt)->requests;
	f = (struct neutron_port_filter){.ids = ids, .ids_len = 30};
	some = list_ports(&e, &f);
	printf("  30 ids in %u calls\n", neutron_stats(e.nt)->requests - before);
	CHECK(some->len == 30, "%zu of 30 ports by id", some->len);
	CHECK(neutron_stats(e.nt)->requests - before >= 3, "ids not split");
	neutron_ports_free(some);
	neutron_ports_free(all);

	CHECK(neutron_routers_list(e.nt, &(struct neutron_router_filter){.name = "router1"},
	              on_routers, &r, NULL) == 0,
	        "routers");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_ok(&r);
	rl = r.obj;
	CHECK(rl->len == 1 && rl->v[0].has_gateway && rl->v[0].gateway_ips_len == 1 &&
	                strcmp(rl->v[0].gateway_ips[0].ip_address, "203.0.113.10") == 0,
	        "router1 gateway");
	result_clear(&r);
	CHECK(neutron_router_interfaces(e.nt, rl->v[0].id, on_ifs, &r, NULL) == 0, "ifs");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_ok(&r);
	ifs = r.obj;
	CHECK(ifs->ports.len == 2 && ifs->subnets.len == 2, "%zu interfaces, %zu subnets",
	        ifs->ports.len, ifs->subnets.len);
	for (size_t i = 0; i < ifs->subnets.len; i++)
		CHECK(ifs->subnets.v[i].cidr.addr.family != 0, "subnet cidr not parsed");
	neutron_router_interfaces_free(ifs);
	neutron_routers_free(rl);
	result_clear(&r);
	{
		struct json_object *st = control("GET", "/_control/stats", NULL), *q;

		json_object_object_get_ex(st, "queries", &q);
		CHECK(strstr(json_object_get_string(q), "fields=fixed_ips") != NULL,
		        "listings do not ask for fields");
		json_object_put(st);
	}
	env_close(&e);
}

/* Token validation: roles and project; cached; garbage rejected. */
static void case_validate(void)
{
	struct env e = {0}, demo = {0};
	struct result r = {0};
	char *tok;

	fake_start(NULL);
	env_cloud(&e, "admin");
	env_open(&e, NULL);
	env_open(&demo, NULL);
	neutron_ports_free(list_ports(&demo, NULL));
	tok = strdup(keystone_token(demo.ks));
	for (int i = 0; i < 2; i++) {
		CHECK(keystone_validate(e.ks, tok, on_validate, &r, NULL) == 0, "validate");
		CHECK(run(&e, &r.done, 10), "did not end");
		expect_ok(&r);
		CHECK(strcmp(r.obj, "p-demo") == 0 && r.count == 2, "project %s, %d roles",
		        (char *)r.obj, r.count);
		free(r.obj);
		result_clear(&r);
	}
	CHECK(keystone_stats(e.ks)->validations == 1 && keystone_stats(e.ks)->cache_hits == 1,
	        "validations %u, hits %u", keystone_stats(e.ks)->validations,
	        keystone_stats(e.ks)->cache_hits);
	CHECK(keystone_validate(e.ks, "gAAAAABgarbage0123456789", on_validate, &r, NULL) == 0,
	        "validate");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -EKEYREJECTED, 404, NULL);
	result_clear(&r);
	CHECK(keystone_validate(e.ks, "garbage", on_validate, &r, NULL) == -EINVAL,
	        "a token shorter than any Keystone token was accepted");
	CHECK(keystone_validate(e.ks, "bad\r\nX-Injected: 1", on_validate, &r, NULL) == -EINVAL,
	        "a token with CR LF was accepted");

	/* Cached at most max_age: after it, Keystone is asked again. */
	keystone_cache_clear(e.ks);
	keystone_set_cache_limits(e.ks, 1, 2);
	for (int i = 0; i < 2; i++) {
		CHECK(keystone_validate(e.ks, tok, on_validate, &r, NULL) == 0, "validate");
		CHECK(run(&e, &r.done, 10), "did not end");
		expect_ok(&r);
		free(r.obj);
		result_clear(&r);
		if (i == 0)
			idle(&e, 1.2);
	}
	CHECK(keystone_stats(e.ks)->validations == 4, "max age not applied: %u validations",
	        keystone_stats(e.ks)->validations);
	/* At most 2 entries: a third token evicts one. */
	{
		struct env alt = {0};
		const char *toks[3];

		env_cloud(&alt, "alt_demo");
		env_open(&alt, NULL);
		neutron_ports_free(list_ports(&alt, NULL));
		keystone_cache_clear(e.ks);
		keystone_set_cache_limits(e.ks, 300, 2);
		toks[0] = tok;
		toks[1] = keystone_token(alt.ks);
		toks[2] = keystone_token(e.ks);
		for (int i = 0; i < 3; i++) {
			CHECK(keystone_validate(e.ks, toks[i], on_validate, &r, NULL) == 0, "v");
			CHECK(run(&e, &r.done, 10), "did not end");
			expect_ok(&r);
			free(r.obj);
			result_clear(&r);
		}
		CHECK(keystone_stats(e.ks)->cache_evictions == 1, "evictions: %u",
		        keystone_stats(e.ks)->cache_evictions);
		env_close(&alt);
	}
	free(tok);
	env_close(&demo);
	env_close(&e);
}

/*
 * A flood of validations: a refused token is refused again unasked, one
 * token is asked about once however many wait for it (and by the next in
 * line when the first is cancelled), at most max_in_flight calls at once,
 * a bounded queue, -EBUSY at once beyond it. Keystone takes 1 s a call.
 */
static void case_validate_limits(void)
{
	static const char *const slow[] = {"--fault",
	        "{\"kind\": \"delay\", \"path\": \"/v3/auth/tokens\", \"method\": \"GET\", "
	        "\"seconds\": 1, \"count\": 1000}",
	        NULL};
	const struct keystone_stats *st;
	struct keystone_call *lead;
	struct env e = {0};
	struct result r[10];
	char toks[10][40];
	int busy = 0;

	memset(r, 0, sizeof(r));
	fake_start(slow);
	env_cloud(&e, "admin");
	env_open(&e, NULL);
	st = keystone_stats(e.ks);

	/* Refused by Keystone, then from memory. */
	for (int i = 0; i < 2; i++) {
		CHECK(keystone_validate(
		              e.ks, "gAAAAABgarbage0123456789", on_validate, &r[0], NULL) == 0,
		        "validate");
		CHECK(run(&e, &r[0].done, 10), "did not end");
		expect_error(&r[0], -EKEYREJECTED, 404, i == 0 ? NULL : "less than 5 s ago");
		result_clear(&r[0]);
	}
	CHECK(st->validations == 1 && st->negative_hits == 1, "validations %u, negative hits %u",
	        st->validations, st->negative_hits);

	/* Five at once with one new token: one call, five answers. */
	for (int i = 0; i < 5; i++)
		CHECK(keystone_validate(e.ks, "gAAAAABsame0123456789", on_validate, &r[i], NULL) ==
		                0,
		        "validate");
	for (int i = 0; i < 5; i++) {
		CHECK(run(&e, &r[i].done, 10), "did not end");
		expect_error(&r[i], -EKEYREJECTED, 404, NULL);
		result_clear(&r[i]);
	}
	CHECK(st->validations == 2 && st->coalesced == 4, "validations %u, coalesced %u",
	        st->validations, st->coalesced);

	/* The one asking is cancelled: the one waiting for it asks instead. */
	CHECK(keystone_validate(e.ks, "gAAAAABcancel0123456789", on_validate, &r[0], &lead) == 0,
	        "validate");
	CHECK(keystone_validate(e.ks, "gAAAAABcancel0123456789", on_validate, &r[1], NULL) == 0,
	        "validate");
	keystone_call_cancel(lead);
	CHECK(run(&e, &r[1].done, 10), "the follower of a cancelled call got no answer");
	expect_error(&r[1], -EKEYREJECTED, 404, NULL);
	CHECK(!r[0].done, "a cancelled call was answered");
	result_clear(&r[1]);
	CHECK(st->validations == 4, "validations %u", st->validations);

	/* Ten distinct tokens, 2 slots and 3 places: 2 asked, 3 wait, 5 busy at once. */
	keystone_set_validation_limits(e.ks, 2, 3);
	for (int i = 0; i < 10; i++) {
		snprintf(toks[i], sizeof(toks[i]), "gAAAAABdistinct%08d", i);
		CHECK(keystone_validate(e.ks, toks[i], on_validate, &r[i], NULL) == 0, "validate");
	}
	idle(&e, 0.3);
	for (int i = 0; i < 10; i++)
		busy += r[i].done && r[i].err != NULL && r[i].err->code == -EBUSY;
	CHECK(busy == 5, "%d refused busy at once, expected 5", busy);
	CHECK(st->validations == 6 && keystone_pending(e.ks) == 5,
	        "%u validations sent, %u pending: the cap did not hold", st->validations,
	        keystone_pending(e.ks));
	for (int i = 0; i < 10; i++) {
		CHECK(run(&e, &r[i].done, 10), "did not end");
		if (i < 5)
			expect_error(&r[i], -EKEYREJECTED, 404, NULL);
		else
			expect_error(&r[i], -EBUSY, 0, "validations in progress");
		result_clear(&r[i]);
	}
	CHECK(st->validations == 9 && st->queued == 3 && st->busy == 5,
	        "validations %u, queued %u, busy %u", st->validations, st->queued, st->busy);
	env_close(&e);
}

/* Application credentials, wrong passwords, a missing endpoint. */
static void case_auth(void)
{
	struct env e = {0}, bad = {0};
	struct result r = {0};
	char url[96];

	fake_start(NULL);
	snprintf(url, sizeof(url), "%s/v3/", fake_url);
	e.cloud.name = strdup("ac");
	e.cloud.source = strdup("test");
	e.cloud.auth_url = strdup(url);
	e.cloud.auth_type = CLOUD_AUTH_APPLICATION_CREDENTIAL;
	e.cloud.application_credential_id = strdup("ac-demo");
	e.cloud.application_credential_secret = strdup("s3cret");
	env_open(&e, NULL);
	neutron_ports_free(list_ports(&e, NULL));
	CHECK(strcmp(keystone_token_info(e.ks)->project_id, "p-demo") == 0, "app cred project");

	env_cloud(&bad, "demo");
	free(bad.cloud.password);
	bad.cloud.password = strdup("wrong");
	env_open(&bad, NULL);
	CHECK(neutron_ports_list(bad.nt, NULL, on_ports, &r, NULL) == 0, "list");
	CHECK(run(&bad, &r.done, 10), "did not end");
	expect_error(&r, -EACCES, 401, "requires authentication");
	CHECK(strstr(r.err->call, "POST /v3/auth/tokens") != NULL, "call %s", r.err->call);
	result_clear(&r);

	env_close(&bad);
	{
		/* A region the catalog lacks: the error names it. */
		struct env other = {0};

		env_cloud(&other, "demo");
		free(other.cloud.region_name);
		other.cloud.region_name = strdup("Elsewhere");
		env_open(&other, NULL);
		CHECK(neutron_ports_list(other.nt, NULL, on_ports, &r, NULL) == 0, "list");
		CHECK(run(&other, &r.done, 10), "did not end");
		expect_error(&r, -ENOENT, 0, "region Elsewhere");
		result_clear(&r);
		env_close(&other);
	}
	env_close(&e);
}

/* Writes, as the real-OpenStack tests use them, against the fake. */
static void case_writes(void)
{
	struct neutron_fixed_ip_spec ip = {.ip_address = "10.0.0.77"};
	struct neutron_port_spec spec = {
	        .name = "vm-x",
	        .network_id = "n",
	        .device_owner = "compute:nova",
	        .fixed_ips = &ip,
	        .fixed_ips_len = 1,
	};
	struct neutron_port *p;
	struct result r = {0};
	struct env e = {0};
	char *id;

	fake_start(NULL);
	env_open(&e, NULL);
	CHECK(neutron_port_create(e.nt, &spec, on_port, &r, NULL) == 0, "create");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_ok(&r);
	p = r.obj;
	CHECK(strcmp(p->device_owner, "compute:nova") == 0 && p->fixed_ips_len == 1 &&
	                strcmp(p->fixed_ips[0].ip_address, "10.0.0.77") == 0,
	        "created port");
	id = strdup(p->id);
	neutron_port_free(p);
	result_clear(&r);
	ip.ip_address = "10.0.0.78";
	CHECK(neutron_port_update_fixed_ips(e.nt, id, &ip, 1, on_port, &r, NULL) == 0, "update");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_ok(&r);
	p = r.obj;
	CHECK(strcmp(p->fixed_ips[0].ip_address, "10.0.0.78") == 0, "update not applied");
	neutron_port_free(p);
	result_clear(&r);
	CHECK(neutron_delete(e.nt, "ports", id, on_done, &r, NULL) == 0, "delete");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_ok(&r);
	result_clear(&r);
	CHECK(neutron_port_get(e.nt, id, on_port, &r, NULL) == 0, "get");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -ENOENT, 404, NULL);
	result_clear(&r);
	free(id);
	env_close(&e);
}

/* A slow Keystone (2 s) does not stall a call that needs no token. */
static void case_slow_keystone(void)
{
	const char *args[] = {"--fault",
	        "{\"kind\":\"delay\",\"seconds\":2,"
	        "\"path\":\"/v3/auth/tokens\",\"count\":1}",
	        NULL};
	struct result slow = {0}, quick = {0};
	struct env e = {0};
	char url[96];
	double t0;

	fake_start(args);
	env_open(&e, NULL);
	snprintf(url, sizeof(url), "%s/", fake_url);
	t0 = now_s();
	CHECK(neutron_ports_list(e.nt, NULL, on_ports, &slow, NULL) == 0, "list");
	/* An unauthenticated request on the same loop ends at once. */
	CHECK(http_request(e.http, "GET", url, NULL, NULL, on_http, &quick, NULL) == 0, "get");
	CHECK(run(&e, &quick.done, 10), "the quick call did not end");
	expect_ok(&quick);
	CHECK(!slow.done && quick.at - t0 < 1.0, "the quick call waited %.2f s", quick.at - t0);
	CHECK(run(&e, &slow.done, 10), "did not end");
	expect_ok(&slow);
	printf("  listing with a 2 s Keystone took %.2f s\n", slow.at - t0);
	CHECK(slow.at - t0 >= 1.9, "the delay did not apply");
	neutron_ports_free(slow.obj);
	result_clear(&slow);
	result_clear(&quick);
	env_close(&e);
}

/* A refused connection is retried with backoff, then reported. */
static void case_refused(void)
{
	struct result r = {0};
	struct env e = {0};
	double t0;

	fake_start(NULL);
	env_open(&e, NULL); /* retries wait 200, 400, 800 ms */
	neutron_ports_free(list_ports(&e, NULL));
	CHECK(neutron_set_endpoint(e.nt, "http://127.0.0.1:1/v2.0/") == 0, "endpoint");
	t0 = now_s();
	CHECK(neutron_ports_list(e.nt, NULL, on_ports, &r, NULL) == 0, "list");
	CHECK(run(&e, &r.done, 10), "did not end");
	expect_error(&r, -ECONNREFUSED, 0, NULL);
	printf("  refused after %.2f s of retries\n", r.at - t0);
	CHECK(r.at - t0 >= 1.3, "no backoff: %.2f s", r.at - t0);
	result_clear(&r);
	env_close(&e);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
        {"expired-token", case_expired_token},
        {"status-500", case_status_500},
        {"status-503", case_status_503},
        {"hang", case_hang},
        {"bad-json", case_bad_json},
        {"huge", case_huge},
        {"redirect", case_redirect},
        {"pagination-loop", case_pagination_loop},
        {"pages", case_pages},
        {"queries", case_queries},
        {"validate", case_validate},
        {"validate-limits", case_validate_limits},
        {"auth", case_auth},
        {"writes", case_writes},
        {"slow-keystone", case_slow_keystone},
        {"refused", case_refused},
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CASE\n", argv[0]);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(fake_stop);
	setvbuf(stdout, NULL, _IONBF, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].fn();
			printf("PASS %s\n", cases[i].name);
			return 0;
		}
	}
	fprintf(stderr, "no case %s\n", argv[1]);
	return 2;
}
