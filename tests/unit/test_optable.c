/* The op table and handler_process's use of it, in-process: every row is
 * well formed; every op code, served or not, from an anonymous caller
 * over UDP and TCP either is not supported, is challenged (every row
 * whose minimum is an admin: challenged by construction, whatever its
 * code), is refused (operator rows), or is one anyone may run; nothing
 * is written by any of them. The operator, the HTTP identity and a proven
 * admin get what their principal allows; a worker defers what would
 * write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authz.h"
#include "node_fixture.h"
#include "optable.h"

#define TARGET NFX_HOME "/made"

/* A create (or add, modify) body: TARGET with one URL value. */
static size_t values_body(uint8_t *out, size_t cap, const char *id,
			  const char *spec)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v = nfx_value(&a, spec);
	idn_values_body_t b = {idn_bytes_str(id), 1, &v};
	idn_wr_t w;
	idn_wr_init(&w, out, cap);
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	idn_arena_free(&a);
	return w.len;
}

static uint64_t records(nfx_t *f)
{
	idn_store_stat_t st;
	assert_int_equal(idn_store_stat(f->s, &st), 0);
	return st.records;
}

static void rows_are_well_formed(void **state)
{
	(void)state;
	size_t n;
	const op_row_t *rows = optable_rows(&n);
	assert_true(n >= 19);
	for (size_t i = 0; i < n; i++) {
		const op_row_t *r = &rows[i];
		if (i > 0 && rows[i - 1].code >= r->code)
			fail_msg("row %zu (op %u) out of order", i, r->code);
		assert_ptr_equal(optable_find(r->code), r);
		assert_non_null(r->name);
		assert_non_null(r->run);
		/* rights belong to admin rows, and every admin row has them */
		if ((r->min == PRINCIPAL_ADMIN) != (r->rights != NULL))
			fail_msg("op %u (%s): minimum %d, rights %p", r->code,
				 r->name, r->min, (void *)r->rights);
		/* what only the network speaks is for anyone there */
		if (r->network_only)
			assert_int_equal(r->min, PRINCIPAL_ANONYMOUS);
	}
	assert_null(optable_find(0));
	assert_null(optable_find(IDN_OC_VERIFY_CHALLENGE));
	assert_null(optable_find(IDN_OC_SESSION_EXCHANGE_KEY));
	assert_null(optable_find(0xffffffffu));
	/* the private ops are the operator's, search is anyone's */
	assert_int_equal(optable_find(IDN_OC_STATS)->min, PRINCIPAL_OPERATOR);
	assert_int_equal(optable_find(IDN_OC_CACHE_FLUSH)->min,
			 PRINCIPAL_OPERATOR);
	assert_int_equal(optable_find(IDN_OC_BULK_CREATE)->min,
			 PRINCIPAL_OPERATOR);
	assert_int_equal(optable_find(IDN_OC_INDEX)->min, PRINCIPAL_OPERATOR);
	assert_int_equal(optable_find(IDN_OC_RELOAD)->min, PRINCIPAL_OPERATOR);
	assert_int_equal(optable_find(IDN_OC_SEARCH)->min, PRINCIPAL_ANONYMOUS);
	/* HANDLE.NET's BACKUP_SERVER: backup and replication admins only,
	 * whatever HS_ADMIN grants; not server admins (HANDLE.NET's refuse
	 * them too) */
	const op_row_t *bk = optable_find(IDN_OC_BACKUP_SERVER);
	assert_non_null(bk);
	assert_int_equal(bk->min, PRINCIPAL_ADMIN);
	assert_false(bk->server_admin);
	assert_null(bk->audit);
	const char *why = NULL;
	assert_int_equal(bk->rights(NULL, NULL, NULL, idn_bytes_str("0.NA/x"),
				    300, &why),
			 IDN_RC_INSUFFICIENT_PERMS);
	assert_non_null(strstr(why, "backup admin"));
	assert_true(principal_rank(PRINCIPAL_ANONYMOUS) <
		    principal_rank(PRINCIPAL_ADMIN));
	assert_true(principal_rank(PRINCIPAL_ADMIN) <
		    principal_rank(PRINCIPAL_OPERATOR));
	assert_int_equal(principal_rank(PRINCIPAL_HTTP),
			 principal_rank(PRINCIPAL_OPERATOR));
}

/* Every row whose minimum is an admin, anonymous over UDP and TCP, with
 * and without the overwrite flag: a challenge (402 with a challenge id in
 * the envelope), never a write. */
static void admin_rows_are_challenged(void **state)
{
	nfx_t *f = *state;
	uint8_t body[1024], frame[2048];
	size_t bl = values_body(body, sizeof(body), TARGET, "1:URL=https://x");
	size_t n;
	const op_row_t *rows = optable_rows(&n);
	uint64_t before = records(f);
	int challenged = 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].min != PRINCIPAL_ADMIN)
			continue;
		for (int tr = 0; tr < 2; tr++)
			for (int ow = 0; ow < 2; ow++) {
				size_t len = nfx_frame(
					frame, sizeof(frame), rows[i].code,
					ow ? IDN_OF_OVERWRITE : 0, 0, body, bl);
				caller_t from = nfx_anon(tr ? TRANSPORT_TCP
							    : TRANSPORT_UDP);
				int rc = nfx_call(f, frame, len, &from,
						  tr ? 9 : 0);
				if (rc != 1 ||
				    f->msg.hdr.rc != IDN_RC_AUTH_NEEDED)
					fail_msg("op %u (%s) over %s: %d "
						 "replies, rc %u",
						 rows[i].code, rows[i].name,
						 tr ? "TCP" : "UDP", rc,
						 f->msg.hdr.rc);
				assert_int_not_equal(f->env.session_id, 0);
				assert_int_equal(f->msg.hdr.op, rows[i].code);
				challenged++;
			}
	}
	print_message("[ INFO     ] %d admin requests challenged\n",
		      challenged);
	assert_true(challenged >= 9 * 4);
	assert_int_equal(records(f), before);
	size_t len;
	uint32_t nv;
	assert_null(nfx_get(f, TARGET, &len, &nv));
}

/* Every op code 0..4095 and a few beyond, anonymous over UDP and TCP:
 * not supported without a row, challenged for admin rows, refused for
 * operator rows; the store is never written. */
static void no_op_runs_unauthenticated(void **state)
{
	nfx_t *f = *state;
	uint8_t body[1024], frame[2048];
	size_t bl = values_body(body, sizeof(body), TARGET, "1:URL=https://x");
	uint64_t before = records(f);
	static const uint32_t far[] = {0x10000, 0x7fffffff, 0xfffffffe,
				       0xffffffff};
	int counts[4] = {0}; /* unsupported, challenged, refused, ran */
	for (uint32_t k = 0; k < 4096 + 4; k++) {
		uint32_t code = k < 4096 ? k : far[k - 4096];
		const op_row_t *row = optable_find(code);
		for (int tr = 0; tr < 2; tr++) {
			size_t len = nfx_frame(frame, sizeof(frame), code,
					       IDN_OF_OVERWRITE, 0, body, bl);
			caller_t from =
				nfx_anon(tr ? TRANSPORT_TCP : TRANSPORT_UDP);
			int n = nfx_call(f, frame, len, &from, tr ? 9 : 0);
			assert_int_equal(n, 1);
			uint32_t rc = f->msg.hdr.rc;
			if (row == NULL) {
				assert_int_equal(rc, IDN_RC_NOT_SUPPORTED);
				char want[64];
				snprintf(want, sizeof(want),
					 "operation %u is not supported", code);
				assert_string_equal(nfx_error_text(f), want);
				counts[0]++;
			} else if (row->min == PRINCIPAL_ADMIN) {
				assert_int_equal(rc, IDN_RC_AUTH_NEEDED);
				counts[1]++;
			} else if (row->min == PRINCIPAL_OPERATOR) {
				assert_int_equal(rc, IDN_RC_NOT_SUPPORTED);
				assert_non_null(strstr(nfx_error_text(f),
						       "control socket only"));
				counts[2]++;
			} else {
				/* a session setup is how one proves who it
				 * is: challenged by its own handler */
				if (code != IDN_OC_SESSION_SETUP || !tr)
					assert_int_not_equal(
						rc, IDN_RC_AUTH_NEEDED);
				counts[3]++;
			}
		}
	}
	print_message("[ INFO     ] unsupported %d, challenged %d, refused "
		      "%d, anyone's %d\n",
		      counts[0], counts[1], counts[2], counts[3]);
	assert_int_equal(counts[1], 2 * 15); /* with the 5 replication ops
					       and BACKUP_SERVER */
	assert_int_equal(counts[2], 2 * 9); /* stats .. reload, backup, account,
					      replication status, repair */
	assert_int_equal(records(f), before);
}

static void operator_and_http_run(void **state)
{
	nfx_t *f = *state;
	uint8_t body[1024], frame[2048];
	size_t bl = values_body(body, sizeof(body), TARGET, "1:URL=https://x");
	size_t len =
		nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, 0, 0, body, bl);
	caller_t op = nfx_operator();
	assert_int_equal(nfx_call(f, frame, len, &op, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	size_t vl;
	uint32_t nv;
	uint8_t *got = nfx_get(f, TARGET, &vl, &nv);
	assert_non_null(got);
	assert_int_equal(nv, 1);
	free(got);
	/* the HTTP identity has the operator's rights */
	bl = values_body(body, sizeof(body), NFX_HOME "/by-http",
			 "1:URL=https://h");
	len = nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, 0, 0, body, bl);
	caller_t http = {TRANSPORT_HTTP, {PRINCIPAL_HTTP, {NULL, 0}, 0}};
	assert_int_equal(nfx_call(f, frame, len, &http, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	got = nfx_get(f, NFX_HOME "/by-http", &vl, &nv);
	assert_non_null(got);
	free(got);
	/* challenge answers and sessions are the network's */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_CHALLENGE_ANSWER, 0, 5,
			body, bl);
	assert_int_equal(nfx_call(f, frame, len, &op, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_NOT_SUPPORTED);
	/* the operator's own ops */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_STATS, 0, 0, NULL, 0);
	assert_int_equal(nfx_call(f, frame, len, &op, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	caller_t anon = nfx_anon(TRANSPORT_TCP);
	assert_int_equal(nfx_call(f, frame, len, &anon, 3), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_NOT_SUPPORTED);
	assert_string_equal(nfx_error_text(f),
			    "operation 1100 (stats) is for the control socket "
			    "only");
}

/* A proven admin runs an admin op only with the rights its row names. */
static void admin_needs_rights(void **state)
{
	nfx_t *f = *state;
	nfx_put(f, "0.NA/" NFX_HOME, "100:HS_ADMIN=" NFX_HOME "/creator@300#1",
		"101:HS_ADMIN=" NFX_HOME "/lister@300#800", NULL);
	uint8_t body[1024], frame[2048];
	size_t bl = values_body(body, sizeof(body), TARGET, "1:URL=https://x");
	size_t len =
		nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, 0, 0, body, bl);
	caller_t lister = nfx_admin(NFX_HOME "/lister", 300);
	assert_int_equal(nfx_call(f, frame, len, &lister, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_INSUFFICIENT_PERMS);
	size_t vl;
	uint32_t nv;
	assert_null(nfx_get(f, TARGET, &vl, &nv));
	caller_t creator = nfx_admin(NFX_HOME "/creator", 300);
	assert_int_equal(nfx_call(f, frame, len, &creator, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	uint8_t *got = nfx_get(f, TARGET, &vl, &nv);
	assert_non_null(got);
	free(got);
	/* no HS_ADMIN right covers listing the homed prefixes */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_LIST_HOMED, 0, 0, NULL, 0);
	assert_int_equal(nfx_call(f, frame, len, &creator, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_PROTOCOL_ERROR);
	/* stats stay the operator's */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_STATS, 0, 0, NULL, 0);
	assert_int_equal(nfx_call(f, frame, len, &creator, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_NOT_SUPPORTED);
}

/* On a worker (a non-blocking handler) what would run for a proven admin
 * is handed to a blocking handler; a challenge is not. */
static void worker_defers_writes(void **state)
{
	nfx_t *f = *state;
	uint8_t body[1024], frame[2048];
	size_t bl = values_body(body, sizeof(body), TARGET, "1:URL=https://x");
	caller_t tcp = nfx_anon(TRANSPORT_TCP);
	uint32_t sid;
	assert_int_equal(authz_session_open(f->node.authz, &f->h, 4,
					    idn_bytes_str(NFX_HOME "/creator"),
					    300, 60, &sid),
			 0);
	size_t len = nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, 0, sid,
			       body, bl);
	assert_int_equal(nfx_call(f, frame, len, &tcp, 4), HANDLER_DEFER);
	assert_int_equal(f->nrep, 0);
	/* a session id that names no session is refused on the worker */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, 0, 78, body, bl);
	assert_int_equal(nfx_call(f, frame, len, &tcp, 4), 1);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	len = nfx_frame(frame, sizeof(frame), IDN_OC_CHALLENGE_ANSWER, 0, 77,
			body, bl);
	assert_int_equal(nfx_call(f, frame, len, &tcp, 4), HANDLER_DEFER);
	/* a session setup's key exchange runs on a blocking handler */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_SESSION_SETUP, 0, 0, body,
			bl);
	assert_int_equal(nfx_call(f, frame, len, &tcp, 4), HANDLER_DEFER);
	/* no session: challenged at once */
	len = nfx_frame(frame, sizeof(frame), IDN_OC_CREATE, 0, 0, body, bl);
	assert_int_equal(nfx_call(f, frame, len, &tcp, 4), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	/* a resolution answers on the worker */
	nfx_put(f, TARGET, "1:URL=https://x", NULL);
	idn_resolve_req_t rq = {idn_bytes_str(TARGET), 0, NULL, 0, NULL};
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_resolve_req_encode(&w, &rq);
	len = nfx_frame(frame, sizeof(frame), IDN_OC_RESOLUTION, 0, 0, body,
			w.len);
	caller_t udp = nfx_anon(TRANSPORT_UDP);
	assert_int_equal(nfx_call(f, frame, len, &udp, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rows_are_well_formed),
		cmocka_unit_test_setup_teardown(admin_rows_are_challenged,
						nfx_setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(no_op_runs_unauthenticated,
						nfx_setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(operator_and_http_run,
						nfx_setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(admin_needs_rights, nfx_setup,
						nfx_teardown),
		cmocka_unit_test_setup_teardown(worker_defers_writes,
						nfx_setup_worker, nfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
