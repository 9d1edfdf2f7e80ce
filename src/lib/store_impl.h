/* The storage backend interface (internal).
 *
 * store.c holds the public idn_store_* / idn_rtxn_* / idn_wtxn_* functions:
 * it checks the caller's arguments once, for every backend, and dispatches
 * through the ops table of the store. A backend defines its own store and
 * transaction structures with the base structures below as their first
 * member, fills in every op, and provides an open function that store.c
 * calls.
 *
 * What store.c has already checked when an op runs: pointers are not NULL
 * (arrays only when their count is not 0); keys and prefixes are 1 to
 * IDN_IDENT_MAX bytes; value and index counts are at most IDN_VALUES_MAX;
 * a listing prefix is at most IDN_IDENT_MAX - 1 bytes.
 *
 * Backends share the record logic of record.h, so the checks of the
 * interface (duplicate indexes, counts, sizes) and the atomicity of each
 * operation are the same everywhere. */
#ifndef IDN_STORE_IMPL_H
#define IDN_STORE_IMPL_H

#include <stdatomic.h>

#include "changes.h"
#include "search.h"
#include "store.h"

typedef struct idn_store_ops idn_store_ops_t;

struct idn_store {
	const idn_store_ops_t *ops;
	bool readonly; /* opened read-only: store.c refuses write transactions
			*/
	/* commits that wrote change log entries in this process (store.c:
	 * idn_store_wait_commit) */
	_Atomic uint64_t commits;
};

struct idn_rtxn {
	idn_store_t *store;
};

struct idn_wtxn {
	idn_store_t *store;
	/* the change log's entries of this transaction (changes.c): n
	 * entries of u32 length + idn__change_encode bytes */
	uint8_t *log;
	size_t log_len, log_cap;
	uint32_t log_n;
	int log_err; /* an entry could not be noted: the commit fails */
	char actor[255];
	uint16_t actor_len;
};

/* An iterator (store.h): a backend's records iterator embeds this as its
 * first member and fills in next and free; store.c keeps err sticky. */
struct idn_iter {
	idn_rtxn_t *txn;
	int err; /* the first error of a step; IDN_ENOTFOUND at the end */
	int (*next)(idn_iter_t *it, idn_iter_item_t *out);
	void (*free)(idn_iter_t *it);
};

/* Each op has the meaning, errors and ownership rules of the public
 * function of the same name in store.h. */
struct idn_store_ops {
	const char *name;

	void (*close)(idn_store_t *s);
	int (*stat)(idn_store_t *s, idn_store_stat_t *out);
	/* NULL: IDN_EUNSUPPORTED */
	int (*check)(idn_store_t *s, idn_check_cb cb, void *ctx,
		     idn_check_stat_t *st);
	int (*backup)(idn_store_t *s, const char *dir);
	/* the change log (changes.h): the transaction's n entries, each
	 * u32 length + idn__change_encode bytes, written in it with
	 * consecutive ids after the newest */
	int (*changes_write)(idn_wtxn_t *t, const uint8_t *entries, size_t len,
			     uint32_t n);
	int (*changes_bounds)(idn_rtxn_t *t, uint64_t *first, uint64_t *next);
	int (*changes_read)(idn_rtxn_t *t, uint64_t from, uint32_t max,
			    idn_change_cb cb, void *ctx);
	int (*changes_prune)(idn_store_t *s, uint64_t older_than_ms,
			     uint64_t keep_max, uint64_t *pruned);
	/* the follower's bookkeeping (store.h, idn_store_meta_get); NULL:
	 * IDN_EUNSUPPORTED */
	int (*meta_get)(idn_rtxn_t *t, const char *key, uint8_t *buf,
			size_t cap, size_t *len);
	int (*meta_put)(idn_wtxn_t *t, const char *key, const uint8_t *v,
			size_t len);

	int (*rtxn_begin)(idn_store_t *s, idn_rtxn_t **out);
	void (*rtxn_reset)(idn_rtxn_t *t);
	int (*rtxn_renew)(idn_rtxn_t *t);
	uint64_t (*rtxn_snapshot)(idn_rtxn_t *t); /* optional (NULL: 0) */
	void (*rtxn_free)(idn_rtxn_t *t);

	int (*get)(idn_rtxn_t *t, const uint8_t *key, size_t keylen,
		   idn_record_t *out);
	/* optional (NULL: get): get without the walk of the values */
	int (*get_unchecked)(idn_rtxn_t *t, const uint8_t *key, size_t keylen,
			     idn_record_t *out);
	int (*homed)(idn_rtxn_t *t, const uint8_t *prefix, size_t len);
	int (*list)(idn_rtxn_t *t, const uint8_t *prefix, size_t len,
		    idn_bytes_t after, idn_list_cb cb, void *ctx);
	int (*list_homed)(idn_rtxn_t *t, idn_list_cb cb, void *ctx);
	/* the records iterator (store.h): under and from are at most
	 * IDN_IDENT_MAX + 1 bytes. The homed prefixes and
	 * declared types are walked by store.c over list_homed and
	 * index_types. */
	int (*iter_records)(idn_rtxn_t *t, idn_bytes_t under, idn_bytes_t from,
			    idn_iter_t **out);
	/* search.h; NULL: the backend cannot search */
	int (*search)(idn_rtxn_t *t, const idn_search_t *q, idn_search_cb cb,
		      void *ctx);
	/* the declared types (search.h): 1 if declared, 0, or an error */
	int (*index_declared)(idn_rtxn_t *t, idn_bytes_t type);
	int (*index_types)(idn_rtxn_t *t, idn_list_cb cb, void *ctx);
	int (*index_add)(idn_wtxn_t *t, idn_bytes_t type);
	int (*index_remove)(idn_wtxn_t *t, idn_bytes_t type);

	int (*wtxn_begin)(idn_store_t *s, idn_wtxn_t **out);
	int (*wtxn_commit)(idn_wtxn_t *t);
	void (*wtxn_abort)(idn_wtxn_t *t);
	int (*wtxn_get)(idn_wtxn_t *t, const uint8_t *key, size_t keylen,
			idn_record_t *out);
	int (*create)(idn_wtxn_t *t, const idn_ident_t *id,
		      const idn_value_t *v, uint32_t n, bool overwrite);
	int (*del)(idn_wtxn_t *t, const idn_ident_t *id);
	int (*add)(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		   uint32_t n, bool overwrite);
	int (*modify)(idn_wtxn_t *t, const idn_ident_t *id,
		      const idn_value_t *v, uint32_t n);
	int (*remove)(idn_wtxn_t *t, const idn_ident_t *id, const uint32_t *idx,
		      uint32_t n);
	/* 0: homed now, 1: it was homed already (nothing written), or an
	 * error */
	int (*home)(idn_wtxn_t *t, const uint8_t *prefix, size_t len);
	int (*unhome)(idn_wtxn_t *t, const uint8_t *prefix, size_t len);
};

/* The LMDB backend (store_lmdb.c). Same contract as idn_store_open. */
int idn__store_lmdb_open(const idn_store_opts_t *o, idn_store_t **out);

/* The PostgreSQL backend (store_pg.c). Same contract as idn_store_open. */
int idn__store_pg_open(const idn_store_opts_t *o, idn_store_t **out);
/* Its translation of a SQLSTATE into a library code (for tests). */
int idn__pg_sqlstate_error(const char *sqlstate);

#endif
