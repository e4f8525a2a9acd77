#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "addr.h"
#include "clouds.h"
#include "config.h"
#include "fwd.h"
#include "http-sync.h"
#include "http.h"
#include "keystone.h"
#include "neutron.h"

struct session {
	struct event_base *base;
	struct http_client *http;
	struct cloud cloud;
	bool has_cloud;
	struct keystone *ks;
	struct neutron *neutron;
	char *url; /* no trailing '/' */
};

/* Waits for one asynchronous answer on the session's loop. */
struct wait {
	bool done;
	struct http_error *err;
	struct neutron_routers *routers;
};

static char *dup_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_line(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	/* One line, whatever the service said. */
	for (char *p = s; p && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

static void on_auth(const struct http_error *err, void *arg)
{
	struct wait *w = arg;

	w->err = err ? http_error_copy(err) : NULL;
	w->done = true;
}

static char *error_text(const struct http_error *err)
{
	char *s = http_error_string(err);
	char *line = dup_line("%s", s ? s : "request failed");

	free(s);
	return line;
}

/*
 * Finds the credentials, if any: --os-cloud, OS_CLOUD, or OS_AUTH_URL and
 * the other OS_* variables. 0 with s->has_cloud telling whether there were
 * some, or -1 with *error.
 */
static int load_cloud(struct session *s, const struct session_options *opts, char **error)
{
	const char *name = opts->os_cloud ? opts->os_cloud : getenv("OS_CLOUD");
	char *cause = NULL;

	if ((name == NULL || name[0] == '\0') && getenv("OS_AUTH_URL") == NULL)
		return 0; /* no credentials: an unauthenticated service (auth = "none") */
	if (clouds_load(NULL, name, &s->cloud, &cause) < 0) {
		*error = dup_line("credentials: %s", cause ? cause : "out of memory");
		free(cause);
		return -1;
	}
	s->has_cloud = true;
	return 0;
}

/* Issues our token (and so learns the catalog). */
static int authenticate(struct session *s, char **error)
{
	struct wait w = {0};
	char *cause = NULL;

	if (keystone_new(s->http, &s->cloud, &s->ks, &cause) < 0 ||
	        neutron_new(s->ks, &s->neutron) < 0) {
		*error = dup_line("credentials: %s", cause ? cause : "out of memory");
		free(cause);
		return -1;
	}
	if (keystone_authenticate(s->ks, on_auth, &w, NULL) < 0 ||
	        http_wait(s->base, &w.done) < 0) {
		*error = dup_line("cannot authenticate");
		return -1;
	}
	if (w.err != NULL) {
		*error = error_text(w.err);
		http_error_free(w.err);
		return -1;
	}
	return 0;
}

/* 0.0.0.0 or :: (a listen on every address). */
static bool addr_is_wildcard(const struct addr *a)
{
	for (size_t i = 0; i < addr_len(a); i++)
		if (a->u.bytes[i] != 0)
			return false;
	return addr_len(a) > 0;
}

/*
 * --config: the URL of the pat-agent a praas.conf describes, as seen from this
 * host: its listen address (the wildcard means loopback here) and port_app.
 * Only those two keys are used; the file must be valid all the same, so the
 * CLI and the agent never disagree about it.
 */
static int url_from_config(const char *path, char **url, char **error)
{
	struct config cfg;
	struct addr a;
	const char *host;
	char *cause = NULL;
	int r;

	memset(&cfg, 0, sizeof(cfg)); /* config_load() frees what cfg held before */
	if (config_load(path, &cfg, &cause, NULL, NULL) < 0) {
		*error = dup_line("%s", cause ? cause : "cannot read the configuration");
		free(cause);
		return -1;
	}
	host = cfg.listen;
	if (addr_parse(host, &a) == 0 && addr_is_wildcard(&a))
		host = a.family == AF_INET6 ? "::1" : "127.0.0.1";
	r = asprintf(
	        url, strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, cfg.port_app);
	config_free(&cfg);
	if (r < 0) {
		*url = NULL;
		*error = dup_line("out of memory");
		return -1;
	}
	return 0;
}

static int find_url(struct session *s, const struct session_options *opts, char **error)
{
	const char *url = opts->url ? opts->url : getenv("PRAAS_URL");
	char *cause = NULL;
	size_t len;

	if (opts->url == NULL && opts->config != NULL) {
		if (url_from_config(opts->config, &s->url, error) < 0)
			return -1;
	} else if (url != NULL && url[0] != '\0') {
		s->url = strdup(url);
	} else if (s->has_cloud) {
		if (keystone_endpoint(s->ks, "praas", &s->url, &cause) < 0) {
			*error = dup_line("no PRaaS endpoint: give --url or PRAAS_URL (%s)",
			        cause ? cause : "the catalog has no service of type praas");
			free(cause);
			return -1;
		}
	} else {
		*error = dup_line("no PRaaS endpoint: give --url, PRAAS_URL, or credentials "
		                  "(--os-cloud) whose catalog has a praas service");
		return -1;
	}
	if (s->url == NULL)
		return -1;
	len = strlen(s->url);
	while (len > 0 && s->url[len - 1] == '/')
		s->url[--len] = '\0';
	/* The paths start with /v1: an endpoint registered as ".../v1" means the same. */
	if (len >= 3 && strcmp(s->url + len - 3, "/v1") == 0)
		s->url[len - 3] = '\0';
	return 0;
}

int session_open(const struct session_options *opts, struct session **out, char **error)
{
	struct http_options hopts;
	struct session *s;

	*error = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->base = event_base_new()) == NULL) {
		free(s);
		*error = dup_line("out of memory");
		return -1;
	}
	if (load_cloud(s, opts, error) < 0) {
		session_close(s);
		return -1;
	}
	http_options_default(&hopts);
	hopts.max_retries = 0; /* a person is waiting: fail fast, let them retry */
	if (opts->timeout_ms > 0)
		hopts.total_timeout_ms = opts->timeout_ms;
	if (s->has_cloud)
		keystone_http_options(&s->cloud, &hopts); /* verify, cacert */
	if (http_client_new(s->base, &hopts, &s->http) < 0) {
		*error = dup_line("cannot start the HTTP client");
		session_close(s);
		return -1;
	}
	if ((s->has_cloud && authenticate(s, error) < 0) || find_url(s, opts, error) < 0) {
		if (*error == NULL)
			*error = dup_line("out of memory");
		session_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void session_close(struct session *s)
{
	if (s == NULL)
		return;
	if (s->neutron)
		neutron_free(s->neutron);
	if (s->ks)
		keystone_free(s->ks);
	if (s->http)
		http_client_free(s->http);
	cloud_free(&s->cloud);
	if (s->base)
		event_base_free(s->base);
	free(s->url);
	free(s);
}

/* The API-SIG detail of an error answer, else its status line. */
static char *service_error(const struct http_result *res)
{
	struct json_object *root = json_tokener_parse(res->body ? res->body : ""), *errors, *e,
	                   *detail;
	char *line = NULL;

	if (root && json_object_object_get_ex(root, "errors", &errors) &&
	        json_object_is_type(errors, json_type_array) && json_object_array_length(errors) &&
	        (e = json_object_array_get_idx(errors, 0)) &&
	        json_object_object_get_ex(e, "detail", &detail))
		line = dup_line("%s (HTTP %ld)", json_object_get_string(detail), res->status);
	else if (root && json_object_object_get_ex(root, "message", &detail))
		line = dup_line("%s (HTTP %ld)", json_object_get_string(detail), res->status);
	json_object_put(root);
	if (line == NULL && res->error != NULL)
		line = error_text(res->error);
	return line ? line : dup_line("HTTP %ld", res->status);
}

int session_request(struct session *s, const char *method, const char *path,
        struct json_object *body, struct json_object **answer, char **error)
{
	const char *headers[2] = {NULL, NULL};
	struct http_result res;
	char *url = NULL, *token_header = NULL;
	const char *token = s->ks ? keystone_token(s->ks) : NULL;
	int r = -1;

	*answer = NULL;
	*error = NULL;
	if (asprintf(&url, "%s%s", s->url, path) < 0)
		return -1;
	if (token != NULL) {
		if (asprintf(&token_header, "X-Auth-Token: %s", token) < 0) {
			free(url);
			return -1;
		}
		headers[0] = token_header;
	}
	if (http_request_sync(s->http, method, url, headers,
	            body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL,
	            &res) < 0) {
		*error = dup_line("cannot send %s %s", method, url);
		goto out;
	}
	if (res.status >= 200 && res.status < 300) {
		if (res.body_len > 0) {
			*answer = json_tokener_parse(res.body);
			if (*answer == NULL)
				*error =
				        dup_line("the service answered something that is not JSON");
		}
		r = *error ? -1 : 0;
	} else {
		*error = res.status ? service_error(&res) : error_text(res.error);
	}
	http_result_free(&res);
out:
	free(url);
	free(token_header);
	return r;
}

static void on_routers(struct neutron_routers *l, const struct http_error *err, void *arg)
{
	struct wait *w = arg;

	w->routers = l;
	w->err = err ? http_error_copy(err) : NULL;
	w->done = true;
}

char *session_router_id(struct session *s, const char *name_or_id, char **error)
{
	struct neutron_router_filter f = {.name = name_or_id};
	struct wait w = {0};
	char *id = NULL;

	*error = NULL;
	if (!s->has_cloud || fwd_uuid_valid(name_or_id))
		return strdup(name_or_id);
	if (neutron_routers_list(s->neutron, &f, on_routers, &w, NULL) < 0 ||
	        http_wait(s->base, &w.done) < 0) {
		*error = dup_line("cannot ask Neutron for router %s", name_or_id);
		return NULL;
	}
	if (w.err != NULL)
		*error = error_text(w.err);
	else if (w.routers->len == 0)
		*error = dup_line("no router named %s", name_or_id);
	else if (w.routers->len > 1)
		*error = dup_line(
		        "%zu routers are named %s: give its id", w.routers->len, name_or_id);
	else
		id = strdup(w.routers->v[0].id);
	if (w.routers)
		neutron_routers_free(w.routers);
	http_error_free(w.err);
	return id;
}
