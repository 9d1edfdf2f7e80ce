/* The LMDB backend's change log (internal; changes.h says what it holds).
 *
 * One named database, "changelog": key the entry's id as u64 big-endian,
 * data the entry as idn__change_encode writes it followed by the XXH3-64
 * of those bytes seeded with the id, so damage and a misplaced entry are
 * both refused. Ids ascend with the keys; a commit's entries are appended
 * after the newest (read in the write transaction, so another process's
 * commits are counted too). */
#ifndef IDN_STORE_LMDB_CHANGES_H
#define IDN_STORE_LMDB_CHANGES_H

#include <lmdb.h>
#include <stdint.h>

#include "changes.h"

/* Returns an LMDB code. */
int idn__lmdb_changes_write(MDB_txn *txn, MDB_dbi log, const uint8_t *entries,
			    size_t len, uint32_t n);

/* Return 0, IDN_ECORRUPT or a translated LMDB error. */
int idn__lmdb_changes_bounds(MDB_txn *txn, MDB_dbi log, uint64_t *first,
			     uint64_t *next);
int idn__lmdb_changes_read(MDB_txn *txn, MDB_dbi log, uint64_t from,
			   uint32_t max, idn_change_cb cb, void *ctx);
int idn__lmdb_changes_prune(MDB_env *env, MDB_dbi log, uint64_t older_than_ms,
			    uint64_t keep_max, uint64_t *pruned);

#endif
