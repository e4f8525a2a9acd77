/*
 * libFuzzer harness for the keepalived.conf parser (HA standbys' VIPs):
 * any bytes give a list or a refusal with a cause, never a crash, a hang
 * or a leak (run under ASan/UBSan). Build with -Dfuzz=true and clang:
 *   build/test/fuzz/fuzz-keepalived-conf test/fuzz/corpus/keepalived-conf
 * fuzz-replay.c feeds the corpus through it in every build (suite unit).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keepalived-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iface_addr *v = NULL;
	char *cause = NULL;
	size_t n = 0;
	int r = keepalived_conf_parse((const char *)data, size, &v, &n, &cause);

	/* A result is either a list or a refusal that says why, never both. */
	if ((r == 0) == (cause != NULL) || (r < 0 && (v != NULL || n != 0)))
		abort();
	for (size_t i = 0; i < n; i++)
		if (memchr(v[i].ifname, '\0', sizeof(v[i].ifname)) == NULL)
			abort();
	free(v);
	free(cause);
	return 0;
}
