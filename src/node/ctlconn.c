/* Serving one control connection, with group commit of bulk creates
 * (ctlconn.h). */
#include "ctlconn.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "msg.h"

#define QUEUE_MAX 32 /* requests read ahead: at most 8 MiB */
#define GROUP_MAX 16 /* bulk creates in one commit */

typedef struct {
	uint8_t *p;
	size_t len;
} frame_t;

typedef struct {
	int fd;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* the queue changed */
	frame_t q[QUEUE_MAX];
	unsigned head, n;
	bool eof;     /* the reader has ended */
	bool quit;    /* the server side is done: the reader stops */
	uint8_t *out; /* a group's replies, sent after its commit */
	size_t out_len, out_cap;
	bool out_lost; /* a reply did not fit in memory */
} conn_t;

static int read_full(int fd, uint8_t *p, size_t n)
{
	return idn_read_all(fd, p, n) == 0 ? 0 : -1;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Whether a frame is a bulk create: the message header begins with the
 * operation code. */
static bool is_bulk(const frame_t *f)
{
	return f->len >= IDN_ENV_LEN + IDN_HDR_LEN &&
	       be32(f->p + IDN_ENV_LEN) == IDN_OC_BULK_CREATE;
}

/* Reads frames into the queue until the connection ends or fails. */
static void *reader_main(void *arg)
{
	conn_t *c = arg;
	for (;;) {
		uint8_t env_buf[IDN_ENV_LEN];
		if (read_full(c->fd, env_buf, IDN_ENV_LEN) != 0)
			break;
		idn_env_t env;
		int err = idn_env_decode(env_buf, IDN_ENV_LEN, &env);
		/* a bad version still fills env in, msg_len unchecked: it
		 * must not be read */
		if (err == IDN_ETOOLONG || err == IDN_EMALFORMED ||
		    env.msg_len > IDN_MSG_MAX)
			break;
		frame_t f = {malloc(IDN_ENV_LEN + env.msg_len),
			     IDN_ENV_LEN + env.msg_len};
		if (f.p == NULL) {
			log_error("control connection: out of memory");
			break;
		}
		memcpy(f.p, env_buf, IDN_ENV_LEN);
		if (read_full(c->fd, f.p + IDN_ENV_LEN, env.msg_len) != 0) {
			free(f.p);
			break;
		}
		pthread_mutex_lock(&c->mu);
		while (c->n == QUEUE_MAX && !c->quit)
			pthread_cond_wait(&c->cond, &c->mu);
		bool quit = c->quit;
		if (!quit) {
			c->q[(c->head + c->n) % QUEUE_MAX] = f;
			c->n++;
			pthread_cond_broadcast(&c->cond);
		}
		pthread_mutex_unlock(&c->mu);
		if (quit) {
			free(f.p);
			break;
		}
	}
	pthread_mutex_lock(&c->mu);
	c->eof = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Takes the next frame (waiting for one); false when there is none left.
 * With bulk_only, takes a bulk create already queued or returns false. */
static bool take(conn_t *c, frame_t *f, bool bulk_only)
{
	bool got = false;
	pthread_mutex_lock(&c->mu);
	while (!bulk_only && c->n == 0 && !c->eof)
		pthread_cond_wait(&c->cond, &c->mu);
	if (c->n > 0 && (!bulk_only || is_bulk(&c->q[c->head]))) {
		*f = c->q[c->head];
		c->head = (c->head + 1) % QUEUE_MAX;
		c->n--;
		got = true;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->mu);
	return got;
}

static int out_emit(void *ctx, const uint8_t *frame, size_t len)
{
	conn_t *c = ctx;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 65536;
		while (cap < c->out_len + len)
			cap *= 2;
		uint8_t *p = realloc(c->out, cap);
		if (p == NULL) {
			c->out_lost = true;
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, frame, len);
	c->out_len += len;
	return 0;
}

/* Whoever may open the control socket is the operator: its file
 * permissions are the access control. */
static const caller_t ctl_caller = {TRANSPORT_CONTROL,
				    {PRINCIPAL_OPERATOR, {NULL, 0}, 0}};

static void process(handler_t *h, const frame_t *f, emit_fn emit, void *ctx)
{
	uint64_t t0 = reqlat_now();
	if (handler_begin(h) == 0)
		handler_process(h, f->p, f->len, &ctl_caller, emit, ctx);
	else
		handler_busy(h, f->p, f->len, &ctl_caller, emit, ctx);
	handler_end(h);
	reqlat_since(&h->stats.lat[TRANSPORT_CONTROL], t0);
}

/* Processes the bulk creates g[0..n) in one transaction (ctlconn.h). */
static void run_group(conn_t *c, handler_t *h, const frame_t *g, int n,
		      emit_fn emit, void *ctx)
{
	idn_wtxn_t *t;
	bool broken = idn_wtxn_begin(h->store, &t) != 0;
	if (!broken) {
		h->group = t;
		h->group_broken = false;
		h->group_created = 0;
		c->out_len = 0;
		c->out_lost = false;
		for (int i = 0; i < n && !h->group_broken; i++)
			process(h, &g[i], out_emit, c);
		broken = h->group_broken;
		h->group = NULL;
		if (!broken && c->out_lost) {
			/* an answer would be missing: undo, answer alone */
			idn_wtxn_abort(t);
			broken = true;
		}
		int err = broken ? 0 : idn_wtxn_commit(t);
		if (err == IDN_EUNKNOWN_OUTCOME) {
			/* done again, a batch could be applied twice or
			 * answered "exists": each is told to resolve */
			act_discard(h->act);
			/* the lines gathered as successes are not true */
			handler_audit_group(h, false);
			for (int i = 0; i < n; i++)
				handler_fail(h, g[i].p, g[i].len, &ctl_caller,
					     err, emit, ctx);
			return;
		}
		broken = broken || err != 0;
	}
	handler_audit_group(h, !broken);
	if (!broken) {
		act_commit(h->act); /* the group's registrations */
		atomic_fetch_add_explicit(&h->stats.writes, h->group_created,
					  memory_order_relaxed);
		log_debug("control: one commit for %d bulk creates", n);
		if (c->out_len > 0)
			emit(ctx, c->out, c->out_len);
		return;
	}
	/* nothing of the group is stored: each batch again, alone (counted
	 * as requests already) */
	log_debug("control: a group of %d bulk creates failed, each "
		  "processed again alone",
		  n);
	act_discard(h->act);
	bool redo = h->redo;
	h->redo = true;
	for (int i = 0; i < n; i++)
		process(h, &g[i], emit, ctx);
	h->redo = redo;
}

void ctl_conn_serve(handler_t *h, int fd, atomic_int *stop, emit_fn emit,
		    void *ctx)
{
	conn_t c = {.fd = fd};
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cond, NULL);
	pthread_t reader;
	if (pthread_create(&reader, NULL, reader_main, &c) != 0) {
		log_error("control connection: cannot start its reader");
		goto out;
	}
	frame_t g[GROUP_MAX];
	while (!atomic_load(stop) && take(&c, &g[0], false)) {
		if (!is_bulk(&g[0])) {
			process(h, &g[0], emit, ctx);
			free(g[0].p);
			continue;
		}
		int n = 1;
		while (n < GROUP_MAX && take(&c, &g[n], true))
			n++;
		if (n == 1)
			process(h, &g[0], emit, ctx);
		else
			run_group(&c, h, g, n, emit, ctx);
		for (int i = 0; i < n; i++)
			free(g[i].p);
	}
	/* end the reader: no more queueing, and its read returns */
	pthread_mutex_lock(&c.mu);
	c.quit = true;
	pthread_cond_broadcast(&c.cond);
	pthread_mutex_unlock(&c.mu);
	shutdown(fd, SHUT_RD);
	pthread_join(reader, NULL);
	while (c.n > 0) {
		free(c.q[c.head].p);
		c.head = (c.head + 1) % QUEUE_MAX;
		c.n--;
	}
out:
	free(c.out);
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.mu);
}
