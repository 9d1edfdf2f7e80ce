/* Global resolution as the Handle system does it (docs/architecture.md,
 * Hierarchy): a recursive node whose root is GHR-style — an idnode homing
 * 0.NA with --no-referrals, which answers 301 (not responsible) for every
 * prefix it does not home, as the Global Handle Registry does — finds the
 * prefix handle 0.NA/<prefix> there, follows HS_SERV to a service handle
 * and its HS_SITE, HS_SITE.PREFIX for derived prefixes, walks up the
 * derived-prefix chain, and answers with the values in index order. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "hex.h"
#include "msg.h"
#include "value.h"

typedef struct {
	node_t *root, *site, *rec;
} fx_t;

static fx_t *fx;
static uint32_t next_id = 1;
static h_reply_t rep;

/* Resolves id at n over UDP with the given header flags; the rc. */
static uint32_t ask(node_t *n, const char *id, uint32_t flags)
{
	uint8_t frame[1024];
	h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
	q.flags = flags;
	size_t len = h_resolve_frame(frame, sizeof(frame), &q, id, strlen(id),
				     NULL, 0, NULL, 0);
	h_udp_call(n, frame, len, &rep);
	assert_int_equal(rep.env.request_id, q.request_id);
	return rep.msg.hdr.rc;
}

/* "1:HS_SITE.PREFIX=hex:..." naming node n as the one server of a site. */
static char *site_value(const char *head, const node_t *n)
{
	idn_hs_server_t srv = {0};
	srv.id = 1;
	inet_pton(AF_INET, "127.0.0.1", srv.addr + 12);
	idn_hs_iface_t ifs[2] = {
		{IDN_IF_QUERY | IDN_IF_ADMIN, IDN_PROTO_UDP, n->port},
		{IDN_IF_QUERY | IDN_IF_ADMIN, IDN_PROTO_TCP, n->port}};
	srv.ifaces = ifs;
	srv.nifaces = 2;
	idn_hs_site_t site = {0};
	site.version = 1;
	site.major = 2;
	site.minor = 10;
	site.flags = IDN_SITE_PRIMARY;
	site.servers = &srv;
	site.nservers = 1;
	uint8_t buf[512];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_site_encode(&w, &site);
	assert_int_equal(w.err, 0);
	size_t hl = strlen(head);
	char *out = malloc(hl + 4 + 2 * w.len + 1);
	memcpy(out, head, hl);
	memcpy(out + hl, "hex:", 4);
	idn_hex_encode(buf, w.len, out + hl + 4);
	return out;
}

static int setup(void **state)
{
	(void)state;
	fx = calloc(1, sizeof(*fx));
	fx->root = node_new("--home", "0.NA", "--no-referrals", NULL);
	fx->site = node_new("--home", "20.600", "--home", "20.600.5", "--home",
			    "20.700.1", NULL);
	node_t *both[] = {fx->root, fx->site};
	nodes_start(both, 2);
	node_t *r = fx->root, *s = fx->site;
	/* the GHR: 0.NA/20.600 names a service handle, which holds the site;
	 * 0.NA/20.700 has a site for its derived prefixes' handles only */
	h_ctl_ok(r, "delegate", "20.601", "--to", s->addr, NULL);
	h_ctl_ok(r, "create", "0.NA/20.600", "1:HS_SERV=0.NA/20.601",
		 "100:HS_ADMIN=0.NA/20.600@300", NULL);
	char *sp = site_value("1:HS_SITE.PREFIX=", s);
	h_ctl_ok(r, "create", "0.NA/20.700", sp, NULL);
	free(sp);
	/* the site: records, and the derived prefix's handle */
	h_ctl_ok(s, "create", "20.600/x", "2:EMAIL=x@example.org",
		 "1:URL=https://example.org/20.600/x",
		 "100:HS_ADMIN=0.NA/20.600@300", NULL);
	h_ctl_ok(s, "create", "20.600.5/w", "1:URL=https://example.org/w",
		 NULL);
	h_ctl_ok(s, "create", "20.700.1/y", "1:URL=https://example.org/y",
		 NULL);
	h_ctl_ok(s, "delegate", "20.700.1", "--to", s->addr, NULL);
	fx->rec = node_new("--recursive", "--root", r->addr, NULL);
	node_start(fx->rec);
	h_reply_init(&rep);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(fx->rec);
	node_free(fx->site);
	node_free(fx->root);
	h_reply_free(&rep);
	free(fx);
	return 0;
}

static void root_answers_301(void **state)
{
	(void)state;
	assert_int_equal(ask(fx->root, "20.600/x", 0), IDN_RC_SERVER_NOT_RESP);
	assert_string_equal(h_error_text(&rep),
			    "server not responsible for handle");
	/* the prefix handle itself is the root's */
	assert_int_equal(ask(fx->root, "0.NA/20.600", 0), IDN_RC_SUCCESS);
}

/* The indexes of a success reply in rep, as "1,2,100". */
static const char *reply_indexes(void)
{
	static char out[128];
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(rep.msg.rest, &a, &b), 0);
	size_t off = 0;
	out[0] = 0;
	for (uint32_t i = 0; i < b.nvalues && off < sizeof(out) - 12; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%u",
					i ? "," : "", b.values[i].index);
	idn_arena_free(&a);
	return out;
}

static void expect_rec(const char *id, uint32_t want, const char *indexes)
{
	uint32_t rc = ask(fx->rec, id, IDN_OF_RECURSE);
	if (rc != want)
		fail_msg("%s: rc %u (\"%s\"), want %u", id, rc,
			 rc == IDN_RC_SUCCESS ? "" : h_error_text(&rep), want);
	if (indexes != NULL)
		assert_string_equal(reply_indexes(), indexes);
}

static void service_handle(void **state)
{
	(void)state;
	expect_rec("20.600/x", IDN_RC_SUCCESS, "1,2,100");
	/* idctl --trace shows the steps a HANDLE.NET client takes */
	h_run_t r;
	char site[48];
	snprintf(site, sizeof(site), "%s", fx->site->addr);
	h_net(&r, fx->root, "resolve", "--trace", "20.600/x", NULL);
	h_assert_status(&r, 0);
	const char *steps[] = {"20.600/x  rc 301", "0.NA/20.600  rc 1",
			       "0.NA/20.601  rc 1", "20.600/x  rc 1"};
	const char *at = r.out;
	for (int i = 0; i < 4; i++) {
		const char *p = strstr(at, steps[i]);
		if (p == NULL)
			fail_msg("trace lacks \"%s\" (in order):\n%s", steps[i],
				 r.out);
		at = p + 1;
	}
	assert_non_null(strstr(r.out, site));
	h_run_free(&r);
}

static void site_prefix(void **state)
{
	(void)state;
	/* 0.NA/20.700.1 is not at the root; 0.NA/20.700's HS_SITE.PREFIX
	 * site has it */
	expect_rec("20.700.1/y", IDN_RC_SUCCESS, "1");
}

static void derived_prefix_chain(void **state)
{
	(void)state;
	/* no 0.NA/20.600.5 anywhere: 0.NA/20.600's sites serve it */
	expect_rec("20.600.5/w", IDN_RC_SUCCESS, "1");
	/* no prefix handle of the chain at all: not found, and cached as
	 * such (the root is not asked again) */
	expect_rec("20.800/z", IDN_RC_NOT_FOUND, NULL);
	json_t *j = h_ctl_json(fx->root, "stats", NULL);
	long long before =
		json_integer_value(json_object_get(j, "resolutions"));
	json_decref(j);
	expect_rec("20.800/z", IDN_RC_NOT_FOUND, NULL);
	j = h_ctl_json(fx->root, "stats", NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "resolutions")),
			 before);
	json_decref(j);
	/* a prefix the root does not home, asked without recursion */
	assert_int_equal(ask(fx->rec, "20.800/z", 0), IDN_RC_SERVER_NOT_RESP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_answers_301),
		cmocka_unit_test(service_handle),
		cmocka_unit_test(site_prefix),
		cmocka_unit_test(derived_prefix_chain),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
