/* The hierarchy end to end (issue #3): real daemons on loopback for a
 * top-level node (homed 88), a secondary node (88.118), an enterprise node
 * (88.118.8), a second enterprise node used as mirror and as a deeper
 * level, a node both homed (77) and recursive, and a recursive node whose
 * root hint is the top node.
 *
 * Delegations are written with `idctl delegate`; authoritative nodes answer
 * with 303 referrals carrying the HS_SITE of the delegated prefix; the
 * recursive node follows them, caches answers for their TTLs (and "not
 * found" for its negative TTL), fails over from a dead or silent server to
 * a mirror site, stops referral loops and over-long chains with rc 6, and
 * picks the server of a site by the site hash (docs/architecture.md,
 * Hierarchy). Upstream request counters (`idctl stats`) show which nodes a
 * query reached. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "value.h"

#define JX "88.118.8/JXDY2106023"
#define NEG_TTL 2 /* the recursive node's --cache-negative-ttl */
#define MAX_REFERRALS 3

typedef struct {
	node_t *top;  /* homed 88, advertises itself */
	node_t *sec;  /* homed 88.118 */
	node_t *ent;  /* homed 88.118.8 and 88.118.30; --parent sec */
	node_t *mir;  /* second enterprise node: mirror site and deeper level */
	node_t *both; /* homed 77 and 88.118.30.1.1, and recursive */
	node_t *rec;  /* recursive, root hint top */
} fx_t;

static fx_t *fx;
static h_reply_t rep;
/* decoded replies; reset at the start of each use, freed in teardown (a
 * failing assertion jumps out of the test without cleaning up) */
static idn_arena_t ar;
static uint32_t next_id = 1;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- requests ---- */

/* A raw resolution over UDP with these op flags; returns the rc. */
static uint32_t resolve_raw(node_t *n, const char *id, uint32_t flags)
{
	uint8_t frame[4096];
	h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
	q.flags = flags;
	size_t len = h_resolve_frame(frame, sizeof(frame), &q, id, strlen(id),
				     NULL, 0, NULL, 0);
	h_udp_call(n, frame, len, &rep);
	assert_int_equal(rep.env.request_id, q.request_id);
	assert_int_equal(rep.msg.hdr.op, IDN_OC_RESOLUTION);
	return rep.msg.hdr.rc;
}

/* Asks the recursive node (recursion flag set) and checks the rc. */
static void expect_rec(node_t *n, const char *id, uint32_t want)
{
	uint32_t rc = resolve_raw(n, id, IDN_OF_RECURSE);
	if (rc != want)
		fail_msg("%s at %s: rc %u (\"%s\"), want %u", id, n->addr, rc,
			 rc == IDN_RC_SUCCESS ? "" : h_error_text(&rep), want);
}

/* The values of a success reply in rep. */
static void reply_values(idn_arena_t *a, idn_values_body_t *b)
{
	assert_int_equal(rep.msg.hdr.rc, IDN_RC_SUCCESS);
	int err = idn_values_body_decode(rep.msg.rest, a, b);
	if (err)
		fail_msg("success body does not decode: %d", err);
}

/* The value with this index in b, or NULL. */
static const idn_value_t *find_value(const idn_values_body_t *b, uint32_t idx)
{
	for (uint32_t i = 0; i < b->nvalues; i++)
		if (b->values[i].index == idx)
			return &b->values[i];
	return NULL;
}

/* Data of value idx as a NUL-terminated string (static buffer). */
static const char *value_text(const idn_values_body_t *b, uint32_t idx)
{
	static char buf[512];
	const idn_value_t *v = find_value(b, idx);
	if (v == NULL)
		return "(missing)";
	snprintf(buf, sizeof(buf), "%.*s", (int)v->data.len, v->data.p);
	return buf;
}

/* ---- statistics ---- */

static json_t *stats(node_t *n)
{
	return h_ctl_json(n, "stats", NULL);
}

/* A counter by dotted path ("cache.hits"); fails when missing. */
static long long counter(json_t *j, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');
	json_t *v = j;
	if (dot) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		v = json_object_get(v, key);
		path = dot + 1;
	}
	v = json_object_get(v, path);
	if (!json_is_integer(v)) {
		char *s = json_dumps(j, JSON_COMPACT);
		print_error("stats: %s\n", s ? s : "?");
		free(s);
		fail_msg("stats have no integer '%s'", path);
	}
	return json_integer_value(v);
}

static long long stat_now(node_t *n, const char *path)
{
	json_t *j = stats(n);
	long long v = counter(j, path);
	json_decref(j);
	return v;
}

/* The request counters of the three upstream levels. */
typedef struct {
	long long req[3], res[3];
} upstream_t;

/* How much one `idctl stats` moves a node's own request counter (the
 * control request itself may count): measured per node in setup. */
static long long stats_cost[3];

static node_t *level(int i)
{
	return i == 0 ? fx->top : i == 1 ? fx->sec : fx->ent;
}

static void upstream_snap(upstream_t *u)
{
	for (int i = 0; i < 3; i++) {
		json_t *j = stats(level(i));
		u->req[i] = counter(j, "requests");
		u->res[i] = counter(j, "resolutions");
		json_decref(j);
	}
}

static const char *const lname[] = {"top", "secondary", "enterprise"};

/* Asserts that level i (top, secondary, enterprise) saw exactly want[i]
 * more resolutions than in *u (-1: any number), and, where want[i] is 0,
 * that its request counter moved only by the stats request itself. Then
 * *u becomes the new snapshot. */
static void upstream_expect(upstream_t *u, long long w0, long long w1,
			    long long w2)
{
	const long long want[3] = {w0, w1, w2};
	upstream_t now;
	upstream_snap(&now);
	for (int i = 0; i < 3; i++) {
		long long dres = now.res[i] - u->res[i];
		long long dreq = now.req[i] - u->req[i];
		if (want[i] >= 0 && dres != want[i])
			fail_msg("%s node: %lld resolutions since, want %lld",
				 lname[i], dres, want[i]);
		if (want[i] == 0 && dreq != stats_cost[i])
			fail_msg("%s node: request counter moved by %lld, want "
				 "%lld (its own stats request)",
				 lname[i], dreq, stats_cost[i]);
	}
	*u = now;
}

/* ---- a silent server: bound, never answers ---- */

typedef struct {
	int udp, tcp;
	uint16_t port;
	char addr[32];
} silent_t;

static void silent_open(silent_t *s)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		uint16_t port = h_free_port();
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(port);
		s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s->udp >= 0 && s->tcp >= 0 &&
		    bind(s->udp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    bind(s->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(s->tcp, 64) == 0) {
			s->port = port;
			snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u",
				 port);
			return;
		}
		close(s->udp);
		close(s->tcp);
	}
	fail_msg("cannot bind a silent server");
}

static void silent_close(silent_t *s)
{
	close(s->udp);
	close(s->tcp);
}

/* A loopback address nothing listens on. */
static void dead_addr(char *out, size_t cap)
{
	snprintf(out, cap, "127.0.0.1:%u", h_free_port());
}

/* ---- fixture ---- */

static void seed_jx(node_t *n)
{
	h_ctl_ok(n, "create", JX, "1:URL=https://example.com/jxdy/2106023",
		 "2,ttl=3600:EMAIL=qa@example.com",
		 "3,ref=88.118.8/motor@1:DESC=motor 7.5 kW, batch 2106",
		 "4,perms=c:SECRET=internal only",
		 "100:HS_ADMIN=0.NA/88.118.8@300", NULL);
}

static int setup(void **state)
{
	(void)state;
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	h_reply_init(&rep);
	idn_arena_init(&ar, 0);
	node_t **all[] = {&fx->top, &fx->sec,  &fx->ent,
			  &fx->mir, &fx->both, &fx->rec};
	for (size_t i = 0; i < 6; i++) {
		*all[i] = node_create();
		node_pick_port(*all[i]);
	}
	node_set_args(fx->top, "--home", "88", "--advertise", fx->top->addr,
		      NULL);
	node_set_args(fx->sec, "--home", "88.118", NULL);
	node_set_args(fx->ent, "--home", "88.118.8", "--home", "88.118.30",
		      "--parent", fx->sec->addr, NULL);
	node_set_args(fx->mir, "--home", "88.118.9", "--home", "88.118.10",
		      "--home", "88.118.30.1", NULL);
	node_set_args(fx->both, "--home", "77", "--home", "88.118.30.1.1",
		      "--recursive", "--root", fx->top->addr, NULL);
	char neg[16], maxref[16];
	snprintf(neg, sizeof(neg), "%d", NEG_TTL);
	snprintf(maxref, sizeof(maxref), "%d", MAX_REFERRALS);
	node_set_args(fx->rec, "--recursive", "--root", fx->top->addr,
		      "--cache-negative-ttl", neg, "--cache-max-ttl", "3600",
		      "--query-timeout", "500", "--max-referrals", maxref,
		      NULL);
	node_t *const list[] = {fx->top, fx->sec,  fx->ent,
				fx->mir, fx->both, fx->rec};
	nodes_start(list, 6);

	/* the delegations of the main chain */
	h_ctl_ok(fx->top, "delegate", "88.118", "--to", fx->sec->addr, NULL);
	h_ctl_ok(fx->sec, "delegate", "88.118.8", "--to", fx->ent->addr, NULL);
	seed_jx(fx->ent);
	h_ctl_ok(fx->ent, "create", "88.118.8/motor",
		 "1:URL=https://example.com/motor", NULL);
	h_ctl_ok(fx->both, "create", "77/local",
		 "1:URL=https://example.com/77/local", NULL);

	for (int i = 0; i < 3; i++) {
		long long a = stat_now(level(i), "requests");
		long long b = stat_now(level(i), "requests");
		stats_cost[i] = b - a;
		if (stats_cost[i] < 0 || stats_cost[i] > 1)
			fail_msg("%s node: one stats request moved the request "
				 "counter by %lld",
				 lname[i], stats_cost[i]);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (fx) {
		node_free(fx->top);
		node_free(fx->sec);
		node_free(fx->ent);
		node_free(fx->mir);
		node_free(fx->both);
		node_free(fx->rec);
		free(fx);
		fx = NULL;
	}
	h_reply_free(&rep);
	idn_arena_free(&ar);
	return 0;
}

/* ---- referrals from authoritative nodes ---- */

/* Checks that rep is a 303 for delegated prefix `pfx` whose primary
 * HS_SITE lists exactly the server at `port` on 127.0.0.1. */
static void expect_referral(const char *pfx, uint16_t port)
{
	if (rep.msg.hdr.rc != IDN_RC_PREFIX_REFERRAL)
		fail_msg("rc %u (\"%s\"), want 303 referral to 0.NA/%s",
			 rep.msg.hdr.rc, h_error_text(&rep), pfx);
	idn_arena_reset(&ar);
	idn_values_body_t b;
	int err = idn_values_body_decode(rep.msg.rest, &ar, &b);
	if (err)
		fail_msg("referral body does not decode: %d", err);
	char want[64];
	snprintf(want, sizeof(want), "0.NA/%s", pfx);
	if (!idn_bytes_eq_str(b.id, want))
		fail_msg("referral names '%.*s', want '%s'", (int)b.id.len,
			 b.id.p, want);
	const idn_value_t *v = find_value(&b, 1);
	assert_non_null(v);
	assert_true(idn_bytes_eq_str(v->type, "HS_SITE"));
	idn_hs_site_t site;
	assert_int_equal(idn_hs_site_decode(v->data, &ar, &site), 0);
	assert_int_equal(site.version, 1);
	assert_int_equal(site.flags & IDN_SITE_PRIMARY, IDN_SITE_PRIMARY);
	assert_int_equal(site.hash_option, IDN_HASH_PREFIX);
	assert_int_equal(site.nservers, 1);
	static const uint8_t lo[16] = {[12] = 127, [15] = 1};
	assert_memory_equal(site.servers[0].addr, lo, 16);
	assert_int_equal(site.servers[0].id, 1);
	assert_int_equal(site.servers[0].nifaces, 2);
	bool udp = false, tcp = false;
	for (uint32_t i = 0; i < 2; i++) {
		const idn_hs_iface_t *f = &site.servers[0].ifaces[i];
		assert_int_equal(f->port, port);
		assert_int_equal(f->type, IDN_IF_BOTH);
		udp |= f->proto == IDN_PROTO_UDP;
		tcp |= f->proto == IDN_PROTO_TCP;
	}
	assert_true(udp && tcp);
	/* the delegation record's admin does not travel in the referral or
	 * does so harmlessly; the site is what matters */
}

static void top_refers_to_secondary(void **state)
{
	(void)state;
	/* raw, without the recursion flag */
	resolve_raw(fx->top, JX, 0);
	expect_referral("88.118", fx->sec->port);
	/* with it: top is not recursive and refers all the same */
	resolve_raw(fx->top, JX, IDN_OF_RECURSE);
	expect_referral("88.118", fx->sec->port);
	/* over TCP too */
	uint8_t frame[1024];
	h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
	size_t len = h_resolve_frame(frame, sizeof(frame), &q, JX, strlen(JX),
				     NULL, 0, NULL, 0);
	h_tcp_call(fx->top, frame, len, &rep);
	expect_referral("88.118", fx->sec->port);

	/* idctl: a clear message on stdout naming prefix and server */
	h_run_t r;
	h_net(&r, fx->top, "resolve", JX, "--no-recursion", NULL);
	h_assert_status(&r, 1);
	char want[64];
	snprintf(want, sizeof(want), "%s udp/tcp", fx->sec->addr);
	if (!strstr(r.out, "0.NA/88.118") || !strstr(r.out, "rc 303") ||
	    !strstr(r.out, want) || !strstr(r.out, "site primary"))
		fail_msg("idctl referral output:\n%s\nwant 0.NA/88.118, rc 303 "
			 "and '%s'",
			 r.out, want);
	h_run_free(&r);

	/* and as JSON */
	h_net(&r, fx->top, "--json", "resolve", JX, "--no-recursion", NULL);
	h_assert_status(&r, 1);
	json_t *j = h_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "responseCode")),
			 303);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
			    "0.NA/88.118");
	json_t *v = h_json_value(j, 1);
	assert_non_null(v);
	json_t *data = json_object_get(v, "data");
	assert_string_equal(json_string_value(json_object_get(data, "format")),
			    "site");
	json_t *site = json_object_get(data, "value");
	/* handle.net's shape, as the HTTP API serves it */
	assert_int_equal(
		json_integer_value(json_object_get(site, "primaryMask")),
		IDN_SITE_PRIMARY);
	json_t *srv = json_array_get(json_object_get(site, "servers"), 0);
	assert_string_equal(json_string_value(json_object_get(srv, "address")),
			    "127.0.0.1");
	json_t *ifs = json_object_get(srv, "interfaces");
	assert_int_equal(json_array_size(ifs), 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(json_integer_value(json_object_get(
					 json_array_get(ifs, i), "port")),
				 fx->sec->port);
	json_decref(j);
	h_run_free(&r);
}

static void secondary_refers_to_enterprise(void **state)
{
	(void)state;
	resolve_raw(fx->sec, JX, 0);
	expect_referral("88.118.8", fx->ent->port);
	/* a query for the delegation record itself is answered directly */
	assert_int_equal(resolve_raw(fx->sec, "0.NA/88.118.8", 0),
			 IDN_RC_SUCCESS);
	/* the enterprise answers authoritatively */
	assert_int_equal(resolve_raw(fx->ent, JX, 0), IDN_RC_SUCCESS);
}

/* idctl --trace walks the levels itself from the top node and shows each
 * hop: two referrals, then the enterprise's answer. */
static void idctl_trace_shows_the_levels(void **state)
{
	(void)state;
	h_run_t r;
	h_net(&r, fx->top, "--trace", "resolve", JX, NULL);
	h_assert_status(&r, 0);
	char hop[3][160];
	snprintf(hop[0], sizeof(hop[0]), "127.0.0.1:%u", fx->top->port);
	snprintf(hop[1], sizeof(hop[1]), "127.0.0.1:%u", fx->sec->port);
	snprintf(hop[2], sizeof(hop[2]), "127.0.0.1:%u", fx->ent->port);
	const char *p = r.out;
	const char *want[] = {"referral to 0.NA/88.118\n",
			      "referral to 0.NA/88.118.8\n", "rc 1   answer\n"};
	for (int i = 0; i < 3; i++) {
		p = strstr(p, hop[i]);
		if (p == NULL || strstr(p, want[i]) == NULL)
			fail_msg("hop %d (%s, \"%s\") missing from:\n%s", i,
				 hop[i], want[i], r.out);
		p = strstr(p, want[i]) + strlen(want[i]);
	}
	assert_non_null(strstr(p, JX " ("));
	assert_non_null(strstr(p, "https://"));
	h_run_free(&r);
	/* an unknown identifier: the walk ends at the enterprise with 100 */
	h_net(&r, fx->top, "--trace", "resolve", "88.118.8/no-such-thing",
	      NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.out, "rc 100 not found"));
	assert_non_null(strstr(r.err, "(rc 100)"));
	h_run_free(&r);
}

static void do_not_refer_flag(void **state)
{
	(void)state;
	uint32_t rc = resolve_raw(fx->top, JX, IDN_OF_DONT_REFER);
	if (rc != IDN_RC_SERVER_NOT_RESP)
		fail_msg("do-not-refer request: rc %u, want 301", rc);
}

static void parent_referral_and_no_parent(void **state)
{
	(void)state;
	/* the enterprise knows nothing of 99.1 and refers to its parent */
	resolve_raw(fx->ent, "99.1/x", 0);
	if (rep.msg.hdr.rc != IDN_RC_PREFIX_REFERRAL)
		fail_msg("rc %u, want 303 to the parent", rep.msg.hdr.rc);
	idn_arena_reset(&ar);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(rep.msg.rest, &ar, &b), 0);
	if (!idn_bytes_eq_str(b.id, "0.NA/"))
		fail_msg("parent referral names '%.*s', want '0.NA/'",
			 (int)b.id.len, b.id.p);
	assert_true(b.nvalues >= 1);
	idn_hs_site_t site;
	assert_true(idn_bytes_eq_str(b.values[0].type, "HS_SITE"));
	assert_int_equal(idn_hs_site_decode(b.values[0].data, &ar, &site), 0);
	assert_int_equal(site.nservers, 1);
	assert_int_equal(site.servers[0].ifaces[0].port, fx->sec->port);
	/* the top node has no parent: not responsible (rc 301), as a
	 * HANDLE.NET server answers for a prefix it does not home */
	assert_int_equal(resolve_raw(fx->top, "99.1/x", 0),
			 IDN_RC_SERVER_NOT_RESP);
	/* idctl says who the parent is */
	h_run_t r;
	h_net(&r, fx->ent, "resolve", "99.1/x", "--no-recursion", NULL);
	h_assert_status(&r, 1);
	if (!strstr(r.out, "parent") || !strstr(r.out, fx->sec->addr))
		fail_msg("idctl parent referral output:\n%s", r.out);
	h_run_free(&r);
}

/* ---- the recursive node ---- */

static void recursive_resolves_values_intact(void **state)
{
	(void)state;
	idn_arena_reset(&ar);
	/* what the enterprise itself says */
	assert_int_equal(resolve_raw(fx->ent, JX, 0), IDN_RC_SUCCESS);
	uint32_t dlen = rep.msg.rest.len;
	uint8_t *direct = idn_arena_alloc(&ar, dlen);
	assert_non_null(direct);
	memcpy(direct, rep.msg.rest.p, dlen);
	idn_values_body_t want;
	assert_int_equal(
		idn_values_body_decode(idn_bytes(direct, dlen), &ar, &want), 0);
	assert_int_equal(want.nvalues, 4); /* the private value stays home */
	assert_null(find_value(&want, 4));

	/* the recursive node's first answer: fetched through three levels */
	expect_rec(fx->rec, JX, IDN_RC_SUCCESS);
	idn_values_body_t got;
	reply_values(&ar, &got);
	if (!idn_bytes_eq_str(got.id, JX))
		fail_msg("answer names '%.*s'", (int)got.id.len, got.id.p);
	assert_int_equal(got.nvalues, want.nvalues);
	for (uint32_t i = 0; i < want.nvalues; i++) {
		const idn_value_t *w = &want.values[i];
		const idn_value_t *g = find_value(&got, w->index);
		if (g == NULL)
			fail_msg("value %u missing at the recursive node",
				 w->index);
		assert_true(idn_bytes_eq(g->type, w->type));
		assert_true(idn_bytes_eq(g->data, w->data));
		assert_int_equal(g->timestamp, w->timestamp);
		assert_int_equal(g->ttl_type, w->ttl_type);
		assert_int_equal(g->perms, w->perms);
		assert_true(g->ttl <= w->ttl && g->ttl + 5 >= w->ttl);
		assert_int_equal(g->nrefs, w->nrefs);
		for (uint32_t k = 0; k < w->nrefs; k++) {
			assert_true(idn_bytes_eq(g->refs[k].id, w->refs[k].id));
			assert_int_equal(g->refs[k].index, w->refs[k].index);
		}
	}
	assert_null(find_value(&got, 4));

	/* idctl (recursion flag by default) shows the record */
	h_run_t r;
	h_net(&r, fx->rec, "--json", "resolve", JX, NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	const long idx[] = {1, 2, 3, 100};
	h_json_assert_indexes(j, idx, 4);
	json_t *v = h_json_value(j, 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(v, "data"), "value")),
			    "https://example.com/jxdy/2106023");
	json_decref(j);
	h_run_free(&r);
	h_net(&r, fx->rec, "--tcp", "resolve", JX, NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://example.com/jxdy/2106023"));
	h_run_free(&r);
	/* --no-recursion at the recursive node: it is authoritative for
	 * nothing and has no parent */
	h_net(&r, fx->rec, "resolve", JX, "--no-recursion", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
}

static void cached_answer_does_not_go_upstream(void **state)
{
	(void)state;
	const char *id = "88.118.8/cache-1";
	h_ctl_ok(fx->ent, "create", id, "1:URL=https://example.com/c1", NULL);
	upstream_t u0;
	upstream_snap(&u0);
	long long rq0 = stat_now(fx->rec, "upstream_queries");
	expect_rec(fx->rec, id, IDN_RC_SUCCESS);
	/* delegations of 88.118 and 88.118.8 may already be cached by an
	 * earlier test; the enterprise must have been asked exactly once */
	upstream_expect(&u0, -1, -1, 1);
	long long rq1 = stat_now(fx->rec, "upstream_queries");
	assert_true(rq1 > rq0);

	long long hits = stat_now(fx->rec, "cache.hits");
	for (int i = 0; i < 3; i++) {
		expect_rec(fx->rec, id, IDN_RC_SUCCESS);
		idn_arena_reset(&ar);
		idn_values_body_t b;
		reply_values(&ar, &b);
		assert_string_equal(value_text(&b, 1),
				    "https://example.com/c1");
	}
	upstream_expect(&u0, 0, 0, 0);
	assert_int_equal(stat_now(fx->rec, "upstream_queries"), rq1);
	long long hits2 = stat_now(fx->rec, "cache.hits");
	if (hits2 < hits + 3)
		fail_msg("cache hits %lld -> %lld, want +3", hits, hits2);
	json_t *c = h_ctl_json(fx->rec, "cache", "stats", NULL);
	assert_true(json_integer_value(json_object_get(c, "entries")) >= 1);
	json_decref(c);
}

static void expired_answer_is_fetched_again(void **state)
{
	(void)state;
	const char *id = "88.118.8/short";
	h_ctl_ok(fx->ent, "create", id, "1,ttl=2:URL=https://example.com/v1",
		 "2,ttl=2:DESC=short lived", NULL);
	upstream_t u0;
	upstream_snap(&u0);
	expect_rec(fx->rec, id, IDN_RC_SUCCESS);
	long long t0 = mono_ms();
	upstream_expect(&u0, -1, -1, 1);
	/* the enterprise changes the record; the cache keeps the old one
	 * for its TTL, then fetches the new one */
	h_ctl_ok(fx->ent, "modify", id, "1,ttl=2:URL=https://example.com/v2",
		 NULL);
	bool fresh = false;
	while (mono_ms() - t0 < 10000) {
		expect_rec(fx->rec, id, IDN_RC_SUCCESS);
		long long t = mono_ms() - t0;
		idn_arena_reset(&ar);
		idn_values_body_t b;
		reply_values(&ar, &b);
		const char *url = value_text(&b, 1);
		if (!strcmp(url, "https://example.com/v2")) {
			fresh = true;
			/* not before the TTL (minus a second of clock
			 * granularity) has passed */
			if (t < 700)
				fail_msg("new value after %lld ms, TTL 2 s", t);
			break;
		}
		assert_string_equal(url, "https://example.com/v1");
		h_msleep(100);
	}
	if (!fresh)
		fail_msg("still the old value 10 s after a TTL of 2 s");
	/* only the enterprise was asked again: the delegations are still
	 * cached for their own (default, long) TTL */
	upstream_expect(&u0, 0, 0, 1);
}

static void deleted_stops_resolving_after_ttls(void **state)
{
	(void)state;
	const char *id = "88.118.8/gone";
	h_ctl_ok(fx->ent, "create", id, "1,ttl=2:URL=https://example.com/g",
		 NULL);
	expect_rec(fx->rec, id, IDN_RC_SUCCESS);
	long long t0 = mono_ms();
	h_ctl_ok(fx->ent, "delete", id, NULL);
	/* cached positive answer until its TTL passes */
	long long t100 = -1;
	while (mono_ms() - t0 < 10000) {
		uint32_t rc = resolve_raw(fx->rec, id, IDN_OF_RECURSE);
		long long t = mono_ms() - t0;
		if (rc == IDN_RC_NOT_FOUND) {
			if (t < 700)
				fail_msg("not found after %lld ms, TTL 2 s", t);
			t100 = mono_ms();
			break;
		}
		if (rc != IDN_RC_SUCCESS)
			fail_msg("rc %u (\"%s\") while cached", rc,
				 h_error_text(&rep));
		h_msleep(100);
	}
	if (t100 < 0)
		fail_msg("deleted identifier still resolves 10 s after a TTL "
			 "of 2 s");
	/* it comes back; the negative answer is cached for NEG_TTL */
	h_ctl_ok(fx->ent, "create", id, "1,ttl=2:URL=https://example.com/g2",
		 NULL);
	bool back = false;
	while (mono_ms() - t100 < 10000) {
		uint32_t rc = resolve_raw(fx->rec, id, IDN_OF_RECURSE);
		long long t = mono_ms() - t100;
		if (rc == IDN_RC_SUCCESS) {
			if (t < (NEG_TTL - 1) * 1000 - 300)
				fail_msg("found again after %lld ms, negative "
					 "TTL %d s",
					 t, NEG_TTL);
			back = true;
			break;
		}
		assert_int_equal(rc, IDN_RC_NOT_FOUND);
		h_msleep(100);
	}
	if (!back)
		fail_msg("re-created identifier not found 10 s after a "
			 "negative TTL of %d s",
			 NEG_TTL);
}

static void not_found_is_cached(void **state)
{
	(void)state;
	const char *id = "88.118.8/never-was";
	expect_rec(fx->rec, id, IDN_RC_NOT_FOUND); /* warms the delegations */
	h_ctl_ok(fx->rec, "cache", "flush", "88.118.8", NULL);
	upstream_t u0;
	upstream_snap(&u0);
	expect_rec(fx->rec, id, IDN_RC_NOT_FOUND);
	upstream_expect(&u0, -1, -1, 1);
	expect_rec(fx->rec, id, IDN_RC_NOT_FOUND);
	upstream_expect(&u0, 0, 0, 0);
	/* an unknown top-level prefix: the top node is not responsible for it
	 * nor for its prefix handle, so no one is: not found */
	expect_rec(fx->rec, "99.7/x", IDN_RC_NOT_FOUND);
	h_run_t r;
	h_net(&r, fx->rec, "resolve", "99.7/x", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 100)"));
	h_run_free(&r);
}

static void cache_flush_goes_upstream(void **state)
{
	(void)state;
	expect_rec(fx->rec, JX, IDN_RC_SUCCESS);
	upstream_t u0;
	upstream_snap(&u0);
	expect_rec(fx->rec, JX, IDN_RC_SUCCESS);
	upstream_expect(&u0, 0, 0, 0);
	/* flushing another prefix leaves it cached */
	json_t *j = h_ctl_json(fx->rec, "cache", "flush", "77", NULL);
	assert_true(json_is_integer(json_object_get(j, "flushed")));
	json_decref(j);
	expect_rec(fx->rec, JX, IDN_RC_SUCCESS);
	upstream_expect(&u0, 0, 0, 0);
	/* flushing its prefix sends the next query upstream */
	j = h_ctl_json(fx->rec, "cache", "flush", "88.118.8", NULL);
	long long flushed = json_integer_value(json_object_get(j, "flushed"));
	json_decref(j);
	if (flushed < 1)
		fail_msg("cache flush 88.118.8 flushed %lld entries", flushed);
	expect_rec(fx->rec, JX, IDN_RC_SUCCESS);
	upstream_expect(&u0, -1, -1, 1);
	/* human output */
	h_run_t r;
	h_ctl(&r, fx->rec, "cache", "flush", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "flushed "));
	h_run_free(&r);
	h_ctl(&r, fx->rec, "cache", "stats", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "entries"));
	assert_non_null(strstr(r.out, "hits"));
	h_run_free(&r);
	h_ctl(&r, fx->rec, "stats", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "requests"));
	assert_non_null(strstr(r.out, "cache.hits"));
	h_run_free(&r);
	/* a non-recursive node reports an empty cache */
	j = stats(fx->top);
	assert_int_equal(counter(j, "cache.entries"), 0);
	assert_int_equal(counter(j, "cache.hits"), 0);
	json_decref(j);
}

/* A delegation whose primary site is dead or silent resolves through the
 * mirror site; with no server answering the answer is 301, in time. */
static void failover_to_mirror(void **state)
{
	(void)state;
	char dead[32], dead2[32];
	dead_addr(dead, sizeof(dead));
	dead_addr(dead2, sizeof(dead2));
	silent_t hung;
	silent_open(&hung);
	/* 88.118.9: primary refuses (nothing listens); 88.118.10: primary
	 * never answers; 88.118.11: nobody answers */
	h_ctl_ok(fx->sec, "delegate", "88.118.9", "--to", dead, "--mirror",
		 fx->mir->addr, NULL);
	h_ctl_ok(fx->sec, "delegate", "88.118.10", "--to", hung.addr,
		 "--mirror", fx->mir->addr, NULL);
	h_ctl_ok(fx->sec, "delegate", "88.118.11", "--to", dead, "--mirror",
		 hung.addr, "--mirror", dead2, NULL);
	h_ctl_ok(fx->mir, "create", "88.118.9/part-1",
		 "1:URL=https://example.com/9/part-1", NULL);
	h_ctl_ok(fx->mir, "create", "88.118.10/part-1",
		 "1:URL=https://example.com/10/part-1", NULL);

	const char *ids[] = {"88.118.9/part-1", "88.118.10/part-1"};
	const char *urls[] = {"https://example.com/9/part-1",
			      "https://example.com/10/part-1"};
	for (int i = 0; i < 2; i++) {
		long long t0 = mono_ms();
		expect_rec(fx->rec, ids[i], IDN_RC_SUCCESS);
		long long dt = mono_ms() - t0;
		idn_arena_reset(&ar);
		idn_values_body_t b;
		reply_values(&ar, &b);
		assert_string_equal(value_text(&b, 1), urls[i]);
		if (dt > 8000)
			fail_msg("%s took %lld ms", ids[i], dt);
	}
	long long t0 = mono_ms();
	expect_rec(fx->rec, "88.118.11/x", IDN_RC_SERVER_NOT_RESP);
	long long dt = mono_ms() - t0;
	if (dt > 8000)
		fail_msg("no server answering took %lld ms to report", dt);
	assert_true(strlen(h_error_text(&rep)) > 0);
	silent_close(&hung);
}

static void referral_loop_ends_with_error(void **state)
{
	(void)state;
	/* 88.118.12: the secondary refers back to the top node, which
	 * refers to the secondary for 88.118 (less specific) */
	h_ctl_ok(fx->sec, "delegate", "88.118.12", "--to", fx->top->addr, NULL);
	/* 88.118.13: the secondary refers to itself (not more specific) */
	h_ctl_ok(fx->sec, "delegate", "88.118.13", "--to", fx->sec->addr, NULL);
	const char *ids[] = {"88.118.12/x", "88.118.13/x"};
	for (int i = 0; i < 2; i++) {
		long long t0 = mono_ms();
		uint32_t rc = resolve_raw(fx->rec, ids[i], IDN_OF_RECURSE);
		long long dt = mono_ms() - t0;
		if (rc != IDN_RC_RECURSION_COUNT)
			fail_msg("%s: rc %u (\"%s\"), want 6", ids[i], rc,
				 h_error_text(&rep));
		if (dt > 5000)
			fail_msg("%s: loop took %lld ms to stop", ids[i], dt);
		assert_true(strlen(h_error_text(&rep)) > 0);
	}
	/* idctl shows the error, exit 1 */
	h_run_t r;
	h_net(&r, fx->rec, "resolve", "88.118.13/x", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 6)"));
	h_run_free(&r);
}

/* top -> sec (88.118) -> ent (88.118.30) -> mir (88.118.30.1) -> both
 * (88.118.30.1.1): four referrals, one more than the recursive node's
 * --max-referrals. */
static void overlong_chain_ends_with_error(void **state)
{
	(void)state;
	h_ctl_ok(fx->sec, "delegate", "88.118.30", "--to", fx->ent->addr, NULL);
	h_ctl_ok(fx->ent, "delegate", "88.118.30.1", "--to", fx->mir->addr,
		 NULL);
	h_ctl_ok(fx->mir, "delegate", "88.118.30.1.1", "--to", fx->both->addr,
		 NULL);
	const char *id = "88.118.30.1.1/deep";
	h_ctl_ok(fx->both, "create", id, "1:URL=https://example.com/deep",
		 NULL);
	/* every hop by hand: the chain is real */
	resolve_raw(fx->top, id, 0);
	expect_referral("88.118", fx->sec->port);
	resolve_raw(fx->sec, id, 0);
	expect_referral("88.118.30", fx->ent->port);
	resolve_raw(fx->ent, id, 0);
	expect_referral("88.118.30.1", fx->mir->port);
	resolve_raw(fx->mir, id, 0);
	expect_referral("88.118.30.1.1", fx->both->port);
	assert_int_equal(resolve_raw(fx->both, id, 0), IDN_RC_SUCCESS);
	/* from the root hint, nothing cached */
	h_ctl_ok(fx->rec, "cache", "flush", NULL);
	long long t0 = mono_ms();
	uint32_t rc = resolve_raw(fx->rec, id, IDN_OF_RECURSE);
	long long dt = mono_ms() - t0;
	if (rc != IDN_RC_RECURSION_COUNT)
		fail_msg("%s: rc %u (\"%s\"), want 6 (4 referrals, max %d)", id,
			 rc, h_error_text(&rep), MAX_REFERRALS);
	if (dt > 5000)
		fail_msg("over-long chain took %lld ms to stop", dt);
	/* three referrals (top, secondary, enterprise) are within the
	 * limit: the mirror node, homed 88.118.30.1, answers */
	h_ctl_ok(fx->rec, "cache", "flush", NULL);
	h_ctl_ok(fx->mir, "create", "88.118.30.1/shallow",
		 "1:URL=https://example.com/shallow", NULL);
	expect_rec(fx->rec, "88.118.30.1/shallow", IDN_RC_SUCCESS);
}

static void get_site_info(void **state)
{
	(void)state;
	node_t *ns[] = {fx->top, fx->sec};
	for (int k = 0; k < 2; k++) {
		uint8_t body[16], frame[256];
		idn_wr_t w;
		idn_wr_init(&w, body, sizeof(body));
		idn_id_body_encode(&w, idn_bytes_str("/"));
		h_req_t q = h_req(IDN_OC_GET_SITE_INFO, next_id++);
		size_t len = h_frame(frame, sizeof(frame), &q, body, w.len);
		h_udp_call(ns[k], frame, len, &rep);
		assert_int_equal(rep.msg.hdr.op, IDN_OC_GET_SITE_INFO);
		assert_int_equal(rep.msg.hdr.rc, IDN_RC_SUCCESS);
		idn_arena_reset(&ar);
		idn_hs_site_t site;
		int err = idn_hs_site_decode(rep.msg.rest, &ar, &site);
		if (err)
			fail_msg("site info of %s does not decode: %d",
				 ns[k]->addr, err);
		assert_int_equal(site.version, 1);
		assert_int_equal(site.nservers, 1);
		static const uint8_t lo[16] = {[12] = 127, [15] = 1};
		assert_memory_equal(site.servers[0].addr, lo, 16);
		bool udp = false, tcp = false;
		for (uint32_t i = 0; i < site.servers[0].nifaces; i++) {
			const idn_hs_iface_t *f = &site.servers[0].ifaces[i];
			if (f->port != ns[k]->port)
				continue;
			udp |= f->proto == IDN_PROTO_UDP;
			tcp |= f->proto == IDN_PROTO_TCP;
		}
		if (!udp || !tcp)
			fail_msg("site info of %s lacks udp/tcp on its port",
				 ns[k]->addr);
	}
	h_run_t r;
	h_net(&r, fx->top, "--json", "siteinfo", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	json_t *srv = json_array_get(
		json_object_get(json_object_get(j, "site"), "servers"), 0);
	assert_string_equal(json_string_value(json_object_get(srv, "address")),
			    "127.0.0.1");
	json_decref(j);
	h_run_free(&r);
	h_net(&r, fx->top, "siteinfo", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, fx->top->addr));
	h_run_free(&r);
}

static void undelegate_removes_referral(void **state)
{
	(void)state;
	const char *id = "88.118.50/x";
	h_ctl_ok(fx->sec, "delegate", "88.118.50", "--to", fx->ent->addr,
		 "--ttl", "1", NULL);
	resolve_raw(fx->sec, id, 0);
	expect_referral("88.118.50", fx->ent->port);
	h_run_t r;
	h_ctl(&r, fx->sec, "undelegate", "88.118.50", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "88.118.50"));
	h_run_free(&r);
	assert_int_equal(resolve_raw(fx->sec, id, 0), IDN_RC_NOT_FOUND);
	assert_int_equal(resolve_raw(fx->sec, "0.NA/88.118.50", 0),
			 IDN_RC_NOT_FOUND);
	/* the recursive node, with nothing cached, gets not found */
	h_ctl_ok(fx->rec, "cache", "flush", NULL);
	expect_rec(fx->rec, id, IDN_RC_NOT_FOUND);
	/* undelegating what is not there fails */
	h_ctl(&r, fx->sec, "undelegate", "88.118.50", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 100)"));
	h_run_free(&r);
}

/* Two servers in one site: the recursive node asks the one the site
 * hash names (docs/architecture.md, Hierarchy: MD5 of the upper-cased prefix,
 * last 4 bytes as a signed int, absolute value, modulo 2). The two hold
 * different data, so the answer shows which was asked. */
static int md5_pick(const char *text, int nservers)
{
	uint8_t d[32];
	uint32_t dl;
	assert_int_equal(idn_digest(IDN_DIGEST_MD5, (const uint8_t *)text,
				    strlen(text), d, &dl),
			 0);
	assert_int_equal(dl, 16);
	int32_t v = (int32_t)((uint32_t)d[12] << 24 | (uint32_t)d[13] << 16 |
			      (uint32_t)d[14] << 8 | d[15]);
	long long x = v < 0 ? -(long long)v : v;
	return (int)(x % nservers);
}

static int site_pick(const char *prefix)
{
	char up[64];
	size_t n = strlen(prefix);
	assert_true(n < sizeof(up));
	for (size_t i = 0; i <= n; i++)
		up[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z'
				       ? prefix[i] - 32
				       : prefix[i]);
	return md5_pick(up, 2);
}

static void site_server_picked_by_hash(void **state)
{
	(void)state;
	/* a prefix whose upper-casing changes the pick, so that a resolver
	 * hashing the lower-case text is caught too */
	char prefix[32] = "";
	for (int i = 0; i < 100 && !prefix[0]; i++) {
		char p[32];
		snprintf(p, sizeof(p), "88.118.h%d", i);
		if (md5_pick(p, 2) != site_pick(p))
			snprintf(prefix, sizeof(prefix), "%s", p);
	}
	assert_true(prefix[0] != 0);
	node_t *srv[2] = {fx->ent, fx->mir};
	char id[64], url[2][96];
	snprintf(id, sizeof(id), "%s/item", prefix);
	for (int i = 0; i < 2; i++) {
		h_ctl_ok(srv[i], "home", prefix, NULL);
		snprintf(url[i], sizeof(url[i]),
			 "https://example.com/server-%d", i + 1);
		char spec[256];
		snprintf(spec, sizeof(spec), "1:URL=%s", url[i]);
		h_ctl_ok(srv[i], "create", id, spec, NULL);
	}
	char to[80];
	snprintf(to, sizeof(to), "%s,%s", fx->ent->addr, fx->mir->addr);
	h_ctl_ok(fx->sec, "delegate", prefix, "--to", to, NULL);
	int want = site_pick(prefix);
	expect_rec(fx->rec, id, IDN_RC_SUCCESS);
	idn_arena_reset(&ar);
	idn_values_body_t b;
	reply_values(&ar, &b);
	if (strcmp(value_text(&b, 1), url[want]))
		fail_msg("%s answered by '%s', want server %d ('%s') by the "
			 "hash of the upper-cased prefix",
			 id, value_text(&b, 1), want + 1, url[want]);
}

static void homed_and_recursive_node(void **state)
{
	(void)state;
	upstream_t u0;
	upstream_snap(&u0);
	/* its own prefix: authoritative, nobody else asked */
	expect_rec(fx->both, "77/local", IDN_RC_SUCCESS);
	idn_arena_reset(&ar);
	idn_values_body_t b;
	reply_values(&ar, &b);
	assert_string_equal(value_text(&b, 1), "https://example.com/77/local");
	assert_true(rep.msg.hdr.flags & IDN_OF_AUTH);
	upstream_expect(&u0, 0, 0, 0);
	expect_rec(fx->both, "77/nothing", IDN_RC_NOT_FOUND);
	/* everything else: resolved through the hierarchy */
	expect_rec(fx->both, JX, IDN_RC_SUCCESS);
	idn_arena_reset(&ar);
	reply_values(&ar, &b);
	assert_string_equal(value_text(&b, 1),
			    "https://example.com/jxdy/2106023");
	upstream_expect(&u0, 1, 1, 1);
	/* without the recursion flag it does not resolve for others */
	uint32_t rc = resolve_raw(fx->both, JX, 0);
	if (rc == IDN_RC_SUCCESS)
		fail_msg("a request without the recursion flag was resolved "
			 "recursively");
}

/* ---- idctl delegate ---- */

static void delegate_writes_the_record(void **state)
{
	(void)state;
	char to[80];
	snprintf(to, sizeof(to), "%s,127.0.0.1:1", fx->sec->addr);
	json_t *j = h_ctl_json(fx->top, "delegate", "0.NA/88.119", "--to", to,
			       "--mirror", "127.0.0.1:2", "--mirror",
			       "localhost:3,10.1.2.3:4", "--ttl", "120", NULL);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
			    "0.NA/88.119");
	json_decref(j);
	/* what the node stored, through its control socket */
	uint8_t frame[1024];
	h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
	size_t len = h_resolve_frame(frame, sizeof(frame), &q, "0.NA/88.119",
				     11, NULL, 0, NULL, 0);
	int fd = h_unix_open(fx->top->ctl);
	h_stream_call(fd, frame, len, &rep);
	close(fd);
	assert_int_equal(rep.msg.hdr.rc, IDN_RC_SUCCESS);
	idn_arena_reset(&ar);
	idn_values_body_t b;
	reply_values(&ar, &b);
	assert_int_equal(b.nvalues, 4);
	const uint32_t idx[] = {1, 2, 3, 100};
	const int nsrv[] = {2, 1, 2};
	for (int i = 0; i < 4; i++) {
		const idn_value_t *v = find_value(&b, idx[i]);
		if (v == NULL)
			fail_msg("no value %u in 0.NA/88.119", idx[i]);
		assert_int_equal(v->ttl, 120);
		assert_int_equal(v->ttl_type, IDN_TTL_RELATIVE);
		assert_int_equal(v->perms, IDN_PERM_DEFAULT);
		if (idx[i] == 100) {
			assert_true(idn_bytes_eq_str(v->type, "HS_ADMIN"));
			idn_hs_admin_t adm;
			assert_int_equal(idn_hs_admin_decode(v->data, &adm), 0);
			assert_true(idn_bytes_eq_str(adm.admin, "0.NA/88.119"));
			assert_int_equal(adm.index, 300);
			assert_int_equal(adm.perms, IDN_ADM_ALL);
			continue;
		}
		assert_true(idn_bytes_eq_str(v->type, "HS_SITE"));
		idn_hs_site_t site;
		assert_int_equal(idn_hs_site_decode(v->data, &ar, &site), 0);
		assert_int_equal(site.version, 1);
		assert_int_equal(site.major, 2);
		assert_int_equal(site.minor, 10);
		assert_int_equal(site.serial, 1);
		assert_int_equal(site.flags, i == 0 ? IDN_SITE_PRIMARY : 0);
		assert_int_equal(site.hash_option, IDN_HASH_PREFIX);
		assert_int_equal(site.hash_filter.len, 0);
		assert_int_equal(site.nattrs, 1);
		assert_true(idn_bytes_eq_str(site.attrs[0].name, "desc"));
		assert_true(idn_bytes_eq_str(site.attrs[0].value,
					     "idnode site for 88.119"));
		assert_int_equal(site.nservers, (uint32_t)nsrv[i]);
		for (uint32_t k = 0; k < site.nservers; k++) {
			const idn_hs_server_t *sv = &site.servers[k];
			assert_int_equal(sv->id, k + 1);
			assert_int_equal(sv->pubkey.len, 0);
			assert_int_equal(sv->nifaces, 2);
			assert_int_equal(sv->ifaces[0].type, IDN_IF_BOTH);
			assert_int_equal(sv->ifaces[0].proto, IDN_PROTO_UDP);
			assert_int_equal(sv->ifaces[1].type, IDN_IF_BOTH);
			assert_int_equal(sv->ifaces[1].proto, IDN_PROTO_TCP);
			assert_int_equal(sv->ifaces[0].port,
					 sv->ifaces[1].port);
		}
	}
	/* the third site: localhost is 127.0.0.1; the second server 10.1.2.3 */
	const idn_value_t *v3 = find_value(&b, 3);
	idn_hs_site_t s3;
	assert_int_equal(idn_hs_site_decode(v3->data, &ar, &s3), 0);
	static const uint8_t lo[16] = {[12] = 127, [15] = 1};
	static const uint8_t ten[16] = {[12] = 10, 1, 2, 3};
	assert_memory_equal(s3.servers[0].addr, lo, 16);
	assert_int_equal(s3.servers[0].ifaces[0].port, 3);
	assert_memory_equal(s3.servers[1].addr, ten, 16);
	assert_int_equal(s3.servers[1].ifaces[0].port, 4);

	/* human output lists the sites */
	h_run_t r;
	h_ctl(&r, fx->top, "delegate", "88.119", "--to", fx->sec->addr, NULL);
	h_assert_status(&r, 0);
	if (!strstr(r.out, "0.NA/88.119") || !strstr(r.out, fx->sec->addr))
		fail_msg("idctl delegate output:\n%s", r.out);
	h_run_free(&r);
	h_ctl_ok(fx->top, "undelegate", "88.119", NULL);
}

static void delegate_validation(void **state)
{
	(void)state;
	static const struct {
		const char *args[8];
		const char *why; /* in the one-line message */
	} bad[] = {
		{{"delegate", "88.120", NULL}, "--to"},
		{{"delegate", "--to", "127.0.0.1:5", NULL}, "prefix"},
		{{"delegate", "88..120", "--to", "127.0.0.1:5", NULL},
		 "88..120"},
		{{"delegate", "88.120/x", "--to", "127.0.0.1:5", NULL},
		 "88.120/x"},
		{{"delegate", "88.120", "--to", "127.0.0.1", NULL}, "port"},
		{{"delegate", "88.120", "--to", "127.0.0.1:0", NULL},
		 "127.0.0.1:0"},
		{{"delegate", "88.120", "--to", "127.0.0.1:70000", NULL},
		 "127.0.0.1:70000"},
		{{"delegate", "88.120", "--to", "0.0.0.0:5", NULL}, "wildcard"},
		{{"delegate", "88.120", "--to", "[::1]:5", NULL}, "IPv6"},
		{{"delegate", "88.120", "--to", "example.com:5", NULL},
		 "example.com:5"},
		{{"delegate", "88.120", "--to", "127.0.0.1:5,", NULL}, "''"},
		{{"delegate", "88.120", "--to", "127.0.0.1:5", "--mirror",
		  "nope", NULL},
		 "--mirror"},
		{{"delegate", "88.120", "--to", "127.0.0.1:5", "--ttl", "-1",
		  NULL},
		 "--ttl"},
		{{"resolve", "88.120/x", "--to", "127.0.0.1:5", NULL},
		 "delegate"},
		{{"undelegate", NULL}, "prefix"},
		{{"cache", "drop", NULL}, "drop"},
		{{"stats", "x", NULL}, "stats"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_run_t r;
		h_ctl_argv(&r, fx->top, bad[i].args);
		if (r.status != 2 || h_count_lines(r.err) != 1 ||
		    !strstr(r.err, bad[i].why) || r.outlen != 0)
			fail_msg("idctl %s %s ...: exit %d, stderr '%s', want "
				 "exit 2 and one line naming '%s'",
				 bad[i].args[0], bad[i].args[1], r.status,
				 r.err, bad[i].why);
		h_run_free(&r);
	}
	/* nothing was written */
	assert_int_equal(resolve_raw(fx->top, "0.NA/88.120", 0),
			 IDN_RC_NOT_FOUND);
}

static void stats_counters(void **state)
{
	(void)state;
	json_t *j0 = stats(fx->top);
	static const char *const keys[] = {
		"requests",	 "resolutions",	  "not_found",
		"referrals",	 "recursive",	  "upstream_queries",
		"errors",	 "writes",	  "cache.hits",
		"cache.misses",	 "cache.inserts", "cache.evictions",
		"cache.expired", "cache.entries", "cache.bytes"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)counter(j0, keys[i]); /* fails when missing */
	resolve_raw(fx->top, JX, 0);	    /* a referral */
	assert_int_equal(resolve_raw(fx->top, "88/none", 0), IDN_RC_NOT_FOUND);
	h_ctl_ok(fx->top, "delegate", "88.121", "--to", fx->sec->addr, NULL);
	json_t *j1 = stats(fx->top);
	assert_int_equal(
		counter(j1, "resolutions") - counter(j0, "resolutions"), 2);
	assert_int_equal(counter(j1, "referrals") - counter(j0, "referrals"),
			 1);
	assert_int_equal(counter(j1, "not_found") - counter(j0, "not_found"),
			 1);
	assert_int_equal(counter(j1, "writes") - counter(j0, "writes"), 1);
	assert_int_equal(counter(j1, "recursive"), 0);
	json_decref(j0);
	json_decref(j1);
	h_ctl_ok(fx->top, "undelegate", "88.121", NULL);
	/* the recursive node counts what it resolves for others */
	long long rec0 = stat_now(fx->rec, "recursive");
	expect_rec(fx->rec, "88.118.8/motor", IDN_RC_SUCCESS);
	assert_int_equal(stat_now(fx->rec, "recursive") - rec0, 1);
	/* human output: aligned "key  value" lines */
	h_run_t r;
	h_ctl(&r, fx->top, "stats", NULL);
	h_assert_status(&r, 0);
	const char *line = strstr(r.out, "resolutions ");
	const char *cl = strstr(r.out, "cache.entries ");
	assert_non_null(line);
	assert_non_null(cl);
	/* values start in the same column */
	size_t c1 = strspn(line + strlen("resolutions"), " ") +
		    strlen("resolutions");
	size_t c2 = strspn(cl + strlen("cache.entries"), " ") +
		    strlen("cache.entries");
	assert_int_equal(c1, c2);
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(top_refers_to_secondary),
		cmocka_unit_test(secondary_refers_to_enterprise),
		cmocka_unit_test(idctl_trace_shows_the_levels),
		cmocka_unit_test(do_not_refer_flag),
		cmocka_unit_test(parent_referral_and_no_parent),
		cmocka_unit_test(recursive_resolves_values_intact),
		cmocka_unit_test(cached_answer_does_not_go_upstream),
		cmocka_unit_test(expired_answer_is_fetched_again),
		cmocka_unit_test(deleted_stops_resolving_after_ttls),
		cmocka_unit_test(not_found_is_cached),
		cmocka_unit_test(cache_flush_goes_upstream),
		cmocka_unit_test(failover_to_mirror),
		cmocka_unit_test(referral_loop_ends_with_error),
		cmocka_unit_test(overlong_chain_ends_with_error),
		cmocka_unit_test(get_site_info),
		cmocka_unit_test(undelegate_removes_referral),
		cmocka_unit_test(site_server_picked_by_hash),
		cmocka_unit_test(homed_and_recursive_node),
		cmocka_unit_test(delegate_writes_the_record),
		cmocka_unit_test(delegate_validation),
		cmocka_unit_test(stats_counters),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
