/* The PostgreSQL backend's write transactions (see store_pg.c for the
 * design): each a READ COMMITTED transaction on a pooled connection to the
 * primary; an operation locks the record's header row before it reads the
 * values, computes and checks the new record in memory (record.h), then
 * queues only the rows that change; creates with overwrite are staged and
 * sent in batches over arrays. */
#include "store_pg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"

#define MAX_QUEUED 128 /* queued statements before a forced round trip */
#define STAGE_MAX 1000 /* creates with overwrite sent as one batch */
#define STAGE_BYTES (4u << 20)

typedef struct {
	idn_wtxn_t base;
	pconn_t *pc;
	int err;	/* sticky: the transaction failed in the server */
	idn__rset_t rs; /* the record an operation edits */
	buf_t rec;	/* the record read: header, then values */
	buf_t a1, a2, a3, a4, a5; /* array parameters */
	buf_t stage; /* creates with overwrite not sent yet (w_stage) */
	uint32_t nstaged;
	uint32_t *old; /* indexes before an edit */
	uint32_t oldcap;
	bool homing; /* home/unhome: the commit drops the cache */
} pwtxn_t;

static int w_flush(pwtxn_t *t);

static pwtxn_t *pwtxn(idn_wtxn_t *t)
{
	return (pwtxn_t *)t;
}

/* A pooled connection to the primary, or a new one. */
static int pool_get(pstore_t *s, pconn_t **out)
{
	for (;;) {
		pconn_t *pc = NULL;
		pthread_mutex_lock(&s->mu);
		if (s->nidle)
			pc = s->idle[--s->nidle];
		pthread_mutex_unlock(&s->mu);
		if (pc == NULL)
			break;
		if (idn__pg_ready(s, pc)) {
			*out = pc;
			return 0;
		}
		idn__pg_close(pc);
		free(pc);
	}
	if (idn__pg_server_down(s, 0, idn__pg_now_ms()))
		return IDN_ENOPRIMARY; /* logged when it went down */
	pconn_t *pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return -ENOMEM;
	int err = idn__pg_connect(s, 0, pc);
	if (err) {
		free(pc);
		return IDN_ENOPRIMARY;
	}
	*out = pc;
	return 0;
}

static void pool_put(pstore_t *s, pconn_t *pc)
{
	if (!pc->broken) {
		pthread_mutex_lock(&s->mu);
		if (s->nidle < POOL_MAX) {
			s->idle[s->nidle++] = pc;
			pc = NULL;
		}
		pthread_mutex_unlock(&s->mu);
	}
	if (pc) {
		idn__pg_close(pc);
		free(pc);
	}
}

static void wtxn_free(pwtxn_t *t)
{
	idn__rset_free(&t->rs);
	free(t->rec.p);
	free(t->a1.p);
	free(t->a2.p);
	free(t->a3.p);
	free(t->a4.p);
	free(t->a5.p);
	free(t->stage.p);
	free(t->old);
	free(t);
}

int idn__pg_wtxn_begin(idn_store_t *base, idn_wtxn_t **out)
{
	pstore_t *s = idn__pstore(base);
	if (base->readonly)
		return IDN_EREADONLY; /* store.c refuses first; kept local */
	pwtxn_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->base.store = base;
	idn__rset_init(&t->rs);
	int err = pool_get(s, &t->pc);
	if (err == 0)
		err = idn__pg_send(s, t->pc, S_BEGIN_WRITE, 0, NULL, NULL);
	if (err) {
		if (t->pc)
			pool_put(s, t->pc);
		wtxn_free(t);
		return err;
	}
	*out = &t->base;
	return 0;
}

/* Ends the transaction on its connection and gives the connection back. */
static void wtxn_end(pwtxn_t *t, bool rollback)
{
	pstore_t *s = idn__pstore(t->base.store);
	if (rollback && !t->pc->broken) {
		/* queued statements, if any, are read with the ROLLBACK */
		idn__pg_rollback_async(s, t->pc);
	}
	pool_put(s, t->pc);
	wtxn_free(t);
}

int idn__pg_wtxn_commit(idn_wtxn_t *base)
{
	pwtxn_t *t = pwtxn(base);
	pstore_t *s = idn__pstore(base->store);
	int err = w_flush(t);
	if (err) {
		wtxn_end(t, true);
		return err;
	}
	PGresult *r = NULL;
	err = idn__pg_send(s, t->pc, S_COMMIT, 0, NULL, NULL);
	bool sent = err == 0;
	if (err == 0)
		err = idn__pg_sync(s, t->pc, &r, 1);
	/* COMMIT of a transaction that failed reports ROLLBACK */
	if (err == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		idn__pg_log(s, 1, "postgresql primary: commit rolled back");
		err = IDN_ESTORE;
	}
	/* The server may have committed and lost only its answer: not a
	 * failure, which a client would retry (a create then finds the
	 * record it made, an add adds twice). */
	if (err != 0 && sent && t->pc->lost) {
		idn__pg_log(s, 1,
			    "postgresql primary: connection lost during "
			    "COMMIT: the outcome is unknown");
		err = IDN_EUNKNOWN_OUTCOME;
	}
	PQclear(r);
	if (t->homing) {
		/* even a failed commit may have gone through */
		pthread_mutex_lock(&s->mu);
		s->homed_at = 0;
		s->homed_gen++;
		pthread_mutex_unlock(&s->mu);
	}
	/* A statement queued before COMMIT may have failed, leaving the
	 * transaction open: roll back (harmless when there is none). */
	wtxn_end(t, err != 0);
	return err;
}

void idn__pg_wtxn_abort(idn_wtxn_t *base)
{
	wtxn_end(pwtxn(base), true);
}

/* Queues a statement of the transaction, first making room: a round trip
 * when too many are queued (the server's replies must never fill the
 * socket while we write). need: statements about to be queued. */
static int w_room(pwtxn_t *t, unsigned need)
{
	if (t->pc->queued + need <= MAX_QUEUED)
		return 0;
	int err = idn__pg_sync(idn__pstore(t->base.store), t->pc, NULL, 0);
	if (err)
		t->err = err;
	return err;
}

static int w_send(pwtxn_t *t, enum stmt st, int n, const char *const *vals,
		  const int *lens)
{
	int err = idn__pg_send(idn__pstore(t->base.store), t->pc, st, n, vals,
			       lens);
	if (err)
		t->err = err;
	return err;
}

static int w_sync(pwtxn_t *t, PGresult **keep, unsigned nkeep)
{
	int err = idn__pg_sync(idn__pstore(t->base.store), t->pc, keep, nkeep);
	if (err)
		t->err = err;
	return err;
}

/* ---- staged creates ----
 *
 * A create with overwrite needs no answer from the server, so the
 * transaction collects them (a bulk import makes thousands) and sends each
 * STAGE_MAX as three statements over arrays: upsert the headers in key
 * order (locks taken in one order, so batches cannot deadlock each other),
 * delete the old values, insert the new ones. Any other operation and
 * the commit send what is staged first, so the order of operations holds.
 * t->stage holds, per create: u32 sequence number, u32 length and the key,
 * u32 length and the identifier, u32 count, then per value u32 length and
 * its encoding (which begins with its index). */

typedef struct {
	idn_bytes_t key, text;
	const uint8_t *vals; /* n × (u32 length, encoding) */
	size_t vsize;
	uint32_t seq, n;
} staged_t;

static int staged_cmp(const void *a, const void *b)
{
	const staged_t *x = a, *y = b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = memcmp(x->key.p, y->key.p, n);
	if (c == 0)
		c = (x->key.len > y->key.len) - (x->key.len < y->key.len);
	if (c == 0)
		c = (x->seq > y->seq) - (x->seq < y->seq);
	return c;
}

/* Sends the staged creates; a failure ends the transaction. */
static int w_flush(pwtxn_t *t)
{
	if (t->err || t->nstaged == 0)
		return t->err;
	uint32_t n = t->nstaged;
	t->nstaged = 0;
	staged_t *e = malloc(n * sizeof(*e));
	if (e == NULL)
		return t->err = -ENOMEM;
	idn_rd_t r;
	idn_rd_init(&r, t->stage.p, t->stage.len);
	for (uint32_t i = 0; i < n; i++) {
		e[i].seq = idn_rd_u32(&r);
		e[i].key = idn_rd_str(&r, IDN_IDENT_MAX);
		e[i].text = idn_rd_str(&r, IDN_IDENT_MAX);
		e[i].n = idn_rd_u32(&r);
		e[i].vals = r.p;
		for (uint32_t j = 0; j < e[i].n; j++)
			idn_rd_str(&r, UINT32_MAX);
		e[i].vsize = (size_t)(r.p - e[i].vals);
	}
	t->stage.len = 0;
	qsort(e, n, sizeof(*e), staged_cmp);
	/* of several creates of one identifier the last one counts */
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++)
		if (i + 1 == n || !idn_bytes_eq(e[i].key, e[i + 1].key))
			e[m++] = e[i];
	size_t ksize = 0, tsize = 0, vkeys = 0, venc = 0;
	uint32_t nv = 0;
	for (uint32_t i = 0; i < m; i++) {
		ksize += 4 + (size_t)e[i].key.len;
		tsize += 4 + (size_t)e[i].text.len;
		nv += e[i].n;
		vkeys += e[i].n * (4 + (size_t)e[i].key.len);
		venc += e[i].vsize;
	}
	int err = idn__pg_arr_init(&t->a1, OID_BYTEA, m, ksize);
	if (err == 0)
		err = idn__pg_arr_init(&t->a2, OID_BYTEA, m, tsize);
	if (err == 0)
		err = idn__pg_arr_init(&t->a3, OID_BYTEA, nv, vkeys);
	if (err == 0)
		err = idn__pg_arr_init(&t->a4, OID_INT8, nv, 12 * (size_t)nv);
	if (err == 0)
		err = idn__pg_arr_init(&t->a5, OID_BYTEA, nv, venc);
	for (uint32_t i = 0; err == 0 && i < m; i++) {
		idn__pg_arr_bytes(&t->a1, e[i].key.p, e[i].key.len);
		idn__pg_arr_bytes(&t->a2, e[i].text.p, e[i].text.len);
		idn_rd_init(&r, e[i].vals, e[i].vsize);
		for (uint32_t j = 0; j < e[i].n; j++) {
			idn_bytes_t enc = idn_rd_str(&r, UINT32_MAX);
			idn__pg_arr_bytes(&t->a3, e[i].key.p, e[i].key.len);
			idn__pg_arr_int8(&t->a4, idn_get_u32(enc.p));
			idn__pg_arr_bytes(&t->a5, enc.p, enc.len);
		}
	}
	free(e);
	const char *v[3] = {(const char *)t->a1.p, (const char *)t->a2.p};
	int len[3] = {(int)t->a1.len, (int)t->a2.len};
	if (err == 0)
		err = w_room(t, 4);
	if (err == 0)
		err = w_send(t, S_B_HEAD, 2, v, len);
	if (err == 0)
		err = w_send(t, S_B_DEL, 1, v, len);
	if (err == 0 && nv) {
		const char *pv[3] = {(const char *)t->a3.p,
				     (const char *)t->a4.p,
				     (const char *)t->a5.p};
		int plen[3] = {(int)t->a3.len, (int)t->a4.len, (int)t->a5.len};
		err = w_send(t, S_B_PUT, 3, pv, plen);
	}
	if (err)
		t->err = err;
	return err;
}

/* Stages a create with overwrite of the values in t->rs (checked). */
static int w_stage(pwtxn_t *t, const idn_ident_t *id)
{
	size_t need = 16 + (size_t)id->key_len + id->text.len;
	for (uint32_t i = 0; i < t->rs.n; i++)
		need += 4 + (size_t)t->rs.vals[i].size;
	if (idn__pg_buf_reserve(&t->stage, t->stage.len + need) != 0)
		return -ENOMEM; /* nothing is sent: the transaction goes on */
	idn_wr_t w;
	idn_wr_init(&w, t->stage.p + t->stage.len, need);
	idn_wr_u32(&w, t->nstaged);
	idn_wr_str(&w, idn_bytes(id->key, id->key_len));
	idn_wr_str(&w, id->text);
	idn_wr_u32(&w, t->rs.n);
	for (uint32_t i = 0; i < t->rs.n; i++) {
		const idn__rval_t *e = &t->rs.vals[i];
		idn_wr_u32(&w, e->size);
		size_t before = w.len;
		idn_value_encode(&w, e->v);
		if (w.err || w.len - before != e->size)
			return IDN_ETOOLONG;
	}
	if (w.err || w.len != need)
		return IDN_ETOOLONG;
	t->stage.len += need;
	t->nstaged++;
	if (t->nstaged >= STAGE_MAX || t->stage.len >= STAGE_BYTES)
		return w_flush(t);
	return 0;
}

/* Locks a record's header and reads the record into t->rec. Returns 0,
 * IDN_ENOTFOUND, IDN_ECORRUPT (the transaction goes on) or a server
 * failure (which poisons it). */
static int w_lock_read(pwtxn_t *t, const uint8_t *key, size_t keylen,
		       idn_record_t *out)
{
	const char *vals[1] = {(const char *)key};
	int lens[1] = {(int)keylen};
	PGresult *r[2];
	int err = w_room(t, 2);
	if (err == 0)
		err = w_send(t, S_LOCK, 1, vals, lens);
	/* after the lock is granted: a new snapshot with every value */
	if (err == 0)
		err = w_send(t, S_VALUES, 1, vals, lens);
	if (err == 0)
		err = w_sync(t, r, 2);
	if (err)
		return err;
	size_t size = 0;
	if (PQntuples(r[0]) == 0)
		err = IDN_ENOTFOUND;
	else
		err = idn__pg_record_size((size_t)PQgetlength(r[0], 0, 0), r[1],
					  0, &size);
	if (err == 0)
		err = idn__pg_buf_reserve(&t->rec, size);
	if (err == 0)
		err = idn__pg_build_record(r[0], 0, r[1], 0, t->rec.p, key,
					   keylen, out);
	PQclear(r[0]);
	PQclear(r[1]);
	return err;
}

int idn__pg_wtxn_get(idn_wtxn_t *base, const uint8_t *key, size_t keylen,
		     idn_record_t *out)
{
	pwtxn_t *t = pwtxn(base);
	if (w_flush(t))
		return t->err;
	return w_lock_read(t, key, keylen, out);
}

/* Queues the upsert of every entry of t->rs that is a caller's value
 * (the others are stored already). */
static int w_put_new(pwtxn_t *t, const uint8_t *key, size_t keylen)
{
	uint32_t n = 0;
	size_t size = 0;
	for (uint32_t i = 0; i < t->rs.n; i++) {
		if (t->rs.vals[i].v) {
			n++;
			size += 4 + (size_t)t->rs.vals[i].size;
		}
	}
	if (n == 0)
		return 0;
	int err = idn__pg_arr_init(&t->a1, OID_INT8, n, 12 * (size_t)n);
	if (err == 0)
		err = idn__pg_arr_init(&t->a2, OID_BYTEA, n, size);
	if (err)
		return err;
	for (uint32_t i = 0; i < t->rs.n; i++) {
		const idn__rval_t *e = &t->rs.vals[i];
		if (e->v == NULL)
			continue;
		idn__pg_arr_int8(&t->a1, e->index);
		idn_wr_t w;
		idn_put_u32(t->a2.p + t->a2.len, e->size);
		idn_wr_init(&w, t->a2.p + t->a2.len + 4, e->size);
		idn_value_encode(&w, e->v);
		if (w.err || w.len != e->size)
			return IDN_ETOOLONG;
		t->a2.len += 4 + (size_t)e->size;
	}
	const char *vals[3] = {(const char *)key, (const char *)t->a1.p,
			       (const char *)t->a2.p};
	int lens[3] = {(int)keylen, (int)t->a1.len, (int)t->a2.len};
	err = w_room(t, 1);
	return err ? err : w_send(t, S_PUT, 3, vals, lens);
}

/* Queues a statement (S_DEL or S_DEL_EXCEPT) with the array idx[0..n). */
static int w_del(pwtxn_t *t, enum stmt st, const uint8_t *key, size_t keylen,
		 const uint32_t *idx, uint32_t n)
{
	int err = idn__pg_arr_init(&t->a1, OID_INT8, n, 12 * (size_t)n);
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++)
		idn__pg_arr_int8(&t->a1, idx[i]);
	const char *vals[2] = {(const char *)key, (const char *)t->a1.p};
	int lens[2] = {(int)keylen, (int)t->a1.len};
	err = w_room(t, 1);
	return err ? err : w_send(t, st, 2, vals, lens);
}

static int old_reserve(pwtxn_t *t, uint32_t n)
{
	if (n <= t->oldcap)
		return 0;
	uint32_t *p = realloc(t->old, n * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	t->old = p;
	t->oldcap = n;
	return 0;
}

int idn__pg_create(idn_wtxn_t *base, const idn_ident_t *id,
		   const idn_value_t *v, uint32_t n, bool overwrite)
{
	pwtxn_t *t = pwtxn(base);
	if (t->err)
		return t->err;
	/* every check before the first write */
	int err = idn__rset_set(&t->rs, v, n);
	if (err)
		return err;
	if (overwrite)
		return w_stage(t, id);
	if (w_flush(t))
		return t->err;
	const char *vals[2] = {(const char *)id->key, (const char *)id->text.p};
	int lens[2] = {(int)id->key_len, (int)id->text.len};
	/* The header first: its row lock orders this writer after the
	 * others of the identifier. Without overwrite, an existing header
	 * is the answer. */
	err = w_room(t, 1);
	if (err == 0)
		err = w_send(t, overwrite ? S_PUT_HEAD : S_INS_HEAD, 2, vals,
			     lens);
	if (err == 0 && !overwrite) {
		PGresult *r;
		err = w_sync(t, &r, 1);
		if (err)
			return err;
		bool inserted = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
		if (!inserted)
			return IDN_EEXISTS;
	}
	/* then, in a later statement, any values of an old record go */
	if (err == 0)
		err = old_reserve(t, t->rs.n);
	for (uint32_t i = 0; err == 0 && i < t->rs.n; i++)
		t->old[i] = t->rs.vals[i].index;
	if (err == 0)
		err = w_del(t, S_DEL_EXCEPT, id->key, id->key_len, t->old,
			    t->rs.n);
	if (err == 0)
		err = w_put_new(t, id->key, id->key_len);
	/* once anything was queued, a failure ends the transaction */
	if (err)
		t->err = err;
	return err;
}

int idn__pg_delete(idn_wtxn_t *base, const idn_ident_t *id)
{
	pwtxn_t *t = pwtxn(base);
	if (w_flush(t))
		return t->err;
	const char *vals[1] = {(const char *)id->key};
	int lens[1] = {(int)id->key_len};
	PGresult *r[2];
	int err = w_room(t, 2);
	if (err == 0)
		err = w_send(t, S_LOCK, 1, vals, lens);
	if (err == 0)
		err = w_send(t, S_DEL_ALL, 1, vals, lens);
	if (err == 0)
		err = w_sync(t, r, 2);
	if (err)
		return err;
	bool found = PQntuples(r[0]) > 0;
	PQclear(r[0]);
	PQclear(r[1]);
	return found ? 0 : IDN_ENOTFOUND;
}

enum op { OP_ADD, OP_ADD_OVERWRITE, OP_MODIFY, OP_REMOVE };

/* Applies an edit to an existing record under its lock: the new record is
 * computed and checked in memory, then only the rows that change are
 * written. */
static int edit(idn_wtxn_t *base, const idn_ident_t *id, enum op op,
		const idn_value_t *v, const uint32_t *idx, uint32_t n)
{
	pwtxn_t *t = pwtxn(base);
	if (w_flush(t))
		return t->err;
	idn_record_t old;
	int err = w_lock_read(t, id->key, id->key_len, &old);
	if (err)
		return err;
	err = idn__rset_load(&t->rs, &old);
	if (err)
		return err;
	err = old_reserve(t, t->rs.n);
	if (err)
		return err;
	uint32_t nold = t->rs.n;
	for (uint32_t i = 0; i < nold; i++)
		t->old[i] = t->rs.vals[i].index;
	switch (op) {
	case OP_ADD:
	case OP_ADD_OVERWRITE:
		err = idn__rset_add(&t->rs, v, n, op == OP_ADD_OVERWRITE);
		break;
	case OP_MODIFY:
		err = idn__rset_modify(&t->rs, v, n);
		break;
	case OP_REMOVE:
		err = idn__rset_remove(&t->rs, idx, n);
		break;
	}
	if (err)
		return err;
	/* the old indexes that are gone (both lists ascend) */
	uint32_t ngone = 0;
	for (uint32_t i = 0, j = 0; i < nold; i++) {
		while (j < t->rs.n && t->rs.vals[j].index < t->old[i])
			j++;
		if (j == t->rs.n || t->rs.vals[j].index != t->old[i])
			t->old[ngone++] = t->old[i];
	}
	if (ngone)
		err = w_del(t, S_DEL, id->key, id->key_len, t->old, ngone);
	if (err == 0)
		err = w_put_new(t, id->key, id->key_len);
	if (err)
		t->err = err;
	return err;
}

int idn__pg_add(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		uint32_t n, bool overwrite)
{
	return edit(t, id, overwrite ? OP_ADD_OVERWRITE : OP_ADD, v, NULL, n);
}

int idn__pg_modify(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		   uint32_t n)
{
	return edit(t, id, OP_MODIFY, v, NULL, n);
}

int idn__pg_remove(idn_wtxn_t *t, const idn_ident_t *id, const uint32_t *idx,
		   uint32_t n)
{
	return edit(t, id, OP_REMOVE, NULL, idx, n);
}

int idn__pg_home(idn_wtxn_t *base, const uint8_t *prefix, size_t len)
{
	pwtxn_t *t = pwtxn(base);
	if (w_flush(t))
		return t->err;
	const char *vals[1] = {(const char *)prefix};
	int lens[1] = {(int)len};
	PGresult *r;
	t->homing = true;
	int err = w_room(t, 1);
	if (err == 0)
		err = w_send(t, S_HOME, 1, vals, lens);
	if (err == 0)
		err = w_sync(t, &r, 1);
	if (err)
		return err;
	/* ON CONFLICT DO NOTHING: no row inserted, it was homed already */
	bool inserted = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return inserted ? 0 : 1;
}

int idn__pg_unhome(idn_wtxn_t *base, const uint8_t *prefix, size_t len)
{
	pwtxn_t *t = pwtxn(base);
	if (w_flush(t))
		return t->err;
	const char *vals[1] = {(const char *)prefix};
	int lens[1] = {(int)len};
	PGresult *r;
	t->homing = true;
	int err = w_room(t, 1);
	if (err == 0)
		err = w_send(t, S_UNHOME, 1, vals, lens);
	if (err == 0)
		err = w_sync(t, &r, 1);
	if (err)
		return err;
	bool found = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return found ? 0 : IDN_ENOTFOUND;
}

/* ---- declared types of the search index (search.h) ----
 *
 * The expression indexes cover every type already: declaring is a row. */

/* Runs statement stmt (S_IDX_ADD or S_IDX_DEL) for type; 1 if it changed
 * a row, 0 if not, or an error. */
static int index_row(pwtxn_t *t, enum stmt stmt, idn_bytes_t type)
{
	if (w_flush(t))
		return t->err;
	/* the empty type (creation time) as an empty value, not NULL */
	const char *vals[1] = {type.len ? (const char *)type.p : ""};
	int lens[1] = {(int)type.len};
	PGresult *r;
	int err = w_room(t, 1);
	if (err == 0)
		err = w_send(t, stmt, 1, vals, lens);
	if (err == 0)
		err = w_sync(t, &r, 1);
	if (err)
		return err;
	bool changed = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return changed ? 1 : 0;
}

int idn__pg_index_add(idn_wtxn_t *base, idn_bytes_t type)
{
	int rc = index_row(pwtxn(base), S_IDX_ADD, type);
	return rc < 0 ? rc : rc == 1 ? 0 : 1; /* 1: declared already */
}

int idn__pg_index_remove(idn_wtxn_t *base, idn_bytes_t type)
{
	int rc = index_row(pwtxn(base), S_IDX_DEL, type);
	return rc < 0 ? rc : rc == 1 ? 0 : IDN_ENOTFOUND;
}

/* ---- the change log (changes.h) ---- */

int idn__pg_changes_write(idn_wtxn_t *base, const uint8_t *e, size_t len,
			  uint32_t n)
{
	pwtxn_t *t = pwtxn(base);
	if (w_flush(t))
		return t->err;
	/* the ids: the row's lock is held to the commit */
	uint8_t nb[8];
	idn_put_u64(nb, n);
	const char *v1[1] = {(const char *)nb};
	int l1[1] = {8};
	PGresult *r = NULL;
	int err = w_room(t, 1);
	if (err == 0)
		err = w_send(t, S_CH_TAKE, 1, v1, l1);
	if (err == 0)
		err = w_sync(t, &r, 1);
	if (err)
		return err;
	int64_t first = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 8
				? (int64_t)idn_get_u64(
					  (const uint8_t *)PQgetvalue(r, 0, 0))
				: -1;
	PQclear(r);
	if (first < 1)
		return t->err = IDN_ECORRUPT;
	err = idn__pg_arr_init(&t->a1, OID_INT8, n, 12 * (size_t)n);
	if (err == 0)
		err = idn__pg_arr_init(&t->a2, OID_INT8, n, 12 * (size_t)n);
	if (err == 0)
		err = idn__pg_arr_init(&t->a3, OID_BYTEA, n, len);
	size_t off = 0;
	for (uint32_t i = 0; err == 0 && i < n; i++) {
		uint32_t size = idn_get_u32(e + off);
		const uint8_t *p = e + off + 4;
		off += 4 + (size_t)size;
		idn__pg_arr_int8(&t->a1, first + (int64_t)i);
		idn__pg_arr_int8(&t->a2, (int64_t)idn_get_u64(p));
		idn__pg_arr_bytes(&t->a3, p, size);
	}
	const char *v[3] = {(const char *)t->a1.p, (const char *)t->a2.p,
			    (const char *)t->a3.p};
	int l[3] = {(int)t->a1.len, (int)t->a2.len, (int)t->a3.len};
	if (err == 0)
		err = w_room(t, 1);
	if (err == 0)
		err = w_send(t, S_CH_PUT, 3, v, l);
	if (err)
		t->err = err;
	return err;
}

int idn__pg_changes_prune(idn_store_t *s, uint64_t older_than_ms,
			  uint64_t keep_max, uint64_t *pruned)
{
	uint8_t a[8], b[8];
	idn_put_u64(a, older_than_ms);
	/* no count limit: a distance no log reaches */
	idn_put_u64(b, keep_max ? keep_max : (uint64_t)INT64_MAX / 2);
	const char *v[2] = {(const char *)a, (const char *)b};
	int l[2] = {8, 8};
	for (;;) {
		idn_wtxn_t *base;
		int err = idn__pg_wtxn_begin(s, &base);
		if (err)
			return err;
		pwtxn_t *t = pwtxn(base);
		PGresult *r = NULL;
		err = w_room(t, 1);
		if (err == 0)
			err = w_send(t, S_CH_PRUNE, 2, v, l);
		if (err == 0)
			err = w_sync(t, &r, 1);
		long n = err == 0 ? atol(PQcmdTuples(r)) : 0;
		PQclear(r);
		if (err) {
			idn__pg_wtxn_abort(base);
			return err;
		}
		err = idn__pg_wtxn_commit(base);
		if (err)
			return err;
		*pruned += (uint64_t)n;
		if (n < 10000)
			return 0;
	}
}
