/* Fuzz target: the HTTP request parsers of idnode (src/http/http.c,
 * http_json.c). The input is a request target, a newline, and a body:
 *
 *   /api/handles/88.118.8%2Fx?type=URL&index=1\n{"values":[...]}
 *
 * The target's path goes through the percent-decoder the server uses for
 * paths and its query through the query-string parser; the body is parsed
 * as the REST and management APIs parse JSON bodies (jansson, duplicates
 * rejected) and its "values" (or the body itself when it is an array)
 * through the value parser. Checked: decoded text never contains NUL and
 * is no longer than its input; re-encoding a decoded string gives it back;
 * the path guards agree with the decoder and a redirect target is
 * printable ASCII or refused (check_path_guards);
 * every value that parses, written out as the API shows values and parsed
 * again, is the same value; and the direct JSON writer of the GET path
 * (http_values_text) writes exactly what jansson writes. The target line
 * is also parsed as the parameters of an Authorization: Handle header
 * (every field a string no longer than the line) and as an ISO 8601 TTL. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decoded(h2o_mem_pool_t *pool, const char *s, size_t len,
			  bool plus_space)
{
	size_t n = 0;
	char *o = http_pct_decode(pool, s, len, plus_space, &n);
	if (o == NULL)
		return;
	if (n > len || strlen(o) != n)
		abort();
	/* every byte escaped, then decoded again: the same bytes */
	char *enc = malloc(3 * n + 1);
	if (enc == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		snprintf(enc + 3 * i, 4, "%%%02X", (unsigned char)o[i]);
	size_t n2 = 0;
	char *o2 = http_pct_decode(pool, enc, 3 * n, plus_space, &n2);
	if (o2 == NULL || n2 != n || memcmp(o, o2, n) != 0)
		abort();
	free(enc);
}

/* The path checks of http_sec.c: a path accepted holds no control byte
 * and no NUL once decoded; the decoded path taken as a redirect target is
 * refused exactly when it holds a control byte, and otherwise comes out
 * as printable ASCII only. */
static void check_path_guards(h2o_mem_pool_t *pool, const char *s, size_t len)
{
	size_t n = 0;
	char *d = http_pct_decode(pool, s, len, false, &n);
	bool ok = http_raw_path_valid(pool, s, len);
	if (d == NULL) {
		if (ok)
			abort();
		return;
	}
	bool ctl = false;
	for (size_t i = 0; i < n; i++)
		ctl |= (unsigned char)d[i] < 0x20 ||
		       (unsigned char)d[i] == 0x7f;
	if (ok != http_bytes_valid(d, n) || (ok && ctl))
		abort();
	const char *loc = http_location(pool, d, n);
	if ((loc == NULL) != ctl)
		abort();
	for (const char *p = loc; p != NULL && *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

static void check_target(const char *s, size_t len)
{
	h2o_req_t req;
	memset(&req, 0, sizeof(req));
	h2o_mem_init_pool(&req.pool);
	const char *q = memchr(s, '?', len);
	size_t plen = q ? (size_t)(q - s) : len;
	check_decoded(&req.pool, s, plen, false);
	check_path_guards(&req.pool, s, plen);
	if (q != NULL) {
		hreq_t r;
		memset(&r, 0, sizeof(r));
		r.req = &req;
		size_t qlen = len - plen - 1;
		int rc = http_parse_query(&r, q + 1, qlen);
		if (rc != 0 && rc != -1)
			abort();
		if (rc == 0) {
			if (r.nq < 0 || r.nq > HTTP_Q_MAX)
				abort();
			for (int i = 0; i < r.nq; i++) {
				if (r.qk[i] == NULL || r.qv[i] == NULL ||
				    strlen(r.qk[i]) + strlen(r.qv[i]) > qlen)
					abort();
				/* lookups find the first pair of a name */
				const char *v = http_q(&r, r.qk[i]);
				if (v == NULL)
					abort();
			}
		}
		check_decoded(&req.pool, q + 1, qlen, true);
	}
	h2o_mem_clear_pool(&req.pool);
}

static bool same_value(const idn_value_t *a, const idn_value_t *b)
{
	if (a->index != b->index || a->ttl != b->ttl ||
	    a->ttl_type != b->ttl_type || a->perms != b->perms ||
	    a->nrefs != b->nrefs || !idn_bytes_eq(a->type, b->type) ||
	    !idn_bytes_eq(a->data, b->data))
		return false;
	for (uint32_t i = 0; i < a->nrefs; i++)
		if (a->refs[i].index != b->refs[i].index ||
		    !idn_bytes_eq(a->refs[i].id, b->refs[i].id))
			return false;
	return true;
}

static void check_values(json_t *arr)
{
	idn_arena_t a;
	idn_arena_init(&a, 4096);
	idn_value_t *v = NULL;
	uint32_t n = 0;
	char err[256];
	err[0] = 0;
	if (http_values_parse(arr, &v, &n, &a, err, sizeof(err)) != 0) {
		if (err[0] == 0)
			abort(); /* every refusal says why */
		idn_arena_free(&a);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		json_t *j = http_value_json(&v[i], &a);
		char *text = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (text == NULL)
			abort();
		json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		idn_value_t v2;
		if (back == NULL ||
		    http_value_parse(back, &v2, &a, err, sizeof(err)) != 0 ||
		    !same_value(&v[i], &v2)) {
			fprintf(stderr, "value %u does not survive: %s (%s)\n",
				v[i].index, text, err);
			abort();
		}
		json_decref(back);
		free(text);
	}
	/* the direct writer of the GET path: the same bytes as jansson */
	json_t *arr2 = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(arr2, http_value_json(&v[i], &a));
	char *want = json_dumps(arr2, JSON_COMPACT);
	json_decref(arr2);
	size_t len = 0;
	char *got = http_values_text(v, n, NULL, &a, &len);
	if (want == NULL || got == NULL || len != strlen(want) ||
	    memcmp(got, want, len) != 0) {
		fprintf(stderr, "direct JSON differs:\n%s\n%.*s\n", want,
			(int)len, got ? got : "");
		abort();
	}
	free(want);
	idn_arena_free(&a);
}

static void check_body(const char *s, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		return;
	if (json_is_array(j))
		check_values(j);
	else if (json_is_object(j) && json_object_get(j, "values"))
		check_values(json_object_get(j, "values"));
	json_decref(j);
}

/* The handle.net authentication header and an ISO 8601 TTL. */
static void check_auth_header(const char *s, size_t len)
{
	h2o_mem_pool_t pool;
	h2o_mem_init_pool(&pool);
	http_hauth_t h = {0};
	if (http_auth_parse(&pool, s, len, &h) == 0) {
		const char *f[] = {h.version, h.session, h.id,	h.cnonce,
				   h.type,    h.alg,	 h.sig, h.salt,
				   h.iter,    h.length};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (f[i] != NULL && strlen(f[i]) > len)
				abort();
	}
	h2o_mem_clear_pool(&pool);
	char *z = strndup(s, len);
	uint32_t ttl;
	int kind = z ? http_ttl_iso(z, &ttl) : -1;
	if (kind != -1 && kind != IDN_TTL_RELATIVE && kind != IDN_TTL_ABSOLUTE)
		abort();
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t tlen = nl ? (size_t)(nl - s) : size;
	check_target(s, tlen);
	check_auth_header(s, tlen);
	if (nl != NULL)
		check_body(nl + 1, size - tlen - 1);
	return 0;
}
