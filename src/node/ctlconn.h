/* Serving one control connection, with group commit of bulk creates
 * (idctl import).
 *
 * A reader thread reads the connection's requests into a bounded queue
 * while the connection's thread processes them in order. idctl keeps
 * several bulk-create batches in flight; the reader keeps taking them off
 * the socket while a commit syncs, and the bulk creates that are waiting
 * in the queue when one is processed are written in ONE store
 * transaction and acknowledged together after its commit: one durable
 * commit for several batches, and nothing acknowledged before the commit
 * that holds it. If a batch of a group would have aborted its own
 * transaction (the store failed, a malformed request) or the commit
 * fails, nothing of the group is stored and each of its batches is
 * processed again alone, so each gets exactly the answer it would have had
 * without grouping. */
#ifndef IDN_NODE_CTLCONN_H
#define IDN_NODE_CTLCONN_H
#include <stdatomic.h>

#include "handler.h"

/* Serves control connection fd with handler h (between requests) until
 * the peer closes it, a frame is malformed beyond answering, or *stop is
 * set; replies go through emit(ctx). Does not close fd. */
void ctl_conn_serve(handler_t *h, int fd, atomic_int *stop, emit_fn emit,
		    void *ctx);
#endif
