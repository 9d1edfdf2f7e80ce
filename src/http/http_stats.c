/* Activity for the dashboard (GET /api/stats) and Prometheus (GET
 * /metrics): the node's handler counters sampled once a second into a
 * five-minute series, HTTP requests by route, status and latency, and the
 * identifiers and prefixes most resolved over HTTP (per-thread lossy
 * heavy-hitter tables: O(1) per request, no shared lock), operations by
 * response code (per-thread, lock-free), and registrations and resolutions
 * by industry and region (the handlers' counters, activity.h). /metrics
 * adds the build, the process's resource use (http_proc.h), request
 * latency by transport (reqlat.h) and the rate limiter's drops. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "cache.h"
#include "http_int.h"
#include "http_proc.h"
#include "mirror.h"
#include "store.h"
#include "version.h"

#define SERIES 300 /* seconds kept */
#define TOP_SLOTS 1024
#define PFX_SLOTS 128
#define OPRC_MAX 96

static const int codes[] = {200, 201, 300, 302, 304, 400, 401, 403, 404,
			    405, 409, 413, 415, 500, 501, 503, 0};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* HTTP requests of one route-table row (the last set: no row). */
typedef struct {
	atomic_uint_fast64_t req[NCODES];
	atomic_uint_fast64_t lat[HTTP_LAT_BUCKETS + 1];
	atomic_uint_fast64_t lat_us;
} route_count_t;

typedef struct {
	char id[160];
	uint64_t count;
} top_slot_t;

typedef struct {
	char prefix[64];
	uint64_t res, reg, fail;
} pfx_slot_t;

/* Operations by Handle response code: appended by the owning HTTP thread
 * only and published through n (release), so neither side locks. */
typedef struct {
	const char *op; /* static strings */
	uint32_t rc;
	atomic_uint_fast64_t count;
} oprc_t;

typedef struct {
	pthread_mutex_t lock; /* taken by its thread and by readers */
	top_slot_t top[TOP_SLOTS];
	pfx_slot_t pfx[PFX_SLOTS];
	uint64_t pfx_other;
	oprc_t oprc[OPRC_MAX];
	atomic_int noprc;
} thr_stats_t;

typedef struct {
	uint64_t requests, resolutions, writes, not_found, errors, referrals;
	uint64_t outcome_unknown; /* a total only, not sampled */
} sample_t;

struct http_stats {
	http_server_t *srv;
	time_t started;
	route_count_t *route; /* one per row of http_routes(), then "other" */
	size_t nroutes;
	pthread_mutex_t lock; /* series */
	sample_t last;
	sample_t series[SERIES]; /* per-second deltas, ring */
	time_t series_t[SERIES];
	int head, count;
	thr_stats_t *thr;
	int nthr;
	pthread_t sampler;
	pthread_cond_t cond;
	bool stop, sampler_started;
};

static void node_totals(node_ctx_t *n, sample_t *s)
{
	handler_stats_t st;
	node_stats_sum(n, &st);
	memset(s, 0, sizeof(*s));
#define GET(f) s->f = atomic_load_explicit(&st.f, memory_order_relaxed)
	GET(requests);
	GET(resolutions);
	GET(writes);
	GET(not_found);
	GET(errors);
	GET(referrals);
	GET(outcome_unknown);
#undef GET
}

/* Registrations and resolutions by industry and region, summed over the
 * node's handlers (activity.h). */
typedef struct {
	uint64_t ind[ACT_KINDS][ACT_INDUSTRIES];
	uint64_t reg[ACT_KINDS][ACT_REGIONS];
} act_sum_t;

static void act_add(act_sum_t *s, const act_counts_t *c)
{
	for (int k = 0; k < ACT_KINDS; k++) {
		for (int i = 0; i < ACT_INDUSTRIES; i++)
			s->ind[k][i] += atomic_load_explicit(
				&c->industry[k][i], memory_order_relaxed);
		for (int i = 0; i < ACT_REGIONS; i++)
			s->reg[k][i] += atomic_load_explicit(
				&c->region[k][i], memory_order_relaxed);
	}
}

static void node_activity(node_ctx_t *n, act_sum_t *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&n->lock);
	for (handler_t *h = n->handlers; h != NULL; h = h->next)
		if (h->act != NULL)
			act_add(s, act_counts(h->act));
	act_add(s, &n->act_retired);
	pthread_mutex_unlock(&n->lock);
}

/* [{"code","name","registrations","resolutions"}] of the classes with any
 * activity, in code order. */
static json_t *activity_json(const act_sum_t *s, bool industry)
{
	json_t *arr = json_array();
	int n = industry ? ACT_INDUSTRIES : ACT_REGIONS;
	for (int i = 0; i < n; i++) {
		uint64_t reg = industry ? s->ind[ACT_REGISTER][i]
					: s->reg[ACT_REGISTER][i];
		uint64_t res = industry ? s->ind[ACT_RESOLVE][i]
					: s->reg[ACT_RESOLVE][i];
		if (reg == 0 && res == 0)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "code",
				    json_string(industry ? act_industry_code(i)
							 : act_region_code(i)));
		json_object_set_new(o, "name",
				    json_string(industry ? act_industry_name(i)
							 : act_region_name(i)));
		json_object_set_new(o, "registrations",
				    json_integer((json_int_t)reg));
		json_object_set_new(o, "resolutions",
				    json_integer((json_int_t)res));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void *sampler_main(void *arg)
{
	http_stats_t *st = arg;
	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		ts.tv_nsec = 0;
		pthread_cond_timedwait(&st->cond, &st->lock, &ts);
		if (st->stop)
			break;
		pthread_mutex_unlock(&st->lock);
		sample_t now;
		node_totals(st->srv->node, &now);
		pthread_mutex_lock(&st->lock);
		sample_t d = {now.requests - st->last.requests,
			      now.resolutions - st->last.resolutions,
			      now.writes - st->last.writes,
			      now.not_found - st->last.not_found,
			      now.errors - st->last.errors,
			      now.referrals - st->last.referrals};
		st->last = now;
		st->head = (st->head + 1) % SERIES;
		st->series[st->head] = d;
		st->series_t[st->head] = time(NULL);
		if (st->count < SERIES)
			st->count++;
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int http_stats_new(http_server_t *s, http_stats_t **out)
{
	http_stats_t *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -1;
	st->srv = s;
	st->started = time(NULL);
	st->nthr = s->conf->http_threads;
	http_routes(&st->nroutes);
	st->route = calloc(st->nroutes + 1, sizeof(*st->route));
	st->thr = calloc((size_t)st->nthr, sizeof(*st->thr));
	if (st->thr == NULL || st->route == NULL) {
		free(st->route);
		free(st->thr);
		free(st);
		return -1;
	}
	for (int i = 0; i < st->nthr; i++)
		pthread_mutex_init(&st->thr[i].lock, NULL);
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&st->cond, &ca);
	pthread_condattr_destroy(&ca);
	node_totals(s->node, &st->last);
	if (pthread_create(&st->sampler, NULL, sampler_main, st) == 0)
		st->sampler_started = true;
	*out = st;
	return 0;
}

void http_stats_free(http_stats_t *st)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&st->lock);
	st->stop = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	if (st->sampler_started)
		pthread_join(st->sampler, NULL);
	for (int i = 0; i < st->nthr; i++)
		pthread_mutex_destroy(&st->thr[i].lock);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st->thr);
	free(st->route);
	free(st);
}

void http_stats_request(http_stats_t *st, const hreq_t *r, int status,
			double seconds)
{
	size_t c = 0;
	while (codes[c] && codes[c] != status)
		c++;
	size_t n0;
	const http_route_t *rows = http_routes(&n0);
	route_count_t *rc =
		&st->route[r->route ? (size_t)(r->route - rows) : st->nroutes];
	atomic_fetch_add_explicit(&rc->req[c], 1, memory_order_relaxed);
	int b = 0;
	while (b < HTTP_LAT_BUCKETS && seconds > http_lat_bounds[b])
		b++;
	atomic_fetch_add_explicit(&rc->lat[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rc->lat_us, (uint64_t)(seconds * 1e6),
				  memory_order_relaxed);
	/* the HTTP thread's handler: its thread is the only writer */
	reqlat_add(&r->t->h.stats.lat[TRANSPORT_HTTP],
		   seconds > 0 ? (uint64_t)(seconds * 1e9) : 0);
	if (r->op == NULL || r->t->id < 0 || r->t->id >= st->nthr)
		return;
	thr_stats_t *t = &st->thr[r->t->id];
	int n = atomic_load_explicit(&t->noprc, memory_order_relaxed);
	int i = 0;
	while (i < n &&
	       (t->oprc[i].rc != r->rc || strcmp(t->oprc[i].op, r->op)))
		i++;
	if (i == n) {
		if (n == OPRC_MAX)
			return;
		t->oprc[i].op = r->op;
		t->oprc[i].rc = r->rc;
		atomic_store_explicit(&t->noprc, n + 1, memory_order_release);
	}
	atomic_fetch_add_explicit(&t->oprc[i].count, 1, memory_order_relaxed);
}

static uint32_t fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

void http_stats_ident(http_stats_t *st, int thr, const char *id, bool write,
		      bool ok)
{
	if (thr < 0 || thr >= st->nthr)
		return;
	thr_stats_t *t = &st->thr[thr];
	size_t len = strlen(id);
	const char *slash = strchr(id, '/');
	if (slash == NULL)
		return; /* not an identifier: nothing to count it under */
	size_t plen = (size_t)(slash - id);
	pthread_mutex_lock(&t->lock);
	if (!write && ok && len < sizeof(t->top[0].id)) {
		/* one slot per hash: a different identifier wears the
		 * count down and takes the slot when it reaches zero, so
		 * frequent identifiers stay (lossy counting) */
		top_slot_t *s = &t->top[fnv(id, len) % TOP_SLOTS];
		if (s->count > 0 && !strcmp(s->id, id)) {
			s->count++;
		} else if (s->count <= 1) {
			memcpy(s->id, id, len + 1);
			s->count = 1;
		} else {
			s->count--;
		}
	}
	if (plen < sizeof(t->pfx[0].prefix)) {
		uint32_t h = fnv(id, plen);
		pfx_slot_t *p = NULL;
		for (int k = 0; k < 8; k++) {
			pfx_slot_t *q = &t->pfx[(h + (uint32_t)k) % PFX_SLOTS];
			if (q->prefix[0] == 0) {
				memcpy(q->prefix, id, plen);
				q->prefix[plen] = 0;
				p = q;
				break;
			}
			if (strlen(q->prefix) == plen &&
			    !strncasecmp(q->prefix, id, plen)) {
				p = q;
				break;
			}
		}
		if (p == NULL)
			t->pfx_other++;
		else if (!ok)
			p->fail++;
		else if (write)
			p->reg++;
		else
			p->res++;
	}
	pthread_mutex_unlock(&t->lock);
}

/* ---- /api/stats ---- */

static int cmp_top(const void *a, const void *b)
{
	const top_slot_t *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static int cmp_pfx(const void *a, const void *b)
{
	const pfx_slot_t *x = a, *y = b;
	uint64_t xa = x->res + x->reg, ya = y->res + y->reg;
	return xa < ya ? 1 : xa > ya ? -1 : strcmp(x->prefix, y->prefix);
}

static json_t *merged_top(http_stats_t *st, int limit)
{
	top_slot_t *all = calloc((size_t)st->nthr * TOP_SLOTS, sizeof(*all));
	int n = 0;
	if (all == NULL)
		return json_array();
	for (int i = 0; i < st->nthr; i++) {
		thr_stats_t *t = &st->thr[i];
		pthread_mutex_lock(&t->lock);
		for (int k = 0; k < TOP_SLOTS; k++) {
			if (t->top[k].count == 0)
				continue;
			int j = 0;
			while (j < n && strcmp(all[j].id, t->top[k].id))
				j++;
			if (j == n)
				all[n++] = t->top[k];
			else
				all[j].count += t->top[k].count;
		}
		pthread_mutex_unlock(&t->lock);
	}
	qsort(all, (size_t)n, sizeof(*all), cmp_top);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "handle", json_string(all[i].id));
		json_object_set_new(o, "count",
				    json_integer((json_int_t)all[i].count));
		json_array_append_new(arr, o);
	}
	free(all);
	return arr;
}

static json_t *merged_prefixes(http_stats_t *st)
{
	pfx_slot_t all[PFX_SLOTS] = {0};
	int n = 0;
	for (int i = 0; i < st->nthr; i++) {
		thr_stats_t *t = &st->thr[i];
		pthread_mutex_lock(&t->lock);
		for (int k = 0; k < PFX_SLOTS; k++) {
			if (!t->pfx[k].prefix[0])
				continue;
			int j = 0;
			while (j < n &&
			       strcasecmp(all[j].prefix, t->pfx[k].prefix))
				j++;
			if (j == n) {
				if (n == PFX_SLOTS)
					continue;
				all[n++] = t->pfx[k];
			} else {
				all[j].res += t->pfx[k].res;
				all[j].reg += t->pfx[k].reg;
				all[j].fail += t->pfx[k].fail;
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
	qsort(all, (size_t)n, sizeof(*all), cmp_pfx);
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "prefix", json_string(all[i].prefix));
		json_object_set_new(o, "resolutions",
				    json_integer((json_int_t)all[i].res));
		json_object_set_new(o, "registrations",
				    json_integer((json_int_t)all[i].reg));
		json_object_set_new(o, "failures",
				    json_integer((json_int_t)all[i].fail));
		json_array_append_new(arr, o);
	}
	return arr;
}

static int open_conns(http_server_t *s)
{
	int n = 0;
	for (int i = 0; i < s->nthr; i++)
		n += atomic_load(&s->thr[i].conns);
	return n;
}

void http_stats_json(hreq_t *r)
{
	http_stats_t *st = r->t->srv->stats;
	node_ctx_t *n = r->t->srv->node;
	sample_t tot;
	node_totals(n, &tot);
	json_t *j = json_object();
	json_object_set_new(j, "time", json_integer((json_int_t)time(NULL)));
	json_object_set_new(
		j, "uptime",
		json_integer((json_int_t)(time(NULL) - st->started)));
	json_t *t = json_object();
	json_object_set_new(t, "requests",
			    json_integer((json_int_t)tot.requests));
	json_object_set_new(t, "resolutions",
			    json_integer((json_int_t)tot.resolutions));
	json_object_set_new(t, "registrations",
			    json_integer((json_int_t)tot.writes));
	json_object_set_new(t, "notFound",
			    json_integer((json_int_t)tot.not_found));
	json_object_set_new(t, "errors", json_integer((json_int_t)tot.errors));
	json_object_set_new(t, "referrals",
			    json_integer((json_int_t)tot.referrals));
	json_object_set_new(j, "totals", t);
	json_t *ser = json_object();
	json_t *ts = json_array(), *res = json_array(), *reg = json_array(),
	       *nf = json_array(), *err = json_array(), *rq = json_array();
	pthread_mutex_lock(&st->lock);
	for (int i = st->count - 1; i >= 0; i--) {
		int k = (st->head - i + SERIES) % SERIES;
		json_array_append_new(
			ts, json_integer((json_int_t)st->series_t[k]));
		json_array_append_new(
			res,
			json_integer((json_int_t)st->series[k].resolutions));
		json_array_append_new(
			reg, json_integer((json_int_t)st->series[k].writes));
		json_array_append_new(
			nf, json_integer((json_int_t)st->series[k].not_found));
		json_array_append_new(
			err, json_integer((json_int_t)st->series[k].errors));
		json_array_append_new(
			rq, json_integer((json_int_t)st->series[k].requests));
	}
	pthread_mutex_unlock(&st->lock);
	json_object_set_new(ser, "interval", json_integer(1));
	json_object_set_new(ser, "time", ts);
	json_object_set_new(ser, "requests", rq);
	json_object_set_new(ser, "resolutions", res);
	json_object_set_new(ser, "registrations", reg);
	json_object_set_new(ser, "notFound", nf);
	json_object_set_new(ser, "errors", err);
	json_object_set_new(j, "series", ser);
	json_object_set_new(j, "prefixes", merged_prefixes(st));
	/* which identifiers others resolved is theirs to know: the list
	 * goes to an HTTP identity only; counts by prefix stay public */
	if (r->who.kind == PRINCIPAL_HTTP)
		json_object_set_new(j, "top", merged_top(st, 10));
	act_sum_t as;
	node_activity(n, &as);
	json_object_set_new(j, "industries", activity_json(&as, true));
	json_object_set_new(j, "regions", activity_json(&as, false));
	idn_store_stat_t ss;
	if (idn_store_stat(n->store, &ss) == 0) {
		json_t *so = json_object();
		json_object_set_new(so, "identifiers",
				    json_integer((json_int_t)ss.records));
		json_object_set_new(so, "prefixes",
				    json_integer((json_int_t)ss.prefixes));
		json_object_set_new(so, "bytes",
				    json_integer((json_int_t)ss.bytes_used));
		json_object_set_new(j, "store", so);
	}
	if (n->cache) {
		idn_cache_stats_t cs;
		idn_cache_stats(n->cache, &cs);
		json_t *co = json_object();
		json_object_set_new(co, "hits",
				    json_integer((json_int_t)cs.hits));
		json_object_set_new(co, "misses",
				    json_integer((json_int_t)cs.misses));
		json_object_set_new(co, "entries",
				    json_integer((json_int_t)cs.entries));
		json_object_set_new(j, "cache", co);
	}
	json_object_set_new(j, "httpConnections",
			    json_integer(open_conns(r->t->srv)));
	/* a mirror's replication, as idctl replication status shows it */
	if (mirror_active()) {
		char rs[8192];
		mirror_status_json(rs, sizeof(rs));
		json_error_t je;
		json_t *rj = json_loads(rs, 0, &je);
		if (json_is_object(rj))
			json_object_set_new(j, "replication", rj);
		else
			json_decref(rj);
	}
	r->rc = IDN_RC_SUCCESS;
	http_reply_json(r, 200, j);
}

/* ---- /metrics ---- */

typedef struct {
	char *p;
	size_t len, cap;
} buf_t;

static void out(buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out(buf_t *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL,
				  b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap <= b->len + (size_t)n)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (np == NULL)
			return;
		b->p = np;
		b->cap = cap;
	}
}

static void counter(buf_t *b, const char *name, const char *help, uint64_t v)
{
	out(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
	    name, (unsigned long long)v);
}

static void gauge(buf_t *b, const char *name, const char *help, uint64_t v)
{
	out(b, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name,
	    name, (unsigned long long)v);
}

/* One route name's counters: the rows of that name summed. */
typedef struct {
	uint64_t req[NCODES];
	uint64_t lat[HTTP_LAT_BUCKETS + 1];
	uint64_t lat_us;
} route_sum_t;

/* The metrics name of counter set i (a row's name; the last: "other"). */
static const char *route_name(const http_stats_t *st, size_t i)
{
	size_t n;
	const http_route_t *rows = http_routes(&n);
	return i < st->nroutes ? rows[i].name : "other";
}

/* Whether counter set i is the first of its name, so each name is
 * written once. */
static bool first_of_name(const http_stats_t *st, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(route_name(st, j), route_name(st, i)))
			return false;
	return true;
}

static void route_sum(http_stats_t *st, const char *name, route_sum_t *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i <= st->nroutes; i++) {
		if (strcmp(route_name(st, i), name))
			continue;
		route_count_t *c = &st->route[i];
		for (size_t k = 0; k < NCODES; k++)
			s->req[k] += atomic_load(&c->req[k]);
		for (int k = 0; k <= HTTP_LAT_BUCKETS; k++)
			s->lat[k] += atomic_load(&c->lat[k]);
		s->lat_us += atomic_load(&c->lat_us);
	}
}

static void route_requests(buf_t *b, http_stats_t *st)
{
	for (size_t i = 0; i <= st->nroutes; i++) {
		if (!first_of_name(st, i))
			continue;
		route_sum_t s;
		route_sum(st, route_name(st, i), &s);
		for (size_t c = 0; c < NCODES; c++) {
			if (s.req[c] == 0)
				continue;
			char code[16];
			snprintf(code, sizeof(code), "%d", codes[c]);
			out(b,
			    "idnode_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
			    route_name(st, i), codes[c] ? code : "other",
			    (unsigned long long)s.req[c]);
		}
	}
}

static void route_latency(buf_t *b, http_stats_t *st)
{
	for (size_t i = 0; i <= st->nroutes; i++) {
		if (!first_of_name(st, i))
			continue;
		const char *name = route_name(st, i);
		route_sum_t s;
		route_sum(st, name, &s);
		uint64_t cum = 0, total = 0;
		for (int k = 0; k <= HTTP_LAT_BUCKETS; k++)
			total += s.lat[k];
		if (total == 0)
			continue;
		for (int k = 0; k < HTTP_LAT_BUCKETS; k++) {
			cum += s.lat[k];
			out(b,
			    "idnode_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    name, http_lat_bounds[k], (unsigned long long)cum);
		}
		out(b,
		    "idnode_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
		    name, (unsigned long long)total);
		out(b,
		    "idnode_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
		    name, (double)s.lat_us / 1e6);
		out(b,
		    "idnode_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    name, (unsigned long long)total);
	}
}

/* What node_metrics needs of one handler's counters, added to s. */
static void fgauge(buf_t *b, const char *name, const char *help, double v)
{
	out(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.3f\n", name, help, name,
	    name, v);
}

static void process_metrics(buf_t *b)
{
	http_proc_t p;
	if (http_proc_read(&p) != 0)
		return;
	out(b,
	    "# HELP process_cpu_seconds_total User and system CPU time spent\n"
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.6f\n",
	    p.cpu_seconds);
	gauge(b, "process_resident_memory_bytes", "Resident memory size",
	      p.rss);
	out(b,
	    "# HELP idnode_resident_memory_bytes Resident memory by kind: "
	    "anonymous (heap, stacks), file (mapped files: the LMDB store's "
	    "pages, the binary), shmem\n"
	    "# TYPE idnode_resident_memory_bytes gauge\n"
	    "idnode_resident_memory_bytes{kind=\"anon\"} %llu\n"
	    "idnode_resident_memory_bytes{kind=\"file\"} %llu\n"
	    "idnode_resident_memory_bytes{kind=\"shmem\"} %llu\n",
	    (unsigned long long)p.rss_anon, (unsigned long long)p.rss_file,
	    (unsigned long long)p.rss_shmem);
	gauge(b, "process_virtual_memory_bytes", "Virtual memory size",
	      p.vsize);
	gauge(b, "process_open_fds", "Open file descriptors", p.open_fds);
	if (p.max_fds != UINT64_MAX)
		gauge(b, "process_max_fds", "Limit of open file descriptors",
		      p.max_fds);
	gauge(b, "process_threads", "Threads", p.threads);
	fgauge(b, "process_start_time_seconds",
	       "Start time of the process since the Unix epoch in seconds",
	       p.start_time);
}

static void latency_metrics(buf_t *b, const handler_stats_t *s)
{
	static const char *const names[REQLAT_TRANSPORTS] = {
		[TRANSPORT_UDP] = "udp",
		[TRANSPORT_TCP] = "tcp",
		[TRANSPORT_CONTROL] = "control",
		[TRANSPORT_HTTP] = "http"};
	out(b, "# HELP idnode_request_duration_seconds Time spent on a "
	       "request, by the transport it came on (UDP, TCP, control: the "
	       "Handle message; HTTP: the whole request)\n"
	       "# TYPE idnode_request_duration_seconds histogram\n");
	for (int t = 0; t < REQLAT_TRANSPORTS; t++) {
		const reqlat_t *l = &s->lat[t];
		uint64_t cum = 0;
		for (int k = 0; k < REQLAT_BUCKETS; k++) {
			cum += atomic_load(&l->n[k]);
			out(b,
			    "idnode_request_duration_seconds_bucket{transport=\"%s\",le=\"%g\"} %llu\n",
			    names[t], (double)reqlat_bounds_ns[k] / 1e9,
			    (unsigned long long)cum);
		}
		cum += atomic_load(&l->n[REQLAT_BUCKETS]);
		out(b,
		    "idnode_request_duration_seconds_bucket{transport=\"%s\",le=\"+Inf\"} %llu\n"
		    "idnode_request_duration_seconds_sum{transport=\"%s\"} %.9f\n"
		    "idnode_request_duration_seconds_count{transport=\"%s\"} %llu\n",
		    names[t], (unsigned long long)cum, names[t],
		    (double)atomic_load(&l->ns) / 1e9, names[t],
		    (unsigned long long)cum);
	}
}

/* Build, process and request-path figures. */
static void node_metrics(buf_t *b, node_ctx_t *n)
{
	out(b,
	    "# HELP idnode_build_info The idnode build serving (always 1)\n"
	    "# TYPE idnode_build_info gauge\n"
	    "idnode_build_info{version=\"%s\"} 1\n",
	    IDN_VERSION);
	process_metrics(b);
	handler_stats_t s;
	node_stats_sum(n, &s);
	latency_metrics(b, &s);
	counter(b, "idnode_rrl_dropped_total",
		"UDP queries dropped by the response rate limit",
		atomic_load(&s.rrl_dropped));
	counter(b, "idnode_rrl_slipped_total",
		"UDP queries over the rate limit answered truncated (retry on "
		"TCP)",
		atomic_load(&s.rrl_slipped));
	counter(b, "idnode_tcp_refused_total",
		"TCP connections refused over a connection cap",
		atomic_load(&s.tcp_refused));
}

void http_metrics(hreq_t *r)
{
	http_stats_t *st = r->t->srv->stats;
	node_ctx_t *n = r->t->srv->node;
	sample_t tot;
	node_totals(n, &tot);
	buf_t b = {0};
	counter(&b, "idnode_handle_requests_total",
		"Handle protocol requests processed (UDP, TCP, HTTP, control)",
		tot.requests);
	counter(&b, "idnode_resolutions_total", "Resolution requests",
		tot.resolutions);
	counter(&b, "idnode_writes_total", "Successful writes (registrations)",
		tot.writes);
	counter(&b, "idnode_not_found_total", "Answers 'identifier not found'",
		tot.not_found);
	counter(&b, "idnode_referrals_total", "Prefix referrals sent",
		tot.referrals);
	counter(&b, "idnode_errors_total", "Malformed or refused requests",
		tot.errors);
	counter(&b, "idnode_store_outcome_unknown_total",
		"Writes whose commit may or may not have been applied",
		tot.outcome_unknown);
	out(&b,
	    "# HELP idnode_http_requests_total HTTP requests by route and status code\n"
	    "# TYPE idnode_http_requests_total counter\n");
	route_requests(&b, st);
	out(&b,
	    "# HELP idnode_operations_total Operations by protocol, op and Handle response code\n"
	    "# TYPE idnode_operations_total counter\n");
	struct {
		const char *op;
		uint32_t rc;
		uint64_t n;
	} ops[OPRC_MAX];
	int nops = 0;
	for (int k = 0; k < st->nthr; k++) {
		thr_stats_t *t = &st->thr[k];
		int m = atomic_load_explicit(&t->noprc, memory_order_acquire);
		for (int i = 0; i < m; i++) {
			int j = 0;
			while (j < nops && (ops[j].rc != t->oprc[i].rc ||
					    strcmp(ops[j].op, t->oprc[i].op)))
				j++;
			if (j == nops) {
				if (nops == OPRC_MAX)
					continue;
				ops[j].op = t->oprc[i].op;
				ops[j].rc = t->oprc[i].rc;
				ops[j].n = 0;
				nops++;
			}
			ops[j].n += atomic_load_explicit(&t->oprc[i].count,
							 memory_order_relaxed);
		}
	}
	for (int i = 0; i < nops; i++)
		out(&b,
		    "idnode_operations_total{protocol=\"http\",op=\"%s\",rc=\"%u\"} %llu\n",
		    ops[i].op, ops[i].rc, (unsigned long long)ops[i].n);
	out(&b,
	    "# HELP idnode_http_request_duration_seconds HTTP request latency\n"
	    "# TYPE idnode_http_request_duration_seconds histogram\n");
	route_latency(&b, st);
	act_sum_t as;
	node_activity(n, &as);
	static const char *const kinds[ACT_KINDS] = {"resolutions",
						     "registrations"};
	for (int k = 0; k < ACT_KINDS; k++) {
		out(&b,
		    "# HELP idnode_%s_by_industry_total %s by GB/T 4754 "
		    "section of the record's template\n"
		    "# TYPE idnode_%s_by_industry_total counter\n",
		    kinds[k],
		    k == ACT_RESOLVE ? "Resolutions" : "Registrations",
		    kinds[k]);
		for (int i = 0; i < ACT_INDUSTRIES; i++)
			if (as.ind[k][i])
				out(&b,
				    "idnode_%s_by_industry_total{section=\"%s\"} %llu\n",
				    kinds[k], act_industry_code(i),
				    (unsigned long long)as.ind[k][i]);
		out(&b,
		    "# HELP idnode_%s_by_region_total %s by GB/T 2260 "
		    "province of the prefix\n"
		    "# TYPE idnode_%s_by_region_total counter\n",
		    kinds[k],
		    k == ACT_RESOLVE ? "Resolutions" : "Registrations",
		    kinds[k]);
		for (int i = 0; i < ACT_REGIONS; i++)
			if (as.reg[k][i])
				out(&b,
				    "idnode_%s_by_region_total{region=\"%s\"} %llu\n",
				    kinds[k], act_region_code(i),
				    (unsigned long long)as.reg[k][i]);
	}
	idn_cache_stats_t cs = {0};
	if (n->cache)
		idn_cache_stats(n->cache, &cs);
	counter(&b, "idnode_cache_hits_total", "Resolution cache hits",
		cs.hits);
	counter(&b, "idnode_cache_misses_total", "Resolution cache misses",
		cs.misses);
	gauge(&b, "idnode_cache_entries", "Entries in the resolution cache",
	      cs.entries);
	gauge(&b, "idnode_cache_bytes", "Bytes in the resolution cache",
	      cs.bytes);
	idn_store_stat_t ss = {0};
	idn_store_stat(n->store, &ss);
	gauge(&b, "idnode_store_identifiers", "Identifiers stored", ss.records);
	gauge(&b, "idnode_store_prefixes", "Homed prefixes", ss.prefixes);
	gauge(&b, "idnode_store_bytes", "Bytes of the store in use",
	      ss.bytes_used);
	gauge(&b, "idnode_http_connections_open", "Open HTTP connections",
	      (uint64_t)open_conns(r->t->srv));
	/* a mirror's replication (docs/replication.md) */
	bool mirror;
	unsigned long long lag_txns, lag_ms, applied;
	unsigned in_error;
	mirror_metrics(&mirror, &lag_txns, &lag_ms, &in_error, &applied);
	if (mirror) {
		gauge(&b, "idnode_replication_lag_txns",
		      "Changes of the sources not applied yet", lag_txns);
		gauge(&b, "idnode_replication_lag_ms",
		      "Commit on a source to applied here, last change (ms)",
		      lag_ms);
		gauge(&b, "idnode_replication_sources_in_error",
		      "Sources this mirror cannot follow now", in_error);
		counter(&b, "idnode_replication_applied_total",
			"Changes applied from the sources", applied);
	}
	node_metrics(&b, n);
	r->rc = IDN_RC_SUCCESS;
	http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8",
		   b.p ? b.p : "", b.len);
	free(b.p);
}
