#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "msg.h"
#include "net.h"
#include "site.h"

typedef struct {
	uint8_t buf[4096];
	idn_wr_t w;
	idn_arena_t a;
	idn_hs_site_t site;
	char why[200];
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	idn_wr_init(&f->w, f->buf, sizeof(f->buf));
	idn_arena_init(&f->a, 4096);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	idn_arena_free(&f->a);
	free(f);
	return 0;
}

static const idn_site_opts_t cli = {1,	  IDN_SITE_PRIMARY, "parent", {0}, 0,
				    false};

/* Builds from servers with o and decodes the result into f->site. */
static int build(fx_t *f, const idn_site_opts_t *o, const char *const *sv,
		 size_t n)
{
	idn_wr_init(&f->w, f->buf, sizeof(f->buf));
	f->why[0] = 0;
	int rc = idn_site_build(&f->w, o, sv, n, f->why, sizeof(f->why));
	if (rc == 0)
		assert_int_equal(idn_hs_site_decode(idn_bytes(f->buf, f->w.len),
						    &f->a, &f->site),
				 0);
	return rc;
}

static void assert_server(const idn_hs_server_t *s, uint32_t id,
			  const char *addr, uint32_t port)
{
	char got[64];
	idn_site_addr_format(s->addr, got, sizeof(got));
	assert_string_equal(got, addr);
	assert_int_equal(s->id, id);
	assert_int_equal(s->nifaces, 2);
	assert_int_equal(s->ifaces[0].proto, IDN_PROTO_UDP);
	assert_int_equal(s->ifaces[1].proto, IDN_PROTO_TCP);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(s->ifaces[i].type, IDN_IF_BOTH);
		assert_int_equal(s->ifaces[i].port, port);
	}
}

/* A node's own server, listed as HANDLE.NET lists its own: TCP for
 * both, UDP for queries, HTTP for both when served. */
static void assert_own_server(const idn_hs_server_t *s, uint32_t id,
			      const char *addr, uint32_t port, uint32_t http)
{
	char got[64];
	idn_site_addr_format(s->addr, got, sizeof(got));
	assert_string_equal(got, addr);
	assert_int_equal(s->id, id);
	assert_int_equal(s->nifaces, http ? 3 : 2);
	assert_int_equal(s->ifaces[0].proto, IDN_PROTO_TCP);
	assert_int_equal(s->ifaces[0].type, IDN_IF_BOTH);
	assert_int_equal(s->ifaces[0].port, port);
	assert_int_equal(s->ifaces[1].proto, IDN_PROTO_UDP);
	assert_int_equal(s->ifaces[1].type, IDN_IF_QUERY);
	assert_int_equal(s->ifaces[1].port, port);
	if (http) {
		assert_int_equal(s->ifaces[2].proto, IDN_PROTO_HTTP);
		assert_int_equal(s->ifaces[2].type, IDN_IF_BOTH);
		assert_int_equal(s->ifaces[2].port, http);
	}
}

static void test_build_cli(void **state)
{
	fx_t *f = *state;
	const char *sv[] = {"127.0.0.1:2641", "[2001:db8::1]:2642",
			    "[::ffff:10.0.0.1]:7"};
	assert_int_equal(build(f, &cli, sv, 3), 0);
	idn_hs_site_t *s = &f->site;
	assert_int_equal(s->version, 1);
	assert_int_equal(s->major, IDN_PROTO_MAJOR);
	assert_int_equal(s->minor, IDN_PROTO_MINOR);
	assert_int_equal(s->serial, 1);
	assert_int_equal(s->flags, IDN_SITE_PRIMARY);
	assert_int_equal(s->hash_option, IDN_HASH_PREFIX);
	assert_int_equal(s->hash_filter.len, 0);
	assert_int_equal(s->nattrs, 1);
	assert_memory_equal(s->attrs[0].name.p, "desc", 4);
	assert_int_equal(s->attrs[0].value.len, 6);
	assert_memory_equal(s->attrs[0].value.p, "parent", 6);
	assert_int_equal(s->nservers, 3);
	assert_server(&s->servers[0], 1, "127.0.0.1", 2641);
	assert_server(&s->servers[1], 2, "2001:db8::1", 2642);
	assert_server(&s->servers[2], 3, "10.0.0.1", 7); /* IPv4 form */
	assert_int_equal(s->servers[0].pubkey.len, 0);
}

/* What a person may not give: each refused with a reason naming it. */
static void test_build_refused(void **state)
{
	fx_t *f = *state;
	static const struct {
		const char *server, *why;
	} bad[] = {
		{"127.0.0.1", "needs a port"},
		{"0.0.0.0:2641", "wildcard"},
		{"[::]:2641", "wildcard"},
		{"[::1]:2641", "IPv6"},
		{"", "expected HOST:PORT"},
		{"host.example:1", "expected HOST:PORT"},
		{"127.0.0.1:70000", "expected HOST:PORT"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const char *sv[] = {"127.0.0.1:1", bad[i].server};
		uint8_t before = f->buf[0];
		assert_int_equal(build(f, &cli, sv, 2), IDN_EINVAL);
		if (!strstr(f->why, bad[i].why) ||
		    !strstr(f->why, bad[i].server))
			fail_msg("'%s': reason \"%s\", want \"%s\" and the "
				 "server",
				 bad[i].server, f->why, bad[i].why);
		assert_int_equal(f->w.len, 0); /* nothing written */
		assert_int_equal(f->buf[0], before);
	}
	const char *many[IDN_SITE_SERVERS_MAX + 1];
	for (size_t i = 0; i <= IDN_SITE_SERVERS_MAX; i++)
		many[i] = "127.0.0.1:1";
	assert_int_equal(build(f, &cli, many, IDN_SITE_SERVERS_MAX + 1),
			 IDN_ETOOMANY);
	assert_non_null(strstr(f->why, "more than 64"));
	assert_int_equal(build(f, &cli, many, IDN_SITE_SERVERS_MAX), 0);
	assert_int_equal(f->site.nservers, IDN_SITE_SERVERS_MAX);
	/* why may be NULL */
	const char *one[] = {"nope"};
	idn_wr_init(&f->w, f->buf, sizeof(f->buf));
	assert_int_equal(idn_site_build(&f->w, &cli, one, 1, NULL, 0),
			 IDN_EINVAL);
}

/* A node's own listen addresses: default port, wildcards left out, ::1
 * kept, the node's key on every server. */
static void test_build_listen(void **state)
{
	fx_t *f = *state;
	static const uint8_t key[] = {1, 2, 3, 4, 5};
	idn_site_opts_t o = {7,
			     IDN_SITE_PRIMARY,
			     "idnode",
			     idn_bytes(key, sizeof(key)),
			     IDN_DEFAULT_PORT,
			     true,
			     true};
	const char *sv[] = {"0.0.0.0:2641", "127.0.0.1", "[::]:9", "[::1]:5",
			    "10.1.2.3:80"};
	assert_int_equal(build(f, &o, sv, 5), 0);
	assert_int_equal(f->site.serial, 7);
	assert_int_equal(f->site.nservers, 3);
	assert_own_server(&f->site.servers[0], 1, "127.0.0.1", IDN_DEFAULT_PORT,
			  0);
	/* ::1 in the site layout reads as 0.0.0.1 to most readers */
	assert_own_server(&f->site.servers[1], 2, "0.0.0.1", 5, 0);
	assert_own_server(&f->site.servers[2], 3, "10.1.2.3", 80, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->site.servers[i].pubkey.len, sizeof(key));
		assert_memory_equal(f->site.servers[i].pubkey.p, key,
				    sizeof(key));
	}
	/* with the HTTP interface: on a wildcard listener every server's */
	o.http_port = 8000;
	assert_int_equal(build(f, &o, sv, 5), 0);
	assert_own_server(&f->site.servers[0], 1, "127.0.0.1", IDN_DEFAULT_PORT,
			  8000);
	assert_own_server(&f->site.servers[2], 3, "10.1.2.3", 80, 8000);
	/* on one address: that server's only */
	o.http_addr[12] = 127;
	o.http_addr[15] = 1;
	assert_int_equal(build(f, &o, sv, 5), 0);
	assert_own_server(&f->site.servers[0], 1, "127.0.0.1", IDN_DEFAULT_PORT,
			  8000);
	assert_own_server(&f->site.servers[2], 3, "10.1.2.3", 80, 0);
	/* only wildcards: a site without servers */
	const char *wild[] = {"0.0.0.0"};
	assert_int_equal(build(f, &o, wild, 1), 0);
	assert_int_equal(f->site.nservers, 0);
}

static void test_build_overflow(void **state)
{
	fx_t *f = *state;
	const char *sv[] = {"127.0.0.1:1"};
	uint8_t small[40];
	idn_wr_t w;
	idn_wr_init(&w, small, sizeof(small));
	char why[64] = "";
	assert_int_equal(idn_site_build(&w, &cli, sv, 1, why, sizeof(why)),
			 IDN_ETOOLONG);
	assert_int_equal(w.err, IDN_ETOOLONG);
	assert_string_equal(why, "site too large");
	(void)f;
}

/* Prints what fn writes for s into a string. */
static char *printed(void (*fn)(FILE *, const idn_hs_site_t *),
		     const idn_hs_site_t *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	assert_non_null(m);
	fn(m, s);
	fclose(m);
	return out;
}

static void test_print(void **state)
{
	fx_t *f = *state;
	const char *sv[] = {"127.0.0.1:2641", "[2001:db8::1]:2642"};
	assert_int_equal(build(f, &cli, sv, 2), 0);
	char *p = printed(idn_site_print, &f->site);
	assert_string_equal(p, "site primary: 127.0.0.1:2641 udp/tcp, "
			       "[2001:db8::1]:2642 udp/tcp");
	free(p);
	/* a mirror with another serial and hash, an admin-only interface on
	 * a port of its own, and a server without interfaces */
	idn_hs_site_t s = f->site;
	idn_hs_iface_t ifs[3] = {{IDN_IF_BOTH, IDN_PROTO_UDP, 1},
				 {IDN_IF_ADMIN, IDN_PROTO_TCP, 2},
				 {IDN_IF_QUERY, IDN_PROTO_HTTP, 1}};
	s.servers[0].ifaces = ifs;
	s.servers[0].nifaces = 3;
	s.servers[1].nifaces = 0;
	s.flags = 0;
	s.serial = 3;
	s.hash_option = IDN_HASH_WHOLE;
	p = printed(idn_site_print, &s);
	assert_string_equal(p, "site mirror serial 3 hash whole: "
			       "127.0.0.1:1 udp/http(query), 127.0.0.1:2 "
			       "tcp(admin), [2001:db8::1]:0 (no interfaces)");
	free(p);
	s.flags = IDN_SITE_PRIMARY | IDN_SITE_MULTI_PRIMARY;
	s.nservers = 0;
	s.serial = 1;
	s.hash_option = IDN_HASH_PREFIX;
	p = printed(idn_site_print, &s);
	assert_string_equal(p, "site multi-primary: (no servers)");
	free(p);
}

static json_t *jpath(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		fail_msg("no \"%s\" in the site JSON", key);
	return v;
}

/* The one JSON shape (handle.net's), field by field. */
static void test_json(void **state)
{
	fx_t *f = *state;
	static const uint8_t key[] = {0xfb, 0xff, 0x00};
	idn_site_opts_t o = cli;
	o.pubkey = idn_bytes(key, sizeof(key));
	o.serial = 9;
	const char *sv[] = {"192.0.2.7:2641", "[2001:db8::1]:8000"};
	assert_int_equal(build(f, &o, sv, 2), 0);
	json_t *j = idn_site_json(&f->site);
	assert_non_null(j);
	char *dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		dump,
		"{\"attributes\":[{\"name\":\"desc\",\"value\":\"parent\"}],"
		"\"hashFilter\":\"\",\"hashOption\":0,\"primaryMask\":128,"
		"\"protocolVersion\":\"2.10\",\"serialNumber\":9,\"servers\":["
		"{\"address\":\"192.0.2.7\",\"interfaces\":["
		"{\"admin\":true,\"port\":2641,\"protocol\":\"UDP\","
		"\"query\":true},"
		"{\"admin\":true,\"port\":2641,\"protocol\":\"TCP\","
		"\"query\":true}],"
		"\"publicKey\":{\"format\":\"base64\",\"value\":\"+/8A\"},"
		"\"serverId\":1},"
		"{\"address\":\"2001:db8:0:0:0:0:0:1\",\"interfaces\":["
		"{\"admin\":true,\"port\":8000,\"protocol\":\"UDP\","
		"\"query\":true},"
		"{\"admin\":true,\"port\":8000,\"protocol\":\"TCP\","
		"\"query\":true}],"
		"\"publicKey\":{\"format\":\"base64\",\"value\":\"+/8A\"},"
		"\"serverId\":2}],"
		"\"version\":1}");
	free(dump);
	json_decref(j);

	/* no key: no publicKey; query-only and admin-only interfaces;
	 * multi-primary; text that is not UTF-8 as "" */
	idn_hs_site_t s = f->site;
	idn_hs_iface_t ifs[2] = {{IDN_IF_QUERY, IDN_PROTO_HTTPS, 443},
				 {IDN_IF_ADMIN, IDN_PROTO_HTTP, 80}};
	idn_hs_attr_t attr = {idn_bytes_str("desc"), idn_bytes("\xff", 1)};
	s.servers[0].pubkey = idn_bytes(NULL, 0);
	s.servers[0].ifaces = ifs;
	s.nservers = 1;
	s.attrs = &attr;
	s.flags = IDN_SITE_PRIMARY | IDN_SITE_MULTI_PRIMARY;
	j = idn_site_json(&s);
	assert_int_equal(json_integer_value(jpath(j, "primaryMask")), 0xc0);
	json_t *at = json_array_get(jpath(j, "attributes"), 0);
	assert_string_equal(json_string_value(jpath(at, "value")), "");
	json_t *srv = json_array_get(jpath(j, "servers"), 0);
	assert_null(json_object_get(srv, "publicKey"));
	json_t *i0 = json_array_get(jpath(srv, "interfaces"), 0);
	json_t *i1 = json_array_get(jpath(srv, "interfaces"), 1);
	assert_true(json_is_true(jpath(i0, "query")));
	assert_true(json_is_false(jpath(i0, "admin")));
	assert_string_equal(json_string_value(jpath(i0, "protocol")), "HTTPS");
	assert_true(json_is_false(jpath(i1, "query")));
	assert_true(json_is_true(jpath(i1, "admin")));
	assert_string_equal(json_string_value(jpath(i1, "protocol")), "HTTP");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_cli, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_listen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_build_overflow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_print, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	};
	return cmocka_run_group_tests_name("site", tests, NULL, NULL);
}
