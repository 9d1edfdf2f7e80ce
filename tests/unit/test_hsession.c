/* The session key of HANDLE.NET 7.3.1 (hsession.h) against what its Java
 * client library computed: the key of a captured Diffie-Hellman exchange
 * (the client's private exponent was logged, tests/vectors/INDEX.md), the
 * MACs of the captured in-session requests, the encrypted ones opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hsession.h"
#include "msg.h"
#include "vector_fixture.h"

/* the CNRI client's private exponent and the session key of
 * session-setup-dh-*, and of session-enc-* */
#define DH_X "d0f9b9e10f506890108c825e95a953233633bd7f"
#define DH_KEY "75cdefc79843b337"
#define ENC_KEY "34b9dfbfa87af21f"

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

typedef struct {
	uint8_t *buf;
	size_t len;
	idn_env_t env;
	idn_msg_t m;
} vec_t;

static void load(const char *name, vec_t *v)
{
	v->buf = load_hex(name, &v->len);
	assert_non_null(v->buf);
	assert_int_equal(decode_full(v->buf, v->len, &v->env, &v->m), 0);
}

/* The client's public key is g^x in RFC 2409 group 2, encoded byte for
 * byte as the reference does; the server's answer gives the session key
 * the Java client derived. */
static void dh_reproduces_captured_key(void **state)
{
	(void)state;
	vec_t rq, rs;
	load("session-setup-dh-request.hex", &rq);
	load("session-setup-dh-response.hex", &rs);
	idn_session_req_t sr;
	assert_int_equal(idn_session_req_decode(rq.m.body, &sr), 0);
	assert_int_equal(sr.mode, IDN_KX_DH);
	idn_dh_pub_t pub;
	assert_int_equal(idn_dh_pub_decode(sr.key, &pub), 0);
	assert_int_equal(pub.p.len, 129);
	assert_int_equal(pub.g.len, 1);
	assert_int_equal(pub.g.p[0], 2);

	idn_dh_t *dh;
	uint8_t xb[64], out[1024];
	assert_int_equal(idn_dh_new(idn_bytes(NULL, 0), &dh), 0);
	assert_int_equal(idn_dh_set_private(dh, unhex(DH_X, xb)), 0);
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	idn_dh_pub_encode(dh, &w);
	assert_int_equal(w.len, sr.key.len);
	assert_memory_equal(out, sr.key.p, sr.key.len);

	idn_session_resp_t resp;
	assert_int_equal(idn_session_resp_decode(rs.m.rest, &resp), 0);
	assert_int_equal(resp.mode, IDN_KX_DH);
	assert_int_equal(idn_get_u32(resp.key.p), IDN_SCIPHER_DES);
	assert_int_equal(resp.tail.len, 2);
	uint8_t key[IDN_SKEY_MAX], want[8];
	size_t kl = 0;
	idn_bytes_t spub = idn_bytes(resp.key.p + 4, resp.key.len - 4);
	assert_int_equal(idn_dh_derive(dh, spub, IDN_SCIPHER_DES, key, &kl), 0);
	assert_int_equal(kl, 8);
	assert_memory_equal(key, unhex(DH_KEY, want).p, 8);
	/* only DES, only in the same group */
	assert_int_equal(idn_dh_derive(dh, spub, IDN_SCIPHER_AES, key, &kl),
			 IDN_EUNSUPPORTED);
	idn_dh_free(dh);
	free(rq.buf);
	free(rs.buf);
}

/* The server side: a key pair in the client's group, whose half gives
 * both sides the same key; bad keys are refused. */
static void dh_both_sides_agree(void **state)
{
	(void)state;
	idn_dh_t *c, *s;
	uint8_t cp[1024], sp[1024];
	assert_int_equal(idn_dh_new(idn_bytes(NULL, 0), &c), 0);
	idn_wr_t w;
	idn_wr_init(&w, cp, sizeof(cp));
	idn_dh_pub_encode(c, &w);
	idn_bytes_t cpub = idn_bytes(cp, w.len);
	assert_int_equal(idn_dh_new(cpub, &s), 0);
	idn_wr_init(&w, sp, sizeof(sp));
	idn_dh_pub_encode(s, &w);
	idn_bytes_t spub = idn_bytes(sp, w.len);
	uint8_t k1[IDN_SKEY_MAX], k2[IDN_SKEY_MAX];
	size_t l1, l2;
	assert_int_equal(idn_dh_derive(c, spub, IDN_SCIPHER_DES, k1, &l1), 0);
	assert_int_equal(idn_dh_derive(s, cpub, IDN_SCIPHER_DES, k2, &l2), 0);
	assert_int_equal(l1, 8);
	assert_int_equal(l2, 8);
	assert_memory_equal(k1, k2, 8);
	/* y = 1 (the last byte of the blob is g; y comes first) */
	uint8_t bad[1024];
	memcpy(bad, cp, cpub.len);
	idn_dh_pub_t pub;
	assert_int_equal(idn_dh_pub_decode(cpub, &pub), 0);
	size_t yoff = (size_t)(pub.y.p - cp);
	memset(bad + yoff, 0, pub.y.len);
	bad[yoff + pub.y.len - 1] = 1;
	assert_int_equal(idn_dh_pub_decode(idn_bytes(bad, cpub.len), &pub),
			 IDN_EMALFORMED);
	idn_dh_t *x;
	assert_int_equal(idn_dh_new(idn_bytes(bad, cpub.len), &x),
			 IDN_EMALFORMED);
	/* another key type, or trailing bytes */
	memcpy(bad, cp, cpub.len);
	bad[4] = 'X';
	assert_int_equal(idn_dh_pub_decode(idn_bytes(bad, cpub.len), &pub),
			 IDN_EMALFORMED);
	memcpy(bad, cp, cpub.len);
	bad[cpub.len] = 0;
	assert_int_equal(idn_dh_pub_decode(idn_bytes(bad, cpub.len + 1), &pub),
			 IDN_EMALFORMED);
	idn_dh_free(c);
	idn_dh_free(s);
}

/* The captured in-session requests carry MACs the library verifies (and
 * reproduces), counters 1, 2, 3; any changed byte fails. */
static void mac_of_captured_requests(void **state)
{
	(void)state;
	static const char *const names[] = {"session-create-mac-request.hex",
					    "session-add-mac-request.hex",
					    "session-delete-mac-request.hex"};
	uint8_t kb[8];
	idn_bytes_t key = unhex(DH_KEY, kb);
	for (uint32_t i = 0; i < 3; i++) {
		vec_t v;
		load(names[i], &v);
		uint32_t ctr = 0;
		assert_int_equal(idn_skey_mac_check(key, v.env.major,
						    v.env.minor, &v.m, &ctr),
				 0);
		assert_int_equal(ctr, i + 1);
		idn_cred_t cred;
		uint8_t cb[64];
		assert_int_equal(idn_skey_mac_cred(key, 2, 5, v.m.signed_part,
						   ctr, &cred, cb),
				 0);
		assert_int_equal(cred.signed_data.len,
				 v.m.cred.signed_data.len);
		assert_memory_equal(cred.signed_data.p, v.m.cred.signed_data.p,
				    cred.signed_data.len);
		/* the header + body changed: no match */
		((uint8_t *)v.m.signed_part.p)[v.m.signed_part.len - 1] ^= 1;
		assert_int_equal(idn_skey_mac_check(key, 2, 5, &v.m, &ctr),
				 IDN_EAUTH);
		free(v.buf);
	}
	/* a message without an HS_MAC credential */
	vec_t v;
	load("create-request.hex", &v);
	uint32_t ctr;
	assert_int_equal(idn_skey_mac_check(key, 2, 5, &v.m, &ctr),
			 IDN_EUNSUPPORTED);
	free(v.buf);
}

/* The two layouts, with MACs HANDLE.NET 7.3.1's signMessage computed for
 * key 0102030405060708 over one DELETE header + body: the 2.5 form and
 * the form before 2.5. */
static void mac_layouts_match_reference(void **state)
{
	(void)state;
	uint8_t kb[8], sb[64], wb[20];
	idn_bytes_t key = unhex("0102030405060708", kb);
	idn_bytes_t sp =
		unhex("000000650000000019000000ffff00006b174da50000000c"
		      "0000000832302e3530302f78",
		      sb);
	uint8_t mac[IDN_SKEY_MAC_LEN];
	assert_int_equal(idn_skey_mac(key, 2, 5, sp, mac), 0);
	assert_memory_equal(
		mac, unhex("a389c3eb49fb7289094b7fb08dcb27b1b5f9a078", wb).p,
		20);
	assert_int_equal(idn_skey_mac(key, 2, 10, sp, mac), 0);
	assert_memory_equal(mac, wb, 20);
	assert_int_equal(idn_skey_mac(key, 2, 1, sp, mac), 0);
	assert_memory_equal(
		mac, unhex("64e0036b65f8838319b9fe0a6fe0b9949567a408", wb).p,
		20);
}

/* The captured encrypted messages open with the session key: IV + DES-CBC
 * of a plain message flagged encrypted, whose MAC verifies. */
static void captured_encrypted_messages_open(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t op, rc;
	} v[] = {{"session-enc-create-mac-request.hex", 100, 0},
		 {"session-enc-create-challenge.hex", 100, 402},
		 {"session-enc-add-mac-request.hex", 102, 0},
		 {"session-enc-add-response.hex", 102, 1}};
	uint8_t kb[8];
	idn_bytes_t key = unhex(ENC_KEY, kb);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len;
		uint8_t *f = load_hex(v[i].name, &len);
		assert_non_null(f);
		assert_int_equal(f[2], IDN_EF_ENCRYPTED);
		uint8_t *plain = malloc(len);
		size_t pl = 0;
		assert_int_equal(
			idn_skey_decrypt(key, IDN_SCIPHER_DES, f + IDN_ENV_LEN,
					 len - IDN_ENV_LEN, plain, len, &pl),
			0);
		idn_msg_t m;
		assert_int_equal(idn_msg_decode(plain, pl, &m), 0);
		assert_int_equal(m.hdr.op, v[i].op);
		assert_int_equal(m.hdr.rc, v[i].rc);
		assert_true(m.hdr.flags & IDN_OF_ENCRYPT);
		if (v[i].rc == 0) {
			uint32_t ctr;
			assert_int_equal(
				idn_skey_mac_check(key, 2, 5, &m, &ctr), 0);
		}
		/* another key does not open it */
		uint8_t ob[8];
		int err = idn_skey_decrypt(unhex(DH_KEY, ob), IDN_SCIPHER_DES,
					   f + IDN_ENV_LEN, len - IDN_ENV_LEN,
					   plain, len, &pl);
		assert_true(err != 0 || idn_msg_decode(plain, pl, &m) != 0);
		free(plain);
		free(f);
	}
}

/* Sealing a frame and opening it gives it back, flagged. */
static void seal_and_open(void **state)
{
	(void)state;
	vec_t v;
	load("session-add-mac-request.hex", &v);
	uint8_t kb[8];
	idn_bytes_t key = unhex(DH_KEY, kb);
	size_t cap = v.len + IDN_SKEY_OVERHEAD;
	uint8_t *buf = malloc(cap);
	memcpy(buf, v.buf, v.len);
	size_t n = 0;
	assert_int_equal(
		idn_skey_seal_frame(key, IDN_SCIPHER_DES, buf, v.len, cap, &n),
		0);
	assert_true(buf[2] & IDN_EF_ENCRYPTED);
	assert_int_equal(idn_get_u32(buf + IDN_ENV_OFF_MSG_LEN),
			 n - IDN_ENV_LEN);
	assert_int_equal((n - IDN_ENV_LEN) % 8, 0);
	uint8_t *plain = malloc(n);
	size_t pl = 0;
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_DES,
					  buf + IDN_ENV_LEN, n - IDN_ENV_LEN,
					  plain, n, &pl),
			 0);
	assert_int_equal(pl, v.len - IDN_ENV_LEN);
	assert_int_equal(idn_hdr_flags(plain),
			 idn_hdr_flags(v.buf + IDN_ENV_LEN) | IDN_OF_ENCRYPT);
	assert_memory_equal(plain + IDN_HDR_OFF_FLAGS + 4,
			    v.buf + IDN_ENV_LEN + IDN_HDR_OFF_FLAGS + 4,
			    pl - IDN_HDR_OFF_FLAGS - 4);
	/* a cut ciphertext does not open */
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_DES,
					  buf + IDN_ENV_LEN,
					  n - IDN_ENV_LEN - 3, plain, n, &pl),
			 IDN_EMALFORMED);
	free(plain);
	free(buf);
	free(v.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dh_reproduces_captured_key),
		cmocka_unit_test(dh_both_sides_agree),
		cmocka_unit_test(mac_of_captured_requests),
		cmocka_unit_test(mac_layouts_match_reference),
		cmocka_unit_test(captured_encrypted_messages_open),
		cmocka_unit_test(seal_and_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
