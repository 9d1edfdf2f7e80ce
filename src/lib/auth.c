#include "auth.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdbool.h>
#include <string.h>

#include "error.h"
#include "value.h"

static const EVP_MD *md_by_name(idn_bytes_t h)
{
	if (idn_bytes_eq_str(h, "SHA1") || idn_bytes_eq_str(h, "SHA-1"))
		return EVP_sha1();
	if (idn_bytes_eq_str(h, "SHA256") || idn_bytes_eq_str(h, "SHA-256"))
		return EVP_sha256();
	if (idn_bytes_eq_str(h, "MD5"))
		return EVP_md5();
	if (idn_bytes_eq_str(h, "SM3"))
		return EVP_sm3();
	return NULL;
}

static bool is_sm2(EVP_PKEY *key)
{
	return EVP_PKEY_is_a(key, "SM2");
}

/* Starts a digest sign/verify on ctx. SM2 signs Z || message, where Z
 * hashes the signer's distinguishing ID: the GM/T 0009 default ID is set
 * explicitly, so both sides agree whatever the library's default. The
 * caller frees *pctx (NULL for other keys) after ctx. */
static int digest_init(EVP_MD_CTX *ctx, const EVP_MD *md, EVP_PKEY *key,
		       bool sign, EVP_PKEY_CTX **pctx)
{
	*pctx = NULL;
	if (is_sm2(key)) {
		*pctx = EVP_PKEY_CTX_new(key, NULL);
		if (*pctx == NULL ||
		    EVP_PKEY_CTX_set1_id(*pctx, IDN_SM2_DEFAULT_ID,
					 sizeof(IDN_SM2_DEFAULT_ID) - 1) != 1)
			return -1;
		EVP_MD_CTX_set_pkey_ctx(ctx, *pctx);
	}
	int ok = sign ? EVP_DigestSignInit(ctx, NULL, md, NULL, key)
		      : EVP_DigestVerifyInit(ctx, NULL, md, NULL, key);
	return ok == 1 ? 0 : -1;
}

/* Pushes byte arrays as big-endian unsigned integers under names. */
static int build(const char *type, const char *const *names,
		 const idn_bytes_t *vals, int n, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn[4] = {NULL, NULL, NULL, NULL};
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int err = -ENOMEM;
	if (bld == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		bn[i] = BN_bin2bn(vals[i].p, (int)vals[i].len, NULL);
		if (bn[i] == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (params == NULL || ctx == NULL)
		goto out;
	*out = NULL;
	err = IDN_EVALUE;
	if (EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		err = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	for (int i = 0; i < 4; i++)
		BN_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

/* An SM2 public key from its uncompressed point. */
static int build_sm2(idn_bytes_t point, EVP_PKEY **out)
{
	OSSL_PARAM params[3];
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"SM2", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, (void *)point.p, point.len);
	params[2] = OSSL_PARAM_construct_end();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	if (ctx == NULL)
		return -ENOMEM;
	*out = NULL;
	int err = IDN_EVALUE;
	if (EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		err = 0;
	EVP_PKEY_CTX_free(ctx);
	return err;
}

int idn_pubkey_load(idn_bytes_t data, EVP_PKEY **out)
{
	idn_hs_pubkey_t k;
	int err = idn_hs_pubkey_decode(data, &k);
	if (err)
		return err;
	if (idn_bytes_eq_str(k.type, "RSA_PUB_KEY")) {
		if (k.nparams < 2)
			return IDN_EVALUE;
		static const char *const names[] = {OSSL_PKEY_PARAM_RSA_E,
						    OSSL_PKEY_PARAM_RSA_N};
		return build("RSA", names, k.params, 2, out);
	}
	if (idn_bytes_eq_str(k.type, "SM2_PUB_KEY")) {
		/* one array: the uncompressed point 04 || x || y */
		if (k.nparams < 1 || k.params[0].len != 65 ||
		    k.params[0].p[0] != 0x04)
			return IDN_EVALUE;
		return build_sm2(k.params[0], out);
	}
	if (idn_bytes_eq_str(k.type, "DSA_PUB_KEY")) {
		if (k.nparams != 4)
			return IDN_EVALUE;
		static const char *const names[] = {
			OSSL_PKEY_PARAM_FFC_Q, OSSL_PKEY_PARAM_FFC_P,
			OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PUB_KEY};
		return build("DSA", names, k.params, 4, out);
	}
	return IDN_EUNSUPPORTED;
}

int idn_sig_verify(EVP_PKEY *key, idn_bytes_t hash, const idn_bytes_t *parts,
		   int nparts, idn_bytes_t sig)
{
	const EVP_MD *md = md_by_name(hash);
	if (md == NULL)
		return IDN_EUNSUPPORTED;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	int err = IDN_EAUTH;
	EVP_PKEY_CTX *pctx;
	if (digest_init(ctx, md, key, false, &pctx) == 0) {
		int ok = 1;
		for (int i = 0; ok && i < nparts; i++)
			ok = EVP_DigestVerifyUpdate(ctx, parts[i].p,
						    parts[i].len) == 1;
		if (ok && EVP_DigestVerifyFinal(ctx, sig.p, sig.len) == 1)
			err = 0;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	return err;
}

int idn_sig_sign(EVP_PKEY *key, const char *hash, const idn_bytes_t *parts,
		 int nparts, uint8_t *out, size_t cap, size_t *out_len)
{
	const EVP_MD *md = md_by_name(idn_bytes_str(hash));
	if (md == NULL)
		return IDN_EUNSUPPORTED;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	int err = IDN_EAUTH;
	size_t len = 0;
	EVP_PKEY_CTX *pctx;
	if (digest_init(ctx, md, key, true, &pctx) == 0) {
		int ok = 1;
		for (int i = 0; ok && i < nparts; i++)
			ok = EVP_DigestSignUpdate(ctx, parts[i].p,
						  parts[i].len) == 1;
		if (ok && EVP_DigestSignFinal(ctx, NULL, &len) == 1) {
			if (len > cap)
				err = IDN_ETOOLONG;
			else if (EVP_DigestSignFinal(ctx, out, &len) == 1)
				err = 0;
		}
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	*out_len = len;
	return err;
}

const char *idn_sig_hash_for(EVP_PKEY *key)
{
	return is_sm2(key) ? "SM3" : "SHA256";
}

/* A DSA key as DSA_PUB_KEY: flags 0, then q, p, g, y as the reference
 * encoder writes them (big-endian, a leading 0 byte when the top bit is
 * set). */
static int encode_dsa(EVP_PKEY *key, idn_wr_t *w)
{
	static const char *const names[] = {
		OSSL_PKEY_PARAM_FFC_Q, OSSL_PKEY_PARAM_FFC_P,
		OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PUB_KEY};
	uint8_t buf[4][1100];
	idn_hs_pubkey_t k = {idn_bytes_str("DSA_PUB_KEY"), 0, 4, {{0}}};
	int err = 0;
	for (int i = 0; i < 4 && err == 0; i++) {
		BIGNUM *bn = NULL;
		int n = EVP_PKEY_get_bn_param(key, names[i], &bn) == 1
				? BN_num_bytes(bn)
				: -1;
		if (n <= 0 || n + 1 > (int)sizeof(buf[i])) {
			err = IDN_EUNSUPPORTED;
		} else {
			buf[i][0] = 0;
			BN_bn2bin(bn, buf[i] + 1);
			bool pad = buf[i][1] & 0x80;
			k.params[i] = idn_bytes(pad ? buf[i] : buf[i] + 1,
						(size_t)n + pad);
		}
		BN_free(bn);
	}
	if (err == 0) {
		idn_hs_pubkey_encode(w, &k);
		err = w->err;
	}
	return err;
}

int idn_pubkey_encode(EVP_PKEY *key, idn_wr_t *w)
{
	if (EVP_PKEY_is_a(key, "DSA"))
		return encode_dsa(key, w);
	if (is_sm2(key)) {
		uint8_t pt[65];
		size_t len = 0;
		/* EC public keys are exported uncompressed by default */
		if (EVP_PKEY_get_octet_string_param(
			    key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
			    sizeof(pt), &len) != 1 ||
		    len != 65 || pt[0] != 0x04)
			return IDN_EUNSUPPORTED;
		idn_hs_pubkey_t k = {idn_bytes_str("SM2_PUB_KEY"), 0, 1, {{0}}};
		k.params[0] = idn_bytes(pt, len);
		idn_hs_pubkey_encode(w, &k);
		return w->err;
	}
	BIGNUM *n = NULL, *e = NULL;
	int err = IDN_EUNSUPPORTED;
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto out;
	uint8_t nb[2048], eb[64];
	int nl = BN_bn2bin(n, nb + 1), el = BN_bn2bin(e, eb);
	/* the modulus as a positive two's-complement integer (leading 0),
	 * the way the reference encoder writes it */
	nb[0] = 0;
	if (nl <= 0 || nl > 2047 || el <= 0)
		goto out;
	idn_hs_pubkey_t k = {idn_bytes_str("RSA_PUB_KEY"), 0, 3, {{0}}};
	k.params[0] = idn_bytes(eb, (size_t)el);
	k.params[1] = idn_bytes(nb, (size_t)nl + 1);
	k.params[2] = idn_bytes(NULL, 0);
	idn_hs_pubkey_encode(w, &k);
	err = w->err;
out:
	BN_free(n);
	BN_free(e);
	return err;
}
