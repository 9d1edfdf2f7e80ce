#include "session.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "msg.h"

struct idn_session {
	idn_client_t *cl;
	uint32_t id;
};

/* Encodes a request message of op with body into buf (cap bytes). */
static int request(uint8_t *buf, size_t cap, uint32_t op, idn_bytes_t body,
		   size_t *len)
{
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_msg_request(&w, op, 0, 3600, body.p, body.len);
	*len = w.len;
	return w.err;
}

typedef struct {
	uint32_t rc;
	uint32_t session;
	uint8_t nonce[64], digest[64];
	size_t nonce_len, digest_len;
	bool bad;
} step_t;

static int on_step(void *vctx, const idn_env_t *env, const uint8_t *msg,
		   size_t len)
{
	step_t *s = vctx;
	idn_msg_t m;
	if (idn_msg_decode(msg, len, &m) != 0) {
		s->bad = true;
		return 1;
	}
	s->rc = m.hdr.rc;
	s->session = env->session_id;
	idn_bytes_t nonce;
	if (m.hdr.rc == IDN_RC_AUTH_NEEDED) {
		if (idn_challenge_decode(m.rest, &nonce) != 0 ||
		    nonce.len > sizeof(s->nonce) ||
		    m.digest.len > sizeof(s->digest)) {
			s->bad = true;
			return 1;
		}
		memcpy(s->nonce, nonce.p, nonce.len);
		memcpy(s->digest, m.digest.p, m.digest.len);
		s->nonce_len = nonce.len;
		s->digest_len = m.digest.len;
	}
	return 1;
}

int idn_session_open(const char *where, int timeout_ms, uint32_t lifetime,
		     idn_answer_fn answer, void *actx, idn_session_t **out,
		     uint32_t *rc)
{
	*rc = 0;
	idn_session_t *s = calloc(1, sizeof(*s));
	uint8_t body[4096], req[4200];
	size_t len;
	idn_wr_t w;
	step_t st;
	if (s == NULL)
		return -ENOMEM;
	int err = idn_client_open(IDN_NET_TCP, where, timeout_ms, &s->cl);
	if (err) {
		free(s);
		return err;
	}
	/* mode 0: no session key; idnode's sessions authenticate only */
	idn_session_req_t sr = {0, lifetime,	       idn_bytes(NULL, 0),
				0, idn_bytes(NULL, 0), idn_bytes(NULL, 0)};
	idn_wr_init(&w, body, sizeof(body));
	idn_session_req_encode(&w, &sr);
	err = request(req, sizeof(req), IDN_OC_SESSION_SETUP,
		      idn_bytes(body, w.len), &len);
	memset(&st, 0, sizeof(st));
	if (err == 0)
		err = idn_client_call(s->cl, req, len, on_step, &st);
	if (err == 0 && st.bad)
		err = IDN_EPROTO;
	if (err)
		goto fail;
	if (st.rc != IDN_RC_AUTH_NEEDED) {
		*rc = st.rc;
		err = IDN_EAUTH;
		goto fail;
	}
	idn_wr_init(&w, body, sizeof(body));
	err = answer(actx, idn_bytes(st.nonce, st.nonce_len),
		     idn_bytes(st.digest, st.digest_len), &w);
	if (err == 0)
		err = request(req, sizeof(req), IDN_OC_CHALLENGE_ANSWER,
			      idn_bytes(body, w.len), &len);
	if (err)
		goto fail;
	/* the answer echoes the challenge's id on the same connection */
	idn_client_set_session(s->cl, st.session);
	memset(&st, 0, sizeof(st));
	err = idn_client_call(s->cl, req, len, on_step, &st);
	if (err == 0 && st.bad)
		err = IDN_EPROTO;
	if (err)
		goto fail;
	if (st.rc != IDN_RC_SUCCESS || st.session == 0) {
		*rc = st.rc;
		err = IDN_EAUTH;
		goto fail;
	}
	s->id = st.session;
	idn_client_set_session(s->cl, s->id);
	*out = s;
	return 0;
fail:
	idn_client_close(s->cl);
	free(s);
	return err;
}

uint32_t idn_session_id(const idn_session_t *s)
{
	return s->id;
}

int idn_session_call(idn_session_t *s, const uint8_t *msg, size_t len,
		     idn_reply_cb cb, void *ctx)
{
	return idn_client_call(s->cl, msg, len, cb, ctx);
}

int idn_session_close(idn_session_t *s)
{
	if (s == NULL)
		return 0;
	uint8_t req[64];
	size_t len;
	step_t st;
	memset(&st, 0, sizeof(st));
	int err = request(req, sizeof(req), IDN_OC_SESSION_TERMINATE,
			  idn_bytes(NULL, 0), &len);
	if (err == 0)
		err = idn_client_call(s->cl, req, len, on_step, &st);
	if (err == 0 && st.rc != IDN_RC_SUCCESS)
		err = IDN_EAUTH;
	idn_client_close(s->cl);
	free(s);
	return err;
}
