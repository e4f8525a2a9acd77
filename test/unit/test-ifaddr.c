/*
 * Interface addresses over rtnetlink, read in a private network namespace
 * (unshare in a child process, so nothing outlives the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ifaddr.h"

/* Runs in the child, inside a fresh namespace; exit status 0 means all held. */
static int check_in_namespace(void)
{
	struct iface_addr *list = NULL;
	const struct iface_addr *gw;
	struct mnl_socket *nl;
	struct addr in, out;
	size_t n = 0;

	if (system("ip link add qg-1234abcd type veth peer name peer-qg && ip link set qg-1234abcd "
	           "up &&"
	           "ip addr add 203.0.113.1/24 dev qg-1234abcd &&"
	           "ip addr add 2001:db8:1::1/64 dev qg-1234abcd nodad &&"
	           "ip link add qr-5678 type veth peer name peer-qr && ip link set qr-5678 up &&"
	           "ip addr add 10.0.0.1/24 dev qr-5678") != 0)
		return 10;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return 11;
	if (ifaddr_list(nl, &list, &n) < 0)
		return 12;
	mnl_socket_close(nl);
	gw = ifaddr_find(list, n, "qg-", AF_INET);
	if (gw == NULL || strcmp(gw->ifname, "qg-1234abcd") != 0 || gw->net.prefixlen != 24)
		return 13;
	if (addr_parse("203.0.113.1", &in) < 0 || !addr_equal(&gw->net.addr, &in))
		return 14;
	gw = ifaddr_find(list, n, "qg-", AF_INET6);
	if (gw == NULL || addr_parse("2001:db8:1::1", &in) < 0 || !addr_equal(&gw->net.addr, &in))
		return 15;
	if (ifaddr_find(list, n, "lo", AF_INET) != NULL) /* loopback is host scope */
		return 16;
	addr_parse("10.0.0.11", &in);
	addr_parse("10.0.1.11", &out);
	if (!ifaddr_subnet_contains(list, n, "qr-", &in) ||
	        ifaddr_subnet_contains(list, n, "qr-", &out) ||
	        ifaddr_subnet_contains(list, n, "qg-", &in))
		return 17;
	free(list);
	return 0;
}

/*
 * The address watch the standalone router facts rely on: quiet while
 * nothing changes, fired by each kind of change they depend on (an address
 * added or removed, a link renamed), each on a fresh watch.
 */
/*
 * Whether the watch fires within 2 s: an IPv6 address's notice comes from
 * the kernel's addrconf work queue, after `ip` has returned.
 */
static bool fired_soon(int fd)
{
	for (int i = 0; i < 200; i++) {
		if (ifaddr_watch_fired(fd))
			return true;
		usleep(10000);
	}
	return false;
}

static int check_watch_in_namespace(void)
{
	static const char *const changes[] = {
	        "ip addr add 10.0.0.1/24 dev qr-5678",
	        "ip addr add 2001:db8:2::1/64 dev qr-5678 nodad",
	        "ip addr del 10.0.0.1/24 dev qr-5678",
	        "ip link set qr-5678 down && ip link set qr-5678 name qx-5678",
	};
	int fd;

	if (system("ip link add qr-5678 type veth peer name peer-qr && ip link set qr-5678 up") !=
	        0)
		return 20;
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		if ((fd = ifaddr_watch_open()) < 0)
			return 21;
		if (ifaddr_watch_fired(fd)) /* nothing happened yet */
			return 22;
		if (system(changes[i]) != 0)
			return 23;
		if (!fired_soon(fd))
			return 30 + (int)i;
		close(fd);
	}
	return 0;
}

static void run_in_namespace(int (*check)(void))
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) < 0 ? 9 : check());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_list_in_namespace(void **state)
{
	(void)state;
	run_in_namespace(check_in_namespace);
}

static void test_watch_in_namespace(void **state)
{
	(void)state;
	run_in_namespace(check_watch_in_namespace);
}

/* Any readable socket stands for the watch: pending data or a closed peer fires it. */
static void test_watch_fired(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_false(ifaddr_watch_fired(sv[0]));
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_true(ifaddr_watch_fired(sv[0]));
	close(sv[1]);
	close(sv[0]);
	/* A closed descriptor is an error: fired, never "unchanged". */
	assert_true(ifaddr_watch_fired(sv[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_list_in_namespace),
	        cmocka_unit_test(test_watch_in_namespace),
	        cmocka_unit_test(test_watch_fired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
