/* A thread that runs a task now and then (ticker.h). */
#include "ticker.h"

#include <time.h>

static void *ticker_main(void *arg)
{
	ticker_t *t = arg;
	pthread_mutex_lock(&t->mu);
	while (!t->stop && t->wait_s >= 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += t->wait_s;
		pthread_cond_timedwait(&t->cond, &t->mu, &ts);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->mu);
		int next = t->run(t->ctx);
		pthread_mutex_lock(&t->mu);
		t->wait_s = next;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int ticker_start(ticker_t *t, int wait_s, ticker_fn run, void *ctx)
{
	t->run = run;
	t->ctx = ctx;
	t->wait_s = wait_s;
	t->stop = false;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->started = pthread_create(&t->thread, NULL, ticker_main, t) == 0;
	if (!t->started) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cond);
	}
	return t->started ? 0 : -1;
}

void ticker_stop(ticker_t *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cond);
	t->started = false;
}
