/* End-to-end tests of HTTPS and of the HTTP plane's defences
 * (docs/http-api.md, "Security"): a throwaway CA and server certificate
 * made with the openssl command, a real daemon serving HTTP and HTTPS side
 * by side, driven with curl; TLS versions and suites, files that refuse
 * start, the Location injection, control bytes in paths, the security
 * headers on every kind of response and CORS. Skipped when openssl or
 * curl is missing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "https-admin-token-0123456789"
#define AUTH "Authorization: Bearer " TOKEN

static node_t *node;
static char ca[160], cert[160], key[160], other_key[160], tok[160];
static char http_base[64], https_base[64];

/* ---- tools ---- */

static bool have(const char *path)
{
	return access(path, X_OK) == 0;
}

static void run_ok(const char *const *argv)
{
	h_run_t r;
	if (h_run(&r, H_RUN_TIMEOUT_MS, argv) != 0)
		fail_msg("%s failed (%d): %s", argv[0], r.status, r.err);
	h_run_free(&r);
}

/* A CA, a server certificate for 127.0.0.1 it signs, and a key that
 * matches neither, in dir. */
static void make_pki(const char *dir)
{
	char csr[160], ext[160], cakey[160];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	snprintf(csr, sizeof(csr), "%s/server.csr", dir);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", dir);
	h_write_file(ext, "subjectAltName=IP:127.0.0.1\n"
			  "basicConstraints=CA:FALSE\n"
			  "extendedKeyUsage=serverAuth\n");
	const char *ossl = "/usr/bin/openssl";
	run_ok((const char *const[]){
		ossl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-keyout", cakey, "-out",
		ca, "-days", "2", "-subj", "/CN=idnode test CA", NULL});
	run_ok((const char *const[]){ossl, "req", "-newkey", "ec", "-pkeyopt",
				     "ec_paramgen_curve:P-256", "-nodes",
				     "-keyout", key, "-out", csr, "-subj",
				     "/CN=127.0.0.1", NULL});
	run_ok((const char *const[]){ossl, "x509", "-req", "-in", csr, "-CA",
				     ca, "-CAkey", cakey, "-set_serial", "7",
				     "-out", cert, "-days", "2", "-extfile",
				     ext, NULL});
	run_ok((const char *const[]){ossl, "genpkey", "-algorithm", "EC",
				     "-pkeyopt", "ec_paramgen_curve:P-256",
				     "-out", other_key, NULL});
}

/* curl -i URL with extra arguments (NULL-terminated), trusting the test
 * CA. */
static int curl(h_curl_t *c, const char *url, const char *const *extra)
{
	return h_curl(c, ca, 10, url, extra);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The value of header name in c's head (case-insensitive, first one),
 * in a static buffer; NULL when absent. */
static const char *header(const h_curl_t *c, const char *name)
{
	static char val[1024];
	char pat[128];
	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	const char *p = strcasestr(c->head, pat);
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, "\r\n");
	snprintf(val, sizeof(val), "%.*s", (int)n, p);
	return val;
}

#define EXPECT(c, want)                                                        \
	do {                                                                   \
		if ((c)->exit != 0 || (c)->status != (want))                   \
			fail_msg("curl exit %d, status %d, want %d\n%s%s",     \
				 (c)->exit, (c)->status, (want), (c)->head,    \
				 (c)->run.err);                                \
	} while (0)

static void write_token(const char *path, mode_t mode)
{
	h_write_file(path, TOKEN "\n");
	assert_int_equal(chmod(path, mode), 0);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	if (!have("/usr/bin/openssl") || !have("/usr/bin/curl"))
		return 0; /* each test skips */
	node = node_new("--home", H_HOME, NULL);
	make_pki(node->dir);
	snprintf(tok, sizeof(tok), "%s/admin.token", node->dir);
	write_token(tok, 0600);
	char hp[32], sp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", h_free_port());
	snprintf(sp, sizeof(sp), "127.0.0.1:%u", h_free_port());
	snprintf(http_base, sizeof(http_base), "http://%s", hp);
	snprintf(https_base, sizeof(https_base), "https://%s", sp);
	node_add_args(node, "--http", hp, "--https", sp, "--http-tls-cert",
		      cert, "--http-tls-key", key, "--http-admin-token-file",
		      tok, "--http-root", h_src("web"), NULL);
	node_start(node);
	h_ctl_ok(node, "create", H_HOME "/pub", "1:URL=https://example.com/p",
		 "2,perms=c:SECRET=hidden", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (node != NULL) {
		node_stop(node);
		node_free(node);
	}
	return 0;
}

#define NEED_TOOLS()                                                           \
	do {                                                                   \
		if (node == NULL) {                                            \
			print_message("[ SKIP     ] no openssl or curl\n");    \
			skip();                                                \
		}                                                              \
	} while (0)

static char *url(const char *base, const char *path)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", base, path);
	return buf[i];
}

/* ---- HTTPS ---- */

static void https_reads_and_writes(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	curl(&c, url(https_base, "/api/handles/" H_HOME "/pub"), NULL);
	EXPECT(&c, 200);
	assert_non_null(strstr(c.body, "https://example.com/p"));
	assert_null(strstr(c.body, "hidden")); /* anonymous: public only */
	h_curl_free(&c);
	curl(&c, url(https_base, "/api/handles/" H_HOME "/tls-1"),
	     ARGS("-X", "PUT", "-H", AUTH, "--data",
		  "{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":"
		  "\"https://example.com/tls\"}]}"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	curl(&c, url(https_base, "/api/handles/" H_HOME "/tls-1"),
	     ARGS("-H", AUTH));
	EXPECT(&c, 200);
	assert_non_null(strstr(c.body, "https://example.com/tls"));
	h_curl_free(&c);
	/* the login works over HTTPS too */
	curl(&c, url(https_base, "/identity/token"),
	     ARGS("-H", "Content-Type: application/json", "--data",
		  "{\"username\":\"admin\",\"password\":\"" TOKEN "\"}"));
	EXPECT(&c, 200);
	assert_non_null(strstr(c.body, "\"token\""));
	h_curl_free(&c);
}

static void tls_versions_and_suites(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	const char *u = url(https_base, "/api/site");
	/* TLS 1.1 and older: no handshake */
	curl(&c, u, ARGS("--tlsv1", "--tls-max", "1.1"));
	if (c.exit == 0)
		fail_msg("TLS 1.1 accepted: %s", c.head);
	h_curl_free(&c);
	/* TLS 1.2 with ECDHE and AEAD, and TLS 1.3 */
	curl(&c, u, ARGS("--tlsv1.2", "--tls-max", "1.2"));
	EXPECT(&c, 200);
	h_curl_free(&c);
	curl(&c, u, ARGS("--tlsv1.3"));
	EXPECT(&c, 200);
	h_curl_free(&c);
	/* TLS 1.2 without forward secrecy, or CBC: refused */
	curl(&c, u,
	     ARGS("--tlsv1.2", "--tls-max", "1.2", "--ciphers",
		  "AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA"));
	if (c.exit == 0)
		fail_msg("a static-RSA or CBC suite accepted: %s", c.head);
	h_curl_free(&c);
	/* a client that does not trust the CA does not connect */
	h_run_t r;
	int st = h_run(&r, H_RUN_TIMEOUT_MS,
		       ARGS("/usr/bin/curl", "-sS", "--max-time", "10", u));
	assert_int_not_equal(st, 0);
	h_run_free(&r);
}

static void plain_http_beside_https(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	curl(&c, url(http_base, "/api/handles/" H_HOME "/pub"), NULL);
	EXPECT(&c, 200);
	h_curl_free(&c);
	/* loopback may write over plain HTTP */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/plain-1"),
	     ARGS("-X", "PUT", "-H", AUTH, "--data",
		  "{\"values\":[{\"index\":1,\"type\":\"EMAIL\",\"data\":"
		  "\"a@example.com\"}]}"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	/* TLS on the plain port, and plain HTTP on the TLS port, fail */
	char *cross = url(https_base, "/api/site");
	memmove(cross + 4, cross + 5, strlen(cross + 5) + 1); /* https->http */
	curl(&c, cross, NULL);
	assert_true(c.exit != 0 || c.status != 200);
	h_curl_free(&c);
}

/* Starts a node with args (NULL-terminated after the HTTP ones), expects
 * it to exit non-zero and to log want. */
static void refuses(const char *want, const char *arg, ...)
{
	node_t *n = node_new("--home", H_HOME, NULL);
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *))
		node_add_args(n, a, NULL);
	va_end(ap);
	node_spawn(n);
	int st = node_wait_exit(n, H_START_TIMEOUT_MS);
	char *log = node_log(n);
	if (st <= 0 || st >= 128 || strstr(log, want) == NULL) {
		node_dump_log(n);
		fail_msg("want exit 1 and \"%s\", got status %d", want, st);
	}
	free(log);
	node_free(n);
}

static void bad_tls_files_refuse_start(void **state)
{
	(void)state;
	NEED_TOOLS();
	char sp[32], missing[200], garbage[200];
	snprintf(sp, sizeof(sp), "127.0.0.1:%u", h_free_port());
	snprintf(missing, sizeof(missing), "%s/nope.pem", node->dir);
	snprintf(garbage, sizeof(garbage), "%s/garbage.pem", node->dir);
	h_write_file(garbage, "not a certificate\n");
	refuses("does not match http-tls-cert", "--https", sp,
		"--http-tls-cert", cert, "--http-tls-key", other_key, NULL);
	refuses("cannot read http-tls-cert", "--https", sp, "--http-tls-cert",
		missing, "--http-tls-key", key, NULL);
	refuses("not a PEM certificate", "--https", sp, "--http-tls-cert",
		garbage, "--http-tls-key", key, NULL);
	refuses("not a PEM private key", "--https", sp, "--http-tls-cert", cert,
		"--http-tls-key", garbage, NULL);
	refuses("https needs http-tls-cert", "--https", sp, NULL);
	refuses("need https", "--http-tls-cert", cert, "--http-tls-key", key,
		NULL);
}

static void token_file_mode_refuses_start(void **state)
{
	(void)state;
	NEED_TOOLS();
	char loose[200], hp[32];
	snprintf(loose, sizeof(loose), "%s/loose.token", node->dir);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", h_free_port());
	write_token(loose, 0644);
	refuses("is readable by others (mode 0644): chmod 600 it", "--http", hp,
		"--http-admin-token-file", loose, NULL);
	write_token(loose, 0640);
	refuses("(mode 0640)", "--http", hp, "--http-admin-token-file", loose,
		NULL);
}

/* ---- hostile input ---- */

static void location_injection_refused(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_ctl_ok(node, "create", H_HOME "/inj-lf",
		 "1:URL=https://example.com/a\nSet-Cookie: pwn=1", NULL);
	h_ctl_ok(node, "create", H_HOME "/inj-crlf",
		 "1:URL=https://example.com/a\r\nSet-Cookie: pwn=1", NULL);
	h_ctl_ok(node, "create", H_HOME "/inj-next",
		 "1:URL=https://example.com/a\nSet-Cookie: pwn=1",
		 "2:URL=https://example.com/b c/\xc3\xa9", NULL);
	h_curl_t c;
	static const char *const ids[] = {"/inj-lf", "/inj-crlf"};
	for (int i = 0; i < 2; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/%s%s", H_HOME, ids[i]);
		curl(&c, url(http_base, p), NULL);
		/* not followed: the record page, without the header */
		EXPECT(&c, 200);
		if (header(&c, "Set-Cookie") != NULL ||
		    header(&c, "Location") != NULL)
			fail_msg("%s injected a header:\n%s", ids[i], c.head);
		assert_non_null(strstr(c.body, "<table"));
		h_curl_free(&c);
	}
	/* the next URL value is followed, percent-encoded */
	curl(&c, url(http_base, "/" H_HOME "/inj-next"), NULL);
	EXPECT(&c, 302);
	assert_null(header(&c, "Set-Cookie"));
	assert_string_equal(header(&c, "Location"),
			    "https://example.com/b%20c/%C3%A9");
	h_curl_free(&c);
}

static void control_bytes_in_paths_are_400(void **state)
{
	(void)state;
	NEED_TOOLS();
	static const char *const paths[] = {
		"/console/index.html%00.js",
		"/console/app.js%0a",
		"/console/%ff",
		"/" H_HOME "/pub%00x",
		"/" H_HOME "/p%0d%0aub",
		"/api/handles/" H_HOME "/pub%01",
		"/" H_HOME "/%C3%28",
		"/" H_HOME "/%7f",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		h_curl_t c;
		curl(&c, url(http_base, paths[i]), ARGS("--path-as-is"));
		if (c.status != 400)
			fail_msg("%s: status %d, want 400\n%s", paths[i],
				 c.status, c.head);
		const char *ct = header(&c, "Content-Type");
		assert_true(ct == NULL || strstr(ct, "javascript") == NULL);
		h_curl_free(&c);
	}
	/* and the file itself still is served */
	h_curl_t c;
	curl(&c, url(http_base, "/console/app.js"), NULL);
	EXPECT(&c, 200);
	h_curl_free(&c);
}

/* ---- headers ---- */

static void nosniff_on_every_response(void **state)
{
	(void)state;
	NEED_TOOLS();
	struct {
		const char *base, *path;
		const char *const *extra;
		int status;
	} kinds[] = {
		{https_base, "/api/handles/" H_HOME "/pub", NULL, 200},
		{http_base, "/api/handles/" H_HOME "/none", NULL, 404},
		{http_base, "/api/handles/" H_HOME "/x", ARGS("-X", "PUT"),
		 401},
		{http_base, "/api/prefixes", ARGS("-X", "DELETE"), 405},
		{http_base, "/" H_HOME "/pub", NULL, 302},
		{http_base, "/" H_HOME "/pub?noredirect", NULL, 200},
		{http_base, "/" H_HOME "/none", NULL, 404},
		{http_base, "/console/", NULL, 200},
		{http_base, "/console/style.css", NULL, 200},
		{http_base, "/console/missing.js", NULL, 404},
		{http_base, "/console/index.html%00.js", NULL, 400},
		{http_base, "/a%00", NULL, 400},
		{http_base, "/metrics", NULL, 200},
		{http_base, "/", NULL, 302},
		{https_base, "/snms/api/v5/data", NULL, 401},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		h_curl_t c;
		curl(&c, url(kinds[i].base, kinds[i].path), kinds[i].extra);
		const char *v = header(&c, "X-Content-Type-Options");
		if (c.status != kinds[i].status || v == NULL ||
		    strcmp(v, "nosniff") != 0)
			fail_msg("%s: status %d (want %d), nosniff %s\n%s",
				 kinds[i].path, c.status, kinds[i].status,
				 v ? v : "absent", c.head);
		h_curl_free(&c);
	}
}

static void pages_forbid_framing_and_foreign_code(void **state)
{
	(void)state;
	NEED_TOOLS();
	static const char *const pages[] = {"/console/", "/console/index.html",
					    "/" H_HOME "/pub?noredirect",
					    "/" H_HOME "/none"};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		h_curl_t c;
		curl(&c, url(https_base, pages[i]), NULL);
		const char *ct = header(&c, "Content-Type");
		assert_non_null(ct);
		assert_non_null(strstr(ct, "text/html"));
		const char *csp = header(&c, "Content-Security-Policy");
		if (csp == NULL || !strstr(csp, "default-src 'self'") ||
		    !strstr(csp, "frame-ancestors 'none'"))
			fail_msg("%s: CSP %s", pages[i], csp ? csp : "absent");
		assert_string_equal(header(&c, "X-Frame-Options"), "DENY");
		assert_string_equal(header(&c, "Referrer-Policy"),
				    "no-referrer");
		h_curl_free(&c);
	}
}

static void cors_public_reads_only(void **state)
{
	(void)state;
	NEED_TOOLS();
	const char *origin = "Origin: https://elsewhere.example";
	h_curl_t c;
	curl(&c, url(https_base, "/api/handles/" H_HOME "/pub"),
	     ARGS("-H", origin));
	EXPECT(&c, 200);
	assert_string_equal(header(&c, "Access-Control-Allow-Origin"), "*");
	h_curl_free(&c);
	/* no Origin: no CORS header */
	curl(&c, url(https_base, "/api/handles/" H_HOME "/pub"), NULL);
	assert_null(header(&c, "Access-Control-Allow-Origin"));
	h_curl_free(&c);
	/* a write, and a read with the token, never */
	curl(&c, url(https_base, "/api/handles/" H_HOME "/cors-1"),
	     ARGS("-X", "PUT", "-H", origin, "-H", AUTH, "--data",
		  "{\"values\":[{\"index\":1,\"type\":\"EMAIL\",\"data\":"
		  "\"c@example.com\"}]}"));
	EXPECT(&c, 201);
	assert_null(header(&c, "Access-Control-Allow-Origin"));
	h_curl_free(&c);
	curl(&c, url(https_base, "/api/handles/" H_HOME "/pub"),
	     ARGS("-H", origin, "-H", AUTH));
	EXPECT(&c, 200);
	assert_null(header(&c, "Access-Control-Allow-Origin"));
	h_curl_free(&c);
	/* preflights: GET of a public path allowed, PUT and the login not */
	curl(&c, url(https_base, "/api/handles/" H_HOME "/pub"),
	     ARGS("-X", "OPTIONS", "-H", origin, "-H",
		  "Access-Control-Request-Method: GET"));
	EXPECT(&c, 204);
	assert_string_equal(header(&c, "Access-Control-Allow-Origin"), "*");
	assert_string_equal(header(&c, "Access-Control-Allow-Methods"),
			    "GET, HEAD");
	h_curl_free(&c);
	static const char *const refused[][2] = {
		{"/api/handles/" H_HOME "/pub", "PUT"},
		{"/api/handles/" H_HOME "/pub", "DELETE"},
		{"/identity/token", "POST"},
		{"/api/handles", "GET"}, /* needs an identity */
	};
	for (int i = 0; i < 4; i++) {
		char m[80];
		snprintf(m, sizeof(m), "Access-Control-Request-Method: %s",
			 refused[i][1]);
		curl(&c, url(https_base, refused[i][0]),
		     ARGS("-X", "OPTIONS", "-H", origin, "-H", m));
		EXPECT(&c, 403);
		assert_null(header(&c, "Access-Control-Allow-Origin"));
		assert_null(header(&c, "Access-Control-Allow-Methods"));
		h_curl_free(&c);
	}
}

static void cors_origin_list(void **state)
{
	(void)state;
	NEED_TOOLS();
	node_t *n = node_new("--home", H_HOME, NULL);
	char hp[32], base[64];
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", h_free_port());
	snprintf(base, sizeof(base), "http://%s", hp);
	node_add_args(n, "--http", hp, "--http-cors-origin",
		      "https://a.example", "--http-cors-origin",
		      "https://b.example", NULL);
	node_start(n);
	h_curl_t c;
	curl(&c, url(base, "/api/prefixes"),
	     ARGS("-H", "Origin: https://b.example"));
	EXPECT(&c, 200);
	assert_string_equal(header(&c, "Access-Control-Allow-Origin"),
			    "https://b.example");
	assert_string_equal(header(&c, "Vary"), "Origin");
	h_curl_free(&c);
	curl(&c, url(base, "/api/prefixes"),
	     ARGS("-H", "Origin: https://c.example"));
	EXPECT(&c, 200);
	assert_null(header(&c, "Access-Control-Allow-Origin"));
	h_curl_free(&c);
	node_stop(n);
	node_free(n);
}

/* The serial number of the certificate the HTTPS listener presents now,
 * as openssl prints it ("serial=07"), in out. */
static void served_serial(char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/openssl s_client -connect %s </dev/null 2>/dev/null"
		 " | /usr/bin/openssl x509 -noout -serial",
		 https_base + strlen("https://"));
	h_run_t r;
	h_run(&r, 10000, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
	snprintf(out, cap, "%.*s", (int)strcspn(r.out, "\n"), r.out);
	h_run_free(&r);
}

/* A renewed certificate is served from the next reload on (idctl reload
 * and SIGHUP run the same reload); one that does not load leaves the
 * running one in place and the reload says so. */
static void certificate_renewed_by_reload(void **state)
{
	(void)state;
	NEED_TOOLS();
	char serial[64], cakey[160], csr[160], ext[160];
	served_serial(serial, sizeof(serial));
	assert_string_equal(serial, "serial=07");
	snprintf(cakey, sizeof(cakey), "%s/ca.key", node->dir);
	snprintf(csr, sizeof(csr), "%s/server.csr", node->dir);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", node->dir);
	run_ok((const char *const[]){"/usr/bin/openssl", "x509", "-req", "-in",
				     csr, "-CA", ca, "-CAkey", cakey,
				     "-set_serial", "8", "-out", cert, "-days",
				     "2", "-extfile", ext, NULL});
	json_t *rep = h_ctl_json(node, "reload", "--json", NULL);
	char *txt = json_dumps(rep, JSON_COMPACT);
	print_message("reload: %s\n", txt);
	assert_non_null(strstr(txt, "\"applied\":[\"http-tls-cert\"]"));
	free(txt);
	json_decref(rep);
	served_serial(serial, sizeof(serial));
	assert_string_equal(serial, "serial=08");

	h_write_file(cert, "not a certificate\n");
	h_run_t r;
	h_ctl(&r, node, "reload", "--json", NULL);
	print_message("reload with a broken certificate: exit %d %s%s\n",
		      r.status, r.out, r.err);
	assert_int_equal(r.status, 1);
	json_t *got = json_loads(r.out, 0, NULL);
	assert_non_null(got);
	json_t *failed = json_object_get(got, "failed");
	assert_int_equal(json_array_size(failed), 1);
	assert_string_equal(json_string_value(json_array_get(failed, 0)),
			    "http-tls-cert");
	json_decref(got);
	h_run_free(&r);
	served_serial(serial, sizeof(serial));
	assert_string_equal(serial, "serial=08");
	h_curl_t c;
	curl(&c, url(https_base, "/api/handles/" H_HOME "/pub"), NULL);
	EXPECT(&c, 200);
	h_curl_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(https_reads_and_writes),
		cmocka_unit_test(tls_versions_and_suites),
		cmocka_unit_test(plain_http_beside_https),
		cmocka_unit_test(bad_tls_files_refuse_start),
		cmocka_unit_test(token_file_mode_refuses_start),
		cmocka_unit_test(location_injection_refused),
		cmocka_unit_test(control_bytes_in_paths_are_400),
		cmocka_unit_test(nosniff_on_every_response),
		cmocka_unit_test(pages_forbid_framing_and_foreign_code),
		cmocka_unit_test(cors_public_reads_only),
		cmocka_unit_test(cors_origin_list),
		/* last: it replaces the node's certificate */
		cmocka_unit_test(certificate_renewed_by_reload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
