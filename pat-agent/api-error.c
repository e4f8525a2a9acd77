#include "api-error.h"

#include <errno.h>
#include <event2/buffer.h>
#include <string.h>

#include "json-text.h"

static const struct {
	int status;
	const char *title;
	const char *code;
} statuses[] = {
        {400, "Bad Request", "praas.bad_request"},
        {401, "Unauthorized", "praas.unauthorized"},
        {403, "Forbidden", "praas.forbidden"},
        {404, "Not Found", "praas.not_found"},
        {405, "Method Not Allowed", "praas.method_not_allowed"},
        {408, "Request Timeout", "praas.request_timeout"},
        {409, "Conflict", "praas.conflict"},
        {411, "Length Required", "praas.length_required"},
        {413, "Request Entity Too Large", "praas.body_too_large"},
        {415, "Unsupported Media Type", "praas.unsupported_media_type"},
        {417, "Expectation Failed", "praas.expectation_failed"},
        {431, "Request Header Fields Too Large", "praas.head_too_large"},
        {500, "Internal Server Error", "praas.internal_error"},
        {501, "Not Implemented", "praas.not_implemented"},
        {503, "Service Unavailable", "praas.unavailable"},
};

int api_request_id(char out[API_REQUEST_ID_LEN + 1])
{
	memcpy(out, "req-", 4);
	return fwd_uuid_generate(out + 4);
}

const char *api_error_title(int status)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].title;
	return "Error";
}

const char *api_error_code(int status)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == status)
			return statuses[i].code;
	return "praas.error";
}

int api_error_status(int err, const char **code)
{
	int status;

	switch (err) {
	case -EINVAL:
		status = 400;
		break;
	case -EACCES:
	case -EPERM:
		status = 403;
		break;
	case -ENOENT:
		status = 404;
		break;
	case -EEXIST:
	case -EADDRINUSE:
		*code = "praas.port_in_use";
		return 409;
	case -ENOSPC:
		*code = "praas.range_exhausted";
		return 409;
	case -EMSGSIZE:
	case -E2BIG:
		status = 413;
		break;
	case -ETIMEDOUT:
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -EAGAIN:
		status = 503;
		break;
	default:
		status = 500;
	}
	*code = api_error_code(status);
	return status;
}

/* A cause of FAULT_CAUSE_COUNT or an err of 0 matches any. */
#define ANY_CAUSE FAULT_CAUSE_COUNT
#define ANY_ERR   0

static const struct {
	enum fault_cause cause;
	int err;
	int status;
	const char *code; /* NULL: api_error_code(status) */
	int retry_after;
} faults[] = {
        /* A kernel short of memory still refused the change. */
        {FAULT_KERNEL, ANY_ERR, 503, "praas.kernel_refused", 0},
        {ANY_CAUSE, -ENOMEM, 503, "praas.out_of_memory", 0},
        {FAULT_REQUEST, ANY_ERR, 400, "praas.bad_request", 0},
        {FAULT_TARGET, ANY_ERR, 400, "praas.bad_target", 0},
        {FAULT_TOKEN, ANY_ERR, 401, "praas.unauthorized", 0},
        {FAULT_PROJECT, ANY_ERR, 403, "praas.forbidden", 0},
        {FAULT_FORWARDING, -ENOENT, 404, "praas.not_found", 0},
        {FAULT_FORWARDING, -EEXIST, 409, "praas.id_in_use", 0},
        {FAULT_ROUTER, -ENOENT, 404, "praas.router_not_found", 0},
        {FAULT_ROUTER, -EAGAIN, 503, "praas.router_not_ready", 0},
        {FAULT_EXTERNAL_PORT, ANY_ERR, 409, "praas.port_in_use", 0},
        {FAULT_INTERNAL_PORT, ANY_ERR, 409, "praas.internal_port_in_use", 0},
        {FAULT_RANGE, ANY_ERR, 409, "praas.range_exhausted", 0},
        {FAULT_GATEWAY, ANY_ERR, 409, "praas.no_gateway", 0},
        {FAULT_STORE, -EBUSY, 503, "praas.db_busy", 0},
        {FAULT_STORE, ANY_ERR, 503, "praas.db_unavailable", 0},
        {FAULT_TABLE, -ENOENT, 404, "praas.router_not_found", 0},
        {FAULT_TABLE, ANY_ERR, 503, "praas.kernel_unavailable", 0},
        {FAULT_NEUTRON, ANY_ERR, 503, "praas.neutron_unavailable", 0},
        {FAULT_KEYSTONE, -EBUSY, 503, "praas.keystone_busy", 1},
        {FAULT_KEYSTONE, ANY_ERR, 503, "praas.keystone_unavailable", 0},
        {FAULT_RESYNC, ANY_ERR, 503, "praas.resync_failed", 0},
};

struct api_error_answer api_error_of(const struct fault *f)
{
	struct api_error_answer ans = {0, NULL, 0};

	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		if ((faults[i].cause != ANY_CAUSE && faults[i].cause != f->cause) ||
		        (faults[i].err != ANY_ERR && faults[i].err != f->err))
			continue;
		ans.status = faults[i].status;
		ans.code = faults[i].code ? faults[i].code : api_error_code(faults[i].status);
		ans.retry_after = faults[i].retry_after;
		return ans;
	}
	ans.status = api_error_status(f->err, &ans.code);
	return ans;
}

int api_error_write(struct evbuffer *out, int status, const char *code, const char *detail,
        const char *request_id)
{
	if (evbuffer_add_printf(out, "{\"errors\":[{\"status\":%d,\"code\":", status) < 0 ||
	        json_text_write_string(out, code ? code : api_error_code(status)) < 0 ||
	        evbuffer_add_printf(out, ",\"title\":\"%s\",\"detail\":", api_error_title(status)) <
	                0 ||
	        json_text_write_string(out, detail ? detail : api_error_title(status)) < 0 ||
	        evbuffer_add(out, ",\"request_id\":", 14) < 0 ||
	        json_text_write_string(out, request_id ? request_id : "") < 0 ||
	        evbuffer_add(out, "}]}", 3) < 0)
		return -ENOMEM;
	return 0;
}
