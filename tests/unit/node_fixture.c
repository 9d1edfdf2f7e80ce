#include "node_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ident.h"
#include "log.h"
#include "store.h"

static int collect(void *ctx, const uint8_t *frame, size_t len)
{
	nfx_t *f = ctx;
	if (f->repcap - f->replen < len) {
		size_t cap = f->repcap ? f->repcap : 65536;
		while (cap - f->replen < len)
			cap *= 2;
		uint8_t *nb = realloc(f->rep, cap);
		if (nb == NULL)
			return -1;
		f->rep = nb;
		f->repcap = cap;
	}
	memcpy(f->rep + f->replen, frame, len);
	f->replen += len;
	f->nrep++;
	return 0;
}

static int setup(void **state, bool blocking)
{
	nfx_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/idn-nfx.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char data[300];
	snprintf(data, sizeof(data), "%s/data", f->dir);
	char *argv[] = {"idnode",	  "--data",	 data,	  "--listen",
			"127.0.0.1:2641", "--log-level", "error", NULL};
	assert_int_equal(conf_load(&f->conf, 7, argv), 0);
	log_set_level(0);
	idn_store_opts_t so = {0};
	so.path = data;
	so.map_size = 64ull << 20;
	assert_int_equal(idn_store_open(&so, &f->s), 0);
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	assert_int_equal(
		idn_wtxn_home(t, (const uint8_t *)NFX_HOME, strlen(NFX_HOME)),
		0);
	assert_int_equal(idn_wtxn_commit(t), 0);
	assert_int_equal(node_ctx_init(&f->node, &f->conf, f->s, NULL), 0);
	assert_int_equal(handler_init(&f->h, &f->node, blocking), 0);
	*state = f;
	return 0;
}

int nfx_setup(void **state)
{
	return setup(state, true);
}

int nfx_setup_worker(void **state)
{
	return setup(state, false);
}

int nfx_teardown(void **state)
{
	nfx_t *f = *state;
	handler_fini(&f->h);
	node_ctx_fini(&f->node);
	idn_store_close(f->s);
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f->rep);
	free(f);
	return rc;
}

caller_t nfx_anon(transport_t tr)
{
	return (caller_t){tr, {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0}};
}

caller_t nfx_operator(void)
{
	return (caller_t){TRANSPORT_CONTROL,
			  {PRINCIPAL_OPERATOR, {NULL, 0}, 0}};
}

caller_t nfx_admin(const char *admin, uint32_t index)
{
	return (caller_t){TRANSPORT_TCP,
			  {PRINCIPAL_ADMIN, idn_bytes_str(admin), index}};
}

size_t nfx_frame(uint8_t *out, size_t cap, uint32_t op, uint32_t flags,
		 uint32_t session, const void *body, size_t blen)
{
	idn_env_t env = {0};
	idn_hdr_t hdr = {0};
	env.major = IDN_PROTO_MAJOR;
	env.minor = IDN_PROTO_MINOR;
	env.session_id = session;
	env.request_id = 7;
	hdr.op = op;
	hdr.flags = flags;
	hdr.serial = 0xffff;
	hdr.expiry = (uint32_t)time(NULL) + 3600;
	idn_wr_t w;
	idn_wr_init(&w, out, cap);
	idn_msg_mark_t m = idn_msg_start(&w, &env, &hdr);
	idn_wr_raw(&w, body, blen);
	idn_msg_finish(&w, m, NULL);
	assert_int_equal(w.err, 0);
	return w.len;
}

int nfx_call(nfx_t *f, const uint8_t *frame, size_t len, const caller_t *from,
	     uint64_t conn)
{
	f->replen = 0;
	f->nrep = 0;
	memset(&f->msg, 0, sizeof(f->msg));
	assert_int_equal(handler_begin(&f->h), 0);
	f->h.conn = conn;
	int n = handler_process(&f->h, frame, len, from, collect, f);
	f->h.conn = 0;
	handler_end(&f->h);
	if (f->nrep > 0) {
		assert_int_equal(idn_env_decode(f->rep, f->replen, &f->env), 0);
		if (f->env.flags & IDN_EF_ENCRYPTED)
			return n; /* sealed in its session: the caller opens */
		assert_int_equal(idn_msg_decode(f->rep + IDN_ENV_LEN,
						f->env.msg_len, &f->msg),
				 0);
	}
	return n;
}

const char *nfx_error_text(const nfx_t *f)
{
	static char text[1024];
	idn_bytes_t t;
	text[0] = 0;
	if (idn_error_body_decode(f->msg.rest, &t) == 0) {
		size_t n = t.len < sizeof(text) - 1 ? t.len : sizeof(text) - 1;
		memcpy(text, t.p, n);
		text[n] = 0;
	}
	return text;
}

idn_value_t nfx_value(idn_arena_t *a, const char *spec)
{
	idn_value_t v = {0};
	char *colon = strchr(spec, ':');
	char *eq = colon ? strchr(colon, '=') : NULL;
	assert_non_null(eq);
	v.index = (uint32_t)strtoul(spec, NULL, 10);
	v.ttl_type = IDN_TTL_RELATIVE;
	v.ttl = 86400;
	v.perms = IDN_PERM_DEFAULT;
	v.timestamp = (uint32_t)time(NULL);
	size_t tl = (size_t)(eq - colon - 1);
	uint8_t *type = idn_arena_alloc(a, tl + 1);
	memcpy(type, colon + 1, tl);
	v.type = idn_bytes(type, tl);
	const char *data = eq + 1;
	if (idn_type_matches(v.type, idn_bytes_str("HS_ADMIN"))) {
		const char *at = strchr(data, '@');
		const char *hash = strchr(data, '#');
		assert_non_null(at);
		idn_hs_admin_t adm = {
			hash ? (uint16_t)strtoul(hash + 1, NULL, 16)
			     : IDN_ADM_ALL,
			idn_bytes(data, (size_t)(at - data)),
			(uint32_t)strtoul(at + 1, NULL, 10)};
		uint8_t *buf = idn_arena_alloc(a, 1024);
		idn_wr_t w;
		idn_wr_init(&w, buf, 1024);
		idn_hs_admin_encode(&w, &adm);
		assert_int_equal(w.err, 0);
		v.data = idn_bytes(buf, w.len);
	} else {
		size_t dl = strlen(data);
		uint8_t *d = idn_arena_alloc(a, dl + 1);
		memcpy(d, data, dl);
		v.data = idn_bytes(d, dl);
	}
	return v;
}

idn_value_t nfx_vlist(idn_arena_t *a, uint32_t index, const char *const *ids,
		      const uint32_t *idx, uint32_t n)
{
	idn_ref_t *refs = idn_arena_array(a, n ? n : 1, sizeof(*refs));
	assert_non_null(refs);
	size_t cap = 8;
	for (uint32_t i = 0; i < n; i++) {
		refs[i].id = idn_bytes_str(ids[i]);
		refs[i].index = idx[i];
		cap += 8 + strlen(ids[i]);
	}
	idn_hs_vlist_t vl = {n, refs};
	uint8_t *buf = idn_arena_alloc(a, cap);
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_hs_vlist_encode(&w, &vl);
	assert_int_equal(w.err, 0);
	idn_value_t v = {0};
	v.index = index;
	v.ttl_type = IDN_TTL_RELATIVE;
	v.ttl = 86400;
	v.perms = IDN_PERM_DEFAULT;
	v.type = idn_bytes_str("HS_VLIST");
	v.data = idn_bytes(buf, w.len);
	return v;
}

void nfx_put_values(nfx_t *f, const char *id, const idn_value_t *v, uint32_t n)
{
	static idn_ident_t ident;
	assert_int_equal(
		idn_ident_parse((const uint8_t *)id, strlen(id), 0, &ident), 0);
	idn_wtxn_t *t;
	assert_int_equal(idn_wtxn_begin(f->s, &t), 0);
	int err = idn_wtxn_create(t, &ident, v, n, true);
	if (err)
		fail_msg("create %s: %s", id, idn_strerror(err));
	assert_int_equal(idn_wtxn_commit(t), 0);
}

void nfx_put(nfx_t *f, const char *id, ...)
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_value_t v[64];
	uint32_t n = 0;
	va_list ap;
	va_start(ap, id);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
		v[n++] = nfx_value(&a, s);
	va_end(ap);
	nfx_put_values(f, id, v, n);
	idn_arena_free(&a);
}

uint8_t *nfx_get(nfx_t *f, const char *id, size_t *len, uint32_t *nvalues)
{
	static idn_ident_t ident;
	assert_int_equal(
		idn_ident_parse((const uint8_t *)id, strlen(id), 0, &ident), 0);
	idn_rtxn_t *t;
	assert_int_equal(idn_rtxn_begin(f->s, &t), 0);
	idn_record_t rec;
	uint8_t *out = NULL;
	if (idn_store_get(t, ident.key, ident.key_len, &rec) == 0) {
		out = malloc(rec.values.len + 1);
		memcpy(out, rec.values.p, rec.values.len);
		*len = rec.values.len;
		*nvalues = rec.nvalues;
	}
	idn_rtxn_free(t);
	return out;
}
