#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "error.h"

static idn_cache_t *mk(size_t bytes, unsigned shards, uint32_t max_ttl,
		       uint32_t neg_ttl)
{
	idn_cache_opts_t o = {bytes, shards, max_ttl, neg_ttl};
	idn_cache_t *c = NULL;
	assert_int_equal(idn_cache_new(&o, &c), 0);
	return c;
}

static int put(idn_cache_t *c, const char *k, int kind, const char *data,
	       uint32_t ttl, uint64_t now)
{
	return idn_cache_put(c, (const uint8_t *)k, strlen(k), kind, 1, 3,
			     (const uint8_t *)data, data ? strlen(data) : 0,
			     ttl, now);
}

static int get(idn_cache_t *c, const char *k, uint64_t now, char *buf,
	       idn_cache_hit_t *hit)
{
	int rc = idn_cache_get(c, (const uint8_t *)k, strlen(k), now,
			       (uint8_t *)buf, 256, hit);
	if (rc == 0)
		buf[hit->len] = 0;
	return rc;
}

static void test_siphash_vector(void **state)
{
	(void)state;
	/* reference vector of the SipHash paper: key 00..0f, message 00..0e */
	uint8_t key[16], msg[15];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	assert_true(idn_siphash(key, msg, 15) == 0xa129ca6149be45e5ull);
	/* empty message, from the reference implementation's table */
	assert_true(idn_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ull);
}

static void test_put_get_expire(void **state)
{
	(void)state;
	idn_cache_t *c = mk(1 << 20, 4, 3600, 5);
	char buf[257];
	idn_cache_hit_t hit;
	assert_int_equal(get(c, "88.1/A", 1000, buf, &hit), IDN_ENOTFOUND);
	assert_int_equal(put(c, "88.1/A", IDN_CACHE_POSITIVE, "vals", 10, 1000),
			 0);
	assert_int_equal(get(c, "88.1/A", 1500, buf, &hit), 0);
	assert_string_equal(buf, "vals");
	assert_int_equal(hit.kind, IDN_CACHE_POSITIVE);
	assert_int_equal(hit.nvalues, 3);
	assert_int_equal(hit.rc, 1);
	assert_int_equal(hit.ttl_left, 10); /* 9.5 s rounds up */
	/* expiry is exact: alive until 10 s after insertion */
	assert_int_equal(get(c, "88.1/A", 10999, buf, &hit), 0);
	assert_int_equal(get(c, "88.1/A", 11000, buf, &hit), IDN_ENOTFOUND);
	idn_cache_stats_t st;
	idn_cache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	idn_cache_free(c);
}

static void test_ttl_caps(void **state)
{
	(void)state;
	idn_cache_t *c = mk(1 << 20, 1, 100, 7);
	char buf[257];
	idn_cache_hit_t hit;
	put(c, "88.1/LONG", IDN_CACHE_POSITIVE, "x", 86400, 0);
	assert_int_equal(get(c, "88.1/LONG", 0, buf, &hit), 0);
	assert_int_equal(hit.ttl_left, 100);
	/* negative entries always get the negative TTL, and no data */
	put(c, "88.1/NONE", IDN_CACHE_NEGATIVE, "ignored", 86400, 0);
	assert_int_equal(get(c, "88.1/NONE", 0, buf, &hit), 0);
	assert_int_equal(hit.kind, IDN_CACHE_NEGATIVE);
	assert_int_equal(hit.ttl_left, 7);
	assert_int_equal(hit.len, 0);
	assert_int_equal(get(c, "88.1/NONE", 7000, buf, &hit), IDN_ENOTFOUND);
	/* ttl 0: not cached at all */
	put(c, "88.1/ZERO", IDN_CACHE_POSITIVE, "x", 0, 0);
	assert_int_equal(get(c, "88.1/ZERO", 0, buf, &hit), IDN_ENOTFOUND);
	idn_cache_free(c);
}

static void test_replace_and_small_buffer(void **state)
{
	(void)state;
	idn_cache_t *c = mk(1 << 20, 2, 0, 0);
	char buf[257];
	idn_cache_hit_t hit;
	put(c, "88.1/R", IDN_CACHE_POSITIVE, "old", 60, 0);
	put(c, "88.1/R", IDN_CACHE_REFERRAL, "newer", 60, 0);
	assert_int_equal(get(c, "88.1/R", 1, buf, &hit), 0);
	assert_string_equal(buf, "newer");
	assert_int_equal(hit.kind, IDN_CACHE_REFERRAL);
	idn_cache_stats_t st;
	idn_cache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	uint8_t tiny[2];
	assert_int_equal(idn_cache_get(c, (const uint8_t *)"88.1/R", 6, 1, tiny,
				       sizeof(tiny), &hit),
			 IDN_ETOOLONG);
	assert_int_equal(hit.len, 5);
	idn_cache_free(c);
}

static void test_eviction_bounded(void **state)
{
	(void)state;
	/* one shard of 16 KiB: inserting 1000 entries of ~200 bytes must
	 * keep the total under budget and evict the oldest first */
	idn_cache_t *c = mk(16384, 1, 0, 0);
	char key[32], data[200];
	memset(data, 'v', sizeof(data) - 1);
	data[sizeof(data) - 1] = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "88.1/K%d", i);
		assert_int_equal(put(c, key, IDN_CACHE_POSITIVE, data, 60, 0),
				 0);
		if (i == 500) { /* touch K400 so it survives as recently used */
			char buf[257];
			idn_cache_hit_t hit;
			(void)get(c, "88.1/K400", 0, buf, &hit);
		}
	}
	idn_cache_stats_t st;
	idn_cache_stats(c, &st);
	assert_true(st.bytes <= 16384);
	assert_true(st.entries > 10);
	assert_int_equal(st.evictions, 1000 - st.entries);
	char buf[257];
	idn_cache_hit_t hit;
	assert_int_equal(get(c, "88.1/K999", 0, buf, &hit), 0);
	assert_int_equal(get(c, "88.1/K0", 0, buf, &hit), IDN_ENOTFOUND);
	/* an entry bigger than the shard budget is refused */
	static char big[20000];
	memset(big, 'b', sizeof(big) - 1);
	assert_int_equal(put(c, "88.1/BIG", IDN_CACHE_POSITIVE, big, 60, 0),
			 IDN_ETOOLONG);
	idn_cache_free(c);
}

static void test_flush_prefix(void **state)
{
	(void)state;
	idn_cache_t *c = mk(1 << 20, 8, 0, 0);
	put(c, "88.118.8/A", IDN_CACHE_POSITIVE, "a", 60, 0);
	put(c, "88.118.8/B", IDN_CACHE_POSITIVE, "b", 60, 0);
	put(c, "0.NA/88.118.8", IDN_CACHE_REFERRAL, "site", 60, 0);
	put(c, "88.118.80/C", IDN_CACHE_POSITIVE, "c", 60, 0);
	put(c, "88.118/D", IDN_CACHE_POSITIVE, "d", 60, 0);
	assert_int_equal(idn_cache_flush(c, (const uint8_t *)"88.118.8", 8), 3);
	char buf[257];
	idn_cache_hit_t hit;
	assert_int_equal(get(c, "88.118.8/A", 0, buf, &hit), IDN_ENOTFOUND);
	assert_int_equal(get(c, "0.NA/88.118.8", 0, buf, &hit), IDN_ENOTFOUND);
	assert_int_equal(get(c, "88.118.80/C", 0, buf, &hit), 0);
	assert_int_equal(get(c, "88.118/D", 0, buf, &hit), 0);
	assert_int_equal(idn_cache_flush(c, NULL, 0), 2);
	idn_cache_stats_t st;
	idn_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	idn_cache_free(c);
}

static idn_cache_t *shared;

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	char key[32], buf[257];
	idn_cache_hit_t hit;
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "88.1/T%d", (i * 7 + id) % 500);
		if (i % 3 == 0)
			put(shared, key, IDN_CACHE_POSITIVE, key, 60, 0);
		else if (get(shared, key, 0, buf, &hit) == 0 &&
			 strcmp(buf, key) != 0)
			return (void *)1; /* data must match its key */
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	shared = mk(64 * 1024, 4, 0, 0);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	idn_cache_stats_t st;
	idn_cache_stats(shared, &st);
	assert_true(st.bytes <= 64 * 1024);
	assert_true(st.hits > 0);
	idn_cache_free(shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_put_get_expire),
		cmocka_unit_test(test_ttl_caps),
		cmocka_unit_test(test_replace_and_small_buffer),
		cmocka_unit_test(test_eviction_bounded),
		cmocka_unit_test(test_flush_prefix),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
