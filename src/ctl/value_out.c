/* How idctl shows values: one line each for people, or JSON
 * (value_out.h). */
#include "value_out.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "b64.h"
#include "hex.h"
#include "site.h"
#include "ident.h"

static json_t *jstr(idn_bytes_t b)
{
	return json_stringn((const char *)b.p, b.len);
}

void value_time(uint32_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void perms_str(uint8_t p, char out[5])
{
	out[0] = p & IDN_PERM_ADMIN_READ ? 'r' : '-';
	out[1] = p & IDN_PERM_ADMIN_WRITE ? 'w' : '-';
	out[2] = p & IDN_PERM_PUBLIC_READ ? 'r' : '-';
	out[3] = p & IDN_PERM_PUBLIC_WRITE ? 'w' : '-';
	out[4] = 0;
}

bool value_printable(idn_bytes_t b)
{
	if (idn_utf8_check(b.p, b.len) != 0)
		return false;
	for (uint32_t i = 0; i < b.len; i++)
		if (b.p[i] < 0x20 && b.p[i] != '\t')
			return false;
	return true;
}

static char *to_hex(idn_bytes_t b)
{
	char *s = malloc((size_t)b.len * 2 + 1);
	if (s == NULL)
		return NULL;
	idn_hex_encode(b.p, b.len, s);
	return s;
}

json_t *value_json(const idn_value_t *v, idn_arena_t *a)
{
	json_t *o = json_object();
	json_t *data = json_object();
	json_object_set_new(o, "index", json_integer(v->index));
	json_object_set_new(o, "type", jstr(v->type));
	idn_hs_admin_t adm;
	idn_hs_site_t site;
	if (idn_bytes_eq_str(v->type, "HS_SITE") &&
	    idn_hs_site_decode(v->data, a, &site) == 0) {
		json_object_set_new(data, "format", json_string("site"));
		json_object_set_new(data, "value", idn_site_json(&site));
	} else if (idn_bytes_eq_str(v->type, "HS_ADMIN") &&
		   idn_hs_admin_decode(v->data, &adm) == 0) {
		value_admin_json(data, &adm, 12);
	} else {
		value_bytes_json(data, v->data);
	}
	json_object_set_new(o, "data", data);
	json_object_set_new(o, "ttl", json_integer(v->ttl));
	if (v->ttl_type == IDN_TTL_ABSOLUTE)
		json_object_set_new(o, "ttlType", json_integer(1));
	value_meta_json(o, v);
	return o;
}

void value_admin_json(json_t *data, const idn_hs_admin_t *adm, int nbits)
{
	char bits[17];
	for (int i = 0; i < nbits; i++)
		bits[i] = adm->perms & (1u << (nbits - 1 - i)) ? '1' : '0';
	bits[nbits] = 0;
	json_t *av = json_object();
	json_object_set_new(av, "handle", jstr(adm->admin));
	json_object_set_new(av, "index", json_integer(adm->index));
	json_object_set_new(av, "permissions", json_string(bits));
	json_object_set_new(data, "format", json_string("admin"));
	json_object_set_new(data, "value", av);
}

void value_bytes_json(json_t *data, idn_bytes_t d)
{
	if (value_printable(d)) {
		json_object_set_new(data, "format", json_string("string"));
		json_object_set_new(data, "value", jstr(d));
		return;
	}
	char *b64 = idn_base64(d.p, d.len);
	json_object_set_new(data, "format", json_string("base64"));
	json_object_set_new(data, "value", json_string(b64 ? b64 : ""));
	free(b64);
}

void value_meta_json(json_t *o, const idn_value_t *v)
{
	char ts[32], perms[5];
	value_time(v->timestamp, ts, sizeof(ts));
	json_object_set_new(o, "timestamp", json_string(ts));
	perms_str(v->perms, perms);
	json_object_set_new(o, "permissions", json_string(perms));
	if (v->nrefs) {
		json_t *refs = json_array();
		for (uint32_t i = 0; i < v->nrefs; i++) {
			json_t *r = json_object();
			json_object_set_new(r, "handle", jstr(v->refs[i].id));
			json_object_set_new(r, "index",
					    json_integer(v->refs[i].index));
			json_array_append_new(refs, r);
		}
		json_object_set_new(o, "references", refs);
	}
}

void print_value(const idn_value_t *v, idn_arena_t *a)
{
	char ts[32], perms[5];
	value_time(v->timestamp, ts, sizeof(ts));
	perms_str(v->perms, perms);
	printf("  %-6u %-12.*s %-8u%s %s  %s  ", v->index, (int)v->type.len,
	       v->type.p, v->ttl, v->ttl_type == IDN_TTL_ABSOLUTE ? "abs" : "",
	       perms, ts);
	idn_hs_admin_t adm;
	idn_hs_site_t site;
	if (idn_bytes_eq_str(v->type, "HS_SITE") &&
	    idn_hs_site_decode(v->data, a, &site) == 0) {
		idn_site_print(stdout, &site);
		putchar('\n');
	} else if (idn_bytes_eq_str(v->type, "HS_ADMIN") &&
		   idn_hs_admin_decode(v->data, &adm) == 0) {
		printf("%.*s@%u perms=%03x\n", (int)adm.admin.len, adm.admin.p,
		       adm.index, adm.perms);
	} else if (value_printable(v->data)) {
		printf("%.*s\n", (int)v->data.len, v->data.p);
	} else {
		char *h = to_hex(v->data);
		printf("hex:%s\n", h ? h : "");
		free(h);
	}
	for (uint32_t i = 0; i < v->nrefs; i++)
		printf("         ref %.*s@%u\n", (int)v->refs[i].id.len,
		       v->refs[i].id.p, v->refs[i].index);
}
