/* The store tests' fixture (test_store.c, test_search.c): a fresh store
 * in a fresh temporary directory for each test.
 *
 * The suites run against LMDB, or with IDN_TEST_PG=<libpq URI> against
 * that PostgreSQL database (tests/pg.sh starts one): each test then gets a
 * fresh schema of its own, dropped afterwards. */
#ifndef IDN_TEST_STORE_FIXTURE_H
#define IDN_TEST_STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

extern const char *pg_uri; /* IDN_TEST_PG, set by the suite's main */

typedef struct {
	char dir[256];
	char path[1024]; /* LMDB: dir/db, created by idn_store_open; PG: URI */
	char schema[64]; /* PG: the test's schema */
	idn_store_t *s;
} fx_t;

/* What the store logged last (PostgreSQL: the server's messages). */
extern char last_log[1024];
void store_log(void *ctx, int level, const char *msg);

/* Opens f->path into f->s (map_size 0: the default); fails the test on an
 * error. */
void open_store(fx_t *f, uint64_t map_size);
void close_store(fx_t *f);

/* Runs SQL on the test database; fails the test on an error. */
void pg_sql(const char *sql);

/* uri with the libpq option that puts schema first on the search path */
void schema_uri(char *out, size_t cap, const char *uri, const char *schema);

/* cmocka setup and teardown: a fresh fx_t in *state, its store open. */
int setup(void **state);
int teardown(void **state);

#endif
