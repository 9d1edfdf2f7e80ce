/* Authenticated administration over the network: the node answers an
 * administrative request with a challenge (rc 402: request digest and
 * nonce), idctl signs nonce || digest with the admin's RSA key, and the
 * node checks the key in HS_PUBKEY and the rights in HS_ADMIN (directly or
 * through an HS_VLIST group) before it runs the request once. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "harness.h"
#include "msg.h"

static node_t *node;
static char dir[] = "/tmp/idn-auth.XXXXXX";
static char adm_key[300], other_key[300], alice_key[300], reader_key[300];
static char addr[64];

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(adm_key, sizeof(adm_key), "%s/admin.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.pem", dir);
	snprintf(alice_key, sizeof(alice_key), "%s/alice.pem", dir);
	snprintf(reader_key, sizeof(reader_key), "%s/reader.pem", dir);
	node = node_new("--home", H_HOME, NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	char *adm = h_keygen(adm_key, NULL, NULL);
	char *alice = h_keygen(alice_key, NULL, NULL);
	char *reader = h_keygen(reader_key, NULL, NULL);
	free(h_keygen(other_key, NULL, NULL));
	char v[4096];
	/* the prefix's admins: the prefix handle's own key @300 with every
	 * right, a group @200 (alice) that may create, and a reader @301
	 * that may only list */
	snprintf(v, sizeof(v), "300,perms=e:HS_PUBKEY=hex:%s", adm);
	char r1[4096];
	snprintf(r1, sizeof(r1), "301,perms=e:HS_PUBKEY=hex:%s", reader);
	h_ctl_ok(node, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300",
		 "101:HS_ADMIN=0.NA/" H_HOME "@200#1",
		 "102:HS_ADMIN=0.NA/" H_HOME "@301#800", v, r1,
		 "200:HS_VLIST=hex:000000010000000e"
		 "38382e3131382e382f616c696365"
		 "0000012c",
		 NULL);
	snprintf(v, sizeof(v), "300,perms=e:HS_PUBKEY=hex:%s", alice);
	h_ctl_ok(node, "create", H_HOME "/alice", v, NULL);
	free(adm);
	free(alice);
	free(reader);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return h_rmtree(dir) != 0;
}

/* idctl -s ... --auth ADMIN --key KEY ARGS... */
static void net_admin(h_run_t *r, const char *admin, const char *key,
		      const char *a1, const char *a2, const char *a3,
		      const char *a4)
{
	h_idctl(r, "-s", addr, "--auth", admin, "--key", key, a1, a2, a3, a4,
		NULL);
}

static json_t *record(const char *id)
{
	h_run_t r;
	h_ctl(&r, node, "--json", "resolve", id, NULL);
	json_t *j = r.status == 0 ? h_json(&r) : NULL;
	h_run_free(&r);
	return j;
}

static void admin_key_creates_modifies_deletes(void **state)
{
	(void)state;
	const char *adm = "0.NA/" H_HOME ":300";
	h_run_t r;
	net_admin(&r, adm, adm_key, "create", H_HOME "/net-1",
		  "1:URL=https://net/1", "100:HS_ADMIN=0.NA/" H_HOME "@300");
	h_assert_status(&r, 0);
	assert_string_equal(r.out, "created " H_HOME "/net-1\n");
	h_run_free(&r);
	net_admin(&r, adm, adm_key, "add", H_HOME "/net-1", "2:EMAIL=a@b",
		  NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	net_admin(&r, adm, adm_key, "modify", H_HOME "/net-1",
		  "1:URL=https://net/1b", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	json_t *j = record(H_HOME "/net-1");
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(h_json_value(j, 1), "data"), "value")),
		"https://net/1b");
	assert_non_null(h_json_value(j, 2));
	json_decref(j);
	net_admin(&r, adm, adm_key, "remove", H_HOME "/net-1", "2", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	net_admin(&r, adm, adm_key, "delete", H_HOME "/net-1", NULL, NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_null(record(H_HOME "/net-1"));
}

static void wrong_key_or_index_refused(void **state)
{
	(void)state;
	h_run_t r;
	net_admin(&r, "0.NA/" H_HOME ":300", other_key, "create",
		  H_HOME "/evil", "1:URL=https://evil", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 403)"));
	h_run_free(&r);
	net_admin(&r, "0.NA/" H_HOME ":399", adm_key, "create", H_HOME "/evil",
		  "1:URL=https://evil", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 400)"));
	h_run_free(&r);
	net_admin(&r, H_HOME "/nobody:300", adm_key, "create", H_HOME "/evil",
		  "1:URL=https://evil", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 400)"));
	h_run_free(&r);
	assert_null(record(H_HOME "/evil"));
}

static void permissions_are_checked(void **state)
{
	(void)state;
	h_run_t r;
	/* the reader (HS_ADMIN perms 0x800, list only) may not create */
	net_admin(&r, "0.NA/" H_HOME ":301", reader_key, "create",
		  H_HOME "/by-reader", "1:URL=https://r", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 401)"));
	h_run_free(&r);
	assert_null(record(H_HOME "/by-reader"));
	/* but may list */
	net_admin(&r, "0.NA/" H_HOME ":301", reader_key, "list", H_HOME, NULL,
		  NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, H_HOME "/alice\n"));
	h_run_free(&r);
	/* alice may create through the group @200 (perms 0x1: add handle) */
	net_admin(&r, H_HOME "/alice:300", alice_key, "create",
		  H_HOME "/by-alice", "1:URL=https://alice", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	json_t *j = record(H_HOME "/by-alice");
	assert_non_null(j);
	json_decref(j);
	/* but not delete: the record has no HS_ADMIN granting her that */
	net_admin(&r, H_HOME "/alice:300", alice_key, "delete",
		  H_HOME "/by-alice", NULL, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "(rc 401)"));
	h_run_free(&r);
	j = record(H_HOME "/by-alice");
	assert_non_null(j);
	json_decref(j);
}

/* The raw exchange: a challenge carries SHA-1 of the request and a fresh
 * nonce; a signed answer runs the request once, and the same answer sent
 * again is refused (no replay). */
static void challenge_is_single_use(void **state)
{
	(void)state;
	uint8_t req[1024];
	idn_wr_t w;
	size_t len = h_create_url_frame(req, sizeof(req), 4242, H_HOME "/raw-1",
					"https://raw");
	h_reply_t ch;
	h_reply_init(&ch);
	h_tcp_call(node, req, len, &ch);
	assert_int_equal(h_reply_decode(&ch), 0);
	assert_int_equal(ch.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(ch.msg.hdr.op, IDN_OC_CREATE);
	assert_int_not_equal(ch.env.session_id, 0);
	uint8_t d[32];
	uint32_t dl;
	assert_int_equal(idn_digest(IDN_DIGEST_SHA1, req + IDN_ENV_LEN,
				    len - IDN_ENV_LEN - 4, d, &dl),
			 0);
	assert_int_equal(ch.msg.digest_alg, IDN_DIGEST_SHA1);
	assert_memory_equal(ch.msg.digest.p, d, 20);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(ch.msg.rest, &nonce), 0);
	assert_int_equal(nonce.len, 16);

	FILE *f = fopen(adm_key, "r");
	assert_non_null(f);
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	uint8_t sig[1024], sb[1100];
	size_t sl;
	idn_bytes_t parts[2] = {nonce, idn_bytes(d, 20)};
	assert_int_equal(
		idn_sig_sign(key, "SHA256", parts, 2, sig, sizeof(sig), &sl),
		0);
	EVP_PKEY_free(key);
	idn_wr_init(&w, sb, sizeof(sb));
	idn_sig_encode(&w, idn_bytes_str("SHA256"), idn_bytes(sig, sl));
	len = h_answer_frame(req, sizeof(req), 4243, ch.env.session_id,
			     "HS_PUBKEY", "0.NA/" H_HOME, 300,
			     idn_bytes(sb, w.len));
	h_reply_t done;
	h_reply_init(&done);
	h_tcp_call(node, req, len, &done);
	assert_int_equal(h_reply_decode(&done), 0);
	/* as the reference server: the original op, session 0, rc 1 */
	assert_int_equal(done.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(done.msg.hdr.op, IDN_OC_CREATE);
	assert_int_equal(done.env.session_id, 0);
	assert_int_equal(done.env.request_id, 4243);
	h_reply_t again;
	h_reply_init(&again);
	h_tcp_call(node, req, len, &again);
	assert_int_equal(h_reply_decode(&again), 0);
	assert_int_equal(again.msg.hdr.rc, IDN_RC_AUTH_TIMEOUT);
	h_reply_free(&ch);
	h_reply_free(&done);
	h_reply_free(&again);
	json_t *j = record(H_HOME "/raw-1");
	assert_non_null(j);
	json_decref(j);
}

/* A node with --server-key signs replies to certified requests; idctl
 * --verify checks them against the key the node publishes in its site. */
static void signed_replies_verify(void **state)
{
	(void)state;
	char key[300];
	snprintf(key, sizeof(key), "%s/server.pem", dir);
	free(h_keygen(key, NULL, NULL));
	node_t *s = node_new("--home", H_HOME, "--server-key", key, NULL);
	node_start(s);
	h_ctl_ok(s, "create", H_HOME "/signed", "1:URL=https://signed", NULL);
	h_run_t r;
	h_net(&r, s, "--verify", "resolve", H_HOME "/signed", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "https://signed"));
	assert_non_null(strstr(r.out, "signature verified"));
	h_run_free(&r);
	h_net(&r, s, "--tcp", "--verify", "resolve", H_HOME "/signed", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	/* a node without --server-key signs with the site key it made at
	 * first start in its data directory, readable by its owner only */
	h_net(&r, node, "--verify", "resolve", H_HOME "/alice", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "signature verified"));
	h_run_free(&r);
	char path[400];
	snprintf(path, sizeof(path), "%s/site-key.pem", node->data);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	node_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(admin_key_creates_modifies_deletes),
		cmocka_unit_test(wrong_key_or_index_refused),
		cmocka_unit_test(permissions_are_checked),
		cmocka_unit_test(challenge_is_single_use),
		cmocka_unit_test(signed_replies_verify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
