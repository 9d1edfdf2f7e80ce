#include "admin_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ctlutil.h"
#include "error.h"
#include "ident.h"
#include "msg.h"
#include "net.h"
#include "session.h"
#include "value.h"

static const struct {
	const char *name;
	uint16_t bit;
} perm_names[] = {
	{"add_handle", IDN_ADM_ADD_HANDLE},
	{"delete_handle", IDN_ADM_DELETE_HANDLE},
	{"add_prefix", IDN_ADM_ADD_PREFIX},
	{"delete_prefix", IDN_ADM_DELETE_PREFIX},
	{"modify_value", IDN_ADM_MODIFY_VALUE},
	{"remove_value", IDN_ADM_REMOVE_VALUE},
	{"add_value", IDN_ADM_ADD_VALUE},
	{"modify_admin", IDN_ADM_MODIFY_ADMIN},
	{"remove_admin", IDN_ADM_REMOVE_ADMIN},
	{"add_admin", IDN_ADM_ADD_ADMIN},
	{"read_value", IDN_ADM_READ_VALUE},
	{"list", IDN_ADM_LIST},
	{"all", IDN_ADM_ALL},
};

int admin_perms_parse(const char *list, uint16_t *out, const char **bad,
		      size_t *badlen)
{
	uint16_t bits = 0;
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		size_t k = 0;
		while (k < sizeof(perm_names) / sizeof(perm_names[0]) &&
		       (strlen(perm_names[k].name) != n ||
			strncmp(perm_names[k].name, p, n)))
			k++;
		if (k == sizeof(perm_names) / sizeof(perm_names[0])) {
			*bad = p;
			*badlen = n;
			return -1;
		}
		bits |= perm_names[k].bit;
		if (p[n] == 0)
			break;
		p += n + 1;
	}
	*out = bits;
	return 0;
}

/* The way to the node: its control socket, or a session over TCP. */
typedef struct {
	idn_client_t *cl;
	idn_session_t *s;
} chan_t;

static int chan_call(chan_t *c, const uint8_t *msg, size_t len, idn_reply_cb cb,
		     void *ctx)
{
	return c->s ? idn_session_call(c->s, msg, len, cb, ctx)
		    : idn_client_call(c->cl, msg, len, cb, ctx);
}

typedef struct {
	uint32_t rc;
	uint8_t *msg; /* copy of the reply message (malloc) */
	size_t len;
} reply_t;

static int on_reply(void *vctx, const idn_env_t *env, const uint8_t *msg,
		    size_t len)
{
	(void)env;
	reply_t *r = vctx;
	free(r->msg);
	r->msg = malloc(len ? len : 1);
	if (r->msg == NULL)
		return 1;
	memcpy(r->msg, msg, len);
	r->len = len;
	idn_msg_t m;
	r->rc = idn_msg_decode(msg, len, &m) == 0 ? m.hdr.rc
						  : IDN_RC_PROTOCOL_ERROR;
	return 1;
}

/* Sends op with body; the reply lands in *r (r->msg freed by the caller). */
static int call(chan_t *c, uint32_t op, const uint8_t *body, size_t blen,
		reply_t *r)
{
	uint8_t *buf = malloc(IDN_HDR_LEN + blen + 8);
	if (buf == NULL)
		return -ENOMEM;
	idn_wr_t w;
	idn_wr_init(&w, buf, IDN_HDR_LEN + blen + 8);
	idn_msg_request(&w, op, 0, 3600, body, blen);
	int err = w.err ? w.err : chan_call(c, w.buf, w.len, on_reply, r);
	free(buf);
	if (err == 0 && r->msg == NULL)
		err = IDN_EPROTO;
	return err;
}

static void print_refusal(const char *what, const char *id, const reply_t *r)
{
	idn_msg_t m;
	idn_bytes_t t = {NULL, 0};
	if (r->msg && idn_msg_decode(r->msg, r->len, &m) == 0)
		idn_error_body_decode(m.rest, &t);
	fprintf(stderr, "idctl: admin %s %s: the node refused: %.*s (rc %u)\n",
		what, id, (int)(t.len > 200 ? 200 : t.len),
		t.len ? (const char *)t.p : "", r->rc);
}

int admin_cmd_run(const admin_cmd_opts_t *o, const char *sub, const char *id)
{
	bool grant = !strcmp(sub, "grant");
	if (!grant && strcmp(sub, "revoke")) {
		fprintf(stderr,
			"idctl: admin: unknown subcommand '%s' (grant or revoke)\n",
			sub);
		return 2;
	}
	idn_bytes_t admin;
	uint32_t aidx;
	if (ctl_admin_ref(o->admin, &admin, &aidx) != 0) {
		fprintf(stderr,
			"idctl: admin %s needs --admin ADMIN_ID:INDEX\n", sub);
		return 2;
	}
	uint16_t perms = 0;
	if (o->perms != NULL) {
		const char *bad;
		size_t bl;
		if (admin_perms_parse(o->perms, &perms, &bad, &bl) != 0) {
			fprintf(stderr,
				"idctl: admin %s: unknown permission '%.*s' "
				"(add_handle, delete_handle, add_prefix, "
				"delete_prefix, modify_value, remove_value, "
				"add_value, modify_admin, remove_admin, add_admin, "
				"read_value, list, all)\n",
				sub, (int)bl, bad);
			return 2;
		}
	} else if (grant) {
		fprintf(stderr,
			"idctl: admin grant needs --perms LIST (or all)\n");
		return 2;
	}
	chan_t ch = {NULL, NULL};
	int err, status = 1;
	if (o->auth != NULL) {
		batch_opts_t bo = {o->server, o->timeout_ms, o->auth, o->cred,
				   false};
		if ((err = ctl_session_open(&bo, "admin", &ch.s)) != 0)
			return err;
	} else {
		err = idn_client_open(IDN_NET_UNIX, o->control, o->timeout_ms,
				      &ch.cl);
		if (err) {
			fprintf(stderr, "idctl: admin %s: %s: %s\n", sub,
				o->control, idn_strerror(err));
			return 1;
		}
	}
	idn_arena_t a;
	idn_arena_init(&a, 0);
	reply_t r = {0, NULL, 0};
	uint8_t body[8192];
	idn_wr_t w;
	/* the record's values as this client may see them */
	idn_resolve_req_t q = {idn_bytes_str(id), 0, NULL, 0, NULL};
	idn_wr_init(&w, body, sizeof(body));
	idn_resolve_req_encode(&w, &q);
	err = w.err ? w.err : call(&ch, IDN_OC_RESOLUTION, body, w.len, &r);
	if (err) {
		fprintf(stderr, "idctl: admin %s %s: %s\n", sub, id,
			idn_strerror(err));
		goto done;
	}
	idn_msg_t m;
	idn_values_body_t vb = {{NULL, 0}, 0, NULL};
	if (r.rc != IDN_RC_SUCCESS && r.rc != IDN_RC_VALUES_NOT_FOUND) {
		print_refusal(sub, id, &r);
		goto done;
	}
	if (r.rc == IDN_RC_SUCCESS &&
	    (idn_msg_decode(r.msg, r.len, &m) != 0 ||
	     idn_values_body_decode(m.rest, &a, &vb) != 0)) {
		fprintf(stderr, "idctl: admin %s %s: malformed reply\n", sub,
			id);
		goto done;
	}
	/* the HS_ADMIN value naming the admin, if any */
	idn_value_t *found = NULL;
	idn_hs_admin_t cur = {0, {NULL, 0}, 0};
	for (uint32_t i = 0; i < vb.nvalues && found == NULL; i++) {
		idn_hs_admin_t ha;
		if (idn_bytes_eq_str(vb.values[i].type, "HS_ADMIN") &&
		    idn_hs_admin_decode(vb.values[i].data, &ha) == 0 &&
		    ha.index == aidx &&
		    idn_ascii_caseeq(ha.admin.p, ha.admin.len, admin.p,
				     admin.len)) {
			found = &vb.values[i];
			cur = ha;
		}
	}
	uint16_t want = grant ? (uint16_t)(cur.perms | perms)
			      : (uint16_t)(o->perms ? cur.perms & ~perms : 0);
	if (!grant && found == NULL) {
		fprintf(stderr,
			"idctl: admin revoke %s: no HS_ADMIN value names %s\n",
			id, o->admin);
		goto done;
	}
	if (found != NULL && want == cur.perms) {
		printf("%s %s: %s already has permissions %03x at index %u\n",
		       sub, id, o->admin, (unsigned)cur.perms, found->index);
		status = 0;
		goto done;
	}
	uint32_t op;
	uint8_t data[IDN_IDENT_MAX + 16];
	idn_wr_t dw;
	idn_wr_init(&dw, data, sizeof(data));
	idn_hs_admin_t na = {want, admin, aidx};
	idn_hs_admin_encode(&dw, &na);
	idn_value_t nv = {100,
			  0,
			  IDN_TTL_RELATIVE,
			  IDN_TTL_DEFAULT,
			  IDN_PERM_DEFAULT,
			  idn_bytes_str("HS_ADMIN"),
			  idn_bytes(data, dw.len),
			  0,
			  NULL};
	if (found != NULL) {
		nv = *found;
		nv.data = idn_bytes(data, dw.len);
	} else {
		/* the first index from 100 that no visible value holds */
		for (bool taken = true; taken; nv.index++) {
			taken = false;
			for (uint32_t i = 0; i < vb.nvalues; i++)
				taken |= vb.values[i].index == nv.index;
			if (!taken)
				break;
		}
	}
	idn_wr_init(&w, body, sizeof(body));
	if (found != NULL && want == 0) {
		op = IDN_OC_REMOVE_VALUE;
		idn_remove_req_t rr = {idn_bytes_str(id), 1, &nv.index};
		idn_remove_req_encode(&w, &rr);
	} else {
		op = found ? IDN_OC_MODIFY_VALUE : IDN_OC_ADD_VALUE;
		idn_values_body_t b = {idn_bytes_str(id), 1, &nv};
		idn_values_body_encode(&w, &b);
	}
	r.rc = 0;
	err = dw.err ? dw.err : w.err ? w.err : call(&ch, op, body, w.len, &r);
	if (err) {
		fprintf(stderr, "idctl: admin %s %s: %s\n", sub, id,
			idn_strerror(err));
		goto done;
	}
	if (r.rc != IDN_RC_SUCCESS) {
		print_refusal(sub, id, &r);
		goto done;
	}
	if (op == IDN_OC_REMOVE_VALUE)
		printf("revoked %s on %s: removed HS_ADMIN at index %u\n",
		       o->admin, id, nv.index);
	else
		printf("%s %s on %s: HS_ADMIN at index %u, permissions %03x\n",
		       grant ? "granted" : "revoked", o->admin, id, nv.index,
		       (unsigned)want);
	status = 0;
done:
	free(r.msg);
	idn_arena_free(&a);
	if (ch.s)
		idn_session_close(ch.s);
	if (ch.cl)
		idn_client_close(ch.cl);
	return status;
}
