/* The PostgreSQL records iterator (store.h).
 *
 * A page of up to PAGE headers in key order and the value rows of the same
 * identifiers come back in one round trip (S_ITER_HEADS, S_ITER_VALUES),
 * both in the read transaction's REPEATABLE READ snapshot, so every page
 * sees the same committed state. Each record is assembled from its rows in
 * the iterator's buffer and checked as a read checks it. Value rows under
 * a key without a header row (never written by idnode) belong to no record
 * and are passed over, as a listing passes over them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_pg.h"

#define PAGE 1000 /* the LIMIT of S_ITER_HEADS */

typedef struct {
	idn_iter_t base;
	PGresult *heads, *vals;
	int hrow, vrow;
	bool last_page;
	/* the parameters: lower bound, the last key handed out, upper bound */
	uint8_t lo[IDN_IDENT_MAX + 1], last[IDN_IDENT_MAX],
		hi[IDN_IDENT_MAX + 1];
	int lolen, lastlen, hilen;
	uint8_t *buf; /* the record handed out last */
	size_t cap;
} piter_t;

/* Keys are UTF-8 text, which never holds the byte 0xff: a bound above
 * every key. */
static const uint8_t above_all[1] = {0xff};

static int64_t be_i64(const uint8_t *p)
{
	return (int64_t)((uint64_t)idn_get_u32(p) << 32 | idn_get_u32(p + 4));
}

static int next_page(piter_t *it)
{
	PQclear(it->heads);
	PQclear(it->vals);
	it->heads = it->vals = NULL;
	it->hrow = it->vrow = 0;
	const char *vals[3] = {(const char *)it->lo, (const char *)it->last,
			       (const char *)it->hi};
	int lens[3] = {it->lolen, it->lastlen, it->hilen};
	static const enum stmt st[2] = {S_ITER_HEADS, S_ITER_VALUES};
	PGresult *res[2];
	int err = idn__pg_rquery_n(it->base.txn, st, 2, 3, vals, lens, res);
	if (err)
		return err;
	it->heads = res[0];
	it->vals = res[1];
	it->last_page = PQntuples(it->heads) < PAGE;
	return 0;
}

static bool row_key_is(const PGresult *r, int row, const char *key, int len)
{
	return PQgetlength(r, row, 0) == len &&
	       memcmp(PQgetvalue(r, row, 0), key, (size_t)len) == 0;
}

/* Bytewise order of row's key and key, a proper prefix first. */
static int row_key_cmp(const PGresult *r, int row, const char *key, int len)
{
	int rl = PQgetlength(r, row, 0);
	int n = rl < len ? rl : len;
	int c = n ? memcmp(PQgetvalue(r, row, 0), key, (size_t)n) : 0;
	return c ? c : (rl > len) - (rl < len);
}

/* Assembles the record of header row h from the value rows at it->vrow
 * that carry its key. Returns 0, IDN_ECORRUPT or -ENOMEM. */
static int assemble(piter_t *it, int h, idn_iter_item_t *out)
{
	const char *key = PQgetvalue(it->heads, h, 0);
	int klen = PQgetlength(it->heads, h, 0);
	size_t idlen = (size_t)PQgetlength(it->heads, h, 1);
	if (klen == 0 || klen > IDN_IDENT_MAX || idlen == 0 ||
	    idlen > IDN_IDENT_MAX)
		return IDN_ECORRUPT;
	int nv = PQntuples(it->vals);
	while (it->vrow < nv && row_key_cmp(it->vals, it->vrow, key, klen) < 0)
		it->vrow++; /* values of no record */
	int v0 = it->vrow;
	size_t size = idlen;
	while (it->vrow < nv && row_key_is(it->vals, it->vrow, key, klen)) {
		size += (size_t)PQgetlength(it->vals, it->vrow, 2);
		it->vrow++;
	}
	if (it->vrow - v0 > IDN_VALUES_MAX)
		return IDN_ECORRUPT;
	if (size > it->cap) {
		uint8_t *b = realloc(it->buf, size);
		if (b == NULL)
			return -ENOMEM;
		it->buf = b;
		it->cap = size;
	}
	memcpy(it->buf, PQgetvalue(it->heads, h, 1), idlen);
	if (!idn_ascii_caseeq(it->buf, idlen, (const uint8_t *)key,
			      (size_t)klen))
		return IDN_ECORRUPT; /* filed under another identifier's key */
	size_t off = idlen;
	for (int i = v0; i < it->vrow; i++) {
		size_t len = (size_t)PQgetlength(it->vals, i, 2);
		const uint8_t *enc =
			(const uint8_t *)PQgetvalue(it->vals, i, 2);
		int64_t idx = PQgetlength(it->vals, i, 1) == 8
				      ? be_i64((const uint8_t *)PQgetvalue(
						it->vals, i, 1))
				      : -1;
		/* a row's index is its value's */
		if (idx < 0 || idx > UINT32_MAX || len < 4 ||
		    idn_get_u32(enc) != (uint32_t)idx)
			return IDN_ECORRUPT;
		memcpy(it->buf + off, enc, len);
		off += len;
	}
	out->rec.id = idn_bytes(it->buf, idlen);
	out->rec.nvalues = (uint32_t)(it->vrow - v0);
	out->rec.values = idn_bytes(it->buf + idlen, off - idlen);
	out->key = idn_bytes(key, (size_t)klen);
	return idn__values_walk(out->rec.values, out->rec.nvalues, NULL);
}

static int piter_next(idn_iter_t *base, idn_iter_item_t *out)
{
	piter_t *it = (piter_t *)base;
	if (!idn__pg_rtxn_live(base->txn))
		return IDN_EINVAL; /* what it yields would outlive the snapshot
				    */
	if (it->heads == NULL || it->hrow == PQntuples(it->heads)) {
		if (it->heads && it->last_page)
			return IDN_ENOTFOUND;
		int err = next_page(it);
		if (err)
			return err;
		if (PQntuples(it->heads) == 0)
			return IDN_ENOTFOUND;
	}
	int h = it->hrow++;
	int err = assemble(it, h, out);
	if (err)
		return err;
	/* the next page starts after it */
	memcpy(it->last, out->key.p, out->key.len);
	it->lastlen = (int)out->key.len;
	return 0;
}

static void piter_free(idn_iter_t *base)
{
	piter_t *it = (piter_t *)base;
	PQclear(it->heads);
	PQclear(it->vals);
	free(it->buf);
	free(it);
}

/* The least byte string above every one that begins with p: p with its
 * last byte below 0xff increased and what follows dropped; none (every
 * byte 0xff, or empty): the bound above every key. */
static void upper_bound(piter_t *it, idn_bytes_t p)
{
	size_t n = p.len;
	while (n && p.p[n - 1] == 0xff)
		n--;
	if (n == 0) {
		memcpy(it->hi, above_all, sizeof(above_all));
		it->hilen = (int)sizeof(above_all);
		return;
	}
	memcpy(it->hi, p.p, n);
	it->hi[n - 1]++;
	it->hilen = (int)n;
}

int idn__pg_iter_records(idn_rtxn_t *t, idn_bytes_t under, idn_bytes_t from,
			 idn_iter_t **out)
{
	piter_t *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -ENOMEM;
	it->base.txn = t;
	it->base.next = piter_next;
	it->base.free = piter_free;
	upper_bound(it, under);
	/* the lower bound: the greater of under and from */
	idn_bytes_t lo = under;
	if (from.len) {
		size_t n = from.len < under.len ? from.len : under.len;
		int c = n ? memcmp(from.p, under.p, n) : 0;
		if (c > 0 || (c == 0 && from.len > under.len))
			lo = from;
	}
	if (lo.len)
		memcpy(it->lo, lo.p, lo.len);
	it->lolen = (int)lo.len;
	/* a read on a reset transaction fails here, as on LMDB */
	int err = next_page(it);
	if (err) {
		piter_free(&it->base);
		return err;
	}
	*out = &it->base;
	return 0;
}
