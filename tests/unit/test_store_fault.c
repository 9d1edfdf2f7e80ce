/* The storage interface when things go wrong (store.h): a full map,
 * corrupt data, bad arguments, concurrent writers and a crash in the
 * middle of writes. Runs on LMDB, or on PostgreSQL with IDN_TEST_PG
 * (store_fixture.h). */
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
#include <xxhash.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "search.h"
#include "store.h"
#include "store_fixture.h"
#include "store_helpers.h"
#include "value.h"
#include "wire.h"

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

/* Appends the blob's check (record.h) to len bytes at b: the stored bytes
 * are then as written, whatever their structure. */
static size_t seal(uint8_t *b, size_t len)
{
	idn_put_u64(b + len, XXH3_64bits(b, len));
	return len + 8;
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
	bad[1].len = blob(bad[1].b, 3, "88.118.8/FORMAT", 2, enc, elen);
	bad[2].key = "88.118.8/IDLEN";
	bad[2].len = blob(bad[2].b, 2, "88.118.8/IDLEN", 2, enc, elen);
	idn_put_u32(bad[2].b + 4, 0xfffffff0u);
	bad[3].key = "88.118.8/COUNT";
	bad[3].len = blob(bad[3].b, 2, "88.118.8/COUNT", 3, enc, elen);
	bad[4].key = "88.118.8/TRAIL";
	bad[4].len = blob(bad[4].b, 2, "88.118.8/TRAIL", 2, enc, elen);
	bad[4].b[bad[4].len++] = 0;
	bad[5].key = "88.118.8/ORDER";
	bad[5].len = blob(bad[5].b, 2, "88.118.8/ORDER", 2, enc_rev, elen);
	bad[6].key = "88.118.8/TRUNC";
	bad[6].len = blob(bad[6].b, 2, "88.118.8/TRUNC", 2, enc, elen) - 1;
	bad[7].key = "88.118.8/INNER";
	bad[7].len = blob(bad[7].b, 2, "88.118.8/INNER", 2, enc, elen);
	p = bad[7].b + 12 + strlen("88.118.8/INNER") + 14; /* type length */
	idn_put_u32(p, 0x7fffffffu);
	/* a well-formed record filed under another identifier's key */
	bad[8].key = "88.118.8/MISFILED";
	bad[8].len = blob(bad[8].b, 2, "88.118.8/ELSEWHERE", 2, enc, elen);
	/* each is damaged behind a check that matches: the structure is
	 * what refuses it */
	for (int i = 1; i < 9; i++)
		bad[i].len = seal(bad[i].b, bad[i].len);
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
		assert_bytes(rec.values, bad[i].b + hlen,
			     bad[i].len - hlen - 8);
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
	uint8_t v5[4]; /* newer than this build's 4 */
	idn_put_u32(v5, 5);
	raw_put(f, "meta", "version", 7, v5, 4);
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

/* ---- read-only open ---- */

typedef struct {
	uint8_t *bytes;
	size_t len;
	struct timespec mtime;
} file_state_t;

/* data.mdb as it is now (LMDB); nothing for PostgreSQL. */
static void file_state(const fx_t *f, file_state_t *out)
{
	memset(out, 0, sizeof(*out));
	if (pg_uri)
		return;
	char file[1100];
	snprintf(file, sizeof(file), "%s/data.mdb", f->path);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	out->mtime = st.st_mtim;
	out->len = (size_t)st.st_size;
	out->bytes = malloc(out->len ? out->len : 1);
	assert_non_null(out->bytes);
	FILE *fp = fopen(file, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(out->bytes, 1, out->len, fp), out->len);
	fclose(fp);
}

static void assert_file_same(const file_state_t *a, const file_state_t *b)
{
	assert_int_equal(a->len, b->len);
	assert_true(a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
	assert_int_equal(a->mtime.tv_sec, b->mtime.tv_sec);
	assert_int_equal(a->mtime.tv_nsec, b->mtime.tv_nsec);
}

static int open_ro(const fx_t *f, idn_store_t **s)
{
	idn_store_opts_t o = {
		.path = f->path, .readonly = true, .log = store_log};
	return idn_store_open(&o, s);
}

/* Walks one kind of item (r records, h homed, t types); returns the
 * count. */
static int count_items(idn_rtxn_t *rt, char kind)
{
	idn_iter_t *it;
	if (kind == 'r')
		assert_int_equal(idn_iter_records(rt, idn_bytes(NULL, 0),
						  idn_bytes(NULL, 0), &it),
				 0);
	else if (kind == 'h')
		assert_int_equal(idn_iter_homed(rt, &it), 0);
	else
		assert_int_equal(idn_iter_types(rt, &it), 0);
	idn_iter_item_t item;
	int n = 0, err;
	while ((err = idn_iter_next(it, &item)) == 0)
		n++;
	assert_int_equal(err, IDN_ENOTFOUND);
	idn_iter_free(it);
	return n;
}

/* A read-only open reads everything, writes nothing (LMDB: data.mdb's
 * bytes and mtime), and refuses write transactions. */
static void test_readonly(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "https://ro");
	create1(f, "88.118.8/A", &v, 1);
	create1(f, "88.118.8/B", &v, 1);
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8), 0);
	assert_int_equal(idn_wtxn_index_add(t, idn_bytes("URL", 3)), 0);
	commit(t);
	close_store(f);
	file_state_t before, after;
	file_state(f, &before);

	idn_store_t *s = NULL;
	assert_int_equal(open_ro(f, &s), 0);
	idn_rtxn_t *rt;
	assert_int_equal(idn_rtxn_begin(s, &rt), 0);
	assert_int_equal(count_items(rt, 'r'), 2);
	assert_int_equal(count_items(rt, 'h'), 1);
	assert_int_equal(count_items(rt, 't'), 1);
	idn_record_t rec;
	assert_int_equal(
		idn_store_get(rt, (const uint8_t *)"88.118.8/A", 10, &rec), 0);
	assert_int_equal(rec.nvalues, 1);
	idn_rtxn_free(rt);
	idn_wtxn_t *w = (idn_wtxn_t *)1;
	assert_int_equal(idn_wtxn_begin(s, &w), IDN_EREADONLY);
	assert_null(w);
	assert_string_equal(idn_strerror(IDN_EREADONLY),
			    "store is open read-only");
	idn_store_close(s);

	file_state(f, &after);
	assert_file_same(&before, &after);
	free(before.bytes);
	free(after.bytes);
	open_store(f, 0); /* for the teardown */
}

/* A read-only open never creates a store (PostgreSQL: not even the
 * migrations table in an empty schema). */
static void test_readonly_missing(void **state)
{
	fx_t *f = *state;
	char sql[256];
	fx_t e = *f;
	if (pg_uri) {
		snprintf(e.schema, sizeof(e.schema), "%.60s_e", f->schema);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", e.schema);
		pg_sql(sql);
		schema_uri(e.path, sizeof(e.path), pg_uri, e.schema);
	} else {
		snprintf(e.path, sizeof(e.path), "%s/none", f->dir);
	}
	idn_store_t *s = (idn_store_t *)1;
	assert_int_equal(open_ro(&e, &s), IDN_ENOTFOUND);
	assert_null(s);
	if (pg_uri) {
		PGconn *c = PQconnectdb(pg_uri);
		assert_int_equal(PQstatus(c), CONNECTION_OK);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_tables WHERE schemaname = "
			 "'%s'",
			 e.schema);
		PGresult *r = PQexec(c, sql);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		assert_string_equal(PQgetvalue(r, 0, 0), "0");
		PQclear(r);
		PQfinish(c);
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s", e.schema);
		pg_sql(sql);
	} else {
		struct stat st;
		assert_int_not_equal(stat(e.path, &st), 0);
	}
}

/* Older schemas opened read-only are refused with a line saying what to
 * do (their records have no checksums: they are not read unchecked), and
 * none is upgraded. A missing database is named, never created: neither
 * by a read-only open nor by an ordinary one, which would start an empty
 * store over the intact snapshot. */
static void test_readonly_old_schema(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "https://old");
	create1(f, "88.118.8/OLD", &v, 1);
	close_store(f);
	uint8_t ver[4];
	file_state_t before, after;
	idn_store_t *s;
	for (uint32_t old = 1; old <= 3; old++) {
		idn_put_u32(ver, old);
		raw_put(f, "meta", "version", 7, ver, 4);
		file_state(f, &before);
		last_log[0] = 0;
		s = (idn_store_t *)1;
		assert_int_equal(open_ro(f, &s), IDN_EREADONLY);
		assert_null(s);
		char want[32];
		snprintf(want, sizeof(want), "schema version %u", old);
		assert_non_null(strstr(last_log, want));
		assert_non_null(strstr(last_log, "start idnode on it once"));
		file_state(f, &after);
		assert_file_same(&before, &after);
		free(before.bytes);
		free(after.bytes);
	}

	/* a store without its prefixes database */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "prefixes", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	idn_put_u32(ver, 4);
	raw_put(f, "meta", "version", 7, ver, 4);
	file_state(f, &before);
	last_log[0] = 0;
	assert_int_equal(open_ro(f, &s), IDN_ECORRUPT);
	assert_non_null(strstr(last_log, "no 'prefixes' database"));
	idn_store_opts_t o = {.path = f->path, .log = store_log};
	last_log[0] = 0;
	assert_int_equal(idn_store_open(&o, &s), IDN_ECORRUPT);
	assert_non_null(strstr(last_log, "no 'prefixes' database"));
	assert_non_null(strstr(last_log, "without writing"));
	file_state(f, &after);
	assert_file_same(&before, &after);
	free(before.bytes);
	free(after.bytes);
	/* put back by hand, for the teardown */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "prefixes", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	open_store(f, 0);
}

/* PostgreSQL: a schema at version 2 opened read-only is refused, and no
 * migration runs. */
static void test_readonly_pg_old_schema(void **state)
{
	fx_t *f = *state;
	if (pg_uri == NULL)
		skip();
	close_store(f);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "DELETE FROM %s.idn_schema_migrations WHERE version >= 3",
		 f->schema);
	pg_sql(sql);
	idn_store_t *s = (idn_store_t *)1;
	last_log[0] = 0;
	assert_int_equal(open_ro(f, &s), IDN_EREADONLY);
	assert_null(s);
	assert_non_null(strstr(last_log, "schema version 2"));
	assert_non_null(strstr(last_log, "start idnode on it once"));
	PGconn *c = PQconnectdb(pg_uri);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	snprintf(sql, sizeof(sql),
		 "SELECT max(version) FROM %s.idn_schema_migrations",
		 f->schema);
	PGresult *r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "2");
	PQclear(r);
	PQfinish(c);
	open_store(f, 0); /* upgrades it, for the teardown */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* The tests of every backend. */
static const struct CMUnitTest common[] = {
	T(test_bad_arguments),
	T(test_overwrite_sequence),
	T(test_concurrent_writers),
	T(test_crash),
	T(test_readonly),
	T(test_readonly_missing),
	T(test_readonly_pg_old_schema),
};

/* LMDB's own: its map, its files and raw LMDB corruption. PostgreSQL's
 * own tests are in test_store_pg.c. */
static const struct CMUnitTest lmdb_only[] = {
	T(test_map_full),
	T(test_corrupt_blob),
	T(test_schema_version),
	T(test_readonly_old_schema),
};

int main(void)
{
	return store_suite("store_fault", common,
			   sizeof(common) / sizeof(common[0]), lmdb_only,
			   sizeof(lmdb_only) / sizeof(lmdb_only[0]));
}
