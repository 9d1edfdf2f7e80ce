/* idctl cert issue, idctl sign and idctl resolve --verify-chain.
 *
 * Tokens are made here (src/lib/trust.h); storing one is an ordinary
 * `idctl --overwrite add ID INDEX:TYPE=TOKEN`, handed back to idctl's own
 * administration path (control socket, or --auth over the network), so
 * there is one way values reach a node. Verification resolves the record
 * and, for each certificate up the chain, the issuer's identifier. */
#include "cert.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "ctlutil.h"
#include "error.h"
#include "jwt.h"
#include "keys.h"
#include "msg.h"
#include "net.h"
#include "trust.h"
#include "value.h"
#include "wire.h"

static const char cert_usage[] =
	"usage: idctl cert issue --issuer ADMIN_ID:INDEX --key ISSUER_KEY.pem\n"
	"           --subject ID:INDEX --pubkey SUBJECT_PUB.pem --perms LIST\n"
	"           [--expires DURATION|@UNIX] [--not-before DURATION|@UNIX]\n"
	"           [--alg RS256|SM2] [--form national|idnode]\n"
	"           [--store ID:INDEX [--auth-key FILE]]\n"
	"       idctl sign ID --signer ADMIN_ID:INDEX --key FILE [--index N]\n"
	"           [--expires DURATION|@UNIX] [--form national|idnode]\n"
	"           [--auth-key FILE]\n"
	"       idctl resolve ID --verify-chain --trust-root ROOT.pem|ID:INDEX\n"
	"           [--public] [--json]\n"
	"\n"
	"cert issue prints an HS_CERT token (JWS, RS256 for an RSA issuer "
	"key,\n"
	"SM2256 for an SM2 key) binding the subject's public key (PEM; a "
	"private\n"
	"key file also serves) to ID:INDEX, with LIST the permissions it may\n"
	"sign for: PERM:HANDLE[,PERM:HANDLE...], PERM one of everything,\n"
	"thisHandle, derivedPrefixes, handlesUnderThisPrefix (e.g.\n"
	"derivedPrefixes:88.118). --store ID:INDEX writes it as the HS_CERT\n"
	"value INDEX of ID instead (the subject's certificate belongs in the\n"
	"subject's record: --store 0.NA/88.118.8:400 for 0.NA/88.118.8:300).\n"
	"sign stores an HS_SIGNATURE value (index --index, default 400) over\n"
	"the record's current values (all of them through the control socket;\n"
	"over the network only those the node returns).\n"
	"--form national (the default) writes tokens as the national system "
	"and\n"
	"handle.net do: header {\"alg\":ALG} alone, SM2 as SM2256 with a DER\n"
	"signature and the key as {\"kty\":\"SM2\",\"d\":SPKI}; --form "
	"idnode\n"
	"idnode's former shape ({\"alg\",\"typ\"}, SM2 r||s, EC JWK, SM3 "
	"digests).\n"
	"Storing goes through -C SOCKET, or -s HOST:PORT --auth "
	"ADMIN_ID:INDEX\n"
	"with --auth-key FILE (default: the --key given).\n"
	"resolve --verify-chain checks every HS_SIGNATURE of the record, the\n"
	"signer's HS_CERT chain up to the trust root (a PEM public key, or\n"
	"ID:INDEX: the self-issued HS_CERT kept at INDEX of ID, as the "
	"national\n"
	"root 88.111.1/0.0:400; INDEX 0 takes the first self-issued one),\n"
	"validity times and scopes, and each value: verified, withheld "
	"(signed\n"
	"but not in the reply), MISMATCH or UNSIGNED. Exit 0 only when every\n"
	"value present verifies.\n"
	"DURATION: N[s|m|h|d], default 365d from now; @UNIX an absolute time.\n"
	"Exit status: 0 success, 1 failure or not verified, 2 usage error.\n";

typedef struct {
	ctl_opts_t *g; /* the global options: the node, --auth, --json ... */
	/* the node options, from g */
	const char *server, *control, *auth;
	bool tcp, json, public_only, no_recursion;
	/* this command's own */
	const char *key, *auth_key;
	bool verify_chain;
	const char *issuer, *subject, *pubkey, *perms, *expires, *not_before,
		*alg, *store, *signer, *index, *trust_root, *form;
	const char *pos[4];
	int npos;
	int timeout_ms;
} copts_t;

static int usage_err(const char *fmt, const char *arg)
{
	fputs("idctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (idctl cert --help)\n", stderr);
	return 2;
}

/* "N[s|m|h|d]" from now, or "@UNIX". */
static int parse_when(const char *s, long long now, long long *out)
{
	if (s == NULL || *s == 0)
		return -1;
	char *end;
	errno = 0;
	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || v < 0)
			return -1;
		*out = v;
		return 0;
	}
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || v > 100LL * 366 * 86400)
		return -1;
	long long mul = 1;
	if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else if (*end != 's' && *end != 0)
		return -1;
	if (*end && end[1])
		return -1;
	*out = now + v * mul;
	return 0;
}

/* "ID:INDEX" (idctl's way, as --auth) into "INDEX:ID" (the tokens'). */
static char *to_ref(const char *s)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	if (colon == NULL || colon == s || colon[1] == 0 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 10)
		return NULL;
	size_t n = strlen(s) + 2;
	char *r = malloc(n);
	if (r == NULL)
		return NULL;
	snprintf(r, n, "%s:%.*s", colon + 1, (int)(colon - s), s);
	uint32_t idx;
	const char *id;
	if (idn_trust_ref_parse(r, &idx, &id) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

/* ---- resolving ---- */

typedef struct {
	const copts_t *o;
	char why[300]; /* why the last fetch failed */
} fetcher_t;

/* Resolves id (all values, or public ones with --public) from the node
 * given: -C alone means the control socket, else -s (default
 * 127.0.0.1:2641) over UDP, or TCP with --tcp or a truncated answer. */
static int fetch(void *ctx, const char *id, idn_arena_t *a,
		 idn_value_t **values, uint32_t *n)
{
	fetcher_t *f = ctx;
	const copts_t *o = f->o;
	size_t cap = strlen(id) + 64;
	uint8_t *body = idn_arena_alloc(a, cap);
	if (body == NULL)
		return -ENOMEM;
	idn_wr_t w;
	idn_wr_init(&w, body, cap);
	idn_resolve_req_t q = {idn_bytes_str(id), 0, NULL, 0, NULL};
	idn_resolve_req_encode(&w, &q);
	uint32_t flags = o->public_only ? IDN_OF_PUBLIC_ONLY : 0;
	if (!o->no_recursion)
		flags |= IDN_OF_RECURSE;
	int transport = o->tcp ? IDN_NET_TCP : IDN_NET_UDP;
	const char *where = o->server ? o->server : "127.0.0.1:2641";
	if (o->control && !o->server) {
		transport = IDN_NET_UNIX;
		where = o->control;
	}
	ctl_reply_t g;
	int err = w.err ? w.err
			: ctl_request(transport, where, o->timeout_ms,
				      IDN_OC_RESOLUTION, flags, &w, a, &g);
	if (err == 0 && g.truncated)
		err = ctl_request(IDN_NET_TCP, where, o->timeout_ms,
				  IDN_OC_RESOLUTION, flags, &w, a, &g);
	if (err == 0 && !g.got)
		err = IDN_EPROTO;
	if (err) {
		snprintf(f->why, sizeof(f->why), "resolve %s via %s: %s", id,
			 where, idn_strerror(err));
		return err;
	}
	if (g.m.hdr.rc != IDN_RC_SUCCESS) {
		snprintf(f->why, sizeof(f->why), "resolve %s: response code %u",
			 id, g.m.hdr.rc);
		return IDN_ENOTFOUND;
	}
	idn_values_body_t b;
	err = idn_values_body_decode(g.m.rest, a, &b);
	if (err) {
		snprintf(f->why, sizeof(f->why), "resolve %s: malformed reply",
			 id);
		return err;
	}
	*values = b.values;
	*n = b.nvalues;
	return 0;
}

/* ---- storing through idctl's add ---- */

/* Stores the value spec (INDEX:TYPE=TOKEN) in record id as idctl's
 * `--overwrite add ID VALUE` would, through the control socket or, with
 * --auth, the network (signing with --auth-key, default --key). Takes id
 * and spec (malloc'd). Returns the exit status. */
static int store_value(const copts_t *o, char *id, char *spec)
{
	static ctl_opts_t w; /* large: not on the stack */
	w = *o->g;
	w.overwrite = true;
	w.tpl_ref = NULL;
	if (o->auth) {
		w.key_file = o->auth_key ? o->auth_key : o->key;
		w.secret_file = NULL;
	}
	char *args[] = {"add", id, spec, NULL};
	int rc = ctl_run_command(&w, 3, args);
	free(id);
	free(spec);
	return rc;
}

/* "ID:INDEX" and the token into "INDEX:TYPE=TOKEN" with the record id in
 * *id; both malloc'd, both NULL on failure. */
static char *value_spec(const char *where, const char *type, const char *tok,
			char **id)
{
	*id = NULL;
	char *ref = to_ref(where);
	if (ref == NULL)
		return NULL;
	const char *colon = strchr(ref, ':');
	*id = strdup(colon + 1);
	size_t n = strlen(ref) + strlen(type) + strlen(tok) + 4;
	char *spec = malloc(n);
	if (*id == NULL || spec == NULL) {
		free(ref);
		free(spec);
		free(*id);
		*id = NULL;
		return NULL;
	}
	snprintf(spec, n, "%.*s:%s=%s", (int)(colon - ref), ref, type, tok);
	free(ref);
	return spec;
}

static int load_key(const char *path, bool pub, const char *what, EVP_PKEY **k)
{
	/* a private key may also be a HANDLE.NET key file (keys.h) */
	*k = pub ? NULL : ctl_key_read_as(path, NULL, what);
	if (!pub && *k == NULL)
		return 1;
	if (pub && idn_pem_load(path, pub, k) != 0) {
		fprintf(stderr, "idctl: cannot read %s from %s\n", what, path);
		return 1;
	}
	if (idn_jwt_key_alg(*k) < 0) {
		fprintf(stderr,
			"idctl: %s in %s is neither RSA (2048 bits or "
			"more) nor SM2\n",
			what, path);
		EVP_PKEY_free(*k);
		*k = NULL;
		return 1;
	}
	return 0;
}

/* --form national|idnode (default national: docs/trust.md, Forms) into
 * *form; 0 or the usage exit status. */
static int parse_form(const copts_t *o, int *form)
{
	*form = IDN_JWT_FORM_NATIONAL;
	if (o->form == NULL || !strcmp(o->form, "national"))
		return 0;
	if (!strcmp(o->form, "idnode")) {
		*form = IDN_JWT_FORM_IDNODE;
		return 0;
	}
	return usage_err("bad --form '%s': national or idnode", o->form);
}

/* ---- idctl cert issue ---- */

static int cmd_issue(const copts_t *o)
{
	if (!o->issuer || !o->key || !o->subject || !o->pubkey || !o->perms)
		return usage_err("cert issue needs --issuer, --key, --subject, "
				 "--pubkey and --perms%s",
				 "");
	if (o->npos != 2)
		return usage_err("cert issue takes no other arguments%s", "");
	int form;
	if (parse_form(o, &form) != 0)
		return 2;
	char *iss = to_ref(o->issuer), *sub = to_ref(o->subject);
	long long now = (long long)time(NULL), nbf = now,
		  exp = now + 365LL * 86400;
	json_t *perms = NULL;
	EVP_PKEY *ikey = NULL, *skey = NULL;
	char *tok = NULL;
	int rc = 2;
	if (iss == NULL || sub == NULL) {
		rc = usage_err("--issuer and --subject want ID:INDEX, e.g. "
			       "0.NA/88.118.8:300%s",
			       "");
		goto out;
	}
	if ((o->not_before && parse_when(o->not_before, now, &nbf) != 0) ||
	    (o->expires && parse_when(o->expires, now, &exp) != 0)) {
		rc = usage_err("bad --expires or --not-before: N[s|m|h|d] or "
			       "@UNIX%s",
			       "");
		goto out;
	}
	if (exp < nbf) {
		rc = usage_err("the certificate would expire before it is "
			       "valid%s",
			       "");
		goto out;
	}
	if (idn_trust_perms_parse(o->perms, &perms) != 0) {
		rc = usage_err("bad --perms '%s': PERM:HANDLE[,...] with PERM "
			       "everything, thisHandle, derivedPrefixes or "
			       "handlesUnderThisPrefix",
			       o->perms);
		goto out;
	}
	rc = 1;
	if (load_key(o->key, false, "the issuer's private key", &ikey) ||
	    load_key(o->pubkey, true, "the subject's public key", &skey))
		goto out;
	/* --alg names the key's family: SM2 (or SM2256) for either SM2 form */
	const char *kalg = idn_jwt_alg_name(idn_jwt_key_alg(ikey));
	if (o->alg && (kalg == NULL || (strcmp(o->alg, kalg) &&
					!(!strcmp(kalg, "SM2") &&
					  !strcmp(o->alg, "SM2256"))))) {
		rc = usage_err("--alg %s does not match the issuer's key",
			       o->alg);
		goto out;
	}
	idn_cert_req_t q = {iss, sub, skey, perms, now, nbf, exp, form};
	int err = idn_trust_issue_cert(&q, ikey, &tok);
	if (err) {
		fprintf(stderr, "idctl: cert issue: %s\n", idn_strerror(err));
		goto out;
	}
	if (o->store == NULL) {
		puts(tok);
		rc = 0;
		goto out;
	}
	char *id;
	char *spec = value_spec(o->store, "HS_CERT", tok, &id);
	if (spec == NULL) {
		rc = usage_err("bad --store '%s': expected ID:INDEX", o->store);
		goto out;
	}
	rc = store_value(o, id, spec);
out:
	free(iss);
	free(sub);
	free(tok);
	json_decref(perms);
	EVP_PKEY_free(ikey);
	EVP_PKEY_free(skey);
	return rc;
}

/* ---- idctl sign ---- */

static int cmd_sign(const copts_t *o)
{
	if (o->npos != 2)
		return usage_err("sign needs exactly one identifier%s", "");
	if (!o->signer || !o->key)
		return usage_err("sign needs --signer ADMIN_ID:INDEX and --key "
				 "FILE%s",
				 "");
	const char *id = o->pos[1];
	int form;
	if (parse_form(o, &form) != 0)
		return 2;
	char *signer = to_ref(o->signer);
	if (signer == NULL)
		return usage_err("bad --signer '%s': expected ID:INDEX",
				 o->signer);
	uint32_t index = 400;
	if (o->index) {
		char *end;
		unsigned long v = strtoul(o->index, &end, 10);
		if (end == o->index || *end || v > UINT32_MAX) {
			free(signer);
			return usage_err("bad --index '%s'", o->index);
		}
		index = (uint32_t)v;
	}
	long long now = (long long)time(NULL), exp = now + 365LL * 86400;
	if (o->expires && parse_when(o->expires, now, &exp) != 0) {
		free(signer);
		return usage_err("bad --expires '%s'", o->expires);
	}
	EVP_PKEY *key = NULL;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	char *tok = NULL, *spec = NULL, *rid = NULL;
	int rc = 1;
	if (load_key(o->key, false, "the signer's private key", &key))
		goto out;
	/* read the record where it is written: through the control socket
	 * when there is one (it sees every value) */
	copts_t ro = *o;
	ro.public_only = false;
	ro.no_recursion = true;
	if (ro.control == NULL)
		ro.control = getenv("IDNODE_CONTROL");
	if (ro.control && ro.auth == NULL)
		ro.server = NULL;
	fetcher_t f = {&ro, ""};
	idn_value_t *vals;
	uint32_t n;
	if (fetch(&f, id, &a, &vals, &n) != 0) {
		fprintf(stderr, "idctl: sign: %s\n", f.why);
		goto out;
	}
	int err = idn_trust_sign_record(signer, id, vals, n, index, now, now,
					exp, key, form, &tok);
	if (err) {
		fprintf(stderr, "idctl: sign %s: %s\n", id, idn_strerror(err));
		goto out;
	}
	size_t sl = strlen(id) + 16;
	char *where = malloc(sl);
	if (where == NULL)
		goto out;
	snprintf(where, sl, "%s:%u", id, index);
	spec = value_spec(where, "HS_SIGNATURE", tok, &rid);
	free(where);
	if (spec == NULL)
		goto out;
	uint32_t signed_n = 0;
	for (uint32_t i = 0; i < n; i++)
		if (vals[i].index != index &&
		    !(vals[i].type.len == 12 &&
		      !strncasecmp((const char *)vals[i].type.p, "HS_SIGNATURE",
				   12)))
			signed_n++;
	if (!o->json)
		fprintf(stderr, "signed %u value%s of %s as %s\n", signed_n,
			signed_n == 1 ? "" : "s", id, signer);
	rc = store_value(o, rid, spec);
out:
	free(signer);
	free(tok);
	EVP_PKEY_free(key);
	idn_arena_free(&a);
	return rc;
}

/* ---- idctl resolve --verify-chain ---- */

/* --trust-root names a handle's HS_CERT ("ID:INDEX") unless it is a
 * file: a PEM path may hold a colon too. */
static bool root_is_ref(const char *s, char **ref)
{
	FILE *f = fopen(s, "r");
	if (f != NULL) {
		fclose(f);
		return false;
	}
	*ref = to_ref(s);
	return *ref != NULL;
}

/* The trust root's key: a PEM file, or the self-issued HS_CERT at
 * ID:INDEX (idn_trust_root_at). Returns 0 or the exit status. */
static int trust_root_key(const copts_t *o, idn_trust_t *t, idn_arena_t *a,
			  EVP_PKEY **root)
{
	char *ref = NULL;
	if (!root_is_ref(o->trust_root, &ref))
		return load_key(o->trust_root, true,
				"the trust root's public key", root);
	uint32_t index;
	const char *rid;
	char why[400];
	idn_trust_ref_parse(ref, &index, &rid);
	int err = idn_trust_root_at(t, rid, index, a, root, why, sizeof(why));
	free(ref);
	if (err) {
		fprintf(stderr, "idctl: trust root %s: %s\n", o->trust_root,
			err == -ENOMEM ? "out of memory" : why);
		return 1;
	}
	return 0;
}

static int cmd_verify(const copts_t *o)
{
	if (o->npos != 2)
		return usage_err("resolve needs exactly one identifier%s", "");
	if (o->trust_root == NULL)
		return usage_err(
			"--verify-chain needs --trust-root ROOT.pem or "
			"ID:INDEX%s",
			"");
	const char *id = o->pos[1];
	EVP_PKEY *root = NULL;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	fetcher_t f = {o, ""};
	idn_trust_t t = {NULL, fetch, &f, time(NULL), 60};
	idn_value_t *vals;
	uint32_t n;
	int rc = 1;
	idn_trust_report_t r;
	if (trust_root_key(o, &t, &a, &root) != 0)
		goto out;
	t.root = root;
	if (fetch(&f, id, &a, &vals, &n) != 0) {
		fprintf(stderr, "idctl: %s\n", f.why);
		goto out;
	}
	if (idn_trust_verify_record(&t, id, vals, n, &a, &r) != 0) {
		fprintf(stderr, "idctl: resolve %s: out of memory\n", id);
		goto out;
	}
	rc = r.ok ? 0 : 1;
	if (o->json) {
		json_t *vs = json_array(), *ss = json_array();
		for (uint32_t i = 0; i < r.nvalues; i++)
			json_array_append_new(
				vs,
				json_pack("{s:I,s:s,s:s}", "index",
					  (json_int_t)r.values[i].index, "type",
					  r.values[i].type, "verdict",
					  idn_trust_verdict_name(
						  r.values[i].verdict)));
		for (int i = 0; i < r.nsigs; i++) {
			json_t *chain = json_array();
			for (int k = 0; k < r.sigs[i].nlinks; k++)
				json_array_append_new(
					chain, json_string(r.sigs[i].links[k]));
			json_array_append_new(
				ss,
				json_pack("{s:I,s:s,s:s,s:b,s:s,s:o}", "index",
					  (json_int_t)r.sigs[i].index, "signer",
					  r.sigs[i].signer, "alg",
					  r.sigs[i].alg, "verified",
					  r.sigs[i].ok, "reason", r.sigs[i].why,
					  "chain", chain));
		}
		json_t *root_j = json_pack(
			"{s:s,s:b,s:o,s:o,s:{s:I,s:I,s:I,s:I}}", "handle", id,
			"verified", r.ok, "values", vs, "signatures", ss,
			"counts", "verified", (json_int_t)r.verified,
			"withheld", (json_int_t)r.withheld, "mismatch",
			(json_int_t)r.mismatched, "unsigned",
			(json_int_t)r.unsigned_);
		char *s =
			root_j ? json_dumps(root_j, JSON_INDENT(2) |
							    JSON_PRESERVE_ORDER)
			       : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(root_j);
		goto out;
	}
	printf("%s (%u value%s in the reply)\n", id, n, n == 1 ? "" : "s");
	for (uint32_t i = 0; i < r.nvalues; i++)
		printf("  %-6u %-14s %s\n", r.values[i].index,
		       r.values[i].type[0] ? r.values[i].type : "-",
		       idn_trust_verdict_name(r.values[i].verdict));
	for (int i = 0; i < r.nsigs; i++) {
		const idn_trust_sig_t *s = &r.sigs[i];
		printf("signature %u by %s (%s): %s%s%s\n", s->index,
		       s->signer[0] ? s->signer : "?", s->alg[0] ? s->alg : "?",
		       s->ok ? "verified" : "FAILED", s->ok ? "" : ": ",
		       s->ok ? "" : s->why);
		for (int k = 0; k < s->nlinks; k++)
			printf("  chain %d: %s\n", k + 1, s->links[k]);
	}
	if (r.nsigs == 0)
		printf("no HS_SIGNATURE value in the reply\n");
	printf("%s: %u verified, %u withheld, %u mismatched, %u unsigned\n",
	       r.ok ? "VERIFIED" : "NOT VERIFIED", r.verified, r.withheld,
	       r.mismatched, r.unsigned_);
out:
	EVP_PKEY_free(root);
	idn_arena_free(&a);
	return rc;
}

/* ---- the command table's handlers ---- */

const ctl_optdef_t cert_opts[] = {
	{"issuer", 0, true},	 {"subject", 0, true},
	{"pubkey", 0, true},	 {"perms", 0, true},
	{"expires", 0, true},	 {"not-before", 0, true},
	{"alg", 0, true},	 {"store", 0, true},
	{"signer", 0, true},	 {"index", 0, true},
	{"trust-root", 0, true}, {"auth-key", 0, true},
	{"key", 0, true},	 {"verify-chain", 0, false},
	{"form", 0, true},	 {"help", 'h', false},
	{NULL, 0, false},
};

/* Reads the command's own options and arguments (pos[0] the command). */
static int cert_args(ctl_opts_t *g, int argc, char **argv, copts_t *o)
{
	*o = (copts_t){.g = g,
		       .server = g->server,
		       .control = g->control,
		       .auth = g->auth,
		       .tcp = g->tcp,
		       .json = g->json,
		       .public_only = g->public_only,
		       .no_recursion = g->no_recursion,
		       .key = g->key_file,
		       .timeout_ms = ctl_timeout(g, CTL_TIMEOUT_MS)};
	struct {
		const char *name;
		const char **dst;
	} valued[] = {
		{"--key", &o->key},
		{"--auth-key", &o->auth_key},
		{"--issuer", &o->issuer},
		{"--subject", &o->subject},
		{"--pubkey", &o->pubkey},
		{"--perms", &o->perms},
		{"--expires", &o->expires},
		{"--not-before", &o->not_before},
		{"--alg", &o->alg},
		{"--store", &o->store},
		{"--signer", &o->signer},
		{"--index", &o->index},
		{"--trust-root", &o->trust_root},
		{"--form", &o->form},
	};
	o->pos[o->npos++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool known = false;
		if (!strcmp(a, "--help")) {
			fputs(cert_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "--verify-chain")) {
			o->verify_chain = true;
			continue;
		}
		for (size_t k = 0;
		     k < sizeof(valued) / sizeof(valued[0]) && !known; k++)
			if (!strcmp(a, valued[k].name)) {
				*valued[k].dst = argv[++i];
				known = true;
			}
		if (known)
			continue;
		if (o->npos == 4)
			return usage_err("too many arguments%s", "");
		o->pos[o->npos++] = a;
	}
	if (o->auth &&
	    (o->server == NULL || (o->key == NULL && o->auth_key == NULL)))
		return usage_err("--auth needs -s HOST:PORT and a key%s", "");
	return -1;
}

int cert_main(ctl_opts_t *g, int argc, char **argv)
{
	copts_t o;
	int rc = cert_args(g, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (!strcmp(o.pos[0], "sign"))
		return cmd_sign(&o);
	if (o.npos < 2 || strcmp(o.pos[1], "issue"))
		return usage_err("cert wants the subcommand issue%s", "");
	return cmd_issue(&o);
}

int cert_verify_main(ctl_opts_t *g, int argc, char **argv)
{
	copts_t o;
	int rc = cert_args(g, argc, argv, &o);
	return rc >= 0 ? rc : cmd_verify(&o);
}
