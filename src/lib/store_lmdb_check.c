/* The LMDB backend's defences against damage (store_lmdb_check.h). */
#include "store_lmdb_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "error.h"
#include "ident.h"
#include "record.h"

#define KEY_MAX 511
#define KEY_DIRECT 478

/* The one translation of LMDB and system codes into library codes. */
int idn__lmdb_error(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return IDN_ENOTFOUND;
	case MDB_KEYEXIST:
		return IDN_EEXISTS;
	case MDB_MAP_FULL: /* the map size is reached */
	case MDB_TXN_FULL: /* the transaction has too many dirty pages */
	case ENOSPC:
	case EDQUOT:
		return IDN_ENOSPACE;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:      /* not an LMDB file */
	case MDB_INCOMPATIBLE: /* a database is not what we expect */
		return IDN_ECORRUPT;
	case ENOMEM:
		return -ENOMEM;
	}
	if (rc > 0)
		return -rc; /* another errno value */
	/* MDB_PANIC, MDB_VERSION_MISMATCH, MDB_READERS_FULL, MDB_MAP_RESIZED,
	 * MDB_DBS_FULL, MDB_BAD_* and anything newer */
	return IDN_ESTORE;
}

int idn__lmdb_check_size(MDB_env *env, const char *path, char *why,
			 size_t whylen)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc = mdb_env_info(env, &info);
	if (rc == 0)
		rc = mdb_env_stat(env, &st);
	if (rc)
		return idn__lmdb_error(rc);
	char file[4096];
	snprintf(file, sizeof(file), "%s/data.mdb", path);
	struct stat fs;
	if (stat(file, &fs) != 0)
		return -errno;
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	if ((uint64_t)fs.st_size >= need)
		return 0;
	snprintf(why, whylen,
		 "data.mdb is %" PRIu64 " bytes but its newest snapshot "
		 "reaches %" PRIu64 ": the file is truncated (a copy cut "
		 "short?); refusing it without writing. Restore it from a "
		 "backup (idctl backup) or a mirror",
		 (uint64_t)fs.st_size, need);
	return IDN_ECORRUPT;
}

bool idn__lmdb_is_new(MDB_env *env)
{
	MDB_envinfo info;
	return mdb_env_info(env, &info) == 0 && info.me_last_txnid == 0;
}

/* Positions c at the first record after the key in last (*last_len 0:
 * at the first record). */
static int seek_after(MDB_cursor *c, const uint8_t *last, size_t last_len,
		      MDB_val *k, MDB_val *d)
{
	if (last_len == 0)
		return mdb_cursor_get(c, k, d, MDB_FIRST);
	k->mv_size = last_len;
	k->mv_data = (void *)last;
	int rc = mdb_cursor_get(c, k, d, MDB_SET_RANGE);
	if (rc == 0 && k->mv_size == last_len &&
	    memcmp(k->mv_data, last, last_len) == 0)
		rc = mdb_cursor_get(c, k, d, MDB_NEXT);
	return rc;
}

/* One batch of the rewrite, starting after the key in last. Each blob is
 * put by its key and the cursor placed again after it: a put that grows a
 * page may split it under the cursor. Sets *end when the last record was
 * passed. */
static int upgrade_batch(MDB_env *env, MDB_dbi records, unsigned batch,
			 uint8_t *last, size_t *last_len, uint8_t **buf,
			 size_t *cap, uint64_t *done, bool *end)
{
	MDB_txn *txn;
	MDB_cursor *c;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		return idn__lmdb_error(rc);
	rc = mdb_cursor_open(txn, records, &c);
	if (rc) {
		mdb_txn_abort(txn);
		return idn__lmdb_error(rc);
	}
	MDB_val k, d;
	int err = 0;
	rc = seek_after(c, last, *last_len, &k, &d);
	for (unsigned n = 0; rc == 0 && n < batch; n++) {
		memcpy(last, k.mv_data, k.mv_size);
		*last_len = k.mv_size;
		bool put = false;
		if (idn__record_format(d.mv_data, d.mv_size) ==
		    IDN__REC_FORMAT_V1) {
			size_t need = d.mv_size + IDN__REC_CHECK;
			if (need > *cap) {
				uint8_t *b = realloc(*buf, need);
				if (b == NULL) {
					err = -ENOMEM;
					break;
				}
				*buf = b;
				*cap = need;
			}
			/* a damaged blob stays as it is: reads refuse it
			 * and idctl check names it */
			put = idn__record_upgrade(d.mv_data, d.mv_size, *buf) ==
			      0;
			if (put) {
				MDB_val key = {.mv_size = *last_len,
					       .mv_data = last};
				MDB_val nd = {.mv_size = need, .mv_data = *buf};
				rc = mdb_put(txn, records, &key, &nd, 0);
				if (rc)
					break;
				(*done)++;
			}
		}
		rc = put ? seek_after(c, last, *last_len, &k, &d)
			 : mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	*end = rc == MDB_NOTFOUND;
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = idn__lmdb_error(rc);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	return idn__lmdb_error(mdb_txn_commit(txn));
}

int idn__lmdb_upgrade_records(MDB_env *env, MDB_dbi records, unsigned batch,
			      uint64_t *done)
{
	uint8_t last[KEY_MAX];
	size_t last_len = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;
	bool end = false;
	int err = 0;
	*done = 0;
	while (err == 0 && !end)
		err = upgrade_batch(env, records, batch, last, &last_len, &buf,
				    &cap, done, &end);
	free(buf);
	return err;
}

/* Whether nobody can write path: an immutable file (a read-only file
 * system LMDB recognises itself). */
bool idn__lmdb_unwritable(const char *path)
{
	bool imm = false;
#ifdef FS_IOC_GETFLAGS
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int flags = 0;
	if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0)
		imm = (flags & FS_IMMUTABLE_FL) != 0;
	if (fd >= 0)
		close(fd);
#else
	(void)path;
#endif
	return imm;
}

/* ---- damaged records, reported once ---- */

void idn__lmdb_damage_init(idn__lmdb_damage_t *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
}

void idn__lmdb_damage_free(idn__lmdb_damage_t *d)
{
	pthread_mutex_destroy(&d->lock);
}

int idn__lmdb_damage_first(idn__lmdb_damage_t *d, const uint8_t *key,
			   size_t len)
{
	uint64_t h = XXH3_64bits(key, len) | 1;
	int first = 0;
	pthread_mutex_lock(&d->lock);
	unsigned i = (unsigned)(h % IDN__DAMAGE_SEEN);
	while (d->seen[i] != 0 && d->seen[i] != h)
		i = (i + 1) % IDN__DAMAGE_SEEN;
	if (d->seen[i] == 0) {
		if (d->n < IDN__DAMAGE_SEEN * 3 / 4) {
			d->seen[i] = h;
			d->n++;
			first = 1;
		} else if (!d->full_said) {
			d->full_said = true;
			first = -1;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return first;
}

/* ---- the offline scan ---- */

/* Whether the LMDB key k is the one the identifier id is filed under (its
 * normalised form differs from it only in ASCII case; a long one is filed
 * under its first KEY_DIRECT bytes, 0x00 and a hash). */
static bool filed_right(const MDB_val *k, idn_bytes_t id)
{
	if (k->mv_size <= KEY_DIRECT)
		return idn_ascii_caseeq(k->mv_data, k->mv_size, id.p, id.len);
	return k->mv_size == KEY_MAX && id.len > KEY_DIRECT &&
	       ((const uint8_t *)k->mv_data)[KEY_DIRECT] == 0x00 &&
	       idn_ascii_caseeq(k->mv_data, KEY_DIRECT, id.p, KEY_DIRECT);
}

idn_bytes_t idn__lmdb_blob_name(const uint8_t *key, size_t len,
				const uint8_t *blob, size_t blen)
{
	idn_rd_t r;
	idn_rd_init(&r, blob, blen);
	idn_rd_u32(&r);
	idn_bytes_t id = idn_rd_str(&r, IDN_IDENT_MAX);
	size_t direct = len > KEY_DIRECT ? KEY_DIRECT : len;
	if (r.err || id.len < direct ||
	    !idn_ascii_caseeq(id.p, direct, key, direct))
		return idn_bytes(key, direct);
	return id;
}

/* What is wrong with one record blob (NULL: nothing), and its name. */
static const char *record_fault(const MDB_val *k, const MDB_val *d,
				idn_bytes_t *name)
{
	*name = idn__lmdb_blob_name(k->mv_data, k->mv_size, d->mv_data,
				    d->mv_size);
	uint32_t f = idn__record_format(d->mv_data, d->mv_size);
	if (f != IDN__REC_FORMAT)
		return f == IDN__REC_FORMAT_V1
			       ? "record without a checksum (format 1) in a "
				 "store whose records all carry one"
			       : "unknown record format (damaged header)";
	if (!idn__record_check_ok(d->mv_data, d->mv_size))
		return "checksum mismatch: the stored bytes were changed";
	idn_record_t rec;
	if (idn__record_parse(d->mv_data, d->mv_size, &rec) != 0)
		return "malformed record (its checksum matches: written so)";
	*name = rec.id;
	if (!filed_right(k, rec.id)) {
		/* named by its key, which is what a delete reaches: the
		 * identifier it holds is another record's */
		*name = idn_bytes(k->mv_data, k->mv_size > KEY_DIRECT
						      ? KEY_DIRECT
						      : k->mv_size);
		return "filed under another identifier's key (the key is "
		       "damaged)";
	}
	return NULL;
}

/* One offline check's walk over a store: the read transaction, the
 * records table (which index entries name), where faults are reported
 * and what was counted. */
typedef struct {
	MDB_txn *txn;
	MDB_dbi records;
	idn_check_cb cb;
	void *ctx;
	idn_check_stat_t *st;
} scan_t;

/* Checks one entry of a table; 0, or the error that ends the walk. */
typedef int (*scan_entry_fn)(scan_t *s, const MDB_val *k, const MDB_val *d);

/* Walks table dbi in key order, giving each entry to entry until one of
 * them returns an error. 0, that error or a translated LMDB error. */
static int scan_table(scan_t *s, MDB_dbi dbi, scan_entry_fn entry)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(s->txn, dbi, &c);
	if (rc)
		return idn__lmdb_error(rc);
	MDB_val k, d;
	int err = 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && err == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
		err = entry(s, &k, &d);
	mdb_cursor_close(c);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : idn__lmdb_error(rc);
}

static int record_entry(scan_t *s, const MDB_val *k, const MDB_val *d)
{
	s->st->records++;
	idn_bytes_t name;
	const char *what = record_fault(k, d, &name);
	if (what == NULL)
		return 0;
	s->st->damaged++;
	return s->cb(s->ctx, "record", name, what);
}

static int prefix_entry(scan_t *s, const MDB_val *k, const MDB_val *d)
{
	s->st->prefixes++;
	bool ok = k->mv_size <= KEY_DIRECT
			  ? d->mv_size == k->mv_size &&
				    memcmp(d->mv_data, k->mv_data,
					   k->mv_size) == 0
			  : d->mv_size > KEY_DIRECT;
	if (ok)
		return 0;
	s->st->damaged++;
	return s->cb(s->ctx, "prefix", idn_bytes(k->mv_data, k->mv_size),
		     "the entry holds another prefix");
}

static int index_entry(scan_t *s, const MDB_val *k, const MDB_val *d)
{
	(void)k;
	s->st->index++;
	MDB_val rk = *d, rd;
	int r = mdb_get(s->txn, s->records, &rk, &rd);
	if (r == 0)
		return 0;
	if (r != MDB_NOTFOUND)
		return idn__lmdb_error(r);
	s->st->damaged++;
	return s->cb(s->ctx, "index", idn_bytes(d->mv_data, d->mv_size),
		     "an index entry names a record that does not exist");
}

int idn__lmdb_scan(MDB_env *env, MDB_dbi records, MDB_dbi prefixes,
		   const MDB_dbi *index, unsigned nindex, idn_check_cb cb,
		   void *ctx, idn_check_stat_t *st)
{
	scan_t s = {.records = records, .cb = cb, .ctx = ctx, .st = st};
	int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &s.txn);
	if (rc)
		return idn__lmdb_error(rc);
	int err = scan_table(&s, records, record_entry);
	if (err == 0)
		err = scan_table(&s, prefixes, prefix_entry);
	for (unsigned i = 0; err == 0 && i < nindex; i++)
		err = scan_table(&s, index[i], index_entry);
	mdb_txn_abort(s.txn);
	return err;
}

/* ---- hot backups ---- */

int idn__lmdb_backup(MDB_env *env, const char *dir)
{
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return -errno;
	char file[4096];
	struct stat st;
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (stat(file, &st) == 0)
		return IDN_EEXISTS;
	/* a read transaction of its own: one snapshot, writers go on;
	 * compacted: free pages are left out and pages renumbered */
	int rc = mdb_env_copy2(env, dir, MDB_CP_COMPACT);
	if (rc) {
		unlink(file);
		return idn__lmdb_error(rc);
	}
	return 0;
}
