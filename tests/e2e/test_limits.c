/* Abuse limits: UDP response rate limiting per source network with slip
 * (some limited queries answered with a short rc 3, so real clients retry
 * over TCP), and the caps on TCP connections per source; all counted in the
 * node's stats. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"

static long long stat_of(node_t *n, const char *name)
{
	json_t *j = h_ctl_json(n, "stats", "--json", NULL);
	assert_non_null(j);
	json_t *v = json_object_get(j, name);
	assert_non_null(v);
	long long x = json_integer_value(v);
	json_decref(j);
	return x;
}

static void udp_rate_limit_with_slip(void **state)
{
	(void)state;
	node_t *n =
		node_new("--home", H_HOME, "--workers", "1", "--rrl-rate", "10",
			 "--rrl-burst", "20", "--rrl-slip", "2", NULL);
	node_start(n);
	h_ctl_ok(n, "create", H_HOME "/rl", "1:URL=https://rl", NULL);
	int fd = h_udp_open(n);
	enum { N = 200 };
	uint8_t req[256];
	for (uint32_t i = 0; i < N; i++) {
		size_t len = h_resolve_simple(req, sizeof(req), 1000 + i,
					      H_HOME "/rl");
		h_udp_send_frame(fd, req, len);
	}
	int full = 0, truncated = 0;
	uint8_t buf[IDN_UDP_DGRAM_MAX];
	struct pollfd p = {fd, POLLIN, 0};
	while (poll(&p, 1, 1000) > 0) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		idn_env_t env;
		idn_msg_t m;
		if (got < IDN_ENV_LEN ||
		    idn_env_decode(buf, (size_t)got, &env) != 0 ||
		    idn_msg_decode(buf + IDN_ENV_LEN, (size_t)got - IDN_ENV_LEN,
				   &m) != 0)
			continue;
		/* a slipped reply: rc 3, flags 0 (HANDLE.NET's truncated
		 * flag marks multi-datagram requests, not cut replies) */
		assert_int_equal(env.flags & IDN_EF_TRUNCATED, 0);
		if (m.hdr.rc == IDN_RC_TOO_BUSY)
			truncated++;
		else if (m.hdr.rc == IDN_RC_SUCCESS)
			full++;
	}
	close(fd);
	/* the burst, plus what refills at 10/s while the queries arrive */
	if (full < 20 || full > 30)
		fail_msg("%d full answers, want the burst of 20 (+ refill)",
			 full);
	int limited = N - full;
	/* every second limited query slips through as rc 3 */
	if (truncated < limited / 2 - 1 || truncated > limited / 2 + 1)
		fail_msg("%d truncated of %d limited, want half", truncated,
			 limited);
	assert_int_equal(stat_of(n, "rrl_slipped"), truncated);
	assert_int_equal(stat_of(n, "rrl_dropped"), limited - truncated);
	/* TCP is not limited */
	h_run_t r;
	h_net(&r, n, "--tcp", "resolve", H_HOME "/rl", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	node_free(n);
}

static void tcp_connections_per_source_capped(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--workers", "1",
			     "--tcp-max-per-source", "3", NULL);
	node_start(n);
	int fds[5];
	for (int i = 0; i < 5; i++)
		fds[i] = h_tcp_open(n);
	/* the fourth and fifth are closed at once; the first three serve */
	for (int i = 3; i < 5; i++) {
		struct pollfd p = {fds[i], POLLIN, 0};
		assert_int_equal(poll(&p, 1, 3000), 1);
		char c;
		assert_int_equal(read(fds[i], &c, 1), 0);
	}
	uint8_t req[256];
	for (int i = 0; i < 3; i++) {
		size_t len = h_resolve_simple(req, sizeof(req),
					      50 + (uint32_t)i, H_HOME "/none");
		h_reply_t r;
		h_reply_init(&r);
		h_stream_call(fds[i], req, len, &r);
		assert_int_equal(h_reply_decode(&r), 0);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_NOT_FOUND);
		h_reply_free(&r);
	}
	assert_int_equal(stat_of(n, "tcp_refused"), 2);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(udp_rate_limit_with_slip),
		cmocka_unit_test(tcp_connections_per_source_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
