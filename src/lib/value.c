/* The value model and the typed layouts of HS_* values (value.h). */
#include "value.h"

#include <errno.h>

#include "ident.h"

/* Smallest encoding of one value: index, timestamp, ttl_type, ttl, perms,
 * type length, data length, reference count. */
#define VALUE_MIN_LEN (4 + 4 + 1 + 4 + 1 + 4 + 4 + 4)
/* Smallest reference: identifier length + index. */
#define REF_MIN_LEN (4 + 4)

void idn_value_decode(idn_rd_t *r, idn_arena_t *a, idn_value_t *v)
{
	memset(v, 0, sizeof(*v));
	v->index = idn_rd_u32(r);
	v->timestamp = idn_rd_u32(r);
	v->ttl_type = idn_rd_u8(r);
	v->ttl = idn_rd_u32(r);
	v->perms = idn_rd_u8(r);
	v->type = idn_rd_str(r, IDN_TYPE_MAX);
	v->data = idn_rd_str(r, IDN_MSG_MAX);
	uint32_t n = idn_rd_count(r, IDN_REFS_MAX, REF_MIN_LEN);
	if (r->err || n == 0)
		return;
	idn_ref_t *refs = idn_arena_array(a, n, sizeof(*refs));
	if (refs == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		refs[i].id = idn_rd_str(r, IDN_IDENT_MAX);
		refs[i].index = idn_rd_u32(r);
	}
	if (r->err)
		return;
	v->nrefs = n;
	v->refs = refs;
}

int idn_values_decode(idn_rd_t *r, idn_arena_t *a, idn_value_t **out,
		      uint32_t *n)
{
	*out = NULL;
	*n = 0;
	uint32_t count = idn_rd_count(r, IDN_VALUES_MAX, VALUE_MIN_LEN);
	if (r->err)
		return r->err;
	if (count == 0)
		return 0;
	idn_value_t *vals = idn_arena_array(a, count, sizeof(*vals));
	if (vals == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return r->err;
	}
	for (uint32_t i = 0; i < count && !r->err; i++)
		idn_value_decode(r, a, &vals[i]);
	if (r->err)
		return r->err;
	*out = vals;
	*n = count;
	return 0;
}

void idn_value_encode(idn_wr_t *w, const idn_value_t *v)
{
	idn_wr_u32(w, v->index);
	idn_wr_u32(w, v->timestamp);
	idn_wr_u8(w, v->ttl_type);
	idn_wr_u32(w, v->ttl);
	idn_wr_u8(w, v->perms);
	idn_wr_str(w, v->type);
	idn_wr_str(w, v->data);
	idn_wr_u32(w, v->nrefs);
	for (uint32_t i = 0; i < v->nrefs; i++) {
		idn_wr_str(w, v->refs[i].id);
		idn_wr_u32(w, v->refs[i].index);
	}
}

size_t idn_value_size(const idn_value_t *v)
{
	size_t n = VALUE_MIN_LEN + (size_t)v->type.len + v->data.len;
	for (uint32_t i = 0; i < v->nrefs; i++)
		n += REF_MIN_LEN + (size_t)v->refs[i].id.len;
	return n;
}
