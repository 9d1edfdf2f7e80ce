/* Values as the handle.net REST API shows them: data.format is string,
 * base64, hex, admin, vlist, site or key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "http_int.h"
#include "b64.h"
#include "hex.h"
#include "ident.h"
#include "site.h"

json_t *http_jstrn(const uint8_t *p, size_t len)
{
	json_t *j = json_stringn((const char *)p, len);
	return j ? j : json_string(""); /* not UTF-8: never for checked text */
}

static json_t *jb64(const uint8_t *p, size_t len)
{
	char *s = idn_base64(p, len);
	if (s == NULL)
		return json_null();
	json_t *j = json_string(s);
	free(s);
	return j;
}

void http_fmt_time(uint32_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Text a browser can show as is: valid UTF-8 without control characters
 * other than tab and newline. */
static bool is_text(idn_bytes_t b)
{
	if (idn_utf8_check(b.p, b.len) != 0)
		return false;
	for (uint32_t i = 0; i < b.len; i++)
		if (b.p[i] < 0x20 && b.p[i] != '\t' && b.p[i] != '\n')
			return false;
	return true;
}

json_t *http_site_json(const idn_hs_site_t *s)
{
	return idn_site_json(s);
}

static void perms_text(uint8_t p, char out[5])
{
	out[0] = p & IDN_PERM_ADMIN_READ ? 'r' : '-';
	out[1] = p & IDN_PERM_ADMIN_WRITE ? 'w' : '-';
	out[2] = p & IDN_PERM_PUBLIC_READ ? 'r' : '-';
	out[3] = p & IDN_PERM_PUBLIC_WRITE ? 'w' : '-';
	out[4] = 0;
}

static json_t *data_json(const idn_value_t *v, idn_arena_t *a)
{
	json_t *d = json_object();
	const char *fmt;
	json_t *val;
	idn_hs_admin_t adm;
	idn_hs_site_t site;
	idn_hs_vlist_t vl;
	if (idn_bytes_eq_str(v->type, "HS_ADMIN") &&
	    idn_hs_admin_decode(v->data, &adm) == 0) {
		char bits[13];
		for (int i = 0; i < 12; i++)
			bits[i] = adm.perms & (1u << (11 - i)) ? '1' : '0';
		bits[12] = 0;
		fmt = "admin";
		val = json_object();
		json_object_set_new(val, "handle",
				    http_jstrn(adm.admin.p, adm.admin.len));
		json_object_set_new(val, "index", json_integer(adm.index));
		json_object_set_new(val, "permissions", json_string(bits));
	} else if (idn_bytes_eq_str(v->type, "HS_SITE") &&
		   idn_hs_site_decode(v->data, a, &site) == 0) {
		fmt = "site";
		val = http_site_json(&site);
	} else if (idn_bytes_eq_str(v->type, "HS_VLIST") &&
		   idn_hs_vlist_decode(v->data, a, &vl) == 0) {
		fmt = "vlist";
		val = json_array();
		for (uint32_t i = 0; i < vl.n; i++) {
			json_t *e = json_object();
			json_object_set_new(
				e, "handle",
				http_jstrn(vl.refs[i].id.p, vl.refs[i].id.len));
			json_object_set_new(e, "index",
					    json_integer(vl.refs[i].index));
			json_array_append_new(val, e);
		}
	} else if (idn_bytes_eq_str(v->type, "HS_PUBKEY")) {
		fmt = "key";
		val = jb64(v->data.p, v->data.len);
	} else if (is_text(v->data)) {
		fmt = "string";
		val = http_jstrn(v->data.p, v->data.len);
	} else {
		fmt = "base64";
		val = jb64(v->data.p, v->data.len);
	}
	json_object_set_new(d, "format", json_string(fmt));
	json_object_set_new(d, "value", val);
	return d;
}

json_t *http_value_json(const idn_value_t *v, idn_arena_t *a)
{
	json_t *o = json_object();
	char ts[32], perms[5];
	json_object_set_new(o, "index", json_integer(v->index));
	json_object_set_new(o, "type", http_jstrn(v->type.p, v->type.len));
	json_object_set_new(o, "data", data_json(v, a));
	json_object_set_new(o, "ttl", json_integer(v->ttl));
	if (v->ttl_type == IDN_TTL_ABSOLUTE)
		json_object_set_new(o, "ttlType", json_string("absolute"));
	http_fmt_time(v->timestamp, ts, sizeof(ts));
	json_object_set_new(o, "timestamp", json_string(ts));
	perms_text(v->perms, perms);
	json_object_set_new(o, "permissions", json_string(perms));
	if (v->nrefs) {
		json_t *refs = json_array();
		for (uint32_t i = 0; i < v->nrefs; i++) {
			json_t *r = json_object();
			json_object_set_new(
				r, "handle",
				http_jstrn(v->refs[i].id.p, v->refs[i].id.len));
			json_object_set_new(r, "index",
					    json_integer(v->refs[i].index));
			json_array_append_new(refs, r);
		}
		json_object_set_new(o, "references", refs);
	}
	return o;
}

/* ---- parsing ---- */

static int parse_b64(const char *s, idn_arena_t *a, idn_bytes_t *out)
{
	return idn_base64_decode_arena(s, strlen(s), IDN_B64_STRICT, a, out)
		       ? -1
		       : 0;
}

static int parse_hex(const char *s, idn_arena_t *a, idn_bytes_t *out)
{
	return idn_hex_decode(s, strlen(s), a, out) ? -1 : 0;
}

const char *http_unknown_key(json_t *obj, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		bool known = false;
		for (int i = 0; keys[i] && !known; i++)
			known = strcmp(k, keys[i]) == 0;
		if (!known)
			return k;
	}
	return NULL;
}

/* Checks that obj has only the named keys. */
static int only_keys(json_t *obj, const char *const *keys, char *err,
		     size_t errlen, const char *what)
{
	const char *k = http_unknown_key(obj, keys);
	if (k == NULL)
		return 0;
	snprintf(err, errlen, "unknown field '%.64s' in %s", k, what);
	return -1;
}

/* j as a uint32_t: an integer from 0 to 2^32 - 1. Returns 0 or -1. */
static int parse_u32(const json_t *j, uint32_t *out)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > 0xffffffffLL)
		return -1;
	*out = (uint32_t)json_integer_value(j);
	return 0;
}

/* The "handle" (a string) and "index" (a uint32_t) of obj, the handle a
 * view into obj. Returns 0 or -1. */
static int parse_ref(json_t *obj, idn_ref_t *ref)
{
	json_t *h = json_object_get(obj, "handle");
	if (!json_is_string(h) ||
	    parse_u32(json_object_get(obj, "index"), &ref->index) != 0)
		return -1;
	ref->id = idn_bytes(json_string_value(h), json_string_length(h));
	return 0;
}

/* A writer over cap fresh bytes of a. Returns 0, or -1 when out of
 * memory. */
static int arena_writer(idn_arena_t *a, size_t cap, idn_wr_t *w)
{
	uint8_t *buf = idn_arena_alloc(a, cap);
	if (buf == NULL)
		return -1;
	idn_wr_init(w, buf, cap);
	return 0;
}

/* Fails with msg unless a more precise complaint is already in err.
 * Returns -1. */
static int parse_fail(char *err, size_t errlen, const char *msg)
{
	if (!err[0])
		snprintf(err, errlen, "%s", msg);
	return -1;
}

static int parse_admin(json_t *val, idn_arena_t *a, idn_bytes_t *out, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {"handle", "index", "permissions",
					   NULL};
	if (!json_is_object(val) ||
	    only_keys(val, keys, err, errlen, "admin value") != 0)
		goto bad;
	json_t *pm = json_object_get(val, "permissions");
	idn_ref_t ref;
	if (parse_ref(val, &ref) != 0)
		goto bad;
	uint16_t perms = IDN_ADM_ALL;
	if (pm != NULL) {
		const char *ps = json_string_value(pm);
		if (ps == NULL || strlen(ps) != 12 || strspn(ps, "01") != 12)
			goto bad;
		perms = 0;
		for (int i = 0; i < 12; i++)
			if (ps[i] == '1')
				perms |= (uint16_t)(1u << (11 - i));
	}
	idn_hs_admin_t adm = {perms, ref.id, ref.index};
	idn_wr_t w;
	if (arena_writer(a, 16 + ref.id.len, &w) != 0)
		goto bad;
	idn_hs_admin_encode(&w, &adm);
	if (w.err)
		goto bad;
	*out = idn_bytes(w.buf, w.len);
	return 0;
bad:
	return parse_fail(err, errlen,
			  "admin value must be "
			  "{\"handle\",\"index\",\"permissions\":\"12 bits\"}");
}

static int parse_vlist(json_t *val, idn_arena_t *a, idn_bytes_t *out, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {"handle", "index", NULL};
	if (!json_is_array(val) || json_array_size(val) > IDN_REFS_MAX)
		goto bad;
	size_t n = json_array_size(val), cap = 8;
	idn_ref_t *refs = idn_arena_array(a, n ? n : 1, sizeof(*refs));
	if (refs == NULL)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(val, i);
		if (!json_is_object(e) ||
		    only_keys(e, keys, err, errlen, "vlist entry") != 0)
			goto bad;
		if (parse_ref(e, &refs[i]) != 0)
			goto bad;
		cap += 8 + refs[i].id.len;
	}
	idn_wr_t w;
	if (arena_writer(a, cap, &w) != 0)
		goto bad;
	idn_hs_vlist_t vl = {(uint32_t)n, refs};
	idn_hs_vlist_encode(&w, &vl);
	if (w.err)
		goto bad;
	*out = idn_bytes(w.buf, w.len);
	return 0;
bad:
	return parse_fail(
		err, errlen,
		"vlist value must be an array of {\"handle\",\"index\"}");
}

static int parse_data(json_t *d, idn_arena_t *a, idn_bytes_t *out, char *err,
		      size_t errlen)
{
	static const char *const keys[] = {"format", "value", NULL};
	if (json_is_string(d)) { /* shorthand: plain text */
		*out = idn_bytes(json_string_value(d), json_string_length(d));
		return 0;
	}
	if (!json_is_object(d) || only_keys(d, keys, err, errlen, "data") != 0)
		return parse_fail(
			err, errlen,
			"data must be a string or {\"format\",\"value\"}");
	json_t *f = json_object_get(d, "format");
	json_t *val = json_object_get(d, "value");
	const char *fmt = f ? json_string_value(f) : "string";
	if (fmt == NULL || val == NULL) {
		snprintf(err, errlen, "data needs a value and a string format");
		return -1;
	}
	if (!strcmp(fmt, "admin"))
		return parse_admin(val, a, out, err, errlen);
	if (!strcmp(fmt, "vlist"))
		return parse_vlist(val, a, out, err, errlen);
	if (!json_is_string(val)) {
		snprintf(err, errlen,
			 "data.value of format %.16s must be a string", fmt);
		return -1;
	}
	const char *s = json_string_value(val);
	if (!strcmp(fmt, "string")) {
		*out = idn_bytes(s, json_string_length(val));
		return 0;
	}
	int rc = -2;
	/* site and key values travel as their encoded bytes */
	if (!strcmp(fmt, "base64") || !strcmp(fmt, "key") ||
	    !strcmp(fmt, "site"))
		rc = parse_b64(s, a, out);
	else if (!strcmp(fmt, "hex"))
		rc = parse_hex(s, a, out);
	if (rc == -2)
		snprintf(err, errlen,
			 "unknown data format '%.32s' (string, base64, hex, "
			 "admin, vlist, site, key)",
			 fmt);
	else if (rc != 0)
		snprintf(err, errlen, "data.value is not valid %s", fmt);
	return rc ? -1 : 0;
}

static int perms_parse(const char *s, uint8_t *out)
{
	if (strlen(s) != 4)
		return -1;
	static const char want[4] = {'r', 'w', 'r', 'w'};
	static const uint8_t bit[4] = {
		IDN_PERM_ADMIN_READ, IDN_PERM_ADMIN_WRITE, IDN_PERM_PUBLIC_READ,
		IDN_PERM_PUBLIC_WRITE};
	uint8_t p = 0;
	for (int i = 0; i < 4; i++) {
		if (s[i] == want[i])
			p |= bit[i];
		else if (s[i] != '-')
			return -1;
	}
	*out = p;
	return 0;
}

/* An ISO 8601 duration: P[nD][T[nH][nM][nS]] (weeks, months and years
 * have no fixed length and are refused). Returns 0 or -1. */
static int iso_duration(const char *s, uint32_t *out)
{
	uint64_t total = 0;
	bool in_time = false, any = false;
	if (*s++ != 'P')
		return -1;
	while (*s) {
		if (*s == 'T' && !in_time) {
			in_time = true;
			s++;
			continue;
		}
		char *end;
		if (*s < '0' || *s > '9')
			return -1;
		unsigned long long n = strtoull(s, &end, 10);
		uint64_t unit = *end == 'D' && !in_time	 ? 86400
				: *end == 'H' && in_time ? 3600
				: *end == 'M' && in_time ? 60
				: *end == 'S' && in_time ? 1
							 : 0;
		if (unit == 0 || n > UINT32_MAX)
			return -1;
		total += (uint64_t)n * unit;
		if (total > UINT32_MAX)
			return -1;
		any = true;
		s = end + 1;
	}
	if (!any)
		return -1;
	*out = (uint32_t)total;
	return 0;
}

/* An ISO 8601 time with a zone (Z or +hh:mm), fractions of a second
 * ignored: Unix seconds. Returns 0 or -1. */
static int iso_time(const char *s, uint32_t *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	long off = 0;
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 ||
		    mm > 59)
			return -1;
		off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	int64_t t = (int64_t)timegm(&tm) - off;
	if (t < 0 || t > UINT32_MAX)
		return -1;
	*out = (uint32_t)t;
	return 0;
}

int http_ttl_iso(const char *s, uint32_t *ttl)
{
	if (iso_duration(s, ttl) == 0)
		return IDN_TTL_RELATIVE;
	if (iso_time(s, ttl) == 0)
		return IDN_TTL_ABSOLUTE;
	return -1;
}

int http_value_parse(json_t *j, idn_value_t *v, idn_arena_t *a, char *err,
		     size_t errlen)
{
	static const char *const keys[] = {
		"index",     "type",	    "data",	  "ttl", "ttlType",
		"timestamp", "permissions", "references", NULL};
	err[0] = 0;
	memset(v, 0, sizeof(*v));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "a value must be an object");
		return -1;
	}
	if (only_keys(j, keys, err, errlen, "value") != 0)
		return -1;
	json_t *ix = json_object_get(j, "index");
	json_t *ty = json_object_get(j, "type");
	json_t *d = json_object_get(j, "data");
	json_t *ttl = json_object_get(j, "ttl");
	json_t *tt = json_object_get(j, "ttlType");
	json_t *pm = json_object_get(j, "permissions");
	json_t *refs = json_object_get(j, "references");
	if (parse_u32(ix, &v->index) != 0) {
		snprintf(err, errlen, "value needs an integer index");
		return -1;
	}
	if (!json_is_string(ty) || json_string_length(ty) == 0 ||
	    json_string_length(ty) > IDN_TYPE_MAX) {
		snprintf(err, errlen, "value %u needs a type", v->index);
		return -1;
	}
	v->type = idn_bytes(json_string_value(ty), json_string_length(ty));
	if (d == NULL) {
		snprintf(err, errlen, "value %u needs data", v->index);
		return -1;
	}
	if (parse_data(d, a, &v->data, err, errlen) != 0)
		return -1;
	v->ttl = IDN_TTL_DEFAULT;
	if (ttl != NULL) {
		int iso =
			json_is_string(ttl)
				? http_ttl_iso(json_string_value(ttl), &v->ttl)
				: -1;
		if (iso == IDN_TTL_ABSOLUTE)
			v->ttl_type = IDN_TTL_ABSOLUTE;
		else if (iso < 0 && parse_u32(ttl, &v->ttl) != 0) {
			snprintf(err, errlen,
				 "value %u: ttl must be an integer number of "
				 "seconds, an ISO 8601 duration (PT1H) or an "
				 "ISO 8601 expiry time (2030-01-01T00:00:00Z)",
				 v->index);
			return -1;
		}
	}
	if (tt != NULL) {
		const char *s = json_string_value(tt);
		if (s && !strcmp(s, "absolute"))
			v->ttl_type = IDN_TTL_ABSOLUTE;
		else if (!s || strcmp(s, "relative")) {
			snprintf(err, errlen,
				 "value %u: ttlType is relative or absolute",
				 v->index);
			return -1;
		}
	}
	v->perms = IDN_PERM_DEFAULT;
	if (pm != NULL &&
	    (!json_is_string(pm) ||
	     perms_parse(json_string_value(pm), &v->perms) != 0)) {
		snprintf(err, errlen,
			 "value %u: permissions look like \"rwr-\"", v->index);
		return -1;
	}
	if (refs != NULL) {
		if (!json_is_array(refs) ||
		    json_array_size(refs) > IDN_REFS_MAX) {
			snprintf(err, errlen,
				 "value %u: references must be an array",
				 v->index);
			return -1;
		}
		v->nrefs = (uint32_t)json_array_size(refs);
		v->refs = idn_arena_array(a, v->nrefs ? v->nrefs : 1,
					  sizeof(*v->refs));
		if (v->refs == NULL)
			return -1;
		for (uint32_t i = 0; i < v->nrefs; i++) {
			json_t *e = json_array_get(refs, i);
			if (parse_ref(e, &v->refs[i]) != 0 ||
			    json_object_size(e) != 2) {
				snprintf(
					err, errlen,
					"value %u: a reference is {\"handle\",\"index\"}",
					v->index);
				return -1;
			}
		}
	}
	int e = idn_value_check(v, a);
	if (e) {
		snprintf(err, errlen, "value %u (%.64s): %s", v->index,
			 json_string_value(ty), idn_strerror(e));
		return -1;
	}
	return 0;
}

int http_values_parse(json_t *arr, idn_value_t **out, uint32_t *n,
		      idn_arena_t *a, char *err, size_t errlen)
{
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "values must be an array");
		return -1;
	}
	size_t cnt = json_array_size(arr);
	if (cnt > IDN_VALUES_MAX) {
		snprintf(err, errlen, "more than %d values", IDN_VALUES_MAX);
		return -1;
	}
	idn_value_t *v = idn_arena_array(a, cnt ? cnt : 1, sizeof(*v));
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cnt; i++)
		if (http_value_parse(json_array_get(arr, i), &v[i], a, err,
				     errlen) != 0)
			return -1;
	*out = v;
	*n = (uint32_t)cnt;
	return 0;
}

/* ---- the same JSON written directly (the GET path) ----
 *
 * http_values_text writes what json_dumps(JSON_COMPACT) makes of an array
 * of http_value_json objects, byte for byte, without building the jansson
 * tree: strings escaped as jansson escapes them ('"', '\\', \b \f \n \r \t,
 * other controls as \u00XX, nothing else), text that is not UTF-8 as "".
 * Site and vlist values, rare, still go through jansson. fuzz_http checks
 * both ways agree. */

typedef struct {
	char *p;
	size_t len, cap;
	idn_arena_t *a;
	bool err;
} jtext_t;

static bool jt_need(jtext_t *w, size_t n)
{
	if (w->err)
		return false;
	if (w->cap - w->len >= n)
		return true;
	size_t cap = w->cap * 2 > w->len + n ? w->cap * 2 : w->len + n + 256;
	char *p = idn_arena_alloc(w->a, cap);
	if (p == NULL) {
		w->err = true;
		return false;
	}
	if (w->len)
		memcpy(p, w->p, w->len);
	w->p = p;
	w->cap = cap;
	return true;
}

static void jt_raw(jtext_t *w, const char *s, size_t n)
{
	if (jt_need(w, n)) {
		memcpy(w->p + w->len, s, n);
		w->len += n;
	}
}

#define JT_LIT(w, s) jt_raw((w), (s), sizeof(s) - 1)

static void jt_uint(jtext_t *w, uint64_t v)
{
	char b[24];
	int n = 0;
	do
		b[sizeof(b) - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	jt_raw(w, b + sizeof(b) - n, (size_t)n);
}

/* A JSON string of p[0..n) as http_jstrn + json_dumps write it. */
static void jt_str(jtext_t *w, const uint8_t *p, size_t n)
{
	if (idn_utf8_check(p, n) != 0)
		n = 0;
	if (!jt_need(w, 2 + 6 * n))
		return;
	char *o = w->p + w->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = "0123456789ABCDEF"[c >> 4];
			*o++ = "0123456789ABCDEF"[c & 15];
		}
	}
	*o++ = '"';
	w->len = (size_t)(o - w->p);
}

static void jt_b64(jtext_t *w, const uint8_t *p, size_t n)
{
	char *s = idn_base64(p, n);
	if (s == NULL) {
		JT_LIT(w, "null");
		return;
	}
	JT_LIT(w, "\"");
	jt_raw(w, s, strlen(s)); /* base64 needs no escapes */
	JT_LIT(w, "\"");
	free(s);
}

/* The last timestamp formatted by this thread: values of a record mostly
 * share one. */
static void jt_time(jtext_t *w, uint32_t t)
{
	static _Thread_local uint32_t last_t;
	static _Thread_local char last[32];
	static _Thread_local size_t last_len;
	if (last_len == 0 || t != last_t) {
		http_fmt_time(t, last, sizeof(last));
		last_len = strlen(last);
		last_t = t;
	}
	JT_LIT(w, "\"");
	jt_raw(w, last, last_len);
	JT_LIT(w, "\"");
}

/* One value through jansson, appended as text; false when out of memory. */
static void jt_jansson(jtext_t *w, const idn_value_t *v)
{
	json_t *j = http_value_json(v, w->a);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL) {
		w->err = true;
		return;
	}
	jt_raw(w, s, strlen(s));
	free(s);
}

static void jt_value(jtext_t *w, const idn_value_t *v)
{
	idn_hs_admin_t adm;
	bool admin = idn_bytes_eq_str(v->type, "HS_ADMIN") &&
		     idn_hs_admin_decode(v->data, &adm) == 0;
	if (!admin && (idn_bytes_eq_str(v->type, "HS_SITE") ||
		       idn_bytes_eq_str(v->type, "HS_VLIST"))) {
		jt_jansson(w, v);
		return;
	}
	JT_LIT(w, "{\"index\":");
	jt_uint(w, v->index);
	JT_LIT(w, ",\"type\":");
	jt_str(w, v->type.p, v->type.len);
	JT_LIT(w, ",\"data\":{\"format\":");
	if (admin) {
		char bits[12];
		for (int i = 0; i < 12; i++)
			bits[i] = adm.perms & (1u << (11 - i)) ? '1' : '0';
		JT_LIT(w, "\"admin\",\"value\":{\"handle\":");
		jt_str(w, adm.admin.p, adm.admin.len);
		JT_LIT(w, ",\"index\":");
		jt_uint(w, adm.index);
		JT_LIT(w, ",\"permissions\":\"");
		jt_raw(w, bits, 12);
		JT_LIT(w, "\"}");
	} else if (idn_bytes_eq_str(v->type, "HS_PUBKEY")) {
		JT_LIT(w, "\"key\",\"value\":");
		jt_b64(w, v->data.p, v->data.len);
	} else if (is_text(v->data)) {
		JT_LIT(w, "\"string\",\"value\":");
		jt_str(w, v->data.p, v->data.len);
	} else {
		JT_LIT(w, "\"base64\",\"value\":");
		jt_b64(w, v->data.p, v->data.len);
	}
	JT_LIT(w, "},\"ttl\":");
	jt_uint(w, v->ttl);
	if (v->ttl_type == IDN_TTL_ABSOLUTE)
		JT_LIT(w, ",\"ttlType\":\"absolute\"");
	JT_LIT(w, ",\"timestamp\":");
	jt_time(w, v->timestamp);
	char perms[5];
	perms_text(v->perms, perms);
	JT_LIT(w, ",\"permissions\":\"");
	jt_raw(w, perms, 4);
	JT_LIT(w, "\"");
	if (v->nrefs) {
		JT_LIT(w, ",\"references\":[");
		for (uint32_t i = 0; i < v->nrefs; i++) {
			if (i)
				JT_LIT(w, ",");
			JT_LIT(w, "{\"handle\":");
			jt_str(w, v->refs[i].id.p, v->refs[i].id.len);
			JT_LIT(w, ",\"index\":");
			jt_uint(w, v->refs[i].index);
			JT_LIT(w, "}");
		}
		JT_LIT(w, "]");
	}
	JT_LIT(w, "}");
}

char *http_values_text(const idn_value_t *v, uint32_t n, const char *id,
		       idn_arena_t *a, size_t *len)
{
	size_t guess = 64 + (id ? 6 * strlen(id) : 0);
	for (uint32_t i = 0; i < n; i++)
		guess += 200 + 2 * (v[i].type.len + v[i].data.len);
	jtext_t w = {NULL, 0, 0, a, false};
	if (!jt_need(&w, guess))
		return NULL;
	if (id != NULL) {
		JT_LIT(&w, "{\"responseCode\":1,\"handle\":");
		jt_str(&w, (const uint8_t *)id, strlen(id));
		JT_LIT(&w, ",\"values\":");
	}
	JT_LIT(&w, "[");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			JT_LIT(&w, ",");
		jt_value(&w, &v[i]);
	}
	JT_LIT(&w, "]");
	if (id != NULL)
		JT_LIT(&w, "}");
	if (w.err)
		return NULL;
	*len = w.len;
	return w.p;
}
