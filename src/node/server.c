#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "ctlconn.h"
#include "handler.h"
#include "http.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "resolver.h"
#include "rrl.h"

#define UDP_BATCH 64
#define SEND_SLOTS 256
#define CONTROL_MAX 64
/* a TCP connection stops reading while this much output waits */
#define TCP_WBUF_HIGH (1u << 20)

typedef struct conn {
	int fd;
	uint64_t id; /* unique in its worker: deferred replies find it */
	struct sockaddr_storage peer;
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	time_t last;
	bool want_out;
	struct conn *prev, *next;
} conn_t;

/* epoll data tags: pointers to these mark listening sockets */
typedef struct {
	int fd;
	int kind; /* 0 UDP, 1 TCP listener, 2 eventfd */
} lsock_t;

typedef struct worker {
	int id;
	pthread_t thread;
	server_t *srv;
	int epfd;
	int evfd;
	lsock_t *socks;
	int nsocks;
	lsock_t ev;
	handler_t h;
	conn_t *conns;
	int nconns;
	/* UDP batch buffers */
	struct mmsghdr rmsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH];
	struct sockaddr_storage raddr[UDP_BATCH];
	uint8_t rbuf[UDP_BATCH][IDN_UDP_DGRAM_MAX];
	struct mmsghdr smsg[SEND_SLOTS];
	struct iovec siov[SEND_SLOTS];
	uint8_t sbuf[SEND_SLOTS][IDN_UDP_DGRAM_MAX];
	int nsend;
	int cur_fd; /* UDP socket of the batch being answered */
	uint64_t next_conn_id;
	rrl_t *rrl; /* UDP response rate limit, NULL when off */
	/* replies to deferred TCP requests, from resolver threads */
	pthread_mutex_t inbox_lock;
	struct inbox_item *inbox;
} worker_t;

typedef struct inbox_item {
	struct inbox_item *next;
	conn_t *conn;
	uint64_t conn_id;
	size_t len;
	uint8_t frame[];
} inbox_item_t;

/* A request handed from a worker to the resolver threads. */
typedef struct job {
	struct job *next;
	int transport;
	int udp_fd;
	struct sockaddr_storage addr;
	socklen_t alen;
	worker_t *w;
	conn_t *conn;
	uint64_t conn_id;
	size_t len;
	uint8_t frame[];
} job_t;

#define JOBS_MAX 4096

struct server {
	const node_conf_t *conf;
	idn_store_t *store;
	node_ctx_t node;
	/* resolver threads (recursive nodes) and their queue */
	pthread_t *resolvers;
	int nresolvers;
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	job_t *jobs_head, *jobs_tail;
	int njobs;
	atomic_int stop;
	worker_t **workers;
	int nworkers;
	int ctl_fd;
	pthread_t ctl_thread;
	bool ctl_started;
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cond;
	int ctl_conns[CONTROL_MAX];
	int nctl;
	http_server_t *http; /* NULL when HTTP is off */
};

/* ---- sockets ---- */

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

/* ---- UDP ---- */

static void udp_flush(worker_t *w)
{
	int off = 0;
	while (off < w->nsend) {
		int n = sendmmsg(w->cur_fd, w->smsg + off,
				 (unsigned)(w->nsend - off), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* the kernel refused this datagram (e.g. no route):
			 * skip it and keep the others */
			log_debug("udp send: %s", strerror(errno));
			n = 1;
		}
		off += n;
	}
	w->nsend = 0;
}

typedef struct {
	worker_t *w;
	int i; /* index of the request in the receive batch */
} udp_ctx_t;

static uint8_t *udp_slot(worker_t *w, int i, size_t len)
{
	if (w->nsend == SEND_SLOTS)
		udp_flush(w);
	int s = w->nsend++;
	w->siov[s].iov_base = w->sbuf[s];
	w->siov[s].iov_len = len;
	struct msghdr *mh = &w->smsg[s].msg_hdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &w->raddr[i];
	mh->msg_namelen = w->rmsg[i].msg_hdr.msg_namelen;
	mh->msg_iov = &w->siov[s];
	mh->msg_iovlen = 1;
	return w->sbuf[s];
}

/* Cuts a reply frame into the datagrams that carry it, each written by
 * put. A reply above max becomes one datagram flagged truncated. */
static int udp_datagrams(const uint8_t *frame, size_t len, uint32_t max,
			 uint8_t *(*slot)(void *ctx, size_t n),
			 void (*done)(void *ctx, size_t n), void *ctx)
{
	size_t mlen = len - IDN_ENV_LEN;
	idn_env_t env;
	if (idn_env_decode(frame, IDN_ENV_LEN, &env) != 0)
		return -1;
	if (mlen > max) {
		/* Too large for UDP: the header alone, flagged truncated,
		 * tells the client to ask again over TCP. */
		uint8_t *p = slot(ctx, IDN_ENV_LEN + IDN_HDR_LEN + 4);
		env.flags |= IDN_EF_TRUNCATED;
		env.msg_len = IDN_HDR_LEN + 4;
		idn_env_encode(p, &env);
		uint8_t *hdr = p + IDN_ENV_LEN;
		memcpy(hdr, frame + IDN_ENV_LEN, IDN_HDR_OFF_BODY_LEN);
		/* the body, request digest included, is left out: the flag
		 * announcing a digest must go too, or the reply won't decode */
		idn_hdr_set_flags(hdr, idn_hdr_flags(hdr) &
					       ~(uint32_t)IDN_OF_RETURN_DIGEST);
		idn_hdr_set_body_len(hdr, 0);
		idn_put_u32(hdr + IDN_HDR_LEN, 0); /* credential length */
		done(ctx, IDN_ENV_LEN + IDN_HDR_LEN + 4);
		return 0;
	}
	size_t nf = idn_udp_frag_count(mlen);
	for (size_t i = 0; i < nf; i++) {
		uint8_t *p = slot(ctx, IDN_UDP_DGRAM_MAX);
		done(ctx, idn_udp_frag(&env, frame + IDN_ENV_LEN, mlen, i, p));
	}
	return 0;
}

static uint8_t *batch_slot(void *vctx, size_t n)
{
	udp_ctx_t *c = vctx;
	return udp_slot(c->w, c->i, n);
}

static void batch_done(void *vctx, size_t n)
{
	udp_ctx_t *c = vctx;
	c->w->siov[c->w->nsend - 1].iov_len = n;
}

static int udp_emit(void *vctx, const uint8_t *frame, size_t len)
{
	udp_ctx_t *c = vctx;
	return udp_datagrams(frame, len, c->w->srv->conf->udp_reply_max,
			     batch_slot, batch_done, c);
}

/* A rate-limited query that slips through: the header only, flagged
 * truncated, so a real client retries over TCP. */
static int udp_emit_slip(void *vctx, const uint8_t *frame, size_t len)
{
	return udp_datagrams(frame, len, 0, batch_slot, batch_done, vctx);
}

/* Network callers are anonymous until a challenge answer or a session
 * proves an admin (handler.h). */
static const caller_t udp_caller = {TRANSPORT_UDP,
				    {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0}};
static const caller_t tcp_caller = {TRANSPORT_TCP,
				    {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0}};

/* ---- deferred requests (recursive resolution) ---- */

/* Queues a copy of a request for the resolver threads; answers "too busy"
 * when the queue is full. */
static void defer(worker_t *w, const uint8_t *frame, size_t len, int transport,
		  int udp_fd, const struct sockaddr_storage *addr,
		  socklen_t alen, conn_t *conn, emit_fn emit, void *ectx)
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
		handler_busy(&w->h, frame, len, emit, ectx);
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

static void *resolver_main(void *arg)
{
	server_t *s = arg;
	handler_t h;
	if (handler_init(&h, &s->node, true) != 0) {
		log_error("resolver thread: cannot start");
		return NULL;
	}
	h.redo = true;
	for (;;) {
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
		if (j == NULL)
			break; /* stopping */
		if (handler_begin(&h) == 0) {
			job_emit_t e;
			e.job = j;
			/* a TCP request keeps its connection's sessions */
			h.conn = j->conn_id;
			h.owner = &j->w->h;
			/* who asks is proven again inside, by the
			 * challenge answer or session the request carries */
			caller_t from = {(transport_t)j->transport,
					 {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0}};
			handler_process(&h, j->frame, j->len, &from, job_emit,
					&e);
			h.conn = 0;
			h.owner = &h;
			handler_end(&h);
		}
		free(j);
	}
	handler_fini(&h);
	return NULL;
}

static void udp_readable(worker_t *w, int fd)
{
	/* bounded rounds so TCP connections get their turn */
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			w->riov[i].iov_base = w->rbuf[i];
			w->riov[i].iov_len = sizeof(w->rbuf[i]);
			struct msghdr *mh = &w->rmsg[i].msg_hdr;
			memset(mh, 0, sizeof(*mh));
			mh->msg_name = &w->raddr[i];
			mh->msg_namelen = sizeof(w->raddr[i]);
			mh->msg_iov = &w->riov[i];
			mh->msg_iovlen = 1;
		}
		int n = recvmmsg(fd, w->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		w->cur_fd = fd;
		if (handler_begin(&w->h) != 0) {
			log_error("store read transaction failed");
			return;
		}
		uint64_t now = w->rrl ? idn_now_ms() : 0;
		for (int i = 0; i < n; i++) {
			if (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue; /* larger than any Handle datagram */
			udp_ctx_t c = {w, i};
			emit_fn emit = udp_emit;
			int verdict = rrl_check(w->rrl, &w->raddr[i], now);
			if (verdict == RRL_DROP) {
				atomic_fetch_add_explicit(
					&w->h.stats.rrl_dropped, 1,
					memory_order_relaxed);
				continue;
			}
			if (verdict == RRL_SLIP) {
				atomic_fetch_add_explicit(
					&w->h.stats.rrl_slipped, 1,
					memory_order_relaxed);
				emit = udp_emit_slip;
			}
			if (handler_process(&w->h, w->rbuf[i],
					    w->rmsg[i].msg_len, &udp_caller,
					    emit, &c) == HANDLER_DEFER)
				defer(w, w->rbuf[i], w->rmsg[i].msg_len,
				      TRANSPORT_UDP, fd, &w->raddr[i],
				      w->rmsg[i].msg_hdr.msg_namelen, NULL,
				      udp_emit, &c);
		}
		handler_end(&w->h);
		udp_flush(w);
		if (n < UDP_BATCH)
			return;
	}
}

/* ---- TCP ---- */

static void conn_close(worker_t *w, conn_t *c)
{
	authz_conn_closed(w->h.node->authz, &w->h, c->id);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->rbuf);
	free(c->wbuf);
	free(c);
	w->nconns--;
}

static int tcp_emit(void *vctx, const uint8_t *frame, size_t len)
{
	conn_t *c = vctx;
	if (c->wcap - c->wlen < len) {
		size_t cap = c->wcap ? c->wcap : 4096;
		while (cap - c->wlen < len)
			cap *= 2;
		uint8_t *nb = realloc(c->wbuf, cap);
		if (nb == NULL)
			return -1;
		c->wbuf = nb;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, frame, len);
	c->wlen += len;
	return 0;
}

static void conn_events(worker_t *w, conn_t *c)
{
	struct epoll_event ev = {0};
	bool out = c->woff < c->wlen;
	bool in = c->wlen - c->woff < TCP_WBUF_HIGH;
	if (out == c->want_out && in)
		return;
	ev.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0) | EPOLLRDHUP;
	ev.data.ptr = c;
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = out;
}

/* Returns -1 when the connection must be closed. */
static int conn_flush(conn_t *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	return 0;
}

/* Processes every complete frame in the read buffer. */
static int conn_process(worker_t *w, conn_t *c)
{
	size_t off = 0;
	int rc = 0;
	bool begun = false;
	while (c->rlen - off >= IDN_ENV_LEN) {
		idn_env_t env;
		int err = idn_env_decode(c->rbuf + off, IDN_ENV_LEN, &env);
		/* a bad version still fills env in, msg_len unchecked */
		if (err == IDN_ETOOLONG || err == IDN_EMALFORMED ||
		    env.msg_len > IDN_MSG_MAX) {
			rc = -1; /* cannot find the next frame: give up */
			break;
		}
		size_t flen = IDN_ENV_LEN + (size_t)env.msg_len;
		if (c->rlen - off < flen)
			break;
		if (!begun) {
			if (handler_begin(&w->h) != 0) {
				rc = -1;
				break;
			}
			begun = true;
		}
		w->h.conn = c->id;
		int hn = handler_process(&w->h, c->rbuf + off, flen,
					 &tcp_caller, tcp_emit, c);
		w->h.conn = 0;
		if (hn == HANDLER_DEFER)
			defer(w, c->rbuf + off, flen, TRANSPORT_TCP, -1, NULL,
			      0, c, tcp_emit, c);
		off += flen;
	}
	if (begun)
		handler_end(&w->h);
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return rc;
}

static void conn_readable(worker_t *w, conn_t *c)
{
	for (;;) {
		if (c->rcap - c->rlen < 4096 &&
		    c->rcap < IDN_ENV_LEN + IDN_MSG_MAX) {
			size_t cap = c->rcap ? c->rcap * 2 : 8192;
			if (cap > IDN_ENV_LEN + IDN_MSG_MAX)
				cap = IDN_ENV_LEN + IDN_MSG_MAX;
			uint8_t *nb = realloc(c->rbuf, cap);
			if (nb == NULL) {
				conn_close(w, c);
				return;
			}
			c->rbuf = nb;
			c->rcap = cap;
		}
		ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_process(w, c);
			conn_flush(c);
			conn_close(w, c);
			return;
		}
		c->rlen += (size_t)n;
		c->last = time(NULL);
		if (conn_process(w, c) != 0) {
			conn_flush(c);
			conn_close(w, c);
			return;
		}
		if (c->wlen - c->woff >= TCP_WBUF_HIGH)
			break;
	}
	if (conn_flush(c) != 0) {
		conn_close(w, c);
		return;
	}
	conn_events(w, c);
}

/* Connections of this worker from the same address as peer. */
static int same_source(worker_t *w, const struct sockaddr_storage *peer)
{
	int n = 0;
	for (conn_t *c = w->conns; c != NULL; c = c->next) {
		if (c->peer.ss_family != peer->ss_family)
			continue;
		if (peer->ss_family == AF_INET
			    ? memcmp(&((const struct sockaddr_in *)&c->peer)
					      ->sin_addr,
				     &((const struct sockaddr_in *)peer)
					      ->sin_addr,
				     4) == 0
			    : memcmp(&((const struct sockaddr_in6 *)&c->peer)
					      ->sin6_addr,
				     &((const struct sockaddr_in6 *)peer)
					      ->sin6_addr,
				     16) == 0)
			n++;
	}
	return n;
}

static void tcp_accept(worker_t *w, int lfd)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (w->nconns >= w->srv->conf->tcp_max_conns ||
		    same_source(w, &peer) >= w->srv->conf->tcp_max_per_source) {
			log_debug(
				"TCP connection refused: over a connection cap");
			atomic_fetch_add_explicit(&w->h.stats.tcp_refused, 1,
						  memory_order_relaxed);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_t *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->id = ++w->next_conn_id;
		c->last = time(NULL);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
					 .data.ptr = c};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->nconns++;
	}
}

static void sweep_idle(worker_t *w, time_t now)
{
	conn_t *c = w->conns;
	while (c != NULL) {
		conn_t *next = c->next;
		if (now - c->last > w->srv->conf->tcp_idle_timeout)
			conn_close(w, c);
		c = next;
	}
}

/* Delivers replies that resolver threads produced for TCP connections
 * still open. */
static void drain_inbox(worker_t *w)
{
	uint64_t n;
	if (read(w->evfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->inbox_lock);
	inbox_item_t *it = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	while (it != NULL) {
		inbox_item_t *next = it->next;
		conn_t *c = w->conns;
		while (c != NULL && (c != it->conn || c->id != it->conn_id))
			c = c->next;
		if (c != NULL && tcp_emit(c, it->frame, it->len) == 0) {
			if (conn_flush(c) != 0)
				conn_close(w, c);
			else
				conn_events(w, c);
		}
		free(it);
		it = next;
	}
}

static bool is_lsock(worker_t *w, void *p)
{
	return (p >= (void *)w->socks && p < (void *)(w->socks + w->nsocks)) ||
	       p == (void *)&w->ev;
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	struct epoll_event evs[64];
	time_t last_sweep = time(NULL);
	while (!atomic_load(&w->srv->stop)) {
		int n = epoll_wait(w->epfd, evs, 64, 1000);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (is_lsock(w, p)) {
				lsock_t *l = p;
				if (l->kind == 0)
					udp_readable(w, l->fd);
				else if (l->kind == 1)
					tcp_accept(w, l->fd);
				else /* eventfd: answers for TCP from resolver
				      * threads, or stop (the loop sees it) */
					drain_inbox(w);
				continue;
			}
			conn_t *c = p;
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				conn_close(w, c);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (conn_flush(c) != 0) {
					conn_close(w, c);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
				conn_readable(w, c);
			else
				conn_events(w, c);
		}
		time_t now = time(NULL);
		if (now != last_sweep) {
			sweep_idle(w, now);
			last_sweep = now;
		}
	}
	while (w->conns)
		conn_close(w, w->conns);
	return NULL;
}

/* ---- control socket ---- */

typedef struct {
	server_t *srv;
	int fd;
} ctl_arg_t;

static int fd_emit(void *ctx, const uint8_t *frame, size_t len)
{
	int fd = *(int *)ctx;
	return idn_write_all(fd, frame, len) == 0 ? 0 : -1;
}

static void ctl_forget(server_t *s, int fd)
{
	pthread_mutex_lock(&s->ctl_lock);
	for (int i = 0; i < s->nctl; i++)
		if (s->ctl_conns[i] == fd) {
			s->ctl_conns[i] = s->ctl_conns[--s->nctl];
			break;
		}
	pthread_cond_broadcast(&s->ctl_cond);
	pthread_mutex_unlock(&s->ctl_lock);
}

static void *ctl_conn_main(void *varg)
{
	ctl_arg_t *a = varg;
	server_t *s = a->srv;
	int fd = a->fd;
	free(a);
	handler_t h;
	if (handler_init(&h, &s->node, true) != 0)
		goto out;
	ctl_conn_serve(&h, fd, &s->stop, fd_emit, &fd);
	handler_fini(&h);
out:
	ctl_forget(s, fd);
	close(fd);
	return NULL;
}

static void *ctl_main(void *arg)
{
	server_t *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {s->ctl_fd, POLLIN, 0};
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		int fd = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->ctl_lock);
		bool full = s->nctl >= CONTROL_MAX;
		if (!full)
			s->ctl_conns[s->nctl++] = fd;
		pthread_mutex_unlock(&s->ctl_lock);
		if (full) {
			log_warn("control socket: too many connections");
			close(fd);
			continue;
		}
		ctl_arg_t *a = malloc(sizeof(*a));
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (a != NULL) {
			a->srv = s;
			a->fd = fd;
		}
		if (a == NULL ||
		    pthread_create(&t, &attr, ctl_conn_main, a) != 0) {
			free(a);
			ctl_forget(s, fd);
			close(fd);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static int ctl_open(server_t *s)
{
	const char *path = s->conf->control;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(un.sun_path)) {
		log_error("control socket path too long: %s", path);
		return -1;
	}
	strcpy(un.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a live socket means another idnode owns this data directory */
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0) {
		log_error("control socket %s is in use: is another idnode "
			  "running?",
			  path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old =
		umask(0177); /* 0600: the file mode is the access control */
	int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (rc != 0 || listen(fd, 64) != 0) {
		log_error("cannot create control socket %s: %s", path,
			  strerror(errno));
		close(fd);
		return -1;
	}
	s->ctl_fd = fd;
	return 0;
}

/* ---- lifecycle ---- */

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
	free(w);
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
	    w->socks == NULL || handler_init(&w->h, &s->node, false) != 0)
		goto fail;
	w->ev.fd = w->evfd;
	w->ev.kind = 2;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->ev};
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
	for (int i = 0; i < conf->nlisten; i++) {
		for (int k = 0; k < 2; k++) {
			bool unsupported;
			int fd = open_listener(conf->listen[i],
					       k ? SOCK_STREAM : SOCK_DGRAM,
					       &unsupported);
			if (fd < 0 && unsupported) {
				if (id == 0 && k == 0)
					log_warn("IPv6 is unavailable: not "
						 "listening on %s",
						 conf->listen[i]);
				continue;
			}
			if (fd < 0)
				goto fail;
			lsock_t *l = &w->socks[w->nsocks++];
			l->fd = fd;
			l->kind = k;
			ev.events = EPOLLIN;
			ev.data.ptr = l;
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	if (w->nsocks == 0) {
		log_error("no listener could be opened");
		goto fail;
	}
	return w;
fail:
	worker_free(w);
	return NULL;
}

int server_start(const node_conf_t *conf, idn_store_t *store,
		 idn_store_t *primary, server_t **out)
{
	server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->conf = conf;
	s->store = store;
	s->ctl_fd = -1;
	pthread_mutex_init(&s->ctl_lock, NULL);
	pthread_cond_init(&s->ctl_cond, NULL);
	pthread_mutex_init(&s->jobs_lock, NULL);
	pthread_cond_init(&s->jobs_cond, NULL);
	if (node_ctx_init(&s->node, conf, store, primary) != 0) {
		free(s);
		return -1;
	}
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
	if (ctl_open(s) != 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&s->workers[i]->thread, NULL, worker_main,
				   s->workers[i]) != 0) {
			log_error("cannot start worker thread");
			s->nworkers = i;
			goto fail_started;
		}
	}
	if (conf->recursive) {
		s->resolvers = calloc((size_t)conf->resolver_threads,
				      sizeof(pthread_t));
		if (s->resolvers == NULL)
			goto fail_started;
		for (int i = 0; i < conf->resolver_threads; i++) {
			if (pthread_create(&s->resolvers[i], NULL,
					   resolver_main, s) != 0)
				goto fail_started;
			s->nresolvers++;
		}
		log_info("recursive: %d resolver threads, root hints %s%s",
			 s->nresolvers, conf->roots[0],
			 conf->nroots > 1 ? " ..." : "");
	} else {
		/* one blocking thread for what the workers defer: admin writes
		 * over the network, which commit durably (fsync) */
		s->resolvers = calloc(1, sizeof(pthread_t));
		if (s->resolvers == NULL ||
		    pthread_create(&s->resolvers[0], NULL, resolver_main, s) !=
			    0)
			goto fail_started;
		s->nresolvers = 1;
	}
	if (pthread_create(&s->ctl_thread, NULL, ctl_main, s) != 0)
		goto fail_started;
	s->ctl_started = true;
	if (http_start(&s->node, conf, &s->http) != 0)
		goto fail_started;
	*out = s;
	return 0;
fail_started:
	server_stop(s);
	return -1;
fail:
	for (int i = 0; i < s->nworkers; i++)
		worker_free(s->workers[i]);
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	free(s->workers);
	node_ctx_fini(&s->node);
	free(s);
	return -1;
}

void server_stop(server_t *s)
{
	http_stop(s->http); /* its handlers belong to s->node */
	s->http = NULL;
	atomic_store(&s->stop, 1);
	/* resolver threads first: they post replies to the workers */
	pthread_mutex_lock(&s->jobs_lock);
	pthread_cond_broadcast(&s->jobs_cond);
	pthread_mutex_unlock(&s->jobs_lock);
	for (int i = 0; i < s->nresolvers; i++)
		pthread_join(s->resolvers[i], NULL);
	free(s->resolvers);
	while (s->jobs_head != NULL) {
		job_t *j = s->jobs_head;
		s->jobs_head = j->next;
		free(j);
	}
	uint64_t one = 1;
	for (int i = 0; i < s->nworkers; i++)
		if (write(s->workers[i]->evfd, &one, sizeof(one)) < 0)
			log_debug("eventfd: %s", strerror(errno));
	for (int i = 0; i < s->nworkers; i++) {
		pthread_join(s->workers[i]->thread, NULL);
		worker_free(s->workers[i]);
	}
	if (s->ctl_started) {
		/* wakes the accept loop's poll at once (POLLHUP) */
		shutdown(s->ctl_fd, SHUT_RDWR);
		pthread_join(s->ctl_thread, NULL);
	}
	/* wake control connections blocked in read, wait for them to end */
	pthread_mutex_lock(&s->ctl_lock);
	for (int i = 0; i < s->nctl; i++)
		shutdown(s->ctl_conns[i], SHUT_RDWR);
	while (s->nctl > 0)
		pthread_cond_wait(&s->ctl_cond, &s->ctl_lock);
	pthread_mutex_unlock(&s->ctl_lock);
	if (s->ctl_fd >= 0) {
		close(s->ctl_fd);
		unlink(s->conf->control);
	}
	free(s->workers);
	node_ctx_fini(&s->node);
	free(s);
}
