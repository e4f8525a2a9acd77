/*
 * Validating callers' tokens: answered from the token cache or the
 * refused-token table when it can be, else by asking Keystone (GET
 * /v3/auth/tokens) in a bounded number of slots.
 *
 * Validations hold a slot (ks->validating) from the time they are started
 * until they end; without a free slot they wait in state KC_QUEUED, in the
 * order they came, with the call's timer armed for KEYSTONE_QUEUE_WAIT. A
 * validation of a token another one is already asking about waits in
 * KC_JOINED and is handed that one's answer (kc_share), so one bad token
 * repeated by a flood costs one call, and then none while it is remembered
 * as refused.
 */
#include "keystone-validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "keystone-int.h"
#include "log.h"
#include "refused.h"

void keystone_cache_clear(struct keystone *ks)
{
	token_cache_clear(&ks->cache);
	if (ks->refused != NULL)
		refused_clear(ks->refused);
}

void keystone_set_cache_limits(struct keystone *ks, int max_age_seconds, size_t max_tokens)
{
	token_cache_set_limits(&ks->cache, max_age_seconds, max_tokens);
}

void keystone_set_negative_ttl(struct keystone *ks, int seconds)
{
	ks->negative_ttl = seconds;
}

void keystone_set_validation_limits(
        struct keystone *ks, unsigned int max_in_flight, unsigned int max_queued)
{
	ks->max_validations = max_in_flight;
	ks->max_queued = max_queued;
}

void kc_validated(
        struct keystone_call *call, const struct http_response *resp, const struct http_error *err)
{
	struct keystone_token_info info;
	struct http_error *mine = NULL;
	char *words = NULL;
	int r;

	if (err != NULL && err->status == 404) {
		if (call->ks->negative_ttl > 0)
			refused_put(call->ks->refused, call->subject,
			        time(NULL) + call->ks->negative_ttl);
		mine = http_error_new(-EKEYREJECTED, err->status, err->call, "%s", err->message);
		kc_deliver(call, NULL, mine, NULL);
		http_error_free(mine);
		return;
	}
	if (err != NULL) {
		kc_deliver(call, NULL, err, NULL);
		return;
	}
	r = keystone_token_info_parse(resp->body, resp->body_len, &info, &words);
	if (r < 0) {
		mine = http_error_new(r, resp->status, "GET /v3/auth/tokens", "%s",
		        words ? words : "out of memory");
		free(words);
		kc_deliver(call, NULL, mine, NULL);
		http_error_free(mine);
		return;
	}
	call->ks->stats.cache_evictions += token_cache_put(&call->ks->cache, call->subject, &info);
	kc_deliver(call, NULL, NULL, &info);
	keystone_token_info_clear(&info);
}

/* ---- sharing, slots and the queue ------------------------------------ */

/* A validation that is asking Keystone (or about to): others may join it. */
static bool kc_leading(const struct keystone_call *call)
{
	return call->kind == KC_VALIDATE &&
	        (call->state == KC_QUEUED || call->state == KC_WAIT_TOKEN ||
	                call->state == KC_IN_FLIGHT);
}

/* The validation in progress for subject, other than self, or NULL. */
static struct keystone_call *kc_find(
        struct keystone *ks, const struct keystone_call *self, const char *subject, bool leading)
{
	struct keystone_call *c;

	TAILQ_FOREACH(c, &ks->calls, entry)
	{
		if (c == self || c->kind != KC_VALIDATE ||
		        (leading ? !kc_leading(c) : c->state != KC_JOINED))
			continue;
		if (strcmp(c->subject, subject) == 0)
			return c;
	}
	return NULL;
}

/* Starts a validation in a free slot, queues it, or fails it -EBUSY. */
static void kc_admit(struct keystone_call *call)
{
	struct keystone *ks = call->ks;
	static const struct timeval wait = {KEYSTONE_QUEUE_WAIT, 0};
	char words[160];

	if (ks->max_validations == 0 || ks->validating < ks->max_validations) {
		call->slot = true;
		ks->validating++;
		kc_start(call);
		return;
	}
	if (ks->queued >= ks->max_queued) {
		ks->stats.busy++;
		snprintf(words, sizeof(words),
		        "%u validations in progress and %u waiting (Keystone is slow)",
		        ks->validating, ks->queued);
		kc_fail(call, -EBUSY, words);
		return;
	}
	if (call->defer == NULL)
		call->defer = evtimer_new(ks->base, kc_on_defer, call);
	if (call->defer == NULL || evtimer_add(call->defer, &wait) < 0) {
		kc_fail(call, -ENOMEM, "cannot arm the queue timer");
		return;
	}
	call->state = KC_QUEUED;
	ks->queued++;
	ks->stats.queued++;
}

/* Starts queued validations, oldest first, while slots are free. */
static void ks_pump(struct keystone *ks)
{
	struct keystone_call *call, *next;

	for (call = TAILQ_FIRST(&ks->calls); call != NULL && ks->queued > 0; call = next) {
		next = TAILQ_NEXT(call, entry);
		if (ks->max_validations != 0 && ks->validating >= ks->max_validations)
			break;
		if (call->state != KC_QUEUED)
			continue;
		ks->queued--;
		/* Fails only for an event never added, which a queued one was. */
		if (evtimer_del(call->defer) < 0)
			log_debug("keystone: cannot disarm a queue timer");
		call->state = KC_NEW;
		call->slot = true;
		ks->validating++;
		kc_start(call);
	}
}

/*
 * A validation leaves (delivered or cancelled): its slot or its place in
 * the queue frees. A leader cancelled before its answer was shared (even
 * with one already deferred) hands the asking over to the first call that
 * joined it, or that one would wait forever.
 */
void kc_validation_end(struct keystone_call *call)
{
	struct keystone *ks = call->ks;
	struct keystone_call *heir = NULL;
	bool orphans = !call->follower && call->state != KC_DONE;

	if (call->state == KC_QUEUED)
		ks->queued--;
	if (call->slot) {
		call->slot = false;
		ks->validating--;
	}
	call->state = KC_DONE;
	if (ks->tearing)
		return;
	if (orphans && (heir = kc_find(ks, call, call->subject, false)) != NULL) {
		heir->state = KC_NEW;
		heir->follower = false;
		kc_admit(heir);
	}
	ks_pump(ks);
}

/* Hands a leader's answer to every call that joined it. */
void kc_share(struct keystone_call *leader, const struct http_error *err,
        const struct keystone_token_info *info)
{
	struct keystone_call *c;

	TAILQ_FOREACH(c, &leader->ks->calls, entry)
	{
		struct http_error *copy = NULL;

		if (c == leader || c->kind != KC_VALIDATE || c->state != KC_JOINED ||
		        strcmp(c->subject, leader->subject) != 0)
			continue;
		if (err != NULL && (copy = http_error_copy(err)) == NULL) {
			/* Cannot hand it over: let it ask on its own. */
			c->state = KC_NEW;
			c->follower = false;
			kc_admit(c);
			continue;
		}
		if (err == NULL) {
			if (keystone_token_info_copy(info, &c->info) < 0) {
				c->state = KC_NEW;
				c->follower = false;
				kc_admit(c);
				continue;
			}
			c->has_info = true;
		}
		kc_defer(c, copy);
	}
}

int keystone_validate(struct keystone *ks, const char *subject_token, keystone_validate_cb cb,
        void *arg, struct keystone_call **handle)
{
	const struct keystone_token_info *hit;
	struct keystone_call *call;

	if (cb == NULL || ks->guard.dead || subject_token == NULL ||
	        keystone_token_check(subject_token, NULL) < 0)
		return -EINVAL;
	if ((call = kc_new(ks, KC_VALIDATE, arg)) == NULL)
		return -ENOMEM;
	call->cb.validate = cb;
	if ((call->method = strdup("GET")) == NULL ||
	        (call->path = strdup("/v3/auth/tokens")) == NULL ||
	        (call->subject = strdup(subject_token)) == NULL) {
		kc_destroy(call);
		return -ENOMEM;
	}
	if (handle != NULL)
		*handle = call;
	if ((hit = token_cache_get(&ks->cache, subject_token)) != NULL) {
		ks->stats.cache_hits++;
		if (keystone_token_info_copy(hit, &call->info) == 0) {
			call->has_info = true;
			kc_defer(call, NULL);
			return 0;
		}
	}
	if (ks->negative_ttl > 0 && refused_has(ks->refused, subject_token, time(NULL))) {
		ks->stats.negative_hits++;
		/* NULL under memory pressure: kc_deliver words that. */
		kc_defer(call,
		        http_error_new(-EKEYREJECTED, 404, "GET /v3/auth/tokens",
		                "Keystone refused this token less than %d s ago",
		                ks->negative_ttl));
		return 0;
	}
	if (kc_find(ks, call, subject_token, true) != NULL) {
		/* kc_share answers it when the one asking gets its answer. */
		call->state = KC_JOINED;
		call->follower = true;
		ks->stats.coalesced++;
		return 0;
	}
	kc_admit(call);
	return 0;
}
