/* What handler.c shares with the files that hold some of its operations
 * (admin_ops.c): the reply being built for one request and its helpers.
 * Internal to the daemon. */
#ifndef IDN_NODE_HANDLER_INT_H
#define IDN_NODE_HANDLER_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "authz.h"
#include "handler.h"
#include "msg.h"
#include "wire.h"

#define STAT(h, field)                                                         \
	atomic_fetch_add_explicit(&(h)->stats.field, 1, memory_order_relaxed)

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
	const authz_who_t *reader; /* authenticated reader of a resolution */
} reply_t;

/* Reply building (handler.c): reply_start begins the reply message with
 * response code rc; reply_send finishes and emits it; reply_error sends
 * rc with an error text; reply_lib_error maps a library error to a
 * response code and sends it. The int ones return 0 or the emit error. */
void reply_start(reply_t *r, uint32_t rc, uint32_t extra_flags);
int reply_send(reply_t *r);
int reply_error(reply_t *r, uint32_t rc, const char *text);
int reply_lib_error(reply_t *r, int err);

/* Parses text into h->id (handler.c). Returns 0 or an IDN_E* error. */
int parse_id(handler_t *h, idn_bytes_t text);

/* Whether this node may change the identifier id (handler.c): 1, 0, or a
 * negative error from the store. */
int responsible(handler_t *h, const idn_ident_t *id);

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
