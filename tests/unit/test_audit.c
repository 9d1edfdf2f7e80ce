/* The audit log's lines (src/node/audit.c): JSON escaping of control
 * characters, identifiers that are not UTF-8 (U+FFFD in "id", the exact
 * bytes in "id_hex"), the principal and source fields, the time format,
 * and appending through a real file. Each line is parsed back with
 * jansson. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit.h"

static json_t *parse(const audit_buf_t *b)
{
	assert_non_null(b->buf);
	assert_true(b->len > 0);
	assert_int_equal(b->buf[b->len - 1], '\n');
	/* one line: no raw newline before the end */
	assert_null(memchr(b->buf, '\n', b->len - 1));
	json_error_t e;
	json_t *j = json_loadb(b->buf, b->len - 1, 0, &e);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, b->buf);
	return j;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void escapes_control_characters(void **state)
{
	(void)state;
	static const uint8_t raw[] = "a\"b\\c\nd\re\tf\x01g\x1fh\x7fi";
	audit_buf_t b = {0};
	bool lossy = true;
	assert_int_equal(audit_json_str(&b, raw, sizeof(raw) - 1, &lossy), 0);
	assert_false(lossy);
	assert_string_equal(
		b.buf, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\\u007fi\"");
	audit_buf_free(&b);
	/* NUL inside is kept as an escape, not a terminator */
	static const uint8_t nul[] = {'x', 0, 'y'};
	assert_int_equal(audit_json_str(&b, nul, 3, &lossy), 0);
	assert_string_equal(b.buf, "\"x\\u0000y\"");
	audit_buf_free(&b);
}

static void keeps_utf8_replaces_the_rest(void **state)
{
	(void)state;
	audit_buf_t b = {0};
	bool lossy;
	/* é, €, 𝄞 pass as they are */
	const char *good = "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
	assert_int_equal(
		audit_json_str(&b, (const uint8_t *)good, strlen(good), &lossy),
		0);
	assert_false(lossy);
	assert_int_equal(b.len, strlen(good) + 2);
	assert_memory_equal(b.buf + 1, good, strlen(good));
	audit_buf_free(&b);
	/* a lone continuation, an overlong '/', a surrogate, a cut
	 * sequence: each bad byte becomes U+FFFD */
	static const uint8_t bad[] = {0x80, 'a',  0xc0, 0xaf, 0xed,
				      0xa0, 0x80, 'b',	0xe2, 0x82};
	assert_int_equal(audit_json_str(&b, bad, sizeof(bad), &lossy), 0);
	assert_true(lossy);
	assert_string_equal(b.buf, "\"\\ufffda\\ufffd\\ufffd\\ufffd\\ufffd"
				   "\\ufffdb\\ufffd\\ufffd\"");
	audit_buf_free(&b);
}

static void write_line_fields(void **state)
{
	(void)state;
	static const uint8_t id[] = {'8', '8', '/', 'x', 0xff, '\n', 'y'};
	const uint32_t ix[] = {1, 100};
	principal_t admin = {PRINCIPAL_ADMIN, idn_bytes_str("0.NA/88.118.8"),
			     300, NULL};
	struct sockaddr_in6 peer = {.sin6_family = AF_INET6,
				    .sin6_port = htons(2641)};
	peer.sin6_addr.s6_addr[15] = 1;
	audit_rec_t rec = {.event = AUDIT_WRITE,
			   .when = {1796636880, 123456789},
			   .who = &admin,
			   .transport = TRANSPORT_TCP,
			   .peer = (const struct sockaddr_storage *)&peer,
			   .op = "create",
			   .id = idn_bytes(id, sizeof(id)),
			   .indexes = ix,
			   .nindexes = 2,
			   .has_indexes = true,
			   .rc = 101,
			   .error = "identifier already exists"};
	audit_buf_t b = {0};
	assert_int_equal(audit_format(&rec, &b), 0);
	json_t *j = parse(&b);
	assert_string_equal(str(j, "time"), "2026-12-07T09:48:00.123Z");
	assert_string_equal(str(j, "event"), "write");
	json_t *p = json_object_get(j, "principal");
	assert_string_equal(str(p, "kind"), "admin");
	assert_string_equal(str(p, "admin"), "300:0.NA/88.118.8");
	assert_null(json_object_get(p, "admin_hex"));
	assert_string_equal(str(j, "source"), "[::1]:2641");
	assert_string_equal(str(j, "transport"), "tcp");
	assert_string_equal(str(j, "op"), "create");
	assert_string_equal(str(j, "id"), "88/x\xef\xbf\xbd\ny");
	assert_string_equal(str(j, "id_hex"), "38382f78ff0a79");
	json_t *jx = json_object_get(j, "indexes");
	assert_int_equal(json_array_size(jx), 2);
	assert_int_equal(json_integer_value(json_array_get(jx, 1)), 100);
	assert_int_equal(json_integer_value(json_object_get(j, "rc")), 101);
	assert_string_equal(str(j, "error"), "identifier already exists");
	json_decref(j);
	audit_buf_free(&b);
}

static void principals_and_sources(void **state)
{
	(void)state;
	principal_t http = {PRINCIPAL_HTTP, {NULL, 0}, 0, "admin-token"};
	principal_t oper = {PRINCIPAL_OPERATOR, {NULL, 0}, 0, NULL};
	struct sockaddr_in v4 = {.sin_family = AF_INET,
				 .sin_port = htons(8000)};
	v4.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	audit_rec_t rec = {.who = &http,
			   .transport = TRANSPORT_HTTP,
			   .peer = (const struct sockaddr_storage *)&v4,
			   .op = "delete",
			   .id = idn_bytes_str("88.118.8/h"),
			   .rc = 1};
	audit_buf_t b = {0};
	assert_int_equal(audit_format(&rec, &b), 0);
	json_t *j = parse(&b);
	assert_string_equal(str(json_object_get(j, "principal"), "user"),
			    "admin-token");
	assert_string_equal(str(j, "source"), "192.0.2.1:8000");
	assert_null(json_object_get(j, "error"));
	assert_null(json_object_get(j, "indexes"));
	json_decref(j);
	audit_buf_free(&b);

	rec.who = &oper;
	rec.transport = TRANSPORT_CONTROL;
	rec.peer = NULL;
	assert_int_equal(audit_format(&rec, &b), 0);
	j = parse(&b);
	assert_string_equal(str(json_object_get(j, "principal"), "kind"),
			    "operator");
	assert_string_equal(str(j, "source"), "control");
	assert_string_equal(str(j, "transport"), "control");
	json_decref(j);
	audit_buf_free(&b);

	/* a failed authentication: anonymous, what it claimed */
	static const uint8_t claimed[] = {'0', '.', 'N', 'A', '/', 0xc3};
	audit_rec_t auth = {.event = AUDIT_AUTH,
			    .transport = TRANSPORT_UDP,
			    .peer = (const struct sockaddr_storage *)&v4,
			    .op = "create",
			    .rc = 403,
			    .error = "signature does not verify",
			    .claimed = idn_bytes(claimed, sizeof(claimed)),
			    .claimed_index = 300,
			    .method = "challenge answer"};
	assert_int_equal(audit_format(&auth, &b), 0);
	j = parse(&b);
	assert_string_equal(str(j, "event"), "auth failure");
	assert_string_equal(str(json_object_get(j, "principal"), "kind"),
			    "anonymous");
	assert_string_equal(str(j, "claimed"), "300:0.NA/\xef\xbf\xbd");
	assert_string_equal(str(j, "claimed_hex"), "302e4e412fc3");
	assert_string_equal(str(j, "method"), "challenge answer");
	json_decref(j);
	audit_buf_free(&b);
}

static void appends_and_limits_unproven(void **state)
{
	(void)state;
	char path[] = "/tmp/idn-audit-unit.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	audit_t *a;
	assert_int_equal(audit_open(path, false, &a), 0);
	assert_true(audit_gate(a));
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	v4.sin_addr.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
	audit_rec_t rec = {.event = AUDIT_AUTH,
			   .transport = TRANSPORT_UDP,
			   .peer = (const struct sockaddr_storage *)&v4,
			   .rc = 405,
			   .method = "challenge answer"};
	for (int i = 0; i < 3 * AUDIT_SOURCE_RATE; i++) {
		/* another host of the same /24 shares its budget */
		v4.sin_addr.s_addr = htonl(0xc6336401 + (uint32_t)(i % 7));
		assert_int_equal(audit_write(a, &rec), 0);
	}
	audit_close(a); /* writes the summary */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[1024];
	int auth = 0, summaries = 0, opens = 0;
	long suppressed = 0;
	while (fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		const char *e = str(j, "event");
		if (strcmp(e, "open") == 0) {
			opens++;
		} else if (strcmp(e, "auth failure") == 0) {
			auth++;
		} else {
			assert_string_equal(e, "suppressed");
			assert_string_equal(str(j, "source"),
					    "198.51.100.0/24");
			summaries++;
			suppressed +=
				json_integer_value(json_object_get(j, "count"));
		}
		json_decref(j);
	}
	fclose(f);
	unlink(path);
	assert_int_equal(opens, 1);
	/* the loop may cross a second: at most two windows */
	assert_true(auth >= AUDIT_SOURCE_RATE && auth <= 2 * AUDIT_SOURCE_RATE);
	assert_true(summaries >= 1);
	assert_int_equal(auth + suppressed, 3 * AUDIT_SOURCE_RATE);
}

static void unwritable_closes_the_gate(void **state)
{
	(void)state;
	audit_t *a;
	assert_int_equal(audit_open("/dev/full", true, &a), 0);
	/* the opening line could not be written */
	assert_false(audit_gate(a));
	principal_t oper = {PRINCIPAL_OPERATOR, {NULL, 0}, 0, NULL};
	audit_rec_t rec = {.who = &oper,
			   .transport = TRANSPORT_CONTROL,
			   .op = "create",
			   .rc = 1};
	assert_int_equal(audit_write(a, &rec), -ENOSPC);
	assert_false(audit_gate(a));
	audit_close(a);
	/* not required: writes go on whatever the log does */
	assert_int_equal(audit_open("/dev/full", false, &a), 0);
	assert_true(audit_gate(a));
	audit_close(a);
	assert_int_equal(audit_open("/nonexistent-dir/audit", false, &a),
			 -ENOENT);
	assert_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_control_characters),
		cmocka_unit_test(keeps_utf8_replaces_the_rest),
		cmocka_unit_test(write_line_fields),
		cmocka_unit_test(principals_and_sources),
		cmocka_unit_test(appends_and_limits_unproven),
		cmocka_unit_test(unwritable_closes_the_gate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
