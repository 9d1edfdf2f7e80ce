/* The Handle server's lifecycle: opening the listeners, the workers'
 * event loops, starting and stopping the threads. What a worker does with
 * a readable socket is in udp.c and tcp.c; deferred requests in
 * defer.c. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "server_int.h"

static int open_listener(const char *addr, int type, bool *unsupported)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	*unsupported = false;
	if (idn_addr_parse(addr, IDN_DEFAULT_PORT, &ss, &sl) != 0) {
		log_error("invalid listen address '%s'", addr);
		return -1;
	}
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*unsupported = errno == EAFNOSUPPORT;
		log_error("socket for %s: %s", addr, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		*unsupported =
			errno == EADDRNOTAVAIL && ss.ss_family == AF_INET6;
		if (!*unsupported)
			log_error("cannot listen on %s/%s: %s", addr,
				  type == SOCK_DGRAM ? "udp" : "tcp",
				  strerror(errno));
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 1024) != 0) {
		log_error("listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return fd;
}

static bool is_lsock(worker_t *w, void *p)
{
	return (p >= (void *)w->socks && p < (void *)(w->socks + w->nsocks)) ||
	       p == (void *)&w->ev;
}

/* Rebuilds w's rate limiter when a reload changed its settings (the
 * buckets start afresh); keeps the old one when there is no memory. */
static void rrl_refresh(worker_t *w)
{
	unsigned gen = atomic_load(&w->srv->rrl_gen);
	if (gen == w->rrl_gen)
		return;
	const node_conf_t *c = w->srv->conf;
	/* written by the reload, which may run again meanwhile */
	uint32_t rate = __atomic_load_n(&c->rrl_rate, __ATOMIC_RELAXED);
	uint32_t burst = __atomic_load_n(&c->rrl_burst, __ATOMIC_RELAXED);
	uint32_t slip = __atomic_load_n(&c->rrl_slip, __ATOMIC_RELAXED);
	rrl_t *r = rrl_new(rate, burst, slip);
	if (rate != 0 && r == NULL)
		return;
	rrl_free(w->rrl);
	w->rrl = r;
	w->rrl_gen = gen;
}

void server_reload(server_t *s)
{
	atomic_fetch_add(&s->rrl_gen, 1);
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	struct epoll_event evs[64];
	time_t last_sweep = time(NULL);
	while (!atomic_load(&w->srv->stop)) {
		int n = epoll_wait(w->epfd, evs, 64, 1000);
		rrl_refresh(w);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (!is_lsock(w, p)) {
				tcp_conn_event(w, p, evs[i].events);
				continue;
			}
			lsock_t *l = p;
			if (l->kind == LSOCK_UDP)
				udp_readable(w, l->fd);
			else if (l->kind == LSOCK_TCP)
				tcp_accept(w, l->fd);
			else /* eventfd: answers for TCP from resolver
			      * threads, or stop (the loop sees it) */
				tcp_drain_inbox(w);
		}
		time_t now = time(NULL);
		if (now != last_sweep) {
			tcp_sweep_idle(w, now);
			last_sweep = now;
		}
	}
	while (w->conns)
		tcp_conn_close(w, w->conns);
	return NULL;
}

static void worker_free(worker_t *w)
{
	if (w == NULL)
		return;
	for (int i = 0; i < w->nsocks; i++)
		close(w->socks[i].fd);
	free(w->socks);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	handler_fini(&w->h);
	inbox_item_t *it = w->inbox;
	while (it != NULL) {
		inbox_item_t *next = it->next;
		free(it);
		it = next;
	}
	pthread_mutex_destroy(&w->inbox_lock);
	rrl_free(w->rrl);
	udp_free(w);
	free(w);
}

/* Opens worker w's UDP and TCP sockets on every listen address. */
static int worker_listen(worker_t *w)
{
	const node_conf_t *conf = w->srv->conf;
	for (int i = 0; i < conf->nlisten; i++) {
		for (int k = LSOCK_UDP; k <= LSOCK_TCP; k++) {
			bool unsupported;
			int fd = open_listener(conf->listen[i],
					       k == LSOCK_TCP ? SOCK_STREAM
							      : SOCK_DGRAM,
					       &unsupported);
			if (fd < 0 && unsupported) {
				if (w->id == 0 && k == LSOCK_UDP)
					log_warn("IPv6 is unavailable: not "
						 "listening on %s",
						 conf->listen[i]);
				continue;
			}
			if (fd < 0)
				return -1;
			lsock_t *l = &w->socks[w->nsocks++];
			l->fd = fd;
			l->kind = k;
			struct epoll_event ev = {.events = EPOLLIN,
						 .data.ptr = l};
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	if (w->nsocks == 0) {
		log_error("no listener could be opened");
		return -1;
	}
	return 0;
}

static worker_t *worker_new(server_t *s, int id)
{
	const node_conf_t *conf = s->conf;
	worker_t *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->id = id;
	w->srv = s;
	pthread_mutex_init(&w->inbox_lock, NULL);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->socks = calloc((size_t)conf->nlisten * 2, sizeof(lsock_t));
	w->rrl = rrl_new(conf->rrl_rate, conf->rrl_burst, conf->rrl_slip);
	if ((conf->rrl_rate && w->rrl == NULL) || w->epfd < 0 || w->evfd < 0 ||
	    w->socks == NULL || handler_init(&w->h, s->node, false) != 0)
		goto fail;
	w->ev.fd = w->evfd;
	w->ev.kind = LSOCK_EVENT;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->ev};
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
	if (worker_listen(w) != 0)
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

int server_start(node_ctx_t *node, server_t **out)
{
	const node_conf_t *conf = node->conf;
	server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->conf = conf;
	s->node = node;
	pthread_mutex_init(&s->jobs_lock, NULL);
	pthread_cond_init(&s->jobs_cond, NULL);
	int n = conf->workers > 0 ? conf->workers
				  : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	s->workers = calloc((size_t)n, sizeof(*s->workers));
	if (s->workers == NULL)
		goto fail;
	for (int i = 0; i < n; i++) {
		s->workers[i] = worker_new(s, i);
		if (s->workers[i] == NULL)
			goto fail;
		s->nworkers++;
	}
	for (int i = 0; i < n; i++) {
		if (pthread_create(&s->workers[i]->thread, NULL, worker_main,
				   s->workers[i]) != 0) {
			log_error("cannot start worker thread");
			s->nworkers = i;
			goto fail_started;
		}
	}
	if (defer_start(s) != 0)
		goto fail_started;
	*out = s;
	return 0;
fail_started:
	server_stop(s);
	return -1;
fail:
	for (int i = 0; i < s->nworkers; i++)
		worker_free(s->workers[i]);
	free(s->workers);
	pthread_mutex_destroy(&s->jobs_lock);
	pthread_cond_destroy(&s->jobs_cond);
	free(s);
	return -1;
}

void server_stop(server_t *s)
{
	atomic_store(&s->stop, 1);
	/* resolver threads first: they post replies to the workers */
	defer_stop(s);
	uint64_t one = 1;
	for (int i = 0; i < s->nworkers; i++)
		if (write(s->workers[i]->evfd, &one, sizeof(one)) < 0)
			log_debug("eventfd: %s", strerror(errno));
	for (int i = 0; i < s->nworkers; i++) {
		pthread_join(s->workers[i]->thread, NULL);
		worker_free(s->workers[i]);
	}
	free(s->workers);
	pthread_mutex_destroy(&s->jobs_lock);
	pthread_cond_destroy(&s->jobs_cond);
	free(s);
}
