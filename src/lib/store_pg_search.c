/* Search on PostgreSQL (search.h), over the expression indexes of schema
 * version 2 (store_pg.h).
 *
 * Each batch is two statements: up to 128 candidate identifiers from an
 * index, then all rows of those identifiers by their keys. This file
 * rebuilds each record, checks it exactly (the term index holds an MD5,
 * permissions and creation time are checked here), reports it, and asks
 * for the next batch after the last candidate until the callback stops or
 * the candidates run out. Cursors: 'K' or 'T', u32 creation time, the
 * identifier's key (ident_key). */
#include "store_pg.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"

#define BATCH 128 /* LIMIT of the search statements */

enum { CUR_KEY = 'K', CUR_TIME = 'T' };

typedef struct {
	const idn_search_t *q;
	idn_search_cb cb;
	void *ctx;
	uint8_t lo[IDN_IDENT_MAX + 1], hi[IDN_IDENT_MAX + 1];
	size_t plen;  /* "PREFIX/" length; 0: no prefix */
	uint8_t *buf; /* one record's values, rebuilt */
	size_t cap;
	uint8_t cur[IDN_SEARCH_CURSOR_MAX];
	/* where the next batch starts: after (t, key) */
	uint8_t last[IDN_IDENT_MAX];
	size_t last_len;
	uint32_t last_t;
} psearch_t;

/* md5 of the term, as lowercase hex text (what md5() returns). */
static int term_md5(idn_bytes_t type, idn_bytes_t data, char out[33])
{
	uint8_t len[4], md[16];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_md5(), NULL);
	idn_put_u32(len, (uint32_t)type.len);
	ok = ok && EVP_DigestUpdate(c, len, 4) &&
	     (type.len == 0 || EVP_DigestUpdate(c, type.p, type.len));
	idn_put_u32(len, (uint32_t)data.len);
	ok = ok && EVP_DigestUpdate(c, len, 4) &&
	     (data.len == 0 || EVP_DigestUpdate(c, data.p, data.len)) &&
	     EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	if (!ok || mdlen != 16)
		return -ENOMEM;
	idn_search_cursor_hex(idn_bytes(md, 16), out);
	return 0;
}

static int64_t row_idx(const PGresult *r, int i)
{
	if (PQgetlength(r, i, 0) != 8)
		return INT64_MIN;
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, i, 0);
	uint64_t v = 0;
	for (int k = 0; k < 8; k++)
		v = v << 8 | p[k];
	return (int64_t)v;
}

/* Checks the record of key whose rows (S_GET: idx, enc; header first)
 * are r, and reports it; t is the candidate's timestamp in creation
 * order. Returns 0 to go on, the callback's value or an error. */
static int offer(psearch_t *s, int mode, const char *key, size_t klen,
		 const PGresult *r, uint32_t t)
{
	const idn_search_t *q = s->q;
	int rows = PQntuples(r);
	if (rows == 0 || row_idx(r, 0) != -1)
		return 0; /* gone since, or values without a header */
	size_t idlen = (size_t)PQgetlength(r, 0, 1);
	if (idlen == 0 || idlen > IDN_IDENT_MAX)
		return IDN_ECORRUPT;
	size_t size = 0;
	for (int k = 1; k < rows; k++)
		size += (size_t)PQgetlength(r, k, 1);
	if (size > s->cap) {
		uint8_t *b = realloc(s->buf, size);
		if (b == NULL)
			return -ENOMEM;
		s->buf = b;
		s->cap = size;
	}
	size_t at = 0;
	for (int k = 1; k < rows; k++) {
		size_t n = (size_t)PQgetlength(r, k, 1);
		memcpy(s->buf + at, PQgetvalue(r, k, 1), n);
		at += n;
	}
	idn_bytes_t values = idn_bytes(s->buf, at);
	uint32_t nv = (uint32_t)(rows - 1);
	if (idn__values_walk(values, nv, NULL) != 0)
		return IDN_ECORRUPT;
	int64_t ct = idn__values_ctime(values, nv);
	if (ct < 0)
		return (int)ct;
	if ((q->since || q->until) &&
	    (nv == 0 || ct < q->since || (q->until && ct > q->until)))
		return 0;
	/* in creation order a record shows up at each of its values'
	 * timestamps: report it at the earliest only */
	if (mode == CUR_TIME && t != ct)
		return 0;
	if (q->type.len) {
		int m = idn__values_match(values, nv, q->type, q->data,
					  q->public_only);
		if (m <= 0)
			return m;
	}
	s->cur[0] = (uint8_t)mode;
	idn_put_u32(s->cur + 1, (uint32_t)ct);
	memcpy(s->cur + 5, key, klen);
	return s->cb(s->ctx, idn_bytes(PQgetvalue(r, 0, 1), idlen),
		     (uint32_t)ct, idn_bytes(s->cur, 5 + klen));
}

/* Reports the candidates of c (columns: timestamp or empty, key; a
 * candidate may repeat in a row) from their rows. Returns 0, the
 * callback's value or an error. */
static int offer_batch(idn_rtxn_t *t, psearch_t *s, int mode, const PGresult *c)
{
	int n = PQntuples(c), nq = 0;
	const char *vals[BATCH];
	int lens[BATCH], at[BATCH];
	for (int i = 0; i < n; i++) {
		size_t kl = (size_t)PQgetlength(c, i, 1);
		if (kl == 0 || kl > IDN_IDENT_MAX ||
		    (mode == CUR_TIME && PQgetlength(c, i, 0) != 4))
			return IDN_ECORRUPT;
		if (i > 0 && PQgetlength(c, i, 0) == PQgetlength(c, i - 1, 0) &&
		    memcmp(PQgetvalue(c, i, 0), PQgetvalue(c, i - 1, 0),
			   (size_t)PQgetlength(c, i, 0)) == 0 &&
		    (size_t)PQgetlength(c, i - 1, 1) == kl &&
		    memcmp(PQgetvalue(c, i, 1), PQgetvalue(c, i - 1, 1), kl) ==
			    0)
			continue; /* the same (time, key) again */
		vals[nq] = PQgetvalue(c, i, 1);
		lens[nq] = (int)kl;
		at[nq++] = i;
	}
	PGresult *res[BATCH];
	int err = idn__pg_rquery_each(t, S_GET, nq, vals, lens, res);
	if (err)
		return err;
	int ret = 0;
	for (int k = 0; k < nq; k++) {
		int i = at[k];
		uint32_t ts = mode == CUR_TIME
				      ? idn_get_u32((const uint8_t *)PQgetvalue(
						c, i, 0))
				      : 0;
		if (ret == 0)
			ret = offer(s, mode, vals[k], (size_t)lens[k], res[k],
				    ts);
		PQclear(res[k]);
	}
	/* the next batch starts after the last candidate of this one */
	size_t kl = (size_t)PQgetlength(c, n - 1, 1);
	memcpy(s->last, PQgetvalue(c, n - 1, 1), kl);
	s->last_len = kl;
	if (mode == CUR_TIME)
		s->last_t =
			idn_get_u32((const uint8_t *)PQgetvalue(c, n - 1, 0));
	return ret;
}

/* Runs batches of candidate statement st until done; vals/lens are its
 * parameters, of which the cursor ones are refreshed from s->last. */
static int batches(idn_rtxn_t *t, psearch_t *s, int mode, enum stmt st,
		   const char **vals, int *lens, int n)
{
	uint8_t tb[4];
	int ret = 0;
	for (;;) {
		if (st == S_SEARCH_TIME) {
			idn_put_u32(tb, s->last_t);
			vals[0] = (const char *)tb;
			lens[0] = 4;
			vals[1] = (const char *)s->last;
			lens[1] = (int)s->last_len;
		} else {
			int at = st == S_SEARCH_TERM ? 1 : 0;
			vals[at] = (const char *)s->last;
			lens[at] = (int)s->last_len;
		}
		PGresult *c;
		ret = idn__pg_rquery(t, st, n, vals, lens, &c);
		if (ret)
			break;
		int got = PQntuples(c);
		if (got)
			ret = offer_batch(t, s, mode, c);
		PQclear(c);
		if (ret || got < BATCH)
			break;
	}
	return ret;
}

int idn__pg_search(idn_rtxn_t *t, const idn_search_t *q, idn_search_cb cb,
		   void *ctx)
{
	psearch_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->q = q;
	s->cb = cb;
	s->ctx = ctx;
	/* keys under the prefix: from "PREFIX/" up to "PREFIX0" ('/' + 1);
	 * no prefix: from "" to 0xff, which no UTF-8 key holds */
	size_t lolen = 0, hilen = 1;
	s->hi[0] = 0xff;
	if (q->prefix.len) {
		memcpy(s->lo, q->prefix.p, q->prefix.len);
		memcpy(s->hi, q->prefix.p, q->prefix.len);
		s->lo[q->prefix.len] = '/';
		s->hi[q->prefix.len] = '0';
		lolen = hilen = q->prefix.len + 1;
	}
	int mode =
		q->type.len == 0 && (q->since || q->until) ? CUR_TIME : CUR_KEY;
	int ret = 0;
	s->last_t = q->since;
	if (q->cursor.len) {
		if (q->cursor.len < 6 || q->cursor.p[0] != mode) {
			ret = IDN_EINVAL;
			goto out;
		}
		s->last_len = q->cursor.len - 5;
		memcpy(s->last, q->cursor.p + 5, s->last_len);
		uint32_t ct = idn_get_u32(q->cursor.p + 1);
		if (mode == CUR_TIME && ct > s->last_t)
			s->last_t = ct;
		else if (mode == CUR_TIME && ct < s->last_t)
			s->last_len = 0; /* before the range: from its start */
	}
	const char *vals[5];
	int lens[5];
	PGresult *pr;
	ret = idn__pg_rquery(t, S_SEARCH_PLAN, 0, NULL, NULL, &pr);
	if (ret)
		goto out;
	PQclear(pr);
	if (mode == CUR_TIME) {
		uint8_t ub[4];
		idn_put_u32(ub, q->until ? q->until : UINT32_MAX);
		vals[2] = (const char *)ub;
		lens[2] = 4;
		vals[3] = (const char *)s->lo;
		lens[3] = (int)lolen;
		vals[4] = (const char *)s->hi;
		lens[4] = (int)hilen;
		ret = batches(t, s, mode, S_SEARCH_TIME, vals, lens, 5);
	} else if (q->type.len) {
		char md[33];
		ret = term_md5(q->type, q->data, md);
		vals[0] = md;
		lens[0] = 32;
		vals[2] = (const char *)s->lo;
		lens[2] = (int)lolen;
		vals[3] = (const char *)s->hi;
		lens[3] = (int)hilen;
		if (ret == 0)
			ret = batches(t, s, mode, S_SEARCH_TERM, vals, lens, 4);
	} else {
		vals[1] = (const char *)s->lo;
		lens[1] = (int)lolen;
		vals[2] = (const char *)s->hi;
		lens[2] = (int)hilen;
		ret = batches(t, s, mode, S_SEARCH_PREFIX, vals, lens, 3);
	}
	/* the snapshot may serve other reads after this */
	if (idn__pg_rquery(t, S_SEARCH_PLAN_END, 0, NULL, NULL, &pr) == 0)
		PQclear(pr);
out:
	free(s->buf);
	free(s);
	return ret;
}

/* ---- declared types ---- */

int idn__pg_index_declared(idn_rtxn_t *t, idn_bytes_t type)
{
	/* the empty type (creation time) as an empty value, not NULL */
	const char *vals[1] = {type.len ? (const char *)type.p : ""};
	int lens[1] = {(int)type.len};
	PGresult *r;
	int err = idn__pg_rquery(t, S_IDX_HAS, 1, vals, lens, &r);
	if (err)
		return err;
	int n = PQntuples(r);
	PQclear(r);
	return n > 0;
}

int idn__pg_index_types(idn_rtxn_t *t, idn_list_cb cb, void *ctx)
{
	PGresult *r;
	int err = idn__pg_rquery(t, S_IDX_LIST, 0, NULL, NULL, &r);
	if (err)
		return err;
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && ret == 0; i++)
		ret = cb(ctx, idn_bytes((const uint8_t *)PQgetvalue(r, i, 0),
					(size_t)PQgetlength(r, i, 0)));
	PQclear(r);
	return ret;
}
