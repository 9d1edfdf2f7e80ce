/* End-to-end tests of the handle.net REST API as the HANDLE.NET 9
 * technical manual's REST chapter documents it (docs/http-api.md), driven
 * with curl against a real daemon serving HTTP and HTTPS on loopback:
 * admins authenticated by Basic (index%3Ahandle and the HS_SECKEY secret),
 * by Authorization: Handle over /api/sessions (HS_SECKEY MAC and
 * HS_PUBKEY signature) and by TLS client certificates, each with the
 * rights of its HS_ADMIN values; mintNewSuffix (also concurrent), the
 * listing's paging, the body forms, index=various, ISO 8601 TTLs,
 * overwrite=false, foreign prefixes, and the cache headers of public
 * answers. Skipped when openssl or curl is missing. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "b64.h"
#include "harness.h"
#include "hex.h"

#define SECRET "rest-admin-secret-0123"
#define WEAK_SECRET "rest-weak-secret-4567"
#define ADMIN H_HOME "/admin"
#define BASIC "300%3A" ADMIN ":" SECRET
#define WEAK_BASIC "300%3A" H_HOME "/weak:" WEAK_SECRET
#define ADMIN_HS                                                               \
	"{\"index\":100,\"type\":\"HS_ADMIN\",\"data\":{\"format\":\"admin\"," \
	"\"value\":{\"handle\":\"" ADMIN "\",\"index\":300,"                   \
	"\"permissions\":\"011111110011\"}}}"

static node_t *node;
static char ca[160], cert[160], key[160]; /* the server's */
static char ccert[160], ckey[160];	  /* the admin's client cert */
static char bad_cert[160], bad_key[160];  /* names it, other key */
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

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define OSSL "/usr/bin/openssl"

/* A CA, the server's certificate for 127.0.0.1, the admin's self-signed
 * RSA client certificate whose subject names 301:<admin>, and another
 * naming the same admin with a key that is not its HS_PUBKEY. */
static void make_pki(const char *dir)
{
	char csr[160], ext[160], cakey[160];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(csr, sizeof(csr), "%s/server.csr", dir);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", dir);
	snprintf(ccert, sizeof(ccert), "%s/client.pem", dir);
	snprintf(ckey, sizeof(ckey), "%s/client.key", dir);
	snprintf(bad_cert, sizeof(bad_cert), "%s/bad.pem", dir);
	snprintf(bad_key, sizeof(bad_key), "%s/bad.key", dir);
	h_write_file(ext, "subjectAltName=IP:127.0.0.1\n"
			  "basicConstraints=CA:FALSE\n"
			  "extendedKeyUsage=serverAuth\n");
	run_ok(ARGS(OSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
		    "ec_paramgen_curve:P-256", "-nodes", "-keyout", cakey,
		    "-out", ca, "-days", "2", "-subj", "/CN=idnode test CA"));
	run_ok(ARGS(OSSL, "req", "-newkey", "ec", "-pkeyopt",
		    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
		    csr, "-subj", "/CN=127.0.0.1"));
	run_ok(ARGS(OSSL, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
		    cakey, "-set_serial", "7", "-out", cert, "-days", "2",
		    "-extfile", ext));
	run_ok(ARGS(OSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
		    "-keyout", ckey, "-out", ccert, "-days", "2", "-subj",
		    "/CN=301:" H_HOME "\\/admin"));
	run_ok(ARGS(OSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
		    "-keyout", bad_key, "-out", bad_cert, "-days", "2", "-subj",
		    "/UID=301:" H_HOME "\\/admin/CN=somebody"));
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* The HS_PUBKEY data of the client certificate's key, in hex. */
static char *client_pubkey_hex(void)
{
	EVP_PKEY *k = load_key(ckey);
	static uint8_t buf[2048];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_pubkey_encode(k, &w), 0);
	EVP_PKEY_free(k);
	char *hex = malloc(w.len * 2 + 1);
	idn_hex_encode(buf, w.len, hex);
	return hex;
}

/* curl -i URL with extra arguments (NULL-terminated), trusting the test
 * CA. */
static int curl(h_curl_t *c, const char *url, const char *const *extra)
{
	return h_curl(c, ca, 20, url, extra);
}

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
			fail_msg("curl exit %d, status %d, want %d\n%s%s%s",   \
				 (c)->exit, (c)->status, (want), (c)->head,    \
				 (c)->body, (c)->run.err);                     \
	} while (0)

static json_t *body_json(const h_curl_t *c)
{
	json_error_t e;
	json_t *j = json_loads(c->body, 0, &e);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, c->body);
	return j;
}

static long long jint(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", k);
	return json_integer_value(v);
}

static const char *jstr(json_t *j, const char *k)
{
	const char *s = json_string_value(json_object_get(j, k));
	if (s == NULL)
		fail_msg("%s is not a string", k);
	return s ? s : "";
}

/* The responseCode of c's JSON body. */
static long long rc_of(const h_curl_t *c)
{
	json_t *j = body_json(c);
	long long rc = jint(j, "responseCode");
	json_decref(j);
	return rc;
}

static char *url(const char *base, const char *path)
{
	static char buf[8][600];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", base, path);
	return buf[i];
}

/* The data of the value at index of record id, read as the operator,
 * NULL when there is none (the caller frees). */
static char *stored(const char *id, long index)
{
	h_run_t r;
	if (h_ctl(&r, node, "--json", "resolve", id, NULL) != 0) {
		h_run_free(&r);
		return NULL;
	}
	json_t *j = h_json(&r);
	h_run_free(&r);
	json_t *v = h_json_value(j, index);
	char *out = NULL;
	json_t *d = v ? json_object_get(v, "data") : NULL;
	if (json_is_object(d))
		d = json_object_get(d, "value");
	if (json_is_string(d))
		out = strdup(json_string_value(d));
	json_decref(j);
	return out;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	if (!have(OSSL) || !have("/usr/bin/curl"))
		return 0; /* each test skips */
	node = node_new("--home", H_HOME, NULL);
	make_pki(node->dir);
	char hp[32], sp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", h_free_port());
	snprintf(sp, sizeof(sp), "127.0.0.1:%u", h_free_port());
	snprintf(http_base, sizeof(http_base), "http://%s", hp);
	snprintf(https_base, sizeof(https_base), "https://%s", sp);
	/* no admin token file: the only writers are the admins below */
	node_add_args(node, "--http", hp, "--https", sp, "--http-tls-cert",
		      cert, "--http-tls-key", key, NULL);
	node_start(node);
	/* the prefix's admins: ADMIN and the certificate's key (everything
	 * an identifier needs, listing included), and a weak admin that may
	 * only read values (0x400) */
	h_ctl_ok(node, "create", "0.NA/" H_HOME, "100:HS_ADMIN=" ADMIN "@300",
		 "101:HS_ADMIN=" H_HOME "/weak@300#400",
		 "102:HS_ADMIN=" ADMIN "@301", NULL);
	h_ctl_ok(node, "create", H_HOME "/weak",
		 "300,perms=c:HS_SECKEY=" WEAK_SECRET, NULL);
	char *hex = client_pubkey_hex();
	char pk[4096];
	snprintf(pk, sizeof(pk), "301,perms=e:HS_PUBKEY=hex:%s", hex);
	free(hex);
	h_ctl_ok(node, "create", ADMIN, "300,perms=c:HS_SECKEY=" SECRET, pk,
		 NULL);
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

#define JSON_CT "Content-Type: application/json"

/* PUT body to path as the Basic admin over HTTP. */
static void put_basic(h_curl_t *c, const char *path, const char *body)
{
	curl(c, url(http_base, path),
	     ARGS("-X", "PUT", "-u", BASIC, "-H", JSON_CT, "--data", body));
}

/* ---- Basic authentication and rights ---- */

static void basic_admin_writes_with_its_rights(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	/* the manual's record form, with the HS_ADMIN that lets the admin
	 * manage it afterwards */
	put_basic(
		&c, "/api/handles/" H_HOME "/b-1",
		"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{"
		"\"format\":\"string\",\"value\":\"https://example.com/b1\"}}," ADMIN_HS
		"]}");
	EXPECT(&c, 201);
	assert_int_equal(rc_of(&c), 1);
	h_curl_free(&c);
	char *v = stored(H_HOME "/b-1", 1);
	assert_string_equal(v, "https://example.com/b1");
	free(v);
	/* a wrong secret: 401 with the Basic and Handle challenges, and
	 * nothing written */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-2"),
	     ARGS("-X", "PUT", "-u", "300%3A" ADMIN ":wrong", "-H", JSON_CT,
		  "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://x\"}]"));
	EXPECT(&c, 401);
	assert_int_equal(rc_of(&c), 403);
	assert_non_null(strstr(c.head, "Basic realm="));
	assert_non_null(strstr(c.head, "Handle sessionId="));
	h_curl_free(&c);
	assert_null(stored(H_HOME "/b-2", 1));
	/* an index that holds no secret key */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-2"),
	     ARGS("-X", "PUT", "-u", "301%3A" ADMIN ":" SECRET, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://x\"}]"));
	EXPECT(&c, 401);
	h_curl_free(&c);
	/* no credentials at all: 401, responseCode 402 */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-2"),
	     ARGS("-X", "PUT", "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://x\"}]"));
	EXPECT(&c, 401);
	assert_int_equal(rc_of(&c), 402);
	h_curl_free(&c);
	/* the weak admin proves who it is but has no add-handle right:
	 * 403, responseCode 401 (insufficient permissions), nothing stored
	 */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-3"),
	     ARGS("-X", "PUT", "-u", WEAK_BASIC, "-H", JSON_CT, "--data",
		  "{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":\"x\"}]}"));
	EXPECT(&c, 403);
	assert_int_equal(rc_of(&c), 401);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-3"), NULL);
	EXPECT(&c, 404);
	h_curl_free(&c);
	assert_null(stored(H_HOME "/b-3", 1));
	/* nor may it delete what the admin made, nor list the prefix */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-1"),
	     ARGS("-X", "DELETE", "-u", WEAK_BASIC));
	EXPECT(&c, 403);
	assert_int_equal(rc_of(&c), 401);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles?prefix=" H_HOME),
	     ARGS("-u", WEAK_BASIC));
	EXPECT(&c, 403);
	h_curl_free(&c);
	v = stored(H_HOME "/b-1", 1);
	assert_string_equal(v, "https://example.com/b1");
	free(v);
	/* the admin deletes it */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/b-1"),
	     ARGS("-X", "DELETE", "-u", BASIC));
	EXPECT(&c, 200);
	h_curl_free(&c);
	assert_null(stored(H_HOME "/b-1", 1));
}

/* ---- body forms, index=various, TTLs, overwrite ---- */

static void body_forms_and_ttls(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	/* a bare array of values */
	put_basic(
		&c, "/api/handles/" H_HOME "/f-1",
		"[{\"index\":1,\"type\":\"URL\",\"data\":\"https://a\"}," ADMIN_HS
		"]");
	EXPECT(&c, 201);
	h_curl_free(&c);
	/* one value, replacing index 1 of the record */
	put_basic(&c, "/api/handles/" H_HOME "/f-1?index=1",
		  "{\"index\":1,\"type\":\"URL\",\"data\":\"https://b\"}");
	EXPECT(&c, 200);
	h_curl_free(&c);
	char *v = stored(H_HOME "/f-1", 1);
	assert_string_equal(v, "https://b");
	free(v);
	/* index=various: every value of the body is added or replaced;
	 * other properties of a record object are ignored */
	put_basic(&c, "/api/handles/" H_HOME "/f-1?index=various",
		  "{\"responseCode\":1,\"note\":\"ignored\",\"values\":["
		  "{\"index\":2,\"type\":\"EMAIL\",\"data\":\"a@example.com\","
		  "\"ttl\":\"PT10M\"},"
		  "{\"index\":3,\"type\":\"DESC\",\"data\":\"three\","
		  "\"ttl\":\"2099-01-01T00:00:00Z\"}]}");
	EXPECT(&c, 200);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/f-1?index=2&index=3"),
	     NULL);
	EXPECT(&c, 200);
	json_t *j = body_json(&c);
	json_t *vals = json_object_get(j, "values");
	assert_int_equal(json_array_size(vals), 2);
	json_t *e = json_array_get(vals, 0), *d = json_array_get(vals, 1);
	if (jint(e, "index") == 3) {
		json_t *t = e;
		e = d;
		d = t;
	}
	assert_int_equal(jint(e, "ttl"), 600);		/* PT10M */
	assert_int_equal(jint(d, "ttl"), 4070908800LL); /* 2099-01-01 */
	assert_string_equal(jstr(d, "ttlType"), "absolute");
	json_decref(j);
	h_curl_free(&c);
	/* a TTL that is neither seconds nor ISO 8601 */
	put_basic(
		&c, "/api/handles/" H_HOME "/f-1?index=4",
		"{\"index\":4,\"type\":\"X\",\"data\":\"x\",\"ttl\":\"soon\"}");
	EXPECT(&c, 400);
	h_curl_free(&c);
	/* overwrite=false never replaces a value that exists: 409, the
	 * value unchanged, whichever way the boolean is spelled */
	static const char *const spell[] = {"false", "False", "FALSE", "0"};
	for (size_t i = 0; i < 4; i++) {
		char p[128];
		snprintf(p, sizeof(p),
			 "/api/handles/" H_HOME "/f-1?index=3&overwrite=%s",
			 spell[i]);
		put_basic(
			&c, p,
			"{\"index\":3,\"type\":\"DESC\",\"data\":\"clobbered\"}");
		EXPECT(&c, 409);
		assert_int_equal(rc_of(&c), 201);
		h_curl_free(&c);
		v = stored(H_HOME "/f-1", 3);
		assert_string_equal(v, "three");
		free(v);
	}
	/* nor a record that exists */
	put_basic(&c, "/api/handles/" H_HOME "/f-1?overwrite=false",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://c\"}]");
	EXPECT(&c, 409);
	assert_int_equal(rc_of(&c), 101);
	h_curl_free(&c);
	v = stored(H_HOME "/f-1", 1);
	assert_string_equal(v, "https://b");
	free(v);
	/* a new value with overwrite=false is added */
	put_basic(&c, "/api/handles/" H_HOME "/f-1?index=5&overwrite=false",
		  "{\"index\":5,\"type\":\"DESC\",\"data\":\"five\"}");
	EXPECT(&c, 200);
	h_curl_free(&c);
	v = stored(H_HOME "/f-1", 5);
	assert_string_equal(v, "five");
	free(v);
	put_basic(&c, "/api/handles/" H_HOME "/f-1?overwrite=maybe", "[]");
	EXPECT(&c, 400);
	h_curl_free(&c);
}

/* ---- mintNewSuffix ---- */

static void mint_new_suffix(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	put_basic(&c, "/api/handles/" H_HOME "/?mintNewSuffix=true",
		  "{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":"
		  "\"https://example.com/minted\"}," ADMIN_HS "]}");
	EXPECT(&c, 201);
	json_t *j = body_json(&c);
	const char *h = jstr(j, "handle");
	assert_int_equal(strncmp(h, H_HOME "/", strlen(H_HOME) + 1), 0);
	assert_int_equal(strlen(h), strlen(H_HOME) + 1 + 36); /* a UUID */
	char loc[256];
	snprintf(loc, sizeof(loc), "/api/handles/%s", h);
	assert_string_equal(header(&c, "Location"), loc);
	char *v = stored(h, 1);
	assert_string_equal(v, "https://example.com/minted");
	free(v);
	json_decref(j);
	h_curl_free(&c);
	/* a mint prefix with text after the slash keeps it */
	put_basic(&c, "/api/handles/" H_HOME "/doc-?mintNewSuffix=true",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://d\"}]");
	EXPECT(&c, 201);
	j = body_json(&c);
	assert_int_equal(
		strncmp(jstr(j, "handle"), H_HOME "/doc-", strlen(H_HOME) + 5),
		0);
	json_decref(j);
	h_curl_free(&c);
	/* sixteen mints at once: sixteen different identifiers, all stored
	 */
	enum { N = 16 };
	const char *argv[H_CURL_MAX_ARGS] = {
		"-Z",
		"--parallel-max",
		"16",
		"-X",
		"PUT",
		"-u",
		BASIC,
		"-H",
		JSON_CT,
		"--data",
		"[{\"index\":1,\"type\":\"U\",\"data\":"
		"\"par\"}]"};
	int n = 11;
	for (int i = 0; i < N - 1; i++)
		argv[n++] = url(http_base,
				"/api/handles/" H_HOME "/par-?mintNewSuffix=1");
	argv[n] = NULL;
	/* curl repeats the last URL: the first is the one curl() adds */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/par-?mintNewSuffix=1"),
	     argv);
	assert_int_equal(c.exit, 0);
	char seen[N][80];
	int got = 0;
	for (const char *p = c.run.out;
	     (p = strstr(p, "\"handle\":\"")) != NULL;) {
		p += 10;
		size_t l = strcspn(p, "\"");
		assert_true(l < 80 && got < N);
		snprintf(seen[got], 80, "%.*s", (int)l, p);
		for (int k = 0; k < got; k++)
			assert_string_not_equal(seen[k], seen[got]);
		got++;
	}
	assert_int_equal(got, N);
	for (int i = 0; i < N; i++) {
		v = stored(seen[i], 1);
		assert_string_equal(v, "par");
		free(v);
	}
	h_curl_free(&c);
	/* mintNewSuffix needs the slash */
	put_basic(&c, "/api/handles/" H_HOME "?mintNewSuffix=true",
		  "[{\"index\":1,\"type\":\"U\",\"data\":\"x\"}]");
	EXPECT(&c, 400);
	assert_int_equal(rc_of(&c), 102);
	h_curl_free(&c);
}

/* ---- listing ---- */

static void listing_pages(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	for (int i = 0; i < 5; i++) {
		char p[96];
		snprintf(p, sizeof(p), "/api/handles/" H_HOME "/l-%d", i);
		put_basic(&c, p,
			  "[{\"index\":1,\"type\":\"U\",\"data\":\"l\"}]");
		EXPECT(&c, 201);
		h_curl_free(&c);
	}
	/* no page arguments: every identifier */
	curl(&c, url(http_base, "/api/handles?prefix=" H_HOME),
	     ARGS("-u", BASIC));
	EXPECT(&c, 200);
	json_t *j = body_json(&c);
	long long total = jint(j, "totalCount");
	assert_true(total >= 8); /* 5 here, the admins' records */
	assert_int_equal(
		(long long)json_array_size(json_object_get(j, "handles")),
		total);
	assert_string_equal(jstr(j, "prefix"), H_HOME);
	json_decref(j);
	h_curl_free(&c);
	/* a page */
	curl(&c,
	     url(http_base, "/api/handles?prefix=" H_HOME "&page=1&pageSize=2"),
	     ARGS("-u", BASIC));
	EXPECT(&c, 200);
	j = body_json(&c);
	assert_int_equal(jint(j, "totalCount"), total);
	assert_int_equal(json_array_size(json_object_get(j, "handles")), 2);
	assert_int_equal(jint(j, "page"), 1);
	assert_int_equal(jint(j, "pageSize"), 2);
	json_decref(j);
	h_curl_free(&c);
	/* pageSize=0: the count alone */
	curl(&c,
	     url(http_base, "/api/handles?prefix=" H_HOME "&pageSize=0&page=0"),
	     ARGS("-u", BASIC));
	EXPECT(&c, 200);
	j = body_json(&c);
	assert_int_equal(jint(j, "totalCount"), total);
	assert_int_equal(json_array_size(json_object_get(j, "handles")), 0);
	json_decref(j);
	h_curl_free(&c);
	/* a negative argument: everything again */
	curl(&c,
	     url(http_base,
		 "/api/handles?prefix=" H_HOME "&page=-1&pageSize=2"),
	     ARGS("-u", BASIC));
	EXPECT(&c, 200);
	j = body_json(&c);
	assert_int_equal(
		(long long)json_array_size(json_object_get(j, "handles")),
		total);
	json_decref(j);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles?prefix=" H_HOME), NULL);
	EXPECT(&c, 401);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles?prefix=99.77"),
	     ARGS("-u", BASIC));
	EXPECT(&c, 400);
	assert_int_equal(rc_of(&c), 301);
	h_curl_free(&c);
}

/* ---- foreign prefixes, cache headers ---- */

static void foreign_prefix_and_caching(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	curl(&c, url(http_base, "/api/handles/99.77/x"), NULL);
	EXPECT(&c, 400);
	assert_int_equal(rc_of(&c), 301);
	h_curl_free(&c);
	put_basic(&c, "/api/handles/99.77/x",
		  "[{\"index\":1,\"type\":\"U\",\"data\":\"x\"}]");
	EXPECT(&c, 400);
	assert_int_equal(rc_of(&c), 301);
	h_curl_free(&c);
	/* an identifier of a served prefix that does not exist: 404, 100 */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/none"), NULL);
	EXPECT(&c, 404);
	assert_int_equal(rc_of(&c), 100);
	h_curl_free(&c);
	put_basic(&c, "/api/handles/" H_HOME "/c-1",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://c\","
		  "\"ttl\":3600},{\"index\":2,\"type\":\"EMAIL\",\"data\":"
		  "\"c@example.com\",\"ttl\":600}," ADMIN_HS "]");
	EXPECT(&c, 201);
	h_curl_free(&c);
	/* public: max-age is the smallest TTL, with an ETag */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/c-1"), NULL);
	EXPECT(&c, 200);
	assert_string_equal(header(&c, "Cache-Control"), "max-age=600");
	char etag[128];
	snprintf(etag, sizeof(etag), "%s", header(&c, "ETag"));
	assert_true(strlen(etag) == 34 && etag[0] == '"');
	h_curl_free(&c);
	/* the same request again: the same ETag; If-None-Match: 304 */
	char inm[160];
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/c-1"),
	     ARGS("-H", inm));
	EXPECT(&c, 304);
	assert_string_equal(header(&c, "ETag"), etag);
	assert_string_equal(c.body, "");
	h_curl_free(&c);
	/* a change changes the ETag */
	put_basic(&c, "/api/handles/" H_HOME "/c-1?index=1",
		  "{\"index\":1,\"type\":\"URL\",\"data\":\"https://c2\"}");
	EXPECT(&c, 200);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/c-1"),
	     ARGS("-H", inm));
	EXPECT(&c, 200);
	assert_string_not_equal(header(&c, "ETag"), etag);
	h_curl_free(&c);
	/* an authenticated answer is never kept */
	curl(&c, url(http_base, "/api/handles/" H_HOME "/c-1"),
	     ARGS("-u", BASIC));
	EXPECT(&c, 200);
	assert_string_equal(header(&c, "Cache-Control"), "no-store");
	assert_null(header(&c, "ETag"));
	h_curl_free(&c);
}

/* ---- Authorization: Handle and /api/sessions ---- */

static char *b64(const uint8_t *p, size_t n)
{
	char *o = malloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	return o;
}

/* Opens a session: its id and nonce (bytes). */
static void open_session(char sid[64], uint8_t nonce[64], size_t *nlen)
{
	h_curl_t c;
	curl(&c, url(http_base, "/api/sessions"), ARGS("-X", "POST"));
	EXPECT(&c, 200);
	json_t *j = body_json(&c);
	snprintf(sid, 64, "%s", jstr(j, "sessionId"));
	assert_false(json_is_true(json_object_get(j, "authenticated")));
	const char *nb = jstr(j, "nonce");
	assert_int_equal(
		idn_base64_decode(nb, strlen(nb), IDN_B64_STRICT, nonce, nlen),
		0);
	assert_int_equal(*nlen, 16);
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "JSESSIONID=%s", sid);
	assert_non_null(strstr(header(&c, "Set-Cookie"), cookie));
	json_decref(j);
	h_curl_free(&c);
}

static void handle_authorization_sessions(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	char sid[64], hdr[1024];
	uint8_t nonce[64], cnonce[16] = "client-nonce-16b";
	size_t nlen;
	/* HS_SECKEY: HMAC-SHA256 of the server's nonce and the client's */
	open_session(sid, nonce, &nlen);
	uint8_t msg[32], mac[32];
	unsigned ml;
	memcpy(msg, nonce, 16);
	memcpy(msg + 16, cnonce, 16);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), msg, 32, mac, &ml);
	char *cn = b64(cnonce, 16), *sig = b64(mac, ml);
	snprintf(hdr, sizeof(hdr),
		 "Authorization: Handle version=\"0\", sessionId=\"%s\", "
		 "id=\"300%%3A" ADMIN "\", type=\"HS_SECKEY\", cnonce=\"%s\", "
		 "alg=\"HMAC-SHA256\", signature=\"%s\"",
		 sid, cn, sig);
	curl(&c, url(http_base, "/api/sessions/this"),
	     ARGS("-X", "PUT", "-H", hdr));
	EXPECT(&c, 200);
	json_t *j = body_json(&c);
	assert_true(json_is_true(json_object_get(j, "authenticated")));
	assert_string_equal(jstr(j, "id"), "300:" ADMIN);
	assert_string_equal(jstr(j, "sessionId"), sid);
	json_decref(j);
	h_curl_free(&c);
	/* the session alone now authenticates: in the header ... */
	snprintf(hdr, sizeof(hdr), "Authorization: Handle sessionId=\"%s\"",
		 sid);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/s-1"),
	     ARGS("-X", "PUT", "-H", hdr, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://s\"}]"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	/* ... and as the cookie */
	char cookie[128];
	snprintf(cookie, sizeof(cookie), "JSESSIONID=%s", sid);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/s-2"),
	     ARGS("-X", "PUT", "-b", cookie, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://s\"}]"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	/* a signature over another nonce does not verify */
	char sid2[64];
	uint8_t nonce2[64];
	size_t n2;
	open_session(sid2, nonce2, &n2);
	snprintf(hdr, sizeof(hdr),
		 "Authorization: Handle sessionId=\"%s\", id=\"300:" ADMIN
		 "\", type=\"HS_SECKEY\", cnonce=\"%s\", alg=\"HMAC-SHA256\", "
		 "signature=\"%s\"",
		 sid2, cn, sig);
	curl(&c, url(http_base, "/api/sessions/this"),
	     ARGS("-X", "PUT", "-H", hdr));
	EXPECT(&c, 401);
	assert_int_equal(rc_of(&c), 403);
	h_curl_free(&c);
	free(sig);
	/* HS_PUBKEY: the admin's RSA key signs nonce || cnonce (SHA256) */
	EVP_PKEY *k = load_key(ckey);
	idn_bytes_t parts[2] = {idn_bytes(nonce2, 16), idn_bytes(cnonce, 16)};
	uint8_t s[1024];
	size_t sl;
	assert_int_equal(idn_sig_sign(k, "SHA256", parts, 2, s, sizeof(s), &sl),
			 0);
	EVP_PKEY_free(k);
	sig = b64(s, sl);
	snprintf(hdr, sizeof(hdr),
		 "Authorization: Handle sessionId=\"%s\", id=\"301:" ADMIN
		 "\", type=\"HS_PUBKEY\", cnonce=\"%s\", alg=\"SHA256\", "
		 "signature=\"%s\"",
		 sid2, cn, sig);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/s-3"),
	     ARGS("-X", "PUT", "-H", hdr, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://s3\"}]"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	free(sig);
	free(cn);
	char *v = stored(H_HOME "/s-3", 1);
	assert_string_equal(v, "https://s3");
	free(v);
	/* the session ends: it no longer authenticates */
	snprintf(hdr, sizeof(hdr), "Authorization: Handle sessionId=\"%s\"",
		 sid);
	curl(&c, url(http_base, "/api/sessions/this"),
	     ARGS("-X", "DELETE", "-H", hdr));
	EXPECT(&c, 200);
	h_curl_free(&c);
	curl(&c, url(http_base, "/api/handles/" H_HOME "/s-4"),
	     ARGS("-X", "PUT", "-H", hdr, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://s\"}]"));
	EXPECT(&c, 401);
	h_curl_free(&c);
	assert_null(stored(H_HOME "/s-4", 1));
	/* Basic on POST /api/sessions authenticates the new session */
	curl(&c, url(http_base, "/api/sessions"),
	     ARGS("-X", "POST", "-u", BASIC));
	EXPECT(&c, 200);
	j = body_json(&c);
	assert_true(json_is_true(json_object_get(j, "authenticated")));
	assert_string_equal(jstr(j, "id"), "300:" ADMIN);
	json_decref(j);
	h_curl_free(&c);
}

/* ---- TLS client certificates ---- */

static void client_certificates(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	curl(&c, url(https_base, "/api/handles/" H_HOME "/t-1"),
	     ARGS("-X", "PUT", "--cert", ccert, "--key", ckey, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://t\"}]"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	char *v = stored(H_HOME "/t-1", 1);
	assert_string_equal(v, "https://t");
	free(v);
	/* the session it opens says who it is */
	curl(&c, url(https_base, "/api/sessions"),
	     ARGS("-X", "POST", "--cert", ccert, "--key", ckey));
	EXPECT(&c, 200);
	json_t *j = body_json(&c);
	assert_string_equal(jstr(j, "id"), "301:" ADMIN);
	json_decref(j);
	h_curl_free(&c);
	/* a certificate naming the admin (UID) with another key */
	curl(&c, url(https_base, "/api/handles/" H_HOME "/t-2"),
	     ARGS("-X", "PUT", "--cert", bad_cert, "--key", bad_key, "--data",
		  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://t\"}]"));
	EXPECT(&c, 401);
	h_curl_free(&c);
	assert_null(stored(H_HOME "/t-2", 1));
	/* without a certificate the connection is anonymous, reads work */
	curl(&c, url(https_base, "/api/handles/" H_HOME "/t-1"), NULL);
	EXPECT(&c, 200);
	h_curl_free(&c);
}

/* ---- a CNRI-style client's whole flow, over HTTPS ---- */

static void cnri_client_flow_https(void **state)
{
	(void)state;
	NEED_TOOLS();
	h_curl_t c;
	/* create with Basic, as the manual's curl examples do */
	curl(&c, url(https_base, "/api/handles/" H_HOME "/flow-1"),
	     ARGS("-X", "PUT", "-u", BASIC, "-H", JSON_CT, "--data",
		  "{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{"
		  "\"format\":\"string\",\"value\":\"https://www.example.org\"}}," ADMIN_HS
		  "]}"));
	EXPECT(&c, 201);
	h_curl_free(&c);
	/* mint three */
	char minted[3][96];
	for (int i = 0; i < 3; i++) {
		curl(&c,
		     url(https_base,
			 "/api/handles/" H_HOME "/flow-?mintNewSuffix=true"),
		     ARGS("-X", "PUT", "-u", BASIC, "-H", JSON_CT, "--data",
			  "[{\"index\":1,\"type\":\"URL\",\"data\":\"https://m\"}," ADMIN_HS
			  "]"));
		EXPECT(&c, 201);
		json_t *j = body_json(&c);
		snprintf(minted[i], sizeof(minted[i]), "%s", jstr(j, "handle"));
		json_decref(j);
		h_curl_free(&c);
	}
	/* list the prefix a page at a time until every one was seen */
	int seen = 0;
	long long total = -1;
	for (int page = 0; total < 0 || page * 3 < total; page++) {
		char p[160];
		snprintf(p, sizeof(p),
			 "/api/handles?prefix=" H_HOME "&page=%d&pageSize=3",
			 page);
		curl(&c, url(https_base, p), ARGS("-u", BASIC));
		EXPECT(&c, 200);
		json_t *j = body_json(&c);
		total = jint(j, "totalCount");
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(j, "handles"), i, h)
		{
			for (int k = 0; k < 3; k++)
				seen += !strcmp(json_string_value(h),
						minted[k]);
			seen += !strcmp(json_string_value(h), H_HOME "/flow-1");
		}
		json_decref(j);
		h_curl_free(&c);
		assert_true(page < 100);
	}
	assert_int_equal(seen, 4);
	/* delete them all */
	for (int i = 0; i < 4; i++) {
		char p[320];
		snprintf(p, sizeof(p), "/api/handles/%s",
			 i < 3 ? minted[i] : H_HOME "/flow-1");
		curl(&c, url(https_base, p), ARGS("-X", "DELETE", "-u", BASIC));
		EXPECT(&c, 200);
		h_curl_free(&c);
		curl(&c, url(https_base, p), NULL);
		EXPECT(&c, 404);
		h_curl_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basic_admin_writes_with_its_rights),
		cmocka_unit_test(body_forms_and_ttls),
		cmocka_unit_test(mint_new_suffix),
		cmocka_unit_test(listing_pages),
		cmocka_unit_test(foreign_prefix_and_caching),
		cmocka_unit_test(handle_authorization_sessions),
		cmocka_unit_test(client_certificates),
		cmocka_unit_test(cnri_client_flow_https),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
