/*
 * praas-nftctl: a test tool that drives lib/nft and lib/conntrack from the
 * shell, so integration tests can change a router's table the way the
 * pat-agent does. Not part of the product.
 *
 * Forwardings are written PROTO,EXT_ADDR,EXT_PORTS,INT_ADDR,INT_PORTS[,masq]
 * with PORTS "N" or "N:M", e.g. tcp,203.0.113.1,4022,10.0.0.11,22 or
 * udp,2001:db8:1::1,5000:5009,2001:db8:2::11,5000:5009,masq. "-" reads
 * them from stdin, one a line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack.h"
#include "fwd.h"
#include "log.h"
#include "nft-build.h"
#include "nft-read.h"

struct ctl {
	const char *netns_dir;
	const char *ns;
	struct nft_opts opts;
	int repeat;
	bool no_conntrack;
	struct nft_conn *nft;
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: praas-nftctl [-d NETNS_DIR] [-n NETNS] [-t TABLE] [-m] [-o ONESHOT_MAX]\n"
	        "                    [-b BATCH_MAX] [-r REPEAT] [-C] COMMAND [FWD...]\n"
	        "commands: sync [FWD...|-]   add FWD   del FWD   replace OLD NEW\n"
	        "          read   check [FWD...|-]   drop   ct-flush FWD\n"
	        "FWD: PROTO,EXT_ADDR,EXT_PORTS,INT_ADDR,INT_PORTS[,masq]\n");
	exit(2);
}

static int parse_fwd(const char *text, struct forwarding *f)
{
	char *copy = strdup(text), *field[7] = {0}, *save = NULL, *p;
	const char *why;
	int n = 0, r = -EINVAL, proto;

	if (copy == NULL)
		fatal("strdup");
	memset(f, 0, sizeof(*f));
	for (p = strtok_r(copy, ",", &save); p && n < 7; p = strtok_r(NULL, ",", &save))
		field[n++] = p;
	if (n < 5 || n > 6 || (n == 6 && strcmp(field[5], "masq") != 0))
		goto out;
	if ((proto = fwd_protocol_parse(field[0])) < 0 ||
	        addr_parse(field[1], &f->external_addr) < 0 ||
	        port_range_parse(field[2], &f->external, &why) < 0 ||
	        addr_parse(field[3], &f->internal_addr) < 0 ||
	        port_range_parse(field[4], &f->internal, &why) < 0)
		goto out;
	f->protocol = (uint8_t)proto;
	f->masquerade = n == 6;
	snprintf(f->id, sizeof(f->id), "%s", text);
	r = fwd_validate(f, &why);
out:
	if (r < 0)
		log_warnx("bad forwarding \"%s\"", text);
	free(copy);
	return r;
}

/* Forwardings from argv, or from stdin when the only argument is "-". */
static struct forwarding *read_fwds(int argc, char **argv, size_t *n)
{
	struct forwarding *v = NULL;
	size_t cap = 0, cnt = 0;
	char *line = NULL;
	size_t llen = 0;
	bool from_stdin = argc == 1 && strcmp(argv[0], "-") == 0;
	int i = 0;

	for (;;) {
		const char *text;
		if (from_stdin) {
			ssize_t len = getline(&line, &llen, stdin);
			if (len < 0)
				break;
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
				line[--len] = '\0';
			if (len == 0)
				continue;
			text = line;
		} else {
			if (i >= argc)
				break;
			text = argv[i++];
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((v = realloc(v, cap * sizeof(*v))) == NULL)
				fatal("realloc");
		}
		if (parse_fwd(text, &v[cnt]) < 0)
			exit(2);
		cnt++;
	}
	free(line);
	*n = cnt;
	return v;
}

static int report(int r, char *cause, const char *what)
{
	if (r < 0) {
		log_warnx("%s: %s", what, cause ? cause : strerror(-r));
		free(cause);
		return 1;
	}
	free(cause);
	return 0;
}

static int ct_flush(struct ctl *c, const struct forwarding *f, size_t n)
{
	struct conntrack *ct;
	char *cause = NULL;
	int r;

	if ((r = conntrack_open(c->netns_dir, c->ns, &ct, &cause)) < 0)
		return report(r, cause, "conntrack");
	r = conntrack_flush_forwardings(ct, f, n, &cause);
	conntrack_close(ct);
	if (r >= 0)
		printf("conntrack: deleted %d\n", r);
	return report(r, cause, "conntrack");
}

static int cmd_sync(struct ctl *c, int argc, char **argv)
{
	size_t n;
	struct forwarding *v = read_fwds(argc, argv, &n);
	char *cause = NULL;
	int r = 0;

	for (int i = 0; i < c->repeat && r == 0; i++)
		r = nft_sync(c->nft, &c->opts, v, n, &cause);
	free(v);
	return report(r, cause, "sync");
}

static int cmd_apply(struct ctl *c, const struct forwarding *del, const struct forwarding *add)
{
	char *cause = NULL;
	int r;

	r = nft_apply(c->nft, &c->opts, del, add, &cause);
	if (r == NFT_REBUILT)
		printf("rebuilt\n");
	if (report(r, cause, "apply"))
		return 1;
	/* As the agent does: after the rules, the sessions of what went away. */
	if (del && !c->no_conntrack)
		return ct_flush(c, del, 1);
	return 0;
}

static void print_state(const struct nft_state *st)
{
	char buf[200];

	printf("table %s\n", st->table ? "present" : "absent");
	if (!st->table)
		return;
	printf("generation %d\n", st->generation);
	for (unsigned int i = 0; nft_chain_name(i); i++)
		if (st->chains & (1u << i))
			printf("chain %s\n", nft_chain_name(i));
	for (unsigned int i = 0; nft_rule_name(i); i++)
		if (st->rules & (1u << i))
			printf("rule %s\n", nft_rule_name(i));
	for (size_t i = 0; i < st->n; i++)
		printf("element %s\n", nft_elem_format(&st->elems[i], buf, sizeof(buf)));
	if (st->orphans)
		printf("orphans %zu\n", st->orphans);
}

static int cmd_read(struct ctl *c, int argc, char **argv, bool check)
{
	struct nft_state st;
	char *cause = NULL;
	int r;

	r = nft_read(c->nft, &c->opts, &st, &cause);
	if (report(r, cause, "read"))
		return 1;
	cause = NULL;
	if (!check) {
		print_state(&st);
	} else {
		size_t n;
		struct forwarding *v = read_fwds(argc, argv, &n);
		r = nft_compare(&st, &c->opts, v, n, &cause);
		free(v);
		if (r == 1)
			printf("drift: %s\n", cause ? cause : "?");
		else if (r == 0)
			printf("in sync\n");
		free(cause);
		cause = NULL;
		r = r == 0 ? 0 : 1;
	}
	nft_state_free(&st);
	return r;
}

static int run(struct ctl *c, const char *cmd, int argc, char **argv)
{
	struct forwarding a, b;

	if (strcmp(cmd, "sync") == 0)
		return cmd_sync(c, argc, argv);
	if (strcmp(cmd, "read") == 0 && argc == 0)
		return cmd_read(c, 0, NULL, false);
	if (strcmp(cmd, "check") == 0)
		return cmd_read(c, argc, argv, true);
	if (strcmp(cmd, "drop") == 0 && argc == 0) {
		char *cause = NULL;
		return report(nft_drop(c->nft, &c->opts, &cause), cause, "drop");
	}
	if (strcmp(cmd, "ct-flush") == 0 && argc > 1) {
		/* Several at once: the bulk path, one conntrack dump for all. */
		size_t n;
		struct forwarding *v = read_fwds(argc, argv, &n);
		int r = v ? ct_flush(c, v, n) : 2;

		free(v);
		return r;
	}
	if (argc == 1 && parse_fwd(argv[0], &a) < 0)
		return 2;
	if (strcmp(cmd, "add") == 0 && argc == 1)
		return cmd_apply(c, NULL, &a);
	if (strcmp(cmd, "del") == 0 && argc == 1)
		return cmd_apply(c, &a, NULL);
	if (strcmp(cmd, "ct-flush") == 0 && argc == 1)
		return ct_flush(c, &a, 1);
	if (strcmp(cmd, "replace") == 0 && argc == 2) {
		if (parse_fwd(argv[0], &a) < 0 || parse_fwd(argv[1], &b) < 0)
			return 2;
		return cmd_apply(c, &a, &b);
	}
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	struct ctl c = {.netns_dir = "/run/netns", .repeat = 1};
	char *cause = NULL;
	int opt, r;

	log_init("praas-nftctl", getenv("PRAAS_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	while ((opt = getopt(argc, argv, "d:n:t:mo:b:r:C")) != -1) {
		switch (opt) {
		case 'd':
			c.netns_dir = optarg;
			break;
		case 'n':
			c.ns = optarg;
			break;
		case 't':
			c.opts.table = optarg;
			break;
		case 'm':
			c.opts.masquerade = true;
			break;
		case 'o':
			c.opts.oneshot_max = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			c.opts.batch_max = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			c.repeat = atoi(optarg);
			break;
		case 'C':
			c.no_conntrack = true;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if ((r = nft_open(c.netns_dir, c.ns, &c.nft, &cause)) < 0)
		return report(r, cause, "open");
	r = run(&c, argv[optind], argc - optind - 1, argv + optind + 1);
	nft_close(c.nft);
	return r;
}
