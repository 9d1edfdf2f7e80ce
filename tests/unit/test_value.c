/* Tests of the value model and the HS_* layouts (value.c). */
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
#include "ident.h"
#include "value.h"

static const char *vec_dir(void)
{
	const char *d = getenv("IDN_VECTORS");
	return d != NULL ? d : "tests/vectors";
}

static uint8_t *load_bin(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", vec_dir(), name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	uint8_t *buf = malloc(65536);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

#define assert_bytes_str(b, s) assert_bytes_str_((b), (s), __FILE__, __LINE__)
static void assert_bytes_str_(idn_bytes_t b, const char *s, const char *file,
			      int line)
{
	if (idn_bytes_eq_str(b, s))
		return;
	print_error("%s:%d: got \"%.*s\" (%u bytes), want \"%s\"\n", file, line,
		    (int)b.len, b.p ? (const char *)b.p : "", b.len, s);
	fail();
}

static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static idn_bytes_t S(const char *s)
{
	return idn_bytes_str(s);
}

/* The HS_ADMIN value of create-request.hex, as sent. */
static const uint8_t admin_value[] = {
	0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x51, 0x80, 0x0e, 0x00, 0x00, 0x00, 0x08, 'H',	'S',  '_',  'A',
	'D',  'M',  'I',  'N',	0x00, 0x00, 0x00, 0x15, 0x0f, 0xff, 0x00,
	0x00, 0x00, 0x0b, '0',	'.',  'N',  'A',  '/',	'2',  '0',  '.',
	'5',  '0',  '0',  0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x00, 0x00};

static void test_value_decode(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_rd_t r;
	idn_rd_init(&r, admin_value, sizeof(admin_value));
	idn_value_t v;
	idn_value_decode(&r, &a, &v);
	assert_int_equal(r.err, 0);
	assert_int_equal(idn_rd_left(&r), 0);
	assert_int_equal(v.index, 100);
	assert_int_equal(v.timestamp, 0);
	assert_int_equal(v.ttl_type, IDN_TTL_RELATIVE);
	assert_int_equal(v.ttl, 86400);
	assert_int_equal(v.perms, IDN_PERM_DEFAULT);
	assert_bytes_str(v.type, "HS_ADMIN");
	assert_int_equal(v.data.len, 21);
	assert_int_equal(v.nrefs, 0);
	assert_null(v.refs);
	assert_int_equal(idn_value_size(&v), sizeof(admin_value));
	idn_hs_admin_t adm;
	assert_int_equal(idn_hs_admin_decode(v.data, &adm), 0);
	assert_int_equal(adm.perms, IDN_ADM_ALL);
	assert_bytes_str(adm.admin, "0.NA/20.500");
	assert_int_equal(adm.index, 300);
	assert_int_equal(idn_value_check(&v, &a), 0);

	uint8_t out[128];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	idn_value_encode(&w, &v);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, sizeof(admin_value));
	assert_memory_equal(out, admin_value, sizeof(admin_value));
	/* overflow is sticky */
	idn_wr_init(&w, out, sizeof(admin_value) - 1);
	idn_value_encode(&w, &v);
	assert_int_equal(w.err, IDN_ETOOLONG);
	idn_arena_free(&a);
}

static void test_value_refs(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_ref_t refs[2] = {{S("20.500/x"), 7}, {S("0.NA/20.500"), 300}};
	idn_value_t v = {5,
			 1795388659u,
			 IDN_TTL_ABSOLUTE,
			 1795400000u,
			 IDN_PERM_PUBLIC_READ,
			 S("URL"),
			 S("http://x/"),
			 2,
			 refs};
	uint8_t buf[256];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_value_encode(&w, &v);
	assert_int_equal(w.len, idn_value_size(&v));
	idn_rd_t r;
	idn_rd_init(&r, buf, w.len);
	idn_value_t d;
	idn_value_decode(&r, &a, &d);
	assert_int_equal(r.err, 0);
	assert_int_equal(d.ttl_type, IDN_TTL_ABSOLUTE);
	assert_int_equal(d.ttl, 1795400000u);
	assert_int_equal(d.nrefs, 2);
	assert_bytes_str(d.refs[0].id, "20.500/x");
	assert_int_equal(d.refs[0].index, 7);
	assert_bytes_str(d.refs[1].id, "0.NA/20.500");
	assert_int_equal(d.refs[1].index, 300);
	assert_int_equal(idn_value_check(&d, &a), 0);

	/* every truncation fails */
	for (size_t k = 0; k < w.len; k++) {
		uint8_t *c = exact_copy(buf, k);
		idn_rd_init(&r, c, k);
		idn_value_decode(&r, &a, &d);
		assert_int_not_equal(r.err, 0);
		free(c);
	}
	/* a reference count that cannot fit, or over the limit */
	size_t refs_at = w.len - 4 - 12 - 4 - 15 - 4;
	assert_int_equal(idn_get_u32(buf + refs_at), 2);
	idn_put_u32(buf + refs_at, 3);
	idn_rd_init(&r, buf, w.len);
	idn_value_decode(&r, &a, &d);
	assert_int_equal(r.err, IDN_EMALFORMED);
	idn_put_u32(buf + refs_at, IDN_REFS_MAX + 1);
	idn_rd_init(&r, buf, w.len);
	idn_value_decode(&r, &a, &d);
	assert_int_equal(r.err, IDN_ETOOMANY);
	idn_arena_free(&a);
}

static void test_value_lengths(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t buf[sizeof(admin_value)];
	idn_rd_t r;
	idn_value_t v;
	/* type length over what remains, and over IDN_TYPE_MAX */
	memcpy(buf, admin_value, sizeof(buf));
	idn_put_u32(buf + 14, 1000);
	idn_rd_init(&r, buf, sizeof(buf));
	idn_value_decode(&r, &a, &v);
	assert_int_equal(r.err, IDN_EMALFORMED);
	idn_put_u32(buf + 14, IDN_TYPE_MAX + 1);
	idn_rd_init(&r, buf, sizeof(buf));
	idn_value_decode(&r, &a, &v);
	assert_int_equal(r.err, IDN_ETOOLONG);
	idn_put_u32(buf + 14, 0xffffffffu);
	idn_rd_init(&r, buf, sizeof(buf));
	idn_value_decode(&r, &a, &v);
	assert_int_equal(r.err, IDN_ETOOLONG);
	/* data length one too many */
	memcpy(buf, admin_value, sizeof(buf));
	idn_put_u32(buf + 26, 22);
	idn_rd_init(&r, buf, sizeof(buf));
	idn_value_decode(&r, &a, &v);
	assert_int_equal(r.err, IDN_EMALFORMED);
	/* a sticky error from before is kept */
	idn_rd_init(&r, admin_value, sizeof(admin_value));
	idn_rd_fail(&r, IDN_EVALUE);
	idn_value_decode(&r, &a, &v);
	assert_int_equal(r.err, IDN_EVALUE);
	assert_int_equal(v.index, 0);
	idn_arena_free(&a);
}

static void test_values_decode(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t buf[4 + 2 * sizeof(admin_value)];
	idn_put_u32(buf, 2);
	memcpy(buf + 4, admin_value, sizeof(admin_value));
	memcpy(buf + 4 + sizeof(admin_value), admin_value, sizeof(admin_value));
	idn_rd_t r;
	idn_value_t *vals;
	uint32_t n;
	idn_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(idn_values_decode(&r, &a, &vals, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(vals[1].index, 100);
	/* count over what remains: refused before allocating */
	idn_put_u32(buf, 3);
	idn_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(idn_values_decode(&r, &a, &vals, &n), IDN_EMALFORMED);
	assert_int_equal(n, 0);
	assert_null(vals);
	idn_put_u32(buf, 0xffffffffu);
	idn_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(idn_values_decode(&r, &a, &vals, &n), IDN_ETOOMANY);
	idn_put_u32(buf, IDN_VALUES_MAX);
	idn_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(idn_values_decode(&r, &a, &vals, &n), IDN_EMALFORMED);
	/* zero values */
	idn_put_u32(buf, 0);
	idn_rd_init(&r, buf, 4);
	assert_int_equal(idn_values_decode(&r, &a, &vals, &n), 0);
	assert_int_equal(n, 0);
	assert_null(vals);
	/* every truncation of the list fails */
	idn_put_u32(buf, 2);
	for (size_t k = 0; k < sizeof(buf); k++) {
		uint8_t *c = exact_copy(buf, k);
		idn_rd_init(&r, c, k);
		assert_int_not_equal(idn_values_decode(&r, &a, &vals, &n), 0);
		free(c);
	}
	idn_arena_free(&a);
}

static void test_type_matches(void **state)
{
	(void)state;
	assert_true(idn_type_matches(S("URL"), S("URL")));
	assert_true(idn_type_matches(S("url"), S("URL")));
	assert_true(idn_type_matches(S("URL"), S("URL.")));
	assert_true(idn_type_matches(S("url.x"), S("URL.")));
	assert_true(idn_type_matches(S("URL.x.y"), S("URL.")));
	assert_true(idn_type_matches(S("HS_SITE.PREFIX"), S("hs_site.")));
	assert_false(idn_type_matches(S("URLX"), S("URL")));
	assert_false(idn_type_matches(S("URLX"), S("URL.")));
	assert_false(idn_type_matches(S("URL"), S("URLX")));
	assert_false(idn_type_matches(S("URL"), S("URL.x")));
	assert_false(idn_type_matches(S("UR"), S("URL.")));
	assert_false(idn_type_matches(S("URL.x"), S("URL")));
	assert_false(idn_type_matches(S("EMAIL"), S("URL")));
	assert_true(idn_type_matches(S(""), S("")));
	assert_false(idn_type_matches(S("URL"), S("")));
	/* "." alone is the family of everything under the empty name */
	assert_true(idn_type_matches(S(""), S(".")));
	assert_true(idn_type_matches(S(".x"), S(".")));
	assert_false(idn_type_matches(S("x"), S(".")));
	/* non-ASCII bytes compare exactly */
	assert_false(idn_type_matches(S("\xc3\xa9"), S("\xc3\x89")));
}

static void test_hs_admin(void **state)
{
	(void)state;
	idn_hs_admin_t in = {IDN_ADM_ADD_HANDLE | IDN_ADM_READ_VALUE,
			     S("0.NA/88.118"), 200};
	uint8_t buf[64];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_admin_encode(&w, &in);
	assert_int_equal(w.len, 2 + 4 + 11 + 4);
	idn_hs_admin_t out;
	assert_int_equal(idn_hs_admin_decode(idn_bytes(buf, w.len), &out), 0);
	assert_int_equal(out.perms, 0x401);
	assert_bytes_str(out.admin, "0.NA/88.118");
	assert_int_equal(out.index, 200);
	for (size_t k = 0; k < w.len; k++) {
		uint8_t *c = exact_copy(buf, k);
		assert_int_equal(idn_hs_admin_decode(idn_bytes(c, k), &out),
				 IDN_EMALFORMED);
		free(c);
	}
	buf[w.len] = 0;
	assert_int_equal(idn_hs_admin_decode(idn_bytes(buf, w.len + 1), &out),
			 IDN_EMALFORMED);
	idn_put_u32(buf + 2, IDN_IDENT_MAX + 1);
	assert_int_equal(idn_hs_admin_decode(idn_bytes(buf, w.len), &out),
			 IDN_ETOOLONG);
	assert_int_equal(idn_hs_admin_decode(idn_bytes(NULL, 0), &out),
			 IDN_EMALFORMED);
}

static void test_hs_vlist(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_ref_t refs[3] = {
		{S("0.NA/20.500"), 300}, {S("20.500/admins"), 200}, {S(""), 0}};
	idn_hs_vlist_t in = {3, refs};
	uint8_t buf[128];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_vlist_encode(&w, &in);
	idn_hs_vlist_t out;
	assert_int_equal(idn_hs_vlist_decode(idn_bytes(buf, w.len), &a, &out),
			 0);
	assert_int_equal(out.n, 3);
	assert_bytes_str(out.refs[1].id, "20.500/admins");
	assert_int_equal(out.refs[1].index, 200);
	assert_int_equal(out.refs[2].id.len, 0);
	uint8_t again[128];
	idn_wr_t w2;
	idn_wr_init(&w2, again, sizeof(again));
	idn_hs_vlist_encode(&w2, &out);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(again, buf, w.len);
	for (size_t k = 0; k < w.len; k++) {
		uint8_t *c = exact_copy(buf, k);
		assert_int_not_equal(
			idn_hs_vlist_decode(idn_bytes(c, k), &a, &out), 0);
		free(c);
	}
	buf[w.len] = 9;
	assert_int_equal(
		idn_hs_vlist_decode(idn_bytes(buf, w.len + 1), &a, &out),
		IDN_EMALFORMED);
	idn_put_u32(buf, 0xffffffffu);
	assert_int_equal(idn_hs_vlist_decode(idn_bytes(buf, w.len), &a, &out),
			 IDN_ETOOMANY);
	idn_put_u32(buf, 1000);
	assert_int_equal(idn_hs_vlist_decode(idn_bytes(buf, w.len), &a, &out),
			 IDN_EMALFORMED);
	/* an empty list */
	idn_put_u32(buf, 0);
	assert_int_equal(idn_hs_vlist_decode(idn_bytes(buf, 4), &a, &out), 0);
	assert_int_equal(out.n, 0);
	idn_arena_free(&a);
}

/* Site bytes built by hand: two servers, one IPv6, one attribute. */
static size_t make_site(uint8_t *buf, size_t cap)
{
	idn_hs_iface_t if1[2] = {{IDN_IF_BOTH, IDN_PROTO_TCP, 2641},
				 {IDN_IF_QUERY, IDN_PROTO_UDP, 2641}};
	idn_hs_iface_t if2[1] = {{IDN_IF_ADMIN, IDN_PROTO_HTTPS, 8443}};
	idn_hs_server_t srv[2] = {
		{1, {0}, S("key1"), 2, if1},
		{2, {0x20, 0x01, 0x0d, 0xb8}, S(""), 1, if2},
	};
	srv[0].addr[12] = 10;
	srv[0].addr[15] = 1;
	srv[1].addr[15] = 2;
	idn_hs_attr_t attr = {S("desc"), S("test site")};
	idn_hs_site_t s = {1,
			   2,
			   10,
			   42,
			   IDN_SITE_PRIMARY | IDN_SITE_MULTI_PRIMARY,
			   IDN_HASH_SUFFIX,
			   S("x"),
			   1,
			   &attr,
			   2,
			   srv};
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_hs_site_encode(&w, &s);
	assert_int_equal(w.err, 0);
	return w.len;
}

static void test_hs_site(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t buf[256];
	size_t n = make_site(buf, sizeof(buf));
	idn_hs_site_t s;
	assert_int_equal(idn_hs_site_decode(idn_bytes(buf, n), &a, &s), 0);
	assert_int_equal(s.version, 1);
	assert_int_equal(s.major, 2);
	assert_int_equal(s.minor, 10);
	assert_int_equal(s.serial, 42);
	assert_int_equal(s.flags, 0xc0);
	assert_int_equal(s.hash_option, IDN_HASH_SUFFIX);
	assert_bytes_str(s.hash_filter, "x");
	assert_int_equal(s.nattrs, 1);
	assert_bytes_str(s.attrs[0].value, "test site");
	assert_int_equal(s.nservers, 2);
	assert_int_equal(s.servers[0].addr[12], 10);
	assert_bytes_str(s.servers[0].pubkey, "key1");
	assert_int_equal(s.servers[0].nifaces, 2);
	assert_int_equal(s.servers[0].ifaces[1].proto, IDN_PROTO_UDP);
	assert_int_equal(s.servers[1].addr[0], 0x20);
	assert_int_equal(s.servers[1].ifaces[0].port, 8443);
	assert_int_equal(s.servers[1].ifaces[0].type, IDN_IF_ADMIN);
	uint8_t again[256];
	idn_wr_t w;
	idn_wr_init(&w, again, sizeof(again));
	idn_hs_site_encode(&w, &s);
	assert_int_equal(w.len, n);
	assert_memory_equal(again, buf, n);

	for (size_t k = 0; k < n; k++) {
		uint8_t *c = exact_copy(buf, k);
		assert_int_not_equal(
			idn_hs_site_decode(idn_bytes(c, k), &a, &s), 0);
		free(c);
	}
	buf[n] = 0;
	assert_int_equal(idn_hs_site_decode(idn_bytes(buf, n + 1), &a, &s),
			 IDN_EMALFORMED);
	/* attribute count, server count, interface count: too many for the
	 * bytes, and over the limits */
	size_t attrs_at = 2 + 1 + 1 + 2 + 1 + 1 + 5;
	size_t servers_at = attrs_at + 4 + 8 + 13;
	size_t ifaces_at = servers_at + 4 + 4 + 16 + 8;
	assert_int_equal(idn_get_u32(buf + attrs_at), 1);
	assert_int_equal(idn_get_u32(buf + servers_at), 2);
	assert_int_equal(idn_get_u32(buf + ifaces_at), 2);
	size_t where[3] = {attrs_at, servers_at, ifaces_at};
	for (int i = 0; i < 3; i++) {
		uint8_t c[256];
		memcpy(c, buf, n);
		idn_put_u32(c + where[i], 50);
		assert_int_not_equal(
			idn_hs_site_decode(idn_bytes(c, n), &a, &s), 0);
		idn_put_u32(c + where[i], 0xffffffffu);
		assert_int_equal(idn_hs_site_decode(idn_bytes(c, n), &a, &s),
				 IDN_ETOOMANY);
	}
	idn_arena_free(&a);
}

static void test_hs_pubkey(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	size_t n;
	uint8_t *k = load_bin("keys/admpub.bin", &n);
	idn_hs_pubkey_t pk;
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(k, n), &pk), 0);
	assert_bytes_str(pk.type, "DSA_PUB_KEY");
	assert_int_equal(pk.flags, 0);
	assert_int_equal(pk.nparams, 4);
	assert_int_equal(pk.params[0].len, 21);
	assert_int_equal(pk.params[1].len, 129);
	assert_int_equal(pk.params[2].len, 129);
	assert_int_equal(pk.params[3].len, 129);
	uint8_t out[1024];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	idn_hs_pubkey_encode(&w, &pk);
	assert_int_equal(w.len, n);
	assert_memory_equal(out, k, n);
	/* every truncation fails except at a parameter boundary, which is a
	 * shorter key; the check then refuses the wrong parameter count */
	size_t bounds[5] = {4 + 11 + 2, 0, 0, 0, 0};
	for (int i = 0; i < 4; i++)
		bounds[i + 1] = bounds[i] + 4 + pk.params[i].len;
	assert_int_equal(bounds[4], n);
	for (size_t t = 0; t < n; t++) {
		uint8_t *c = exact_copy(k, t);
		bool boundary = false;
		for (int i = 0; i < 4; i++)
			boundary |= bounds[i] == t;
		idn_hs_pubkey_t p2;
		int err = idn_hs_pubkey_decode(idn_bytes(c, t), &p2);
		if (boundary) {
			assert_int_equal(err, 0);
			idn_value_t v = {300,
					 0,
					 0,
					 86400,
					 0xe,
					 S("HS_PUBKEY"),
					 idn_bytes(c, t),
					 0,
					 NULL};
			assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
		} else {
			assert_int_not_equal(err, 0);
		}
		free(c);
	}
	free(k);

	k = load_bin("keys/admpub_rsa.bin", &n);
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(k, n), &pk), 0);
	assert_bytes_str(pk.type, "RSA_PUB_KEY");
	assert_int_equal(pk.nparams, 3);
	assert_int_equal(pk.params[1].len, 257);
	free(k);

	/* too many parameters */
	idn_wr_init(&w, out, sizeof(out));
	idn_wr_str(&w, S("SM2_PUB_KEY"));
	idn_wr_u16(&w, 0);
	for (int i = 0; i < IDN_PUBKEY_PARAMS_MAX; i++)
		idn_wr_str(&w, S("p"));
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(out, w.len), &pk), 0);
	assert_int_equal(pk.nparams, IDN_PUBKEY_PARAMS_MAX);
	idn_wr_str(&w, S("p"));
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(out, w.len), &pk),
			 IDN_ETOOMANY);
	/* a parameter longer than the data */
	idn_wr_init(&w, out, sizeof(out));
	idn_wr_str(&w, S("SM2_PUB_KEY"));
	idn_wr_u16(&w, 0);
	idn_wr_u32(&w, 65);
	idn_wr_raw(&w, "\x04", 1);
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(out, w.len), &pk),
			 IDN_EMALFORMED);
	assert_int_equal(idn_hs_pubkey_decode(idn_bytes(NULL, 0), &pk),
			 IDN_EMALFORMED);
	idn_arena_free(&a);
}

static void test_value_check(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v = {1, 0,	 0, 86400, 0xe, S("URL"), S("http://x/"),
			 0, NULL};
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.type = S("");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.type = S("UR\nL");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.type = S("URL\x7f");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.type = S("UR\xc3");
	assert_int_equal(idn_value_check(&v, &a), IDN_EUTF8);
	v.type = S("\xe7\xbd\x91\xe5\x9d\x80"); /* non-ASCII type is fine */
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.type = S("URL");
	v.ttl_type = 2;
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.ttl_type = IDN_TTL_ABSOLUTE;
	v.perms = 0x10;
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.perms = 0xf;
	assert_int_equal(idn_value_check(&v, &a), 0);
	idn_ref_t ref = {S("20.500/\xff"), 1};
	v.nrefs = 1;
	v.refs = &ref;
	assert_int_equal(idn_value_check(&v, &a), IDN_EUTF8);
	ref.id = S("20.500/ok");
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.nrefs = 0;

	/* layouts of known types, in any case */
	v.type = S("HS_ADMIN");
	v.data = S("junk");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.type = S("hs_admin");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.data = idn_bytes(admin_value + 30, 21);
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.type = S("HS_VLIST");
	v.data = S("\0\0\0\x01");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.data = idn_bytes("\0\0\0\0", 4);
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.type = S("HS_SITE");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	v.type = S("HS_SITE.PREFIX");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	uint8_t site[256];
	size_t n = make_site(site, sizeof(site));
	v.data = idn_bytes(site, n);
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.type = S("HS_PUBKEY");
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	uint8_t key[64];
	idn_wr_t w;
	idn_wr_init(&w, key, sizeof(key));
	idn_wr_str(&w, S("RSA_PUB_KEY"));
	idn_wr_u16(&w, 0);
	idn_wr_str(&w, S("\x01\x00\x01"));
	v.data = idn_bytes(key, w.len);
	assert_int_equal(idn_value_check(&v, &a), IDN_EVALUE);
	idn_wr_str(&w, S("modulus"));
	v.data = idn_bytes(key, w.len);
	assert_int_equal(idn_value_check(&v, &a), 0);
	/* HS_SECKEY and unknown types are opaque */
	v.type = S("HS_SECKEY");
	v.data = S("secret");
	assert_int_equal(idn_value_check(&v, &a), 0);
	v.type = S("HS_ADMINX");
	assert_int_equal(idn_value_check(&v, &a), 0);
	idn_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_decode),
		cmocka_unit_test(test_value_refs),
		cmocka_unit_test(test_value_lengths),
		cmocka_unit_test(test_values_decode),
		cmocka_unit_test(test_type_matches),
		cmocka_unit_test(test_hs_admin),
		cmocka_unit_test(test_hs_vlist),
		cmocka_unit_test(test_hs_site),
		cmocka_unit_test(test_hs_pubkey),
		cmocka_unit_test(test_value_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
