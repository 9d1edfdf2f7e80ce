/* idctl: resolve and administer identifiers on an idnode.
 *
 * Resolution goes over UDP (or TCP) to a node; administration goes over the
 * node's local control socket, whose file permissions are the access
 * control. Human output by default, --json for the handle.net JSON shape. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <unistd.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "admin_cmd.h"
#include "b64.h"
#include "hex.h"
#include "batch.h"
#include "bench.h"
#include "cert.h"
#include "delegate.h"
#include "import.h"
#include "keys.h"
#include "migrate.h"
#include "error.h"
#include "ident.h"
#include "msg.h"
#include "net.h"
#include "resolver.h"
#include "scheme.h"
#include "template_cmd.h"
#include "search_cmd.h"
#include "value_out.h"
#include "auth.h"
#include "value.h"
#include "wire.h"

#define MAX_ITEMS 2048
#define MAX_MIRRORS 64

typedef struct {
	const char *server;  /* -s HOST:PORT */
	const char *control; /* -C PATH */
	bool tcp;
	bool json;
	bool public_only;
	bool overwrite;
	bool no_recursion;
	bool trace;
	bool verify; /* --verify: ask for a signed reply and check it */
	idn_scheme_map_t
		schemes;      /* --gs1-prefix, --oid-prefix, --ecode-prefix */
	const char *auth;     /* --auth ADMIN_ID:INDEX: administer over TCP */
	const char *key_file; /* --key FILE: the admin's private key (PEM) */
	const char
		*secret_file; /* --secret FILE: an HS_SECKEY admin's secret */
	const char *passphrase_file; /* --passphrase-file F: of --key */
	const char *admin_ref; /* admin grant|revoke --admin ADMIN_ID:INDEX */
	const char *perms;     /* ... --perms LIST */
	int timeout_ms;
	const char *to;			  /* delegate --to */
	const char *mirrors[MAX_MIRRORS]; /* delegate --mirror */
	uint32_t nmirrors;
	uint32_t ttl;	     /* delegate --ttl */
	const char *tpl_ref; /* create/add/modify --template NAME@VERSION */
	uint32_t indexes[MAX_ITEMS];
	uint32_t nindexes;
	idn_bytes_t types[MAX_ITEMS];
	uint32_t ntypes;
} opts_t;

static const char usage[] =
	"usage: idctl [-s HOST:PORT] [-C SOCKET] [--tcp] [--json] COMMAND ...\n"
	"\n"
	"resolution (UDP to -s, default 127.0.0.1:2641; --tcp for TCP;\n"
	"            with -C and no -s, through the control socket):\n"
	"  resolve ID [--type T]... [--index N]... [--public]\n"
	"          [--no-recursion]  (asks a recursive node to resolve\n"
	"          unless --no-recursion; a referral (rc 303/302) is shown\n"
	"          with the delegated prefix and its servers, exit 1)\n"
	"          ID may also be a GS1 key, element string or Digital Link\n"
	"          URI, an OID, an Ecode, a doi: or hdl: URI: it is mapped to\n"
	"          its canonical identifier under [--gs1-prefix P]\n"
	"          [--oid-prefix P] [--ecode-prefix P]\n"
	"          [--verify]  (ask for a reply signed by the node and check\n"
	"          it against the key the node publishes in its site)\n"
	"          [--trace]  (resolve iteratively from -s as the root,\n"
	"          printing every hop down the levels; all values)\n"
	"  siteinfo                the node's own HS_SITE (GET_SITE_INFO)\n"
	"\n"
	"administration (through the node's control socket, -C SOCKET or\n"
	"                $IDNODE_CONTROL):\n"
	"  create ID VALUE...      create a record (--overwrite replaces one)\n"
	"          [--template NAME@VERSION]  (adds the value\n"
	"          1999:IDN_TEMPLATE_REF=NAME@VERSION: the node validates the\n"
	"          record against that template of its prefix)\n"
	"  delete ID               delete a record\n"
	"  add ID VALUE...         add values (--overwrite replaces indexes)\n"
	"  modify ID VALUE...      replace values by index\n"
	"  remove ID INDEX...      remove values by index\n"
	"  list PREFIX             list identifiers under PREFIX\n"
	"  home PREFIX             make the node authoritative for PREFIX\n"
	"  unhome PREFIX           stop serving PREFIX\n"
	"  homed                   list the homed prefixes\n"
	"  delegate PREFIX --to HOST:PORT[,HOST:PORT...]\n"
	"          [--mirror HOST:PORT[,...]]... [--ttl SEC]\n"
	"                          write the delegation record 0.NA/PREFIX:\n"
	"                          HS_SITE of the primary site (1), one\n"
	"                          HS_SITE per mirror site (2, 3, ...),\n"
	"                          HS_ADMIN (100); replaces an existing one\n"
	"  undelegate PREFIX       delete the delegation record 0.NA/PREFIX\n"
	"  import FILE|-           bulk-create records from JSON Lines or CSV\n"
	"                          (idctl import --help)\n"
	"  export PREFIX [-o FILE] the records of PREFIX as JSON Lines\n"
	"  stats                   the node's request and cache counters\n"
	"  cache stats             the recursive node's cache counters\n"
	"  cache flush [PREFIX]    drop cached answers (under PREFIX, or all)\n"
	"  template put|get|publish|withdraw ...  metadata templates\n"
	"                          (idctl template --help)\n"
	"  search [--type T --data D] [--prefix P] [--since T1 --until T2]\n"
	"         [--page-size N] [--cursor C | --all]  find identifiers\n"
	"                          (idctl search --help)\n"
	"  index list|add TYPE|remove TYPE  the value types search indexes\n"
	"                          (idctl index --help)\n"
	"\n"
	"  Over the network instead (the node challenges, idctl signs):\n"
	"  idctl -s HOST:PORT --auth ADMIN_ID:INDEX --key FILE create|...\n"
	"          [--passphrase-file F]  (an encrypted key's passphrase)\n"
	"          or --secret FILE  (an HS_SECKEY admin; FILE must be 0600)\n"
	"  admin grant|revoke ID --admin ADMIN_ID:INDEX [--perms LIST]\n"
	"                          add, widen, narrow or remove the HS_ADMIN\n"
	"                          of ID naming that admin; LIST: all, or of\n"
	"                          add_handle delete_handle add_prefix\n"
	"                          delete_prefix modify_value remove_value\n"
	"                          add_value modify_admin remove_admin\n"
	"                          add_admin read_value list, comma-separated\n"
	"  batch [FILE]            admin commands, one a line (create|add|\n"
	"                          modify|remove|delete ...), over one session\n"
	"  keygen --out FILE [--type rsa|sm2] [--bits N] [--passphrase-file F]\n"
	"                          an admin key: FILE (PEM, 0600, AES-256\n"
	"                          encrypted with a passphrase) and FILE.pub\n"
	"                          (HS_PUBKEY data, 0600), printed as hex\n"
	"\n"
	"trust (HS_CERT chains, HS_SIGNATURE; idctl cert --help):\n"
	"  cert issue --issuer ID:INDEX --key FILE --subject ID:INDEX ...\n"
	"  sign ID --signer ID:INDEX --key FILE\n"
	"  resolve ID --verify-chain --trust-root ROOT.pem [--public]\n"
	"\n"
	"benchmarks:\n"
	"  populate --data DIR --prefix P --count N   fill a store directly\n"
	"  bench -s HOST:PORT --prefix P --count N    UDP/TCP load generator\n"
	"\n"
	"VALUE is INDEX[,OPTION...]:TYPE=DATA, for example\n"
	"  1:URL=https://example.com/p/1   2,ttl=3600:EMAIL=qa@example.com\n"
	"  100:HS_ADMIN=0.NA/88.118.8@300  (admin identifier @ index [#PERMS hex])\n"
	"  5:HS_PUBKEY=hex:0000000b...     (binary data as hex)\n"
	"OPTIONs: ttl=SECONDS, abs (ttl is an absolute expiry time), perms=HEX\n"
	"(0x8 admin read, 0x4 admin write, 0x2 public read, 0x1 public write;\n"
	"default 0xe), ref=ID@INDEX (repeatable; ID without ',' or ':').\n"
	"\n"
	"Common options: --json (handle.net JSON), --timeout MS, -h/--help.\n"
	"Exit status: 0 success, 1 the node refused or failed, 2 usage error.\n";

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "idctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see idctl --help)\n");
	return 2;
}

/* ---- value specs ---- */

static int parse_u32(const char *s, size_t n, int base, uint32_t *out)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, base);
	if (*end || errno || v > 0xffffffffull || buf[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "ID@INDEX" with the last '@' separating. */
static int parse_ref(const char *s, size_t n, idn_ref_t *ref)
{
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL || at == s)
		return -1;
	ref->id = idn_bytes(s, (size_t)(at - s));
	return parse_u32(at + 1, (size_t)(s + n - at - 1), 10, &ref->index);
}

static int parse_value(const char *spec, idn_arena_t *a, idn_value_t *v)
{
	memset(v, 0, sizeof(*v));
	v->ttl = IDN_TTL_DEFAULT;
	v->perms = IDN_PERM_DEFAULT;
	const char *colon = strchr(spec, ':');
	const char *eq = colon ? strchr(colon, '=') : NULL;
	if (colon == NULL || eq == NULL || eq == colon + 1)
		return -1;
	/* INDEX[,opt...] */
	const char *p = spec;
	const char *comma = memchr(p, ',', (size_t)(colon - p));
	const char *iend = comma ? comma : colon;
	if (parse_u32(p, (size_t)(iend - p), 10, &v->index) != 0)
		return -1;
	idn_ref_t refs[64];
	uint32_t nrefs = 0;
	p = iend;
	while (p < colon) {
		p++; /* skip ',' */
		const char *e = memchr(p, ',', (size_t)(colon - p));
		if (e == NULL)
			e = colon;
		size_t n = (size_t)(e - p);
		uint32_t x;
		if (n > 4 && !strncmp(p, "ttl=", 4)) {
			if (parse_u32(p + 4, n - 4, 10, &v->ttl) != 0)
				return -1;
		} else if (n == 3 && !strncmp(p, "abs", 3)) {
			v->ttl_type = IDN_TTL_ABSOLUTE;
		} else if (n > 6 && !strncmp(p, "perms=", 6)) {
			if (parse_u32(p + 6, n - 6, 16, &x) != 0 || x > 0xf)
				return -1;
			v->perms = (uint8_t)x;
		} else if (n > 4 && !strncmp(p, "ref=", 4)) {
			if (nrefs == 64 ||
			    parse_ref(p + 4, n - 4, &refs[nrefs]) != 0)
				return -1;
			nrefs++;
		} else {
			return -1;
		}
		p = e;
	}
	if (nrefs) {
		v->refs = idn_arena_array(a, nrefs, sizeof(idn_ref_t));
		if (v->refs == NULL)
			return -1;
		memcpy(v->refs, refs, nrefs * sizeof(idn_ref_t));
		v->nrefs = nrefs;
	}
	v->type = idn_bytes(colon + 1, (size_t)(eq - colon - 1));
	const char *data = eq + 1;
	size_t dlen = strlen(data);
	if (!strncmp(data, "hex:", 4)) {
		if (idn_hex_decode(data + 4, dlen - 4, a, &v->data) != 0)
			return -1;
	} else if (idn_bytes_eq_str(v->type, "HS_ADMIN")) {
		/* ADMIN@INDEX[#PERMS] */
		idn_hs_admin_t adm = {IDN_ADM_ALL, {0}, 0};
		const char *hash = strrchr(data, '#');
		size_t n = hash ? (size_t)(hash - data) : dlen;
		uint32_t perms;
		idn_ref_t r;
		if (parse_ref(data, n, &r) != 0)
			return -1;
		if (hash) {
			if (parse_u32(hash + 1, strlen(hash + 1), 16, &perms) ||
			    perms > 0xffff)
				return -1;
			adm.perms = (uint16_t)perms;
		}
		adm.admin = r.id;
		adm.index = r.index;
		uint8_t *buf = idn_arena_alloc(a, 16 + r.id.len);
		idn_wr_t w;
		if (buf == NULL)
			return -1;
		idn_wr_init(&w, buf, 16 + r.id.len);
		idn_hs_admin_encode(&w, &adm);
		if (w.err)
			return -1;
		v->data = idn_bytes(buf, w.len);
	} else {
		v->data = idn_bytes(data, dlen);
	}
	return 0;
}

int ctl_parse_value(const char *spec, idn_arena_t *a, idn_value_t *v)
{
	return parse_value(spec, a, v);
}

/* ---- talking to the node ---- */

typedef struct {
	idn_arena_t *arena;
	int (*on_reply)(void *ctx, const idn_env_t *env, const idn_msg_t *m);
	void *ctx;
	int rc; /* last response code */
	bool truncated;
	int err;
	uint32_t session; /* envelope session id to send (challenge answers) */
} call_t;

static int reply_cb(void *vctx, const idn_env_t *env, const uint8_t *msg,
		    size_t len)
{
	call_t *c = vctx;
	idn_msg_t *m = idn_arena_alloc(c->arena, sizeof(*m));
	if (m == NULL) {
		c->err = -ENOMEM;
		return 1;
	}
	/* copy: msg is only valid during this call */
	uint8_t *copy = idn_arena_alloc(c->arena, len);
	if (copy == NULL) {
		c->err = -ENOMEM;
		return 1;
	}
	memcpy(copy, msg, len);
	if (env->flags & IDN_EF_TRUNCATED) {
		c->truncated = true;
		return 1;
	}
	int err = idn_msg_decode(copy, len, m);
	if (err) {
		c->err = IDN_EPROTO;
		return 1;
	}
	c->rc = (int)m->hdr.rc;
	return c->on_reply ? c->on_reply(c->ctx, env, m) : 0;
}

static int build_and_call(const opts_t *o, int transport, const char *where,
			  uint32_t op, uint32_t flags, const uint8_t *body,
			  size_t blen, call_t *c)
{
	uint8_t *buf = idn_arena_alloc(c->arena, IDN_HDR_LEN + blen + 8);
	if (buf == NULL)
		return -ENOMEM;
	idn_wr_t w;
	idn_wr_init(&w, buf, IDN_HDR_LEN + blen + 8);
	idn_msg_request(&w, op, flags, 12 * 3600, body, blen);
	if (w.err)
		return w.err;
	idn_client_t *cl;
	int err = idn_client_open(transport, where, o->timeout_ms, &cl);
	if (err)
		return err;
	idn_client_set_session(cl, c->session);
	err = idn_client_call(cl, w.buf, w.len, reply_cb, c);
	idn_client_close(cl);
	if (err == 0)
		err = c->err;
	return err;
}

static const char *rc_name(int rc)
{
	switch (rc) {
	case IDN_RC_SUCCESS:
		return "success";
	case IDN_RC_ERROR:
		return "error";
	case IDN_RC_TOO_BUSY:
		return "server too busy";
	case IDN_RC_PROTOCOL_ERROR:
		return "protocol error";
	case IDN_RC_NOT_SUPPORTED:
		return "operation not supported";
	case IDN_RC_RECURSION_COUNT:
		return "recursion count too high";
	case IDN_RC_NOT_FOUND:
		return "identifier not found";
	case IDN_RC_ALREADY_EXISTS:
		return "identifier already exists";
	case IDN_RC_INVALID_HANDLE:
		return "invalid identifier";
	case IDN_RC_VALUES_NOT_FOUND:
		return "values not found";
	case IDN_RC_VALUE_EXISTS:
		return "value already exists";
	case IDN_RC_INVALID_VALUE:
		return "invalid value";
	case IDN_RC_SERVER_NOT_RESP:
		return "server not responsible";
	case IDN_RC_SERVICE_REFERRAL:
		return "service referral";
	case IDN_RC_PREFIX_REFERRAL:
		return "prefix referral";
	case IDN_RC_INSUFFICIENT_PERMS:
		return "insufficient permissions";
	case IDN_RC_AUTH_NEEDED:
		return "authentication needed";
	case IDN_RC_INVALID_ADMIN:
		return "invalid admin";
	case IDN_RC_AUTH_FAILED:
		return "authentication failed";
	case IDN_RC_INVALID_CREDENTIAL:
		return "invalid credential";
	case IDN_RC_AUTH_TIMEOUT:
		return "authentication timed out";
	case IDN_RC_AUTH_ERROR:
		return "authentication error";
	default:
		return "failure";
	}
}

/* The error reply's text, if any, after the code's name. */
static void print_failure(const char *what, const char *id, const idn_msg_t *m,
			  int rc)
{
	idn_bytes_t text = {NULL, 0};
	if (m != NULL)
		idn_error_body_decode(m->rest, &text);
	fprintf(stderr, "idctl: %s%s%s: %s (rc %d)%s%.*s\n", what,
		*id ? " " : "", id, rc_name(rc), rc, text.len ? ": " : "",
		(int)text.len, text.p ? (const char *)text.p : "");
}

/* ---- output ---- */

static json_t *jstr(idn_bytes_t b)
{
	return json_stringn((const char *)b.p, b.len);
}

/* ---- commands ---- */

typedef struct {
	const opts_t *o;
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

static void print_json(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
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
			r->id, rc_name(rc), rc);
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
		print_json(root);
		json_decref(root);
		return 1;
	}
	/* a node with no delegation for the prefix refers to its parent */
	bool parent = idn_bytes_eq_str(b.id, "0.NA/") ||
		      idn_bytes_eq_str(b.id, "0.NA");
	printf("%s: %s (rc %d) to %s%.*s%s\n", r->id, rc_name(rc), rc,
	       parent ? "the parent node (" : "", (int)b.id.len, b.id.p,
	       parent ? ")" : "");
	uint32_t nsites = 0;
	for (uint32_t i = 0; i < b.nvalues; i++) {
		const idn_value_t *v = &b.values[i];
		idn_hs_site_t site;
		if (idn_bytes_eq_str(v->type, "HS_SITE") &&
		    idn_hs_site_decode(v->data, r->a, &site) == 0) {
			printf("  ");
			site_print(stdout, &site);
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
		char *s =
			json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
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
		print_failure("resolve", r->id, m, (int)m->hdr.rc);
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
	const opts_t *o = ctx;
	fprintf(o->json ? stderr : stdout, "  %-24s %s  rc %-3u %s\n", server,
		ident, rc, detail);
}

/* Resolves iteratively from the -s server as the root, showing each hop. */
static int resolve_traced(opts_t *o, const char *id, const char *root,
			  idn_arena_t *a)
{
	static idn_ident_t ident;
	if (idn_ident_parse((const uint8_t *)id, strlen(id), 0, &ident) != 0) {
		fprintf(stderr, "idctl: resolve %s: invalid identifier\n", id);
		return 1;
	}
	const char *roots[] = {root};
	idn_resolver_opts_t ro = {roots, 1, NULL, o->timeout_ms / 3, 0, 0};
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
			rc_name((int)out.rc), out.rc, out.detail[0] ? ": " : "",
			out.detail);
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
static int site_keys(const opts_t *o, int transport, const char *where,
		     idn_arena_t *a, EVP_PKEY **keys, int max)
{
	uint8_t body[16];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str("/"));
	site_ctx_t x = {a, {NULL, 0}};
	call_t c = {a, on_site, &x, 0, false, 0, 0};
	idn_hs_site_t site;
	if (build_and_call(o, transport, where, IDN_OC_GET_SITE_INFO, 0, w.buf,
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
 * canonical identifier (DESIGN §3), saying which scheme it recognised.
 * Returns 0, or 2 after a one-line error. */
static int canonical_id(const opts_t *o, const char *in, char *out, size_t cap)
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

/* resolve --auth: the admin authenticates (a session on one TCP
 * connection) and then resolves, seeing the values the record lets that
 * admin read. */
static int resolve_in_session(const opts_t *o, uint32_t flags,
			      const uint8_t *body, size_t blen, call_t *c)
{
	ctl_cred_t cred;
	if (ctl_cred_load(o->key_file, o->secret_file, o->passphrase_file,
			  &cred) != 0)
		return IDN_EINVAL;
	batch_opts_t bo = {o->server, o->timeout_ms, o->auth, &cred, false};
	idn_session_t *s;
	int err = ctl_session_open(&bo, "resolve", &s) ? IDN_EAUTH : 0;
	ctl_cred_free(&cred);
	if (err)
		return err;
	uint8_t *buf = idn_arena_alloc(c->arena, IDN_HDR_LEN + blen + 8);
	if (buf == NULL) {
		idn_session_close(s);
		return -ENOMEM;
	}
	idn_wr_t w;
	idn_wr_init(&w, buf, IDN_HDR_LEN + blen + 8);
	idn_msg_request(&w, IDN_OC_RESOLUTION, flags, 12 * 3600, body, blen);
	err = w.err ? w.err : idn_session_call(s, w.buf, w.len, reply_cb, c);
	if (err == 0)
		err = c->err;
	idn_session_close(s);
	return err;
}

static int cmd_resolve(opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1)
		return die_usage("resolve needs exactly one identifier%s", "");
	char *id = idn_arena_alloc(a, IDN_IDENT_MAX + 1);
	if (id == NULL)
		return 1;
	int crc = canonical_id(o, argv[0], id, IDN_IDENT_MAX + 1);
	if (crc)
		return crc;
	size_t idl = strlen(id);
	if (o->trace)
		return resolve_traced(
			o, id, o->server ? o->server : "127.0.0.1:2641", a);
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
		return die_usage("request too large%s", "");
	resolve_ctx_t rc = {o, a, id, 0, NULL, 0};
	call_t c = {a, on_resolve, &rc, 0, false, 0};
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
		return die_usage("resolve --auth needs -s HOST:PORT and either "
				 "--key FILE or --secret FILE%s",
				 "");
	/* as the CNRI client does: a recursive node resolves for us, any
	 * other node ignores the flag */
	if (!o->no_recursion)
		flags |= IDN_OF_RECURSE;
	int transport = o->tcp ? IDN_NET_TCP : IDN_NET_UDP;
	const char *where = o->server ? o->server : "127.0.0.1:2641";
	if (o->control && !o->server) {
		transport = IDN_NET_UNIX;
		where = o->control;
	}
	EVP_PKEY *keys[8];
	if (o->verify) {
		int n = site_keys(
			o, transport == IDN_NET_UNIX ? IDN_NET_TCP : transport,
			o->server ? o->server : "127.0.0.1:2641", a, keys, 8);
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
			: build_and_call(o, transport, where, IDN_OC_RESOLUTION,
					 flags, w.buf, w.len, &c);
	if (err == 0 && c.truncated) {
		/* the answer does not fit UDP: ask again over TCP */
		c.truncated = false;
		err = build_and_call(o, IDN_NET_TCP, where, IDN_OC_RESOLUTION,
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

/* ---- authenticated administration over the network ---- */

typedef struct {
	uint8_t nonce[64], digest[64];
	uint32_t nonce_len, digest_len;
	uint32_t session;
	bool challenged;
	call_t *inner; /* handles any other reply */
} challenge_ctx_t;

static int on_challenge(void *vctx, const idn_env_t *env, const idn_msg_t *m)
{
	challenge_ctx_t *x = vctx;
	idn_bytes_t nonce;
	if (m->hdr.rc == IDN_RC_AUTH_NEEDED && m->digest.len <= 64 &&
	    idn_challenge_decode(m->rest, &nonce) == 0 && nonce.len <= 64) {
		memcpy(x->nonce, nonce.p, nonce.len);
		memcpy(x->digest, m->digest.p, m->digest.len);
		x->nonce_len = nonce.len;
		x->digest_len = m->digest.len;
		x->session = env->session_id;
		x->challenged = true;
		return 1;
	}
	return x->inner->on_reply(x->inner->ctx, env, m);
}

/* Sends the request over TCP; when the node challenges it, signs
 * nonce || request digest with the admin's key and answers on a new
 * connection, whose reply is the request's. */
static int call_authenticated(const opts_t *o, const char *server, uint32_t op,
			      uint32_t flags, const uint8_t *body, size_t blen,
			      call_t *c)
{
	const char *colon = strrchr(o->auth, ':');
	uint32_t index;
	if (colon == NULL || colon == o->auth ||
	    parse_u32(colon + 1, strlen(colon + 1), 10, &index) != 0) {
		fprintf(stderr,
			"idctl: --auth wants ADMIN_ID:INDEX, e.g. 0.NA/88.118.8:300\n");
		return IDN_EINVAL;
	}
	ctl_cred_t cred;
	if (ctl_cred_load(o->key_file, o->secret_file, o->passphrase_file,
			  &cred) != 0)
		return IDN_EINVAL;
	challenge_ctx_t x = {.inner = c};
	call_t first = *c;
	first.on_reply = on_challenge;
	first.ctx = &x;
	int err = build_and_call(o, IDN_NET_TCP, server, op, flags, body, blen,
				 &first);
	c->rc = first.rc;
	if (err || !x.challenged)
		goto out;
	uint8_t abuf[4096];
	idn_wr_t aw;
	idn_wr_init(&aw, abuf, sizeof(abuf));
	err = ctl_answer_encode(&cred,
				idn_bytes(o->auth, (size_t)(colon - o->auth)),
				index, idn_bytes(x.nonce, x.nonce_len),
				idn_bytes(x.digest, x.digest_len), &aw);
	if (err)
		goto out;
	c->session = x.session;
	err = build_and_call(o, IDN_NET_TCP, server, IDN_OC_CHALLENGE_ANSWER, 0,
			     aw.buf, aw.len, c);
out:
	ctl_cred_free(&cred);
	return err;
}

static const char *control_path(const opts_t *o)
{
	if (o->control)
		return o->control;
	return getenv("IDNODE_CONTROL");
}

typedef struct {
	const opts_t *o;
	idn_arena_t *a;
	const char *what, *id;
	uint32_t count;
	json_t *list;
	bool failed;
} admin_ctx_t;

static int on_admin(void *vctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	admin_ctx_t *x = vctx;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		print_failure(x->what, x->id, m, (int)m->hdr.rc);
		x->failed = true;
		return 1;
	}
	if (x->list) {
		idn_list_body_t b;
		if (idn_list_body_decode(m->rest, x->a, &b) != 0) {
			fprintf(stderr, "idctl: %s: malformed reply\n",
				x->what);
			x->failed = true;
			return 1;
		}
		for (uint32_t i = 0; i < b.n; i++) {
			if (x->o->json)
				json_array_append_new(x->list, jstr(b.ids[i]));
			else
				printf("%.*s\n", (int)b.ids[i].len, b.ids[i].p);
		}
		x->count += b.n;
		idn_arena_reset(x->a); /* long listings: keep memory flat */
	}
	return 0;
}

static int cmd_admin(opts_t *o, const char *cmd, int argc, char **argv,
		     idn_arena_t *a)
{
	static const struct {
		const char *name;
		uint32_t op;
		int min, max; /* argument counts */
		const char *done;
	} cmds[] = {
		{"create", IDN_OC_CREATE, 2, MAX_ITEMS + 1, "created"},
		{"delete", IDN_OC_DELETE, 1, 1, "deleted"},
		{"add", IDN_OC_ADD_VALUE, 2, MAX_ITEMS + 1, "added values to"},
		{"modify", IDN_OC_MODIFY_VALUE, 2, MAX_ITEMS + 1, "modified"},
		{"remove", IDN_OC_REMOVE_VALUE, 2, MAX_ITEMS + 1,
		 "removed values from"},
		{"list", IDN_OC_LIST, 1, 1, NULL},
		{"home", IDN_OC_HOME, 1, 1, "homed"},
		{"unhome", IDN_OC_UNHOME, 1, 1, "unhomed"},
		{"homed", IDN_OC_LIST_HOMED, 0, 0, NULL},
	};
	size_t k = 0;
	while (k < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[k].name, cmd))
		k++;
	if (k == sizeof(cmds) / sizeof(cmds[0]))
		return die_usage("unknown command '%s'", cmd);
	if (argc < cmds[k].min || argc > cmds[k].max)
		return die_usage("wrong number of arguments for %s", cmd);
	const char *sock = control_path(o);
	if (o->auth != NULL &&
	    (o->server == NULL ||
	     (o->key_file == NULL) == (o->secret_file == NULL))) {
		fprintf(stderr,
			"idctl: --auth needs -s HOST:PORT and either --key FILE or --secret FILE\n");
		return 2;
	}
	if (o->auth != NULL)
		sock = o->server; /* over TCP, answering the node's challenge */
	else if (sock == NULL) {
		fprintf(stderr,
			"idctl: %s needs the node's control socket: -C PATH or IDNODE_CONTROL, or --auth with -s\n",
			cmd);
		return 2;
	}
	uint32_t op = cmds[k].op;
	const char *id = argc > 0 ? argv[0] : "";
	size_t cap =
		64 + strlen(id) + (o->tpl_ref ? 128 + strlen(o->tpl_ref) : 0);
	for (int i = 1; i < argc; i++)
		cap += 64 + 2 * strlen(argv[i]);
	uint8_t *body = idn_arena_alloc(a, cap);
	idn_wr_t w;
	idn_wr_init(&w, body, cap);
	if (op == IDN_OC_CREATE || op == IDN_OC_ADD_VALUE ||
	    op == IDN_OC_MODIFY_VALUE) {
		idn_values_body_t b = {idn_bytes_str(id), (uint32_t)argc - 1,
				       idn_arena_array(a, (size_t)argc + 1,
						       sizeof(idn_value_t))};
		for (int i = 1; i < argc; i++)
			if (parse_value(argv[i], a, &b.values[i - 1]) != 0)
				return die_usage(
					"bad value '%s': expected INDEX[,OPTION...]:TYPE=DATA",
					argv[i]);
		if (o->tpl_ref != NULL) {
			/* the node's template binding (src/node/tplcheck.h) */
			const char *at = strrchr(o->tpl_ref, '@');
			if (at == NULL || at == o->tpl_ref || at[1] == 0)
				return die_usage(
					"bad --template '%s': expected NAME@VERSION",
					o->tpl_ref);
			b.values[b.nvalues++] =
				(idn_value_t){1999,
					      0,
					      IDN_TTL_RELATIVE,
					      IDN_TTL_DEFAULT,
					      IDN_PERM_DEFAULT,
					      idn_bytes_str("IDN_TEMPLATE_REF"),
					      idn_bytes_str(o->tpl_ref),
					      0,
					      NULL};
		}
		idn_values_body_encode(&w, &b);
	} else if (o->tpl_ref != NULL) {
		return die_usage(
			"--template belongs to create, add and modify, not %s",
			cmd);
	} else if (op == IDN_OC_REMOVE_VALUE) {
		idn_remove_req_t b = {
			idn_bytes_str(id), (uint32_t)argc - 1,
			idn_arena_array(a, (size_t)argc, sizeof(uint32_t))};
		for (int i = 1; i < argc; i++)
			if (parse_u32(argv[i], strlen(argv[i]), 10,
				      &b.indexes[i - 1]))
				return die_usage("bad index '%s'", argv[i]);
		idn_remove_req_encode(&w, &b);
	} else if (op != IDN_OC_LIST_HOMED) {
		idn_id_body_encode(&w, idn_bytes_str(id));
	}
	if (w.err)
		return die_usage("request too large%s", "");
	bool listing = op == IDN_OC_LIST || op == IDN_OC_LIST_HOMED;
	idn_arena_t la;
	idn_arena_init(&la, 0);
	admin_ctx_t x = {o,    &la, cmd, id, 0, listing ? json_array() : NULL,
			 false};
	call_t c = {a, on_admin, &x, 0, false, 0};
	uint32_t flags = o->overwrite ? IDN_OF_OVERWRITE : 0;
	int err = o->auth != NULL ? call_authenticated(o, sock, op, flags,
						       w.buf, w.len, &c)
				  : build_and_call(o, IDN_NET_UNIX, sock, op,
						   flags, w.buf, w.len, &c);
	idn_arena_free(&la);
	if (err) {
		fprintf(stderr, "idctl: %s %s via %s: %s\n", cmd, id, sock,
			idn_strerror(err));
		json_decref(x.list);
		return 1;
	}
	if (x.failed) {
		json_decref(x.list);
		return 1;
	}
	if (o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		if (listing) {
			if (op == IDN_OC_LIST)
				json_object_set_new(root, "prefix",
						    json_string(id));
			json_object_set_new(root,
					    op == IDN_OC_LIST ? "handles"
							      : "prefixes",
					    x.list);
			x.list = NULL;
		} else {
			json_object_set_new(root, "handle", json_string(id));
		}
		char *s =
			json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(root);
	} else if (!listing) {
		printf("%s %s\n", cmds[k].done, id);
	}
	json_decref(x.list);
	return 0;
}

/* idctl -s HOST:PORT --auth ADMIN:INDEX --key|--secret F batch [FILE]
 * (batch.h) */
static int cmd_batch(const opts_t *o, int argc, char **argv)
{
	if (argc > 1)
		return die_usage("batch takes at most one FILE%s", "");
	if (o->auth == NULL || o->server == NULL ||
	    (o->key_file == NULL) == (o->secret_file == NULL))
		return die_usage(
			"batch needs -s HOST:PORT, --auth ADMIN_ID:INDEX "
			"and --key FILE or --secret FILE%s",
			"");
	FILE *in = argc == 1 ? fopen(argv[0], "r") : stdin;
	if (in == NULL) {
		fprintf(stderr, "idctl: batch: cannot open %s: %s\n", argv[0],
			strerror(errno));
		return 1;
	}
	ctl_cred_t cred;
	int rc = 1;
	if (ctl_cred_load(o->key_file, o->secret_file, o->passphrase_file,
			  &cred) == 0) {
		batch_opts_t bo = {o->server, o->timeout_ms, o->auth, &cred,
				   o->overwrite};
		rc = batch_run(&bo, in, argc == 1 ? argv[0] : "-");
		ctl_cred_free(&cred);
	}
	if (in != stdin)
		fclose(in);
	return rc;
}

/* idctl admin grant|revoke ID --admin ADMIN_ID:INDEX [--perms LIST]
 * (admin_cmd.h), by the control socket or, with --auth, the network */
static int cmd_admin_perm(const opts_t *o, int argc, char **argv)
{
	if (argc != 2)
		return die_usage("admin wants grant|revoke ID --admin "
				 "ADMIN_ID:INDEX [--perms LIST]%s",
				 "");
	admin_cmd_opts_t ao = {
		control_path(o), o->server,    o->auth,	 NULL,
		o->timeout_ms,	 o->admin_ref, o->perms, o->json};
	if (o->auth == NULL && ao.control == NULL)
		return die_usage(
			"admin needs the node's control socket: -C PATH "
			"or IDNODE_CONTROL, or --auth with -s%s",
			"");
	if (o->auth != NULL &&
	    (o->server == NULL ||
	     (o->key_file == NULL) == (o->secret_file == NULL)))
		return die_usage(
			"--auth needs -s HOST:PORT and either --key FILE "
			"or --secret FILE%s",
			"");
	ctl_cred_t cred;
	memset(&cred, 0, sizeof(cred));
	if (o->auth != NULL && ctl_cred_load(o->key_file, o->secret_file,
					     o->passphrase_file, &cred) != 0)
		return 1;
	ao.cred = &cred;
	int rc = admin_cmd_run(&ao, argv[0], argv[1]);
	ctl_cred_free(&cred);
	return rc;
}

/* ---- the hierarchy: delegations, statistics, cache, site info ---- */

typedef struct {
	const idn_msg_t *m; /* the (last) reply, in the call's arena */
} grab_t;

static int on_grab(void *vctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	((grab_t *)vctx)->m = m;
	return 0;
}

/* One request to the node; *out is its reply (NULL after a transport
 * failure, which is reported here). Returns 0 or 1 (exit status). */
static int call_one(const opts_t *o, int transport, const char *where,
		    uint32_t op, uint32_t flags, idn_wr_t *body,
		    const char *cmd, const char *id, idn_arena_t *a,
		    const idn_msg_t **out)
{
	grab_t g = {NULL};
	call_t c = {a, on_grab, &g, 0, false, 0};
	*out = NULL;
	int err = build_and_call(o, transport, where, op, flags, body->buf,
				 body->len, &c);
	if (err == 0 && c.truncated) {
		c.truncated = false;
		err = build_and_call(o, IDN_NET_TCP, where, op, flags,
				     body->buf, body->len, &c);
	}
	if (err == 0 && g.m == NULL)
		err = IDN_EPROTO;
	if (err) {
		fprintf(stderr, "idctl: %s%s%s via %s: %s\n", cmd,
			*id ? " " : "", id, where, idn_strerror(err));
		return 1;
	}
	*out = g.m;
	return 0;
}

static int need_control(const opts_t *o, const char *cmd, const char **sock)
{
	*sock = control_path(o);
	if (*sock == NULL) {
		fprintf(stderr,
			"idctl: %s needs the node's control socket: -C "
			"PATH or IDNODE_CONTROL\n",
			cmd);
		return 2;
	}
	return 0;
}

/* PREFIX or 0.NA/PREFIX: the bare prefix, checked. */
static const char *delegated_prefix(const char *cmd, const char *arg)
{
	const char *p = arg;
	if (!strncasecmp(p, "0.NA/", 5))
		p += 5;
	uint8_t norm[IDN_IDENT_MAX];
	uint32_t nl;
	if (*p == 0 || strchr(p, '/') != NULL ||
	    idn_prefix_normalise((const uint8_t *)p, strlen(p), norm, &nl) !=
		    0) {
		fprintf(stderr,
			"idctl: %s: bad prefix '%s': expected a prefix "
			"such as 88.118.8 (see idctl --help)\n",
			cmd, arg);
		return NULL;
	}
	return p;
}

static int cmd_delegate(opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1)
		return die_usage("delegate needs exactly one prefix%s", "");
	if (o->to == NULL)
		return die_usage(
			"delegate needs --to HOST:PORT[,HOST:PORT...]%s", "");
	const char *prefix = delegated_prefix("delegate", argv[0]);
	if (prefix == NULL)
		return 2;
	const char *sock;
	int st = need_control(o, "delegate", &sock);
	if (st)
		return st;
	size_t pl = strlen(prefix);
	char *id = idn_arena_alloc(a, pl + 6);
	char *desc = idn_arena_alloc(a, pl + 32);
	char *admin = idn_arena_alloc(a, pl + 32);
	uint32_t n = 2 + o->nmirrors;
	idn_value_t *v = idn_arena_array(a, n, sizeof(*v));
	if (!id || !desc || !admin || !v)
		return 1;
	snprintf(id, pl + 6, "0.NA/%s", prefix);
	snprintf(desc, pl + 32, "idnode site for %s", prefix);
	char why[256];
	for (uint32_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].ttl = o->ttl;
		v[i].perms = IDN_PERM_DEFAULT;
		v[i].type = idn_bytes_str("HS_SITE");
		v[i].index = i + 1;
		if (i == n - 1)
			break;
		const char *list = i == 0 ? o->to : o->mirrors[i - 1];
		if (site_build(list, i == 0, desc, a, &v[i].data, why,
			       sizeof(why)) != 0) {
			fprintf(stderr, "idctl: delegate %s: %s%s\n", prefix,
				i == 0 ? "--to: " : "--mirror: ", why);
			return 2;
		}
	}
	/* HS_ADMIN 0.NA/PREFIX@300, all permissions */
	idn_hs_admin_t adm = {IDN_ADM_ALL, idn_bytes_str(id), 300};
	uint8_t *ab = idn_arena_alloc(a, pl + 32);
	idn_wr_t aw;
	idn_wr_init(&aw, ab, pl + 32);
	idn_hs_admin_encode(&aw, &adm);
	v[n - 1].index = 100;
	v[n - 1].type = idn_bytes_str("HS_ADMIN");
	v[n - 1].data = idn_bytes(ab, aw.len);
	idn_values_body_t b = {idn_bytes_str(id), n, v};
	size_t cap = 64 + pl;
	for (uint32_t i = 0; i < n; i++)
		cap += idn_value_size(&v[i]);
	idn_wr_t w;
	idn_wr_init(&w, idn_arena_alloc(a, cap), cap);
	idn_values_body_encode(&w, &b);
	if (aw.err || w.err || w.len > IDN_MSG_MAX - 64)
		return die_usage("delegation too large%s", "");
	const idn_msg_t *m;
	if (call_one(o, IDN_NET_UNIX, sock, IDN_OC_CREATE, IDN_OF_OVERWRITE, &w,
		     "delegate", prefix, a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		print_failure("delegate", prefix, m, (int)m->hdr.rc);
		return 1;
	}
	if (o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		json_object_set_new(root, "handle", json_string(id));
		json_t *vals = json_array();
		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(vals, value_json(&v[i], a));
		json_object_set_new(root, "values", vals);
		print_json(root);
		json_decref(root);
		return 0;
	}
	printf("delegated %s (%s)\n", prefix, id);
	for (uint32_t i = 0; i + 1 < n; i++) {
		idn_hs_site_t site;
		if (idn_hs_site_decode(v[i].data, a, &site) == 0) {
			printf("  ");
			site_print(stdout, &site);
			putchar('\n');
		}
	}
	return 0;
}

static int cmd_undelegate(opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1)
		return die_usage("undelegate needs exactly one prefix%s", "");
	const char *prefix = delegated_prefix("undelegate", argv[0]);
	if (prefix == NULL)
		return 2;
	const char *sock;
	int st = need_control(o, "undelegate", &sock);
	if (st)
		return st;
	char id[IDN_IDENT_MAX + 8];
	snprintf(id, sizeof(id), "0.NA/%s", prefix);
	idn_wr_t w;
	size_t cap = strlen(id) + 8;
	idn_wr_init(&w, idn_arena_alloc(a, cap), cap);
	idn_id_body_encode(&w, idn_bytes_str(id));
	if (w.err)
		return die_usage("prefix too long%s", "");
	const idn_msg_t *m;
	if (call_one(o, IDN_NET_UNIX, sock, IDN_OC_DELETE, 0, &w, "undelegate",
		     prefix, a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		print_failure("undelegate", prefix, m, (int)m->hdr.rc);
		return 1;
	}
	if (o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		json_object_set_new(root, "handle", json_string(id));
		print_json(root);
		json_decref(root);
	} else {
		printf("undelegated %s (deleted %s)\n", prefix, id);
	}
	return 0;
}

/* Sends a control op whose body is an identifier string and whose reply
 * is one string holding a JSON object; *out gets the object. */
static int ctl_json_op(opts_t *o, const char *cmd, uint32_t op, const char *arg,
		       idn_arena_t *a, json_t **out)
{
	const char *sock;
	int st = need_control(o, cmd, &sock);
	if (st)
		return st;
	idn_wr_t w;
	size_t cap = strlen(arg) + 8;
	idn_wr_init(&w, idn_arena_alloc(a, cap), cap);
	idn_id_body_encode(&w, idn_bytes_str(arg));
	if (w.err)
		return die_usage("argument too long%s", "");
	const idn_msg_t *m;
	if (call_one(o, IDN_NET_UNIX, sock, op, 0, &w, cmd, arg, a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		print_failure(cmd, arg, m, (int)m->hdr.rc);
		return 1;
	}
	idn_rd_t r;
	idn_rd_init(&r, m->rest.p, m->rest.len);
	idn_bytes_t text = idn_rd_str(&r, IDN_MSG_MAX);
	json_error_t je;
	json_t *j = r.err ? NULL
			  : json_loadb((const char *)text.p, text.len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		fprintf(stderr,
			"idctl: %s: the node's reply is not a JSON "
			"object\n",
			cmd);
		return 1;
	}
	*out = j;
	return 0;
}

static int cmd_stats(opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	(void)argv;
	if (argc != 0)
		return die_usage("stats takes no arguments%s", "");
	json_t *j;
	int st = ctl_json_op(o, "stats", IDN_OC_STATS, "", a, &j);
	if (st)
		return st;
	if (o->json)
		print_json(j);
	else
		stats_print(stdout, j);
	json_decref(j);
	return 0;
}

static int cmd_cache(opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc < 1)
		return die_usage("cache needs 'stats' or 'flush [PREFIX]'%s",
				 "");
	const char *sub = argv[0];
	json_t *j;
	int st;
	if (!strcmp(sub, "stats")) {
		if (argc != 1)
			return die_usage("cache stats takes no arguments%s",
					 "");
		st = ctl_json_op(o, "cache stats", IDN_OC_STATS, "", a, &j);
		if (st)
			return st;
		json_t *c = json_object_get(j, "cache");
		if (!json_is_object(c)) {
			json_decref(j);
			fprintf(stderr, "idctl: cache stats: the node reports "
					"no cache\n");
			return 1;
		}
		if (o->json)
			print_json(c);
		else
			stats_print(stdout, c);
		json_decref(j);
		return 0;
	}
	if (strcmp(sub, "flush"))
		return die_usage("unknown cache command '%s' (stats, flush)",
				 sub);
	if (argc > 2)
		return die_usage("cache flush takes at most one prefix%s", "");
	const char *prefix = argc == 2 ? argv[1] : "";
	if (*prefix && delegated_prefix("cache flush", prefix) == NULL)
		return 2;
	st = ctl_json_op(o, "cache flush", IDN_OC_CACHE_FLUSH, prefix, a, &j);
	if (st)
		return st;
	if (o->json) {
		print_json(j);
	} else {
		json_int_t k =
			json_integer_value(json_object_get(j, "flushed"));
		printf("flushed %" JSON_INTEGER_FORMAT " cache entr%s%s%s\n", k,
		       k == 1 ? "y" : "ies", *prefix ? " under " : "", prefix);
	}
	json_decref(j);
	return 0;
}

static int cmd_siteinfo(opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	(void)argv;
	if (argc != 0)
		return die_usage("siteinfo takes no arguments%s", "");
	int transport = o->tcp ? IDN_NET_TCP : IDN_NET_UDP;
	const char *where = o->server ? o->server : "127.0.0.1:2641";
	if (o->control && !o->server) {
		transport = IDN_NET_UNIX;
		where = o->control;
	}
	idn_wr_t w;
	idn_wr_init(&w, idn_arena_alloc(a, 16), 16);
	idn_id_body_encode(&w, idn_bytes_str("/")); /* as the CNRI client */
	const idn_msg_t *m;
	if (call_one(o, transport, where, IDN_OC_GET_SITE_INFO, 0, &w,
		     "siteinfo", "", a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		print_failure("siteinfo", where, m, (int)m->hdr.rc);
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
		json_object_set_new(root, "site", site_json(&site));
		print_json(root);
		json_decref(root);
		return 0;
	}
	site_print(stdout, &site);
	putchar('\n');
	for (uint32_t i = 0; i < site.nattrs; i++)
		printf("  %.*s: %.*s\n", (int)site.attrs[i].name.len,
		       site.attrs[i].name.p, (int)site.attrs[i].value.len,
		       site.attrs[i].value.p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "populate"))
		return bench_populate_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "migrate"))
		return migrate_main(argc - 1, argv + 1);
	int irc = import_dispatch(argc, argv); /* import, export */
	if (irc >= 0)
		return irc;
	irc = template_dispatch(argc, argv);
	if (irc >= 0)
		return irc;
	irc = search_dispatch(argc, argv);
	if (irc >= 0)
		return irc;
	/* cert issue, sign, resolve --verify-chain; storing a token comes
	 * back as an `add` to run below */
	char **cargv;
	int cargc;
	irc = cert_dispatch(argc, argv, &cargc, &cargv);
	if (irc >= 0)
		return irc;
	if (cargv != NULL) {
		argc = cargc;
		argv = cargv;
	}
	enum {
		O_TCP = 256,
		O_JSON,
		O_TYPE,
		O_INDEX,
		O_PUBLIC,
		O_TIMEOUT,
		O_OVERWRITE,
		O_NO_RECURSION,
		O_TRACE,
		O_VERIFY,
		O_GS1,
		O_OID,
		O_ECODE,
		O_AUTH,
		O_KEY,
		O_SECRET,
		O_PASSFILE,
		O_ADMIN,
		O_PERMS,
		O_OUT,
		O_BITS,
		O_TO,
		O_MIRROR,
		O_TTL,
		O_TEMPLATE
	};
	static const struct option lopts[] = {
		{"server", required_argument, NULL, 's'},
		{"control", required_argument, NULL, 'C'},
		{"tcp", no_argument, NULL, O_TCP},
		{"json", no_argument, NULL, O_JSON},
		{"type", required_argument, NULL, O_TYPE},
		{"index", required_argument, NULL, O_INDEX},
		{"public", no_argument, NULL, O_PUBLIC},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"overwrite", no_argument, NULL, O_OVERWRITE},
		{"template", required_argument, NULL, O_TEMPLATE},
		{"no-recursion", no_argument, NULL, O_NO_RECURSION},
		{"trace", no_argument, NULL, O_TRACE},
		{"verify", no_argument, NULL, O_VERIFY},
		{"gs1-prefix", required_argument, NULL, O_GS1},
		{"oid-prefix", required_argument, NULL, O_OID},
		{"ecode-prefix", required_argument, NULL, O_ECODE},
		{"auth", required_argument, NULL, O_AUTH},
		{"key", required_argument, NULL, O_KEY},
		{"secret", required_argument, NULL, O_SECRET},
		{"passphrase-file", required_argument, NULL, O_PASSFILE},
		{"admin", required_argument, NULL, O_ADMIN},
		{"perms", required_argument, NULL, O_PERMS},
		{"out", required_argument, NULL, O_OUT},
		{"bits", required_argument, NULL, O_BITS},
		{"to", required_argument, NULL, O_TO},
		{"mirror", required_argument, NULL, O_MIRROR},
		{"ttl", required_argument, NULL, O_TTL},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static opts_t o;
	const char *keygen_out = NULL;
	int keygen_bits = 2048;
	o.timeout_ms = 3000;
	o.ttl = IDN_TTL_DEFAULT;
	int c;
	uint32_t x;
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":s:C:h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.server = optarg;
			break;
		case 'C':
			o.control = optarg;
			break;
		case O_TCP:
			o.tcp = true;
			break;
		case O_JSON:
			o.json = true;
			break;
		case O_PUBLIC:
			o.public_only = true;
			break;
		case O_OVERWRITE:
			o.overwrite = true;
			break;
		case O_TEMPLATE:
			o.tpl_ref = optarg;
			break;
		case O_NO_RECURSION:
			o.no_recursion = true;
			break;
		case O_TRACE:
			o.trace = true;
			break;
		case O_VERIFY:
			o.verify = true;
			break;
		case O_GS1:
			o.schemes.gs1 = optarg;
			break;
		case O_OID:
			o.schemes.oid = optarg;
			break;
		case O_ECODE:
			o.schemes.ecode = optarg;
			break;
		case O_AUTH:
			o.auth = optarg;
			break;
		case O_KEY:
			o.key_file = optarg;
			break;
		case O_SECRET:
			o.secret_file = optarg;
			break;
		case O_PASSFILE:
			o.passphrase_file = optarg;
			break;
		case O_ADMIN:
			o.admin_ref = optarg;
			break;
		case O_PERMS:
			o.perms = optarg;
			break;
		case O_OUT:
			keygen_out = optarg;
			break;
		case O_BITS:
			if (parse_u32(optarg, strlen(optarg), 10, &x) != 0 ||
			    x < 2048 || x > 8192)
				return die_usage("bad --bits '%s' (2048..8192)",
						 optarg);
			keygen_bits = (int)x;
			break;
		case O_TO:
			if (o.to != NULL)
				return die_usage("--to given twice: list the "
						 "servers of the primary site "
						 "in one --to A,B%s",
						 "");
			o.to = optarg;
			break;
		case O_MIRROR:
			if (o.nmirrors == MAX_MIRRORS)
				return die_usage("too many --mirror%s", "");
			o.mirrors[o.nmirrors++] = optarg;
			break;
		case O_TTL:
			if (parse_u32(optarg, strlen(optarg), 10, &x) != 0 ||
			    x > 0x7fffffff)
				return die_usage("bad --ttl '%s': seconds, "
						 "0..2147483647",
						 optarg);
			o.ttl = x;
			break;
		case O_TYPE:
			if (o.ntypes == MAX_ITEMS)
				return die_usage("too many --type%s", "");
			o.types[o.ntypes++] = idn_bytes_str(optarg);
			break;
		case O_INDEX:
			if (o.nindexes == MAX_ITEMS ||
			    parse_u32(optarg, strlen(optarg), 10, &x) != 0)
				return die_usage("bad --index '%s'", optarg);
			o.indexes[o.nindexes++] = x;
			break;
		case O_TIMEOUT:
			if (parse_u32(optarg, strlen(optarg), 10, &x) != 0 ||
			    x == 0)
				return die_usage("bad --timeout '%s'", optarg);
			o.timeout_ms = (int)x;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: {
			char name[3] = {'-', (char)optopt, 0};
			const char *last = argv[optind - 1];
			const char *opt = !strncmp(last, "--", 2) ? last : name;
			return die_usage(c == ':' ? "option '%s' needs a value"
						  : "unknown option '%s'",
					 opt);
		}
		}
	}
	if (optind >= argc)
		return die_usage("no command given%s", "");
	const char *cmd = argv[optind];
	if (!strcmp(cmd, "keygen")) {
		if (keygen_out == NULL)
			return die_usage("keygen needs --out FILE%s", "");
		if (o.ntypes > 1)
			return die_usage(
				"keygen takes one --type (rsa or sm2)%s", "");
		return ctl_keygen(keygen_out,
				  o.ntypes ? (const char *)o.types[0].p : NULL,
				  keygen_bits, o.passphrase_file);
	}
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int rc;
	if ((o.to || o.nmirrors || o.ttl != IDN_TTL_DEFAULT) &&
	    strcmp(cmd, "delegate"))
		return die_usage("--to, --mirror and --ttl belong to delegate, "
				 "not %s",
				 cmd);
	int nargs = argc - optind - 1;
	char **args = argv + optind + 1;
	if (!strcmp(cmd, "resolve"))
		rc = cmd_resolve(&o, nargs, args, &a);
	else if (!strcmp(cmd, "delegate"))
		rc = cmd_delegate(&o, nargs, args, &a);
	else if (!strcmp(cmd, "undelegate"))
		rc = cmd_undelegate(&o, nargs, args, &a);
	else if (!strcmp(cmd, "stats"))
		rc = cmd_stats(&o, nargs, args, &a);
	else if (!strcmp(cmd, "cache"))
		rc = cmd_cache(&o, nargs, args, &a);
	else if (!strcmp(cmd, "siteinfo"))
		rc = cmd_siteinfo(&o, nargs, args, &a);
	else if (!strcmp(cmd, "batch"))
		rc = cmd_batch(&o, nargs, args);
	else if (!strcmp(cmd, "admin"))
		rc = cmd_admin_perm(&o, nargs, args);
	else
		rc = cmd_admin(&o, cmd, argc - optind - 1, argv + optind + 1,
			       &a);
	idn_arena_free(&a);
	return rc;
}
