/* The UDP response rate limit (rrl.h): a reply of several datagrams costs
 * each of them, so a large reply cannot be had more cheaply than many
 * small ones. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rrl.h"

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
	return ss;
}

/* How many of n checks at time t pass. */
static int passes(rrl_t *r, const struct sockaddr_storage *src, int n,
		  uint64_t t)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += rrl_check(r, src, t) == RRL_PASS;
	return k;
}

static void datagrams_count(void **state)
{
	(void)state;
	/* 10 a second, burst 10, no slip */
	rrl_t *r = rrl_new(10, 10, 0);
	assert_non_null(r);
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("198.51.100.1");
	/* one reply of 6 datagrams: 1 at the check, 5 charged after */
	assert_int_equal(rrl_check(r, &a, 1000), RRL_PASS);
	rrl_charge(r, &a, 5);
	assert_int_equal(passes(r, &a, 10, 1000), 4);
	/* the same network (/24) shares the bucket; another does not */
	struct sockaddr_storage a2 = v4("192.0.2.200");
	assert_int_equal(rrl_check(r, &a2, 1000), RRL_DROP);
	assert_int_equal(passes(r, &b, 10, 1000), 10);
	/* charging more than is left empties the bucket, no more */
	rrl_charge(r, &b, 1000);
	assert_int_equal(rrl_check(r, &b, 1000), RRL_DROP);
	assert_int_equal(passes(r, &b, 3, 1300), 3); /* 0.3 s: 3 tokens */
	/* a network it has not seen is not charged (nor created) */
	struct sockaddr_storage c = v4("203.0.113.9");
	rrl_charge(r, &c, 1000);
	assert_int_equal(passes(r, &c, 10, 1300), 10);
	rrl_free(r);
	/* off: nothing to charge */
	rrl_charge(NULL, &a, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(datagrams_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
