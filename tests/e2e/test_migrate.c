/* idctl migrate between two nodes' stores (LMDB, or PostgreSQL in the
 * second pass): identifiers longer than an LMDB key and suffixes whose
 * case the node keeps come across under their own keys; the source must
 * be a store that exists, and is never created. */
#include <libpq-fe.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* The name idctl migrate gets for a node's store. */
static void store_name(const node_t *n, char *out, size_t cap)
{
	if (h_pg())
		snprintf(out, cap, "%s", node_store(n));
	else
		snprintf(out, cap, "lmdb:%s", n->data);
}

/* The URL value (index 1) of ident resolved on n over the network. */
static void expect_url(const node_t *n, const char *ident, const char *url)
{
	h_run_t r;
	h_net(&r, n, "--tcp", "--json", "resolve", ident, NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 1), "data"), "value")),
		url);
	json_decref(j);
	h_run_free(&r);
}

static void long_and_case_sensitive(void **state)
{
	(void)state;
	node_t *src =
		node_new("--home", H_HOME, "--case-sensitive-suffix", NULL);
	node_t *dst =
		node_new("--home", H_HOME, "--case-sensitive-suffix", NULL);
	node_start(src);
	/* 700 bytes: LMDB files it under a hash of its key */
	char longa[800], longb[800];
	snprintf(longa, sizeof(longa), H_HOME "/%0690dAa", 0);
	snprintf(longb, sizeof(longb), H_HOME "/%0690daA", 0);
	h_ctl_ok(src, "create", longa, "1:URL=https://long-a", NULL);
	h_ctl_ok(src, "create", longb, "1:URL=https://long-b", NULL);
	h_ctl_ok(src, "create", H_HOME "/Thing", "1:URL=https://upper", NULL);
	h_ctl_ok(src, "create", H_HOME "/thing", "1:URL=https://lower", NULL);
	char from[1200], to[1200];
	store_name(src, from, sizeof(from));
	store_name(dst, to, sizeof(to));
	h_run_t r;
	/* the source is in use by its node: the copy is a snapshot */
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--verify",
		"--no-progress", "--json", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "records")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "prefixes")), 1);
	assert_true(json_is_true(json_object_get(j, "verified")));
	json_decref(j);
	h_run_free(&r);
	/* a second copy into a store that holds records needs --merge */
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "already holds 4 records"));
	h_run_free(&r);
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		"--merge", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "copied 4 records and 1 prefixes"));
	h_run_free(&r);
	node_stop(src);

	node_start(dst);
	expect_url(dst, longa, "https://long-a");
	expect_url(dst, longb, "https://long-b");
	expect_url(dst, H_HOME "/Thing", "https://upper");
	expect_url(dst, H_HOME "/thing", "https://lower");
	node_stop(dst);
	node_free(dst);
	node_free(src);
}

/* The state of a stopped node's store: LMDB, the SHA-256 of data.mdb
 * (lock.mdb is LMDB's table of readers, written by every reader); on
 * PostgreSQL, a digest of every table of the store. */
static void store_digest(const node_t *n, char *out, size_t cap)
{
	if (h_pg()) {
		PGconn *c = PQconnectdb(node_store(n));
		assert_int_equal(PQstatus(c), CONNECTION_OK);
		PGresult *r = PQexec(
			c,
			"SELECT (SELECT md5(string_agg(encode(ident_key, "
			"'hex') || '|' || idx::text || '|' || encode(enc, "
			"'hex'), ',' ORDER BY ident_key, idx)) FROM "
			"idn_records) || (SELECT md5(string_agg(encode("
			"prefix_key, 'hex'), ',' ORDER BY prefix_key)) FROM "
			"idn_prefixes) || (SELECT md5(string_agg(version::"
			"text || description || applied_at::text, ',' ORDER "
			"BY version)) FROM idn_schema_migrations) || (SELECT "
			"coalesce(md5(string_agg(encode(type, 'hex'), ',' "
			"ORDER BY type)), '-') FROM idn_index_types)");
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fprintf(stderr, "%s", PQresultErrorMessage(r));
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfinish(c);
		return;
	}
	char file[300];
	snprintf(file, sizeof(file), "%s/data.mdb", n->data);
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	unsigned char *buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	FILE *fp = fopen(file, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp),
			 (size_t)st.st_size);
	fclose(fp);
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(buf, (size_t)st.st_size, md);
	free(buf);
	size_t o = 0;
	for (int i = 0; i < SHA256_DIGEST_LENGTH && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", md[i]);
	snprintf(out + o, cap - o, " %lld.%09ld", (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
}

/* Puts a stopped node's store back at schema version 2, as an older
 * idnode left it: its declared types exist only once an upgrade derives
 * them. */
static void set_version2(const node_t *n)
{
	if (h_pg()) {
		PGconn *c = PQconnectdb(node_store(n));
		assert_int_equal(PQstatus(c), CONNECTION_OK);
		PGresult *r = PQexec(c, "DELETE FROM idn_schema_migrations "
					"WHERE version >= 3");
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		PQfinish(c);
		return;
	}
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, n->data, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	uint8_t v[4] = {0, 0, 0, 2};
	MDB_val k = {7, "version"}, d = {4, v};
	assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Copies from to a fresh store under n's directory named sub. Returns
 * the number of records copied, or -1 (what idctl said is printed): the
 * caller asserts once it has made the source writable again. */
static int migrate_count(const node_t *n, const char *from, const char *sub)
{
	char to[400];
	snprintf(to, sizeof(to), "lmdb:%s/%s", n->dir, sub);
	h_run_t r;
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		"--json", NULL);
	int copied = -1;
	if (r.status == 0) {
		json_t *j = json_loads(r.out, 0, NULL);
		copied = (int)json_integer_value(json_object_get(j, "records"));
		json_decref(j);
	} else {
		fprintf(stderr, "idctl migrate: status %d: %s", r.status,
			r.err);
	}
	h_run_free(&r);
	return copied;
}

/* Runs argv; returns its exit status (-1 if it did not run). */
static int run_quiet(const char *cmd)
{
	char full[1300];
	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	return system(full);
}

/* The source is opened read-only: a migration leaves it as it was, and
 * an LMDB store that cannot be written at all (immutable files, or a
 * read-only mount) is copied. */
static void source_untouched(void **state)
{
	(void)state;
	node_t *src = node_new("--home", H_HOME, NULL);
	node_start(src);
	h_ctl_ok(src, "create", H_HOME "/ro1", "1:URL=https://ro1", NULL);
	h_ctl_ok(src, "create", H_HOME "/ro2", "1:URL=https://ro2", NULL);
	node_stop(src);
	char from[1200], before[200], after[200];
	store_name(src, from, sizeof(from));
	store_digest(src, before, sizeof(before));
	assert_int_equal(migrate_count(src, from, "copy1"), 2);
	store_digest(src, after, sizeof(after));
	assert_string_equal(before, after);
	char cmd[1200];
	if (h_pg())
		goto old_schema;

	snprintf(cmd, sizeof(cmd), "chattr +i %s/data.mdb %s/lock.mdb %s",
		 src->data, src->data, src->data);
	if (run_quiet(cmd) == 0) {
		/* nothing can be written: not even LMDB's reader table */
		int copied = migrate_count(src, from, "copy2");
		snprintf(cmd, sizeof(cmd),
			 "chattr -i %s/data.mdb %s/lock.mdb %s", src->data,
			 src->data, src->data);
		assert_int_equal(run_quiet(cmd), 0);
		assert_int_equal(copied, 2);
	} else {
		char ro[300];
		snprintf(ro, sizeof(ro), "%s/ro", src->dir);
		assert_int_equal(mkdir(ro, 0700), 0);
		snprintf(cmd, sizeof(cmd),
			 "mount --bind %s %s && mount -o remount,bind,ro %s",
			 src->data, ro, ro);
		if (run_quiet(cmd) == 0) {
			snprintf(from, sizeof(from), "lmdb:%s", ro);
			int copied = migrate_count(src, from, "copy2");
			snprintf(cmd, sizeof(cmd), "umount %s", ro);
			assert_int_equal(run_quiet(cmd), 0);
			assert_int_equal(copied, 2);
		} else {
			printf("source_untouched: neither chattr +i nor a "
			       "read-only bind mount works here (not root, "
			       "or no support): the unwritable source is not "
			       "checked\n");
			snprintf(cmd, sizeof(cmd), "umount %s", ro);
			run_quiet(cmd);
		}
	}
	store_digest(src, after, sizeof(after));
	assert_string_equal(before, after);

old_schema:
	/* an older schema that must be upgraded to be read: refused, with
	 * what to do, and left at its version */
	store_name(src, from, sizeof(from));
	set_version2(src);
	store_digest(src, before, sizeof(before));
	h_run_t r;
	snprintf(cmd, sizeof(cmd), "lmdb:%s/copy3", src->dir);
	h_idctl(&r, "migrate", "--from", from, "--to", cmd, "--no-progress",
		NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "schema version 2"));
	assert_non_null(strstr(r.err, "start idnode on it once"));
	h_run_free(&r);
	store_digest(src, after, sizeof(after));
	assert_string_equal(before, after);
	node_free(src);
}

/* A source that is not there is named and left uncreated; a source that
 * is the destination is refused before anything is opened. */
static void bad_sources(void **state)
{
	(void)state;
	node_t *n = node_create();
	char missing[600], from[700], to[700];
	snprintf(missing, sizeof(missing), "%s/none", n->dir);
	snprintf(from, sizeof(from), "lmdb:%s", missing);
	snprintf(to, sizeof(to), "lmdb:%s/copy", n->dir);
	h_run_t r;
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "no idnode store there"));
	assert_int_equal(h_count_lines(r.err), 1);
	h_run_free(&r);
	struct stat st;
	assert_int_not_equal(stat(missing, &st), 0);
	h_idctl(&r, "migrate", "--from", to, "--to", to + 5, "--no-progress",
		NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "the same store"));
	h_run_free(&r);
	h_idctl(&r, "migrate", "--from", "lmdb:", "--to", to, NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "lmdb:DIR"));
	h_run_free(&r);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(long_and_case_sensitive),
		cmocka_unit_test(bad_sources),
		cmocka_unit_test(source_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
