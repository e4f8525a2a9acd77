/*
 * praas-monitor-agent: keeps forwardings true to what OpenStack and the
 * kernel say, by telling the pat-agent over its control socket.
 *
 *   praas-monitor-agent [--config PATH] [--check-config] [--debug]
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "lease.h"
#include "log.h"
#include "nofile.h"
#include "monitor.h"
#include "notify.h"
#include "osclient.h"
#include "praas-build.h"

/* --help: the text on stdout, exit 0; a usage error: the same on stderr, exit 2. */
__attribute__((noreturn)) static void usage(FILE *out, int status)
{
	fprintf(out,
	        "usage: praas-monitor-agent [--config PATH] [--check-config] [--debug] "
	        "[--version] [--help]\n");
	exit(status);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitor *m = arg;

	log_info("Signal %d: stopping", (int)sig);
	event_base_loopbreak(m->base);
}

static void on_ipc_state(bool connected, void *arg)
{
	struct monitor *m = arg;

	if (!connected) {
		log_warnx("Lost the pat-agent: reconnecting");
		return;
	}
	log_info("Connected to the pat-agent");
	lease_ask_now(m->lease); /* a poll need not wait for the next ask */
}

static void setup_signals(struct monitor *m)
{
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	m->sig_term = evsignal_new(m->base, SIGTERM, on_signal, m);
	m->sig_int = evsignal_new(m->base, SIGINT, on_signal, m);
	if (m->sig_term == NULL || m->sig_int == NULL || evsignal_add(m->sig_term, NULL) < 0 ||
	        evsignal_add(m->sig_int, NULL) < 0)
		fatalx("Failed to set up signal events");
}

/*
 * A cycle's large arrays (100,000 records, a table's elements) are
 * allocated and freed every period. glibc's default raises its mmap
 * threshold after the first such free, so later ones come from the heap
 * and stay resident as free holes: the monitor grew ~10 MB over a few
 * cycles at 100,000 forwardings. A fixed threshold keeps them mmapped
 * (returned on free, grown by mremap without a second copy).
 */
static void memory_setup(void)
{
	/* A hint: an allocator without it (ASan's) only keeps more resident. */
	if (mallopt(M_MMAP_THRESHOLD, 64 * 1024) != 1)
		log_debug("mallopt(M_MMAP_THRESHOLD) is not supported: large arrays may stay "
		          "resident");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", no_argument, NULL, 'n'},
	        {"debug", no_argument, NULL, 'd'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check_only = false, debug = false;
	struct monitor m;
	char *cause = NULL;
	int c;

	memset(&m, 0, sizeof(m));
	while ((c = getopt_long(argc, argv, "c:ndh", opts, NULL)) != -1) {
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
		case 'V':
			printf("praas-monitor-agent %s\n", PRAAS_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	config_load_or_exit("praas-monitor-agent", path, check_only, &m.cfg);
	memory_setup();
	log_init("praas-monitor-agent", debug ? LOG_LEVEL_DEBUG : m.cfg.log_level);

	/*
	 * A flood of connections must meet our own cap, not the descriptor
	 * table's: use all the descriptors we are allowed (see nofile.h).
	 */
	nofile_raise_logged();
	m.base = event_base_new();
	if (m.base == NULL)
		fatalx("Failed to create the event loop");
	m.nft.table = getenv("PRAAS_NFT_TABLE");
	m.nft.masquerade = m.cfg.masquerade;
	if (!config_standalone(&m.cfg) && osclient_open(m.base, &m.cfg, &m.os, &cause) < 0)
		fatalx("Failed to set up OpenStack: %s", cause ? cause : "out of memory");
	m.ipc = ipc_client_new(m.base, m.cfg.control_socket, on_ipc_state, &m);
	if (m.ipc == NULL)
		fatal("Failed to set up the control socket client for %s", m.cfg.control_socket);
	ipc_client_set_timeout(m.ipc, 60000);
	setup_signals(&m);
	if (monitor_start(&m) < 0)
		fatalx("Failed to start the reconcile timer");
	if (notify_new(&m, &m.notify, &cause) < 0)
		fatalx("Failed to set up notifications: %s", cause ? cause : "out of memory");
	/* Only the monitor holding the lease polls and consumes (lease.h). */
	if (lease_start(&m, &m.lease) < 0)
		fatalx("Failed to start asking for the monitor lease");
	log_info("Started: every %g s, %s%s", m.cfg.second_monitoring,
	        m.os ? "against Neutron and the kernel" : "standalone: kernel checks only",
	        m.notify ? ", and on Neutron's notifications" : "");

	if (event_base_dispatch(m.base) < 0)
		fatalx("The event loop failed");

	/*
	 * Pending answers fail first (a cycle waiting for its list ends there),
	 * then a cycle waiting for Neutron cancels its calls, then the client
	 * they were made on goes.
	 */
	lease_free(m.lease);
	notify_free(m.notify); /* its jobs waiting on the pat-agent are freed by the next line */
	ipc_client_free(m.ipc);
	monitor_stop(&m);
	osclient_close(m.os);
	event_free(m.sig_term);
	event_free(m.sig_int);
	event_base_free(m.base);
	config_free(&m.cfg);
	log_info("Stopped");
	return 0;
}
