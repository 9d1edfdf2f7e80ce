/* The LMDB backend's search index (internal; search.h says what is
 * indexed and found).
 *
 * Two named databases in the store's environment, both MDB_DUPSORT, whose
 * duplicates are the LMDB keys of records (the key of the records
 * database, at most 511 bytes):
 *
 *   search_values  term -> record keys. The term of a value is its type,
 *                  a 0x00 byte (types hold no control characters), then
 *                  its data; a term over 478 bytes is stored as its first
 *                  478 bytes, 0x00 and the SHA-256 of the whole term
 *                  (511 bytes; shorter terms are never that long). A
 *                  record holding a term twice is listed once.
 *   search_ctime   u32 big-endian creation time -> record keys.
 *
 * A write operation keeps them in step in its own transaction, in two
 * steps around the record's put or delete: idn__lidx_prepare copies what
 * changes into scratch memory while the old record and the new values are
 * readable (the put may overwrite the old blob, and other writes may move
 * dirty pages), idn__lidx_apply writes it. Only the terms that differ
 * between the old and the new values are touched, and a fresh create reads
 * nothing. */
#ifndef IDN_STORE_LMDB_INDEX_H
#define IDN_STORE_LMDB_INDEX_H

#include <lmdb.h>

#include "record.h"
#include "search.h"

typedef struct {
	MDB_dbi vals, ctime;
	/* scratch: pending index writes of one operation */
	uint8_t *buf;
	size_t len, cap;
	uint32_t old_t, new_t;
	bool old_has, new_has;
	/* terms of the old and new values while preparing */
	idn_bytes_t *terms;
	uint32_t tcap;
} idn__lidx_t;

/* Opens the index databases in txn (a write transaction), creating and
 * filling them from the records when the store has none yet (a store
 * written before the index existed). Returns 0 or an LMDB code. */
int idn__lidx_open(MDB_txn *txn, MDB_dbi records, idn__lidx_t *ix);
void idn__lidx_free(idn__lidx_t *ix);

/* Stages the index changes of one record going from old (NULL: it did not
 * exist) to new (NULL: deleted). Returns 0, -ENOMEM or IDN_ECORRUPT. */
int idn__lidx_prepare(idn__lidx_t *ix, const idn_record_t *old,
		      const idn__rset_t *new);

/* Writes the staged changes for the record under reckey. Returns 0 or an
 * LMDB code (which ends the transaction). */
int idn__lidx_apply(idn__lidx_t *ix, MDB_txn *txn, const MDB_val *reckey);

/* Runs a search (search.h) in txn. Returns 0, the callback's value,
 * IDN_EINVAL for a cursor of another search, IDN_ECORRUPT, or an LMDB
 * code (positive, or negative MDB_* values). lmdb_error of the caller
 * translates what is not a library code: *lmdb_rc receives it. */
int idn__lidx_search(MDB_txn *txn, const idn__lidx_t *ix, MDB_dbi records,
		     const idn_search_t *q, idn_search_cb cb, void *ctx,
		     int *lmdb_rc);

#endif
