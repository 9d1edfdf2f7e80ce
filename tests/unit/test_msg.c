/* Tests of the Handle wire codec (msg.c) against the CNRI HANDLE.NET 7.3.1
 * vectors in tests/vectors (set IDN_VECTORS to run from elsewhere). */
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

/* ---- the vectors ---- */

enum kind {
	K_RESOLVE_REQ,
	K_VALUES,
	K_ERROR,
	K_ID,
	K_REMOVE,
	K_CHALLENGE,
	K_ANSWER,
	K_EMPTY,
	K_SITE,
	K_SESSION_REQ,
	K_SESSION_RESP,
	K_ENCRYPTED, /* a session message under its key: the envelope only */
};

struct vector {
	const char *name; /* file, or base name for UDP datagrams */
	int nfrags;	  /* 0: one file; else name.udp0.hex ... */
	bool http;	  /* HTTP request/response: headers then message */
	uint32_t op, rc;
	enum kind kind;
	uint8_t minor; /* envelope's; 0: 5 (3 for GET_SITE_INFO) */
};

static const struct vector vectors[] = {
	{"resolve-request.hex", 0, false, 1, 0, K_RESOLVE_REQ},
	{"resolve-response.hex", 0, false, 1, 1, K_VALUES},
	{"notfound-request.hex", 0, false, 1, 0, K_RESOLVE_REQ},
	{"notfound-response.hex", 0, false, 1, 100, K_ERROR},
	{"prefix-resolve-request.hex", 0, false, 1, 0, K_RESOLVE_REQ},
	{"prefix-resolve-response", 4, false, 1, 1, K_VALUES},
	{"tcp-resolve-request.hex", 0, false, 1, 0, K_RESOLVE_REQ},
	{"tcp-resolve-response.hex", 0, false, 1, 1, K_VALUES},
	{"tcp-notfound-request.hex", 0, false, 1, 0, K_RESOLVE_REQ},
	{"tcp-notfound-response.hex", 0, false, 1, 100, K_ERROR},
	{"tcp-prefix-resolve-response.hex", 0, false, 1, 1, K_VALUES},
	{"http-resolve-request.hex", 0, true, 1, 0, K_RESOLVE_REQ},
	{"http-resolve-response.hex", 0, true, 1, 1, K_VALUES},
	{"http-prefix-resolve-request.hex", 0, true, 1, 0, K_RESOLVE_REQ},
	{"http-prefix-resolve-response.hex", 0, true, 1, 1, K_VALUES},
	{"http-notfound-request.hex", 0, true, 1, 0, K_RESOLVE_REQ},
	{"http-notfound-response.hex", 0, true, 1, 100, K_ERROR},
	{"certified-resolve-request.hex", 0, false, 1, 0, K_RESOLVE_REQ},
	{"certified-resolve-response", 2, false, 1, 1, K_VALUES},
	{"get-site-info-request.hex", 0, false, 2, 0, K_ID},
	{"get-site-info-response.hex", 0, false, 2, 1, K_SITE},
	{"delete-request.hex", 0, false, 101, 0, K_ID},
	{"delete-challenge.hex", 0, false, 101, 402, K_CHALLENGE},
	{"delete-challenge-answer-dsa.hex", 0, false, 200, 0, K_ANSWER},
	{"delete-response.hex", 0, false, 101, 1, K_EMPTY},
	{"remove-value-request.hex", 0, false, 103, 0, K_REMOVE},
	{"remove-value-challenge.hex", 0, false, 103, 402, K_CHALLENGE},
	{"remove-value-challenge-answer-dsa.hex", 0, false, 200, 0, K_ANSWER},
	{"remove-value-response.hex", 0, false, 103, 1, K_EMPTY},
	{"create-request.hex", 0, false, 100, 0, K_VALUES},
	{"auth-challenge.hex", 0, false, 100, 402, K_CHALLENGE},
	{"create-challenge-answer-rsa.hex", 0, false, 200, 0, K_ANSWER},
	{"create-response.hex", 0, false, 100, 1, K_EMPTY},
	{"add-value-request.hex", 0, false, 102, 0, K_VALUES},
	{"add-value-challenge.hex", 0, false, 102, 402, K_CHALLENGE},
	{"add-value-challenge-answer-dsa.hex", 0, false, 200, 0, K_ANSWER},
	{"add-value-response.hex", 0, false, 102, 1, K_EMPTY},
	{"create-existing-request.hex", 0, false, 100, 0, K_VALUES},
	{"create-existing-challenge.hex", 0, false, 100, 402, K_CHALLENGE},
	{"create-existing-challenge-answer-dsa.hex", 0, false, 200, 0,
	 K_ANSWER},
	{"error-handle-already-exists-response.hex", 0, false, 100, 101,
	 K_ERROR},
	{"session-setup-request.hex", 0, false, 400, 0, K_SESSION_REQ},
	{"session-setup-response.hex", 0, false, 400, 1, K_SESSION_RESP},
	{"session-home-na-request.hex", 0, false, 300, 0, K_ID},
	{"session-home-na-challenge.hex", 0, false, 300, 402, K_CHALLENGE},
	{"session-home-na-challenge-answer-dsa.hex", 0, false, 200, 0,
	 K_ANSWER},
	{"session-home-na-response.hex", 0, false, 300, 1, K_EMPTY},
	{"session-create-request.hex", 0, false, 100, 0, K_VALUES},
	{"session-create-response.hex", 0, false, 100, 1, K_EMPTY},
	/* global resolution and multi-datagram UDP */
	{"big-resolve-request.hex", 0, false, 1, 0, K_RESOLVE_REQ, 3},
	{"big-resolve-response", 11, false, 1, 1, K_VALUES, 3},
	{"global-notresp-request.hex", 0, false, 1, 0, K_RESOLVE_REQ, 10},
	{"global-notresp-response.hex", 0, false, 1, 301, K_ERROR},
	{"global-prefix-serv-response.hex", 0, false, 1, 1, K_VALUES},
	{"global-service-handle-response.hex", 0, false, 1, 1, K_VALUES},
	{"global-prefix-siteprefix-response.hex", 0, false, 1, 1, K_VALUES},
	{"multi-request", 2, false, 1, 0, K_RESOLVE_REQ, 3},
	{"multi-request-response.hex", 0, false, 1, 200, K_ERROR, 3},
	{"session-setup-dh-request.hex", 0, false, 400, 0, K_SESSION_REQ},
	{"session-setup-dh-response.hex", 0, false, 400, 1, K_SESSION_RESP},
	{"session-create-mac-request.hex", 0, false, 100, 0, K_VALUES},
	{"session-create-challenge.hex", 0, false, 100, 402, K_CHALLENGE},
	{"session-create-challenge-answer-dsa.hex", 0, false, 200, 0, K_ANSWER},
	{"session-create-mac-response.hex", 0, false, 100, 1, K_EMPTY},
	{"session-add-mac-request.hex", 0, false, 102, 0, K_VALUES},
	{"session-add-response.hex", 0, false, 102, 1, K_EMPTY},
	{"session-delete-mac-request.hex", 0, false, 101, 0, K_ID},
	{"session-delete-response.hex", 0, false, 101, 1, K_EMPTY},
	{"session-enc-setup-dh-request.hex", 0, false, 400, 0, K_SESSION_REQ},
	{"session-enc-setup-dh-response.hex", 0, false, 400, 1, K_SESSION_RESP},
	{"session-enc-create-mac-request.hex", 0, false, 100, 0, K_ENCRYPTED},
	{"session-enc-create-challenge.hex", 0, false, 100, 402, K_ENCRYPTED},
	{"session-enc-add-mac-request.hex", 0, false, 102, 0, K_ENCRYPTED},
	{"session-enc-add-response.hex", 0, false, 102, 1, K_ENCRYPTED},
};
#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* A vector as one envelope + message: UDP datagrams are reassembled (the
 * envelope is the first datagram's: seq 0 and the total length), HTTP
 * headers are split off at the blank line. */
typedef struct {
	uint8_t *buf;
	size_t len;
	size_t http_off; /* bytes of HTTP headers skipped */
} loaded_t;

static void load_vector(const struct vector *v, loaded_t *out)
{
	memset(out, 0, sizeof(*out));
	if (v->nfrags == 0) {
		uint8_t *raw = load_hex(v->name, &out->len);
		out->buf = raw;
		if (v->http) {
			const char *sep = "\r\n\r\n";
			size_t i = 0;
			while (i + 4 <= out->len && memcmp(raw + i, sep, 4))
				i++;
			assert_true(i + 4 <= out->len);
			out->http_off = i + 4;
			memmove(raw, raw + i + 4, out->len - i - 4);
			out->len -= i + 4;
		}
		return;
	}
	uint8_t *msg = malloc(IDN_MSG_MAX);
	assert_non_null(msg);
	idn_reasm_t r;
	idn_reasm_init(&r, msg);
	uint8_t first_env[IDN_ENV_LEN];
	int rc = -1;
	for (int i = 0; i < v->nfrags; i++) {
		char name[256];
		size_t n;
		snprintf(name, sizeof(name), "%s.udp%d.hex", v->name, i);
		uint8_t *d = load_hex(name, &n);
		assert_true(n <= IDN_UDP_DGRAM_MAX);
		if (i == 0)
			memcpy(first_env, d, IDN_ENV_LEN);
		rc = idn_reasm_add(&r, d, n);
		assert_int_equal(rc, i == v->nfrags - 1 ? 1 : 0);
		free(d);
	}
	assert_int_equal(r.got, v->nfrags);
	out->len = IDN_ENV_LEN + r.env.msg_len;
	out->buf = malloc(out->len);
	assert_non_null(out->buf);
	memcpy(out->buf, first_env, IDN_ENV_LEN);
	memcpy(out->buf + IDN_ENV_LEN, msg, r.env.msg_len);
	free(msg);
}

/* Decodes the body of a message (after any request digest) with the
 * decoder of its kind and writes it back with the matching encoder.
 * *tail_len gets the bytes kept verbatim (which truncation may shorten
 * without an error). */
static int body_roundtrip(enum kind k, idn_bytes_t b, idn_arena_t *a,
			  idn_wr_t *w, size_t *tail_len)
{
	int err = 0;
	*tail_len = 0;
	switch (k) {
	case K_RESOLVE_REQ: {
		idn_resolve_req_t x;
		if (!(err = idn_resolve_req_decode(b, a, &x)))
			idn_resolve_req_encode(w, &x);
		break;
	}
	case K_VALUES: {
		idn_values_body_t x;
		if (!(err = idn_values_body_decode(b, a, &x)))
			idn_values_body_encode(w, &x);
		break;
	}
	case K_ERROR: {
		idn_bytes_t x;
		if (!(err = idn_error_body_decode(b, &x)))
			idn_error_body_encode(w, x);
		break;
	}
	case K_ID: {
		idn_bytes_t x;
		if (!(err = idn_id_body_decode(b, &x)))
			idn_id_body_encode(w, x);
		break;
	}
	case K_REMOVE: {
		idn_remove_req_t x;
		if (!(err = idn_remove_req_decode(b, a, &x)))
			idn_remove_req_encode(w, &x);
		break;
	}
	case K_CHALLENGE: {
		idn_bytes_t x;
		if (!(err = idn_challenge_decode(b, &x)))
			idn_challenge_encode(w, x);
		break;
	}
	case K_ANSWER: {
		idn_challenge_answer_t x;
		if (!(err = idn_challenge_answer_decode(b, &x)))
			idn_challenge_answer_encode(w, &x);
		break;
	}
	case K_EMPTY:
		err = b.len == 0 ? 0 : IDN_EMALFORMED;
		break;
	case K_SITE: {
		idn_hs_site_t x;
		if (!(err = idn_hs_site_decode(b, a, &x)))
			idn_hs_site_encode(w, &x);
		break;
	}
	case K_SESSION_REQ: {
		idn_session_req_t x;
		if (!(err = idn_session_req_decode(b, &x))) {
			idn_session_req_encode(w, &x);
			*tail_len = x.tail.len;
		}
		break;
	}
	case K_SESSION_RESP: {
		idn_session_resp_t x;
		if (!(err = idn_session_resp_decode(b, &x))) {
			idn_session_resp_encode(w, &x);
			*tail_len = x.tail.len;
		}
		break;
	}
	case K_ENCRYPTED:
		break;
	}
	return err;
}

/* Every vector decodes (envelope, header, typed body, credential) and
 * re-encodes from the decoded structures byte for byte. */
static void test_vectors_roundtrip(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t *out = malloc(IDN_MSG_MAX + IDN_ENV_LEN);
	assert_non_null(out);
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vector *v = &vectors[i];
		loaded_t x;
		load_vector(v, &x);
		idn_env_t env;
		idn_msg_t m;
		if (v->kind == K_ENCRYPTED) {
			/* test_hsession opens these */
			assert_int_equal(idn_env_decode(x.buf, x.len, &env), 0);
			assert_true(env.flags & IDN_EF_ENCRYPTED);
			assert_int_equal(env.msg_len, x.len - IDN_ENV_LEN);
			free(x.buf);
			continue;
		}
		int err = decode_full(x.buf, x.len, &env, &m);
		if (err)
			print_error("%s: %s\n", v->name, idn_strerror(err));
		assert_int_equal(err, 0);
		assert_int_equal(env.major, 2);
		assert_int_equal(env.minor, v->minor ? v->minor
					    : v->op == IDN_OC_GET_SITE_INFO
						    ? 3
						    : 5);
		assert_int_equal(m.hdr.op, v->op);
		assert_int_equal(m.hdr.rc, v->rc);
		assert_int_equal(m.hdr.serial, v->rc == 0 ? 0xffff : 1);
		if (v->rc == 0)
			assert_int_equal(m.digest_alg, 0);

		idn_wr_t w;
		idn_wr_init(&w, out, IDN_MSG_MAX + IDN_ENV_LEN);
		idn_msg_mark_t mk = idn_msg_start(&w, &env, &m.hdr);
		if (m.digest_alg)
			idn_digest_encode(&w, m.digest_alg, m.digest);
		size_t tail;
		err = body_roundtrip(v->kind, m.rest, &a, &w, &tail);
		if (err)
			print_error("%s body: %s\n", v->name,
				    idn_strerror(err));
		assert_int_equal(err, 0);
		idn_msg_finish(&w, mk, m.has_cred ? &m.cred : NULL);
		assert_int_equal(w.err, 0);
		assert_int_equal(w.len, x.len);
		if (memcmp(out, x.buf, x.len) != 0)
			print_error("%s: re-encoding differs\n", v->name);
		assert_memory_equal(out, x.buf, x.len);

		/* the same with no envelope */
		idn_wr_init(&w, out, IDN_MSG_MAX);
		mk = idn_msg_start(&w, NULL, &m.hdr);
		assert_int_equal(mk.env, SIZE_MAX);
		if (m.digest_alg)
			idn_digest_encode(&w, m.digest_alg, m.digest);
		assert_int_equal(body_roundtrip(v->kind, m.rest, &a, &w, &tail),
				 0);
		idn_msg_finish(&w, mk, m.has_cred ? &m.cred : NULL);
		assert_int_equal(w.len, x.len - IDN_ENV_LEN);
		assert_memory_equal(out, x.buf + IDN_ENV_LEN, w.len);
		free(x.buf);
		idn_arena_reset(&a);
	}
	free(out);
	idn_arena_free(&a);
}

/* Every .hex file in the vector directory is covered by the table. */
static void test_vectors_all_listed(void **state)
{
	(void)state;
	DIR *d = opendir(vec_dir());
	assert_non_null(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 4, ".hex") != 0)
			continue;
		files++;
		bool found = false;
		for (size_t i = 0; i < NVECTORS && !found; i++) {
			const struct vector *v = &vectors[i];
			size_t bl = strlen(v->name);
			if (v->nfrags == 0)
				found = strcmp(v->name, e->d_name) == 0;
			else
				found = strncmp(v->name, e->d_name, bl) == 0 &&
					strncmp(e->d_name + bl, ".udp", 4) == 0;
		}
		if (!found)
			print_error("vector %s not in the table\n", e->d_name);
		assert_true(found);
	}
	closedir(d);
	assert_int_equal(files, 89);
}

/* Every truncation of every vector fails cleanly: as a whole message, and
 * (before any verbatim tail) as a body for its typed decoder. */
static void test_vectors_truncated(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t *scratch = malloc(IDN_MSG_MAX);
	assert_non_null(scratch);
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vector *v = &vectors[i];
		if (v->kind == K_ENCRYPTED)
			continue; /* no plain body to cut */
		loaded_t x;
		load_vector(v, &x);
		for (size_t k = 0; k < x.len; k++) {
			uint8_t *c = exact_copy(x.buf, k);
			idn_env_t env;
			idn_msg_t m;
			assert_int_not_equal(decode_full(c, k, &env, &m), 0);
			/* also without the envelope's length check */
			if (k >= IDN_ENV_LEN)
				assert_int_not_equal(
					idn_msg_decode(c + IDN_ENV_LEN,
						       k - IDN_ENV_LEN, &m),
					0);
			free(c);
		}
		idn_env_t env;
		idn_msg_t m;
		assert_int_equal(decode_full(x.buf, x.len, &env, &m), 0);
		idn_wr_t w;
		idn_wr_init(&w, scratch, IDN_MSG_MAX);
		size_t tail;
		assert_int_equal(body_roundtrip(v->kind, m.rest, &a, &w, &tail),
				 0);
		size_t keep = tail, t2;
		for (size_t k = 0; k + keep < m.rest.len; k++) {
			uint8_t *c = exact_copy(m.rest.p, k);
			idn_wr_init(&w, scratch, IDN_MSG_MAX);
			int err = body_roundtrip(v->kind, idn_bytes(c, k), &a,
						 &w, &t2);
			if (err == 0)
				print_error("%s: body truncated to %zu "
					    "decodes\n",
					    v->name, k);
			assert_int_not_equal(err, 0);
			free(c);
			idn_arena_reset(&a);
		}
		free(x.buf);
	}
	free(scratch);
	idn_arena_free(&a);
}

/* Trailing garbage after any body, and after the credential, is refused. */
static void test_vectors_trailing(void **state)
{
	(void)state;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t *scratch = malloc(IDN_MSG_MAX);
	assert_non_null(scratch);
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vector *v = &vectors[i];
		if (v->kind == K_SESSION_REQ || v->kind == K_SESSION_RESP ||
		    v->kind == K_ENCRYPTED)
			continue; /* these keep trailing bytes as the tail */
		loaded_t x;
		load_vector(v, &x);
		idn_env_t env;
		idn_msg_t m;
		assert_int_equal(decode_full(x.buf, x.len, &env, &m), 0);
		uint8_t *c = exact_copy(m.rest.p, m.rest.len + 1);
		memcpy(c, m.rest.p, m.rest.len);
		c[m.rest.len] = 0;
		idn_wr_t w;
		idn_wr_init(&w, scratch, IDN_MSG_MAX);
		size_t tail;
		assert_int_equal(body_roundtrip(v->kind,
						idn_bytes(c, m.rest.len + 1),
						&a, &w, &tail),
				 IDN_EMALFORMED);
		free(c);

		/* one extra byte after the message */
		size_t ml = x.len - IDN_ENV_LEN;
		c = malloc(ml + 1);
		assert_non_null(c);
		memcpy(c, x.buf + IDN_ENV_LEN, ml);
		c[ml] = 0;
		assert_int_equal(idn_msg_decode(c, ml + 1, &m), IDN_EMALFORMED);
		free(c);
		free(x.buf);
		idn_arena_reset(&a);
	}
	free(scratch);
	idn_arena_free(&a);
}

/* ---- specific vectors ---- */

static void load_msg(const char *name, loaded_t *x, idn_env_t *env,
		     idn_msg_t *m)
{
	struct vector v = {name, 0, false, 0, 0, K_EMPTY};
	load_vector(&v, x);
	assert_int_equal(decode_full(x->buf, x->len, env, m), 0);
}

static void test_resolve(void **state)
{
	(void)state;
	loaded_t x;
	idn_env_t env;
	idn_msg_t m;
	load_msg("resolve-request.hex", &x, &env, &m);
	assert_int_equal(env.request_id, 0x72b25204);
	assert_int_equal(env.session_id, 0);
	assert_int_equal(env.seq, 0);
	assert_int_equal(env.msg_len, 52);
	assert_int_equal(m.hdr.flags, IDN_OF_RECURSE | IDN_OF_CACHE_CERT |
					      IDN_OF_PUBLIC_ONLY);
	assert_int_equal(m.hdr.expiry, 1795388659u);
	assert_false(m.has_cred);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_resolve_req_t rq;
	assert_int_equal(idn_resolve_req_decode(m.body, &a, &rq), 0);
	assert_bytes_str(rq.id, "20.500/test1");
	assert_int_equal(rq.nindexes, 0);
	assert_int_equal(rq.ntypes, 0);
	free(x.buf);

	load_msg("resolve-response.hex", &x, &env, &m);
	assert_int_equal(env.request_id, 0x72b25204);
	assert_int_equal(m.hdr.flags, IDN_OF_AUTH | IDN_OF_RECURSE |
					      IDN_OF_CACHE_CERT |
					      IDN_OF_PUBLIC_ONLY);
	assert_int_equal(m.digest_alg, 0);
	idn_values_body_t vb;
	assert_int_equal(idn_values_body_decode(m.rest, &a, &vb), 0);
	assert_bytes_str(vb.id, "20.500/test1");
	assert_int_equal(vb.nvalues, 3);
	const idn_value_t *v = &vb.values[0];
	assert_int_equal(v->index, 100);
	assert_bytes_str(v->type, "HS_ADMIN");
	assert_int_equal(v->timestamp, 0x6b02cc15);
	assert_int_equal(v->ttl_type, IDN_TTL_RELATIVE);
	assert_int_equal(v->ttl, 86400);
	assert_int_equal(v->perms, IDN_PERM_DEFAULT);
	assert_int_equal(v->nrefs, 0);
	idn_hs_admin_t adm;
	assert_int_equal(idn_hs_admin_decode(v->data, &adm), 0);
	assert_int_equal(adm.perms, 0x0fff);
	assert_bytes_str(adm.admin, "0.NA/20.500");
	assert_int_equal(adm.index, 300);
	assert_int_equal(vb.values[1].index, 1);
	assert_bytes_str(vb.values[1].type, "URL");
	assert_bytes_str(vb.values[1].data, "http://example.org/test1");
	assert_int_equal(vb.values[2].index, 2);
	assert_bytes_str(vb.values[2].type, "EMAIL");
	assert_bytes_str(vb.values[2].data, "test1@example.org");
	for (uint32_t i = 0; i < vb.nvalues; i++)
		assert_int_equal(idn_value_check(&vb.values[i], &a), 0);
	free(x.buf);

	load_msg("notfound-response.hex", &x, &env, &m);
	idn_bytes_t text;
	assert_int_equal(idn_error_body_decode(m.body, &text), 0);
	assert_int_equal(text.len, 0);
	free(x.buf);
	idn_arena_free(&a);
}

static void test_prefix_resolve(void **state)
{
	(void)state;
	loaded_t x;
	idn_env_t env;
	idn_msg_t m;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	load_msg("prefix-resolve-request.hex", &x, &env, &m);
	assert_int_equal(m.hdr.rcount, 1);
	idn_resolve_req_t rq;
	assert_int_equal(idn_resolve_req_decode(m.body, &a, &rq), 0);
	assert_bytes_str(rq.id, "0.NA/20.500");
	assert_int_equal(rq.nindexes, 0);
	static const char *types[] = {
		"HS_SITE",  "HS_SITE.6",    "HS_NA_DELEGATE",
		"HS_SERV",  "HS_NAMESPACE", "HS_ADMIN",
		"HS_VLIST", "HS_PUBKEY",    "HS_SECKEY"};
	assert_int_equal(rq.ntypes, 9);
	for (int i = 0; i < 9; i++)
		assert_bytes_str(rq.types[i], types[i]);
	free(x.buf);

	load_msg("tcp-prefix-resolve-response.hex", &x, &env, &m);
	assert_int_equal(env.msg_len, 1488);
	idn_values_body_t vb;
	assert_int_equal(idn_values_body_decode(m.rest, &a, &vb), 0);
	assert_bytes_str(vb.id, "0.NA/20.500");
	assert_int_equal(vb.nvalues, 4);
	static const uint32_t idx[] = {1, 100, 300, 301};
	static const char *vt[] = {"HS_SITE", "HS_ADMIN", "HS_PUBKEY",
				   "HS_PUBKEY"};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vb.values[i].index, idx[i]);
		assert_bytes_str(vb.values[i].type, vt[i]);
		assert_int_equal(idn_value_check(&vb.values[i], &a), 0);
	}
	/* the key values are the reference server's key files */
	size_t n;
	uint8_t *k = load_bin("keys/admpub.bin", &n);
	assert_int_equal(vb.values[2].data.len, n);
	assert_memory_equal(vb.values[2].data.p, k, n);
	free(k);
	k = load_bin("keys/admpub_rsa.bin", &n);
	assert_int_equal(vb.values[3].data.len, n);
	assert_memory_equal(vb.values[3].data.p, k, n);
	free(k);
	idn_hs_pubkey_t pk;
	assert_int_equal(idn_hs_pubkey_decode(vb.values[3].data, &pk), 0);
	assert_bytes_str(pk.type, "RSA_PUB_KEY");
	assert_int_equal(pk.flags, 0);
	assert_int_equal(pk.nparams, 3);
	assert_int_equal(pk.params[0].len, 3);
	assert_memory_equal(pk.params[0].p, "\x01\x00\x01", 3);
	assert_int_equal(pk.params[1].len, 257);
	assert_int_equal(pk.params[2].len, 0);
	idn_hs_site_t site;
	assert_int_equal(idn_hs_site_decode(vb.values[0].data, &a, &site), 0);
	k = load_bin("keys/pubkey.bin", &n);
	assert_int_equal(site.nservers, 1);
	assert_int_equal(site.servers[0].pubkey.len, n);
	assert_memory_equal(site.servers[0].pubkey.p, k, n);
	free(k);
	free(x.buf);
	idn_arena_free(&a);
}

/* HS_SITE of the signed root answer, and its HS_SIGNED credential. */
static void test_certified_site(void **state)
{
	(void)state;
	struct vector v = {
		"certified-resolve-response", 2, false, 1, 1, K_VALUES};
	loaded_t x;
	load_vector(&v, &x);
	idn_env_t env;
	idn_msg_t m;
	assert_int_equal(decode_full(x.buf, x.len, &env, &m), 0);
	assert_int_equal(env.msg_len, 774);
	assert_int_equal(m.hdr.flags, 0xd9000000u);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t vb;
	assert_int_equal(idn_values_body_decode(m.rest, &a, &vb), 0);
	assert_bytes_str(vb.id, "0.NA/0.NA");
	assert_int_equal(vb.nvalues, 2);
	assert_bytes_str(vb.values[0].type, "HS_SITE");
	idn_hs_site_t s;
	assert_int_equal(idn_hs_site_decode(vb.values[0].data, &a, &s), 0);
	assert_int_equal(s.version, 1);
	assert_int_equal(s.major, 2);
	assert_int_equal(s.minor, 5);
	assert_int_equal(s.serial, 1);
	assert_int_equal(s.flags, IDN_SITE_PRIMARY);
	assert_int_equal(s.hash_option, IDN_HASH_WHOLE);
	assert_int_equal(s.hash_filter.len, 0);
	assert_int_equal(s.nattrs, 1);
	assert_bytes_str(s.attrs[0].name, "desc");
	assert_bytes_str(s.attrs[0].value,
			 "loopback HANDLE.NET 7.3.1 reference");
	assert_int_equal(s.nservers, 1);
	const idn_hs_server_t *srv = &s.servers[0];
	assert_int_equal(srv->id, 1);
	static const uint8_t lo[16] = {0, 0, 0, 0, 0,	0, 0, 0,
				       0, 0, 0, 0, 127, 0, 0, 1};
	assert_memory_equal(srv->addr, lo, 16);
	assert_int_equal(srv->nifaces, 3);
	assert_int_equal(srv->ifaces[0].type, IDN_IF_BOTH);
	assert_int_equal(srv->ifaces[0].proto, IDN_PROTO_TCP);
	assert_int_equal(srv->ifaces[0].port, 12641);
	assert_int_equal(srv->ifaces[1].type, IDN_IF_QUERY);
	assert_int_equal(srv->ifaces[1].proto, IDN_PROTO_UDP);
	assert_int_equal(srv->ifaces[1].port, 12641);
	assert_int_equal(srv->ifaces[2].type, IDN_IF_BOTH);
	assert_int_equal(srv->ifaces[2].proto, IDN_PROTO_HTTP);
	assert_int_equal(srv->ifaces[2].port, 18000);
	idn_hs_pubkey_t pk;
	assert_int_equal(idn_hs_pubkey_decode(srv->pubkey, &pk), 0);
	assert_bytes_str(pk.type, "DSA_PUB_KEY");
	assert_int_equal(pk.nparams, 4);
	assert_int_equal(pk.params[0].len, 21);	 /* q */
	assert_int_equal(pk.params[1].len, 129); /* p */
	assert_int_equal(pk.params[2].len, 129); /* g */
	assert_int_equal(pk.params[3].len, 128); /* y */
	assert_int_equal(pk.params[0].p[1], 0x97);

	assert_true(m.has_cred);
	assert_int_equal(m.cred.version, 0);
	assert_int_equal(m.cred.signer.len, 0);
	assert_int_equal(m.cred.signer_index, 0);
	assert_bytes_str(m.cred.type, "HS_SIGNED");
	idn_bytes_t hash, sig;
	assert_int_equal(idn_sig_decode(m.cred.signed_data, &hash, &sig), 0);
	assert_bytes_str(hash, "SHA1");
	assert_int_equal(sig.p[0], 0x30); /* DER SEQUENCE of r, s */
	assert_int_equal(sig.p[1] + 2, sig.len);
	free(x.buf);
	idn_arena_free(&a);
}

static void test_get_site_info(void **state)
{
	(void)state;
	loaded_t x;
	idn_env_t env;
	idn_msg_t m;
	load_msg("get-site-info-request.hex", &x, &env, &m);
	assert_int_equal(env.minor, 3);
	idn_bytes_t id;
	assert_int_equal(idn_id_body_decode(m.body, &id), 0);
	assert_bytes_str(id, "/");
	free(x.buf);
	load_msg("get-site-info-response.hex", &x, &env, &m);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_hs_site_t s;
	assert_int_equal(idn_hs_site_decode(m.body, &a, &s), 0);
	assert_int_equal(s.serial, 1);
	assert_int_equal(s.nservers, 1);
	assert_int_equal(s.servers[0].addr[15], 1);
	assert_bytes_str(m.cred.type, "HS_SIGNED");
	free(x.buf);
	idn_arena_free(&a);
}

/* Each 402 challenge carries SHA-1 of its request's header + body, and
 * the session setup answer the digest of the setup request. */
static void test_challenge_digests(void **state)
{
	(void)state;
	static const char *pairs[][2] = {
		{"create-request.hex", "auth-challenge.hex"},
		{"delete-request.hex", "delete-challenge.hex"},
		{"remove-value-request.hex", "remove-value-challenge.hex"},
		{"add-value-request.hex", "add-value-challenge.hex"},
		{"create-existing-request.hex",
		 "create-existing-challenge.hex"},
		{"session-home-na-request.hex",
		 "session-home-na-challenge.hex"},
		{"session-setup-request.hex", "session-setup-response.hex"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		loaded_t rq, rs;
		idn_env_t e1, e2;
		idn_msg_t m1, m2;
		load_msg(pairs[i][0], &rq, &e1, &m1);
		load_msg(pairs[i][1], &rs, &e2, &m2);
		assert_int_equal(e1.request_id, e2.request_id);
		assert_true(m2.hdr.flags & IDN_OF_RETURN_DIGEST);
		assert_int_equal(m2.digest_alg, IDN_DIGEST_SHA1);
		assert_int_equal(m2.digest.len, 20);
		assert_int_equal(m1.signed_part.len, IDN_HDR_LEN + m1.body.len);
		uint8_t d[32];
		uint32_t dl = 0;
		assert_int_equal(idn_digest(IDN_DIGEST_SHA1, m1.signed_part.p,
					    m1.signed_part.len, d, &dl),
				 0);
		assert_int_equal(dl, 20);
		assert_memory_equal(d, m2.digest.p, 20);
		if (m2.hdr.rc == IDN_RC_AUTH_NEEDED) {
			idn_bytes_t nonce;
			assert_int_equal(idn_challenge_decode(m2.rest, &nonce),
					 0);
			assert_int_equal(nonce.len, 16);
			/* the challenge id travels in the session id */
			assert_int_not_equal(e2.session_id, 0);
		}
		free(rq.buf);
		free(rs.buf);
	}
}

static void test_digest_algs(void **state)
{
	(void)state;
	uint8_t d[32];
	uint32_t n = 0;
	assert_int_equal(
		idn_digest(IDN_DIGEST_MD5, (const uint8_t *)"abc", 3, d, &n),
		0);
	assert_int_equal(n, 16);
	assert_memory_equal(d, "\x90\x01\x50\x98\x3c\xd2\x4f\xb0", 8);
	assert_int_equal(
		idn_digest(IDN_DIGEST_SHA256, (const uint8_t *)"abc", 3, d, &n),
		0);
	assert_int_equal(n, 32);
	assert_memory_equal(d, "\xba\x78\x16\xbf\x8f\x01\xcf\xea", 8);
	assert_int_equal(
		idn_digest(IDN_DIGEST_SHA1, (const uint8_t *)"abc", 3, d, &n),
		0);
	assert_int_equal(n, 20);
	assert_memory_equal(d, "\xa9\x99\x3e\x36\x47\x06\x81\x6a", 8);
	assert_int_equal(idn_digest(0, (const uint8_t *)"abc", 3, d, &n),
			 IDN_EINVAL);
	assert_int_equal(idn_digest(4, (const uint8_t *)"abc", 3, d, &n),
			 IDN_EINVAL);
}

static void test_challenge_answers(void **state)
{
	(void)state;
	loaded_t x;
	idn_env_t env;
	idn_msg_t m;
	load_msg("delete-challenge-answer-dsa.hex", &x, &env, &m);
	/* the answer echoes the challenge id in the envelope */
	assert_int_equal(env.session_id, 5);
	idn_challenge_answer_t ans;
	assert_int_equal(idn_challenge_answer_decode(m.body, &ans), 0);
	assert_bytes_str(ans.auth_type, "HS_PUBKEY");
	assert_bytes_str(ans.admin, "0.NA/20.500");
	assert_int_equal(ans.index, 300);
	idn_bytes_t hash, sig;
	assert_int_equal(idn_sig_decode(ans.sig, &hash, &sig), 0);
	assert_bytes_str(hash, "SHA1");
	assert_int_equal(sig.len, 46);
	assert_int_equal(sig.p[0], 0x30);
	free(x.buf);

	load_msg("delete-challenge.hex", &x, &env, &m);
	assert_int_equal(env.session_id, 5);
	free(x.buf);

	load_msg("create-challenge-answer-rsa.hex", &x, &env, &m);
	assert_int_equal(idn_challenge_answer_decode(m.body, &ans), 0);
	assert_int_equal(ans.index, 301);
	assert_int_equal(idn_sig_decode(ans.sig, &hash, &sig), 0);
	assert_bytes_str(hash, "SHA1");
	assert_int_equal(sig.len, 256);
	free(x.buf);
}

static void test_session(void **state)
{
	(void)state;
	loaded_t x;
	idn_env_t env;
	idn_msg_t m;
	load_msg("session-setup-request.hex", &x, &env, &m);
	assert_int_equal(m.hdr.flags, 0x59800000u);
	idn_session_req_t rq;
	assert_int_equal(idn_session_req_decode(m.body, &rq), 0);
	assert_int_equal(rq.mode, 4); /* Diffie-Hellman */
	assert_int_equal(rq.timeout, 86400);
	assert_bytes_str(rq.identity, "0.NA/20.500");
	assert_int_equal(rq.index, 300);
	assert_int_equal(rq.key.len, 286);
	assert_int_equal(rq.tail.len, 2);
	assert_memory_equal(rq.tail.p, "\0\0", 2);
	/* the exchange key is a DH key in the HS_PUBKEY layout */
	idn_hs_pubkey_t pk;
	assert_int_equal(idn_hs_pubkey_decode(rq.key, &pk), 0);
	assert_bytes_str(pk.type, "DH_PUB_KEY");
	assert_int_equal(pk.nparams, 3);
	assert_int_equal(pk.params[0].len, 128); /* y */
	assert_int_equal(pk.params[1].len, 129); /* p */
	assert_int_equal(pk.params[2].len, 1);	 /* g */
	assert_int_equal(pk.params[2].p[0], 2);
	free(x.buf);

	load_msg("session-setup-response.hex", &x, &env, &m);
	assert_int_equal(env.session_id, 1);
	idn_session_resp_t rs;
	assert_int_equal(idn_session_resp_decode(m.rest, &rs), 0);
	assert_int_equal(rs.mode, 4);
	assert_int_equal(rs.key.len, 291);
	assert_int_equal(rs.tail.len, 2);
	/* the key starts with u32 1 (the session id), then the server's DH
	 * key in the HS_PUBKEY layout */
	assert_int_equal(idn_get_u32(rs.key.p), 1);
	assert_int_equal(idn_hs_pubkey_decode(
				 idn_bytes(rs.key.p + 4, rs.key.len - 4), &pk),
			 0);
	assert_bytes_str(pk.type, "DH_PUB_KEY");
	assert_int_equal(pk.nparams, 3);
	assert_bytes_str(m.cred.type, "HS_SIGNED");
	free(x.buf);

	/* later requests in the session carry an HS_MAC credential */
	load_msg("session-create-request.hex", &x, &env, &m);
	assert_int_equal(env.session_id, 1);
	assert_true(m.has_cred);
	assert_bytes_str(m.cred.type, "HS_MAC");
	assert_int_equal(m.cred.signer.len, 0);
	assert_int_equal(m.cred.signer_index, 2);
	idn_bytes_t hash, mac;
	assert_int_equal(idn_sig_decode(m.cred.signed_data, &hash, &mac), 0);
	assert_int_equal(hash.len, 1);
	assert_int_equal(hash.p[0], IDN_DIGEST_SHA1);
	assert_int_equal(mac.len, 20);
	free(x.buf);
}

static void test_remove_add(void **state)
{
	(void)state;
	loaded_t x;
	idn_env_t env;
	idn_msg_t m;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	load_msg("remove-value-request.hex", &x, &env, &m);
	idn_remove_req_t rm;
	assert_int_equal(idn_remove_req_decode(m.body, &a, &rm), 0);
	assert_bytes_str(rm.id, "20.500/test2");
	assert_int_equal(rm.nindexes, 1);
	assert_int_equal(rm.indexes[0], 3);
	free(x.buf);
	load_msg("add-value-request.hex", &x, &env, &m);
	idn_values_body_t vb;
	assert_int_equal(idn_values_body_decode(m.body, &a, &vb), 0);
	assert_bytes_str(vb.id, "20.500/test2");
	assert_int_equal(vb.nvalues, 1);
	assert_int_equal(vb.values[0].index, 3);
	assert_int_equal(vb.values[0].timestamp, 0);
	assert_bytes_str(vb.values[0].data, "http://example.org/test2");
	free(x.buf);
	load_msg("error-handle-already-exists-response.hex", &x, &env, &m);
	assert_int_equal(m.hdr.rc, IDN_RC_ALREADY_EXISTS);
	idn_bytes_t t;
	assert_int_equal(idn_error_body_decode(m.body, &t), 0);
	assert_int_equal(t.len, 0);
	free(x.buf);
	idn_arena_free(&a);
}

/* ---- UDP ---- */

static void test_udp_frag_count(void **state)
{
	(void)state;
	assert_int_equal(idn_udp_frag_count(28), 1);
	assert_int_equal(idn_udp_frag_count(492), 1);
	assert_int_equal(idn_udp_frag_count(493), 2);
	assert_int_equal(idn_udp_frag_count(774), 2);
	assert_int_equal(idn_udp_frag_count(1476), 3);
	assert_int_equal(idn_udp_frag_count(1488), 4);
	assert_int_equal(idn_udp_frag_count(IDN_MSG_MAX), 533);
}

/* The TCP prefix answer, split for UDP, gives the captured datagrams. The
 * two captures answer two different requests: the envelopes differ in the
 * request id (0x35ad1ae9 on UDP, 0x1e5f2807 on TCP) and the messages only
 * in the header's expiration (the server sets it per answer: 1795388659
 * vs 1795388733); with those two fields taken from the UDP capture the
 * split is byte-identical. */
static void test_udp_frag_vectors(void **state)
{
	(void)state;
	loaded_t t;
	idn_env_t tenv;
	idn_msg_t m;
	load_msg("tcp-prefix-resolve-response.hex", &t, &tenv, &m);
	uint8_t *msg = t.buf + IDN_ENV_LEN;
	size_t len = tenv.msg_len;
	assert_int_equal(len, 1488);
	uint8_t *d[4];
	size_t dl[4];
	for (int i = 0; i < 4; i++) {
		char name[64];
		snprintf(name, sizeof(name),
			 "prefix-resolve-response.udp%d.hex", i);
		d[i] = load_hex(name, &dl[i]);
	}
	idn_env_t uenv;
	assert_int_equal(idn_env_decode(d[0], dl[0], &uenv), 0);
	assert_int_equal(uenv.request_id, 0x35ad1ae9);
	assert_int_equal(tenv.request_id, 0x1e5f2807);
	/* what differs, and only that */
	size_t ndiff = 0;
	for (size_t i = 0; i < IDN_UDP_PAYLOAD; i++)
		ndiff += msg[i] != d[0][IDN_ENV_LEN + i];
	assert_int_equal(ndiff, 2);
	assert_int_equal(idn_get_u32(msg + 16), 1795388733u);
	assert_int_equal(idn_get_u32(d[0] + IDN_ENV_LEN + 16), 1795388659u);
	idn_put_u32(msg + 16, 1795388659u);

	idn_env_t e = tenv;
	e.request_id = uenv.request_id;
	e.seq = 99;    /* ignored: set per datagram */
	e.msg_len = 1; /* ignored */
	assert_int_equal(idn_udp_frag_count(len), 4);
	for (size_t i = 0; i < 4; i++) {
		uint8_t out[IDN_UDP_DGRAM_MAX];
		size_t n = idn_udp_frag(&e, msg, len, i, out);
		assert_int_equal(n, dl[i]);
		assert_int_equal(n, i < 3 ? 512 : 32);
		assert_memory_equal(out, d[i], n);
	}
	uint8_t out[IDN_UDP_DGRAM_MAX];
	assert_int_equal(idn_udp_frag(&e, msg, len, 4, out), 0);

	/* and the certified answer split again */
	struct vector v = {
		"certified-resolve-response", 2, false, 1, 1, K_VALUES};
	loaded_t c;
	load_vector(&v, &c);
	idn_env_t cenv;
	assert_int_equal(idn_env_decode(c.buf, c.len, &cenv), 0);
	for (size_t i = 0; i < 2; i++) {
		char name[64];
		size_t n;
		snprintf(name, sizeof(name),
			 "certified-resolve-response.udp%zu.hex", i);
		uint8_t *want = load_hex(name, &n);
		size_t got = idn_udp_frag(&cenv, c.buf + IDN_ENV_LEN,
					  cenv.msg_len, i, out);
		assert_int_equal(got, n);
		assert_memory_equal(out, want, n);
		free(want);
	}
	free(c.buf);
	for (int i = 0; i < 4; i++)
		free(d[i]);
	free(t.buf);
}

/* Reassembly in any order, with duplicates and strangers mixed in. */
static void test_reasm(void **state)
{
	(void)state;
	uint8_t *d[4];
	size_t dl[4];
	for (int i = 0; i < 4; i++) {
		char name[64];
		snprintf(name, sizeof(name),
			 "prefix-resolve-response.udp%d.hex", i);
		d[i] = load_hex(name, &dl[i]);
	}
	uint8_t *buf = malloc(IDN_MSG_MAX);
	assert_non_null(buf);
	idn_reasm_t r;
	idn_reasm_init(&r, buf);
	assert_int_equal(idn_reasm_add(&r, d[3], dl[3]), 0);
	assert_int_equal(r.nfrags, 4);
	assert_int_equal(idn_reasm_add(&r, d[1], dl[1]), 0);
	assert_int_equal(idn_reasm_add(&r, d[1], dl[1]), 0); /* duplicate */
	assert_int_equal(r.got, 2);

	uint8_t bad[IDN_UDP_DGRAM_MAX];
	/* another request id */
	memcpy(bad, d[0], dl[0]);
	bad[11] ^= 1;
	assert_int_equal(idn_reasm_add(&r, bad, dl[0]), IDN_EMALFORMED);
	/* another total length (the same number of datagrams) */
	memcpy(bad, d[0], dl[0]);
	idn_put_u32(bad + 16, 1487);
	assert_int_equal(idn_reasm_add(&r, bad, dl[0]), IDN_EMALFORMED);
	/* another session id */
	memcpy(bad, d[0], dl[0]);
	bad[7] = 1;
	assert_int_equal(idn_reasm_add(&r, bad, dl[0]), IDN_EMALFORMED);
	/* seq past the last datagram */
	memcpy(bad, d[3], dl[3]);
	idn_put_u32(bad + 12, 4);
	assert_int_equal(idn_reasm_add(&r, bad, dl[3]), IDN_EMALFORMED);
	idn_put_u32(bad + 12, 0xffffffffu);
	assert_int_equal(idn_reasm_add(&r, bad, dl[3]), IDN_EMALFORMED);
	/* ... also with no payload, which no datagram in range has */
	idn_put_u32(bad + 12, 4);
	assert_int_equal(idn_reasm_add(&r, bad, IDN_ENV_LEN), IDN_EMALFORMED);
	idn_put_u32(bad + 12, 0xffffffffu);
	assert_int_equal(idn_reasm_add(&r, bad, IDN_ENV_LEN), IDN_EMALFORMED);
	/* payload too short or too long for its place */
	assert_int_equal(idn_reasm_add(&r, d[0], dl[0] - 1), IDN_EMALFORMED);
	assert_int_equal(idn_reasm_add(&r, d[3], dl[3] - 1), IDN_EMALFORMED);
	memcpy(bad, d[3], dl[3]);
	bad[dl[3]] = 0;
	assert_int_equal(idn_reasm_add(&r, bad, dl[3] + 1), IDN_EMALFORMED);
	/* not even an envelope; wrong version; absurd length */
	assert_int_equal(idn_reasm_add(&r, d[0], 19), IDN_EMALFORMED);
	assert_int_equal(idn_reasm_add(&r, d[0], 0), IDN_EMALFORMED);
	memcpy(bad, d[0], dl[0]);
	bad[0] = 1;
	assert_int_equal(idn_reasm_add(&r, bad, dl[0]), IDN_EVERSION);
	memcpy(bad, d[0], dl[0]);
	idn_put_u32(bad + 16, IDN_MSG_MAX + 1);
	assert_int_equal(idn_reasm_add(&r, bad, dl[0]), IDN_ETOOLONG);
	assert_int_equal(r.got, 2);

	assert_int_equal(idn_reasm_add(&r, d[2], dl[2]), 0);
	assert_int_equal(idn_reasm_add(&r, d[0], dl[0]), 1);
	assert_int_equal(r.got, 4);
	assert_int_equal(r.env.msg_len, 1488);
	assert_int_equal(r.env.request_id, 0x35ad1ae9);
	/* a late duplicate leaves it complete */
	assert_int_equal(idn_reasm_add(&r, d[2], dl[2]), 1);
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(buf, r.env.msg_len, &m), 0);
	assert_int_equal(m.body.len, 1460);

	/* a one-datagram message completes at once; too short a msg_len is
	 * refused */
	size_t n;
	uint8_t *one = load_hex("resolve-response.hex", &n);
	idn_reasm_init(&r, buf);
	assert_int_equal(idn_reasm_add(&r, one, n), 1);
	assert_memory_equal(buf, one + IDN_ENV_LEN, n - IDN_ENV_LEN);
	idn_reasm_init(&r, buf);
	memcpy(bad, one, IDN_ENV_LEN);
	idn_put_u32(bad + 16, 0);
	assert_int_equal(idn_reasm_add(&r, bad, IDN_ENV_LEN), IDN_EMALFORMED);
	idn_put_u32(bad + 16, 27);
	assert_int_equal(idn_reasm_add(&r, bad, IDN_ENV_LEN + 27),
			 IDN_EMALFORMED);
	assert_false(r.started);
	free(one);
	free(buf);
	for (int i = 0; i < 4; i++)
		free(d[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_all_listed),
		cmocka_unit_test(test_vectors_roundtrip),
		cmocka_unit_test(test_vectors_truncated),
		cmocka_unit_test(test_vectors_trailing),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_prefix_resolve),
		cmocka_unit_test(test_certified_site),
		cmocka_unit_test(test_get_site_info),
		cmocka_unit_test(test_challenge_digests),
		cmocka_unit_test(test_digest_algs),
		cmocka_unit_test(test_challenge_answers),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_remove_add),
		cmocka_unit_test(test_udp_frag_count),
		cmocka_unit_test(test_udp_frag_vectors),
		cmocka_unit_test(test_reasm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
