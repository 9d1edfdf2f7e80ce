/* Files as people have them, against real nodes (tests/data/files): a CSV
 * saved by Excel or WPS (byte order mark, CRLF, a quoted cell with a line
 * break, an HS_ADMIN column), a GBK CSV refused without --encoding (naming
 * the line and column) and stored as UTF-8 text with --encoding gbk,
 * duplicates told apart (exact ones left out, conflicting ones rejected
 * naming both lines), a HANDLE.NET batch file through idctl batch (with
 * its AUTHENTICATE block) and idctl import, an export of 10 000 records
 * of which some have no values (JSON Lines, round-tripped), and
 * --format csv round-tripping: export -> import into a fresh node ->
 * export gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "harness.h"

#define N_EXPORT 10000

static char fixture[4][300];

static const char *fx(int i, const char *name)
{
	snprintf(fixture[i], sizeof(fixture[i]), "%s/%s",
		 h_src("tests/data/files"), name);
	return fixture[i];
}

static node_t *fresh(void)
{
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	return n;
}

/* The data of value index of id as the node resolves it (caller frees):
 * idctl shows text with line breaks as base64, which is decoded. */
static char *value_text(const node_t *n, const char *id, long index)
{
	json_t *j = h_ctl_json(n, "resolve", id, NULL);
	json_t *v = h_json_value(j, index);
	if (v == NULL)
		fail_msg("%s has no value %ld", id, index);
	json_t *d = json_object_get(v, "data");
	const char *fmt = json_string_value(json_object_get(d, "format"));
	const char *val = json_string_value(json_object_get(d, "value"));
	char *s = NULL;
	if (fmt && val && !strcmp(fmt, "string")) {
		s = strdup(val);
	} else if (fmt && val && !strcmp(fmt, "base64")) {
		idn_arena_t a;
		idn_arena_init(&a, 0);
		idn_bytes_t out;
		if (idn_base64_decode_arena(val, strlen(val), 0, &a, &out) == 0)
			s = strndup((const char *)out.p, out.len);
		idn_arena_free(&a);
	}
	if (s == NULL)
		fail_msg("%s value %ld: data format %s", id, index,
			 fmt ? fmt : "(none)");
	json_decref(j);
	return s;
}

static void assert_gone(const node_t *n, const char *id)
{
	h_run_t r;
	h_ctl(&r, n, "resolve", id, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "rc 100"));
	h_run_free(&r);
}

static json_t *import_json(const node_t *n, h_run_t *r, const char *file,
			   const char *a1, const char *a2)
{
	const char *argv[] = {h_bin("idctl"), "-C", n->ctl, "--json", "import",
			      file,	      a1,   a2,	    NULL};
	h_run(r, 120000, argv);
	json_t *j = h_json(r);
	if (!json_is_object(j))
		fail_msg("import %s: no JSON summary: %s %s", file, r->out,
			 r->err);
	return j;
}

static long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		fail_msg("summary has no integer %s", k);
	return (long)json_integer_value(v);
}

static void test_bom_csv_with_multiline_cell(void **state)
{
	(void)state;
	node_t *n = fresh();
	h_run_t r;
	json_t *j = import_json(n, &r, fx(0, "bom_multiline.csv"), NULL, NULL);
	h_assert_status(&r, 0);
	assert_int_equal(jint(j, "created"), 4);
	assert_int_equal(jint(j, "rejected"), 0);
	assert_int_equal(jint(j, "lines"), 6); /* record 1 spans two */
	json_decref(j);
	h_run_free(&r);
	char *s = value_text(n, H_HOME "/csv-1", 2);
	assert_string_equal(s, "first line\nsecond line, with a comma and "
			       "\"quotes\"");
	free(s);
	s = value_text(n, H_HOME "/csv-3", 2);
	assert_string_equal(s, "\xe7\x94\xb5\xe6\x9c\xba (motor)");
	free(s);
	/* CNRI's 110011111111: no prefix rights; shown high bit first */
	json_t *rec = h_ctl_json(n, "resolve", H_HOME "/csv-1", NULL);
	json_t *adm = json_object_get(
		json_object_get(h_json_value(rec, 100), "data"), "value");
	assert_string_equal(
		json_string_value(json_object_get(adm, "permissions")),
		"111111110011");
	assert_int_equal(json_integer_value(json_object_get(adm, "index")),
			 300);
	json_decref(rec);
	/* the row without values is a record without values */
	rec = h_ctl_json(n, "list", H_HOME, NULL);
	char *txt = json_dumps(rec, 0);
	assert_non_null(strstr(txt, H_HOME "/csv-empty"));
	free(txt);
	json_decref(rec);
	node_free(n);
}

static void test_gbk_csv(void **state)
{
	(void)state;
	node_t *n = fresh();
	h_run_t r;
	/* read as UTF-8 (the default): line 3 is refused, naming where */
	json_t *j = import_json(n, &r, fx(0, "gbk.csv"), NULL, NULL);
	h_assert_status(&r, 1);
	assert_int_equal(jint(j, "created"), 1);
	assert_int_equal(jint(j, "rejected"), 1);
	const char *why = json_string_value(
		json_array_get(json_object_get(j, "first_rejects"), 0));
	assert_non_null(why);
	if (strncmp(why,
		    "line 3: column 3: bytes B5 E7 BB are not valid "
		    "UTF-8 (a GBK or GB18030 file? give --encoding gbk",
		    95) != 0)
		fail_msg("reject: %s", why);
	json_decref(j);
	h_run_free(&r);
	assert_gone(n, H_HOME "/gbk-2");
	/* with --encoding gbk: 电机 stored as UTF-8 text */
	j = import_json(n, &r, fx(0, "gbk.csv"), "--encoding", "gbk");
	h_assert_status(&r, 0);
	assert_int_equal(jint(j, "created"), 1);
	assert_int_equal(jint(j, "skipped"), 1);
	json_decref(j);
	h_run_free(&r);
	char *s = value_text(n, H_HOME "/gbk-2", 2);
	assert_string_equal(s, "\xe7\x94\xb5\xe6\x9c\xba");
	free(s);
	/* an encoding idctl does not know */
	h_ctl(&r, n, "import", fx(0, "gbk.csv"), "--encoding", "latin9", NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "unknown --encoding 'latin9'"));
	h_run_free(&r);
	node_free(n);
}

/* A quote nobody closes rejects its line alone (the next is imported);
 * GB18030 takes what GBK cannot (an emoji) and refuses bytes it has not. */
static void test_unclosed_quote_and_gb18030(void **state)
{
	(void)state;
	node_t *n = fresh();
	char path[300];
	snprintf(path, sizeof(path), "%s/open.csv", n->dir);
	h_write_file(path, "handle,1:DESC\n" H_HOME "/q-1,\"no end\n" H_HOME
			   "/q-2,fine\n");
	h_run_t r;
	json_t *j = import_json(n, &r, path, NULL, NULL);
	h_assert_status(&r, 1);
	assert_int_equal(jint(j, "created"), 1);
	assert_string_equal(
		json_string_value(
			json_array_get(json_object_get(j, "first_rejects"), 0)),
		"line 2: a quote opened on this line is never closed");
	json_decref(j);
	h_run_free(&r);
	char *s = value_text(n, H_HOME "/q-2", 1);
	assert_string_equal(s, "fine");
	free(s);
	/* 电机 and U+1F600 in GB18030, then FF FE, which it has not */
	snprintf(path, sizeof(path), "%s/gb18030.csv", n->dir);
	h_write_file(path, "handle,1:DESC\n" H_HOME
			   "/g-1,\xb5\xe7\xbb\xfa\x94\x39\xfc\x36\n" H_HOME
			   "/g-2,ok\xff\xfe\n");
	j = import_json(n, &r, path, "--encoding", "gb18030");
	h_assert_status(&r, 1);
	assert_int_equal(jint(j, "created"), 1);
	assert_string_equal(
		json_string_value(
			json_array_get(json_object_get(j, "first_rejects"), 0)),
		"line 3: column 2: bytes FF FE are not valid GB18030");
	json_decref(j);
	h_run_free(&r);
	s = value_text(n, H_HOME "/g-1", 1);
	assert_string_equal(s, "\xe7\x94\xb5\xe6\x9c\xba\xf0\x9f\x98\x80");
	free(s);
	node_free(n);
}

static void test_duplicates_and_conflicts(void **state)
{
	(void)state;
	node_t *n = fresh();
	h_run_t r;
	json_t *j = import_json(n, &r, fx(0, "duplicates.csv"), NULL, NULL);
	h_assert_status(&r, 1);
	assert_int_equal(jint(j, "created"), 2);
	assert_int_equal(jint(j, "skipped"), 0);
	assert_int_equal(jint(j, "duplicates"), 1);
	assert_int_equal(jint(j, "conflicts"), 1);
	assert_int_equal(jint(j, "rejected"), 1);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(j, "first_rejects"), 0)),
			    "line 5: conflict: " H_HOME
			    "/dup-2 is also on line 3 with "
			    "different values; this line is not imported");
	json_decref(j);
	h_run_free(&r);
	char *s = value_text(n, H_HOME "/dup-2", 1);
	assert_string_equal(s, "https://example.com/b");
	free(s);
	node_free(n);
}

/* After the batch file: gb-1 with its URL modified, a DESC added and its
 * EMAIL removed; gb-2 deleted. */
static void assert_batch_applied(const node_t *n)
{
	json_t *j = h_ctl_json(n, "resolve", H_HOME "/gb-1", NULL);
	const long want[] = {1, 3, 100};
	h_json_assert_indexes(j, want, 3);
	json_t *d = h_json_value(j, 3);
	assert_int_equal(json_integer_value(json_object_get(d, "ttl")), 3600);
	assert_string_equal(
		json_string_value(json_object_get(d, "permissions")), "rw--");
	json_decref(j);
	char *s = value_text(n, H_HOME "/gb-1", 1);
	assert_string_equal(s, "http://example.org/gb-1/modified");
	free(s);
	s = value_text(n, H_HOME "/gb-1", 3);
	assert_string_equal(s, "added by ADD, with spaces");
	free(s);
	assert_gone(n, H_HOME "/gb-2");
}

static void test_genericbatch_batch(void **state)
{
	(void)state;
	node_t *n = fresh();
	char key[300], file[300], addr[64];
	snprintf(key, sizeof(key), "%s/admin.pem", n->dir);
	snprintf(file, sizeof(file), "%s/batch.txt", n->dir);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", n->port);
	char *pub = h_keygen(key, NULL, NULL);
	char v[4096];
	snprintf(v, sizeof(v), "300,perms=e:HS_PUBKEY=hex:%s", pub);
	free(pub);
	h_ctl_ok(n, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", v, NULL);
	/* the fixture after an AUTHENTICATE and a SESSIONSETUP block, and an
	 * operation idctl does not know after it */
	size_t len;
	char *ops = h_slurp(fx(0, "genericbatch.txt"), &len);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f,
		"AUTHENTICATE PUBKEY:300:0.NA/" H_HOME "\n%s\n\n"
		"SESSIONSETUP\nUSESESSION:1\n\n%s\nLOCK " H_HOME "/gb-1\n",
		key, ops);
	assert_int_equal(fclose(f), 0);
	free(ops);
	int last = 0; /* the LOCK line */
	char *all = h_slurp(file, &len);
	for (char *p = all; *p; p++)
		last += *p == '\n';
	free(all);
	h_run_t r;
	h_idctl(&r, "-s", addr, "batch", file, NULL);
	h_assert_status(&r, 1); /* the unknown operation */
	const char *done = "CREATE " H_HOME "/gb-1\n"
			   "CREATE " H_HOME "/gb-2\n"
			   "ADD " H_HOME "/gb-1\n"
			   "MODIFY " H_HOME "/gb-1\n"
			   "REMOVE " H_HOME "/gb-1\n"
			   "DELETE " H_HOME "/gb-2\n"
			   "batch: 6 requests in session ";
	if (strncmp(r.out, done, strlen(done)) != 0 ||
	    !strstr(r.out, ", 1 failed\n"))
		fail_msg("batch printed:\n%s", r.out);
	char want[200];
	snprintf(want, sizeof(want),
		 "batch.txt:%d: 'LOCK " H_HOME "/gb-1' is not an operation",
		 last);
	if (strstr(r.err, want) == NULL)
		fail_msg("want '%s' in: %s", want, r.err);
	h_run_free(&r);
	assert_batch_applied(n);
	/* an exchange key file in SESSIONSETUP is refused, naming its line */
	f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f,
		"AUTHENTICATE PUBKEY:300:0.NA/" H_HOME "\n%s\n\n"
		"SESSIONSETUP\nUSESESSION:1\nPRIVEXNGKEYFILE:/x/priv.bin\n\n"
		"DELETE " H_HOME "/gb-1\n",
		key);
	assert_int_equal(fclose(f), 0);
	h_idctl(&r, "-s", addr, "batch", file, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "batch.txt:6: SESSIONSETUP "
				      "PRIVEXNGKEYFILE not supported"));
	assert_non_null(strstr(r.out, "DELETE " H_HOME "/gb-1\n"));
	h_run_free(&r);
	assert_gone(n, H_HOME "/gb-1");
	/* idctl's own lines: GBK text is refused, not stored as its bytes */
	h_write_file(file,
		     "create " H_HOME "/gbk-line 1:DESC=\xb5\xe7\xbb\xfa\n"
		     "create " H_HOME "/utf8-line 1:DESC=\xe7\x94\xb5\n");
	h_idctl(&r, "-s", addr, "--auth", "0.NA/" H_HOME ":300", "--key", key,
		"batch", file, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "batch.txt:1: not valid UTF-8"));
	assert_non_null(strstr(r.out, "create " H_HOME "/utf8-line\n"));
	h_run_free(&r);
	assert_gone(n, H_HOME "/gbk-line");
	/* no credential at all: refused before anything is sent */
	h_write_file(file, "DELETE " H_HOME "/csv-x\n");
	h_idctl(&r, "-s", addr, "batch", file, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "batch.txt:1: DELETE " H_HOME
				      "/csv-x: no credential"));
	h_run_free(&r);
	node_free(n);
}

static void test_genericbatch_import(void **state)
{
	(void)state;
	node_t *n = fresh();
	h_run_t r;
	json_t *j = import_json(n, &r, fx(0, "genericbatch.txt"), NULL, NULL);
	h_assert_status(&r, 0);
	assert_int_equal(jint(j, "created"), 2);
	assert_int_equal(jint(j, "changed"), 4);
	assert_int_equal(jint(j, "rejected"), 0);
	json_decref(j);
	h_run_free(&r);
	assert_batch_applied(n);
	node_free(n);
}

static void test_export_empty_records(void **state)
{
	(void)state;
	node_t *a = fresh(), *b = fresh();
	char in[300], e1[300], e2[300];
	snprintf(in, sizeof(in), "%s/in.jsonl", a->dir);
	snprintf(e1, sizeof(e1), "%s/e1.jsonl", a->dir);
	snprintf(e2, sizeof(e2), "%s/e2.jsonl", a->dir);
	/* every 97th record imported without values */
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	int empty = 0;
	for (int i = 0; i < N_EXPORT; i++) {
		if (i % 97 == 0) {
			fprintf(f,
				"{\"handle\":\"" H_HOME "/e-%05d\","
				"\"values\":[]}\n",
				i);
			empty++;
			continue;
		}
		fprintf(f,
			"{\"handle\":\"" H_HOME "/e-%05d\",\"values\":["
			"{\"index\":1,\"type\":\"URL\",\"data\":\"https://"
			"e.com/%d\"}]}\n",
			i, i);
	}
	assert_int_equal(fclose(f), 0);
	h_ctl_ok(a, "import", in, NULL);
	/* ... and two whose values are all removed (export stopped at the
	 * first of those with "failure (rc 200)") */
	h_ctl_ok(a, "remove", H_HOME "/e-00001", "1", NULL);
	h_ctl_ok(a, "remove", H_HOME "/e-00002", "1", NULL);
	empty += 2;
	h_run_t r;
	const char *exp_a[] = {h_bin("idctl"), "-C", a->ctl, "export",
			       H_HOME,	       "-o", e1,     NULL};
	h_run(&r, 120000, exp_a);
	h_assert_status(&r, 0);
	char want[400];
	snprintf(want, sizeof(want),
		 "exported %d records of " H_HOME
		 " to %s (%d without values)\n",
		 N_EXPORT, e1, empty);
	assert_string_equal(r.err, want);
	h_run_free(&r);
	size_t l1, l2;
	char *t1 = h_slurp(e1, &l1);
	assert_int_equal(h_count_lines(t1), N_EXPORT);
	int seen = 0;
	for (char *p = t1; (p = strstr(p, "\"values\":[]}\n")) != NULL; p++)
		seen++;
	assert_int_equal(seen, empty);
	assert_non_null(strstr(t1, "{\"handle\":\"" H_HOME "/e-00001\","
				   "\"values\":[]}\n"));
	/* records without values import too, and export the same */
	h_ctl_ok(b, "import", e1, NULL);
	const char *exp_b[] = {h_bin("idctl"), "-C", b->ctl, "export",
			       H_HOME,	       "-o", e2,     NULL};
	h_run(&r, 120000, exp_b);
	h_assert_status(&r, 0);
	h_run_free(&r);
	char *t2 = h_slurp(e2, &l2);
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)
		fail_msg("export -> import -> export differs (%zu vs %zu "
			 "bytes)",
			 l1, l2);
	free(t1);
	free(t2);
	node_free(a);
	node_free(b);
}

static void test_csv_round_trip(void **state)
{
	(void)state;
	node_t *a = fresh(), *b = fresh();
	char e1[300], e2[300];
	snprintf(e1, sizeof(e1), "%s/e1.csv", a->dir);
	snprintf(e2, sizeof(e2), "%s/e2.csv", a->dir);
	h_ctl_ok(a, "import", fx(0, "bom_multiline.csv"), NULL);
	h_ctl_ok(a, "export", H_HOME, "--format", "csv", "--bom", "-o", e1,
		 NULL);
	h_run_t r;
	h_ctl(&r, b, "--json", "import", e1, NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_int_equal(jint(j, "created"), 4);
	json_decref(j);
	h_run_free(&r);
	h_ctl_ok(b, "export", H_HOME, "--format", "csv", "--bom", "-o", e2,
		 NULL);
	size_t l1, l2;
	char *t1 = h_slurp(e1, &l1), *t2 = h_slurp(e2, &l2);
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)
		fail_msg("CSV export -> import -> export differs:\n%s\n--\n%s",
			 t1, t2);
	const char *head = "\xef\xbb\xbfhandle,1:URL,2:DESC,100:HS_ADMIN\r\n";
	if (strncmp(t1, head, strlen(head)) != 0)
		fail_msg("CSV export begins: %.60s", t1);
	assert_non_null(strstr(
		t1, "\r\n" H_HOME "/csv-1,https://example.com/1,\"first line\n"
		    "second line, with a comma and \"\"quotes\"\"\","
		    "300:110011111111:0.NA/" H_HOME "\r\n"));
	assert_non_null(strstr(t1, "\r\n" H_HOME "/csv-empty,,,\r\n"));
	assert_non_null(strstr(t1, "\r\n" H_HOME "/csv-3,https://example.com/3,"
				   "\xe7\x94\xb5\xe6\x9c\xba (motor),\r\n"));
	assert_int_equal(h_count_lines(t1), 6); /* header, 4 rows, 1 break */
	free(t1);
	free(t2);
	/* data CSV cannot hold stops the export before anything is written */
	h_ctl_ok(a, "create", H_HOME "/bin", "1:BIN=hex:00ff", NULL);
	unlink(e1);
	h_ctl(&r, a, "export", H_HOME, "--format", "csv", "-o", e1, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, H_HOME "/bin index 1 (BIN): data is "
					     "not text"));
	h_run_free(&r);
	assert_int_equal(access(e1, F_OK), -1);
	node_free(a);
	node_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bom_csv_with_multiline_cell),
		cmocka_unit_test(test_gbk_csv),
		cmocka_unit_test(test_unclosed_quote_and_gb18030),
		cmocka_unit_test(test_duplicates_and_conflicts),
		cmocka_unit_test(test_genericbatch_batch),
		cmocka_unit_test(test_genericbatch_import),
		cmocka_unit_test(test_export_empty_records),
		cmocka_unit_test(test_csv_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
