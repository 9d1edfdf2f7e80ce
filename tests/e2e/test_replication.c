/* Replication between idnodes (docs/replication.md): a mirror copies its
 * primary (op 1002) and follows its change log (op 1001, long polled) as
 * a replication admin proven by its key. The mirror's records equal the
 * primary's (idctl export of both, and the declared index types) after
 * creates, modifies, adds, removes, deletes, imports, template and index
 * changes; after kill -9 of the mirror, of the primary and of both at
 * random moments during writes; after the primary's log was pruned past
 * the mirror (a new copy). A follower whose admin is not a replication
 * admin gets nothing; a mirror refuses local writes naming its primary.
 * The lag of one change is printed (no timing assertion).
 *
 * Every mirror runs on LMDB. On the LMDB pass the primary does too; on
 * the PostgreSQL pass (IDN_E2E_PG, tests/e2e/harness.h) the primary runs
 * on a PostgreSQL database of its own, which it finds again after a
 * kill -9, and the same tests show a PostgreSQL primary of LMDB mirrors
 * (docs/storage-postgresql.md); one more, on that pass only, gives such a
 * primary a replica far behind it, and its mirror still gets every
 * change (the log is read on the primary). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "repl.h"

#define REPL_ADMIN "0.NA/" H_HOME ":300"
#define OTHER_ADMIN "0.NA/" H_HOME ":301"

static char dir[] = "/tmp/idn-repl.XXXXXX";
static char key[300], other_key[300], srv_key[300], srv_pub[300];
static node_t *prim, *mir;
static uint16_t mir_http;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The primary's arguments (the same at every start). */
static void prim_args(node_t *n, const char *extra)
{
	node_set_args(n, "--home", H_HOME, "--replication-admin", REPL_ADMIN,
		      "--server-key", srv_key, NULL);
	if (extra)
		node_add_args(n, "--changelog-max-entries", extra, NULL);
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

/* A mirror of p following as admin, proven by key k (not started). */
static node_t *mirror_of(const node_t *p, const char *admin, const char *k)
{
	node_t *m = node_new("--replicate-from", p->addr, "--replication-auth",
			     admin, "--replication-key", k, NULL);
	on_lmdb(m);
	return m;
}

/* The arguments of the suite's mirror of prim (the same at every start,
 * but for the primary's address). */
static void mir_args(void)
{
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", mir_http);
	node_set_args(mir, "--replicate-from", prim->addr, "--replication-auth",
		      REPL_ADMIN, "--replication-key", key, "--http", hp, NULL);
	on_lmdb(mir);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/repl.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.pem", dir);
	char *pub = h_keygen(key, NULL, NULL);
	char *other = h_keygen(other_key, NULL, NULL);
	snprintf(srv_key, sizeof(srv_key), "%s/server.pem", dir);
	snprintf(srv_pub, sizeof(srv_pub), "%s/server.pem.pub", dir);
	free(h_keygen(srv_key, NULL, NULL));
	prim = node_create();
	prim_args(prim, NULL);
	node_start(prim);
	char v1[4096], v2[4096];
	snprintf(v1, sizeof(v1), "300:HS_PUBKEY=hex:%s", pub);
	snprintf(v2, sizeof(v2), "301:HS_PUBKEY=hex:%s", other);
	h_ctl_ok(prim, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", v1, v2, NULL);
	free(pub);
	free(other);
	/* records before the mirror exists: they come with its copy */
	h_ctl_ok(prim, "create", H_HOME "/before-1", "1:URL=https://b/1",
		 "2:EMAIL=a@example.com", NULL);
	h_ctl_ok(prim, "create", H_HOME "/before-2", "1:URL=https://b/2", NULL);
	h_ctl_ok(prim, "index", "add", "EMAIL", NULL);
	mir = node_create();
	mir_http = h_free_port();
	mir_args();
	node_start(mir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(mir);
	node_free(mir);
	node_stop(prim);
	node_free(prim);
	h_rmtree(dir);
	return 0;
}

/* idctl -C export PREFIX of n into a malloc'd string (NULL on failure). */
static char *export_of(const node_t *n, const char *prefix)
{
	h_run_t r;
	h_ctl(&r, n, "export", prefix, NULL);
	char *out = r.status == 0 ? strdup(r.out) : NULL;
	h_run_free(&r);
	return out;
}

/* The prefix handle, as the operator resolves it. */
static char *prefix_rec(const node_t *n)
{
	h_run_t r;
	h_ctl(&r, n, "--json", "resolve", "0.NA/" H_HOME, NULL);
	char *out = r.status == 0 ? strdup(r.out) : NULL;
	h_run_free(&r);
	return out;
}

static char *index_of(const node_t *n)
{
	h_run_t r;
	h_ctl(&r, n, "index", "list", NULL);
	char *out = r.status == 0 ? strdup(r.out) : NULL;
	h_run_free(&r);
	return out;
}

static bool same_text(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Waits until the mirror's records (both prefixes' exports) and declared
 * types (unless no_types: HANDLE.NET's streams carry none) equal the
 * primary's; fails with the difference after timeout_ms. Returns the ms
 * it took. */
static long long converge_(const node_t *p, const node_t *m, int timeout_ms,
			   bool no_types)
{
	long long t0 = now_ms();
	char *pa = export_of(p, H_HOME), *pb = prefix_rec(p), *pi = index_of(p);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_non_null(pi);
	char *ma = NULL, *mb = NULL, *mi = NULL;
	for (;;) {
		free(ma);
		free(mb);
		free(mi);
		ma = export_of(m, H_HOME);
		mb = prefix_rec(m);
		mi = index_of(m);
		if (same_text(pa, ma) && same_text(pb, mb) &&
		    (no_types || same_text(pi, mi)))
			break;
		if (now_ms() - t0 > timeout_ms) {
			h_run_t r;
			h_ctl(&r, m, "replication", "status", NULL);
			fail_msg("the mirror did not converge in %d ms:\n"
				 "primary %s: %d lines, mirror: %d lines\n"
				 "primary types: %s\nmirror types: %s\n"
				 "status: %s",
				 timeout_ms, H_HOME, h_count_lines(pa),
				 ma ? h_count_lines(ma) : -1, pi,
				 mi ? mi : "(none)", r.out);
		}
		nap_ms(20);
	}
	long long took = now_ms() - t0;
	assert_true(h_count_lines(pa) >= 2);
	free(pa);
	free(pb);
	free(pi);
	free(ma);
	free(mb);
	free(mi);
	return took;
}

static long long converge(const node_t *p, const node_t *m, int timeout_ms)
{
	return converge_(p, m, timeout_ms, false);
}

/* Writes of every kind on the primary converge on the mirror. */
static void test_converges(void **state)
{
	(void)state;
	converge(prim, mir, 15000);
	json_t *st = h_ctl_json(mir, "replication", "status", NULL);
	assert_string_equal(json_string_value(json_object_get(st, "role")),
			    "mirror");
	json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
	assert_string_equal(json_string_value(json_object_get(s0, "source")),
			    prim->addr);
	assert_int_equal(json_integer_value(json_object_get(s0, "dumps")), 1);
	json_decref(st);

	h_ctl_ok(prim, "create", H_HOME "/c1", "1:URL=https://c/1",
		 "2:DESC=one", NULL);
	h_ctl_ok(prim, "create", H_HOME "/c2", "1:URL=https://c/2", NULL);
	h_ctl_ok(prim, "modify", H_HOME "/c1", "1:URL=https://c/1b", NULL);
	h_ctl_ok(prim, "add", H_HOME "/c1", "3:EMAIL=c1@example.com", NULL);
	h_ctl_ok(prim, "remove", H_HOME "/c1", "2", NULL);
	h_ctl_ok(prim, "delete", H_HOME "/before-2", NULL);
	h_ctl_ok(prim, "index", "add", "DESC", NULL);
	h_ctl_ok(prim, "index", "remove", "EMAIL", NULL);
	char in[256];
	snprintf(in, sizeof(in), "%s/imp.jsonl", dir);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fprintf(f,
			"{\"handle\":\"" H_HOME "/imp-%d\",\"values\":["
			"{\"index\":1,\"type\":\"URL\",\"data\":\"https://i/"
			"%d\"}]}\n",
			i, i);
	assert_int_equal(fclose(f), 0);
	h_ctl_ok(prim, "import", in, NULL);
	char tpl[256];
	snprintf(tpl, sizeof(tpl), "%s/motor.json", dir);
	h_write_file(tpl, "{\"prefix\":\"" H_HOME "\",\"name\":\"motor\","
			  "\"industry\":\"C/38/381/3811\","
			  "\"version\":1,\"items\":[{\"name\":\"BATCH\","
			  "\"index\":2003,\"type\":\"string\"}]}");
	h_ctl_ok(prim, "template", "put", H_HOME, tpl, NULL);
	h_ctl_ok(prim, "template", "publish", H_HOME, "motor", "1", NULL);
	long long took = converge(prim, mir, 15000);
	print_message("converged %lld ms after the last write (%d records "
		      "imported)\n",
		      took, 300);
	/* the mirror answers resolutions of what it copied */
	h_run_t r;
	h_net(&r, mir, "resolve", H_HOME "/c1", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://c/1b"));
	h_run_free(&r);
}

/* GET /metrics of the mirror (one request, read to the end). */
static char *http_get_path(const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(mir_http)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[256];
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Connection: close\r\n\r\n",
		 path);
	assert_int_equal(h_write_all(fd, req, strlen(req)), 0);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, H_IO_TIMEOUT_MS) <= 0)
			break;
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* The console's dashboard on the mirror, in headless Chromium: its
 * sources' table says "following" (skipped without Chromium). */
static void console_shows_replication(void)
{
	static const char chromium[] = "/usr/bin/chromium";
	if (access(chromium, X_OK) != 0) {
		print_message("console check skipped: no %s\n", chromium);
		return;
	}
	char profile[] = "/tmp/idn-chromium-XXXXXX", udd[300], url[128];
	assert_non_null(mkdtemp(profile));
	snprintf(udd, sizeof(udd), "--user-data-dir=%s", profile);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/console/#/dashboard",
		 mir_http);
	const char *argv[] = {chromium,
			      "--headless",
			      "--no-sandbox",
			      "--disable-gpu",
			      "--disable-dev-shm-usage",
			      "--no-first-run",
			      "--lang=en",
			      udd,
			      "--virtual-time-budget=5000",
			      "--dump-dom",
			      url,
			      NULL};
	h_run_t r;
	h_run(&r, 120000, argv);
	const char *t = strstr(r.out, "id=\"repl-table\"");
	if (r.status != 0 || t == NULL ||
	    strstr(t, "data-state=\"following\"") == NULL)
		fail_msg("the mirror's dashboard lacks its replication (exit "
			 "%d): %.3000s",
			 r.status, t ? t : r.out);
	h_run_free(&r);
	const char *rm[] = {"/bin/rm", "-rf", profile, NULL};
	h_run(&r, 30000, rm);
	h_run_free(&r);
}

/* The lag of one change, commit on the primary to a resolution from the
 * mirror that finds it, printed with the mirror's own figure. */
static void test_lag(void **state)
{
	(void)state;
	converge(prim, mir, 15000);
	nap_ms(300); /* the mirror is waiting in a held request */
	long long best = -1, sum = 0;
	int rounds = 5;
	for (int i = 0; i < rounds; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/lag-%d", i);
		h_ctl_ok(prim, "create", id, "1:URL=https://lag", NULL);
		long long t0 = now_ms(), took = -1;
		while (now_ms() - t0 < 10000) {
			h_run_t r;
			h_net(&r, mir, "resolve", id, NULL);
			int st = r.status;
			h_run_free(&r);
			if (st == 0) {
				took = now_ms() - t0;
				break;
			}
		}
		assert_true(took >= 0);
		sum += took;
		if (best < 0 || took < best)
			best = took;
	}
	json_t *st = h_ctl_json(mir, "replication", "status", NULL);
	json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
	long long lag = json_integer_value(json_object_get(s0, "lag_ms"));
	print_message("lag of one change: mean %lld ms, best %lld ms (after "
		      "idctl's commit, seen by idctl resolve polling); "
		      "the mirror's own figure (commit to applied): %lld ms\n",
		      sum / rounds, best, lag);
	assert_string_equal(json_string_value(json_object_get(s0, "state")),
			    "following");
	assert_int_equal(json_integer_value(json_object_get(s0, "lag_txns")),
			 0);
	json_decref(st);
	/* the same figures in /metrics */
	char *m = http_get_path("/metrics");
	if (strstr(m, "\nidnode_replication_lag_txns 0\n") == NULL ||
	    strstr(m, "\nidnode_replication_sources_in_error 0\n") == NULL ||
	    strstr(m, "\nidnode_replication_applied_total ") == NULL ||
	    strstr(m, "\nidnode_replication_lag_ms ") == NULL)
		fail_msg("/metrics lacks the replication gauges:\n%.2000s", m);
	free(m);
	/* and in /api/stats, which the console's dashboard shows */
	m = http_get_path("/api/stats");
	const char *rp = strstr(m, "\"replication\"");
	if (rp == NULL || strstr(rp, "\"following\"") == NULL)
		fail_msg("/api/stats lacks the replication state:\n%.2000s", m);
	free(m);
	console_shows_replication();
}

/* A mirror refuses local writes and names its primary. */
static void test_mirror_refuses_writes(void **state)
{
	(void)state;
	h_run_t r;
	h_ctl(&r, mir, "create", H_HOME "/local", "1:URL=https://no", NULL);
	assert_int_not_equal(r.status, 0);
	if (strstr(r.err, "mirror") == NULL ||
	    strstr(r.err, prim->addr) == NULL)
		fail_msg("refusal does not name the primary: %s", r.err);
	assert_non_null(strstr(r.err, "rc 2"));
	h_run_free(&r);
	h_ctl(&r, mir, "delete", H_HOME "/c2", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
	h_net(&r, mir, "resolve", H_HOME "/c2", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	h_ctl(&r, mir, "index", "add", "NOTE", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
}

/* An admin that is no replication admin gets nothing: rc 401. */
static void test_unauthorised_follower(void **state)
{
	(void)state;
	node_t *bad = mirror_of(prim, OTHER_ADMIN, other_key);
	node_start(bad);
	long long t0 = now_ms();
	char *reason = NULL;
	while (now_ms() - t0 < 10000) {
		json_t *st = h_ctl_json(bad, "replication", "status", NULL);
		json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
		const char *state_ =
			json_string_value(json_object_get(s0, "state"));
		if (state_ && !strcmp(state_, "error")) {
			reason = strdup(json_string_value(
				json_object_get(s0, "reason")));
			json_decref(st);
			break;
		}
		json_decref(st);
		nap_ms(50);
	}
	assert_non_null(reason);
	if (strstr(reason, "rc 401") == NULL ||
	    strstr(reason, "not a replication admin") == NULL)
		fail_msg("unexpected refusal: %s", reason);
	print_message("unauthorised follower: %s\n", reason);
	free(reason);
	h_run_t r;
	h_net(&r, bad, "resolve", H_HOME "/c1", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
	char *e = export_of(bad, H_HOME);
	assert_true(e == NULL || e[0] == 0);
	free(e);
	h_ctl(&r, bad, "replication", "status", NULL);
	assert_int_equal(r.status, 1); /* a source in error */
	h_run_free(&r);
	node_stop(bad);
	node_free(bad);
}

/* Writes in the background while one side is killed. */
static void writes(const node_t *p, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char id[64], v[64];
		snprintf(id, sizeof(id), H_HOME "/k-%d", i);
		snprintf(v, sizeof(v), "1:URL=https://k/%d", i);
		h_run_t r;
		h_ctl(&r, p, "create", id, v, NULL);
		h_run_free(&r);
		if (i % 3 == 0) {
			snprintf(id, sizeof(id), H_HOME "/k-%d", i - 1);
			h_ctl(&r, p, "delete", id, NULL);
			h_run_free(&r);
		}
	}
}

static void test_kill_rounds(void **state)
{
	(void)state;
	srand((unsigned)time(NULL));
	int next = 0;
	for (int round = 0; round < 10; round++) {
		int who = round % 3; /* 0 mirror, 1 primary, 2 both */
		pid_t child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			writes(prim, next, 30);
			_exit(0);
		}
		nap_ms(50 + rand() % 400);
		if (who != 1)
			node_kill(mir);
		if (who != 0)
			node_kill(prim);
		int st;
		waitpid(child, &st, 0);
		next += 30;
		if (!node_alive(prim)) {
			char was[32];
			snprintf(was, sizeof(was), "%s", prim->addr);
			node_start(prim);
			/* the harness may have had to move it: tell the mirror
			 * (a restart of its own) */
			if (strcmp(was, prim->addr) != 0) {
				node_kill(mir);
				mir_args();
			}
		}
		writes(prim, next, 5); /* the primary goes on alone */
		next += 5;
		if (!node_alive(mir))
			node_start(mir);
		long long took = converge(prim, mir, 20000);
		print_message("round %d (killed %s): converged in %lld ms\n",
			      round,
			      who == 0	 ? "the mirror"
			      : who == 1 ? "the primary"
					 : "both",
			      took);
	}
}

/* The primary's log pruned past the mirror: a new copy. */
static void test_redump_after_prune(void **state)
{
	(void)state;
	converge(prim, mir, 15000);
	json_t *st = h_ctl_json(mir, "replication", "status", NULL);
	json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
	long long dumps = json_integer_value(json_object_get(s0, "dumps"));
	json_decref(st);
	node_stop(mir);
	for (int i = 0; i < 20; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/p-%d", i);
		h_ctl_ok(prim, "create", id, "1:URL=https://p", NULL);
	}
	h_ctl_ok(prim, "delete", H_HOME "/c2", NULL);
	/* a start prunes at once: 5 entries kept */
	node_stop(prim);
	prim_args(prim, "5");
	node_start(prim);
	node_start(mir);
	converge(prim, mir, 20000);
	st = h_ctl_json(mir, "replication", "status", NULL);
	s0 = json_array_get(json_object_get(st, "sources"), 0);
	assert_int_equal(json_integer_value(json_object_get(s0, "dumps")),
			 dumps + 1);
	json_decref(st);
	char *log = node_log(mir);
	assert_non_null(strstr(log, "needs a new copy"));
	free(log);
	prim_args(prim, NULL);
}

/* A mirror that speaks HANDLE.NET's streams (ops 1002 and 1001, as a
 * HANDLE.NET mirror asks) with every block checked against the primary's
 * server key: it converges on the records; a wrong key is refused. */
static void test_handle_net_streams(void **state)
{
	(void)state;
	node_t *m = node_new("--replicate-from", prim->addr,
			     "--replication-protocol", "handle.net",
			     "--replication-source-key", srv_pub,
			     "--replication-auth", REPL_ADMIN,
			     "--replication-key", key, NULL);
	on_lmdb(m);
	node_start(m);
	converge_(prim, m, 15000, true);
	h_ctl_ok(prim, "create", H_HOME "/hn-1", "1:URL=https://hn/1", NULL);
	h_ctl_ok(prim, "modify", H_HOME "/c1", "1:URL=https://c/1c", NULL);
	h_ctl_ok(prim, "delete", H_HOME "/imp-7", NULL);
	long long took = converge_(prim, m, 15000, true);
	print_message("handle.net streams: converged %lld ms after the "
		      "writes\n",
		      took);
	/* killed (-9) and started again: it follows from its kept position
	 * and the date of the last stream it read (what a HANDLE.NET
	 * primary is asked with), without a new copy */
	node_kill(m);
	h_ctl_ok(prim, "create", H_HOME "/hn-2", "1:URL=https://hn/2", NULL);
	node_start(m);
	converge_(prim, m, 15000, true);
	size_t len = 0;
	char *log = (char *)h_read_file(m->log, &len);
	assert_non_null(log);
	int copies = 0;
	for (const char *p = log; (p = memmem(p, len - (size_t)(p - log),
					      "replication: copied", 19));
	     p++)
		copies++;
	free(log);
	assert_int_equal(copies, 1);
	node_stop(m);
	node_free(m);
	/* the key of another server: nothing applied, the state says why */
	m = node_new("--replicate-from", prim->addr, "--replication-protocol",
		     "handle.net", "--replication-source-key", "/dev/null",
		     "--replication-auth", REPL_ADMIN, "--replication-key", key,
		     NULL);
	on_lmdb(m);
	node_spawn(m);
	assert_int_not_equal(node_wait_exit(m, 10000), 0);
	node_free(m);
	char wrong[300];
	snprintf(wrong, sizeof(wrong), "%s/other.pem.pub", dir);
	m = node_new("--replicate-from", prim->addr, "--replication-protocol",
		     "handle.net", "--replication-source-key", wrong,
		     "--replication-auth", REPL_ADMIN, "--replication-key", key,
		     NULL);
	on_lmdb(m);
	node_start(m);
	long long t0 = now_ms();
	char *reason = NULL;
	while (reason == NULL && now_ms() - t0 < 10000) {
		json_t *st = h_ctl_json(m, "replication", "status", NULL);
		json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
		const char *r =
			json_string_value(json_object_get(s0, "reason"));
		if (r && strstr(r, "does not verify"))
			reason = strdup(r);
		json_decref(st);
		if (reason == NULL)
			nap_ms(50);
	}
	if (reason == NULL)
		fail_msg("a stream signed by another key was not refused");
	print_message("wrong source key: %s\n", reason);
	free(reason);
	char *e = export_of(m, H_HOME);
	assert_true(e == NULL || e[0] == 0);
	free(e);
	node_stop(m);
	node_free(m);
}

/* The handles of an export (JSON Lines), in share (of 2, by the whole
 * handle) or not. */
static int count_share(const char *jsonl, uint32_t num, int *others)
{
	int in = 0;
	*others = 0;
	for (const char *p = jsonl; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		json_error_t e;
		json_t *j = json_loadb(p, len, 0, &e);
		const char *h = json_string_value(json_object_get(j, "handle"));
		if (h && idn_repl_in_share(IDN_CH_CREATE, idn_bytes_str(h),
					   IDN_HASH_BY_ALL, 2, num))
			in++;
		else if (h)
			(*others)++;
		json_decref(j);
		p = nl ? nl + 1 : NULL;
	}
	return in;
}

/* A mirror of server 0 of 2 (by the whole handle) copies and follows only
 * the records of its share, and every homed prefix. */
static void test_share(void **state)
{
	(void)state;
	node_t *m = mirror_of(prim, REPL_ADMIN, key);
	node_add_args(m, "--replication-share", "all:2:0", NULL);
	node_start(m);
	h_ctl_ok(prim, "create", H_HOME "/share-after", "1:URL=https://s",
		 NULL);
	long long t0 = now_ms();
	int want = 0, got = -1, others = 0, mine_elsewhere = 0;
	while (now_ms() - t0 < 15000) {
		char *pe = export_of(prim, H_HOME), *me = export_of(m, H_HOME);
		want = count_share(pe, 0, &others);
		got = me ? count_share(me, 0, &mine_elsewhere) : -1;
		free(pe);
		free(me);
		if (got == want && mine_elsewhere == 0)
			break;
		nap_ms(50);
	}
	print_message("share 0 of 2: %d records on the mirror, %d of the "
		      "primary's in the other share\n",
		      got, others);
	assert_int_equal(got, want);
	assert_int_equal(mine_elsewhere, 0);
	assert_true(want > 10 && others > 10);
	node_stop(m);
	node_free(m);
}

/* Whether the mirror m resolves id (a fresh idctl over UDP). */
static bool mirror_has(const node_t *m, const char *id)
{
	h_run_t r;
	h_net(&r, m, "resolve", id, NULL);
	bool ok = r.status == 0;
	h_run_free(&r);
	return ok;
}

/* A PostgreSQL primary that reads a replica (--store-replica) serves its
 * change log from its primary database: a replica far behind (here one
 * frozen: a copy of the database made while the primary was stopped)
 * gives the mirror an old copy, and the log read on the primary brings
 * everything after it, then each new write. Read on that replica, the
 * log would have ended at the copy (the mirror waiting for ever); read on
 * replicas at different positions, it would have gone back and forth
 * (the mirror copying everything again). PostgreSQL pass only. */
static void test_pg_replica_behind(void **state)
{
	(void)state;
	if (!h_pg()) {
		print_message("[ SKIP     ] on LMDB: a PostgreSQL primary's "
			      "replicas\n");
		skip();
	}
	char k[300], v1[4096];
	snprintf(k, sizeof(k), "%s/frozen.pem", dir);
	char *pub = h_keygen(k, NULL, NULL);
	snprintf(v1, sizeof(v1), "300:HS_PUBKEY=hex:%s", pub);
	free(pub);
	node_t *p = node_create();
	prim_args(p, NULL);
	node_start(p);
	h_ctl_ok(p, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", v1, NULL);
	for (int i = 0; i < 5; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/fz-%d", i);
		h_ctl_ok(p, "create", id, "1:URL=https://fz", NULL);
	}
	node_stop(p);
	node_t *frozen = node_create();
	node_store_copy(frozen, p);
	node_add_args(p, "--store-replica", node_store(frozen), NULL);
	node_start(p);
	for (int i = 5; i < 10; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/fz-%d", i);
		h_ctl_ok(p, "create", id, "1:URL=https://fz", NULL);
	}
	h_ctl_ok(p, "delete", H_HOME "/fz-0", NULL);
	node_t *m = mirror_of(p, REPL_ADMIN, k);
	node_start(m);
	long long t0 = now_ms();
	while (!mirror_has(m, H_HOME "/fz-9") && now_ms() - t0 < 15000)
		nap_ms(20);
	long long took = now_ms() - t0;
	h_ctl_ok(p, "create", H_HOME "/fz-10", "1:URL=https://fz", NULL);
	long long t1 = now_ms();
	while (!mirror_has(m, H_HOME "/fz-10") && now_ms() - t1 < 15000)
		nap_ms(20);
	for (int i = 1; i <= 10; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/fz-%d", i);
		if (!mirror_has(m, id)) {
			h_run_t r;
			h_ctl(&r, m, "replication", "status", NULL);
			fail_msg("the mirror lacks %s; status: %s", id, r.out);
		}
	}
	assert_false(mirror_has(m, H_HOME "/fz-0"));
	json_t *st = h_ctl_json(m, "replication", "status", NULL);
	json_t *s0 = json_array_get(json_object_get(st, "sources"), 0);
	assert_int_equal(json_integer_value(json_object_get(s0, "dumps")), 1);
	assert_int_equal(json_integer_value(json_object_get(s0, "lag_txns")),
			 0);
	json_decref(st);
	print_message("replica frozen behind the primary: the mirror had the "
		      "log's records %lld ms after it started, a new write "
		      "%lld ms after it\n",
		      took, now_ms() - t1);
	node_stop(m);
	node_free(m);
	node_stop(p);
	node_free(p);
	node_free(frozen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converges),
		cmocka_unit_test(test_lag),
		cmocka_unit_test(test_mirror_refuses_writes),
		cmocka_unit_test(test_unauthorised_follower),
		cmocka_unit_test(test_kill_rounds),
		cmocka_unit_test(test_redump_after_prune),
		cmocka_unit_test(test_handle_net_streams),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_pg_replica_behind),
	};
	/* the LMDB pass runs LMDB mirrors of an LMDB primary; the
	 * PostgreSQL pass (IDN_E2E_PG) the same tests with the primary on
	 * PostgreSQL and the mirrors still on LMDB (on_lmdb), the layout of
	 * docs/storage-postgresql.md */
	return cmocka_run_group_tests(tests, setup, teardown);
}
