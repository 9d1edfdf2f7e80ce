#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "arena.h"
#include "error.h"
#include "record.h"

static idn_value_t val(uint32_t index, const char *data)
{
	idn_value_t v = {.index = index,
			 .timestamp = 1000 + index,
			 .ttl_type = IDN_TTL_RELATIVE,
			 .ttl = 60,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str("URL"),
			 .data = idn_bytes_str(data)};
	return v;
}

/* Encodes id and s into a malloc'd blob. */
static uint8_t *encode(const char *id, const idn__rset_t *s, size_t *len)
{
	idn_bytes_t b = idn_bytes_str(id);
	*len = idn__record_size(b, s);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	idn_wr_t w;
	idn_wr_init(&w, buf, *len);
	assert_int_equal(idn__record_encode(&w, b, s), 0);
	assert_int_equal(w.len, *len);
	return buf;
}

static void assert_set(const idn__rset_t *s, const uint32_t *idx, uint32_t n)
{
	assert_int_equal(s->n, n);
	size_t size = 0;
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(s->vals[i].index, idx[i]);
		size += s->vals[i].size;
	}
	assert_int_equal(s->size, size);
}

static void test_blob_roundtrip(void **state)
{
	(void)state;
	idn_ref_t ref = {idn_bytes_str("88.1/ADMIN"), 300};
	idn_value_t v[3] = {val(300, "c"), val(2, "b"), val(1, "a")};
	v[0].nrefs = 1;
	v[0].refs = &ref;
	idn__rset_t s;
	idn__rset_init(&s);
	assert_int_equal(idn__rset_set(&s, v, 3), 0);
	uint32_t want[] = {1, 2, 300};
	assert_set(&s, want, 3);

	size_t len;
	uint8_t *blob = encode("88.1/Id", &s, &len);
	idn_record_t rec;
	assert_int_equal(idn__record_parse(blob, len, &rec), 0);
	assert_int_equal(rec.id.len, 7);
	assert_memory_equal(rec.id.p, "88.1/Id", 7);
	assert_int_equal(rec.nvalues, 3);
	assert_ptr_equal(rec.values.p, blob + IDN__REC_HDR + 7);
	assert_int_equal(rec.values.len, s.size);

	uint32_t idx[3];
	assert_int_equal(idn__values_walk(rec.values, 3, idx), 0);
	assert_memory_equal(idx, want, sizeof(want));
	assert_int_equal(idn__values_walk(rec.values, 2, idx), IDN_ECORRUPT);

	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_rd_t r;
	idn_rd_init(&r, rec.values.p, rec.values.len);
	idn_value_t got;
	idn_value_decode(&r, &a, &got);
	assert_int_equal(got.index, 1);
	idn_value_decode(&r, &a, &got);
	idn_value_decode(&r, &a, &got);
	assert_int_equal(r.err, 0);
	assert_int_equal(got.index, 300);
	assert_int_equal(got.nrefs, 1);
	assert_int_equal(got.refs[0].index, 300);
	idn_arena_free(&a);

	/* every truncation and any trailing byte is corruption */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(idn__record_parse(blob, n, &rec),
				 IDN_ECORRUPT);
	uint8_t *longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, blob, len);
	longer[len] = 0;
	assert_int_equal(idn__record_parse(longer, len + 1, &rec),
			 IDN_ECORRUPT);
	free(longer);
	/* any bit flipped anywhere: the check refuses it, also in the
	 * header-only parse */
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			blob[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(idn__record_parse(blob, len, &rec),
					 IDN_ECORRUPT);
			assert_int_equal(
				idn__record_parse_header(blob, len, &rec),
				IDN_ECORRUPT);
			blob[i] ^= (uint8_t)(1u << bit);
		}
	assert_int_equal(idn__record_parse(blob, len, &rec), 0);
	/* an unknown format word too, even behind a matching check */
	blob[3] = 3;
	idn_put_u64(blob + len - 8, XXH3_64bits(blob, len - 8));
	assert_int_equal(idn__record_parse(blob, len, &rec), IDN_ECORRUPT);
	/* a format-1 blob (no check) is upgraded to the same record */
	uint8_t *v1 = malloc(len);
	assert_non_null(v1);
	blob[3] = 1;
	memcpy(v1, blob, len - 8);
	assert_int_equal(idn__record_upgrade(v1, len - 8, blob), 0);
	assert_int_equal(idn__record_parse(blob, len, &rec), 0);
	assert_int_equal(rec.nvalues, 3);
	v1[3] = 2; /* not format 1 */
	assert_int_equal(idn__record_upgrade(v1, len - 8, blob), IDN_ECORRUPT);
	free(v1);
	free(blob);
	idn__rset_free(&s);
}

static void test_edits_keep_set_on_error(void **state)
{
	(void)state;
	idn_value_t v[3] = {val(1, "a"), val(5, "e"), val(9, "i")};
	idn__rset_t s;
	idn__rset_init(&s);
	assert_int_equal(idn__rset_set(&s, v, 3), 0);
	size_t len;
	uint8_t *blob = encode("88.1/X", &s, &len);
	idn_record_t rec;
	assert_int_equal(idn__record_parse(blob, len, &rec), 0);
	assert_int_equal(idn__rset_load(&s, &rec), 0);
	uint32_t base[] = {1, 5, 9};
	assert_set(&s, base, 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_null(s.vals[i].v);
		assert_true(s.vals[i].enc >= rec.values.p &&
			    s.vals[i].enc < rec.values.p + rec.values.len);
	}

	idn_value_t n1[2] = {val(3, "c"), val(5, "E")};
	idn_value_t d[2] = {val(4, "d"), val(4, "D")};
	idn_value_t m[2] = {val(9, "I"), val(7, "g")};
	uint32_t r1[] = {5, 6};
	uint32_t rd[] = {5, 5};
	assert_int_equal(idn__rset_add(&s, n1, 2, false), IDN_EVALEXISTS);
	assert_set(&s, base, 3);
	assert_int_equal(idn__rset_add(&s, d, 2, true), IDN_EVALUE);
	assert_set(&s, base, 3);
	assert_int_equal(idn__rset_modify(&s, m, 2), IDN_EVALNOTFOUND);
	assert_set(&s, base, 3);
	assert_int_equal(idn__rset_modify(&s, m + 1, 1), IDN_EVALNOTFOUND);
	assert_set(&s, base, 3);
	assert_int_equal(idn__rset_remove(&s, r1, 2), IDN_EVALNOTFOUND);
	assert_set(&s, base, 3);
	assert_int_equal(idn__rset_remove(&s, rd, 2), IDN_EVALUE);
	assert_set(&s, base, 3);
	uint32_t r0 = 0;
	assert_int_equal(idn__rset_remove(&s, &r0, 1), IDN_EVALNOTFOUND);
	assert_set(&s, base, 3);

	/* successful edits mix stored and new values */
	assert_int_equal(idn__rset_add(&s, n1, 2, true), 0);
	uint32_t after_add[] = {1, 3, 5, 9};
	assert_set(&s, after_add, 4);
	assert_null(s.vals[0].v);
	assert_ptr_equal(s.vals[1].v, &n1[0]);
	assert_ptr_equal(s.vals[2].v, &n1[1]);
	assert_int_equal(idn__rset_modify(&s, m, 1), 0);
	assert_ptr_equal(s.vals[3].v, &m[0]);
	uint32_t rm[] = {3, 1};
	assert_int_equal(idn__rset_remove(&s, rm, 2), 0);
	uint32_t final[] = {5, 9};
	assert_set(&s, final, 2);

	size_t len2;
	uint8_t *blob2 = encode("88.1/X", &s, &len2);
	idn_record_t rec2;
	assert_int_equal(idn__record_parse(blob2, len2, &rec2), 0);
	assert_int_equal(rec2.nvalues, 2);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_rd_t r;
	idn_rd_init(&r, rec2.values.p, rec2.values.len);
	idn_value_t got;
	idn_value_decode(&r, &a, &got);
	assert_int_equal(got.index, 5);
	assert_int_equal(got.data.len, 1);
	assert_int_equal(got.data.p[0], 'E');
	idn_value_decode(&r, &a, &got);
	assert_int_equal(got.index, 9);
	assert_int_equal(got.data.p[0], 'I');
	assert_int_equal(r.err, 0);
	idn_arena_free(&a);

	/* a writer too small for the blob */
	uint8_t small[16];
	idn_wr_t w;
	idn_wr_init(&w, small, sizeof(small));
	assert_int_equal(idn__record_encode(&w, idn_bytes_str("88.1/X"), &s),
			 IDN_ETOOLONG);

	free(blob);
	free(blob2);
	idn__rset_free(&s);
}

static void test_limits(void **state)
{
	(void)state;
	idn__rset_t s;
	idn__rset_init(&s);
	idn_value_t *v = calloc(IDN_VALUES_MAX + 1, sizeof(*v));
	assert_non_null(v);
	for (uint32_t i = 0; i <= IDN_VALUES_MAX; i++)
		v[i] = val(i, "x");
	assert_int_equal(idn__rset_set(&s, v, IDN_VALUES_MAX + 1),
			 IDN_ETOOMANY);
	assert_int_equal(s.n, 0);
	assert_int_equal(idn__rset_set(&s, v, IDN_VALUES_MAX), 0);
	assert_int_equal(idn__rset_add(&s, v + IDN_VALUES_MAX, 1, false),
			 IDN_ETOOMANY);
	/* replacing keeps the count */
	assert_int_equal(idn__rset_add(&s, v, 1, true), 0);
	assert_int_equal(s.n, IDN_VALUES_MAX);

	char *big = malloc(IDN_RECORD_MAX + 1);
	assert_non_null(big);
	memset(big, 'b', IDN_RECORD_MAX);
	big[IDN_RECORD_MAX] = 0;
	idn_value_t b = val(1, big);
	assert_int_equal(idn__rset_set(&s, &b, 1), IDN_ETOOLONG);
	assert_int_equal(s.n, IDN_VALUES_MAX);
	b.data.len =
		(uint32_t)(IDN_RECORD_MAX - (idn_value_size(&b) - b.data.len));
	assert_int_equal(idn_value_size(&b), IDN_RECORD_MAX);
	assert_int_equal(idn__rset_set(&s, &b, 1), 0);
	idn_value_t one = val(2, "");
	assert_int_equal(idn__rset_add(&s, &one, 1, false), IDN_ETOOLONG);
	assert_int_equal(s.n, 1);
	free(big);
	free(v);
	idn__rset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_roundtrip),
		cmocka_unit_test(test_edits_keep_set_on_error),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
