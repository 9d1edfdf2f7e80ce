/* The change log (changes.h) on both backends: one entry per successful
 * operation, written with its commit and only then; ids ascending and
 * never reused; bounds, reads from a position, pruning by count and age
 * that keeps the newest; the actor; a log replayed on a fresh LMDB store
 * gives the same records, prefixes and declared types (a mirror); a
 * damaged entry is refused (LMDB). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "changes.h"
#include "error.h"
#include "search.h"
#include "store.h"
#include "store_fixture.h"
#include "store_helpers.h"
#include "wire.h"

typedef struct {
	int n;
	uint64_t ids[64];
	uint32_t ops[64];
	char names[64][64];
	char actors[64][32];
	uint64_t time_ms[64];
} seen_ch_t;

static int note(void *ctx, const idn_change_t *c)
{
	seen_ch_t *s = ctx;
	if (s->n < 64) {
		s->ids[s->n] = c->id;
		s->ops[s->n] = c->op;
		s->time_ms[s->n] = c->time_ms;
		snprintf(s->names[s->n], 64, "%.*s", (int)c->name.len,
			 (const char *)c->name.p);
		snprintf(s->actors[s->n], 32, "%.*s", (int)c->actor.len,
			 (const char *)c->actor.p);
	}
	s->n++;
	return 0;
}

static void read_all(fx_t *f, uint64_t from, uint32_t max, seen_ch_t *s)
{
	memset(s, 0, sizeof(*s));
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(f->s, &rt), 0);
	assert_int_equal(idn_changes_read(rt, from, max, note, s), 0);
	idn_rtxn_free(rt);
}

static void bounds(fx_t *f, uint64_t *first, uint64_t *next)
{
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(f->s, &rt), 0);
	assert_int_equal(idn_changes_bounds(rt, first, next), 0);
	idn_rtxn_free(rt);
}

/* A run of operations of every kind, some failing. */
static void workload(fx_t *f)
{
	idn_value_t v[2] = {val(1, "URL", "https://e/1"),
			    val(2, "EMAIL", "a@e")};
	idn_value_t v3 = val(3, "DESC", "three");
	idn_value_t v1b = val(1, "URL", "https://e/1b");
	idn_ident_t a, b, c;
	mkid(&a, "88.118.8/A");
	mkid(&b, "88.118.8/B");
	mkid(&c, "88.118.8/C");
	idn_wtxn_t *t = wbegin(f);
	idn_wtxn_set_actor(t, "admin 300:0.NA/88.118.8");
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8), 0);
	assert_int_equal(idn_wtxn_create(t, &a, v, 2, false), 0);
	assert_int_equal(idn_wtxn_create(t, &a, v, 2, false), IDN_EEXISTS);
	assert_int_equal(idn_wtxn_create(t, &b, v, 1, false), 0);
	commit(t);
	t = wbegin(f);
	idn_wtxn_set_actor(t, "operator");
	/* homed already: no change, no entry */
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8), 0);
	assert_int_equal(idn_wtxn_add(t, &a, &v3, 1, false), 0);
	assert_int_equal(idn_wtxn_modify(t, &a, &v1b, 1), 0);
	uint32_t two = 2;
	assert_int_equal(idn_wtxn_remove(t, &a, &two, 1), 0);
	assert_int_equal(idn_wtxn_remove(t, &c, &two, 1), IDN_ENOTFOUND);
	assert_int_equal(idn_wtxn_index_add(t, idn_bytes("URL", 3)), 0);
	assert_int_equal(idn_wtxn_delete(t, &b), 0);
	assert_int_equal(idn_wtxn_create(t, &c, v, 2, true), 0);
	commit(t);
	/* an abort leaves nothing */
	t = wbegin(f);
	assert_int_equal(idn_wtxn_delete(t, &a), 0);
	idn_wtxn_abort(t);
}

static void test_every_operation(void **state)
{
	fx_t *f = *state;
	uint64_t first, next;
	bounds(f, &first, &next);
	assert_int_equal(first, next); /* empty */
	uint64_t base = next;
	uint64_t before = (uint64_t)time(NULL) * 1000;
	workload(f);
	seen_ch_t s;
	read_all(f, 0, 0, &s);
	static const uint32_t want_ops[] = {
		IDN_CH_HOME,	  IDN_CH_CREATE, IDN_CH_CREATE,
		IDN_CH_ADD,	  IDN_CH_MODIFY, IDN_CH_REMOVE,
		IDN_CH_INDEX_ADD, IDN_CH_DELETE, IDN_CH_CREATE};
	static const char *const want_names[] = {
		"88.118.8",   "88.118.8/A", "88.118.8/B",
		"88.118.8/A", "88.118.8/A", "88.118.8/A",
		"URL",	      "88.118.8/B", "88.118.8/C"};
	assert_int_equal(s.n, 9);
	for (int i = 0; i < 9; i++) {
		assert_int_equal(s.ids[i], base + (uint64_t)i);
		assert_int_equal(s.ops[i], want_ops[i]);
		assert_string_equal(s.names[i], want_names[i]);
		assert_string_equal(s.actors[i],
				    i < 3 ? "admin 300:0.NA/88.118.8"
					  : "operator");
		assert_true(s.time_ms[i] >= before - 1000 &&
			    s.time_ms[i] <= before + 60000);
	}
	bounds(f, &first, &next);
	assert_int_equal(first, base);
	assert_int_equal(next, base + 9);
	/* from a position, a count */
	read_all(f, base + 4, 2, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], base + 4);
	assert_int_equal(s.ops[1], IDN_CH_REMOVE);
	read_all(f, base + 9, 0, &s);
	assert_int_equal(s.n, 0);
	assert_string_equal(idn_change_op_name(IDN_CH_INDEX_ADD), "index add");
}

/* Pruning: by count keeps the newest entries, never reuses an id; by age
 * drops what is older; the newest always stays. */
static void test_prune(void **state)
{
	fx_t *f = *state;
	workload(f);
	uint64_t first, next, pruned;
	bounds(f, &first, &next);
	assert_int_equal(idn_store_changes_prune(f->s, 0, 3, &pruned), 0);
	assert_int_equal(pruned, 6);
	seen_ch_t s;
	read_all(f, 0, 0, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ids[0], next - 3);
	uint64_t f2, n2;
	bounds(f, &f2, &n2);
	assert_int_equal(f2, next - 3);
	assert_int_equal(n2, next);
	/* everything is older than a time in the future: all but one go */
	uint64_t later = ((uint64_t)time(NULL) + 3600) * 1000;
	assert_int_equal(idn_store_changes_prune(f->s, later, 0, &pruned), 0);
	assert_int_equal(pruned, 2);
	read_all(f, 0, 0, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], next - 1);
	/* the next commit continues the ids */
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_unhome(t, (const uint8_t *)"88.118.8", 8), 0);
	commit(t);
	read_all(f, next, 0, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], next);
	assert_int_equal(s.ops[0], IDN_CH_UNHOME);
}

/* ---- a mirror: the log replayed on a fresh LMDB store ---- */

typedef struct {
	idn_store_t *dst;
	idn_arena_t a;
	int applied;
} replay_t;

static int apply(void *ctx, const idn_change_t *c)
{
	replay_t *r = ctx;
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(r->dst, &t), 0);
	int err = idn_wtxn_replay(t, c, 0, &r->a);
	if (err)
		fail_msg("replay of change %llu (%s %.*s): %s",
			 (unsigned long long)c->id, idn_change_op_name(c->op),
			 (int)c->name.len, (const char *)c->name.p,
			 idn_strerror(err));
	assert_int_equal(idn_wtxn_commit(t), 0);
	idn_arena_reset(&r->a);
	r->applied++;
	return 0;
}

/* Every record (key and stored values), homed prefix and declared type,
 * as text. */
static char *dump(idn_store_t *s)
{
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = 0;
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(s, &rt), 0);
	for (int kind = 0; kind < 3; kind++) {
		idn_iter_t *it;
		int err = kind == 0   ? idn_iter_records(rt, idn_bytes(NULL, 0),
							 idn_bytes(NULL, 0), &it)
			  : kind == 1 ? idn_iter_homed(rt, &it)
				      : idn_iter_types(rt, &it);
		assert_int_equal(err, 0);
		idn_iter_item_t item;
		while ((err = idn_iter_next(it, &item)) == 0) {
			size_t need =
				64 + 2 * item.key.len + 2 * item.rec.values.len;
			if (len + need >= cap) {
				cap = 2 * (len + need);
				out = realloc(out, cap);
				assert_non_null(out);
			}
			len += (size_t)sprintf(out + len, "%d %.*s ", kind,
					       (int)item.key.len,
					       (const char *)item.key.p);
			for (size_t i = 0; i < item.rec.values.len; i++)
				len += (size_t)sprintf(out + len, "%02x",
						       item.rec.values.p[i]);
			out[len++] = '\n';
			out[len] = 0;
		}
		assert_int_equal(err, IDN_ENOTFOUND);
		idn_iter_free(it);
	}
	idn_rtxn_free(rt);
	return out;
}

static void test_replay(void **state)
{
	fx_t *f = *state;
	workload(f);
	/* and a bulk of creates with overwrite */
	idn_wtxn_t *t = wbegin(f);
	for (int i = 0; i < 300; i++) {
		char name[32], data[32];
		snprintf(name, sizeof(name), "88.118.8/bulk-%03d", i);
		snprintf(data, sizeof(data), "https://e/b/%d", i);
		idn_value_t v = val(1, "URL", data);
		idn_ident_t id;
		mkid(&id, name);
		assert_int_equal(idn_wtxn_create(t, &id, &v, 1, true), 0);
	}
	commit(t);
	char path[600];
	snprintf(path, sizeof(path), "%s/mirror", f->dir);
	idn_store_opts_t o = {.path = path};
	replay_t r = {0};
	assert_int_equal(idn_store_open(&o, &r.dst), 0);
	idn_arena_init(&r.a, 0);
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(f->s, &rt), 0);
	assert_int_equal(idn_changes_read(rt, 0, 0, apply, &r), 0);
	idn_rtxn_free(rt);
	assert_int_equal(r.applied, 9 + 300);
	char *a = dump(f->s), *b = dump(r.dst);
	assert_string_equal(a, b);
	assert_non_null(strcasestr(a, "bulk-299"));
	free(a);
	free(b);
	/* the mirror logged what it applied, as its own history */
	seen_ch_t s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(idn_rtxn_begin(r.dst, &rt), 0);
	assert_int_equal(idn_changes_read(rt, 0, 5, note, &s), 0);
	idn_rtxn_free(rt);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.ops[0], IDN_CH_HOME);
	idn_arena_free(&r.a);
	idn_store_close(r.dst);
}

/* LMDB: a flipped byte in an entry is refused. */
static void test_damaged_entry(void **state)
{
	fx_t *f = *state;
	workload(f);
	close_store(f);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "changelog", 0, &dbi), 0);
	uint8_t key[8];
	idn_put_u64(key, 3);
	MDB_val k = {8, key}, d;
	assert_int_equal(mdb_get(txn, dbi, &k, &d), 0);
	uint8_t b[512];
	assert_true(d.mv_size <= sizeof(b));
	memcpy(b, d.mv_data, d.mv_size);
	b[20] ^= 1;
	MDB_val nd = {d.mv_size, b};
	assert_int_equal(mdb_put(txn, dbi, &k, &nd, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	open_store(f, 0);
	seen_ch_t s;
	memset(&s, 0, sizeof(s));
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(f->s, &rt), 0);
	assert_int_equal(idn_changes_read(rt, 1, 0, note, &s), IDN_ECORRUPT);
	assert_int_equal(s.n, 2); /* the two before it */
	memset(&s, 0, sizeof(s));
	assert_int_equal(idn_changes_read(rt, 4, 0, note, &s), 0);
	assert_int_equal(s.n, 6);
	idn_rtxn_free(rt);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest common[] = {
	T(test_every_operation),
	T(test_prune),
	T(test_replay),
};

static const struct CMUnitTest lmdb_only[] = {
	T(test_damaged_entry),
};

int main(void)
{
	return store_suite("changes", common,
			   sizeof(common) / sizeof(common[0]), lmdb_only,
			   sizeof(lmdb_only) / sizeof(lmdb_only[0]));
}
