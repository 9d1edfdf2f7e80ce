/* The storage interface (docs/architecture.md, The store interface) and its
 * backends.
 *
 * Records are keyed by the normalised identifier (idn_ident_t.key). A record
 * is an ordered set of values kept sorted by index and stored in the wire
 * encoding of §5, so a reader copies stored bytes straight into a reply.
 *
 * Reads happen in read transactions that a worker keeps and recycles
 * (reset/renew); what a read returns points into the store's memory and
 * stays valid until the transaction is reset or freed. Reads take no lock.
 *
 * Writes happen in write transactions. Each operation inside one is atomic:
 * it applies fully or, when it returns an error, not at all, and the
 * transaction stays usable for further operations (so a batch of unrelated
 * requests can share one commit). A commit that returns 0 is durable.
 * Exception: a backend failure inside an operation (IDN_ENOSPACE, IDN_ESTORE,
 * -errno) ends the whole transaction: later operations and the commit
 * return the same error and nothing of the batch is applied, so the caller
 * retries the other requests in a new transaction.
 *
 * Threads: a read transaction may move between threads but is used by one
 * at a time; a write transaction begins, works and ends in one thread, and
 * a thread must not begin a second one while holding one. Every function
 * returns IDN_EINVAL for NULL arguments and for reads on a reset read
 * transaction. IDN_ECORRUPT at open also covers a store written by a newer
 * schema version. */
#ifndef IDN_STORE_H
#define IDN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "value.h"
#include "wire.h"

typedef struct idn_store idn_store_t;
typedef struct idn_rtxn idn_rtxn_t;
typedef struct idn_wtxn idn_wtxn_t;

/* Largest encoded values section a record may have, so that its complete
 * resolution reply still fits in one message. */
#define IDN_RECORD_MAX (IDN_MSG_MAX - IDN_IDENT_MAX - 1024)

/* ---- naming a store ---- */

typedef enum {
	IDN_STORE_LMDB = 1,
	IDN_STORE_PG,
} idn_store_kind_t;

typedef struct {
	idn_store_kind_t kind;
	/* LMDB: the environment directory. PostgreSQL: the libpq connection
	 * string as given. Points into the parsed name. */
	const char *path;
} idn_store_spec_t;

/* Parses the name of a store, the one spelling every tool accepts:
 *   lmdb:DIR                     LMDB in directory DIR
 *   postgresql://... postgres://...  a libpq connection URI
 *   host=... dbname=...          a libpq key=value string naming a host,
 *                                hostaddr, dbname or service
 *   DIR                          anything else: an LMDB directory
 * Returns 0 or IDN_EINVAL (NULL, empty, "lmdb:" without a directory). */
int idn_store_spec_parse(const char *name, idn_store_spec_t *out);

/* Writes a name for the store that shows no password ("lmdb:DIR",
 * "postgresql://HOST:PORT/DB") into out (cap bytes, NUL-terminated,
 * truncated if needed). */
void idn_store_spec_label(const idn_store_spec_t *spec, char *out, size_t cap);

typedef struct {
	/* The store's name, as idn_store_spec_parse reads it. PostgreSQL:
	 * the primary, which takes the writes. */
	const char *path;
	/* Only open a store that exists (holds a schema version): IDN_ENOTFOUND
	 * instead of creating one. For tools that read a store; an older
	 * schema is still upgraded, as at every open but a read-only one. */
	bool existing;
	/* Open for reading only; implies existing. Nothing is written: no
	 * store, schema version, index or lock is created, no older schema
	 * is upgraded, and idn_wtxn_begin returns IDN_EREADONLY. For tools
	 * that must leave a store as they found it (idctl migrate's source).
	 * LMDB: the environment is opened MDB_RDONLY, so it can be read from
	 * read-only media; its lock file is still used where it can be
	 * opened for writing, and skipped where it cannot and nobody can
	 * write the data file (a read-only file system, an immutable file).
	 * PostgreSQL: the primary may be a standby; every session runs with
	 * default_transaction_read_only, and no migration runs.
	 * An older schema, which an ordinary open upgrades: LMDB reads
	 * version 1 as it is (its records and prefixes are laid out as now;
	 * it has no search index and declares no type, as after its
	 * upgrade); LMDB version 2 and PostgreSQL versions 1 and 2 are
	 * refused with IDN_EREADONLY and a logged line naming the version
	 * (their declared types only exist once the upgrade derives them,
	 * and PostgreSQL's prepared statements need version 3's tables):
	 * start idnode on such a store once to upgrade it. */
	bool readonly;
	uint64_t map_size;    /* LMDB: bytes reserved for the map; 0 = 64 GiB.
			       * The file grows with the data, not with this. */
	unsigned max_readers; /* LMDB: 0 = 1024 */
	/* PostgreSQL: connection strings of read-only replicas. Read
	 * transactions use them round-robin and fall back to the primary;
	 * none: reads go to the primary too. Copied at open. */
	const char *const *replicas;
	unsigned nreplicas;
	/* PostgreSQL: connect when first needed and check nothing at open,
	 * so a primary that is down does not fail the open. For a second
	 * store on a database whose schema an open store has checked (the
	 * node's primary for authoritative reads). */
	bool deferred;
	/* Where a backend reports what its error codes cannot carry (for
	 * PostgreSQL the server's message, a server going down or coming
	 * back). level: 0 error, 1 warning, 2 info, 3 debug; msg is one line,
	 * valid during the call. Called from any thread. NULL: stderr. */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
} idn_store_opts_t;

/* Opens (creating if needed, unless existing or readonly) the store named
 * by path. Returns 0, IDN_EINVAL (a name that does not parse),
 * IDN_ENOTFOUND (with existing or readonly), IDN_EREADONLY (readonly, and
 * an older schema that must be upgraded first), -errno, IDN_ESTORE or
 * IDN_ECORRUPT. *out is owned by the caller; close with idn_store_close. */
int idn_store_open(const idn_store_opts_t *o, idn_store_t **out);

/* Closes the store. All transactions must be finished. */
void idn_store_close(idn_store_t *s);

typedef struct {
	uint64_t records;    /* identifiers stored */
	uint64_t prefixes;   /* homed prefixes */
	uint64_t bytes_used; /* bytes of the store in use (pages * page size) */
	uint64_t map_size;
} idn_store_stat_t;

int idn_store_stat(idn_store_t *s, idn_store_stat_t *out);

/* ---- integrity and backups ---- */

typedef struct {
	uint64_t records;  /* records read */
	uint64_t prefixes; /* homed prefixes read */
	uint64_t index;	   /* index entries read */
	uint64_t damaged;  /* items reported to the callback */
} idn_check_stat_t;

/* One damaged item found by idn_store_check: kind is "record", "prefix" or
 * "index"; name is the identifier (or prefix, or index term) when it can
 * be read, else the stored key (also for a record filed under a key not
 * its own: the key is what a delete reaches); what says what is wrong. A
 * non-zero return stops the scan and is returned. */
typedef int (*idn_check_cb)(void *ctx, const char *kind, idn_bytes_t name,
			    const char *what);

/* Reads every stored item of s in one snapshot and checks it (records:
 * checksum, structure, the key they are filed under; prefixes; index
 * entries: the record they name exists), reporting each damaged one to cb.
 * Returns 0 (st says how many were damaged), IDN_EUNSUPPORTED for a backend
 * that keeps its own checksums (PostgreSQL: initdb --data-checksums), or
 * a store error. */
int idn_store_check(idn_store_t *s, idn_check_cb cb, void *ctx,
		    idn_check_stat_t *st);

/* Writes a consistent, compacted copy of s into the directory dir (made
 * if missing; it must hold no store) while writes go on; a node starts
 * on the copy as it is. Returns 0, IDN_EEXISTS (dir holds a data.mdb),
 * IDN_EUNSUPPORTED (PostgreSQL: its own tools copy it, see
 * docs/operations.md), -errno or a store error. */
int idn_store_backup(idn_store_t *s, const char *dir);

/* ---- a follower's bookkeeping (docs/replication.md) ----
 *
 * Small values under names of their own beside the data (LMDB: the meta
 * database, keys "repl:" + key), written in the write transaction that
 * applies what they describe. PostgreSQL: IDN_EUNSUPPORTED. */

/* Copies the value of key into buf (at most cap bytes; *len its length).
 * Returns 0, IDN_ENOTFOUND, IDN_ETOOLONG (larger than cap),
 * IDN_EUNSUPPORTED or a store error. */
int idn_store_meta_get(idn_rtxn_t *t, const char *key, uint8_t *buf, size_t cap,
		       size_t *len);
/* Sets key to the len bytes of v (at most 1024) in t. */
int idn_wtxn_meta_put(idn_wtxn_t *t, const char *key, const uint8_t *v,
		      size_t len);

/* Commits of this process that wrote change log entries, counted; a
 * waiter passes the count it has seen and gets the new one once another
 * commit happened, or the same after timeout_ms (a long-polling primary:
 * commits of other processes on a shared PostgreSQL are seen only by
 * reading the log's bounds). */
uint64_t idn_store_commits(idn_store_t *s);
uint64_t idn_store_wait_commit(idn_store_t *s, uint64_t seen, int timeout_ms);

/* ---- reads ---- */

/* A read transaction for one thread. Returns 0, -ENOMEM, IDN_ESTORE. */
int idn_rtxn_begin(idn_store_t *s, idn_rtxn_t **out);
/* Releases the snapshot but keeps the transaction for renew. */
void idn_rtxn_reset(idn_rtxn_t *t);
/* Takes a fresh snapshot. Returns 0 or IDN_ESTORE. */
int idn_rtxn_renew(idn_rtxn_t *t);
/* Names the committed state a live read transaction sees: two snapshots
 * with the same non-zero value see the same data at the same addresses
 * (nothing was committed in between). 0: the backend cannot tell. */
uint64_t idn_rtxn_snapshot(idn_rtxn_t *t);
void idn_rtxn_free(idn_rtxn_t *t);

typedef struct {
	idn_bytes_t id; /* the identifier as first created */
	uint32_t nvalues;
	idn_bytes_t values; /* nvalues encoded values, ascending index */
} idn_record_t;

/* Looks a record up by normalised key. Returns 0, IDN_ENOTFOUND,
 * IDN_ECORRUPT or IDN_ESTORE. out points into the transaction's snapshot. */
int idn_store_get(idn_rtxn_t *t, const uint8_t *key, size_t keylen,
		  idn_record_t *out);

/* idn_store_get for a caller that walks every value itself and treats a
 * malformed one as IDN_ECORRUPT (the resolution path): the record's header
 * and identifier are checked, its values may not be. */
int idn_store_get_unchecked(idn_rtxn_t *t, const uint8_t *key, size_t keylen,
			    idn_record_t *out);

/* 1 if the normalised prefix is homed, 0 if not, or a negative error. */
int idn_store_homed(idn_rtxn_t *t, const uint8_t *prefix, size_t len);

/* Callback for listings; id points into the snapshot. Return non-zero to
 * stop the listing (that value is then returned by the listing). */
typedef int (*idn_list_cb)(void *ctx, idn_bytes_t id);

/* Lists, in key order, the identifiers whose normalised key starts with
 * "<prefix>/", beginning after the normalised key `after` (len 0: from the
 * start). Returns 0, the callback's non-zero value, or an error. */
int idn_store_list(idn_rtxn_t *t, const uint8_t *prefix, size_t len,
		   idn_bytes_t after, idn_list_cb cb, void *ctx);

/* Lists the homed prefixes (normalised form). */
int idn_store_list_homed(idn_rtxn_t *t, idn_list_cb cb, void *ctx);

/* ---- iterators ----
 *
 * An iterator walks one kind of item of a read transaction's snapshot,
 * as libknot's db.h iter_begin / iter_next do: begin one, then call
 * idn_iter_next until it returns IDN_ENOTFOUND, then free it.
 *
 * Consistency: every item comes from the transaction's one snapshot, so a
 * walk of any length sees no write committed after the snapshot was taken
 * and every record exactly once.
 *
 * Lifetime: the read transaction must stay live (not reset, renewed or
 * freed) until the iterator is freed; other reads may use it between
 * steps. What a step yields is valid until the next step, the free of the
 * iterator, or the end of the transaction, whichever comes first (LMDB: it
 * points into the map or the iterator; PostgreSQL: into the iterator). An
 * iterator is used by one thread at a time. */
typedef struct idn_iter idn_iter_t;

typedef struct {
	/* records: the normalised key the record is stored under; homed
	 * prefixes: the normalised prefix; declared types: the type */
	idn_bytes_t key;
	/* records: the record, checked as idn_store_get checks it; zero for
	 * the other kinds */
	idn_record_t rec;
} idn_iter_item_t;

/* Begins a walk of the records in key order: bytewise order of the
 * normalised keys, on every backend. under (len 0: every record) keeps the
 * records whose normalised key begins with these bytes ("88.118/" for the
 * identifiers under a prefix); from (len 0: the first) starts at the first key
 * not below it, so that a walk can resume after its last key with that key and
 * a 0x00 byte appended. Returns 0, IDN_EINVAL (NULL, a reset transaction, under
 * or from longer than IDN_IDENT_MAX + 1 bytes), -ENOMEM or IDN_ESTORE. *out is
 * the caller's; free it with idn_iter_free. */
int idn_iter_records(idn_rtxn_t *t, idn_bytes_t under, idn_bytes_t from,
		     idn_iter_t **out);

/* Begins a walk of the homed prefixes (normalised), in bytewise order
 * (LMDB: prefixes longer than 478 bytes that share their first 478 bytes
 * come together in an order of their own). Returns as idn_iter_records. */
int idn_iter_homed(idn_rtxn_t *t, idn_iter_t **out);

/* Begins a walk of the declared types of the search index (search.h), in
 * bytewise order; the empty type is the creation time. A backend that
 * cannot search declares none. Returns as idn_iter_records. */
int idn_iter_types(idn_rtxn_t *t, idn_iter_t **out);

/* Steps to the next item into *out. Returns 0, IDN_ENOTFOUND past the last
 * item, IDN_ECORRUPT (a record or prefix that fails the checks of a read,
 * or a record filed under a key not its own), IDN_EINVAL (NULL, or a walk
 * of records whose transaction was reset: the prefixes and types are read
 * whole at begin), -ENOMEM or IDN_ESTORE. After an error, every later
 * step returns the same error. */
int idn_iter_next(idn_iter_t *it, idn_iter_item_t *out);

/* Frees the iterator (NULL: nothing). */
void idn_iter_free(idn_iter_t *it);

/* ---- writes ---- */

/* Begins the (single) write transaction; blocks while another thread holds
 * one. Returns 0, -ENOMEM, IDN_ESTORE, IDN_EREADONLY for a store opened
 * readonly, or IDN_ENOPRIMARY (PostgreSQL: the primary is unreachable;
 * reads go on, and writes once it is back). */
int idn_wtxn_begin(idn_store_t *s, idn_wtxn_t **out);
/* Commits durably and frees t. Returns 0, IDN_ENOSPACE (map or disk full:
 * nothing of the transaction is applied), -errno, IDN_ESTORE (nothing is
 * applied) or IDN_EUNKNOWN_OUTCOME (PostgreSQL: the connection was lost
 * after the commit was sent; it may or may not have been applied, and a
 * caller must read before it retries). */
int idn_wtxn_commit(idn_wtxn_t *t);
/* Discards all changes and frees t. */
void idn_wtxn_abort(idn_wtxn_t *t);

/* Reads inside the write transaction (sees its own changes); out is valid
 * until the next write operation or the end of the transaction. */
int idn_wtxn_get(idn_wtxn_t *t, const uint8_t *key, size_t keylen,
		 idn_record_t *out);

/* The operations below return, besides the listed codes, IDN_ENOSPACE,
 * -ENOMEM or IDN_ESTORE. Values must already have passed idn_value_check;
 * the store checks duplicate indexes (IDN_EVALUE), the count (IDN_ETOOMANY)
 * and the encoded size (IDN_ETOOLONG against IDN_RECORD_MAX). Values are
 * stored as given, timestamps included. */

/* Creates a record. IDN_EEXISTS if it exists and !overwrite (with
 * overwrite the record is replaced whole). */
int idn_wtxn_create(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		    uint32_t n, bool overwrite);
/* Deletes a record. IDN_ENOTFOUND. */
int idn_wtxn_delete(idn_wtxn_t *t, const idn_ident_t *id);
/* Adds values. IDN_ENOTFOUND; IDN_EVALEXISTS if an index is taken and
 * !overwrite (with overwrite, taken indexes are replaced). */
int idn_wtxn_add(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		 uint32_t n, bool overwrite);
/* Replaces values by index. IDN_ENOTFOUND; IDN_EVALNOTFOUND if an index is
 * absent. */
int idn_wtxn_modify(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		    uint32_t n);
/* Removes values by index. IDN_ENOTFOUND; IDN_EVALNOTFOUND if an index is
 * absent. */
int idn_wtxn_remove(idn_wtxn_t *t, const idn_ident_t *id, const uint32_t *idx,
		    uint32_t n);
/* Homes a normalised prefix (idempotent). */
int idn_wtxn_home(idn_wtxn_t *t, const uint8_t *prefix, size_t len);
/* Unhomes a prefix. IDN_ENOTFOUND if it was not homed. */
int idn_wtxn_unhome(idn_wtxn_t *t, const uint8_t *prefix, size_t len);

#endif
