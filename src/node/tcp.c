/* The Handle server's TCP side: each worker accepts on its SO_REUSEPORT
 * listeners within the connection caps (tcp-max-connections per worker,
 * tcp-max-per-network per worker and /24 or /56 client network,
 * tcp-max-per-source per worker and client address), reads frames into a
 * per-connection buffer, answers every complete one in one read snapshot
 * and writes the replies back without blocking. A connection stops
 * reading while TCP_WBUF_HIGH bytes of output wait. Only a complete
 * message counts as activity: a connection is closed after
 * tcp-idle-timeout seconds without one, and when a message it began is
 * not complete within tcp-message-timeout, so a byte now and then never
 * keeps a slot. A newcomer over the worker's or its network's cap takes
 * the slot of the connection idle the longest in that scope, so that idle
 * connections cannot lock real clients out. Replies to requests deferred
 * to resolver threads (defer.c) come back through the worker's inbox. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "authz.h"
#include "log.h"
#include "server_int.h"

void tcp_conn_close(worker_t *w, conn_t *c)
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

int tcp_emit(void *vctx, const uint8_t *frame, size_t len)
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

/* Answers one complete frame of c (flen bytes at frame). */
static void conn_request(worker_t *w, conn_t *c, const uint8_t *frame,
			 size_t flen)
{
	w->h.conn = c->id;
	/* network callers are anonymous until a challenge answer or a
	 * session proves an admin (principal.h) */
	caller_t from = {TRANSPORT_TCP,
			 {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL},
			 &c->peer};
	uint64_t t0 = reqlat_now();
	int hn = handler_process(&w->h, frame, flen, &from, tcp_emit, c);
	reqlat_since(&w->h.stats.lat[TRANSPORT_TCP], t0);
	w->h.conn = 0;
	if (hn == HANDLER_DEFER)
		defer(w, frame, flen, TRANSPORT_TCP, -1, &c->peer,
		      sizeof(c->peer), c, tcp_emit, c);
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
		conn_request(w, c, c->rbuf + off, flen);
		off += flen;
		c->last = c->msg_start = time(NULL);
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
				tcp_conn_close(w, c);
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
			tcp_conn_close(w, c);
			return;
		}
		if (c->rlen == 0)
			c->msg_start = time(NULL);
		c->rlen += (size_t)n;
		if (conn_process(w, c) != 0) {
			conn_flush(c);
			tcp_conn_close(w, c);
			return;
		}
		if (c->wlen - c->woff >= TCP_WBUF_HIGH)
			break;
	}
	if (conn_flush(c) != 0) {
		tcp_conn_close(w, c);
		return;
	}
	conn_events(w, c);
}

void tcp_conn_event(worker_t *w, conn_t *c, uint32_t ev)
{
	if (ev & (EPOLLERR | EPOLLHUP)) {
		tcp_conn_close(w, c);
		return;
	}
	if ((ev & EPOLLOUT) && conn_flush(c) != 0) {
		tcp_conn_close(w, c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLRDHUP))
		conn_readable(w, c);
	else
		conn_events(w, c);
}

/* Counts this worker's connections from peer's network (*net) and
 * address (*addr), and finds the one idle the longest in the whole
 * worker (*oldest) and in that network (*oldest_net). */
static void census(worker_t *w, const netkey_t *nk, const netkey_t *ak,
		   int *net, int *addr, conn_t **oldest, conn_t **oldest_net)
{
	*net = *addr = 0;
	*oldest = *oldest_net = NULL;
	for (conn_t *c = w->conns; c != NULL; c = c->next) {
		if (*oldest == NULL || c->last < (*oldest)->last)
			*oldest = c;
		if (!netkey_eq(&c->net, nk))
			continue;
		(*net)++;
		if (*oldest_net == NULL || c->last < (*oldest_net)->last)
			*oldest_net = c;
		netkey_t k;
		netkey_addr(&c->peer, &k);
		if (netkey_eq(&k, ak))
			(*addr)++;
	}
}

/* Makes room for a connection from peer: 0, or -1 to refuse it. Over the
 * address cap it is refused (that address holds enough); over the network
 * or worker cap the connection idle the longest in that scope gives way,
 * if it has been idle at least a second (a busy node refuses instead). */
static int admit(worker_t *w, const struct sockaddr_storage *peer, time_t now)
{
	const node_conf_t *conf = w->srv->conf;
	netkey_t nk, ak;
	int net, addr;
	conn_t *oldest, *oldest_net;
	netkey_of(peer, &nk);
	netkey_addr(peer, &ak);
	census(w, &nk, &ak, &net, &addr, &oldest, &oldest_net);
	if (addr >= conf->tcp_max_per_source)
		return -1;
	conn_t *victim = NULL;
	if (net >= conf->tcp_max_per_network)
		victim = oldest_net;
	else if (w->nconns >= conf->tcp_max_conns)
		victim = oldest;
	else
		return 0;
	if (victim == NULL || now - victim->last < 1)
		return -1;
	log_debug("TCP connection closed: its slot went to a newcomer");
	tcp_conn_close(w, victim);
	return 0;
}

void tcp_accept(worker_t *w, int lfd)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		time_t now = time(NULL);
		if (admit(w, &peer, now) != 0) {
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
		netkey_of(&peer, &c->net);
		c->id = ++w->next_conn_id;
		c->last = c->msg_start = now;
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

void tcp_sweep_idle(worker_t *w, time_t now)
{
	conn_t *c = w->conns;
	while (c != NULL) {
		conn_t *next = c->next;
		const node_conf_t *conf = w->srv->conf;
		/* a connection that stopped reading while its replies wait
		 * cannot deliver its message: that is not the client's delay */
		bool reading = c->wlen - c->woff < TCP_WBUF_HIGH;
		if (now - c->last > conf->tcp_idle_timeout ||
		    (c->rlen > 0 && reading &&
		     now - c->msg_start > conf->tcp_message_timeout))
			tcp_conn_close(w, c);
		c = next;
	}
}

void tcp_drain_inbox(worker_t *w)
{
	uint64_t n;
	if (read(w->evfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->inbox_lock);
	inbox_item_t *it = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	/* pushed newest first: a reply of several messages (or a message and
	 * its stream) goes out in the order it was emitted */
	inbox_item_t *rev = NULL;
	while (it != NULL) {
		inbox_item_t *next = it->next;
		it->next = rev;
		rev = it;
		it = next;
	}
	it = rev;
	while (it != NULL) {
		inbox_item_t *next = it->next;
		conn_t *c = w->conns;
		/* the connection may have closed, its memory reused: the id
		 * tells */
		while (c != NULL && (c != it->conn || c->id != it->conn_id))
			c = c->next;
		if (c != NULL && tcp_emit(c, it->frame, it->len) == 0) {
			if (conn_flush(c) != 0)
				tcp_conn_close(w, c);
			else
				conn_events(w, c);
		}
		free(it);
		it = next;
	}
}
