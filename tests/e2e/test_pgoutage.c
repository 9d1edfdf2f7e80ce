/* PostgreSQL going away under a node. Runs in the PostgreSQL pass only
 * (IDN_E2E_PG).
 *
 * - A write whose connection is lost during COMMIT is answered "outcome
 *   unknown", not as a failure, and counted. Deterministic: a deferred
 *   constraint trigger, which runs inside COMMIT, terminates its own
 *   backend for one identifier.
 * - A node starts with its primary down and a replica up (a private
 *   cluster from tests/pg.sh, since the shared one must stay up): reads
 *   work, writes are refused with "primary unavailable; read-only", the
 *   log has one line for the outage however many writes fail, homing
 *   waits for the primary, and writes work again once it is back, without
 *   a restart. Then the primary stops under the running node: writes fail
 *   fast, one line again, and the recovery line counts them. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sql(const char *conninfo, const char *text)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	PGresult *r = PQexec(c, text);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", text, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* Occurrences of needle in the node's log since it was started. */
static int log_count(const node_t *n, const char *needle)
{
	char *log = node_log(n);
	int k = 0;
	for (const char *p = log; (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		k++;
	free(log);
	return k;
}

static long long stat_of(node_t *n, const char *name)
{
	json_t *j = h_ctl_json(n, "stats", "--json", NULL);
	json_t *v = json_object_get(j, name);
	if (v == NULL)
		fail_msg("no %s in the stats", name);
	long long x = json_integer_value(v);
	json_decref(j);
	return x;
}

#define UNKNOWN "the write may or may not have been applied"
#define READONLY "primary unavailable; read-only"
#define TOKEN "pgoutage-token-0123456789abcdef"

/* Gives n an HTTP listener that takes writes with TOKEN; its port. */
static uint16_t with_http(node_t *n)
{
	static char port[16], tok[160];
	uint16_t p = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", p);
	snprintf(tok, sizeof(tok), "%s/admin.token", n->dir);
	h_write_file(tok, TOKEN "\n");
	assert_int_equal(chmod(tok, 0600), 0);
	node_add_args(n, "--http", port, "--http-admin-token-file", tok, NULL);
	return p;
}

/* METHOD PATH with the admin token and the JSON body json: the HTTP
 * status; the answer's body in body (cap bytes). */
static int http_send(uint16_t port, const char *method, const char *path,
		     const char *json, char *body, size_t cap)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	const char *argv[] = {"/usr/bin/curl",
			      "-s",
			      "-X",
			      method,
			      "-H",
			      "Authorization: Bearer " TOKEN,
			      "-H",
			      "Content-Type: application/json",
			      "-w",
			      "\n%{http_code}",
			      "--max-time",
			      "20",
			      "-d",
			      json,
			      url,
			      NULL};
	h_run_t r;
	h_run(&r, 30000, argv);
	assert_int_equal(r.status, 0);
	char *nl = strrchr(r.out, '\n');
	assert_non_null(nl);
	int code = atoi(nl + 1);
	*nl = 0;
	snprintf(body, cap, "%s", r.out);
	h_run_free(&r);
	return code;
}

/* PUT /api/handles/ID with one URL value: the HTTP status, the body in
 * body. */
static int http_put(uint16_t port, const char *id, char *body, size_t cap)
{
	char path[200];
	snprintf(path, sizeof(path), "/api/handles/%s", id);
	return http_send(port, "PUT", path,
			 "{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":"
			 "{\"format\":\"string\",\"value\":\"https://h\"}}]}",
			 body, cap);
}

/* POST /snms/api/v5/data (the management API) creating id: the HTTP
 * status, the body in body. */
static int mgmt_post(uint16_t port, const char *id, char *body, size_t cap)
{
	char json[300];
	snprintf(json, sizeof(json),
		 "{\"handle\":\"%s\",\"values\":[{\"index\":1,\"type\":"
		 "\"URL\",\"data\":\"https://m\"}]}",
		 id);
	return http_send(port, "POST", "/snms/api/v5/data", json, body, cap);
}

static void need_pg(void)
{
	if (!h_pg()) {
		print_message("[ SKIP     ] needs PostgreSQL (IDN_E2E_PG)\n");
		skip();
	}
}

/* The identifiers whose key holds BOOM lose their connection in COMMIT. */
static const char *const boom_sql =
	"CREATE FUNCTION idn_test_boom() RETURNS trigger LANGUAGE plpgsql "
	"AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); "
	"PERFORM pg_sleep(5); RETURN NULL; END $$;"
	"CREATE CONSTRAINT TRIGGER idn_test_boom AFTER INSERT ON idn_records "
	"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
	"WHEN (NEW.idx = -1 AND position('\\x424f4f4d'::bytea in "
	"NEW.ident_key) > 0) EXECUTE FUNCTION idn_test_boom()";

static void lost_commit_is_outcome_unknown(void **state)
{
	(void)state;
	need_pg();
	node_t *n = node_new("--home", H_HOME, NULL);
	uint16_t hp = with_http(n);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/before", "1:URL=https://before", NULL);
	sql(node_store(n), boom_sql);

	h_run_t r;
	h_ctl(&r, n, "create", H_HOME "/boom", "1:URL=https://boom", NULL);
	if (r.status == 0 || strstr(r.err, UNKNOWN) == NULL)
		fail_msg("want 'outcome unknown', got %d: %s%s", r.status,
			 r.out, r.err);
	assert_non_null(strstr(r.err, "resolve the identifier"));
	h_run_free(&r);
	assert_int_equal(stat_of(n, "outcome_unknown"), 1);
	/* over HTTP: 503 and the same message */
	char body[1024];
	long long unknown = 1;
	if (access("/usr/bin/curl", X_OK) == 0) {
		assert_int_equal(
			http_put(hp, H_HOME "/boom-http", body, sizeof(body)),
			503);
		assert_non_null(strstr(body, UNKNOWN));
		assert_int_equal(stat_of(n, "outcome_unknown"), ++unknown);
		char url[128];
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", hp);
		const char *argv[] = {
			"/usr/bin/curl", "-s", "--max-time", "20", url, NULL};
		h_run(&r, 30000, argv);
		h_assert_status(&r, 0);
		assert_non_null(strstr(r.out, "\nidnode_store_outcome_unknown_"
					      "total 2\n"));
		h_run_free(&r);
	}
	/* a plain failure is still one, and not counted as unknown */
	h_ctl(&r, n, "create", H_HOME "/before", "1:URL=https://x", NULL);
	assert_int_not_equal(r.status, 0);
	assert_null(strstr(r.err, UNKNOWN));
	h_run_free(&r);
	assert_int_equal(stat_of(n, "outcome_unknown"), unknown);

	/* the client resolves, as told: the trigger killed the commit, so
	 * nothing is there here; the next write connects again */
	h_ctl(&r, n, "resolve", H_HOME "/boom", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
	sql(node_store(n), "DROP TRIGGER idn_test_boom ON idn_records");
	h_ctl_ok(n, "create", H_HOME "/boom", "1:URL=https://boom", NULL);
	h_ctl_ok(n, "resolve", H_HOME "/boom", NULL);
	char *log = node_log(n);
	assert_non_null(strstr(log, "connection lost during COMMIT"));
	free(log);
	node_stop(n);
	node_free(n);
}

/* ---- a private primary and replica ---- */

typedef struct {
	char dir[256], primary[256], replica[256];
} cluster_t;

static void pg_sh(const char *cmd, const char *dir, h_run_t *r)
{
	const char *argv[] = {"/bin/bash", h_src("tests/pg.sh"), cmd, dir,
			      NULL};
	h_run(r, 120000, argv);
	if (r->status != 0)
		fail_msg("pg.sh %s: %s", cmd, r->err);
}

/* The value of export NAME='...' in pg.sh start's output. */
static void env_of(const char *out, const char *name, char *dst, size_t cap)
{
	char key[64];
	snprintf(key, sizeof(key), "export %s='", name);
	const char *p = strstr(out, key);
	if (p == NULL)
		fail_msg("pg.sh start printed no %s", name);
	p += strlen(key);
	size_t len = strcspn(p, "'");
	assert_true(len < cap);
	memcpy(dst, p, len);
	dst[len] = 0;
}

static void cluster_start(cluster_t *c)
{
	h_run_t r;
	pg_sh("start", "--replica", &r);
	env_of(r.out, "IDN_PG_DIR", c->dir, sizeof(c->dir));
	env_of(r.out, "IDN_TEST_PG", c->primary, sizeof(c->primary));
	env_of(r.out, "IDN_TEST_PG_REPLICA", c->replica, sizeof(c->replica));
	h_run_free(&r);
}

static void cluster_cmd(const cluster_t *c, const char *cmd)
{
	h_run_t r;
	pg_sh(cmd, c->dir, &r);
	h_run_free(&r);
}

/* A create through the control socket: its exit status, and whether its
 * message is the read-only one. */
static int try_create(node_t *n, const char *id, bool *readonly)
{
	h_run_t r;
	int st = h_ctl(&r, n, "create", id, "1:URL=https://x", NULL);
	*readonly = strstr(r.err, READONLY) != NULL;
	h_run_free(&r);
	return st;
}

/* Retries a create every 200 ms for up to secs: the seconds it took, or
 * fails the test. */
static double create_within(node_t *n, const char *id, double secs)
{
	double t0 = now_s();
	bool ro;
	while (try_create(n, id, &ro) != 0) {
		if (now_s() - t0 > secs) {
			node_dump_log(n);
			fail_msg("%s not created within %.0f s", id, secs);
		}
		h_msleep(200);
	}
	return now_s() - t0;
}

static void resolve_ok(node_t *n, const char *id)
{
	h_run_t r;
	double t0 = now_s();
	/* the replica replays the primary's commits within moments */
	while (h_ctl(&r, n, "resolve", id, NULL) != 0 && now_s() - t0 < 10) {
		h_run_free(&r);
		h_msleep(100);
	}
	h_assert_status(&r, 0);
	h_run_free(&r);
}

static cluster_t c; /* stopped by teardown, also after a failure */

static int cluster_teardown(void **state)
{
	(void)state;
	if (c.dir[0]) {
		const char *argv[] = {"/bin/bash", h_src("tests/pg.sh"), "stop",
				      c.dir, NULL};
		h_run_t r;
		h_run(&r, 120000, argv);
		h_run_free(&r);
	}
	memset(&c, 0, sizeof(c));
	return 0;
}

static void replica_start_and_primary_outage(void **state)
{
	(void)state;
	need_pg();
	cluster_start(&c);
	node_t *n = node_new("--home", H_HOME, "--store", c.primary,
			     "--store-replica", c.replica, NULL);
	uint16_t hp = with_http(n);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/before", "1:URL=https://before", NULL);
	resolve_ok(n, H_HOME "/before");
	node_stop(n);

	/* the primary down at start: the node starts on the replica; of its
	 * two prefixes, the one not homed yet waits for the primary */
	cluster_cmd(&c, "primary-stop");
	node_add_args(n, "--home", "88.777", NULL);
	node_start(n);
	char *log = node_log(n);
	assert_non_null(strstr(log, "starting read-only on replicas"));
	assert_non_null(strstr(log, "homing of 1 prefixes deferred"));
	free(log);
	resolve_ok(n, H_HOME "/before");
	bool ro = false;
	for (int i = 0; i < 100; i++) {
		assert_int_not_equal(try_create(n, H_HOME "/during", &ro), 0);
		assert_true(ro);
	}
	char body[1024];
	if (access("/usr/bin/curl", X_OK) == 0) {
		assert_int_equal(
			http_put(hp, H_HOME "/during", body, sizeof(body)),
			503);
		assert_non_null(strstr(body, READONLY));
		/* the management API says the same */
		assert_int_equal(
			mgmt_post(hp, H_HOME "/during-m", body, sizeof(body)),
			503);
		assert_non_null(strstr(body, READONLY));
	}
	if (log_count(n, "postgresql primary unreachable") != 1 ||
	    log_count(n, "unreachable") != 1) {
		char *l = node_log(n);
		fail_msg("want one line naming the outage:\n%s", l);
	}
	assert_int_equal(log_count(n, READONLY), 0); /* no line per request */

	/* back: writes work again, without a restart, within the back-off */
	cluster_cmd(&c, "primary-start");
	double took = create_within(n, H_HOME "/after", 10);
	print_message("writes back %.1f s after the primary\n", took);
	assert_true(took < 5);
	assert_int_equal(log_count(n, "postgresql primary back after"), 1);
	log = node_log(n);
	const char *back = strstr(log, "postgresql primary back after");
	long failed = strtol(strstr(back, "s, ") + 3, NULL, 10);
	assert_true(failed >= 100);
	free(log);
	/* homing, deferred, happened too */
	double t0 = now_s();
	while (log_count(n, "homed 1 deferred prefixes") == 0 &&
	       now_s() - t0 < 15)
		h_msleep(200);
	assert_int_equal(log_count(n, "homed 1 deferred prefixes"), 1);
	resolve_ok(n, H_HOME "/after");
	h_run_t hr;
	assert_int_equal(h_ctl(&hr, n, "homed", NULL), 0);
	assert_non_null(strstr(hr.out, "88.777"));
	h_run_free(&hr);

	/* the primary stops under the running node: fast failures, one
	 * line, and the recovery counts them */
	cluster_cmd(&c, "primary-stop");
	int lines = log_count(n, "unreachable");
	double t1 = now_s();
	for (int i = 0; i < 20; i++) {
		assert_int_not_equal(try_create(n, H_HOME "/down", &ro), 0);
		assert_true(ro);
	}
	double per = (now_s() - t1) / 20;
	print_message("a refused write took %.3f s\n", per);
	assert_true(per < 1);
	assert_int_equal(log_count(n, "unreachable"), lines + 1);
	resolve_ok(n, H_HOME "/after");
	cluster_cmd(&c, "primary-start");
	create_within(n, H_HOME "/again", 10);
	assert_int_equal(log_count(n, "postgresql primary back after"), 2);
	log = node_log(n);
	back = strstr(strstr(log, "postgresql primary back after") + 1,
		      "postgresql primary back after");
	failed = strtol(strstr(back, "s, ") + 3, NULL, 10);
	assert_true(failed >= 20);
	free(log);
	node_stop(n);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lost_commit_is_outcome_unknown),
		cmocka_unit_test_teardown(replica_start_and_primary_outage,
					  cluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
