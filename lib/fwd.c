#include "fwd.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "array-grow.h"

int fwd_protocol_parse(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	if (strcmp(name, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(name, "udp") == 0)
		return IPPROTO_UDP;
	return -EINVAL;
}

const char *fwd_protocol_name(uint8_t protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		return "?";
	}
}

const char *fwd_status_name(enum fwd_status status)
{
	switch (status) {
	case FWD_STATUS_ACTIVE:
		return "ACTIVE";
	case FWD_STATUS_BUILD:
		return "BUILD";
	case FWD_STATUS_ERROR:
		return "ERROR";
	default:
		return "DOWN";
	}
}

const char *fwd_reason_name(enum fwd_reason reason)
{
	switch (reason) {
	case FWD_REASON_NAMESPACE_ABSENT:
		return "namespace_absent";
	case FWD_REASON_KERNEL_REFUSED:
		return "kernel_refused";
	case FWD_REASON_APPLYING:
		return "applying";
	default:
		return NULL;
	}
}

int fwd_reason_parse(const char *name)
{
	if (name != NULL && strcmp(name, "namespace_absent") == 0)
		return FWD_REASON_NAMESPACE_ABSENT;
	if (name != NULL && strcmp(name, "kernel_refused") == 0)
		return FWD_REASON_KERNEL_REFUSED;
	if (name != NULL && strcmp(name, "applying") == 0)
		return FWD_REASON_APPLYING;
	return -EINVAL;
}

/* Reads a decimal port: digits only, 1..65535, no sign, no leading junk. */
static int parse_port(const char *s, const char *end, uint16_t *out)
{
	unsigned long v = 0;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (const char *p = s; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
}

int port_parse(const char *text, uint16_t *out, const char **why)
{
	int r;

	*why = NULL;
	if (text == NULL || *text == '\0') {
		*why = "is empty";
		return -EINVAL;
	}
	if ((r = parse_port(text, text + strlen(text), out)) < 0) {
		*why = r == -ERANGE ? "is not a port: outside 1-65535"
		                    : "is not a port (digits only, 1-65535)";
		return -EINVAL;
	}
	return 0;
}

int port_range_parse(const char *text, struct port_range *out, const char **why)
{
	const char *colon, *end;
	int r;

	*why = NULL;
	if (text == NULL || *text == '\0') {
		*why = "is empty";
		return -EINVAL;
	}
	end = text + strlen(text);
	colon = strchr(text, ':');
	if ((r = parse_port(text, colon ? colon : end, &out->lo)) < 0 ||
	        (colon && (r = parse_port(colon + 1, end, &out->hi)) < 0)) {
		*why = r == -ERANGE ? "has a port outside 1-65535"
		                    : "is not a port or a range \"N:M\" of ports";
		return -EINVAL;
	}
	if (colon == NULL)
		out->hi = out->lo;
	if (out->lo > out->hi) {
		*why = "has its first port above its last";
		return -EINVAL;
	}
	return 0;
}

const char *port_range_format(const struct port_range *r, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", r->lo, r->hi);
	return buf;
}

unsigned int port_range_len(const struct port_range *r)
{
	return (unsigned int)r->hi - r->lo + 1;
}

bool port_range_overlap(const struct port_range *a, const struct port_range *b)
{
	return a->lo <= b->hi && b->lo <= a->hi;
}

int fwd_validate(const struct forwarding *f, const char **why)
{
	*why = NULL;
	if (f->protocol != IPPROTO_TCP && f->protocol != IPPROTO_UDP)
		*why = "protocol: must be tcp or udp";
	else if (f->external.lo == 0 || f->external.lo > f->external.hi)
		*why = "external_port_range: must be N:M with 1 <= N <= M <= 65535";
	else if (f->internal.lo == 0 || f->internal.lo > f->internal.hi)
		*why = "internal_port_range: must be N:M with 1 <= N <= M <= 65535";
	else if (port_range_len(&f->internal) != 1 &&
	        port_range_len(&f->internal) != port_range_len(&f->external))
		*why = "internal_port_range: must be one port or as long as external_port_range";
	else if (f->internal_addr.family != AF_INET && f->internal_addr.family != AF_INET6)
		*why = "internal_ip_address: must be an IPv4 or IPv6 address";
	else if (f->external_addr.family != 0 && f->external_addr.family != f->internal_addr.family)
		*why = "internal_ip_address: must be of the gateway address's family";
	else if (strlen(f->description) > FWD_DESCRIPTION_MAX)
		*why = "description: longer than 255 characters";
	return *why ? -EINVAL : 0;
}

uint16_t fwd_internal_port_for(const struct forwarding *f, uint16_t ext)
{
	if (port_range_len(&f->internal) == 1)
		return f->internal.lo;
	return (uint16_t)(f->internal.lo + (ext - f->external.lo));
}

int fwd_uuid_generate(char out[FWD_ID_LEN + 1])
{
	uint8_t b[16];
	ssize_t n;

	n = getrandom(b, sizeof(b), 0);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, FWD_ID_LEN + 1,
	        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	        b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	        b[15]);
	return 0;
}

bool fwd_uuid_valid(const char *text)
{
	if (text == NULL || strlen(text) != FWD_ID_LEN)
		return false;
	for (int i = 0; i < FWD_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
			return false;
	}
	return true;
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * days_from_civil inverse, public domain). gmtime_r and strftime cost more
 * than the rest of a forwarding's rendering, twice per forwarding listed.
 */
static void civil_from_days(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Two decimal digits of v at p. */
static void put_2digits(char *p, unsigned int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

const char *fwd_time_format(int64_t t, char *buf, size_t len)
{
	/* Floor division without t - 86399, which overflows near INT64_MIN. */
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned int m, d, hms;
	char out[FWD_TIME_MAX];
	size_t n;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	hms = (unsigned int)secs;
	civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999) {
		/* The common case by hand: it runs twice per forwarding listed. */
		put_2digits(out, (unsigned int)(y / 100));
		put_2digits(out + 2, (unsigned int)(y % 100));
		n = 4;
	} else {
		/* ISO 8601's expanded years: a sign and the real year, never a
		 * made-up date. snprintf cannot fail on this format and fits (the
		 * year has at most 12 digits for any int64_t). */
		n = (size_t)snprintf(out, sizeof(out), "%c%04lld", y < 0 ? '-' : '+',
		        (long long)(y < 0 ? -y : y));
	}
	/* -MM-DDTHH:MM:SSZ */
	out[n] = '-';
	put_2digits(out + n + 1, m);
	out[n + 3] = '-';
	put_2digits(out + n + 4, d);
	out[n + 6] = 'T';
	put_2digits(out + n + 7, hms / 3600);
	out[n + 9] = ':';
	put_2digits(out + n + 10, hms / 60 % 60);
	out[n + 12] = ':';
	put_2digits(out + n + 13, hms % 60);
	out[n + 15] = 'Z';
	out[n + 16] = '\0';
	n += 16;
	if (len == 0)
		return buf;
	/* Truncated, like snprintf, when buf is short. */
	if (n >= len)
		n = len - 1;
	memcpy(buf, out, n);
	buf[n] = '\0';
	return buf;
}

int fwd_list_add(const struct forwarding *f, void *list)
{
	struct fwd_list *l = list;
	struct forwarding *v = array_grow(l->v, &l->cap, l->n, sizeof(*v), 64);

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	l->v[l->n++] = *f;
	return 0;
}

void fwd_list_free(struct fwd_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
