/* Tests of the PostgreSQL backend's own behaviour (store_pg.c): schema
 * and migrations, the rows it writes, corrupt rows, failures of the server
 * and of statements, several nodes writing one identifier, a primary that
 * goes away and comes back, and (with IDN_TEST_PG_REPLICA) streaming
 * replicas. The interface's behaviour shared with LMDB is tested by
 * test_store.c, which runs against PostgreSQL too.
 *
 * Needs IDN_TEST_PG=<libpq URI> (tests/pg.sh start); without it only the
 * error translation is tested. Each test works in a schema of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "store.h"
#include "store_impl.h"
#include "store_pg.h"
#include "value.h"

static const char *pg_uri;	/* IDN_TEST_PG */
static const char *replica_uri; /* IDN_TEST_PG_REPLICA */
static bool primary_stopped;	/* by test_replica: teardown restarts it */

static void pg_ctl(const char *what);

/* ---- logging ---- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logged[16384]; /* everything logged since log_clear */

static void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	pthread_mutex_lock(&log_mu);
	size_t n = strlen(logged);
	snprintf(logged + n, sizeof(logged) - n, "%d %s\n", level, msg);
	pthread_mutex_unlock(&log_mu);
	if (getenv("IDN_TEST_VERBOSE"))
		fprintf(stderr, "store log %d: %s\n", level, msg);
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	logged[0] = 0;
	pthread_mutex_unlock(&log_mu);
}

static bool log_has(const char *s)
{
	pthread_mutex_lock(&log_mu);
	bool has = strstr(logged, s) != NULL;
	pthread_mutex_unlock(&log_mu);
	return has;
}

/* Lines logged since log_clear that hold s. */
static int log_count(const char *s)
{
	int k = 0;
	pthread_mutex_lock(&log_mu);
	for (const char *p = logged; (p = strstr(p, s)) != NULL; p++)
		k++;
	pthread_mutex_unlock(&log_mu);
	return k;
}

/* ---- SQL on the side ---- */

static PGconn *raw_connect(const char *uri)
{
	PGconn *c = PQconnectdb(uri);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", uri, PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static void raw_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%.300s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

/* The first column of the first row of a query, as a number. */
static long raw_long(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		fail_msg("%.300s: %s", sql, PQresultErrorMessage(r));
	long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static void sql1(const char *sql)
{
	PGconn *c = raw_connect(pg_uri);
	raw_exec(c, sql);
	PQfinish(c);
}

/* ---- fixture: a schema of the test's own ---- */

typedef struct {
	char schema[64];
	char uri[1024];	    /* the test database, schema first in the path */
	char replica[1024]; /* the same through the replica, if any */
	idn_store_t *s;
	PGconn *raw; /* a connection of the test's own into the schema */
} fx_t;

static void with_schema(char *out, size_t cap, const char *uri,
			const char *schema)
{
	snprintf(out, cap, "%s%coptions=-c%%20search_path%%3D%s", uri,
		 strchr(uri, '?') ? '&' : '?', schema);
}

static int open_uri(const char *uri, const char *const *replicas,
		    unsigned nreplicas, idn_store_t **s)
{
	idn_store_opts_t o = {.path = uri,
			      .replicas = replicas,
			      .nreplicas = nreplicas,
			      .log = store_log};
	return idn_store_open(&o, s);
}

static void open_store(fx_t *f)
{
	int err = open_uri(f->uri, NULL, 0, &f->s);
	if (err)
		fail_msg("open %s: %s", f->uri, idn_strerror(err));
}

static int setup(void **state)
{
	if (pg_uri == NULL)
		return 0;
	fx_t *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	static int seq;
	snprintf(f->schema, sizeof(f->schema), "idn_p%d_%d", (int)getpid(),
		 ++seq);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
	sql1(sql);
	with_schema(f->uri, sizeof(f->uri), pg_uri, f->schema);
	if (replica_uri)
		with_schema(f->replica, sizeof(f->replica), replica_uri,
			    f->schema);
	f->raw = raw_connect(f->uri);
	log_clear();
	open_store(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	if (primary_stopped)
		pg_ctl("primary-start");
	if (f == NULL)
		return 0;
	idn_store_close(f->s);
	PQfinish(f->raw);
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
	sql1(sql);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void mkid(idn_ident_t *id, const char *s)
{
	int err = idn_ident_parse((const uint8_t *)s, strlen(s), 0, id);
	if (err)
		fail_msg("parse %.60s: %s", s, idn_strerror(err));
}

static idn_value_t val(uint32_t index, const char *type, const char *data)
{
	idn_value_t v = {.index = index,
			 .timestamp = 1700000000u + index,
			 .ttl_type = IDN_TTL_RELATIVE,
			 .ttl = IDN_TTL_DEFAULT,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str(type),
			 .data = idn_bytes_str(data)};
	return v;
}

/* Creates a record in its own transaction; returns the first failure. */
static int create_in(idn_store_t *s, const char *ident, const idn_value_t *v,
		     uint32_t n, bool overwrite)
{
	idn_ident_t id;
	mkid(&id, ident);
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(s, &t);
	if (err)
		return err;
	err = idn_wtxn_create(t, &id, v, n, overwrite);
	if (err) {
		idn_wtxn_abort(t);
		return err;
	}
	return idn_wtxn_commit(t);
}

static void create1(idn_store_t *s, const char *ident, const idn_value_t *v,
		    uint32_t n)
{
	int err = create_in(s, ident, v, n, false);
	if (err)
		fail_msg("create %s: %s", ident, idn_strerror(err));
}

/* Looks ident up in a fresh read transaction: the store's code, and the
 * number of values in *n. */
static int lookup(idn_store_t *s, const char *ident, uint32_t *n)
{
	idn_ident_t id;
	mkid(&id, ident);
	idn_rtxn_t *r;
	int err = idn_rtxn_begin(s, &r);
	if (err)
		return err;
	idn_record_t rec;
	err = idn_store_get(r, id.key, id.key_len, &rec);
	if (err == 0 && n)
		*n = rec.nvalues;
	idn_rtxn_free(r);
	return err;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- error translation (no server needed) ---- */

static void test_sqlstates(void **state)
{
	(void)state;
	static const struct {
		const char *st;
		int err;
	} want[] = {
		{"53100", IDN_ENOSPACE}, /* disk full */
		{"40001", -EAGAIN},	 /* serialization failure */
		{"40P01", -EAGAIN},	 /* deadlock */
		{"57014", IDN_ETIMEOUT}, /* statement timeout */
		{"23505", IDN_EEXISTS},	 {"42P01", IDN_ECORRUPT},
		{"XX001", IDN_ECORRUPT}, {"08006", IDN_ESTORE},
		{"08001", IDN_ESTORE},	 {"57P01", IDN_ESTORE},
		{"53300", IDN_ESTORE},	 {"25006", IDN_ESTORE},
		{"28P01", IDN_ESTORE},	 {"22P02", IDN_ESTORE},
		{"", IDN_ESTORE},	 {NULL, IDN_ESTORE},
		{"5310", IDN_ESTORE},	 {"531000", IDN_ESTORE},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int got = idn__pg_sqlstate_error(want[i].st);
		if (got != want[i].err)
			fail_msg("%s: got %d (%s), want %d (%s)",
				 want[i].st ? want[i].st : "NULL", got,
				 idn_strerror(got), want[i].err,
				 idn_strerror(want[i].err));
	}
}

/* The cached list of homed prefixes is searched by a loop that once spun
 * forever on an entry cut short; it ends with IDN_ECORRUPT now. */
static void test_homed_list(void **state)
{
	(void)state;
	uint8_t list[32];
	idn_put_u32(list, 2);
	memcpy(list + 4, "88", 2);
	idn_put_u32(list + 6, 3);
	memcpy(list + 10, "99.1", 4); /* 13 bytes, then one left over */
	assert_int_equal(idn__pg_homed_find(list, 6, (const uint8_t *)"88", 2),
			 1);
	assert_int_equal(
		idn__pg_homed_find(list, 13, (const uint8_t *)"99.", 3), 1);
	assert_int_equal(idn__pg_homed_find(list, 13, (const uint8_t *)"77", 2),
			 0);
	assert_int_equal(
		idn__pg_homed_find(list, 13, (const uint8_t *)"999", 3), 0);
	/* a byte left over, not an entry */
	assert_int_equal(
		idn__pg_homed_find(list, 14, (const uint8_t *)"999", 3),
		IDN_ECORRUPT);
	/* the last entry runs off the end */
	assert_int_equal(
		idn__pg_homed_find(list, 12, (const uint8_t *)"999", 3),
		IDN_ECORRUPT);
	/* a length field cut in two */
	assert_int_equal(idn__pg_homed_find(list, 8, (const uint8_t *)"999", 3),
			 IDN_ECORRUPT);
	/* a length over the identifier limit */
	idn_put_u32(list, IDN_IDENT_MAX + 1);
	assert_int_equal(idn__pg_homed_find(list, 13, (const uint8_t *)"9", 1),
			 IDN_ECORRUPT);
}

/* ---- schema ---- */

/* The rows of a record: its header and one row per value holding the
 * value's wire encoding; the change log has a row per operation. */
static void test_rows(void **state)
{
	fx_t *f = *state;
	idn_value_t v[2] = {val(7, "URL", "https://x"), val(2, "EMAIL", "m")};
	create1(f->s, "88.118.8/Rows", v, 2);
	idn_ident_t id;
	mkid(&id, "88.118.8/Rows");
	idn_wtxn_t *t;
	uint32_t gone = 7;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_wtxn_remove(t, &id, &gone, 1), 0);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8), 0);
	assert_int_equal(idn_wtxn_commit(t), 0);

	PGresult *r =
		PQexecParams(f->raw,
			     "SELECT convert_from(ident_key, 'UTF8'), idx, enc "
			     "FROM idn_records ORDER BY ident_key, idx",
			     0, NULL, NULL, NULL, NULL, 1);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 2);
	assert_string_equal(PQgetvalue(r, 0, 0), "88.118.8/ROWS");
	assert_int_equal(PQgetlength(r, 0, 2), 13);
	assert_memory_equal(PQgetvalue(r, 0, 2), "88.118.8/Rows", 13);
	uint8_t enc[128];
	idn_wr_t w;
	idn_wr_init(&w, enc, sizeof(enc));
	idn_value_encode(&w, &v[1]);
	assert_int_equal(PQgetlength(r, 1, 2), (int)w.len);
	assert_memory_equal(PQgetvalue(r, 1, 2), enc, w.len);
	PQclear(r);
	assert_int_equal(raw_long(f->raw, "SELECT count(*) FROM idn_prefixes"),
			 1);
	/* the change log: create, remove, home (test_changes.c reads it) */
	assert_int_equal(raw_long(f->raw, "SELECT count(*) FROM idn_changes"),
			 3);
	assert_int_equal(raw_long(f->raw, "SELECT next FROM idn_changes_next"),
			 4);
	assert_int_equal(raw_long(f->raw, "SELECT max(version) FROM "
					  "idn_schema_migrations"),
			 4);
	/* the other tables exist, empty */
	assert_int_equal(raw_long(f->raw, "SELECT count(*) FROM idn_templates"),
			 0);
	assert_int_equal(
		raw_long(f->raw, "SELECT count(*) FROM idn_search_index"), 0);
}

static void test_schema_version(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	create1(f->s, "88.118.8/V", &v, 1);
	idn_store_close(f->s);
	f->s = NULL;
	idn_store_t *s = (idn_store_t *)1;

	/* a newer schema */
	raw_exec(f->raw, "INSERT INTO idn_schema_migrations "
			 "(version, description) VALUES (5, 'future')");
	log_clear();
	assert_int_equal(open_uri(f->uri, NULL, 0, &s), IDN_ECORRUPT);
	assert_null(s);
	assert_true(log_has("newer"));
	/* our tables without any version: not a store we wrote */
	raw_exec(f->raw, "DELETE FROM idn_schema_migrations");
	assert_int_equal(open_uri(f->uri, NULL, 0, &s), IDN_ECORRUPT);
	/* a negative version, which no idnode writes, is refused too (it
	 * once ran the migrations from migrations[-1]) */
	raw_exec(f->raw, "INSERT INTO idn_schema_migrations "
			 "(version, description) VALUES (-1, 'damaged')");
	log_clear();
	assert_int_equal(open_uri(f->uri, NULL, 0, &s), IDN_ECORRUPT);
	assert_null(s);
	assert_true(log_has("schema version -1 is not a version"));
	raw_exec(f->raw, "DELETE FROM idn_schema_migrations");
	/* and the version back in place opens again */
	raw_exec(f->raw, "INSERT INTO idn_schema_migrations "
			 "(version, description) VALUES (1, 'back')");
	open_store(f);
	uint32_t n = 0;
	assert_int_equal(lookup(f->s, "88.118.8/V", &n), 0);
	assert_int_equal(n, 1);
}

typedef struct {
	const char *uri;
	int err;
} opener_t;

static void *opener(void *arg)
{
	opener_t *o = arg;
	idn_store_t *s;
	o->err = open_uri(o->uri, NULL, 0, &s);
	if (o->err == 0)
		idn_store_close(s);
	return NULL;
}

/* Several nodes opening an empty database at once: one creates the
 * schema, the others find it. */
static void test_concurrent_migration(void **state)
{
	fx_t *f = *state;
	raw_exec(f->raw, "DROP TABLE idn_records, idn_prefixes, idn_templates,"
			 " idn_search_index, idn_changes, idn_changes_next,"
			 " idn_index_types, idn_schema_migrations");
	enum { N = 6 };
	static opener_t o[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		o[i] = (opener_t){.uri = f->uri};
		assert_int_equal(pthread_create(&th[i], NULL, opener, &o[i]),
				 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (o[i].err)
			fail_msg("opener %d: %s", i, idn_strerror(o[i].err));
	}
	assert_int_equal(raw_long(f->raw, "SELECT count(*) FROM "
					  "idn_schema_migrations"),
			 4);
	idn_value_t v = val(1, "URL", "u");
	create1(f->s, "88.118.8/AFTER", &v, 1);
}

/* ---- corrupt rows ---- */

/* Rows written behind the store's back: reads and edits refuse them,
 * create with overwrite repairs them. */
static void test_corrupt_rows(void **state)
{
	fx_t *f = *state;
	idn_value_t v[2] = {val(1, "URL", "u"), val(2, "URL", "v")};
	create1(f->s, "88.118.8/GOOD", v, 2);
	static const char *const bad[][2] = {
		/* the row's index is not its value's */
		{"88.118.8/IDX", "UPDATE idn_records SET idx = 5 WHERE "
				 "ident_key = '88.118.8/IDX' AND idx = 2"},
		/* a truncated value */
		{"88.118.8/TRUNC",
		 "UPDATE idn_records SET enc = substring(enc from 1 for 10) "
		 "WHERE ident_key = '88.118.8/TRUNC' AND idx = 1"},
		/* a value with trailing bytes */
		{"88.118.8/TRAIL", "UPDATE idn_records SET enc = enc || "
				   "'\\x00'::bytea WHERE ident_key = "
				   "'88.118.8/TRAIL' AND idx = 2"},
		/* an empty identifier in the header */
		{"88.118.8/EMPTYID", "UPDATE idn_records SET enc = '' WHERE "
				     "ident_key = '88.118.8/EMPTYID' AND "
				     "idx = -1"},
		/* a header holding another identifier */
		{"88.118.8/MISFILED",
		 "UPDATE idn_records SET enc = '88.118.8/ELSEWHERE' WHERE "
		 "ident_key = '88.118.8/MISFILED' AND idx = -1"},
		/* values without a header */
		{"88.118.8/ORPHAN", "DELETE FROM idn_records WHERE ident_key = "
				    "'88.118.8/ORPHAN' AND idx = -1"},
		/* an index beyond u32 */
		{"88.118.8/BIGIDX", "UPDATE idn_records SET idx = 4294967296 "
				    "WHERE ident_key = '88.118.8/BIGIDX' AND "
				    "idx = 2"},
	};
	enum { NB = sizeof(bad) / sizeof(bad[0]) };
	for (size_t i = 0; i < NB; i++) {
		create1(f->s, bad[i][0], v, 2);
		raw_exec(f->raw, bad[i][1]);
	}
	for (size_t i = 0; i < NB; i++) {
		int rc = lookup(f->s, bad[i][0], NULL);
		if (rc != IDN_ECORRUPT)
			fail_msg("%s: got %d (%s), want IDN_ECORRUPT",
				 bad[i][0], rc, idn_strerror(rc));
	}
	uint32_t n = 0;
	assert_int_equal(lookup(f->s, "88.118.8/GOOD", &n), 0);
	assert_int_equal(n, 2);

	/* edits refuse a corrupt record; the transaction stays usable;
	 * create with overwrite repairs it */
	idn_ident_t id, good;
	mkid(&id, "88.118.8/IDX");
	mkid(&good, "88.118.8/GOOD");
	idn_value_t nv = val(5, "URL", "five");
	uint32_t one = 1;
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_wtxn_add(t, &id, &nv, 1, false), IDN_ECORRUPT);
	assert_int_equal(idn_wtxn_modify(t, &id, &nv, 1), IDN_ECORRUPT);
	assert_int_equal(idn_wtxn_remove(t, &id, &one, 1), IDN_ECORRUPT);
	assert_int_equal(idn_wtxn_create(t, &id, &nv, 1, false), IDN_EEXISTS);
	assert_int_equal(idn_wtxn_add(t, &good, &nv, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &id, &nv, 1, true), 0);
	assert_int_equal(idn_wtxn_commit(t), 0);
	assert_int_equal(lookup(f->s, "88.118.8/IDX", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lookup(f->s, "88.118.8/GOOD", &n), 0);
	assert_int_equal(n, 3);
	/* a new record over orphaned values does not inherit them */
	assert_int_equal(create_in(f->s, "88.118.8/ORPHAN", &nv, 1, false), 0);
	assert_int_equal(lookup(f->s, "88.118.8/ORPHAN", &n), 0);
	assert_int_equal(n, 1);
}

/* ---- statements failing in the server ---- */

/* A statement the server refuses ends the transaction: later operations
 * and the commit report it, nothing of the transaction is applied, and the
 * connection serves the next transaction. */
static void test_failed_statement(void **state)
{
	fx_t *f = *state;
	raw_exec(f->raw, "ALTER TABLE idn_records ADD CONSTRAINT small "
			 "CHECK (length(enc) < 200)");
	char big[300];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	idn_value_t ok = val(1, "URL", "u"), huge = val(2, "URL", big);
	idn_ident_t a, b, c;
	mkid(&a, "88.118.8/A");
	mkid(&b, "88.118.8/B");
	mkid(&c, "88.118.8/C");
	log_clear();
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_wtxn_create(t, &a, &ok, 1, false), 0);
	/* queued: the failure shows at the next round trip */
	assert_int_equal(idn_wtxn_create(t, &b, &huge, 1, true), 0);
	int err = idn_wtxn_create(t, &c, &ok, 1, false);
	assert_int_equal(err, IDN_ESTORE);
	assert_int_equal(idn_wtxn_add(t, &a, &huge, 1, false), IDN_ESTORE);
	assert_int_equal(idn_wtxn_commit(t), IDN_ESTORE);
	assert_true(log_has("23514")); /* the server's SQLSTATE, logged */
	assert_true(log_has("small"));
	for (int i = 0; i < 3; i++) {
		const char *name[] = {"88.118.8/A", "88.118.8/B", "88.118.8/C"};
		assert_int_equal(lookup(f->s, name[i], NULL), IDN_ENOTFOUND);
	}
	/* the same with the failure in the commit's round trip */
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_wtxn_create(t, &a, &ok, 1, true), 0);
	assert_int_equal(idn_wtxn_create(t, &b, &huge, 1, true), 0);
	assert_int_equal(idn_wtxn_commit(t), IDN_ESTORE);
	assert_int_equal(lookup(f->s, "88.118.8/A", NULL), IDN_ENOTFOUND);
	/* and an abort with statements queued */
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_wtxn_create(t, &a, &ok, 1, true), 0);
	idn_wtxn_abort(t);
	/* the pooled connection is clean */
	create1(f->s, "88.118.8/A", &ok, 1);
	assert_int_equal(lookup(f->s, "88.118.8/A", NULL), 0);
}

/* A writer blocked behind another's lock past statement_timeout fails
 * with IDN_ETIMEOUT. */
static void test_statement_timeout(void **state)
{
	fx_t *f = *state;
	idn_value_t v = val(1, "URL", "u");
	create1(f->s, "88.118.8/LOCKED", &v, 1);
	char uri[1200];
	snprintf(uri, sizeof(uri), "%s%%20-c%%20statement_timeout%%3D300",
		 f->uri);
	idn_store_t *s;
	assert_int_equal(open_uri(uri, NULL, 0, &s), 0);
	raw_exec(f->raw, "BEGIN");
	raw_exec(f->raw, "SELECT 1 FROM idn_records WHERE ident_key = "
			 "'88.118.8/LOCKED' AND idx = -1 FOR UPDATE");
	idn_ident_t id;
	mkid(&id, "88.118.8/LOCKED");
	idn_value_t add = val(2, "URL", "v");
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(s, &t), 0);
	double t0 = now_s();
	assert_int_equal(idn_wtxn_add(t, &id, &add, 1, false), IDN_ETIMEOUT);
	assert_true(now_s() - t0 < 5);
	assert_int_equal(idn_wtxn_commit(t), IDN_ETIMEOUT);
	raw_exec(f->raw, "ROLLBACK");
	uint32_t n = 0;
	assert_int_equal(lookup(s, "88.118.8/LOCKED", &n), 0);
	assert_int_equal(n, 1);
	idn_store_close(s);
}

/* ---- bulk ---- */

/* Thousands of operations in one transaction travel pipelined (with a
 * round trip every so often so the server never waits on us). */
static void test_bulk(void **state)
{
	fx_t *f = *state;
	enum { N = 5000 };
	idn_wtxn_t *t;
	double t0 = now_s();
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	for (int i = 0; i < N; i++) {
		char name[32], data[32];
		snprintf(name, sizeof(name), "88.118.8/BULK%05d", i);
		snprintf(data, sizeof(data), "https://example.com/%d", i);
		idn_value_t v[2] = {val(1, "URL", data), val(2, "N", name)};
		idn_ident_t id;
		mkid(&id, name);
		assert_int_equal(idn_wtxn_create(t, &id, v, 2, true), 0);
	}
	assert_int_equal(idn_wtxn_commit(t), 0);
	print_message("bulk: %d records in %.2f s\n", N, now_s() - t0);
	idn_store_stat_t st;
	assert_int_equal(idn_store_stat(f->s, &st), 0);
	assert_int_equal(st.records, N);
	for (int i = 0; i < N; i += 499) {
		char name[32];
		snprintf(name, sizeof(name), "88.118.8/BULK%05d", i);
		uint32_t n = 0;
		assert_int_equal(lookup(f->s, name, &n), 0);
		assert_int_equal(n, 2);
	}
}

/* ---- two nodes ---- */

typedef struct {
	idn_store_t *s;
	int thread, n, err, retries;
} writer_t;

static void *writer(void *arg)
{
	writer_t *w = arg;
	idn_ident_t id;
	idn_ident_parse((const uint8_t *)"88.118.8/SHARED", 15, 0, &id);
	for (int i = 0; i < w->n && w->err == 0; i++) {
		char data[32];
		snprintf(data, sizeof(data), "%d/%d", w->thread, i);
		idn_value_t v =
			val((uint32_t)(w->thread * 1000 + i), "X", data);
		int err;
		do {
			idn_wtxn_t *t;
			err = idn_wtxn_begin(w->s, &t);
			if (err)
				break;
			err = idn_wtxn_add(t, &id, &v, 1, false);
			if (err)
				idn_wtxn_abort(t);
			else
				err = idn_wtxn_commit(t);
			w->retries += err == -EAGAIN;
		} while (err == -EAGAIN);
		w->err = err;
	}
	return NULL;
}

/* Two nodes (two stores on one database), two threads each, adding to
 * one identifier: every value arrives. */
static void test_two_nodes(void **state)
{
	fx_t *f = *state;
	create1(f->s, "88.118.8/SHARED", NULL, 0);
	idn_store_t *other;
	assert_int_equal(open_uri(f->uri, NULL, 0, &other), 0);
	enum { NT = 4, N = 60 };
	static writer_t w[NT];
	pthread_t th[NT];
	for (int i = 0; i < NT; i++) {
		w[i] = (writer_t){
			.s = i % 2 ? other : f->s, .thread = i + 1, .n = N};
		assert_int_equal(pthread_create(&th[i], NULL, writer, &w[i]),
				 0);
	}
	for (int i = 0; i < NT; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (w[i].err)
			fail_msg("writer %d: %s", i, idn_strerror(w[i].err));
	}
	uint32_t n = 0;
	assert_int_equal(lookup(f->s, "88.118.8/SHARED", &n), 0);
	assert_int_equal(n, NT * N);
	assert_int_equal(lookup(other, "88.118.8/SHARED", &n), 0);
	assert_int_equal(n, NT * N);
	idn_store_close(other);
}

typedef struct {
	idn_store_t *s;
	int thread, err, retries;
} batcher_t;

enum { BATCH_KEYS = 300, BATCH_ROUNDS = 5 };

/* Overwrites every BATCH_KEYS record in one transaction, in an order of
 * its own, each with two values that say who wrote them. */
static void *batcher(void *arg)
{
	batcher_t *b = arg;
	unsigned seed = (unsigned)b->thread;
	int order[BATCH_KEYS];
	for (int i = 0; i < BATCH_KEYS; i++)
		order[i] = i;
	for (int round = 0; round < BATCH_ROUNDS && b->err == 0; round++) {
		for (int i = BATCH_KEYS - 1; i > 0; i--) {
			int j = (int)(rand_r(&seed) % (unsigned)(i + 1));
			int x = order[i];
			order[i] = order[j];
			order[j] = x;
		}
		int err;
		do {
			idn_wtxn_t *t;
			err = idn_wtxn_begin(b->s, &t);
			for (int i = 0; err == 0 && i < BATCH_KEYS; i++) {
				char name[32], who[32];
				snprintf(name, sizeof(name), "88.118.8/K%03d",
					 order[i]);
				snprintf(who, sizeof(who), "w%d-r%d", b->thread,
					 round);
				idn_value_t v[2] = {val(1, "A", who),
						    val(2, "B", who)};
				idn_ident_t id;
				idn_ident_parse((const uint8_t *)name,
						strlen(name), 0, &id);
				err = idn_wtxn_create(t, &id, v, 2, true);
				if (err)
					idn_wtxn_abort(t);
			}
			if (err == 0)
				err = idn_wtxn_commit(t);
			b->retries += err == -EAGAIN;
		} while (err == -EAGAIN);
		b->err = err;
	}
	return NULL;
}

/* Two nodes overwriting the same records in batches, in different
 * orders: no deadlock, and every record is one writer's, whole. */
static void test_batches_two_nodes(void **state)
{
	fx_t *f = *state;
	idn_store_t *other;
	assert_int_equal(open_uri(f->uri, NULL, 0, &other), 0);
	enum { NT = 4 };
	static batcher_t b[NT];
	pthread_t th[NT];
	for (int i = 0; i < NT; i++) {
		b[i] = (batcher_t){.s = i % 2 ? other : f->s, .thread = i + 1};
		assert_int_equal(pthread_create(&th[i], NULL, batcher, &b[i]),
				 0);
	}
	int retries = 0;
	for (int i = 0; i < NT; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (b[i].err)
			fail_msg("batcher %d: %s", i, idn_strerror(b[i].err));
		retries += b[i].retries;
	}
	assert_int_equal(retries, 0); /* one lock order: no deadlock */
	idn_rtxn_t *r;
	assert_int_equal(idn_rtxn_begin(f->s, &r), 0);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	for (int k = 0; k < BATCH_KEYS; k++) {
		char name[32];
		snprintf(name, sizeof(name), "88.118.8/K%03d", k);
		idn_ident_t id;
		mkid(&id, name);
		idn_record_t rec;
		assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec), 0);
		assert_int_equal(rec.nvalues, 2);
		idn_rd_t rd;
		idn_rd_init(&rd, rec.values.p, rec.values.len);
		idn_value_t v[2];
		idn_value_decode(&rd, &a, &v[0]);
		idn_value_decode(&rd, &a, &v[1]);
		assert_int_equal(rd.err, 0);
		assert_int_equal(v[0].data.len, v[1].data.len);
		assert_memory_equal(v[0].data.p, v[1].data.p, v[0].data.len);
	}
	idn_arena_free(&a);
	idn_rtxn_free(r);
	idn_store_close(other);
}

/* ---- a TCP proxy standing in for a server that goes away ---- */

typedef struct {
	uint16_t port, up_port;
	int lfd;    /* -1 while down */
	int ctl[2]; /* commands: 'd' down, 'u' up, 'q' quit */
	int ack[2];
	int pair[32][2];
	int npairs;
	pthread_t th;
} proxy_t;

static int listen_on(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(*port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 64) != 0) {
		close(fd);
		return -1;
	}
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static void proxy_cut(proxy_t *p)
{
	for (int i = 0; i < p->npairs; i++) {
		close(p->pair[i][0]);
		close(p->pair[i][1]);
	}
	p->npairs = 0;
}

static void *proxy_run(void *arg)
{
	proxy_t *p = arg;
	for (;;) {
		struct pollfd pf[2 + 64];
		int n = 0;
		pf[n++] = (struct pollfd){.fd = p->ctl[0], .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
		for (int i = 0; i < p->npairs; i++) {
			pf[n++] = (struct pollfd){.fd = p->pair[i][0],
						  .events = POLLIN};
			pf[n++] = (struct pollfd){.fd = p->pair[i][1],
						  .events = POLLIN};
		}
		if (poll(pf, (nfds_t)n, -1) < 0)
			continue;
		if (pf[0].revents) {
			char c = 0;
			if (read(p->ctl[0], &c, 1) != 1)
				c = 'q';
			if (c == 'd' || c == 'q') {
				if (p->lfd >= 0)
					close(p->lfd);
				p->lfd = -1;
				proxy_cut(p);
			} else if (c == 'u' && p->lfd < 0) {
				p->lfd = listen_on(&p->port);
			}
			if (write(p->ack[1], &c, 1) != 1 || c == 'q')
				return NULL;
			continue;
		}
		if (p->lfd >= 0 && pf[1].revents) {
			int c = accept(p->lfd, NULL, NULL);
			int u = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = {.sin_family = AF_INET,
						.sin_port = htons(p->up_port),
						.sin_addr.s_addr =
							htonl(INADDR_LOOPBACK)};
			if (c >= 0 && p->npairs < 32 &&
			    connect(u, (struct sockaddr *)&a, sizeof(a)) == 0) {
				p->pair[p->npairs][0] = c;
				p->pair[p->npairs][1] = u;
				p->npairs++;
			} else {
				if (c >= 0)
					close(c);
				close(u);
			}
			continue;
		}
		for (int i = 0; i < p->npairs; i++) {
			for (int k = 0; k < 2; k++) {
				if (!pf[2 + 2 * i + k].revents)
					continue;
				char buf[65536];
				ssize_t r =
					read(p->pair[i][k], buf, sizeof(buf));
				ssize_t off = 0;
				while (r > 0 && off < r) {
					ssize_t w =
						write(p->pair[i][!k], buf + off,
						      (size_t)(r - off));
					if (w <= 0)
						break;
					off += w;
				}
				if (r <= 0 || off < r) {
					close(p->pair[i][0]);
					close(p->pair[i][1]);
					p->pair[i][0] = p->pair[--p->npairs][0];
					p->pair[i][1] = p->pair[p->npairs][1];
					goto next; /* the poll set changed */
				}
			}
		}
	next:;
	}
}

static void proxy_cmd(proxy_t *p, char c)
{
	char a;
	assert_int_equal(write(p->ctl[1], &c, 1), 1);
	assert_int_equal(read(p->ack[0], &a, 1), 1);
}

static void proxy_start(proxy_t *p, uint16_t up_port)
{
	memset(p, 0, sizeof(*p));
	p->up_port = up_port;
	p->lfd = listen_on(&p->port);
	assert_true(p->lfd >= 0);
	assert_int_equal(pipe(p->ctl), 0);
	assert_int_equal(pipe(p->ack), 0);
	assert_int_equal(pthread_create(&p->th, NULL, proxy_run, p), 0);
}

static void proxy_stop(proxy_t *p)
{
	proxy_cmd(p, 'q');
	pthread_join(p->th, NULL);
	close(p->ctl[0]);
	close(p->ctl[1]);
	close(p->ack[0]);
	close(p->ack[1]);
}

/* The test database through the proxy: same user and database, the
 * proxy's port, the test's schema. */
static void proxy_uri(char *out, size_t cap, const fx_t *f, uint16_t port,
		      uint16_t *up_port)
{
	PQconninfoOption *o = PQconninfoParse(pg_uri, NULL);
	assert_non_null(o);
	const char *user = "postgres", *db = "postgres", *pport = "5432";
	for (PQconninfoOption *p = o; p->keyword; p++) {
		if (strcmp(p->keyword, "user") == 0 && p->val)
			user = p->val;
		if (strcmp(p->keyword, "dbname") == 0 && p->val)
			db = p->val;
		if (strcmp(p->keyword, "port") == 0 && p->val)
			pport = p->val;
	}
	*up_port = (uint16_t)atoi(pport);
	char base[512];
	snprintf(base, sizeof(base), "postgresql://%s@127.0.0.1:%u/%s", user,
		 port, db);
	with_schema(out, cap, base, f->schema);
	PQconninfoFree(o);
}

/* Retries a write for up to secs seconds; returns the last code. */
static int write_until_ok(idn_store_t *s, const char *ident, double secs)
{
	idn_value_t v = val(1, "URL", "back");
	double t0 = now_s();
	int err;
	while ((err = create_in(s, ident, &v, 1, true)) != 0 &&
	       now_s() - t0 < secs)
		usleep(50 * 1000);
	return err;
}

/* The primary goes away: writes fail at once with IDN_ENOPRIMARY and one
 * line in the log for the outage, reads go on from the replica; when it
 * comes back, writes resume and one line says how long it was away. (The
 * "replica" is the test server reached directly, the primary the same server
 * through a proxy that is cut.) */
static void test_primary_down(void **state)
{
	fx_t *f = *state;
	uint16_t up_port;
	static proxy_t p;
	proxy_start(&p, 0);
	char puri[1200];
	proxy_uri(puri, sizeof(puri), f, p.port, &up_port);
	p.up_port = up_port;
	const char *reps[1] = {f->uri};
	idn_store_t *s, *solo;
	assert_int_equal(open_uri(puri, reps, 1, &s), 0);
	assert_int_equal(open_uri(puri, NULL, 0, &solo), 0);
	idn_value_t v = val(1, "URL", "u");
	create1(s, "88.118.8/BEFORE", &v, 1);
	/* a reader of the primary alone, with a live connection */
	idn_rtxn_t *r;
	idn_record_t rec;
	idn_ident_t id;
	mkid(&id, "88.118.8/BEFORE");
	assert_int_equal(idn_rtxn_begin(solo, &r), 0);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec), 0);
	idn_rtxn_reset(r);

	log_clear();
	proxy_cmd(&p, 'd');
	double t0 = now_s();
	assert_int_equal(create_in(s, "88.118.8/DURING", &v, 1, false),
			 IDN_ENOPRIMARY);
	assert_true(log_has("postgresql primary unreachable: 127.0.0.1:"));
	/* while it is down, writes fail without waiting, and quietly */
	for (int i = 0; i < 50; i++)
		assert_int_equal(create_in(s, "88.118.8/DURING", &v, 1, false),
				 IDN_ENOPRIMARY);
	assert_true(now_s() - t0 < 2);
	assert_int_equal(log_count("unreachable"), 1);
	assert_int_equal(log_count("\n"), 1);
	/* reads go on from the replica */
	uint32_t n = 0;
	assert_int_equal(lookup(s, "88.118.8/BEFORE", &n), 0);
	assert_int_equal(lookup(s, "88.118.8/DURING", &n), IDN_ENOTFOUND);
	/* a reader that has only the primary fails cleanly */
	assert_int_equal(idn_rtxn_renew(r), 0);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec),
			 IDN_ESTORE);
	idn_rtxn_reset(r);

	log_clear();
	proxy_cmd(&p, 'u');
	assert_int_equal(write_until_ok(s, "88.118.8/AFTER", 5), 0);
	assert_true(log_has("postgresql primary back after"));
	assert_true(log_has("requests failed"));
	assert_int_equal(lookup(s, "88.118.8/AFTER", &n), 0);
	/* the reader connects again on its next snapshot */
	double t1 = now_s();
	int err;
	do {
		assert_int_equal(idn_rtxn_renew(r), 0);
		err = idn_store_get(r, id.key, id.key_len, &rec);
		idn_rtxn_reset(r);
	} while (err == IDN_ESTORE && now_s() - t1 < 5 && !usleep(50000));
	assert_int_equal(err, 0);
	/* and a cut of established connections (a restarted server) is
	 * survived by the next transaction without an error */
	proxy_cmd(&p, 'd');
	proxy_cmd(&p, 'u');
	usleep(100 * 1000);
	assert_int_equal(create_in(s, "88.118.8/AGAIN", &v, 1, false), 0);
	assert_int_equal(idn_rtxn_renew(r), 0);
	assert_int_equal(idn_store_get(r, id.key, id.key_len, &rec), 0);
	idn_rtxn_free(r);
	idn_store_close(s);
	idn_store_close(solo);
	proxy_stop(&p);
}

/* A connection lost inside COMMIT is IDN_EUNKNOWN_OUTCOME, not a
 * failure: the server may have committed. Deterministic: a deferred
 * constraint trigger, which runs in COMMIT, ends its own backend. The
 * same lost before COMMIT was sent (an immediate trigger) is a failure.
 * The next write connects again. */
static void test_commit_lost(void **state)
{
	fx_t *f = *state;
	raw_exec(f->raw,
		 "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
		 "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); "
		 "PERFORM pg_sleep(5); RETURN NULL; END $$");
	raw_exec(
		f->raw,
		"CREATE CONSTRAINT TRIGGER boom AFTER INSERT ON idn_records "
		"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.idx = -1 "
		"AND position('\\x424f4f4d'::bytea in NEW.ident_key) > 0) "
		"EXECUTE FUNCTION boom()");
	raw_exec(f->raw, "CREATE TRIGGER boom_now AFTER INSERT ON idn_records "
			 "FOR EACH ROW WHEN (NEW.idx = -1 AND "
			 "position('\\x4e4f57'::bytea in NEW.ident_key) > 0) "
			 "EXECUTE FUNCTION boom()");
	idn_value_t v = val(1, "URL", "u");
	log_clear();
	assert_int_equal(create_in(f->s, "88.118.8/BOOM", &v, 1, false),
			 IDN_EUNKNOWN_OUTCOME);
	assert_true(log_has("connection lost during COMMIT"));
	assert_string_equal(idn_strerror(IDN_EUNKNOWN_OUTCOME),
			    "the write may or may not have been applied: "
			    "resolve the identifier before retrying");
	/* here the trigger's end rolled it back */
	assert_int_equal(lookup(f->s, "88.118.8/BOOM", NULL), IDN_ENOTFOUND);
	/* lost before COMMIT: a failure, nothing applied */
	assert_int_equal(create_in(f->s, "88.118.8/KILLNOW", &v, 1, false),
			 IDN_ESTORE);
	/* a server error before COMMIT is no lost connection either */
	create1(f->s, "88.118.8/PLAIN", &v, 1);
	assert_int_equal(create_in(f->s, "88.118.8/PLAIN", &v, 1, false),
			 IDN_EEXISTS);
	raw_exec(f->raw, "DROP TRIGGER boom ON idn_records");
	create1(f->s, "88.118.8/BOOM", &v, 1);
	assert_int_equal(lookup(f->s, "88.118.8/BOOM", NULL), 0);
	assert_string_equal(idn_strerror(IDN_ENOPRIMARY),
			    "primary unavailable; read-only");
}

/* A store can start while its primary is down if a replica holds the
 * schema; writes then fail until the primary appears. */
static void test_open_without_primary(void **state)
{
	fx_t *f = *state;
	uint16_t up_port;
	static proxy_t p;
	proxy_start(&p, 0);
	char puri[1200];
	proxy_uri(puri, sizeof(puri), f, p.port, &up_port);
	p.up_port = up_port;
	proxy_cmd(&p, 'd');
	idn_store_t *s;
	assert_int_equal(open_uri(puri, NULL, 0, &s), IDN_ESTORE);
	const char *reps[1] = {f->uri};
	log_clear();
	assert_int_equal(open_uri(puri, reps, 1, &s), 0);
	assert_true(log_has("starting read-only on replicas"));
	assert_int_equal(log_count("postgresql primary unreachable"), 1);
	idn_value_t v = val(1, "URL", "u");
	assert_int_equal(create_in(s, "88.118.8/X", &v, 1, false),
			 IDN_ENOPRIMARY);
	assert_int_equal(lookup(s, "88.118.8/X", NULL), IDN_ENOTFOUND);
	proxy_cmd(&p, 'u');
	assert_int_equal(write_until_ok(s, "88.118.8/X", 5), 0);
	assert_int_equal(lookup(s, "88.118.8/X", NULL), 0);
	idn_store_close(s);
	proxy_stop(&p);
}

/* ---- streaming replication (IDN_TEST_PG_REPLICA) ---- */

static void pg_ctl(const char *what)
{
	const char *ctl = getenv("IDN_TEST_PG_CTL");
	const char *dir = getenv("IDN_PG_DIR");
	if (ctl == NULL || dir == NULL)
		fail_msg("IDN_TEST_PG_CTL and IDN_PG_DIR are needed");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' %s '%s' >/dev/null 2>&1", ctl, what,
		 dir);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	primary_stopped = strcmp(what, "primary-stop") == 0;
}

/* Waits up to secs for ident to resolve through s; returns the code. */
static int resolve_within(idn_store_t *s, const char *ident, double secs)
{
	double t0 = now_s();
	int err;
	while ((err = lookup(s, ident, NULL)) != 0 && now_s() - t0 < secs)
		usleep(20 * 1000);
	return err;
}

/* A write on the primary becomes resolvable through the replica; with the
 * primary stopped, resolution goes on and writes fail cleanly; started
 * again, writes resume and replicate. */
static void test_replica(void **state)
{
	fx_t *f = *state;
	if (replica_uri == NULL) {
		skip();
		return;
	}
	/* a store reading from the replica only: the primary as fallback is
	 * taken out of play by stopping it below */
	const char *reps[1] = {f->replica};
	idn_store_t *s;
	/* the schema reaches the replica by replication too */
	double t0 = now_s();
	int err;
	while ((err = open_uri(f->uri, reps, 1, &s)) != 0 && now_s() - t0 < 10)
		usleep(50 * 1000);
	assert_int_equal(err, 0);
	idn_value_t v[2] = {val(1, "URL", "https://replicated"),
			    val(2, "EMAIL", "r@example.com")};
	create1(s, "88.118.8/REPL", v, 2);
	/* the rows arrive on the replica (a hot standby) */
	PGconn *rc = raw_connect(replica_uri);
	assert_int_equal(raw_long(rc, "SELECT pg_is_in_recovery()::int"), 1);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND "
		 "tablename = 'idn_records'",
		 f->schema);
	t0 = now_s();
	while (raw_long(rc, sql) == 0 && now_s() - t0 < 20)
		usleep(20 * 1000);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM %s.idn_records WHERE ident_key = "
		 "'88.118.8/REPL'",
		 f->schema);
	while (raw_long(rc, sql) != 3 && now_s() - t0 < 20)
		usleep(20 * 1000);
	assert_int_equal(raw_long(rc, sql), 3);
	PQfinish(rc);
	/* and the store resolves it (from the replica: see below) */
	assert_int_equal(resolve_within(s, "88.118.8/REPL", 10), 0);

	/* with the primary stopped, every read is the replica's */
	pg_ctl("primary-stop");
	log_clear();
	uint32_t n = 0;
	assert_int_equal(lookup(s, "88.118.8/REPL", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(create_in(s, "88.118.8/DOWN", v, 1, false),
			 IDN_ENOPRIMARY);
	assert_true(log_has("primary"));
	for (int i = 0; i < 20; i++)
		assert_int_equal(lookup(s, "88.118.8/REPL", NULL), 0);

	pg_ctl("primary-start");
	assert_int_equal(write_until_ok(s, "88.118.8/UP", 20), 0);
	assert_int_equal(resolve_within(s, "88.118.8/UP", 10), 0);
	idn_store_close(s);
	/* the fixture's store, whose pooled connection died with the
	 * primary, writes without an error too */
	create1(f->s, "88.118.8/FIXTURE", v, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	pg_uri = getenv("IDN_TEST_PG");
	replica_uri = getenv("IDN_TEST_PG_REPLICA");
	if (pg_uri && !*pg_uri)
		pg_uri = NULL;
	if (replica_uri && !*replica_uri)
		replica_uri = NULL;
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_sqlstates),
		cmocka_unit_test(test_homed_list),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlstates),
		cmocka_unit_test(test_homed_list),
		T(test_rows),
		T(test_schema_version),
		T(test_concurrent_migration),
		T(test_corrupt_rows),
		T(test_failed_statement),
		T(test_statement_timeout),
		T(test_bulk),
		T(test_two_nodes),
		T(test_batches_two_nodes),
		T(test_primary_down),
		T(test_commit_lost),
		T(test_open_without_primary),
		T(test_replica), /* last: it stops and starts the primary */
	};
	if (getenv("IDN_TEST_FILTER"))
		cmocka_set_test_filter(getenv("IDN_TEST_FILTER"));
	if (pg_uri == NULL)
		return cmocka_run_group_tests_name("store_pg_offline", offline,
						   NULL, NULL);
	return cmocka_run_group_tests_name("store_pg", tests, NULL, NULL);
}
