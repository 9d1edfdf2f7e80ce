/* Request latency by transport, kept as Prometheus histograms: fixed
 * buckets, counted by the handler's own thread. One thread writes each
 * set, so a count is a relaxed load and store, no locked instruction on
 * the request path; /metrics sums the handlers' sets under the node's
 * lock (handler.h). */
#ifndef IDN_NODE_REQLAT_H
#define IDN_NODE_REQLAT_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "principal.h"

#define REQLAT_BUCKETS 17
#define REQLAT_TRANSPORTS (TRANSPORT_HTTP + 1)

/* Upper bounds of the buckets in nanoseconds, ascending (10 us .. 2.5 s). */
extern const uint64_t reqlat_bounds_ns[REQLAT_BUCKETS];

typedef struct {
	atomic_uint_fast64_t n[REQLAT_BUCKETS + 1]; /* the last: above all */
	atomic_uint_fast64_t ns;		    /* sum of the latencies */
} reqlat_t;

static inline uint64_t reqlat_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void reqlat_bump(atomic_uint_fast64_t *c, uint64_t by)
{
	atomic_store_explicit(
		c, atomic_load_explicit(c, memory_order_relaxed) + by,
		memory_order_relaxed);
}

/* Counts one request of ns nanoseconds; only l's thread calls it. */
static inline void reqlat_add(reqlat_t *l, uint64_t ns)
{
	int b = 0;
	while (b < REQLAT_BUCKETS && ns > reqlat_bounds_ns[b])
		b++;
	reqlat_bump(&l->n[b], 1);
	reqlat_bump(&l->ns, ns);
}

/* Counts one request that started at t0 (reqlat_now()). */
static inline void reqlat_since(reqlat_t *l, uint64_t t0)
{
	reqlat_add(l, reqlat_now() - t0);
}

/* Adds from's counts to to's; for sums taken under a lock. */
void reqlat_merge(reqlat_t *to, const reqlat_t *from);

#endif
