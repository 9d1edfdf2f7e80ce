/* The national IDIS SDK's bytes, as the library reads them (auth.h,
 * idtoken.h, msg.h): its resolution requests with and without a token, its
 * op 2001 login, its SM2 keys and its RSA and SM2 challenge answers, all
 * captured from the SDK (tests/vectors/INDEX.md, "IDIS SDK"). */
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
#include "idtoken.h"
#include "msg.h"
#include "vector_fixture.h"

#define ADMIN "0.NA/88.118.8"

typedef struct {
	uint8_t *buf;
	size_t len;
	idn_env_t env;
	idn_msg_t m;
} frame_t;

static void frame_load(const char *name, frame_t *f)
{
	f->buf = load_hex(name, &f->len);
	assert_int_equal(decode_full(f->buf, f->len, &f->env, &f->m), 0);
}

static EVP_PKEY *pub_load(const char *name)
{
	size_t n;
	uint8_t *b = load_hex(name, &n);
	EVP_PKEY *k = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(b, n), &k), 0);
	free(b);
	return k;
}

static EVP_PKEY *priv_load(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", vec_dir(), name);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

/* E1: the SDK's resolution ends with a string; empty without a token. */
static void resolution_with_and_without_token(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	frame_t f;
	idn_resolve_req_t q;
	frame_load("idis/idis-resolve-request.hex", &f);
	assert_int_equal(f.m.hdr.op, IDN_OC_RESOLUTION);
	assert_int_equal(idn_resolve_req_decode(f.m.rest, &a, &q), 0);
	assert_bytes_str(q.id, "88.118.8/a");
	assert_int_equal(q.token.len, 0);
	assert_true(q.has_token); /* the empty string is there */
	assert_int_equal(f.m.hdr.flags & IDN_OF_RECURSE_AUTH, 0);
	uint8_t out[2048];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	idn_resolve_req_encode(&w, &q);
	assert_int_equal(w.len, f.m.rest.len);
	assert_memory_equal(out, f.m.rest.p, w.len);
	free(f.buf);

	frame_load("idis/idis-resolve-token-request.hex", &f);
	assert_int_equal(f.m.hdr.flags & IDN_OF_RECURSE_AUTH,
			 IDN_OF_RECURSE_AUTH);
	assert_int_equal(idn_resolve_req_decode(f.m.rest, &a, &q), 0);
	assert_bytes_str(q.id, "88.118.8/a");
	assert_true(q.token.len > 100);
	assert_memory_equal(q.token.p, "eyJ", 3);
	/* encoding it again gives the SDK's body back */
	idn_wr_init(&w, out, sizeof(out));
	idn_resolve_req_encode(&w, &q);
	assert_int_equal(w.len, f.m.rest.len);
	assert_memory_equal(out, f.m.rest.p, w.len);
	/* a token string that overruns the body is malformed */
	idn_bytes_t cut = idn_bytes(f.m.rest.p, f.m.rest.len - 1);
	assert_int_equal(idn_resolve_req_decode(cut, &a, &q), IDN_EMALFORMED);
	free(f.buf);

	/* handle.net's requests, without the string, still decode */
	frame_load("resolve-request.hex", &f);
	assert_int_equal(idn_resolve_req_decode(f.m.rest, &a, &q), 0);
	assert_int_equal(q.token.len, 0);
	assert_false(q.has_token);
	free(f.buf);
	idn_arena_free(&a);
}

/* E1: the SDK's token: RS256, the admin's claims, its key's signature. */
static void token_verifies_with_admin_key(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	frame_t f;
	idn_resolve_req_t q;
	frame_load("idis/idis-resolve-token-request.hex", &f);
	assert_int_equal(idn_resolve_req_decode(f.m.rest, &a, &q), 0);
	idn_idtoken_t t;
	assert_int_equal(idn_idtoken_decode(q.token, &t), 0);
	assert_int_equal(t.jwt.alg, IDN_JWT_RS256);
	assert_int_equal(t.admin_len, strlen(ADMIN));
	assert_memory_equal(t.admin, ADMIN, t.admin_len);
	assert_int_equal(t.index, 300);
	assert_true(t.timestamp_ms > 1700000000000LL);
	EVP_PKEY *rsa = pub_load("keys/idis-admin-rsa.pub.hex");
	EVP_PKEY *sm2 = pub_load("keys/idis-admin-sm2-sdk.pub.hex");
	const char *why = NULL;
	assert_int_equal(idn_idtoken_verify(&t, rsa, t.timestamp_ms + 1000,
					    300000, &why),
			 0);
	/* stale, early, or another key */
	assert_int_equal(idn_idtoken_verify(&t, rsa, t.timestamp_ms + 300001,
					    300000, &why),
			 IDN_EAUTH);
	assert_string_equal(why,
			    "token timestamp too far from the node's clock");
	assert_int_equal(idn_idtoken_verify(&t, rsa, t.timestamp_ms - 300001,
					    300000, &why),
			 IDN_EAUTH);
	assert_int_equal(
		idn_idtoken_verify(&t, sm2, t.timestamp_ms, 300000, &why),
		IDN_EAUTH);
	assert_string_equal(why, "token signature does not verify");
	idn_idtoken_free(&t);
	/* an RS256 JWT without the claims */
	assert_int_equal(
		idn_idtoken_decode(idn_bytes_str("eyJhbGciOiJSUzI1NiJ9.e30.AA"),
				   &t),
		IDN_EMALFORMED);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(sm2);
	free(f.buf);
	idn_arena_free(&a);
}

/* E2: op 2001 without the credential length; body admin + index. */
static void login_request_without_credential(void **state)
{
	(void)state;
	frame_t f;
	frame_load("idis/idis-login-rsa-request.hex", &f);
	assert_int_equal(f.m.hdr.op, IDN_OC_LOGIN);
	assert_int_equal(f.m.hdr.flags & IDN_OF_RETURN_DIGEST,
			 IDN_OF_RETURN_DIGEST);
	assert_false(f.m.has_cred);
	/* the message ends right after the body */
	assert_int_equal(f.env.msg_len, IDN_HDR_LEN + f.m.body.len);
	idn_login_req_t lr;
	assert_int_equal(idn_login_req_decode(f.m.rest, &lr), 0);
	assert_bytes_str(lr.admin, ADMIN);
	assert_int_equal(lr.index, 300);
	assert_int_equal(f.env.session_id, 10001);
	uint8_t out[64];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	idn_login_req_encode(&w, &lr);
	assert_int_equal(w.len, f.m.rest.len);
	assert_memory_equal(out, f.m.rest.p, w.len);
	/* half a credential length is still malformed */
	assert_int_equal(idn_msg_decode(f.buf + IDN_ENV_LEN,
					f.len - IDN_ENV_LEN - 1, &f.m),
			 IDN_EMALFORMED);
	free(f.buf);
}

/* Checks the answer of flow (rsa, sm2) against its challenge. */
static int answer_check(const char *flow, EVP_PKEY *key, const char *admin,
			const char *want_hash)
{
	char name[128];
	frame_t ch, an, lq;
	snprintf(name, sizeof(name), "idis/idis-login-%s-challenge.hex", flow);
	frame_load(name, &ch);
	snprintf(name, sizeof(name), "idis/idis-login-%s-answer.hex", flow);
	frame_load(name, &an);
	snprintf(name, sizeof(name), "idis/idis-login-%s-request.hex", flow);
	frame_load(name, &lq);
	/* the challenge names op 2001 and digests the login's header+body */
	assert_int_equal(ch.m.hdr.op, IDN_OC_LOGIN);
	assert_int_equal(ch.m.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(ch.m.digest_alg, IDN_DIGEST_SHA1);
	uint8_t d[32];
	uint32_t dl;
	idn_digest(IDN_DIGEST_SHA1, lq.m.signed_part.p, lq.m.signed_part.len, d,
		   &dl);
	assert_int_equal(ch.m.digest.len, dl);
	assert_memory_equal(ch.m.digest.p, d, dl);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(ch.m.rest, &nonce), 0);
	assert_int_equal(nonce.len, 16);
	/* the answer echoes the challenge's id */
	assert_int_equal(an.env.session_id, ch.env.session_id);
	idn_challenge_answer_t ans;
	idn_bytes_t hash, sig;
	assert_int_equal(idn_challenge_answer_decode(an.m.rest, &ans), 0);
	assert_bytes_str(ans.auth_type, "HS_PUBKEY");
	assert_int_equal(idn_sig_decode(ans.sig, &hash, &sig), 0);
	assert_bytes_str(hash, want_hash);
	int err = idn_answer_verify(key, hash, nonce, ch.m.digest, sig,
				    idn_bytes_str(admin));
	free(ch.buf);
	free(an.buf);
	free(lq.buf);
	return err;
}

/* E2/E3: the SDK's answers verify, RSA with SHA-256, SM2 with SM3 and the
 * admin identifier as user ID (not the default ID). */
static void sdk_answers_verify(void **state)
{
	(void)state;
	EVP_PKEY *rsa = pub_load("keys/idis-admin-rsa.pub.hex");
	EVP_PKEY *sm2 = pub_load("keys/idis-admin-sm2-sdk.pub.hex");
	assert_int_equal(answer_check("rsa", rsa, ADMIN, "SHA-256"), 0);
	assert_int_equal(answer_check("sm2", sm2, ADMIN, "SM3"), 0);
	/* another user ID, or another key, does not verify */
	assert_int_equal(answer_check("sm2", sm2, "0.NA/88.118.9", "SM3"),
			 IDN_EAUTH);
	assert_int_equal(answer_check("rsa", sm2, ADMIN, "SHA-256"), IDN_EAUTH);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(sm2);
}

/* E3: idnode signs the national form, and its own form still verifies. */
static void sm2_answer_forms(void **state)
{
	(void)state;
	EVP_PKEY *k = priv_load("keys/idis-admin-sm2-sdk.pem");
	uint8_t nonce[16] = {1, 2, 3}, dig[20] = {4, 5, 6};
	idn_bytes_t n = idn_bytes(nonce, 16), d = idn_bytes(dig, 20);
	uint8_t sig[128];
	size_t sl;
	assert_int_equal(idn_answer_sign_national(k, n, d, idn_bytes_str(ADMIN),
						  sig, sizeof(sig), &sl),
			 0);
	assert_int_equal(idn_answer_verify(k, idn_bytes_str("SM3"), n, d,
					   idn_bytes(sig, sl),
					   idn_bytes_str(ADMIN)),
			 0);
	idn_bytes_t parts[2] = {n, d};
	assert_int_equal(
		idn_sig_sign(k, "SM3", parts, 2, sig, sizeof(sig), &sl), 0);
	assert_int_equal(idn_answer_verify(k, idn_bytes_str("SM3"), n, d,
					   idn_bytes(sig, sl),
					   idn_bytes_str(ADMIN)),
			 0);
	dig[0] ^= 1;
	assert_int_equal(idn_answer_verify(k, idn_bytes_str("SM3"), n, d,
					   idn_bytes(sig, sl),
					   idn_bytes_str(ADMIN)),
			 IDN_EAUTH);
	EVP_PKEY_free(k);
}

/* E4: the SDK's SM2 HS_PUBKEY (PEM SubjectPublicKeyInfo) is its private
 * key's public half; idnode writes the DER form and the raw point, and
 * reads all three to the same key. */
static void sm2_key_forms(void **state)
{
	(void)state;
	EVP_PKEY *priv = priv_load("keys/idis-admin-sm2-sdk.pem");
	EVP_PKEY *pem = pub_load("keys/idis-admin-sm2-sdk.pub.hex");
	assert_true(EVP_PKEY_is_a(pem, "SM2"));
	assert_int_equal(EVP_PKEY_eq(priv, pem), 1);
	uint8_t buf[512];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_pubkey_encode_national(priv, &w), 0);
	idn_hs_pubkey_t hk;
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(buf, w.len), &hk), 0);
	assert_bytes_str(hk.type, "SM2_PUB_KEY");
	assert_int_equal(hk.flags, 0);
	assert_int_equal(hk.nparams, 1);
	assert_int_equal(hk.params[0].len, 91); /* DER SPKI of a P-256 key */
	assert_int_equal(hk.params[0].p[0], 0x30);
	EVP_PKEY *der = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(buf, w.len), &der), 0);
	assert_int_equal(EVP_PKEY_eq(der, pem), 1);
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_pubkey_encode(priv, &w), 0);
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(buf, w.len), &hk), 0);
	assert_int_equal(hk.params[0].len, 65);
	EVP_PKEY *raw = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(buf, w.len), &raw), 0);
	assert_int_equal(EVP_PKEY_eq(raw, pem), 1);
	/* an RSA SubjectPublicKeyInfo is no SM2 key */
	EVP_PKEY *rsa = priv_load("keys/idis-admin-rsa.pem");
	uint8_t *spki = NULL;
	int sn = i2d_PUBKEY(rsa, &spki);
	assert_true(sn > 0);
	idn_hs_pubkey_t bad = {idn_bytes_str("SM2_PUB_KEY"), 0, 1, {{0}}};
	bad.params[0] = idn_bytes(spki, (size_t)sn);
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_pubkey_encode(&w, &bad);
	EVP_PKEY *none = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(buf, w.len), &none),
			 IDN_EVALUE);
	assert_null(none);
	OPENSSL_free(spki);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(raw);
	EVP_PKEY_free(der);
	EVP_PKEY_free(pem);
	EVP_PKEY_free(priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolution_with_and_without_token),
		cmocka_unit_test(token_verifies_with_admin_key),
		cmocka_unit_test(login_request_without_credential),
		cmocka_unit_test(sdk_answers_verify),
		cmocka_unit_test(sm2_answer_forms),
		cmocka_unit_test(sm2_key_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
