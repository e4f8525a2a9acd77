/*
 * nswatch with real namespaces: created after the watch starts, one is
 * reported within 100 ms, and a deleted one too. Runs `ip netns add/del`
 * on /run/netns (names unique to this run), then a private netns_dir that
 * does not exist when the watch starts, where namespaces are made the way
 * ip does it (an empty file first, the bind mount later). Everything runs
 * in a private mount namespace, so no mount outlives the test. TAP output;
 * exit 77 when not root.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nswatch.h"

extern char **environ;

#define LATENCY_MAX_MS 100

struct seen {
	struct event_base *base;
	char name[256];
	enum nswatch_event ev;
	int count;
	double at_ms;
	const char *stop_on; /* leave the loop when this name is reported */
};

static int ntest, nfail;
static char run_prefix[64], ns_a[96], ns_other[96], tmpdir[64], dir[128];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void check(int ok, const char *desc, const char *detail)
{
	ntest++;
	printf("%sok %d - %s\n", ok ? "" : "not ", ntest, desc);
	if (!ok) {
		nfail++;
		if (detail)
			printf("#   %s\n", detail);
	}
}

static void on_ns(const char *name, enum nswatch_event ev, void *arg)
{
	struct seen *s = arg;

	printf("# %s %s\n", ev == NSWATCH_ADDED ? "added" : "removed", name);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->ev = ev;
	s->count++;
	s->at_ms = now_ms();
	if (s->stop_on && strcmp(name, s->stop_on) == 0)
		event_base_loopbreak(s->base);
}

/* Runs the loop until s->stop_on is reported or ms pass. */
static void run_loop(struct seen *s, const char *stop_on, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	s->stop_on = stop_on;
	s->count = 0;
	s->name[0] = '\0';
	event_base_loopexit(s->base, &tv);
	event_base_dispatch(s->base);
}

/* Runs argv quietly (the exit status says enough); returns its exit code. */
static int run_cmd(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int ip_netns(const char *verb, const char *name)
{
	char *argv[] = {"ip", "netns", (char *)verb, (char *)name, NULL};

	return run_cmd(argv);
}

static void cleanup(void)
{
	char path[256];

	ip_netns("del", ns_a);
	ip_netns("del", ns_other);
	if (dir[0]) {
		const char *names[] = {"ns1", "ns2", "junk"};
		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			umount2(path, MNT_DETACH);
			unlink(path);
		}
		rmdir(dir);
	}
	if (tmpdir[0])
		rmdir(tmpdir);
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

/* Creates dir/name as ip does: an empty file, then the namespace mounted on it. */
static int make_file(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int mount_ns(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return mount("/proc/self/ns/net", path, "none", MS_BIND, NULL);
}

static int remove_ns(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return -1;
	return unlink(path);
}

static void expect(
        struct seen *s, const char *name, enum nswatch_event ev, double t0, const char *desc)
{
	char detail[512];
	double lat = s->at_ms - t0;
	int ok = s->count == 1 && strcmp(s->name, name) == 0 && s->ev == ev;

	snprintf(detail, sizeof(detail), "%d reports, last \"%s\" %s, %.1f ms", s->count, s->name,
	        s->ev == NSWATCH_ADDED ? "added" : "removed", lat);
	check(ok, desc, detail);
	if (ok) {
		snprintf(detail, sizeof(detail), "took %.1f ms", lat);
		check(lat < LATENCY_MAX_MS, "... within 100 ms", detail);
		printf("# latency %.1f ms\n", lat);
	}
}

static void test_ip_netns(struct seen *s)
{
	struct nswatch *w;
	char *cause = NULL;
	double t0;

	mkdir("/run/netns", 0755);
	if (nswatch_new(s->base, "/run/netns", run_prefix, true, on_ns, s, &w, &cause) < 0) {
		check(0, "watch /run/netns", cause);
		free(cause);
		return;
	}
	run_loop(s, NULL, 50);
	check(s->count == 0, "nothing of this run reported at start", s->name);

	t0 = now_ms();
	check(ip_netns("add", ns_a) == 0, "ip netns add", NULL);
	run_loop(s, ns_a, 1000);
	expect(s, ns_a, NSWATCH_ADDED, t0, "ip netns add is reported as added");

	check(ip_netns("add", ns_other) == 0, "ip netns add (other prefix)", NULL);
	run_loop(s, NULL, 200);
	check(s->count == 0, "a namespace outside the prefix is not reported", s->name);

	t0 = now_ms();
	check(ip_netns("del", ns_a) == 0, "ip netns del", NULL);
	run_loop(s, ns_a, 1000);
	expect(s, ns_a, NSWATCH_REMOVED, t0, "ip netns del is reported as removed");
	nswatch_free(w);
}

static void test_late_dir(struct seen *s)
{
	struct nswatch *w, *w2;
	char *cause = NULL;
	double t0;

	if (nswatch_new(s->base, dir, NULL, true, on_ns, s, &w, &cause) < 0) {
		check(0, "watch a directory that does not exist yet", cause);
		free(cause);
		return;
	}
	check(1, "watch a directory that does not exist yet", NULL);
	run_loop(s, NULL, 50);
	check(mkdir(dir, 0755) == 0 && make_file("ns1") == 0, "directory and empty file made",
	        strerror(errno));
	run_loop(s, NULL, 100);
	check(s->count == 0, "an empty file is not reported", s->name);
	t0 = now_ms();
	check(mount_ns("ns1") == 0, "namespace mounted on it", strerror(errno));
	run_loop(s, "ns1", 1000);
	expect(s, "ns1", NSWATCH_ADDED, t0, "reported once mounted");

	check(make_file("junk") == 0, "a file that never becomes a namespace", NULL);
	run_loop(s, NULL, 200);
	check(s->count == 0, "is not reported", s->name);

	/* A second watch started now reports what is already there. */
	if (nswatch_new(s->base, dir, NULL, true, on_ns, s, &w2, &cause) == 0) {
		run_loop(s, "ns1", 200);
		check(s->count == 1 && strcmp(s->name, "ns1") == 0,
		        "a new watch reports existing namespaces", s->name);
		nswatch_free(w2);
	} else {
		check(0, "second watch", cause);
		free(cause);
		cause = NULL;
	}
	/*
	 * One started without report_existing (the agent's, which restores what
	 * is there itself) reports none of it, but what comes after. Its reports
	 * are counted apart from the first watch's.
	 */
	struct seen q = {.base = s->base};
	if (nswatch_new(s->base, dir, NULL, false, on_ns, &q, &w2, &cause) == 0) {
		run_loop(&q, NULL, 200);
		check(q.count == 0, "a watch without report_existing does not report them", q.name);
		check(make_file("ns3") == 0 && mount_ns("ns3") == 0, "a namespace made later",
		        strerror(errno));
		run_loop(&q, "ns3", 1000);
		check(q.count == 1 && strcmp(q.name, "ns3") == 0 && q.ev == NSWATCH_ADDED,
		        "... is reported by it", q.name);
		nswatch_free(w2);
		check(remove_ns("ns3") == 0, "it is removed again", strerror(errno));
		run_loop(s, "ns3", 1000); /* the first watch's removal report */
	} else {
		check(0, "quiet watch", cause);
		free(cause);
		cause = NULL;
	}

	t0 = now_ms();
	check(remove_ns("ns1") == 0, "namespace unmounted and removed", strerror(errno));
	run_loop(s, "ns1", 1000);
	expect(s, "ns1", NSWATCH_REMOVED, t0, "reported as removed");

	/* The directory goes and comes back. */
	check(remove_ns("junk") == 0, "junk removed", strerror(errno));
	check(rmdir(dir) == 0, "directory removed", strerror(errno));
	run_loop(s, NULL, 50);
	check(mkdir(dir, 0755) == 0 && make_file("ns2") == 0 && mount_ns("ns2") == 0,
	        "directory made again with a namespace", strerror(errno));
	t0 = now_ms();
	run_loop(s, "ns2", 1000);
	check(s->count == 1 && strcmp(s->name, "ns2") == 0 && s->ev == NSWATCH_ADDED,
	        "a namespace in the recreated directory is reported", s->name);
	nswatch_free(w);
}

int main(void)
{
	struct seen s = {0};

	log_init("nswatch-test", getenv("PRAAS_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (network and mount namespaces)\n");
		return 77;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("1..0 # SKIP cannot make a private mount namespace: %s\n", strerror(errno));
		return 77;
	}
	snprintf(run_prefix, sizeof(run_prefix), "praasnsw-%d-", (int)getpid());
	snprintf(ns_a, sizeof(ns_a), "%sa", run_prefix);
	snprintf(ns_other, sizeof(ns_other), "praasnsw-%dx", (int)getpid());
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/nswatch-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/netns", tmpdir);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((s.base = event_base_new()) == NULL) {
		printf("Bail out! event_base_new\n");
		return 1;
	}
	test_ip_netns(&s);
	test_late_dir(&s);
	event_base_free(s.base);
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
