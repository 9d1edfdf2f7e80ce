/* The change log: every committed change of a store, in commit order, with
 * what a follower needs to replay it (store.h; docs/architecture.md, The
 * change log).
 *
 * Each successful write operation of a write transaction (create, delete,
 * add, modify, remove, home, unhome, index add/remove) becomes one entry,
 * written by the backend in the same transaction as the change, so the log
 * holds exactly what was committed. An entry has a 64-bit id (ascending in
 * commit order, never reused: the newest entry survives every pruning),
 * the commit time in milliseconds, the operation, the principal the node
 * named with idn_wtxn_set_actor, the identifier (or prefix, or type) and a
 * body: the operation's arguments in wire encodings, so replaying the
 * entries in order on a copy of the store at their start gives the same
 * store (idn_wtxn_replay).
 *
 * Bodies (big-endian):
 *   create, add   u8 flags (1: overwrite), u32 n, n values
 *                 (idn_value_encode)
 *   modify        u32 n, n values
 *   remove        u32 n, n × u32 index
 *   others        empty
 *
 * Pruning (idn_store_changes_prune) drops the oldest entries older than an
 * age or beyond a count, never the newest; a follower whose position is
 * before the first kept entry must copy the whole store again. */
#ifndef IDN_CHANGES_H
#define IDN_CHANGES_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "store.h"

enum {
	IDN_CH_CREATE = 1,
	IDN_CH_DELETE = 2,
	IDN_CH_ADD = 3,
	IDN_CH_MODIFY = 4,
	IDN_CH_REMOVE = 5,
	IDN_CH_HOME = 6,
	IDN_CH_UNHOME = 7,
	IDN_CH_INDEX_ADD = 8,
	IDN_CH_INDEX_REMOVE = 9,
};

typedef struct {
	uint64_t id;
	uint64_t time_ms; /* Unix time of the commit, milliseconds */
	uint32_t op;	  /* IDN_CH_* */
	idn_bytes_t actor;
	idn_bytes_t name; /* identifier as given, prefix, or type */
	idn_bytes_t body;
} idn_change_t;

/* The operation's name ("create", ...; "?" for an unknown one). */
const char *idn_change_op_name(uint32_t op);

/* Names the principal of the transaction's next operations (at most 255
 * bytes are kept; NULL or "": unnamed). */
void idn_wtxn_set_actor(idn_wtxn_t *t, const char *actor);

/* The log's bounds in t's snapshot: *first, the oldest entry kept, and
 * *next, the id the next commit's first entry gets (first == next: the log
 * is empty). Returns 0 or a store error. */
int idn_changes_bounds(idn_rtxn_t *t, uint64_t *first, uint64_t *next);

/* Calls cb for the entries with ids from `from` on, in order, at most max
 * of them (0: all), in t's snapshot; the entry's bytes live until the next
 * call of cb. A non-zero return of cb stops the walk and is returned.
 * Returns 0, IDN_ECORRUPT (an entry fails its check), or a store error. */
typedef int (*idn_change_cb)(void *ctx, const idn_change_t *c);
int idn_changes_read(idn_rtxn_t *t, uint64_t from, uint32_t max,
		     idn_change_cb cb, void *ctx);

/* Drops entries older than older_than_ms (Unix ms; 0: no age limit) and
 * the oldest beyond keep_max (0: no count limit), never the newest, in
 * transactions of its own. *pruned counts them. */
int idn_store_changes_prune(idn_store_t *s, uint64_t older_than_ms,
			    uint64_t keep_max, uint64_t *pruned);

/* Applies a change as its operation did (a follower replaying a log);
 * id_flags: idn_ident_parse's, as the node that wrote it parses
 * identifiers. Returns what that operation returns, or IDN_EMALFORMED for
 * a body that does not decode. */
int idn_wtxn_replay(idn_wtxn_t *t, const idn_change_t *c, unsigned id_flags,
		    idn_arena_t *a);

/* ---- for the backends (store_impl.h) ---- */

/* An entry as the generic layer hands it to the backend: everything but
 * the id, which the backend gives it (ids of one commit are consecutive). */
void idn__change_encode(idn_wr_t *w, uint64_t time_ms, uint32_t op,
			idn_bytes_t actor, idn_bytes_t name, idn_bytes_t body);
/* Decodes what idn__change_encode wrote into c (c->id untouched).
 * Returns 0 or IDN_ECORRUPT. */
int idn__change_decode(const uint8_t *p, size_t len, idn_change_t *c);

/* Notes a successful operation of t (store.c, search.c): v or idx and n
 * its arguments, overwrite its flag. */
void idn__changes_note(idn_wtxn_t *t, uint32_t op, idn_bytes_t name,
		       const idn_value_t *v, const uint32_t *idx, uint32_t n,
		       bool overwrite);
/* Hands t's entries to the backend, before its commit. */
int idn__changes_flush(idn_wtxn_t *t);
/* Frees t's pending entries (commit and abort). */
void idn__changes_free(idn_wtxn_t *t);

#endif
