/* The store tests' fixture (store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "store_fixture.h"

const char *pg_uri;

/* What the store logged last (PostgreSQL: the server's messages). */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
char last_log[1024];

void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	pthread_mutex_lock(&log_mu);
	snprintf(last_log, sizeof(last_log), "%d %s", level, msg);
	pthread_mutex_unlock(&log_mu);
	if (getenv("IDN_TEST_VERBOSE"))
		fprintf(stderr, "store log %d: %s\n", level, msg);
}

void open_store(fx_t *f, uint64_t map_size)
{
	idn_store_opts_t o = {
		.path = f->path, .map_size = map_size, .log = store_log};
	int err = idn_store_open(&o, &f->s);
	if (err)
		fail_msg("idn_store_open(%s): %s", f->path, idn_strerror(err));
}

/* Runs SQL on the test database; fails the test on an error. */
void pg_sql(const char *sql)
{
	PGconn *c = PQconnectdb(pg_uri);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", pg_uri, PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%.200s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* uri with the libpq option that puts schema first on the search path */
void schema_uri(char *out, size_t cap, const char *uri, const char *schema)
{
	snprintf(out, cap, "%s%coptions=-c%%20search_path%%3D%s", uri,
		 strchr(uri, '?') ? '&' : '?', schema);
}

void close_store(fx_t *f)
{
	idn_store_close(f->s);
	f->s = NULL;
}

int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/idn-store-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	if (pg_uri) {
		static int seq;
		snprintf(f->schema, sizeof(f->schema), "idn_t%d_%d",
			 (int)getpid(), ++seq);
		char sql[128];
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
		pg_sql(sql);
		schema_uri(f->path, sizeof(f->path), pg_uri, f->schema);
	}
	*state = f;
	open_store(f, 0);
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

int teardown(void **state)
{
	fx_t *f = *state;
	close_store(f);
	if (f->schema[0]) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
		pg_sql(sql);
	}
	int rc = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}
