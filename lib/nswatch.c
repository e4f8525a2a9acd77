#include "nswatch.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "array-grow.h"
#include "log.h"
#include "netns.h"

#define NSWATCH_POLL_MS     10
#define NSWATCH_PATIENCE_MS 5000
#define NSWATCH_DIR_EVENTS                                                                         \
	(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |     \
	        IN_ONLYDIR)

struct nswatch_name {
	char *name;
	int64_t deadline; /* pending names: give up after this (ms) */
};

struct nswatch_list {
	struct nswatch_name *v;
	size_t n, cap;
};

struct nswatch {
	char *dir, *parent, *base_name, *prefix;
	nswatch_cb cb;
	void *arg;
	int fd;
	int dir_wd, parent_wd;
	struct event *ev_inotify, *ev_timer, *ev_start;
	struct nswatch_list known;   /* reported as added */
	struct nswatch_list pending; /* seen, not yet a usable namespace */
	bool quiet;                  /* adopting what is there at the start, unreported */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t list_find(const struct nswatch_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static int list_add(struct nswatch_list *l, const char *name, int64_t deadline)
{
	if (list_find(l, name) >= 0)
		return 0;
	struct nswatch_name *v = array_grow(l->v, &l->cap, l->n, sizeof(*v), 8);

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	if ((l->v[l->n].name = strdup(name)) == NULL)
		return -ENOMEM;
	l->v[l->n++].deadline = deadline;
	return 0;
}

static void list_del_at(struct nswatch_list *l, size_t i)
{
	free(l->v[i].name);
	l->v[i] = l->v[--l->n];
}

static bool list_del(struct nswatch_list *l, const char *name)
{
	ssize_t i = list_find(l, name);

	if (i < 0)
		return false;
	list_del_at(l, (size_t)i);
	return true;
}

static void list_clear(struct nswatch_list *l)
{
	while (l->n > 0)
		list_del_at(l, l->n - 1);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

static bool nswatch_wanted(const struct nswatch *w, const char *name)
{
	return netns_name_valid(name) == 0 && strncmp(name, w->prefix, strlen(w->prefix)) == 0;
}

static void nswatch_arm_timer(struct nswatch *w)
{
	struct timeval tv = {0, NSWATCH_POLL_MS * 1000};

	if (w->pending.n > 0 && !evtimer_pending(w->ev_timer, NULL))
		evtimer_add(w->ev_timer, &tv);
}

/* Reports pending names that became namespaces; forgets the hopeless. */
static void nswatch_check_pending(struct nswatch *w)
{
	int64_t now = now_ms();
	size_t i = 0;

	while (i < w->pending.n) {
		char *name = w->pending.v[i].name;
		int r = netns_check(w->dir, name);
		if (r == 1) {
			if (list_add(&w->known, name, 0) < 0) {
				i++;
				continue; /* out of memory: try again next tick */
			}
			log_debug("nswatch: %s %s", name, w->quiet ? "there at start" : "added");
			if (!w->quiet)
				w->cb(name, NSWATCH_ADDED, w->arg);
			list_del_at(&w->pending, i); /* by index: O(1), the next one moves here */
		} else if (now > w->pending.v[i].deadline) {
			log_debug("nswatch: %s never became a network namespace", name);
			list_del_at(&w->pending, i);
		} else {
			i++;
		}
	}
	nswatch_arm_timer(w);
}

static void nswatch_seen(struct nswatch *w, const char *name)
{
	if (!nswatch_wanted(w, name) || list_find(&w->known, name) >= 0)
		return;
	if (list_add(&w->pending, name, now_ms() + NSWATCH_PATIENCE_MS) < 0)
		log_debug("nswatch: out of memory for %s", name);
}

static void nswatch_gone(struct nswatch *w, const char *name)
{
	list_del(&w->pending, name);
	if (list_del(&w->known, name)) {
		log_debug("nswatch: %s removed", name);
		w->cb(name, NSWATCH_REMOVED, w->arg);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares the directory with what we know: the start, and after an overflow. */
static void nswatch_rescan(struct nswatch *w)
{
	char **names;
	size_t n, i = 0;

	if (netns_list(w->dir, w->prefix, &names, &n) < 0) {
		log_debug("nswatch: cannot list %s", w->dir);
		return;
	}
	while (i < w->known.n) {
		/* names is sorted: thousands of routers cost n log n here, not n^2. */
		const char *key = w->known.v[i].name;
		if (n > 0 && bsearch(&key, names, n, sizeof(*names), name_cmp) != NULL) {
			i++;
		} else {
			char *gone = strdup(w->known.v[i].name);
			list_del_at(&w->known, i);
			if (gone)
				w->cb(gone, NSWATCH_REMOVED, w->arg);
			free(gone);
		}
	}
	for (size_t j = 0; j < n; j++)
		nswatch_seen(w, names[j]);
	netns_list_free(names, n);
	nswatch_check_pending(w);
}

/* Watches the directory, or its parent while it does not exist. */
static int nswatch_attach(struct nswatch *w)
{
	for (;;) {
		w->dir_wd = inotify_add_watch(w->fd, w->dir, NSWATCH_DIR_EVENTS);
		if (w->dir_wd >= 0) {
			if (w->parent_wd >= 0)
				inotify_rm_watch(w->fd, w->parent_wd);
			w->parent_wd = -1;
			nswatch_rescan(w);
			return 0;
		}
		if (errno != ENOENT)
			return -errno;
		if (w->parent_wd < 0) {
			w->parent_wd = inotify_add_watch(
			        w->fd, w->parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
			if (w->parent_wd < 0)
				return -errno;
			continue; /* it may have appeared meanwhile */
		}
		return 0;
	}
}

static void nswatch_dir_lost(struct nswatch *w)
{
	log_debug("nswatch: %s went away", w->dir);
	w->dir_wd = -1;
	while (w->known.n > 0) {
		char *name = strdup(w->known.v[0].name);
		list_del_at(&w->known, 0);
		if (name)
			w->cb(name, NSWATCH_REMOVED, w->arg);
		free(name);
	}
	while (w->pending.n > 0)
		list_del_at(&w->pending, 0);
	if (nswatch_attach(w) < 0)
		log_debug("nswatch: cannot watch %s again", w->dir);
}

static void nswatch_event(struct nswatch *w, const struct inotify_event *e)
{
	const char *name = e->len ? e->name : "";

	if (e->mask & IN_Q_OVERFLOW) {
		nswatch_rescan(w);
	} else if (e->wd == w->parent_wd && w->parent_wd >= 0) {
		if (strcmp(name, w->base_name) == 0 && nswatch_attach(w) < 0)
			log_debug("nswatch: cannot watch %s", w->dir);
	} else if (e->wd == w->dir_wd && w->dir_wd >= 0) {
		if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
			nswatch_dir_lost(w);
		else if (e->mask & (IN_CREATE | IN_MOVED_TO))
			nswatch_seen(w, name);
		else if (e->mask & (IN_DELETE | IN_MOVED_FROM))
			nswatch_gone(w, name);
	}
}

static void nswatch_on_inotify(evutil_socket_t fd, short what, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct nswatch *w = arg;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN: all read */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			nswatch_event(w, e);
			p += sizeof(*e) + e->len;
		}
	}
	nswatch_check_pending(w);
}

static void nswatch_on_timer(evutil_socket_t fd, short what, void *arg)
{
	nswatch_check_pending(arg);
}

static void nswatch_on_start(evutil_socket_t fd, short what, void *arg)
{
	struct nswatch *w = arg;

	if (w->dir_wd >= 0)
		nswatch_rescan(w);
}

static int nswatch_fail(char **cause, int err, const char *what, const char *dir)
{
	if (cause && asprintf(cause, "%s %s: %s", what, dir, strerror(-err)) < 0)
		*cause = NULL;
	return err;
}

int nswatch_new(struct event_base *base, const char *netns_dir, const char *prefix,
        bool report_existing, nswatch_cb cb, void *arg, struct nswatch **out, char **cause)
{
	struct timeval zero = {0, 0};
	struct nswatch *w;
	char *tmp;
	int r = -ENOMEM;

	if (cause)
		*cause = NULL;
	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return nswatch_fail(cause, -ENOMEM, "watch", netns_dir);
	w->fd = w->dir_wd = w->parent_wd = -1;
	w->cb = cb;
	w->arg = arg;
	w->dir = strdup(netns_dir);
	w->prefix = strdup(prefix ? prefix : "");
	if (w->dir == NULL || w->prefix == NULL || (tmp = strdup(netns_dir)) == NULL)
		goto fail;
	w->parent = strdup(dirname(tmp));
	free(tmp);
	if ((tmp = strdup(netns_dir)) == NULL)
		goto fail;
	w->base_name = strdup(basename(tmp));
	free(tmp);
	if (w->parent == NULL || w->base_name == NULL)
		goto fail;
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		r = -errno;
		goto fail;
	}
	w->ev_inotify = event_new(base, w->fd, EV_READ | EV_PERSIST, nswatch_on_inotify, w);
	w->ev_timer = evtimer_new(base, nswatch_on_timer, w);
	w->ev_start = evtimer_new(base, nswatch_on_start, w);
	if (w->ev_inotify == NULL || w->ev_timer == NULL || w->ev_start == NULL)
		goto fail;
	/*
	 * Attached without a scan: the first pass of the loop reports what is
	 * there. Unless the caller lists them itself: then what is there now is
	 * known at once, unreported, and only what comes after the watch was
	 * set is reported (a name usable only later is still reported).
	 */
	w->dir_wd = inotify_add_watch(w->fd, w->dir, NSWATCH_DIR_EVENTS);
	if (w->dir_wd < 0 && (r = nswatch_attach(w)) < 0)
		goto fail;
	if (!report_existing && w->dir_wd >= 0) {
		w->quiet = true;
		nswatch_rescan(w);
		w->quiet = false;
	}
	if (event_add(w->ev_inotify, NULL) < 0 ||
	        (report_existing && evtimer_add(w->ev_start, &zero) < 0)) {
		r = -EIO;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	nswatch_fail(cause, r, "watch", netns_dir);
	nswatch_free(w);
	return r;
}

void nswatch_free(struct nswatch *w)
{
	if (w == NULL)
		return;
	if (w->ev_inotify)
		event_free(w->ev_inotify);
	if (w->ev_timer)
		event_free(w->ev_timer);
	if (w->ev_start)
		event_free(w->ev_start);
	if (w->fd >= 0)
		close(w->fd);
	list_clear(&w->known);
	list_clear(&w->pending);
	free(w->dir);
	free(w->parent);
	free(w->base_name);
	free(w->prefix);
	free(w);
}
