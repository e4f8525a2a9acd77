/*
 * IPv4 and IPv6 addresses and prefixes, as PRaaS passes them around:
 * one tagged value type, parsed and printed in their usual text forms.
 */
#ifndef PRAAS_ADDR_H
#define PRAAS_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_STRLEN INET6_ADDRSTRLEN

struct addr {
	int family; /* AF_INET, AF_INET6, or 0 for "none" */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} u;
};

struct cidr {
	struct addr addr;
	unsigned int prefixlen;
};

/* 0, or -EINVAL when text is not a plain IPv4 or IPv6 address. */
int addr_parse(const char *text, struct addr *out);
/* Writes the canonical text form into buf (ADDR_STRLEN bytes); returns buf. */
const char *addr_format(const struct addr *a, char *buf, size_t len);
bool addr_equal(const struct addr *a, const struct addr *b);
/* Length of the address in bytes: 4, 16, or 0. */
size_t addr_len(const struct addr *a);

/* "192.0.2.0/24", "2001:db8::/32", or a bare address (a host prefix). */
int cidr_parse(const char *text, struct cidr *out);
bool cidr_contains(const struct cidr *net, const struct addr *a);

#endif
