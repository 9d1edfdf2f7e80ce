/* idctl's command line: global options anywhere before the command, the
 * command table (--help of every command, --version, usage errors), and
 * template put against a node that answers every write "value exists". */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"
#include "opcode.h"
#include "wire.h"

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
	node_stop(node);
	node_free(node);
	return 0;
}

/* Options that take a value, given before the command, once made idctl
 * take the value for the command ("unknown command" or, for search,
 * "unknown option '--data'"). */
static void globals_before_import(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/g.jsonl", node->dir);
	h_write_file(path, "{\"handle\":\"" H_HOME "/glob-1\",\"values\":["
			   "{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":"
			   "\"string\",\"value\":\"https://g/1\"}}]}\n");
	h_run_t r;
	h_idctl(&r, "--gs1-prefix", "88.1", "-C", node->ctl, "import",
		"--quiet", path, NULL);
	if (r.status != 0)
		fail_msg("import: status %d, stderr \"%s\"", r.status, r.err);
	h_run_free(&r);
	h_ctl(&r, node, "resolve", H_HOME "/glob-1", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://g/1"));
	h_run_free(&r);
	/* export the same way, then the option after the command name */
	h_idctl(&r, "--oid-prefix", "1.2", "-C", node->ctl, "export", H_HOME,
		NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, H_HOME "/glob-1"));
	h_run_free(&r);
}

static void globals_before_search(void **state)
{
	(void)state;
	h_ctl_ok(node, "index", "add", "LOTG", NULL);
	h_ctl_ok(node, "create", H_HOME "/glob-s", "1:LOTG=L-9", NULL);
	h_run_t r;
	h_idctl(&r, "--perms", "0xe", "-C", node->ctl, "search", "--type",
		"LOTG", "--data", "L-9", NULL);
	if (r.status != 0)
		fail_msg("search: status %d, stderr \"%s\"", r.status, r.err);
	assert_string_equal(r.out, H_HOME "/glob-s\n");
	h_run_free(&r);
	/* every valued global option, then index */
	h_idctl(&r, "--timeout", "5000", "--gs1-prefix", "88.1",
		"--ecode-prefix", "88.2", "-C", node->ctl, "--json", "index",
		"list", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "\"LOTG\""));
	h_run_free(&r);
}

static void version_and_help(void **state)
{
	(void)state;
	h_run_t r;
	h_idctl(&r, "--version", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "idctl "
				   "0.1.0"
				   "\n");
	assert_string_equal(r.err, "");
	h_run_free(&r);
	static const char *const cmds[] = {
		"resolve",  "siteinfo", "create",     "delete", "add",
		"modify",   "remove",	"list",	      "home",	"unhome",
		"homed",    "delegate", "undelegate", "import", "export",
		"stats",    "cache",	"template",   "search", "index",
		"admin",    "batch",	"keygen",     "cert",	"sign",
		"populate", "bench",	"migrate",
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		h_idctl(&r, cmds[i], "--help", NULL);
		if (r.status != 0 || strstr(r.out, "usage: idctl") == NULL ||
		    r.errlen != 0)
			fail_msg(
				"idctl %s --help: status %d, stdout \"%.80s\", "
				"stderr \"%s\"",
				cmds[i], r.status, r.out, r.err);
		h_run_free(&r);
	}
	/* the main help lists every command of the table */
	h_idctl(&r, "--help", NULL);
	h_assert_status(&r, 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char word[40];
		snprintf(word, sizeof(word), "\n  %s ", cmds[i]);
		if (strstr(r.out, word) == NULL)
			fail_msg("idctl --help does not list %s", cmds[i]);
	}
	h_run_free(&r);
}

/* Usage errors: exit 2, one line on stderr naming what was wrong. */
static void usage_errors(void **state)
{
	(void)state;
	static const struct {
		const char *args[6];
		const char *names;
	} cases[] = {
		{{"frobnicate", NULL}, "frobnicate"},
		{{"--bogus", "homed", NULL}, "--bogus"},
		{{"homed", "--bogus", NULL}, "--bogus"},
		{{"-C", NULL}, "-C"},
		{{"--perms", NULL}, "--perms"},
		{{"import", NULL}, "import"},
		{{"import", "--quiet", "--format", NULL}, "--format"},
		{{"search", "--data", "x", NULL}, "--type"},
		{{"--verify", NULL}, "command"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_run_t r;
		h_ctl_argv(&r, node, cases[i].args);
		if (r.status != 2 || h_count_lines(r.err) != 1 ||
		    strstr(r.err, cases[i].names) == NULL || r.outlen != 0)
			fail_msg("idctl %s: status %d, stderr \"%s\"; want 2 "
				 "and one line naming %s",
				 cases[i].args[0], r.status, r.err,
				 cases[i].names);
		h_run_free(&r);
	}
}

/* ---- a control socket that answers every request "value exists" ---- */

typedef struct {
	int lfd;
	uint32_t ops[16];
	int nops;
} fake_t;

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *fake_main(void *arg)
{
	fake_t *f = arg;
	static uint8_t in[IDN_ENV_LEN + IDN_MSG_MAX];
	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		idn_env_t env;
		idn_msg_t m;
		while (read_full(fd, in, IDN_ENV_LEN) == 0 &&
		       idn_env_decode(in, IDN_ENV_LEN, &env) == 0 &&
		       read_full(fd, in + IDN_ENV_LEN, env.msg_len) == 0 &&
		       idn_msg_decode(in + IDN_ENV_LEN, env.msg_len, &m) == 0) {
			if (f->nops < 16)
				f->ops[f->nops++] = m.hdr.op;
			uint8_t out[256];
			idn_wr_t w;
			idn_wr_init(&w, out, sizeof(out));
			idn_env_t re = env;
			re.flags = 0;
			idn_hdr_t h = m.hdr;
			h.rc = IDN_RC_VALUE_EXISTS;
			idn_msg_mark_t mk = idn_msg_start(&w, &re, &h);
			idn_error_body_encode(&w, idn_bytes_str("exists"));
			idn_msg_finish(&w, mk, NULL);
			if (write(fd, out, w.len) != (ssize_t)w.len)
				break;
		}
		close(fd);
	}
}

/* template put adds the version, and on "value exists" replaces it once:
 * a node that keeps answering "value exists" gets two requests and a
 * refusal (it once got a third, written past the end of the op list). */
static void template_put_value_exists(void **state)
{
	(void)state;
	fake_t f = {.nops = 0};
	char sock[100], tpl[200];
	snprintf(sock, sizeof(sock), "%.80s/fake.sock", node->dir);
	snprintf(tpl, sizeof(tpl), "%s/t.json", node->dir);
	h_write_file(tpl,
		     "{\"prefix\":\"" H_HOME "\",\"name\":\"t\","
		     "\"version\":1,\"industry\":\"C\",\"items\":["
		     "{\"name\":\"B\",\"index\":2003,\"type\":\"string\"}]}");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.lfd, 8), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fake_main, &f), 0);
	h_run_t r;
	h_idctl(&r, "-C", sock, "template", "put", H_HOME, tpl, NULL);
	shutdown(f.lfd, SHUT_RDWR);
	close(f.lfd);
	pthread_join(t, NULL);
	if (r.status != 1 || strstr(r.err, "rc 201") == NULL)
		fail_msg("template put: status %d, stderr \"%s\"", r.status,
			 r.err);
	h_run_free(&r);
	if (f.nops != 2 || f.ops[0] != IDN_OC_ADD_VALUE ||
	    f.ops[1] != IDN_OC_MODIFY_VALUE)
		fail_msg(
			"template put sent %d requests (first ops %u, %u, %u); "
			"want ADD_VALUE then MODIFY_VALUE",
			f.nops, f.ops[0], f.ops[1], f.ops[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(globals_before_import),
		cmocka_unit_test(globals_before_search),
		cmocka_unit_test(version_and_help),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(template_put_value_exists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
