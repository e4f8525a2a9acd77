/*
 * What a token costs before Keystone is asked: the shape check
 * (keystone_token_check), the keyed hash (SipHash-2-4 against the reference
 * vectors) and the table of refused tokens (lib/refused.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystone.h"
#include "refused.h"
#include "siphash.h"

/* The reference vectors of the SipHash paper: key 00..0f, message 00..len-1. */
static void test_siphash_reference(void **state)
{
	uint8_t key[SIPHASH_KEY_LEN], msg[64];

	for (int i = 0; i < SIPHASH_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	assert_true(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
	assert_true(siphash24(key, msg, 8) == 0x93f5f5799a932462ULL);
	assert_true(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
	assert_true(siphash24(key, msg, 63) == 0x958a324ceb064572ULL);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_token_shapes(void **state)
{
	/* What Keystone issues: Fernet (from a real Keystone), UUID, JWS. */
	static const char *const good[] = {
	        "gAAAAABrD8GDxDUjee4DbzjH3wN7bLkYTwNfCV--tcprFX7b9de_uQ_u9iMPhM3JW1NzhoB7Xr1pQjoy"
	        "fBg3FNcBmXbb7laX30rdbVxWdrOlFFIHyi7-amZccPCyfCkptU5fHrVDAKuQKU4geFXFwTsW-7U2VR1L"
	        "J9haPU0vYJiuejU2zsyzOcU",
	        "0123456789abcdef0123456789abcdef",
	        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
	        "fake-0123456789abcdef0123456789abcdef",
	        "MIIB+base64/with/plus+and=padding==",
	};
	static const char *const bad[] = {
	        "",
	        "short",
	        "0123456789abcde",
	        "has space 0123456789abcdef",
	        "has!bang0123456789abcdef",
	        "quote\"0123456789abcdef",
	        "tab\t0123456789abcdef",
	        "utf8-\xc3\xa9-0123456789abcdef",
	};
	const char *why = NULL;
	char *s;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (keystone_token_check(good[i], &why) != 0)
			fail_msg("refused a real token shape \"%s\": %s", good[i], why);
		assert_null(why);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (keystone_token_check(bad[i], &why) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(why);
	}
	s = repeat('a', KEYSTONE_TOKEN_MIN);
	assert_int_equal(keystone_token_check(s, NULL), 0);
	free(s);
	s = repeat('a', KEYSTONE_TOKEN_MAX);
	assert_int_equal(keystone_token_check(s, NULL), 0);
	free(s);
	s = repeat('a', KEYSTONE_TOKEN_MAX + 1);
	assert_int_equal(keystone_token_check(s, &why), -EINVAL);
	assert_non_null(strstr(why, "longer"));
	free(s);
	/* Long and with a bad character: not read past the bound. */
	s = repeat('a', 100000);
	s[99999] = '!';
	assert_int_equal(keystone_token_check(s, &why), -EINVAL);
	free(s);
}

static void test_refused_remembers_until(void **state)
{
	struct refused *rf;

	assert_int_equal(refused_new(0, &rf), -EINVAL);
	assert_int_equal(refused_new(64, &rf), 0);
	assert_false(refused_has(rf, "gAAAAABbadtoken0001", 1000));
	refused_put(rf, "gAAAAABbadtoken0001", 1005);
	assert_true(refused_has(rf, "gAAAAABbadtoken0001", 1000));
	assert_true(refused_has(rf, "gAAAAABbadtoken0001", 1004));
	assert_false(refused_has(rf, "gAAAAABbadtoken0001", 1005));
	assert_false(refused_has(rf, "gAAAAABbadtoken0002", 1000));
	assert_false(refused_has(rf, "gAAAAABbadtoken000", 1000));
	refused_clear(rf);
	assert_false(refused_has(rf, "gAAAAABbadtoken0001", 1000));
	refused_free(rf);
	refused_free(NULL);
}

/* Bounded: a flood of distinct tokens overwrites, never grows. */
static void test_refused_bounded(void **state)
{
	struct refused *rf;
	char tok[64];
	int held = 0;

	assert_int_equal(refused_new(1, &rf), 0);
	refused_put(rf, "gAAAAABfirst000000", 100);
	refused_put(rf, "gAAAAABsecond00000", 100);
	assert_false(refused_has(rf, "gAAAAABfirst000000", 50));
	assert_true(refused_has(rf, "gAAAAABsecond00000", 50));
	refused_free(rf);

	assert_int_equal(refused_new(128, &rf), 0);
	for (int i = 0; i < 10000; i++) {
		snprintf(tok, sizeof(tok), "gAAAAABflood%08d", i);
		refused_put(rf, tok, 100);
	}
	for (int i = 0; i < 10000; i++) {
		snprintf(tok, sizeof(tok), "gAAAAABflood%08d", i);
		held += refused_has(rf, tok, 50);
	}
	assert_true(held > 0 && held <= 128);
	refused_free(rf);
}

/* The key is random per table: the same token hashes differently. */
static void test_refused_keyed(void **state)
{
	struct refused *a, *b;
	int same = 0;
	char tok[64];

	assert_int_equal(refused_new(4096, &a), 0);
	assert_int_equal(refused_new(4096, &b), 0);
	for (int i = 0; i < 64; i++) {
		snprintf(tok, sizeof(tok), "gAAAAABkeyed%08d", i);
		refused_put(a, tok, 100);
		refused_put(b, "gAAAAABother000000", 100);
		same += refused_has(b, tok, 50);
	}
	assert_int_equal(same, 0);
	refused_free(a);
	refused_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_siphash_reference),
	        cmocka_unit_test(test_token_shapes),
	        cmocka_unit_test(test_refused_remembers_until),
	        cmocka_unit_test(test_refused_bounded),
	        cmocka_unit_test(test_refused_keyed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
