/*
 * The CLI's output, with the openstack CLI's habits: -f table (aligned
 * boxes; a Field/Value table for one object), -f json (parseable), -f value
 * (bare values, one object a line). Arrays (a forwarding's hosts) print
 * readably, as openstack prints such fields; -f json keeps the JSON.
 */
#ifndef PRAAS_CLI_OUTPUT_H
#define PRAAS_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

struct json_object;

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_VALUE,
};

/*
 * One column: the JSON key and its heading. An array of objects shows one
 * object a line ("k1='v1', k2='v2'", as openstack does), or, when
 * brief_name is set (a list's column), each as "NAME=VALUE" of those two
 * keys, all on one line.
 */
struct column {
	const char *key;
	const char *heading;
	const char *brief_name, *brief_value;
};

/* "table", "json", "value"; -1 for anything else. */
int output_format_parse(const char *name);

/* One object: every column as a Field/Value row. */
void output_object(FILE *out, enum output_format fmt, struct json_object *obj,
        const struct column *cols, size_t ncols);

/* A list of objects: one row each. */
void output_list(FILE *out, enum output_format fmt, struct json_object *array,
        const struct column *cols, size_t ncols);

#endif
