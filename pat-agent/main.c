/*
 * praas-pat-agent: the REST API of PRaaS and the only writer of its
 * database and of the kernel state in router namespaces.
 *
 *   praas-pat-agent [--config PATH] [--check-config] [--debug] [--log-file PATH]
 *
 * Start-up reads like OpenSMTPD's process entries: arguments, config,
 * open what needs privileges, signals as events, then the loop.
 */
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
#include "control.h"
#include "gateways.h"
#include "kernel.h"
#include "log.h"
#include "nswatch.h"
#include "osclient.h"
#include "portalloc.h"
#include "praas-build.h"
#include "routers.h"
#include "routes.h"
#include "store.h"

static void usage(void)
{
	fprintf(stderr,
	        "usage: praas-pat-agent [--config PATH] [--check-config] [--debug] "
	        "[--log-file PATH]\n");
	exit(2);
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

static void on_namespace(const char *name, enum nswatch_event ev, void *arg)
{
	restore_namespace(arg, name, ev == NSWATCH_ADDED);
}

/* The database, the allocator and the kernel: the agent's own state. */
static void open_state(struct agent *a)
{
	char *cause = NULL;
	int r;

	if ((r = store_open(a->cfg.database, &a->store, &cause)) < 0)
		fatalx("Failed to open the database %s: %s", a->cfg.database,
		        cause ? cause : strerror(-r));
	if ((r = portalloc_new(a->store, &a->cfg.router_port_range, &a->alloc)) < 0)
		fatalx("Failed to set up port allocation: %s", strerror(-r));
	if ((r = kernel_new(&a->cfg, &a->kernel)) < 0)
		fatalx("Failed to set up the kernel state: %s", strerror(-r));
	a->engine = (struct engine){
	        .store = a->store, .alloc = a->alloc, .kernel = a->kernel, .cfg = &a->cfg};
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
	if (routers_new(a->base, a->kernel, a->os ? a->os->neutron : NULL, &a->routers) < 0 ||
	        auth_new(&a->cfg, ks, &a->auth) < 0)
		fatalx("out of memory");
}

static void open_listeners(struct agent *a)
{
	char *cause = NULL;
	int r;

	if ((r = nswatch_new(a->base, a->cfg.netns_dir, a->cfg.namespace_prefix, on_namespace, a,
	             &a->watch, &cause)) < 0)
		fatalx("Failed to watch %s: %s", a->cfg.netns_dir, cause ? cause : strerror(-r));
	if ((r = control_ops_open(a, &cause)) < 0)
		fatalx("Failed to open the control socket %s: %s", a->cfg.control_socket,
		        cause ? cause : strerror(-r));
	if ((r = routes_open(a, &cause)) < 0)
		fatalx("Failed to listen on %s port %d: %s", a->cfg.listen, a->cfg.port_app,
		        cause ? cause : strerror(-r));
	/* With Neutron the monitor reports gateway moves; standalone, the agent looks itself. */
	if (a->os == NULL && (r = gateways_new(a, &a->gateways)) < 0)
		fatalx("Failed to start following gateway addresses: %s", strerror(-r));
}

static void close_all(struct agent *a)
{
	routes_close(a);
	if (a->control)
		control_close(a->control);
	gateways_free(a->gateways);
	nswatch_free(a->watch);
	auth_free(a->auth);
	routers_free(a->routers);
	osclient_close(a->os);
	kernel_free(a->kernel);
	portalloc_free(a->alloc);
	store_close(a->store);
	event_free(a->sig_term);
	event_free(a->sig_int);
	event_free(a->sig_hup);
	event_base_free(a->base);
	config_free(&a->cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", no_argument, NULL, 'n'},
	        {"debug", no_argument, NULL, 'd'},
	        {"log-file", required_argument, NULL, 'l'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check_only = false, debug = false;
	struct agent a;
	int c, r;

	memset(&a, 0, sizeof(a));
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
		case 'V':
			printf("praas-pat-agent %s\n", PRAAS_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	config_load_or_exit("praas-pat-agent", path, check_only, &a.cfg);
	log_init("praas-pat-agent", debug ? LOG_LEVEL_DEBUG : a.cfg.log_level);
	if (a.log_file != NULL && (r = log_reopen(a.log_file)) < 0)
		fatalx("Failed to open %s: %s", a.log_file, strerror(-r));
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
	restore_all(&a);
	open_listeners(&a);
	log_info("Started %s: %s on %s port %d, %s", PRAAS_VERSION, a.cfg.database, a.cfg.listen,
	        a.cfg.port_app, a.os ? "with OpenStack" : "standalone");

	if (event_base_dispatch(a.base) < 0)
		fatalx("The event loop failed");
	close_all(&a);
	log_info("Stopped");
	return 0;
}
