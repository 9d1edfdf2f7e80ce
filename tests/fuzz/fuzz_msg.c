/* Fuzz target: envelope + message decode, then every typed body decoder on
 * the body. Whatever decodes must re-encode to the same bytes: the decoders
 * are exact (no trailing bytes, verbatim tails), so a mismatch is a bug and
 * aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "msg.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the writer holds exactly the bytes in want. */
static void same(const idn_wr_t *w, idn_bytes_t want)
{
	if (w->err != 0 || w->len != want.len ||
	    (want.len && memcmp(w->buf, want.p, want.len) != 0))
		abort();
}

/* Runs every body decoder over b; each success must round-trip. */
static void bodies(idn_bytes_t b, idn_arena_t *a, uint8_t *out, size_t cap)
{
	idn_wr_t w;
	idn_resolve_req_t rq;
	if (idn_resolve_req_decode(b, a, &rq) == 0) {
		idn_wr_init(&w, out, cap);
		idn_resolve_req_encode(&w, &rq);
		same(&w, b);
	}
	idn_values_body_t vb;
	if (idn_values_body_decode(b, a, &vb) == 0) {
		idn_wr_init(&w, out, cap);
		idn_values_body_encode(&w, &vb);
		same(&w, b);
		for (uint32_t i = 0; i < vb.nvalues; i++)
			(void)idn_value_check(&vb.values[i], a);
	}
	idn_remove_req_t rm;
	if (idn_remove_req_decode(b, a, &rm) == 0) {
		idn_wr_init(&w, out, cap);
		idn_remove_req_encode(&w, &rm);
		same(&w, b);
	}
	idn_bytes_t id;
	if (idn_id_body_decode(b, &id) == 0) {
		idn_wr_init(&w, out, cap);
		idn_id_body_encode(&w, id);
		same(&w, b);
	}
	idn_list_body_t lb;
	if (idn_list_body_decode(b, a, &lb) == 0) {
		idn_wr_init(&w, out, cap);
		idn_list_body_encode(&w, &lb);
		same(&w, b);
	}
	idn_bytes_t text;
	if (idn_error_body_decode(b, &text) == 0) {
		idn_wr_init(&w, out, cap);
		idn_error_body_encode(&w, text);
		same(&w, b);
	}
	idn_bytes_t nonce;
	if (idn_challenge_decode(b, &nonce) == 0) {
		idn_wr_init(&w, out, cap);
		idn_challenge_encode(&w, nonce);
		same(&w, b);
	}
	idn_challenge_answer_t ans;
	if (idn_challenge_answer_decode(b, &ans) == 0) {
		idn_wr_init(&w, out, cap);
		idn_challenge_answer_encode(&w, &ans);
		same(&w, b);
		idn_bytes_t h, s;
		(void)idn_sig_decode(ans.sig, &h, &s);
	}
	idn_bytes_t h, s;
	if (idn_sig_decode(b, &h, &s) == 0) {
		idn_wr_init(&w, out, cap);
		idn_sig_encode(&w, h, s);
		same(&w, b);
	}
	idn_session_req_t sr;
	if (idn_session_req_decode(b, &sr) == 0) {
		idn_wr_init(&w, out, cap);
		idn_session_req_encode(&w, &sr);
		same(&w, b);
	}
	idn_session_resp_t sp;
	if (idn_session_resp_decode(b, &sp) == 0) {
		idn_wr_init(&w, out, cap);
		idn_session_resp_encode(&w, &sp);
		same(&w, b);
	}
	idn_hs_site_t site;
	if (idn_hs_site_decode(b, a, &site) == 0) {
		idn_wr_init(&w, out, cap);
		idn_hs_site_encode(&w, &site);
		same(&w, b);
	}
	idn_arena_reset(a);
}

/* Decodes p as a message (no envelope) and, if it decodes, re-encodes it
 * whole and runs the body decoders. */
static void message(const idn_env_t *env, const uint8_t *p, size_t len,
		    idn_arena_t *a, uint8_t *out, size_t cap)
{
	idn_msg_t m;
	if (idn_msg_decode(p, len, &m) != 0)
		return;
	if (m.signed_part.len != IDN_HDR_LEN + (size_t)m.body.len ||
	    m.signed_part.p != p)
		abort();
	if (m.rest.p + m.rest.len != m.body.p + m.body.len)
		abort();
	idn_wr_t w;
	idn_wr_init(&w, out, cap);
	idn_msg_mark_t mk = idn_msg_start(&w, env, &m.hdr);
	if (m.digest_alg)
		idn_digest_encode(&w, m.digest_alg, m.digest);
	idn_wr_raw(&w, m.rest.p, m.rest.len);
	idn_msg_finish(&w, mk, m.has_cred ? &m.cred : NULL);
	size_t off = env != NULL ? IDN_ENV_LEN : 0;
	static const uint8_t zero[4];
	if (m.cred_absent) {
		/* op 2001 without the credential length: the same message,
		 * which the encoder ends with a zero length */
		if (w.err || w.len != off + len + 4 ||
		    memcmp(w.buf + off, p, len) != 0 ||
		    memcmp(w.buf + off + len, zero, 4) != 0)
			abort();
	} else if (env != NULL) {
		same(&w, idn_bytes(p - IDN_ENV_LEN, len + IDN_ENV_LEN));
	} else {
		same(&w, idn_bytes(p, len));
	}
	uint8_t d[32];
	uint32_t dl;
	if (idn_digest(IDN_DIGEST_SHA1, m.signed_part.p, m.signed_part.len, d,
		       &dl) != 0 ||
	    dl != 20)
		abort();
	bodies(m.body, a, out, cap);
	if (m.rest.p != m.body.p)
		bodies(m.rest, a, out, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = IDN_MSG_MAX + IDN_ENV_LEN;
	uint8_t *out = malloc(cap);
	if (out == NULL)
		return 0;
	idn_arena_t a;
	idn_arena_init(&a, 4096);
	idn_env_t env;
	int err = idn_env_decode(data, size, &env);
	if (err == 0 && env.msg_len == size - IDN_ENV_LEN)
		message(&env, data + IDN_ENV_LEN, size - IDN_ENV_LEN, &a, out,
			cap);
	/* the same bytes as a bare message (TCP after the envelope) */
	message(NULL, data, size, &a, out, cap);
	idn_arena_free(&a);
	free(out);
	return 0;
}
