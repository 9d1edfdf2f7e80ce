/* The change log's pruning thread (pruner.h). */
#include "pruner.h"

#include <string.h>
#include <time.h>

#include "changes.h"
#include "error.h"
#include "log.h"

#define PRUNE_EVERY_S 60

static void prune_once(pruner_t *p)
{
	uint64_t older = 0;
	if (p->conf->changelog_max_age) {
		uint64_t now = (uint64_t)time(NULL);
		if (now > p->conf->changelog_max_age)
			older = (now - p->conf->changelog_max_age) * 1000;
	}
	uint64_t pruned = 0;
	int err = idn_store_changes_prune(
		p->store, older, p->conf->changelog_max_entries, &pruned);
	if (err && err != IDN_ENOPRIMARY)
		log_warn("pruning the change log: %s", idn_strerror(err));
	else if (pruned)
		log_info("change log: %llu entries pruned",
			 (unsigned long long)pruned);
}

static int prune_tick(void *ctx)
{
	prune_once(ctx);
	return PRUNE_EVERY_S;
}

int pruner_start(pruner_t *p, idn_store_t *store, const node_conf_t *conf,
		 bool now)
{
	memset(p, 0, sizeof(*p));
	if (conf->changelog_max_age == 0 && conf->changelog_max_entries == 0)
		return 0;
	p->store = store;
	p->conf = conf;
	if (now) /* a node started on an old log starts within it */
		prune_once(p);
	if (ticker_start(&p->ticker, PRUNE_EVERY_S, prune_tick, p) != 0) {
		log_error("cannot start the change log's pruning thread");
		return -1;
	}
	return 0;
}

void pruner_stop(pruner_t *p)
{
	ticker_stop(&p->ticker);
}
