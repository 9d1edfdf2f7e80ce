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
 * Only values whose type is declared are in search_values (search.h, "What
 * is indexed"). The declared types are the meta key "index_types": each
 * type as u16 big-endian length and its bytes, sorted bytewise. Every
 * process that writes reads it again at the start of its write transaction
 * (idn__lidx_sync), and a search reads it in its own snapshot, so all
 * users of the environment agree on it. The empty type in the set stands
 * for search_ctime, which is kept only while it is declared.
 *
 * A write operation stages its index writes (idn__lidx_stage) while the
 * old record and the new values are readable, copying what changes: only
 * the terms that differ between old and new values, and nothing is read
 * for a fresh create. The transaction's staged writes are applied sorted by
 * key just before it commits (idn__lidx_flush), or earlier between two
 * operations once they pass 64 MiB, so a batch of creates walks each tree
 * once in key order instead of jumping around it: record and index still
 * commit together or not at all. */
#ifndef IDN_STORE_LMDB_INDEX_H
#define IDN_STORE_LMDB_INDEX_H

#include <lmdb.h>

#include "record.h"
#include "search.h"

typedef struct {
	MDB_dbi vals, ctime, meta;
	/* the declared types as last read from meta (the writer's) */
	uint8_t *types;
	size_t types_len, types_cap;
	/* the write transaction's staged index writes (the writer's) */
	uint8_t *buf;
	size_t len, cap;
	size_t *ents; /* offsets of the entries in buf */
	size_t nents, ecap;
	size_t mark_len, mark_ents; /* before the last idn__lidx_stage */
	/* terms of the old and new values while staging */
	idn_bytes_t *terms;
	uint32_t tcap;
} idn__lidx_t;

/* Opens the index databases in txn (a write transaction). version is the
 * store's schema version before this open: 0 (new) or 1 (no index yet:
 * nothing is declared), 2 (every type and the creation time were indexed:
 * the types found in search_values and the creation time become the
 * declared ones), or 3. Returns 0 or an LMDB code. */
int idn__lidx_open(MDB_txn *txn, MDB_dbi records, MDB_dbi meta,
		   uint32_t version, idn__lidx_t *ix);

/* Reads the declared types into ix at the start of a write transaction.
 * Returns 0 or an LMDB code. */
int idn__lidx_sync(idn__lidx_t *ix, MDB_txn *txn);

/* Whether type is declared, as txn sees it: 1, 0, or an LMDB code
 * (positive or MDB_* negative) in *lmdb_rc with IDN_ESTORE returned. */
int idn__lidx_declared(MDB_txn *txn, const idn__lidx_t *ix, idn_bytes_t type,
		       int *lmdb_rc);

/* Declares type (empty: the creation time) and indexes its values in every
 * record, in txn (a write
 * transaction, after idn__lidx_sync; staged writes are applied first).
 * Returns 0, 1 if it was declared already (nothing done), or an LMDB
 * code. */
int idn__lidx_type_add(idn__lidx_t *ix, MDB_txn *txn, MDB_dbi records,
		       idn_bytes_t type);

/* Drops type from the declared set and deletes its index entries.
 * Returns 0, MDB_NOTFOUND if it was not declared, or an LMDB code. */
int idn__lidx_type_remove(idn__lidx_t *ix, MDB_txn *txn, idn_bytes_t type);

/* Calls cb with each declared type, in bytewise order. Returns 0, the
 * callback's value, or IDN_ESTORE with the LMDB code in *lmdb_rc. */
int idn__lidx_types(MDB_txn *txn, const idn__lidx_t *ix, idn_list_cb cb,
		    void *ctx, int *lmdb_rc);
void idn__lidx_free(idn__lidx_t *ix);

/* Stages the index changes of the record under reckey going from old
 * (NULL: it did not exist) to new (NULL: deleted). Call it before the
 * record's own put or delete. Returns 0, -ENOMEM or IDN_ECORRUPT (then
 * nothing is staged). */
int idn__lidx_stage(idn__lidx_t *ix, const MDB_val *reckey,
		    const idn_record_t *old, const idn__rset_t *new);

/* Drops what the last idn__lidx_stage staged (its write did not
 * happen). */
void idn__lidx_unstage(idn__lidx_t *ix);

/* Whether so much is staged that it should be applied before the next
 * operation reads anything (a flush writes pages that records read in
 * the transaction may live on). */
bool idn__lidx_full(const idn__lidx_t *ix);

/* Deletes every index entry naming the record key reckey, by a walk of
 * both index databases: for a record whose stored values cannot be read
 * (damaged), the only way to find its entries. Applies the staged writes
 * first. Returns 0 or an LMDB code (which ends the transaction). */
int idn__lidx_purge(idn__lidx_t *ix, MDB_txn *txn, const MDB_val *reckey);

/* Applies the staged writes. Returns 0 or an LMDB code (which ends the
 * transaction). */
int idn__lidx_flush(idn__lidx_t *ix, MDB_txn *txn);

/* Drops the staged writes (the transaction begins or aborts). */
void idn__lidx_reset(idn__lidx_t *ix);

/* Runs a search (search.h) in txn. Returns 0, the callback's value,
 * IDN_EINVAL for a cursor of another search, IDN_ECORRUPT or IDN_ESTORE
 * with the LMDB code in *lmdb_rc for the caller to translate. */
int idn__lidx_search(MDB_txn *txn, const idn__lidx_t *ix, MDB_dbi records,
		     const idn_search_t *q, idn_search_cb cb, void *ctx,
		     int *lmdb_rc);

#endif
