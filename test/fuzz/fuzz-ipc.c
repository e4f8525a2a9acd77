/*
 * libFuzzer harness: the control socket line parser, and the round trip:
 * an accepted request, formatted again, parses to the same request. The
 * answer parser gets the same bytes.
 */
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_request req, back;
	struct ipc_answer ans;
	struct evbuffer *b;
	char *error = NULL;

	if (ipc_request_parse((const char *)data, size, &req, &error) != 0) {
		if (error == NULL)
			abort();
		free(error);
	} else if ((b = evbuffer_new()) != NULL) {
		if (ipc_request_format(b, &req) != 0)
			abort();
		size_t len = evbuffer_get_length(b);
		const char *line = (const char *)evbuffer_pullup(b, -1);
		if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL)
			abort(); /* one request, one line */
		if (ipc_request_parse(line, len - 1, &back, &error) != 0)
			abort();
		if (memcmp(&req, &back, sizeof(req)) != 0)
			abort();
		evbuffer_free(b);
	}
	if (ipc_answer_parse((const char *)data, size, &ans, &error) == 0) {
		struct forwarding *f;
		size_t n;

		const char *next = ipc_answer_next_marker(&ans);
		volatile size_t touched = next ? strlen(next) : 0; /* ASan checks the read */

		(void)touched;
		if (ipc_answer_forwardings(&ans, &f, &n, &error) == 0)
			free(f);
		else
			free(error);
		ipc_answer_clear(&ans);
	} else {
		free(error);
	}
	return 0;
}
