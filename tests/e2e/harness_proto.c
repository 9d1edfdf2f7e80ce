/* The end-to-end harness's raw protocol helpers (harness.h, "raw
 * protocol"): Handle requests built with the library's codec, UDP, TCP and
 * control-socket exchanges, and reply decoding. */
#include "harness.h"
#include "harness_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/pem.h>

#include "auth.h"
#include "error.h"
#include "hex.h"
#include "wire.h"

/* ---- raw protocol ---- */

h_req_t h_req(uint32_t op, uint32_t request_id)
{
	h_req_t q;
	memset(&q, 0, sizeof(q));
	q.major = IDN_PROTO_MAJOR;
	q.minor = IDN_PROTO_MINOR;
	q.request_id = request_id;
	q.op = op;
	q.serial = 0xffff;
	q.expiry = h_now() + 12 * 3600;
	return q;
}

size_t h_frame(uint8_t *out, size_t cap, const h_req_t *q, const void *body,
	       size_t blen)
{
	idn_env_t env = {0};
	idn_hdr_t hdr = {0};
	env.major = q->major;
	env.minor = q->minor;
	env.flags = q->env_flags;
	env.session_id = q->session_id;
	env.request_id = q->request_id;
	hdr.op = q->op;
	hdr.flags = q->flags;
	hdr.serial = q->serial;
	hdr.rcount = q->rcount;
	hdr.expiry = q->expiry;
	idn_wr_t w;
	idn_wr_init(&w, out, cap);
	idn_msg_mark_t m = idn_msg_start(&w, &env, &hdr);
	idn_wr_raw(&w, body, blen);
	idn_msg_finish(&w, m, NULL);
	if (w.err)
		fail_msg("request frame does not fit in %zu bytes", cap);
	return w.len;
}

size_t h_resolve_frame(uint8_t *out, size_t cap, const h_req_t *q,
		       const void *id, size_t idlen, const uint32_t *idx,
		       uint32_t nidx, const char *const *types, uint32_t ntypes)
{
	idn_bytes_t tb[64];
	assert_true(ntypes <= 64);
	for (uint32_t i = 0; i < ntypes; i++)
		tb[i] = idn_bytes_str(types[i]);
	idn_resolve_req_t rq = {idn_bytes(id, idlen), nidx, (uint32_t *)idx,
				ntypes, tb};
	size_t bcap = idlen + 64 + (size_t)nidx * 4;
	for (uint32_t i = 0; i < ntypes; i++)
		bcap += 4 + tb[i].len;
	uint8_t *body = malloc(bcap);
	assert_non_null(body);
	idn_wr_t w;
	idn_wr_init(&w, body, bcap);
	idn_resolve_req_encode(&w, &rq);
	assert_int_equal(w.err, 0);
	size_t n = h_frame(out, cap, q, body, w.len);
	free(body);
	return n;
}

size_t h_resolve_simple(uint8_t *out, size_t cap, uint32_t request_id,
			const char *id)
{
	h_req_t q = h_req(IDN_OC_RESOLUTION, request_id);
	return h_resolve_frame(out, cap, &q, id, strlen(id), NULL, 0, NULL, 0);
}

size_t h_create_url_frame(uint8_t *out, size_t cap, uint32_t request_id,
			  const char *id, const char *url)
{
	uint8_t body[1024];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_value_t v = {1,
			 0,
			 0,
			 86400,
			 IDN_PERM_DEFAULT,
			 idn_bytes_str("URL"),
			 idn_bytes_str(url),
			 0,
			 NULL};
	idn_values_body_t b = {idn_bytes_str(id), 1, &v};
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	h_req_t q = h_req(IDN_OC_CREATE, request_id);
	return h_frame(out, cap, &q, body, w.len);
}

size_t h_answer_frame(uint8_t *out, size_t cap, uint32_t request_id,
		      uint32_t session, const char *type, const char *admin,
		      uint32_t index, idn_bytes_t sig)
{
	uint8_t body[2048];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_challenge_answer_t ans = {idn_bytes_str(type), idn_bytes_str(admin),
				      index, sig};
	idn_challenge_answer_encode(&w, &ans);
	assert_int_equal(w.err, 0);
	h_req_t q = h_req(IDN_OC_CHALLENGE_ANSWER, request_id);
	q.session_id = session;
	return h_frame(out, cap, &q, body, w.len);
}

uint32_t h_udp_admin(const node_t *n, const uint8_t *frame, size_t len,
		     uint32_t reqid, const char *admin, uint32_t index,
		     const char *key)
{
	int fd = h_udp_open(n);
	h_reply_t r;
	h_reply_init(&r);
	h_udp_send_frame(fd, frame, len);
	assert_int_equal(h_udp_recv(fd, reqid, &r, H_IO_TIMEOUT_MS), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(r.msg.rest, &nonce), 0);
	FILE *f = fopen(key, "r");
	assert_non_null(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	uint8_t sig[1024], enc[1100], ans[2048];
	size_t sl;
	idn_bytes_t parts[2] = {nonce, r.msg.digest};
	assert_int_equal(
		idn_sig_sign(k, "SHA256", parts, 2, sig, sizeof(sig), &sl), 0);
	EVP_PKEY_free(k);
	idn_wr_t w;
	idn_wr_init(&w, enc, sizeof(enc));
	idn_sig_encode(&w, idn_bytes_str("SHA256"), idn_bytes(sig, sl));
	assert_int_equal(w.err, 0);
	size_t alen = h_answer_frame(ans, sizeof(ans), reqid + 1,
				     r.env.session_id, "HS_PUBKEY", admin,
				     index, idn_bytes(enc, w.len));
	h_reply_free(&r);
	h_reply_init(&r);
	h_udp_send_frame(fd, ans, alen);
	assert_int_equal(h_udp_recv(fd, reqid + 1, &r, H_IO_TIMEOUT_MS), 0);
	uint32_t rc = r.msg.hdr.rc;
	h_reply_free(&r);
	close(fd);
	return rc;
}

void h_reply_init(h_reply_t *r)
{
	memset(r, 0, sizeof(*r));
	r->buf = malloc(IDN_ENV_LEN + IDN_MSG_MAX);
	assert_non_null(r->buf);
}

void h_reply_free(h_reply_t *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int h_reply_decode(h_reply_t *r)
{
	if (r->len < IDN_ENV_LEN)
		return IDN_EMALFORMED;
	idn_env_t env;
	int err = idn_env_decode(r->buf, IDN_ENV_LEN, &env);
	if (err)
		return err;
	if (r->len != IDN_ENV_LEN + (size_t)env.msg_len)
		return IDN_EMALFORMED;
	r->env = env;
	return idn_msg_decode(r->buf + IDN_ENV_LEN, env.msg_len, &r->msg);
}

static int inet_socket(const node_t *n, int type)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(n->port);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		h__report_dead_nodes();
		fail_msg("connect to %s (%s): %s", n->addr,
			 type == SOCK_DGRAM ? "udp" : "tcp", strerror(errno));
	}
	return fd;
}

int h_udp_open(const node_t *n)
{
	int fd = inet_socket(n, SOCK_DGRAM);
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

int h_tcp_open(const node_t *n)
{
	int fd = inet_socket(n, SOCK_STREAM);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int h_unix_open(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(un.sun_path));
	strcpy(un.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0) {
		h__report_dead_nodes();
		fail_msg("connect to %s: %s", path, strerror(errno));
	}
	return fd;
}

void h_udp_send_raw(int fd, const void *p, size_t len)
{
	/* ECONNREFUSED from an earlier ICMP error is not ours to care about */
	for (int i = 0; i < 3; i++) {
		if (send(fd, p, len, MSG_NOSIGNAL) >= 0)
			return;
		if (errno != ECONNREFUSED && errno != EINTR)
			fail_msg("udp send: %s", strerror(errno));
	}
}

void h_udp_send_frame(int fd, const uint8_t *frame, size_t len)
{
	idn_env_t env;
	assert_true(len >= IDN_ENV_LEN);
	idn_env_decode(frame, IDN_ENV_LEN, &env);
	size_t mlen = len - IDN_ENV_LEN;
	if (mlen <= IDN_UDP_PAYLOAD) {
		h_udp_send_raw(fd, frame, len);
		return;
	}
	uint8_t dg[IDN_UDP_DGRAM_MAX];
	size_t nf = idn_udp_frag_count(mlen);
	for (size_t i = 0; i < nf; i++) {
		size_t dl =
			idn_udp_frag(&env, frame + IDN_ENV_LEN, mlen, i, dg);
		h_udp_send_raw(fd, dg, dl);
	}
}

/* Waits until fd is readable; false on timeout. */
static bool wait_in(int fd, long long end)
{
	for (;;) {
		long long left = end - h__now_ms();
		if (left < 0)
			left = 0;
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

int h_udp_recv(int fd, uint32_t request_id, h_reply_t *r, int timeout_ms)
{
	long long end = h__now_ms() + timeout_ms;
	idn_reasm_t *ra = malloc(sizeof(*ra));
	assert_non_null(ra);
	idn_reasm_init(ra, r->buf + IDN_ENV_LEN);
	r->ndgrams = 0;
	r->maxdgram = 0;
	r->frags_ok = true;
	idn_env_t first = {0};
	int rc = -1;
	while (wait_in(fd, end)) {
		uint8_t dg[65536];
		ssize_t k = recv(fd, dg, sizeof(dg), 0);
		if (k < 0)
			continue; /* ECONNREFUSED from an ICMP error and such */
		idn_env_t e;
		if (idn_env_decode(dg, (size_t)k, &e) != 0 ||
		    e.request_id != request_id)
			continue;
		if (r->ndgrams == 0)
			first = e;
		else if (e.msg_len != first.msg_len ||
			 e.session_id != first.session_id)
			r->frags_ok = false;
		r->ndgrams++;
		if ((size_t)k > r->maxdgram)
			r->maxdgram = (size_t)k;
		int a = idn_reasm_add(ra, dg, (size_t)k);
		if (a < 0)
			r->frags_ok = false;
		if (a == 1) {
			idn_env_t env = ra->env;
			env.seq = 0;
			idn_env_encode(r->buf, &env);
			r->len = IDN_ENV_LEN + (size_t)env.msg_len;
			int err = h_reply_decode(r);
			/* keep the flags etc. of datagram 0 */
			r->env = env;
			if (err)
				fail_msg("reply does not decode: %s",
					 idn_strerror(err));
			rc = 0;
			break;
		}
	}
	free(ra);
	return rc;
}

void h_udp_call(const node_t *n, const uint8_t *frame, size_t len, h_reply_t *r)
{
	idn_env_t env;
	idn_env_decode(frame, IDN_ENV_LEN, &env);
	int fd = h_udp_open(n);
	for (int attempt = 0; attempt < 2; attempt++) {
		h_udp_send_frame(fd, frame, len);
		if (h_udp_recv(fd, env.request_id, r, H_IO_TIMEOUT_MS / 2) ==
		    0) {
			close(fd);
			return;
		}
	}
	close(fd);
	h__report_dead_nodes();
	fail_msg("no UDP reply from %s to request %u", n->addr, env.request_id);
}

int h_write_all(int fd, const void *vp, size_t len)
{
	const uint8_t *p = vp;
	while (len > 0) {
		ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Reads exactly n bytes before end. 1 done, 0 EOF before the first byte,
 * -1 timeout, error or EOF in the middle. */
static int read_exact(int fd, uint8_t *p, size_t n, long long end)
{
	size_t got = 0;
	while (got < n) {
		if (!wait_in(fd, end))
			return -1;
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		/* a peer that closes with our bytes unread resets */
		if ((k == 0 || (k < 0 && errno == ECONNRESET)) && got == 0)
			return 0;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 1;
}

int h_read_frame(int fd, h_reply_t *r, int timeout_ms)
{
	long long end = h__now_ms() + timeout_ms;
	r->ndgrams = 0;
	int k = read_exact(fd, r->buf, IDN_ENV_LEN, end);
	if (k <= 0)
		return k;
	idn_env_t env;
	if (idn_env_decode(r->buf, IDN_ENV_LEN, &env) != 0)
		return -1;
	if (read_exact(fd, r->buf + IDN_ENV_LEN, env.msg_len, end) != 1)
		return -1;
	r->len = IDN_ENV_LEN + (size_t)env.msg_len;
	int err = h_reply_decode(r);
	if (err) {
		print_error("reply frame does not decode: %s\n",
			    idn_strerror(err));
		return -1;
	}
	return 1;
}

void h_stream_call(int fd, const uint8_t *frame, size_t len, h_reply_t *r)
{
	if (h_write_all(fd, frame, len) != 0)
		fail_msg("stream write: %s", strerror(errno));
	int k = h_read_frame(fd, r, H_IO_TIMEOUT_MS);
	if (k != 1) {
		h__report_dead_nodes();
		fail_msg("no reply frame on the stream (%s)",
			 k == 0 ? "closed" : "timeout or broken frame");
	}
}

void h_tcp_call(const node_t *n, const uint8_t *frame, size_t len, h_reply_t *r)
{
	int fd = h_tcp_open(n);
	h_stream_call(fd, frame, len, r);
	close(fd);
}

int h_drain(int fd, int timeout_ms)
{
	long long end = h__now_ms() + timeout_ms;
	for (;;) {
		if (!wait_in(fd, end))
			return -1;
		char buf[65536];
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 0;
	}
}

const char *h_error_text(const h_reply_t *r)
{
	static char text[1024];
	idn_bytes_t t = {NULL, 0};
	text[0] = 0;
	if (idn_error_body_decode(r->msg.rest, &t) == 0) {
		size_t n = t.len < sizeof(text) - 1 ? t.len : sizeof(text) - 1;
		if (n)
			memcpy(text, t.p, n);
		text[n] = 0;
	}
	return text;
}
