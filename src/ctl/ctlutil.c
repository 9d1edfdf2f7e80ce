/* Glue shared by idctl's commands (ctlutil.h). */
#include "ctlutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "net.h"

/* Copies each reply (msg lives only during the callback) into the arena,
 * decodes it and hands it to c->on_reply. */
int ctl_reply_cb(void *vctx, const idn_env_t *env, const uint8_t *msg,
		 size_t len)
{
	ctl_call_t *c = vctx;
	if (env->flags & IDN_EF_TRUNCATED) {
		c->truncated = true;
		return 1;
	}
	idn_msg_t *m = idn_arena_alloc(c->arena, sizeof(*m));
	uint8_t *copy = idn_arena_alloc(c->arena, len ? len : 1);
	if (m == NULL || copy == NULL) {
		c->err = -ENOMEM;
		return 1;
	}
	memcpy(copy, msg, len);
	if (idn_msg_decode(copy, len, m) != 0) {
		c->err = IDN_EPROTO;
		return 1;
	}
	c->rc = (int)m->hdr.rc;
	/* over UDP, rc 2 or 3 is how a node says the answer is over its UDP
	 * limit or its rate limit (the truncated flag is HANDLE.NET's mark of
	 * a multi-datagram request): ask again over TCP, like "truncated" */
	if (c->udp &&
	    (m->hdr.rc == IDN_RC_ERROR || m->hdr.rc == IDN_RC_TOO_BUSY)) {
		c->truncated = true;
		return 1;
	}
	return c->on_reply ? c->on_reply(c->ctx, env, m) : 0;
}

int ctl_call(int transport, const char *where, int timeout_ms, uint32_t op,
	     uint32_t flags, const uint8_t *body, size_t blen, ctl_call_t *c)
{
	size_t cap = IDN_HDR_LEN + blen + 8;
	uint8_t *buf = idn_arena_alloc(c->arena, cap);
	if (buf == NULL)
		return -ENOMEM;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	/* the request expires in 12 hours, as the CNRI client's do */
	idn_msg_request(&w, op, flags, 12 * 3600, body, blen);
	if (w.err)
		return w.err;
	idn_client_t *cl;
	int err = idn_client_open(transport, where, timeout_ms, &cl);
	if (err)
		return err;
	idn_client_set_session(cl, c->session);
	c->udp = transport == IDN_NET_UDP;
	err = idn_client_call(cl, w.buf, w.len, ctl_reply_cb, c);
	idn_client_close(cl);
	return err ? err : c->err;
}

static int grab_last(void *ctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	*(const idn_msg_t **)ctx = m;
	return 0;
}

int ctl_call_one(int transport, const char *where, int timeout_ms, uint32_t op,
		 uint32_t flags, const idn_wr_t *body, const char *cmd,
		 const char *id, idn_arena_t *a, const idn_msg_t **out)
{
	const idn_msg_t *m = NULL;
	ctl_call_t c = {a, grab_last, &m, 0, false, 0, 0};
	*out = NULL;
	int err = ctl_call(transport, where, timeout_ms, op, flags, body->buf,
			   body->len, &c);
	if (err == 0 && c.truncated) {
		c.truncated = false;
		err = ctl_call(IDN_NET_TCP, where, timeout_ms, op, flags,
			       body->buf, body->len, &c);
	}
	if (err == 0 && m == NULL)
		err = IDN_EPROTO;
	if (err) {
		fprintf(stderr, "idctl: %s%s%s via %s: %s\n", cmd,
			*id ? " " : "", id, where, idn_strerror(err));
		return 1;
	}
	*out = m;
	return 0;
}

static int grab_first(void *ctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	ctl_reply_t *r = ctx;
	r->m = *m;
	r->got = true;
	return 1;
}

int ctl_request(int transport, const char *where, int timeout_ms, uint32_t op,
		uint32_t flags, const idn_wr_t *body, idn_arena_t *a,
		ctl_reply_t *r)
{
	*r = (ctl_reply_t){.a = a};
	ctl_call_t c = {a, grab_first, r, 0, false, 0, 0};
	int err = ctl_call(transport, where, timeout_ms, op, flags, body->buf,
			   body->len, &c);
	r->truncated = c.truncated;
	r->err = c.err;
	return err;
}

const char *ctl_rc_text(int rc)
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
		return NULL;
	}
}

const char *ctl_rc_name(int rc)
{
	const char *text = ctl_rc_text(rc);
	return text != NULL ? text : "failure";
}

void ctl_print_failure(const char *what, const char *id, const idn_msg_t *m,
		       int rc)
{
	idn_bytes_t text = {NULL, 0};
	if (m != NULL)
		idn_error_body_decode(m->rest, &text);
	fprintf(stderr, "idctl: %s%s%s: %s (rc %d)%s%.*s\n", what,
		*id ? " " : "", id, ctl_rc_name(rc), rc, text.len ? ": " : "",
		(int)text.len, text.p ? (const char *)text.p : "");
}

void ctl_print_json(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
}

void ctl_print_refusal(const char *what, const idn_msg_t *m)
{
	idn_bytes_t text = {0};
	if (idn_error_body_decode(m->rest, &text) != 0)
		text = idn_bytes(NULL, 0);
	fprintf(stderr, "idctl: %s: refused (rc %u)%s%.*s\n", what, m->hdr.rc,
		text.len ? ": " : "", (int)text.len,
		text.p ? (const char *)text.p : "");
}

int ctl_reply_check(const char *what, const char *where, int err,
		    const ctl_reply_t *g)
{
	if (err == 0 && !g->got)
		err = IDN_EPROTO;
	if (err) {
		fprintf(stderr, "idctl: %s: via %s: %s\n", what, where,
			idn_strerror(err));
		return -1;
	}
	if (g->m.hdr.rc != IDN_RC_SUCCESS) {
		ctl_print_refusal(what, &g->m);
		return -1;
	}
	return 0;
}

int ctl_open_private(const char *head, const char *kind, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "idctl: %scannot read %s%s: %s\n", head, kind,
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"idctl: %s%s%s is readable by others (mode %04o): "
			"chmod 600 it\n",
			head, kind, path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

int ctl_admin_ref(const char *s, idn_bytes_t *id, uint32_t *index)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char *end;
	unsigned long v = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == s || colon[1] == 0 || *end ||
	    v > UINT32_MAX)
		return -1;
	*id = idn_bytes(s, (size_t)(colon - s));
	*index = (uint32_t)v;
	return 0;
}

int ctl_opt_error(const char *cmd, int c, const char *arg)
{
	fprintf(stderr, "idctl: %s: %s '%s' (see idctl %s --help)\n", cmd,
		c == ':' ? "option needs a value" : "unknown option", arg, cmd);
	return 2;
}
