/* Stored records, shared by the storage backends (internal).
 *
 * A stored record blob is, all integers big-endian:
 *
 *   u32 format   IDN__REC_FORMAT (2); any other word is corruption
 *   u32 length + the identifier as first created (1..IDN_IDENT_MAX bytes)
 *   u32 count    values that follow, at most IDN_VALUES_MAX
 *   values       in the wire encoding of idn_value_encode, strictly
 *                ascending index
 *   u64 check    XXH3-64 of every byte before it
 *
 * so a reader hands out the identifier and the values section as pointers
 * into the stored bytes. The check makes damage to the stored bytes (a
 * flipped bit on disk or in memory, a torn copy) a refusal instead of
 * wrong data: every parse verifies it. Format 1 was the same without the
 * check; stores of it are rewritten when they are opened for writing
 * (idn__record_upgrade).
 *
 * An idn__rset_t is a record's values while an operation edits them: each
 * entry is either a stored value (its encoded bytes, pointing into the old
 * blob or row) or one of the caller's idn_value_t. The edits check
 * everything the storage interface promises (duplicate indexes, count,
 * encoded size) and leave the set unchanged when they fail, so a backend
 * computes the whole new record before it writes anything. */
#ifndef IDN_RECORD_H
#define IDN_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "value.h"
#include "wire.h"

#define IDN__REC_FORMAT 2u
#define IDN__REC_FORMAT_V1 1u /* without the check */
/* format word, identifier length, value count */
#define IDN__REC_HDR 12u
#define IDN__REC_CHECK 8u /* the trailing XXH3-64 */

typedef struct {
	uint32_t index;
	uint32_t size;	      /* encoded bytes */
	const idn_value_t *v; /* a caller's value, or NULL: use enc */
	const uint8_t *enc;   /* the stored encoding when v is NULL */
} idn__rval_t;

typedef struct {
	idn__rval_t *vals; /* n entries, strictly ascending index */
	uint32_t n;
	size_t size; /* sum of the entries' encoded sizes */
	/* private: scratch arrays of cap entries each, one allocation */
	idn__rval_t *tmp, *out, *block;
	uint32_t cap;
} idn__rset_t;

/* Checks a stored blob (header, every value's lengths, ascending indexes)
 * and points out into it. Returns 0 or IDN_ECORRUPT. */
int idn__record_parse(const uint8_t *blob, size_t len, idn_record_t *out);

/* idn__record_parse without the walk of the values (the format, the
 * check, the identifier and the count are checked). */
int idn__record_parse_header(const uint8_t *blob, size_t len,
			     idn_record_t *out);

/* Whether a stored blob's trailing check matches its bytes (the format
 * word is not looked at). */
bool idn__record_check_ok(const uint8_t *blob, size_t len);

/* The format word of a blob, 0 when it is too short to hold one. */
uint32_t idn__record_format(const uint8_t *blob, size_t len);

/* Writes the format-2 form of a format-1 blob (checked as format 1 was:
 * header and values) into out, which holds len + IDN__REC_CHECK bytes.
 * Returns 0 or IDN_ECORRUPT. */
int idn__record_upgrade(const uint8_t *blob, size_t len, uint8_t *out);

/* Walks an encoded values section that holds n values. On success returns
 * 0 and, if idx is not NULL, the index of each value in idx[0..n). Returns
 * IDN_ECORRUPT if the section does not hold exactly n values in strictly
 * ascending index order. */
int idn__values_walk(idn_bytes_t values, uint32_t n, uint32_t *idx);

/* An empty set. Never fails; free with idn__rset_free. */
void idn__rset_init(idn__rset_t *s);
void idn__rset_free(idn__rset_t *s);

/* Replaces the contents of s by the values of rec (entries point into
 * rec's bytes, which must outlive their use). Returns 0, -ENOMEM or
 * IDN_ECORRUPT. */
int idn__rset_load(idn__rset_t *s, const idn_record_t *rec);

/* The edits. Each returns 0 or an error and then leaves s unchanged.
 * Entries for new values point at v[], which must outlive their use.
 * Common errors: IDN_EVALUE (an index given twice), IDN_ETOOMANY (more than
 * IDN_VALUES_MAX values given or resulting), IDN_ETOOLONG (values section
 * over IDN_RECORD_MAX bytes), -ENOMEM. */

/* Replaces all values by v[0..n). */
int idn__rset_set(idn__rset_t *s, const idn_value_t *v, uint32_t n);
/* Adds v[0..n); IDN_EVALEXISTS if an index is present and !overwrite. */
int idn__rset_add(idn__rset_t *s, const idn_value_t *v, uint32_t n,
		  bool overwrite);
/* Replaces values by index; IDN_EVALNOTFOUND if an index is absent. */
int idn__rset_modify(idn__rset_t *s, const idn_value_t *v, uint32_t n);
/* Removes values by index; IDN_EVALNOTFOUND if an index is absent. */
int idn__rset_remove(idn__rset_t *s, const uint32_t *idx, uint32_t n);

/* Bytes of the blob idn__record_encode writes for id and s. */
size_t idn__record_size(idn_bytes_t id, const idn__rset_t *s);

/* Writes the blob for id and s. Returns 0 or, if w overflows or the
 * values do not encode to the sizes measured, IDN_ETOOLONG. */
int idn__record_encode(idn_wr_t *w, idn_bytes_t id, const idn__rset_t *s);

#endif
