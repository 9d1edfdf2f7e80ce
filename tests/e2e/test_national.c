/* The national IDIS SDK's key login (op 2001) over real TCP connections
 * (docs/national.md): its captured frames (tests/vectors/idis/) sent to a
 * running idnode, the challenge answered in the SDK's layout with the
 * same throwaway keys (RSA, and SM2 in the national form), then its
 * create in the session, refused on another connection. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "harness.h"
#include "msg.h"

#define ADMIN "0.NA/" H_HOME

static node_t *node;

/* The hex file rel (under the source tree) decoded; caller frees. */
static uint8_t *hex_file(const char *rel, size_t *len)
{
	size_t n;
	uint8_t *t = h_read_file(h_src(rel), &n);
	assert_non_null(t);
	uint8_t *b = malloc(n / 2 + 1);
	assert_non_null(b);
	size_t k = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned v;
		if (sscanf((const char *)t + i, "%2x", &v) != 1)
			break;
		b[k++] = (uint8_t)v;
	}
	free(t);
	*len = k;
	return b;
}

static char *hex_text(const char *rel)
{
	size_t n;
	char *t = (char *)h_read_file(h_src(rel), &n);
	assert_non_null(t);
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' '))
		n--;
	t[n] = 0;
	return t;
}

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, NULL);
	node_start(node);
	char *rsa = hex_text("tests/vectors/keys/idis-admin-rsa.pub.hex");
	char *sm2 = hex_text("tests/vectors/keys/idis-admin-sm2-sdk.pub.hex");
	char v300[2048], v301[2048];
	snprintf(v300, sizeof(v300), "300:HS_PUBKEY=hex:%s", rsa);
	snprintf(v301, sizeof(v301), "301:HS_PUBKEY=hex:%s", sm2);
	h_ctl_ok(node, "create", ADMIN, v300, v301,
		 "100:HS_ADMIN=" ADMIN "@300", "101:HS_ADMIN=" ADMIN "@301",
		 NULL);
	free(rsa);
	free(sm2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(node);
	node_free(node);
	return 0;
}

/* Sends the vector frame name on fd and reads its reply. */
static void send_vector(int fd, const char *name, h_reply_t *r)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "tests/vectors/idis/%s", name);
	size_t n;
	uint8_t *f = hex_file(rel, &n);
	h_stream_call(fd, f, n, r);
	free(f);
}

/* The SDK's answer to challenge c, signed now with keyfile. */
static size_t answer(const h_reply_t *c, const char *keyfile, uint32_t index,
		     uint8_t *out, size_t cap)
{
	idn_bytes_t nonce;
	assert_int_equal(idn_challenge_decode(c->msg.rest, &nonce), 0);
	FILE *fp = fopen(h_src(keyfile), "r");
	assert_non_null(fp);
	EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	uint8_t sig[1024], enc[1100];
	size_t sl;
	bool sm2 = EVP_PKEY_is_a(k, "SM2");
	if (sm2) {
		assert_int_equal(
			idn_answer_sign_national(k, nonce, c->msg.digest,
						 idn_bytes_str(ADMIN), sig,
						 sizeof(sig), &sl),
			0);
	} else {
		idn_bytes_t parts[2] = {nonce, c->msg.digest};
		assert_int_equal(idn_sig_sign(k, "SHA256", parts, 2, sig,
					      sizeof(sig), &sl),
				 0);
	}
	EVP_PKEY_free(k);
	idn_wr_t w;
	idn_wr_init(&w, enc, sizeof(enc));
	idn_sig_encode(&w, idn_bytes_str(sm2 ? "SM3" : "SHA-256"),
		       idn_bytes(sig, sl));
	return h_answer_frame(out, cap, 900 + index, c->env.session_id,
			      "HS_PUBKEY", ADMIN, index, idn_bytes(enc, w.len));
}

static void login_then_create(const char *flow, const char *keyfile,
			      uint32_t index)
{
	char name[128];
	h_reply_t r;
	h_reply_init(&r);
	int a = h_tcp_open(node), b = h_tcp_open(node);
	snprintf(name, sizeof(name), "idis-login-%s-siteinfo-request.hex",
		 flow);
	send_vector(a, name, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	snprintf(name, sizeof(name), "idis-login-%s-request.hex", flow);
	send_vector(a, name, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(r.msg.hdr.op, IDN_OC_LOGIN);
	uint8_t ans[2048];
	size_t an = answer(&r, keyfile, index, ans, sizeof(ans));
	h_stream_call(a, ans, an, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(r.msg.hdr.op, IDN_OC_LOGIN);
	assert_int_equal(r.env.session_id, 10001);
	/* the session's id on another connection: nothing runs */
	snprintf(name, sizeof(name), "idis-session-create-%s-request.hex",
		 flow);
	send_vector(b, name, &r);
	assert_int_equal(r.msg.hdr.rc, 500);
	char id[64];
	snprintf(id, sizeof(id), H_HOME "/%s", flow);
	h_run_t run;
	h_ctl(&run, node, "resolve", id, NULL);
	assert_int_equal(run.status, 1);
	h_run_free(&run);
	/* on the login's connection the create runs as the admin */
	send_vector(a, name, &r);
	assert_int_equal(r.msg.hdr.rc, IDN_RC_SUCCESS);
	h_ctl(&run, node, "resolve", id, NULL);
	assert_int_equal(run.status, 0);
	assert_non_null(strstr(run.out, "https://example.com/"));
	h_run_free(&run);
	close(a);
	close(b);
	h_reply_free(&r);
}

static void login_rsa(void **state)
{
	(void)state;
	login_then_create("rsa", "tests/vectors/keys/idis-admin-rsa.pem", 300);
}

static void login_sm2(void **state)
{
	(void)state;
	login_then_create("sm2", "tests/vectors/keys/idis-admin-sm2-sdk.pem",
			  301);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_rsa),
		cmocka_unit_test(login_sm2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
