/* The PostgreSQL backend (internal): what store_pg.c (connections,
 * errors, schema, read transactions) and store_pg_write.c (write
 * transactions) share. The design is described in store_pg.c. */
#ifndef IDN_STORE_PG_H
#define IDN_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "search.h"
#include "store_impl.h"

#define POOL_MAX 32 /* idle write connections kept */
#define OID_INT8 20
#define OID_BYTEA 17

/* The prepared statements of every connection (SQL in store_pg.c). */
enum stmt {
	S_GET,
	S_HOMED,
	S_LIST,
	S_LIST_HOMED,
	S_BEGIN_READ,
	S_BEGIN_WRITE,
	S_COMMIT,
	S_ROLLBACK,
	S_LOCK,
	S_VALUES,
	S_INS_HEAD,
	S_PUT_HEAD,
	S_PUT,
	S_DEL,
	S_DEL_EXCEPT,
	S_DEL_ALL,
	S_HOME,
	S_UNHOME,
	S_CH_TAKE, /* the change log (store_pg_write.c, store_pg_changes.c) */
	S_CH_PUT,
	S_CH_BOUNDS,
	S_CH_READ,
	S_CH_PRUNE,
	S_B_HEAD,
	S_B_DEL,
	S_B_PUT,
	S_SEARCH_TERM, /* store_pg_search.c */
	S_SEARCH_TIME,
	S_SEARCH_PREFIX,
	S_SEARCH_PLAN,
	S_SEARCH_PLAN_END,
	S_IDX_HAS, /* declared types (store_pg_search.c) */
	S_IDX_LIST,
	S_IDX_ADD,
	S_IDX_DEL,
	S_ITER_HEADS, /* store_pg_iter.c */
	S_ITER_VALUES,
	S_COUNT
};

typedef struct {
	char *conninfo;
	char label[80]; /* "primary" / "replica 1", and host:port once known */
	char role[16];	/* "primary" / "replica 1" */
	/* guarded by the store's mu (store_pg_health.c) */
	int64_t down_until;  /* monotonic ms: not tried before; 0: up */
	int backoff_ms;	     /* the last wait; doubles while it stays down */
	int64_t out_since;   /* when its outage began; 0: none */
	uint64_t out_failed; /* what failed during the outage */
} server_t;

typedef struct {
	PGconn *c;
	int srv;	 /* index into the store's servers */
	unsigned queued; /* statements sent whose results are unread */
	bool async;	 /* a segment (ROLLBACK + sync) is unread */
	bool broken;
	/* the last round trip failed because the connection did, not a
	 * statement: what was sent may or may not have run */
	bool lost;
} pconn_t;

typedef struct {
	idn_store_t base;
	server_t *srv; /* [0] the primary, then the replicas */
	unsigned nsrv;
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	pthread_mutex_t mu; /* guards what follows and servers' down_until */
	unsigned rr;	    /* next replica for a reader */
	pconn_t *idle[POOL_MAX];
	unsigned nidle;
	/* The homed prefixes, sorted, each a u32 length and its bytes: every
	 * resolution asks, they seldom change. Read again after HOMED_TTL_MS
	 * or when this store's own home/unhome commits (gen). */
	uint8_t *homed;
	size_t homed_len;
	int64_t homed_at; /* 0: not loaded */
	bool homed_many;  /* too many to cache: ask the server */
	uint64_t homed_gen;
} pstore_t;

typedef struct {
	uint8_t *p;
	size_t len, cap;
} buf_t;

static inline pstore_t *idn__pstore(idn_store_t *s)
{
	return (pstore_t *)s;
}

/* Monotonic milliseconds. */
int64_t idn__pg_now_ms(void);

/* Reports through the store's log callback (store.h), one line. */
void idn__pg_log(pstore_t *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The one translation of libpq failures into library codes
 * (store_pg_health.c): a failed result r, or (r NULL) a connection that
 * failed; logs the server's message. Marks pc broken when the connection
 * is gone, and begins an outage of its server. */
int idn__pg_error(pstore_t *s, pconn_t *pc, const PGresult *r);
/* True for a result whose severity ends the session (FATAL, PANIC). */
bool idn__pg_result_fatal(const PGresult *r);

/* Connections in pipeline mode. idn__pg_send queues a prepared
 * statement (binary parameters and results); idn__pg_sync sends a sync
 * and reads every queued result, handing the last nkeep to keep[] (the
 * caller clears them); both return 0 or a translated error. */
int idn__pg_connect(pstore_t *s, int server, pconn_t *pc);
void idn__pg_close(pconn_t *pc);
int idn__pg_send(pstore_t *s, pconn_t *pc, enum stmt st, int n,
		 const char *const *vals, const int *lens);
int idn__pg_sync(pstore_t *s, pconn_t *pc, PGresult **keep, unsigned nkeep);
/* Ends a transaction without waiting; the next idn__pg_ready reads it. */
void idn__pg_rollback_async(pstore_t *s, pconn_t *pc);
/* False if an idle connection must be replaced. */
bool idn__pg_ready(pstore_t *s, pconn_t *pc);
/* Outages (store_pg_health.c). idn__pg_server_down: true while the
 * server is not to be tried (the request is counted as failed); once its
 * back-off has ended, false for the one caller that is to probe it.
 * idn__pg_server_mark: a connection to it succeeded (up; ends an outage
 * with its log line) or failed for why (begins one, logged once, or
 * counts; the back-off grows). idn__pg_server_lost: a connection in use
 * was lost for why (begins an outage or counts; no back-off: the next
 * request connects again at once). */
bool idn__pg_server_down(pstore_t *s, int server, int64_t now);
void idn__pg_server_mark(pstore_t *s, int server, bool up, const char *why);
void idn__pg_server_lost(pstore_t *s, int server, const char *why);

/* Looks prefix up in a list of homed prefixes (each a u32 length and its
 * bytes, sorted; see pstore_t). Returns 1, 0 or IDN_ECORRUPT for a list
 * that does not decode. */
int idn__pg_homed_find(const uint8_t *list, size_t size, const uint8_t *p,
		       size_t len);

/* Growable buffers and arrays in the binary format of array_send. */
int idn__pg_buf_reserve(buf_t *b, size_t need);
int idn__pg_arr_init(buf_t *b, uint32_t oid, uint32_t n, size_t size);
void idn__pg_arr_int8(buf_t *b, int64_t v);
void idn__pg_arr_bytes(buf_t *b, const void *p, size_t len);

/* A record from its rows: see store_pg.c. */
int idn__pg_record_size(size_t idlen, const PGresult *v, int vrow0,
			size_t *size);
int idn__pg_build_record(const PGresult *h, int hcol, const PGresult *v,
			 int vrow0, uint8_t *dst, const uint8_t *key,
			 size_t keylen, idn_record_t *out);

/* The search index (schema version 2): expression indexes on the value
 * rows of idn_records, which PostgreSQL maintains in the transaction of
 * every write. PG_TERM is a value's "u32 type length, type, u32 data
 * length, data" cut out of its wire encoding (enc: index 4, timestamp 4,
 * ttl type 1, ttl 4, permissions 1, then type and data), NULL for a row
 * too short to hold one, never an error, so a damaged row can still be
 * written and reported; the index keeps its MD5. PG_TS is the value's
 * timestamp, 4 bytes big-endian, which sort as numbers. The term index
 * leaves out the values of HS_ types (PG_NOT_HS), as search.h says. */
#define PG_TL                                                                  \
	"((get_byte(enc, 14)::int8 << 24) | (get_byte(enc, 15)::int8 << 16)"   \
	" | (get_byte(enc, 16)::int8 << 8) | get_byte(enc, 17)::int8)"
#define PG_DL                                                                  \
	"((get_byte(enc, (18 + " PG_TL ")::int)::int8 << 24)"                  \
	" | (get_byte(enc, (19 + " PG_TL ")::int)::int8 << 16)"                \
	" | (get_byte(enc, (20 + " PG_TL ")::int)::int8 << 8)"                 \
	" | get_byte(enc, (21 + " PG_TL ")::int)::int8)"
#define PG_TERM                                                                \
	"(CASE WHEN length(enc) < 22 THEN NULL"                                \
	" WHEN " PG_TL " > length(enc) - 22 THEN NULL"                         \
	" ELSE substring(enc from 15 for least(length(enc)::int8,"             \
	" 8 + " PG_TL " + " PG_DL ")::int) END)"
#define PG_TS "substring(enc from 5 for 4)"
/* Not a value of an HS_ type (search.h): its type begins at byte 18. */
#define PG_NOT_HS "substring(enc from 19 for 3) <> '\\x48535f'::bytea"

/* Runs a read statement in t's snapshot (store_pg.c); *res is the
 * caller's to clear. Returns 0 or a translated error. */
int idn__pg_rquery(idn_rtxn_t *t, enum stmt st, int n, const char *const *vals,
		   const int *lens, PGresult **res);
/* Runs nq one-parameter statements st in t's snapshot, which a query
 * through idn__pg_rquery has begun, in one round trip; res[0..nq) are the
 * caller's to clear. Returns 0 or a translated error. */
int idn__pg_rquery_each(idn_rtxn_t *t, enum stmt st, int nq,
			const char *const *vals, const int *lens,
			PGresult **res);
/* Runs nst statements with the same n parameters in t's snapshot in one
 * round trip (beginning the snapshot if needed); res[0..nst) are the
 * caller's to clear. Returns 0 or a translated error. */
int idn__pg_rquery_n(idn_rtxn_t *t, const enum stmt *st, unsigned nst, int n,
		     const char *const *vals, const int *lens, PGresult **res);
/* False once t is reset (until it is renewed). */
bool idn__pg_rtxn_live(idn_rtxn_t *t);
/* The records iterator (store_pg_iter.c), as in store_impl.h. */
int idn__pg_iter_records(idn_rtxn_t *t, idn_bytes_t under, idn_bytes_t from,
			 idn_iter_t **out);
/* The search op (store_pg_search.c), as in store_impl.h. */
int idn__pg_search(idn_rtxn_t *t, const idn_search_t *q, idn_search_cb cb,
		   void *ctx);
/* The declared types (store_pg_search.c), as in store_impl.h. */
int idn__pg_index_declared(idn_rtxn_t *t, idn_bytes_t type);
int idn__pg_index_types(idn_rtxn_t *t, idn_list_cb cb, void *ctx);
int idn__pg_index_add(idn_wtxn_t *t, idn_bytes_t type);
int idn__pg_index_remove(idn_wtxn_t *t, idn_bytes_t type);

/* The write operations (store_pg_write.c), as in store_impl.h. */
int idn__pg_wtxn_begin(idn_store_t *s, idn_wtxn_t **out);
/* The change log (store_pg_write.c, store_pg_changes.c). */
int idn__pg_changes_write(idn_wtxn_t *t, const uint8_t *e, size_t len,
			  uint32_t n);
int idn__pg_changes_prune(idn_store_t *s, uint64_t older_than_ms,
			  uint64_t keep_max, uint64_t *pruned);
int idn__pg_changes_bounds(idn_rtxn_t *t, uint64_t *first, uint64_t *next);
int idn__pg_changes_read(idn_rtxn_t *t, uint64_t from, uint32_t max,
			 idn_change_cb cb, void *ctx);
int idn__pg_wtxn_commit(idn_wtxn_t *t);
void idn__pg_wtxn_abort(idn_wtxn_t *t);
int idn__pg_wtxn_get(idn_wtxn_t *t, const uint8_t *key, size_t keylen,
		     idn_record_t *out);
int idn__pg_create(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		   uint32_t n, bool overwrite);
int idn__pg_delete(idn_wtxn_t *t, const idn_ident_t *id);
int idn__pg_add(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		uint32_t n, bool overwrite);
int idn__pg_modify(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		   uint32_t n);
int idn__pg_remove(idn_wtxn_t *t, const idn_ident_t *id, const uint32_t *idx,
		   uint32_t n);
int idn__pg_home(idn_wtxn_t *t, const uint8_t *prefix, size_t len);
int idn__pg_unhome(idn_wtxn_t *t, const uint8_t *prefix, size_t len);

#endif
