#include "seckey.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "error.h"
#include "nego.h"

#define NONCE_DIGEST_MAX 128

/* HMAC with md ("SHA1"/"SHA256") of nonce || digest; 0 or IDN_EAUTH. */
static int hmac(const char *md, const uint8_t *key, size_t klen,
		idn_bytes_t nonce, idn_bytes_t digest, uint8_t *out,
		size_t *olen)
{
	uint8_t data[NONCE_DIGEST_MAX];
	if (nonce.len + digest.len > sizeof(data))
		return IDN_ETOOLONG;
	memcpy(data, nonce.p, nonce.len);
	memcpy(data + nonce.len, digest.p, digest.len);
	/* an empty key is still a key: HMAC pads it */
	static const uint8_t none[1];
	if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, klen ? key : none, klen,
		      data, nonce.len + digest.len, out, EVP_MAX_MD_SIZE,
		      olen) == NULL)
		return IDN_EAUTH;
	return 0;
}

/* HANDLE.NET's forms: md of secret || nonce || digest || secret */
static int sandwich(const EVP_MD *md, idn_bytes_t secret, idn_bytes_t nonce,
		    idn_bytes_t digest, uint8_t *out, size_t *olen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned l = 0;
	int ok = c != NULL && EVP_DigestInit_ex(c, md, NULL) == 1 &&
		 EVP_DigestUpdate(c, secret.p, secret.len) == 1 &&
		 EVP_DigestUpdate(c, nonce.p, nonce.len) == 1 &&
		 EVP_DigestUpdate(c, digest.p, digest.len) == 1 &&
		 EVP_DigestUpdate(c, secret.p, secret.len) == 1 &&
		 EVP_DigestFinal_ex(c, out, &l) == 1;
	EVP_MD_CTX_free(c);
	*olen = l;
	return ok ? 0 : IDN_EAUTH;
}

static int pbkdf2(idn_bytes_t secret, idn_bytes_t salt, uint32_t iter,
		  uint32_t bits, uint8_t *out)
{
	if (iter == 0 || iter > IDN_PBKDF2_ITER_MAX || bits == 0 ||
	    bits % 8 != 0 || bits > 512)
		return IDN_EUNSUPPORTED;
	if (PKCS5_PBKDF2_HMAC_SHA1((const char *)secret.p, (int)secret.len,
				   salt.p, (int)salt.len, (int)iter,
				   (int)(bits / 8), out) != 1)
		return IDN_EAUTH;
	return 0;
}

int idn_seckey_answer(uint8_t alg, idn_bytes_t secret, idn_bytes_t nonce,
		      idn_bytes_t digest, idn_wr_t *w)
{
	uint8_t mac[EVP_MAX_MD_SIZE], dk[64], salt[16];
	size_t ml;
	int err;
	switch (alg) {
	case IDN_MAC_MD5:
	case IDN_MAC_SHA1:
		err = sandwich(alg == IDN_MAC_MD5 ? EVP_md5() : EVP_sha1(),
			       secret, nonce, digest, mac, &ml);
		if (err)
			return err;
		idn_wr_u8(w, alg);
		idn_wr_raw(w, mac, ml);
		break;
	case IDN_MAC_HMAC_SHA1:
	case IDN_MAC_HMAC_SHA256:
		err = hmac(alg == IDN_MAC_HMAC_SHA1 ? "SHA1" : "SHA256",
			   secret.p, secret.len, nonce, digest, mac, &ml);
		if (err)
			return err;
		idn_wr_u8(w, alg);
		idn_wr_raw(w, mac, ml);
		break;
	case IDN_MAC_PBKDF2_HMAC_SHA1:
		if (RAND_bytes(salt, sizeof(salt)) != 1)
			return IDN_EAUTH;
		err = pbkdf2(secret, idn_bytes(salt, sizeof(salt)),
			     IDN_PBKDF2_ITER_DEFAULT, 160, dk);
		if (err == 0)
			err = hmac("SHA1", dk, 20, nonce, digest, mac, &ml);
		OPENSSL_cleanse(dk, sizeof(dk));
		if (err)
			return err;
		idn_wr_u8(w, alg);
		idn_wr_str(w, idn_bytes(salt, sizeof(salt)));
		idn_wr_u32(w, IDN_PBKDF2_ITER_DEFAULT);
		idn_wr_u32(w, 160);
		idn_wr_str(w, idn_bytes(mac, ml));
		break;
	default:
		return IDN_EUNSUPPORTED;
	}
	return w->err;
}

int idn_seckey_verify(idn_bytes_t secret, idn_bytes_t answer, idn_bytes_t nonce,
		      idn_bytes_t digest)
{
	return idn_seckey_verify_v(secret, answer, nonce, digest, 1);
}

int idn_seckey_rank(idn_bytes_t answer, uint8_t minor)
{
	if (minor == 0)
		return answer.len == 16 ? IDN_HASH_RANK_MD5 : 0;
	switch (answer.len ? answer.p[0] : 0) {
	case IDN_MAC_MD5:
		return IDN_HASH_RANK_MD5;
	case IDN_MAC_SHA1:
	case IDN_MAC_HMAC_SHA1:
	case IDN_MAC_PBKDF2_HMAC_SHA1:
		return IDN_HASH_RANK_SHA1;
	case IDN_MAC_HMAC_SHA256:
		return IDN_HASH_RANK_SHA256;
	default:
		return 0;
	}
}

int idn_seckey_verify_v(idn_bytes_t secret, idn_bytes_t answer,
			idn_bytes_t nonce, idn_bytes_t digest, uint8_t minor)
{
	uint8_t mac[EVP_MAX_MD_SIZE], dk[64];
	size_t ml;
	idn_bytes_t got;
	int err;
	idn_rd_t rd;
	idn_rd_init(&rd, answer.p, answer.len);
	/* before 2.1 the answer is the bare MD5 form: no algorithm byte */
	uint8_t alg = minor == 0 ? 0 : idn_rd_u8(&rd);
	if (rd.err)
		return IDN_EMALFORMED;
	switch (alg) {
	case 0: /* the MD5 form without its byte (2.0), or nothing known */
		if (minor != 0)
			return IDN_EUNSUPPORTED;
		/* fall through */
	case IDN_MAC_MD5:
	case IDN_MAC_SHA1:
		err = sandwich(alg == IDN_MAC_SHA1 ? EVP_sha1() : EVP_md5(),
			       secret, nonce, digest, mac, &ml);
		got = idn_bytes(rd.p, (size_t)(rd.end - rd.p));
		break;
	case IDN_MAC_HMAC_SHA1:
	case IDN_MAC_HMAC_SHA256:
		err = hmac(alg == IDN_MAC_HMAC_SHA1 ? "SHA1" : "SHA256",
			   secret.p, secret.len, nonce, digest, mac, &ml);
		got = idn_bytes(rd.p, (size_t)(rd.end - rd.p));
		break;
	case IDN_MAC_PBKDF2_HMAC_SHA1: {
		idn_bytes_t salt = idn_rd_str(&rd, 1024);
		uint32_t iter = idn_rd_u32(&rd);
		uint32_t bits = idn_rd_u32(&rd);
		got = idn_rd_str(&rd, 1024);
		if (idn_rd_finish(&rd) != 0)
			return IDN_EMALFORMED;
		err = pbkdf2(secret, salt, iter, bits, dk);
		if (err == 0)
			err = hmac("SHA1", dk, bits / 8, nonce, digest, mac,
				   &ml);
		OPENSSL_cleanse(dk, sizeof(dk));
		break;
	}
	default:
		return IDN_EUNSUPPORTED;
	}
	if (err)
		return err;
	/* the length is public; the bytes are compared in constant time */
	if (got.len != ml || CRYPTO_memcmp(got.p, mac, ml) != 0)
		return IDN_EAUTH;
	return 0;
}
