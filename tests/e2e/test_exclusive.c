/* One node per address and per data directory: a second idnode on a
 * listen address the first holds, or on its data directory, is refused
 * with a message naming the address (and the process) or the lock, and
 * the first keeps answering every query; once the first has stopped, a
 * node starts on both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Resolves H_HOME/here 40 times over UDP and 40 times over TCP, each on
 * a new socket (so SO_REUSEPORT would spread them over every process in
 * the group), and asserts every one was found. */
static void all_found(node_t *n)
{
	uint8_t req[256];
	int udp_ok = 0, tcp_ok = 0;
	for (int i = 0; i < 40; i++) {
		size_t len = h_resolve_simple(req, sizeof(req), (uint32_t)i + 1,
					      H_HOME "/here");
		h_reply_t r;
		h_reply_init(&r);
		h_udp_call(n, req, len, &r);
		udp_ok += r.msg.hdr.rc == IDN_RC_SUCCESS;
		h_reply_free(&r);
		h_reply_init(&r);
		h_tcp_call(n, req, len, &r);
		tcp_ok += r.msg.hdr.rc == IDN_RC_SUCCESS;
		h_reply_free(&r);
	}
	if (udp_ok != 40 || tcp_ok != 40)
		fail_msg("found %d/40 over UDP and %d/40 over TCP, want all",
			 udp_ok, tcp_ok);
}

/* Spawns b, which must exit non-zero without getting ready; returns its
 * log (caller frees). */
static char *refused(node_t *b)
{
	node_spawn(b);
	int st = node_wait_exit(b, H_START_TIMEOUT_MS);
	char *log = node_log(b);
	if (st <= 0 || st >= 128 || strstr(log, "idnode ready") != NULL)
		fail_msg("a second node: status %d, want a refusal; log:\n%s",
			 st, log);
	return log;
}

static void want_in(const char *log, const char *s)
{
	if (strstr(log, s) == NULL)
		fail_msg("want \"%s\" in the log:\n%s", s, log);
}

static void same_address_refused(void **state)
{
	(void)state;
	node_t *a = node_new("--home", H_HOME, NULL);
	node_start(a);
	h_ctl_ok(a, "create", H_HOME "/here", "1:URL=https://here", NULL);
	all_found(a);
	/* another data directory and control socket, a's address */
	node_t *b = node_create();
	b->bare = true;
	node_set_args(b, "--data", b->data, "--control", b->ctl, "--listen",
		      a->addr, "--home", H_HOME, "--workers", "2", NULL);
	char *log = refused(b);
	char want[160];
	snprintf(want, sizeof(want),
		 "cannot listen on %s/udp: another process listens there "
		 "(pid %ld, idnode)",
		 a->addr, (long)a->pid);
	want_in(log, want);
	snprintf(want, sizeof(want),
		 "cannot listen on %s/tcp: another process listens there "
		 "(pid %ld, idnode)",
		 a->addr, (long)a->pid);
	want_in(log, want);
	free(log);
	/* refused before the store: b's data directory holds no store */
	char mdb[300];
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", b->data);
	assert_int_not_equal(access(mdb, F_OK), 0);
	assert_int_not_equal(access(b->ctl, F_OK), 0);
	assert_true(node_alive(a));
	all_found(a);
	node_free(b);
	node_stop(a);
	node_free(a);
}

static void same_data_dir_refused(void **state)
{
	(void)state;
	node_t *a = node_new("--home", H_HOME, NULL);
	node_start(a);
	h_ctl_ok(a, "create", H_HOME "/here", "1:URL=https://here", NULL);
	/* a's data directory, its own control socket and port */
	node_t *b = node_create();
	b->bare = true;
	node_pick_port(b);
	node_set_args(b, "--data", a->data, "--control", b->ctl, "--listen",
		      b->addr, "--home", H_HOME, NULL);
	char *log = refused(b);
	char want[400];
	snprintf(want, sizeof(want),
		 "data directory %s is in use: another idnode (pid %ld) "
		 "holds its lock %s/lock",
		 a->data, (long)a->pid, a->data);
	want_in(log, want);
	free(log);
	/* b's control socket is gone with it, a's is untouched */
	assert_int_not_equal(access(b->ctl, F_OK), 0);
	assert_int_equal(access(a->ctl, F_OK), 0);
	h_ctl_ok(a, "create", H_HOME "/second", "1:URL=https://second", NULL);
	all_found(a);

	/* a stops: a node starts on its data directory and address */
	node_stop(a);
	node_set_args(b, "--data", a->data, "--control", b->ctl, "--listen",
		      a->addr, "--home", H_HOME, NULL);
	b->port = a->port;
	snprintf(b->addr, sizeof(b->addr), "%s", a->addr);
	node_start(b);
	all_found(b); /* a's record, from a's store, on a's address */
	h_run_t r;
	h_ctl(&r, b, "--json", "stats", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	node_stop(b);
	node_free(b);
	node_free(a);
}

/* Two data directories naming one LMDB store elsewhere: the store's
 * directory is locked too. */
static void same_lmdb_store_refused(void **state)
{
	(void)state;
	h_skip_on_pg("the nodes share an LMDB store");
	node_t *a = node_new("--home", H_HOME, NULL);
	char store[300], dir[250];
	snprintf(dir, sizeof(dir), "%s/shared", a->dir);
	snprintf(store, sizeof(store), "lmdb:%s", dir);
	node_add_args(a, "--store", store, NULL);
	node_start(a);
	h_ctl_ok(a, "create", H_HOME "/here", "1:URL=https://here", NULL);
	node_t *b = node_new("--home", H_HOME, "--store", store, NULL);
	char *log = refused(b);
	char want[600];
	snprintf(want, sizeof(want),
		 "store %s is in use: another idnode (pid %ld) holds its lock "
		 "%s/lock",
		 dir, (long)a->pid, dir);
	want_in(log, want);
	free(log);
	all_found(a);
	node_stop(a);
	/* then b starts on it and serves a's record */
	node_start(b);
	all_found(b);
	node_stop(b);
	node_free(b);
	node_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_address_refused),
		cmocka_unit_test(same_data_dir_refused),
		cmocka_unit_test(same_lmdb_store_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
