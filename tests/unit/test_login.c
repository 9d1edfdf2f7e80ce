/* The national IDIS SDK's captured requests replayed through the daemon's
 * request path (login.c, resolve.c; node fixture): the answers idnode gives
 * them, byte for byte where nothing random is in them (the challenge's
 * nonce and id are; the SDK's answers are then re-signed over the new
 * nonce with the same throwaway keys, in the SDK's layout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "jwt.h"
#include "authz.h"
#include "error.h"
#include "msg.h"
#include "node_fixture.h"
#include "optable.h"
#include "vector_fixture.h"

#define ADMIN "0.NA/" NFX_HOME
#define CONN 7

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

/* The first reply of the last call equals vector name, byte for byte. */
static void reply_is(nfx_t *f, const char *name)
{
	size_t n;
	uint8_t *want = load_hex(name, &n);
	assert_int_equal(f->nrep, 1);
	if (f->replen != n || memcmp(f->rep, want, n) != 0) {
		print_error("reply differs from %s\n got:", name);
		for (size_t i = 0; i < f->replen; i++)
			print_error("%02x", f->rep[i]);
		print_error("\nwant:");
		for (size_t i = 0; i < n; i++)
			print_error("%02x", want[i]);
		print_error("\n");
		fail();
	}
	free(want);
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

/* The node the vectors were captured from: admin 300 (RSA) and 301 (the
 * SDK's SM2 key) with every right on the prefix, and 88.118.8/a as the
 * token response shows it (values 1 and 100 public, 2 for admins). */
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
	frame_t r;
	frame_load("idis/idis-resolve-token-response.hex", &r);
	idn_values_body_t vb;
	assert_int_equal(idn_values_body_decode(r.m.rest, &a, &vb), 0);
	assert_int_equal(vb.nvalues, 3);
	nfx_put_values(f, NFX_HOME "/a", vb.values, vb.nvalues);
	free(r.buf);
	idn_arena_free(&a);
	return 0;
}

/* E1: the SDK's resolution (empty token) gets the public values, as
 * captured; its token, stale five minutes after the capture, is refused
 * rather than ignored. */
static void resolution_replayed(void **state)
{
	nfx_t *f = *state;
	caller_t anon = nfx_anon(TRANSPORT_TCP);
	frame_t q;
	frame_load("idis/idis-resolve-request.hex", &q);
	nfx_call(f, q.buf, q.len, &anon, CONN);
	reply_is(f, "idis/idis-resolve-response.hex");
	free(q.buf);
	frame_load("idis/idis-resolve-token-request.hex", &q);
	nfx_call(f, q.buf, q.len, &anon, CONN);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_FAILED);
	assert_string_equal(nfx_error_text(f),
			    "token timestamp too far from the node's clock");
	free(q.buf);
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

/* The SDK's token request with a token made now by keyfile for admin
 * index idx (the SDK's claims); resolved on a connection of its own. */
static void resolve_with_token(nfx_t *f, const char *keyfile, uint32_t idx)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	frame_t q;
	frame_load("idis/idis-resolve-token-request.hex", &q);
	idn_resolve_req_t rq;
	assert_int_equal(idn_resolve_req_decode(q.m.rest, &a, &rq), 0);
	EVP_PKEY *k = priv_load(keyfile);
	json_t *c = json_pack("{s:i, s:s, s:I, s:I}", "user_index", (int)idx,
			      "user_handle", ADMIN, "nonce", (json_int_t)42,
			      "timestamp", (json_int_t)time(NULL) * 1000);
	char *tok = NULL;
	assert_int_equal(idn_jwt_sign(c, k, &tok), 0);
	rq.token = idn_bytes_str(tok);
	uint8_t body[2048], fr[2200];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_resolve_req_encode(&w, &rq);
	size_t n = nfx_frame(fr, sizeof(fr), IDN_OC_RESOLUTION, q.m.hdr.flags,
			     0, body, w.len);
	caller_t anon = nfx_anon(TRANSPORT_TCP);
	nfx_call(f, fr, n, &anon, CONN + 2);
	free(tok);
	json_decref(c);
	EVP_PKEY_free(k);
	free(q.buf);
	idn_arena_free(&a);
}

/* E1: a token made now by the admin's key shows what that admin may
 * read, though the SDK flags the request public-only; another key's
 * token is refused. */
static void token_reader_sees_admin_values(void **state)
{
	nfx_t *f = *state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t vb;
	resolve_with_token(f, "idis-admin-rsa.pem", 300);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(idn_values_body_decode(f->msg.rest, &a, &vb), 0);
	assert_int_equal(vb.nvalues, 3);
	assert_int_equal(vb.values[1].index, 2);
	assert_bytes_str(vb.values[1].data, "admins@example.com");
	resolve_with_token(f, "idis-admin-sm2-sdk.pem", 300);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_FAILED);
	assert_string_equal(nfx_error_text(f),
			    "token signature does not verify");
	idn_arena_free(&a);
}

/* The SDK's answer to the challenge f's last reply holds, re-signed over
 * its nonce: the captured answer's header and fields, the new signature. */
static size_t answer_for(nfx_t *f, const char *flow, const char *keyfile,
			 uint8_t *out, size_t cap)
{
	char name[128];
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(f->msg.rest, &nonce), 0);
	EVP_PKEY *k = priv_load(keyfile);
	uint8_t sig[1024];
	size_t sl;
	const char *hash;
	if (EVP_PKEY_is_a(k, "SM2")) {
		hash = "SM3";
		assert_int_equal(
			idn_answer_sign_national(k, nonce, f->msg.digest,
						 idn_bytes_str(ADMIN), sig,
						 sizeof(sig), &sl),
			0);
	} else {
		hash = "SHA-256";
		idn_bytes_t parts[2] = {nonce, f->msg.digest};
		assert_int_equal(idn_sig_sign(k, "SHA256", parts, 2, sig,
					      sizeof(sig), &sl),
				 0);
	}
	EVP_PKEY_free(k);
	frame_t an;
	snprintf(name, sizeof(name), "idis/idis-login-%s-answer.hex", flow);
	frame_load(name, &an);
	idn_challenge_answer_t a;
	assert_int_equal(idn_challenge_answer_decode(an.m.rest, &a), 0);
	uint8_t sd[1100];
	idn_wr_t sw;
	idn_wr_init(&sw, sd, sizeof(sd));
	idn_sig_encode(&sw, idn_bytes_str(hash), idn_bytes(sig, sl));
	a.sig = idn_bytes(sd, sw.len);
	uint8_t body[1400];
	idn_wr_t bw;
	idn_wr_init(&bw, body, sizeof(body));
	idn_challenge_answer_encode(&bw, &a);
	size_t n = nfx_frame(out, cap, IDN_OC_CHALLENGE_ANSWER, an.m.hdr.flags,
			     f->env.session_id, body, bw.len);
	/* the SDK's request id, so that the reply is the captured one */
	idn_env_set_request_id(out, an.env.request_id);
	free(an.buf);
	return n;
}

/* E2: the SDK's login flow (site info, op 2001, the challenge, the
 * answer), then its create in the session: on the login's connection as
 * captured, on another refused with nothing stored. */
static void login_flow(nfx_t *f, const char *flow, const char *keyfile,
		       const char *created)
{
	caller_t anon = nfx_anon(TRANSPORT_TCP);
	char name[128];
	frame_t q;
	snprintf(name, sizeof(name), "idis/idis-login-%s-siteinfo-request.hex",
		 flow);
	frame_load(name, &q);
	nfx_call(f, q.buf, q.len, &anon, CONN);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(f->env.session_id, q.env.session_id);
	free(q.buf);

	snprintf(name, sizeof(name), "idis/idis-login-%s-request.hex", flow);
	frame_t lq;
	frame_load(name, &lq);
	nfx_call(f, lq.buf, lq.len, &anon, CONN);
	/* the standard challenge, with op 2001: digest of header+body */
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(f->msg.hdr.op, IDN_OC_LOGIN);
	assert_int_equal(f->msg.digest_alg, IDN_DIGEST_SHA1);
	uint8_t d[32];
	uint32_t dl;
	idn_digest(IDN_DIGEST_SHA1, lq.m.signed_part.p, lq.m.signed_part.len, d,
		   &dl);
	assert_memory_equal(f->msg.digest.p, d, dl);
	/* a Java int: the SDK sends a negative id as 0 */
	assert_true(f->env.session_id != 0 && f->env.session_id < 0x80000000u);

	/* a session id used before the login is nobody's */
	snprintf(name, sizeof(name), "idis/idis-session-create-%s-request.hex",
		 flow);
	frame_load(name, &q);
	uint8_t ans[2048];
	size_t an = answer_for(f, flow, keyfile, ans, sizeof(ans));
	nfx_call(f, ans, an, &anon, CONN);
	snprintf(name, sizeof(name), "idis/idis-login-%s-response.hex", flow);
	reply_is(f, name);

	/* the session's id on another connection proves nothing */
	nfx_call(f, q.buf, q.len, &anon, CONN + 1);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	size_t len;
	uint32_t nv;
	assert_null(nfx_get(f, created, &len, &nv));
	/* on its own connection the create runs as that admin */
	nfx_call(f, q.buf, q.len, &anon, CONN);
	snprintf(name, sizeof(name), "idis/idis-session-create-%s-response.hex",
		 flow);
	reply_is(f, name);
	uint8_t *rec = nfx_get(f, created, &len, &nv);
	assert_non_null(rec);
	assert_int_equal(nv, 1);
	free(rec);
	free(q.buf);
	free(lq.buf);
}

static void login_rsa_replayed(void **state)
{
	login_flow(*state, "rsa", "idis-admin-rsa.pem", NFX_HOME "/rsa");
}

static void login_sm2_replayed(void **state)
{
	login_flow(*state, "sm2", "idis-admin-sm2-sdk.pem", NFX_HOME "/sm2");
}

/* E2: an answer with another key is refused and opens no session. */
static void login_wrong_key_refused(void **state)
{
	nfx_t *f = *state;
	caller_t anon = nfx_anon(TRANSPORT_TCP);
	frame_t lq, q;
	frame_load("idis/idis-login-rsa-request.hex", &lq);
	nfx_call(f, lq.buf, lq.len, &anon, CONN);
	uint8_t ans[2048];
	size_t an = answer_for(f, "rsa", "idis-admin-sm2-sdk.pem", ans,
			       sizeof(ans));
	nfx_call(f, ans, an, &anon, CONN);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_FAILED);
	frame_load("idis/idis-session-create-rsa-request.hex", &q);
	nfx_call(f, q.buf, q.len, &anon, CONN);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	size_t len;
	uint32_t nv;
	assert_null(nfx_get(f, NFX_HOME "/rsa", &len, &nv));
	free(lq.buf);
	free(q.buf);
}

/* A login over UDP, or naming no session, is refused before any
 * challenge. */
static void login_needs_tcp_and_session(void **state)
{
	nfx_t *f = *state;
	caller_t udp = nfx_anon(TRANSPORT_UDP);
	frame_t lq;
	frame_load("idis/idis-login-rsa-request.hex", &lq);
	nfx_call(f, lq.buf, lq.len, &udp, 0);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_NOT_SUPPORTED);
	idn_env_set_session(lq.buf, 0);
	caller_t tcp = nfx_anon(TRANSPORT_TCP);
	nfx_call(f, lq.buf, lq.len, &tcp, CONN);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_PROTOCOL_ERROR);
	free(lq.buf);
	/* the op table has it, for anyone, from the network only */
	const op_row_t *row = optable_find(IDN_OC_LOGIN);
	assert_non_null(row);
	assert_int_equal(row->min, PRINCIPAL_ANONYMOUS);
	assert_true(row->network_only);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(resolution_replayed, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(token_reader_sees_admin_values,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(login_rsa_replayed, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(login_sm2_replayed, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(login_wrong_key_refused, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(login_needs_tcp_and_session,
						setup, nfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
