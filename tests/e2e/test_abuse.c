/* Abuse limits under attack (docs/architecture.md, "Abuse limits"): a
 * challenge flood from one address, costly PBKDF2 challenge answers, idle
 * TCP connections from 40 addresses, a one-source UDP flood for a 4 KB
 * record and 4 200 challenged 256 KiB requests; each time a real client on
 * another address must still be served, or the node's memory and
 * amplification stay bounded. The nodes run with the defaults, so the same
 * attacks measure any build: with IDN_ABUSE_MEASURE set the tests print
 * their figures without asserting (bench/attack/run.sh). Loopback only:
 * 127.0.0.0/8 is all local, so attackers bind other 127.x addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"
#include "seckey.h"

#define SECRET "abuse-secret-4f1e"
#define SEC_ADMIN H_HOME "/sec"

static bool measuring(void)
{
	return getenv("IDN_ABUSE_MEASURE") != NULL;
}

/* Asserts cond unless measuring; prints the figure either way. */
#define FIGURE(cond, ...)                                                      \
	do {                                                                   \
		print_message("[ FIGURE   ] " __VA_ARGS__);                    \
		if (!measuring() && !(cond))                                   \
			fail_msg("limit not met: %s", #cond);                  \
	} while (0)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A socket of type bound to source address src (NULL: any). */
static int sock_from(int type, const char *src)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (src != NULL) {
		struct sockaddr_in a = {0};
		a.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			fail_msg("bind %s: %s", src, strerror(errno));
	}
	return fd;
}

static struct sockaddr_in node_sa(const node_t *n)
{
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons(n->port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	return a;
}

/* A TCP connection to n from src; -1 when refused. */
static int tcp_from(const node_t *n, const char *src)
{
	int fd = sock_from(SOCK_STREAM, src);
	struct sockaddr_in a = node_sa(n);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_from(const node_t *n, const char *src)
{
	int fd = sock_from(SOCK_DGRAM, src);
	struct sockaddr_in a = node_sa(n);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* A node homing H_HOME whose prefix admin is the secret key SEC_ADMIN:300
 * (HS_SECKEY); extra arguments after the defaults. */
static node_t *admin_node(const char *arg, ...)
{
	node_t *n = node_new("--home", H_HOME, NULL);
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a != NULL; a = va_arg(ap, const char *))
		node_add_args(n, a, NULL);
	va_end(ap);
	node_start(n);
	h_ctl_ok(n, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=" SEC_ADMIN "@300#873", NULL);
	h_ctl_ok(n, "create", SEC_ADMIN, "300,perms=c:HS_SECKEY=" SECRET, NULL);
	return n;
}

/* A real admin creates id over TCP from src (NULL: 127.0.0.1), answering
 * the challenge with HMAC-SHA256. Returns the final response code (0 on
 * no reply within timeout_ms) and the time it took in *ms. */
static uint32_t admin_create(const node_t *n, const char *src, const char *id,
			     int timeout_ms, double *ms)
{
	static uint32_t rid = 50000;
	uint8_t req[2048], sb[256];
	double t0 = now_ms();
	uint32_t rc = 0;
	int fd = tcp_from(n, src);
	h_reply_t ch, done;
	h_reply_init(&ch);
	h_reply_init(&done);
	if (fd < 0)
		goto out;
	size_t len = h_create_url_frame(req, sizeof(req), ++rid, id,
					"https://real.example");
	if (h_write_all(fd, req, len) != 0 ||
	    h_read_frame(fd, &ch, timeout_ms) != 1)
		goto out;
	if (ch.msg.hdr.rc != IDN_RC_AUTH_NEEDED) {
		rc = ch.msg.hdr.rc;
		print_message("challenge refused: rc %u %s\n", rc,
			      h_error_text(&ch));
		goto out;
	}
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(ch.msg.rest, &nonce), 0);
	idn_wr_t w;
	idn_wr_init(&w, sb, sizeof(sb));
	assert_int_equal(idn_seckey_answer(IDN_MAC_HMAC_SHA256,
					   idn_bytes_str(SECRET), nonce,
					   ch.msg.digest, &w),
			 0);
	len = h_answer_frame(req, sizeof(req), ++rid, ch.env.session_id,
			     "HS_SECKEY", SEC_ADMIN, 300, idn_bytes(sb, w.len));
	int left = timeout_ms - (int)(now_ms() - t0);
	if (h_write_all(fd, req, len) == 0 &&
	    h_read_frame(fd, &done, left > 0 ? left : 1) == 1)
		rc = done.msg.hdr.rc;
out:
	*ms = now_ms() - t0;
	if (fd >= 0)
		close(fd);
	h_reply_free(&ch);
	h_reply_free(&done);
	return rc;
}

/* ---- a challenge flood from one UDP sender ---- */

typedef struct {
	const node_t *n;
	const char *src;
	atomic_bool stop;
	long sent, challenged, refused;
} flood_t;

static void *challenge_flood(void *arg)
{
	flood_t *f = arg;
	int fd = udp_from(f->n, f->src);
	uint8_t req[512], buf[IDN_UDP_DGRAM_MAX];
	uint32_t rid = 1;
	while (!atomic_load(&f->stop)) {
		for (int i = 0; i < 64; i++) {
			size_t len = h_create_url_frame(req, sizeof(req), rid++,
							H_HOME "/flood",
							"https://x");
			if (send(fd, req, len, MSG_DONTWAIT) > 0)
				f->sent++;
		}
		ssize_t got;
		while ((got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >=
		       IDN_ENV_LEN + IDN_HDR_LEN) {
			uint32_t rc = idn_get_u32(buf + IDN_ENV_LEN + 4);
			if (rc == IDN_RC_AUTH_NEEDED)
				f->challenged++;
			else
				f->refused++;
		}
		usleep(1000);
	}
	close(fd);
	return NULL;
}

static void challenge_flood_leaves_other_admins(void **state)
{
	(void)state;
	/* without the response rate limit, which would otherwise slow the
	 * flood down to 200 challenges a second */
	node_t *n = admin_node("--rrl-rate", "0", NULL);
	flood_t f = {n, "127.0.0.2", false, 0, 0, 0};
	pthread_t th;
	pthread_create(&th, NULL, challenge_flood, &f);
	h_msleep(1500); /* well past the 0.2 s the old table took to fill */
	double ms;
	uint32_t rc = admin_create(n, NULL, H_HOME "/real1", 5000, &ms);
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	print_message("flood: %ld sent, %ld challenged, %ld refused\n", f.sent,
		      f.challenged, f.refused);
	FIGURE(rc == IDN_RC_SUCCESS && ms < 1000,
	       "challenge flood: admin on 127.0.0.1 got rc %u in %.1f ms\n", rc,
	       ms);
	node_free(n);
}

/* ---- costly PBKDF2 answers ---- */

/* Gets a challenge for a create over UDP fd; its session id and nonce. */
static int udp_challenge(int fd, uint32_t rid, uint32_t *session,
			 uint8_t nonce[16])
{
	uint8_t req[512];
	size_t len = h_create_url_frame(req, sizeof(req), rid, H_HOME "/pb",
					"https://x");
	h_udp_send_frame(fd, req, len);
	h_reply_t r;
	h_reply_init(&r);
	int ok = h_udp_recv(fd, rid, &r, 2000) == 0 &&
		 r.msg.hdr.rc == IDN_RC_AUTH_NEEDED;
	idn_bytes_t nb;
	if (ok && idn_challenge_decode(r.msg.rest, &nb) == 0 && nb.len == 16)
		memcpy(nonce, nb.p, 16);
	*session = r.env.session_id;
	h_reply_free(&r);
	return ok ? 0 : -1;
}

static void pbkdf2_answers_do_not_starve_admins(void **state)
{
	(void)state;
	enum { K = 40 };
	node_t *n = admin_node(NULL);
	int fd = udp_from(n, "127.0.5.2");
	uint32_t sess[K];
	uint8_t nonce[16];
	int got = 0;
	for (int i = 0; i < K; i++)
		got += udp_challenge(fd, 900 + (uint32_t)i, &sess[i], nonce) ==
		       0;
	assert_int_equal(got, K);
	/* answers naming the PBKDF2 maximum, 200 000 iterations, and a MAC
	 * that cannot verify: the node pays for the derivation first */
	uint8_t sb[128], req[1024];
	idn_wr_t w;
	idn_wr_init(&w, sb, sizeof(sb));
	idn_wr_u8(&w, IDN_MAC_PBKDF2_HMAC_SHA1);
	idn_wr_str(&w, idn_bytes((const uint8_t *)"saltsaltsaltsalt", 16));
	idn_wr_u32(&w, IDN_PBKDF2_ITER_MAX);
	idn_wr_u32(&w, 160);
	idn_wr_str(&w, idn_bytes((const uint8_t *)"01234567890123456789", 20));
	for (int i = 0; i < K; i++) {
		size_t len = h_answer_frame(
			req, sizeof(req), 1900 + (uint32_t)i, sess[i],
			"HS_SECKEY", SEC_ADMIN, 300, idn_bytes(sb, w.len));
		h_udp_send_frame(fd, req, len);
	}
	h_msleep(20);
	double ms;
	uint32_t rc = admin_create(n, NULL, H_HOME "/real2", 30000, &ms);
	close(fd);
	FIGURE(rc == IDN_RC_SUCCESS && ms < 1000,
	       "PBKDF2 flood (40 x 200000 iterations from 127.0.5.2): admin "
	       "on 127.0.0.1 wrote with rc %u in %.1f ms\n",
	       rc, ms);
	node_free(n);
}

/* ---- idle TCP connections from 40 addresses ---- */

static void tcp_slots_leave_room_for_real_clients(void **state)
{
	(void)state;
	enum { SOURCES = 40, PER = 64 };
	node_t *n = admin_node(NULL);
	h_ctl_ok(n, "create", H_HOME "/tcp", "1:URL=https://tcp", NULL);
	static int fds[SOURCES * PER];
	int held = 0;
	for (int s = 0; s < SOURCES; s++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.0.%d", 2 + s);
		for (int i = 0; i < PER; i++) {
			int fd = tcp_from(n, src);
			if (fd >= 0)
				fds[held++] = fd;
		}
	}
	/* the node closes what it refused: count what it still holds */
	h_msleep(1500);
	int open = 0;
	for (int i = 0; i < held; i++) {
		struct pollfd p = {fds[i], POLLIN, 0};
		char c;
		if (poll(&p, 1, 0) == 0 ||
		    (recv(fds[i], &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN))
			open++;
	}
	/* a real client: resolve over TCP from 127.0.0.1 */
	uint8_t req[512];
	size_t len = h_resolve_simple(req, sizeof(req), 77, H_HOME "/tcp");
	double t0 = now_ms();
	uint32_t rc = 0;
	int fd = tcp_from(n, NULL);
	h_reply_t r;
	h_reply_init(&r);
	if (fd >= 0 && h_write_all(fd, req, len) == 0 &&
	    h_read_frame(fd, &r, 3000) == 1)
		rc = r.msg.hdr.rc == 0 ? 1 : r.msg.hdr.rc;
	double ms = now_ms() - t0;
	if (fd >= 0)
		close(fd);
	h_reply_free(&r);
	for (int i = 0; i < held; i++)
		close(fds[i]);
	FIGURE(rc == 1 && ms < 1000,
	       "TCP slots: attackers hold %d of %d connections; a real "
	       "client resolved: %s (%.1f ms)\n",
	       open, SOURCES * PER, rc == 1 ? "yes" : "no", ms);
	node_free(n);
}

/* A byte now and then no longer keeps a connection: the whole message
 * must come within tcp-message-timeout. */
static void tcp_trickle_is_closed(void **state)
{
	(void)state;
	if (measuring())
		skip();
	node_t *n = node_new("--tcp-message-timeout", "2", "--tcp-idle-timeout",
			     "60", NULL);
	node_start(n);
	uint8_t req[512];
	size_t len = h_resolve_simple(req, sizeof(req), 5, H_HOME "/x");
	int fd = tcp_from(n, NULL);
	assert_true(fd >= 0);
	double t0 = now_ms();
	int sent = 0;
	/* one byte every 500 ms: 6 s for the whole message, unless closed */
	for (size_t i = 0; i + 1 < len && now_ms() - t0 < 6000; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		sent++;
		h_msleep(500);
	}
	assert_int_equal(h_drain(fd, 3000), 0);
	double ms = now_ms() - t0;
	close(fd);
	print_message("trickle: closed after %d bytes, %.0f ms\n", sent, ms);
	if (ms > 5000)
		fail_msg("trickle kept its slot for %.0f ms", ms);
	node_free(n);
}

/* ---- response-rate limiting on by default ---- */

typedef struct {
	int fd;
	atomic_bool stop;
	long long in;
} rx_t;

static void *count_replies(void *arg)
{
	rx_t *x = arg;
	uint8_t buf[IDN_UDP_DGRAM_MAX];
	struct pollfd p = {x->fd, POLLIN, 0};
	while (!atomic_load(&x->stop) || poll(&p, 1, 300) > 0) {
		ssize_t got = recv(x->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got > 0)
			x->in += got;
		else
			poll(&p, 1, 5);
	}
	return NULL;
}

static void rrl_default_amplification(void **state)
{
	(void)state;
	node_t *n = admin_node(NULL);
	/* a 3 900-byte value: a reply of about 4 KB */
	char big[8000] = "4:BIN=hex:";
	size_t at = strlen(big);
	for (int i = 0; i < 3900; i++, at += 2)
		memcpy(big + at, "ab", 2);
	big[at] = 0;
	h_ctl_ok(n, "create", H_HOME "/big", big, NULL);
	int fd = udp_from(n, NULL);
	int sz = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	rx_t x = {fd, false, 0};
	pthread_t th;
	pthread_create(&th, NULL, count_replies, &x);
	uint8_t req[256];
	long long out = 0;
	double t0 = now_ms();
	uint32_t rid = 1;
	/* about 35 000 queries a second: the limit bounds what a flood gets
	 * (a slow sender below the rate gets every answer, as it should) */
	while (now_ms() - t0 < 2000) {
		for (int i = 0; i < 40; i++) {
			size_t len = h_resolve_simple(req, sizeof(req), rid++,
						      H_HOME "/big");
			if (send(fd, req, len, 0) > 0)
				out += (long long)len;
		}
		usleep(1000);
	}
	atomic_store(&x.stop, true);
	pthread_join(th, NULL);
	close(fd);
	double f = out ? (double)x.in / (double)out : 0;
	FIGURE(f < 2.0 && out > 0,
	       "amplification (defaults, one source, 2 s): %lld bytes in, "
	       "%lld bytes out, factor %.2f\n",
	       out, x.in, f);
	node_free(n);
}

/* ---- memory held by challenged requests ---- */

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void challenged_requests_hold_bounded_memory(void **state)
{
	(void)state;
	enum { N = 4200, CONNS = 8 };
	node_t *n = admin_node(NULL);
	long before = rss_kb(n->pid);
	/* a create whose body fills the message: what each pending
	 * challenge used to keep a copy of */
	size_t blen = IDN_MSG_MAX - IDN_HDR_LEN - 64;
	uint8_t *body = calloc(1, blen), *req = malloc(IDN_MSG_MAX + 64);
	assert_non_null(body);
	assert_non_null(req);
	int fds[CONNS];
	for (int c = 0; c < CONNS; c++)
		assert_true((fds[c] = tcp_from(n, NULL)) >= 0);
	long challenged = 0, refused = 0;
	double t0 = now_ms();
	h_reply_t r;
	h_reply_init(&r);
	for (int i = 0; i < N; i++) {
		h_req_t q = h_req(IDN_OC_CREATE, 10 + (uint32_t)i);
		memcpy(body, &i, sizeof(i)); /* a digest of its own */
		size_t len = h_frame(req, IDN_MSG_MAX + 64, &q, body, blen);
		int fd = fds[i % CONNS];
		assert_int_equal(h_write_all(fd, req, len), 0);
		assert_int_equal(h_read_frame(fd, &r, 10000), 1);
		if (r.msg.hdr.rc == IDN_RC_AUTH_NEEDED)
			challenged++;
		else
			refused++;
	}
	long after = rss_kb(n->pid);
	/* the held requests are bounded by 64 MiB in all; the node's own
	 * memory and its connections' buffers come on top (under
	 * AddressSanitizer, also its quarantine of freed memory, 256 MiB) */
	long bound = 128 * 1024;
#if defined(__SANITIZE_ADDRESS__)
	bound += 384 * 1024;
#endif
	h_reply_free(&r);
	for (int c = 0; c < CONNS; c++)
		close(fds[c]);
	free(body);
	free(req);
	FIGURE(after < bound,
	       "4200 challenged 256 KiB requests in %.1f s: %ld challenged, "
	       "%ld refused; RSS %ld -> %ld KiB (bound %ld KiB)\n",
	       (now_ms() - t0) / 1000, challenged, refused, before, after,
	       bound);
	/* the node still challenges another network's admin */
	double ms;
	uint32_t rc = admin_create(n, "127.0.7.1", H_HOME "/real5", 5000, &ms);
	FIGURE(rc == IDN_RC_SUCCESS,
	       "after it, an admin on 127.0.7.1 got rc %u in %.1f ms\n", rc,
	       ms);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(challenge_flood_leaves_other_admins),
		cmocka_unit_test(pbkdf2_answers_do_not_starve_admins),
		cmocka_unit_test(tcp_slots_leave_room_for_real_clients),
		cmocka_unit_test(tcp_trickle_is_closed),
		cmocka_unit_test(rrl_default_amplification),
		cmocka_unit_test(challenged_requests_hold_bounded_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
