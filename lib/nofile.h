/*
 * The descriptor budget of a daemon. The shipped units set LimitNOFILE=,
 * but a daemon started by hand or by another supervisor gets the usual
 * soft limit of 1,024 while the hard limit is often far higher: each agent
 * raises its soft limit to the hard one at start, so that what it is
 * allowed to open is what it can open.
 */
#ifndef PRAAS_NOFILE_H
#define PRAAS_NOFILE_H

#include <sys/resource.h>

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit. *before and *after
 * (either may be NULL) get the soft limit before and after. 0 or -errno
 * (the limits are then unchanged).
 */
int nofile_raise(rlim_t *before, rlim_t *after);

/*
 * nofile_raise for a daemon's start: logs the outcome (info when raised,
 * a warning naming the error when it could not be).
 */
void nofile_raise_logged(void);

/* The soft RLIMIT_NOFILE now, or 1024 when it cannot be read. */
rlim_t nofile_soft(void);

#endif
