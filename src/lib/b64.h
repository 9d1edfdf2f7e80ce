/* Base64 (RFC 4648): encoding of binary value data for JSON output,
 * through OpenSSL's EVP_EncodeBlock, and the one decoder of the tree. */
#ifndef IDN_B64_H
#define IDN_B64_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "wire.h"

/* Returns the NUL-terminated base64 text of p[0..n), owned by the caller
 * (free), or NULL when out of memory or n is too large. */
char *idn_base64(const uint8_t *p, size_t n);

/* How strictly text is read:
 *   IDN_B64_STRICT   RFC 4648 section 4 as written: '+' and '/', padded
 *                    with '=' to a multiple of 4 characters (what the HTTP
 *                    API and handle.net JSON carry).
 *   IDN_B64_LENIENT  either alphabet ('+' '/' or '-' '_', even mixed),
 *                    padding optional, whole or in part (files people
 *                    edit by hand).
 *   IDN_B64_URL      base64url of RFC 7515 section 2: '-' and '_', no
 *                    padding, and the unused bits of the last character
 *                    zero, so each byte string has one encoding (JWS).
 * In every mode '=' may only end the text (at most two), no white space is
 * allowed, and a lone last character (6 bits, never a whole byte) is an
 * error. */
typedef enum {
	IDN_B64_STRICT = 0,
	IDN_B64_LENIENT,
	IDN_B64_URL,
} idn_b64_mode_t;

/* Bytes that decoding n characters can produce at most: the size of the
 * buffer idn_base64_decode needs. */
#define IDN_BASE64_DECODED_MAX(n) ((n) / 4 * 3 + 3)

/* Decodes s[0..n) into out, which holds IDN_BASE64_DECODED_MAX(n) bytes,
 * and sets *outlen. Returns 0 or IDN_EMALFORMED (a character outside the
 * mode's alphabet, misplaced or missing padding, a lone last character,
 * non-zero unused bits in IDN_B64_URL). out's contents are unspecified on
 * failure. */
int idn_base64_decode(const char *s, size_t n, idn_b64_mode_t mode,
		      uint8_t *out, size_t *outlen);

/* idn_base64_decode into memory from a (valid until the arena is reset).
 * Returns 0, IDN_EMALFORMED, IDN_ETOOLONG (more than 4 GiB of bytes) or
 * -ENOMEM. */
int idn_base64_decode_arena(const char *s, size_t n, idn_b64_mode_t mode,
			    idn_arena_t *a, idn_bytes_t *out);

#endif
