/* Kinds of network admins and what they may do: SM2 keys (SM3withSM2),
 * secret keys (HS_SECKEY, HMAC-SHA256 and the PBKDF2 answer of protocol
 * 2.7+), passphrase-encrypted keys, and the files idctl writes (0600). The
 * node runs at log level debug and its log never shows a secret. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "harness.h"
#include "msg.h"
#include "seckey.h"

#define SECRET "correct-horse-7f3a9c-battery"
#define SM2_ADMIN H_HOME "/sm2:300"
#define SEC_ADMIN H_HOME "/sec:300"
#define ROOT_ADMIN "0.NA/" H_HOME ":300"
#define NOADD_ADMIN H_HOME "/noadd:300"

static node_t *node;
static char dir[] = "/tmp/idn-aauth.XXXXXX";
static char root_key[300], sm2_key[300], noadd_key[300], secret_file[300],
	loose_secret[300], enc_key[300], pass_file[300];
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

/* idctl keygen --out path [more]; returns the HS_PUBKEY hex. */
static char *keygen(const char *path, const char *a1, const char *a2,
		    const char *a3, const char *a4)
{
	h_run_t r;
	h_idctl(&r, "keygen", "--out", path, a1, a2, a3, a4, NULL);
	h_assert_status(&r, 0);
	const char *hex = strstr(r.out, "hex:");
	assert_non_null(hex);
	char *v = strdup(hex + 4);
	v[strcspn(v, "\n")] = 0;
	h_run_free(&r);
	return v;
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
	write_file(secret_file, SECRET "\n", 0600);
	write_file(loose_secret, SECRET "\n", 0644);
	write_file(pass_file, "open sesame\n", 0600);
	node = node_new("--home", H_HOME, "--log-level", "debug", NULL);
	node_start(node);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", node->port);
	char *root = keygen(root_key, NULL, NULL, NULL, NULL);
	char *sm2 = keygen(sm2_key, "--type", "sm2", NULL, NULL);
	char *noadd = keygen(noadd_key, NULL, NULL, NULL, NULL);
	char *enc = keygen(enc_key, "--passphrase-file", pass_file, NULL, NULL);
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
	h_ctl_ok(node, "create", H_HOME "/sec",
		 "300,perms=c:HS_SECKEY=" SECRET, NULL);
	snprintf(v1, sizeof(v1), "300,perms=e:HS_PUBKEY=hex:%s", noadd);
	h_ctl_ok(node, "create", H_HOME "/noadd", v1, NULL);
	free(root);
	free(sm2);
	free(noadd);
	free(enc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
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
	uint8_t body[512], req[2048], ab[2048], sb[512];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_value_t v = {1, 0, 0, 86400, IDN_PERM_DEFAULT, idn_bytes_str("URL"),
			 idn_bytes_str("https://raw"), 0, NULL};
	idn_values_body_t b = {idn_bytes_str(id), 1, &v};
	idn_values_body_encode(&w, &b);
	h_req_t q = h_req(IDN_OC_CREATE, 7001);
	size_t len = h_frame(req, sizeof(req), &q, body, w.len);
	h_reply_t ch;
	h_reply_init(&ch);
	h_tcp_call(node, req, len, &ch);
	assert_int_equal(h_reply_decode(&ch), 0);
	assert_int_equal(ch.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(ch.msg.rest, &nonce), 0);
	idn_wr_init(&w, sb, sizeof(sb));
	assert_int_equal(idn_seckey_answer(alg, idn_bytes_str(secret), nonce,
					   ch.msg.digest, &w), 0);
	idn_challenge_answer_t ans = {idn_bytes_str("HS_SECKEY"),
				      idn_bytes_str(H_HOME "/sec"), 300,
				      idn_bytes(sb, w.len)};
	idn_wr_init(&w, ab, sizeof(ab));
	idn_challenge_answer_encode(&w, &ans);
	h_req_t qa = h_req(IDN_OC_CHALLENGE_ANSWER, 7002);
	qa.session_id = ch.env.session_id;
	len = h_frame(req, sizeof(req), &qa, ab, w.len);
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
	assert_int_equal(raw_secret_create(H_HOME "/pbkdf2", IDN_MAC_PBKDF2_HMAC_SHA1,
					   SECRET), IDN_RC_SUCCESS);
	assert_exists(H_HOME "/pbkdf2", true);
	assert_int_equal(raw_secret_create(H_HOME "/hmac1", IDN_MAC_HMAC_SHA1,
					   SECRET), IDN_RC_SUCCESS);
	assert_exists(H_HOME "/hmac1", true);
	assert_int_equal(raw_secret_create(H_HOME "/pbkdf2-x",
					   IDN_MAC_PBKDF2_HMAC_SHA1, SECRET "x"),
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
	uint8_t body[512], req[1024];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_value_t v = {1, 0, 0, 86400, IDN_PERM_DEFAULT, idn_bytes_str("URL"),
			 idn_bytes_str("https://anon"), 0, NULL};
	idn_values_body_t b = {idn_bytes_str(H_HOME "/anon"), 1, &v};
	idn_values_body_encode(&w, &b);
	h_req_t q = h_req(IDN_OC_CREATE, 7100);
	size_t len = h_frame(req, sizeof(req), &q, body, w.len);
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

/* Runs last: everything above went through the node's log. */
static void secret_never_logged(void **state)
{
	(void)state;
	char *log = node_log(node);
	assert_non_null(log);
	/* the log is there and records the failed attempts above */
	assert_non_null(strstr(log, "authentication failed for " H_HOME "/sec:300"));
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
		cmocka_unit_test(secret_never_logged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
