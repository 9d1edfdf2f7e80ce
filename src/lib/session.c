#include "session.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hsession.h"
#include "msg.h"

#define TTL 3600 /* seconds a request's expiry lies ahead */
#define SETUP_FLAGS                                                            \
	(IDN_OF_CERT | IDN_OF_RECURSE | IDN_OF_CACHE_CERT |                    \
	 IDN_OF_PUBLIC_ONLY | IDN_OF_RETURN_DIGEST)

struct idn_session {
	idn_session_opts_t o;
	char where[256];
	idn_client_t *cl;
	bool used; /* cl carried a request already */
	uint32_t id;
	uint8_t major, minor; /* the server's protocol version */
	uint32_t counter;     /* of the last MAC sent */
	int cipher;
	size_t klen;
	uint8_t key[IDN_SKEY_MAX];
	uint8_t *buf; /* IDN_MSG_MAX: the request being sent */
};

/* What one exchange answered: its response code, the server's protocol
 * version and session id, and what a challenge or a setup answer held. */
typedef struct {
	uint32_t rc;
	uint32_t session;
	uint8_t major, minor;
	uint8_t nonce[64], digest[64];
	size_t nonce_len, digest_len;
	uint8_t body[4096]; /* a setup answer's body after the digest */
	size_t body_len;
	bool bad;
	/* the caller's, for a reply that is no challenge */
	idn_reply_cb cb;
	void *ctx;
	bool delivered;
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
	s->major = env->major;
	s->minor = env->minor;
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
		return 1;
	}
	if (s->cb != NULL) {
		s->delivered = true;
		return s->cb(s->ctx, env, msg, len);
	}
	if (m.hdr.rc == IDN_RC_SUCCESS && m.rest.len <= sizeof(s->body)) {
		memcpy(s->body, m.rest.p, m.rest.len);
		s->body_len = m.rest.len;
	}
	return 1;
}

/* Sends msg (len bytes) on the session's connection, a new one when the
 * server closed the last (and once more when it closes the reused one
 * before answering). */
static int call(idn_session_t *s, uint32_t session, const uint8_t *msg,
		size_t len, step_t *st)
{
	for (int attempt = 0;; attempt++) {
		if (s->cl != NULL && s->used && idn_client_stale(s->cl)) {
			idn_client_close(s->cl);
			s->cl = NULL;
		}
		if (s->cl == NULL) {
			int err = idn_client_open(s->o.transport, s->where,
						  s->o.timeout_ms, &s->cl);
			if (err)
				return err;
			s->used = false;
		}
		bool reused = s->used;
		s->used = true;
		idn_client_set_session(s->cl, session);
		int err = idn_client_call(s->cl, msg, len, on_step, st);
		if (err == 0 && st->bad)
			return IDN_EPROTO;
		bool closed = err == IDN_EPROTO || err == -EPIPE ||
			      err == -ECONNRESET;
		if (err == 0 || !reused || !closed || st->delivered ||
		    attempt > 0)
			return err;
		idn_client_close(s->cl);
		s->cl = NULL;
	}
}

/* The request msg with its credential replaced by the session MAC of the
 * next counter, into s->buf. */
static int seal(idn_session_t *s, const uint8_t *msg, size_t len, size_t *out)
{
	idn_msg_t m;
	idn_cred_t cred;
	uint8_t cbuf[64];
	int err = idn_msg_decode(msg, len, &m);
	if (err)
		return err;
	err = idn_skey_mac_cred(idn_bytes(s->key, s->klen), s->major, s->minor,
				m.signed_part, ++s->counter, &cred, cbuf);
	if (err)
		return err;
	idn_wr_t w;
	idn_wr_init(&w, s->buf, IDN_MSG_MAX);
	idn_wr_raw(&w, m.signed_part.p, m.signed_part.len);
	idn_wr_u32(&w, 0); /* the credential's length, patched below */
	size_t at = w.len;
	idn_wr_u8(&w, cred.version);
	idn_wr_u8(&w, cred.reserved);
	idn_wr_u16(&w, cred.options);
	idn_wr_str(&w, cred.signer);
	idn_wr_u32(&w, cred.signer_index);
	idn_wr_str(&w, cred.type);
	idn_wr_str(&w, cred.signed_data);
	if (!w.err)
		idn_wr_patch_u32(&w, at - 4, (uint32_t)(w.len - at));
	*out = w.len;
	return w.err;
}

/* The server's half of the exchange in a setup answer's body: u16 mode,
 * byte array (u32 cipher, DH_PUB_KEY), the rest ignored. */
static int derive(idn_session_t *s, const idn_dh_t *dh, const step_t *st)
{
	idn_session_resp_t resp;
	if (idn_session_resp_decode(idn_bytes(st->body, st->body_len), &resp) !=
		    0 ||
	    resp.mode != IDN_KX_DH || resp.key.len < 4)
		return IDN_EPROTO;
	s->cipher = (int)idn_get_u32(resp.key.p);
	idn_bytes_t pub = idn_bytes(resp.key.p + 4, resp.key.len - 4);
	int err = idn_dh_derive(dh, pub, s->cipher, s->key, &s->klen);
	return err == 0 ? 0 : IDN_EPROTO;
}

static void session_free(idn_session_t *s)
{
	idn_client_close(s->cl);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s->buf);
	free(s);
}

int idn_session_open(const idn_session_opts_t *o, idn_session_t **out,
		     uint32_t *rc)
{
	*rc = 0;
	if (strlen(o->where) >= sizeof(((idn_session_t *)0)->where))
		return IDN_EINVAL;
	idn_session_t *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->buf = malloc(IDN_MSG_MAX)) == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->o = *o;
	strcpy(s->where, o->where);
	s->o.where = s->where;
	idn_dh_t *dh = NULL;
	uint8_t key[1024], body[2048];
	idn_wr_t w;
	step_t *st = calloc(1, sizeof(*st));
	int err = st ? idn_dh_new(idn_bytes(NULL, 0), &dh) : -ENOMEM;
	if (err)
		goto done;
	idn_wr_init(&w, key, sizeof(key));
	idn_dh_pub_encode(dh, &w);
	idn_session_req_t sr = {
		IDN_KX_DH, o->lifetime,		  o->admin,
		o->index,  idn_bytes(key, w.len), idn_bytes("\0", 2)};
	idn_wr_init(&w, body, sizeof(body));
	idn_session_req_encode(&w, &sr);
	size_t len = 0;
	idn_wr_t rw;
	idn_wr_init(&rw, s->buf, IDN_MSG_MAX);
	idn_msg_request(&rw, IDN_OC_SESSION_SETUP, SETUP_FLAGS, TTL, body,
			w.len);
	len = rw.len;
	err = w.err ? w.err : rw.err;
	if (err == 0)
		err = call(s, 0, s->buf, len, st);
	if (err)
		goto done;
	if (st->rc != IDN_RC_SUCCESS || st->session == 0) {
		*rc = st->rc;
		err = IDN_EAUTH;
		goto done;
	}
	s->id = st->session;
	s->major = st->major;
	s->minor = st->minor;
	err = derive(s, dh, st);
done:
	idn_dh_free(dh);
	free(st);
	if (err) {
		session_free(s);
		return err;
	}
	*out = s;
	return 0;
}

uint32_t idn_session_id(const idn_session_t *s)
{
	return s->id;
}

/* Answers the challenge st holds: op 200 in the session, without a MAC
 * (as HANDLE.NET's clients send it); its reply goes to st's caller. */
static int answer(idn_session_t *s, step_t *st)
{
	uint8_t body[4096];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	const char *hash =
		st->major == 2 && st->minor < 7 ? "SHA1" : (const char *)NULL;
	int err = s->o.answer(s->o.actx, hash,
			      idn_bytes(st->nonce, st->nonce_len),
			      idn_bytes(st->digest, st->digest_len), &w);
	if (err)
		return err;
	idn_wr_t rw;
	idn_wr_init(&rw, s->buf, IDN_MSG_MAX);
	idn_msg_request(&rw, IDN_OC_CHALLENGE_ANSWER, 0, TTL, body, w.len);
	if (rw.err)
		return rw.err;
	st->rc = 0;
	err = call(s, s->id, s->buf, rw.len, st);
	if (err == 0 && !st->delivered)
		return IDN_EPROTO; /* challenged again */
	return err;
}

int idn_session_call(idn_session_t *s, const uint8_t *msg, size_t len,
		     idn_reply_cb cb, void *ctx)
{
	size_t n = 0;
	int err = seal(s, msg, len, &n);
	if (err)
		return err;
	step_t *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->cb = cb;
	st->ctx = ctx;
	err = call(s, s->id, s->buf, n, st);
	if (err == 0 && !st->delivered && st->rc == IDN_RC_AUTH_NEEDED)
		err = s->o.answer ? answer(s, st) : IDN_EAUTH;
	free(st);
	return err;
}

int idn_session_close(idn_session_t *s)
{
	if (s == NULL)
		return 0;
	uint8_t req[64];
	idn_wr_t w;
	idn_wr_init(&w, req, sizeof(req));
	idn_msg_request(&w, IDN_OC_SESSION_TERMINATE, 0, TTL, NULL, 0);
	size_t n = 0;
	int err = w.err ? w.err : seal(s, req, w.len, &n);
	step_t *st = err ? NULL : calloc(1, sizeof(*st));
	if (err == 0 && st == NULL)
		err = -ENOMEM;
	if (err == 0)
		err = call(s, s->id, s->buf, n, st);
	if (err == 0 && st->rc != IDN_RC_SUCCESS)
		err = IDN_EAUTH;
	free(st);
	session_free(s);
	return err;
}
