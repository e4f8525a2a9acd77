#include "fwd-json.h"

#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "cause.h"
#include "json-text.h"

/* ---- rendering ---- */

/*
 * A forwarding is written into a stack buffer with plain copies and then
 * added to the evbuffer at once: listing 10,000 forwardings is a hot path
 * (budget 20 ms), and printf per field cost more than the rest together.
 */
#define OBJ_MAX 4096 /* ids, addresses, times, and a description escaped 6x */
/* Hosts beyond it are left out of one answer (a router has 2-3 replicas, HA's most). */
#define OBJ_HOSTS_MAX 8
#define OBJ_HOST_MAX  (FWD_HOST_MAX * 6 + FWD_NAME_MAX + 16 + 255 * 6 + 64)

struct wbuf {
	char *p, *end;
};

static void put_raw(struct wbuf *w, const char *s, size_t n)
{
	if ((size_t)(w->end - w->p) < n) {
		w->p = w->end; /* cannot happen with OBJ_MAX; truncation is caught below */
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
}

#define PUT_LIT(w, lit) put_raw(w, lit, sizeof(lit) - 1)

static void put_uint(struct wbuf *w, unsigned long v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put_raw(w, tmp + n, sizeof(tmp) - n);
}

/* A JSON string literal (json_text_escape); too long marks the buffer full. */
static void put_string(struct wbuf *w, const char *s)
{
	size_t room = (size_t)(w->end - w->p), n = json_text_escape(w->p, room, s);

	w->p = n <= room ? w->p + n : w->end; /* truncation is caught as in put_raw */
}

/* "2026-11-26T06:38:40Z": fwd.c owns the calendar; its text needs no escaping. */
static void put_time(struct wbuf *w, int64_t t)
{
	char buf[FWD_TIME_MAX];

	fwd_time_format(t, buf, sizeof(buf));
	put_raw(w, "\"", 1);
	put_raw(w, buf, strlen(buf));
	put_raw(w, "\"", 1);
}

/* {"host":H,"namespace":NS,"status":S[,"error":E]}: one node's replica. */
static void put_host(struct wbuf *w, bool comma, const char *host, const char *ns,
        enum fwd_status status, const char *error)
{
	if (comma)
		PUT_LIT(w, ",");
	PUT_LIT(w, "{\"host\":");
	put_string(w, host);
	PUT_LIT(w, ",\"namespace\":");
	put_string(w, ns);
	PUT_LIT(w, ",\"status\":");
	put_string(w, fwd_status_name(status));
	if (error != NULL) {
		PUT_LIT(w, ",\"error\":");
		put_string(w, error);
	}
	PUT_LIT(w, "}");
}

/* IPv4 by hand: glibc's inet_ntop() formats it with sprintf(). */
static void put_addr(struct wbuf *w, const struct addr *a)
{
	char buf[ADDR_STRLEN];

	if (a->family == 0) {
		PUT_LIT(w, "null");
	} else if (a->family == AF_INET) {
		put_raw(w, "\"", 1);
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				put_raw(w, ".", 1);
			put_uint(w, a->u.bytes[i]);
		}
		put_raw(w, "\"", 1);
	} else {
		put_string(w, addr_format(a, buf, sizeof(buf)));
	}
}

/* ,"external_port":N or null,"external_port_range":"N:M" */
static void put_ports(struct wbuf *w, bool external, const struct port_range *r)
{
	if (external)
		PUT_LIT(w, ",\"external_port\":");
	else
		PUT_LIT(w, ",\"internal_port\":");
	if (r->lo == r->hi)
		put_uint(w, r->lo);
	else
		PUT_LIT(w, "null");
	if (external)
		PUT_LIT(w, ",\"external_port_range\":\"");
	else
		PUT_LIT(w, ",\"internal_port_range\":\"");
	put_uint(w, r->lo);
	put_raw(w, ":", 1);
	put_uint(w, r->hi);
	put_raw(w, "\"", 1);
}

static size_t render(char *buf, size_t size, const struct forwarding *f)
{
	struct wbuf w = {buf, buf + size};

	PUT_LIT(&w, "{\"id\":");
	put_string(&w, f->id);
	PUT_LIT(&w, ",\"router_id\":");
	put_string(&w, f->router_id);
	PUT_LIT(&w, ",\"project_id\":");
	put_string(&w, f->project_id);
	PUT_LIT(&w, ",\"external_ip_address\":");
	put_addr(&w, &f->external_addr);
	put_ports(&w, true, &f->external);
	PUT_LIT(&w, ",\"protocol\":");
	put_string(&w, fwd_protocol_name(f->protocol));
	PUT_LIT(&w, ",\"internal_ip_address\":");
	put_addr(&w, &f->internal_addr);
	put_ports(&w, false, &f->internal);
	PUT_LIT(&w, ",\"internal_port_id\":");
	if (f->internal_port_id[0])
		put_string(&w, f->internal_port_id);
	else
		PUT_LIT(&w, "null");
	if (f->masquerade)
		PUT_LIT(&w, ",\"masquerade\":true");
	else
		PUT_LIT(&w, ",\"masquerade\":false");
	PUT_LIT(&w, ",\"description\":");
	put_string(&w, f->description);
	PUT_LIT(&w, ",\"status\":");
	put_string(&w, fwd_status_name(f->status));
	PUT_LIT(&w, ",\"status_reason\":");
	if (fwd_reason_name(f->status_reason) != NULL)
		put_string(&w, fwd_reason_name(f->status_reason));
	else
		PUT_LIT(&w, "null");
	/*
	 * One replica per node: across nodes every live one (f->hosts), else
	 * this node's, when its namespace holds the forwarding.
	 */
	PUT_LIT(&w, ",\"hosts\":[");
	if (f->hosts != NULL)
		for (size_t i = 0; i < f->n_hosts && i < OBJ_HOSTS_MAX; i++)
			put_host(&w, i > 0, f->hosts[i].host, f->hosts[i].ns, f->hosts[i].status,
			        f->hosts[i].error);
	else if (f->host_namespace[0])
		put_host(&w, false, f->host, f->host_namespace, FWD_STATUS_ACTIVE, NULL);
	PUT_LIT(&w, "]");
	PUT_LIT(&w, ",\"created_at\":");
	put_time(&w, f->created_at);
	PUT_LIT(&w, ",\"updated_at\":");
	put_time(&w, f->updated_at);
	put_raw(&w, "}", 1);
	return w.p == w.end ? 0 : (size_t)(w.p - buf);
}

int fwd_json_write(struct evbuffer *out, const struct forwarding *f)
{
	char buf[OBJ_MAX + OBJ_HOSTS_MAX * OBJ_HOST_MAX];
	size_t n = render(buf, sizeof(buf), f);

	/* The struct's fields are bounded, so n == 0 (overflow) means a bug. */
	if (n == 0)
		return -EOVERFLOW;
	return evbuffer_add(out, buf, n) < 0 ? -ENOMEM : 0;
}

int fwd_json_write_array(struct evbuffer *out, const struct forwarding *f, size_t n)
{
	char buf[OBJ_MAX + OBJ_HOSTS_MAX * OBJ_HOST_MAX + 1];
	size_t len;

	if (evbuffer_add(out, "[", 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		buf[0] = ',';
		if ((len = render(buf + 1, sizeof(buf) - 1, &f[i])) == 0)
			return -EOVERFLOW;
		if (evbuffer_add(out, i > 0 ? buf : buf + 1, i > 0 ? len + 1 : len) < 0)
			return -ENOMEM;
	}
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
        {"status_reason", 0, KIND_READ_ONLY, false},
        {"hosts", 0, KIND_READ_ONLY, false},
        {"created_at", 0, KIND_READ_ONLY, false},
        {"updated_at", 0, KIND_READ_ONLY, false},
};

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
		*r = cause_invalid(why, "%s: must be a string", name);
		return NULL;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		*r = cause_invalid(why, "%s: contains a NUL character", name);
		return NULL;
	}
	return s;
}

static int parse_port(struct json_object *v, const char *name, struct port_range *out, char **why)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return cause_invalid(why, "%s: must be an integer from 1 to 65535", name);
	errno = 0;
	n = json_object_get_int64(v);
	if (n < 1 || n > 65535 || errno != 0)
		return cause_invalid(why, "%s: must be from 1 to 65535", name);
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
		return cause_invalid(why, "%s: %s", name, reason);
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
			return cause_invalid(why, "protocol: must be \"tcp\" or \"udp\"");
		f->protocol = (uint8_t)proto;
		return 0;
	case KIND_ADDRESS:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if (addr_parse(s, &f->internal_addr) < 0)
			return cause_invalid(why, "%s: is not an IPv4 or IPv6 address", rule->name);
		return 0;
	case KIND_NAME:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if (copy_name(s, f->internal_port_id, sizeof(f->internal_port_id)) < 0)
			return cause_invalid(why,
			        "%s: must be 1 to %d characters of letters, digits, '-', '_', '.'",
			        rule->name, FWD_NAME_MAX);
		return 0;
	case KIND_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return cause_invalid(why, "%s: must be true or false", rule->name);
		f->masquerade = json_object_get_boolean(v);
		return 0;
	case KIND_TEXT:
		if ((s = get_string(v, rule->name, why, &r)) == NULL)
			return r;
		if (strlen(s) > FWD_DESCRIPTION_MAX)
			return cause_invalid(why, "%s: is longer than %d bytes", rule->name,
			        FWD_DESCRIPTION_MAX);
		memcpy(f->description, s, strlen(s) + 1);
		return 0;
	case KIND_READ_ONLY:
		break;
	}
	return cause_invalid(why, "%s: is read-only", rule->name);
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
		return cause_invalid(why,
		        "external_port_range: give external_port or "
		        "external_port_range, not both");
	if ((given & FWD_JSON_INTERNAL) == FWD_JSON_INTERNAL)
		return cause_invalid(why,
		        "internal_port_range: give internal_port or "
		        "internal_port_range, not both");
	if (op == FWD_JSON_CREATE && !(given & FWD_JSON_INTERNAL))
		return cause_invalid(why, "internal_port: is required (or internal_port_range)");
	if (op == FWD_JSON_CREATE &&
	        !(given & (FWD_JSON_INTERNAL_IP_ADDRESS | FWD_JSON_INTERNAL_PORT_ID)))
		return cause_invalid(why, "internal_ip_address: is required (or internal_port_id)");
	if ((given & FWD_JSON_EXTERNAL) && (given & FWD_JSON_INTERNAL) &&
	        port_range_len(&f->internal) != 1 &&
	        port_range_len(&f->internal) != port_range_len(&f->external))
		return cause_invalid(why,
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
			return cause_invalid(why, "%.64s: is not a field of port_forwarding", key);
		if (rule->kind != KIND_READ_ONLY && op == FWD_JSON_UPDATE && !rule->updatable)
			return cause_invalid(why, "%s: cannot be changed after create", key);
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
		return cause_invalid(why, "body: is larger than %d bytes", FWD_JSON_BODY_MAX);
	if ((r = json_text_parse(body, len, &root, reason, sizeof(reason))) < 0)
		return r == -ENOMEM ? r : cause_invalid(why, "body: %s", reason);
	if (!json_object_is_type(root, json_type_object)) {
		r = cause_invalid(why, "body: must be a JSON object {\"port_forwarding\": {...}}");
		goto out;
	}
	json_object_object_foreach(root, key, val)
	{
		if (strcmp(key, "port_forwarding") != 0) {
			r = cause_invalid(why,
			        "%.64s: is not expected; the body is {\"port_forwarding\": {...}}",
			        key);
			goto out;
		}
		pf = val;
	}
	if (pf == NULL || !json_object_is_type(pf, json_type_object)) {
		r = cause_invalid(why,
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
		return cause_invalid(why, "%s: missing or not a string", key);
	if (port_range_parse(s, out, &reason) < 0)
		return cause_invalid(why, "%s: %s", key, reason);
	return 0;
}

static int decode_names(struct json_object *obj, struct forwarding *f, char **why)
{
	const char *s;

	if ((s = member_string(obj, "id")) == NULL || !fwd_uuid_valid(s))
		return cause_invalid(why, "id: missing or not a UUID");
	memcpy(f->id, s, FWD_ID_LEN + 1);
	if ((s = member_string(obj, "router_id")) == NULL ||
	        copy_name(s, f->router_id, sizeof(f->router_id)) < 0)
		return cause_invalid(why, "router_id: missing or not an id");
	s = member_string(obj, "project_id");
	if (s != NULL && *s != '\0' && copy_name(s, f->project_id, sizeof(f->project_id)) < 0)
		return cause_invalid(why, "project_id: not an id");
	s = member_string(obj, "internal_port_id");
	if (s != NULL && copy_name(s, f->internal_port_id, sizeof(f->internal_port_id)) < 0)
		return cause_invalid(why, "internal_port_id: not an id");
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
		return cause_invalid(why, "port_forwarding: not an object");
	if ((r = decode_names(obj, f, why)) < 0 ||
	        (r = decode_range(obj, "external_port_range", &f->external, why)) < 0 ||
	        (r = decode_range(obj, "internal_port_range", &f->internal, why)) < 0)
		return r;
	if ((proto = fwd_protocol_parse(member_string(obj, "protocol"))) < 0)
		return cause_invalid(why, "protocol: missing or not tcp/udp");
	f->protocol = (uint8_t)proto;
	if ((s = member_string(obj, "internal_ip_address")) == NULL ||
	        addr_parse(s, &f->internal_addr) < 0)
		return cause_invalid(why, "internal_ip_address: missing or not an address");
	if ((s = member_string(obj, "external_ip_address")) != NULL &&
	        addr_parse(s, &f->external_addr) < 0)
		return cause_invalid(why, "external_ip_address: not an address");
	if (json_object_object_get_ex(obj, "masquerade", &v))
		f->masquerade = json_object_get_boolean(v);
	s = member_string(obj, "status");
	f->status = s != NULL && strcmp(s, "ACTIVE") == 0 ? FWD_STATUS_ACTIVE : FWD_STATUS_DOWN;
	/* An agent before status_reason, or a reason this client does not know: none. */
	proto = fwd_reason_parse(member_string(obj, "status_reason"));
	f->status_reason = proto < 0 ? FWD_REASON_NONE : (enum fwd_reason)proto;
	if (parse_time(member_string(obj, "created_at"), &f->created_at) < 0 ||
	        parse_time(member_string(obj, "updated_at"), &f->updated_at) < 0)
		return cause_invalid(why, "created_at: missing or not a timestamp");
	return 0;
}
