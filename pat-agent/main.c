/*
 * praas-pat-agent: the REST API of PRaaS and the only writer of its
 * database and of the kernel state in router namespaces.
 *
 *   praas-pat-agent [--config PATH] [--check-config] [--debug] [--log-file PATH]
 *                   [--allow-empty-database] [--copy-database-from PATH]
 *
 * Start-up reads like OpenSMTPD's process entries: arguments, config,
 * open what needs privileges, signals as events, then the loop. Nothing
 * touches a router namespace before netns_dir is ours (one agent per
 * node's routers) and the database is known to be the one that wrote the
 * tables there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "census.h"
#include "control-handlers.h"
#include "readcopy.h"
#include "restore.h"
#include "control.h"
#include "follow.h"
#include "heartbeat.h"
#include "gateways.h"
#include "http-tls.h"
#include "kernel.h"
#include "log.h"
#include "netns.h"
#include "nofile.h"
#include "gateway-ns.h"
#include "nswatch.h"
#include "osclient.h"
#include "portalloc.h"
#include "praas-build.h"
#include "routers.h"
#include "routes.h"
#include "store.h"
#include "storeq.h"
#include "task.h"

/* --help: the text on stdout, exit 0; a usage error: the same on stderr, exit 2. */
__attribute__((noreturn)) static void usage(FILE *out, int status)
{
	fprintf(out,
	        "usage: praas-pat-agent [--config PATH] [--check-config] [--debug] "
	        "[--log-file PATH] [--allow-empty-database] [--copy-database-from PATH] "
	        "[--version] [--help]\n");
	exit(status);
}

/*
 * Whether the REST listen address is a loopback one (127.0.0.0/8, ::1): only
 * then does auth = "none" (every caller an admin) stay on this host.
 */
static bool listen_is_loopback(const char *listen)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, listen, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, listen, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/*
 * The TLS pair loads, or the start (and --check-config) fails here, before
 * anything is restored, with the file and OpenSSL's reason.
 */
static int check_tls(const struct config *cfg)
{
	struct tls *t = NULL;
	char *cause = NULL;
	int r;

	if (cfg->tls_certificate == NULL)
		return 0;
	if ((r = tls_new(cfg->tls_certificate, cfg->tls_key, &t, &cause)) < 0)
		fprintf(stderr, "praas-pat-agent: %s\n", cause ? cause : strerror(-r));
	free(cause);
	tls_free(t);
	return r;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	log_info("Signal %d: finishing requests in flight, then stopping", (int)sig);
	a->stopping = true;
	routes_stop(a);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	int r = log_reopen(a->log_file);

	if (r < 0)
		log_warnx("Failed to reopen %s: %s", a->log_file, strerror(-r));
	else
		log_info("Logs reopened");
	routes_reload(a);
}

static void setup_signals(struct agent *a)
{
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	a->sig_term = evsignal_new(a->base, SIGTERM, on_stop, a);
	a->sig_int = evsignal_new(a->base, SIGINT, on_stop, a);
	a->sig_hup = evsignal_new(a->base, SIGHUP, on_hup, a);
	if (!a->sig_term || !a->sig_int || !a->sig_hup || evsignal_add(a->sig_term, NULL) < 0 ||
	        evsignal_add(a->sig_int, NULL) < 0 || evsignal_add(a->sig_hup, NULL) < 0)
		fatalx("Failed to set up signal events");
}

/* A namespace that came or went, carried out through the store gate (it reads and writes). */
struct ns_event {
	struct agent *a;
	bool present;
	char name[];
};

static void ns_event_run(void *arg)
{
	struct ns_event *e = arg;

	restore_namespace(e->a, e->name, e->present);
}

static void on_namespace(const char *name, enum nswatch_event ev, void *arg)
{
	struct agent *a = arg;
	size_t len = strlen(name) + 1;
	struct ns_event *e = malloc(sizeof(*e) + len);

	if (e == NULL) {
		log_warnx("Namespace %s: out of memory: not restored", name);
		return;
	}
	e->a = a;
	e->present = ev == NSWATCH_ADDED;
	memcpy(e->name, name, len);
	if (storeq_run(a->storeq, ns_event_run, free, e) < 0) {
		log_warnx("Namespace %s: out of memory: not restored", name);
		free(e);
	}
}

/*
 * The routers' tables are this node's state, written by one agent: a second
 * one (same netns_dir) would rewrite them to its own database, so it stops
 * here, before it reads or writes any.
 */
static void claim_netns_dir(struct agent *a)
{
	char *cause = NULL;
	int r;

	if ((r = netns_dir_lock(a->cfg.netns_dir, &a->netns_lock, &cause)) < 0)
		fatalx("Cannot start: %s", cause ? cause : strerror(-r));
}

/* A database that is not there yet, or an empty file: SQLite makes it anew. */
static bool database_is_new(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode) && st.st_size == 0;
}

/*
 * A database made at this start would restore "no forwardings" into every
 * router: a typo in `database`, a state directory not mounted, a removed
 * file. When router tables hold forwarded ports, refuse before the file is
 * made (so the next start refuses again) unless the operator said so.
 */
static void guard_new_database(struct agent *a)
{
	size_t routers, elems;
	int r;

	/* MariaDB: the database must exist (the store refuses an unknown one); no file of ours. */
	if (config_database_is_url(&a->cfg) || !database_is_new(a->cfg.database))
		return;
	if ((r = restore_count_kernel_state(a, &routers, &elems)) < 0)
		fatalx("Cannot start: the database %s is new and the router tables under %s cannot "
		       "be checked: %s",
		        config_database_name(&a->cfg), a->cfg.netns_dir, strerror(-r));
	if (routers == 0)
		return;
	if (a->allow_empty_database) {
		log_warnx("The database %s is new: --allow-empty-database empties %zu router "
		          "table%s (%zu forwarded port%s)",
		        config_database_name(&a->cfg), routers, routers == 1 ? "" : "s", elems,
		        elems == 1 ? "" : "s");
		return;
	}
	fatalx("Cannot start: the database %s does not exist (or is empty), but %zu router "
	       "table%s under %s hold %zu forwarded port%s that a start would delete. Check "
	       "`database` and that its directory is mounted, or restore the file from a backup; "
	       "to start empty and delete them, run once with --allow-empty-database",
	        config_database_name(&a->cfg), routers, routers == 1 ? "" : "s", a->cfg.netns_dir,
	        elems, elems == 1 ? "" : "s");
}

/*
 * The password of database_password_file: its first line. Read at start
 * only, kept no longer than the connection needs it.
 */
static void read_db_password(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (f == NULL)
		fatalx("Cannot start: database_password_file %s: %s", path, strerror(errno));
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		fatalx("Cannot start: database_password_file %s: empty", path);
	if (strlen(buf) == len - 1 && buf[len - 2] != '\n')
		fatalx("Cannot start: database_password_file %s: the first line is longer than %zu "
		       "bytes",
		        path, len - 2);
	buf[strcspn(buf, "\r\n")] = '\0';
}

static int open_one(struct agent *a, struct store **out, char **cause)
{
	char password[512];
	int r;

	if (a->cfg.database_password_file == NULL) {
		r = store_open(a->cfg.database, out, cause);
	} else {
		read_db_password(a->cfg.database_password_file, password, sizeof(password));
		r = store_open_auth(a->cfg.database, password, out, cause);
		explicit_bzero(password, sizeof(password));
	}
	if (r == 0)
		store_set_timeout(*out, (unsigned int)(a->cfg.database_timeout * 1000));
	return r;
}

/*
 * The store, and on MariaDB a second connection for the requests' reads:
 * a read never queues behind a write waiting for the server (another
 * client's row lock, a slow commit), nor a write behind a long listing.
 * On SQLite one connection does both (reads are local and quick).
 */
static int open_store(struct agent *a, char **cause)
{
	int r;

	if ((r = open_one(a, &a->store, cause)) < 0)
		return r;
	if (!store_is_shared(a->store)) {
		a->reads = a->store;
		return 0;
	}
	return open_one(a, &a->reads, cause);
}

/*
 * --copy-database-from PATH: the SQLite database of one node copied into
 * the database praas.conf names (a MariaDB for many nodes), then exit.
 * Run with the agents stopped; the target must hold no forwardings.
 */
static int copy_database(struct agent *a, const char *from_path)
{
	struct store *from = NULL;
	char *cause = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	/* store_open() would make a missing file: a typo must not copy "nothing". */
	if (stat(from_path, &st) < 0) {
		fprintf(stderr, "praas-pat-agent: %s: %s\n", from_path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "praas-pat-agent: %s: not a regular file\n", from_path);
		return 1;
	}
	if ((r = store_open(from_path, &from, &cause)) < 0 ||
	        (r = open_one(a, &a->store, &cause)) < 0 ||
	        (r = store_copy(from, a->store, &n, &cause)) < 0) {
		fprintf(stderr, "praas-pat-agent: copy %s to %s: %s\n", from_path,
		        config_database_name(&a->cfg), cause ? cause : strerror(-r));
		free(cause);
		store_close(from);
		return 1;
	}
	printf("copied %zu forwardings from %s to %s\n", n, from_path,
	        config_database_name(&a->cfg));
	store_close(from);
	return 0;
}

/* The database, the allocator and the kernel: the agent's own state. */
static void open_state(struct agent *a)
{
	char *cause = NULL;
	int r;

	if ((r = kernel_new(&a->cfg, &a->kernel)) < 0)
		fatalx("Failed to set up the kernel state: %s", strerror(-r));
	guard_new_database(a);
	if ((r = open_store(a, &cause)) < 0)
		fatalx("Failed to open the database %s: %s", config_database_name(&a->cfg),
		        cause ? cause : strerror(-r));
	if ((r = portalloc_new(a->store, &a->cfg.router_port_range, &a->alloc)) < 0)
		fatalx("Failed to set up port allocation: %s", strerror(-r));
	if (storeq_new(a->base, store_is_shared(a->store), &a->storeq) < 0 ||
	        storeq_new(a->base, store_is_shared(a->store), &a->readq) < 0)
		fatalx("Failed to set up the store gate: out of memory");
	a->engine = (struct engine){.store = a->store,
	        .gate = a->storeq,
	        .alloc = a->alloc,
	        .kernel = a->kernel,
	        .cfg = &a->cfg};
	if (engine_batch_start(&a->engine, a->base) < 0)
		fatalx("Failed to set up the group commit: out of memory");
}

static void open_openstack(struct agent *a)
{
	struct keystone *ks = NULL;
	char *cause = NULL;
	int r;

	if (!config_standalone(&a->cfg)) {
		if ((r = osclient_open(a->base, &a->cfg, &a->os, &cause)) < 0)
			fatalx("Failed to set up OpenStack: %s", cause ? cause : strerror(-r));
		ks = a->os->keystone;
	}
	if (routers_new(a->kernel, a->os ? a->os->neutron : NULL, &a->routers) < 0 ||
	        auth_new(&a->cfg, ks, &a->auth) < 0)
		fatalx("out of memory");
	routers_set_ha_confs_path(a->routers, a->cfg.ha_confs_path);
}

/*
 * Before the restore: the control socket (a second agent given the same
 * one stops here, having written nothing) and the namespace watch (what
 * is there now is restored by restore_all(), what comes after by the
 * watch: each namespace once).
 */
static void open_control(struct agent *a)
{
	char *cause = NULL;
	int r;

	if ((r = control_handlers_open(a, &cause)) < 0)
		fatalx("Failed to open the control socket %s: %s", a->cfg.control_socket,
		        cause ? cause : strerror(-r));
	/* qrouter- (legacy and HA routers) and DVR's snat- (lib/gateway-ns.h). */
	if ((r = nswatch_new(a->base, a->cfg.netns_dir, a->cfg.namespace_prefix, false,
	             on_namespace, a, &a->watch, &cause)) < 0 ||
	        (r = nswatch_new(a->base, a->cfg.netns_dir, GATEWAY_NS_DVR_PREFIX, false,
	                 on_namespace, a, &a->watch_dvr, &cause)) < 0)
		fatalx("Failed to watch %s: %s", a->cfg.netns_dir, cause ? cause : strerror(-r));
}

static void open_listeners(struct agent *a)
{
	char *cause = NULL;
	int r;

	if ((r = routes_open(a, &cause)) < 0)
		fatalx("Cannot serve the REST API on %s port %d: %s", a->cfg.listen,
		        a->cfg.port_app, cause ? cause : strerror(-r));
	/* With Neutron the monitor reports gateway moves; without, the agent looks itself. */
	if (routers_follow_gateways(a->routers) && (r = gateways_new(a, &a->gateways)) < 0)
		fatalx("Failed to start following gateway addresses: %s", strerror(-r));
}

static void close_all(struct agent *a)
{
	/* Changes still queued are carried out and answered before their calls go. */
	engine_batch_stop(&a->engine);
	heartbeat_free(a->heartbeat);
	census_free(a->census);
	follow_free(a->follow);
	readcopy_free(a->readcopy);
	routes_close(a);
	if (a->control)
		control_close(a->control);
	gateways_free(a->gateways);
	nswatch_free(a->watch);
	nswatch_free(a->watch_dvr);
	auth_free(a->auth);
	routers_free(a->routers);
	osclient_close(a->os);
	kernel_free(a->kernel);
	portalloc_free(a->alloc);
	if (a->reads != a->store)
		store_close(a->reads);
	store_close(a->store);
	storeq_free(a->storeq);
	storeq_free(a->readq);
	event_free(a->sig_term);
	event_free(a->sig_int);
	event_free(a->sig_hup);
	event_base_free(a->base);
	if (a->netns_lock >= 0 && close(a->netns_lock) < 0)
		log_warn("close %s", a->cfg.netns_dir);
	config_free(&a->cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", no_argument, NULL, 'n'},
	        {"debug", no_argument, NULL, 'd'},
	        {"log-file", required_argument, NULL, 'l'},
	        {"allow-empty-database", no_argument, NULL, 'E'},
	        {"copy-database-from", required_argument, NULL, 'C'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH, *copy_from = NULL;
	bool check_only = false, debug = false;
	char *cause = NULL;
	struct agent a;
	int c, r;

	memset(&a, 0, sizeof(a));
	a.netns_lock = -1;
	while ((c = getopt_long(argc, argv, "c:ndl:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'l':
			a.log_file = optarg;
			break;
		case 'E':
			a.allow_empty_database = true;
			break;
		case 'C':
			copy_from = optarg;
			break;
		case 'V':
			printf("praas-pat-agent %s\n", PRAAS_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	config_load_or_exit("praas-pat-agent", path, false, &a.cfg);
	if ((r = config_check_database_dir(&a.cfg, &cause)) < 0) {
		fprintf(stderr, "praas-pat-agent: %s\n", cause ? cause : strerror(-r));
		free(cause);
		config_free(&a.cfg);
		return 1;
	}
	if (cause != NULL)
		fprintf(stderr, "praas-pat-agent: %s\n", cause);
	free(cause);
	cause = NULL;
	if (check_tls(&a.cfg) < 0) {
		config_free(&a.cfg);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		config_free(&a.cfg);
		return 0;
	}
	if (copy_from != NULL) {
		r = copy_database(&a, copy_from);
		store_close(a.store);
		config_free(&a.cfg);
		return r;
	}
	log_init("praas-pat-agent", debug ? LOG_LEVEL_DEBUG : a.cfg.log_level);
	if (a.log_file != NULL && (r = log_reopen(a.log_file)) < 0)
		fatalx("Failed to open %s: %s", a.log_file, strerror(-r));
	/*
	 * A flood of connections must meet our own cap, not the descriptor
	 * table's: use all the descriptors we are allowed (see nofile.h).
	 */
	nofile_raise_logged();
	claim_netns_dir(&a); /* before the umask: a netns_dir made here is 0755, as ip makes it */
	umask(077);
	/*
	 * A listing builds its answer in many small buffers and frees them once
	 * sent; glibc would give the memory back at once and fault it in again
	 * on the next listing (a tenth of a 10,000 listing's time). Keep up
	 * to 8 MiB of it.
	 */
	if (mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024) != 1)
		log_debug("mallopt(M_TRIM_THRESHOLD) refused");

	if ((a.base = event_base_new()) == NULL)
		fatalx("Failed to create the event loop");
	open_state(&a);
	open_openstack(&a);
	setup_signals(&a);
	open_control(&a);
	/* Follow first: it reads the anchors restore_all()'s rebuilds are followed from. */
	if ((r = follow_start(&a, &a.follow)) < 0)
		fatalx("Failed to follow the other agents: %s", strerror(-r));
	restore_all(&a);
	if ((r = heartbeat_start(&a, &a.heartbeat)) < 0)
		fatalx("Failed to start the heartbeat: %s", strerror(-r));
	if ((r = census_new(&a, &a.census)) < 0)
		fatalx("Failed to count the forwardings: %s", strerror(-r));
	open_listeners(&a);
	log_info("Started %s: %s on %s port %d, %s", PRAAS_VERSION, config_database_name(&a.cfg),
	        a.cfg.listen, a.cfg.port_app, a.os ? "with OpenStack" : "standalone");
	if (a.cfg.auth == CONFIG_AUTH_NONE && !listen_is_loopback(a.cfg.listen))
		log_warnx("auth = \"none\" with listen = \"%s\": every caller that reaches port "
		          "%d is an admin; listen on 127.0.0.1 or use auth = \"keystone\"",
		        a.cfg.listen, a.cfg.port_app);

	task_set_loop_running(true);
	if (event_base_dispatch(a.base) < 0)
		fatalx("The event loop failed");
	/* Work still queued or waiting for the database ends before anything it uses goes. */
	storeq_drain(a.storeq);
	storeq_drain(a.readq);
	task_set_loop_running(false);
	close_all(&a);
	log_info("Stopped");
	return 0;
}
