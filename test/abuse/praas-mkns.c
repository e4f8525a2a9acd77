/*
 * praas-mkns: many bare network namespaces, fast, for the abuse tests.
 *
 *   praas-mkns DIR PREFIX FIRST COUNT
 *
 * Makes DIR/PREFIX<uuid> for uuid 00000000-0000-4000-8000-<n, 12 digits>,
 * n from FIRST to FIRST+COUNT-1, each a new network namespace bind-mounted
 * on its file, as `ip netns add` does, but in one process: a router-like
 * namespace per unshare(2) instead of a process per command, so 5,000 take
 * seconds. The namespaces are empty (loopback down): what the agent's
 * restore needs is a table to write, not interfaces. Prints the time taken.
 * Exits 0, or 1 with what failed; namespaces made before a failure stay
 * (the caller's cleanup unmounts DIR).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end != '\0' ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long first, count;
	char path[PATH_MAX];
	double started = now();
	int fd;

	if (argc != 5 || parse(argv[3], &first) < 0 || parse(argv[4], &count) < 0) {
		fprintf(stderr, "usage: praas-mkns DIR PREFIX FIRST COUNT\n");
		return 2;
	}
	for (unsigned long i = first; i < first + count; i++) {
		if (snprintf(path, sizeof(path), "%s/%s00000000-0000-4000-8000-%012lu", argv[1],
		            argv[2], i) >= (int)sizeof(path)) {
			fprintf(stderr, "praas-mkns: %s: path too long\n", argv[1]);
			return 1;
		}
		if ((fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) < 0) {
			fprintf(stderr, "praas-mkns: create %s: %s\n", path, strerror(errno));
			return 1;
		}
		close(fd);
		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "praas-mkns: unshare: %s\n", strerror(errno));
			unlink(path);
			return 1;
		}
		if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0) {
			fprintf(stderr, "praas-mkns: bind %s: %s\n", path, strerror(errno));
			unlink(path);
			return 1;
		}
	}
	printf("%lu namespaces in %.3f s\n", count, now() - started);
	return 0;
}
