#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "seckey.h"

static const idn_bytes_t nonce = {(const uint8_t *)"what do ya want ", 16};
static const idn_bytes_t digest = {(const uint8_t *)"for nothing?", 12};

/* RFC 4231 test case 2: HMAC-SHA256 with key "Jefe" over "what do ya want
 * for nothing?" (nonce || digest here). */
static void hmac_sha256_matches_rfc4231(void **state)
{
	(void)state;
	static const uint8_t want[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
		0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
	uint8_t buf[64];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_seckey_answer(IDN_MAC_HMAC_SHA256,
					   idn_bytes_str("Jefe"), nonce, digest,
					   &w),
			 0);
	assert_int_equal(w.len, 33);
	assert_int_equal(buf[0], IDN_MAC_HMAC_SHA256);
	assert_memory_equal(buf + 1, want, 32);
	assert_int_equal(idn_seckey_verify(idn_bytes_str("Jefe"),
					   idn_bytes(buf, w.len), nonce,
					   digest),
			 0);
	/* any changed byte, or another secret, fails */
	buf[17] ^= 1;
	assert_int_equal(idn_seckey_verify(idn_bytes_str("Jefe"),
					   idn_bytes(buf, w.len), nonce,
					   digest),
			 IDN_EAUTH);
	buf[17] ^= 1;
	assert_int_equal(idn_seckey_verify(idn_bytes_str("Jeff"),
					   idn_bytes(buf, w.len), nonce,
					   digest),
			 IDN_EAUTH);
	/* a truncated MAC is no MAC */
	assert_int_equal(idn_seckey_verify(idn_bytes_str("Jefe"),
					   idn_bytes(buf, 32), nonce, digest),
			 IDN_EAUTH);
}

static void pbkdf2_answer_round_trip(void **state)
{
	(void)state;
	uint8_t buf[128];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_bytes_t secret = idn_bytes_str("s3cret");
	assert_int_equal(idn_seckey_answer(IDN_MAC_PBKDF2_HMAC_SHA1, secret,
					   nonce, digest, &w),
			 0);
	/* alg, salt (4+16), iterations, key bits, MAC (4+20) */
	assert_int_equal(w.len, 1 + 4 + 16 + 4 + 4 + 4 + 20);
	assert_int_equal(buf[0], IDN_MAC_PBKDF2_HMAC_SHA1);
	assert_int_equal(idn_get_u32(buf + 21), IDN_PBKDF2_ITER_DEFAULT);
	assert_int_equal(idn_get_u32(buf + 25), 160);
	assert_int_equal(
		idn_seckey_verify(secret, idn_bytes(buf, w.len), nonce, digest),
		0);
	assert_int_equal(idn_seckey_verify(idn_bytes_str("s3creT"),
					   idn_bytes(buf, w.len), nonce,
					   digest),
			 IDN_EAUTH);
	/* a changed salt changes the derived key */
	buf[6] ^= 0x80;
	assert_int_equal(
		idn_seckey_verify(secret, idn_bytes(buf, w.len), nonce, digest),
		IDN_EAUTH);
	buf[6] ^= 0x80;
	/* the client picks the iterations, within a bound */
	idn_put_u32(buf + 21, IDN_PBKDF2_ITER_MAX + 1);
	assert_int_equal(
		idn_seckey_verify(secret, idn_bytes(buf, w.len), nonce, digest),
		IDN_EUNSUPPORTED);
	assert_int_equal(idn_seckey_verify(secret, idn_bytes(buf, w.len - 1),
					   nonce, digest),
			 IDN_EMALFORMED);
}

static void unknown_algorithm_refused(void **state)
{
	(void)state;
	uint8_t a[21] = {0x7f};
	assert_int_equal(idn_seckey_verify(idn_bytes_str("x"), idn_bytes(a, 21),
					   nonce, digest),
			 IDN_EUNSUPPORTED);
	/* 0x02 is HANDLE.NET's SHA-1 form (test_nego): a wrong MAC */
	a[0] = IDN_MAC_SHA1;
	assert_int_equal(idn_seckey_verify(idn_bytes_str("x"), idn_bytes(a, 21),
					   nonce, digest),
			 IDN_EAUTH);
	assert_int_equal(idn_seckey_verify(idn_bytes_str("x"), idn_bytes(a, 0),
					   nonce, digest),
			 IDN_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_sha256_matches_rfc4231),
		cmocka_unit_test(pbkdf2_answer_round_trip),
		cmocka_unit_test(unknown_algorithm_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
