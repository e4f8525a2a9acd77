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
