/* Resolution end to end: identifiers created with idctl come back over UDP,
 * TCP and the control socket with every field intact; filters; public and
 * non-public values; UDP fragmentation and the UDP reply limit; TCP keep-alive
 * and pipelining. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "harness.h"
#include "value.h"

#define FULL H_HOME "/e2e-full"
#define FILTER H_HOME "/e2e-filter"
#define HIDDEN H_HOME "/e2e-hidden"
#define BIG H_HOME "/e2e-big"

/* "标识 ünïcode" */
#define UTF_TEXT                                                               \
	"\xe6\xa0\x87\xe8\xaf\x86 \xc3\xbc"                                    \
	"n\xc3\xaf"                                                            \
	"code"

/* What a value of FULL must look like. */
typedef struct {
	uint32_t index;
	const char *spec; /* for idctl create */
	const char *type;
	const char *data; /* NULL: see below */
	uint8_t ttl_type;
	uint32_t ttl;
	uint8_t perms;
	const char *perm_str;
	int nrefs;
	const char *ref_id[2];
	uint32_t ref_index[2];
	const char *json_format, *json_value;
} want_t;

static const want_t full[] = {
	{1,
	 "1:URL=https://example.com/p/1",
	 "URL",
	 "https://example.com/p/1",
	 0,
	 86400,
	 0xe,
	 "rwr-",
	 0,
	 {0},
	 {0},
	 "string",
	 "https://example.com/p/1"},
	{2,
	 "2,ttl=3600,perms=e,ref=" H_HOME "/y@1,ref=" H_HOME
	 "/z@7:EMAIL=qa@example.com",
	 "EMAIL",
	 "qa@example.com",
	 0,
	 3600,
	 0xe,
	 "rwr-",
	 2,
	 {H_HOME "/y", H_HOME "/z"},
	 {1, 7},
	 "string",
	 "qa@example.com"},
	{3,
	 "3,ttl=1900000000,abs:DESC=absolute expiry",
	 "DESC",
	 "absolute expiry",
	 1,
	 1900000000u,
	 0xe,
	 "rwr-",
	 0,
	 {0},
	 {0},
	 "string",
	 "absolute expiry"},
	{4,
	 "4,perms=f:BIN=hex:00ff10",
	 "BIN",
	 "\x00\xff\x10",
	 0,
	 86400,
	 0xf,
	 "rwrw",
	 0,
	 {0},
	 {0},
	 "base64",
	 "AP8Q"},
	{5,
	 "5,perms=a,ttl=0:UTF=" UTF_TEXT,
	 "UTF",
	 UTF_TEXT,
	 0,
	 0,
	 0xa,
	 "r-r-",
	 0,
	 {0},
	 {0},
	 "string",
	 UTF_TEXT},
	{7,
	 "7,perms=c:SECRET=not for the public",
	 "SECRET",
	 "not for the public",
	 0,
	 86400,
	 0xc,
	 "rw--",
	 0,
	 {0},
	 {0},
	 "string",
	 "not for the public"},
	{100,
	 "100:HS_ADMIN=0.NA/" H_HOME "@300",
	 "HS_ADMIN",
	 NULL,
	 0,
	 86400,
	 0xe,
	 "rwr-",
	 0,
	 {0},
	 {0},
	 "admin",
	 NULL},
};
#define NFULL (sizeof(full) / sizeof(full[0]))

static size_t want_data(const want_t *w, uint8_t *out, size_t cap)
{
	if (w->data == NULL) { /* HS_ADMIN 0.NA/H_HOME@300, all permissions */
		idn_hs_admin_t a = {IDN_ADM_ALL, idn_bytes_str("0.NA/" H_HOME),
				    300};
		idn_wr_t wr;
		idn_wr_init(&wr, out, cap);
		idn_hs_admin_encode(&wr, &a);
		assert_int_equal(wr.err, 0);
		return wr.len;
	}
	size_t n = w->index == 4 ? 3 : strlen(w->data);
	memcpy(out, w->data, n);
	return n;
}

typedef struct {
	node_t *n;
	uint32_t t0, t1; /* FULL was created between these */
	char big1[1601], big2[1601];
} fx_t;

static fx_t *fx;

static void create_full(node_t *n)
{
	const char *args[NFULL + 3];
	int k = 0;
	args[k++] = "create";
	args[k++] = FULL;
	for (size_t i = 0; i < NFULL; i++)
		args[k++] = full[i].spec;
	args[k] = NULL;
	h_run_t r;
	h_ctl_argv(&r, n, args);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "created " FULL "\n");
	h_run_free(&r);
}

static int setup(void **state)
{
	(void)state;
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->n = node_new("--home", H_HOME, NULL);
	node_start(fx->n);
	fx->t0 = h_now();
	create_full(fx->n);
	fx->t1 = h_now();
	h_ctl_ok(fx->n, "create", FILTER, "1:URL=https://example.com/f",
		 "2:EMAIL=f@example.com", "3:URL.alt=https://alt.example.com",
		 "4:DESC=filter me", "5,perms=8:URL=https://hidden.example.com",
		 "6,perms=c:NOTE=admin only", "8:URLX=not a URL",
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", NULL);
	h_ctl_ok(fx->n, "create", HIDDEN, "1,perms=c:URL=https://private",
		 "2,perms=8:EMAIL=private@example.com", NULL);
	/* ~3.3 KB of values: a reply of several datagrams */
	for (int i = 0; i < 1600; i++) {
		fx->big1[i] = (char)('a' + i % 26);
		fx->big2[i] = (char)('0' + i % 10);
	}
	char v1[1700], v2[1700];
	snprintf(v1, sizeof(v1), "1:URL=https://example.com/%s", fx->big1);
	snprintf(v2, sizeof(v2), "2:DESC=%s", fx->big2);
	h_ctl_ok(fx->n, "create", BIG, v1, v2, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (fx) {
		node_free(fx->n);
		free(fx);
		fx = NULL;
	}
	return 0;
}

/* ---- raw replies ---- */

static void check_value(const idn_value_t *v, const want_t *w, uint32_t t0,
			uint32_t t1)
{
	uint8_t data[256];
	size_t dl = want_data(w, data, sizeof(data));
	assert_int_equal(v->index, w->index);
	if (!idn_bytes_eq_str(v->type, w->type))
		fail_msg("value %u: type '%.*s', want '%s'", w->index,
			 (int)v->type.len, v->type.p, w->type);
	if (!idn_bytes_eq(v->data, idn_bytes(data, dl)))
		fail_msg("value %u: data '%.*s' (%u bytes), want %zu bytes",
			 w->index, (int)v->data.len, v->data.p, v->data.len,
			 dl);
	assert_int_equal(v->ttl_type, w->ttl_type);
	assert_int_equal(v->ttl, w->ttl);
	assert_int_equal(v->perms, w->perms);
	if (v->timestamp < t0 || v->timestamp > t1)
		fail_msg("value %u: timestamp %u outside [%u, %u]", w->index,
			 v->timestamp, t0, t1);
	assert_int_equal(v->nrefs, (uint32_t)w->nrefs);
	for (int i = 0; i < w->nrefs; i++) {
		if (!idn_bytes_eq_str(v->refs[i].id, w->ref_id[i]))
			fail_msg("value %u ref %d: '%.*s', want '%s'", w->index,
				 i, (int)v->refs[i].id.len, v->refs[i].id.p,
				 w->ref_id[i]);
		assert_int_equal(v->refs[i].index, w->ref_index[i]);
	}
}

/* Checks a resolution reply of FULL holding the public values. */
static void check_full_reply(const h_reply_t *r, uint32_t reqid)
{
	assert_int_equal(r->env.major, 2);
	assert_int_equal(r->env.request_id, reqid);
	assert_int_equal(r->env.flags & IDN_EF_TRUNCATED, 0);
	assert_int_equal(r->msg.hdr.op, IDN_OC_RESOLUTION);
	assert_int_equal(r->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_true(r->msg.hdr.flags & IDN_OF_AUTH);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(r->msg.rest, &a, &b), 0);
	assert_true(idn_bytes_eq_str(b.id, FULL));
	size_t k = 0;
	for (size_t i = 0; i < NFULL; i++) {
		if (!(full[i].perms & IDN_PERM_PUBLIC_READ))
			continue;
		if (k >= b.nvalues)
			fail_msg("reply has %u values; value %u missing",
				 b.nvalues, full[i].index);
		check_value(&b.values[k], &full[i], fx->t0, fx->t1);
		k++;
	}
	assert_int_equal(b.nvalues, k);
	idn_arena_free(&a);
}

static void resolve_udp_values_intact(void **state)
{
	(void)state;
	uint8_t req[512];
	size_t len = h_resolve_simple(req, sizeof(req), 4711, FULL);
	h_reply_t r;
	h_reply_init(&r);
	h_udp_call(fx->n, req, len, &r);
	assert_int_equal(r.ndgrams, 1);
	check_full_reply(&r, 4711);
	h_reply_free(&r);
}

static void resolve_tcp_values_intact(void **state)
{
	(void)state;
	uint8_t req[512];
	size_t len = h_resolve_simple(req, sizeof(req), 4712, FULL);
	h_reply_t r, u;
	h_reply_init(&r);
	h_reply_init(&u);
	h_tcp_call(fx->n, req, len, &r);
	check_full_reply(&r, 4712);
	/* the same request over UDP gets the very same message */
	h_udp_call(fx->n, req, len, &u);
	assert_int_equal(u.len, r.len);
	assert_memory_equal(u.buf + IDN_ENV_LEN, r.buf + IDN_ENV_LEN,
			    r.len - IDN_ENV_LEN);
	h_reply_free(&r);
	h_reply_free(&u);
}

/* ---- idctl --json ---- */

static void check_json_value(json_t *v, const want_t *w)
{
	if (v == NULL)
		fail_msg("value %u missing from the JSON", w->index);
	assert_int_equal(json_integer_value(json_object_get(v, "index")),
			 w->index);
	assert_string_equal(json_string_value(json_object_get(v, "type")),
			    w->type);
	json_t *d = json_object_get(v, "data");
	assert_string_equal(json_string_value(json_object_get(d, "format")),
			    w->json_format);
	json_t *dv = json_object_get(d, "value");
	if (w->json_value) {
		assert_string_equal(json_string_value(dv), w->json_value);
	} else {
		assert_string_equal(
			json_string_value(json_object_get(dv, "handle")),
			"0.NA/" H_HOME);
		assert_int_equal(
			json_integer_value(json_object_get(dv, "index")), 300);
		assert_string_equal(
			json_string_value(json_object_get(dv, "permissions")),
			"111111111111");
	}
	assert_int_equal(json_integer_value(json_object_get(v, "ttl")), w->ttl);
	json_t *tt = json_object_get(v, "ttlType");
	if (w->ttl_type == 1)
		assert_int_equal(json_integer_value(tt), 1);
	else
		assert_null(tt);
	long long ts = h_parse_time(
		json_string_value(json_object_get(v, "timestamp")));
	if (ts < fx->t0 || ts > fx->t1)
		fail_msg("value %u: timestamp %s outside [%u, %u]", w->index,
			 json_string_value(json_object_get(v, "timestamp")),
			 fx->t0, fx->t1);
	assert_string_equal(
		json_string_value(json_object_get(v, "permissions")),
		w->perm_str);
	json_t *refs = json_object_get(v, "references");
	if (w->nrefs == 0) {
		assert_null(refs);
		return;
	}
	assert_int_equal(json_array_size(refs), (size_t)w->nrefs);
	for (int i = 0; i < w->nrefs; i++) {
		json_t *r = json_array_get(refs, (size_t)i);
		assert_string_equal(
			json_string_value(json_object_get(r, "handle")),
			w->ref_id[i]);
		assert_int_equal(
			json_integer_value(json_object_get(r, "index")),
			w->ref_index[i]);
	}
}

/* Runs one idctl resolution of FULL and checks every value it shows. */
static void json_full(const char *how)
{
	h_run_t r;
	bool control = !strcmp(how, "control");
	if (control)
		h_ctl(&r, fx->n, "--json", "resolve", FULL, NULL);
	else if (!strcmp(how, "tcp"))
		h_net(&r, fx->n, "--tcp", "--json", "resolve", FULL, NULL);
	else
		h_net(&r, fx->n, "--json", "resolve", FULL, NULL);
	h_assert_status(&r, 0);
	json_t *root = h_json(&r);
	assert_int_equal(
		json_integer_value(json_object_get(root, "responseCode")), 1);
	assert_string_equal(json_string_value(json_object_get(root, "handle")),
			    FULL);
	long idx[NFULL];
	size_t k = 0;
	for (size_t i = 0; i < NFULL; i++) {
		bool shown = control || (full[i].perms & IDN_PERM_PUBLIC_READ);
		if (!shown) {
			assert_null(h_json_value(root, full[i].index));
			continue;
		}
		idx[k++] = full[i].index;
		check_json_value(h_json_value(root, full[i].index), &full[i]);
	}
	h_json_assert_indexes(root, idx, k);
	json_decref(root);
	h_run_free(&r);
}

static void resolve_json_udp(void **state)
{
	(void)state;
	json_full("udp");
}

static void resolve_json_tcp(void **state)
{
	(void)state;
	json_full("tcp");
}

static void resolve_json_control(void **state)
{
	(void)state;
	json_full("control");
}

static void resolve_case_insensitive(void **state)
{
	(void)state;
	h_run_t a, b;
	h_net(&a, fx->n, "--json", "resolve", FULL, NULL);
	h_net(&b, fx->n, "--json", "resolve", H_HOME "/E2E-FULL", NULL);
	h_assert_status(&a, 0);
	h_assert_status(&b, 0);
	json_t *ja = h_json(&a), *jb = h_json(&b);
	/* the reply names the identifier as asked; the values are the same */
	assert_string_equal(json_string_value(json_object_get(jb, "handle")),
			    H_HOME "/E2E-FULL");
	assert_true(json_equal(json_object_get(ja, "values"),
			       json_object_get(jb, "values")));
	json_decref(ja);
	json_decref(jb);
	h_run_free(&a);
	h_run_free(&b);
}

/* ---- filters ---- */

/* idctl --json resolve FILTER with extra arguments; checks the indexes. */
static void filter_case(bool control, const char *const *extra,
			const long *want, size_t n)
{
	const char *args[16];
	int k = 0;
	args[k++] = "--json";
	args[k++] = "resolve";
	args[k++] = FILTER;
	for (int i = 0; extra[i]; i++)
		args[k++] = extra[i];
	args[k] = NULL;
	h_run_t r;
	if (control)
		h_ctl_argv(&r, fx->n, args);
	else
		h_net_argv(&r, fx->n, args);
	h_assert_status(&r, 0);
	json_t *root = h_json(&r);
	h_json_assert_indexes(root, want, n);
	json_decref(root);
	h_run_free(&r);
}

/* Expects rc 200 (values not found) from idctl. */
static void filter_none(bool control, const char *const *extra)
{
	const char *args[16];
	int k = 0;
	args[k++] = "resolve";
	args[k++] = FILTER;
	for (int i = 0; extra[i]; i++)
		args[k++] = extra[i];
	args[k] = NULL;
	h_run_t r;
	if (control)
		h_ctl_argv(&r, fx->n, args);
	else
		h_net_argv(&r, fx->n, args);
	h_assert_status(&r, 1);
	if (strstr(r.err, "(rc 200)") == NULL)
		fail_msg("want rc 200, stderr: %s", r.err);
	assert_string_equal(r.out, "");
	h_run_free(&r);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define IDX(...)                                                               \
	((const long[]){__VA_ARGS__}),                                         \
		(sizeof((const long[]){__VA_ARGS__}) / sizeof(long))

static void filter_by_type(void **state)
{
	(void)state;
	filter_case(false, ARGS("--type", "URL"), IDX(1));
	filter_case(false, ARGS("--type", "url"),
		    IDX(1)); /* case-insensitive */
	filter_case(false, ARGS("--type", "EMAIL"), IDX(2));
	filter_case(false, ARGS("--type", "URL.alt"), IDX(3));
	filter_case(false, ARGS("--type", "EMAIL", "--type", "DESC"),
		    IDX(2, 4));
	filter_case(true, ARGS("--type", "URL"), IDX(1, 5));
	filter_none(false, ARGS("--type", "NOSUCH"));
	filter_none(false, ARGS("--type", "URL.nosuch"));
	filter_none(false, ARGS("--type", "UR")); /* no prefix matching */
}

static void filter_by_type_family(void **state)
{
	(void)state;
	/* "URL." matches URL and URL.anything */
	filter_case(false, ARGS("--type", "URL."), IDX(1, 3));
	filter_case(true, ARGS("--type", "URL."), IDX(1, 3, 5));
	filter_case(false, ARGS("--type", "HS_ADMIN."), IDX(100));
	filter_case(false, ARGS("--type", "url.ALT."), IDX(3));
	/* a family is dot-separated: "URL." is not "URLX", "HS_." not
	 * "HS_ADMIN" */
	filter_none(false, ARGS("--type", "HS_."));
	filter_case(false, ARGS("--type", "URLX"), IDX(8));
}

static void filter_by_index(void **state)
{
	(void)state;
	filter_case(false, ARGS("--index", "2"), IDX(2));
	filter_case(false, ARGS("--index", "100"), IDX(100));
	filter_case(false, ARGS("--index", "4", "--index", "1"), IDX(1, 4));
	filter_none(false, ARGS("--index", "99"));
	/* non-public values: hidden over the network, shown on the control
	 * socket, hidden there too with --public */
	filter_none(false, ARGS("--index", "5"));
	filter_case(true, ARGS("--index", "5"), IDX(5));
	filter_none(true, ARGS("--index", "5", "--public"));
}

static void filter_combined(void **state)
{
	(void)state;
	/* indexes and types select the union, as in the Handle protocol */
	filter_case(false, ARGS("--index", "2", "--type", "URL"), IDX(1, 2));
	filter_case(false, ARGS("--index", "100", "--type", "URL."),
		    IDX(1, 3, 100));
	filter_case(true, ARGS("--index", "6", "--type", "URL"), IDX(1, 5, 6));
	filter_case(true, ARGS("--public", "--index", "6", "--type", "URL"),
		    IDX(1));
	filter_none(false, ARGS("--index", "6", "--type", "NOSUCH"));
}

/* Raw filters: the same selections through the codec, to be independent
 * of idctl. */
static void filter_raw(void **state)
{
	(void)state;
	struct {
		uint32_t idx[2];
		uint32_t nidx;
		const char *types[2];
		uint32_t ntypes;
		uint32_t rc;
		uint32_t want[4];
		uint32_t nwant;
	} cases[] = {
		{{0}, 0, {"URL."}, 1, 1, {1, 3}, 2},
		{{2, 3}, 2, {0}, 0, 1, {2, 3}, 2},
		{{4}, 1, {"email"}, 1, 1, {2, 4}, 2},
		{{6}, 1, {0}, 0, 200, {0}, 0},
		{{0}, 0, {""}, 1, 200, {0}, 0},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t req[512];
		h_req_t q = h_req(IDN_OC_RESOLUTION, 900 + (uint32_t)c);
		size_t len = h_resolve_frame(req, sizeof(req), &q, FILTER,
					     strlen(FILTER), cases[c].idx,
					     cases[c].nidx, cases[c].types,
					     cases[c].ntypes);
		h_reply_t r;
		h_reply_init(&r);
		h_udp_call(fx->n, req, len, &r);
		if (r.msg.hdr.rc != cases[c].rc)
			fail_msg("case %zu: rc %u, want %u (%s)", c,
				 r.msg.hdr.rc, cases[c].rc, h_error_text(&r));
		if (cases[c].rc == 1) {
			idn_arena_t a;
			idn_arena_init(&a, 0);
			idn_values_body_t b;
			assert_int_equal(
				idn_values_body_decode(r.msg.rest, &a, &b), 0);
			assert_int_equal(b.nvalues, cases[c].nwant);
			for (uint32_t i = 0; i < b.nvalues; i++)
				assert_int_equal(b.values[i].index,
						 cases[c].want[i]);
			idn_arena_free(&a);
		}
		h_reply_free(&r);
	}
}

static void nonpublic_hidden(void **state)
{
	(void)state;
	h_run_t r;
	/* every value of HIDDEN lacks public read: 200 over the network */
	h_net(&r, fx->n, "resolve", HIDDEN, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 200)"));
	h_run_free(&r);
	h_net(&r, fx->n, "--tcp", "resolve", HIDDEN, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 200)"));
	h_run_free(&r);
	/* the control socket sees them ... */
	h_ctl(&r, fx->n, "--json", "resolve", HIDDEN, NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	h_json_assert_indexes(j, IDX(1, 2));
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 2), "data"), "value")),
		"private@example.com");
	json_decref(j);
	h_run_free(&r);
	/* ... unless it asks for public values only */
	h_ctl(&r, fx->n, "resolve", "--public", HIDDEN, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 200)"));
	h_run_free(&r);
	/* the network ignores a client's attempt to see more: the public-only
	 * flag cleared is still public only */
	uint8_t req[256];
	size_t len = h_resolve_simple(req, sizeof(req), 77, HIDDEN);
	h_reply_t rr;
	h_reply_init(&rr);
	h_tcp_call(fx->n, req, len, &rr);
	assert_int_equal(rr.msg.hdr.rc, IDN_RC_VALUES_NOT_FOUND);
	h_reply_free(&rr);
}

/* ---- UDP fragmentation ---- */

/* Message length of a resolution reply of one value without references. */
static size_t reply_len(size_t idlen, size_t tlen, size_t dlen)
{
	return 24 + (4 + idlen) + 4 +
	       (4 + 4 + 1 + 4 + 1 + 4 + tlen + 4 + dlen + 4) + 4;
}

/* A reply of exactly 492 bytes of message is one datagram of 512 bytes;
 * 493 bytes take two, the second with one byte of message. */
static void udp_split_boundary(void **state)
{
	(void)state;
	for (size_t want = 491; want <= 494; want++) {
		char id[64], v[600];
		snprintf(id, sizeof(id), H_HOME "/edge-%zu", want);
		size_t d = want - reply_len(strlen(id), 4, 0);
		int off = snprintf(v, sizeof(v), "1:DESC=");
		memset(v + off, 'e', d);
		v[off + (int)d] = 0;
		h_ctl_ok(fx->n, "create", id, v, NULL);
		uint8_t req[256];
		size_t len = h_resolve_simple(req, sizeof(req), 50, id);
		h_reply_t r;
		h_reply_init(&r);
		h_udp_call(fx->n, req, len, &r);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
		assert_int_equal(r.env.msg_len, want);
		assert_int_equal(r.ndgrams, want <= 492 ? 1 : 2);
		assert_true(r.frags_ok);
		assert_int_equal(r.maxdgram, want <= 492 ? want + 20 : 512);
		h_reply_free(&r);
	}
}

static void udp_split_reply(void **state)
{
	(void)state;
	uint8_t req[512];
	size_t len = h_resolve_simple(req, sizeof(req), 31337, BIG);
	h_reply_t u, t;
	h_reply_init(&u);
	h_reply_init(&t);
	h_udp_call(fx->n, req, len, &u);
	h_tcp_call(fx->n, req, len, &t);
	assert_int_equal(t.msg.hdr.rc, IDN_RC_SUCCESS);
	size_t mlen = t.len - IDN_ENV_LEN;
	assert_true(mlen > 3200);
	/* every datagram at most 512 bytes, as many as 492-byte pieces */
	assert_int_equal(u.ndgrams, (int)((mlen + 491) / 492));
	assert_true(u.maxdgram <= 512);
	assert_true(u.frags_ok);
	assert_int_equal(u.env.msg_len, mlen);
	assert_int_equal(u.env.request_id, 31337);
	assert_int_equal(u.env.flags & IDN_EF_TRUNCATED, 0);
	assert_memory_equal(u.buf + IDN_ENV_LEN, t.buf + IDN_ENV_LEN, mlen);
	/* and the data is what was stored */
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(u.msg.rest, &a, &b), 0);
	assert_int_equal(b.nvalues, 2);
	char want[1700];
	snprintf(want, sizeof(want), "https://example.com/%s", fx->big1);
	assert_true(idn_bytes_eq_str(b.values[0].data, want));
	assert_true(idn_bytes_eq_str(b.values[1].data, fx->big2));
	idn_arena_free(&a);
	h_reply_free(&u);
	h_reply_free(&t);
	/* idctl over UDP reassembles the same thing it gets over TCP */
	h_run_t ru, rt;
	h_net(&ru, fx->n, "--json", "resolve", BIG, NULL);
	h_net(&rt, fx->n, "--json", "--tcp", "resolve", BIG, NULL);
	h_assert_status(&ru, 0);
	h_assert_status(&rt, 0);
	assert_string_equal(ru.out, rt.out);
	assert_non_null(strstr(ru.out, fx->big2));
	h_run_free(&ru);
	h_run_free(&rt);
}

/* A 5 KiB record over UDP with the default limit: 11 datagrams of at most
 * 512 bytes, flags 0, as HANDLE.NET sends and its clients read them (the
 * 4 KiB that idnode once capped UDP replies at made CNRI clients fail), and
 * idctl reads the same over UDP as over TCP. */
static void udp_5k_record(void **state)
{
	(void)state;
	const char *id = H_HOME "/five-k";
	char *v = malloc(6000);
	assert_non_null(v);
	int off = snprintf(v, 6000, "1:URL=https://example.com/");
	memset(v + off, 'k', 5000);
	v[off + 5000] = 0;
	h_ctl_ok(fx->n, "create", id, v, "2:EMAIL=five@example.com", NULL);
	uint8_t req[256];
	size_t len = h_resolve_simple(req, sizeof(req), 5120, id);
	h_reply_t u;
	h_reply_init(&u);
	h_udp_call(fx->n, req, len, &u);
	assert_int_equal(u.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_true(u.env.msg_len > 5000);
	assert_int_equal(u.ndgrams, (int)((u.env.msg_len + 491) / 492));
	assert_true(u.ndgrams >= 11);
	assert_true(u.maxdgram <= 512);
	assert_true(u.frags_ok);
	assert_int_equal(u.env.flags, 0);
	h_reply_free(&u);
	h_run_t ru, rt;
	h_net(&ru, fx->n, "--json", "resolve", id, NULL);
	h_net(&rt, fx->n, "--json", "--tcp", "resolve", id, NULL);
	h_assert_status(&ru, 0);
	h_assert_status(&rt, 0);
	assert_string_equal(ru.out, rt.out);
	assert_non_null(strstr(ru.out, v + 6));
	h_run_free(&ru);
	h_run_free(&rt);
	free(v);
}

static void udp_reply_over_limit(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--udp-reply-max", "1024", NULL);
	node_start(n);
	const char *id_at = H_HOME "/at-limit", *id_over = H_HOME "/over-limit",
		   *id_2k = H_HOME "/two-k";
	size_t d_at = 1024 - reply_len(strlen(id_at), 4, 0);
	size_t d_over = 1025 - reply_len(strlen(id_over), 4, 0);
	char *v = malloc(4096);
	assert_non_null(v);
	int off = snprintf(v, 4096, "1:DESC=");
	memset(v + off, 'x', d_at);
	v[off + (int)d_at] = 0;
	h_ctl_ok(n, "create", id_at, v, NULL);
	memset(v + off, 'y', d_over);
	v[off + (int)d_over] = 0;
	h_ctl_ok(n, "create", id_over, v, NULL);
	memset(v + off, 'z', 2000);
	v[off + 2000] = 0;
	h_ctl_ok(n, "create", id_2k, v, NULL);

	uint8_t req[512];
	h_reply_t r, t;
	h_reply_init(&r);
	h_reply_init(&t);
	/* exactly 1024 bytes: still sent in full, in 3 datagrams */
	size_t len = h_resolve_simple(req, sizeof(req), 1, id_at);
	h_udp_call(n, req, len, &r);
	assert_int_equal(r.env.msg_len, 1024);
	assert_int_equal(r.env.flags & IDN_EF_TRUNCATED, 0);
	assert_int_equal(r.ndgrams, 3);
	assert_int_equal(r.msg.hdr.rc, 1);
	/* 1025 bytes: one datagram with an error (rc 2) telling the client to
	 * ask over TCP, flags 0: HANDLE.NET's clients read the truncated flag
	 * as nothing and fail on a reply that is not a whole message */
	const char *over[] = {id_over, id_2k};
	for (int i = 0; i < 2; i++) {
		len = h_resolve_simple(req, sizeof(req), 2 + (uint32_t)i,
				       over[i]);
		h_tcp_call(n, req, len, &t);
		assert_true(t.env.msg_len >= 1025);
		h_udp_call(n, req, len, &r);
		if (r.env.flags != 0 || r.msg.hdr.rc != IDN_RC_ERROR)
			fail_msg("%s: %u-byte reply over UDP: flags 0x%02x rc "
				 "%u, want flags 0, rc 2",
				 over[i], t.env.msg_len, r.env.flags,
				 r.msg.hdr.rc);
		assert_int_equal(r.ndgrams, 1);
		assert_true(r.maxdgram <= 512);
		assert_int_equal(r.env.request_id, 2 + (uint32_t)i);
		assert_int_equal(r.msg.hdr.op, IDN_OC_RESOLUTION);
		assert_string_equal(h_error_text(&r),
				    "reply too large for UDP: ask over TCP");
	}
	/* a request that asked for the request digest: the error still
	 * decodes (no flag promising a digest that is not there) */
	h_req_t q = h_req(IDN_OC_RESOLUTION, 4);
	q.flags = IDN_OF_RETURN_DIGEST;
	len = h_resolve_frame(req, sizeof(req), &q, id_2k, strlen(id_2k), NULL,
			      0, NULL, 0);
	int fd = h_udp_open(n);
	h_udp_send_frame(fd, req, len);
	uint8_t dg[600];
	struct pollfd p = {fd, POLLIN, 0};
	assert_int_equal(poll(&p, 1, H_IO_TIMEOUT_MS), 1);
	ssize_t k = recv(fd, dg, sizeof(dg), 0);
	close(fd);
	assert_true(k >= IDN_ENV_LEN);
	idn_env_t env;
	idn_msg_t m;
	assert_int_equal(idn_env_decode(dg, (size_t)k, &env), 0);
	assert_int_equal(env.flags, 0);
	assert_int_equal(env.msg_len, (size_t)k - IDN_ENV_LEN);
	int derr = idn_msg_decode(dg + IDN_ENV_LEN, env.msg_len, &m);
	if (derr != 0)
		fail_msg("UDP-limit error to a digest request does not decode: "
			 "%s",
			 idn_strerror(derr));
	assert_int_equal(m.hdr.rc, IDN_RC_ERROR);
	/* idctl over UDP falls back to TCP and gets the whole record */
	h_run_t ru, rt;
	h_net(&ru, n, "--json", "resolve", id_2k, NULL);
	h_net(&rt, n, "--json", "--tcp", "resolve", id_2k, NULL);
	h_assert_status(&ru, 0);
	h_assert_status(&rt, 0);
	assert_string_equal(ru.out, rt.out);
	json_t *j = h_json(&ru);
	const char *data = json_string_value(json_object_get(
		json_object_get(h_json_value(j, 1), "data"), "value"));
	assert_non_null(data);
	assert_int_equal(strlen(data), 2000);
	json_decref(j);
	h_run_free(&ru);
	h_run_free(&rt);
	h_reply_free(&r);
	h_reply_free(&t);
	free(v);
	node_stop(n);
	node_free(n);
}

/* ---- TCP keep-alive ---- */

typedef struct {
	const char *id;
	uint32_t op;
	uint32_t rc;
} pipe_case_t;

static const pipe_case_t pipe_cases[] = {
	{FULL, IDN_OC_RESOLUTION, IDN_RC_SUCCESS},
	{H_HOME "/no-such-thing", IDN_OC_RESOLUTION, IDN_RC_NOT_FOUND},
	{"not-an-identifier", IDN_OC_RESOLUTION, IDN_RC_INVALID_HANDLE},
	/* a prefix neither homed nor delegated: not responsible, as a
	 * HANDLE.NET server answers */
	{"99.1/elsewhere", IDN_OC_RESOLUTION, IDN_RC_SERVER_NOT_RESP},
	{HIDDEN, IDN_OC_RESOLUTION, IDN_RC_VALUES_NOT_FOUND},
	{FULL, 999, IDN_RC_NOT_SUPPORTED},
	{BIG, IDN_OC_RESOLUTION, IDN_RC_SUCCESS},
	{FILTER, IDN_OC_RESOLUTION, IDN_RC_SUCCESS},
};
#define NPIPE (sizeof(pipe_cases) / sizeof(pipe_cases[0]))

static size_t pipe_frame(uint8_t *out, size_t cap, size_t i, uint32_t reqid)
{
	h_req_t q = h_req(pipe_cases[i].op, reqid);
	const char *id = pipe_cases[i].id;
	return h_resolve_frame(out, cap, &q, id, strlen(id), NULL, 0, NULL, 0);
}

/* The control socket also sees non-public values. */
static bool on_control;

static void check_pipe_reply(const h_reply_t *r, size_t i, uint32_t reqid)
{
	uint32_t rc = pipe_cases[i].rc;
	if (on_control && !strcmp(pipe_cases[i].id, HIDDEN))
		rc = IDN_RC_SUCCESS;
	if (r->env.request_id != reqid || r->msg.hdr.rc != rc)
		fail_msg("reply %zu: request id %u rc %u, want %u rc %u", i,
			 r->env.request_id, r->msg.hdr.rc, reqid, rc);
	assert_int_equal(r->msg.hdr.op, pipe_cases[i].op);
}

/* Several requests one after the other, then all of them pipelined in one
 * write, then one split over two writes, all on one connection. */
static void keepalive(int fd)
{
	uint8_t *buf = malloc(1 << 16);
	assert_non_null(buf);
	h_reply_t r;
	h_reply_init(&r);
	for (size_t i = 0; i < NPIPE; i++) {
		size_t len = pipe_frame(buf, 1 << 16, i, 100 + (uint32_t)i);
		h_stream_call(fd, buf, len, &r);
		check_pipe_reply(&r, i, 100 + (uint32_t)i);
	}
	size_t off = 0;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < NPIPE; i++)
			off += pipe_frame(buf + off, (1 << 16) - off, i,
					  (uint32_t)(1000 * (round + 1) + i));
	assert_int_equal(h_write_all(fd, buf, off), 0);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < NPIPE; i++) {
			if (h_read_frame(fd, &r, H_IO_TIMEOUT_MS) != 1)
				fail_msg("pipelined reply %d/%zu missing",
					 round, i);
			check_pipe_reply(&r, i,
					 (uint32_t)(1000 * (round + 1) + i));
		}
	size_t len = pipe_frame(buf, 1 << 16, 0, 5000);
	assert_int_equal(h_write_all(fd, buf, 7), 0);
	h_msleep(20); /* let the first piece arrive alone (not needed for
		       * correctness: either way there is one reply) */
	assert_int_equal(h_write_all(fd, buf + 7, len - 7), 0);
	assert_int_equal(h_read_frame(fd, &r, H_IO_TIMEOUT_MS), 1);
	check_pipe_reply(&r, 0, 5000);
	h_reply_free(&r);
	free(buf);
}

static void tcp_keepalive_pipelined(void **state)
{
	(void)state;
	int fd = h_tcp_open(fx->n);
	on_control = false;
	keepalive(fd);
	/* the node closes when the client does */
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_drain(fd, H_IO_TIMEOUT_MS), 0);
	close(fd);
}

static void control_keepalive_pipelined(void **state)
{
	(void)state;
	int fd = h_unix_open(fx->n->ctl);
	on_control = true;
	keepalive(fd);
	on_control = false;
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_drain(fd, H_IO_TIMEOUT_MS), 0);
	close(fd);
}

/* Hundreds of requests written at once whose replies (about 2 MB) are
 * far more than the socket buffers hold: the node stops reading, flushes
 * as the client reads, and every reply comes back whole and in order. */
static void large_pipeline(int fd)
{
	enum { N = 600 };
	uint8_t one[256];
	size_t flen = h_resolve_simple(one, sizeof(one), 0, BIG);
	uint8_t *buf = malloc(flen * N);
	assert_non_null(buf);
	for (uint32_t i = 0; i < N; i++)
		h_resolve_simple(buf + flen * i, flen, 10000 + i, BIG);
	assert_int_equal(h_write_all(fd, buf, flen * N), 0);
	h_reply_t r, first;
	h_reply_init(&r);
	h_reply_init(&first);
	for (uint32_t i = 0; i < N; i++) {
		if (h_read_frame(fd, &r, H_IO_TIMEOUT_MS) != 1)
			fail_msg("reply %u of %d missing", i, N);
		assert_int_equal(r.env.request_id, 10000 + i);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
		if (i == 0) {
			memcpy(first.buf, r.buf, r.len);
			first.len = r.len;
		} else {
			/* the same record each time, byte for byte after the
			 * envelope's request id */
			assert_int_equal(r.len, first.len);
			assert_memory_equal(r.buf + 12, first.buf + 12,
					    r.len - 12);
		}
	}
	h_reply_free(&r);
	h_reply_free(&first);
	free(buf);
}

static void tcp_large_pipeline(void **state)
{
	(void)state;
	int fd = h_tcp_open(fx->n);
	large_pipeline(fd);
	close(fd);
	fd = h_unix_open(fx->n->ctl);
	large_pipeline(fd);
	close(fd);
}

/* Several UDP requests in flight at once on one socket, each answered
 * with its request id (every reply here fits one datagram). */
static void udp_many_in_flight(void **state)
{
	(void)state;
	on_control = false;
	int fd = h_udp_open(fx->n);
	uint8_t req[512];
	size_t want = 0;
	for (uint32_t i = 0; i < NPIPE; i++) {
		if (!strcmp(pipe_cases[i].id, BIG))
			continue;
		size_t len = pipe_frame(req, sizeof(req), i, 7000 + i);
		h_udp_send_frame(fd, req, len);
		want++;
	}
	bool seen[NPIPE] = {false};
	h_reply_t r;
	h_reply_init(&r);
	for (size_t got = 0; got < want;) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, H_IO_TIMEOUT_MS) != 1)
			fail_msg("only %zu of %zu UDP replies arrived", got,
				 want);
		ssize_t k = recv(fd, r.buf, IDN_UDP_DGRAM_MAX + 1, 0);
		assert_true(k >= IDN_ENV_LEN && k <= IDN_UDP_DGRAM_MAX);
		r.len = (size_t)k;
		assert_int_equal(h_reply_decode(&r), 0);
		uint32_t i = r.env.request_id - 7000;
		assert_true(i < NPIPE && !seen[i]);
		check_pipe_reply(&r, i, 7000 + i);
		seen[i] = true;
		got++;
	}
	h_reply_free(&r);
	close(fd);
}

/* Identifiers and data in UTF-8 beyond ASCII. */
static void utf8_identifier(void **state)
{
	(void)state;
	/* "88.118.8/产品-1" */
	const char *id = H_HOME "/\xe4\xba\xa7\xe5\x93\x81-1";
	h_ctl_ok(fx->n, "create", id, "1:URL=https://example.com/\xe4\xba\xa7",
		 NULL);
	h_run_t r;
	h_net(&r, fx->n, "--json", "resolve", id, NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
			    id);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 1), "data"), "value")),
		"https://example.com/\xe4\xba\xa7");
	json_decref(j);
	h_run_free(&r);
	/* only ASCII letters fold: a different code point is not found */
	h_net(&r, fx->n, "resolve", H_HOME "/\xe4\xba\xa7\xe5\x93\x82-1", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 100)"));
	h_run_free(&r);
}

/* Creates id with values through the control socket; returns the rc. */
static uint32_t raw_create(const char *id, const idn_value_t *v, uint32_t n)
{
	size_t cap = IDN_ENV_LEN + IDN_MSG_MAX;
	uint8_t *body = malloc(cap), *f = malloc(cap);
	assert_non_null(body);
	assert_non_null(f);
	idn_wr_t w;
	idn_wr_init(&w, body, cap);
	idn_values_body_t b = {idn_bytes_str(id), n, (idn_value_t *)v};
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	h_req_t q = h_req(IDN_OC_CREATE, 66);
	size_t len = h_frame(f, cap, &q, body, w.len);
	int fd = h_unix_open(fx->n->ctl);
	h_reply_t r;
	h_reply_init(&r);
	h_stream_call(fd, f, len, &r);
	close(fd);
	uint32_t rc = r.msg.hdr.rc;
	h_reply_free(&r);
	free(body);
	free(f);
	return rc;
}

/* A record as large as a reply may be: stored, resolved in full over TCP
 * and through idctl, refused over UDP (rc 2: ask over TCP); one a little
 * larger is refused
 * and nothing is stored. */
static void max_size_record(void **state)
{
	(void)state;
	const char *id = H_HOME "/e2e-huge", *over = H_HOME "/e2e-too-huge";
	size_t dlen = 258000;
	char *data = malloc(dlen + 1);
	assert_non_null(data);
	for (size_t i = 0; i < dlen; i++)
		data[i] = (char)('a' + i % 23);
	data[dlen] = 0;
	idn_value_t v[2] = {{0}};
	v[0].index = 1, v[0].ttl = 86400, v[0].perms = IDN_PERM_DEFAULT;
	v[0].type = idn_bytes_str("DESC");
	v[0].data = idn_bytes(data, dlen);
	assert_int_equal(raw_create(id, v, 1), IDN_RC_SUCCESS);
	v[0].data = idn_bytes(data, 130000);
	v[1] = v[0];
	v[1].index = 2;
	assert_int_equal(raw_create(over, v, 2), IDN_RC_INVALID_VALUE);

	uint8_t req[256];
	size_t len = h_resolve_simple(req, sizeof(req), 8, id);
	h_reply_t r;
	h_reply_init(&r);
	h_tcp_call(fx->n, req, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(r.msg.rest, &a, &b), 0);
	assert_int_equal(b.nvalues, 1);
	assert_true(idn_bytes_eq(b.values[0].data, idn_bytes(data, dlen)));
	idn_arena_free(&a);
	h_udp_call(fx->n, req, len, &r);
	assert_int_equal(r.env.flags, 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_ERROR);
	h_reply_free(&r);

	h_run_t run;
	h_net(&run, fx->n, "--json", "resolve", id, NULL);
	h_assert_status(&run, 0);
	json_t *j = h_json(&run);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 1), "data"), "value")),
		data);
	json_decref(j);
	h_run_free(&run);
	h_ctl(&run, fx->n, "resolve", over, NULL);
	h_assert_status(&run, 1);
	assert_non_null(strstr(run.err, "(rc 100)"));
	h_run_free(&run);
	free(data);
}

static void shutdown_clean(void **state)
{
	(void)state;
	node_stop(fx->n);
	/* the control socket is removed on a clean exit */
	assert_int_not_equal(access(fx->n->ctl, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve_udp_values_intact),
		cmocka_unit_test(resolve_tcp_values_intact),
		cmocka_unit_test(resolve_json_udp),
		cmocka_unit_test(resolve_json_tcp),
		cmocka_unit_test(resolve_json_control),
		cmocka_unit_test(resolve_case_insensitive),
		cmocka_unit_test(filter_by_type),
		cmocka_unit_test(filter_by_type_family),
		cmocka_unit_test(filter_by_index),
		cmocka_unit_test(filter_combined),
		cmocka_unit_test(filter_raw),
		cmocka_unit_test(nonpublic_hidden),
		cmocka_unit_test(udp_split_reply),
		cmocka_unit_test(udp_split_boundary),
		cmocka_unit_test(udp_5k_record),
		cmocka_unit_test(udp_reply_over_limit),
		cmocka_unit_test(tcp_keepalive_pipelined),
		cmocka_unit_test(control_keepalive_pipelined),
		cmocka_unit_test(tcp_large_pipeline),
		cmocka_unit_test(udp_many_in_flight),
		cmocka_unit_test(utf8_identifier),
		cmocka_unit_test(max_size_record),
		cmocka_unit_test(shutdown_clean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
