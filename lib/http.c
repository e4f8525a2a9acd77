/*
 * libcurl multi on libevent: curl tells us which sockets to watch and when
 * its next timeout is (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION);
 * libevent tells curl what happened (curl_multi_socket_action). Finished
 * transfers are collected in http_dispatch() and either retried after a
 * backoff timer or handed to their callback.
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "cb-guard.h"
#include "log.h"
#include "praas-build.h"

#define HTTP_HEADER_MAX 8192 /* longest header value we keep */

struct http_request {
	TAILQ_ENTRY(http_request) entry;
	struct http_client *client;
	CURL *easy; /* NULL between attempts */
	struct curl_slist *headers;
	struct event *retry_timer;
	char *method;
	char *url;
	char *body;
	char *call;
	http_cb cb;
	void *arg;
	int attempts;
	bool in_cb;    /* its callback is running: frees wait for it */
	bool unlinked; /* taken off the client's list already */

	/* The answer to the current attempt. */
	char *buf;
	size_t len;
	size_t cap;
	bool too_large;
	char *subject_token;
	char *request_id;
	char *content_type;
	char *location;
	long retry_after; /* seconds, -1 when absent */
	char errbuf[CURL_ERROR_SIZE];
};

TAILQ_HEAD(http_request_list, http_request);

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct http_options opts;
	struct http_request_list requests;
	unsigned int pending;
	struct cb_guard guard; /* frees from a callback wait for the dispatch to end */
	http_error_observer observer;
	void *observer_arg;
};

/* One watched socket. */
struct http_sock {
	struct http_client *client;
	struct event *ev;
};

static void http_dispatch(struct http_client *c);
static void http_client_destroy(struct http_client *c);

void http_options_default(struct http_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->connect_timeout_ms = 5000;
	opts->total_timeout_ms = 30000;
	opts->max_body = HTTP_DEFAULT_MAX_BODY;
	opts->max_retries = 3;
	opts->retry_base_ms = 250;
	opts->retry_max_ms = 4000;
	opts->verify = true;
}

/* ---- sockets and timers ---------------------------------------------- */

static void http_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	guard_enter(&c->guard);
	curl_multi_socket_action(c->multi, fd, flags, &running);
	http_dispatch(c);
}

static void http_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;

	guard_enter(&c->guard);
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_dispatch(c);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks, or stop. */
static int http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *hs = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
		}
		return 0;
	}
	if (hs == NULL) {
		hs = calloc(1, sizeof(*hs));
		if (hs == NULL)
			return -1;
		hs->client = c;
		hs->ev = event_new(c->base, s, 0, http_on_socket, c);
		if (hs->ev == NULL || curl_multi_assign(c->multi, s, hs) != CURLM_OK) {
			if (hs->ev != NULL)
				event_free(hs->ev);
			free(hs);
			return -1;
		}
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	event_del(hs->ev);
	if (event_assign(hs->ev, c->base, s, kind, http_on_socket, c) < 0 ||
	        event_add(hs->ev, NULL) < 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer, re-armed to curl's next deadline. */
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	struct timeval tv;

	if (timeout_ms < 0)
		return evtimer_del(c->timer) < 0 ? -1 : 0;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(c->timer, &tv) < 0 ? -1 : 0;
}

/* ---- client ---------------------------------------------------------- */

int http_client_new(
        struct event_base *base, const struct http_options *opts, struct http_client **out)
{
	static bool curl_ready;
	struct http_client *c;

	/* curl_global_init is process-wide and never undone. */
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		curl_ready = true;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	TAILQ_INIT(&c->requests);
	c->base = base;
	if (opts != NULL)
		c->opts = *opts;
	else
		http_options_default(&c->opts);
	c->opts.cacert = NULL;
	c->opts.user_agent = NULL;
	if ((opts != NULL && opts->cacert != NULL &&
	            (c->opts.cacert = strdup(opts->cacert)) == NULL) ||
	        (c->opts.user_agent = strdup(opts != NULL && opts->user_agent != NULL
	                         ? opts->user_agent
	                         : "praas/" PRAAS_VERSION)) == NULL)
		goto nomem;
	c->timer = evtimer_new(base, http_on_timer, c);
	c->multi = curl_multi_init();
	if (c->timer == NULL || c->multi == NULL)
		goto nomem;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb) != CURLM_OK ||
	        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb) != CURLM_OK ||
	        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK)
		goto nomem;
	*out = c;
	return 0;
nomem:
	http_client_destroy(c);
	return -ENOMEM;
}

static void http_request_destroy(struct http_request *req);

/* Drops every request (no callbacks): what a free does at once, even from a callback. */
static void http_client_stop(struct http_client *c)
{
	struct http_request *req;

	while ((req = TAILQ_FIRST(&c->requests)) != NULL)
		http_request_destroy(req);
}

static void http_client_destroy(struct http_client *c)
{
	http_client_stop(c);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->timer != NULL)
		event_free(c->timer);
	free((char *)c->opts.cacert);
	free((char *)c->opts.user_agent);
	free(c);
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	/* From a callback: the requests go now, the client when the dispatch unwinds. */
	http_client_stop(c);
	if (guard_free(&c->guard))
		http_client_destroy(c);
}

struct event_base *http_client_base(const struct http_client *c)
{
	return c->base;
}

unsigned int http_client_pending(const struct http_client *c)
{
	return c->pending;
}

/* ---- requests -------------------------------------------------------- */

static void http_response_reset(struct http_request *req)
{
	free(req->buf);
	free(req->subject_token);
	free(req->request_id);
	free(req->content_type);
	free(req->location);
	req->buf = req->subject_token = req->request_id = NULL;
	req->content_type = req->location = NULL;
	req->len = req->cap = 0;
	req->too_large = false;
	req->retry_after = -1;
	req->errbuf[0] = '\0';
}

static void http_easy_drop(struct http_request *req)
{
	if (req->easy == NULL)
		return;
	curl_multi_remove_handle(req->client->multi, req->easy);
	curl_easy_cleanup(req->easy);
	req->easy = NULL;
}

static void http_request_destroy(struct http_request *req)
{
	if (!req->unlinked) {
		TAILQ_REMOVE(&req->client->requests, req, entry);
		req->client->pending--;
		req->unlinked = true;
	}
	if (req->in_cb)
		return; /* cancelled from its own callback: http_deliver frees it */
	http_easy_drop(req);
	if (req->retry_timer != NULL)
		event_free(req->retry_timer);
	http_response_reset(req);
	curl_slist_free_all(req->headers);
	free(req->method);
	free(req->url);
	free(req->body);
	free(req->call);
	free(req);
}

void http_request_cancel(struct http_request *req)
{
	if (req != NULL)
		http_request_destroy(req);
}

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_request *req = ud;
	size_t n = size * nmemb, max = req->client->opts.max_body;
	char *p;

	if (n > max || req->len > max - n) {
		req->too_large = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (req->len + n + 1 > req->cap) {
		size_t cap = req->cap ? req->cap : 4096;

		while (cap < req->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		p = realloc(req->buf, cap);
		if (p == NULL)
			return 0;
		req->buf = p;
		req->cap = cap;
	}
	memcpy(req->buf + req->len, data, n);
	req->len += n;
	req->buf[req->len] = '\0';
	return n;
}

/*
 * Keeps a copy of the answer's header name in *slot (NULL when absent): the
 * last one of that name, of the final response (not a 1xx before it), as
 * libcurl parsed it (value trimmed). false on ENOMEM.
 */
static bool http_keep_header(CURL *e, const char *name, char **slot)
{
	struct curl_header *h;

	free(*slot);
	*slot = NULL;
	if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return true;
	if (h->amount > 1 &&
	        curl_easy_header(e, name, h->amount - 1, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return true;
	*slot = strndup(h->value, HTTP_HEADER_MAX);
	return *slot != NULL;
}

/* The headers an answer is read for; false on ENOMEM. */
static bool http_read_headers(struct http_request *req)
{
	curl_off_t retry_after = -1;

	if (curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
	        retry_after > 0)
		req->retry_after = (long)retry_after;
	return http_keep_header(req->easy, "X-Subject-Token", &req->subject_token) &&
	        http_keep_header(req->easy, "X-Openstack-Request-Id", &req->request_id) &&
	        http_keep_header(req->easy, "Content-Type", &req->content_type) &&
	        http_keep_header(req->easy, "Location", &req->location);
}

static bool http_method_idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
	        strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0;
}

static int http_easy_setup(struct http_request *req)
{
	const struct http_options *o = &req->client->opts;
	CURL *e = curl_easy_init();
	CURLcode rc = CURLE_OK;

	if (e == NULL)
		return -ENOMEM;
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(e, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
	SET(CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
	if (o->cacert != NULL)
		SET(CURLOPT_CAINFO, o->cacert);
	SET(CURLOPT_USERAGENT, o->user_agent);
	SET(CURLOPT_HTTPHEADER, req->headers);
	SET(CURLOPT_WRITEFUNCTION, http_on_body);
	SET(CURLOPT_WRITEDATA, req);
	/* A Content-Length over max_body is refused before a byte of the body. */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
	SET(CURLOPT_ERRORBUFFER, req->errbuf);
	SET(CURLOPT_PRIVATE, req);
	if (strcmp(req->method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
		SET(CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		SET(CURLOPT_POSTFIELDS, req->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
	} else if (strcmp(req->method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDS, "");
	}
#undef SET
	if (rc != CURLE_OK) {
		curl_easy_cleanup(e);
		return rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	}
	if (curl_multi_add_handle(req->client->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -ENOMEM;
	}
	req->easy = e;
	req->attempts++;
	return 0;
}

static int http_headers_build(struct http_request *req, const char *const *headers)
{
	static const char *const fixed[] = {
	        "Accept: application/json", "Content-Type: application/json",
	        "Expect:", /* no 100-continue round trip */
	};
	struct curl_slist *l;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (i == 1 && req->body == NULL)
			continue;
		if ((l = curl_slist_append(req->headers, fixed[i])) == NULL)
			return -ENOMEM;
		req->headers = l;
	}
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (strpbrk(headers[i], "\r\n") != NULL)
			return -EINVAL;
		if ((l = curl_slist_append(req->headers, headers[i])) == NULL)
			return -ENOMEM;
		req->headers = l;
	}
	return 0;
}

static bool http_method_valid(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)m[i]))
			return false;
	return true;
}

int http_request(struct http_client *c, const char *method, const char *url,
        const char *const *headers, const char *body, http_cb cb, void *arg,
        struct http_request **handle)
{
	struct http_request *req;
	int r;

	if (c->guard.dead || method == NULL || url == NULL || cb == NULL ||
	        !http_method_valid(method) ||
	        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return -EINVAL;
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return -ENOMEM;
	req->client = c;
	req->cb = cb;
	req->arg = arg;
	req->retry_after = -1;
	TAILQ_INSERT_TAIL(&c->requests, req, entry);
	c->pending++;
	req->method = strdup(method);
	req->url = strdup(url);
	req->call = http_call_name(method, url);
	if (req->method == NULL || req->url == NULL || req->call == NULL ||
	        (body != NULL && (req->body = strdup(body)) == NULL)) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = http_headers_build(req, headers)) < 0 || (r = http_easy_setup(req)) < 0)
		goto fail;
	log_debug("http: %s", req->call);
	if (handle != NULL)
		*handle = req;
	return 0;
fail:
	http_request_destroy(req);
	return r;
}

/* ---- completion ------------------------------------------------------ */

/* The errno and words for a transfer that did not get a whole answer. */
static int http_curl_errno(struct http_request *req, CURLcode rc, bool *retry, char **words)
{
	const char *detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc);
	curl_off_t pretransfer_us = 0;
	int code;

	*retry = false;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		code = -ECONNREFUSED;
		*retry = true;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		code = -EHOSTUNREACH;
		*retry = true;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		/* Only a connect timeout is a connection error worth retrying:
		 * a server that took the request and went quiet may be working
		 * on it, and each retry would cost another full timeout. */
		code = -ETIMEDOUT;
		if (req->easy != NULL)
			curl_easy_getinfo(req->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
		*retry = pretransfer_us == 0; /* the request was never sent */
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		code = -ECONNRESET;
		*retry = true;
		break;
	case CURLE_PARTIAL_FILE:
		code = -EPROTO;
		detail = "response truncated (connection closed before the end of the body)";
		break;
	case CURLE_OUT_OF_MEMORY:
		code = -ENOMEM;
		break;
	case CURLE_WRITE_ERROR:
		code = -ENOMEM; /* our body buffer could not grow */
		break;
	default:
		code = -EPROTO; /* TLS, malformed HTTP, and the rest */
		break;
	}
	*words = strdup(detail);
	return code;
}

static void http_deliver(
        struct http_request *req, const struct http_response *resp, struct http_error *err);

/* When even the error cannot be allocated, a static one is handed over. */
static struct http_error http_oom = {-ENOMEM, 0, (char *)"", (char *)"out of memory"};

static void http_oom_deliver(struct http_request *req)
{
	if (req->client->observer != NULL)
		req->client->observer(req->url, &http_oom, req->client->observer_arg);
	req->in_cb = true;
	req->cb(NULL, &http_oom, req->arg);
	req->in_cb = false;
	http_request_destroy(req);
}

static void http_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct http_request *req = arg;
	struct http_client *c = req->client;
	int r;

	guard_enter(&c->guard);
	if ((r = http_easy_setup(req)) < 0) {
		struct http_error *err =
		        http_error_new(r, 0, req->call, "cannot retry: %s", strerror(-r));

		if (err != NULL)
			http_deliver(req, NULL, err);
		else
			http_oom_deliver(req);
	}
	if (guard_leave(&c->guard))
		http_client_destroy(c);
}

/* Schedules another attempt after an exponential backoff; false if it can't. */
static bool http_schedule_retry(struct http_request *req)
{
	const struct http_options *o = &req->client->opts;
	long delay = o->retry_base_ms;
	struct timeval tv;

	for (int i = 1; i < req->attempts && delay < o->retry_max_ms; i++)
		delay *= 2;
	if (req->retry_after > 0 && req->retry_after * 1000 > delay)
		delay = req->retry_after * 1000;
	if (delay > o->retry_max_ms)
		delay = o->retry_max_ms;
	if (req->retry_timer == NULL &&
	        (req->retry_timer = evtimer_new(req->client->base, http_on_retry, req)) == NULL)
		return false;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	if (evtimer_add(req->retry_timer, &tv) < 0)
		return false;
	log_debug(
	        "http: %s: attempt %d failed, retrying in %ld ms", req->call, req->attempts, delay);
	return true;
}

void http_client_set_error_observer(struct http_client *client, http_error_observer fn, void *arg)
{
	client->observer = fn;
	client->observer_arg = arg;
}

static void http_deliver(
        struct http_request *req, const struct http_response *resp, struct http_error *err)
{
	struct http_client *c = req->client;

	if (err != NULL && c->observer != NULL)
		c->observer(req->url, err, c->observer_arg);
	req->in_cb = true;
	req->cb(resp, err, req->arg);
	req->in_cb = false;
	http_error_free(err);
	http_request_destroy(req);
}

static void http_finish(struct http_request *req, CURLcode rc)
{
	struct http_response resp = {0};
	struct http_error *err = NULL;
	char *words = NULL;
	bool retry = false, answered = false;
	long status = 0;
	int code = 0;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		req->too_large = true;
	else if (rc == CURLE_OK && !http_read_headers(req))
		rc = CURLE_OUT_OF_MEMORY;
	if (req->too_large) {
		code = -EMSGSIZE;
		if (asprintf(&words, "response body larger than the %zu bytes allowed; rejected",
		            req->client->opts.max_body) < 0)
			words = NULL;
	} else if (rc != CURLE_OK) {
		code = http_curl_errno(req, rc, &retry, &words);
		status = 0;
	} else if (status >= 300 && status < 400) {
		code = -EPROTO;
		answered = true;
		if (asprintf(&words, "redirect (HTTP %ld) to %s not followed", status,
		            req->location ? req->location : "an unnamed location") < 0)
			words = NULL;
	} else {
		answered = true;
		code = http_status_errno(status);
		retry = status == 502 || status == 503 || status == 504;
		if (code != 0) {
			words = http_error_words(req->buf, req->len);
		}
	}
	if (code == -EMSGSIZE)
		status = 0;
	http_easy_drop(req);
	if (retry && http_method_idempotent(req->method) &&
	        req->attempts <= req->client->opts.max_retries && http_schedule_retry(req)) {
		free(words);
		http_response_reset(req);
		return;
	}
	if (code != 0) {
		err = http_error_new(code, status, req->call, "%s",
		        words ? words : "out of memory describing the error");
		free(words);
		if (err == NULL) {
			http_oom_deliver(req);
			return;
		}
	}
	if (answered) {
		resp.status = status;
		resp.body = req->buf ? req->buf : "";
		resp.body_len = req->len;
		resp.subject_token = req->subject_token;
		resp.request_id = req->request_id;
		resp.content_type = req->content_type;
		resp.attempts = req->attempts;
	}
	http_deliver(req, answered ? &resp : NULL, err);
}

/* Collects finished transfers; entered with guard_enter() done for it. */
static void http_dispatch(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while (!c->guard.dead && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct http_request *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (req != NULL)
			http_finish(req, msg->data.result);
	}
	if (guard_leave(&c->guard))
		http_client_destroy(c);
}

char *http_escape(const char *text)
{
	/* libcurl's escaping keeps exactly the unreserved characters (RFC 3986);
	 * copied so the caller frees with free() whatever curl's allocator is. */
	char *esc = curl_easy_escape(NULL, text, 0), *copy;

	if (esc == NULL)
		return NULL;
	copy = strdup(esc);
	curl_free(esc);
	return copy;
}
