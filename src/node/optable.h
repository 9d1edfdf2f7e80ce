/* The op table: one row per operation the node serves, the only place
 * deciding how a request is dispatched, who may run it, whether a caller
 * below that is challenged, which HS_ADMIN rights it needs and whether it
 * runs off the worker that serves many clients. A new op cannot be added
 * without saying who may run it: handler_process challenges every row
 * whose minimum is PRINCIPAL_ADMIN when it comes from the network
 * anonymously, and runs it only once the row's rights function has
 * passed for the admin proven by the challenge answer or the session.
 * Internal to the daemon (docs/architecture.md, "The op table"). */
#ifndef IDN_NODE_OPTABLE_H
#define IDN_NODE_OPTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "authz.h"
#include "handler_int.h"
#include "principal.h"

/* Where a request runs when the worker that received it must not block. */
typedef enum {
	/* on any handler */
	OP_DEFER_NO = 0,
	/* the handler itself answers HANDLER_DEFER when it would wait on
	 * other nodes (resolution: a recursive lookup missing the cache) */
	OP_DEFER_SELF = 1,
	/* once it is going to run for a proven admin (a challenge answer, a
	 * request in a session), on a blocking handler: its durable commit
	 * would stall the worker's other clients */
	OP_DEFER_RUN = 2,
} op_defer_t;

typedef struct op_row {
	uint32_t code;
	const char *name;
	/* the least principal that runs it: PRINCIPAL_ANONYMOUS (anyone),
	 * PRINCIPAL_ADMIN (a proven admin whose rights pass; an anonymous
	 * network caller is challenged) or PRINCIPAL_OPERATOR (the control
	 * socket and the HTTP admin; refused on the network) */
	principal_kind_t min;
	/* the HS_ADMIN rights an admin needs (rows with min ADMIN only) */
	authz_rights_fn rights;
	op_defer_t defer;
	/* only the network's callers speak it (challenge answers,
	 * sessions): the operator's planes get "not supported" */
	bool network_only;
	/* a request flagged authoritative reads the store's primary, not a
	 * replica that may lag */
	bool reads_primary;
	/* replies to r->req; returns 0, the emit error, or HANDLER_DEFER
	 * (OP_DEFER_SELF rows only) */
	int (*run)(reply_t *r);
	/* what a checked challenge answer does with a request of this op
	 * that it releases (orig, held back by the challenge; ans, the
	 * proven admin), replying to the answer r; NULL: orig runs as that
	 * admin once the row's rights pass */
	int (*answered)(reply_t *r, const idn_msg_t *orig,
			const idn_challenge_answer_t *ans);
	/* a write: every attempt, accepted or refused, is a line of the
	 * audit log, naming what this function finds in the request
	 * (audit.h); NULL for ops that change no data */
	audit_desc_fn audit;
	/* a node-level op: a server admin (--server-admin, HANDLE.NET's
	 * server_admins) runs it without the rights above */
	bool server_admin;
} op_row_t;

/* The row of op code, or NULL when the node does not serve it. */
const op_row_t *optable_find(uint32_t code);

/* Every row, in ascending code order; *n gets their number. */
const op_row_t *optable_rows(size_t *n);

/* Rank of a principal against a row's minimum: anonymous < admin <
 * operator (the HTTP identity ranks as the operator). */
int principal_rank(principal_kind_t kind);

#endif
