/*
 * libFuzzer harness: the query-string parsers, legacy (Proxy CLI) and v1
 * list filters. The first byte picks the legacy op, the rest is the query.
 * Whatever the legacy parser accepts must give answers that are valid JSON.
 */
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-text.h"
#include "legacy-wire.h"
#include "list-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(struct evbuffer *b)
{
	struct json_object *o = NULL;
	char why[96];
	size_t len = evbuffer_get_length(b);

	if (json_text_parse((const char *)evbuffer_pullup(b, -1), len, &o, why, sizeof(why)) != 0 ||
	        !json_object_is_type(o, json_type_object))
		abort();
	json_object_put(o);
	evbuffer_drain(b, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct legacy_request req;
	struct legacy_mapping m;
	struct evbuffer *b;
	char *query, *error = NULL;
	int r;

	if (size < 1)
		return 0;
	if ((query = malloc(size)) == NULL)
		return 0;
	memcpy(query, data + 1, size - 1);
	query[size - 1] = '\0';
	struct list_filter lf;
	for (int all = 0; all <= 1; all++) {
		if (list_filter_parse(query, all, &lf, &error) != 0 && error == NULL)
			abort();
		free(error);
		error = NULL;
	}
	r = legacy_parse((enum legacy_op)(data[0] % 5), query, &req, &error);
	free(query);
	if (r != 0) {
		if (error == NULL)
			abort();
		free(error);
		return 0;
	}
	if ((b = evbuffer_new()) == NULL)
		return 0;
	legacy_write_created(b, &req, 4022);
	check_json(b);
	legacy_write_already(b, &req, 4022);
	check_json(b);
	legacy_write_removed(b, &req, 4022);
	check_json(b);
	legacy_write_not_created(b, &req);
	check_json(b);
	legacy_write_modified(b, &req, 4022);
	check_json(b);
	legacy_write_used(b, &req, 4022);
	check_json(b);
	legacy_write_error(b, req.router_id);
	check_json(b);
	m.server_ip = req.server_ip;
	m.server_port = req.server_port;
	m.router_port = req.router_port;
	legacy_write_router_pat(b, &m, 1);
	check_json(b);
	legacy_write_router_server_pat(b, &m, 1);
	check_json(b);
	evbuffer_free(b);
	return 0;
}
