/*
 * Keystone v3. Every call is a struct keystone_call on the keystone's list;
 * a call that needs a token waits (state KC_WAIT_TOKEN) while one token
 * request is in flight, and is sent when it ends. Results produced without
 * an HTTP answer in hand (cache hits, errors found before sending) are
 * delivered through a zero-delay timer, so no callback ever runs inside
 * the function that started its call. Validations ride on the same calls
 * (kind KC_VALIDATE); their cache, sharing and slots are in
 * keystone-validate.c.
 */
#include "keystone.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "log.h"
#include "keystone-int.h"
#include "refused.h"

static void kc_send(struct keystone_call *call);

/* ---- the client ------------------------------------------------------ */

static char *identity_url(const char *auth_url)
{
	size_t n = strlen(auth_url);
	char *s;

	while (n > 0 && auth_url[n - 1] == '/')
		n--;
	if (n >= 3 && strncmp(auth_url + n - 3, "/v3", 3) == 0)
		return strndup(auth_url, n);
	if (asprintf(&s, "%.*s/v3", (int)n, auth_url) < 0)
		return NULL;
	return s;
}

void keystone_http_options(const struct cloud *c, struct http_options *opts)
{
	opts->verify = c->verify;
	opts->cacert = c->cacert;
}

int keystone_new(
        struct http_client *http, const struct cloud *cloud, struct keystone **out, char **cause)
{
	struct keystone *ks;
	int r;

	if ((r = cloud_check(cloud, cause)) < 0)
		return r;
	if (strncmp(cloud->auth_url, "http://", 7) != 0 &&
	        strncmp(cloud->auth_url, "https://", 8) != 0) {
		if (cause != NULL &&
		        asprintf(cause, "auth_url \"%s\" is not http(s)", cloud->auth_url) < 0)
			*cause = NULL;
		return -EINVAL;
	}
	ks = calloc(1, sizeof(*ks));
	if (ks == NULL)
		return -ENOMEM;
	TAILQ_INIT(&ks->calls);
	ks->http = http;
	ks->base = http_client_base(http);
	ks->margin = KEYSTONE_TOKEN_MARGIN;
	token_cache_set_limits(&ks->cache, KEYSTONE_CACHE_MAX_AGE, KEYSTONE_CACHE_MAX_TOKENS);
	ks->negative_ttl = KEYSTONE_NEGATIVE_TTL;
	ks->max_validations = KEYSTONE_MAX_VALIDATIONS;
	ks->max_queued = KEYSTONE_VALIDATION_QUEUE;
	if ((r = refused_new(KEYSTONE_NEGATIVE_SLOTS, &ks->refused)) < 0) {
		if (cause != NULL &&
		        asprintf(cause, "cannot make the refused-token table: %s", strerror(-r)) <
		                0)
			*cause = NULL;
		ks_destroy(ks);
		return r;
	}
	if (cloud_copy(cloud, &ks->cloud) < 0 ||
	        (ks->identity_url = identity_url(cloud->auth_url)) == NULL) {
		ks_destroy(ks);
		return -ENOMEM;
	}
	*out = ks;
	return 0;
}

static void ks_drop_token(struct keystone *ks)
{
	free(ks->token);
	ks->token = NULL;
	keystone_token_info_clear(&ks->info);
	json_object_put(ks->catalog);
	ks->catalog = NULL;
}

/* Cancels every call and the token being issued (no callbacks); starts nothing new. */
static void ks_stop(struct keystone *ks)
{
	struct keystone_call *call;

	ks->tearing = true;
	while ((call = TAILQ_FIRST(&ks->calls)) != NULL)
		kc_destroy(call);
	if (ks->issuing != NULL)
		http_request_cancel(ks->issuing);
	ks->issuing = NULL;
}

void ks_destroy(struct keystone *ks)
{
	ks_stop(ks);
	ks_drop_token(ks);
	keystone_cache_clear(ks);
	refused_free(ks->refused);
	cloud_free(&ks->cloud);
	free(ks->identity_url);
	free(ks);
}

void keystone_free(struct keystone *ks)
{
	if (ks == NULL)
		return;
	/* From a callback: everything stops now, the client is freed on unwind. */
	ks_stop(ks);
	if (guard_free(&ks->guard))
		ks_destroy(ks);
}

const struct keystone_stats *keystone_stats(const struct keystone *ks)
{
	return &ks->stats;
}

unsigned int keystone_pending(const struct keystone *ks)
{
	return ks->pending;
}

/* Held and not within the renewal margin of its expiry. The margin never
 * exceeds half the token's life, or a short-lived token would be renewed
 * forever. */
static bool ks_token_fresh(const struct keystone *ks)
{
	time_t now = time(NULL), margin = ks->margin;

	if (ks->token == NULL)
		return false;
	if (ks->info.issued_at > 0 && (ks->info.expires_at - ks->info.issued_at) / 2 < margin)
		margin = (ks->info.expires_at - ks->info.issued_at) / 2;
	return now + margin < ks->info.expires_at;
}

const char *keystone_token(const struct keystone *ks)
{
	return ks->token != NULL && time(NULL) < ks->info.expires_at ? ks->token : NULL;
}

const struct keystone_token_info *keystone_token_info(const struct keystone *ks)
{
	return keystone_token(ks) != NULL ? &ks->info : NULL;
}

int keystone_endpoint(const struct keystone *ks, const char *service_type, char **url, char **cause)
{
	*url = NULL;
	if (ks->catalog == NULL) {
		if (cause != NULL)
			*cause = strdup("no token held, so no catalog");
		return -ENOTCONN;
	}
	return keystone_catalog_endpoint(ks->catalog, service_type,
	        ks->cloud.interface ? ks->cloud.interface : "public", ks->cloud.region_name, url,
	        cause);
}

/* ---- calls ----------------------------------------------------------- */

struct keystone_call *kc_new(struct keystone *ks, enum kc_kind kind, void *arg)
{
	struct keystone_call *call = calloc(1, sizeof(*call));

	if (call == NULL)
		return NULL;
	call->ks = ks;
	call->kind = kind;
	call->arg = arg;
	TAILQ_INSERT_TAIL(&ks->calls, call, entry);
	ks->pending++;
	return call;
}

void kc_destroy(struct keystone_call *call)
{
	struct keystone *ks = call->ks;

	if (!call->unlinked) {
		if (call->kind == KC_VALIDATE)
			kc_validation_end(call);
		TAILQ_REMOVE(&ks->calls, call, entry);
		ks->pending--;
		call->unlinked = true;
	}
	if (call->http != NULL)
		http_request_cancel(call->http);
	call->http = NULL;
	if (call->in_cb)
		return; /* kc_deliver frees it when the callback returns */
	if (call->defer != NULL)
		event_free(call->defer);
	free(call->service_type);
	free(call->method);
	free(call->path);
	free(call->body);
	if (call->subject != NULL)
		explicit_bzero(call->subject, strlen(call->subject));
	free(call->subject);
	free(call->token_used);
	http_error_free(call->err);
	keystone_token_info_clear(&call->info);
	free(call);
}

void keystone_call_cancel(struct keystone_call *call)
{
	if (call != NULL)
		kc_destroy(call);
}

/* Hands the result to the caller (and, for a validation, to the calls
 * that joined it) and ends the call. resp is only for KC_REQUEST; info
 * only for KC_VALIDATE. */

void kc_deliver(struct keystone_call *call, const struct http_response *resp,
        const struct http_error *err, const struct keystone_token_info *info)
{
	static const struct http_error oom = {-ENOMEM, 0, (char *)"", (char *)"out of memory"};
	struct keystone *ks = call->ks;

	if (call->kind == KC_VALIDATE) {
		/* A result lost to a failed allocation must still be an answer. */
		if (err == NULL && info == NULL)
			err = &oom;
		if (!call->follower)
			kc_share(call, err, info);
	}
	call->state = KC_DONE;
	guard_enter(&ks->guard);
	call->in_cb = true;
	switch (call->kind) {
	case KC_AUTH:
		call->cb.auth(err, call->arg);
		break;
	case KC_REQUEST:
		call->cb.request(resp, err, call->arg);
		break;
	case KC_VALIDATE:
		call->cb.validate(err == NULL ? info : NULL, err, call->arg);
		break;
	}
	call->in_cb = false;
	kc_destroy(call);
	if (guard_leave(&ks->guard))
		ks_destroy(ks);
}

void kc_on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct keystone_call *call = arg;
	char words[128];

	if (call->state == KC_QUEUED) {
		/* Waited long enough: a caller is better off trying again. */
		call->state = KC_NEW;
		call->ks->queued--;
		call->ks->stats.busy++;
		snprintf(words, sizeof(words),
		        "waited %d s for one of %u validation slots (Keystone is slow)",
		        KEYSTONE_QUEUE_WAIT, call->ks->max_validations);
		kc_fail(call, -EBUSY, words);
		return;
	}
	kc_deliver(call, NULL, call->err, call->has_info ? &call->info : NULL);
}

/* Delivers err (taken; NULL for success) from the loop, not from here. */
void kc_defer(struct keystone_call *call, struct http_error *err)
{
	static const struct timeval zero = {0, 0};

	call->state = KC_DEFERRED;
	http_error_free(call->err);
	call->err = err;
	if (call->defer == NULL)
		call->defer = evtimer_new(call->ks->base, kc_on_defer, call);
	if (call->defer == NULL || evtimer_add(call->defer, &zero) < 0) {
		/* Cannot reach the loop: better late words than silence. */
		kc_deliver(call, NULL, err, NULL);
	}
}

/* Fails the call with our own words, naming it "METHOD path". */
void kc_fail(struct keystone_call *call, int code, const char *words)
{
	struct http_error *err;

	if (call->method != NULL)
		err = http_error_new(code, 0, "", "%s", words);
	else
		err = http_error_new(code, 0, "POST /v3/auth/tokens", "%s", words);
	if (err != NULL && call->method != NULL) {
		free(err->call);
		if (asprintf(&err->call, "%s %s", call->method, call->path) < 0)
			err->call = strdup("");
	}
	kc_defer(call, err);
}

/* ---- issuing our token ----------------------------------------------- */

static struct json_object *json_domain(const char *id, const char *name)
{
	struct json_object *d = json_object_new_object();

	if (id != NULL)
		json_object_object_add(d, "id", json_object_new_string(id));
	else if (name != NULL)
		json_object_object_add(d, "name", json_object_new_string(name));
	return d;
}

static struct json_object *json_user(const struct cloud *c)
{
	struct json_object *u = json_object_new_object();

	if (c->user_id != NULL) {
		json_object_object_add(u, "id", json_object_new_string(c->user_id));
	} else {
		json_object_object_add(u, "name", json_object_new_string(c->username));
		json_object_object_add(
		        u, "domain", json_domain(c->user_domain_id, c->user_domain_name));
	}
	return u;
}

/* The POST /v3/auth/tokens body for the cloud's auth type (allocated). */
static char *ks_auth_body(const struct cloud *c)
{
	struct json_object *root = json_object_new_object(), *auth = json_object_new_object();
	struct json_object *ident = json_object_new_object(), *methods = json_object_new_array();
	struct json_object *m = json_object_new_object(), *user;
	char *s;

	json_object_object_add(root, "auth", auth);
	json_object_object_add(auth, "identity", ident);
	json_object_object_add(ident, "methods", methods);
	if (c->auth_type == CLOUD_AUTH_APPLICATION_CREDENTIAL) {
		json_object_array_add(methods, json_object_new_string("application_credential"));
		json_object_object_add(ident, "application_credential", m);
		if (c->application_credential_id != NULL) {
			json_object_object_add(
			        m, "id", json_object_new_string(c->application_credential_id));
		} else {
			json_object_object_add(
			        m, "name", json_object_new_string(c->application_credential_name));
			json_object_object_add(m, "user", json_user(c));
		}
		json_object_object_add(
		        m, "secret", json_object_new_string(c->application_credential_secret));
	} else {
		struct json_object *scope = json_object_new_object(),
		                   *project = json_object_new_object();

		json_object_array_add(methods, json_object_new_string("password"));
		json_object_object_add(ident, "password", m);
		user = json_user(c);
		json_object_object_add(user, "password", json_object_new_string(c->password));
		json_object_object_add(m, "user", user);
		json_object_object_add(auth, "scope", scope);
		json_object_object_add(scope, "project", project);
		if (c->project_id != NULL) {
			json_object_object_add(
			        project, "id", json_object_new_string(c->project_id));
		} else {
			json_object_object_add(
			        project, "name", json_object_new_string(c->project_name));
			json_object_object_add(project, "domain",
			        json_domain(c->project_domain_id, c->project_domain_name));
		}
	}
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return s;
}

/* Sends or fails every call waiting for the token. */
static void ks_wake(struct keystone *ks, const struct http_error *err)
{
	struct keystone_call *call, *next;

	for (call = TAILQ_FIRST(&ks->calls); call != NULL; call = next) {
		next = TAILQ_NEXT(call, entry);
		if (call->state != KC_WAIT_TOKEN)
			continue;
		if (err != NULL)
			kc_defer(call, http_error_copy(err));
		else if (call->kind == KC_AUTH)
			kc_defer(call, NULL);
		else
			kc_send(call);
	}
}

/* Takes the token from a successful answer. 0, or -EPROTO with *words. */
static int ks_take_token(struct keystone *ks, const struct http_response *resp, char **words)
{
	struct json_object *catalog;
	struct keystone_token_info info;
	int r;

	if (resp->subject_token == NULL || resp->subject_token[0] == '\0') {
		*words = strdup("answer has no X-Subject-Token header");
		return -EPROTO;
	}
	r = keystone_token_parse(resp->body, resp->body_len, &info, &catalog, words);
	if (r < 0)
		return r;
	ks_drop_token(ks);
	ks->info = info;
	ks->catalog = catalog;
	ks->token = strdup(resp->subject_token);
	if (ks->token == NULL) {
		ks_drop_token(ks);
		return -ENOMEM;
	}
	return 0;
}

static void ks_on_issued(const struct http_response *resp, const struct http_error *err, void *arg)
{
	struct keystone *ks = arg;
	struct http_error *mine = NULL;
	char *words = NULL;
	int r;

	ks->issuing = NULL;
	if (err == NULL && (r = ks_take_token(ks, resp, &words)) < 0) {
		mine = http_error_new(r, resp->status, "POST /v3/auth/tokens", "%s",
		        words ? words : "cannot keep the token");
		free(words);
		err = mine;
		if (err == NULL) {
			static struct http_error oom = {
			        -ENOMEM, 0, (char *)"", (char *)"out of memory"};

			err = &oom;
		}
	}
	if (err != NULL) {
		ks->stats.token_failures++;
		log_debug("keystone: token request failed: %s", err->message);
	} else {
		ks->stats.tokens_issued++;
		log_debug("keystone: token issued for project %s, expires %lld",
		        ks->info.project_id ? ks->info.project_id : "(unscoped)",
		        (long long)ks->info.expires_at);
	}
	ks_wake(ks, err);
	http_error_free(mine);
}

/* Starts a token request unless one is in flight. */
static int ks_issue(struct keystone *ks)
{
	char *url = NULL, *body;
	int r;

	if (ks->issuing != NULL)
		return 0;
	body = ks_auth_body(&ks->cloud);
	if (body == NULL || asprintf(&url, "%s/auth/tokens", ks->identity_url) < 0) {
		free(body);
		return -ENOMEM;
	}
	r = http_request(ks->http, "POST", url, NULL, body, ks_on_issued, ks, &ks->issuing);
	explicit_bzero(body, strlen(body));
	free(body);
	free(url);
	return r;
}

/* Sends the call now if a fresh token is held, else queues it behind one. */
void kc_start(struct keystone_call *call)
{
	struct keystone *ks = call->ks;
	int r;

	if (ks_token_fresh(ks)) {
		if (call->kind == KC_AUTH)
			kc_defer(call, NULL);
		else
			kc_send(call);
		return;
	}
	call->state = KC_WAIT_TOKEN;
	if ((r = ks_issue(ks)) < 0)
		kc_fail(call, r, strerror(-r));
}

/* ---- authenticated requests ------------------------------------------ */

static void kc_on_response(
        const struct http_response *resp, const struct http_error *err, void *arg);

static char *kc_url(struct keystone_call *call, char **cause)
{
	char *base = NULL, *url;
	int r;

	if (call->kind == KC_VALIDATE) {
		if (asprintf(&url, "%s/auth/tokens", call->ks->identity_url) < 0)
			return NULL;
		return url;
	}
	if (call->service_type == NULL)
		return strdup(call->path);
	if ((r = keystone_endpoint(call->ks, call->service_type, &base, cause)) < 0)
		return NULL;
	r = asprintf(&url, "%s%s", base, call->path);
	free(base);
	return r < 0 ? NULL : url;
}

static void kc_send(struct keystone_call *call)
{
	struct keystone *ks = call->ks;
	char *url, *cause = NULL, *auth = NULL, *subject = NULL;
	const char *headers[3] = {NULL, NULL, NULL};
	int r;

	url = kc_url(call, &cause);
	if (url == NULL) {
		kc_fail(call, cause ? -ENOENT : -ENOMEM, cause ? cause : "out of memory");
		free(cause);
		return;
	}
	free(call->token_used);
	call->token_used = strdup(ks->token);
	if (call->token_used == NULL || asprintf(&auth, "X-Auth-Token: %s", ks->token) < 0 ||
	        (call->subject != NULL &&
	                asprintf(&subject, "X-Subject-Token: %s", call->subject) < 0)) {
		auth = NULL;
		kc_fail(call, -ENOMEM, "out of memory");
		goto out;
	}
	headers[0] = auth;
	headers[1] = subject;
	if (call->kind == KC_VALIDATE)
		ks->stats.validations++;
	call->state = KC_IN_FLIGHT;
	r = http_request(ks->http, call->method, url, headers, call->body, kc_on_response, call,
	        &call->http);
	if (r < 0)
		kc_fail(call, r, strerror(-r));
out:
	free(url);
	free(auth);
	if (subject != NULL)
		explicit_bzero(subject, strlen(subject));
	free(subject);
}

/* A 401 on our token: re-issue once (unless a newer token already came)
 * and send again. */
static void kc_reauth(struct keystone_call *call)
{
	struct keystone *ks = call->ks;

	call->retried = true;
	if (ks->token != NULL && call->token_used != NULL &&
	        strcmp(ks->token, call->token_used) == 0) {
		ks_drop_token(ks);
		ks->stats.reauth_on_401++;
		log_debug("keystone: token refused (401), re-issuing once");
	}
	kc_start(call);
}

static void kc_on_response(
        const struct http_response *resp, const struct http_error *err, void *arg)
{
	struct keystone_call *call = arg;

	call->http = NULL;
	if (err != NULL && err->status == 401 && !call->retried) {
		kc_reauth(call);
		return;
	}
	if (call->kind == KC_VALIDATE)
		kc_validated(call, resp, err);
	else
		kc_deliver(call, resp, err, NULL);
}

int keystone_authenticate(
        struct keystone *ks, keystone_auth_cb cb, void *arg, struct keystone_call **handle)
{
	struct keystone_call *call;

	if (cb == NULL || ks->guard.dead)
		return -EINVAL;
	if ((call = kc_new(ks, KC_AUTH, arg)) == NULL)
		return -ENOMEM;
	call->cb.auth = cb;
	if (handle != NULL)
		*handle = call;
	kc_start(call);
	return 0;
}

int keystone_request(struct keystone *ks, const char *service_type, const char *method,
        const char *path, const char *body, http_cb cb, void *arg, struct keystone_call **handle)
{
	struct keystone_call *call;

	if (cb == NULL || method == NULL || path == NULL || ks->guard.dead)
		return -EINVAL;
	if ((call = kc_new(ks, KC_REQUEST, arg)) == NULL)
		return -ENOMEM;
	call->cb.request = cb;
	if ((service_type != NULL && (call->service_type = strdup(service_type)) == NULL) ||
	        (call->method = strdup(method)) == NULL || (call->path = strdup(path)) == NULL ||
	        (body != NULL && (call->body = strdup(body)) == NULL)) {
		kc_destroy(call);
		return -ENOMEM;
	}
	if (handle != NULL)
		*handle = call;
	kc_start(call);
	return 0;
}
