/* The PostgreSQL storage backend, through libpq.
 *
 * Schema (version 3; idn_schema_migrations lists the versions applied,
 * idnode creates and migrates it at open):
 *
 *   idn_records      (ident_key bytea, idx bigint, enc bytea),
 *                    primary key (ident_key, idx). ident_key is the
 *                    normalised identifier. Row idx -1 is the record's
 *                    header: enc holds the identifier as first created.
 *                    Rows idx 0..2^32-1 are its values, enc the wire
 *                    encoding of each (idn_value_encode), so a resolution
 *                    is one range read of the primary key, and the values
 *                    concatenated in index order are the reply's bytes.
 *                    A partial index on the header rows serves listings.
 *   idn_prefixes     (prefix_key bytea primary key): the homed prefixes.
 *   idn_changes      (id bigint primary key, at_ms, entry): the change log
 *                    (changes.h); entry as idn__change_encode writes it.
 *   idn_changes_next (one row: next bigint): the next id. A commit takes
 *                    its ids by updating the row, whose lock it holds to
 *                    its end, so ids ascend in commit order and a reader
 *                    never sees a later id before an earlier one.
 *   idn_templates, idn_search_index: created for later features.
 *
 * Schema version 2 adds the search index: two partial expression indexes
 * on the value rows of idn_records (store_pg.h, PG_TERM and PG_TS), so
 * every write path keeps it in its own transaction, and migrating an older
 * store builds it. Version 3 adds idn_index_types (type bytea primary key):
 * the declared types of search.h. Version 4 replaces the per-record
 * idn_change_log of version 1 by idn_changes. The expression indexes still
 * cover every type (PostgreSQL maintains them anyway); a search by a type
 * missing from the table is refused, as on LMDB.
 *
 * Every table's key begins with the identifier (or prefix) and every
 * statement finds its rows by it (a batch by an array of them), so the
 * schema works unchanged on engines that shard tables by their key's
 * first column.
 * The SQL is plain PostgreSQL without extensions: bytea keys (bytewise
 * order, the same as LMDB's), INSERT ... ON CONFLICT, SELECT ... FOR
 * UPDATE, unnest of arrays.
 *
 * Connections. Every connection runs in libpq's pipeline mode with every
 * statement prepared at connect, so statements whose results an operation
 * does not need are queued and travel with the next one it does. A read
 * transaction owns one connection (a worker keeps its read transaction, so
 * this is the per-worker pool); it goes to a replica, round-robin, or to the
 * primary when no replica answers. Its snapshot is a REPEATABLE READ READ
 * ONLY transaction begun with its first query (BEGIN travels with it) and
 * rolled back without waiting at reset. Write transactions take a
 * connection to the primary from a shared pool, so several threads write
 * at once.
 *
 * Writes. Each write transaction is one READ COMMITTED transaction. An
 * operation first locks the record's header row (SELECT ... FOR UPDATE, or
 * the INSERT of a new header), and only then, in a later statement with a
 * fresh snapshot, reads the values: so writers of one identifier are
 * serialised and none loses another's update. The whole new record is
 * computed and checked in memory (record.h) before the first write, so an
 * operation that fails a check has written nothing and the transaction
 * goes on (no savepoints needed); any failure of the server poisons the
 * transaction, as store.h allows. A commit returns 0 only when COMMIT
 * succeeded; durability is the server's (synchronous_commit). Creates
 * with overwrite (bulk imports, migrations) are staged and sent a thousand
 * at a time as statements over arrays. The write side is in
 * store_pg_write.c; store_pg.h is what the two files share.
 *
 * Every resolution asks whether a prefix is homed, and homed prefixes
 * seldom change: the store keeps them, read again after HOMED_TTL_MS or at
 * once when a transaction of this store homes or unhomes one.
 *
 * Failures. Every libpq and server failure goes through idn__pg_error, which
 * also logs the server's message (store_pg_health.c). A server that cannot
 * be reached is an outage, logged once and counted; it is not tried again
 * for a back-off of at most 2 s; while the primary is down, write
 * transactions fail at once with IDN_ENOPRIMARY and reads go on from the
 * replicas. A connection lost after COMMIT was sent and before its result
 * came is IDN_EUNKNOWN_OUTCOME: the commit may have happened. */
#include "store_pg.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ident.h"

#define SCHEMA_VERSION 4
#define LIST_PAGE 1000	  /* rows per listing query */
#define FALLBACK_MS 5000  /* a reader on the primary retries replicas after */
#define HOMED_TTL_MS 1000 /* the homed prefixes are read again after */
#define HOMED_MAX 4096	  /* more homed prefixes than this: no cache */

/* ---- statements ---- */

static const char *const stmt_sql[S_COUNT] = {
	[S_GET] = "SELECT idx, enc FROM idn_records WHERE ident_key = $1 "
		  "ORDER BY idx",
	[S_HOMED] = "SELECT 1 FROM idn_prefixes WHERE prefix_key = $1",
	[S_LIST] = "SELECT ident_key, enc FROM idn_records WHERE idx = -1 "
		   "AND ident_key >= $1 AND ident_key < $2 AND ident_key > $3 "
		   "ORDER BY ident_key LIMIT 1000",
	[S_LIST_HOMED] = "SELECT prefix_key FROM idn_prefixes "
			 "WHERE prefix_key > $1 ORDER BY prefix_key LIMIT 1000",
	[S_BEGIN_READ] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	[S_BEGIN_WRITE] = "BEGIN ISOLATION LEVEL READ COMMITTED",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_LOCK] = "SELECT enc FROM idn_records WHERE ident_key = $1 "
		   "AND idx = -1 FOR UPDATE",
	[S_VALUES] = "SELECT idx, enc FROM idn_records WHERE ident_key = $1 "
		     "AND idx >= 0 ORDER BY idx",
	[S_INS_HEAD] = "INSERT INTO idn_records (ident_key, idx, enc) "
		       "VALUES ($1, -1, $2) ON CONFLICT (ident_key, idx) "
		       "DO NOTHING",
	[S_PUT_HEAD] = "INSERT INTO idn_records (ident_key, idx, enc) "
		       "VALUES ($1, -1, $2) ON CONFLICT (ident_key, idx) "
		       "DO UPDATE SET enc = excluded.enc",
	[S_PUT] =
		"INSERT INTO idn_records (ident_key, idx, enc) "
		"SELECT $1, u.idx, u.enc "
		"FROM unnest($2::int8[], $3::bytea[]) AS u (idx, enc) "
		"ON CONFLICT (ident_key, idx) DO UPDATE SET enc = excluded.enc",
	[S_DEL] = "DELETE FROM idn_records WHERE ident_key = $1 "
		  "AND idx = ANY ($2::int8[])",
	[S_DEL_EXCEPT] = "DELETE FROM idn_records WHERE ident_key = $1 "
			 "AND idx >= 0 AND NOT (idx = ANY ($2::int8[]))",
	[S_DEL_ALL] = "DELETE FROM idn_records WHERE ident_key = $1",
	[S_HOME] = "INSERT INTO idn_prefixes (prefix_key) VALUES ($1) "
		   "ON CONFLICT (prefix_key) DO NOTHING",
	[S_UNHOME] = "DELETE FROM idn_prefixes WHERE prefix_key = $1",
	/* the change log: a commit's ids, then its entries (changes.h) */
	[S_CH_TAKE] = "UPDATE idn_changes_next SET next = next + $1::int8 "
		      "RETURNING next - $1::int8",
	[S_CH_PUT] =
		"INSERT INTO idn_changes (id, at_ms, entry) "
		"SELECT * FROM unnest($1::int8[], $2::int8[], $3::bytea[])",
	[S_CH_BOUNDS] = "SELECT coalesce((SELECT min(id) FROM idn_changes),"
			" (SELECT next FROM idn_changes_next)),"
			" (SELECT next FROM idn_changes_next)",
	[S_CH_READ] = "SELECT id, entry FROM idn_changes WHERE id >= $1::int8 "
		      "ORDER BY id LIMIT $2::int8",
	/* the oldest, never the newest: older than $1 or beyond $2 */
	[S_CH_PRUNE] =
		"DELETE FROM idn_changes WHERE id IN (SELECT id FROM "
		"idn_changes WHERE id < (SELECT max(id) FROM idn_changes)"
		" AND (at_ms < $1::int8 OR id < (SELECT next FROM "
		"idn_changes_next) - $2::int8) ORDER BY id LIMIT 10000)",
	/* a batch of creates with overwrite, in key order (w_flush) */
	[S_B_HEAD] =
		"INSERT INTO idn_records (ident_key, idx, enc) "
		"SELECT u.k, -1, u.t "
		"FROM unnest($1::bytea[], $2::bytea[]) AS u (k, t) "
		"ON CONFLICT (ident_key, idx) DO UPDATE SET enc = excluded.enc",
	[S_B_DEL] =
		"DELETE FROM idn_records WHERE ident_key = ANY ($1::bytea[]) "
		"AND idx >= 0",
	[S_B_PUT] =
		"INSERT INTO idn_records (ident_key, idx, enc) "
		"SELECT * FROM unnest($1::bytea[], $2::int8[], $3::bytea[])",
	/* search (store_pg_search.c): a batch of candidate identifiers,
	 * plain index range scans (no DISTINCT, no join: plans that stay
	 * index scans on a table without statistics); the rows of each
	 * candidate are then read with S_GET, pipelined */
	[S_SEARCH_TERM] =
		"SELECT ''::bytea, ident_key FROM idn_records "
		"WHERE idx >= 0 AND " PG_NOT_HS " "
		"AND md5(" PG_TERM ") = $1::text "
		"AND ident_key > $2 AND ident_key >= $3 AND ident_key < $4 "
		"ORDER BY ident_key LIMIT 128",
	[S_SEARCH_TIME] = "SELECT " PG_TS " AS t, ident_key "
			  "FROM idn_records WHERE idx >= 0 "
			  "AND (" PG_TS ", ident_key) > ($1::bytea, $2::bytea) "
			  "AND " PG_TS " <= $3::bytea "
			  "AND ident_key >= $4 AND ident_key < $5 "
			  "ORDER BY 1, 2 LIMIT 128",
	/* for the rest of a search: without statistics (a table just
	 * loaded) the planner takes the LIMIT queries above for a few rows
	 * and plans a bitmap scan of every match and a sort (0.6 s on 100 000
	 * identifiers) instead of reading the index in order */
	[S_SEARCH_PLAN] =
		"SELECT set_config('enable_bitmapscan', 'off', true), "
		"set_config('enable_sort', 'off', true)",
	[S_SEARCH_PLAN_END] =
		"SELECT set_config('enable_bitmapscan', 'on', true), "
		"set_config('enable_sort', 'on', true)",
	/* the declared types of the search index */
	[S_IDX_HAS] = "SELECT 1 FROM idn_index_types WHERE type = $1",
	[S_IDX_LIST] = "SELECT type FROM idn_index_types ORDER BY type",
	[S_IDX_ADD] = "INSERT INTO idn_index_types (type) VALUES ($1) "
		      "ON CONFLICT (type) DO NOTHING",
	[S_IDX_DEL] = "DELETE FROM idn_index_types WHERE type = $1",
	/* the records iterator (store_pg_iter.c): a page of headers, and
	 * in the same round trip the values of the same page ($1 the lower
	 * bound, $2 the last key of the previous page, $3 the upper bound) */
	[S_ITER_HEADS] =
		"SELECT ident_key, enc FROM idn_records WHERE idx = -1 "
		"AND ident_key >= $1 AND ident_key > $2 "
		"AND ident_key < $3 ORDER BY ident_key LIMIT 1000",
	[S_ITER_VALUES] =
		"SELECT ident_key, idx, enc FROM idn_records WHERE idx >= 0 "
		"AND ident_key >= $1 AND ident_key > $2 AND ident_key <= "
		"(SELECT h.ident_key FROM (SELECT ident_key FROM idn_records "
		"WHERE idx = -1 AND ident_key >= $1 AND ident_key > $2 "
		"AND ident_key < $3 ORDER BY ident_key LIMIT 1000) AS h "
		"ORDER BY h.ident_key DESC LIMIT 1) "
		"ORDER BY ident_key, idx",
	[S_SEARCH_PREFIX] =
		"SELECT ''::bytea, ident_key FROM idn_records WHERE idx = -1 "
		"AND ident_key > $1 AND ident_key >= $2 AND ident_key < $3 "
		"ORDER BY ident_key LIMIT 128",
};

/* ---- schema ---- */

static const char *const migrations[SCHEMA_VERSION] = {
	/* 1 */
	"CREATE TABLE idn_records ("
	" ident_key bytea NOT NULL,"
	" idx bigint NOT NULL,"
	" enc bytea NOT NULL,"
	" PRIMARY KEY (ident_key, idx));"
	"CREATE INDEX idn_records_ident ON idn_records (ident_key)"
	" WHERE idx = -1;"
	"CREATE TABLE idn_prefixes ("
	" prefix_key bytea NOT NULL PRIMARY KEY);"
	"CREATE TABLE idn_templates ("
	" prefix_key bytea NOT NULL,"
	" name text NOT NULL,"
	" version integer NOT NULL,"
	" industry text NOT NULL DEFAULT '',"
	" body bytea NOT NULL,"
	" created timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (prefix_key, name, version));"
	"CREATE TABLE idn_search_index ("
	" ident_key bytea NOT NULL,"
	" idx bigint NOT NULL,"
	" term bytea NOT NULL,"
	" PRIMARY KEY (ident_key, idx, term));"
	"CREATE TABLE idn_change_log ("
	" ident_key bytea NOT NULL,"
	" seq bigserial NOT NULL,"
	" at timestamptz NOT NULL DEFAULT now(),"
	" op text NOT NULL,"
	" PRIMARY KEY (ident_key, seq));",
	/* 2: IF NOT EXISTS, so a version table put back by hand still opens */
	"CREATE INDEX IF NOT EXISTS idn_records_term ON idn_records"
	" (md5(" PG_TERM "), ident_key) WHERE idx >= 0 AND " PG_NOT_HS ";"
	"CREATE INDEX IF NOT EXISTS idn_records_ts ON idn_records"
	" (" PG_TS ", ident_key) WHERE idx >= 0;",
	/* 3: searchable types are declared; a store of version 2 searched
	 * every type but HS_ ones, so the types it holds are declared */
	"CREATE TABLE IF NOT EXISTS idn_index_types ("
	" type bytea NOT NULL PRIMARY KEY);"
	"INSERT INTO idn_index_types (type)"
	" SELECT DISTINCT substring(enc from 19 for " PG_TL "::int)"
	" FROM idn_records WHERE idx >= 0 AND length(enc) >= 22"
	" AND " PG_TL " BETWEEN 1 AND 255 AND " PG_NOT_HS
	" AND position('\\x00'::bytea in substring(enc from 19 for " PG_TL
	"::int)) = 0"
	" ON CONFLICT (type) DO NOTHING;"
	/* the empty type: the creation time, indexed by version 2 */
	"INSERT INTO idn_index_types (type) SELECT ''::bytea"
	" WHERE EXISTS (SELECT 1 FROM idn_records WHERE idx >= 0)"
	" ON CONFLICT (type) DO NOTHING;",
	/* 4: the change log that followers replay (changes.h) */
	"CREATE TABLE IF NOT EXISTS idn_changes ("
	" id bigint NOT NULL PRIMARY KEY,"
	" at_ms bigint NOT NULL,"
	" entry bytea NOT NULL);"
	"CREATE TABLE IF NOT EXISTS idn_changes_next ("
	" one boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (one),"
	" next bigint NOT NULL);"
	"INSERT INTO idn_changes_next (one, next) VALUES (true, 1)"
	" ON CONFLICT (one) DO NOTHING;"
	"DROP TABLE IF EXISTS idn_change_log;",
};

static const char *const migration_desc[SCHEMA_VERSION] = {
	"records, prefixes, templates, search index, change log",
	"search: value and creation time indexes",
	"search: declared types",
	"the change log",
};

/* ---- types ---- */

typedef struct {
	idn_rtxn_t base;
	pconn_t pc;
	idn_arena_t arena; /* records handed out since the last reset */
	int64_t since;	   /* when pc was connected */
	bool live;	   /* renewed and not reset */
	bool in_txn;	   /* BEGIN sent: the snapshot is taken */
} prtxn_t;

int64_t idn__pg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- logging ---- */

void idn__pg_log(pstore_t *s, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* libpq's messages end in a newline and may span lines */
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = 0;
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (s->log)
		s->log(s->log_ctx, level, msg);
	else if (level <= 2)
		fprintf(stderr, "idn store: %s\n", msg);
}

/* The server's warnings go to the log; its notices ("relation exists,
 * skipping") and the warning of a ROLLBACK with nothing to roll back do
 * not matter. */
static void notice(void *arg, const PGresult *r)
{
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (sev == NULL || strcmp(sev, "WARNING") != 0 ||
	    (st && strcmp(st, "25P01") == 0))
		return;
	idn__pg_log(arg, 1, "postgresql: %s", PQresultErrorMessage(r));
}

/* ---- buffers and parameters ---- */

int idn__pg_buf_reserve(buf_t *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (p == NULL)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	idn_put_u32(p, (uint32_t)(v >> 32));
	idn_put_u32(p + 4, (uint32_t)v);
}

static int64_t get_i64(const uint8_t *p)
{
	return (int64_t)(((uint64_t)idn_get_u32(p) << 32) | idn_get_u32(p + 4));
}

/* Starts a one-dimensional array of n elements of type oid in the binary
 * format of array_send into b, for up to size bytes of elements (each
 * with its 4-byte length). */
int idn__pg_arr_init(buf_t *b, uint32_t oid, uint32_t n, size_t size)
{
	int err = idn__pg_buf_reserve(b, 20 + size);
	if (err)
		return err;
	idn_put_u32(b->p, n ? 1 : 0); /* dimensions */
	idn_put_u32(b->p + 4, 0);     /* no NULLs */
	idn_put_u32(b->p + 8, oid);
	b->len = 12;
	if (n) {
		idn_put_u32(b->p + 12, n); /* length */
		idn_put_u32(b->p + 16, 1); /* lower bound */
		b->len = 20;
	}
	return 0;
}

void idn__pg_arr_int8(buf_t *b, int64_t v)
{
	idn_put_u32(b->p + b->len, 8);
	put_u64(b->p + b->len + 4, (uint64_t)v);
	b->len += 12;
}

void idn__pg_arr_bytes(buf_t *b, const void *p, size_t len)
{
	idn_put_u32(b->p + b->len, (uint32_t)len);
	if (len)
		memcpy(b->p + b->len + 4, p, len);
	b->len += 4 + len;
}

/* ---- connections ---- */

void idn__pg_close(pconn_t *pc)
{
	if (pc->c)
		PQfinish(pc->c);
	pc->c = NULL;
	pc->queued = 0;
	pc->async = false;
	pc->broken = false;
}

/* Queues a prepared statement; its parameters are binary, and so are the
 * results. */
int idn__pg_send(pstore_t *s, pconn_t *pc, enum stmt st, int n,
		 const char *const *vals, const int *lens)
{
	static const int fmts[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	char name[8];
	snprintf(name, sizeof(name), "s%d", (int)st);
	if (pc->broken)
		return IDN_ESTORE;
	if (!PQsendQueryPrepared(pc->c, name, n, vals, lens, fmts, 1))
		return idn__pg_error(s, pc, NULL);
	pc->queued++;
	return 0;
}

/* Reads the results of every queued statement and the sync sent after
 * them. The results of the last nkeep statements go to keep[] (the caller
 * clears them) when every statement succeeded. Returns 0 or the first
 * failure. */
static int pc_read(pstore_t *s, pconn_t *pc, PGresult **keep, unsigned nkeep)
{
	int err = 0;
	unsigned n = pc->queued;
	for (unsigned i = 0; i < nkeep; i++)
		keep[i] = NULL;
	pc->queued = 0;
	pc->lost = pc->broken;
	if (pc->broken)
		return IDN_ESTORE;
	for (unsigned i = 0; i < n; i++) {
		PGresult *r = PQgetResult(pc->c);
		if (r == NULL) {
			if (err == 0)
				pc->lost = true;
			int e = idn__pg_error(s, pc, NULL);
			err = err ? err : e;
			break;
		}
		ExecStatusType rs = PQresultStatus(r);
		if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
			if (err == 0 && i + nkeep >= n) {
				keep[i + nkeep - n] = r;
				r = NULL;
			}
		} else if (rs != PGRES_PIPELINE_ABORTED && err == 0) {
			err = idn__pg_error(s, pc, r);
			pc->lost = pc->broken;
		} else if (err == 0) {
			err = IDN_ESTORE;
		}
		PQclear(r);
		if (pc->broken)
			break;
		/* each statement's results end with a NULL */
		while ((r = PQgetResult(pc->c)) != NULL)
			PQclear(r);
	}
	if (!pc->broken) {
		PGresult *r = PQgetResult(pc->c);
		if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
			int e = idn__pg_error(s, pc, r);
			if (err == 0) {
				err = e;
				pc->lost = true;
			}
			pc->broken = true;
		}
		PQclear(r);
	}
	if (err) {
		for (unsigned i = 0; i < nkeep; i++) {
			PQclear(keep[i]);
			keep[i] = NULL;
		}
	}
	return err;
}

/* Sends a sync after the queued statements and reads their results (see
 * pc_read). */
int idn__pg_sync(pstore_t *s, pconn_t *pc, PGresult **keep, unsigned nkeep)
{
	if (!pc->broken && !PQpipelineSync(pc->c)) {
		idn__pg_error(s, pc, NULL);
		pc->broken = true;
	}
	/* a failed sync may still have sent the statements before it */
	return pc_read(s, pc, keep, nkeep);
}

/* Sends a ROLLBACK without waiting for it; the next user reads its
 * results (idn__pg_ready). */
void idn__pg_rollback_async(pstore_t *s, pconn_t *pc)
{
	if (pc->broken || idn__pg_send(s, pc, S_ROLLBACK, 0, NULL, NULL) != 0 ||
	    !PQpipelineSync(pc->c)) {
		pc->broken = true;
		return;
	}
	pc->async = true;
}

/* Makes a connection ready for a new transaction: reads what an earlier
 * asynchronous ROLLBACK left, and notices a connection that the server
 * closed while it was idle. Returns false if pc must be replaced. */
bool idn__pg_ready(pstore_t *s, pconn_t *pc)
{
	if (pc->c == NULL || pc->broken)
		return false;
	if (pc->async) {
		/* a failed ROLLBACK leaves no transaction either */
		pc->async = false;
		pc_read(s, pc, NULL, 0);
		return !pc->broken;
	}
	/* An idle connection has nothing to say unless it is closing (the
	 * server's "terminating connection", or end of file): poll is cheaper
	 * than failing the next transaction. */
	struct pollfd p = {.fd = PQsocket(pc->c), .events = POLLIN};
	return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

/* Makes every transaction of the session read-only, so the server itself
 * refuses a write (a read-only open, store.h). Returns 0 or the error. */
static int set_readonly(pstore_t *s, pconn_t *pc)
{
	PGresult *r =
		PQexec(pc->c, "SET SESSION default_transaction_read_only = on");
	int err = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		err = idn__pg_error(s, pc, r);
	PQclear(r);
	return err;
}

/* Connects to server i, enters pipeline mode and prepares every
 * statement. Returns 0 or IDN_ESTORE (an outage of the server: logged
 * once, and not tried again for its back-off). */
int idn__pg_connect(pstore_t *s, int i, pconn_t *pc)
{
	/* Defaults first: what the connection string says wins. */
	const char *kw[] = {"connect_timeout",
			    "tcp_user_timeout",
			    "fallback_application_name",
			    "target_session_attrs",
			    "dbname",
			    NULL};
	const char *val[] = {"5",
			     "10000",
			     "idnode",
			     i == 0 && !s->base.readonly ? "read-write" : "any",
			     s->srv[i].conninfo,
			     NULL};
	idn__pg_close(pc);
	pc->srv = i;
	pc->c = PQconnectdbParams(kw, val, 1);
	char why[512] = "cannot connect: out of memory";
	if (pc->c == NULL)
		goto fail;
	if (PQstatus(pc->c) != CONNECTION_OK) {
		snprintf(why, sizeof(why), "cannot connect: %s",
			 PQerrorMessage(pc->c));
		goto fail;
	}
	PQsetNoticeReceiver(pc->c, notice, s);
	snprintf(why, sizeof(why), "cannot set up a session");
	if (s->base.readonly && set_readonly(s, pc) != 0)
		goto fail;
	if (!PQenterPipelineMode(pc->c)) {
		snprintf(why, sizeof(why), "no pipeline mode: %s",
			 PQerrorMessage(pc->c));
		goto fail;
	}
	for (int st = 0; st < S_COUNT; st++) {
		char name[8];
		snprintf(name, sizeof(name), "s%d", st);
		if (!PQsendPrepare(pc->c, name, stmt_sql[st], 0, NULL)) {
			idn__pg_error(s, pc, NULL);
			goto fail;
		}
		pc->queued++;
	}
	if (idn__pg_sync(s, pc, NULL, 0) != 0)
		goto fail;
	idn__pg_server_mark(s, i, true, NULL);
	idn__pg_log(s, 3, "postgresql %s: connected", s->srv[i].label);
	return 0;
fail:
	idn__pg_close(pc);
	idn__pg_server_mark(s, i, false, why);
	return IDN_ESTORE;
}

/* ---- opening ---- */

/* Runs one statement outside pipeline mode. Returns its result or NULL
 * with *err set (logged). */
static PGresult *exec1(pstore_t *s, pconn_t *pc, const char *sql, int *err)
{
	PGresult *r = PQexec(pc->c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
		return r;
	*err = idn__pg_error(s, pc, r);
	PQclear(r);
	return NULL;
}

/* The schema version stored in the database: -1 when there is no
 * migrations table. */
static int schema_version(pstore_t *s, pconn_t *pc, int *version)
{
	int err = 0;
	PGresult *r = exec1(s, pc,
			    "SELECT coalesce(max(version), 0) "
			    "FROM idn_schema_migrations",
			    &err);
	if (r == NULL)
		return err;
	*version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* Creates or migrates the schema in one transaction. Returns 0,
 * IDN_ENOTFOUND (existing, and no schema there: nothing is created),
 * IDN_ECORRUPT (a newer schema, or our tables without a version),
 * -EAGAIN (another node migrated at the same moment: try again, unless
 * last) or another translated error. */
static int migrate(pstore_t *s, pconn_t *pc, bool existing, bool last)
{
	int err = 0, version = 0;
	PGresult *r =
		exec1(s, pc, "BEGIN ISOLATION LEVEL READ COMMITTED", &err);
	if (r == NULL)
		return err;
	PQclear(r);
	r = exec1(s, pc,
		  "CREATE TABLE IF NOT EXISTS idn_schema_migrations ("
		  " version integer NOT NULL PRIMARY KEY,"
		  " description text NOT NULL,"
		  " applied_at timestamptz NOT NULL DEFAULT now())",
		  &err);
	if (r)
		PQclear(r);
	if (err == 0)
		err = schema_version(s, pc, &version);
	if (err == 0 && version > SCHEMA_VERSION) {
		idn__pg_log(
			s, 0,
			"postgresql primary: schema version %d is newer than "
			"this idnode's %d",
			version, SCHEMA_VERSION);
		err = IDN_ECORRUPT;
	}
	if (err == 0 && existing && version == 0)
		err = IDN_ENOTFOUND; /* rolled back below: nothing created */
	/* no idnode writes one: the migrations below would run from a
	 * version that does not exist */
	if (err == 0 && version < 0) {
		idn__pg_log(s, 0,
			    "postgresql primary: schema version %d is not a "
			    "version of this store (idn_schema_migrations "
			    "damaged)",
			    version);
		err = IDN_ECORRUPT;
	}
	/* a negative version was refused above */
	for (int v = (version > 0 ? version : 0) + 1;
	     err == 0 && v <= SCHEMA_VERSION; v++) {
		r = exec1(s, pc, migrations[v - 1], &err);
		if (r == NULL)
			break;
		PQclear(r);
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO idn_schema_migrations "
			 "(version, description) VALUES (%d, '%s')",
			 v, migration_desc[v - 1]);
		r = exec1(s, pc, sql, &err);
		if (r == NULL)
			break;
		PQclear(r);
		idn__pg_log(s, 2,
			    "postgresql primary: schema migrated to version %d",
			    v);
	}
	if (err == 0) {
		r = exec1(s, pc, "COMMIT", &err);
		if (r && strcmp(PQcmdStatus(r), "COMMIT") != 0)
			err = -EAGAIN;
		PQclear(r);
		return err;
	}
	if (!pc->broken)
		PQclear(PQexec(pc->c, "ROLLBACK"));
	/* Two nodes creating the same tables: the loser tries again and
	 * finds them. Our tables without a version: not a store we wrote. */
	if (err == IDN_EEXISTS || (err == IDN_ECORRUPT && version == 0))
		return last ? IDN_ECORRUPT : -EAGAIN;
	return err;
}

/* The schema check of a read-only open, in place of migrate: runs no DDL
 * and writes nothing. Returns 0, IDN_ENOTFOUND (no store there),
 * IDN_EREADONLY (an older schema: its upgrade is a write), IDN_ECORRUPT
 * or another translated error. */
static int check_schema_ro(pstore_t *s, pconn_t *pc)
{
	int err = set_readonly(s, pc);
	if (err)
		return err;
	PGresult *r =
		exec1(s, pc,
		      "SELECT to_regclass('idn_schema_migrations') IS NOT NULL",
		      &err);
	if (r == NULL)
		return err;
	bool have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	int version = 0;
	if (!have)
		return IDN_ENOTFOUND;
	err = schema_version(s, pc, &version);
	if (err)
		return err;
	if (version == 0)
		return IDN_ENOTFOUND;
	if (version > SCHEMA_VERSION || version < 0) {
		idn__pg_log(s, 0,
			    "postgresql primary: schema version %d is not one "
			    "this idnode reads (%d)",
			    version, SCHEMA_VERSION);
		return IDN_ECORRUPT;
	}
	if (version < SCHEMA_VERSION) {
		idn__pg_log(s, 0,
			    "postgresql primary: schema version %d cannot be "
			    "read without its upgrade; start idnode on it once "
			    "to upgrade it",
			    version);
		return IDN_EREADONLY;
	}
	return 0;
}

/* With the primary down at open: a replica that holds this schema is
 * enough to start (reads go on; writes fail until the primary returns). */
static int check_replicas(pstore_t *s)
{
	for (unsigned i = 1; i < s->nsrv; i++) {
		pconn_t pc = {0};
		const char *kw[] = {"connect_timeout", "dbname", NULL};
		const char *val[] = {"5", s->srv[i].conninfo, NULL};
		pc.srv = (int)i;
		pc.c = PQconnectdbParams(kw, val, 1);
		if (pc.c == NULL || PQstatus(pc.c) != CONNECTION_OK) {
			char why[512];
			snprintf(why, sizeof(why), "cannot connect: %s",
				 pc.c ? PQerrorMessage(pc.c) : "out of memory");
			idn__pg_server_mark(s, (int)i, false, why);
			idn__pg_close(&pc);
			continue;
		}
		int version = 0;
		int err = schema_version(s, &pc, &version);
		idn__pg_close(&pc);
		if (err == 0 && version == SCHEMA_VERSION) {
			idn__pg_log(s, 1,
				    "postgresql: starting read-only on "
				    "replicas; writes fail until the primary "
				    "is back");
			return 0;
		}
		if (err == 0)
			err = IDN_ECORRUPT;
		return err;
	}
	return IDN_ESTORE;
}

static void set_label(server_t *sv, int i)
{
	if (i == 0)
		snprintf(sv->role, sizeof(sv->role), "primary");
	else
		snprintf(sv->role, sizeof(sv->role), "replica %d", i);
	snprintf(sv->label, sizeof(sv->label), "%s", sv->role);
	/* host and port, never the whole string (it may hold a password) */
	PQconninfoOption *o = PQconninfoParse(sv->conninfo, NULL);
	if (o == NULL)
		return;
	const char *host = NULL, *port = NULL;
	for (PQconninfoOption *p = o; p->keyword; p++) {
		if (strcmp(p->keyword, "host") == 0 && p->val)
			host = p->val;
		else if (strcmp(p->keyword, "hostaddr") == 0 && p->val &&
			 host == NULL)
			host = p->val;
		else if (strcmp(p->keyword, "port") == 0 && p->val)
			port = p->val;
	}
	if (host || port) {
		size_t n = strlen(sv->label);
		snprintf(sv->label + n, sizeof(sv->label) - n, " %.40s:%.8s",
			 host ? host : "local", port ? port : "5432");
	}
	PQconninfoFree(o);
}

static const idn_store_ops_t pg_ops;

static void pstore_free(pstore_t *s)
{
	for (unsigned i = 0; i < s->nidle; i++) {
		idn__pg_close(s->idle[i]);
		free(s->idle[i]);
	}
	for (unsigned i = 0; i < s->nsrv; i++)
		free(s->srv[i].conninfo);
	free(s->srv);
	pthread_mutex_destroy(&s->mu);
	free(s->homed);
	free(s);
}

int idn__store_pg_open(const idn_store_opts_t *o, idn_store_t **out)
{
	if (o->nreplicas > 64)
		return IDN_EINVAL;
	for (unsigned i = 0; i < o->nreplicas; i++)
		if (o->replicas[i] == NULL || o->replicas[i][0] == 0)
			return IDN_EINVAL;
	pstore_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->base.ops = &pg_ops;
	s->base.readonly = o->readonly;
	s->log = o->log;
	s->log_ctx = o->log_ctx;
	pthread_mutex_init(&s->mu, NULL);
	s->nsrv = 1 + o->nreplicas;
	s->srv = calloc(s->nsrv, sizeof(*s->srv));
	if (s->srv == NULL) {
		s->nsrv = 0;
		pstore_free(s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < s->nsrv; i++) {
		s->srv[i].conninfo = strdup(i ? o->replicas[i - 1] : o->path);
		if (s->srv[i].conninfo == NULL) {
			pstore_free(s);
			return -ENOMEM;
		}
		set_label(&s->srv[i], (int)i);
		char *msg = NULL;
		PQconninfoOption *opt =
			PQconninfoParse(s->srv[i].conninfo, &msg);
		if (opt == NULL) {
			idn__pg_log(s, 0,
				    "postgresql %s: bad connection string: %s",
				    s->srv[i].label,
				    msg ? msg : "out of memory");
			PQfreemem(msg);
			pstore_free(s);
			return IDN_EINVAL;
		}
		PQconninfoFree(opt);
	}

	/* The schema, on the primary; the connection joins the pool. */
	pconn_t *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		pstore_free(s);
		return -ENOMEM;
	}
	int err = o->deferred ? 0 : IDN_ESTORE;
	/* deferred: another store checked this database's schema */
	for (int attempt = o->deferred ? 5 : 0; attempt < 5; attempt++) {
		const char *kw[] = {"connect_timeout",
				    "fallback_application_name",
				    "target_session_attrs", "dbname", NULL};
		const char *val[] = {"5", "idnode",
				     o->readonly ? "any" : "read-write",
				     s->srv[0].conninfo, NULL};
		pc->srv = 0;
		pc->c = PQconnectdbParams(kw, val, 1);
		if (pc->c == NULL || PQstatus(pc->c) != CONNECTION_OK) {
			char why[512];
			snprintf(why, sizeof(why), "cannot connect: %s",
				 pc->c ? PQerrorMessage(pc->c)
				       : "out of memory");
			idn__pg_close(pc);
			/* the outage's one line, before what follows of it */
			idn__pg_server_mark(s, 0, false, why);
			err = s->nsrv > 1 ? check_replicas(s) : IDN_ESTORE;
			break;
		}
		PQsetNoticeReceiver(pc->c, notice, s);
		err = o->readonly ? check_schema_ro(s, pc)
				  : migrate(s, pc, o->existing, attempt == 4);
		idn__pg_close(pc);
		if (err != -EAGAIN)
			break;
	}
	free(pc);
	if (err) {
		pstore_free(s);
		return err;
	}
	*out = &s->base;
	return 0;
}

static void pg_close(idn_store_t *base)
{
	pstore_free(idn__pstore(base));
}

/* ---- read transactions ---- */

static prtxn_t *prtxn(idn_rtxn_t *t)
{
	return (prtxn_t *)t;
}

/* Connects a reader: replicas round-robin, then the primary. */
static int r_connect(prtxn_t *t)
{
	pstore_t *s = idn__pstore(t->base.store);
	unsigned nrep = s->nsrv - 1;
	pthread_mutex_lock(&s->mu);
	unsigned start = s->rr++;
	pthread_mutex_unlock(&s->mu);
	int64_t now = idn__pg_now_ms();
	for (unsigned k = 0; k <= nrep; k++) {
		int i = k < nrep ? (int)(1 + (start + k) % nrep) : 0;
		if (idn__pg_server_down(s, i, now))
			continue;
		if (idn__pg_connect(s, i, &t->pc) == 0) {
			t->since = now;
			return 0;
		}
	}
	/* each server that failed has logged its outage once */
	return IDN_ESTORE;
}

/* Runs a read statement in the transaction's snapshot; the first one of
 * a snapshot begins it, and may move to another server if this one is
 * gone (nothing has been read from it yet). */
static int r_query_n(prtxn_t *t, const enum stmt *st, unsigned nst, int n,
		     const char *const *vals, const int *lens, PGresult **res)
{
	pstore_t *s = idn__pstore(t->base.store);
	for (unsigned i = 0; i < nst; i++)
		res[i] = NULL;
	if (!t->live)
		return IDN_EINVAL;
	for (unsigned attempt = 0;; attempt++) {
		bool first = !t->in_txn;
		int err = 0;
		if (first && !idn__pg_ready(s, &t->pc))
			err = r_connect(t);
		if (err)
			return err;
		if (first)
			err = idn__pg_send(s, &t->pc, S_BEGIN_READ, 0, NULL,
					   NULL);
		for (unsigned i = 0; i < nst && err == 0; i++)
			err = idn__pg_send(s, &t->pc, st[i], n, vals, lens);
		if (err == 0)
			err = idn__pg_sync(s, &t->pc, res, nst);
		if (err == 0 || !t->pc.broken) {
			/* a failed statement leaves an aborted transaction
			 * for the reset to end */
			t->in_txn = true;
			return err;
		}
		/* gone (perhaps restarted): connect again, to the same
		 * server if it answers */
		idn__pg_close(&t->pc);
		if (!first || attempt >= s->nsrv)
			return err;
	}
}

static int r_query(prtxn_t *t, enum stmt st, int n, const char *const *vals,
		   const int *lens, PGresult **res)
{
	return r_query_n(t, &st, 1, n, vals, lens, res);
}

int idn__pg_rquery(idn_rtxn_t *t, enum stmt st, int n, const char *const *vals,
		   const int *lens, PGresult **res)
{
	return r_query(prtxn(t), st, n, vals, lens, res);
}

int idn__pg_rquery_n(idn_rtxn_t *t, const enum stmt *st, unsigned nst, int n,
		     const char *const *vals, const int *lens, PGresult **res)
{
	return r_query_n(prtxn(t), st, nst, n, vals, lens, res);
}

int idn__pg_rquery_each(idn_rtxn_t *base, enum stmt st, int nq,
			const char *const *vals, const int *lens,
			PGresult **res)
{
	prtxn_t *t = prtxn(base);
	pstore_t *s = idn__pstore(base->store);
	if (!t->live || !t->in_txn)
		return IDN_EINVAL;
	int err = 0;
	for (int i = 0; i < nq && err == 0; i++)
		err = idn__pg_send(s, &t->pc, st, 1, &vals[i], &lens[i]);
	if (err == 0)
		err = idn__pg_sync(s, &t->pc, res, (unsigned)nq);
	return err;
}

static int pg_rtxn_begin(idn_store_t *base, idn_rtxn_t **out)
{
	prtxn_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->base.store = base;
	idn_arena_init(&t->arena, 0);
	t->live = true;
	*out = &t->base;
	return 0;
}

static void pg_rtxn_reset(idn_rtxn_t *base)
{
	prtxn_t *t = prtxn(base);
	pstore_t *s = idn__pstore(base->store);
	if (t->in_txn && t->pc.c)
		idn__pg_rollback_async(s, &t->pc);
	t->in_txn = false;
	t->live = false;
	idn_arena_reset(&t->arena);
}

static int pg_rtxn_renew(idn_rtxn_t *base)
{
	prtxn_t *t = prtxn(base);
	pstore_t *s = idn__pstore(base->store);
	pg_rtxn_reset(base);
	/* a reader that fell back to the primary tries the replicas again */
	if (t->pc.c && t->pc.srv == 0 && s->nsrv > 1 &&
	    idn__pg_now_ms() - t->since > FALLBACK_MS)
		idn__pg_close(&t->pc);
	t->live = true;
	return 0;
}

bool idn__pg_rtxn_live(idn_rtxn_t *t)
{
	return prtxn(t)->live;
}

static void pg_rtxn_free(idn_rtxn_t *base)
{
	prtxn_t *t = prtxn(base);
	idn__pg_close(&t->pc);
	idn_arena_free(&t->arena);
	free(t);
}

/* The bytes idn__pg_build_record needs for a header of idlen bytes and the
 * value rows vrow0.. of v. Returns 0 or IDN_ECORRUPT (too many values). */
int idn__pg_record_size(size_t idlen, const PGresult *v, int vrow0,
			size_t *size)
{
	if (PQntuples(v) - vrow0 > IDN_VALUES_MAX)
		return IDN_ECORRUPT;
	size_t total = idlen;
	for (int i = vrow0; i < PQntuples(v); i++)
		total += (size_t)PQgetlength(v, i, 1);
	*size = total ? total : 1;
	return 0;
}

/* Checks a record read from its rows and copies it into dst (of
 * idn__pg_record_size bytes): the identifier, from column hcol of row 0 of h,
 * then the values section, from the rows vrow0.. of v (columns idx, enc) in
 * index order. key: what the identifier must equal up to ASCII case.
 * Returns 0 or IDN_ECORRUPT. */
int idn__pg_build_record(const PGresult *h, int hcol, const PGresult *v,
			 int vrow0, uint8_t *dst, const uint8_t *key,
			 size_t keylen, idn_record_t *out)
{
	size_t idlen = (size_t)PQgetlength(h, 0, hcol);
	if (idlen == 0 || idlen > IDN_IDENT_MAX)
		return IDN_ECORRUPT;
	memcpy(dst, PQgetvalue(h, 0, hcol), idlen);
	if (!idn_ascii_caseeq(dst, idlen, key, keylen))
		return IDN_ECORRUPT; /* filed under another identifier's key */
	uint8_t *p = dst + idlen;
	uint32_t n = 0;
	for (int i = vrow0; i < PQntuples(v); i++, n++) {
		if (PQgetlength(v, i, 0) != 8)
			return IDN_ECORRUPT;
		int64_t idx = get_i64((const uint8_t *)PQgetvalue(v, i, 0));
		size_t len = (size_t)PQgetlength(v, i, 1);
		const uint8_t *enc = (const uint8_t *)PQgetvalue(v, i, 1);
		/* a row's index is its value's */
		if (idx < 0 || idx > UINT32_MAX || len < 4 ||
		    idn_get_u32(enc) != (uint32_t)idx)
			return IDN_ECORRUPT;
		memcpy(p, enc, len);
		p += len;
	}
	idn_bytes_t values = idn_bytes(dst + idlen, (size_t)(p - dst) - idlen);
	int err = idn__values_walk(values, n, NULL);
	if (err)
		return err;
	out->id = idn_bytes(dst, idlen);
	out->nvalues = n;
	out->values = values;
	return 0;
}

static int pg_get(idn_rtxn_t *base, const uint8_t *key, size_t keylen,
		  idn_record_t *out)
{
	prtxn_t *t = prtxn(base);
	const char *vals[1] = {(const char *)key};
	int lens[1] = {(int)keylen};
	PGresult *r;
	int err = r_query(t, S_GET, 1, vals, lens, &r);
	if (err)
		return err;
	int rows = PQntuples(r);
	size_t size = 0;
	if (rows == 0) {
		err = IDN_ENOTFOUND;
	} else if (PQgetlength(r, 0, 0) != 8 ||
		   get_i64((const uint8_t *)PQgetvalue(r, 0, 0)) != -1) {
		err = IDN_ECORRUPT; /* values without a header */
	} else {
		err = idn__pg_record_size((size_t)PQgetlength(r, 0, 1), r, 1,
					  &size);
	}
	if (err == 0) {
		/* the header row's enc is column 1 */
		uint8_t *dst = idn_arena_alloc(&t->arena, size);
		err = dst ? idn__pg_build_record(r, 1, r, 1, dst, key, keylen,
						 out)
			  : -ENOMEM;
	}
	PQclear(r);
	return err;
}

int idn__pg_homed_find(const uint8_t *list, size_t size, const uint8_t *p,
		       size_t len)
{
	idn_rd_t r;
	idn_rd_init(&r, list, size);
	while (idn_rd_left(&r)) {
		idn_bytes_t e = idn_rd_str(&r, IDN_IDENT_MAX);
		/* a cut entry would leave the cursor where it was */
		if (r.err)
			return IDN_ECORRUPT;
		size_t n = e.len < len ? e.len : len;
		int c = n ? memcmp(e.p, p, n) : 0;
		if (c == 0 && e.len == len)
			return 1;
		if (c > 0 || (c == 0 && e.len > len))
			return 0; /* past it */
	}
	return 0;
}

typedef struct {
	buf_t b;
	unsigned n;
	int err;
} homed_load_t;

static int homed_add(void *ctx, idn_bytes_t p)
{
	homed_load_t *h = ctx;
	if (++h->n > HOMED_MAX)
		return 1;
	if (idn__pg_buf_reserve(&h->b, h->b.len + 4 + p.len) != 0) {
		h->err = -ENOMEM;
		return 1;
	}
	idn_put_u32(h->b.p + h->b.len, p.len);
	memcpy(h->b.p + h->b.len + 4, p.p, p.len);
	h->b.len += 4 + (size_t)p.len;
	return 0;
}

static int pg_list_homed(idn_rtxn_t *base, idn_list_cb cb, void *ctx);

#define ASK_SERVER 2

/* The cached answer: 1, 0, an error, or ASK_SERVER when the cache cannot
 * answer (too many prefixes, or no memory for them). */
static int homed_cached(prtxn_t *t, const uint8_t *prefix, size_t len)
{
	pstore_t *s = idn__pstore(t->base.store);
	int64_t now = idn__pg_now_ms();
	int hit = -1;
	pthread_mutex_lock(&s->mu);
	uint64_t gen = s->homed_gen;
	if (s->homed_at && now - s->homed_at < HOMED_TTL_MS)
		hit = s->homed_many ? ASK_SERVER
				    : idn__pg_homed_find(s->homed, s->homed_len,
							 prefix, len);
	pthread_mutex_unlock(&s->mu);
	if (hit >= 0)
		return hit;
	/* read them all in this snapshot; install unless a commit of this
	 * store changed them meanwhile */
	homed_load_t h = {0};
	int err = pg_list_homed(&t->base, homed_add, &h);
	if (err < 0) {
		free(h.b.p);
		return err;
	}
	bool many = h.n > HOMED_MAX;
	hit = many || h.err ? ASK_SERVER
			    : idn__pg_homed_find(h.b.p, h.b.len, prefix, len);
	pthread_mutex_lock(&s->mu);
	if (gen == s->homed_gen && h.err == 0) {
		free(s->homed);
		s->homed = many ? NULL : h.b.p;
		s->homed_len = many ? 0 : h.b.len;
		s->homed_many = many;
		s->homed_at = now ? now : 1;
		if (!many)
			h.b.p = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(h.b.p);
	return hit;
}

static int pg_homed(idn_rtxn_t *base, const uint8_t *prefix, size_t len)
{
	prtxn_t *t = prtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	int hit = homed_cached(t, prefix, len);
	if (hit != ASK_SERVER)
		return hit;
	const char *vals[1] = {(const char *)prefix};
	int lens[1] = {(int)len};
	PGresult *r;
	int err = r_query(t, S_HOMED, 1, vals, lens, &r);
	if (err)
		return err;
	int homed = PQntuples(r) > 0;
	PQclear(r);
	return homed;
}

static int pg_list(idn_rtxn_t *base, const uint8_t *prefix, size_t len,
		   idn_bytes_t after, idn_list_cb cb, void *ctx)
{
	prtxn_t *t = prtxn(base);
	/* keys under the prefix: from "PREFIX/" up to "PREFIX0" ('/' + 1) */
	uint8_t lo[IDN_IDENT_MAX], hi[IDN_IDENT_MAX], last[IDN_IDENT_MAX];
	memcpy(lo, prefix, len);
	memcpy(hi, prefix, len);
	lo[len] = '/';
	hi[len] = '0';
	const uint8_t *from = after.p; /* the first page starts after this */
	size_t fromlen = after.len;
	for (;;) {
		const char *vals[3] = {(const char *)lo, (const char *)hi,
				       fromlen ? (const char *)from : ""};
		int lens[3] = {(int)len + 1, (int)len + 1, (int)fromlen};
		PGresult *r;
		int err = r_query(t, S_LIST, 3, vals, lens, &r);
		if (err)
			return err;
		int rows = PQntuples(r);
		int ret = 0;
		for (int i = 0; i < rows && ret == 0; i++) {
			size_t idlen = (size_t)PQgetlength(r, i, 1);
			size_t klen = (size_t)PQgetlength(r, i, 0);
			if (idlen == 0 || idlen > IDN_IDENT_MAX || klen == 0 ||
			    klen > IDN_IDENT_MAX) {
				ret = IDN_ECORRUPT;
				break;
			}
			ret = cb(ctx, idn_bytes(PQgetvalue(r, i, 1), idlen));
			if (i == rows - 1) {
				memcpy(last, PQgetvalue(r, i, 0), klen);
				from = last;
				fromlen = klen;
			}
		}
		PQclear(r);
		if (ret || rows < LIST_PAGE)
			return ret;
	}
}

static int pg_list_homed(idn_rtxn_t *base, idn_list_cb cb, void *ctx)
{
	prtxn_t *t = prtxn(base);
	uint8_t last[IDN_IDENT_MAX];
	size_t lastlen = 0;
	for (;;) {
		const char *vals[1] = {(const char *)last};
		int lens[1] = {(int)lastlen};
		PGresult *r;
		int err = r_query(t, S_LIST_HOMED, 1, vals, lens, &r);
		if (err)
			return err;
		int rows = PQntuples(r);
		int ret = 0;
		for (int i = 0; i < rows && ret == 0; i++) {
			size_t plen = (size_t)PQgetlength(r, i, 0);
			if (plen == 0 || plen > IDN_IDENT_MAX) {
				ret = IDN_ECORRUPT;
				break;
			}
			memcpy(last, PQgetvalue(r, i, 0), plen);
			lastlen = plen;
			ret = cb(ctx, idn_bytes(last, plen));
		}
		PQclear(r);
		if (ret || rows < LIST_PAGE)
			return ret;
	}
}

/* Counts on a reader's connection. The size of the tables is asked last
 * and is 0 where the engine cannot tell (not every PostgreSQL-wire engine
 * has pg_total_relation_size). */
static int pg_stat(idn_store_t *base, idn_store_stat_t *out)
{
	idn_rtxn_t *rt;
	int err = pg_rtxn_begin(base, &rt);
	if (err)
		return err;
	prtxn_t *t = prtxn(rt);
	pstore_t *s = idn__pstore(base);
	memset(out, 0, sizeof(*out));
	/* the first query begins the snapshot and picks the server */
	PGresult *r;
	err = r_query(t, S_HOMED, 1, (const char *const[]){""},
		      (const int[]){0}, &r);
	PQclear(r);
	static const char *const sql[3] = {
		"SELECT count(*) FROM idn_records WHERE idx = -1",
		"SELECT count(*) FROM idn_prefixes",
		"SELECT pg_total_relation_size('idn_records') + "
		"pg_total_relation_size('idn_prefixes') + "
		"pg_total_relation_size('idn_changes')",
	};
	uint64_t v[3] = {0, 0, 0};
	for (int i = 0; i < 3 && err == 0; i++) {
		if (!PQsendQueryParams(t->pc.c, sql[i], 0, NULL, NULL, NULL,
				       NULL, 0)) {
			err = idn__pg_error(s, &t->pc, NULL);
			break;
		}
		t->pc.queued++;
		int e = idn__pg_sync(s, &t->pc, &r, 1);
		if (e == 0) {
			v[i] = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
			PQclear(r);
		} else if (i < 2 || t->pc.broken) {
			err = e;
		}
	}
	if (err == 0) {
		out->records = v[0];
		out->prefixes = v[1];
		out->bytes_used = v[2];
	}
	pg_rtxn_free(rt);
	return err;
}

static const idn_store_ops_t pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.stat = pg_stat,
	.rtxn_begin = pg_rtxn_begin,
	.rtxn_reset = pg_rtxn_reset,
	.rtxn_renew = pg_rtxn_renew,
	.rtxn_free = pg_rtxn_free,
	.get = pg_get,
	.homed = pg_homed,
	.list = pg_list,
	.list_homed = pg_list_homed,
	.iter_records = idn__pg_iter_records,
	.search = idn__pg_search,
	.index_declared = idn__pg_index_declared,
	.index_types = idn__pg_index_types,
	.index_add = idn__pg_index_add,
	.index_remove = idn__pg_index_remove,
	.changes_write = idn__pg_changes_write,
	.changes_bounds = idn__pg_changes_bounds,
	.changes_read = idn__pg_changes_read,
	.changes_prune = idn__pg_changes_prune,
	.wtxn_begin = idn__pg_wtxn_begin,
	.wtxn_commit = idn__pg_wtxn_commit,
	.wtxn_abort = idn__pg_wtxn_abort,
	.wtxn_get = idn__pg_wtxn_get,
	.create = idn__pg_create,
	.del = idn__pg_delete,
	.add = idn__pg_add,
	.modify = idn__pg_modify,
	.remove = idn__pg_remove,
	.home = idn__pg_home,
	.unhome = idn__pg_unhome,
};
