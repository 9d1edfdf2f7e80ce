/* A mirror repairs its damaged records from its source (idctl -C SOCK
 * repair; docs/replication.md, Repair): bytes flipped in data.mdb in two
 * records' values and in one record's identifier are named by idctl
 * check; the repair replaces the three with the primary's, after which
 * the store checks clean, the mirror's records equal the primary's, it
 * made no new copy and it keeps following. A node that is not a mirror
 * refuses a repair and says how else to recover.
 *
 * The mirrors run on LMDB (the store whose bytes are flipped). On the
 * LMDB pass the primary does too; on the PostgreSQL pass (IDN_E2E_PG) it
 * runs on PostgreSQL, the source the repairs read from. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define REPL_ADMIN "0.NA/" H_HOME ":300"

static char dir[] = "/tmp/idn-repair.XXXXXX";
static char key[300], srv_key[300], srv_pub[300];
static node_t *prim, *mir;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *ctl_out(const node_t *n, const char *a1, const char *a2,
		     const char *a3)
{
	h_run_t r;
	h_ctl(&r, n, a1, a2, a3, NULL);
	char *out = r.status == 0 ? strdup(r.out) : NULL;
	h_run_free(&r);
	return out;
}

static bool same_text(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Waits until the mirror's export of H_HOME equals the primary's. */
static void converge(int timeout_ms)
{
	long long t0 = now_ms();
	char *pa = ctl_out(prim, "export", H_HOME, NULL);
	assert_non_null(pa);
	for (;;) {
		char *ma = ctl_out(mir, "export", H_HOME, NULL);
		bool same = same_text(pa, ma);
		free(ma);
		if (same)
			break;
		if (now_ms() - t0 > timeout_ms)
			fail_msg("the mirror did not converge in %d ms",
				 timeout_ms);
		h_msleep(20);
	}
	free(pa);
}

/* A mirror keeps its store in LMDB, in its data directory, on both passes
 * (on PostgreSQL's the harness would give it a database, which a mirror
 * cannot run on: docs/replication.md). */
static void on_lmdb(node_t *m)
{
	char store[160];
	snprintf(store, sizeof(store), "lmdb:%s", m->data);
	node_add_args(m, "--store", store, NULL);
}

/* The source's state and its copies since the mirror started. */
static void status(char *state, size_t cap, long long *dumps)
{
	json_t *st = h_ctl_json(mir, "replication", "status", NULL);
	json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
	const char *s = json_string_value(json_object_get(s0, "state"));
	snprintf(state, cap, "%s", s ? s : "");
	*dumps = json_integer_value(json_object_get(s0, "dumps"));
	json_decref(st);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/repl.pem", dir);
	char *pub = h_keygen(key, NULL, NULL);
	snprintf(srv_key, sizeof(srv_key), "%s/server.pem", dir);
	snprintf(srv_pub, sizeof(srv_pub), "%s/server.pem.pub", dir);
	free(h_keygen(srv_key, NULL, NULL));
	prim = node_new("--home", H_HOME, "--replication-admin", REPL_ADMIN,
			"--server-key", srv_key, NULL);
	node_start(prim);
	char v1[4096];
	snprintf(v1, sizeof(v1), "300:HS_PUBKEY=hex:%s", pub);
	free(pub);
	h_ctl_ok(prim, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", v1, NULL);
	h_ctl_ok(prim, "index", "add", "EMAIL", NULL);
	h_ctl_ok(prim, "create", H_HOME "/val-a",
		 "1:URL=https://example.org/AAAA-first",
		 "2:EMAIL=a@example.com", NULL);
	h_ctl_ok(prim, "create", H_HOME "/val-b",
		 "1:URL=https://example.org/BBBB-second", NULL);
	h_ctl_ok(prim, "create", H_HOME "/name-c",
		 "1:URL=https://example.org/c", "2:EMAIL=c@example.com", NULL);
	for (int i = 0; i < 20; i++) {
		char id[64], v[64];
		snprintf(id, sizeof(id), H_HOME "/keep-%d", i);
		snprintf(v, sizeof(v), "1:URL=https://example.org/k/%d", i);
		h_ctl_ok(prim, "create", id, v, NULL);
	}
	mir = node_new("--replicate-from", prim->addr, "--replication-auth",
		       REPL_ADMIN, "--replication-key", key, NULL);
	on_lmdb(mir);
	node_start(mir);
	converge(15000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (prim == NULL)
		return 0;
	if (node_alive(mir))
		node_stop(mir);
	node_free(mir);
	node_stop(prim);
	node_free(prim);
	h_rmtree(dir);
	return 0;
}

/* Where a record's blob starts in b (record.h: u32 format 2, u32 length,
 * the identifier), from at; NULL when no more. */
static char *blob_of(char *b, size_t len, size_t at, const char *id)
{
	size_t il = strlen(id);
	char head[8 + 128];
	memcpy(head, "\0\0\0\x02\0\0\0", 7);
	head[7] = (char)il;
	memcpy(head + 8, id, il);
	for (size_t i = at; i + 8 + il <= len; i++)
		if (memcmp(b + i, head, 8 + il) == 0)
			return b + i;
	return NULL;
}

/* Flips, in every copy of id's record blob in b, the byte at offset off
 * of marker within the blob (marker NULL: the identifier's last byte).
 * Returns the copies changed. */
static int flip(char *b, size_t len, const char *id, const char *marker)
{
	int hits = 0;
	size_t il = strlen(id);
	for (char *p = blob_of(b, len, 0, id); p != NULL;
	     p = blob_of(b, len, (size_t)(p - b) + 1, id)) {
		char *at = p + 8 + il - 1;
		if (marker) {
			size_t room = (size_t)(b + len - p);
			at = memmem(p, room < 400 ? room : 400, marker,
				    strlen(marker));
			if (at == NULL)
				continue;
			at += 1;
		}
		*at ^= 0x01;
		hits++;
	}
	return hits;
}

/* Flips a byte of id's stored record in the data file of n (stopped):
 * in its value after marker, or in its key when marker is NULL. */
static void flip_stored(const node_t *n, const char *id, const char *marker)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/data.mdb", n->data);
	size_t len;
	char *b = h_slurp(path, &len);
	assert_true(flip(b, len, id, marker) >= 1);
	h_spill(path, b, len);
	free(b);
}

static void repair_from_source(void **state)
{
	(void)state;
	node_stop(mir);
	flip_stored(mir, H_HOME "/val-a", "AAAA");
	flip_stored(mir, H_HOME "/val-b", "BBBB");
	flip_stored(mir, H_HOME "/name-c", NULL);

	h_run_t r;
	assert_int_equal(h_idctl(&r, "check", "--data", mir->data, NULL), 1);
	const char *want[] = {H_HOME "/val-a", H_HOME "/val-b",
			      H_HOME "/name-c"};
	int named = 0;
	for (const char *p = r.out; (p = strstr(p, "damaged record")) != NULL;
	     p++)
		named++;
	for (int i = 0; i < 3; i++) {
		char line[128];
		snprintf(line, sizeof(line), "damaged record %s", want[i]);
		/* a blob whose identifier is damaged is named by its key:
		 * the identifier normalised (suffix upper-cased) */
		if (strcasestr(r.out, line) == NULL)
			fail_msg("check does not name %s:\n%s", want[i], r.out);
	}
	assert_int_equal(named, 3);
	h_run_free(&r);

	node_start(mir);
	char st[32];
	long long dumps = -1;
	/* it goes on from its position (an idle source holds the first
	 * request: the state says "starting" until something changes) */
	status(st, sizeof(st), &dumps);
	assert_string_not_equal(st, "error");
	assert_int_equal(dumps, 0);
	h_net(&r, mir, "resolve", H_HOME "/val-a", NULL);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.err, "corrupt"));
	h_run_free(&r);

	json_t *j = h_ctl_json(mir, "repair", NULL);
	print_message(
		"repair: checked %lld, damaged %lld, repaired %lld, "
		"deleted %lld, failed %zu\n",
		(long long)json_integer_value(json_object_get(j, "checked")),
		(long long)json_integer_value(json_object_get(j, "damaged")),
		(long long)json_integer_value(json_object_get(j, "repaired")),
		(long long)json_integer_value(json_object_get(j, "deleted")),
		json_array_size(json_object_get(j, "failed")));
	/* the prefix handle, three damaged and twenty intact */
	assert_int_equal(json_integer_value(json_object_get(j, "checked")), 24);
	assert_int_equal(json_integer_value(json_object_get(j, "damaged")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "repaired")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "deleted")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "restored")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "failed")), 0);
	json_decref(j);

	/* the mirror's records are the primary's, as each resolves them */
	for (int i = 0; i < 3; i++) {
		char *p = ctl_out(prim, "--json", "resolve", want[i]);
		char *m = ctl_out(mir, "--json", "resolve", want[i]);
		if (!same_text(p, m))
			fail_msg("%s: primary %s, mirror %s", want[i], p, m);
		free(p);
		free(m);
		h_net(&r, mir, "resolve", want[i], NULL);
		h_assert_status(&r, 0);
		h_run_free(&r);
	}
	/* the index names the replaced records again, as the primary's */
	const char *emails[] = {"a@example.com", "c@example.com"};
	for (int i = 0; i < 2; i++) {
		h_run_t rp, rm;
		h_ctl(&rp, prim, "search", "--type", "EMAIL", "--data",
		      emails[i], NULL);
		h_ctl(&rm, mir, "search", "--type", "EMAIL", "--data",
		      emails[i], NULL);
		h_assert_status(&rm, 0);
		assert_true(strstr(rm.out, i ? "name-c" : "val-a") != NULL);
		assert_string_equal(rp.out, rm.out);
		h_run_free(&rp);
		h_run_free(&rm);
	}
	converge(100);

	/* it keeps following, without a new copy */
	h_ctl_ok(prim, "create", H_HOME "/after", "1:URL=https://example.org/z",
		 NULL);
	converge(10000);
	status(st, sizeof(st), &dumps);
	assert_int_equal(dumps, 0);
	h_net(&r, mir, "resolve", H_HOME "/after", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://example.org/z"));
	h_run_free(&r);

	/* a second repair finds nothing; the store checks clean */
	h_ctl(&r, mir, "repair", NULL);
	if (r.status != 0 || strstr(r.out, "0 damaged, 0 repaired") == NULL)
		fail_msg("second repair: status %d\n%s%s", r.status, r.out,
			 r.err);
	h_run_free(&r);
	node_stop(mir);
	assert_int_equal(h_idctl(&r, "check", "--data", mir->data, NULL), 0);
	assert_non_null(strstr(r.out, "clean"));
	h_run_free(&r);
	node_start(mir);
}

/* A byte of a record's key flipped: the blob, intact, sits under a key
 * that is not its identifier's. The check names the key; the repair
 * deletes what is under it (the source has no such record) and restores
 * the record under its own key, missing here. */
static void damaged_key(void **state)
{
	(void)state;
	/* the last key of the records: the flip (T to U) keeps the order */
	h_ctl_ok(prim, "create", H_HOME "/zz-last",
		 "1:URL=https://example.org/last", "2:EMAIL=z@example.com",
		 NULL);
	converge(10000);
	node_stop(mir);
	char path[300];
	snprintf(path, sizeof(path), "%s/data.mdb", mir->data);
	size_t len;
	char *b = h_slurp(path, &len);
	const char *k = H_HOME "/ZZ-LAST";
	size_t kl = strlen(k);
	int hits = 0;
	/* an LMDB leaf node: the key, then the record blob */
	for (size_t i = 0; i + kl + 8 <= len; i++)
		if (memcmp(b + i, k, kl) == 0 &&
		    blob_of(b, len, i + kl, H_HOME "/zz-last") == b + i + kl) {
			b[i + kl - 1] ^= 0x01;
			hits++;
		}
	assert_true(hits >= 1);
	h_spill(path, b, len);
	free(b);
	h_run_t r;
	assert_int_equal(h_idctl(&r, "check", "--data", mir->data, NULL), 1);
	/* and the index entry of the record missing under its own key */
	if (strstr(r.out, "damaged record " H_HOME "/ZZ-LASU") == NULL ||
	    strstr(r.out, "damaged index " H_HOME "/ZZ-LAST") == NULL ||
	    strstr(r.out, "2 damaged") == NULL)
		fail_msg("check does not name the key:\n%s", r.out);
	h_run_free(&r);
	node_start(mir);
	h_net(&r, mir, "resolve", H_HOME "/zz-last", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);

	json_t *j = h_ctl_json(mir, "repair", NULL);
	char *dump = json_dumps(j, 0);
	print_message("repair: %s\n", dump);
	free(dump);
	assert_int_equal(json_integer_value(json_object_get(j, "damaged")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "repaired")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "deleted")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "restored")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "failed")), 0);
	json_decref(j);
	converge(100);
	h_net(&r, mir, "resolve", H_HOME "/zz-last", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://example.org/last"));
	h_run_free(&r);
	node_stop(mir);
	assert_int_equal(h_idctl(&r, "check", "--data", mir->data, NULL), 0);
	h_run_free(&r);
	node_start(mir);
}

/* A mirror that follows through HANDLE.NET's signed streams (1001/1002)
 * repairs from its 1002 copy. */
static void repair_over_handle_net_streams(void **state)
{
	(void)state;
	node_t *m = node_new("--replicate-from", prim->addr,
			     "--replication-protocol", "handle.net",
			     "--replication-source-key", srv_pub,
			     "--replication-auth", REPL_ADMIN,
			     "--replication-key", key, NULL);
	on_lmdb(m);
	node_start(m);
	char *pa = ctl_out(prim, "export", H_HOME, NULL);
	char *ma = NULL;
	long long t0 = now_ms();
	while (!same_text(pa, ma) && now_ms() - t0 < 15000) {
		free(ma);
		h_msleep(20);
		ma = ctl_out(m, "export", H_HOME, NULL);
	}
	assert_true(same_text(pa, ma));
	free(ma);
	node_stop(m);
	flip_stored(m, H_HOME "/val-b", "BBBB");
	node_start(m);
	json_t *j = h_ctl_json(m, "repair", NULL);
	char *dump = json_dumps(j, 0);
	print_message("repair over HANDLE.NET's streams: %s\n", dump);
	free(dump);
	assert_int_equal(json_integer_value(json_object_get(j, "damaged")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "repaired")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "restored")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "failed")), 0);
	json_decref(j);
	ma = ctl_out(m, "export", H_HOME, NULL);
	assert_true(same_text(pa, ma));
	free(ma);
	free(pa);
	h_ctl_ok(prim, "create", H_HOME "/after-hn",
		 "1:URL=https://example.org/hn", NULL);
	pa = ctl_out(prim, "export", H_HOME, NULL);
	ma = NULL;
	t0 = now_ms();
	while (!same_text(pa, ma) && now_ms() - t0 < 15000) {
		free(ma);
		h_msleep(20);
		ma = ctl_out(m, "export", H_HOME, NULL);
	}
	assert_true(same_text(pa, ma));
	free(ma);
	free(pa);
	node_stop(m);
	h_run_t r;
	assert_int_equal(h_idctl(&r, "check", "--data", m->data, NULL), 0);
	h_run_free(&r);
	node_free(m);
}

static void bulk_file(const char *path, const char *name, int n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f,
			"{\"handle\":\"" H_HOME "/%s-%d\",\"values\":["
			"{\"index\":1,\"type\":\"URL\",\"data\":\"https://"
			"example.org/%s/%d\"}]}\n",
			name, i, name, i);
	assert_int_equal(fclose(f), 0);
}

#define ROUNDS 60

typedef struct {
	char files[ROUNDS][300];
	volatile int stop, rounds, status;
} import_t;

/* Imports one file after the other until told to stop. */
static void *import_bg(void *arg)
{
	import_t *im = arg;
	for (int i = 0; i < ROUNDS && !im->stop && im->status == 0; i++) {
		h_run_t r;
		im->status = h_ctl(&r, prim, "import", im->files[i], NULL);
		h_run_free(&r);
		im->rounds = i + 1;
	}
	return NULL;
}

/* A repair while the primary imports (changes all the time): the follower
 * is held at the copy's snapshot for the write, then catches up. */
static void repair_during_writes(void **state)
{
	(void)state;
	static import_t im;
	char in[300];
	snprintf(in, sizeof(in), "%s/bulk.jsonl", dir);
	bulk_file(in, "bulk", 20000);
	for (int i = 0; i < ROUNDS; i++) {
		char name[32];
		snprintf(im.files[i], sizeof(im.files[i]), "%s/during-%d.jsonl",
			 dir, i);
		snprintf(name, sizeof(name), "during%d", i);
		bulk_file(im.files[i], name, 1000);
	}
	h_ctl_ok(prim, "import", in, NULL);
	converge(30000);
	node_stop(mir);
	flip_stored(mir, H_HOME "/val-b", "BBBB");
	node_start(mir);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, import_bg, &im), 0);
	while (im.rounds < 2)
		h_msleep(5);
	int before = im.rounds;
	json_t *j = h_ctl_json(mir, "repair", NULL);
	int after = im.rounds;
	im.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(im.status, 0);
	char *dump = json_dumps(j, 0);
	/* how many went on while it ran depends on the machine's speed */
	print_message("repair during imports (%d imports of 1000 records "
		      "while it ran): %s\n",
		      after - before, dump);
	free(dump);
	assert_int_equal(json_integer_value(json_object_get(j, "damaged")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "repaired")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "failed")), 0);
	json_decref(j);
	converge(30000);
	node_stop(mir);
	h_run_t r;
	assert_int_equal(h_idctl(&r, "check", "--data", mir->data, NULL), 0);
	h_run_free(&r);
	node_start(mir);
}

/* A node that is not a mirror has nothing to repair from. */
static void refused_on_a_primary(void **state)
{
	(void)state;
	h_run_t r;
	h_ctl(&r, prim, "repair", NULL);
	assert_int_equal(r.status, 1);
	if (strstr(r.err, "not a mirror") == NULL ||
	    strstr(r.err, "backup") == NULL ||
	    strstr(r.err, "re-import") == NULL)
		fail_msg("unclear refusal: %s", r.err);
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repair_from_source),
		cmocka_unit_test(damaged_key),
		cmocka_unit_test(repair_over_handle_net_streams),
		cmocka_unit_test(repair_during_writes),
		cmocka_unit_test(refused_on_a_primary),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
