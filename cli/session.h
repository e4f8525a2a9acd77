/*
 * The CLI's connection to the PRaaS service: where it is (--url, the agent
 * a praas.conf given by --config describes, PRAAS_URL, or the Keystone
 * catalog's "praas" entry), a token when credentials are
 * configured (clouds.yaml via --os-cloud/OS_CLOUD, or OS_*), and blocking
 * JSON requests.
 */
#ifndef PRAAS_CLI_SESSION_H
#define PRAAS_CLI_SESSION_H

#include <stdbool.h>

struct json_object;
struct session;

struct session_options {
	const char *url;      /* --url, else PRAAS_URL; NULL: the catalog */
	const char *config;   /* --config: the pat-agent's praas.conf on this host */
	const char *os_cloud; /* --os-cloud, else OS_CLOUD */
	long timeout_ms;
};

/*
 * Sets up; with credentials configured, authenticates now. 0, or -1 with
 * *error (allocated, one line).
 */
int session_open(const struct session_options *opts, struct session **out, char **error);
void session_close(struct session *s);

/*
 * Sends method path (relative to the service URL) with an optional JSON
 * body. On a 2xx: returns 0 with *answer the parsed body (NULL for 204),
 * owned by the caller. Otherwise -1 with *error the service's detail (or
 * what failed) on one line.
 */
int session_request(struct session *s, const char *method, const char *path,
        struct json_object *body, struct json_object **answer, char **error);

/*
 * The id of the router named name_or_id: itself when it looks like a UUID
 * or no cloud is configured, else the one router of that name in Neutron.
 * Allocated, or NULL with *error.
 */
char *session_router_id(struct session *s, const char *name_or_id, char **error);

#endif
