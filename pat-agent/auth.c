#include "auth.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "keystone-validate.h"
#include "keystone.h"
#include "log.h"

/* Seconds between two log lines about validations refused as busy. */
#define AUTH_BUSY_LOG_PERIOD 10

struct auth {
	const struct config *cfg;
	struct keystone *ks;
	time_t busy_logged;     /* when the last such line was written */
	unsigned int busy_seen; /* refused since then */
};

/* One validation in flight. */
struct pending {
	struct auth *auth;
	auth_cb cb;
	void *arg;
};

int auth_new(const struct config *cfg, struct keystone *ks, struct auth **out)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	a->cfg = cfg;
	a->ks = ks;
	if (ks != NULL) {
		keystone_set_negative_ttl(ks, cfg->keystone_negative_ttl);
		keystone_set_validation_limits(ks, (unsigned int)cfg->keystone_max_validations,
		        (unsigned int)cfg->keystone_validation_queue);
	}
	*out = a;
	return 0;
}

void auth_free(struct auth *a)
{
	free(a);
}

static void everyone(struct caller *caller)
{
	memset(caller, 0, sizeof(*caller));
	caller->admin = true;
}

static bool peer_trusted(const struct config *cfg, const struct addr *peer)
{
	struct addr a;

	if (peer == NULL || peer->family == 0)
		return false;
	a = *peer;
	/* An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d. */
	if (a.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a.u.v6)) {
		a.family = AF_INET;
		memmove(&a.u.v4, &peer->u.v6.s6_addr[12], 4);
	}
	for (size_t i = 0; i < cfg->legacy_trusted_len; i++)
		if (cidr_contains(&cfg->legacy_trusted[i], &a))
			return true;
	return false;
}

/* One line per AUTH_BUSY_LOG_PERIOD at most, however many are refused. */
static void auth_log_busy(struct auth *a, const struct http_error *herr)
{
	time_t now = time(NULL);

	a->busy_seen++;
	if (now - a->busy_logged < AUTH_BUSY_LOG_PERIOD)
		return;
	log_warnx("Refused %u request(s) with 503 in the last %lld s: Keystone validations "
	          "saturated (%s)",
	        a->busy_seen, (long long)(a->busy_logged ? now - a->busy_logged : 0),
	        herr->message ? herr->message : "no slot");
	a->busy_logged = now;
	a->busy_seen = 0;
}

static void on_validated(
        const struct keystone_token_info *info, const struct http_error *herr, void *arg)
{
	struct pending *p = arg;
	struct caller caller;
	struct fault err;

	if (herr != NULL && herr->code == -EKEYREJECTED) {
		fault_set(&err, -EACCES, FAULT_TOKEN,
		        "the X-Auth-Token is not valid (unknown, expired or revoked)");
		p->cb(NULL, &err, p->arg);
	} else if (herr != NULL && herr->code == -EBUSY) {
		auth_log_busy(p->auth, herr);
		fault_set(&err, -EBUSY, FAULT_KEYSTONE,
		        "too many tokens are being validated at once: %s; try again shortly",
		        herr->message ? herr->message : "all validation slots are taken");
		p->cb(NULL, &err, p->arg);
	} else if (herr != NULL) {
		fault_set(&err, herr->code, FAULT_KEYSTONE,
		        "cannot validate the token: Keystone: %s",
		        herr->message ? herr->message : strerror(-herr->code));
		p->cb(NULL, &err, p->arg);
	} else {
		memset(&caller, 0, sizeof(caller));
		caller.admin = keystone_token_has_role(info, "admin");
		snprintf(caller.project_id, sizeof(caller.project_id), "%s",
		        info->project_id ? info->project_id : "");
		snprintf(caller.user_id, sizeof(caller.user_id), "%s",
		        info->user_id ? info->user_id : "");
		p->cb(&caller, NULL, p->arg);
	}
	free(p);
}

int auth_check(struct auth *a, const char *token, const struct addr *peer, bool legacy,
        struct caller *caller, struct fault *err, auth_cb cb, void *arg)
{
	struct pending *p;
	const char *why;
	int r;

	if (a->cfg->auth == CONFIG_AUTH_NONE) {
		everyone(caller);
		return 1;
	}
	if (token == NULL || token[0] == '\0') {
		if (legacy && peer_trusted(a->cfg, peer)) {
			everyone(caller);
			return 1;
		}
		return fault_set(err, -EACCES, FAULT_TOKEN,
		        legacy ? "no X-Auth-Token, and the caller is not in legacy_trusted"
		               : "no X-Auth-Token");
	}
	/* Not worth a Keystone call: no Keystone ever issued such a token. */
	if (keystone_token_check(token, &why) < 0)
		return fault_set(
		        err, -EACCES, FAULT_TOKEN, "the X-Auth-Token is malformed: %s", why);
	if (a->ks == NULL)
		return fault_set(
		        err, -EIO, FAULT_KEYSTONE, "auth is keystone but no cloud is configured");
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return fault_no_memory(err);
	p->auth = a;
	p->cb = cb;
	p->arg = arg;
	if ((r = keystone_validate(a->ks, token, on_validated, p, NULL)) < 0) {
		free(p);
		return fault_set(
		        err, r, FAULT_KEYSTONE, "cannot validate the token: %s", strerror(-r));
	}
	return 0;
}

bool auth_may(const struct caller *caller, const char *project_id)
{
	return caller->admin ||
	        (project_id != NULL && project_id[0] != '\0' &&
	                strcmp(caller->project_id, project_id) == 0);
}
