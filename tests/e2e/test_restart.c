/* Persistence: records, values and homed prefixes read back identically
 * after a clean restart on the same data directory (without --home), after
 * several restarts with writes in between, and after SIGKILL (every
 * acknowledged write is committed; a stale control socket is replaced). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define A H_HOME "/persist-a"
#define B H_HOME "/persist-b"
#define GONE H_HOME "/persist-gone"
#define OTHER "66.1/persist"

static node_t *node;

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, NULL);
	node_start(node);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return 0;
}

/* Everything observable about the stored data, as text. */
typedef struct {
	char *text;
	size_t len, cap;
} acc_t;

static void acc_add(acc_t *a, const char *label, const char *s, size_t n)
{
	size_t need = strlen(label) + n + 4;
	while (a->cap - a->len < need + 1) {
		a->cap = a->cap ? a->cap * 2 : 8192;
		a->text = realloc(a->text, a->cap);
		assert_non_null(a->text);
	}
	a->len += (size_t)sprintf(a->text + a->len, "## %s\n", label);
	memcpy(a->text + a->len, s, n);
	a->len += n;
	a->text[a->len] = 0;
}

static void acc_run(acc_t *a, const char *label, h_run_t *r)
{
	char l[256];
	snprintf(l, sizeof(l), "%s -> %d\n%s", label, r->status, r->err);
	acc_add(a, l, r->out, r->outlen);
	h_run_free(r);
}

static char *observe(void)
{
	acc_t a = {0};
	const char *ids[] = {A, B, GONE, OTHER};
	h_run_t r;
	for (size_t i = 0; i < 4; i++) {
		h_ctl(&r, node, "--json", "resolve", ids[i], NULL);
		acc_run(&a, ids[i], &r);
		h_net(&r, node, "--json", "resolve", ids[i], NULL);
		acc_run(&a, ids[i], &r);
		h_net(&r, node, "--json", "--tcp", "resolve", ids[i], NULL);
		acc_run(&a, ids[i], &r);
	}
	h_ctl(&r, node, "--json", "list", H_HOME, NULL);
	acc_run(&a, "list", &r);
	h_ctl(&r, node, "--json", "homed", NULL);
	acc_run(&a, "homed", &r);
	/* the raw reply of one fixed request, byte for byte (request ids
	 * of idctl differ from run to run; these do not) */
	uint8_t req[256];
	h_req_t q = h_req(IDN_OC_RESOLUTION, 1234);
	q.expiry = 1700000000;
	size_t len = h_resolve_frame(req, sizeof(req), &q, A, strlen(A), NULL,
				     0, NULL, 0);
	h_reply_t rep;
	h_reply_init(&rep);
	h_tcp_call(node, req, len, &rep);
	char hex[8192];
	size_t k = 0;
	for (size_t i = 0; i < rep.len && k + 3 < sizeof(hex); i++)
		k += (size_t)sprintf(hex + k, "%02x", rep.buf[i]);
	acc_add(&a, "raw", hex, k);
	h_reply_free(&rep);
	return a.text;
}

static void restart_keeps_everything(void **state)
{
	(void)state;
	h_ctl_ok(node, "home", "66.1", NULL);
	h_ctl_ok(node, "create", A, "1:URL=https://example.com/a",
		 "2,ttl=3600,ref=" B "@1,ref=" OTHER "@7:EMAIL=a@example.com",
		 "3,abs,ttl=1900000000:DESC=absolute", "4:BIN=hex:00ff0080",
		 "5,perms=c:SECRET=admins only",
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", NULL);
	h_ctl_ok(node, "create", B, "1:URL=https://example.com/b",
		 "2:DESC=to be removed", NULL);
	h_ctl_ok(node, "create", GONE, "1:URL=https://example.com/gone", NULL);
	h_ctl_ok(node, "create", OTHER, "7:URL=https://example.com/other",
		 NULL);
	h_ctl_ok(node, "delete", GONE, NULL);
	h_ctl_ok(node, "remove", B, "2", NULL);
	h_ctl_ok(node, "modify", B, "1,ttl=5:URL=https://example.com/b2", NULL);
	h_ctl_ok(node, "add", A, "6:NOTE=added", NULL);
	char *before = observe();
	/* a sanity check that the observation holds what it should */
	assert_non_null(strstr(before, "https://example.com/b2"));
	assert_non_null(strstr(before, "admins only"));
	assert_non_null(strstr(before, "(rc 100)"));
	uint16_t port = node->port;

	node_stop(node);
	node_clear_args(node); /* no --home: the store remembers */
	node_start(node);
	char *after = observe();
	if (strcmp(before, after) != 0) {
		print_error("---- before ----\n%s\n---- after ----\n%s\n",
			    before, after);
		fail_msg("the stored data differs after a restart");
	}
	if (node->port == port) {
		/* the log says what the store holds */
		char *log = node_log(node);
		assert_non_null(strstr(log, "homed prefix 66.1"));
		assert_non_null(strstr(log, "homed prefix " H_HOME));
		free(log);
	}
	free(before);
	free(after);
}

static void writes_between_restarts(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		char id[64], val[64];
		snprintf(id, sizeof(id), H_HOME "/round-%d", round);
		snprintf(val, sizeof(val), "1:URL=https://example.com/%d",
			 round);
		h_ctl_ok(node, "create", id, val, NULL);
		snprintf(val, sizeof(val), "1:URL=https://example.com/a%d",
			 round);
		h_ctl_ok(node, "modify", A, val, NULL);
		char *before = observe();
		node_stop(node);
		node_start(node);
		char *after = observe();
		assert_string_equal(after, before);
		assert_non_null(strstr(after, val + 6));
		free(before);
		free(after);
		for (int k = 0; k <= round; k++) {
			h_run_t r;
			snprintf(id, sizeof(id), H_HOME "/round-%d", k);
			h_net(&r, node, "resolve", id, NULL);
			h_assert_status(&r, 0);
			h_run_free(&r);
		}
	}
}

/* Acknowledged writes survive SIGKILL; the stale control socket left
 * behind does not stop the next start. */
static void sigkill_then_restart(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/before-kill", "1:URL=https://k",
		 NULL);
	h_ctl_ok(node, "remove", A, "6", NULL);
	char *before = observe();
	node_kill(node);
	struct stat st;
	assert_int_equal(stat(node->ctl, &st), 0); /* left behind */
	node_start(node);
	char *after = observe();
	assert_string_equal(after, before);
	free(before);
	free(after);
	h_run_t r;
	h_net(&r, node, "--json", "resolve", H_HOME "/before-kill", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
}

static void shutdown_clean(void **state)
{
	(void)state;
	node_stop(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restart_keeps_everything),
		cmocka_unit_test(writes_between_restarts),
		cmocka_unit_test(sigkill_then_restart),
		cmocka_unit_test(shutdown_clean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
