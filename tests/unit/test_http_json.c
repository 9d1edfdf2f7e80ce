/* Tests of the HTTP plane's JSON and request text (src/http/http_json.c,
 * the request helpers of src/http/http.c): values written as handle.net
 * JSON (through jansson and the direct writer, which must agree byte for
 * byte), values parsed back with every refusal naming its cause, HS_SITE
 * as JSON, times, percent-decoding and query strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http_int.h"

#define T0 1700000000u /* 2023-11-14T22:13:20Z */

static idn_arena_t arena;

static int setup(void **state)
{
	(void)state;
	idn_arena_init(&arena, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	idn_arena_free(&arena);
	return 0;
}

static idn_value_t val(uint32_t index, const char *type, const void *data,
		       size_t len)
{
	idn_value_t v = {index,
			 T0,
			 IDN_TTL_RELATIVE,
			 IDN_TTL_DEFAULT,
			 IDN_PERM_DEFAULT,
			 idn_bytes_str(type),
			 idn_bytes(data, len),
			 0,
			 NULL};
	return v;
}

/* The direct writer's text of one value, checked against jansson's. */
static const char *text_of(const idn_value_t *v)
{
	size_t len = 0;
	char *got = http_values_text(v, 1, NULL, &arena, &len);
	assert_non_null(got);
	json_t *arr = json_array();
	json_array_append_new(arr, http_value_json(v, &arena));
	char *want = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (len != strlen(want) || memcmp(got, want, len) != 0)
		fail_msg("direct writer differs:\n%.*s\n%s", (int)len, got,
			 want);
	free(want);
	/* without the brackets, as the tests below spell one value */
	char *one = idn_arena_alloc(&arena, len);
	memcpy(one, got + 1, len - 2);
	one[len - 2] = 0;
	return one;
}

static uint8_t *admin_data(uint16_t perms, const char *who, uint32_t index,
			   size_t *len)
{
	uint8_t *buf = idn_arena_alloc(&arena, 64);
	idn_wr_t w;
	idn_wr_init(&w, buf, 64);
	idn_hs_admin_t a = {perms, idn_bytes_str(who), index};
	idn_hs_admin_encode(&w, &a);
	assert_int_equal(w.err, 0);
	*len = w.len;
	return buf;
}

/* ---- values as JSON ---- */

static void value_text_formats(void **state)
{
	(void)state;
	idn_value_t v = val(1, "URL", "https://example.com/a", 21);
	assert_string_equal(
		text_of(&v),
		"{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":\"string\","
		"\"value\":\"https://example.com/a\"},\"ttl\":86400,"
		"\"timestamp\":\"2023-11-14T22:13:20Z\",\"permissions\":\"rwr-\"}");
	/* tab and newline are text, escaped; a carriage return is not */
	v = val(2, "DESC", "a\tb\n\"q\"", 7);
	assert_non_null(strstr(text_of(&v), "{\"format\":\"string\",\"value\":"
					    "\"a\\tb\\n\\\"q\\\"\"}"));
	v = val(3, "BIN", "a\rb", 3);
	assert_non_null(strstr(text_of(&v),
			       "{\"format\":\"base64\",\"value\":\"YQ1i\"}"));
	static const uint8_t bin[] = {0x00, 0xff, 0x10};
	v = val(4, "BIN", bin, 3);
	assert_non_null(strstr(text_of(&v),
			       "{\"format\":\"base64\",\"value\":\"AP8Q\"}"));
	/* invalid UTF-8 is not text either */
	v = val(5, "BIN", "\xc3\x28", 2);
	assert_non_null(strstr(text_of(&v), "\"format\":\"base64\""));
	size_t alen;
	uint8_t *ad = admin_data(0xff2, "0.NA/88.1", 300, &alen);
	v = val(100, "HS_ADMIN", ad, alen);
	assert_non_null(strstr(
		text_of(&v),
		"\"data\":{\"format\":\"admin\",\"value\":{\"handle\":"
		"\"0.NA/88.1\",\"index\":300,\"permissions\":\"111111110010\"}}"));
	v = val(300, "HS_PUBKEY", bin, 3);
	assert_non_null(
		strstr(text_of(&v), "{\"format\":\"key\",\"value\":\"AP8Q\"}"));
	/* an HS_ADMIN that does not decode is shown as its bytes */
	v = val(101, "HS_ADMIN", bin, 3);
	assert_non_null(strstr(text_of(&v), "\"format\":\"base64\""));
}

static void value_text_fields(void **state)
{
	(void)state;
	idn_ref_t refs[2] = {{idn_bytes_str("88.1/r"), 7},
			     {idn_bytes_str("88.1/s"), 0}};
	idn_value_t v = val(9, "X", "y", 1);
	v.ttl_type = IDN_TTL_ABSOLUTE;
	v.ttl = 60;
	v.perms = IDN_PERM_ADMIN_READ | IDN_PERM_PUBLIC_WRITE;
	v.timestamp = 0;
	v.nrefs = 2;
	v.refs = refs;
	assert_string_equal(
		text_of(&v),
		"{\"index\":9,\"type\":\"X\",\"data\":{\"format\":\"string\","
		"\"value\":\"y\"},\"ttl\":60,\"ttlType\":\"absolute\","
		"\"timestamp\":\"1970-01-01T00:00:00Z\",\"permissions\":\"r--w\","
		"\"references\":[{\"handle\":\"88.1/r\",\"index\":7},"
		"{\"handle\":\"88.1/s\",\"index\":0}]}");
}

static void values_text_wrapped(void **state)
{
	(void)state;
	idn_value_t v[2] = {val(1, "URL", "u", 1), val(2, "EMAIL", "e", 1)};
	size_t len = 0;
	char *t = http_values_text(v, 2, "88.1/\"x\"", &arena, &len);
	assert_non_null(t);
	assert_int_equal(len, strlen(t) < len ? len : strlen(t));
	assert_true(len > 40);
	assert_memory_equal(t,
			    "{\"responseCode\":1,\"handle\":\"88.1/\\\"x\\\"\","
			    "\"values\":[{\"index\":1,",
			    60);
	assert_memory_equal(t + len - 2, "]}", 2);
	/* no values: an empty array */
	t = http_values_text(v, 0, NULL, &arena, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(t, "[]", 2);
}

static void vlist_and_site_json(void **state)
{
	(void)state;
	idn_ref_t refs[1] = {{idn_bytes_str("88.1/admins"), 200}};
	idn_hs_vlist_t vl = {1, refs};
	uint8_t buf[512];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_vlist_encode(&w, &vl);
	idn_value_t v = val(200, "HS_VLIST", buf, w.len);
	assert_non_null(strstr(text_of(&v),
			       "{\"format\":\"vlist\",\"value\":[{\"handle\":"
			       "\"88.1/admins\",\"index\":200}]}"));

	idn_hs_iface_t ifs[2] = {{IDN_IF_BOTH, IDN_PROTO_TCP, 2641},
				 {IDN_IF_QUERY, IDN_PROTO_HTTP, 8000}};
	static const uint8_t key[] = {1, 2, 3};
	idn_hs_server_t sv[2] = {
		{1,
		 {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1},
		 idn_bytes(key, 3),
		 2,
		 ifs},
		{2,
		 {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		 idn_bytes(NULL, 0),
		 1,
		 ifs + 1}};
	idn_hs_attr_t at = {idn_bytes_str("desc"), idn_bytes_str("test site")};
	idn_hs_site_t site = {1,
			      2,
			      10,
			      3,
			      IDN_SITE_PRIMARY,
			      IDN_HASH_WHOLE,
			      idn_bytes(NULL, 0),
			      1,
			      &at,
			      2,
			      sv};
	json_t *j = http_site_json(&site);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	static const char want[] =
		"{\"version\":1,\"protocolVersion\":\"2.10\",\"serialNumber\":3,"
		"\"primaryMask\":128,\"hashOption\":2,\"hashFilter\":\"\","
		"\"attributes\":[{\"name\":\"desc\",\"value\":\"test site\"}],"
		"\"servers\":[{\"serverId\":1,\"address\":\"127.0.0.1\","
		"\"publicKey\":{\"format\":\"base64\",\"value\":\"AQID\"},"
		"\"interfaces\":[{\"query\":true,\"admin\":true,\"protocol\":"
		"\"TCP\",\"port\":2641},{\"query\":true,\"admin\":false,"
		"\"protocol\":\"HTTP\",\"port\":8000}]},{\"serverId\":2,"
		"\"address\":\"2001:db8:0:0:0:0:0:1\",\"interfaces\":[{\"query\":"
		"true,\"admin\":false,\"protocol\":\"HTTP\",\"port\":8000}]}]}";
	assert_string_equal(s, want);
	free(s);
	/* an HS_SITE value goes through the same JSON */
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_site_encode(&w, &site);
	assert_int_equal(w.err, 0);
	v = val(1, "HS_SITE", buf, w.len);
	assert_non_null(strstr(text_of(&v), "\"format\":\"site\",\"value\":"
					    "{\"version\":1,"));
}

static void fmt_time(void **state)
{
	(void)state;
	char ts[32];
	http_fmt_time(T0, ts, sizeof(ts));
	assert_string_equal(ts, "2023-11-14T22:13:20Z");
	http_fmt_time(0, ts, sizeof(ts));
	assert_string_equal(ts, "1970-01-01T00:00:00Z");
	http_fmt_time(0xffffffffu, ts, sizeof(ts));
	assert_string_equal(ts, "2106-02-07T06:28:15Z");
}

/* ---- values parsed from JSON ---- */

/* JSON documents parsed by the tests: parsed values point into their
 * strings, so they live until teardown. */
static json_t *keep;

static int parse(const char *text, idn_value_t *v, char *err, size_t cap)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		fail_msg("test JSON %s: %s", text, e.text);
	json_array_append_new(keep, j);
	return http_value_parse(j, v, &arena, err, cap);
}

static idn_value_t parse_ok(const char *text)
{
	idn_value_t v;
	char err[256];
	if (parse(text, &v, err, sizeof(err)) != 0)
		fail_msg("%s refused: %s", text, err);
	return v;
}

#define assert_bytes(b, want, n)                                               \
	do {                                                                   \
		assert_int_equal((b).len, (n));                                \
		assert_memory_equal((b).p, (want), (n));                       \
	} while (0)

static void value_parse_forms(void **state)
{
	(void)state;
	idn_value_t v = parse_ok(
		"{\"index\":1,\"type\":\"URL\",\"data\":\"https://x\"}");
	assert_int_equal(v.index, 1);
	assert_bytes(v.type, "URL", 3);
	assert_bytes(v.data, "https://x", 9);
	assert_int_equal(v.ttl, IDN_TTL_DEFAULT);
	assert_int_equal(v.ttl_type, IDN_TTL_RELATIVE);
	assert_int_equal(v.perms, IDN_PERM_DEFAULT);
	assert_int_equal(v.nrefs, 0);
	static const uint8_t bin[] = {0x00, 0xff, 0x10};
	v = parse_ok("{\"index\":2,\"type\":\"B\",\"data\":{\"format\":\"hex\","
		     "\"value\":\"00fF10\"}}");
	assert_bytes(v.data, bin, 3);
	v = parse_ok("{\"index\":2,\"type\":\"B\",\"data\":{\"format\":"
		     "\"base64\",\"value\":\"AP8Q\"}}");
	assert_bytes(v.data, bin, 3);
	v = parse_ok("{\"index\":2,\"type\":\"B\",\"data\":{\"format\":"
		     "\"base64\",\"value\":\"AP8=\"}}");
	assert_bytes(v.data, bin, 2);
	v = parse_ok("{\"index\":2,\"type\":\"B\",\"data\":{\"value\":\"t\"}}");
	assert_bytes(v.data, "t", 1); /* format defaults to string */
	v = parse_ok(
		"{\"index\":100,\"type\":\"HS_ADMIN\",\"data\":{\"format\":"
		"\"admin\",\"value\":{\"handle\":\"0.NA/88.1\",\"index\":"
		"300,\"permissions\":\"111111110010\"}}}");
	idn_hs_admin_t adm;
	assert_int_equal(idn_hs_admin_decode(v.data, &adm), 0);
	assert_int_equal(adm.perms, 0xff2);
	assert_int_equal(adm.index, 300);
	assert_bytes(adm.admin, "0.NA/88.1", 9);
	v = parse_ok(
		"{\"index\":100,\"type\":\"HS_ADMIN\",\"data\":{\"format\":"
		"\"admin\",\"value\":{\"handle\":\"0.NA/88.1\",\"index\":"
		"300}}}");
	assert_int_equal(idn_hs_admin_decode(v.data, &adm), 0);
	assert_int_equal(adm.perms, IDN_ADM_ALL);
	v = parse_ok(
		"{\"index\":3,\"type\":\"HS_VLIST\",\"data\":{\"format\":"
		"\"vlist\",\"value\":[{\"handle\":\"88.1/a\",\"index\":300},"
		"{\"handle\":\"88.1/b\",\"index\":301}]}}");
	idn_hs_vlist_t vl;
	assert_int_equal(idn_hs_vlist_decode(v.data, &arena, &vl), 0);
	assert_int_equal(vl.n, 2);
	assert_bytes(vl.refs[1].id, "88.1/b", 6);
	assert_int_equal(vl.refs[1].index, 301);
	v = parse_ok("{\"index\":4,\"type\":\"X\",\"data\":\"y\",\"ttl\":60,"
		     "\"ttlType\":\"absolute\",\"permissions\":\"rw--\","
		     "\"timestamp\":\"ignored\",\"references\":[{\"handle\":"
		     "\"88.1/r\",\"index\":7}]}");
	assert_int_equal(v.ttl, 60);
	assert_int_equal(v.ttl_type, IDN_TTL_ABSOLUTE);
	assert_int_equal(v.perms, IDN_PERM_ADMIN_READ | IDN_PERM_ADMIN_WRITE);
	assert_int_equal(v.nrefs, 1);
	assert_bytes(v.refs[0].id, "88.1/r", 6);
	assert_int_equal(v.refs[0].index, 7);
	v = parse_ok("{\"index\":4294967295,\"type\":\"X\",\"data\":\"\","
		     "\"ttlType\":\"relative\",\"permissions\":\"----\"}");
	assert_int_equal(v.index, 0xffffffffu);
	assert_int_equal(v.perms, 0);
	assert_int_equal(v.data.len, 0);
}

static void value_parse_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *json, *err;
	} cases[] = {
		{"[]", "a value must be an object"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"colour\":1}",
		 "unknown field 'colour' in value"},
		{"{\"type\":\"U\",\"data\":\"x\"}", "needs an integer index"},
		{"{\"index\":-1,\"type\":\"U\",\"data\":\"x\"}",
		 "needs an integer index"},
		{"{\"index\":4294967296,\"type\":\"U\",\"data\":\"x\"}",
		 "needs an integer index"},
		{"{\"index\":\"1\",\"type\":\"U\",\"data\":\"x\"}",
		 "needs an integer index"},
		{"{\"index\":1,\"data\":\"x\"}", "value 1 needs a type"},
		{"{\"index\":1,\"type\":\"\",\"data\":\"x\"}",
		 "value 1 needs a type"},
		{"{\"index\":1,\"type\":\"U\"}", "value 1 needs data"},
		{"{\"index\":1,\"type\":\"U\",\"data\":5}",
		 "data must be a string or {\"format\",\"value\"}"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"value\":\"x\","
		 "\"extra\":1}}",
		 "unknown field 'extra' in data"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"hex\"}}",
		 "data needs a value and a string format"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"hex\","
		 "\"value\":\"0g\"}}",
		 "data.value is not valid hex"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"hex\","
		 "\"value\":\"abc\"}}",
		 "data.value is not valid hex"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"base64\","
		 "\"value\":\"AP8\"}}",
		 "data.value is not valid base64"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"base64\","
		 "\"value\":\"A=P8\"}}",
		 "data.value is not valid base64"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"rot13\","
		 "\"value\":\"x\"}}",
		 "unknown data format 'rot13'"},
		{"{\"index\":1,\"type\":\"U\",\"data\":{\"format\":\"string\","
		 "\"value\":1}}",
		 "data.value of format string must be a string"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"ttl\":-1}",
		 "value 1: ttl must be an integer"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"ttl\":\"60\"}",
		 "value 1: ttl must be an integer"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"ttlType\":"
		 "\"sometimes\"}",
		 "ttlType is relative or absolute"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"permissions\":"
		 "\"rwrx\"}",
		 "permissions look like \"rwr-\""},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"permissions\":"
		 "\"rw\"}",
		 "permissions look like \"rwr-\""},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"references\":{}}",
		 "references must be an array"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"references\":"
		 "[{\"handle\":\"a\"}]}",
		 "a reference is {\"handle\",\"index\"}"},
		{"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"references\":"
		 "[{\"handle\":\"a\",\"index\":1,\"x\":2}]}",
		 "a reference is {\"handle\",\"index\"}"},
		{"{\"index\":1,\"type\":\"HS_ADMIN\",\"data\":{\"format\":"
		 "\"admin\",\"value\":{\"handle\":\"0.NA/1\"}}}",
		 "admin value must be"},
		{"{\"index\":1,\"type\":\"HS_ADMIN\",\"data\":{\"format\":"
		 "\"admin\",\"value\":{\"handle\":\"0.NA/1\",\"index\":1,"
		 "\"permissions\":\"12\"}}}",
		 "admin value must be"},
		{"{\"index\":1,\"type\":\"HS_ADMIN\",\"data\":{\"format\":"
		 "\"admin\",\"value\":{\"handle\":\"0.NA/1\",\"index\":1,"
		 "\"who\":1}}}",
		 "unknown field 'who' in admin value"},
		{"{\"index\":1,\"type\":\"HS_VLIST\",\"data\":{\"format\":"
		 "\"vlist\",\"value\":{}}}",
		 "vlist value must be an array"},
		{"{\"index\":1,\"type\":\"HS_VLIST\",\"data\":{\"format\":"
		 "\"vlist\",\"value\":[{\"handle\":\"a\",\"index\":-1}]}}",
		 "vlist value must be an array"},
		/* the shape is JSON-valid but the value is not an HS_ADMIN */
		{"{\"index\":1,\"type\":\"HS_ADMIN\",\"data\":\"garbage\"}",
		 "value 1 (HS_ADMIN): "},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		idn_value_t v;
		char err[256];
		if (parse(cases[i].json, &v, err, sizeof(err)) != -1 ||
		    strstr(err, cases[i].err) == NULL)
			fail_msg("%s: got '%s', wanted '%s'", cases[i].json,
				 err, cases[i].err);
	}
}

static void values_parse(void **state)
{
	(void)state;
	idn_value_t *v;
	uint32_t n = 99;
	char err[256];
	json_t *j = json_object();
	assert_int_equal(http_values_parse(j, &v, &n, &arena, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "values must be an array");
	json_decref(j);
	j = json_array();
	assert_int_equal(http_values_parse(j, &v, &n, &arena, err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
	json_array_append_new(j, json_pack("{s:i,s:s,s:s}", "index", 1, "type",
					   "URL", "data", "u"));
	json_array_append_new(
		j, json_pack("{s:i,s:s}", "index", 2, "type", "URL"));
	assert_int_equal(http_values_parse(j, &v, &n, &arena, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "value 2 needs data");
	json_array_remove(j, 1);
	assert_int_equal(http_values_parse(j, &v, &n, &arena, err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_bytes(v[0].data, "u", 1);
	for (int i = 0; i < IDN_VALUES_MAX; i++)
		json_array_append_new(j,
				      json_pack("{s:i,s:s,s:s}", "index", i + 2,
						"type", "U", "data", "x"));
	assert_int_equal(http_values_parse(j, &v, &n, &arena, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "more than 2048 values"));
	json_decref(j);
}

/* Every value written as JSON parses back to itself. */
static void values_round_trip(void **state)
{
	(void)state;
	size_t alen;
	uint8_t *ad = admin_data(0x0f3, "0.NA/88.1", 300, &alen);
	static const uint8_t bin[] = {0x00, 0xff, 0x10, 0x80};
	idn_ref_t ref = {idn_bytes_str("88.1/r"), 1};
	idn_value_t vs[] = {val(1, "URL", "https://x/\xe4\xb8\xad", 13),
			    val(2, "BIN", bin, 4),
			    val(100, "HS_ADMIN", ad, alen),
			    val(3, "EMPTY", "", 0)};
	vs[1].perms = IDN_PERM_PUBLIC_READ;
	vs[1].ttl_type = IDN_TTL_ABSOLUTE;
	vs[3].nrefs = 1;
	vs[3].refs = &ref;
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		json_t *j = http_value_json(&vs[i], &arena);
		json_array_append_new(keep, j);
		idn_value_t back;
		char err[256];
		if (http_value_parse(j, &back, &arena, err, sizeof(err)) != 0)
			fail_msg("value %u: %s", vs[i].index, err);
		assert_int_equal(back.index, vs[i].index);
		assert_int_equal(back.perms, vs[i].perms);
		assert_int_equal(back.ttl, vs[i].ttl);
		assert_int_equal(back.ttl_type, vs[i].ttl_type);
		assert_int_equal(back.nrefs, vs[i].nrefs);
		assert_true(idn_bytes_eq(back.type, vs[i].type));
		assert_true(idn_bytes_eq(back.data, vs[i].data));
	}
}

/* ---- request text (http.c) ---- */

static void pct_decode(void **state)
{
	(void)state;
	h2o_mem_pool_t pool;
	h2o_mem_init_pool(&pool);
	size_t n = 0;
	char *o = http_pct_decode(&pool, "88.1%2Fa+b%e9%9b%b6", 19, false, &n);
	assert_string_equal(o, "88.1/a+b\xe9\x9b\xb6");
	assert_int_equal(n, 11);
	o = http_pct_decode(&pool, "a+b", 3, true, &n);
	assert_string_equal(o, "a b");
	o = http_pct_decode(&pool, "", 0, true, &n);
	assert_string_equal(o, "");
	assert_int_equal(n, 0);
	/* only the first len bytes */
	o = http_pct_decode(&pool, "abc%41", 3, false, &n);
	assert_string_equal(o, "abc");
	static const char *const bad[] = {"%",	 "%4",	"a%4",	"%zz",
					  "%4g", "%00", "x%00y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_pct_decode(&pool, bad[i], strlen(bad[i]), true,
				    NULL) != NULL)
			fail_msg("'%s' decoded", bad[i]);
	/* a raw NUL inside the length is refused too */
	assert_null(http_pct_decode(&pool, "a\0b", 3, false, NULL));
	h2o_mem_clear_pool(&pool);
}

static void query_string(void **state)
{
	(void)state;
	h2o_req_t req;
	memset(&req, 0, sizeof(req));
	h2o_mem_init_pool(&req.pool);
	hreq_t r;
	memset(&r, 0, sizeof(r));
	r.req = &req;
	const char *q = "type=URL&index=1&&b=&c&pretty&off=false&zero=0&"
			"type=EMAIL&sp=a+b%26c";
	assert_int_equal(http_parse_query(&r, q, strlen(q)), 0);
	assert_int_equal(r.nq, 9); /* the empty pair is skipped */
	assert_string_equal(http_q(&r, "type"), "URL"); /* the first */
	assert_string_equal(r.qv[7], "EMAIL");
	assert_string_equal(http_q(&r, "b"), "");
	assert_string_equal(http_q(&r, "c"), "");
	assert_string_equal(http_q(&r, "sp"), "a b&c");
	assert_null(http_q(&r, "absent"));
	assert_true(http_q_flag(&r, "pretty"));
	assert_true(http_q_flag(&r, "index"));
	assert_false(http_q_flag(&r, "off"));
	assert_false(http_q_flag(&r, "zero"));
	assert_false(http_q_flag(&r, "absent"));
	/* a malformed escape anywhere refuses the whole string */
	memset(&r, 0, sizeof(r));
	r.req = &req;
	assert_int_equal(http_parse_query(&r, "a=1&b=%zz", 9), -1);
	/* more pairs than kept */
	char many[HTTP_Q_MAX * 4 + 8];
	size_t len = 0;
	for (int i = 0; i <= HTTP_Q_MAX; i++)
		len += (size_t)sprintf(many + len, "%sk", i ? "&" : "");
	memset(&r, 0, sizeof(r));
	r.req = &req;
	assert_int_equal(http_parse_query(&r, many, len), -1);
	memset(&r, 0, sizeof(r));
	r.req = &req;
	assert_int_equal(http_parse_query(&r, many, len - 2), 0);
	assert_int_equal(r.nq, HTTP_Q_MAX);
	h2o_mem_clear_pool(&req.pool);
}

static int setup_all(void **state)
{
	keep = json_array();
	return setup(state);
}

static int teardown_all(void **state)
{
	json_decref(keep);
	return teardown(state);
}

/* A value's ttl as ISO 8601 text (http_ttl_iso): a duration is relative
 * seconds, a time with a zone an absolute expiry. */
static void ttl_iso(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int kind;
		uint32_t ttl;
	} cases[] = {
		{"PT1H", IDN_TTL_RELATIVE, 3600},
		{"PT10M", IDN_TTL_RELATIVE, 600},
		{"P1DT12H30M5S", IDN_TTL_RELATIVE, 131405},
		{"P2D", IDN_TTL_RELATIVE, 172800},
		{"2030-01-01T00:00:00Z", IDN_TTL_ABSOLUTE, 1893456000},
		{"2030-01-01T08:00:00+08:00", IDN_TTL_ABSOLUTE, 1893456000},
		{"2030-01-01T00:00:00.250Z", IDN_TTL_ABSOLUTE, 1893456000},
		{"2029-12-31T19:00:00-05:00", IDN_TTL_ABSOLUTE, 1893456000},
		{"P", -1, 0},
		{"PT", -1, 0},
		{"P1Y", -1, 0}, /* a year has no fixed length */
		{"P1H", -1, 0}, /* hours belong after T */
		{"PT-1S", -1, 0},
		{"2030-01-01T00:00:00", -1, 0}, /* no zone */
		{"2030-01-01", -1, 0},
		{"soon", -1, 0},
		{"", -1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t ttl = 0;
		int kind = http_ttl_iso(cases[i].in, &ttl);
		if (kind != cases[i].kind || (kind >= 0 && ttl != cases[i].ttl))
			fail_msg("%s: kind %d ttl %u, want %d %u", cases[i].in,
				 kind, ttl, cases[i].kind, cases[i].ttl);
	}
	idn_value_t v = parse_ok("{\"index\":1,\"type\":\"U\",\"data\":\"x\","
				 "\"ttl\":\"2030-01-01T00:00:00Z\"}");
	assert_int_equal(v.ttl_type, IDN_TTL_ABSOLUTE);
	assert_int_equal(v.ttl, 1893456000);
	v = parse_ok(
		"{\"index\":1,\"type\":\"U\",\"data\":\"x\",\"ttl\":\"PT5M\"}");
	assert_int_equal(v.ttl_type, IDN_TTL_RELATIVE);
	assert_int_equal(v.ttl, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(value_text_formats),
		cmocka_unit_test(value_text_fields),
		cmocka_unit_test(values_text_wrapped),
		cmocka_unit_test(vlist_and_site_json),
		cmocka_unit_test(fmt_time),
		cmocka_unit_test(value_parse_forms),
		cmocka_unit_test(value_parse_refusals),
		cmocka_unit_test(values_parse),
		cmocka_unit_test(values_round_trip),
		cmocka_unit_test(pct_decode),
		cmocka_unit_test(query_string),
		cmocka_unit_test(ttl_iso),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
