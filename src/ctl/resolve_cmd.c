/* idctl resolve and siteinfo: resolution over UDP or TCP (or the control
 * socket), iterative with --trace, in an authenticated session with
 * --auth, checked against the node's published key with --verify, and
 * the node's own HS_SITE. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "batch.h"
#include "cert.h"
#include "cli.h"
#include "site.h"
#include "error.h"
#include "ident.h"
#include "keys.h"
#include "msg.h"
#include "net.h"
#include "resolver.h"
#include "scheme.h"
#include "value.h"
#include "value_out.h"
#include "wire.h"

static json_t *jstr(idn_bytes_t b)
{
	return json_stringn((const char *)b.p, b.len);
}

typedef struct {
	const ctl_opts_t *o;
	idn_arena_t *a;
	const char *id;
	int printed;
	EVP_PKEY **keys; /* --verify: the node's published keys */
	int nkeys;
} resolve_ctx_t;

/* --verify: the reply must carry an HS_SIGNED credential over its header
 * and body that one of the node's published keys verifies. */
static bool reply_verified(const resolve_ctx_t *r, const idn_msg_t *m)
{
	idn_bytes_t hash, sig;
	if (!m->has_cred || !idn_bytes_eq_str(m->cred.type, "HS_SIGNED") ||
	    idn_sig_decode(m->cred.signed_data, &hash, &sig) != 0)
		return false;
	for (int i = 0; i < r->nkeys; i++)
		if (idn_sig_verify(r->keys[i], hash, &m->signed_part, 1, sig) ==
		    0)
			return true;
	return false;
}

/* A 303/302 answer: the delegated prefix's identifier and the delegation
 * values (HS_SITE sites, HS_SERV service handles). Printed on stdout: it is
 * the answer to the question, though not a success. */
static int print_referral(resolve_ctx_t *r, const idn_msg_t *m)
{
	int rc = (int)m->hdr.rc;
	idn_values_body_t b;
	if (idn_values_body_decode(m->rest, r->a, &b) != 0) {
		fprintf(stderr,
			"idctl: resolve %s: %s (rc %d) with a "
			"malformed body\n",
			r->id, ctl_rc_name(rc), rc);
		return 1;
	}
	r->printed = 1;
	if (r->o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(rc));
		json_object_set_new(root, "handle", jstr(b.id));
		json_t *vals = json_array();
		for (uint32_t i = 0; i < b.nvalues; i++)
			json_array_append_new(vals,
					      value_json(&b.values[i], r->a));
		json_object_set_new(root, "values", vals);
		ctl_print_json(root);
		json_decref(root);
		return 1;
	}
	/* a node with no delegation for the prefix refers to its parent */
	bool parent = idn_bytes_eq_str(b.id, "0.NA/") ||
		      idn_bytes_eq_str(b.id, "0.NA");
	printf("%s: %s (rc %d) to %s%.*s%s\n", r->id, ctl_rc_name(rc), rc,
	       parent ? "the parent node (" : "", (int)b.id.len, b.id.p,
	       parent ? ")" : "");
	uint32_t nsites = 0;
	for (uint32_t i = 0; i < b.nvalues; i++) {
		const idn_value_t *v = &b.values[i];
		idn_hs_site_t site;
		if (idn_bytes_eq_str(v->type, "HS_SITE") &&
		    idn_hs_site_decode(v->data, r->a, &site) == 0) {
			printf("  ");
			idn_site_print(stdout, &site);
			putchar('\n');
			nsites++;
		} else if (idn_bytes_eq_str(v->type, "HS_SERV")) {
			/* a service handle holding the sites */
			printf("  service %.*s\n", (int)v->data.len, v->data.p);
			nsites++;
		}
		/* other values of the delegation record (its HS_ADMIN) say
		 * nothing about where to go; --json shows them */
	}
	if (nsites == 0)
		printf("  (no HS_SITE or HS_SERV value to follow)\n");
	return 1;
}

static void print_record(resolve_ctx_t *r, idn_bytes_t id,
			 const idn_value_t *values, uint32_t n)
{
	r->printed = 1;
	if (r->o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		json_object_set_new(root, "handle", jstr(id));
		json_t *vals = json_array();
		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(vals,
					      value_json(&values[i], r->a));
		json_object_set_new(root, "values", vals);
		ctl_print_json(root);
		json_decref(root);
		return;
	}
	printf("%.*s (%u value%s)\n", (int)id.len, id.p, n, n == 1 ? "" : "s");
	printf("  %-6s %-12s %-8s %-4s  %-20s  %s\n", "index", "type", "ttl",
	       "perm", "timestamp", "data");
	for (uint32_t i = 0; i < n; i++)
		print_value(&values[i], r->a);
}

static int on_resolve(void *vctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	resolve_ctx_t *r = vctx;
	if (r->keys != NULL && !reply_verified(r, m)) {
		fprintf(stderr,
			"idctl: resolve %s: the reply's signature is "
			"missing or does not verify with the node's published "
			"key\n",
			r->id);
		return 1;
	}
	if (m->hdr.rc == IDN_RC_PREFIX_REFERRAL ||
	    m->hdr.rc == IDN_RC_SERVICE_REFERRAL)
		return print_referral(r, m);
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		ctl_print_failure("resolve", r->id, m, (int)m->hdr.rc);
		return 1;
	}
	idn_values_body_t b;
	if (idn_values_body_decode(m->rest, r->a, &b) != 0) {
		fprintf(stderr, "idctl: resolve %s: malformed reply\n", r->id);
		return 1;
	}
	print_record(r, b.id, b.values, b.nvalues);
	return 1;
}

static void on_trace(void *ctx, const char *server, const char *ident,
		     uint32_t rc, const char *detail)
{
	const ctl_opts_t *o = ctx;
	fprintf(o->json ? stderr : stdout, "  %-24s %s  rc %-3u %s\n", server,
		ident, rc, detail);
}

/* Resolves iteratively from the -s server as the root, showing each hop. */
static int resolve_traced(ctl_opts_t *o, const char *id, const char *root,
			  idn_arena_t *a)
{
	static idn_ident_t ident;
	if (idn_ident_parse((const uint8_t *)id, strlen(id), 0, &ident) != 0) {
		fprintf(stderr, "idctl: resolve %s: invalid identifier\n", id);
		return 1;
	}
	const char *roots[] = {root};
	idn_resolver_opts_t ro = {
		roots, 1, NULL, ctl_timeout(o, CTL_TIMEOUT_MS) / 3, 0, 0};
	idn_resolver_t *res;
	if (idn_resolver_new(&ro, &res) != 0) {
		fprintf(stderr, "idctl: resolve %s: out of memory\n", id);
		return 1;
	}
	idn_resolution_t out;
	fprintf(o->json ? stderr : stdout, "resolving %s from %s\n", id, root);
	int err = idn_resolve(res, &ident, 0, &out, on_trace, o);
	int rc = 1;
	if (err) {
		fprintf(stderr, "idctl: resolve %s: %s\n", id,
			idn_strerror(err));
	} else if (out.rc != IDN_RC_SUCCESS) {
		fprintf(stderr, "idctl: resolve %s: %s (rc %u)%s%s\n", id,
			ctl_rc_name((int)out.rc), out.rc,
			out.detail[0] ? ": " : "", out.detail);
	} else {
		idn_value_t *v = idn_arena_array(a, out.nvalues, sizeof(*v));
		idn_rd_t rd;
		idn_rd_init(&rd, out.values.p, out.values.len);
		for (uint32_t i = 0; v != NULL && i < out.nvalues; i++)
			idn_value_decode(&rd, a, &v[i]);
		if (v == NULL || rd.err) {
			fprintf(stderr, "idctl: resolve %s: malformed answer\n",
				id);
		} else {
			resolve_ctx_t r = {o, a, id, 0, NULL, 0};
			print_record(&r, idn_bytes_str(id), v, out.nvalues);
			rc = 0;
		}
	}
	idn_resolver_free(res);
	return rc;
}

typedef struct {
	idn_arena_t *a;
	idn_bytes_t site;
} site_ctx_t;

static int on_site(void *vctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	site_ctx_t *x = vctx;
	if (m->hdr.rc == IDN_RC_SUCCESS)
		x->site = m->rest;
	return 1;
}

/* The public keys a node publishes in its HS_SITE (GET_SITE_INFO). */
static int site_keys(const ctl_opts_t *o, int transport, const char *where,
		     idn_arena_t *a, EVP_PKEY **keys, int max)
{
	uint8_t body[16];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str("/"));
	site_ctx_t x = {a, {NULL, 0}};
	ctl_call_t c = {a, on_site, &x, 0, false, 0, 0};
	idn_hs_site_t site;
	if (ctl_node_call(o, transport, where, IDN_OC_GET_SITE_INFO, 0, w.buf,
			  w.len, &c) != 0 ||
	    x.site.p == NULL || idn_hs_site_decode(x.site, a, &site) != 0)
		return -1;
	int n = 0;
	for (uint32_t i = 0; i < site.nservers && n < max; i++)
		if (site.servers[i].pubkey.len > 0 &&
		    idn_pubkey_load(site.servers[i].pubkey, &keys[n]) == 0)
			n++;
	return n;
}

/* Maps a GS1 key, Digital Link, OID, Ecode, DOI or Handle URI to the
 * canonical identifier under the prefix given for its scheme (README,
 * "other identifier schemes"), saying which scheme it recognised.
 * Returns 0, or 2 after a one-line error. */
static int canonical_id(const ctl_opts_t *o, const char *in, char *out,
			size_t cap)
{
	static idn_scheme_id_t sid;
	static idn_ident_t plain;
	char err[200];
	if (idn_scheme_parse(in, strlen(in), &sid, err, sizeof(err)) != 0) {
		/* not a known scheme: still fine as a plain identifier, unless
		 * it has the shape of a URI, an element string or a number,
		 * which only a scheme could have meant */
		bool scheme_shaped = idn_scheme_shaped(in, strlen(in));
		/* the rest goes to the node as given: it judges identifiers
		 * (rc 102 for invalid ones) */
		(void)plain;
		if (!scheme_shaped && strlen(in) < cap) {
			strcpy(out, in);
			return 0;
		}
		fprintf(stderr, "idctl: %s: %s\n", in, err);
		return 2;
	}
	int rc = idn_scheme_canonical(&sid, &o->schemes, out, cap);
	if (rc == IDN_EUNSUPPORTED) {
		fprintf(stderr,
			"idctl: %s is a %s identifier: give the prefix it "
			"maps under (--%s-prefix PREFIX)\n",
			in, idn_scheme_name(sid.scheme),
			sid.scheme == IDN_SCHEME_OID	 ? "oid"
			: sid.scheme == IDN_SCHEME_ECODE ? "ecode"
							 : "gs1");
		return 2;
	}
	if (rc != 0) {
		fprintf(stderr, "idctl: %s: %s\n", in, idn_strerror(rc));
		return 2;
	}
	if (strcmp(in, out) != 0 && !o->json)
		fprintf(stderr, "recognised %s: resolving %s\n",
			idn_scheme_name(sid.scheme), out);
	return 0;
}

/* resolve --auth: resolves in a session (session.h) as the admin, who
 * answers the challenge a record with restricted values brings, seeing
 * the values the record lets that admin read. */
static int resolve_in_session(const ctl_opts_t *o, uint32_t flags,
			      const uint8_t *body, size_t blen, ctl_call_t *c)
{
	ctl_cred_t cred;
	if (ctl_cred_load(o->key_file, o->secret_file, o->passphrase_file,
			  &cred) != 0)
		return IDN_EINVAL;
	batch_opts_t bo = {o->server, ctl_timeout(o, CTL_TIMEOUT_MS), o->auth,
			   &cred, false};
	idn_session_t *s;
	/* the key answers the challenge a restricted value brings */
	int err = ctl_session_open(&bo, "resolve", &s) ? IDN_EAUTH : 0;
	if (err) {
		ctl_cred_free(&cred);
		return err;
	}
	uint8_t *buf = idn_arena_alloc(c->arena, IDN_HDR_LEN + blen + 8);
	if (buf == NULL) {
		idn_session_close(s);
		ctl_cred_free(&cred);
		return -ENOMEM;
	}
	idn_wr_t w;
	idn_wr_init(&w, buf, IDN_HDR_LEN + blen + 8);
	idn_msg_request(&w, IDN_OC_RESOLUTION, flags, 12 * 3600, body, blen);
	err = w.err ? w.err
		    : idn_session_call(s, w.buf, w.len, ctl_reply_cb, c);
	if (err == 0)
		err = c->err;
	idn_session_close(s);
	ctl_cred_free(&cred);
	return err;
}

static int cmd_resolve(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1)
		return ctl_usage("resolve needs exactly one identifier%s", "");
	char *id = idn_arena_alloc(a, IDN_IDENT_MAX + 1);
	if (id == NULL)
		return 1;
	int crc = canonical_id(o, argv[0], id, IDN_IDENT_MAX + 1);
	if (crc)
		return crc;
	size_t idl = strlen(id);
	if (o->trace)
		return resolve_traced(
			o, id, o->server ? o->server : CTL_DEFAULT_SERVER, a);
	idn_resolve_req_t q = {idn_bytes(id, idl), o->nindexes, o->indexes,
			       o->ntypes, o->types};
	size_t cap = 64 + idl + o->nindexes * 4;
	for (uint32_t i = 0; i < o->ntypes; i++)
		cap += 4 + o->types[i].len;
	uint8_t *body = idn_arena_alloc(a, cap);
	idn_wr_t w;
	idn_wr_init(&w, body, cap);
	idn_resolve_req_encode(&w, &q);
	if (w.err || w.len > IDN_MSG_MAX - 64)
		return ctl_usage("request too large%s", "");
	resolve_ctx_t rc = {o, a, id, 0, NULL, 0};
	ctl_call_t c = {a, on_resolve, &rc, 0, false, 0};
	uint32_t flags = o->public_only ? IDN_OF_PUBLIC_ONLY : 0;
	/* over the network, as the CNRI client does, anonymous clients ask
	 * for public values only (restricted ones would be challenged);
	 * with --auth idctl answers the challenge and sees what the admin
	 * may read */
	if (o->server != NULL && o->auth == NULL)
		flags |= IDN_OF_PUBLIC_ONLY;
	if (o->auth != NULL &&
	    (o->server == NULL ||
	     (o->key_file == NULL) == (o->secret_file == NULL)))
		return ctl_usage("resolve --auth needs -s HOST:PORT and either "
				 "--key FILE or --secret FILE%s",
				 "");
	/* as the CNRI client does: a recursive node resolves for us, any
	 * other node ignores the flag */
	if (!o->no_recursion)
		flags |= IDN_OF_RECURSE;
	int transport = o->tcp ? IDN_NET_TCP : IDN_NET_UDP;
	const char *where = o->server ? o->server : CTL_DEFAULT_SERVER;
	if (o->control && !o->server) {
		transport = IDN_NET_UNIX;
		where = o->control;
	}
	EVP_PKEY *keys[8];
	if (o->verify) {
		int n = site_keys(
			o, transport == IDN_NET_UNIX ? IDN_NET_TCP : transport,
			o->server ? o->server : CTL_DEFAULT_SERVER, a, keys, 8);
		if (n <= 0) {
			fprintf(stderr,
				"idctl: resolve %s: --verify: the node "
				"publishes no key in its site (GET_SITE_INFO)\n",
				id);
			return 1;
		}
		rc.keys = keys;
		rc.nkeys = n;
		flags |= IDN_OF_CERT;
	}
	int err =
		o->auth != NULL
			? resolve_in_session(o, flags, w.buf, w.len, &c)
			: ctl_node_call(o, transport, where, IDN_OC_RESOLUTION,
					flags, w.buf, w.len, &c);
	if (err == 0 && c.truncated) {
		/* the answer does not fit UDP: ask again over TCP */
		c.truncated = false;
		err = ctl_node_call(o, IDN_NET_TCP, where, IDN_OC_RESOLUTION,
				    flags, w.buf, w.len, &c);
	}
	for (int i = 0; i < rc.nkeys; i++)
		EVP_PKEY_free(keys[i]);
	if (err) {
		fprintf(stderr, "idctl: resolve %s via %s: %s\n", id, where,
			idn_strerror(err));
		return 1;
	}
	if (o->verify && rc.printed && !o->json)
		printf("signature verified: HS_SIGNED with the key in the node's site\n");
	return rc.printed && c.rc == IDN_RC_SUCCESS ? 0 : 1;
}

static int cmd_siteinfo(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("siteinfo takes no arguments%s", "");
	int transport = o->tcp ? IDN_NET_TCP : IDN_NET_UDP;
	const char *where = o->server ? o->server : CTL_DEFAULT_SERVER;
	if (o->control && !o->server) {
		transport = IDN_NET_UNIX;
		where = o->control;
	}
	idn_wr_t w;
	idn_wr_init(&w, idn_arena_alloc(a, 16), 16);
	idn_id_body_encode(&w, idn_bytes_str("/")); /* as the CNRI client */
	const idn_msg_t *m;
	if (ctl_node_call_one(o, transport, where, IDN_OC_GET_SITE_INFO, 0, &w,
			      "siteinfo", "", a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		ctl_print_failure("siteinfo", where, m, (int)m->hdr.rc);
		return 1;
	}
	idn_hs_site_t site;
	if (idn_hs_site_decode(m->rest, a, &site) != 0) {
		fprintf(stderr,
			"idctl: siteinfo %s: malformed site in the "
			"reply\n",
			where);
		return 1;
	}
	if (o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		json_object_set_new(root, "site", idn_site_json(&site));
		ctl_print_json(root);
		json_decref(root);
		return 0;
	}
	idn_site_print(stdout, &site);
	putchar('\n');
	for (uint32_t i = 0; i < site.nattrs; i++)
		printf("  %.*s: %.*s\n", (int)site.attrs[i].name.len,
		       site.attrs[i].name.p, (int)site.attrs[i].value.len,
		       site.attrs[i].value.p);
	return 0;
}

/* resolve ID [...]; with --verify-chain, cert.h's check of the record's
 * signatures instead. */
int ctl_cmd_resolve(ctl_opts_t *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--verify-chain"))
			return cert_verify_main(o, argc, argv);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--trust-root"))
			return ctl_usage("--trust-root belongs to resolve "
					 "--verify-chain%s",
					 "");
	return ctl_run_in_arena(o, argc, argv, cmd_resolve);
}

int ctl_cmd_siteinfo(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_siteinfo);
}
