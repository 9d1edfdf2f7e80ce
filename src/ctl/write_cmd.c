/* idctl's writes: create, delete, add, modify, remove, list, home,
 * unhome, homed over the control socket or, with --auth, over TCP
 * answering the node's challenge; batch; admin grant|revoke; keygen. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_cmd.h"
#include "batch.h"
#include "cli.h"
#include "error.h"
#include "hex.h"
#include "keys.h"
#include "msg.h"
#include "net.h"
#include "value.h"
#include "wire.h"

static json_t *jstr(idn_bytes_t b)
{
	return json_stringn((const char *)b.p, b.len);
}

/* ---- value specs ---- */

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
	return ctl_parse_u32(at + 1, (size_t)(s + n - at - 1), 10, &ref->index);
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
	if (ctl_parse_u32(p, (size_t)(iend - p), 10, &v->index) != 0)
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
			if (ctl_parse_u32(p + 4, n - 4, 10, &v->ttl) != 0)
				return -1;
		} else if (n == 3 && !strncmp(p, "abs", 3)) {
			v->ttl_type = IDN_TTL_ABSOLUTE;
		} else if (n > 6 && !strncmp(p, "perms=", 6)) {
			if (ctl_parse_u32(p + 6, n - 6, 16, &x) != 0 || x > 0xf)
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
			if (ctl_parse_u32(hash + 1, strlen(hash + 1), 16,
					  &perms) ||
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

/* ---- administration over the network: the node challenges ---- */

typedef struct {
	uint8_t nonce[64], digest[64];
	uint32_t nonce_len, digest_len;
	uint32_t session;
	uint8_t major, minor; /* the challenge's protocol version */
	bool challenged;
	ctl_call_t *inner; /* handles any other reply */
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
		x->major = env->major;
		x->minor = env->minor;
		x->challenged = true;
		return 1;
	}
	return x->inner->on_reply(x->inner->ctx, env, m);
}

/* Sends the request over TCP; when the node challenges it, signs
 * nonce || request digest with the admin's key and answers on a new
 * connection, whose reply is the request's (cli.h). */
int ctl_call_auth(const ctl_opts_t *o, const char *server, uint32_t op,
		  uint32_t flags, const uint8_t *body, size_t blen,
		  ctl_call_t *c)
{
	const char *colon = strrchr(o->auth, ':');
	uint32_t index;
	if (colon == NULL || colon == o->auth ||
	    ctl_parse_u32(colon + 1, strlen(colon + 1), 10, &index) != 0) {
		fprintf(stderr,
			"idctl: --auth wants ADMIN_ID:INDEX, e.g. 0.NA/88.118.8:300\n");
		return IDN_EINVAL;
	}
	ctl_cred_t cred;
	if (ctl_cred_load(o->key_file, o->secret_file, o->passphrase_file,
			  &cred) != 0)
		return IDN_EINVAL;
	challenge_ctx_t x = {.inner = c};
	ctl_call_t first = *c;
	first.on_reply = on_challenge;
	first.ctx = &x;
	int err = ctl_node_call(o, IDN_NET_TCP, server, op, flags, body, blen,
				&first);
	c->rc = first.rc;
	if (err || !x.challenged)
		goto out;
	uint8_t abuf[4096];
	idn_wr_t aw;
	idn_wr_init(&aw, abuf, sizeof(abuf));
	err = ctl_answer_encode_v(&cred, x.major, x.minor,
				  idn_bytes(o->auth, (size_t)(colon - o->auth)),
				  index, idn_bytes(x.nonce, x.nonce_len),
				  idn_bytes(x.digest, x.digest_len), &aw);
	if (err)
		goto out;
	c->session = x.session;
	err = ctl_node_call(o, IDN_NET_TCP, server, IDN_OC_CHALLENGE_ANSWER, 0,
			    aw.buf, aw.len, c);
out:
	ctl_cred_free(&cred);
	return err;
}

typedef struct {
	const ctl_opts_t *o;
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
		ctl_print_failure(x->what, x->id, m, (int)m->hdr.rc);
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

static int cmd_admin(ctl_opts_t *o, const char *cmd, int argc, char **argv,
		     idn_arena_t *a)
{
	static const struct {
		const char *name;
		uint32_t op;
		int min, max; /* argument counts */
		const char *done;
	} cmds[] = {
		{"create", IDN_OC_CREATE, 2, CTL_MAX_ITEMS + 1, "created"},
		{"delete", IDN_OC_DELETE, 1, 1, "deleted"},
		{"add", IDN_OC_ADD_VALUE, 2, CTL_MAX_ITEMS + 1,
		 "added values to"},
		{"modify", IDN_OC_MODIFY_VALUE, 2, CTL_MAX_ITEMS + 1,
		 "modified"},
		{"remove", IDN_OC_REMOVE_VALUE, 2, CTL_MAX_ITEMS + 1,
		 "removed values from"},
		{"list", IDN_OC_LIST, 1, 1, NULL},
		{"home", IDN_OC_HOME, 1, 1, "homed"},
		{"unhome", IDN_OC_UNHOME, 1, 1, "unhomed"},
		{"homed", IDN_OC_LIST_HOMED, 0, 0, NULL},
		{"checkpoint", IDN_OC_BACKUP_SERVER, 0, 0, NULL},
	};
	size_t k = 0;
	while (k < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[k].name, cmd))
		k++;
	if (k == sizeof(cmds) / sizeof(cmds[0]))
		return ctl_usage("unknown command '%s'", cmd);
	if (argc < cmds[k].min || argc > cmds[k].max)
		return ctl_usage("wrong number of arguments for %s", cmd);
	/* the command table (idctl.c) made sure of one or the other */
	const char *sock = o->auth != NULL ? o->server : ctl_control_path(o);
	uint32_t op = cmds[k].op;
	/* the node answers once its copy is made and checked */
	if (op == IDN_OC_BACKUP_SERVER && o->timeout_ms == 0)
		o->timeout_ms = 6 * 3600 * 1000;
	/* BACKUP_SERVER names no identifier; HANDLE.NET's client sends "/" */
	const char *id = argc > 0		      ? argv[0]
			 : op == IDN_OC_BACKUP_SERVER ? "/"
						      : "";
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
				return ctl_usage(
					"bad value '%s': expected INDEX[,OPTION...]:TYPE=DATA",
					argv[i]);
		if (o->tpl_ref != NULL) {
			/* the node's template binding (src/node/tplcheck.h) */
			const char *at = strrchr(o->tpl_ref, '@');
			if (o->tpl_ref[0] == 0 || at == o->tpl_ref ||
			    (at != NULL && at[1] == 0))
				return ctl_usage(
					"bad --template '%s': expected NAME or "
					"NAME@VERSION",
					o->tpl_ref);
			/* the national form: index 1001, type TEMPLATE */
			b.values[b.nvalues++] =
				(idn_value_t){1001,
					      0,
					      IDN_TTL_RELATIVE,
					      IDN_TTL_DEFAULT,
					      IDN_PERM_DEFAULT,
					      idn_bytes_str("TEMPLATE"),
					      idn_bytes_str(o->tpl_ref),
					      0,
					      NULL};
		}
		idn_values_body_encode(&w, &b);
	} else if (o->tpl_ref != NULL) {
		return ctl_usage(
			"--template belongs to create, add and modify, not %s",
			cmd);
	} else if (op == IDN_OC_REMOVE_VALUE) {
		idn_remove_req_t b = {
			idn_bytes_str(id), (uint32_t)argc - 1,
			idn_arena_array(a, (size_t)argc, sizeof(uint32_t))};
		for (int i = 1; i < argc; i++)
			if (ctl_parse_u32(argv[i], strlen(argv[i]), 10,
					  &b.indexes[i - 1]))
				return ctl_usage("bad index '%s'", argv[i]);
		idn_remove_req_encode(&w, &b);
	} else if (op != IDN_OC_LIST_HOMED) {
		idn_id_body_encode(&w, idn_bytes_str(id));
	}
	if (w.err)
		return ctl_usage("request too large%s", "");
	bool listing = op == IDN_OC_LIST || op == IDN_OC_LIST_HOMED;
	idn_arena_t la;
	idn_arena_init(&la, 0);
	admin_ctx_t x = {o,    &la, cmd, id, 0, listing ? json_array() : NULL,
			 false};
	ctl_call_t c = {a, on_admin, &x, 0, false, 0};
	uint32_t flags = o->overwrite ? IDN_OF_OVERWRITE : 0;
	int err = o->auth != NULL
			  ? ctl_call_auth(o, sock, op, flags, w.buf, w.len, &c)
			  : ctl_node_call(o, IDN_NET_UNIX, sock, op, flags,
					  w.buf, w.len, &c);
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
		ctl_print_json(root);
		json_decref(root);
	} else if (op == IDN_OC_BACKUP_SERVER) {
		printf("checkpoint: the node made a dated copy of its store "
		       "under its backup-dir (its log names it)\n");
	} else if (!listing) {
		printf("%s %s\n", cmds[k].done, id);
	}
	json_decref(x.list);
	return 0;
}

/* idctl -s HOST:PORT --auth ADMIN:INDEX --key|--secret F batch [FILE]
 * (batch.h) */
static int cmd_batch(const ctl_opts_t *o, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage("batch takes at most one FILE%s", "");
	FILE *in = argc == 1 ? fopen(argv[0], "r") : stdin;
	if (in == NULL) {
		fprintf(stderr, "idctl: batch: cannot open %s: %s\n", argv[0],
			strerror(errno));
		return 1;
	}
	ctl_cred_t cred;
	memset(&cred, 0, sizeof(cred));
	int rc = 1;
	/* without --auth, a HANDLE.NET batch file may AUTHENTICATE itself */
	if (o->auth == NULL || ctl_cred_load(o->key_file, o->secret_file,
					     o->passphrase_file, &cred) == 0) {
		batch_opts_t bo = {o->server, ctl_timeout(o, CTL_TIMEOUT_MS),
				   o->auth, o->auth ? &cred : NULL,
				   o->overwrite};
		rc = batch_run(&bo, in, argc == 1 ? argv[0] : "-");
		if (o->auth != NULL)
			ctl_cred_free(&cred);
	}
	if (in != stdin)
		fclose(in);
	return rc;
}

/* idctl admin grant|revoke ID --admin ADMIN_ID:INDEX [--perms LIST]
 * (admin_cmd.h), by the control socket or, with --auth, the network */
static int cmd_admin_perm(const ctl_opts_t *o, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage("admin wants grant|revoke ID --admin "
				 "ADMIN_ID:INDEX [--perms LIST]%s",
				 "");
	admin_cmd_opts_t ao = {ctl_control_path(o),
			       o->server,
			       o->auth,
			       NULL,
			       ctl_timeout(o, CTL_TIMEOUT_MS),
			       o->admin_ref,
			       o->perms,
			       o->json};
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

int ctl_cmd_write(ctl_opts_t *o, int argc, char **argv)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int rc = cmd_admin(o, argv[0], argc - 1, argv + 1, &a);
	idn_arena_free(&a);
	return rc;
}

int ctl_cmd_batch(ctl_opts_t *o, int argc, char **argv)
{
	return cmd_batch(o, argc - 1, argv + 1);
}

int ctl_cmd_admin_perm(ctl_opts_t *o, int argc, char **argv)
{
	return cmd_admin_perm(o, argc - 1, argv + 1);
}

/* keygen --out FILE [--type rsa|sm2] [--bits N]; the passphrase comes
 * from the global --passphrase-file. */
int ctl_cmd_keygen(ctl_opts_t *o, int argc, char **argv)
{
	const char *out = NULL, *type = NULL;
	uint32_t bits = 2048;
	bool national = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--out")) {
			out = v;
		} else if (!strcmp(a, "--bits")) {
			if (ctl_parse_u32(v, strlen(v), 10, &bits) != 0 ||
			    bits < 2048 || bits > 8192)
				return ctl_usage("bad --bits '%s' (2048..8192)",
						 v);
		} else if (!strcmp(a, "--type")) {
			if (type != NULL)
				return ctl_usage(
					"keygen takes one --type (rsa or sm2)%s",
					"");
			type = v;
		} else if (!strcmp(a, "--form")) {
			if (strcmp(v, "raw") && strcmp(v, "national"))
				return ctl_usage(
					"bad --form '%s' (raw or national)", v);
			national = !strcmp(v, "national");
		} else {
			return ctl_usage("keygen takes no argument '%s'", a);
		}
		i++;
	}
	if (out == NULL)
		return ctl_usage("keygen needs --out FILE%s", "");
	return ctl_keygen(out, type, (int)bits, national, o->passphrase_file);
}

int ctl_cmd_key(ctl_opts_t *o, int argc, char **argv)
{
	const char *to = NULL, *outpass = NULL, *pos[2];
	int npos = 0;
	if (argc < 2 || strcmp(argv[1], "convert"))
		return ctl_usage("key takes convert IN OUT%s", "");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--to") || !strcmp(a, "--out-passphrase-file")) {
			if (i + 1 >= argc)
				return ctl_usage("%s needs a value", a);
			*(a[2] == 't' ? &to : &outpass) = argv[++i];
		} else if (a[0] == '-' && a[1] == '-') {
			return ctl_usage("key convert takes no option '%s'", a);
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			return ctl_usage("key convert takes IN and OUT only, "
					 "not '%s'",
					 a);
		}
	}
	if (npos != 2)
		return ctl_usage("key convert needs IN and OUT%s", "");
	return ctl_key_convert(pos[0], pos[1], to, o->passphrase_file, outpass);
}
