#include "oslo-notify.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cause.h"
#include "json-text.h"

/* Where each followed event keeps the id of what to check, in its payload. */
struct followed {
	const char *type;
	enum oslo_event_kind kind;
	const char *object; /* payload member holding an object with "id", or NULL */
	const char *flat;   /* payload member holding the id itself, or NULL */
};

/*
 * Neutron Zed sends port.delete.end with {"port": {...}}, older releases
 * {"port_id": ...}; router.delete.end has both; the interface removal is
 * "router.interface.delete" (no .end) with {"router_interface": {"id":
 * router}}. Both spellings of each are accepted.
 */
static const struct followed followed[] = {
        {"port.delete.end", OSLO_EVENT_PORT, "port", "port_id"},
        {"port.update.end", OSLO_EVENT_PORT, "port", NULL},
        {"router.update.end", OSLO_EVENT_ROUTER, "router", NULL},
        {"router.delete.end", OSLO_EVENT_ROUTER, "router", "router_id"},
        {"router.interface.delete", OSLO_EVENT_ROUTER, "router_interface", NULL},
        {"router.interface.delete.end", OSLO_EVENT_ROUTER, "router_interface", NULL},
};

static bool id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > FWD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            c == '-' || c == '_'))
			return false;
	}
	return true;
}

static const char *string_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	        !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The id the payload names for f, or NULL. */
static const char *payload_id(struct json_object *payload, const struct followed *f)
{
	struct json_object *obj;
	const char *id = NULL;

	if (f->object != NULL && json_object_object_get_ex(payload, f->object, &obj))
		id = string_member(obj, "id");
	if (id == NULL && f->flat != NULL)
		id = string_member(payload, f->flat);
	return id;
}

/* One strict JSON document (json-text.h: bounded depth, valid UTF-8). 0, -EINVAL, -ENOMEM. */
static int parse_json(
        const char *s, size_t len, const char *what, struct json_object **out, char **cause)
{
	char why[128];
	int r = json_text_parse(s, len, out, why, sizeof(why));

	if (r == -ENOMEM)
		return cause_set(cause, r, "out of memory");
	if (r < 0)
		return cause_invalid(cause, "%s %s", what, why);
	if (*out == NULL)
		return cause_invalid(cause, "%s is null", what);
	return 0;
}

/* The message inside the envelope, or the body itself when it has none. */
static int unwrap(struct json_object *body, struct json_object **msg, char **cause)
{
	const char *inner;

	if (!json_object_is_type(body, json_type_object))
		return cause_invalid(cause, "the body is not a JSON object");
	if (!json_object_object_get_ex(body, "oslo.message", NULL)) {
		*msg = json_object_get(body);
		return 0;
	}
	if ((inner = string_member(body, "oslo.message")) == NULL)
		return cause_invalid(cause, "oslo.message is not a string");
	return parse_json(inner, strlen(inner), "oslo.message", msg, cause);
}

static int read_event(struct json_object *msg, struct oslo_event *ev, char **cause)
{
	const char *type = string_member(msg, "event_type"), *id;
	struct json_object *payload;

	if (type == NULL)
		return cause_invalid(cause, "no event_type string");
	snprintf(ev->type, sizeof(ev->type), "%s", type);
	for (size_t i = 0; i < sizeof(followed) / sizeof(followed[0]); i++) {
		if (strcmp(type, followed[i].type) != 0)
			continue;
		if (!json_object_object_get_ex(msg, "payload", &payload) ||
		        !json_object_is_type(payload, json_type_object))
			return cause_invalid(cause, "%s: no payload object", type);
		if ((id = payload_id(payload, &followed[i])) == NULL)
			return cause_invalid(cause, "%s: the payload names no id", type);
		if (!id_valid(id))
			return cause_invalid(cause, "%s: the id is not 1-%d of [A-Za-z0-9_-]", type,
			        FWD_NAME_MAX);
		ev->kind = followed[i].kind;
		strcpy(ev->id, id);
		return 0;
	}
	return 0; /* OSLO_EVENT_OTHER */
}

int oslo_notify_parse(const char *body, size_t len, struct oslo_event *ev, char **cause)
{
	struct json_object *outer = NULL, *msg = NULL;
	int r;

	memset(ev, 0, sizeof(*ev));
	if (len > OSLO_NOTIFY_MAX_BODY)
		return cause_invalid(cause, "%zu bytes: larger than %d", len, OSLO_NOTIFY_MAX_BODY);
	if ((r = parse_json(body, len, "the body", &outer, cause)) < 0)
		return r;
	r = unwrap(outer, &msg, cause);
	json_object_put(outer);
	if (r == 0)
		r = read_event(msg, ev, cause);
	json_object_put(msg);
	if (r < 0)
		memset(ev, 0, sizeof(*ev));
	return r;
}
