/* idctl resolve and the HTTP browser proxy accept the identifier schemes
 * an industrial resolver meets (docs/architecture.md, Identifiers), map them to
 * the canonical identifier under the configured prefix and say which scheme
 * they recognised; invalid input gets a precise error (exit 2, HTTP 400). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define GS1 "88.100"
#define ECODE "88.100.3"

static node_t *node;
static char addr[64];
static uint16_t hport;

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", GS1, "--home", "1.2.156", "--home", ECODE,
			"--case-sensitive-suffix", "--gs1-prefix", GS1,
			"--oid-prefix", "1.2.156", "--ecode-prefix", ECODE,
			NULL);
	hport = h_free_port();
	char http[32];
	snprintf(http, sizeof(http), "127.0.0.1:%u", hport);
	node_add_args(node, "--http", http, NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	h_ctl_ok(node, "create", GS1 "/01/09506000134352", "1:URL=https://gtin",
		 NULL);
	h_ctl_ok(node, "create", GS1 "/01/09506000134352/21/ABC",
		 "1:URL=https://serial-ABC", NULL);
	h_ctl_ok(node, "create", "1.2.156/1.2.156.10197.1.301",
		 "1:URL=https://sm2-oid", NULL);
	h_ctl_ok(node, "create", ECODE "/100012023000000000001",
		 "1:URL=https://ecode-1", NULL);
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
			 in, r.status, r.out, r.err, url,
			 scheme ? scheme : "-");
	h_run_free(&r);
}

static void gs1_forms_resolve(void **state)
{
	(void)state;
	expect("09506000134352", "https://gtin", "recognised GTIN");
	expect("9506000134352", "https://gtin",
	       "recognised GTIN"); /* GTIN-13 */
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
	expect("urn:oid:1.2.156.10197.1.301", "https://sm2-oid",
	       "recognised OID");
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
			fail_msg(
				"%s: status %d err \"%s\", want exit 2 and \"%s\"",
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

/* ---- the HTTP browser proxy ---- */

typedef struct {
	int status;
	char *head, *body;
} http_resp_t;

/* GET path (as given: curl --path-as-is) from the node on port. */
static void http_get(uint16_t port, const char *path, http_resp_t *out)
{
	char url[1024], hdr[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	char dir[] = "/tmp/idn-schemes-XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(hdr, sizeof(hdr), "%s/head", dir);
	const char *argv[] = {"/usr/bin/curl",
			      "-s",
			      "--path-as-is",
			      "-D",
			      hdr,
			      "-o",
			      "-",
			      "-w",
			      "\n%{http_code}",
			      "--max-time",
			      "20",
			      url,
			      NULL};
	h_run_t r;
	h_run(&r, 30000, argv);
	assert_int_equal(r.status, 0);
	char *nl = strrchr(r.out, '\n');
	assert_non_null(nl);
	out->status = atoi(nl + 1);
	*nl = 0;
	out->body = strdup(r.out);
	h_run_free(&r);
	size_t len;
	uint8_t *raw = h_read_file(hdr, &len);
	assert_non_null(raw);
	out->head = strndup((const char *)raw, len);
	free(raw);
	unlink(hdr);
	rmdir(dir);
}

static void http_free(http_resp_t *r)
{
	free(r->head);
	free(r->body);
}

/* The value of header name (lower case) in r, or "" */
static const char *hval(const http_resp_t *r, const char *name)
{
	static char val[512];
	char pat[128];
	snprintf(pat, sizeof(pat), "\n%s:", name);
	const char *p = strcasestr(r->head, pat);
	val[0] = 0;
	if (p == NULL)
		return val;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(p, "\r\n"), p);
	return val;
}

/* The proxy redirects path to url and names the scheme. */
static void redirects(const char *path, const char *url, const char *scheme)
{
	http_resp_t r;
	http_get(hport, path, &r);
	if (r.status != 302 || strcmp(hval(&r, "location"), url) != 0 ||
	    strcmp(hval(&r, "x-identifier-scheme"), scheme) != 0)
		fail_msg("GET %s: %d, location \"%s\", scheme \"%s\"; want "
			 "302 to %s, scheme %s\n%s%s",
			 path, r.status, hval(&r, "location"),
			 hval(&r, "x-identifier-scheme"), url, scheme, r.head,
			 r.body);
	http_free(&r);
}

static void proxy_maps_schemes(void **state)
{
	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0) {
		print_message("SKIP: /usr/bin/curl is absent\n");
		skip();
	}
	redirects("/09506000134352", "https://gtin", "GTIN");
	redirects("/9506000134352", "https://gtin", "GTIN");
	redirects("/(01)09506000134352", "https://gtin", "GTIN");
	redirects("/(01)09506000134352(21)ABC", "https://serial-ABC", "SGTIN");
	/* a Digital Link served by this node, and one of another host */
	redirects("/01/09506000134352", "https://gtin", "GTIN");
	redirects("/01/09506000134352/21/ABC", "https://serial-ABC", "SGTIN");
	redirects("/gtin/09506000134352/ser/ABC", "https://serial-ABC",
		  "SGTIN");
	redirects("/https://id.gs1.org/01/09506000134352/21/ABC",
		  "https://serial-ABC", "SGTIN");
	redirects("/1.2.156.10197.1.301", "https://sm2-oid", "OID");
	redirects("/urn:oid:1.2.156.10197.1.301", "https://sm2-oid", "OID");
	redirects("/ecode:100012023000000000001", "https://ecode-1", "Ecode");
	/* the canonical identifier itself */
	redirects("/" GS1 "/01/09506000134352", "https://gtin", "national");
	redirects("/hdl:" GS1 "/01/09506000134352", "https://gtin", "national");

	/* ?noredirect: the page says what it recognised */
	http_resp_t r;
	http_get(hport, "/(01)09506000134352(21)ABC?noredirect", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hval(&r, "x-identifier-scheme"), "SGTIN");
	if (strstr(r.body, "Recognised SGTIN: <code>(01)09506000134352(21)ABC"
			   "</code> is <code>" GS1
			   "/01/09506000134352/21/ABC</code>") == NULL ||
	    strstr(r.body, "https://serial-ABC") == NULL)
		fail_msg("noredirect page:\n%s", r.body);
	http_free(&r);
}

static void proxy_rejects_precisely(void **state)
{
	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0) {
		print_message("SKIP: /usr/bin/curl is absent\n");
		skip();
	}
	static const struct {
		const char *path, *want;
	} bad[] = {
		{"/9506000134353", "GTIN-13 check digit is 3, expected 2"},
		{"/01/09506000134353", "check digit"},
		{"/https://id.gs1.org/01/09506000134353/21/ABC", "check digit"},
		{"/(01)09506000134352(21)", "(21)"},
		{"/urn:oid:1.2.0156.1", "leading zero"},
		{"/1.2.0156.1", "leading zero"},
		{"/ecode:0069501234567", "Ecode version 0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp_t r;
		http_get(hport, bad[i].path, &r);
		if (r.status != 400 || strstr(r.body, bad[i].want) == NULL)
			fail_msg("GET %s: %d, want 400 and \"%s\":\n%s",
				 bad[i].path, r.status, bad[i].want, r.body);
		http_free(&r);
	}
	/* valid, but not served: not found, the scheme still named */
	http_resp_t r;
	http_get(hport, "/09506000134359", &r);
	assert_int_equal(r.status, 400); /* 9 is not its check digit */
	http_free(&r);
	http_get(hport, "/4006381333931", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(hval(&r, "x-identifier-scheme"), "GTIN");
	http_free(&r);

	/* a node that maps no GS1 prefix says which setting is missing */
	node_t *bare = node_new("--home", GS1, NULL);
	uint16_t p2 = h_free_port();
	char http[32];
	snprintf(http, sizeof(http), "127.0.0.1:%u", p2);
	node_add_args(bare, "--http", http, NULL);
	node_start(bare);
	http_get(p2, "/09506000134352", &r);
	if (r.status != 404 || strstr(r.body, "--gs1-prefix") == NULL)
		fail_msg("unmapped GS1: %d\n%s", r.status, r.body);
	assert_string_equal(hval(&r, "x-identifier-scheme"), "GTIN");
	http_free(&r);
	node_free(bare);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gs1_forms_resolve),
		cmocka_unit_test(oid_and_handles_resolve),
		cmocka_unit_test(invalid_input_is_precise),
		cmocka_unit_test(proxy_maps_schemes),
		cmocka_unit_test(proxy_rejects_precisely),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
