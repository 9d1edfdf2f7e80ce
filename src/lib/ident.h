/* Identifiers: "prefix/suffix" (docs/architecture.md, Identifiers).
 *
 * Parsing validates UTF-8 (strict: no overlong forms, surrogates or code
 * points above U+10FFFF), rejects control characters, checks the limits and
 * produces the normalised key the store uses: the prefix is always ASCII
 * upper-cased; the suffix too unless IDN_IDENT_CASE_SUFFIX is given. */
#ifndef IDN_IDENT_H
#define IDN_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define IDN_IDENT_MAX 2048  /* bytes in one identifier */
#define IDN_VALUES_MAX 2048 /* values in one record */
#define IDN_MSG_MAX 262144  /* bytes in one message */

enum {
	IDN_IDENT_CASE_SUFFIX = 1 << 0, /* keep suffixes case-sensitive */
	IDN_IDENT_PREFIX_ONLY = 1 << 1, /* accept a bare prefix ("88.118.8") */
};

typedef struct {
	idn_bytes_t text;    /* the identifier as given; points at the input */
	uint32_t prefix_len; /* bytes of text before the '/' */
	uint32_t key_len;    /* bytes in key */
	uint8_t key[IDN_IDENT_MAX]; /* normalised form, not NUL-terminated */
} idn_ident_t;

/* Validates UTF-8 text. Returns 0 or IDN_EUTF8. */
int idn_utf8_check(const uint8_t *s, size_t len);

/* Length of the well-formed UTF-8 sequence at s (n bytes left; RFC 3629:
 * no overlong forms, no surrogates, at most U+10FFFF), 0 when there is
 * none. */
size_t idn_utf8_seq_len(const uint8_t *s, size_t n);

/* Parses and normalises an identifier. Returns 0, IDN_EUTF8, IDN_ETOOLONG
 * or IDN_EIDENT (no '/', empty prefix or suffix, empty prefix segment,
 * control characters). out->text points into s, which must outlive out. */
int idn_ident_parse(const uint8_t *s, size_t len, unsigned flags,
		    idn_ident_t *out);

/* Writes the normalised form of a prefix ("0.NA/88.118" or "88.118" both
 * give "88.118") into out (capacity IDN_IDENT_MAX) and its length into
 * out_len. Returns 0, IDN_EUTF8, IDN_ETOOLONG or IDN_EIDENT. */
int idn_prefix_normalise(const uint8_t *s, size_t len, uint8_t *out,
			 uint32_t *out_len);

/* ASCII case-insensitive equality of two byte strings. */
bool idn_ascii_caseeq(const uint8_t *a, size_t alen, const uint8_t *b,
		      size_t blen);

#endif
