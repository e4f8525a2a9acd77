/*
 * What went wrong with an OpenStack call, at any layer (HTTP, Keystone,
 * Neutron): one struct with an errno, the HTTP status, the call and the
 * words, so callers branch on the errno and print the rest.
 *
 * Promises:
 * - One errno per HTTP status, always the same (http_status_errno).
 * - The call named in an error has no scheme, host or fields= parameters
 *   and is at most ~160 characters.
 * - OpenStack's own words are quoted when it gave some; a body that is
 *   not OpenStack JSON is quoted printable and shortened, never raw.
 */
#ifndef PRAAS_HTTP_ERROR_H
#define PRAAS_HTTP_ERROR_H

#include <stddef.h>

/*
 * What went wrong with a call, at any layer (HTTP, Keystone, Neutron).
 * code is a negative errno:
 *   from an HTTP status: 400 -EINVAL, 401 -EACCES, 403 -EPERM, 404 -ENOENT,
 *     409 -EEXIST, 413 -E2BIG, any other non-2xx -EIO;
 *   without one: -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EHOSTUNREACH
 *     (name resolution or route), -EMSGSIZE (body over max_body),
 *     -EPROTO (redirect, malformed HTTP or JSON, TLS failure),
 *     -ELOOP (pagination that loops), -ENOMEM.
 * status is the HTTP status, 0 when no answer came. call is the method and
 * path that failed ("GET /v2.0/ports?device_id=…", query shortened).
 * message is OpenStack's own words (NeutronError.message, error.message)
 * when it gave some, else ours.
 */
struct http_error {
	int code;
	long status;
	char *call;
	char *message;
};

/* Allocates a copy (NULL on -ENOMEM). */
struct http_error *http_error_copy(const struct http_error *err);
/*
 * Builds an error; fmt words the message. NULL on -ENOMEM. For layers above
 * (Keystone, Neutron) that find their own faults.
 */
struct http_error *http_error_new(int code, long status, const char *call, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void http_error_free(struct http_error *err);
/* "GET /v2.0/ports/x: HTTP 404: Port x could not be found." (allocated, or NULL). */
char *http_error_string(const struct http_error *err);
/* The errno for an HTTP status as listed above (0 for 2xx). */
int http_status_errno(long status);

/*
 * The words for a non-2xx answer's body: OpenStack's own message
 * (NeutronError.message, error.message, errors[0].detail, or the only
 * member's message), else a printable excerpt, else "no message".
 * Allocated, or NULL on -ENOMEM.
 */
char *http_error_words(const char *body, size_t len);

/*
 * "METHOD /path?query" for errors, from a URL or a path: no scheme or host,
 * no fields= parameters, at most ~160 characters. Allocated, or NULL.
 */
char *http_call_name(const char *method, const char *url_or_path);

#endif
