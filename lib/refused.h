/*
 * The tokens Keystone refused lately, so a client repeating a bad token is
 * answered without asking Keystone again.
 *
 * Promises:
 * - Memory is fixed at creation: a table of `slots` entries; a new refusal
 *   takes its slot from whatever held it (the table forgets, never grows).
 * - Tokens are not stored: an entry is a SipHash-2-4 of the token under a
 *   key drawn from getrandom() at creation, so neither a memory dump shows
 *   the tokens nor can a client pick a token that collides with another
 *   one (a valid token is wrongly refused only on a 64-bit hash collision).
 * - An entry answers until the time given to refused_put(), not after.
 */
#ifndef PRAAS_REFUSED_H
#define PRAAS_REFUSED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct refused;

/* 0, or -EINVAL (slots 0), -ENOMEM, or getrandom()'s -errno. */
int refused_new(size_t slots, struct refused **out);
void refused_free(struct refused *rf);

/* Remembers token as refused until `until`. */
void refused_put(struct refused *rf, const char *token, time_t until);
/* True when token was refused and its entry still holds at now. */
bool refused_has(const struct refused *rf, const char *token, time_t now);
void refused_clear(struct refused *rf);

#endif
