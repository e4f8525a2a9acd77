/*
 * The words that go with an error code. Library functions that can say
 * more than an errno fill an allocated "cause" line the caller frees (as
 * tmux's `cause` and SQLite's pzErrMsg do); these build one.
 */
#ifndef PRAAS_CAUSE_H
#define PRAAS_CAUSE_H

/*
 * Sets *cause to the formatted line (cause may be NULL: nothing is set)
 * and returns err, or -ENOMEM when even the line cannot be allocated.
 */
int cause_set(char **cause, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* cause_set(cause, -EINVAL, ...): the shape of every parser's refusal. */
int cause_invalid(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Sets *cause to "<formatted what>: <strerror(-err)>", replacing (freeing) a
 * cause already there, and returns err. For errors that are an errno plus
 * what was being done ("add 1 element to map dnat4: File exists").
 */
int cause_errno(char **cause, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
