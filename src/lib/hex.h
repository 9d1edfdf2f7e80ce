/* Hexadecimal digits and text. */
#ifndef IDN_HEX_H
#define IDN_HEX_H

#include <stddef.h>

#include "arena.h"
#include "wire.h"

/* The value (0..15) of the hexadecimal digit c (either case), or -1. */
int idn_hex_digit(int c);

/* Decodes the n hexadecimal characters of s (two a byte, either case)
 * into *out, allocated in a (valid until the arena is reset). Returns 0,
 * IDN_EINVAL (odd n or a character that is not a digit) or -ENOMEM. */
int idn_hex_decode(const char *s, size_t n, idn_arena_t *a, idn_bytes_t *out);

#endif
