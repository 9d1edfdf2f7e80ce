/* Kinds of network admins and what they may do: SM2 keys (SM3withSM2),
 * secret keys (HS_SECKEY, HMAC-SHA256 and the PBKDF2 answer of protocol
 * 2.7+), passphrase-encrypted keys, and the files idctl writes (0600). The
 * node runs at log level debug and its log never shows a secret. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "hsession.h"
#include "harness.h"
#include "msg.h"
#include "seckey.h"
#include "session.h"

#define SECRET "correct-horse-7f3a9c-battery"
#define SM2_ADMIN H_HOME "/sm2:300"
#define SEC_ADMIN H_HOME "/sec:300"
#define ROOT_ADMIN "0.NA/" H_HOME ":300"
#define NOADD_ADMIN H_HOME "/noadd:300"

static node_t *node;
static char dir[] = "/tmp/idn-aauth.XXXXXX";
static char root_key[300], sm2_key[300], noadd_key[300], secret_file[300],
	loose_secret[300], enc_key[300], pass_file[300], reader_key[300];
static char *reader_hex; /* its HS_PUBKEY data */
static char addr[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static mode_t file_mode(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(root_key, sizeof(root_key), "%s/root.pem", dir);
	snprintf(sm2_key, sizeof(sm2_key), "%s/sm2.pem", dir);
	snprintf(noadd_key, sizeof(noadd_key), "%s/noadd.pem", dir);
	snprintf(enc_key, sizeof(enc_key), "%s/enc.pem", dir);
	snprintf(secret_file, sizeof(secret_file), "%s/secret", dir);
	snprintf(loose_secret, sizeof(loose_secret), "%s/secret.loose", dir);
	snprintf(pass_file, sizeof(pass_file), "%s/pass", dir);
	snprintf(reader_key, sizeof(reader_key), "%s/reader.pem", dir);
	write_file(secret_file, SECRET "\n", 0600);
	write_file(loose_secret, SECRET "\n", 0644);
	write_file(pass_file, "open sesame\n", 0600);
	node = node_new("--home", H_HOME, "--log-level", "debug", NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	char *root = h_keygen(root_key, NULL, NULL);
	char *sm2 = h_keygen(sm2_key, "--type", "sm2");
	char *noadd = h_keygen(noadd_key, NULL, NULL);
	char *enc = h_keygen(enc_key, "--passphrase-file", pass_file);
	reader_hex = h_keygen(reader_key, NULL, NULL);
	char v1[4096], v2[4096];
	snprintf(v1, sizeof(v1), "300,perms=e:HS_PUBKEY=hex:%s", root);
	snprintf(v2, sizeof(v2), "301,perms=e:HS_PUBKEY=hex:%s", enc);
	/* the prefix's admins: its own key @300 (all rights), the encrypted
	 * key @301 (all rights), the SM2 and secret-key admins (add handle,
	 * add/modify/remove value, delete handle, list), and one that may
	 * only add identifiers */
	h_ctl_ok(node, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300",
		 "101:HS_ADMIN=0.NA/" H_HOME "@301",
		 "102:HS_ADMIN=" H_HOME "/sm2@300#873",
		 "103:HS_ADMIN=" H_HOME "/sec@300#873",
		 "104:HS_ADMIN=" H_HOME "/noadd@300#1", v1, v2, NULL);
	snprintf(v1, sizeof(v1), "300,perms=e:HS_PUBKEY=hex:%s", sm2);
	h_ctl_ok(node, "create", H_HOME "/sm2", v1, NULL);
	h_ctl_ok(node, "create", H_HOME "/sec", "300,perms=c:HS_SECKEY=" SECRET,
		 NULL);
	snprintf(v1, sizeof(v1), "300,perms=e:HS_PUBKEY=hex:%s", noadd);
	h_ctl_ok(node, "create", H_HOME "/noadd", v1, NULL);
	free(root);
	free(sm2);
	free(noadd);
	free(enc);
	/* a record with a public URL, an EMAIL that admins may read (0xc),
	 * a NOTE nobody may read over the network (0x4), read by the reader
	 * directly and by the SM2 admin through the group readers@200 */
	snprintf(v1, sizeof(v1), "300:HS_PUBKEY=hex:%s", reader_hex);
	h_ctl_ok(node, "create", H_HOME "/reader", v1, NULL);
	char vl[256];
	const char *member = H_HOME "/sm2";
	int off = snprintf(vl, sizeof(vl), "200:HS_VLIST=hex:00000001%08zx",
			   strlen(member));
	for (const char *p = member; *p; p++)
		off += snprintf(vl + off, sizeof(vl) - (size_t)off, "%02x", *p);
	snprintf(vl + off, sizeof(vl) - (size_t)off, "0000012c");
	h_ctl_ok(node, "create", H_HOME "/readers", vl, NULL);
	h_ctl_ok(node, "create", H_HOME "/private", "1:URL=https://public",
		 "2,perms=c:EMAIL=restricted@example.com",
		 "3,perms=4:NOTE=write only",
		 "100:HS_ADMIN=" H_HOME "/reader@300#400",
		 "101:HS_ADMIN=" H_HOME "/readers@200#400",
		 "102:HS_ADMIN=0.NA/" H_HOME "@300#bff", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	free(reader_hex);
	return h_rmtree(dir) != 0;
}

static json_t *record(const char *id)
{
	h_run_t r;
	h_ctl(&r, node, "--json", "resolve", id, NULL);
	json_t *j = r.status == 0 ? h_json(&r) : NULL;
	h_run_free(&r);
	return j;
}

static void assert_exists(const char *id, bool want)
{
	json_t *j = record(id);
	if (want)
		assert_non_null(j);
	else
		assert_null(j);
	json_decref(j);
}

/* idctl -s ADDR --auth ADMIN CREDOPT CRED ARGS... */
static void net(h_run_t *r, const char *admin, const char *credopt,
		const char *cred, const char *a1, const char *a2,
		const char *a3)
{
	h_idctl(r, "-s", addr, "--auth", admin, credopt, cred, a1, a2, a3,
		NULL);
}

static void sm2_admin_creates(void **state)
{
	(void)state;
	/* the public key is the 65-byte uncompressed point under
	 * SM2_PUB_KEY */
	json_t *j = record(H_HOME "/sm2");
	assert_non_null(j);
	const char *b64 = json_string_value(json_object_get(
		json_object_get(h_json_value(j, 300), "data"), "value"));
	assert_non_null(b64);
	json_decref(j);
	FILE *f = fopen(sm2_key, "r");
	assert_non_null(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	assert_true(EVP_PKEY_is_a(k, "SM2"));
	assert_string_equal(idn_sig_hash_for(k), "SM3");
	uint8_t buf[256];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(idn_pubkey_encode(k, &w), 0);
	EVP_PKEY_free(k);
	/* 4+11 type, 2 flags, 4+65 point */
	assert_int_equal(w.len, 4 + 11 + 2 + 4 + 65);
	assert_memory_equal(buf + 4, "SM2_PUB_KEY", 11);
	assert_int_equal(buf[4 + 11 + 2 + 4], 0x04);

	h_run_t r;
	net(&r, SM2_ADMIN, "--key", sm2_key, "create", H_HOME "/by-sm2",
	    "1:URL=https://sm2");
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "created " H_HOME "/by-sm2\n");
	h_run_free(&r);
	assert_exists(H_HOME "/by-sm2", true);
	/* an RSA key is not the SM2 admin's key */
	net(&r, SM2_ADMIN, "--key", noadd_key, "create", H_HOME "/by-sm2-x",
	    "1:URL=https://x");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 403)"));
	h_run_free(&r);
	assert_exists(H_HOME "/by-sm2-x", false);
}

static void secret_admin_creates(void **state)
{
	(void)state;
	h_run_t r;
	net(&r, SEC_ADMIN, "--secret", secret_file, "create", H_HOME "/by-sec",
	    "1:URL=https://sec");
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_exists(H_HOME "/by-sec", true);
	/* a wrong secret: 403, nothing written */
	char wrong[300];
	snprintf(wrong, sizeof(wrong), "%s/wrong", dir);
	write_file(wrong, "not-the-secret\n", 0600);
	net(&r, SEC_ADMIN, "--secret", wrong, "create", H_HOME "/by-sec-x",
	    "1:URL=https://x");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 403)"));
	h_run_free(&r);
	assert_exists(H_HOME "/by-sec-x", false);
	/* a secret file others may read is refused before anything is sent */
	net(&r, SEC_ADMIN, "--secret", loose_secret, "create",
	    H_HOME "/by-sec-y", "1:URL=https://y");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "readable by others"));
	h_run_free(&r);
	assert_exists(H_HOME "/by-sec-y", false);
	/* a secret is no public key, and a public key no secret */
	net(&r, SEC_ADMIN, "--key", root_key, "create", H_HOME "/by-sec-z",
	    "1:URL=https://z");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 400)"));
	h_run_free(&r);
	net(&r, ROOT_ADMIN, "--secret", secret_file, "create",
	    H_HOME "/by-sec-z", "1:URL=https://z");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 400)"));
	h_run_free(&r);
	assert_exists(H_HOME "/by-sec-z", false);
}

/* Sends a create by TCP and answers the challenge with the MAC alg
 * computes with secret; returns the final reply's response code. */
static uint32_t raw_secret_create(const char *id, uint8_t alg,
				  const char *secret)
{
	uint8_t req[2048], sb[512];
	idn_wr_t w;
	size_t len =
		h_create_url_frame(req, sizeof(req), 7001, id, "https://raw");
	h_reply_t ch;
	h_reply_init(&ch);
	h_tcp_call(node, req, len, &ch);
	assert_int_equal(h_reply_decode(&ch), 0);
	assert_int_equal(ch.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(ch.msg.rest, &nonce), 0);
	idn_wr_init(&w, sb, sizeof(sb));
	assert_int_equal(idn_seckey_answer(alg, idn_bytes_str(secret), nonce,
					   ch.msg.digest, &w),
			 0);
	len = h_answer_frame(req, sizeof(req), 7002, ch.env.session_id,
			     "HS_SECKEY", H_HOME "/sec", 300,
			     idn_bytes(sb, w.len));
	h_reply_t done;
	h_reply_init(&done);
	h_tcp_call(node, req, len, &done);
	assert_int_equal(h_reply_decode(&done), 0);
	uint32_t rc = done.msg.hdr.rc;
	h_reply_free(&ch);
	h_reply_free(&done);
	return rc;
}

static void secret_answers_of_each_kind(void **state)
{
	(void)state;
	assert_int_equal(raw_secret_create(H_HOME "/pbkdf2",
					   IDN_MAC_PBKDF2_HMAC_SHA1, SECRET),
			 IDN_RC_SUCCESS);
	assert_exists(H_HOME "/pbkdf2", true);
	assert_int_equal(
		raw_secret_create(H_HOME "/hmac1", IDN_MAC_HMAC_SHA1, SECRET),
		IDN_RC_SUCCESS);
	assert_exists(H_HOME "/hmac1", true);
	assert_int_equal(raw_secret_create(H_HOME "/pbkdf2-x",
					   IDN_MAC_PBKDF2_HMAC_SHA1,
					   SECRET "x"),
			 IDN_RC_AUTH_FAILED);
	assert_exists(H_HOME "/pbkdf2-x", false);
}

static void missing_add_value_bit_is_401(void **state)
{
	(void)state;
	h_run_t r;
	/* noadd may create (0x1) but not add values (0x40) */
	net(&r, NOADD_ADMIN, "--key", noadd_key, "create", H_HOME "/by-noadd",
	    "1:URL=https://n");
	h_assert_status(&r, 0);
	h_run_free(&r);
	h_ctl_ok(node, "add", H_HOME "/by-noadd",
		 "100:HS_ADMIN=" H_HOME "/noadd@300#1", NULL);
	net(&r, NOADD_ADMIN, "--key", noadd_key, "add", H_HOME "/by-noadd",
	    "2:EMAIL=n@example.com");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 401)"));
	h_run_free(&r);
	json_t *j = record(H_HOME "/by-noadd");
	assert_non_null(j);
	assert_null(h_json_value(j, 2));
	json_decref(j);
}

static void unauthenticated_create_leaves_no_trace(void **state)
{
	(void)state;
	uint8_t req[1024];
	size_t len = h_create_url_frame(req, sizeof(req), 7100, H_HOME "/anon",
					"https://anon");
	h_reply_t r;
	h_reply_init(&r);
	h_udp_call(node, req, len, &r);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	h_reply_free(&r);
	assert_exists(H_HOME "/anon", false);
}

static void encrypted_key_needs_its_passphrase(void **state)
{
	(void)state;
	FILE *f = fopen(enc_key, "r");
	assert_non_null(f);
	char head[64] = {0};
	assert_non_null(fgets(head, sizeof(head), f));
	fclose(f);
	assert_string_equal(head, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n");
	h_run_t r;
	h_idctl(&r, "-s", addr, "--auth", "0.NA/" H_HOME ":301", "--key",
		enc_key, "--passphrase-file", pass_file, "create",
		H_HOME "/by-enc", "1:URL=https://enc", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_exists(H_HOME "/by-enc", true);
	char wrong[300];
	snprintf(wrong, sizeof(wrong), "%s/wrongpass", dir);
	write_file(wrong, "not it\n", 0600);
	h_idctl(&r, "-s", addr, "--auth", "0.NA/" H_HOME ":301", "--key",
		enc_key, "--passphrase-file", wrong, "create",
		H_HOME "/by-enc-x", "1:URL=https://enc", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "wrong passphrase"));
	h_run_free(&r);
	assert_exists(H_HOME "/by-enc-x", false);
}

static void key_files_are_0600(void **state)
{
	(void)state;
	const char *keys[] = {root_key, sm2_key, noadd_key, enc_key};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char pub[320];
		snprintf(pub, sizeof(pub), "%s.pub", keys[i]);
		assert_int_equal(file_mode(keys[i]), 0600);
		assert_int_equal(file_mode(pub), 0600);
	}
	/* keygen never overwrites */
	h_run_t r;
	h_idctl(&r, "keygen", "--out", root_key, NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
}

/* ---- sessions ---- */

typedef struct {
	EVP_PKEY *key;
	const char *admin;
	uint32_t index;
	int answered; /* challenges answered */
} signer_t;

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

static int sign_answer(void *vctx, const char *want, idn_bytes_t nonce,
		       idn_bytes_t digest, idn_wr_t *w)
{
	signer_t *x = vctx;
	uint8_t sig[1024], sb[1100];
	size_t sl;
	idn_bytes_t parts[2] = {nonce, digest};
	const char *hash = want ? want : idn_sig_hash_for(x->key);
	int err = idn_sig_sign(x->key, hash, parts, 2, sig, sizeof(sig), &sl);
	if (err)
		return err;
	idn_wr_t sw;
	idn_wr_init(&sw, sb, sizeof(sb));
	idn_sig_encode(&sw, idn_bytes_str(hash), idn_bytes(sig, sl));
	idn_challenge_answer_t ans = {idn_bytes_str("HS_PUBKEY"),
				      idn_bytes_str(x->admin), x->index,
				      idn_bytes(sb, sw.len)};
	idn_challenge_answer_encode(w, &ans);
	x->answered++;
	return w->err;
}

/* Sets a session up with where (TCP) for signer x. */
static int open_session(const char *where, signer_t *x, idn_session_t **s,
			uint32_t *rc)
{
	idn_session_opts_t o = {
		where,	  IDN_NET_TCP, 3000, 0, idn_bytes_str(x->admin),
		x->index, sign_answer, x};
	return idn_session_open(&o, s, rc);
}

typedef struct {
	uint32_t rc;
	uint32_t session;
} got_t;

static int on_got(void *vctx, const idn_env_t *env, const uint8_t *msg,
		  size_t len)
{
	got_t *g = vctx;
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(msg, len, &m), 0);
	g->rc = m.hdr.rc;
	g->session = env->session_id;
	return 1;
}

/* An op message (no envelope) of a create of id, or of op with an empty
 * body. */
static size_t op_msg(uint8_t *buf, size_t cap, uint32_t op, const char *id)
{
	uint8_t body[512];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	if (op == IDN_OC_CREATE) {
		idn_value_t v = {1,
				 0,
				 0,
				 86400,
				 IDN_PERM_DEFAULT,
				 idn_bytes_str("URL"),
				 idn_bytes_str("https://s"),
				 0,
				 NULL};
		idn_values_body_t b = {idn_bytes_str(id), 1, &v};
		idn_values_body_encode(&w, &b);
	} else if (op == IDN_OC_ADD_VALUE) {
		idn_value_t v = {7,
				 0,
				 0,
				 86400,
				 IDN_PERM_DEFAULT,
				 idn_bytes_str("EMAIL"),
				 idn_bytes_str("s@x"),
				 0,
				 NULL};
		idn_values_body_t b = {idn_bytes_str(id), 1, &v};
		idn_values_body_encode(&w, &b);
	}
	idn_hdr_t h = {0};
	h.op = op;
	h.serial = 0xffff;
	h.expiry = 0xffffffffu;
	idn_wr_t m;
	idn_wr_init(&m, buf, cap);
	idn_msg_mark_t mk = idn_msg_start(&m, NULL, &h);
	idn_wr_raw(&m, body, w.len);
	idn_msg_finish(&m, mk, NULL);
	assert_int_equal(m.err, 0);
	return m.len;
}

static uint32_t in_session(idn_session_t *s, uint32_t op, const char *id)
{
	uint8_t msg[1024];
	size_t len = op_msg(msg, sizeof(msg), op, id);
	got_t g = {0, 0};
	assert_int_equal(idn_session_call(s, msg, len, on_got, &g), 0);
	return g.rc;
}

static void session_many_creates_one_challenge(void **state)
{
	(void)state;
	signer_t x = {load_key(root_key), "0.NA/" H_HOME, 300, 0};
	idn_session_t *s;
	uint32_t rc;
	assert_int_equal(open_session(addr, &x, &s, &rc), 0);
	assert_int_not_equal(idn_session_id(s), 0);
	for (int i = 0; i < 25; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/sess-%d", i);
		assert_int_equal(in_session(s, IDN_OC_CREATE, id),
				 IDN_RC_SUCCESS);
	}
	assert_int_equal(x.answered, 1);
	assert_exists(H_HOME "/sess-0", true);
	assert_exists(H_HOME "/sess-24", true);
	/* the session's id without its MAC means nothing, on this
	 * connection or another */
	idn_client_t *other;
	assert_int_equal(idn_client_open(IDN_NET_TCP, addr, 3000, &other), 0);
	idn_client_set_session(other, idn_session_id(s));
	uint8_t msg[1024];
	size_t len =
		op_msg(msg, sizeof(msg), IDN_OC_CREATE, H_HOME "/sess-hijack");
	got_t g = {0, 0};
	assert_int_equal(idn_client_call(other, msg, len, on_got, &g), 0);
	assert_int_equal(g.rc, 500);
	idn_client_close(other);
	assert_exists(H_HOME "/sess-hijack", false);
	/* 401 ends it: the next request in it is refused */
	assert_int_equal(in_session(s, IDN_OC_SESSION_TERMINATE, NULL),
			 IDN_RC_SUCCESS);
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/sess-late"),
			 500);
	assert_exists(H_HOME "/sess-late", false);
	idn_session_close(s);
	/* a session's admin keeps only its rights: noadd may not add */
	EVP_PKEY_free(x.key);
	signer_t y = {load_key(noadd_key), H_HOME "/noadd", 300, 0};
	assert_int_equal(open_session(addr, &y, &s, &rc), 0);
	assert_int_equal(in_session(s, IDN_OC_ADD_VALUE, H_HOME "/sess-0"),
			 IDN_RC_INSUFFICIENT_PERMS);
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/sess-noadd"),
			 IDN_RC_SUCCESS);
	assert_int_equal(idn_session_close(s), 0);
	EVP_PKEY_free(y.key);
	/* a wrong key: the session opens, its first request is refused and
	 * the session stays unbound */
	signer_t z = {load_key(noadd_key), "0.NA/" H_HOME, 300, 0};
	assert_int_equal(open_session(addr, &z, &s, &rc), 0);
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/sess-wrong"),
			 IDN_RC_AUTH_FAILED);
	assert_int_equal(z.answered, 1);
	assert_exists(H_HOME "/sess-wrong", false);
	idn_session_close(s);
	EVP_PKEY_free(z.key);
}

/* A request of op with body in session sid, MACed with key (counter
 * ctr), as a frame (request id rid) into out. */
static size_t mac_frame(uint8_t *out, size_t cap, uint32_t op,
			const uint8_t *body, size_t blen, uint32_t sid,
			idn_bytes_t key, uint32_t ctr, uint32_t rid)
{
	uint8_t plain[2048];
	idn_wr_t w;
	idn_wr_init(&w, plain, sizeof(plain));
	idn_msg_request(&w, op, 0, 3600, body, blen);
	assert_int_equal(w.err, 0);
	idn_msg_t m;
	assert_int_equal(idn_msg_decode(plain, w.len, &m), 0);
	idn_cred_t cred;
	uint8_t cb[64];
	assert_int_equal(idn_skey_mac_cred(key, IDN_PROTO_MAJOR,
					   IDN_PROTO_MINOR, m.signed_part, ctr,
					   &cred, cb),
			 0);
	idn_env_t env = {0};
	env.major = IDN_PROTO_MAJOR;
	env.minor = IDN_PROTO_MINOR;
	env.session_id = sid;
	env.request_id = rid;
	idn_wr_init(&w, out, cap);
	idn_msg_mark_t mk = idn_msg_start(&w, &env, &m.hdr);
	idn_wr_raw(&w, m.body.p, m.body.len);
	idn_msg_finish(&w, mk, &cred);
	assert_int_equal(w.err, 0);
	return w.len;
}

/* The body of a create of id with one URL (values_body of op_msg). */
static size_t url_body(uint8_t *out, size_t cap, const char *id)
{
	idn_value_t v = {1,
			 0,
			 0,
			 86400,
			 IDN_PERM_DEFAULT,
			 idn_bytes_str("URL"),
			 idn_bytes_str("https://s"),
			 0,
			 NULL};
	idn_values_body_t b = {idn_bytes_str(id), 1, &v};
	idn_wr_t w;
	idn_wr_init(&w, out, cap);
	idn_values_body_encode(&w, &b);
	assert_int_equal(w.err, 0);
	return w.len;
}

/* A session is its id and key, not a connection: set up over UDP, its
 * first create challenged on one TCP connection and answered on a second,
 * later requests over UDP and a third connection without a challenge; the
 * session id from another network (127.1.0.1: another /24) is refused;
 * idctl's library session over UDP works the same. */
static void session_across_transports(void **state)
{
	(void)state;
	/* the setup, over UDP */
	idn_dh_t *dh;
	uint8_t pub[1024], body[2048], frame[4096];
	assert_int_equal(idn_dh_new(idn_bytes(NULL, 0), &dh), 0);
	idn_wr_t w;
	idn_wr_init(&w, pub, sizeof(pub));
	idn_dh_pub_encode(dh, &w);
	idn_session_req_t sr = {IDN_KX_DH,
				0,
				idn_bytes_str("0.NA/" H_HOME),
				300,
				idn_bytes(pub, w.len),
				idn_bytes("\0", 2)};
	idn_wr_init(&w, body, sizeof(body));
	idn_session_req_encode(&w, &sr);
	h_req_t q = h_req(IDN_OC_SESSION_SETUP, 8100);
	q.flags = IDN_OF_RETURN_DIGEST;
	size_t len = h_frame(frame, sizeof(frame), &q, body, w.len);
	h_reply_t r;
	h_reply_init(&r);
	h_udp_call(node, frame, len, &r);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	uint32_t sid = r.env.session_id;
	assert_int_not_equal(sid, 0);
	idn_session_resp_t resp;
	assert_int_equal(idn_session_resp_decode(r.msg.rest, &resp), 0);
	uint8_t kb[IDN_SKEY_MAX];
	size_t kl;
	assert_int_equal(
		idn_dh_derive(dh, idn_bytes(resp.key.p + 4, resp.key.len - 4),
			      (int)idn_get_u32(resp.key.p), kb, &kl),
		0);
	idn_dh_free(dh);
	h_reply_free(&r);
	idn_bytes_t key = idn_bytes(kb, kl);
	/* the first create, on TCP connection 1: challenged in the session */
	size_t bl = url_body(body, sizeof(body), H_HOME "/across-1");
	len = mac_frame(frame, sizeof(frame), IDN_OC_CREATE, body, bl, sid, key,
			1, 8101);
	h_reply_init(&r);
	h_tcp_call(node, frame, len, &r);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(r.env.session_id, sid);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(r.msg.rest, &nonce), 0);
	signer_t x = {load_key(root_key), "0.NA/" H_HOME, 300, 0};
	uint8_t ab[2048];
	idn_wr_init(&w, ab, sizeof(ab));
	assert_int_equal(sign_answer(&x, NULL, nonce, r.msg.digest, &w), 0);
	EVP_PKEY_free(x.key);
	h_reply_free(&r);
	/* answered on TCP connection 2: the create runs, in the session */
	h_req_t qa = h_req(IDN_OC_CHALLENGE_ANSWER, 8102);
	qa.session_id = sid;
	len = h_frame(frame, sizeof(frame), &qa, ab, w.len);
	h_reply_init(&r);
	h_tcp_call(node, frame, len, &r);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(r.msg.hdr.op, IDN_OC_CREATE);
	assert_int_equal(r.env.session_id, sid);
	h_reply_free(&r);
	assert_exists(H_HOME "/across-1", true);
	/* over UDP, then on TCP connection 3: no challenge */
	for (uint32_t i = 2; i <= 3; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/across-%u", i);
		bl = url_body(body, sizeof(body), id);
		len = mac_frame(frame, sizeof(frame), IDN_OC_CREATE, body, bl,
				sid, key, i, 8100 + 10 * i);
		h_reply_init(&r);
		if (i == 2)
			h_udp_call(node, frame, len, &r);
		else
			h_tcp_call(node, frame, len, &r);
		assert_int_equal(h_reply_decode(&r), 0);
		assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
		h_reply_free(&r);
		assert_exists(id, true);
	}
	/* the same id and key from another network: refused */
	bl = url_body(body, sizeof(body), H_HOME "/across-far");
	len = mac_frame(frame, sizeof(frame), IDN_OC_CREATE, body, bl, sid, key,
			9, 8199);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in src = {0}, dst = {0};
	src.sin_family = dst.sin_family = AF_INET;
	inet_pton(AF_INET, "127.1.0.1", &src.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons(node->port);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
	h_udp_send_frame(fd, frame, len);
	h_reply_init(&r);
	assert_int_equal(h_udp_recv(fd, 8199, &r, 3000), 0);
	close(fd);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, 500);
	assert_string_equal(h_error_text(&r),
			    "the session belongs to another network");
	h_reply_free(&r);
	assert_exists(H_HOME "/across-far", false);
	/* a session set up for one admin: another admin's answer to its
	 * challenge is refused, and the request does not run */
	signer_t other = {load_key(noadd_key), H_HOME "/noadd", 300, 0};
	idn_session_opts_t oo = {
		addr, IDN_NET_TCP, 3000,  0, idn_bytes_str("0.NA/" H_HOME),
		300,  sign_answer, &other};
	idn_session_t *so;
	uint32_t orc;
	assert_int_equal(idn_session_open(&oo, &so, &orc), 0);
	assert_int_equal(in_session(so, IDN_OC_CREATE, H_HOME "/across-other"),
			 IDN_RC_AUTH_FAILED);
	assert_int_equal(other.answered, 1);
	idn_session_close(so);
	EVP_PKEY_free(other.key);
	assert_exists(H_HOME "/across-other", false);
	/* the library's session over UDP */
	signer_t y = {load_key(root_key), "0.NA/" H_HOME, 300, 0};
	idn_session_opts_t o = {
		addr,	 IDN_NET_UDP, 3000, 0, idn_bytes_str(y.admin),
		y.index, sign_answer, &y};
	idn_session_t *s;
	uint32_t rc;
	assert_int_equal(idn_session_open(&o, &s, &rc), 0);
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/across-udp"),
			 IDN_RC_SUCCESS);
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/across-udp2"),
			 IDN_RC_SUCCESS);
	assert_int_equal(y.answered, 1);
	assert_int_equal(idn_session_close(s), 0);
	EVP_PKEY_free(y.key);
	assert_exists(H_HOME "/across-udp", true);
	assert_exists(H_HOME "/across-udp2", true);
}

static void session_expires(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--session-lifetime", "1", NULL);
	node_start(n);
	char v[4096];
	FILE *f = fopen(root_key, "r");
	assert_non_null(f);
	fclose(f);
	char pub[320];
	snprintf(pub, sizeof(pub), "%s.pub", root_key);
	f = fopen(pub, "rb");
	assert_non_null(f);
	uint8_t pk[2048];
	size_t pl = fread(pk, 1, sizeof(pk), f);
	fclose(f);
	int off = snprintf(v, sizeof(v), "300:HS_PUBKEY=hex:");
	for (size_t i = 0; i < pl; i++)
		off += snprintf(v + off, sizeof(v) - (size_t)off, "%02x",
				pk[i]);
	h_ctl_ok(n, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", v, NULL);
	char where[64];
	snprintf(where, sizeof(where), "127.0.0.1:%u", n->port);
	signer_t x = {load_key(root_key), "0.NA/" H_HOME, 300, 0};
	idn_session_t *s;
	uint32_t rc;
	assert_int_equal(open_session(where, &x, &s, &rc), 0);
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/early"),
			 IDN_RC_SUCCESS);
	sleep(2); /* past the one-second lifetime */
	assert_int_equal(in_session(s, IDN_OC_CREATE, H_HOME "/late"), 500);
	h_run_t r;
	h_ctl(&r, n, "resolve", H_HOME "/late", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	h_ctl(&r, n, "resolve", H_HOME "/early", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	idn_session_close(s);
	EVP_PKEY_free(x.key);
	node_free(n);
}

static void idctl_batch_uses_one_session(void **state)
{
	(void)state;
	char path[320];
	snprintf(path, sizeof(path), "%s/batch.txt", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# registrations\n");
	for (int i = 0; i < 12; i++)
		fprintf(f,
			"create " H_HOME "/batch-%d 1:URL=https://b/%d "
			"\"2:DESC=item %d of twelve\" "
			"100:HS_ADMIN=0.NA/" H_HOME "@300\n",
			i, i, i);
	fprintf(f, "\nadd " H_HOME "/batch-0 3:EMAIL=b@example.com\n");
	fprintf(f, "create " H_HOME "/batch-0 1:URL=https://dup\n");
	fprintf(f, "delete " H_HOME "/batch-11\n");
	fclose(f);
	char *before = node_log(node);
	int opened0 = 0;
	for (char *p = before; (p = strstr(p, "session ")) != NULL; p++)
		opened0 +=
			strstr(p, " opened for 0.NA/" H_HOME ":300") == p + 16;
	free(before);
	h_run_t r;
	h_idctl(&r, "-s", addr, "--auth", ROOT_ADMIN, "--key", root_key,
		"batch", path, NULL);
	h_assert_status(&r, 1); /* the duplicate create fails */
	assert_non_null(strstr(r.out, "create " H_HOME "/batch-11\n"));
	assert_non_null(strstr(r.out, "delete " H_HOME "/batch-11\n"));
	assert_non_null(strstr(r.out, "batch: 15 requests in session "));
	assert_non_null(strstr(r.out, ", 1 failed\n"));
	assert_non_null(strstr(r.err, ":16: create " H_HOME "/batch-0: "));
	assert_non_null(strstr(r.err, "(rc 101)"));
	h_run_free(&r);
	json_t *j = record(H_HOME "/batch-5");
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 2), "data"), "value")),
		"item 5 of twelve");
	json_decref(j);
	j = record(H_HOME "/batch-0");
	assert_non_null(j);
	assert_non_null(h_json_value(j, 3));
	json_decref(j);
	assert_exists(H_HOME "/batch-11", false);
	/* one session, opened once */
	char *after = node_log(node);
	int opened = 0;
	for (char *p = after; (p = strstr(p, "session ")) != NULL; p++)
		opened +=
			strstr(p, " opened for 0.NA/" H_HOME ":300") == p + 16;
	free(after);
	assert_int_equal(opened - opened0, 1);
}

/* ---- per-value read permissions ---- */

/* idctl -s ADDR [--auth ADMIN CREDOPT CRED] [--public] --json resolve
 * H_HOME/private; the JSON reply. */
static json_t *read_private(const char *admin, const char *key,
			    bool public_only)
{
	const char *args[16];
	int n = 0;
	args[n++] = "-s";
	args[n++] = addr;
	if (admin) {
		args[n++] = "--auth";
		args[n++] = admin;
		args[n++] = "--key";
		args[n++] = key;
	}
	if (public_only)
		args[n++] = "--public";
	args[n++] = "--json";
	args[n++] = "resolve";
	args[n++] = H_HOME "/private";
	args[n] = NULL;
	h_run_t r;
	h_idctl(&r, args[0], args[1], args[2], args[3], args[4], args[5],
		args[6], args[7], args[8], args[9], args[10], NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	h_run_free(&r);
	assert_non_null(j);
	return j;
}

static void restricted_values_only_for_listed_readers(void **state)
{
	(void)state;
	/* anonymous: the public values only */
	json_t *j = read_private(NULL, NULL, false);
	h_json_assert_indexes(j, (long[]){1, 100, 101, 102}, 4);
	json_decref(j);
	/* the listed reader sees the EMAIL (not the write-only NOTE) */
	j = read_private(H_HOME "/reader:300", reader_key, false);
	h_json_assert_indexes(j, (long[]){1, 2, 100, 101, 102}, 5);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 2), "data"), "value")),
		"restricted@example.com");
	json_decref(j);
	/* ... unless asking for public values only */
	j = read_private(H_HOME "/reader:300", reader_key, true);
	h_json_assert_indexes(j, (long[]){1, 100, 101, 102}, 4);
	json_decref(j);
	/* a member of the readers group */
	j = read_private(SM2_ADMIN, sm2_key, false);
	h_json_assert_indexes(j, (long[]){1, 2, 100, 101, 102}, 5);
	json_decref(j);
	/* an authenticated admin the record does not list as a reader,
	 * though it administers the prefix */
	j = read_private(NOADD_ADMIN, noadd_key, false);
	h_json_assert_indexes(j, (long[]){1, 100, 101, 102}, 4);
	json_decref(j);
	/* admin rights other than read-value do not make a reader */
	j = read_private(ROOT_ADMIN, root_key, false);
	h_json_assert_indexes(j, (long[]){1, 100, 101, 102}, 4);
	json_decref(j);
	/* the wrong key for the reader: no session, nothing shown */
	h_run_t r;
	h_idctl(&r, "-s", addr, "--auth", H_HOME "/reader:300", "--key",
		noadd_key, "resolve", H_HOME "/private", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 403)"));
	assert_null(strstr(r.out, "restricted@"));
	h_run_free(&r);
}

/* A resolution message for H_HOME/private with op flags. */
static size_t private_req(uint8_t *buf, size_t cap, uint32_t flags,
			  uint32_t reqid)
{
	h_req_t q = h_req(IDN_OC_RESOLUTION, reqid);
	q.flags = flags;
	const char *id = H_HOME "/private";
	return h_resolve_frame(buf, cap, &q, id, strlen(id), NULL, 0, NULL, 0);
}

/* Does a resolution reply hold value index idx? */
static bool reply_has(const h_reply_t *r, uint32_t idx, idn_arena_t *a)
{
	idn_values_body_t b;
	assert_int_equal(idn_values_body_decode(r->msg.rest, a, &b), 0);
	for (uint32_t i = 0; i < b.nvalues; i++)
		if (b.values[i].index == idx)
			return true;
	return false;
}

/* With --read-challenge, a request for restricted values is challenged as
 * the reference server does; the answer decides what is shown. */
static void read_challenge_like_the_reference(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--read-challenge", NULL);
	node_start(n);
	char v[4096];
	snprintf(v, sizeof(v), "300:HS_PUBKEY=hex:%s", reader_hex);
	h_ctl_ok(n, "create", H_HOME "/reader", v, NULL);
	h_ctl_ok(n, "create", H_HOME "/private", "1:URL=https://public",
		 "2,perms=c:EMAIL=restricted@example.com",
		 "100:HS_ADMIN=" H_HOME "/reader@300#400", NULL);
	h_ctl_ok(n, "create", H_HOME "/open", "1:URL=https://open", NULL);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t req[1024];
	h_reply_t r;
	/* public-only: answered at once, without the EMAIL */
	size_t len = private_req(req, sizeof(req), IDN_OF_PUBLIC_ONLY, 81);
	h_reply_init(&r);
	h_udp_call(n, req, len, &r);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_true(reply_has(&r, 1, &a));
	assert_false(reply_has(&r, 2, &a));
	h_reply_free(&r);
	/* a record with nothing restricted is answered at once */
	h_req_t q = h_req(IDN_OC_RESOLUTION, 82);
	len = h_resolve_frame(req, sizeof(req), &q, H_HOME "/open",
			      strlen(H_HOME "/open"), NULL, 0, NULL, 0);
	h_reply_init(&r);
	h_udp_call(n, req, len, &r);
	assert_int_equal(h_reply_decode(&r), 0);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	h_reply_free(&r);
	/* not public-only: a challenge, answered by the reader */
	for (int who = 0; who < 2; who++) {
		len = private_req(req, sizeof(req), 0, 83);
		h_reply_t ch;
		h_reply_init(&ch);
		h_tcp_call(n, req, len, &ch);
		assert_int_equal(h_reply_decode(&ch), 0);
		assert_int_equal(ch.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
		idn_bytes_t nonce;
		assert_int_equal(idn_challenge_decode(ch.msg.rest, &nonce), 0);
		signer_t x = {load_key(who == 0 ? reader_key : root_key),
			      H_HOME "/reader", 300, 0};
		uint8_t ab[2048];
		idn_wr_t w;
		idn_wr_init(&w, ab, sizeof(ab));
		assert_int_equal(
			sign_answer(&x, NULL, nonce, ch.msg.digest, &w), 0);
		EVP_PKEY_free(x.key);
		h_req_t qa = h_req(IDN_OC_CHALLENGE_ANSWER, 84);
		qa.session_id = ch.env.session_id;
		len = h_frame(req, sizeof(req), &qa, ab, w.len);
		h_reply_init(&r);
		h_tcp_call(n, req, len, &r);
		assert_int_equal(h_reply_decode(&r), 0);
		if (who == 0) {
			/* the reader: the EMAIL too */
			assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
			assert_int_equal(r.msg.hdr.op, IDN_OC_RESOLUTION);
			assert_true(reply_has(&r, 1, &a));
			assert_true(reply_has(&r, 2, &a));
		} else {
			/* a wrong key for the reader: refused */
			assert_int_equal(r.msg.hdr.rc, IDN_RC_AUTH_FAILED);
		}
		h_reply_free(&r);
		h_reply_free(&ch);
	}
	/* idctl resolve --auth works here too */
	h_run_t rr;
	char where[64];
	snprintf(where, sizeof(where), "127.0.0.1:%u", n->port);
	h_idctl(&rr, "-s", where, "--auth", H_HOME "/reader:300", "--key",
		reader_key, "resolve", H_HOME "/private", NULL);
	h_assert_status(&rr, 0);
	assert_non_null(strstr(rr.out, "restricted@example.com"));
	h_run_free(&rr);
	h_idctl(&rr, "-s", where, "resolve", H_HOME "/private", NULL);
	h_assert_status(&rr, 0);
	assert_null(strstr(rr.out, "restricted@example.com"));
	assert_non_null(strstr(rr.out, "https://public"));
	h_run_free(&rr);
	idn_arena_free(&a);
	node_free(n);
}

/* ---- idctl admin grant|revoke ---- */

static void grant_and_revoke(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/granted", "1:URL=https://g",
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", NULL);
	h_run_t r;
	/* noadd may not add values to it yet */
	net(&r, NOADD_ADMIN, "--key", noadd_key, "add", H_HOME "/granted",
	    "2:EMAIL=g@example.com");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 401)"));
	h_run_free(&r);
	/* the prefix admin grants it add_value over the network */
	h_idctl(&r, "-s", addr, "--auth", ROOT_ADMIN, "--key", root_key,
		"admin", "grant", H_HOME "/granted", "--admin", NOADD_ADMIN,
		"--perms", "add_value,read_value", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "granted " NOADD_ADMIN " on " H_HOME
				   "/granted: HS_ADMIN at index 101, "
				   "permissions 440\n");
	h_run_free(&r);
	net(&r, NOADD_ADMIN, "--key", noadd_key, "add", H_HOME "/granted",
	    "2:EMAIL=g@example.com");
	h_assert_status(&r, 0);
	h_run_free(&r);
	/* widening keeps the index */
	h_idctl(&r, "-s", addr, "--auth", ROOT_ADMIN, "--key", root_key,
		"admin", "grant", H_HOME "/granted", "--admin", NOADD_ADMIN,
		"--perms", "modify_value", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "index 101, permissions 450\n"));
	h_run_free(&r);
	/* narrowing over the control socket */
	h_ctl(&r, node, "admin", "revoke", H_HOME "/granted", "--admin",
	      NOADD_ADMIN, "--perms", "add_value", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "index 101, permissions 410\n"));
	h_run_free(&r);
	net(&r, NOADD_ADMIN, "--key", noadd_key, "add", H_HOME "/granted",
	    "3:EMAIL=h@example.com");
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 401)"));
	h_run_free(&r);
	/* an admin without remove_admin may not revoke */
	h_idctl(&r, "-s", addr, "--auth", NOADD_ADMIN, "--key", noadd_key,
		"admin", "revoke", H_HOME "/granted", "--admin", NOADD_ADMIN,
		NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 401)"));
	h_run_free(&r);
	/* revoking everything removes the value */
	h_idctl(&r, "-s", addr, "--auth", ROOT_ADMIN, "--key", root_key,
		"admin", "revoke", H_HOME "/granted", "--admin", NOADD_ADMIN,
		NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "removed HS_ADMIN at index 101\n"));
	h_run_free(&r);
	json_t *j = record(H_HOME "/granted");
	assert_non_null(j);
	h_json_assert_indexes(j, (long[]){1, 2, 100}, 3);
	json_decref(j);
	/* bad input */
	h_ctl(&r, node, "admin", "grant", H_HOME "/granted", "--admin",
	      NOADD_ADMIN, "--perms", "add_value,fly", NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "unknown permission 'fly'"));
	h_run_free(&r);
	h_ctl(&r, node, "admin", "revoke", H_HOME "/granted", "--admin",
	      NOADD_ADMIN, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "no HS_ADMIN value names"));
	h_run_free(&r);
	/* ADMIN_ID:INDEX that is not: no index, an empty id, a non-number,
	 * an index over 32 bits; --auth of a batch likewise */
	const char *bad_refs[] = {"0.NA/" H_HOME, ":300", "0.NA/" H_HOME ":",
				  "0.NA/" H_HOME ":3x",
				  "0.NA/" H_HOME ":4294967296"};
	for (size_t i = 0; i < sizeof(bad_refs) / sizeof(*bad_refs); i++) {
		h_ctl(&r, node, "admin", "grant", H_HOME "/granted", "--admin",
		      bad_refs[i], "--perms", "add_value", NULL);
		h_assert_status(&r, 2);
		assert_string_equal(r.err, "idctl: admin grant needs --admin "
					   "ADMIN_ID:INDEX\n");
		h_run_free(&r);
		h_idctl(&r, "-s", addr, "--auth", bad_refs[i], "--key",
			root_key, "batch", "/dev/null", NULL);
		h_assert_status(&r, 2);
		assert_string_equal(r.err,
				    "idctl: --auth wants ADMIN_ID:INDEX, "
				    "e.g. 0.NA/88.118.8:300\n");
		h_run_free(&r);
	}
	j = record(H_HOME "/granted");
	assert_non_null(j);
	h_json_assert_indexes(j, (long[]){1, 2, 100}, 3);
	json_decref(j);
}

/* An HS_SECKEY value stored with public read by mistake still never
 * reaches anonymous clients. */
static void secret_values_never_public(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/careless", "1:URL=https://c",
		 "300:HS_SECKEY=" SECRET "-2", NULL);
	h_run_t r;
	h_idctl(&r, "-s", addr, "--json", "resolve", H_HOME "/careless", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	h_json_assert_indexes(j, (long[]){1}, 1);
	json_decref(j);
	assert_null(strstr(r.out, SECRET));
	h_run_free(&r);
	/* the control socket still sees it */
	j = record(H_HOME "/careless");
	assert_non_null(j);
	h_json_assert_indexes(j, (long[]){1, 300}, 2);
	json_decref(j);
}

/* Runs last: everything above went through the node's log. */
static void secret_never_logged(void **state)
{
	(void)state;
	char *log = node_log(node);
	assert_non_null(log);
	/* the log is there and records the failed attempts above */
	assert_non_null(
		strstr(log, "authentication failed for " H_HOME "/sec:300"));
	assert_null(strstr(log, SECRET));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sm2_admin_creates),
		cmocka_unit_test(secret_admin_creates),
		cmocka_unit_test(secret_answers_of_each_kind),
		cmocka_unit_test(missing_add_value_bit_is_401),
		cmocka_unit_test(unauthenticated_create_leaves_no_trace),
		cmocka_unit_test(encrypted_key_needs_its_passphrase),
		cmocka_unit_test(key_files_are_0600),
		cmocka_unit_test(session_many_creates_one_challenge),
		cmocka_unit_test(session_across_transports),
		cmocka_unit_test(session_expires),
		cmocka_unit_test(idctl_batch_uses_one_session),
		cmocka_unit_test(restricted_values_only_for_listed_readers),
		cmocka_unit_test(read_challenge_like_the_reference),
		cmocka_unit_test(grant_and_revoke),
		cmocka_unit_test(secret_values_never_public),
		cmocka_unit_test(secret_never_logged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
