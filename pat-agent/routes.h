/*
 * The REST routes of the agent on http-server.c (request ids, 404/405/413
 * in the API-SIG format, metrics, graceful shutdown), and the struct call
 * each handler gets (call.h).
 */
#ifndef PRAAS_ROUTES_H
#define PRAAS_ROUTES_H

struct agent;

int routes_open(struct agent *a, char **cause);
/*
 * Stops accepting; once the requests in flight are answered, ends the
 * agent's loop. Called on SIGTERM.
 */
void routes_stop(struct agent *a);
void routes_close(struct agent *a);
/*
 * SIGHUP: reads tls_certificate and tls_key again for new connections; a
 * pair that does not load is logged and the old one keeps serving.
 */
void routes_reload(struct agent *a);

#endif
