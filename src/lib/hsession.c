#include "hsession.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define DH_TYPE "DH_PUB_KEY"
#define DH_PMIN_BITS 1024
#define DH_PMAX_BITS 2048
#define DH_XBITS 256
#define DES_KEY_LEN 8
#define DES_BLOCK 8
#define HASH_CODE_SHA1 2

struct idn_dh {
	BIGNUM *p, *g, *x, *y;
};

/* A byte array holding a Java BigInteger (two's complement, big-endian):
 * only non-negative values are accepted. NULL when it is not one. */
static BIGNUM *bn_of(idn_bytes_t b)
{
	if (b.len == 0 || (b.p[0] & 0x80))
		return NULL;
	return BN_bin2bn(b.p, (int)b.len, NULL);
}

/* Writes n as Java's BigInteger.toByteArray does: a leading zero byte
 * when the top bit is set. */
static void wr_bn(idn_wr_t *w, const BIGNUM *n)
{
	int len = BN_num_bytes(n);
	bool pad = BN_num_bits(n) % 8 == 0;
	idn_wr_u32(w, (uint32_t)len + pad);
	if (pad)
		idn_wr_u8(w, 0);
	uint8_t *p = idn_wr_reserve(w, (size_t)len);
	if (p != NULL)
		BN_bn2bin(n, p);
}

/* Is 2 <= v <= p - 2? */
static bool in_range(const BIGNUM *v, const BIGNUM *p)
{
	BIGNUM *top = BN_dup(p);
	bool ok = top != NULL && BN_sub_word(top, 2) &&
		  BN_cmp(v, BN_value_one()) > 0 && BN_cmp(v, top) <= 0;
	BN_free(top);
	return ok;
}

/* The group and public value of a blob, checked; NULL members on
 * failure. */
typedef struct {
	BIGNUM *p, *g, *y;
} pub_bn_t;

static void pub_bn_free(pub_bn_t *k)
{
	BN_free(k->p);
	BN_free(k->g);
	BN_free(k->y);
}

static int pub_bn(idn_bytes_t blob, pub_bn_t *k)
{
	idn_dh_pub_t pub;
	memset(k, 0, sizeof(*k));
	int err = idn_dh_pub_decode(blob, &pub);
	if (err)
		return err;
	k->p = bn_of(pub.p);
	k->g = bn_of(pub.g);
	k->y = bn_of(pub.y);
	if (k->p == NULL || k->g == NULL || k->y == NULL) {
		pub_bn_free(k);
		return -ENOMEM;
	}
	return 0;
}

int idn_dh_pub_decode(idn_bytes_t blob, idn_dh_pub_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, blob.p, blob.len);
	idn_bytes_t type = idn_rd_str(&r, 64);
	(void)idn_rd_u16(&r); /* flags: 0 */
	out->y = idn_rd_str(&r, DH_PMAX_BITS / 8 + 1);
	out->p = idn_rd_str(&r, DH_PMAX_BITS / 8 + 1);
	out->g = idn_rd_str(&r, DH_PMAX_BITS / 8 + 1);
	if (idn_rd_finish(&r) != 0 || !idn_bytes_eq_str(type, DH_TYPE))
		return IDN_EMALFORMED;
	BIGNUM *p = bn_of(out->p), *g = bn_of(out->g), *y = bn_of(out->y);
	int bits = p ? BN_num_bits(p) : 0;
	bool ok = p && g && y && bits >= DH_PMIN_BITS && bits <= DH_PMAX_BITS &&
		  BN_is_odd(p) && in_range(g, p) && in_range(y, p);
	BN_free(p);
	BN_free(g);
	BN_free(y);
	return ok ? 0 : IDN_EMALFORMED;
}

void idn_dh_free(idn_dh_t *d)
{
	if (d == NULL)
		return;
	BN_free(d->p);
	BN_free(d->g);
	BN_clear_free(d->x);
	BN_free(d->y);
	free(d);
}

int idn_dh_new(idn_bytes_t peer, idn_dh_t **out)
{
	idn_dh_t *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	if (peer.p != NULL) {
		pub_bn_t k;
		int err = pub_bn(peer, &k);
		if (err) {
			free(d);
			return err;
		}
		d->p = k.p;
		d->g = k.g;
		BN_free(k.y);
	} else {
		d->p = BN_get_rfc2409_prime_1024(NULL);
		d->g = BN_new();
		if (d->g != NULL && !BN_set_word(d->g, 2)) {
			BN_free(d->g);
			d->g = NULL;
		}
	}
	BN_CTX *ctx = BN_CTX_new();
	d->x = BN_secure_new();
	d->y = BN_new();
	bool ok = ctx && d->p && d->g && d->x && d->y &&
		  BN_priv_rand(d->x, DH_XBITS, BN_RAND_TOP_ONE,
			       BN_RAND_BOTTOM_ANY) &&
		  BN_mod_exp_mont_consttime(d->y, d->g, d->x, d->p, ctx, NULL);
	BN_CTX_free(ctx);
	if (!ok) {
		idn_dh_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

int idn_dh_set_private(idn_dh_t *d, idn_bytes_t x)
{
	BIGNUM *v = BN_secure_new();
	BN_CTX *ctx = BN_CTX_new();
	int err = -ENOMEM;
	if (v != NULL && ctx != NULL && BN_bin2bn(x.p, (int)x.len, v) != NULL) {
		err = IDN_EINVAL;
		if (in_range(v, d->p) &&
		    BN_mod_exp_mont_consttime(d->y, d->g, v, d->p, ctx, NULL)) {
			BN_clear_free(d->x);
			d->x = v;
			v = NULL;
			err = 0;
		}
	}
	BN_clear_free(v);
	BN_CTX_free(ctx);
	return err;
}

void idn_dh_pub_encode(const idn_dh_t *d, idn_wr_t *w)
{
	idn_wr_str(w, idn_bytes_str(DH_TYPE));
	idn_wr_u16(w, 0);
	wr_bn(w, d->y);
	wr_bn(w, d->p);
	wr_bn(w, d->g);
}

/* Gives each byte odd parity in its low bit, as a DES key has. */
static void des_parity(uint8_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned ones = 0;
		for (int b = 1; b < 8; b++)
			ones += (k[i] >> b) & 1;
		k[i] = (uint8_t)((k[i] & 0xfe) | (ones % 2 == 0));
	}
}

int idn_dh_derive(const idn_dh_t *d, idn_bytes_t peer, int cipher, uint8_t *key,
		  size_t *klen)
{
	if (cipher != IDN_SCIPHER_DES)
		return IDN_EUNSUPPORTED;
	pub_bn_t k;
	int err = pub_bn(peer, &k);
	if (err)
		return err;
	if (BN_cmp(k.p, d->p) != 0 || BN_cmp(k.g, d->g) != 0) {
		pub_bn_free(&k);
		return IDN_EMALFORMED;
	}
	/* the shared secret as wide as p, as the reference takes it */
	int plen = BN_num_bytes(d->p);
	uint8_t *s = OPENSSL_secure_malloc((size_t)plen);
	BIGNUM *z = BN_secure_new();
	BN_CTX *ctx = BN_CTX_new();
	bool ok = s && z && ctx &&
		  BN_mod_exp_mont_consttime(z, k.y, d->x, d->p, ctx, NULL) &&
		  BN_bn2binpad(z, s, plen) == plen;
	if (ok) {
		memcpy(key, s, DES_KEY_LEN);
		des_parity(key, DES_KEY_LEN);
		*klen = DES_KEY_LEN;
	}
	if (s)
		OPENSSL_secure_clear_free(s, (size_t)plen);
	BN_clear_free(z);
	BN_CTX_free(ctx);
	pub_bn_free(&k);
	return ok ? 0 : -ENOMEM;
}

int idn_skey_mac(idn_bytes_t key, uint8_t major, uint8_t minor,
		 idn_bytes_t signed_part, uint8_t out[IDN_SKEY_MAC_LEN])
{
	static const uint8_t zeros[IDN_SKEY_MAX + 10];
	bool v25 = major > 2 || (major == 2 && minor >= 5);
	if (key.len < 4 || key.len > IDN_SKEY_MAX)
		return IDN_EINVAL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;
	bool ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL);
	if (v25)
		ok = ok && EVP_DigestUpdate(c, key.p, 4) &&
		     EVP_DigestUpdate(c, signed_part.p, signed_part.len) &&
		     EVP_DigestUpdate(c, key.p, key.len) &&
		     EVP_DigestUpdate(c, zeros, key.len + 10);
	else
		ok = ok && EVP_DigestUpdate(c, key.p, key.len) &&
		     EVP_DigestUpdate(c, signed_part.p, signed_part.len) &&
		     EVP_DigestUpdate(c, key.p, key.len);
	ok = ok && EVP_DigestFinal_ex(c, out, &n) && n == IDN_SKEY_MAC_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -ENOMEM;
}

int idn_skey_mac_cred(idn_bytes_t key, uint8_t major, uint8_t minor,
		      idn_bytes_t signed_part, uint32_t counter,
		      idn_cred_t *cred, uint8_t buf[64])
{
	uint8_t mac[IDN_SKEY_MAC_LEN];
	static const uint8_t sha1 = HASH_CODE_SHA1;
	int err = idn_skey_mac(key, major, minor, signed_part, mac);
	if (err)
		return err;
	idn_wr_t w;
	idn_wr_init(&w, buf, 64);
	idn_sig_encode(&w, idn_bytes(&sha1, 1), idn_bytes(mac, sizeof(mac)));
	memset(cred, 0, sizeof(*cred));
	cred->signer = idn_bytes(NULL, 0);
	cred->signer_index = counter;
	cred->type = idn_bytes_str("HS_MAC");
	cred->signed_data = idn_bytes(buf, w.len);
	return w.err;
}

int idn_skey_mac_check(idn_bytes_t key, uint8_t major, uint8_t minor,
		       const idn_msg_t *m, uint32_t *counter)
{
	idn_bytes_t hash, sig;
	uint8_t mac[IDN_SKEY_MAC_LEN];
	if (!m->has_cred || !idn_bytes_eq_str(m->cred.type, "HS_MAC"))
		return IDN_EUNSUPPORTED;
	if (idn_sig_decode(m->cred.signed_data, &hash, &sig) != 0)
		return IDN_EMALFORMED;
	if (hash.len != 1 || hash.p[0] != HASH_CODE_SHA1)
		return IDN_EUNSUPPORTED;
	if (sig.len != IDN_SKEY_MAC_LEN)
		return IDN_EMALFORMED;
	int err = idn_skey_mac(key, major, minor, m->signed_part, mac);
	if (err)
		return err;
	if (CRYPTO_memcmp(mac, sig.p, sizeof(mac)) != 0)
		return IDN_EAUTH;
	*counter = m->cred.signer_index;
	return 0;
}

/* DES-CBC as triple DES with three equal keys, which the default
 * provider of OpenSSL 3 keeps (single DES is in its legacy one). */
static int des_cbc(bool enc, idn_bytes_t key, const uint8_t iv[DES_BLOCK],
		   const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t k3[3 * DES_KEY_LEN];
	if (key.len != DES_KEY_LEN || len > INT32_MAX)
		return IDN_EINVAL;
	for (int i = 0; i < 3; i++)
		memcpy(k3 + i * DES_KEY_LEN, key.p, DES_KEY_LEN);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	int ok = c != NULL &&
		 EVP_CipherInit_ex(c, EVP_des_ede3_cbc(), NULL, k3, iv, enc) &&
		 EVP_CipherUpdate(c, out, &n1, in, (int)len);
	int err = ok ? 0 : -ENOMEM;
	if (ok && !EVP_CipherFinal_ex(c, out + n1, &n2))
		err = enc ? -ENOMEM : IDN_EAUTH;
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(k3, sizeof(k3));
	*outlen = (size_t)n1 + (size_t)n2;
	return err;
}

int idn_skey_encrypt(idn_bytes_t key, int cipher, const uint8_t *in, size_t len,
		     uint8_t *out, size_t cap, size_t *outlen)
{
	if (cipher == IDN_SCIPHER_SM4)
		return cap < len + IDN_SKEY_OVERHEAD
			       ? IDN_ETOOLONG
			       : idn_sm4_cbc(true, key, in, len, out, cap,
					     outlen);
	if (cipher != IDN_SCIPHER_DES)
		return IDN_EUNSUPPORTED;
	if (cap < len + IDN_SKEY_OVERHEAD)
		return IDN_ETOOLONG;
	if (RAND_bytes(out, DES_BLOCK) != 1)
		return -ENOMEM;
	size_t n = 0;
	int err = des_cbc(true, key, out, in, len, out + DES_BLOCK, &n);
	*outlen = DES_BLOCK + n;
	return err;
}

int idn_skey_decrypt(idn_bytes_t key, int cipher, const uint8_t *in, size_t len,
		     uint8_t *out, size_t cap, size_t *outlen)
{
	if (cipher == IDN_SCIPHER_SM4)
		return idn_sm4_cbc(false, key, in, len, out, cap, outlen);
	if (cipher != IDN_SCIPHER_DES)
		return IDN_EUNSUPPORTED;
	if (len < 2 * DES_BLOCK || len % DES_BLOCK != 0)
		return IDN_EMALFORMED;
	if (cap < len)
		return IDN_ETOOLONG;
	return des_cbc(false, key, in, in + DES_BLOCK, len - DES_BLOCK, out,
		       outlen);
}

int idn_skey_seal_frame(idn_bytes_t key, int cipher, uint8_t *buf, size_t len,
			size_t cap, size_t *outlen)
{
	if (len < IDN_ENV_LEN + IDN_HDR_LEN)
		return IDN_EINVAL;
	uint8_t *hdr = buf + IDN_ENV_LEN;
	idn_put_u32(hdr + IDN_HDR_OFF_FLAGS,
		    idn_hdr_flags(hdr) | IDN_OF_ENCRYPT);
	size_t mlen = len - IDN_ENV_LEN, n = 0;
	uint8_t *plain = malloc(mlen);
	if (plain == NULL)
		return -ENOMEM;
	memcpy(plain, hdr, mlen);
	int err = idn_skey_encrypt(key, cipher, plain, mlen, hdr,
				   cap - IDN_ENV_LEN, &n);
	OPENSSL_cleanse(plain, mlen);
	free(plain);
	if (err)
		return err;
	buf[IDN_ENV_OFF_FLAGS] |= IDN_EF_ENCRYPTED;
	idn_put_u32(buf + IDN_ENV_OFF_MSG_LEN, (uint32_t)n);
	*outlen = IDN_ENV_LEN + n;
	return 0;
}
