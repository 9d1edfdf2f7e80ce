/* Cryptography of Handle authentication (docs/architecture.md, Wire protocol),
 * through OpenSSL libcrypto: public keys from HS_PUBKEY values and signature
 * checks, such as a client's answer to a challenge (a signature over nonce ||
 * request digest). */
#ifndef IDN_AUTH_H
#define IDN_AUTH_H

#include <openssl/evp.h>

#include "wire.h"

/* The SM2 distinguishing ID hashed into every SM2 signature (GM/T 0009's
 * default), used by both sides of SM3withSM2. */
#define IDN_SM2_DEFAULT_ID "1234567812345678"

/* Builds a public key from the data of an HS_PUBKEY value: RSA_PUB_KEY
 * (exponent, modulus), DSA_PUB_KEY (q, p, g, y) or SM2_PUB_KEY. The SM2
 * layout, idnode's for the national system: key type string
 * "SM2_PUB_KEY", flags 0 (2 bytes), then one byte array holding the
 * uncompressed point on the SM2 curve, 65 bytes 04 || x || y. Returns 0,
 * IDN_EMALFORMED / IDN_EVALUE for a bad layout, IDN_EUNSUPPORTED for other
 * key types, -ENOMEM. The caller frees *out with EVP_PKEY_free. */
int idn_pubkey_load(idn_bytes_t data, EVP_PKEY **out);

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

/* The hash a key signs challenge answers with: "SM3" for SM2 keys (the
 * national SM3withSM2), "SHA256" for the others. */
const char *idn_sig_hash_for(EVP_PKEY *key);

/* Writes the HS_PUBKEY data of an RSA key (RSA_PUB_KEY, flags 0, exponent,
 * modulus, and an empty third array as the reference encoder does), of a
 * DSA key (DSA_PUB_KEY, flags 0, q, p, g, y, as the reference encoder
 * does) or of an SM2 key (SM2_PUB_KEY, see idn_pubkey_load). Returns 0,
 * IDN_EUNSUPPORTED for other keys, or the writer's error. */
int idn_pubkey_encode(EVP_PKEY *key, idn_wr_t *w);

#endif
