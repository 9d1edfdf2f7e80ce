#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "auth.h"
#include "error.h"
#include "msg.h"

/* Reads a vector: a hex line (*.hex) or raw bytes (keys/). */
static size_t load(const char *name, uint8_t *out, size_t cap)
{
	char path[512];
	const char *dir = getenv("IDN_VECTORS");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/vectors",
		 name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	size_t n = 0;
	if (strstr(name, ".hex")) {
		int c, hi = -1;
		while ((c = fgetc(f)) != EOF) {
			int v = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;
			if (v < 0)
				continue;
			if (hi < 0) {
				hi = v;
			} else {
				assert_true(n < cap);
				out[n++] = (uint8_t)(hi << 4 | v);
				hi = -1;
			}
		}
	} else {
		n = fread(out, 1, cap, f);
	}
	fclose(f);
	return n;
}

typedef struct {
	uint8_t buf[4096];
	idn_msg_t m;
} vec_t;

static void load_msg(const char *name, vec_t *v)
{
	size_t n = load(name, v->buf, sizeof(v->buf));
	assert_true(n > IDN_ENV_LEN);
	assert_int_equal(
		idn_msg_decode(v->buf + IDN_ENV_LEN, n - IDN_ENV_LEN, &v->m),
		0);
}

/* Checks the reference client's answer to the reference server's
 * challenge: a signature over nonce || request digest with the admin's
 * key. Returns the verification result; *tampered gets the result for
 * the same signature over a nonce with one bit flipped. */
static int verify_pair(const char *challenge, const char *answer,
		       const char *keyfile, int *tampered)
{
	static vec_t c, a;
	load_msg(challenge, &c);
	load_msg(answer, &a);
	assert_int_equal(c.m.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(c.m.digest_alg, IDN_DIGEST_SHA1);
	assert_int_equal(c.m.digest.len, 20);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(c.m.rest, &nonce), 0);
	assert_int_equal(nonce.len, 16);
	idn_challenge_answer_t ans;
	assert_int_equal(a.m.hdr.op, IDN_OC_CHALLENGE_ANSWER);
	assert_int_equal(idn_challenge_answer_decode(a.m.rest, &ans), 0);
	assert_true(idn_bytes_eq_str(ans.auth_type, "HS_PUBKEY"));
	assert_true(idn_bytes_eq_str(ans.admin, "0.NA/20.500"));
	idn_bytes_t hash, sig;
	assert_int_equal(idn_sig_decode(ans.sig, &hash, &sig), 0);
	assert_true(idn_bytes_eq_str(hash, "SHA1"));

	uint8_t key[2048];
	size_t kl = load(keyfile, key, sizeof(key));
	EVP_PKEY *pk = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(key, kl), &pk), 0);
	idn_bytes_t parts[2] = {nonce, c.m.digest};
	int rc = idn_sig_verify(pk, hash, parts, 2, sig);
	uint8_t bad[16];
	memcpy(bad, nonce.p, 16);
	bad[7] ^= 0x10;
	parts[0] = idn_bytes(bad, 16);
	*tampered = idn_sig_verify(pk, hash, parts, 2, sig);
	EVP_PKEY_free(pk);
	return rc;
}

static void test_rsa_answer_verifies(void **state)
{
	(void)state;
	int tampered;
	assert_int_equal(verify_pair("auth-challenge.hex",
				     "create-challenge-answer-rsa.hex",
				     "keys/admpub_rsa.bin", &tampered),
			 0);
	assert_int_equal(tampered, IDN_EAUTH);
}

static void test_dsa_answers_verify(void **state)
{
	(void)state;
	static const char *const pairs[][2] = {
		{"delete-challenge.hex", "delete-challenge-answer-dsa.hex"},
		{"add-value-challenge.hex",
		 "add-value-challenge-answer-dsa.hex"},
		{"remove-value-challenge.hex",
		 "remove-value-challenge-answer-dsa.hex"},
		{"create-existing-challenge.hex",
		 "create-existing-challenge-answer-dsa.hex"},
		{"session-home-na-challenge.hex",
		 "session-home-na-challenge-answer-dsa.hex"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		int tampered;
		int rc = verify_pair(pairs[i][0], pairs[i][1],
				     "keys/admpub.bin", &tampered);
		if (rc != 0 || tampered != IDN_EAUTH)
			fail_msg("%s: verify %d, tampered %d", pairs[i][1], rc,
				 tampered);
	}
}

static void test_wrong_key_fails(void **state)
{
	(void)state;
	int tampered;
	/* the DSA answer checked against the server's own DSA key */
	assert_int_equal(verify_pair("delete-challenge.hex",
				     "delete-challenge-answer-dsa.hex",
				     "keys/pubkey.bin", &tampered),
			 IDN_EAUTH);
}

static void test_bad_keys(void **state)
{
	(void)state;
	uint8_t key[2048];
	size_t kl = load("keys/admpub_rsa.bin", key, sizeof(key));
	EVP_PKEY *pk = NULL;
	for (size_t cut = 0; cut < kl; cut += 7)
		assert_int_not_equal(idn_pubkey_load(idn_bytes(key, cut), &pk),
				     0);
	/* an unknown key type */
	uint8_t odd[] = {0, 0, 0, 7, 'F', 'O', 'O', '_', 'K', 'E', 'Y', 0, 0};
	assert_int_equal(idn_pubkey_load(idn_bytes(odd, sizeof(odd)), &pk),
			 IDN_EUNSUPPORTED);
	/* an unknown hash name */
	kl = load("keys/admpub.bin", key, sizeof(key));
	assert_int_equal(idn_pubkey_load(idn_bytes(key, kl), &pk), 0);
	idn_bytes_t part = idn_bytes_str("x");
	assert_int_equal(
		idn_sig_verify(pk, idn_bytes_str("WHIRLPOOL"), &part, 1, part),
		IDN_EUNSUPPORTED);
	EVP_PKEY_free(pk);
}

/* The reference server's signed answer (certify flag, two UDP datagrams)
 * verifies over its header + body with the server's DSA key. */
static void test_reference_signed_reply(void **state)
{
	(void)state;
	static uint8_t d[2][1024], buf[IDN_MSG_MAX], key[2048];
	size_t n0 = load("certified-resolve-response.udp0.hex", d[0], 1024);
	size_t n1 = load("certified-resolve-response.udp1.hex", d[1], 1024);
	static idn_reasm_t r;
	idn_reasm_init(&r, buf);
	assert_int_equal(idn_reasm_add(&r, d[0], n0), 0);
	assert_int_equal(idn_reasm_add(&r, d[1], n1), 1);
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(buf, r.env.msg_len, &m), 0);
	assert_true(m.hdr.flags & IDN_OF_CERT);
	assert_true(m.has_cred);
	assert_true(idn_bytes_eq_str(m.cred.type, "HS_SIGNED"));
	idn_bytes_t hash, sig;
	assert_int_equal(idn_sig_decode(m.cred.signed_data, &hash, &sig), 0);
	size_t kl = load("keys/pubkey.bin", key, sizeof(key));
	EVP_PKEY *pk = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(key, kl), &pk), 0);
	assert_int_equal(idn_sig_verify(pk, hash, &m.signed_part, 1, sig), 0);
	/* the body alone is not what was signed */
	assert_int_equal(idn_sig_verify(pk, hash, &m.body, 1, sig), IDN_EAUTH);
	EVP_PKEY_free(pk);
}

/* Our own signatures, as idnode makes them for certified replies and idctl
 * for challenge answers, verify with the HS_PUBKEY encoding of the key. */
static void test_sign_and_verify_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *priv = EVP_RSA_gen(2048);
	assert_non_null(priv);
	uint8_t pub[2048];
	idn_wr_t w;
	idn_wr_init(&w, pub, sizeof(pub));
	assert_int_equal(idn_pubkey_encode(priv, &w), 0);
	EVP_PKEY *pk = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(pub, w.len), &pk), 0);
	idn_bytes_t parts[2] = {idn_bytes_str("nonce-bytes....."),
				idn_bytes_str("digest-bytes........")};
	uint8_t sig[1024];
	size_t sl;
	assert_int_equal(
		idn_sig_sign(priv, "SHA256", parts, 2, sig, sizeof(sig), &sl),
		0);
	assert_int_equal(sl, 256);
	assert_int_equal(idn_sig_verify(pk, idn_bytes_str("SHA256"), parts, 2,
					idn_bytes(sig, sl)),
			 0);
	sig[10] ^= 1;
	assert_int_equal(idn_sig_verify(pk, idn_bytes_str("SHA256"), parts, 2,
					idn_bytes(sig, sl)),
			 IDN_EAUTH);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(priv);
}

/* SM2 with SM3: an HS_PUBKEY SM2_PUB_KEY of a key made by the openssl
 * command, and its signature over "nonce-and-digest-bytes" from
 * `openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt
 * distid:1234567812345678`: the distinguishing ID both sides use. */
static void test_sm2_openssl_signature_verifies(void **state)
{
	(void)state;
	static const uint8_t point[65] = {
		0x04, 0x50, 0x49, 0x4a, 0xa4, 0x44, 0x1d, 0x52, 0x80, 0xc0,
		0x93, 0x06, 0xa1, 0xe6, 0xb6, 0xb3, 0xfd, 0x59, 0x60, 0x7c,
		0x6d, 0x25, 0x68, 0x77, 0xce, 0x32, 0x42, 0x58, 0x84, 0xcd,
		0x7d, 0xff, 0xb6, 0x8e, 0x2f, 0xe2, 0xba, 0x10, 0x46, 0x54,
		0x5b, 0x8c, 0xa8, 0x5a, 0x38, 0x18, 0xb8, 0x5d, 0xa3, 0x54,
		0x4b, 0x0c, 0xe7, 0x88, 0xfc, 0xcb, 0xf4, 0xc8, 0xb9, 0xcb,
		0x8c, 0x32, 0x87, 0x5d, 0x35,
	};
	static const uint8_t sig[] = {
		0x30, 0x45, 0x02, 0x21, 0x00, 0x96, 0x95, 0x2f, 0xf3,
		0x78, 0xd0, 0x62, 0xe5, 0x3d, 0x4f, 0x64, 0x90, 0xc4,
		0x15, 0xb1, 0x71, 0x14, 0xf5, 0xfc, 0xf8, 0x80, 0xca,
		0x85, 0x84, 0x26, 0x95, 0x93, 0x7d, 0xef, 0x05, 0x93,
		0x0f, 0x02, 0x20, 0x3c, 0x01, 0x52, 0xed, 0xc5, 0x03,
		0xb4, 0x52, 0x02, 0xa7, 0x3b, 0xa5, 0x52, 0x33, 0x7b,
		0x41, 0x77, 0xbf, 0x15, 0x3b, 0x63, 0x7c, 0xc4, 0x8c,
		0x0a, 0xd7, 0x0b, 0xca, 0x5c, 0x2a, 0x67, 0x56,
	};
	uint8_t data[256];
	idn_wr_t w;
	idn_wr_init(&w, data, sizeof(data));
	idn_hs_pubkey_t k = {idn_bytes_str("SM2_PUB_KEY"), 0, 1, {{0}}};
	k.params[0] = idn_bytes(point, sizeof(point));
	idn_hs_pubkey_encode(&w, &k);
	EVP_PKEY *pk = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(data, w.len), &pk), 0);
	assert_true(EVP_PKEY_is_a(pk, "SM2"));
	idn_bytes_t parts[2] = {idn_bytes_str("nonce-and-"),
				idn_bytes_str("digest-bytes")};
	assert_int_equal(idn_sig_verify(pk, idn_bytes_str("SM3"), parts, 2,
					idn_bytes(sig, sizeof(sig))),
			 0);
	/* other data, or another hash, does not verify */
	idn_bytes_t other[1] = {idn_bytes_str("nonce-and-digest-byteS")};
	assert_int_equal(idn_sig_verify(pk, idn_bytes_str("SM3"), other, 1,
					idn_bytes(sig, sizeof(sig))),
			 IDN_EAUTH);
	assert_int_equal(idn_sig_verify(pk, idn_bytes_str("SHA256"), parts, 2,
					idn_bytes(sig, sizeof(sig))),
			 IDN_EAUTH);
	/* the same data re-encodes to the same HS_PUBKEY */
	uint8_t again[256];
	idn_wr_init(&w, again, sizeof(again));
	assert_int_equal(idn_pubkey_encode(pk, &w), 0);
	assert_int_equal(w.len, 4 + 11 + 2 + 4 + 65);
	assert_memory_equal(again, data, w.len);
	EVP_PKEY_free(pk);
	/* a point that is not on the curve is refused */
	uint8_t bad[65];
	memcpy(bad, point, 65);
	bad[64] ^= 1;
	k.params[0] = idn_bytes(bad, 65);
	idn_wr_init(&w, data, sizeof(data));
	idn_hs_pubkey_encode(&w, &k);
	pk = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(data, w.len), &pk),
			 IDN_EVALUE);
	EVP_PKEY_free(pk);
}

static void test_sm2_sign_verify_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *priv = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	assert_non_null(priv);
	uint8_t pub[256];
	idn_wr_t w;
	idn_wr_init(&w, pub, sizeof(pub));
	assert_int_equal(idn_pubkey_encode(priv, &w), 0);
	EVP_PKEY *pk = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(pub, w.len), &pk), 0);
	idn_bytes_t parts[2] = {idn_bytes_str("nonce-bytes....."),
				idn_bytes_str("digest-bytes........")};
	uint8_t sig[256];
	size_t sl;
	assert_string_equal(idn_sig_hash_for(priv), "SM3");
	assert_int_equal(
		idn_sig_sign(priv, "SM3", parts, 2, sig, sizeof(sig), &sl), 0);
	assert_int_equal(idn_sig_verify(pk, idn_bytes_str("SM3"), parts, 2,
					idn_bytes(sig, sl)),
			 0);
	sig[sl - 3] ^= 1;
	assert_int_not_equal(idn_sig_verify(pk, idn_bytes_str("SM3"), parts, 2,
					    idn_bytes(sig, sl)),
			     0);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_answer_verifies),
		cmocka_unit_test(test_dsa_answers_verify),
		cmocka_unit_test(test_wrong_key_fails),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_reference_signed_reply),
		cmocka_unit_test(test_sign_and_verify_roundtrip),
		cmocka_unit_test(test_sm2_openssl_signature_verifies),
		cmocka_unit_test(test_sm2_sign_verify_roundtrip),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
