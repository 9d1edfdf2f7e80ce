/* The LMDB backend's search index (store_lmdb_index.h). */
#include "store_lmdb_index.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"

#define TERM_DIRECT 478 /* like the records' keys: 478 + 1 + 32 = 511 */
#define TERM_MAX 511

enum { ST_DEL = 0, ST_ADD = 1 };

/* Writes the term key of (type, data) into out (TERM_MAX bytes); returns
 * its length, or 0 if hashing failed. */
static size_t term_key(idn_bytes_t type, idn_bytes_t data, uint8_t *out)
{
	size_t full = type.len + 1 + data.len;
	size_t n = type.len < TERM_DIRECT ? type.len : TERM_DIRECT;
	memcpy(out, type.p, n);
	if (n < TERM_DIRECT)
		out[n++] = 0;
	if (n < TERM_DIRECT) {
		size_t d =
			data.len < TERM_DIRECT - n ? data.len : TERM_DIRECT - n;
		if (d)
			memcpy(out + n, data.p, d);
		n += d;
	}
	if (full <= TERM_DIRECT)
		return full;
	out[TERM_DIRECT] = 0;
	static const uint8_t zero = 0;
	unsigned int len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(md, type.p, type.len) &&
		 EVP_DigestUpdate(md, &zero, 1) &&
		 (data.len == 0 || EVP_DigestUpdate(md, data.p, data.len)) &&
		 EVP_DigestFinal_ex(md, out + TERM_DIRECT + 1, &len);
	EVP_MD_CTX_free(md);
	return ok && len == 32 ? TERM_MAX : 0;
}

/* ---- staging ----
 *
 * The buffer holds the transaction's pending index writes, each
 * [u8 op][u8 db][u16 key length][u16 data length][key][data], in the order
 * of the operations; ix->ents[] holds their offsets. */

enum { DB_VALS = 0, DB_CTIME = 1 };
#define ENT_HDR 6u
#define FLUSH_BYTES                                                            \
	((size_t)64 << 20) /* apply before the buffer grows past               \
			    */

static int reserve(idn__lidx_t *ix, size_t more)
{
	if (ix->len + more > ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 65536;
		while (cap < ix->len + more)
			cap *= 2;
		uint8_t *b = realloc(ix->buf, cap);
		if (b == NULL)
			return -ENOMEM;
		ix->buf = b;
		ix->cap = cap;
	}
	if (ix->nents == ix->ecap) {
		size_t cap = ix->ecap ? ix->ecap * 2 : 4096;
		size_t *e = realloc(ix->ents, cap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		ix->ents = e;
		ix->ecap = cap;
	}
	return 0;
}

/* Appends one pending write; key is built by term_key when kp is NULL. */
static int stage(idn__lidx_t *ix, int op, int db, idn_bytes_t type,
		 idn_bytes_t data, const uint8_t *kp, size_t kn,
		 const MDB_val *rk)
{
	int err = reserve(ix, ENT_HDR + TERM_MAX + rk->mv_size);
	if (err)
		return err;
	uint8_t *p = ix->buf + ix->len;
	if (kp == NULL) {
		kn = term_key(type, data, p + ENT_HDR);
		if (kn == 0)
			return -ENOMEM; /* the digest could not be set up */
	} else {
		memcpy(p + ENT_HDR, kp, kn);
	}
	memcpy(p + ENT_HDR + kn, rk->mv_data, rk->mv_size);
	p[0] = (uint8_t)op;
	p[1] = (uint8_t)db;
	p[2] = (uint8_t)(kn >> 8);
	p[3] = (uint8_t)kn;
	p[4] = (uint8_t)(rk->mv_size >> 8);
	p[5] = (uint8_t)rk->mv_size;
	ix->ents[ix->nents++] = ix->len;
	ix->len += ENT_HDR + kn + rk->mv_size;
	return 0;
}

/* ---- the declared types ---- */

static const MDB_val TYPES_KEY = {.mv_size = 11, .mv_data = "index_types"};

/* Whether the encoded set (u16 length, bytes; sorted) holds type. */
static bool type_in(const uint8_t *p, size_t len, idn_bytes_t type)
{
	size_t off = 0;
	while (off + 2 <= len) {
		size_t n = (size_t)p[off] << 8 | p[off + 1];
		if (off + 2 + n > len)
			return false;
		if (n == type.len &&
		    (n == 0 || memcmp(p + off + 2, type.p, n) == 0))
			return true;
		off += 2 + n;
	}
	return false;
}

/* The stored set; empty when the key is absent. Returns 0 or an LMDB
 * code. */
static int types_get(MDB_txn *txn, MDB_dbi meta, MDB_val *out)
{
	MDB_val k = TYPES_KEY;
	int rc = mdb_get(txn, meta, &k, out);
	if (rc == MDB_NOTFOUND) {
		out->mv_size = 0;
		out->mv_data = NULL;
		rc = 0;
	}
	return rc;
}

/* Whether the creation time index is declared (the empty type). */
static bool ctime_on(const idn__lidx_t *ix)
{
	return type_in(ix->types, ix->types_len, idn_bytes(NULL, 0));
}

static int types_cache(idn__lidx_t *ix, const void *p, size_t len)
{
	if (len > ix->types_cap) {
		uint8_t *b = realloc(ix->types, len);
		if (b == NULL)
			return ENOMEM;
		ix->types = b;
		ix->types_cap = len;
	}
	if (len)
		memcpy(ix->types, p, len);
	ix->types_len = len;
	return 0;
}

int idn__lidx_sync(idn__lidx_t *ix, MDB_txn *txn)
{
	MDB_val d;
	int rc = types_get(txn, ix->meta, &d);
	if (rc)
		return rc;
	if (d.mv_size == ix->types_len &&
	    (d.mv_size == 0 || memcmp(d.mv_data, ix->types, d.mv_size) == 0))
		return 0;
	return types_cache(ix, d.mv_data, d.mv_size);
}

int idn__lidx_declared(MDB_txn *txn, const idn__lidx_t *ix, idn_bytes_t type,
		       int *lmdb_rc)
{
	MDB_val d;
	int rc = types_get(txn, ix->meta, &d);
	if (rc) {
		*lmdb_rc = rc;
		return IDN_ESTORE;
	}
	return type_in(d.mv_data, d.mv_size, type);
}

int idn__lidx_types(MDB_txn *txn, const idn__lidx_t *ix, idn_list_cb cb,
		    void *ctx, int *lmdb_rc)
{
	MDB_val d;
	int rc = types_get(txn, ix->meta, &d);
	if (rc) {
		*lmdb_rc = rc;
		return IDN_ESTORE;
	}
	const uint8_t *p = d.mv_data;
	size_t off = 0;
	while (off + 2 <= d.mv_size) {
		size_t n = (size_t)p[off] << 8 | p[off + 1];
		if (off + 2 + n > d.mv_size)
			return IDN_ECORRUPT;
		int ret = cb(ctx, idn_bytes(p + off + 2, n));
		if (ret)
			return ret;
		off += 2 + n;
	}
	return 0;
}

/* Writes the set with type inserted (add) or taken out, into meta and the
 * cache. The set is small: it is rebuilt whole. */
static int types_put(idn__lidx_t *ix, MDB_txn *txn, idn_bytes_t type, bool add)
{
	size_t cap = ix->types_len + 2 + type.len, n = 0, off = 0;
	uint8_t *out = malloc(cap ? cap : 1);
	if (out == NULL)
		return ENOMEM;
	const uint8_t *p = ix->types;
	bool placed = !add;
	while (off + 2 <= ix->types_len) {
		size_t l = (size_t)p[off] << 8 | p[off + 1];
		idn_bytes_t t = idn_bytes(p + off + 2, l);
		size_t m = l < type.len ? l : type.len;
		int c = m ? memcmp(t.p, type.p, m) : 0;
		if (c == 0)
			c = (l > type.len) - (l < type.len);
		if (!placed && c > 0) {
			out[n++] = (uint8_t)(type.len >> 8);
			out[n++] = (uint8_t)type.len;
			if (type.len)
				memcpy(out + n, type.p, type.len);
			n += type.len;
			placed = true;
		}
		if (c != 0 || add) {
			memcpy(out + n, p + off, 2 + l);
			n += 2 + l;
		}
		off += 2 + l;
	}
	if (!placed) {
		out[n++] = (uint8_t)(type.len >> 8);
		out[n++] = (uint8_t)type.len;
		if (type.len)
			memcpy(out + n, type.p, type.len);
		n += type.len;
	}
	MDB_val k = TYPES_KEY, d = {.mv_size = n, .mv_data = out};
	int rc = mdb_put(txn, ix->meta, &k, &d, 0);
	if (rc == 0)
		rc = types_cache(ix, out, n);
	free(out);
	return rc;
}

typedef struct {
	idn__lidx_t *ix;
	uint32_t n;   /* terms collected (pairs in ix->terms) */
	uint32_t min; /* earliest timestamp seen */
	bool any;
	int err;
} collect_t;

static int collect(void *ctx, uint32_t ts, uint8_t perms, idn_bytes_t type,
		   idn_bytes_t data)
{
	(void)perms;
	collect_t *c = ctx;
	if (!c->any || ts < c->min)
		c->min = ts;
	c->any = true;
	idn__lidx_t *ix = c->ix;
	if (!type_in(ix->types, ix->types_len, type))
		return 0;
	if (2 * (c->n + 1) > ix->tcap) {
		uint32_t cap = ix->tcap ? ix->tcap * 2 : 64;
		idn_bytes_t *t = realloc(ix->terms, cap * sizeof(*t));
		if (t == NULL)
			return c->err = -ENOMEM;
		ix->terms = t;
		ix->tcap = cap;
	}
	ix->terms[2 * c->n] = type;
	ix->terms[2 * c->n + 1] = data;
	c->n++;
	return 0;
}

static int collect_rset(collect_t *c, const idn__rset_t *rs)
{
	for (uint32_t i = 0; i < rs->n; i++) {
		const idn__rval_t *e = &rs->vals[i];
		int err;
		if (e->v)
			err = collect(c, e->v->timestamp, e->v->perms,
				      e->v->type, e->v->data);
		else
			err = idn__values_each(idn_bytes(e->enc, e->size), 1,
					       collect, c);
		if (err)
			return err;
	}
	return 0;
}

static bool has_term(const idn_bytes_t *t, uint32_t from, uint32_t to,
		     idn_bytes_t type, idn_bytes_t data)
{
	for (uint32_t i = from; i < to; i++)
		if (idn_bytes_eq(t[2 * i], type) &&
		    idn_bytes_eq(t[2 * i + 1], data))
			return true;
	return false;
}

/* Stages the changes between the old values (section, n) and the new
 * ones; either side may be absent. */
static int stage_diff(idn__lidx_t *ix, const MDB_val *rk,
		      const idn_record_t *old, const idn__rset_t *new)
{
	collect_t c = {ix, 0, 0, false, 0};
	bool old_has = false, new_has = false;
	uint32_t old_t = 0, new_t = 0;
	int err = 0;
	if (old) {
		err = idn__values_each(old->values, old->nvalues, collect, &c);
		if (err)
			return c.err ? c.err : err;
		old_has = c.any;
		old_t = c.min;
	}
	uint32_t nold = c.n;
	c.any = false;
	if (new) {
		err = collect_rset(&c, new);
		if (err)
			return c.err ? c.err : err;
		new_has = c.any;
		new_t = c.min;
	}
	const idn_bytes_t *t = ix->terms;
	for (uint32_t i = 0; i < nold && !err; i++)
		if (!has_term(t, nold, c.n, t[2 * i], t[2 * i + 1]))
			err = stage(ix, ST_DEL, DB_VALS, t[2 * i], t[2 * i + 1],
				    NULL, 0, rk);
	for (uint32_t i = nold; i < c.n && !err; i++)
		if (nold == 0 || !has_term(t, 0, nold, t[2 * i], t[2 * i + 1]))
			err = stage(ix, ST_ADD, DB_VALS, t[2 * i], t[2 * i + 1],
				    NULL, 0, rk);
	if (!ctime_on(ix))
		return err;
	bool same = old_has && new_has && old_t == new_t;
	uint8_t tb[4];
	idn_bytes_t none = {NULL, 0};
	if (!err && old_has && !same) {
		idn_put_u32(tb, old_t);
		err = stage(ix, ST_DEL, DB_CTIME, none, none, tb, 4, rk);
	}
	if (!err && new_has && !same) {
		idn_put_u32(tb, new_t);
		err = stage(ix, ST_ADD, DB_CTIME, none, none, tb, 4, rk);
	}
	return err;
}

bool idn__lidx_full(const idn__lidx_t *ix)
{
	return ix->len > FLUSH_BYTES;
}

int idn__lidx_stage(idn__lidx_t *ix, const MDB_val *reckey,
		    const idn_record_t *old, const idn__rset_t *new)
{
	ix->mark_len = ix->len;
	ix->mark_ents = ix->nents;
	if (ix->types_len == 0)
		return 0; /* nothing declared: nothing to index or read */
	int err = stage_diff(ix, reckey, old, new);
	if (err)
		idn__lidx_unstage(ix); /* the operation fails whole */
	return err;
}

void idn__lidx_unstage(idn__lidx_t *ix)
{
	ix->len = ix->mark_len;
	ix->nents = ix->mark_ents;
}

void idn__lidx_reset(idn__lidx_t *ix)
{
	ix->len = ix->mark_len = 0;
	ix->nents = ix->mark_ents = 0;
}

/* Database, key, data (bytewise, shorter first), then staging order, so
 * that writes of one entry keep their order. */
static int ent_cmp(const void *a, const void *b, void *ctx)
{
	const uint8_t *buf = ctx;
	size_t oa = *(const size_t *)a, ob = *(const size_t *)b;
	const uint8_t *p = buf + oa, *q = buf + ob;
	if (p[1] != q[1])
		return p[1] - q[1];
	size_t pk = (size_t)p[2] << 8 | p[3], qk = (size_t)q[2] << 8 | q[3];
	size_t pd = (size_t)p[4] << 8 | p[5], qd = (size_t)q[4] << 8 | q[5];
	size_t m = pk < qk ? pk : qk;
	int c = memcmp(p + ENT_HDR, q + ENT_HDR, m);
	if (c || pk != qk)
		return c ? c : pk < qk ? -1 : 1;
	m = pd < qd ? pd : qd;
	c = memcmp(p + ENT_HDR + pk, q + ENT_HDR + qk, m);
	if (c || pd != qd)
		return c ? c : pd < qd ? -1 : 1;
	return oa < ob ? -1 : oa > ob;
}

int idn__lidx_flush(idn__lidx_t *ix, MDB_txn *txn)
{
	if (ix->nents == 0)
		return 0;
	/* in key order the writes walk each tree once, page after page */
	qsort_r(ix->ents, ix->nents, sizeof(*ix->ents), ent_cmp, ix->buf);
	MDB_cursor *c[2] = {NULL, NULL};
	int rc = mdb_cursor_open(txn, ix->vals, &c[0]);
	if (rc == 0)
		rc = mdb_cursor_open(txn, ix->ctime, &c[1]);
	for (size_t i = 0; rc == 0 && i < ix->nents; i++) {
		uint8_t *p = ix->buf + ix->ents[i];
		MDB_val k = {.mv_size = (size_t)p[2] << 8 | p[3],
			     .mv_data = p + ENT_HDR};
		MDB_val d = {.mv_size = (size_t)p[4] << 8 | p[5],
			     .mv_data = p + ENT_HDR + k.mv_size};
		MDB_cursor *cur = c[p[1]];
		if (p[0] == ST_ADD) {
			rc = mdb_cursor_put(cur, &k, &d, MDB_NODUPDATA);
			if (rc == MDB_KEYEXIST)
				rc = 0; /* the term twice in one record */
		} else {
			rc = mdb_cursor_get(cur, &k, &d, MDB_GET_BOTH);
			if (rc == 0)
				rc = mdb_cursor_del(cur, 0);
			else if (rc == MDB_NOTFOUND)
				rc = 0; /* a term twice in the old record */
		}
	}
	if (c[0])
		mdb_cursor_close(c[0]);
	if (c[1])
		mdb_cursor_close(c[1]);
	idn__lidx_reset(ix);
	return rc;
}

/* ---- opening ---- */

/* Stages, for each record of records, what fn (returning 0, -ENOMEM or
 * an LMDB code) says for it, applying the staged writes a batch at a time;
 * a corrupt record is passed over (it stays unindexed; reads report it).
 * Returns 0 or an LMDB code. */
typedef int (*per_record_fn)(idn__lidx_t *ix, const MDB_val *k,
			     const idn_record_t *rec, void *ctx);

static int walk_records(MDB_txn *txn, MDB_dbi records, idn__lidx_t *ix,
			per_record_fn fn, void *ctx)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, records, &c);
	if (rc)
		return rc;
	MDB_val k, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	while (rc == 0) {
		idn_record_t rec;
		if (idn__record_parse(d.mv_data, d.mv_size, &rec) == 0) {
			rc = fn(ix, &k, &rec, ctx);
			if (rc) {
				rc = rc == -ENOMEM ? ENOMEM : rc;
				break;
			}
		}
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
		/* the cursor survives writes to other databases */
		if (rc == 0 && ix->len > FLUSH_BYTES)
			rc = idn__lidx_flush(ix, txn);
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = idn__lidx_flush(ix, txn);
	else
		idn__lidx_reset(ix);
	return rc;
}

/* Stages the creation time entry of one record (walk_records). */
static int ctime_one(idn__lidx_t *ix, const MDB_val *k, const idn_record_t *rec,
		     void *ctx)
{
	(void)ctx;
	if (rec->nvalues == 0)
		return 0;
	int64_t ct = idn__values_ctime(rec->values, rec->nvalues);
	uint8_t tb[4];
	idn_bytes_t none = {NULL, 0};
	idn_put_u32(tb, (uint32_t)ct);
	return ct >= 0 ? stage(ix, ST_ADD, DB_CTIME, none, none, tb, 4, k) : 0;
}

/* Fills the creation time index from every record. */
static int build_ctime(MDB_txn *txn, MDB_dbi records, idn__lidx_t *ix)
{
	return walk_records(txn, records, ix, ctime_one, NULL);
}

/* Deletes every entry of search_values whose term begins with the
 * len bytes at p. Returns 0 or an LMDB code. */
static int drop_terms(MDB_txn *txn, MDB_dbi vals, const uint8_t *p, size_t len)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, vals, &c);
	while (rc == 0) {
		MDB_val k = {.mv_size = len, .mv_data = (void *)p}, d;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc || k.mv_size < len || memcmp(k.mv_data, p, len) != 0)
			break;
		rc = mdb_cursor_del(c, MDB_NODUPDATA);
	}
	if (rc == 0 || rc == MDB_NOTFOUND) {
		rc = 0;
	}
	mdb_cursor_close(c);
	return rc;
}

/* A store of schema version 2 indexed every type but HS_ ones: the types
 * its search_values holds become the declared set, so its searches go on
 * working. Terms of types too long to declare are dropped. */
static int declare_found(idn__lidx_t *ix, MDB_txn *txn)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, ix->vals, &c);
	if (rc)
		return rc;
	uint8_t seek[TERM_MAX + 1];
	MDB_val k, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	while (rc == 0) {
		const uint8_t *z = memchr(k.mv_data, 0, k.mv_size);
		size_t tl = z ? (size_t)(z - (const uint8_t *)k.mv_data)
			      : k.mv_size;
		memcpy(seek, k.mv_data, tl);
		if (tl == 0 || tl > IDN_INDEX_TYPE_MAX) {
			seek[tl] = 0;
			mdb_cursor_close(c);
			rc = drop_terms(txn, ix->vals, seek, tl + 1);
			if (rc == 0)
				rc = mdb_cursor_open(txn, ix->vals, &c);
			if (rc)
				return rc;
		} else {
			rc = types_put(ix, txn, idn_bytes(seek, tl), true);
			if (rc)
				break;
		}
		/* the next type: past every "TYPE\0..." term */
		seek[tl] = 1;
		k.mv_size = tl + 1;
		k.mv_data = seek;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int idn__lidx_open(MDB_txn *txn, MDB_dbi records, MDB_dbi meta,
		   uint32_t version, idn__lidx_t *ix)
{
	ix->meta = meta;
	int rc = mdb_dbi_open(txn, "search_values", MDB_DUPSORT | MDB_CREATE,
			      &ix->vals);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "search_ctime", MDB_DUPSORT | MDB_CREATE,
				  &ix->ctime);
	if (rc == 0)
		rc = idn__lidx_sync(ix, txn);
	(void)records; /* version 1 had no index: nothing is declared */
	if (rc == 0 && version == 2)
		rc = declare_found(ix, txn);
	if (rc == 0 && version == 2) /* it indexed creation times */
		rc = types_put(ix, txn, idn_bytes(NULL, 0), true);
	return rc;
}

typedef struct {
	idn__lidx_t *ix;
	idn_bytes_t type;
	const MDB_val *rk;
	int err;
} adder_t;

static int add_one(void *ctx, uint32_t ts, uint8_t perms, idn_bytes_t type,
		   idn_bytes_t data)
{
	(void)ts;
	(void)perms;
	adder_t *a = ctx;
	if (!idn_bytes_eq(type, a->type))
		return 0;
	/* a term twice in one record is put once (flush) */
	a->err = stage(a->ix, ST_ADD, DB_VALS, type, data, NULL, 0, a->rk);
	return a->err;
}

/* Stages the entries of one record's values of type *ctx
 * (walk_records). */
static int type_one(idn__lidx_t *ix, const MDB_val *k, const idn_record_t *rec,
		    void *ctx)
{
	adder_t a = {ix, *(const idn_bytes_t *)ctx, k, 0};
	idn__values_each(rec->values, rec->nvalues, add_one, &a);
	return a.err;
}

int idn__lidx_type_add(idn__lidx_t *ix, MDB_txn *txn, MDB_dbi records,
		       idn_bytes_t type)
{
	int rc = idn__lidx_flush(ix, txn);
	if (rc)
		return rc;
	if (type_in(ix->types, ix->types_len, type))
		return 1;
	rc = types_put(ix, txn, type, true);
	if (type.len == 0)
		return rc ? rc : build_ctime(txn, records, ix);
	return rc ? rc : walk_records(txn, records, ix, type_one, &type);
}

int idn__lidx_type_remove(idn__lidx_t *ix, MDB_txn *txn, idn_bytes_t type)
{
	int rc = idn__lidx_flush(ix, txn);
	if (rc)
		return rc;
	if (!type_in(ix->types, ix->types_len, type))
		return MDB_NOTFOUND;
	if (type.len == 0) {
		rc = mdb_drop(txn, ix->ctime, 0); /* empties it */
		return rc ? rc : types_put(ix, txn, type, false);
	}
	uint8_t p[IDN_INDEX_TYPE_MAX + 1];
	if (type.len > IDN_INDEX_TYPE_MAX)
		return EINVAL;
	memcpy(p, type.p, type.len);
	p[type.len] = 0;
	rc = drop_terms(txn, ix->vals, p, type.len + 1);
	if (rc == 0)
		rc = types_put(ix, txn, type, false);
	return rc;
}

void idn__lidx_free(idn__lidx_t *ix)
{
	free(ix->buf);
	free(ix->types);
	free(ix->terms);
	free(ix->ents);
	memset(ix, 0, sizeof(*ix));
}

/* ---- searching ---- */

enum { CUR_KEY = 'K', CUR_TIME = 'T' };

typedef struct {
	MDB_txn *txn;
	MDB_dbi records;
	const idn_search_t *q;
	idn_search_cb cb;
	void *ctx;
	/* "PREFIX/" and how much of it every record key under it begins
	 * with */
	uint8_t want[IDN_IDENT_MAX];
	size_t wlen, scan;
	uint8_t cur[IDN_SEARCH_CURSOR_MAX];
	int *lmdb_rc;
} srch_t;

static int cmp_val(const MDB_val *a, const uint8_t *p, size_t n)
{
	size_t m = a->mv_size < n ? a->mv_size : n;
	int c = m ? memcmp(a->mv_data, p, m) : 0;
	if (c)
		return c;
	return (a->mv_size > n) - (a->mv_size < n);
}

static bool in_prefix(const srch_t *s, const MDB_val *rk)
{
	return s->wlen == 0 || (rk->mv_size >= s->scan &&
				memcmp(rk->mv_data, s->want, s->scan) == 0);
}

/* Checks one candidate record and reports it. Returns 0 to go on, the
 * callback's value, or an error. */
static int offer(srch_t *s, int mode, const MDB_val *rk, const MDB_val *blob)
{
	MDB_val d;
	if (blob == NULL) {
		int rc = mdb_get(s->txn, s->records, (MDB_val *)rk, &d);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc) {
			*s->lmdb_rc = rc;
			return IDN_ESTORE;
		}
		blob = &d;
	}
	idn_record_t rec;
	int err = idn__record_parse(blob->mv_data, blob->mv_size, &rec);
	if (err)
		return err;
	const idn_search_t *q = s->q;
	/* under a very long prefix the key scan is wider than the prefix */
	if (s->wlen > s->scan &&
	    (rec.id.len <= s->wlen ||
	     !idn_ascii_caseeq(rec.id.p, s->wlen, s->want, s->wlen)))
		return 0;
	int64_t ct = idn__values_ctime(rec.values, rec.nvalues);
	if (ct < 0)
		return (int)ct;
	if ((q->since || q->until) &&
	    (rec.nvalues == 0 || ct < q->since || (q->until && ct > q->until)))
		return 0;
	if (q->type.len) {
		int m = idn__values_match(rec.values, rec.nvalues, q->type,
					  q->data, q->public_only);
		if (m <= 0)
			return m;
	}
	s->cur[0] = (uint8_t)mode;
	idn_put_u32(s->cur + 1, (uint32_t)ct);
	memcpy(s->cur + 5, rk->mv_data, rk->mv_size);
	return s->cb(s->ctx, rec.id, (uint32_t)ct,
		     idn_bytes(s->cur, 5 + rk->mv_size));
}

/* Where a scan of sorted record keys starts: after the cursor's key, or at
 * the prefix. *skip says the start itself was already reported. */
static MDB_val scan_start(const srch_t *s, const MDB_val *after, bool *skip)
{
	MDB_val st = {.mv_size = s->scan, .mv_data = (void *)s->want};
	*skip = false;
	if (after && after->mv_size &&
	    (s->wlen == 0 || cmp_val(after, s->want, s->scan) >= 0)) {
		*skip = true;
		return *after;
	}
	return st;
}

/* type (and data): the duplicates of one term, in key order */
static int by_term(srch_t *s, const MDB_val *after, MDB_dbi vals)
{
	const idn_search_t *q = s->q;
	uint8_t kb[TERM_MAX];
	size_t kn = term_key(q->type, q->data, kb);
	if (kn == 0)
		return -ENOMEM;
	MDB_val k = {.mv_size = kn, .mv_data = kb}, d;
	MDB_cursor *c;
	int rc = mdb_cursor_open(s->txn, vals, &c);
	if (rc) {
		*s->lmdb_rc = rc;
		return IDN_ESTORE;
	}
	bool skip;
	MDB_val st = scan_start(s, after, &skip);
	if (st.mv_size) {
		d = st;
		rc = mdb_cursor_get(c, &k, &d, MDB_GET_BOTH_RANGE);
		if (rc == 0 && skip && cmp_val(&d, st.mv_data, st.mv_size) == 0)
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_DUP);
	} else {
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY);
	}
	int ret = 0;
	while (rc == 0 && in_prefix(s, &d)) {
		ret = offer(s, CUR_KEY, &d, NULL);
		if (ret)
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_DUP);
	}
	mdb_cursor_close(c);
	if (ret == 0 && rc && rc != MDB_NOTFOUND) {
		*s->lmdb_rc = rc;
		ret = IDN_ESTORE;
	}
	return ret;
}

/* prefix alone: the records themselves, in key order */
static int by_prefix(srch_t *s, const MDB_val *after)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(s->txn, s->records, &c);
	if (rc) {
		*s->lmdb_rc = rc;
		return IDN_ESTORE;
	}
	bool skip;
	MDB_val st = scan_start(s, after, &skip), k = st, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && skip && cmp_val(&k, st.mv_data, st.mv_size) == 0)
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	int ret = 0;
	while (rc == 0 && in_prefix(s, &k)) {
		ret = offer(s, CUR_KEY, &k, &d);
		if (ret)
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (ret == 0 && rc && rc != MDB_NOTFOUND) {
		*s->lmdb_rc = rc;
		ret = IDN_ESTORE;
	}
	return ret;
}

/* a time range without a type: creation order */
static int by_time(srch_t *s, uint32_t after_t, const MDB_val *after,
		   MDB_dbi ctime)
{
	const idn_search_t *q = s->q;
	MDB_cursor *c;
	int rc = mdb_cursor_open(s->txn, ctime, &c);
	if (rc) {
		*s->lmdb_rc = rc;
		return IDN_ESTORE;
	}
	uint32_t t = q->since;
	if (after && after_t > t)
		t = after_t;
	int ret = 0;
	for (;;) {
		uint8_t tb[4];
		idn_put_u32(tb, t);
		MDB_val k = {.mv_size = 4, .mv_data = tb}, d;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc)
			break;
		if (k.mv_size != 4) {
			ret = IDN_ECORRUPT;
			break;
		}
		t = idn_get_u32(k.mv_data);
		if (q->until && t > q->until)
			break;
		bool skip;
		MDB_val st = scan_start(s, after && t == after_t ? after : NULL,
					&skip);
		if (st.mv_size) {
			d = st;
			rc = mdb_cursor_get(c, &k, &d, MDB_GET_BOTH_RANGE);
			if (rc == 0 && skip &&
			    cmp_val(&d, st.mv_data, st.mv_size) == 0)
				rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_DUP);
		}
		while (rc == 0 && in_prefix(s, &d)) {
			ret = offer(s, CUR_TIME, &d, NULL);
			if (ret)
				break;
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_DUP);
		}
		if (ret || (rc && rc != MDB_NOTFOUND) || t == UINT32_MAX)
			break;
		rc = 0;
		t++;
	}
	mdb_cursor_close(c);
	if (ret == 0 && rc && rc != MDB_NOTFOUND) {
		*s->lmdb_rc = rc;
		ret = IDN_ESTORE;
	}
	return ret;
}

int idn__lidx_search(MDB_txn *txn, const idn__lidx_t *ix, MDB_dbi records,
		     const idn_search_t *q, idn_search_cb cb, void *ctx,
		     int *lmdb_rc)
{
	srch_t *s = malloc(sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->txn = txn;
	s->records = records;
	s->q = q;
	s->cb = cb;
	s->ctx = ctx;
	s->lmdb_rc = lmdb_rc;
	*lmdb_rc = 0;
	s->wlen = s->scan = 0;
	if (q->prefix.len) {
		memcpy(s->want, q->prefix.p, q->prefix.len);
		s->want[q->prefix.len] = '/';
		s->wlen = q->prefix.len + 1;
		s->scan = s->wlen <= TERM_DIRECT ? s->wlen : TERM_DIRECT;
	}
	int mode =
		q->type.len == 0 && (q->since || q->until) ? CUR_TIME : CUR_KEY;
	MDB_val after = {0};
	uint32_t after_t = 0;
	int ret = 0;
	if (q->cursor.len) {
		if (q->cursor.len < 6 || q->cursor.len > 5 + TERM_MAX ||
		    q->cursor.p[0] != mode) {
			ret = IDN_EINVAL;
			goto out;
		}
		after_t = idn_get_u32(q->cursor.p + 1);
		after.mv_size = q->cursor.len - 5;
		after.mv_data = (void *)(q->cursor.p + 5);
	}
	if (mode == CUR_TIME)
		ret = by_time(s, after_t, q->cursor.len ? &after : NULL,
			      ix->ctime);
	else if (q->type.len)
		ret = by_term(s, &after, ix->vals);
	else
		ret = by_prefix(s, &after);
out:
	free(s);
	return ret;
}

/* Deletes the duplicates equal to reckey from the MDB_DUPSORT dbi. */
static int purge_db(MDB_txn *txn, MDB_dbi dbi, const MDB_val *reckey)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	MDB_val k, d;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_NODUP)) {
		MDB_val want = *reckey;
		rc = mdb_cursor_get(c, &k, &want, MDB_GET_BOTH);
		if (rc == 0)
			rc = mdb_cursor_del(c, 0);
		if (rc == MDB_NOTFOUND) {
			/* back to this term, to step past it */
			rc = mdb_cursor_get(c, &k, &d, MDB_SET);
		}
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int idn__lidx_purge(idn__lidx_t *ix, MDB_txn *txn, const MDB_val *reckey)
{
	int rc = idn__lidx_flush(ix, txn);
	if (rc == 0)
		rc = purge_db(txn, ix->vals, reckey);
	if (rc == 0)
		rc = purge_db(txn, ix->ctime, reckey);
	return rc;
}
