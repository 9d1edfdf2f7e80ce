/* A client's session with a Handle server (docs/architecture.md, Wire
 * protocol, "Sessions"; ops 400/401), set up as HANDLE.NET's clients do:
 * a Diffie-Hellman key exchange (hsession.h) gives a session key; every
 * request in the session carries the key's MAC; the first administrative
 * request is challenged and its answer binds the session to the admin;
 * later ones run without a challenge, until the session ends or expires.
 * Works with idnode and HANDLE.NET servers, over TCP (one connection per
 * request when the server closes it after each reply, as HANDLE.NET's
 * does) or UDP. For bulk clients. */
#ifndef IDN_SESSION_H
#define IDN_SESSION_H

#include <stdint.h>

#include "net.h"
#include "wire.h"

/* Writes the body of an op 200 challenge answer for the node's nonce and
 * the request digest into w, signing with hash ("SHA1" for a server
 * speaking a protocol older than 2.7, such as HANDLE.NET 7.3.1, which
 * knows no better; NULL: the key's usual hash). Returns 0 or an error,
 * which the call returns. */
typedef int (*idn_answer_fn)(void *ctx, const char *hash, idn_bytes_t nonce,
			     idn_bytes_t digest, idn_wr_t *w);

typedef struct idn_session idn_session_t;

typedef struct {
	const char *where; /* "HOST:PORT" */
	int transport;	   /* IDN_NET_TCP or IDN_NET_UDP */
	int timeout_ms;
	uint32_t lifetime; /* seconds asked for; 0: the server's */
	/* the admin the session is for: named in the setup, and proven by
	 * answer(actx, ...) when the server challenges; actx must live as
	 * long as the session */
	idn_bytes_t admin;
	uint32_t index;
	idn_answer_fn answer;
	void *actx;
} idn_session_opts_t;

/* Sets a session up with o->where: op 400 with a Diffie-Hellman key
 * exchange. Returns 0 with *out (free with idn_session_close); IDN_EAUTH
 * when the server refuses, with its response code in *rc (e.g. 501);
 * IDN_EPROTO for an answer without a usable key, IDN_ETIMEOUT, -errno. */
int idn_session_open(const idn_session_opts_t *o, idn_session_t **out,
		     uint32_t *rc);

/* The server's id of the session. */
uint32_t idn_session_id(const idn_session_t *s);

/* Sends one request message (header + body + credential, no envelope) in
 * the session: its credential is replaced by the session MAC; a challenge
 * in reply is answered (binding the session to the admin) and the reply
 * to the answer delivered instead. Replies go to cb as with
 * idn_client_call. Returns 0 or its errors. */
int idn_session_call(idn_session_t *s, const uint8_t *msg, size_t len,
		     idn_reply_cb cb, void *ctx);

/* Ends the session (op 401) and closes the connection; NULL is ignored.
 * Returns 0, or the error of the 401 exchange (IDN_EAUTH when the server
 * refused it). */
int idn_session_close(idn_session_t *s);

#endif
