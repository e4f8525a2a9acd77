/*
 * Each front door's table for the core's faults (fault.h): v1's status and
 * API-SIG code (api_error_of), legacy's status word (legacy_word_of), the
 * control socket's ok/error line (control_write_fault). Every fault the
 * core makes is listed once with its answer at each door.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "api-error.h"
#include "control.h"
#include "legacy-wire.h"

static const struct {
	int err;
	enum fault_cause cause;
	int status;
	const char *code;
	int retry_after;
	enum legacy_word modify_word; /* the legacy answer of /pat/modify */
} cases[] = {
        {-EINVAL, FAULT_REQUEST, 400, "praas.bad_request", 0, LEGACY_WORD_ERROR},
        {-EINVAL, FAULT_TARGET, 400, "praas.bad_target", 0, LEGACY_WORD_ERROR},
        {-EACCES, FAULT_TOKEN, 401, "praas.unauthorized", 0, LEGACY_WORD_ERROR},
        {-EPERM, FAULT_PROJECT, 403, "praas.forbidden", 0, LEGACY_WORD_ERROR},
        {-ENOENT, FAULT_FORWARDING, 404, "praas.not_found", 0, LEGACY_WORD_ERROR},
        {-EEXIST, FAULT_FORWARDING, 409, "praas.id_in_use", 0, LEGACY_WORD_ERROR},
        {-ENOENT, FAULT_ROUTER, 404, "praas.router_not_found", 0, LEGACY_WORD_ERROR},
        {-EAGAIN, FAULT_ROUTER, 503, "praas.router_not_ready", 0, LEGACY_WORD_ERROR},
        {-EADDRINUSE, FAULT_EXTERNAL_PORT, 409, "praas.port_in_use", 0, LEGACY_WORD_USED},
        {-EADDRINUSE, FAULT_INTERNAL_PORT, 409, "praas.internal_port_in_use", 0, LEGACY_WORD_ERROR},
        {-ENOSPC, FAULT_RANGE, 409, "praas.range_exhausted", 0, LEGACY_WORD_ERROR},
        {-EADDRNOTAVAIL, FAULT_GATEWAY, 409, "praas.no_gateway", 0, LEGACY_WORD_ERROR},
        {-EBUSY, FAULT_STORE, 503, "praas.db_busy", 0, LEGACY_WORD_ERROR},
        {-EIO, FAULT_STORE, 503, "praas.db_unavailable", 0, LEGACY_WORD_ERROR},
        {-EROFS, FAULT_STORE, 503, "praas.db_unavailable", 0, LEGACY_WORD_ERROR},
        {-EINVAL, FAULT_STORE, 503, "praas.db_unavailable", 0, LEGACY_WORD_ERROR},
        /* Out of memory is the agent's trouble, never the client's: not 401, not 503 db. */
        {-ENOMEM, FAULT_STORE, 503, "praas.out_of_memory", 0, LEGACY_WORD_ERROR},
        {-ENOMEM, FAULT_TOKEN, 503, "praas.out_of_memory", 0, LEGACY_WORD_ERROR},
        {-ENOMEM, FAULT_KEYSTONE, 503, "praas.out_of_memory", 0, LEGACY_WORD_ERROR},
        {-ENOMEM, FAULT_MEMORY, 503, "praas.out_of_memory", 0, LEGACY_WORD_ERROR},
        {-EINVAL, FAULT_KERNEL, 503, "praas.kernel_refused", 0, LEGACY_WORD_ERROR},
        {-ENOMEM, FAULT_KERNEL, 503, "praas.kernel_refused", 0, LEGACY_WORD_ERROR},
        {-ENOENT, FAULT_TABLE, 404, "praas.router_not_found", 0, LEGACY_WORD_ERROR},
        {-EIO, FAULT_TABLE, 503, "praas.kernel_unavailable", 0, LEGACY_WORD_ERROR},
        {-ETIMEDOUT, FAULT_NEUTRON, 503, "praas.neutron_unavailable", 0, LEGACY_WORD_ERROR},
        {-EBUSY, FAULT_KEYSTONE, 503, "praas.keystone_busy", 1, LEGACY_WORD_ERROR},
        {-EIO, FAULT_KEYSTONE, 503, "praas.keystone_unavailable", 0, LEGACY_WORD_ERROR},
        {-EIO, FAULT_RESYNC, 503, "praas.resync_failed", 0, LEGACY_WORD_ERROR},
        /* A cause without a row of its own: the errno decides. */
        {-EINVAL, FAULT_MEMORY, 400, "praas.bad_request", 0, LEGACY_WORD_ERROR},
        {-EIO, FAULT_MEMORY, 500, "praas.internal_error", 0, LEGACY_WORD_ERROR},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void fill(struct fault *f, size_t i)
{
	fault_set(f, cases[i].err, cases[i].cause, "case %zu: %s", i,
	        fault_cause_name(cases[i].cause));
}

static void test_every_cause_listed(void **state)
{
	for (int c = 0; c < FAULT_CAUSE_COUNT; c++) {
		bool listed = false;

		for (size_t i = 0; i < NCASES; i++)
			listed |= cases[i].cause == (enum fault_cause)c;
		if (!listed)
			fail_msg("cause %s has no case", fault_cause_name(c));
		assert_string_not_equal(fault_cause_name(c), "?");
	}
}

static void test_v1(void **state)
{
	struct fault f;

	for (size_t i = 0; i < NCASES; i++) {
		struct api_error_answer ans;

		fill(&f, i);
		ans = api_error_of(&f);
		if (ans.status != cases[i].status || strcmp(ans.code, cases[i].code) != 0 ||
		        ans.retry_after != cases[i].retry_after)
			fail_msg("%s %d: got %d %s (retry %d), want %d %s",
			        fault_cause_name(f.cause), f.err, ans.status, ans.code,
			        ans.retry_after, cases[i].status, cases[i].code);
	}
}

static void test_legacy(void **state)
{
	const enum legacy_op ops[] = {LEGACY_CREATE, LEGACY_REMOVE, LEGACY_MODIFY,
	        LEGACY_ROUTER_PAT, LEGACY_ROUTER_SERVER_PAT};
	struct legacy_request req;
	char *why = NULL;
	struct evbuffer *b;
	struct fault f;

	for (size_t i = 0; i < NCASES; i++) {
		fill(&f, i);
		for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
			assert_int_equal(legacy_word_of(ops[o], &f),
			        ops[o] == LEGACY_MODIFY ? cases[i].modify_word : LEGACY_WORD_ERROR);
	}
	/* The words as written: USED keeps the old port, ERROR the fault's sentence. */
	memset(&req, 0, sizeof(req));
	req.op = LEGACY_MODIFY;
	assert_int_equal(legacy_parse(LEGACY_MODIFY,
	                         "server_ip=10.0.0.5&router_id=qrouter-r1&modify_server_port=22&"
	                         "modify_router_port=4022&gateway=203.0.113.5",
	                         &req, &why),
	        0);
	assert_non_null(b = evbuffer_new());
	fault_set(&f, -EADDRINUSE, FAULT_EXTERNAL_PORT, "in use");
	assert_int_equal(legacy_write_fault(b, &req, &f, 4000), 0);
	fault_set(&f, -EIO, FAULT_STORE, "disk gone");
	assert_int_equal(legacy_write_fault(b, &req, &f, 4000), 0);
	evbuffer_add(b, "", 1);
	assert_non_null(strstr((char *)evbuffer_pullup(b, -1), "\"status\":\"USED\""));
	assert_non_null(
	        strstr((char *)evbuffer_pullup(b, -1), "\"modified_router_port\":\"4000\""));
	assert_non_null(strstr((char *)evbuffer_pullup(b, -1),
	        "{\"status\":\"ERROR\",\"message\":\"disk gone\"}"));
	evbuffer_free(b);
}

static void test_control(void **state)
{
	char want[700];
	struct fault f;

	for (size_t i = 0; i < NCASES; i++) {
		struct evbuffer *b = evbuffer_new();

		assert_non_null(b);
		fill(&f, i);
		assert_int_equal(control_write_fault(b, true, 7, &f), 0);
		evbuffer_add(b, "", 1);
		snprintf(
		        want, sizeof(want), "{\"id\":7,\"ok\":false,\"error\":\"%s\"}\n", f.detail);
		assert_string_equal((char *)evbuffer_pullup(b, -1), want);
		evbuffer_free(b);
	}
}

/* What each op's end becomes on the control socket: ok with its shape, or the fault's error. */
static void expect_outcome(const struct control_outcome *o, const struct fault *f, const char *want)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	assert_int_equal(control_write_outcome(b, true, 9, o, f), 0);
	evbuffer_add(b, "", 1);
	assert_string_equal((char *)evbuffer_pullup(b, -1), want);
	evbuffer_free(b);
}

static void test_control_outcome(void **state)
{
	struct control_outcome changed = {.shape = CONTROL_CHANGED, .changed = 3};
	struct control_outcome clean = {.shape = CONTROL_VERIFIED};
	struct control_outcome drifted = {
	        .shape = CONTROL_VERIFIED, .changed = 2, .drift = "rule \"x\" foreign"};
	struct control_outcome empty = {.shape = CONTROL_LISTED, .next_marker = NULL};
	struct fault f;

	expect_outcome(&changed, NULL, "{\"id\":9,\"ok\":true,\"changed\":3}\n");
	expect_outcome(&clean, NULL, "{\"id\":9,\"ok\":true,\"changed\":0,\"drift\":null}\n");
	expect_outcome(&drifted, NULL,
	        "{\"id\":9,\"ok\":true,\"changed\":2,\"drift\":\"rule \\\"x\\\" foreign\"}\n");
	expect_outcome(&empty, NULL, "{\"id\":9,\"ok\":true,\"forwardings\":[]}\n");
	/* A refusal wins over whatever the outcome holds, for every shape. */
	fault_set(&f, -EIO, FAULT_STORE, "cannot read forwardings: disk gone");
	expect_outcome(&changed, &f,
	        "{\"id\":9,\"ok\":false,\"error\":\"cannot read forwardings: disk gone\"}\n");
	expect_outcome(&empty, &f,
	        "{\"id\":9,\"ok\":false,\"error\":\"cannot read forwardings: disk gone\"}\n");
	expect_outcome(NULL, &f,
	        "{\"id\":9,\"ok\":false,\"error\":\"cannot read forwardings: disk gone\"}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_cause_listed),
	        cmocka_unit_test(test_v1),
	        cmocka_unit_test(test_legacy),
	        cmocka_unit_test(test_control),
	        cmocka_unit_test(test_control_outcome),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
