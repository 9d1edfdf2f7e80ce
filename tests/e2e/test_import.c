/* idctl import / export against a real node: exact summary counts for a
 * generated file of 100 000 records, rejects with line numbers and reasons
 * (JSON Lines and CSV), a re-run that skips everything, an import of
 * 1 000 000 generated records killed mid-way and resumed from its
 * checkpoint with the right totals and no duplicates (200 000 in the
 * sanitizer build, 100 000 on PostgreSQL; the environment variable
 * IDN_TEST_IMPORT_RECORDS sets the number), pipelined
 * batches committed together, and export -> import into a fresh node ->
 * export giving the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "value.h"
#include "wire.h"

#define N_RECORDS 100000
#if defined(__SANITIZE_ADDRESS__)
#define N_RESUME 200000
#else
#define N_RESUME 1000000
#endif

/* Records of the kill-and-resume import: N_RESUME into LMDB, 100 000 when
 * the nodes keep their data in PostgreSQL (the bulk load target is
 * LMDB's; PostgreSQL takes minutes for a million). */
static int n_resume(void)
{
	const char *e = getenv("IDN_TEST_IMPORT_RECORDS");
	int n = e ? atoi(e) : h_pg() ? 100000 : N_RESUME;
	return n >= 10000 ? n : N_RESUME;
}

static node_t *node;

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, "--log-level", "debug", NULL);
	node_start(node);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return 0;
}

/* n records tag-0 .. tag-<n-1> under H_HOME, with varied values. */
static void gen_file(const char *path, const char *tag, int n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++) {
		fprintf(f,
			"{\"handle\":\"" H_HOME "/%s-%d\",\"values\":["
			"{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":"
			"\"string\",\"value\":\"https://example.com/%s/%d\"},"
			"\"ttl\":%d,\"permissions\":\"rwr-\"}",
			tag, i, tag, i, 3600 + i % 7);
		if (i % 3 == 0)
			fprintf(f,
				",{\"index\":2,\"type\":\"BIN\",\"data\":"
				"{\"format\":\"base64\",\"value\":\"AAEC/"
				"w==\"},"
				"\"ttlType\":1,\"ttl\":2000000000,"
				"\"timestamp\":"
				"\"2020-01-02T03:04:05Z\",\"permissions\":\"rw-"
				"-\","
				"\"references\":[{\"handle\":\"" H_HOME
				"/%s-0\","
				"\"index\":1}]}",
				tag);
		if (i % 5 == 0)
			fprintf(f,
				",{\"index\":100,\"type\":\"HS_ADMIN\","
				"\"data\":"
				"{\"format\":\"admin\",\"value\":{\"handle\":"
				"\"0.NA/" H_HOME
				"\",\"index\":200,\"permissions\":"
				"\"111111111111\"}}}");
		fprintf(f, "]}\n");
	}
	assert_int_equal(fclose(f), 0);
}

static json_t *summary(const h_run_t *r)
{
	json_t *j = h_json(r);
	assert_true(json_is_object(j));
	return j;
}

static long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		fail_msg("summary has no integer %s", k);
	return (long)json_integer_value(v);
}

static int count_listed(const char *tag)
{
	h_run_t r;
	h_ctl(&r, node, "list", H_HOME, NULL);
	h_assert_status(&r, 0);
	char want[64];
	int n = 0;
	snprintf(want, sizeof(want), H_HOME "/%s-", tag);
	for (char *p = r.out; p && *p;) {
		char *nl = strchr(p, '\n');
		if (!strncmp(p, want, strlen(want)))
			n++;
		p = nl ? nl + 1 : NULL;
	}
	h_run_free(&r);
	return n;
}

static int run_import(h_run_t *r, const char *file, const char *a1,
		      const char *a2)
{
	const char *argv[] = {
		h_bin("idctl"), "-C", node->ctl, "--json", "import",
		file,		a1,   a2,	 NULL};
	return h_run(r, 300000, argv);
}

static void test_import_counts_and_rerun(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/gen.jsonl", node->dir);
	gen_file(path, "gen", N_RECORDS);
	h_run_t r;
	run_import(&r, path, NULL, NULL);
	h_assert_status(&r, 0);
	json_t *s = summary(&r);
	assert_int_equal(jint(s, "created"), N_RECORDS);
	assert_int_equal(jint(s, "skipped"), 0);
	assert_int_equal(jint(s, "rejected"), 0);
	assert_int_equal(jint(s, "lines"), N_RECORDS);
	json_decref(s);
	h_run_free(&r);
	assert_int_equal(count_listed("gen"), N_RECORDS);

	/* the values arrived as written */
	json_t *rec = h_ctl_json(node, "resolve", H_HOME "/gen-15", NULL);
	json_t *bin = h_json_value(rec, 2);
	assert_non_null(bin);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(bin, "data"), "value")),
			    "AAEC/w==");
	assert_string_equal(
		json_string_value(json_object_get(bin, "timestamp")),
		"2020-01-02T03:04:05Z");
	assert_string_equal(
		json_string_value(json_object_get(bin, "permissions")), "rw--");
	assert_int_equal(json_integer_value(json_object_get(bin, "ttlType")),
			 1);
	assert_non_null(h_json_value(rec, 100));
	json_decref(rec);

	/* the same file again: everything exists, nothing changes */
	run_import(&r, path, NULL, NULL);
	h_assert_status(&r, 0);
	s = summary(&r);
	assert_int_equal(jint(s, "created"), 0);
	assert_int_equal(jint(s, "skipped"), N_RECORDS);
	assert_int_equal(jint(s, "rejected"), 0);
	json_decref(s);
	h_run_free(&r);
	assert_int_equal(count_listed("gen"), N_RECORDS);
}

static void test_rejects_with_lines(void **state)
{
	(void)state;
	char path[256], rej[256];
	snprintf(path, sizeof(path), "%s/bad.jsonl", node->dir);
	snprintf(rej, sizeof(rej), "%s/bad.rejects", node->dir);
	h_write_file(
		path,
		"{\"handle\":\"" H_HOME "/bad-1\",\"values\":[{\"index\":1,"
		"\"type\":\"URL\",\"data\":\"https://e.com/1\"}]}\n"
		"{\"handle\": \"" H_HOME "/bad-2\", \"values\": [\n"
		"{\"handle\":\"no-slash\",\"values\":[]}\n"
		"{\"handle\":\"" H_HOME "/bad-4\",\"values\":[{\"index\":1,"
		"\"type\":\"BIN\",\"data\":{\"format\":\"base64\","
		"\"value\":\"!!\"}}]}\n"
		"{\"handle\":\"" H_HOME "/bad-5\",\"values\":[{\"index\":7,"
		"\"type\":\"A\",\"data\":\"x\"},{\"index\":7,\"type\":\"B\","
		"\"data\":\"y\"}]}\n"
		"\n"
		"{\"handle\":\"" H_HOME "/bad-7\",\"values\":[{\"index\":1,"
		"\"type\":\"HS_ADMIN\",\"data\":{\"format\":\"hex\","
		"\"value\":\"00\"}}]}\n"
		"{\"handle\":\"77.1/bad-8\",\"values\":[]}\n"
		"{\"handle\":\"" H_HOME "/bad-1\",\"values\":[]}\n"
		"{\"handle\":\"" H_HOME "/bad-10\",\"values\":[]}\n");
	h_run_t r;
	const char *argv[] = {h_bin("idctl"), "-C",	   node->ctl, "import",
			      path,	      "--rejects", rej,	      NULL};
	h_run(&r, 60000, argv);
	h_assert_status(&r, 1);
	/* line 9 repeats line 1's identifier with other values: a
	 * conflict naming both lines, not "skipped" */
	if (!strstr(r.out, "2 created, 0 skipped (already existed), 7 "
			   "rejected (1 of them conflicting duplicates)"))
		fail_msg("summary: %s", r.out);
	h_run_free(&r);
	size_t len;
	char *text = h_slurp(rej, &len);
	assert_non_null(text);
	const char *want[] = {"line 2: bad JSON",
			      "line 3: invalid identifier",
			      "line 4: value 1: data is not valid base64",
			      "line 5: duplicate index 7",
			      "line 7: value 1 (HS_ADMIN)",
			      "line 8: the node refused it: prefix not homed",
			      "line 9: conflict: " H_HOME "/bad-1 is also on "
			      "line 1 with different values"};
	assert_int_equal(h_count_lines(text), 7);
	const char *p = text;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strncmp(p, want[i], strlen(want[i])) != 0)
			fail_msg("reject %zu: want '%s...', got:\n%s", i,
				 want[i], text);
		p = strchr(p, '\n') + 1;
	}
	free(text);

	/* CSV: header of INDEX:TYPE columns, empty cells skipped */
	snprintf(path, sizeof(path), "%s/in.csv", node->dir);
	h_write_file(path, "handle,1:URL,2:EMAIL\n" H_HOME
			   "/csv-1,https://e.com/1,qa@e.com\n" H_HOME
			   "/csv-2,\"https://e.com/a,b\",\n" H_HOME
			   "/csv-3,only-two-cells\n"
			   "bad id,x,y"); /* no line break at the end */
	size_t before_len;
	char *before = h_slurp(path, &before_len);
	const char *argv2[] = {h_bin("idctl"), "-C", node->ctl, "--json",
			       "import",       path, NULL};
	h_run(&r, 60000, argv2);
	h_assert_status(&r, 1);
	json_t *s = summary(&r);
	assert_int_equal(jint(s, "created"), 2);
	assert_int_equal(jint(s, "rejected"), 2);
	/* cells are unquoted in idctl's private copy, never in the file */
	size_t after_len;
	char *after = h_slurp(path, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(before);
	free(after);
	json_t *first = json_object_get(s, "first_rejects");
	assert_int_equal(json_array_size(first), 2);
	assert_true(!strncmp(json_string_value(json_array_get(first, 0)),
			     "line 4: 2 cells", 15));
	assert_true(!strncmp(json_string_value(json_array_get(first, 1)),
			     "line 5: invalid identifier", 26));
	json_decref(s);
	h_run_free(&r);
	json_t *rec = h_ctl_json(node, "resolve", H_HOME "/csv-2", NULL);
	long idx1[] = {1};
	h_json_assert_indexes(rec, idx1, 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(rec, 1), "data"),
			"value")),
		"https://e.com/a,b");
	json_decref(rec);
}

/* Reads "line N" from a checkpoint file; -1 when absent. */
static long ckpt_line(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	long line = -1;
	char buf[64];
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "line %ld", &line) == 1)
			break;
	fclose(f);
	return line;
}

static void test_kill_and_resume(void **state)
{
	(void)state;
	const int n = n_resume();
	char path[256], ckpt[300];
	snprintf(path, sizeof(path), "%s/resume.jsonl", node->dir);
	snprintf(ckpt, sizeof(ckpt), "%s.idnprogress", path);
	gen_file(path, "res", n);
	/* the import as it runs by default (batches of up to 4096 records,
	 * 16 in flight), killed once a quarter is acknowledged */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int dn = open("/dev/null", 1);
		dup2(dn, 1);
		dup2(dn, 2);
		execl(h_bin("idctl"), "idctl", "-C", node->ctl, "import", path,
		      "--quiet", (char *)NULL);
		_exit(127);
	}
	long at = -1;
	for (int i = 0; i < 600000; i++) {
		at = ckpt_line(ckpt);
		if (at >= n / 4)
			break;
		usleep(100);
	}
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st)); /* killed mid-way, not finished */
	at = ckpt_line(ckpt);
	if (!(at >= n / 4 && at < n))
		fail_msg("checkpoint at line %ld of %d", at, n);
	/* the node may still be writing batches it had received: a clean
	 * stop waits for them; what is stored then survives the restart */
	node_stop(node);
	node_start(node);
	/* a commit the stopped node had already sent may still be landing
	 * in PostgreSQL: count once the number holds still */
	int before = count_listed("res");
	for (int i = 0; i < 20; i++) {
		usleep(250000);
		int again = count_listed("res");
		if (again == before)
			break;
		print_message("stored count moved from %d to %d after the "
			      "restart\n",
			      before, again);
		before = again;
	}
	if (!(before >= at && before < n))
		fail_msg("%d records stored after the kill, checkpoint at %ld",
			 before, at);

	h_run_t r;
	run_import(&r, path, "--resume", NULL);
	h_assert_status(&r, 0);
	json_t *s = summary(&r);
	print_message("%d records: killed with line %ld acknowledged and %d "
		      "stored; the resumed run created %ld, skipped %ld\n",
		      n, at, before, jint(s, "created"), jint(s, "skipped"));
	assert_int_equal(jint(s, "resumed_after"), at);
	/* totals over both runs; the batches in flight at the kill, if they
	 * were committed, come back as skipped */
	assert_int_equal(jint(s, "created") + jint(s, "skipped"), n);
	assert_true(jint(s, "skipped") <= before - at);
	assert_int_equal(jint(s, "rejected"), 0);
	assert_int_equal(jint(s, "lines"), n);
	json_decref(s);
	h_run_free(&r);
	assert_int_equal(access(ckpt, F_OK), -1); /* done: removed */
	/* every record once (a create never overwrites: no duplicates can
	 * exist under one key, so the count says none is missing) */
	assert_int_equal(count_listed("res"), n);
	json_t *rec = h_ctl_json(node, "resolve", H_HOME "/res-999", NULL);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(rec, 1), "data"),
			"value")),
		"https://example.com/res/999");
	json_decref(rec);
	unlink(path);
}

/* A bulk create body: count (as given) and the records NAME-i for i in
 * ids (one URL value each). */
static size_t bulk_body(uint8_t *buf, size_t cap, uint32_t count,
			const char *name, const int *ids, int n)
{
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_wr_u32(&w, count);
	for (int i = 0; i < n; i++) {
		char id[64], url[64];
		snprintf(id, sizeof(id), H_HOME "/%s-%d", name, ids[i]);
		snprintf(url, sizeof(url), "https://e.com/%s/%d", name, ids[i]);
		idn_wr_str(&w, idn_bytes_str(id));
		idn_wr_u32(&w, 1);
		idn_value_t v = {.index = 1,
				 .ttl = 86400,
				 .perms = 0xe,
				 .type = idn_bytes_str("URL"),
				 .data = idn_bytes_str(url)};
		idn_value_encode(&w, &v);
	}
	assert_int_equal(w.err, 0);
	return w.len;
}

/* Bulk creates pipelined on one control connection are committed
 * together when they queue up; a malformed batch among them must not
 * take the others down, nor be half applied: every batch gets the answer
 * it gets alone. Rounds of three batches sent in one write (so the node
 * finds them queued): good, malformed (count 3, two records), good with
 * one record that the first batch created. */
static void test_pipelined_batches(void **state)
{
	(void)state;
	enum { ROUNDS = 20 };
	int fd = h_unix_open(node->ctl);
	static uint8_t frames[3 * 8192], body[4096];
	for (int round = 0; round < ROUNDS; round++) {
		size_t len = 0;
		h_req_t q =
			h_req(IDN_OC_BULK_CREATE, 3000 + 3 * (uint32_t)round);
		int a[] = {2 * round, 2 * round + 1};
		size_t bl = bulk_body(body, sizeof(body), 2, "pipe", a, 2);
		len += h_frame(frames + len, sizeof(frames) - len, &q, body,
			       bl);
		q = h_req(IDN_OC_BULK_CREATE, 3001 + 3 * (uint32_t)round);
		int b[] = {1000 + round, 2000 + round};
		bl = bulk_body(body, sizeof(body), 3, "pipe", b, 2);
		len += h_frame(frames + len, sizeof(frames) - len, &q, body,
			       bl);
		q = h_req(IDN_OC_BULK_CREATE, 3002 + 3 * (uint32_t)round);
		int c[] = {3000 + round, 2 * round};
		bl = bulk_body(body, sizeof(body), 2, "pipe", c, 2);
		len += h_frame(frames + len, sizeof(frames) - len, &q, body,
			       bl);
		assert_int_equal(h_write_all(fd, frames, len), 0);
		const uint32_t want_rc[3] = {
			IDN_RC_SUCCESS, IDN_RC_PROTOCOL_ERROR, IDN_RC_SUCCESS};
		for (int i = 0; i < 3; i++) {
			h_reply_t r;
			h_reply_init(&r);
			assert_int_equal(h_read_frame(fd, &r, 10000), 1);
			assert_int_equal(r.env.request_id,
					 3000 + 3 * (uint32_t)round + i);
			if (r.msg.hdr.rc != want_rc[i])
				fail_msg("round %d batch %d: rc %u, want %u",
					 round, i, r.msg.hdr.rc, want_rc[i]);
			if (i != 1) {
				idn_rd_t rd;
				idn_rd_init(&rd, r.msg.rest.p, r.msg.rest.len);
				assert_int_equal(idn_rd_u32(&rd), 2);
				assert_int_equal(idn_rd_u32(&rd), 1);
				/* the third batch's second record exists */
				assert_int_equal(idn_rd_u32(&rd),
						 i == 0 ? 1 : 101);
				assert_int_equal(rd.err, 0);
			}
			h_reply_free(&r);
		}
	}
	close(fd);
	/* the node did meet them queued up (its debug log says so) */
	char *log = node_log(node);
	if (strstr(log, "processed again alone") == NULL)
		fail_msg("no group of bulk creates failed over:\n%s", log);
	free(log);
	/* 2 + 1 records a round, nothing of the malformed batches */
	assert_int_equal(count_listed("pipe"), 3 * ROUNDS);
	h_run_t r;
	h_ctl(&r, node, "resolve", H_HOME "/pipe-1005", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	json_t *rec = h_ctl_json(node, "resolve", H_HOME "/pipe-4", NULL);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(rec, 1), "data"),
			"value")),
		"https://e.com/pipe/4");
	json_decref(rec);
}

static void test_export_import_export(void **state)
{
	(void)state;
	char in[256], e1[256], e2[256];
	snprintf(in, sizeof(in), "%s/rt.jsonl", node->dir);
	snprintf(e1, sizeof(e1), "%s/e1.jsonl", node->dir);
	snprintf(e2, sizeof(e2), "%s/e2.jsonl", node->dir);
	/* a node of its own, so the prefix holds only these */
	node_t *a = node_new("--home", "88.118.77", NULL);
	node_t *b = node_new("--home", "88.118.77", NULL);
	node_start(a);
	node_start(b);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	for (int i = 0; i < 2000; i++)
		fprintf(f,
			"{\"handle\":\"88.118.77/rt-%d\",\"values\":["
			"{\"index\":1,\"type\":\"URL\",\"data\":\"https://"
			"e.com/%d\"},"
			"{\"index\":2,\"type\":\"BIN\",\"data\":{\"format\":"
			"\"hex\","
			"\"value\":\"00ff%04x\"},\"permissions\":\"r---\"},"
			"{\"index\":3,\"type\":\"NOTE\",\"data\":\"caf\\u00e9 "
			"\\\"q\\\"\\t\","
			"\"ttlType\":1,\"ttl\":1900000000,\"references\":"
			"[{\"handle\":\"88.118.77/rt-0\",\"index\":1}]},"
			"{\"index\":100,\"type\":\"HS_ADMIN\",\"data\":{"
			"\"format\":"
			"\"admin\",\"value\":{\"handle\":\"0.NA/"
			"88.118.77\",\"index\":"
			"300,\"permissions\":\"010101010101\"}}}]}\n",
			i, i, i);
	assert_int_equal(fclose(f), 0);
	h_run_t r;
	const char *imp_a[] = {h_bin("idctl"), "-C", a->ctl,
			       "import",       in,   NULL};
	h_run(&r, 60000, imp_a);
	h_assert_status(&r, 0);
	h_run_free(&r);
	const char *exp_a[] = {h_bin("idctl"), "-C", a->ctl, "export",
			       "88.118.77",    "-o", e1,     NULL};
	h_run(&r, 60000, exp_a);
	h_assert_status(&r, 0);
	h_run_free(&r);
	const char *imp_b[] = {h_bin("idctl"), "-C", b->ctl,
			       "import",       e1,   NULL};
	h_run(&r, 60000, imp_b);
	h_assert_status(&r, 0);
	if (!strstr(r.out, "2000 created"))
		fail_msg("import of the export: %s", r.out);
	h_run_free(&r);
	const char *exp_b[] = {h_bin("idctl"), "-C", b->ctl, "export",
			       "88.118.77",    "-o", e2,     NULL};
	h_run(&r, 60000, exp_b);
	h_assert_status(&r, 0);
	h_run_free(&r);
	size_t l1, l2;
	char *t1 = h_slurp(e1, &l1);
	char *t2 = h_slurp(e2, &l2);
	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_equal(h_count_lines(t1), 2000);
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)
		fail_msg(
			"export -> import -> export differs (%zu vs %zu bytes)",
			l1, l2);
	/* binary data travels as base64, text as string, admin as admin */
	assert_non_null(strstr(t1, "\"format\":\"base64\""));
	assert_non_null(strstr(t1, "\"format\":\"admin\""));
	assert_non_null(strstr(t1, "caf\xc3\xa9 \\\"q\\\"\\t"));
	assert_non_null(strstr(t1, "\"permissions\":\"r---\""));
	free(t1);
	free(t2);
	node_free(a);
	node_free(b);
}

static void test_usage_errors(void **state)
{
	(void)state;
	h_run_t r;
	h_ctl(&r, node, "import", NULL);
	h_assert_status(&r, 2);
	h_run_free(&r);
	h_ctl(&r, node, "import", "/nonexistent/file.jsonl", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "cannot open"));
	h_run_free(&r);
	h_ctl(&r, node, "export", H_HOME, "--bogus", NULL);
	h_assert_status(&r, 2);
	assert_string_equal(r.err, "idctl: export: unknown option '--bogus' "
				   "(see idctl export --help)\n");
	h_run_free(&r);
	h_ctl(&r, node, "import", "x.jsonl", "--rejects", NULL);
	h_assert_status(&r, 2);
	assert_string_equal(r.err, "idctl: import: option needs a value "
				   "'--rejects' (see idctl import --help)\n");
	h_run_free(&r);
	h_ctl(&r, node, "export", "99.9", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "not homed"));
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_counts_and_rerun),
		cmocka_unit_test(test_rejects_with_lines),
		cmocka_unit_test(test_kill_and_resume),
		cmocka_unit_test(test_pipelined_batches),
		cmocka_unit_test(test_export_import_export),
		cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
