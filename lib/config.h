/*
 * praas.conf: every key of the design with its default, loaded with
 * libconfig. A load either fills the whole struct or changes nothing and
 * says, in one line, which file, line and key were wrong and why.
 */
#ifndef PRAAS_CONFIG_H
#define PRAAS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "fwd.h"
#include "praas-build.h"

/* Under the configured sysconfdir: /usr/local/etc/praas from a source build,
 * /etc/praas from the Debian package. */
#define CONFIG_DEFAULT_PATH PRAAS_CONFDIR "/praas.conf"

/* pagination_max_limit: its default, and the largest value accepted. */
#define CONFIG_PAGINATION_MAX_LIMIT     1000
#define CONFIG_PAGINATION_MAX_LIMIT_TOP 100000

enum config_auth {
	CONFIG_AUTH_KEYSTONE,
	CONFIG_AUTH_NONE,
};

struct config {
	char *path; /* the file loaded, or NULL for defaults only */
	int port_app;
	char *listen;
	struct port_range router_port_range;
	double second_monitoring;
	enum config_auth auth;
	char *cloud; /* "" for standalone */
	char *clouds_file;
	char *database;               /* a SQLite path or a mysql:// URL (may hold a password) */
	char *database_shown;         /* database for logs: the URL without its password */
	char *database_password_file; /* NULL: the URL's password, if any */
	double database_timeout;      /* MariaDB: seconds to wait for an answer; then 503 */
	char *database_read_copy; /* MariaDB: the local SQLite copy reads fall back on; NULL: none
	                           */
	char *control_socket;
	char *netns_dir;
	char *namespace_prefix;
	/* Standalone HA routers: <ha_confs_path>/<router_id>/keepalived.conf (Neutron's). */
	char *ha_confs_path;
	char *host; /* this node's name in answers ("hosts"); "": gethostname() */
	bool masquerade;
	bool legacy_api;
	int pagination_max_limit; /* most forwardings in one v1 list answer */
	struct cidr *legacy_trusted;
	size_t legacy_trusted_len;
	int log_level; /* enum log_level */
	/* Keystone validation of callers' tokens (auth = "keystone"). */
	int keystone_negative_ttl;     /* seconds a refused token stays refused; 0: off */
	int keystone_max_validations;  /* validation calls in progress at once */
	int keystone_validation_queue; /* validations waiting for one of those */
	int max_connections;           /* REST connections open at once */
	double request_timeout;        /* seconds to read one request's head and body */
	/* TLS on the REST port: both set, or neither (plain HTTP). Read again on SIGHUP. */
	char *tls_certificate; /* PEM chain, leaf first; NULL: none */
	char *tls_key;         /* PEM private key; NULL: none */
	/* Peers whose X-Forwarded-For / Forwarded names the client. */
	struct cidr *trusted_proxies;
	size_t trusted_proxies_len;
	/* /metrics and /healthz on their own listener; "" (default): on the REST port. */
	char *metrics_listen;  /* as written */
	char *metrics_address; /* its address; NULL when "" */
	int metrics_port;
	/* Neutron's notifications (monitor): transport_url "" (default) is off. */
	char *transport_url; /* oslo's rabbit://USER:PASS@HOST:PORT[,...]/VHOST */
	char *notification_exchange;
	char *notification_routing_key;
	char *notification_queue; /* the monitor's own durable queue */
	bool notification_tls;
	char *notification_tls_ca; /* PEM CA bundle; NULL: the system's */
};

#define CONFIG_HOST_MAX 64

/* Fills cfg with the defaults. 0 or -ENOMEM. */
int config_defaults(struct config *cfg);

/*
 * Loads path over the defaults. Returns 0, or a negative errno with *error
 * set to an allocated line the caller frees: "FILE:LINE: KEY: why" for a bad
 * value, "FILE:LINE: syntax error: libconfig's words" for bad syntax, "cannot
 * open FILE: strerror" for a file that cannot be read. Warnings
 * (unknown keys) are passed to warn, one line each, when warn is not NULL.
 */
int config_load(const char *path, struct config *cfg, char **error,
        void (*warn)(const char *line, void *arg), void *arg);

void config_free(struct config *cfg);

/*
 * For a program's main(): loads path over the defaults, warnings to the log.
 * On an error prints "PROG: " and that line and exits 1; with
 * check_only prints "configuration OK" and exits 0.
 */
void config_load_or_exit(const char *prog, const char *path, bool check_only, struct config *cfg);

/* The state directory of the shipped units (StateDirectory=praas). */
#define CONFIG_STATE_DIR "/var/lib/praas"

/*
 * For the program that owns the database: its directory must exist (the
 * database is created in it; a missing one is a typo or a state directory
 * not mounted). 0, or -errno with *error an allocated "FILE: database: why"
 * line the caller frees. A missing CONFIG_STATE_DIR is 0 with *error a
 * note saying who makes it (systemd, at the unit's start).
 */
int config_check_database_dir(const struct config *cfg, char **error);
/* Whether `database` is a MariaDB URL (mysql://) rather than a SQLite path. */
bool config_database_is_url(const struct config *cfg);
/* `database` as logs and messages may show it: never the URL's password. */
const char *config_database_name(const struct config *cfg);

/* True when the agents run without OpenStack (cloud = ""). */
bool config_standalone(const struct config *cfg);

#endif
