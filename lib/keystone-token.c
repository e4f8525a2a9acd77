/*
 * What a Keystone token document says: its holder, its lifetime, its
 * roles and the service catalog it carries; and the shape a token string
 * must have before anyone asks Keystone about it.
 */
#include "keystone-token.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

void keystone_token_info_clear(struct keystone_token_info *info)
{
	free(info->user_id);
	free(info->user_name);
	free(info->project_id);
	free(info->project_name);
	for (size_t i = 0; i < info->roles_len; i++)
		free(info->roles[i]);
	free(info->roles);
	memset(info, 0, sizeof(*info));
}

int keystone_token_info_copy(const struct keystone_token_info *src, struct keystone_token_info *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->expires_at = src->expires_at;
	dst->issued_at = src->issued_at;
#define DUP(f)                                                                                     \
	if (src->f != NULL && (dst->f = strdup(src->f)) == NULL)                                   \
		goto nomem;
	DUP(user_id)
	DUP(user_name)
	DUP(project_id)
	DUP(project_name)
#undef DUP
	if (src->roles_len > 0) {
		dst->roles = calloc(src->roles_len, sizeof(char *));
		if (dst->roles == NULL)
			goto nomem;
		for (; dst->roles_len < src->roles_len; dst->roles_len++)
			if ((dst->roles[dst->roles_len] = strdup(src->roles[dst->roles_len])) ==
			        NULL)
				goto nomem;
	}
	return 0;
nomem:
	keystone_token_info_clear(dst);
	return -ENOMEM;
}

/* "2024-05-01T12:00:00.000000Z" (or +00:00) as seconds since the epoch. */
static int keystone_parse_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (end == NULL)
		return -EINVAL;
	if (*end == '.')
		while (isdigit((unsigned char)*++end))
			;
	if (*end != '\0' && *end != 'Z' && strcmp(end, "+00:00") != 0)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	        !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int dup_opt(char **slot, const char *s)
{
	if (s == NULL)
		return 0;
	*slot = strdup(s);
	return *slot == NULL ? -ENOMEM : 0;
}

static int token_info_from_json(
        struct json_object *tok, struct keystone_token_info *info, char **cause)
{
	struct json_object *user = NULL, *project = NULL, *roles = NULL;
	const char *s;

	memset(info, 0, sizeof(*info));
	json_object_object_get_ex(tok, "user", &user);
	json_object_object_get_ex(tok, "project", &project);
	if ((s = json_str(tok, "expires_at")) == NULL ||
	        keystone_parse_time(s, &info->expires_at) < 0) {
		if (cause != NULL)
			*cause = strdup("token has no valid expires_at");
		return -EPROTO;
	}
	if ((s = json_str(tok, "issued_at")) != NULL)
		(void)keystone_parse_time(s, &info->issued_at);
	if (dup_opt(&info->user_id, json_str(user, "id")) < 0 ||
	        dup_opt(&info->user_name, json_str(user, "name")) < 0 ||
	        dup_opt(&info->project_id, json_str(project, "id")) < 0 ||
	        dup_opt(&info->project_name, json_str(project, "name")) < 0)
		goto nomem;
	if (info->user_id == NULL) {
		keystone_token_info_clear(info);
		if (cause != NULL)
			*cause = strdup("token has no user id");
		return -EPROTO;
	}
	if (json_object_object_get_ex(tok, "roles", &roles) &&
	        json_object_is_type(roles, json_type_array)) {
		size_t n = json_object_array_length(roles);

		info->roles = calloc(n ? n : 1, sizeof(char *));
		if (info->roles == NULL)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			s = json_str(json_object_array_get_idx(roles, i), "name");
			if (s != NULL && (info->roles[info->roles_len++] = strdup(s)) == NULL)
				goto nomem;
		}
	}
	return 0;
nomem:
	keystone_token_info_clear(info);
	return -ENOMEM;
}

/* Parses body; *token_obj (borrowed from *root, which the caller puts) is "token". */
static int token_body_parse(const char *body, size_t len, struct json_object **root,
        struct json_object **token_obj, char **cause)
{
	struct json_tokener *tk = json_tokener_new();

	*root = NULL;
	if (tk == NULL)
		return -ENOMEM;
	if (len <= INT32_MAX)
		*root = json_tokener_parse_ex(tk, body, (int)len);
	if (*root != NULL && json_tokener_get_error(tk) != json_tokener_success) {
		json_object_put(*root);
		*root = NULL;
	}
	json_tokener_free(tk);
	if (*root == NULL || !json_object_object_get_ex(*root, "token", token_obj) ||
	        !json_object_is_type(*token_obj, json_type_object)) {
		json_object_put(*root);
		*root = NULL;
		if (cause != NULL)
			*cause = strdup("answer is not a JSON token document");
		return -EPROTO;
	}
	return 0;
}

int keystone_token_parse(const char *body, size_t len, struct keystone_token_info *info,
        struct json_object **catalog, char **cause)
{
	struct json_object *root, *tok, *cat;
	int r;

	memset(info, 0, sizeof(*info));
	if ((r = token_body_parse(body, len, &root, &tok, cause)) < 0)
		return r;
	r = token_info_from_json(tok, info, cause);
	if (r == 0 && catalog != NULL) {
		if (json_object_object_get_ex(tok, "catalog", &cat) &&
		        json_object_is_type(cat, json_type_array))
			*catalog = json_object_get(cat);
		else
			*catalog = json_object_new_array();
		if (*catalog == NULL) {
			keystone_token_info_clear(info);
			r = -ENOMEM;
		}
	}
	json_object_put(root);
	return r;
}

int keystone_token_info_parse(
        const char *body, size_t len, struct keystone_token_info *info, char **cause)
{
	return keystone_token_parse(body, len, info, NULL, cause);
}

bool keystone_token_has_role(const struct keystone_token_info *info, const char *role)
{
	for (size_t i = 0; i < info->roles_len; i++)
		if (strcmp(info->roles[i], role) == 0)
			return true;
	return false;
}

static bool endpoint_matches(struct json_object *ep, const char *interface, const char *region)
{
	const char *s = json_str(ep, "interface"), *r1, *r2;

	if (s == NULL || strcmp(s, interface) != 0 || json_str(ep, "url") == NULL)
		return false;
	if (region == NULL)
		return true;
	r1 = json_str(ep, "region_id");
	r2 = json_str(ep, "region");
	return (r1 != NULL && strcmp(r1, region) == 0) || (r2 != NULL && strcmp(r2, region) == 0);
}

int keystone_catalog_endpoint(struct json_object *catalog, const char *service_type,
        const char *interface, const char *region, char **url, char **cause)
{
	size_t n = json_object_array_length(catalog);

	*url = NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *svc = json_object_array_get_idx(catalog, i), *eps;
		const char *type = json_str(svc, "type");

		if (type == NULL || strcmp(type, service_type) != 0 ||
		        !json_object_object_get_ex(svc, "endpoints", &eps) ||
		        !json_object_is_type(eps, json_type_array))
			continue;
		for (size_t j = 0; j < json_object_array_length(eps); j++) {
			struct json_object *ep = json_object_array_get_idx(eps, j);
			const char *u;
			size_t len;

			if (!endpoint_matches(ep, interface, region))
				continue;
			u = json_str(ep, "url");
			len = strlen(u);
			while (len > 0 && u[len - 1] == '/')
				len--;
			*url = strndup(u, len);
			return *url == NULL ? -ENOMEM : 0;
		}
	}
	if (cause != NULL &&
	        asprintf(cause, "the catalog has no %s endpoint of type \"%s\"%s%s", interface,
	                service_type, region ? " in region " : "", region ? region : "") < 0)
		*cause = NULL;
	return -ENOENT;
}

int keystone_token_check(const char *token, const char **why)
{
	size_t n = 0;

	if (why != NULL)
		*why = NULL;
	for (; token[n] != '\0' && n <= KEYSTONE_TOKEN_MAX; n++) {
		char c = token[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		            c == '_' || c == '-' || c == '=' || c == '.' || c == '+' || c == '/')) {
			if (why != NULL)
				*why = "it holds a character no Keystone token has "
				       "(tokens are [A-Za-z0-9_=.+/-])";
			return -EINVAL;
		}
	}
	if (n < KEYSTONE_TOKEN_MIN || n > KEYSTONE_TOKEN_MAX) {
		if (why != NULL)
			*why = n < KEYSTONE_TOKEN_MIN ? "it is shorter than any Keystone token "
			                                "(" STR(KEYSTONE_TOKEN_MIN) " characters)"
			                              : "it is longer than any Keystone token "
			                                "(" STR(KEYSTONE_TOKEN_MAX) " characters)";
		return -EINVAL;
	}
	return 0;
}
