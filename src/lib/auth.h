/* Cryptography of Handle authentication (DESIGN §5), through OpenSSL
 * libcrypto: public keys from HS_PUBKEY values and signature checks, such
 * as a client's answer to a challenge (a signature over nonce || request
 * digest). */
#ifndef IDN_AUTH_H
#define IDN_AUTH_H

#include <openssl/evp.h>

#include "wire.h"

/* Builds a public key from the data of an HS_PUBKEY value: RSA_PUB_KEY
 * (exponent, modulus) or DSA_PUB_KEY (q, p, g, y). Returns 0,
 * IDN_EMALFORMED / IDN_EVALUE for a bad layout, IDN_EUNSUPPORTED for other
 * key types, -ENOMEM. The caller frees *out with EVP_PKEY_free. */
int idn_pubkey_load(idn_bytes_t data, EVP_PKEY **out);

/* Checks sig (PKCS#1 v1.5 for RSA, DER for DSA) over the concatenation of
 * parts with the hash named by hash ("SHA1", "SHA-1", "SHA256", "SHA-256",
 * "MD5"). Returns 0, IDN_EAUTH when it does not verify, IDN_EUNSUPPORTED
 * for an unknown hash. */
int idn_sig_verify(EVP_PKEY *key, idn_bytes_t hash, const idn_bytes_t *parts,
		   int nparts, idn_bytes_t sig);

#endif
