/* On PostgreSQL with replicas, resolution reads a replica, but a request
 * flagged authoritative reads the primary. Shown deterministically by
 * giving the node, as its "replica", a different (empty) database: the
 * plain query finds nothing there, the authoritative one finds the record
 * on the primary. Runs in the PostgreSQL pass only (IDN_E2E_PG). */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "msg.h"

static void authoritative_reads_go_to_the_primary(void **state)
{
	(void)state;
	if (!h_pg()) {
		print_message("[ SKIP     ] needs PostgreSQL (IDN_E2E_PG)\n");
		skip();
	}
	node_t *a = node_new("--home", H_HOME, NULL); /* the primary's data */
	node_t *b =
		node_new("--home", H_HOME, NULL); /* a "replica" without it */
	node_start(a);
	node_start(b);
	h_ctl_ok(a, "create", H_HOME "/on-primary", "1:URL=https://primary",
		 NULL);
	char primary[1024], replica[1024];
	snprintf(primary, sizeof(primary), "%s", node_store(a));
	snprintf(replica, sizeof(replica), "%s", node_store(b));
	node_t *c =
		node_new("--store", primary, "--store-replica", replica, NULL);
	node_start(c);
	uint8_t req[512];
	for (int auth = 0; auth < 2; auth++) {
		h_req_t q = h_req(IDN_OC_RESOLUTION, 700 + (uint32_t)auth);
		q.flags = auth ? IDN_OF_AUTH : 0;
		size_t len = h_resolve_frame(
			req, sizeof(req), &q, H_HOME "/on-primary",
			strlen(H_HOME "/on-primary"), NULL, 0, NULL, 0);
		h_reply_t r;
		h_reply_init(&r);
		h_tcp_call(c, req, len, &r);
		assert_int_equal(h_reply_decode(&r), 0);
		assert_int_equal(r.msg.hdr.rc,
				 auth ? IDN_RC_SUCCESS : IDN_RC_NOT_FOUND);
		h_reply_free(&r);
	}
	node_free(c);
	node_free(b);
	node_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(authoritative_reads_go_to_the_primary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
