/* Trust tokens in the national form (jwt.h, trust.h; docs/trust.md): chains,
 * keys and record signatures made by the national Java SDK
 * (tests/vectors/idis-trust-*.txt, see tests/vectors/INDEX.md) verified,
 * idnode's own national-form tokens checked byte by byte, tokens in
 * idnode's former form still verified, tampered digests refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "b64.h"
#include "error.h"
#include "hex.h"
#include "jwt.h"
#include "trust.h"
#include "value.h"
#include "vector_fixture.h"
#include "wire.h"

/* ---- an in-memory resolver: record name -> values ---- */

typedef struct {
	char id[64];
	idn_value_t v[6];
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

static idn_value_t val(uint32_t index, const char *type, const char *data)
{
	idn_value_t v = {index,
			 1700000000,
			 0,
			 86400,
			 0xe,
			 idn_bytes_str(type),
			 idn_bytes_str(data),
			 0,
			 NULL};
	return v;
}

static rec_t *add_rec(const char *id)
{
	rec_t *r = &recs[nrecs++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	return r;
}

/* The JSON of a token's first (which 0) or second segment. */
static char *segment(const char *tok, int which)
{
	const char *p = tok;
	if (which == 1)
		p = strchr(tok, '.') + 1;
	size_t n = strcspn(p, ".");
	uint8_t *raw;
	size_t len;
	assert_int_equal(idn_b64url_decode(p, n, &raw, &len), 0);
	char *s = malloc(len + 1);
	memcpy(s, raw, len);
	s[len] = 0;
	free(raw);
	return s;
}

/* ---- the SDK's fixtures ---- */

typedef struct {
	char *alg, *root, *ent, *rec, *root_pub, *root_cert, *ent_cert, *sig;
	long long now;
	char *values[4];
	int nvalues;
	idn_arena_t a;
} sdk_t;

static char *dup_line(const char *s)
{
	size_t n = strcspn(s, "\n");
	char *d = malloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* Reads tests/vectors/NAME: "KEY VALUE" lines written by
 * tests/interop/idis/TrustProbe.java make. */
static void sdk_load(const char *name, sdk_t *f)
{
	memset(f, 0, sizeof(*f));
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", vec_dir(), name);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	static char line[16384];
	struct {
		const char *key;
		char **dst;
	} keys[] = {{"ALG ", &f->alg},		 {"ROOT ", &f->root},
		    {"ENT ", &f->ent},		 {"REC ", &f->rec},
		    {"ROOT_PUB ", &f->root_pub}, {"ROOT_CERT ", &f->root_cert},
		    {"ENT_CERT ", &f->ent_cert}, {"SIG ", &f->sig}};
	while (fgets(line, sizeof(line), fp)) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strncmp(line, keys[k].key, strlen(keys[k].key)))
				*keys[k].dst =
					dup_line(line + strlen(keys[k].key));
		if (!strncmp(line, "NOW ", 4))
			f->now = atoll(line + 4);
		if (!strncmp(line, "VALUE ", 6) && f->nvalues < 4)
			f->values[f->nvalues++] = dup_line(line + 6);
	}
	fclose(fp);
	assert_non_null(f->sig);
	assert_non_null(f->root_pub);
	assert_int_equal(f->nvalues, 2);
	idn_arena_init(&f->a, 0);
}

static void sdk_free(sdk_t *f)
{
	char **all[] = {&f->alg,      &f->root,	     &f->ent,	   &f->rec,
			&f->root_pub, &f->root_cert, &f->ent_cert, &f->sig};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(*all[i]);
	for (int i = 0; i < f->nvalues; i++)
		free(f->values[i]);
	idn_arena_free(&f->a);
}

/* The PEM the probe printed on one line with "\n" escapes. */
static EVP_PKEY *pem_pub(const char *one_line)
{
	char *pem = strdup(one_line);
	char *o = pem;
	for (const char *p = one_line; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			*o++ = '\n';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	assert_non_null(k);
	return k;
}

/* The records the SDK's tokens live in: the root's self-issued HS_CERT at
 * ROOT:400, the enterprise's at ENT:400, and REC's values with the
 * HS_SIGNATURE at 400. */
static rec_t *sdk_records(sdk_t *f)
{
	nrecs = 0;
	rec_t *r = add_rec(f->root);
	r->v[r->n++] = val(400, "HS_CERT", f->root_cert);
	r = add_rec(f->ent);
	r->v[r->n++] = val(400, "HS_CERT", f->ent_cert);
	r = add_rec(f->rec);
	for (int i = 0; i < f->nvalues; i++) {
		idn_bytes_t raw;
		assert_int_equal(idn_hex_decode(f->values[i],
						strlen(f->values[i]), &f->a,
						&raw),
				 0);
		idn_rd_t rd;
		idn_rd_init(&rd, raw.p, raw.len);
		idn_value_decode(&rd, &f->a, &r->v[r->n]);
		assert_int_equal(idn_rd_finish(&rd), 0);
		r->v[r->n].timestamp = 1800000000; /* the node's, not signed */
		r->n++;
	}
	r->v[r->n++] = val(400, "HS_SIGNATURE", f->sig);
	return r;
}

static void sdk_chain(const char *file, const char *alg_name)
{
	sdk_t f;
	sdk_load(file, &f);
	rec_t *rec = sdk_records(&f);
	/* the national header: {"alg":ALG} and nothing else */
	char *h = segment(f.sig, 0);
	char want[40];
	snprintf(want, sizeof(want), "{\"alg\":\"%s\"}", alg_name);
	assert_string_equal(h, want);
	free(h);
	idn_trust_t t = {NULL, fetch, NULL, (time_t)f.now, 60};
	EVP_PKEY *root = NULL;
	char why[300] = "";
	/* the trust root named by its handle and index, as the SDK's
	 * trustRootHandle names 88.111.1/0.0 */
	int err = idn_trust_root_at(&t, f.root, 400, &f.a, &root, why,
				    sizeof(why));
	if (err)
		print_message("why: %s\n", why);
	assert_int_equal(err, 0);
	EVP_PKEY *pinned = pem_pub(f.root_pub);
	assert_int_equal(EVP_PKEY_eq(root, pinned), 1);
	t.root = root;
	idn_trust_report_t rep;
	assert_int_equal(
		idn_trust_verify_record(&t, f.rec, rec->v, rec->n, &f.a, &rep),
		0);
	if (!rep.ok)
		print_message("why: %s\n", rep.sigs[0].why);
	assert_true(rep.ok);
	assert_int_equal(rep.verified, 2);
	assert_int_equal(rep.nsigs, 1);
	assert_string_equal(rep.sigs[0].alg, alg_name);
	assert_int_equal(rep.sigs[0].nlinks, 1);
	assert_non_null(strstr(rep.sigs[0].links[0], "[trust root]"));
	/* the same with the root's PEM */
	t.root = pinned;
	assert_int_equal(
		idn_trust_verify_record(&t, f.rec, rec->v, rec->n, &f.a, &rep),
		0);
	assert_true(rep.ok);
	/* a value changed after signing: its digest no longer matches */
	idn_value_t keep = rec->v[0];
	rec->v[0].data = idn_bytes_str("https://evil.example.com/");
	assert_int_equal(
		idn_trust_verify_record(&t, f.rec, rec->v, rec->n, &f.a, &rep),
		0);
	assert_false(rep.ok);
	assert_int_equal(rep.mismatched, 1);
	assert_int_equal(rep.values[0].verdict, IDN_TV_MISMATCH);
	rec->v[0] = keep;
	/* the index is outside handle.net's digest, the ttl inside */
	rec->v[1].ttl = 60;
	assert_int_equal(
		idn_trust_verify_record(&t, f.rec, rec->v, rec->n, &f.a, &rep),
		0);
	assert_int_equal(rep.values[1].verdict, IDN_TV_MISMATCH);
	rec->v[1].ttl = 86400;
	/* another key as the root */
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	t.root = other;
	assert_int_equal(
		idn_trust_verify_record(&t, f.rec, rec->v, rec->n, &f.a, &rep),
		0);
	assert_false(rep.ok);
	/* a root record whose HS_CERT is not self-issued: the enterprise's */
	EVP_PKEY *k = NULL;
	assert_int_equal(
		idn_trust_root_at(&t, f.ent, 400, &f.a, &k, why, sizeof(why)),
		IDN_EAUTH);
	assert_non_null(strstr(why, "not self-issued"));
	assert_int_equal(
		idn_trust_root_at(&t, f.root, 401, &f.a, &k, why, sizeof(why)),
		IDN_ENOTFOUND);
	/* an expired root */
	t.now = (time_t)(f.now + 30LL * 366 * 86400);
	assert_int_equal(
		idn_trust_root_at(&t, f.root, 400, &f.a, &k, why, sizeof(why)),
		IDN_EAUTH);
	assert_non_null(strstr(why, "expired"));
	EVP_PKEY_free(other);
	EVP_PKEY_free(pinned);
	EVP_PKEY_free(root);
	sdk_free(&f);
}

static void sdk_rs256_chain(void **state)
{
	(void)state;
	sdk_chain("idis-trust-rs256.txt", "RS256");
}

static void sdk_sm2_chain(void **state)
{
	(void)state;
	sdk_chain("idis-trust-sm2.txt", "SM2256");
}

/* The SDK's SM2 JWK: {"kty":"SM2","d":base64url(SPKI)}; the same key as
 * its PEM; our writer gives the same bytes. */
static void sdk_sm2_jwk(void **state)
{
	(void)state;
	sdk_t f;
	sdk_load("idis-trust-sm2.txt", &f);
	idn_jwt_t tok;
	assert_int_equal(idn_jwt_decode(f.root_cert, strlen(f.root_cert), &tok),
			 0);
	assert_int_equal(tok.alg, IDN_JWT_SM2256);
	json_t *jwk = json_object_get(tok.claims, "publicKey");
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")),
			    "SM2");
	EVP_PKEY *k;
	assert_int_equal(idn_jwk_to_key(jwk, &k), 0);
	EVP_PKEY *pem = pem_pub(f.root_pub);
	assert_int_equal(EVP_PKEY_eq(k, pem), 1);
	/* self-signed: DER signature with the default identity */
	assert_int_equal(tok.sig[0], 0x30);
	assert_int_equal(idn_jwt_verify(&tok, k), 0);
	json_t *mine;
	assert_int_equal(idn_jwk_from_key_form(k, IDN_JWT_FORM_NATIONAL, &mine),
			 0);
	assert_true(json_equal(mine, jwk));
	json_decref(mine);
	/* one flipped signature byte */
	tok.sig[tok.sig_len - 1] ^= 1;
	assert_int_equal(idn_jwt_verify(&tok, k), IDN_EAUTH);
	idn_jwt_free(&tok);
	/* a point off the curve is refused */
	uint8_t *der;
	size_t n;
	assert_int_equal(idn_spki_encode(k, &der, &n), 0);
	der[n - 1] ^= 1;
	EVP_PKEY *bad = NULL;
	assert_int_equal(idn_sm2_spki_decode(der, n, &bad), IDN_EMALFORMED);
	assert_null(bad);
	OPENSSL_free(der);
	/* an RSA SPKI is not an SM2 key */
	sdk_t r;
	sdk_load("idis-trust-rs256.txt", &r);
	EVP_PKEY *rk = pem_pub(r.root_pub);
	assert_int_equal(idn_spki_encode(rk, &der, &n), 0);
	assert_int_equal(idn_sm2_spki_decode(der, n, &bad), IDN_EUNSUPPORTED);
	OPENSSL_free(der);
	EVP_PKEY_free(rk);
	sdk_free(&r);
	EVP_PKEY_free(pem);
	EVP_PKEY_free(k);
	sdk_free(&f);
}

/* The SDK's listed digest of its own value: SHA-256 of the encoding from
 * byte 8, standard base64 with padding (handle.net's definition). */
static void sdk_value_digest(void **state)
{
	(void)state;
	sdk_t f;
	sdk_load("idis-trust-sm2.txt", &f);
	rec_t *rec = sdk_records(&f);
	idn_jwt_t tok;
	assert_int_equal(idn_jwt_decode(f.sig, strlen(f.sig), &tok), 0);
	json_t *dg = json_object_get(tok.claims, "digests");
	assert_string_equal(json_string_value(json_object_get(dg, "alg")),
			    "SHA-256");
	json_t *e = json_array_get(json_object_get(dg, "digests"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "index")), 1);
	uint8_t d[32];
	assert_int_equal(idn_trust_value_digest(&rec->v[0], "SHA-256", d), 0);
	char *b = idn_base64(d, 32);
	assert_string_equal(b, json_string_value(json_object_get(e, "digest")));
	free(b);
	/* the whole encoding minus its first 8 bytes, by hand */
	idn_bytes_t raw;
	assert_int_equal(
		idn_hex_decode(f.values[0], strlen(f.values[0]), &f.a, &raw),
		0);
	uint8_t d2[32];
	assert_int_equal(idn_jwt_digest("SHA-256", raw.p + 8, raw.len - 8, d2),
			 0);
	assert_memory_equal(d, d2, 32);
	/* the index and timestamp are outside it */
	idn_value_t v = rec->v[0];
	v.index = 77;
	v.timestamp = 1;
	assert_int_equal(idn_trust_value_digest(&v, "SHA-256", d2), 0);
	assert_memory_equal(d, d2, 32);
	idn_jwt_free(&tok);
	sdk_free(&f);
}

/* ---- idnode's national-form tokens ---- */

static char *cert(const char *iss, const char *sub, EVP_PKEY *subj,
		  const char *perms, EVP_PKEY *by, int form)
{
	json_t *p;
	assert_int_equal(idn_trust_perms_parse(perms, &p), 0);
	idn_cert_req_t q = {iss, sub, subj, p, 100, 100, 100000, form};
	char *tok;
	assert_int_equal(idn_trust_issue_cert(&q, by, &tok), 0);
	json_decref(p);
	return tok;
}

static void chain_in_form(EVP_PKEY *rootk, EVP_PKEY *entk, int form,
			  const char *alg, const char *dalg, size_t dlen)
{
	char *rc = cert("300:88.111.1/0.0", "300:88.111.1/0.0", rootk,
			"everything", rootk, form);
	char *ec = cert("300:88.111.1/0.0", "300:88.111.1/ent", entk,
			"handlesUnderThisPrefix:88.111.1", rootk, form);
	nrecs = 0;
	add_rec("88.111.1/0.0")->v[0] = val(400, "HS_CERT", rc);
	recs[0].n = 1;
	add_rec("88.111.1/ent")->v[0] = val(400, "HS_CERT", ec);
	recs[1].n = 1;
	rec_t *r = add_rec("88.111.1/rec");
	r->v[0] = val(1, "URL", "https://example.com/r");
	r->v[1] = val(2, "EMAIL", "qa@example.com");
	char *sig;
	assert_int_equal(idn_trust_sign_record(
				 "300:88.111.1/ent", "88.111.1/rec", r->v, 2,
				 400, 100, 100, 100000, entk, form, &sig),
			 0);
	r->v[2] = val(400, "HS_SIGNATURE", sig);
	r->n = 3;
	/* the header */
	char *h = segment(sig, 0), want[64];
	snprintf(want, sizeof(want),
		 form == IDN_JWT_FORM_NATIONAL
			 ? "{\"alg\":\"%s\"}"
			 : "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
		 alg);
	assert_string_equal(h, want);
	free(h);
	/* digests: the algorithm named, handle.net's base64 */
	char *c = segment(sig, 1);
	json_t *claims = json_loads(c, 0, NULL);
	json_t *dg = json_object_get(claims, "digests");
	assert_string_equal(json_string_value(json_object_get(dg, "alg")),
			    dalg);
	const char *d0 = json_string_value(json_object_get(
		json_array_get(json_object_get(dg, "digests"), 0), "digest"));
	assert_int_equal(strlen(d0), dlen);
	assert_int_equal(d0[43], '=');
	json_decref(claims);
	free(c);
	/* the certificate's key: an SPKI JWK in the national form */
	c = segment(ec, 1);
	claims = json_loads(c, 0, NULL);
	const char *kty = json_string_value(
		json_object_get(json_object_get(claims, "publicKey"), "kty"));
	/* the prefix permission as its prefix handle in the national form,
	 * as given in the former */
	const char *ph = json_string_value(json_object_get(
		json_array_get(json_object_get(claims, "perms"), 0), "handle"));
	assert_string_equal(ph, form == IDN_JWT_FORM_NATIONAL ? "0.NA/88.111.1"
							      : "88.111.1");
	if (EVP_PKEY_is_a(entk, "SM2"))
		assert_string_equal(kty, form == IDN_JWT_FORM_NATIONAL ? "SM2"
								       : "EC");
	json_decref(claims);
	free(c);
	/* verified through the root named by its handle */
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_trust_t t = {NULL, fetch, NULL, 5000, 0};
	EVP_PKEY *root = NULL;
	char why[300];
	assert_int_equal(idn_trust_root_at(&t, "88.111.1/0.0", 400, &a, &root,
					   why, sizeof(why)),
			 0);
	assert_int_equal(EVP_PKEY_eq(root, rootk), 1);
	t.root = root;
	idn_trust_report_t rep;
	assert_int_equal(
		idn_trust_verify_record(&t, "88.111.1/rec", r->v, 3, &a, &rep),
		0);
	if (!rep.ok)
		print_message("why: %s\n", rep.sigs[0].why);
	assert_true(rep.ok);
	assert_int_equal(rep.verified, 2);
	assert_string_equal(rep.sigs[0].alg, alg);
	/* a digest edited inside the token: the token's signature fails */
	char *dot = strrchr(sig, '.');
	char *edited = strdup(sig);
	size_t mid = (size_t)(strchr(sig, '.') - sig) + 20;
	edited[mid] = edited[mid] == 'A' ? 'B' : 'A';
	assert_true((size_t)(dot - sig) > mid);
	r->v[2] = val(400, "HS_SIGNATURE", edited);
	assert_int_equal(
		idn_trust_verify_record(&t, "88.111.1/rec", r->v, 3, &a, &rep),
		0);
	assert_false(rep.ok);
	free(edited);
	EVP_PKEY_free(root);
	idn_arena_free(&a);
	free(rc);
	free(ec);
	free(sig);
}

static void idnode_national_sm2(void **state)
{
	(void)state;
	EVP_PKEY *r = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	EVP_PKEY *e = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	chain_in_form(r, e, IDN_JWT_FORM_NATIONAL, "SM2256", "SHA-256", 44);
	chain_in_form(r, e, IDN_JWT_FORM_IDNODE, "SM2", "SM3", 44);
	EVP_PKEY_free(r);
	EVP_PKEY_free(e);
}

static void idnode_national_rs256(void **state)
{
	(void)state;
	EVP_PKEY *r = EVP_RSA_gen(2048);
	EVP_PKEY *e = EVP_RSA_gen(2048);
	chain_in_form(r, e, IDN_JWT_FORM_NATIONAL, "RS256", "SHA-256", 44);
	chain_in_form(r, e, IDN_JWT_FORM_IDNODE, "RS256", "SHA-256", 44);
	EVP_PKEY_free(r);
	EVP_PKEY_free(e);
}

/* ---- idnode's former tokens ---- */

/* An HS_SIGNATURE as idnode wrote it before following handle.net: the
 * whole encoding with the timestamp zeroed, base64url, SM3 for SM2, and
 * the {"alg","typ"} header with SM2's r || s. */
static char *former_signature(const char *signer, const char *id,
			      const idn_value_t *v, uint32_t n, EVP_PKEY *key)
{
	int alg = idn_jwt_key_alg(key);
	const char *dname = idn_jwt_digest_name(alg);
	json_t *list = json_array();
	for (uint32_t i = 0; i < n; i++) {
		uint8_t d[32];
		assert_int_equal(idn_trust_value_digest_v0(&v[i], dname, d), 0);
		char *b = idn_b64url_encode(d, 32);
		json_array_append_new(list, json_pack("{s:I,s:s}", "index",
						      (json_int_t)v[i].index,
						      "digest", b));
		free(b);
	}
	json_t *claims =
		json_pack("{s:s,s:s,s:I,s:I,s:I,s:{s:s,s:o}}", "iss", signer,
			  "sub", id, "iat", 100, "nbf", 100, "exp", 100000,
			  "digests", "alg", dname, "digests", list);
	char *tok;
	assert_int_equal(idn_jwt_sign(claims, key, &tok), 0);
	json_decref(claims);
	return tok;
}

static void former_tokens_verify(void **state)
{
	(void)state;
	EVP_PKEY *rootk = EVP_RSA_gen(2048);
	EVP_PKEY *entk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	char *ec = cert("300:0.NA/88", "300:0.NA/88.118.8", entk,
			"handlesUnderThisPrefix:88.118.8", rootk,
			IDN_JWT_FORM_IDNODE);
	nrecs = 0;
	rec_t *c = add_rec("0.NA/88.118.8");
	c->v[c->n++] = val(400, "HS_CERT", ec);
	rec_t *r = add_rec("88.118.8/p1");
	r->v[0] = val(1, "URL", "https://example.com/1");
	r->v[1] = val(2, "EMAIL", "qa@example.com");
	char *sig = former_signature("300:0.NA/88.118.8", "88.118.8/p1", r->v,
				     2, entk);
	char *h = segment(sig, 0);
	assert_string_equal(h, "{\"alg\":\"SM2\",\"typ\":\"JWT\"}");
	free(h);
	r->v[2] = val(400, "HS_SIGNATURE", sig);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_trust_t t = {rootk, fetch, NULL, 5000, 0};
	idn_trust_report_t rep;
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", r->v, 3, &a, &rep),
		0);
	if (!rep.ok)
		print_message("why: %s\n", rep.sigs[0].why);
	assert_true(rep.ok);
	assert_int_equal(rep.verified, 2);
	/* the former digest covers the index: a value moved to another
	 * index no longer matches */
	r->v[1].index = 3;
	r->v[3] = val(2, "EMAIL", "other@example.com");
	assert_int_equal(
		idn_trust_verify_record(&t, "88.118.8/p1", r->v, 4, &a, &rep),
		0);
	assert_false(rep.ok);
	assert_int_equal(rep.values[1].index, 2);
	assert_int_equal(rep.values[1].verdict, IDN_TV_MISMATCH);
	assert_int_equal(rep.values[2].verdict, IDN_TV_UNSIGNED);
	idn_arena_free(&a);
	free(ec);
	free(sig);
	EVP_PKEY_free(rootk);
	EVP_PKEY_free(entk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sdk_rs256_chain),
		cmocka_unit_test(sdk_sm2_chain),
		cmocka_unit_test(sdk_sm2_jwk),
		cmocka_unit_test(sdk_value_digest),
		cmocka_unit_test(idnode_national_sm2),
		cmocka_unit_test(idnode_national_rs256),
		cmocka_unit_test(former_tokens_verify),
	};
	return cmocka_run_group_tests_name("trust_idis", tests, NULL, NULL);
}
