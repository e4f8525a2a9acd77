/*
 * libFuzzer harness for the MariaDB URL of `database` (lib/sqldb-url.c):
 * any bytes after "mysql://", split and freed. It must never crash, hang
 * or leak, and a refusal's reason never holds the URL's bytes (it holds
 * the password). Build with -Dfuzz=true and clang:
 *   build-fuzz/test/fuzz/fuzz-dburl test/fuzz/corpus/dburl
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqldb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + sizeof("mysql://"));
	struct sqldb_url u;
	const char *why = NULL;

	if (url == NULL)
		return 0;
	memcpy(url, "mysql://", 8);
	memcpy(url + 8, data, size);
	url[8 + size] = '\0';
	if (sqldb_url_parse(url, &u, &why) == 0) {
		if (u.port < 1 || u.port > 65535 || u.user == NULL || u.host == NULL ||
		        u.dbname == NULL)
			abort();
		sqldb_url_free(&u);
	} else if (why == NULL) {
		abort();
	}
	free(url);
	return 0;
}
