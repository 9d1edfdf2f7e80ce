/* A thread that runs a task now and then until the node stops it or the
 * task is done: the change log's pruning (pruner.c), homing deferred
 * while PostgreSQL's primary is down (main.c). */
#ifndef IDN_TICKER_H
#define IDN_TICKER_H

#include <pthread.h>
#include <stdbool.h>

/* Runs the task once, without the ticker's lock; returns the seconds to
 * wait before the next run, or a negative number when the task is done
 * (the thread then ends). */
typedef int (*ticker_fn)(void *ctx);

typedef struct {
	ticker_fn run;
	void *ctx;
	int wait_s; /* until the next run */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop, started;
} ticker_t;

/* Starts the thread, which first runs run(ctx) wait_s seconds from now.
 * Returns 0, or -1 when the thread cannot start (not logged). */
int ticker_start(ticker_t *t, int wait_s, ticker_fn run, void *ctx);
/* Wakes the thread and waits for it to end; nothing when it was not
 * started. */
void ticker_stop(ticker_t *t);

#endif
