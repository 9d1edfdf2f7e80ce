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
		size_t d = data.len < TERM_DIRECT - n ? data.len
						      : TERM_DIRECT - n;
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

/* ---- staging ---- */

static int reserve(idn__lidx_t *ix, size_t more)
{
	if (ix->len + more <= ix->cap)
		return 0;
	size_t cap = ix->cap ? ix->cap * 2 : 4096;
	while (cap < ix->len + more)
		cap *= 2;
	uint8_t *b = realloc(ix->buf, cap);
	if (b == NULL)
		return -ENOMEM;
	ix->buf = b;
	ix->cap = cap;
	return 0;
}

static int stage(idn__lidx_t *ix, int op, idn_bytes_t type, idn_bytes_t data)
{
	int err = reserve(ix, 3 + TERM_MAX);
	if (err)
		return err;
	uint8_t *p = ix->buf + ix->len;
	size_t n = term_key(type, data, p + 3);
	if (n == 0)
		return -ENOMEM; /* the digest could not be set up */
	p[0] = (uint8_t)op;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	ix->len += 3 + n;
	return 0;
}

typedef struct {
	idn__lidx_t *ix;
	uint32_t n;    /* terms collected (pairs in ix->terms) */
	uint32_t min;  /* earliest timestamp seen */
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
	if (!idn__search_indexed(type))
		return 0;
	idn__lidx_t *ix = c->ix;
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

int idn__lidx_prepare(idn__lidx_t *ix, const idn_record_t *old,
		      const idn__rset_t *new)
{
	ix->len = 0;
	ix->old_has = ix->new_has = false;
	collect_t c = {ix, 0, 0, false, 0};
	int err = 0;
	if (old) {
		err = idn__values_each(old->values, old->nvalues, collect, &c);
		if (err)
			return c.err ? c.err : err;
		ix->old_has = c.any;
		ix->old_t = c.min;
	}
	uint32_t nold = c.n;
	c.any = false;
	if (new) {
		err = collect_rset(&c, new);
		if (err)
			return c.err ? c.err : err;
		ix->new_has = c.any;
		ix->new_t = c.min;
	}
	const idn_bytes_t *t = ix->terms;
	for (uint32_t i = 0; i < nold && !err; i++)
		if (!has_term(t, nold, c.n, t[2 * i], t[2 * i + 1]))
			err = stage(ix, ST_DEL, t[2 * i], t[2 * i + 1]);
	for (uint32_t i = nold; i < c.n && !err; i++)
		if (nold == 0 || !has_term(t, 0, nold, t[2 * i], t[2 * i + 1]))
			err = stage(ix, ST_ADD, t[2 * i], t[2 * i + 1]);
	return err;
}

int idn__lidx_apply(idn__lidx_t *ix, MDB_txn *txn, const MDB_val *reckey)
{
	MDB_val rk = *reckey;
	for (size_t at = 0; at < ix->len;) {
		uint8_t *p = ix->buf + at;
		MDB_val k = {.mv_size = (size_t)p[1] << 8 | p[2],
			     .mv_data = p + 3};
		at += 3 + k.mv_size;
		int rc;
		if (p[0] == ST_ADD) {
			rc = mdb_put(txn, ix->vals, &k, &rk, MDB_NODUPDATA);
			if (rc == MDB_KEYEXIST)
				rc = 0; /* the term twice in one record */
		} else {
			rc = mdb_del(txn, ix->vals, &k, &rk);
			if (rc == MDB_NOTFOUND)
				rc = 0; /* a term twice in the old record */
		}
		if (rc)
			return rc;
	}
	bool same = ix->old_has && ix->new_has && ix->old_t == ix->new_t;
	uint8_t tb[4];
	MDB_val tk = {.mv_size = 4, .mv_data = tb};
	if (ix->old_has && !same) {
		idn_put_u32(tb, ix->old_t);
		int rc = mdb_del(txn, ix->ctime, &tk, &rk);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	if (ix->new_has && !same) {
		idn_put_u32(tb, ix->new_t);
		int rc = mdb_put(txn, ix->ctime, &tk, &rk, MDB_NODUPDATA);
		if (rc && rc != MDB_KEYEXIST)
			return rc;
	}
	ix->len = 0;
	ix->old_has = ix->new_has = false;
	return 0;
}

/* ---- opening ---- */

/* Fills new index databases from every record. */
static int build(MDB_txn *txn, MDB_dbi records, idn__lidx_t *ix)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, records, &c);
	if (rc)
		return rc;
	MDB_val k, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	while (rc == 0) {
		idn_record_t rec;
		int err = idn__record_parse(d.mv_data, d.mv_size, &rec);
		/* a corrupt record stays unindexed; reads report it */
		if (err == 0)
			err = idn__lidx_prepare(ix, NULL, NULL);
		if (err == 0) {
			/* stage it as new: an rset would copy, walk instead */
			collect_t col = {ix, 0, 0, false, 0};
			err = idn__values_each(rec.values, rec.nvalues,
					       collect, &col);
			ix->new_has = col.any;
			ix->new_t = col.min;
			for (uint32_t i = 0; i < col.n && !err; i++)
				err = stage(ix, ST_ADD, ix->terms[2 * i],
					    ix->terms[2 * i + 1]);
			if (err == -ENOMEM) {
				rc = ENOMEM;
				break;
			}
		}
		if (err == 0) {
			/* k stays valid: no write touches the records */
			rc = idn__lidx_apply(ix, txn, &k);
			if (rc)
				break;
		}
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int idn__lidx_open(MDB_txn *txn, MDB_dbi records, idn__lidx_t *ix)
{
	int rc = mdb_dbi_open(txn, "search_values", MDB_DUPSORT, &ix->vals);
	bool fresh = rc == MDB_NOTFOUND;
	if (fresh)
		rc = mdb_dbi_open(txn, "search_values",
				  MDB_DUPSORT | MDB_CREATE, &ix->vals);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "search_ctime",
				  MDB_DUPSORT | MDB_CREATE, &ix->ctime);
	if (rc == 0 && fresh)
		rc = build(txn, records, ix);
	return rc;
}

void idn__lidx_free(idn__lidx_t *ix)
{
	free(ix->buf);
	free(ix->terms);
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
	return s->wlen == 0 ||
	       (rk->mv_size >= s->scan &&
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
	int mode = q->type.len == 0 && (q->since || q->until) ? CUR_TIME
							      : CUR_KEY;
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
