/*
 * praas: the command-line client for PRaaS port forwardings.
 *
 *   praas [--url URL] [--os-cloud NAME] [-f table|json|value] forwarding COMMAND ...
 *
 * Exit status: 0 done, 1 the service refused (its words on one line),
 * 2 a usage error.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "praas-build.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: praas [--url URL] [--os-cloud NAME] [-f table|json|value] "
	        "[--timeout SECONDS] forwarding COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = cli_forwarding_commands; c->name; c++)
		fprintf(out, "  praas %s %s %s\n      %s\n", c->group, c->name, c->usage, c->help);
	fprintf(out,
	        "\nThe service is --url, else PRAAS_URL, else the Keystone catalog's "
	        "\"praas\" entry.\nCredentials: --os-cloud or OS_CLOUD (clouds.yaml), "
	        "or OS_* variables;\nwithout any, requests carry no token.\n");
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

static int parse_global(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"url", required_argument, NULL, 'u'},
	        {"os-cloud", required_argument, NULL, 'c'},
	        {"format", required_argument, NULL, 'f'},
	        {"timeout", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	int c, fmt;
	char *end;
	double t;

	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			cli->session_opts.url = optarg;
			break;
		case 'c':
			cli->session_opts.os_cloud = optarg;
			break;
		case 'f':
			if ((fmt = output_format_parse(optarg)) < 0)
				return cli_usage_error(NULL, "-f must be table, json or value");
			cli->format = (enum output_format)fmt;
			break;
		case 't':
			t = strtod(optarg, &end);
			if (*end != '\0' || !(t > 0 && t <= 3600))
				return cli_usage_error(NULL, "--timeout takes seconds (0-3600]");
			cli->session_opts.timeout_ms = (long)(t * 1000);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("praas %s\n", PRAAS_VERSION);
			exit(0);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = {.format = OUTPUT_TABLE};
	const struct cli_command *cmd;
	int r;

	if ((r = parse_global(&cli, argc, argv)) != 0)
		return r;
	argc -= optind;
	argv += optind;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (cmd = cli_forwarding_commands; cmd->name; cmd++)
		if (strcmp(argv[0], cmd->group) == 0 && strcmp(argv[1], cmd->name) == 0)
			break;
	if (cmd->name == NULL)
		return cli_usage_error(
		        NULL, "unknown command \"%s %s\" (see praas --help)", argv[0], argv[1]);
	optind = 0; /* the command parses its own options afresh */
	r = cmd->exec(&cli, argc - 1, argv + 1);
	session_close(cli.session);
	return r;
}
