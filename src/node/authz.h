/* Authentication and authorisation of administration over the network
 * (DESIGN §5). An administrative request arriving by UDP or TCP is
 * answered with a challenge (rc 402: the request's digest and a nonce; the
 * envelope's session id names the pending challenge). The client answers
 * with op 200 (admin identifier, key index, signature over nonce ||
 * digest, or a MAC keyed with a secret); the answer is checked against the
 * admin's HS_PUBKEY or HS_SECKEY value (auth.h, seckey.h), then
 * the admin's rights in the HS_ADMIN values that govern the target
 * (directly or through HS_VLIST groups), and the original request runs
 * once. This module keeps the pending challenges and makes those checks;
 * the handler builds the replies. */
#ifndef IDN_NODE_AUTHZ_H
#define IDN_NODE_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "msg.h"
#include "store.h"

typedef struct authz authz_t;

/* One pending challenge: the request it holds back and what the answer
 * must sign. */
typedef struct authz_challenge {
	struct authz_challenge *next;
	uint32_t id;	  /* never 0 */
	uint64_t expires; /* idn_now_ms() time */
	uint8_t nonce[16];
	uint8_t digest[20]; /* SHA-1 of the request's header and body */
	size_t len;
	uint8_t frame[]; /* the request: envelope + message */
} authz_challenge_t;

/* Returns 0 or -ENOMEM. */
int authz_new(authz_t **out);
void authz_free(authz_t *a);

/* Holds back the request frame (len bytes; signed_part its header and
 * body) behind a new challenge. Returns 0 with the challenge's id and
 * nonce in *id and nonce, -ENOMEM, or -EBUSY when too many are pending.
 * Thread-safe. */
int authz_challenge(authz_t *a, const uint8_t *frame, size_t len,
		    idn_bytes_t signed_part, uint32_t *id, uint8_t nonce[16]);

/* Takes the pending, unexpired challenge id out of the table (each is
 * answered once), or NULL. The caller frees it with free(). Thread-safe. */
authz_challenge_t *authz_take(authz_t *a, uint32_t id);

/* Checks a challenge answer (op 200 body) against challenge c, reading
 * the admin's key from t. Returns 0 with the decoded answer in *ans (its
 * bytes point into body), or the response code to send with *why set to
 * its message. Allocates from ar. */
uint32_t authz_check_answer(idn_rtxn_t *t, idn_arena_t *ar,
			    const authz_challenge_t *c, idn_bytes_t body,
			    idn_challenge_answer_t *ans, const char **why);

/* 0 when the admin (admin, aidx) may run request m, else the response
 * code (401 insufficient permissions, 100 not found, 102 invalid
 * identifier, 4 malformed). Reads HS_ADMIN values from t, following
 * HS_VLIST groups a few levels deep; allocates from ar. */
uint32_t authz_permit(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
		      idn_bytes_t admin, uint32_t aidx);

/* Is the admin (admin, aidx) a reader of the record whose nvalues encoded
 * values are blob: does one of its HS_ADMIN values with the read-value bit
 * (0x400) name the admin, directly or through HS_VLIST groups? Such a
 * reader sees the record's values that admins may read (0x8) though the
 * public may not. Allocates from ar. */
bool authz_may_read(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t blob,
		    uint32_t nvalues, idn_bytes_t admin, uint32_t aidx);

/* ---- sessions (op 400 setup, 401 terminate) ----
 * An admin who answers the challenge to a session setup is remembered for
 * the TCP connection the answer came on: later requests on it carrying the
 * session id in the envelope run as that admin without a new challenge,
 * until the lifetime ends, 401 terminates it, or the connection closes.
 * idnode's sessions carry no session key (nothing is encrypted or MACed
 * with one), which is why they never leave their connection. A
 * connection is named by its handler (owner) and the handler's id for it
 * (conn, never 0). */

/* Response code for a session id that is unknown, expired or belongs to
 * another connection (the protocol's session timeout). */
#define AUTHZ_RC_SESSION_TIMEOUT 500

/* The admin a session authenticated; admin points into the caller's copy
 * (name). */
typedef struct {
	uint8_t name[IDN_IDENT_MAX];
	idn_bytes_t admin;
	uint32_t index;
} authz_who_t;

/* Opens a session for (admin, index) on connection (owner, conn) for
 * lifetime seconds. Returns 0 with its id, -EBUSY when too many are open,
 * IDN_ETOOLONG for an over-long admin, -ENOMEM. Thread-safe. */
int authz_session_open(authz_t *a, const void *owner, uint64_t conn,
		       idn_bytes_t admin, uint32_t index, uint32_t lifetime,
		       uint32_t *id);

/* Copies the admin of live session id on (owner, conn) into *who.
 * Returns 0 or IDN_ENOTFOUND. Thread-safe. */
int authz_session_get(authz_t *a, uint32_t id, const void *owner, uint64_t conn,
		      authz_who_t *who);

/* Ends session id on (owner, conn); 0 or IDN_ENOTFOUND. */
int authz_session_end(authz_t *a, uint32_t id, const void *owner,
		      uint64_t conn);

/* Ends every session of a connection that closes. */
void authz_conn_closed(authz_t *a, const void *owner, uint64_t conn);

#endif
