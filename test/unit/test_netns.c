/* Unit tests for lib/netns: name checks and listing (no privileges needed). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns.h"

static void test_name_valid(void **state)
{
	char longname[300];

	assert_int_equal(netns_name_valid("qrouter-1b4c1c5e-0b5e-4d6a-9d3c-5f2e9c1e7a10"), 0);
	assert_int_equal(netns_name_valid(NULL), -EINVAL);
	assert_int_equal(netns_name_valid(""), -EINVAL);
	assert_int_equal(netns_name_valid("."), -EINVAL);
	assert_int_equal(netns_name_valid(".."), -EINVAL);
	assert_int_equal(netns_name_valid("../etc"), -EINVAL);
	assert_int_equal(netns_name_valid("a/b"), -EINVAL);
	assert_int_equal(netns_name_valid("a b"), -EINVAL);
	assert_int_equal(netns_name_valid("a\nb"), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(netns_name_valid(longname), -EINVAL);
	/* dots inside a name are fine */
	assert_int_equal(netns_name_valid("a..b"), 0);
}

static void touch(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void test_list(void **state)
{
	char dir[] = "/tmp/praas-netns-test-XXXXXX", missing[600];
	char **names;
	size_t n;

	assert_non_null(mkdtemp(dir));
	touch(dir, "qrouter-b");
	touch(dir, "qrouter-a");
	touch(dir, "other");
	assert_int_equal(netns_list(dir, "qrouter-", &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "qrouter-a");
	assert_string_equal(names[1], "qrouter-b");
	netns_list_free(names, n);
	assert_int_equal(netns_list(dir, NULL, &names, &n), 0);
	assert_int_equal(n, 3);
	netns_list_free(names, n);
	/* a plain file is not a namespace */
	assert_int_equal(netns_check(dir, "other"), 0);
	assert_int_equal(netns_check(dir, "absent"), 0);
	assert_int_equal(netns_check(dir, "../x"), -EINVAL);
	/* a missing directory is an empty list */
	snprintf(missing, sizeof(missing), "%s/none", dir);
	assert_int_equal(netns_list(missing, "", &names, &n), 0);
	assert_int_equal(n, 0);
	/* entering a name that leaves the directory is refused before any open */
	char *cause = NULL;
	struct mnl_socket *nl;
	assert_int_equal(netns_open_netlink(dir, "../etc", 12, &nl, &cause), -EINVAL);
	assert_non_null(cause);
	free(cause);
	assert_int_equal(netns_open_netlink(dir, "other", 12, &nl, &cause), -EINVAL);
	assert_non_null(strstr(cause, "not a network namespace"));
	free(cause);
	unlink(strcat(strcpy(missing, dir), "/qrouter-a"));
	unlink(strcat(strcpy(missing, dir), "/qrouter-b"));
	unlink(strcat(strcpy(missing, dir), "/other"));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_name_valid),
	        cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
