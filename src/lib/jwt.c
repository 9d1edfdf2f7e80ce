/* Compact JWS with RS256 and SM2 (see jwt.h). OpenSSL errors are
 * translated here: every failure of a signing or verifying call becomes
 * IDN_EAUTH, every failure to build a key IDN_EMALFORMED. */
#include "jwt.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "b64.h"
#include "error.h"

/* The SM2 signer identity of GM/T 0009 when none is agreed. */
static const char sm2_id[] = "1234567812345678";

const char *idn_jwt_alg_name(int alg)
{
	switch (alg) {
	case IDN_JWT_RS256:
		return "RS256";
	case IDN_JWT_SM2:
		return "SM2";
	case IDN_JWT_SM2256:
		return "SM2256";
	}
	return NULL;
}

const char *idn_jwt_digest_name(int alg)
{
	switch (alg) {
	case IDN_JWT_RS256:
	case IDN_JWT_SM2256:
		return "SHA-256";
	case IDN_JWT_SM2:
		return "SM3";
	}
	return NULL;
}

/* Both SM2 forms sign the same way; they differ in the signature's
 * encoding only. */
static bool is_sm2(int alg)
{
	return alg == IDN_JWT_SM2 || alg == IDN_JWT_SM2256;
}

int idn_jwt_key_alg(EVP_PKEY *key)
{
	if (key == NULL)
		return IDN_EUNSUPPORTED;
	if (EVP_PKEY_is_a(key, "SM2"))
		return IDN_JWT_SM2;
	if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048)
		return IDN_JWT_RS256;
	return IDN_EUNSUPPORTED;
}

int idn_jwt_form_alg(EVP_PKEY *key, int form)
{
	int alg = idn_jwt_key_alg(key);
	if (alg == IDN_JWT_SM2 && form == IDN_JWT_FORM_NATIONAL)
		return IDN_JWT_SM2256;
	return alg;
}

int idn_jwt_digest(const char *name, const void *p, size_t n, uint8_t out[32])
{
	const char *md = name == NULL		    ? NULL
			 : !strcmp(name, "SHA-256") ? "SHA256"
			 : !strcmp(name, "SM3")	    ? "SM3"
						    : NULL;
	if (md == NULL)
		return IDN_EUNSUPPORTED;
	EVP_MD *m = EVP_MD_fetch(NULL, md, NULL);
	unsigned int len = 0;
	int ok = m != NULL && EVP_MD_get_size(m) == 32 &&
		 EVP_Digest(p, n, out, &len, m, NULL) == 1 && len == 32;
	EVP_MD_free(m);
	return ok ? 0 : IDN_EUNSUPPORTED;
}

/* ---- base64url ---- */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *idn_b64url_encode(const uint8_t *p, size_t n)
{
	if (n > (SIZE_MAX - 8) / 4 * 3)
		return NULL;
	char *out = malloc(n / 3 * 4 + 5);
	if (out == NULL)
		return NULL;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = 0;
	return out;
}

int idn_b64url_decode(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = malloc(IDN_BASE64_DECODED_MAX(n));
	if (buf == NULL)
		return -ENOMEM;
	int err = idn_base64_decode(s, n, IDN_B64_URL, buf, out_len);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

/* ---- signatures ---- */

/* SM2 signatures: OpenSSL speaks DER SEQUENCE{r, s}; tokens carry r || s. */
static int sm2_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
	const uint8_t *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (s == NULL)
		return IDN_EAUTH;
	const BIGNUM *r, *ss;
	ECDSA_SIG_get0(s, &r, &ss);
	int ok = BN_bn2binpad(r, raw, 32) == 32 &&
		 BN_bn2binpad(ss, raw + 32, 32) == 32;
	ECDSA_SIG_free(s);
	return ok ? 0 : IDN_EAUTH;
}

static int sm2_raw_to_der(const uint8_t *raw, size_t len, uint8_t **der,
			  size_t *der_len)
{
	if (len != 64)
		return IDN_EAUTH;
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL),
	       *ss = BN_bin2bn(raw + 32, 32, NULL);
	if (s == NULL || r == NULL || ss == NULL || !ECDSA_SIG_set0(s, r, ss)) {
		ECDSA_SIG_free(s);
		BN_free(r);
		BN_free(ss);
		return -ENOMEM;
	}
	*der = NULL;
	int n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -ENOMEM;
	*der_len = (size_t)n;
	return 0;
}

/* A digest-sign or digest-verify context for alg with key. */
static EVP_MD_CTX *md_ctx(int alg, EVP_PKEY *key, bool sign, EVP_PKEY_CTX **own)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	*own = NULL;
	if (ctx == NULL)
		return NULL;
	int ok;
	if (is_sm2(alg)) {
		/* the identity must be set before the digest starts: it is
		 * hashed first (Z_A) */
		pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
		ok = pctx != NULL &&
		     EVP_PKEY_CTX_set1_id(pctx, sm2_id, strlen(sm2_id)) > 0;
		if (ok) {
			EVP_MD_CTX_set_pkey_ctx(ctx, pctx);
			ok = sign ? EVP_DigestSignInit_ex(ctx, NULL, "SM3",
							  NULL, NULL, key,
							  NULL) == 1
				  : EVP_DigestVerifyInit_ex(ctx, NULL, "SM3",
							    NULL, NULL, key,
							    NULL) == 1;
		}
	} else {
		ok = sign ? EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL,
						  NULL, key, NULL) == 1
			  : EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL,
						    NULL, key, NULL) == 1;
	}
	if (!ok) {
		EVP_MD_CTX_free(ctx);
		EVP_PKEY_CTX_free(pctx);
		return NULL;
	}
	/* a context given with EVP_MD_CTX_set_pkey_ctx stays the caller's:
	 * it is freed after ctx (md_ctx_free) */
	*own = pctx;
	return ctx;
}

static void md_ctx_free(EVP_MD_CTX *ctx, EVP_PKEY_CTX *own)
{
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(own);
}

static int sign_bytes(int alg, EVP_PKEY *key, const char *msg, size_t len,
		      uint8_t **sig, size_t *sig_len)
{
	EVP_PKEY_CTX *own;
	EVP_MD_CTX *ctx = md_ctx(alg, key, true, &own);
	if (ctx == NULL)
		return IDN_EAUTH;
	size_t n = 0;
	uint8_t *buf = NULL;
	int err = IDN_EAUTH;
	if (EVP_DigestSign(ctx, NULL, &n, (const uint8_t *)msg, len) != 1)
		goto out;
	buf = malloc(n > 64 ? n : 64);
	if (buf == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &n, (const uint8_t *)msg, len) != 1)
		goto out;
	/* OpenSSL's SM2 signature is DER, as SM2256 carries it */
	if (alg == IDN_JWT_SM2) {
		uint8_t raw[64];
		if (sm2_der_to_raw(buf, n, raw) != 0)
			goto out;
		memcpy(buf, raw, 64);
		n = 64;
	}
	*sig = buf;
	*sig_len = n;
	buf = NULL;
	err = 0;
out:
	free(buf);
	md_ctx_free(ctx, own);
	return err;
}

int idn_jwt_sign(const json_t *claims, EVP_PKEY *key, char **out)
{
	return idn_jwt_sign_form(claims, key, IDN_JWT_FORM_IDNODE, out);
}

int idn_jwt_sign_form(const json_t *claims, EVP_PKEY *key, int form, char **out)
{
	if (!json_is_object(claims) ||
	    (form != IDN_JWT_FORM_IDNODE && form != IDN_JWT_FORM_NATIONAL))
		return IDN_EINVAL;
	int alg = idn_jwt_form_alg(key, form);
	if (alg < 0)
		return alg;
	/* the national SDK writes {"alg":ALG} and nothing more */
	json_t *hdr = form == IDN_JWT_FORM_NATIONAL
			      ? json_pack("{s:s}", "alg", idn_jwt_alg_name(alg))
			      : json_pack("{s:s,s:s}", "alg",
					  idn_jwt_alg_name(alg), "typ", "JWT");
	char *h = hdr ? json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER)
		      : NULL;
	char *c = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *hb = h ? idn_b64url_encode((const uint8_t *)h, strlen(h)) : NULL;
	char *cb = c ? idn_b64url_encode((const uint8_t *)c, strlen(c)) : NULL;
	char *tok = NULL, *sb = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int err = -ENOMEM;
	json_decref(hdr);
	if (hb == NULL || cb == NULL)
		goto out;
	size_t hl = strlen(hb), cl = strlen(cb);
	tok = malloc(hl + cl + 2);
	if (tok == NULL)
		goto out;
	memcpy(tok, hb, hl);
	tok[hl] = '.';
	memcpy(tok + hl + 1, cb, cl + 1);
	err = sign_bytes(alg, key, tok, hl + 1 + cl, &sig, &sig_len);
	if (err)
		goto out;
	err = -ENOMEM;
	sb = idn_b64url_encode(sig, sig_len);
	char *full = sb ? malloc(hl + cl + strlen(sb) + 3) : NULL;
	if (full == NULL)
		goto out;
	sprintf(full, "%s.%s", tok, sb);
	*out = full;
	err = 0;
out:
	free(h);
	free(c);
	free(hb);
	free(cb);
	free(tok);
	free(sb);
	free(sig);
	return err;
}

void idn_jwt_free(idn_jwt_t *t)
{
	json_decref(t->header);
	json_decref(t->claims);
	free(t->signed_part);
	free(t->sig);
	memset(t, 0, sizeof(*t));
}

/* A base64url segment that holds a JSON object. */
static int decode_json_seg(const char *s, size_t n, json_t **out)
{
	uint8_t *raw;
	size_t len;
	int err = idn_b64url_decode(s, n, &raw, &len);
	if (err)
		return err;
	json_error_t je;
	/* JSON_REJECT_DUPLICATES: a claim must not mean two things */
	json_t *j =
		json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &je);
	free(raw);
	if (!json_is_object(j)) {
		json_decref(j);
		return IDN_EMALFORMED;
	}
	*out = j;
	return 0;
}

int idn_jwt_decode(const char *tok, size_t len, idn_jwt_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len > IDN_JWT_MAX)
		return IDN_ETOOLONG;
	const char *d1 = memchr(tok, '.', len);
	const char *d2 =
		d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
		return IDN_EMALFORMED;
	int err = decode_json_seg(tok, (size_t)(d1 - tok), &out->header);
	if (err == 0)
		err = decode_json_seg(d1 + 1, (size_t)(d2 - d1 - 1),
				      &out->claims);
	if (err == 0)
		err = idn_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - tok),
					&out->sig, &out->sig_len);
	if (err)
		goto fail;
	const char *alg =
		json_string_value(json_object_get(out->header, "alg"));
	if (alg == NULL) {
		err = IDN_EMALFORMED;
		goto fail;
	}
	/* RFC 7515 §4.1.11: an extension we do not know must be refused */
	if (json_object_get(out->header, "crit") != NULL) {
		err = IDN_EUNSUPPORTED;
		goto fail;
	}
	out->alg = !strcmp(alg, "RS256")    ? IDN_JWT_RS256
		   : !strcmp(alg, "SM2256") ? IDN_JWT_SM2256
		   : !strcmp(alg, "SM2")    ? IDN_JWT_SM2
					    : 0;
	if (out->alg == 0) {
		err = IDN_EUNSUPPORTED;
		goto fail;
	}
	out->signed_len = (size_t)(d2 - tok);
	out->signed_part = malloc(out->signed_len + 1);
	if (out->signed_part == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	memcpy(out->signed_part, tok, out->signed_len);
	out->signed_part[out->signed_len] = 0;
	return 0;
fail:
	idn_jwt_free(out);
	return err;
}

int idn_jwt_verify(const idn_jwt_t *t, EVP_PKEY *key)
{
	int kalg = idn_jwt_key_alg(key);
	if (kalg != t->alg && !(kalg == IDN_JWT_SM2 && is_sm2(t->alg)))
		return IDN_EAUTH;
	const uint8_t *sig = t->sig;
	size_t sig_len = t->sig_len;
	uint8_t *der = NULL;
	if (t->alg == IDN_JWT_SM2) {
		if (sm2_raw_to_der(t->sig, t->sig_len, &der, &sig_len) != 0)
			return IDN_EAUTH;
		sig = der;
	}
	EVP_PKEY_CTX *own;
	EVP_MD_CTX *ctx = md_ctx(t->alg, key, false, &own);
	int ok =
		ctx != NULL && EVP_DigestVerify(ctx, sig, sig_len,
						(const uint8_t *)t->signed_part,
						t->signed_len) == 1;
	md_ctx_free(ctx, own);
	OPENSSL_free(der);
	return ok ? 0 : IDN_EAUTH;
}

static bool claim_time(const json_t *claims, const char *name, long long *out)
{
	json_t *v = json_object_get(claims, name);
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		*out = (long long)json_real_value(v);
		return true;
	}
	return false;
}

static void fmt_utc(long long t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", t);
}

int idn_jwt_check_time(const idn_jwt_t *t, time_t now, long leeway, char *why,
		       size_t cap)
{
	long long nbf, exp;
	char when[40];
	if (!claim_time(t->claims, "exp", &exp)) {
		snprintf(why, cap, "no exp claim");
		return IDN_EAUTH;
	}
	if (!claim_time(t->claims, "nbf", &nbf)) {
		snprintf(why, cap, "no nbf claim");
		return IDN_EAUTH;
	}
	if ((long long)now > exp + leeway) {
		fmt_utc(exp, when, sizeof(when));
		snprintf(why, cap, "expired at %s", when);
		return IDN_EAUTH;
	}
	if ((long long)now + leeway < nbf) {
		fmt_utc(nbf, when, sizeof(when));
		snprintf(why, cap, "not valid before %s", when);
		return IDN_EAUTH;
	}
	if (cap)
		why[0] = 0;
	return 0;
}

/* ---- JWK ---- */

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *s = idn_b64url_encode(p, n);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

static json_t *bn_json(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	if (!EVP_PKEY_get_bn_param(key, param, &bn))
		return NULL;
	int n = BN_num_bytes(bn);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	json_t *j = NULL;
	if (buf != NULL && BN_bn2bin(bn, buf) == n)
		j = b64_json(buf, (size_t)n);
	free(buf);
	BN_free(bn);
	return j;
}

int idn_jwk_from_key(EVP_PKEY *key, json_t **out)
{
	return idn_jwk_from_key_form(key, IDN_JWT_FORM_IDNODE, out);
}

int idn_spki_encode(EVP_PKEY *key, uint8_t **out, size_t *len)
{
	*out = NULL;
	int n = key ? i2d_PUBKEY(key, out) : -1;
	if (n <= 0)
		return IDN_EUNSUPPORTED;
	*len = (size_t)n;
	return 0;
}

/* {"kty":"SM2","d":base64url(SPKI)}, as the national SDK writes it. */
static int jwk_sm2_spki(EVP_PKEY *key, json_t **out)
{
	uint8_t *der;
	size_t n;
	int err = idn_spki_encode(key, &der, &n);
	if (err)
		return err;
	json_t *d = b64_json(der, n);
	OPENSSL_free(der);
	json_t *j = d ? json_pack("{s:s,s:o}", "kty", "SM2", "d", d) : NULL;
	if (j == NULL)
		return -ENOMEM;
	*out = j;
	return 0;
}

int idn_jwk_from_key_form(EVP_PKEY *key, int form, json_t **out)
{
	int alg = idn_jwt_key_alg(key);
	if (alg == IDN_JWT_SM2 && form == IDN_JWT_FORM_NATIONAL)
		return jwk_sm2_spki(key, out);
	json_t *j = NULL;
	if (alg == IDN_JWT_RS256) {
		json_t *n = bn_json(key, OSSL_PKEY_PARAM_RSA_N);
		json_t *e = bn_json(key, OSSL_PKEY_PARAM_RSA_E);
		if (n && e)
			j = json_pack("{s:s,s:o,s:o}", "kty", "RSA", "n", n,
				      "e", e);
		else {
			json_decref(n);
			json_decref(e);
		}
	} else if (alg == IDN_JWT_SM2) {
		uint8_t pt[65];
		size_t len = 0;
		if (!EVP_PKEY_get_octet_string_param(key,
						     OSSL_PKEY_PARAM_PUB_KEY,
						     pt, sizeof(pt), &len) ||
		    len != 65 || pt[0] != 4)
			return IDN_EUNSUPPORTED;
		json_t *x = b64_json(pt + 1, 32), *y = b64_json(pt + 33, 32);
		if (x && y)
			j = json_pack("{s:s,s:s,s:o,s:o}", "kty", "EC", "crv",
				      "SM2", "x", x, "y", y);
		else {
			json_decref(x);
			json_decref(y);
		}
	} else {
		return IDN_EUNSUPPORTED;
	}
	if (j == NULL)
		return -ENOMEM;
	*out = j;
	return 0;
}

/* A base64url member of a JWK, at most max bytes (exactly max with
 * exact). */
static int jwk_bytes(const json_t *jwk, const char *name, size_t max,
		     bool exact, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	if (s == NULL)
		return IDN_EMALFORMED;
	int err = idn_b64url_decode(s, strlen(s), out, len);
	if (err)
		return err;
	if (*len == 0 || *len > max || (exact && *len != max)) {
		free(*out);
		*out = NULL;
		return IDN_EMALFORMED;
	}
	return 0;
}

/* The SM2 key must lie on the curve: decoders do not all check it. */
static int sm2_point_check(EVP_PKEY *key)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	int ok = c != NULL && EVP_PKEY_public_check(c) == 1;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : IDN_EMALFORMED;
}

int idn_sm2_spki_decode(const uint8_t *p, size_t n, EVP_PKEY **out)
{
	if (n == 0 || n > 4096)
		return IDN_EMALFORMED;
	const uint8_t *q = p;
	EVP_PKEY *key = d2i_PUBKEY(NULL, &q, (long)n);
	if (key == NULL || q != p + n) {
		EVP_PKEY_free(key);
		return IDN_EMALFORMED;
	}
	if (!EVP_PKEY_is_a(key, "SM2")) {
		EVP_PKEY_free(key);
		return IDN_EUNSUPPORTED;
	}
	if (sm2_point_check(key) != 0) {
		EVP_PKEY_free(key);
		return IDN_EMALFORMED;
	}
	*out = key;
	return 0;
}

/* {"kty":"SM2","d":SPKI}: the SDK writes base64url without padding and
 * reads any base64, so both alphabets are taken. */
static int jwk_sm2_to_key(const json_t *jwk, EVP_PKEY **out)
{
	const char *d = json_string_value(json_object_get(jwk, "d"));
	if (d == NULL)
		return IDN_EMALFORMED;
	size_t n = strlen(d), len;
	uint8_t *buf = malloc(IDN_BASE64_DECODED_MAX(n) + 1);
	if (buf == NULL)
		return -ENOMEM;
	int err = idn_base64_decode(d, n, IDN_B64_URL, buf, &len);
	if (err)
		err = idn_base64_decode(d, n, IDN_B64_STRICT, buf, &len);
	if (err == 0)
		err = idn_sm2_spki_decode(buf, len, out);
	free(buf);
	return err;
}

int idn_jwk_to_key(const json_t *jwk, EVP_PKEY **out)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	if (kty == NULL)
		return IDN_EMALFORMED;
	if (!strcmp(kty, "SM2"))
		return jwk_sm2_to_key(jwk, out);
	uint8_t *a = NULL, *b = NULL;
	size_t al, bl;
	int err;
	if (!strcmp(kty, "RSA")) {
		err = jwk_bytes(jwk, "n", 1024, false, &a, &al);
		if (err == 0)
			err = jwk_bytes(jwk, "e", 16, false, &b, &bl);
		if (err)
			goto out;
		static const char *const names[] = {OSSL_PKEY_PARAM_RSA_N,
						    OSSL_PKEY_PARAM_RSA_E};
		const idn_bytes_t nums[] = {idn_bytes(a, al), idn_bytes(b, bl)};
		err = idn__pkey_build(NULL, "RSA", EVP_PKEY_PUBLIC_KEY, names,
				      nums, 2, out);
		if (err == 0 && idn_jwt_key_alg(*out) != IDN_JWT_RS256) {
			EVP_PKEY_free(*out);
			err = IDN_EUNSUPPORTED; /* a short modulus */
		}
	} else if (!strcmp(kty, "EC")) {
		const char *crv =
			json_string_value(json_object_get(jwk, "crv"));
		if (crv == NULL || strcmp(crv, "SM2")) {
			err = IDN_EUNSUPPORTED;
			goto out;
		}
		err = jwk_bytes(jwk, "x", 32, true, &a, &al);
		if (err == 0)
			err = jwk_bytes(jwk, "y", 32, true, &b, &bl);
		if (err)
			goto out;
		uint8_t pt[65];
		pt[0] = 4;
		memcpy(pt + 1, a, 32);
		memcpy(pt + 33, b, 32);
		/* EVP_PKEY_fromdata does not check that the point is on the
		 * curve: a public-key check does */
		err = idn__sm2_from_point(pt, sizeof(pt), out);
		if (err == 0 && (err = sm2_point_check(*out)) != 0)
			EVP_PKEY_free(*out);
	} else {
		err = IDN_EUNSUPPORTED;
	}
out:
	free(a);
	free(b);
	return err;
}

int idn_pem_load(const char *path, bool pub, EVP_PKEY **out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return IDN_EINVAL;
	EVP_PKEY *key = pub ? PEM_read_PUBKEY(f, NULL, NULL, NULL)
			    : PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (key == NULL && pub) {
		/* a private key file also holds the public key */
		rewind(f);
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (key == NULL)
		return IDN_EINVAL;
	*out = key;
	return 0;
}
