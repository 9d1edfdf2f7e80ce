/* The Handle server's UDP side: each worker reads its SO_REUSEPORT
 * sockets in batches (recvmmsg), answers them in one read snapshot and
 * sends the replies in batches (sendmmsg). A request of several datagrams
 * is put together first. A reply goes out in as many
 * datagrams as it takes, up to udp-reply-max; above that the client gets
 * a short error and asks again over TCP. The response rate limit (rrl.h),
 * which counts datagrams, drops or slips replies per source network. Requests
 * that must block are deferred (defer.c). */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"
#include "server_int.h"

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
	int i;		  /* index of the request in the receive batch */
	unsigned ndgrams; /* datagrams of the reply */
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

/* Answers with an error message instead of a reply UDP may not carry
 * (rc 2: over udp-reply-max; rc 3: rate limited): the reply's header with
 * rc and an error text for a body, in one datagram with flags 0. The
 * client asks again over TCP. (HANDLE.NET's envelope flag "truncated"
 * marks a multi-datagram request, not a cut reply: its clients fail on a
 * reply flagged so.) */
static int udp_refuse(const uint8_t *frame, idn_env_t env, uint32_t rc,
		      const char *text, uint8_t *(*slot)(void *ctx, size_t n),
		      void (*done)(void *ctx, size_t n), void *ctx)
{
	size_t tl = strlen(text);
	size_t mlen = IDN_HDR_LEN + 4 + tl + 4;
	assert(IDN_ENV_LEN + mlen <= IDN_UDP_DGRAM_MAX);
	uint8_t *p = slot(ctx, IDN_ENV_LEN + mlen);
	env.flags &= (uint16_t)~IDN_EF_TRUNCATED;
	env.seq = 0;
	env.msg_len = (uint32_t)mlen;
	idn_env_encode(p, &env);
	uint8_t *hdr = p + IDN_ENV_LEN;
	memcpy(hdr, frame + IDN_ENV_LEN, IDN_HDR_LEN);
	idn_put_u32(hdr + IDN_HDR_OFF_RC, rc);
	/* no request digest and no signature go with the error: neither flag
	 * may promise them */
	idn_hdr_set_flags(hdr, idn_hdr_flags(hdr) &
				       ~(uint32_t)(IDN_OF_RETURN_DIGEST |
						   IDN_OF_CONTINUOUS));
	idn_hdr_set_body_len(hdr, (uint32_t)(4 + tl));
	idn_put_u32(hdr + IDN_HDR_LEN, (uint32_t)tl);
	memcpy(hdr + IDN_HDR_LEN + 4, text, tl);
	idn_put_u32(hdr + IDN_HDR_LEN + 4 + tl, 0); /* credential length */
	done(ctx, IDN_ENV_LEN + mlen);
	return 0;
}

int udp_datagrams(const uint8_t *frame, size_t len, uint32_t max,
		  uint8_t *(*slot)(void *ctx, size_t n),
		  void (*done)(void *ctx, size_t n), void *ctx)
{
	size_t mlen = len - IDN_ENV_LEN;
	idn_env_t env;
	if (idn_env_decode(frame, IDN_ENV_LEN, &env) != 0)
		return -1;
	if (max == 0)
		return udp_refuse(frame, env, IDN_RC_TOO_BUSY,
				  "rate limited: ask over TCP", slot, done,
				  ctx);
	if (mlen > max)
		return udp_refuse(frame, env, IDN_RC_ERROR,
				  "reply too large for UDP: ask over TCP", slot,
				  done, ctx);
	/* as HANDLE.NET sends it: datagrams of 512 bytes at most, each with
	 * the envelope (same request id and message length, sequence number
	 * 0, 1, ...; flags 0) and the next 492 bytes of the message */
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
	c->ndgrams++;
}

static int udp_emit(void *vctx, const uint8_t *frame, size_t len)
{
	udp_ctx_t *c = vctx;
	return udp_datagrams(frame, len, c->w->srv->conf->udp_reply_max,
			     batch_slot, batch_done, c);
}

/* A rate-limited query that slips through: a short error (rc 3), so a
 * real client retries over TCP. */
static int udp_emit_slip(void *vctx, const uint8_t *frame, size_t len)
{
	return udp_datagrams(frame, len, 0, batch_slot, batch_done, vctx);
}

/* ---- multi-datagram requests ----
 *
 * A HANDLE.NET client sends a request longer than 492 bytes as several
 * datagrams, each flagged "truncated" (the flag's meaning in HANDLE.NET),
 * with one request id and message length and sequence numbers 0, 1, ...;
 * the server puts them together. Here a few of them per worker, up to
 * REASM_MAX bytes each, wait at most REASM_MS for their parts; a new one
 * takes the oldest slot when all are busy, so spoofed parts cost memory
 * that is bounded and soon reused. */
#define REASM_SLOTS 16
#define REASM_MAX 16384
#define REASM_MS 2000

typedef struct {
	bool used;
	struct sockaddr_storage from;
	uint32_t request_id;
	uint64_t started;
	idn_reasm_t ra;
	uint8_t frame[IDN_ENV_LEN + REASM_MAX];
} pending_t;

struct udp_reasm {
	pending_t slot[REASM_SLOTS];
};

void udp_free(worker_t *w)
{
	free(w->reasm);
	w->reasm = NULL;
}

static bool same_source(const struct sockaddr_storage *a,
			const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* The slot of src's request id, or a free (else the oldest) one, reset. */
static pending_t *reasm_slot(struct udp_reasm *ra,
			     const struct sockaddr_storage *src, uint32_t id,
			     uint64_t now)
{
	pending_t *pick = NULL;
	for (int i = 0; i < REASM_SLOTS; i++) {
		pending_t *p = &ra->slot[i];
		if (p->used && now - p->started > REASM_MS)
			p->used = false;
		if (p->used && p->request_id == id &&
		    same_source(&p->from, src))
			return p;
		if (!p->used) {
			if (pick == NULL || pick->used)
				pick = p; /* a free slot beats any used one */
		} else if (pick == NULL ||
			   (pick->used && p->started < pick->started)) {
			pick = p; /* else the oldest */
		}
	}
	pick->used = true;
	pick->from = *src;
	pick->request_id = id;
	pick->started = now;
	idn_reasm_init(&pick->ra, pick->frame + IDN_ENV_LEN);
	return pick;
}

/* Takes datagram i when it is part of a multi-datagram request. Returns
 * false when it is not (answer it as it is); true when it was taken, with
 * *frame and *len set to the whole request once its last part came (else
 * *frame is NULL). */
static bool reasm_take(worker_t *w, int i, const uint8_t **frame, size_t *len)
{
	const uint8_t *dg = w->rbuf[i];
	size_t dl = w->rmsg[i].msg_len;
	idn_env_t env;
	*frame = NULL;
	if (dl < IDN_ENV_LEN || idn_env_decode(dg, dl, &env) != 0 ||
	    env.msg_len <= dl - IDN_ENV_LEN || env.msg_len > REASM_MAX)
		return false; /* one datagram, or answered with rc 4 */
	if (w->reasm == NULL &&
	    (w->reasm = calloc(1, sizeof(*w->reasm))) == NULL)
		return false;
	pending_t *p = reasm_slot(w->reasm, &w->raddr[i], env.request_id,
				  idn_now_ms());
	int done = idn_reasm_add(&p->ra, dg, dl);
	if (done < 0 && p->ra.got == 0)
		p->used = false;
	if (done != 1)
		return true;
	/* the whole message behind one envelope: the first part's, for the
	 * whole length, flags cleared */
	idn_env_t e = p->ra.env;
	e.seq = 0;
	e.flags &= (uint16_t)~IDN_EF_TRUNCATED;
	idn_env_encode(p->frame, &e);
	*frame = p->frame;
	*len = IDN_ENV_LEN + e.msg_len;
	p->used = false; /* the frame stays valid until the next datagram */
	return true;
}

/* Answers datagram i of the batch just received on fd. */
static void udp_request(worker_t *w, int fd, int i, uint64_t now)
{
	if (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
		return; /* larger than any Handle datagram */
	const uint8_t *frame = w->rbuf[i];
	size_t len = w->rmsg[i].msg_len;
	if (reasm_take(w, i, &frame, &len) && frame == NULL)
		return; /* a part: the reply waits for the whole request */
	if (frame == NULL) {
		frame = w->rbuf[i];
		len = w->rmsg[i].msg_len;
	}
	udp_ctx_t c = {w, i, 0};
	emit_fn emit = udp_emit;
	int verdict = rrl_check(w->rrl, &w->raddr[i], now);
	if (verdict == RRL_DROP) {
		atomic_fetch_add_explicit(&w->h.stats.rrl_dropped, 1,
					  memory_order_relaxed);
		return;
	}
	if (verdict == RRL_SLIP) {
		atomic_fetch_add_explicit(&w->h.stats.rrl_slipped, 1,
					  memory_order_relaxed);
		emit = udp_emit_slip;
	}
	/* network callers are anonymous until a challenge answer or a
	 * session proves an admin (principal.h) */
	caller_t from = {TRANSPORT_UDP,
			 {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL},
			 &w->raddr[i]};
	uint64_t t0 = reqlat_now();
	int hn = handler_process(&w->h, frame, len, &from, emit, &c);
	reqlat_since(&w->h.stats.lat[TRANSPORT_UDP], t0);
	/* the limit counts datagrams, not replies: a large reply costs its
	 * size, which bounds what a spoofed source can amplify */
	if (c.ndgrams > 1)
		rrl_charge(w->rrl, &w->raddr[i], c.ndgrams - 1);
	if (hn == HANDLER_DEFER)
		defer(w, frame, len, TRANSPORT_UDP, fd, &w->raddr[i],
		      w->rmsg[i].msg_hdr.msg_namelen, NULL, udp_emit, &c);
}

void udp_readable(worker_t *w, int fd)
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
		for (int i = 0; i < n; i++)
			udp_request(w, fd, i, now);
		handler_end(&w->h);
		udp_flush(w);
		if (n < UDP_BATCH)
			return;
	}
}
