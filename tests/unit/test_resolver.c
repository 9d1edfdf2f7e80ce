/* The resolver against HANDLE.NET's definitions and bytes: the site hash
 * with values computed by CNRI's own SiteInfo (7.3.1), values kept in
 * index order, CNRI's multi-datagram UDP answer, and global resolution
 * replayed from CNRI's answers (tests/vectors/INDEX.md, "Global
 * resolution"): 301 for the identifier, the prefix handle 0.NA/20.600 with
 * HS_SERV, the service handle with HS_SITE, then the site's answer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "msg.h"
#include "resolver.h"
#include "value.h"
#include "vector_fixture.h"

/* ---- the site hash ---- */

/* CNRI 7.3.1: SiteInfo.getHandleHash(handle, option) for options 0 (by
 * prefix), 1 (by suffix), 2 (whole handle), and determineServerNum for 2,
 * 3, 5 and 7 servers, per option: computed by the reference itself (a
 * Jython script over its handle.jar). MD5 of the ASCII-upper-cased part,
 * the last 4 bytes as a big-endian int, its absolute value, modulo the
 * number of servers; the part of a prefix handle 0.NA/X by prefix is
 * "0.NA". */
static const struct {
	const char *id;
	uint32_t hash[3];
	uint8_t pick[3][4];
} cnri[] = {
	{"20.500/test1",
	 {1518463152, 1256960339, 88375878},
	 {{0, 0, 2, 3}, {1, 2, 4, 5}, {0, 0, 3, 3}}},
	{"20.500/TEST1",
	 {1518463152, 1256960339, 88375878},
	 {{0, 0, 2, 3}, {1, 2, 4, 5}, {0, 0, 3, 3}}},
	{"20.500/glob-big",
	 {1518463152, 1141840612, 919656788},
	 {{0, 0, 2, 3}, {0, 1, 2, 3}, {0, 2, 3, 1}}},
	{"0.NA/20.500",
	 {36223079, 1518463152, 1812521609},
	 {{1, 2, 4, 4}, {0, 0, 2, 3}, {1, 2, 4, 3}}},
	{"0.NA/20.500.1",
	 {36223079, 1999123585, 312976398},
	 {{1, 2, 4, 4}, {1, 1, 0, 4}, {0, 0, 3, 0}}},
	{"20.500.1/abc",
	 {1999123585, 891676978, 1126542029},
	 {{1, 1, 0, 4}, {0, 1, 3, 3}, {1, 2, 4, 4}}},
	{"10.1000/xyz123",
	 {2091615925, 275426209, 772712059},
	 {{1, 1, 0, 0}, {1, 1, 4, 2}, {1, 1, 4, 0}}},
	{"20.600/x",
	 {596651072, 767996803, 725233093},
	 {{0, 2, 2, 3}, {1, 1, 3, 0}, {1, 1, 3, 4}}},
	/* non-ASCII is hashed as is: only a-z are upper-cased */
	{"hdl/\xc3\xbc\xc3\xb1\xc3\xaf",
	 {693599522, 779519561, 514962679},
	 {{0, 2, 2, 0}, {1, 2, 1, 2}, {1, 1, 4, 0}}},
	{"20.500/\xc3\xa9t\xc3\xa9",
	 {1518463152, 1631533612, 409356943},
	 {{0, 0, 2, 3}, {0, 1, 2, 2}, {1, 1, 3, 2}}},
};

static void site_pick_cnri(void **state)
{
	(void)state;
	static const uint32_t ns[4] = {2, 3, 5, 7};
	for (size_t k = 0; k < sizeof(cnri) / sizeof(cnri[0]); k++) {
		idn_ident_t id;
		assert_int_equal(idn_ident_parse((const uint8_t *)cnri[k].id,
						 strlen(cnri[k].id), 0, &id),
				 0);
		for (uint8_t opt = 0; opt < 3; opt++) {
			idn_hs_site_t site = {0};
			site.hash_option = opt;
			/* modulo 2^31 - 1 (> every 31-bit hash but its own)
			 * the pick is the hash itself */
			site.nservers = 2147483647u;
			uint32_t h = idn_site_pick(&site, &id);
			if (h != cnri[k].hash[opt])
				fail_msg("%s option %u: hash %u, CNRI %u",
					 cnri[k].id, opt, h, cnri[k].hash[opt]);
			for (int i = 0; i < 4; i++) {
				site.nservers = ns[i];
				uint32_t p = idn_site_pick(&site, &id);
				if (p != cnri[k].pick[opt][i])
					fail_msg("%s option %u, %u servers: "
						 "server %u, CNRI %u",
						 cnri[k].id, opt, ns[i], p,
						 cnri[k].pick[opt][i]);
			}
		}
	}
}

/* ---- values in index order ---- */

/* The indexes of the n values in p[0..len). */
static void indexes(const uint8_t *p, size_t len, uint32_t n, uint32_t *out)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_rd_t rd;
	idn_rd_init(&rd, p, len);
	for (uint32_t i = 0; i < n; i++) {
		idn_value_t v;
		idn_value_decode(&rd, &a, &v);
		out[i] = v.index;
	}
	assert_int_equal(rd.err, 0);
	assert_int_equal(idn_rd_left(&rd), 0);
	idn_arena_free(&a);
}

/* The values section of a resolution answer message. */
static idn_bytes_t answer_values(const uint8_t *msg, size_t len, uint32_t *n)
{
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(msg, len, &m), 0);
	assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
	idn_rd_t rd;
	idn_rd_init(&rd, m.rest.p, m.rest.len);
	idn_rd_str(&rd, IDN_IDENT_MAX);
	*n = idn_rd_u32(&rd);
	assert_int_equal(rd.err, 0);
	return idn_bytes(rd.p, idn_rd_left(&rd));
}

static void order_cnri_values(void **state)
{
	(void)state;
	/* CNRI answers 20.500/test1 in creation order: 100, 1, 2 */
	size_t len;
	uint8_t *f = load_hex("resolve-response.hex", &len);
	uint32_t n, idx[3];
	idn_bytes_t vs = answer_values(f + IDN_ENV_LEN, len - IDN_ENV_LEN, &n);
	assert_int_equal(n, 3);
	indexes(vs.p, vs.len, n, idx);
	assert_int_equal(idx[0], 100);
	uint8_t *out = malloc(vs.len);
	assert_int_equal(idn_values_order(vs.p, vs.len, n, out), 0);
	indexes(out, vs.len, n, idx);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 100);
	/* a value twice, a count that does not match, trailing bytes */
	uint8_t *twice = malloc(2 * vs.len);
	memcpy(twice, vs.p, vs.len);
	memcpy(twice + vs.len, vs.p, vs.len);
	uint8_t *out2 = malloc(2 * vs.len);
	assert_int_equal(idn_values_order(twice, 2 * vs.len, 6, out2),
			 IDN_EVALUE);
	assert_int_equal(idn_values_order(vs.p, vs.len, 2, out),
			 IDN_EMALFORMED);
	assert_int_equal(idn_values_order(vs.p, vs.len, 4, out),
			 IDN_EMALFORMED);
	assert_int_equal(idn_values_order(vs.p, vs.len - 1, 3, out),
			 IDN_EMALFORMED);
	assert_int_equal(idn_values_order(vs.p, 0, 0, out), 0);
	free(out2);
	free(twice);
	free(out);
	free(f);
}

/* ---- CNRI's multi-datagram UDP answer ---- */

#define BIG_DGRAMS 11

static void big_udp_answer(void **state)
{
	(void)state;
	/* CNRI 7.3.1 answering 20.500/glob-big (a 5020-byte URL) over UDP: 11
	 * datagrams of at most 512 bytes, envelope flags 0 (not "truncated"),
	 * one request id and message length, sequence numbers 0..10 */
	uint8_t *buf = malloc(IDN_MSG_MAX);
	idn_reasm_t ra;
	idn_reasm_init(&ra, buf);
	uint8_t *dg[BIG_DGRAMS];
	size_t dl[BIG_DGRAMS];
	idn_env_t e0;
	for (int i = 0; i < BIG_DGRAMS; i++) {
		char name[64];
		snprintf(name, sizeof(name), "big-resolve-response.udp%d.hex",
			 i);
		dg[i] = load_hex(name, &dl[i]);
		idn_env_t e;
		assert_int_equal(idn_env_decode(dg[i], dl[i], &e), 0);
		if (i == 0)
			e0 = e;
		assert_int_equal(e.flags, 0);
		assert_int_equal(e.seq, (uint32_t)i);
		assert_int_equal(e.request_id, e0.request_id);
		assert_int_equal(e.msg_len, 5199);
		assert_true(dl[i] <= IDN_UDP_DGRAM_MAX);
	}
	assert_int_equal(dl[BIG_DGRAMS - 1], 20 + 5199 - 10 * 492);
	/* read in any order, as they may arrive */
	for (int i = BIG_DGRAMS - 1; i >= 0; i--)
		assert_int_equal(idn_reasm_add(&ra, dg[i], dl[i]), i == 0);
	uint32_t n, idx[3];
	idn_bytes_t vs = answer_values(buf, 5199, &n);
	assert_int_equal(n, 3);
	indexes(vs.p, vs.len, n, idx);
	assert_int_equal(idx[0], 2); /* creation order: 2, 100, 1 */
	assert_int_equal(idx[1], 100);
	assert_int_equal(idx[2], 1);
	/* idnode cuts the same message into the same datagrams */
	uint8_t out[IDN_UDP_DGRAM_MAX];
	assert_int_equal(idn_udp_frag_count(5199), BIG_DGRAMS);
	for (int i = 0; i < BIG_DGRAMS; i++) {
		size_t k = idn_udp_frag(&e0, buf, 5199, (size_t)i, out);
		assert_int_equal(k, dl[i]);
		assert_memory_equal(out, dg[i], k);
		free(dg[i]);
	}
	free(buf);
}

/* CNRI's client sends a request over 492 bytes as several datagrams, each
 * flagged truncated: that flag's meaning in HANDLE.NET. */
static void multi_datagram_request(void **state)
{
	(void)state;
	uint8_t *buf = malloc(IDN_MSG_MAX);
	idn_reasm_t ra;
	idn_reasm_init(&ra, buf);
	for (int i = 0; i < 2; i++) {
		char name[64];
		snprintf(name, sizeof(name), "multi-request.udp%d.hex", i);
		size_t len;
		uint8_t *dg = load_hex(name, &len);
		idn_env_t e;
		assert_int_equal(idn_env_decode(dg, len, &e), 0);
		assert_int_equal(e.flags, IDN_EF_TRUNCATED);
		assert_int_equal(e.seq, (uint32_t)i);
		assert_int_equal(e.msg_len, 922);
		assert_int_equal(idn_reasm_add(&ra, dg, len), i == 1);
		free(dg);
	}
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(buf, 922, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_RESOLUTION);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_resolve_req_t q;
	assert_int_equal(idn_resolve_req_decode(m.body, &a, &q), 0);
	assert_bytes_str(q.id, "20.500/test1");
	assert_int_equal(q.ntypes, 30);
	idn_arena_free(&a);
	free(buf);
}

/* ---- the global-resolution answers ---- */

static void global_vectors(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	size_t len;
	idn_env_t env;
	idn_msg_t m;
	/* 301 from a server that does not home the prefix */
	uint8_t *f = load_hex("global-notresp-response.hex", &len);
	assert_int_equal(decode_full(f, len, &env, &m), 0);
	assert_int_equal(m.hdr.rc, IDN_RC_SERVER_NOT_RESP);
	idn_bytes_t text;
	assert_int_equal(idn_error_body_decode(m.rest, &text), 0);
	assert_bytes_str(text, "That naming authority doesn't live here");
	free(f);
	/* 0.NA/20.600: HS_ADMIN@100, HS_SERV@1 naming the service handle */
	f = load_hex("global-prefix-serv-response.hex", &len);
	assert_int_equal(decode_full(f, len, &env, &m), 0);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(m.rest, &a, &b), 0);
	assert_bytes_str(b.id, "0.NA/20.600");
	assert_int_equal(b.nvalues, 2);
	assert_int_equal(b.values[1].index, 1);
	assert_bytes_str(b.values[1].type, "HS_SERV");
	assert_bytes_str(b.values[1].data, "0.NA/SERV-20.600");
	free(f);
	/* the service handle: HS_SITE of the idnode serving 20.600 */
	f = load_hex("global-service-handle-response.hex", &len);
	assert_int_equal(decode_full(f, len, &env, &m), 0);
	assert_int_equal(idn_values_body_decode(m.rest, &a, &b), 0);
	assert_bytes_str(b.values[1].type, "HS_SITE");
	idn_hs_site_t site;
	assert_int_equal(idn_hs_site_decode(b.values[1].data, &a, &site), 0);
	assert_int_equal(site.nservers, 1);
	char addr[64];
	assert_int_equal(idn_site_server_addr(&site.servers[0], IDN_PROTO_UDP,
					      addr, sizeof(addr)),
			 0);
	assert_string_equal(addr, "127.0.0.1:32003");
	free(f);
	/* 0.NA/20.700: HS_SITE.PREFIX, a site for derived prefixes' handles */
	f = load_hex("global-prefix-siteprefix-response.hex", &len);
	assert_int_equal(decode_full(f, len, &env, &m), 0);
	assert_int_equal(idn_values_body_decode(m.rest, &a, &b), 0);
	assert_bytes_str(b.values[1].type, "HS_SITE.PREFIX");
	assert_int_equal(idn_hs_site_decode(b.values[1].data, &a, &site), 0);
	free(f);
	idn_arena_free(&a);
}

/* ---- global resolution replayed ---- */

/* A fake root and a fake site on loopback UDP, answering with CNRI's
 * captured answers (request id patched in; the HS_SITE port 32003 of the
 * capture rewritten to the fake site's). */
typedef struct {
	int fd[2]; /* 0: root, 1: site */
	uint16_t port[2];
	atomic_bool stop;
	pthread_t th;
} fake_t;

static const struct {
	int at;
	const char *id, *vector;
} replies[] = {
	{0, "20.600/x", "global-notresp-response.hex"},
	{0, "0.NA/20.600", "global-prefix-serv-response.hex"},
	{0, "0.NA/SERV-20.600", "global-service-handle-response.hex"},
	{1, "20.600/x", "resolve-response.hex"},
	{0, "20.700.1/y", "global-notresp-response.hex"},
	{0, "0.NA/20.700", "global-prefix-siteprefix-response.hex"},
	{1, "0.NA/20.700.1", "global-service-handle-response.hex"},
	{1, "20.700.1/y", "resolve-response.hex"},
};

static void fake_answer(fake_t *f, int at)
{
	uint8_t req[2048];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(f->fd[at], req, sizeof(req), 0,
			     (struct sockaddr *)&from, &fl);
	idn_env_t env;
	idn_msg_t m;
	idn_arena_t a;
	idn_resolve_req_t q;
	if (n <= 0 || decode_full(req, (size_t)n, &env, &m) != 0)
		return;
	idn_arena_init(&a, 0);
	const char *vec = "notfound-response.hex";
	if (idn_resolve_req_decode(m.body, &a, &q) == 0)
		for (size_t i = 0; i < sizeof(replies) / sizeof(*replies); i++)
			if (replies[i].at == at &&
			    idn_bytes_eq_str(q.id, replies[i].id))
				vec = replies[i].vector;
	idn_arena_free(&a);
	size_t len;
	uint8_t *r = load_hex(vec, &len);
	memcpy(r + 8, req + 8, 4); /* the request id */
	static const uint8_t cap[4] = {0, 0, 0x7d, 0x03};
	for (size_t i = IDN_ENV_LEN; i + 4 <= len; i++)
		if (memcmp(r + i, cap, 4) == 0)
			idn_put_u32(r + i, f->port[1]);
	sendto(f->fd[at], r, len, 0, (struct sockaddr *)&from, fl);
	free(r);
}

static void *fake_run(void *arg)
{
	fake_t *f = arg;
	while (!atomic_load(&f->stop)) {
		struct pollfd p[2] = {{f->fd[0], POLLIN, 0},
				      {f->fd[1], POLLIN, 0}};
		if (poll(p, 2, 50) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN)
				fake_answer(f, i);
	}
	return NULL;
}

static void fake_start(fake_t *f)
{
	for (int i = 0; i < 2; i++) {
		f->fd[i] = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(f->fd[i] >= 0);
		struct sockaddr_in sa = {0};
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(
			bind(f->fd[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		socklen_t sl = sizeof(sa);
		getsockname(f->fd[i], (struct sockaddr *)&sa, &sl);
		f->port[i] = ntohs(sa.sin_port);
	}
	atomic_store(&f->stop, false);
	assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void fake_stop(fake_t *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->th, NULL);
	close(f->fd[0]);
	close(f->fd[1]);
}

typedef struct {
	char lines[16][160];
	int n;
	const fake_t *f;
} trace_t;

static void on_trace(void *ctx, const char *server, const char *ident,
		     uint32_t rc, const char *detail)
{
	(void)detail;
	trace_t *t = ctx;
	if (t->n == 16)
		return;
	char root[32];
	snprintf(root, sizeof(root), "127.0.0.1:%u", t->f->port[0]);
	snprintf(t->lines[t->n++], sizeof(t->lines[0]), "%s %s %u",
		 strcmp(server, root) == 0 ? "root" : "site", ident, rc);
}

static void replay(const char *ident, const char *const *want, int nwant)
{
	fake_t f;
	fake_start(&f);
	char root[32];
	snprintf(root, sizeof(root), "127.0.0.1:%u", f.port[0]);
	const char *roots[] = {root};
	idn_resolver_opts_t o = {roots, 1, NULL, 300, 0, 0};
	idn_resolver_t *r;
	assert_int_equal(idn_resolver_new(&o, &r), 0);
	idn_ident_t id;
	assert_int_equal(
		idn_ident_parse((const uint8_t *)ident, strlen(ident), 0, &id),
		0);
	idn_resolution_t out;
	trace_t t = {.f = &f};
	assert_int_equal(idn_resolve(r, &id, 0, &out, on_trace, &t), 0);
	fake_stop(&f);
	for (int i = 0; i < t.n || i < nwant; i++)
		if (i >= t.n || i >= nwant || strcmp(t.lines[i], want[i]) != 0)
			fail_msg("step %d: got \"%s\", want \"%s\" (%s)", i,
				 i < t.n ? t.lines[i] : "",
				 i < nwant ? want[i] : "", out.detail);
	assert_int_equal(out.rc, IDN_RC_SUCCESS);
	assert_int_equal(out.nvalues, 3);
	uint32_t idx[3];
	indexes(out.values.p, out.values.len, 3, idx);
	/* CNRI sent 100, 1, 2: kept in index order, as the node serves them */
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 100);
	idn_resolver_free(r);
}

static void global_serv(void **state)
{
	(void)state;
	static const char *const want[] = {
		"root 20.600/x 301",
		"root 0.NA/20.600 1",
		"root 0.NA/SERV-20.600 1",
		"site 20.600/x 1",
	};
	replay("20.600/x", want, 4);
}

static void global_site_prefix(void **state)
{
	(void)state;
	/* 0.NA/20.700.1 is not at the root; 0.NA/20.700 is, with
	 * HS_SITE.PREFIX: its site is asked for 0.NA/20.700.1 */
	static const char *const want[] = {
		"root 20.700.1/y 301", "root 0.NA/20.700.1 100",
		"root 0.NA/20.700 1",  "site 0.NA/20.700.1 1",
		"site 20.700.1/y 1",
	};
	replay("20.700.1/y", want, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(site_pick_cnri),
		cmocka_unit_test(order_cnri_values),
		cmocka_unit_test(big_udp_answer),
		cmocka_unit_test(multi_datagram_request),
		cmocka_unit_test(global_vectors),
		cmocka_unit_test(global_serv),
		cmocka_unit_test(global_site_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
