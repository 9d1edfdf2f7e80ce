/* Secret-key (HS_SECKEY) answers to challenges (docs/architecture.md, Wire
 * protocol), as the Handle protocol versions define them. The answer's
 * signature field is one algorithm byte and then: 0x13 HMAC-SHA256
 * HMAC-SHA256(secret, nonce || request digest) 0x12 HMAC-SHA1 HMAC-SHA1(secret,
 * nonce || request digest) 0x22 PBKDF2_HMAC_SHA1  (protocol 2.7 and later) salt
 * (byte array), iterations (u32), key length in bits (u32), then the MAC as a
 * byte array: HMAC-SHA1 keyed with PBKDF2-HMAC-SHA1(secret, salt, iterations,
 *                          key length) over nonce || request digest.
 * and HANDLE.NET's own forms (tests/vectors/nego/seckey-*), a hash of
 * secret || nonce || request digest || secret:
 *   0x02 SHA-1            (protocol 2.1 and later; what HANDLE.NET 7 sends)
 *   0x01 MD5
 *   no algorithm byte, 16 bytes of MD5   (protocol 2.0, before 2.1)
 * The secret is the data of the admin's HS_SECKEY value, byte for byte.
 * Checks compare in constant time. */
#ifndef IDN_SECKEY_H
#define IDN_SECKEY_H

#include <stdint.h>

#include "wire.h"

enum {
	IDN_MAC_MD5 = 0x01,
	IDN_MAC_SHA1 = 0x02,
	IDN_MAC_HMAC_SHA1 = 0x12,
	IDN_MAC_HMAC_SHA256 = 0x13,
	IDN_MAC_PBKDF2_HMAC_SHA1 = 0x22,
};

/* A verifier accepts at most this many PBKDF2 iterations (the client
 * chooses them; more would let one request burn the node's CPU). */
#define IDN_PBKDF2_ITER_MAX 200000
#define IDN_PBKDF2_ITER_DEFAULT 10000

/* Writes the answer's signature field for algorithm alg (IDN_MAC_*) with
 * the secret over nonce || digest. Returns 0, IDN_EUNSUPPORTED for an
 * unknown alg, IDN_EAUTH when the library fails, or the writer's error. */
int idn_seckey_answer(uint8_t alg, idn_bytes_t secret, idn_bytes_t nonce,
		      idn_bytes_t digest, idn_wr_t *w);

/* Checks an answer's signature field against the secret. Returns 0,
 * IDN_EAUTH when it does not match, IDN_EMALFORMED for a bad layout,
 * IDN_EUNSUPPORTED for an unknown algorithm or out-of-range PBKDF2
 * parameters. */
int idn_seckey_verify(idn_bytes_t secret, idn_bytes_t answer, idn_bytes_t nonce,
		      idn_bytes_t digest);

/* idn_seckey_verify for an answer to a challenge of a request in protocol
 * 2.minor (major 2; pass a minor of 1 or more for newer majors): before
 * 2.1 the answer is the bare 16-byte MD5 form. */
int idn_seckey_verify_v(idn_bytes_t secret, idn_bytes_t answer,
			idn_bytes_t nonce, idn_bytes_t digest, uint8_t minor);

/* The strength (nego.h IDN_HASH_RANK_*) of an answer's form, read as
 * idn_seckey_verify_v reads it; 0 for an unknown or malformed one. */
int idn_seckey_rank(idn_bytes_t answer, uint8_t minor);

#endif
