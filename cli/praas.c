/*
 * praas: the command-line client for PRaaS port forwardings.
 *
 *   praas [--url URL | --config PATH] [--os-cloud NAME] [-f table|json|value]
 *         (forwarding | agent) COMMAND ...
 *
 * The global options may also follow the command, as with the openstack
 * CLI ("praas forwarding list -f json").
 *
 * Exit status: 0 done, 1 the service refused (its words on one line),
 * 2 a usage error (with a usage line on stderr).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "praas-build.h"

#define GLOBAL_USAGE                                                                               \
	"praas [--url URL | --config PATH] [--os-cloud NAME] [-f table|json|value] "               \
	"[--timeout SECONDS] (forwarding | agent) COMMAND [ARGS]"

/* The command groups: the word after praas, and its commands. */
static const struct cli_command *const groups[] = {cli_forwarding_commands, cli_agent_commands};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: " GLOBAL_USAGE "\n\ncommands:\n");
	for (size_t g = 0; g < NGROUPS; g++)
		for (const struct cli_command *c = groups[g]; c->name; c++)
			fprintf(out, "  praas %s %s %s\n      %s\n", c->group, c->name, c->usage,
			        c->help);
	fprintf(out,
	        "\noptions (before or after the command):\n"
	        "  --url URL          the PRaaS service (else PRAAS_URL, else the Keystone\n"
	        "                     catalog's \"praas\" endpoint)\n"
	        "  --config PATH      on a network node: the pat-agent this praas.conf\n"
	        "                     describes (its listen address and port_app)\n"
	        "  --os-cloud NAME    credentials from clouds.yaml (else OS_CLOUD, else OS_*\n"
	        "                     variables; without any, requests carry no token)\n"
	        "  -f, --format FMT   table (default), json or value\n"
	        "  --timeout SECONDS  give up on a request after this long (default 30)\n"
	        "  -h, --help         this text; \"praas forwarding COMMAND --help\" for one "
	        "command\n"
	        "  --version          the version\n\n"
	        "Exit status: 0 done, 1 the service refused, 2 a usage error.\n");
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("praas: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, "usage: praas %s %s %s\n", cmd->group, cmd->name, cmd->usage);
	else
		fprintf(stderr, "usage: " GLOBAL_USAGE "\n");
	return EXIT_USAGE;
}

int cli_session(struct cli *cli)
{
	char *error = NULL;

	if (cli->session != NULL)
		return 0;
	if (session_open(&cli->session_opts, &cli->session, &error) < 0) {
		fprintf(stderr, "praas: %s\n", error ? error : "cannot connect");
		free(error);
		return -1;
	}
	return 0;
}

int cli_global_option(struct cli *cli, const struct cli_command *cmd, int opt, const char *arg)
{
	char *end;
	double t;
	int fmt;

	switch (opt) {
	case CLI_OPT_URL:
		cli->session_opts.url = arg;
		return 0;
	case CLI_OPT_OS_CLOUD:
		cli->session_opts.os_cloud = arg;
		return 0;
	case CLI_OPT_CONFIG:
		cli->session_opts.config = arg;
		return 0;
	case 'f':
		if ((fmt = output_format_parse(arg)) < 0)
			return cli_usage_error(
			        cmd, "-f must be table, json or value, not \"%s\"", arg);
		cli->format = (enum output_format)fmt;
		return 0;
	case CLI_OPT_TIMEOUT:
		t = strtod(arg, &end);
		if (end == arg || *end != '\0' || !(t > 0 && t <= 3600))
			return cli_usage_error(
			        cmd, "--timeout takes seconds, more than 0 and at most 3600");
		cli->session_opts.timeout_ms = (long)(t * 1000);
		return 0;
	}
	return -1;
}

int cli_bad_option(const struct cli_command *cmd, int c, char **argv)
{
	/* With opterr = 0, getopt leaves the words to us: one line, then usage. */
	const char *word = argv[optind - 1];
	char shortopt[3] = {'-', (char)optopt, '\0'};

	if (optopt > 0 && optopt < 128 && optopt != 'f' && optopt != 'h')
		word = shortopt; /* "-x", also inside a cluster like "-xf" */
	if (c == ':')
		return cli_usage_error(cmd, "option %s needs a value", word);
	return cli_usage_error(cmd, "unknown option %s", word);
}

static int parse_global(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"url", required_argument, NULL, CLI_OPT_URL},
	        {"os-cloud", required_argument, NULL, CLI_OPT_OS_CLOUD},
	        {"config", required_argument, NULL, CLI_OPT_CONFIG},
	        {"format", required_argument, NULL, 'f'},
	        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("praas %s\n", PRAAS_VERSION);
			exit(0);
		case '?':
		case ':':
			return cli_bad_option(NULL, c, argv);
		default:
			if ((r = cli_global_option(cli, NULL, c, optarg)) != 0)
				return r;
		}
	}
	return 0;
}

/* "praas forwarding", "praas forwarding --help": the commands of the group. */
static int group_help(const char *group, const char *word)
{
	if (word == NULL)
		return cli_usage_error(NULL, "which %s command? (%s)", group,
		        strcmp(group, "agent") == 0 ? "list" : "create, list, show, set, delete");
	if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0 || strcmp(word, "help") == 0) {
		usage(stdout);
		exit(0);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli cli = {.format = OUTPUT_TABLE};
	const struct cli_command *cmd;
	size_t g;
	int r;

	if ((r = parse_global(&cli, argc, argv)) != 0)
		return r;
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cli_usage_error(NULL, "no command given (see praas --help)");
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (g = 0; g < NGROUPS && strcmp(argv[0], groups[g]->group) != 0; g++)
		;
	if (g == NGROUPS)
		return cli_usage_error(NULL, "unknown command \"%s\" (see praas --help)", argv[0]);
	if ((r = group_help(argv[0], argc > 1 ? argv[1] : NULL)) >= 0)
		return r;
	for (cmd = groups[g]; cmd->name; cmd++)
		if (strcmp(argv[1], cmd->name) == 0)
			break;
	if (cmd->name == NULL)
		return cli_usage_error(
		        NULL, "unknown command \"%s %s\" (see praas --help)", argv[0], argv[1]);
	optind = 0; /* the command parses its own options afresh */
	r = cmd->exec(&cli, argc - 1, argv + 1);
	session_close(cli.session);
	return r;
}
