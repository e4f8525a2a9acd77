/*
 * libFuzzer harness for the clouds.yaml parser: any bytes, parsed as the
 * cloud "mycloud", then checked and copied. It must never crash, hang or
 * leak (run under ASan/UBSan). Build with -Dfuzz=true and clang:
 *   build/test/fuzz/fuzz-clouds test/fuzz/corpus/clouds
 * Without libFuzzer, fuzz-replay.c feeds the corpus through the same
 * function as a regression test.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "clouds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cloud c, copy;
	char *cause = NULL;

	if (clouds_parse((const char *)data, size, "fuzz", "mycloud", &c, &cause) == 0) {
		free(cause);
		cause = NULL;
		(void)cloud_check(&c, &cause);
		if (cloud_copy(&c, &copy) == 0)
			cloud_free(&copy);
		cloud_free(&c);
	}
	free(cause);
	return 0;
}
