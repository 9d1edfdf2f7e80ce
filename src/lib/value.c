/* The value model and the typed layouts of HS_* values (value.h). */
#include "value.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "ident.h"

/* Smallest encoding of one value: index, timestamp, ttl_type, ttl, perms,
 * type length, data length, reference count. */
#define VALUE_MIN_LEN (4 + 4 + 1 + 4 + 1 + 4 + 4 + 4)
/* Smallest reference: identifier length + index. */
#define REF_MIN_LEN (4 + 4)

void idn_value_decode(idn_rd_t *r, idn_arena_t *a, idn_value_t *v)
{
	memset(v, 0, sizeof(*v));
	v->index = idn_rd_u32(r);
	v->timestamp = idn_rd_u32(r);
	v->ttl_type = idn_rd_u8(r);
	v->ttl = idn_rd_u32(r);
	v->perms = idn_rd_u8(r);
	v->type = idn_rd_str(r, IDN_TYPE_MAX);
	v->data = idn_rd_str(r, IDN_MSG_MAX);
	uint32_t n = idn_rd_count(r, IDN_REFS_MAX, REF_MIN_LEN);
	if (r->err || n == 0)
		return;
	idn_ref_t *refs = idn_arena_array(a, n, sizeof(*refs));
	if (refs == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		refs[i].id = idn_rd_str(r, IDN_IDENT_MAX);
		refs[i].index = idn_rd_u32(r);
	}
	if (r->err)
		return;
	v->nrefs = n;
	v->refs = refs;
}

int idn_values_decode(idn_rd_t *r, idn_arena_t *a, idn_value_t **out,
		      uint32_t *n)
{
	*out = NULL;
	*n = 0;
	uint32_t count = idn_rd_count(r, IDN_VALUES_MAX, VALUE_MIN_LEN);
	if (r->err)
		return r->err;
	if (count == 0)
		return 0;
	idn_value_t *vals = idn_arena_array(a, count, sizeof(*vals));
	if (vals == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return r->err;
	}
	for (uint32_t i = 0; i < count && !r->err; i++)
		idn_value_decode(r, a, &vals[i]);
	if (r->err)
		return r->err;
	*out = vals;
	*n = count;
	return 0;
}

void idn_value_encode(idn_wr_t *w, const idn_value_t *v)
{
	idn_wr_u32(w, v->index);
	idn_wr_u32(w, v->timestamp);
	idn_wr_u8(w, v->ttl_type);
	idn_wr_u32(w, v->ttl);
	idn_wr_u8(w, v->perms);
	idn_wr_str(w, v->type);
	idn_wr_str(w, v->data);
	idn_wr_u32(w, v->nrefs);
	for (uint32_t i = 0; i < v->nrefs; i++) {
		idn_wr_str(w, v->refs[i].id);
		idn_wr_u32(w, v->refs[i].index);
	}
}

size_t idn_value_size(const idn_value_t *v)
{
	size_t n = VALUE_MIN_LEN + (size_t)v->type.len + v->data.len;
	for (uint32_t i = 0; i < v->nrefs; i++)
		n += REF_MIN_LEN + (size_t)v->refs[i].id.len;
	return n;
}

/* A reader over b. An empty view may carry a NULL pointer, which must not
 * reach the cursor's pointer arithmetic. */
static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* ASCII case-insensitive "s starts with p". */
static bool has_prefix_ci(idn_bytes_t s, const uint8_t *p, size_t n)
{
	if (s.len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s.p[i]) != lower(p[i]))
			return false;
	return true;
}

bool idn_type_matches(idn_bytes_t type, idn_bytes_t want)
{
	if (want.len > 0 && want.p[want.len - 1] == '.') {
		/* "URL." matches "URL" itself and anything under "URL." */
		uint32_t base = want.len - 1;
		if (type.len == base)
			return has_prefix_ci(type, want.p, base);
		return has_prefix_ci(type, want.p, want.len);
	}
	return type.len == want.len && has_prefix_ci(type, want.p, want.len);
}

/* ---- index order ---- */

typedef struct {
	uint32_t index;
	const uint8_t *p;
	size_t len;
} span_t;

static int span_cmp(const void *a, const void *b)
{
	uint32_t x = ((const span_t *)a)->index, y = ((const span_t *)b)->index;
	return x < y ? -1 : x > y;
}

int idn_values_order(const uint8_t *in, size_t len, uint32_t n, uint8_t *out)
{
	assert(in != out);
	if (n > len / VALUE_MIN_LEN)
		return IDN_EMALFORMED;
	if (n == 0)
		return len == 0 ? 0 : IDN_EMALFORMED;
	span_t *sp = malloc((size_t)n * sizeof(*sp));
	if (sp == NULL)
		return -ENOMEM;
	idn_rd_t rd;
	idn_rd_init(&rd, in, len);
	bool sorted = true;
	for (uint32_t i = 0; i < n && !rd.err; i++) {
		sp[i].p = rd.p;
		sp[i].index = idn_rd_u32(&rd);
		idn_rd_raw(&rd, 4 + 1 + 4 + 1); /* timestamp, ttl, perms */
		idn_rd_str(&rd, IDN_TYPE_MAX);
		idn_rd_str(&rd, IDN_MSG_MAX);
		uint32_t nrefs = idn_rd_count(&rd, IDN_REFS_MAX, REF_MIN_LEN);
		for (uint32_t k = 0; k < nrefs && !rd.err; k++) {
			idn_rd_str(&rd, IDN_IDENT_MAX);
			idn_rd_u32(&rd);
		}
		sp[i].len = (size_t)(rd.p - sp[i].p);
		if (i > 0 && sp[i].index <= sp[i - 1].index)
			sorted = false;
	}
	int err = rd.err ? rd.err : idn_rd_left(&rd) ? IDN_EMALFORMED : 0;
	if (!err && !sorted)
		qsort(sp, n, sizeof(*sp), span_cmp);
	size_t off = 0;
	for (uint32_t i = 0; i < n && !err; i++) {
		if (i > 0 && sp[i].index == sp[i - 1].index)
			err = IDN_EVALUE;
		memcpy(out + off, sp[i].p, sp[i].len);
		off += sp[i].len;
	}
	free(sp);
	return err;
}

/* ---- HS_ADMIN: perms(2) admin(string) index(4) ---- */

int idn_hs_admin_decode(idn_bytes_t data, idn_hs_admin_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, data.p, data.len);
	out->perms = idn_rd_u16(&r);
	out->admin = idn_rd_str(&r, IDN_IDENT_MAX);
	out->index = idn_rd_u32(&r);
	return idn_rd_finish(&r);
}

void idn_hs_admin_encode(idn_wr_t *w, const idn_hs_admin_t *in)
{
	idn_wr_u16(w, in->perms);
	idn_wr_str(w, in->admin);
	idn_wr_u32(w, in->index);
}

/* ---- HS_VLIST: u32 count + (identifier, index) ---- */

#define VLIST_MAX 65536

int idn_hs_vlist_decode(idn_bytes_t data, idn_arena_t *a, idn_hs_vlist_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, data.p, data.len);
	out->n = 0;
	out->refs = NULL;
	uint32_t n = idn_rd_count(&r, VLIST_MAX, REF_MIN_LEN);
	if (r.err)
		return r.err;
	idn_ref_t *refs = NULL;
	if (n > 0) {
		refs = idn_arena_array(a, n, sizeof(*refs));
		if (refs == NULL)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		refs[i].id = idn_rd_str(&r, IDN_IDENT_MAX);
		refs[i].index = idn_rd_u32(&r);
	}
	int err = idn_rd_finish(&r);
	if (err)
		return err;
	out->n = n;
	out->refs = refs;
	return 0;
}

void idn_hs_vlist_encode(idn_wr_t *w, const idn_hs_vlist_t *in)
{
	idn_wr_u32(w, in->n);
	for (uint32_t i = 0; i < in->n; i++) {
		idn_wr_str(w, in->refs[i].id);
		idn_wr_u32(w, in->refs[i].index);
	}
}

/* ---- HS_SITE ---- */

#define SITE_ATTRS_MAX 1024
#define SITE_SERVERS_MAX 1024
#define SITE_IFACES_MAX 64
#define SITE_KEY_MAX 65536
#define ATTR_MIN_LEN (4 + 4)
#define SERVER_MIN_LEN (4 + 16 + 4 + 4)
#define IFACE_LEN (1 + 1 + 4)

/* Decodes one server entry of a site; arrays come from a. */
static void site_server_decode(idn_rd_t *r, idn_arena_t *a, idn_hs_server_t *s)
{
	memset(s, 0, sizeof(*s));
	s->id = idn_rd_u32(r);
	const uint8_t *addr = idn_rd_raw(r, sizeof(s->addr));
	if (addr != NULL)
		memcpy(s->addr, addr, sizeof(s->addr));
	s->pubkey = idn_rd_str(r, SITE_KEY_MAX);
	uint32_t n = idn_rd_count(r, SITE_IFACES_MAX, IFACE_LEN);
	if (r->err || n == 0)
		return;
	s->ifaces = idn_arena_array(a, n, sizeof(*s->ifaces));
	if (s->ifaces == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return;
	}
	s->nifaces = n;
	for (uint32_t i = 0; i < n; i++) {
		s->ifaces[i].type = idn_rd_u8(r);
		s->ifaces[i].proto = idn_rd_u8(r);
		s->ifaces[i].port = idn_rd_u32(r);
	}
}

int idn_hs_site_decode(idn_bytes_t data, idn_arena_t *a, idn_hs_site_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, data.p, data.len);
	memset(out, 0, sizeof(*out));
	out->version = idn_rd_u16(&r);
	out->major = idn_rd_u8(&r);
	out->minor = idn_rd_u8(&r);
	out->serial = idn_rd_u16(&r);
	out->flags = idn_rd_u8(&r);
	out->hash_option = idn_rd_u8(&r);
	out->hash_filter = idn_rd_str(&r, IDN_TYPE_MAX);
	uint32_t n = idn_rd_count(&r, SITE_ATTRS_MAX, ATTR_MIN_LEN);
	if (r.err)
		return r.err;
	if (n > 0) {
		out->attrs = idn_arena_array(a, n, sizeof(*out->attrs));
		if (out->attrs == NULL)
			return -ENOMEM;
		out->nattrs = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		out->attrs[i].name = idn_rd_str(&r, IDN_TYPE_MAX);
		out->attrs[i].value = idn_rd_str(&r, IDN_MSG_MAX);
	}
	n = idn_rd_count(&r, SITE_SERVERS_MAX, SERVER_MIN_LEN);
	if (r.err)
		return r.err;
	if (n > 0) {
		out->servers = idn_arena_array(a, n, sizeof(*out->servers));
		if (out->servers == NULL)
			return -ENOMEM;
		out->nservers = n;
	}
	for (uint32_t i = 0; i < n && !r.err; i++)
		site_server_decode(&r, a, &out->servers[i]);
	return idn_rd_finish(&r);
}

void idn_hs_site_encode(idn_wr_t *w, const idn_hs_site_t *in)
{
	idn_wr_u16(w, in->version);
	idn_wr_u8(w, in->major);
	idn_wr_u8(w, in->minor);
	idn_wr_u16(w, in->serial);
	idn_wr_u8(w, in->flags);
	idn_wr_u8(w, in->hash_option);
	idn_wr_str(w, in->hash_filter);
	idn_wr_u32(w, in->nattrs);
	for (uint32_t i = 0; i < in->nattrs; i++) {
		idn_wr_str(w, in->attrs[i].name);
		idn_wr_str(w, in->attrs[i].value);
	}
	idn_wr_u32(w, in->nservers);
	for (uint32_t i = 0; i < in->nservers; i++) {
		const idn_hs_server_t *s = &in->servers[i];
		idn_wr_u32(w, s->id);
		idn_wr_raw(w, s->addr, sizeof(s->addr));
		idn_wr_str(w, s->pubkey);
		idn_wr_u32(w, s->nifaces);
		for (uint32_t j = 0; j < s->nifaces; j++) {
			idn_wr_u8(w, s->ifaces[j].type);
			idn_wr_u8(w, s->ifaces[j].proto);
			idn_wr_u32(w, s->ifaces[j].port);
		}
	}
}

/* ---- HS_PUBKEY: type string, flags(2), byte arrays to the end ---- */

int idn_hs_pubkey_decode(idn_bytes_t data, idn_hs_pubkey_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, data.p, data.len);
	memset(out, 0, sizeof(*out));
	out->type = idn_rd_str(&r, IDN_TYPE_MAX);
	out->flags = idn_rd_u16(&r);
	while (!r.err && idn_rd_left(&r) > 0) {
		if (out->nparams == IDN_PUBKEY_PARAMS_MAX)
			return IDN_ETOOMANY;
		out->params[out->nparams++] = idn_rd_str(&r, SITE_KEY_MAX);
	}
	return idn_rd_finish(&r);
}

void idn_hs_pubkey_encode(idn_wr_t *w, const idn_hs_pubkey_t *in)
{
	idn_wr_str(w, in->type);
	idn_wr_u16(w, in->flags);
	for (uint32_t i = 0; i < in->nparams && i < IDN_PUBKEY_PARAMS_MAX; i++)
		idn_wr_str(w, in->params[i]);
}

/* ---- checks ---- */

/* The type must be non-empty UTF-8 without control characters. */
static int check_type(idn_bytes_t t)
{
	if (t.len == 0)
		return IDN_EVALUE;
	for (uint32_t i = 0; i < t.len; i++)
		if (t.p[i] < 0x20 || t.p[i] == 0x7f)
			return IDN_EVALUE;
	return idn_utf8_check(t.p, t.len);
}

/* Parameter counts the key types we know must have. */
static int check_pubkey(const idn_hs_pubkey_t *k)
{
	if (idn_bytes_eq_str(k->type, "DSA_PUB_KEY"))
		return k->nparams == 4 ? 0 : IDN_EVALUE;
	if (idn_bytes_eq_str(k->type, "RSA_PUB_KEY"))
		return (k->nparams == 2 || k->nparams == 3) ? 0 : IDN_EVALUE;
	if (idn_bytes_eq_str(k->type, "DH_PUB_KEY"))
		return k->nparams == 3 ? 0 : IDN_EVALUE;
	return k->type.len > 0 ? 0 : IDN_EVALUE;
}

/* Maps a layout decode error to the check's error space. */
static int layout_err(int err)
{
	if (err == 0 || err == -ENOMEM)
		return err;
	return IDN_EVALUE;
}

int idn_value_check(const idn_value_t *v, idn_arena_t *a)
{
	int err = check_type(v->type);
	if (err)
		return err;
	if (v->ttl_type > IDN_TTL_ABSOLUTE || v->perms > 0xf)
		return IDN_EVALUE;
	/* the limits idn_value_decode applies, so what is stored decodes */
	if (v->type.len > IDN_TYPE_MAX || v->nrefs > IDN_REFS_MAX ||
	    v->data.len > IDN_MSG_MAX)
		return IDN_ETOOLONG;
	for (uint32_t i = 0; i < v->nrefs; i++) {
		if (v->refs[i].id.len > IDN_IDENT_MAX)
			return IDN_ETOOLONG;
		err = idn_utf8_check(v->refs[i].id.p, v->refs[i].id.len);
		if (err)
			return err;
	}
	if (idn_type_matches(v->type, idn_bytes_str("HS_ADMIN"))) {
		idn_hs_admin_t adm;
		err = layout_err(idn_hs_admin_decode(v->data, &adm));
		if (!err)
			err = idn_utf8_check(adm.admin.p, adm.admin.len);
	} else if (idn_type_matches(v->type, idn_bytes_str("HS_VLIST"))) {
		idn_hs_vlist_t vl;
		err = layout_err(idn_hs_vlist_decode(v->data, a, &vl));
		for (uint32_t i = 0; !err && i < vl.n; i++)
			err = idn_utf8_check(vl.refs[i].id.p,
					     vl.refs[i].id.len);
	} else if (idn_type_matches(v->type, idn_bytes_str("HS_SITE."))) {
		idn_hs_site_t site;
		err = layout_err(idn_hs_site_decode(v->data, a, &site));
	} else if (idn_type_matches(v->type, idn_bytes_str("HS_PUBKEY"))) {
		idn_hs_pubkey_t key;
		err = layout_err(idn_hs_pubkey_decode(v->data, &key));
		if (!err)
			err = check_pubkey(&key);
	}
	return err;
}
