/* The LMDB backend's defences against damage (internal; store_lmdb.c).
 *
 * LMDB checks nothing of what it stores, so a flipped bit in data.mdb
 * reads back as other data. Against that: every record blob carries a
 * checksum (record.h) verified on every read, a damaged record is reported
 * once with its identifier and answered as corrupt, and an environment is
 * checked before anything is written to it:
 *
 *   - a data file shorter than its newest snapshot (a truncated copy) is
 *     refused: reading past its end would kill the process with SIGBUS;
 *   - in an environment that has committed before, the sub-databases must
 *     all be there: a damaged meta page whose root points elsewhere makes
 *     them vanish, and creating them anew would start an empty store over
 *     the older intact snapshot (the first commit overwrites it). */
#ifndef IDN_STORE_LMDB_CHECK_H
#define IDN_STORE_LMDB_CHECK_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Refuses an environment whose data file at path/data.mdb is shorter than
 * its newest snapshot. Returns 0, or IDN_ECORRUPT with the reason in why. */
int idn__lmdb_check_size(MDB_env *env, const char *path, char *why,
			 size_t whylen);

/* Whether nobody can write path: an immutable file (a read-only file
 * system LMDB recognises itself). */
bool idn__lmdb_unwritable(const char *path);

/* Whether the environment has never committed a transaction. */
bool idn__lmdb_is_new(MDB_env *env);

/* Rewrites every format-1 record blob in records as format 2, committing
 * every batch records so that a large store fits LMDB's transaction
 * limits; a blob already in format 2 is left alone, so an interrupted
 * rewrite goes on where it stopped. *done counts the blobs rewritten.
 * Returns 0, IDN_ECORRUPT (a blob that is neither format; nothing of its
 * batch is written) or a translated LMDB error. */
int idn__lmdb_upgrade_records(MDB_env *env, MDB_dbi records, unsigned batch,
			      uint64_t *done);

/* The identifiers of damaged records already reported, so that a record
 * read again and again is logged once. */
#define IDN__DAMAGE_SEEN 1024
typedef struct {
	pthread_mutex_t lock;
	uint64_t seen[IDN__DAMAGE_SEEN]; /* XXH3 of the keys; 0 is free */
	unsigned n;
	bool full_said; /* the table is full and that was logged */
} idn__lmdb_damage_t;

void idn__lmdb_damage_init(idn__lmdb_damage_t *d);
void idn__lmdb_damage_free(idn__lmdb_damage_t *d);

/* 1 when key is damaged and not reported before (the caller logs it), 0
 * when it was, -1 when the table is full and this is the first time that
 * is found (the caller logs that further ones go unnamed). */
int idn__lmdb_damage_first(idn__lmdb_damage_t *d, const uint8_t *key,
			   size_t len);

/* The name of a damaged record: its identifier as created when the blob
 * still holds the one its key was made from (case aside), else the key
 * (the part before a long key's hash). */
idn_bytes_t idn__lmdb_blob_name(const uint8_t *key, size_t len,
				const uint8_t *blob, size_t blen);

/* The offline scan behind idn_store_check: every record (checksum,
 * structure, filed under its identifier's key), every homed prefix, every
 * index entry (the record it names exists) in one snapshot of env. */
int idn__lmdb_scan(MDB_env *env, MDB_dbi records, MDB_dbi prefixes,
		   const MDB_dbi *index, unsigned nindex, idn_check_cb cb,
		   void *ctx, idn_check_stat_t *st);

/* Writes a consistent, compacted copy of env into dir (idn_store_backup). */
int idn__lmdb_backup(MDB_env *env, const char *dir);

/* The one translation of LMDB and system codes into library codes. */
int idn__lmdb_error(int rc);

#endif
