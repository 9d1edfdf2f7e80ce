/* Crash safety: idnode killed with SIGKILL in the middle of a stream of
 * writes, then started again on the same store (LMDB, or PostgreSQL when
 * IDN_E2E_PG is set). Every write acknowledged with rc 1 must be there, and
 * every write is whole or absent: a record created with five values has all
 * five, exactly as sent; two values added in one request are both there or
 * neither is.
 *
 * Writes are pipelined on control-socket connections, a few in flight per
 * connection, so that the kill finds requests in every state: unread,
 * being applied, committed but not yet answered. The kill comes a seeded
 * random number of acknowledgements plus a random few milliseconds into
 * each round; IDN_E2E_SEED=N repeats a run (the seed is printed). After each
 * restart everything written in all rounds so far is checked again. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "value.h"

#define ROUNDS 4
#define STREAMS 2
#define WINDOW 8 /* requests in flight per connection */

/* Creates: the kill comes after this many acknowledgements (all streams
 * together) plus up to KILL_SPREAD_US; a stream sends at most CREATE_CAP
 * requests a round. */
#define CREATE_ACKS_MIN 150
#define CREATE_ACKS_MAX 700
#define CREATE_CAP 2000
/* Adds: two values a request, all rounds into one record, which holds
 * IDN_VALUES_MAX (2048) values: 4 rounds x 2 streams x 100 requests x 2
 * values stay below it. */
#define ADD_ACKS_MIN 40
#define ADD_ACKS_MAX 150
#define ADD_CAP 100
#define ADD_ID H_HOME "/crash-add"
#define KILL_SPREAD_US 4000

enum { CREATE, ADD };

static uint64_t seed;

/* What one connection sent in one round and what was acknowledged. */
typedef struct {
	int fd;
	int kind, round, stream;
	uint32_t cap;	/* requests it may send */
	uint32_t nsent; /* sequence numbers 0..nsent-1 were sent */
	uint32_t nreplies;
	uint8_t *acked; /* per sequence number */
	bool eof;
} stream_t;

static stream_t hist[ROUNDS][STREAMS];

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- what is written ---- */

/* Five values whose data encode round, stream and sequence number. */
typedef struct {
	char id[96];
	idn_value_t v[5];
	char url[96], email[96], desc[400];
	uint8_t bin[64], adm[64];
} rec_t;

static void make_record(rec_t *r, int round, int stream, uint32_t seq)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), H_HOME "/crash-%d-%d-%u", round, stream,
		 seq);
	snprintf(r->url, sizeof(r->url), "https://crash.example/%d/%d/%u",
		 round, stream, seq);
	snprintf(r->email, sizeof(r->email), "s%u@r%d-%d.crash.example", seq,
		 round, stream);
	int k = snprintf(r->desc, sizeof(r->desc), "record %d/%d/%u:", round,
			 stream, seq);
	while (k < 300)
		k += snprintf(r->desc + k, sizeof(r->desc) - (size_t)k, " %u",
			      seq * 7919u + (unsigned)k);
	uint64_t st = ((uint64_t)round << 48) ^ ((uint64_t)stream << 40) ^ seq;
	idn_put_u32(r->bin, (uint32_t)round);
	idn_put_u32(r->bin + 4, (uint32_t)stream);
	idn_put_u32(r->bin + 8, seq);
	for (size_t i = 12; i < sizeof(r->bin); i++)
		r->bin[i] = (uint8_t)h_rand(&st);
	idn_wr_t w;
	idn_wr_init(&w, r->adm, sizeof(r->adm));
	idn_hs_admin_t adm = {IDN_ADM_ALL, idn_bytes_str("0.NA/" H_HOME), 300};
	idn_hs_admin_encode(&w, &adm);
	assert_int_equal(w.err, 0);
	struct {
		uint32_t index;
		const char *type;
		idn_bytes_t data;
	} spec[5] = {
		{1, "URL", idn_bytes_str(r->url)},
		{2, "EMAIL", idn_bytes_str(r->email)},
		{3, "DESC", idn_bytes_str(r->desc)},
		{4, "CRASH.BIN", idn_bytes(r->bin, sizeof(r->bin))},
		{100, "HS_ADMIN", idn_bytes(r->adm, w.len)},
	};
	for (int i = 0; i < 5; i++) {
		r->v[i].index = spec[i].index;
		r->v[i].ttl = 3600 + seq;
		r->v[i].perms = IDN_PERM_DEFAULT;
		r->v[i].type = idn_bytes_str(spec[i].type);
		r->v[i].data = spec[i].data;
	}
}

/* The two values of add request seq: indexes apart per round and
 * stream. */
typedef struct {
	idn_value_t v[2];
	char data[2][64];
} add_t;

static uint32_t add_index(int round, int stream, uint32_t seq)
{
	return 1000 + (uint32_t)round * 1000 + (uint32_t)stream * 500 + seq * 2;
}

static void make_add(add_t *a, int round, int stream, uint32_t seq)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 2; i++) {
		snprintf(a->data[i], sizeof(a->data[i]), "add %d/%d/%u %c %08x",
			 round, stream, seq, 'a' + i, seq * 2654435761u);
		a->v[i].index = add_index(round, stream, seq) + (uint32_t)i;
		a->v[i].ttl = 600;
		a->v[i].perms = IDN_PERM_DEFAULT;
		a->v[i].type = idn_bytes_str("SEQ");
		a->v[i].data = idn_bytes_str(a->data[i]);
	}
}

/* A request frame of op with identifier id and n values. */
static size_t values_frame(uint8_t *out, size_t cap, uint32_t op,
			   uint32_t reqid, const char *id, const idn_value_t *v,
			   uint32_t n)
{
	uint8_t body[2048];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_values_body_t b = {idn_bytes_str(id), n, (idn_value_t *)v};
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	h_req_t q = h_req(op, reqid);
	return h_frame(out, cap, &q, body, w.len);
}

/* The value of got with that index, or NULL. */
static const idn_value_t *find_index(const idn_value_t *got, uint32_t n,
				     uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (got[i].index == index)
			return &got[i];
	return NULL;
}

/* Fails unless got holds exactly the values want, in any order (the server
 * stamps the timestamps). */
static void assert_values(const char *id, const idn_value_t *got, uint32_t ngot,
			  const idn_value_t *want, uint32_t nwant,
			  const char *what)
{
	if (ngot != nwant)
		fail_msg("seed %llu: %s %s has %u values, want %u (a partial "
			 "write)",
			 (unsigned long long)seed, what, id, ngot, nwant);
	for (uint32_t i = 0; i < nwant; i++) {
		const idn_value_t *w = &want[i];
		const idn_value_t *g = find_index(got, ngot, w->index);
		if (g == NULL)
			fail_msg("seed %llu: %s %s: no value %u",
				 (unsigned long long)seed, what, id, w->index);
		if (!idn_bytes_eq(g->type, w->type) ||
		    !idn_bytes_eq(g->data, w->data) || g->ttl != w->ttl ||
		    g->ttl_type != w->ttl_type || g->perms != w->perms ||
		    g->nrefs != 0)
			fail_msg("seed %llu: %s %s: value %u is %.*s (%u "
				 "bytes, ttl %u, perms %x), want %.*s (%u "
				 "bytes, ttl %u, perms %x)",
				 (unsigned long long)seed, what, id, w->index,
				 (int)g->type.len, g->type.p, g->data.len,
				 g->ttl, g->perms, (int)w->type.len, w->type.p,
				 w->data.len, w->ttl, w->perms);
	}
}

/* ---- streaming and killing ---- */

static void stream_send(stream_t *s, uint8_t *buf, size_t cap)
{
	size_t len;
	uint32_t seq = s->nsent;
	if (s->kind == CREATE) {
		rec_t r;
		make_record(&r, s->round, s->stream, seq);
		len = values_frame(buf, cap, IDN_OC_CREATE, seq + 1, r.id, r.v,
				   5);
	} else {
		add_t a;
		make_add(&a, s->round, s->stream, seq);
		len = values_frame(buf, cap, IDN_OC_ADD_VALUE, seq + 1, ADD_ID,
				   a.v, 2);
	}
	if (h_write_all(s->fd, buf, len) != 0)
		fail_msg("seed %llu: round %d stream %d: write of request %u: "
			 "%s (the node died before the kill?)",
			 (unsigned long long)seed, s->round, s->stream, seq,
			 strerror(errno));
	s->nsent++;
}

/* Reads one reply; false at the end of the stream. Before the kill the
 * stream must not end, and every reply must be a success. */
static bool stream_recv(stream_t *s, h_reply_t *r, bool killed)
{
	int k = h_read_frame(s->fd, r, H_IO_TIMEOUT_MS);
	if (k != 1) {
		if (!killed)
			fail_msg("seed %llu: round %d stream %d: %s before the "
				 "kill",
				 (unsigned long long)seed, s->round, s->stream,
				 k == 0 ? "connection closed"
					: "no reply or a broken one");
		/* a reply cut short by the kill does not count */
		s->eof = true;
		return false;
	}
	uint32_t seq = r->env.request_id - 1;
	if (r->env.request_id == 0 || seq >= s->nsent || s->acked[seq])
		fail_msg("seed %llu: round %d stream %d: a reply to request "
			 "id %u, which was not sent or already answered",
			 (unsigned long long)seed, s->round, s->stream,
			 r->env.request_id);
	if (r->msg.hdr.rc != IDN_RC_SUCCESS)
		fail_msg("seed %llu: round %d stream %d: request %u answered "
			 "rc %u (%s)",
			 (unsigned long long)seed, s->round, s->stream, seq,
			 r->msg.hdr.rc, h_error_text(r));
	s->acked[seq] = 1;
	s->nreplies++;
	return true;
}

/* One round: STREAMS connections writing until a seeded random moment,
 * SIGKILL, then every reply that got out before the kill is read. */
static void crash_round(node_t *n, int kind, int round, uint64_t *rng)
{
	uint32_t lo = kind == CREATE ? CREATE_ACKS_MIN : ADD_ACKS_MIN;
	uint32_t hi = kind == CREATE ? CREATE_ACKS_MAX : ADD_ACKS_MAX;
	uint32_t kill_acks = lo + (uint32_t)(h_rand(rng) % (hi - lo + 1));
	long long spread = (long long)(h_rand(rng) % KILL_SPREAD_US);
	stream_t *ss = hist[round];
	for (int i = 0; i < STREAMS; i++) {
		stream_t *s = &ss[i];
		memset(s, 0, sizeof(*s));
		s->kind = kind;
		s->round = round;
		s->stream = i;
		s->cap = kind == CREATE ? CREATE_CAP : ADD_CAP;
		s->acked = calloc(s->cap, 1);
		assert_non_null(s->acked);
		s->fd = h_unix_open(n->ctl);
	}
	size_t cap = 8192;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	h_reply_t r;
	h_reply_init(&r);
	bool killed = false;
	long long kill_at = -1;
	uint32_t acks = 0;
	while (!killed) {
		for (int i = 0; i < STREAMS; i++) {
			stream_t *s = &ss[i];
			while (s->nsent < s->cap &&
			       s->nsent - s->nreplies < WINDOW)
				stream_send(s, buf, cap);
		}
		if (kill_at < 0 && acks >= kill_acks)
			kill_at = now_us() + spread;
		int wait_ms = H_IO_TIMEOUT_MS;
		if (kill_at >= 0) {
			long long left = kill_at - now_us();
			if (left <= 0) {
				kill(n->pid, SIGKILL);
				killed = true;
				break;
			}
			wait_ms = (int)(left / 1000); /* 0: poll, spin */
		}
		struct pollfd pf[STREAMS];
		for (int i = 0; i < STREAMS; i++)
			pf[i] = (struct pollfd){.fd = ss[i].fd,
						.events = POLLIN};
		int k = poll(pf, STREAMS, wait_ms);
		if (k < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (k == 0 && kill_at < 0)
			fail_msg("seed %llu: round %d: no reply for %d ms "
				 "(%u acknowledged)",
				 (unsigned long long)seed, round,
				 H_IO_TIMEOUT_MS, acks);
		for (int i = 0; k > 0 && i < STREAMS; i++)
			if (pf[i].revents)
				acks += stream_recv(&ss[i], &r, false);
	}
	/* what the node wrote before it died is still in the sockets */
	for (int i = 0; i < STREAMS; i++) {
		while (ss[i].nreplies < ss[i].nsent &&
		       stream_recv(&ss[i], &r, true))
			;
		close(ss[i].fd);
	}
	node_kill(n); /* reap */
	assert_int_equal(n->last_status, 128 + SIGKILL);
	h_reply_free(&r);
	free(buf);
}

/* ---- checking after the restart ---- */

/* Every identifier under H_HOME, through the control socket's listing:
 * calls seen(ctx, id) for each. */
static void list_all(const node_t *n, void (*seen)(void *, const char *),
		     void *ctx)
{
	int fd = h_unix_open(n->ctl);
	uint8_t body[64], f[256];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str(H_HOME));
	h_req_t q = h_req(IDN_OC_LIST, 77);
	size_t len = h_frame(f, sizeof(f), &q, body, w.len);
	assert_int_equal(h_write_all(fd, f, len), 0);
	h_reply_t r;
	h_reply_init(&r);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	for (;;) {
		if (h_read_frame(fd, &r, H_IO_TIMEOUT_MS) != 1)
			fail_msg("no reply to the listing");
		if (r.msg.hdr.rc != IDN_RC_SUCCESS)
			fail_msg("listing: rc %u (%s)", r.msg.hdr.rc,
				 h_error_text(&r));
		idn_list_body_t lb;
		assert_int_equal(idn_list_body_decode(r.msg.rest, &a, &lb), 0);
		for (uint32_t i = 0; i < lb.n; i++) {
			char s[160];
			snprintf(s, sizeof(s), "%.*s", (int)lb.ids[i].len,
				 lb.ids[i].p);
			seen(ctx, s);
		}
		idn_arena_reset(&a);
		if (!(r.msg.hdr.flags & IDN_OF_CONTINUOUS))
			break;
	}
	idn_arena_free(&a);
	h_reply_free(&r);
	close(fd);
}

typedef struct {
	int rounds;			   /* rounds done */
	uint8_t *present[ROUNDS][STREAMS]; /* per sequence number */
} seen_t;

static void seen_create(void *ctx, const char *id)
{
	seen_t *sn = ctx;
	int round, stream;
	unsigned seq;
	char tail;
	if (strcmp(id, ADD_ID) == 0)
		return;
	if (sscanf(id, H_HOME "/crash-%d-%d-%u%c", &round, &stream, &seq,
		   &tail) != 3)
		fail_msg("seed %llu: unexpected identifier %s",
			 (unsigned long long)seed, id);
	if (round < 0 || round >= sn->rounds || stream < 0 ||
	    stream >= STREAMS || seq >= hist[round][stream].nsent)
		fail_msg("seed %llu: %s is there but was never sent",
			 (unsigned long long)seed, id);
	if (sn->present[round][stream][seq]++)
		fail_msg("seed %llu: %s listed twice", (unsigned long long)seed,
			 id);
}

/* Resolves ids over one control connection, pipelined, and checks each
 * record against make_record. */
static void check_records(const node_t *n, const uint32_t *rs,
			  const uint32_t *ss, const uint32_t *qs, size_t nq)
{
	enum { BATCH = 128 };
	int fd = h_unix_open(n->ctl);
	uint8_t *f = malloc(BATCH * 256);
	assert_non_null(f);
	h_reply_t r;
	h_reply_init(&r);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	for (size_t base = 0; base < nq; base += BATCH) {
		size_t end = base + BATCH < nq ? base + BATCH : nq, off = 0;
		for (size_t i = base; i < end; i++) {
			char id[96];
			snprintf(id, sizeof(id), H_HOME "/crash-%u-%u-%u",
				 rs[i], ss[i], qs[i]);
			off += h_resolve_simple(f + off, BATCH * 256 - off,
						(uint32_t)i + 1, id);
		}
		assert_int_equal(h_write_all(fd, f, off), 0);
		for (size_t i = base; i < end; i++) {
			rec_t want;
			make_record(&want, (int)rs[i], (int)ss[i], qs[i]);
			if (h_read_frame(fd, &r, H_IO_TIMEOUT_MS) != 1)
				fail_msg("no reply to the resolution of %s",
					 want.id);
			assert_int_equal(r.env.request_id, (uint32_t)i + 1);
			if (r.msg.hdr.rc != IDN_RC_SUCCESS)
				fail_msg("seed %llu: %s listed but resolves "
					 "with rc %u",
					 (unsigned long long)seed, want.id,
					 r.msg.hdr.rc);
			idn_values_body_t b;
			assert_int_equal(
				idn_values_body_decode(r.msg.rest, &a, &b), 0);
			assert_values(want.id, b.values, b.nvalues, want.v, 5,
				      "record");
			idn_arena_reset(&a);
		}
	}
	idn_arena_free(&a);
	h_reply_free(&r);
	free(f);
	close(fd);
}

/* Checks every create of rounds 0..rounds-1; prints what it found. */
static void verify_creates(const node_t *n, int rounds)
{
	seen_t sn = {.rounds = rounds};
	size_t total = 0;
	for (int i = 0; i < rounds; i++)
		for (int c = 0; c < STREAMS; c++) {
			sn.present[i][c] = calloc(hist[i][c].cap, 1);
			assert_non_null(sn.present[i][c]);
			total += hist[i][c].nsent;
		}
	list_all(n, seen_create, &sn);
	uint32_t *rs = calloc(total + 1, sizeof(uint32_t));
	uint32_t *ss = calloc(total + 1, sizeof(uint32_t));
	uint32_t *qs = calloc(total + 1, sizeof(uint32_t));
	assert_true(rs && ss && qs);
	size_t nq = 0;
	unsigned acked = 0, inflight = 0, applied = 0;
	for (int i = 0; i < rounds; i++)
		for (int c = 0; c < STREAMS; c++) {
			stream_t *s = &hist[i][c];
			for (uint32_t q = 0; q < s->nsent; q++) {
				bool p = sn.present[i][c][q];
				if (s->acked[q] && !p)
					fail_msg("seed %llu: acknowledged "
						 "create %s/crash-%d-%d-%u is "
						 "lost",
						 (unsigned long long)seed,
						 H_HOME, i, c, q);
				if (s->acked[q])
					acked++;
				else {
					inflight++;
					applied += p;
				}
				if (p) {
					rs[nq] = (uint32_t)i;
					ss[nq] = (uint32_t)c;
					qs[nq++] = q;
				}
			}
		}
	check_records(n, rs, ss, qs, nq);
	print_message(
		"  after round %d: %u acknowledged creates all whole; "
		"%u unanswered at the kills, %u of them applied (whole)\n",
		rounds - 1, acked, inflight, applied);
	free(rs);
	free(ss);
	free(qs);
	for (int i = 0; i < rounds; i++)
		for (int c = 0; c < STREAMS; c++)
			free(sn.present[i][c]);
}

/* Checks the record of the add streams of rounds 0..rounds-1. */
static void verify_adds(const node_t *n, int rounds)
{
	int fd = h_unix_open(n->ctl);
	uint8_t f[256];
	size_t len = h_resolve_simple(f, sizeof(f), 5, ADD_ID);
	h_reply_t r;
	h_reply_init(&r);
	h_stream_call(fd, f, len, &r);
	close(fd);
	if (r.msg.hdr.rc != IDN_RC_SUCCESS)
		fail_msg("seed %llu: %s resolves with rc %u",
			 (unsigned long long)seed, ADD_ID, r.msg.hdr.rc);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(r.msg.rest, &a, &b), 0);
	/* values by index; each expected one is taken out, and whatever
	 * remains besides value 1 was added by nobody */
	enum { MAXIDX = 1000 + ROUNDS * 1000 + 2 };
	const idn_value_t **by = calloc(MAXIDX, sizeof(*by));
	assert_non_null(by);
	for (uint32_t i = 0; i < b.nvalues; i++) {
		uint32_t x = b.values[i].index;
		if (x >= MAXIDX || by[x] != NULL)
			fail_msg("seed %llu: %s holds value %u, which nobody "
				 "added (or twice)",
				 (unsigned long long)seed, ADD_ID, x);
		by[x] = &b.values[i];
	}
	if (by[1] == NULL)
		fail_msg("seed %llu: %s lost its first value",
			 (unsigned long long)seed, ADD_ID);
	uint32_t left = b.nvalues - 1;
	unsigned acked = 0, inflight = 0, applied = 0;
	for (int i = 0; i < rounds; i++)
		for (int c = 0; c < STREAMS; c++) {
			stream_t *s = &hist[i][c];
			for (uint32_t q = 0; q < s->nsent; q++) {
				add_t want;
				make_add(&want, i, c, q);
				const idn_value_t *g0 = by[want.v[0].index];
				const idn_value_t *g1 = by[want.v[1].index];
				char what[64];
				snprintf(what, sizeof(what), "add %d/%d/%u to",
					 i, c, q);
				if ((g0 == NULL) != (g1 == NULL))
					fail_msg("seed %llu: %s %s: only one "
						 "of values %u and %u is there "
						 "(half applied)",
						 (unsigned long long)seed, what,
						 ADD_ID, want.v[0].index,
						 want.v[1].index);
				if (s->acked[q] && g0 == NULL)
					fail_msg("seed %llu: acknowledged %s "
						 "%s is lost",
						 (unsigned long long)seed, what,
						 ADD_ID);
				if (g0 != NULL) {
					idn_value_t got[2] = {*g0, *g1};
					assert_values(ADD_ID, got, 2, want.v, 2,
						      what);
					left -= 2;
				}
				if (s->acked[q])
					acked++;
				else {
					inflight++;
					applied += g0 != NULL;
				}
			}
		}
	if (left != 0)
		fail_msg("seed %llu: %s holds %u values nobody added",
			 (unsigned long long)seed, ADD_ID, left);
	free(by);
	print_message("  after round %d: %u acknowledged adds all whole; %u "
		      "unanswered at the kills, %u of them applied (whole)\n",
		      rounds - 1, acked, inflight, applied);
	idn_arena_free(&a);
	h_reply_free(&r);
}

static void crash_rounds(int kind)
{
	uint64_t rng = seed ^ (kind == CREATE ? 0x1234567ull : 0x7654321ull);
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	if (kind == ADD)
		h_ctl_ok(n, "create", ADD_ID, "1:URL=https://crash.example/add",
			 NULL);
	for (int round = 0; round < ROUNDS; round++) {
		crash_round(n, kind, round, &rng);
		node_start(n); /* same data directory, same database */
		if (kind == CREATE)
			verify_creates(n, round + 1);
		else
			verify_adds(n, round + 1);
	}
	node_stop(n);
	node_free(n);
	for (int i = 0; i < ROUNDS; i++)
		for (int c = 0; c < STREAMS; c++) {
			free(hist[i][c].acked);
			hist[i][c].acked = NULL;
		}
}

/* Creates of five-value records on two connections. */
static void creates_survive_sigkill(void **state)
{
	(void)state;
	crash_rounds(CREATE);
}

/* Two-value adds to one identifier on two connections. */
static void adds_survive_sigkill(void **state)
{
	(void)state;
	crash_rounds(ADD);
}

int main(void)
{
	const char *e = getenv("IDN_E2E_SEED");
	seed = e && *e ? strtoull(e, NULL, 10)
		       : ((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid();
	printf("test_crash: IDN_E2E_SEED=%llu, %s\n", (unsigned long long)seed,
	       h_pg() ? "PostgreSQL" : "LMDB");
	fflush(stdout);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(creates_survive_sigkill),
		cmocka_unit_test(adds_survive_sigkill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
