/* Writes and listings of the handle.net REST API as the HANDLE.NET 9
 * technical manual's REST chapter describes them (docs/http-api.md): PUT
 * with a record object, a bare array of values or a single value;
 * index=N, index=various, overwrite and mintNewSuffix; GET
 * /api/handles?prefix= with its paging (everything without page
 * arguments, a count alone with pageSize=0). The writes are Handle
 * messages run for the request's principal (http_write), so an admin
 * authenticated over HTTP has exactly the rights its HS_ADMIN values give
 * it over UDP and TCP. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authz.h"
#include "error.h"
#include "handler_int.h"
#include "hex.h"
#include "http_int.h"
#include "ident.h"

/* A mint that collides with an existing identifier tries a fresh suffix;
 * with 122 random bits a second collision means something else is wrong. */
#define MINT_TRIES 4

int http_q_bool(const hreq_t *r, const char *name, bool dflt, bool *out)
{
	const char *v = http_q(r, name);
	*out = dflt;
	if (v == NULL)
		return 0;
	/* clients spell booleans as their language prints them: Python's
	 * str(False) is "False" */
	if (!*v || !strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !strcasecmp(v, "yes"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcmp(v, "0") ||
		 !strcasecmp(v, "no"))
		*out = false;
	else
		return -1;
	return 0;
}

int http_rest_status(uint32_t rc)
{
	/* the manual: "400 Bad Request ... also returned for a request for a
	 * handle for which a server is not responsible" */
	return rc == IDN_RC_SERVER_NOT_RESP ? 400 : http_status_for_rc(rc);
}

json_t *http_rc_json(uint32_t rc, const char *id, const char *msg)
{
	json_t *j = json_object();
	json_object_set_new(j, "responseCode", json_integer(rc));
	if (id)
		json_object_set_new(j, "handle", json_string(id));
	if (msg && *msg)
		json_object_set_new(j, "message", json_string(msg));
	return j;
}

void http_reply_result(hreq_t *r, uint32_t rc, const char *id, const char *msg,
		       int ok_status)
{
	/* a write the node refused (and audited) because the admin has no
	 * rights there or the record is absent, under a prefix it does not
	 * serve at all: the manual's answer is 301 */
	if ((rc == IDN_RC_INSUFFICIENT_PERMS || rc == IDN_RC_NOT_FOUND ||
	     rc == IDN_RC_INVALID_ADMIN) &&
	    id != NULL && http_not_responsible(r, id)) {
		rc = IDN_RC_SERVER_NOT_RESP;
		msg = "this node is not responsible for the identifier's "
		      "prefix";
	}
	r->rc = rc;
	int status = rc == IDN_RC_SUCCESS	     ? ok_status
		     : http_store_unavailable(r, rc) ? 503
						     : http_rest_status(rc);
	http_reply_json(r, status, http_rc_json(rc, id, msg));
}

int http_q_indexes(const hreq_t *r, uint32_t *out, bool *various)
{
	int n = 0;
	if (various)
		*various = false;
	for (int i = 0; i < r->nq; i++) {
		if (strcmp(r->qk[i], "index"))
			continue;
		if (various && !strcmp(r->qv[i], "various")) {
			*various = true;
			continue;
		}
		char *end;
		unsigned long v = strtoul(r->qv[i], &end, 10);
		if (*r->qv[i] == 0 || *end || v > 0xffffffffUL ||
		    r->qv[i][0] == '-')
			return -1;
		out[n++] = (uint32_t)v;
	}
	return n;
}

/* ---- PUT /api/handles/{id} ---- */

/* The values of a PUT body: {"values":[...]} (other properties ignored,
 * but a "handle" must name the URL's identifier), a bare array of values,
 * or one value object. Returns 0 or -1 with err. */
static int body_values(hreq_t *r, json_t *body, const char *id, bool minting,
		       idn_value_t **v, uint32_t *n, char *err, size_t errlen)
{
	json_t *arr = NULL;
	bool wrapped = false;
	if (json_is_array(body)) {
		arr = body;
	} else if (json_is_object(body)) {
		json_t *vals = json_object_get(body, "values");
		json_t *h = json_object_get(body, "handle");
		if (vals != NULL) {
			arr = vals;
			if (!minting && h != NULL &&
			    (!json_is_string(h) ||
			     strcmp(json_string_value(h), id))) {
				snprintf(err, errlen,
					 "\"handle\" does not match the URL");
				return -1;
			}
		} else if (json_object_get(body, "index") != NULL ||
			   json_object_get(body, "type") != NULL) {
			arr = json_array();
			json_array_append(arr, body);
			wrapped = true;
		}
	}
	if (arr == NULL || !json_is_array(arr)) {
		snprintf(err, errlen,
			 "the body must be a record {\"values\":[...]}, an "
			 "array of values or one value");
		return -1;
	}
	int rc = http_values_parse(arr, v, n, &r->t->arena, err, errlen);
	if (wrapped)
		json_decref(arr);
	if (rc == 0 && *n == 0) {
		snprintf(err, errlen, "no values given");
		return -1;
	}
	return rc;
}

/* Keeps of v[0..*n) the values whose index is in idx[0..ni), all of which
 * must be there. Returns 0 or -1 with err. */
static int keep_indexes(idn_value_t *v, uint32_t *n, const uint32_t *idx,
			int ni, char *err, size_t errlen)
{
	for (int i = 0; i < ni; i++) {
		uint32_t k = 0;
		while (k < *n && v[k].index != idx[i])
			k++;
		if (k == *n) {
			snprintf(err, errlen, "index %u is not in the body",
				 idx[i]);
			return -1;
		}
	}
	uint32_t m = 0;
	for (uint32_t k = 0; k < *n; k++)
		for (int i = 0; i < ni; i++)
			if (v[k].index == idx[i]) {
				v[m++] = v[k];
				break;
			}
	*n = m;
	return 0;
}

/* The identifier a mint creates: the URL's text (which names the prefix
 * and its slash, "88.118.8/" or "88.118.8/doc-") and a random UUID, from
 * the request's pool. NULL when the text is not under a prefix. */
static char *mint_name(hreq_t *r, const char *base)
{
	uint8_t u[16];
	if (strchr(base, '/') == NULL || RAND_bytes(u, sizeof(u)) != 1)
		return NULL;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	char hex[33];
	idn_hex_encode(u, sizeof(u), hex);
	size_t len = strlen(base) + 37;
	char *out = h2o_mem_alloc_pool(&r->req->pool, len);
	snprintf(out, len, "%s%.8s-%.4s-%.4s-%.4s-%.12s", base, hex, hex + 8,
		 hex + 12, hex + 16, hex + 20);
	return out;
}

/* Creates a record under a fresh name: a create never overwrites, so two
 * mints that drew the same suffix cannot both succeed; the loser draws
 * again. */
static void put_mint(hreq_t *r, const char *base, idn_value_t *v, uint32_t n)
{
	const char *msg = "", *id = base;
	uint32_t rc = IDN_RC_ALREADY_EXISTS;
	r->op = "create";
	for (int i = 0; i < MINT_TRIES && rc == IDN_RC_ALREADY_EXISTS; i++) {
		id = mint_name(r, base);
		if (id == NULL) {
			http_reply_result(r, IDN_RC_INVALID_HANDLE, base,
					  "mintNewSuffix needs the prefix and "
					  "its slash: /api/handles/PREFIX/",
					  0);
			return;
		}
		rc = http_write(r, IDN_OC_CREATE, id, false, v, n, NULL, 0,
				&msg);
	}
	if (rc == IDN_RC_SUCCESS) {
		size_t len = strlen(id) + 14;
		char *loc = h2o_mem_alloc_pool(&r->req->pool, len);
		snprintf(loc, len, "/api/handles/%s", id);
		http_add_header(r, H2O_TOKEN_LOCATION, loc);
	}
	http_reply_result(r, rc, id, msg, 201);
}

static void put_write(hreq_t *r, const char *id, idn_value_t *v, uint32_t n,
		      bool some, bool overwrite, bool mint);

void http_api_put(hreq_t *r)
{
	const char *id = r->arg;
	char err[256] = "";
	bool overwrite, mint;
	if (http_q_bool(r, "overwrite", true, &overwrite) != 0 ||
	    http_q_bool(r, "mintNewSuffix", false, &mint) != 0) {
		http_reply_result(r, IDN_RC_PROTOCOL_ERROR, id,
				  "overwrite and mintNewSuffix are true or "
				  "false",
				  0);
		return;
	}
	uint32_t idx[HTTP_Q_MAX];
	bool various;
	int ni = http_q_indexes(r, idx, &various);
	if (ni < 0) {
		http_reply_result(r, IDN_RC_PROTOCOL_ERROR, id,
				  "index must be a non-negative integer or "
				  "\"various\"",
				  0);
		return;
	}
	json_error_t je;
	h2o_iovec_t e = r->req->entity;
	json_t *body =
		e.base ? json_loadb(e.base, e.len, JSON_REJECT_DUPLICATES, &je)
		       : NULL;
	if (body == NULL) {
		if (e.base)
			snprintf(err, sizeof(err), "invalid JSON: %s (line %d)",
				 je.text, je.line);
		else
			snprintf(err, sizeof(err), "no body");
		http_reply_result(r, IDN_RC_INVALID_VALUE, id, err, 0);
		return;
	}
	idn_value_t *v = NULL;
	uint32_t n = 0;
	int bad = body_values(r, body, id, mint, &v, &n, err, sizeof(err));
	if (bad == 0 && ni > 0)
		bad = keep_indexes(v, &n, idx, ni, err, sizeof(err));
	if (bad)
		http_reply_result(r, IDN_RC_INVALID_VALUE, id, err, 0);
	else
		put_write(r, id, v, n, ni > 0 || various, overwrite, mint);
	/* the values point into the JSON tree */
	json_decref(body);
}

/* Writes v[0..n) to id as PUT asked: a mint, some values, or the whole
 * record. */
static void put_write(hreq_t *r, const char *id, idn_value_t *v, uint32_t n,
		      bool some, bool overwrite, bool mint)
{
	if (mint) {
		put_mint(r, id, v, n);
		return;
	}
	const char *msg;
	uint32_t rc;
	if (some) {
		/* add or replace these values of an existing record; with
		 * overwrite=false one that exists is a conflict (409), and
		 * nothing is written */
		r->op = "add";
		rc = http_write(r, IDN_OC_ADD_VALUE, id, overwrite, v, n, NULL,
				0, &msg);
		http_reply_result(r, rc, id, msg, 200);
		return;
	}
	r->op = "create";
	rc = http_write(r, IDN_OC_CREATE, id, false, v, n, NULL, 0, &msg);
	if (rc == IDN_RC_ALREADY_EXISTS && overwrite) {
		rc = http_write(r, IDN_OC_CREATE, id, true, v, n, NULL, 0,
				&msg);
		http_reply_result(r, rc, id, msg, 200);
	} else {
		http_reply_result(r, rc, id, msg, 201);
	}
}

/* ---- GET /api/handles?prefix= ---- */

typedef struct {
	json_t *arr;
	uint64_t skip, take, total;
} list_ctx_t;

static int list_cb(void *ctx, idn_bytes_t id)
{
	list_ctx_t *l = ctx;
	if (l->total >= l->skip && l->total - l->skip < l->take)
		json_array_append_new(l->arr, http_jstrn(id.p, id.len));
	l->total++;
	return 0;
}

/* A paging parameter: -1 when absent or negative (the manual: then
 * everything is listed). Returns 0 or -1 when it is no integer. */
static int q_page(const hreq_t *r, const char *name, long long *out)
{
	const char *s = http_q(r, name);
	*out = -1;
	if (s == NULL)
		return 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s == 0 || *end)
		return -1;
	*out = v < 0 ? -1 : v;
	return 0;
}

/* Whether r's principal may list prefix p (pl bytes): an admin needs the
 * list right on 0.NA/<p> (authz_rights_list), as the LIST op does. */
static uint32_t may_list(hreq_t *r, const uint8_t *p, uint32_t pl,
			 const char **why)
{
	*why = "";
	if (r->who.kind != PRINCIPAL_ADMIN)
		return 0;
	uint8_t buf[IDN_IDENT_MAX + 8];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_id_body_encode(&w, idn_bytes(p, pl));
	if (w.err)
		return IDN_RC_INVALID_HANDLE;
	idn_msg_t m = {0};
	m.hdr.op = IDN_OC_LIST;
	m.rest = idn_bytes(buf, w.len);
	handler_t *h = &r->t->h;
	return authz_rights_list(h->rtxn, &h->arena, &m, r->who.admin,
				 r->who.index, why);
}

void http_api_list(hreq_t *r)
{
	r->op = "list";
	const char *prefix = http_q(r, "prefix");
	long long page, size;
	if (prefix == NULL || q_page(r, "page", &page) != 0 ||
	    q_page(r, "pageSize", &size) != 0) {
		http_reply_rc(r, 400, IDN_RC_PROTOCOL_ERROR,
			      "need ?prefix=P [&page=N&pageSize=M]");
		return;
	}
	/* a page size of 0 asks for the count alone, page or not */
	if (size == 0 && page < 0)
		page = 0;
	bool all = page < 0 || size < 0;
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl;
	if (idn_prefix_normalise((const uint8_t *)prefix, strlen(prefix), p,
				 &pl) != 0) {
		http_reply_rc(r, 400, IDN_RC_INVALID_HANDLE, "invalid prefix");
		return;
	}
	handler_t *h = &r->t->h;
	if (handler_begin(h) != 0) {
		http_reply_rc(r, 500, IDN_RC_ERROR, "store unavailable");
		return;
	}
	int homed = idn_store_homed(h->rtxn, p, pl);
	const char *why = "";
	uint32_t denied = homed == 1 ? may_list(r, p, pl, &why) : 0;
	list_ctx_t l = {json_array(), all ? 0 : (uint64_t)page * (uint64_t)size,
			all ? UINT64_MAX : (uint64_t)size, 0};
	int err = homed == 1 && denied == 0
			  ? idn_store_list(h->rtxn, p, pl, idn_bytes(NULL, 0),
					   list_cb, &l)
			  : 0;
	handler_end(h);
	if (homed != 1 || err || denied) {
		json_decref(l.arr);
		if (homed == 0)
			http_reply_rc(r, 400, IDN_RC_SERVER_NOT_RESP,
				      "prefix is not homed on this node");
		else if (denied)
			http_reply_rc(r, http_rest_status(denied), denied, why);
		else
			http_reply_rc(r, 500, IDN_RC_ERROR,
				      idn_strerror(homed < 0 ? homed : err));
		return;
	}
	json_t *j = http_reply_obj(r, IDN_RC_SUCCESS);
	json_object_set_new(j, "prefix", json_string(prefix));
	json_object_set_new(j, "totalCount", json_integer((json_int_t)l.total));
	if (!all) {
		json_object_set_new(j, "page", json_integer(page));
		json_object_set_new(j, "pageSize", json_integer(size));
	}
	json_object_set_new(j, "handles", l.arr);
	http_reply_json(r, 200, j);
}

/* ---- answers of GET /api/handles/{id} ---- */

bool http_not_responsible(hreq_t *r, const char *id)
{
	static _Thread_local idn_ident_t ident;
	if (idn_ident_parse((const uint8_t *)id, strlen(id), 0, &ident) != 0)
		return false;
	handler_t *h = &r->t->h;
	if (handler_begin(h) != 0)
		return false;
	int resp = responsible(h, &ident);
	handler_end(h);
	return resp == 0;
}

/* Seconds a cache may keep values v[0..n): the smallest TTL, an absolute
 * one counted from now (RFC 3652 section 3.2: each value's TTL bounds
 * how long it may be cached). */
static uint32_t min_ttl(const idn_value_t *v, uint32_t n)
{
	uint32_t min = UINT32_MAX, now = (uint32_t)time(NULL);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ttl = v[i].ttl;
		if (v[i].ttl_type == IDN_TTL_ABSOLUTE)
			ttl = v[i].ttl > now ? v[i].ttl - now : 0;
		if (ttl < min)
			min = ttl;
	}
	return n == 0 ? 0 : min;
}

/* Whether If-None-Match lists etag (or is "*"). */
static bool etag_listed(const hreq_t *r, const char *etag)
{
	ssize_t i =
		h2o_find_header(&r->req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
	if (i < 0)
		return false;
	h2o_iovec_t v = r->req->headers.entries[i].value;
	size_t el = strlen(etag);
	for (size_t k = 0; k < v.len;) {
		while (k < v.len && (v.base[k] == ' ' || v.base[k] == ','))
			k++;
		size_t e = k;
		while (e < v.len && v.base[e] != ',')
			e++;
		size_t t = e;
		while (t > k && v.base[t - 1] == ' ')
			t--;
		const char *tag = v.base + k;
		size_t tl = t - k;
		if (tl > 2 && tag[0] == 'W' && tag[1] == '/') {
			tag += 2; /* a weak comparison (RFC 9110 13.1.2) */
			tl -= 2;
		}
		if ((tl == 1 && tag[0] == '*') ||
		    (tl == el && memcmp(tag, etag, el) == 0))
			return true;
		k = e;
	}
	return false;
}

bool http_cache_public(hreq_t *r, const idn_value_t *v, uint32_t n,
		       const char *body, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char cc[48], hex[33], etag[36];
	snprintf(cc, sizeof(cc), "max-age=%u", min_ttl(v, n));
	http_add_header(r, H2O_TOKEN_CACHE_CONTROL,
			h2o_strdup(&r->req->pool, cc, SIZE_MAX).base);
	if (EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return false;
	idn_hex_encode(md, 16, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	http_add_header(r, H2O_TOKEN_ETAG,
			h2o_strdup(&r->req->pool, etag, SIZE_MAX).base);
	if (!etag_listed(r, etag))
		return false;
	http_reply(r, 304, "application/json", "", 0);
	return true;
}
