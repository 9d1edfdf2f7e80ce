/* idctl bench's report: the threads' counters merged and printed as text
 * or JSON (bench_int.h). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>

#include "bench_int.h"
#include "ctlutil.h"
#include "msg.h"

/* ---- results ---- */

void bench_stats_merge(stats_t *a, const stats_t *b)
{
	a->sent += b->sent;
	a->received += b->received;
	a->success += b->success;
	a->in_window += b->in_window;
	a->timeouts += b->timeouts;
	a->late += b->late;
	a->malformed += b->malformed;
	a->truncated += b->truncated;
	a->wrong_id += b->wrong_id;
	a->rx_bytes += b->rx_bytes;
	a->rx_dgrams += b->rx_dgrams;
	for (unsigned i = 0; i < RC_SLOTS; i++)
		a->rc[i] += b->rc[i];
	a->rc_other += b->rc_other;
	a->lat_sum += b->lat_sum;
	if (b->lat_min < a->lat_min)
		a->lat_min = b->lat_min;
	if (b->lat_max > a->lat_max)
		a->lat_max = b->lat_max;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		a->hist[i] += b->hist[i];
		a->lag_hist[i] += b->lag_hist[i];
	}
	if (b->lag_max > a->lag_max)
		a->lag_max = b->lag_max;
	a->preempted += b->preempted;
	if (a->start == 0 || b->start < a->start)
		a->start = b->start;
	if (b->end > a->end)
		a->end = b->end;
}

/* Quantile q of histogram hist in microseconds (0 when empty). */
static double hist_percentile_us(const uint64_t *hist, uint64_t max, double q)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < H_BUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	double want = q * (double)total;
	uint64_t target = (uint64_t)want;
	if ((double)target < want || target == 0)
		target++;
	uint64_t cum = 0;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		cum += hist[i];
		if (cum >= target)
			return hist_value(i) / 1000.0;
	}
	return (double)max / 1000.0;
}

/* Latency at quantile q in microseconds (0 when nothing was measured). */
static double percentile_us(const stats_t *st, double q)
{
	return hist_percentile_us(st->hist, st->lat_max, q);
}

static const char *rc_name(unsigned rc)
{
	if (rc >= RC_DNS_BASE)
		return "DNS answer code - 1000 (16: NODATA)";
	const char *text = ctl_rc_text((int)rc);
	return text != NULL ? text : "";
}

typedef struct {
	const char *name;
	double q;
} pct_t;

static const pct_t pcts[] = {
	{"p50", 0.50},
	{"p90", 0.90},
	{"p99", 0.99},
	{"p99.9", 0.999},
};

void bench_report_text(const bench_opts_t *o, const stats_t *st)
{
	double secs = o->duration;
	double elapsed = (double)(st->end - st->start) / 1e9;
	uint64_t errors = st->rc_other;
	for (unsigned i = 0; i < RC_SLOTS; i++)
		errors += st->rc[i];
	printf("idctl bench: %s %s, %" PRIu64 " identifiers under %s\n",
	       o->tcp	? "tcp"
	       : o->dns ? "dns"
			: "udp",
	       o->server, o->count, o->prefix);
	printf("  %u thread(s) x %u %s, %u in flight each, %.1f s "
	       "(%.2f s with drain)\n",
	       o->threads, o->tcp ? 1 : o->sockets,
	       o->tcp ? "connection" : "socket(s)", o->inflight, secs, elapsed);
	printf("requests sent       %12" PRIu64 "\n", st->sent);
	printf("answers received    %12" PRIu64 "\n", st->received);
	printf("  success (rc 1)    %12" PRIu64 "\n", st->success);
	printf("  errors            %12" PRIu64 "\n", errors);
	for (unsigned i = 0; i < RC_SLOTS; i++)
		if (st->rc[i])
			printf("    rc %-4u         %12" PRIu64 "  %s\n", i,
			       st->rc[i], rc_name(i));
	if (st->rc_other)
		printf("    rc >= %u       %12" PRIu64 "\n", RC_SLOTS,
		       st->rc_other);
	if (st->malformed)
		printf("  malformed         %12" PRIu64 "\n", st->malformed);
	if (st->truncated)
		printf("  truncated (UDP)   %12" PRIu64 "\n", st->truncated);
	if (st->wrong_id)
		printf("  wrong identifier  %12" PRIu64 "\n", st->wrong_id);
	printf("timeouts            %12" PRIu64 "  (> %u ms)\n", st->timeouts,
	       o->timeout_ms);
	if (st->late)
		printf("late answers        %12" PRIu64 "\n", st->late);
	printf("resolutions/s       %12.0f\n",
	       secs > 0 ? (double)st->in_window / secs : 0);
	printf("latency us          ");
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		printf(" %s %.1f ", pcts[i].name, percentile_us(st, pcts[i].q));
	printf(" max %.1f\n", (double)st->lat_max / 1000.0);
	if (o->rate > 0) {
		printf("send lag us         ");
		for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
			printf(" %s %.1f ", pcts[i].name,
			       hist_percentile_us(st->lag_hist, st->lag_max,
						  pcts[i].q));
		printf(" max %.1f  (behind the --rate schedule)\n",
		       (double)st->lag_max / 1000.0);
	}
	printf("generator preempted %12" PRIu64
	       "  (involuntary context switches)\n",
	       st->preempted);
}

void bench_report_json(const bench_opts_t *o, const stats_t *st)
{
	double secs = o->duration;
	uint64_t errors = st->rc_other;
	json_t *rcs = json_object();
	for (unsigned i = 0; i < RC_SLOTS; i++) {
		if (!st->rc[i])
			continue;
		char k[16];
		snprintf(k, sizeof(k), "%u", i);
		json_object_set_new(rcs, k,
				    json_integer((json_int_t)st->rc[i]));
		errors += st->rc[i];
	}
	if (st->rc_other)
		json_object_set_new(rcs, "other",
				    json_integer((json_int_t)st->rc_other));
	json_t *lat = json_object();
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		json_object_set_new(lat, pcts[i].name,
				    json_real(percentile_us(st, pcts[i].q)));
	json_object_set_new(
		lat, "mean",
		json_real(st->received ? (double)st->lat_sum /
						 (double)st->received / 1000.0
				       : 0));
	json_object_set_new(
		lat, "min",
		json_real(st->received ? (double)st->lat_min / 1000.0 : 0));
	json_object_set_new(lat, "max",
			    json_real((double)st->lat_max / 1000.0));

	json_t *r = json_object();
	json_object_set_new(r, "transport",
			    json_string(o->tcp	 ? "tcp"
					: o->dns ? "dns"
						 : "udp"));
	json_object_set_new(r, "rate_limit", json_real(o->rate));
	json_object_set_new(r, "server", json_string(o->server));
	json_object_set_new(r, "prefix", json_string(o->prefix));
	json_object_set_new(r, "count", json_integer((json_int_t)o->count));
	json_object_set_new(r, "threads", json_integer(o->threads));
	json_object_set_new(r, "sockets_per_thread",
			    json_integer(o->tcp ? 1 : o->sockets));
	json_object_set_new(r, "inflight", json_integer(o->inflight));
	json_object_set_new(r, "duration_s", json_real(secs));
	json_object_set_new(r, "elapsed_s",
			    json_real((double)(st->end - st->start) / 1e9));
	json_object_set_new(r, "sent", json_integer((json_int_t)st->sent));
	json_object_set_new(r, "received",
			    json_integer((json_int_t)st->received));
	json_object_set_new(r, "success",
			    json_integer((json_int_t)st->success));
	json_object_set_new(r, "errors", json_integer((json_int_t)errors));
	json_object_set_new(r, "errors_by_rc", rcs);
	json_object_set_new(r, "malformed",
			    json_integer((json_int_t)st->malformed));
	json_object_set_new(r, "truncated",
			    json_integer((json_int_t)st->truncated));
	json_object_set_new(r, "wrong_id",
			    json_integer((json_int_t)st->wrong_id));
	json_object_set_new(r, "timeouts",
			    json_integer((json_int_t)st->timeouts));
	json_object_set_new(r, "late", json_integer((json_int_t)st->late));
	json_object_set_new(
		r, "datagram_bytes_mean",
		json_real(st->rx_dgrams
				  ? (double)st->rx_bytes / (double)st->rx_dgrams
				  : 0));
	json_object_set_new(
		r, "resolutions_per_s",
		json_real(secs > 0 ? (double)st->in_window / secs : 0));
	json_object_set_new(r, "latency_us", lat);
	if (o->rate > 0) {
		json_t *lag = json_object();
		for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
			json_object_set_new(
				lag, pcts[i].name,
				json_real(hist_percentile_us(
					st->lag_hist, st->lag_max, pcts[i].q)));
		json_object_set_new(lag, "max",
				    json_real((double)st->lag_max / 1000.0));
		json_object_set_new(r, "send_lag_us", lag);
	}
	json_object_set_new(r, "generator_preempted",
			    json_integer((json_int_t)st->preempted));
	json_dumpf(r, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
	fputc('\n', stdout);
	json_decref(r);
}
