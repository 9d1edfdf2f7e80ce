/* Hexadecimal digits and text: the one encoder and decoder of the tree. */
#ifndef IDN_HEX_H
#define IDN_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "wire.h"

/* The value (0..15) of the hexadecimal digit c (either case), or -1. */
int idn_hex_digit(int c);

/* Decodes the n hexadecimal characters of s (two a byte, either case)
 * into out, which holds n / 2 bytes. Returns 0 or IDN_EINVAL (odd n or a
 * character that is not a digit). out's contents are unspecified on
 * failure. */
int idn_hex_decode_buf(const char *s, size_t n, uint8_t *out);

/* idn_hex_decode_buf into memory from a (valid until the arena is reset).
 * Returns 0, IDN_EINVAL or -ENOMEM. */
int idn_hex_decode(const char *s, size_t n, idn_arena_t *a, idn_bytes_t *out);

/* Writes the lowercase hexadecimal text of p[0..n), NUL-terminated, to
 * out, which holds 2 * n + 1 bytes. */
void idn_hex_encode(const uint8_t *p, size_t n, char *out);

#endif
