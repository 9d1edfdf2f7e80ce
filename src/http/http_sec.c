/* What the HTTP plane does against hostile input and hostile pages:
 * strict paths, safe redirect targets, the security headers of every
 * response and cross-origin reads (CORS) of public data only. */
#include <stdio.h>
#include <string.h>

#include "http_int.h"

/* ---- paths ---- */

/* Length of the UTF-8 sequence at p[0..n), 0 when it is not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool http_bytes_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		size_t n = utf8_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

bool http_raw_path_valid(h2o_mem_pool_t *pool, const char *s, size_t len)
{
	size_t n;
	char *d = http_pct_decode(pool, s, len, false, &n);
	return d != NULL && http_bytes_valid(d, n);
}

/* ---- redirect targets ---- */

const char *http_location(h2o_mem_pool_t *pool, const char *url, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c < 0x20 || c == 0x7f)
			return NULL;
	}
	/* a space or a byte beyond ASCII (an IRI) is sent as %XX: a header
	 * value carries printable ASCII only */
	static const char hex[] = "0123456789ABCDEF";
	char *o = h2o_mem_alloc_pool(pool, len * 3 + 1), *q = o;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c > 0x20 && c < 0x7f) {
			*q++ = (char)c;
		} else {
			*q++ = '%';
			*q++ = hex[c >> 4];
			*q++ = hex[c & 15];
		}
	}
	*q = 0;
	return o;
}

/* ---- headers ---- */

/* The console and the proxy's pages load their own scripts and styles
 * only and are never framed; the rest are data, where these cost
 * nothing. */
static h2o_iovec_t csp_name = {H2O_STRLIT("content-security-policy")};
static h2o_iovec_t xfo_name = {H2O_STRLIT("x-frame-options")};
static h2o_iovec_t nosniff_name = {H2O_STRLIT("x-content-type-options")};
static h2o_iovec_t referrer_name = {H2O_STRLIT("referrer-policy")};

static h2o_headers_command_t sec_headers[] = {
	{H2O_HEADERS_CMD_SET, &nosniff_name, {H2O_STRLIT("nosniff")}},
	{H2O_HEADERS_CMD_SET,
	 &csp_name,
	 {H2O_STRLIT("default-src 'self'; object-src 'none'; base-uri 'none'; "
		     "form-action 'self'; frame-ancestors 'none'")}},
	{H2O_HEADERS_CMD_SET, &xfo_name, {H2O_STRLIT("DENY")}},
	{H2O_HEADERS_CMD_SET, &referrer_name, {H2O_STRLIT("no-referrer")}},
	{H2O_HEADERS_CMD_NULL, NULL, {NULL, 0}},
};

void http_sec_register(h2o_pathconf_t *pc)
{
	h2o_headers_register(pc, sec_headers);
}

/* ---- CORS ---- */

/* The Access-Control-Allow-Origin value for the request's Origin: "*"
 * when no http-cors-origin is configured (or one is "*"), the origin
 * itself when it is listed, else NULL. */
static const char *allowed_origin(hreq_t *r)
{
	const node_conf_t *c = r->t->srv->conf;
	h2o_req_t *req = r->req;
	ssize_t i =
		h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
	if (i < 0)
		return NULL;
	if (c->nhttp_cors == 0)
		return "*";
	http_add_header(r, H2O_TOKEN_VARY, "Origin");
	h2o_iovec_t o = req->headers.entries[i].value;
	for (int k = 0; k < c->nhttp_cors; k++) {
		if (strcmp(c->http_cors[k], "*") == 0)
			return "*";
		if (strlen(c->http_cors[k]) == o.len &&
		    memcmp(c->http_cors[k], o.base, o.len) == 0)
			return c->http_cors[k];
	}
	return NULL;
}

/* A read of public data: an anonymous row, GET or HEAD, asked by nobody
 * in particular (a token holder's answer may hold more). */
static bool public_read(const http_route_t *row, unsigned method,
			const principal_t *who)
{
	return row != NULL && row->need == PRINCIPAL_ANONYMOUS &&
	       row->ctype == NULL && (method & HTTP_M_READ) != 0 &&
	       who->kind == PRINCIPAL_ANONYMOUS;
}

void http_cors(hreq_t *r, unsigned method)
{
	if (!public_read(r->route, method, &r->who))
		return;
	const char *o = allowed_origin(r);
	if (o != NULL)
		http_add_header(r, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, o);
}

bool http_preflight(hreq_t *r, const http_chan_t *chan)
{
	h2o_req_t *req = r->req;
	if (!http_method(r, "OPTIONS"))
		return false;
	ssize_t m = h2o_find_header_by_str(
		&req->headers, H2O_STRLIT("access-control-request-method"), -1);
	if (m < 0 ||
	    h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1) < 0)
		return false;
	r->op = "preflight";
	h2o_iovec_t want = req->headers.entries[m].value;
	unsigned bit = http_method_bit(want.base, want.len);
	const http_route_t *row = NULL;
	unsigned allow;
	principal_t anon = {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0};
	const char *o = NULL;
	if ((bit & HTTP_M_READ) != 0 &&
	    http_route_find(r->path, bit, NULL, 0, &anon, chan, &row, &allow) ==
		    HTTP_ROUTE_OK &&
	    public_read(row, bit, &anon)) {
		r->route = row;
		o = allowed_origin(r);
	}
	if (o == NULL) {
		http_reply_rc(r, 403, IDN_RC_PROTOCOL_ERROR,
			      "cross-origin requests may only read public "
			      "data (GET, HEAD)");
		return true;
	}
	http_add_header(r, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, o);
	http_add_header_str(r, "access-control-allow-methods", "GET, HEAD");
	http_add_header_str(r, "access-control-max-age", "600");
	http_reply(r, 204, NULL, "", 0);
	return true;
}
