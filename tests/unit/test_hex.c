#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "hex.h"

static void test_digit(void **state)
{
	(void)state;
	const char *digits = "0123456789abcdef";
	for (int i = 0; i < 16; i++)
		assert_int_equal(idn_hex_digit(digits[i]), i);
	assert_int_equal(idn_hex_digit('A'), 10);
	assert_int_equal(idn_hex_digit('F'), 15);
	const char *bad = "gG/:@`xz \n";
	for (size_t i = 0; i < strlen(bad); i++)
		assert_int_equal(idn_hex_digit(bad[i]), -1);
	assert_int_equal(idn_hex_digit(-1), -1);
	assert_int_equal(idn_hex_digit((char)0xc3), -1);
}

static void test_decode(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 256);
	idn_bytes_t out;
	assert_int_equal(idn_hex_decode("00ff7Ea5", 8, &a, &out), 0);
	assert_int_equal(out.len, 4);
	const uint8_t want[] = {0x00, 0xff, 0x7e, 0xa5};
	assert_memory_equal(out.p, want, sizeof(want));
	/* only n characters are read */
	assert_int_equal(idn_hex_decode("0102zz", 4, &a, &out), 0);
	assert_int_equal(out.len, 2);
	assert_int_equal(out.p[1], 0x02);
	assert_int_equal(idn_hex_decode("", 0, &a, &out), 0);
	assert_int_equal(out.len, 0);
	/* odd length, a non-digit in either half: out is left as it was */
	out = idn_bytes("kept", 4);
	assert_int_equal(idn_hex_decode("abc", 3, &a, &out), IDN_EINVAL);
	assert_int_equal(idn_hex_decode("0g", 2, &a, &out), IDN_EINVAL);
	assert_int_equal(idn_hex_decode("g0", 2, &a, &out), IDN_EINVAL);
	assert_int_equal(idn_hex_decode("12 4", 4, &a, &out), IDN_EINVAL);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.p, "kept", 4);
	idn_arena_free(&a);
}

static void test_decode_buf(void **state)
{
	(void)state;
	uint8_t out[4] = {0x55, 0x55, 0x55, 0x55};
	assert_int_equal(idn_hex_decode_buf("DEADbeef", 8, out), 0);
	const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef};
	assert_memory_equal(out, want, 4);
	assert_int_equal(idn_hex_decode_buf("", 0, out), 0);
	assert_int_equal(idn_hex_decode_buf("0", 1, out), IDN_EINVAL);
	assert_int_equal(idn_hex_decode_buf("0x", 2, out), IDN_EINVAL);
	assert_int_equal(idn_hex_decode_buf("+1", 2, out), IDN_EINVAL);
}

static void test_encode(void **state)
{
	(void)state;
	const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];
	memset(out, 'x', sizeof(out));
	idn_hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
	idn_hex_encode(in, 0, out);
	assert_string_equal(out, "");
	/* what it writes decodes back */
	uint8_t back[sizeof(in)];
	idn_hex_encode(in, sizeof(in), out);
	assert_int_equal(idn_hex_decode_buf(out, strlen(out), back), 0);
	assert_memory_equal(back, in, sizeof(in));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digit),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_buf),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
