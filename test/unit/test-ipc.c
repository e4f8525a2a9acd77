/* The control socket protocol: request parsing, formats, and the client on a real socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fwd-json.h"
#include "ipc.h"

static int parse(const char *line, struct ipc_request *req, char **error)
{
	return ipc_request_parse(line, strlen(line), req, error);
}

static void test_parse_good(void **state)
{
	struct ipc_request req;
	char *error = NULL, buf[ADDR_STRLEN];

	assert_int_equal(parse("{\"id\":7,\"op\":\"list\"}", &req, &error), 0);
	assert_true(req.has_id);
	assert_int_equal(req.id, 7);
	assert_int_equal(req.op, IPC_OP_LIST);
	assert_int_equal(req.fields, 0);

	assert_int_equal(parse("{\"op\":\"port_deleted\",\"port_id\":\"p-1\"}", &req, &error), 0);
	assert_false(req.has_id);
	assert_int_equal(req.op, IPC_OP_PORT_DELETED);
	assert_string_equal(req.port_id, "p-1");

	assert_int_equal(
	        parse("{\"op\":\"port_address_changed\",\"port_id\":\"p\",\"old_ip\":"
	              "\"10.0.0.5\",\"new_ip\":\"2001:db8::7\",\"id\":-9223372036854775808}",
	                &req, &error),
	        0);
	assert_int_equal(req.id, INT64_MIN);
	assert_string_equal(addr_format(&req.old_ip, buf, sizeof(buf)), "10.0.0.5");
	assert_string_equal(addr_format(&req.new_ip, buf, sizeof(buf)), "2001:db8::7");
	assert_int_equal(req.fields, IPC_FIELD_PORT_ID | IPC_FIELD_OLD_IP | IPC_FIELD_NEW_IP);

	assert_int_equal(
	        parse("{\"op\":\"router_deleted\",\"router_id\":\"r1\"}", &req, &error), 0);
	assert_int_equal(parse("{\"op\":\"gateway_changed\",\"router_id\":\"r1\",\"new_ip\":"
	                       "\"203.0.113.9\"}",
	                         &req, &error),
	        0);
	assert_int_equal(parse("{\"op\":\"resync\"}", &req, &error), 0);
	assert_int_equal(parse("{\"op\":\"resync\",\"router_id\":\"r1\"}\r", &req, &error), 0);
	assert_int_equal(parse("{\"op\":\"verify\",\"router_id\":\"r1\"}", &req, &error), 0);
	assert_int_equal(req.op, IPC_OP_VERIFY);
	assert_string_equal(req.router_id, "r1");
	assert_int_equal(parse("{\"op\":\"ping\",\"id\":9223372036854775807}", &req, &error), 0);
	assert_int_equal(req.id, INT64_MAX);

	/* A paged list. */
	assert_int_equal(parse("{\"op\":\"list\",\"limit\":500,\"marker\":"
	                       "\"0b7c5a57-3f4e-4c57-9d2b-5f1c8b9d2e01\"}",
	                         &req, &error),
	        0);
	assert_int_equal(req.fields, IPC_FIELD_LIMIT | IPC_FIELD_MARKER);
	assert_int_equal(req.limit, 500);
	assert_string_equal(req.marker, "0b7c5a57-3f4e-4c57-9d2b-5f1c8b9d2e01");
	assert_int_equal(
	        parse("{\"op\":\"list\",\"limit\":10000,\"router_id\":\"r1\"}", &req, &error), 0);
	assert_int_equal(req.limit, IPC_LIST_LIMIT_MAX);
	assert_null(error);
	/* One port's forwardings: what the monitor asks on a notification (issue 14). */
	assert_int_equal(parse("{\"op\":\"list\",\"port_id\":\"p1\"}", &req, &error), 0);
	assert_int_equal(req.fields, IPC_FIELD_PORT_ID);
	assert_string_equal(req.port_id, "p1");
	assert_null(error);
}

static const struct {
	const char *line, *error;
	bool has_id;
} bad[] = {
        {"", "request: is empty", false},
        {"{", "request: is not valid JSON", false},
        {"[]", "request: must be a JSON object", false},
        {"{\"id\":\"7\",\"op\":\"list\"}", "id: must be an integer", false},
        {"{\"id\":1.5,\"op\":\"list\"}", "id: must be an integer", false},
        {"{\"id\":9223372036854775808,\"op\":\"list\"}", "id: must be an integer", false},
        {"{\"id\":3}", "op: is required", true},
        {"{\"id\":3,\"op\":7}", "op: must be a string", true},
        {"{\"id\":3,\"op\":\"explode\"}", "op: unknown; expected one of ping, list", true},
        {"{\"id\":3,\"op\":\"port_deleted\"}", "port_id: is required by op port_deleted", true},
        {"{\"id\":3,\"op\":\"port_address_changed\",\"port_id\":\"p\",\"old_ip\":\"10.0.0.1\"}",
                "new_ip: is required", true},
        {"{\"op\":\"port_deleted\",\"port_id\":\"p\",\"router_id\":\"r\"}",
                "router_id: is not taken by op port_deleted", false},
        {"{\"op\":\"list\",\"colour\":\"x\"}", "colour: is not a field of the protocol", false},
        {"{\"op\":\"port_deleted\",\"port_id\":\"../etc\"}", "port_id: must be", false},
        {"{\"op\":\"port_deleted\",\"port_id\":\"\"}", "port_id: must be", false},
        {"{\"op\":\"port_deleted\",\"port_id\":5}", "port_id: must be a string", false},
        {"{\"op\":\"router_deleted\",\"router_id\":\"a\\u0000b\"}", "router_id: contains a NUL",
                false},
        {"{\"op\":\"gateway_changed\",\"router_id\":\"r\",\"new_ip\":\"300.1.1.1\"}",
                "new_ip: is not an IPv4 or IPv6 address", false},
        {"{\"op\":\"list\"} {\"op\":\"list\"}", "request: is not valid JSON", false},
        {"{\"op\":\"list\",\"limit\":0}", "limit: must be an integer from 1 to 10000", false},
        {"{\"op\":\"list\",\"limit\":10001}", "limit: must be an integer from 1", false},
        {"{\"op\":\"list\",\"limit\":\"5\"}", "limit: must be an integer", false},
        {"{\"op\":\"list\",\"limit\":2.5}", "limit: must be an integer", false},
        {"{\"op\":\"list\",\"marker\":\"r1\"}", "marker: must be a forwarding id", false},
        {"{\"op\":\"list\",\"marker\":7}", "marker: must be a string", false},
        {"{\"op\":\"resync\",\"limit\":5}", "limit: is not taken by op resync", false},
        {"{\"op\":\"verify\"}", "router_id", false},
        {"{\"op\":\"lease\",\"holder\":\"m1\"}", "ttl_ms", false},
        {"{\"op\":\"lease\",\"holder\":\"m 1\",\"ttl_ms\":5}", "holder: must be 1 to 64", false},
        {"{\"op\":\"lease\",\"holder\":\"m1\",\"ttl_ms\":0}", "ttl_ms: must be an integer from 1",
                false},
        {"{\"op\":\"lease\",\"holder\":\"m1\",\"ttl_ms\":600001}", "ttl_ms: must be an integer",
                false},
};

static void test_parse_bad(void **state)
{
	struct ipc_request req;
	char *error;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		if (parse(bad[i].line, &req, &error) != -EINVAL)
			fail_msg("accepted: %s", bad[i].line);
		assert_non_null(error);
		if (strstr(error, bad[i].error) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].line, error, bad[i].error);
		assert_int_equal(req.has_id, bad[i].has_id);
		free(error);
	}

	/* A line over the cap is refused before it is parsed. */
	char *big = malloc(IPC_LINE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', IPC_LINE_MAX + 1);
	assert_int_equal(ipc_request_parse(big, IPC_LINE_MAX + 1, &req, &error), -EINVAL);
	assert_non_null(strstr(error, "longer than 65536"));
	free(error);
	free(big);
}

static char *drain(struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b);
	char *s = malloc(len + 1);

	assert_non_null(s);
	assert_int_equal(evbuffer_remove(b, s, len), (int)len);
	s[len] = '\0';
	return s;
}

static void test_format_roundtrip(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct ipc_request req, back;
	char *line, *error;

	memset(&req, 0, sizeof(req));
	req.has_id = true;
	req.id = 42;
	req.op = IPC_OP_PORT_ADDRESS_CHANGED;
	req.fields = IPC_FIELD_PORT_ID | IPC_FIELD_OLD_IP | IPC_FIELD_NEW_IP;
	strcpy(req.port_id, "port-1");
	addr_parse("10.0.0.5", &req.old_ip);
	addr_parse("10.0.0.6", &req.new_ip);
	assert_int_equal(ipc_request_format(b, &req), 0);
	line = drain(b);
	assert_string_equal(line,
	        "{\"id\":42,\"op\":\"port_address_changed\",\"port_id\":\"port-1\","
	        "\"old_ip\":\"10.0.0.5\",\"new_ip\":\"10.0.0.6\"}\n");
	assert_int_equal(ipc_request_parse(line, strlen(line) - 1, &back, &error), 0);
	assert_memory_equal(&req, &back, sizeof(req));
	free(line);

	/* A page request keeps its marker and limit. */
	memset(&req, 0, sizeof(req));
	req.op = IPC_OP_LIST;
	req.fields = IPC_FIELD_MARKER | IPC_FIELD_LIMIT | IPC_FIELD_ROUTER_ID;
	req.limit = 2;
	strcpy(req.router_id, "r1");
	strcpy(req.marker, "0b7c5a57-3f4e-4c57-9d2b-5f1c8b9d2e01");
	assert_int_equal(ipc_request_format(b, &req), 0);
	line = drain(b);
	assert_string_equal(line,
	        "{\"op\":\"list\",\"router_id\":\"r1\","
	        "\"marker\":\"0b7c5a57-3f4e-4c57-9d2b-5f1c8b9d2e01\",\"limit\":2}\n");
	assert_int_equal(ipc_request_parse(line, strlen(line) - 1, &back, &error), 0);
	assert_memory_equal(&req, &back, sizeof(req));
	free(line);

	/* The monitor's lease: its holder and how long. */
	memset(&req, 0, sizeof(req));
	req.op = IPC_OP_LEASE;
	req.fields = IPC_FIELD_HOLDER | IPC_FIELD_TTL_MS;
	strcpy(req.holder, "net1.4242");
	req.ttl_ms = 1500;
	assert_int_equal(ipc_request_format(b, &req), 0);
	line = drain(b);
	assert_string_equal(line, "{\"op\":\"lease\",\"holder\":\"net1.4242\",\"ttl_ms\":1500}\n");
	assert_int_equal(ipc_request_parse(line, strlen(line) - 1, &back, &error), 0);
	assert_memory_equal(&req, &back, sizeof(req));
	free(line);
	evbuffer_free(b);
}

static void test_answers(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct ipc_answer ans;
	struct forwarding f[2], *got;
	size_t n;
	char *line, *error;

	assert_int_equal(ipc_answer_ok(b, true, 7), 0);
	assert_int_equal(ipc_answer_ok(b, false, 0), 0);
	assert_int_equal(ipc_answer_error(b, true, 8, "no \"such\" port"), 0);
	assert_int_equal(ipc_answer_ping(b, true, 1, "praas-pat-agent 0.1.0"), 0);
	assert_int_equal(ipc_answer_begin(b, true, 2), 0);
	evbuffer_add_printf(b, ",\"removed\":%d", 3);
	assert_int_equal(ipc_answer_end(b), 0);
	line = drain(b);
	assert_string_equal(line,
	        "{\"id\":7,\"ok\":true}\n"
	        "{\"ok\":true}\n"
	        "{\"id\":8,\"ok\":false,\"error\":\"no \\\"such\\\" port\"}\n"
	        "{\"id\":1,\"ok\":true,\"version\":4,\"agent\":\"praas-pat-agent "
	        "0.1.0\"}\n"
	        "{\"id\":2,\"ok\":true,\"removed\":3}\n");
	free(line);

	line = "{\"id\":8,\"ok\":false,\"error\":\"x\"}";
	assert_int_equal(ipc_answer_parse(line, strlen(line), &ans, &error), 0);
	assert_true(ans.has_id);
	assert_int_equal(ans.id, 8);
	assert_false(ans.ok);
	assert_string_equal(ans.error, "x");
	ipc_answer_clear(&ans);
	assert_int_equal(ipc_answer_parse("{\"id\":8}", 8, &ans, &error), -EINVAL);
	assert_non_null(strstr(error, "ok must be"));
	free(error);

	memset(f, 0, sizeof(f));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fwd_uuid_generate(f[i].id), 0);
		strcpy(f[i].router_id, "r1");
		f[i].protocol = 6;
		f[i].external = (struct port_range){(uint16_t)(4000 + i), (uint16_t)(4000 + i)};
		f[i].internal = (struct port_range){22, 22};
		addr_parse("10.0.0.9", &f[i].internal_addr);
	}
	assert_int_equal(ipc_answer_list(b, true, 3, f, 2, NULL), 0);
	line = drain(b);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	assert_int_equal(ipc_answer_parse(line, strlen(line) - 1, &ans, &error), 0);
	assert_int_equal(ipc_answer_forwardings(&ans, &got, &n, &error), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(got, f, sizeof(f));
	assert_null(ipc_answer_next_marker(&ans));
	assert_null(ipc_answer_drift(&ans));
	free(got);
	ipc_answer_clear(&ans);
	free(line);

	/* A verify answer says how the table drifted, or null. */
	assert_int_equal(ipc_answer_parse("{\"id\":5,\"ok\":true,\"changed\":2,\"drift\":\"chain "
	                                  "foo\"}",
	                         strlen("{\"id\":5,\"ok\":true,\"changed\":2,\"drift\":\"chain "
	                                "foo\"}"),
	                         &ans, &error),
	        0);
	assert_string_equal(ipc_answer_drift(&ans), "chain foo");
	ipc_answer_clear(&ans);
	assert_int_equal(ipc_answer_parse("{\"ok\":true,\"drift\":null}", 24, &ans, &error), 0);
	assert_null(ipc_answer_drift(&ans));
	ipc_answer_clear(&ans);

	/* A full page says where the next starts. */
	assert_int_equal(ipc_answer_list(b, true, 4, f, 1, f[0].id), 0);
	line = drain(b);
	assert_int_equal(ipc_answer_parse(line, strlen(line) - 1, &ans, &error), 0);
	assert_string_equal(ipc_answer_next_marker(&ans), f[0].id);
	assert_int_equal(ipc_answer_forwardings(&ans, &got, &n, &error), 0);
	assert_int_equal(n, 1);
	free(got);
	ipc_answer_clear(&ans);
	free(line);
	evbuffer_free(b);
}

/* ---- the client against a scripted server on a real socket ---- */

struct server {
	struct event_base *base;
	struct evconnlistener *lis;
	struct bufferevent *peer;
	char path[108];
	int mode; /* 0: answer in reverse order of pairs; 1: hang up; 2: stay silent */
	char *held;
	int64_t held_id;
};

struct client_log {
	int connects, hangups, answers, failures;
	int64_t last_id;
	char last_error[128];
	struct event_base *base;
	int stop_after;
};

static void server_read(struct bufferevent *bev, void *arg)
{
	struct server *s = arg;
	struct ipc_request req;
	size_t len;
	char *line, *error;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &len, EVBUFFER_EOL_LF))) {
		assert_int_equal(ipc_request_parse(line, len, &req, &error), 0);
		free(line);
		if (s->mode == 1) {
			bufferevent_free(bev);
			s->peer = NULL;
			return;
		}
		if (s->mode == 2)
			continue;
		if (!s->held) {
			/* Hold the first of each pair so answers come out of order. */
			s->held = strdup("held");
			s->held_id = req.id;
			continue;
		}
		ipc_answer_error(bufferevent_get_output(bev), true, req.id, "second");
		ipc_answer_ok(bufferevent_get_output(bev), true, s->held_id);
		free(s->held);
		s->held = NULL;
	}
}

static void server_event(struct bufferevent *bev, short what, void *arg)
{
	struct server *s = arg;

	bufferevent_free(bev);
	s->peer = NULL;
}

static void server_accept(
        struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct server *s = arg;

	s->peer = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->peer, server_read, NULL, server_event, s);
	bufferevent_enable(s->peer, EV_READ);
}

static void server_start(struct server *s)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	strcpy(sun.sun_path, s->path);
	unlink(s->path);
	s->lis = evconnlistener_new_bind(s->base, server_accept, s,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 8, (struct sockaddr *)&sun,
	        sizeof(sun));
	assert_non_null(s->lis);
}

static void server_stop(struct server *s)
{
	if (s->peer)
		bufferevent_free(s->peer);
	s->peer = NULL;
	if (s->lis)
		evconnlistener_free(s->lis);
	s->lis = NULL;
	free(s->held);
	s->held = NULL;
	unlink(s->path);
}

static void on_state(bool connected, void *arg)
{
	struct client_log *log = arg;

	if (connected)
		log->connects++;
	else
		log->hangups++;
	event_base_loopbreak(log->base);
}

static void on_answer(const struct ipc_answer *ans, const char *error, void *arg)
{
	struct client_log *log = arg;

	if (ans) {
		log->answers++;
		log->last_id = ans->id;
		snprintf(log->last_error, sizeof(log->last_error), "%s", ans->ok ? "" : ans->error);
	} else {
		log->failures++;
		snprintf(log->last_error, sizeof(log->last_error), "%s", error);
	}
	if (log->answers + log->failures >= log->stop_after)
		event_base_loopbreak(log->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs the loop until a callback breaks it or ms pass (no stale loopexit left behind). */
static void run(struct event_base *base, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *deadline = evtimer_new(base, on_deadline, base);

	assert_non_null(deadline);
	evtimer_add(deadline, &tv);
	event_base_dispatch(base);
	event_free(deadline);
}

static struct ipc_request ping(void)
{
	struct ipc_request r;

	memset(&r, 0, sizeof(r));
	r.op = IPC_OP_PING;
	return r;
}

static void test_client(void **state)
{
	struct server s = {0};
	struct client_log log = {0};
	struct ipc_client *c;
	struct ipc_request r1 = ping(), r2 = ping();

	s.base = log.base = event_base_new();
	assert_non_null(s.base);
	snprintf(s.path, sizeof(s.path), "/tmp/praas-test-ipc.%d.sock", getpid());
	server_start(&s);

	c = ipc_client_new(s.base, s.path, on_state, &log);
	assert_non_null(c);
	assert_false(ipc_client_connected(c));
	assert_int_equal(ipc_client_request(c, &r1, on_answer, &log), -ENOTCONN);
	run(s.base, 2000);
	assert_int_equal(log.connects, 1);
	assert_true(ipc_client_connected(c));

	/* Two requests answered in reverse order reach the right callbacks. */
	log.stop_after = 2;
	assert_int_equal(ipc_client_request(c, &r1, on_answer, &log), 0);
	assert_int_equal(ipc_client_request(c, &r2, on_answer, &log), 0);
	assert_int_not_equal(r1.id, r2.id);
	run(s.base, 2000);
	assert_int_equal(log.answers, 2);
	assert_int_equal(log.last_id, r1.id);
	assert_string_equal(log.last_error, "");

	/* A hangup fails what is pending, then the client reconnects. */
	s.mode = 1;
	log.stop_after = 3;
	assert_int_equal(ipc_client_request(c, &r1, on_answer, &log), 0);
	run(s.base, 2000);
	assert_int_equal(log.hangups, 1);
	run(s.base, 50); /* the failure is delivered from the loop */
	assert_int_equal(log.failures, 1);
	assert_string_equal(log.last_error, "peer closed the connection");
	run(s.base, 2000);
	assert_int_equal(log.connects, 2);

	/* With the server gone, it keeps retrying and comes back when it does. */
	server_stop(&s);
	s.mode = 0;
	if (ipc_client_connected(c)) {
		run(s.base, 2000);
		assert_int_equal(log.hangups, 2);
	}
	run(s.base, 400);
	assert_false(ipc_client_connected(c));
	server_start(&s);
	run(s.base, 6000);
	assert_int_equal(log.connects, 3);

	/* A silent server trips the answer timeout. */
	s.mode = 2;
	ipc_client_set_timeout(c, 200);
	log.stop_after = log.answers + log.failures + 1;
	assert_int_equal(ipc_client_request(c, &r1, on_answer, &log), 0);
	run(s.base, 3000);
	assert_int_equal(log.hangups, 3);
	run(s.base, 50); /* the failure is delivered from the loop */
	assert_int_equal(log.failures, 2);
	assert_string_equal(log.last_error, "no answer in time");

	/* Freeing fails what is pending, synchronously. */
	run(s.base, 1000);
	assert_true(ipc_client_connected(c));
	assert_int_equal(ipc_client_request(c, &r1, on_answer, &log), 0);
	ipc_client_free(c);
	assert_int_equal(log.failures, 3);
	assert_string_equal(log.last_error, "client closed");
	server_stop(&s);
	event_base_free(s.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_good),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_format_roundtrip),
	        cmocka_unit_test(test_answers),
	        cmocka_unit_test(test_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
