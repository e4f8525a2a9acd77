#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "transport-url.h"

/* Beside praas.conf, wherever the build put it (see CONFIG_DEFAULT_PATH). */
#define PRAAS_DEFAULT_CLOUDS_FILE PRAAS_CONFDIR "/clouds.yaml"

/* Every key of the "praas" group, so an unknown one can be named. */
static const char *const known_keys[] = {
        "port_app",
        "listen",
        "router_port_range",
        "second_monitoring",
        "auth",
        "cloud",
        "clouds_file",
        "database",
        "database_password_file",
        "database_timeout",
        "database_read_copy",
        "control_socket",
        "netns_dir",
        "namespace_prefix",
        "masquerade",
        "legacy_api",
        "legacy_trusted",
        "pagination_max_limit",
        "log_level",
        "keystone_negative_ttl",
        "keystone_max_validations",
        "keystone_validation_queue",
        "max_connections",
        "request_timeout",
        "tls_certificate",
        "tls_key",
        "trusted_proxies",
        "metrics_listen",
        "transport_url",
        "notification_exchange",
        "notification_routing_key",
        "notification_queue",
        "notification_tls",
        "notification_tls_ca",
        "ha_confs_path",
        "host",
        NULL,
};

static const char *const default_trusted[] = {"127.0.0.0/8", "::1/128"};

/* One load in progress: where errors are reported and how they are worded. */
struct loader {
	const char *path;
	int auth_line; /* where auth was set, for the check across keys */
	int tls_line;  /* where tls_certificate or tls_key was set, likewise */
	char **error;
	void (*warn)(const char *line, void *arg);
	void *warn_arg;
};

static int set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

int config_defaults(struct config *cfg)
{
	size_t n = sizeof(default_trusted) / sizeof(default_trusted[0]);

	memset(cfg, 0, sizeof(*cfg));
	cfg->port_app = 3000;
	cfg->router_port_range = (struct port_range){4000, 4100};
	cfg->second_monitoring = 30;
	cfg->auth = CONFIG_AUTH_KEYSTONE;
	cfg->masquerade = false;
	cfg->legacy_api = true;
	cfg->pagination_max_limit = CONFIG_PAGINATION_MAX_LIMIT;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->keystone_negative_ttl = 5;
	cfg->keystone_max_validations = 32;
	cfg->keystone_validation_queue = 256;
	cfg->max_connections = 1000;
	cfg->request_timeout = 10;
	cfg->database_timeout = 1;
	if (set_string(&cfg->listen, "0.0.0.0") < 0 || set_string(&cfg->cloud, "openstack") < 0 ||
	        set_string(&cfg->clouds_file, PRAAS_DEFAULT_CLOUDS_FILE) < 0 ||
	        set_string(&cfg->database, CONFIG_STATE_DIR "/praas.db") < 0 ||
	        set_string(&cfg->database_read_copy, CONFIG_STATE_DIR "/read-copy.db") < 0 ||
	        set_string(&cfg->control_socket, "/run/praas/pat-agent.sock") < 0 ||
	        set_string(&cfg->netns_dir, "/run/netns") < 0 ||
	        set_string(&cfg->namespace_prefix, "qrouter-") < 0 ||
	        set_string(&cfg->metrics_listen, "") < 0 ||
	        set_string(&cfg->transport_url, "") < 0 ||
	        set_string(&cfg->notification_exchange, "neutron") < 0 ||
	        set_string(&cfg->notification_routing_key, "notifications.info") < 0 ||
	        set_string(&cfg->notification_queue, "praas-monitor") < 0 ||
	        set_string(&cfg->ha_confs_path, "/var/lib/neutron/ha_confs") < 0 ||
	        set_string(&cfg->host, "") < 0)
		goto nomem;
	cfg->legacy_trusted = calloc(n, sizeof(*cfg->legacy_trusted));
	if (cfg->legacy_trusted == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (cidr_parse(default_trusted[i], &cfg->legacy_trusted[i]) < 0)
			abort(); /* the defaults above are literals */
	cfg->legacy_trusted_len = n;
	return 0;
nomem:
	config_free(cfg);
	return -ENOMEM;
}

void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->listen);
	free(cfg->cloud);
	free(cfg->clouds_file);
	free(cfg->database);
	free(cfg->database_shown);
	free(cfg->database_password_file);
	free(cfg->database_read_copy);
	free(cfg->control_socket);
	free(cfg->netns_dir);
	free(cfg->namespace_prefix);
	free(cfg->legacy_trusted);
	free(cfg->trusted_proxies);
	free(cfg->tls_certificate);
	free(cfg->tls_key);
	free(cfg->metrics_listen);
	free(cfg->metrics_address);
	free(cfg->transport_url);
	free(cfg->notification_exchange);
	free(cfg->notification_routing_key);
	free(cfg->notification_queue);
	free(cfg->notification_tls_ca);
	free(cfg->ha_confs_path);
	free(cfg->host);
	memset(cfg, 0, sizeof(*cfg));
}

bool config_standalone(const struct config *cfg)
{
	return cfg->cloud == NULL || cfg->cloud[0] == '\0';
}

/* Words an error as "FILE:LINE: KEY: why" into *ld->error. Returns -EINVAL. */
__attribute__((format(printf, 4, 5))) static int fail(
        struct loader *ld, int line, const char *key, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (asprintf(ld->error, "%s:%d: %s: %s", ld->path, line, key, why) < 0)
		*ld->error = NULL;
	return -EINVAL;
}

static int setting_line(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		return "a list";
	case CONFIG_TYPE_GROUP:
		return "a group";
	default:
		return "something else";
	}
}

static int read_string(struct loader *ld, const config_setting_t *s, char **slot)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, setting_line(s), config_setting_name(s), "must be a string, not %s",
		        type_name(config_setting_type(s)));
	return set_string(slot, config_setting_get_string(s));
}

/* A path must be absolute: the daemons chdir to / and run under systemd. */
static int read_path(struct loader *ld, const config_setting_t *s, char **slot)
{
	int r = read_string(ld, s, slot);

	if (r == 0 && (*slot)[0] != '/')
		return fail(ld, setting_line(s), config_setting_name(s),
		        "must be an absolute path, not \"%s\"", *slot);
	return r;
}

/* An absolute path, or "" for none (*slot NULL): the shipped file's default. */
static int read_optional_path(struct loader *ld, const config_setting_t *s, char **slot)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	        config_setting_get_string(s)[0] == '\0') {
		free(*slot);
		*slot = NULL;
		return 0;
	}
	return read_path(ld, s, slot);
}

#define DATABASE_URL_SCHEME "mysql://"

bool config_database_is_url(const struct config *cfg)
{
	return strncmp(cfg->database, DATABASE_URL_SCHEME, strlen(DATABASE_URL_SCHEME)) == 0;
}

const char *config_database_name(const struct config *cfg)
{
	return cfg->database_shown ? cfg->database_shown : cfg->database;
}

/*
 * An absolute SQLite path, or mysql://USER[:PASSWORD]@HOST[:PORT]/DB (the
 * store checks the rest at open). database_shown drops the password, for
 * every log line and message that names the database.
 */
static int read_database(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *url, *at, *colon;
	int r;

	free(cfg->database_shown);
	cfg->database_shown = NULL;
	if ((r = read_string(ld, s, &cfg->database)) < 0)
		return r;
	if (!config_database_is_url(cfg))
		return read_path(ld, s, &cfg->database);
	url = cfg->database + strlen(DATABASE_URL_SCHEME);
	if ((at = strrchr(url, '@')) == NULL)
		return fail(ld, setting_line(s), config_setting_name(s),
		        "a MariaDB URL needs a user: mysql://USER[:PASSWORD]@HOST[:PORT]/DB");
	colon = memchr(url, ':', (size_t)(at - url));
	if (asprintf(&cfg->database_shown, "%.*s%s", (int)((colon ? colon : at) - cfg->database),
	            cfg->database, at) < 0) {
		cfg->database_shown = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A Unix socket's path must fit sockaddr_un, or bind() fails at start. */
static int read_socket_path(struct loader *ld, const config_setting_t *s, char **slot)
{
	size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
	int r = read_path(ld, s, slot);

	if (r == 0 && strlen(*slot) > max)
		return fail(ld, setting_line(s), config_setting_name(s),
		        "%zu bytes long: a Unix socket path holds at most %zu", strlen(*slot), max);
	return r;
}

static int read_bool(struct loader *ld, const config_setting_t *s, bool *slot)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, setting_line(s), config_setting_name(s),
		        "must be true or false, not %s", type_name(config_setting_type(s)));
	*slot = config_setting_get_bool(s);
	return 0;
}

static int read_port_app(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	        config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(ld, setting_line(s), "port_app", "must be an integer, not %s",
		        type_name(config_setting_type(s)));
	v = config_setting_get_int64(s);
	if (v < 1 || v > 65535)
		return fail(ld, setting_line(s), "port_app", "%lld is not a port (1-65535)", v);
	cfg->port_app = (int)v;
	return 0;
}

/* An integer key within [min, max]. */
static int read_int_range(
        struct loader *ld, const config_setting_t *s, long long min, long long max, int *slot)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	        config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(ld, setting_line(s), config_setting_name(s),
		        "must be an integer, not %s", type_name(config_setting_type(s)));
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return fail(ld, setting_line(s), config_setting_name(s),
		        "%lld is out of range (%lld to %lld)", v, min, max);
	*slot = (int)v;
	return 0;
}

static int read_listen(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	struct addr a;
	int r = read_string(ld, s, &cfg->listen);

	if (r == 0 && addr_parse(cfg->listen, &a) < 0)
		return fail(ld, setting_line(s), "listen", "\"%s\" is not an IPv4 or IPv6 address",
		        cfg->listen);
	return r;
}

static int read_port_range(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *text, *why;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, setting_line(s), "router_port_range",
		        "must be a string \"N:M\", not %s", type_name(config_setting_type(s)));
	text = config_setting_get_string(s);
	if (port_range_parse(text, &cfg->router_port_range, &why) < 0)
		return fail(ld, setting_line(s), "router_port_range", "\"%s\" %s", text, why);
	return 0;
}

/* A number of seconds (an integer or a float) within [min, max]. */
static int read_seconds(
        struct loader *ld, const config_setting_t *s, double min, double max, double *slot)
{
	double v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		return fail(ld, setting_line(s), config_setting_name(s), "must be a number, not %s",
		        type_name(config_setting_type(s)));
	}
	if (!isfinite(v) || v < min || v > max)
		return fail(ld, setting_line(s), config_setting_name(s),
		        "%g is out of range (%g to %g seconds)", v, min, max);
	*slot = v;
	return 0;
}

static int read_auth(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	char *mode = NULL;
	int r = read_string(ld, s, &mode);

	if (r < 0)
		return r;
	if (strcmp(mode, "keystone") == 0)
		cfg->auth = CONFIG_AUTH_KEYSTONE;
	else if (strcmp(mode, "none") == 0)
		cfg->auth = CONFIG_AUTH_NONE;
	else
		r = fail(ld, setting_line(s), "auth", "\"%s\" is not \"keystone\" or \"none\"",
		        mode);
	free(mode);
	return r;
}

static int read_prefix(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	int r = read_string(ld, s, &cfg->namespace_prefix);

	if (r == 0 && (cfg->namespace_prefix[0] == '\0' || strchr(cfg->namespace_prefix, '/')))
		return fail(ld, setting_line(s), "namespace_prefix",
		        "must be a non-empty name without '/'");
	return r;
}

/* The node's name as answers show it: a host name's characters, or "" for gethostname(). */
static int read_host(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	int r = read_string(ld, s, &cfg->host);

	if (r == 0 &&
	        (strlen(cfg->host) > CONFIG_HOST_MAX ||
	                strspn(cfg->host,
	                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                        "0123456789.-_") != strlen(cfg->host)))
		return fail(ld, setting_line(s), "host",
		        "must be at most %d letters, digits, '.', '-' or '_' (\"\": the host name)",
		        CONFIG_HOST_MAX);
	return r;
}

/* A list of networks, "a/n" each (legacy_trusted, trusted_proxies). */
static int read_nets(struct loader *ld, const config_setting_t *s, struct cidr **slot, size_t *len)
{
	const char *key = config_setting_name(s);
	int type = config_setting_type(s), n;
	struct cidr *nets;

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return fail(ld, setting_line(s), key,
		        "must be a list of networks [ \"a/n\", ... ], not %s", type_name(type));
	n = config_setting_length(s);
	nets = calloc(n > 0 ? (size_t)n : 1, sizeof(*nets));
	if (nets == NULL)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		const char *text = config_setting_get_string(e);

		if (text == NULL || cidr_parse(text, &nets[i]) < 0) {
			free(nets);
			return fail(ld, setting_line(e), key,
			        "element %d is not a network like \"192.0.2.0/24\"", i + 1);
		}
	}
	free(*slot);
	*slot = nets;
	*len = (size_t)n;
	return 0;
}

/*
 * "ADDRESS:PORT", "[IPv6]:PORT", or "" (none). The address is kept apart,
 * as httpd_bind() takes it.
 */
static int read_metrics_listen(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *text, *colon;
	char *address = NULL, *end;
	struct addr a;
	long port;
	int r = read_string(ld, s, &cfg->metrics_listen);

	if (r < 0)
		return r;
	text = cfg->metrics_listen;
	free(cfg->metrics_address);
	cfg->metrics_address = NULL;
	cfg->metrics_port = 0;
	if (text[0] == '\0')
		return 0;
	colon = strrchr(text, ':');
	if (colon == NULL)
		return fail(ld, setting_line(s), "metrics_listen",
		        "\"%s\" is not ADDRESS:PORT (\"127.0.0.1:9102\", \"[::1]:9102\")", text);
	if (text[0] == '[' && colon > text && colon[-1] == ']')
		address = strndup(text + 1, (size_t)(colon - text - 2));
	else
		address = strndup(text, (size_t)(colon - text));
	if (address == NULL)
		return -ENOMEM;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (addr_parse(address, &a) < 0 || (text[0] != '[' && a.family == AF_INET6)) {
		free(address);
		return fail(ld, setting_line(s), "metrics_listen",
		        "\"%s\": the address is not IPv4, or IPv6 in brackets ([::1]:9102)", text);
	}
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
		free(address);
		return fail(ld, setting_line(s), "metrics_listen",
		        "\"%s\": the port is not 1-65535", text);
	}
	cfg->metrics_address = address;
	cfg->metrics_port = (int)port;
	return 0;
}

/* Checked here, so that a typo stops the monitor at start rather than at its first connection. */
static int read_transport_url(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	struct transport_url u;
	char *cause = NULL;
	int r = read_string(ld, s, &cfg->transport_url);

	if (r < 0 || cfg->transport_url[0] == '\0')
		return r;
	r = transport_url_parse(cfg->transport_url, &u, &cause);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = fail(ld, setting_line(s), "transport_url", "%s",
		        cause ? cause + strlen("transport_url: ") : "invalid");
		free(cause);
		return r;
	}
	transport_url_free(&u);
	return 0;
}

/* An AMQP name: a short string, 1-255 bytes. */
static int read_amqp_name(struct loader *ld, const config_setting_t *s, char **slot)
{
	int r = read_string(ld, s, slot);

	if (r == 0 && (strlen(*slot) == 0 || strlen(*slot) > 255))
		return fail(ld, setting_line(s), config_setting_name(s),
		        "must be 1-255 bytes (an AMQP name), not %zu", strlen(*slot));
	return r;
}

static int read_log_level(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	char *name = NULL;
	int r = read_string(ld, s, &name);

	if (r < 0)
		return r;
	cfg->log_level = log_level_parse(name);
	if (cfg->log_level < 0)
		r = fail(ld, setting_line(s), "log_level",
		        "\"%s\" is not one of error, warn, info, debug", name);
	free(name);
	return r;
}

static int read_key(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *key = config_setting_name(s);

	if (strcmp(key, "port_app") == 0)
		return read_port_app(ld, s, cfg);
	if (strcmp(key, "listen") == 0)
		return read_listen(ld, s, cfg);
	if (strcmp(key, "router_port_range") == 0)
		return read_port_range(ld, s, cfg);
	if (strcmp(key, "second_monitoring") == 0)
		/* Below 10 ms the monitor would only load Neutron; a day is plenty. */
		return read_seconds(ld, s, 0.01, 86400, &cfg->second_monitoring);
	if (strcmp(key, "auth") == 0) {
		ld->auth_line = setting_line(s);
		return read_auth(ld, s, cfg);
	}
	if (strcmp(key, "cloud") == 0)
		return read_string(ld, s, &cfg->cloud);
	if (strcmp(key, "clouds_file") == 0)
		return read_path(ld, s, &cfg->clouds_file);
	if (strcmp(key, "database") == 0)
		return read_database(ld, s, cfg);
	if (strcmp(key, "database_password_file") == 0)
		return read_optional_path(ld, s, &cfg->database_password_file);
	if (strcmp(key, "database_read_copy") == 0)
		return read_optional_path(ld, s, &cfg->database_read_copy);
	/* Under 0.05 s a healthy server's commit would count as down; over a minute, so would the
	 * agent. */
	if (strcmp(key, "database_timeout") == 0)
		return read_seconds(ld, s, 0.05, 60, &cfg->database_timeout);
	if (strcmp(key, "control_socket") == 0)
		return read_socket_path(ld, s, &cfg->control_socket);
	if (strcmp(key, "netns_dir") == 0)
		return read_path(ld, s, &cfg->netns_dir);
	if (strcmp(key, "namespace_prefix") == 0)
		return read_prefix(ld, s, cfg);
	if (strcmp(key, "masquerade") == 0)
		return read_bool(ld, s, &cfg->masquerade);
	if (strcmp(key, "ha_confs_path") == 0)
		return read_path(ld, s, &cfg->ha_confs_path);
	if (strcmp(key, "host") == 0)
		return read_host(ld, s, cfg);
	if (strcmp(key, "legacy_api") == 0)
		return read_bool(ld, s, &cfg->legacy_api);
	if (strcmp(key, "legacy_trusted") == 0)
		return read_nets(ld, s, &cfg->legacy_trusted, &cfg->legacy_trusted_len);
	if (strcmp(key, "trusted_proxies") == 0)
		return read_nets(ld, s, &cfg->trusted_proxies, &cfg->trusted_proxies_len);
	if (strcmp(key, "tls_certificate") == 0) {
		ld->tls_line = setting_line(s);
		return read_optional_path(ld, s, &cfg->tls_certificate);
	}
	if (strcmp(key, "tls_key") == 0) {
		ld->tls_line = setting_line(s);
		return read_optional_path(ld, s, &cfg->tls_key);
	}
	if (strcmp(key, "metrics_listen") == 0)
		return read_metrics_listen(ld, s, cfg);
	if (strcmp(key, "log_level") == 0)
		return read_log_level(ld, s, cfg);
	if (strcmp(key, "transport_url") == 0)
		return read_transport_url(ld, s, cfg);
	if (strcmp(key, "notification_exchange") == 0)
		return read_amqp_name(ld, s, &cfg->notification_exchange);
	if (strcmp(key, "notification_routing_key") == 0)
		return read_amqp_name(ld, s, &cfg->notification_routing_key);
	if (strcmp(key, "notification_queue") == 0)
		return read_amqp_name(ld, s, &cfg->notification_queue);
	if (strcmp(key, "notification_tls") == 0)
		return read_bool(ld, s, &cfg->notification_tls);
	if (strcmp(key, "notification_tls_ca") == 0)
		return read_optional_path(ld, s, &cfg->notification_tls_ca);
	/* A refusal remembered longer than a few minutes outlives its use. */
	if (strcmp(key, "keystone_negative_ttl") == 0)
		return read_int_range(ld, s, 0, 300, &cfg->keystone_negative_ttl);
	if (strcmp(key, "keystone_max_validations") == 0)
		return read_int_range(ld, s, 1, 4096, &cfg->keystone_max_validations);
	if (strcmp(key, "keystone_validation_queue") == 0)
		return read_int_range(ld, s, 0, 65536, &cfg->keystone_validation_queue);
	/*
	 * A page is rendered while the client reads it, so memory does not bound
	 * it; the loop time of one page does (a store read and a JSON rendering
	 * a row), hence an upper end.
	 */
	if (strcmp(key, "pagination_max_limit") == 0)
		return read_int_range(
		        ld, s, 1, CONFIG_PAGINATION_MAX_LIMIT_TOP, &cfg->pagination_max_limit);
	/* At least one; above a descriptor table's size a cap means nothing. */
	if (strcmp(key, "max_connections") == 0)
		return read_int_range(ld, s, 1, 1000000, &cfg->max_connections);
	if (strcmp(key, "request_timeout") == 0)
		/* Under 0.1 s a slow but honest client on a busy link could not send a request. */
		return read_seconds(ld, s, 0.1, 3600, &cfg->request_timeout);
	return 0;
}

static bool key_known(const char *key)
{
	for (const char *const *k = known_keys; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

static void warn_unknown(struct loader *ld, const config_setting_t *s, const char *where)
{
	char *line;

	if (ld->warn == NULL)
		return;
	if (asprintf(&line, "%s:%d: %s%s: unknown key, ignored", ld->path, setting_line(s), where,
	            config_setting_name(s) ? config_setting_name(s) : "?") < 0)
		return;
	ld->warn(line, ld->warn_arg);
	free(line);
}

static int read_group(struct loader *ld, const config_setting_t *group, struct config *cfg)
{
	int n = config_setting_length(group), r;

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned int)i);

		if (!key_known(config_setting_name(s))) {
			warn_unknown(ld, s, "praas.");
			continue;
		}
		if ((r = read_key(ld, s, cfg)) < 0)
			return r;
	}
	/* Keystone validates tokens through a cloud: without one nobody could pass. */
	if (cfg->auth == CONFIG_AUTH_KEYSTONE && config_standalone(cfg))
		return fail(ld, ld->auth_line ? ld->auth_line : setting_line(group), "auth",
		        "\"keystone\" needs a cloud (cloud is \"\"); use auth = \"none\" "
		        "standalone");
	/* A certificate without its key (or the reverse) cannot serve TLS. */
	if ((cfg->tls_certificate == NULL) != (cfg->tls_key == NULL))
		return fail(ld, ld->tls_line, cfg->tls_key == NULL ? "tls_key" : "tls_certificate",
		        "tls_certificate and tls_key go together: set both, or neither for plain "
		        "HTTP");
	return 0;
}

static int read_file(struct loader *ld, config_t *lc, struct config *cfg)
{
	const config_setting_t *root, *group;
	FILE *f;
	int r;

	f = fopen(ld->path, "re");
	if (f == NULL) {
		/* No line and no key exist yet: the words name the file and the system's reason. */
		r = -errno;
		if (asprintf(ld->error, "cannot open %s: %s", ld->path, strerror(errno)) < 0)
			*ld->error = NULL;
		return r;
	}
	r = config_read(lc, f);
	fclose(f);
	if (r != CONFIG_TRUE) {
		/*
		 * A syntax error has a line but no key: libconfig's own words say
		 * what it met, unless they only repeat "syntax error".
		 */
		const char *what = config_error_text(lc);
		bool plain = what == NULL || strcmp(what, "syntax error") == 0;

		if (asprintf(ld->error, "%s:%d: syntax error%s%s", ld->path, config_error_line(lc),
		            plain ? "" : ": ", plain ? "" : what) < 0)
			*ld->error = NULL;
		return -EINVAL;
	}
	/* config_read() replaces the root: take it only now. */
	root = config_root_setting(lc);
	group = config_setting_get_member(root, "praas");
	if (group == NULL)
		return fail(ld, 1, "praas", "missing: the file must hold a group praas: { ... };");
	if (config_setting_type(group) != CONFIG_TYPE_GROUP)
		return fail(ld, setting_line(group), "praas", "must be a group { ... }");
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned int)i);
		if (strcmp(config_setting_name(s), "praas") != 0)
			warn_unknown(ld, s, "");
	}
	return read_group(ld, group, cfg);
}

/*
 * Loads into a scratch copy and hands it over only when the whole file was
 * good, so a failed load changes nothing.
 */
int config_load(const char *path, struct config *cfg, char **error,
        void (*warn)(const char *line, void *arg), void *arg)
{
	struct loader ld = {.path = path, .error = error, .warn = warn, .warn_arg = arg};
	struct config next;
	config_t lc;
	int r;

	*error = NULL;
	if ((r = config_defaults(&next)) < 0)
		return r;
	config_init(&lc);
	r = read_file(&ld, &lc, &next);
	config_destroy(&lc);
	if (r == 0 && (r = set_string(&next.path, path)) == 0) {
		config_free(cfg);
		*cfg = next;
		return 0;
	}
	if (*error == NULL && r == -ENOMEM)
		*error = strdup("out of memory");
	config_free(&next);
	return r;
}

int config_check_database_dir(const struct config *cfg, char **error)
{
	const char *slash = strrchr(cfg->database, '/');
	struct stat st;
	char *dir;
	int r = 0;

	*error = NULL;
	if (config_database_is_url(cfg)) /* MariaDB: no directory of ours */
		return 0;
	/* read_path() made it absolute: there is a slash, maybe the first. */
	dir = strndup(cfg->database,
	        slash && slash != cfg->database ? (size_t)(slash - cfg->database) : 1);
	if (dir == NULL)
		return -ENOMEM;
	if (stat(dir, &st) < 0)
		r = -errno;
	else if (!S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	/* Not there before the first start: the units' StateDirectory= makes it. */
	if (r == -ENOENT && strcmp(dir, CONFIG_STATE_DIR) == 0) {
		if (asprintf(error,
		            "note: %s does not exist yet: the unit's StateDirectory= makes it at "
		            "start; started otherwise, create it (mode 0700)",
		            dir) < 0)
			*error = NULL;
		free(dir);
		return 0;
	}
	if (r < 0 &&
	        asprintf(error,
	                "%s: database: the directory of %s, %s, %s: create it (the agent "
	                "makes the database, not its directory) or correct the path",
	                cfg->path ? cfg->path : "(defaults)", cfg->database, dir,
	                r == -ENOTDIR ? "is not a directory" : strerror(-r)) < 0)
		*error = NULL;
	free(dir);
	return r;
}

static void warn_to_log(const char *line, void *arg)
{
	log_warnx("%s", line);
}

void config_load_or_exit(const char *prog, const char *path, bool check_only, struct config *cfg)
{
	char *error = NULL;

	if (config_defaults(cfg) < 0)
		fatalx("out of memory");
	if (config_load(path, cfg, &error, warn_to_log, NULL) < 0) {
		fprintf(stderr, "%s: %s\n", prog, error ? error : "cannot load the configuration");
		exit(1);
	}
	if (check_only) {
		printf("configuration OK\n");
		exit(0);
	}
}
