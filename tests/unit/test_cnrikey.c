/* HANDLE.NET private key files (src/lib/cnrikey.c), against files that
 * HANDLE.NET 7.3.1's hdl-keygen wrote (tests/vectors/keys/cnri-*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cnrikey.h"
#include "error.h"
#include "vector_fixture.h"

#define PASS idn_bytes_str("testpass")

/* Reads keys/cnri-priv-<name>.bin with pass and checks that it is the
 * private half of keys/cnri-pub-<name>.bin (same public key). */
static EVP_PKEY *read_pair(const char *name, idn_bytes_t pass)
{
	char path[128];
	size_t len, plen;
	snprintf(path, sizeof(path), "keys/cnri-priv-%s.bin", name);
	uint8_t *file = load_bin(path, &len);
	snprintf(path, sizeof(path), "keys/cnri-pub-%s.bin", name);
	uint8_t *pubf = load_bin(path, &plen);
	EVP_PKEY *key = NULL, *pub = NULL;
	assert_int_equal(idn_cnrikey_decode(idn_bytes(file, len), pass, &key),
			 0);
	assert_int_equal(idn_pubkey_load(idn_bytes(pubf, plen), &pub), 0);
	assert_int_equal(EVP_PKEY_eq(key, pub), 1);
	EVP_PKEY_free(pub);
	free(file);
	free(pubf);
	return key;
}

static void detect_tells_plain_from_encrypted(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		bool enc;
	} files[] = {{"keys/cnri-priv-rsa.bin", false},
		     {"keys/cnri-priv-dsa.bin", false},
		     {"keys/cnri-priv-rsa-enc.bin", true},
		     {"keys/cnri-priv-dsa-enc.bin", true}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		uint8_t *f = load_bin(files[i].file, &len);
		bool enc = !files[i].enc;
		assert_true(idn_cnrikey_detect(idn_bytes(f, len), &enc));
		assert_int_equal(enc, files[i].enc);
		free(f);
	}
	/* a PEM file and a public key file are no private key files */
	const char *pem = "-----BEGIN PRIVATE KEY-----\n";
	assert_false(idn_cnrikey_detect(idn_bytes_str(pem), NULL));
	size_t len;
	uint8_t *pub = load_bin("keys/cnri-pub-rsa.bin", &len);
	assert_false(idn_cnrikey_detect(idn_bytes(pub, len), NULL));
	free(pub);
}

static void reads_plain_and_encrypted_keys(void **state)
{
	(void)state;
	static const char *const names[] = {"rsa", "dsa", "rsa-enc", "dsa-enc"};
	for (int i = 0; i < 4; i++) {
		EVP_PKEY *k = read_pair(names[i], PASS);
		assert_true(EVP_PKEY_is_a(k, i % 2 ? "DSA" : "RSA"));
		assert_int_equal(EVP_PKEY_bits(k), i % 2 ? 1024 : 2048);
		EVP_PKEY_free(k);
	}
}

static void wrong_passphrase_is_refused(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = load_bin("keys/cnri-priv-rsa-enc.bin", &len);
	EVP_PKEY *k = NULL;
	assert_int_equal(idn_cnrikey_decode(idn_bytes(f, len),
					    idn_bytes_str("testpasS"), &k),
			 IDN_EAUTH);
	assert_null(k);
	assert_int_equal(
		idn_cnrikey_decode(idn_bytes(f, len), idn_bytes(NULL, 0), &k),
		IDN_EAUTH);
	/* a cut file is malformed, not a wrong passphrase */
	assert_int_equal(idn_cnrikey_decode(idn_bytes(f, len - 3), PASS, &k),
			 IDN_EMALFORMED);
	free(f);
}

/* A plain file written back is byte for byte what hdl-keygen wrote. */
static void plain_files_round_trip_exactly(void **state)
{
	(void)state;
	static const char *const names[] = {"rsa", "dsa"};
	for (int i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof(path), "keys/cnri-priv-%s.bin", names[i]);
		size_t len;
		uint8_t *f = load_bin(path, &len);
		EVP_PKEY *k = read_pair(names[i], PASS);
		uint8_t out[4096];
		idn_wr_t w;
		idn_wr_init(&w, out, sizeof(out));
		assert_int_equal(idn_cnrikey_encode(k, idn_bytes(NULL, 0), &w),
				 0);
		assert_int_equal(w.len, len);
		assert_memory_equal(out, f, len);
		EVP_PKEY_free(k);
		free(f);
	}
}

/* An encrypted file written here: DES-CBC (method 2), an IV and whole
 * blocks, read back with the passphrase only. */
static void encrypted_files_round_trip(void **state)
{
	(void)state;
	EVP_PKEY *k = read_pair("dsa", PASS);
	uint8_t out[4096];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	assert_int_equal(idn_cnrikey_encode(k, PASS, &w), 0);
	/* 4 + IV 8 + 331 key bytes padded to 336: hdl-keygen's size */
	assert_int_equal(w.len, 348);
	assert_int_equal(idn_get_u32(out), IDN_CNRIKEY_DES_CBC);
	EVP_PKEY *back = NULL;
	assert_int_equal(idn_cnrikey_decode(idn_bytes(out, w.len),
					    idn_bytes_str("nope"), &back),
			 IDN_EAUTH);
	assert_int_equal(idn_cnrikey_decode(idn_bytes(out, w.len), PASS, &back),
			 0);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
}

static void other_keys_are_unsupported(void **state)
{
	(void)state;
	EVP_PKEY *sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	assert_non_null(sm2);
	uint8_t out[4096];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	assert_int_equal(idn_cnrikey_encode(sm2, idn_bytes(NULL, 0), &w),
			 IDN_EUNSUPPORTED);
	EVP_PKEY_free(sm2);
	/* an unknown method */
	uint8_t f[16] = {0, 0, 0, 9};
	EVP_PKEY *k = NULL;
	assert_int_equal(idn_cnrikey_decode(idn_bytes(f, sizeof(f)), PASS, &k),
			 IDN_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detect_tells_plain_from_encrypted),
		cmocka_unit_test(reads_plain_and_encrypted_keys),
		cmocka_unit_test(wrong_passphrase_is_refused),
		cmocka_unit_test(plain_files_round_trip_exactly),
		cmocka_unit_test(encrypted_files_round_trip),
		cmocka_unit_test(other_keys_are_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
