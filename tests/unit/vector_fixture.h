/* Helpers shared by the wire codec tests: the reference server's captured
 * vectors (tests/vectors, or $IDN_VECTORS) and byte comparisons that print
 * both sides. Each fails the running cmocka test on error. */
#ifndef IDN_TEST_VECTOR_FIXTURE_H
#define IDN_TEST_VECTOR_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* The vectors' directory. */
const char *vec_dir(void);
/* A file of hex digits (whitespace ignored), decoded into a malloc'd
 * buffer the caller frees. */
uint8_t *load_hex(const char *name, size_t *len);
/* A binary file (at most 64 KiB) in a malloc'd buffer. */
uint8_t *load_bin(const char *name, size_t *len);
/* Fails unless b holds exactly the text s. */
#define assert_bytes_str(b, s) assert_bytes_str_((b), (s), __FILE__, __LINE__)
void assert_bytes_str_(idn_bytes_t b, const char *s, const char *file,
		       int line);
/* A copy of p[0..n) in a buffer of exactly n bytes, so that the address
 * sanitizer sees any read past the end. */
uint8_t *exact_copy(const uint8_t *p, size_t n);
/* Decodes envelope + message, the message being all that follows the
 * envelope. Returns 0 or the codec's error. */
int decode_full(const uint8_t *p, size_t len, idn_env_t *env, idn_msg_t *m);

#endif
