/* Administration through idctl and the control socket: create (and
 * --overwrite), delete, add, modify, remove, list, home, unhome, homed,
 * with their results and their errors; a listing of thousands of
 * identifiers over several continuous messages; idctl's usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "value.h"

static node_t *node;

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, NULL);
	node_start(node);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return 0;
}

/* Runs idctl -C ... ARGS, expecting failure with "(rc N)" and one line. */
#define ctl_fail(rc, ...) ctl_fail_((rc), __FILE__, __LINE__, __VA_ARGS__, NULL)
static void ctl_fail_(int rc, const char *file, int line, const char *arg, ...)
{
	const char *args[32];
	int k = 0;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *))
		args[k++] = a;
	va_end(ap);
	args[k] = NULL;
	h_run_t r;
	h_ctl_argv(&r, node, args);
	char want[32];
	snprintf(want, sizeof(want), "(rc %d)", rc);
	if (r.status != 1 || strstr(r.err, want) == NULL ||
	    h_count_lines(r.err) != 1 || r.outlen != 0)
		fail_msg("%s:%d: idctl %s %s: status %d stderr \"%s\" stdout "
			 "\"%s\"; "
			 "want status 1 and one line with %s",
			 file, line, args[0], k > 1 ? args[1] : "", r.status,
			 r.err, r.out, want);
	h_run_free(&r);
}

/* idctl --json resolve over the control socket: the record, or NULL. */
static json_t *get(const char *id)
{
	h_run_t r;
	h_ctl(&r, node, "--json", "resolve", id, NULL);
	json_t *j = r.status == 0 ? h_json(&r) : NULL;
	h_run_free(&r);
	return j;
}

static const char *data_of(json_t *root, long index)
{
	json_t *v = h_json_value(root, index);
	return json_string_value(
		json_object_get(json_object_get(v, "data"), "value"));
}

static char *dump(json_t *j)
{
	return json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
}

#define IDX(...)                                                               \
	((const long[]){__VA_ARGS__}),                                         \
		(sizeof((const long[]){__VA_ARGS__}) / sizeof(long))

static void create_and_exists(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-create";
	h_run_t r;
	h_ctl(&r, node, "create", id, "1:URL=https://a",
	      "2:EMAIL=a@example.com", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "created " H_HOME "/adm-create\n");
	assert_string_equal(r.err, "");
	h_run_free(&r);
	json_t *j = get(id);
	assert_non_null(j);
	h_json_assert_indexes(j, IDX(1, 2));
	assert_string_equal(data_of(j, 1), "https://a");
	char *before = dump(j);
	json_decref(j);
	/* a second create fails with 101 and changes nothing, whatever the
	 * case of the identifier */
	ctl_fail(101, "create", id, "1:URL=https://b");
	ctl_fail(101, "create", H_HOME "/ADM-CREATE", "1:URL=https://b");
	j = get(id);
	char *after = dump(j);
	assert_string_equal(after, before);
	free(before);
	free(after);
	json_decref(j);
	/* --json says what was done */
	h_ctl(&r, node, "--json", "create", H_HOME "/adm-create-json",
	      "1:URL=https://j", NULL);
	h_assert_status(&r, 0);
	j = h_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "responseCode")),
			 1);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
			    H_HOME "/adm-create-json");
	json_decref(j);
	h_run_free(&r);
}

static void create_overwrite(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-overwrite";
	h_ctl_ok(node, "create", id, "1:URL=https://old", "2:EMAIL=old@x",
		 "3:DESC=old", NULL);
	h_ctl_ok(node, "create", "--overwrite", id,
		 "5,ttl=60,perms=a:URL=https://new", NULL);
	json_t *j = get(id);
	assert_non_null(j);
	h_json_assert_indexes(j, IDX(5)); /* replaced whole */
	json_t *v = h_json_value(j, 5);
	assert_string_equal(data_of(j, 5), "https://new");
	assert_int_equal(json_integer_value(json_object_get(v, "ttl")), 60);
	assert_string_equal(
		json_string_value(json_object_get(v, "permissions")), "r-r-");
	json_decref(j);
	/* --overwrite also creates */
	h_ctl_ok(node, "create", "--overwrite", H_HOME "/adm-overwrite-new",
		 "1:URL=https://fresh", NULL);
	j = get(H_HOME "/adm-overwrite-new");
	assert_non_null(j);
	assert_string_equal(data_of(j, 1), "https://fresh");
	json_decref(j);
}

static void add_values(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-add";
	h_ctl_ok(node, "create", id, "1:URL=https://a", NULL);
	h_run_t r;
	h_ctl(&r, node, "add", id, "3:EMAIL=a@example.com", "2:DESC=two", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "added values to " H_HOME "/adm-add\n");
	h_run_free(&r);
	json_t *j = get(id);
	h_json_assert_indexes(j, IDX(1, 2, 3)); /* kept in index order */
	char *before = dump(j);
	json_decref(j);
	/* an index that is taken: 201, and the whole request is refused */
	ctl_fail(201, "add", id, "3:EMAIL=dup@example.com");
	ctl_fail(201, "add", id, "4:DESC=four", "1:URL=https://dup");
	j = get(id);
	char *after = dump(j);
	assert_string_equal(after, before);
	free(after);
	free(before);
	json_decref(j);
	/* --overwrite replaces taken indexes and adds the others */
	h_ctl_ok(node, "add", "--overwrite", id, "3:EMAIL=new@example.com",
		 "4:DESC=four", NULL);
	j = get(id);
	h_json_assert_indexes(j, IDX(1, 2, 3, 4));
	assert_string_equal(data_of(j, 3), "new@example.com");
	json_decref(j);
	ctl_fail(100, "add", H_HOME "/adm-no-such", "1:URL=https://x");
}

static void modify_values(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-modify";
	h_ctl_ok(node, "create", id, "1:URL=https://a", "2:EMAIL=a@example.com",
		 NULL);
	json_t *j = get(id);
	long long t_before = h_parse_time(json_string_value(
		json_object_get(h_json_value(j, 2), "timestamp")));
	json_decref(j);
	uint32_t t0 = h_now();
	h_run_t r;
	h_ctl(&r, node, "modify", id, "2,ttl=120,perms=e:EMAIL=b@example.com",
	      NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "modified " H_HOME "/adm-modify\n");
	h_run_free(&r);
	uint32_t t1 = h_now();
	j = get(id);
	h_json_assert_indexes(j, IDX(1, 2));
	json_t *v = h_json_value(j, 2);
	assert_string_equal(data_of(j, 2), "b@example.com");
	assert_int_equal(json_integer_value(json_object_get(v, "ttl")), 120);
	long long ts = h_parse_time(
		json_string_value(json_object_get(v, "timestamp")));
	assert_true(ts >= t_before && ts >= t0 && ts <= t1);
	assert_string_equal(data_of(j, 1), "https://a");
	char *before = dump(j);
	json_decref(j);
	/* a missing index: 200, and nothing of the request is applied */
	ctl_fail(200, "modify", id, "77:URL=https://x");
	ctl_fail(200, "modify", id, "1:URL=https://changed",
		 "78:URL=https://x");
	j = get(id);
	char *after = dump(j);
	assert_string_equal(after, before);
	free(after);
	free(before);
	json_decref(j);
	ctl_fail(100, "modify", H_HOME "/adm-no-such", "1:URL=https://x");
}

static void remove_values(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-remove";
	h_ctl_ok(node, "create", id, "1:URL=https://a", "2:EMAIL=a@example.com",
		 "3:DESC=three", NULL);
	h_run_t r;
	h_ctl(&r, node, "remove", id, "3", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out,
			    "removed values from " H_HOME "/adm-remove\n");
	h_run_free(&r);
	json_t *j = get(id);
	h_json_assert_indexes(j, IDX(1, 2));
	json_decref(j);
	ctl_fail(200, "remove", id, "3");
	ctl_fail(200, "remove", id, "1", "99"); /* atomic: 1 stays */
	j = get(id);
	h_json_assert_indexes(j, IDX(1, 2));
	json_decref(j);
	h_ctl_ok(node, "remove", id, "2", "1", NULL);
	/* a record without values: resolves to 200, not 100 */
	h_ctl(&r, node, "resolve", id, NULL);
	h_assert_status(&r, 1);
	if (strstr(r.err, "(rc 200)") == NULL &&
	    strstr(r.err, "(rc 100)") == NULL)
		fail_msg("emptied record: %s", r.err);
	h_run_free(&r);
	ctl_fail(100, "remove", H_HOME "/adm-no-such", "1");
}

static void delete_record(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-delete";
	h_ctl_ok(node, "create", id, "1:URL=https://a", NULL);
	h_run_t r;
	h_ctl(&r, node, "delete", H_HOME "/ADM-Delete", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "deleted " H_HOME "/ADM-Delete\n");
	h_run_free(&r);
	ctl_fail(100, "resolve", id);
	h_net(&r, node, "resolve", id, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 100)"));
	h_run_free(&r);
	ctl_fail(100, "delete", id);
	/* and it can be created again */
	h_ctl_ok(node, "create", id, "7:URL=https://again", NULL);
	json_t *j = get(id);
	h_json_assert_indexes(j, IDX(7));
	json_decref(j);
}

static void unhomed_prefix_refused(void **state)
{
	(void)state;
	const char *id = "99.9/adm";
	ctl_fail(301, "create", id, "1:URL=https://x");
	ctl_fail(301, "add", id, "1:URL=https://x");
	ctl_fail(301, "modify", id, "1:URL=https://x");
	ctl_fail(301, "remove", id, "1");
	ctl_fail(301, "delete", id);
	/* no delegation known either: not responsible, as HANDLE.NET */
	ctl_fail(301, "resolve", id);
	ctl_fail(301, "list", "99.9");
	/* a prefix below a homed one is a different prefix */
	ctl_fail(301, "create", H_HOME ".5/adm", "1:URL=https://x");
	h_run_t r;
	h_ctl(&r, node, "create", id, "1:URL=https://x", NULL);
	assert_non_null(strstr(r.err, "not homed"));
	h_run_free(&r);
}

static void invalid_requests(void **state)
{
	(void)state;
	/* identifiers */
	ctl_fail(102, "create", "no-slash", "1:URL=https://x");
	ctl_fail(102, "create", H_HOME "/", "1:URL=https://x");
	ctl_fail(102, "delete", "/x");
	/* values */
	ctl_fail(202, "create", H_HOME "/adm-bad", "100:HS_ADMIN=hex:0102");
	ctl_fail(202, "create", H_HOME "/adm-bad", "1:URL=a", "1:URL=b");
	ctl_fail(202, "create", H_HOME "/adm-bad", "1:UR\x01L=a");
	ctl_fail(202, "create", H_HOME "/adm-bad", "1:URL=a",
		 "2:HS_SITE=hex:00");
	ctl_fail(100, "resolve", H_HOME "/adm-bad"); /* nothing was written */
	ctl_fail(102, "home", "88..1");
}

static void home_unhome_homed(void **state)
{
	(void)state;
	h_run_t r;
	h_ctl(&r, node, "home", "77.7", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "homed 77.7\n");
	h_run_free(&r);
	h_ctl_ok(node, "home", "0.NA/66.6", NULL); /* the prefix handle form */
	h_ctl_ok(node, "home", "ab.Cd", NULL);	   /* stored upper-cased */
	h_ctl_ok(node, "home", "77.7", NULL);	   /* idempotent */
	h_ctl(&r, node, "--json", "homed", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	char *got = dump(json_object_get(j, "prefixes"));
	assert_string_equal(got, "[\"66.6\",\"77.7\",\"88.118.8\",\"AB.CD\"]");
	free(got);
	json_decref(j);
	h_run_free(&r);
	/* text output: one prefix a line */
	h_ctl(&r, node, "homed", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "66.6\n77.7\n88.118.8\nAB.CD\n");
	h_run_free(&r);

	h_ctl_ok(node, "create", "77.7/a", "1:URL=https://seven", NULL);
	h_ctl_ok(node, "create", "ab.cd/x", "1:URL=https://abcd", NULL);
	h_net(&r, node, "--json", "resolve", "77.7/a", NULL);
	h_assert_status(&r, 0);
	j = h_json(&r);
	assert_string_equal(data_of(j, 1), "https://seven");
	json_decref(j);
	h_run_free(&r);

	h_ctl(&r, node, "unhome", "77.7", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "unhomed 77.7\n");
	h_run_free(&r);
	h_net(&r, node, "resolve", "77.7/a", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 301)"));
	h_run_free(&r);
	ctl_fail(301, "create", "77.7/b", "1:URL=https://x");
	ctl_fail(100, "unhome", "77.7"); /* not homed any more */
	h_ctl_ok(node, "unhome", "0.NA/66.6", NULL);
	h_ctl_ok(node, "unhome", "AB.cd", NULL);
	h_ctl(&r, node, "--json", "homed", NULL);
	j = h_json(&r);
	got = dump(json_object_get(j, "prefixes"));
	assert_string_equal(got, "[\"88.118.8\"]");
	free(got);
	json_decref(j);
	h_run_free(&r);
}

static void list_prefix(void **state)
{
	(void)state;
	h_ctl_ok(node, "home", "55.5", NULL);
	h_ctl_ok(node, "home", "55.5.1", NULL);
	h_run_t r;
	/* a homed prefix without identifiers lists nothing */
	h_ctl(&r, node, "--json", "list", "55.5", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "handles")), 0);
	json_decref(j);
	h_run_free(&r);
	h_ctl_ok(node, "create", "55.5/c", "1:URL=https://c", NULL);
	h_ctl_ok(node, "create", "55.5/a", "1:URL=https://a", NULL);
	h_ctl_ok(node, "create", "55.5/Bee", "1:URL=https://b", NULL);
	h_ctl_ok(node, "create", "55.5.1/x", "1:URL=https://x", NULL);
	h_ctl_ok(node, "create", "55.5/gone", "1:URL=https://g", NULL);
	h_ctl_ok(node, "delete", "55.5/gone", NULL);
	h_ctl(&r, node, "--json", "list", "55.5", NULL);
	h_assert_status(&r, 0);
	j = h_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "prefix")),
			    "55.5");
	char *got = dump(json_object_get(j, "handles"));
	/* each once, as created, in key order; nothing of 55.5.1 */
	assert_string_equal(got, "[\"55.5/a\",\"55.5/Bee\",\"55.5/c\"]");
	free(got);
	json_decref(j);
	h_run_free(&r);
	h_ctl(&r, node, "list", "0.NA/55.5", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "55.5/a\n55.5/Bee\n55.5/c\n");
	h_run_free(&r);
}

/* 3000 identifiers created over one control connection (pipelined), then
 * listed: several continuous messages, each identifier exactly once. */
#define MANY 3000
#define MANY_PREFIX "44.4"

static void many_id(char *out, size_t cap, int i)
{
	snprintf(out, cap, MANY_PREFIX "/item-%05d-padding-to-make-it-longer",
		 i);
}

static void list_many(void **state)
{
	(void)state;
	h_ctl_ok(node, "home", MANY_PREFIX, NULL);
	int fd = h_unix_open(node->ctl);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	h_reply_t r;
	h_reply_init(&r);
	for (int base = 0; base < MANY; base += 250) {
		size_t off = 0;
		for (int i = base; i < base + 250; i++) {
			char id[96], url[64];
			many_id(id, sizeof(id), i);
			snprintf(url, sizeof(url), "https://example.com/%d", i);
			idn_value_t v = {0};
			v.index = 1;
			v.ttl = 86400;
			v.perms = IDN_PERM_DEFAULT;
			v.type = idn_bytes_str("URL");
			v.data = idn_bytes_str(url);
			idn_values_body_t b = {idn_bytes_str(id), 1, &v};
			uint8_t body[256];
			idn_wr_t w;
			idn_wr_init(&w, body, sizeof(body));
			idn_values_body_encode(&w, &b);
			h_req_t q = h_req(IDN_OC_CREATE, (uint32_t)i + 1);
			off += h_frame(buf + off, (1 << 20) - off, &q, body,
				       w.len);
		}
		assert_int_equal(h_write_all(fd, buf, off), 0);
		for (int i = base; i < base + 250; i++) {
			if (h_read_frame(fd, &r, H_IO_TIMEOUT_MS) != 1)
				fail_msg("no reply to create %d", i);
			if (r.msg.hdr.rc != 1 ||
			    r.env.request_id != (uint32_t)i + 1)
				fail_msg("create %d: rc %u request %u (%s)", i,
					 r.msg.hdr.rc, r.env.request_id,
					 h_error_text(&r));
		}
	}
	/* raw listing: count the messages */
	idn_wr_t w;
	uint8_t body[64];
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str(MANY_PREFIX));
	h_req_t q = h_req(IDN_OC_LIST, 424242);
	size_t len = h_frame(buf, 1 << 20, &q, body, w.len);
	assert_int_equal(h_write_all(fd, buf, len), 0);
	unsigned char *seen = calloc(MANY, 1);
	assert_non_null(seen);
	int msgs = 0, total = 0;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	for (;;) {
		if (h_read_frame(fd, &r, H_IO_TIMEOUT_MS) != 1)
			fail_msg("list reply %d missing", msgs);
		msgs++;
		assert_int_equal(r.env.request_id, 424242);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
		assert_int_equal(r.msg.hdr.op, IDN_OC_LIST);
		idn_list_body_t lb;
		assert_int_equal(idn_list_body_decode(r.msg.rest, &a, &lb), 0);
		for (uint32_t i = 0; i < lb.n; i++) {
			int k = -1;
			char s[128];
			snprintf(s, sizeof(s), "%.*s", (int)lb.ids[i].len,
				 lb.ids[i].p);
			if (sscanf(s, MANY_PREFIX "/item-%d-", &k) != 1 ||
			    k < 0 || k >= MANY)
				fail_msg("unexpected identifier '%s' in the "
					 "list",
					 s);
			char want[96];
			many_id(want, sizeof(want), k);
			assert_string_equal(s, want);
			if (seen[k]++)
				fail_msg("'%s' listed twice", s);
			total++;
		}
		idn_arena_reset(&a);
		if (!(r.msg.hdr.flags & IDN_OF_CONTINUOUS))
			break;
	}
	idn_arena_free(&a);
	if (msgs < 3)
		fail_msg("%d identifiers came in %d message(s); want several",
			 total, msgs);
	assert_int_equal(total, MANY);
	/* the connection is still good for more */
	len = h_resolve_simple(buf, 1 << 20, 5,
			       MANY_PREFIX
			       "/item-02999-padding-to-make-it-longer");
	h_stream_call(fd, buf, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	close(fd);
	free(seen);
	free(buf);
	h_reply_free(&r);

	/* idctl puts the pieces together */
	h_run_t run;
	h_ctl(&run, node, "--json", "list", MANY_PREFIX, NULL);
	h_assert_status(&run, 0);
	json_t *j = h_json(&run);
	json_t *hs = json_object_get(j, "handles");
	assert_int_equal(json_array_size(hs), MANY);
	for (int i = 0; i < MANY; i++) {
		char want[96];
		many_id(want, sizeof(want), i);
		assert_string_equal(
			json_string_value(json_array_get(hs, (size_t)i)), want);
	}
	json_decref(j);
	h_run_free(&run);
	h_ctl(&run, node, "list", MANY_PREFIX, NULL);
	h_assert_status(&run, 0);
	assert_int_equal(h_count_lines(run.out), MANY);
	h_run_free(&run);
}

/* Sends one values request (create/add/modify) on the control socket
 * with n small values starting at index first; returns the rc. */
static uint32_t raw_values(uint32_t op, const char *id, uint32_t first,
			   uint32_t n)
{
	idn_value_t *v = calloc(n ? n : 1, sizeof(*v));
	assert_non_null(v);
	for (uint32_t i = 0; i < n; i++) {
		v[i].index = first + i;
		v[i].ttl = 86400;
		v[i].perms = IDN_PERM_DEFAULT;
		v[i].type = idn_bytes_str("URL");
		v[i].data = idn_bytes_str("https://example.com/v");
	}
	size_t cap = IDN_ENV_LEN + IDN_MSG_MAX;
	uint8_t *body = malloc(cap), *f = malloc(cap);
	assert_non_null(body);
	assert_non_null(f);
	idn_wr_t w;
	idn_wr_init(&w, body, cap);
	idn_values_body_t b = {idn_bytes_str(id), n, v};
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	h_req_t q = h_req(op, 9);
	size_t len = h_frame(f, cap, &q, body, w.len);
	int fd = h_unix_open(node->ctl);
	h_reply_t r;
	h_reply_init(&r);
	h_stream_call(fd, f, len, &r);
	close(fd);
	uint32_t rc = r.msg.hdr.rc;
	h_reply_free(&r);
	free(body);
	free(f);
	free(v);
	return rc;
}

/* 2048 values in a record at most. */
static void value_count_limit(void **state)
{
	(void)state;
	const char *id = H_HOME "/adm-2048";
	/* 2049 in one request: refused (the codec's count limit: 4, or the
	 * store's: 202) */
	uint32_t over = raw_values(IDN_OC_CREATE, id, 1, 2049);
	if (over != IDN_RC_PROTOCOL_ERROR && over != IDN_RC_INVALID_VALUE)
		fail_msg("2049 values: rc %u, want 4 or 202", over);
	ctl_fail(100, "resolve", id);
	assert_int_equal(raw_values(IDN_OC_CREATE, id, 1, 2048),
			 IDN_RC_SUCCESS);
	uint32_t rc = raw_values(IDN_OC_ADD_VALUE, id, 5000, 1);
	if (rc != IDN_RC_INVALID_VALUE)
		fail_msg("a 2049th value: rc %u, want 202", rc);
	h_run_t r;
	h_net(&r, node, "--json", "resolve", id, NULL); /* TCP fallback */
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "values")), 2048);
	assert_null(h_json_value(j, 5000));
	json_decref(j);
	h_run_free(&r);
}

/* idctl's own errors: exit 2 and one line naming the problem. */
static void idctl_usage_errors(void **state)
{
	(void)state;
	static const char *const cases[][6] = {
		{"create", H_HOME "/x", NULL},
		{"create", H_HOME "/x", "1URL=x", NULL},
		{"create", H_HOME "/x", "x:URL=y", NULL},
		{"create", H_HOME "/x", "1,perms=10:URL=y", NULL},
		{"create", H_HOME "/x", "1,bogus:URL=y", NULL},
		{"create", H_HOME "/x", "1:URL=hex:abc", NULL},
		{"remove", H_HOME "/x", "one", NULL},
		{"delete", NULL},
		{"frobnicate", NULL},
		{"resolve", NULL},
		{"--index", "abc", "resolve", "x/y", NULL},
		{"--timeout", "0", "resolve", "x/y", NULL},
		{"--bogus-flag", "resolve", "x/y", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_run_t r;
		h_ctl_argv(&r, node, cases[i]);
		if (r.status != 2 || h_count_lines(r.err) != 1 || r.outlen != 0)
			fail_msg("idctl %s %s: status %d, stderr \"%s\"; want "
				 "2 and "
				 "one line",
				 cases[i][0], cases[i][1] ? cases[i][1] : "",
				 r.status, r.err);
		h_run_free(&r);
	}
	h_run_t r;
	/* no control socket given */
	h_idctl(&r, "create", H_HOME "/x", "1:URL=y", NULL);
	assert_int_equal(r.status, 2);
	assert_int_equal(h_count_lines(r.err), 1);
	h_run_free(&r);
	/* a control socket nobody listens on */
	char path[200];
	snprintf(path, sizeof(path), "%s/nobody.sock", node->dir);
	h_idctl(&r, "-C", path, "homed", NULL);
	assert_int_equal(r.status, 1);
	assert_int_equal(h_count_lines(r.err), 1);
	h_run_free(&r);
	h_idctl(&r, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "usage: idctl"));
	assert_string_equal(r.err, "");
	h_run_free(&r);
}

static void shutdown_clean(void **state)
{
	(void)state;
	node_stop(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_and_exists),
		cmocka_unit_test(create_overwrite),
		cmocka_unit_test(add_values),
		cmocka_unit_test(modify_values),
		cmocka_unit_test(remove_values),
		cmocka_unit_test(delete_record),
		cmocka_unit_test(unhomed_prefix_refused),
		cmocka_unit_test(invalid_requests),
		cmocka_unit_test(home_unhome_homed),
		cmocka_unit_test(list_prefix),
		cmocka_unit_test(list_many),
		cmocka_unit_test(value_count_limit),
		cmocka_unit_test(idctl_usage_errors),
		cmocka_unit_test(shutdown_clean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
