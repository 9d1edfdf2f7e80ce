/* Sessions as HANDLE.NET has them (authz.h, session.c), replayed from the
 * captured vectors: the Diffie-Hellman setup answered over UDP and TCP,
 * the captured in-session requests authenticated by their MAC once the
 * session is bound to the admin, replays refused, a session id used from
 * another network refused, encrypted requests answered encrypted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "error.h"
#include "hsession.h"
#include "msg.h"
#include "node_fixture.h"
#include "vector_fixture.h"

/* the CNRI client's private exponent in session-setup-dh-*, and the
 * session keys of the captures (tests/vectors/INDEX.md) */
#define DH_X "d0f9b9e10f506890108c825e95a953233633bd7f"
#define DH_KEY "75cdefc79843b337"
#define ENC_KEY "34b9dfbfa87af21f"
#define ADMIN "0.NA/20.500"
#define TARGET "20.500/sess-dh4"

static idn_bytes_t unhex(const char *h, uint8_t *buf)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		buf[i] = (uint8_t)v;
	}
	return idn_bytes(buf, n);
}

static struct sockaddr_storage peer_a, peer_b;

static void set_peer(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(40000);
	inet_pton(AF_INET, ip, &in->sin_addr);
}

static caller_t from(transport_t tr, const struct sockaddr_storage *peer)
{
	caller_t c = nfx_anon(tr);
	c.peer = peer;
	return c;
}

/* 20.500 homed, its prefix record naming admin 300, the record the
 * captured add and delete change. */
static int setup(void **state)
{
	int err = nfx_setup(state);
	nfx_t *f = *state;
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(idn_wtxn_home(t, (const uint8_t *)"20.500", 6), 0);
	assert_int_equal(idn_wtxn_commit(t), 0);
	nfx_put(f, ADMIN, "100:HS_ADMIN=" ADMIN "@300#fff", NULL);
	nfx_put(f, TARGET, "1:URL=https://example.com/" TARGET,
		"100:HS_ADMIN=" ADMIN "@300#fff", NULL);
	set_peer(&peer_a, "127.0.0.1");
	set_peer(&peer_b, "10.9.8.7");
	return err;
}

/* A vector's frame with the envelope's session id set to sid. */
static uint8_t *vector_in(const char *name, uint32_t sid, size_t *len)
{
	uint8_t *b = load_hex(name, len);
	assert_non_null(b);
	idn_env_set_session(b, sid);
	return b;
}

/* The captured setup, over UDP and over TCP: rc 1, a new session's id in
 * the envelope, the answer laid out as the reference's, whose DH half
 * gives the captured client the key the node holds: a request MACed with
 * it is the session's (challenged in it). */
static void setup_answered_as_reference(void **state)
{
	nfx_t *f = *state;
	for (int tcp = 0; tcp < 2; tcp++) {
		size_t len;
		uint8_t *req = load_hex("session-setup-dh-request.hex", &len);
		caller_t c = from(tcp ? TRANSPORT_TCP : TRANSPORT_UDP, &peer_a);
		assert_int_equal(nfx_call(f, req, len, &c, tcp ? 5 : 0), 1);
		assert_int_equal(f->msg.hdr.op, IDN_OC_SESSION_SETUP);
		assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
		uint32_t sid = f->env.session_id;
		assert_int_not_equal(sid, 0);
		assert_int_equal(sid & 1, 0);
		assert_int_equal(f->msg.digest_alg, IDN_DIGEST_SHA1);
		idn_session_resp_t resp;
		assert_int_equal(idn_session_resp_decode(f->msg.rest, &resp),
				 0);
		assert_int_equal(resp.mode, IDN_KX_DH);
		assert_int_equal(idn_get_u32(resp.key.p), IDN_SCIPHER_DES);
		assert_int_equal(resp.tail.len, 2);
		assert_memory_equal(resp.tail.p, "\0\0", 2);
		/* the captured client's side */
		idn_dh_t *dh;
		uint8_t xb[32], key[IDN_SKEY_MAX];
		size_t kl;
		assert_int_equal(idn_dh_new(idn_bytes(NULL, 0), &dh), 0);
		assert_int_equal(idn_dh_set_private(dh, unhex(DH_X, xb)), 0);
		assert_int_equal(idn_dh_derive(dh,
					       idn_bytes(resp.key.p + 4,
							 resp.key.len - 4),
					       IDN_SCIPHER_DES, key, &kl),
				 0);
		idn_dh_free(dh);
		/* a create MACed with that key: challenged in the session */
		size_t cl;
		uint8_t *cr =
			vector_in("session-create-mac-request.hex", sid, &cl);
		idn_msg_t m;
		assert_int_equal(
			idn_msg_decode(cr + IDN_ENV_LEN, cl - IDN_ENV_LEN, &m),
			0);
		idn_cred_t cred;
		uint8_t cb[64];
		assert_int_equal(idn_skey_mac_cred(idn_bytes(key, kl), 2, 5,
						   m.signed_part, 1, &cred, cb),
				 0);
		memcpy((uint8_t *)m.cred.signed_data.p + 9,
		       cred.signed_data.p + 9, IDN_SKEY_MAC_LEN);
		assert_int_equal(nfx_call(f, cr, cl, &c, tcp ? 6 : 0), 1);
		assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_NEEDED);
		assert_int_equal(f->env.session_id, sid);
		free(cr);
		free(req);
	}
}

/* The captured add and delete (MAC counters 2 and 3), in a session with
 * the captured key: challenged until bound to the admin, then run as it
 * on any connection of its network, each once; from another network the
 * session id is refused. */
static void captured_requests_run_in_session(void **state)
{
	nfx_t *f = *state;
	uint8_t kb[8];
	uint32_t sid;
	assert_int_equal(authz_session_new(f->node.authz, &peer_a,
					   unhex(DH_KEY, kb), IDN_SCIPHER_DES,
					   idn_bytes_str(ADMIN), 300, 60, &sid),
			 0);
	caller_t tcp = from(TRANSPORT_TCP, &peer_a);
	caller_t udp = from(TRANSPORT_UDP, &peer_a);
	size_t al, dl, cl;
	uint8_t *add = vector_in("session-add-mac-request.hex", sid, &al);
	uint8_t *del = vector_in("session-delete-mac-request.hex", sid, &dl);
	uint8_t *create = vector_in("session-create-mac-request.hex", sid, &cl);
	/* not bound yet: the create is challenged in the session */
	assert_int_equal(nfx_call(f, create, cl, &tcp, 7), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(f->env.session_id, sid);
	/* bound to another admin than its setup named: no */
	assert_int_equal(authz_session_bind(f->node.authz, sid,
					    idn_bytes_str(ADMIN), 301),
			 IDN_EAUTH);
	assert_int_equal(authz_session_bind(f->node.authz, sid,
					    idn_bytes_str(ADMIN), 300),
			 0);
	/* from another network: refused, nothing changes */
	caller_t other = from(TRANSPORT_TCP, &peer_b);
	assert_int_equal(nfx_call(f, add, al, &other, 8), 1);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	assert_string_equal(nfx_error_text(f),
			    "the session belongs to another network");
	/* the add over UDP, the delete on another TCP connection */
	assert_int_equal(nfx_call(f, add, al, &udp, 0), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(f->env.session_id, sid);
	size_t vl;
	uint32_t nv;
	uint8_t *got = nfx_get(f, TARGET, &vl, &nv);
	assert_non_null(got);
	assert_int_equal(nv, 3); /* URL, HS_ADMIN, the EMAIL added */
	free(got);
	/* each MAC counter once */
	assert_int_equal(nfx_call(f, add, al, &tcp, 9), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_FAILED);
	assert_int_equal(nfx_call(f, create, cl, &tcp, 9), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_FAILED);
	assert_int_equal(nfx_call(f, del, dl, &tcp, 10), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_SUCCESS);
	assert_null(nfx_get(f, TARGET, &vl, &nv));
	/* a changed byte: the MAC fails */
	del[dl - 1] ^= 1;
	assert_int_equal(nfx_call(f, del, dl, &tcp, 10), 1);
	assert_int_equal(f->msg.hdr.rc, IDN_RC_AUTH_FAILED);
	/* without its MAC the session id is no session's request */
	uint8_t frame[512];
	size_t fl = nfx_frame(frame, sizeof(frame), IDN_OC_DELETE, 0, sid,
			      "\0\0\0\x0f" TARGET, 19);
	assert_int_equal(nfx_call(f, frame, fl, &tcp, 10), 1);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_TIMEOUT);
	free(add);
	free(del);
	free(create);
}

/* The captured encrypted create, in a session with its key: the node
 * opens it, challenges it in the session, and encrypts the challenge. */
static void encrypted_request_answered_encrypted(void **state)
{
	nfx_t *f = *state;
	uint8_t kb[8];
	idn_bytes_t key = unhex(ENC_KEY, kb);
	uint32_t sid;
	assert_int_equal(authz_session_new(f->node.authz, &peer_a, key,
					   IDN_SCIPHER_DES, idn_bytes(NULL, 0),
					   0, 60, &sid),
			 0);
	size_t len;
	uint8_t *req =
		vector_in("session-enc-create-mac-request.hex", sid, &len);
	caller_t tcp = from(TRANSPORT_TCP, &peer_a);
	assert_int_equal(nfx_call(f, req, len, &tcp, 11), 1);
	assert_true(f->rep[2] & IDN_EF_ENCRYPTED);
	assert_int_equal(idn_env_session(f->rep), sid);
	size_t rl = IDN_ENV_LEN + idn_env_msg_len(f->rep), pl = 0;
	assert_int_equal(rl, f->replen);
	uint8_t *plain = malloc(rl);
	assert_int_equal(idn_skey_decrypt(key, IDN_SCIPHER_DES,
					  f->rep + IDN_ENV_LEN,
					  rl - IDN_ENV_LEN, plain, rl, &pl),
			 0);
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(plain, pl, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_CREATE);
	assert_int_equal(m.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_true(m.hdr.flags & IDN_OF_ENCRYPT);
	free(plain);
	/* with another key it does not open: refused in the clear */
	uint32_t sid2;
	uint8_t ob[8];
	assert_int_equal(authz_session_new(f->node.authz, &peer_a,
					   unhex(DH_KEY, ob), IDN_SCIPHER_DES,
					   idn_bytes(NULL, 0), 0, 60, &sid2),
			 0);
	idn_env_set_session(req, sid2);
	assert_int_equal(nfx_call(f, req, len, &tcp, 11), 1);
	assert_false(f->rep[2] & IDN_EF_ENCRYPTED);
	assert_true(f->msg.hdr.rc == IDN_RC_AUTH_FAILED ||
		    f->msg.hdr.rc == IDN_RC_PROTOCOL_ERROR);
	free(req);
}

/* Sessions are bounded per network, like pending challenges: over the
 * cap the oldest one no admin was bound to gives way, and when all are
 * bound a new one is refused; other networks are not affected. A session
 * ends from its network only. */
static void sessions_bounded_per_network(void **state)
{
	nfx_t *f = *state;
	uint8_t kb[8];
	idn_bytes_t key = unhex(DH_KEY, kb);
	uint32_t sid = 0, ids[AUTHZ_SESSIONS_NET_MAX];
	for (int i = 0; i < AUTHZ_SESSIONS_NET_MAX; i++)
		assert_int_equal(authz_session_new(f->node.authz, &peer_a, key,
						   IDN_SCIPHER_DES,
						   idn_bytes(NULL, 0), 0, 60,
						   &ids[i]),
				 0);
	uint32_t first = ids[0];
	assert_int_equal(authz_session_new(f->node.authz, &peer_a, key,
					   IDN_SCIPHER_DES, idn_bytes(NULL, 0),
					   0, 60, &ids[0]),
			 0);
	authz_sess_t got;
	assert_int_equal(authz_session_find(f->node.authz, first, &peer_a, NULL,
					    0, &got),
			 IDN_ENOTFOUND);
	for (int i = 0; i < AUTHZ_SESSIONS_NET_MAX; i++)
		assert_int_equal(authz_session_bind(f->node.authz, ids[i],
						    idn_bytes_str(ADMIN), 300),
				 0);
	assert_int_equal(authz_session_new(f->node.authz, &peer_a, key,
					   IDN_SCIPHER_DES, idn_bytes(NULL, 0),
					   0, 60, &sid),
			 -EUSERS);
	assert_int_equal(authz_session_new(f->node.authz, &peer_b, key,
					   IDN_SCIPHER_DES, idn_bytes(NULL, 0),
					   0, 60, &sid),
			 0);
	assert_int_equal(
		authz_session_close(f->node.authz, ids[1], &peer_b, NULL, 0),
		IDN_ENOTFOUND);
	assert_int_equal(
		authz_session_close(f->node.authz, ids[1], &peer_a, NULL, 0),
		0);
	assert_int_equal(authz_session_new(f->node.authz, &peer_a, key,
					   IDN_SCIPHER_DES, idn_bytes(NULL, 0),
					   0, 60, &sid),
			 0);
	/* the counter window: each once, 64 back at most */
	assert_int_equal(authz_session_counter(f->node.authz, sid, 5), 0);
	assert_int_equal(authz_session_counter(f->node.authz, sid, 5),
			 IDN_EEXISTS);
	assert_int_equal(authz_session_counter(f->node.authz, sid, 3), 0);
	assert_int_equal(authz_session_counter(f->node.authz, sid, 100), 0);
	assert_int_equal(authz_session_counter(f->node.authz, sid, 36),
			 IDN_EEXISTS);
	assert_int_equal(authz_session_counter(f->node.authz, sid, 37), 0);
}

/* A setup with a key exchange mode the node does not do: rc 501, as the
 * reference answers modes 1 and 2. */
static void other_modes_refused(void **state)
{
	nfx_t *f = *state;
	uint8_t body[256];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_session_req_t sr = {IDN_KX_CIPHER_SERVER, 60,
				idn_bytes_str(ADMIN), 300,
				idn_bytes(NULL, 0),   idn_bytes("\0", 2)};
	idn_session_req_encode(&w, &sr);
	uint8_t frame[512];
	size_t len = nfx_frame(frame, sizeof(frame), IDN_OC_SESSION_SETUP, 0, 0,
			       body, w.len);
	caller_t udp = from(TRANSPORT_UDP, &peer_a);
	assert_int_equal(nfx_call(f, frame, len, &udp, 0), 1);
	assert_int_equal(f->msg.hdr.rc, AUTHZ_RC_SESSION_FAILED);
	assert_int_equal(f->env.session_id, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(setup_answered_as_reference,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(
			captured_requests_run_in_session, setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(
			encrypted_request_answered_encrypted, setup,
			nfx_teardown),
		cmocka_unit_test_setup_teardown(sessions_bounded_per_network,
						setup, nfx_teardown),
		cmocka_unit_test_setup_teardown(other_modes_refused, setup,
						nfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
