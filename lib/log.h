/*
 * Logging for the daemons and tools, after OpenSMTPD's log.c.
 *
 * Lines go to stderr with a level prefix, which journald keeps as is.
 * log_warn() appends strerror(errno), log_warnx() does not; fatal() and
 * fatalx() log and exit 1. Library code (lib/) logs only at debug level:
 * it returns errors and lets the caller word them once.
 */
#ifndef PRAAS_LOG_H
#define PRAAS_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Parses "error", "warn", "info" or "debug"; -1 if none of them. */
int log_level_parse(const char *name);
void log_init(const char *progname, int level);
/* Reopens stderr on the file named by log_init's caller, if any (SIGHUP). */
int log_reopen(const char *path);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
