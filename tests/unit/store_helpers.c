/* Helpers of the store suites (store_helpers.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_helpers.h"

void mkid_flags(idn_ident_t *id, const char *s, unsigned flags)
{
	int err = idn_ident_parse((const uint8_t *)s, strlen(s), flags, id);
	if (err)
		fail_msg("parse %.60s: %s", s, idn_strerror(err));
}

void mkid(idn_ident_t *id, const char *s)
{
	mkid_flags(id, s, 0);
}

idn_value_t val(uint32_t index, const char *type, const char *data)
{
	idn_value_t v = {.index = index,
			 .timestamp = 1700000000u + index,
			 .ttl_type = IDN_TTL_RELATIVE,
			 .ttl = IDN_TTL_DEFAULT,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str(type),
			 .data = idn_bytes_str(data)};
	return v;
}

idn_wtxn_t *wbegin(fx_t *f)
{
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	return t;
}

void commit(idn_wtxn_t *t)
{
	int err = idn_wtxn_commit(t);
	if (err)
		fail_msg("commit: %s", idn_strerror(err));
}

void create1(fx_t *f, const char *ident, const idn_value_t *v, uint32_t n)
{
	idn_ident_t id;
	mkid(&id, ident);
	idn_wtxn_t *t = wbegin(f);
	int err = idn_wtxn_create(t, &id, v, n, false);
	if (err)
		fail_msg("create %.60s: %s", ident, idn_strerror(err));
	commit(t);
}

void got_free(got_t *g)
{
	idn_rtxn_free(g->t);
	idn_arena_free(&g->a);
	memset(g, 0, sizeof(*g));
}

/* Decodes a record's values section into g->v. */
void decode(got_t *g)
{
	idn_rd_t r;
	idn_rd_init(&r, g->rec.values.p, g->rec.values.len);
	g->n = g->rec.nvalues;
	g->v = idn_arena_array(&g->a, g->n ? g->n : 1, sizeof(*g->v));
	assert_non_null(g->v);
	for (uint32_t i = 0; i < g->n; i++)
		idn_value_decode(&r, &g->a, &g->v[i]);
	assert_int_equal(r.err, 0);
	assert_int_equal(idn_rd_left(&r), 0);
}

/* Looks ident up in a fresh read transaction; returns the store's code. On
 * success g holds the record until got_free. */
int fetch(fx_t *f, const char *ident, got_t *g)
{
	idn_ident_t id;
	mkid(&id, ident);
	memset(g, 0, sizeof(*g));
	idn_arena_init(&g->a, 0);
	assert_int_equal(idn_rtxn_begin(f->s, &g->t), 0);
	int err = idn_store_get(g->t, id.key, id.key_len, &g->rec);
	if (err == 0)
		decode(g);
	return err;
}

void assert_bytes(idn_bytes_t got, const void *want, size_t len)
{
	assert_int_equal(got.len, len);
	if (len)
		assert_memory_equal(got.p, want, len);
}

void assert_bytes_str(idn_bytes_t got, const char *want)
{
	assert_bytes(got, want, strlen(want));
}

void assert_value_eq(const idn_value_t *got, const idn_value_t *want)
{
	assert_int_equal(got->index, want->index);
	assert_int_equal(got->timestamp, want->timestamp);
	assert_int_equal(got->ttl_type, want->ttl_type);
	assert_int_equal(got->ttl, want->ttl);
	assert_int_equal(got->perms, want->perms);
	assert_bytes(got->type, want->type.p, want->type.len);
	assert_bytes(got->data, want->data.p, want->data.len);
	assert_int_equal(got->nrefs, want->nrefs);
	for (uint32_t i = 0; i < want->nrefs; i++) {
		assert_bytes(got->refs[i].id, want->refs[i].id.p,
			     want->refs[i].id.len);
		assert_int_equal(got->refs[i].index, want->refs[i].index);
	}
}

/* Asserts that ident holds exactly the indexes idx[0..n), in that order. */
void assert_indexes(fx_t *f, const char *ident, const uint32_t *idx, uint32_t n)
{
	got_t g;
	assert_int_equal(fetch(f, ident, &g), 0);
	assert_int_equal(g.n, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(g.v[i].index, idx[i]);
	got_free(&g);
}

int store_suite(const char *name, const struct CMUnitTest *common, size_t nc,
		const struct CMUnitTest *lmdb_only, size_t nl)
{
	struct CMUnitTest *tests = calloc(nc + nl, sizeof(*tests));
	size_t n = 0;
	assert_non_null(tests);
	pg_uri = getenv("IDN_TEST_PG");
	if (pg_uri && !*pg_uri)
		pg_uri = NULL;
	for (size_t i = 0; i < nc; i++)
		tests[n++] = common[i];
	for (size_t i = 0; pg_uri == NULL && i < nl; i++)
		tests[n++] = lmdb_only[i];
	char full[128];
	snprintf(full, sizeof(full), "%s_%s", name,
		 pg_uri ? "postgresql" : "lmdb");
	if (pg_uri)
		printf("%s on PostgreSQL %s\n", name, pg_uri);
	if (getenv("IDN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("IDN_TEST_FILTER"));
	int failed = _cmocka_run_group_tests(full, tests, n, NULL, NULL);
	free(tests);
	return failed;
}

int collect(void *ctx, idn_bytes_t id)
{
	seen_t *s = ctx;
	if (s->n >= 64)
		return -1;
	memcpy(s->ids[s->n], id.p, id.len);
	s->ids[s->n][id.len] = 0;
	s->n++;
	if (s->stop_after && s->n % s->stop_after == 0)
		return 42;
	return 0;
}

int list(fx_t *f, const char *prefix, const char *after, seen_t *s)
{
	idn_rtxn_t *r;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	idn_bytes_t a = {NULL, 0};
	idn_ident_t aid;
	if (after) {
		mkid(&aid, after);
		a = idn_bytes(aid.key, aid.key_len);
	}
	int err = idn_store_list(r, (const uint8_t *)prefix, strlen(prefix), a,
				 collect, s);
	idn_rtxn_free(r);
	return err;
}
