/* The daemon's log (src/node/log.c): text and JSON lines, and warnings and
 * errors repeated within a window written once with their count, from
 * several threads, in bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static FILE *out;

static int setup(void **state)
{
	(void)state;
	out = tmpfile();
	if (out == NULL)
		return -1;
	log_set_output(out);
	log_set_level(LOG_INFO);
	log_set_format(LOG_TEXT);
	log_set_repeat_window(LOG_REPEAT_WINDOW_MS);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_repeat_window(0);
	log_flush();
	log_set_output(NULL);
	fclose(out);
	return 0;
}

/* Everything written so far, as lines: *n receives their number. The
 * caller frees the array and its first element. */
static char **lines(size_t *n)
{
	fflush(out);
	long len = ftell(out);
	assert_true(len >= 0);
	char *text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	rewind(out);
	assert_int_equal(fread(text, 1, (size_t)len, out), (size_t)len);
	fseek(out, 0, SEEK_END);
	size_t cap = 16, k = 0;
	char **v = malloc(cap * sizeof(*v));
	assert_non_null(v);
	v[0] = text;
	for (char *p = text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl); /* every line ends */
		*nl = '\0';
		if (k + 1 == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[k++] = p;
	}
	if (k == 0)
		v[0] = text;
	*n = k;
	return v;
}

static void free_lines(char **v)
{
	free(v[0]);
	free(v);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void text_line(void **state)
{
	(void)state;
	log_info("listening on %s", "127.0.0.1:2641");
	log_debug("not shown at level info");
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 1);
	/* 2026-11-22T12:00:00Z info: listening on 127.0.0.1:2641 */
	assert_int_equal(strlen(v[0]), 20 + strlen(" info: listening on "
						   "127.0.0.1:2641"));
	assert_int_equal(v[0][10], 'T');
	assert_int_equal(v[0][19], 'Z');
	assert_string_equal(v[0] + 20, " info: listening on 127.0.0.1:2641");
	free_lines(v);
}

static void json_line(void **state)
{
	(void)state;
	log_set_format(LOG_JSON);
	log_warn("bad \"quote\"\tand \xff byte %d", 7);
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 1);
	json_error_t jerr;
	json_t *o = json_loads(v[0], 0, &jerr);
	if (o == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, v[0]);
	assert_string_equal(json_string_value(json_object_get(o, "level")),
			    "warn");
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
			    "bad \"quote\"\tand \xef\xbf\xbd byte 7");
	assert_string_equal(json_string_value(json_object_get(o, "module")),
			    "test_log");
	const char *src = json_string_value(json_object_get(o, "src"));
	assert_non_null(src);
	assert_non_null(strstr(src, "tests/unit/test_log.c:"));
	/* 2026-11-22T12:00:00.123Z: milliseconds, UTC */
	const char *t = json_string_value(json_object_get(o, "time"));
	assert_non_null(t);
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	assert_null(json_object_get(o, "repeated"));
	json_decref(o);
	free_lines(v);
}

static void repeats_collapsed(void **state)
{
	(void)state;
	log_set_repeat_window(300);
	for (int i = 0; i < 500; i++)
		log_error("store: connection refused (%s)", "db:5432");
	log_error("another error");
	log_warn("store: connection refused (%s)", "db:5432"); /* level */
	log_debug("debug lines change %s", "nothing");
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 3);
	assert_string_equal(strchr(v[0], ' '),
			    " error: store: connection refused (db:5432)");
	assert_string_equal(strchr(v[1], ' '), " error: another error");
	assert_string_equal(strchr(v[2], ' '),
			    " warn: store: connection refused (db:5432)");
	free_lines(v);
	/* the window closes without another line: the count follows (the
	 * flusher thread writes it; a loaded machine may delay it) */
	for (int waited = 0; waited < 5000; waited += 50) {
		sleep_ms(50);
		v = lines(&n);
		if (n > 3 || waited + 50 >= 5000)
			break;
		free_lines(v);
	}
	assert_int_equal(n, 4);
	assert_string_equal(strchr(v[3], ' '),
			    " error: store: connection refused (db:5432) "
			    "(repeated 499 more times in 0.3 s)");
	free_lines(v);
	/* after the window the message is written afresh */
	log_error("store: connection refused (%s)", "db:5432");
	v = lines(&n);
	assert_int_equal(n, 5);
	assert_string_equal(strchr(v[4], ' '),
			    " error: store: connection refused (db:5432)");
	free_lines(v);
}

/* An info line tells of a change: the counts come before it, and what
 * repeats after it is written again. Info is never collapsed. */
static void info_closes_windows(void **state)
{
	(void)state;
	log_set_repeat_window(60000);
	for (int i = 0; i < 5; i++)
		log_error("primary unreachable");
	log_warn("once");
	log_info("primary back after %d s", 3);
	log_info("primary back after %d s", 3);
	log_error("primary unreachable");
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 6);
	assert_string_equal(strchr(v[0], ' '), " error: primary unreachable");
	assert_string_equal(strchr(v[1], ' '), " warn: once");
	assert_string_equal(strchr(v[2], ' '),
			    " error: primary unreachable (repeated 4 more "
			    "times in 60 s)");
	assert_string_equal(strchr(v[3], ' '), " info: primary back after 3 s");
	assert_string_equal(strchr(v[4], ' '), " info: primary back after 3 s");
	assert_string_equal(strchr(v[5], ' '), " error: primary unreachable");
	free_lines(v);
}

static void repeat_count_json(void **state)
{
	(void)state;
	log_set_format(LOG_JSON);
	log_set_repeat_window(60000);
	for (int i = 0; i < 4; i++)
		log_warn("slow %d", 1);
	log_flush();
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 2);
	json_t *o = json_loads(v[1], 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
			    "slow 1");
	assert_int_equal(json_integer_value(json_object_get(o, "repeated")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "module")),
			    "test_log");
	json_decref(o);
	free_lines(v);
}

/* More distinct messages than slots: each is written, the evicted one's
 * count with it, and memory stays the table's. */
static void slots_bounded(void **state)
{
	(void)state;
	log_set_repeat_window(60000);
	log_error("first");
	log_error("first");
	for (int i = 0; i < LOG_REPEAT_SLOTS; i++)
		log_error("distinct %d", i);
	size_t n;
	char **v = lines(&n);
	/* "first", then its count when the table filled up, then 32 */
	assert_int_equal(n, 2 + LOG_REPEAT_SLOTS);
	assert_non_null(strstr(v[0], " error: first"));
	int count_at = -1;
	for (size_t i = 1; i < n; i++)
		if (strstr(v[i], "first (repeated 1 more times"))
			count_at = (int)i;
	assert_int_equal(count_at, LOG_REPEAT_SLOTS);
	free_lines(v);
}

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++)
		log_error("outage %s", "ongoing");
	return NULL;
}

static void threads(void **state)
{
	(void)state;
	log_set_repeat_window(60000);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	log_flush();
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 2);
	assert_string_equal(strchr(v[0], ' '), " error: outage ongoing");
	assert_string_equal(strchr(v[1], ' '),
			    " error: outage ongoing (repeated 7999 more times "
			    "in 60 s)");
	free_lines(v);
}

static void window_off(void **state)
{
	(void)state;
	log_set_repeat_window(0);
	for (int i = 0; i < 3; i++)
		log_error("each %s", "time");
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 3);
	free_lines(v);
}

static void format_names(void **state)
{
	(void)state;
	assert_int_equal(log_format_parse("text"), LOG_TEXT);
	assert_int_equal(log_format_parse("json"), LOG_JSON);
	assert_int_equal(log_format_parse("JSON"), -1);
	assert_int_equal(log_format_parse(""), -1);
}

/* JSON lines hold well-formed UTF-8 only: an overlong form, a UTF-16
 * surrogate and a code point past U+10FFFF become U+FFFD byte by byte,
 * while a real multibyte character passes as it is. */
static void json_line_utf8_strict(void **state)
{
	(void)state;
	log_set_format(LOG_JSON);
	log_warn("a\xe0\x80\x80"
		 "b\xed\xa0\x80"
		 "c\xf4\x90\x80\x80"
		 "d\xe7\x94\xb5");
	size_t n;
	char **v = lines(&n);
	assert_int_equal(n, 1);
	json_t *o = json_loads(v[0], 0, NULL);
	assert_non_null(o);
#define R "\xef\xbf\xbd"
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
			    "a" R R R "b" R R R "c" R R R R "d\xe7\x94\xb5");
#undef R
	json_decref(o);
	free_lines(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(text_line, setup, teardown),
		cmocka_unit_test_setup_teardown(json_line, setup, teardown),
		cmocka_unit_test_setup_teardown(json_line_utf8_strict, setup,
						teardown),
		cmocka_unit_test_setup_teardown(repeats_collapsed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(info_closes_windows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(repeat_count_json, setup,
						teardown),
		cmocka_unit_test_setup_teardown(slots_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(threads, setup, teardown),
		cmocka_unit_test_setup_teardown(window_off, setup, teardown),
		cmocka_unit_test(format_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
