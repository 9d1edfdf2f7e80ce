/* End-to-end tests of idnode's monitoring (docs/monitoring.md): traffic on
 * every transport counted exactly once in the latency histograms of
 * /metrics, the histograms well formed, the rate limiter's drops and slips
 * exported, the scrape accepted by `promtool check metrics`, JSON log
 * lines, and every metric the Grafana dashboard and the alert rules in
 * contrib/ query present in a live node's /metrics (promtool checks the
 * rules when it is installed). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "version.h"

#define PROMTOOL "/usr/bin/promtool"

static node_t *node;
static uint16_t hport;

/* ---- HTTP: one GET per connection, read to the end ---- */

/* GET path on port: the status, the body in *body (caller frees). */
static int http_get(uint16_t port, const char *path, char **body)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Connection: close\r\n\r\n",
			 path);
	assert_int_equal(h_write_all(fd, req, (size_t)n), 0);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, H_IO_TIMEOUT_MS) <= 0)
			fail_msg("GET %s: no answer", path);
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	int status = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	char *end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	*body = strdup(end + 4);
	free(buf);
	return status;
}

static char *scrape(uint16_t port)
{
	char *body;
	int status = http_get(port, "/metrics", &body);
	if (status != 200)
		fail_msg("/metrics answered %d: %s", status, body);
	return body;
}

/* ---- reading the exposition format ---- */

/* The value of the sample written exactly as series ("name" or
 * "name{labels}"); NAN when there is none. */
static double sample(const char *text, const char *series)
{
	size_t sl = strlen(series);
	for (const char *p = text; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, series, sl) == 0 && p[sl] == ' ')
			return strtod(p + sl + 1, NULL);
	return NAN;
}

static double sample_t(const char *text, const char *name, const char *tr)
{
	char s[160];
	snprintf(s, sizeof(s), "%s{transport=\"%s\"}", name, tr);
	return sample(text, s);
}

/* Whether the scrape has the metric name: a sample of it, or its family
 * declared (# TYPE), or the histogram it is a _bucket, _sum or _count of. */
static bool has_metric(const char *text, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = text; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '{'))
			return true;
		if (strncmp(p, "# TYPE ", 7) == 0 &&
		    strncmp(p + 7, name, nl) == 0 && p[7 + nl] == ' ')
			return true;
	}
	static const char *const parts[] = {"_bucket", "_sum", "_count"};
	for (size_t i = 0; i < 3; i++) {
		size_t pl = strlen(parts[i]);
		if (nl > pl && strcmp(name + nl - pl, parts[i]) == 0) {
			char fam[160], decl[200];
			snprintf(fam, sizeof(fam), "%.*s", (int)(nl - pl),
				 name);
			snprintf(decl, sizeof(decl), "# TYPE %s histogram\n",
				 fam);
			return strstr(text, decl) != NULL;
		}
	}
	return false;
}

/* Checks the histogram of one transport: buckets in ascending le, counts
 * never decreasing, +Inf equal to _count, the sum positive when anything
 * was counted. Returns _count. */
static uint64_t check_histogram(const char *text, const char *tr)
{
	char pat[160];
	snprintf(
		pat, sizeof(pat),
		"idnode_request_duration_seconds_bucket{transport=\"%s\",le=\"",
		tr);
	size_t pl = strlen(pat);
	double last_le = -1, last = 0, inf = NAN;
	int buckets = 0;
	for (const char *p = text; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, pat, pl) != 0)
			continue;
		const char *q = p + pl;
		double le = strncmp(q, "+Inf\"", 5) == 0 ? INFINITY
							 : strtod(q, NULL);
		const char *v = strchr(q, ' ');
		assert_non_null(v);
		double c = strtod(v + 1, NULL);
		if (!(le > last_le))
			fail_msg("%s: bucket le=%g after le=%g", tr, le,
				 last_le);
		if (c < last)
			fail_msg("%s: bucket le=%g holds %g, fewer than the "
				 "one before (%g)",
				 tr, le, c, last);
		last_le = le;
		last = c;
		buckets++;
		if (isinf(le))
			inf = c;
	}
	if (buckets < 2 || isnan(inf))
		fail_msg("%s: %d buckets, +Inf %s", tr, buckets,
			 isnan(inf) ? "missing" : "present");
	double count =
		sample_t(text, "idnode_request_duration_seconds_count", tr);
	double sum = sample_t(text, "idnode_request_duration_seconds_sum", tr);
	if (count != inf)
		fail_msg("%s: _count %g, +Inf bucket %g", tr, count, inf);
	assert_false(isnan(sum));
	if (count > 0 && !(sum > 0))
		fail_msg("%s: %g requests took %g s in all", tr, count, sum);
	return (uint64_t)count;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, "--log-format", "json", NULL);
	char port[32];
	hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	node_add_args(node, "--http", port, NULL);
	node_start(node);
	h_ctl_ok(node, "create", H_HOME "/m-1", "1:URL=https://example.com/m",
		 NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(node);
	node_free(node);
	return 0;
}

/* ---- tests ---- */

enum { N_UDP = 7, N_TCP = 5, N_CTL = 3, N_HTTP = 4 };

static const char *const transports[] = {"udp", "tcp", "control", "http"};

static void counts(const char *text, uint64_t c[4])
{
	for (int i = 0; i < 4; i++)
		c[i] = check_histogram(text, transports[i]);
}

/* Each request is counted once, on its own transport's histogram. */
static void latency_by_transport(void **state)
{
	(void)state;
	char *m = scrape(hport);
	uint64_t before[4];
	counts(m, before);
	free(m);
	uint8_t frame[512];
	h_reply_t r;
	h_reply_init(&r);
	for (uint32_t i = 0; i < N_UDP; i++) {
		size_t len = h_resolve_simple(frame, sizeof(frame), 100 + i,
					      H_HOME "/m-1");
		h_udp_call(node, frame, len, &r);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	}
	for (uint32_t i = 0; i < N_TCP; i++) {
		size_t len = h_resolve_simple(frame, sizeof(frame), 200 + i,
					      H_HOME "/m-1");
		h_tcp_call(node, frame, len, &r);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	}
	int fd = h_unix_open(node->ctl);
	for (uint32_t i = 0; i < N_CTL; i++) {
		size_t len = h_resolve_simple(frame, sizeof(frame), 300 + i,
					      H_HOME "/m-1");
		h_stream_call(fd, frame, len, &r);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	}
	close(fd);
	h_reply_free(&r);
	for (int i = 0; i < N_HTTP; i++) {
		char *body;
		assert_int_equal(
			http_get(hport, "/api/handles/" H_HOME "/m-1", &body),
			200);
		free(body);
	}
	/* the first scrape is an HTTP request too, counted once answered */
	const uint64_t want[4] = {N_UDP, N_TCP, N_CTL, N_HTTP + 1};
	uint64_t after[4];
	/* a reply may leave before its request is counted: wait a little */
	for (int tries = 0;; tries++) {
		m = scrape(hport);
		counts(m, after);
		bool all = true;
		for (int i = 0; i < 4; i++)
			all = all && after[i] - before[i] >= want[i];
		if (all || tries == 50)
			break;
		free(m);
		h_msleep(40);
	}
	for (int i = 0; i < 4; i++)
		if (after[i] - before[i] != want[i])
			fail_msg("%s: %llu requests counted, %llu sent",
				 transports[i],
				 (unsigned long long)(after[i] - before[i]),
				 (unsigned long long)want[i]);
	assert_true(sample(m, "idnode_build_info{version=\"" IDN_VERSION
			      "\"}") == 1);
	free(m);
}

static void process_metrics(void **state)
{
	(void)state;
	char *m = scrape(hport);
	double rss = sample(m, "process_resident_memory_bytes");
	double anon = sample(m, "idnode_resident_memory_bytes{kind=\"anon\"}");
	double file = sample(m, "idnode_resident_memory_bytes{kind=\"file\"}");
	double shm = sample(m, "idnode_resident_memory_bytes{kind=\"shmem\"}");
	if (!(rss > 1e6 && anon > 0 && file > 0 && shm >= 0))
		fail_msg("rss %g anon %g file %g shmem %g", rss, anon, file,
			 shm);
	/* VmRSS is the three added (in kB, so exactly) */
	assert_true(anon + file + shm == rss);
	double fds = sample(m, "process_open_fds");
	double max = sample(m, "process_max_fds");
	if (!(fds >= 5 && max >= fds))
		fail_msg("open fds %g, max %g", fds, max);
	double start = sample(m, "process_start_time_seconds");
	double now = (double)h_now();
	if (!(start > now - 600 && start <= now + 1))
		fail_msg("start time %f, now %f", start, now);
	assert_true(sample(m, "process_cpu_seconds_total") >= 0);
	free(m);
}

/* The rate limiter's drops and slips are exported, and every query is
 * either dropped or processed (and so timed). */
static void rrl_counters(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--rrl-rate", "1", "--rrl-burst",
			     "1", "--rrl-slip", "2", NULL);
	char port[32];
	uint16_t hp = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hp);
	node_add_args(n, "--http", port, NULL);
	node_start(n);
	enum { SENT = 40 };
	int fd = h_udp_open(n);
	uint8_t frame[512];
	for (uint32_t i = 0; i < SENT; i++) {
		size_t len = h_resolve_simple(frame, sizeof(frame), 1 + i,
					      H_HOME "/none");
		h_udp_send_frame(fd, frame, len);
	}
	double dropped = 0, slipped = 0, timed = 0;
	char *m = NULL;
	for (int tries = 0; tries < 100; tries++) {
		free(m);
		m = scrape(hp);
		dropped = sample(m, "idnode_rrl_dropped_total");
		slipped = sample(m, "idnode_rrl_slipped_total");
		timed = sample_t(m, "idnode_request_duration_seconds_count",
				 "udp");
		if (dropped + timed >= SENT)
			break;
		h_msleep(40);
	}
	close(fd);
	if (dropped + timed != SENT || !(dropped > 0) || !(slipped > 0) ||
	    slipped > timed)
		fail_msg("%d sent: %g dropped, %g slipped, %g processed", SENT,
			 dropped, slipped, timed);
	free(m);
	node_stop(n);
	node_free(n);
}

/* Writes text to dir/name; returns the path (static buffer). */
static const char *save(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", node->dir, name);
	h_write_file(path, text);
	return path;
}

static bool have_promtool(void)
{
	if (access(PROMTOOL, X_OK) == 0)
		return true;
	print_message("[ NOTE     ] %s absent: not run\n", PROMTOOL);
	return false;
}

static void promtool_metrics(void **state)
{
	(void)state;
	char *m = scrape(hport);
	const char *path = save("metrics.txt", m);
	free(m);
	if (!have_promtool())
		return;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s", path);
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	h_run_t r;
	h_run(&r, H_RUN_TIMEOUT_MS, argv);
	/* lint findings are printed on stdout with status 0 too */
	if (r.status != 0 || r.outlen != 0 || r.errlen != 0)
		fail_msg("promtool check metrics: status %d\n%s%s", r.status,
			 r.out, r.err);
	h_run_free(&r);
}

/* Every word of text that names one of idnode's or a process metric. */
static int check_names(const char *what, const char *text, const char *m)
{
	int found = 0;
	for (const char *p = text; *p; p++) {
		bool start = p == text ||
			     !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		if (!start || (strncmp(p, "idnode_", 7) != 0 &&
			       strncmp(p, "process_", 8) != 0))
			continue;
		size_t n = 0;
		while (isalnum((unsigned char)p[n]) || p[n] == '_')
			n++;
		char name[160];
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if (!has_metric(m, name))
			fail_msg("%s queries %s, which /metrics lacks", what,
				 name);
		found++;
		p += n - 1;
	}
	return found;
}

static void contrib_metrics_exist(void **state)
{
	(void)state;
	char *m = scrape(hport);
	size_t len;
	const char *dash = h_src("contrib/grafana/idnode-dashboard.json");
	char *d = (char *)h_read_file(dash, &len);
	assert_non_null(d);
	json_error_t e;
	json_t *j = json_loads(d, 0, &e);
	if (j == NULL)
		fail_msg("%s: not JSON: %s (line %d)", dash, e.text, e.line);
	assert_true(json_array_size(json_object_get(j, "panels")) >= 10);
	json_decref(j);
	int nd = check_names("the dashboard", d, m);
	free(d);
	const char *rules = h_src("contrib/prometheus/idnode-alerts.yml");
	char *a = (char *)h_read_file(rules, &len);
	assert_non_null(a);
	int na = check_names("the alert rules", a, m);
	free(a);
	if (nd < 20 || na < 8)
		fail_msg("only %d names in the dashboard, %d in the rules", nd,
			 na);
	free(m);
	if (!have_promtool())
		return;
	const char *argv[] = {PROMTOOL, "check", "rules", rules, NULL};
	h_run_t r;
	h_run(&r, H_RUN_TIMEOUT_MS, argv);
	if (r.status != 0 || strstr(r.out, "SUCCESS: 7 rules found") == NULL)
		fail_msg("promtool check rules: status %d\n%s%s", r.status,
			 r.out, r.err);
	h_run_free(&r);
}

/* --log-format json: every line one object with time, level and msg. */
static void json_log(void **state)
{
	(void)state;
	char *log = node_log(node);
	int lines = 0;
	bool ready = false;
	for (char *p = log, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		json_error_t e;
		json_t *o = json_loads(p, 0, &e);
		if (o == NULL)
			fail_msg("log line is not JSON (%s): %s", e.text, p);
		const char *t = json_string_value(json_object_get(o, "time"));
		const char *lvl =
			json_string_value(json_object_get(o, "level"));
		const char *msg = json_string_value(json_object_get(o, "msg"));
		if (t == NULL || strlen(t) != 24 || t[23] != 'Z' ||
		    lvl == NULL || msg == NULL ||
		    json_string_value(json_object_get(o, "module")) == NULL)
			fail_msg("log line lacks a field: %s", p);
		ready = ready || strcmp(msg, "idnode ready") == 0;
		json_decref(o);
		lines++;
	}
	assert_true(lines >= 3);
	assert_true(ready);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(latency_by_transport),
		cmocka_unit_test(process_metrics),
		cmocka_unit_test(rrl_counters),
		cmocka_unit_test(promtool_metrics),
		cmocka_unit_test(contrib_metrics_exist),
		cmocka_unit_test(json_log),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
