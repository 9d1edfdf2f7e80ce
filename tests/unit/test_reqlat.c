/* Request latency histograms (src/node/reqlat.h): a latency lands in the
 * first bucket whose bound it does not exceed (Prometheus's le), beyond
 * the last in the overflow bucket; sums and merges add up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "reqlat.h"

static void bounds_ascend(void **state)
{
	(void)state;
	assert_int_equal(reqlat_bounds_ns[0], 10000);
	assert_int_equal(reqlat_bounds_ns[REQLAT_BUCKETS - 1], 2500000000u);
	for (int i = 1; i < REQLAT_BUCKETS; i++)
		assert_true(reqlat_bounds_ns[i] > reqlat_bounds_ns[i - 1]);
}

static void buckets(void **state)
{
	(void)state;
	reqlat_t l;
	memset(&l, 0, sizeof(l));
	reqlat_add(&l, 0);	     /* bucket 0 */
	reqlat_add(&l, 10000);	     /* on the bound: still bucket 0 */
	reqlat_add(&l, 10001);	     /* bucket 1 */
	reqlat_add(&l, 999999);	     /* <= 1 ms: bucket 6 */
	reqlat_add(&l, 2500000000u); /* the last bound */
	reqlat_add(&l, 2500000001u); /* above every bound */
	assert_int_equal(atomic_load(&l.n[0]), 2);
	assert_int_equal(atomic_load(&l.n[1]), 1);
	assert_int_equal(atomic_load(&l.n[6]), 1);
	assert_int_equal(atomic_load(&l.n[REQLAT_BUCKETS - 1]), 1);
	assert_int_equal(atomic_load(&l.n[REQLAT_BUCKETS]), 1);
	assert_int_equal(atomic_load(&l.ns), 0 + 10000 + 10001 + 999999 +
						     2500000000ull +
						     2500000001u);
	reqlat_t sum;
	memset(&sum, 0, sizeof(sum));
	reqlat_merge(&sum, &l);
	reqlat_merge(&sum, &l);
	assert_int_equal(atomic_load(&sum.n[0]), 4);
	assert_int_equal(atomic_load(&sum.n[REQLAT_BUCKETS]), 2);
	assert_int_equal(atomic_load(&sum.ns), 2 * atomic_load(&l.ns));
}

static void since(void **state)
{
	(void)state;
	reqlat_t l;
	memset(&l, 0, sizeof(l));
	uint64_t t0 = reqlat_now();
	struct timespec ts = {0, 2000000}; /* 2 ms */
	nanosleep(&ts, NULL);
	reqlat_since(&l, t0);
	uint64_t ns = atomic_load(&l.ns);
	if (ns < 2000000 || ns > 2000000000)
		fail_msg("2 ms sleep timed as %llu ns", (unsigned long long)ns);
	uint64_t total = 0;
	for (int b = 0; b <= REQLAT_BUCKETS; b++)
		total += atomic_load(&l.n[b]);
	assert_int_equal(total, 1);
	/* 2 ms or a little more: the 2.5 ms bucket or above, never below */
	for (int b = 0; b < 7; b++)
		assert_int_equal(atomic_load(&l.n[b]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounds_ascend),
		cmocka_unit_test(buckets),
		cmocka_unit_test(since),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
