/*
 * The praas command-line client: shared state and the command table
 * (one entry per command, as tmux's cmd_table).
 */
#ifndef PRAAS_CLI_H
#define PRAAS_CLI_H

#include "output.h"
#include "session.h"

#define EXIT_REFUSED 1 /* the service (or OpenStack) said no */
#define EXIT_USAGE   2

struct cli {
	struct session_options session_opts;
	enum output_format format;
	struct session *session; /* opened by the first command that needs it */
};

struct cli_command {
	const char *group; /* "forwarding", "agent" */
	const char *name;  /* "create" */
	const char *usage; /* the arguments after "praas forwarding create" */
	const char *help;  /* one line */
	int (*exec)(struct cli *cli, int argc, char **argv);
};

extern const struct cli_command cli_forwarding_commands[];
extern const struct cli_command cli_agent_commands[];

/* Codes of the global options a command also accepts (besides 'f'). */
enum {
	CLI_OPT_URL = 200,
	CLI_OPT_OS_CLOUD,
	CLI_OPT_TIMEOUT,
	CLI_OPT_CONFIG,
};

/* The global options in a command's getopt_long table (they may follow the command). */
#define CLI_GLOBAL_OPTIONS                                                                         \
	{"url", required_argument, NULL, CLI_OPT_URL},                                             \
	        {"os-cloud", required_argument, NULL, CLI_OPT_OS_CLOUD},                           \
	        {"config", required_argument, NULL, CLI_OPT_CONFIG},                               \
	        {"format", required_argument, NULL, 'f'},                                          \
	{                                                                                          \
		"timeout", required_argument, NULL, CLI_OPT_TIMEOUT                                \
	}

/*
 * Applies global option opt (its argument arg). 0 when taken, EXIT_USAGE
 * after a usage error (for cmd, or the global usage when NULL), -1 when opt
 * is not a global option.
 */
int cli_global_option(struct cli *cli, const struct cli_command *cmd, int opt, const char *arg);
/* Reports getopt's '?' or ':' for the last word read; returns EXIT_USAGE. */
int cli_bad_option(const struct cli_command *cmd, int c, char **argv);

/* Opens the session if needed; prints the error and returns -1 on failure. */
int cli_session(struct cli *cli);
/* Prints "praas: message" and returns EXIT_USAGE after the command's usage line. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif
