#include "auth.h"

#include <assert.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "jwt.h"
#include "msg.h"
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
 * hashes the signer's distinguishing ID sm2id (NULL: the GM/T 0009
 * default ID, set explicitly, so both sides agree whatever the library's
 * default). The caller frees *pctx (NULL for other keys) after ctx. */
static int digest_init_id(EVP_MD_CTX *ctx, const EVP_MD *md, EVP_PKEY *key,
			  bool sign, const idn_bytes_t *sm2id,
			  EVP_PKEY_CTX **pctx)
{
	*pctx = NULL;
	if (is_sm2(key)) {
		idn_bytes_t id =
			sm2id ? *sm2id : idn_bytes_str(IDN_SM2_DEFAULT_ID);
		*pctx = EVP_PKEY_CTX_new(key, NULL);
		if (*pctx == NULL ||
		    EVP_PKEY_CTX_set1_id(*pctx, id.p, id.len) != 1)
			return -1;
		EVP_MD_CTX_set_pkey_ctx(ctx, *pctx);
	}
	int ok = sign ? EVP_DigestSignInit(ctx, NULL, md, NULL, key)
		      : EVP_DigestVerifyInit(ctx, NULL, md, NULL, key);
	return ok == 1 ? 0 : -1;
}

static int digest_init(EVP_MD_CTX *ctx, const EVP_MD *md, EVP_PKEY *key,
		       bool sign, EVP_PKEY_CTX **pctx)
{
	return digest_init_id(ctx, md, key, sign, NULL, pctx);
}

int idn__pkey_build(OSSL_PARAM_BLD *bld, const char *alg, int selection,
		    const char *const *names, const idn_bytes_t *nums, int n,
		    EVP_PKEY **out)
{
	assert(n >= 0 && n <= IDN__PKEY_NUMS_MAX);
	OSSL_PARAM_BLD *own = bld ? NULL : OSSL_PARAM_BLD_new();
	BIGNUM *bn[IDN__PKEY_NUMS_MAX] = {0};
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int err = -ENOMEM;
	if (bld == NULL && (bld = own) == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		bn[i] = BN_bin2bn(nums[i].p, (int)nums[i].len, NULL);
		if (bn[i] == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	if (params == NULL || ctx == NULL)
		goto out;
	*out = NULL;
	err = IDN_EMALFORMED;
	if (EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, selection, params) == 1)
		err = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	for (int i = 0; i < n; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(own);
	return err;
}

int idn__sm2_from_point(const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		return -ENOMEM;
	int err = -ENOMEM;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    "SM2", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     len))
		err = idn__pkey_build(bld, "SM2", EVP_PKEY_PUBLIC_KEY, NULL,
				      NULL, 0, out);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

/* A public key from integers (idn__pkey_build); IDN_EVALUE when OpenSSL
 * refuses them, as for any bad HS_PUBKEY. */
static int build(const char *type, const char *const *names,
		 const idn_bytes_t *vals, int n, EVP_PKEY **out)
{
	int err = idn__pkey_build(NULL, type, EVP_PKEY_PUBLIC_KEY, names, vals,
				  n, out);
	return err == IDN_EMALFORMED ? IDN_EVALUE : err;
}

/* An SM2 public key from its uncompressed point. */
static int build_sm2(idn_bytes_t point, EVP_PKEY **out)
{
	int err = idn__sm2_from_point(point.p, point.len, out);
	return err == IDN_EMALFORMED ? IDN_EVALUE : err;
}

/* An SM2 public key from an X.509 SubjectPublicKeyInfo, DER or PEM text
 * (the national system writes PEM and reads DER). */
static int load_spki(idn_bytes_t b, EVP_PKEY **out)
{
	static const char pem[] = "-----BEGIN";
	*out = NULL;
	if (b.len > sizeof(pem) - 1 && !memcmp(b.p, pem, sizeof(pem) - 1)) {
		BIO *bio = BIO_new_mem_buf(b.p, (int)b.len);
		if (bio == NULL)
			return -ENOMEM;
		*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		const unsigned char *p = b.p;
		*out = d2i_PUBKEY(NULL, &p, (long)b.len);
		if (*out != NULL && p != b.p + b.len) {
			EVP_PKEY_free(*out);
			*out = NULL;
		}
	}
	if (*out != NULL && is_sm2(*out))
		return 0;
	EVP_PKEY_free(*out);
	*out = NULL;
	return IDN_EVALUE;
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
		/* one array: the uncompressed point 04 || x || y, or the
		 * national form, a SubjectPublicKeyInfo */
		if (k.nparams < 1 || k.params[0].len == 0)
			return IDN_EVALUE;
		if (k.params[0].len == 65 && k.params[0].p[0] == 0x04)
			return build_sm2(k.params[0], out);
		return load_spki(k.params[0], out);
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

/* Checks an SM2 signature over msg with the distinguishing ID id. */
static int verify_id(EVP_PKEY *key, idn_bytes_t id, const uint8_t *msg,
		     size_t len, idn_bytes_t sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	int err = IDN_EAUTH;
	EVP_PKEY_CTX *pctx;
	if (digest_init_id(ctx, EVP_sm3(), key, false, &id, &pctx) == 0 &&
	    EVP_DigestVerify(ctx, sig.p, sig.len, msg, len) == 1)
		err = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	return err;
}

int idn_answer_verify(EVP_PKEY *key, idn_bytes_t hash, idn_bytes_t nonce,
		      idn_bytes_t digest, idn_bytes_t sig, idn_bytes_t admin)
{
	idn_bytes_t parts[2] = {nonce, digest};
	int err = idn_sig_verify(key, hash, parts, 2, sig);
	if (err != IDN_EAUTH || !is_sm2(key) || !idn_bytes_eq_str(hash, "SM3"))
		return err;
	/* the national form: the signed message is SM3(nonce || digest),
	 * the ID the admin's identifier */
	uint8_t m[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sm3(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, nonce.p, nonce.len) == 1 &&
		  EVP_DigestUpdate(ctx, digest.p, digest.len) == 1 &&
		  EVP_DigestFinal_ex(ctx, m, &ml) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -ENOMEM;
	return verify_id(key, admin, m, ml, sig);
}

int idn_answer_sign(EVP_PKEY *key, const char *hash, idn_bytes_t nonce,
		    idn_bytes_t digest, idn_wr_t *w)
{
	uint8_t sig[1024];
	size_t siglen;
	idn_bytes_t parts[2] = {nonce, digest};
	int err = idn_sig_sign(key, hash, parts, 2, sig, sizeof(sig), &siglen);
	if (err == 0)
		idn_sig_encode(w, idn_bytes_str(hash), idn_bytes(sig, siglen));
	return err;
}

int idn_answer_sign_national(EVP_PKEY *key, idn_bytes_t nonce,
			     idn_bytes_t digest, idn_bytes_t admin,
			     uint8_t *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (!is_sm2(key))
		return IDN_EUNSUPPORTED;
	uint8_t m[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	uint8_t buf[64 + 32];
	if (nonce.len + digest.len > sizeof(buf))
		return IDN_ETOOLONG;
	memcpy(buf, nonce.p, nonce.len);
	memcpy(buf + nonce.len, digest.p, digest.len);
	if (EVP_Digest(buf, nonce.len + digest.len, m, &ml, EVP_sm3(), NULL) !=
	    1)
		return -ENOMEM;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	int err = IDN_EAUTH;
	size_t len = cap;
	EVP_PKEY_CTX *pctx;
	if (digest_init_id(ctx, EVP_sm3(), key, true, &admin, &pctx) == 0) {
		size_t need = 0;
		if (EVP_DigestSign(ctx, NULL, &need, m, ml) != 1)
			need = SIZE_MAX;
		if (need > cap)
			err = IDN_ETOOLONG;
		else if (EVP_DigestSign(ctx, out, &len, m, ml) == 1)
			err = 0;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	if (err == 0)
		*out_len = len;
	return err;
}

const char *idn_sig_hash_for(EVP_PKEY *key)
{
	return is_sm2(key) ? "SM3" : "SHA256";
}

int idn_pubkey_encode_national(EVP_PKEY *key, idn_wr_t *w)
{
	if (!is_sm2(key))
		return idn_pubkey_encode(key, w);
	uint8_t *der;
	size_t n;
	int err = idn_spki_encode(key, &der, &n);
	if (err)
		return err;
	idn_hs_pubkey_t k = {idn_bytes_str("SM2_PUB_KEY"), 0, 1, {{0}}};
	k.params[0] = idn_bytes(der, n);
	idn_hs_pubkey_encode(w, &k);
	OPENSSL_free(der);
	return w->err;
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
