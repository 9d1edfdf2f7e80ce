/* The storage interface on every backend (store.h): records round trip,
 * write operations, listings, long identifiers, homed prefixes, read
 * transactions and counts. Runs on LMDB, or on PostgreSQL with
 * IDN_TEST_PG (store_fixture.h). */
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
#include "store_helpers.h"
#include "value.h"

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

/* ---- naming and opening ---- */

static void expect_spec(const char *name, idn_store_kind_t kind,
			const char *path, const char *label)
{
	idn_store_spec_t spec;
	char got[300];
	assert_int_equal(idn_store_spec_parse(name, &spec), 0);
	assert_int_equal(spec.kind, kind);
	assert_string_equal(spec.path, path);
	idn_store_spec_label(&spec, got, sizeof(got));
	assert_string_equal(got, label);
}

/* One parser for every spelling of a store's name; the label never shows
 * a password. */
static void test_store_names(void **state)
{
	(void)state;
	expect_spec("lmdb:/var/lib/idnode", IDN_STORE_LMDB, "/var/lib/idnode",
		    "lmdb:/var/lib/idnode");
	expect_spec("/var/lib/idnode", IDN_STORE_LMDB, "/var/lib/idnode",
		    "lmdb:/var/lib/idnode");
	expect_spec("idnode-data", IDN_STORE_LMDB, "idnode-data",
		    "lmdb:idnode-data");
	expect_spec("postgresql://u:secret@db.example:5433/idn?sslmode=require",
		    IDN_STORE_PG,
		    "postgresql://u:secret@db.example:5433/idn?sslmode=require",
		    "postgresql://db.example:5433/idn");
	expect_spec("postgres://db/idn", IDN_STORE_PG, "postgres://db/idn",
		    "postgresql://db/idn");
	expect_spec("host=db port=5432 dbname=idn password=secret",
		    IDN_STORE_PG,
		    "host=db port=5432 dbname=idn password=secret",
		    "postgresql://db:5432/idn");
	expect_spec("dbname=idn", IDN_STORE_PG, "dbname=idn",
		    "postgresql:///idn");
	expect_spec("service=idnode", IDN_STORE_PG, "service=idnode",
		    "postgresql:///");
	/* a directory whose name merely holds a keyword */
	expect_spec("/srv/xhost=1", IDN_STORE_LMDB, "/srv/xhost=1",
		    "lmdb:/srv/xhost=1");
	idn_store_spec_t spec;
	assert_int_equal(idn_store_spec_parse("", &spec), IDN_EINVAL);
	assert_int_equal(idn_store_spec_parse(NULL, &spec), IDN_EINVAL);
	assert_int_equal(idn_store_spec_parse("lmdb:", &spec), IDN_EINVAL);
	assert_int_equal(idn_store_spec_parse("x", NULL), IDN_EINVAL);
	idn_store_t *s = (idn_store_t *)1;
	idn_store_opts_t o = {.path = "lmdb:"};
	assert_int_equal(idn_store_open(&o, &s), IDN_EINVAL);
	assert_null(s);
}

/* "lmdb:DIR" opens DIR; an existing-only open creates nothing. */
static void test_open_named(void **state)
{
	fx_t *f = *state;
	create1(f, "88.1/NAMED", NULL, 0);
	close_store(f);
	char name[1100], missing[1100];
	idn_store_t *s = (idn_store_t *)1;
	snprintf(missing, sizeof(missing), "lmdb:%s/none", f->dir);
	idn_store_opts_t o = {.path = missing, .existing = true};
	assert_int_equal(idn_store_open(&o, &s), IDN_ENOTFOUND);
	assert_null(s);
	struct stat st;
	assert_int_not_equal(stat(missing + 5, &st), 0); /* not made */
	if (pg_uri) {
		/* a schema that holds no store */
		char sql[128], schema[80];
		snprintf(schema, sizeof(schema), "%s_empty", f->schema);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
		pg_sql(sql);
		schema_uri(name, sizeof(name), pg_uri, schema);
		o.path = name;
		assert_int_equal(idn_store_open(&o, &s), IDN_ENOTFOUND);
		assert_null(s);
		o.existing = false; /* and it was left empty: creates now */
		assert_int_equal(idn_store_open(&o, &s), 0);
		idn_store_close(s);
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
		pg_sql(sql);
		snprintf(name, sizeof(name), "%s", f->path);
	} else {
		snprintf(name, sizeof(name), "lmdb:%s", f->path);
	}
	o.path = name;
	o.existing = true;
	assert_int_equal(idn_store_open(&o, &f->s), 0);
	got_t g;
	assert_int_equal(fetch(f, "88.1/NAMED", &g), 0);
	got_free(&g);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* The tests of every backend; failures, corruption, concurrency and
 * crashes are in test_store_fault.c, the iterators in test_store_iter.c. */
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
	T(test_store_names),
	T(test_open_named),
};

int main(void)
{
	return store_suite("store", common, sizeof(common) / sizeof(common[0]),
			   NULL, 0);
}
