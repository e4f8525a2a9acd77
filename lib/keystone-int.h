/*
 * Inside the Keystone client: what keystone.c (our token, calls,
 * authenticated requests) shares with keystone-validate.c (callers'
 * tokens), and nothing else includes.
 *
 * Every call is a struct keystone_call on the keystone's list; a call that
 * needs a token waits (KC_WAIT_TOKEN) while one token request is in
 * flight. Results produced without an HTTP answer in hand go through a
 * zero-delay timer (kc_defer), so no callback runs inside the function
 * that started its call.
 */
#ifndef PRAAS_KEYSTONE_INT_H
#define PRAAS_KEYSTONE_INT_H

#include <stdbool.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "cb-guard.h"
#include "keystone-validate.h"
#include "keystone.h"
#include "token-cache.h"

enum kc_kind {
	KC_AUTH,
	KC_REQUEST,
	KC_VALIDATE,
};

enum kc_state {
	KC_NEW,
	KC_WAIT_TOKEN,
	KC_IN_FLIGHT,
	KC_DEFERRED,
	KC_QUEUED, /* a validation waiting for a slot */
	KC_JOINED, /* a validation waiting for another one's answer */
	KC_DONE,   /* delivered */
};

struct keystone_call {
	TAILQ_ENTRY(keystone_call) entry;
	struct keystone *ks;
	enum kc_kind kind;
	enum kc_state state;
	struct http_request *http;
	struct event *defer;
	char *service_type;
	char *method;
	char *path;
	char *body;
	char *subject;
	char *token_used; /* the token the last attempt carried */
	bool retried;     /* re-sent once after a 401 already */
	bool slot;        /* a validation counted in ks->validating */
	bool follower;    /* a validation that joined another (KC_JOINED) */
	bool in_cb;
	bool unlinked;
	union {
		keystone_auth_cb auth;
		http_cb request;
		keystone_validate_cb validate;
	} cb;
	void *arg;
	/* What a deferred delivery hands over. */
	struct http_error *err;
	struct keystone_token_info info;
	bool has_info;
};

TAILQ_HEAD(keystone_call_list, keystone_call);

struct keystone {
	struct http_client *http;
	struct event_base *base;
	struct cloud cloud;
	char *identity_url; /* auth_url ending in /v3 */
	char *token;
	struct keystone_token_info info;
	struct json_object *catalog;
	struct http_request *issuing;
	struct keystone_call_list calls;
	unsigned int pending;
	int margin;
	struct token_cache cache; /* validated callers' tokens */
	struct keystone_stats stats;
	struct refused *refused; /* tokens Keystone refused lately */
	int negative_ttl;
	unsigned int max_validations; /* 0: no cap */
	unsigned int max_queued;
	unsigned int validating; /* validations holding a slot */
	unsigned int queued;     /* validations in KC_QUEUED */
	struct cb_guard guard;
	bool tearing; /* every call is being destroyed: start nothing */
};

/* keystone.c */
struct keystone_call *kc_new(struct keystone *ks, enum kc_kind kind, void *arg);
/* Unlinks and frees the call (after its callback, when called from it). */
void kc_destroy(struct keystone_call *call);
/* Hands the result to the caller (and, for a validation, to the calls that
 * joined it) and ends the call. resp only for KC_REQUEST, info only for
 * KC_VALIDATE. */
void kc_deliver(struct keystone_call *call, const struct http_response *resp,
        const struct http_error *err, const struct keystone_token_info *info);
/* The call's timer: a deferred delivery, or a queued validation's wait ending. */
void kc_on_defer(evutil_socket_t fd, short what, void *arg);
/* Delivers err (taken; NULL for success) from the loop, not from here. */
void kc_defer(struct keystone_call *call, struct http_error *err);
/* Fails the call with our own words, naming it "METHOD path". */
void kc_fail(struct keystone_call *call, int code, const char *words);
/* Sends the call now if a fresh token is held, else queues it behind one. */
void kc_start(struct keystone_call *call);
void ks_destroy(struct keystone *ks);

/* keystone-validate.c */
/* A validation's answer from Keystone (err NULL: resp is 2xx). */
void kc_validated(
        struct keystone_call *call, const struct http_response *resp, const struct http_error *err);
/* A validation leaves (delivered or cancelled): its slot or queue place frees. */
void kc_validation_end(struct keystone_call *call);
/* Hands a leader's answer to every call that joined it. */
void kc_share(struct keystone_call *leader, const struct http_error *err,
        const struct keystone_token_info *info);

#endif
