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

/* A field as the openstack CLI shows it: null as "None", strings bare. */
static const char *cell(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return "None";
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "True" : "False";
	return json_object_get_string(v);
}

/* Display width in characters, counting UTF-8 sequences once. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
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

static void row(FILE *out, const char *const *cells, const size_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "| %s%*s ", cells[i], (int)(w[i] - width(cells[i])), "");
	fputs("|\n", out);
}

/* Draws a box: heads[ncols] then rows of cells[nrows][ncols]. */
static void table(
        FILE *out, const char *const *heads, const char *const *cells, size_t nrows, size_t ncols)
{
	size_t *w = calloc(ncols, sizeof(*w));

	if (w == NULL)
		return;
	for (size_t c = 0; c < ncols; c++) {
		w[c] = width(heads[c]);
		for (size_t r = 0; r < nrows; r++)
			if (width(cells[r * ncols + c]) > w[c])
				w[c] = width(cells[r * ncols + c]);
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

void output_object(FILE *out, enum output_format fmt, struct json_object *obj,
        const struct column *cols, size_t ncols)
{
	static const char *const heads[] = {"Field", "Value"};
	const char **cells;

	if (fmt == OUTPUT_JSON) {
		fprintf(out, "%s\n", json_object_to_json_string_ext(obj, JSON_OUTPUT_FLAGS));
		return;
	}
	if (fmt == OUTPUT_VALUE) {
		for (size_t i = 0; i < ncols; i++)
			fprintf(out, "%s\n", cell(obj, cols[i].key));
		return;
	}
	cells = calloc(ncols * 2, sizeof(*cells));
	if (cells == NULL)
		return;
	for (size_t i = 0; i < ncols; i++) {
		cells[i * 2] = cols[i].key;
		cells[i * 2 + 1] = cell(obj, cols[i].key);
	}
	table(out, heads, cells, ncols, 2);
	free(cells);
}

void output_list(FILE *out, enum output_format fmt, struct json_object *array,
        const struct column *cols, size_t ncols)
{
	size_t n = json_object_array_length(array);
	const char **heads, **cells;

	if (fmt == OUTPUT_JSON) {
		/* json-c writes an empty array as "[\n]" when pretty. */
		fprintf(out, "%s\n",
		        n ? json_object_to_json_string_ext(array, JSON_OUTPUT_FLAGS) : "[]");
		return;
	}
	if (fmt == OUTPUT_VALUE) {
		for (size_t r = 0; r < n; r++)
			for (size_t c = 0; c < ncols; c++)
				fprintf(out, "%s%s",
				        cell(json_object_array_get_idx(array, r), cols[c].key),
				        c + 1 < ncols ? " " : "\n");
		return;
	}
	heads = calloc(ncols, sizeof(*heads));
	cells = calloc(n * ncols + 1, sizeof(*cells));
	if (heads != NULL && cells != NULL) {
		for (size_t c = 0; c < ncols; c++)
			heads[c] = cols[c].heading;
		for (size_t r = 0; r < n; r++)
			for (size_t c = 0; c < ncols; c++)
				cells[r * ncols + c] =
				        cell(json_object_array_get_idx(array, r), cols[c].key);
		table(out, heads, cells, n, ncols);
	}
	free(heads);
	free(cells);
}
