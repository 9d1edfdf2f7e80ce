/* idctl migrate between two nodes' stores (LMDB, or PostgreSQL in the
 * second pass): identifiers longer than an LMDB key and suffixes whose
 * case the node keeps come across under their own keys; the source must
 * be a store that exists, and is never created. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* The name idctl migrate gets for a node's store. */
static void store_name(const node_t *n, char *out, size_t cap)
{
	if (h_pg())
		snprintf(out, cap, "%s", node_store(n));
	else
		snprintf(out, cap, "lmdb:%s", n->data);
}

/* The URL value (index 1) of ident resolved on n over the network. */
static void expect_url(const node_t *n, const char *ident, const char *url)
{
	h_run_t r;
	h_net(&r, n, "--tcp", "--json", "resolve", ident, NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 1), "data"), "value")),
		url);
	json_decref(j);
	h_run_free(&r);
}

static void long_and_case_sensitive(void **state)
{
	(void)state;
	node_t *src =
		node_new("--home", H_HOME, "--case-sensitive-suffix", NULL);
	node_t *dst =
		node_new("--home", H_HOME, "--case-sensitive-suffix", NULL);
	node_start(src);
	/* 700 bytes: LMDB files it under a hash of its key */
	char longa[800], longb[800];
	snprintf(longa, sizeof(longa), H_HOME "/%0690dAa", 0);
	snprintf(longb, sizeof(longb), H_HOME "/%0690daA", 0);
	h_ctl_ok(src, "create", longa, "1:URL=https://long-a", NULL);
	h_ctl_ok(src, "create", longb, "1:URL=https://long-b", NULL);
	h_ctl_ok(src, "create", H_HOME "/Thing", "1:URL=https://upper", NULL);
	h_ctl_ok(src, "create", H_HOME "/thing", "1:URL=https://lower", NULL);
	char from[1200], to[1200];
	store_name(src, from, sizeof(from));
	store_name(dst, to, sizeof(to));
	h_run_t r;
	/* the source is in use by its node: the copy is a snapshot */
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--verify",
		"--no-progress", "--json", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "records")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "prefixes")), 1);
	assert_true(json_is_true(json_object_get(j, "verified")));
	json_decref(j);
	h_run_free(&r);
	/* a second copy into a store that holds records needs --merge */
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "already holds 4 records"));
	h_run_free(&r);
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		"--merge", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "copied 4 records and 1 prefixes"));
	h_run_free(&r);
	node_stop(src);

	node_start(dst);
	expect_url(dst, longa, "https://long-a");
	expect_url(dst, longb, "https://long-b");
	expect_url(dst, H_HOME "/Thing", "https://upper");
	expect_url(dst, H_HOME "/thing", "https://lower");
	node_stop(dst);
	node_free(dst);
	node_free(src);
}

/* A source that is not there is named and left uncreated; a source that
 * is the destination is refused before anything is opened. */
static void bad_sources(void **state)
{
	(void)state;
	node_t *n = node_create();
	char missing[600], from[700], to[700];
	snprintf(missing, sizeof(missing), "%s/none", n->dir);
	snprintf(from, sizeof(from), "lmdb:%s", missing);
	snprintf(to, sizeof(to), "lmdb:%s/copy", n->dir);
	h_run_t r;
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--no-progress",
		NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "no idnode store there"));
	assert_int_equal(h_count_lines(r.err), 1);
	h_run_free(&r);
	struct stat st;
	assert_int_not_equal(stat(missing, &st), 0);
	h_idctl(&r, "migrate", "--from", to, "--to", to + 5, "--no-progress",
		NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "the same store"));
	h_run_free(&r);
	h_idctl(&r, "migrate", "--from", "lmdb:", "--to", to, NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "lmdb:DIR"));
	h_run_free(&r);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(long_and_case_sensitive),
		cmocka_unit_test(bad_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
