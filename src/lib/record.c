/* Stored records shared by the storage backends (record.h). */
#include "record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "error.h"
#include "ident.h"

/* Skips one encoded value and returns its index; sets r->err on a length
 * that runs past the end. Only the structure is checked: the limits that
 * decoders apply to requests are the business of whoever decodes. */
static uint32_t skip_value(idn_rd_t *r)
{
	uint32_t index = idn_rd_u32(r);
	idn_rd_raw(r, 4 + 1 + 4 + 1); /* timestamp, ttl type, ttl, perms */
	idn_rd_str(r, UINT32_MAX);    /* type */
	idn_rd_str(r, UINT32_MAX);    /* data */
	uint32_t nrefs = idn_rd_count(r, UINT32_MAX, 4 + 4);
	for (uint32_t i = 0; i < nrefs && !r->err; i++) {
		idn_rd_str(r, UINT32_MAX);
		idn_rd_u32(r);
	}
	return index;
}

int idn__values_walk(idn_bytes_t values, uint32_t n, uint32_t *idx)
{
	idn_rd_t r;
	idn_rd_init(&r, values.p, values.len);
	uint32_t prev = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t index = skip_value(&r);
		if (r.err || (i > 0 && index <= prev))
			return IDN_ECORRUPT;
		if (idx)
			idx[i] = index;
		prev = index;
	}
	return idn_rd_left(&r) == 0 ? 0 : IDN_ECORRUPT;
}

int idn__record_parse(const uint8_t *blob, size_t len, idn_record_t *out)
{
	int err = idn__record_parse_header(blob, len, out);
	if (err == 0)
		err = idn__values_walk(out->values, out->nvalues, NULL);
	return err;
}

/* The header of a blob whose values run to the end of body. */
static int parse_body(const uint8_t *body, size_t len, uint32_t format,
		      idn_record_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body, len);
	uint32_t f = idn_rd_u32(&r);
	idn_bytes_t id = idn_rd_str(&r, IDN_IDENT_MAX);
	uint32_t n = idn_rd_u32(&r);
	if (r.err || f != format || id.len == 0 || n > IDN_VALUES_MAX)
		return IDN_ECORRUPT;
	out->id = id;
	out->nvalues = n;
	out->values = idn_bytes(r.p, idn_rd_left(&r));
	return 0;
}

bool idn__record_check_ok(const uint8_t *blob, size_t len)
{
	if (len < IDN__REC_HDR + IDN__REC_CHECK)
		return false;
	size_t body = len - IDN__REC_CHECK;
	return XXH3_64bits(blob, body) == idn_get_u64(blob + body);
}

uint32_t idn__record_format(const uint8_t *blob, size_t len)
{
	return len >= 4 ? idn_get_u32(blob) : 0;
}

int idn__record_parse_header(const uint8_t *blob, size_t len, idn_record_t *out)
{
	if (!idn__record_check_ok(blob, len))
		return IDN_ECORRUPT;
	return parse_body(blob, len - IDN__REC_CHECK, IDN__REC_FORMAT, out);
}

int idn__record_upgrade(const uint8_t *blob, size_t len, uint8_t *out)
{
	idn_record_t rec;
	int err = parse_body(blob, len, IDN__REC_FORMAT_V1, &rec);
	if (err == 0)
		err = idn__values_walk(rec.values, rec.nvalues, NULL);
	if (err)
		return err;
	memcpy(out, blob, len);
	idn_put_u32(out, IDN__REC_FORMAT);
	idn_put_u64(out + len, XXH3_64bits(out, len));
	return 0;
}

void idn__rset_init(idn__rset_t *s)
{
	memset(s, 0, sizeof(*s));
}

void idn__rset_free(idn__rset_t *s)
{
	free(s->block);
	idn__rset_init(s);
}

/* Makes room for need entries in each array, keeping vals[0..n). */
static int reserve(idn__rset_t *s, uint32_t need)
{
	if (need <= s->cap)
		return 0;
	uint32_t cap = s->cap ? s->cap : 16;
	while (cap < need)
		cap *= 2; /* need <= 2 * IDN_VALUES_MAX: no overflow */
	idn__rval_t *block = calloc(3 * (size_t)cap, sizeof(*block));
	if (block == NULL)
		return -ENOMEM;
	if (s->n)
		memcpy(block, s->vals, s->n * sizeof(*block));
	free(s->block);
	s->block = block;
	s->vals = block;
	s->tmp = block + cap;
	s->out = block + 2 * (size_t)cap;
	s->cap = cap;
	return 0;
}

/* Makes out the current set. */
static void take_out(idn__rset_t *s, uint32_t n, size_t size)
{
	idn__rval_t *t = s->vals;
	s->vals = s->out;
	s->out = t;
	s->n = n;
	s->size = size;
}

int idn__rset_load(idn__rset_t *s, const idn_record_t *rec)
{
	if (rec->nvalues > IDN_VALUES_MAX)
		return IDN_ECORRUPT;
	s->n = 0;
	s->size = 0;
	int err = reserve(s, rec->nvalues);
	if (err)
		return err;
	idn_rd_t r;
	idn_rd_init(&r, rec->values.p, rec->values.len);
	for (uint32_t i = 0; i < rec->nvalues; i++) {
		const uint8_t *start = r.p;
		uint32_t index = skip_value(&r);
		if (r.err || (i > 0 && index <= s->vals[i - 1].index))
			return IDN_ECORRUPT;
		s->vals[i] = (idn__rval_t){.index = index,
					   .size = (uint32_t)(r.p - start),
					   .enc = start};
	}
	if (idn_rd_left(&r) != 0)
		return IDN_ECORRUPT;
	s->n = rec->nvalues;
	s->size = rec->values.len;
	return 0;
}

static int cmp_rval(const void *a, const void *b)
{
	uint32_t x = ((const idn__rval_t *)a)->index;
	uint32_t y = ((const idn__rval_t *)b)->index;
	return (x > y) - (x < y);
}

/* Fills s->tmp with v[0..n) sorted by index. Returns 0, IDN_ETOOMANY,
 * IDN_EVALUE (duplicate index), IDN_ETOOLONG or -ENOMEM. */
static int sort_new(idn__rset_t *s, const idn_value_t *v, uint32_t n)
{
	if (n > IDN_VALUES_MAX)
		return IDN_ETOOMANY;
	int err = reserve(s, s->n + n);
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		size_t size = idn_value_size(&v[i]);
		if (size > IDN_RECORD_MAX)
			return IDN_ETOOLONG;
		s->tmp[i] = (idn__rval_t){.index = v[i].index,
					  .size = (uint32_t)size,
					  .v = &v[i]};
	}
	if (n > 1)
		qsort(s->tmp, n, sizeof(*s->tmp), cmp_rval);
	for (uint32_t i = 1; i < n; i++)
		if (s->tmp[i].index == s->tmp[i - 1].index)
			return IDN_EVALUE;
	return 0;
}

/* Checks the limits of a resulting set of n values and size bytes. */
static int check_result(uint32_t n, size_t size)
{
	if (n > IDN_VALUES_MAX)
		return IDN_ETOOMANY;
	if (size > IDN_RECORD_MAX)
		return IDN_ETOOLONG;
	return 0;
}

int idn__rset_set(idn__rset_t *s, const idn_value_t *v, uint32_t n)
{
	int err = sort_new(s, v, n);
	if (err)
		return err;
	size_t size = 0;
	for (uint32_t i = 0; i < n; i++) {
		s->out[i] = s->tmp[i];
		size += s->tmp[i].size;
	}
	err = check_result(n, size);
	if (err)
		return err;
	take_out(s, n, size);
	return 0;
}

int idn__rset_add(idn__rset_t *s, const idn_value_t *v, uint32_t n,
		  bool overwrite)
{
	int err = sort_new(s, v, n);
	if (err)
		return err;
	uint32_t i = 0, j = 0, k = 0;
	size_t size = 0;
	while (i < s->n || j < n) {
		const idn__rval_t *e;
		if (j == n ||
		    (i < s->n && s->vals[i].index < s->tmp[j].index)) {
			e = &s->vals[i++];
		} else if (i == s->n || s->tmp[j].index < s->vals[i].index) {
			e = &s->tmp[j++];
		} else {
			if (!overwrite)
				return IDN_EVALEXISTS;
			i++;
			e = &s->tmp[j++];
		}
		s->out[k++] = *e;
		size += e->size;
	}
	err = check_result(k, size);
	if (err)
		return err;
	take_out(s, k, size);
	return 0;
}

int idn__rset_modify(idn__rset_t *s, const idn_value_t *v, uint32_t n)
{
	int err = sort_new(s, v, n);
	if (err)
		return err;
	uint32_t j = 0;
	size_t size = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (j < n && s->tmp[j].index < s->vals[i].index)
			return IDN_EVALNOTFOUND;
		if (j < n && s->tmp[j].index == s->vals[i].index)
			s->out[i] = s->tmp[j++];
		else
			s->out[i] = s->vals[i];
		size += s->out[i].size;
	}
	if (j < n)
		return IDN_EVALNOTFOUND;
	err = check_result(s->n, size);
	if (err)
		return err;
	take_out(s, s->n, size);
	return 0;
}

int idn__rset_remove(idn__rset_t *s, const uint32_t *idx, uint32_t n)
{
	if (n > IDN_VALUES_MAX)
		return IDN_ETOOMANY;
	int err = reserve(s, s->n + n);
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++)
		s->tmp[i] = (idn__rval_t){.index = idx[i]};
	if (n > 1)
		qsort(s->tmp, n, sizeof(*s->tmp), cmp_rval);
	for (uint32_t i = 1; i < n; i++)
		if (s->tmp[i].index == s->tmp[i - 1].index)
			return IDN_EVALUE;
	uint32_t j = 0, k = 0;
	size_t size = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (j < n && s->tmp[j].index < s->vals[i].index)
			return IDN_EVALNOTFOUND;
		if (j < n && s->tmp[j].index == s->vals[i].index) {
			j++;
			continue;
		}
		s->out[k++] = s->vals[i];
		size += s->vals[i].size;
	}
	if (j < n)
		return IDN_EVALNOTFOUND;
	take_out(s, k, size);
	return 0;
}

size_t idn__record_size(idn_bytes_t id, const idn__rset_t *s)
{
	return IDN__REC_HDR + (size_t)id.len + s->size + IDN__REC_CHECK;
}

int idn__record_encode(idn_wr_t *w, idn_bytes_t id, const idn__rset_t *s)
{
	size_t start = w->len;
	idn_wr_u32(w, IDN__REC_FORMAT);
	idn_wr_str(w, id);
	idn_wr_u32(w, s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		const idn__rval_t *e = &s->vals[i];
		size_t before = w->len;
		if (e->v)
			idn_value_encode(w, e->v);
		else
			idn_wr_raw(w, e->enc, e->size);
		if (!w->err && w->len - before != e->size)
			w->err = IDN_ETOOLONG;
	}
	if (!w->err)
		idn_wr_u64(w, XXH3_64bits(w->buf + start, w->len - start));
	if (!w->err && w->len - start != idn__record_size(id, s))
		w->err = IDN_ETOOLONG;
	return w->err ? IDN_ETOOLONG : 0;
}
