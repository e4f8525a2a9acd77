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

int json_text_write_string(struct evbuffer *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char esc[7];
	size_t esclen;

	if (evbuffer_add(out, "\"", 1) < 0)
		return -ENOMEM;
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c != '\0' && c != '"' && c != '\\' && c >= 0x20)
			continue;
		/* Flush the plain run before p, then the escape of *p. */
		if (p > run && evbuffer_add(out, run, (size_t)(p - run)) < 0)
			return -ENOMEM;
		if (c == '\0')
			break;
		esclen = 2;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esclen = 6;
		}
		if (evbuffer_add(out, esc, esclen) < 0)
			return -ENOMEM;
		run = p + 1;
	}
	return evbuffer_add(out, "\"", 1) < 0 ? -ENOMEM : 0;
}
