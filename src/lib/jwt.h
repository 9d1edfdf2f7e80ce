/* Compact JSON Web Signatures (RFC 7515) for HS_CERT and HS_SIGNATURE
 * values (docs/architecture.md, Wire protocol; docs/trust.md), through OpenSSL
 * libcrypto and jansson.
 *
 * Three algorithms:
 *   "RS256"  RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)
 *   "SM2256" SM2 signature with SM3 (GB/T 32918.2, GM/T 0009), the signer
 *            identity being the default "1234567812345678", the signature
 *            DER SEQUENCE{r, s}: the national system's form (its Java SDK
 *            writes the header {"alg":"SM2256"} and nothing else)
 *   "SM2"    idnode's former SM2 form: the same signature as r || s, 32
 *            bytes each, big-endian (as ES256 does in RFC 7518 §3.4)
 * Public keys travel as JWKs (RFC 7517): RSA {"kty":"RSA","n","e"}; SM2 in
 * the national form {"kty":"SM2","d":base64url(DER SubjectPublicKeyInfo)}
 * or idnode's former {"kty":"EC","crv":"SM2","x","y"} (coordinates 32
 * bytes, base64url). Both are read; the form asked for is written. */
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

typedef enum {
	IDN_JWT_RS256 = 1,
	IDN_JWT_SM2 = 2,    /* idnode's former SM2 form, raw r || s */
	IDN_JWT_SM2256 = 3, /* the national SM2 form, DER signature */
} idn_jwt_alg_t;

/* The shape of the tokens issued (both are always read). Zero, the
 * library's default, is the former form, so that callers that do not ask
 * keep making what they made; idctl asks for the national form unless told
 * otherwise (docs/trust.md, Forms). */
typedef enum {
	IDN_JWT_FORM_IDNODE = 0,   /* {"alg","typ":"JWT"}, "SM2", EC JWK */
	IDN_JWT_FORM_NATIONAL = 1, /* {"alg"} only, "SM2256", SPKI JWK */
} idn_jwt_form_t;

/* "RS256" / "SM2" / "SM2256", NULL for anything else. */
const char *idn_jwt_alg_name(int alg);

/* The algorithm a key signs with in idnode's former form: IDN_JWT_RS256
 * for RSA keys (2048 bits or more), IDN_JWT_SM2 for SM2 keys;
 * IDN_EUNSUPPORTED otherwise. */
int idn_jwt_key_alg(EVP_PKEY *key);

/* The algorithm key signs with in form (IDN_JWT_FORM_*): as
 * idn_jwt_key_alg, with IDN_JWT_SM2256 for SM2 keys in the national form.
 */
int idn_jwt_form_alg(EVP_PKEY *key, int form);

/* The digest name of an algorithm's per-value digests: "SHA-256" for RS256
 * and SM2256 (the national SDK digests SM2-signed records with SHA-256
 * too), "SM3" for SM2. */
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

/* idn_jwt_sign in form (IDN_JWT_FORM_*): the national form's header is
 * {"alg":ALG} alone, with ALG "SM2256" for SM2 keys. Returns as
 * idn_jwt_sign, IDN_EINVAL for an unknown form. */
int idn_jwt_sign_form(const json_t *claims, EVP_PKEY *key, int form,
		      char **out);

/* Parses a compact token of len bytes without checking its signature:
 * three base64url segments, a JSON object header whose "alg" is RS256,
 * SM2256 or SM2 (and no "crit"), a JSON object payload. Returns 0 (free with
 * idn_jwt_free), IDN_EMALFORMED, IDN_ETOOLONG (len > IDN_JWT_MAX),
 * IDN_EUNSUPPORTED (another alg), -ENOMEM. */
int idn_jwt_decode(const char *tok, size_t len, idn_jwt_t *out);

void idn_jwt_free(idn_jwt_t *t);

/* Checks the token's signature with key (an SM2 key for both SM2 forms).
 * Returns 0, IDN_EAUTH (does not verify, or the key is not of the token's
 * algorithm). */
int idn_jwt_verify(const idn_jwt_t *t, EVP_PKEY *key);

/* Checks "nbf" and "exp" (numbers of Unix seconds; both required) against
 * now, allowing leeway seconds of clock skew. Returns 0 or IDN_EAUTH, with
 * the reason ("expired at ...", "not valid before ...", "no exp claim") in
 * why. */
int idn_jwt_check_time(const idn_jwt_t *t, time_t now, long leeway, char *why,
		       size_t cap);

/* The JWK of key's public half in idnode's former form (a new object,
 * caller json_decref's). Returns 0, IDN_EUNSUPPORTED, -ENOMEM. */
int idn_jwk_from_key(EVP_PKEY *key, json_t **out);

/* idn_jwk_from_key in form (IDN_JWT_FORM_*): SM2 keys in the national form
 * as {"kty":"SM2","d":base64url(DER SubjectPublicKeyInfo)}. */
int idn_jwk_from_key_form(EVP_PKEY *key, int form, json_t **out);

/* The public key a JWK describes: RSA, EC on curve SM2, or kty SM2 with
 * "d" a SubjectPublicKeyInfo (base64url, or base64 as some writers use).
 * Returns 0 (caller EVP_PKEY_free's *out), IDN_EMALFORMED,
 * IDN_EUNSUPPORTED. */
int idn_jwk_to_key(const json_t *jwk, EVP_PKEY **out);

/* The SM2 public key of a DER SubjectPublicKeyInfo p[0..n) (algorithm
 * id-ecPublicKey with the SM2 curve, or the SM2 algorithm identifier),
 * checked to lie on the curve. Returns 0 (caller EVP_PKEY_free's *out),
 * IDN_EMALFORMED (not DER, trailing bytes, not a point), IDN_EUNSUPPORTED
 * (another key type). */
int idn_sm2_spki_decode(const uint8_t *p, size_t n, EVP_PKEY **out);

/* key's public half as a DER SubjectPublicKeyInfo into *out (caller
 * OPENSSL_free's), *len its size. Returns 0 or IDN_EUNSUPPORTED. */
int idn_spki_encode(EVP_PKEY *key, uint8_t **out, size_t *len);

/* Reads a PEM private key (any type OpenSSL reads, including SM2 keys from
 * `openssl genpkey -algorithm SM2`, unencrypted) or, with pub, a PEM public
 * key (SubjectPublicKeyInfo) from path. Returns 0 (caller frees *out),
 * IDN_EINVAL (unreadable or no key). */
int idn_pem_load(const char *path, bool pub, EVP_PKEY **out);

#endif
