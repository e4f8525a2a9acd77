#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one piece of process-wide state in libpraas: who we are and how loud. */
static const char *log_progname = "praas";
static int log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARN] = "warn",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void log_init(const char *progname, int level)
{
	log_progname = progname;
	log_level = level;
}

int log_reopen(const char *path)
{
	int fd;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (dup2(fd, STDERR_FILENO) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

/*
 * Writes one line; control characters in the message are escaped so a
 * request string cannot forge log lines.
 */
__attribute__((format(printf, 3, 0))) static void log_vwrite(
        int level, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048], out[4096];
	size_t o = 0;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < sizeof(out); p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
	if (errstr != NULL)
		fprintf(stderr, "%s: %s: %s: %s\n", log_progname, level_names[level], out, errstr);
	else
		fprintf(stderr, "%s: %s: %s\n", log_progname, level_names[level], out);
}

#define LOG_FUNC(name, level, with_errno)                                                          \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(level, with_errno ? strerror(saved) : NULL, fmt, ap);                   \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FUNC(log_warn, LOG_LEVEL_WARN, 1)
LOG_FUNC(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FUNC(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNC(log_debug, LOG_LEVEL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
