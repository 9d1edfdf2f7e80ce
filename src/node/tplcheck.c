/* Metadata templates on the node: storage rules and enforcement on writes
 * (tplcheck.h). */
#include "tplcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "template.h"
#include "value.h"
#include "wire.h"

#define VIOL_MAX 32

static int fail(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return IDN_EVALUE;
}

static int decode_all(idn_bytes_t blob, uint32_t n, idn_arena_t *a,
		      idn_value_t **out)
{
	idn_value_t *v = n ? idn_arena_array(a, n, sizeof(*v)) : NULL;
	if (n && v == NULL)
		return -ENOMEM;
	idn_rd_t rd;
	idn_rd_init(&rd, blob.p, blob.len);
	for (uint32_t i = 0; i < n && !rd.err; i++)
		idn_value_decode(&rd, a, &v[i]);
	*out = v;
	return rd.err ? IDN_ECORRUPT : 0;
}

static const idn_value_t *at_index(const idn_value_t *v, uint32_t n,
				   uint32_t index, const char *type)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i].index == index &&
		    idn_type_matches(v[i].type, idn_bytes_str(type)))
			return &v[i];
	return NULL;
}

/* The key of P/TEMPLATE/NAME for the prefix of id. */
static int tpl_ident(const idn_ident_t *id, const uint8_t *name, size_t nlen,
		     unsigned flags, idn_ident_t *out)
{
	uint8_t text[IDN_IDENT_MAX];
	size_t sl = strlen(TPL_SUFFIX);
	if (id->prefix_len + 1 + sl + nlen > sizeof(text))
		return IDN_ETOOLONG;
	memcpy(text, id->text.p, id->prefix_len);
	text[id->prefix_len] = '/';
	memcpy(text + id->prefix_len + 1, TPL_SUFFIX, sl);
	memcpy(text + id->prefix_len + 1 + sl, name, nlen);
	int err = idn_ident_parse(text, id->prefix_len + 1 + sl + nlen, flags,
				  out);
	out->text = idn_bytes(NULL, 0); /* pointed at the stack */
	return err;
}

/* Reads and decodes template NAME@version of id's prefix from t. Returns
 * 0, IDN_ENOTFOUND (no such record or version) or an error. */
static int tpl_load(idn_wtxn_t *t, const idn_ident_t *id, const uint8_t *name,
		    size_t nlen, uint32_t version, unsigned flags,
		    idn_arena_t *a, idn_template_t *out, char *err, size_t cap)
{
	static _Thread_local idn_ident_t tid;
	int e = tpl_ident(id, name, nlen, flags, &tid);
	if (e)
		return e;
	idn_record_t rec;
	e = idn_wtxn_get(t, tid.key, tid.key_len, &rec);
	if (e)
		return e;
	idn_value_t *v;
	e = decode_all(rec.values, rec.nvalues, a, &v);
	if (e)
		return e;
	const idn_value_t *tv = NULL;
	if (version != 0) {
		tv = at_index(v, rec.nvalues, version, TPL_TYPE);
	} else {
		/* the newest version that is not a draft (state: byte 5 of
		 * the encoding, as check_tpl_record reads it) */
		for (uint32_t i = 0; i < rec.nvalues; i++)
			if (idn_type_matches(v[i].type,
					     idn_bytes_str(TPL_TYPE)) &&
			    v[i].data.len > 5 &&
			    v[i].data.p[5] != IDN_TPL_DRAFT &&
			    (tv == NULL || v[i].index > tv->index))
				tv = &v[i];
	}
	if (tv == NULL)
		return IDN_ENOTFOUND;
	return idn_template_decode(tv->data.p, tv->data.len, NULL, out, err,
				   cap);
}

/* Rules of a template record P/TEMPLATE/NAME. */
static int check_tpl_record(idn_wtxn_t *t, const idn_ident_t *id,
			    const uint8_t *name, size_t nlen, unsigned flags,
			    const idn_value_t *nv, uint32_t nn,
			    const idn_value_t *ov, uint32_t on, bool cross,
			    idn_arena_t *a, char *msg, size_t cap)
{
	uint8_t recp[IDN_IDENT_MAX], tp[IDN_IDENT_MAX];
	uint32_t recpl, tpl = 0;
	char e[256];
	int err =
		idn_prefix_normalise(id->text.p, id->prefix_len, recp, &recpl);
	if (err)
		return err;
	for (uint32_t i = 0; i < on; i++) {
		const idn_value_t *o = &ov[i];
		if (!idn_type_matches(o->type, idn_bytes_str(TPL_TYPE)) ||
		    at_index(nv, nn, o->index, TPL_TYPE) != NULL)
			continue;
		/* removed: only drafts may go */
		uint8_t state = o->data.len > 5 ? o->data.p[5] : IDN_TPL_DRAFT;
		if (state != IDN_TPL_DRAFT)
			return fail(
				msg, cap,
				"template %.*s version %u is %s: only drafts "
				"can be removed",
				(int)nlen, name, o->index,
				idn_tpl_state_name((idn_tpl_state_t)state));
	}
	for (uint32_t i = 0; i < nn; i++) {
		const idn_value_t *v = &nv[i];
		if (!idn_type_matches(v->type, idn_bytes_str(TPL_TYPE)))
			continue;
		if (v->index < 1 || v->index > TPL_VERSION_MAX)
			return fail(msg, cap,
				    "value %u (" TPL_TYPE "): the index is the "
				    "version, 1..%d",
				    v->index, TPL_VERSION_MAX);
		const idn_value_t *o =
			ov ? at_index(ov, on, v->index, TPL_TYPE) : NULL;
		if (o != NULL && idn_bytes_eq(o->data, v->data))
			continue; /* unchanged */
		idn_template_t nt = {0}, ot = {0};
		err = idn_template_decode(v->data.p, v->data.len, NULL, &nt, e,
					  sizeof(e));
		if (err) {
			idn_template_free(&nt);
			return fail(msg, cap, "value %u (" TPL_TYPE "): %s",
				    v->index, e);
		}
		int rc = 0;
		if (idn_prefix_normalise((const uint8_t *)nt.prefix,
					 strlen(nt.prefix), tp, &tpl) != 0 ||
		    tpl != recpl || memcmp(tp, recp, tpl) != 0)
			rc = fail(msg, cap,
				  "value %u (" TPL_TYPE "): prefix \"%s\" is "
				  "not this record's prefix %.*s",
				  v->index, nt.prefix, (int)id->prefix_len,
				  id->text.p);
		else if (!idn_ascii_caseeq((const uint8_t *)nt.name,
					   strlen(nt.name), name, nlen))
			rc = fail(msg, cap,
				  "value %u (" TPL_TYPE "): name \"%s\" is not "
				  "this record's name %.*s",
				  v->index, nt.name, (int)nlen, name);
		else if (nt.version != v->index)
			rc = fail(msg, cap,
				  "value %u (" TPL_TYPE "): version %u must "
				  "equal the index",
				  v->index, nt.version);
		else if (nt.state != IDN_TPL_DRAFT && nt.nitems == 0)
			rc = fail(msg, cap,
				  "template %s version %u: a %s template needs "
				  "at least one item",
				  nt.name, nt.version,
				  idn_tpl_state_name(nt.state));
		if (rc == 0 && o != NULL) {
			err = idn_template_decode(o->data.p, o->data.len, NULL,
						  &ot, e, sizeof(e));
			/* published -> withdrawn, nothing else changed */
			bool ok = err != 0 || ot.state == IDN_TPL_DRAFT;
			if (!ok && ot.state == IDN_TPL_PUBLISHED &&
			    nt.state == IDN_TPL_WITHDRAWN &&
			    idn_template_withdraw(&ot, NULL, 0) == 0) {
				size_t sz = idn_template_size(&ot);
				uint8_t *buf = idn_arena_alloc(a, sz ? sz : 1);
				idn_wr_t w;
				idn_wr_init(&w, buf, sz);
				ok = buf != NULL &&
				     idn_template_encode(&ot, &w) == 0 &&
				     idn_bytes_eq(idn_bytes(buf, w.len),
						  v->data);
			}
			if (!ok)
				rc = fail(msg, cap,
					  "template %s version %u is %s: only "
					  "drafts can be changed (a published "
					  "one only withdrawn)",
					  nt.name, nt.version,
					  idn_tpl_state_name(ot.state));
		}
		if (rc == 0 && nt.has_based_on) {
			const char *bn = nt.based_on_name;
			uint32_t bv = nt.based_on_version;
			bool same = idn_ascii_caseeq((const uint8_t *)bn,
						     strlen(bn), name, nlen);
			idn_template_t bt = {0};
			int be = IDN_ENOTFOUND;
			if (same) {
				const idn_value_t *b =
					at_index(nv, nn, bv, TPL_TYPE);
				if (b != NULL)
					be = idn_template_decode(
						b->data.p, b->data.len, NULL,
						&bt, e, sizeof(e));
			} else if (cross) {
				be = tpl_load(t, id, (const uint8_t *)bn,
					      strlen(bn), bv, flags, a, &bt, e,
					      sizeof(e));
			} else {
				be = 0;
				bt.state = IDN_TPL_PUBLISHED;
			}
			if (be == IDN_ENOTFOUND)
				rc = fail(msg, cap,
					  "template %s version %u: based_on "
					  "%s@%u does not exist",
					  nt.name, nt.version, bn, bv);
			else if (be == 0 && bt.state == IDN_TPL_DRAFT)
				rc = fail(msg, cap,
					  "template %s version %u: based_on "
					  "%s@%u is a draft",
					  nt.name, nt.version, bn, bv);
			else if (be != 0)
				rc = be;
			idn_template_free(&bt);
		}
		idn_template_free(&nt);
		idn_template_free(&ot);
		if (rc)
			return rc;
	}
	return 0;
}

uint32_t tpl_ref_parse(idn_bytes_t data, size_t *nlen)
{
	const uint8_t *d = data.p;
	size_t dl = data.len, at = dl;
	for (size_t i = 0; i < dl; i++)
		if (d[i] == '@')
			at = i;
	uint32_t version = 0;
	bool pinned = at > 0 && at + 1 < dl && dl - at - 1 <= 4;
	for (size_t i = at + 1; pinned && i < dl; i++) {
		pinned = d[i] >= '0' && d[i] <= '9';
		version = version * 10 + (uint32_t)(d[i] - '0');
	}
	if (!pinned || version < 1 || version > TPL_VERSION_MAX) {
		*nlen = dl;
		return 0;
	}
	*nlen = at;
	return version;
}

/* Validates a record bound to a template by its reference (TEMPLATE). */
static int check_bound(idn_wtxn_t *t, const idn_ident_t *id, unsigned flags,
		       const idn_value_t *nv, uint32_t nn,
		       const idn_value_t *ov, uint32_t on, idn_arena_t *a,
		       char *msg, size_t cap)
{
	const idn_value_t *ref = NULL;
	for (uint32_t i = 0; i < nn; i++) {
		if (!idn_type_matches(nv[i].type, idn_bytes_str(TPL_REF_TYPE)))
			continue;
		if (nv[i].index != TPL_REF_INDEX)
			return fail(msg, cap,
				    "value %u (" TPL_REF_TYPE "): belongs at "
				    "index %d",
				    nv[i].index, TPL_REF_INDEX);
		ref = &nv[i];
	}
	if (ref == NULL)
		return 0;
	const uint8_t *d = ref->data.p;
	size_t nlen;
	uint32_t version = tpl_ref_parse(ref->data, &nlen);
	if (nlen == 0 || nlen > IDN_TPL_NAME_MAX)
		return fail(msg, cap,
			    "value %d (" TPL_REF_TYPE "): expected NAME or "
			    "NAME@VERSION (version 1..%d)",
			    TPL_REF_INDEX, TPL_VERSION_MAX);
	idn_template_t tpl = {0};
	char e[256];
	int err =
		tpl_load(t, id, d, nlen, version, flags, a, &tpl, e, sizeof(e));
	if (err == IDN_ENOTFOUND || err == IDN_EIDENT || err == IDN_EUTF8 ||
	    err == IDN_ETOOLONG)
		return version ? fail(msg, cap,
				      "template %.*s@%u does not exist under "
				      "prefix %.*s",
				      (int)nlen, d, version,
				      (int)id->prefix_len, id->text.p)
			       : fail(msg, cap,
				      "template %.*s does not exist under "
				      "prefix %.*s (or has no published "
				      "version)",
				      (int)nlen, d, (int)id->prefix_len,
				      id->text.p);
	if (err) {
		idn_template_free(&tpl);
		if (err == IDN_ECORRUPT || err == -ENOMEM ||
		    err == IDN_ESTORE || err == IDN_ENOSPACE)
			return err;
		return fail(msg, cap, "template %.*s@%u is unusable: %s",
			    (int)nlen, d, version, e);
	}
	const idn_value_t *oref =
		ov ? at_index(ov, on, TPL_REF_INDEX, TPL_REF_TYPE) : NULL;
	/* A withdrawn template takes no new records; those bound to it
	 * before still validate against its items (the decoded copy is ours
	 * alone, so its state may be set directly). */
	if (tpl.state == IDN_TPL_WITHDRAWN && oref != NULL &&
	    idn_bytes_eq(oref->data, ref->data))
		tpl.state = IDN_TPL_PUBLISHED;
	idn_tpl_violation_t viol[VIOL_MAX];
	uint32_t nviol = 0;
	err = idn_template_validate(&tpl, NULL, nv, nn, viol, VIOL_MAX, &nviol);
	version = tpl.version;
	idn_template_free(&tpl);
	if (err == 0)
		return 0;
	if (err != IDN_EVALUE)
		return err;
	size_t len = (size_t)snprintf(msg, cap, "template %.*s@%u:", (int)nlen,
				      d, version);
	for (uint32_t i = 0; i < nviol && i < VIOL_MAX && len < cap; i++)
		len += (size_t)snprintf(msg + len, cap - len, "%s %s",
					i ? ";" : "", viol[i].msg);
	if (nviol > VIOL_MAX && len < cap)
		snprintf(msg + len, cap - len, "; and %u more",
			 nviol - VIOL_MAX);
	return IDN_EVALUE;
}

int tpl_enforce(idn_wtxn_t *t, const idn_ident_t *id, unsigned flags,
		const idn_record_t *old, bool cross, idn_arena_t *a, char *msg,
		size_t cap)
{
	idn_record_t rec;
	int err = idn_wtxn_get(t, id->key, id->key_len, &rec);
	if (err == IDN_ENOTFOUND)
		return 0;
	if (err)
		return err;
	/* a further read (the template's record) may end what a read of t
	 * returned (PostgreSQL keeps one result): keep a copy */
	uint8_t *copy = idn_arena_alloc(a, rec.values.len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, rec.values.p, rec.values.len);
	rec.values = idn_bytes(copy, rec.values.len);
	idn_value_t *nv, *ov = NULL;
	uint32_t on = old ? old->nvalues : 0;
	err = decode_all(rec.values, rec.nvalues, a, &nv);
	if (err == 0 && old != NULL)
		err = decode_all(old->values, on, a, &ov);
	if (err)
		return err;
	const uint8_t *sfx = id->text.p + id->prefix_len + 1;
	size_t sl = id->text.len - id->prefix_len - 1, tl = strlen(TPL_SUFFIX);
	if (id->text.len > id->prefix_len && sl > tl &&
	    idn_ascii_caseeq(sfx, tl, (const uint8_t *)TPL_SUFFIX, tl))
		return check_tpl_record(t, id, sfx + tl, sl - tl, flags, nv,
					rec.nvalues, ov, on, cross, a, msg,
					cap);
	for (uint32_t i = 0; i < rec.nvalues; i++)
		if (idn_type_matches(nv[i].type, idn_bytes_str(TPL_TYPE)))
			return fail(msg, cap,
				    "value %u (" TPL_TYPE "): templates are "
				    "stored in PREFIX/" TPL_SUFFIX "NAME",
				    nv[i].index);
	return check_bound(t, id, flags, nv, rec.nvalues, ov, on, a, msg, cap);
}

bool tpl_concerns(const idn_ident_t *id, const idn_value_t *v, uint32_t n)
{
	const uint8_t *sfx = id->text.p + id->prefix_len + 1;
	size_t tl = strlen(TPL_SUFFIX);
	if (id->text.len > id->prefix_len + tl &&
	    idn_ascii_caseeq(sfx, tl, (const uint8_t *)TPL_SUFFIX, tl))
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (idn_type_matches(v[i].type, idn_bytes_str(TPL_TYPE)) ||
		    idn_type_matches(v[i].type, idn_bytes_str(TPL_REF_TYPE)))
			return true;
	return false;
}

/* ---- removing templates that records use ---- */

typedef struct {
	idn_wtxn_t *t;
	unsigned flags;
	idn_arena_t *a;
	const uint8_t *name; /* the template's name */
	size_t nlen;
	const uint32_t *versions; /* being removed */
	uint32_t nversions;
	uint64_t users;		       /* records bound to one of them */
	char first[IDN_IDENT_MAX + 1]; /* the first such record */
	uint32_t first_version;
	int err;
} unused_t;

/* The version of a reference "NAME@VERSION" if it names template name,
 * UINT32_MAX for a reference to name without a version (it uses whichever
 * is newest: every version counts as used), else 0. */
static uint32_t ref_version(const idn_value_t *ref, const uint8_t *name,
			    size_t nlen)
{
	size_t rl;
	uint32_t v = tpl_ref_parse(ref->data, &rl);
	if (rl != nlen || !idn_ascii_caseeq(ref->data.p, nlen, name, nlen))
		return 0;
	return v ? v : UINT32_MAX;
}

static int unused_cb(void *ctx, idn_bytes_t text)
{
	unused_t *u = ctx;
	static _Thread_local idn_ident_t id;
	if (idn_ident_parse(text.p, text.len, u->flags, &id) != 0)
		return 0;
	idn_record_t rec;
	int err = idn_wtxn_get(u->t, id.key, id.key_len, &rec);
	if (err == IDN_ENOTFOUND)
		return 0;
	if (err) {
		u->err = err;
		return 1;
	}
	idn_rd_t rd;
	idn_rd_init(&rd, rec.values.p, rec.values.len);
	for (uint32_t i = 0; i < rec.nvalues && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, u->a, &v);
		if (rd.err || v.index != TPL_REF_INDEX ||
		    !idn_type_matches(v.type, idn_bytes_str(TPL_REF_TYPE)))
			continue;
		uint32_t ver = ref_version(&v, u->name, u->nlen);
		for (uint32_t k = 0; ver && k < u->nversions; k++) {
			if (ver != UINT32_MAX && u->versions[k] != ver)
				continue;
			if (u->users++ == 0) {
				size_t n = text.len < IDN_IDENT_MAX
						   ? text.len
						   : IDN_IDENT_MAX;
				memcpy(u->first, text.p, n);
				u->first[n] = 0;
				u->first_version = u->versions[k];
			}
			break;
		}
	}
	return 0;
}

int tpl_check_unused(idn_store_t *s, idn_wtxn_t *t, const idn_ident_t *id,
		     unsigned flags, const idn_record_t *old,
		     const uint32_t *idx, uint32_t nidx, idn_arena_t *a,
		     char *msg, size_t cap)
{
	const uint8_t *sfx = id->text.p + id->prefix_len + 1;
	size_t tl = strlen(TPL_SUFFIX);
	if (old == NULL || id->text.len <= id->prefix_len + 1 + tl ||
	    !idn_ascii_caseeq(sfx, tl, (const uint8_t *)TPL_SUFFIX, tl))
		return 0;
	idn_value_t *ov;
	int err = decode_all(old->values, old->nvalues, a, &ov);
	if (err)
		return err;
	uint32_t *vers = idn_arena_array(a, old->nvalues + 1, sizeof(*vers));
	if (vers == NULL)
		return -ENOMEM;
	uint32_t nv = 0;
	for (uint32_t i = 0; i < old->nvalues; i++) {
		if (!idn_type_matches(ov[i].type, idn_bytes_str(TPL_TYPE)))
			continue;
		bool gone = idx == NULL;
		for (uint32_t k = 0; !gone && k < nidx; k++)
			gone = idx[k] == ov[i].index;
		if (gone)
			vers[nv++] = ov[i].index;
	}
	if (nv == 0)
		return 0;
	unused_t u = {.t = t,
		      .flags = flags,
		      .a = a,
		      .name = sfx + tl,
		      .nlen = id->text.len - id->prefix_len - 1 - tl,
		      .versions = vers,
		      .nversions = nv};
	/* a snapshot taken while t holds the single writer sees every
	 * record committed so far (LMDB); each one is read through t */
	idn_rtxn_t *rt;
	err = idn_rtxn_begin(s, &rt);
	if (err)
		return err;
	err = idn_store_list(rt, id->text.p, id->prefix_len, idn_bytes(NULL, 0),
			     unused_cb, &u);
	idn_rtxn_free(rt);
	if (u.err)
		return u.err;
	if (err < 0)
		return err;
	if (u.users == 0)
		return 0;
	return fail(
		msg, cap,
		"template %.*s version %u is still used by %llu record%s "
		"(%s%s): delete them or bind them to another template first",
		(int)u.nlen, u.name, u.first_version,
		(unsigned long long)u.users, u.users == 1 ? "" : "s", u.first,
		u.users > 1 ? ", ..." : "");
}
