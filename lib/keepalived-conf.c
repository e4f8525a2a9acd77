#include "keepalived-conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array-grow.h"
#include "cause.h"

#define TOKENS_MAX 32
#define TOKEN_MAX  128

struct parser {
	unsigned int line;
	int depth;     /* braces open */
	int vip_depth; /* depth of the VIP block we are in, -1: none */
	bool vip_next; /* the last word was a VIP block's keyword: its "{" opens it */
	struct iface_addr *v;
	size_t n, cap;
	char **cause;
};

/* One line's words, comments ('#' or '!' to the end of the line) removed. */
struct words {
	char w[TOKENS_MAX][TOKEN_MAX];
	size_t n;
};

static int split(struct parser *p, const char *s, size_t len, struct words *out)
{
	size_t i = 0;

	out->n = 0;
	while (i < len) {
		size_t start, wlen;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++;
			continue;
		}
		if (s[i] == '#' || s[i] == '!')
			break;
		start = i;
		/* Braces are words of their own, even when glued to another. */
		if (s[i] == '{' || s[i] == '}')
			i++;
		else
			while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
			        s[i] != '{' && s[i] != '}' && s[i] != '#' && s[i] != '!')
				i++;
		wlen = i - start;
		if (out->n == TOKENS_MAX)
			return cause_invalid(
			        p->cause, "line %u: more than %d words", p->line, TOKENS_MAX);
		if (wlen >= TOKEN_MAX)
			return cause_invalid(p->cause, "line %u: a word longer than %d bytes",
			        p->line, TOKEN_MAX - 1);
		if (memchr(s + start, '\0', wlen) != NULL)
			return cause_invalid(p->cause, "line %u: a NUL byte", p->line);
		memcpy(out->w[out->n], s + start, wlen);
		out->w[out->n][wlen] = '\0';
		out->n++;
	}
	return 0;
}

/* "ADDRESS[/PREFIX] [dev IFNAME] [scope ...] ..." inside a VIP block. */
static int add_entry(struct parser *p, const struct words *w, size_t first, size_t end)
{
	struct iface_addr e = {0};
	const char *dev = NULL;
	void *v;

	if (cidr_parse(w->w[first], &e.net) < 0)
		return cause_invalid(p->cause,
		        "line %u: '%s' is not an address with a prefix length", p->line,
		        w->w[first]);
	for (size_t i = first + 1; i < end; i++)
		if (strcmp(w->w[i], "dev") == 0) {
			if (i + 1 >= end)
				return cause_invalid(
				        p->cause, "line %u: 'dev' without a device", p->line);
			dev = w->w[i + 1];
			break;
		}
	if (dev == NULL)
		return 0;
	if (strlen(dev) >= sizeof(e.ifname))
		return cause_invalid(p->cause, "line %u: device name '%s' is longer than %d bytes",
		        p->line, dev, IF_NAMESIZE - 1);
	if (p->n == KEEPALIVED_CONF_MAX_VIPS)
		return cause_invalid(p->cause, "line %u: more than %d addresses", p->line,
		        KEEPALIVED_CONF_MAX_VIPS);
	if ((v = array_grow(p->v, &p->cap, p->n, sizeof(*p->v), 8)) == NULL)
		return -ENOMEM;
	p->v = v;
	snprintf(e.ifname, sizeof(e.ifname), "%s", dev);
	p->v[p->n++] = e;
	return 0;
}

static bool vip_keyword(const char *w)
{
	return strcmp(w, "virtual_ipaddress") == 0 || strcmp(w, "virtual_ipaddress_excluded") == 0;
}

static int parse_line(struct parser *p, const struct words *w)
{
	int r;

	for (size_t i = 0; i < w->n; i++) {
		const char *t = w->w[i];

		if (strcmp(t, "{") == 0) {
			p->depth++;
			if (p->vip_next && p->vip_depth < 0)
				p->vip_depth = p->depth;
			p->vip_next = false;
		} else if (strcmp(t, "}") == 0) {
			if (p->depth == 0)
				return cause_invalid(
				        p->cause, "line %u: '}' closes nothing", p->line);
			if (p->depth == p->vip_depth)
				p->vip_depth = -1;
			p->depth--;
			p->vip_next = false;
		} else {
			p->vip_next = vip_keyword(t);
			/* A word at the VIP block's own level starts an entry: it runs to a brace.
			 */
			if (p->depth == p->vip_depth) {
				size_t end = i;
				while (end < w->n && strcmp(w->w[end], "{") != 0 &&
				        strcmp(w->w[end], "}") != 0)
					end++;
				if ((r = add_entry(p, w, i, end)) < 0)
					return r;
				p->vip_next = false;
				i = end - 1;
			}
		}
	}
	return 0;
}

int keepalived_conf_parse(
        const char *text, size_t len, struct iface_addr **out, size_t *n, char **cause)
{
	struct parser p = {.line = 0, .vip_depth = -1, .cause = cause};
	struct words *w = malloc(sizeof(*w));
	size_t at = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (w == NULL)
		return -ENOMEM;
	while (at < len && r == 0) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t l = nl ? (size_t)(nl - (text + at)) : len - at;

		p.line++;
		if ((r = split(&p, text + at, l, w)) == 0)
			r = parse_line(&p, w);
		at += l + 1;
	}
	if (r == 0 && p.depth != 0)
		r = cause_invalid(cause, "line %u: %d brace%s left open at the end", p.line,
		        p.depth, p.depth == 1 ? "" : "s");
	free(w);
	if (r < 0) {
		free(p.v);
		return r;
	}
	*out = p.v; /* ownership passes to the caller */
	*n = p.n;
	return 0;
}

int keepalived_conf_read(const char *path, struct iface_addr **out, size_t *n, char **cause)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t got = 0;
	int fd, r;

	*out = NULL;
	*n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		return r == -ENOENT ? r : cause_errno(cause, r, "open %s", path);
	}
	if (fstat(fd, &st) < 0) {
		r = cause_errno(cause, -errno, "stat %s", path);
		goto out;
	}
	/* The size may change under us: read at most one byte more than the cap. */
	if (st.st_size > KEEPALIVED_CONF_MAX) {
		r = cause_set(
		        cause, -EFBIG, "%s is larger than %d bytes", path, KEEPALIVED_CONF_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	while (len <= (size_t)st.st_size &&
	        (got = read(fd, buf + len, (size_t)st.st_size + 1 - len)) > 0)
		len += (size_t)got;
	if (got < 0) {
		r = cause_errno(cause, -errno, "read %s", path);
		goto out;
	}
	if ((r = keepalived_conf_parse(buf, len, out, n, cause)) < 0 && cause && *cause) {
		char *inner = *cause;
		*cause = NULL;
		r = cause_set(cause, r, "%s: %s", path, inner);
		free(inner);
	}
out:
	free(buf);
	close(fd);
	return r;
}
