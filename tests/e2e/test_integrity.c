/* A node's store against damage and its backups, from outside: a flipped
 * byte in data.mdb is answered as corrupt (rc 2), never served, logged
 * once and named by idctl check; a truncated data file and a damaged meta
 * page stop the node at start with a clear line and the file untouched;
 * idctl backup takes a copy during writes that a node starts on and that
 * checks clean; a PostgreSQL node says how it is copied. HANDLE.NET's
 * BACKUP_SERVER (op 1003, idctl checkpoint) makes dated copies for backup
 * and replication admins alone. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static const char *data_mdb(const node_t *n)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/data.mdb", n->data);
	return p;
}

static int count(const char *hay, const char *needle)
{
	int k = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/* A byte of a value flipped on disk: rc 2 for that record, the others
 * served; one log line naming it however often it is asked for; idctl
 * check exits 1 naming it, 0 once the record is written again. */
static void flipped_byte(void **state)
{
	(void)state;
	h_skip_on_pg("the checksums are LMDB's (PostgreSQL checks its pages)");
	node_t *n = node_new("--home", H_HOME, "--rrl-rate", "0", NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/flip",
		 "1:URL=https://example.org/QQQQ-unique-flip", NULL);
	h_ctl_ok(n, "create", H_HOME "/keep", "1:URL=https://example.org/k",
		 NULL);
	node_stop(n);
	size_t len;
	char *b = h_slurp(data_mdb(n), &len);
	int hits = 0;
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(b + i, "QQQQ", 4) == 0) {
			b[i + 1] = 'R'; /* every copy LMDB left in the file */
			hits++;
		}
	assert_true(hits >= 1);
	h_spill(data_mdb(n), b, len);
	free(b);
	node_start(n);
	h_run_t r;
	for (int i = 0; i < 3; i++) {
		assert_int_not_equal(
			h_net(&r, n, "resolve", H_HOME "/flip", NULL), 0);
		assert_non_null(strstr(r.err, "stored data is corrupt"));
		assert_null(strstr(r.out, "QRQQ"));
		h_run_free(&r);
	}
	assert_int_equal(h_net(&r, n, "resolve", H_HOME "/keep", NULL), 0);
	assert_non_null(strstr(r.out, "https://example.org/k"));
	h_run_free(&r);
	char *log = node_log(n);
	if (count(log, "is damaged") != 1 ||
	    strstr(log, "record 88.118.8/flip is damaged") == NULL)
		fail_msg("want one line naming the record; log:\n%s", log);
	free(log);
	node_stop(n);

	assert_int_equal(h_idctl(&r, "check", "--data", n->data, NULL), 1);
	assert_non_null(strstr(r.out, "damaged record 88.118.8/flip"));
	assert_non_null(strstr(r.out, "checked 2 records"));
	h_run_free(&r);
	node_start(n);
	h_ctl_ok(n, "create", "--overwrite", H_HOME "/flip",
		 "1:URL=https://example.org/fixed", NULL);
	assert_int_equal(h_idctl(&r, "check", "--data", n->data, NULL), 0);
	assert_non_null(strstr(r.out, "clean"));
	h_run_free(&r);
	node_free(n);
}

static node_t *populated(int count_ids)
{
	node_t *n = node_new("--rrl-rate", "0", NULL);
	char c[16];
	snprintf(c, sizeof(c), "%d", count_ids);
	h_run_t r;
	assert_int_equal(h_idctl(&r, "populate", "--data", n->data, "--prefix",
				 H_HOME, "--count", c, NULL),
			 0);
	h_run_free(&r);
	return n;
}

/* The node exits with status 1 and a line containing want; data.mdb is
 * byte for byte what it was. */
static void refused_at_start(node_t *n, const char *want)
{
	size_t len, now;
	char *before = h_slurp(data_mdb(n), &len);
	node_spawn(n);
	int st = node_wait_exit(n, 10000);
	char *log = node_log(n);
	if (st == 0 || strstr(log, want) == NULL)
		fail_msg("exit %d; log:\n%s", st, log);
	free(log);
	char *after = h_slurp(data_mdb(n), &now);
	assert_int_equal(now, len);
	assert_memory_equal(after, before, len);
	free(before);
	free(after);
}

/* A data file cut to 60 %: refused, not killed by SIGBUS. */
static void truncated(void **state)
{
	(void)state;
	h_skip_on_pg("an LMDB data file");
	node_t *n = populated(20000);
	size_t len;
	char *whole = h_slurp(data_mdb(n), &len);
	assert_int_equal(truncate(data_mdb(n), (off_t)(len * 6 / 10)), 0);
	refused_at_start(n, "truncated");
	h_spill(data_mdb(n), whole, len);
	free(whole);
	node_start(n);
	h_run_t r;
	assert_int_equal(h_net(&r, n, "resolve", H_HOME "/bench-19999", NULL),
			 0);
	h_run_free(&r);
	node_free(n);
}

/* LMDB's meta page (lmdb.h's MDB_meta after the 16-byte page header, on
 * a 64-bit build): the main database's root page, the transaction id. */
#define META_MAIN_ROOT (16 + 24 + 48 + 40)
#define META_TXNID (16 + 24 + 2 * 48 + 8)

/* The newest meta page's root pointer damaged: refused without writing
 * (the older meta page, the last good snapshot, stays as it was). */
static void damaged_meta(void **state)
{
	(void)state;
	h_skip_on_pg("an LMDB data file");
	node_t *n = populated(5000);
	size_t len;
	char *b = h_slurp(data_mdb(n), &len);
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t t0, t1, bad = UINT64_MAX;
	memcpy(&t0, b + META_TXNID, 8);
	memcpy(&t1, b + ps + META_TXNID, 8);
	size_t newest = t0 > t1 ? 0 : ps;
	char *d = malloc(len);
	assert_non_null(d);
	memcpy(d, b, len);
	memcpy(d + newest + META_MAIN_ROOT, &bad, 8);
	h_spill(data_mdb(n), d, len);
	refused_at_start(n, "no 'records' database");
	h_spill(data_mdb(n), b, len);
	free(b);
	free(d);
	node_start(n);
	h_run_t r;
	assert_int_equal(h_net(&r, n, "resolve", H_HOME "/bench-4999", NULL),
			 0);
	h_run_free(&r);
	node_free(n);
}

typedef struct {
	node_t *n;
	volatile int stop;
	int done;
} writes_t;

static void *writes(void *arg)
{
	writes_t *w = arg;
	for (int i = 0; !w->stop && i < 400; i++) {
		char id[64], v[64];
		snprintf(id, sizeof(id), H_HOME "/during-%d", i);
		snprintf(v, sizeof(v), "1:URL=https://example.org/%d", i);
		h_run_t r;
		int st = h_ctl(&r, w->n, "create", id, v, NULL);
		h_run_free(&r);
		if (st != 0)
			break;
		w->done = i + 1;
	}
	return NULL;
}

/* A backup while creates go on: a node starts on the copy as it is, the
 * copy checks clean and holds the writes up to some point. */
static void backup_during_writes(void **state)
{
	(void)state;
	h_skip_on_pg("LMDB's hot copy");
	node_t *n = populated(30000);
	node_start(n);
	writes_t w = {.n = n};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, writes, &w), 0);
	while (w.done < 10)
		usleep(2000);
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/backup", n->dir);
	h_run_t r;
	assert_int_equal(h_ctl(&r, n, "--json", "backup", dir, NULL), 0);
	json_t *j = h_json(&r);
	assert_non_null(j);
	json_int_t recs = json_integer_value(json_object_get(j, "records"));
	assert_true(recs >= 30010 && recs <= 30400);
	assert_true(json_is_true(json_object_get(j, "checked")));
	json_decref(j);
	h_run_free(&r);
	w.stop = 1;
	pthread_join(th, NULL);
	/* the same directory again: refused, the copy kept */
	assert_int_equal(h_ctl(&r, n, "backup", dir, NULL), 1);
	assert_non_null(strstr(r.err, "already holds a store"));
	h_run_free(&r);
	assert_int_equal(h_idctl(&r, "check", "--data", dir, NULL), 0);
	h_run_free(&r);

	node_t *copy = node_new("--rrl-rate", "0", NULL);
	assert_int_equal(rmdir(copy->data) == 0 || errno == ENOENT, 1);
	assert_int_equal(rename(dir, copy->data), 0);
	node_start(copy);
	char last[64];
	snprintf(last, sizeof(last), H_HOME "/during-%lld",
		 (long long)(recs - 30000 - 1));
	assert_int_equal(h_net(&r, copy, "resolve", last, NULL), 0);
	h_run_free(&r);
	snprintf(last, sizeof(last), H_HOME "/during-%lld",
		 (long long)(recs - 30000));
	assert_int_not_equal(h_net(&r, copy, "resolve", last, NULL), 0);
	h_run_free(&r);
	assert_int_equal(
		h_net(&r, copy, "resolve", H_HOME "/bench-29999", NULL), 0);
	h_run_free(&r);
	node_free(copy);
	node_free(n);
}

/* PostgreSQL is copied with its own tools: the node says which. */
static void backup_pg_says_how(void **state)
{
	(void)state;
	if (!h_pg()) {
		print_message(
			"[ SKIP     ] on LMDB: a PostgreSQL node's answer\n");
		skip();
	}
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/backup", n->dir);
	h_run_t r;
	assert_int_equal(h_ctl(&r, n, "backup", dir, NULL), 1);
	assert_non_null(strstr(r.err, "pg_basebackup"));
	assert_non_null(strstr(r.err, "idctl migrate"));
	h_run_free(&r);
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0);
	node_free(n);
}

/* The dated copies in dir, sorted (oldest first); returns their number. */
static int dated_copies(const char *dir, char names[][64], int cap)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, "idnode-", 7) && n < cap &&
		    strlen(e->d_name) < 64)
			memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	qsort(names, (size_t)n, 64,
	      (int (*)(const void *, const void *))strcmp);
	return n;
}

/* The record count idctl check reports for the copy dir/name. */
static long checked_records(const char *dir, const char *name)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	h_run_t r;
	assert_int_equal(h_idctl(&r, "check", "--data", path, NULL), 0);
	const char *at = strstr(r.out, "checked ");
	assert_non_null(at);
	assert_non_null(strstr(r.out, "clean"));
	long n = strtol(at + 8, NULL, 10);
	h_run_free(&r);
	return n;
}

/* Op 1003 over the network, as admin idx of 0.NA/H_HOME with key. */
static int checkpoint(h_run_t *r, const node_t *n, const char *idx,
		      const char *key)
{
	char admin[64];
	snprintf(admin, sizeof(admin), "0.NA/" H_HOME ":%s", idx);
	return h_idctl(r, "-s", n->addr, "--auth", admin, "--key", key,
		       "checkpoint", NULL);
}

/* HANDLE.NET's BACKUP_SERVER (op 1003: hdl-docheckpoint, idctl
 * checkpoint): a backup admin's request, proven by its key, makes a dated
 * copy under backup-dir that checks clean and holds what was committed;
 * so does a replication admin's; backup-keep keeps the newest; a server
 * admin with every HS_ADMIN right who is neither is refused, as HANDLE.NET
 * refuses its server admins, and nothing is made; the operator's control
 * socket may ask too. On PostgreSQL the node says how it is copied.
 * (HANDLE.NET's own client: tests/interop/handle-net.d/65-backup.sh.) */
static void backup_server_op(void **state)
{
	(void)state;
	node_t *n = node_create();
	char bdir[200], k300[200], k301[200], k302[200];
	snprintf(bdir, sizeof(bdir), "%s/copies", n->dir);
	snprintf(k300, sizeof(k300), "%s/k300.pem", n->dir);
	snprintf(k301, sizeof(k301), "%s/k301.pem", n->dir);
	snprintf(k302, sizeof(k302), "%s/k302.pem", n->dir);
	node_set_args(n, "--home", H_HOME, "--backup-admin",
		      "0.NA/" H_HOME ":300", "--server-admin",
		      "0.NA/" H_HOME ":301", "--replication-admin",
		      "0.NA/" H_HOME ":302", "--backup-dir", bdir,
		      "--backup-keep", "2", NULL);
	node_start(n);
	char *p300 = h_keygen(k300, NULL, NULL),
	     *p301 = h_keygen(k301, NULL, NULL),
	     *p302 = h_keygen(k302, NULL, NULL);
	char v300[2048], v301[2048], v302[2048];
	snprintf(v300, sizeof(v300), "300:HS_PUBKEY=hex:%s", p300);
	snprintf(v301, sizeof(v301), "301:HS_PUBKEY=hex:%s", p301);
	snprintf(v302, sizeof(v302), "302:HS_PUBKEY=hex:%s", p302);
	free(p300);
	free(p301);
	free(p302);
	h_ctl_ok(n, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300",
		 "101:HS_ADMIN=0.NA/" H_HOME "@301", v300, v301, v302, NULL);
	h_ctl_ok(n, "create", H_HOME "/bk-1", "1:URL=https://example.org/1",
		 NULL);
	char names[8][64];
	h_run_t r;
	/* a server admin with every right on the prefix, but no backup or
	 * replication admin */
	assert_int_equal(checkpoint(&r, n, "301", k301), 1);
	assert_non_null(strstr(r.err, "rc 401"));
	assert_non_null(strstr(r.err, "backup admin"));
	h_run_free(&r);
	assert_int_equal(dated_copies(bdir, names, 8), 0);
	if (h_pg()) {
		assert_int_equal(checkpoint(&r, n, "300", k300), 1);
		assert_non_null(strstr(r.err, "pg_basebackup"));
		h_run_free(&r);
		assert_int_equal(dated_copies(bdir, names, 8), 0);
		node_free(n);
		return;
	}
	assert_int_equal(checkpoint(&r, n, "300", k300), 0);
	assert_non_null(strstr(r.out, "dated copy"));
	h_run_free(&r);
	assert_int_equal(dated_copies(bdir, names, 8), 1);
	long first = checked_records(bdir, names[0]);
	assert_true(first >= 2);
	h_ctl_ok(n, "create", H_HOME "/bk-2", "1:URL=https://example.org/2",
		 NULL);
	/* a replication admin may too */
	assert_int_equal(checkpoint(&r, n, "302", k302), 0);
	h_run_free(&r);
	/* the operator's control socket runs it as well */
	assert_int_equal(h_ctl(&r, n, "checkpoint", NULL), 0);
	h_run_free(&r);
	/* three made, the newest two kept; the newest holds bk-2 */
	assert_int_equal(dated_copies(bdir, names, 8), 2);
	assert_int_equal(checked_records(bdir, names[0]), first + 1);
	assert_int_equal(checked_records(bdir, names[1]), first + 1);
	char *log = node_log(n);
	assert_int_equal(
		count(log, "backup server: admin 300:0.NA/" H_HOME " asked"),
		1);
	assert_int_equal(
		count(log, "backup server: admin 302:0.NA/" H_HOME " asked"),
		1);
	assert_int_equal(count(log, "backup server: operator asked"), 1);
	assert_int_equal(count(log, "backup-keep: removed the old copy"), 1);
	free(log);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flipped_byte),
		cmocka_unit_test(truncated),
		cmocka_unit_test(damaged_meta),
		cmocka_unit_test(backup_during_writes),
		cmocka_unit_test(backup_pg_says_how),
		cmocka_unit_test(backup_server_op),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
