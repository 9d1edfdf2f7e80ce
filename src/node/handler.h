/* Request processing shared by every transport: one Handle message in, its
 * reply message(s) out through an emit callback. A handler belongs to one
 * thread; it owns a recycled read transaction, an arena and an output
 * buffer, so the read path takes no lock and allocates nothing per
 * request once warm. */
#ifndef IDN_NODE_HANDLER_H
#define IDN_NODE_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "ident.h"
#include "store.h"

/* Receives one complete reply frame (envelope + message). Returns 0, or
 * non-zero to abandon the rest of a multi-message reply. */
typedef int (*emit_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Per-handler counters (read by the owner thread's stats dump). */
typedef struct {
	uint64_t requests;
	uint64_t resolutions;
	uint64_t not_found;
	uint64_t errors;  /* protocol errors and malformed input */
	uint64_t writes;
} handler_stats_t;

typedef struct {
	const node_conf_t *conf;
	idn_store_t *store;
	idn_rtxn_t *rtxn;
	bool snapshot; /* rtxn holds a live snapshot */
	idn_arena_t arena;
	uint8_t *out; /* IDN_ENV_LEN + IDN_MSG_MAX */
	uint32_t now;
	idn_ident_t id;
	handler_stats_t stats;
} handler_t;

int handler_init(handler_t *h, idn_store_t *s, const node_conf_t *conf);
void handler_fini(handler_t *h);

/* Takes a fresh read snapshot and clock for a batch of requests. */
int handler_begin(handler_t *h);
/* Releases the snapshot and the arena after the batch's replies are sent. */
void handler_end(handler_t *h);

enum { TRANSPORT_UDP = 0, TRANSPORT_TCP = 1, TRANSPORT_CONTROL = 2 };

/* Processes one frame (envelope + message, len bytes). Administrative
 * operations are honoured only for TRANSPORT_CONTROL, whose socket's file
 * permissions are the access control. Returns the number of reply frames
 * emitted (0: the input was dropped). Frames point into h->out and are
 * valid during the emit call only. */
int handler_process(handler_t *h, const uint8_t *frame, size_t len,
		    int transport, emit_fn emit, void *ctx);

#endif
