/* End-to-end tests of the national SNMS API as its developer guide
 * documents it (docs/snms-api.md; guide docs/dev-tools/snms/v5): every
 * call sent with the guide's own example bodies to a real idnode over
 * loopback HTTP, the guide's status codes asserted; the token login of
 * accounts (idctl account) in both forms, each account acting with its
 * admin's rights, expiry and logout; the template reference in the
 * national form (1001 TEMPLATE) and the upgrade of a store written with
 * the former one (1999 IDN_TEMPLATE_REF). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "e2e-admin-token-0123456789abcdef"

/* the prefixes of the guide's examples */
#define P_DATA "88.1021.150"  /* register, update, delete */
#define P_BATCH "88.101.0042" /* batch register, update */
#define P_DEL "86.709.612"    /* batch delete */
#define P_TPL "88.101.5"      /* templates */

static node_t *node;
static uint16_t hport;

/* ---- a small HTTP client: one request per connection ---- */

typedef struct {
	int status;
	char *body;
	json_t *j; /* the body as JSON, or NULL */
} resp_t;

static void resp_free(resp_t *r)
{
	free(r->body);
	json_decref(r->j);
	memset(r, 0, sizeof(*r));
}

static int http(resp_t *r, const char *method, const char *path,
		const char *tok, const char *body)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(hport)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char auth[200] = "";
	if (tok != NULL)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
			 tok);
	size_t blen = body ? strlen(body) : 0;
	char *req = malloc(blen + 1024);
	int n = snprintf(req, 1024,
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
			 "close\r\nContent-Type: application/json\r\n%s"
			 "Content-Length: %zu\r\n\r\n",
			 method, path, auth, blen);
	memcpy(req + n, body ? body : "", blen);
	assert_int_equal(write(fd, req, (size_t)n + blen), (ssize_t)n + blen);
	free(req);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, H_IO_TIMEOUT_MS) <= 0)
			break;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = 0;
	memset(r, 0, sizeof(*r));
	sscanf(buf, "HTTP/1.%*d %d", &r->status);
	char *end = strstr(buf, "\r\n\r\n");
	r->body = strdup(end ? end + 4 : "");
	r->j = json_loads(r->body, 0, NULL);
	free(buf);
	return r->status;
}

static long status_of(const resp_t *r)
{
	json_t *s = json_object_get(r->j, "status");
	if (!json_is_integer(s))
		fail_msg("no status in %s", r->body);
	return (long)json_integer_value(s);
}

/* Asserts the HTTP status and the guide's status of r. */
#define EXPECT(r, http_want, st_want)                                          \
	do {                                                                   \
		if ((r)->status != (http_want) || status_of(r) != (st_want)) { \
			node_dump_log(node);                                   \
			fail_msg("HTTP %d status %ld, wanted %d and %d: %s",   \
				 (r)->status, status_of(r), (http_want),       \
				 (st_want), (r)->body);                        \
		}                                                              \
	} while (0)

static void call_at(int line, const char *method, const char *path,
		    const char *tok, const char *body, int http_want,
		    int st_want)
{
	resp_t r;
	http(&r, method, path, tok, body);
	if (r.status != http_want || status_of(&r) != st_want)
		fprintf(stderr, "line %d: %s %s\n", line, method, path);
	EXPECT(&r, http_want, st_want);
	resp_free(&r);
}

#define call(...) call_at(__LINE__, __VA_ARGS__)

/* ---- logins ---- */

static void sha256_hex(const char *s, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char d[32];
	unsigned dl;
	EVP_Digest(s, strlen(s), d, &dl, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[64] = 0;
}

/* The guide's v1 password: sha256(sha256(password) + yyyy-MM-dd). */
static void v1_proof(const char *pass, const char *date, char out[65])
{
	char h1[65], buf[128];
	sha256_hex(pass, h1);
	snprintf(buf, sizeof(buf), "%s%s", h1, date);
	sha256_hex(buf, out);
}

static void today(char out[11])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Logs user in (v1: the guide's second form); returns the token. */
static char *login(const char *user, const char *pass, bool v1)
{
	char body[256], proof[65], date[11];
	if (v1) {
		today(date);
		v1_proof(pass, date, proof);
	}
	snprintf(body, sizeof(body),
		 "{\"username\":\"%s\",\"password\":\"%s\"}", user,
		 v1 ? proof : pass);
	resp_t r;
	http(&r, "POST", v1 ? "/identity/token/v1" : "/identity/token", NULL,
	     body);
	EXPECT(&r, 200, 1);
	json_t *d = json_object_get(r.j, "data");
	const char *tok = json_string_value(json_object_get(d, "token"));
	assert_non_null(tok);
	assert_int_equal(strlen(tok), 64);
	char *out = strdup(tok);
	resp_free(&r);
	return out;
}

/* ---- fixtures ---- */

static void write_private(const char *path, const char *text)
{
	h_write_file(path, text);
	chmod(path, 0600);
}

static void account_add(const char *name, const char *admin, const char *pass)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.pw", node->dir, name);
	write_private(path, pass);
	h_ctl_ok(node, "account", "add", name, "--admin", admin,
		 "--password-file", path, NULL);
}

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", P_DATA, "--home", P_BATCH, "--home", P_DEL,
			"--home", P_TPL, NULL);
	char tok[256], port[32];
	snprintf(tok, sizeof(tok), "%s/admin.token", node->dir);
	write_private(tok, TOKEN "\n");
	hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	node_add_args(node, "--http", port, "--http-admin-token-file", tok,
		      "--http-token-ttl", "60", NULL);
	node_start(node);
	/* the prefixes' admin, whose rights the account "ops" has; "guest"
	 * acts as an admin no HS_ADMIN names */
	const char *pfx[] = {P_DATA, P_BATCH, P_DEL, P_TPL};
	for (int i = 0; i < 4; i++) {
		char id[64], adm[96];
		snprintf(id, sizeof(id), "0.NA/%s", pfx[i]);
		snprintf(adm, sizeof(adm), "100:HS_ADMIN=0.NA/%s@300", P_DATA);
		h_ctl_ok(node, "create", id, adm, NULL);
	}
	account_add("ops", "0.NA/" P_DATA ":300", "123456");
	account_add("guest", P_DATA "/nobody:300", "guest-pass");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(node);
	node_free(node);
	return 0;
}

/* ---- the guide's example bodies (v5/template.md, v5/handle-operate.md),
 * prefixes and template items as there ---- */

#define TPL_CREATE                                                                \
	"{\"prefix\": \"" P_TPL "\", \"version\": \"1.0.0\", "                    \
	"\"industryCategory\": \"A\", \"industrySpecific\": \"01\", "             \
	"\"industryTrade\": \"011\", \"industrySubclass\": \"0111\", "            \
	"\"type\": 1, \"description\": \"测试模板\", \"items\": [{\"name\": " \
	"\"e1\", \"idType\": \"ip\", \"idIndex\": \"2000\", \"metadata\": "       \
	"{\"type\": \"string\", \"minLength\": 1, \"maxLength\": 10}, "           \
	"\"required\": false}]}"

#define TPL_UPDATE                                                                \
	"{\"prefix\": \"" P_TPL "\", \"version\": \"1.0.0\", "                    \
	"\"industryCategory\": \"A\", \"industrySpecific\": \"01\", "             \
	"\"industryTrade\": \"011\", \"industrySubclass\": \"0111\", "            \
	"\"type\": 1, \"description\": \"测试模板\", \"items\": [{\"name\": " \
	"\"e1\", \"idType\": \"ip\", \"idIndex\": \"2000\", \"metadata\": "       \
	"{\"type\": \"string\", \"minLength\": 1, \"maxLength\": 10}, "           \
	"\"required\": false, \"state\": 1}]}"

/* a template for the data examples: their items (name@2000; URL@2000,
 * URL2@2001) under their prefixes */
#define TPL_FOR(prefix, version, items)                                        \
	"{\"prefix\": \"" prefix "\", \"version\": \"" version "\", "          \
	"\"industryCategory\": \"C\", \"industrySpecific\": \"34\", "          \
	"\"industryTrade\": \"345\", \"industrySubclass\": \"3451\", "         \
	"\"type\": 2, \"items\": [" items "]}"
#define ITEM(name, idx)                                                        \
	"{\"name\": \"" name "\", \"idType\": \"" name                         \
	"\", \"idIndex\": " #idx                                               \
	", \"metadata\": {\"type\": \"string\", \"minLength\": 1, "            \
	"\"maxLength\": 20}}"

#define DATA_CREATE                                                            \
	"{\"handle\": \"" P_DATA "/xx002\", \"templateVersion\": \"1.0\", "    \
	"\"value\": [{\"data\": {\"format\": \"string\", \"value\": "          \
	"\"小型机械01\"}, \"auth\": \"\", \"index\": 2000, \"type\": "     \
	"\"name\"}]}"

#define BATCH_ITEM(n, a, b)                                                    \
	"{\"handle\": \"" P_BATCH "/" n "\", \"templateVersion\": "            \
	"\"1.0.0\", \"value\": [{\"data\": {\"format\": \"string\", "          \
	"\"value\": \"" a "\"}, \"auth\": \"\", \"index\": 2000, \"type\": "   \
	"\"URL\"}, {\"data\": {\"format\": \"string\", \"value\": \"" b        \
	"\"}, \"auth\": \"\", \"index\": 2001, \"type\": \"URL2\"}]}"
#define BATCH_CREATE                                                           \
	"[" BATCH_ITEM("001", "www.001.com", "www.002.com") ", " BATCH_ITEM(   \
		"002", "www.003.com", "www.004.com") "]"

/* ---- tests ---- */

static void templates(void **state)
{
	(void)state;
	char *tok = login("ops", "123456", false);
	resp_t r;
	call("POST", "/snms/api/v5/template", tok, TPL_CREATE, 200, 1);
	/* a second POST of the same version is a business error */
	call("POST", "/snms/api/v5/template", tok, TPL_CREATE, 409, -2);
	http(&r, "GET", "/snms/api/v5/template?prefix=" P_TPL "&version=1.0.0",
	     tok, NULL);
	EXPECT(&r, 200, 1);
	json_t *d = json_object_get(r.j, "data");
	assert_string_equal(json_string_value(json_object_get(d, "prefix")),
			    P_TPL);
	assert_string_equal(json_string_value(json_object_get(d, "version")),
			    "1.0.0");
	assert_string_equal(
		json_string_value(json_object_get(d, "industrySubclass")),
		"0111");
	assert_int_equal(json_integer_value(json_object_get(d, "type")), 1);
	assert_string_equal(
		json_string_value(json_object_get(d, "description")),
		"测试模板");
	json_t *it = json_array_get(json_object_get(d, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "name")),
			    "e1");
	assert_string_equal(json_string_value(json_object_get(it, "idType")),
			    "ip");
	assert_int_equal(json_integer_value(json_object_get(it, "idIndex")),
			 2000);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(it, "metadata"), "maxLength")),
			 10);
	resp_free(&r);
	/* the guide's update, then a second item (idIndex defaults to the
	 * next one) and the first disabled */
	call("PUT", "/snms/api/v5/template", tok, TPL_UPDATE, 200, 1);
	call("PUT", "/snms/api/v5/template", tok,
	     TPL_FOR(P_TPL, "1.0.0",
		     "{\"name\": \"e1\", \"idType\": \"ip\", \"idIndex\": 2000, "
		     "\"metadata\": {\"minLength\": 1, \"maxLength\": 10}, "
		     "\"state\": 0}, {\"name\": \"序列号\", \"idType\": "
		     "\"serial\", \"metadata\": {\"minLength\": 1, "
		     "\"maxLength\": 8}, \"state\": 1}"),
	     200, 1);
	http(&r, "GET", "/snms/api/v5/template?prefix=" P_TPL "&version=1.0.0",
	     tok, NULL);
	EXPECT(&r, 200, 1);
	json_t *items = json_object_get(json_object_get(r.j, "data"), "items");
	assert_int_equal(json_array_size(items), 2);
	it = json_array_get(items, 0);
	assert_int_equal(json_integer_value(json_object_get(it, "state")), 0);
	it = json_array_get(items, 1);
	assert_string_equal(json_string_value(json_object_get(it, "name")),
			    "序列号");
	assert_int_equal(json_integer_value(json_object_get(it, "idIndex")),
			 2001);
	resp_free(&r);
	/* records validate against the newest version: ip is disabled */
	call("POST", "/identityv2/data", tok,
	     "{\"handle\": \"" P_TPL "/t1\", \"templateVersion\": \"1.0.0\", "
	     "\"value\": [{\"data\": {\"format\": \"string\", \"value\": "
	     "\"10.0.0.1\"}, \"index\": 2000, \"type\": \"ip\"}]}",
	     400, -2);
	call("POST", "/identityv2/data", tok,
	     "{\"handle\": \"" P_TPL "/t1\", \"templateVersion\": \"1.0.0\", "
	     "\"value\": [{\"data\": {\"format\": \"string\", \"value\": "
	     "\"S-1\"}, \"index\": 2001, \"type\": \"serial\"}]}",
	     200, 1);
	/* bad bodies: a missing industry field, metadata.type not string */
	call("POST", "/snms/api/v5/template", tok,
	     "{\"prefix\": \"" P_TPL "\", \"version\": \"2\", \"type\": 1, "
	     "\"items\": []}",
	     400, -2);
	call("POST", "/snms/api/v5/template", tok,
	     TPL_FOR(P_TPL, "2.0",
		     "{\"name\": \"n\", \"idType\": \"n\", \"idIndex\": 2000, "
		     "\"metadata\": {\"type\": \"String\", \"minLength\": 1, "
		     "\"maxLength\": 2}}"),
	     400, -2);
	/* the guide's delete: refused while a record uses it */
	const char *del = "{\"prefix\": \"" P_TPL "\", \"version\": \"1.0.0\"}";
	call("DELETE", "/snms/api/v5/template", tok, del, 400, -2);
	call("DELETE", "/identityv2/data", tok,
	     "{\"handle\": \"" P_TPL "/t1\"}", 200, 1);
	call("DELETE", "/snms/api/v5/template", tok, del, 200, 1);
	call("GET", "/snms/api/v5/template?prefix=" P_TPL "&version=1.0.0", tok,
	     NULL, 404, -2);
	free(tok);
}

static void data_calls(void **state)
{
	(void)state;
	char *tok = login("ops", "123456", true);
	resp_t r;
	call("POST", "/snms/api/v5/template", tok,
	     TPL_FOR(P_DATA, "1.0", ITEM("name", 2000)), 200, 1);
	/* register: the guide's example, answered with data true */
	http(&r, "POST", "/identityv2/data", tok, DATA_CREATE);
	EXPECT(&r, 200, 1);
	assert_true(json_is_true(json_object_get(r.j, "data")));
	resp_free(&r);
	call("POST", "/identityv2/data", tok, DATA_CREATE, 409, -2);
	/* query: the guide's detail, the reference at 1001 TEMPLATE */
	http(&r, "GET", "/identityv2/data/detail?handle=" P_DATA "/xx002", tok,
	     NULL);
	EXPECT(&r, 200, 1);
	json_t *d = json_object_get(r.j, "data");
	assert_string_equal(json_string_value(json_object_get(d, "prefix")),
			    P_DATA);
	assert_string_equal(json_string_value(json_object_get(d, "handle")),
			    P_DATA "/xx002");
	assert_string_equal(
		json_string_value(json_object_get(d, "templateVersion")),
		"1.0");
	json_t *vals = json_object_get(d, "value");
	assert_int_equal(json_array_size(vals), 2);
	json_t *ref = json_array_get(vals, 0), *v = json_array_get(vals, 1);
	assert_int_equal(json_integer_value(json_object_get(ref, "index")),
			 1001);
	assert_string_equal(json_string_value(json_object_get(ref, "type")),
			    "TEMPLATE");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(ref, "data"), "value")),
			    "1.0");
	assert_int_equal(json_integer_value(json_object_get(v, "index")), 2000);
	assert_string_equal(json_string_value(json_object_get(v, "type")),
			    "name");
	json_t *vd = json_object_get(v, "data");
	assert_string_equal(json_string_value(json_object_get(vd, "format")),
			    "string");
	assert_string_equal(json_string_value(json_object_get(vd, "value")),
			    "小型机械01");
	resp_free(&r);
	/* the Handle protocol sees the same record */
	json_t *j = h_ctl_json(node, "resolve", P_DATA "/xx002", NULL);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 1001), "data"),
			"value")),
		"1.0");
	json_decref(j);
	/* the guide's error example: no handle */
	http(&r, "GET", "/identityv2/data/detail", tok, NULL);
	EXPECT(&r, 400, -2);
	assert_true(json_is_null(json_object_get(r.j, "data")));
	resp_free(&r);
	/* update (same body as register), then the template refuses */
	call("PUT", "/identityv2/data", tok, DATA_CREATE, 200, 1);
	call("PUT", "/identityv2/data", tok,
	     "{\"handle\": \"" P_DATA "/xx002\", \"templateVersion\": "
	     "\"1.0\", \"value\": [{\"data\": {\"format\": \"string\", "
	     "\"value\": \"a value longer than twenty\"}, \"index\": 2000, "
	     "\"type\": \"name\"}]}",
	     400, -2);
	/* index 1001 is reserved; only the string format */
	call("POST", "/identityv2/data", tok,
	     "{\"handle\": \"" P_DATA "/r\", \"templateVersion\": \"1.0\", "
	     "\"value\": [{\"data\": {\"format\": \"string\", \"value\": "
	     "\"x\"}, \"index\": 1001, \"type\": \"TEMPLATE\"}]}",
	     400, -2);
	call("POST", "/identityv2/data", tok,
	     "{\"handle\": \"" P_DATA "/r\", \"templateVersion\": \"1.0\", "
	     "\"value\": [{\"data\": {\"format\": \"hex\", \"value\": \"00\"},"
	     " \"index\": 2000, \"type\": \"name\"}]}",
	     400, -2);
	call("POST", "/identityv2/data", tok,
	     "{\"handle\": \"" P_DATA "/r\", \"value\": []}", 400, -2);
	/* delete: the guide's body, then not found */
	const char *del = "{\"handle\": \"" P_DATA "/xx002\"}";
	call("DELETE", "/identityv2/data", tok, del, 200, 1);
	call("DELETE", "/identityv2/data", tok, del, 404, -2);
	free(tok);
}

static void batches(void **state)
{
	(void)state;
	char *tok = login("ops", "123456", false);
	resp_t r;
	call("POST", "/snms/api/v5/template", tok,
	     TPL_FOR(P_BATCH, "1.0.0",
		     ITEM("URL", 2000) "," ITEM("URL2", 2001)),
	     200, 1);
	http(&r, "POST", "/identityv2/data/batchCreate", tok, BATCH_CREATE);
	EXPECT(&r, 200, 1);
	json_t *d = json_object_get(r.j, "data");
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(d, 1), "handle")),
			    P_BATCH "/002");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(d, 0), "msg")),
		"success");
	resp_free(&r);
	/* the guide's error example: status 1, each item's outcome */
	http(&r, "POST", "/identityv2/data/batchCreate", tok, BATCH_CREATE);
	EXPECT(&r, 200, 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(r.j, "data"), 0),
			"msg")),
		"identifier already exists");
	resp_free(&r);
	call("PUT", "/identityv2/data/batchUpdate", tok, BATCH_CREATE, 200, 1);
	json_t *j = h_ctl_json(node, "resolve", P_BATCH "/002", NULL);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 2001), "data"),
			"value")),
		"www.004.com");
	json_decref(j);
	/* a malformed item changes nothing */
	call("POST", "/identityv2/data/batchCreate", tok,
	     "[" BATCH_ITEM("003", "a", "b") ", {\"handle\": 1}]", 400, -2);
	call("GET", "/identityv2/data/detail?handle=" P_BATCH "/003", tok, NULL,
	     404, -2);
	/* batch delete: the guide's body (its prefix), codes per item */
	h_ctl_ok(node, "create", P_DEL "/cc", "1:URL=https://example.com/cc",
		 "100:HS_ADMIN=0.NA/" P_DATA "@300", NULL);
	http(&r, "DELETE", "/identityv2/data/batchDelete", tok,
	     "[\"86.709.612/cc\", \"86.709.612/cc1\"]");
	EXPECT(&r, 200, 1);
	d = json_object_get(r.j, "data");
	assert_int_equal(json_integer_value(
				 json_object_get(json_array_get(d, 0), "code")),
			 1);
	assert_int_equal(json_integer_value(
				 json_object_get(json_array_get(d, 1), "code")),
			 -2);
	resp_free(&r);
	/* the parameter table's name for the array */
	call("DELETE", "/identityv2/data/batchDelete", tok,
	     "{\"handles\": [\"" P_BATCH "/001\", \"" P_BATCH "/002\"]}", 200,
	     1);
	call("GET", "/identityv2/data/detail?handle=" P_BATCH "/001", tok, NULL,
	     404, -2);
	free(tok);
}

static void accounts(void **state)
{
	(void)state;
	/* the guide's v1 example is sha256(sha256("123456") + "2019-08-15")
	 * (its note says "12345"; the hash is of "123456") */
	char proof[65];
	v1_proof("123456", "2019-08-15", proof);
	assert_string_equal(proof, "58e2c92c46485fdbc35fdcd0814d6c0f000cad5a"
				   "a156848ca5edaf29406b7661");
	/* wrong passwords, either form: the guide's -2 */
	call("POST", "/identity/token", NULL,
	     "{\"username\":\"ops\",\"password\":\"12345\"}", 401, -2);
	call("POST", "/identity/token/v1", NULL,
	     "{\"username\":\"ops\",\"password\":\"123456\"}", 401, -2);
	call("POST", "/identity/token", NULL,
	     "{\"username\":\"nobody\",\"password\":\"123456\"}", 401, -2);
	call("POST", "/identity/token", NULL, "{\"username\":\"ops\"}", 400,
	     -2);
	/* the admin secret logs in as admin, both forms */
	free(login("admin", TOKEN, false));
	free(login("admin", TOKEN, true));
	/* an account without rights is refused writes: -3 */
	char *guest = login("guest", "guest-pass", true);
	call("POST", "/identityv2/data", guest,
	     "{\"handle\": \"" P_DEL "/g\", \"templateVersion\": \"x\", "
	     "\"value\": []}",
	     403, -3);
	h_ctl_ok(node, "create", P_DEL "/keep", "1:URL=https://example.com/k",
		 "100:HS_ADMIN=0.NA/" P_DATA "@300", NULL);
	call("DELETE", "/identityv2/data", guest,
	     "{\"handle\": \"" P_DEL "/keep\"}", 403, -3);
	char *ops = login("ops", "123456", false);
	call("DELETE", "/identityv2/data", ops,
	     "{\"handle\": \"" P_DEL "/keep\"}", 200, 1);
	free(ops);
	/* no token, a wrong one: -1 */
	call("GET", "/identityv2/data/detail?handle=" P_DEL "/x", NULL, NULL,
	     401, -1);
	call("GET", "/identityv2/data/detail?handle=" P_DEL "/x",
	     "0123456789012345678901234567890123456789012345678901234567890123",
	     NULL, 401, -1);
	/* logout ends the token */
	call("DELETE", "/identity/token", guest, NULL, 200, 1);
	call("DELETE", "/identity/token", guest, NULL, 401, -1);
	call("POST", "/identityv2/data", guest, "{}", 401, -1);
	free(guest);
	/* idctl account: list, refusals, remove */
	json_t *l = h_ctl_json(node, "account", "list", NULL);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(l, 0), "admin")),
			    "0.NA/" P_DATA);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(l, 0), "index")),
			 300);
	json_decref(l);
	h_run_t r;
	char pw[256];
	snprintf(pw, sizeof(pw), "%s/ops.pw", node->dir);
	h_ctl(&r, node, "account", "add", "ops", "--admin", "x:1",
	      "--password-file", pw, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "exists"));
	h_run_free(&r);
	/* no terminal and no --password-file */
	h_ctl(&r, node, "account", "add", "solo", "--admin", "x:1", NULL);
	assert_int_not_equal(r.status, 0);
	h_run_free(&r);
	h_ctl(&r, node, "account", "add", "solo", NULL);
	h_assert_status(&r, 2);
	h_run_free(&r);
	/* the file holds a salted hash, never the password */
	char path[256];
	snprintf(path, sizeof(path), "%s/http-accounts", node->data);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	assert_non_null(strstr(buf, "pbkdf2-sha256$"));
	assert_null(strstr(buf, "123456"));
	char h1[65];
	sha256_hex("123456", h1);
	assert_null(strstr(buf, h1));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	h_ctl_ok(node, "account", "remove", "guest", NULL);
	call("POST", "/identity/token", NULL,
	     "{\"username\":\"guest\",\"password\":\"guest-pass\"}", 401, -2);
}

/* A token lives http-token-ttl seconds (60 here), then is refused. */
static void expiry(void **state)
{
	(void)state;
	/* tokens live in the HTTP plane, whatever the store: one minute
	 * waited once is enough */
	h_skip_on_pg("token expiry does not depend on the store");
	node_t *n = node_new("--home", P_DATA, NULL);
	char tok[256], port[32];
	snprintf(tok, sizeof(tok), "%s/admin.token", n->dir);
	write_private(tok, TOKEN "\n");
	uint16_t saved = hport;
	hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	/* the shortest TTL the node takes (60 s) is waited out */
	node_add_args(n, "--http", port, "--http-admin-token-file", tok,
		      "--http-token-ttl", "60", NULL);
	node_start(n);
	char *t = login("admin", TOKEN, false);
	call("GET", "/identityv2/data/detail?handle=" P_DATA "/none", t, NULL,
	     404, -2);
	sleep(61);
	call("GET", "/identityv2/data/detail?handle=" P_DATA "/none", t, NULL,
	     401, -1);
	free(t);
	node_stop(n);
	node_free(n);
	hport = saved;
}

/* A store written with the former reference (1999 IDN_TEMPLATE_REF) is
 * upgraded in place at the next start: 1001 TEMPLATE, same data, still
 * enforced; a record whose 1001 is taken keeps the former form. */
static void upgrade(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	char path[256];
	snprintf(path, sizeof(path), "%s/tpl.json", n->dir);
	h_write_file(path, "{\"prefix\":\"" H_HOME "\",\"name\":\"lot\","
			   "\"version\":1,\"industry\":\"C/34\",\"items\":[{"
			   "\"name\":\"BATCH\",\"index\":2003,\"type\":"
			   "\"string\",\"max_len\":8}]}");
	h_ctl_ok(n, "template", "put", H_HOME, path, NULL);
	h_ctl_ok(n, "template", "publish", H_HOME, "lot", "1", NULL);
	/* the former form, as stores written before hold it */
	h_ctl_ok(n, "create", H_HOME "/old-1", "1999:IDN_TEMPLATE_REF=lot@1",
		 "2003:BATCH=B-1", NULL);
	h_ctl_ok(n, "create", H_HOME "/old-2", "1999:IDN_TEMPLATE_REF=lot@1",
		 "1001:NOTE=taken", NULL);
	node_stop(n);
	/* a store the upgrade has not seen (the marker of a done pass) */
	char marker[256];
	snprintf(marker, sizeof(marker), "%s/tplref-1001", n->data);
	assert_int_equal(unlink(marker), 0);
	node_start(n);
	char *log = node_log(n);
	assert_non_null(strstr(log, "template references of 1 records moved"));
	assert_non_null(strstr(log, "old-2 stays at index 1999"));
	free(log);
	json_t *j = h_ctl_json(n, "resolve", H_HOME "/old-1", NULL);
	json_t *ref = h_json_value(j, 1001);
	assert_non_null(ref);
	assert_null(h_json_value(j, 1999));
	assert_string_equal(json_string_value(json_object_get(ref, "type")),
			    "TEMPLATE");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(ref, "data"), "value")),
			    "lot@1");
	json_decref(j);
	j = h_ctl_json(n, "resolve", H_HOME "/old-2", NULL);
	assert_non_null(h_json_value(j, 1999));
	json_decref(j);
	/* still bound: the template refuses a batch too long */
	h_run_t r;
	h_ctl(&r, n, "modify", H_HOME "/old-1", "2003:BATCH=far-too-long",
	      NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "max_len 8"));
	h_run_free(&r);
	/* a later start does not scan again */
	node_stop(n);
	node_start(n);
	log = node_log(n);
	assert_null(strstr(log, "moved"));
	free(log);
	node_stop(n);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(templates), cmocka_unit_test(data_calls),
		cmocka_unit_test(batches),   cmocka_unit_test(accounts),
		cmocka_unit_test(upgrade),   cmocka_unit_test(expiry),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
