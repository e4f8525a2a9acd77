/*
 * clouds.yaml and OS_* credentials. The YAML is read with libyaml's event
 * parser into a small tree (maps, sequences, scalars) whose nodes all sit
 * on one list, so an alias is just a second pointer to its anchor's node:
 * nothing is copied (no "billion laughs"), cycles cost nothing because
 * lookups only ever walk down a fixed path, and freeing walks the list.
 */
#include "clouds.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "array-grow.h"

#define YAML_MAX_DEPTH   64
#define YAML_MAX_NODES   100000
#define YAML_MAX_ALIASES 1000
#define YAML_MAX_ANCHORS 1000

enum ynode_kind {
	YNODE_SCALAR,
	YNODE_MAP,
	YNODE_SEQ,
};

struct ynode {
	enum ynode_kind kind;
	char *value;         /* scalar text */
	char *anchor;        /* its &name, if any */
	struct ynode **kids; /* map: key, value, key, value...; seq: items */
	size_t len, cap;
	size_t line;
	struct ynode *next;        /* every node of the document, for freeing */
	struct ynode *next_anchor; /* every anchored node, for aliases */
};

struct ydoc {
	struct ynode *all;
	struct ynode *root;
	struct ynode *anchors;
	size_t nodes;
	size_t aliases;
	size_t anchors_len;
};

static int clouds_error(char **cause, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int clouds_error(char **cause, int code, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		if (vasprintf(cause, fmt, ap) < 0)
			*cause = NULL;
		va_end(ap);
	}
	return code;
}

/* ---- the YAML tree --------------------------------------------------- */

static void ydoc_free(struct ydoc *d)
{
	struct ynode *n, *next;

	for (n = d->all; n != NULL; n = next) {
		next = n->next;
		free(n->value);
		free(n->anchor);
		free(n->kids);
		free(n);
	}
	memset(d, 0, sizeof(*d));
}

static struct ynode *ynode_new(
        struct ydoc *d, enum ynode_kind kind, const yaml_char_t *anchor, size_t line)
{
	struct ynode *n;

	if (d->nodes >= YAML_MAX_NODES)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = line;
	n->next = d->all;
	d->all = n;
	d->nodes++;
	if (anchor != NULL) {
		if (d->anchors_len >= YAML_MAX_ANCHORS)
			return NULL;
		if ((n->anchor = strdup((const char *)anchor)) == NULL)
			return NULL; /* n is on d->all: freed with the document */
		n->next_anchor = d->anchors;
		d->anchors = n;
		d->anchors_len++;
	}
	return n;
}

static int ynode_push(struct ynode *parent, struct ynode *kid)
{
	struct ynode **k = array_grow(parent->kids, &parent->cap, parent->len, sizeof(*k), 8);

	if (k == NULL)
		return -ENOMEM;
	parent->kids = k;
	parent->kids[parent->len++] = kid;
	return 0;
}

static struct ynode *ydoc_anchor(struct ydoc *d, const char *name)
{
	for (struct ynode *n = d->anchors; n != NULL; n = n->next_anchor)
		if (n->anchor != NULL && strcmp(n->anchor, name) == 0)
			return n;
	return NULL;
}

/* Puts a finished node under the open container, or makes it the root. */
static int ydoc_attach(struct ydoc *d, struct ynode **stack, size_t depth, struct ynode *n)
{
	if (depth == 0) {
		if (d->root == NULL)
			d->root = n;
		return 0;
	}
	return ynode_push(stack[depth - 1], n);
}

/* One event into the tree. 1 when the first document is complete. */
static int ydoc_event(struct ydoc *d, yaml_event_t *ev, struct ynode **stack, size_t *depth,
        const char *source, char **cause)
{
	size_t line = ev->start_mark.line + 1;
	struct ynode *n;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = ynode_new(d, YNODE_SCALAR, ev->data.scalar.anchor, line);
		if (n == NULL ||
		        (n->value = strndup((const char *)ev->data.scalar.value,
		                 ev->data.scalar.length)) == NULL)
			break;
		return ydoc_attach(d, stack, *depth, n);
	case YAML_ALIAS_EVENT:
		if (++d->aliases > YAML_MAX_ALIASES)
			return clouds_error(
			        cause, -EINVAL, "%s:%zu: too many aliases", source, line);
		n = ydoc_anchor(d, (const char *)ev->data.alias.anchor);
		if (n == NULL)
			return clouds_error(cause, -EINVAL, "%s:%zu: unknown alias *%s", source,
			        line, (const char *)ev->data.alias.anchor);
		return ydoc_attach(d, stack, *depth, n);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (*depth >= YAML_MAX_DEPTH)
			return clouds_error(
			        cause, -EINVAL, "%s:%zu: nested too deeply", source, line);
		n = ynode_new(d, ev->type == YAML_MAPPING_START_EVENT ? YNODE_MAP : YNODE_SEQ,
		        ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor
		                                             : ev->data.sequence_start.anchor,
		        line);
		if (n == NULL || ydoc_attach(d, stack, *depth, n) < 0)
			break;
		stack[(*depth)++] = n;
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (*depth > 0)
			(*depth)--;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
	if (d->nodes >= YAML_MAX_NODES || d->anchors_len >= YAML_MAX_ANCHORS)
		return clouds_error(
		        cause, -EINVAL, "%s:%zu: too many YAML nodes or anchors", source, line);
	return clouds_error(cause, -ENOMEM, "%s: out of memory", source);
}

static int ydoc_parse(
        const char *text, size_t len, const char *source, struct ydoc *d, char **cause)
{
	struct ynode *stack[YAML_MAX_DEPTH];
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t depth = 0;
	int r = 0;

	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&parser))
		return clouds_error(cause, -ENOMEM, "%s: out of memory", source);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (r == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			r = clouds_error(cause, -EINVAL, "%s:%zu: %s %s", source,
			        parser.problem_mark.line + 1,
			        parser.problem ? parser.problem : "invalid YAML",
			        parser.context ? parser.context : "");
			break;
		}
		r = ydoc_event(d, &ev, stack, &depth, source, cause);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (r < 0) {
		ydoc_free(d);
		return r;
	}
	return 0;
}

/* The value of key in map (the last one, as PyYAML keeps), or NULL. */
static const struct ynode *ymap_get(const struct ynode *map, const char *key)
{
	const struct ynode *found = NULL;

	if (map == NULL || map->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->len; i += 2)
		if (map->kids[i]->kind == YNODE_SCALAR && strcmp(map->kids[i]->value, key) == 0)
			found = map->kids[i + 1];
	return found;
}

/* ---- fields ---------------------------------------------------------- */

/* Where each clouds.yaml key and OS_* variable lands. */
struct cloud_field {
	const char *key; /* under auth: (or at the cloud's top level) */
	const char *env;
	size_t offset;
};

#define F(k, e, m)                                                                                 \
	{                                                                                          \
		k, e, offsetof(struct cloud, m)                                                    \
	}
static const struct cloud_field auth_fields[] = {
        F("auth_url", "OS_AUTH_URL", auth_url),
        F("username", "OS_USERNAME", username),
        F("user_id", "OS_USER_ID", user_id),
        F("password", "OS_PASSWORD", password),
        F("user_domain_name", "OS_USER_DOMAIN_NAME", user_domain_name),
        F("user_domain_id", "OS_USER_DOMAIN_ID", user_domain_id),
        F("project_name", "OS_PROJECT_NAME", project_name),
        F("tenant_name", "OS_TENANT_NAME", project_name),
        F("project_id", "OS_PROJECT_ID", project_id),
        F("tenant_id", "OS_TENANT_ID", project_id),
        F("project_domain_name", "OS_PROJECT_DOMAIN_NAME", project_domain_name),
        F("project_domain_id", "OS_PROJECT_DOMAIN_ID", project_domain_id),
        F("application_credential_id", "OS_APPLICATION_CREDENTIAL_ID", application_credential_id),
        F("application_credential_name", "OS_APPLICATION_CREDENTIAL_NAME",
                application_credential_name),
        F("application_credential_secret", "OS_APPLICATION_CREDENTIAL_SECRET",
                application_credential_secret),
};
static const struct cloud_field top_fields[] = {
        F("region_name", "OS_REGION_NAME", region_name),
        F("interface", "OS_INTERFACE", interface),
        F("endpoint_type", "OS_ENDPOINT_TYPE", interface),
        F("cacert", "OS_CACERT", cacert),
};
#undef F

static char **cloud_slot(struct cloud *c, const struct cloud_field *f)
{
	return (char **)((char *)c + f->offset);
}

static int cloud_set(char **slot, const char *value)
{
	char *s = strdup(value);

	if (s == NULL)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

/* Copies scalar key of map into *slot when present. */
static int cloud_take(
        const struct ynode *map, const char *key, char **slot, const char *source, char **cause)
{
	const struct ynode *v = ymap_get(map, key);

	if (v == NULL)
		return 0;
	if (v->kind != YNODE_SCALAR)
		return clouds_error(
		        cause, -EINVAL, "%s:%zu: %s: expected a string", source, v->line, key);
	if (v->value[0] == '\0' || strcmp(v->value, "~") == 0 || strcmp(v->value, "null") == 0)
		return 0;
	if (cloud_set(slot, v->value) < 0)
		return clouds_error(cause, -ENOMEM, "%s: out of memory", source);
	return 0;
}

/* YAML 1.1 booleans, as PyYAML reads them. 1, 0, or -1 when not one. */
static int clouds_bool(const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", "y", "1"};
	static const char *const no[] = {"false", "no", "off", "n", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int cloud_auth_type_parse(struct cloud *c, const char *s, const char *where, char **cause)
{
	if (strcmp(s, "password") == 0 || strcmp(s, "v3password") == 0)
		c->auth_type = CLOUD_AUTH_PASSWORD;
	else if (strcmp(s, "v3applicationcredential") == 0 ||
	        strcmp(s, "applicationcredential") == 0 || strcmp(s, "application_credential") == 0)
		c->auth_type = CLOUD_AUTH_APPLICATION_CREDENTIAL;
	else
		return clouds_error(cause, -EINVAL,
		        "%s: auth_type \"%s\" is not supported (password or "
		        "v3applicationcredential)",
		        where, s);
	return 0;
}

/* Domain defaults: domain_id / domain_name stand for both user and project
 * domains when those are not given (openstacksdk does the same). */
static int cloud_domain_defaults(struct cloud *c, const char *domain_id, const char *domain_name)
{
	int r = 0;

	if (c->user_domain_id == NULL && c->user_domain_name == NULL) {
		if (domain_id != NULL)
			r = cloud_set(&c->user_domain_id, domain_id);
		else if (domain_name != NULL)
			r = cloud_set(&c->user_domain_name, domain_name);
	}
	if (r == 0 && c->project_domain_id == NULL && c->project_domain_name == NULL) {
		if (domain_id != NULL)
			r = cloud_set(&c->project_domain_id, domain_id);
		else if (domain_name != NULL)
			r = cloud_set(&c->project_domain_name, domain_name);
	}
	return r;
}

static int cloud_from_yaml(
        const struct ynode *cy, const char *source, struct cloud *c, char **cause)
{
	const struct ynode *auth = ymap_get(cy, "auth"), *v;
	char *domain_id = NULL, *domain_name = NULL, *auth_type = NULL;
	int r = 0;

	if (auth != NULL && auth->kind != YNODE_MAP)
		return clouds_error(
		        cause, -EINVAL, "%s:%zu: auth: expected a mapping", source, auth->line);
	/* Keys under auth: win; the same keys at the cloud's top level are
	 * accepted too, as openstacksdk moves them under auth. */
	for (size_t i = 0; r == 0 && i < sizeof(auth_fields) / sizeof(auth_fields[0]); i++) {
		r = cloud_take(
		        cy, auth_fields[i].key, cloud_slot(c, &auth_fields[i]), source, cause);
		if (r == 0)
			r = cloud_take(auth, auth_fields[i].key, cloud_slot(c, &auth_fields[i]),
			        source, cause);
	}
	for (size_t i = 0; r == 0 && i < sizeof(top_fields) / sizeof(top_fields[0]); i++)
		r = cloud_take(cy, top_fields[i].key, cloud_slot(c, &top_fields[i]), source, cause);
	if (r == 0)
		r = cloud_take(auth, "domain_id", &domain_id, source, cause);
	if (r == 0)
		r = cloud_take(auth, "domain_name", &domain_name, source, cause);
	if (r == 0)
		r = cloud_take(cy, "auth_type", &auth_type, source, cause);
	if (r == 0 && auth_type != NULL)
		r = cloud_auth_type_parse(c, auth_type, source, cause);
	if (r == 0 && cloud_domain_defaults(c, domain_id, domain_name) < 0)
		r = clouds_error(cause, -ENOMEM, "%s: out of memory", source);
	free(domain_id);
	free(domain_name);
	free(auth_type);
	if (r < 0)
		return r;
	if (c->region_name == NULL && (v = ymap_get(cy, "regions")) != NULL &&
	        v->kind == YNODE_SEQ && v->len > 0 && v->kids[0]->kind == YNODE_SCALAR &&
	        cloud_set(&c->region_name, v->kids[0]->value) < 0)
		return clouds_error(cause, -ENOMEM, "%s: out of memory", source);
	if ((v = ymap_get(cy, "verify")) != NULL) {
		int b = v->kind == YNODE_SCALAR ? clouds_bool(v->value) : -1;

		if (b < 0)
			return clouds_error(cause, -EINVAL,
			        "%s:%zu: verify: expected true or false", source, v->line);
		c->verify = b;
	}
	return 0;
}

int clouds_parse(const char *text, size_t len, const char *source, const char *cloud_name,
        struct cloud *out, char **cause)
{
	const struct ynode *clouds, *cy;
	struct ydoc d;
	int r;

	memset(out, 0, sizeof(*out));
	out->verify = true;
	if ((r = ydoc_parse(text, len, source, &d, cause)) < 0)
		return r;
	clouds = ymap_get(d.root, "clouds");
	if (clouds == NULL || clouds->kind != YNODE_MAP) {
		r = clouds_error(cause, -ENOENT,
		        "cloud \"%s\" not found in %s (no clouds: mapping)", cloud_name, source);
		goto out;
	}
	cy = ymap_get(clouds, cloud_name);
	if (cy == NULL || cy->kind != YNODE_MAP) {
		r = clouds_error(
		        cause, -ENOENT, "cloud \"%s\" not found in %s", cloud_name, source);
		goto out;
	}
	if ((out->name = strdup(cloud_name)) == NULL || (out->source = strdup(source)) == NULL) {
		r = clouds_error(cause, -ENOMEM, "%s: out of memory", source);
		goto out;
	}
	r = cloud_from_yaml(cy, source, out, cause);
out:
	ydoc_free(&d);
	if (r < 0)
		cloud_free(out);
	return r;
}

/* ---- the environment ------------------------------------------------- */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* OS_* over whatever the file gave, like the CLI's --os-* options. */
static int cloud_from_env(struct cloud *c, char **cause)
{
	const char *v;
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(auth_fields) / sizeof(auth_fields[0]); i++)
		if ((v = env(auth_fields[i].env)) != NULL)
			r = cloud_set(cloud_slot(c, &auth_fields[i]), v);
	for (size_t i = 0; r == 0 && i < sizeof(top_fields) / sizeof(top_fields[0]); i++)
		if ((v = env(top_fields[i].env)) != NULL)
			r = cloud_set(cloud_slot(c, &top_fields[i]), v);
	if (r == 0)
		r = cloud_domain_defaults(c, env("OS_DOMAIN_ID"), env("OS_DOMAIN_NAME"));
	if (r < 0)
		return clouds_error(cause, -ENOMEM, "out of memory");
	if ((v = env("OS_AUTH_TYPE")) != NULL &&
	        (r = cloud_auth_type_parse(c, v, "OS_AUTH_TYPE", cause)) < 0)
		return r;
	if ((v = env("OS_INSECURE")) != NULL) {
		int b = clouds_bool(v);

		if (b < 0)
			return clouds_error(cause, -EINVAL, "OS_INSECURE: expected true or false");
		c->verify = !b;
	}
	return 0;
}

/* ---- finding the file ------------------------------------------------ */

/* Reads path whole into *text. 0, -ENOENT when it does not exist, -errno. */
static int clouds_read(const char *path, char **text, size_t *len, char **cause)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t got;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return r;
		return clouds_error(cause, r, "%s: %s", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = errno ? -errno : -EINVAL;
		close(fd);
		return clouds_error(cause, r, "%s: not a readable regular file", path);
	}
	if (st.st_size > CLOUDS_MAX_FILE_SIZE) {
		close(fd);
		return clouds_error(
		        cause, -EFBIG, "%s: larger than %d bytes", path, CLOUDS_MAX_FILE_SIZE);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return clouds_error(cause, -ENOMEM, "%s: out of memory", path);
	}
	while (n < (size_t)st.st_size && (got = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (got < 0) {
			r = -errno;
			if (r == -EINTR)
				continue;
			free(buf);
			close(fd);
			return clouds_error(cause, r, "%s: %s", path, strerror(-r));
		}
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

#define CLOUDS_CANDIDATES 5

/* The candidate files in openstacksdk's order; entries are allocated or NULL. */
static int clouds_candidates(const char *clouds_file, char *out[CLOUDS_CANDIDATES])
{
	const char *home = env("HOME"), *xdg = env("XDG_CONFIG_HOME"), *v;
	int n = 0;

	memset(out, 0, CLOUDS_CANDIDATES * sizeof(out[0]));
	if (home == NULL) {
		struct passwd *pw = getpwuid(getuid());

		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if ((v = env("OS_CLIENT_CONFIG_FILE")) != NULL && (out[n++] = strdup(v)) == NULL)
		return -ENOMEM;
	if (clouds_file != NULL && clouds_file[0] != '\0' &&
	        (out[n++] = strdup(clouds_file)) == NULL)
		return -ENOMEM;
	if ((out[n++] = strdup("./clouds.yaml")) == NULL)
		return -ENOMEM;
	if (xdg != NULL) {
		if (asprintf(&out[n++], "%s/openstack/clouds.yaml", xdg) < 0)
			return out[n - 1] = NULL, -ENOMEM;
	} else if (home != NULL) {
		if (asprintf(&out[n++], "%s/.config/openstack/clouds.yaml", home) < 0)
			return out[n - 1] = NULL, -ENOMEM;
	}
	if ((out[n++] = strdup("/etc/openstack/clouds.yaml")) == NULL)
		return -ENOMEM;
	return 0;
}

/* Loads the named cloud from the first file that exists. */
static int clouds_from_files(
        const char *clouds_file, const char *name, struct cloud *out, char **cause)
{
	char *paths[CLOUDS_CANDIDATES], *text = NULL;
	size_t len = 0;
	int r;

	if ((r = clouds_candidates(clouds_file, paths)) < 0) {
		clouds_error(cause, r, "out of memory");
		goto out;
	}
	for (int i = 0; i < CLOUDS_CANDIDATES && paths[i] != NULL; i++) {
		r = clouds_read(paths[i], &text, &len, cause);
		if (r == -ENOENT)
			continue;
		if (r == 0) {
			r = clouds_parse(text, len, paths[i], name, out, cause);
			free(text);
		}
		goto out;
	}
	r = clouds_error(cause, -ENOENT,
	        "cloud \"%s\": no clouds.yaml found (looked in %s%s%s%s%s%s%s%s%s)", name, paths[0],
	        paths[1] ? ", " : "", paths[1] ? paths[1] : "", paths[2] ? ", " : "",
	        paths[2] ? paths[2] : "", paths[3] ? ", " : "", paths[3] ? paths[3] : "",
	        paths[4] ? ", " : "", paths[4] ? paths[4] : "");
out:
	for (int i = 0; i < CLOUDS_CANDIDATES; i++)
		free(paths[i]);
	return r;
}

/* ---- checks ---------------------------------------------------------- */

static int cloud_missing(
        const struct cloud *c, const char *what, const char *env_names, char **cause)
{
	return clouds_error(cause, -EINVAL, "cloud \"%s\" (%s): %s is required (or %s)",
	        c->name ? c->name : "?", c->source ? c->source : "?", what, env_names);
}

static int cloud_check_interface(const struct cloud *c, char **cause)
{
	static const char *const ok[] = {"public", "internal", "admin"};

	if (c->interface == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(c->interface, ok[i]) == 0)
			return 0;
	return clouds_error(cause, -EINVAL,
	        "cloud \"%s\" (%s): interface \"%s\" is not public, internal or admin", c->name,
	        c->source, c->interface);
}

int cloud_check(const struct cloud *c, char **cause)
{
	if (c->auth_url == NULL)
		return cloud_missing(c, "auth.auth_url", "OS_AUTH_URL", cause);
	if (c->auth_type == CLOUD_AUTH_APPLICATION_CREDENTIAL) {
		if (c->application_credential_secret == NULL)
			return cloud_missing(c, "auth.application_credential_secret",
			        "OS_APPLICATION_CREDENTIAL_SECRET", cause);
		if (c->application_credential_id == NULL) {
			if (c->application_credential_name == NULL)
				return cloud_missing(c, "auth.application_credential_id",
				        "OS_APPLICATION_CREDENTIAL_ID", cause);
			if (c->user_id == NULL && c->username == NULL)
				return cloud_missing(c,
				        "auth.user_id or auth.username (with "
				        "application_credential_name)",
				        "OS_USER_ID, OS_USERNAME", cause);
			if (c->user_id == NULL && c->user_domain_id == NULL &&
			        c->user_domain_name == NULL)
				return cloud_missing(c,
				        "auth.user_domain_name or auth.user_domain_id (with "
				        "username)",
				        "OS_USER_DOMAIN_NAME, OS_USER_DOMAIN_ID", cause);
		}
		return cloud_check_interface(c, cause);
	}
	if (c->username == NULL && c->user_id == NULL)
		return cloud_missing(
		        c, "auth.username or auth.user_id", "OS_USERNAME, OS_USER_ID", cause);
	if (c->password == NULL)
		return cloud_missing(c, "auth.password", "OS_PASSWORD", cause);
	if (c->user_id == NULL && c->user_domain_id == NULL && c->user_domain_name == NULL)
		return cloud_missing(c,
		        "auth.user_domain_name or auth.user_domain_id (with username)",
		        "OS_USER_DOMAIN_NAME, OS_USER_DOMAIN_ID", cause);
	if (c->project_name == NULL && c->project_id == NULL)
		return cloud_missing(c, "auth.project_name or auth.project_id",
		        "OS_PROJECT_NAME, OS_PROJECT_ID", cause);
	if (c->project_id == NULL && c->project_domain_id == NULL && c->project_domain_name == NULL)
		return cloud_missing(c,
		        "auth.project_domain_name or auth.project_domain_id (with project_name)",
		        "OS_PROJECT_DOMAIN_NAME, OS_PROJECT_DOMAIN_ID", cause);
	return cloud_check_interface(c, cause);
}

/* "publicURL" and friends, as old configs spell them. */
static int cloud_normalize(struct cloud *c)
{
	size_t n;

	if (c->interface == NULL)
		return cloud_set(&c->interface, "public");
	n = strlen(c->interface);
	if (n > 3 && strcmp(c->interface + n - 3, "URL") == 0)
		c->interface[n - 3] = '\0';
	return 0;
}

int clouds_load(const char *clouds_file, const char *cloud_name, struct cloud *out, char **cause)
{
	const char *name =
	        cloud_name != NULL && cloud_name[0] != '\0' ? cloud_name : env("OS_CLOUD");
	int r;

	if (cause != NULL)
		*cause = NULL;
	if (name != NULL) {
		if ((r = clouds_from_files(clouds_file, name, out, cause)) < 0)
			return r;
	} else {
		memset(out, 0, sizeof(*out));
		out->verify = true;
		if (env("OS_AUTH_URL") == NULL)
			return clouds_error(cause, -ENOENT,
			        "no cloud named (cloud, OS_CLOUD) and OS_AUTH_URL is not set");
		if ((out->name = strdup("envvars")) == NULL ||
		        (out->source = strdup("environment")) == NULL) {
			cloud_free(out);
			return clouds_error(cause, -ENOMEM, "out of memory");
		}
	}
	if ((r = cloud_from_env(out, cause)) == 0) {
		/* Without auth_type, an application credential secret and no
		 * password say which kind it is. */
		if (out->auth_type == CLOUD_AUTH_PASSWORD && out->password == NULL &&
		        out->application_credential_secret != NULL)
			out->auth_type = CLOUD_AUTH_APPLICATION_CREDENTIAL;
	}
	if (r < 0 || (r = cloud_normalize(out)) < 0 || (r = cloud_check(out, cause)) < 0) {
		if (r == -ENOMEM && cause != NULL && *cause == NULL)
			clouds_error(cause, r, "out of memory");
		cloud_free(out);
		return r;
	}
	return 0;
}

/* ---- copies ---------------------------------------------------------- */

/* One field a line: clang-format cannot lay out an X-macro list. */
/* clang-format off */
#define CLOUD_STRINGS(X) \
	X(name) \
	X(source) \
	X(auth_url) \
	X(username) \
	X(user_id) \
	X(password) \
	X(user_domain_name) \
	X(user_domain_id) \
	X(project_name) \
	X(project_id) \
	X(project_domain_name) \
	X(project_domain_id) \
	X(application_credential_id) \
	X(application_credential_name) \
	X(application_credential_secret) \
	X(region_name) \
	X(interface) \
	X(cacert)
/* clang-format on */

void cloud_free(struct cloud *c)
{
	if (c == NULL)
		return;
#define FREE(f) free(c->f);
	CLOUD_STRINGS(FREE)
#undef FREE
	memset(c, 0, sizeof(*c));
}

int cloud_copy(const struct cloud *src, struct cloud *dst)
{
	*dst = *src;
#define CLEAR(f) dst->f = NULL;
	CLOUD_STRINGS(CLEAR)
#undef CLEAR
#define COPY(f)                                                                                    \
	if (src->f != NULL && (dst->f = strdup(src->f)) == NULL) {                                 \
		cloud_free(dst);                                                                   \
		return -ENOMEM;                                                                    \
	}
	CLOUD_STRINGS(COPY)
#undef COPY
	return 0;
}
