/*
 * OpenStack credentials the way openstacksdk and the openstack CLI find
 * them: a cloud in clouds.yaml (read with libyaml), the OS_* environment
 * variables, or both (OS_* values override the file's, as the CLI's
 * --os-* options do).
 *
 * The file is the first that exists of:
 *   $OS_CLIENT_CONFIG_FILE, clouds_file (the parameter), ./clouds.yaml,
 *   ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml
 * (openstacksdk puts OS_CLIENT_CONFIG_FILE before the files it is given,
 * then its default locations). Only that one file is read.
 *
 * The cloud is the one named by the parameter, else $OS_CLOUD. With no
 * name at all, the credentials come from OS_* alone (openstacksdk's
 * "envvars" cloud), which then needs OS_AUTH_URL.
 *
 * Promises: the parser never crashes, loops or leaks on any input (it is
 * fuzzed; aliases are followed without copying, depth and size are
 * bounded); a missing file, cloud or required field is an error whose
 * words name it.
 */
#ifndef PRAAS_CLOUDS_H
#define PRAAS_CLOUDS_H

#include <stdbool.h>
#include <stddef.h>

#define CLOUDS_MAX_FILE_SIZE (1024 * 1024)

enum cloud_auth_type {
	CLOUD_AUTH_PASSWORD,               /* "password", "v3password" */
	CLOUD_AUTH_APPLICATION_CREDENTIAL, /* "v3applicationcredential" */
};

/*
 * A resolved cloud. Every string is allocated or NULL when not given.
 * After clouds_load() succeeds the required fields of auth_type are set.
 */
struct cloud {
	char *name;   /* the cloud's name, or "envvars" */
	char *source; /* the file it came from, or "environment" */
	enum cloud_auth_type auth_type;
	char *auth_url; /* as given, e.g. http://127.0.0.1:5000/v3 */

	/* password */
	char *username;
	char *user_id;
	char *password;
	char *user_domain_name;
	char *user_domain_id;
	char *project_name; /* also from tenant_name */
	char *project_id;   /* also from tenant_id */
	char *project_domain_name;
	char *project_domain_id;

	/* v3applicationcredential */
	char *application_credential_id;
	char *application_credential_name; /* needs the user (name+domain or id) */
	char *application_credential_secret;

	char *region_name;
	char *interface; /* "public" (default), "internal" or "admin" */
	bool verify;     /* default true; "verify: false" or OS_INSECURE=true clears it */
	char *cacert;    /* CA bundle file, or NULL for the system's */
};

/*
 * Finds and resolves a cloud. clouds_file and cloud_name may be NULL or "".
 * Returns 0 with *out filled, or a negative errno with *cause set to an
 * allocated line the caller frees:
 *   -ENOENT  no clouds.yaml found although a cloud was named (the line
 *            lists the places searched), or the cloud is not in the file
 *            ("cloud \"x\" not found in FILE");
 *   -EINVAL  a required field is missing ("cloud \"x\" (FILE): auth.password
 *            is required (or OS_PASSWORD)"), a value is malformed, or the
 *            YAML is not valid (with its line);
 *   -EFBIG   the file is larger than CLOUDS_MAX_FILE_SIZE;
 *   -ENOMEM, or the errno of open/read.
 */
int clouds_load(const char *clouds_file, const char *cloud_name, struct cloud *out, char **cause);

/*
 * The parsing step alone, on a buffer: finds cloud_name in a clouds.yaml
 * text and fills *out from it, without the environment and without the
 * check of required fields. source names the buffer in messages. Same
 * returns as clouds_load(). Used by the fuzzer.
 */
int clouds_parse(const char *text, size_t len, const char *source, const char *cloud_name,
        struct cloud *out, char **cause);

/*
 * Checks that the fields auth_type needs are present. 0, or -EINVAL with
 * *cause naming the first missing one.
 */
int cloud_check(const struct cloud *c, char **cause);

/* Deep copy; 0 or -ENOMEM. */
int cloud_copy(const struct cloud *src, struct cloud *dst);
/* Frees the strings and zeroes the struct; safe on a zeroed struct. */
void cloud_free(struct cloud *c);

#endif
