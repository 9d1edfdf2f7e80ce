/* The national system's ways of proving an admin (docs/national.md): the
 * key login (op 2001) of the IDIS SDK, which binds a session id the client
 * chose to its TCP connection, and the token a resolution may carry
 * (idn_resolve_req_t.token). Both end as PRINCIPAL_ADMIN, whose rights
 * and visibility follow authz.h like any other admin's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "authz.h"
#include "error.h"
#include "handler_int.h"
#include "idtoken.h"
#include "log.h"
#include "record.h"

/* How far a token's timestamp may lie from the node's clock. */
#define LOGIN_TOKEN_SKEW_MS (300 * 1000LL)

int do_login(reply_t *r)
{
	handler_t *h = r->h;
	idn_login_req_t lr;
	if (idn_login_req_decode(r->req->rest, &lr) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed login request");
	if (h->conn == 0)
		return reply_error(r, IDN_RC_NOT_SUPPORTED,
				   "login needs a TCP connection");
	if (r->env->session_id == 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "login names no session id in its envelope");
	/* the SDK expects the standard challenge, with op 2001 */
	return do_challenge(r);
}

int login_open(reply_t *r, const idn_msg_t *orig,
	       const idn_challenge_answer_t *ans)
{
	handler_t *h = r->h;
	idn_login_req_t lr;
	if (idn_login_req_decode(orig->rest, &lr) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed login request");
	if (!idn_bytes_eq(lr.admin, ans->admin) || lr.index != ans->index)
		return reply_error(r, IDN_RC_AUTH_FAILED,
				   "the answer proves another admin than the "
				   "login names");
	if (h->conn == 0)
		return reply_error(r, IDN_RC_NOT_SUPPORTED,
				   "login needs a TCP connection");
	/* the challenge kept the whole login frame and orig was decoded
	 * from just past its envelope (session.c): the session id the
	 * client chose is there */
	const uint8_t *kept = orig->signed_part.p - IDN_ENV_LEN;
	uint32_t id = idn_env_session(kept);
	if (idn_env_msg_len(kept) < orig->signed_part.len || id == 0)
		return reply_error(r, IDN_RC_ERROR, "challenged login lost");
	int err = authz_session_open_as(h->node->authz, h->owner, h->conn,
					ans->admin, ans->index,
					h->conf->session_lifetime, id);
	if (err)
		return reply_error(
			r, err == -EBUSY ? IDN_RC_TOO_BUSY : IDN_RC_ERROR,
			"cannot open a session");
	log_info("login: session %08x for %.*s:%u", id,
		 (int)(ans->admin.len > 200 ? 200 : ans->admin.len),
		 ans->admin.p, ans->index);
	return session_reply_opened(r, orig, id, NULL);
}

/* ---- resolution tokens ---- */

EVP_PKEY *login_admin_key(handler_t *h, idn_bytes_t text, uint32_t index)
{
	idn_ident_t id;
	idn_record_t rec;
	if (idn_ident_parse(text.p, text.len, 0, &id) != 0 ||
	    idn_store_get(h->rtxn, id.key, id.key_len, &rec) != 0)
		return NULL;
	idn_rd_t rd;
	idn_rd_init(&rd, rec.values.p, rec.values.len);
	for (uint32_t i = 0; i < rec.nvalues && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, &h->arena, &v);
		EVP_PKEY *k = NULL;
		if (!rd.err && v.index == index &&
		    idn_bytes_eq_str(v.type, "HS_PUBKEY") &&
		    idn_pubkey_load(v.data, &k) == 0)
			return k;
	}
	return NULL;
}

const char *login_token_reader(handler_t *h, const caller_t *from,
			       idn_bytes_t token, principal_t *who,
			       uint32_t *rc)
{
	idn_idtoken_t t;
	*rc = IDN_RC_AUTH_FAILED;
	if (idn_idtoken_decode(token, &t) != 0)
		return "malformed token";
	const char *why = NULL;
	uint8_t *admin = idn_arena_alloc(&h->arena, t.admin_len);
	EVP_PKEY *k =
		admin == NULL
			? NULL
			: login_admin_key(h, idn_bytes(t.admin, t.admin_len),
					  t.index);
	if (k == NULL)
		why = "no usable HS_PUBKEY at the token's admin and index";
	/* priced and charged as a challenge answer's check is: the key
	 * is the admin's, the request anyone's */
	uint64_t cost = k ? authz_pubkey_cost(EVP_PKEY_bits(k)) : 0;
	if (k != NULL &&
	    authz_token_charge(h->node->authz, from->peer, cost, &why) != 0) {
		*rc = IDN_RC_TOO_BUSY;
		EVP_PKEY_free(k);
		k = NULL;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (k != NULL) {
		if (idn_idtoken_verify(&t, k, now, LOGIN_TOKEN_SKEW_MS, &why) ==
		    0) {
			memcpy(admin, t.admin, t.admin_len);
			*who = (principal_t){PRINCIPAL_ADMIN,
					     idn_bytes(admin, t.admin_len),
					     t.index, NULL};
		}
		authz_charge_done(h->node->authz, from->peer, cost);
	}
	EVP_PKEY_free(k);
	idn_idtoken_free(&t);
	if (why != NULL)
		log_debug("resolution token refused: %s", why);
	return why;
}
