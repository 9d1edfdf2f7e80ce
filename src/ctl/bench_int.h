/* idctl bench's internals shared by the generator (bench.c) and its
 * report (bench_report.c): the options, the latency histogram and the
 * per-thread counters. */
#ifndef IDCTL_BENCH_INT_H
#define IDCTL_BENCH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
	const char *server;
	const char *prefix;
	uint64_t count;
	double duration;
	uint32_t inflight;
	uint32_t threads;
	uint32_t sockets;
	bool tcp;
	bool json;
	bool recursive;
	bool dns;
	double rate; /* requests/s in all; 0: as fast as answers come */
	uint32_t timeout_ms;
	uint64_t pool_max;
	uint64_t seed;
	struct sockaddr_storage addr;
	socklen_t addrlen;
} bench_opts_t;

/* ---- latency histogram: log-linear, ~1.6 % resolution ---- */

#define H_SUB_BITS 6
#define H_SUB (1u << H_SUB_BITS)
#define H_BUCKETS ((64 - H_SUB_BITS + 1) * H_SUB)

static inline unsigned hist_index(uint64_t v)
{
	if (v < 2 * H_SUB)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v);
	unsigned shift = e - H_SUB_BITS;
	return (shift + 1) * H_SUB + (unsigned)(v >> shift) - H_SUB;
}

/* Midpoint of a bucket, in the unit recorded (ns). */
static inline double hist_value(unsigned idx)
{
	if (idx < 2 * H_SUB)
		return idx;
	unsigned shift = idx / H_SUB - 1;
	uint64_t low = (uint64_t)(idx % H_SUB + H_SUB) << shift;
	return (double)low + (double)((uint64_t)1 << shift) / 2.0;
}

/* ---- per-thread state and results ---- */

#define RC_SLOTS 1024 /* response codes counted individually */
#define RC_WRONG_ID (-2)
#define IO_BATCH 64

typedef struct {
	uint64_t sent;
	uint64_t received;  /* answers matched to an outstanding request */
	uint64_t success;   /* rc 1 */
	uint64_t in_window; /* successes completed before the deadline */
	uint64_t timeouts;
	uint64_t late;	    /* answers after their timeout, or unknown ids */
	uint64_t malformed; /* answers that do not decode */
	uint64_t truncated; /* UDP answers flagged truncated (retry on TCP) */
	uint64_t wrong_id;  /* successes naming another identifier */
	uint64_t rx_bytes;  /* UDP datagrams received, payload bytes */
	uint64_t rx_dgrams;
	uint64_t rc[RC_SLOTS];
	uint64_t rc_other;
	uint64_t lat_sum, lat_min, lat_max; /* ns */
	uint64_t hist[H_BUCKETS];
	/* --rate: how late each request left against the schedule (ns); a
	 * generator that falls behind sends in bursts */
	uint64_t lag_hist[H_BUCKETS];
	uint64_t lag_max;
	uint64_t preempted;  /* involuntary context switches of the threads */
	uint64_t start, end; /* ns */
} stats_t;

/* DNS answer codes are counted as 1000 + RCODE; NOERROR without an
 * answer (NODATA) as 1016. */
#define RC_DNS_BASE 1000u
#define RC_DNS_NODATA (RC_DNS_BASE + 16)

/* Adds b's counters to a (minimum and maximum kept, times widened). */
void bench_stats_merge(stats_t *a, const stats_t *b);

/* Prints the result for people, or as one JSON object (--json). */
void bench_report_text(const bench_opts_t *o, const stats_t *st);
void bench_report_json(const bench_opts_t *o, const stats_t *st);

#endif
