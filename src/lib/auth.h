/* Cryptography of Handle authentication (docs/architecture.md, Wire protocol),
 * through OpenSSL libcrypto: public keys from HS_PUBKEY values and signature
 * checks, such as a client's answer to a challenge (a signature over nonce ||
 * request digest). */
#ifndef IDN_AUTH_H
#define IDN_AUTH_H

#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "wire.h"

/* The SM2 distinguishing ID hashed into every SM2 signature (GM/T 0009's
 * default), used by both sides of SM3withSM2. */
#define IDN_SM2_DEFAULT_ID "1234567812345678"

/* Builds a public key from the data of an HS_PUBKEY value: RSA_PUB_KEY
 * (exponent, modulus), DSA_PUB_KEY (q, p, g, y) or SM2_PUB_KEY. The SM2
 * layout: key type string "SM2_PUB_KEY", flags 0 (2 bytes), then one byte
 * array holding either the uncompressed point on the SM2 curve, 65 bytes
 * 04 || x || y (idnode's raw form), or an X.509 SubjectPublicKeyInfo, DER
 * or PEM text (the national form: the IDIS SDK writes PEM, reads DER;
 * docs/national.md). Returns 0,
 * IDN_EMALFORMED / IDN_EVALUE for a bad layout, IDN_EUNSUPPORTED for other
 * key types, -ENOMEM. The caller frees *out with EVP_PKEY_free. */
int idn_pubkey_load(idn_bytes_t data, EVP_PKEY **out);

/* The most integers idn__pkey_build takes (an RSA private key's eight). */
#define IDN__PKEY_NUMS_MAX 8

/* Internal (auth.c, cnrikey.c, jwt.c): a key of OpenSSL algorithm alg
 * ("RSA", "DSA", "SM2") and selection (EVP_PKEY_PUBLIC_KEY or
 * EVP_PKEY_KEYPAIR) from the parameters pushed on bld (NULL: none; bld
 * stays the caller's) and the big-endian unsigned integers nums[i] named
 * names[i] (n <= IDN__PKEY_NUMS_MAX; wiped when freed). Returns 0 (*out
 * the caller's, EVP_PKEY_free), -ENOMEM, IDN_EMALFORMED when OpenSSL
 * refuses the parameters. */
int idn__pkey_build(OSSL_PARAM_BLD *bld, const char *alg, int selection,
		    const char *const *names, const idn_bytes_t *nums, int n,
		    EVP_PKEY **out);

/* Internal: an SM2 public key from its uncompressed point 04 || x || y
 * (len bytes; not checked to lie on the curve). Returns as
 * idn__pkey_build. */
int idn__sm2_from_point(const uint8_t *pt, size_t len, EVP_PKEY **out);

/* Checks sig (PKCS#1 v1.5 for RSA, DER for DSA and SM2) over the
 * concatenation of parts with the hash named by hash ("SHA1", "SHA-1",
 * "SHA256", "SHA-256", "MD5", "SM3"). SM2 keys verify SM2 signatures with
 * the distinguishing ID IDN_SM2_DEFAULT_ID. Returns 0, IDN_EAUTH when it does
 * not verify, IDN_EUNSUPPORTED for an unknown hash. */
int idn_sig_verify(EVP_PKEY *key, idn_bytes_t hash, const idn_bytes_t *parts,
		   int nparts, idn_bytes_t sig);

/* Signs the concatenation of parts with hash ("SHA256" recommended, or
 * "SHA1") and writes the signature into out (cap bytes; 1024 holds any
 * RSA-8192 or DSA signature), its length into *out_len. Returns 0,
 * IDN_EUNSUPPORTED, IDN_ETOOLONG, IDN_EAUTH when the key cannot sign. */
int idn_sig_sign(EVP_PKEY *key, const char *hash, const idn_bytes_t *parts,
		 int nparts, uint8_t *out, size_t cap, size_t *out_len);

/* Checks the signature of a challenge answer (hash as the answer names
 * it) over nonce || digest by the admin identifier admin. An SM2 key with
 * hash "SM3" verifies either form: idnode's (SM3withSM2 over nonce ||
 * digest, default ID) or the national system's (IDIS SDK: SM3withSM2 over
 * SM3(nonce || digest), the admin identifier as the SM2 user ID; DER
 * signature). Returns 0, IDN_EAUTH, IDN_EUNSUPPORTED (unknown hash),
 * -ENOMEM. */
int idn_answer_verify(EVP_PKEY *key, idn_bytes_t hash, idn_bytes_t nonce,
		      idn_bytes_t digest, idn_bytes_t sig, idn_bytes_t admin);

/* Signs a challenge answer, nonce || digest, with key and hash (as
 * idn_sig_sign) and writes the signature as an HS_PUBKEY answer carries it
 * (idn_sig_encode) into w. Returns 0 or idn_sig_sign's error; a w too
 * small is left in w->err. */
int idn_answer_sign(EVP_PKEY *key, const char *hash, idn_bytes_t nonce,
		    idn_bytes_t digest, idn_wr_t *w);

/* Signs a challenge answer in the national SM2 form (see
 * idn_answer_verify) with SM2 key; the hash to name is "SM3". Returns 0
 * with the DER signature in out (cap bytes, 80 suffice) and its length in
 * *out_len, IDN_EUNSUPPORTED (not SM2), IDN_ETOOLONG, IDN_EAUTH, -ENOMEM. */
int idn_answer_sign_national(EVP_PKEY *key, idn_bytes_t nonce,
			     idn_bytes_t digest, idn_bytes_t admin,
			     uint8_t *out, size_t cap, size_t *out_len);

/* The hash a key signs challenge answers with: "SM3" for SM2 keys (the
 * national SM3withSM2), "SHA256" for the others. */
const char *idn_sig_hash_for(EVP_PKEY *key);

/* Writes the HS_PUBKEY data of an RSA key (RSA_PUB_KEY, flags 0, exponent,
 * modulus, and an empty third array as the reference encoder does), of a
 * DSA key (DSA_PUB_KEY, flags 0, q, p, g, y, as the reference encoder
 * does) or of an SM2 key (SM2_PUB_KEY, see idn_pubkey_load). Returns 0,
 * IDN_EUNSUPPORTED for other keys, or the writer's error. */
int idn_pubkey_encode(EVP_PKEY *key, idn_wr_t *w);

/* As idn_pubkey_encode, but an SM2 key in the national form:
 * SM2_PUB_KEY, flags 0, one byte array holding the DER
 * SubjectPublicKeyInfo (id-ecPublicKey on curve SM2), which the IDIS SDK
 * reads. Other keys as idn_pubkey_encode. */
int idn_pubkey_encode_national(EVP_PKEY *key, idn_wr_t *w);

#endif
