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

static void *pruner_main(void *arg)
{
	pruner_t *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += PRUNE_EVERY_S;
		pthread_cond_timedwait(&p->cond, &p->mu, &ts);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->mu);
		prune_once(p);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int pruner_start(pruner_t *p, idn_store_t *store, const node_conf_t *conf,
		 bool now)
{
	memset(p, 0, sizeof(*p));
	if (conf->changelog_max_age == 0 && conf->changelog_max_entries == 0)
		return 0;
	p->store = store;
	p->conf = conf;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (now) /* a node started on an old log starts within it */
		prune_once(p);
	p->started = pthread_create(&p->thread, NULL, pruner_main, p) == 0;
	if (!p->started) {
		log_error("cannot start the change log's pruning thread");
		return -1;
	}
	return 0;
}

void pruner_stop(pruner_t *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	p->started = false;
}
