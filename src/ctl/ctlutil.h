/* Glue shared by idctl's commands: one request, one reply. */
#ifndef IDN_CTL_CTLUTIL_H
#define IDN_CTL_CTLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "msg.h"
#include "wire.h"

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

/* Splits "ADMIN_ID:INDEX" (the last ':' separates; INDEX decimal, at most
 * UINT32_MAX) into *id (a view into s) and *index. Returns 0, or -1 when s
 * is NULL or not of that form. */
int ctl_admin_ref(const char *s, idn_bytes_t *id, uint32_t *index);

/* Reports getopt's complaint about the option arg of `idctl CMD` (c is
 * what getopt returned: ':' for a missing value, else an unknown option)
 * on stderr. Returns 2, the exit status of a usage error. */
int ctl_opt_error(const char *cmd, int c, const char *arg);

#endif
