/*
 * The router facts cache (router-cache.c) both backends keep: found by id,
 * replaced, forgotten, the least recently used dropped when full, and the
 * watch descriptor of every entry that goes closed (never leaked, never
 * closed twice).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "router-cache.h"

static struct router_info info_of(const char *id, const char *gw)
{
	struct router_info info;

	memset(&info, 0, sizeof(info));
	snprintf(info.id, sizeof(info.id), "%s", id);
	assert_int_equal(addr_parse(gw, &info.gateway4), 0);
	return info;
}

static bool open_fd(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int new_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void test_put_find_replace_forget(void **state)
{
	struct router_info a = info_of("r1", "203.0.113.1"), b = info_of("r1", "203.0.113.2");
	struct router_cache_entry *e;
	struct router_cache *c;
	int fd1 = new_fd(), fd2 = new_fd();
	struct addr want;

	(void)state;
	assert_int_equal(router_cache_new(4, &c), 0);
	assert_null(router_cache_find(c, "r1"));
	router_cache_put(c, &a, 1.0, fd1, 7, 8);
	e = router_cache_find(c, "r1");
	assert_non_null(e);
	assert_int_equal(e->watch_fd, fd1);
	assert_int_equal(e->ns_dev, 7);
	assert_int_equal(e->ns_ino, 8);
	/* Replacing the facts of a router closes the old watch and keeps one entry. */
	router_cache_put(c, &b, 2.0, fd2, 7, 9);
	assert_false(open_fd(fd1));
	assert_int_equal(router_cache_len(c), 1);
	e = router_cache_find(c, "r1");
	assert_int_equal(addr_parse("203.0.113.2", &want), 0);
	assert_true(addr_equal(&e->info.gateway4, &want));
	assert_true(e->fetched == 2.0);
	assert_null(router_cache_find(c, "r2"));
	router_cache_forget(c, "r1");
	assert_false(open_fd(fd2));
	assert_null(router_cache_find(c, "r1"));
	assert_int_equal(router_cache_len(c), 0);
	router_cache_forget(c, "r1"); /* unknown: nothing */
	router_cache_free(c);
}

static void test_lru_eviction_closes(void **state)
{
	struct router_cache *c;
	int fds[4];
	char id[8];

	(void)state;
	assert_int_equal(router_cache_new(3, &c), 0);
	for (int i = 0; i < 3; i++) {
		struct router_info info;
		snprintf(id, sizeof(id), "r%d", i);
		info = info_of(id, "203.0.113.1");
		fds[i] = new_fd();
		router_cache_put(c, &info, 0, fds[i], 0, 0);
	}
	/* r0 used last: r1 is now the least recently used, and goes. */
	assert_non_null(router_cache_find(c, "r0"));
	{
		struct router_info info = info_of("r3", "203.0.113.1");
		fds[3] = new_fd();
		router_cache_put(c, &info, 0, fds[3], 0, 0);
	}
	assert_int_equal(router_cache_len(c), 3);
	assert_null(router_cache_find(c, "r1"));
	assert_false(open_fd(fds[1]));
	assert_non_null(router_cache_find(c, "r0"));
	assert_non_null(router_cache_find(c, "r2"));
	assert_non_null(router_cache_find(c, "r3"));
	assert_true(open_fd(fds[0]) && open_fd(fds[2]) && open_fd(fds[3]));
	router_cache_free(c);
	assert_false(open_fd(fds[0]) || open_fd(fds[2]) || open_fd(fds[3]));
}

/* Many routers through a small cache: every slot reused, nothing lost or leaked. */
static void test_churn(void **state)
{
	struct router_cache *c;
	char id[16];

	(void)state;
	assert_int_equal(router_cache_new(8, &c), 0);
	for (int i = 0; i < 1000; i++) {
		struct router_info info;
		snprintf(id, sizeof(id), "r%d", i);
		info = info_of(id, "203.0.113.1");
		router_cache_put(c, &info, 0, -1, 0, 0);
		if (i % 3 == 0)
			router_cache_forget(c, id);
		assert_true(router_cache_len(c) <= 8);
	}
	for (int i = 992; i < 1000; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		if (i % 3 != 0)
			assert_non_null(router_cache_find(c, id));
		else
			assert_null(router_cache_find(c, id));
	}
	router_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_put_find_replace_forget),
	        cmocka_unit_test(test_lru_eviction_closes),
	        cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
