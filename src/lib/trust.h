/* Trust in the national system (docs/architecture.md, Wire protocol;
 * docs/trust.md): HS_CERT values bind a public key to an identifier:index with
 * scoped permissions and chain up to a trust root; HS_SIGNATURE values list
 * digests of a record's values, so a reply that withholds non-public values
 * still verifies.
 *
 * Both are compact JWS tokens (jwt.h). References are written the Handle
 * way, "INDEX:IDENTIFIER" (e.g. "300:0.NA/88.118.8"). */
#ifndef IDN_TRUST_H
#define IDN_TRUST_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "value.h"

/* Longest chain followed from a signer up to the root (links). */
#define IDN_TRUST_DEPTH 8

/* Parses "INDEX:IDENTIFIER" (index decimal, identifier non-empty).
 * *id points into s. Returns 0 or IDN_EINVAL. */
int idn_trust_ref_parse(const char *s, uint32_t *index, const char **id);

/* True when two "INDEX:IDENTIFIER" references name the same value (same
 * index, identifiers equal ASCII case-insensitively). */
bool idn_trust_ref_eq(const char *a, const char *b);

/* Parses a permission list "PERM:HANDLE[,PERM:HANDLE...]" where PERM is
 * everything, thisHandle, derivedPrefixes or handlesUnderThisPrefix
 * ("everything" needs no HANDLE) into a JSON array of {"handle","perm"}
 * objects (caller json_decref's). Returns 0 or IDN_EINVAL. */
int idn_trust_perms_parse(const char *spec, json_t **out);

/* Checks that perms (a JSON array as above) is well-formed. */
bool idn_trust_perms_valid(const json_t *perms);

/* True when perms (NULL: unlimited, the root) allow signing for the
 * identifier id (e.g. "88.118.8/part-1"). */
bool idn_trust_perms_cover_id(const json_t *perms, const char *id);

/* True when every entry of inner lies within outer (NULL: unlimited). */
bool idn_trust_perms_cover(const json_t *outer, const json_t *inner);

/* An HS_CERT to issue. */
typedef struct {
	const char *issuer;  /* "INDEX:ID" of the issuer's key */
	const char *subject; /* "INDEX:ID" of the subject's key */
	EVP_PKEY *subject_key;
	const json_t *perms; /* array of {"handle","perm"} */
	long long iat, nbf, exp;
	int form; /* IDN_JWT_FORM_* (jwt.h): header, SM2 alg and JWK shape */
} idn_cert_req_t;

/* Issues the HS_CERT token of req signed with issuer_key (RS256 for RSA,
 * SM2256 or SM2 for SM2 keys, as req->form says). *out is the token (caller
 * frees). Returns 0, IDN_EINVAL (bad reference or perms), IDN_EUNSUPPORTED (key
 * type), IDN_EAUTH, -ENOMEM. */
int idn_trust_issue_cert(const idn_cert_req_t *req, EVP_PKEY *issuer_key,
			 char **out);

/* The digest of one value as HS_SIGNATURE lists it, handle.net's way
 * (HANDLE.NET 9, net.handle.hdllib.trust.HandleValueDigester, which the
 * national SDK keeps): digest_name ("SHA-256" or "SM3") over the value's
 * wire encoding (docs/architecture.md, Values) from its byte 8 on, so the
 * index and the timestamp are left out; listed as standard base64 with
 * padding. Returns 0, IDN_EUNSUPPORTED, -ENOMEM. */
int idn_trust_value_digest(const idn_value_t *v, const char *digest_name,
			   uint8_t out[32]);

/* The digest idnode listed before it followed handle.net: over the whole
 * encoding with the timestamp set to zero, listed as base64url without
 * padding. Only verified, never issued. Returns as idn_trust_value_digest.
 */
int idn_trust_value_digest_v0(const idn_value_t *v, const char *digest_name,
			      uint8_t out[32]);

/* Issues the HS_SIGNATURE token of record id over values[0..n), skipping
 * HS_SIGNATURE values and the value at skip_index (the one the signature
 * will replace; UINT32_MAX for none), signed by signer ("INDEX:ID") with
 * key in form (IDN_JWT_FORM_*); the digests (idn_trust_value_digest) use
 * the algorithm's digest (SHA-256 but for the former form's SM2). Returns
 * as idn_trust_issue_cert. */
int idn_trust_sign_record(const char *signer, const char *id,
			  const idn_value_t *values, uint32_t n,
			  uint32_t skip_index, long long iat, long long nbf,
			  long long exp, EVP_PKEY *key, int form, char **out);

/* ---- verification ---- */

/* Gets the values of record id (all the resolver may see) into *values,
 * *n, allocated from a. Returns 0 or an error (not found, transport). */
typedef int (*idn_trust_fetch_fn)(void *ctx, const char *id, idn_arena_t *a,
				  idn_value_t **values, uint32_t *n);

typedef struct {
	EVP_PKEY *root; /* the trust root's public key */
	idn_trust_fetch_fn fetch;
	void *ctx;
	time_t now;
	long leeway; /* seconds of clock skew allowed */
} idn_trust_t;

/* The trust root kept as a self-issued HS_CERT in a record, as the
 * national system keeps its root at 88.111.1/0.0 index 400: resolves id
 * through t->fetch, takes the HS_CERT at index (0: the first self-issued
 * one), and checks that it is self-issued (iss = sub), that sub names a
 * key of id, that its own publicKey verifies it and that it is within its
 * validity times. *key (caller frees) is that publicKey, the root key a
 * verifier then passes as t->root. Naming the record is the verifier's act
 * of trust, as the SDK's configured root handle is. why gets the reason on
 * failure. Returns 0, IDN_ENOTFOUND (no record, or no such HS_CERT),
 * IDN_EAUTH (not a valid self-issued root), -ENOMEM. */
int idn_trust_root_at(const idn_trust_t *t, const char *id, uint32_t index,
		      idn_arena_t *a, EVP_PKEY **key, char *why, size_t cap);

/* Verdict on one value of the record. */
enum {
	IDN_TV_VERIFIED = 1, /* a verified signature lists its digest */
	IDN_TV_WITHHELD,     /* signed, but not in the reply */
	IDN_TV_MISMATCH,  /* present, its digest differs from the signed one */
	IDN_TV_UNSIGNED,  /* present, no verified signature lists it */
	IDN_TV_SIGNATURE, /* an HS_SIGNATURE value itself */
};

typedef struct {
	uint32_t index;
	int verdict;   /* IDN_TV_* */
	char type[64]; /* "" for withheld values */
} idn_trust_value_t;

/* One HS_SIGNATURE of the record and its chain. */
typedef struct {
	uint32_t index;
	bool ok;
	char signer[300]; /* its iss */
	char alg[8];
	char why[300]; /* the first reason it failed */
	int nlinks;    /* chain, root side first */
	char links[IDN_TRUST_DEPTH][400];
} idn_trust_sig_t;

#define IDN_TRUST_SIGS_MAX 8

typedef struct {
	bool ok; /* every present value verified, >= 1 signature */
	uint32_t nvalues;
	idn_trust_value_t *values; /* sorted by index; from the arena */
	int nsigs;
	idn_trust_sig_t sigs[IDN_TRUST_SIGS_MAX];
	uint32_t verified, withheld, mismatched, unsigned_;
} idn_trust_report_t;

/* Verifies the record id whose reply carried values[0..n): every
 * HS_SIGNATURE value's token (its signature with the signer's key from
 * the signer's HS_CERT, the HS_CERT chain up to t->root fetched through
 * t->fetch, validity times, and scope: each certificate within its
 * issuer's permissions, the record within the signer's), then each value
 * against the digests of the verified signatures. The report's arrays come
 * from a. Returns 0 (whatever the verdict: see out->ok), -ENOMEM. */
int idn_trust_verify_record(const idn_trust_t *t, const char *id,
			    const idn_value_t *values, uint32_t n,
			    idn_arena_t *a, idn_trust_report_t *out);

/* "verified", "withheld", "MISMATCH", "UNSIGNED", "signature". */
const char *idn_trust_verdict_name(int verdict);

#endif
