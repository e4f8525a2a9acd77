/* praas forwarding create | list | show | set | delete */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "fwd.h"
#include "http.h"

static const struct column show_columns[] = {
        {"id", "ID", NULL, NULL},
        {"router_id", "Router", NULL, NULL},
        {"project_id", "Project", NULL, NULL},
        {"protocol", "Protocol", NULL, NULL},
        {"external_ip_address", "External IP Address", NULL, NULL},
        {"external_port", "External Port", NULL, NULL},
        {"external_port_range", "External Port Range", NULL, NULL},
        {"internal_ip_address", "Internal IP Address", NULL, NULL},
        {"internal_port", "Internal Port", NULL, NULL},
        {"internal_port_range", "Internal Port Range", NULL, NULL},
        {"internal_port_id", "Internal Port ID", NULL, NULL},
        {"masquerade", "Masquerade", NULL, NULL},
        {"description", "Description", NULL, NULL},
        {"status", "Status", NULL, NULL},
        {"status_reason", "Status Reason", NULL, NULL},
        {"hosts", "Hosts", NULL, NULL},
        {"created_at", "Created At", NULL, NULL},
        {"updated_at", "Updated At", NULL, NULL},
};

/* Hosts in brief: "node-a=ACTIVE, node-b=BUILD". */
static const struct column list_columns[] = {
        {"id", "ID", NULL, NULL},
        {"router_id", "Router", NULL, NULL},
        {"protocol", "Protocol", NULL, NULL},
        {"external_ip_address", "External IP Address", NULL, NULL},
        {"external_port_range", "External Port Range", NULL, NULL},
        {"internal_ip_address", "Internal IP Address", NULL, NULL},
        {"internal_port_range", "Internal Port Range", NULL, NULL},
        {"status", "Status", NULL, NULL},
        {"description", "Description", NULL, NULL},
        {"hosts", "Hosts", "host", "status"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum {
	OPT_ROUTER = 256,
	OPT_INTERNAL_IP,
	OPT_PORT,
	OPT_INTERNAL_PORT,
	OPT_EXTERNAL_PORT,
	OPT_PROTOCOL,
	OPT_MASQUERADE,
	OPT_DESCRIPTION,
};

/* What the options of one command said. */
struct args {
	const char *router, *internal_ip, *port, *internal_port, *external_port, *protocol,
	        *description;
	bool masquerade;
	char **rest; /* positional arguments */
	int nrest;
};

static const struct option all_options[] = {
        {"router", required_argument, NULL, OPT_ROUTER},
        {"internal-ip", required_argument, NULL, OPT_INTERNAL_IP},
        {"port", required_argument, NULL, OPT_PORT},
        {"internal-port", required_argument, NULL, OPT_INTERNAL_PORT},
        {"external-port", required_argument, NULL, OPT_EXTERNAL_PORT},
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {"masquerade", no_argument, NULL, OPT_MASQUERADE},
        {"description", required_argument, NULL, OPT_DESCRIPTION},
        {"help", no_argument, NULL, 'h'},
        CLI_GLOBAL_OPTIONS,
        {NULL, 0, NULL, 0},
};

static void command_help(const struct cli_command *cmd)
{
	printf("usage: praas %s %s %s\n\n%s\n\n"
	       "Global options (--url, --config, --os-cloud, -f, --timeout) may come before or "
	       "after the "
	       "command;\nsee praas --help.\n",
	        cmd->group, cmd->name, cmd->usage, cmd->help);
}

/*
 * allowed lists the option codes this command takes. Options and
 * arguments may come in any order, as with the openstack CLI. 0, or the
 * exit status of a usage error.
 */
static int parse_args(struct cli *cli, const struct cli_command *cmd, int argc, char **argv,
        const int *allowed, struct args *a)
{
	int c, r;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:h", all_options, NULL)) != -1) {
		bool ok = false;

		if (c == 'h') {
			command_help(cmd);
			exit(0);
		}
		if (c == '?' || c == ':')
			return cli_bad_option(cmd, c, argv);
		if ((r = cli_global_option(cli, cmd, c, optarg)) >= 0) {
			if (r != 0)
				return r;
			continue;
		}
		for (const int *o = allowed; *o; o++)
			ok |= *o == c;
		if (!ok)
			return cli_usage_error(
			        cmd, "%s is not an option of this command", argv[optind - 1]);
		switch (c) {
		case OPT_ROUTER:
			a->router = optarg;
			break;
		case OPT_INTERNAL_IP:
			a->internal_ip = optarg;
			break;
		case OPT_PORT:
			a->port = optarg;
			break;
		case OPT_INTERNAL_PORT:
			a->internal_port = optarg;
			break;
		case OPT_EXTERNAL_PORT:
			a->external_port = optarg;
			break;
		case OPT_PROTOCOL:
			a->protocol = optarg;
			break;
		case OPT_MASQUERADE:
			a->masquerade = true;
			break;
		case OPT_DESCRIPTION:
			a->description = optarg;
			break;
		}
	}
	a->rest = argv + optind;
	a->nrest = argc - optind;
	return 0;
}

/* "22" -> "internal_port": 22; "22:30" -> "internal_port_range": "22:30". */
static int add_ports(const struct cli_command *cmd, struct json_object *pf, const char *text,
        const char *single, const char *range, const char *option)
{
	struct port_range r;
	const char *why;

	if (port_range_parse(text, &r, &why) < 0)
		return cli_usage_error(cmd, "%s \"%s\" %s", option, text, why);
	if (strchr(text, ':') == NULL)
		json_object_object_add(pf, single, json_object_new_int(r.lo));
	else
		json_object_object_add(pf, range, json_object_new_string(text));
	return 0;
}

/* --internal-ip must be an address; --port is the service's to judge. */
static int check_target(const struct cli_command *cmd, const struct args *a)
{
	struct addr ip;

	if (a->internal_ip && addr_parse(a->internal_ip, &ip) < 0)
		return cli_usage_error(
		        cmd, "--internal-ip \"%s\" is not an IP address", a->internal_ip);
	return 0;
}

static void add_target(struct json_object *pf, const struct args *a)
{
	if (a->internal_ip)
		json_object_object_add(
		        pf, "internal_ip_address", json_object_new_string(a->internal_ip));
	if (a->port)
		json_object_object_add(pf, "internal_port_id", json_object_new_string(a->port));
}

static int refused(const char *error)
{
	fprintf(stderr, "praas: %s\n", error ? error : "request failed");
	return EXIT_REFUSED;
}

/* Sends a request and prints the "port_forwarding" object of its answer. */
static int send_and_show(
        struct cli *cli, const char *method, const char *path, struct json_object *body)
{
	struct json_object *answer = NULL, *pf;
	char *error = NULL;
	int r;

	if (session_request(cli->session, method, path, body, &answer, &error) < 0) {
		r = refused(error);
	} else if (answer == NULL || !json_object_object_get_ex(answer, "port_forwarding", &pf)) {
		r = refused("the service's answer has no port_forwarding");
	} else {
		output_object(stdout, cli->format, pf, show_columns, NELEM(show_columns));
		r = 0;
	}
	json_object_put(answer);
	free(error);
	return r;
}

/* The router's id (a name is looked up in Neutron), escaped for a path. */
static char *router_path(struct cli *cli, const char *router, const char *tail)
{
	char *error = NULL, *id, *escaped, *path = NULL;

	id = session_router_id(cli->session, router, &error);
	if (id == NULL) {
		refused(error);
		free(error);
		return NULL;
	}
	escaped = http_escape(id);
	if (escaped == NULL ||
	        asprintf(&path, "/v1/routers/%s/port_forwardings%s", escaped, tail ? tail : "") < 0)
		path = NULL;
	free(escaped);
	free(id);
	return path;
}

static int cmd_create(struct cli *cli, int argc, char **argv)
{
	static const int allowed[] = {OPT_ROUTER, OPT_INTERNAL_IP, OPT_PORT, OPT_INTERNAL_PORT,
	        OPT_EXTERNAL_PORT, OPT_PROTOCOL, OPT_MASQUERADE, OPT_DESCRIPTION, 0};
	const struct cli_command *cmd = &cli_forwarding_commands[0];
	struct json_object *body, *pf;
	struct args a;
	char *path;
	int r;

	if ((r = parse_args(cli, cmd, argc, argv, allowed, &a)) != 0)
		return r;
	if (a.nrest > 0)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", a.rest[0]);
	if (a.router == NULL || a.internal_port == NULL || (!a.internal_ip && !a.port))
		return cli_usage_error(
		        cmd, "--router, --internal-port and --internal-ip or --port are required");
	if ((r = check_target(cmd, &a)) != 0)
		return r;
	if (a.protocol && fwd_protocol_parse(a.protocol) < 0)
		return cli_usage_error(cmd, "--protocol must be tcp or udp");
	pf = json_object_new_object();
	body = json_object_new_object();
	json_object_object_add(body, "port_forwarding", pf);
	if (add_ports(cmd, pf, a.internal_port, "internal_port", "internal_port_range",
	            "--internal-port") ||
	        (a.external_port &&
	                add_ports(cmd, pf, a.external_port, "external_port", "external_port_range",
	                        "--external-port"))) {
		json_object_put(body);
		return EXIT_USAGE;
	}
	add_target(pf, &a);
	json_object_object_add(
	        pf, "protocol", json_object_new_string(a.protocol ? a.protocol : "tcp"));
	if (a.masquerade)
		json_object_object_add(pf, "masquerade", json_object_new_boolean(1));
	if (a.description)
		json_object_object_add(pf, "description", json_object_new_string(a.description));
	if (cli_session(cli) < 0 || (path = router_path(cli, a.router, NULL)) == NULL) {
		json_object_put(body);
		return EXIT_REFUSED;
	}
	r = send_and_show(cli, "POST", path, body);
	free(path);
	json_object_put(body);
	return r;
}

/*
 * The path of a list answer's "next" link, or NULL at the last page. The
 * service gives path-absolute links; a full URL is cut to its path, since
 * the session's URL already says where the service is.
 */
static const char *next_path(struct json_object *answer)
{
	struct json_object *links, *link, *rel, *href;
	const char *h, *scheme;

	if (!json_object_object_get_ex(answer, "port_forwardings_links", &links) ||
	        !json_object_is_type(links, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(links); i++) {
		link = json_object_array_get_idx(links, i);
		if (!json_object_object_get_ex(link, "rel", &rel) ||
		        !json_object_object_get_ex(link, "href", &href) ||
		        strcmp(json_object_get_string(rel), "next") != 0)
			continue;
		h = json_object_get_string(href);
		if ((scheme = strstr(h, "://")) != NULL)
			h = strchr(scheme + 3, '/');
		return h != NULL && *h == '/' ? h : NULL;
	}
	return NULL;
}

/*
 * Lists every page: the service answers at most its pagination_max_limit
 * forwardings at a time and links to the next page.
 */
static int list_all_pages(struct cli *cli, const char *path, struct json_object *all)
{
	struct json_object *answer = NULL, *list;
	char *error = NULL, *at = strdup(path);
	const char *next;
	int r = 0;

	while (at != NULL && r == 0) {
		answer = NULL;
		if (session_request(cli->session, "GET", at, NULL, &answer, &error) < 0) {
			r = refused(error);
		} else if (answer == NULL ||
		        !json_object_object_get_ex(answer, "port_forwardings", &list) ||
		        !json_object_is_type(list, json_type_array)) {
			r = refused("the service's answer has no port_forwardings list");
		} else {
			for (size_t i = 0; i < json_object_array_length(list); i++)
				if (json_object_array_add(all,
				            json_object_get(json_object_array_get_idx(list, i))) <
				        0)
					r = refused("out of memory");
			next = json_object_array_length(list) > 0 ? next_path(answer) : NULL;
			/* A link back to the same page would never end. */
			if (next != NULL && strcmp(next, at) == 0)
				next = NULL;
			free(at);
			at = next ? strdup(next) : NULL;
			if (next != NULL && at == NULL)
				r = refused("out of memory");
		}
		json_object_put(answer);
		free(error);
		error = NULL;
	}
	free(at);
	return r;
}

static int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const int allowed[] = {OPT_ROUTER, 0};
	const struct cli_command *cmd = &cli_forwarding_commands[1];
	struct json_object *all;
	char *path;
	struct args a;
	int r;

	if ((r = parse_args(cli, cmd, argc, argv, allowed, &a)) != 0)
		return r;
	if (a.nrest > 0)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", a.rest[0]);
	if (cli_session(cli) < 0)
		return EXIT_REFUSED;
	path = a.router ? router_path(cli, a.router, NULL) : strdup("/v1/port_forwardings");
	if (path == NULL)
		return EXIT_REFUSED;
	if ((all = json_object_new_array()) == NULL)
		r = refused("out of memory");
	else if ((r = list_all_pages(cli, path, all)) == 0)
		output_list(stdout, cli->format, all, list_columns, NELEM(list_columns));
	json_object_put(all);
	free(path);
	return r;
}

/* "/ID" for a path, escaped. */
static char *id_tail(const char *id)
{
	char *escaped = http_escape(id), *tail = NULL;

	if (escaped == NULL || asprintf(&tail, "/%s", escaped) < 0)
		tail = NULL;
	free(escaped);
	return tail;
}

static int cmd_show(struct cli *cli, int argc, char **argv)
{
	static const int allowed[] = {OPT_ROUTER, 0};
	const struct cli_command *cmd = &cli_forwarding_commands[2];
	char *tail, *path;
	struct args a;
	int r;

	if ((r = parse_args(cli, cmd, argc, argv, allowed, &a)) != 0)
		return r;
	if (a.router == NULL || a.nrest != 1)
		return cli_usage_error(cmd, "--router and one ID are required");
	if (cli_session(cli) < 0 || (tail = id_tail(a.rest[0])) == NULL)
		return EXIT_REFUSED;
	path = router_path(cli, a.router, tail);
	free(tail);
	if (path == NULL)
		return EXIT_REFUSED;
	r = send_and_show(cli, "GET", path, NULL);
	free(path);
	return r;
}

static int cmd_set(struct cli *cli, int argc, char **argv)
{
	static const int allowed[] = {OPT_ROUTER, OPT_EXTERNAL_PORT, OPT_INTERNAL_PORT,
	        OPT_INTERNAL_IP, OPT_PORT, OPT_DESCRIPTION, 0};
	const struct cli_command *cmd = &cli_forwarding_commands[3];
	struct json_object *body, *pf;
	char *tail, *path;
	struct args a;
	int r;

	if ((r = parse_args(cli, cmd, argc, argv, allowed, &a)) != 0)
		return r;
	if (a.router == NULL || a.nrest != 1)
		return cli_usage_error(cmd, "--router and one ID are required");
	if (!a.external_port && !a.internal_port && !a.description && !a.internal_ip && !a.port)
		return cli_usage_error(cmd, "nothing to set");
	if ((r = check_target(cmd, &a)) != 0)
		return r;
	pf = json_object_new_object();
	body = json_object_new_object();
	json_object_object_add(body, "port_forwarding", pf);
	if ((a.external_port &&
	            add_ports(cmd, pf, a.external_port, "external_port", "external_port_range",
	                    "--external-port")) ||
	        (a.internal_port &&
	                add_ports(cmd, pf, a.internal_port, "internal_port", "internal_port_range",
	                        "--internal-port"))) {
		json_object_put(body);
		return EXIT_USAGE;
	}
	add_target(pf, &a);
	if (a.description)
		json_object_object_add(pf, "description", json_object_new_string(a.description));
	if (cli_session(cli) < 0 || (tail = id_tail(a.rest[0])) == NULL) {
		json_object_put(body);
		return EXIT_REFUSED;
	}
	path = router_path(cli, a.router, tail);
	free(tail);
	r = path ? send_and_show(cli, "PUT", path, body) : EXIT_REFUSED;
	free(path);
	json_object_put(body);
	return r;
}

static int cmd_delete(struct cli *cli, int argc, char **argv)
{
	static const int allowed[] = {OPT_ROUTER, 0};
	const struct cli_command *cmd = &cli_forwarding_commands[4];
	struct json_object *answer;
	char *tail, *base, *path, *error;
	struct args a;
	int r, status = 0;

	if ((r = parse_args(cli, cmd, argc, argv, allowed, &a)) != 0)
		return r;
	if (a.router == NULL || a.nrest < 1)
		return cli_usage_error(cmd, "--router and at least one ID are required");
	/* The router is resolved once, whatever the number of ids. */
	if (cli_session(cli) < 0 || (base = router_path(cli, a.router, NULL)) == NULL)
		return EXIT_REFUSED;
	/* Like `openstack ... delete`: try every id, report each failure, fail if any did. */
	for (int i = 0; i < a.nrest; i++) {
		error = NULL;
		answer = NULL;
		path = NULL;
		if ((tail = id_tail(a.rest[i])) == NULL ||
		        asprintf(&path, "%s%s", base, tail) < 0) {
			path = NULL;
			error = strdup("out of memory");
		} else {
			session_request(cli->session, "DELETE", path, NULL, &answer, &error);
		}
		if (error != NULL) {
			fprintf(stderr, "praas: %s: %s\n", a.rest[i], error);
			status = EXIT_REFUSED;
		}
		json_object_put(answer);
		free(error);
		free(path);
		free(tail);
	}
	free(base);
	return status;
}

const struct cli_command cli_forwarding_commands[] = {
        {"forwarding", "create",
                "--router ROUTER (--internal-ip IP | --port NEUTRON_PORT) --internal-port P[:END] "
                "[--external-port P[:END]] [--protocol tcp|udp] [--masquerade] "
                "[--description TEXT]",
                "Forward the router's gateway address and external port to a VM's address and "
                "port.",
                cmd_create},
        {"forwarding", "list", "[--router ROUTER]",
                "List the port forwardings of a router, or all you may see.", cmd_list},
        {"forwarding", "show", "--router ROUTER ID", "Show one port forwarding.", cmd_show},
        {"forwarding", "set",
                "--router ROUTER ID [--external-port P[:END]] [--internal-port P[:END]] "
                "[--internal-ip IP | --port NEUTRON_PORT] [--description TEXT]",
                "Change a port forwarding (the fields not given keep their values).", cmd_set},
        {"forwarding", "delete", "--router ROUTER ID [ID ...]", "Delete port forwardings.",
                cmd_delete},
        {NULL, NULL, NULL, NULL, NULL},
};
