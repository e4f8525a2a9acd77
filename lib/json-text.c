#include "json-text.h"

#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static int only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

int json_text_parse(
        const char *text, size_t len, struct json_object **out, char *why, size_t whylen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error err;
	int r = 0, fed_end = 0;

	*out = NULL;
	snprintf(why, whylen, "is valid");
	if (len == 0 || only_space(text, len)) {
		snprintf(why, whylen, "is empty");
		return -EINVAL;
	}
	if (len > (size_t)INT32_MAX) {
		snprintf(why, whylen, "is too large");
		return -EINVAL;
	}
	tok = json_tokener_new_ex(JSON_TEXT_DEPTH);
	if (tok == NULL)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	err = json_tokener_get_error(tok);
	if (err == json_tokener_continue) {
		/* A bare number is complete only once json-c sees what ends it. */
		obj = json_tokener_parse_ex(tok, " ", 1);
		err = json_tokener_get_error(tok);
		fed_end = 1;
	}
	if (err != json_tokener_success) {
		if (err == json_tokener_error_depth)
			snprintf(why, whylen, "is nested too deeply");
		else
			snprintf(why, whylen, "is not valid JSON: %s",
			        err == json_tokener_continue ? "unexpected end of data"
			                                     : json_tokener_error_desc(err));
		r = -EINVAL;
		goto out;
	}
	if (!fed_end && json_tokener_get_parse_end(tok) < len &&
	        !only_space(text + json_tokener_get_parse_end(tok),
	                len - json_tokener_get_parse_end(tok))) {
		snprintf(why, whylen, "has data after the JSON value");
		r = -EINVAL;
		goto out;
	}
	*out = obj; /* ownership passes to the caller */
	obj = NULL;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return r;
}

/* Copies what fits of src[0..len) at dst + *n and counts all of it. */
static void put(char *dst, size_t cap, size_t *n, const char *src, size_t len)
{
	if (*n < cap)
		memcpy(dst + *n, src, len < cap - *n ? len : cap - *n);
	*n += len;
}

size_t json_text_escape(char *dst, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	size_t n = 0;

	put(dst, cap, &n, "\"", 1);
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c != '\0' && c != '"' && c != '\\' && c >= 0x20)
			continue;
		/* The plain run before p in one copy, then the escape of *p. */
		put(dst, cap, &n, run, (size_t)(p - run));
		if (c == '\0')
			break;
		run = p + 1;
		if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
			put(dst, cap, &n, esc, 2);
		} else {
			put(dst, cap, &n, esc, 6);
		}
	}
	put(dst, cap, &n, "\"", 1);
	return n;
}

int json_text_write_string(struct evbuffer *out, const char *s)
{
	size_t n = json_text_escape(NULL, 0, s);
	struct evbuffer_iovec v;

	if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) != 1 || v.iov_len < n)
		return -ENOMEM;
	json_text_escape(v.iov_base, n, s);
	v.iov_len = n;
	return evbuffer_commit_space(out, &v, 1) < 0 ? -ENOMEM : 0;
}
