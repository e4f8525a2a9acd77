/*
 * Validating callers' tokens with Keystone, on the keystone's loop.
 *
 * Promises:
 * - Validated caller tokens are cached until their expiry and at most
 *   keystone_cache max_age (default 300 s), in a cache of bounded size
 *   (default 1024; the entry closest to expiry is dropped when full).
 * - A token Keystone refused (404) is refused again without asking for
 *   keystone_negative_ttl seconds (default 5; 0: never), remembered by a
 *   keyed hash in a fixed table (lib/refused.h). Errors (no answer, 5xx)
 *   are never cached.
 * - A token that cannot be a Keystone token (keystone_token_check) is
 *   refused without a call.
 * - Validations of the same token in progress at the same time share one
 *   call: the first asks, the others get its answer.
 * - At most max_validations validation calls are in progress (waiting for
 *   our token or on the wire); up to max_queued more wait for a slot, each
 *   at most KEYSTONE_QUEUE_WAIT seconds; beyond that, or after that wait,
 *   a validation fails with -EBUSY at once.
 * - Callbacks are called from the loop, never from inside
 *   keystone_validate() (a cache hit too), and not at all once cancelled
 *   (keystone_call_cancel).
 */
#ifndef PRAAS_KEYSTONE_VALIDATE_H
#define PRAAS_KEYSTONE_VALIDATE_H

#include <stddef.h>

#include "keystone.h"

/*
 * info is valid only during the callback (the cache owns it). A token
 * Keystone does not know, or that expired or was revoked, gives
 * err->code == -EKEYREJECTED (Keystone said 404 for it, now or less than
 * keystone_negative_ttl seconds ago); -EBUSY means too many validations
 * were in progress (try again in a second); any other error means
 * Keystone could not be asked or refused us (a 503 for the caller).
 */
typedef void (*keystone_validate_cb)(
        const struct keystone_token_info *info, const struct http_error *err, void *arg);

/*
 * Validates a caller's token: GET /v3/auth/tokens with X-Auth-Token = ours
 * and X-Subject-Token = theirs, answered from the caches when it can be.
 * 0 or -errno (-EINVAL for a token that fails keystone_token_check,
 * -ENOMEM).
 */
int keystone_validate(struct keystone *ks, const char *subject_token, keystone_validate_cb cb,
        void *arg, struct keystone_call **call);

void keystone_set_cache_limits(struct keystone *ks, int max_age_seconds, size_t max_tokens);
/* Seconds a token Keystone refused is refused without asking; 0: never. */
void keystone_set_negative_ttl(struct keystone *ks, int seconds);
/* max_in_flight 0: no cap (then nothing is queued). */
void keystone_set_validation_limits(
        struct keystone *ks, unsigned int max_in_flight, unsigned int max_queued);
/* Drops every cached validation, and the refused tokens. */
void keystone_cache_clear(struct keystone *ks);

#endif
