/* The handle.net-shaped REST API, Handle messages over HTTP POST and the
 * browser resolution proxy. Reads and writes of records are Handle
 * messages run through the thread's handler, so HTTP answers exactly as
 * UDP and TCP do; which routes read the store directly, and why, is the
 * rule in http_route.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "http_int.h"
#include "ident.h"
#include "log.h"

/* ---- the Handle message path ---- */

static int collect(void *ctx, const uint8_t *frame, size_t len)
{
	http_thr_t *t = ctx;
	if (t->repcap - t->replen < len) {
		size_t cap = t->repcap ? t->repcap : 4096;
		while (cap - t->replen < len)
			cap *= 2;
		uint8_t *nb = realloc(t->rep, cap);
		if (nb == NULL)
			return -1;
		t->rep = nb;
		t->repcap = cap;
	}
	memcpy(t->rep + t->replen, frame, len);
	t->replen += len;
	return 0;
}

/* Runs a Handle message for principal who: the holder of the HTTP admin
 * token (PRINCIPAL_HTTP, the operator's rights), an admin authenticated
 * over HTTP or an account's admin (PRINCIPAL_ADMIN, the rights of its
 * HS_ADMIN values) or anyone (what needs an admin is challenged, as over
 * TCP). */
static int run_frame(http_thr_t *t, const uint8_t *frame, size_t len,
		     const principal_t *who)
{
	caller_t from = {TRANSPORT_HTTP, *who, t->has_peer ? &t->peer : NULL};
	if (who->kind == PRINCIPAL_HTTP)
		from.who.user = t->user;
	t->replen = 0;
	if (handler_begin(&t->h) != 0)
		return -1;
	int n = handler_process(&t->h, frame, len, &from, collect, t);
	handler_end(&t->h);
	return n;
}

/* The principal of a call for an identity (admin) or for anyone: the
 * request's own (an account's admin, the token's holder) when it has one. */
static principal_t admin_or_anon(const http_thr_t *t, bool admin)
{
	if (admin && t->who.kind != PRINCIPAL_ANONYMOUS)
		return t->who;
	principal_t p = {admin ? PRINCIPAL_HTTP : PRINCIPAL_ANONYMOUS,
			 {NULL, 0},
			 0,
			 NULL};
	return p;
}

int http_hdl_call(http_thr_t *t, uint32_t op, uint32_t flags, size_t blen,
		  bool admin, hdl_reply_t *out)
{
	principal_t who = admin_or_anon(t, admin);
	return http_hdl_call_as(t, op, flags, blen, &who, out);
}

int http_hdl_call_as(http_thr_t *t, uint32_t op, uint32_t flags, size_t blen,
		     const principal_t *who, hdl_reply_t *out)
{
	idn_env_t env = {IDN_PROTO_MAJOR, IDN_PROTO_MINOR, 0, 0, 0, 1, 0, 0};
	idn_hdr_t hdr = {
		op, 0, flags, 0xffff, 0, 0, (uint32_t)time(NULL) + 3600};
	idn_wr_t w;
	idn_wr_init(&w, t->frame, IDN_ENV_LEN + IDN_MSG_MAX);
	idn_msg_mark_t m = idn_msg_start(&w, &env, &hdr);
	idn_wr_raw(&w, t->body, blen);
	idn_msg_finish(&w, m, NULL);
	if (w.err)
		return -1;
	int n = run_frame(t, t->frame, w.len, who);
	if (n <= 0 || t->replen < IDN_ENV_LEN)
		return -1;
	idn_env_t renv;
	if (idn_env_decode(t->rep, IDN_ENV_LEN, &renv) != 0 ||
	    IDN_ENV_LEN + (size_t)renv.msg_len > t->replen ||
	    idn_msg_decode(t->rep + IDN_ENV_LEN, renv.msg_len, &out->msg) != 0)
		return -1;
	out->rc = out->msg.hdr.rc;
	out->frames = t->rep;
	out->len = t->replen;
	out->nframes = n;
	return 0;
}

int http_status_for_rc(uint32_t rc)
{
	switch (rc) {
	case IDN_RC_SUCCESS:
		return 200;
	case IDN_RC_TOO_BUSY:
		return 503;
	case IDN_RC_PROTOCOL_ERROR:
		return 400;
	case IDN_RC_NOT_SUPPORTED:
		return 501;
	case IDN_RC_NOT_FOUND:
		return 404;
	case IDN_RC_ALREADY_EXISTS:
		return 409;
	case IDN_RC_INVALID_HANDLE:
		return 400;
	case IDN_RC_VALUES_NOT_FOUND:
		return 404;
	case IDN_RC_VALUE_EXISTS:
		return 409;
	case IDN_RC_INVALID_VALUE:
		return 400;
	case IDN_RC_SERVER_NOT_RESP:
		return 403;
	case IDN_RC_SERVICE_REFERRAL:
	case IDN_RC_PREFIX_REFERRAL:
		return 300;
	case IDN_RC_INVALID_ADMIN:
	case IDN_RC_INSUFFICIENT_PERMS:
		return 403;
	case IDN_RC_AUTH_NEEDED:
	case IDN_RC_AUTH_FAILED:
	case IDN_RC_INVALID_CREDENTIAL:
	case IDN_RC_AUTH_TIMEOUT:
	case IDN_RC_AUTH_ERROR:
		return 401;
	default:
		return 500;
	}
}

/* The error text of an error reply, copied into the request's pool. */
const char *http_hdl_text(hreq_t *r, const hdl_reply_t *hr)
{
	idn_bytes_t text;
	if (idn_error_body_decode(hr->msg.rest, &text) != 0 || text.len == 0)
		return "";
	return h2o_strdup(&r->req->pool, (const char *)text.p, text.len).base;
}

static json_t *values_json(hreq_t *r, const idn_value_t *v, uint32_t n)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, http_value_json(&v[i], &r->t->arena));
	return a;
}

static uint32_t hdl_resolve_as(http_thr_t *t, const idn_resolve_req_t *q,
			       uint32_t flags, const principal_t *who,
			       hdl_reply_t *hr, const char **msg);

uint32_t http_hdl_resolve(http_thr_t *t, const idn_resolve_req_t *q,
			  uint32_t flags, bool admin, hdl_reply_t *hr,
			  const char **msg)
{
	principal_t who = admin_or_anon(t, admin);
	return hdl_resolve_as(t, q, flags, &who, hr, msg);
}

static uint32_t hdl_resolve_as(http_thr_t *t, const idn_resolve_req_t *q,
			       uint32_t flags, const principal_t *who,
			       hdl_reply_t *hr, const char **msg)
{
	idn_wr_t w;
	idn_wr_init(&w, t->body, IDN_MSG_MAX);
	idn_resolve_req_encode(&w, q);
	if (w.err) {
		*msg = "identifier too long";
		return IDN_RC_INVALID_HANDLE;
	}
	if (http_hdl_call_as(t, IDN_OC_RESOLUTION, flags, w.len, who, hr) !=
	    0) {
		*msg = "internal error";
		return IDN_RC_ERROR;
	}
	return 0;
}

/* http_resolve with the values left decoded (*v, *n from the thread's
 * arena; *n is 0 when there are none). */
static uint32_t resolve_values(hreq_t *r, const char *id, bool public_only,
			       const char *const *types, int ntypes,
			       const uint32_t *idx, int nidx, idn_value_t **v,
			       uint32_t *n, const char **message)
{
	http_thr_t *t = r->t;
	idn_bytes_t tv[HTTP_Q_MAX];
	for (int i = 0; i < ntypes; i++)
		tv[i] = idn_bytes_str(types[i]);
	idn_resolve_req_t q = {idn_bytes_str(id), (uint32_t)nidx,
			       (uint32_t *)idx, (uint32_t)ntypes, tv};
	*v = NULL;
	*n = 0;
	*message = "";
	/* only an identity sees restricted values (an admin those its
	 * HS_ADMIN values let it read); anyone else asks for public ones,
	 * rather than be challenged as a Handle client */
	bool anon = r->who.kind == PRINCIPAL_ANONYMOUS;
	uint32_t flags = public_only || anon ? IDN_OF_PUBLIC_ONLY : 0;
	hdl_reply_t hr;
	uint32_t rc = hdl_resolve_as(t, &q, flags, &r->who, &hr, message);
	if (rc != 0)
		return rc;
	if (hr.rc == IDN_RC_SUCCESS || hr.rc == IDN_RC_PREFIX_REFERRAL ||
	    hr.rc == IDN_RC_SERVICE_REFERRAL) {
		idn_values_body_t b;
		if (idn_values_body_decode(hr.msg.rest, &t->arena, &b) != 0) {
			*message = "malformed reply";
			return IDN_RC_ERROR;
		}
		*v = b.values;
		*n = b.nvalues;
	} else {
		*message = http_hdl_text(r, &hr);
	}
	http_stats_ident(t->srv->stats, t->id, id, false,
			 hr.rc == IDN_RC_SUCCESS);
	return hr.rc;
}

uint32_t http_resolve(hreq_t *r, const char *id, bool public_only,
		      const char *const *types, int ntypes, const uint32_t *idx,
		      int nidx, json_t **values, const char **message)
{
	idn_value_t *v;
	uint32_t n;
	uint32_t rc = resolve_values(r, id, public_only, types, ntypes, idx,
				     nidx, &v, &n, message);
	bool has = rc == IDN_RC_SUCCESS || rc == IDN_RC_PREFIX_REFERRAL ||
		   rc == IDN_RC_SERVICE_REFERRAL;
	*values = has ? values_json(r, v, n) : NULL;
	return rc;
}

uint32_t http_write(hreq_t *r, uint32_t op, const char *id, bool overwrite,
		    const idn_value_t *v, uint32_t n, const uint32_t *idx,
		    uint32_t nidx, const char **message)
{
	http_thr_t *t = r->t;
	idn_wr_t w;
	idn_wr_init(&w, t->body, IDN_MSG_MAX);
	idn_bytes_t bid = idn_bytes_str(id);
	if (op == IDN_OC_DELETE) {
		idn_id_body_encode(&w, bid);
	} else if (op == IDN_OC_REMOVE_VALUE) {
		idn_remove_req_t b = {bid, nidx, (uint32_t *)idx};
		idn_remove_req_encode(&w, &b);
	} else {
		idn_values_body_t b = {bid, n, (idn_value_t *)v};
		idn_values_body_encode(&w, &b);
	}
	*message = "";
	if (w.err) {
		*message = "request too large for one Handle message";
		return IDN_RC_INVALID_VALUE;
	}
	hdl_reply_t hr;
	if (http_hdl_call_as(t, op, overwrite ? IDN_OF_OVERWRITE : 0, w.len,
			     &r->who, &hr) != 0) {
		*message = "internal error";
		return IDN_RC_ERROR;
	}
	if (hr.rc != IDN_RC_SUCCESS)
		*message = http_hdl_text(r, &hr);
	http_stats_ident(t->srv->stats, t->id, id, true,
			 hr.rc == IDN_RC_SUCCESS);
	return hr.rc;
}

/* ---- /api/handles/{id} ---- */

bool http_store_unavailable(const hreq_t *r, uint32_t rc)
{
	int err = r->t->h.lib_err;
	return rc == IDN_RC_ERROR &&
	       (err == IDN_ENOPRIMARY || err == IDN_EUNKNOWN_OUTCOME);
}

void http_api_get(hreq_t *r)
{
	const char *id = r->arg;
	const char *types[HTTP_Q_MAX];
	uint32_t idx[HTTP_Q_MAX];
	int nt = 0;
	for (int i = 0; i < r->nq; i++)
		if (!strcmp(r->qk[i], "type"))
			types[nt++] = r->qv[i];
	int ni = http_q_indexes(r, idx, NULL);
	if (ni < 0) {
		http_reply_result(r, IDN_RC_PROTOCOL_ERROR, id,
				  "index must be a non-negative integer", 0);
		return;
	}
	bool pub = r->who.kind == PRINCIPAL_ANONYMOUS ||
		   http_q_flag(r, "publicOnly");
	idn_value_t *v;
	uint32_t n;
	const char *msg;
	r->op = "resolve";
	uint32_t rc =
		resolve_values(r, id, pub, types, nt, idx, ni, &v, &n, &msg);
	r->rc = rc;
	if (rc == IDN_RC_NOT_FOUND && http_not_responsible(r, id)) {
		rc = IDN_RC_SERVER_NOT_RESP;
		msg = "this node is not responsible for the identifier's prefix";
	}
	/* the common answer is written straight to text (http_values_text) */
	size_t len;
	char *text;
	if (rc == IDN_RC_SUCCESS && !http_q_flag(r, "pretty") &&
	    idn_utf8_check((const uint8_t *)id, strlen(id)) == 0 &&
	    (text = http_values_text(v, n, id, &r->t->arena, &len)) != NULL) {
		/* a public answer may be kept as long as its values live */
		if (r->who.kind != PRINCIPAL_ANONYMOUS)
			http_add_header(r, H2O_TOKEN_CACHE_CONTROL, "no-store");
		else if (http_cache_public(r, v, n, text, len))
			return;
		http_reply(r, 200, "application/json", text, len);
		return;
	}
	json_t *values = NULL;
	if (rc == IDN_RC_SUCCESS || rc == IDN_RC_PREFIX_REFERRAL ||
	    rc == IDN_RC_SERVICE_REFERRAL)
		values = values_json(r, v, n);
	json_t *j = http_rc_json(rc, id, msg);
	if (values != NULL)
		json_object_set_new(j, "values", values);
	else if (rc == IDN_RC_VALUES_NOT_FOUND) /* handle.net: 200, no values */
		json_object_set_new(j, "values", json_array());
	int status = rc == IDN_RC_VALUES_NOT_FOUND ? 200 : http_rest_status(rc);
	r->rc = rc;
	http_reply_json(r, status, j);
}

void http_api_delete(hreq_t *r)
{
	const char *id = r->arg;
	uint32_t idx[HTTP_Q_MAX];
	int ni = http_q_indexes(r, idx, NULL);
	const char *msg;
	if (ni < 0) {
		http_reply_result(r, IDN_RC_PROTOCOL_ERROR, id,
				  "index must be a non-negative integer", 0);
		return;
	}
	r->op = ni > 0 ? "remove" : "delete";
	uint32_t rc =
		http_write(r, ni > 0 ? IDN_OC_REMOVE_VALUE : IDN_OC_DELETE, id,
			   false, NULL, 0, idx, (uint32_t)ni, &msg);
	http_reply_result(r, rc, id, msg, 200);
}

/* ---- listings ---- */

static int homed_cb(void *ctx, idn_bytes_t id)
{
	json_array_append_new(ctx, http_jstrn(id.p, id.len));
	return 0;
}

void http_api_prefixes(hreq_t *r)
{
	r->op = "list_homed";
	handler_t *h = &r->t->h;
	if (handler_begin(h) != 0) {
		http_reply_rc(r, 500, IDN_RC_ERROR, "store unavailable");
		return;
	}
	json_t *arr = json_array();
	int err = idn_store_list_homed(h->rtxn, homed_cb, arr);
	handler_end(h);
	if (err) {
		json_decref(arr);
		http_reply_rc(r, 500, IDN_RC_ERROR, idn_strerror(err));
		return;
	}
	json_t *j = http_reply_obj(r, IDN_RC_SUCCESS);
	json_object_set_new(j, "prefixes", arr);
	http_reply_json(r, 200, j);
}

void http_api_site(hreq_t *r)
{
	r->op = "site";
	idn_hs_site_t site;
	node_ctx_t *n = r->t->srv->node;
	if (idn_hs_site_decode(idn_bytes(n->site, n->site_len), &r->t->arena,
			       &site) != 0) {
		http_reply_rc(r, 500, IDN_RC_ERROR, "site unavailable");
		return;
	}
	json_t *j = http_reply_obj(r, IDN_RC_SUCCESS);
	json_t *d = json_object();
	json_object_set_new(d, "format", json_string("site"));
	json_object_set_new(d, "value", http_site_json(&site));
	json_object_set_new(j, "data", d);
	http_reply_json(r, 200, j);
}

void http_api_not_found(hreq_t *r)
{
	http_reply_rc(r, 404, 0, "no such API resource");
}

/* ---- Handle messages over HTTP (docs/architecture.md, Wire protocol) ---- */

void http_hdl_message(hreq_t *r)
{
	http_thr_t *t = r->t;
	r->op = "hdl";
	h2o_iovec_t b = r->req->entity;
	idn_env_t env;
	if (b.base == NULL || b.len < IDN_ENV_LEN + IDN_HDR_LEN ||
	    idn_env_decode((const uint8_t *)b.base, b.len, &env) ==
		    IDN_EMALFORMED ||
	    env.msg_len != b.len - IDN_ENV_LEN) {
		http_reply(r, 400, "text/plain", "malformed Handle message\n",
			   25);
		return;
	}
	/* network semantics: administration is refused as over TCP */
	principal_t anon = admin_or_anon(t, false);
	int n = run_frame(t, (const uint8_t *)b.base, b.len, &anon);
	if (n <= 0) {
		http_reply(r, 400, "text/plain", "malformed Handle message\n",
			   25);
		return;
	}
	idn_msg_t m;
	if (t->replen >= IDN_ENV_LEN + IDN_HDR_LEN &&
	    idn_msg_decode(t->rep + IDN_ENV_LEN, idn_env_msg_len(t->rep), &m) ==
		    0)
		r->rc = m.hdr.rc;
	http_reply(r, 200, "application/x-hdl-message", (const char *)t->rep,
		   t->replen);
}

/* ---- the browser proxy: GET /{identifier} ---- */

static void html_escape(h2o_mem_pool_t *pool, const char *s, h2o_iovec_t *out)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += strchr("<>&\"'", *p) ? 6 : 1;
	char *o = h2o_mem_alloc_pool(pool, n + 1), *q = o;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '<':
			q += sprintf(q, "&lt;");
			break;
		case '>':
			q += sprintf(q, "&gt;");
			break;
		case '&':
			q += sprintf(q, "&amp;");
			break;
		case '"':
			q += sprintf(q, "&quot;");
			break;
		case '\'':
			q += sprintf(q, "&#39;");
			break;
		default:
			*q++ = *p;
		}
	}
	*q = 0;
	*out = h2o_iovec_init(o, (size_t)(q - o));
}

static const char *esc(hreq_t *r, const char *s)
{
	h2o_iovec_t v;
	html_escape(&r->req->pool, s, &v);
	return v.base;
}

/* Appends to a growing page. */
typedef struct {
	char *p;
	size_t len, cap;
} page_t;

static void page_add(page_t *pg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void page_add(page_t *pg, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(pg->p ? pg->p + pg->len : NULL,
				  pg->p ? pg->cap - pg->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (pg->p && pg->len + (size_t)n < pg->cap) {
			pg->len += (size_t)n;
			return;
		}
		size_t cap = (pg->cap ? pg->cap : 4096);
		while (cap <= pg->len + (size_t)n)
			cap *= 2;
		char *np = realloc(pg->p, cap);
		if (np == NULL)
			return;
		pg->p = np;
		pg->cap = cap;
	}
}

static const char page_head[] =
	"<!doctype html><html><head><meta charset=\"utf-8\">"
	"<meta name=\"viewport\" content=\"width=device-width\">"
	"<title>%s</title><link rel=\"stylesheet\" href=\"/console/style.css\">"
	"</head><body><header><a href=\"/console/\">idnode</a></header><main>";

static void page_send(hreq_t *r, int status, page_t *pg)
{
	page_add(pg, "</main></body></html>\n");
	http_reply(r, status, "text/html; charset=utf-8", pg->p ? pg->p : "",
		   pg->len);
	free(pg->p);
}

static void record_page(hreq_t *r, const char *id, json_t *values,
			const char *scheme, const char *given)
{
	page_t pg = {0};
	page_add(&pg, page_head, esc(r, id));
	page_add(&pg, "<h1 class=\"handle\">%s</h1>", esc(r, id));
	if (scheme)
		page_add(&pg,
			 "<p class=\"scheme\">Recognised %s: <code>%s</code>"
			 " is <code>%s</code> here.</p>",
			 esc(r, scheme), esc(r, given), esc(r, id));
	page_add(&pg, "<table class=\"values\">"
		      "<tr><th>index</th><th>type</th><th>data</th><th>ttl</th>"
		      "<th>timestamp</th></tr>");
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v)
	{
		json_t *d = json_object_get(v, "data");
		json_t *dv = json_object_get(d, "value");
		char *txt = json_is_string(dv) ? strdup(json_string_value(dv))
					       : json_dumps(dv, JSON_COMPACT);
		const char *type =
			json_string_value(json_object_get(v, "type"));
		bool link = type && !strcasecmp(type, "URL") && txt &&
			    (!strncmp(txt, "http://", 7) ||
			     !strncmp(txt, "https://", 8));
		page_add(&pg, "<tr><td>%lld</td><td>%s</td><td>",
			 (long long)json_integer_value(
				 json_object_get(v, "index")),
			 esc(r, type ? type : ""));
		if (link)
			page_add(&pg, "<a href=\"%s\">%s</a>", esc(r, txt),
				 esc(r, txt));
		else
			page_add(&pg, "%s", esc(r, txt ? txt : ""));
		page_add(&pg, "</td><td>%lld</td><td>%s</td></tr>",
			 (long long)json_integer_value(
				 json_object_get(v, "ttl")),
			 esc(r,
			     json_string_value(json_object_get(v, "timestamp"))
				     ? json_string_value(
					       json_object_get(v, "timestamp"))
				     : ""));
		free(txt);
	}
	page_add(&pg,
		 "</table><p><a href=\"/api/handles/%s?pretty\">JSON</a></p>",
		 esc(r, id));
	http_add_header(r, H2O_TOKEN_CACHE_CONTROL, "no-store");
	page_send(r, 200, &pg);
}

static void not_found_page(hreq_t *r, const char *id, uint32_t rc,
			   const char *msg)
{
	page_t pg = {0};
	page_add(&pg, page_head, "not found");
	if (rc == IDN_RC_INVALID_HANDLE)
		page_add(&pg,
			 "<h1>Not an identifier</h1><p><code>%s</code> is "
			 "not a valid identifier: %s</p>",
			 esc(r, id),
			 esc(r, msg && *msg ? msg : "invalid syntax"));
	else
		page_add(
			&pg,
			"<h1>Identifier not found</h1><p><code>%s</code> "
			"is not registered on this node (response code %u%s%s).</p>",
			esc(r, id), rc, msg && *msg ? ": " : "",
			esc(r, msg ? msg : ""));
	page_add(
		&pg,
		"<p>Identifiers look like <code>88.118.8/JXDY2106023</code>: "
		"a prefix, a slash, a suffix. Try the "
		"<a href=\"/console/\">resolver console</a>, or "
		"<a href=\"/api/prefixes\">the prefixes this node serves</a>.</p>");
	page_send(r, rc == IDN_RC_INVALID_HANDLE ? 400 : 404, &pg);
}

void http_proxy(hreq_t *r)
{
	r->op = "resolve";
	/* other schemes: their canonical identifier (http_scheme.c) */
	const char *in = r->path + 1, *scheme;
	char err[256];
	char *id = h2o_mem_alloc_pool(&r->req->pool, IDN_IDENT_MAX + 1);
	int m = http_scheme_map(r->t->srv->conf, in, id, IDN_IDENT_MAX + 1,
				&scheme, err, sizeof(err));
	if (scheme)
		http_add_header_str(r, "x-identifier-scheme", scheme);
	if (m != 0) {
		r->rc = m == HTTP_SCHEME_INVALID ? IDN_RC_INVALID_HANDLE
						 : IDN_RC_NOT_FOUND;
		not_found_page(r, in, r->rc, err);
		return;
	}
	if (strchr(id, '/') == NULL) {
		not_found_page(r, id, IDN_RC_INVALID_HANDLE,
			       "no '/' between prefix and suffix");
		r->rc = IDN_RC_INVALID_HANDLE;
		return;
	}
	json_t *values;
	const char *msg;
	uint32_t rc =
		http_resolve(r, id, true, NULL, 0, NULL, 0, &values, &msg);
	r->rc = rc;
	if (rc != IDN_RC_SUCCESS) {
		json_decref(values);
		not_found_page(r, id, rc, msg);
		return;
	}
	if (!http_q(r, "noredirect")) {
		size_t i;
		json_t *v;
		json_array_foreach(values, i, v)
		{
			const char *type =
				json_string_value(json_object_get(v, "type"));
			json_t *dv = json_object_get(json_object_get(v, "data"),
						     "value");
			if (type && !strcasecmp(type, "URL") &&
			    json_is_string(dv)) {
				const char *u = json_string_value(dv);
				/* only web URLs, never javascript: and the like
				 */
				if (strncasecmp(u, "http://", 7) &&
				    strncasecmp(u, "https://", 8))
					continue;
				/* nor one that would end the header (CR, LF)
				 * or hide a NUL: such a value is shown on the
				 * record page, not followed */
				const char *loc =
					http_location(&r->req->pool, u,
						      json_string_length(dv));
				if (loc == NULL)
					continue;
				http_add_header(r, H2O_TOKEN_LOCATION, loc);
				http_add_header(r, H2O_TOKEN_CACHE_CONTROL,
						"no-store");
				json_decref(values);
				http_reply(r, 302, "text/plain", "redirect\n",
					   9);
				return;
			}
		}
	}
	record_page(r, id, values, scheme, in);
	json_decref(values);
}
