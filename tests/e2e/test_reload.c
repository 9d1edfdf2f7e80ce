/* Reloading a running node (SIGHUP, idctl reload): the HTTP admin token
 * rotated without a dropped query, a log level and a TCP cap applied
 * live, a changed listen address named as needing a restart, and the
 * reload op refused to network callers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "opcode.h"

#define OLD_TOKEN "old-token-0123456789abcdef"
#define NEW_TOKEN "new-token-fedcba9876543210"

static int log_count(const node_t *n, const char *s)
{
	char *log = node_log(n);
	int k = 0;
	for (const char *p = log; (p = strstr(p, s)) != NULL; p += strlen(s))
		k++;
	free(log);
	return k;
}

/* Waits until the log holds want at least k times; fails after 10 s. */
static void wait_log(const node_t *n, const char *want, int k)
{
	for (int i = 0; i < 500; i++) {
		if (log_count(n, want) >= k)
			return;
		h_msleep(20);
	}
	node_dump_log(n);
	fail_msg("want \"%s\" %d times in the log", want, k);
}

/* PUT /api/handles/ID with a one-value record and that bearer token;
 * returns the HTTP status (0: no answer). */
static int http_put(uint16_t port, const char *id, const char *token)
{
	static const char body[] =
		"{\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":"
		"{\"format\":\"string\",\"value\":\"https://rotated\"}}]}";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "PUT /api/handles/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Connection: close\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 id, token, strlen(body), body);
	assert_int_equal(h_write_all(fd, req, (size_t)n), 0);
	char resp[256] = "";
	size_t len = 0;
	struct pollfd pf = {fd, POLLIN, 0};
	while (len < 12 && poll(&pf, 1, H_IO_TIMEOUT_MS) > 0) {
		ssize_t k = read(fd, resp + len, sizeof(resp) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	resp[len] = 0;
	int status = 0;
	sscanf(resp, "HTTP/1.%*d %d", &status);
	return status;
}

/* A client resolving one identifier over UDP until told to stop. */
typedef struct {
	node_t *n;
	atomic_int stop;
	int sent, found, failed;
} looper_t;

static void *resolve_loop(void *arg)
{
	looper_t *l = arg;
	int fd = h_udp_open(l->n);
	uint8_t req[256];
	for (uint32_t id = 1; !atomic_load(&l->stop); id++) {
		size_t len =
			h_resolve_simple(req, sizeof(req), id, H_HOME "/loop");
		h_reply_t r;
		h_reply_init(&r);
		h_udp_send_frame(fd, req, len);
		l->sent++;
		if (h_udp_recv(fd, id, &r, 2000) == 0 &&
		    r.msg.hdr.rc == IDN_RC_SUCCESS)
			l->found++;
		else
			l->failed++;
		h_reply_free(&r);
	}
	close(fd);
	return NULL;
}

static void token_rotation_by_sighup(void **state)
{
	(void)state;
	/* the resolver loop below comes from one address as fast as it can:
	 * response-rate limiting (on by default) would drop some of it, and
	 * this test counts what a reload drops */
	node_t *n = node_new("--home", H_HOME, "--rrl-rate", "0", NULL);
	char tok[256], addr[32];
	snprintf(tok, sizeof(tok), "%s/admin.token", n->dir);
	h_write_file(tok, OLD_TOKEN "\n");
	assert_int_equal(chmod(tok, 0600), 0);
	uint16_t hport = h_free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", hport);
	node_add_args(n, "--http", addr, "--http-admin-token-file", tok, NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/loop", "1:URL=https://loop", NULL);
	assert_int_equal(http_put(hport, H_HOME "/w0", OLD_TOKEN), 201);

	looper_t l = {.n = n};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, resolve_loop, &l), 0);
	h_msleep(200);
	/* rotate: the new token works at once, the old one is refused */
	h_write_file(tok, NEW_TOKEN "\n");
	assert_int_equal(kill(n->pid, SIGHUP), 0);
	wait_log(n, "reload: applied http-admin-token-file", 1);
	int put_new = http_put(hport, H_HOME "/w1", NEW_TOKEN);
	int put_old = http_put(hport, H_HOME "/w2", OLD_TOKEN);
	/* more reloads while the client resolves: nothing changes */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(kill(n->pid, SIGHUP), 0);
		wait_log(n, "reload: nothing changed", i + 1);
	}
	h_msleep(200);
	atomic_store(&l.stop, 1);
	pthread_join(th, NULL);
	if (put_new != 201 || put_old != 401)
		fail_msg("after the rotation: new token HTTP %d (want 201), "
			 "old token HTTP %d (want 401)",
			 put_new, put_old);
	print_message("resolutions during the reloads: %d sent, %d found, "
		      "%d failed\n",
		      l.sent, l.found, l.failed);
	if (l.failed != 0 || l.found != l.sent || l.sent < 20)
		fail_msg("%d of %d resolutions failed during the reloads",
			 l.failed, l.sent);
	h_run_t r;
	h_net(&r, n, "resolve", H_HOME "/w1", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://rotated"));
	h_run_free(&r);
	node_stop(n);
	node_free(n);
}

/* A counter of idctl stats: "tcp_refused", "rrl_dropped". */
static long stat_of(const node_t *n, const char *key)
{
	json_t *j = h_ctl_json(n, "stats", NULL);
	long k = (long)json_integer_value(json_object_get(j, key));
	json_decref(j);
	return k;
}

/* Waits up to 5 s for stat key to reach at least want. */
static void wait_stat(const node_t *n, const char *key, long want)
{
	long got = 0;
	for (int i = 0; i < 250 && (got = stat_of(n, key)) < want; i++)
		h_msleep(20);
	if (got < want)
		fail_msg("stats %s: %ld, want at least %ld", key, got, want);
}

static void write_config(const char *path, const node_t *n, const char *data,
			 const char *listen, const char *level, int per_source,
			 int rrl_rate)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "data %s\ncontrol %s\nlisten %s\nhome " H_HOME "\n"
		 "workers 2\nlog-level %s\ntcp-max-per-source %d\n"
		 "rrl-rate %d\nrrl-burst 1\nrrl-slip 0\n",
		 data, n->ctl, listen, level, per_source, rrl_rate);
	h_write_file(path, text);
}

static void ctl_reload_applies_and_names(void **state)
{
	(void)state;
	node_t *n = node_create();
	n->bare = true;
	node_pick_port(n);
	char cfg[256], data[256], other[32];
	snprintf(cfg, sizeof(cfg), "%s/idnode.conf", n->dir);
	snprintf(data, sizeof(data), "%s/cfgdata", n->dir);
	write_config(cfg, n, data, n->addr, "info", 64, 0);
	node_set_args(n, "-c", cfg, NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/r", "1:URL=https://r", NULL);

	/* nothing changed yet */
	h_run_t r;
	h_ctl(&r, n, "reload", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "nothing changed\n");
	h_run_free(&r);

	snprintf(other, sizeof(other), "127.0.0.1:%u", h_free_port());
	/* no rate limit: 20 queries at once from one socket are answered */
	uint8_t req[256];
	int fd = h_udp_open(n);
	for (uint32_t id = 1; id <= 20; id++) {
		size_t len =
			h_resolve_simple(req, sizeof(req), id, H_HOME "/r");
		h_udp_send_frame(fd, req, len);
	}
	for (uint32_t id = 1; id <= 20; id++) {
		h_reply_t rep;
		h_reply_init(&rep);
		assert_int_equal(h_udp_recv(fd, id, &rep, H_IO_TIMEOUT_MS), 0);
		h_reply_free(&rep);
	}
	assert_int_equal(stat_of(n, "rrl_dropped"), 0);

	write_config(cfg, n, data, other, "debug", 1, 1);
	h_ctl(&r, n, "reload", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "applied: log-level, rrl-rate, "
				   "tcp-max-per-source\n"
				   "needs a restart (kept the running value): "
				   "listen\n");
	h_run_free(&r);
	wait_log(n, "reload: listen needs a restart (kept the running value)",
		 1);
	json_t *j = h_ctl_json(n, "reload", NULL);
	char *got = json_dumps(j, JSON_COMPACT);
	assert_string_equal(got, "{\"applied\":[],\"restart\":[\"listen\"],"
				 "\"failed\":[]}");
	free(got);
	json_decref(j);

	/* one response a second, no burst: most of 20 at once dropped */
	for (uint32_t id = 21; id <= 40; id++) {
		size_t len =
			h_resolve_simple(req, sizeof(req), id, H_HOME "/r");
		h_udp_send_frame(fd, req, len);
	}
	wait_stat(n, "rrl_dropped", 15);
	close(fd);

	/* debug lines now appear: a connection over the new cap of one per
	 * source and worker (three connections, two workers) */
	assert_int_equal(log_count(n, " debug: "), 0);
	int fds[3];
	for (int i = 0; i < 3; i++)
		fds[i] = h_tcp_open(n);
	wait_stat(n, "tcp_refused", 1);
	wait_log(n, " debug: TCP connection refused: over a connection cap", 1);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	/* still on the running address (TCP: UDP is rate limited now) */
	h_net(&r, n, "--tcp", "resolve", H_HOME "/r", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);

	/* a configuration that does not load changes nothing */
	h_write_file(cfg, "log-level loud\n");
	h_ctl(&r, n, "reload", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "does not load"));
	h_run_free(&r);
	assert_true(node_alive(n));
	node_stop(n);
	node_free(n);
}

static void reload_refused_on_network(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	uint8_t req[256];
	h_req_t q = h_req(IDN_OC_RELOAD, 7);
	size_t len = h_frame(req, sizeof(req), &q, NULL, 0);
	h_reply_t r;
	h_reply_init(&r);
	h_udp_call(n, req, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_NOT_SUPPORTED);
	h_reply_free(&r);
	h_reply_init(&r);
	h_tcp_call(n, req, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_NOT_SUPPORTED);
	h_reply_free(&r);
	/* nothing was reloaded; the operator may */
	assert_int_equal(log_count(n, "reload:"), 0);
	h_ctl_ok(n, "reload", NULL);
	assert_int_equal(log_count(n, "reload: nothing changed"), 1);
	node_stop(n);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_rotation_by_sighup),
		cmocka_unit_test(ctl_reload_applies_and_names),
		cmocka_unit_test(reload_refused_on_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
