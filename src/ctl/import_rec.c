/* idctl import's records from JSON Lines (the shape idctl export writes)
 * and the checks every record gets before it is sent, so that a reject
 * carries a precise reason (import_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "error.h"
#include "hex.h"
#include "ident.h"
#include "import.h"
#include "import_int.h"
#include "wire.h"

static int base64_decode(const char *s, size_t n, idn_arena_t *a,
			 idn_bytes_t *out)
{
	return idn_base64_decode_arena(s, n, IDN_B64_LENIENT, a, out) ? -1 : 0;
}

static bool get_u32(const jv_t *j, uint32_t *out)
{
	if (j == NULL || j->kind != JV_NUMBER || !j->isint)
		return false;
	*out = j->u;
	return true;
}

static bool is_str(const jv_t *j)
{
	return j != NULL && j->kind == JV_STRING;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static bool parse_time(const char *str, size_t len, uint32_t *out)
{
	struct tm tm = {0};
	char z = 0, s[21];
	if (len != 20)
		return false;
	memcpy(s, str, 20);
	s[20] = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t < 0 || t > 0xffffffffLL)
		return false;
	*out = (uint32_t)t;
	return true;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(why, cap, __VA_ARGS__);                               \
		return -1;                                                     \
	} while (0)

/* The jv string as a NUL-terminated string for messages (cut). */
static const char *cstr(const jv_t *j, char *buf, size_t cap)
{
	size_t n = j->len < cap - 1 ? j->len : cap - 1;
	memcpy(buf, j->s, n);
	buf[n] = 0;
	return buf;
}

static int json_data(const jv_t *d, idn_value_t *v, idn_arena_t *a, char *why,
		     size_t cap)
{
	if (is_str(d)) { /* shorthand for format string */
		v->data = idn_bytes(d->s, d->len);
		return 0;
	}
	const jv_t *fj = jv_get(d, "format");
	const jv_t *val = jv_get(d, "value");
	if (!is_str(fj) || val == NULL)
		FAIL("value %u: data needs format and value", v->index);
	char fmt[48];
	cstr(fj, fmt, sizeof(fmt));
	bool s = is_str(val);
	if (!strcmp(fmt, "string") && s) {
		v->data = idn_bytes(val->s, val->len);
	} else if (!strcmp(fmt, "base64") && s) {
		if (base64_decode(val->s, val->len, a, &v->data) != 0)
			FAIL("value %u: data is not valid base64", v->index);
	} else if (!strcmp(fmt, "hex") && s) {
		if (idn_hex_decode(val->s, val->len, a, &v->data) != 0)
			FAIL("value %u: data is not valid hex", v->index);
	} else if (!strcmp(fmt, "admin") && val->kind == JV_OBJECT) {
		const jv_t *h = jv_get(val, "handle");
		const jv_t *bits = jv_get(val, "permissions");
		idn_hs_admin_t adm = {IDN_ADM_ALL, {0}, 0};
		if (!is_str(h) || !get_u32(jv_get(val, "index"), &adm.index))
			FAIL("value %u: admin data needs handle and index",
			     v->index);
		adm.admin = idn_bytes(h->s, h->len);
		if (bits) {
			if (!is_str(bits) || bits->len == 0 || bits->len > 16)
				FAIL("value %u: admin permissions must be a "
				     "string of 0 and 1",
				     v->index);
			adm.perms = 0;
			for (size_t i = 0; i < bits->len; i++) {
				if (bits->s[i] != '0' && bits->s[i] != '1')
					FAIL("value %u: admin permissions must "
					     "be a string of 0 and 1",
					     v->index);
				adm.perms = (uint16_t)(adm.perms << 1 |
						       (bits->s[i] == '1'));
			}
		}
		size_t n = 16 + adm.admin.len;
		uint8_t *buf = idn_arena_alloc(a, n);
		if (buf == NULL)
			FAIL("out of memory");
		idn_wr_t w;
		idn_wr_init(&w, buf, n);
		idn_hs_admin_encode(&w, &adm);
		if (w.err)
			FAIL("value %u: admin data too long", v->index);
		v->data = idn_bytes(buf, w.len);
	} else if (!strcmp(fmt, "site")) {
		FAIL("value %u: data format site cannot be imported; use "
		     "base64 (as idctl export writes HS_SITE)",
		     v->index);
	} else {
		FAIL("value %u: unknown data format '%s' or value of the "
		     "wrong kind",
		     v->index, fmt);
	}
	return 0;
}

static int json_value(const jv_t *o, idn_value_t *v, idn_arena_t *a, char *why,
		      size_t cap, uint32_t pos)
{
	memset(v, 0, sizeof(*v));
	v->ttl = IDN_TTL_DEFAULT;
	v->perms = IDN_PERM_DEFAULT;
	if (o->kind != JV_OBJECT)
		FAIL("value #%u is not an object", pos + 1);
	if (!get_u32(jv_get(o, "index"), &v->index))
		FAIL("value #%u: index must be an integer 0..4294967295",
		     pos + 1);
	const jv_t *t = jv_get(o, "type");
	if (!is_str(t) || t->len == 0)
		FAIL("value %u: type must be a non-empty string", v->index);
	v->type = idn_bytes(t->s, t->len);
	const jv_t *d = jv_get(o, "data");
	if (d == NULL)
		FAIL("value %u: no data", v->index);
	if (json_data(d, v, a, why, cap) != 0)
		return -1;
	const jv_t *j;
	if ((j = jv_get(o, "ttl")) && !get_u32(j, &v->ttl))
		FAIL("value %u: ttl must be an integer 0..4294967295",
		     v->index);
	uint32_t x;
	if ((j = jv_get(o, "ttlType"))) {
		if (!get_u32(j, &x) || x > 1)
			FAIL("value %u: ttlType must be 0 or 1", v->index);
		v->ttl_type = (uint8_t)x;
	}
	if ((j = jv_get(o, "timestamp"))) {
		if (!(is_str(j) ? parse_time(j->s, j->len, &v->timestamp)
				: get_u32(j, &v->timestamp)))
			FAIL("value %u: timestamp must be YYYY-MM-DDTHH:MM:SSZ",
			     v->index);
	}
	if ((j = jv_get(o, "permissions"))) {
		const char *p = j->s;
		if (!is_str(j) || j->len != 4 || (p[0] != 'r' && p[0] != '-') ||
		    (p[1] != 'w' && p[1] != '-') ||
		    (p[2] != 'r' && p[2] != '-') ||
		    (p[3] != 'w' && p[3] != '-'))
			FAIL("value %u: permissions must look like rwr-",
			     v->index);
		v->perms = (uint8_t)((p[0] == 'r' ? IDN_PERM_ADMIN_READ : 0) |
				     (p[1] == 'w' ? IDN_PERM_ADMIN_WRITE : 0) |
				     (p[2] == 'r' ? IDN_PERM_PUBLIC_READ : 0) |
				     (p[3] == 'w' ? IDN_PERM_PUBLIC_WRITE : 0));
	}
	if ((j = jv_get(o, "references"))) {
		if (j->kind != JV_ARRAY || j->n > IDN_REFS_MAX)
			FAIL("value %u: references must be an array", v->index);
		v->refs = j->n ? idn_arena_array(a, j->n, sizeof(idn_ref_t))
			       : NULL;
		if (j->n && v->refs == NULL)
			FAIL("out of memory");
		uint32_t i = 0;
		for (const jv_t *r = j->kids; r; r = r->next, i++) {
			const jv_t *h = jv_get(r, "handle");
			if (!is_str(h) ||
			    !get_u32(jv_get(r, "index"), &v->refs[i].index))
				FAIL("value %u: a reference needs handle and "
				     "index",
				     v->index);
			v->refs[i].id = idn_bytes(h->s, h->len);
		}
		v->nrefs = j->n;
	}
	return 0;
}

/* Checks what the node would check, for a precise reason. */
int rec_check(rec_t *r, idn_arena_t *a, char *why, size_t cap)
{
	static idn_ident_t ident; /* large; idctl is single-threaded */
	int err = idn_ident_parse(r->id.p, r->id.len, 0, &ident);
	if (err)
		FAIL("invalid identifier '%.*s': %s",
		     (int)(r->id.len > 80 ? 80 : r->id.len), r->id.p,
		     idn_strerror(err));
	if (r->n > IDN_VALUES_MAX)
		FAIL("too many values (%u, at most %d)", r->n, IDN_VALUES_MAX);
	for (uint32_t i = 0; i < r->n; i++) {
		err = idn_value_check(&r->v[i], a);
		if (err)
			FAIL("value %u (%.*s): %s", r->v[i].index,
			     (int)(r->v[i].type.len > 40 ? 40
							 : r->v[i].type.len),
			     r->v[i].type.p, idn_strerror(err));
		for (uint32_t k = 0; k < i; k++)
			if (r->v[k].index == r->v[i].index)
				FAIL("duplicate index %u", r->v[i].index);
	}
	return 0;
}

int rec_parse_json(const char *line, size_t len, rec_t *r, idn_arena_t *a,
		   char *why, size_t cap)
{
	const jv_t *root = jv_parse(line, len, a, why, cap);
	if (root == NULL)
		return -1;
	if (root->kind != JV_OBJECT)
		FAIL("not a JSON object");
	const jv_t *h = jv_get(root, "handle");
	if (!is_str(h))
		FAIL("no \"handle\" string");
	r->id = idn_bytes(h->s, h->len);
	const jv_t *vals = jv_get(root, "values");
	if (vals == NULL || vals->kind != JV_ARRAY)
		FAIL("no \"values\" array");
	if (vals->n > IDN_VALUES_MAX)
		FAIL("too many values (%u, at most %d)", vals->n,
		     IDN_VALUES_MAX);
	r->n = vals->n;
	r->v = r->n ? idn_arena_array(a, r->n, sizeof(idn_value_t)) : NULL;
	if (r->n && r->v == NULL)
		FAIL("out of memory");
	uint32_t i = 0;
	for (const jv_t *v = vals->kids; v; v = v->next, i++)
		if (json_value(v, &r->v[i], a, why, cap, i) != 0)
			return -1;
	return rec_check(r, a, why, cap);
}

#undef FAIL
