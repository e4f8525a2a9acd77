#include "apierr.h"

#include <stdarg.h>
#include <stdio.h>

int apierr_set(struct apierr *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	err->retry_after = 0;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -1;
}
