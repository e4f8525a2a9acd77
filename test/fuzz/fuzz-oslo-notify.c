/*
 * libFuzzer harness: what arrives from the message bus (lib/oslo-notify.c)
 * and the transport_url of praas.conf (lib/transport-url.c). Invariants: a
 * parsed event of a followed kind has a valid id; a refusal says why; a
 * parsed URL has 1..16 hosts, each with a host name and a port.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oslo-notify.h"
#include "transport-url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const uint8_t *data, size_t size)
{
	struct oslo_event ev;
	char *cause = NULL;
	int r = oslo_notify_parse((const char *)data, size, &ev, &cause);

	if (r == 0 && ev.kind != OSLO_EVENT_OTHER &&
	        (ev.id[0] == '\0' ||
	                strspn(ev.id,
	                        "0123456789abcdefghijklmnopqrstuvwxyz"
	                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != strlen(ev.id)))
		abort();
	if (r == -EINVAL && cause == NULL)
		abort();
	free(cause);
}

static void check_url(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *cause = NULL;
	struct transport_url u;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (transport_url_parse(text, &u, &cause) == 0) {
		if (u.n == 0 || u.n > TRANSPORT_URL_MAX_HOSTS || u.vhost == NULL)
			abort();
		for (size_t i = 0; i < u.n; i++)
			if (u.hosts[i].host[0] == '\0' || u.hosts[i].port < 1 ||
			        u.hosts[i].port > 65535)
				abort();
		transport_url_free(&u);
	}
	free(cause);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_event(data, size);
	check_url(data, size);
	return 0;
}
