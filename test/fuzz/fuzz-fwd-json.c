/*
 * libFuzzer harness: the v1 request body parser (create and update), the
 * decoder of rendered forwardings, and the invariant that whatever the
 * parser accepts renders to JSON that parses again.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwd-json.h"
#include "json-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render_reparses(const struct forwarding *f)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *o = NULL;
	char why[96];

	if (b == NULL)
		return;
	if (fwd_json_write(b, f) == 0) {
		size_t len = evbuffer_get_length(b);
		const char *text = (const char *)evbuffer_pullup(b, -1);
		if (json_text_parse(text, len, &o, why, sizeof(why)) != 0)
			abort(); /* we rendered something that is not JSON */
		json_object_put(o);
	}
	evbuffer_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct forwarding f;
	struct json_object *o = NULL;
	unsigned int given;
	char *why = NULL, reason[96];

	for (int op = FWD_JSON_CREATE; op <= FWD_JSON_UPDATE; op++) {
		int r = fwd_json_parse_request(text, size, (enum fwd_json_op)op, &f, &given, &why);
		if (r == 0) {
			if (why != NULL)
				abort();
			render_reparses(&f);
		} else if (r == -EINVAL && why == NULL) {
			abort(); /* every refusal says why */
		}
		free(why);
		why = NULL;
	}
	if (json_text_parse(text, size, &o, reason, sizeof(reason)) == 0 && o != NULL) {
		if (fwd_json_decode(o, &f, &why) == 0)
			render_reparses(&f);
		free(why);
		json_object_put(o);
	}
	return 0;
}
