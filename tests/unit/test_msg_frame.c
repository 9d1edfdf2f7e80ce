/* Tests of the Handle wire codec (msg.c) on broken input and on building
 * messages: envelope, message and body errors, message building, the named
 * header fields and requests (test_msg.c has the captured vectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "error.h"
#include "msg.h"
#include "value.h"
#include "vector_fixture.h"

/* ---- envelope and message errors ---- */

static void test_env_errors(void **state)
{
	(void)state;
	uint8_t e[IDN_ENV_LEN] = {2, 10, 0, 0};
	idn_env_t env;
	idn_put_u32(e + 16, IDN_MSG_MAX);
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), 0);
	assert_int_equal(env.msg_len, IDN_MSG_MAX);
	idn_put_u32(e + 16, IDN_MSG_MAX + 1);
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), IDN_ETOOLONG);
	idn_put_u32(e + 16, 100);
	assert_int_equal(idn_env_decode(e, 19, &env), IDN_EMALFORMED);
	assert_int_equal(idn_env_decode(e, 0, &env), IDN_EMALFORMED);
	e[0] = 1;
	idn_put_u32(e + 8, 0x01020304);
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), IDN_EVERSION);
	/* still filled in, so a server can answer */
	assert_int_equal(env.major, 1);
	assert_int_equal(env.request_id, 0x01020304);
	e[0] = 0;
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), IDN_EVERSION);
	/* 2.0 and newer versions are read as 2.x, as the reference does */
	e[0] = 5;
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), 0);
	e[0] = 2;
	e[1] = 0;
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), 0);
	e[1] = 12;
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), 0);
	e[1] = 1;
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), 0);
	e[1] = 11;
	assert_int_equal(idn_env_decode(e, sizeof(e), &env), 0);

	/* encode is the inverse */
	uint8_t out[IDN_ENV_LEN];
	idn_env_encode(out, &env);
	assert_memory_equal(out, e, IDN_ENV_LEN);
}

/* Builds a message with the given body and raw credential bytes. */
static size_t build_raw(uint8_t *buf, size_t cap, uint32_t rc, uint32_t flags,
			const void *body, uint32_t blen, const void *cred,
			uint32_t clen)
{
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_wr_u32(&w, 1);
	idn_wr_u32(&w, rc);
	idn_wr_u32(&w, flags);
	idn_wr_u16(&w, 1);
	idn_wr_u8(&w, 0);
	idn_wr_u8(&w, 0);
	idn_wr_u32(&w, 0);
	idn_wr_u32(&w, blen);
	idn_wr_raw(&w, body, blen);
	idn_wr_u32(&w, clen);
	idn_wr_raw(&w, cred, clen);
	assert_int_equal(w.err, 0);
	return w.len;
}

static void test_msg_errors(void **state)
{
	(void)state;
	uint8_t *big = calloc(1, IDN_MSG_MAX + 16);
	assert_non_null(big);
	idn_msg_t m;
	/* larger than the protocol allows, whatever it contains */
	assert_int_equal(idn_msg_decode(big, IDN_MSG_MAX + 1, &m),
			 IDN_ETOOLONG);
	/* body length over what is there */
	uint8_t buf[256];
	size_t n = build_raw(buf, sizeof(buf), 0, 0, "abcd", 4, NULL, 0);
	assert_int_equal(idn_msg_decode(buf, n, &m), 0);
	assert_int_equal(m.body.len, 4);
	idn_put_u32(buf + 20, 5);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	idn_put_u32(buf + 20, 0xffffffffu);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	idn_put_u32(buf + 20, 3); /* body shorter: credential length off */
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	/* credential length over what is there */
	n = build_raw(buf, sizeof(buf), 0, 0, "", 0, NULL, 0);
	idn_put_u32(buf + 24, 1);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	/* a credential with bytes left over, or cut short */
	uint8_t cred[64];
	idn_wr_t w;
	idn_wr_init(&w, cred, sizeof(cred));
	idn_wr_u8(&w, 0);
	idn_wr_u8(&w, 0);
	idn_wr_u16(&w, 0);
	idn_wr_str(&w, idn_bytes_str(""));
	idn_wr_u32(&w, 0);
	idn_wr_str(&w, idn_bytes_str("HS_SIGNED"));
	idn_wr_str(&w, idn_bytes_str("sig"));
	size_t cl = w.len;
	n = build_raw(buf, sizeof(buf), 0, 0, "", 0, cred, (uint32_t)cl);
	assert_int_equal(idn_msg_decode(buf, n, &m), 0);
	assert_true(m.has_cred);
	assert_bytes_str(m.cred.type, "HS_SIGNED");
	assert_bytes_str(m.cred.signed_data, "sig");
	cred[cl] = 0;
	n = build_raw(buf, sizeof(buf), 0, 0, "", 0, cred, (uint32_t)cl + 1);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	n = build_raw(buf, sizeof(buf), 0, 0, "", 0, cred, (uint32_t)cl - 1);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	/* a credential string longer than the credential */
	idn_put_u32(cred + 4, 1000);
	n = build_raw(buf, sizeof(buf), 0, 0, "", 0, cred, (uint32_t)cl);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);

	/* request digests */
	uint8_t body[40] = {IDN_DIGEST_SHA1};
	n = build_raw(buf, sizeof(buf), 1, IDN_OF_RETURN_DIGEST, body, 21, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), 0);
	assert_int_equal(m.digest_alg, IDN_DIGEST_SHA1);
	assert_int_equal(m.digest.len, 20);
	assert_int_equal(m.rest.len, 0);
	n = build_raw(buf, sizeof(buf), 1, IDN_OF_RETURN_DIGEST, body, 20, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	body[0] = IDN_DIGEST_MD5;
	n = build_raw(buf, sizeof(buf), 1, IDN_OF_RETURN_DIGEST, body, 21, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), 0);
	assert_int_equal(m.digest.len, 16);
	assert_int_equal(m.rest.len, 4);
	body[0] = IDN_DIGEST_SHA256;
	n = build_raw(buf, sizeof(buf), 1, IDN_OF_RETURN_DIGEST, body, 33, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), 0);
	assert_int_equal(m.digest.len, 32);
	body[0] = 9;
	n = build_raw(buf, sizeof(buf), 1, IDN_OF_RETURN_DIGEST, body, 33, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	n = build_raw(buf, sizeof(buf), 1, IDN_OF_RETURN_DIGEST, body, 0, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), IDN_EMALFORMED);
	/* a request (rc 0) with the flag has no digest */
	n = build_raw(buf, sizeof(buf), 0, IDN_OF_RETURN_DIGEST, body, 3, NULL,
		      0);
	assert_int_equal(idn_msg_decode(buf, n, &m), 0);
	assert_int_equal(m.digest_alg, 0);
	assert_int_equal(m.rest.len, 3);
	free(big);
}

/* Bodies with lengths and counts over what remains, or over the limits. */
static void test_body_errors(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t b[64];
	idn_wr_t w;
	idn_resolve_req_t rq;
	idn_values_body_t vb;
	idn_remove_req_t rm;
	idn_list_body_t lb;
	idn_bytes_t id;

	/* identifier longer than the body */
	idn_wr_init(&w, b, sizeof(b));
	idn_wr_u32(&w, 100);
	idn_wr_raw(&w, "abc", 3);
	assert_int_equal(idn_id_body_decode(idn_bytes(b, w.len), &id),
			 IDN_EMALFORMED);
	/* identifier over IDN_IDENT_MAX */
	idn_put_u32(b, IDN_IDENT_MAX + 1);
	assert_int_equal(idn_id_body_decode(idn_bytes(b, w.len), &id),
			 IDN_ETOOLONG);
	assert_int_equal(idn_id_body_decode(idn_bytes(b, 0), &id),
			 IDN_EMALFORMED);
	assert_int_equal(idn_id_body_decode(idn_bytes(NULL, 0), &id),
			 IDN_EMALFORMED);

	/* index count larger than the bytes left: fails before allocating */
	idn_wr_init(&w, b, sizeof(b));
	idn_wr_str(&w, idn_bytes_str("1/a"));
	idn_wr_u32(&w, 3);
	idn_wr_u32(&w, 1);
	idn_wr_u32(&w, 2);
	assert_int_equal(idn_remove_req_decode(idn_bytes(b, w.len), &a, &rm),
			 IDN_EMALFORMED);
	idn_put_u32(b + 7, 2);
	assert_int_equal(idn_remove_req_decode(idn_bytes(b, w.len), &a, &rm),
			 0);
	assert_int_equal(rm.nindexes, 2);
	assert_int_equal(rm.indexes[1], 2);
	idn_put_u32(b + 7, 0xffffffffu);
	assert_int_equal(idn_remove_req_decode(idn_bytes(b, w.len), &a, &rm),
			 IDN_ETOOMANY);
	/* resolution: type count over the limit, and over the bytes */
	idn_wr_init(&w, b, sizeof(b));
	idn_wr_str(&w, idn_bytes_str("1/a"));
	idn_wr_u32(&w, 0);
	idn_wr_u32(&w, IDN_VALUES_MAX + 1);
	assert_int_equal(idn_resolve_req_decode(idn_bytes(b, w.len), &a, &rq),
			 IDN_ETOOMANY);
	idn_put_u32(b + 11, 1);
	assert_int_equal(idn_resolve_req_decode(idn_bytes(b, w.len), &a, &rq),
			 IDN_EMALFORMED);
	idn_wr_str(&w, idn_bytes_str("URL"));
	assert_int_equal(idn_resolve_req_decode(idn_bytes(b, w.len), &a, &rq),
			 0);
	assert_int_equal(rq.ntypes, 1);
	assert_bytes_str(rq.types[0], "URL");
	/* values: a count that cannot fit */
	idn_wr_init(&w, b, sizeof(b));
	idn_wr_str(&w, idn_bytes_str("1/a"));
	idn_wr_u32(&w, 2);
	static const uint8_t zeros[30];
	idn_wr_raw(&w, zeros, sizeof(zeros));
	assert_int_equal(idn_values_body_decode(idn_bytes(b, w.len), &a, &vb),
			 IDN_EMALFORMED);
	idn_put_u32(b + 7, 0x7fffffff);
	assert_int_equal(idn_values_body_decode(idn_bytes(b, w.len), &a, &vb),
			 IDN_ETOOMANY);
	/* list: huge count, zero count, a good one */
	idn_wr_init(&w, b, sizeof(b));
	idn_wr_u32(&w, 0x40000000);
	idn_wr_str(&w, idn_bytes_str("1/a"));
	assert_int_equal(idn_list_body_decode(idn_bytes(b, w.len), &a, &lb),
			 IDN_EMALFORMED);
	idn_put_u32(b, 1);
	assert_int_equal(idn_list_body_decode(idn_bytes(b, w.len), &a, &lb), 0);
	assert_int_equal(lb.n, 1);
	assert_bytes_str(lb.ids[0], "1/a");
	idn_put_u32(b, 0);
	assert_int_equal(idn_list_body_decode(idn_bytes(b, 4), &a, &lb), 0);
	assert_int_equal(lb.n, 0);
	assert_null(lb.ids);
	/* list round trip */
	idn_bytes_t ids[2] = {idn_bytes_str("20.500/a"),
			      idn_bytes_str("20.500/b")};
	idn_list_body_t in = {2, ids};
	idn_wr_init(&w, b, sizeof(b));
	idn_list_body_encode(&w, &in);
	assert_int_equal(idn_list_body_decode(idn_bytes(b, w.len), &a, &lb), 0);
	assert_int_equal(lb.n, 2);
	assert_bytes_str(lb.ids[1], "20.500/b");
	/* signature and challenge answer with bad lengths */
	idn_bytes_t h, s;
	idn_wr_init(&w, b, sizeof(b));
	idn_sig_encode(&w, idn_bytes_str("SHA256"), idn_bytes_str("xy"));
	assert_int_equal(idn_sig_decode(idn_bytes(b, w.len), &h, &s), 0);
	assert_bytes_str(h, "SHA256");
	idn_put_u32(b + 10, 3);
	assert_int_equal(idn_sig_decode(idn_bytes(b, w.len), &h, &s),
			 IDN_EMALFORMED);
	idn_put_u32(b, IDN_TYPE_MAX + 1);
	assert_int_equal(idn_sig_decode(idn_bytes(b, w.len), &h, &s),
			 IDN_ETOOLONG);
	/* session request whose key runs past the end */
	idn_session_req_t sr = {4,
				60,
				idn_bytes_str("0.NA/1"),
				300,
				idn_bytes_str("key"),
				idn_bytes(NULL, 0)};
	idn_wr_init(&w, b, sizeof(b));
	idn_session_req_encode(&w, &sr);
	idn_session_req_t sr2;
	assert_int_equal(idn_session_req_decode(idn_bytes(b, w.len), &sr2), 0);
	assert_int_equal(sr2.tail.len, 0);
	assert_bytes_str(sr2.key, "key");
	idn_put_u32(b + w.len - 7, 4);
	assert_int_equal(idn_session_req_decode(idn_bytes(b, w.len), &sr2),
			 IDN_EMALFORMED);
	idn_session_resp_t sp;
	assert_int_equal(idn_session_resp_decode(idn_bytes(b, 1), &sp),
			 IDN_EMALFORMED);
	idn_arena_free(&a);
}

/* The writer's sticky overflow error reaches idn_msg_finish. */
static void test_msg_build(void **state)
{
	(void)state;
	idn_env_t env = {2, 10, 0, 0, 7, 0x11223344, 0, 0};
	idn_hdr_t h = {IDN_OC_RESOLUTION, 0, IDN_OF_RECURSE, 0xffff, 0, 0,
		       1795388659u};
	uint8_t buf[128];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_msg_mark_t mk = idn_msg_start(&w, &env, &h);
	assert_int_equal(mk.env, 0);
	assert_int_equal(mk.hdr, IDN_ENV_LEN);
	idn_id_body_encode(&w, idn_bytes_str("20.500/x"));
	idn_cred_t c = {0,
			0,
			0,
			idn_bytes_str("0.NA/20.500"),
			300,
			idn_bytes_str("HS_SIGNED"),
			idn_bytes_str("s")};
	idn_msg_finish(&w, mk, &c);
	assert_int_equal(w.err, 0);
	idn_env_t e2;
	idn_msg_t m;
	assert_int_equal(decode_full(buf, w.len, &e2, &m), 0);
	assert_int_equal(e2.session_id, 7);
	assert_int_equal(e2.request_id, 0x11223344);
	assert_int_equal(e2.msg_len, w.len - IDN_ENV_LEN);
	assert_int_equal(m.hdr.expiry, 1795388659u);
	assert_int_equal(m.hdr.serial, 0xffff);
	assert_true(m.has_cred);
	assert_bytes_str(m.cred.signer, "0.NA/20.500");
	assert_int_equal(m.cred.signer_index, 300);
	idn_bytes_t id;
	assert_int_equal(idn_id_body_decode(m.body, &id), 0);
	assert_bytes_str(id, "20.500/x");

	/* overflow: sticky, reported once at the end */
	idn_wr_init(&w, buf, 50);
	mk = idn_msg_start(&w, &env, &h);
	idn_id_body_encode(&w, idn_bytes_str("20.500/a-much-longer-one"));
	idn_msg_finish(&w, mk, NULL);
	assert_int_equal(w.err, IDN_ETOOLONG);
}

/* The named field accessors read what the encoder wrote, and what they
 * patch decodes back. */
static void test_field_accessors(void **state)
{
	(void)state;
	idn_env_t env = {2, 10, 0, 0, 0xa1b2c3d4u, 0x11223344, 5, 0};
	idn_hdr_t h = {IDN_OC_RESOLUTION,
		       IDN_RC_NOT_FOUND,
		       IDN_OF_RECURSE | IDN_OF_CERT,
		       0xffff,
		       0,
		       0,
		       1795388659u};
	uint8_t buf[128];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_msg_mark_t mk = idn_msg_start(&w, &env, &h);
	idn_id_body_encode(&w, idn_bytes_str("20.500/x"));
	idn_msg_finish(&w, mk, NULL);
	assert_int_equal(w.err, 0);
	uint8_t *e = buf + mk.env, *hd = buf + mk.hdr;
	assert_int_equal(idn_env_session(e), 0xa1b2c3d4u);
	assert_int_equal(idn_env_request_id(e), 0x11223344);
	assert_int_equal(idn_env_msg_len(e), w.len - IDN_ENV_LEN);
	assert_int_equal(idn_hdr_op(hd), IDN_OC_RESOLUTION);
	assert_int_equal(idn_hdr_rc(hd), IDN_RC_NOT_FOUND);
	assert_int_equal(idn_hdr_flags(hd), IDN_OF_RECURSE | IDN_OF_CERT);
	assert_int_equal(idn_hdr_body_len(hd), 4 + 8);

	idn_env_set_session(e, 9);
	idn_env_set_request_id(e, 77);
	idn_hdr_set_flags(hd, idn_hdr_flags(hd) | IDN_OF_CONTINUOUS);
	idn_env_t e2;
	idn_msg_t m;
	assert_int_equal(decode_full(buf, w.len, &e2, &m), 0);
	assert_int_equal(e2.session_id, 9);
	assert_int_equal(e2.request_id, 77);
	assert_int_equal(e2.seq, 5);
	assert_int_equal(m.hdr.flags,
			 IDN_OF_RECURSE | IDN_OF_CERT | IDN_OF_CONTINUOUS);
	assert_int_equal(m.hdr.rc, IDN_RC_NOT_FOUND);
	assert_int_equal(m.hdr.expiry, 1795388659u);

	/* a shorter body and message length that agree still decode */
	idn_hdr_set_body_len(hd, 0);
	idn_put_u32(hd + IDN_HDR_LEN, 0); /* credential length */
	idn_env_set_msg_len(e, IDN_HDR_LEN + 4);
	assert_int_equal(
		decode_full(buf, IDN_ENV_LEN + IDN_HDR_LEN + 4, &e2, &m), 0);
	assert_int_equal(m.body.len, 0);
	assert_int_equal(e2.msg_len, IDN_HDR_LEN + 4);
}

/* idn_msg_request: header fields, the body as given, no credential. */
static void test_msg_request(void **state)
{
	(void)state;
	uint8_t body[64], buf[128];
	idn_wr_t b;
	idn_wr_init(&b, body, sizeof(body));
	idn_id_body_encode(&b, idn_bytes_str("20.500/req"));
	assert_int_equal(b.err, 0);
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	time_t before = time(NULL);
	idn_msg_request(&w, IDN_OC_DELETE, IDN_OF_PUBLIC_ONLY, 3600, b.buf,
			b.len);
	time_t after = time(NULL);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, IDN_HDR_LEN + b.len + 4);
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(buf, w.len, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_DELETE);
	assert_int_equal(m.hdr.flags, IDN_OF_PUBLIC_ONLY);
	assert_int_equal(m.hdr.serial, 0xffff);
	assert_in_range(m.hdr.expiry, (uint32_t)before + 3600,
			(uint32_t)after + 3600);
	assert_false(m.has_cred);
	idn_bytes_t id;
	assert_int_equal(idn_id_body_decode(m.body, &id), 0);
	assert_bytes_str(id, "20.500/req");

	/* too small a buffer: the sticky error */
	idn_wr_init(&w, buf, IDN_HDR_LEN + 2);
	idn_msg_request(&w, IDN_OC_DELETE, 0, 3600, b.buf, b.len);
	assert_int_equal(w.err, IDN_ETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_errors),
		cmocka_unit_test(test_msg_errors),
		cmocka_unit_test(test_body_errors),
		cmocka_unit_test(test_msg_build),
		cmocka_unit_test(test_field_accessors),
		cmocka_unit_test(test_msg_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
