#include "nofile.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "log.h"

int nofile_raise(rlim_t *before, rlim_t *after)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (before != NULL)
		*before = rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	if (after != NULL)
		*after = rl.rlim_cur;
	return 0;
}

void nofile_raise_logged(void)
{
	rlim_t before = 0, after = 0;
	int r = nofile_raise(&before, &after);

	if (r < 0)
		log_warnx("Cannot raise the open files limit (now %llu): %s",
		        (unsigned long long)before, strerror(-r));
	else if (after != before)
		log_info("Open files limit raised from %llu to %llu", (unsigned long long)before,
		        (unsigned long long)after);
	else
		log_debug("Open files limit: %llu", (unsigned long long)after);
}

rlim_t nofile_soft(void)
{
	struct rlimit rl;

	/* 1,024 is what a process gets when nobody raised it: the safe guess. */
	return getrlimit(RLIMIT_NOFILE, &rl) < 0 ? 1024 : rl.rlim_cur;
}
