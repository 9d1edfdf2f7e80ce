#include "reqlat.h"

const uint64_t reqlat_bounds_ns[REQLAT_BUCKETS] = {
	10000,	   25000,     50000,	 100000,     250000,	 500000,
	1000000,   2500000,   5000000,	 10000000,   25000000,	 50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000u};

void reqlat_merge(reqlat_t *to, const reqlat_t *from)
{
	for (int b = 0; b <= REQLAT_BUCKETS; b++)
		atomic_fetch_add_explicit(
			&to->n[b],
			atomic_load_explicit(&from->n[b], memory_order_relaxed),
			memory_order_relaxed);
	atomic_fetch_add_explicit(
		&to->ns, atomic_load_explicit(&from->ns, memory_order_relaxed),
		memory_order_relaxed);
}
