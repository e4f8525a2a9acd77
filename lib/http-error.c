/*
 * What went wrong with an OpenStack call, in one struct every layer (HTTP,
 * Keystone, Neutron) hands up: an errno, the HTTP status, the call and
 * OpenStack's own words. See http-error.h for what each field holds.
 */
#include "http-error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define HTTP_CALL_MAX    160 /* characters of "METHOD path" kept in errors */
#define HTTP_EXCERPT_MAX 120 /* characters of a non-JSON error body quoted */

int http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
		return -EACCES;
	case 403:
		return -EPERM;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 413:
		return -E2BIG;
	default:
		return -EIO;
	}
}

void http_error_free(struct http_error *err)
{
	if (err == NULL)
		return;
	free(err->call);
	free(err->message);
	free(err);
}

static struct http_error *http_error_vnew(int code, long status, const char *call, const char *fmt,
        va_list ap) __attribute__((format(printf, 4, 0)));

static struct http_error *http_error_vnew(
        int code, long status, const char *call, const char *fmt, va_list ap)
{
	struct http_error *err = calloc(1, sizeof(*err));

	if (err == NULL)
		return NULL;
	err->code = code;
	err->status = status;
	err->call = strdup(call != NULL ? call : "");
	if (err->call == NULL || vasprintf(&err->message, fmt, ap) < 0) {
		err->message = NULL;
		http_error_free(err);
		return NULL;
	}
	return err;
}

struct http_error *http_error_new(int code, long status, const char *call, const char *fmt, ...)
{
	struct http_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = http_error_vnew(code, status, call, fmt, ap);
	va_end(ap);
	return err;
}

struct http_error *http_error_copy(const struct http_error *err)
{
	return http_error_new(err->code, err->status, err->call, "%s", err->message);
}

char *http_error_string(const struct http_error *err)
{
	char *s;
	int r;

	if (err->status != 0)
		r = asprintf(&s, "%s: HTTP %ld: %s", err->call, err->status, err->message);
	else
		r = asprintf(&s, "%s: %s", err->call, err->message);
	return r < 0 ? NULL : s;
}

/* OpenStack's words from an error body: NeutronError.message,
 * error.message (Keystone), errors[0].detail (API-SIG), or the message of
 * the only member ({"itemNotFound": {"message": ...}}). Allocated or NULL. */
static char *openstack_message(const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *root, *v = NULL, *m;
	char *out = NULL;

	if (len == 0 || len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	root = json_tokener_parse_ex(tok, body, (int)len);
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object))
		goto out;
	if (json_object_object_get_ex(root, "errors", &v) &&
	        json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0) {
		v = json_object_array_get_idx(v, 0);
		if (json_object_object_get_ex(v, "detail", &m) &&
		        json_object_is_type(m, json_type_string))
			out = strdup(json_object_get_string(m));
		goto out;
	}
	if (json_object_object_length(root) == 1) {
		json_object_object_foreach(root, key, val)
		{
			(void)key;
			v = val;
		}
	}
	if (v != NULL && json_object_is_type(v, json_type_object) &&
	        json_object_object_get_ex(v, "message", &m) &&
	        json_object_is_type(m, json_type_string))
		out = strdup(json_object_get_string(m));
	else if (json_object_object_get_ex(root, "message", &m) &&
	        json_object_is_type(m, json_type_string))
		out = strdup(json_object_get_string(m));
out:
	json_object_put(root);
	return out;
}

/* A printable excerpt of a body that is not OpenStack JSON. */
static char *body_excerpt(const char *body, size_t len)
{
	size_t n = len < HTTP_EXCERPT_MAX ? len : HTTP_EXCERPT_MAX;
	char *s = malloc(n + 4);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	strcpy(s + n, n < len ? "..." : "");
	return s;
}

char *http_error_words(const char *body, size_t len)
{
	char *words = openstack_message(body, len);

	if (words != NULL)
		return words;
	return len ? body_excerpt(body, len) : strdup("no message");
}

/*
 * "GET /v2.0/ports?device_id=…": the URL without scheme and host, without
 * fields= parameters (long and the same on every call of a kind), and
 * shortened.
 */
char *http_call_name(const char *method, const char *url)
{
	const char *p = strstr(url, "://"), *q;
	char *path, *o, *s;
	int r;

	if (p == NULL)
		p = url[0] == '/' ? url : "/";
	else if ((p = strchr(p + 3, '/')) == NULL)
		p = "/";
	if ((path = malloc(strlen(p) + 1)) == NULL)
		return NULL;
	q = strchrnul(p, '?');
	memcpy(path, p, (size_t)(q - p));
	o = path + (q - p);
	for (bool first = true; *q != '\0'; q = strchrnul(q + 1, '&')) {
		size_t n = (size_t)(strchrnul(q + 1, '&') - (q + 1));

		if (strncmp(q + 1, "fields=", 7) == 0)
			continue;
		*o++ = first ? '?' : '&';
		memcpy(o, q + 1, n);
		o += n;
		first = false;
	}
	*o = '\0';
	r = asprintf(&s, "%s %.*s%s", method, HTTP_CALL_MAX, path,
	        strlen(path) > HTTP_CALL_MAX ? "..." : "");
	free(path);
	return r < 0 ? NULL : s;
}
