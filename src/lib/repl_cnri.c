/* HANDLE.NET's replication streams (repl_cnri.h). */
#include "repl_cnri.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "auth.h"
#include "error.h"
#include "ident.h"
#include "value.h"

#define STREAM_HASH "SHA1"

void idn_cnri_stream_begin(idn_wr_t *w)
{
	idn_wr_u32(w, 0);
	idn_wr_str(w, idn_bytes_str(STREAM_HASH));
}

int idn_cnri_stream_sign(idn_wr_t *w, size_t block_start, EVP_PKEY *key)
{
	if (w->err)
		return w->err;
	uint8_t sig[1100];
	size_t len = 0;
	if (key != NULL) {
		idn_bytes_t part =
			idn_bytes(w->buf + block_start, w->len - block_start);
		int err = idn_sig_sign(key, STREAM_HASH, &part, 1, sig,
				       sizeof(sig), &len);
		if (err)
			return err;
	}
	idn_wr_str(w, idn_bytes(sig, len));
	return w->err;
}

int idn_cnri_values_write(idn_wr_t *w, uint32_t n, idn_bytes_t values)
{
	idn_arena_t a;
	idn_arena_init(&a, 4096);
	idn_rd_t r;
	idn_rd_init(&r, values.p, values.len);
	idn_wr_u32(w, n);
	int err = 0;
	for (uint32_t i = 0; i < n && !err; i++) {
		const uint8_t *start = r.p;
		idn_value_t v;
		idn_value_decode(&r, &a, &v);
		if (r.err) {
			err = IDN_EMALFORMED;
			break;
		}
		idn_wr_str(w, idn_bytes(start, (size_t)(r.p - start)));
		idn_arena_reset(&a);
	}
	idn_arena_free(&a);
	if (!err && idn_rd_left(&r))
		err = IDN_EMALFORMED;
	return err ? err : w->err;
}

void idn_cnri_rd_init(idn_cnri_rd_t *r, int (*read)(void *, uint8_t *, size_t),
		      void *ctx, EVP_PKEY *key)
{
	memset(r, 0, sizeof(*r));
	r->read = read;
	r->ctx = ctx;
	r->key = key;
}

void idn_cnri_rd_free(idn_cnri_rd_t *r)
{
	free(r->blk);
	r->blk = NULL;
	r->len = r->cap = 0;
}

/* Appends n bytes read from the source to the block; *at gets their
 * offset. */
static int take(idn_cnri_rd_t *r, size_t n, size_t *at)
{
	if (n > IDN_MSG_MAX * 4)
		return IDN_EMALFORMED;
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		uint8_t *nb = realloc(r->blk, cap);
		if (nb == NULL)
			return -ENOMEM;
		r->blk = nb;
		r->cap = cap;
	}
	int err = n ? r->read(r->ctx, r->blk + r->len, n) : 0;
	if (err)
		return err;
	*at = r->len;
	r->len += n;
	return 0;
}

static int take_u8(idn_cnri_rd_t *r, uint8_t *v)
{
	size_t at;
	int err = take(r, 1, &at);
	if (!err)
		*v = r->blk[at];
	return err;
}

static int take_u32(idn_cnri_rd_t *r, uint32_t *v)
{
	size_t at;
	int err = take(r, 4, &at);
	if (!err)
		*v = idn_get_u32(r->blk + at);
	return err;
}

static int take_u64(idn_cnri_rd_t *r, uint64_t *v)
{
	size_t at;
	int err = take(r, 8, &at);
	if (!err)
		*v = idn_get_u64(r->blk + at);
	return err;
}

/* A str: its bytes' offset and length. */
static int take_str(idn_cnri_rd_t *r, uint32_t max, size_t *at, uint32_t *n)
{
	int err = take_u32(r, n);
	if (!err && *n > max)
		err = IDN_EMALFORMED;
	return err ? err : take(r, *n, at);
}

/* Values: u32 n, n × (u32 length, value), rewritten in place as u32 n
 * and the values back to back (the lengths dropped after the block is
 * checked). *at: where the count is. */
static int take_values(idn_cnri_rd_t *r, size_t *at, uint32_t *n)
{
	int err = take_u32(r, n);
	if (err)
		return err;
	*at = r->len - 4;
	if (*n > IDN_VALUES_MAX)
		return IDN_EMALFORMED;
	for (uint32_t i = 0; i < *n && !err; i++) {
		size_t vat;
		uint32_t vl;
		err = take_str(r, IDN_MSG_MAX, &vat, &vl);
	}
	return err;
}

/* Drops the per-value lengths of the values at *at (in place, after the
 * signature was checked); returns their new length. */
static size_t pack_values(idn_cnri_rd_t *r, size_t at)
{
	uint32_t n = idn_get_u32(r->blk + at);
	size_t src = at + 4;
	size_t dst = src;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t vl = idn_get_u32(r->blk + src);
		memmove(r->blk + dst, r->blk + src + 4, vl);
		src += 4 + vl;
		dst += vl;
	}
	return dst - at;
}

/* Reads the signature after the block and checks it. */
static int end_block(idn_cnri_rd_t *r)
{
	size_t blen = r->len, at;
	uint32_t sl;
	int err = take_str(r, 4096, &at, &sl);
	if (err || r->key == NULL)
		return err;
	idn_bytes_t part = idn_bytes(r->blk, blen);
	return idn_sig_verify(r->key, idn_bytes_str(STREAM_HASH), &part, 1,
			      idn_bytes(r->blk + at, sl));
}

int idn_cnri_next(idn_cnri_rd_t *r, bool dump, bool first, idn_cnri_item_t *it)
{
	memset(it, 0, sizeof(*it));
	int err = 0;
	r->len = 0;
	if (!r->header_read) {
		uint32_t type, hl;
		size_t at;
		err = take_u32(r, &type);
		if (!err)
			err = take_str(r, 64, &at, &hl);
		if (!err && (type != 0 || hl != 4 ||
			     memcmp(r->blk + at, STREAM_HASH, 4) != 0))
			err = IDN_EMALFORMED;
		if (err)
			return err;
		r->header_read = true;
		r->len = 0;
	}
	size_t name_at = 0, vals_at = 0;
	uint32_t name_len = 0, nvals = 0;
	bool has_vals = false;
	if (first) {
		uint32_t v;
		err = take_u32(r, &v);
		if (!err && !dump)
			err = take_u32(r, &it->status);
		it->kind =
			dump ? IDN_CNRI_ITEM_DUMP_START : IDN_CNRI_ITEM_STATUS;
	} else {
		uint8_t t;
		err = take_u8(r, &t);
		if (err)
			return err;
		if (t == 0) {
			it->kind = IDN_CNRI_ITEM_END;
			err = take_u64(r, &it->date);
			if (!err && dump)
				err = take_u64(r, &it->txn_id);
		} else if (!dump && t == 1) {
			it->kind = IDN_CNRI_ITEM_TXN;
			err = take_u64(r, &it->txn_id);
			if (!err)
				err = take_str(r, IDN_IDENT_MAX, &name_at,
					       &name_len);
			if (!err)
				err = take_u8(r, &it->action);
			if (!err)
				err = take_u64(r, &it->date);
			if (!err && (it->action == IDN_CNRI_CREATE ||
				     it->action == IDN_CNRI_UPDATE)) {
				err = take_values(r, &vals_at, &nvals);
				has_vals = true;
			}
		} else if (dump && (t == 1 || t == 2)) {
			it->kind = t == 1 ? IDN_CNRI_ITEM_RECORD
					  : IDN_CNRI_ITEM_NA;
			err = take_str(r, IDN_IDENT_MAX, &name_at, &name_len);
			if (!err && t == 1) {
				err = take_values(r, &vals_at, &nvals);
				has_vals = true;
			}
		} else {
			return IDN_EMALFORMED;
		}
	}
	if (!err)
		err = end_block(r);
	if (err)
		return err;
	it->name = idn_bytes(r->blk + name_at, name_len);
	if (has_vals)
		it->values =
			idn_bytes(r->blk + vals_at, pack_values(r, vals_at));
	return 0;
}
