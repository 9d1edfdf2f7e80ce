/* The LMDB store against damage (store_lmdb_check.h): checksummed records
 * refused and named when their bytes change, a truncated data file and a
 * damaged meta page refused at open with the file left as it was, older
 * stores given checksums, idn_store_check's scan, and hot backups taken
 * while writes go on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "search.h"
#include "store.h"
#include "store_fixture.h"
#include "store_helpers.h"
#include "wire.h"

/* ---- raw access to the environment ---- */

static MDB_env *raw_open(const fx_t *f, MDB_txn **txn)
{
	MDB_env *env;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 32), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, txn), 0);
	return env;
}

static void raw_close(MDB_env *env, MDB_txn *txn)
{
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Flips one bit of the stored blob of ident, at offset from its end. */
static void flip(fx_t *f, const char *ident, size_t from_end)
{
	MDB_txn *txn;
	MDB_env *env = raw_open(f, &txn);
	MDB_dbi dbi;
	assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
	idn_ident_t id;
	mkid(&id, ident);
	MDB_val k = {id.key_len, (void *)id.key}, d;
	assert_int_equal(mdb_get(txn, dbi, &k, &d), 0);
	uint8_t b[4096];
	assert_true(d.mv_size <= sizeof(b) && d.mv_size > from_end);
	memcpy(b, d.mv_data, d.mv_size);
	b[d.mv_size - 1 - from_end] ^= 0x10;
	MDB_val nd = {d.mv_size, b};
	assert_int_equal(mdb_put(txn, dbi, &k, &nd, 0), 0);
	raw_close(env, txn);
}

static char data_file[1100];

static const char *data_mdb(const fx_t *f)
{
	snprintf(data_file, sizeof(data_file), "%s/data.mdb", f->path);
	return data_file;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *len, fp), *len);
	fclose(fp);
	return b;
}

static void spill(const char *path, const uint8_t *b, size_t len)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, len, fp), len);
	fclose(fp);
}

/* ---- the scan's report ---- */

typedef struct {
	int n;
	char names[8][128];
	char whats[8][128];
} report_t;

static int note(void *ctx, const char *kind, idn_bytes_t name, const char *what)
{
	report_t *r = ctx;
	(void)kind;
	if (r->n < 8) {
		snprintf(r->names[r->n], 128, "%.*s", (int)name.len,
			 (const char *)name.p);
		snprintf(r->whats[r->n], 128, "%s", what);
	}
	r->n++;
	return 0;
}

static void fill(fx_t *f, const char *fmt, int n)
{
	idn_value_t v[2] = {val(1, "URL", "https://example.org/a"),
			    val(2, "EMAIL", "a@example.org")};
	idn_wtxn_t *t = wbegin(f);
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), fmt, i);
		idn_ident_t id;
		mkid(&id, name);
		assert_int_equal(idn_wtxn_create(t, &id, v, 2, false), 0);
	}
	commit(t);
}

/* A flipped bit anywhere in a record (value data, the identifier, the
 * check itself) is refused, logged once with the identifier, and named by
 * the scan; the other records are served. */
static void test_flipped_bit(void **state)
{
	fx_t *f = *state;
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_index_add(t, idn_bytes("URL", 3)), 0);
	commit(t);
	fill(f, "88.118.8/R%03d", 100);
	close_store(f);
	flip(f, "88.118.8/R007", 9);  /* the last byte of the values */
	flip(f, "88.118.8/R042", 60); /* inside a value */
	flip(f, "88.118.8/R099", 0);  /* the check */
	open_store(f, 0);
	const char *bad[] = {"88.118.8/R007", "88.118.8/R042", "88.118.8/R099"};
	for (int i = 0; i < 3; i++) {
		got_t g;
		last_log[0] = 0;
		assert_int_equal(fetch(f, bad[i], &g), IDN_ECORRUPT);
		got_free(&g);
		assert_non_null(strstr(last_log, "is damaged"));
		idn_ident_t id;
		mkid(&id, bad[i]);
		char key[64];
		snprintf(key, sizeof(key), "record %.*s ", (int)id.key_len,
			 (const char *)id.key);
		assert_non_null(strstr(last_log, key));
		/* once: the second read logs nothing */
		last_log[0] = 0;
		assert_int_equal(fetch(f, bad[i], &g), IDN_ECORRUPT);
		got_free(&g);
		assert_string_equal(last_log, "");
	}
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/R008", &g), 0);
	assert_int_equal(g.n, 2);
	assert_bytes_str(g.v[0].data, "https://example.org/a");
	got_free(&g);

	report_t r = {0};
	idn_check_stat_t st;
	assert_int_equal(idn_store_check(f->s, note, &r, &st), 0);
	assert_int_equal(st.records, 100);
	assert_int_equal(st.damaged, 3);
	assert_int_equal(r.n, 3);
	/* named by the stored key: the identifier is in the damaged bytes */
	for (int i = 0; i < 3; i++) {
		idn_ident_t id;
		mkid(&id, bad[i]);
		assert_int_equal(strlen(r.names[i]), id.key_len);
		assert_memory_equal(r.names[i], id.key, id.key_len);
	}
	assert_non_null(strstr(r.whats[0], "checksum mismatch"));

	/* a create with overwrite repairs one */
	idn_value_t v = val(1, "URL", "https://repaired");
	idn_ident_t id;
	mkid(&id, "88.118.8/R042");
	t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, &v, 1, true), 0);
	commit(t);
	memset(&r, 0, sizeof(r));
	assert_int_equal(idn_store_check(f->s, note, &r, &st), 0);
	assert_int_equal(st.damaged, 2);
	/* and a delete removes one, with the index entries naming it */
	mkid(&id, "88.118.8/R007");
	t = wbegin(f);
	assert_int_equal(idn_wtxn_delete(t, &id), 0);
	commit(t);
	memset(&r, 0, sizeof(r));
	assert_int_equal(idn_store_check(f->s, note, &r, &st), 0);
	assert_int_equal(st.records, 99);
	assert_int_equal(st.index, 99); /* one URL entry each */
	assert_int_equal(st.damaged, 1);
	assert_string_equal(r.whats[0],
			    "checksum mismatch: the stored bytes were changed");
}

/* A data file cut short is refused at open, read-only or not, with a
 * line saying so, and not written to. */
static void test_truncated(void **state)
{
	fx_t *f = *state;
	fill(f, "88.118.8/T%05d", 3000);
	close_store(f);
	size_t len;
	uint8_t *whole = slurp(data_mdb(f), &len);
	size_t cut = len * 6 / 10;
	assert_int_equal(truncate(data_mdb(f), (off_t)cut), 0);
	idn_store_t *s = (idn_store_t *)1;
	for (int ro = 0; ro < 2; ro++) {
		idn_store_opts_t o = {
			.path = f->path, .readonly = ro, .log = store_log};
		last_log[0] = 0;
		assert_int_equal(idn_store_open(&o, &s), IDN_ECORRUPT);
		assert_non_null(strstr(last_log, "truncated"));
		struct stat st;
		assert_int_equal(stat(data_mdb(f), &st), 0);
		assert_int_equal((size_t)st.st_size, cut);
		size_t now;
		uint8_t *b = slurp(data_mdb(f), &now);
		assert_memory_equal(b, whole, cut);
		free(b);
	}
	spill(data_mdb(f), whole, len);
	free(whole);
	open_store(f, 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/T02999", &g), 0);
	got_free(&g);
}

/* LMDB's meta page (lmdb.h's MDB_meta after a 16-byte page header, on a
 * 64-bit build): the main database's root page number and the txn id. */
#define META_MAIN_ROOT (16 + 24 + 48 + 40)
#define META_TXNID (16 + 24 + 2 * 48 + 8)

/* A damaged root pointer in the newest meta page: the store is refused,
 * nothing is written (the older meta page, the last good snapshot, is as
 * it was), and with the pointer put back everything is there. */
static void test_damaged_meta(void **state)
{
	fx_t *f = *state;
	fill(f, "88.118.8/M%03d", 200);
	fill(f, "88.118.8/N%03d", 10);
	close_store(f);
	size_t len;
	uint8_t *b = slurp(data_mdb(f), &len);
	MDB_txn *txn;
	MDB_env *env = raw_open(f, &txn);
	MDB_stat ms;
	assert_int_equal(mdb_env_stat(env, &ms), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	size_t ps = ms.ms_psize;
	uint64_t t0 = 0, t1 = 0;
	memcpy(&t0, b + META_TXNID, 8);
	memcpy(&t1, b + ps + META_TXNID, 8);
	assert_true(t0 != t1 && t0 > 0 && t1 > 0);
	size_t newest = t0 > t1 ? 0 : ps;
	uint64_t roots[] = {UINT64_MAX, (uint64_t)(len / ps) + 50};
	for (int i = 0; i < 2; i++) {
		uint8_t *d = malloc(len);
		assert_non_null(d);
		memcpy(d, b, len);
		memcpy(d + newest + META_MAIN_ROOT, &roots[i], 8);
		spill(data_mdb(f), d, len);
		idn_store_opts_t o = {.path = f->path, .log = store_log};
		idn_store_t *s = (idn_store_t *)1;
		last_log[0] = 0;
		assert_int_equal(idn_store_open(&o, &s), IDN_ECORRUPT);
		size_t now;
		uint8_t *after = slurp(data_mdb(f), &now);
		assert_int_equal(now, len);
		assert_memory_equal(after, d, len);
		free(after);
		free(d);
	}
	spill(data_mdb(f), b, len);
	free(b);
	open_store(f, 0);
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/N009", &g), 0);
	got_free(&g);
}

/* A store of version 3 (records without checks) is given them when opened
 * for writing, over several transactions, and reads the same after. */
static void test_upgrade(void **state)
{
	fx_t *f = *state;
	int n = 45000; /* more than one batch of the rewrite */
	fill(f, "88.118.8/U%05d", n);
	close_store(f);
	MDB_txn *txn;
	MDB_env *env = raw_open(f, &txn);
	MDB_dbi rec, meta;
	assert_int_equal(mdb_dbi_open(txn, "records", 0, &rec), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	int seen = 0;
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "88.118.8/U%05d", i);
		idn_ident_t id;
		mkid(&id, name);
		MDB_val k = {id.key_len, id.key}, d;
		assert_int_equal(mdb_get(txn, rec, &k, &d), 0);
		uint8_t b[1024];
		assert_true(d.mv_size <= sizeof(b));
		memcpy(b, d.mv_data, d.mv_size - 8); /* without the check */
		idn_put_u32(b, 1);
		MDB_val nd = {d.mv_size - 8, b};
		assert_int_equal(mdb_put(txn, rec, &k, &nd, 0), 0);
		seen++;
	}
	assert_int_equal(seen, n);
	uint8_t v3[4];
	idn_put_u32(v3, 3);
	MDB_val vk = {7, "version"}, vd = {4, v3};
	assert_int_equal(mdb_put(txn, meta, &vk, &vd, 0), 0);
	raw_close(env, txn);

	/* read-only: refused until upgraded */
	idn_store_opts_t o = {
		.path = f->path, .readonly = true, .log = store_log};
	idn_store_t *s = (idn_store_t *)1;
	assert_int_equal(idn_store_open(&o, &s), IDN_EREADONLY);

	last_log[0] = 0;
	idn_store_opts_t w = {.path = f->path, .log = store_log};
	int err = idn_store_open(&w, &f->s);
	if (err)
		fail_msg("open: %s; log: %s", idn_strerror(err), last_log);
	assert_non_null(strstr(last_log, "45000 records"));
	got_t g;
	assert_int_equal(fetch(f, "88.118.8/U44999", &g), 0);
	assert_int_equal(g.n, 2);
	assert_bytes_str(g.v[1].data, "a@example.org");
	got_free(&g);
	report_t r = {0};
	idn_check_stat_t st;
	assert_int_equal(idn_store_check(f->s, note, &r, &st), 0);
	assert_int_equal(st.records, (uint64_t)n);
	assert_int_equal(st.damaged, 0);
	close_store(f);
	assert_int_equal(idn_store_open(&o, &s), 0);
	idn_store_close(s);
	open_store(f, 0);
}

typedef struct {
	fx_t *f;
	volatile int stop;
	int written;
} writer_t;

static void *writer(void *arg)
{
	writer_t *w = arg;
	idn_value_t v = val(1, "URL", "https://during");
	for (int i = 0; !w->stop && i < 100000; i++) {
		char name[64];
		snprintf(name, sizeof(name), "88.118.8/W%06d", i);
		idn_ident_t id;
		mkid(&id, name);
		idn_wtxn_t *t;
		if (idn_wtxn_begin(w->f->s, &t) != 0)
			break;
		if (idn_wtxn_create(t, &id, &v, 1, false) != 0 ||
		    idn_wtxn_commit(t) != 0)
			break;
		w->written = i + 1;
	}
	return NULL;
}

/* A backup taken while a writer commits: the copy opens as a store, checks
 * clean and holds a prefix of the writer's records; a second backup into
 * the same directory is refused. */
static void test_backup(void **state)
{
	fx_t *f = *state;
	fill(f, "88.118.8/B%05d", 5000);
	writer_t w = {.f = f};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);
	while (w.written < 50)
		usleep(1000);
	char dir[1200];
	snprintf(dir, sizeof(dir), "%s/backup", f->dir);
	assert_int_equal(idn_store_backup(f->s, dir), 0);
	w.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(idn_store_backup(f->s, dir), IDN_EEXISTS);

	idn_store_opts_t o = {.path = dir, .existing = true, .log = store_log};
	idn_store_t *s;
	assert_int_equal(idn_store_open(&o, &s), 0);
	report_t r = {0};
	idn_check_stat_t st;
	assert_int_equal(idn_store_check(s, note, &r, &st), 0);
	assert_int_equal(st.damaged, 0);
	assert_true(st.records >= 5050 &&
		    st.records <= 5000 + (uint64_t)w.written);
	/* the writer's records in the copy are its first ones, in order */
	uint64_t in_copy = st.records - 5000;
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(s, &rt), 0);
	char name[64];
	idn_ident_t id;
	idn_record_t rec;
	snprintf(name, sizeof(name), "88.118.8/W%06d", (int)in_copy - 1);
	mkid(&id, name);
	assert_int_equal(idn_store_get(rt, id.key, id.key_len, &rec), 0);
	snprintf(name, sizeof(name), "88.118.8/W%06d", (int)in_copy);
	mkid(&id, name);
	assert_int_equal(idn_store_get(rt, id.key, id.key_len, &rec),
			 IDN_ENOTFOUND);
	idn_rtxn_free(rt);
	idn_store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest lmdb_only[] = {
	T(test_flipped_bit), T(test_truncated), T(test_damaged_meta),
	T(test_upgrade),     T(test_backup),
};

int main(void)
{
	return store_suite("store_integrity", NULL, 0, lmdb_only,
			   sizeof(lmdb_only) / sizeof(lmdb_only[0]));
}
