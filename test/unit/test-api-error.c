/* API-SIG error bodies, request ids and the errno-to-status table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "api-error.h"

static void test_request_id(void **state)
{
	char a[API_REQUEST_ID_LEN + 1], b[API_REQUEST_ID_LEN + 1];

	assert_int_equal(api_request_id(a), 0);
	assert_int_equal(api_request_id(b), 0);
	assert_int_equal(strlen(a), 40);
	assert_memory_equal(a, "req-", 4);
	assert_true(fwd_uuid_valid(a + 4));
	assert_string_not_equal(a, b);
}

static void test_body(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	assert_int_equal(api_error_write(b, 409, "praas.port_in_use",
	                         "external_port: 4022 is used by forwarding \"x\"", "req-1"),
	        0);
	assert_int_equal(api_error_write(b, 404, NULL, NULL, "req-2"), 0);
	evbuffer_add(b, "", 1);
	s = (char *)evbuffer_pullup(b, -1);
	assert_string_equal(s,
	        "{\"errors\":[{\"status\":409,\"code\":\"praas.port_in_use\",\"title\":"
	        "\"Conflict\",\"detail\":\"external_port: 4022 is used by forwarding "
	        "\\\"x\\\"\",\"request_id\":\"req-1\"}]}"
	        "{\"errors\":[{\"status\":404,\"code\":\"praas.not_found\",\"title\":"
	        "\"Not Found\",\"detail\":\"Not Found\",\"request_id\":\"req-2\"}]}");
	evbuffer_free(b);
}

static void test_tables(void **state)
{
	const char *code;

	assert_string_equal(api_error_title(413), "Request Entity Too Large");
	assert_string_equal(api_error_title(418), "Error");
	assert_string_equal(api_error_code(401), "praas.unauthorized");
	assert_int_equal(api_error_status(-EINVAL, &code), 400);
	assert_string_equal(code, "praas.bad_request");
	assert_int_equal(api_error_status(-EEXIST, &code), 409);
	assert_string_equal(code, "praas.port_in_use");
	assert_int_equal(api_error_status(-ENOSPC, &code), 409);
	assert_string_equal(code, "praas.range_exhausted");
	assert_int_equal(api_error_status(-ENOENT, &code), 404);
	assert_int_equal(api_error_status(-EPERM, &code), 403);
	assert_int_equal(api_error_status(-ETIMEDOUT, &code), 503);
	assert_int_equal(api_error_status(-EMSGSIZE, &code), 413);
	assert_int_equal(api_error_status(-EIO, &code), 500);
	assert_string_equal(code, "praas.internal_error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request_id),
	        cmocka_unit_test(test_body),
	        cmocka_unit_test(test_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
