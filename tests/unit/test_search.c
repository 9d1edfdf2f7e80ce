/* The search index (search.h) through the storage interface: on LMDB, or
 * with IDN_TEST_PG=<libpq URI> on PostgreSQL (the fixture is
 * store_fixture.c, shared with test_store.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <libpq-fe.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "ident.h"
#include "search.h"
#include "store.h"
#include "store_fixture.h"
#include "value.h"

#define GIB ((uint64_t)1 << 30)

/* ---- helpers ---- */

static idn_value_t val(uint32_t index, uint32_t ts, const char *type,
		       const char *data)
{
	idn_value_t v = {.index = index,
			 .timestamp = ts,
			 .ttl_type = IDN_TTL_RELATIVE,
			 .ttl = IDN_TTL_DEFAULT,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str(type),
			 .data = idn_bytes_str(data)};
	return v;
}

static void mkid(idn_ident_t *id, const char *s)
{
	int err = idn_ident_parse((const uint8_t *)s, strlen(s), 0, id);
	if (err)
		fail_msg("parse %.60s: %s", s, idn_strerror(err));
}

static idn_wtxn_t *wbegin(fx_t *f)
{
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	return t;
}

static void commit(idn_wtxn_t *t)
{
	int err = idn_wtxn_commit(t);
	if (err)
		fail_msg("commit: %s", idn_strerror(err));
}

/* Runs one write in its own transaction and checks its code. */
enum { W_CREATE, W_OVERWRITE, W_DELETE, W_ADD, W_MODIFY, W_REMOVE };

static void write1(fx_t *f, int op, const char *ident, const idn_value_t *v,
		   uint32_t n, const uint32_t *idx, int want)
{
	idn_ident_t id;
	mkid(&id, ident);
	idn_wtxn_t *t = wbegin(f);
	int err = 0;
	switch (op) {
	case W_CREATE:
	case W_OVERWRITE:
		err = idn_wtxn_create(t, &id, v, n, op == W_OVERWRITE);
		break;
	case W_DELETE:
		err = idn_wtxn_delete(t, &id);
		break;
	case W_ADD:
		err = idn_wtxn_add(t, &id, v, n, false);
		break;
	case W_MODIFY:
		err = idn_wtxn_modify(t, &id, v, n);
		break;
	case W_REMOVE:
		err = idn_wtxn_remove(t, &id, idx, n);
		break;
	}
	if (err != want)
		fail_msg("write %d %s: got %s, want %s", op, ident,
			 idn_strerror(err), idn_strerror(want));
	commit(t);
}

/* Search results: identifiers joined by spaces, the last cursor. */
typedef struct {
	char ids[65536];
	uint32_t n, limit, ctimes[4096];
	uint8_t cursor[IDN_SEARCH_CURSOR_MAX];
	size_t cursor_len;
} res_t;

static int on_result(void *ctx, idn_bytes_t id, uint32_t ctime,
		     idn_bytes_t cursor)
{
	res_t *r = ctx;
	if (r->limit && r->n == r->limit)
		return 1;
	size_t l = strlen(r->ids);
	assert_true(l + id.len + 2 < sizeof(r->ids));
	if (l)
		r->ids[l++] = ' ';
	memcpy(r->ids + l, id.p, id.len);
	r->ids[l + id.len] = 0;
	if (r->n < 4096)
		r->ctimes[r->n] = ctime;
	r->n++;
	memcpy(r->cursor, cursor.p, cursor.len);
	r->cursor_len = cursor.len;
	return 0;
}

/* Runs q in a fresh read transaction; returns the search's code. */
static int run(fx_t *f, const idn_search_t *q, res_t *r)
{
	uint32_t limit = r->limit;
	memset(r, 0, sizeof(*r));
	r->limit = limit;
	idn_rtxn_t *t;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	int err = idn_store_search(t, q, on_result, r);
	idn_rtxn_free(t);
	return err;
}

/* Searches type=data (with an optional prefix) and compares the result. */
static void expect_term(fx_t *f, const char *type, const char *data,
			const char *prefix, bool pub, const char *want)
{
	idn_search_t q = {.type = idn_bytes_str(type),
			  .data = idn_bytes_str(data),
			  .public_only = pub};
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl = 0;
	if (prefix) {
		assert_int_equal(idn_prefix_normalise((const uint8_t *)prefix,
						      strlen(prefix), p, &pl),
				 0);
		q.prefix = idn_bytes(p, pl);
	}
	static res_t r;
	r.limit = 0;
	int err = run(f, &q, &r);
	if (err)
		fail_msg("search %s=%s: %s", type, data, idn_strerror(err));
	if (strcmp(r.ids, want) != 0)
		fail_msg("search %s=%s%s%s: got [%s], want [%s]", type, data,
			 prefix ? " prefix " : "", prefix ? prefix : "", r.ids,
			 want);
}

/* Searches type=data and checks that it fails with want. */
static void expect_error(fx_t *f, const char *type, const char *data, int want)
{
	idn_search_t q = {.type = idn_bytes_str(type),
			  .data = idn_bytes_str(data)};
	static res_t r;
	r.limit = 0;
	int err = run(f, &q, &r);
	if (err != want)
		fail_msg("search %s=%s: got %s, want %s", type, data,
			 idn_strerror(err), idn_strerror(want));
	assert_int_equal(r.n, 0);
}

/* Declares a type searchable; returns idn_wtxn_index_add's code. */
static int declare_rc(fx_t *f, const char *type)
{
	idn_wtxn_t *t = wbegin(f);
	int err = idn_wtxn_index_add(t, idn_bytes_str(type));
	commit(t);
	return err;
}

static void declare(fx_t *f, const char *type)
{
	int err = declare_rc(f, type);
	if (err)
		fail_msg("index add %s: %s", type, idn_strerror(err));
}

static int undeclare_rc(fx_t *f, const char *type)
{
	idn_wtxn_t *t = wbegin(f);
	int err = idn_wtxn_index_remove(t, idn_bytes_str(type));
	commit(t);
	return err;
}

static int add_name(void *ctx, idn_bytes_t type)
{
	char *out = ctx;
	size_t l = strlen(out);
	if (type.len == 0) /* the creation time */
		type = idn_bytes_str("(created)");
	assert_true(l + type.len + 2 < 256);
	if (l)
		out[l++] = ' ';
	memcpy(out + l, type.p, type.len);
	out[l + type.len] = 0;
	return 0;
}

/* The declared types, joined by spaces. */
static void expect_declared(fx_t *f, const char *want)
{
	char got[256] = "";
	idn_rtxn_t *t;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_store_index_types(t, add_name, got), 0);
	idn_rtxn_free(t);
	assert_string_equal(got, want);
}

/* ---- tests ---- */

/* A new store declares no type: a search by type is refused, whatever the
 * records hold, until the type is declared; declaring indexes the records
 * already there. */
static void test_declare_types(void **state)
{
	fx_t *f = *state;
	expect_declared(f, "");
	idn_value_t a[] = {val(1, 100, "BATCH", "B-1"),
			   val(2, 100, "URL", "https://x/a")};
	idn_value_t b[] = {val(1, 100, "BATCH", "B-1")};
	write1(f, W_CREATE, "88.1/a", a, 2, NULL, 0);
	write1(f, W_CREATE, "88.1/b", b, 1, NULL, 0);
	expect_error(f, "BATCH", "B-1", IDN_ENOTINDEXED);
	expect_error(f, "URL", "https://x/a", IDN_ENOTINDEXED);
	/* a time range without a type needs the creation time index (the
	 * empty type); a prefix needs none */
	idn_search_t q = {.since = 100, .until = 100};
	static res_t r;
	r.limit = 0;
	assert_int_equal(run(f, &q, &r), IDN_ENOTINDEXED);
	assert_int_equal(r.n, 0);
	idn_search_t qp = {.prefix = idn_bytes_str("88.1")};
	assert_int_equal(run(f, &qp, &r), 0);
	assert_string_equal(r.ids, "88.1/a 88.1/b");
	declare(f, "");
	expect_declared(f, "(created)");
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/a 88.1/b");
	assert_int_equal(undeclare_rc(f, ""), 0);
	assert_int_equal(run(f, &q, &r), IDN_ENOTINDEXED);

	declare(f, "BATCH");
	expect_term(f, "BATCH", "B-1", NULL, false, "88.1/a 88.1/b");
	expect_error(f, "URL", "https://x/a", IDN_ENOTINDEXED);
	assert_int_equal(declare_rc(f, "BATCH"), 1); /* already */
	declare(f, "URL");
	expect_declared(f, "BATCH URL");
	expect_term(f, "URL", "https://x/a", NULL, false, "88.1/a");
	/* a type and a time range: the term index suffices */
	idn_search_t qt = {.type = idn_bytes_str("URL"),
			   .data = idn_bytes_str("https://x/a"),
			   .since = 100};
	assert_int_equal(run(f, &qt, &r), 0);
	assert_string_equal(r.ids, "88.1/a");
	/* later writes keep a declared type's entries */
	idn_value_t c[] = {val(1, 100, "BATCH", "B-1")};
	write1(f, W_CREATE, "88.1/c", c, 1, NULL, 0);
	write1(f, W_DELETE, "88.1/a", NULL, 0, NULL, 0);
	expect_term(f, "BATCH", "B-1", NULL, false, "88.1/b 88.1/c");

	/* remove: refused again, and the set shrinks */
	assert_int_equal(undeclare_rc(f, "BATCH"), 0);
	expect_error(f, "BATCH", "B-1", IDN_ENOTINDEXED);
	expect_declared(f, "URL");
	assert_int_equal(undeclare_rc(f, "BATCH"), IDN_ENOTFOUND);
	/* declared again: built from the records as they are now */
	declare(f, "BATCH");
	expect_term(f, "BATCH", "B-1", NULL, false, "88.1/b 88.1/c");

	/* what cannot be declared */
	assert_int_equal(declare_rc(f, "HS_ADMIN"), IDN_EINVAL);
	assert_int_equal(declare_rc(f, "A\nB"), IDN_EINVAL);
	static char longtype[IDN_INDEX_TYPE_MAX + 2];
	memset(longtype, 'T', IDN_INDEX_TYPE_MAX + 1);
	assert_int_equal(declare_rc(f, longtype), IDN_EINVAL);
	longtype[IDN_INDEX_TYPE_MAX] = 0;
	declare(f, longtype);
	assert_int_equal(undeclare_rc(f, longtype), 0);
	expect_declared(f, "BATCH URL");
	expect_error(f, "NOPE", "x", IDN_ENOTINDEXED);
}

/* The declared types belong to the store: they survive closing it. */
static void test_declared_persist(void **state)
{
	fx_t *f = *state;
	declare(f, "SERIAL");
	declare(f, "BATCH");
	idn_value_t a[] = {val(1, 100, "SERIAL", "S-9")};
	write1(f, W_CREATE, "88.1/s", a, 1, NULL, 0);
	close_store(f);
	open_store(f, 0);
	expect_declared(f, "BATCH SERIAL");
	expect_term(f, "SERIAL", "S-9", NULL, false, "88.1/s");
	assert_int_equal(undeclare_rc(f, "SERIAL"), 0);
	close_store(f);
	open_store(f, 0);
	expect_declared(f, "BATCH");
	expect_error(f, "SERIAL", "S-9", IDN_ENOTINDEXED);
}

/* Every kind of write moves the index with the record. */
static void test_writes_keep_index(void **state)
{
	fx_t *f = *state;
	declare(f, "URL");
	declare(f, "BATCH");
	declare(f, "batch"); /* types are case-sensitive */
	declare(f, "EMAIL");
	idn_value_t a[] = {val(1, 100, "URL", "https://x/a"),
			   val(2, 100, "BATCH", "2026-11-A")};
	idn_value_t b[] = {val(1, 100, "BATCH", "2026-11-A")};
	idn_value_t c[] = {val(5, 100, "BATCH", "2026-11-B")};
	write1(f, W_CREATE, "88.1/a", a, 2, NULL, 0);
	write1(f, W_CREATE, "88.1/b", b, 1, NULL, 0);
	write1(f, W_CREATE, "88.1/c", c, 1, NULL, 0);
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "88.1/a 88.1/b");
	expect_term(f, "BATCH", "2026-11-B", NULL, false, "88.1/c");
	expect_term(f, "URL", "https://x/a", NULL, false, "88.1/a");
	/* case-sensitive data and type */
	expect_term(f, "BATCH", "2026-11-a", NULL, false, "");
	expect_term(f, "batch", "2026-11-A", NULL, false, "");
	expect_term(f, "BATCH", "2026-11-", NULL, false, "");

	/* a failed create changes nothing */
	write1(f, W_CREATE, "88.1/b", c, 1, NULL, IDN_EEXISTS);
	expect_term(f, "BATCH", "2026-11-B", NULL, false, "88.1/c");

	/* modify away from the data, then to it */
	idn_value_t m1[] = {val(2, 200, "BATCH", "2026-11-B")};
	write1(f, W_MODIFY, "88.1/a", m1, 1, NULL, 0);
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "88.1/b");
	expect_term(f, "BATCH", "2026-11-B", NULL, false, "88.1/a 88.1/c");
	idn_value_t m2[] = {val(5, 200, "BATCH", "2026-11-A")};
	write1(f, W_MODIFY, "88.1/c", m2, 1, NULL, 0);
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "88.1/b 88.1/c");
	expect_term(f, "BATCH", "2026-11-B", NULL, false, "88.1/a");
	/* a failed modify (index absent) changes nothing */
	idn_value_t m3[] = {val(9, 200, "BATCH", "2026-11-Z")};
	write1(f, W_MODIFY, "88.1/c", m3, 1, NULL, IDN_EVALNOTFOUND);
	expect_term(f, "BATCH", "2026-11-Z", NULL, false, "");

	/* add, remove */
	idn_value_t ad[] = {val(7, 300, "EMAIL", "qa@example.com")};
	write1(f, W_ADD, "88.1/b", ad, 1, NULL, 0);
	expect_term(f, "EMAIL", "qa@example.com", NULL, false, "88.1/b");
	uint32_t rm[] = {7};
	write1(f, W_REMOVE, "88.1/b", NULL, 1, rm, 0);
	expect_term(f, "EMAIL", "qa@example.com", NULL, false, "");
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "88.1/b 88.1/c");

	/* overwrite replaces the old values' entries */
	idn_value_t ow[] = {val(1, 400, "BATCH", "2026-11-C")};
	write1(f, W_OVERWRITE, "88.1/b", ow, 1, NULL, 0);
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "88.1/c");
	expect_term(f, "BATCH", "2026-11-C", NULL, false, "88.1/b");

	/* delete */
	write1(f, W_DELETE, "88.1/c", NULL, 0, NULL, 0);
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "");
	write1(f, W_DELETE, "88.1/c", NULL, 0, NULL, IDN_ENOTFOUND);

	/* an aborted transaction leaves the index as it was */
	idn_ident_t id;
	mkid(&id, "88.1/d");
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &id, b, 1, false), 0);
	idn_wtxn_abort(t);
	expect_term(f, "BATCH", "2026-11-A", NULL, false, "");
}

/* The same data twice in one record: listed once, and still found after
 * one of the two values goes. */
static void test_term_twice(void **state)
{
	fx_t *f = *state;
	declare(f, "TAG");
	idn_value_t a[] = {val(1, 100, "TAG", "x"), val(2, 100, "TAG", "x")};
	write1(f, W_CREATE, "88.1/a", a, 2, NULL, 0);
	expect_term(f, "TAG", "x", NULL, false, "88.1/a");
	uint32_t rm[] = {1};
	write1(f, W_REMOVE, "88.1/a", NULL, 1, rm, 0);
	expect_term(f, "TAG", "x", NULL, false, "88.1/a");
	rm[0] = 2;
	write1(f, W_REMOVE, "88.1/a", NULL, 1, rm, 0);
	expect_term(f, "TAG", "x", NULL, false, "");
	/* swap data between indexes in one modify */
	idn_value_t b[] = {val(1, 100, "TAG", "p"), val(2, 100, "TAG", "q")};
	write1(f, W_ADD, "88.1/a", b, 2, NULL, 0);
	idn_value_t sw[] = {val(1, 200, "TAG", "q"), val(2, 200, "TAG", "p")};
	write1(f, W_MODIFY, "88.1/a", sw, 2, NULL, 0);
	expect_term(f, "TAG", "p", NULL, false, "88.1/a");
	expect_term(f, "TAG", "q", NULL, false, "88.1/a");
}

/* Non-public values match only searches that may see them; HS_ types are
 * never indexed. */
static void test_visibility(void **state)
{
	fx_t *f = *state;
	declare(f, "SERIAL");
	idn_value_t a[] = {val(1, 100, "SERIAL", "S-1"),
			   val(2, 100, "HS_SECKEY", "secret")};
	a[0].perms = IDN_PERM_ADMIN_READ | IDN_PERM_ADMIN_WRITE;
	idn_value_t b[] = {val(1, 100, "SERIAL", "S-1")};
	write1(f, W_CREATE, "88.1/hidden", a, 2, NULL, 0);
	write1(f, W_CREATE, "88.1/open", b, 1, NULL, 0);
	expect_term(f, "SERIAL", "S-1", NULL, false, "88.1/hidden 88.1/open");
	expect_term(f, "SERIAL", "S-1", NULL, true, "88.1/open");
	/* HS_ types cannot be declared, so never searched */
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_index_add(t, idn_bytes_str("HS_SECKEY")),
			 IDN_EINVAL);
	commit(t);
	expect_error(f, "HS_SECKEY", "secret", IDN_ENOTINDEXED);
	/* nor any other HS_ type */
	idn_value_t adm[] = {val(100, 100, "HS_ALIAS", "88.1/open")};
	write1(f, W_ADD, "88.1/hidden", adm, 1, NULL, 0);
	expect_error(f, "HS_ALIAS", "88.1/open", IDN_ENOTINDEXED);
	/* a record with the data both public and not is found publicly */
	idn_value_t c[] = {val(3, 100, "SERIAL", "S-1")};
	write1(f, W_ADD, "88.1/hidden", c, 1, NULL, 0);
	expect_term(f, "SERIAL", "S-1", NULL, true, "88.1/hidden 88.1/open");
}

/* The visibility rule the node's search op and HTTP API share, and what
 * it makes a store answer. */
static void test_visibility_rule(void **state)
{
	fx_t *f = *state;
	/* public values only unless privileged and not asking otherwise */
	assert_true(idn_search_public_only(false, false));
	assert_true(idn_search_public_only(false, true));
	assert_false(idn_search_public_only(true, false));
	assert_true(idn_search_public_only(true, true));
	/* listing by prefix or time alone is for privileged callers */
	idn_search_req_t typed = {.type = idn_bytes_str("SERIAL"),
				  .data = idn_bytes_str("S-1")};
	idn_search_req_t typed_prefix = typed;
	typed_prefix.prefix = idn_bytes_str("88.1");
	idn_search_req_t by_prefix = {.prefix = idn_bytes_str("88.1")};
	idn_search_req_t by_time = {.since = 1, .until = 2};
	assert_true(idn_search_permitted(false, &typed));
	assert_true(idn_search_permitted(false, &typed_prefix));
	assert_false(idn_search_permitted(false, &by_prefix));
	assert_false(idn_search_permitted(false, &by_time));
	assert_true(idn_search_permitted(true, &by_prefix));
	assert_true(idn_search_permitted(true, &by_time));
	/* applied to a store */
	declare(f, "SERIAL");
	idn_value_t a[] = {val(1, 100, "SERIAL", "S-1")};
	a[0].perms = IDN_PERM_ADMIN_READ | IDN_PERM_ADMIN_WRITE;
	idn_value_t b[] = {val(1, 100, "SERIAL", "S-1")};
	write1(f, W_CREATE, "88.1/hidden", a, 1, NULL, 0);
	write1(f, W_CREATE, "88.1/open", b, 1, NULL, 0);
	expect_term(f, "SERIAL", "S-1", NULL,
		    idn_search_public_only(false, false), "88.1/open");
	expect_term(f, "SERIAL", "S-1", NULL,
		    idn_search_public_only(true, true), "88.1/open");
	expect_term(f, "SERIAL", "S-1", NULL,
		    idn_search_public_only(true, false),
		    "88.1/hidden 88.1/open");
}

/* Terms over the direct key size, empty data and binary data. */
static void test_long_and_binary_terms(void **state)
{
	fx_t *f = *state;
	declare(f, "SPEC");
	declare(f, "NOTE");
	declare(f, "BIN");
	static char big1[3000], big2[3000];
	memset(big1, 'z', sizeof(big1) - 1);
	memcpy(big2, big1, sizeof(big2));
	big2[2990] = 'y'; /* differs only after the direct part */
	idn_value_t a[] = {val(1, 100, "SPEC", big1)};
	idn_value_t b[] = {val(1, 100, "SPEC", big2), val(2, 100, "NOTE", "")};
	write1(f, W_CREATE, "88.1/a", a, 1, NULL, 0);
	write1(f, W_CREATE, "88.1/b", b, 2, NULL, 0);
	expect_term(f, "SPEC", big1, NULL, false, "88.1/a");
	expect_term(f, "SPEC", big2, NULL, false, "88.1/b");
	expect_term(f, "NOTE", "", NULL, false, "88.1/b");
	static const uint8_t bin[] = {0, 1, 0, 255};
	idn_value_t c = val(3, 100, "BIN", "");
	c.data = idn_bytes(bin, sizeof(bin));
	write1(f, W_ADD, "88.1/a", &c, 1, NULL, 0);
	idn_search_t q = {.type = idn_bytes_str("BIN"),
			  .data = idn_bytes(bin, sizeof(bin))};
	static res_t r;
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/a");
	q.data.len = 3;
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "");
}

/* Prefix filter: only identifiers under the prefix, not a longer one. */
static void test_prefix(void **state)
{
	fx_t *f = *state;
	declare(f, "BATCH");
	idn_value_t v[] = {val(1, 100, "BATCH", "B")};
	const char *ids[] = {"88.1/x", "88.10/x", "88.1.2/x", "88.2/x",
			     "88.1/y"};
	for (int i = 0; i < 5; i++)
		write1(f, W_CREATE, ids[i], v, 1, NULL, 0);
	expect_term(f, "BATCH", "B", NULL, false,
		    "88.1.2/x 88.1/x 88.1/y 88.10/x 88.2/x");
	expect_term(f, "BATCH", "B", "88.1", false, "88.1/x 88.1/y");
	expect_term(f, "BATCH", "B", "88.10", false, "88.10/x");
	expect_term(f, "BATCH", "B", "88.3", false, "");
	/* the prefix alone lists its identifiers */
	idn_search_t q = {.prefix = idn_bytes_str("88.1")};
	static res_t r;
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/x 88.1/y");
}

/* Creation time = the earliest value timestamp; ranges are inclusive and
 * come out in creation order. */
static void test_time_range(void **state)
{
	fx_t *f = *state;
	declare(f, "URL");
	declare(f, ""); /* the creation time */
	for (int i = 0; i < 10; i++) {
		char id[32];
		snprintf(id, sizeof(id), "88.%d/t%d", 1 + i % 2, 9 - i);
		/* record t(9-i) created at 1000 + 10 * i */
		idn_value_t v[] = {val(1, 5000, "URL", "u"),
				   val(2, 1000 + 10 * (uint32_t)i, "N", "n")};
		write1(f, W_CREATE, id, v, 2, NULL, 0);
	}
	static res_t r;
	idn_search_t q = {.since = 1020, .until = 1050};
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/t7 88.2/t6 88.1/t5 88.2/t4");
	assert_int_equal(r.ctimes[0], 1020);
	assert_int_equal(r.ctimes[3], 1050);
	q.until = 0; /* open above */
	assert_int_equal(run(f, &q, &r), 0);
	assert_int_equal(r.n, 8);
	q.since = 0;
	q.until = 1005;
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/t9");
	/* with a prefix */
	q.since = 1000;
	q.until = 1090;
	q.prefix = idn_bytes_str("88.2");
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.2/t8 88.2/t6 88.2/t4 88.2/t2 88.2/t0");
	/* with a type and data: key order */
	q.prefix = idn_bytes(NULL, 0);
	q.type = idn_bytes_str("URL");
	q.data = idn_bytes_str("u");
	q.since = 1030;
	q.until = 1060;
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/t3 88.1/t5 88.2/t4 88.2/t6");
	/* modifying the earliest value moves the creation time */
	idn_value_t m[] = {val(2, 6000, "N", "n")};
	write1(f, W_MODIFY, "88.1/t9", m, 1, NULL, 0);
	idn_search_t q2 = {.since = 900, .until = 1005};
	assert_int_equal(run(f, &q2, &r), 0);
	assert_string_equal(r.ids, "");
	q2.since = 5000;
	q2.until = 5000;
	assert_int_equal(run(f, &q2, &r), 0);
	assert_string_equal(r.ids, "88.1/t9");
	/* deleted: gone from the time index too */
	write1(f, W_DELETE, "88.1/t9", NULL, 0, NULL, 0);
	assert_int_equal(run(f, &q2, &r), 0);
	assert_string_equal(r.ids, "");
}

/* Paging with cursors returns every match exactly once, in order, also
 * when records are written between pages. */
static void page_all(fx_t *f, idn_search_t q, uint32_t page, uint32_t want,
		     bool write_between)
{
	static res_t r;
	static char all[1 << 20];
	uint8_t cur[IDN_SEARCH_CURSOR_MAX];
	all[0] = 0;
	uint32_t total = 0, pages = 0;
	for (;;) {
		r.limit = page;
		/* 1: the callback stopped at a result past the page */
		int rc = run(f, &q, &r);
		assert_true(rc == 0 || rc == 1);
		pages++;
		total += r.n;
		if (r.n) {
			assert_true(strlen(all) + strlen(r.ids) + 2 <
				    sizeof(all));
			if (all[0])
				strcat(all, " ");
			strcat(all, r.ids);
		}
		if (rc == 0)
			break;
		assert_int_equal(r.n, page);
		memcpy(cur, r.cursor, r.cursor_len);
		q.cursor = idn_bytes(cur, r.cursor_len);
		if (write_between && pages == 2) {
			/* sorts before the cursor: not on a later page */
			idn_value_t v[] = {val(1, 1, "BATCH", "P")};
			write1(f, W_CREATE, "88.1/a-late", v, 1, NULL, 0);
		}
	}
	assert_int_equal(total, want);
	/* each exactly once and ascending */
	char *save = NULL, *prev = NULL;
	uint32_t n = 0;
	for (char *tok = strtok_r(all, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save), n++) {
		if (prev && q.since == 0 && strcmp(prev, tok) >= 0)
			fail_msg("out of order: %s after %s", tok, prev);
		prev = tok;
	}
	assert_int_equal(n, want);
}

static void test_paging(void **state)
{
	fx_t *f = *state;
	declare(f, "BATCH");
	declare(f, ""); /* the creation time */
	idn_wtxn_t *t = wbegin(f);
	for (int i = 0; i < 300; i++) {
		char s[32];
		snprintf(s, sizeof(s), "88.1/p%04d", i);
		idn_ident_t id;
		mkid(&id, s);
		idn_value_t v[] = {val(1, 2000 + (uint32_t)(i % 7), "BATCH",
				       i % 3 ? "P" : "Q")};
		assert_int_equal(idn_wtxn_create(t, &id, v, 1, false), 0);
	}
	commit(t);
	idn_search_t q = {.type = idn_bytes_str("BATCH"),
			  .data = idn_bytes_str("P")};
	page_all(f, q, 7, 200, false);
	page_all(f, q, 200, 200, false);
	page_all(f, q, 1, 200, false);
	page_all(f, q, 50, 200, true); /* a-late sorts first: not seen */
	idn_search_t qt = {.since = 2000, .until = 2006};
	page_all(f, qt, 13, 300, false); /* a-late was created at 1 */
	idn_search_t qp = {.prefix = idn_bytes_str("88.1")};
	page_all(f, qp, 64, 301, false);
	/* a cursor of another kind of search */
	static res_t r;
	r.limit = 1;
	assert_int_equal(run(f, &qt, &r), 1);
	uint8_t cur[IDN_SEARCH_CURSOR_MAX];
	memcpy(cur, r.cursor, r.cursor_len);
	q.cursor = idn_bytes(cur, r.cursor_len);
	r.limit = 0;
	assert_int_equal(run(f, &q, &r), IDN_EINVAL);
}

/* Several writes to one record inside one transaction: the staged index
 * writes are applied in order at commit. */
static void test_same_transaction(void **state)
{
	fx_t *f = *state;
	declare(f, "T");
	declare(f, ""); /* the creation time */
	idn_ident_t a, b;
	mkid(&a, "88.1/a");
	mkid(&b, "88.1/b");
	idn_value_t x[] = {val(1, 100, "T", "X")};
	idn_value_t y[] = {val(1, 200, "T", "Y")};
	idn_value_t z[] = {val(2, 300, "T", "Z")};
	idn_wtxn_t *t = wbegin(f);
	assert_int_equal(idn_wtxn_create(t, &a, x, 1, false), 0);
	assert_int_equal(idn_wtxn_modify(t, &a, y, 1), 0);
	assert_int_equal(idn_wtxn_create(t, &b, x, 1, false), 0);
	assert_int_equal(idn_wtxn_delete(t, &b), 0);
	assert_int_equal(idn_wtxn_create(t, &b, y, 1, false), 0);
	assert_int_equal(idn_wtxn_create(t, &b, x, 1, false), IDN_EEXISTS);
	assert_int_equal(idn_wtxn_create(t, &a, z, 1, true), 0);
	commit(t);
	expect_term(f, "T", "X", NULL, false, "");
	expect_term(f, "T", "Y", NULL, false, "88.1/b");
	expect_term(f, "T", "Z", NULL, false, "88.1/a");
	static res_t r;
	idn_search_t q = {.since = 300, .until = 300};
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/a");
}

/* A transaction whose staged index writes outgrow the staging buffer
 * applies them early, between operations, and stays exact. */
static void test_large_transaction(void **state)
{
	fx_t *f = *state;
	declare(f, "SPEC");
	declare(f, "NOTE");
	enum { N = 45000 };
	static char big[3][600];
	for (int k = 0; k < 3; k++) {
		memset(big[k], 'a' + k, sizeof(big[k]) - 1);
		big[k][sizeof(big[k]) - 1] = 0;
	}
	idn_wtxn_t *t = wbegin(f);
	for (int i = 0; i < N; i++) {
		char id[32], own[32];
		snprintf(id, sizeof(id), "88.1/L%05d", i);
		snprintf(own, sizeof(own), "%05d", i);
		memcpy(big[1], own, 5); /* unique per record */
		memcpy(big[2], own, 5);
		idn_value_t v[] = {val(1, 100, "SPEC", big[0]),
				   val(2, 100, "SPEC", big[1]),
				   val(3, 100, "NOTE", big[2])};
		idn_ident_t iid;
		mkid(&iid, id);
		int err = idn_wtxn_create(t, &iid, v, 3, false);
		if (err)
			fail_msg("create %d: %s", i, idn_strerror(err));
	}
	commit(t);
	memcpy(big[1], "31337", 5);
	expect_term(f, "SPEC", big[1], NULL, false, "88.1/L31337");
	memcpy(big[2], "00007", 5);
	expect_term(f, "NOTE", big[2], NULL, false, "88.1/L00007");
	idn_search_t q = {.type = idn_bytes_str("SPEC"),
			  .data = idn_bytes_str(big[0])};
	page_all(f, q, 1000, N, false);
}

static void test_bad_arguments(void **state)
{
	fx_t *f = *state;
	static res_t r;
	idn_search_t none = {0};
	assert_int_equal(run(f, &none, &r), IDN_EINVAL);
	idn_search_t data_only = {.data = idn_bytes_str("x")};
	assert_int_equal(run(f, &data_only, &r), IDN_EINVAL);
	idn_search_t inverted = {.since = 10, .until = 5};
	assert_int_equal(run(f, &inverted, &r), IDN_EINVAL);
	static const uint8_t junk[] = {'K', 1};
	idn_search_t badcur = {.prefix = idn_bytes_str("88.1"),
			       .cursor = idn_bytes(junk, sizeof(junk))};
	assert_int_equal(run(f, &badcur, &r), IDN_EINVAL);
	assert_int_equal(idn_store_search(NULL, &none, on_result, &r),
			 IDN_EINVAL);
	/* cursor text */
	uint8_t buf[IDN_SEARCH_CURSOR_MAX];
	size_t n;
	assert_int_equal(idn_search_cursor_parse("4b00", 4, buf, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(buf[0], 'K');
	assert_int_equal(idn_search_cursor_parse("4b0", 3, buf, &n),
			 IDN_EINVAL);
	assert_int_equal(idn_search_cursor_parse("zz", 2, buf, &n), IDN_EINVAL);
	char hex[8];
	idn_search_cursor_hex(idn_bytes("\x4b\xff", 2), hex);
	assert_string_equal(hex, "4bff");
	/* the request codec round-trips and rejects truncation */
	idn_search_req_t rq = {.type = idn_bytes_str("BATCH"),
			       .data = idn_bytes_str("A"),
			       .prefix = idn_bytes_str("88.1"),
			       .since = 1,
			       .until = 2,
			       .page = 3,
			       .cursor = idn_bytes_str("4b")};
	uint8_t wb[256];
	idn_wr_t w;
	idn_wr_init(&w, wb, sizeof(wb));
	idn_search_req_encode(&w, &rq);
	assert_int_equal(w.err, 0);
	idn_search_req_t back;
	assert_int_equal(idn_search_req_decode(idn_bytes(wb, w.len), &back), 0);
	assert_true(idn_bytes_eq(back.data, rq.data));
	assert_int_equal(back.until, 2);
	assert_int_equal(idn_search_req_decode(idn_bytes(wb, w.len - 1), &back),
			 IDN_EMALFORMED);
}

/* LMDB: the entries in search_values (closes and reopens the store). */
static size_t value_entries(fx_t *f)
{
	close_store(f);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->path, MDB_RDONLY, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "search_values", 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	open_store(f, 0);
	return st.ms_entries;
}

/* LMDB: the schema version stored in meta (closes and reopens the store);
 * with drop_types, the declared set is removed before reopening (a store
 * of version 2 had none). */
static uint32_t schema_version(fx_t *f, uint32_t set_to, bool drop_index)
{
	close_store(f);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, f->path, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	if (drop_index) {
		assert_int_equal(mdb_dbi_open(txn, "search_values", 0, &dbi),
				 0);
		assert_int_equal(mdb_drop(txn, dbi, 1), 0);
		assert_int_equal(mdb_dbi_open(txn, "search_ctime", 0, &dbi), 0);
		assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	}
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	MDB_val k = {.mv_size = 7, .mv_data = "version"}, d;
	assert_int_equal(mdb_get(txn, dbi, &k, &d), 0);
	assert_int_equal(d.mv_size, 4);
	uint32_t was = (uint32_t)((const uint8_t *)d.mv_data)[3];
	if (set_to) {
		uint8_t v[4] = {0, 0, 0, (uint8_t)set_to};
		d.mv_size = 4;
		d.mv_data = v;
		assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
		MDB_val tk = {.mv_size = 11, .mv_data = "index_types"};
		int rc = mdb_del(txn, dbi, &tk, NULL);
		assert_true(rc == 0 || rc == MDB_NOTFOUND);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	open_store(f, 0);
	return was;
}

/* LMDB: values of undeclared types leave no index entries; removing a
 * type deletes its entries. */
static void test_undeclared_no_entries(void **state)
{
	fx_t *f = *state;
	idn_value_t a[] = {val(1, 100, "BATCH", "B"), val(2, 100, "URL", "u"),
			   val(3, 100, "URL", "v")};
	for (int i = 0; i < 20; i++) {
		char id[32];
		snprintf(id, sizeof(id), "88.1/n%02d", i);
		write1(f, W_CREATE, id, a, 3, NULL, 0);
	}
	write1(f, W_MODIFY, "88.1/n00", a, 1, NULL, 0);
	uint32_t rm[] = {2};
	write1(f, W_REMOVE, "88.1/n01", NULL, 1, rm, 0);
	assert_int_equal(value_entries(f), 0);
	declare(f, "URL");
	assert_int_equal(value_entries(f), 40 - 1); /* n01 lost its u */
	declare(f, "BATCH");
	assert_int_equal(value_entries(f), 60 - 1);
	expect_term(f, "URL", "u", "88.1", false,
		    "88.1/n00 88.1/n02 88.1/n03 88.1/n04 88.1/n05 88.1/n06 "
		    "88.1/n07 88.1/n08 88.1/n09 88.1/n10 88.1/n11 88.1/n12 "
		    "88.1/n13 88.1/n14 88.1/n15 88.1/n16 88.1/n17 88.1/n18 "
		    "88.1/n19");
	assert_int_equal(undeclare_rc(f, "URL"), 0);
	assert_int_equal(value_entries(f), 20);
	expect_term(f, "BATCH", "B", "88.1", false,
		    "88.1/n00 88.1/n01 88.1/n02 88.1/n03 88.1/n04 88.1/n05 "
		    "88.1/n06 88.1/n07 88.1/n08 88.1/n09 88.1/n10 88.1/n11 "
		    "88.1/n12 88.1/n13 88.1/n14 88.1/n15 88.1/n16 88.1/n17 "
		    "88.1/n18 88.1/n19");
	assert_int_equal(undeclare_rc(f, "BATCH"), 0);
	assert_int_equal(value_entries(f), 0);
	assert_int_equal(schema_version(f, 0, false), 4);
}

/* LMDB: a store written before the index existed opens with nothing
 * declared; a store of version 2 (every type and the creation time
 * indexed) keeps searching the types it holds and by time. */
static void test_reindex_at_open(void **state)
{
	fx_t *f = *state;
	idn_value_t v[] = {val(1, 100, "BATCH", "R"),
			   val(2, 100, "HS_ADMIN", "a")};
	write1(f, W_CREATE, "88.1/r1", v, 2, NULL, 0);
	write1(f, W_CREATE, "88.1/r2", v, 1, NULL, 0);
	declare(f, "BATCH");
	/* schema version 1: before the index */
	assert_int_equal(schema_version(f, 1, true), 4);
	expect_declared(f, "");
	expect_error(f, "BATCH", "R", IDN_ENOTINDEXED);
	idn_search_t q = {.since = 100, .until = 100};
	static res_t r;
	r.limit = 0;
	assert_int_equal(run(f, &q, &r), IDN_ENOTINDEXED);
	assert_int_equal(schema_version(f, 0, false), 4);
	declare(f, "BATCH");
	declare(f, "");
	expect_term(f, "BATCH", "R", NULL, false, "88.1/r1 88.1/r2");
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/r1 88.1/r2");

	/* schema version 2 indexed BATCH and the creation time; the set is
	 * derived from what the index holds */
	declare(f, "URL"); /* no URL value: not found in the index */
	assert_int_equal(schema_version(f, 2, false), 4);
	expect_declared(f, "(created) BATCH");
	expect_term(f, "BATCH", "R", NULL, false, "88.1/r1 88.1/r2");
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/r1 88.1/r2");
	assert_int_equal(schema_version(f, 0, false), 4);
}

/* PostgreSQL: a database of schema version 2 (every type and the creation
 * time indexed) opens with the types its values hold and the creation time
 * declared. */
static void test_pg_upgrade_from_2(void **state)
{
	fx_t *f = *state;
	idn_value_t v[] = {val(1, 100, "BATCH", "R"),
			   val(2, 100, "HS_ADMIN", "a"),
			   val(3, 100, "URL", "u")};
	write1(f, W_CREATE, "88.1/r1", v, 3, NULL, 0);
	expect_declared(f, "");
	close_store(f);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "DELETE FROM %s.idn_schema_migrations WHERE version >= 3;"
		 "DROP TABLE %s.idn_index_types",
		 f->schema, f->schema);
	pg_sql(sql);
	open_store(f, 0);
	expect_declared(f, "(created) BATCH URL");
	expect_term(f, "URL", "u", NULL, false, "88.1/r1");
	idn_search_t q = {.since = 100, .until = 100};
	static res_t r;
	r.limit = 0;
	assert_int_equal(run(f, &q, &r), 0);
	assert_string_equal(r.ids, "88.1/r1");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest common[] = {
	T(test_declare_types),
	T(test_declared_persist),
	T(test_writes_keep_index),
	T(test_term_twice),
	T(test_visibility),
	T(test_visibility_rule),
	T(test_long_and_binary_terms),
	T(test_prefix),
	T(test_time_range),
	T(test_paging),
	T(test_bad_arguments),
	T(test_same_transaction),
};

/* LMDB's own: the index built at open, the staging buffer */
static const struct CMUnitTest lmdb_only[] = {
	T(test_reindex_at_open),
	T(test_undeclared_no_entries),
	T(test_large_transaction),
};

/* PostgreSQL's own: the schema upgrade */
static const struct CMUnitTest pg_only[] = {
	T(test_pg_upgrade_from_2),
};

int main(void)
{
	enum { NC = sizeof(common) / sizeof(common[0]) };
	enum { NP = sizeof(pg_only) / sizeof(pg_only[0]) };
	enum { NL = sizeof(lmdb_only) / sizeof(lmdb_only[0]) };
	static struct CMUnitTest tests[NC + NL + NP];
	size_t n = 0;
	pg_uri = getenv("IDN_TEST_PG");
	if (pg_uri && !*pg_uri)
		pg_uri = NULL;
	for (size_t i = 0; i < NC; i++)
		tests[n++] = common[i];
	for (size_t i = 0; pg_uri == NULL && i < NL; i++)
		tests[n++] = lmdb_only[i];
	for (size_t i = 0; pg_uri != NULL && i < NP; i++)
		tests[n++] = pg_only[i];
	return _cmocka_run_group_tests(pg_uri ? "search_postgresql"
					      : "search_lmdb",
				       tests, n, NULL, NULL);
}
