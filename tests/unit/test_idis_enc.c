/* The national IDIS SDK's encrypted session (hsession.h, "the national
 * SDK's encrypted session"): SM4-CBC with the key as IV against known
 * values, SM2 ciphertexts between OpenSSL's DER and the SDK's C1 C3 C2,
 * session keys wrapped and unwrapped with throwaway keys, and the SDK's
 * captured session (tests/vectors/idis/idis-enc-*): the key unwrapped from
 * idnode's setup answer is the one the SDK logged, and every message of
 * the session opens with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"
#include "hsession.h"
#include "msg.h"
#include "opcode.h"
#include "vector_fixture.h"

/* the session keys the SDK logged ("sessionKeyAlg:4,session key:...")
 * while idis-enc-rsa-* and idis-enc-sm2-* were captured */
#define RSA_SKEY "8888d3cb8bba62d8b5b5f672dd95561d"
#define SM2_SKEY "3f9bc8af9be122581a0b2e710d35db2e"

static idn_bytes_t unhex(const char *h, uint8_t *buf)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		buf[i] = (uint8_t)v;
	}
	return idn_bytes(buf, n);
}

static EVP_PKEY *priv_load(const char *file)
{
	char name[512];
	snprintf(name, sizeof(name), "%s/keys/%s", vec_dir(), file);
	FILE *fp = fopen(name, "r");
	assert_non_null(fp);
	EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *pub_load(const char *file)
{
	size_t n;
	uint8_t *b = load_hex(file, &n);
	EVP_PKEY *k = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(b, n), &k), 0);
	free(b);
	return k;
}

/* GB/T 32907's example (key = plaintext = 0123456789abcdeffedcba9876543210,
 * ciphertext 681edf34d206965e86b3e94f536e4246) is the first block of
 * SM4-CBC over 16 zero bytes with the key as IV: 0 xor IV is that
 * plaintext. The second block is the PKCS#5 padding's. */
static void sm4_cbc_known_values(void **state)
{
	(void)state;
	uint8_t kb[16], zero[16] = {0}, out[64], back[64], want[32];
	idn_bytes_t key = unhex("0123456789abcdeffedcba9876543210", kb);
	unhex("681edf34d206965e86b3e94f536e4246"
	      "677d307e844d7aa24579d556490dc7aa",
	      want);
	size_t n = 0;
	assert_int_equal(idn_sm4_cbc(true, key, zero, 16, out, sizeof(out), &n),
			 0);
	assert_int_equal(n, 32);
	assert_memory_equal(out, want, 32);
	/* the session cipher code 4 is this */
	size_t n2 = 0;
	assert_int_equal(idn_skey_encrypt(key, IDN_SCIPHER_SM4, zero, 16, back,
					  sizeof(back), &n2),
			 0);
	assert_int_equal(n2, 32);
	assert_memory_equal(back, want, 32);
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_SM4, out, 32, back,
					  sizeof(back), &n2),
			 0);
	assert_int_equal(n2, 16);
	assert_memory_equal(back, zero, 16);
	/* not whole blocks, bad padding, a key of another size */
	assert_int_equal(idn_sm4_cbc(false, key, out, 31, back, 64, &n2),
			 IDN_EMALFORMED);
	out[31] ^= 1;
	assert_int_equal(idn_sm4_cbc(false, key, out, 32, back, 64, &n2),
			 IDN_EAUTH);
	assert_int_equal(
		idn_sm4_cbc(true, idn_bytes(kb, 8), zero, 16, out, 64, &n2),
		IDN_EINVAL);
	assert_int_equal(idn_sm4_cbc(true, key, zero, 16, out, 31, &n2),
			 IDN_ETOOLONG);
}

/* A DER SM2 ciphertext whose x has its top bit set (a leading zero in
 * the INTEGER) and whose y is short (31 bytes: left-padded) becomes
 * 04 || x || y || C3 || C2, and back to the same DER. */
static void sm2_ciphertext_orders(void **state)
{
	(void)state;
	uint8_t der[200], c[200], back[200];
	size_t n = 0;
	der[n++] = 0x30;
	der[n++] = 0; /* patched */
	der[n++] = 0x02;
	der[n++] = 33;
	der[n++] = 0;
	for (int i = 0; i < 32; i++)
		der[n++] = (uint8_t)(0x80 + i);
	der[n++] = 0x02;
	der[n++] = 31;
	for (int i = 0; i < 31; i++)
		der[n++] = (uint8_t)(1 + i);
	der[n++] = 0x04;
	der[n++] = 32;
	for (int i = 0; i < 32; i++)
		der[n++] = (uint8_t)(0xc0 + i);
	der[n++] = 0x04;
	der[n++] = 3;
	der[n++] = 0xaa;
	der[n++] = 0xbb;
	der[n++] = 0xcc;
	der[1] = (uint8_t)(n - 2);
	size_t cl = 0;
	assert_int_equal(
		idn_sm2_der_to_c1c3c2(idn_bytes(der, n), c, sizeof(c), &cl), 0);
	assert_int_equal(cl, 65 + 32 + 3);
	assert_int_equal(c[0], 0x04);
	assert_int_equal(c[1], 0x80);
	assert_int_equal(c[32], 0x80 + 31);
	assert_int_equal(c[33], 0); /* y's padding */
	assert_int_equal(c[34], 1);
	assert_int_equal(c[64], 31);
	assert_int_equal(c[65], 0xc0);
	assert_int_equal(c[97], 0xaa);
	assert_int_equal(c[99], 0xcc);
	size_t bl = 0;
	assert_int_equal(idn_sm2_c1c3c2_to_der(idn_bytes(c, cl), back,
					       sizeof(back), &bl),
			 0);
	assert_int_equal(bl, n);
	assert_memory_equal(back, der, n);
	/* C3 of another length, a trailing byte, no 04 */
	der[n] = 0;
	assert_int_equal(
		idn_sm2_der_to_c1c3c2(idn_bytes(der, n + 1), c, sizeof(c), &cl),
		IDN_EMALFORMED);
	c[0] = 0x02;
	assert_int_equal(idn_sm2_c1c3c2_to_der(idn_bytes(c, 100), back,
					       sizeof(back), &bl),
			 IDN_EMALFORMED);
}

/* u32 4 || key wrapped to each throwaway admin key, as the HS_PUBKEY
 * holds it, and unwrapped with its private key; another key cannot. */
static void wrap_roundtrip(const char *pubhex, const char *pem,
			   const char *other, size_t min_len)
{
	EVP_PKEY *pub = pub_load(pubhex), *priv = priv_load(pem),
		 *wrong = priv_load(other);
	uint8_t plain[20] = {0, 0, 0, 4}, w[600], back[600];
	for (int i = 4; i < 20; i++)
		plain[i] = (uint8_t)(i * 7);
	size_t wl = 0, bl = 0;
	assert_int_equal(
		idn_skey_wrap(pub, idn_bytes(plain, 20), w, sizeof(w), &wl), 0);
	assert_true(wl >= min_len);
	assert_int_equal(idn_skey_unwrap(priv, idn_bytes(w, wl), back,
					 sizeof(back), &bl),
			 0);
	assert_int_equal(bl, 20);
	assert_memory_equal(back, plain, 20);
	assert_int_not_equal(idn_skey_unwrap(wrong, idn_bytes(w, wl), back,
					     sizeof(back), &bl),
			     0);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(wrong);
}

static void wrap_rsa_and_sm2(void **state)
{
	(void)state;
	/* RSA-2048: one 256-byte block */
	wrap_roundtrip("keys/idis-admin-rsa.pub.hex", "idis-admin-rsa.pem",
		       "idis-admin-sm2-sdk.pem", 256);
	/* SM2: C1 (65) + C3 (32) + C2 (20) */
	wrap_roundtrip("keys/idis-admin-sm2-sdk.pub.hex",
		       "idis-admin-sm2-sdk.pem", "idis-admin-rsa.pem",
		       65 + 32 + 20);
}

/* Opens frame name (envelope flagged encrypted) with key; decodes the
 * message into m, its bytes in *plain (caller frees). */
static void open_frame(const char *name, idn_bytes_t key, idn_env_t *env,
		       idn_msg_t *m, uint8_t **plain)
{
	char path[128];
	snprintf(path, sizeof(path), "idis/%s", name);
	size_t len;
	uint8_t *b = load_hex(path, &len);
	assert_int_equal(idn_env_decode(b, len, env), 0);
	assert_true(env->flags & IDN_EF_ENCRYPTED);
	/* no IV travels: the message is whole blocks of SM4 */
	assert_int_equal((len - IDN_ENV_LEN) % 16, 0);
	*plain = malloc(len);
	size_t n = 0;
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_SM4, b + IDN_ENV_LEN,
					  len - IDN_ENV_LEN, *plain, len, &n),
			 0);
	assert_int_equal(idn_msg_decode(*plain, n, m), 0);
	free(b);
}

static void captured_session(const char *alg, const char *pem, const char *skey,
			     uint32_t index, const char *created)
{
	char name[96];
	uint8_t kb[16];
	idn_bytes_t logged = unhex(skey, kb);
	/* the setup: mode 3, the admin's HS_PUBKEY named as the key, the
	 * identity left empty (index -1), the SDK's session id */
	snprintf(name, sizeof(name), "idis/idis-enc-%s-setup-request.hex", alg);
	size_t len;
	uint8_t *b = load_hex(name, &len);
	idn_env_t env;
	idn_msg_t m;
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_SESSION_SETUP);
	assert_int_equal(env.session_id, 10001);
	assert_false(env.flags & IDN_EF_ENCRYPTED);
	idn_session_req_t sr;
	assert_int_equal(idn_session_req_decode(m.rest, &sr), 0);
	assert_int_equal(sr.mode, IDN_KX_CIPHER_HDL);
	assert_int_equal(sr.timeout, 86400);
	assert_int_equal(sr.identity.len, 0);
	assert_int_equal(sr.index, 0xffffffffu);
	assert_bytes_str(sr.key, "0.NA/88.118.8");
	assert_int_equal(sr.key_index, index);
	free(b);
	/* idnode's answer: mode 3, u32 4 || the key the SDK logged */
	snprintf(name, sizeof(name), "idis/idis-enc-%s-setup-response.hex",
		 alg);
	b = load_hex(name, &len);
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
	idn_session_resp_t rs;
	assert_int_equal(idn_session_resp_decode(m.rest, &rs), 0);
	assert_int_equal(rs.mode, IDN_KX_CIPHER_HDL);
	EVP_PKEY *k = priv_load(pem);
	uint8_t plain[64];
	size_t pl = 0;
	assert_int_equal(idn_skey_unwrap(k, rs.key, plain, sizeof(plain), &pl),
			 0);
	assert_int_equal(pl, 20);
	assert_int_equal(idn_get_u32(plain), IDN_SCIPHER_SM4);
	assert_memory_equal(plain + 4, logged.p, 16);
	EVP_PKEY_free(k);
	free(b);
	/* every later message, both ways, opens with that key, and has the
	 * encrypt op flag (the SDK's MSG_FLAG_ENCR) */
	static const struct {
		const char *part;
		uint32_t op, rc;
	} flow[] = {
		{"siteinfo-request", IDN_OC_GET_SITE_INFO, 0},
		{"siteinfo-response", IDN_OC_GET_SITE_INFO, IDN_RC_SUCCESS},
		{"login-request", IDN_OC_LOGIN, 0},
		{"login-challenge", IDN_OC_LOGIN, IDN_RC_AUTH_NEEDED},
		{"login-answer", IDN_OC_CHALLENGE_ANSWER, 0},
		{"login-response", IDN_OC_LOGIN, IDN_RC_SUCCESS},
		{"create-request", IDN_OC_CREATE, 0},
		{"create-response", IDN_OC_CREATE, IDN_RC_SUCCESS},
	};
	uint32_t challenge = 0;
	for (size_t i = 0; i < sizeof(flow) / sizeof(flow[0]); i++) {
		uint8_t *p;
		snprintf(name, sizeof(name), "idis-enc-%s-%s.hex", alg,
			 flow[i].part);
		open_frame(name, logged, &env, &m, &p);
		assert_int_equal(m.hdr.op, flow[i].op);
		assert_int_equal(m.hdr.rc, flow[i].rc);
		assert_true(m.hdr.flags & IDN_OF_ENCRYPT);
		/* the challenge's id names the answer; all else is the
		 * session the SDK chose */
		if (flow[i].rc == IDN_RC_AUTH_NEEDED)
			challenge = env.session_id;
		else if (flow[i].op == IDN_OC_CHALLENGE_ANSWER)
			assert_int_equal(env.session_id, challenge);
		else
			assert_int_equal(env.session_id, 10001);
		if (flow[i].op == IDN_OC_CREATE && flow[i].rc == 0) {
			idn_rd_t rd;
			idn_rd_init(&rd, m.rest.p, m.rest.len);
			assert_bytes_str(idn_rd_str(&rd, 256), created);
		}
		free(p);
	}
	assert_true(challenge != 0 && challenge != 10001);
}

static void captured_rsa_session(void **state)
{
	(void)state;
	captured_session("rsa", "idis-admin-rsa.pem", RSA_SKEY, 300,
			 "88.118.8/enc1");
}

static void captured_sm2_session(void **state)
{
	(void)state;
	captured_session("sm2", "idis-admin-sm2-sdk.pem", SM2_SKEY, 301,
			 "88.118.8/enc2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sm4_cbc_known_values),
		cmocka_unit_test(sm2_ciphertext_orders),
		cmocka_unit_test(wrap_rsa_and_sm2),
		cmocka_unit_test(captured_rsa_session),
		cmocka_unit_test(captured_sm2_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
