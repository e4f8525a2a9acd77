/*
 * The REST server: evhttp on listen:port_app, the route table, and the
 * struct call each handler gets (call.h). Every answer carries
 * X-Openstack-Request-Id; unknown paths are 404 and wrong methods 405 in
 * the API-SIG format; bodies over 64 KiB are 413.
 */
#ifndef PRAAS_ROUTES_H
#define PRAAS_ROUTES_H

struct agent;

#define ROUTES_BODY_MAX (64 * 1024)

int routes_open(struct agent *a, char **cause);
/*
 * Stops accepting; once the requests in flight are answered, ends the
 * agent's loop. Called on SIGTERM.
 */
void routes_stop(struct agent *a);
void routes_close(struct agent *a);

#endif
