/* idctl bench, the load generator of bench/run: its counts must be right,
 * or every benchmark figure is wrong. Against a real node (answers, not
 * found, --rate pacing) and, for --dns, against a small DNS responder in
 * this test that answers some names, denies others and echoes a wrong
 * question for one, so that each kind of answer is seen and counted. */
#include <pthread.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define P "20.500.900"

static long long jint(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	if (v == NULL)
		fail_msg("no \"%s\" in idctl bench's JSON", key);
	return json_integer_value(v);
}

static long long rc_count(json_t *j, const char *rc)
{
	json_t *v = json_object_get(json_object_get(j, "errors_by_rc"), rc);
	return v ? json_integer_value(v) : 0;
}

static json_t *bench(const char *const *argv)
{
	h_run_t r;
	const char *full[40] = {h_bin("idctl"), "bench"};
	int n = 2;
	for (int i = 0; argv[i] != NULL && n < 38; i++)
		full[n++] = argv[i];
	full[n++] = "--json";
	full[n] = NULL;
	int st = h_run(&r, H_RUN_TIMEOUT_MS, full);
	if (st != 0)
		fail_msg("idctl bench exited %d: %s", st, r.err);
	json_t *j = h_json(&r);
	assert_non_null(j);
	h_run_free(&r);
	return j;
}

static node_t *populated_node(int count)
{
	/* idctl bench sends every query from this host: the default response
	 * rate limit (200 a second per network) would drop most of them */
	node_t *n = node_new("--workers", "1", "--rrl-rate", "0", NULL);
	char c[16];
	snprintf(c, sizeof(c), "%d", count);
	h_run_t r;
	assert_int_equal(h_idctl(&r, "populate", "--data", n->data, "--prefix",
				 P, "--count", c, NULL),
			 0);
	h_run_free(&r);
	node_start(n);
	return n;
}

/* 50 identifiers exist; asking for 100 finds half of them. */
static void udp_answers_and_not_found(void **state)
{
	(void)state;
	h_skip_on_pg("idctl populate writes an LMDB store");
	node_t *n = populated_node(50);
	const char *argv[] = {"-s",	    n->addr, "--prefix",   P,
			      "--count",    "100",   "--duration", "0.5",
			      "--inflight", "8",     NULL};
	json_t *j = bench(argv);
	long long ok = jint(j, "success"), nf = rc_count(j, "100");
	if (ok == 0 || nf == 0)
		fail_msg("success %lld, not found %lld: want both", ok, nf);
	assert_int_equal(jint(j, "errors"), nf);
	assert_int_equal(jint(j, "received"), ok + nf);
	assert_int_equal(jint(j, "malformed"), 0);
	assert_int_equal(jint(j, "wrong_id"), 0);
	assert_int_equal(jint(j, "timeouts"), 0);
	/* a Handle answer: 20-byte envelope and a message of some size */
	double mean =
		json_real_value(json_object_get(j, "datagram_bytes_mean"));
	if (mean < 100 || mean > 1000)
		fail_msg("mean answer %.0f bytes", mean);
	json_decref(j);
	node_stop(n);
	node_free(n);
}

/* --rate caps what is sent: never more than rate x duration (+1). */
static void rate_caps_requests(void **state)
{
	(void)state;
	h_skip_on_pg("idctl populate writes an LMDB store");
	node_t *n = populated_node(20);
	const char *argv[] = {"-s",	 n->addr, "--prefix",	P,
			      "--count", "20",	  "--duration", "0.5",
			      "--rate",	 "2000",  "--inflight", "64",
			      NULL};
	json_t *j = bench(argv);
	long long sent = jint(j, "sent");
	if (sent < 1 || sent > 1001)
		fail_msg("sent %lld requests at 2000/s for 0.5 s", sent);
	assert_int_equal(jint(j, "success"), jint(j, "received"));
	assert_int_equal(jint(j, "errors"), 0);
	/* paced runs say how far the sends fell behind the schedule, and
	 * every run how often the generator lost its CPU */
	json_t *lag = json_object_get(j, "send_lag_us");
	assert_non_null(lag);
	double p50 = json_number_value(json_object_get(lag, "p50"));
	double p999 = json_number_value(json_object_get(lag, "p99.9"));
	double lmax = json_number_value(json_object_get(lag, "max"));
	if (!(p50 >= 0 && p50 <= p999 && p999 <= lmax * 1.02 + 0.001))
		fail_msg("send lag p50 %g, p99.9 %g, max %g us", p50, p999,
			 lmax);
	assert_true(json_is_integer(json_object_get(j, "generator_preempted")));
	assert_true(jint(j, "generator_preempted") >= 0);
	json_decref(j);

	/* invalid values are refused before anything is sent */
	h_run_t r;
	assert_int_equal(h_idctl(&r, "bench", "-s", n->addr, "--prefix", P,
				 "--count", "20", "--rate", "0", NULL),
			 2);
	assert_non_null(strstr(r.err, "--rate"));
	h_run_free(&r);
	assert_int_equal(h_idctl(&r, "bench", "-s", n->addr, "--prefix", P,
				 "--count", "20", "--dns", "--tcp", NULL),
			 2);
	h_run_free(&r);
	node_stop(n);
	node_free(n);
}

/* ---- a DNS responder for --dns ---- */

typedef struct {
	int fd;
	atomic_int stop;
	atomic_long answered;
} dns_srv_t;

/* bench-<i>.20.500.900. TXT: i < 10 answers with one TXT record, except
 * i == 7 whose answer carries another question; i >= 10 is NXDOMAIN. */
static void *dns_main(void *arg)
{
	dns_srv_t *s = arg;
	uint8_t q[512], a[600];
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s->fd, q, sizeof(q), 0,
				     (struct sockaddr *)&from, &fl);
		if (n < 12 + 1)
			continue;
		/* the first label: "bench-<i>" */
		unsigned ll = q[12];
		char label[64] = {0};
		if (ll >= sizeof(label) || 13 + ll > (size_t)n)
			continue;
		memcpy(label, q + 13, ll);
		long i =
			strncmp(label, "bench-", 6) == 0 ? atol(label + 6) : -1;
		memcpy(a, q, (size_t)n);
		a[2] = 0x84; /* QR, AA */
		a[3] = 0;
		size_t len = (size_t)n;
		if (i < 0 || i >= 10) {
			a[3] = 3; /* NXDOMAIN */
		} else {
			if (i == 7)
				a[13] = 'x'; /* another name in the question */
			a[7] = 1;	     /* one answer */
			static const uint8_t rr[] = {0xc0, 12,	0,   16, 0, 1,
						     0,	   0,	0,   60, 0, 4,
						     3,	   'U', 'R', 'L'};
			memcpy(a + len, rr, sizeof(rr));
			len += sizeof(rr);
		}
		sendto(s->fd, a, len, 0, (struct sockaddr *)&from, fl);
		atomic_fetch_add(&s->answered, 1);
	}
	return NULL;
}

static void dns_mode_counts_each_kind(void **state)
{
	(void)state;
	dns_srv_t s = {0};
	s.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s.fd >= 0);
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(s.fd, (struct sockaddr *)&sa, &sl);
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, dns_main, &s), 0);

	const char *argv[] = {"-s",	    addr, "--prefix",	P,
			      "--count",    "20", "--duration", "0.5",
			      "--inflight", "4",  "--dns",	NULL};
	json_t *j = bench(argv);
	atomic_store(&s.stop, 1);
	pthread_join(t, NULL);
	close(s.fd);

	long long ok = jint(j, "success"), wrong = jint(j, "wrong_id");
	long long nx = rc_count(j, "1003");
	if (ok == 0 || wrong == 0 || nx == 0)
		fail_msg("success %lld, wrong question %lld, NXDOMAIN %lld: "
			 "want each",
			 ok, wrong, nx);
	assert_int_equal(jint(j, "received"), ok + wrong + nx);
	assert_int_equal(jint(j, "errors"), nx);
	assert_int_equal(jint(j, "malformed"), 0);
	assert_int_equal(jint(j, "timeouts"), 0);
	assert_true(jint(j, "received") <= atomic_load(&s.answered));
	/* i == 7 is one identifier in 20: about 1 answer in 20 */
	if (wrong * 5 > ok + wrong + nx)
		fail_msg("%lld wrong questions of %lld answers", wrong,
			 ok + wrong + nx);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(udp_answers_and_not_found),
		cmocka_unit_test(rate_caps_requests),
		cmocka_unit_test(dns_mode_counts_each_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
