/* The mirror role (docs/replication.md): a thread per source
 * (--replicate-from) copies the source's store (op 1002), then follows its
 * change log (op 1001, long polled), applying each batch with the
 * position reached in one write transaction, so a restart resumes where
 * the store is. Sources that fail are retried with back-off. Internal to
 * the daemon. */
#ifndef IDN_NODE_MIRROR_H
#define IDN_NODE_MIRROR_H

#include <stdbool.h>
#include <stddef.h>

#include "changes.h"
#include "config.h"
#include "store.h"

/* Starts following conf's sources into store (nothing when there are
 * none). Returns 0, or -1 after logging why (a credential that does not
 * load, a bad share). */
int mirror_start(const node_conf_t *conf, idn_store_t *store);
void mirror_stop(void);

/* Whether this node is a mirror, and the source it names to writers. */
bool mirror_active(void);
const char *mirror_primary(void);

/* The follower's state as a JSON object: role, sources with their state
 * (dumping, following, behind, error and its reason), last applied and
 * source txn ids, lag in changes and milliseconds. */
void mirror_status_json(char *out, size_t cap);

/* The same figures for /metrics: the sum over sources of the lag in
 * changes, the largest lag in ms, and how many sources are in error. */
void mirror_metrics(bool *is_mirror, unsigned long long *lag_txns,
		    unsigned long long *lag_ms, unsigned *in_error,
		    unsigned long long *applied);

/* ---- repair (mirror_repair.c) ----
 * A repair takes a source's copy (op 1110, or HANDLE.NET's 1002) on a
 * connection of its own, keeping what it needs; the follower goes on. */

/* Gets one entry of the copy (a create with overwrite per record, a home
 * per prefix, an index add per type); its bytes live until it returns.
 * Non-zero stops the copy. */
typedef int (*mirror_take_fn)(void *ctx, const idn_change_t *c);

/* How many sources this mirror follows (0: not a mirror). */
int mirror_sources(void);
/* Source i's HOST:PORT. */
const char *mirror_source(int i);
/* idn_ident_parse's flags as the mirror parses identifiers. */
unsigned mirror_id_flags(void);
/* Source i's position as the store holds it now: the id of the next
 * change to apply. Returns 0 or a store error. */
int mirror_position(int i, uint64_t *next);
/* Reads source i's whole copy, handing each entry to take; *at is the
 * source's next change id at the copy's snapshot. Returns 0, or an error
 * with why said in why. */
int mirror_fetch(int i, mirror_take_fn take, void *ctx, uint64_t *at, char *why,
		 size_t cap);
/* Holds source i's follower before change id at (1: where it is; 0:
 * lets it go on): changes from at on are not applied until it is
 * released, so the store can be brought to a copy's snapshot exactly.
 * false: a follower of HANDLE.NET's streams, which is not held. */
bool mirror_hold(int i, uint64_t at);
/* Ends a repair's fetch and refuses further ones: the node is stopping
 * (called before the control socket's threads are waited for). */
void mirror_repair_cancel(void);
bool mirror_repair_cancelled(void);

#endif
