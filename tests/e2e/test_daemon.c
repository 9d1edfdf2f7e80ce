/* The daemon as a program: its control socket (mode 0600, one owner), the
 * config file and flags overriding it, --help and bad flags, listeners that
 * cannot be opened, signals, and shutting down with clients connected. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void control_socket_mode(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	/* even when started with a permissive umask */
	mode_t old = umask(0);
	node_start(n);
	umask(old);
	struct stat st;
	assert_int_equal(stat(n->ctl, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	if ((st.st_mode & 07777) != 0600)
		fail_msg("control socket mode %04o, want 0600",
			 (unsigned)(st.st_mode & 07777));
	assert_int_equal(st.st_uid, getuid());
	node_stop(n);
	node_free(n);
}

/* Counts the lines of the log that contain s. */
static int log_count(const node_t *n, const char *s)
{
	char *log = node_log(n);
	int k = 0;
	for (const char *p = log; (p = strstr(p, s)) != NULL; p += strlen(s))
		k++;
	free(log);
	return k;
}

static void second_node_refused(void **state)
{
	(void)state;
	node_t *a = node_new("--home", H_HOME, NULL);
	node_start(a);
	h_ctl_ok(a, "create", H_HOME "/first", "1:URL=https://first", NULL);
	for (int same_data = 0; same_data < 2; same_data++) {
		/* another node, own port and log, on a's control socket */
		node_t *b = node_create();
		b->bare = true;
		node_pick_port(b);
		node_set_args(b, "--data", same_data ? a->data : b->data,
			      "--listen", b->addr, "--control", a->ctl,
			      "--home", H_HOME, NULL);
		node_spawn(b);
		int st = node_wait_exit(b, H_START_TIMEOUT_MS);
		if (st <= 0) {
			node_dump_log(b);
			fail_msg("a second idnode on the same control socket: "
				 "status "
				 "%d, want a refusal",
				 st);
		}
		char *log = node_log(b);
		if (strstr(log, a->ctl) == NULL ||
		    strstr(log, "in use") == NULL)
			fail_msg("want a clear message naming %s, got:\n%s",
				 a->ctl, log);
		assert_int_equal(log_count(b, "idnode ready"), 0);
		free(log);
		node_free(b);
		/* the first one is untouched and still in charge */
		struct stat sb;
		assert_int_equal(stat(a->ctl, &sb), 0);
		h_ctl_ok(a, "create",
			 same_data ? H_HOME "/third" : H_HOME "/second",
			 "1:URL=https://x", NULL);
		assert_true(node_alive(a));
	}
	node_stop(a);
	node_free(a);
}

/* Reply length of a resolution of one DESC value of d bytes. */
static size_t reply_len(const char *id, size_t d)
{
	return 24 + 4 + strlen(id) + 4 + (26 + 4 + d) + 4;
}

/* Resolves id over raw UDP; true when the node refused the reply as over
 * its UDP limit (rc 2: ask over TCP). */
static bool truncated(node_t *n, const char *id)
{
	uint8_t req[256];
	size_t len = h_resolve_simple(req, sizeof(req), 5, id);
	h_reply_t r;
	h_reply_init(&r);
	h_udp_call(n, req, len, &r);
	bool t = r.msg.hdr.rc == IDN_RC_ERROR;
	if (!t)
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(r.env.flags & IDN_EF_TRUNCATED, 0);
	h_reply_free(&r);
	return t;
}

static void config_file_and_overrides(void **state)
{
	(void)state;
	node_t *n = node_create();
	n->bare = true;
	node_pick_port(n);
	char cfg[256], data[256], text[2048];
	const char *ctl = n->ctl;
	snprintf(cfg, sizeof(cfg), "%s/idnode.conf", n->dir);
	snprintf(data, sizeof(data), "%s/cfgdata", n->dir);
	snprintf(n->ctl, sizeof(n->ctl), "%s/cfg.sock", n->dir);
	snprintf(text, sizeof(text),
		 "# idnode test configuration\n"
		 "\n"
		 "data = %s\n"
		 "control %s\n"
		 "  listen   %s  \n"
		 "home 99.99\n"
		 "home 99.98\n"
		 "workers 1\n"
		 "log-level error\n"
		 "udp-reply-max = 1024\n"
		 "tcp-idle-timeout 30\n",
		 data, ctl, n->addr);
	h_write_file(cfg, text);
	/* flags override the file: --home replaces its list, --log-level
	 * and --udp-reply-max its values */
	node_set_args(n, "-c", cfg, "--home", H_HOME, "--log-level", "info",
		      "--udp-reply-max", "2048", NULL);
	node_start(n); /* "idnode ready" is logged: info, not error */
	struct stat st;
	char mdb[300];
	/* on PostgreSQL the data directory is made but holds no store */
	snprintf(mdb, sizeof(mdb), h_pg() ? "%s" : "%s/data.mdb", data);
	if (stat(mdb, &st) != 0)
		fail_msg("no %s at %s: the config's data was not used",
			 h_pg() ? "data directory" : "store", mdb);
	h_run_t r;
	h_ctl(&r, n, "--json", "homed", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	char *got = json_dumps(json_object_get(j, "prefixes"), JSON_COMPACT);
	assert_string_equal(got, "[\"" H_HOME "\"]");
	free(got);
	json_decref(j);
	h_run_free(&r);
	/* replies of 1500 bytes fit (the file's 1024 was overridden), 2100
	 * do not (2048 applies, not the default 65536) */
	const char *mid = H_HOME "/mid", *large = H_HOME "/large";
	char v[2200];
	int off = snprintf(v, sizeof(v), "1:DESC=");
	size_t d = 1500 - reply_len(mid, 0);
	memset(v + off, 'm', d);
	v[off + (int)d] = 0;
	h_ctl_ok(n, "create", mid, v, NULL);
	d = 2100 - reply_len(large, 0);
	memset(v + off, 'l', d);
	v[off + (int)d] = 0;
	h_ctl_ok(n, "create", large, v, NULL);
	assert_false(truncated(n, mid));
	assert_true(truncated(n, large));
	node_stop(n);

	/* the file alone: its log level holds back info lines */
	node_set_args(n, "-c", cfg, NULL);
	node_spawn(n);
	bool up = false;
	for (int i = 0; i < H_START_TIMEOUT_MS / 20 && !up; i++) {
		if (access(ctl, F_OK) == 0) {
			h_ctl(&r, n, "homed", NULL);
			up = r.status == 0;
			if (up) /* homed at start from the file, on top */
				assert_string_equal(r.out,
						    H_HOME "\n99.98\n99.99\n");
			h_run_free(&r);
		}
		if (!up)
			h_msleep(20);
	}
	if (!up) {
		node_dump_log(n);
		fail_msg("idnode with the config file alone did not come up");
	}
	assert_true(truncated(n, mid)); /* 1024 from the file */
	node_stop(n);
	assert_int_equal(log_count(n, " info: "), 0);
	node_free(n);
}

/* Runs idnode with argv (NULL-terminated after argv[0] = idnode). */
static int idnode(h_run_t *r, const char *arg, ...)
{
	const char *argv[16];
	int k = 0;
	argv[k++] = h_bin("idnode");
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *))
		argv[k++] = a;
	va_end(ap);
	argv[k] = NULL;
	return h_run(r, H_START_TIMEOUT_MS, argv);
}

/* Fails unless r exited non-zero with exactly one line on stderr that
 * contains want. */
static void one_line_error(h_run_t *r, const char *want, const char *what)
{
	if (r->status <= 0 || r->status >= 128 || h_count_lines(r->err) != 1 ||
	    strstr(r->err, want) == NULL || r->outlen != 0)
		fail_msg("idnode %s: status %d, stdout \"%s\", stderr \"%s\"; "
			 "want "
			 "a non-zero exit and one line with \"%s\"",
			 what, r->status, r->out, r->err, want);
	h_run_free(r);
}

static void help_and_bad_flags(void **state)
{
	(void)state;
	h_run_t r;
	idnode(&r, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "usage: idnode"));
	assert_non_null(strstr(r.out, "--udp-reply-max"));
	assert_string_equal(r.err, "");
	h_run_free(&r);
	idnode(&r, "-h", NULL);
	assert_int_equal(r.status, 0);
	h_run_free(&r);
	idnode(&r, "--version", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "idnode "));
	h_run_free(&r);

	idnode(&r, "--no-such-flag", NULL);
	one_line_error(&r, "--no-such-flag", "--no-such-flag");
	idnode(&r, "-q", NULL);
	one_line_error(&r, "-q", "-q");
	idnode(&r, "--workers", NULL);
	one_line_error(&r, "--workers", "--workers (no value)");
	idnode(&r, "--workers", "many", NULL);
	one_line_error(&r, "many", "--workers many");
	idnode(&r, "--udp-reply-max", "100", NULL);
	one_line_error(&r, "udp-reply-max", "--udp-reply-max 100");
	idnode(&r, "--log-level", "loud", NULL);
	one_line_error(&r, "loud", "--log-level loud");
	idnode(&r, "--map-size", "12Q", NULL);
	one_line_error(&r, "12Q", "--map-size 12Q");
	idnode(&r, "stray-argument", NULL);
	one_line_error(&r, "stray-argument", "stray-argument");
	idnode(&r, "-c", "/nonexistent/idnode.conf", NULL);
	one_line_error(&r, "/nonexistent/idnode.conf", "-c missing file");

	/* config file mistakes name the file and line */
	node_t *n = node_create();
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "%s/bad.conf", n->dir);
	static const char *const bad[][2] = {
		{"workers 2\nfrobnicate yes\n", ":2"},
		{"# c\n\nlisten\n", ":3"},
		{"udp-reply-max 12\n", ":1"},
		{"case-sensitive-suffix maybe\n", ":1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_write_file(cfg, bad[i][0]);
		idnode(&r, "-c", cfg, NULL);
		char want[300];
		snprintf(want, sizeof(want), "%s%s", cfg, bad[i][1]);
		one_line_error(&r, want, bad[i][0]);
	}
	node_free(n);
}

/* A listener that cannot be opened stops the start with a message. */
static void listen_failures(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_pick_port(n);
	/* hold the TCP port without SO_REUSEPORT */
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(n->port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	node_spawn(n);
	int st = node_wait_exit(n, H_START_TIMEOUT_MS);
	close(fd);
	if (st <= 0 || st >= 128 || log_count(n, "cannot listen") == 0) {
		node_dump_log(n);
		fail_msg("port in use: status %d", st);
	}
	/* nothing is left behind: the control socket was never made */
	assert_int_not_equal(access(n->ctl, F_OK), 0);
	/* an address that does not parse */
	node_set_args(n, "--listen", "not-an-address", NULL);
	n->bare = false;
	node_spawn(n);
	st = node_wait_exit(n, H_START_TIMEOUT_MS);
	if (st <= 0 || st >= 128 || log_count(n, "not-an-address") == 0) {
		node_dump_log(n);
		fail_msg("bad --listen: status %d", st);
	}
	/* and then the same node starts fine */
	node_clear_args(n);
	node_start(n);
	node_stop(n);
	node_free(n);
}

static void signals(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/sig", "1:URL=https://sig", NULL);
	/* SIGHUP: keeps serving */
	assert_int_equal(kill(n->pid, SIGHUP), 0);
	h_run_t r;
	h_net(&r, n, "resolve", H_HOME "/sig", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_true(node_alive(n));
	/* SIGINT: a clean exit like SIGTERM */
	assert_int_equal(kill(n->pid, SIGINT), 0);
	int st = node_wait_exit(n, H_STOP_TIMEOUT_MS);
	if (st != 0) {
		node_dump_log(n);
		fail_msg("exit status %d after SIGINT, want 0", st);
	}
	assert_int_equal(log_count(n, "stopped"), 1);
	node_free(n);
}

/* SIGTERM while clients hold connections, some in the middle of a
 * request: the node still exits at once and cleanly, closing them. */
static void stop_with_clients_connected(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	uint8_t req[256];
	size_t len = h_resolve_simple(req, sizeof(req), 1, H_HOME "/x");
	int fds[8];
	for (int i = 0; i < 8; i++) {
		fds[i] = i < 4 ? h_tcp_open(n) : h_unix_open(n->ctl);
		if (i % 4 == 1) /* half a request */
			assert_int_equal(h_write_all(fds[i], req, len / 2), 0);
		if (i % 4 == 2) { /* a whole one, answered, then idle */
			h_reply_t r;
			h_reply_init(&r);
			h_stream_call(fds[i], req, len, &r);
			assert_int_equal(r.msg.hdr.rc, IDN_RC_NOT_FOUND);
			h_reply_free(&r);
		}
		if (i % 4 == 3) /* just an envelope */
			assert_int_equal(h_write_all(fds[i], req, IDN_ENV_LEN),
					 0);
	}
	node_stop(n);
	for (int i = 0; i < 8; i++) {
		if (h_drain(fds[i], H_IO_TIMEOUT_MS) != 0)
			fail_msg("connection %d still open after the node "
				 "exited",
				 i);
		close(fds[i]);
	}
	node_free(n);
}

/* --case-sensitive-suffix: suffixes compare exactly, prefixes still
 * ignore case. */
static void case_sensitive_suffix(void **state)
{
	(void)state;
	node_t *n =
		node_new("--home", "ab.cd", "--case-sensitive-suffix", NULL);
	node_start(n);
	h_ctl_ok(n, "create", "ab.cd/Thing", "1:URL=https://upper", NULL);
	h_ctl_ok(n, "create", "ab.cd/thing", "1:URL=https://lower", NULL);
	static const char *const cases[][2] = {
		{"ab.cd/Thing", "https://upper"},
		{"AB.CD/Thing", "https://upper"},
		{"ab.cd/thing", "https://lower"},
		{"Ab.Cd/thing", "https://lower"},
		{"ab.cd/THING", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_run_t r;
		h_net(&r, n, "--json", "resolve", cases[i][0], NULL);
		if (cases[i][1] == NULL) {
			h_assert_status(&r, 1);
			assert_non_null(strstr(r.err, "(rc 100)"));
		} else {
			h_assert_status(&r, 0);
			json_t *j = h_json(&r);
			assert_string_equal(
				json_string_value(json_object_get(
					json_object_get(h_json_value(j, 1),
							"data"),
					"value")),
				cases[i][1]);
			json_decref(j);
		}
		h_run_free(&r);
	}
	node_stop(n);
	/* and without the flag the two collide */
	node_t *m = node_new("--home", "ab.cd", NULL);
	node_start(m);
	h_ctl_ok(m, "create", "ab.cd/Thing", "1:URL=https://upper", NULL);
	h_run_t r;
	h_ctl(&r, m, "create", "ab.cd/thing", "1:URL=https://lower", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 101)"));
	h_run_free(&r);
	node_stop(m);
	node_free(m);
	node_free(n);
}

/* Two --listen addresses: both answer on UDP and TCP. */
static void two_listeners(void **state)
{
	(void)state;
	node_t *n = node_create();
	node_pick_port(n);
	char second[32];
	uint16_t p2;
	do
		p2 = h_free_port();
	while (p2 == n->port);
	snprintf(second, sizeof(second), "127.0.0.1:%u", p2);
	/* the harness passes --listen n->addr; this adds a second one */
	node_set_args(n, "--listen", second, "--home", H_HOME, NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/two", "1:URL=https://two", NULL);
	const char *addrs[] = {n->addr, second};
	for (int i = 0; i < 2; i++)
		for (int tcp = 0; tcp < 2; tcp++) {
			h_run_t r;
			if (tcp)
				h_idctl(&r, "-s", addrs[i], "--tcp", "resolve",
					H_HOME "/two", NULL);
			else
				h_idctl(&r, "-s", addrs[i], "resolve",
					H_HOME "/two", NULL);
			h_assert_status(&r, 0);
			assert_non_null(strstr(r.out, "https://two"));
			h_run_free(&r);
		}
	node_stop(n);
	node_free(n);
}

/* tcp-idle-timeout (config file): an idle connection is closed, a busy
 * one is not. */
static void tcp_idle_timeout(void **state)
{
	(void)state;
	node_t *n = node_create();
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "%s/idle.conf", n->dir);
	h_write_file(cfg, "tcp-idle-timeout 1\n");
	node_set_args(n, "-c", cfg, "--home", H_HOME, NULL);
	node_start(n);
	int idle = h_tcp_open(n), busy = h_tcp_open(n);
	uint8_t req[256];
	size_t len = h_resolve_simple(req, sizeof(req), 3, H_HOME "/x");
	h_reply_t r;
	h_reply_init(&r);
	/* keep busy talking every 300 ms while idle goes quiet */
	bool closed = false;
	for (int i = 0; i < 40 && !closed; i++) {
		h_stream_call(busy, req, len, &r);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_NOT_FOUND);
		closed = h_drain(idle, 300) == 0;
	}
	if (!closed)
		fail_msg("an idle connection was still open after 12 s with "
			 "tcp-idle-timeout 1");
	h_stream_call(busy, req, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_NOT_FOUND);
	h_reply_free(&r);
	close(idle);
	close(busy);
	node_stop(n);
	node_free(n);
}

/* --store names an LMDB store as lmdb:DIR (the data directory then holds
 * only the control socket); a name that is not one is refused. */
static void store_named_lmdb(void **state)
{
	(void)state;
	h_skip_on_pg("the node runs on an LMDB store of its own");
	node_t *n = node_create();
	char store[512], dir[400];
	snprintf(dir, sizeof(dir), "%s/named", n->data);
	snprintf(store, sizeof(store), "lmdb:%s", dir);
	node_add_args(n, "--home", H_HOME, "--store", store, NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/named", "1:URL=https://named", NULL);
	h_run_t r;
	h_net(&r, n, "resolve", H_HOME "/named", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://named"));
	h_run_free(&r);
	node_stop(n);
	struct stat st;
	char mdb[500];
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", dir);
	if (stat(mdb, &st) != 0)
		fail_msg("no store at %s", mdb);
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", n->data);
	if (stat(mdb, &st) == 0)
		fail_msg("a store at %s too", mdb);
	idnode(&r, "--data", n->data, "--store", "lmdb:", NULL);
	one_line_error(&r, "lmdb:DIR", "--store lmdb:");
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_socket_mode),
		cmocka_unit_test(second_node_refused),
		cmocka_unit_test(config_file_and_overrides),
		cmocka_unit_test(help_and_bad_flags),
		cmocka_unit_test(listen_failures),
		cmocka_unit_test(signals),
		cmocka_unit_test(stop_with_clients_connected),
		cmocka_unit_test(case_sensitive_suffix),
		cmocka_unit_test(two_listeners),
		cmocka_unit_test(tcp_idle_timeout),
		cmocka_unit_test(store_named_lmdb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
