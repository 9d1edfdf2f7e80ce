/* Helpers of the store suites (test_store.c, test_store_fault.c,
 * test_store_iter.c): identifiers, values, one-record writes and reads,
 * and the assertions on them. */
#ifndef IDN_TEST_STORE_HELPERS_H
#define IDN_TEST_STORE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ident.h"
#include "store.h"
#include "store_fixture.h"
#include "value.h"

struct CMUnitTest;

#define GIB ((uint64_t)1 << 30)

/* A record read in its own read transaction, values decoded. */
typedef struct {
	idn_rtxn_t *t;
	idn_arena_t a;
	idn_record_t rec;
	idn_value_t *v;
	uint32_t n;
} got_t;

void mkid_flags(idn_ident_t *id, const char *s, unsigned flags);
void mkid(idn_ident_t *id, const char *s);
idn_value_t val(uint32_t index, const char *type, const char *data);
idn_wtxn_t *wbegin(fx_t *f);
void commit(idn_wtxn_t *t);
void create1(fx_t *f, const char *ident, const idn_value_t *v, uint32_t n);
void got_free(got_t *g);
/* Decodes a record's values section into g->v. */
void decode(got_t *g);
/* Looks ident up in a fresh read transaction; returns the store's code. On
 * success g holds the record until got_free. */
int fetch(fx_t *f, const char *ident, got_t *g);
void assert_bytes(idn_bytes_t got, const void *want, size_t len);
void assert_bytes_str(idn_bytes_t got, const char *want);
void assert_value_eq(const idn_value_t *got, const idn_value_t *want);
/* Asserts that ident holds exactly the indexes idx[0..n), in that order. */
void assert_indexes(fx_t *f, const char *ident, const uint32_t *idx,
		    uint32_t n);

/* Identifiers collected by a listing (idn_list_cb): it stops the listing
 * with 42 every stop_after identifiers, and with -1 past 64. */
typedef struct {
	char ids[64][2100];
	size_t n;
	size_t stop_after; /* 0: never stop */
} seen_t;
int collect(void *ctx, idn_bytes_t id);
/* Lists prefix after the identifier after (NULL: from the start) into s
 * in a fresh read transaction; returns the store's code. */
int list(fx_t *f, const char *prefix, const char *after, seen_t *s);

/* Runs the suite name: common on every backend, lmdb_only on LMDB
 * (IDN_TEST_PG unset or empty). */
int store_suite(const char *name, const struct CMUnitTest *common, size_t nc,
		const struct CMUnitTest *lmdb_only, size_t nl);

#endif
