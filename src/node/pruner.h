/* Keeps the change log within the node's limits (changes.h): a thread
 * that drops the entries older than changelog-max-age and the oldest
 * beyond changelog-max-entries at start and once a minute, the newest
 * always kept.
 * A follower behind what is left copies the whole store again. */
#ifndef IDN_PRUNER_H
#define IDN_PRUNER_H

#include <stdbool.h>

#include "config.h"
#include "store.h"
#include "ticker.h"

typedef struct {
	idn_store_t *store;
	const node_conf_t *conf;
	ticker_t ticker;
} pruner_t;

/* Starts the thread (nothing when both limits are 0), pruning once first
 * when now (not while the store's primary is known down: its outage is
 * logged once, by the start-up). Returns 0 or -1, logged. */
int pruner_start(pruner_t *p, idn_store_t *store, const node_conf_t *conf,
		 bool now);
void pruner_stop(pruner_t *p);

#endif
