/* What the Handle server's files share (server.c, udp.c, tcp.c, defer.c):
 * the server, its worker threads, their TCP connections and the queue of
 * requests deferred to blocking handlers. Internal to the Handle data
 * plane; everything else goes through server.h. */
#ifndef IDN_NODE_SERVER_INT_H
#define IDN_NODE_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "handler.h"
#include "msg.h"
#include "netlimit.h"
#include "rrl.h"
#include "server.h"

#define UDP_BATCH 64
#define SEND_SLOTS 256
/* a TCP connection stops reading while this much output waits */
#define TCP_WBUF_HIGH (1u << 20)
/* deferred requests waiting at most; more are answered "too busy" */
#define JOBS_MAX 4096
/* blocking threads of a node without the recursive role */
#define DEFER_THREADS 4

typedef struct conn {
	int fd;
	uint64_t id; /* unique in its worker: deferred replies find it */
	struct sockaddr_storage peer;
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	time_t last;	  /* accepted, or its last complete message */
	time_t msg_start; /* when the partial message in rbuf began */
	netkey_t net;	  /* its /24 or /56 network */
	bool want_out;
	struct conn *prev, *next;
} conn_t;

/* epoll data tags: pointers to these mark listening sockets */
enum { LSOCK_UDP = 0, LSOCK_TCP = 1, LSOCK_EVENT = 2 };
typedef struct {
	int fd;
	int kind; /* LSOCK_* */
} lsock_t;

/* A reply that a resolver thread produced for a TCP connection, waiting
 * for the connection's worker to send it. */
typedef struct inbox_item {
	struct inbox_item *next;
	conn_t *conn;
	uint64_t conn_id;
	size_t len;
	uint8_t frame[];
} inbox_item_t;

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
	rrl_t *rrl;		 /* UDP response rate limit, NULL when off */
	unsigned rrl_gen;	 /* the server's rrl_gen it was built for */
	struct udp_reasm *reasm; /* multi-datagram requests (udp.c) */
	/* replies to deferred TCP requests, from resolver threads */
	pthread_mutex_t inbox_lock;
	inbox_item_t *inbox;
} worker_t;

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

struct server {
	const node_conf_t *conf;
	node_ctx_t *node;
	/* resolver threads (the deferral queue's blocking handlers) */
	pthread_t *resolvers;
	int nresolvers;
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	job_t *jobs_head, *jobs_tail;
	int njobs;
	atomic_int stop;
	/* bumped by server_reload: workers rebuild their rate limiters */
	atomic_uint rrl_gen;
	worker_t **workers;
	int nworkers;
};

/* ---- udp.c ---- */

/* Answers the datagrams waiting on UDP socket fd, in bounded batches. */
void udp_readable(worker_t *w, int fd);
/* Frees the worker's UDP state (multi-datagram requests in progress). */
void udp_free(worker_t *w);

/* Cuts a reply frame into the datagrams that carry it: slot(ctx, n) gives
 * a buffer for one datagram of at most n bytes, done(ctx, n) says it holds
 * n. A reply above max becomes one datagram with an error (rc 2; rc 3 when
 * max is 0: rate limited) telling the client to ask over TCP. Returns 0,
 * or -1 when the frame's envelope does not decode. */
int udp_datagrams(const uint8_t *frame, size_t len, uint32_t max,
		  uint8_t *(*slot)(void *ctx, size_t n),
		  void (*done)(void *ctx, size_t n), void *ctx);

/* ---- tcp.c ---- */

/* Accepts the connections waiting on listener lfd, within the caps. */
void tcp_accept(worker_t *w, int lfd);
/* Handles epoll events ev of connection c (which it may close). */
void tcp_conn_event(worker_t *w, conn_t *c, uint32_t ev);
/* Closes the connections idle (without a complete message) for longer
 * than tcp-idle-timeout, and those that took longer than
 * tcp-message-timeout to deliver a message. */
void tcp_sweep_idle(worker_t *w, time_t now);
/* Sends the replies resolver threads left in w's inbox. */
void tcp_drain_inbox(worker_t *w);
/* Closes c and frees it, ending its sessions. */
void tcp_conn_close(worker_t *w, conn_t *c);
/* emit_fn of a TCP connection (ctx: its conn_t): queues the frame. */
int tcp_emit(void *ctx, const uint8_t *frame, size_t len);

/* ---- defer.c ---- */

/* Queues a copy of a request (len bytes of frame) for the resolver
 * threads: UDP ones reply to addr on udp_fd, TCP ones through conn's
 * worker. When the queue is full the request is answered "too busy"
 * through emit(ectx) at once. */
void defer(worker_t *w, const uint8_t *frame, size_t len, int transport,
	   int udp_fd, const struct sockaddr_storage *addr, socklen_t alen,
	   conn_t *conn, emit_fn emit, void *ectx);

/* Starts the resolver threads: resolver-threads of them on a recursive
 * node, else one (network admin writes, which commit durably). Returns 0
 * or -1; the threads started are in s->resolvers either way. */
int defer_start(server_t *s);

/* Wakes and joins the resolver threads (s->stop is set) and drops the
 * requests still queued. */
void defer_stop(server_t *s);

#endif
