/* The LMDB backend's shared internals (store_lmdb.c, store_lmdb_iter.c):
 * its constants, the store and transaction structures, and the key
 * helpers. Not for other files. */
#ifndef IDN_STORE_LMDB_INT_H
#define IDN_STORE_LMDB_INT_H

#include <lmdb.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <string.h>

#include "record.h"
#include "store_impl.h"
#include "store_lmdb_check.h"
#include "store_lmdb_index.h"

#define KEY_MAX 511	  /* LMDB's default MDB_MAXKEYSIZE, checked at open */
#define KEY_DIRECT 478	  /* KEY_DIRECT + 1 + SHA256_DIGEST_LENGTH == KEY_MAX */
#define SCHEMA_VERSION 4u /* records carry checksums (record.h) */
#define SCHEMA_UNINDEXED 1u /* before the search index: upgraded at open */
#define SCHEMA_ALLTYPES 2u  /* every type indexed: upgraded at open */
#define SCHEMA_UNCHECKED 3u /* records without checksums: rewritten */
#define SCHEMA_REWRITING 0x80000004u /* records being rewritten */
#define REWRITE_BATCH 20000u /* records per transaction of the rewrite */
#define MAP_DEFAULT ((uint64_t)64 << 30)
#define READERS_DEFAULT 1024u
#define MAXDBS 16 /* room for the templates, indexes and change log */

typedef struct {
	idn_store_t base;
	MDB_env *env;
	MDB_dbi records, prefixes, meta, changes;
	idn__lidx_t ix; /* the search index; its scratch is the writer's */
	/* read-only open of a version 1 store: there is no index to open,
	 * and no type is declared */
	bool noindex;
	idn__lmdb_damage_t damage; /* damaged records already logged */
	char *path;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	/* write scratch, used only while holding the write transaction */
	idn__rset_t rs;
	uint8_t *buf;
	size_t cap;
} lstore_t;

typedef struct {
	idn_rtxn_t base;
	MDB_txn *txn;
	bool live; /* holds a snapshot: not reset */
} lrtxn_t;

typedef struct {
	idn_wtxn_t base;
	MDB_txn *txn;
	int err; /* sticky: LMDB failed a write, only abort is left */
	/* the greatest key of records in this transaction, for the append
	 * path of creates (see after_last) */
	enum { LAST_UNKNOWN, LAST_KNOWN, LAST_EMPTY } last_state;
	size_t last_len;
	uint8_t last[KEY_MAX];
} lwtxn_t;

static inline lstore_t *lstore(idn_store_t *s)
{
	return (lstore_t *)s;
}

/* Writes the LMDB key for a normalised key into buf (KEY_MAX bytes). */
static inline MDB_val lmdb_key(const uint8_t *key, size_t len, uint8_t *buf)
{
	MDB_val k = {.mv_data = buf};
	if (len <= KEY_DIRECT) {
		memcpy(buf, key, len);
		k.mv_size = len;
		return k;
	}
	memcpy(buf, key, KEY_DIRECT);
	buf[KEY_DIRECT] = 0x00;
	SHA256(key, len, buf + KEY_DIRECT + 1);
	k.mv_size = KEY_MAX;
	return k;
}

/* LMDB's default key order: bytewise, a proper prefix first. */
static inline int key_cmp(const MDB_val *a, const MDB_val *b)
{
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int c = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
	if (c)
		return c;
	return (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

/* Bytewise order of a and the len bytes at b, a proper prefix first. */
static inline int bytes_cmp(idn_bytes_t a, const uint8_t *b, size_t len)
{
	MDB_val x = {.mv_size = a.len, .mv_data = (void *)a.p};
	MDB_val y = {.mv_size = len, .mv_data = (void *)b};
	return key_cmp(&x, &y);
}

static inline bool has_prefix(const MDB_val *k, const uint8_t *p, size_t len)
{
	return k->mv_size >= len && memcmp(k->mv_data, p, len) == 0;
}

static inline lrtxn_t *lrtxn(idn_rtxn_t *t)
{
	return (lrtxn_t *)t;
}

static inline lwtxn_t *lwtxn(idn_wtxn_t *t)
{
	return (lwtxn_t *)t;
}

/* The records iterator (store_lmdb_iter.c). */
int idn__lmdb_iter_records(idn_rtxn_t *base, idn_bytes_t under,
			   idn_bytes_t from, idn_iter_t **out);

#endif
