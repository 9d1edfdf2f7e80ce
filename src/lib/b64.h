/* Base64 (RFC 4648, with padding) of binary value data for JSON output,
 * through OpenSSL's EVP_EncodeBlock. */
#ifndef IDN_B64_H
#define IDN_B64_H

#include <stddef.h>
#include <stdint.h>

/* Returns the NUL-terminated base64 text of p[0..n), owned by the caller
 * (free), or NULL when out of memory or n is too large. */
char *idn_base64(const uint8_t *p, size_t n);

#endif
