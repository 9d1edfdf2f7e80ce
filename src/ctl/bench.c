/* idctl bench, the load generator (bench.h).
 *
 * The generator is closed-loop: each thread owns its sockets and a table of
 * K request slots; a request id names its slot, so an answer finds its send
 * time in O(1). Requests are encoded once per identifier before the clock
 * starts (only the envelope's request id is patched per send), so the
 * generator spends its time in sendmmsg/recvmmsg rather than in encoding. */
#include "bench.h"
#include "bench_int.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "ident.h"
#include "msg.h"
#include "net.h"
#include "wire.h"

/* ---- helpers shared with populate.c (bench.h) ---- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (s[0] == '-' || s[0] == '\0')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0' || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int bench_check_prefix(const char *cmd, const char *p)
{
	if (p == NULL) {
		fprintf(stderr, "idctl %s: --prefix is required\n", cmd);
		return -1;
	}
	uint8_t norm[IDN_IDENT_MAX];
	uint32_t nl;
	if (strchr(p, '/') != NULL ||
	    idn_prefix_normalise((const uint8_t *)p, strlen(p), norm, &nl) !=
		    0) {
		fprintf(stderr,
			"idctl %s: invalid --prefix '%s': give a bare prefix "
			"such as 20.500.123\n",
			cmd, p);
		return -1;
	}
	return 0;
}

/* ======================================================================
 * idctl bench
 * ====================================================================== */

static const char bench_usage[] =
	"usage: idctl bench [-s HOST:PORT] --prefix P --count N\n"
	"                   [--duration SEC] [--inflight K] [--threads T]\n"
	"                   [--sockets S] [--tcp] [--timeout MS] [--pool N]\n"
	"                   [--seed N] [--recursive] [--rate R] [--dns]\n"
	"                   [--json]\n"
	"\n"
	"Load generator: resolves random identifiers P/bench-<i>, 0 <= i < N\n"
	"(as written by idctl populate), against a running node for SEC\n"
	"seconds, keeping K requests in flight per thread; then reports the\n"
	"requests sent, answers, successes, errors by response code,\n"
	"timeouts, resolutions/s and latency percentiles. Requests are\n"
	"encoded before the clock starts.\n"
	"\n"
	"  -s, --server HOST:PORT  node to load (default 127.0.0.1:2641)\n"
	"  -p, --prefix P       prefix of the identifiers (required)\n"
	"  -n, --count N        P/bench-0 .. P/bench-<N-1> exist (required)\n"
	"  -d, --duration SEC   how long to send (default 10; 0.5 is fine)\n"
	"  -k, --inflight K     requests in flight per thread (UDP) or per\n"
	"                       connection (TCP) (default 64, max 65536)\n"
	"  -t, --threads T      generator threads, each with its own\n"
	"                       socket(s) or connection (default 1)\n"
	"      --sockets S      UDP sockets per thread, so that a node with\n"
	"                       several workers (SO_REUSEPORT) sees several\n"
	"                       flows (default 1)\n"
	"      --tcp            one pipelined TCP connection per thread\n"
	"      --timeout MS     a later answer is a timeout (default 1000)\n"
	"      --pool N         encode at most N requests up front; with\n"
	"                       more identifiers, a random sample of N is\n"
	"                       resolved (default 4000000)\n"
	"      --seed N         random seed (default: from the clock)\n"
	"      --recursive      set the recursive flag, so that a recursive\n"
	"                       node resolves (and caches) for the generator\n"
	"      --rate R         send at most R requests/s in all (spread over\n"
	"                       the threads, paced in time), still at most K\n"
	"                       in flight: latency at a given load\n"
	"      --dns            speak plain DNS over UDP instead: TXT queries\n"
	"                       for bench-<i>.P. (the zone bench/run gives a\n"
	"                       DNS server); success is NOERROR with answers\n"
	"                       and the question echoed\n"
	"      --json           print the result as a JSON object\n"
	"  -h, --help           this text\n";

/* ---- requests encoded up front ---- */

typedef struct {
	uint8_t *buf; /* messages (header, body, credential), back to back */
	size_t *off;  /* n + 1 offsets into buf */
	uint32_t n;
	size_t max_len;
} pool_t;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) for n < 2^32 (Lemire's multiply-shift). */
static uint32_t rand_below(uint64_t *s, uint64_t n)
{
	return (uint32_t)(((xorshift(s) >> 32) * n) >> 32);
}

/* Appends DNS query "bench-<i>.P." for TXT (RFC 1035 4.1, id 0, no
 * recursion desired) to w. */
static void dns_query_encode(idn_wr_t *w, const char *prefix, uint64_t i)
{
	static const uint8_t hdr[12] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	char label[32];
	int ll = snprintf(label, sizeof(label), BENCH_SUFFIX_FMT, i);
	idn_wr_raw(w, hdr, sizeof(hdr));
	idn_wr_u8(w, (uint8_t)ll);
	idn_wr_raw(w, label, (size_t)ll);
	for (const char *l = prefix; *l != '\0';) {
		size_t n = strcspn(l, ".");
		idn_wr_u8(w, (uint8_t)n);
		idn_wr_raw(w, l, n);
		l += n;
		if (*l == '.')
			l++;
	}
	static const uint8_t tail[5] = {0, 0, 16, 0, 1}; /* root, TXT, IN */
	idn_wr_raw(w, tail, sizeof(tail));
}

static int pool_build(pool_t *p, const bench_opts_t *o)
{
	size_t plen = strlen(o->prefix);
	uint64_t n = o->count < o->pool_max ? o->count : o->pool_max;
	size_t per = IDN_HDR_LEN + 4 + plen + 32 + 12 + 4;
	memset(p, 0, sizeof(*p));
	p->buf = malloc((size_t)n * per);
	p->off = malloc(((size_t)n + 1) * sizeof(size_t));
	char *text = malloc(plen + 32);
	if (p->buf == NULL || p->off == NULL || text == NULL) {
		free(text);
		return -ENOMEM;
	}
	uint64_t seed = o->seed ^ 0x9e3779b97f4a7c15ull;
	idn_wr_t w;
	idn_wr_init(&w, p->buf, (size_t)n * per);
	idn_hdr_t h = {0};
	h.op = IDN_OC_RESOLUTION;
	h.flags = o->recursive ? IDN_OF_RECURSE : 0;
	h.expiry = (uint32_t)time(NULL) + 86400;
	for (uint64_t j = 0; j < n; j++) {
		uint64_t i = n == o->count ? j : rand_below(&seed, o->count);
		int tl = snprintf(text, plen + 32, "%s/" BENCH_SUFFIX_FMT,
				  o->prefix, i);
		p->off[j] = w.len;
		if (o->dns) {
			dns_query_encode(&w, o->prefix, i);
			if (w.err)
				break;
			if (w.len - p->off[j] > p->max_len)
				p->max_len = w.len - p->off[j];
			continue;
		}
		idn_msg_mark_t m = idn_msg_start(&w, NULL, &h);
		idn_resolve_req_t q = {idn_bytes(text, (size_t)tl), 0, NULL, 0,
				       NULL};
		idn_resolve_req_encode(&w, &q);
		idn_msg_finish(&w, m, NULL);
		if (w.err)
			break;
		if (w.len - p->off[j] > p->max_len)
			p->max_len = w.len - p->off[j];
	}
	free(text);
	if (w.err)
		return w.err;
	p->off[n] = w.len;
	p->n = (uint32_t)n;
	return 0;
}

static void pool_free(pool_t *p)
{
	free(p->buf);
	free(p->off);
}

typedef struct {
	uint64_t sent_ns;
	uint32_t rid;
	bool busy;
	uint32_t nfrags; /* multi-datagram answer: expected, got so far */
	uint32_t got;
	uint64_t seen; /* bitmap of datagrams received (first 64) */
	uint32_t rc;
	bool hdr_ok;
	bool wrong_id;
	uint32_t entry;		  /* pool entry of the request */
	uint8_t env[IDN_ENV_LEN]; /* envelope template; id patched per send */
} slot_t;

typedef struct {
	const bench_opts_t *o;
	const pool_t *pool;
	pthread_barrier_t *barrier;
	int id;
	pthread_t thread;
	uint64_t rng;
	slot_t *slots;
	uint32_t nslots;
	uint32_t slot_bits;
	uint32_t seq;
	uint32_t *free_list;
	uint32_t nfree;
	uint64_t deadline;
	int *fds;
	uint32_t nfds;
	stats_t st;
	char err[256];
} gen_t;

__attribute__((format(printf, 2, 3))) static int gen_fail(gen_t *g,
							  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->err, sizeof(g->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int gen_init(gen_t *g)
{
	uint32_t k = g->o->inflight;
	g->slot_bits = 0;
	while ((1u << g->slot_bits) < k)
		g->slot_bits++;
	g->nslots = k;
	g->slots = calloc(k, sizeof(slot_t));
	g->free_list = malloc(k * sizeof(uint32_t));
	g->fds = malloc((g->o->tcp ? 1 : g->o->sockets) * sizeof(int));
	if (g->slots == NULL || g->free_list == NULL || g->fds == NULL)
		return gen_fail(g, "%s", "out of memory");
	idn_env_t env = {0};
	env.major = IDN_PROTO_MAJOR;
	env.minor = IDN_PROTO_MINOR;
	for (uint32_t i = 0; i < k; i++) {
		idn_env_encode(g->slots[i].env, &env);
		g->free_list[i] = k - 1 - i;
	}
	g->nfree = k;
	g->st.lat_min = UINT64_MAX;
	return 0;
}

static void gen_fini(gen_t *g)
{
	for (uint32_t i = 0; i < g->nfds; i++)
		close(g->fds[i]);
	free(g->fds);
	free(g->slots);
	free(g->free_list);
}

/* Takes a free slot for a new request: picks the identifier, patches the
 * envelope. Returns the slot index; *msg and *len give the message. */
static uint32_t take_slot(gen_t *g, const uint8_t **msg, size_t *len)
{
	uint32_t si = g->free_list[--g->nfree];
	slot_t *s = &g->slots[si];
	uint32_t e = rand_below(&g->rng, g->pool->n);
	*msg = g->pool->buf + g->pool->off[e];
	*len = g->pool->off[e + 1] - g->pool->off[e];
	s->entry = e;
	g->seq++;
	s->rid = (g->seq << g->slot_bits) | si;
	if (g->o->dns) {
		/* a DNS id has 16 bits: what is left of seq above the slot */
		s->rid &= 0xffff;
		s->env[0] = (uint8_t)(s->rid >> 8);
		s->env[1] = (uint8_t)s->rid;
	} else {
		idn_env_set_request_id(s->env, s->rid);
		idn_env_set_msg_len(s->env, (uint32_t)*len);
	}
	s->nfrags = s->got = 0;
	s->seen = 0;
	s->hdr_ok = false;
	s->wrong_id = false;
	return si;
}

static void release_slot(gen_t *g, uint32_t si)
{
	g->slots[si].busy = false;
	g->free_list[g->nfree++] = si;
}

static slot_t *find_slot(gen_t *g, uint32_t rid)
{
	uint32_t si = rid & ((1u << g->slot_bits) - 1);
	if (si >= g->nslots || !g->slots[si].busy || g->slots[si].rid != rid) {
		g->st.late++;
		return NULL;
	}
	return &g->slots[si];
}

/* An answer (rc, or -1 when it did not decode) completes slot s. */
static void complete(gen_t *g, slot_t *s, int64_t rc, uint64_t now)
{
	stats_t *st = &g->st;
	uint64_t lat = now > s->sent_ns ? now - s->sent_ns : 0;
	st->received++;
	st->lat_sum += lat;
	if (lat < st->lat_min)
		st->lat_min = lat;
	if (lat > st->lat_max)
		st->lat_max = lat;
	st->hist[hist_index(lat)]++;
	if (rc == RC_WRONG_ID)
		st->wrong_id++;
	else if (rc < 0)
		st->malformed++;
	else if (rc == IDN_RC_SUCCESS) {
		st->success++;
		if (now <= g->deadline)
			st->in_window++;
	} else if (rc < RC_SLOTS)
		st->rc[rc]++;
	else
		st->rc_other++;
	release_slot(g, (uint32_t)(s - g->slots));
}

static void expire(gen_t *g, uint64_t now)
{
	uint64_t limit = (uint64_t)g->o->timeout_ms * 1000000u;
	for (uint32_t i = 0; i < g->nslots; i++) {
		slot_t *s = &g->slots[i];
		if (s->busy && now - s->sent_ns > limit) {
			g->st.timeouts++;
			release_slot(g, i);
		}
	}
}

/* The identifier a request of the pool asks for. */
static idn_bytes_t request_id(const gen_t *g, uint32_t entry)
{
	const uint8_t *m = g->pool->buf + g->pool->off[entry];
	return idn_bytes(m + IDN_HDR_LEN + 4, idn_get_u32(m + IDN_HDR_LEN));
}

/* rc of a complete answer message (no envelope) to slot s; -1 when the
 * message does not decode or is not a resolution answer, RC_WRONG_ID
 * when a success names another identifier than the request. */
static int64_t answer_rc(const gen_t *g, const slot_t *s, const uint8_t *p,
			 size_t len)
{
	idn_msg_t m;
	if (idn_msg_decode(p, len, &m) != 0 || m.hdr.op != IDN_OC_RESOLUTION ||
	    m.hdr.rc == 0)
		return -1;
	if (m.hdr.rc == IDN_RC_SUCCESS) {
		idn_rd_t r;
		idn_rd_init(&r, m.rest.p, m.rest.len);
		idn_bytes_t id = idn_rd_str(&r, IDN_IDENT_MAX);
		if (r.err || !idn_bytes_eq(id, request_id(g, s->entry)))
			return RC_WRONG_ID;
	}
	return m.hdr.rc;
}

/* ---- UDP ---- */

static int set_bufs(int fd)
{
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return 0;
}

static int udp_open(gen_t *g)
{
	const bench_opts_t *o = g->o;
	for (uint32_t i = 0; i < o->sockets; i++) {
		int fd = socket(o->addr.ss_family,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return gen_fail(g, "UDP socket: %s", strerror(errno));
		g->fds[g->nfds++] = fd;
		set_bufs(fd);
		if (connect(fd, (const struct sockaddr *)&o->addr,
			    o->addrlen) != 0)
			return gen_fail(g, "cannot reach the server: %s",
					strerror(errno));
	}
	return 0;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One DNS answer (--dns). */
static void dns_datagram(gen_t *g, const uint8_t *p, size_t len, uint64_t now)
{
	if (len < 12) {
		g->st.malformed++;
		return;
	}
	slot_t *s = find_slot(g, (uint32_t)p[0] << 8 | p[1]);
	if (s == NULL)
		return;
	if (p[2] & 0x02) { /* TC: the answer did not fit */
		g->st.truncated++;
		g->st.received++;
		release_slot(g, (uint32_t)(s - g->slots));
		return;
	}
	/* the question as asked: the pool entry after its 12-byte header */
	const uint8_t *q = g->pool->buf + g->pool->off[s->entry];
	size_t qlen = g->pool->off[s->entry + 1] - g->pool->off[s->entry];
	if (!(p[2] & 0x80) || get_u16(p + 4) != 1 || len < qlen) {
		complete(g, s, -1, now);
		return;
	}
	if (memcmp(p + 12, q + 12, qlen - 12) != 0) {
		complete(g, s, RC_WRONG_ID, now);
		return;
	}
	unsigned rcode = p[3] & 0x0f;
	int64_t rc = rcode != 0		   ? RC_DNS_BASE + rcode
		     : get_u16(p + 6) == 0 ? RC_DNS_NODATA
					   : IDN_RC_SUCCESS;
	complete(g, s, rc, now);
}

/* One datagram of an answer. */
static void udp_datagram(gen_t *g, const uint8_t *p, size_t len, uint64_t now)
{
	if (g->o->dns) {
		dns_datagram(g, p, len, now);
		return;
	}
	idn_env_t env;
	if (len < IDN_ENV_LEN || idn_env_decode(p, len, &env) != 0) {
		g->st.malformed++; /* cannot even tell which request */
		return;
	}
	slot_t *s = find_slot(g, env.request_id);
	if (s == NULL)
		return;
	const uint8_t *pay = p + IDN_ENV_LEN;
	size_t plen = len - IDN_ENV_LEN;
	if (env.flags & IDN_EF_TRUNCATED) {
		g->st.truncated++;
		g->st.received++;
		release_slot(g, (uint32_t)(s - g->slots));
		return;
	}
	if (env.msg_len <= IDN_UDP_PAYLOAD) {
		if (env.seq != 0 || plen != env.msg_len)
			complete(g, s, -1, now);
		else
			complete(g, s, answer_rc(g, s, pay, plen), now);
		return;
	}
	/* an answer spread over several datagrams: the first carries the
	 * header; the answer is complete when every datagram has come */
	size_t nf = idn_udp_frag_count(env.msg_len);
	size_t want = env.seq + 1 < nf
			      ? IDN_UDP_PAYLOAD
			      : env.msg_len - (nf - 1) * IDN_UDP_PAYLOAD;
	if (env.seq >= nf || plen != want || (s->nfrags && s->nfrags != nf)) {
		complete(g, s, -1, now);
		return;
	}
	s->nfrags = (uint32_t)nf;
	if (env.seq < 64) {
		if (s->seen & (1ull << env.seq))
			return; /* duplicate */
		s->seen |= 1ull << env.seq;
	}
	if (env.seq == 0) {
		idn_rd_t r;
		idn_rd_init(&r, pay, plen);
		uint32_t op = idn_rd_u32(&r);
		s->rc = idn_rd_u32(&r);
		uint32_t flags = idn_rd_u32(&r);
		idn_rd_raw(&r, 2 + 1 + 1 + 4 + 4); /* to the body */
		s->hdr_ok = !r.err && op == IDN_OC_RESOLUTION && s->rc != 0;
		if (s->hdr_ok && s->rc == IDN_RC_SUCCESS &&
		    !(flags & IDN_OF_RETURN_DIGEST)) {
			idn_bytes_t id = idn_rd_str(&r, IDN_IDENT_MAX);
			s->wrong_id =
				!r.err &&
				!idn_bytes_eq(id, request_id(g, s->entry));
		}
	}
	if (++s->got < nf)
		return;
	int64_t rc = s->rc;
	if (!s->hdr_ok)
		rc = -1;
	else if (s->wrong_id)
		rc = RC_WRONG_ID;
	complete(g, s, rc, now);
}

typedef struct {
	struct mmsghdr mm[IO_BATCH];
	struct iovec iov[IO_BATCH][2];
	uint32_t si[IO_BATCH];
	uint8_t rbuf[IO_BATCH][IDN_UDP_DGRAM_MAX];
} udp_io_t;

/* --rate: when this thread's request number k is due (ns, monotonic). */
static uint64_t due_at(const gen_t *g, uint64_t k)
{
	double per = g->o->rate / g->o->threads;
	return g->st.start + (uint64_t)((double)k * 1e9 / per);
}

/* Sends up to one batch on fd. Returns datagrams sent, or -1 on a fatal
 * error. */
static int udp_send(gen_t *g, udp_io_t *io, int fd, uint64_t budget)
{
	int n = 0;
	while (n < IO_BATCH && g->nfree > 0 && (uint64_t)n < budget) {
		const uint8_t *msg;
		size_t len;
		uint32_t si = take_slot(g, &msg, &len);
		io->iov[n][0].iov_base = g->slots[si].env;
		io->iov[n][0].iov_len = IDN_ENV_LEN;
		io->iov[n][1].iov_base = (void *)msg;
		io->iov[n][1].iov_len = len;
		if (g->o->dns) { /* the id from the slot, the rest pooled */
			io->iov[n][0].iov_len = 2;
			io->iov[n][1].iov_base = (void *)(msg + 2);
			io->iov[n][1].iov_len = len - 2;
		}
		memset(&io->mm[n], 0, sizeof(io->mm[n]));
		io->mm[n].msg_hdr.msg_iov = io->iov[n];
		io->mm[n].msg_hdr.msg_iovlen = 2;
		io->si[n] = si;
		n++;
	}
	if (n == 0)
		return 0;
	int r = sendmmsg(fd, io->mm, (unsigned)n, MSG_DONTWAIT);
	if (r < 0) {
		if (errno == ECONNREFUSED) {
			gen_fail(g, "%s",
				 "the server refused the datagrams "
				 "(is idnode listening there?)");
			return -1;
		}
		if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
			gen_fail(g, "send: %s", strerror(errno));
			return -1;
		}
		r = 0;
	}
	uint64_t now = bench_now_ns();
	for (int i = 0; i < r; i++) {
		slot_t *s = &g->slots[io->si[i]];
		s->busy = true;
		s->sent_ns = now;
		if (g->o->rate > 0) {
			uint64_t due = due_at(g, g->st.sent + (uint64_t)i);
			uint64_t lag = now > due ? now - due : 0;
			g->st.lag_hist[hist_index(lag)]++;
			if (lag > g->st.lag_max)
				g->st.lag_max = lag;
		}
	}
	g->st.sent += (uint64_t)r;
	/* not sent: back to the free list, last taken first */
	for (int i = n - 1; i >= r; i--)
		g->free_list[g->nfree++] = io->si[i];
	return r;
}

/* Receives what is waiting on fd. Returns datagrams received or -1. */
static int udp_recv(gen_t *g, udp_io_t *io, int fd)
{
	int total = 0;
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < IO_BATCH; i++) {
			io->iov[i][0].iov_base = io->rbuf[i];
			io->iov[i][0].iov_len = IDN_UDP_DGRAM_MAX;
			memset(&io->mm[i], 0, sizeof(io->mm[i]));
			io->mm[i].msg_hdr.msg_iov = io->iov[i];
			io->mm[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, io->mm, IO_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == ECONNREFUSED) {
				gen_fail(g, "%s",
					 "the server refused the "
					 "datagrams (is idnode "
					 "listening there?)");
				return -1;
			}
			if (errno == EAGAIN || errno == EINTR)
				break;
			gen_fail(g, "receive: %s", strerror(errno));
			return -1;
		}
		uint64_t now = bench_now_ns();
		for (int i = 0; i < n; i++) {
			g->st.rx_bytes += io->mm[i].msg_len;
			g->st.rx_dgrams++;
			if (io->mm[i].msg_hdr.msg_flags & MSG_TRUNC)
				g->st.malformed++;
			else
				udp_datagram(g, io->rbuf[i], io->mm[i].msg_len,
					     now);
		}
		total += n;
		if (n < IO_BATCH)
			break;
	}
	return total;
}

/* --rate: when request number st.sent is due (ns, monotonic clock). */
static uint64_t next_due(const gen_t *g)
{
	return due_at(g, g->st.sent);
}

/* How many requests may go now: all free slots without --rate, else
 * those due by now (behind schedule, as many as the free slots allow). */
static uint64_t send_budget(const gen_t *g, uint64_t now)
{
	if (g->o->rate <= 0)
		return UINT64_MAX;
	double per = g->o->rate / g->o->threads;
	uint64_t due = (uint64_t)((double)(now - g->st.start) * per / 1e9) + 1;
	if (due <= g->st.sent)
		return 0;
	return due - g->st.sent;
}

static int udp_run(gen_t *g)
{
	udp_io_t *io = malloc(sizeof(*io));
	struct pollfd *pfd = calloc(g->nfds, sizeof(*pfd));
	if (io == NULL || pfd == NULL) {
		free(io);
		free(pfd);
		return gen_fail(g, "%s", "out of memory");
	}
	for (uint32_t i = 0; i < g->nfds; i++) {
		pfd[i].fd = g->fds[i];
		pfd[i].events = POLLIN;
	}
	uint64_t drain_end =
		g->deadline + (uint64_t)g->o->timeout_ms * 1000000u;
	uint64_t next_scan = g->st.start + 10000000u;
	uint32_t rr = 0;
	int rc = 0;
	for (;;) {
		uint64_t now = bench_now_ns();
		bool sending = now < g->deadline;
		if (!sending && (g->nfree == g->nslots || now >= drain_end))
			break;
		int progress = 0;
		uint64_t budget = send_budget(g, now);
		while (sending && g->nfree > 0 && budget > 0) {
			int r = udp_send(g, io, g->fds[rr], budget);
			rr = (rr + 1) % g->nfds;
			if (r < 0) {
				rc = -1;
				goto out;
			}
			if (r == 0)
				break;
			progress += r;
			budget -= (uint64_t)r;
		}
		for (uint32_t i = 0; i < g->nfds; i++) {
			int r = udp_recv(g, io, g->fds[i]);
			if (r < 0) {
				rc = -1;
				goto out;
			}
			progress += r;
		}
		now = bench_now_ns();
		if (now >= next_scan) {
			expire(g, now);
			next_scan = now + 10000000u;
		}
		if (progress == 0) {
			/* wait for answers, or until the pacing lets the
			 * next request go */
			struct timespec ts = {0, 1000000};
			if (g->o->rate > 0 && sending && g->nfree > 0) {
				uint64_t due = next_due(g);
				uint64_t t = bench_now_ns();
				ts.tv_nsec = due > t ? (long)(due - t) : 0;
				if (ts.tv_nsec > 1000000)
					ts.tv_nsec = 1000000;
			}
			ppoll(pfd, g->nfds, &ts, NULL);
		}
	}
	expire(g, UINT64_MAX / 2);
out:
	free(io);
	free(pfd);
	return rc;
}

/* ---- TCP ---- */

static int tcp_open(gen_t *g)
{
	const bench_opts_t *o = g->o;
	int fd = socket(o->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return gen_fail(g, "TCP socket: %s", strerror(errno));
	g->fds[g->nfds++] = fd;
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addrlen) != 0 &&
	    errno != EINPROGRESS)
		return gen_fail(g, "cannot connect: %s", strerror(errno));
	struct pollfd p = {fd, POLLOUT, 0};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&p, 1, (int)o->timeout_ms + 1000) != 1)
		return gen_fail(g, "%s", "cannot connect: timed out");
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr != 0)
		return gen_fail(g, "cannot connect: %s", strerror(soerr));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Parses the complete answers in buf[0..*len) and keeps the rest. Returns
 * answers parsed, or -1 when the stream cannot be framed any more. */
static int tcp_parse(gen_t *g, uint8_t *buf, size_t *len, uint64_t now)
{
	size_t off = 0;
	int n = 0;
	while (*len - off >= IDN_ENV_LEN) {
		idn_env_t env;
		if (idn_env_decode(buf + off, IDN_ENV_LEN, &env) != 0) {
			g->st.malformed++;
			return gen_fail(g, "%s",
					"the server sent an envelope "
					"that does not decode");
		}
		if (*len - off < IDN_ENV_LEN + (size_t)env.msg_len)
			break;
		slot_t *s = find_slot(g, env.request_id);
		if (s != NULL)
			complete(g, s,
				 answer_rc(g, s, buf + off + IDN_ENV_LEN,
					   env.msg_len),
				 now);
		off += IDN_ENV_LEN + (size_t)env.msg_len;
		n++;
	}
	if (off > 0) {
		memmove(buf, buf + off, *len - off);
		*len -= off;
	}
	return n;
}

static int tcp_run(gen_t *g)
{
	int fd = g->fds[0];
	size_t wcap = (size_t)g->nslots * (IDN_ENV_LEN + g->pool->max_len);
	size_t rcap = IDN_ENV_LEN + IDN_MSG_MAX + 65536;
	uint8_t *wbuf = malloc(wcap), *rbuf = malloc(rcap);
	size_t wlen = 0, woff = 0, rlen = 0;
	int rc = 0;
	if (wbuf == NULL || rbuf == NULL) {
		rc = gen_fail(g, "%s", "out of memory");
		goto out;
	}
	uint64_t drain_end =
		g->deadline + (uint64_t)g->o->timeout_ms * 1000000u;
	uint64_t next_scan = g->st.start + 10000000u;
	for (;;) {
		uint64_t now = bench_now_ns();
		bool sending = now < g->deadline;
		if (!sending && (g->nfree == g->nslots || now >= drain_end))
			break;
		int progress = 0;
		if (woff == wlen) {
			woff = wlen = 0;
		} else if (woff > 0 && g->nfree > 0) {
			memmove(wbuf, wbuf + woff, wlen - woff);
			wlen -= woff;
			woff = 0;
		}
		/* queue a request for every free slot */
		while (sending && g->nfree > 0 &&
		       wcap - wlen >= IDN_ENV_LEN + g->pool->max_len) {
			const uint8_t *msg;
			size_t len;
			uint32_t si = take_slot(g, &msg, &len);
			memcpy(wbuf + wlen, g->slots[si].env, IDN_ENV_LEN);
			memcpy(wbuf + wlen + IDN_ENV_LEN, msg, len);
			wlen += IDN_ENV_LEN + len;
			g->slots[si].busy = true;
			g->slots[si].sent_ns = now;
			g->st.sent++;
		}
		while (woff < wlen) {
			ssize_t w = send(fd, wbuf + woff, wlen - woff,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				break;
			if (w < 0) {
				rc = gen_fail(g, "send: %s", strerror(errno));
				goto out;
			}
			woff += (size_t)w;
			progress++;
		}
		for (;;) {
			ssize_t r = recv(fd, rbuf + rlen, rcap - rlen,
					 MSG_DONTWAIT);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno == EAGAIN)
				break;
			if (r < 0) {
				rc = gen_fail(g, "receive: %s",
					      strerror(errno));
				goto out;
			}
			if (r == 0) {
				rc = gen_fail(g, "%s",
					      "the server closed the "
					      "connection");
				goto out;
			}
			rlen += (size_t)r;
			int n = tcp_parse(g, rbuf, &rlen, bench_now_ns());
			if (n < 0) {
				rc = -1;
				goto out;
			}
			progress += n;
		}
		now = bench_now_ns();
		if (now >= next_scan) {
			expire(g, now);
			next_scan = now + 10000000u;
		}
		if (progress == 0) {
			struct pollfd p = {fd, POLLIN, 0};
			if (woff < wlen)
				p.events |= POLLOUT;
			poll(&p, 1, 1);
		}
	}
	expire(g, UINT64_MAX / 2);
out:
	free(wbuf);
	free(rbuf);
	return rc;
}

static void *gen_main(void *arg)
{
	gen_t *g = arg;
	int err = gen_init(g);
	if (err == 0)
		err = g->o->tcp ? tcp_open(g) : udp_open(g);
	/* every thread starts the clock together, even after a failure, so
	 * that nobody waits at the barrier for ever */
	pthread_barrier_wait(g->barrier);
	g->st.start = bench_now_ns();
	g->deadline = g->st.start + (uint64_t)(g->o->duration * 1e9);
	if (err == 0)
		err = g->o->tcp ? tcp_run(g) : udp_run(g);
	g->st.end = bench_now_ns();
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		g->st.preempted = (uint64_t)ru.ru_nivcsw;
	if (err != 0 && g->err[0] == '\0')
		snprintf(g->err, sizeof(g->err), "generator failed");
	return NULL;
}

/* ---- command ---- */

static int bench_parse(const ctl_opts_t *g, int argc, char **argv,
		       bench_opts_t *o)
{
	enum {
		O_SOCKETS = 256,
		O_TCP,
		O_TIMEOUT,
		O_POOL,
		O_SEED,
		O_JSON,
		O_RECURSIVE,
		O_RATE,
		O_DNS
	};
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"prefix", required_argument, NULL, 'p'},
		{"count", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"inflight", required_argument, NULL, 'k'},
		{"threads", required_argument, NULL, 't'},
		{"sockets", required_argument, NULL, O_SOCKETS},
		{"tcp", no_argument, NULL, O_TCP},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"pool", required_argument, NULL, O_POOL},
		{"seed", required_argument, NULL, O_SEED},
		{"json", no_argument, NULL, O_JSON},
		{"recursive", no_argument, NULL, O_RECURSIVE},
		{"rate", required_argument, NULL, O_RATE},
		{"dns", no_argument, NULL, O_DNS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->server = "127.0.0.1:2641";
	o->duration = 10;
	o->inflight = 64;
	o->threads = 1;
	o->sockets = 1;
	o->timeout_ms = 1000;
	o->pool_max = 4000000;
	o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	/* global options given before the command */
	if (g->server)
		o->server = g->server;
	o->tcp = g->tcp;
	o->json = g->json;
	if (g->timeout_ms > 0)
		o->timeout_ms = (uint32_t)g->timeout_ms;
	bool have_count = false;
	uint64_t v;
	int c;
	optind = 0; /* a fresh scan: argv[0] is the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:p:n:d:k:t:h", opts, NULL)) !=
	       -1) {
		const char *bad = NULL, *range = NULL;
		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 'p':
			o->prefix = optarg;
			break;
		case 'n':
			if (bench_parse_u64(optarg, 1, UINT32_MAX, &o->count) !=
			    0)
				bad = "--count", range = "1..4294967295";
			have_count = true;
			break;
		case 'd': {
			char *end;
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (*end || errno || !(o->duration > 0) ||
			    o->duration > 86400)
				bad = "--duration", range = "seconds, > 0";
			break;
		}
		case 'k':
			if (bench_parse_u64(optarg, 1, 65536, &v) != 0)
				bad = "--inflight", range = "1..65536";
			o->inflight = (uint32_t)v;
			break;
		case 't':
			if (bench_parse_u64(optarg, 1, 256, &v) != 0)
				bad = "--threads", range = "1..256";
			o->threads = (uint32_t)v;
			break;
		case O_SOCKETS:
			if (bench_parse_u64(optarg, 1, 256, &v) != 0)
				bad = "--sockets", range = "1..256";
			o->sockets = (uint32_t)v;
			break;
		case O_TCP:
			o->tcp = true;
			break;
		case O_TIMEOUT:
			if (bench_parse_u64(optarg, 1, 600000, &v) != 0)
				bad = "--timeout",
				range = "milliseconds, 1..600000";
			o->timeout_ms = (uint32_t)v;
			break;
		case O_POOL:
			if (bench_parse_u64(optarg, 1, 100000000,
					    &o->pool_max) != 0)
				bad = "--pool", range = "1..100000000";
			break;
		case O_SEED:
			if (bench_parse_u64(optarg, 0, UINT64_MAX, &o->seed) !=
			    0)
				bad = "--seed", range = "an unsigned integer";
			break;
		case O_RECURSIVE:
			o->recursive = true;
			break;
		case O_DNS:
			o->dns = true;
			break;
		case O_RATE: {
			char *end;
			errno = 0;
			o->rate = strtod(optarg, &end);
			if (*end || errno || !(o->rate >= 1) || o->rate > 1e9)
				bad = "--rate", range = "requests/s, >= 1";
			break;
		}
		case O_JSON:
			o->json = true;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return 1;
		case ':':
			fprintf(stderr, "idctl bench: %s needs a value\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr,
				"idctl bench: unknown option '%s' "
				"(see --help)\n",
				argv[optind - 1]);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "idctl bench: invalid %s '%s' (%s)\n",
				bad, optarg, range);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "idctl bench: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (!have_count) {
		fprintf(stderr, "idctl bench: --count is required\n");
		return -1;
	}
	if (o->dns && (o->tcp || o->recursive)) {
		fprintf(stderr, "idctl bench: --dns speaks UDP only, without "
				"--tcp or --recursive\n");
		return -1;
	}
	if (o->rate > 0 && o->tcp) {
		fprintf(stderr, "idctl bench: --rate paces UDP only\n");
		return -1;
	}
	if (bench_check_prefix("bench", o->prefix) != 0)
		return -1;
	if (idn_addr_parse(o->server, IDN_DEFAULT_PORT, &o->addr,
			   &o->addrlen) != 0) {
		fprintf(stderr,
			"idctl bench: invalid --server '%s' "
			"(HOST:PORT)\n",
			o->server);
		return -1;
	}
	if (o->seed == 0)
		o->seed = 1; /* xorshift needs a non-zero state */
	return 0;
}

int bench_main(ctl_opts_t *gopts, int argc, char **argv)
{
	bench_opts_t o;
	int prc = bench_parse(gopts, argc, argv, &o);
	if (prc != 0)
		return prc > 0 ? 0 : 2;

	pool_t pool;
	int err = pool_build(&pool, &o);
	if (err) {
		pool_free(&pool);
		fprintf(stderr, "idctl bench: cannot encode the requests: %s\n",
			idn_strerror(err));
		return 1;
	}
	if (!o.tcp && pool.max_len > IDN_UDP_PAYLOAD) {
		pool_free(&pool);
		fprintf(stderr, "idctl bench: prefix too long: a request must "
				"fit in one datagram (use --tcp)\n");
		return 1;
	}

	gen_t *gens = calloc(o.threads, sizeof(gen_t));
	pthread_barrier_t barrier;
	if (gens == NULL) {
		pool_free(&pool);
		fprintf(stderr, "idctl bench: out of memory\n");
		return 1;
	}
	pthread_barrier_init(&barrier, NULL, o.threads);
	uint64_t seed = o.seed;
	uint32_t started = 0;
	int rc = 0;
	for (uint32_t i = 0; i < o.threads; i++) {
		gen_t *g = &gens[i];
		g->o = &o;
		g->pool = &pool;
		g->barrier = &barrier;
		g->id = (int)i;
		g->rng = xorshift(&seed) | 1;
		if (pthread_create(&g->thread, NULL, gen_main, g) != 0) {
			fprintf(stderr, "idctl bench: cannot start thread %u\n",
				i);
			/* the barrier counts o.threads: not recoverable
			 * cleanly, so give up at once */
			exit(1);
		}
		started++;
	}
	stats_t *total = calloc(1, sizeof(*total));
	if (total == NULL) {
		fprintf(stderr, "idctl bench: out of memory\n");
		exit(1);
	}
	total->lat_min = UINT64_MAX;
	for (uint32_t i = 0; i < started; i++) {
		pthread_join(gens[i].thread, NULL);
		if (gens[i].err[0] != '\0' && rc == 0) {
			fprintf(stderr, "idctl bench: %s: %s\n", o.server,
				gens[i].err);
			rc = 1;
		}
		bench_stats_merge(total, &gens[i].st);
		gen_fini(&gens[i]);
	}
	pthread_barrier_destroy(&barrier);
	if (rc == 0 && total->received == 0) {
		fprintf(stderr,
			"idctl bench: %s: no answer to %" PRIu64
			" requests (is idnode running there?)\n",
			o.server, total->sent);
		rc = 1;
	}
	if (rc == 0) {
		if (o.json)
			bench_report_json(&o, total);
		else
			bench_report_text(&o, total);
	}
	free(total);
	free(gens);
	pool_free(&pool);
	return rc;
}
