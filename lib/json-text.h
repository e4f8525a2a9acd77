/*
 * JSON text at the edges: a strict parse of one complete document from
 * untrusted bytes (bounded depth, valid UTF-8, nothing after it but white
 * space), and the JSON string literal writer the renderers share.
 */
#ifndef PRAAS_JSON_TEXT_H
#define PRAAS_JSON_TEXT_H

#include <stddef.h>

struct evbuffer;
struct json_object;

/* Nesting deeper than this is refused: no request of ours needs more. */
#define JSON_TEXT_DEPTH 16

/*
 * Parses text[0..len) as one JSON value. Returns 0 with *out a new
 * reference the caller puts (NULL for the text "null"), or -EINVAL with why (whylen bytes, 96 is
 * plenty) saying what is wrong ("is empty", "is not valid JSON: ..." in
 * json-c's words), or -ENOMEM.
 */
int json_text_parse(
        const char *text, size_t len, struct json_object **out, char *why, size_t whylen);

/*
 * Writes s as a JSON string literal, quotes included, into dst[0..cap)
 * (not NUL-terminated; dst may be NULL when cap is 0) and returns its
 * whole length, like snprintf: a result over cap means it did not fit.
 * '"', '\\', \n, \r and \t get their short escapes, other control
 * characters \u00XX; every other byte is copied (the text is UTF-8).
 */
size_t json_text_escape(char *dst, size_t cap, const char *s);

/* Appends s as a JSON string literal (json_text_escape). 0 or -ENOMEM. */
int json_text_write_string(struct evbuffer *out, const char *s);

#endif
