/* Storage benchmark through the storage interface (store.h), the same
 * code for every backend:
 *
 *   import:   --records N identifiers of three values each, created with
 *             overwrite in transactions of --batch; reports records/s and
 *             the p50/p99 of a batch's commit.
 *   resolve:  --threads T workers for --seconds S, each doing what the
 *             daemon's handler does per request: renew its read
 *             transaction, check the prefix is homed, read a random
 *             record, reset; reports resolutions/s and p50/p99 latency.
 *
 * usage: store_bench --store PATH [--import] [--records N] [--batch B]
 *                    [--threads T] [--seconds S]
 * Prints one line of JSON per phase. Built by bench/store-pg.sh. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ident.h"
#include "store.h"
#include "value.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1));
	return v[i];
}

static void name_of(char *buf, size_t cap, unsigned long i)
{
	snprintf(buf, cap, "88.118.8/SKU-%08lu", i);
}

static int import(idn_store_t *s, unsigned long n, unsigned batch)
{
	size_t nb = (n + batch - 1) / batch;
	double *lat = calloc(nb ? nb : 1, sizeof(*lat));
	if (lat == NULL)
		return -ENOMEM;
	double t0 = now();
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(s, &t);
	if (err == 0)
		err = idn_wtxn_home(t, (const uint8_t *)"88.118.8", 8);
	size_t k = 0;
	for (unsigned long i = 0; err == 0 && i < n; i++) {
		char name[64], url[96];
		name_of(name, sizeof(name), i);
		snprintf(url, sizeof(url), "https://example.com/products/%lu",
			 i);
		idn_value_t v[3] = {
			{.index = 1,
			 .timestamp = 1767225600,
			 .ttl = 86400,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str("URL"),
			 .data = idn_bytes_str(url)},
			{.index = 2,
			 .timestamp = 1767225600,
			 .ttl = 86400,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str("EMAIL"),
			 .data = idn_bytes_str("quality@example.com")},
			{.index = 100,
			 .timestamp = 1767225600,
			 .ttl = 86400,
			 .perms = IDN_PERM_DEFAULT,
			 .type = idn_bytes_str("BATCH"),
			 .data = idn_bytes_str("2026-11-A line 4 shift 2")},
		};
		idn_ident_t id;
		idn_ident_parse((const uint8_t *)name, strlen(name), 0, &id);
		err = idn_wtxn_create(t, &id, v, 3, true);
		if (err == 0 && ((i + 1) % batch == 0 || i + 1 == n)) {
			double c0 = now();
			err = idn_wtxn_commit(t);
			lat[k++] = now() - c0;
			if (err == 0 && i + 1 < n)
				err = idn_wtxn_begin(s, &t);
		} else if (err) {
			idn_wtxn_abort(t);
		}
	}
	double secs = now() - t0;
	if (err) {
		fprintf(stderr, "import: %s\n", idn_strerror(err));
		free(lat);
		return err;
	}
	qsort(lat, k, sizeof(*lat), cmpd);
	printf("{\"phase\":\"import\",\"records\":%lu,\"batch\":%u,"
	       "\"seconds\":%.3f,\"records_per_second\":%.0f,"
	       "\"commit_p50_ms\":%.3f,\"commit_p99_ms\":%.3f}\n",
	       n, batch, secs, n / secs, pct(lat, k, 0.5) * 1e3,
	       pct(lat, k, 0.99) * 1e3);
	free(lat);
	return 0;
}

typedef struct {
	idn_store_t *s;
	unsigned long records;
	double secs;
	unsigned seed;
	size_t n, cap;
	double *lat;
	int err;
} worker_t;

static void *resolver(void *arg)
{
	worker_t *w = arg;
	idn_rtxn_t *t;
	if ((w->err = idn_rtxn_begin(w->s, &t)) != 0)
		return NULL;
	idn_rtxn_reset(t);
	double end = now() + w->secs;
	for (;;) {
		double t0 = now();
		if (t0 > end)
			break;
		char name[64];
		name_of(name, sizeof(name),
			(unsigned long)rand_r(&w->seed) % w->records);
		idn_ident_t id;
		idn_ident_parse((const uint8_t *)name, strlen(name), 0, &id);
		idn_record_t rec;
		int err = idn_rtxn_renew(t);
		int homed =
			err ? err : idn_store_homed(t, id.key, id.prefix_len);
		if (homed != 1) {
			w->err = homed < 0 ? homed : IDN_ENOTHOMED;
			break;
		}
		err = idn_store_get(t, id.key, id.key_len, &rec);
		idn_rtxn_reset(t);
		if (err) {
			w->err = err;
			break;
		}
		if (w->n < w->cap)
			w->lat[w->n] = now() - t0;
		w->n++;
	}
	idn_rtxn_free(t);
	return NULL;
}

static int resolve(idn_store_t *s, unsigned long records, unsigned threads,
		   double secs)
{
	worker_t *w = calloc(threads, sizeof(*w));
	pthread_t *th = calloc(threads, sizeof(*th));
	if (w == NULL || th == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < threads; i++) {
		w[i] = (worker_t){.s = s,
				  .records = records,
				  .secs = secs,
				  .seed = 7919 * (i + 1),
				  .cap = 4000000};
		w[i].lat = malloc(w[i].cap * sizeof(double));
		if (w[i].lat == NULL)
			return -ENOMEM;
		pthread_create(&th[i], NULL, resolver, &w[i]);
	}
	size_t total = 0, kept = 0;
	int err = 0;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += w[i].n;
		kept += w[i].n < w[i].cap ? w[i].n : w[i].cap;
		if (w[i].err && !err)
			err = w[i].err;
	}
	double *all = malloc((kept ? kept : 1) * sizeof(double));
	size_t k = 0;
	for (unsigned i = 0; i < threads; i++) {
		for (size_t j = 0; j < w[i].n && j < w[i].cap; j++)
			all[k++] = w[i].lat[j];
		free(w[i].lat);
	}
	qsort(all, k, sizeof(double), cmpd);
	double sum = 0;
	for (size_t i = 0; i < k; i++)
		sum += all[i];
	if (err)
		fprintf(stderr, "resolve: %s\n", idn_strerror(err));
	else
		printf("{\"phase\":\"resolve\",\"threads\":%u,\"seconds\":%.1f,"
		       "\"resolutions_per_second\":%.0f,\"avg_us\":%.1f,"
		       "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
		       threads, secs, total / secs, k ? sum / k * 1e6 : 0,
		       pct(all, k, 0.5) * 1e6, pct(all, k, 0.99) * 1e6);
	free(all);
	free(w);
	free(th);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"store", required_argument, NULL, 's'},
		{"import", no_argument, NULL, 'i'},
		{"records", required_argument, NULL, 'n'},
		{"batch", required_argument, NULL, 'b'},
		{"threads", required_argument, NULL, 't'},
		{"seconds", required_argument, NULL, 'S'},
		{0},
	};
	const char *path = NULL;
	bool do_import = false;
	unsigned long records = 100000;
	unsigned batch = 1000, threads = 2;
	double secs = 10;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'i':
			do_import = true;
			break;
		case 'n':
			records = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			batch = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			secs = strtod(optarg, NULL);
			break;
		default:
			return 2;
		}
	}
	if (path == NULL || records == 0 || batch == 0 || threads == 0 ||
	    secs <= 0) {
		fprintf(stderr, "usage: store_bench --store PATH [--import] "
				"[--records N] [--batch B] [--threads T] "
				"[--seconds S]\n");
		return 2;
	}
	idn_store_opts_t o = {.path = path};
	idn_store_t *s;
	int err = idn_store_open(&o, &s);
	if (err) {
		fprintf(stderr, "open %s: %s\n", path, idn_strerror(err));
		return 1;
	}
	if (do_import)
		err = import(s, records, batch);
	if (err == 0)
		err = resolve(s, records, threads, secs);
	idn_store_close(s);
	return err ? 1 : 0;
}
