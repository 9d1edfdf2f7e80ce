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

#endif
