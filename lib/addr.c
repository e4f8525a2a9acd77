#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int addr_parse(const char *text, struct addr *out)
{
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, text, &out->u.v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &out->u.v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* Dotted quad without inet_ntop's sprintf: listings format two per forwarding. */
static const char *format_v4(const struct in_addr *in, char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)&in->s_addr;
	char out[INET_ADDRSTRLEN];
	size_t o = 0;

	for (int i = 0; i < 4; i++) {
		if (b[i] >= 100)
			out[o++] = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			out[o++] = (char)('0' + b[i] / 10 % 10);
		out[o++] = (char)('0' + b[i] % 10);
		out[o++] = i < 3 ? '.' : '\0';
	}
	if (o > len)
		return NULL;
	memcpy(buf, out, o);
	return buf;
}

const char *addr_format(const struct addr *a, char *buf, size_t len)
{
	if (a->family == AF_INET && format_v4(&a->u.v4, buf, len) != NULL)
		return buf;
	if (a->family == 0 || inet_ntop(a->family, &a->u, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "-");
	return buf;
}

size_t addr_len(const struct addr *a)
{
	switch (a->family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(&a->u, &b->u, addr_len(a)) == 0;
}

int cidr_parse(const char *text, struct cidr *out)
{
	char buf[ADDR_STRLEN + 8];
	const char *slash;
	char *end;
	long len;
	int r;

	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) >= sizeof(buf))
		return -EINVAL;
	slash = strchr(text, '/');
	if (slash == NULL) {
		r = addr_parse(text, &out->addr);
		out->prefixlen = (unsigned int)addr_len(&out->addr) * 8;
		return r;
	}
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = '\0';
	if ((r = addr_parse(buf, &out->addr)) < 0)
		return r;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || len < 0 || (size_t)len > addr_len(&out->addr) * 8)
		return -EINVAL;
	out->prefixlen = (unsigned int)len;
	return 0;
}

bool cidr_contains(const struct cidr *net, const struct addr *a)
{
	unsigned int full = net->prefixlen / 8, rest = net->prefixlen % 8;

	if (net->addr.family != a->family)
		return false;
	if (memcmp(net->addr.u.bytes, a->u.bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr.u.bytes[full] & mask) == (a->u.bytes[full] & mask);
}
