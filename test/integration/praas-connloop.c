/*
 * praas-connloop: a test tool that opens TCP connections as fast as it can,
 * so a test can tell whether a forwarding ever refused one.
 *
 *   praas-connloop listen PORT          accept and close, until killed
 *   praas-connloop connect ADDR PORT    connect again and again until
 *                                       SIGTERM, then print "OK FAILED"
 *
 * Each failed attempt is one line on stderr: "FAIL <epoch seconds> <why>".
 * A connection counts once the handshake completes; it is then reset
 * (SO_LINGER 0) so thousands a second do not exhaust the client's ports in
 * TIME_WAIT. The shell loops of topo.sh manage about a hundred connections
 * a second; a race that loses one connection in tens of thousands needs
 * this rate to show.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 2000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool stop_pending(void)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return true;
	return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "praas-connloop: bad port \"%s\"\n", s);
		return -1;
	}
	return (int)v;
}

static int parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	fprintf(stderr, "praas-connloop: bad address \"%s\"\n", s);
	return -1;
}

static void report_failure(const char *why)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		ts = (struct timespec){0};
	fprintf(stderr, "FAIL %lld.%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, why);
}

/*
 * One attempt: 0 when the handshake completed, -errno (-ETIMEDOUT) when it
 * failed, 1 when a stop signal came first. SIGTERM is blocked but while
 * ppoll waits, so a stop is never lost between the test and the wait.
 */
static int attempt(const struct sockaddr_storage *ss, socklen_t len, const sigset_t *waitmask)
{
	const struct timespec timeout = {.tv_sec = CONNECT_TIMEOUT_MS / 1000,
	        .tv_nsec = (CONNECT_TIMEOUT_MS % 1000) * 1000000L};
	struct linger reset = {.l_onoff = 1, .l_linger = 0};
	struct pollfd p = {.events = POLLOUT};
	socklen_t elen = sizeof(int);
	int fd, err = 0, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	p.fd = fd;
	r = ppoll(&p, 1, &timeout, waitmask);
	if (r < 0)
		err = errno == EINTR ? 1 : -errno; /* stopped: not an attempt */
	else if (r == 0)
		err = -ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = -errno;
	else
		err = -err;
out:
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) < 0 && err == 0)
		err = -errno;
	close(fd);
	return err;
}

static int run_connect(const char *addr, const char *port_s)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t stops, waitmask;
	struct sockaddr_storage ss;
	unsigned long ok = 0, failed = 0;
	socklen_t len;
	int port;

	if ((port = parse_port(port_s)) < 0 || parse_addr(addr, port, &ss, &len) < 0)
		return 2;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	        sigprocmask(SIG_BLOCK, &stops, &waitmask) < 0) {
		perror("praas-connloop: signals");
		return 1;
	}
	/*
	 * A ppoll that finds the socket ready at once leaves a pending stop
	 * blocked, so it is looked for before each attempt too.
	 */
	while (!stop && !stop_pending()) {
		int r = attempt(&ss, len, &waitmask);
		if (r == 0) {
			ok++;
		} else if (r < 0) {
			failed++;
			report_failure(strerror(-r));
		}
	}
	printf("%lu %lu\n", ok, failed);
	return 0;
}

static int run_listen(const char *port_s)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	int fd, port, one = 1, zero = 0;

	if ((port = parse_port(port_s)) < 0)
		return 2;
	in6.sin6_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	        bind(fd, (struct sockaddr *)&in6, sizeof(in6)) < 0 || listen(fd, 4096) < 0) {
		perror("praas-connloop: listen");
		return 1;
	}
	/* Until killed: SIGTERM keeps its default action here. */
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED)
			perror("praas-connloop: accept");
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "listen") == 0)
		return run_listen(argv[2]);
	if (argc == 4 && strcmp(argv[1], "connect") == 0)
		return run_connect(argv[2], argv[3]);
	fprintf(stderr, "usage: praas-connloop listen PORT | connect ADDR PORT\n");
	return 2;
}
