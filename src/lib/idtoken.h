/* The national system's resolution token (docs/national.md): the string a
 * resolution request of the IDIS SDK may carry after its type list
 * (idn_resolve_req_t.token), a compact JWT signed by an admin,
 * {"typ":"JWT","alg":"RS256"} with the claims user_handle (the admin's
 * identifier), user_index (its HS_PUBKEY's index), nonce and timestamp
 * (Unix milliseconds). */
#ifndef IDN_IDTOKEN_H
#define IDN_IDTOKEN_H

#include <openssl/evp.h>
#include <stdint.h>

#include "ident.h"
#include "jwt.h"
#include "wire.h"

typedef struct {
	idn_jwt_t jwt;
	uint8_t admin[IDN_IDENT_MAX];
	size_t admin_len;
	uint32_t index;
	int64_t timestamp_ms;
} idn_idtoken_t;

/* Parses a token of len bytes without checking its signature. Returns 0
 * (free with idn_idtoken_free), IDN_EMALFORMED (not a JWT, or claims
 * user_handle, user_index or timestamp missing or out of range),
 * IDN_EUNSUPPORTED (another alg), -ENOMEM. */
int idn_idtoken_decode(idn_bytes_t token, idn_idtoken_t *out);

void idn_idtoken_free(idn_idtoken_t *t);

/* Checks that the token's timestamp lies within skew_ms of now_ms and
 * that key (the admin's public key) signed it. Returns 0, or IDN_EAUTH
 * with *why saying which check failed (static text). */
int idn_idtoken_verify(const idn_idtoken_t *t, EVP_PKEY *key, int64_t now_ms,
		       int64_t skew_ms, const char **why);

#endif
