/* End-to-end tests of idnode's HTTP interface (docs/http-api.md): every
 * endpoint driven with real HTTP requests over loopback sockets against a
 * real daemon, bad input and missing auth included, and the web console in
 * headless Chromium (skipped only when /usr/bin/chromium is absent). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "e2e-admin-token-0123456789abcdef"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"

static node_t *node;
static uint16_t hport;

/* ---- a small HTTP client: one request per connection ---- */

typedef struct {
	int status;
	char *head; /* status line and headers, NUL-terminated */
	char *body; /* NUL-terminated */
	size_t blen;
} resp_t;

static void resp_free(resp_t *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int connect_http(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(hport)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the server may close early (413) */
		c += w;
		n -= (size_t)w;
	}
}

/* Reads one response; with Content-Length it stops after the body, so
 * the connection can carry another request. */
static void read_resp(int fd, resp_t *r)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	char *end = NULL;
	long clen = -1;
	memset(r, 0, sizeof(*r));
	for (;;) {
		if (end != NULL && clen >= 0 &&
		    len >= (size_t)(end + 4 - buf) + (size_t)clen)
			break;
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, H_IO_TIMEOUT_MS) <= 0)
			break;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\ncontent-length:");
			if (cl != NULL && cl < end)
				clen = atol(cl + 17);
		}
	}
	buf[len] = 0;
	assert_non_null(end);
	r->head = strndup(buf, (size_t)(end - buf) + 2);
	r->blen = len - (size_t)(end + 4 - buf);
	r->body = malloc(r->blen + 1);
	memcpy(r->body, end + 4, r->blen);
	r->body[r->blen] = 0;
	sscanf(buf, "HTTP/1.%*d %d", &r->status);
	free(buf);
}

/* method path, extra header lines (each ending \r\n) and a body. */
static int req(resp_t *r, const char *method, const char *path,
	       const char *hdrs, const char *body, size_t blen)
{
	char head[8192];
	int fd = connect_http();
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Connection: close\r\nContent-Length: %zu\r\n%s\r\n",
			 method, path, body ? blen : 0, hdrs ? hdrs : "");
	send_all(fd, head, (size_t)n);
	if (body)
		send_all(fd, body, blen);
	read_resp(fd, r);
	close(fd);
	return r->status;
}

static int get(resp_t *r, const char *path)
{
	return req(r, "GET", path, NULL, NULL, 0);
}

static int send_json(resp_t *r, const char *method, const char *path, bool auth,
		     const char *json)
{
	return req(r, method, path,
		   auth ? AUTH "Content-Type: application/json\r\n"
			: "Content-Type: application/json\r\n",
		   json, strlen(json));
}

static const char *header(const resp_t *r, const char *name)
{
	static char val[1024];
	char pat[128];
	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	const char *p = strcasestr(r->head, pat);
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, "\r\n");
	snprintf(val, sizeof(val), "%.*s", (int)n, p);
	return val;
}

static json_t *body_json(const resp_t *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->blen, 0, &e);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, r->body);
	return j;
}

static long jint(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_integer(v))
		fail_msg("no integer '%s' in %s", key, json_dumps(j, 0));
	return (long)json_integer_value(v);
}

#define EXPECT(r, want)                                                        \
	do {                                                                   \
		if ((r)->status != (want))                                     \
			fail_msg("HTTP %d, wanted %d: %s", (r)->status,        \
				 (want), (r)->body);                           \
	} while (0)

/* responseCode of a JSON answer */
static long rc_of(const resp_t *r)
{
	json_t *j = body_json(r);
	long rc = jint(j, "responseCode");
	json_decref(j);
	return rc;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, NULL);
	char tok[256], port[32];
	snprintf(tok, sizeof(tok), "%s/admin.token", node->dir);
	FILE *f = fopen(tok, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	chmod(tok, 0600);
	hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	node_add_args(node, "--http", port, "--http-admin-token-file", tok,
		      "--http-max-body", "64K", "--http-timeout", "2",
		      "--http-root", h_src("web"), NULL);
	node_start(node);
	h_ctl_ok(node, "create", H_HOME "/part-1",
		 "1:URL=https://example.com/p/1", "2:EMAIL=qa@example.com",
		 "3,perms=c:SECRET=hidden", "100:HS_ADMIN=0.NA/" H_HOME "@300",
		 NULL);
	h_ctl_ok(node, "create", H_HOME "/nourl", "1:EMAIL=x@example.com",
		 NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(node);
	node_free(node);
	return 0;
}

/* ---- REST reads ---- */

static void rest_get(void **state)
{
	(void)state;
	resp_t r;
	get(&r, "/api/handles/" H_HOME "/part-1");
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	assert_int_equal(jint(j, "responseCode"), 1);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
			    H_HOME "/part-1");
	/* the non-public value 3 never leaves the node without the token */
	long want[] = {1, 2, 100};
	h_json_assert_indexes(j, want, 3);
	json_t *v1 = h_json_value(j, 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(v1, "data"), "format")),
			    "string");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(v1, "data"), "value")),
			    "https://example.com/p/1");
	assert_int_equal(jint(v1, "ttl"), 86400);
	assert_true(h_parse_time(json_string_value(
			    json_object_get(v1, "timestamp"))) > 0);
	json_t *adm = h_json_value(j, 100);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(adm, "data"), "format")),
			    "admin");
	json_decref(j);
	resp_free(&r);

	/* repeatable type= and index=, case-insensitive types */
	get(&r, "/api/handles/" H_HOME "/part-1?type=url&index=100&pretty");
	EXPECT(&r, 200);
	assert_non_null(strstr(r.body, "\n  \"values\"")); /* pretty */
	j = body_json(&r);
	long want2[] = {1, 100};
	h_json_assert_indexes(j, want2, 2);
	json_decref(j);
	resp_free(&r);

	/* the admin token sees non-public values, unless publicOnly */
	req(&r, "GET", "/api/handles/" H_HOME "/part-1", AUTH, NULL, 0);
	j = body_json(&r);
	long want3[] = {1, 2, 3, 100};
	h_json_assert_indexes(j, want3, 4);
	json_decref(j);
	resp_free(&r);
	req(&r, "GET", "/api/handles/" H_HOME "/part-1?publicOnly=true", AUTH,
	    NULL, 0);
	j = body_json(&r);
	h_json_assert_indexes(j, want, 3);
	json_decref(j);
	resp_free(&r);

	/* %2F for the slash, case-insensitive identifiers */
	get(&r, "/api/handles/" H_HOME "%2FPART-1");
	EXPECT(&r, 200);
	resp_free(&r);

	get(&r, "/api/handles/" H_HOME "/nosuch");
	EXPECT(&r, 404);
	assert_int_equal(rc_of(&r), 100);
	resp_free(&r);

	get(&r, "/api/handles/" H_HOME "/part-1?type=NOPE");
	EXPECT(&r, 200);
	assert_int_equal(rc_of(&r), 200);
	resp_free(&r);

	get(&r, "/api/handles/no-slash-here");
	EXPECT(&r, 400);
	assert_int_equal(rc_of(&r), 102);
	resp_free(&r);

	get(&r, "/api/handles/" H_HOME "/part-1?index=-1");
	EXPECT(&r, 400);
	resp_free(&r);
}

/* ---- REST writes and auth ---- */

static const char rec[] =
	"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":"
	"\"string\",\"value\":\"https://example.com/w\"}},{\"index\":2,"
	"\"type\":\"BIN\",\"data\":{\"format\":\"hex\",\"value\":\"00ff10\"},"
	"\"ttl\":60,\"permissions\":\"rwr-\"},{\"index\":100,\"type\":"
	"\"HS_ADMIN\",\"data\":{\"format\":\"admin\",\"value\":{\"handle\":"
	"\"0.NA/88.118.8\",\"index\":300,\"permissions\":\"111111111111\"}}}]}";

static void rest_writes_need_auth(void **state)
{
	(void)state;
	resp_t r;
	send_json(&r, "PUT", "/api/handles/" H_HOME "/w1", false, rec);
	EXPECT(&r, 401);
	assert_int_equal(rc_of(&r), 402);
	assert_non_null(header(&r, "WWW-Authenticate"));
	resp_free(&r);
	req(&r, "PUT", "/api/handles/" H_HOME "/w1",
	    "Authorization: Bearer wrong-token-0123456789\r\n", rec,
	    strlen(rec));
	EXPECT(&r, 401);
	resp_free(&r);
	req(&r, "DELETE", "/api/handles/" H_HOME "/part-1", NULL, NULL, 0);
	EXPECT(&r, 401);
	resp_free(&r);
	/* nothing changed */
	get(&r, "/api/handles/" H_HOME "/w1");
	EXPECT(&r, 404);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/part-1");
	EXPECT(&r, 200);
	resp_free(&r);
}

static void rest_writes(void **state)
{
	(void)state;
	resp_t r;
	send_json(&r, "PUT", "/api/handles/" H_HOME "/w1", true, rec);
	EXPECT(&r, 201);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/w1");
	json_t *j = body_json(&r);
	json_t *v2 = h_json_value(j, 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(v2, "data"), "value")),
			    "AP8Q"); /* 00 ff 10 as base64 */
	assert_int_equal(jint(v2, "ttl"), 60);
	json_decref(j);
	resp_free(&r);
	/* the same PUT replaces (200); overwrite=false refuses (409) */
	send_json(&r, "PUT", "/api/handles/" H_HOME "/w1", true, rec);
	EXPECT(&r, 200);
	resp_free(&r);
	send_json(&r, "PUT", "/api/handles/" H_HOME "/w1?overwrite=false", true,
		  rec);
	EXPECT(&r, 409);
	assert_int_equal(rc_of(&r), 101);
	resp_free(&r);
	/* ?index= adds those values only */
	send_json(&r, "PUT", "/api/handles/" H_HOME "/w1?index=7", true,
		  "{\"values\":[{\"index\":7,\"type\":\"EMAIL\",\"data\":"
		  "\"a@b.c\"},{\"index\":8,\"type\":\"X\",\"data\":\"no\"}]}");
	EXPECT(&r, 200);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/w1");
	j = body_json(&r);
	long want[] = {1, 2, 7, 100};
	h_json_assert_indexes(j, want, 4);
	json_decref(j);
	resp_free(&r);
	/* DELETE ?index= removes a value, an absent one is 404 */
	req(&r, "DELETE", "/api/handles/" H_HOME "/w1?index=7", AUTH, NULL, 0);
	EXPECT(&r, 200);
	resp_free(&r);
	req(&r, "DELETE", "/api/handles/" H_HOME "/w1?index=9", AUTH, NULL, 0);
	EXPECT(&r, 404);
	assert_int_equal(rc_of(&r), 200);
	resp_free(&r);
	req(&r, "DELETE", "/api/handles/" H_HOME "/w1", AUTH, NULL, 0);
	EXPECT(&r, 200);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/w1");
	EXPECT(&r, 404);
	resp_free(&r);
	req(&r, "DELETE", "/api/handles/" H_HOME "/w1", AUTH, NULL, 0);
	EXPECT(&r, 404);
	resp_free(&r);
	/* a prefix this node is not homed for */
	send_json(&r, "PUT", "/api/handles/99.1/x", true, rec);
	EXPECT(&r, 400); /* the manual: 400 for a handle not served here */
	assert_int_equal(rc_of(&r), 301);
	resp_free(&r);
}

static void rest_utf8(void **state)
{
	(void)state;
	resp_t r;
	/* 88.118.8/零件-7 percent-encoded in the path */
	const char *path = "/api/handles/" H_HOME "/%E9%9B%B6%E4%BB%B6-7";
	send_json(&r, "PUT", path, true,
		  "{\"values\":[{\"index\":1,\"type\":\"DESC\",\"data\":"
		  "\"\xe7\x94\xb5\xe6\x9c\xba\"}]}");
	EXPECT(&r, 201);
	resp_free(&r);
	get(&r, path);
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
			    H_HOME "/\xe9\x9b\xb6\xe4\xbb\xb6-7");
	json_decref(j);
	resp_free(&r);
	/* invalid UTF-8 and broken escapes are refused */
	get(&r, "/api/handles/" H_HOME "/%C3%28");
	EXPECT(&r, 400);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/%zz");
	EXPECT(&r, 400);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/a%00b");
	EXPECT(&r, 400);
	resp_free(&r);
}

/* Every bad request gets its documented error and changes nothing. */
static void rest_bad_input(void **state)
{
	(void)state;
	resp_t r;
	static const struct {
		const char *body;
		int status;
		const char *msg;
	} bad[] = {
		{"{\"values\":[", 400, "invalid JSON"},
		{"[1,2]", 400, "a value must be an object"},
		/* other properties of a record are ignored (the manual) */
		{"{\"values\":[],\"extra\":1}", 400, "no values"},
		{"{\"values\":[]}", 400, "no values"},
		{"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":\"x\","
		 "\"colour\":\"red\"}]}",
		 400, "unknown field 'colour'"},
		{"{\"values\":[{\"index\":\"1\",\"type\":\"URL\",\"data\":\"x\"}]}",
		 400, "integer index"},
		{"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":"
		 "\"rot13\",\"value\":\"x\"}}]}",
		 400, "unknown data format"},
		{"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":"
		 "\"base64\",\"value\":\"!!\"}}]}",
		 400, "not valid base64"},
		{"{\"values\":[{\"index\":1,\"type\":\"HS_ADMIN\",\"data\":\"x\"}]}",
		 400, "HS_ADMIN"},
		{"{\"values\":[{\"index\":1,\"type\":\"U\",\"data\":\"a\"},"
		 "{\"index\":1,\"type\":\"U\",\"data\":\"b\"}]}",
		 400, ""},
		{"{\"handle\":\"88.118.8/other\",\"values\":[{\"index\":1,"
		 "\"type\":\"U\",\"data\":\"a\"}]}",
		 400, "does not match"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_json(&r, "PUT", "/api/handles/" H_HOME "/bad", true,
			  bad[i].body);
		if (r.status != bad[i].status || !strstr(r.body, bad[i].msg))
			fail_msg("case %zu: HTTP %d %s", i, r.status, r.body);
		resp_free(&r);
	}
	get(&r, "/api/handles/" H_HOME "/bad");
	EXPECT(&r, 404);
	resp_free(&r);
	/* an oversized body: 413 before any handler runs */
	size_t big = 70 * 1024;
	char *b = malloc(big + 1);
	memset(b, ' ', big);
	b[0] = '{';
	b[big - 1] = '}';
	b[big] = 0;
	send_json(&r, "PUT", "/api/handles/" H_HOME "/bad", true, b);
	EXPECT(&r, 413);
	resp_free(&r);
	free(b);
	get(&r, "/api/handles/" H_HOME "/bad");
	EXPECT(&r, 404);
	resp_free(&r);
	/* wrong methods */
	req(&r, "POST", "/api/handles/" H_HOME "/bad", AUTH, "{}", 2);
	EXPECT(&r, 405);
	assert_string_equal(header(&r, "Allow"), "GET, HEAD, PUT, DELETE");
	resp_free(&r);
	req(&r, "PATCH", "/api/prefixes", NULL, NULL, 0);
	EXPECT(&r, 405);
	resp_free(&r);
	req(&r, "DELETE", "/metrics", NULL, NULL, 0);
	EXPECT(&r, 405);
	resp_free(&r);
	get(&r, "/api/nothing");
	EXPECT(&r, 404);
	resp_free(&r);
	/* a malformed request line gets 400 from the HTTP library */
	int fd = connect_http();
	send_all(fd, "GARBAGE\r\n\r\n", 11);
	read_resp(fd, &r);
	close(fd);
	EXPECT(&r, 400);
	resp_free(&r);
}

/* ---- listings, prefixes, site ---- */

static void listings(void **state)
{
	(void)state;
	resp_t r;
	get(&r, "/api/handles?prefix=" H_HOME);
	EXPECT(&r, 401);
	resp_free(&r);
	/* refused by the route table before the handler looks at the query */
	get(&r, "/api/handles");
	EXPECT(&r, 401);
	assert_int_equal(rc_of(&r), 402);
	resp_free(&r);
	for (int i = 0; i < 5; i++) {
		char p[128];
		snprintf(p, sizeof(p), "/api/handles/" H_HOME "/list-%d", i);
		send_json(
			&r, "PUT", p, true,
			"{\"values\":[{\"index\":1,\"type\":\"U\",\"data\":\"x\"}]}");
		EXPECT(&r, 201);
		resp_free(&r);
	}
	req(&r, "GET", "/api/handles?prefix=" H_HOME "&page=1&pageSize=2", AUTH,
	    NULL, 0);
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	long total = jint(j, "totalCount");
	assert_true(total >= 7);
	assert_int_equal(json_array_size(json_object_get(j, "handles")), 2);
	assert_int_equal(jint(j, "page"), 1);
	json_decref(j);
	resp_free(&r);
	/* pageSize=0: the count alone */
	req(&r, "GET", "/api/handles?prefix=" H_HOME "&pageSize=0", AUTH, NULL,
	    0);
	EXPECT(&r, 200);
	j = body_json(&r);
	assert_int_equal(jint(j, "totalCount"), total);
	assert_int_equal(json_array_size(json_object_get(j, "handles")), 0);
	json_decref(j);
	resp_free(&r);
	/* a prefix not served here: 400, responseCode 301 */
	req(&r, "GET", "/api/handles?prefix=77.1", AUTH, NULL, 0);
	EXPECT(&r, 400);
	assert_int_equal(rc_of(&r), 301);
	resp_free(&r);

	get(&r, "/api/prefixes");
	EXPECT(&r, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(j, "prefixes"), 0)),
			    H_HOME);
	json_decref(j);
	resp_free(&r);

	get(&r, "/api/site");
	EXPECT(&r, 200);
	j = body_json(&r);
	json_t *site = json_object_get(json_object_get(j, "data"), "value");
	json_t *sv = json_array_get(json_object_get(site, "servers"), 0);
	assert_string_equal(json_string_value(json_object_get(sv, "address")),
			    "127.0.0.1");
	json_decref(j);
	resp_free(&r);
}

/* ---- Handle messages over HTTP: the reference server's exchange ---- */

static uint8_t *vector_body(const char *name, size_t *len, char *line,
			    size_t linecap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", h_src("tests/vectors"), name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char hex[8192];
	size_t n = fread(hex, 1, sizeof(hex) - 1, f);
	fclose(f);
	hex[n] = 0;
	size_t bytes = strspn(hex, "0123456789abcdef") / 2;
	uint8_t *raw = malloc(bytes + 1);
	for (size_t i = 0; i < bytes; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		raw[i] = (uint8_t)v;
	}
	raw[bytes] = 0;
	uint8_t *sep = memmem(raw, bytes, "\r\n\r\n", 4);
	assert_non_null(sep);
	if (line)
		snprintf(line, linecap, "%.*s", (int)strcspn((char *)raw, "\r"),
			 (char *)raw);
	size_t off = (size_t)(sep + 4 - raw);
	*len = bytes - off;
	memmove(raw, raw + off, *len);
	return raw;
}

static void hdl_message(void **state)
{
	(void)state;
	h_ctl_ok(node, "home", "20.500", NULL);
	resp_t r;
	char line[256], path[256];
	size_t qlen, alen;
	/* not found: byte for byte the reference server's answer */
	uint8_t *q = vector_body("http-notfound-request.hex", &qlen, line,
				 sizeof(line));
	uint8_t *a = vector_body("http-notfound-response.hex", &alen, NULL, 0);
	sscanf(line, "POST %255s", path);
	req(&r, "POST", path,
	    "Content-Type: application/x-hdl-message\r\n"
	    "Accept: application/x-hdl-message\r\n",
	    (const char *)q, qlen);
	EXPECT(&r, 200);
	assert_string_equal(header(&r, "Content-Type"),
			    "application/x-hdl-message");
	assert_int_equal(r.blen, alen);
	assert_memory_equal(r.body, a, alen);
	resp_free(&r);
	free(q);
	free(a);
	/* a resolution: the reference's record, answered with rc 1 */
	h_ctl_ok(node, "create", "20.500/test1",
		 "1:URL=http://example.org/test1", "2:EMAIL=test1@example.org",
		 "100:HS_ADMIN=0.NA/20.500@300", NULL);
	q = vector_body("http-resolve-request.hex", &qlen, line, sizeof(line));
	sscanf(line, "POST %255s", path);
	req(&r, "POST", path, "Content-Type: application/x-hdl-message\r\n",
	    (const char *)q, qlen);
	EXPECT(&r, 200);
	h_reply_t rep;
	h_reply_init(&rep);
	assert_true(r.blen >= IDN_ENV_LEN + IDN_HDR_LEN);
	idn_env_t env;
	idn_msg_t m;
	assert_int_equal(idn_env_decode((uint8_t *)r.body, r.blen, &env), 0);
	assert_int_equal(env.msg_len, r.blen - IDN_ENV_LEN);
	assert_int_equal(env.request_id, idn_get_u32(q + 8));
	assert_int_equal(idn_msg_decode((uint8_t *)r.body + IDN_ENV_LEN,
					env.msg_len, &m),
			 0);
	assert_int_equal(m.hdr.rc, 1);
	idn_arena_t ar;
	idn_arena_init(&ar, 0);
	idn_values_body_t vb;
	assert_int_equal(idn_values_body_decode(m.rest, &ar, &vb), 0);
	assert_int_equal(vb.nvalues, 3);
	idn_arena_free(&ar);
	h_reply_free(&rep);
	resp_free(&r);
	free(q);
	/* administration over HTTP is refused like over TCP */
	uint8_t fr[512];
	h_req_t hq = h_req(IDN_OC_DELETE, 7);
	uint8_t body[64];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str("20.500/test1"));
	size_t fl = h_frame(fr, sizeof(fr), &hq, body, w.len);
	req(&r, "POST", "/", "Content-Type: application/x-hdl-message\r\n",
	    (const char *)fr, fl);
	EXPECT(&r, 200);
	assert_int_equal(idn_msg_decode((uint8_t *)r.body + IDN_ENV_LEN,
					r.blen - IDN_ENV_LEN, &m),
			 0);
	/* 402 (a challenge) or 5 (not supported): never done unauthenticated */
	if (m.hdr.rc != IDN_RC_AUTH_NEEDED && m.hdr.rc != IDN_RC_NOT_SUPPORTED)
		fail_msg("delete over HTTP answered rc %u", m.hdr.rc);
	resp_free(&r);
	get(&r, "/api/handles/20.500/test1");
	EXPECT(&r, 200);
	resp_free(&r);
	/* garbage */
	req(&r, "POST", "/", "Content-Type: application/x-hdl-message\r\n",
	    "short", 5);
	EXPECT(&r, 400);
	resp_free(&r);
}

/* ---- management API ---- */

static long mstatus(const resp_t *r)
{
	json_t *j = body_json(r);
	long s = jint(j, "status");
	json_decref(j);
	return s;
}

static char *login(void)
{
	resp_t r;
	send_json(&r, "POST", "/identity/token", false,
		  "{\"username\":\"admin\",\"password\":\"" TOKEN "\"}");
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	assert_int_equal(jint(j, "status"), 1);
	json_t *d = json_object_get(j, "data");
	char *tok = strdup(json_string_value(json_object_get(d, "token")));
	assert_int_equal(strlen(tok), 64);
	assert_int_equal(jint(d, "expiresIn"), 3600);
	json_decref(j);
	resp_free(&r);
	return tok;
}

static int mreq(resp_t *r, const char *method, const char *path,
		const char *tok, const char *json)
{
	char h[256] = "";
	if (tok != NULL)
		snprintf(
			h, sizeof(h),
			"Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
			tok);
	return req(r, method, path, tok ? h : NULL, json,
		   json ? strlen(json) : 0);
}

static void mgmt(void **state)
{
	(void)state;
	resp_t r;
	send_json(&r, "POST", "/identity/token", false,
		  "{\"username\":\"admin\",\"password\":\"nope\"}");
	EXPECT(&r, 401);
	assert_int_equal(mstatus(&r),
			 -2); /* the guide: wrong user or password */
	resp_free(&r);
	send_json(&r, "POST", "/identity/token", false, "{\"user\":1}");
	EXPECT(&r, 400);
	assert_int_equal(mstatus(&r), -2);
	resp_free(&r);
	req(&r, "GET", "/identity/token", NULL, NULL, 0);
	EXPECT(&r, 405);
	assert_int_equal(mstatus(&r), -2);
	assert_string_equal(header(&r, "Allow"), "POST, DELETE");
	resp_free(&r);
	/* unknown management resources are 404 with or without a token */
	mreq(&r, "POST", "/snms/api/v5/data/batch/merge", NULL, "{}");
	EXPECT(&r, 404);
	assert_int_equal(mstatus(&r), -2);
	resp_free(&r);
	mreq(&r, "GET", "/snms/api/v5/data?handle=" H_HOME "/part-1", NULL,
	     NULL);
	EXPECT(&r, 401);
	assert_int_equal(mstatus(&r), -1);
	resp_free(&r);
	char *tok = login();
	/* the login token also works on the REST API */
	mreq(&r, "GET", "/api/handles?prefix=" H_HOME, tok, NULL);
	EXPECT(&r, 200);
	resp_free(&r);

	const char *item =
		"{\"handle\":\"" H_HOME "/m1\",\"values\":[{\"index\":1,"
		"\"type\":\"URL\",\"data\":\"https://example.com/m1\"}]}";
	mreq(&r, "POST", "/snms/api/v5/data", tok, item);
	EXPECT(&r, 201);
	assert_int_equal(mstatus(&r), 1);
	resp_free(&r);
	mreq(&r, "POST", "/snms/api/v5/data", tok, item);
	EXPECT(&r, 409);
	assert_int_equal(mstatus(&r), -2);
	resp_free(&r);
	mreq(&r, "PUT", "/snms/api/v5/data", tok,
	     "{\"handle\":\"" H_HOME "/m1\",\"values\":[{\"index\":2,"
	     "\"type\":\"BATCH\",\"data\":\"B-2026-11\"}]}");
	EXPECT(&r, 200);
	resp_free(&r);
	mreq(&r, "GET", "/snms/api/v5/data?handle=" H_HOME "/m1", tok, NULL);
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	assert_int_equal(jint(j, "status"), 1);
	long want[] = {1, 2};
	h_json_assert_indexes(json_object_get(j, "data"), want, 2);
	json_decref(j);
	resp_free(&r);
	mreq(&r, "POST", "/snms/api/v5/data", tok, "{\"handle\":1");
	EXPECT(&r, 400);
	resp_free(&r);
	mreq(&r, "POST", "/snms/api/v5/data", tok,
	     "{\"handle\":\"99.9/x\",\"values\":[{\"index\":1,\"type\":\"U\","
	     "\"data\":\"x\"}]}");
	EXPECT(&r, 403);
	assert_int_equal(mstatus(&r), -3);
	resp_free(&r);
	mreq(&r, "DELETE", "/snms/api/v5/data?handle=" H_HOME "/m1", tok, NULL);
	EXPECT(&r, 200);
	resp_free(&r);
	mreq(&r, "DELETE", "/snms/api/v5/data?handle=" H_HOME "/m1", tok, NULL);
	EXPECT(&r, 404);
	assert_int_equal(mstatus(&r), -2);
	resp_free(&r);

	/* batches: a malformed item rejects the whole batch, nothing made */
	mreq(&r, "POST", "/snms/api/v5/data/batch/create", tok,
	     "{\"items\":[{\"handle\":\"" H_HOME
	     "/b1\",\"values\":[{\"index\":1,"
	     "\"type\":\"U\",\"data\":\"1\"}]},{\"handle\":\"" H_HOME
	     "/b2\"}]}");
	EXPECT(&r, 400);
	assert_int_equal(mstatus(&r), -2);
	assert_non_null(strstr(r.body, "items[1]"));
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/b1");
	EXPECT(&r, 404);
	resp_free(&r);
	mreq(&r, "POST", "/snms/api/v5/data/batch/create", tok,
	     "{\"items\":[{\"handle\":\"" H_HOME
	     "/b1\",\"values\":[{\"index\":1,"
	     "\"type\":\"U\",\"data\":\"1\"}]},{\"handle\":\"" H_HOME "/b2\","
	     "\"values\":[{\"index\":1,\"type\":\"U\",\"data\":\"2\"}]}]}");
	EXPECT(&r, 200);
	j = body_json(&r);
	assert_int_equal(jint(j, "status"), 1);
	assert_int_equal(jint(json_object_get(j, "data"), "success"), 2);
	json_decref(j);
	resp_free(&r);
	mreq(&r, "POST", "/snms/api/v5/data/batch/update", tok,
	     "{\"items\":[{\"handle\":\"" H_HOME
	     "/b1\",\"values\":[{\"index\":1,"
	     "\"type\":\"U\",\"data\":\"one\"}]}]}");
	EXPECT(&r, 200);
	resp_free(&r);
	get(&r, "/api/handles/" H_HOME "/b1");
	assert_non_null(strstr(r.body, "\"one\""));
	resp_free(&r);
	mreq(&r, "POST", "/snms/api/v5/data/batch/delete", tok,
	     "{\"handles\":[\"" H_HOME "/b1\",\"" H_HOME "/b2\",\"" H_HOME
	     "/b3\"]}");
	EXPECT(&r, 200);
	j = body_json(&r);
	assert_int_equal(jint(j, "status"), -2);
	json_t *d = json_object_get(j, "data");
	assert_int_equal(jint(d, "success"), 2);
	assert_int_equal(json_array_size(json_object_get(d, "failed")), 1);
	json_decref(j);
	resp_free(&r);
	mreq(&r, "GET", "/snms/api/v5/data/batch/create", tok, NULL);
	EXPECT(&r, 405);
	resp_free(&r);
	mreq(&r, "GET", "/snms/api/v5/template", tok, NULL);
	EXPECT(&r, 400); /* ?prefix= is required (test_template.c) */
	resp_free(&r);
	free(tok);
}

/* ---- browser proxy ---- */

static void proxy(void **state)
{
	(void)state;
	resp_t r;
	get(&r, "/" H_HOME "/part-1");
	EXPECT(&r, 302);
	assert_string_equal(header(&r, "Location"), "https://example.com/p/1");
	resp_free(&r);
	get(&r, "/" H_HOME "/part-1?noredirect");
	EXPECT(&r, 200);
	assert_non_null(strstr(header(&r, "Content-Type"), "text/html"));
	assert_non_null(strstr(r.body, H_HOME "/part-1"));
	assert_non_null(strstr(r.body, "qa@example.com"));
	assert_null(strstr(r.body, "hidden")); /* not public */
	resp_free(&r);
	get(&r, "/" H_HOME "/nourl");
	EXPECT(&r, 200);
	assert_non_null(strstr(r.body, "x@example.com"));
	resp_free(&r);
	get(&r, "/" H_HOME "/nothing-%3Cscript%3E");
	EXPECT(&r, 404);
	assert_non_null(strstr(r.body, "Identifier not found"));
	assert_non_null(strstr(r.body, "&lt;script&gt;")); /* escaped */
	assert_null(strstr(r.body, "<script>"));
	resp_free(&r);
	get(&r, "/favicon.ico");
	EXPECT(&r, 400);
	resp_free(&r);
	get(&r, "/");
	EXPECT(&r, 302);
	assert_string_equal(header(&r, "Location"), "/console/");
	resp_free(&r);
	get(&r, "/console/");
	EXPECT(&r, 200);
	assert_non_null(strstr(r.body, "resolve-form"));
	resp_free(&r);
	get(&r, "/console/app.js");
	EXPECT(&r, 200);
	resp_free(&r);
}

/* ---- stats and metrics ---- */

static void stats_metrics(void **state)
{
	(void)state;
	resp_t r;
	for (int i = 0; i < 5; i++) {
		get(&r, "/api/handles/" H_HOME "/part-1");
		resp_free(&r);
	}
	/* /api/search is metered under its own route name */
	get(&r, "/api/search?prefix=" H_HOME);
	EXPECT(&r, 401);
	resp_free(&r);
	/* anonymous: counts, but not which identifiers others resolved */
	get(&r, "/api/stats");
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	json_t *t = json_object_get(j, "totals");
	assert_true(jint(t, "resolutions") >= 5);
	assert_true(jint(t, "registrations") >= 1);
	if (json_object_get(j, "top") != NULL ||
	    strstr(r.body, H_HOME "/part-1") != NULL)
		fail_msg("anonymous /api/stats names identifiers: %s", r.body);
	json_decref(j);
	resp_free(&r);
	/* with the token: the most resolved identifiers */
	req(&r, "GET", "/api/stats", AUTH, NULL, 0);
	EXPECT(&r, 200);
	j = body_json(&r);
	json_t *top = json_object_get(j, "top");
	if (json_array_size(top) < 1)
		fail_msg("no top list with the token: %s", r.body);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(top, 0), "handle")),
			    H_HOME "/part-1");
	assert_true(jint(json_array_get(top, 0), "count") >= 5);
	json_t *pf = json_array_get(json_object_get(j, "prefixes"), 0);
	assert_string_equal(json_string_value(json_object_get(pf, "prefix")),
			    H_HOME);
	assert_true(jint(json_object_get(j, "store"), "identifiers") >= 2);
	size_t n1 = json_array_size(
		json_object_get(json_object_get(j, "series"), "resolutions"));
	json_decref(j);
	resp_free(&r);
	sleep(2);
	get(&r, "/api/stats");
	j = body_json(&r);
	size_t n2 = json_array_size(
		json_object_get(json_object_get(j, "series"), "resolutions"));
	assert_true(n2 >= n1 + 1);
	json_decref(j);
	resp_free(&r);

	get(&r, "/metrics");
	EXPECT(&r, 200);
	assert_non_null(strstr(header(&r, "Content-Type"), "text/plain"));
	static const char *const want[] = {
		"# TYPE idnode_handle_requests_total counter",
		"idnode_resolutions_total ",
		"idnode_http_requests_total{route=\"handle\",code=\"200\"} ",
		"idnode_http_requests_total{route=\"handle\",code=\"404\"} ",
		"idnode_http_requests_total{route=\"search\",code=\"401\"} ",
		"idnode_http_requests_total{route=\"stats\",code=\"200\"} ",
		"idnode_operations_total{protocol=\"http\",op=\"resolve\",rc=\"1\"} ",
		"idnode_http_request_duration_seconds_bucket{route=\"handle\",le=\"+Inf\"} ",
		"idnode_http_request_duration_seconds_count{route=\"handle\"} ",
		"idnode_cache_hits_total 0",
		"idnode_store_identifiers ",
		"idnode_http_connections_open ",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(r.body, want[i]))
			fail_msg("/metrics lacks '%s':\n%s", want[i], r.body);
	resp_free(&r);
}

/* ---- the dashboard by industry (template) and region (prefix) ---- */

#define P2 "88.200.6" /* a second enterprise prefix, in Guangdong */

static const char gear_json[] =
	"{\"prefix\":\"" P2 "\",\"name\":\"gear\",\"version\":1,"
	"\"industry\":\"C/34/345\",\"items\":[{\"name\":\"BATCH\","
	"\"index\":2001,\"type\":\"string\"}]}";

/* A record bound to gear@1, for PUT /api/handles/{id}. */
#define GEAR_REC                                                               \
	"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":"                 \
	"\"https://example.com/gear\"},{\"index\":1001,\"type\":"              \
	"\"TEMPLATE\",\"data\":\"gear@1\"},{\"index\":2001,"                   \
	"\"type\":\"BATCH\",\"data\":\"B-7\"}]}"

/* registrations and resolutions of the entry with that code in the
 * "industries" or "regions" array of /api/stats (0 when absent) */
static void class_counts(const char *list, const char *code, long *reg,
			 long *res)
{
	resp_t r;
	get(&r, "/api/stats");
	EXPECT(&r, 200);
	json_t *j = body_json(&r);
	json_t *arr = json_object_get(j, list);
	assert_true(json_is_array(arr));
	*reg = *res = 0;
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "code")), code))
			continue;
		*reg = jint(e, "registrations");
		*res = jint(e, "resolutions");
		assert_non_null(json_string_value(json_object_get(e, "name")));
	}
	json_decref(j);
	resp_free(&r);
}

static void name_of(const char *list, const char *code, char *out, size_t cap)
{
	resp_t r;
	get(&r, "/api/stats");
	json_t *j = body_json(&r);
	size_t i;
	json_t *e;
	out[0] = 0;
	json_array_foreach(
		json_object_get(j, list), i,
		e) if (!strcmp(json_string_value(json_object_get(e, "code")),
			       code))
		snprintf(out, cap, "%s",
			 json_string_value(json_object_get(e, "name")));
	json_decref(j);
	resp_free(&r);
}

static void setup_p2(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	h_ctl_ok(node, "home", P2, NULL);
	/* Shenzhen (440300) counts under Guangdong (440000) */
	h_ctl_ok(node, "create", "0.NA/" P2, "1:REGION=440300",
		 "100:HS_ADMIN=0.NA/" P2 "@300", NULL);
	char path[512];
	snprintf(path, sizeof(path), "%s/gear.json", node->dir);
	h_write_file(path, gear_json);
	h_ctl_ok(node, "template", "put", P2, path, NULL);
	h_ctl_ok(node, "template", "publish", P2, "gear", "1", NULL);
}

static void stats_industry_region(void **state)
{
	(void)state;
	setup_p2();
	long c_reg0, c_res0, gd_reg0, gd_res0, u_reg0, u_res0, un_reg0, un_res0;
	class_counts("industries", "C", &c_reg0, &c_res0);
	class_counts("industries", "unknown", &u_reg0, &u_res0);
	class_counts("regions", "440000", &gd_reg0, &gd_res0);
	class_counts("regions", "unknown", &un_reg0, &un_res0);

	/* registrations: 2 bound records over the control socket, 1 over
	 * REST, 1 unbound record; a failed one and a replacement count
	 * nothing */
	h_ctl_ok(node, "create", P2 "/g-1", "--template", "gear@1",
		 "1:URL=https://example.com/g/1", "2001:BATCH=A-1", NULL);
	h_ctl_ok(node, "create", P2 "/g-2", "--template", "gear@1",
		 "2001:BATCH=A-2", NULL);
	resp_t r;
	send_json(&r, "PUT", "/api/handles/" P2 "/g-3", true, GEAR_REC);
	EXPECT(&r, 201);
	resp_free(&r);
	send_json(&r, "PUT", "/api/handles/" P2 "/g-3", true, GEAR_REC);
	EXPECT(&r, 200); /* replaced: not a new registration */
	resp_free(&r);
	h_ctl_ok(node, "create", P2 "/plain", "1:URL=https://example.com/pl",
		 NULL);
	h_run_t hr;
	h_ctl(&hr, node, "create", P2 "/g-1", "--template", "gear@1",
	      "2001:BATCH=A-9", NULL);
	assert_int_not_equal(hr.status, 0); /* exists */
	h_run_free(&hr);

	/* resolutions: 5 over HTTP, 2 over UDP, 1 of the unbound record;
	 * a miss counts under no class */
	for (int i = 0; i < 5; i++) {
		get(&r, "/api/handles/" P2 "/g-1");
		EXPECT(&r, 200);
		resp_free(&r);
	}
	for (int i = 0; i < 2; i++) {
		h_net(&hr, node, "resolve", P2 "/g-2", NULL);
		h_assert_status(&hr, 0);
		h_run_free(&hr);
	}
	get(&r, "/api/handles/" P2 "/plain");
	EXPECT(&r, 200);
	resp_free(&r);
	get(&r, "/api/handles/" P2 "/missing");
	EXPECT(&r, 404);
	resp_free(&r);

	long c_reg, c_res, gd_reg, gd_res, u_reg, u_res, un_reg, un_res;
	class_counts("industries", "C", &c_reg, &c_res);
	class_counts("industries", "unknown", &u_reg, &u_res);
	class_counts("regions", "440000", &gd_reg, &gd_res);
	class_counts("regions", "unknown", &un_reg, &un_res);
	assert_int_equal(c_reg - c_reg0, 3);
	assert_int_equal(c_res - c_res0, 7);
	assert_int_equal(u_reg - u_reg0, 1);
	assert_int_equal(u_res - u_res0, 1);
	assert_int_equal(gd_reg - gd_reg0, 4);
	assert_int_equal(gd_res - gd_res0, 8);
	assert_int_equal(un_reg - un_reg0, 0);
	assert_int_equal(un_res - un_res0, 0);
	char name[128];
	name_of("industries", "C", name, sizeof(name));
	assert_string_equal(name, "制造业");
	name_of("regions", "440000", name, sizeof(name));
	assert_string_equal(name, "广东省");

	/* the main prefix has no REGION value, 88.200.7's is no GB/T 2260
	 * province (99) and 88.200.8's is too short: all unknown */
	get(&r, "/api/handles/" H_HOME "/part-1");
	resp_free(&r);
	h_ctl_ok(node, "home", "88.200.7", NULL);
	h_ctl_ok(node, "create", "0.NA/88.200.7", "1:REGION=990000", NULL);
	h_ctl_ok(node, "create", "88.200.7/x", "1:URL=https://example.com/x",
		 NULL);
	h_ctl_ok(node, "home", "88.200.8", NULL);
	h_ctl_ok(node, "create", "0.NA/88.200.8", "1:REGION=4403", NULL);
	h_ctl_ok(node, "create", "88.200.8/x", "1:URL=https://example.com/x",
		 NULL);
	class_counts("regions", "unknown", &un_reg, &un_res);
	assert_int_equal(un_res - un_res0, 1);
	/* the two records, and the two prefix handles (of prefix 0.NA) */
	assert_int_equal(un_reg - un_reg0, 4);
	class_counts("regions", "440000", &gd_reg, &gd_res);
	assert_int_equal(gd_reg - gd_reg0, 4);

	get(&r, "/metrics");
	EXPECT(&r, 200);
	char want[4][160];
	snprintf(want[0], sizeof(want[0]),
		 "idnode_registrations_by_industry_total{section=\"C\"} %ld\n",
		 c_reg);
	snprintf(want[1], sizeof(want[1]),
		 "idnode_resolutions_by_industry_total{section=\"C\"} %ld\n",
		 c_res);
	snprintf(
		want[2], sizeof(want[2]),
		"idnode_registrations_by_region_total{region=\"440000\"} %ld\n",
		gd_reg);
	snprintf(want[3], sizeof(want[3]),
		 "idnode_resolutions_by_region_total{region=\"440000\"} %ld\n",
		 gd_res);
	for (int i = 0; i < 4; i++)
		if (!strstr(r.body, want[i]))
			fail_msg("/metrics lacks '%s':\n%s", want[i], r.body);
	resp_free(&r);
}

/* ---- connections: keep-alive and the request timeout ---- */

static void keepalive_timeout(void **state)
{
	(void)state;
	int fd = connect_http();
	resp_t r;
	for (int i = 0; i < 3; i++) {
		const char *q =
			"GET /api/handles/" H_HOME "/part-1 HTTP/1.1\r\n"
			"Host: x\r\n\r\n";
		send_all(fd, q, strlen(q));
		read_resp(fd, &r);
		EXPECT(&r, 200);
		assert_int_equal(rc_of(&r), 1);
		resp_free(&r);
	}
	close(fd);
	/* a client that never finishes its request is cut off */
	fd = connect_http();
	send_all(fd, "GET /api/site HTTP/1.1\r\nHost: x\r\n", 34);
	time_t t0 = time(NULL);
	char buf[512];
	struct pollfd pf = {fd, POLLIN, 0};
	assert_true(poll(&pf, 1, 8000) == 1);
	ssize_t n = read(fd, buf, sizeof(buf));
	(void)n;
	assert_true(time(NULL) - t0 <= 6);
	close(fd);
}

/* ---- docs/http-api.md: every curl example gives its documented status ---- */

static void doc_examples(void **state)
{
	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0) {
		print_message("SKIP: /usr/bin/curl is absent\n");
		skip();
	}
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", hport);
	setenv("H", base, 1);
	setenv("T", TOKEN, 1);
	/* the REST examples' admin: Basic with its HS_SECKEY, the rights of
	 * the prefix's HS_ADMIN value */
	setenv("A", "300%3A" H_HOME "/admin:doc-admin-secret", 1);
	h_ctl_ok(node, "create", H_HOME "/admin",
		 "300,perms=c:HS_SECKEY=doc-admin-secret", NULL);
	h_ctl_ok(node, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=" H_HOME "/admin@300", NULL);
	/* the search examples' types and time ranges (docs/search.md) */
	h_ctl_ok(node, "index", "add", "EMAIL", NULL);
	h_ctl_ok(node, "index", "add", "URL", NULL);
	h_ctl_ok(node, "index", "add", "--created", NULL);
	char path[512];
	snprintf(path, sizeof(path), "%s/http-api.md", h_src("docs"));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "    curl ", 9) != 0)
			continue;
		char *hash = strrchr(line, '#');
		assert_non_null(hash);
		int want = atoi(hash + 1);
		while (hash > line && hash[-1] == ' ')
			hash--;
		*hash = 0;
		char cmd[4400];
		snprintf(cmd, sizeof(cmd),
			 "%s -s -o /dev/null -w '%%{http_code}' --max-time 20",
			 line + 4);
		const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
		h_run_t r;
		h_run(&r, 30000, argv);
		if (atoi(r.out) != want)
			fail_msg("docs/http-api.md: %s\ngave %s, documented %d",
				 line + 4, r.out, want);
		h_run_free(&r);
		n++;
	}
	fclose(f);
	print_message("%d documented examples checked\n", n);
	assert_true(n >= 30);
}

/* ---- the console in headless Chromium ---- */

static const char chromium[] = "/usr/bin/chromium";

static h_run_t run_chromium(const char *url, const char *shot, char *profile)
{
	char vt[64];
	snprintf(vt, sizeof(vt), "--virtual-time-budget=%d", 9000);
	char udd[300], ss[600] = "--dump-dom";
	snprintf(udd, sizeof(udd), "--user-data-dir=%s", profile);
	if (shot != NULL)
		snprintf(ss, sizeof(ss), "--screenshot=%s", shot);
	const char *argv[] = {chromium,
			      "--headless",
			      "--no-sandbox",
			      "--disable-gpu",
			      "--disable-background-networking",
			      "--disable-component-update",
			      "--disable-sync",
			      "--no-first-run",
			      "--disable-dev-shm-usage",
			      udd,
			      "--window-size=1280,1700",
			      vt,
			      ss,
			      url,
			      NULL};
	h_run_t r;
	h_run(&r, 120000, argv);
	return r;
}

/* Activity while the console is open: resolutions of a bound record and
 * registrations of new ones, until told to stop. */
static atomic_bool live_stop;
static atomic_int live_regs;

static void *live_activity(void *arg)
{
	(void)arg;
	for (int i = 0; !atomic_load(&live_stop); i++) {
		resp_t r;
		char path[128];
		if (i % 8 == 0) {
			snprintf(path, sizeof(path),
				 "/api/handles/" P2 "/live-%d", i);
			if (send_json(&r, "PUT", path, true, GEAR_REC) == 201)
				atomic_fetch_add(&live_regs, 1);
		} else {
			get(&r, "/api/handles/" P2 "/g-1");
		}
		resp_free(&r);
	}
	return NULL;
}

/* The dashboard chart id of the dumped DOM: drew bars, shows label, and
 * its data-trace (activity total at each update) grew while open. */
static void check_class_chart(const char *dom, const char *id,
			      const char *label)
{
	char key[64];
	snprintf(key, sizeof(key), "id=\"%s\"", id);
	const char *c = strstr(dom, key);
	if (c == NULL)
		fail_msg("no %s in the console", id);
	const char *end = strstr(c, "</svg>");
	assert_non_null(end);
	const char *bar = strstr(c, "class=\"bar\"");
	if (bar == NULL || bar > end)
		fail_msg("%s has no bars: %.600s", id, c);
	const char *lab = strstr(c, label);
	if (lab == NULL || lab > end)
		fail_msg("%s lacks '%s': %.600s", id, label, c);
	const char *tr = strstr(c, "data-trace=\"");
	assert_true(tr != NULL && tr < end);
	long first = -1, last = -1;
	int n = 0;
	for (const char *p = tr + 12; *p && *p != '"'; n++) {
		char *e;
		long v = strtol(p, &e, 10);
		if (e == p)
			fail_msg("%s: bad data-trace %.200s", id, tr);
		if (first < 0)
			first = v;
		last = v;
		p = *e == ',' ? e + 1 : e;
	}
	if (n < 2 || first <= 0 || last <= first)
		fail_msg("%s did not update with new activity: %.200s", id, tr);
	print_message("%s: %d updates, activity %ld -> %ld\n", id, n, first,
		      last);
}

static void console_chromium(void **state)
{
	(void)state;
	if (access(chromium, X_OK) != 0) {
		print_message(
			"SKIP: %s is absent (scripts/deps.sh installs it)\n",
			chromium);
		skip();
	}
	char profile[] = "/tmp/idn-chromium-XXXXXX";
	assert_non_null(mkdtemp(profile));
	resp_t r;
	for (int i = 0; i < 20; i++) { /* activity for the dashboard */
		get(&r, "/api/handles/" H_HOME "/part-1");
		resp_free(&r);
	}
	setup_p2();
	h_ctl_ok(node, "create", P2 "/g-1", "--template", "gear@1",
		 "2001:BATCH=A-1", "--overwrite", NULL);
	atomic_store(&live_stop, false);
	pthread_t live;
	assert_int_equal(pthread_create(&live, NULL, live_activity, NULL), 0);
	char url[256];
	snprintf(url, sizeof(url),
		 "http://127.0.0.1:%u/console/#resolve=" H_HOME "%%2Fpart-1",
		 hport);
	h_run_t c = run_chromium(url, NULL, profile);
	if (c.status != 0 || strstr(c.out, "record-handle") == NULL)
		fail_msg("chromium exit %d\nstdout: %.3000s\nstderr: %.3000s",
			 c.status, c.out, c.err);
	/* the record view */
	assert_non_null(
		strstr(c.out, "id=\"record-handle\">" H_HOME "/part-1<"));
	assert_non_null(strstr(c.out, "https://example.com/p/1"));
	assert_non_null(strstr(c.out, "qa@example.com"));
	/* the dashboard updated several times and drew its charts */
	const char *du = strstr(c.out, "data-updates=\"");
	assert_non_null(du);
	int updates = atoi(du + 14);
	if (updates < 2)
		fail_msg("dashboard updated %d times", updates);
	assert_non_null(strstr(c.out, "<polyline"));
	assert_non_null(strstr(c.out, "class=\"bar\""));
	assert_non_null(strstr(c.out, "data-series-length=\""));
	/* without the token the console names no identifier others
	 * resolved: the top table only says what it needs */
	const char *top = strstr(c.out, "id=\"top\"");
	assert_non_null(top);
	const char *top_end = strstr(top, "</table>");
	assert_non_null(top_end);
	const char *login = strstr(top, "id=\"top-login\"");
	const char *link = strstr(top, "#resolve=");
	if (login == NULL || login > top_end || (link && link < top_end))
		fail_msg("top table while anonymous: %.600s", top);
	/* by industry and by region, growing with the live activity */
	check_class_chart(c.out, "chart-industry", "C 制造业");
	check_class_chart(c.out, "chart-region", "广东省");
	h_run_free(&c);
	/* the screenshot, kept as a test artifact */
	char dir[512], shot[600];
	const char *b = getenv("IDN_BUILD") ? getenv("IDN_BUILD") : "build";
	snprintf(dir, sizeof(dir), "%s/artifacts", b);
	mkdir(dir, 0755);
	snprintf(shot, sizeof(shot), "%s/console.png", dir);
	unlink(shot);
	c = run_chromium(url, shot, profile);
	struct stat st;
	if (stat(shot, &st) != 0 || st.st_size < 10000)
		fail_msg("no screenshot at %s (chromium exit %d): %.2000s",
			 shot, c.status, c.err);
	print_message("console screenshot: %s (%lld bytes)\n", shot,
		      (long long)st.st_size);
	h_run_free(&c);
	atomic_store(&live_stop, true);
	pthread_join(live, NULL);
	assert_true(atomic_load(&live_regs) > 0);
	char *rm[] = {"/bin/rm", "-rf", profile, NULL};
	h_run(&c, 30000, (const char *const *)rm);
	h_run_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rest_get),
		cmocka_unit_test(rest_writes_need_auth),
		cmocka_unit_test(rest_writes),
		cmocka_unit_test(rest_utf8),
		cmocka_unit_test(rest_bad_input),
		cmocka_unit_test(listings),
		cmocka_unit_test(hdl_message),
		cmocka_unit_test(mgmt),
		cmocka_unit_test(proxy),
		cmocka_unit_test(stats_metrics),
		cmocka_unit_test(stats_industry_region),
		cmocka_unit_test(keepalive_timeout),
		cmocka_unit_test(doc_examples),
		cmocka_unit_test(console_chromium),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
