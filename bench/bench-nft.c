/*
 * bench-nft: figures for the rule engine, one "name value unit" line each.
 *
 *   nft_add_one_at_N       time to add one forwarding (one transaction) with
 *                          N (0, 10,000, 100,000) already in the table
 *   nft_resync_100000      a full resync of 100,000 forwardings
 *   tcp_conn_rate_at_N     new TCP connections per second through a namespace
 *                          router with N (0, 50,000) forwardings present
 *
 * Builds its own namespaces (client, router, server) with ip, all named
 * after the pid and removed at exit; takes about half a minute. Needs
 * root. Figures, not pass/fail: a map lookup should keep the last two flat.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nft.h"

#define CONN_SECONDS 2.0
#define ADD_SAMPLES  25

static char ns_cl[64], ns_rt[64], ns_sv[64];
static const char *gw = "203.0.113.1", *server = "10.99.0.2";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a setup command line; its failure ends the bench. */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r != 0)
		fatalx("bench setup failed: %s", cmd);
	return 0;
}

static void teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
	        "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; "
	        "ip netns del %s 2>/dev/null",
	        ns_cl, ns_rt, ns_sv);
	if (system(cmd) < 0)
		log_warn("teardown");
}

static void on_signal(int sig)
{
	teardown();
	_exit(128 + sig);
}

/* client 203.0.113.10 -- 203.0.113.1 router 10.99.0.1 -- 10.99.0.2 server */
static void setup(void)
{
	snprintf(ns_cl, sizeof(ns_cl), "praasbench-%d-cl", (int)getpid());
	snprintf(ns_rt, sizeof(ns_rt), "praasbench-%d-rt", (int)getpid());
	snprintf(ns_sv, sizeof(ns_sv), "praasbench-%d-sv", (int)getpid());
	atexit(teardown);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	sh("ip netns add %s && ip netns add %s && ip netns add %s", ns_cl, ns_rt, ns_sv);
	sh("ip -n %s link add qg type veth peer name eth0 netns %s", ns_rt, ns_cl);
	sh("ip -n %s link add qr type veth peer name eth0 netns %s", ns_rt, ns_sv);
	sh("ip -n %s addr add 203.0.113.1/24 dev qg && ip -n %s addr add 10.99.0.1/24 dev qr",
	        ns_rt, ns_rt);
	sh("ip -n %s addr add 203.0.113.10/24 dev eth0 && ip -n %s addr add 10.99.0.2/24 dev eth0",
	        ns_cl, ns_sv);
	sh("ip -n %s link set lo up && ip -n %s link set qg up && ip -n %s link set qr up", ns_rt,
	        ns_rt, ns_rt);
	sh("ip -n %s link set lo up && ip -n %s link set eth0 up", ns_cl, ns_cl);
	sh("ip -n %s link set lo up && ip -n %s link set eth0 up", ns_sv, ns_sv);
	sh("ip -n %s route add default via 10.99.0.1", ns_sv);
	sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", ns_rt);
	sh("ip netns exec %s sysctl -qw net.ipv4.ip_local_port_range='1024 65000'", ns_cl);
}

static void enter(const char *ns)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || setns(fd, CLONE_NEWNET) < 0)
		fatal("enter %s", ns);
	close(fd);
}

/* The forwarding the traffic uses, then n-1 others on other ports. */
static struct forwarding *make_fwds(size_t n)
{
	struct forwarding *v = calloc(n ? n : 1, sizeof(*v));

	if (v == NULL)
		fatal("calloc");
	for (size_t i = 0; i < n; i++) {
		struct forwarding *f = &v[i];
		char in[32];
		snprintf(f->id, sizeof(f->id), "f%zu", i);
		f->protocol = IPPROTO_TCP;
		addr_parse(gw, &f->external_addr);
		if (i == 0) {
			f->external.lo = f->external.hi = 8080;
			addr_parse(server, &f->internal_addr);
			f->internal.lo = f->internal.hi = 80;
			continue;
		}
		/* ports 10000-64999 on the gateway, then on the next address */
		snprintf(in, sizeof(in), "10.99.%zu.%zu", 1 + (i / 250) % 250, 3 + i % 250);
		if (i >= 55000)
			addr_parse("203.0.113.2", &f->external_addr);
		f->external.lo = f->external.hi = (uint16_t)(10000 + i % 55000);
		addr_parse(in, &f->internal_addr);
		f->internal.lo = f->internal.hi = 22;
	}
	return v;
}

static void must(int r, char *cause, const char *what)
{
	if (r < 0)
		fatalx("%s: %s", what, cause ? cause : strerror(-r));
	free(cause);
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median time of adding one forwarding (each removed again, untimed). */
static void bench_add_one(struct nft_conn *c, const struct nft_opts *o, size_t existing)
{
	struct forwarding *v = make_fwds(existing + 1), extra = v[0];
	double t[ADD_SAMPLES];
	char *cause = NULL;

	must(nft_sync(c, o, v + 1, existing, &cause), cause, "sync");
	cause = NULL;
	addr_parse("203.0.113.3", &extra.external_addr);
	for (int i = 0; i < ADD_SAMPLES; i++) {
		extra.external.lo = extra.external.hi = (uint16_t)(100 + i);
		double t0 = now_s();
		must(nft_apply(c, o, NULL, &extra, &cause), cause, "add");
		t[i] = now_s() - t0;
		cause = NULL;
		must(nft_apply(c, o, &extra, NULL, &cause), cause, "del");
		cause = NULL;
	}
	qsort(t, ADD_SAMPLES, sizeof(t[0]), dcmp);
	printf("nft_add_one_at_%zu %.3f ms\n", existing, t[ADD_SAMPLES / 2] * 1e3);
	fflush(stdout);
	free(v);
}

static void bench_resync(struct nft_conn *c, const struct nft_opts *o, size_t n)
{
	struct forwarding *v = make_fwds(n);
	char *cause = NULL;
	double t0;

	must(nft_sync(c, o, v, n, &cause), cause, "sync");
	cause = NULL;
	t0 = now_s();
	must(nft_sync(c, o, v, n, &cause), cause, "resync");
	printf("nft_resync_%zu %.1f ms\n", n, (now_s() - t0) * 1e3);
	fflush(stdout);
	free(v);
}

/* In the server namespace: accept and close, until killed. */
static pid_t start_server(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};
	int one = 1, fd;
	int ready[2];
	pid_t pid;

	if (pipe(ready) < 0)
		fatal("pipe");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		char b;
		close(ready[1]);
		if (read(ready[0], &b, 1) != 1)
			fatalx("server did not start");
		close(ready[0]);
		return pid;
	}
	enter(ns_sv);
	inet_pton(AF_INET, server, &sa.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
		fatal("server socket");
	if (write(ready[1], "r", 1) != 1)
		_exit(1);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

/* In the client namespace: connect, reset, count; for CONN_SECONDS. */
static double client_rate(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)};
	struct linger lg = {1, 0};
	long n = 0, failed = 0;
	double t0, end;

	enter(ns_cl);
	inet_pton(AF_INET, gw, &sa.sin_addr);
	t0 = now_s();
	end = t0 + CONN_SECONDS;
	while (now_s() < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			fatal("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			n++;
		else
			failed++;
		/* A reset, not a FIN: no TIME_WAIT piles up on the client. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	if (failed > n / 100)
		log_warnx("%ld of %ld connections failed", failed, n + failed);
	return (double)n / (now_s() - t0);
}

static void bench_conn_rate(struct nft_conn *c, const struct nft_opts *o, size_t present)
{
	struct forwarding *v = make_fwds(present + 1);
	char *cause = NULL;
	int p[2], st;
	double rate;
	pid_t pid;

	must(nft_sync(c, o, v, present + 1, &cause), cause, "sync");
	free(v);
	if (pipe(p) < 0 || (pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		rate = client_rate();
		if (write(p[1], &rate, sizeof(rate)) != sizeof(rate))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &rate, sizeof(rate)) != sizeof(rate))
		fatalx("client failed");
	close(p[0]);
	waitpid(pid, &st, 0);
	printf("tcp_conn_rate_at_%zu %.0f conn/s\n", present, rate);
	fflush(stdout);
}

int main(void)
{
	struct nft_opts o = {0};
	struct nft_conn *c;
	char *cause = NULL;
	pid_t server_pid;

	log_init("bench-nft", LOG_LEVEL_INFO);
	if (geteuid() != 0) {
		fprintf(stderr, "bench-nft: needs root (it builds network namespaces)\n");
		return 77;
	}
	setup();
	must(nft_open("/run/netns", ns_rt, &c, &cause), cause, "open");
	cause = NULL;
	bench_add_one(c, &o, 0);
	bench_add_one(c, &o, 10000);
	bench_add_one(c, &o, 100000);
	bench_resync(c, &o, 100000);
	server_pid = start_server();
	bench_conn_rate(c, &o, 0);
	bench_conn_rate(c, &o, 50000);
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	nft_close(c);
	return 0;
}
