#include "output.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Like the openstack CLI's -f json: indented, "key": "value", slashes as they are. */
#define JSON_OUTPUT_FLAGS                                                                          \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

int output_format_parse(const char *name)
{
	if (strcmp(name, "table") == 0)
		return OUTPUT_TABLE;
	if (strcmp(name, "json") == 0)
		return OUTPUT_JSON;
	if (strcmp(name, "value") == 0)
		return OUTPUT_VALUE;
	return -1;
}

/* A value's text; a JSON null (or a missing key) as "None", as openstack shows it. */
static const char *text_of(struct json_object *v)
{
	return v != NULL ? json_object_get_string(v) : "None";
}

/*
 * One object of a list as the openstack CLI's format_dict: "k1='v1',
 * k2='v2'", keys sorted (the first 32: a host has 4).
 */
static int put_dict(FILE *out, struct json_object *obj)
{
	const char *keys[32];
	size_t n = 0;

	json_object_object_foreach(obj, k, v)
	{
		(void)v;
		if (n < sizeof(keys) / sizeof(keys[0]))
			keys[n++] = k;
	}
	for (size_t i = 1; i < n; i++) /* a handful of keys: insertion sort */
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];

			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		struct json_object *val = json_object_object_get(obj, keys[i]);

		if (fprintf(out, "%s%s='%s'", i ? ", " : "", keys[i], text_of(val)) < 0)
			return -1;
	}
	return 0;
}

/* f, after writing sep unless this is the first element. */
static FILE *out_sep(FILE *f, size_t i, const char *sep)
{
	if (i > 0)
		fputs(sep, f);
	return f;
}

/*
 * An array as the openstack CLI shows one: objects one a line (its
 * format_list_of_dicts), or each as "NAME=VALUE" of col's brief keys, all
 * on one line; other values joined by ", ".
 */
static char *array_text(struct json_object *a, const struct column *col)
{
	char *text = NULL;
	size_t len = 0, n = json_object_array_length(a);
	FILE *f = open_memstream(&text, &len);
	int r = 0;

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct json_object *e = json_object_array_get_idx(a, i), *k, *v;

		if (col->brief_name != NULL && json_object_is_type(e, json_type_object) &&
		        json_object_object_get_ex(e, col->brief_name, &k) &&
		        json_object_object_get_ex(e, col->brief_value, &v))
			r = fprintf(out_sep(f, i, ", "), "%s=%s", text_of(k), text_of(v)) < 0;
		else if (json_object_is_type(e, json_type_object))
			r = put_dict(out_sep(f, i, "\n"), e);
		else
			r = fputs(text_of(e), out_sep(f, i, ", ")) < 0;
	}
	if (fclose(f) != 0 || r != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * A field as the openstack CLI shows it: null as "None", strings bare,
 * arrays as array_text(). Allocated; NULL when out of memory.
 */
static char *cell(struct json_object *obj, const struct column *col)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, col->key, &v) || v == NULL)
		return strdup("None");
	if (json_object_is_type(v, json_type_boolean))
		return strdup(json_object_get_boolean(v) ? "True" : "False");
	if (json_object_is_type(v, json_type_array))
		return array_text(v, col);
	return strdup(text_of(v));
}

/* Display width of a cell's first line (to '\n'), counting UTF-8 sequences once. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s && *s != '\n'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Line i of a cell ("" past its last), and its length in bytes. */
static const char *line(const char *s, size_t i, int *len)
{
	for (; i > 0; i--) {
		const char *nl = strchr(s, '\n');

		if (nl == NULL) {
			s = "";
			break;
		}
		s = nl + 1;
	}
	*len = (int)(strchrnul(s, '\n') - s);
	return s;
}

/* The widest line of a cell, and how many lines it has. */
static size_t cell_size(const char *s, size_t *lines)
{
	size_t w = 0;

	*lines = 0;
	do {
		if (width(s) > w)
			w = width(s);
		(*lines)++;
		s = strchr(s, '\n');
	} while (s++ != NULL);
	return w;
}

static void rule(FILE *out, const size_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fputc('+', out);
		for (size_t j = 0; j < w[i] + 2; j++)
			fputc('-', out);
	}
	fputs("+\n", out);
}

/* One row; a cell of many lines (hosts) makes it as many lines tall, as openstack's tables do. */
static void row(FILE *out, char *const *cells, const size_t *w, size_t n)
{
	size_t lines = 1, l;

	for (size_t i = 0; i < n; i++)
		if (cell_size(cells[i], &l), l > lines)
			lines = l;
	for (size_t k = 0; k < lines; k++) {
		for (size_t i = 0; i < n; i++) {
			int len;
			const char *s = line(cells[i], k, &len);

			fprintf(out, "| %.*s%*s ", len, s, (int)(w[i] - width(s)), "");
		}
		fputs("|\n", out);
	}
}

/* Draws a box: heads[ncols] then rows of cells[nrows][ncols]. */
static void table(FILE *out, char *const *heads, char *const *cells, size_t nrows, size_t ncols)
{
	size_t *w = calloc(ncols, sizeof(*w)), l, cw;

	if (w == NULL)
		return;
	for (size_t c = 0; c < ncols; c++) {
		w[c] = width(heads[c]);
		for (size_t r = 0; r < nrows; r++)
			if ((cw = cell_size(cells[r * ncols + c], &l)) > w[c])
				w[c] = cw;
	}
	rule(out, w, ncols);
	row(out, heads, w, ncols);
	rule(out, w, ncols);
	for (size_t r = 0; r < nrows; r++)
		row(out, cells + r * ncols, w, ncols);
	if (nrows > 0)
		rule(out, w, ncols);
	free(w);
}

static void cells_free(char **cells, size_t n)
{
	if (cells != NULL)
		for (size_t i = 0; i < n; i++)
			free(cells[i]);
	free(cells);
}

void output_object(FILE *out, enum output_format fmt, struct json_object *obj,
        const struct column *cols, size_t ncols)
{
	static char field[] = "Field", value[] = "Value";
	static char *const heads[] = {field, value};
	char **cells;

	if (fmt == OUTPUT_JSON) {
		fprintf(out, "%s\n", json_object_to_json_string_ext(obj, JSON_OUTPUT_FLAGS));
		return;
	}
	if ((cells = calloc(ncols * 2, sizeof(*cells))) == NULL)
		goto nomem;
	for (size_t i = 0; i < ncols; i++)
		if ((cells[i * 2] = strdup(cols[i].key)) == NULL ||
		        (cells[i * 2 + 1] = cell(obj, &cols[i])) == NULL)
			goto nomem;
	if (fmt == OUTPUT_VALUE)
		for (size_t i = 0; i < ncols; i++)
			fprintf(out, "%s\n", cells[i * 2 + 1]);
	else
		table(out, heads, cells, ncols, 2);
	cells_free(cells, ncols * 2);
	return;
nomem:
	cells_free(cells, ncols * 2);
	fputs("praas: out of memory\n", stderr);
}

void output_list(FILE *out, enum output_format fmt, struct json_object *array,
        const struct column *cols, size_t ncols)
{
	size_t n = json_object_array_length(array);
	char **heads = NULL, **cells = NULL;

	if (fmt == OUTPUT_JSON) {
		/* json-c writes an empty array as "[\n]" when pretty. */
		fprintf(out, "%s\n",
		        n ? json_object_to_json_string_ext(array, JSON_OUTPUT_FLAGS) : "[]");
		return;
	}
	if ((heads = calloc(ncols, sizeof(*heads))) == NULL ||
	        (cells = calloc(n * ncols + 1, sizeof(*cells))) == NULL)
		goto nomem;
	for (size_t c = 0; c < ncols; c++)
		if ((heads[c] = strdup(cols[c].heading)) == NULL)
			goto nomem;
	for (size_t r = 0; r < n; r++)
		for (size_t c = 0; c < ncols; c++)
			if ((cells[r * ncols + c] = cell(
			             json_object_array_get_idx(array, r), &cols[c])) == NULL)
				goto nomem;
	if (fmt == OUTPUT_VALUE)
		for (size_t r = 0; r < n; r++)
			for (size_t c = 0; c < ncols; c++)
				fprintf(out, "%s%s", cells[r * ncols + c],
				        c + 1 < ncols ? " " : "\n");
	else
		table(out, heads, cells, n, ncols);
	cells_free(heads, ncols);
	cells_free(cells, n * ncols);
	return;
nomem:
	cells_free(heads, ncols);
	cells_free(cells, n * ncols);
	fputs("praas: out of memory\n", stderr);
}
