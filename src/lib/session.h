/* An authenticated admin session on one TCP connection (docs/architecture.md,
 * Wire protocol; ops 400/401): set up once with a challenge answered by the
 * caller, then any number of administrative requests run as that admin without
 * further challenges, until the session is terminated, expires or the
 * connection closes. For bulk clients. */
#ifndef IDN_SESSION_H
#define IDN_SESSION_H

#include <stdint.h>

#include "net.h"
#include "wire.h"

/* Writes the body of an op 200 challenge answer for the node's nonce and
 * the request digest into w. Returns 0 or an error, which the open
 * returns. */
typedef int (*idn_answer_fn)(void *ctx, idn_bytes_t nonce, idn_bytes_t digest,
			     idn_wr_t *w);

typedef struct idn_session idn_session_t;

/* Connects to where ("HOST:PORT") by TCP and sets up a session: op 400
 * asking for lifetime seconds (0: the node's), the node's challenge
 * answered through answer(actx, ...). Returns 0 with *out (free with
 * idn_session_close); IDN_EAUTH when the node refuses, with its response
 * code in *rc (e.g. 403); IDN_EPROTO, IDN_ETIMEOUT, -errno. */
int idn_session_open(const char *where, int timeout_ms, uint32_t lifetime,
		     idn_answer_fn answer, void *actx, idn_session_t **out,
		     uint32_t *rc);

/* The node's id of the session. */
uint32_t idn_session_id(const idn_session_t *s);

/* Sends one request message (header + body + credential, no envelope) in
 * the session; replies go to cb as with idn_client_call. */
int idn_session_call(idn_session_t *s, const uint8_t *msg, size_t len,
		     idn_reply_cb cb, void *ctx);

/* Ends the session (op 401) and closes the connection; NULL is ignored.
 * Returns 0, or the error of the 401 exchange (the connection is closed
 * either way). */
int idn_session_close(idn_session_t *s);

#endif
