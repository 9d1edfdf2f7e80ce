/* The management API in the style of the national secondary-node API:
 * token login, identifier data CRUD and batches. Every response is
 * {"status":S,"message":M,"data":D}: status 1 success, -1 not logged in,
 * -2 business error (bad input, not found, exists), -3 no permission
 * (prefix not homed here, login refused), -4 internal error. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http_int.h"
#include "ident.h"
#include "template.h"
#include "tplcheck.h"

enum {
	ST_OK = HTTP_MGMT_OK,
	ST_LOGIN = HTTP_MGMT_LOGIN,
	ST_BUSINESS = HTTP_MGMT_BUSINESS,
	ST_PERM = HTTP_MGMT_PERM,
	ST_INTERNAL = HTTP_MGMT_INTERNAL
};

#define BATCH_MAX 1000

static void mreply(hreq_t *r, int status, int http, const char *msg,
		   json_t *data)
{
	json_t *j = json_object();
	json_object_set_new(j, "status", json_integer(status));
	json_object_set_new(j, "message", json_string(msg ? msg : ""));
	json_object_set_new(j, "data", data ? data : json_null());
	http_reply_json(r, http, j);
}

void http_mgmt_reply(hreq_t *r, int status, int http, const char *msg,
		     json_t *data)
{
	mreply(r, status, http, msg, data);
}

int http_mgmt_status(const hreq_t *r, uint32_t rc, int *http)
{
	if (http_store_unavailable(r, rc)) {
		*http = 503;
		return ST_INTERNAL;
	}
	switch (rc) {
	case IDN_RC_SUCCESS:
		*http = 200;
		return ST_OK;
	case IDN_RC_NOT_FOUND:
	case IDN_RC_VALUES_NOT_FOUND:
		*http = 404;
		return ST_BUSINESS;
	case IDN_RC_ALREADY_EXISTS:
	case IDN_RC_VALUE_EXISTS:
		*http = 409;
		return ST_BUSINESS;
	case IDN_RC_INVALID_HANDLE:
	case IDN_RC_INVALID_VALUE:
	case IDN_RC_PROTOCOL_ERROR:
		*http = 400;
		return ST_BUSINESS;
	case IDN_RC_SERVER_NOT_RESP:
	case IDN_RC_INSUFFICIENT_PERMS:
		*http = 403;
		return ST_PERM;
	default:
		*http = 500;
		return ST_INTERNAL;
	}
}

void http_mgmt_reply_rc(hreq_t *r, uint32_t rc, int ok_http, const char *text,
			json_t *data)
{
	r->rc = rc;
	int http;
	int st = http_mgmt_status(r, rc, &http);
	mreply(r, st, st == ST_OK ? ok_http : http, text, data);
}

static const char *rc_text(uint32_t rc, const char *msg)
{
	if (msg && *msg)
		return msg;
	switch (rc) {
	case IDN_RC_SUCCESS:
		return "success";
	case IDN_RC_NOT_FOUND:
		return "identifier not found";
	case IDN_RC_ALREADY_EXISTS:
		return "identifier already exists";
	case IDN_RC_VALUES_NOT_FOUND:
		return "value not found";
	case IDN_RC_VALUE_EXISTS:
		return "value index already exists";
	default:
		return "failed";
	}
}

/* Replies rc_text(rc, msg), with data (reference stolen, may be NULL)
 * only when rc is success. */
static void reply_rc(hreq_t *r, uint32_t rc, const char *msg, int ok_http,
		     json_t *data)
{
	if (rc != IDN_RC_SUCCESS) {
		json_decref(data);
		data = NULL;
	}
	http_mgmt_reply_rc(r, rc, ok_http, rc_text(rc, msg), data);
}

/* Validates one {"handle","values"} item; err gets why not. */
static int item_parse(hreq_t *r, json_t *it, const char **id, idn_value_t **v,
		      uint32_t *n, char *err, size_t errlen)
{
	err[0] = 0;
	if (!json_is_object(it)) {
		snprintf(err, errlen, "an item must be an object");
		return -1;
	}
	static const char *const keys[] = {"handle", "values", NULL};
	const char *k = http_unknown_key(it, keys);
	if (k != NULL) {
		snprintf(err, errlen, "unknown field '%.64s'", k);
		return -1;
	}
	*id = json_string_value(json_object_get(it, "handle"));
	if (*id == NULL) {
		snprintf(err, errlen, "\"handle\" is required");
		return -1;
	}
	if (http_values_parse(json_object_get(it, "values"), v, n, &r->t->arena,
			      err, errlen) != 0)
		return -1;
	if (*n == 0) {
		snprintf(err, errlen, "no values given");
		return -1;
	}
	return 0;
}

static uint32_t item_write(hreq_t *r, bool create, const char *id,
			   idn_value_t *v, uint32_t n, const char **msg)
{
	return http_write(r, create ? IDN_OC_CREATE : IDN_OC_ADD_VALUE, id,
			  !create, v, n, NULL, 0, msg);
}

void http_mgmt_data_get(hreq_t *r)
{
	const char *id = http_q(r, "handle");
	if (id == NULL) {
		mreply(r, ST_BUSINESS, 400, "?handle= is required", NULL);
		return;
	}
	json_t *values;
	const char *msg;
	r->op = "resolve";
	uint32_t rc =
		http_resolve(r, id, false, NULL, 0, NULL, 0, &values, &msg);
	if (rc != IDN_RC_SUCCESS) {
		json_decref(values);
		reply_rc(r, rc, msg, 200, NULL);
		return;
	}
	r->rc = rc;
	json_t *d = json_object();
	json_object_set_new(d, "handle", json_string(id));
	json_object_set_new(d, "values", values);
	mreply(r, ST_OK, 200, "success", d);
}

static void data_write(hreq_t *r, bool create)
{
	json_t *b = http_body_json(r);
	if (b == NULL)
		return;
	const char *id;
	idn_value_t *v;
	uint32_t n;
	char err[256];
	r->op = create ? "create" : "add";
	if (item_parse(r, b, &id, &v, &n, err, sizeof(err)) != 0) {
		mreply(r, ST_BUSINESS, 400, err, NULL);
	} else {
		const char *msg;
		uint32_t rc = item_write(r, create, id, v, n, &msg);
		json_t *d = json_object();
		json_object_set_new(d, "handle", json_string(id));
		/* the identifier is named whatever the outcome */
		http_mgmt_reply_rc(r, rc, create ? 201 : 200, rc_text(rc, msg),
				   d);
	}
	json_decref(b);
}

void http_mgmt_data_create(hreq_t *r)
{
	data_write(r, true);
}

void http_mgmt_data_update(hreq_t *r)
{
	data_write(r, false);
}

void http_mgmt_data_delete(hreq_t *r)
{
	const char *id = http_q(r, "handle");
	if (id == NULL) {
		mreply(r, ST_BUSINESS, 400, "?handle= is required", NULL);
		return;
	}
	const char *msg;
	r->op = "delete";
	uint32_t rc =
		http_write(r, IDN_OC_DELETE, id, false, NULL, 0, NULL, 0, &msg);
	reply_rc(r, rc, msg, 200, NULL);
}

/* Batches: each item is its own write; the answer lists what failed. The
 * whole body is checked first, so a malformed batch changes nothing. */
static void batch(hreq_t *r, const char *kind)
{
	json_t *b = http_body_json(r);
	if (b == NULL)
		return;
	bool del = !strcmp(kind, "delete");
	const char *field = del ? "handles" : "items";
	json_t *arr = json_object_get(b, field);
	char err[256] = "";
	r->op = del			  ? "batch_delete"
		: !strcmp(kind, "create") ? "batch_create"
					  : "batch_update";
	const char *const keys[] = {field, NULL};
	const char *k = http_unknown_key(b, keys);
	if (k != NULL)
		snprintf(err, sizeof(err), "unknown field '%.64s'", k);
	if (!err[0] && (!json_is_array(arr) || json_array_size(arr) == 0 ||
			json_array_size(arr) > BATCH_MAX))
		snprintf(err, sizeof(err), "\"%s\" must be an array of 1..%d",
			 field, BATCH_MAX);
	size_t n = err[0] ? 0 : json_array_size(arr);
	typedef struct {
		const char *id;
		idn_value_t *v;
		uint32_t nv;
	} item_t;
	item_t *items =
		n ? idn_arena_array(&r->t->arena, n, sizeof(*items)) : NULL;
	if (n && items == NULL)
		snprintf(err, sizeof(err), "out of memory");
	for (size_t i = 0; i < n && !err[0]; i++) {
		json_t *it = json_array_get(arr, i);
		char e2[200];
		if (del) {
			items[i].id = json_string_value(it);
			if (items[i].id == NULL)
				snprintf(err, sizeof(err),
					 "handles[%zu] must be a string", i);
		} else if (item_parse(r, it, &items[i].id, &items[i].v,
				      &items[i].nv, e2, sizeof(e2)) != 0) {
			snprintf(err, sizeof(err), "items[%zu]: %s", i, e2);
		}
	}
	if (err[0]) {
		mreply(r, ST_BUSINESS, 400, err, NULL);
		json_decref(b);
		return;
	}
	json_t *failed = json_array();
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		const char *msg;
		uint32_t rc = del ? http_write(r, IDN_OC_DELETE, items[i].id,
					       false, NULL, 0, NULL, 0, &msg)
				  : item_write(r, !strcmp(kind, "create"),
					       items[i].id, items[i].v,
					       items[i].nv, &msg);
		if (rc == IDN_RC_SUCCESS) {
			ok++;
			continue;
		}
		json_t *f = json_object();
		json_object_set_new(f, "handle", json_string(items[i].id));
		json_object_set_new(f, "responseCode", json_integer(rc));
		json_object_set_new(f, "message",
				    json_string(rc_text(rc, msg)));
		json_array_append_new(failed, f);
	}
	json_t *d = json_object();
	json_object_set_new(d, "total", json_integer((json_int_t)n));
	json_object_set_new(d, "success", json_integer((json_int_t)ok));
	json_object_set_new(d, "failed", failed);
	r->rc = ok == n ? IDN_RC_SUCCESS : IDN_RC_ERROR;
	mreply(r, ok == n ? ST_OK : ST_BUSINESS, 200,
	       ok == n ? "success" : "some items failed", d);
	json_decref(b);
}

void http_mgmt_batch_create(hreq_t *r)
{
	batch(r, "create");
}

void http_mgmt_batch_update(hreq_t *r)
{
	batch(r, "update");
}

void http_mgmt_batch_delete(hreq_t *r)
{
	batch(r, "delete");
}

/* ---- metadata templates: /snms/api/v5/template ----
 * A template NAME of prefix P is the record P/TEMPLATE/NAME, one
 * IDN_TEMPLATE value per version (tplcheck.h); the node enforces the
 * state rules on every write, so these handlers only translate. */

static int tpl_id(hreq_t *r, const char *prefix, const char *name, char **out)
{
	size_t n = strlen(prefix) + strlen(TPL_SUFFIX) + strlen(name) + 2;
	*out = idn_arena_alloc(&r->t->arena, n);
	if (*out == NULL)
		return -1;
	snprintf(*out, n, "%s/" TPL_SUFFIX "%s", prefix, name);
	return n > IDN_IDENT_MAX ? -1 : 0;
}

uint32_t http_tpl_fetch(hreq_t *r, const char *id, uint32_t index,
			const char *vtype, idn_value_t **v, uint32_t *n,
			const char **msg)
{
	http_thr_t *t = r->t;
	uint32_t version = index;
	idn_bytes_t type = idn_bytes_str(vtype);
	idn_resolve_req_t q = {idn_bytes_str(id), version ? 1 : 0, &version,
			       version ? 0 : 1, &type};
	hdl_reply_t hr;
	*msg = "";
	uint32_t rc = http_hdl_resolve(
		t, &q, 0, r->who.kind != PRINCIPAL_ANONYMOUS, &hr, msg);
	if (rc != 0)
		return rc;
	if (hr.rc == IDN_RC_NOT_FOUND || hr.rc == IDN_RC_VALUES_NOT_FOUND) {
		*msg = "no such template";
		return hr.rc;
	}
	idn_values_body_t b;
	if (hr.rc != IDN_RC_SUCCESS) {
		*msg = http_hdl_text(r, &hr);
		return hr.rc;
	}
	if (idn_values_body_decode(hr.msg.rest, &t->arena, &b) != 0) {
		*msg = "malformed reply";
		return IDN_RC_ERROR;
	}
	*v = b.values;
	*n = b.nvalues;
	return IDN_RC_SUCCESS;
}

/* The IDN_TEMPLATE values of prefix/TEMPLATE/name (version 0: all). */
static uint32_t tpl_fetch(hreq_t *r, const char *id, uint32_t version,
			  idn_value_t **v, uint32_t *n, const char **msg)
{
	return http_tpl_fetch(r, id, version, TPL_TYPE, v, n, msg);
}

/* Stores t as its version's value with op (create, add or modify). */
static uint32_t tpl_store(hreq_t *r, const char *id, const idn_template_t *t,
			  uint32_t op, const char **msg)
{
	size_t sz = idn_template_size(t);
	uint8_t *data = idn_arena_alloc(&r->t->arena, sz ? sz : 1);
	if (data == NULL) {
		*msg = "out of memory";
		return IDN_RC_ERROR;
	}
	idn_wr_t w;
	idn_wr_init(&w, data, sz);
	idn_template_encode(t, &w);
	idn_value_t v = {t->version,
			 0,
			 IDN_TTL_RELATIVE,
			 IDN_TTL_DEFAULT,
			 IDN_PERM_DEFAULT,
			 idn_bytes_str(TPL_TYPE),
			 idn_bytes(data, w.len),
			 0,
			 NULL};
	return http_write(r, op, id, false, &v, 1, NULL, 0, msg);
}

/* Query prefix, name (when need_name) and version (when need_version;
 * else optional, 0 when absent). Replies 400 and returns -1 when bad. */
static int tpl_query(hreq_t *r, bool need_name, bool need_version,
		     const char **prefix, const char **name, uint32_t *version)
{
	*prefix = http_q(r, "prefix");
	*name = http_q(r, "name");
	const char *vs = http_q(r, "version");
	*version = 0;
	char *end = NULL;
	unsigned long v = vs ? strtoul(vs, &end, 10) : 0;
	if (*prefix == NULL || (need_name && *name == NULL) ||
	    (need_version && vs == NULL) || (vs && *name == NULL) ||
	    (vs && (*vs < '0' || *vs > '9' || *end || v < 1 ||
		    v > TPL_VERSION_MAX))) {
		mreply(r, ST_BUSINESS, 400,
		       need_version ? "?prefix=P&name=N&version=1..1999 are "
				      "required"
				    : "?prefix=P [&name=N [&version=1..1999]]",
		       NULL);
		return -1;
	}
	*version = (uint32_t)v;
	return 0;
}

typedef struct {
	json_t *names;
	size_t plen;
} tpl_list_t;

static int tpl_list_cb(void *ctx, idn_bytes_t id)
{
	tpl_list_t *l = ctx;
	size_t sl = strlen(TPL_SUFFIX);
	if (id.len > l->plen + 1 + sl &&
	    idn_ascii_caseeq(id.p + l->plen + 1, sl,
			     (const uint8_t *)TPL_SUFFIX, sl))
		json_array_append_new(l->names,
				      http_jstrn(id.p + l->plen + 1 + sl,
						 id.len - l->plen - 1 - sl));
	return 0;
}

static void tpl_list(hreq_t *r, const char *prefix)
{
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl;
	if (idn_prefix_normalise((const uint8_t *)prefix, strlen(prefix), p,
				 &pl) != 0) {
		mreply(r, ST_BUSINESS, 400, "invalid prefix", NULL);
		return;
	}
	handler_t *h = &r->t->h;
	if (handler_begin(h) != 0) {
		mreply(r, ST_INTERNAL, 500, "store unavailable", NULL);
		return;
	}
	int homed = idn_store_homed(h->rtxn, p, pl);
	tpl_list_t l = {json_array(), strlen(prefix)};
	int err = homed == 1
			  ? idn_store_list(h->rtxn, p, pl, idn_bytes(NULL, 0),
					   tpl_list_cb, &l)
			  : 0;
	handler_end(h);
	if (homed != 1 || err) {
		json_decref(l.names);
		if (homed == 0)
			mreply(r, ST_PERM, 403,
			       "prefix is not homed on this node", NULL);
		else
			mreply(r, ST_INTERNAL, 500, idn_strerror(err), NULL);
		return;
	}
	json_t *out = json_array();
	size_t i;
	json_t *nm;
	json_array_foreach(l.names, i, nm)
	{
		char *id;
		idn_value_t *v;
		uint32_t n;
		const char *msg;
		if (tpl_id(r, prefix, json_string_value(nm), &id) != 0 ||
		    tpl_fetch(r, id, 0, &v, &n, &msg) != IDN_RC_SUCCESS)
			continue;
		json_t *vers = json_array();
		for (uint32_t k = 0; k < n; k++) {
			idn_template_t t;
			if (idn_template_decode(v[k].data.p, v[k].data.len,
						NULL, &t, NULL, 0) != 0)
				continue;
			json_t *o = json_object();
			json_object_set_new(o, "version",
					    json_integer(t.version));
			json_object_set_new(
				o, "state",
				json_string(idn_tpl_state_name(t.state)));
			json_array_append_new(vers, o);
			idn_template_free(&t);
		}
		json_t *e = json_object();
		json_object_set(e, "name", nm);
		json_object_set_new(e, "versions", vers);
		json_array_append_new(out, e);
	}
	json_decref(l.names);
	r->rc = IDN_RC_SUCCESS;
	mreply(r, ST_OK, 200, "success", out);
}

void http_mgmt_tpl_get(hreq_t *r)
{
	const char *prefix, *name;
	uint32_t version;
	if (tpl_query(r, false, false, &prefix, &name, &version) != 0)
		return;
	if (name == NULL) {
		tpl_list(r, prefix);
		return;
	}
	char *id;
	idn_value_t *v;
	uint32_t n;
	const char *msg;
	if (tpl_id(r, prefix, name, &id) != 0) {
		mreply(r, ST_BUSINESS, 400, "name too long", NULL);
		return;
	}
	uint32_t rc = tpl_fetch(r, id, version, &v, &n, &msg);
	if (rc != IDN_RC_SUCCESS) {
		reply_rc(r, rc, msg, 200, NULL);
		return;
	}
	json_t *arr = json_array();
	for (uint32_t k = 0; k < n; k++) {
		idn_template_t t;
		if (idn_template_decode(v[k].data.p, v[k].data.len, NULL, &t,
					NULL, 0) == 0)
			json_array_append_new(arr, idn_template_to_jansson(&t));
		idn_template_free(&t);
	}
	json_t *d = version ? json_incref(json_array_get(arr, 0)) : arr;
	if (version)
		json_decref(arr);
	reply_rc(r, IDN_RC_SUCCESS, NULL, 200, d);
}

/* POST (a new version, created as a draft) or PUT (a draft replaced). */
static void tpl_write(hreq_t *r, bool create)
{
	r->op = create ? "template_create" : "template_update";
	h2o_iovec_t body = r->req->entity;
	idn_template_t t;
	char err[256];
	int e = idn_template_from_json(body.base ? body.base : "", body.len,
				       NULL, &t, err, sizeof(err));
	if (e) {
		mreply(r, ST_BUSINESS, 400,
		       e == IDN_ETOOLONG ? "template too large" : err, NULL);
		return;
	}
	char *id;
	if (t.state != IDN_TPL_DRAFT) {
		mreply(r, ST_BUSINESS, 400,
		       "a template is written as a draft: use "
		       "/snms/api/v5/template/publish",
		       NULL);
	} else if (tpl_id(r, t.prefix, t.name, &id) != 0) {
		mreply(r, ST_BUSINESS, 400, "name too long", NULL);
	} else {
		const char *msg;
		uint32_t rc;
		if (create) {
			rc = tpl_store(r, id, &t, IDN_OC_ADD_VALUE, &msg);
			if (rc == IDN_RC_NOT_FOUND)
				rc = tpl_store(r, id, &t, IDN_OC_CREATE, &msg);
			if (rc == IDN_RC_VALUE_EXISTS)
				msg = "this template version exists: PUT "
				      "replaces a draft";
		} else {
			rc = tpl_store(r, id, &t, IDN_OC_MODIFY_VALUE, &msg);
		}
		json_t *d = json_object();
		json_object_set_new(d, "name", json_string(t.name));
		json_object_set_new(d, "version", json_integer(t.version));
		reply_rc(r, rc, msg, create ? 201 : 200, d);
	}
	idn_template_free(&t);
}

static void tpl_state(hreq_t *r, bool publish)
{
	r->op = publish ? "template_publish" : "template_withdraw";
	const char *prefix, *name;
	uint32_t version, n, rc;
	if (tpl_query(r, true, true, &prefix, &name, &version) != 0)
		return;
	char *id;
	idn_value_t *v;
	const char *msg;
	if (tpl_id(r, prefix, name, &id) != 0) {
		mreply(r, ST_BUSINESS, 400, "name too long", NULL);
		return;
	}
	rc = tpl_fetch(r, id, version, &v, &n, &msg);
	if (rc != IDN_RC_SUCCESS || n != 1) {
		reply_rc(r, rc == IDN_RC_SUCCESS ? IDN_RC_NOT_FOUND : rc, msg,
			 200, NULL);
		return;
	}
	idn_template_t t;
	char err[256];
	if (idn_template_decode(v[0].data.p, v[0].data.len, NULL, &t, err,
				sizeof(err)) != 0 ||
	    (publish ? idn_template_publish(&t, NULL, err, sizeof(err))
		     : idn_template_withdraw(&t, err, sizeof(err))) != 0) {
		mreply(r, ST_BUSINESS, 400, err, NULL);
	} else {
		rc = tpl_store(r, id, &t, IDN_OC_MODIFY_VALUE, &msg);
		json_t *d = json_object();
		json_object_set_new(d, "state",
				    json_string(idn_tpl_state_name(t.state)));
		reply_rc(r, rc, msg, 200, d);
	}
	idn_template_free(&t);
}

/* Removes a draft version (the node refuses others). */
void http_mgmt_tpl_delete(hreq_t *r)
{
	r->op = "template_delete";
	const char *prefix, *name, *msg;
	uint32_t version, n;
	if (tpl_query(r, true, true, &prefix, &name, &version) != 0)
		return;
	char *id;
	idn_value_t *v;
	if (tpl_id(r, prefix, name, &id) != 0) {
		mreply(r, ST_BUSINESS, 400, "name too long", NULL);
		return;
	}
	uint32_t rc = tpl_fetch(r, id, version, &v, &n, &msg);
	if (rc == IDN_RC_SUCCESS)
		rc = http_write(r, IDN_OC_REMOVE_VALUE, id, false, NULL, 0,
				&version, 1, &msg);
	reply_rc(r, rc, msg, 200, NULL);
}

void http_mgmt_tpl_create(hreq_t *r)
{
	tpl_write(r, true);
}

void http_mgmt_tpl_update(hreq_t *r)
{
	tpl_write(r, false);
}

void http_mgmt_tpl_publish(hreq_t *r)
{
	tpl_state(r, true);
}

void http_mgmt_tpl_withdraw(hreq_t *r)
{
	tpl_state(r, false);
}

void http_mgmt_not_found(hreq_t *r)
{
	mreply(r, ST_BUSINESS, 404, "no such management resource", NULL);
}
