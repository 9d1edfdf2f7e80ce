/* The abuse limits by source network (netlimit.h) and the caps on pending
 * challenges (authz.h) that count by them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authz.h"
#include "netlimit.h"

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
	return ss;
}

static bool same_net(struct sockaddr_storage a, struct sockaddr_storage b)
{
	netkey_t x, y;
	netkey_of(&a, &x);
	netkey_of(&b, &y);
	return netkey_eq(&x, &y);
}

static void networks_are_24_and_56(void **state)
{
	(void)state;
	assert_true(same_net(v4("192.0.2.1"), v4("192.0.2.254")));
	assert_false(same_net(v4("192.0.2.1"), v4("192.0.3.1")));
	assert_true(same_net(v6("2001:db8:0:ff::1"), v6("2001:db8:0:1::2")));
	assert_false(same_net(v6("2001:db8:0:100::1"), v6("2001:db8::1")));
	netkey_t a, b;
	struct sockaddr_storage p = v4("192.0.2.1"), q = v4("192.0.2.2");
	netkey_addr(&p, &a);
	netkey_addr(&q, &b);
	assert_false(netkey_eq(&a, &b));
	/* response-rate limiting counts IPv6 by /64, as NSD does */
	struct sockaddr_storage s1 = v6("2001:db8:0:1::1"),
				s2 = v6("2001:db8:0:1::2"),
				s3 = v6("2001:db8:0:2::1");
	netkey_rrl(&s1, &a);
	netkey_rrl(&s2, &b);
	assert_true(netkey_eq(&a, &b));
	netkey_rrl(&s3, &b);
	assert_false(netkey_eq(&a, &b));
	p = v4("192.0.2.200");
	netkey_rrl(&p, &a);
	netkey_rrl(&q, &b);
	assert_true(netkey_eq(&a, &b));
}

static void cost_bucket_per_network(void **state)
{
	(void)state;
	netcost_t *c = netcost_new(100000, 400000);
	assert_non_null(c);
	struct sockaddr_storage a = v4("198.51.100.7"), a2 = v4("198.51.100.8"),
				b = v4("203.0.113.9");
	/* one costly check at a time per network, in the burst */
	assert_int_equal(netcost_take(c, &a, 200000, 1000), 0);
	assert_int_equal(netcost_take(c, &a2, 200000, 1000), -1);
	/* cheap ones pass beside it; another network has its own bucket */
	assert_int_equal(netcost_take(c, &a2, 16, 1000), 0);
	assert_int_equal(netcost_take(c, &b, 200000, 1000), 0);
	netcost_done(c, &a, 200000);
	assert_int_equal(netcost_take(c, &a2, 199000, 1000), 0);
	netcost_done(c, &a2, 199000);
	/* the burst is spent: 1 000 units left, refilled at 100 a ms */
	assert_int_equal(netcost_take(c, &a, 200000, 1000), -1);
	assert_int_equal(netcost_take(c, &a, 200000, 3000), 0);
	netcost_done(c, &a, 200000);
	netcost_free(c);
	/* rate 0: no limit */
	assert_null(netcost_new(0, 0));
	assert_int_equal(netcost_take(NULL, &a, 1u << 30, 0), 0);
}

static int challenge(authz_t *z, const char *addr, size_t len)
{
	static uint8_t frame[AUTHZ_PENDING_ADDR_BYTES + 1];
	struct sockaddr_storage p = v4(addr);
	uint32_t id;
	uint8_t nonce[16];
	return authz_challenge(z, &p, frame, len, idn_bytes(frame, 24), &id,
			       nonce);
}

static void pending_challenges_capped_by_source(void **state)
{
	(void)state;
	authz_t *z;
	assert_int_equal(authz_new(&z, 0, 0), 0);
	/* per address */
	for (int i = 0; i < AUTHZ_PENDING_ADDR_MAX; i++)
		assert_int_equal(challenge(z, "192.0.2.1", 64), 0);
	assert_int_equal(challenge(z, "192.0.2.1", 64), -EUSERS);
	/* the same network's other addresses, up to the network's cap */
	int more = AUTHZ_PENDING_NET_MAX - AUTHZ_PENDING_ADDR_MAX;
	for (int i = 0; i < more; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%d", 2 + i / 100);
		assert_int_equal(challenge(z, a, 64), 0);
	}
	assert_int_equal(challenge(z, "192.0.2.200", 64), -EUSERS);
	/* another network is not locked out */
	assert_int_equal(challenge(z, "192.0.3.1", 64), 0);
	/* bytes: a request over the address's byte cap is never held, and
	 * an address holds at most its byte cap */
	assert_int_equal(
		challenge(z, "198.51.100.1", AUTHZ_PENDING_ADDR_BYTES + 1),
		-EUSERS);
	for (int i = 0; i < 32; i++)
		assert_int_equal(challenge(z, "198.51.100.1", 256 << 10), 0);
	assert_int_equal(challenge(z, "198.51.100.1", 256 << 10), -EUSERS);
	authz_free(z);
}

static void prices(void **state)
{
	(void)state;
	assert_true(authz_pubkey_cost(2048) == 64);
	assert_true(authz_pubkey_cost(16384) == 1024);
	uint8_t sig[64];
	idn_wr_t w;
	idn_wr_init(&w, sig, sizeof(sig));
	idn_wr_u8(&w, 0x22); /* PBKDF2-HMAC-SHA1 */
	idn_wr_str(&w, idn_bytes((const uint8_t *)"salt", 4));
	idn_wr_u32(&w, 200000);
	idn_wr_u32(&w, 160);
	assert_true(authz_seckey_cost(idn_bytes(sig, w.len)) == 200000);
	sig[0] = 0x13; /* HMAC-SHA256 */
	assert_true(authz_seckey_cost(idn_bytes(sig, 33)) == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(networks_are_24_and_56),
		cmocka_unit_test(cost_bucket_per_network),
		cmocka_unit_test(pending_challenges_capped_by_source),
		cmocka_unit_test(prices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
