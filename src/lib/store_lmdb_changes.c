/* The LMDB backend's change log (store_lmdb_changes.h). */
#include "store_lmdb_changes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "error.h"
#include "store_lmdb_check.h"
#include "wire.h"

#define PRUNE_BATCH 10000u /* entries deleted per transaction */

/* The entry's check: its bytes hashed with its id as the seed. */
static uint64_t check(const uint8_t key[8], const uint8_t *p, size_t len)
{
	return XXH3_64bits_withSeed(p, len, idn_get_u64(key));
}

/* The id after the newest entry (1 for an empty log). */
static int next_id(MDB_cursor *c, uint64_t *next)
{
	MDB_val k, d;
	int rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		*next = 1;
		return 0;
	}
	if (rc)
		return rc;
	if (k.mv_size != 8)
		return MDB_CORRUPTED;
	*next = idn_get_u64(k.mv_data) + 1;
	return 0;
}

int idn__lmdb_changes_write(MDB_txn *txn, MDB_dbi log, const uint8_t *entries,
			    size_t len, uint32_t n)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, log, &c);
	if (rc)
		return rc;
	uint64_t id;
	rc = next_id(c, &id);
	size_t off = 0;
	for (uint32_t i = 0; rc == 0 && i < n; i++, id++) {
		if (len - off < 4) {
			rc = EINVAL;
			break;
		}
		uint32_t size = idn_get_u32(entries + off);
		const uint8_t *p = entries + off + 4;
		if (len - off - 4 < size) {
			rc = EINVAL;
			break;
		}
		off += 4 + (size_t)size;
		uint8_t key[8];
		idn_put_u64(key, id);
		MDB_val k = {.mv_size = 8, .mv_data = key};
		MDB_val d = {.mv_size = (size_t)size + 8, .mv_data = NULL};
		rc = mdb_cursor_put(c, &k, &d, MDB_APPEND | MDB_RESERVE);
		if (rc == 0) {
			memcpy(d.mv_data, p, size);
			idn_put_u64((uint8_t *)d.mv_data + size,
				    check(key, p, size));
		}
	}
	mdb_cursor_close(c);
	return rc;
}

int idn__lmdb_changes_bounds(MDB_txn *txn, MDB_dbi log, uint64_t *first,
			     uint64_t *next)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, log, &c);
	if (rc)
		return idn__lmdb_error(rc);
	rc = next_id(c, next);
	MDB_val k, d;
	if (rc == 0) {
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		if (rc == MDB_NOTFOUND) {
			*first = *next;
			rc = 0;
		} else if (rc == 0) {
			*first = k.mv_size == 8 ? idn_get_u64(k.mv_data) : 0;
			if (*first == 0)
				rc = MDB_CORRUPTED;
		}
	}
	mdb_cursor_close(c);
	return idn__lmdb_error(rc);
}

int idn__lmdb_changes_read(MDB_txn *txn, MDB_dbi log, uint64_t from,
			   uint32_t max, idn_change_cb cb, void *ctx)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, log, &c);
	if (rc)
		return idn__lmdb_error(rc);
	uint8_t key[8];
	idn_put_u64(key, from);
	MDB_val k = {.mv_size = 8, .mv_data = key}, d;
	int err = 0;
	uint32_t n = 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	     rc == 0 && err == 0 && (max == 0 || n < max);
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT), n++) {
		idn_change_t ch;
		if (k.mv_size != 8 || d.mv_size < 8 ||
		    check(k.mv_data, d.mv_data, d.mv_size - 8) !=
			    idn_get_u64((const uint8_t *)d.mv_data + d.mv_size -
					8) ||
		    idn__change_decode(d.mv_data, d.mv_size - 8, &ch) != 0) {
			err = IDN_ECORRUPT;
			break;
		}
		ch.id = idn_get_u64(k.mv_data);
		err = cb(ctx, &ch);
	}
	mdb_cursor_close(c);
	if (err)
		return err;
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : idn__lmdb_error(rc);
}

/* One transaction of the pruning. Sets *more when it stopped at its
 * batch size with entries still to drop. */
static int prune_batch(MDB_env *env, MDB_dbi log, uint64_t older_than_ms,
		       uint64_t keep_max, uint64_t *pruned, bool *more)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		return idn__lmdb_error(rc);
	MDB_stat st;
	MDB_cursor *c = NULL;
	rc = mdb_stat(txn, log, &st);
	if (rc == 0)
		rc = mdb_cursor_open(txn, log, &c);
	uint64_t entries = rc == 0 ? st.ms_entries : 0;
	uint32_t n = 0;
	MDB_val k, d;
	*more = false;
	while (rc == 0 && entries > 1) {
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
		if (rc)
			break;
		bool old = older_than_ms && d.mv_size >= 8 &&
			   idn_get_u64(d.mv_data) < older_than_ms;
		bool over = keep_max && entries > keep_max;
		if (!old && !over)
			break;
		if (n == PRUNE_BATCH) {
			*more = true;
			break;
		}
		rc = mdb_cursor_del(c, 0);
		entries--;
		n++;
	}
	if (c)
		mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return idn__lmdb_error(rc);
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0)
		*pruned += n;
	return idn__lmdb_error(rc);
}

int idn__lmdb_changes_prune(MDB_env *env, MDB_dbi log, uint64_t older_than_ms,
			    uint64_t keep_max, uint64_t *pruned)
{
	bool more = true;
	int err = 0;
	while (err == 0 && more)
		err = prune_batch(env, log, older_than_ms, keep_max, pruned,
				  &more);
	return err;
}
