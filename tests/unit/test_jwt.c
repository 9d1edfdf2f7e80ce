/* Compact JWS with RS256 and SM2 (jwt.h), and the HS_CERT / HS_SIGNATURE
 * layer above it (trust.h): encoding, signing, verifying, tampering,
 * validity times, malformed tokens, scopes, per-value digests and record
 * verification against an in-memory set of records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>
#include <strings.h>

#include "error.h"
#include "jwt.h"
#include "trust.h"

static EVP_PKEY *rsa, *rsa2, *sm2, *sm2b;

static int setup(void **state)
{
	(void)state;
	rsa = EVP_RSA_gen(2048);
	rsa2 = EVP_RSA_gen(2048);
	sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	sm2b = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	return rsa && rsa2 && sm2 && sm2b ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(sm2);
	EVP_PKEY_free(sm2b);
	return 0;
}

/* ---- base64url ---- */

static void b64url_vectors(void **state)
{
	(void)state;
	static const char *const in[] = {"",	 "f",	  "fo",	   "foo",
					 "foob", "fooba", "foobar"};
	static const char *const out[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	for (int i = 0; i < 7; i++) {
		char *s = idn_b64url_encode((const uint8_t *)in[i],
					    strlen(in[i]));
		assert_string_equal(s, out[i]);
		uint8_t *d;
		size_t n;
		assert_int_equal(idn_b64url_decode(s, strlen(s), &d, &n), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(d, in[i], n);
		free(d);
		free(s);
	}
	/* the two characters that differ from base64 */
	static const uint8_t bin[] = {0xfb, 0xff, 0xbf};
	char *s = idn_b64url_encode(bin, 3);
	assert_string_equal(s, "-_-_");
	free(s);
}

static void b64url_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zg==", /* padding */
		"Z",	/* 6 bits: no byte */
		"Zh",	/* leftover bits not zero */
		"Zm+v", /* base64, not base64url */
		"Zm/v", "Zm9 v", "Zm9v\n", "Zm\x80v",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *d = NULL;
		size_t n;
		assert_int_equal(
			idn_b64url_decode(bad[i], strlen(bad[i]), &d, &n),
			IDN_EMALFORMED);
		assert_null(d);
	}
}

/* ---- signing and verifying ---- */

static char *sign_claims(EVP_PKEY *key, long long nbf, long long exp)
{
	json_t *c = json_pack("{s:s,s:s,s:I,s:I}", "iss", "300:0.NA/88.118",
			      "sub", "88.118.8/x", "nbf", nbf, "exp", exp);
	char *tok = NULL;
	assert_int_equal(idn_jwt_sign(c, key, &tok), 0);
	json_decref(c);
	return tok;
}

static void roundtrip(EVP_PKEY *key, EVP_PKEY *other, const char *alg)
{
	char *tok = sign_claims(key, 1000, 2000);
	idn_jwt_t t;
	assert_int_equal(idn_jwt_decode(tok, strlen(tok), &t), 0);
	assert_string_equal(idn_jwt_alg_name(t.alg), alg);
	assert_string_equal(json_string_value(json_object_get(t.header, "alg")),
			    alg);
	assert_string_equal(json_string_value(json_object_get(t.claims, "sub")),
			    "88.118.8/x");
	assert_int_equal(json_integer_value(json_object_get(t.claims, "exp")),
			 2000);
	assert_int_equal(idn_jwt_verify(&t, key), 0);
	assert_int_equal(idn_jwt_verify(&t, other), IDN_EAUTH);
	/* a key of the other algorithm never verifies */
	assert_int_equal(idn_jwt_verify(&t, key == rsa ? sm2 : rsa), IDN_EAUTH);
	if (t.alg == IDN_JWT_SM2)
		assert_int_equal(t.sig_len, 64);
	else
		assert_int_equal(t.sig_len, 256);
	idn_jwt_free(&t);
	free(tok);
}

static void rs256_roundtrip(void **state)
{
	(void)state;
	roundtrip(rsa, rsa2, "RS256");
	assert_string_equal(idn_jwt_digest_name(IDN_JWT_RS256), "SHA-256");
}

static void sm2_roundtrip(void **state)
{
	(void)state;
	roundtrip(sm2, sm2b, "SM2");
	assert_string_equal(idn_jwt_digest_name(IDN_JWT_SM2), "SM3");
}

/* Replaces segment seg (0 header, 1 payload, 2 signature) of tok. */
static char *replace_seg(const char *tok, int seg, const char *with)
{
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	char *out = malloc(strlen(tok) + strlen(with) + 4);
	if (seg == 0)
		sprintf(out, "%s%s", with, d1);
	else if (seg == 1)
		sprintf(out, "%.*s.%s%s", (int)(d1 - tok), tok, with, d2);
	else
		sprintf(out, "%.*s.%s", (int)(d2 - tok), tok, with);
	return out;
}

static char *b64j(const char *json)
{
	return idn_b64url_encode((const uint8_t *)json, strlen(json));
}

static void tamper(EVP_PKEY *key, const char *alg)
{
	char *tok = sign_claims(key, 1000, 2000);
	char hdr[80];
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"x\":1}",
		 alg);
	char *h = b64j(hdr);
	char *p = b64j("{\"iss\":\"300:0.NA/88.118\",\"sub\":\"88.118.8/y\","
		       "\"nbf\":1000,\"exp\":2000}");
	char *bad[3] = {replace_seg(tok, 0, h), replace_seg(tok, 1, p), NULL};
	/* flip one bit of the signature's first byte */
	idn_jwt_t t;
	assert_int_equal(idn_jwt_decode(tok, strlen(tok), &t), 0);
	t.sig[0] ^= 1;
	char *s = idn_b64url_encode(t.sig, t.sig_len);
	idn_jwt_free(&t);
	bad[2] = replace_seg(tok, 2, s);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(idn_jwt_decode(bad[i], strlen(bad[i]), &t), 0);
		assert_int_equal(idn_jwt_verify(&t, key), IDN_EAUTH);
		idn_jwt_free(&t);
		free(bad[i]);
	}
	/* the untouched token still verifies */
	assert_int_equal(idn_jwt_decode(tok, strlen(tok), &t), 0);
	assert_int_equal(idn_jwt_verify(&t, key), 0);
	idn_jwt_free(&t);
	free(s);
	free(h);
	free(p);
	free(tok);
}

static void tampering_fails_rs256(void **state)
{
	(void)state;
	tamper(rsa, "RS256");
}

static void tampering_fails_sm2(void **state)
{
	(void)state;
	tamper(sm2, "SM2");
}

static void validity_times(void **state)
{
	(void)state;
	char *tok = sign_claims(sm2, 1000, 2000);
	idn_jwt_t t;
	char why[100];
	assert_int_equal(idn_jwt_decode(tok, strlen(tok), &t), 0);
	assert_int_equal(idn_jwt_check_time(&t, 1500, 0, why, sizeof(why)), 0);
	assert_int_equal(idn_jwt_check_time(&t, 2001, 0, why, sizeof(why)),
			 IDN_EAUTH);
	assert_string_equal(why, "expired at 1970-01-01T00:33:20Z");
	assert_int_equal(idn_jwt_check_time(&t, 999, 0, why, sizeof(why)),
			 IDN_EAUTH);
	assert_string_equal(why, "not valid before 1970-01-01T00:16:40Z");
	/* clock skew allowance */
	assert_int_equal(idn_jwt_check_time(&t, 2060, 60, why, sizeof(why)), 0);
	assert_int_equal(idn_jwt_check_time(&t, 2061, 60, why, sizeof(why)),
			 IDN_EAUTH);
	idn_jwt_free(&t);
	free(tok);
	/* no exp at all */
	json_t *c = json_pack("{s:s}", "iss", "x");
	assert_int_equal(idn_jwt_sign(c, rsa, &tok), 0);
	json_decref(c);
	assert_int_equal(idn_jwt_decode(tok, strlen(tok), &t), 0);
	assert_int_equal(idn_jwt_check_time(&t, 5, 0, why, sizeof(why)),
			 IDN_EAUTH);
	assert_string_equal(why, "no exp claim");
	idn_jwt_free(&t);
	free(tok);
}

static void malformed_tokens(void **state)
{
	(void)state;
	char *ok = b64j("{\"alg\":\"RS256\"}");
	char *pl = b64j("{\"a\":1}");
	char buf[1024];
	struct {
		const char *hdr, *payload, *sig;
		int err;
	} cases[] = {
		{"{\"alg\":\"none\"}", "{}", "", IDN_EUNSUPPORTED},
		{"{\"alg\":\"HS256\"}", "{}", "AAAA", IDN_EUNSUPPORTED},
		{"{\"alg\":\"RS256\",\"crit\":[\"x\"]}", "{}", "AAAA",
		 IDN_EUNSUPPORTED},
		{"{\"typ\":\"JWT\"}", "{}", "AAAA", IDN_EMALFORMED},
		{"{\"alg\":5}", "{}", "AAAA", IDN_EMALFORMED},
		{"[\"alg\"]", "{}", "AAAA", IDN_EMALFORMED},
		{"{\"alg\":\"RS256\"", "{}", "AAAA", IDN_EMALFORMED},
		{"{\"alg\":\"RS256\"}", "\"str\"", "AAAA", IDN_EMALFORMED},
		{"{\"alg\":\"RS256\"}", "{\"a\":1,\"a\":2}", "AAAA",
		 IDN_EMALFORMED},
		{"{\"alg\":\"RS256\"}", "{}", "A", IDN_EMALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h = b64j(cases[i].hdr), *p = b64j(cases[i].payload);
		snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, cases[i].sig);
		idn_jwt_t t;
		int err = idn_jwt_decode(buf, strlen(buf), &t);
		if (err != cases[i].err)
			print_message("case %zu: %s\n", i, buf);
		assert_int_equal(err, cases[i].err);
		assert_null(t.claims);
		free(h);
		free(p);
	}
	/* segment counts, empty and non-base64url segments */
	const char *shapes[] = {"", ".", "..", "...", "abc", "a.b"};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		idn_jwt_t t;
		assert_int_equal(
			idn_jwt_decode(shapes[i], strlen(shapes[i]), &t),
			IDN_EMALFORMED);
	}
	snprintf(buf, sizeof(buf), "%s.%s.AAAA.AAAA", ok, pl);
	idn_jwt_t t;
	assert_int_equal(idn_jwt_decode(buf, strlen(buf), &t), IDN_EMALFORMED);
	snprintf(buf, sizeof(buf), "%s.%s.AA*A", ok, pl);
	assert_int_equal(idn_jwt_decode(buf, strlen(buf), &t), IDN_EMALFORMED);
	snprintf(buf, sizeof(buf), "%s.%s.AAAA", ok, pl);
	assert_int_equal(idn_jwt_decode(buf, strlen(buf), &t), 0);
	/* an SM2 token whose signature is not 64 bytes, a short RSA one */
	assert_int_equal(idn_jwt_verify(&t, rsa), IDN_EAUTH);
	idn_jwt_free(&t);
	/* an embedded NUL ends nothing: it is not base64url */
	char nul[] = "eyJ\0bGciOiJSUzI1NiJ9.e30.AAAA";
	assert_int_equal(idn_jwt_decode(nul, sizeof(nul) - 1, &t),
			 IDN_EMALFORMED);
	/* huge tokens are refused before anything is decoded */
	size_t big = IDN_JWT_MAX + 1;
	char *huge = malloc(big);
	memset(huge, 'A', big);
	huge[100] = '.';
	huge[200] = '.';
	assert_int_equal(idn_jwt_decode(huge, big, &t), IDN_ETOOLONG);
	free(huge);
	free(ok);
	free(pl);
	/* claims must be an object; a DSA-less unsupported key type */
	json_t *arr = json_array();
	char *out = NULL;
	assert_int_equal(idn_jwt_sign(arr, rsa, &out), IDN_EINVAL);
	json_decref(arr);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	json_t *c = json_object();
	assert_int_equal(idn_jwt_sign(c, ec, &out), IDN_EUNSUPPORTED);
	assert_null(out);
	json_decref(c);
	EVP_PKEY_free(ec);
}

/* ---- JWK ---- */

static void jwk_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *keys[] = {rsa, sm2};
	for (int i = 0; i < 2; i++) {
		json_t *j;
		assert_int_equal(idn_jwk_from_key(keys[i], &j), 0);
		EVP_PKEY *back;
		assert_int_equal(idn_jwk_to_key(j, &back), 0);
		assert_int_equal(EVP_PKEY_eq(back, keys[i]), 1);
		assert_int_equal(idn_jwt_key_alg(back),
				 idn_jwt_key_alg(keys[i]));
		/* the recovered public key verifies the private key's token */
		char *tok = sign_claims(keys[i], 1, 2);
		idn_jwt_t t;
		assert_int_equal(idn_jwt_decode(tok, strlen(tok), &t), 0);
		assert_int_equal(idn_jwt_verify(&t, back), 0);
		idn_jwt_free(&t);
		free(tok);
		EVP_PKEY_free(back);
		json_decref(j);
	}
	json_t *j;
	assert_int_equal(idn_jwk_from_key(sm2, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "crv")),
			    "SM2");
	assert_string_equal(json_string_value(json_object_get(j, "kty")), "EC");
	EVP_PKEY *k;
	/* a point not on the curve */
	json_object_set_new(
		j, "y",
		json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_int_equal(idn_jwk_to_key(j, &k), IDN_EMALFORMED);
	/* a coordinate of the wrong length */
	json_object_set_new(j, "y", json_string("AAAA"));
	assert_int_equal(idn_jwk_to_key(j, &k), IDN_EMALFORMED);
	json_object_set_new(j, "crv", json_string("P-256"));
	assert_int_equal(idn_jwk_to_key(j, &k), IDN_EUNSUPPORTED);
	json_object_set_new(j, "kty", json_string("OKP"));
	assert_int_equal(idn_jwk_to_key(j, &k), IDN_EUNSUPPORTED);
	json_object_del(j, "kty");
	assert_int_equal(idn_jwk_to_key(j, &k), IDN_EMALFORMED);
	json_decref(j);
	/* RSA with a 512-bit modulus is not accepted */
	j = json_pack(
		"{s:s,s:s,s:s}", "kty", "RSA", "e", "AQAB", "n",
		"0Z3VS5JJcds3xfn_ygWyF8PbnGy0AHB7MqSfY1vZPy6MZgEoMyFVBDiA7G"
		"tDIGx8RJZ0OyWZQ1DvgGHfQ5Mo3w");
	assert_int_equal(idn_jwk_to_key(j, &k), IDN_EUNSUPPORTED);
	json_decref(j);
}

/* ---- scope ---- */

static void perms_scope(void **state)
{
	(void)state;
	json_t *p;
	assert_int_equal(idn_trust_perms_parse("derivedPrefixes:88.118", &p),
			 0);
	assert_true(idn_trust_perms_cover_id(p, "88.118/a"));
	assert_true(idn_trust_perms_cover_id(p, "88.118.8/a"));
	assert_true(idn_trust_perms_cover_id(p, "0.NA/88.118.8"));
	assert_false(idn_trust_perms_cover_id(p, "88.1180/a"));
	assert_false(idn_trust_perms_cover_id(p, "88.11/a"));
	assert_false(idn_trust_perms_cover_id(p, "0.NA/88"));
	json_t *q;
	assert_int_equal(
		idn_trust_perms_parse("handlesUnderThisPrefix:0.NA/88.118.8,"
				      "thisHandle:88.119/x",
				      &q),
		0);
	assert_true(idn_trust_perms_cover_id(q, "88.118.8/part-1"));
	assert_false(idn_trust_perms_cover_id(q, "88.118.8.1/part-1"));
	assert_true(idn_trust_perms_cover_id(q, "88.119/X"));
	assert_false(idn_trust_perms_cover_id(q, "88.119/y"));
	/* q's second entry lies outside p */
	assert_false(idn_trust_perms_cover(p, q));
	json_t *r;
	assert_int_equal(
		idn_trust_perms_parse("handlesUnderThisPrefix:88.118.8,"
				      "derivedPrefixes:88.118.9",
				      &r),
		0);
	assert_true(idn_trust_perms_cover(p, r));
	assert_false(idn_trust_perms_cover(r, p));
	assert_true(idn_trust_perms_cover(NULL, p));
	json_t *e;
	assert_int_equal(idn_trust_perms_parse("everything", &e), 0);
	assert_false(idn_trust_perms_cover(p, e));
	assert_true(idn_trust_perms_cover(e, q));
	const char *bad[] = {
		"",	  "thisHandle",		 "thisHandle:",
		"all:88", "derivedPrefixes:88,", ",derivedPrefixes:88"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *x = NULL;
		assert_int_equal(idn_trust_perms_parse(bad[i], &x), IDN_EINVAL);
		assert_null(x);
	}
	json_decref(p);
	json_decref(q);
	json_decref(r);
	json_decref(e);
	uint32_t idx;
	const char *id;
	assert_int_equal(idn_trust_ref_parse("300:0.NA/88.118", &idx, &id), 0);
	assert_int_equal(idx, 300);
	assert_string_equal(id, "0.NA/88.118");
	assert_int_equal(idn_trust_ref_parse("0.NA/88:300", &idx, &id),
			 IDN_EINVAL);
	assert_int_equal(idn_trust_ref_parse("99999999999:x", &idx, &id),
			 IDN_EINVAL);
	assert_int_equal(idn_trust_ref_parse("300:", &idx, &id), IDN_EINVAL);
	assert_true(idn_trust_ref_eq("300:0.na/88.118", "300:0.NA/88.118"));
	assert_false(idn_trust_ref_eq("301:0.NA/88.118", "300:0.NA/88.118"));
}

/* ---- per-value digests and whole records ---- */

static idn_value_t val(uint32_t index, const char *type, const char *data,
		       uint8_t perms)
{
	idn_value_t v = {index,
			 1700000000,
			 0,
			 86400,
			 perms,
			 idn_bytes_str(type),
			 idn_bytes_str(data),
			 0,
			 NULL};
	return v;
}

static void value_digests(void **state)
{
	(void)state;
	idn_value_t a = val(1, "URL", "https://example.com/1", 0xe);
	uint8_t d1[32], d2[32];
	assert_int_equal(idn_trust_value_digest(&a, "SHA-256", d1), 0);
	/* the timestamp is not signed: the node sets it */
	a.timestamp = 5;
	assert_int_equal(idn_trust_value_digest(&a, "SHA-256", d2), 0);
	assert_memory_equal(d1, d2, 32);
	/* everything else is */
	idn_value_t b = a;
	b.data = idn_bytes_str("https://example.com/2");
	assert_int_equal(idn_trust_value_digest(&b, "SHA-256", d2), 0);
	assert_memory_not_equal(d1, d2, 32);
	b = a;
	b.perms = 0xc;
	assert_int_equal(idn_trust_value_digest(&b, "SHA-256", d2), 0);
	assert_memory_not_equal(d1, d2, 32);
	b = a;
	b.ttl = 60;
	assert_int_equal(idn_trust_value_digest(&b, "SHA-256", d2), 0);
	assert_memory_not_equal(d1, d2, 32);
	assert_int_equal(idn_trust_value_digest(&a, "SM3", d2), 0);
	assert_memory_not_equal(d1, d2, 32);
	assert_int_equal(idn_trust_value_digest(&a, "MD5", d2),
			 IDN_EUNSUPPORTED);
	/* SM3 of "abc" (GB/T 32905 example 1) */
	assert_int_equal(idn_jwt_digest("SM3", "abc", 3, d2), 0);
	static const uint8_t sm3abc[32] = {
		0x66, 0xc7, 0xf0, 0xf4, 0x62, 0xee, 0xed, 0xd9,
		0xd1, 0xf2, 0xd4, 0x6b, 0xdc, 0x10, 0xe4, 0xe2,
		0x41, 0x67, 0xc4, 0x87, 0x5c, 0xf2, 0xf7, 0xa2,
		0x29, 0x7d, 0xa0, 0x2b, 0x8f, 0x4b, 0xa8, 0xe0};
	assert_memory_equal(d2, sm3abc, 32);
}

/* An in-memory resolver: record name -> values. */
typedef struct {
	const char *id;
	idn_value_t v[4];
	uint32_t n;
} rec_t;

static rec_t recs[4];
static int nrecs;

static int fetch(void *ctx, const char *id, idn_arena_t *a, idn_value_t **out,
		 uint32_t *n)
{
	(void)ctx;
	(void)a;
	for (int i = 0; i < nrecs; i++)
		if (!strcasecmp(recs[i].id, id)) {
			*out = recs[i].v;
			*n = recs[i].n;
			return 0;
		}
	return IDN_ENOTFOUND;
}

static char *cert(const char *iss, const char *sub, EVP_PKEY *subj,
		  const char *perms, EVP_PKEY *by, long long exp)
{
	json_t *p;
	assert_int_equal(idn_trust_perms_parse(perms, &p), 0);
	idn_cert_req_t q = {iss, sub, subj, p, 100, 100, exp};
	char *tok;
	assert_int_equal(idn_trust_issue_cert(&q, by, &tok), 0);
	json_decref(p);
	return tok;
}

static void record_verification(void **state)
{
	(void)state;
	/* root (rsa2) -> 300:0.NA/88.118 (sm2b) -> 300:0.NA/88.118.8 (rsa) */
	char *c1 = cert("300:0.NA/88", "300:0.NA/88.118", sm2b,
			"derivedPrefixes:88.118", rsa2, 10000);
	char *c2 = cert("300:0.NA/88.118", "300:0.NA/88.118.8", rsa,
			"handlesUnderThisPrefix:88.118.8", sm2b, 10000);
	nrecs = 2;
	recs[0] = (rec_t){"0.NA/88.118", {val(400, "HS_CERT", c1, 0xe)}, 1};
	recs[1] = (rec_t){"0.NA/88.118.8", {val(400, "HS_CERT", c2, 0xe)}, 1};
	idn_value_t v[4] = {val(1, "URL", "https://example.com/1", 0xe),
			    val(2, "EMAIL", "qa@example.com", 0xc)};
	char *sig;
	assert_int_equal(idn_trust_sign_record("300:0.NA/88.118.8",
					       "88.118.8/p1", v, 2, 400, 100,
					       100, 10000, rsa,
					       IDN_JWT_FORM_IDNODE, &sig),
			 0);
	v[2] = val(400, "HS_SIGNATURE", sig, 0xe);
	idn_trust_t t = {rsa2, fetch, NULL, 5000, 0};
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_trust_report_t rep;
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", v, 3, &a, &rep), 0);
	if (!rep.ok)
		print_message("why: %s\n", rep.sigs[0].why);
	assert_true(rep.ok);
	assert_int_equal(rep.nsigs, 1);
	assert_int_equal(rep.sigs[0].nlinks, 2);
	assert_int_equal(rep.verified, 2);
	assert_int_equal(rep.withheld, 0);
	/* the non-public value withheld */
	idn_value_t pub[2] = {v[0], v[2]};
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", pub, 2, &a, &rep),
		0);
	assert_true(rep.ok);
	assert_int_equal(rep.verified, 1);
	assert_int_equal(rep.withheld, 1);
	assert_int_equal(rep.values[1].index, 2);
	assert_int_equal(rep.values[1].verdict, IDN_TV_WITHHELD);
	/* a changed value, an added one */
	v[0].data = idn_bytes_str("https://evil.example.com/1");
	v[3] = val(3, "URL", "x", 0xe);
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", v, 4, &a, &rep), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.values[0].verdict, IDN_TV_MISMATCH);
	assert_int_equal(rep.values[2].verdict, IDN_TV_UNSIGNED);
	v[0] = val(1, "URL", "https://example.com/1", 0xe);
	/* the signature on another record */
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p2", v, 3, &a, &rep), 0);
	assert_false(rep.ok);
	assert_string_equal(rep.sigs[0].why,
			    "signs 88.118.8/p1, not 88.118.8/p2");
	/* after the signature and the certificates expired */
	t.now = 20000;
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", v, 3, &a, &rep), 0);
	assert_false(rep.ok);
	assert_string_equal(rep.sigs[0].why,
			    "signature expired at 1970-01-01T02:46:40Z");
	t.now = 5000;
	/* another trust root */
	t.root = sm2;
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", v, 3, &a, &rep), 0);
	assert_false(rep.ok);
	t.root = rsa2;
	/* an enterprise certificate wider than its issuer's */
	char *wide = cert("300:0.NA/88.118", "300:0.NA/88.118.8", rsa,
			  "derivedPrefixes:88", sm2b, 10000);
	recs[1].v[0] = val(400, "HS_CERT", wide, 0xe);
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", v, 3, &a, &rep), 0);
	assert_false(rep.ok);
	assert_non_null(
		strstr(rep.sigs[0].why, "perms exceed those of its issuer"));
	/* no signature at all */
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", v, 2, &a, &rep), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.nsigs, 0);
	idn_arena_free(&a);
	free(wide);
	free(c1);
	free(c2);
	free(sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_vectors),
		cmocka_unit_test(b64url_rejects),
		cmocka_unit_test(rs256_roundtrip),
		cmocka_unit_test(sm2_roundtrip),
		cmocka_unit_test(tampering_fails_rs256),
		cmocka_unit_test(tampering_fails_sm2),
		cmocka_unit_test(validity_times),
		cmocka_unit_test(malformed_tokens),
		cmocka_unit_test(jwk_roundtrip),
		cmocka_unit_test(perms_scope),
		cmocka_unit_test(value_digests),
		cmocka_unit_test(record_verification),
	};
	return cmocka_run_group_tests_name("jwt", tests, setup, teardown);
}
