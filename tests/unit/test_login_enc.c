/* The national IDIS SDK's encrypted session replayed through the daemon's
 * request path (session.c, login.c, handler.c; node fixture): its captured
 * setup (tests/vectors/idis/idis-enc-*) answered with a key wrapped to the
 * admin's HS_PUBKEY, which the throwaway private key unwraps; then the
 * SDK's captured messages, opened with the key it logged, sealed again
 * under the new key (the answer re-signed over the new nonce) and run:
 * the login binds the session, the create runs as that admin. Sent in
 * plain, or on another connection, the same create is refused. */
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
#include "authz.h"
#include "error.h"
#include "hsession.h"
#include "msg.h"
#include "node_fixture.h"
#include "vector_fixture.h"

#define ADMIN "0.NA/" NFX_HOME
#define CONN 7
#define SDK_SESSION 10001

/* the session keys the SDK logged when the vectors were captured */
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

static idn_value_t pubkey_value(idn_arena_t *a, uint32_t index,
				const char *file)
{
	size_t n;
	uint8_t *b = load_hex(file, &n);
	uint8_t *p = idn_arena_alloc(a, n);
	memcpy(p, b, n);
	free(b);
	idn_value_t v = {index,
			 0,
			 IDN_TTL_RELATIVE,
			 86400,
			 IDN_PERM_ADMIN_WRITE | IDN_PERM_ADMIN_READ |
				 IDN_PERM_PUBLIC_READ,
			 idn_bytes_str("HS_PUBKEY"),
			 idn_bytes(p, n),
			 0,
			 NULL};
	return v;
}

/* The node of the capture: admin 300 (RSA) and 301 (the SDK's SM2 key)
 * with every right on the prefix. */
static int setup(void **state)
{
	nfx_setup(state);
	nfx_t *f = *state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v[4] = {
		pubkey_value(&a, 300, "keys/idis-admin-rsa.pub.hex"),
		pubkey_value(&a, 301, "keys/idis-admin-sm2-sdk.pub.hex"),
		nfx_value(&a, "100:HS_ADMIN=" ADMIN "@300#fff"),
		nfx_value(&a, "101:HS_ADMIN=" ADMIN "@301#fff"),
	};
	nfx_put_values(f, ADMIN, v, 4);
	idn_arena_free(&a);
	return 0;
}

/* The frame of captured vector idis/idis-enc-ALG-PART opened with key:
 * its envelope (encrypted flag cleared) and plain message, into out;
 * returns its length. */
static size_t opened(const char *alg, const char *part, idn_bytes_t key,
		     uint8_t *out, size_t cap)
{
	char name[96];
	snprintf(name, sizeof(name), "idis/idis-enc-%s-%s.hex", alg, part);
	size_t len, n = 0;
	uint8_t *b = load_hex(name, &len);
	assert_true(len <= cap);
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_SM4, b + IDN_ENV_LEN,
					  len - IDN_ENV_LEN, out + IDN_ENV_LEN,
					  cap - IDN_ENV_LEN, &n),
			 0);
	memcpy(out, b, IDN_ENV_LEN);
	out[IDN_ENV_OFF_FLAGS] &= (uint8_t)~IDN_EF_ENCRYPTED;
	idn_put_u32(out + IDN_ENV_OFF_MSG_LEN, (uint32_t)n);
	free(b);
	return IDN_ENV_LEN + n;
}

/* Seals frame (len bytes of cap) under key as the SDK does. */
static size_t sealed(idn_bytes_t key, uint8_t *frame, size_t len, size_t cap)
{
	size_t n = 0;
	assert_int_equal(
		idn_skey_seal_frame(key, IDN_SCIPHER_SM4, frame, len, cap, &n),
		0);
	return n;
}

/* The first reply of the last call, which must come encrypted, opened
 * with key into *m (its bytes in buf). */
static void reply_opened(nfx_t *f, idn_bytes_t key, uint8_t *buf, size_t cap,
			 idn_msg_t *m)
{
	assert_true(f->nrep >= 1);
	assert_true(f->env.flags & IDN_EF_ENCRYPTED);
	size_t n = 0;
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_SM4,
					  f->rep + IDN_ENV_LEN, f->env.msg_len,
					  buf, cap, &n),
			 0);
	assert_int_equal(idn_msg_decode(buf, n, m), 0);
}

/* The SDK's captured answer (opened with logged) re-signed over the
 * nonce of challenge ch, in the challenge's id: the plain frame. */
static size_t answer_for(const char *alg, idn_bytes_t logged,
			 const idn_msg_t *ch, uint32_t ch_id, const char *pem,
			 uint8_t *out, size_t cap)
{
	uint8_t cap_ans[2048];
	size_t al =
		opened(alg, "login-answer", logged, cap_ans, sizeof(cap_ans));
	idn_env_t env;
	idn_msg_t an;
	assert_int_equal(decode_full(cap_ans, al, &env, &an), 0);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(ch->rest, &nonce), 0);
	EVP_PKEY *k = priv_load(pem);
	uint8_t sig[1024];
	size_t sl;
	const char *hash;
	if (EVP_PKEY_is_a(k, "SM2")) {
		hash = "SM3";
		assert_int_equal(idn_answer_sign_national(k, nonce, ch->digest,
							  idn_bytes_str(ADMIN),
							  sig, sizeof(sig),
							  &sl),
				 0);
	} else {
		hash = "SHA-256";
		idn_bytes_t parts[2] = {nonce, ch->digest};
		assert_int_equal(idn_sig_sign(k, "SHA256", parts, 2, sig,
					      sizeof(sig), &sl),
				 0);
	}
	EVP_PKEY_free(k);
	idn_challenge_answer_t a;
	assert_int_equal(idn_challenge_answer_decode(an.rest, &a), 0);
	uint8_t sd[1100];
	idn_wr_t sw;
	idn_wr_init(&sw, sd, sizeof(sd));
	idn_sig_encode(&sw, idn_bytes_str(hash), idn_bytes(sig, sl));
	a.sig = idn_bytes(sd, sw.len);
	uint8_t body[1400];
	idn_wr_t bw;
	idn_wr_init(&bw, body, sizeof(body));
	idn_challenge_answer_encode(&bw, &a);
	return nfx_frame(out, cap, IDN_OC_CHALLENGE_ANSWER, an.hdr.flags, ch_id,
			 body, bw.len);
}

static void encrypted_flow(nfx_t *f, const char *alg, const char *pem,
			   const char *skey, const char *created)
{
	caller_t anon = nfx_anon(TRANSPORT_TCP);
	uint8_t lb[16], fr[4096], rb[4096];
	idn_bytes_t logged = unhex(skey, lb);
	char name[96];

	/* the setup: a key wrapped to the admin's key, in the SDK's id */
	snprintf(name, sizeof(name), "idis/idis-enc-%s-setup-request.hex", alg);
	size_t len;
	uint8_t *q = load_hex(name, &len);
	nfx_call(f, q, len, &anon, CONN);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(f->env.session_id, SDK_SESSION);
	idn_session_resp_t rs;
	assert_int_equal(idn_session_resp_decode(f->msg.rest, &rs), 0);
	assert_int_equal(rs.mode, IDN_KX_CIPHER_HDL);
	uint8_t plain[64];
	size_t pl = 0;
	EVP_PKEY *k = priv_load(pem);
	assert_int_equal(idn_skey_unwrap(k, rs.key, plain, sizeof(plain), &pl),
			 0);
	EVP_PKEY_free(k);
	free(q);
	assert_int_equal(pl, 20);
	assert_int_equal(idn_get_u32(plain), IDN_SCIPHER_SM4);
	/* a fresh key, not the captured one */
	assert_memory_not_equal(plain + 4, logged.p, 16);
	idn_bytes_t key = idn_bytes(plain + 4, 16);

	idn_msg_t m;
	size_t n = opened(alg, "siteinfo-request", logged, fr, sizeof(fr));
	nfx_call(f, fr, sealed(key, fr, n, sizeof(fr)), &anon, CONN);
	reply_opened(f, key, rb, sizeof(rb), &m);
	assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(f->env.session_id, SDK_SESSION);

	/* the login: challenged, in plain inside the session's cipher */
	n = opened(alg, "login-request", logged, fr, sizeof(fr));
	nfx_call(f, fr, sealed(key, fr, n, sizeof(fr)), &anon, CONN);
	uint8_t chb[512];
	idn_msg_t ch;
	reply_opened(f, key, chb, sizeof(chb), &ch);
	assert_int_equal(ch.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(ch.hdr.op, IDN_OC_LOGIN);
	uint32_t ch_id = f->env.session_id;
	assert_true(ch_id != 0 && ch_id != SDK_SESSION);

	/* before the login binds it, the session runs nothing as admin */
	uint8_t cr[4096];
	size_t crl = opened(alg, "create-request", logged, cr, sizeof(cr));
	memcpy(fr, cr, crl);
	nfx_call(f, fr, sealed(key, fr, crl, sizeof(fr)), &anon, CONN);
	reply_opened(f, key, rb, sizeof(rb), &m);
	assert_int_not_equal(m.hdr.rc, IDN_RC_SUCCESS);

	/* the answer, in the challenge's id under the session's key */
	n = answer_for(alg, logged, &ch, ch_id, pem, fr, sizeof(fr));
	nfx_call(f, fr, sealed(key, fr, n, sizeof(fr)), &anon, CONN);
	reply_opened(f, key, rb, sizeof(rb), &m);
	assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(m.hdr.op, IDN_OC_LOGIN);
	assert_int_equal(f->env.session_id, SDK_SESSION);

	uint32_t nv;
	/* in plain in the encrypted session: refused, nothing stored */
	memcpy(fr, cr, crl);
	nfx_call(f, fr, crl, &anon, CONN);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	assert_string_equal(nfx_error_text(f),
			    "requests in this session must come encrypted");
	assert_null(nfx_get(f, created, &len, &nv));
	/* under the session's key on another connection: no such session */
	memcpy(fr, cr, crl);
	nfx_call(f, fr, sealed(key, fr, crl, sizeof(fr)), &anon, CONN + 1);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	assert_null(nfx_get(f, created, &len, &nv));
	/* under another key (the captured one) on its connection: refused */
	memcpy(fr, cr, crl);
	nfx_call(f, fr, sealed(logged, fr, crl, sizeof(fr)), &anon, CONN);
	assert_int_not_equal(f->nrep, 0);
	assert_null(nfx_get(f, created, &len, &nv));

	/* the create as the SDK sends it runs as the logged-in admin */
	memcpy(fr, cr, crl);
	nfx_call(f, fr, sealed(key, fr, crl, sizeof(fr)), &anon, CONN);
	reply_opened(f, key, rb, sizeof(rb), &m);
	assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
	uint8_t *rec = nfx_get(f, created, &len, &nv);
	assert_non_null(rec);
	assert_int_equal(nv, 1);
	free(rec);
}

static void encrypted_rsa_replayed(void **state)
{
	encrypted_flow(*state, "rsa", "idis-admin-rsa.pem", RSA_SKEY,
		       NFX_HOME "/enc1");
}

static void encrypted_sm2_replayed(void **state)
{
	encrypted_flow(*state, "sm2", "idis-admin-sm2-sdk.pem", SM2_SKEY,
		       NFX_HOME "/enc2");
}

/* Mode 3 needs a TCP connection and the id the client names, and a key
 * the node can wrap to. */
static void setup_refusals(void **state)
{
	nfx_t *f = *state;
	size_t len;
	uint8_t *q = load_hex("idis/idis-enc-rsa-setup-request.hex", &len);
	caller_t udp = nfx_anon(TRANSPORT_UDP);
	nfx_call(f, q, len, &udp, 0);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_FAILED);
	caller_t tcp = nfx_anon(TRANSPORT_TCP);
	idn_env_set_session(q, 0);
	nfx_call(f, q, len, &tcp, CONN);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_FAILED);
	idn_env_set_session(q, SDK_SESSION);
	/* the key index (300, 0x12c) made 302: no HS_PUBKEY there */
	assert_int_equal(q[len - 7], 0x2c);
	q[len - 7] = 0x2e;
	nfx_call(f, q, len, &tcp, CONN);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_FAILED);
	assert_string_equal(nfx_error_text(f),
			    "no RSA or SM2 HS_PUBKEY at the key handle and "
			    "index to wrap the session key to");
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(encrypted_rsa_replayed, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(encrypted_sm2_replayed, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(setup_refusals, setup,
						nfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
