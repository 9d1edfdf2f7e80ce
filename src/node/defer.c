/* The deferral queue: requests a worker must not run itself, because they
 * block — a recursive resolution waits on other nodes, an admin write over
 * the network commits durably (fsync) — are copied into a bounded queue
 * and run by resolver threads with blocking handlers. A UDP reply goes
 * straight to the client; a TCP reply goes back through the owning
 * worker's inbox, since only that worker writes to the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "server_int.h"

void defer(worker_t *w, const uint8_t *frame, size_t len, int transport,
	   int udp_fd, const struct sockaddr_storage *addr, socklen_t alen,
	   conn_t *conn, emit_fn emit, void *ectx)
{
	server_t *s = w->srv;
	job_t *j = malloc(sizeof(*j) + len);
	pthread_mutex_lock(&s->jobs_lock);
	bool full = s->njobs >= JOBS_MAX || j == NULL;
	if (!full) {
		j->next = NULL;
		j->transport = transport;
		j->udp_fd = udp_fd;
		if (addr)
			memcpy(&j->addr, addr, alen);
		j->alen = alen;
		j->w = w;
		j->conn = conn;
		j->conn_id = conn ? conn->id : 0;
		j->len = len;
		memcpy(j->frame, frame, len);
		if (s->jobs_tail)
			s->jobs_tail->next = j;
		else
			s->jobs_head = j;
		s->jobs_tail = j;
		s->njobs++;
		pthread_cond_signal(&s->jobs_cond);
	}
	pthread_mutex_unlock(&s->jobs_lock);
	if (full) {
		free(j);
		caller_t from = {(transport_t)transport,
				 {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL},
				 addr};
		handler_busy(&w->h, frame, len, &from, emit, ectx);
	}
}

typedef struct {
	job_t *job;
	uint8_t dgram[IDN_UDP_DGRAM_MAX];
} job_emit_t;

static uint8_t *job_slot(void *vctx, size_t n)
{
	(void)n;
	return ((job_emit_t *)vctx)->dgram;
}

static void job_sent(void *vctx, size_t n)
{
	job_emit_t *e = vctx;
	if (sendto(e->job->udp_fd, e->dgram, n, 0,
		   (struct sockaddr *)&e->job->addr, e->job->alen) < 0)
		log_debug("udp send: %s", strerror(errno));
}

/* Sends a deferred request's reply: straight to the client over UDP, or
 * through the owning worker's inbox for a TCP connection. */
static int job_emit(void *vctx, const uint8_t *frame, size_t len)
{
	job_emit_t *e = vctx;
	job_t *j = e->job;
	if (j->transport == TRANSPORT_UDP)
		return udp_datagrams(frame, len, j->w->srv->conf->udp_reply_max,
				     job_slot, job_sent, e);
	inbox_item_t *it = malloc(sizeof(*it) + len);
	if (it == NULL)
		return -1;
	it->conn = j->conn;
	it->conn_id = j->conn_id;
	it->len = len;
	memcpy(it->frame, frame, len);
	pthread_mutex_lock(&j->w->inbox_lock);
	it->next = j->w->inbox;
	j->w->inbox = it;
	pthread_mutex_unlock(&j->w->inbox_lock);
	uint64_t one = 1;
	if (write(j->w->evfd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
	return 0;
}

/* Takes the next job, waiting for one; NULL when the server stops. */
static job_t *next_job(server_t *s)
{
	pthread_mutex_lock(&s->jobs_lock);
	while (s->jobs_head == NULL && !atomic_load(&s->stop))
		pthread_cond_wait(&s->jobs_cond, &s->jobs_lock);
	job_t *j = s->jobs_head;
	if (j != NULL) {
		s->jobs_head = j->next;
		if (s->jobs_head == NULL)
			s->jobs_tail = NULL;
		s->njobs--;
	}
	pthread_mutex_unlock(&s->jobs_lock);
	return j;
}

static void run_job(handler_t *h, job_t *j)
{
	if (handler_begin(h) != 0)
		return;
	job_emit_t e;
	e.job = j;
	/* a TCP request keeps its connection's sessions */
	h->conn = j->conn_id;
	h->owner = &j->w->h;
	/* who asks is proven again inside, by the challenge answer or the
	 * session the request carries */
	caller_t from = {(transport_t)j->transport,
			 {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL},
			 j->alen > 0 ? &j->addr : NULL};
	handler_process(h, j->frame, j->len, &from, job_emit, &e);
	h->conn = 0;
	h->owner = h;
	handler_end(h);
}

static void *resolver_main(void *arg)
{
	server_t *s = arg;
	handler_t h;
	if (handler_init(&h, s->node, true) != 0) {
		log_error("resolver thread: cannot start");
		return NULL;
	}
	h.redo = true;
	job_t *j;
	while ((j = next_job(s)) != NULL) {
		run_job(&h, j);
		free(j);
	}
	handler_fini(&h);
	return NULL;
}

int defer_start(server_t *s)
{
	const node_conf_t *conf = s->conf;
	/* without the recursive role, a few blocking threads for what the
	 * workers defer: admin writes over the network and the challenge
	 * answers that release them. Checking an answer may cost CPU
	 * (PBKDF2, large keys); each network runs one costly check at a time
	 * (authz.h), so one network's answers never hold every thread and
	 * another admin's write goes on beside them. */
	int n = conf->recursive ? conf->resolver_threads : DEFER_THREADS;
	s->resolvers = calloc((size_t)n, sizeof(pthread_t));
	if (s->resolvers == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&s->resolvers[i], NULL, resolver_main, s) !=
		    0)
			return -1;
		s->nresolvers++;
	}
	if (conf->recursive)
		log_info("recursive: %d resolver threads, root hints %s%s",
			 s->nresolvers, conf->roots[0],
			 conf->nroots > 1 ? " ..." : "");
	return 0;
}

void defer_stop(server_t *s)
{
	pthread_mutex_lock(&s->jobs_lock);
	pthread_cond_broadcast(&s->jobs_cond);
	pthread_mutex_unlock(&s->jobs_lock);
	for (int i = 0; i < s->nresolvers; i++)
		pthread_join(s->resolvers[i], NULL);
	free(s->resolvers);
	s->resolvers = NULL;
	s->nresolvers = 0;
	while (s->jobs_head != NULL) {
		job_t *j = s->jobs_head;
		s->jobs_head = j->next;
		free(j);
	}
	s->jobs_tail = NULL;
	s->njobs = 0;
}
