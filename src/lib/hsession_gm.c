/* The national IDIS SDK's encrypted session (docs/national.md, "Encrypted
 * sessions"): the session key wrapped to an admin's HS_PUBKEY (RSA with
 * PKCS#1 v1.5 padding, SM2 with the ciphertext in the order C1 C3 C2), and
 * SM4-CBC with PKCS#5 padding and the key as IV for the messages. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hsession.h"

#define SM2_COORD 32 /* bytes of a coordinate on the SM2 curve */
#define SM3_LEN 32   /* bytes of C3, an SM3 digest */
#define C1_LEN (1 + 2 * SM2_COORD)

int idn_sm4_cbc(bool enc, idn_bytes_t key, const uint8_t *in, size_t len,
		uint8_t *out, size_t cap, size_t *outlen)
{
	if (key.len != IDN_SM4_KEY_LEN || len > INT32_MAX - IDN_SM4_BLOCK)
		return IDN_EINVAL;
	if (!enc && (len == 0 || len % IDN_SM4_BLOCK != 0))
		return IDN_EMALFORMED;
	if (cap < len + (enc ? IDN_SM4_BLOCK : 0))
		return IDN_ETOOLONG;
	const EVP_CIPHER *sm4 = EVP_sm4_cbc();
	if (sm4 == NULL)
		return IDN_EUNSUPPORTED;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	/* the SDK's IV is the key itself (hutool's SM4(CBC, PKCS5Padding,
	 * key, key)) */
	int ok = c != NULL &&
		 EVP_CipherInit_ex(c, sm4, NULL, key.p, key.p, enc) &&
		 EVP_CipherUpdate(c, out, &n1, in, (int)len);
	int err = ok ? 0 : -ENOMEM;
	if (ok && !EVP_CipherFinal_ex(c, out + n1, &n2))
		err = enc ? -ENOMEM : IDN_EAUTH;
	EVP_CIPHER_CTX_free(c);
	*outlen = err ? 0 : (size_t)n1 + (size_t)n2;
	return err;
}

/* ---- SM2 ciphertexts: OpenSSL's DER and the SDK's C1 C3 C2 ----
 * OpenSSL writes SEQUENCE { INTEGER x, INTEGER y, OCTET STRING C3,
 * OCTET STRING C2 } (GM/T 0009); the SDK (hutool over BouncyCastle's
 * SM2Engine, mode C1C3C2) reads 04 || x || y || C3 || C2. */

/* Reads a DER tag and length at *p (end e); the contents in *c, *clen. */
static bool der_get(const uint8_t **p, const uint8_t *e, uint8_t tag,
		    const uint8_t **c, size_t *clen)
{
	const uint8_t *q = *p;
	if (e - q < 2 || q[0] != tag)
		return false;
	size_t n = q[1];
	q += 2;
	if (n & 0x80) {
		size_t k = n & 0x7f;
		if (k == 0 || k > 3 || (size_t)(e - q) < k)
			return false;
		n = 0;
		while (k-- > 0)
			n = n << 8 | *q++;
	}
	if ((size_t)(e - q) < n)
		return false;
	*c = q;
	*clen = n;
	*p = q + n;
	return true;
}

/* A DER INTEGER's contents as a coordinate, left-padded to SM2_COORD. */
static bool coord(const uint8_t *c, size_t n, uint8_t *out)
{
	while (n > 0 && c[0] == 0) {
		c++;
		n--;
	}
	if (n > SM2_COORD)
		return false;
	memset(out, 0, SM2_COORD - n);
	memcpy(out + SM2_COORD - n, c, n);
	return true;
}

int idn_sm2_der_to_c1c3c2(idn_bytes_t der, uint8_t *out, size_t cap,
			  size_t *outlen)
{
	const uint8_t *p = der.p, *e = der.p + der.len, *s, *x, *y, *h, *m;
	size_t slen, xl, yl, hl, ml;
	if (!der_get(&p, e, 0x30, &s, &slen) || p != e)
		return IDN_EMALFORMED;
	p = s;
	e = s + slen;
	if (!der_get(&p, e, 0x02, &x, &xl) || !der_get(&p, e, 0x02, &y, &yl) ||
	    !der_get(&p, e, 0x04, &h, &hl) || !der_get(&p, e, 0x04, &m, &ml) ||
	    p != e || hl != SM3_LEN)
		return IDN_EMALFORMED;
	if (cap < C1_LEN + SM3_LEN + ml)
		return IDN_ETOOLONG;
	out[0] = 0x04;
	if (!coord(x, xl, out + 1) || !coord(y, yl, out + 1 + SM2_COORD))
		return IDN_EMALFORMED;
	memcpy(out + C1_LEN, h, SM3_LEN);
	memcpy(out + C1_LEN + SM3_LEN, m, ml);
	*outlen = C1_LEN + SM3_LEN + ml;
	return 0;
}

/* Writes a DER length n at out; returns its size. */
static size_t der_len(size_t n, uint8_t *out)
{
	if (n < 0x80) {
		out[0] = (uint8_t)n;
		return 1;
	}
	size_t k = n < 0x100 ? 1 : n < 0x10000 ? 2 : 3;
	out[0] = (uint8_t)(0x80 | k);
	for (size_t i = 0; i < k; i++)
		out[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
	return 1 + k;
}

/* Writes the DER INTEGER of a SM2_COORD-byte unsigned coordinate. */
static size_t der_coord(const uint8_t *c, uint8_t *out)
{
	size_t skip = 0;
	while (skip < SM2_COORD - 1 && c[skip] == 0)
		skip++;
	bool pad = c[skip] & 0x80;
	size_t n = SM2_COORD - skip + pad;
	out[0] = 0x02;
	size_t at = 1 + der_len(n, out + 1);
	if (pad)
		out[at++] = 0;
	memcpy(out + at, c + skip, SM2_COORD - skip);
	return at + SM2_COORD - skip;
}

int idn_sm2_c1c3c2_to_der(idn_bytes_t c, uint8_t *out, size_t cap,
			  size_t *outlen)
{
	if (c.len < C1_LEN + SM3_LEN || c.p[0] != 0x04 || c.len > 0xffff)
		return IDN_EMALFORMED;
	size_t ml = c.len - C1_LEN - SM3_LEN;
	/* the contents: two integers of at most 2 + 33 bytes, the octet
	 * strings with lengths of at most 4 bytes */
	uint8_t *body = malloc(2 * 35 + 2 + SM3_LEN + 4 + ml);
	if (body == NULL)
		return -ENOMEM;
	size_t n = der_coord(c.p + 1, body);
	n += der_coord(c.p + 1 + SM2_COORD, body + n);
	body[n++] = 0x04;
	n += der_len(SM3_LEN, body + n);
	memcpy(body + n, c.p + C1_LEN, SM3_LEN);
	n += SM3_LEN;
	body[n++] = 0x04;
	n += der_len(ml, body + n);
	memcpy(body + n, c.p + C1_LEN + SM3_LEN, ml);
	n += ml;
	uint8_t hdr[5];
	hdr[0] = 0x30;
	size_t hl = 1 + der_len(n, hdr + 1);
	int err = 0;
	if (cap < hl + n) {
		err = IDN_ETOOLONG;
	} else {
		memcpy(out, hdr, hl);
		memcpy(out + hl, body, n);
		*outlen = hl + n;
	}
	free(body);
	return err;
}

/* ---- the session key wrapped to an admin's key ---- */

int idn_skey_wrap(EVP_PKEY *pub, idn_bytes_t plain, uint8_t *out, size_t cap,
		  size_t *outlen)
{
	bool sm2 = EVP_PKEY_is_a(pub, "SM2");
	if (!sm2 && !EVP_PKEY_is_a(pub, "RSA"))
		return IDN_EUNSUPPORTED;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	size_t n = 0;
	int ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) > 0 &&
		 (sm2 ||
		  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0) &&
		 EVP_PKEY_encrypt(ctx, NULL, &n, plain.p, plain.len) > 0;
	uint8_t *buf = ok ? malloc(n) : NULL;
	ok = buf != NULL &&
	     EVP_PKEY_encrypt(ctx, buf, &n, plain.p, plain.len) > 0;
	EVP_PKEY_CTX_free(ctx);
	int err = ok ? 0 : -ENOMEM;
	if (ok && sm2) {
		err = idn_sm2_der_to_c1c3c2(idn_bytes(buf, n), out, cap,
					    outlen);
	} else if (ok) {
		if (cap < n) {
			err = IDN_ETOOLONG;
		} else {
			memcpy(out, buf, n);
			*outlen = n;
		}
	}
	free(buf);
	return err;
}

int idn_skey_unwrap(EVP_PKEY *priv, idn_bytes_t wrapped, uint8_t *out,
		    size_t cap, size_t *outlen)
{
	bool sm2 = EVP_PKEY_is_a(priv, "SM2");
	if (!sm2 && !EVP_PKEY_is_a(priv, "RSA"))
		return IDN_EUNSUPPORTED;
	idn_bytes_t in = wrapped;
	uint8_t *der = NULL;
	if (sm2) {
		size_t dlen = 0, room = wrapped.len + 32;
		der = malloc(room);
		if (der == NULL)
			return -ENOMEM;
		int err = idn_sm2_c1c3c2_to_der(wrapped, der, room, &dlen);
		if (err) {
			free(der);
			return err;
		}
		in = idn_bytes(der, dlen);
	}
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	size_t n = 0;
	int ok = ctx != NULL && EVP_PKEY_decrypt_init(ctx) > 0 &&
		 (sm2 ||
		  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0) &&
		 EVP_PKEY_decrypt(ctx, NULL, &n, in.p, in.len) > 0;
	uint8_t *buf = ok ? malloc(n) : NULL;
	int err = ok ? IDN_EAUTH : -ENOMEM;
	if (buf != NULL && EVP_PKEY_decrypt(ctx, buf, &n, in.p, in.len) > 0) {
		err = cap < n ? IDN_ETOOLONG : 0;
		if (err == 0) {
			memcpy(out, buf, n);
			*outlen = n;
		}
		OPENSSL_cleanse(buf, n);
	}
	free(buf);
	free(der);
	EVP_PKEY_CTX_free(ctx);
	return err;
}
