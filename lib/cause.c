#include "cause.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 0))) static int vset(
        char **cause, int err, const char *fmt, va_list ap)
{
	if (cause == NULL)
		return err;
	if (vasprintf(cause, fmt, ap) < 0) {
		*cause = NULL;
		return -ENOMEM;
	}
	return err;
}

int cause_set(char **cause, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(cause, err, fmt, ap);
	va_end(ap);
	return r;
}

int cause_invalid(char **cause, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(cause, -EINVAL, fmt, ap);
	va_end(ap);
	return r;
}

int cause_errno(char **cause, int err, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	if (cause == NULL)
		return err;
	free(*cause);
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (asprintf(cause, "%s: %s", what ? what : "error", strerror(-err)) < 0)
		*cause = NULL;
	free(what);
	return err;
}
