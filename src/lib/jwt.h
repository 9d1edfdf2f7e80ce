/* Compact JSON Web Signatures (RFC 7515) for HS_CERT and HS_SIGNATURE
 * values (docs/architecture.md, Wire protocol; docs/trust.md), through OpenSSL
 * libcrypto and jansson.
 *
 * Two algorithms:
 *   "RS256"  RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)
 *   "SM2"    SM2 signature with SM3 (GB/T 32918.2, GM/T 0009), the signer
 *            identity being the default "1234567812345678"; the signature
 *            is r || s, 32 bytes each, big-endian (as ES256 does in
 *            RFC 7518 §3.4), not DER.
 * Public keys travel as JWKs (RFC 7517): RSA {"kty":"RSA","n","e"}, SM2
 * {"kty":"EC","crv":"SM2","x","y"} (coordinates 32 bytes, base64url). */
#ifndef IDN_JWT_H
#define IDN_JWT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest token accepted by idn_jwt_decode (a value's data is at most this
 * large in practice; certificates are about 1 KiB). */
#define IDN_JWT_MAX 65536

typedef enum { IDN_JWT_RS256 = 1, IDN_JWT_SM2 = 2 } idn_jwt_alg_t;

/* "RS256" / "SM2", NULL for anything else. */
const char *idn_jwt_alg_name(int alg);

/* The algorithm a key signs with: IDN_JWT_RS256 for RSA keys (2048 bits or
 * more), IDN_JWT_SM2 for SM2 keys; IDN_EUNSUPPORTED otherwise. */
int idn_jwt_key_alg(EVP_PKEY *key);

/* The digest name of an algorithm's per-value digests: "SHA-256" for RS256,
 * "SM3" for SM2. */
const char *idn_jwt_digest_name(int alg);

/* Digest (SHA-256 or SM3, both 32 bytes) of p[0..n) named as
 * idn_jwt_digest_name says ("SHA-256", "SM3"). Returns 0 or
 * IDN_EUNSUPPORTED. */
int idn_jwt_digest(const char *name, const void *p, size_t n, uint8_t out[32]);

/* base64url without padding (RFC 7515 §2). Returns a NUL-terminated
 * string the caller frees, NULL when out of memory. */
char *idn_b64url_encode(const uint8_t *p, size_t n);

/* Decodes base64url text s[0..n): no padding, no whitespace, no '+' or
 * '/', no leftover bits. *out (caller frees; never NULL on success, even
 * for empty input) gets the bytes, *out_len their count. Returns 0,
 * IDN_EMALFORMED, -ENOMEM. */
int idn_b64url_decode(const char *s, size_t n, uint8_t **out, size_t *out_len);

/* A decoded token. header and claims are owned (json_decref'd by
 * idn_jwt_free); signed_part is "header.payload" as it appeared. */
typedef struct {
	int alg; /* IDN_JWT_* */
	json_t *header;
	json_t *claims;
	char *signed_part;
	size_t signed_len;
	uint8_t *sig;
	size_t sig_len;
} idn_jwt_t;

/* Signs claims (a JSON object, not consumed) with key and writes the
 * compact token into *out (caller frees). The header is
 * {"alg":ALG,"typ":"JWT"}. Returns 0, IDN_EUNSUPPORTED (key type),
 * IDN_EINVAL (claims not an object), IDN_EAUTH (the key cannot sign),
 * -ENOMEM. */
int idn_jwt_sign(const json_t *claims, EVP_PKEY *key, char **out);

/* Parses a compact token of len bytes without checking its signature:
 * three base64url segments, a JSON object header whose "alg" is RS256 or
 * SM2 (and no "crit"), a JSON object payload. Returns 0 (free with
 * idn_jwt_free), IDN_EMALFORMED, IDN_ETOOLONG (len > IDN_JWT_MAX),
 * IDN_EUNSUPPORTED (another alg), -ENOMEM. */
int idn_jwt_decode(const char *tok, size_t len, idn_jwt_t *out);

void idn_jwt_free(idn_jwt_t *t);

/* Checks the token's signature with key. Returns 0, IDN_EAUTH (does not
 * verify, or the key is not of the token's algorithm). */
int idn_jwt_verify(const idn_jwt_t *t, EVP_PKEY *key);

/* Checks "nbf" and "exp" (numbers of Unix seconds; both required) against
 * now, allowing leeway seconds of clock skew. Returns 0 or IDN_EAUTH, with
 * the reason ("expired at ...", "not valid before ...", "no exp claim") in
 * why. */
int idn_jwt_check_time(const idn_jwt_t *t, time_t now, long leeway, char *why,
		       size_t cap);

/* The JWK of key's public half (a new object, caller json_decref's).
 * Returns 0, IDN_EUNSUPPORTED, -ENOMEM. */
int idn_jwk_from_key(EVP_PKEY *key, json_t **out);

/* The public key a JWK describes (RSA, or EC on curve SM2). Returns 0
 * (caller EVP_PKEY_free's *out), IDN_EMALFORMED, IDN_EUNSUPPORTED. */
int idn_jwk_to_key(const json_t *jwk, EVP_PKEY **out);

/* Reads a PEM private key (any type OpenSSL reads, including SM2 keys from
 * `openssl genpkey -algorithm SM2`, unencrypted) or, with pub, a PEM public
 * key (SubjectPublicKeyInfo) from path. Returns 0 (caller frees *out),
 * IDN_EINVAL (unreadable or no key). */
int idn_pem_load(const char *path, bool pub, EVP_PKEY **out);

#endif
