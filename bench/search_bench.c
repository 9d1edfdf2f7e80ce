/* Search latency through the storage interface, on a store that
 * `idctl populate --prefix P --count N` filled (bench/run-search.sh).
 *
 * usage: search_bench --store PATH --prefix P --count N [--runs R]
 *
 * For each query it runs R searches, each in a renewed read snapshot,
 * stopping after one page (100 results) as a node does, and prints the
 * results per search and the p50 / p99 latency in microseconds. A last
 * line pages through every match of one EMAIL (about N / 997 results).
 * populate's records: URL https://example.com/p/<i>, EMAIL
 * owner<i % 997>@example.com, BATCH lot=B2026-<i / 1000>;line=...;qty=...,
 * DESC on every third, HS_ADMIN; all values stamped at populate time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ident.h"
#include "search.h"
#include "store.h"

typedef struct {
	uint32_t n, page;
	uint8_t cur[IDN_SEARCH_CURSOR_MAX];
	size_t curlen;
} page_t;

static int on_result(void *ctx, idn_bytes_t id, uint32_t ctime,
		     idn_bytes_t cursor)
{
	(void)id, (void)ctime;
	page_t *p = ctx;
	if (p->n == p->page)
		return 1;
	p->n++;
	memcpy(p->cur, cursor.p, cursor.len);
	p->curlen = cursor.len;
	return 0;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void run(idn_rtxn_t *t, const char *name, idn_search_t q, int runs)
{
	double *lat = malloc(sizeof(double) * (size_t)runs);
	uint32_t found = 0;
	for (int i = 0; i < runs; i++) {
		page_t p = {0, IDN_SEARCH_PAGE_DEFAULT, {0}, 0};
		double t0 = now_us();
		if (idn_rtxn_renew(t) != 0) {
			fprintf(stderr, "renew failed\n");
			exit(1);
		}
		int err = idn_store_search(t, &q, on_result, &p);
		idn_rtxn_reset(t);
		lat[i] = now_us() - t0;
		if (err < 0) {
			fprintf(stderr, "%s: %s\n", name, idn_strerror(err));
			exit(1);
		}
		found = p.n;
	}
	qsort(lat, (size_t)runs, sizeof(double), cmp_d);
	printf("| %s | %u | %.1f | %.1f |\n", name, found, lat[runs / 2],
	       lat[runs * 99 / 100]);
	free(lat);
}

int main(int argc, char **argv)
{
	const char *store = NULL, *prefix = NULL;
	uint64_t count = 0;
	int runs = 200;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--store"))
			store = argv[i + 1];
		else if (!strcmp(argv[i], "--prefix"))
			prefix = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			count = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
	}
	if (store == NULL || prefix == NULL || count == 0 || runs < 1) {
		fprintf(stderr, "usage: search_bench --store PATH --prefix P "
				"--count N [--runs R]\n");
		return 2;
	}
	idn_store_opts_t o = {.path = store};
	idn_store_t *s;
	int err = idn_store_open(&o, &s);
	if (err) {
		fprintf(stderr, "open %s: %s\n", store, idn_strerror(err));
		return 1;
	}
	idn_rtxn_t *t;
	if (idn_rtxn_begin(s, &t) != 0)
		return 1;
	idn_rtxn_reset(t);
	uint8_t pn[IDN_IDENT_MAX];
	uint32_t pl;
	if (idn_prefix_normalise((const uint8_t *)prefix, strlen(prefix), pn,
				 &pl) != 0)
		return 2;
	uint64_t mid = count / 2;
	char url[64], email[64], batch[96];
	static const char *const lines[] = {"north", "south", "east", "west"};
	snprintf(url, sizeof(url), "https://example.com/p/%" PRIu64, mid);
	snprintf(email, sizeof(email), "owner%" PRIu64 "@example.com",
		 mid % 997);
	snprintf(batch, sizeof(batch),
		 "lot=B2026-%06" PRIu64 ";line=%s;qty=%" PRIu64, mid / 1000,
		 lines[mid % 4], 100 + mid % 900);
	printf("| query | results | p50 µs | p99 µs |\n| --- | ---: | ---: | "
	       "---: |\n");
	idn_search_t q = {.type = idn_bytes_str("URL"),
			  .data = idn_bytes_str(url)};
	run(t, "URL = one identifier's URL (1 match)", q, runs);
	q.data = idn_bytes_str("https://example.com/p/none");
	run(t, "URL = absent data (0 matches)", q, runs);
	q.type = idn_bytes_str("BATCH");
	q.data = idn_bytes_str(batch);
	run(t, "BATCH = one lot/line/qty", q, runs);
	q.type = idn_bytes_str("EMAIL");
	q.data = idn_bytes_str(email);
	run(t, "EMAIL = one owner (first page of 100)", q, runs);
	q.public_only = true;
	run(t, "same, public values only", q, runs);
	q.public_only = false;
	q.prefix = idn_bytes(pn, pl);
	run(t, "EMAIL = one owner, with prefix", q, runs);
	idn_search_t qp = {.prefix = idn_bytes(pn, pl)};
	run(t, "prefix alone (first page of 100)", qp, runs);
	idn_search_t qt = {.since = 1, .until = UINT32_MAX - 1};
	run(t, "creation time range (first page of 100)", qt, runs);

	/* every page of one EMAIL, 20 times: the median */
	double all[20];
	uint32_t total = 0, pages = 0;
	for (int k = 0; k < 20; k++) {
		idn_search_t qa = {.type = idn_bytes_str("EMAIL"),
				   .data = idn_bytes_str(email)};
		page_t p = {0, IDN_SEARCH_PAGE_DEFAULT, {0}, 0};
		uint8_t cur[IDN_SEARCH_CURSOR_MAX];
		total = pages = 0;
		double t0 = now_us();
		for (;;) {
			p.n = 0;
			if (idn_rtxn_renew(t) != 0)
				return 1;
			err = idn_store_search(t, &qa, on_result, &p);
			idn_rtxn_reset(t);
			if (err < 0)
				return 1;
			total += p.n;
			pages++;
			if (err == 0)
				break;
			memcpy(cur, p.cur, p.curlen); /* the search reads it */
			qa.cursor = idn_bytes(cur, p.curlen);
		}
		all[k] = now_us() - t0;
	}
	qsort(all, 20, sizeof(double), cmp_d);
	printf("\nAll %u matches of one EMAIL, %u pages of 100 with cursors: "
	       "%.0f µs (median of 20).\n",
	       total, pages, all[10]);
	idn_rtxn_free(t);
	idn_store_close(s);
	return 0;
}
