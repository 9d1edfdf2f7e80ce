/* The store's iterators (store.h): records in key order, under a prefix
 * and from a key, in one snapshot while writes go on, long keys; homed
 * prefixes; declared types; the errors. Runs on LMDB, or on PostgreSQL
 * with IDN_TEST_PG (store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"
#include "search.h"
#include "store.h"
#include "store_fixture.h"
#include "store_helpers.h"
#include "value.h"

/* What a walk yielded: keys and identifiers copied, in order. */
typedef struct {
	char (*keys)[2100];
	char (*ids)[2100];
	uint32_t *nvalues;
	size_t n, cap;
} walk_t;

static void walk_free(walk_t *w)
{
	free(w->keys);
	free(w->ids);
	free(w->nvalues);
	memset(w, 0, sizeof(*w));
}

static void walk_add(walk_t *w, const idn_iter_item_t *it)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->keys = realloc(w->keys, w->cap * sizeof(*w->keys));
		w->ids = realloc(w->ids, w->cap * sizeof(*w->ids));
		w->nvalues = realloc(w->nvalues, w->cap * sizeof(*w->nvalues));
		assert_non_null(w->keys);
		assert_non_null(w->ids);
		assert_non_null(w->nvalues);
	}
	assert_true(it->key.len < sizeof(w->keys[0]));
	if (it->key.len)
		memcpy(w->keys[w->n], it->key.p, it->key.len);
	w->keys[w->n][it->key.len] = 0;
	if (it->rec.id.len) /* none for prefixes and types */
		memcpy(w->ids[w->n], it->rec.id.p, it->rec.id.len);
	w->ids[w->n][it->rec.id.len] = 0;
	w->nvalues[w->n] = it->rec.nvalues;
	w->n++;
}

/* Walks an iterator to its end into w; returns what ended it. */
static int walk_all(idn_iter_t *it, walk_t *w)
{
	idn_iter_item_t item;
	int err;
	while ((err = idn_iter_next(it, &item)) == 0)
		walk_add(w, &item);
	return err;
}

/* Walks the records under `under` from `from` (NULL: none) in a fresh
 * read transaction; fails the test unless the walk ends at the end. */
static void walk_records(fx_t *f, const char *under, const char *from,
			 walk_t *w)
{
	idn_rtxn_t *t;
	idn_iter_t *it;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	idn_bytes_t u = under ? idn_bytes_str(under) : idn_bytes(NULL, 0);
	idn_bytes_t fr = from ? idn_bytes_str(from) : idn_bytes(NULL, 0);
	assert_int_equal(idn_iter_records(t, u, fr, &it), 0);
	assert_int_equal(walk_all(it, w), IDN_ENOTFOUND);
	/* the end stays the end */
	idn_iter_item_t item;
	assert_int_equal(idn_iter_next(it, &item), IDN_ENOTFOUND);
	idn_iter_free(it);
	idn_rtxn_free(t);
}

/* Creates n identifiers PREFIX/S<i> (i in a scrambled order), record i
 * holding i % 3 + 1 values, commit every 500. */
static void create_many(fx_t *f, const char *prefix, unsigned n)
{
	idn_wtxn_t *t = wbegin(f);
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (k * 7919u) % n; /* 7919 is prime: a permutation
						 unless n is its multiple */
		char ident[64];
		snprintf(ident, sizeof(ident), "%s/S%05u", prefix, i);
		idn_value_t v[3] = {val(1, "URL", "u"), val(2, "EMAIL", "e"),
				    val(7, "NOTE", ident)};
		idn_ident_t id;
		mkid(&id, ident);
		assert_int_equal(idn_wtxn_create(t, &id, v, i % 3 + 1, false),
				 0);
		if (k % 500 == 499) {
			commit(t);
			t = wbegin(f);
		}
	}
	commit(t);
}

/* ---- records ---- */

/* Every record once, in key order, each as a read returns it; more than
 * one page of a PostgreSQL walk. */
static void test_iter_all_records(void **state)
{
	fx_t *f = *state;
	create_many(f, "88.118.8", 2300);
	create_many(f, "88.2", 10);
	walk_t w = {0};
	walk_records(f, NULL, NULL, &w);
	assert_int_equal(w.n, 2310);
	for (size_t i = 0; i < w.n; i++) {
		if (i)
			assert_true(strcmp(w.keys[i - 1], w.keys[i]) < 0);
		/* the key is the identifier normalised */
		idn_ident_t id;
		mkid(&id, w.ids[i]);
		assert_int_equal(id.key_len, strlen(w.keys[i]));
		assert_memory_equal(id.key, w.keys[i], id.key_len);
	}
	assert_string_equal(w.ids[0], "88.118.8/S00000");
	assert_string_equal(w.keys[0], "88.118.8/S00000");
	assert_string_equal(w.ids[2299], "88.118.8/S02299");
	assert_string_equal(w.ids[2300], "88.2/S00000");
	assert_int_equal(w.nvalues[0], 1);
	assert_int_equal(w.nvalues[1], 2);
	assert_int_equal(w.nvalues[2], 3);
	assert_int_equal(w.nvalues[2299], 2299 % 3 + 1);
	walk_free(&w);

	/* the values are the stored bytes: compare one with a read */
	idn_rtxn_t *t;
	idn_iter_t *it;
	idn_iter_item_t item;
	idn_record_t rec;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_iter_records(t, idn_bytes_str("88.2/"),
					  idn_bytes_str("88.2/S00005"), &it),
			 0);
	assert_int_equal(idn_iter_next(it, &item), 0);
	assert_bytes_str(item.key, "88.2/S00005");
	assert_int_equal(idn_store_get(t, item.key.p, item.key.len, &rec), 0);
	assert_int_equal(item.rec.nvalues, 3);
	assert_int_equal(item.rec.nvalues, rec.nvalues);
	assert_bytes(item.rec.values, rec.values.p, rec.values.len);
	assert_bytes(item.rec.id, rec.id.p, rec.id.len);
	idn_iter_free(it);
	idn_rtxn_free(t);
}

static void test_iter_empty(void **state)
{
	fx_t *f = *state;
	walk_t w = {0};
	walk_records(f, NULL, NULL, &w);
	assert_int_equal(w.n, 0);
	create1(f, "88.1/A", NULL, 0);
	walk_records(f, "88.2/", NULL, &w);
	assert_int_equal(w.n, 0);
	walk_records(f, NULL, "88.1/B", &w);
	assert_int_equal(w.n, 0);
	/* an empty record is a record */
	walk_records(f, "88.1/", NULL, &w);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.nvalues[0], 0);
	walk_free(&w);
}

/* under keeps the keys that begin with its bytes; from starts at the
 * first key not below it; both together; resuming after a key. */
static void test_iter_under_and_from(void **state)
{
	fx_t *f = *state;
	static const char *const ids[] = {
		"88.1/a",   "88.1/B", "88.1/c/d",  "88.10/A",
		"88.1.2/X", "88.2/A", "0.NA/88.1", "99/Z",
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		create1(f, ids[i], NULL, 0);
	walk_t w = {0};
	walk_records(f, "88.1/", NULL, &w);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.keys[0], "88.1/A");
	assert_string_equal(w.ids[0], "88.1/a"); /* as first created */
	assert_string_equal(w.keys[1], "88.1/B");
	assert_string_equal(w.keys[2], "88.1/C/D");
	walk_free(&w);
	/* a byte prefix, not a prefix of the Handle kind */
	walk_records(f, "88.1", NULL, &w);
	assert_int_equal(w.n, 5);
	assert_string_equal(w.keys[0], "88.1.2/X");
	assert_string_equal(w.keys[4], "88.10/A");
	walk_free(&w);
	walk_records(f, NULL, "88.1/B", &w);
	assert_int_equal(w.n, 5);
	assert_string_equal(w.keys[0], "88.1/B");
	assert_string_equal(w.keys[4], "99/Z");
	walk_free(&w);
	/* resuming after 88.1/B: its key and a byte above nothing */
	walk_records(f, "88.1/", "88.1/B\x01", &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.keys[0], "88.1/C/D");
	walk_free(&w);
	/* from below under: under's first key */
	walk_records(f, "88.2/", "0", &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.keys[0], "88.2/A");
	walk_free(&w);
	/* from above everything under */
	walk_records(f, "88.1/", "88.1/D", &w);
	assert_int_equal(w.n, 0);
	walk_records(f, NULL, "\xc3\xa9", &w);
	assert_int_equal(w.n, 0);
	walk_records(f, NULL, NULL, &w);
	assert_int_equal(w.n, 8);
	assert_string_equal(w.keys[0], "0.NA/88.1");
	walk_free(&w);

	/* a walk resumed with a NUL after its last key sees the rest */
	idn_rtxn_t *t;
	idn_iter_t *it;
	idn_iter_item_t item;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	char from[64] = "";
	size_t flen = 0, seen = 0;
	for (;;) {
		assert_int_equal(idn_iter_records(t, idn_bytes(NULL, 0),
						  idn_bytes(from, flen), &it),
				 0);
		int err = idn_iter_next(it, &item);
		if (err == IDN_ENOTFOUND) {
			idn_iter_free(it);
			break;
		}
		assert_int_equal(err, 0);
		assert_true(item.key.len + 1 < sizeof(from));
		memcpy(from, item.key.p, item.key.len);
		from[item.key.len] = 0;
		flen = item.key.len + 1;
		seen++;
		idn_iter_free(it);
	}
	assert_int_equal(seen, 8);
	idn_rtxn_free(t);
}

/* A walk sees its transaction's snapshot: records created, deleted and
 * changed after it began are seen as they were. */
static void test_iter_snapshot(void **state)
{
	fx_t *f = *state;
	create_many(f, "88.5", 1500);
	idn_rtxn_t *t;
	idn_iter_t *it;
	idn_iter_item_t item;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_iter_records(t, idn_bytes(NULL, 0),
					  idn_bytes(NULL, 0), &it),
			 0);
	assert_int_equal(idn_iter_next(it, &item), 0);
	assert_bytes_str(item.key, "88.5/S00000");

	/* behind it, ahead of it, and in a page not read yet */
	idn_wtxn_t *w = wbegin(f);
	idn_ident_t id;
	static const char *const gone[] = {"88.5/S00001", "88.5/S00700",
					   "88.5/S01400"};
	for (int i = 0; i < 3; i++) {
		mkid(&id, gone[i]);
		assert_int_equal(idn_wtxn_delete(w, &id), 0);
	}
	idn_value_t v = val(9, "URL", "new");
	mkid(&id, "88.5/S01200");
	assert_int_equal(idn_wtxn_add(w, &id, &v, 1, false), 0);
	mkid(&id, "88.5/S00500A");
	assert_int_equal(idn_wtxn_create(w, &id, &v, 1, false), 0);
	mkid(&id, "88.5/S01499Z");
	assert_int_equal(idn_wtxn_create(w, &id, &v, 1, false), 0);
	commit(w);

	walk_t seen = {0};
	walk_add(&seen, &item);
	assert_int_equal(walk_all(it, &seen), IDN_ENOTFOUND);
	idn_iter_free(it);
	assert_int_equal(seen.n, 1500);
	for (size_t i = 0; i < seen.n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "88.5/S%05zu", i);
		assert_string_equal(seen.keys[i], want);
		assert_int_equal(seen.nvalues[i], i % 3 + 1);
	}
	walk_free(&seen);
	idn_rtxn_free(t);

	/* a new snapshot sees the writes */
	walk_records(f, "88.5/", NULL, &seen);
	assert_int_equal(seen.n, 1500 - 3 + 2);
	walk_free(&seen);
}

/* Identifiers longer than LMDB keys: the key handed out is the whole
 * normalised key, suffix case kept where the node created it so. */
static void test_iter_long_keys(void **state)
{
	fx_t *f = *state;
	char *a = malloc(1200), *b = malloc(1200), *c = malloc(1200);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* a and b share their first 600 bytes */
	snprintf(a, 1200, "88.7/%0600d%0500d", 0, 1);
	snprintf(b, 1200, "88.7/%0600dx%0499d", 0, 2);
	snprintf(c, 1200, "88.7/%0600dMiXeD", 0);
	create1(f, a, NULL, 0);
	create1(f, b, NULL, 0);
	idn_ident_t cid;
	mkid_flags(&cid, c, IDN_IDENT_CASE_SUFFIX);
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &cid, NULL, 0, false), 0);
	commit(t);
	create1(f, "88.7/short", NULL, 0);

	walk_t w = {0};
	walk_records(f, "88.7/", NULL, &w);
	assert_int_equal(w.n, 4);
	int found = 0;
	for (size_t i = 0; i < w.n; i++) {
		idn_ident_t id;
		unsigned flags =
			strcmp(w.ids[i], c) == 0 ? IDN_IDENT_CASE_SUFFIX : 0;
		mkid_flags(&id, w.ids[i], flags);
		assert_int_equal(strlen(w.keys[i]), id.key_len);
		assert_memory_equal(w.keys[i], id.key, id.key_len);
		if (strcmp(w.ids[i], a) == 0)
			found |= 1;
		if (strcmp(w.ids[i], b) == 0)
			found |= 2;
		if (strcmp(w.ids[i], c) == 0)
			found |= 4;
	}
	assert_int_equal(found, 7);
	/* in normalised-key order, though LMDB files a, b and c under the
	 * same first bytes and their hashes */
	assert_string_equal(w.ids[0], a);
	assert_string_equal(w.ids[1], c);
	assert_string_equal(w.ids[2], b);
	assert_string_equal(w.ids[3], "88.7/short");
	walk_free(&w);
	/* a walk resumed after each key misses none */
	idn_rtxn_t *rt;
	idn_iter_t *it;
	idn_iter_item_t item;
	assert_int_equal(idn_rtxn_begin(f->s, &rt), 0);
	static uint8_t last[IDN_IDENT_MAX + 1];
	size_t llen = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(idn_iter_records(rt, idn_bytes_str("88.7/"),
						  idn_bytes(last, llen), &it),
				 0);
		int err = idn_iter_next(it, &item);
		if (i == 4) {
			assert_int_equal(err, IDN_ENOTFOUND);
		} else {
			const char *want[] = {a, c, b, "88.7/short"};
			assert_int_equal(err, 0);
			assert_bytes_str(item.rec.id, want[i]);
			memcpy(last, item.key.p, item.key.len);
			last[item.key.len] = 0;
			llen = item.key.len + 1;
		}
		idn_iter_free(it);
	}
	idn_rtxn_free(rt);

	/* under a prefix longer than an LMDB key: only what begins with it */
	char under[700];
	snprintf(under, sizeof(under), "88.7/%0600dX", 0);
	walk_records(f, under, NULL, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.ids[0], b);
	walk_free(&w);
	/* from a long key: exactly the keys not below it */
	char from[700];
	snprintf(from, sizeof(from), "88.7/%0600d1", 0);
	walk_records(f, NULL, from, &w);
	assert_int_equal(w.n, 3); /* c's MIXED, b's X, and short */
	walk_free(&w);
	free(a);
	free(b);
	free(c);
}

/* ---- homed prefixes and declared types ---- */

static void test_iter_homed(void **state)
{
	fx_t *f = *state;
	idn_rtxn_t *t;
	idn_iter_t *it;
	idn_iter_item_t item;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_iter_homed(t, &it), 0);
	assert_int_equal(idn_iter_next(it, &item), IDN_ENOTFOUND);
	idn_iter_free(it);
	idn_rtxn_free(t);

	static const char *const pfx[] = {"88.2", "0.NA", "88.118.8", "88.1"};
	idn_wtxn_t *w = wbegin(f);
	for (int i = 0; i < 4; i++)
		assert_int_equal(idn_wtxn_home(w, (const uint8_t *)pfx[i],
					       strlen(pfx[i])),
				 0);
	commit(w);
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_iter_homed(t, &it), 0);
	/* homed later: not in this walk */
	w = wbegin(f);
	assert_int_equal(idn_wtxn_home(w, (const uint8_t *)"77", 2), 0);
	assert_int_equal(idn_wtxn_unhome(w, (const uint8_t *)"88.2", 4), 0);
	commit(w);
	static const char *const want[] = {"0.NA", "88.1", "88.118.8", "88.2"};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(idn_iter_next(it, &item), 0);
		assert_bytes_str(item.key, want[i]);
		assert_int_equal(item.rec.nvalues, 0);
		assert_null(item.rec.id.p);
	}
	assert_int_equal(idn_iter_next(it, &item), IDN_ENOTFOUND);
	idn_iter_free(it);
	idn_rtxn_free(t);
}

static void test_iter_types(void **state)
{
	fx_t *f = *state;
	idn_wtxn_t *w = wbegin(f);
	static const char *const types[] = {"URL", "PART", "", "EMAIL"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(idn_wtxn_index_add(w, idn_bytes_str(types[i])),
				 0);
	commit(w);
	idn_rtxn_t *t;
	idn_iter_t *it;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_iter_types(t, &it), 0);
	w = wbegin(f);
	assert_int_equal(idn_wtxn_index_remove(w, idn_bytes_str("URL")), 0);
	commit(w);
	walk_t got = {0};
	assert_int_equal(walk_all(it, &got), IDN_ENOTFOUND);
	idn_iter_free(it);
	idn_rtxn_free(t);
	assert_int_equal(got.n, 4);
	static const char *const want[] = {"", "EMAIL", "PART", "URL"};
	for (int i = 0; i < 4; i++)
		assert_string_equal(got.keys[i], want[i]);
	walk_free(&got);
}

/* ---- errors ---- */

static void test_iter_errors(void **state)
{
	fx_t *f = *state;
	create1(f, "88.1/A", NULL, 0);
	create1(f, "88.1/B", NULL, 0);
	idn_rtxn_t *t;
	idn_iter_t *it = (idn_iter_t *)1;
	idn_iter_item_t item;
	idn_bytes_t none = idn_bytes(NULL, 0);
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_iter_records(NULL, none, none, &it), IDN_EINVAL);
	assert_null(it);
	assert_int_equal(idn_iter_records(t, none, none, NULL), IDN_EINVAL);
	assert_int_equal(idn_iter_records(t, idn_bytes(NULL, 3), none, &it),
			 IDN_EINVAL);
	assert_int_equal(idn_iter_records(t, none, idn_bytes(NULL, 3), &it),
			 IDN_EINVAL);
	static uint8_t big[IDN_IDENT_MAX + 2];
	assert_int_equal(
		idn_iter_records(t, idn_bytes(big, sizeof(big)), none, &it),
		IDN_EINVAL);
	assert_int_equal(idn_iter_homed(NULL, &it), IDN_EINVAL);
	assert_int_equal(idn_iter_types(t, NULL), IDN_EINVAL);
	assert_int_equal(idn_iter_next(NULL, &item), IDN_EINVAL);
	idn_iter_free(NULL);

	/* a transaction reset under a walk ends it, for good */
	assert_int_equal(idn_iter_records(t, none, none, &it), 0);
	assert_int_equal(idn_iter_next(it, &item), 0);
	assert_bytes_str(item.key, "88.1/A");
	idn_rtxn_reset(t);
	assert_int_equal(idn_iter_next(it, &item), IDN_EINVAL);
	assert_int_equal(item.key.len, 0);
	assert_int_equal(idn_rtxn_renew(t), 0);
	assert_int_equal(idn_iter_next(it, &item), IDN_EINVAL);
	idn_iter_free(it);
	/* and a reset transaction begins none */
	idn_rtxn_reset(t);
	assert_int_equal(idn_iter_records(t, none, none, &it), IDN_EINVAL);
	assert_null(it);
	assert_int_equal(idn_iter_homed(t, &it), IDN_EINVAL);
	assert_int_equal(idn_iter_types(t, &it), IDN_EINVAL);
	idn_rtxn_free(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest common[] = {
	T(test_iter_all_records),    T(test_iter_empty),
	T(test_iter_under_and_from), T(test_iter_snapshot),
	T(test_iter_long_keys),	     T(test_iter_homed),
	T(test_iter_types),	     T(test_iter_errors),
};

int main(void)
{
	return store_suite("store_iter", common,
			   sizeof(common) / sizeof(common[0]), NULL, 0);
}
