/* docs/openapi.yaml checked against the OpenAPI 3.0 schema, the route
 * table and a running idnode: tests/e2e/openapi_check.py calls every
 * documented operation and checks each status code and response body
 * against the description. Needs Debian's python3-yaml,
 * python3-jsonschema and openapi-specification (scripts/deps.sh --test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define TOKEN "e2e-admin-token-0123456789abcdef"

static void openapi(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--home", "88.1021.150", NULL);
	char tok[256], port[32], base[64], frame_path[256];
	snprintf(tok, sizeof(tok), "%s/admin.token", n->dir);
	h_write_file(tok, TOKEN "\n");
	chmod(tok, 0600);
	uint16_t hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", hport);
	node_add_args(n, "--http", port, "--http-admin-token-file", tok,
		      "--http-root", h_src("web"), NULL);
	node_start(n);
	h_ctl_ok(n, "index", "add", "URL", NULL);
	/* a Handle resolution for POST / */
	uint8_t frame[512];
	size_t flen = h_resolve_simple(frame, sizeof(frame), 7, H_HOME "/x");
	snprintf(frame_path, sizeof(frame_path), "%s/resolve.hdl", n->dir);
	FILE *f = fopen(frame_path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(frame, 1, flen, f), flen);
	fclose(f);
	const char *argv[] = {"/usr/bin/python3",
			      h_src("tests/e2e/openapi_check.py"),
			      h_src("docs/openapi.yaml"),
			      h_src("src/http/http_route.c"),
			      base,
			      TOKEN,
			      frame_path,
			      NULL};
	h_run_t r;
	int st = h_run(&r, H_RUN_TIMEOUT_MS, argv);
	if (st != 0) {
		node_dump_log(n);
		fail_msg("openapi_check.py exited %d:\n%s%s", st, r.out, r.err);
	}
	/* what it checked, for the log */
	printf("%s", r.out);
	assert_non_null(strstr(r.out, "document: valid"));
	assert_non_null(strstr(r.out, "0 failures"));
	h_run_free(&r);
	node_stop(n);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(openapi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
