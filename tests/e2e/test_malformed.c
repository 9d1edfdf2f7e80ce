/* Hostile input: the fuzz corpora, the wire vectors, truncations, random
 * garbage and mutations (seeded PRNG), oversized length fields, zero-length
 * datagrams and empty connections, sent to UDP, to TCP (a new connection
 * for each stream) and to the control socket. After each batch the daemon
 * must still run, still answer, and the stored records must read back
 * byte for byte as before. */
#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "value.h"

/* The records that must survive, under a prefix no admin request of this
 * file ever names; admin requests and mutations target SCRATCH. */
#define SNAP "88.700.61"
#define SCRATCH "77.1"

static const char *const snap_ids[] = {
	SNAP "/plain",
	SNAP "/many-values",
	SNAP "/private",
	SNAP "/big",
};
#define NSNAP (sizeof(snap_ids) / sizeof(snap_ids[0]))

static node_t *node;
static char *snap0;
static uint64_t rng = 0x1d2c3b4a59687766ull;
static int nstreams, ndgrams; /* how much was sent, for the record */

/* Valid frames that mutations start from: (transport, bytes). */
enum { T_UDP = 1, T_TCP = 2, T_CTL = 4, T_NET = T_UDP | T_TCP, T_ALL = 7 };
typedef struct {
	int where;
	uint8_t *p;
	size_t len;
} base_t;
static base_t bases[32];
static int nbases;

static char *snapshot(void)
{
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	s[0] = 0;
	for (size_t i = 0; i <= NSNAP; i++) {
		h_run_t r;
		if (i < NSNAP)
			h_ctl(&r, node, "--json", "resolve", snap_ids[i], NULL);
		else
			h_ctl(&r, node, "--json", "list", SNAP, NULL);
		h_assert_status(&r, 0);
		while (cap - len < r.outlen + 1) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		memcpy(s + len, r.out, r.outlen + 1);
		len += r.outlen;
		h_run_free(&r);
	}
	return s;
}

static void add_base(int where, const uint8_t *p, size_t len)
{
	assert_true(nbases < 32);
	bases[nbases].where = where;
	bases[nbases].p = malloc(len);
	assert_non_null(bases[nbases].p);
	memcpy(bases[nbases].p, p, len);
	bases[nbases].len = len;
	nbases++;
}

static size_t body_frame(uint8_t *out, size_t cap, uint32_t op, uint32_t flags,
			 void (*fill)(idn_wr_t *w, const void *arg),
			 const void *arg)
{
	uint8_t body[4096];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	fill(&w, arg);
	assert_int_equal(w.err, 0);
	h_req_t q = h_req(op, 77);
	q.flags = flags;
	return h_frame(out, cap, &q, body, w.len);
}

static void fill_values(idn_wr_t *w, const void *arg)
{
	(void)arg;
	static uint8_t adm[64];
	idn_wr_t aw;
	idn_wr_init(&aw, adm, sizeof(adm));
	idn_hs_admin_t a = {IDN_ADM_ALL, idn_bytes_str("0.NA/" SCRATCH), 300};
	idn_hs_admin_encode(&aw, &a);
	idn_ref_t refs[2] = {{idn_bytes_str(SCRATCH "/r"), 1},
			     {idn_bytes_str(SCRATCH "/s"), 2}};
	idn_value_t v[3] = {{0}};
	v[0].index = 1, v[0].ttl = 60, v[0].perms = 0xe;
	v[0].type = idn_bytes_str("URL");
	v[0].data = idn_bytes_str("https://example.com/m");
	v[0].nrefs = 2, v[0].refs = refs;
	v[1].index = 2, v[1].ttl_type = 1, v[1].ttl = 2000000000,
	v[1].perms = 0xa;
	v[1].type = idn_bytes_str("EMAIL");
	v[1].data = idn_bytes_str("m@example.com");
	v[2].index = 100, v[2].ttl = 86400, v[2].perms = 0xe;
	v[2].type = idn_bytes_str("HS_ADMIN");
	v[2].data = idn_bytes(adm, aw.len);
	idn_values_body_t b = {idn_bytes_str(SCRATCH "/m"), 3, v};
	idn_values_body_encode(w, &b);
}

static void fill_id(idn_wr_t *w, const void *arg)
{
	idn_id_body_encode(w, idn_bytes_str(arg));
}

static void fill_remove(idn_wr_t *w, const void *arg)
{
	(void)arg;
	uint32_t idx[2] = {2, 100};
	idn_remove_req_t b = {idn_bytes_str(SCRATCH "/m"), 2, idx};
	idn_remove_req_encode(w, &b);
}

static void make_bases(void)
{
	uint8_t f[8192];
	const char *types[] = {"URL", "HS_ADMIN", "EMAIL."};
	uint32_t idx[] = {1, 2, 300};
	h_req_t q = h_req(IDN_OC_RESOLUTION, 11);
	add_base(T_ALL, f, h_resolve_simple(f, sizeof(f), 10, snap_ids[1]));
	q.flags = IDN_OF_RETURN_DIGEST | IDN_OF_PUBLIC_ONLY;
	add_base(T_ALL, f,
		 h_resolve_frame(f, sizeof(f), &q, snap_ids[1],
				 strlen(snap_ids[1]), idx, 3, types, 3));
	add_base(T_CTL, f,
		 body_frame(f, sizeof(f), IDN_OC_CREATE, IDN_OF_OVERWRITE,
			    fill_values, NULL));
	add_base(T_CTL, f,
		 body_frame(f, sizeof(f), IDN_OC_ADD_VALUE, IDN_OF_OVERWRITE,
			    fill_values, NULL));
	add_base(T_CTL, f,
		 body_frame(f, sizeof(f), IDN_OC_MODIFY_VALUE, 0, fill_values,
			    NULL));
	add_base(T_CTL, f,
		 body_frame(f, sizeof(f), IDN_OC_REMOVE_VALUE, 0, fill_remove,
			    NULL));
	add_base(T_CTL, f,
		 body_frame(f, sizeof(f), IDN_OC_LIST, 0, fill_id, SCRATCH));
	add_base(
		T_CTL, f,
		body_frame(f, sizeof(f), IDN_OC_HOME, 0, fill_id, "0.NA/77.2"));
	add_base(T_CTL, f,
		 body_frame(f, sizeof(f), IDN_OC_LIST_HOMED, 0, fill_id, ""));
	/* requests of the reference client, as captured */
	const char *vec[] = {"resolve-request",
			     "prefix-resolve-request",
			     "certified-resolve-request",
			     "get-site-info-request",
			     "create-request",
			     "session-setup-request"};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "tests/vectors/%s.hex", vec[i]);
		size_t n;
		uint8_t *p = h_read_hex(h_src(rel), &n);
		if (p == NULL)
			fail_msg("cannot read %s", rel);
		add_base(n <= 512 ? T_ALL : T_TCP | T_CTL, p, n);
		free(p);
	}
}

static int setup(void **state)
{
	(void)state;
	/* no response rate limit: the floods below come from one address,
	 * and its slips (rc 3) are not what this suite checks */
	node = node_new("--home", SNAP, "--home", SCRATCH, "--rrl-rate", "0",
			NULL);
	node_start(node);
	h_ctl_ok(node, "create", snap_ids[0], "1:URL=https://example.com/plain",
		 NULL);
	h_ctl_ok(node, "create", snap_ids[1], "1:URL=https://example.com/m",
		 "2,ttl=60,ref=" SNAP "/plain@1:EMAIL=m@example.com",
		 "3,abs,ttl=2000000000:DESC=expires", "4:BIN=hex:000102fffe",
		 "100:HS_ADMIN=0.NA/" SNAP "@300#0fff", NULL);
	h_ctl_ok(node, "create", snap_ids[2], "1,perms=c:URL=https://private",
		 "2,perms=2:NOTE=public", NULL);
	static char big[3100];
	int off = snprintf(big, sizeof(big), "1:DESC=");
	for (int i = off; i < (int)sizeof(big) - 1; i++)
		big[i] = (char)('A' + i % 26);
	h_ctl_ok(node, "create", snap_ids[3], big, NULL);
	snap0 = snapshot();
	make_bases();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	free(snap0);
	for (int i = 0; i < nbases; i++)
		free(bases[i].p);
	print_message("sent %d datagrams and %d streams\n", ndgrams, nstreams);
	return 0;
}

/* ---- sending ---- */

static int udp_fd = -1;

static void udp(const void *p, size_t len)
{
	if (udp_fd < 0)
		udp_fd = h_udp_open(node);
	if (len > 65000)
		len = 65000;
	h_udp_send_raw(udp_fd, p, len);
	ndgrams++;
	/* keep our receive buffer from filling with replies */
	char junk[600];
	while (recv(udp_fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

/* One stream of bytes on a new connection: the node must answer what it
 * can and close when we do. */
static void stream(int where, const void *p, size_t len)
{
	int fd = where == T_TCP ? h_tcp_open(node) : h_unix_open(node->ctl);
	h_write_all(fd, p, len); /* the node may close early: fine */
	shutdown(fd, SHUT_WR);
	if (h_drain(fd, H_IO_TIMEOUT_MS) != 0)
		fail_msg("%s: the node neither closed nor finished after a "
			 "%zu-byte stream",
			 where == T_TCP ? "tcp" : "control", len);
	close(fd);
	nstreams++;
}

static void send_all(int where, const void *p, size_t len)
{
	if (where & T_UDP)
		udp(p, len);
	if (where & T_TCP)
		stream(T_TCP, p, len);
	if (where & T_CTL)
		stream(T_CTL, p, len);
}

/* The node still runs, answers, and holds the same records. */
static void check_intact(const char *after)
{
	if (!node_alive(node)) {
		node_dump_log(node);
		fail_msg("idnode is gone after %s (status %d)", after,
			 node->last_status);
	}
	uint8_t req[256];
	h_reply_t r;
	h_reply_init(&r);
	size_t len = h_resolve_simple(req, sizeof(req), 99, snap_ids[0]);
	h_udp_call(node, req, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	h_tcp_call(node, req, len, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	h_reply_free(&r);
	char *s = snapshot();
	if (strcmp(s, snap0) != 0) {
		print_error("---- before ----\n%s---- after %s ----\n%s----\n",
			    snap0, after, s);
		fail_msg("stored records changed after %s", after);
	}
	free(s);
}

/* Prepends a valid envelope (2.10, msg_len = len) to p. */
static uint8_t *enveloped(const uint8_t *p, size_t len, size_t *out_len)
{
	uint8_t *f = malloc(len + IDN_ENV_LEN);
	assert_non_null(f);
	idn_env_t e = {0};
	e.major = 2;
	e.minor = 10;
	e.request_id = (uint32_t)h_rand(&rng);
	e.msg_len = (uint32_t)len;
	idn_env_encode(f, &e);
	memcpy(f + IDN_ENV_LEN, p, len);
	*out_len = len + IDN_ENV_LEN;
	return f;
}

/* Files of a directory, sorted, as full paths (NULL-terminated). */
static char **list_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return NULL;
	char **out = calloc((size_t)n + 1, sizeof(char *));
	assert_non_null(out);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			size_t l = strlen(dir) + strlen(ents[i]->d_name) + 2;
			out[k] = malloc(l);
			assert_non_null(out[k]);
			snprintf(out[k], l, "%s/%s", dir, ents[i]->d_name);
			k++;
		}
		free(ents[i]);
	}
	free(ents);
	return out;
}

static void free_list(char **l)
{
	for (int i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

/* A frame around a body: resolution of ident bytes, or a create of one
 * value. */
static size_t wrap_ident(uint8_t *out, size_t cap, const uint8_t *id,
			 size_t len)
{
	h_req_t q = h_req(IDN_OC_RESOLUTION, (uint32_t)h_rand(&rng));
	return h_resolve_frame(out, cap, &q, id, len, NULL, 0, NULL, 0);
}

static size_t wrap_value(uint8_t *out, size_t cap, uint32_t op, int k,
			 const uint8_t *val, size_t len)
{
	uint8_t *body = malloc(len + 128);
	assert_non_null(body);
	char id[64];
	snprintf(id, sizeof(id), SCRATCH "/fz-%d", k);
	idn_wr_t w;
	idn_wr_init(&w, body, len + 128);
	idn_wr_str(&w, idn_bytes_str(id));
	idn_wr_u32(&w, 1);
	idn_wr_raw(&w, val, len);
	h_req_t q = h_req(op, (uint32_t)k);
	size_t n = h_frame(out, cap, &q, body, w.len);
	free(body);
	return n;
}

/* Replies to wrapped corpus entries: whatever the code, a well-formed
 * reply to the same request. */
static void expect_some_reply(int where, const uint8_t *f, size_t len)
{
	h_reply_t r;
	h_reply_init(&r);
	idn_env_t env;
	idn_env_decode(f, IDN_ENV_LEN, &env);
	if (where == T_UDP) {
		h_udp_call(node, f, len, &r);
	} else {
		int fd = where == T_TCP ? h_tcp_open(node)
					: h_unix_open(node->ctl);
		h_stream_call(fd, f, len, &r);
		close(fd);
	}
	assert_int_equal(r.env.request_id, env.request_id);
	assert_true(r.msg.hdr.rc != 0);
	h_reply_free(&r);
}

/* Every file of every tests/fuzz/corpus/<target>/, raw to all three
 * transports; messages also behind an envelope, identifiers inside a
 * resolution, values inside create / add / modify requests. */
static void replay_fuzz_corpus(void **state)
{
	(void)state;
	uint8_t *f = malloc(IDN_ENV_LEN + IDN_MSG_MAX + 4096);
	assert_non_null(f);
	int files = 0;
	char **dirs = list_dir(h_src("tests/fuzz/corpus"));
	assert_non_null(dirs);
	for (int d = 0; dirs[d]; d++) {
		const char *target = strrchr(dirs[d], '/') + 1;
		bool is_msg = !strcmp(target, "fuzz_msg");
		bool is_ident = !strcmp(target, "fuzz_ident");
		bool is_value = !strcmp(target, "fuzz_value");
		char **paths = list_dir(dirs[d]);
		for (int i = 0; paths && paths[i]; i++) {
			size_t len;
			uint8_t *p = h_read_file(paths[i], &len);
			if (p == NULL)
				continue; /* a subdirectory */
			files++;
			send_all(T_ALL, p, len);
			if (is_msg && len <= IDN_MSG_MAX) {
				size_t fl;
				uint8_t *e = enveloped(p, len, &fl);
				send_all(T_ALL, e, fl);
				free(e);
			}
			if (is_ident && len <= 4000) {
				size_t fl = wrap_ident(f, 8192, p, len);
				expect_some_reply(fl <= 512 ? T_UDP : T_TCP, f,
						  fl);
				expect_some_reply(T_CTL, f, fl);
			}
			if (is_value && len <= IDN_MSG_MAX - 1024) {
				static const uint32_t ops[] = {
					IDN_OC_CREATE, IDN_OC_ADD_VALUE,
					IDN_OC_MODIFY_VALUE};
				for (int k = 0; k < 3; k++) {
					size_t fl = wrap_value(
						f, IDN_ENV_LEN + IDN_MSG_MAX,
						ops[k], i, p, len);
					expect_some_reply(T_CTL, f, fl);
				}
			}
			free(p);
		}
		free_list(paths);
	}
	free_list(dirs);
	free(f);
	if (files < 20)
		fail_msg("only %d corpus files found under tests/fuzz/corpus",
			 files);
	check_intact("the fuzz corpora");
}

static void replay_vectors(void **state)
{
	(void)state;
	char **paths = list_dir(h_src("tests/vectors"));
	assert_non_null(paths);
	int n = 0;
	for (int i = 0; paths[i]; i++) {
		size_t pl = strlen(paths[i]);
		if (pl < 4 || strcmp(paths[i] + pl - 4, ".hex") != 0)
			continue;
		size_t len;
		uint8_t *p = h_read_hex(paths[i], &len);
		assert_non_null(p);
		send_all(T_ALL, p, len);
		/* and every one of them cut short by one byte */
		if (len > 0)
			send_all(T_ALL, p, len - 1);
		free(p);
		n++;
	}
	free_list(paths);
	assert_true(n >= 40);
	check_intact("the wire vectors");
}

/* Every prefix of the base frames. */
static void truncations(void **state)
{
	(void)state;
	for (int b = 0; b < nbases; b++) {
		size_t step = bases[b].len > 200 ? 7 : 1;
		for (size_t len = 0; len < bases[b].len; len++) {
			if (bases[b].where & T_UDP)
				udp(bases[b].p, len);
			if (len % step == 0 ||
			    len < IDN_ENV_LEN + IDN_HDR_LEN + 8)
				send_all(bases[b].where & (T_TCP | T_CTL),
					 bases[b].p, len);
		}
	}
	check_intact("truncated requests");
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)h_rand(&rng);
}

/* Random bytes, plain or behind a valid envelope and header. */
static size_t random_input(uint8_t *p, size_t maxlen, int where)
{
	size_t len = (size_t)(h_rand(&rng) % (maxlen + 1));
	fill_random(p, len);
	int kind = (int)(h_rand(&rng) % 3);
	if (kind > 0 && len >= IDN_ENV_LEN + IDN_HDR_LEN + 4) {
		static const uint32_t ops[] = {1,   1,	 1,   2,   100,
					       101, 102, 103, 104, 105,
					       300, 301, 302, 400, 200};
		h_req_t q =
			h_req(ops[h_rand(&rng) % 15], (uint32_t)h_rand(&rng));
		if (!(where & T_CTL) && q.op >= 100)
			q.op = 1;
		if (q.op == 301)
			q.op = 302; /* never unhome at random */
		q.flags = kind == 2 ? (uint32_t)h_rand(&rng) & 0xff800000u : 0;
		size_t blen = len - IDN_ENV_LEN - IDN_HDR_LEN - 4;
		uint8_t *body = malloc(blen + 1);
		assert_non_null(body);
		memcpy(body, p + IDN_ENV_LEN + IDN_HDR_LEN, blen);
		len = h_frame(p, maxlen + 64, &q, body, blen);
		free(body);
	}
	return len;
}

static void random_garbage(void **state)
{
	(void)state;
	uint8_t *p = malloc(70000);
	assert_non_null(p);
	for (int i = 0; i < 400; i++)
		udp(p, random_input(p, 600, T_UDP));
	for (int i = 0; i < 60; i++)
		stream(T_TCP, p,
		       random_input(p, i % 10 == 0 ? 60000 : 3000, T_TCP));
	for (int i = 0; i < 60; i++)
		stream(T_CTL, p,
		       random_input(p, i % 10 == 0 ? 60000 : 3000, T_CTL));
	free(p);
	check_intact("random garbage");
}

/* Valid requests with a few random bytes changed, cut or extended. */
static void mutations(void **state)
{
	(void)state;
	uint8_t *p = malloc(16384);
	assert_non_null(p);
	for (int i = 0; i < 1500; i++) {
		const base_t *b = &bases[h_rand(&rng) % (uint64_t)nbases];
		size_t len = b->len;
		memcpy(p, b->p, len);
		int flips = 1 + (int)(h_rand(&rng) % 4);
		for (int k = 0; k < flips; k++) {
			size_t at = (size_t)(h_rand(&rng) % len);
			switch (h_rand(&rng) % 4) {
			case 0: /* a random byte */
				p[at] = (uint8_t)h_rand(&rng);
				break;
			case 1: /* a length-like value */
				p[at] = (uint8_t[]){0, 0xff, 0x7f, 0x80,
						    1}[h_rand(&rng) % 5];
				break;
			case 2: /* cut */
				len = at + 1;
				break;
			default: /* extend with random bytes */
				if (len < 8192) {
					size_t add =
						(size_t)(h_rand(&rng) % 64);
					fill_random(p + len, add);
					len += add;
				}
			}
		}
		int where = b->where;
		/* the network gets everything; the control socket only what
		 * started as a resolution or an admin request on SCRATCH */
		if (where & T_UDP)
			udp(p, len);
		if (i % 4 == 0 && (where & T_TCP))
			stream(T_TCP, p, len);
		if (i % 4 == 2 && (where & T_CTL))
			stream(T_CTL, p, len);
	}
	free(p);
	check_intact("mutated requests");
}

/* Length fields that claim more than there is, or more than allowed. */
static void oversized_lengths(void **state)
{
	(void)state;
	uint8_t f[1024];
	size_t len = h_resolve_simple(f, sizeof(f), 1, snap_ids[0]);
	static const uint32_t lens[] = {262145,	    262144,  0x7fffffff,
					0xffffffff, 1000000, 0};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		idn_put_u32(f + 16, lens[i]);
		send_all(T_ALL, f, len);
		send_all(T_ALL, f, IDN_ENV_LEN);
	}
	/* a version the node does not speak with a length over the limit,
	 * followed by more bytes than any message may have: refused without
	 * reading them into a message buffer */
	uint8_t *big = malloc(300000);
	assert_non_null(big);
	memset(big, 0x41, 300000);
	static const uint8_t vers[][2] = {{3, 0}, {2, 0}, {2, 12}, {1, 1}};
	for (size_t v = 0; v < sizeof(vers) / 2; v++)
		for (size_t i = 0; i < 3; i++) {
			idn_env_t e = {0};
			e.major = vers[v][0];
			e.minor = vers[v][1];
			e.msg_len = (uint32_t[]){0xffffffffu, IDN_MSG_MAX + 1,
						 280000}[i];
			idn_env_encode(big, &e);
			send_all(T_ALL, big, 300000);
		}
	free(big);
	/* header body length and credential length out of range */
	len = h_resolve_simple(f, sizeof(f), 2, snap_ids[0]);
	uint8_t g[1024];
	memcpy(g, f, len);
	idn_put_u32(g + IDN_ENV_LEN + 20, 0xffffffff);
	send_all(T_ALL, g, len);
	memcpy(g, f, len);
	idn_put_u32(g + len - 4, 0xfffffff0);
	send_all(T_ALL, g, len);
	/* body length fields: every u32 of a create body set to huge values */
	size_t cl =
		body_frame(f, sizeof(f), IDN_OC_CREATE, 0, fill_values, NULL);
	for (size_t at = IDN_ENV_LEN + IDN_HDR_LEN; at + 4 <= cl - 4; at += 4) {
		static const uint32_t huge[] = {0xffffffff, 0x80000000, 262144};
		for (int h = 0; h < 3; h++) {
			memcpy(g, f, cl);
			idn_put_u32(g + at, huge[h]);
			udp(g, cl);
			stream(T_CTL, g, cl);
		}
	}
	/* a 256 KiB message (the limit) on TCP and on the control socket,
	 * whose identifier length runs past its end: answered with 4 */
	uint8_t *m = malloc(IDN_ENV_LEN + IDN_MSG_MAX);
	assert_non_null(m);
	size_t blen = IDN_MSG_MAX - IDN_HDR_LEN - 4;
	uint8_t *body = malloc(blen);
	assert_non_null(body);
	memset(body, 'x', blen);
	idn_put_u32(body, 0xfffffff0);
	for (int t = 0; t < 2; t++) {
		h_req_t q = h_req(IDN_OC_RESOLUTION, 31);
		size_t ml =
			h_frame(m, IDN_ENV_LEN + IDN_MSG_MAX, &q, body, blen);
		assert_int_equal(ml, IDN_ENV_LEN + IDN_MSG_MAX);
		int fd = t == 0 ? h_tcp_open(node) : h_unix_open(node->ctl);
		h_reply_t r;
		h_reply_init(&r);
		h_stream_call(fd, m, ml, &r);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_PROTOCOL_ERROR);
		assert_int_equal(r.env.request_id, 31);
		/* one byte more than the limit: the connection is dropped
		 * without an answer */
		idn_put_u32(m + 16, IDN_MSG_MAX + 1);
		h_write_all(fd, m, IDN_ENV_LEN + 64);
		shutdown(fd, SHUT_WR);
		int k = h_read_frame(fd, &r, H_IO_TIMEOUT_MS);
		if (k != 0)
			fail_msg("msg_len %u on %s: got %s, want the "
				 "connection closed",
				 IDN_MSG_MAX + 1, t ? "control" : "tcp",
				 k > 0 ? "a reply" : "a timeout");
		close(fd);
		h_reply_free(&r);
	}
	free(body);
	free(m);
	check_intact("oversized length fields");
}

/* Frames too short to hold a header, between good ones on one stream: the
 * stream stays in step. */
static void short_frames_keep_framing(void **state)
{
	(void)state;
	uint8_t buf[2048];
	for (int t = 0; t < 2; t++) {
		size_t off =
			h_resolve_simple(buf, sizeof(buf), 41, snap_ids[0]);
		idn_env_t e = {2, 10, 0, 0, 0, 42, 0, 0};
		for (uint32_t ml = 0; ml < IDN_HDR_LEN + 4; ml += 9) {
			e.msg_len = ml;
			idn_env_encode(buf + off, &e);
			memset(buf + off + IDN_ENV_LEN, 0, ml);
			off += IDN_ENV_LEN + ml;
		}
		off += h_resolve_simple(buf + off, sizeof(buf) - off, 43,
					snap_ids[1]);
		int fd = t == 0 ? h_tcp_open(node) : h_unix_open(node->ctl);
		assert_int_equal(h_write_all(fd, buf, off), 0);
		h_reply_t r;
		h_reply_init(&r);
		uint32_t seen[8];
		int n = 0;
		shutdown(fd, SHUT_WR);
		while (n < 8 && h_read_frame(fd, &r, H_IO_TIMEOUT_MS) == 1)
			seen[n++] = r.env.request_id;
		/* 41 and 43 answered in order; the short ones (42) at most with
		 * a protocol error */
		int i41 = -1, i43 = -1;
		for (int i = 0; i < n; i++) {
			if (seen[i] == 41)
				i41 = i;
			else if (seen[i] == 43)
				i43 = i;
			else
				assert_int_equal(seen[i], 42);
		}
		if (i41 < 0 || i43 < i41)
			fail_msg("%s: replies to 41 and 43 missing or out of "
				 "order "
				 "(%d, %d of %d)",
				 t ? "control" : "tcp", i41, i43, n);
		h_reply_free(&r);
		close(fd);
	}
	check_intact("short frames");
}

static void zero_length_and_empty(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++) {
		udp("", 0);
		udp("\x02", 1);
		stream(T_TCP, "", 0);
		stream(T_CTL, "", 0);
		stream(T_TCP, "\x02\x0a", 2);
		stream(T_CTL, "\x02\x0a", 2);
	}
	/* connections opened and closed without a word, all at once */
	int fds[40];
	for (int i = 0; i < 40; i++)
		fds[i] = i % 2 ? h_tcp_open(node) : h_unix_open(node->ctl);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	check_intact("zero-length input");
}

static size_t flood_request(uint8_t *f, size_t cap, int i)
{
	return h_resolve_simple(f, cap, 20000 + (uint32_t)i, snap_ids[i % 3]);
}

/* Many datagrams at once, valid and not, interleaved: every valid one is
 * answered. A datagram the kernel dropped under load (UDP may), or that
 * the rate limiter answered with a slip (rc 3), is sent again, as a client
 * would. */
static void udp_flood_mixed(void **state)
{
	(void)state;
	int fd = h_udp_open(node);
	uint8_t f[600];
	bool seen[200] = {false};
	int want = 0, got = 0, resent = 0;
	for (int i = 0; i < 200; i++) {
		size_t len;
		if (i % 2 == 0) {
			len = flood_request(f, sizeof(f), i);
			want++;
		} else {
			len = random_input(f, 500, T_UDP);
		}
		h_udp_send_raw(fd, f, len);
	}
	h_reply_t r;
	h_reply_init(&r);
	int quiet = 0; /* timeouts so far */
	while (got < want) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 2000) != 1) {
			if (++quiet > 5)
				fail_msg("%d of %d valid datagrams answered",
					 got, want);
			for (int i = 0; i < 200; i += 2)
				if (!seen[i]) {
					size_t len =
						flood_request(f, sizeof(f), i);
					h_udp_send_raw(fd, f, len);
					resent++;
				}
			continue;
		}
		ssize_t k = recv(fd, r.buf, 600, 0);
		if (k < 0)
			continue;
		r.len = (size_t)k;
		if (h_reply_decode(&r) != 0)
			continue;
		uint32_t id = r.env.request_id;
		if (id >= 20000 && id < 20200 && id % 2 == 0) {
			/* the rate limiter's slip (rc 3): ask again later */
			if (r.msg.hdr.rc == IDN_RC_TOO_BUSY)
				continue;
			assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
			if (!seen[id - 20000])
				got++;
			seen[id - 20000] = true;
		}
	}
	if (resent)
		print_message("udp flood: %d requests sent again\n", resent);
	h_reply_free(&r);
	close(fd);
	check_intact("a mixed UDP flood");
}

static void shutdown_clean(void **state)
{
	(void)state;
	if (udp_fd >= 0)
		close(udp_fd);
	udp_fd = -1;
	node_stop(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replay_fuzz_corpus),
		cmocka_unit_test(replay_vectors),
		cmocka_unit_test(truncations),
		cmocka_unit_test(random_garbage),
		cmocka_unit_test(mutations),
		cmocka_unit_test(oversized_lengths),
		cmocka_unit_test(short_frames_keep_framing),
		cmocka_unit_test(zero_length_and_empty),
		cmocka_unit_test(udp_flood_mixed),
		cmocka_unit_test(shutdown_clean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
