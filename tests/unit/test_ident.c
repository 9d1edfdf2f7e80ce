#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "ident.h"

static int parse(const char *s, unsigned flags, idn_ident_t *id)
{
	return idn_ident_parse((const uint8_t *)s, strlen(s), flags, id);
}

static void key_is(const idn_ident_t *id, const char *want)
{
	char got[IDN_IDENT_MAX + 1];
	memcpy(got, id->key, id->key_len);
	got[id->key_len] = 0;
	assert_string_equal(got, want);
}

static void test_parse_valid(void **state)
{
	(void)state;
	static idn_ident_t id;
	assert_int_equal(parse("88.118.8/JXDY2106023", 0, &id), 0);
	assert_int_equal(id.prefix_len, 8);
	key_is(&id, "88.118.8/JXDY2106023");
	assert_int_equal(parse("0.na/88.118.8", 0, &id), 0);
	key_is(&id, "0.NA/88.118.8");
	assert_int_equal(id.prefix_len, 4);
	/* suffix may contain '/' */
	assert_int_equal(parse("10.1000/a/b/c", 0, &id), 0);
	assert_int_equal(id.prefix_len, 7);
	key_is(&id, "10.1000/A/B/C");
}

static void test_case_rules(void **state)
{
	(void)state;
	static idn_ident_t a, b;
	assert_int_equal(parse("88.118.8/mm", 0, &a), 0);
	assert_int_equal(parse("88.118.8/MM", 0, &b), 0);
	assert_memory_equal(a.key, b.key, a.key_len);
	key_is(&a, "88.118.8/MM");
	/* original text is kept */
	assert_memory_equal(a.text.p, "88.118.8/mm", 11);

	assert_int_equal(parse("ab.cd/mM", IDN_IDENT_CASE_SUFFIX, &a), 0);
	key_is(&a, "AB.CD/mM");
	/* non-ASCII is never folded */
	assert_int_equal(parse("88.1/\xc3\xa9t\xc3\xa9", 0, &a), 0);
	key_is(&a, "88.1/\xc3\xa9T\xc3\xa9");
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static idn_ident_t id;
	assert_int_equal(parse("", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("noslash", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("/suffix", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("88.118/", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("88..118/x", 0, &id), IDN_EIDENT);
	assert_int_equal(parse(".88/x", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("88./x", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("88/a\nb", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("88/a\x7f", 0, &id), IDN_EIDENT);
	assert_int_equal(parse("88/\xc3", 0, &id), IDN_EUTF8);
	/* a NUL inside the length is a control character */
	assert_int_equal(idn_ident_parse((const uint8_t *)"88/a\0b", 6, 0, &id),
			 IDN_EIDENT);
}

static void test_limits(void **state)
{
	(void)state;
	static idn_ident_t id;
	static char buf[IDN_IDENT_MAX + 2];
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "88.1/", 5);
	assert_int_equal(idn_ident_parse((uint8_t *)buf, IDN_IDENT_MAX, 0, &id),
			 0);
	assert_int_equal(id.key_len, IDN_IDENT_MAX);
	assert_int_equal(
		idn_ident_parse((uint8_t *)buf, IDN_IDENT_MAX + 1, 0, &id),
		IDN_ETOOLONG);
}

static void test_utf8(void **state)
{
	(void)state;
	struct {
		const char *s;
		int want;
	} cases[] = {
		{"plain", 0},
		{"\xe4\xb8\xad\xe5\x9b\xbd", 0}, /* 中国 */
		{"\xf0\x9f\x98\x80", 0},	 /* U+1F600 */
		{"\xc0\xaf", IDN_EUTF8},	 /* overlong '/' */
		{"\xe0\x80\xaf", IDN_EUTF8},	 /* overlong */
		{"\xed\xa0\x80", IDN_EUTF8},	 /* surrogate */
		{"\xf4\x90\x80\x80", IDN_EUTF8}, /* > U+10FFFF */
		{"\x80", IDN_EUTF8},		 /* lone continuation */
		{"\xe4\xb8", IDN_EUTF8},	 /* truncated */
		{"\xff", IDN_EUTF8},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = idn_utf8_check((const uint8_t *)cases[i].s,
					 strlen(cases[i].s));
		if (got != cases[i].want)
			fail_msg("case %zu: got %d want %d", i, got,
				 cases[i].want);
	}
}

static void test_prefix_normalise(void **state)
{
	(void)state;
	uint8_t out[IDN_IDENT_MAX];
	uint32_t n;
	assert_int_equal(idn_prefix_normalise((const uint8_t *)"0.NA/88.118.x",
					      13, out, &n),
			 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "88.118.X", 8);
	assert_int_equal(
		idn_prefix_normalise((const uint8_t *)"88.118", 6, out, &n), 0);
	assert_memory_equal(out, "88.118", 6);
	assert_int_equal(
		idn_prefix_normalise((const uint8_t *)"88/1", 4, out, &n),
		IDN_EIDENT);
	assert_int_equal(idn_prefix_normalise((const uint8_t *)"", 0, out, &n),
			 IDN_EIDENT);
	static idn_ident_t id;
	assert_int_equal(parse("88.118", IDN_IDENT_PREFIX_ONLY, &id), 0);
	assert_int_equal(id.prefix_len, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_case_rules),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_prefix_normalise),
	};
	return cmocka_run_group_tests_name("ident", tests, NULL, NULL);
}
