#include "nofile.h"

#include <errno.h>
#include <stddef.h>

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

rlim_t nofile_soft(void)
{
	struct rlimit rl;

	/* 1,024 is what a process gets when nobody raised it: the safe guess. */
	return getrlimit(RLIMIT_NOFILE, &rl) < 0 ? 1024 : rl.rlim_cur;
}
