/*
 * A watchdog for one connection's blocking calls made on the caller's own
 * thread (the agent's loop): armed before a call, disarmed after it. When
 * a call outlasts its deadline, the watchdog's thread asks alive() (a ping
 * on a connection of its own); a server that answers is slow, not gone,
 * and gets another deadline; one that does not has the call's socket shut,
 * so the blocked call returns at once with a lost connection.
 *
 * Promises: the caller never waits for the watchdog (arming and disarming
 * take an uncontended lock, nothing more), so a call costs what it cost
 * without it; the socket is shut only while its call is armed (never a
 * descriptor reused after the call ended); alive() runs on the watchdog's
 * thread only, never two at once.
 */
#ifndef PRAAS_SQLDB_WATCH_H
#define PRAAS_SQLDB_WATCH_H

#include <stdbool.h>

struct sqldb_watch;

/* Whether the server lives (a ping); runs on the watchdog's thread, must be bounded. */
typedef bool sqldb_alive_fn(void *arg);

/* 0 or -errno. alive(arg) runs on the watchdog's thread and must be bounded. */
int sqldb_watch_new(sqldb_alive_fn *alive, void *arg, struct sqldb_watch **out);
/* Stops and joins the thread (after an alive() under way). NULL is fine. */
void sqldb_watch_free(struct sqldb_watch *wd);

/* A call on socket fd begins; it may take timeout_ms before alive() is asked. */
void sqldb_watch_arm(struct sqldb_watch *wd, int fd, unsigned int timeout_ms);
/* The call ended. true when the watchdog shut its socket (the server was given up). */
bool sqldb_watch_disarm(struct sqldb_watch *wd);

#endif
