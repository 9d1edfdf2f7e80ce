/* idctl template: metadata templates of a prefix, stored by the node as
 * the record PREFIX/TEMPLATE/NAME with one IDN_TEMPLATE value per version
 * (index = version), through the control socket. */
#include "template_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlutil.h"
#include "error.h"
#include "ident.h"
#include "msg.h"
#include "net.h"
#include "template.h"
#include "value.h"
#include "wire.h"

static const char tpl_usage[] =
	"usage: idctl -C SOCKET template put PREFIX FILE.json\n"
	"       idctl -C SOCKET template get PREFIX NAME [VERSION] [--json]\n"
	"       idctl -C SOCKET template publish|withdraw PREFIX NAME VERSION\n"
	"       idctl -C SOCKET template delete PREFIX NAME [VERSION]\n"
	"\n"
	"A template NAME of PREFIX is the record PREFIX/TEMPLATE/NAME; each\n"
	"version is its value at index VERSION (1..1999), type IDN_TEMPLATE.\n"
	"put stores the draft FILE.json describes (the template JSON of\n"
	"docs/http-api.md: prefix, name, version, industry, items): a new\n"
	"version, or a replacement of that version while it is a draft.\n"
	"publish freezes a draft; withdraw retires a published version (no\n"
	"new record may use it). get prints one version, or every version,\n"
	"with --json as template JSON. delete removes one draft version, or\n"
	"without VERSION the whole template; the node refuses while records\n"
	"still use a version being removed, naming how many and one of them.\n"
	"A record uses a template with: idctl create ID --template "
	"NAME@VERSION\n"
	"VALUE... (the value 1001:TEMPLATE=NAME@VERSION); the node "
	"then\n"
	"refuses (rc 202) any write that leaves it not conforming.\n"
	"Exit status: 0 success, 1 the node refused or failed, 2 usage "
	"error.\n";

typedef struct {
	const char *sock;
	int timeout_ms;
	bool json;
	idn_arena_t a;
} tctx_t;

static int usage_err(const char *fmt, const char *arg)
{
	fputs("idctl: template: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (idctl template --help)\n", stderr);
	return 2;
}

/* One request through the control socket; *m gets the reply. Returns 0 or
 * a transport error (reported here). */
static int call(tctx_t *x, uint32_t op, const idn_wr_t *body, idn_msg_t *m)
{
	ctl_reply_t g;
	int err = ctl_request(IDN_NET_UNIX, x->sock, x->timeout_ms, op, 0, body,
			      &x->a, &g);
	if (err == 0)
		err = g.got ? 0 : IDN_EPROTO;
	if (err)
		fprintf(stderr, "idctl: template: via %s: %s\n", x->sock,
			idn_strerror(err));
	else
		*m = g.m;
	return err;
}

static void print_refusal(const char *what, const idn_msg_t *m)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "template %s", what);
	ctl_print_refusal(cmd, m);
}

/* Reports a reply to a request on template id (version 0: all of it)
 * that did not succeed: not found, as "idctl: CMD: no template ...", or
 * another refusal of WHAT. Returns 0 on success, else 1. */
static int check_found(const char *cmd, const char *what, const char *id,
		       uint32_t version, const idn_msg_t *m)
{
	if (m->hdr.rc == IDN_RC_NOT_FOUND ||
	    m->hdr.rc == IDN_RC_VALUES_NOT_FOUND) {
		if (version)
			fprintf(stderr,
				"idctl: %s: no template %s version %u (rc %u)\n",
				cmd, id, version, m->hdr.rc);
		else
			fprintf(stderr, "idctl: %s: no template %s (rc %u)\n",
				cmd, id, m->hdr.rc);
		return 1;
	}
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		print_refusal(what, m);
		return 1;
	}
	return 0;
}

/* "PREFIX/TEMPLATE/NAME" into out. */
static int record_id(const char *prefix, const char *name, char *out,
		     size_t cap)
{
	int n = snprintf(out, cap, "%s/TEMPLATE/%s", prefix, name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The template values of the record (one version, or all with version
 * 0). Returns 0 (values in *v, *n), 1 after reporting. */
static int fetch(tctx_t *x, const char *id, uint32_t version, idn_value_t **v,
		 uint32_t *n)
{
	uint8_t buf[IDN_IDENT_MAX + 64];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_bytes_t type = idn_bytes_str("IDN_TEMPLATE");
	idn_resolve_req_t q = {idn_bytes_str(id), version ? 1 : 0, &version,
			       version ? 0 : 1, &type};
	idn_resolve_req_encode(&w, &q);
	if (w.err) {
		fprintf(stderr, "idctl: template: identifier too long: %s\n",
			id);
		return 1;
	}
	idn_msg_t m;
	if (call(x, IDN_OC_RESOLUTION, &w, &m) != 0)
		return 1;
	if (check_found("template", "get", id, version, &m) != 0)
		return 1;
	idn_values_body_t b;
	if (idn_values_body_decode(m.rest, &x->a, &b) != 0) {
		fprintf(stderr, "idctl: template get: malformed reply\n");
		return 1;
	}
	*v = b.values;
	*n = b.nvalues;
	return 0;
}

/* add-or-create-or-modify: the op to try after sent was answered rc, or
 * 0. Each op follows only an earlier one, so the chain ends after at
 * most three requests whatever the node answers (a MODIFY is never
 * retried). */
static uint32_t store_next_op(uint32_t sent, uint32_t rc)
{
	if (sent == IDN_OC_ADD_VALUE && rc == IDN_RC_NOT_FOUND)
		return IDN_OC_CREATE;
	if ((sent == IDN_OC_ADD_VALUE || sent == IDN_OC_CREATE) &&
	    rc == IDN_RC_VALUE_EXISTS)
		return IDN_OC_MODIFY_VALUE;
	return 0;
}

/* Writes template t as the value of its version: add, or create the
 * record, or (modify) replace the version. op 0: add-or-create-or-modify. */
static int store(tctx_t *x, const char *what, const char *id,
		 const idn_template_t *t, uint32_t op)
{
	size_t sz = idn_template_size(t);
	uint8_t *data = idn_arena_alloc(&x->a, sz ? sz : 1);
	size_t cap = sz + strlen(id) + 256;
	uint8_t *body = idn_arena_alloc(&x->a, cap);
	if (data == NULL || body == NULL)
		return 1;
	idn_wr_t dw;
	idn_wr_init(&dw, data, sz);
	if (idn_template_encode(t, &dw) != 0)
		return 1;
	idn_value_t v = {t->version,
			 0,
			 IDN_TTL_RELATIVE,
			 IDN_TTL_DEFAULT,
			 IDN_PERM_DEFAULT,
			 idn_bytes_str("IDN_TEMPLATE"),
			 idn_bytes(data, dw.len),
			 0,
			 NULL};
	idn_values_body_t b = {idn_bytes_str(id), 1, &v};
	idn_wr_t w;
	idn_wr_init(&w, body, cap);
	idn_values_body_encode(&w, &b);
	idn_msg_t m;
	uint32_t next = op ? op : IDN_OC_ADD_VALUE;
	do {
		uint32_t sent = next;
		if (call(x, sent, &w, &m) != 0)
			return 1;
		next = op ? 0 : store_next_op(sent, m.hdr.rc);
	} while (next != 0);
	if (m.hdr.rc != IDN_RC_SUCCESS) {
		print_refusal(what, &m);
		return 1;
	}
	return 0;
}

static void print_human(const idn_template_t *t)
{
	printf("%s/TEMPLATE/%s version %u: %s, industry %s", t->prefix, t->name,
	       t->version, idn_tpl_state_name(t->state), t->industry);
	if (t->has_based_on)
		printf(", based on %s@%u", t->based_on_name,
		       t->based_on_version);
	printf(", %u item%s\n", t->nitems, t->nitems == 1 ? "" : "s");
	for (uint32_t i = 0; i < t->nitems; i++) {
		const idn_tpl_item_t *it = &t->items[i];
		printf("  %u %s %s%s", it->index, it->name,
		       idn_tpl_type_name(it->type),
		       it->required ? " required" : "");
		if (it->min_len || it->max_len)
			printf(" length %u..%u", it->min_len, it->max_len);
		for (uint32_t k = 0; k < it->nenum; k++)
			printf("%s%s", k ? "|" : " one of ", it->enums[k]);
		putchar('\n');
	}
}

static int cmd_put(tctx_t *x, const char *prefix, const char *file)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (f == NULL) {
		fprintf(stderr, "idctl: template put: cannot open %s: %s\n",
			file, strerror(errno));
		return 1;
	}
	char *buf = malloc(IDN_TPL_JSON_MAX + 1);
	size_t n = buf ? fread(buf, 1, IDN_TPL_JSON_MAX + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (buf == NULL)
		return 1;
	idn_template_t t;
	char err[256];
	int e = idn_template_from_json(buf, n, NULL, &t, err, sizeof(err));
	free(buf);
	if (e) {
		fprintf(stderr, "idctl: template put: %s: %s\n", file,
			e == IDN_ETOOLONG ? "file too large" : err);
		return 1;
	}
	uint8_t a[IDN_IDENT_MAX], b[IDN_IDENT_MAX];
	uint32_t al, bl;
	int rc = 1;
	char id[IDN_IDENT_MAX + 1];
	if (idn_prefix_normalise((const uint8_t *)prefix, strlen(prefix), a,
				 &al) != 0 ||
	    idn_prefix_normalise((const uint8_t *)t.prefix, strlen(t.prefix), b,
				 &bl) != 0 ||
	    al != bl || memcmp(a, b, al) != 0) {
		fprintf(stderr,
			"idctl: template put: %s is a template of "
			"prefix %s, not %s\n",
			file, t.prefix, prefix);
	} else if (t.state != IDN_TPL_DRAFT) {
		fprintf(stderr,
			"idctl: template put: %s is %s: put stores "
			"drafts (then template publish)\n",
			file, idn_tpl_state_name(t.state));
	} else if (record_id(prefix, t.name, id, sizeof(id)) != 0) {
		fprintf(stderr, "idctl: template put: name too long\n");
	} else if (store(x, "put", id, &t, 0) == 0) {
		printf("stored %s version %u (draft)\n", id, t.version);
		rc = 0;
	}
	idn_template_free(&t);
	return rc;
}

static int parse_version(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || n < 1 || n > 1999)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* fetch of record PREFIX/TEMPLATE/NAME, its identifier into id. Returns
 * 0, or the exit status after reporting. */
static int fetch_named(tctx_t *x, const char *prefix, const char *name,
		       uint32_t version, char id[static IDN_IDENT_MAX + 1],
		       idn_value_t **v, uint32_t *n)
{
	if (record_id(prefix, name, id, IDN_IDENT_MAX + 1) != 0)
		return usage_err("name too long: %s", name);
	return fetch(x, id, version, v, n);
}

static int cmd_get(tctx_t *x, const char *prefix, const char *name,
		   uint32_t version)
{
	char id[IDN_IDENT_MAX + 1];
	idn_value_t *v;
	uint32_t n;
	int st = fetch_named(x, prefix, name, version, id, &v, &n);
	if (st)
		return st;
	json_t *arr = json_array();
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		idn_template_t t;
		char err[256];
		if (idn_template_decode(v[i].data.p, v[i].data.len, NULL, &t,
					err, sizeof(err)) != 0) {
			fprintf(stderr,
				"idctl: template get: %s version %u: "
				"%s\n",
				id, v[i].index, err);
			rc = 1;
			break;
		}
		if (x->json)
			json_array_append_new(arr, idn_template_to_jansson(&t));
		else
			print_human(&t);
		idn_template_free(&t);
	}
	if (rc == 0 && x->json) {
		json_t *out =
			version ? json_incref(json_array_get(arr, 0)) : arr;
		ctl_print_json(out);
		if (version)
			json_decref(out);
	}
	json_decref(arr);
	return rc;
}

static int cmd_state(tctx_t *x, bool publish, const char *prefix,
		     const char *name, uint32_t version)
{
	const char *what = publish ? "publish" : "withdraw";
	char id[IDN_IDENT_MAX + 1];
	idn_value_t *v;
	uint32_t n;
	int st = fetch_named(x, prefix, name, version, id, &v, &n);
	if (st)
		return st;
	idn_template_t t;
	char err[256];
	if (n != 1 || idn_template_decode(v[0].data.p, v[0].data.len, NULL, &t,
					  err, sizeof(err)) != 0) {
		fprintf(stderr,
			"idctl: template %s: %s version %u is not a "
			"template\n",
			what, id, version);
		return 1;
	}
	int e = publish ? idn_template_publish(&t, NULL, err, sizeof(err))
			: idn_template_withdraw(&t, err, sizeof(err));
	int rc = 1;
	if (e)
		fprintf(stderr, "idctl: template %s: %s version %u: %s\n", what,
			id, version, err);
	else if (store(x, what, id, &t, IDN_OC_MODIFY_VALUE) == 0) {
		printf("%s %s version %u\n", publish ? "published" : "withdrew",
		       id, version);
		rc = 0;
	}
	idn_template_free(&t);
	return rc;
}

/* Removes one version (a draft) or, with version 0, the whole template
 * record. */
static int cmd_delete(tctx_t *x, const char *prefix, const char *name,
		      uint32_t version)
{
	char id[IDN_IDENT_MAX + 1];
	if (record_id(prefix, name, id, sizeof(id)) != 0)
		return usage_err("name too long: %s", name);
	uint8_t buf[IDN_IDENT_MAX + 64];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	if (version) {
		idn_remove_req_t q = {idn_bytes_str(id), 1, &version};
		idn_remove_req_encode(&w, &q);
	} else {
		idn_id_body_encode(&w, idn_bytes_str(id));
	}
	if (w.err)
		return usage_err("identifier too long: %s", id);
	idn_msg_t m;
	if (call(x, version ? IDN_OC_REMOVE_VALUE : IDN_OC_DELETE, &w, &m) != 0)
		return 1;
	if (check_found("template delete", "delete", id, version, &m) != 0)
		return 1;
	if (version)
		printf("deleted %s version %u\n", id, version);
	else
		printf("deleted %s\n", id);
	return 0;
}

const ctl_optdef_t template_opts[] = {
	{"help", 'h', false},
	{NULL, 0, false},
};

int template_main(ctl_opts_t *o, int argc, char **argv)
{
	tctx_t x = {ctl_control_path(o), ctl_timeout(o, 10000), o->json, {0}};
	const char *pos[8];
	int np = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help")) {
			fputs(tpl_usage, stdout);
			return 0;
		} else if (np < 8) {
			pos[np++] = a;
		} else {
			return usage_err("too many arguments%s", "");
		}
	}
	if (np == 0)
		return usage_err(
			"needs put, get, publish, withdraw or delete%s", "");
	const char *sub = pos[0];
	uint32_t ver = 0;
	int rc;
	idn_arena_init(&x.a, 0);
	if (!strcmp(sub, "put")) {
		rc = np == 3 ? cmd_put(&x, pos[1], pos[2])
			     : usage_err("put needs PREFIX FILE.json%s", "");
	} else if (!strcmp(sub, "get")) {
		if (np < 3 || np > 4)
			rc = usage_err("get needs PREFIX NAME [VERSION]%s", "");
		else if (np == 4 && parse_version(pos[3], &ver) != 0)
			rc = usage_err("bad version '%s' (1..1999)", pos[3]);
		else
			rc = cmd_get(&x, pos[1], pos[2], ver);
	} else if (!strcmp(sub, "publish") || !strcmp(sub, "withdraw")) {
		if (np != 4)
			rc = usage_err("%s needs PREFIX NAME VERSION", sub);
		else if (parse_version(pos[3], &ver) != 0)
			rc = usage_err("bad version '%s' (1..1999)", pos[3]);
		else
			rc = cmd_state(&x, sub[0] == 'p', pos[1], pos[2], ver);
	} else if (!strcmp(sub, "delete")) {
		if (np < 3 || np > 4)
			rc = usage_err("delete needs PREFIX NAME [VERSION]%s",
				       "");
		else if (np == 4 && parse_version(pos[3], &ver) != 0)
			rc = usage_err("bad version '%s' (1..1999)", pos[3]);
		else
			rc = cmd_delete(&x, pos[1], pos[2], ver);
	} else {
		rc = usage_err("unknown subcommand '%s' (put, get, publish, "
			       "withdraw, delete)",
			       sub);
	}
	idn_arena_free(&x.a);
	return rc;
}
