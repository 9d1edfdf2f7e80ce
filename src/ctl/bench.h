/* idctl populate and idctl bench: the two halves of the throughput
 * benchmark (bench/run-foundation.sh drives them).
 *
 * populate (populate.c) writes synthetic identifiers P/bench-<i> straight
 * into an LMDB data directory; bench (bench.c) is a load generator that
 * keeps many resolution requests in flight against a running node over UDP
 * or TCP and reports rates and latency percentiles.
 *
 * Both take the command's argv with argv[0] the command name ("populate",
 * "bench") and the options after it; they print their own --help and
 * one-line errors (to stderr) and return the process exit status: 0 on
 * success, 1 when the work failed, 2 for a usage error. */
#ifndef IDCTL_BENCH_H
#define IDCTL_BENCH_H

#include <inttypes.h>
#include <stdint.h>

#include "cli.h"

/* The command table's handlers (cli.h): -s, --tcp, --json and --timeout
 * given before `bench` are its defaults; populate takes no global
 * option. */
int bench_populate_main(ctl_opts_t *o, int argc, char **argv);
int bench_main(ctl_opts_t *o, int argc, char **argv);

/* ---- shared by populate.c and bench.c ---- */

/* The suffix of synthetic identifier i: P/bench-<i>. */
#define BENCH_SUFFIX_FMT "bench-%" PRIu64

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Parses a decimal integer in [min, max]. Returns 0 or -1. */
int bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Checks that p is a bare prefix (no '/', valid as a prefix); on failure
 * prints "idctl <cmd>: ..." to stderr and returns -1. */
int bench_check_prefix(const char *cmd, const char *p);

#endif
