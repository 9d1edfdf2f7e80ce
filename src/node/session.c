/* Challenges, their answers and sessions: how an anonymous network
 * caller proves to be an admin (authz.h). A challenge holds the request
 * back; its answer, once checked, runs that request as the proven admin
 * (PRINCIPAL_ADMIN). A session (docs/architecture.md, "Sessions") makes
 * later requests run as its admin: a keyed one, set up with a
 * Diffie-Hellman exchange as HANDLE.NET does, once a challenge in it is
 * answered, for requests carrying its MAC; one set up without a key
 * exchange, answered on a TCP connection, for that connection's; the
 * national SDK's, its key wrapped to the admin's HS_PUBKEY, for that
 * connection's requests encrypted under it once its login binds it. */
#include <assert.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "error.h"
#include "handler_int.h"
#include "hsession.h"
#include "log.h"
#include "optable.h"
#include "wire.h"

int do_challenge(reply_t *r)
{
	/* a challenged request is no attempt yet: its answer is */
	r->noaudit = true;
	uint32_t id;
	uint8_t nonce[16];
	int err;
	if (r->sess != NULL && r->sess->usable && r->sess->s.keyed &&
	    !r->sess->s.conn_bound) {
		/* in the session: the answer names it, and binds it */
		id = r->env->session_id;
		err = authz_challenge_in(r->h->node->authz, r->from.peer,
					 r->frame, r->frame_len,
					 r->req->signed_part, id, nonce);
	} else {
		err = authz_challenge(r->h->node->authz, r->from.peer, r->frame,
				      r->frame_len, r->req->signed_part, &id,
				      nonce);
	}
	if (err) {
		if (err == -EBUSY)
			return reply_error(r, IDN_RC_TOO_BUSY,
					   "too many pending challenges");
		if (err == -EUSERS)
			return reply_error(
				r, IDN_RC_TOO_BUSY,
				"too many pending challenges from this network "
				"(or requests too large to hold): answer them, "
				"or open a session (op 400) for large writes");
		return reply_error(r, IDN_RC_ERROR, "cannot make a challenge");
	}
	reply_start(r, IDN_RC_AUTH_NEEDED, IDN_OF_RETURN_DIGEST);
	idn_env_set_session(r->w.buf + r->mark.env, id);
	idn_challenge_encode(&r->w, idn_bytes(nonce, sizeof(nonce)));
	return reply_send(r);
}

/* The lifetime of a session asked for timeout seconds (0: the node's). */
static uint32_t lifetime(const handler_t *h, uint32_t timeout)
{
	uint32_t life = h->conf->session_lifetime;
	return timeout > 0 && timeout < life ? timeout : life;
}

/* A Diffie-Hellman setup: the node's half of the exchange, the keyed
 * session it opens for the caller's network, and the answer in the
 * reference's layout (hsession.h). The cipher is DES because that is what
 * the reference answers and so what HANDLE.NET 7.3.1 clients are known to
 * take: the setup carries no list of the client's ciphers to choose from. */
static int session_dh(reply_t *r, const idn_session_req_t *sr)
{
	handler_t *h = r->h;
	idn_dh_t *dh = NULL;
	uint8_t key[IDN_SKEY_MAX];
	size_t klen = 0;
	idn_dh_pub_t pub;
	if (idn_dh_pub_decode(sr->key, &pub) != 0)
		return reply_error(r, AUTHZ_RC_SESSION_FAILED,
				   "unusable Diffie-Hellman key (a DH_PUB_KEY "
				   "with p of 1024 to 2048 bits)");
	int bits = (int)pub.p.len * 8;
	const char *why = "";
	uint32_t rc = authz_dh_charge(h->node->authz, r->from.peer, bits, &why);
	if (rc != 0)
		return reply_error(r, rc, why);
	int err = idn_dh_new(sr->key, &dh);
	if (err == 0)
		err = idn_dh_derive(dh, sr->key, IDN_SCIPHER_DES, key, &klen);
	authz_dh_done(h->node->authz, r->from.peer, bits);
	if (err) {
		idn_dh_free(dh);
		return reply_error(r, AUTHZ_RC_SESSION_FAILED,
				   "cannot set the session up");
	}
	uint32_t id = 0;
	err = authz_session_new(h->node->authz, r->from.peer,
				idn_bytes(key, klen), IDN_SCIPHER_DES,
				sr->identity, sr->index,
				lifetime(h, sr->timeout), &id);
	OPENSSL_cleanse(key, sizeof(key));
	if (err) {
		idn_dh_free(dh);
		if (err == -EBUSY || err == -EUSERS)
			return reply_error(
				r, IDN_RC_TOO_BUSY,
				err == -EBUSY ? "too many sessions"
					      : "too many sessions from this "
						"network: end some (op 401)");
		return reply_error(r, AUTHZ_RC_SESSION_FAILED,
				   "cannot open a session");
	}
	log_debug("session %08x set up (Diffie-Hellman)", id);
	idn_env_t env = *r->env;
	env.session_id = id;
	reply_t run = *r;
	run.env = &env;
	reply_start(&run, IDN_RC_SUCCESS, 0);
	idn_wr_u16(&run.w, IDN_KX_DH);
	size_t at = run.w.len;
	idn_wr_u32(&run.w, 0); /* the byte array's length, patched below */
	idn_wr_u32(&run.w, IDN_SCIPHER_DES);
	idn_dh_pub_encode(dh, &run.w);
	if (!run.w.err)
		idn_wr_patch_u32(&run.w, at, (uint32_t)(run.w.len - at - 4));
	idn_wr_u16(&run.w, 0);
	idn_dh_free(dh);
	err = reply_send(&run);
	r->sent = run.sent;
	return err;
}

/* The national SDK's encrypted session (docs/national.md, "Encrypted
 * sessions"): mode 3 names the admin's HS_PUBKEY (key handle and index);
 * the node makes an SM4 key, opens the session id the client named on
 * this connection with it, no admin yet (its login, op 2001, binds one),
 * and answers mode 3 and u32 cipher || key wrapped to that public key.
 * The setup proves nothing: only the key's holder can read the key, and
 * the login still proves the admin. */
static int session_hdl(reply_t *r, const idn_session_req_t *sr)
{
	handler_t *h = r->h;
	uint32_t id = r->env->session_id;
	if (h->conn == 0 || id == 0)
		return reply_error(r, AUTHZ_RC_SESSION_FAILED,
				   "key exchange mode 3 opens the session id "
				   "the envelope names on a TCP connection");
	EVP_PKEY *k = login_admin_key(h, sr->key, sr->key_index);
	if (k == NULL ||
	    (!EVP_PKEY_is_a(k, "RSA") && !EVP_PKEY_is_a(k, "SM2"))) {
		EVP_PKEY_free(k);
		return reply_error(r, AUTHZ_RC_SESSION_FAILED,
				   "no RSA or SM2 HS_PUBKEY at the key handle "
				   "and index to wrap the session key to");
	}
	/* a public-key operation, priced as a signature check */
	const char *why = "";
	uint64_t cost = authz_pubkey_cost(EVP_PKEY_bits(k));
	if (authz_token_charge(h->node->authz, r->from.peer, cost, &why) != 0) {
		EVP_PKEY_free(k);
		return reply_error(r, IDN_RC_TOO_BUSY, why);
	}
	uint8_t plain[4 + IDN_SM4_KEY_LEN], wrapped[1024];
	size_t wlen = 0;
	idn_put_u32(plain, IDN_SCIPHER_SM4);
	int err = RAND_bytes(plain + 4, IDN_SM4_KEY_LEN) == 1 ? 0 : -ENOMEM;
	if (err == 0)
		err = idn_skey_wrap(k, idn_bytes(plain, sizeof(plain)), wrapped,
				    sizeof(wrapped), &wlen);
	authz_charge_done(h->node->authz, r->from.peer, cost);
	EVP_PKEY_free(k);
	if (err == 0)
		err = authz_session_key_as(
			h->node->authz, h->owner, h->conn,
			idn_bytes(plain + 4, IDN_SM4_KEY_LEN), IDN_SCIPHER_SM4,
			lifetime(h, sr->timeout), id);
	OPENSSL_cleanse(plain, sizeof(plain));
	if (err)
		return reply_error(r,
				   err == -EBUSY ? IDN_RC_TOO_BUSY
						 : AUTHZ_RC_SESSION_FAILED,
				   "cannot set the session up");
	log_debug("session %08x set up (SM4 key wrapped to %.*s:%u)", id,
		  (int)(sr->key.len > 200 ? 200 : sr->key.len), sr->key.p,
		  sr->key_index);
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_session_resp_t resp = {IDN_KX_CIPHER_HDL, idn_bytes(wrapped, wlen),
				   idn_bytes(NULL, 0)};
	idn_session_resp_encode(&r->w, &resp);
	return reply_send(r);
}

int do_session_setup(reply_t *r)
{
	idn_session_req_t sr;
	if (idn_session_req_decode(r->req->rest, &sr) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed session setup");
	if (sr.mode == IDN_KX_DH)
		return session_dh(r, &sr);
	if (sr.mode == IDN_KX_CIPHER_HDL)
		return session_hdl(r, &sr);
	if (sr.mode != IDN_KX_NONE) {
		char text[96];
		snprintf(text, sizeof(text),
			 "key exchange mode %u is not supported: use "
			 "Diffie-Hellman (4) or a key handle (3)",
			 (unsigned)sr.mode);
		return reply_error(r, AUTHZ_RC_SESSION_FAILED, text);
	}
	if (r->h->conn == 0)
		return reply_error(r, IDN_RC_NOT_SUPPORTED,
				   "sessions without a key exchange need a TCP "
				   "connection");
	return do_challenge(r);
}

int session_open(reply_t *r, const idn_msg_t *orig,
		 const idn_challenge_answer_t *ans)
{
	handler_t *h = r->h;
	idn_session_req_t sr;
	if (idn_session_req_decode(orig->rest, &sr) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed session setup");
	if (h->conn == 0)
		return reply_error(r, IDN_RC_NOT_SUPPORTED,
				   "sessions live on a TCP connection: answer "
				   "the session setup on it");
	uint32_t id;
	int err = authz_session_open(h->node->authz, h->owner, h->conn,
				     ans->admin, ans->index,
				     lifetime(h, sr.timeout), &id);
	if (err)
		return reply_error(
			r, err == -EBUSY ? IDN_RC_TOO_BUSY : IDN_RC_ERROR,
			"cannot open a session");
	log_info("session %08x opened for %.*s:%u", id,
		 (int)(ans->admin.len > 200 ? 200 : ans->admin.len),
		 ans->admin.p, ans->index);
	idn_session_resp_t resp = {sr.mode, idn_bytes(NULL, 0),
				   idn_bytes(NULL, 0)};
	return session_reply_opened(r, orig, id, &resp);
}

int session_reply_opened(reply_t *r, const idn_msg_t *orig, uint32_t id,
			 const idn_session_resp_t *resp)
{
	idn_env_t env = *r->env;
	env.session_id = id;
	reply_t run = *r;
	run.env = &env;
	run.req = orig;
	reply_start(&run, IDN_RC_SUCCESS, 0);
	if (resp != NULL)
		idn_session_resp_encode(&run.w, resp);
	int err = reply_send(&run);
	r->sent = run.sent;
	return err;
}

int do_in_session(reply_t *r, const op_row_t *row)
{
	const authz_who_t *who = &r->sess->s.who;
	assert(r->sess->usable && r->sess->s.bound);
	r->from.who = (principal_t){PRINCIPAL_ADMIN, who->admin, who->index};
	const char *why = "";
	uint32_t rc = op_permit(r, row, &why);
	if (rc != 0)
		return reply_error(r, rc, why);
	return op_run(r, row);
}

int do_session_end(reply_t *r)
{
	handler_t *h = r->h;
	/* a keyed session ends by a request carrying its MAC */
	if (r->sess == NULL || !r->sess->usable ||
	    authz_session_close(h->node->authz, r->env->session_id,
				r->from.peer, h->owner, h->conn) != 0)
		return reply_error(
			r, AUTHZ_RC_SESSION_TIMEOUT,
			r->sess != NULL && r->sess->found
				? "ending a session takes a request carrying "
				  "its MAC"
				: "no such session: expired, ended or of "
				  "another connection");
	reply_start(r, IDN_RC_SUCCESS, 0);
	return reply_send(r);
}

/* Runs the request challenge c held back, now that the admin of answer
 * ans is proven. Its reply answers this message, with the original op
 * code and no session (as the reference does); a refusal answers the
 * answer message itself. */
static void release(reply_t *r, const authz_challenge_t *c,
		    const idn_challenge_answer_t *ans)
{
	idn_msg_t orig;
	if (idn_msg_decode(c->frame + IDN_ENV_LEN, c->len - IDN_ENV_LEN,
			   &orig) != 0) {
		reply_error(r, IDN_RC_ERROR, "challenged request lost");
		return;
	}
	const op_row_t *row = optable_find(orig.hdr.op);
	if (row == NULL) {
		reply_error(r, IDN_RC_ERROR, "challenged request lost");
		return;
	}
	if (row->answered != NULL) {
		row->answered(r, &orig, ans);
		return;
	}
	/* in a keyed session: it runs as the admin who answered from now on
	 * (the one its setup named, if it named one; the answer must come
	 * from the session's network), and the reply keeps its id, as the
	 * reference's does */
	authz_sess_t in;
	if (c->session != 0 &&
	    (authz_session_find(r->h->node->authz, c->session, r->from.peer,
				r->h->owner, r->h->conn, &in) != 0 ||
	     authz_session_bind(r->h->node->authz, c->session, ans->admin,
				ans->index) != 0)) {
		reply_error(r, IDN_RC_AUTH_FAILED,
			    "the session is another admin's or network's (or "
			    "expired)");
		return;
	}
	if (c->session != 0)
		log_info("session %08x opened for %.*s:%u", c->session,
			 (int)(ans->admin.len > 200 ? 200 : ans->admin.len),
			 ans->admin.p, ans->index);
	idn_env_t env = *r->env;
	env.session_id = c->session;
	reply_t run = *r;
	run.env = &env;
	run.req = &orig;
	run.frame = c->frame;
	run.frame_len = c->len;
	run.from.who = (principal_t){PRINCIPAL_ADMIN, ans->admin, ans->index};
	const char *why = "";
	uint32_t rc = op_permit(&run, row, &why);
	if (rc != 0) {
		/* the refusal answers the answer; the audit line names the
		 * request and the admin refused */
		reply_t refused = *r;
		refused.audit_req = &orig;
		refused.from.who = run.from.who;
		reply_error(&refused, rc, why);
		r->sent = refused.sent;
		return;
	}
	op_run(&run, row);
	r->sent = run.sent;
}

/* The audit line of a refused challenge answer (docs/audit.md): who it
 * claimed to be, and the request it was for when the challenge is known
 * (c NULL: expired, answered already or never made). */
static void audit_answer_refused(reply_t *r, const authz_challenge_t *c,
				 uint32_t rc, const char *why)
{
	handler_t *h = r->h;
	audit_rec_t rec = {.event = AUDIT_AUTH,
			   .who = &r->from.who,
			   .transport = r->from.transport,
			   .peer = r->from.peer,
			   .op = "challenge answer",
			   .rc = rc,
			   .error = why,
			   .method = "challenge answer"};
	idn_challenge_answer_t ans;
	if (idn_challenge_answer_decode(r->req->rest, &ans) == 0) {
		rec.claimed = ans.admin;
		rec.claimed_index = ans.index;
	}
	idn_msg_t orig;
	const op_row_t *row = NULL;
	if (c != NULL && idn_msg_decode(c->frame + IDN_ENV_LEN,
					c->len - IDN_ENV_LEN, &orig) == 0)
		row = optable_find(orig.hdr.op);
	if (row != NULL) {
		rec.op = row->name;
		if (row->audit != NULL)
			row->audit(&orig, &h->arena, &rec);
	}
	audit_write(h->node->audit, &rec);
}

int do_answer(reply_t *r)
{
	handler_t *h = r->h;
	authz_challenge_t *c = authz_take(h->node->authz, r->env->session_id);
	if (c == NULL) {
		const char *why = "no such challenge: expired or already "
				  "answered";
		if (h->node->audit != NULL)
			audit_answer_refused(r, NULL, IDN_RC_AUTH_TIMEOUT, why);
		return reply_error(r, IDN_RC_AUTH_TIMEOUT, why);
	}
	idn_challenge_answer_t ans;
	const char *why = "";
	uint32_t rc =
		authz_check_answer(h->node->authz, r->from.peer, h->rtxn,
				   &h->arena, c, r->req->rest, &ans, &why);
	if (rc != 0 && h->node->audit != NULL)
		audit_answer_refused(r, c, rc, why);
	if (rc != 0)
		reply_error(r, rc, why);
	else
		release(r, c, &ans);
	free(c);
	return 0;
}
