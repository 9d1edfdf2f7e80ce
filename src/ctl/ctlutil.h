/* Glue shared by idctl's commands: the one request path (every request
 * idctl sends goes through ctl_call), reply names and printing. */
#ifndef IDN_CTL_CTLUTIL_H
#define IDN_CTL_CTLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arena.h"
#include "msg.h"
#include "wire.h"

/* One request and its replies. on_reply sees each decoded reply (in
 * arena) and returns non-zero to stop reading; rc is the last response
 * code; truncated: a UDP answer came truncated, or with rc 2 or 3 (over
 * the node's UDP or rate limit): ask again over TCP (nothing decoded). */
typedef struct {
	idn_arena_t *arena;
	int (*on_reply)(void *ctx, const idn_env_t *env, const idn_msg_t *m);
	void *ctx;
	int rc;
	bool truncated;
	int err;
	uint32_t session; /* envelope session id to send (challenge answers) */
	bool udp;	  /* set by ctl_call: the request went over UDP */
} ctl_call_t;

/* The reply callback of idn_client_call / idn_session_call behind
 * ctl_call (ctx a ctl_call_t), for callers that open their own session. */
int ctl_reply_cb(void *ctx, const idn_env_t *env, const uint8_t *msg,
		 size_t len);

/* Sends op (flags, body) to where over transport (IDN_NET_*) and feeds
 * the replies to c. Returns 0, -ENOMEM, a transport error or IDN_EPROTO
 * (a reply that is not a message). */
int ctl_call(int transport, const char *where, int timeout_ms, uint32_t op,
	     uint32_t flags, const uint8_t *body, size_t blen, ctl_call_t *c);

/* One request whose (last) reply comes back in *out; a truncated UDP
 * answer is asked again over TCP (timeout_ms bounds each). Reports a
 * transport failure on stderr as "idctl: CMD ID via WHERE: ..." and
 * returns 1 (then *out is NULL); else 0. */
int ctl_call_one(int transport, const char *where, int timeout_ms, uint32_t op,
		 uint32_t flags, const idn_wr_t *body, const char *cmd,
		 const char *id, idn_arena_t *a, const idn_msg_t **out);

/* The name of a response code ("identifier not found"), NULL for a code
 * that has none (the one table of names idctl's commands print). */
const char *ctl_rc_text(int rc);

/* ctl_rc_text's name, "failure" for a code that has none. */
const char *ctl_rc_name(int rc);

/* "idctl: WHAT ID: NAME (rc N): TEXT" on stderr, TEXT the error reply's
 * message when m holds one. */
void ctl_print_failure(const char *what, const char *id, const idn_msg_t *m,
		       int rc);

/* Prints root indented, in insertion order, on stdout. */
void ctl_print_json(json_t *root);

/* The reply to ctl_request: m is decoded from a copy in the arena given
 * (valid until the arena is reset). got: a reply was decoded; truncated:
 * the node answered over UDP with a truncated reply (nothing decoded). */
typedef struct {
	idn_arena_t *a;
	idn_msg_t m;
	bool got, truncated;
	int err;
} ctl_reply_t;

/* Sends the request op (flags, expiry an hour from now, the body written
 * in body) to where over transport (IDN_NET_*) and reads one reply into
 * *r. Returns 0 (then r->got or r->truncated), -ENOMEM, a transport
 * error from idn_client_open/idn_client_call, IDN_ETOOLONG (the body) or
 * IDN_EPROTO (the reply is not a message). */
int ctl_request(int transport, const char *where, int timeout_ms, uint32_t op,
		uint32_t flags, const idn_wr_t *body, idn_arena_t *a,
		ctl_reply_t *r);

/* "idctl: WHAT: refused (rc N): TEXT" on stderr, TEXT the error reply's
 * message when m holds one. */
void ctl_print_refusal(const char *what, const idn_msg_t *m);

/* Checks what ctl_request gave for `idctl WHAT` sent to where: err (or a
 * reply that was not decoded, IDN_EPROTO) is reported as "idctl: WHAT:
 * via WHERE: ERROR", a reply other than success by ctl_print_refusal.
 * Returns 0 when g holds a successful reply, else -1 (reported). */
int ctl_reply_check(const char *what, const char *where, int err,
		    const ctl_reply_t *g);

/* Opens path to read a secret from, when only its owner may read it.
 * Returns the descriptor, or -1 after printing "idctl: HEADcannot read
 * KINDPATH: ERROR" or "idctl: HEADKINDPATH is readable by others (mode
 * M): chmod 600 it"; head ("account: ") and kind ("secret file ") may be
 * "". */
int ctl_open_private(const char *head, const char *kind, const char *path);

/* Splits "ADMIN_ID:INDEX" (the last ':' separates; INDEX decimal, at most
 * UINT32_MAX) into *id (a view into s) and *index. Returns 0, or -1 when s
 * is NULL or not of that form. */
int ctl_admin_ref(const char *s, idn_bytes_t *id, uint32_t *index);

/* Reports getopt's complaint about the option arg of `idctl CMD` (c is
 * what getopt returned: ':' for a missing value, else an unknown option)
 * on stderr. Returns 2, the exit status of a usage error. */
int ctl_opt_error(const char *cmd, int c, const char *arg);

#endif
