/* Every response code a node gives to a resolver, over UDP, TCP and the
 * control socket: 100, 102, 200, 301 (no referral allowed), 4 and 5; responses
 * are never answered; the request digest. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "hex.h"
#include "value.h"

#define EXIST H_HOME "/e2e-exists"

enum { T_UDP, T_TCP, T_CTL };
static const char *const tname[] = {"udp", "tcp", "control"};

static node_t *node;
static h_reply_t rep;
static uint32_t next_id = 1;

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, NULL);
	node_start(node);
	h_ctl_ok(node, "create", EXIST, "1:URL=https://example.com/exists",
		 "2,perms=c:NOTE=private", NULL);
	h_reply_init(&rep);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	h_reply_free(&rep);
	return 0;
}

/* Sends one frame over a transport and returns its reply in rep. */
static h_reply_t *call(int t, const uint8_t *frame, size_t len)
{
	if (t == T_UDP) {
		h_udp_call(node, frame, len, &rep);
	} else {
		int fd = t == T_TCP ? h_tcp_open(node) : h_unix_open(node->ctl);
		h_stream_call(fd, frame, len, &rep);
		close(fd);
	}
	return &rep;
}

/* A request frame with this op and raw body. */
static size_t frame(uint8_t *out, size_t cap, uint32_t op, uint32_t reqid,
		    const void *body, size_t blen)
{
	h_req_t q = h_req(op, reqid);
	return h_frame(out, cap, &q, body, blen);
}

static size_t id_frame(uint8_t *out, size_t cap, uint32_t reqid, const void *id,
		       size_t idlen)
{
	h_req_t q = h_req(IDN_OC_RESOLUTION, reqid);
	return h_resolve_frame(out, cap, &q, id, idlen, NULL, 0, NULL, 0);
}

static void expect_rc(const h_reply_t *r, uint32_t reqid, uint32_t op,
		      uint32_t rc, const char *what, int t)
{
	if (r->msg.hdr.rc != rc || r->env.request_id != reqid ||
	    r->msg.hdr.op != op)
		fail_msg("%s over %s: rc %u op %u request %u (\"%s\"), want rc "
			 "%u "
			 "op %u request %u",
			 what, tname[t], r->msg.hdr.rc, r->msg.hdr.op,
			 r->env.request_id, h_error_text(r), rc, op, reqid);
	assert_int_equal(r->env.major, 2);
	/* error replies carry a message string and nothing else */
	if (rc != IDN_RC_SUCCESS) {
		idn_bytes_t text;
		assert_int_equal(idn_error_body_decode(r->msg.rest, &text), 0);
	}
}

/* Resolves a raw identifier over every transport, expecting rc. */
static void resolve_expect(const void *id, size_t idlen, uint32_t rc,
			   const char *what)
{
	uint8_t *req = malloc(8192);
	assert_non_null(req);
	for (int t = T_UDP; t <= T_CTL; t++) {
		uint32_t reqid = next_id++;
		size_t len = id_frame(req, 8192, reqid, id, idlen);
		if (t == T_UDP && len - IDN_ENV_LEN > IDN_UDP_PAYLOAD)
			continue; /* would take several datagrams */
		expect_rc(call(t, req, len), reqid, IDN_OC_RESOLUTION, rc, what,
			  t);
	}
	free(req);
}

/* idctl fails with one line naming the code. */
static void idctl_expect(const char *id, int rc, const char *name)
{
	h_run_t r;
	h_net(&r, node, "resolve", id, NULL);
	h_assert_status(&r, 1);
	char want[64];
	snprintf(want, sizeof(want), "(rc %d)", rc);
	if (strstr(r.err, want) == NULL || strstr(r.err, name) == NULL ||
	    h_count_lines(r.err) != 1)
		fail_msg("idctl resolve %s: stderr \"%s\", want one line with "
			 "\"%s\" and \"%s\"",
			 id, r.err, name, want);
	assert_string_equal(r.out, "");
	h_run_free(&r);
}

static void rc_100_not_found(void **state)
{
	(void)state;
	const char *ids[] = {H_HOME "/no-such-thing", H_HOME "/E2E-EXISTS2",
			     "0.NA/" H_HOME};
	for (size_t i = 0; i < 3; i++)
		resolve_expect(ids[i], strlen(ids[i]), IDN_RC_NOT_FOUND,
			       ids[i]);
	idctl_expect(H_HOME "/no-such-thing", 100, "not found");
	/* an identifier of exactly the maximum length is valid */
	char *longid = malloc(IDN_IDENT_MAX + 2);
	assert_non_null(longid);
	memset(longid, 'a', IDN_IDENT_MAX + 1);
	memcpy(longid, H_HOME "/", strlen(H_HOME) + 1);
	resolve_expect(longid, IDN_IDENT_MAX, IDN_RC_NOT_FOUND, "2048 bytes");
	free(longid);
}

static void rc_102_invalid_identifier(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		size_t len;
		const char *what;
	} bad[] = {
#define B(s, w) {s, sizeof(s) - 1, w}
		B("88.118.8", "no slash"),
		B("/suffix", "empty prefix"),
		B(H_HOME "/", "empty suffix"),
		B("", "empty identifier"),
		B("88..118/x", "empty prefix segment"),
		B(".88/x", "leading dot"),
		B("88.118.8./x", "trailing dot"),
		B(H_HOME "/a\x01"
			 "b",
		  "control character"),
		B(H_HOME "/a\x7f"
			 "b",
		  "DEL"),
		B(H_HOME "/a\0b", "NUL byte"),
		B(H_HOME "/\xff", "invalid UTF-8 byte"),
		B(H_HOME "/\xc0\xaf", "overlong UTF-8"),
		B(H_HOME "/\xed\xa0\x80", "UTF-16 surrogate"),
		B(H_HOME "/\xf4\x90\x80\x80", "beyond U+10FFFF"),
		B(H_HOME "/\xe6\xa0", "truncated UTF-8 sequence"),
		B(H_HOME "/\x80"
			 "abc",
		  "stray continuation byte"),
		B("\xff\xfe/x", "invalid UTF-8 in the prefix"),
#undef B
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		resolve_expect(bad[i].id, bad[i].len, IDN_RC_INVALID_HANDLE,
			       bad[i].what);
	idctl_expect("88.118.8", 102, "invalid identifier");
	idctl_expect(H_HOME "/", 102, "invalid identifier");
}

/* One byte over the limit is refused (the codec already refuses the
 * string: protocol error; a validating parser: invalid identifier). */
static void too_long_identifier(void **state)
{
	(void)state;
	char *id = malloc(IDN_IDENT_MAX + 1);
	assert_non_null(id);
	memset(id, 'b', IDN_IDENT_MAX + 1);
	memcpy(id, H_HOME "/", strlen(H_HOME) + 1);
	uint8_t req[4096];
	for (int t = T_TCP; t <= T_CTL; t++) {
		uint32_t reqid = next_id++;
		size_t len = id_frame(req, sizeof(req), reqid, id,
				      IDN_IDENT_MAX + 1);
		h_reply_t *r = call(t, req, len);
		assert_int_equal(r->env.request_id, reqid);
		if (r->msg.hdr.rc != IDN_RC_INVALID_HANDLE &&
		    r->msg.hdr.rc != IDN_RC_PROTOCOL_ERROR)
			fail_msg("2049-byte identifier over %s: rc %u, want "
				 "102 or 4",
				 tname[t], r->msg.hdr.rc);
	}
	free(id);
}

static void rc_200_values_not_found(void **state)
{
	(void)state;
	uint8_t req[512];
	const char *nosuch[] = {"NOSUCH"};
	uint32_t idx[] = {42, 43};
	for (int t = T_UDP; t <= T_CTL; t++) {
		h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
		size_t len = h_resolve_frame(req, sizeof(req), &q, EXIST,
					     strlen(EXIST), NULL, 0, nosuch, 1);
		expect_rc(call(t, req, len), q.request_id, 1,
			  IDN_RC_VALUES_NOT_FOUND, "--type NOSUCH", t);
		q = h_req(IDN_OC_RESOLUTION, next_id++);
		len = h_resolve_frame(req, sizeof(req), &q, EXIST,
				      strlen(EXIST), idx, 2, NULL, 0);
		expect_rc(call(t, req, len), q.request_id, 1,
			  IDN_RC_VALUES_NOT_FOUND, "--index 42 43", t);
		/* index 2 is not public: found only on the control socket */
		q = h_req(IDN_OC_RESOLUTION, next_id++);
		uint32_t two = 2;
		len = h_resolve_frame(req, sizeof(req), &q, EXIST,
				      strlen(EXIST), &two, 1, NULL, 0);
		expect_rc(call(t, req, len), q.request_id, 1,
			  t == T_CTL ? IDN_RC_SUCCESS : IDN_RC_VALUES_NOT_FOUND,
			  "--index 2 (not public)", t);
	}
	h_run_t r;
	h_net(&r, node, "resolve", "--type", "NOSUCH", EXIST, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "values not found (rc 200)"));
	h_run_free(&r);
}

/* Prefixes this node neither serves nor knows a delegation for: 301 (not
 * responsible), as a HANDLE.NET server answers, referrals allowed or not;
 * below a homed prefix: not found. */
static void rc_100_or_301_not_homed(void **state)
{
	(void)state;
	const char *ids[] = {"99.1/x",	    "88.118/x",	 H_HOME ".1/x",
			     "88.118.80/x", "0.NA/99.1", "0.NA/88.118"};
	uint8_t req[8192];
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		bool below = !strcmp(ids[i], H_HOME ".1/x");
		resolve_expect(ids[i], strlen(ids[i]),
			       below ? IDN_RC_NOT_FOUND
				     : IDN_RC_SERVER_NOT_RESP,
			       ids[i]);
		if (below)
			continue; /* below a homed prefix: authoritative 100 */
		for (int t = T_UDP; t <= T_CTL; t++) {
			h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
			q.flags = IDN_OF_DONT_REFER;
			size_t len = h_resolve_frame(req, sizeof(req), &q,
						     ids[i], strlen(ids[i]),
						     NULL, 0, NULL, 0);
			expect_rc(call(t, req, len), q.request_id,
				  IDN_OC_RESOLUTION, IDN_RC_SERVER_NOT_RESP,
				  ids[i], t);
			assert_non_null(
				strstr(h_error_text(&rep), "not responsible"));
		}
	}
	idctl_expect("99.1/x", 301, "not responsible");
	/* the prefix is compared case-insensitively: homed "88.118.8" */
	resolve_expect("0.na/" H_HOME, strlen("0.na/" H_HOME), IDN_RC_NOT_FOUND,
		       "0.na/ lower case");
}

/* Bodies of a resolution request that do not decode. */
static void rc_4_malformed_body(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		size_t len;
		const char *what;
	} bad[] = {
#define B(s, w) {s, sizeof(s) - 1, w}
		B("", "empty body"),
		B("\x00\x00", "short identifier length"),
		B("\xff\xff\xff\xff" H_HOME "/x", "identifier length 2^32-1"),
		B("\x00\x00\x00\x20" H_HOME "/x",
		  "identifier length past the end"),
		B("\x00\x00\x00\x0a" H_HOME "/x", "no index list"),
		B("\x00\x00\x00\x0a" H_HOME
		  "/x\x7f\xff\xff\xff\x00\x00\x00\x00",
		  "index count 2^31-1"),
		B("\x00\x00\x00\x0a" H_HOME
		  "/x\x00\x00\x00\x00\xff\xff\xff\xff",
		  "type count 2^32-1"),
		B("\x00\x00\x00\x0a" H_HOME "/x\x00\x00\x00\x00\x00\x00\x00\x01"
		  "\xff\xff\xff\xf0URL",
		  "type length past the end"),
		B("\x00\x00\x00\x0a" H_HOME "/x\x00\x00\x00\x00\x00\x00\x00\x00"
		  "junk",
		  "trailing bytes"),
		B("\x00\x00\x00\x0a" H_HOME
		  "/x\x00\x00\x00\x02\x00\x00\x00\x01",
		  "index list cut short"),
#undef B
	};
	uint8_t req[1024];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int t = T_UDP; t <= T_CTL; t++) {
			uint32_t reqid = next_id++;
			size_t len = frame(req, sizeof(req), IDN_OC_RESOLUTION,
					   reqid, bad[i].body, bad[i].len);
			expect_rc(call(t, req, len), reqid, 1,
				  IDN_RC_PROTOCOL_ERROR, bad[i].what, t);
		}
}

/* Messages whose header, body length or credential do not add up. */
static void rc_4_malformed_message(void **state)
{
	(void)state;
	uint8_t req[512];
	for (int t = T_UDP; t <= T_CTL; t++) {
		for (int k = 0; k < 4; k++) {
			uint32_t reqid = next_id++;
			size_t len = h_resolve_simple(req, sizeof(req), reqid,
						      EXIST);
			uint8_t *m = req + IDN_ENV_LEN;
			uint32_t blen = idn_get_u32(m + 20);
			const char *what = "";
			switch (k) {
			case 0: /* body length one more than there is */
				idn_put_u32(m + 20, blen + 1);
				what = "body length too large";
				break;
			case 1: /* body length one less: credential misread */
				idn_put_u32(m + 20, blen - 1);
				what = "body length too small";
				break;
			case 2: /* credential length 4, four junk bytes */
				idn_put_u32(m + IDN_HDR_LEN + blen, 4);
				req[len++] = 0xde, req[len++] = 0xad;
				req[len++] = 0xbe, req[len++] = 0xef;
				idn_put_u32(req + 16,
					    (uint32_t)(len - IDN_ENV_LEN));
				what = "credential garbage";
				break;
			case 3: /* a byte after the credential */
				req[len++] = 0;
				idn_put_u32(req + 16,
					    (uint32_t)(len - IDN_ENV_LEN));
				what = "trailing byte";
				break;
			}
			expect_rc(call(t, req, len), reqid, 0,
				  IDN_RC_PROTOCOL_ERROR, what, t);
			/* the op is not known for a message that did not
			 * decode: 0 */
		}
	}
}

static void rc_4_wrong_version(void **state)
{
	(void)state;
	static const uint8_t versions[][2] = {{1, 0}, {0, 0}, {1, 255}};
	uint8_t req[512];
	for (size_t i = 0; i < sizeof(versions) / 2; i++)
		for (int t = T_UDP; t <= T_CTL; t++) {
			h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
			q.major = versions[i][0];
			q.minor = versions[i][1];
			size_t len = h_resolve_frame(req, sizeof(req), &q,
						     EXIST, strlen(EXIST), NULL,
						     0, NULL, 0);
			h_reply_t *r = call(t, req, len);
			char what[64];
			snprintf(what, sizeof(what), "version %u.%u", q.major,
				 q.minor);
			expect_rc(r, q.request_id, 0, IDN_RC_PROTOCOL_ERROR,
				  what, t);
			assert_non_null(strstr(h_error_text(r), "version"));
			assert_true(r->env.minor >= 1 && r->env.minor <= 11);
		}
	/* the versions the node accepts: 2.0 to 2.10 answered in kind,
	 * newer ones (2.11, 2.12, 3.x) in 2.10, as HANDLE.NET answers them
	 * in its own */
	for (uint8_t minor = 0; minor <= 12; minor++)
		for (int t = T_UDP; t <= T_TCP; t++) {
			h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
			q.minor = minor;
			size_t len = h_resolve_frame(req, sizeof(req), &q,
						     EXIST, strlen(EXIST), NULL,
						     0, NULL, 0);
			h_reply_t *r = call(t, req, len);
			expect_rc(r, q.request_id, 1, IDN_RC_SUCCESS, "2.x", t);
			assert_int_equal(r->env.major, 2);
			assert_int_equal(r->env.minor,
					 minor <= 10 ? minor : 10);
		}
	static const uint8_t newer[][2] = {{3, 0}, {3, 10}, {255, 255}};
	for (size_t i = 0; i < sizeof(newer) / 2; i++)
		for (int t = T_UDP; t <= T_TCP; t++) {
			h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
			q.major = newer[i][0];
			q.minor = newer[i][1];
			size_t len = h_resolve_frame(req, sizeof(req), &q,
						     EXIST, strlen(EXIST), NULL,
						     0, NULL, 0);
			h_reply_t *r = call(t, req, len);
			expect_rc(r, q.request_id, 1, IDN_RC_SUCCESS, "3.x", t);
			assert_int_equal(r->env.major, 2);
			assert_int_equal(r->env.minor, 10);
		}
	/* a TCP connection stays usable after a version error */
	int fd = h_tcp_open(node);
	h_req_t q = h_req(IDN_OC_RESOLUTION, 555);
	q.major = 1;
	size_t len = h_resolve_frame(req, sizeof(req), &q, EXIST, strlen(EXIST),
				     NULL, 0, NULL, 0);
	h_stream_call(fd, req, len, &rep);
	assert_int_equal(rep.msg.hdr.rc, IDN_RC_PROTOCOL_ERROR);
	len = h_resolve_simple(req, sizeof(req), 556, EXIST);
	h_stream_call(fd, req, len, &rep);
	expect_rc(&rep, 556, 1, IDN_RC_SUCCESS, "after a version error", T_TCP);
	close(fd);
}

/* A request over UDP that needs several datagrams is refused with a hint
 * to use TCP (the node does not reassemble requests). */
/* A request over 492 bytes comes in several datagrams, as HANDLE.NET's
 * client sends it (each flagged truncated, the flag's meaning there): the
 * node puts it together and answers. One over 16 KiB gets rc 4 (send it
 * over TCP); parts of one never completed get no answer. */
static void multi_datagram_request(void **state)
{
	(void)state;
	char id[1200];
	memset(id, 'c', sizeof(id));
	memcpy(id, H_HOME "/", strlen(H_HOME) + 1);
	uint8_t req[2048];
	uint32_t reqid = next_id++;
	size_t len = id_frame(req, sizeof(req), reqid, id, sizeof(id));
	expect_rc(call(T_UDP, req, len), reqid, 1, IDN_RC_NOT_FOUND,
		  "3-datagram request", T_UDP);
	expect_rc(call(T_TCP, req, len), reqid, 1, IDN_RC_NOT_FOUND,
		  "1200-byte identifier", T_TCP);
	/* the edge: a 492-byte message fits one datagram, 493 does not */
	for (size_t mlen = 491; mlen <= 494; mlen++) {
		size_t idlen = mlen - 40; /* header, body, credential */
		reqid = next_id++;
		len = id_frame(req, sizeof(req), reqid, id, idlen);
		assert_int_equal(len, IDN_ENV_LEN + mlen);
		expect_rc(call(T_UDP, req, len), reqid, 1, IDN_RC_NOT_FOUND,
			  mlen <= IDN_UDP_PAYLOAD ? "one-datagram request"
						  : "two-datagram request",
			  T_UDP);
	}
	/* CNRI's own 2-datagram request (tests/vectors), parts in reverse:
	 * 20.500 is not homed here, so 301, to CNRI's request id */
	int fd = h_udp_open(node);
	idn_env_t env;
	for (int i = 1; i >= 0; i--) {
		char path[512];
		snprintf(path, sizeof(path), "%s/multi-request.udp%d.hex",
			 h_src("tests/vectors"), i);
		size_t hl;
		uint8_t *hex = h_read_file(path, &hl);
		uint8_t dg[IDN_UDP_DGRAM_MAX];
		size_t dl = 0;
		while (dl < sizeof(dg) && 2 * dl + 1 < hl &&
		       idn_hex_decode_buf((char *)hex + 2 * dl, 2, dg + dl) ==
			       0)
			dl++;
		free(hex);
		assert_int_equal(idn_env_decode(dg, dl, &env), 0);
		h_udp_send_raw(fd, dg, dl);
	}
	h_reply_t r;
	h_reply_init(&r);
	assert_int_equal(h_udp_recv(fd, env.request_id, &r, H_IO_TIMEOUT_MS),
			 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SERVER_NOT_RESP);
	/* a part of a request claiming 20 000 bytes: rc 4, ask over TCP */
	uint8_t dg[IDN_UDP_DGRAM_MAX] = {0};
	idn_env_t e = {.major = 2, .minor = 10, .request_id = next_id++};
	e.msg_len = 20000;
	idn_env_encode(dg, &e);
	h_udp_send_raw(fd, dg, sizeof(dg));
	assert_int_equal(h_udp_recv(fd, e.request_id, &r, H_IO_TIMEOUT_MS), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_PROTOCOL_ERROR);
	assert_non_null(strstr(h_error_text(&r), "TCP"));
	/* the first part of two, never the second: no answer */
	reqid = next_id++;
	len = id_frame(req, sizeof(req), reqid, id, 600);
	idn_env_decode(req, IDN_ENV_LEN, &e);
	size_t dl =
		idn_udp_frag(&e, req + IDN_ENV_LEN, len - IDN_ENV_LEN, 0, dg);
	h_udp_send_raw(fd, dg, dl);
	assert_int_not_equal(h_udp_recv(fd, reqid, &r, 300), 0);
	h_reply_free(&r);
	close(fd);
}

static void rc_5_unknown_op(void **state)
{
	(void)state;
	static const uint32_t ops[] = {0,   4,	 3,    99,   106,
				       199, 201, 303,  403,  499,
				       402, 999, 1050, 2000, 0xffffffffu};
	uint8_t req[512];
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		for (int t = T_UDP; t <= T_CTL; t++) {
			h_req_t q = h_req(ops[i], next_id++);
			size_t len = h_resolve_frame(req, sizeof(req), &q,
						     EXIST, strlen(EXIST), NULL,
						     0, NULL, 0);
			char what[32];
			snprintf(what, sizeof(what), "op %u", ops[i]);
			expect_rc(call(t, req, len), q.request_id, ops[i],
				  IDN_RC_NOT_SUPPORTED, what, t);
		}
}

/* Encrypted outside a session with a session key: 500 (session timeout),
 * without an op: it cannot be opened. Flagged compressed: read as it
 * stands and answered, as HANDLE.NET 7.3.1 does (it compresses nothing). */
static void rc_5_compressed_or_encrypted(void **state)
{
	(void)state;
	uint8_t req[512];
	for (int f = 0; f < 2; f++)
		for (int t = T_UDP; t <= T_TCP; t++) {
			h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
			q.env_flags = f ? IDN_EF_ENCRYPTED : IDN_EF_COMPRESSED;
			size_t len = h_resolve_frame(req, sizeof(req), &q,
						     EXIST, strlen(EXIST), NULL,
						     0, NULL, 0);
			expect_rc(call(t, req, len), q.request_id, f ? 0 : 1,
				  f ? 500 : IDN_RC_SUCCESS,
				  f ? "encrypted" : "compressed", t);
		}
}

/* Administrative requests over the network get 5 and change nothing. */
static void rc_402_admin_over_network(void **state)
{
	(void)state;
	uint8_t body[1024], req[2048];
	idn_wr_t w;
	idn_value_t v = {0};
	v.index = 1;
	v.ttl = 86400;
	v.perms = IDN_PERM_DEFAULT;
	v.type = idn_bytes_str("URL");
	v.data = idn_bytes_str("https://evil.example.com");
	struct {
		uint32_t op;
		const char *id;
		int kind; /* 0 values, 1 id, 2 remove, 3 empty */
	} ops[] = {
		{IDN_OC_CREATE, H_HOME "/e2e-new", 0},
		{IDN_OC_CREATE, EXIST, 0},
		{IDN_OC_ADD_VALUE, EXIST, 0},
		{IDN_OC_MODIFY_VALUE, EXIST, 0},
		{IDN_OC_REMOVE_VALUE, EXIST, 2},
		{IDN_OC_DELETE, EXIST, 1},
		{IDN_OC_LIST, H_HOME, 1},
		{IDN_OC_HOME, "0.NA/77.7", 1},
		{IDN_OC_UNHOME, "0.NA/" H_HOME, 1},
		{IDN_OC_LIST_HOMED, "", 3},
	};
	h_run_t before;
	h_ctl(&before, node, "--json", "resolve", EXIST, NULL);
	h_assert_status(&before, 0);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		idn_wr_init(&w, body, sizeof(body));
		if (ops[i].kind == 0) {
			idn_values_body_t b = {idn_bytes_str(ops[i].id), 1, &v};
			idn_values_body_encode(&w, &b);
		} else if (ops[i].kind == 1) {
			idn_id_body_encode(&w, idn_bytes_str(ops[i].id));
		} else if (ops[i].kind == 2) {
			uint32_t one = 1;
			idn_remove_req_t b = {idn_bytes_str(ops[i].id), 1,
					      &one};
			idn_remove_req_encode(&w, &b);
		}
		assert_int_equal(w.err, 0);
		for (int t = T_UDP; t <= T_TCP; t++) {
			for (int ow = 0; ow < 2; ow++) {
				h_req_t q = h_req(ops[i].op, next_id++);
				q.flags = ow ? IDN_OF_OVERWRITE : 0;
				size_t len = h_frame(req, sizeof(req), &q, body,
						     w.len);
				char what[32];
				snprintf(what, sizeof(what), "admin op %u",
					 ops[i].op);
				h_reply_t *r = call(t, req, len);
				/* unauthenticated: a challenge, nothing done */
				expect_rc(r, q.request_id, ops[i].op,
					  IDN_RC_AUTH_NEEDED, what, t);
			}
		}
	}
	/* nothing changed */
	h_run_t r;
	h_ctl(&r, node, "--json", "resolve", EXIST, NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, before.out);
	h_run_free(&r);
	h_run_free(&before);
	h_ctl(&r, node, "resolve", H_HOME "/e2e-new", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 100)"));
	h_run_free(&r);
	h_ctl(&r, node, "--json", "homed", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	json_t *p = json_object_get(j, "prefixes");
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_array_get(p, 0)), H_HOME);
	json_decref(j);
	h_run_free(&r);
}

/* A message with a response code is a response: never answered. */
static void responses_not_answered(void **state)
{
	(void)state;
	uint8_t req[1024];
	h_req_t q = h_req(IDN_OC_RESOLUTION, 600);
	size_t len = h_resolve_frame(req, sizeof(req), &q, EXIST, strlen(EXIST),
				     NULL, 0, NULL, 0);
	idn_put_u32(req + IDN_ENV_LEN + 4, IDN_RC_SUCCESS); /* rc field */
	size_t len2 =
		h_resolve_simple(req + len, sizeof(req) - len, 601, EXIST);
	/* over a stream: the only reply is the one to the real request */
	for (int t = T_TCP; t <= T_CTL; t++) {
		int fd = t == T_TCP ? h_tcp_open(node) : h_unix_open(node->ctl);
		assert_int_equal(h_write_all(fd, req, len + len2), 0);
		assert_int_equal(h_read_frame(fd, &rep, H_IO_TIMEOUT_MS), 1);
		expect_rc(&rep, 601, 1, IDN_RC_SUCCESS, "after a response", t);
		close(fd);
	}
	/* over UDP: the response datagram goes first, the request's answer is
	 * the only datagram that comes back */
	int fd = h_udp_open(node);
	h_udp_send_raw(fd, req, len);
	h_udp_send_raw(fd, req + len, len2);
	struct pollfd p = {fd, POLLIN, 0};
	assert_int_equal(poll(&p, 1, H_IO_TIMEOUT_MS), 1);
	ssize_t k = recv(fd, rep.buf, 600, 0);
	assert_true(k > 0);
	rep.len = (size_t)k;
	assert_int_equal(h_reply_decode(&rep), 0);
	expect_rc(&rep, 601, 1, IDN_RC_SUCCESS, "after a response", T_UDP);
	close(fd);
}

/* A request flagged "return request digest" gets the SHA-1 of its header
 * and body first in the reply body. */
static void request_digest(void **state)
{
	(void)state;
	uint8_t req[512];
	for (int t = T_UDP; t <= T_CTL; t++) {
		for (int found = 0; found < 2; found++) {
			h_req_t q = h_req(IDN_OC_RESOLUTION, next_id++);
			q.flags = IDN_OF_RETURN_DIGEST;
			const char *id = found ? EXIST : H_HOME "/nope";
			size_t len =
				h_resolve_frame(req, sizeof(req), &q, id,
						strlen(id), NULL, 0, NULL, 0);
			idn_msg_t m;
			assert_int_equal(idn_msg_decode(req + IDN_ENV_LEN,
							len - IDN_ENV_LEN, &m),
					 0);
			uint8_t d[32];
			uint32_t dl;
			assert_int_equal(idn_digest(IDN_DIGEST_SHA1,
						    m.signed_part.p,
						    m.signed_part.len, d, &dl),
					 0);
			h_reply_t *r = call(t, req, len);
			expect_rc(r, q.request_id, 1,
				  found ? IDN_RC_SUCCESS : IDN_RC_NOT_FOUND,
				  "digest", t);
			assert_true(r->msg.hdr.flags & IDN_OF_RETURN_DIGEST);
			assert_int_equal(r->msg.digest_alg, IDN_DIGEST_SHA1);
			assert_int_equal(r->msg.digest.len, dl);
			assert_memory_equal(r->msg.digest.p, d, dl);
			if (found) {
				idn_arena_t a;
				idn_arena_init(&a, 0);
				idn_values_body_t b;
				assert_int_equal(idn_values_body_decode(
							 r->msg.rest, &a, &b),
						 0);
				assert_int_equal(b.nvalues, t == T_CTL ? 2 : 1);
				idn_arena_free(&a);
			}
		}
	}
}

static void shutdown_clean(void **state)
{
	(void)state;
	node_stop(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rc_100_not_found),
		cmocka_unit_test(rc_102_invalid_identifier),
		cmocka_unit_test(too_long_identifier),
		cmocka_unit_test(rc_200_values_not_found),
		cmocka_unit_test(rc_100_or_301_not_homed),
		cmocka_unit_test(rc_4_malformed_body),
		cmocka_unit_test(rc_4_malformed_message),
		cmocka_unit_test(rc_4_wrong_version),
		cmocka_unit_test(multi_datagram_request),
		cmocka_unit_test(rc_5_unknown_op),
		cmocka_unit_test(rc_5_compressed_or_encrypted),
		cmocka_unit_test(rc_402_admin_over_network),
		cmocka_unit_test(responses_not_answered),
		cmocka_unit_test(request_digest),
		cmocka_unit_test(shutdown_clean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
