/* The national SNMS API as its developer guide documents it (guide
 * docs/dev-tools/snms: v5/identity-auth.md, v5/handle-operate.md,
 * attachment.md; docs/snms-api.md): the token login in both forms,
 * logout, and the identifier calls under /identityv2/data. Every answer
 * is {"status","message","data"} with the guide's status codes: 1
 * success, -1 not logged in, -2 business error, -3 no permission, -4
 * internal error (http_mgmt.c keeps that shape).
 *
 * Values travel as the guide writes them: {"index","type","auth",
 * "data":{"format":"string","value":...}}; a record's template is its
 * value at index 1001, type TEMPLATE, whose data is the body's
 * templateVersion (tplcheck.h). Writes run as Handle messages through the
 * thread's handler with the request's principal (http_route.h), so an
 * account acts with its admin's HS_ADMIN rights and nothing more. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "error.h"
#include "hex.h"
#include "http_int.h"
#include "ident.h"
#include "log.h"
#include "tplcheck.h"

/* The guide: "批量注册最大支持2000条" (a batch holds at most 2000). */
#define SNMS_BATCH_MAX 2000
#define SNMS_VERSION_MAX 128 /* templateVersion: at most 128 */
#define SNMS_HANDLE_MAX 255  /* handle: at most 255 */

static void sreply(hreq_t *r, int status, int http, const char *msg,
		   json_t *data)
{
	http_mgmt_reply(r, status, http, msg, data);
}

/* ---- login, logout ---- */

/* The date the guide's v1 proof is made with, for the admin secret. */
static bool secret_v1_match(http_server_t *s, const char *proof, time_t now)
{
	char secret[sizeof(s->secret)];
	pthread_mutex_lock(&s->tok_lock);
	memcpy(secret, s->secret, sizeof(secret));
	pthread_mutex_unlock(&s->tok_lock);
	bool ok = false;
	if (secret[0] && strlen(proof) == 64) {
		uint8_t d[32];
		unsigned dl = 0;
		char h1[65];
		EVP_Digest(secret, strlen(secret), d, &dl, EVP_sha256(), NULL);
		idn_hex_encode(d, sizeof(d), h1);
		for (int k = -1; k <= 1 && !ok; k++) {
			time_t t = now + k * 86400;
			struct tm tm;
			char date[11], want[65];
			gmtime_r(&t, &tm);
			strftime(date, sizeof(date), "%Y-%m-%d", &tm);
			account_v1_proof(h1, date, want);
			ok = CRYPTO_memcmp(want, proof, 64) == 0;
		}
		OPENSSL_cleanse(h1, sizeof(h1));
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok;
}

static void login(hreq_t *r, bool v1)
{
	r->op = "login";
	json_t *b = http_body_json(r);
	if (b == NULL)
		return;
	static const char *const keys[] = {"username", "password", NULL};
	const char *k = http_unknown_key(b, keys);
	if (k != NULL) {
		char m[128];
		snprintf(m, sizeof(m), "unknown field '%.64s'", k);
		sreply(r, HTTP_MGMT_BUSINESS, 400, m, NULL);
		json_decref(b);
		return;
	}
	const char *user = json_string_value(json_object_get(b, "username"));
	const char *pass = json_string_value(json_object_get(b, "password"));
	http_server_t *s = r->t->srv;
	char file[1100], tok[65];
	account_t acc;
	int rc = 1;
	bool admin = false;
	time_t now = time(NULL);
	if (user == NULL || pass == NULL || strlen(user) > ACCOUNT_NAME_MAX ||
	    strlen(pass) > ACCOUNT_PASS_MAX) {
		sreply(r, HTTP_MGMT_BUSINESS, 400,
		       "username (at most 50) and password (at most 64) are "
		       "required",
		       NULL);
		json_decref(b);
		return;
	}
	/* "admin" with the node's admin secret: the operator's rights */
	if (strcmp(user, "admin") == 0 &&
	    (v1 ? secret_v1_match(s, pass, now)
		: http_secret_match(s, pass, strlen(pass)))) {
		rc = 0;
		admin = true;
	} else if (account_file(s->conf, file, sizeof(file)) != NULL) {
		rc = account_check(file, user, pass, v1, now, &acc);
	}
	if (rc < 0) {
		log_error("http: accounts file %s: %s", file, idn_strerror(rc));
		sreply(r, HTTP_MGMT_INTERNAL, 500, "cannot read the accounts",
		       NULL);
	} else if (rc > 0) {
		http_audit_auth(r, "login", user, "wrong username or password");
		sreply(r, HTTP_MGMT_BUSINESS, 401, "wrong username or password",
		       NULL);
	} else if ((admin ? http_token_issue(s, "admin", tok)
			  : http_token_issue_admin(s, acc.name, acc.admin,
						   acc.index, tok)) != 0) {
		sreply(r, HTTP_MGMT_INTERNAL, 500, "cannot issue a token",
		       NULL);
	} else {
		json_t *d = json_object();
		json_object_set_new(d, "token", json_string(tok));
		json_object_set_new(d, "expiresIn",
				    json_integer(s->conf->http_token_ttl));
		/* beyond the guide: the admin an account acts as (the
		 * console names it in the HS_ADMIN of what it creates) */
		if (!admin) {
			char who[IDN_IDENT_MAX + 16];
			snprintf(who, sizeof(who), "%u:%s", acc.index,
				 acc.admin);
			json_object_set_new(d, "admin", json_string(who));
		}
		sreply(r, HTTP_MGMT_OK, 200, "success", d);
	}
	json_decref(b);
}

void http_snms_login(hreq_t *r)
{
	login(r, false);
}

void http_snms_login_v1(hreq_t *r)
{
	login(r, true);
}

void http_snms_logout(hreq_t *r)
{
	r->op = "logout";
	ssize_t i =
		h2o_find_header(&r->req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	h2o_iovec_t v = i >= 0 ? r->req->headers.entries[i].value
			       : h2o_iovec_init("", 0);
	if (v.len > 7 && strncasecmp(v.base, "Bearer ", 7) == 0 &&
	    http_token_revoke(r->t->srv, v.base + 7, v.len - 7)) {
		sreply(r, HTTP_MGMT_OK, 200, "success", json_true());
		return;
	}
	sreply(r, HTTP_MGMT_LOGIN, 401,
	       "not logged in: no live login token in Authorization: Bearer",
	       NULL);
}

/* ---- values in the guide's shape ---- */

/* A JSON integer, or a string of decimal digits (the guide's own
 * template example writes "idIndex": "2000"), into *out. */
static bool int_field(json_t *j, uint32_t *out)
{
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);
		if (v < 0 || v > 0x7fffffff)
			return false;
		*out = (uint32_t)v;
		return true;
	}
	const char *s = json_string_value(j);
	if (s == NULL || *s == 0 || strlen(s) > 10)
		return false;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || *s < '0' || *s > '9' || v > 0x7fffffff)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* One value {"index","type","auth","data":{"format","value"}}. */
static int value_parse(json_t *j, idn_value_t *v, char *err, size_t cap)
{
	static const char *const keys[] = {"index", "type", "auth", "data",
					   NULL};
	if (!json_is_object(j)) {
		snprintf(err, cap, "a value must be an object");
		return -1;
	}
	const char *k = http_unknown_key(j, keys);
	if (k != NULL) {
		snprintf(err, cap, "unknown field '%.64s'", k);
		return -1;
	}
	json_t *d = json_object_get(j, "data");
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *fmt = json_string_value(json_object_get(d, "format"));
	json_t *dv = json_object_get(d, "value");
	json_t *auth = json_object_get(j, "auth");
	memset(v, 0, sizeof(*v));
	if (!int_field(json_object_get(j, "index"), &v->index) ||
	    v->index == 0) {
		snprintf(err, cap, "\"index\" must be a positive integer");
		return -1;
	}
	if (v->index == TPL_REF_INDEX) {
		snprintf(err, cap,
			 "index %d is reserved (the template reference, "
			 "written from templateVersion)",
			 TPL_REF_INDEX);
		return -1;
	}
	if (v->index == SNMS_OWNER_INDEX) {
		snprintf(err, cap,
			 "index %d is reserved (the HS_ADMIN of the account's "
			 "admin)",
			 SNMS_OWNER_INDEX);
		return -1;
	}
	if (type == NULL || *type == 0 || strlen(type) > 128) {
		snprintf(err, cap, "\"type\" must be a string of 1..128");
		return -1;
	}
	if (auth != NULL && !json_is_string(auth) && !json_is_null(auth)) {
		snprintf(err, cap, "\"auth\" must be a string");
		return -1;
	}
	if (!json_is_object(d) || json_object_size(d) != 2 || fmt == NULL ||
	    strcmp(fmt, "string") != 0 || !json_is_string(dv)) {
		snprintf(err, cap,
			 "\"data\" must be {\"format\":\"string\","
			 "\"value\":\"...\"} (only string is supported)");
		return -1;
	}
	if (json_string_length(dv) > 255) {
		snprintf(err, cap, "data.value holds at most 255 bytes");
		return -1;
	}
	v->ttl_type = IDN_TTL_RELATIVE;
	v->ttl = IDN_TTL_DEFAULT;
	v->perms = IDN_PERM_DEFAULT;
	v->type = idn_bytes_str(type);
	v->data = idn_bytes((const uint8_t *)json_string_value(dv),
			    json_string_length(dv));
	return 0;
}

typedef struct {
	const char *id;
	idn_value_t *v;
	uint32_t n;
} item_t;

/* One identifier {"handle","templateVersion","value":[...]}; its values
 * and the template reference into it->v (from the thread's arena). */
static int item_parse(hreq_t *r, json_t *j, item_t *it, char *err, size_t cap)
{
	static const char *const keys[] = {"handle", "templateVersion", "value",
					   NULL};
	if (!json_is_object(j)) {
		snprintf(err, cap, "an identifier must be an object");
		return -1;
	}
	const char *k = http_unknown_key(j, keys);
	if (k != NULL) {
		snprintf(err, cap, "unknown field '%.64s'", k);
		return -1;
	}
	json_t *tv = json_object_get(j, "templateVersion");
	json_t *arr = json_object_get(j, "value");
	it->id = json_string_value(json_object_get(j, "handle"));
	if (it->id == NULL || *it->id == 0 ||
	    strlen(it->id) > SNMS_HANDLE_MAX) {
		snprintf(err, cap,
			 "missing request parameter: handle "
			 "(a string of at most 255)");
		return -1;
	}
	if (!json_is_string(tv) || json_string_length(tv) == 0 ||
	    json_string_length(tv) > SNMS_VERSION_MAX) {
		snprintf(err, cap,
			 "missing request parameter: "
			 "templateVersion (a string of 1..128)");
		return -1;
	}
	if (!json_is_array(arr)) {
		snprintf(err, cap,
			 "missing request parameter: value (an "
			 "array)");
		return -1;
	}
	size_t n = json_array_size(arr);
	if (n + 2 > IDN_VALUES_MAX) {
		snprintf(err, cap, "too many values");
		return -1;
	}
	/* the values, the template reference and room for the owner */
	it->v = idn_arena_array(&r->t->arena, n + 2, sizeof(*it->v));
	if (it->v == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char e[200];
		if (value_parse(json_array_get(arr, i), &it->v[i], e,
				sizeof(e)) != 0) {
			snprintf(err, cap, "value[%zu]: %s", i, e);
			return -1;
		}
		for (size_t m = 0; m < i; m++)
			if (it->v[m].index == it->v[i].index) {
				snprintf(err, cap,
					 "value[%zu]: index %u given twice", i,
					 it->v[i].index);
				return -1;
			}
	}
	it->v[n] =
		(idn_value_t){TPL_REF_INDEX,
			      0,
			      IDN_TTL_RELATIVE,
			      IDN_TTL_DEFAULT,
			      IDN_PERM_DEFAULT,
			      idn_bytes_str(TPL_REF_TYPE),
			      idn_bytes((const uint8_t *)json_string_value(tv),
					json_string_length(tv)),
			      0,
			      NULL};
	it->n = (uint32_t)n + 1;
	return 0;
}

bool http_snms_owner(hreq_t *r, idn_value_t *out)
{
	if (r->who.kind != PRINCIPAL_ADMIN)
		return false;
	idn_hs_admin_t a = {IDN_ADM_ALL, r->who.admin, r->who.index};
	size_t cap = r->who.admin.len + 16;
	uint8_t *buf = idn_arena_alloc(&r->t->arena, cap);
	if (buf == NULL)
		return false;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_hs_admin_encode(&w, &a);
	if (w.err)
		return false;
	*out = (idn_value_t){SNMS_OWNER_INDEX,
			     0,
			     IDN_TTL_RELATIVE,
			     IDN_TTL_DEFAULT,
			     IDN_PERM_DEFAULT,
			     idn_bytes_str("HS_ADMIN"),
			     idn_bytes(buf, w.len),
			     0,
			     NULL};
	return true;
}

/* Registers (create) or updates (the given indexes replaced, the others
 * kept: an update names only what changes, and HS_ADMIN stays) one
 * identifier. */
static uint32_t item_write(hreq_t *r, bool create, const item_t *it,
			   const char **msg)
{
	/* an account's admin keeps the rights over what it registers */
	if (create && http_snms_owner(r, &it->v[it->n]))
		return http_write(r, IDN_OC_CREATE, it->id, false, it->v,
				  it->n + 1, NULL, 0, msg);
	return http_write(r, create ? IDN_OC_CREATE : IDN_OC_ADD_VALUE, it->id,
			  !create, it->v, it->n, NULL, 0, msg);
}

/* The guide's text for a failed write, else the node's. */
static const char *rc_msg(uint32_t rc, const char *msg)
{
	switch (rc) {
	case IDN_RC_SUCCESS:
		return "success";
	case IDN_RC_NOT_FOUND:
		return "identifier not found";
	case IDN_RC_ALREADY_EXISTS:
		return "identifier already exists";
	default:
		return msg && *msg ? msg : "failed";
	}
}

/* The body as JSON of any kind; replies 400 and returns NULL when it is
 * none. */
static json_t *body_any(hreq_t *r)
{
	json_error_t e;
	json_t *j = NULL;
	if (r->req->entity.base != NULL)
		j = json_loadb(r->req->entity.base, r->req->entity.len,
			       JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		char m[256];
		snprintf(m, sizeof(m), "the body must be JSON%s%s",
			 r->req->entity.base ? ": " : "",
			 r->req->entity.base ? e.text : "");
		sreply(r, HTTP_MGMT_BUSINESS, 400, m, NULL);
	}
	return j;
}

/* ---- GET /identityv2/data/detail?handle= ---- */

/* The guide's value object of a handle.net-shaped one (http_value_json). */
static json_t *guide_value(json_t *hv)
{
	json_t *o = json_object();
	json_object_set(o, "index", json_object_get(hv, "index"));
	json_object_set(o, "type", json_object_get(hv, "type"));
	json_object_set_new(o, "auth", json_string(""));
	json_object_set(o, "data", json_object_get(hv, "data"));
	return o;
}

void http_snms_detail(hreq_t *r)
{
	r->op = "resolve";
	const char *id = http_q(r, "handle");
	if (id == NULL || *id == 0) {
		sreply(r, HTTP_MGMT_BUSINESS, 400,
		       "missing request parameter: handle", NULL);
		return;
	}
	json_t *values;
	const char *msg;
	uint32_t rc =
		http_resolve(r, id, false, NULL, 0, NULL, 0, &values, &msg);
	if (rc != IDN_RC_SUCCESS) {
		json_decref(values);
		http_mgmt_reply_rc(r, rc, 200, rc_msg(rc, msg), NULL);
		return;
	}
	r->rc = rc;
	json_t *out = json_array();
	const char *tv = "";
	size_t i;
	json_t *hv;
	json_array_foreach(values, i, hv)
	{
		const char *type =
			json_string_value(json_object_get(hv, "type"));
		/* HS_ADMIN and the other protocol values are no identifier
		 * properties in the guide's sense */
		if (type != NULL && strncmp(type, "HS_", 3) == 0)
			continue;
		json_t *g = guide_value(hv);
		if (json_integer_value(json_object_get(hv, "index")) ==
			    TPL_REF_INDEX &&
		    type && strcmp(type, TPL_REF_TYPE) == 0) {
			const char *s = json_string_value(json_object_get(
				json_object_get(hv, "data"), "value"));
			tv = s ? s : "";
		}
		json_array_append_new(out, g);
	}
	const char *slash = strchr(id, '/');
	size_t pl = slash ? (size_t)(slash - id) : strlen(id);
	json_t *d = json_object();
	json_object_set_new(d, "prefix", json_stringn(id, pl));
	json_object_set_new(d, "handle", json_string(id));
	json_object_set_new(d, "templateVersion", json_string(tv));
	json_object_set_new(d, "value", out);
	json_decref(values);
	sreply(r, HTTP_MGMT_OK, 200, "success", d);
}

/* ---- POST, PUT /identityv2/data ---- */

static void data_write(hreq_t *r, bool create)
{
	r->op = create ? "create" : "update";
	json_t *b = http_body_json(r);
	if (b == NULL)
		return;
	item_t it;
	char err[256];
	if (item_parse(r, b, &it, err, sizeof(err)) != 0) {
		sreply(r, HTTP_MGMT_BUSINESS, 400, err, NULL);
	} else {
		const char *msg;
		uint32_t rc = item_write(r, create, &it, &msg);
		http_mgmt_reply_rc(r, rc, 200, rc_msg(rc, msg),
				   rc == IDN_RC_SUCCESS ? json_true() : NULL);
	}
	json_decref(b);
}

void http_snms_create(hreq_t *r)
{
	data_write(r, true);
}

void http_snms_update(hreq_t *r)
{
	data_write(r, false);
}

/* ---- DELETE /identityv2/data ---- */

void http_snms_delete(hreq_t *r)
{
	r->op = "delete";
	const char *id = http_q(r, "handle");
	json_t *b = NULL;
	if (id == NULL) {
		if ((b = http_body_json(r)) == NULL)
			return;
		id = json_string_value(json_object_get(b, "handle"));
		if (id == NULL || json_object_size(b) != 1) {
			sreply(r, HTTP_MGMT_BUSINESS, 400,
			       "the body must be {\"handle\":\"...\"}", NULL);
			json_decref(b);
			return;
		}
	}
	const char *msg;
	uint32_t rc =
		http_write(r, IDN_OC_DELETE, id, false, NULL, 0, NULL, 0, &msg);
	http_mgmt_reply_rc(r, rc, 200, rc_msg(rc, msg),
			   rc == IDN_RC_SUCCESS ? json_true() : NULL);
	json_decref(b);
}

/* ---- batches ---- */

/* The batch's array: the body itself (the guide's form) or, for
 * batchDelete, {"handles":[...]} (its parameter table's name). */
static json_t *batch_array(hreq_t *r, json_t *b, bool del)
{
	json_t *arr = json_is_array(b) ? b
		      : del && json_is_object(b) && json_object_size(b) == 1
			      ? json_object_get(b, "handles")
			      : NULL;
	char m[128];
	if (!json_is_array(arr)) {
		sreply(r, HTTP_MGMT_BUSINESS, 400,
		       del ? "the body must be an array of identifiers"
			   : "the body must be an array of identifiers' "
			     "{handle, templateVersion, value}",
		       NULL);
		return NULL;
	}
	if (json_array_size(arr) == 0 ||
	    json_array_size(arr) > SNMS_BATCH_MAX) {
		snprintf(m, sizeof(m), "a batch holds 1..%d identifiers",
			 SNMS_BATCH_MAX);
		sreply(r, HTTP_MGMT_BUSINESS, 400, m, NULL);
		return NULL;
	}
	return arr;
}

/* Each identifier is its own write; the answer gives each one's outcome
 * in order (the guide's data[i].handle, msg, and for deletes code). The
 * whole body is checked first, so a malformed batch changes nothing. */
static void batch(hreq_t *r, const char *kind)
{
	bool del = !strcmp(kind, "delete");
	bool create = !strcmp(kind, "create");
	r->op = del ? "batch_delete" : create ? "batch_create" : "batch_update";
	json_t *b = body_any(r);
	if (b == NULL)
		return;
	json_t *arr = batch_array(r, b, del);
	size_t n = arr ? json_array_size(arr) : 0;
	item_t *items =
		n ? idn_arena_array(&r->t->arena, n, sizeof(*items)) : NULL;
	char err[300] = "";
	if (arr == NULL)
		goto out;
	if (items == NULL)
		snprintf(err, sizeof(err), "out of memory");
	for (size_t i = 0; i < n && !err[0]; i++) {
		json_t *x = json_array_get(arr, i);
		char e[256];
		if (del) {
			items[i].id = json_string_value(x);
			if (items[i].id == NULL)
				snprintf(err, sizeof(err),
					 "[%zu] must be a string", i);
		} else if (item_parse(r, x, &items[i], e, sizeof(e)) != 0) {
			snprintf(err, sizeof(err), "[%zu]: %s", i, e);
		}
	}
	if (err[0]) {
		sreply(r, HTTP_MGMT_BUSINESS, 400, err, NULL);
		goto out;
	}
	json_t *d = json_array();
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		const char *msg;
		uint32_t rc = del ? http_write(r, IDN_OC_DELETE, items[i].id,
					       false, NULL, 0, NULL, 0, &msg)
				  : item_write(r, create, &items[i], &msg);
		int http;
		int st = http_mgmt_status(r, rc, &http);
		ok += rc == IDN_RC_SUCCESS;
		json_t *o = json_object();
		json_object_set_new(o, "handle", json_string(items[i].id));
		if (del)
			json_object_set_new(o, "code", json_integer(st));
		json_object_set_new(o, "msg", json_string(rc_msg(rc, msg)));
		json_array_append_new(d, o);
	}
	r->rc = ok == n ? IDN_RC_SUCCESS : IDN_RC_ERROR;
	/* the guide answers status 1 with each item's outcome in data */
	sreply(r, HTTP_MGMT_OK, 200, "success", d);
out:
	json_decref(b);
}

void http_snms_batch_create(hreq_t *r)
{
	batch(r, "create");
}

void http_snms_batch_update(hreq_t *r)
{
	batch(r, "update");
}

void http_snms_batch_delete(hreq_t *r)
{
	batch(r, "delete");
}
