/* Negotiation with HANDLE.NET peers (nego.h, seckey.h, identity.h) on a
 * node context: what CNRI's HANDLE.NET 7.3.1 sent (tests/vectors and
 * tests/vectors/nego) checked as the node checks it, one test per rule --
 * the hash each peer gets, the forms accepted, the configured floor, the
 * versions and flags answered, the site the node lists and who may home a
 * prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/rsa.h>

#include "auth.h"
#include "authz.h"
#include "cnrikey.h"
#include "identity.h"
#include "nego.h"
#include "node_fixture.h"
#include "seckey.h"
#include "vector_fixture.h"

#define SECRET "s3cret-key" /* of the HS_SECKEY admin in the vectors */

static int setup(void **state)
{
	int rc = nfx_setup(state);
	nfx_t *f = *state;
	size_t dl, rl;
	uint8_t *dsa = load_bin("keys/admpub.bin", &dl);
	uint8_t *rsa = load_bin("keys/admpub_rsa.bin", &rl);
	/* the admins of the captures: 300 (DSA) and 301 (RSA) of
	 * 0.NA/20.500, and 310 (HS_SECKEY) of 0.NA/20.501 */
	idn_value_t v[2] = {
		{.index = 300,
		 .ttl = 86400,
		 .perms = IDN_PERM_DEFAULT,
		 .type = idn_bytes_str("HS_PUBKEY"),
		 .data = idn_bytes(dsa, dl)},
		{.index = 301,
		 .ttl = 86400,
		 .perms = IDN_PERM_DEFAULT,
		 .type = idn_bytes_str("HS_PUBKEY"),
		 .data = idn_bytes(rsa, rl)},
	};
	nfx_put_values(f, "0.NA/20.500", v, 2);
	idn_value_t s = {.index = 310,
			 .ttl = 86400,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str("HS_SECKEY"),
			 .data = idn_bytes_str(SECRET)};
	nfx_put_values(f, "0.NA/20.501", &s, 1);
	/* the KeyGenerator DSA key, whose private half is a vector too */
	size_t gl;
	uint8_t *gen = load_bin("keys/cnri-pub-dsa.bin", &gl);
	idn_value_t g = {.index = 300,
			 .ttl = 86400,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str("HS_PUBKEY"),
			 .data = idn_bytes(gen, gl)};
	nfx_put_values(f, "0.NA/20.502", &g, 1);
	free(gen);
	free(dsa);
	free(rsa);
	return rc;
}

/* ---- the rule's parts ---- */

static void hash_ranks_and_peers(void **state)
{
	(void)state;
	assert_int_equal(idn_hash_rank_parse("md5"), IDN_HASH_RANK_MD5);
	assert_int_equal(idn_hash_rank_parse("SHA1"), IDN_HASH_RANK_SHA1);
	assert_int_equal(idn_hash_rank_parse("sha256"), IDN_HASH_RANK_SHA256);
	assert_int_equal(idn_hash_rank_parse("sha-1"), -1);
	assert_string_equal(idn_hash_rank_name(IDN_HASH_RANK_SHA1), "sha1");
	assert_int_equal(idn_hash_rank_of(idn_bytes_str("SHA-1")),
			 IDN_HASH_RANK_SHA1);
	assert_int_equal(idn_hash_rank_of(idn_bytes_str("MD5")),
			 IDN_HASH_RANK_MD5);
	assert_int_equal(idn_hash_rank_of(idn_bytes_str("SM3")),
			 IDN_HASH_RANK_SHA256);
	assert_int_equal(idn_hash_rank_of(idn_bytes_str("SHA512")), 0);
	/* HANDLE.NET 7 speaks 2.5 and knows no SHA-256 */
	static const struct {
		uint8_t major, minor;
		bool knows;
	} peers[] = {{2, 0, false}, {2, 5, false}, {2, 6, false}, {2, 7, true},
		     {2, 10, true}, {2, 12, true}, {3, 0, true}};
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		assert_int_equal(
			idn_peer_knows_sha256(peers[i].major, peers[i].minor),
			peers[i].knows);
	EVP_PKEY *rsa = EVP_RSA_gen(2048),
		 *sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	assert_string_equal(
		idn_sig_hash_for_peer(rsa, 2, 5, IDN_HASH_RANK_SHA1), "SHA1");
	assert_string_equal(
		idn_sig_hash_for_peer(rsa, 2, 10, IDN_HASH_RANK_SHA1),
		"SHA256");
	/* never below the floor, whatever the peer */
	assert_string_equal(
		idn_sig_hash_for_peer(rsa, 2, 5, IDN_HASH_RANK_SHA256),
		"SHA256");
	assert_string_equal(
		idn_sig_hash_for_peer(sm2, 2, 5, IDN_HASH_RANK_SHA1), "SM3");
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(sm2);
}

/* The MD5 and SHA-1 signature forms of HANDLE.NET's RSA and DSA keys
 * (its key files) sign and verify; which of them passes is the floor's
 * business (below). */
static void md5_and_sha1_signatures(void **state)
{
	(void)state;
	static const char *const names[] = {"rsa", "dsa"};
	static const char *const hashes[] = {"MD5", "SHA1", "SHA256"};
	for (int i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof(path), "keys/cnri-priv-%s.bin", names[i]);
		size_t len;
		uint8_t *file = load_bin(path, &len);
		EVP_PKEY *k = NULL;
		assert_int_equal(idn_cnrikey_decode(idn_bytes(file, len),
						    idn_bytes(NULL, 0), &k),
				 0);
		idn_bytes_t part = idn_bytes_str("nonce || digest");
		for (int h = 0; h < 3; h++) {
			uint8_t sig[1024];
			size_t sl;
			assert_int_equal(idn_sig_sign(k, hashes[h], &part, 1,
						      sig, sizeof(sig), &sl),
					 0);
			assert_int_equal(
				idn_sig_verify(k, idn_bytes_str(hashes[h]),
					       &part, 1, idn_bytes(sig, sl)),
				0);
			/* the hash named is the hash checked */
			assert_int_equal(
				idn_sig_verify(
					k, idn_bytes_str(hashes[(h + 1) % 3]),
					&part, 1, idn_bytes(sig, sl)),
				IDN_EAUTH);
		}
		EVP_PKEY_free(k);
		free(file);
	}
}

/* ---- challenge answers as the node checks them ---- */

typedef struct {
	authz_challenge_t *c;
	uint8_t *answer; /* the op 200 frame */
	idn_msg_t am;	 /* decoded; am.rest its body */
	idn_challenge_answer_t ans;
	const char *why;
} answer_t;

/* The pending challenge a 402 vector describes (its nonce and request
 * digest) held for a request in protocol major.minor, and the answer
 * vector to it. */
static void load_answer(answer_t *x, const char *challenge, const char *answer,
			uint8_t major, uint8_t minor)
{
	size_t cl, al;
	uint8_t *ch = load_hex(challenge, &cl);
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(ch + IDN_ENV_LEN, cl - IDN_ENV_LEN, &m),
			 0);
	assert_int_equal(m.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(m.digest_alg, IDN_DIGEST_SHA1);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(m.rest, &nonce), 0);
	assert_int_equal(nonce.len, 16);
	x->c = calloc(1, sizeof(*x->c) + 2);
	assert_non_null(x->c);
	memcpy(x->c->nonce, nonce.p, 16);
	memcpy(x->c->digest, m.digest.p, 20);
	x->c->frame[0] = major;
	x->c->frame[1] = minor;
	x->c->len = 2;
	free(ch);
	x->answer = load_hex(answer, &al);
	assert_int_equal(idn_msg_decode(x->answer + IDN_ENV_LEN,
					al - IDN_ENV_LEN, &x->am),
			 0);
	assert_int_equal(x->am.hdr.op, IDN_OC_CHALLENGE_ANSWER);
}

static void free_answer(answer_t *x)
{
	free(x->c);
	free(x->answer);
}

/* Checks x's answer on f's node with the floor set to min. */
static uint32_t check(nfx_t *f, answer_t *x, int min)
{
	struct sockaddr_storage peer = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&peer;
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	authz_set_min_hash(f->node.authz, min);
	assert_int_equal(handler_begin(&f->h), 0);
	uint32_t rc =
		authz_check_answer(f->node.authz, &peer, f->h.rtxn, &f->h.arena,
				   x->c, x->am.rest, &x->ans, &x->why);
	handler_end(&f->h);
	authz_set_min_hash(f->node.authz, IDN_HASH_RANK_SHA1);
	return rc;
}

/* CNRI's RSA and DSA admins answer with SHA-1 signatures: accepted with
 * the default floor, refused (406, nothing verified) under sha256. */
static void cnri_sha1_signatures(void **state)
{
	nfx_t *f = *state;
	static const char *const pairs[][2] = {
		{"auth-challenge.hex", "create-challenge-answer-rsa.hex"},
		{"add-value-challenge.hex",
		 "add-value-challenge-answer-dsa.hex"},
		{"delete-challenge.hex", "delete-challenge-answer-dsa.hex"},
	};
	for (int i = 0; i < 3; i++) {
		answer_t x = {0};
		load_answer(&x, pairs[i][0], pairs[i][1], 2, 5);
		assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA1), 0);
		assert_true(idn_bytes_eq_str(x.ans.admin, "0.NA/20.500"));
		assert_int_equal(x.ans.index, i == 0 ? 301 : 300);
		assert_int_equal(check(f, &x, IDN_HASH_RANK_MD5), 0);
		assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA256),
				 IDN_RC_AUTH_ERROR);
		assert_non_null(strstr(x.why, "min-auth-hash (sha256)"));
		/* an answer to another challenge does not verify */
		x.c->nonce[0] ^= 1;
		assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA1),
				 IDN_RC_AUTH_FAILED);
		free_answer(&x);
	}
}

/* A CNRI HS_SECKEY admin: 0x02 then SHA-1(secret || nonce || digest ||
 * secret), which idnode refused before with 406. */
static void cnri_seckey_sha1_form(void **state)
{
	nfx_t *f = *state;
	answer_t x = {0};
	load_answer(&x, "nego/seckey-challenge.hex",
		    "nego/seckey-challenge-answer.hex", 2, 5);
	/* the challenge's digest is the request's */
	size_t rl;
	uint8_t *req = load_hex("nego/seckey-create-request.hex", &rl);
	idn_msg_t m;
	assert_int_equal(
		idn_msg_decode(req + IDN_ENV_LEN, rl - IDN_ENV_LEN, &m), 0);
	uint8_t d[32];
	uint32_t dl;
	idn_digest(IDN_DIGEST_SHA1, m.signed_part.p, m.signed_part.len, d, &dl);
	assert_memory_equal(d, x.c->digest, 20);
	free(req);
	assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA1), 0);
	assert_true(idn_bytes_eq_str(x.ans.auth_type, "HS_SECKEY"));
	assert_int_equal(x.ans.sig.len, 21);
	assert_int_equal(x.ans.sig.p[0], IDN_MAC_SHA1);
	assert_int_equal(idn_seckey_rank(x.ans.sig, 5), IDN_HASH_RANK_SHA1);
	assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA256), IDN_RC_AUTH_ERROR);
	/* another secret does not verify */
	assert_int_equal(idn_seckey_verify_v(idn_bytes_str("s3cret-kez"),
					     x.ans.sig,
					     idn_bytes(x.c->nonce, 16),
					     idn_bytes(x.c->digest, 20), 5),
			 IDN_EAUTH);
	/* idctl answers an old peer in the same form, byte for byte */
	uint8_t buf[64];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_seckey_answer(IDN_MAC_SHA1, idn_bytes_str(SECRET),
					   idn_bytes(x.c->nonce, 16),
					   idn_bytes(x.c->digest, 20), &w),
			 0);
	assert_int_equal(w.len, x.ans.sig.len);
	assert_memory_equal(buf, x.ans.sig.p, w.len);
	free_answer(&x);
}

/* Before protocol 2.1 HANDLE.NET's client answers with the bare MD5 of
 * secret || nonce || digest || secret (vector: nonce, digest, answer, as
 * its library made them for a 2.0 challenge). */
static void cnri_seckey_md5_before_2_1(void **state)
{
	(void)state;
	size_t len;
	uint8_t *v = load_hex("nego/seckey-answer-md5-2.0.hex", &len);
	assert_int_equal(len, 16 + 20 + 16);
	idn_bytes_t nonce = idn_bytes(v, 16), digest = idn_bytes(v + 16, 20),
		    ans = idn_bytes(v + 36, 16);
	assert_int_equal(idn_seckey_verify_v(idn_bytes_str(SECRET), ans, nonce,
					     digest, 0),
			 0);
	assert_int_equal(idn_seckey_rank(ans, 0), IDN_HASH_RANK_MD5);
	/* read as a 2.1+ answer its first byte is no known form */
	assert_int_equal(idn_seckey_verify_v(idn_bytes_str(SECRET), ans, nonce,
					     digest, 5),
			 IDN_EUNSUPPORTED);
	assert_int_equal(
		idn_seckey_verify_v(idn_bytes_str("x"), ans, nonce, digest, 0),
		IDN_EAUTH);
	/* the prefixed MD5 form (0x01) of 2.1 and later */
	uint8_t buf[64];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_seckey_answer(IDN_MAC_MD5, idn_bytes_str(SECRET),
					   nonce, digest, &w),
			 0);
	assert_int_equal(w.len, 17);
	assert_memory_equal(buf + 1, ans.p, 16);
	assert_int_equal(idn_seckey_rank(idn_bytes(buf, w.len), 5),
			 IDN_HASH_RANK_MD5);
	free(v);
}

/* The MD5 forms pass the node only with min-auth-hash md5. */
static void md5_needs_the_md5_floor(void **state)
{
	nfx_t *f = *state;
	size_t len;
	uint8_t *v = load_hex("nego/seckey-answer-md5-2.0.hex", &len);
	uint8_t body[256];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_challenge_answer_t a = {idn_bytes_str("HS_SECKEY"),
				    idn_bytes_str("0.NA/20.501"), 310,
				    idn_bytes(v + 36, 16)};
	idn_challenge_answer_encode(&w, &a);
	answer_t x = {0};
	x.c = calloc(1, sizeof(*x.c) + 2);
	assert_non_null(x.c);
	memcpy(x.c->nonce, v, 16);
	memcpy(x.c->digest, v + 16, 20);
	x.c->frame[0] = 2;
	x.c->frame[1] = 0;
	x.am.rest = idn_bytes(body, w.len);
	assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA1), IDN_RC_AUTH_ERROR);
	assert_non_null(strstr(x.why, "min-auth-hash (sha1)"));
	assert_int_equal(check(f, &x, IDN_HASH_RANK_MD5), 0);

	/* a DSA signature over MD5 (HANDLE.NET's MD5 hash code) likewise */
	size_t kl;
	uint8_t *kf = load_bin("keys/cnri-priv-dsa.bin", &kl);
	EVP_PKEY *k = NULL;
	assert_int_equal(
		idn_cnrikey_decode(idn_bytes(kf, kl), idn_bytes(NULL, 0), &k),
		0);
	idn_bytes_t parts[2] = {idn_bytes(x.c->nonce, 16),
				idn_bytes(x.c->digest, 20)};
	uint8_t sig[256], sigf[300];
	size_t sl;
	assert_int_equal(
		idn_sig_sign(k, "MD5", parts, 2, sig, sizeof(sig), &sl), 0);
	idn_wr_t sw;
	idn_wr_init(&sw, sigf, sizeof(sigf));
	idn_sig_encode(&sw, idn_bytes_str("MD5"), idn_bytes(sig, sl));
	idn_wr_init(&w, body, sizeof(body));
	idn_challenge_answer_t pa = {idn_bytes_str("HS_PUBKEY"),
				     idn_bytes_str("0.NA/20.502"), 300,
				     idn_bytes(sigf, sw.len)};
	idn_challenge_answer_encode(&w, &pa);
	x.am.rest = idn_bytes(body, w.len);
	assert_int_equal(check(f, &x, IDN_HASH_RANK_SHA1), IDN_RC_AUTH_ERROR);
	assert_int_equal(check(f, &x, IDN_HASH_RANK_MD5), 0);
	EVP_PKEY_free(k);
	free(kf);
	free(x.c);
	free(v);
}

/* ---- what the node answers ---- */

/* Runs a vector's request through the node as an anonymous UDP client. */
static void call_vector(nfx_t *f, const char *name)
{
	size_t len;
	uint8_t *req = load_hex(name, &len);
	caller_t anon = nfx_anon(TRANSPORT_UDP);
	assert_int_equal(nfx_call(f, req, len, &anon, 0), 1);
	free(req);
}

/* CNRI answers 2.0 in kind and 2.12 and 3.0 in its own 2.5; idnode in
 * kind and in its own 2.10. A message flagged compressed is read as it
 * stands, as CNRI reads it. */
static void versions_and_compressed_flag(void **state)
{
	nfx_t *f = *state;
	static const struct {
		const char *req, *resp;
		uint8_t cnri, ours;
	} v[] = {{"nego/version-2.0-request.hex",
		  "nego/version-2.0-response.hex", 0, 0},
		 {"nego/version-2.12-request.hex",
		  "nego/version-2.12-response.hex", 5, IDN_PROTO_MINOR},
		 {"nego/version-3.0-request.hex",
		  "nego/version-3.0-response.hex", 5, IDN_PROTO_MINOR},
		 {"nego/compressed-flag-request.hex",
		  "nego/compressed-flag-response.hex", 5, 5}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len;
		uint8_t *resp = load_hex(v[i].resp, &len);
		idn_env_t env;
		idn_msg_t m;
		assert_int_equal(decode_full(resp, len, &env, &m), 0);
		assert_int_equal(env.major, 2);
		assert_int_equal(env.minor, v[i].cnri);
		assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
		free(resp);
		call_vector(f, v[i].req);
		assert_int_equal(f->env.major, 2);
		assert_int_equal(f->env.minor, v[i].ours);
		assert_int_equal(f->env.flags, 0);
		/* answered (20.500 is not homed here), not refused */
		assert_int_equal(f->msg.hdr.op, IDN_OC_RESOLUTION);
		assert_true(f->msg.hdr.rc != IDN_RC_PROTOCOL_ERROR &&
			    f->msg.hdr.rc != IDN_RC_NOT_SUPPORTED);
	}
}

/* The node's site lists its interfaces as CNRI lists its own (TCP for
 * both, UDP for queries) and carries the site key, made 0600 in the data
 * directory. */
static void site_info_as_cnri(void **state)
{
	nfx_t *f = *state;
	size_t len;
	uint8_t *cnri = load_hex("get-site-info-response.hex", &len);
	idn_env_t env;
	idn_msg_t m;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	assert_int_equal(decode_full(cnri, len, &env, &m), 0);
	idn_hs_site_t theirs, ours;
	assert_int_equal(idn_hs_site_decode(m.rest, &a, &theirs), 0);
	uint8_t frame[256];
	size_t fl = nfx_frame(frame, sizeof(frame), IDN_OC_GET_SITE_INFO, 0, 0,
			      NULL, 0);
	caller_t anon = nfx_anon(TRANSPORT_UDP);
	assert_int_equal(nfx_call(f, frame, fl, &anon, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(idn_hs_site_decode(f->msg.rest, &a, &ours), 0);
	assert_int_equal(ours.nservers, 1);
	const idn_hs_server_t *t = &theirs.servers[0], *o = &ours.servers[0];
	/* the fixture serves no HTTP: CNRI's first two interfaces */
	assert_int_equal(o->nifaces, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(o->ifaces[i].proto, t->ifaces[i].proto);
		assert_int_equal(o->ifaces[i].type, t->ifaces[i].type);
	}
	assert_int_equal(o->ifaces[1].type, IDN_IF_QUERY);
	EVP_PKEY *k = NULL;
	assert_int_equal(idn_pubkey_load(o->pubkey, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, f->node.key), 1);
	EVP_PKEY_free(k);
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", f->conf.data, IDENTITY_SITE_KEY);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(cnri);
	idn_arena_free(&a);
}

/* A certified request gets a reply signed with what its client checks:
 * SHA-1 for 2.5, SHA-256 for 2.10 or when the floor is sha256. */
static void signed_reply_hash_follows_peer(void **state)
{
	nfx_t *f = *state;
	static const struct {
		uint8_t minor;
		int floor;
		const char *hash;
	} c[] = {{5, IDN_HASH_RANK_SHA1, "SHA1"},
		 {0, IDN_HASH_RANK_SHA1, "SHA1"},
		 {10, IDN_HASH_RANK_SHA1, "SHA256"},
		 {5, IDN_HASH_RANK_SHA256, "SHA256"}};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t body[64], frame[256];
		idn_wr_t w;
		idn_wr_init(&w, body, sizeof(body));
		idn_wr_str(&w, idn_bytes_str("0.NA/20.500"));
		idn_wr_u32(&w, 0);
		idn_wr_u32(&w, 0);
		size_t fl = nfx_frame(frame, sizeof(frame), IDN_OC_RESOLUTION,
				      IDN_OF_CERT, 0, body, w.len);
		frame[1] = c[i].minor;
		f->node.min_hash = c[i].floor;
		caller_t anon = nfx_anon(TRANSPORT_UDP);
		assert_int_equal(nfx_call(f, frame, fl, &anon, 0), 1);
		f->node.min_hash = IDN_HASH_RANK_SHA1;
		assert_true(f->msg.has_cred);
		assert_true(f->msg.hdr.flags & IDN_OF_CERT);
		idn_bytes_t hash, sig;
		assert_int_equal(
			idn_sig_decode(f->msg.cred.signed_data, &hash, &sig),
			0);
		assert_true(idn_bytes_eq_str(hash, c[i].hash));
		EVP_PKEY *k = NULL;
		assert_int_equal(idn_pubkey_load(idn_bytes(f->node.pubkey,
							   f->node.pubkey_len),
						 &k),
				 0);
		assert_int_equal(
			idn_sig_verify(k, hash, &f->msg.signed_part, 1, sig),
			0);
		EVP_PKEY_free(k);
	}
}

/* HOME_NA and UNHOME_NA by a server admin without any HS_ADMIN; by
 * another admin refused as before. */
static void server_admin_homes(void **state)
{
	nfx_t *f = *state;
	uint8_t body[64], frame[256];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_wr_str(&w, idn_bytes_str("0.NA/20.777"));
	size_t fl =
		nfx_frame(frame, sizeof(frame), IDN_OC_HOME, 0, 0, body, w.len);
	caller_t adm = nfx_admin("0.NA/20.500", 300);
	assert_int_equal(nfx_call(f, frame, fl, &adm, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_INSUFFICIENT_PERMS);
	snprintf(f->conf.server_admins[0], sizeof(f->conf.server_admins[0]),
		 "%s", "0.NA/20.500:300");
	f->conf.nserver_admins = 1;
	assert_int_equal(identity_check(&f->conf), IDN_HASH_RANK_SHA1);
	caller_t other = nfx_admin("0.NA/20.500", 301);
	assert_int_equal(nfx_call(f, frame, fl, &other, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_INSUFFICIENT_PERMS);
	assert_int_equal(nfx_call(f, frame, fl, &adm, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	fl = nfx_frame(frame, sizeof(frame), IDN_OC_UNHOME, 0, 0, body, w.len);
	assert_int_equal(nfx_call(f, frame, fl, &adm, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	/* server admins do not reach beyond node-level ops */
	assert_false(identity_is_server_admin(
		&f->conf, idn_bytes_str("0.NA/20.50"), 300));
	snprintf(f->conf.server_admins[0], sizeof(f->conf.server_admins[0]),
		 "%s", "0.NA/20.500");
	assert_int_equal(identity_check(&f->conf), -1);
	f->conf.nserver_admins = 0;
	snprintf(f->conf.min_auth_hash, sizeof(f->conf.min_auth_hash), "%s",
		 "sha384");
	assert_int_equal(identity_check(&f->conf), -1);
	snprintf(f->conf.min_auth_hash, sizeof(f->conf.min_auth_hash), "%s",
		 "sha1");
}

/* A HANDLE.NET server's plain key file as --server-key: the site keeps
 * its key, published byte for byte as HANDLE.NET publishes it. */
static void cnri_server_key(void **state)
{
	nfx_t *f = *state;
	static const char *const names[] = {"dsa", "rsa"};
	for (int i = 0; i < 2; i++) {
		char priv[1024], pub[64];
		snprintf(priv, sizeof(priv), "%s/keys/cnri-priv-%s.bin",
			 vec_dir(), names[i]);
		snprintf(pub, sizeof(pub), "keys/cnri-pub-%s.bin", names[i]);
		snprintf(f->conf.server_key, sizeof(f->conf.server_key), "%s",
			 priv);
		EVP_PKEY *k = identity_site_key(&f->conf);
		assert_non_null(k);
		uint8_t out[2048];
		idn_wr_t w;
		idn_wr_init(&w, out, sizeof(out));
		assert_int_equal(idn_pubkey_encode(k, &w), 0);
		size_t len;
		uint8_t *want = load_bin(pub, &len);
		assert_int_equal(w.len, len);
		assert_memory_equal(out, want, len);
		free(want);
		EVP_PKEY_free(k);
	}
	/* an encrypted one needs a passphrase the daemon has not got */
	snprintf(f->conf.server_key, sizeof(f->conf.server_key),
		 "%s/keys/cnri-priv-dsa-enc.bin", vec_dir());
	assert_null(identity_site_key(&f->conf));
	f->conf.server_key[0] = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_ranks_and_peers),
		cmocka_unit_test(md5_and_sha1_signatures),
		cmocka_unit_test_setup_teardown(cnri_sha1_signatures, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(cnri_seckey_sha1_form, setup,
						nfx_teardown),
		cmocka_unit_test(cnri_seckey_md5_before_2_1),
		cmocka_unit_test_setup_teardown(md5_needs_the_md5_floor, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(versions_and_compressed_flag,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(site_info_as_cnri, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(signed_reply_hash_follows_peer,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(server_admin_homes, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(cnri_server_key, setup,
						nfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
