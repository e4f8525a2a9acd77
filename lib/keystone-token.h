/*
 * Keystone token documents and token strings, without a network.
 *
 * Promises:
 * - A token document is accepted only with a user id and a valid
 *   expires_at; everything else in it is optional.
 * - A token string is checked for a Keystone token's shape before anyone
 *   is asked about it, so garbage never costs a call.
 * - Catalog lookups name what they looked for when nothing matches.
 */
#ifndef PRAAS_KEYSTONE_TOKEN_H
#define PRAAS_KEYSTONE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct json_object;

/*
 * The shape of a Keystone token: Fernet and UUID tokens are URL-safe
 * base64 or hex (UUID: 32 characters, Fernet about 180-250), JWS tokens add
 * '.', the retired PKI tokens '+' and '/'. The bounds are loose on purpose:
 * they only keep out what no Keystone ever issued.
 */
#define KEYSTONE_TOKEN_MIN 16
#define KEYSTONE_TOKEN_MAX 8192

/* What a token says about its holder. */
struct keystone_token_info {
	char *user_id;
	char *user_name;
	char *project_id;
	char *project_name;
	char **roles; /* role names */
	size_t roles_len;
	time_t expires_at;
	time_t issued_at;
};

/*
 * 0 when token has the shape of a Keystone token (KEYSTONE_TOKEN_MIN to
 * KEYSTONE_TOKEN_MAX characters of [A-Za-z0-9_=.+/-]); else -EINVAL with
 * *why (static words, may be NULL) saying what is wrong.
 */
int keystone_token_check(const char *token, const char **why);

bool keystone_token_has_role(const struct keystone_token_info *info, const char *role);

/*
 * Decodes a token body ({"token": {...}}) into *info (allocated strings;
 * free with keystone_token_info_clear). 0, or -EPROTO with *cause.
 */
int keystone_token_info_parse(
        const char *body, size_t len, struct keystone_token_info *info, char **cause);
void keystone_token_info_clear(struct keystone_token_info *info);

/*
 * The same, and *catalog (when catalog is not NULL) the token's service
 * catalog: a JSON array, empty when the token carries none, that the caller
 * puts. 0, -EPROTO with *cause, or -ENOMEM.
 */
int keystone_token_parse(const char *body, size_t len, struct keystone_token_info *info,
        struct json_object **catalog, char **cause);
/* Deep copy into *dst; 0 or -ENOMEM (then *dst is empty). */
int keystone_token_info_copy(
        const struct keystone_token_info *src, struct keystone_token_info *dst);

/*
 * The endpoint URL of service_type in catalog (a token's "catalog" array)
 * for interface and region (NULL: any region). 0 with *url allocated (no
 * trailing '/'), -ENOENT with *cause naming type, interface and region,
 * or -ENOMEM.
 */
int keystone_catalog_endpoint(struct json_object *catalog, const char *service_type,
        const char *interface, const char *region, char **url, char **cause);

#endif
