/* HS_CERT chains and HS_SIGNATURE values against a real node: a trust
 * root (RSA) certifies the secondary node's admin 0.NA/88.118:300 (SM2),
 * which certifies the enterprise admins 0.NA/88.118.8:300 (RSA) and :301
 * (SM2); records signed by them verify with `idctl resolve --verify-chain`
 * and stop verifying when any link or value is altered. */
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "jwt.h"

static node_t *node;
static char dir[] = "/tmp/idn-trust.XXXXXX";
static char root_pem[300], root_pub[300], other_pem[300], sec_pem[300],
	sec_pub[300], ent_pem[300], ent_pub[300], ent2_pem[300], ent2_pub[300];
static char good_sec_cert[8192], good_ent_cert[8192];

/* Writes a new key pair: path (private, 0600) and pub (public, PEM). */
static void make_key(const char *type, const char *path, const char *pub)
{
	EVP_PKEY *k = !strcmp(type, "RSA")
			      ? EVP_RSA_gen(2048)
			      : EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	assert_non_null(k);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(f);
	f = fopen(pub, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
}

/* cert issue printing the token into out. */
static void issue(char *out, size_t cap, const char *issuer, const char *key,
		  const char *subject, const char *pub, const char *perms,
		  const char *extra1, const char *extra2)
{
	h_run_t r;
	h_idctl(&r, "cert", "issue", "--issuer", issuer, "--key", key,
		"--subject", subject, "--pubkey", pub, "--perms", perms,
		extra1 ? extra1 : "--timeout", extra1 ? extra2 : "3000", NULL);
	h_assert_status(&r, 0);
	assert_true(r.outlen > 10 && r.outlen < cap);
	r.out[strcspn(r.out, "\n")] = 0;
	strcpy(out, r.out);
	assert_int_equal(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
				     "pqrstuvwxyz0123456789-_."),
			 strlen(out));
	h_run_free(&r);
}

/* Writes token as HS_CERT value index of id (modify). */
static void put_cert(const char *id, const char *index, const char *token)
{
	char *v = malloc(strlen(token) + 32);
	sprintf(v, "%s:HS_CERT=%s", index, token);
	h_ctl_ok(node, "--overwrite", "add", id, v, NULL);
	free(v);
}

/* resolve --verify-chain over UDP (or through the control socket with
 * ctl); returns the exit status, output in r (caller frees). */
static int verify(h_run_t *r, bool ctl, const char *id, const char *extra)
{
	if (ctl)
		return h_ctl(r, node, "resolve", id, "--verify-chain",
			     "--trust-root", root_pub, extra ? extra : "--json",
			     NULL);
	return h_net(r, node, "resolve", id, "--verify-chain", "--trust-root",
		     root_pub, extra ? extra : "--json", NULL);
}

/* The verdict of value index in --json output. */
static const char *verdict_of(json_t *j, long index)
{
	json_t *vs = json_object_get(j, "values");
	for (size_t i = 0; i < json_array_size(vs); i++) {
		json_t *v = json_array_get(vs, i);
		if (json_integer_value(json_object_get(v, "index")) == index)
			return json_string_value(json_object_get(v, "verdict"));
	}
	return "(absent)";
}

static const char *reason(json_t *j)
{
	json_t *s = json_array_get(json_object_get(j, "signatures"), 0);
	return json_string_value(json_object_get(s, "reason"));
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
#define P(var, name) snprintf(var, sizeof(var), "%s/" name, dir)
	P(root_pem, "root.pem");
	P(root_pub, "root.pub");
	P(other_pem, "other.pem");
	P(sec_pem, "sec.pem");
	P(sec_pub, "sec.pub");
	P(ent_pem, "ent.pem");
	P(ent_pub, "ent.pub");
	P(ent2_pem, "ent2.pem");
	P(ent2_pub, "ent2.pub");
	char other_pub[300];
	P(other_pub, "other.pub");
#undef P
	make_key("RSA", root_pem, root_pub);
	make_key("RSA", other_pem, other_pub);
	make_key("SM2", sec_pem, sec_pub);
	/* the enterprise admin's RSA key also authenticates it to the node
	 * (HS_PUBKEY 300 of 0.NA/88.118.8) */
	h_run_t r;
	h_idctl(&r, "keygen", "--out", ent_pem, NULL);
	h_assert_status(&r, 0);
	const char *hex = strstr(r.out, "hex:");
	assert_non_null(hex);
	char pubval[2048];
	snprintf(pubval, sizeof(pubval), "300:HS_PUBKEY=%.*s",
		 (int)strcspn(hex, "\n"), hex);
	h_run_free(&r);
	h_run(&r, H_RUN_TIMEOUT_MS,
	      (const char *const[]){"/usr/bin/openssl", "pkey", "-in", ent_pem,
				    "-pubout", "-out", ent_pub, NULL});
	h_assert_status(&r, 0);
	h_run_free(&r);
	make_key("SM2", ent2_pem, ent2_pub);
	node = node_new("--home", H_HOME, "--home", "88.118", NULL);
	node_start(node);
	h_ctl_ok(node, "create", "0.NA/88.118", "100:HS_ADMIN=0.NA/88.118@300",
		 NULL);
	h_ctl_ok(node, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", pubval, NULL);
	/* root -> secondary admin (SM2 key, RS256 token) */
	issue(good_sec_cert, sizeof(good_sec_cert), "0.NA/88:300", root_pem,
	      "0.NA/88.118:300", sec_pub, "derivedPrefixes:88.118", NULL, NULL);
	put_cert("0.NA/88.118", "400", good_sec_cert);
	/* secondary -> enterprise admins (SM2 tokens), stored with --store */
	h_ctl(&r, node, "cert", "issue", "--issuer", "0.NA/88.118:300", "--key",
	      sec_pem, "--subject", "0.NA/" H_HOME ":300", "--pubkey", ent_pub,
	      "--perms", "handlesUnderThisPrefix:" H_HOME, "--alg", "SM2",
	      "--expires", "30d", "--store", "0.NA/" H_HOME ":400", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	issue(good_ent_cert, sizeof(good_ent_cert), "0.NA/88.118:300", sec_pem,
	      "0.NA/" H_HOME ":300", ent_pub, "handlesUnderThisPrefix:" H_HOME,
	      NULL, NULL);
	char t2[8192];
	issue(t2, sizeof(t2), "0.NA/88.118:300", sec_pem, "0.NA/" H_HOME ":301",
	      ent2_pub, "handlesUnderThisPrefix:" H_HOME, NULL, NULL);
	put_cert("0.NA/" H_HOME, "401", t2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(node);
	return h_rmtree(dir) != 0;
}

static void sign(const char *id, const char *signer, const char *key)
{
	h_run_t r;
	h_ctl(&r, node, "sign", id, "--signer", signer, "--key", key, NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "added values to"));
	h_run_free(&r);
}

static void chain_verifies(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/part-1",
		 "1:URL=https://example.com/p/1",
		 "2,perms=c:EMAIL=qa@example.com", "3:BATCH=2026-11-A", NULL);
	sign(H_HOME "/part-1", "0.NA/" H_HOME ":300", ent_pem);
	h_run_t r;
	/* through the control socket every value is there */
	assert_int_equal(verify(&r, true, H_HOME "/part-1", NULL), 0);
	json_t *j = h_json(&r);
	assert_true(json_is_true(json_object_get(j, "verified")));
	assert_string_equal(verdict_of(j, 1), "verified");
	assert_string_equal(verdict_of(j, 2), "verified");
	assert_string_equal(verdict_of(j, 3), "verified");
	assert_string_equal(verdict_of(j, 400), "signature");
	json_t *s = json_array_get(json_object_get(j, "signatures"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "signer")),
			    "300:0.NA/" H_HOME);
	assert_string_equal(json_string_value(json_object_get(s, "alg")),
			    "RS256");
	/* two certificates: the secondary's (from the root), the enterprise's
	 */
	json_t *chain = json_object_get(s, "chain");
	assert_int_equal(json_array_size(chain), 2);
	assert_non_null(strstr(json_string_value(json_array_get(chain, 0)),
			       "HS_CERT 400:0.NA/88.118 (RS256) issued by "
			       "300:0.NA/88 [trust root]"));
	assert_non_null(strstr(
		json_string_value(json_array_get(chain, 1)),
		"HS_CERT 400:0.NA/88.118.8 (SM2256) issued by 300:0.NA/88.118,"));
	json_decref(j);
	h_run_free(&r);
	/* human output over UDP, anonymous: the non-public EMAIL is withheld */
	assert_int_equal(verify(&r, false, H_HOME "/part-1", "--tcp"), 0);
	assert_non_null(strstr(r.out, "  2      -              withheld\n"));
	assert_non_null(strstr(r.out, "  1      URL            verified\n"));
	assert_non_null(strstr(
		r.out,
		"VERIFIED: 2 verified, 1 withheld, 0 mismatched, 0 unsigned"));
	h_run_free(&r);
}

/* A public-only resolution leaves the non-public value out; the rest
 * still verifies and the value is reported withheld. */
static void withheld_value_still_verifies(void **state)
{
	(void)state;
	h_run_t r;
	assert_int_equal(h_ctl(&r, node, "resolve", H_HOME "/part-1",
			       "--public", "--verify-chain", "--trust-root",
			       root_pub, "--json", NULL),
			 0);
	json_t *j = h_json(&r);
	assert_string_equal(verdict_of(j, 2), "withheld");
	assert_string_equal(verdict_of(j, 1), "verified");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(j, "counts"), "withheld")),
			 1);
	json_decref(j);
	h_run_free(&r);
	/* the plain resolution agrees that EMAIL is not in the reply */
	h_ctl(&r, node, "--json", "resolve", H_HOME "/part-1", "--public",
	      NULL);
	h_assert_status(&r, 0);
	j = h_json(&r);
	assert_null(h_json_value(j, 2));
	assert_non_null(h_json_value(j, 1));
	json_decref(j);
	h_run_free(&r);
}

static void sm2_signer_verifies(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/part-2",
		 "1:URL=https://example.com/p/2", NULL);
	sign(H_HOME "/part-2", "0.NA/" H_HOME ":301", ent2_pem);
	h_run_t r;
	assert_int_equal(verify(&r, false, H_HOME "/part-2", NULL), 0);
	json_t *j = h_json(&r);
	json_t *s = json_array_get(json_object_get(j, "signatures"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "alg")),
			    "SM2256");
	assert_string_equal(verdict_of(j, 1), "verified");
	json_decref(j);
	h_run_free(&r);
	/* the stored token is a national SM2 JWS (idctl's default form) */
	h_ctl(&r, node, "--json", "resolve", H_HOME "/part-2", "--index", "400",
	      NULL);
	h_assert_status(&r, 0);
	j = h_json(&r);
	const char *tok = json_string_value(json_object_get(
		json_object_get(h_json_value(j, 400), "data"), "value"));
	assert_non_null(tok);
	/* {"alg":"SM2256"} */
	assert_int_equal(strncmp(tok, "eyJhbGciOiJTTTIyNTYifQ.", 23), 0);
	json_decref(j);
	h_run_free(&r);
}

/* Each altered link breaks the chain; restoring it mends it. */
static void altered_links_fail(void **state)
{
	(void)state;
	h_run_t r;
	char bad[8192];
	struct {
		const char *what;
		const char *id;
		const char *good;
		const char *why;
	} cases[4] = {
		{"secondary re-signed with another key", "0.NA/88.118",
		 good_sec_cert, "cannot resolve 0.NA/88"},
		{"enterprise certificate for another subject", "0.NA/" H_HOME,
		 good_ent_cert, "no HS_CERT for 300:0.NA/88.118.8"},
		{"enterprise certificate expired", "0.NA/" H_HOME,
		 good_ent_cert, "expired at 1970-01-12T13:48:20Z"},
		{"enterprise certificate payload edited", "0.NA/" H_HOME,
		 good_ent_cert,
		 "signature does not verify with the key of its issuer"},
	};
	for (int i = 0; i < 4; i++) {
		switch (i) {
		case 0:
			issue(bad, sizeof(bad), "0.NA/88:300", other_pem,
			      "0.NA/88.118:300", sec_pub,
			      "derivedPrefixes:88.118", NULL, NULL);
			break;
		case 1:
			issue(bad, sizeof(bad), "0.NA/88.118:300", sec_pem,
			      "0.NA/" H_HOME ":302", ent_pub,
			      "handlesUnderThisPrefix:" H_HOME, NULL, NULL);
			break;
		case 2: {
			h_run_t k;
			h_idctl(&k, "cert", "issue", "--issuer",
				"0.NA/88.118:300", "--key", sec_pem,
				"--subject", "0.NA/" H_HOME ":300", "--pubkey",
				ent_pub, "--perms",
				"handlesUnderThisPrefix:" H_HOME,
				"--not-before", "@1000000", "--expires",
				"@1000100", NULL);
			h_assert_status(&k, 0);
			k.out[strcspn(k.out, "\n")] = 0;
			strcpy(bad, k.out);
			h_run_free(&k);
			break;
		}
		case 3: {
			/* the same signature over a payload naming another
			 * prefix */
			const char *d1 = strchr(good_ent_cert, '.');
			const char *d2 = strchr(d1 + 1, '.');
			uint8_t *pl;
			size_t n;
			assert_int_equal(
				idn_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1),
						  &pl, &n),
				0);
			char *js = strndup((const char *)pl, n);
			/* the national form writes the prefix handle */
			char *h = strstr(js, "\"handle\":\"0.NA/88.118.8\"");
			assert_non_null(h);
			h[strlen("\"handle\":\"0.NA/88.118.")] = '9';
			char *enc = idn_b64url_encode((const uint8_t *)js, n);
			snprintf(bad, sizeof(bad), "%.*s.%s%s",
				 (int)(d1 - good_ent_cert), good_ent_cert, enc,
				 d2);
			free(enc);
			free(js);
			free(pl);
			break;
		}
		}
		put_cert(cases[i].id, "400", bad);
		assert_int_equal(verify(&r, false, H_HOME "/part-1", NULL), 1);
		json_t *j = h_json(&r);
		if (strstr(reason(j), cases[i].why) == NULL)
			print_message("%s: reason '%s'\n", cases[i].what,
				      reason(j));
		assert_non_null(strstr(reason(j), cases[i].why));
		assert_true(json_is_false(json_object_get(j, "verified")));
		/* no value counts as verified without a verified signature */
		assert_string_equal(verdict_of(j, 1), "UNSIGNED");
		json_decref(j);
		h_run_free(&r);
		put_cert(cases[i].id, "400", cases[i].good);
		assert_int_equal(verify(&r, false, H_HOME "/part-1", NULL), 0);
		h_run_free(&r);
	}
	/* another trust root accepts nothing of this chain */
	assert_int_equal(h_net(&r, node, "resolve", H_HOME "/part-1",
			       "--verify-chain", "--trust-root", other_pem,
			       NULL),
			 1);
	assert_non_null(strstr(r.out, "NOT VERIFIED"));
	h_run_free(&r);
}

static void changed_values_detected(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/part-3",
		 "1:URL=https://example.com/p/3", "2:BATCH=B-1", NULL);
	sign(H_HOME "/part-3", "0.NA/" H_HOME ":300", ent_pem);
	h_run_t r;
	assert_int_equal(verify(&r, false, H_HOME "/part-3", NULL), 0);
	h_run_free(&r);
	h_ctl_ok(node, "modify", H_HOME "/part-3",
		 "1:URL=https://evil.example.com/p/3", NULL);
	h_ctl_ok(node, "add", H_HOME "/part-3", "5:NOTE=added later", NULL);
	assert_int_equal(verify(&r, false, H_HOME "/part-3", NULL), 1);
	json_t *j = h_json(&r);
	assert_string_equal(verdict_of(j, 1), "MISMATCH");
	assert_string_equal(verdict_of(j, 2), "verified");
	assert_string_equal(verdict_of(j, 5), "UNSIGNED");
	json_t *s = json_array_get(json_object_get(j, "signatures"), 0);
	assert_true(json_is_true(json_object_get(s, "verified")));
	json_decref(j);
	h_run_free(&r);
	/* a changed permission is a change too */
	h_ctl_ok(node, "modify", H_HOME "/part-3",
		 "1,perms=a:URL=https://example.com/p/3", NULL);
	h_ctl_ok(node, "remove", H_HOME "/part-3", "5", NULL);
	assert_int_equal(verify(&r, true, H_HOME "/part-3", NULL), 1);
	j = h_json(&r);
	assert_string_equal(verdict_of(j, 1), "MISMATCH");
	json_decref(j);
	h_run_free(&r);
	/* signing again covers the current values */
	sign(H_HOME "/part-3", "0.NA/" H_HOME ":300", ent_pem);
	assert_int_equal(verify(&r, true, H_HOME "/part-3", NULL), 0);
	h_run_free(&r);
}

/* The enterprise admin may sign only under its prefix. */
static void scope_is_enforced(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", "88.118/other", "1:URL=https://example.com/o",
		 NULL);
	sign("88.118/other", "0.NA/" H_HOME ":300", ent_pem);
	h_run_t r;
	assert_int_equal(verify(&r, false, "88.118/other", NULL), 1);
	json_t *j = h_json(&r);
	assert_string_equal(reason(j), "88.118/other is outside the perms of "
				       "the signer 300:0.NA/88.118.8");
	json_decref(j);
	h_run_free(&r);
	/* the secondary admin may */
	sign("88.118/other", "0.NA/88.118:300", sec_pem);
	assert_int_equal(verify(&r, false, "88.118/other", NULL), 0);
	h_run_free(&r);
	/* a certificate wider than its issuer's is refused */
	char wide[8192];
	issue(wide, sizeof(wide), "0.NA/88.118:300", sec_pem,
	      "0.NA/" H_HOME ":300", ent_pub, "derivedPrefixes:88", NULL, NULL);
	put_cert("0.NA/" H_HOME, "400", wide);
	assert_int_equal(verify(&r, false, H_HOME "/part-1", NULL), 1);
	j = h_json(&r);
	assert_non_null(strstr(
		reason(j), "perms exceed those of its issuer 300:0.NA/88.118"));
	json_decref(j);
	h_run_free(&r);
	put_cert("0.NA/" H_HOME, "400", good_ent_cert);
}

/* Storing over the network: the enterprise admin authenticates with the
 * same key it signs with, and the node checks its HS_ADMIN rights. */
static void stored_over_the_network(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/part-6",
		 "1:URL=https://example.com/p/6",
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", NULL);
	h_run_t r;
	h_net(&r, node, "--auth", "0.NA/" H_HOME ":300", "--key", ent_pem,
	      "sign", H_HOME "/part-6", "--signer", "0.NA/" H_HOME ":300",
	      NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	assert_int_equal(verify(&r, false, H_HOME "/part-6", NULL), 0);
	json_t *j = h_json(&r);
	assert_string_equal(verdict_of(j, 1), "verified");
	assert_string_equal(verdict_of(j, 100), "verified");
	json_decref(j);
	h_run_free(&r);
	/* an unauthenticated attempt over the network changes nothing */
	h_net(&r, node, "--auth", "0.NA/" H_HOME ":300", "--key", other_pem,
	      "sign", H_HOME "/part-6", "--signer", "0.NA/" H_HOME ":300",
	      "--index", "401", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	h_ctl(&r, node, "--json", "resolve", H_HOME "/part-6", NULL);
	h_assert_status(&r, 0);
	j = h_json(&r);
	assert_null(h_json_value(j, 401));
	json_decref(j);
	h_run_free(&r);
}

static void bad_input_is_refused(void **state)
{
	(void)state;
	h_run_t r;
	/* usage errors: exit 2, one line naming what was wrong */
	h_idctl(&r, "cert", "issue", "--issuer", "0.NA/88:300", "--key",
		root_pem, NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "needs --issuer, --key, --subject"));
	h_run_free(&r);
	h_idctl(&r, "cert", "issue", "--issuer", "0.NA/88:300", "--key",
		root_pem, "--subject", "0.NA/88.118:300", "--pubkey", sec_pub,
		"--perms", "allOfIt:88", NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "bad --perms 'allOfIt:88'"));
	h_run_free(&r);
	h_idctl(&r, "cert", "issue", "--issuer", "0.NA/88", "--key", root_pem,
		"--subject", "0.NA/88.118:300", "--pubkey", sec_pub, "--perms",
		"everything", NULL);
	h_assert_status(&r, 2);
	h_run_free(&r);
	h_idctl(&r, "cert", "issue", "--issuer", "0.NA/88:300", "--key",
		root_pem, "--subject", "0.NA/88.118:300", "--pubkey", sec_pub,
		"--perms", "everything", "--alg", "SM2", NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "--alg SM2 does not match"));
	h_run_free(&r);
	h_idctl(&r, "cert", "issue", "--issuer", "0.NA/88:300", "--key",
		sec_pub, "--subject", "0.NA/88.118:300", "--pubkey", sec_pub,
		"--perms", "everything", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "cannot read the issuer's private key"));
	h_run_free(&r);
	h_net(&r, node, "resolve", H_HOME "/part-1", "--verify-chain", NULL);
	h_assert_status(&r, 2);
	h_run_free(&r);
	/* garbage in place of a signature fails cleanly; the node keeps the
	 * record as it was */
	h_ctl_ok(node, "create", H_HOME "/part-4",
		 "1:URL=https://example.com/p/4",
		 "400:HS_SIGNATURE=not.a.token", NULL);
	assert_int_equal(verify(&r, false, H_HOME "/part-4", NULL), 1);
	json_t *j = h_json(&r);
	assert_non_null(strstr(reason(j), "not a JWS token"));
	assert_string_equal(verdict_of(j, 1), "UNSIGNED");
	json_decref(j);
	h_run_free(&r);
	/* no signature at all */
	h_ctl_ok(node, "create", H_HOME "/part-5",
		 "1:URL=https://example.com/p/5", NULL);
	assert_int_equal(verify(&r, false, H_HOME "/part-5", "--tcp"), 1);
	assert_non_null(strstr(r.out, "no HS_SIGNATURE value in the reply"));
	h_run_free(&r);
	/* an identifier that does not exist */
	assert_int_equal(verify(&r, false, H_HOME "/nothing", NULL), 1);
	assert_non_null(strstr(r.err, "response code 100"));
	h_run_free(&r);
}

/* A trust root kept as a self-issued HS_CERT at a handle (as the national
 * root at 88.111.1/0.0:400) and named by --trust-root ID:INDEX; tokens in
 * idnode's former form by --form idnode. */
static void root_at_handle_and_forms(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", "88.118/root", "1:URL=https://example.com/r",
		 NULL);
	h_run_t r;
	h_ctl(&r, node, "cert", "issue", "--issuer", "88.118/root:300", "--key",
	      root_pem, "--subject", "88.118/root:300", "--pubkey", root_pub,
	      "--perms", "everything", "--store", "88.118/root:400", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	h_ctl_ok(node, "create", H_HOME "/part-9",
		 "1:URL=https://example.com/p/9", NULL);
	h_ctl(&r, node, "sign", H_HOME "/part-9", "--signer",
	      "0.NA/" H_HOME ":301", "--key", ent2_pem, "--form", "idnode",
	      NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	h_net(&r, node, "resolve", H_HOME "/part-9", "--verify-chain",
	      "--trust-root", "88.118/root:400", "--json", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	json_t *s = json_array_get(json_object_get(j, "signatures"), 0);
	/* the former form: "SM2", raw r || s */
	assert_string_equal(json_string_value(json_object_get(s, "alg")),
			    "SM2");
	assert_string_equal(verdict_of(j, 1), "verified");
	json_t *chain = json_object_get(s, "chain");
	assert_non_null(strstr(json_string_value(json_array_get(chain, 0)),
			       "issued by 300:0.NA/88 [trust root]"));
	json_decref(j);
	h_run_free(&r);
	/* no HS_CERT at that index; not self-issued; a bad --form */
	h_net(&r, node, "resolve", H_HOME "/part-9", "--verify-chain",
	      "--trust-root", "88.118/root:401", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "no HS_CERT at 401:88.118/root"));
	h_run_free(&r);
	h_net(&r, node, "resolve", H_HOME "/part-9", "--verify-chain",
	      "--trust-root", "0.NA/88.118:400", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "is not self-issued"));
	h_run_free(&r);
	h_ctl(&r, node, "sign", H_HOME "/part-9", "--signer",
	      "0.NA/" H_HOME ":301", "--key", ent2_pem, "--form", "jose", NULL);
	h_assert_status(&r, 2);
	assert_non_null(strstr(r.err, "bad --form 'jose'"));
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chain_verifies),
		cmocka_unit_test(withheld_value_still_verifies),
		cmocka_unit_test(sm2_signer_verifies),
		cmocka_unit_test(altered_links_fail),
		cmocka_unit_test(changed_values_detected),
		cmocka_unit_test(scope_is_enforced),
		cmocka_unit_test(stored_over_the_network),
		cmocka_unit_test(bad_input_is_refused),
		cmocka_unit_test(root_at_handle_and_forms),
	};
	return cmocka_run_group_tests_name("trust", tests, setup, teardown);
}
