#include "fwd-json.h"

#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "json-text.h"

/* ---- rendering ---- */

/*
 * One forwarding is rendered into a local buffer and added to the evbuffer
 * at once: a listing of 10,000 made ~50 evbuffer and printf calls per
 * forwarding before, most of its time. The longest rendering (every string
 * at its limit, each character escaped to \u00XX) is below the buffer's
 * size; a rendering that would not fit fails rather than truncates.
 */
#define RENDER_MAX 8192

struct sbuf {
	char *p;
	size_t len;
	bool full;
};

static void sb_mem(struct sbuf *b, const char *s, size_t n)
{
	if (b->full || n > RENDER_MAX - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_lit(struct sbuf *b, const char *s)
{
	sb_mem(b, s, strlen(s));
}

static void sb_uint(struct sbuf *b, unsigned int v)
{
	char d[12];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	sb_mem(b, d + i, sizeof(d) - i);
}

/* A JSON string literal, escaped as json_text_write_string() does. */
static void sb_str(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char esc[6] = {'\\'};

	sb_mem(b, "\"", 1);
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c != '\0' && c != '"' && c != '\\' && c >= 0x20)
			continue;
		sb_mem(b, run, (size_t)(p - run));
		if (c == '\0')
			break;
		run = p + 1;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			sb_mem(b, esc, 2);
			continue;
		case '\n':
			sb_mem(b, "\\n", 2);
			continue;
		case '\r':
			sb_mem(b, "\\r", 2);
			continue;
		case '\t':
			sb_mem(b, "\\t", 2);
			continue;
		}
		memcpy(esc + 1, "u00", 3);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		sb_mem(b, esc, 6);
	}
	sb_mem(b, "\"", 1);
}

/* ,"key": then the string, or null */
static void sb_field(struct sbuf *b, const char *key, const char *value)
{
	sb_mem(b, ",\"", 2);
	sb_lit(b, key);
	sb_mem(b, "\":", 2);
	if (value == NULL)
		sb_mem(b, "null", 4);
	else
		sb_str(b, value);
}

/* ,"SIDE_port": N or null,"SIDE_port_range": "N:M" */
static void sb_ports(struct sbuf *b, const char *side, const struct port_range *r)
{
	sb_mem(b, ",\"", 2);
	sb_lit(b, side);
	sb_lit(b, "_port\":");
	if (r->lo == r->hi)
		sb_uint(b, r->lo);
	else
		sb_mem(b, "null", 4);
	sb_mem(b, ",\"", 2);
	sb_lit(b, side);
	sb_lit(b, "_port_range\":\"");
	sb_uint(b, r->lo);
	sb_mem(b, ":", 1);
	sb_uint(b, r->hi);
	sb_mem(b, "\"", 1);
}

int fwd_json_write(struct evbuffer *out, const struct forwarding *f)
{
	char buf[RENDER_MAX], ext[ADDR_STRLEN], in[ADDR_STRLEN], created[32], updated[32];
	struct sbuf b = {buf, 0, false};

	sb_lit(&b, "{\"id\":");
	sb_str(&b, f->id);
	sb_field(&b, "router_id", f->router_id);
	sb_field(&b, "project_id", f->project_id);
	sb_field(&b, "external_ip_address",
	        f->external_addr.family ? addr_format(&f->external_addr, ext, sizeof(ext)) : NULL);
	sb_ports(&b, "external", &f->external);
	sb_field(&b, "protocol", fwd_protocol_name(f->protocol));
	sb_field(&b, "internal_ip_address",
	        f->internal_addr.family ? addr_format(&f->internal_addr, in, sizeof(in)) : NULL);
	sb_ports(&b, "internal", &f->internal);
	sb_field(&b, "internal_port_id", f->internal_port_id[0] ? f->internal_port_id : NULL);
	sb_lit(&b, f->masquerade ? ",\"masquerade\":true" : ",\"masquerade\":false");
	sb_field(&b, "description", f->description);
	sb_field(&b, "status", fwd_status_name(f->status));
	sb_field(&b, "created_at", fwd_time_format(f->created_at, created, sizeof(created)));
	sb_field(&b, "updated_at", fwd_time_format(f->updated_at, updated, sizeof(updated)));
	sb_mem(&b, "}", 1);
	if (b.full)
		return -ENOMEM;
	return evbuffer_add(out, buf, b.len) < 0 ? -ENOMEM : 0;
}

int fwd_json_write_array(struct evbuffer *out, const struct forwarding *f, size_t n)
{
	if (evbuffer_add(out, "[", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && evbuffer_add(out, ",", 1) < 0) || fwd_json_write(out, &f[i]) < 0)
			return -ENOMEM;
	return evbuffer_add(out, "]", 1) < 0 ? -ENOMEM : 0;
}

/* ---- request parsing ---- */

enum field_kind {
	KIND_PORT,
	KIND_RANGE,
	KIND_PROTOCOL,
	KIND_ADDRESS,
	KIND_NAME,
	KIND_BOOL,
	KIND_TEXT,
	KIND_READ_ONLY,
};

/* Every key a body may hold, what it is, and whether an update may set it. */
static const struct field_rule {
	const char *name;
	unsigned int bit;
	enum field_kind kind;
	bool updatable;
} field_rules[] = {
        {"external_port", FWD_JSON_EXTERNAL_PORT, KIND_PORT, true},
        {"external_port_range", FWD_JSON_EXTERNAL_PORT_RANGE, KIND_RANGE, true},
        {"internal_port", FWD_JSON_INTERNAL_PORT, KIND_PORT, true},
        {"internal_port_range", FWD_JSON_INTERNAL_PORT_RANGE, KIND_RANGE, true},
        {"protocol", FWD_JSON_PROTOCOL, KIND_PROTOCOL, true},
        {"internal_ip_address", FWD_JSON_INTERNAL_IP_ADDRESS, KIND_ADDRESS, true},
        {"internal_port_id", FWD_JSON_INTERNAL_PORT_ID, KIND_NAME, true},
        {"masquerade", FWD_JSON_MASQUERADE, KIND_BOOL, true},
        {"description", FWD_JSON_DESCRIPTION, KIND_TEXT, true},
        {"id", 0, KIND_READ_ONLY, false},
        {"router_id", 0, KIND_READ_ONLY, false},
        {"project_id", 0, KIND_READ_ONLY, false},
        {"external_ip_address", 0, KIND_READ_ONLY, false},
        {"status", 0, KIND_READ_ONLY, false},
        {"created_at", 0, KIND_READ_ONLY, false},
        {"updated_at", 0, KIND_READ_ONLY, false},
};

static int fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets *why to the formatted line; -EINVAL, or -ENOMEM if even that fails. */
static int fail(char **why, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(why, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*why = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

bool fwd_json_name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (n >= FWD_NAME_MAX ||
		        !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n > 0;
}

/* A string value without embedded NUL, or NULL with *why set. */
static const char *get_string(struct json_object *v, const char *name, char **why, int *r)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string)) {
		*r = fail(why, "%s: must be a string", name);
		return NULL;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		*r = fail(why, "%s: contains a NUL character", name);
		return NULL;
	}
	return s;
}

static int parse_port(struct json_object *v, const char *name, struct port_range *out, char **why)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return fail(why, "%s: must be an integer from 1 to 65535", name);
	errno = 0;
	n = json_object_get_int64(v);
	if (n < 1 || n > 65535 || errno != 0)
		return fail(why, "%s: must be from 1 to 65535", name);
	out->lo = out->hi = (uint16_t)n;
	return 0;
}

static int parse_range(struct json_object *v, const char *name, struct port_range *out, char **why)
{
	const char *s, *reason;
	int r = 0;

	if ((s = get_string(v, name, why, &r)) == NULL)
		return r;
	if (port_range_parse(s, out, &reason) < 0)
		return fail(why, "%s: %s", name, reason);
	return 0;
}

static int copy_name(const char *s, char *dst, size_t size)
{
	if (!fwd_json_name_valid(s) || strlen(s) >= size)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Reads one field's value into f. */
static int parse_field(
        const struct field_rule *rule, struct json_object *v, struct forwarding *f, char **why)
{
	const char *s;
	int r = 0, proto;

	switch (rule->kind) {
	case KIND_PORT:
		return parse_port(v, rule->name,
		        rule->bit == FWD_JSON_EXTERNAL_PORT ? &f->external : &f->internal, why);
	case KIND_RANGE:
		return parse_range(v, rule->name,
		        rule->bit == FWD_JSON_EXTERNAL_PORT_RANGE ? &f->external : &f->internal,
		        why);
	case KIND_PROTOCOL:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if ((proto = fwd_protocol_parse(s)) < 0)
			return fail(why, "protocol: must be \"tcp\" or \"udp\"");
		f->protocol = (uint8_t)proto;
		return 0;
	case KIND_ADDRESS:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if (addr_parse(s, &f->internal_addr) < 0)
			return fail(why, "%s: is not an IPv4 or IPv6 address", rule->name);
		return 0;
	case KIND_NAME:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if (copy_name(s, f->internal_port_id, sizeof(f->internal_port_id)) < 0)
			return fail(why,
			        "%s: must be 1 to %d characters of letters, digits, '-', '_', '.'",
			        rule->name, FWD_NAME_MAX);
		return 0;
	case KIND_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return fail(why, "%s: must be true or false", rule->name);
		f->masquerade = json_object_get_boolean(v);
		return 0;
	case KIND_TEXT:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if (strlen(s) > FWD_DESCRIPTION_MAX)
			return fail(why, "%s: is longer than %d bytes", rule->name,
			        FWD_DESCRIPTION_MAX);
		memcpy(f->description, s, strlen(s) + 1);
		return 0;
	case KIND_READ_ONLY:
		break;
	}
	return fail(why, "%s: is read-only", rule->name);
}

static const struct field_rule *find_rule(const char *name)
{
	for (size_t i = 0; i < sizeof(field_rules) / sizeof(field_rules[0]); i++)
		if (strcmp(field_rules[i].name, name) == 0)
			return &field_rules[i];
	return NULL;
}

/* The checks that span fields, once every field has been read. */
static int check_combination(
        enum fwd_json_op op, const struct forwarding *f, unsigned int given, char **why)
{
	if ((given & FWD_JSON_EXTERNAL) == FWD_JSON_EXTERNAL)
		return fail(why,
		        "external_port_range: give external_port or "
		        "external_port_range, not both");
	if ((given & FWD_JSON_INTERNAL) == FWD_JSON_INTERNAL)
		return fail(why,
		        "internal_port_range: give internal_port or "
		        "internal_port_range, not both");
	if (op == FWD_JSON_CREATE && !(given & FWD_JSON_INTERNAL))
		return fail(why, "internal_port: is required (or internal_port_range)");
	if (op == FWD_JSON_CREATE &&
	        !(given & (FWD_JSON_INTERNAL_IP_ADDRESS | FWD_JSON_INTERNAL_PORT_ID)))
		return fail(why, "internal_ip_address: is required (or internal_port_id)");
	if ((given & FWD_JSON_EXTERNAL) && (given & FWD_JSON_INTERNAL) &&
	        port_range_len(&f->internal) != 1 &&
	        port_range_len(&f->internal) != port_range_len(&f->external))
		return fail(why,
		        "internal_port_range: must be one port or as long as "
		        "external_port_range");
	return 0;
}

static int parse_fields(struct json_object *pf, enum fwd_json_op op, struct forwarding *f,
        unsigned int *given, char **why)
{
	const struct field_rule *rule;
	int r;

	json_object_object_foreach(pf, key, val)
	{
		if ((rule = find_rule(key)) == NULL)
			return fail(why, "%.64s: is not a field of port_forwarding", key);
		if (rule->kind != KIND_READ_ONLY && op == FWD_JSON_UPDATE && !rule->updatable)
			return fail(why, "%s: cannot be changed after create", key);
		/* A null is what GET shows for an unused form; treat it as absent. */
		if (val == NULL && rule->kind != KIND_READ_ONLY)
			continue;
		if ((r = parse_field(rule, val, f, why)) < 0)
			return r;
		*given |= rule->bit;
	}
	return check_combination(op, f, *given, why);
}

int fwd_json_parse_request(const char *body, size_t len, enum fwd_json_op op, struct forwarding *f,
        unsigned int *given, char **why)
{
	struct json_object *root = NULL, *pf = NULL;
	char reason[96];
	int r;

	memset(f, 0, sizeof(*f));
	*given = 0;
	*why = NULL;
	f->protocol = IPPROTO_TCP;
	if (len > FWD_JSON_BODY_MAX)
		return fail(why, "body: is larger than %d bytes", FWD_JSON_BODY_MAX);
	if ((r = json_text_parse(body, len, &root, reason, sizeof(reason))) < 0)
		return r == -ENOMEM ? r : fail(why, "body: %s", reason);
	if (!json_object_is_type(root, json_type_object)) {
		r = fail(why, "body: must be a JSON object {\"port_forwarding\": {...}}");
		goto out;
	}
	json_object_object_foreach(root, key, val)
	{
		if (strcmp(key, "port_forwarding") != 0) {
			r = fail(why,
			        "%.64s: is not expected; the body is {\"port_forwarding\": {...}}",
			        key);
			goto out;
		}
		pf = val;
	}
	if (pf == NULL || !json_object_is_type(pf, json_type_object)) {
		r = fail(why,
		        pf == NULL && !json_object_object_get_ex(root, "port_forwarding", NULL)
		                ? "port_forwarding: is required"
		                : "port_forwarding: must be an object");
		goto out;
	}
	r = parse_fields(pf, op, f, given, why);
out:
	json_object_put(root);
	return r;
}

void fwd_json_apply(struct forwarding *dst, const struct forwarding *src, unsigned int given)
{
	if (given & FWD_JSON_EXTERNAL)
		dst->external = src->external;
	if (given & FWD_JSON_INTERNAL)
		dst->internal = src->internal;
	if (given & FWD_JSON_PROTOCOL)
		dst->protocol = src->protocol;
	if (given & FWD_JSON_INTERNAL_IP_ADDRESS)
		dst->internal_addr = src->internal_addr;
	if (given & FWD_JSON_INTERNAL_PORT_ID)
		memcpy(dst->internal_port_id, src->internal_port_id, sizeof(dst->internal_port_id));
	if (given & FWD_JSON_MASQUERADE)
		dst->masquerade = src->masquerade;
	if (given & FWD_JSON_DESCRIPTION)
		memcpy(dst->description, src->description, sizeof(dst->description));
}

/* ---- decoding a rendered forwarding ---- */

static const char *member_string(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int decode_range(
        struct json_object *obj, const char *key, struct port_range *out, char **why)
{
	const char *s = member_string(obj, key), *reason;

	if (s == NULL)
		return fail(why, "%s: missing or not a string", key);
	if (port_range_parse(s, out, &reason) < 0)
		return fail(why, "%s: %s", key, reason);
	return 0;
}

static int decode_names(struct json_object *obj, struct forwarding *f, char **why)
{
	const char *s;

	if ((s = member_string(obj, "id")) == NULL || !fwd_uuid_valid(s))
		return fail(why, "id: missing or not a UUID");
	memcpy(f->id, s, FWD_ID_LEN + 1);
	if ((s = member_string(obj, "router_id")) == NULL ||
	        copy_name(s, f->router_id, sizeof(f->router_id)) < 0)
		return fail(why, "router_id: missing or not an id");
	s = member_string(obj, "project_id");
	if (s != NULL && *s != '\0' && copy_name(s, f->project_id, sizeof(f->project_id)) < 0)
		return fail(why, "project_id: not an id");
	s = member_string(obj, "internal_port_id");
	if (s != NULL && copy_name(s, f->internal_port_id, sizeof(f->internal_port_id)) < 0)
		return fail(why, "internal_port_id: not an id");
	s = member_string(obj, "description");
	if (s != NULL && strlen(s) <= FWD_DESCRIPTION_MAX)
		memcpy(f->description, s, strlen(s) + 1);
	return 0;
}

int fwd_json_decode(struct json_object *obj, struct forwarding *f, char **why)
{
	struct json_object *v;
	const char *s;
	int r, proto;

	memset(f, 0, sizeof(*f));
	*why = NULL;
	if (!json_object_is_type(obj, json_type_object))
		return fail(why, "port_forwarding: not an object");
	if ((r = decode_names(obj, f, why)) < 0 ||
	        (r = decode_range(obj, "external_port_range", &f->external, why)) < 0 ||
	        (r = decode_range(obj, "internal_port_range", &f->internal, why)) < 0)
		return r;
	if ((proto = fwd_protocol_parse(member_string(obj, "protocol"))) < 0)
		return fail(why, "protocol: missing or not tcp/udp");
	f->protocol = (uint8_t)proto;
	if ((s = member_string(obj, "internal_ip_address")) == NULL ||
	        addr_parse(s, &f->internal_addr) < 0)
		return fail(why, "internal_ip_address: missing or not an address");
	if ((s = member_string(obj, "external_ip_address")) != NULL &&
	        addr_parse(s, &f->external_addr) < 0)
		return fail(why, "external_ip_address: not an address");
	if (json_object_object_get_ex(obj, "masquerade", &v))
		f->masquerade = json_object_get_boolean(v);
	s = member_string(obj, "status");
	f->status = s != NULL && strcmp(s, "ACTIVE") == 0 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
	if (parse_time(member_string(obj, "created_at"), &f->created_at) < 0 ||
	        parse_time(member_string(obj, "updated_at"), &f->updated_at) < 0)
		return fail(why, "created_at: missing or not a timestamp");
	return 0;
}
