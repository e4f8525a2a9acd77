/* praas.conf loading: defaults, every key, and every error naming file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

struct fixture {
	char dir[64];
	char path[128];
	struct config cfg;
	char *error;
	char warnings[1024];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/praas-test-config.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/praas.conf", fx->dir);
	assert_int_equal(config_defaults(&fx->cfg), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	config_free(&fx->cfg);
	free(fx->error);
	free(fx);
	return 0;
}

static void collect_warning(const char *line, void *arg)
{
	struct fixture *fx = arg;
	size_t used = strlen(fx->warnings);

	snprintf(fx->warnings + used, sizeof(fx->warnings) - used, "%s\n", line);
}

static int load_text(struct fixture *fx, const char *text)
{
	FILE *f = fopen(fx->path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	free(fx->error);
	fx->error = NULL;
	return config_load(fx->path, &fx->cfg, &fx->error, collect_warning, fx);
}

/* The error must name the file, the line and the key, as one line. */
static void assert_error(struct fixture *fx, int line, const char *key)
{
	char want[256];

	assert_non_null(fx->error);
	snprintf(want, sizeof(want), "%s:%d: %s: ", fx->path, line, key);
	if (strncmp(fx->error, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", fx->error, want);
	assert_null(strchr(fx->error, '\n'));
}

static void test_defaults(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fx->cfg.port_app, 3000);
	assert_string_equal(fx->cfg.listen, "0.0.0.0");
	assert_int_equal(fx->cfg.router_port_range.lo, 4000);
	assert_int_equal(fx->cfg.router_port_range.hi, 4100);
	assert_true(fx->cfg.second_monitoring == 30);
	assert_int_equal(fx->cfg.max_connections, 1000);
	assert_true(fx->cfg.request_timeout == 10);
	assert_int_equal(fx->cfg.auth, CONFIG_AUTH_KEYSTONE);
	assert_string_equal(fx->cfg.cloud, "openstack");
	assert_string_equal(fx->cfg.clouds_file, "/usr/local/etc/praas/clouds.yaml");
	assert_string_equal(fx->cfg.database, "/var/lib/praas/praas.db");
	assert_string_equal(fx->cfg.control_socket, "/run/praas/pat-agent.sock");
	assert_string_equal(fx->cfg.netns_dir, "/run/netns");
	assert_string_equal(fx->cfg.namespace_prefix, "qrouter-");
	assert_string_equal(fx->cfg.ha_confs_path, "/var/lib/neutron/ha_confs");
	assert_string_equal(fx->cfg.host, "");
	assert_false(fx->cfg.masquerade);
	assert_true(fx->cfg.legacy_api);
	assert_int_equal(fx->cfg.legacy_trusted_len, 2);
	assert_int_equal(fx->cfg.log_level, LOG_LEVEL_INFO);
	assert_int_equal(fx->cfg.pagination_max_limit, 1000);
	assert_false(config_standalone(&fx->cfg));
}

static void test_every_key(void **state)
{
	struct fixture *fx = *state;
	struct addr a;

	assert_int_equal(load_text(fx,
	                         "praas:\n{\n"
	                         "  port_app = 3100;\n"
	                         "  listen = \"::1\";\n"
	                         "  router_port_range = \"5000:5009\";\n"
	                         "  second_monitoring = 0.5;\n"
	                         "  auth = \"none\";\n"
	                         "  cloud = \"\";\n"
	                         "  clouds_file = \"/etc/praas/clouds.yaml\";\n"
	                         "  database = \"/tmp/p.db\";\n"
	                         "  control_socket = \"/tmp/p.sock\";\n"
	                         "  netns_dir = \"/tmp/netns\";\n"
	                         "  namespace_prefix = \"qr-test-\";\n"
	                         "  ha_confs_path = \"/tmp/ha_confs\";\n"
	                         "  host = \"network-1.example\";\n"
	                         "  masquerade = true;\n"
	                         "  legacy_api = false;\n"
	                         "  legacy_trusted = [ \"10.0.0.0/8\" ];\n"
	                         "  log_level = \"debug\";\n"
	                         "  pagination_max_limit = 250;\n"
	                         "};\n"),
	        0);
	assert_null(fx->error);
	assert_string_equal(fx->warnings, "");
	assert_string_equal(fx->cfg.path, fx->path);
	assert_int_equal(fx->cfg.port_app, 3100);
	assert_string_equal(fx->cfg.listen, "::1");
	assert_int_equal(fx->cfg.router_port_range.lo, 5000);
	assert_int_equal(fx->cfg.router_port_range.hi, 5009);
	assert_true(fx->cfg.second_monitoring == 0.5);
	assert_int_equal(fx->cfg.auth, CONFIG_AUTH_NONE);
	assert_true(config_standalone(&fx->cfg));
	assert_string_equal(fx->cfg.clouds_file, "/etc/praas/clouds.yaml");
	assert_string_equal(fx->cfg.database, "/tmp/p.db");
	assert_string_equal(fx->cfg.control_socket, "/tmp/p.sock");
	assert_string_equal(fx->cfg.netns_dir, "/tmp/netns");
	assert_string_equal(fx->cfg.namespace_prefix, "qr-test-");
	assert_string_equal(fx->cfg.ha_confs_path, "/tmp/ha_confs");
	assert_string_equal(fx->cfg.host, "network-1.example");
	assert_true(fx->cfg.masquerade);
	assert_false(fx->cfg.legacy_api);
	assert_int_equal(fx->cfg.legacy_trusted_len, 1);
	assert_int_equal(addr_parse("10.20.30.40", &a), 0);
	assert_true(cidr_contains(&fx->cfg.legacy_trusted[0], &a));
	assert_int_equal(fx->cfg.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(fx->cfg.pagination_max_limit, 250);
}

static void test_integer_period(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load_text(fx, "praas: { second_monitoring = 5; };\n"), 0);
	assert_true(fx->cfg.second_monitoring == 5);
}

static void test_http_limits(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(
	        load_text(fx, "praas: { max_connections = 50; request_timeout = 2.5; };\n"), 0);
	assert_int_equal(fx->cfg.max_connections, 50);
	assert_true(fx->cfg.request_timeout == 2.5);
}

static void test_missing_file(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(
	        config_load("/nonexistent/praas.conf", &fx->cfg, &fx->error, NULL, NULL), -ENOENT);
	/* Words a person reads: no made-up line 0 and no "-" key. */
	assert_string_equal(
	        fx->error, "cannot open /nonexistent/praas.conf: No such file or directory");
}

static void test_syntax_error(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(
	        load_text(fx, "praas:\n{\n  port_app = 3000\n  listen = ;\n};\n"), -EINVAL);
	assert_non_null(fx->error);
	assert_non_null(strstr(fx->error, fx->path));
	/* libconfig says only "syntax error" here: it is not repeated. */
	assert_non_null(strstr(fx->error, ":4: syntax error"));
	assert_null(strstr(fx->error, "syntax error: syntax error"));
	/* A syntax error has no key: none is invented. */
	assert_null(strstr(fx->error, ": -: "));
}

/* Each bad value: the text, the line it sits on, the key the error must name. */
static const struct bad_value {
	const char *text;
	int line;
	const char *key;
	const char *why;
} bad_values[] = {
        {"praas:\n{\n  port_app = 0;\n};\n", 3, "port_app", "not a port"},
        {"praas:\n{\n  port_app = 70000;\n};\n", 3, "port_app", "not a port"},
        {"praas:\n{\n  port_app = \"3000\";\n};\n", 3, "port_app", "must be an integer"},
        {"praas:\n{\n\n  router_port_range = \"4100:4000\";\n};\n", 4, "router_port_range",
                "first port above its last"},
        {"praas:\n{\n  router_port_range = \"4000:70000\";\n};\n", 3, "router_port_range",
                "outside 1-65535"},
        {"praas:\n{\n  router_port_range = 4000;\n};\n", 3, "router_port_range",
                "must be a string"},
        {"praas:\n{\n  second_monitoring = -1;\n};\n", 3, "second_monitoring", "out of range"},
        {"praas:\n{\n  max_connections = 0;\n};\n", 3, "max_connections", "out of range"},
        {"praas:\n{\n  max_connections = 1.5;\n};\n", 3, "max_connections", "must be an integer"},
        {"praas:\n{\n  request_timeout = 0;\n};\n", 3, "request_timeout", "out of range"},
        {"praas:\n{\n  request_timeout = \"10\";\n};\n", 3, "request_timeout", "must be a number"},
        {"praas:\n{\n  second_monitoring = \"30\";\n};\n", 3, "second_monitoring",
                "must be a number"},
        {"praas:\n{\n  auth = \"ldap\";\n};\n", 3, "auth", "not \"keystone\" or \"none\""},
        {"praas:\n{\n  auth = true;\n};\n", 3, "auth", "must be a string"},
        {"praas:\n{\n  listen = \"localhost:80\";\n};\n", 3, "listen", "not an IPv4 or IPv6"},
        {"praas:\n{\n  masquerade = \"yes\";\n};\n", 3, "masquerade", "true or false"},
        {"praas:\n{\n  legacy_api = 1;\n};\n", 3, "legacy_api", "true or false"},
        {"praas:\n{\n  pagination_max_limit = 0;\n};\n", 3, "pagination_max_limit",
                "0 is out of range (1 to 100000)"},
        {"praas:\n{\n  pagination_max_limit = 100001;\n};\n", 3, "pagination_max_limit",
                "out of range (1 to 100000)"},
        {"praas:\n{\n  pagination_max_limit = \"10\";\n};\n", 3, "pagination_max_limit",
                "must be an integer"},
        {"praas:\n{\n  legacy_trusted = [ \"10.0.0.0/33\" ];\n};\n", 3, "legacy_trusted",
                "element 1"},
        {"praas:\n{\n  legacy_trusted = \"10.0.0.0/8\";\n};\n", 3, "legacy_trusted",
                "must be a list"},
        {"praas:\n{\n  log_level = \"loud\";\n};\n", 3, "log_level", "not one of"},
        {"praas:\n{\n  database = \"praas.db\";\n};\n", 3, "database", "absolute path"},
        {"praas:\n{\n  control_socket = \"/run/"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaa"
         "aaaaaaaaaaaa.sock\";\n};\n",
                3, "control_socket", "socket path holds at most 107"},
        {"praas:\n{\n  namespace_prefix = \"\";\n};\n", 3, "namespace_prefix", "non-empty"},
        {"praas:\n{\n  ha_confs_path = \"ha\";\n};\n", 3, "ha_confs_path", "absolute path"},
        {"praas:\n{\n  host = \"node a\";\n};\n", 3, "host", "at most 64 letters"},
        {"praas:\n{\n  host = "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n};\n",
                3, "host", "at most 64 letters"},
        {"praas:\n{\n  trusted_proxies = [ \"127.0.0.1\", \"x\" ];\n};\n", 3, "trusted_proxies",
                "element 2"},
        {"praas:\n{\n  metrics_listen = \"127.0.0.1\";\n};\n", 3, "metrics_listen",
                "not ADDRESS:PORT"},
        {"praas:\n{\n  metrics_listen = \"127.0.0.1:0\";\n};\n", 3, "metrics_listen",
                "port is not 1-65535"},
        {"praas:\n{\n  metrics_listen = \"::1:9102\";\n};\n", 3, "metrics_listen",
                "IPv6 in brackets"},
        {"praas:\n{\n  metrics_listen = \"localhost:9102\";\n};\n", 3, "metrics_listen",
                "address is not IPv4"},
        {"praas:\n{\n  tls_key = \"key.pem\";\n};\n", 3, "tls_key", "absolute path"},
        {"praas:\n{\n\n  tls_certificate = \"/c.pem\";\n};\n", 4, "tls_key",
                "tls_certificate and tls_key go together"},
        {"praas:\n{\n  transport_url = \"rabbit://h:5672/\";\n};\n", 3, "transport_url",
                "no USER:PASS@"},
        {"praas:\n{\n  transport_url = \"rabbit://u:p@h:99999/\";\n};\n", 3, "transport_url",
                "not 1-65535"},
        {"praas:\n{\n  notification_queue = \"\";\n};\n", 3, "notification_queue", "1-255 bytes"},
        {"praas:\n{\n  notification_tls = 1;\n};\n", 3, "notification_tls", "true or false"},
        {"praas:\n{\n  notification_tls_ca = \"ca.pem\";\n};\n", 3, "notification_tls_ca",
                "absolute path"},
        {"praas = 3;\n", 1, "praas", "must be a group"},
        {"other: { a = 1; };\n", 1, "praas", "missing"},
};

static void test_bad_values(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const struct bad_value *b = &bad_values[i];

		assert_int_equal(load_text(fx, b->text), -EINVAL);
		assert_error(fx, b->line, b->key);
		if (strstr(fx->error, b->why) == NULL)
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, fx->error, b->why);
	}
}

/* TLS, proxies, the management port: defaults and values. */
static void test_tls_proxy_keys(void **state)
{
	struct fixture *fx = *state;

	assert_null(fx->cfg.tls_certificate);
	assert_int_equal(fx->cfg.trusted_proxies_len, 0);
	assert_null(fx->cfg.metrics_address);
	assert_int_equal(load_text(fx,
	                         "praas: { tls_certificate = \"/a.pem\"; "
	                         "tls_key = \"/b.pem\"; trusted_proxies = [ "
	                         "\"127.0.0.1/32\", \"2001:db8::/32\" ]; "
	                         "metrics_listen = \"[::1]:9102\"; };\n"),
	        0);
	assert_string_equal(fx->cfg.tls_certificate, "/a.pem");
	assert_string_equal(fx->cfg.tls_key, "/b.pem");
	assert_int_equal(fx->cfg.trusted_proxies_len, 2);
	assert_string_equal(fx->cfg.metrics_address, "::1");
	assert_int_equal(fx->cfg.metrics_port, 9102);
	/* The shipped file's defaults, uncommented, mean "none". */
	assert_int_equal(load_text(fx,
	                         "praas: { tls_certificate = \"\"; tls_key = \"\"; "
	                         "metrics_listen = \"\"; };\n"),
	        0);
	assert_null(fx->cfg.tls_certificate);
	assert_null(fx->cfg.tls_key);
	assert_null(fx->cfg.metrics_address);
	assert_int_equal(load_text(fx, "praas: { metrics_listen = \"192.0.2.1:1\"; };\n"), 0);
	assert_string_equal(fx->cfg.metrics_address, "192.0.2.1");
	assert_int_equal(fx->cfg.metrics_port, 1);
}

/* The keys of Keystone validation: defaults, values, ranges. */
static void test_keystone_keys(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fx->cfg.keystone_negative_ttl, 5);
	assert_int_equal(fx->cfg.keystone_max_validations, 32);
	assert_int_equal(fx->cfg.keystone_validation_queue, 256);
	assert_int_equal(load_text(fx,
	                         "praas:\n{\n  keystone_negative_ttl = 0;\n"
	                         "  keystone_max_validations = 4;\n"
	                         "  keystone_validation_queue = 0;\n};\n"),
	        0);
	assert_string_equal(fx->warnings, "");
	assert_int_equal(fx->cfg.keystone_negative_ttl, 0);
	assert_int_equal(fx->cfg.keystone_max_validations, 4);
	assert_int_equal(fx->cfg.keystone_validation_queue, 0);
	assert_int_equal(load_text(fx, "praas:\n{\n  keystone_negative_ttl = 301;\n};\n"), -EINVAL);
	assert_error(fx, 3, "keystone_negative_ttl");
	assert_non_null(strstr(fx->error, "out of range (0 to 300)"));
	assert_int_equal(
	        load_text(fx, "praas:\n{\n  keystone_max_validations = 0;\n};\n"), -EINVAL);
	assert_error(fx, 3, "keystone_max_validations");
	assert_int_equal(
	        load_text(fx, "praas:\n{\n  keystone_validation_queue = \"8\";\n};\n"), -EINVAL);
	assert_error(fx, 3, "keystone_validation_queue");
	assert_non_null(strstr(fx->error, "must be an integer"));
}

/* Neutron's notifications (issue 14): off by default, oslo's defaults otherwise. */
static void test_notification_keys(void **state)
{
	struct fixture *fx = *state;

	assert_string_equal(fx->cfg.transport_url, "");
	assert_string_equal(fx->cfg.notification_exchange, "neutron");
	assert_string_equal(fx->cfg.notification_routing_key, "notifications.info");
	assert_string_equal(fx->cfg.notification_queue, "praas-monitor");
	assert_false(fx->cfg.notification_tls);
	assert_null(fx->cfg.notification_tls_ca);
	assert_int_equal(
	        load_text(fx,
	                "praas:\n{\n  transport_url = \"rabbit://u:p@a:5672,u:p@b:5672/\";\n"
	                "  notification_exchange = \"nova\";\n"
	                "  notification_routing_key = \"versioned_notifications.info\";\n"
	                "  notification_queue = \"praas-monitor-2\";\n"
	                "  notification_tls = true;\n"
	                "  notification_tls_ca = \"/etc/ssl/certs/ca.pem\";\n};\n"),
	        0);
	assert_string_equal(fx->warnings, "");
	assert_string_equal(fx->cfg.transport_url, "rabbit://u:p@a:5672,u:p@b:5672/");
	assert_string_equal(fx->cfg.notification_exchange, "nova");
	assert_string_equal(fx->cfg.notification_routing_key, "versioned_notifications.info");
	assert_string_equal(fx->cfg.notification_queue, "praas-monitor-2");
	assert_true(fx->cfg.notification_tls);
	assert_string_equal(fx->cfg.notification_tls_ca, "/etc/ssl/certs/ca.pem");
}

/* A failed load must leave the previous configuration as it was. */
static void test_failed_load_changes_nothing(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load_text(fx, "praas: { port_app = 3100; };\n"), 0);
	assert_int_equal(load_text(fx, "praas: { listen = \"::1\"; port_app = 0; };\n"), -EINVAL);
	assert_int_equal(fx->cfg.port_app, 3100);
	assert_string_equal(fx->cfg.listen, "0.0.0.0");
}

static void test_unknown_key_warns(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load_text(fx,
	                         "praas:\n{\n  port_app = 3000;\n  port_ap = 3001;\n};\n"
	                         "extra = 1;\n"),
	        0);
	assert_non_null(strstr(fx->warnings, ":4: praas.port_ap: unknown key"));
	assert_non_null(strstr(fx->warnings, ":6: extra: unknown key"));
}

/* The database's directory must exist; the database itself need not. */
static void test_database_dir(void **state)
{
	struct fixture *fx = *state;
	char text[600];

	snprintf(text, sizeof(text), "praas: { database = \"%s/praas.db\"; };\n", fx->dir);
	assert_int_equal(load_text(fx, text), 0);
	assert_int_equal(config_check_database_dir(&fx->cfg, &fx->error), 0);
	assert_null(fx->error);

	snprintf(text, sizeof(text), "praas: { database = \"%s/missing/praas.db\"; };\n", fx->dir);
	assert_int_equal(load_text(fx, text), 0);
	assert_int_equal(config_check_database_dir(&fx->cfg, &fx->error), -ENOENT);
	assert_non_null(strstr(fx->error, ": database: the directory of "));
	assert_non_null(strstr(fx->error, "/missing, No such file"));
	free(fx->error);
	fx->error = NULL;

	/* The config file itself is a file, not a directory. */
	snprintf(text, sizeof(text), "praas: { database = \"%s/praas.db\"; };\n", fx->path);
	assert_int_equal(load_text(fx, text), 0);
	assert_int_equal(config_check_database_dir(&fx->cfg, &fx->error), -ENOTDIR);
	assert_non_null(strstr(fx->error, "is not a directory"));
	free(fx->error);
	fx->error = NULL;

	assert_int_equal(load_text(fx, "praas: { database = \"/praas.db\"; };\n"), 0);
	assert_int_equal(config_check_database_dir(&fx->cfg, &fx->error), 0);

	/* The units' state directory: systemd makes it, so its absence is a note. */
	assert_int_equal(load_text(fx, "praas: { };\n"), 0);
	assert_int_equal(config_check_database_dir(&fx->cfg, &fx->error), 0);
	if (access(CONFIG_STATE_DIR, F_OK) < 0) {
		assert_non_null(fx->error);
		assert_non_null(strstr(fx->error, "StateDirectory="));
		free(fx->error);
		fx->error = NULL;
	} else {
		assert_null(fx->error);
	}
}

/* MariaDB: a URL, shown without its password; a password file; no directory to check. */
static void test_database_url(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load_text(fx,
	                         "praas: { database = \"mysql://praas:s3cret@db.example:3306/"
	                         "praas\"; database_password_file = \"/etc/praas/db\"; };\n"),
	        0);
	assert_true(config_database_is_url(&fx->cfg));
	assert_string_equal(fx->cfg.database, "mysql://praas:s3cret@db.example:3306/praas");
	assert_string_equal(config_database_name(&fx->cfg), "mysql://praas@db.example:3306/praas");
	assert_string_equal(fx->cfg.database_password_file, "/etc/praas/db");
	assert_int_equal(config_check_database_dir(&fx->cfg, &fx->error), 0);
	assert_null(fx->error);

	assert_int_equal(
	        load_text(fx, "praas: { database = \"mysql://db.example/praas\"; };\n"), -EINVAL);
	assert_non_null(strstr(fx->error, "needs a user"));
	free(fx->error);
	fx->error = NULL;
	assert_int_equal(load_text(fx, "praas: { database = \"praas.db\"; };\n"), -EINVAL);
	assert_non_null(strstr(fx->error, "absolute path"));
	free(fx->error);
	fx->error = NULL;
	assert_int_equal(load_text(fx, "praas: { database = \"/p.db\"; };\n"), 0);
	assert_false(config_database_is_url(&fx->cfg));
	assert_string_equal(config_database_name(&fx->cfg), "/p.db");
	assert_null(fx->cfg.database_password_file);
}

/* The read copy: under the state directory by default, "" for none, a path or refused. */
static void test_database_read_copy(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load_text(fx, "praas: { };\n"), 0);
	assert_string_equal(fx->cfg.database_read_copy, CONFIG_STATE_DIR "/read-copy.db");
	assert_int_equal(load_text(fx, "praas: { database_read_copy = \"\"; };\n"), 0);
	assert_null(fx->cfg.database_read_copy);
	assert_int_equal(load_text(fx, "praas: { database_read_copy = \"/srv/copy.db\"; };\n"), 0);
	assert_string_equal(fx->cfg.database_read_copy, "/srv/copy.db");
	assert_int_equal(load_text(fx, "praas: { database_read_copy = \"copy.db\"; };\n"), -EINVAL);
	assert_non_null(strstr(fx->error, "absolute path"));
	free(fx->error);
	fx->error = NULL;
}

/* The shipped conf/praas.conf must load and equal the defaults. */
static void test_shipped_file(void **state)
{
	struct fixture *fx = *state;
	const char *src = getenv("PRAAS_SOURCE_ROOT");
	char path[512];
	struct config d;

	if (src == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/conf/praas.conf", src);
	assert_int_equal(config_load(path, &fx->cfg, &fx->error, collect_warning, fx), 0);
	assert_string_equal(fx->warnings, "");
	assert_int_equal(config_defaults(&d), 0);
	assert_int_equal(fx->cfg.port_app, d.port_app);
	assert_string_equal(fx->cfg.database, d.database);
	assert_int_equal(fx->cfg.router_port_range.hi, d.router_port_range.hi);
	config_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_integer_period, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_http_limits, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failed_load_changes_nothing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_key_warns, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_database_dir, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_database_read_copy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_database_url, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_shipped_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_notification_keys, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keystone_keys, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tls_proxy_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
