/* The node's identity and negotiation as a running daemon shows them
 * (docs/security.md): server admins home and unhome prefixes over the
 * network, min-auth-hash and server-admin from the command line and the
 * config file, bad values refused at start, and the site key that stays
 * the same across restarts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"

static char dir[] = "/tmp/idn-nego.XXXXXX";
static char adm_key[300], other_key[300];
static char *adm_pub, *other_pub;

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(adm_key, sizeof(adm_key), "%s/admin.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.pem", dir);
	adm_pub = h_keygen(adm_key, NULL, NULL);
	other_pub = h_keygen(other_key, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(adm_pub);
	free(other_pub);
	unlink(adm_key);
	unlink(other_key);
	char p[400];
	snprintf(p, sizeof(p), "%s/admin.pem.pub", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/other.pem.pub", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

/* The admins' keys at 300 and 301 of 0.NA/H_HOME, no HS_ADMIN. */
static void put_admins(const node_t *n)
{
	char a[4096], o[4096];
	snprintf(a, sizeof(a), "300:HS_PUBKEY=hex:%s", adm_pub);
	snprintf(o, sizeof(o), "301:HS_PUBKEY=hex:%s", other_pub);
	h_ctl_ok(n, "create", "0.NA/" H_HOME, a, o, NULL);
}

static bool homed(const node_t *n, const char *prefix)
{
	h_run_t r;
	h_ctl(&r, n, "homed", NULL);
	h_assert_status(&r, 0);
	bool found = false;
	for (char *l = strtok(r.out, "\n"); l; l = strtok(NULL, "\n"))
		found |= strcmp(l, prefix) == 0;
	h_run_free(&r);
	return found;
}

/* HOME_NA and UNHOME_NA over the network by a server admin, who holds no
 * HS_ADMIN right; another admin is refused as before. */
static void server_admin_homes_over_the_network(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--server-admin",
			     "0.NA/" H_HOME ":300", NULL);
	node_start(n);
	put_admins(n);
	h_run_t r;
	h_net(&r, n, "--auth", "0.NA/" H_HOME ":301", "--key", other_key,
	      "home", "20.777", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "rc 401"));
	h_run_free(&r);
	assert_false(homed(n, "20.777"));
	h_net(&r, n, "--auth", "0.NA/" H_HOME ":300", "--key", adm_key, "home",
	      "20.777", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_true(homed(n, "20.777"));
	/* a server admin is no admin of the data: creating needs HS_ADMIN */
	h_net(&r, n, "--auth", "0.NA/" H_HOME ":300", "--key", adm_key,
	      "create", "20.777/x", "1:URL=https://x", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "rc 401"));
	h_run_free(&r);
	h_net(&r, n, "--auth", "0.NA/" H_HOME ":300", "--key", adm_key,
	      "unhome", "20.777", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_false(homed(n, "20.777"));
	node_free(n);
}

/* The hash a 2.5 client's certified reply is signed with. */
static void expect_reply_hash(const node_t *n, uint8_t minor, const char *want)
{
	h_req_t q = h_req(IDN_OC_RESOLUTION, 41);
	q.minor = minor;
	q.flags = IDN_OF_CERT;
	uint8_t frame[512];
	const char *id = "0.NA/" H_HOME;
	size_t len = h_resolve_frame(frame, sizeof(frame), &q, id, strlen(id),
				     NULL, 0, NULL, 0);
	h_reply_t rep;
	h_reply_init(&rep);
	h_udp_call(n, frame, len, &rep);
	assert_int_equal(rep.msg.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(rep.env.minor, minor);
	assert_true(rep.msg.has_cred);
	idn_bytes_t hash, sig;
	assert_int_equal(idn_sig_decode(rep.msg.cred.signed_data, &hash, &sig),
			 0);
	if (!idn_bytes_eq_str(hash, want))
		fail_msg("2.%u reply signed with %.*s, want %s", minor,
			 (int)hash.len, hash.p, want);
	h_reply_free(&rep);
}

/* Signed for what the client checks: SHA-1 for 2.5 (HANDLE.NET 7),
 * SHA-256 for 2.10; with min-auth-hash sha256 from the config file,
 * SHA-256 for both. */
static void reply_hash_and_config_keys(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	put_admins(n);
	expect_reply_hash(n, 5, "SHA1");
	expect_reply_hash(n, 10, "SHA256");
	node_free(n);

	node_t *m = node_create();
	char conf[300];
	snprintf(conf, sizeof(conf), "%s/idnode.conf", m->dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "home %s\nmin-auth-hash sha256\nserver-admin 0.NA/%s:300\n",
		H_HOME, H_HOME);
	fclose(f);
	node_set_args(m, "-c", conf, NULL);
	node_start(m);
	put_admins(m);
	expect_reply_hash(m, 5, "SHA256");
	expect_reply_hash(m, 10, "SHA256");
	/* the server admin of the file homes; idctl answers the 2.10
	 * node's challenge with SHA-256, over the floor */
	h_run_t r;
	h_net(&r, m, "--auth", "0.NA/" H_HOME ":300", "--key", adm_key, "home",
	      "20.778", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_true(homed(m, "20.778"));
	node_free(m);
}

/* A bad value stops the node at start, naming the option. */
static void bad_values_refused(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{"--min-auth-hash", "sha384"},
		{"--server-admin", "0.NA/" H_HOME},
		{"--server-admin", "0.NA/" H_HOME ":x"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		node_t *n = node_new(bad[i][0], bad[i][1], NULL);
		node_spawn(n);
		assert_int_equal(node_wait_exit(n, 10000), 1);
		char *log = node_log(n);
		if (strstr(log, bad[i][0] + 2) == NULL)
			fail_msg("log does not name %s:\n%s", bad[i][0], log);
		free(log);
		node_free(n);
	}
}

static char *site_key(const node_t *n)
{
	h_run_t r;
	h_net(&r, n, "--json", "siteinfo", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	json_t *srv = json_array_get(
		json_object_get(json_object_get(j, "site"), "servers"), 0);
	const char *k = json_string_value(
		json_object_get(json_object_get(srv, "publicKey"), "value"));
	assert_non_null(k);
	char *out = strdup(k);
	json_decref(j);
	h_run_free(&r);
	return out;
}

/* The site key made at the first start is the one after a restart. */
static void site_key_survives_restart(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, NULL);
	node_start(n);
	char *first = site_key(n);
	node_stop(n);
	node_start(n);
	char *again = site_key(n);
	assert_string_equal(first, again);
	char path[300];
	snprintf(path, sizeof(path), "%s/site-key.pem", n->data);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(first);
	free(again);
	node_free(n);
}

/* delegate --site-info: the delegation's HS_SITE is the site's own, key
 * included. */
static void delegation_from_site_info(void **state)
{
	(void)state;
	node_t *n = node_new("--home", H_HOME, "--home", "0.NA", NULL);
	node_start(n);
	char *key = site_key(n);
	h_run_t r;
	h_ctl(&r, n, "delegate", H_HOME, "--to", n->addr, "--site-info", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	h_ctl(&r, n, "--json", "resolve", "0.NA/" H_HOME, NULL);
	h_assert_status(&r, 0);
	if (strstr(r.out, key) == NULL)
		fail_msg("delegation lacks the site key %s:\n%s", key, r.out);
	h_run_free(&r);
	/* a server that does not answer: no delegation */
	char dead[64];
	snprintf(dead, sizeof(dead), "127.0.0.1:%u", h_free_port());
	h_ctl(&r, n, "--timeout", "300", "delegate", "20.999", "--to", dead,
	      "--site-info", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	free(key);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_admin_homes_over_the_network),
		cmocka_unit_test(reply_hash_and_config_keys),
		cmocka_unit_test(bad_values_refused),
		cmocka_unit_test(site_key_survives_restart),
		cmocka_unit_test(delegation_from_site_info),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
