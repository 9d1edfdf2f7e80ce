/* Glue shared by idctl's commands (ctlutil.h). */
#include "ctlutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"

static int on_reply(void *ctx, const idn_env_t *env, const uint8_t *msg,
		    size_t len)
{
	ctl_reply_t *r = ctx;
	if (env->flags & IDN_EF_TRUNCATED) {
		r->truncated = true;
		return 1;
	}
	uint8_t *copy = idn_arena_alloc(r->a, len ? len : 1);
	if (copy == NULL) {
		r->err = -ENOMEM;
		return 1;
	}
	memcpy(copy, msg, len);
	if (idn_msg_decode(copy, len, &r->m) != 0) {
		r->err = IDN_EPROTO;
		return 1;
	}
	r->got = true;
	return 1;
}

int ctl_request(int transport, const char *where, int timeout_ms, uint32_t op,
		uint32_t flags, const idn_wr_t *body, idn_arena_t *a,
		ctl_reply_t *r)
{
	*r = (ctl_reply_t){.a = a};
	size_t cap = IDN_HDR_LEN + body->len + 8;
	uint8_t *buf = idn_arena_alloc(a, cap);
	if (buf == NULL)
		return -ENOMEM;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_msg_request(&w, op, flags, 3600, body->buf, body->len);
	if (w.err)
		return w.err;
	idn_client_t *cl;
	int err = idn_client_open(transport, where, timeout_ms, &cl);
	if (err)
		return err;
	err = idn_client_call(cl, w.buf, w.len, on_reply, r);
	idn_client_close(cl);
	return err ? err : r->err;
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
