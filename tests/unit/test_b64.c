#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "b64.h"
#include "error.h"

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

/* Decodes s in mode; returns the error, or 0 with the bytes in got. */
static int dec(const char *s, idn_b64_mode_t mode, uint8_t *got, size_t *len)
{
	return idn_base64_decode(s, strlen(s), mode, got, len);
}

static void assert_dec(const char *s, idn_b64_mode_t mode, const char *want)
{
	uint8_t got[64];
	size_t len = 99;
	int err = dec(s, mode, got, &len);
	if (err != 0)
		fail_msg("'%s' (mode %d): error %d, want \"%s\"", s, (int)mode,
			 err, want);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
}

static void assert_bad(const char *s, idn_b64_mode_t mode)
{
	uint8_t got[64];
	size_t len;
	int err = dec(s, mode, got, &len);
	if (err != IDN_EMALFORMED)
		fail_msg("'%s' (mode %d): %d, want IDN_EMALFORMED", s,
			 (int)mode, err);
}

/* Every RFC 4648 vector decodes back in the modes that take padding,
 * and without its padding in the lenient and URL modes. */
static void test_decode_vectors(void **state)
{
	(void)state;
	static const char *const in[] = {"",	 "f",	  "fo",	   "foo",
					 "foob", "fooba", "foobar"};
	static const char *const enc[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		assert_dec(enc[i], IDN_B64_STRICT, in[i]);
		assert_dec(enc[i], IDN_B64_LENIENT, in[i]);
		char bare[16];
		snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(enc[i], "="),
			 enc[i]);
		assert_dec(bare, IDN_B64_LENIENT, in[i]);
		assert_dec(bare, IDN_B64_URL, in[i]);
		if (strcmp(bare, enc[i]) != 0) {
			assert_bad(bare, IDN_B64_STRICT); /* padding needed */
			assert_bad(enc[i], IDN_B64_URL);  /* and refused */
		}
	}
}

/* The alphabets: '+' '/' in the standard one, '-' '_' in the URL one,
 * either in lenient mode; binary bytes round-trip through the encoder. */
static void test_decode_alphabets(void **state)
{
	(void)state;
	static const uint8_t bin[] = {0xfb, 0xff, 0xbf, 0x00, 0x10};
	char *s = idn_base64(bin, sizeof(bin)); /* "+/+/ABA=" */
	assert_string_equal(s, "+/+/ABA=");
	uint8_t got[16];
	size_t len;
	assert_int_equal(dec(s, IDN_B64_STRICT, got, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(got, bin, sizeof(bin));
	assert_bad(s, IDN_B64_URL);
	free(s);
	assert_int_equal(dec("-_-_ABA", IDN_B64_URL, got, &len), 0);
	assert_memory_equal(got, bin, sizeof(bin));
	assert_int_equal(dec("-_+/ABA=", IDN_B64_LENIENT, got, &len), 0);
	assert_memory_equal(got, bin, sizeof(bin));
	assert_bad("-_-_ABA=", IDN_B64_STRICT);
	assert_bad("+/+/ABA", IDN_B64_URL);
}

static void test_decode_errors(void **state)
{
	(void)state;
	for (int m = IDN_B64_STRICT; m <= IDN_B64_URL; m++) {
		idn_b64_mode_t mode = (idn_b64_mode_t)m;
		assert_bad("Z", mode);	    /* a lone character: 6 bits */
		assert_bad("Zm9vY", mode);  /* the same after a group */
		assert_bad("Zm 9v", mode);  /* no white space */
		assert_bad("Zm9v\n", mode); /* nor a line end */
		assert_bad("Zg=A", mode);   /* '=' only at the end */
		assert_bad("Z===", mode);   /* at most two of them */
		assert_bad("====", mode);
		assert_bad("Zm9v*A==", mode); /* outside every alphabet */
	}
	/* non-zero unused bits: tolerated except in URL mode (one encoding
	 * per byte string there) */
	assert_dec("Zh==", IDN_B64_STRICT, "f");
	assert_dec("Zh", IDN_B64_LENIENT, "f");
	assert_bad("Zh", IDN_B64_URL);
	/* lenient: part of the padding is enough */
	assert_dec("Zg=", IDN_B64_LENIENT, "f");
	assert_bad("Zg=", IDN_B64_STRICT);
	/* only n characters are read */
	uint8_t got[8];
	size_t len;
	assert_int_equal(
		idn_base64_decode("Zm9v!!", 4, IDN_B64_STRICT, got, &len), 0);
	assert_int_equal(len, 3);
}

static void test_decode_arena(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 256);
	idn_bytes_t out = idn_bytes("kept", 4);
	assert_int_equal(idn_base64_decode_arena("Zm9vYmE=", 8, IDN_B64_STRICT,
						 &a, &out),
			 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.p, "fooba", 5);
	out = idn_bytes("kept", 4);
	assert_int_equal(
		idn_base64_decode_arena("Zm9vYmE", 7, IDN_B64_STRICT, &a, &out),
		IDN_EMALFORMED);
	assert_memory_equal(out.p, "kept", 4); /* untouched on failure */
	idn_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_alphabets),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_arena),
	};
	return cmocka_run_group_tests_name("b64", tests, NULL, NULL);
}
