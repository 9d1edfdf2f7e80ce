#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "b64.h"

/* The test vectors of RFC 4648 section 10, and binary bytes. */
static void test_rfc4648_vectors(void **state)
{
	(void)state;
	static const char *const in[] = {"",	 "f",	  "fo",	   "foo",
					 "foob", "fooba", "foobar"};
	static const char *const out[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		char *s = idn_base64((const uint8_t *)in[i], strlen(in[i]));
		assert_non_null(s);
		assert_string_equal(s, out[i]);
		free(s);
	}
	static const uint8_t bin[] = {0x00, 0xff, 0xfe, 0x10, 0x80};
	char *s = idn_base64(bin, sizeof(bin));
	assert_string_equal(s, "AP/+EIA=");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
	};
	return cmocka_run_group_tests_name("b64", tests, NULL, NULL);
}
