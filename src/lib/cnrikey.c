#include "cnrikey.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"

#define NUMS_MAX 8
#define FILE_MAX 16384

static const char *const dsa_names[] = {
	OSSL_PKEY_PARAM_PRIV_KEY, OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q,
	OSSL_PKEY_PARAM_FFC_G};
static const char *const rsa_names[] = {
	OSSL_PKEY_PARAM_RSA_N,	       OSSL_PKEY_PARAM_RSA_E,
	OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};

/* The key bytes' type and numbers; 0 or IDN_EMALFORMED. */
static int parse(idn_bytes_t b, idn_bytes_t *type, idn_bytes_t *nums, int *n)
{
	idn_rd_t rd;
	idn_rd_init(&rd, b.p, b.len);
	*type = idn_rd_str(&rd, 64);
	*n = 0;
	while (!rd.err && idn_rd_left(&rd) > 0 && *n < NUMS_MAX)
		nums[(*n)++] = idn_rd_str(&rd, 2048);
	return rd.err || idn_rd_left(&rd) ? IDN_EMALFORMED : 0;
}

static bool known_type(idn_bytes_t t)
{
	return idn_bytes_eq_str(t, "DSA_PRIV_KEY") ||
	       idn_bytes_eq_str(t, "RSA_PRIVCRT_KEY");
}

bool idn_cnrikey_detect(idn_bytes_t file, bool *encrypted)
{
	idn_rd_t rd;
	idn_rd_init(&rd, file.p, file.len);
	uint32_t m = idn_rd_u32(&rd);
	if (rd.err || m > IDN_CNRIKEY_DES_CBC)
		return false;
	if (encrypted)
		*encrypted = m != IDN_CNRIKEY_NONE;
	if (m != IDN_CNRIKEY_NONE) /* 8-byte blocks, after the IV if any */
		return file.len > 4 && (file.len - 4) % 8 == 0;
	idn_bytes_t type = idn_rd_str(&rd, 64);
	return !rd.err && known_type(type);
}

/* DES under MD5(pass)[0..8), as three-key 3DES with the key three times:
 * the same cipher, in OpenSSL's default provider. */
static int des(bool enc, bool cbc, idn_bytes_t pass, const uint8_t *iv,
	       const uint8_t *in, size_t len, uint8_t *out, size_t *olen)
{
	uint8_t md[16], key[24];
	unsigned mdl = 0;
	if (EVP_Digest(pass.p, pass.len, md, &mdl, EVP_md5(), NULL) != 1)
		return IDN_EAUTH;
	for (int i = 0; i < 3; i++)
		memcpy(key + 8 * i, md, 8);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, err = IDN_EAUTH;
	if (c == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_CipherInit_ex(c, cbc ? EVP_des_ede3_cbc() : EVP_des_ede3_ecb(),
			      NULL, key, iv, enc) == 1 &&
	    EVP_CipherUpdate(c, out, &l1, in, (int)len) == 1 &&
	    EVP_CipherFinal_ex(c, out + l1, &l2) == 1) {
		*olen = (size_t)(l1 + l2);
		err = 0;
	}
out:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(md, sizeof(md));
	return err;
}

static int build(const char *alg, const char *const *names,
		 const idn_bytes_t *nums, int n, BIGNUM *pub, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		return -ENOMEM;
	int err = -ENOMEM;
	if (pub == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub))
		err = idn__pkey_build(bld, alg, EVP_PKEY_KEYPAIR, names, nums,
				      n, out);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

/* y = g^x mod p, which the file leaves out */
static int dsa_key(const idn_bytes_t *nums, EVP_PKEY **out)
{
	BIGNUM *x = BN_bin2bn(nums[0].p, (int)nums[0].len, NULL);
	BIGNUM *p = BN_bin2bn(nums[1].p, (int)nums[1].len, NULL);
	BIGNUM *g = BN_bin2bn(nums[3].p, (int)nums[3].len, NULL);
	BIGNUM *y = BN_new();
	BN_CTX *bc = BN_CTX_new();
	int err = -ENOMEM;
	if (x && p && g && y && bc) {
		err = IDN_EMALFORMED;
		if (!BN_is_zero(p) && BN_mod_exp(y, g, x, p, bc) == 1)
			err = build("DSA", dsa_names, nums, 4, y, out);
	}
	BN_clear_free(x);
	BN_free(p);
	BN_free(g);
	BN_free(y);
	BN_CTX_free(bc);
	return err;
}

static int key_from(idn_bytes_t b, EVP_PKEY **out)
{
	idn_bytes_t type, nums[NUMS_MAX];
	int n;
	if (parse(b, &type, nums, &n) != 0)
		return IDN_EMALFORMED;
	if (idn_bytes_eq_str(type, "DSA_PRIV_KEY"))
		return n == 4 ? dsa_key(nums, out) : IDN_EMALFORMED;
	if (idn_bytes_eq_str(type, "RSA_PRIVCRT_KEY"))
		return n == 8 ? build("RSA", rsa_names, nums, 8, NULL, out)
			      : IDN_EMALFORMED;
	return IDN_EUNSUPPORTED;
}

int idn_cnrikey_decode(idn_bytes_t file, idn_bytes_t pass, EVP_PKEY **out)
{
	idn_rd_t rd;
	idn_rd_init(&rd, file.p, file.len);
	uint32_t m = idn_rd_u32(&rd);
	if (rd.err)
		return IDN_EMALFORMED;
	idn_bytes_t body = idn_bytes(rd.p, idn_rd_left(&rd));
	if (m == IDN_CNRIKEY_NONE)
		return key_from(body, out);
	if (m != IDN_CNRIKEY_DES_ECB && m != IDN_CNRIKEY_DES_CBC)
		return IDN_EUNSUPPORTED;
	bool cbc = m == IDN_CNRIKEY_DES_CBC;
	size_t ivl = cbc ? 8 : 0;
	if (body.len < ivl + 8 || body.len > FILE_MAX || body.len % 8)
		return IDN_EMALFORMED;
	uint8_t *clear = malloc(body.len);
	if (clear == NULL)
		return -ENOMEM;
	size_t cl = 0;
	int err = des(false, cbc, pass, cbc ? body.p : NULL, body.p + ivl,
		      body.len - ivl, clear, &cl);
	if (err == 0) {
		err = key_from(idn_bytes(clear, cl), out);
		/* a wrong passphrase that happens to leave valid padding
		 * leaves bytes that do not parse */
		if (err == IDN_EMALFORMED || err == IDN_EUNSUPPORTED)
			err = IDN_EAUTH;
	}
	OPENSSL_cleanse(clear, body.len);
	free(clear);
	return err;
}

/* A number as Java's BigInteger.toByteArray writes a positive one. */
static void wr_num(idn_wr_t *w, const BIGNUM *bn)
{
	uint8_t buf[1100];
	int n = BN_num_bytes(bn);
	if (n < 0 || n + 1 > (int)sizeof(buf)) {
		w->err = IDN_ETOOLONG;
		return;
	}
	buf[0] = 0;
	BN_bn2bin(bn, buf + 1);
	bool pad = n == 0 || (buf[1] & 0x80);
	idn_wr_str(w, idn_bytes(pad ? buf : buf + 1, (size_t)n + pad));
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* The key bytes of key into w; 0 or IDN_EUNSUPPORTED. */
static int key_bytes(EVP_PKEY *key, idn_wr_t *w)
{
	bool dsa = EVP_PKEY_is_a(key, "DSA");
	if (!dsa && !EVP_PKEY_is_a(key, "RSA"))
		return IDN_EUNSUPPORTED;
	const char *const *names = dsa ? dsa_names : rsa_names;
	int n = dsa ? 4 : 8, err = 0;
	idn_wr_str(w, idn_bytes_str(dsa ? "DSA_PRIV_KEY" : "RSA_PRIVCRT_KEY"));
	for (int i = 0; i < n && err == 0; i++) {
		BIGNUM *bn = NULL;
		if (EVP_PKEY_get_bn_param(key, names[i], &bn) != 1)
			err = IDN_EUNSUPPORTED; /* e.g. an RSA key without CRT
						 */
		else
			wr_num(w, bn);
		BN_clear_free(bn);
	}
	return err;
}

int idn_cnrikey_encode(EVP_PKEY *key, idn_bytes_t pass, idn_wr_t *w)
{
	uint8_t clear[FILE_MAX];
	idn_wr_t cw;
	idn_wr_init(&cw, clear, sizeof(clear));
	int err = key_bytes(key, &cw);
	if (err == 0)
		err = cw.err;
	if (err == 0 && pass.len == 0) {
		idn_wr_u32(w, IDN_CNRIKEY_NONE);
		idn_wr_raw(w, clear, cw.len);
		err = w->err;
	} else if (err == 0) {
		uint8_t iv[8];
		uint8_t *ct = idn_wr_reserve(w, 4 + 8 + cw.len + 8);
		size_t cl = 0;
		err = IDN_EAUTH;
		if (ct != NULL && RAND_bytes(iv, 8) == 1) {
			idn_put_u32(ct, IDN_CNRIKEY_DES_CBC);
			memcpy(ct + 4, iv, 8);
			err = des(true, true, pass, iv, clear, cw.len, ct + 12,
				  &cl);
		}
		if (ct == NULL)
			err = w->err;
		else /* the reservation held room for a whole padding block */
			w->len -= 8 - (cl - cw.len);
	}
	OPENSSL_cleanse(clear, sizeof(clear));
	return err;
}
