/* The management API in the style of the national secondary-node API:
 * token login, identifier data CRUD and batches. Every response is
 * {"status":S,"message":M,"data":D}: status 1 success, -1 not logged in,
 * -2 business error (bad input, not found, exists), -3 no permission
 * (prefix not homed here, login refused), -4 internal error. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"

enum { ST_OK = 1, ST_LOGIN = -1, ST_BUSINESS = -2, ST_PERM = -3,
       ST_INTERNAL = -4 };

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

/* Status and HTTP status for a Handle response code. */
static int st_for_rc(uint32_t rc, int *http)
{
	switch (rc) {
	case IDN_RC_SUCCESS: *http = 200; return ST_OK;
	case IDN_RC_NOT_FOUND:
	case IDN_RC_VALUES_NOT_FOUND: *http = 404; return ST_BUSINESS;
	case IDN_RC_ALREADY_EXISTS:
	case IDN_RC_VALUE_EXISTS: *http = 409; return ST_BUSINESS;
	case IDN_RC_INVALID_HANDLE:
	case IDN_RC_INVALID_VALUE:
	case IDN_RC_PROTOCOL_ERROR: *http = 400; return ST_BUSINESS;
	case IDN_RC_SERVER_NOT_RESP:
	case IDN_RC_INSUFFICIENT_PERMS: *http = 403; return ST_PERM;
	default: *http = 500; return ST_INTERNAL;
	}
}

static const char *rc_text(uint32_t rc, const char *msg)
{
	if (msg && *msg)
		return msg;
	switch (rc) {
	case IDN_RC_SUCCESS: return "success";
	case IDN_RC_NOT_FOUND: return "identifier not found";
	case IDN_RC_ALREADY_EXISTS: return "identifier already exists";
	case IDN_RC_VALUES_NOT_FOUND: return "value not found";
	case IDN_RC_VALUE_EXISTS: return "value index already exists";
	default: return "failed";
	}
}

static void login(hreq_t *r)
{
	r->op = "login";
	json_t *b = http_body_json(r);
	if (b == NULL)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v)
	{
		if (strcmp(k, "username") && strcmp(k, "password")) {
			char m[128];
			snprintf(m, sizeof(m), "unknown field '%.64s'", k);
			mreply(r, ST_BUSINESS, 400, m, NULL);
			json_decref(b);
			return;
		}
	}
	const char *user = json_string_value(json_object_get(b, "username"));
	const char *pass = json_string_value(json_object_get(b, "password"));
	http_server_t *s = r->t->srv;
	if (user == NULL || pass == NULL) {
		mreply(r, ST_BUSINESS, 400, "username and password are required",
		       NULL);
	} else if (!s->secret[0]) {
		mreply(r, ST_PERM, 403,
		       "login is disabled: the node has no http-admin-token-file",
		       NULL);
	} else if (strcmp(user, "admin") != 0 ||
		   strlen(pass) != strlen(s->secret) ||
		   CRYPTO_memcmp(pass, s->secret, strlen(pass)) != 0) {
		mreply(r, ST_LOGIN, 401, "wrong username or password", NULL);
	} else {
		char tok[65];
		if (http_token_issue(s, user, tok) != 0) {
			mreply(r, ST_INTERNAL, 500, "cannot issue a token", NULL);
		} else {
			json_t *d = json_object();
			json_object_set_new(d, "token", json_string(tok));
			json_object_set_new(d, "expiresIn",
					    json_integer(s->conf->http_token_ttl));
			mreply(r, ST_OK, 200, "success", d);
		}
	}
	json_decref(b);
}

/* Validates one {"handle","values"} item; err gets why not. */
static int item_parse(hreq_t *r, json_t *it, const char **id,
		      idn_value_t **v, uint32_t *n, char *err, size_t errlen)
{
	err[0] = 0;
	if (!json_is_object(it)) {
		snprintf(err, errlen, "an item must be an object");
		return -1;
	}
	const char *k;
	json_t *x;
	json_object_foreach(it, k, x)
	{
		if (strcmp(k, "handle") && strcmp(k, "values")) {
			snprintf(err, errlen, "unknown field '%.64s'", k);
			return -1;
		}
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

static void data_get(hreq_t *r)
{
	const char *id = http_q(r, "handle");
	if (id == NULL) {
		mreply(r, ST_BUSINESS, 400, "?handle= is required", NULL);
		return;
	}
	json_t *values;
	const char *msg;
	r->op = "resolve";
	uint32_t rc = http_resolve(r, id, false, NULL, 0, NULL, 0, &values, &msg);
	r->rc = rc;
	int http;
	int st = st_for_rc(rc, &http);
	if (rc != IDN_RC_SUCCESS) {
		json_decref(values);
		mreply(r, st, http, rc_text(rc, msg), NULL);
		return;
	}
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
		r->rc = rc;
		int http;
		int st = st_for_rc(rc, &http);
		json_t *d = json_object();
		json_object_set_new(d, "handle", json_string(id));
		mreply(r, st, st == ST_OK && create ? 201 : http,
		       rc_text(rc, msg), d);
	}
	json_decref(b);
}

static void data_delete(hreq_t *r)
{
	const char *id = http_q(r, "handle");
	if (id == NULL) {
		mreply(r, ST_BUSINESS, 400, "?handle= is required", NULL);
		return;
	}
	const char *msg;
	r->op = "delete";
	uint32_t rc = http_write(r, IDN_OC_DELETE, id, false, NULL, 0, NULL, 0,
				 &msg);
	r->rc = rc;
	int http;
	int st = st_for_rc(rc, &http);
	mreply(r, st, http, rc_text(rc, msg), NULL);
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
	const char *k;
	json_t *x;
	r->op = del ? "batch_delete" : !strcmp(kind, "create") ? "batch_create"
							       : "batch_update";
	json_object_foreach(b, k, x)
	{
		if (strcmp(k, field)) {
			snprintf(err, sizeof(err), "unknown field '%.64s'", k);
			break;
		}
	}
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
	item_t *items = n ? idn_arena_array(&r->t->arena, n, sizeof(*items))
			  : NULL;
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
		json_object_set_new(f, "message", json_string(rc_text(rc, msg)));
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

int http_route_mgmt(hreq_t *r)
{
	r->route = R_MGMT;
	const char *p = r->path;
	if (!strcmp(p, "/identity/token")) {
		if (!http_method(r, "POST"))
			mreply(r, ST_BUSINESS, 405, "use POST", NULL);
		else
			login(r);
		return 1;
	}
	bool known = !strcmp(p, "/snms/api/v5/data") ||
		     !strncmp(p, "/snms/api/v5/data/batch/", 24) ||
		     !strncmp(p, "/snms/api/v5/template", 21);
	if (!known) {
		mreply(r, ST_BUSINESS, 404, "no such management resource", NULL);
		return 1;
	}
	if (!r->admin) {
		http_add_header(r, H2O_TOKEN_WWW_AUTHENTICATE,
				"Bearer realm=\"idnode\"");
		mreply(r, ST_LOGIN, 401,
		       "not logged in: POST /identity/token, then send "
		       "Authorization: Bearer <token>",
		       NULL);
		return 1;
	}
	if (!strncmp(p, "/snms/api/v5/template", 21)) {
		mreply(r, ST_BUSINESS, 501,
		       "metadata templates are not available on this node yet",
		       NULL);
		return 1;
	}
	if (!strcmp(p, "/snms/api/v5/data")) {
		if (http_method(r, "GET"))
			data_get(r);
		else if (http_method(r, "POST"))
			data_write(r, true);
		else if (http_method(r, "PUT"))
			data_write(r, false);
		else if (http_method(r, "DELETE"))
			data_delete(r);
		else
			mreply(r, ST_BUSINESS, 405, "method not allowed", NULL);
		return 1;
	}
	const char *kind = p + 24;
	if (strcmp(kind, "create") && strcmp(kind, "update") &&
	    strcmp(kind, "delete")) {
		mreply(r, ST_BUSINESS, 404, "no such batch operation", NULL);
		return 1;
	}
	if (!http_method(r, "POST")) {
		mreply(r, ST_BUSINESS, 405, "use POST", NULL);
		return 1;
	}
	batch(r, kind);
	return 1;
}
