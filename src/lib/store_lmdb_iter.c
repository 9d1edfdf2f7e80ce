/* The LMDB backend's records iterator (store.h, idn_iter_records). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"
#include "store_lmdb_int.h"

/* ---- the records iterator ----
 *
 * LMDB order is normalised-key order except among hashed keys that share
 * their first KEY_DIRECT bytes (a group, adjacent in LMDB). The walk reads
 * such a group whole and hands it out sorted by normalised key, so records
 * come in normalised-key order everywhere, as on PostgreSQL, and a walk
 * resumed from a key misses nothing. */

typedef struct {
	idn_bytes_t key;
	idn_record_t rec;
} litem_t;

typedef struct {
	idn_iter_t base;
	MDB_cursor *cur;
	bool started;
	MDB_val start; /* where the walk begins; mv_size 0: the first key */
	uint8_t startb[KEY_MAX];
	uint8_t under[IDN_IDENT_MAX + 1];
	size_t ulen, scan; /* scan: what every LMDB key under it begins with */
	uint8_t from[IDN_IDENT_MAX + 1];
	size_t flen;
	/* the group being handed out: its records, their normalised keys */
	litem_t *grp;
	uint8_t (*gkey)[IDN_IDENT_MAX];
	size_t ngrp, gpos, gcap;
	/* the record read past the end of the group, handed out next */
	bool pending;
	MDB_val pk, pd;
} liter_t;

/* The normalised key of a hashed key k: the identifier of rec normalised
 * (its suffix upper-cased or not) so that its LMDB key is k, into buf.
 * Returns its length, or 0 if neither is (the record is not this key's). */
static size_t hashed_key(const MDB_val *k, const idn_record_t *rec,
			 uint8_t *buf)
{
	static const unsigned flags[2] = {0, IDN_IDENT_CASE_SUFFIX};
	for (int i = 0; i < 2; i++) {
		idn_ident_t id;
		uint8_t kb[KEY_MAX];
		if (idn_ident_parse(rec->id.p, rec->id.len, flags[i], &id))
			continue;
		MDB_val want = lmdb_key(id.key, id.key_len, kb);
		if (key_cmp(&want, k) == 0) {
			memcpy(buf, id.key, id.key_len);
			return id.key_len;
		}
	}
	return 0;
}

static bool is_hashed(const MDB_val *k)
{
	return k->mv_size == KEY_MAX &&
	       ((const uint8_t *)k->mv_data)[KEY_DIRECT] == 0x00;
}

/* The next record of the cursor (or the pending one). Returns 0,
 * IDN_ENOTFOUND past the keys of the walk, or an error. */
static int cursor_next(liter_t *it, MDB_val *k, MDB_val *d)
{
	if (it->pending) {
		it->pending = false;
		*k = it->pk;
		*d = it->pd;
		return 0;
	}
	int rc;
	*k = it->start;
	if (it->started)
		rc = mdb_cursor_get(it->cur, k, d, MDB_NEXT);
	else if (k->mv_size)
		rc = mdb_cursor_get(it->cur, k, d, MDB_SET_RANGE);
	else
		rc = mdb_cursor_get(it->cur, k, d, MDB_FIRST);
	it->started = true;
	if (rc == MDB_NOTFOUND)
		return IDN_ENOTFOUND;
	if (rc)
		return idn__lmdb_error(rc);
	if (!has_prefix(k, it->under, it->scan))
		return IDN_ENOTFOUND; /* past the keys under it */
	return 0;
}

static int litem_cmp(const void *a, const void *b)
{
	const litem_t *x = a, *y = b;
	return bytes_cmp(x->key, y->key.p, y->key.len);
}

/* Reads the group that begins with the hashed key k (data d) whole and
 * sorts it. Returns 0 or an error. */
static int read_group(liter_t *it, MDB_val k, MDB_val d)
{
	uint8_t head[KEY_DIRECT];
	memcpy(head, k.mv_data, KEY_DIRECT);
	it->ngrp = it->gpos = 0;
	for (;;) {
		if (it->ngrp == it->gcap) {
			size_t cap = it->gcap ? it->gcap * 2 : 8;
			litem_t *g = realloc(it->grp, cap * sizeof(*g));
			if (g == NULL)
				return -ENOMEM;
			it->grp = g;
			uint8_t(*gk)[IDN_IDENT_MAX] =
				realloc(it->gkey, cap * sizeof(*gk));
			if (gk == NULL)
				return -ENOMEM;
			it->gkey = gk;
			it->gcap = cap;
		}
		litem_t *e = &it->grp[it->ngrp];
		int err = idn__record_parse(d.mv_data, d.mv_size, &e->rec);
		if (err)
			return err;
		size_t len = hashed_key(&k, &e->rec, it->gkey[it->ngrp]);
		if (len == 0)
			return IDN_ECORRUPT; /* filed under another's key */
		e->key = idn_bytes(NULL, len);
		it->ngrp++;
		err = cursor_next(it, &k, &d);
		if (err == IDN_ENOTFOUND)
			break;
		if (err)
			return err;
		if (!is_hashed(&k) || memcmp(k.mv_data, head, KEY_DIRECT)) {
			it->pending = true; /* the next walk step's */
			it->pk = k;
			it->pd = d;
			break;
		}
	}
	/* the keys' home is final now that the arrays stopped moving */
	for (size_t i = 0; i < it->ngrp; i++)
		it->grp[i].key.p = it->gkey[i];
	qsort(it->grp, it->ngrp, sizeof(*it->grp), litem_cmp);
	return 0;
}

static int liter_next(idn_iter_t *base, idn_iter_item_t *out)
{
	liter_t *it = (liter_t *)base;
	if (!lrtxn(base->txn)->live)
		return IDN_EINVAL;
	for (;;) {
		if (it->gpos < it->ngrp) {
			out->key = it->grp[it->gpos].key;
			out->rec = it->grp[it->gpos].rec;
			it->gpos++;
		} else {
			MDB_val k, d;
			int err = cursor_next(it, &k, &d);
			if (err)
				return err;
			if (is_hashed(&k)) {
				err = read_group(it, k, d);
				if (err)
					return err;
				continue;
			}
			if (k.mv_size > KEY_DIRECT)
				return IDN_ECORRUPT; /* no key of ours */
			err = idn__record_parse(d.mv_data, d.mv_size,
						&out->rec);
			if (err)
				return err;
			out->key = idn_bytes(k.mv_data, k.mv_size);
			/* the same check as a read's (get_record_as) */
			if (!idn_ascii_caseeq(out->rec.id.p, out->rec.id.len,
					      out->key.p, out->key.len))
				return IDN_ECORRUPT;
		}
		/* under a prefix, or from a key, longer than KEY_DIRECT bytes
		 * the scan is wider than the walk */
		if (out->key.len >= it->ulen &&
		    memcmp(out->key.p, it->under, it->ulen) == 0 &&
		    bytes_cmp(out->key, it->from, it->flen) >= 0)
			return 0;
	}
}

static void liter_free(idn_iter_t *base)
{
	liter_t *it = (liter_t *)base;
	mdb_cursor_close(it->cur);
	free(it->grp);
	free(it->gkey);
	free(it);
}

int idn__lmdb_iter_records(idn_rtxn_t *base, idn_bytes_t under,
			   idn_bytes_t from, idn_iter_t **out)
{
	lrtxn_t *t = lrtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	liter_t *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -ENOMEM;
	int rc =
		mdb_cursor_open(t->txn, lstore(base->store)->records, &it->cur);
	if (rc) {
		free(it);
		return idn__lmdb_error(rc);
	}
	it->base.txn = base;
	it->base.next = liter_next;
	it->base.free = liter_free;
	if (under.len)
		memcpy(it->under, under.p, under.len);
	it->ulen = under.len;
	it->scan = under.len <= KEY_DIRECT ? under.len : KEY_DIRECT;
	if (from.len)
		memcpy(it->from, from.p, from.len);
	it->flen = from.len;
	/* Begin at the greater of from and the scan's bytes, cut to
	 * KEY_DIRECT: a hashed key sorts among the keys it begins with, so
	 * the keys of a longer from are told apart by liter_next. */
	size_t fscan = from.len <= KEY_DIRECT ? from.len : KEY_DIRECT;
	MDB_val u = {.mv_size = it->scan, .mv_data = it->under};
	MDB_val f = {.mv_size = fscan, .mv_data = it->from};
	const MDB_val *start = key_cmp(&f, &u) > 0 ? &f : &u;
	memcpy(it->startb, start->mv_data, start->mv_size);
	it->start.mv_size = start->mv_size;
	it->start.mv_data = it->startb;
	*out = &it->base;
	return 0;
}
