/* idnode's configuration (src/node/config.c): the schema's defaults, a
 * config file and flags loaded through it, bounds and unknown keys refused
 * with one line naming what was wrong, flags replacing the file's lists,
 * and a usage text that shows every row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char cfg_path[64];

static int setup(void **state)
{
	(void)state;
	strcpy(cfg_path, "/tmp/test_config.XXXXXX");
	int fd = mkstemp(cfg_path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cfg_path);
	return 0;
}

static void write_cfg(const char *text)
{
	FILE *f = fopen(cfg_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* What conf_load wrote to one of the standard streams (fd 1 or 2). */
static char captured[32768]; /* the usage text fits */

/* Runs conf_load on argv (NULL-terminated after argv[0]), with the
 * config file holding file first (-c) unless file is NULL; what it prints
 * on fd goes to captured. */
static int load_fd(node_conf_t *c, int fd, const char *file, const char *arg,
		   va_list ap)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = "idnode";
	if (file != NULL) {
		write_cfg(file);
		argv[argc++] = "-c";
		argv[argc++] = cfg_path;
	}
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;

	char out_path[] = "/tmp/test_config_out.XXXXXX";
	int tmp = mkstemp(out_path);
	assert_true(tmp >= 0);
	fflush(stdout);
	fflush(stderr);
	int saved = dup(fd);
	dup2(tmp, fd);
	int rc = conf_load(c, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	ssize_t n = pread(tmp, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = 0;
	close(tmp);
	unlink(out_path);
	return rc;
}

static int load(node_conf_t *c, const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int rc = load_fd(c, 2, file, arg, ap);
	va_end(ap);
	return rc;
}

static int load_out(node_conf_t *c, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int rc = load_fd(c, 1, NULL, arg, ap);
	va_end(ap);
	return rc;
}

static void defaults(void **state)
{
	(void)state;
	node_conf_t c;
	assert_int_equal(load(&c, NULL, NULL), 0);
	assert_string_equal(captured, "");
	assert_string_equal(c.data, "idnode-data");
	assert_string_equal(c.control, "idnode-data/control.sock");
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(c.listen[0], "0.0.0.0:2641");
	assert_string_equal(c.listen[1], "[::]:2641");
	assert_int_equal(c.nhome, 0);
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_true(c.map_size == 64ull << 30);
	assert_false(c.case_suffix);
	assert_int_equal(c.udp_reply_max, 65536);
	assert_int_equal(c.tcp_idle_timeout, 60);
	assert_int_equal(c.session_lifetime, 3600);
	assert_false(c.read_challenge);
	assert_int_equal(c.tcp_max_conns, 1024);
	assert_int_equal(c.tcp_max_per_source, 64);
	assert_int_equal(c.tcp_max_per_network, 256);
	assert_int_equal(c.tcp_message_timeout, 10);
	assert_true(c.auth_cost_rate == 100000);
	assert_true(c.auth_cost_burst == 400000);
	assert_int_equal(c.rrl_rate, 200);
	assert_int_equal(c.rrl_burst, 0);
	assert_int_equal(c.rrl_slip, 2);
	assert_int_equal(c.site_serial, 1);
	assert_false(c.recursive);
	assert_true(c.cache_size == 256ull << 20);
	assert_int_equal(c.cache_max_ttl, 86400);
	assert_int_equal(c.cache_neg_ttl, 60);
	assert_int_equal(c.query_timeout, 500);
	assert_int_equal(c.max_referrals, 8);
	assert_int_equal(c.resolver_threads, 16);
	assert_string_equal(c.http, "");
	assert_int_equal(c.http_threads, 2);
	assert_true(c.http_max_body == 1u << 20);
	assert_int_equal(c.http_timeout, 10);
	assert_int_equal(c.http_token_ttl, 3600);
	assert_string_equal(c.gs1_prefix, "");
	assert_string_equal(c.store, "");
	assert_int_equal(c.nreplicas, 0);
}

/* The file sets, flags override; a list flag replaces the file's list,
 * a list the flags leave alone keeps the file's. */
static void file_then_flags(void **state)
{
	(void)state;
	node_conf_t c;
	const char *file = "# a comment\n"
			   "\n"
			   "data /srv/idn\n"
			   "workers 3\n"
			   "listen 127.0.0.1:1\n"
			   "listen = 127.0.0.1:2\n"
			   "home 1.2\n"
			   "home 1.3\n"
			   "  recursive yes  \n"
			   "root 10.0.0.1:2641\n"
			   "root 10.0.0.2:2641\n"
			   "map-size 2G\n"
			   "gs1-prefix 99.1\n"
			   "read-challenge on\n"
			   "udp-reply-max 1024\n"
			   "log-level warn\n"
			   "http-max-body 64K\n"
			   "site-serial 7\n";
	assert_int_equal(load(&c, file, "--workers", "5", "--home", "7.7", "-H",
			      "8.8", "--root", "10.0.0.9:1", "-L", "debug",
			      NULL),
			 0);
	assert_string_equal(captured, "");
	assert_string_equal(c.data, "/srv/idn");
	assert_string_equal(c.control, "/srv/idn/control.sock");
	assert_int_equal(c.workers, 5);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(c.listen[0], "127.0.0.1:1");
	assert_string_equal(c.listen[1], "127.0.0.1:2");
	assert_int_equal(c.nhome, 2);
	assert_string_equal(c.home[0], "7.7");
	assert_string_equal(c.home[1], "8.8");
	assert_true(c.recursive);
	assert_int_equal(c.nroots, 1);
	assert_string_equal(c.roots[0], "10.0.0.9:1");
	assert_true(c.map_size == 2ull << 30);
	assert_string_equal(c.gs1_prefix, "99.1");
	assert_true(c.read_challenge);
	assert_int_equal(c.udp_reply_max, 1024);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.http_max_body == 64u << 10);
	assert_int_equal(c.site_serial, 7);

	/* a flag that is given twice adds to its own list */
	assert_int_equal(load(&c, file, "-l", "127.0.0.1:5", "--listen",
			      "127.0.0.1:6", "--case-sensitive-suffix",
			      "--control", "/run/x.sock", NULL),
			 0);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(c.listen[0], "127.0.0.1:5");
	assert_string_equal(c.listen[1], "127.0.0.1:6");
	assert_int_equal(c.nhome, 2);
	assert_string_equal(c.home[0], "1.2");
	assert_int_equal(c.nroots, 2);
	assert_true(c.case_suffix);
	assert_string_equal(c.control, "/run/x.sock");
	assert_int_equal(c.workers, 3);
}

/* Each refused value: exit status, and the one line naming it. */
static void bounds(void **state)
{
	(void)state;
	static const char *const bad[][3] = {
		{"--workers", "257", "workers"},
		{"--workers", "-1", "workers"},
		{"--workers", "many", "workers"},
		{"--udp-reply-max", "511", "udp-reply-max"},
		{"--udp-reply-max", "262145", "udp-reply-max"},
		{"--site-serial", "65536", "site-serial"},
		{"--http-token-ttl", "59", "http-token-ttl"},
		{"--map-size", "0", "map-size"},
		{"--map-size", "12Q", "map-size"},
		{"--http-max-body", "2G", "http-max-body"},
		{"--log-level", "loud", "log-level"},
		{"--gs1-prefix", "a..b", "gs1-prefix"},
		{"--gs1-prefix", "9/9", "gs1-prefix"},
		{"--data", "", "data"},
	};
	node_conf_t c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[200];
		snprintf(want, sizeof(want),
			 "idnode: %s: invalid value '%s' for %s\n", bad[i][0],
			 bad[i][1], bad[i][2]);
		assert_int_equal(load(&c, NULL, bad[i][0], bad[i][1], NULL),
				 -1);
		assert_string_equal(captured, want);
	}
	/* the bounds themselves are accepted */
	assert_int_equal(load(&c, NULL, "--workers", "256", "--udp-reply-max",
			      "512", "--site-serial", "65535",
			      "--http-max-body", "1G", NULL),
			 0);
	assert_int_equal(c.workers, 256);
	assert_int_equal(c.udp_reply_max, 512);
	assert_int_equal(c.site_serial, 65535);
	assert_true(c.http_max_body == 1u << 30);
	assert_int_equal(load(&c, NULL, "--udp-reply-max", "262144", NULL), 0);
	assert_int_equal(c.udp_reply_max, 262144);

	/* in the file: the file and line are named */
	assert_int_equal(
		load(&c, "workers 2\ncase-sensitive-suffix maybe\n", NULL), -1);
	char want[200];
	snprintf(want, sizeof(want),
		 "idnode: %s:2: invalid value 'maybe' for "
		 "case-sensitive-suffix\n",
		 cfg_path);
	assert_string_equal(captured, want);
}

static void unknown_and_missing(void **state)
{
	(void)state;
	node_conf_t c;
	char want[300];
	assert_int_equal(load(&c, "workers 2\nfrobnicate yes\n", NULL), -1);
	snprintf(want, sizeof(want),
		 "idnode: %s:2: unknown setting 'frobnicate'\n", cfg_path);
	assert_string_equal(captured, want);
	/* the command line's own options are no file keys */
	assert_int_equal(load(&c, "config /etc/x\n", NULL), -1);
	snprintf(want, sizeof(want), "idnode: %s:1: unknown setting 'config'\n",
		 cfg_path);
	assert_string_equal(captured, want);
	assert_int_equal(load(&c, "# c\n\nlisten\n", NULL), -1);
	snprintf(want, sizeof(want), "idnode: %s:3: 'listen' needs a value\n",
		 cfg_path);
	assert_string_equal(captured, want);

	assert_int_equal(load(&c, NULL, "--no-such-flag", NULL), -1);
	assert_string_equal(captured, "idnode: unknown option '--no-such-flag' "
				      "(see idnode --help)\n");
	assert_int_equal(load(&c, NULL, "-q", NULL), -1);
	assert_string_equal(
		captured, "idnode: unknown option '-q' (see idnode --help)\n");
	assert_int_equal(load(&c, NULL, "--workers", NULL), -1);
	assert_string_equal(captured, "idnode: missing value for option "
				      "'--workers' (see idnode --help)\n");
	assert_int_equal(load(&c, NULL, "--recursive=yes", NULL), -1);
	assert_string_equal(captured,
			    "idnode: unknown option "
			    "'--recursive=yes' (see idnode --help)\n");
	assert_int_equal(load(&c, NULL, "stray", NULL), -1);
	assert_string_equal(captured, "idnode: unexpected argument 'stray'\n");
	assert_int_equal(load(&c, NULL, "--recursive", NULL), -1);
	assert_string_equal(captured, "idnode: --recursive needs at least one "
				      "--root HOST:PORT\n");
	assert_int_equal(load(&c, NULL, "-c", "/nonexistent/idnode.conf", NULL),
			 -1);
	assert_non_null(strstr(
		captured,
		"idnode: cannot read config /nonexistent/idnode.conf: "));
}

/* Each list refuses one item past its capacity, naming the list. */
static void list_capacity(void **state)
{
	(void)state;
	static const struct {
		const char *flag;
		int max;
		const char *msg;
	} lists[] = {
		{"--listen", CONF_MAX_LISTEN, "more than 16 listeners"},
		{"--home", CONF_MAX_HOME, "more than 64 home prefixes"},
		{"--store-replica", 8, "more than 8 replicas"},
		{"--root", CONF_MAX_LISTEN, "more than 16 root addresses"},
		{"--parent", CONF_MAX_LISTEN, "more than 16 parent addresses"},
		{"--advertise", CONF_MAX_LISTEN,
		 "more than 16 advertise addresses"},
	};
	node_conf_t c;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char file[4096] = "";
		size_t off = 0;
		for (int k = 0; k <= lists[i].max; k++)
			off += (size_t)snprintf(file + off, sizeof(file) - off,
						"%s 10.0.0.%d:1\n",
						lists[i].flag + 2, k);
		assert_int_equal(load(&c, file, NULL), -1);
		char want[200];
		snprintf(want, sizeof(want), "idnode: %s:%d: %s\n", cfg_path,
			 lists[i].max + 1, lists[i].msg);
		assert_string_equal(captured, want);
	}
}

/* A value row o accepts, in buf; NULL for the command line's own. */
static const char *sample(const conf_opt_t *o, char *buf, size_t cap)
{
	switch (o->type) {
	case CONF_STR:
	case CONF_LIST:
		return "127.0.0.1:1";
	case CONF_INT:
		snprintf(buf, cap, "%lld", o->max);
		return buf;
	case CONF_SIZE:
		return "1K";
	case CONF_BOOL:
		return "yes";
	case CONF_LEVEL:
		return "debug";
	case CONF_LOGFMT:
		return "json";
	case CONF_PREFIX:
		return "99.1";
	default:
		return NULL;
	}
}

static void schema_and_usage(void **state)
{
	(void)state;
	size_t n;
	const conf_opt_t *opts = conf_options(&n);
	assert_true(n > 40);
	char *usage = NULL;
	size_t ulen = 0;
	FILE *f = open_memstream(&usage, &ulen);
	conf_usage(f);
	fclose(f);
	assert_non_null(strstr(usage, "usage: idnode"));
	for (size_t i = 0; i < n; i++) {
		const conf_opt_t *o = &opts[i];
		assert_non_null(o->name);
		if (o->help == NULL || o->help[0] == 0)
			fail_msg("option %s has no help text", o->name);
		char want[96];
		if (o->flag)
			snprintf(want, sizeof(want), "\n  -%c, --%s%s%s",
				 o->flag, o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(want, sizeof(want), "\n      --%s%s%s",
				 o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		if (strstr(usage, want) == NULL)
			fail_msg("usage lacks \"%s\"", want);
		if (strstr(usage, o->help) == NULL && strlen(o->help) < 40)
			fail_msg("usage lacks the help of %s", o->name);
		for (size_t k = 0; k < i; k++) {
			assert_string_not_equal(opts[k].name, o->name);
			if (o->flag)
				assert_int_not_equal(opts[k].flag, o->flag);
		}
	}
	/* no line of the usage runs past 80 columns */
	for (char *p = usage, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (nl - p > 80)
			fail_msg("usage line too long: %.*s", (int)(nl - p), p);
	}
	free(usage);

	/* every setting is a config-file key */
	node_conf_t c;
	for (size_t i = 0; i < n; i++) {
		char buf[32];
		const char *v = sample(&opts[i], buf, sizeof(buf));
		if (v == NULL)
			continue;
		char file[256];
		snprintf(file, sizeof(file), "%s %s\nroot 10.0.0.1:1\n",
			 opts[i].name, v);
		if (load(&c, file, NULL) != 0)
			fail_msg("file key %s: %s", opts[i].name, captured);
	}

	/* --help prints the same text to stdout; -V the version */
	assert_int_equal(load_out(&c, "--workers", "9", "-h", NULL), 1);
	f = open_memstream(&usage, &ulen);
	conf_usage(f);
	fclose(f);
	assert_string_equal(captured, usage);
	free(usage);
	assert_int_equal(load_out(&c, "-V", NULL), 1);
	assert_non_null(strstr(captured, "idnode "));
}

/* conf_same compares a row's field of two configurations by its type; the
 * rows a reload applies live are the ones the README lists. */
static void same_and_live(void **state)
{
	(void)state;
	size_t n;
	const conf_opt_t *opts = conf_options(&n);
	node_conf_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	assert_int_equal(load(a,
			      "listen 127.0.0.1:1\nlisten 127.0.0.1:2\n"
			      "log-level warn\n",
			      NULL),
			 0);
	assert_int_equal(load(b,
			      "listen 127.0.0.1:1\nlisten 127.0.0.1:3\n"
			      "log-level warn\nworkers 3\n",
			      NULL),
			 0);
	char differ[256] = "", live[512] = "";
	for (size_t i = 0; i < n; i++) {
		const conf_opt_t *o = &opts[i];
		if (o->type == CONF_FILE || o->type == CONF_HELP ||
		    o->type == CONF_VERSION)
			continue;
		assert_true(conf_same(o, a, a));
		if (!conf_same(o, a, b))
			snprintf(differ + strlen(differ),
				 sizeof(differ) - strlen(differ), "%s ",
				 o->name);
		if (o->live)
			snprintf(live + strlen(live),
				 sizeof(live) - strlen(live), "%s ", o->name);
	}
	assert_string_equal(differ, "listen workers ");
	assert_string_equal(live,
			    "log-level log-format rrl-rate rrl-burst "
			    "rrl-slip tcp-max-connections tcp-max-per-source "
			    "tcp-idle-timeout http-admin-token-file ");
	/* a shorter list differs too */
	assert_int_equal(load(b, "listen 127.0.0.1:1\n", NULL), 0);
	const conf_opt_t *listen = NULL;
	for (size_t i = 0; i < n && listen == NULL; i++)
		if (!strcmp(opts[i].name, "listen"))
			listen = &opts[i];
	assert_non_null(listen);
	assert_false(conf_same(listen, a, b));
	free(a);
	free(b);
}

/* HTTPS and the HTTP plane's defences: off by default, set by file keys
 * and flags. */
static void https_keys(void **state)
{
	(void)state;
	node_conf_t c;
	assert_int_equal(load(&c, "", NULL), 0);
	assert_string_equal(c.https, "");
	assert_string_equal(c.http_tls_cert, "");
	assert_string_equal(c.http_tls_key, "");
	assert_false(c.http_allow_insecure);
	assert_int_equal(c.nhttp_cors, 0);
	const char *file = "https 127.0.0.1:8443\n"
			   "http-tls-cert /etc/idn/cert.pem\n"
			   "http-tls-key /etc/idn/key.pem\n"
			   "http-allow-insecure-writes yes\n"
			   "http-cors-origin https://a.example\n"
			   "http-cors-origin https://b.example\n";
	assert_int_equal(load(&c, file, NULL), 0);
	assert_string_equal(captured, "");
	assert_string_equal(c.https, "127.0.0.1:8443");
	assert_string_equal(c.http_tls_cert, "/etc/idn/cert.pem");
	assert_string_equal(c.http_tls_key, "/etc/idn/key.pem");
	assert_true(c.http_allow_insecure);
	assert_int_equal(c.nhttp_cors, 2);
	assert_string_equal(c.http_cors[1], "https://b.example");
	assert_int_equal(load(&c, file, "--http-cors-origin",
			      "https://c.example", "--https", "[::1]:9443",
			      NULL),
			 0);
	assert_int_equal(c.nhttp_cors, 1);
	assert_string_equal(c.http_cors[0], "https://c.example");
	assert_string_equal(c.https, "[::1]:9443");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(file_then_flags),
		cmocka_unit_test(bounds),
		cmocka_unit_test(unknown_and_missing),
		cmocka_unit_test(list_capacity),
		cmocka_unit_test(schema_and_usage),
		cmocka_unit_test(same_and_live),
		cmocka_unit_test(https_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
