#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "store.h"
#include "store_fixture.h"
#include "value.h"

#define GIB ((uint64_t)1 << 30)

/* ---- helpers ---- */

static void mkid_flags(idn_ident_t *id, const char *s, unsigned flags)
{
	int err = idn_ident_parse((const uint8_t *)s, strlen(s), flags, id);
	if (err)
		fail_msg("parse %.60s: %s", s, idn_strerror(err));
}

static void mkid(idn_ident_t *id, const char *s)
{
	mkid_flags(id, s, 0);
}

static idn_value_t val(uint32_t index, const char *type, const char *data)
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

static idn_wtxn_t *wbegin(fx_t *f)
{
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	return t;
}

static void commit(idn_wtxn_t *t)
{
	int err = idn_wtxn_commit(t);
	if (err)
		fail_msg("commit: %s", idn_strerror(err));
}

static void create1(fx_t *f, const char *ident, const idn_value_t *v,
		    uint32_t n)
{
	idn_ident_t id;
	mkid(&id, ident);
	idn_wtxn_t *t = wbegin(f);
	int err = idn_wtxn_create(t, &id, v, n, false);
	if (err)
		fail_msg("create %.60s: %s", ident, idn_strerror(err));
	commit(t);
}

/* A record read in its own read transaction, values decoded. */
typedef struct {
	idn_rtxn_t *t;
	idn_arena_t a;
	idn_record_t rec;
	idn_value_t *v;
	uint32_t n;
} got_t;

static void got_free(got_t *g)
{
	idn_rtxn_free(g->t);
	idn_arena_free(&g->a);
	memset(g, 0, sizeof(*g));
}

/* Decodes a record's values section into g->v. */
static void decode(got_t *g)
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
static int fetch(fx_t *f, const char *ident, got_t *g)
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

static void assert_bytes(idn_bytes_t got, const void *want, size_t len)
{
	assert_int_equal(got.len, len);
	if (len)
		assert_memory_equal(got.p, want, len);
}

static void assert_bytes_str(idn_bytes_t got, const char *want)
{
	assert_bytes(got, want, strlen(want));
}

static void assert_value_eq(const idn_value_t *got, const idn_value_t *want)
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
static void assert_indexes(fx_t *f, const char *ident, const uint32_t *idx,
			   uint32_t n)
{
	got_t g;
	assert_int_equal(fetch(f, ident, &g), 0);
	assert_int_equal(g.n, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(g.v[i].index, idx[i]);
	got_free(&g);
}

/* ---- round trip ---- */

static void test_roundtrip_all_fields(void **state)
{
	fx_t *f = *state;
	idn_ref_t refs[2] = {{idn_bytes_str("88.118.8/ADMIN"), 300},
			     {idn_bytes_str("0.NA/88.118.8"), 200}};
	static const uint8_t bin[] = {0x00, 0x01, 0xff, 0x00, 0x7f};
	idn_value_t v[2] = {
		{.index = 100,
		 .timestamp = 1735689600,
		 .ttl_type = IDN_TTL_ABSOLUTE,
		 .ttl = 1767225600,
		 .perms = IDN_PERM_ADMIN_READ | IDN_PERM_ADMIN_WRITE |
			  IDN_PERM_PUBLIC_WRITE,
		 .type = idn_bytes_str("HS_ADMIN"),
		 .data = idn_bytes(bin, sizeof(bin)),
		 .nrefs = 2,
		 .refs = refs},
		{.index = 1,
		 .timestamp = 1,
		 .ttl_type = IDN_TTL_RELATIVE,
		 .ttl = 0,
		 .perms = IDN_PERM_PUBLIC_READ,
		 .type = idn_bytes_str("URL"),
		 .data = idn_bytes_str("https://example.com/p?q=1")},
	};
	create1(f, "88.118.8/JXDY2106023", v, 2);

	got_t g;
	assert_int_equal(fetch(f, "88.118.8/JXDY2106023", &g), 0);
	assert_bytes_str(g.rec.id, "88.118.8/JXDY2106023");
	assert_int_equal(g.n, 2);
	assert_value_eq(&g.v[0], &v[1]); /* ascending index */
	assert_value_eq(&g.v[1], &v[0]);
	/* the section is exactly the wire encoding, ready for a reply */
	uint8_t buf[512];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_value_encode(&w, &v[1]);
	idn_value_encode(&w, &v[0]);
	assert_int_equal(w.err, 0);
	assert_bytes(g.rec.values, buf, w.len);
	got_free(&g);
}

static void test_empty_record(void **state)
{
	fx_t *f = *state;
	create1(f, "88.118.8/EMPTY", NULL, 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/EMPTY", &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.rec.values.len, 0);
	got_free(&g);
}

static void test_case_insensitive(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	create1(f, "88.118.8/AbCd", &v, 1);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/abcd", &g), 0);
	assert_bytes_str(g.rec.id, "88.118.8/AbCd"); /* as created */
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/ABCD", &g), 0);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/abce", &g), IDN_ENOTFOUND);
	got_free(&g);

	/* with case-sensitive suffixes the key keeps the suffix's case */
	idn_ident_t a, b;
	mkid_flags(&a, "88.118.8/Mixed", IDN_IDENT_CASE_SUFFIX);
	mkid_flags(&b, "88.118.8/mixed", IDN_IDENT_CASE_SUFFIX);
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &a, &v, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &b, &v, 1, false), 0);
	commit(t);
	idn_rtxn_t *r;
	idn_record_t rec;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_get(r, a.key, a.key_len, &rec), 0);
	assert_bytes_str(rec.id, "88.118.8/Mixed");
	assert_int_equal(idn_store_get(r, b.key, b.key_len, &rec), 0);
	assert_bytes_str(rec.id, "88.118.8/mixed");
	idn_rtxn_free(r);
}

/* ---- write operations ---- */

static void test_create_exists_overwrite(void **state)
{
	fx_t *f = *state;
	idn_value_t v1[2] = {val(1, "URL", "one"), val(2, "EMAIL", "a@b")};
	create1(f, "88.118.8/X", v1, 2);

	idn_ident_t id;
	mkid(&id, "88.118.8/x");
	idn_value_t v2 = val(7, "URL", "seven");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, &v2, 1, false), IDN_EEXISTS);
	commit(t);
	uint32_t want1[] = {1, 2};
	assert_indexes(f, "88.118.8/X", want1, 2);

	t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, &v2, 1, true), 0);
	commit(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/X", &g), 0);
	assert_int_equal(g.n, 1);
	assert_value_eq(&g.v[0], &v2);
	assert_bytes_str(g.rec.id, "88.118.8/x"); /* replaced whole */
	got_free(&g);
}

/* Creates in key order (the bulk-load path) mixed with creates out of
 * order, existing keys and deletes of the greatest key, in one write
 * transaction and across transactions: a create never overwrites and
 * every record reads back under its own identifier. */
static void test_create_in_key_order(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "first");
	create1(f, "88.118.8/m-0050", &v, 1);
	idn_wtxn_t *t = wbegin(f);
	char name[64];
	idn_ident_t id;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "88.118.8/M-%04d", i);
		mkid(&id, name);
		idn_value_t w = val(2, "URL", name);
		int err = idn_wtxn_create(t, &id, &w, 1, false);
		if (i == 50)
			assert_int_equal(err, IDN_EEXISTS);
		else
			assert_int_equal(err, 0);
	}
	/* again, all of them exist now, the greatest one included */
	for (int i = 0; i < 100; i += 33) {
		snprintf(name, sizeof(name), "88.118.8/m-%04d", i);
		mkid(&id, name);
		idn_value_t w = val(3, "URL", "again");
		assert_int_equal(idn_wtxn_create(t, &id, &w, 1, false),
				 IDN_EEXISTS);
	}
	mkid(&id, "88.118.8/m-0099");
	idn_value_t w = val(3, "URL", "again");
	assert_int_equal(idn_wtxn_create(t, &id, &w, 1, false), IDN_EEXISTS);
	/* the greatest key goes and comes back, then an earlier one */
	assert_int_equal(idn_wtxn_delete(t, &id), 0);
	assert_int_equal(idn_wtxn_create(t, &id, &w, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &id, &w, 1, false), IDN_EEXISTS);
	mkid(&id, "88.118.8/a");
	assert_int_equal(idn_wtxn_create(t, &id, &w, 1, false), 0);
	commit(t);

	t = wbegin(f);
	mkid(&id, "88.118.8/M-0099");
	assert_int_equal(idn_wtxn_create(t, &id, &w, 1, false), IDN_EEXISTS);
	mkid(&id, "88.118.8/z");
	assert_int_equal(idn_wtxn_create(t, &id, &v, 1, false), 0);
	commit(t);

	got_t g;
	assert_int_equal(fetch(f, "88.118.8/M-0050", &g), 0);
	assert_int_equal(g.n, 1);
	assert_value_eq(&g.v[0], &v); /* the first create stays */
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/m-0007", &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].index, 2);
	assert_bytes_str(g.rec.id, "88.118.8/M-0007");
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/m-0099", &g), 0);
	assert_int_equal(g.v[0].index, 3);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/z", &g), 0);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/a", &g), 0);
	got_free(&g);
}

static void test_delete(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	create1(f, "88.118.8/D", &v, 1);
	create1(f, "88.118.8/KEEP", &v, 1);
	idn_ident_t id;
	mkid(&id, "88.118.8/d");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_delete(t, &id), 0);
	assert_int_equal(idn_wtxn_delete(t, &id), IDN_ENOTFOUND);
	commit(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/D", &g), IDN_ENOTFOUND);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/KEEP", &g), 0);
	got_free(&g);
	t = wbegin(f);
	assert_int_equal(idn_wtxn_delete(t, &id), IDN_ENOTFOUND);
	idn_wtxn_abort(t);
}

static void test_add(void **state)
{
	fx_t *f = *state;
	idn_value_t v[2] = {val(1, "URL", "one"), val(5, "URL", "five")};
	create1(f, "88.118.8/A", v, 2);
	idn_ident_t id, missing;
	mkid(&id, "88.118.8/A");
	mkid(&missing, "88.118.8/MISSING");

	idn_value_t taken[2] = {val(3, "URL", "three"), val(5, "URL", "new")};
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_add(t, &id, taken, 2, false), IDN_EVALEXISTS);
	assert_int_equal(idn_wtxn_add(t, &missing, taken, 2, false),
			 IDN_ENOTFOUND);
	commit(t);
	uint32_t unchanged[] = {1, 5};
	assert_indexes(f, "88.118.8/A", unchanged, 2);

	idn_value_t more[2] = {val(9, "URL", "nine"), val(3, "URL", "three")};
	t = wbegin(f);
	assert_int_equal(idn_wtxn_add(t, &id, more, 2, false), 0);
	commit(t);
	uint32_t added[] = {1, 3, 5, 9};
	assert_indexes(f, "88.118.8/A", added, 4);

	t = wbegin(f);
	assert_int_equal(idn_wtxn_add(t, &id, taken, 2, true), 0);
	commit(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/A", &g), 0);
	assert_int_equal(g.n, 4);
	assert_value_eq(&g.v[0], &v[0]);
	assert_value_eq(&g.v[1], &taken[0]);
	assert_value_eq(&g.v[2], &taken[1]); /* 5 replaced */
	assert_value_eq(&g.v[3], &more[0]);
	got_free(&g);
}

static void test_modify(void **state)
{
	fx_t *f = *state;
	idn_value_t v[3] = {val(1, "URL", "one"), val(2, "URL", "two"),
			    val(3, "URL", "three")};
	create1(f, "88.118.8/M", v, 3);
	idn_ident_t id, missing;
	mkid(&id, "88.118.8/M");
	mkid(&missing, "88.118.8/NOPE");

	got_t before;
	assert_int_equal(fetch(f, "88.118.8/M", &before), 0);

	/* 2 exists, 4 does not: nothing is changed */
	idn_value_t m[2] = {val(2, "URL", "TWO"), val(4, "URL", "four")};
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_modify(t, &id, m, 2), IDN_EVALNOTFOUND);
	assert_int_equal(idn_wtxn_modify(t, &missing, m, 1), IDN_ENOTFOUND);
	commit(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/M", &g), 0);
	assert_bytes(g.rec.values, before.rec.values.p, before.rec.values.len);
	got_free(&g);
	got_free(&before);

	idn_value_t m2[2] = {val(3, "EMAIL", "x@y"), val(2, "URL", "TWO")};
	m2[0].ttl = 5;
	t = wbegin(f);
	assert_int_equal(idn_wtxn_modify(t, &id, m2, 2), 0);
	commit(t);
	assert_int_equal(fetch(f, "88.118.8/M", &g), 0);
	assert_int_equal(g.n, 3);
	assert_value_eq(&g.v[0], &v[0]);
	assert_value_eq(&g.v[1], &m2[1]);
	assert_value_eq(&g.v[2], &m2[0]);
	got_free(&g);
}

static void test_remove(void **state)
{
	fx_t *f = *state;
	idn_value_t v[3] = {val(1, "URL", "one"), val(2, "URL", "two"),
			    val(3, "URL", "three")};
	create1(f, "88.118.8/R", v, 3);
	idn_ident_t id, missing;
	mkid(&id, "88.118.8/R");
	mkid(&missing, "88.118.8/NOPE");

	uint32_t absent[] = {3, 4};
	uint32_t dup[] = {1, 1};
	uint32_t gone[] = {3, 1};
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_remove(t, &id, absent, 2), IDN_EVALNOTFOUND);
	assert_int_equal(idn_wtxn_remove(t, &id, dup, 2), IDN_EVALUE);
	assert_int_equal(idn_wtxn_remove(t, &missing, gone, 2), IDN_ENOTFOUND);
	commit(t);
	uint32_t all[] = {1, 2, 3};
	assert_indexes(f, "88.118.8/R", all, 3);

	t = wbegin(f);
	assert_int_equal(idn_wtxn_remove(t, &id, gone, 2), 0);
	commit(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/R", &g), 0);
	assert_int_equal(g.n, 1);
	assert_value_eq(&g.v[0], &v[1]);
	got_free(&g);
}

static void test_sorted_and_duplicates(void **state)
{
	fx_t *f = *state;
	idn_value_t v[4] = {val(300, "HS_PUBKEY", "k"), val(1, "URL", "u"),
			    val(2000, "X", "t"), val(100, "HS_ADMIN", "a")};
	create1(f, "88.118.8/S", v, 4);
	uint32_t want[] = {1, 100, 300, 2000};
	assert_indexes(f, "88.118.8/S", want, 4);

	idn_value_t d[3] = {val(1, "URL", "a"), val(2, "URL", "b"),
			    val(1, "URL", "c")};
	idn_ident_t id, s;
	mkid(&id, "88.118.8/DUP");
	mkid(&s, "88.118.8/S");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, d, 3, false), IDN_EVALUE);
	assert_int_equal(idn_wtxn_add(t, &s, d, 3, true), IDN_EVALUE);
	assert_int_equal(idn_wtxn_modify(t, &s, d, 3), IDN_EVALUE);
	commit(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/DUP", &g), IDN_ENOTFOUND);
	got_free(&g);
	assert_indexes(f, "88.118.8/S", want, 4);
}

static void test_limits(void **state)
{
	fx_t *f = *state;
	static idn_value_t v[IDN_VALUES_MAX + 1];
	for (uint32_t i = 0; i <= IDN_VALUES_MAX; i++)
		v[i] = val(IDN_VALUES_MAX - i, "URL", "u");
	idn_ident_t id, big;
	mkid(&id, "88.118.8/MANY");
	mkid(&big, "88.118.8/BIG");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, v, IDN_VALUES_MAX + 1, false),
			 IDN_ETOOMANY);
	/* exactly the maximum fits; one more by add does not */
	assert_int_equal(idn_wtxn_create(t, &id, v + 1, IDN_VALUES_MAX, false),
			 0);
	assert_int_equal(idn_wtxn_add(t, &id, v, 1, false), IDN_ETOOMANY);

	/* the values section is limited to IDN_RECORD_MAX bytes */
	size_t dlen = IDN_RECORD_MAX / 2;
	char *data = malloc(dlen + 1);
	assert_non_null(data);
	memset(data, 'd', dlen);
	data[dlen] = 0;
	idn_value_t b[2] = {val(1, "URL", data), val(2, "URL", data)};
	assert_int_equal(idn_wtxn_create(t, &big, b, 2, false), IDN_ETOOLONG);
	assert_int_equal(idn_wtxn_create(t, &big, b, 1, false), 0);
	assert_int_equal(idn_wtxn_add(t, &big, b + 1, 1, false), IDN_ETOOLONG);
	b[1].data.len = (uint32_t)(IDN_RECORD_MAX - 2 * idn_value_size(&b[0]) +
				   b[0].data.len);
	assert_int_equal(idn_value_size(&b[0]) + idn_value_size(&b[1]),
			 IDN_RECORD_MAX);
	assert_int_equal(idn_wtxn_add(t, &big, b + 1, 1, false), 0);
	commit(t);
	free(data);

	got_t g;
	assert_int_equal(fetch(f, "88.118.8/MANY", &g), 0);
	assert_int_equal(g.n, IDN_VALUES_MAX);
	for (uint32_t i = 0; i < g.n; i++)
		assert_int_equal(g.v[i].index, i);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/BIG", &g), 0);
	assert_int_equal(g.rec.values.len, IDN_RECORD_MAX);
	got_free(&g);
}

static void test_batch_failure_keeps_others(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	idn_value_t d[2] = {val(2, "URL", "a"), val(2, "URL", "b")};
	idn_ident_t a, b, c;
	mkid(&a, "88.118.8/A");
	mkid(&b, "88.118.8/B");
	mkid(&c, "88.118.8/C");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &a, &v, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &a, &v, 1, false), IDN_EEXISTS);
	assert_int_equal(idn_wtxn_modify(t, &b, &v, 1), IDN_ENOTFOUND);
	assert_int_equal(idn_wtxn_add(t, &a, d, 2, false), IDN_EVALUE);
	assert_int_equal(idn_wtxn_add(t, &a, &v, 1, false), IDN_EVALEXISTS);
	assert_int_equal(idn_wtxn_create(t, &c, d, 1, false), 0);
	assert_int_equal(idn_wtxn_add(t, &c, &v, 1, false), 0);
	/* the transaction sees its own writes */
	idn_record_t rec;
	assert_int_equal(idn_wtxn_get(t, c.key, c.key_len, &rec), 0);
	assert_int_equal(rec.nvalues, 2);
	assert_int_equal(idn_wtxn_get(t, b.key, b.key_len, &rec),
			 IDN_ENOTFOUND);
	/* others do not, before the commit */
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/A", &g), IDN_ENOTFOUND);
	got_free(&g);
	commit(t);

	assert_int_equal(fetch(f, "88.118.8/A", &g), 0);
	assert_int_equal(g.n, 1);
	assert_value_eq(&g.v[0], &v);
	got_free(&g);
	uint32_t want[] = {1, 2};
	assert_indexes(f, "88.118.8/C", want, 2);
	assert_int_equal(fetch(f, "88.118.8/B", &g), IDN_ENOTFOUND);
	got_free(&g);
}

static void test_abort_discards(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	create1(f, "88.118.8/KEPT", &v, 1);
	idn_ident_t a, k;
	mkid(&a, "88.118.8/GONE");
	mkid(&k, "88.118.8/KEPT");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &a, &v, 1, false), 0);
	assert_int_equal(idn_wtxn_delete(t, &k), 0);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.1", 4), 0);
	idn_wtxn_abort(t);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/GONE", &g), IDN_ENOTFOUND);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/KEPT", &g), 0);
	got_free(&g);
	idn_rtxn_t *r;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_homed(r, (const uint8_t *)"88.1", 4), 0);
	idn_rtxn_free(r);
}

static void test_durable_across_reopen(void **state)
{
	fx_t *f = *state;
	idn_value_t v[2] = {val(1, "URL", "https://a"), val(2, "EMAIL", "m")};
	create1(f, "88.118.8/P", v, 2);
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8), 0);
	commit(t);
	close_store(f);

	/* the directory was created with mode 0750 */
	if (!pg_uri) {
		struct stat st;
		assert_int_equal(stat(f->path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		mode_t um = umask(0);
		umask(um);
		assert_int_equal(st.st_mode & 0777, 0750 & ~um);
	}

	open_store(f, 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/P", &g), 0);
	assert_int_equal(g.n, 2);
	assert_value_eq(&g.v[0], &v[0]);
	assert_value_eq(&g.v[1], &v[1]);
	assert_int_equal(idn_store_homed(g.t, (const uint8_t *)"88.118.8", 8),
			 1);
	got_free(&g);
}

/* ---- listing ---- */

typedef struct {
	char ids[64][2100];
	size_t n;
	size_t stop_after; /* 0: never stop */
} seen_t;

static int collect(void *ctx, idn_bytes_t id)
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

static int list(fx_t *f, const char *prefix, const char *after, seen_t *s)
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

static void test_list_prefix_and_paging(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	const char *mine[] = {"88.118.8/a1", "88.118.8/B2", "88.118.8/c3",
			      "88.118.8/D4", "88.118.8/e5", "88.118.8/x/y"};
	const char *others[] = {"88.118.80/x", "88.118/y", "88.118.7/z",
				"88.118.8.1/w", "88.118.9/a"};
	for (size_t i = 0; i < 6; i++)
		create1(f, mine[i], &v, 1);
	for (size_t i = 0; i < 5; i++)
		create1(f, others[i], &v, 1);

	static seen_t s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", NULL, &s), 0);
	assert_int_equal(s.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(s.ids[i], mine[i]);

	/* the prefix is given normalised; "88.118.80" is not "88.118.8" */
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.80", NULL, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "88.118.80/x");
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.6", NULL, &s), 0);
	assert_int_equal(s.n, 0);

	/* paging: the callback stops every 4; go on after the last seen */
	memset(&s, 0, sizeof(s));
	s.stop_after = 4;
	assert_int_equal(list(f, "88.118.8", NULL, &s), 42);
	assert_int_equal(s.n, 4);
	char last[64];
	memcpy(last, s.ids[3], strlen(s.ids[3]) + 1);
	assert_int_equal(list(f, "88.118.8", last, &s), 0);
	assert_int_equal(s.n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(s.ids[i], mine[i]);

	/* after a key that is not stored, or lies outside the prefix */
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", "88.118.8/c", &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.ids[0], "88.118.8/c3");
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", "1/a", &s), 0);
	assert_int_equal(s.n, 6);
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", "88.118.8/x/y", &s), 0);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", "9/a", &s), 0);
	assert_int_equal(s.n, 0);
}

/* ---- long identifiers ---- */

static char *long_ident(const char *prefix, char fill, size_t fill_len,
			const char *tail)
{
	size_t plen = strlen(prefix), tlen = strlen(tail);
	char *s = malloc(plen + fill_len + tlen + 1);
	assert_non_null(s);
	memcpy(s, prefix, plen);
	memset(s + plen, fill, fill_len);
	memcpy(s + plen + fill_len, tail, tlen + 1);
	return s;
}

static void test_long_identifiers(void **state)
{
	fx_t *f = *state;
	/* 2000 bytes; two of ~700 sharing their first 600; the boundary */
	char *l2000 = long_ident("88.118.8/", 'q', 2000 - 9 - 1, "Z");
	char *la = long_ident("88.118.8/", 'm', 600 - 9, "-alpha");
	char *lb = long_ident("88.118.8/", 'm', 600 - 9, "-beta");
	char *k478 = long_ident("88.118.8/", 'k', 478 - 9, "");
	char *k479 = long_ident("88.118.8/", 'k', 479 - 9, "");
	assert_int_equal(strlen(l2000), 2000);
	assert_int_equal(strlen(k478), 478);
	char *ids[] = {l2000, la, lb, k478, k479};
	idn_value_t v[5];
	char data[5][16];
	for (int i = 0; i < 5; i++) {
		snprintf(data[i], sizeof(data[i]), "value-%d", i);
		v[i] = val((uint32_t)i + 1, "URL", data[i]);
		create1(f, ids[i], &v[i], 1);
	}
	create1(f, "88.118.8/short", &v[0], 1);
	create1(f, "88.118.80/other", &v[0], 1);

	for (int i = 0; i < 5; i++) {
		got_t g;
		/* looked up in another case */
		char *lower = strdup(ids[i]);
		assert_non_null(lower);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		assert_int_equal(fetch(f, lower, &g), 0);
		assert_bytes_str(g.rec.id, ids[i]);
		assert_int_equal(g.n, 1);
		assert_value_eq(&g.v[0], &v[i]);
		got_free(&g);
		free(lower);
	}
	/* an identifier sharing the first 600 bytes but not stored */
	char *lc = long_ident("88.118.8/", 'm', 600 - 9, "-gamma");
	got_t g;
	assert_int_equal(fetch(f, lc, &g), IDN_ENOTFOUND);
	got_free(&g);

	static seen_t s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", NULL, &s), 0);
	assert_int_equal(s.n, 6);
	int found[5] = {0};
	for (size_t j = 0; j < s.n; j++)
		for (int i = 0; i < 5; i++)
			if (strcmp(s.ids[j], ids[i]) == 0)
				found[i]++;
	for (int i = 0; i < 5; i++)
		assert_int_equal(found[i], 1);
	/* paging across the long ones lists each exactly once */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(list(f, "88.118.8", NULL, &s), 42);
	while (s.n < 6 && list(f, "88.118.8", s.ids[s.n - 1], &s) == 42)
		;
	assert_int_equal(s.n, 6);
	memset(found, 0, sizeof(found));
	for (size_t j = 0; j < s.n; j++)
		for (int i = 0; i < 5; i++)
			if (strcmp(s.ids[j], ids[i]) == 0)
				found[i]++;
	for (int i = 0; i < 5; i++)
		assert_int_equal(found[i], 1);

	/* edits and deletes by long identifiers */
	idn_ident_t id;
	mkid(&id, lb);
	idn_value_t extra = val(9, "URL", "nine");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_add(t, &id, &extra, 1, false), 0);
	idn_record_t rec;
	assert_int_equal(idn_wtxn_get(t, id.key, id.key_len, &rec), 0);
	assert_int_equal(rec.nvalues, 2);
	mkid(&id, la);
	assert_int_equal(idn_wtxn_delete(t, &id), 0);
	mkid(&id, lc);
	assert_int_equal(idn_wtxn_delete(t, &id), IDN_ENOTFOUND);
	commit(t);
	uint32_t want[] = {3, 9};
	assert_indexes(f, lb, want, 2);
	assert_int_equal(fetch(f, la, &g), IDN_ENOTFOUND);
	got_free(&g);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
	free(lc);
}

static void test_long_prefixes(void **state)
{
	fx_t *f = *state;
	/* prefixes over the direct key length, sharing their first 590 */
	char *p1 = long_ident("88.", '1', 597, "");
	char *p2 = long_ident("88.", '1', 596, "2");
	char *p3 = long_ident("88.", '1', 597, "0"); /* p1 followed by 0 */
	assert_int_equal(strlen(p1), 600);
	char buf[4][700];
	snprintf(buf[0], sizeof(buf[0]), "%s/a", p1);
	snprintf(buf[1], sizeof(buf[1]), "%s/b", p1);
	snprintf(buf[2], sizeof(buf[2]), "%s/a", p2);
	snprintf(buf[3], sizeof(buf[3]), "%s/a", p3);
	idn_value_t v = val(1, "URL", "u");
	for (int i = 0; i < 4; i++)
		create1(f, buf[i], &v, 1);

	static seen_t s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, p1, NULL, &s), 0);
	assert_int_equal(s.n, 2);
	int a = strcmp(s.ids[0], buf[0]) == 0 && strcmp(s.ids[1], buf[1]) == 0;
	int b = strcmp(s.ids[0], buf[1]) == 0 && strcmp(s.ids[1], buf[0]) == 0;
	assert_true(a || b);
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, p2, NULL, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], buf[2]);

	/* homing a long prefix */
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)p1, strlen(p1)), 0);
	commit(t);
	idn_rtxn_t *r;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_homed(r, (const uint8_t *)p1, strlen(p1)),
			 1);
	assert_int_equal(idn_store_homed(r, (const uint8_t *)p2, strlen(p2)),
			 0);
	idn_rtxn_free(r);
	free(p1);
	free(p2);
	free(p3);
}

/* ---- homed prefixes ---- */

static int homed(fx_t *f, const char *p)
{
	idn_rtxn_t *r;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	int rc = idn_store_homed(r, (const uint8_t *)p, strlen(p));
	idn_rtxn_free(r);
	return rc;
}

static void test_home_unhome(void **state)
{
	fx_t *f = *state;
	const char *p[] = {"88.118.8", "0.NA", "88.118", "88.1000.2"};
	idn_wtxn_t *t = wbegin(f);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			idn_wtxn_home(t, (const uint8_t *)p[i], strlen(p[i])),
			0);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)p[0], 8), 0);
	commit(t);
	assert_int_equal(homed(f, "88.118.8"), 1);
	assert_int_equal(homed(f, "88.118.80"), 0);
	assert_int_equal(homed(f, "88.11"), 0);

	static seen_t s;
	memset(&s, 0, sizeof(s));
	idn_rtxn_t *r;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_list_homed(r, collect, &s), 0);
	idn_rtxn_free(r);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.ids[0], "0.NA");
	assert_string_equal(s.ids[1], "88.1000.2");
	assert_string_equal(s.ids[2], "88.118");
	assert_string_equal(s.ids[3], "88.118.8");

	idn_store_stat_t st;
	assert_int_equal(idn_store_stat(f->s, &st), 0);
	assert_int_equal(st.prefixes, 4);

	t = wbegin(f);
	assert_int_equal(idn_wtxn_unhome(t, (const uint8_t *)"88.118", 6), 0);
	assert_int_equal(idn_wtxn_unhome(t, (const uint8_t *)"88.118", 6),
			 IDN_ENOTFOUND);
	assert_int_equal(idn_wtxn_unhome(t, (const uint8_t *)"88.9", 4),
			 IDN_ENOTFOUND);
	commit(t);
	assert_int_equal(homed(f, "88.118"), 0);
	assert_int_equal(homed(f, "88.118.8"), 1);
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_list_homed(r, collect, &s), 42);
	idn_rtxn_free(r);
	assert_int_equal(s.n, 2);
	assert_int_equal(idn_store_stat(f->s, &st), 0);
	assert_int_equal(st.prefixes, 3);
}

/* ---- read transactions ---- */

static void test_rtxn_reset_renew(void **state)
{
	fx_t *f = *state;
	idn_ident_t id;
	mkid(&id, "88.118.8/NEW");
	idn_rtxn_t *r;
	idn_record_t rec;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec),
			 IDN_ENOTFOUND);
	/* LMDB names its snapshots; PostgreSQL cannot (0) */
	uint64_t s0 = idn_rtxn_snapshot(r);
	if (pg_uri == NULL)
		assert_true(s0 != 0);
	else
		assert_true(s0 == 0);
	idn_value_t v = val(1, "URL", "u");
	create1(f, "88.118.8/NEW", &v, 1);
	/* the snapshot is unchanged until renewed */
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec),
			 IDN_ENOTFOUND);
	assert_true(idn_rtxn_snapshot(r) == s0);
	idn_rtxn_reset(r);
	assert_int_equal(idn_rtxn_renew(r), 0);
	uint64_t s1 = idn_rtxn_snapshot(r);
	if (pg_uri == NULL)
		assert_true(s1 != 0 && s1 != s0); /* a commit in between */
	/* nothing committed since: the same snapshot again */
	idn_rtxn_reset(r);
	assert_int_equal(idn_rtxn_renew(r), 0);
	assert_true(idn_rtxn_snapshot(r) == s1);
	idn_rtxn_reset(r);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec),
			 IDN_EINVAL);
	idn_rtxn_reset(r); /* twice is harmless */
	assert_int_equal(idn_rtxn_renew(r), 0);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec), 0);
	assert_bytes_str(rec.id, "88.118.8/NEW");

	/* renewing a live transaction takes a fresh snapshot too */
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_delete(t, &id), 0);
	commit(t);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec), 0);
	assert_int_equal(idn_rtxn_renew(r), 0);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec),
			 IDN_ENOTFOUND);
	idn_rtxn_free(r);
}

typedef struct {
	idn_rtxn_t *r;
	idn_ident_t id;
	int err;
	uint32_t nvalues;
} worker_t;

static void *worker(void *arg)
{
	worker_t *w = arg;
	idn_record_t rec;
	w->err = idn_rtxn_renew(w->r);
	if (w->err == 0)
		w->err = idn_store_get(w->r, w->id.key, w->id.key_len, &rec);
	if (w->err == 0)
		w->nvalues = rec.nvalues;
	idn_rtxn_reset(w->r);
	return NULL;
}

/* A read transaction belongs to its object, not to the thread that began
 * it (MDB_NOTLS), and reads proceed while a write transaction is open. */
static void test_rtxn_other_thread(void **state)
{
	fx_t *f = *state;
	idn_value_t v[2] = {val(1, "URL", "u"), val(2, "URL", "v")};
	create1(f, "88.118.8/T", v, 2);
	static worker_t w;
	mkid(&w.id, "88.118.8/T");
	assert_int_equal(idn_rtxn_begin(f->s, &w.r), 0);
	idn_rtxn_reset(w.r);
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_delete(t, &w.id), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, worker, &w), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.nvalues, 2);
	idn_wtxn_abort(t);
	idn_rtxn_free(w.r);
}

/* ---- stat ---- */

static void test_stat(void **state)
{
	fx_t *f = *state;
	idn_store_stat_t st;
	assert_int_equal(idn_store_stat(f->s, &st), 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.prefixes, 0);
	/* PostgreSQL has no map; its tables grow in 8 KiB pages */
	assert_int_equal(st.map_size, pg_uri ? 0 : 64 * GIB);
	long psize = sysconf(_SC_PAGESIZE);
	assert_true(st.bytes_used > 0);
	assert_int_equal(st.bytes_used % (uint64_t)psize, 0);
	uint64_t empty = st.bytes_used;

	char data[2000];
	memset(data, 'x', sizeof(data) - 1);
	data[sizeof(data) - 1] = 0;
	idn_value_t v = val(1, "URL", data);
	idn_wtxn_t *t = wbegin(f);
	for (int i = 0; i < 50; i++) {
		char name[32];
		idn_ident_t id;
		snprintf(name, sizeof(name), "88.118.8/%d", i);
		mkid(&id, name);
		assert_int_equal(idn_wtxn_create(t, &id, &v, 1, false), 0);
	}
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8), 0);
	commit(t);
	assert_int_equal(idn_store_stat(f->s, &st), 0);
	assert_int_equal(st.records, 50);
	assert_int_equal(st.prefixes, 1);
	if (pg_uri) {
		/* the server compresses the repetitive values */
		assert_true(st.bytes_used > empty);
		return;
	}
	assert_true(st.bytes_used >= empty + 50 * 2000);

	/* the file grows with the data, not with the map */
	char file[1100];
	snprintf(file, sizeof(file), "%s/data.mdb", f->path);
	struct stat fs;
	assert_int_equal(stat(file, &fs), 0);
	assert_true((uint64_t)fs.st_size < 16 * 1024 * 1024);
}

/* ---- map full ---- */

static void test_map_full(void **state)
{
	fx_t *f = *state;
	close_store(f);
	const uint64_t map = 512 * 1024;
	open_store(f, map);

	static char data[3000];
	memset(data, 'F', sizeof(data) - 1);
	int committed = 0, err = 0;
	for (int i = 0; i < 10000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "88.118.8/F%05d", i);
		data[0] = (char)('a' + i % 26);
		idn_value_t v = val((uint32_t)i, "URL", data);
		idn_ident_t id;
		mkid(&id, name);
		idn_wtxn_t *t = wbegin(f);
		err = idn_wtxn_create(t, &id, &v, 1, false);
		if (err) {
			/* the transaction is dead: later ops and the commit
			 * report the same */
			idn_ident_t other;
			mkid(&other, "88.118.8/OTHER");
			assert_int_equal(
				idn_wtxn_create(t, &other, &v, 1, false), err);
			assert_int_equal(idn_wtxn_commit(t), err);
			break;
		}
		err = idn_wtxn_commit(t);
		if (err)
			break;
		committed++;
	}
	assert_int_equal(err, IDN_ENOSPACE);
	assert_true(committed > 10);

	/* every committed record is intact, the failed one absent */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i <= committed; i++) {
			char name[32];
			snprintf(name, sizeof(name), "88.118.8/F%05d", i);
			got_t g;
			int rc = fetch(f, name, &g);
			if (i == committed) {
				assert_int_equal(rc, IDN_ENOTFOUND);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(g.n, 1);
				assert_int_equal(g.v[0].index, i);
				assert_int_equal(g.v[0].data.len,
						 sizeof(data) - 1);
				assert_int_equal(g.v[0].data.p[0],
						 'a' + i % 26);
			}
			got_free(&g);
		}
		idn_store_stat_t st;
		assert_int_equal(idn_store_stat(f->s, &st), 0);
		assert_int_equal(st.records, committed);
		assert_true(st.bytes_used <= map);
		if (pass == 0) {
			close_store(f);
			open_store(f, map);
		}
	}

	/* still usable: deleting makes room for new writes. LMDB reuses the
	 * pages a commit frees from the next commit but one, so delete in
	 * several transactions, the first a single record (a delete also
	 * copies pages of the search index). */
	for (int part = 0; part < 4; part++) {
		idn_wtxn_t *t = wbegin(f);
		for (int i = part ? part * 3 - 2 : 0; i < part * 3 + 1; i++) {
			char name[32];
			snprintf(name, sizeof(name), "88.118.8/F%05d", i);
			idn_ident_t id;
			mkid(&id, name);
			assert_int_equal(idn_wtxn_delete(t, &id), 0);
		}
		commit(t);
	}
	idn_value_t v = val(1, "URL", data);
	create1(f, "88.118.8/AFTER", &v, 1);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/AFTER", &g), 0);
	assert_int_equal(g.v[0].data.len, sizeof(data) - 1);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/F00010", &g), 0);
	got_free(&g);
}

/* ---- corruption ---- */

/* Writes raw bytes into a database of the closed store's environment. */
static void raw_put(fx_t *f, const char *db, const void *k, size_t klen,
		    const void *d, size_t dlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64 * GIB), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	MDB_val key = {klen, (void *)k}, data = {dlen, (void *)d};
	if (d)
		assert_int_equal(mdb_put(txn, dbi, &key, &data, 0), 0);
	else
		assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static size_t blob(uint8_t *b, uint32_t format, const char *id, uint32_t n,
		   const void *values, size_t vlen)
{
	size_t idlen = strlen(id);
	idn_put_u32(b, format);
	idn_put_u32(b + 4, (uint32_t)idlen);
	memcpy(b + 8, id, idlen);
	idn_put_u32(b + 8 + idlen, n);
	memcpy(b + 12 + idlen, values, vlen);
	return 12 + idlen + vlen;
}

static void test_corrupt_blob(void **state)
{
	fx_t *f = *state;
	idn_value_t v[2] = {val(1, "URL", "u"), val(2, "URL", "v")};
	create1(f, "88.118.8/GOOD", v, 2);
	uint8_t enc[256], enc_rev[256];
	idn_wr_t w;
	idn_wr_init(&w, enc, sizeof(enc));
	idn_value_encode(&w, &v[0]);
	idn_value_encode(&w, &v[1]);
	size_t elen = w.len;
	idn_wr_init(&w, enc_rev, sizeof(enc_rev));
	idn_value_encode(&w, &v[1]);
	idn_value_encode(&w, &v[0]);
	close_store(f);

	struct {
		const char *key;
		uint8_t b[512];
		size_t len;
	} bad[9];
	uint8_t *p;
	bad[0].key = "88.118.8/SHORT";
	memcpy(bad[0].b, "\x00\x00\x00\x01\x00", 5);
	bad[0].len = 5;
	bad[1].key = "88.118.8/FORMAT";
	bad[1].len = blob(bad[1].b, 2, "88.118.8/FORMAT", 2, enc, elen);
	bad[2].key = "88.118.8/IDLEN";
	bad[2].len = blob(bad[2].b, 1, "88.118.8/IDLEN", 2, enc, elen);
	idn_put_u32(bad[2].b + 4, 0xfffffff0u);
	bad[3].key = "88.118.8/COUNT";
	bad[3].len = blob(bad[3].b, 1, "88.118.8/COUNT", 3, enc, elen);
	bad[4].key = "88.118.8/TRAIL";
	bad[4].len = blob(bad[4].b, 1, "88.118.8/TRAIL", 2, enc, elen);
	bad[4].b[bad[4].len++] = 0;
	bad[5].key = "88.118.8/ORDER";
	bad[5].len = blob(bad[5].b, 1, "88.118.8/ORDER", 2, enc_rev, elen);
	bad[6].key = "88.118.8/TRUNC";
	bad[6].len = blob(bad[6].b, 1, "88.118.8/TRUNC", 2, enc, elen) - 1;
	bad[7].key = "88.118.8/INNER";
	bad[7].len = blob(bad[7].b, 1, "88.118.8/INNER", 2, enc, elen);
	p = bad[7].b + 12 + strlen("88.118.8/INNER") + 14; /* type length */
	idn_put_u32(p, 0x7fffffffu);
	/* a well-formed record filed under another identifier's key */
	bad[8].key = "88.118.8/MISFILED";
	bad[8].len = blob(bad[8].b, 1, "88.118.8/ELSEWHERE", 2, enc, elen);
	for (int i = 0; i < 9; i++)
		raw_put(f, "records", bad[i].key, strlen(bad[i].key), bad[i].b,
			bad[i].len);
	open_store(f, 0);

	for (int i = 0; i < 9; i++) {
		got_t g;
		int rc = fetch(f, bad[i].key, &g);
		if (rc != IDN_ECORRUPT)
			fail_msg("%s: got %d (%s), want IDN_ECORRUPT",
				 bad[i].key, rc, idn_strerror(rc));
		got_free(&g);
	}
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/GOOD", &g), 0);
	got_free(&g);

	/* without the walk of the values, a broken header or a misfiled
	 * record is still refused; broken values come back as stored, for
	 * the caller's own walk to refuse */
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(f->s, &rt), 0);
	for (int i = 0; i < 9; i++) {
		idn_ident_t bid;
		idn_record_t rec;
		mkid(&bid, bad[i].key);
		int rc =
			idn_store_get_unchecked(rt, bid.key, bid.key_len, &rec);
		bool header = i <= 2 || i == 8;
		if (header) {
			if (rc != IDN_ECORRUPT)
				fail_msg("%s unchecked: got %d, want "
					 "IDN_ECORRUPT",
					 bad[i].key, rc);
			continue;
		}
		if (rc != 0)
			fail_msg("%s unchecked: got %d (%s), want 0",
				 bad[i].key, rc, idn_strerror(rc));
		size_t hlen = 12 + strlen(bad[i].key);
		assert_int_equal(rec.nvalues, i == 3 ? 3 : 2);
		assert_bytes(rec.values, bad[i].b + hlen, bad[i].len - hlen);
	}
	idn_record_t grec;
	idn_ident_t gid;
	mkid(&gid, "88.118.8/GOOD");
	assert_int_equal(
		idn_store_get_unchecked(rt, gid.key, gid.key_len, &grec), 0);
	assert_int_equal(grec.nvalues, 2);
	assert_bytes(grec.values, enc, elen);
	idn_rtxn_free(rt);

	/* edits refuse a corrupt record; the transaction stays usable, and
	 * create with overwrite repairs it */
	idn_ident_t id, good;
	mkid(&id, "88.118.8/COUNT");
	mkid(&good, "88.118.8/GOOD");
	idn_value_t nv = val(5, "URL", "five");
	uint32_t one = 1;
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_add(t, &id, &nv, 1, false), IDN_ECORRUPT);
	assert_int_equal(idn_wtxn_modify(t, &id, &nv, 1), IDN_ECORRUPT);
	assert_int_equal(idn_wtxn_remove(t, &id, &one, 1), IDN_ECORRUPT);
	assert_int_equal(idn_wtxn_create(t, &id, &nv, 1, false), IDN_EEXISTS);
	assert_int_equal(idn_wtxn_add(t, &good, &nv, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &id, &nv, 1, true), 0);
	commit(t);
	assert_int_equal(fetch(f, "88.118.8/COUNT", &g), 0);
	assert_int_equal(g.n, 1);
	assert_value_eq(&g.v[0], &nv);
	got_free(&g);
	uint32_t want[] = {1, 2, 5};
	assert_indexes(f, "88.118.8/GOOD", want, 3);

	/* a listing stops at a record whose header is broken */
	static seen_t s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(list(f, "88.118.8", NULL, &s), IDN_ECORRUPT);
}

static void test_schema_version(void **state)
{
	fx_t *f = *state;
	close_store(f);
	uint8_t v4[4]; /* newer than this build's 3 */
	idn_put_u32(v4, 4);
	raw_put(f, "meta", "version", 7, v4, 4);
	idn_store_opts_t o = {.path = f->path};
	idn_store_t *s = (idn_store_t *)1;
	assert_int_equal(idn_store_open(&o, &s), IDN_ECORRUPT);
	assert_null(s);

	/* records without any version: not a store we wrote */
	uint8_t v1[4];
	idn_put_u32(v1, 1);
	raw_put(f, "meta", "version", 7, v1, 4);
	open_store(f, 0);
	idn_value_t v = val(1, "URL", "u");
	create1(f, "88.118.8/V", &v, 1);
	close_store(f);
	raw_put(f, "meta", "version", 7, NULL, 0);
	assert_int_equal(idn_store_open(&o, &s), IDN_ECORRUPT);

	/* and a version back in place opens again */
	raw_put(f, "meta", "version", 7, v1, 4);
	open_store(f, 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/V", &g), 0);
	got_free(&g);
}

static void test_bad_arguments(void **state)
{
	fx_t *f = *state;
	idn_store_t *s;
	idn_store_opts_t o = {.path = NULL};
	assert_int_equal(idn_store_open(&o, &s), IDN_EINVAL);
	assert_int_equal(idn_store_open(NULL, &s), IDN_EINVAL);

	/* replicas announced but not given */
	o.path = f->path;
	o.nreplicas = 1;
	assert_int_equal(idn_store_open(&o, &s), IDN_EINVAL);
	o.nreplicas = 0;

	if (pg_uri) {
		/* nothing listens on port 1; a string libpq cannot parse */
		o.path = "postgresql://127.0.0.1:1/nothing?connect_timeout=2";
		o.log = store_log;
		assert_int_equal(idn_store_open(&o, &s), IDN_ESTORE);
		assert_non_null(strstr(last_log, "cannot connect"));
		o.path = "host=127.0.0.1 port='1";
		assert_int_equal(idn_store_open(&o, &s), IDN_EINVAL);
		assert_non_null(strstr(last_log, "bad connection string"));
	} else {
		/* a path under a regular file */
		char file[400], under[420];
		snprintf(file, sizeof(file), "%s/file", f->dir);
		FILE *fp = fopen(file, "w");
		assert_non_null(fp);
		fclose(fp);
		snprintf(under, sizeof(under), "%s/x", file);
		o.path = under;
		assert_int_equal(idn_store_open(&o, &s), -ENOTDIR);
	}

	idn_rtxn_t *r;
	idn_record_t rec;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	assert_int_equal(idn_store_get(r, (const uint8_t *)"", 0, &rec),
			 IDN_ENOTFOUND);
	assert_int_equal(idn_store_list(r, (const uint8_t *)"88", 2,
					(idn_bytes_t){NULL, 0}, NULL, NULL),
			 IDN_EINVAL);
	idn_rtxn_free(r);

	idn_ident_t id;
	mkid(&id, "88.118.8/A");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, NULL, 1, false), IDN_EINVAL);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"", 0), IDN_EINVAL);
	assert_int_equal(idn_wtxn_create(t, NULL, NULL, 0, false), IDN_EINVAL);
	/* the transaction is still fine */
	assert_int_equal(idn_wtxn_create(t, &id, NULL, 0, false), 0);
	commit(t);
}

/* Creates with overwrite in one transaction (PostgreSQL sends them in
 * batches): the last of one identifier wins, and later operations of the
 * transaction see them. */
static void test_overwrite_sequence(void **state)
{
	fx_t *f = *state;
	idn_value_t v[4] = {val(1, "URL", "one"), val(2, "URL", "two"),
			    val(3, "URL", "three"), val(5, "URL", "five")};
	idn_value_t seven = val(7, "URL", "seven");
	idn_ident_t x, xl, y, z, w;
	mkid(&x, "88.118.8/X");
	mkid(&xl, "88.118.8/x");
	mkid(&y, "88.118.8/Y");
	mkid(&z, "88.118.8/Z");
	mkid(&w, "88.118.8/W");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &x, v, 2, true), 0);
	assert_int_equal(idn_wtxn_create(t, &y, v, 1, true), 0);
	assert_int_equal(idn_wtxn_create(t, &xl, v + 2, 1, true), 0);
	idn_record_t rec;
	assert_int_equal(idn_wtxn_get(t, x.key, x.key_len, &rec), 0);
	assert_int_equal(rec.nvalues, 1);
	assert_bytes_str(rec.id, "88.118.8/x");
	assert_int_equal(idn_wtxn_create(t, &y, v + 3, 1, true), 0);
	assert_int_equal(idn_wtxn_add(t, &y, &seven, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &z, v, 1, true), 0);
	assert_int_equal(idn_wtxn_delete(t, &z), 0);
	assert_int_equal(idn_wtxn_create(t, &w, v, 1, true), 0);
	assert_int_equal(idn_wtxn_create(t, &w, v, 1, false), IDN_EEXISTS);
	assert_int_equal(idn_wtxn_create(t, &x, v + 1, 2, true), 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/X", &g), IDN_ENOTFOUND);
	got_free(&g);
	commit(t);
	uint32_t wx[] = {2, 3}, wy[] = {5, 7}, ww[] = {1};
	assert_indexes(f, "88.118.8/X", wx, 2);
	assert_indexes(f, "88.118.8/Y", wy, 2);
	assert_indexes(f, "88.118.8/W", ww, 1);
	assert_int_equal(fetch(f, "88.118.8/Z", &g), IDN_ENOTFOUND);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/X", &g), 0);
	assert_bytes_str(g.rec.id, "88.118.8/X");
	got_free(&g);
	/* aborted: nothing of it */
	t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &z, v, 1, true), 0);
	assert_int_equal(idn_wtxn_create(t, &x, v, 1, true), 0);
	idn_wtxn_abort(t);
	assert_int_equal(fetch(f, "88.118.8/Z", &g), IDN_ENOTFOUND);
	got_free(&g);
	assert_indexes(f, "88.118.8/X", wx, 2);
}

/* ---- concurrent writers ---- */

typedef struct {
	idn_store_t *s;
	int thread;
	int n;
	int err;     /* the first failure */
	int retries; /* transactions the store asked to retry (-EAGAIN) */
} writer_t;

/* Reads the decimal number in value 1 of a record. */
static unsigned long counter_of(const idn_record_t *rec)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_rd_t r;
	idn_rd_init(&r, rec->values.p, rec->values.len);
	idn_value_t v;
	idn_value_decode(&r, &a, &v);
	char num[32] = "";
	if (r.err == 0 && v.index == 1 && v.data.len < sizeof(num))
		memcpy(num, v.data.p, v.data.len);
	idn_arena_free(&a);
	return strtoul(num, NULL, 10);
}

/* One writer's transaction: adds a value of its own to HOT and, read in
 * the transaction, increments the counter in COUNTER. Returns the
 * store's code. */
static int writer_step(writer_t *w, int i)
{
	idn_ident_t hot, ctr;
	idn_ident_parse((const uint8_t *)"88.118.8/HOT", 12, 0, &hot);
	idn_ident_parse((const uint8_t *)"88.118.8/COUNTER", 16, 0, &ctr);
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(w->s, &t);
	if (err)
		return err;
	char data[32];
	snprintf(data, sizeof(data), "t%d-%d", w->thread, i);
	idn_value_t v = val((uint32_t)(w->thread * 10000 + i), "URL", data);
	err = idn_wtxn_add(t, &hot, &v, 1, false);
	idn_record_t rec;
	if (err == 0)
		err = idn_wtxn_get(t, ctr.key, ctr.key_len, &rec);
	if (err == 0) {
		snprintf(data, sizeof(data), "%lu", counter_of(&rec) + 1);
		v = val(1, "COUNT", data);
		err = idn_wtxn_modify(t, &ctr, &v, 1);
	}
	if (err) {
		idn_wtxn_abort(t);
		return err;
	}
	return idn_wtxn_commit(t);
}

static void *writer(void *arg)
{
	writer_t *w = arg;
	for (int i = 0; i < w->n && w->err == 0; i++) {
		int err;
		while ((err = writer_step(w, i)) == -EAGAIN)
			w->retries++;
		w->err = err;
	}
	return NULL;
}

/* Checks HOT and COUNTER after nthreads writers of n steps each. */
static void check_writers(fx_t *f, writer_t *w, int nthreads, int n)
{
	for (int i = 0; i < nthreads; i++)
		if (w[i].err)
			fail_msg("writer %d: %s", i, idn_strerror(w[i].err));
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/HOT", &g), 0);
	assert_int_equal(g.n, 1 + nthreads * n);
	for (int t = 0, k = 1; t < nthreads; t++)
		for (int i = 0; i < n; i++, k++)
			assert_int_equal(g.v[k].index, (t + 1) * 10000 + i);
	got_free(&g);
	assert_int_equal(fetch(f, "88.118.8/COUNTER", &g), 0);
	assert_int_equal(counter_of(&g.rec), nthreads * n);
	got_free(&g);
}

/* Writers in several threads, each adding to one record and incrementing
 * a counter they read in their transaction: no update is lost (LMDB has
 * one writer at a time; PostgreSQL serialises them on the record). */
static void test_concurrent_writers(void **state)
{
	fx_t *f = *state;
	idn_value_t zero = val(1, "COUNT", "0");
	create1(f, "88.118.8/HOT", &zero, 1);
	create1(f, "88.118.8/COUNTER", &zero, 1);
	enum { NT = 4, N = 50 };
	static writer_t w[NT];
	pthread_t th[NT];
	for (int i = 0; i < NT; i++) {
		w[i] = (writer_t){.s = f->s, .thread = i + 1, .n = N};
		assert_int_equal(pthread_create(&th[i], NULL, writer, &w[i]),
				 0);
	}
	for (int i = 0; i < NT; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	check_writers(f, w, NT, N);
}

/* ---- crash ---- */

/* The child of test_crash: transactions that each create C<i> with three
 * values and add value i + 1 to LEDGER, writing i to fd once the commit
 * returned. Never returns. */
static void crash_child(const char *path, int fd)
{
	idn_store_opts_t o = {.path = path, .log = store_log};
	idn_store_t *s;
	if (idn_store_open(&o, &s) != 0)
		_exit(2);
	idn_ident_t ledger;
	idn_ident_parse((const uint8_t *)"88.118.8/LEDGER", 15, 0, &ledger);
	for (uint32_t i = 0; i < IDN_VALUES_MAX - 1; i++) {
		char name[32], d[3][32];
		snprintf(name, sizeof(name), "88.118.8/C%u", i);
		idn_ident_t id;
		idn_ident_parse((const uint8_t *)name, strlen(name), 0, &id);
		idn_value_t v[3];
		for (int k = 0; k < 3; k++) {
			snprintf(d[k], sizeof(d[k]), "%u-%d", i, k);
			v[k] = val((uint32_t)k + 1, "URL", d[k]);
		}
		idn_value_t l = val(i + 1, "PART", name);
		idn_wtxn_t *t;
		if (idn_wtxn_begin(s, &t) != 0)
			_exit(3);
		if (idn_wtxn_create(t, &id, v, 3, false) != 0 ||
		    idn_wtxn_add(t, &ledger, &l, 1, false) != 0)
			_exit(4);
		if (idn_wtxn_commit(t) != 0)
			_exit(5);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(6);
	}
	_exit(0);
}

/* Kills a process writing transactions with SIGKILL: every transaction it
 * was told is committed is there afterwards, whole, and no other is there
 * in part. */
static void test_crash(void **state)
{
	fx_t *f = *state;
	create1(f, "88.118.8/LEDGER", NULL, 0);
	close_store(f);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(f->path, p[1]);
	}
	close(p[1]);
	/* kill it some way into a transaction after 100 acknowledgements */
	uint32_t i, acked = 0;
	bool any = false;
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	while (acked < 100 && poll(&pf, 1, 20000) > 0 &&
	       read(p[0], &i, sizeof(i)) == sizeof(i)) {
		acked = i + 1;
		any = true;
	}
	srand((unsigned)time(NULL));
	usleep((useconds_t)(rand() % 2000));
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	while (read(p[0], &i, sizeof(i)) == sizeof(i))
		acked = i + 1;
	close(p[0]);
	assert_true(any);
	assert_true(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);

	open_store(f, 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/LEDGER", &g), 0);
	uint32_t nledger = g.n;
	got_free(&g);
	/* the transaction in flight may have committed unacknowledged */
	assert_true(nledger == acked || nledger == acked + 1);
	for (uint32_t k = 0; k < acked + 3; k++) {
		char name[32], d[32];
		snprintf(name, sizeof(name), "88.118.8/C%u", k);
		int rc = fetch(f, name, &g);
		if (k >= nledger) {
			assert_int_equal(rc, IDN_ENOTFOUND);
			got_free(&g);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(g.n, 3);
		for (int j = 0; j < 3; j++) {
			snprintf(d, sizeof(d), "%u-%d", k, j);
			assert_int_equal(g.v[j].index, j + 1);
			assert_bytes_str(g.v[j].data, d);
		}
		got_free(&g);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* The tests of every backend. */
static const struct CMUnitTest common[] = {
	T(test_roundtrip_all_fields),
	T(test_empty_record),
	T(test_case_insensitive),
	T(test_create_exists_overwrite),
	T(test_create_in_key_order),
	T(test_delete),
	T(test_add),
	T(test_modify),
	T(test_remove),
	T(test_sorted_and_duplicates),
	T(test_limits),
	T(test_batch_failure_keeps_others),
	T(test_abort_discards),
	T(test_durable_across_reopen),
	T(test_list_prefix_and_paging),
	T(test_long_identifiers),
	T(test_long_prefixes),
	T(test_home_unhome),
	T(test_rtxn_reset_renew),
	T(test_rtxn_other_thread),
	T(test_stat),
	T(test_bad_arguments),
	T(test_overwrite_sequence),
	T(test_concurrent_writers),
	T(test_crash),
};

/* LMDB's own: its map, its files and raw LMDB corruption. PostgreSQL's
 * own tests are in test_store_pg.c. */
static const struct CMUnitTest lmdb_only[] = {
	T(test_map_full),
	T(test_corrupt_blob),
	T(test_schema_version),
};

int main(void)
{
	enum { NC = sizeof(common) / sizeof(common[0]) };
	enum { NL = sizeof(lmdb_only) / sizeof(lmdb_only[0]) };
	static struct CMUnitTest tests[NC + NL];
	size_t n = 0;
	pg_uri = getenv("IDN_TEST_PG");
	if (pg_uri && !*pg_uri)
		pg_uri = NULL;
	for (size_t i = 0; i < NC; i++)
		tests[n++] = common[i];
	for (size_t i = 0; pg_uri == NULL && i < NL; i++)
		tests[n++] = lmdb_only[i];
	if (pg_uri)
		printf("store tests on PostgreSQL %s\n", pg_uri);
	return _cmocka_run_group_tests(pg_uri ? "store_postgresql"
					      : "store_lmdb",
				       tests, n, NULL, NULL);
}
