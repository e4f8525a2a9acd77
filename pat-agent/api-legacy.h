/*
 * The legacy API, wire-compatible with the original Proxy CLI:
 * POST /pat/create, /pat/remove, /pat/modify; GET /router_pat,
 * /router_server_pat. Every answer is 200; failures are
 * {"status":"ERROR","message":...}. Legacy forwardings are TCP forwardings
 * in the same store as v1, checked against the router like v1's: each op
 * is a table of steps for the runner (runner.h), sharing pipeline.h's
 * with v1; a refusal is answered with legacy_word_of()'s word.
 */
#ifndef PRAAS_API_LEGACY_H
#define PRAAS_API_LEGACY_H

#include "legacy-wire.h"

struct call;

void api_legacy(struct call *c, enum legacy_op op);

#endif
