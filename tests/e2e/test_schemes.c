/* idctl resolve accepts the identifier schemes an industrial resolver
 * meets (DESIGN §3), maps them to the canonical identifier under the
 * configured prefix and says which scheme it recognised; invalid input
 * gets a precise error. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define GS1 "88.100"

static node_t *node;
static char addr[64];

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", GS1, "--home", "1.2.156", "--case-sensitive-suffix",
			NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	h_ctl_ok(node, "create", GS1 "/01/09506000134352", "1:URL=https://gtin",
		 NULL);
	h_ctl_ok(node, "create", GS1 "/01/09506000134352/21/ABC",
		 "1:URL=https://serial-ABC", NULL);
	h_ctl_ok(node, "create", "1.2.156/1.2.156.10197.1.301",
		 "1:URL=https://sm2-oid", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return 0;
}

/* Resolves `in` with the scheme prefixes; expects the URL value and the
 * name of the scheme on stderr. */
static void expect(const char *in, const char *url, const char *scheme)
{
	h_run_t r;
	h_idctl(&r, "-s", addr, "--gs1-prefix", GS1, "--oid-prefix", "1.2.156",
		"resolve", in, NULL);
	if (r.status != 0 || strstr(r.out, url) == NULL ||
	    (scheme && strstr(r.err, scheme) == NULL))
		fail_msg("resolve %s: status %d out \"%s\" err \"%s\"; want %s "
			 "and %s",
			 in, r.status, r.out, r.err, url, scheme ? scheme : "-");
	h_run_free(&r);
}

static void gs1_forms_resolve(void **state)
{
	(void)state;
	expect("09506000134352", "https://gtin", "recognised GTIN");
	expect("9506000134352", "https://gtin", "recognised GTIN"); /* GTIN-13 */
	expect("(01)09506000134352", "https://gtin", "recognised GTIN");
	expect("https://id.gs1.org/01/09506000134352", "https://gtin",
	       "recognised GTIN");
	expect("https://id.gs1.org/01/09506000134352/21/ABC",
	       "https://serial-ABC", "recognised SGTIN");
	expect("(01)09506000134352(21)ABC", "https://serial-ABC",
	       "recognised SGTIN");
}

static void oid_and_handles_resolve(void **state)
{
	(void)state;
	expect("1.2.156.10197.1.301", "https://sm2-oid", "recognised OID");
	expect("urn:oid:1.2.156.10197.1.301", "https://sm2-oid", "recognised OID");
	/* a plain identifier goes through unchanged */
	expect(GS1 "/01/09506000134352", "https://gtin", NULL);
}

static void invalid_input_is_precise(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} bad[] = {
		{"9506000134353", "check digit is 3, expected 2"},
		{"https://id.gs1.org/01/09506000134353", "check digit"},
		{"urn:oid:1.2.0156.1", "leading zero"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_run_t r;
		h_idctl(&r, "-s", addr, "--gs1-prefix", GS1, "--oid-prefix",
			"1.2.156", "resolve", bad[i].in, NULL);
		if (r.status != 2 || strstr(r.err, bad[i].want) == NULL ||
		    h_count_lines(r.err) != 1)
			fail_msg("%s: status %d err \"%s\", want exit 2 and \"%s\"",
				 bad[i].in, r.status, r.err, bad[i].want);
		h_run_free(&r);
	}
	/* a GS1 key without a configured prefix */
	h_run_t r;
	h_idctl(&r, "-s", addr, "resolve", "09506000134352", NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "--gs1-prefix"));
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gs1_forms_resolve),
		cmocka_unit_test(oid_and_handles_resolve),
		cmocka_unit_test(invalid_input_is_precise),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
