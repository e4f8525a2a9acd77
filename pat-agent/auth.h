/*
 * Turns a request's credentials into a caller. auth = "none": everyone may
 * do everything. auth = "keystone": X-Auth-Token is validated by Keystone
 * (cached by lib/keystone until the token expires, at most 5 minutes); the
 * admin role may act on any router. A legacy call without a token is
 * accepted only from a legacy_trusted network.
 *
 * What a bad or flooding client costs: a token that cannot be a Keystone
 * token is refused (401) without a call; one Keystone refused is refused
 * again unasked for keystone_negative_ttl seconds; at most
 * keystone_max_validations calls are in progress and
 * keystone_validation_queue wait, beyond which a request gets 503
 * praas.keystone_busy with Retry-After: 1 (logged at most once per 10 s).
 */
#ifndef PRAAS_AUTH_H
#define PRAAS_AUTH_H

#include <stdbool.h>

#include "addr.h"
#include "fault.h"
#include "caller.h"

struct auth;
struct config;
struct keystone;

/* caller and err are valid during the call; exactly one is non-NULL. */
typedef void (*auth_cb)(const struct caller *caller, const struct fault *err, void *arg);

/* keystone NULL: only auth = "none" and trusted legacy callers can pass. */
int auth_new(const struct config *cfg, struct keystone *ks, struct auth **out);
void auth_free(struct auth *a);

/*
 * Authenticates a request carrying token (NULL when absent) from peer.
 * legacy: a tokenless caller from a trusted network passes as admin.
 * Returns 1 with *caller filled when the answer is known at once, -1 with
 * err filled when it is a refusal known at once, 0 when cb will be called
 * later (Keystone is being asked).
 */
int auth_check(struct auth *a, const char *token, const struct addr *peer, bool legacy,
        struct caller *caller, struct fault *err, auth_cb cb, void *arg);

/* May caller act on a resource of project_id? */
bool auth_may(const struct caller *caller, const char *project_id);

#endif
