/*
 * Error answers of the REST API in the OpenStack API-SIG format, and the
 * request ids every answer carries:
 *
 *   {"errors":[{"status":409,"code":"praas.port_in_use","title":"Conflict",
 *               "detail":"…","request_id":"req-…"}]}
 *
 * One table maps HTTP statuses to titles and default codes, one maps the
 * faults of the core (fault.h) to statuses and codes, so the wording of a
 * failure is decided in one place.
 */
#ifndef PRAAS_API_ERROR_H
#define PRAAS_API_ERROR_H

#include "fault.h"
#include "fwd.h"

struct evbuffer;

/* "req-" and a UUID. */
#define API_REQUEST_ID_LEN (4 + FWD_ID_LEN)

/* A fresh request id into out. 0 or -errno. */
int api_request_id(char out[API_REQUEST_ID_LEN + 1]);

/* "Conflict" for 409; "Error" for a status not in the table. */
const char *api_error_title(int status);
/* "praas.conflict" for 409 and so on; "praas.error" when unknown. */
const char *api_error_code(int status);

/*
 * The status and default code for a negative errno from the library:
 * -EINVAL 400, -EACCES/-EPERM 403, -ENOENT 404, -EEXIST/-EADDRINUSE 409
 * (port_in_use), -ENOSPC 409 (range_exhausted), -EMSGSIZE/-E2BIG 413,
 * -ETIMEDOUT/-ECONNREFUSED/-EHOSTUNREACH/-ENETUNREACH/-EAGAIN 503,
 * anything else 500.
 */
int api_error_status(int err, const char **code);

/* How v1 answers a fault: an HTTP status, an API-SIG code and a Retry-After (0: none). */
struct api_error_answer {
	int status;
	const char *code;
	int retry_after;
};

/*
 * The v1 answer to a fault, from one table (first match wins): the cause
 * decides (the external port in use is 409 praas.port_in_use, a busy
 * database 503 praas.db_busy; -ENOMEM, whoever ran short, 503
 * praas.out_of_memory), then the errno alone (api_error_status).
 */
struct api_error_answer api_error_of(const struct fault *f);

/*
 * Appends the API-SIG body. code NULL means api_error_code(status). 0 or
 * -ENOMEM.
 */
int api_error_write(struct evbuffer *out, int status, const char *code, const char *detail,
        const char *request_id);

#endif
