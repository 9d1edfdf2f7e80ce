/* Which hash a Handle peer understands, and the floor an operator sets
 * (docs/security.md, "Hash negotiation").
 *
 * The rule, one for every place a signature or MAC is made or checked
 * (challenge answers, signed replies):
 *  - what is made for a peer uses the hash that peer knows: a peer
 *    speaking protocol 2.7 or later (HANDLE.NET 8 and later, idnode)
 *    SHA-256; an older one SHA-1, which HANDLE.NET 7.x (protocol 2.5)
 *    verifies, it knowing SHA-1 and MD5 only;
 *  - what is accepted is every form the reference sends (RSA and DSA
 *    with SHA-1 or MD5, HANDLE.NET's HS_SECKEY forms, seckey.h);
 *  - neither ever goes below the configured floor (idnode's
 *    min-auth-hash): a form weaker than it is refused, and a signature
 *    made for an old peer uses the floor's hash when that is stronger. */
#ifndef IDN_NEGO_H
#define IDN_NEGO_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

/* Hash strengths, weakest first; 0 is unknown. */
enum {
	IDN_HASH_RANK_MD5 = 1,
	IDN_HASH_RANK_SHA1 = 2,
	IDN_HASH_RANK_SHA256 = 3,
};

/* The first protocol minor version (of major 2) whose peers know SHA-256
 * signatures. */
#define IDN_PROTO_MINOR_SHA256 7

/* "md5", "sha1" or "sha256" (any case) as a rank, or -1. */
int idn_hash_rank_parse(const char *s);

/* The name idn_hash_rank_parse reads for rank ("?" when out of range). */
const char *idn_hash_rank_name(int rank);

/* The rank of the hash a signature names ("MD5", "SHA1", "SHA-1",
 * "SHA256", "SHA-256"; "SM3" ranks with SHA-256), 0 when unknown. */
int idn_hash_rank_of(idn_bytes_t name);

/* Whether a peer speaking protocol major.minor knows SHA-256 signatures:
 * 2.7 and later, and every newer major. */
bool idn_peer_knows_sha256(uint8_t major, uint8_t minor);

/* The hash to sign with for a peer speaking major.minor with key: SM3 for
 * SM2 keys; SHA-256 when the peer knows it or floor (an IDN_HASH_RANK_*)
 * asks for more than SHA-1; else SHA-1. A name idn_sig_sign takes. */
const char *idn_sig_hash_for_peer(EVP_PKEY *key, uint8_t major, uint8_t minor,
				  int floor);

#endif
