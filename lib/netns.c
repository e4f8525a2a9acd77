#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Sets *cause to "<what>: <strerror(-err)>" and returns err. */
static int netns_fail(char **cause, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int netns_fail(char **cause, int err, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	if (cause == NULL)
		return err;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (asprintf(cause, "%s: %s", what ? what : "netns", strerror(-err)) < 0)
		*cause = NULL;
	free(what);
	return err;
}

int netns_name_valid(const char *name)
{
	size_t len;

	if (name == NULL)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f)
			return -EINVAL;
	return 0;
}

/* Opens netns_dir/name for reading, refusing names that leave the directory. */
static int netns_open_file(const char *netns_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (netns_name_valid(name) < 0)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", netns_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* 1 when fd is a network namespace, 0 when it is something else. */
static int netns_fd_is_net(int fd)
{
	struct statfs sfs;
	int type;

	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if ((unsigned long)sfs.f_type != (unsigned long)NSFS_MAGIC)
		return 0;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return errno == ENOTTY ? 1 : -errno; /* kernels before 4.11 */
	return type == CLONE_NEWNET;
}

int netns_run_in(
        const char *netns_dir, const char *name, int (*fn)(void *arg), void *arg, char **cause)
{
	int target, saved, r;

	if (cause)
		*cause = NULL;
	if (name == NULL)
		return fn(arg);
	if (netns_name_valid(name) < 0)
		return netns_fail(cause, -EINVAL, "invalid namespace name");
	target = netns_open_file(netns_dir, name);
	if (target < 0)
		return netns_fail(cause, target, "open namespace %s/%s", netns_dir, name);
	if ((r = netns_fd_is_net(target)) <= 0) {
		close(target);
		return netns_fail(cause, r < 0 ? r : -EINVAL, "%s/%s is not a network namespace",
		        netns_dir, name);
	}
	/* setns() applies to the calling thread, hence thread-self. */
	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		r = -errno;
		close(target);
		return netns_fail(cause, r, "open own network namespace");
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		r = -errno;
		close(target);
		close(saved);
		return netns_fail(cause, r, "enter namespace %s", name);
	}
	close(target);
	r = fn(arg);
	if (setns(saved, CLONE_NEWNET) < 0)
		fatal("cannot return from network namespace %s", name);
	close(saved);
	log_debug("netns: ran in %s: %d", name, r);
	return r;
}

struct netns_open_args {
	int bus;
	struct mnl_socket *nl;
	const char *step;
};

/* Runs inside the namespace: opens and binds, nothing else. */
static int netns_open_cb(void *arg)
{
	struct netns_open_args *a = arg;
	int r;

	a->nl = mnl_socket_open2(a->bus, SOCK_CLOEXEC);
	if (a->nl == NULL) {
		a->step = "open netlink socket";
		return -errno;
	}
	if (mnl_socket_bind(a->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		a->step = "bind netlink socket";
		mnl_socket_close(a->nl);
		a->nl = NULL;
		return r;
	}
	return 0;
}

int netns_open_netlink(
        const char *netns_dir, const char *name, int bus, struct mnl_socket **out, char **cause)
{
	struct netns_open_args a = {.bus = bus};
	int r;

	*out = NULL;
	r = netns_run_in(netns_dir, name, netns_open_cb, &a, cause);
	if (r < 0) {
		if (cause && *cause == NULL)
			netns_fail(cause, r, "%s in namespace %s", a.step ? a.step : "open",
			        name ? name : "(current)");
		return r;
	}
	*out = a.nl;
	return 0;
}

int netns_check(const char *netns_dir, const char *name)
{
	int fd, r;

	fd = netns_open_file(netns_dir, name);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	r = netns_fd_is_net(fd);
	close(fd);
	return r;
}

int netns_identity(const char *netns_dir, const char *name, uint64_t *dev, uint64_t *ino)
{
	char path[PATH_MAX];
	struct stat st;

	if (netns_name_valid(name) < 0)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", netns_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return -errno;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

static int netns_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void netns_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int netns_list(const char *netns_dir, const char *prefix, char ***names, size_t *n)
{
	size_t plen = prefix ? strlen(prefix) : 0, cap = 0, cnt = 0;
	char **v = NULL, **nv;
	struct dirent *de;
	DIR *d;
	int r = 0;

	*names = NULL;
	*n = 0;
	d = opendir(netns_dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (netns_name_valid(de->d_name) < 0 ||
		        strncmp(de->d_name, prefix ? prefix : "", plen) != 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		if ((v[cnt] = strdup(de->d_name)) == NULL) {
			r = -ENOMEM;
			break;
		}
		cnt++;
		errno = 0;
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(d);
	if (r < 0) {
		netns_list_free(v, cnt);
		return r;
	}
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), netns_cmp);
	*names = v;
	*n = cnt;
	return 0;
}

/*
 * The pid holding a flock on the file st describes, from /proc/locks
 * ("1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"), or 0 if none is
 * listed (another pid namespace shows none).
 */
static pid_t netns_lock_holder(const struct stat *st)
{
	unsigned int maj, min;
	unsigned long ino;
	char line[256], kind[16];
	pid_t pid = 0;
	int holder;
	FILE *f;

	if ((f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), f) != NULL) {
		/* Waiters are listed as "1: -> FLOCK ...": the format skips them. */
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", kind, &holder, &maj, &min,
		            &ino) == 5 &&
		        strcmp(kind, "FLOCK") == 0 && maj == major(st->st_dev) &&
		        min == minor(st->st_dev) && ino == (unsigned long)st->st_ino && holder > 0)
			pid = holder;
	}
	fclose(f);
	return pid;
}

/* pid's command line, arguments joined by spaces, into buf (empty if unknown). */
static void netns_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
}

int netns_dir_lock(const char *netns_dir, int *fd, char **cause)
{
	char cmd[256];
	struct stat st;
	pid_t holder;
	int d, r;

	*fd = -1;
	if (cause)
		*cause = NULL;
	if (mkdir(netns_dir, 0755) < 0 && errno != EEXIST)
		return netns_fail(cause, -errno, "cannot make %s", netns_dir);
	d = open(netns_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return netns_fail(cause, -errno, "cannot open %s", netns_dir);
	if (flock(d, LOCK_EX | LOCK_NB) == 0) {
		*fd = d;
		return 0;
	}
	r = -errno;
	if (r != -EWOULDBLOCK || fstat(d, &st) < 0) {
		close(d);
		return netns_fail(cause, r, "cannot lock %s", netns_dir);
	}
	close(d);
	holder = netns_lock_holder(&st);
	if (holder > 0)
		netns_cmdline(holder, cmd, sizeof(cmd));
	if (cause && holder > 0 &&
	        asprintf(cause, "%s is in use by another agent: pid %d (%s)", netns_dir,
	                (int)holder, cmd[0] ? cmd : "command line unknown") < 0)
		*cause = NULL;
	else if (cause && holder <= 0 &&
	        asprintf(cause, "%s is in use by another agent (pid unknown: see /proc/locks)",
	                netns_dir) < 0)
		*cause = NULL;
	return -EBUSY;
}
