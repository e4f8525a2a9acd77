/* The CLI's output formats: aligned tables (UTF-8 counted once), json, value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static const struct column cols[] = {
        {"id", "ID", NULL, NULL},
        {"port", "Port", NULL, NULL},
        {"masquerade", "Masquerade", NULL, NULL},
        {"description", "Description", NULL, NULL},
        {"missing", "Missing", NULL, NULL},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

/* Runs fn into a memory stream; returns the text (caller frees). */
static char *capture_object(enum output_format fmt, struct json_object *obj)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	output_object(f, fmt, obj, cols, NCOLS);
	assert_int_equal(fclose(f), 0);
	return text;
}

static char *capture_list(enum output_format fmt, struct json_object *arr)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	output_list(f, fmt, arr, cols, NCOLS);
	assert_int_equal(fclose(f), 0);
	return text;
}

static struct json_object *row(const char *id, int port, const char *description)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "port", json_object_new_int(port));
	json_object_object_add(o, "masquerade", json_object_new_boolean(port % 2));
	json_object_object_add(
	        o, "description", description ? json_object_new_string(description) : NULL);
	return o;
}

static void test_format_names(void **state)
{
	assert_int_equal(output_format_parse("table"), OUTPUT_TABLE);
	assert_int_equal(output_format_parse("json"), OUTPUT_JSON);
	assert_int_equal(output_format_parse("value"), OUTPUT_VALUE);
	assert_int_equal(output_format_parse("yaml"), -1);
	assert_int_equal(output_format_parse(""), -1);
}

static void test_object_table(void **state)
{
	struct json_object *o = row("a1", 4022, "ünïcode/ok");
	char *t = capture_object(OUTPUT_TABLE, o);

	assert_string_equal(t,
	        "+-------------+------------+\n"
	        "| Field       | Value      |\n"
	        "+-------------+------------+\n"
	        "| id          | a1         |\n"
	        "| port        | 4022       |\n"
	        "| masquerade  | False      |\n"
	        "| description | ünïcode/ok |\n"
	        "| missing     | None       |\n"
	        "+-------------+------------+\n");
	free(t);
	json_object_put(o);
}

static void test_object_value_and_json(void **state)
{
	struct json_object *o = row("a1", 7, NULL), *back;
	char *t = capture_object(OUTPUT_VALUE, o);

	assert_string_equal(t, "a1\n7\nTrue\nNone\nNone\n");
	free(t);
	t = capture_object(OUTPUT_JSON, o);
	assert_non_null(strstr(t, "\n  \"id\": \"a1\",\n"));
	back = json_tokener_parse(t);
	assert_non_null(back);
	assert_int_equal(json_object_get_int(json_object_object_get(back, "port")), 7);
	json_object_put(back);
	free(t);
	json_object_put(o);
}

static void test_list_table(void **state)
{
	struct json_object *a = json_object_new_array();
	char *t;

	json_object_array_add(a, row("first", 1, "x"));
	json_object_array_add(a, row("second-longer", 65535, "é"));
	t = capture_list(OUTPUT_TABLE, a);
	assert_string_equal(t,
	        "+---------------+-------+------------+-------------+---------+\n"
	        "| ID            | Port  | Masquerade | Description | Missing |\n"
	        "+---------------+-------+------------+-------------+---------+\n"
	        "| first         | 1     | True       | x           | None    |\n"
	        "| second-longer | 65535 | True       | é           | None    |\n"
	        "+---------------+-------+------------+-------------+---------+\n");
	free(t);
	t = capture_list(OUTPUT_VALUE, a);
	assert_string_equal(t, "first 1 True x None\nsecond-longer 65535 True é None\n");
	free(t);
	json_object_put(a);
}

static void test_empty_list(void **state)
{
	struct json_object *a = json_object_new_array();
	char *t = capture_list(OUTPUT_TABLE, a);

	assert_string_equal(t,
	        "+----+------+------------+-------------+---------+\n"
	        "| ID | Port | Masquerade | Description | Missing |\n"
	        "+----+------+------------+-------------+---------+\n");
	free(t);
	t = capture_list(OUTPUT_VALUE, a);
	assert_string_equal(t, "");
	free(t);
	t = capture_list(OUTPUT_JSON, a);
	assert_string_equal(t, "[]\n");
	free(t);
	json_object_put(a);
}

/* hosts: a forwarding's replicas, as openstack prints a list of dicts. */
static struct json_object *with_hosts(void)
{
	struct json_object *o = json_object_new_object(), *hosts = json_object_new_array(), *h;

	json_object_object_add(o, "id", json_object_new_string("f1"));
	h = json_object_new_object();
	json_object_object_add(h, "host", json_object_new_string("node-a"));
	json_object_object_add(h, "namespace", json_object_new_string("qrouter-1"));
	json_object_object_add(h, "status", json_object_new_string("ACTIVE"));
	json_object_array_add(hosts, h);
	h = json_object_new_object();
	json_object_object_add(h, "host", json_object_new_string("node-b"));
	json_object_object_add(h, "namespace", json_object_new_string("qrouter-1"));
	json_object_object_add(h, "status", json_object_new_string("ERROR"));
	json_object_object_add(h, "error", json_object_new_string("Operation not permitted"));
	json_object_array_add(hosts, h);
	json_object_object_add(o, "hosts", hosts);
	return o;
}

static char *capture(
        bool list, enum output_format fmt, struct json_object *v, const struct column *c, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	if (list)
		output_list(f, fmt, v, c, n);
	else
		output_object(f, fmt, v, c, n);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_hosts(void **state)
{
#define RULE                                                                                       \
	"+-------+-------------------------------------------------------------------------------" \
	"----"                                                                                     \
	"----+\n"
	static const struct column show[] = {
	        {"id", "ID", NULL, NULL},
	        {"hosts", "Hosts", NULL, NULL},
	};
	static const struct column list[] = {
	        {"id", "ID", NULL, NULL},
	        {"hosts", "Hosts", "host", "status"},
	};
	struct json_object *o = with_hosts(), *a = json_object_new_array(), *none;
	char *t = capture(false, OUTPUT_TABLE, o, show, 2);

	/* One host a line, keys sorted, the row as tall as its lines. */
	assert_string_equal(t,
	        RULE
	        "| Field | Value                                                                   "
	        "    "
	        "          |\n" RULE "| id    | f1                                                 "
	        "                         "
	        "          |\n"
	        "| hosts | host='node-a', namespace='qrouter-1', status='ACTIVE'                   "
	        "    "
	        "          |\n"
	        "|       | error='Operation not permitted', host='node-b', namespace='qrouter-1', "
	        "status='ERROR' |\n" RULE);
#undef RULE
	free(t);
	t = capture(false, OUTPUT_JSON, o, show, 2);
	assert_non_null(strstr(t, "\"error\": \"Operation not permitted\""));
	free(t);
	json_object_array_add(a, json_object_get(o));
	none = json_object_new_object();
	json_object_object_add(none, "id", json_object_new_string("f2"));
	json_object_object_add(none, "hosts", json_object_new_array());
	json_object_array_add(a, none);
	t = capture(true, OUTPUT_TABLE, a, list, 2);
	assert_string_equal(t,
	        "+----+-----------------------------+\n"
	        "| ID | Hosts                       |\n"
	        "+----+-----------------------------+\n"
	        "| f1 | node-a=ACTIVE, node-b=ERROR |\n"
	        "| f2 |                             |\n"
	        "+----+-----------------------------+\n");
	free(t);
	t = capture(true, OUTPUT_VALUE, a, list, 2);
	assert_string_equal(t, "f1 node-a=ACTIVE, node-b=ERROR\nf2 \n");
	free(t);
	/* Other arrays: joined by ", ", a null as None (never a crash). */
	none = json_object_new_object();
	json_object_object_add(none, "id", json_object_new_string("f3"));
	json_object_object_add(none, "hosts", json_object_new_array());
	json_object_array_add(json_object_object_get(none, "hosts"), json_object_new_string("x"));
	json_object_array_add(json_object_object_get(none, "hosts"), NULL);
	t = capture(false, OUTPUT_VALUE, none, show, 2);
	assert_string_equal(t, "f3\nx, None\n");
	free(t);
	json_object_put(none);
	json_object_put(a);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format_names),
	        cmocka_unit_test(test_object_table),
	        cmocka_unit_test(test_object_value_and_json),
	        cmocka_unit_test(test_list_table),
	        cmocka_unit_test(test_empty_list),
	        cmocka_unit_test(test_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
