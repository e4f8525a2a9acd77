/*
 * praas agent list: the pat-agents sharing the service's database (GET
 * /v1/agents, admin only), as `openstack network agent list` shows
 * Neutron's agents: host, alive, routers hosted, how far behind.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct column agent_columns[] = {
        {"host", "Host", NULL, NULL},
        {"alive", "Alive", NULL, NULL},
        {"version", "Version", NULL, NULL},
        {"routers", "Routers", NULL, NULL},
        {"behind_ms", "Behind (ms)", NULL, NULL},
        {"last_seen", "Last Seen", NULL, NULL},
        {"started_at", "Started", NULL, NULL},
};

static int cmd_agent_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        CLI_GLOBAL_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	const struct cli_command *cmd = &cli_agent_commands[0];
	struct json_object *answer = NULL, *agents;
	char *error = NULL;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: praas %s %s %s\n\n%s\n", cmd->group, cmd->name, cmd->usage,
			        cmd->help);
			exit(0);
		}
		if (c == '?' || c == ':')
			return cli_bad_option(cmd, c, argv);
		if ((r = cli_global_option(cli, cmd, c, optarg)) != 0)
			return r < 0 ? cli_usage_error(cmd, "unknown option") : r;
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	if (cli_session(cli) < 0)
		return EXIT_REFUSED;
	if (session_request(cli->session, "GET", "/v1/agents", NULL, &answer, &error) < 0) {
		fprintf(stderr, "praas: %s\n", error ? error : "request failed");
		r = EXIT_REFUSED;
	} else if (answer == NULL || !json_object_object_get_ex(answer, "agents", &agents) ||
	        !json_object_is_type(agents, json_type_array)) {
		fprintf(stderr, "praas: the service's answer has no agents list\n");
		r = EXIT_REFUSED;
	} else {
		output_list(stdout, cli->format, agents, agent_columns, NELEM(agent_columns));
		r = 0;
	}
	json_object_put(answer);
	free(error);
	return r;
}

const struct cli_command cli_agent_commands[] = {
        {"agent", "list", "",
                "List the pat-agents sharing the service's database, alive or not (admin).",
                cmd_agent_list},
        {NULL, NULL, NULL, NULL, NULL},
};
