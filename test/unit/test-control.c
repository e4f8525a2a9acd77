/*
 * The control socket server with real sockets: modes, peers of another uid,
 * good and bad requests, async answers, caps, stale sockets, EMFILE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/*
 * cmocka 1.1.5 prints a skip as "not ok # SKIP", which meson's TAP reader
 * counts as a failure: say why and pass instead.
 */
#define SKIP(why)                                                                                  \
	do {                                                                                       \
		print_message("skipped: %s\n", why);                                               \
		return;                                                                            \
	} while (0)

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ipc.h"

struct fixture {
	char dir[64];
	char path[128];
	struct event_base *base;
	struct control *ctl;
};

static struct control_reply *held; /* port_deleted answers later */

static void h_list(struct control_reply *r, const struct ipc_request *req, void *arg)
{
	struct forwarding f;

	memset(&f, 0, sizeof(f));
	strcpy(f.id, "01234567-89ab-4def-8123-456789abcdef");
	strcpy(f.router_id, "r1");
	f.protocol = 6;
	f.external = (struct port_range){4022, 4022};
	f.internal = (struct port_range){22, 22};
	addr_parse("10.0.0.5", &f.internal_addr);
	control_reply_list(r, &f, 1, NULL);
}

static void h_port_deleted(struct control_reply *r, const struct ipc_request *req, void *arg)
{
	held = r;
}

static void h_router_deleted(struct control_reply *r, const struct ipc_request *req, void *arg)
{
	control_reply_ok_members(r, ",\"removed\":2");
}

static void h_gateway_changed(struct control_reply *r, const struct ipc_request *req, void *arg)
{
	control_reply_error(r, "no such router %s", req->router_id);
}

static void h_verify(struct control_reply *r, const struct ipc_request *req, void *arg)
{
	control_reply_ok_members(r, ",\"changed\":0,\"drift\":null");
}

static const struct control_handlers handlers = {
        .by_op[IPC_OP_LIST] = h_list,
        .by_op[IPC_OP_PORT_DELETED] = h_port_deleted,
        .by_op[IPC_OP_ROUTER_DELETED] = h_router_deleted,
        .by_op[IPC_OP_GATEWAY_CHANGED] = h_gateway_changed,
        .by_op[IPC_OP_VERIFY] = h_verify,
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *cause = NULL;

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/praas-test-control.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(chmod(fx->dir, 0755), 0);
	snprintf(fx->path, sizeof(fx->path), "%s/pat-agent.sock", fx->dir);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	if (control_open(fx->base, fx->path, "praas-pat-agent test", &handlers, &fx->ctl, &cause) <
	        0)
		fail_msg("control_open: %s", cause);
	held = NULL;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	control_close(fx->ctl);
	event_base_free(fx->base);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct fixture *fx)
{
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

static int peer(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

/* Writes all of data while the server runs. */
static void send_all(struct fixture *fx, int fd, const char *data, size_t len)
{
	long deadline = now_ms() + 5000;

	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			return; /* the server may close on us: that is for the caller to check */
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
		pump(fx);
		if (now_ms() > deadline)
			fail_msg("send timed out");
	}
}

static void send_str(struct fixture *fx, int fd, const char *s)
{
	send_all(fx, fd, s, strlen(s));
}

/* Reads one line (without newline) while the server runs; NULL on EOF or timeout. */
static char *read_line(struct fixture *fx, int fd, int timeout_ms)
{
	static char buf[1 << 20];
	size_t len = 0;
	long deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		pump(fx);
		if (poll(&p, 1, 5) <= 0)
			continue;
		n = recv(fd, buf + len, 1, 0); /* a byte at a time: leave later lines unread */
		if (n == 0)
			return NULL;
		if (n < 0)
			continue;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return strdup(buf);
		}
		if (++len >= sizeof(buf) - 1)
			fail_msg("answer too long");
	}
	return NULL;
}

static char *ask(struct fixture *fx, int fd, const char *line)
{
	send_all(fx, fd, line, strlen(line));
	return read_line(fx, fd, 3000);
}

static void expect_answer(struct fixture *fx, int fd, const char *request, const char *want)
{
	char *got = ask(fx, fd, request);

	if (got == NULL)
		fail_msg("%s: no answer", request);
	if (strcmp(got, want) != 0)
		fail_msg("%s: answer %s, want %s", request, got, want);
	free(got);
}

static void expect_contains(struct fixture *fx, int fd, const char *request, const char *want)
{
	char *got = ask(fx, fd, request);

	if (got == NULL)
		fail_msg("%s: no answer", request);
	if (strstr(got, want) == NULL)
		fail_msg("%s: answer %s lacks %s", request, got, want);
	free(got);
}

static bool peer_closed(struct fixture *fx, int fd)
{
	return read_line(fx, fd, 3000) == NULL;
}

static void test_mode_and_ping(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	int fd;

	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = peer(fx->path);
	expect_answer(fx, fd, "{\"id\":1,\"op\":\"ping\"}\n",
	        "{\"id\":1,\"ok\":true,\"version\":4,\"agent\":\"praas-pat-agent test\"}");
	close(fd);
}

static void test_requests(void **state)
{
	struct fixture *fx = *state;
	int fd = peer(fx->path);

	expect_contains(fx, fd, "{\"id\":2,\"op\":\"list\"}\n",
	        "{\"id\":2,\"ok\":true,\"forwardings\":[{\"id\":\"01234567-89ab-4def-8123-");
	expect_answer(fx, fd, "{\"id\":3,\"op\":\"router_deleted\",\"router_id\":\"r1\"}\r\n",
	        "{\"id\":3,\"ok\":true,\"removed\":2}");
	expect_answer(fx, fd,
	        "{\"id\":4,\"op\":\"gateway_changed\",\"router_id\":\"r9\",\"new_ip\":\"203.0.113."
	        "7\"}\n",
	        "{\"id\":4,\"ok\":false,\"error\":\"no such router r9\"}");
	expect_answer(fx, fd, "{\"id\":5,\"op\":\"resync\"}\n",
	        "{\"id\":5,\"ok\":false,\"error\":\"op: not supported by this agent\"}");
	/* verify reaches its handler (and needs a router) */
	expect_answer(fx, fd, "{\"id\":51,\"op\":\"verify\",\"router_id\":\"r1\"}\n",
	        "{\"id\":51,\"ok\":true,\"changed\":0,\"drift\":null}");
	expect_contains(fx, fd, "{\"id\":6,\"op\":\"reboot\"}\n",
	        "{\"id\":6,\"ok\":false,\"error\":\"op: unknown");
	expect_answer(fx, fd, "{\"id\":7,\"op\":\"port_deleted\"}\n",
	        "{\"id\":7,\"ok\":false,\"error\":\"port_id: is required by op port_deleted\"}");
	expect_contains(fx, fd, "{\"id\":8,\"op\":\n",
	        "{\"ok\":false,\"error\":\"request: is not valid JSON");
	expect_answer(fx, fd, "{\"op\":\"router_deleted\",\"router_id\":\"r1\"}\n",
	        "{\"ok\":true,\"removed\":2}");
	/* A long but legal line: padded to exactly the cap. */
	char *big = malloc(IPC_LINE_MAX + 2);
	const char *req = "{\"id\":9,\"op\":\"ping\"}";
	memset(big, ' ', IPC_LINE_MAX);
	memcpy(big, req, strlen(req));
	big[IPC_LINE_MAX] = '\n';
	big[IPC_LINE_MAX + 1] = '\0';
	expect_contains(fx, fd, big, "{\"id\":9,\"ok\":true");
	free(big);
	close(fd);
}

static void test_async_and_pipeline(void **state)
{
	struct fixture *fx = *state;
	int fd = peer(fx->path);
	char *a;
	pid_t pid;
	uid_t uid;

	/* Two requests in one write; the second waits for the first's late answer. */
	send_str(fx, fd,
	        "{\"id\":10,\"op\":\"port_deleted\",\"port_id\":\"p1\"}\n{\"id\":11,\"op\":"
	        "\"ping\"}\n");
	a = read_line(fx, fd, 300);
	assert_null(a);
	assert_non_null(held);
	control_reply_peer(held, &pid, &uid);
	assert_int_equal(pid, getpid());
	assert_int_equal(uid, 0);
	control_reply_ok_members(held, ",\"removed\":1");
	held = NULL;
	a = read_line(fx, fd, 3000);
	assert_string_equal(a, "{\"id\":10,\"ok\":true,\"removed\":1}");
	free(a);
	a = read_line(fx, fd, 3000);
	assert_non_null(a);
	assert_non_null(strstr(a, "{\"id\":11,\"ok\":true"));
	free(a);

	/*
	 * The peer leaves while its answer is being worked on. A close looks
	 * like a half-close until the answer cannot be written; then the peer
	 * is reaped, and the answer was harmless.
	 */
	send_str(fx, fd, "{\"id\":12,\"op\":\"port_deleted\",\"port_id\":\"p2\"}\n");
	for (long t = now_ms(); held == NULL && now_ms() - t < 3000;)
		pump(fx);
	assert_non_null(held);
	close(fd);
	for (long t = now_ms(); now_ms() - t < 100;)
		pump(fx);
	control_reply_error(held, "too late");
	held = NULL;
	for (long t = now_ms(); control_peer_count(fx->ctl) > 0 && now_ms() - t < 3000;)
		pump(fx);
	assert_int_equal(control_peer_count(fx->ctl), 0);

	/* Once the server is closed, a held handle says its peer is gone. */
	fd = peer(fx->path);
	send_str(fx, fd, "{\"id\":13,\"op\":\"port_deleted\",\"port_id\":\"p3\"}\n");
	for (long t = now_ms(); held == NULL && now_ms() - t < 3000;)
		pump(fx);
	assert_non_null(held);
	assert_false(control_reply_peer_gone(held));
	control_close(fx->ctl);
	fx->ctl = NULL;
	assert_true(control_reply_peer_gone(held));
	control_reply_ok(held);
	held = NULL;
	close(fd);
}

static void test_half_close(void **state)
{
	struct fixture *fx = *state;
	int fd = peer(fx->path);
	char *a;

	/* Like `socat - UNIX-CONNECT:...`: send, shut the sending side, read the answers. */
	send_str(fx, fd,
	        "{\"id\":1,\"op\":\"port_deleted\",\"port_id\":\"p1\"}\n{\"id\":2,\"op\":\"ping\"}"
	        "\n");
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	for (long t = now_ms(); held == NULL && now_ms() - t < 3000;)
		pump(fx);
	assert_non_null(held);
	assert_int_equal(control_peer_count(fx->ctl), 1);
	control_reply_ok(held);
	held = NULL;
	a = read_line(fx, fd, 3000);
	assert_string_equal(a, "{\"id\":1,\"ok\":true}");
	free(a);
	a = read_line(fx, fd, 3000);
	assert_non_null(a);
	assert_non_null(strstr(a, "{\"id\":2,\"ok\":true"));
	free(a);
	assert_true(peer_closed(fx, fd));
	close(fd);
	for (long t = now_ms(); control_peer_count(fx->ctl) > 0 && now_ms() - t < 3000;)
		pump(fx);
	assert_int_equal(control_peer_count(fx->ctl), 0);
}

static void test_long_line(void **state)
{
	struct fixture *fx = *state;
	int fd = peer(fx->path);
	size_t n = IPC_LINE_MAX + 4096;
	char *junk = malloc(n);

	memset(junk, 'a', n);
	send_all(fx, fd, junk, n);
	free(junk);
	char *a = read_line(fx, fd, 3000);
	assert_non_null(a);
	assert_non_null(strstr(a, "longer than 65536"));
	free(a);
	assert_true(peer_closed(fx, fd));
	close(fd);
}

static void test_garbage(void **state)
{
	struct fixture *fx = *state;
	int fd = peer(fx->path);
	char *a;

	for (int i = 0; i < CONTROL_MAX_BAD; i++)
		expect_contains(fx, fd, "garbage\n", "\"ok\":false");
	a = read_line(fx, fd, 3000);
	assert_non_null(a);
	assert_non_null(strstr(a, "too many malformed"));
	free(a);
	assert_true(peer_closed(fx, fd));
	close(fd);
}

static void test_max_conns(void **state)
{
	struct fixture *fx = *state;
	int fds[CONTROL_MAX_CONNS], extra;
	char *a;

	for (int i = 0; i < CONTROL_MAX_CONNS; i++) {
		fds[i] = peer(fx->path);
		expect_contains(fx, fds[i], "{\"op\":\"ping\"}\n", "\"ok\":true");
	}
	assert_int_equal(control_peer_count(fx->ctl), CONTROL_MAX_CONNS);
	extra = peer(fx->path);
	a = read_line(fx, extra, 3000);
	assert_non_null(a);
	assert_string_equal(a, "{\"ok\":false,\"error\":\"too many connections\"}");
	free(a);
	assert_true(peer_closed(fx, extra));
	close(extra);
	for (int i = 0; i < CONTROL_MAX_CONNS; i++)
		close(fds[i]);
}

/* Runs fn in a child as uid/gid 65534, serving the socket meanwhile. */
static int as_nobody(struct fixture *fx, int (*fn)(const char *path))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		_exit(fn(fx->path));
	}
	for (long t = now_ms(); now_ms() - t < 5000;) {
		pump(fx);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 97;
}

/* 0 when the connection is refused by the file mode. */
static int nobody_connect_denied(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 1;
	return errno == EACCES ? 0 : 2;
}

/* 0 when the server answers "permission denied" and closes. */
static int nobody_refused(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[256];
	ssize_t n, total = 0;

	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return 3;
	if (write(fd, "{\"op\":\"list\"}\n", 14) < 0 && errno != EPIPE && errno != ECONNRESET)
		return 4;
	while ((n = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
		total += n;
	buf[total] = '\0';
	return strcmp(buf, "{\"ok\":false,\"error\":\"permission denied\"}\n") == 0 ? 0 : 5;
}

static void test_other_uid(void **state)
{
	struct fixture *fx = *state;

	if (getuid() != 0)
		SKIP("needs root to switch to uid 65534");
	signal(SIGPIPE, SIG_IGN);
	/* The 0600 mode keeps another uid out at connect()... */
	assert_int_equal(as_nobody(fx, nobody_connect_denied), 0);
	/* ...and if the mode were wider, SO_PEERCRED still would. */
	assert_int_equal(chmod(fx->path, 0666), 0);
	assert_int_equal(as_nobody(fx, nobody_refused), 0);
	assert_int_equal(control_peer_count(fx->ctl), 0);
}

static void test_stale_and_busy(void **state)
{
	struct fixture *fx = *state;
	struct control *second = NULL;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *cause = NULL;
	int fd;

	/* A live agent on the path: refuse, and leave its socket alone. */
	assert_int_equal(
	        control_open(fx->base, fx->path, "x", &handlers, &second, &cause), -EADDRINUSE);
	assert_non_null(strstr(cause, "another agent is listening"));
	free(cause);
	assert_null(second);
	fd = peer(fx->path);
	expect_contains(fx, fd, "{\"op\":\"ping\"}\n", "\"ok\":true");
	close(fd);

	/* Closing removes the file. */
	control_close(fx->ctl);
	fx->ctl = NULL;
	assert_int_equal(access(fx->path, F_OK), -1);

	/* A stale socket (no listener) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, fx->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(control_open(fx->base, fx->path, "x", &handlers, &fx->ctl, &cause), 0);
	control_close(fx->ctl);
	fx->ctl = NULL;

	/* Something that is not a socket is left alone. */
	fd = open(fx->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(
	        control_open(fx->base, fx->path, "x", &handlers, &second, &cause), -EEXIST);
	assert_non_null(strstr(cause, "not a socket"));
	free(cause);
	assert_int_equal(access(fx->path, F_OK), 0);
	unlink(fx->path);

	/* A path too long for sun_path. */
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[199] = '\0';
	assert_int_equal(
	        control_open(fx->base, longpath, "x", &handlers, &second, &cause), -ENAMETOOLONG);
	free(cause);
	assert_int_equal(control_open(fx->base, fx->path, "x", &handlers, &fx->ctl, &cause), 0);
}

static void on_ping(const struct ipc_answer *ans, const char *error, void *arg)
{
	int *got = arg;

	*got = ans && ans->ok ? 1 : -1;
}

static void test_ipc_client(void **state)
{
	struct fixture *fx = *state;
	struct ipc_client *c = ipc_client_new(fx->base, fx->path, NULL, NULL);
	struct ipc_request req = {.op = IPC_OP_PING};
	int got = 0;

	assert_non_null(c);
	for (long t = now_ms(); !ipc_client_connected(c) && now_ms() - t < 3000;)
		pump(fx);
	assert_true(ipc_client_connected(c));
	assert_int_equal(ipc_client_request(c, &req, on_ping, &got), 0);
	for (long t = now_ms(); got == 0 && now_ms() - t < 3000;)
		pump(fx);
	assert_int_equal(got, 1);
	ipc_client_free(c);
}

static int ping_once(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[256];
	ssize_t n;

	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return 3;
	if (write(fd, "{\"op\":\"ping\"}\n", 14) != 14)
		return 4;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 5;
	buf[n] = '\0';
	return strstr(buf, "\"ok\":true") ? 0 : 6;
}

static void test_emfile_backoff(void **state)
{
	struct fixture *fx = *state;
	struct rlimit old, low;
	int fds[256], n = 0, status;
	pid_t pid;
	long t0;
	const char *preload = getenv("LD_PRELOAD");

	/* Valgrind keeps descriptors of its own above the limit we set: not this test's world. */
	if (preload != NULL && strstr(preload, "vgpreload") != NULL)
		SKIP("valgrind keeps descriptors above the limit");
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 128;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Use up every descriptor, so the server's accept() fails with EMFILE. */
	while (n < 256 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	assert_int_equal(errno, EMFILE);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		_exit(ping_once(fx->path));
	}
	/* The listener pauses instead of spinning; the peer waits in the backlog. */
	t0 = now_ms();
	while (now_ms() - t0 < 300)
		pump(fx);
	assert_int_equal(control_peer_count(fx->ctl), 0);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	while (waitpid(pid, &status, WNOHANG) == 0 && now_ms() - t0 < 5000) {
		pump(fx);
		usleep(1000);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(now_ms() - t0 >= 900); /* answered only after the one-second pause */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_mode_and_ping, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_async_and_pipeline, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_max_conns, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_other_uid, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_and_busy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ipc_client, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_emfile_backoff, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
