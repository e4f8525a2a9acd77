/*
 * Watches netns_dir (inotify, on the caller's libevent loop) and reports
 * network namespaces appearing and disappearing.
 *
 * `ip netns add` creates an empty file first and mounts the namespace on
 * it a moment later, so a name is reported as added only once it is a
 * usable network namespace: it is checked at once and then every 10 ms,
 * for up to 5 s. A name is reported removed when its file goes. With
 * report_existing, the namespaces present when the watch starts are
 * reported as added on the loop's first pass, so the caller needs no
 * separate listing; without, they are taken as known before nswatch_new()
 * returns and only later changes are reported, for a caller that lists
 * (and restores) them itself once: nothing is then missed or done twice
 * but a name appearing between the two listings. netns_dir
 * may not exist yet: its parent is watched until it appears (and again if
 * it goes, after reporting every known name removed). Only names starting
 * with prefix (NULL or "": all) are reported.
 */
#ifndef PRAAS_NSWATCH_H
#define PRAAS_NSWATCH_H

#include <stdbool.h>

struct event_base;
struct nswatch;

enum nswatch_event {
	NSWATCH_ADDED,
	NSWATCH_REMOVED,
};

/* Called from the loop; must not free the watch. */
typedef void (*nswatch_cb)(const char *name, enum nswatch_event ev, void *arg);

int nswatch_new(struct event_base *base, const char *netns_dir, const char *prefix,
        bool report_existing, nswatch_cb cb, void *arg, struct nswatch **out, char **cause);
void nswatch_free(struct nswatch *w);

#endif
