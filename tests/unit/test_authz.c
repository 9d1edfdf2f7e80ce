/* The rights functions of the op table (authz.h) on a real store: each
 * sees the whole request and the record as it stands, so a request that
 * replaces values needs the rights of what it replaces; HS_ADMIN counts in
 * any case; an HS_VLIST walk remembers the groups it walked and stops at
 * AUTHZ_WALK_MAX members. Through handler_process, a refused request
 * leaves the record as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "authz.h"
#include "node_fixture.h"

#define PFX "0.NA/" NFX_HOME
#define ROOT NFX_HOME "/root"
#define CREATOR NFX_HOME "/creator"
#define VAL NFX_HOME "/val"
#define VICTIM NFX_HOME "/victim"

static int setup(void **state)
{
	int rc = nfx_setup(state);
	nfx_t *f = *state;
	nfx_put(f, PFX, "100:HS_ADMIN=" ROOT "@300#fff",
		"101:HS_ADMIN=" CREATOR "@300#1", NULL);
	/* val may add and modify values (0x50), root everything; 102 is a
	 * lower-case HS_ADMIN that names root */
	nfx_put(f, VICTIM, "1:URL=https://victim", "2:URL=https://two",
		"100:HS_ADMIN=" ROOT "@300#fff", "101:HS_ADMIN=" VAL "@300#50",
		NULL);
	return rc;
}

/* Runs rights function fn for (admin, 300) on a request op/flags whose
 * body holds the value specs (NULL-terminated) for id. */
static uint32_t ask(nfx_t *f, authz_rights_fn fn, uint32_t op, uint32_t flags,
		    const char *admin, const char *id, const char **why, ...)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v[16];
	uint32_t n = 0;
	va_list ap;
	va_start(ap, why);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
		v[n++] = nfx_value(&a, s);
	va_end(ap);
	uint8_t body[4096], frame[8192];
	idn_values_body_t b = {idn_bytes_str(id), n, v};
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_values_body_encode(&w, &b);
	size_t len = nfx_frame(frame, sizeof(frame), op, flags, 0, body, w.len);
	idn_msg_t m;
	assert_int_equal(
		idn_msg_decode(frame + IDN_ENV_LEN, len - IDN_ENV_LEN, &m), 0);
	assert_int_equal(handler_begin(&f->h), 0);
	uint32_t rc =
		fn(f->h.rtxn, &f->h.arena, &m, idn_bytes_str(admin), 300, why);
	handler_end(&f->h);
	idn_arena_free(&a);
	return rc;
}

#define OW IDN_OF_OVERWRITE

static void create_overwrite_needs_delete(void **state)
{
	nfx_t *f = *state;
	const char *why;
	/* creating a new identifier: add-identifier on the prefix */
	assert_int_equal(ask(f, authz_rights_create, IDN_OC_CREATE, 0, CREATOR,
			     NFX_HOME "/new", &why, "1:URL=x", NULL),
			 0);
	assert_int_equal(ask(f, authz_rights_create, IDN_OC_CREATE, OW, CREATOR,
			     NFX_HOME "/new", &why, "1:URL=x", NULL),
			 0);
	/* replacing someone else's record */
	assert_int_equal(ask(f, authz_rights_create, IDN_OC_CREATE, OW, CREATOR,
			     VICTIM, &why, "1:URL=x", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	assert_string_equal(
		why, "the admin lacks the permission for this operation");
	/* without the flag the store refuses it as existing */
	assert_int_equal(ask(f, authz_rights_create, IDN_OC_CREATE, 0, CREATOR,
			     VICTIM, &why, "1:URL=x", NULL),
			 0);
	/* root may both create and delete */
	assert_int_equal(ask(f, authz_rights_create, IDN_OC_CREATE, OW, ROOT,
			     VICTIM, &why, "1:URL=x", NULL),
			 0);
}

static void add_overwrite_needs_modify(void **state)
{
	nfx_t *f = *state;
	const char *why;
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, 0, VAL,
			     VICTIM, &why, "5:URL=x", NULL),
			 0);
	/* replacing a URL: val has modify-value */
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, OW, VAL,
			     VICTIM, &why, "1:URL=x", NULL),
			 0);
	/* replacing root's HS_ADMIN, with an HS_ADMIN or another type */
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, OW, VAL,
			     VICTIM, &why, "100:HS_ADMIN=" VAL "@300", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, OW, VAL,
			     VICTIM, &why, "100:URL=x", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	/* an admin with add-value alone may not replace */
	nfx_put(f, NFX_HOME "/t2", "1:URL=a",
		"100:HS_ADMIN=" NFX_HOME "/adder@300#40", NULL);
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, 0,
			     NFX_HOME "/adder", NFX_HOME "/t2", &why, "2:URL=b",
			     NULL),
			 0);
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, OW,
			     NFX_HOME "/adder", NFX_HOME "/t2", &why, "1:URL=b",
			     NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
}

static void modify_of_admin_needs_admin_rights(void **state)
{
	nfx_t *f = *state;
	const char *why;
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     VAL, VICTIM, &why, "1:URL=x", NULL),
			 0);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     VAL, VICTIM, &why, "100:URL=x", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     VAL, VICTIM, &why, "100:HS_VLIST=x", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     VAL, VICTIM, &why, "100:hs_admin=" VAL "@300",
			     NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	/* modify-admin alone does not let an HS_ADMIN become a URL: that
	 * removes an admin */
	nfx_put(f, NFX_HOME "/t3", "100:HS_ADMIN=" ROOT "@300",
		"101:HS_ADMIN=" NFX_HOME "/madm@300#80", NULL);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     NFX_HOME "/madm", NFX_HOME "/t3", &why,
			     "100:HS_ADMIN=" NFX_HOME "/madm@300", NULL),
			 0);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     NFX_HOME "/madm", NFX_HOME "/t3", &why,
			     "100:URL=x", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	nfx_put(f, NFX_HOME "/t3", "100:HS_ADMIN=" ROOT "@300",
		"101:HS_ADMIN=" NFX_HOME "/madm@300#180", NULL);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     NFX_HOME "/madm", NFX_HOME "/t3", &why,
			     "100:URL=x", NULL),
			 0);
}

static void hs_admin_in_any_case(void **state)
{
	nfx_t *f = *state;
	const char *why;
	assert_true(authz_is_admin_type(idn_bytes_str("HS_ADMIN")));
	assert_true(authz_is_admin_type(idn_bytes_str("hs_admin")));
	assert_true(authz_is_admin_type(idn_bytes_str("Hs_Admin")));
	assert_false(authz_is_admin_type(idn_bytes_str("HS_ADMINX")));
	/* a new hs_admin needs add-admin, which val lacks */
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, 0, VAL,
			     VICTIM, &why, "7:Hs_Admin=" VAL "@300", NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
	/* a stored lower-case hs_admin grants its rights */
	nfx_put(f, NFX_HOME "/t4", "1:URL=a",
		"100:hs_admin=" NFX_HOME "/low@300#10", NULL);
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     NFX_HOME "/low", NFX_HOME "/t4", &why, "1:URL=b",
			     NULL),
			 0);
	/* and is protected as an HS_ADMIN */
	assert_int_equal(ask(f, authz_rights_modify, IDN_OC_MODIFY_VALUE, 0,
			     NFX_HOME "/low", NFX_HOME "/t4", &why, "100:URL=b",
			     NULL),
			 IDN_RC_INSUFFICIENT_PERMS);
}

/* The group G@200 lists n members: n - 1 that are G itself or others
 * that do not exist, and last (when not NULL) the admin. */
static void put_group(nfx_t *f, const char *g, uint32_t n, const char *last)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	const char **ids = calloc(n, sizeof(*ids));
	uint32_t *idx = calloc(n, sizeof(*idx));
	assert_non_null(ids);
	assert_non_null(idx);
	for (uint32_t i = 0; i < n; i++) {
		char *id = idn_arena_alloc(&a, 64);
		snprintf(id, 64, NFX_HOME "/m%u", i);
		ids[i] = i % 2 ? g : id;
		idx[i] = 200;
	}
	if (last != NULL)
		ids[n - 1] = last, idx[n - 1] = 300;
	idn_value_t v = nfx_vlist(&a, 200, ids, idx, n);
	nfx_put_values(f, g, &v, 1);
	free(ids);
	free(idx);
	idn_arena_free(&a);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void vlist_walk_is_bounded(void **state)
{
	nfx_t *f = *state;
	const char *why;
	/* within the budget, a member at the end is found; the group's
	 * listing of itself is walked once */
	put_group(f, NFX_HOME "/small", 4000, VAL);
	nfx_put(f, NFX_HOME "/t5", "1:URL=a",
		"100:HS_ADMIN=" NFX_HOME "/small@200#fff", NULL);
	assert_int_equal(ask(f, authz_rights_add, IDN_OC_ADD_VALUE, 0, VAL,
			     NFX_HOME "/t5", &why, "2:URL=b", NULL),
			 0);
	/* past it: refused with the clear text, quickly */
	put_group(f, NFX_HOME "/big", 11000, VAL);
	nfx_put(f, NFX_HOME "/t6", "1:URL=a",
		"100:HS_ADMIN=" NFX_HOME "/big@200#fff", NULL);
	double t0 = now_ms();
	uint32_t rc = ask(f, authz_rights_add, IDN_OC_ADD_VALUE, 0, VAL,
			  NFX_HOME "/t6", &why, "2:URL=b", NULL);
	double ms = now_ms() - t0;
	print_message("[ INFO     ] 11000-member group refused in %.1f ms\n",
		      ms);
	assert_int_equal(rc, IDN_RC_INSUFFICIENT_PERMS);
	assert_string_equal(why, "admin group walk exceeds 10000 members");
	assert_true(ms < 2000);
	/* a reader behind the budget sees public values only */
	size_t len;
	uint32_t nv;
	uint8_t *blob = nfx_get(f, NFX_HOME "/t6", &len, &nv);
	assert_non_null(blob);
	nfx_put(f, NFX_HOME "/t7", "1:URL=a",
		"100:HS_ADMIN=" NFX_HOME "/small@200#400", NULL);
	uint8_t *blob7 = nfx_get(f, NFX_HOME "/t7", &len, &nv);
	assert_non_null(blob7);
	assert_int_equal(handler_begin(&f->h), 0);
	assert_true(authz_may_read(f->h.rtxn, &f->h.arena,
				   idn_bytes(blob7, len), nv,
				   idn_bytes_str(VAL), 300));
	handler_end(&f->h);
	free(blob);
	free(blob7);
}

/* Through handler_process: a proven admin's refused overwrite leaves the
 * record as it was. */
static void refused_write_changes_nothing(void **state)
{
	nfx_t *f = *state;
	size_t l0, l1;
	uint32_t n0, n1;
	uint8_t *before = nfx_get(f, VICTIM, &l0, &n0);
	assert_non_null(before);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v[2] = {nfx_value(&a, "1:URL=https://evil"),
			    nfx_value(&a, "100:HS_ADMIN=" CREATOR "@300")};
	idn_values_body_t b = {idn_bytes_str(VICTIM), 2, v};
	uint8_t body[1024], frame[2048];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_values_body_encode(&w, &b);
	size_t len = nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, OW, 0, body,
			       w.len);
	caller_t creator = nfx_admin(CREATOR, 300);
	assert_int_equal(nfx_call(f, frame, len, &creator, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_INSUFFICIENT_PERMS);
	uint8_t *after = nfx_get(f, VICTIM, &l1, &n1);
	assert_non_null(after);
	assert_int_equal(n1, n0);
	assert_int_equal(l1, l0);
	assert_memory_equal(after, before, l0);
	free(before);
	free(after);
	idn_arena_free(&a);
}

/* The rights are checked on the handler's snapshot: a record created
 * after it was taken is not replaced under the rights checked for no
 * record (creating needs add-identifier only, replacing needs more). */
static void record_created_since_check_is_not_replaced(void **state)
{
	nfx_t *f = *state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v = nfx_value(&a, "1:URL=https://evil");
	idn_values_body_t b = {idn_bytes_str(NFX_HOME "/late"), 1, &v};
	uint8_t body[1024], frame[2048];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_values_body_encode(&w, &b);
	size_t len = nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, OW, 0, body,
			       w.len);
	/* the snapshot is taken, then someone else creates the record */
	assert_int_equal(handler_begin(&f->h), 0);
	nfx_put(f, NFX_HOME "/late", "1:URL=https://theirs",
		"100:HS_ADMIN=" ROOT "@300", NULL);
	size_t l0;
	uint32_t n0;
	uint8_t *before = nfx_get(f, NFX_HOME "/late", &l0, &n0);
	caller_t creator = nfx_admin(CREATOR, 300);
	assert_int_equal(nfx_call(f, frame, len, &creator, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_TOO_BUSY);
	size_t l1;
	uint32_t n1;
	uint8_t *after = nfx_get(f, NFX_HOME "/late", &l1, &n1);
	assert_int_equal(l1, l0);
	assert_memory_equal(after, before, l0);
	/* with a fresh snapshot the rights see the record: refused */
	assert_int_equal(nfx_call(f, frame, len, &creator, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_INSUFFICIENT_PERMS);
	free(before);
	free(after);
	idn_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_overwrite_needs_delete,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(add_overwrite_needs_modify,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(
			modify_of_admin_needs_admin_rights, setup,
			nfx_teardown),
		cmocka_unit_test_setup_teardown(hs_admin_in_any_case, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(vlist_walk_is_bounded, setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(refused_write_changes_nothing,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(
			record_created_since_check_is_not_replaced, setup,
			nfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
