/* What handler.c shares with the files that hold the operations of the op
 * table (optable.h): resolve.c, session.c, node_ops.c, admin_ops.c. The
 * reply being built for one request, who asks, and the helpers. Internal
 * to the daemon. */
#ifndef IDN_NODE_HANDLER_INT_H
#define IDN_NODE_HANDLER_INT_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>

#include "authz.h"
#include "handler.h"
#include "msg.h"
#include "principal.h"
#include "wire.h"

#define STAT(h, field)                                                         \
	atomic_fetch_add_explicit(&(h)->stats.field, 1, memory_order_relaxed)

/* The session a request's envelope names (authz.h), as far as the request
 * may use it. */
typedef struct {
	int err;      /* authz_session_find's answer */
	bool found;   /* live, and this request's connection or network's */
	bool usable;  /* found, and keyed ones: the request carries its MAC */
	bool mac;     /* the session MAC verified, with counter */
	bool enc;     /* the request came encrypted: so goes its reply */
	bool by_conn; /* the key of its connection's session, not named */
	uint32_t counter;
	authz_sess_t s;
} req_sess_t;

typedef struct {
	handler_t *h;
	const idn_env_t *env;
	const idn_msg_t *req; /* NULL when the request did not decode */
	emit_fn emit;
	void *ctx;
	idn_wr_t w;
	idn_msg_mark_t mark;
	int sent;
	const uint8_t *frame; /* the request frame, for a challenge */
	size_t frame_len;
	/* who asks: an anonymous network caller becomes PRINCIPAL_ADMIN for
	 * the request a challenge answer or a session releases (admin
	 * then points into the answer or the session's copy) */
	caller_t from;
	/* for the audit log (handler.c): the text of a refusal; the request
	 * the reply is about when it is not req (a challenge answer refused
	 * the request it released); the challenge path's own replies, which
	 * are no attempt yet; the records a bulk create created */
	const char *errtext;
	const idn_msg_t *audit_req;
	bool noaudit;
	uint32_t created;
	/* the request's session (NULL: none looked up) */
	req_sess_t *sess;
} reply_t;

/* Reply building (handler.c): reply_start begins the reply message with
 * response code rc; reply_send finishes and emits it; reply_error sends
 * rc with an error text; reply_lib_error maps a library error to a
 * response code and sends it. The int ones return 0 or the emit error. */
void reply_start(reply_t *r, uint32_t rc, uint32_t extra_flags);
int reply_send(reply_t *r);
int reply_error(reply_t *r, uint32_t rc, const char *text);
int reply_lib_error(reply_t *r, int err);

/* Whether r->from may run r->req by its op table row (handler.c): 0 for
 * the operator, for anyone when the row's minimum is anonymous, and for a
 * proven admin whose rights the row's rights function grants; else the
 * response code to refuse with and *why its text. */
struct op_row;
uint32_t op_permit(const reply_t *r, const struct op_row *row,
		   const char **why);

/* Runs r->req by its row once op_permit passed (handler.c); a caller
 * below the row's minimum is refused, whatever called. Returns 0, the
 * emit error or HANDLER_DEFER (rows that defer themselves). */
int op_run(reply_t *r, const struct op_row *row);

/* Adds the counters of from to to (handler.c). */
void handler_stats_add(handler_stats_t *to, handler_stats_t *from);

/* Parses text into h->id (resolve.c). Returns 0 or an IDN_E* error. */
int parse_id(handler_t *h, idn_bytes_t text);

/* Whether this node may change the identifier id (resolve.c): 1, 0, or a
 * negative error from the store. */
int responsible(handler_t *h, const idn_ident_t *id);

/* Resolution (resolve.c): answers from the store, refers, or resolves
 * recursively; HANDLER_DEFER when a non-blocking handler would have to
 * wait on other nodes. What the caller sees follows r->from. */
int do_resolve(reply_t *r);

/* Challenges and sessions (session.c). do_challenge holds the request
 * back behind a challenge (rc 402; in a keyed session, named by the
 * session's id); do_answer checks a challenge answer (op 200) and runs
 * the request it releases as the proven admin, binding the session it
 * was in to that admin; do_session_setup answers a session setup (op
 * 400): a Diffie-Hellman one over UDP or TCP opens a keyed session at
 * once, the national SDK's (mode 3) one of its TCP connection with an SM4
 * key, one without a key exchange is challenged on a TCP connection;
 * do_session_end ends one (op 401); do_in_session runs an admin op as the
 * admin of the session named in the envelope. */
int do_challenge(reply_t *r);
int do_answer(reply_t *r);
int do_session_setup(reply_t *r);
int do_session_end(reply_t *r);
/* The session a checked answer to the session setup orig opens for the
 * admin of ans on this TCP connection; the reply to the answer r carries
 * its id in the envelope. */
int session_open(reply_t *r, const idn_msg_t *orig,
		 const idn_challenge_answer_t *ans);
/* Answers r, the checked answer that released orig, once session id is
 * open for it: success to orig with id in the envelope and resp as the
 * body (NULL: none). Shared by session_open and login_open. */
int session_reply_opened(reply_t *r, const idn_msg_t *orig, uint32_t id,
			 const idn_session_resp_t *resp);
int do_in_session(reply_t *r, const struct op_row *row);

/* The national system's admin proofs (login.c, docs/national.md).
 * do_login challenges a key login (op 2001) on a TCP connection whose
 * envelope names the session id the client chose; login_open, once the
 * answer is checked, binds that id to this connection and the admin of
 * ans, and replies rc 1. login_token_reader checks the token of a
 * resolution (an RS256 or SM2 JWT with user_handle, user_index and a
 * timestamp in ms, signed by that admin's HS_PUBKEY), its check charged
 * to from's network (authz_token_charge): NULL with the admin in *who
 * (its bytes in h's arena), or why it is refused and in *rc the response
 * code to refuse with (403, or 3 over the network's budget). */
int do_login(reply_t *r);
int login_open(reply_t *r, const idn_msg_t *orig,
	       const idn_challenge_answer_t *ans);
const char *login_token_reader(handler_t *h, const caller_t *from,
			       idn_bytes_t token, principal_t *who,
			       uint32_t *rc);
/* The public key at value index of identifier text (an HS_PUBKEY), or
 * NULL; free it with EVP_PKEY_free. */
EVP_PKEY *login_admin_key(handler_t *h, idn_bytes_t text, uint32_t index);

/* The node's own operations (node_ops.c): site info, listings, search,
 * the search index's declared types, counters, the recursive cache. */
int do_site_info(reply_t *r);
int do_list(reply_t *r);
int do_list_homed(reply_t *r);
int do_search(reply_t *r);
int do_index(reply_t *r);
int do_stats(reply_t *r);
int do_cache_flush(reply_t *r);
/* Reloads the configuration (reload.h) and replies with its JSON report
 * as one string. */
int do_reload(reply_t *r);
/* Backups (backup_ops.c): op 1106 copies the store into the directory
 * its body names and replies with the copy's figures as JSON; op 1003,
 * HANDLE.NET's BACKUP_SERVER, makes a dated copy under backup-dir and
 * replies with an empty body, as HANDLE.NET does. */
int do_backup(reply_t *r);
int do_backup_server(reply_t *r);
/* Lists, adds or removes SNMS login accounts (account.c): body u32
 * action (ACCOUNT_OP_*), name, admin, u32 index, password; replies u32
 * count, then name, admin, u32 index per account. */
int do_account(reply_t *r);

/* The administrative write operations (admin_ops.c): create, add, modify
 * and remove values; the bulk create of the control socket; delete;
 * home and unhome. Each replies to r->req and returns 0 or the emit
 * error. */
int do_values_op(reply_t *r);
int do_bulk_create(reply_t *r);
int do_remove(reply_t *r);
int do_delete(reply_t *r);
int do_home(reply_t *r);

#endif
