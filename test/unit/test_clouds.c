/*
 * clouds.yaml and OS_* resolution: the file order of openstacksdk, the
 * environment over the file, errors that name what is missing, application
 * credentials, and YAML that is odd or broken.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clouds.h"

extern char **environ;

static char tmpdir[64];
static char oldcwd[4096];

static const char *const cloud_a = "clouds:\n"
                                   "  mycloud:\n"
                                   "    auth:\n"
                                   "      auth_url: http://a.example:5000/v3\n"
                                   "      username: alice\n"
                                   "      password: from-file\n"
                                   "      project_name: proj\n"
                                   "      user_domain_name: Default\n"
                                   "      project_domain_name: Default\n"
                                   "    region_name: RegionA\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A file whose cloud "mycloud" has auth_url http://<tag>.example. */
static void write_tagged(const char *path, const char *tag)
{
	char text[512];

	snprintf(text, sizeof(text),
	        "clouds:\n  mycloud:\n    auth:\n      auth_url: http://%s.example/v3\n"
	        "      username: u\n      password: p\n      project_id: pid\n"
	        "      user_domain_id: default\n",
	        tag);
	write_file(path, text);
}

/* Each test runs in a fresh directory with no OS_* variables. */
static int setup(void **state)
{
	char *names[256];
	size_t n = 0;

	for (char **e = environ; *e != NULL && n < 256; e++)
		if (strncmp(*e, "OS_", 3) == 0)
			names[n++] = strndup(*e, strcspn(*e, "="));
	for (size_t i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/praas-clouds.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	assert_non_null(getcwd(oldcwd, sizeof(oldcwd)));
	assert_int_equal(chdir(tmpdir), 0);
	setenv("HOME", tmpdir, 1);
	unsetenv("XDG_CONFIG_HOME");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	assert_int_equal(chdir(oldcwd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_named_cloud(void **state)
{
	struct cloud c;
	char *cause = NULL;

	write_file("given.yaml", cloud_a);
	assert_int_equal(clouds_load("given.yaml", "mycloud", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://a.example:5000/v3");
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.password, "from-file");
	assert_string_equal(c.project_name, "proj");
	assert_string_equal(c.user_domain_name, "Default");
	assert_string_equal(c.region_name, "RegionA");
	assert_string_equal(c.interface, "public");
	assert_string_equal(c.source, "given.yaml");
	assert_int_equal(c.auth_type, CLOUD_AUTH_PASSWORD);
	assert_true(c.verify);
	cloud_free(&c);
}

/* OS_CLIENT_CONFIG_FILE, then the given file, ./clouds.yaml, the user's, /etc. */
static void test_file_order(void **state)
{
	struct cloud c;
	char *cause = NULL;

	assert_int_equal(mkdir(".config", 0700), 0);
	assert_int_equal(mkdir(".config/openstack", 0700), 0);
	write_tagged(".config/openstack/clouds.yaml", "user");
	assert_int_equal(clouds_load("missing.yaml", "mycloud", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://user.example/v3");
	cloud_free(&c);

	write_tagged("clouds.yaml", "cwd");
	assert_int_equal(clouds_load("missing.yaml", "mycloud", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://cwd.example/v3");
	cloud_free(&c);

	write_tagged("given.yaml", "given");
	assert_int_equal(clouds_load("given.yaml", "mycloud", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://given.example/v3");
	cloud_free(&c);

	write_tagged("env.yaml", "env");
	setenv("OS_CLIENT_CONFIG_FILE", "env.yaml", 1);
	assert_int_equal(clouds_load("given.yaml", "mycloud", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://env.example/v3");
	assert_string_equal(c.source, "env.yaml");
	cloud_free(&c);

	/* XDG_CONFIG_HOME moves the user's file. */
	unsetenv("OS_CLIENT_CONFIG_FILE");
	assert_int_equal(unlink("clouds.yaml"), 0);
	assert_int_equal(mkdir("xdg", 0700), 0);
	assert_int_equal(mkdir("xdg/openstack", 0700), 0);
	write_tagged("xdg/openstack/clouds.yaml", "xdg");
	setenv("XDG_CONFIG_HOME", "xdg", 1);
	assert_int_equal(clouds_load(NULL, "mycloud", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://xdg.example/v3");
	cloud_free(&c);
}

static void test_os_cloud(void **state)
{
	struct cloud c;
	char *cause = NULL;

	write_file("clouds.yaml", cloud_a);
	setenv("OS_CLOUD", "mycloud", 1);
	assert_int_equal(clouds_load(NULL, NULL, &c, &cause), 0);
	assert_string_equal(c.name, "mycloud");
	cloud_free(&c);
	/* The parameter wins over OS_CLOUD. */
	assert_int_equal(clouds_load(NULL, "other", &c, &cause), -ENOENT);
	assert_non_null(strstr(cause, "cloud \"other\" not found in ./clouds.yaml"));
	free(cause);
}

/* OS_* alone make the "envvars" cloud; over a file they override it. */
static void test_environment(void **state)
{
	struct cloud c;
	char *cause = NULL;

	setenv("OS_AUTH_URL", "http://env.example:5000/v3", 1);
	setenv("OS_USERNAME", "bob", 1);
	setenv("OS_PASSWORD", "pw", 1);
	setenv("OS_PROJECT_ID", "p1", 1);
	setenv("OS_USER_DOMAIN_ID", "default", 1);
	setenv("OS_REGION_NAME", "R2", 1);
	setenv("OS_INTERFACE", "internalURL", 1);
	setenv("OS_CACERT", "/etc/ssl/ca.pem", 1);
	assert_int_equal(clouds_load(NULL, NULL, &c, &cause), 0);
	assert_string_equal(c.name, "envvars");
	assert_string_equal(c.source, "environment");
	assert_string_equal(c.username, "bob");
	assert_string_equal(c.project_id, "p1");
	assert_string_equal(c.region_name, "R2");
	assert_string_equal(c.interface, "internal");
	assert_string_equal(c.cacert, "/etc/ssl/ca.pem");
	cloud_free(&c);

	write_file("clouds.yaml", cloud_a);
	assert_int_equal(clouds_load(NULL, "mycloud", &c, &cause), 0);
	assert_string_equal(c.password, "pw"); /* OS_PASSWORD over the file */
	assert_string_equal(c.region_name, "R2");
	assert_string_equal(c.project_name, "proj"); /* kept from the file */
	cloud_free(&c);

	setenv("OS_INSECURE", "true", 1);
	assert_int_equal(clouds_load(NULL, "mycloud", &c, &cause), 0);
	assert_false(c.verify);
	cloud_free(&c);
}

static void expect_missing(const char *yaml, const char *words)
{
	struct cloud c;
	char *cause = NULL;

	write_file("clouds.yaml", yaml);
	assert_int_equal(clouds_load(NULL, "c", &c, &cause), -EINVAL);
	assert_non_null(cause);
	if (strstr(cause, words) == NULL)
		fail_msg("\"%s\" does not name \"%s\"", cause, words);
	free(cause);
}

static void test_missing(void **state)
{
	struct cloud c;
	char *cause = NULL;

	assert_int_equal(clouds_load(NULL, "nowhere", &c, &cause), -ENOENT);
	assert_non_null(strstr(cause, "no clouds.yaml found"));
	assert_non_null(strstr(cause, "/etc/openstack/clouds.yaml"));
	free(cause);

	assert_int_equal(clouds_load(NULL, NULL, &c, &cause), -ENOENT);
	assert_non_null(strstr(cause, "OS_AUTH_URL"));
	free(cause);

	expect_missing("clouds:\n  c:\n    auth:\n      username: u\n", "auth.auth_url");
	expect_missing("clouds:\n  c:\n    auth:\n      auth_url: http://x\n      username: u\n",
	        "auth.password");
	expect_missing("clouds:\n  c:\n    auth:\n      auth_url: http://x\n      username: u\n"
	               "      password: p\n      project_name: x\n",
	        "auth.user_domain_name");
	expect_missing("clouds:\n  c:\n    auth:\n      auth_url: http://x\n      user_id: u\n"
	               "      password: p\n",
	        "auth.project_name or auth.project_id");
	expect_missing("clouds:\n  c:\n    auth:\n      auth_url: http://x\n      user_id: u\n"
	               "      password: p\n      project_name: x\n",
	        "auth.project_domain_name");
	expect_missing("clouds:\n  c:\n    auth_type: v3applicationcredential\n    auth:\n"
	               "      auth_url: http://x\n      application_credential_id: i\n",
	        "auth.application_credential_secret");
	expect_missing("clouds:\n  c:\n    auth_type: v3applicationcredential\n    auth:\n"
	               "      auth_url: http://x\n      application_credential_name: n\n"
	               "      application_credential_secret: s\n",
	        "auth.user_id or auth.username");
	expect_missing("clouds:\n  c:\n    auth_type: token\n", "auth_type \"token\"");
	expect_missing("clouds:\n  c:\n    verify: maybe\n", "verify");
	expect_missing(
	        "clouds:\n  c:\n    interface: sideways\n    auth:\n      auth_url: http://x\n"
	        "      user_id: u\n      password: p\n      project_id: x\n",
	        "interface \"sideways\"");
}

static void test_app_credential(void **state)
{
	struct cloud c;
	char *cause = NULL;

	write_file("clouds.yaml",
	        "clouds:\n"
	        "  ac:\n"
	        "    auth_type: v3applicationcredential\n"
	        "    auth:\n"
	        "      auth_url: https://k.example/v3\n"
	        "      application_credential_id: abc\n"
	        "      application_credential_secret: s3cret\n"
	        "    verify: false\n"
	        "    cacert: /tmp/ca.pem\n"
	        "  ac2:\n"
	        "    auth:\n"
	        "      auth_url: https://k.example/v3\n"
	        "      application_credential_name: n\n"
	        "      application_credential_secret: s\n"
	        "      username: u\n"
	        "      domain_name: D\n");
	assert_int_equal(clouds_load(NULL, "ac", &c, &cause), 0);
	assert_int_equal(c.auth_type, CLOUD_AUTH_APPLICATION_CREDENTIAL);
	assert_string_equal(c.application_credential_id, "abc");
	assert_string_equal(c.application_credential_secret, "s3cret");
	assert_false(c.verify);
	assert_string_equal(c.cacert, "/tmp/ca.pem");
	cloud_free(&c);
	/* No auth_type: a secret without a password says which; domain_name
	 * stands for the user's domain. */
	assert_int_equal(clouds_load(NULL, "ac2", &c, &cause), 0);
	assert_int_equal(c.auth_type, CLOUD_AUTH_APPLICATION_CREDENTIAL);
	assert_string_equal(c.user_domain_name, "D");
	assert_string_equal(c.project_domain_name, "D");
	cloud_free(&c);
	/* The same from OS_* alone. */
	setenv("OS_AUTH_URL", "http://k/v3", 1);
	setenv("OS_AUTH_TYPE", "v3applicationcredential", 1);
	setenv("OS_APPLICATION_CREDENTIAL_ID", "id1", 1);
	setenv("OS_APPLICATION_CREDENTIAL_SECRET", "sec", 1);
	assert_int_equal(clouds_load(NULL, NULL, &c, &cause), 0);
	assert_int_equal(c.auth_type, CLOUD_AUTH_APPLICATION_CREDENTIAL);
	assert_string_equal(c.application_credential_id, "id1");
	cloud_free(&c);
}

static void test_yaml_oddities(void **state)
{
	static const char *const anchors = "defaults: &auth\n"
	                                   "  auth_url: http://anchor.example/v3\n"
	                                   "  user_id: u\n"
	                                   "  password: p\n"
	                                   "  project_id: x\n"
	                                   "clouds:\n"
	                                   "  a: {auth: *auth, region_name: \"R\"}\n"
	                                   "  b:\n"
	                                   "    auth: *auth\n"
	                                   "    regions: [R9, R10]\n";
	struct cloud c, copy;
	char *cause = NULL;

	assert_int_equal(clouds_parse(anchors, strlen(anchors), "t", "a", &c, &cause), 0);
	assert_string_equal(c.auth_url, "http://anchor.example/v3");
	assert_string_equal(c.region_name, "R");
	assert_int_equal(cloud_check(&c, &cause), 0);
	assert_int_equal(cloud_copy(&c, &copy), 0);
	cloud_free(&c);
	assert_string_equal(copy.auth_url, "http://anchor.example/v3");
	cloud_free(&copy);
	assert_int_equal(clouds_parse(anchors, strlen(anchors), "t", "b", &c, &cause), 0);
	assert_string_equal(c.region_name, "R9");
	cloud_free(&c);

	/* Broken YAML: an error with the line. */
	assert_int_equal(
	        clouds_parse("clouds:\n  a: [\n", 14, "bad.yaml", "a", &c, &cause), -EINVAL);
	assert_non_null(strstr(cause, "bad.yaml:"));
	free(cause);
	/* Not a mapping, a scalar where a map belongs, an unknown alias. */
	assert_int_equal(clouds_parse("- 1\n- 2\n", 8, "t", "a", &c, &cause), -ENOENT);
	free(cause);
	assert_int_equal(clouds_parse("clouds:\n  a: 5\n", 15, "t", "a", &c, &cause), -ENOENT);
	free(cause);
	assert_int_equal(
	        clouds_parse("clouds:\n  a:\n    auth: [1]\n", 27, "t", "a", &c, &cause), -EINVAL);
	free(cause);
	assert_int_equal(clouds_parse("clouds: *x\n", 11, "t", "a", &c, &cause), -EINVAL);
	free(cause);
	/* A self-referencing anchor must not loop: "a" is the clouds map. */
	assert_int_equal(clouds_parse("clouds: &c\n  a: *c\n", 19, "t", "a", &c, &cause), 0);
	assert_null(c.auth_url);
	cloud_free(&c);
	/* Too deep. */
	{
		char deep[400];

		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		assert_int_equal(clouds_parse(deep, strlen(deep), "t", "a", &c, &cause), -EINVAL);
		free(cause);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_named_cloud, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_order, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_os_cloud, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_app_credential, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_yaml_oddities, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
