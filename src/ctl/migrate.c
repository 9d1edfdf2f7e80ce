/* idctl migrate --from SRC --to DST: copies every homed prefix and every
 * record of a node from one store to another, LMDB or PostgreSQL either
 * way, with a progress bar.
 *
 * The storage interface reads records by identifier or by prefix, not all
 * of them, so the source is read by backend: an LMDB environment through a
 * read-only LMDB transaction (a running node may keep writing; the copy is
 * its snapshot), a PostgreSQL database in one REPEATABLE READ READ ONLY
 * transaction, a page of identifiers at a time. Every record is checked
 * as the stores check it on reading (record.h). The destination is written
 * through the storage interface, in transactions of --batch records
 * (pipelined on PostgreSQL), each record created whole with overwrite.
 *
 * A record's key is derived again from its identifier, upper-casing the
 * suffix or not, whichever gives the key it is stored under, so nodes with
 * case-sensitive suffixes keep them (--case-sensitive-suffix decides where
 * the source cannot tell: LMDB keys over 478 bytes are hashed). */
#include "migrate.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "record.h"
#include "search.h"
#include "store.h"
#include "value.h"
#include "wire.h"

#define LMDB_KEY_DIRECT 478 /* store_lmdb.c: longer keys are hashed */
#define PG_PAGE 500	    /* identifiers per PostgreSQL query */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("idctl migrate: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The same test as idn_store_open's. */
static bool is_pg(const char *p)
{
	static const char *const kw[] = {
		"host=", "hostaddr=", "dbname=", "service="};
	if (strncmp(p, "postgresql://", 13) == 0 ||
	    strncmp(p, "postgres://", 11) == 0)
		return true;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		const char *q = strstr(p, kw[i]);
		if (q && (q == p || q[-1] == ' '))
			return true;
	}
	return false;
}

/* "lmdb:DIR" or DIR: the directory. */
static const char *lmdb_dir(const char *p)
{
	return strncmp(p, "lmdb:", 5) == 0 ? p + 5 : p;
}

/* A name for a store that never shows a password. */
static void label(const char *p, char *out, size_t cap)
{
	if (!is_pg(p)) {
		snprintf(out, cap, "lmdb:%s", lmdb_dir(p));
		return;
	}
	PQconninfoOption *o = PQconninfoParse(p, NULL);
	const char *host = "", *port = "", *db = "";
	for (PQconninfoOption *q = o; q && q->keyword; q++) {
		if (!strcmp(q->keyword, "host") && q->val)
			host = q->val;
		else if (!strcmp(q->keyword, "port") && q->val)
			port = q->val;
		else if (!strcmp(q->keyword, "dbname") && q->val)
			db = q->val;
	}
	snprintf(out, cap, "postgresql://%s%s%s/%s", host, *port ? ":" : "",
		 port, db);
	PQconninfoFree(o);
}

/* ---- sources ---- */

/* One record as the source holds it: its key there, its identifier and
 * its values section. Points into the source until the next call. */
typedef struct {
	idn_bytes_t key;
	bool key_exact; /* false: only the first LMDB_KEY_DIRECT bytes */
	idn_record_t rec;
} srec_t;

typedef struct src src_t;
typedef int (*prefix_cb)(void *ctx, idn_bytes_t prefix);

struct src {
	uint64_t nrec, npfx; /* totals, for the progress bar */
	/* 1 with *out filled, 0 at the end, or a negative error (said) */
	int (*next)(src_t *s, srec_t *out);
	int (*homed)(src_t *s, prefix_cb cb, void *ctx);
	/* the declared types of the search index (search.h) */
	int (*types)(src_t *s, prefix_cb cb, void *ctx);
	void (*close)(src_t *s);
	unsigned version; /* the source's schema version */
	/* LMDB */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi rdb, pdb;
	MDB_cursor *cur;
	bool started;
	/* PostgreSQL */
	PGconn *c;
	PGresult *heads, *vals;
	int hrow, vrow;
	uint8_t last[IDN_IDENT_MAX];
	int lastlen;
	bool end;
	uint8_t *buf;
	size_t cap;
};

static int lmdb_next(src_t *s, srec_t *out)
{
	MDB_val k, d;
	int rc = mdb_cursor_get(s->cur, &k, &d,
				s->started ? MDB_NEXT : MDB_FIRST);
	s->started = true;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc) {
		fail("reading LMDB: %s", mdb_strerror(rc));
		return IDN_ESTORE;
	}
	if (idn__record_parse(d.mv_data, d.mv_size, &out->rec) != 0) {
		fail("corrupt record under LMDB key %.*s",
		     (int)(k.mv_size > 80 ? 80 : k.mv_size),
		     (const char *)k.mv_data);
		return IDN_ECORRUPT;
	}
	out->key_exact = k.mv_size <= LMDB_KEY_DIRECT;
	out->key = idn_bytes(k.mv_data,
			     out->key_exact ? k.mv_size : LMDB_KEY_DIRECT);
	return 1;
}

static int lmdb_homed(src_t *s, prefix_cb cb, void *ctx)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(s->txn, s->pdb, &c);
	if (rc) {
		fail("reading LMDB prefixes: %s", mdb_strerror(rc));
		return IDN_ESTORE;
	}
	MDB_val k, d;
	int ret = 0;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (d.mv_size == 0 || d.mv_size > IDN_IDENT_MAX) {
			fail("corrupt homed prefix in LMDB");
			ret = IDN_ECORRUPT;
			break;
		}
		ret = cb(ctx, idn_bytes(d.mv_data, d.mv_size));
		if (ret)
			break;
	}
	mdb_cursor_close(c);
	if (ret == 0 && rc != MDB_NOTFOUND) {
		fail("reading LMDB prefixes: %s", mdb_strerror(rc));
		ret = IDN_ESTORE;
	}
	return ret;
}

/* Version 3 keeps the declared types in meta ("index_types": u16 length
 * and bytes each); version 2 indexed every type but HS_ ones, so the types
 * its search_values holds (terms are "TYPE\0DATA") are the ones it
 * searched; version 1 had no index. */
static int lmdb_types(src_t *s, prefix_cb cb, void *ctx)
{
	MDB_dbi dbi;
	MDB_val k, d;
	int ret = 0;
	if (s->version == 3) {
		k.mv_size = 11;
		k.mv_data = "index_types";
		if (mdb_dbi_open(s->txn, "meta", 0, &dbi) != 0 ||
		    mdb_get(s->txn, dbi, &k, &d) != 0)
			return 0;
		const uint8_t *p = d.mv_data;
		size_t off = 0;
		while (ret == 0 && off + 2 <= d.mv_size) {
			size_t n = (size_t)p[off] << 8 | p[off + 1];
			if (off + 2 + n > d.mv_size) {
				fail("corrupt index_types in LMDB");
				return IDN_ECORRUPT;
			}
			ret = cb(ctx, idn_bytes(p + off + 2, n));
			off += 2 + n;
		}
		return ret;
	}
	if (s->version != 2)
		return 0;
	ret = cb(ctx, idn_bytes(NULL, 0)); /* it indexed creation times */
	if (ret || mdb_dbi_open(s->txn, "search_values", 0, &dbi) != 0)
		return ret;
	MDB_cursor *c;
	if (mdb_cursor_open(s->txn, dbi, &c) != 0)
		return 0;
	uint8_t seek[512];
	int rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	while (rc == 0 && ret == 0) {
		const uint8_t *z = memchr(k.mv_data, 0, k.mv_size);
		size_t tl = z ? (size_t)(z - (const uint8_t *)k.mv_data)
			      : k.mv_size;
		if (tl >= sizeof(seek))
			break;
		memcpy(seek, k.mv_data, tl);
		if (tl && tl <= 255)
			ret = cb(ctx, idn_bytes(seek, tl));
		seek[tl] = 1; /* past every term of this type */
		k.mv_size = tl + 1;
		k.mv_data = seek;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	return ret;
}

static void lmdb_close(src_t *s)
{
	if (s->cur)
		mdb_cursor_close(s->cur);
	if (s->txn)
		mdb_txn_abort(s->txn);
	if (s->env)
		mdb_env_close(s->env);
}

static int lmdb_open(src_t *s, const char *dir)
{
	s->next = lmdb_next;
	s->homed = lmdb_homed;
	s->types = lmdb_types;
	s->close = lmdb_close;
	MDB_dbi meta;
	int rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, 16);
	if (rc == 0)
		rc = mdb_env_open(s->env, dir, MDB_RDONLY | MDB_NOTLS, 0640);
	if (rc == 0)
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->txn);
	if (rc == 0)
		rc = mdb_dbi_open(s->txn, "meta", 0, &meta);
	if (rc == 0)
		rc = mdb_dbi_open(s->txn, "records", 0, &s->rdb);
	if (rc == 0)
		rc = mdb_dbi_open(s->txn, "prefixes", 0, &s->pdb);
	if (rc) {
		fail("%s: not an idnode LMDB store: %s", dir, mdb_strerror(rc));
		return IDN_ESTORE;
	}
	MDB_val k = {7, "version"}, d;
	/* 2 adds the search index, 3 its declared types (store_lmdb.c);
	 * records are the same */
	if (mdb_get(s->txn, meta, &k, &d) != 0 || d.mv_size != 4 ||
	    idn_get_u32(d.mv_data) < 1 || idn_get_u32(d.mv_data) > 3) {
		fail("%s: not a store of schema version 1 to 3", dir);
		return IDN_ECORRUPT;
	}
	s->version = idn_get_u32(d.mv_data);
	MDB_stat st;
	if (mdb_stat(s->txn, s->rdb, &st) == 0)
		s->nrec = st.ms_entries;
	if (mdb_stat(s->txn, s->pdb, &st) == 0)
		s->npfx = st.ms_entries;
	rc = mdb_cursor_open(s->txn, s->rdb, &s->cur);
	if (rc) {
		fail("%s: %s", dir, mdb_strerror(rc));
		return IDN_ESTORE;
	}
	return 0;
}

/* Runs a statement with binary results; NULL (said) on failure. */
static PGresult *pg_q(src_t *s, const char *sql, int n, const char *const *v,
		      const int *len)
{
	static const int fmt[2] = {1, 1};
	PGresult *r = PQexecParams(s->c, sql, n, NULL, v, len, fmt, 1);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	fail("postgresql: %s",
	     r ? PQresultErrorMessage(r) : PQerrorMessage(s->c));
	PQclear(r);
	return NULL;
}

static int64_t be64(const char *p)
{
	const uint8_t *u = (const uint8_t *)p;
	return (int64_t)(((uint64_t)idn_get_u32(u) << 32) | idn_get_u32(u + 4));
}

/* Reads the next page: up to PG_PAGE headers after the last key, and the
 * values of those identifiers in key and index order. */
static int pg_page(src_t *s)
{
	PQclear(s->heads);
	PQclear(s->vals);
	s->heads = s->vals = NULL;
	s->hrow = s->vrow = 0;
	const char *v[2] = {(const char *)s->last, NULL};
	int len[2] = {s->lastlen, 0};
	s->heads = pg_q(s,
			"SELECT ident_key, enc FROM idn_records WHERE idx = -1 "
			"AND ident_key > $1 ORDER BY ident_key LIMIT 500",
			1, v, len);
	if (s->heads == NULL)
		return IDN_ESTORE;
	int n = PQntuples(s->heads);
	if (n < PG_PAGE)
		s->end = true;
	if (n == 0)
		return 0;
	v[1] = PQgetvalue(s->heads, n - 1, 0);
	len[1] = PQgetlength(s->heads, n - 1, 0);
	s->vals = pg_q(s,
		       "SELECT ident_key, idx, enc FROM idn_records WHERE "
		       "ident_key > $1 AND ident_key <= $2 AND idx >= 0 "
		       "ORDER BY ident_key, idx",
		       2, v, len);
	if (s->vals == NULL)
		return IDN_ESTORE;
	s->lastlen = len[1];
	memcpy(s->last, v[1], (size_t)len[1]);
	return 0;
}

static int pg_next(src_t *s, srec_t *out)
{
	if (s->heads == NULL || s->hrow == PQntuples(s->heads)) {
		if (s->end)
			return 0;
		int err = pg_page(s);
		if (err)
			return err;
		if (PQntuples(s->heads) == 0)
			return 0;
	}
	int h = s->hrow++;
	const char *key = PQgetvalue(s->heads, h, 0);
	int klen = PQgetlength(s->heads, h, 0);
	/* this record's values: the rows under its key */
	size_t size = 0;
	int v0 = s->vrow, v1 = v0, nv = s->vals ? PQntuples(s->vals) : 0;
	while (v1 < nv && PQgetlength(s->vals, v1, 0) == klen &&
	       memcmp(PQgetvalue(s->vals, v1, 0), key, (size_t)klen) == 0) {
		size += (size_t)PQgetlength(s->vals, v1, 2);
		v1++;
	}
	s->vrow = v1;
	if (v1 - v0 > IDN_VALUES_MAX || size > IDN_MSG_MAX)
		goto corrupt;
	if (size > s->cap) {
		uint8_t *b = realloc(s->buf, size);
		if (b == NULL)
			return -ENOMEM;
		s->buf = b;
		s->cap = size;
	}
	size_t off = 0;
	for (int i = v0; i < v1; i++) {
		int64_t idx = PQgetlength(s->vals, i, 1) == 8
				      ? be64(PQgetvalue(s->vals, i, 1))
				      : -1;
		size_t l = (size_t)PQgetlength(s->vals, i, 2);
		const uint8_t *e = (const uint8_t *)PQgetvalue(s->vals, i, 2);
		if (idx < 0 || idx > UINT32_MAX || l < 4 ||
		    idn_get_u32(e) != (uint32_t)idx)
			goto corrupt;
		memcpy(s->buf + off, e, l);
		off += l;
	}
	out->rec.id = idn_bytes(PQgetvalue(s->heads, h, 1),
				(size_t)PQgetlength(s->heads, h, 1));
	out->rec.nvalues = (uint32_t)(v1 - v0);
	out->rec.values = idn_bytes(s->buf, off);
	if (out->rec.id.len == 0 || out->rec.id.len > IDN_IDENT_MAX ||
	    idn__values_walk(out->rec.values, out->rec.nvalues, NULL) != 0)
		goto corrupt;
	out->key = idn_bytes(key, (size_t)klen);
	out->key_exact = true;
	return 1;
corrupt:
	fail("corrupt record under key %.*s", klen > 80 ? 80 : klen, key);
	return IDN_ECORRUPT;
}

static int pg_homed(src_t *s, prefix_cb cb, void *ctx)
{
	PGresult *r = pg_q(s,
			   "SELECT prefix_key FROM idn_prefixes "
			   "ORDER BY prefix_key",
			   0, NULL, NULL);
	if (r == NULL)
		return IDN_ESTORE;
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && ret == 0; i++) {
		int l = PQgetlength(r, i, 0);
		if (l == 0 || l > IDN_IDENT_MAX) {
			fail("corrupt homed prefix in PostgreSQL");
			ret = IDN_ECORRUPT;
		} else {
			ret = cb(ctx,
				 idn_bytes(PQgetvalue(r, i, 0), (size_t)l));
		}
	}
	PQclear(r);
	return ret;
}

static int pg_types(src_t *s, prefix_cb cb, void *ctx)
{
	if (s->version < 3) {
		fprintf(stderr,
			"idctl migrate: the source (schema version "
			"%u) declares no searchable types: declare "
			"them on the destination with idctl index "
			"add\n",
			s->version);
		return 0;
	}
	PGresult *r = pg_q(s, "SELECT type FROM idn_index_types ORDER BY type",
			   0, NULL, NULL);
	if (r == NULL)
		return IDN_ESTORE;
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && ret == 0; i++)
		ret = cb(ctx, idn_bytes(PQgetvalue(r, i, 0),
					(size_t)PQgetlength(r, i, 0)));
	PQclear(r);
	return ret;
}

static void pg_close(src_t *s)
{
	PQclear(s->heads);
	PQclear(s->vals);
	free(s->buf);
	if (s->c)
		PQfinish(s->c);
}

static uint64_t pg_count(src_t *s, const char *sql)
{
	PGresult *r = PQexec(s->c, sql);
	uint64_t n = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

static int pg_open(src_t *s, const char *conninfo)
{
	s->next = pg_next;
	s->homed = pg_homed;
	s->types = pg_types;
	s->close = pg_close;
	s->c = PQconnectdb(conninfo);
	if (PQstatus(s->c) != CONNECTION_OK) {
		fail("postgresql: %s", PQerrorMessage(s->c));
		return IDN_ESTORE;
	}
	PGresult *r = pg_q(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			   0, NULL, NULL);
	PQclear(r);
	if (r == NULL)
		return IDN_ESTORE;
	r = PQexec(s->c, "SELECT max(version) FROM idn_schema_migrations");
	/* 2 adds the search indexes, 3 the declared types (store_pg.c);
	 * the rows are the same */
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (ok)
		s->version = (unsigned)atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!ok || s->version < 1 || s->version > 3) {
		fail("the source database holds no idnode store of schema "
		     "version 1 to 3");
		return IDN_ECORRUPT;
	}
	s->nrec = pg_count(s, "SELECT count(*) FROM idn_records "
			      "WHERE idx = -1");
	s->npfx = pg_count(s, "SELECT count(*) FROM idn_prefixes");
	return 0;
}

/* ---- copying ---- */

typedef struct {
	idn_store_t *dst;
	unsigned batch;
	bool case_suffix; /* the tie-breaker */
	bool progress;
	uint64_t done, total, prefixes;
	double t0, shown;
	idn_wtxn_t *t;
	unsigned in_txn;
	idn_arena_t arena;
} copy_t;

static void show(copy_t *c, bool last)
{
	if (!c->progress)
		return;
	double now = now_s();
	if (!last && now - c->shown < 0.2)
		return;
	c->shown = now;
	double secs = now - c->t0, rate = secs > 0 ? c->done / secs : 0;
	double frac = c->total ? (double)c->done / (double)c->total : 1;
	if (frac > 1)
		frac = 1;
	char bar[41];
	int fill = (int)(frac * 40);
	for (int i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = 0;
	double eta = rate > 0 && c->total > c->done
			     ? (double)(c->total - c->done) / rate
			     : 0;
	fprintf(stderr, "\r[%s] %3d%% %llu/%llu records %.0f/s ETA %d:%02d ",
		bar, (int)(frac * 100), (unsigned long long)c->done,
		(unsigned long long)c->total, rate, (int)eta / 60,
		(int)eta % 60);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

static int flush_txn(copy_t *c)
{
	if (c->t == NULL)
		return 0;
	int err = idn_wtxn_commit(c->t);
	c->t = NULL;
	c->in_txn = 0;
	if (err)
		fail("commit: %s", idn_strerror(err));
	return err;
}

/* Declares a searchable type of the source on the destination, before
 * the records, so that each is indexed as it is copied. */
static int declare_one(void *ctx, idn_bytes_t type)
{
	copy_t *c = ctx;
	int err = 0;
	if (c->t == NULL)
		err = idn_wtxn_begin(c->dst, &c->t);
	if (err == 0)
		err = idn_wtxn_index_add(c->t, type);
	if (err == IDN_EINVAL) {
		fprintf(stderr,
			"idctl migrate: type %.*s cannot be declared: "
			"not searchable on the destination\n",
			(int)type.len, (const char *)type.p);
		return 0;
	}
	if (err < 0)
		fail("declaring type %.*s: %s", (int)type.len,
		     (const char *)type.p, idn_strerror(err));
	return err < 0 ? err : 0;
}

static int home_one(void *ctx, idn_bytes_t p)
{
	copy_t *c = ctx;
	int err = 0;
	if (c->t == NULL)
		err = idn_wtxn_begin(c->dst, &c->t);
	if (err == 0)
		err = idn_wtxn_home(c->t, p.p, p.len);
	if (err) {
		fail("homing %.*s: %s", (int)p.len, p.p, idn_strerror(err));
		return err;
	}
	c->prefixes++;
	return 0;
}

/* The identifier of r, parsed so that its key is the one the source
 * stores it under. */
static int ident_of(copy_t *c, const srec_t *r, idn_ident_t *id)
{
	unsigned order[2] = {c->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0,
			     c->case_suffix ? 0 : IDN_IDENT_CASE_SUFFIX};
	for (int i = 0; i < 2; i++) {
		if (idn_ident_parse(r->rec.id.p, r->rec.id.len, order[i], id))
			continue;
		bool match = r->key_exact ? id->key_len == r->key.len &&
						    !memcmp(id->key, r->key.p,
							    r->key.len)
					  : id->key_len >= r->key.len &&
						    !memcmp(id->key, r->key.p,
							    r->key.len);
		if (match)
			return 0;
	}
	fail("%.*s: stored under a key that is not its own",
	     (int)(r->rec.id.len > 200 ? 200 : r->rec.id.len), r->rec.id.p);
	return IDN_ECORRUPT;
}

static int copy_one(copy_t *c, const srec_t *r)
{
	idn_ident_t id;
	int err = ident_of(c, r, &id);
	if (err)
		return err;
	idn_arena_reset(&c->arena);
	idn_value_t *v = idn_arena_array(
		&c->arena, r->rec.nvalues ? r->rec.nvalues : 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	idn_rd_t rd;
	idn_rd_init(&rd, r->rec.values.p, r->rec.values.len);
	for (uint32_t i = 0; i < r->rec.nvalues; i++)
		idn_value_decode(&rd, &c->arena, &v[i]);
	if (rd.err) {
		fail("%.*s: value does not decode: %s", (int)id.text.len,
		     id.text.p, idn_strerror(rd.err));
		return rd.err;
	}
	if (c->t == NULL && (err = idn_wtxn_begin(c->dst, &c->t)) != 0) {
		fail("begin: %s", idn_strerror(err));
		return err;
	}
	err = idn_wtxn_create(c->t, &id, v, r->rec.nvalues, true);
	if (err) {
		fail("%.*s: %s", (int)id.text.len, id.text.p,
		     idn_strerror(err));
		return err;
	}
	c->done++;
	if (++c->in_txn >= c->batch)
		err = flush_txn(c);
	show(c, false);
	return err;
}

/* Compares every source record with the destination's. */
static int verify(src_t *s, copy_t *c, uint64_t *bad)
{
	idn_rtxn_t *rt;
	int err = idn_rtxn_begin(c->dst, &rt);
	if (err)
		return err;
	srec_t r;
	uint64_t n = 0;
	while ((err = s->next(s, &r)) == 1) {
		idn_ident_t id;
		idn_record_t d;
		if ((err = ident_of(c, &r, &id)) != 0)
			break;
		if (n++ % 1000 == 0 && (err = idn_rtxn_renew(rt)) != 0)
			break;
		err = idn_store_get(rt, id.key, id.key_len, &d);
		if (err || !idn_bytes_eq(d.id, r.rec.id) ||
		    d.nvalues != r.rec.nvalues ||
		    !idn_bytes_eq(d.values, r.rec.values)) {
			if (*bad < 10)
				fail("differs after the copy: %.*s (%s)",
				     (int)id.text.len, id.text.p,
				     err ? idn_strerror(err) : "other values");
			++*bad;
		}
		err = 0;
	}
	idn_rtxn_free(rt);
	return err;
}

static int open_src(src_t *s, const char *from)
{
	memset(s, 0, sizeof(*s));
	return is_pg(from) ? pg_open(s, from) : lmdb_open(s, lmdb_dir(from));
}

static const char usage[] =
	"usage: idctl migrate --from SRC --to DST [options]\n"
	"Copies every homed prefix and every record of a node's store to\n"
	"another store. SRC and DST: lmdb:DIR (or DIR), or a PostgreSQL\n"
	"connection URI (postgresql://...) or key=value string. The source\n"
	"is read in one snapshot and may be in use by a running node.\n"
	"  --batch N                records per destination transaction "
	"(1000)\n"
	"  --merge                  copy into a destination that holds "
	"records\n"
	"  --case-sensitive-suffix  for keys the source cannot tell (long "
	"LMDB\n"
	"                           keys): the node compares suffixes with "
	"case\n"
	"  --verify                 read everything back and compare\n"
	"  --no-progress            no progress bar (default on a terminal)\n"
	"  --json                   print the summary as JSON\n";

int migrate_main(int argc, char **argv)
{
	enum {
		O_FROM = 256,
		O_TO,
		O_BATCH,
		O_MERGE,
		O_CASE,
		O_VERIFY,
		O_NOPROG,
		O_JSON
	};
	static const struct option lopts[] = {
		{"from", required_argument, NULL, O_FROM},
		{"to", required_argument, NULL, O_TO},
		{"batch", required_argument, NULL, O_BATCH},
		{"merge", no_argument, NULL, O_MERGE},
		{"case-sensitive-suffix", no_argument, NULL, O_CASE},
		{"verify", no_argument, NULL, O_VERIFY},
		{"no-progress", no_argument, NULL, O_NOPROG},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *from = NULL, *to = NULL;
	bool merge = false, do_verify = false, json = false;
	copy_t c = {.batch = 1000, .progress = isatty(2)};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case O_FROM:
			from = optarg;
			break;
		case O_TO:
			to = optarg;
			break;
		case O_BATCH: {
			char *end;
			unsigned long b = strtoul(optarg, &end, 10);
			if (*end || b == 0 || b > 1000000) {
				fail("--batch: a number from 1 to 1000000");
				return 2;
			}
			c.batch = (unsigned)b;
			break;
		}
		case O_MERGE:
			merge = true;
			break;
		case O_CASE:
			c.case_suffix = true;
			break;
		case O_VERIFY:
			do_verify = true;
			break;
		case O_NOPROG:
			c.progress = false;
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (from == NULL || to == NULL || optind != argc) {
		fail("--from and --to are required (see --help)");
		return 2;
	}
	char lfrom[300], lto[300];
	label(from, lfrom, sizeof(lfrom));
	label(to, lto, sizeof(lto));
	if (strcmp(is_pg(from) ? from : lmdb_dir(from),
		   is_pg(to) ? to : lmdb_dir(to)) == 0) {
		fail("the source and the destination are the same store");
		return 2;
	}

	src_t s;
	int err = open_src(&s, from);
	if (err) {
		s.close(&s);
		return 1;
	}
	const char *dpath = is_pg(to) ? to : lmdb_dir(to);
	idn_store_opts_t o = {.path = dpath};
	err = idn_store_open(&o, &c.dst);
	if (err) {
		fail("opening %s: %s", lto, idn_strerror(err));
		s.close(&s);
		return 1;
	}
	idn_store_stat_t st;
	if (!merge && idn_store_stat(c.dst, &st) == 0 && st.records) {
		fail("%s already holds %llu records (--merge copies over "
		     "them)",
		     lto, (unsigned long long)st.records);
		idn_store_close(c.dst);
		s.close(&s);
		return 1;
	}
	idn_arena_init(&c.arena, 0);
	c.total = s.nrec;
	c.t0 = now_s();
	if (c.progress)
		fprintf(stderr,
			"copying %llu records and %llu prefixes from "
			"%s to %s\n",
			(unsigned long long)s.nrec, (unsigned long long)s.npfx,
			lfrom, lto);
	err = s.homed(&s, home_one, &c);
	if (err == 0)
		err = s.types(&s, declare_one, &c);
	srec_t r;
	while (err == 0 && (err = s.next(&s, &r)) == 1)
		err = copy_one(&c, &r);
	if (err == 0)
		err = flush_txn(&c);
	else if (c.t)
		idn_wtxn_abort(c.t);
	show(&c, true);
	double secs = now_s() - c.t0;
	s.close(&s);
	uint64_t bad = 0;
	if (err == 0 && do_verify) {
		err = open_src(&s, from);
		if (err == 0)
			err = verify(&s, &c, &bad);
		s.close(&s);
		if (err == 0 && bad)
			err = IDN_ECORRUPT;
	}
	idn_arena_free(&c.arena);
	idn_store_close(c.dst);
	if (err) {
		fail("stopped after %llu records: %s",
		     (unsigned long long)c.done, idn_strerror(err));
		return 1;
	}
	double rate = secs > 0 ? c.done / secs : 0;
	if (json) {
		json_t *j = json_pack(
			"{s:s, s:s, s:I, s:I, s:f, s:f, s:b}", "from", lfrom,
			"to", lto, "records", (json_int_t)c.done, "prefixes",
			(json_int_t)c.prefixes, "seconds", secs,
			"records_per_second", rate, "verified", do_verify);
		char *txt = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
		if (txt)
			puts(txt);
		free(txt);
		json_decref(j);
	} else {
		printf("copied %llu records and %llu prefixes from %s to %s "
		       "in %.1f s (%.0f records/s)%s\n",
		       (unsigned long long)c.done,
		       (unsigned long long)c.prefixes, lfrom, lto, secs, rate,
		       do_verify ? ", verified" : "");
	}
	return 0;
}
