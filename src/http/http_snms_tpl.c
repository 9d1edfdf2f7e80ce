/* The national SNMS API's data templates (guide v5/template.md;
 * docs/snms-api.md): GET, POST, PUT and DELETE /snms/api/v5/template in
 * the guide's shape, on the node's templates (tplcheck.h).
 *
 * A national template (prefix P, "version" V: the product model records
 * name in templateVersion) is the template NAME V of P, the record
 * P/TEMPLATE/V. Each POST or PUT stores a new published version of it
 * (1, 2, ...; index = version, type IDN_TEMPLATE) whose items are the
 * enabled national items (item name = idType, index = idIndex, string,
 * required, minLength..maxLength), and beside it, at index 10000 +
 * version, type TEMPLATE_NATIONAL, the guide's own fields the node's
 * templates do not have (type, description, each item's Chinese name and
 * state) as JSON. A record's reference "V" (index 1001) validates against
 * the newest version, so a PUT applies to the records written after it.
 *
 * A request in the node's own template shape (a body with "name", or a
 * query with name=) is the former API of this path, kept and deprecated
 * (http_mgmt.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http_int.h"
#include "template.h"
#include "tplcheck.h"

#define NAT_TYPE "TEMPLATE_NATIONAL"
#define NAT_BASE 10000 /* index of the national fields: NAT_BASE + version */

static void sreply(hreq_t *r, int status, int http, const char *msg,
		   json_t *data)
{
	http_mgmt_reply(r, status, http, msg, data);
}

static char *tpl_record(hreq_t *r, const char *prefix, const char *version)
{
	size_t n = strlen(prefix) + strlen(TPL_SUFFIX) + strlen(version) + 2;
	char *id = idn_arena_alloc(&r->t->arena, n);
	if (id != NULL)
		snprintf(id, n, "%s/" TPL_SUFFIX "%s", prefix, version);
	return id != NULL && n <= IDN_IDENT_MAX ? id : NULL;
}

/* The newest IDN_TEMPLATE version of id into *t (decoded), and its
 * national fields (a new reference, or NULL when it has none). Returns
 * the response code. */
static uint32_t newest(hreq_t *r, const char *id, idn_template_t *t,
		       json_t **nat, const char **msg)
{
	idn_value_t *v;
	uint32_t n;
	*nat = NULL;
	uint32_t rc = http_tpl_fetch(r, id, 0, TPL_TYPE, &v, &n, msg);
	if (rc != IDN_RC_SUCCESS)
		return rc;
	const idn_value_t *best = NULL;
	for (uint32_t i = 0; i < n; i++)
		if (best == NULL || v[i].index > best->index)
			best = &v[i];
	if (best == NULL || idn_template_decode(best->data.p, best->data.len,
						NULL, t, NULL, 0) != 0) {
		*msg = "no such template";
		return IDN_RC_NOT_FOUND;
	}
	idn_value_t *nv;
	uint32_t nn;
	const char *m2;
	if (http_tpl_fetch(r, id, NAT_BASE + t->version, NAT_TYPE, &nv, &nn,
			   &m2) == IDN_RC_SUCCESS &&
	    nn == 1)
		*nat = json_loadb((const char *)nv[0].data.p, nv[0].data.len, 0,
				  NULL);
	return IDN_RC_SUCCESS;
}

/* The guide's industry fields of a GB/T 4754 class "A/01/011/0111". */
static void industry_fields(json_t *d, const char *ind)
{
	static const char *const keys[] = {"industryCategory",
					   "industrySpecific", "industryTrade",
					   "industrySubclass"};
	char buf[IDN_TPL_INDUSTRY_MAX];
	snprintf(buf, sizeof(buf), "%s", ind);
	char *save = NULL, *p = strtok_r(buf, "/", &save);
	for (int i = 0; i < 4; i++) {
		json_object_set_new(d, keys[i], json_string(p ? p : ""));
		p = p ? strtok_r(NULL, "/", &save) : NULL;
	}
}

/* The guide's item of a node's item that has no national fields. */
static json_t *item_of(const idn_tpl_item_t *it)
{
	json_t *m = json_object();
	json_object_set_new(m, "type", json_string("string"));
	json_object_set_new(m, "minLength", json_integer(it->min_len));
	json_object_set_new(m, "maxLength", json_integer(it->max_len));
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(it->name));
	json_object_set_new(o, "idType", json_string(it->name));
	json_object_set_new(o, "idIndex", json_integer(it->index));
	json_object_set_new(o, "required", json_boolean(it->required));
	json_object_set_new(o, "state", json_integer(1));
	json_object_set_new(o, "metadata", m);
	return o;
}

static void tpl_get(hreq_t *r, const char *prefix, const char *version)
{
	r->op = "template_get";
	const char *id = tpl_record(r, prefix, version), *msg = "";
	idn_template_t t = {0};
	json_t *nat;
	uint32_t rc =
		id ? newest(r, id, &t, &nat, &msg) : IDN_RC_INVALID_HANDLE;
	if (rc != IDN_RC_SUCCESS) {
		http_mgmt_reply_rc(r, rc, 200, *msg ? msg : "no such template",
				   NULL);
		return;
	}
	r->rc = rc;
	json_t *d = json_object();
	json_object_set_new(d, "prefix", json_string(t.prefix));
	json_object_set_new(d, "version", json_string(t.name));
	json_object_set_new(d, "handle", json_string(id));
	industry_fields(d, t.industry);
	json_t *type = json_object_get(nat, "type");
	json_t *desc = json_object_get(nat, "description");
	json_t *items = json_object_get(nat, "items");
	json_object_set_new(d, "type",
			    type ? json_incref(type) : json_integer(2));
	json_object_set_new(d, "description",
			    desc ? json_incref(desc) : json_string(""));
	if (items != NULL) {
		json_object_set(d, "items", items);
	} else {
		json_t *arr = json_array();
		for (uint32_t i = 0; i < t.nitems; i++)
			json_array_append_new(arr, item_of(&t.items[i]));
		json_object_set_new(d, "items", arr);
	}
	json_decref(nat);
	idn_template_free(&t);
	sreply(r, HTTP_MGMT_OK, 200, "success", d);
}

/* ---- the guide's body ---- */

static bool int_of(json_t *j, json_int_t *out)
{
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return true;
	}
	const char *s = json_string_value(j);
	char *end;
	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 9)
		return false;
	*out = strtoll(s, &end, 10);
	return *end == 0;
}

static bool only_keys(json_t *o, const char *const *keys, char *err, size_t cap,
		      const char *where)
{
	const char *k = http_unknown_key(o, keys);
	if (k != NULL)
		snprintf(err, cap, "%sunknown field '%.64s'", where, k);
	return k == NULL;
}

/* One national item, normalised into *out (a new object): name, idType,
 * idIndex (given, or *next), required, state, metadata. */
static int item_norm(json_t *it, bool put, uint32_t *next, json_t **out,
		     char *err, size_t cap)
{
	static const char *const keys[] = {"name",     "idType", "idIndex",
					   "required", "state",	 "metadata",
					   NULL};
	static const char *const mkeys[] = {"type", "minLength", "maxLength",
					    NULL};
	*out = NULL;
	if (!json_is_object(it) || !only_keys(it, keys, err, cap, ""))
		return err[0] ? -1 : (snprintf(err, cap, "not an object"), -1);
	const char *name = json_string_value(json_object_get(it, "name"));
	const char *idt = json_string_value(json_object_get(it, "idType"));
	json_t *m = json_object_get(it, "metadata");
	json_t *req = json_object_get(it, "required");
	json_int_t idx = 0, st = 1, mn = 0, mx = 0;
	json_t *jidx = json_object_get(it, "idIndex");
	json_t *jst = json_object_get(it, "state");
	const char *mt = json_string_value(json_object_get(m, "type"));
	if (name == NULL || *name == 0 || idt == NULL || *idt == 0)
		snprintf(err, cap, "name and idType are required");
	else if (jidx ? !int_of(jidx, &idx) || idx < IDN_TPL_MIN_INDEX : !put)
		snprintf(err, cap, "idIndex is required, from %d",
			 IDN_TPL_MIN_INDEX);
	else if (req != NULL && !json_is_boolean(req))
		snprintf(err, cap, "required must be true or false");
	else if (jst ? !int_of(jst, &st) || st < 0 || st > 1 : put)
		snprintf(err, cap, "state is required: 0 (disabled) or 1");
	else if (!json_is_object(m) ||
		 !only_keys(m, mkeys, err, cap, "metadata: ") ||
		 (json_object_get(m, "type") != NULL &&
		  (mt == NULL || strcmp(mt, "string") != 0)) ||
		 !int_of(json_object_get(m, "minLength"), &mn) ||
		 !int_of(json_object_get(m, "maxLength"), &mx) || mn > mx)
		snprintf(err, cap, "%s",
			 err[0] ? err
				: "metadata must be {\"type\":\"string\","
				  "\"minLength\":N,\"maxLength\":M} with "
				  "N <= M");
	if (err[0])
		return -1;
	json_t *nm = json_object();
	json_object_set_new(nm, "type", json_string("string"));
	json_object_set_new(nm, "minLength", json_integer(mn));
	json_object_set_new(nm, "maxLength", json_integer(mx));
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "idType", json_string(idt));
	json_object_set_new(o, "idIndex",
			    json_integer(jidx ? idx : (json_int_t)(*next)++));
	json_object_set_new(o, "required", json_boolean(json_is_true(req)));
	json_object_set_new(o, "state", json_integer(st));
	json_object_set_new(o, "metadata", nm);
	*out = o;
	return 0;
}

/* The item of items with idIndex and idType both as x's, or NULL. */
static json_t *item_find(json_t *items, json_t *x)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (json_integer_value(json_object_get(it, "idIndex")) ==
			    json_integer_value(json_object_get(x, "idIndex")) &&
		    json_equal(json_object_get(it, "idType"),
			       json_object_get(x, "idType")))
			return it;
	}
	return NULL;
}

/* The node's template for national fields nat (items: the enabled ones). */
static int build(const char *prefix, const char *version, uint32_t tver,
		 const char *industry, json_t *items, idn_template_t *t,
		 char *err, size_t cap)
{
	int e = idn_template_new(t, prefix, version, tver, industry, err, cap);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (e || json_integer_value(json_object_get(it, "state")) == 0)
			continue;
		json_t *m = json_object_get(it, "metadata");
		idn_tpl_item_t x = {
			json_string_value(json_object_get(it, "idType")),
			(uint32_t)json_integer_value(
				json_object_get(it, "idIndex")),
			IDN_TPL_STRING,
			json_is_true(json_object_get(it, "required")),
			(uint32_t)json_integer_value(
				json_object_get(m, "minLength")),
			(uint32_t)json_integer_value(
				json_object_get(m, "maxLength")),
			0,
			NULL};
		char e2[200];
		e = idn_template_add_item(t, &x, NULL, e2, sizeof(e2));
		if (e)
			snprintf(err, cap, "item %s: %s", x.name, e2);
	}
	if (e == 0)
		e = idn_template_publish(t, NULL, err, cap);
	return e;
}

/* Stores version t->version of id with its national fields nat (op:
 * create the record, or add the version to it). */
static uint32_t store_version(hreq_t *r, const char *id, idn_template_t *t,
			      json_t *nat, uint32_t op, const char **msg)
{
	size_t sz = idn_template_size(t);
	uint8_t *data = idn_arena_alloc(&r->t->arena, sz ? sz : 1);
	char *js = json_dumps(nat, JSON_COMPACT);
	if (data == NULL || js == NULL) {
		free(js);
		*msg = "out of memory";
		return IDN_RC_ERROR;
	}
	idn_wr_t w;
	idn_wr_init(&w, data, sz);
	idn_template_encode(t, &w);
	idn_value_t v[2] = {
		{t->version, 0, IDN_TTL_RELATIVE, IDN_TTL_DEFAULT,
		 IDN_PERM_DEFAULT, idn_bytes_str(TPL_TYPE),
		 idn_bytes(data, w.len), 0, NULL},
		{NAT_BASE + t->version, 0, IDN_TTL_RELATIVE, IDN_TTL_DEFAULT,
		 IDN_PERM_DEFAULT, idn_bytes_str(NAT_TYPE),
		 idn_bytes((const uint8_t *)js, strlen(js)), 0, NULL}};
	idn_value_t all[3] = {v[0], v[1]};
	uint32_t n = 2;
	if (op == IDN_OC_CREATE && http_snms_owner(r, &all[2]))
		n = 3;
	uint32_t rc = http_write(r, op, id, false, all, n, NULL, 0, msg);
	free(js);
	return rc;
}

/* POST (a new template) or PUT (its items changed, added or disabled;
 * the rest replaced), both as a new published version. */
static void tpl_write(hreq_t *r, json_t *b, bool put)
{
	static const char *const keys[] = {"prefix",
					   "version",
					   "industryCategory",
					   "industrySpecific",
					   "industryTrade",
					   "industrySubclass",
					   "type",
					   "description",
					   "items",
					   NULL};
	static const char *const ind[] = {"industryCategory",
					  "industrySpecific", "industryTrade",
					  "industrySubclass"};
	r->op = put ? "template_update" : "template_create";
	char err[256] = "", industry[IDN_TPL_INDUSTRY_MAX] = "";
	const char *prefix = json_string_value(json_object_get(b, "prefix"));
	const char *version = json_string_value(json_object_get(b, "version"));
	json_t *items = json_object_get(b, "items");
	json_t *desc = json_object_get(b, "description");
	json_int_t type = 0;
	size_t il = 0;
	if (!only_keys(b, keys, err, sizeof(err), "")) {
	} else if (prefix == NULL || version == NULL || *version == 0) {
		snprintf(err, sizeof(err), "prefix and version are required");
	} else if (!int_of(json_object_get(b, "type"), &type) || type < 1 ||
		   type > 2) {
		snprintf(err, sizeof(err), "type is required: 1 or 2");
	} else if (!json_is_array(items)) {
		snprintf(err, sizeof(err), "items must be an array");
	} else if (desc != NULL && !json_is_string(desc)) {
		snprintf(err, sizeof(err), "description must be a string");
	}
	for (int i = 0; i < 4 && !err[0]; i++) {
		const char *s = json_string_value(json_object_get(b, ind[i]));
		if (s == NULL || *s == 0) {
			snprintf(err, sizeof(err), "%s is required", ind[i]);
			break;
		}
		il += (size_t)snprintf(industry + il, sizeof(industry) - il,
				       "%s%s", i ? "/" : "", s);
		if (il >= sizeof(industry))
			snprintf(err, sizeof(err), "industry too long");
	}
	if (err[0]) {
		sreply(r, HTTP_MGMT_BUSINESS, 400, err, NULL);
		return;
	}
	const char *id = tpl_record(r, prefix, version), *msg = "";
	idn_template_t old = {0}, t = {0};
	json_t *nat = NULL, *merged = json_array();
	uint32_t rc = id ? IDN_RC_SUCCESS : IDN_RC_INVALID_HANDLE;
	if (rc == IDN_RC_SUCCESS && put)
		rc = newest(r, id, &old, &nat, &msg);
	/* PUT: the items there are, changed by those given */
	size_t i;
	json_t *it;
	uint32_t next = IDN_TPL_MIN_INDEX;
	json_t *had = json_object_get(nat, "items");
	json_array_foreach(had, i, it)
	{
		json_array_append(merged, it);
	}
	for (uint32_t k = 0;
	     rc == IDN_RC_SUCCESS && nat == NULL && k < old.nitems; k++)
		json_array_append_new(merged, item_of(&old.items[k]));
	json_array_foreach(merged, i, it)
	{
		uint32_t x = (uint32_t)json_integer_value(
			json_object_get(it, "idIndex"));
		if (x >= next)
			next = x + 1;
	}
	json_array_foreach(items, i, it)
	{
		json_t *n;
		char e2[200] = "";
		if (rc != IDN_RC_SUCCESS)
			break;
		if (item_norm(it, put, &next, &n, e2, sizeof(e2)) != 0) {
			snprintf(err, sizeof(err), "items[%zu]: %s", i, e2);
			break;
		}
		json_t *was = item_find(merged, n);
		if (was != NULL)
			json_object_update(was, n);
		else
			json_array_append(merged, n);
		json_decref(n);
	}
	uint32_t tver = put ? old.version + 1 : 1;
	if (rc == IDN_RC_SUCCESS && !err[0] && tver > TPL_VERSION_MAX)
		snprintf(err, sizeof(err), "this template has %d versions",
			 TPL_VERSION_MAX);
	if (rc == IDN_RC_SUCCESS && !err[0])
		build(prefix, version, tver, industry, merged, &t, err,
		      sizeof(err));
	if (rc == IDN_RC_SUCCESS && err[0]) {
		sreply(r, HTTP_MGMT_BUSINESS, 400, err, NULL);
	} else {
		if (rc == IDN_RC_SUCCESS) {
			json_t *n = json_object();
			json_object_set_new(n, "type", json_integer(type));
			json_object_set_new(
				n, "description",
				json_string(desc ? json_string_value(desc)
						 : ""));
			json_object_set(n, "items", merged);
			rc = store_version(
				r, id, &t, n,
				put ? IDN_OC_ADD_VALUE : IDN_OC_CREATE, &msg);
			json_decref(n);
		}
		if (!put && rc == IDN_RC_ALREADY_EXISTS)
			msg = "this template version exists: PUT changes it";
		http_mgmt_reply_rc(r, rc, 200,
				   rc == IDN_RC_SUCCESS ? "success"
				   : *msg		? msg
							: "failed",
				   rc == IDN_RC_SUCCESS ? json_true() : NULL);
	}
	json_decref(merged);
	json_decref(nat);
	idn_template_free(&old);
	idn_template_free(&t);
}

static void tpl_delete(hreq_t *r, json_t *b)
{
	r->op = "template_delete";
	const char *prefix = json_string_value(json_object_get(b, "prefix"));
	const char *version = json_string_value(json_object_get(b, "version"));
	if (prefix == NULL || version == NULL || json_object_size(b) != 2) {
		sreply(r, HTTP_MGMT_BUSINESS, 400,
		       "the body must be {\"prefix\",\"version\"}", NULL);
		return;
	}
	const char *id = tpl_record(r, prefix, version), *msg = "";
	uint32_t rc = id ? http_write(r, IDN_OC_DELETE, id, false, NULL, 0,
				      NULL, 0, &msg)
			 : IDN_RC_INVALID_HANDLE;
	http_mgmt_reply_rc(r, rc, 200,
			   rc == IDN_RC_SUCCESS	    ? "success"
			   : rc == IDN_RC_NOT_FOUND ? "no such template"
			   : *msg		    ? msg
						    : "failed",
			   rc == IDN_RC_SUCCESS ? json_true() : NULL);
}

/* ---- dispatch: the guide's shape, or the former one (deprecated) ---- */

/* The body as a JSON object, or NULL (no body, or not an object). */
static json_t *body_obj(hreq_t *r)
{
	if (r->req->entity.base == NULL || r->req->entity.len == 0)
		return NULL;
	json_t *j = json_loadb(r->req->entity.base, r->req->entity.len,
			       JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void http_snms_tpl_get(hreq_t *r)
{
	const char *prefix = http_q(r, "prefix"), *v = http_q(r, "version");
	if (http_q(r, "name") != NULL || prefix == NULL || v == NULL) {
		http_mgmt_tpl_get(r);
		return;
	}
	tpl_get(r, prefix, v);
}

/* Whether b is in the former shape (it names the template by "name"). */
static bool former(json_t *b)
{
	return b == NULL || json_object_get(b, "name") != NULL ||
	       json_is_integer(json_object_get(b, "version"));
}

void http_snms_tpl_create(hreq_t *r)
{
	json_t *b = body_obj(r);
	if (former(b))
		http_mgmt_tpl_create(r);
	else
		tpl_write(r, b, false);
	json_decref(b);
}

void http_snms_tpl_update(hreq_t *r)
{
	json_t *b = body_obj(r);
	if (former(b))
		http_mgmt_tpl_update(r);
	else
		tpl_write(r, b, true);
	json_decref(b);
}

void http_snms_tpl_delete(hreq_t *r)
{
	json_t *b = body_obj(r);
	if (b == NULL)
		http_mgmt_tpl_delete(r);
	else
		tpl_delete(r, b);
	json_decref(b);
}
