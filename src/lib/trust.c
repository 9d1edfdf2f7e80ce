/* HS_CERT chains and HS_SIGNATURE per-value signatures (see trust.h and
 * docs/trust.md). */
#include "trust.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "error.h"
#include "jwt.h"
#include "wire.h"

/* ---- references ---- */

int idn_trust_ref_parse(const char *s, uint32_t *index, const char **id)
{
	if (s == NULL)
		return IDN_EINVAL;
	const char *colon = strchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == 0 || colon - s > 10)
		return IDN_EINVAL;
	uint64_t v = 0;
	for (const char *p = s; p < colon; p++) {
		if (*p < '0' || *p > '9')
			return IDN_EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > UINT32_MAX)
		return IDN_EINVAL;
	*index = (uint32_t)v;
	*id = colon + 1;
	return 0;
}

bool idn_trust_ref_eq(const char *a, const char *b)
{
	uint32_t ia, ib;
	const char *ida, *idb;
	return idn_trust_ref_parse(a, &ia, &ida) == 0 &&
	       idn_trust_ref_parse(b, &ib, &idb) == 0 && ia == ib &&
	       strcasecmp(ida, idb) == 0;
}

/* ---- permissions (scope) ---- */

enum { P_EVERYTHING = 1, P_THIS, P_DERIVED, P_UNDER };

static int perm_kind(const char *s)
{
	if (s == NULL)
		return 0;
	if (!strcmp(s, "everything"))
		return P_EVERYTHING;
	if (!strcmp(s, "thisHandle"))
		return P_THIS;
	if (!strcmp(s, "derivedPrefixes"))
		return P_DERIVED;
	if (!strcmp(s, "handlesUnderThisPrefix"))
		return P_UNDER;
	return 0;
}

/* The prefix a permission's handle names: "0.NA/88.118" and "88.118"
 * both name 88.118. */
static const char *perm_prefix(const char *h)
{
	return strncasecmp(h, "0.NA/", 5) == 0 ? h + 5 : h;
}

/* p (len pl) equals q or lies under it ("88.118.8" under "88.118"). */
static bool prefix_under(const char *p, size_t pl, const char *q)
{
	size_t ql = strlen(q);
	return ql > 0 && pl >= ql && strncasecmp(p, q, ql) == 0 &&
	       (pl == ql || p[ql] == '.');
}

static bool entry_valid(const json_t *e)
{
	int k = perm_kind(json_string_value(json_object_get(e, "perm")));
	const char *h = json_string_value(json_object_get(e, "handle"));
	return k == P_EVERYTHING || (k != 0 && h != NULL && h[0] != 0);
}

bool idn_trust_perms_valid(const json_t *perms)
{
	if (!json_is_array(perms))
		return false;
	for (size_t i = 0; i < json_array_size(perms); i++)
		if (!entry_valid(json_array_get(perms, i)))
			return false;
	return true;
}

int idn_trust_perms_parse(const char *spec, json_t **out)
{
	json_t *arr = json_array();
	if (arr == NULL)
		return -ENOMEM;
	const char *p = spec;
	while (p != NULL && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char item[2200];
		if (n == 0 || n >= sizeof(item))
			goto bad;
		memcpy(item, p, n);
		item[n] = 0;
		char *colon = strchr(item, ':');
		if (colon)
			*colon = 0;
		int k = perm_kind(item);
		if (k == 0 ||
		    (k != P_EVERYTHING && (colon == NULL || colon[1] == 0)))
			goto bad;
		json_t *e = json_pack("{s:s,s:s}", "handle",
				      colon ? colon + 1 : "", "perm", item);
		if (e == NULL || json_array_append_new(arr, e) != 0)
			goto bad;
		p = end ? end + 1 : NULL;
		if (end && *p == 0)
			goto bad;
	}
	if (json_array_size(arr) == 0)
		goto bad;
	*out = arr;
	return 0;
bad:
	json_decref(arr);
	return IDN_EINVAL;
}

/* Whether one permission entry allows signing for identifier id. */
static bool entry_covers_id(const json_t *e, const char *id)
{
	int k = perm_kind(json_string_value(json_object_get(e, "perm")));
	const char *h = json_string_value(json_object_get(e, "handle"));
	if (k == P_EVERYTHING)
		return true;
	if (h == NULL)
		return false;
	if (k == P_THIS)
		return strcasecmp(h, id) == 0;
	const char *pre = perm_prefix(h);
	bool prefix_handle = strncasecmp(id, "0.NA/", 5) == 0;
	const char *slash = strchr(id, '/');
	if (k == P_UNDER)
		return !prefix_handle && slash != NULL &&
		       (size_t)(slash - id) == strlen(pre) &&
		       strncasecmp(id, pre, strlen(pre)) == 0;
	if (k == P_DERIVED) {
		if (prefix_handle)
			return prefix_under(id + 5, strlen(id + 5), pre);
		return slash != NULL &&
		       prefix_under(id, (size_t)(slash - id), pre);
	}
	return false;
}

bool idn_trust_perms_cover_id(const json_t *perms, const char *id)
{
	if (perms == NULL)
		return true;
	for (size_t i = 0; i < json_array_size(perms); i++)
		if (entry_covers_id(json_array_get(perms, i), id))
			return true;
	return false;
}

static bool entry_covers_entry(const json_t *o, const json_t *in)
{
	int ok = perm_kind(json_string_value(json_object_get(o, "perm")));
	int ik = perm_kind(json_string_value(json_object_get(in, "perm")));
	const char *oh = json_string_value(json_object_get(o, "handle"));
	const char *ih = json_string_value(json_object_get(in, "handle"));
	if (ok == P_EVERYTHING)
		return true;
	if (ik == P_EVERYTHING || oh == NULL || ih == NULL)
		return false;
	if (ik == P_THIS)
		return entry_covers_id(o, ih);
	const char *ip = perm_prefix(ih), *op = perm_prefix(oh);
	if (ik == P_UNDER)
		return (ok == P_DERIVED && prefix_under(ip, strlen(ip), op)) ||
		       (ok == P_UNDER && strcasecmp(ip, op) == 0);
	if (ik == P_DERIVED)
		return ok == P_DERIVED && prefix_under(ip, strlen(ip), op);
	return false;
}

bool idn_trust_perms_cover(const json_t *outer, const json_t *inner)
{
	if (outer == NULL)
		return true;
	if (!json_is_array(inner))
		return false;
	for (size_t i = 0; i < json_array_size(inner); i++) {
		bool found = false;
		for (size_t j = 0; j < json_array_size(outer) && !found; j++)
			found = entry_covers_entry(json_array_get(outer, j),
						   json_array_get(inner, i));
		if (!found)
			return false;
	}
	return true;
}

/* ---- issuing ---- */

/* perms as the national form writes them: the prefix of
 * handlesUnderThisPrefix and derivedPrefixes as its prefix handle
 * ("0.NA/88.118"), the only way the national SDK reads it (idnode reads
 * both). A new array, or NULL when out of memory. */
static json_t *perms_national(const json_t *perms)
{
	json_t *out = json_deep_copy(perms);
	for (size_t i = 0; out && i < json_array_size(out); i++) {
		json_t *e = json_array_get(out, i);
		int k = perm_kind(
			json_string_value(json_object_get(e, "perm")));
		const char *h = json_string_value(json_object_get(e, "handle"));
		if ((k != P_UNDER && k != P_DERIVED) || h == NULL ||
		    strncasecmp(h, "0.NA/", 5) == 0)
			continue;
		size_t n = strlen(h) + 6;
		char *z = malloc(n);
		if (z == NULL ||
		    (snprintf(z, n, "0.NA/%s", h),
		     json_object_set_new(e, "handle", json_string(z)) != 0)) {
			free(z);
			json_decref(out);
			return NULL;
		}
		free(z);
	}
	return out;
}

int idn_trust_issue_cert(const idn_cert_req_t *req, EVP_PKEY *issuer_key,
			 char **out)
{
	uint32_t idx;
	const char *id;
	if (idn_trust_ref_parse(req->issuer, &idx, &id) != 0 ||
	    idn_trust_ref_parse(req->subject, &idx, &id) != 0 ||
	    !idn_trust_perms_valid(req->perms) || req->exp < req->nbf)
		return IDN_EINVAL;
	json_t *jwk;
	int err = idn_jwk_from_key_form(req->subject_key, req->form, &jwk);
	if (err)
		return err;
	json_t *perms = req->form == IDN_JWT_FORM_NATIONAL
				? perms_national(req->perms)
				: json_incref((json_t *)req->perms);
	if (perms == NULL) {
		json_decref(jwk);
		return -ENOMEM;
	}
	json_t *claims = json_pack(
		"{s:s,s:s,s:I,s:I,s:I,s:o,s:o}", "iss", req->issuer, "sub",
		req->subject, "iat", (json_int_t)req->iat, "nbf",
		(json_int_t)req->nbf, "exp", (json_int_t)req->exp, "publicKey",
		jwk, "perms", perms);
	if (claims == NULL)
		return -ENOMEM;
	err = idn_jwt_sign_form(claims, issuer_key, req->form, out);
	json_decref(claims);
	return err;
}

/* The digest of v's wire encoding from byte skip on. */
static int encoding_digest(const idn_value_t *v, size_t skip,
			   const char *digest_name, uint8_t out[32])
{
	size_t n = idn_value_size(v);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return -ENOMEM;
	idn_wr_t w;
	idn_wr_init(&w, buf, n);
	idn_value_encode(&w, v);
	int err = w.err		 ? w.err
		  : w.len < skip ? IDN_EINVAL
				 : idn_jwt_digest(digest_name, buf + skip,
						  w.len - skip, out);
	free(buf);
	return err;
}

int idn_trust_value_digest(const idn_value_t *v, const char *digest_name,
			   uint8_t out[32])
{
	/* u32 index and u32 timestamp lead the encoding */
	return encoding_digest(v, 8, digest_name, out);
}

int idn_trust_value_digest_v0(const idn_value_t *v, const char *digest_name,
			      uint8_t out[32])
{
	idn_value_t c = *v;
	c.timestamp = 0;
	return encoding_digest(&c, 0, digest_name, out);
}

static bool is_type(idn_bytes_t t, const char *name)
{
	return t.len == strlen(name) &&
	       strncasecmp((const char *)t.p, name, t.len) == 0;
}

int idn_trust_sign_record(const char *signer, const char *id,
			  const idn_value_t *values, uint32_t n,
			  uint32_t skip_index, long long iat, long long nbf,
			  long long exp, EVP_PKEY *key, int form, char **out)
{
	uint32_t idx;
	const char *sid;
	if (idn_trust_ref_parse(signer, &idx, &sid) != 0 || id == NULL ||
	    id[0] == 0 || exp < nbf)
		return IDN_EINVAL;
	int alg = idn_jwt_form_alg(key, form);
	if (alg < 0)
		return alg;
	const char *dname = idn_jwt_digest_name(alg);
	json_t *list = json_array();
	json_t *claims = json_pack(
		"{s:s,s:s,s:I,s:I,s:I,s:{s:s,s:o}}", "iss", signer, "sub", id,
		"iat", (json_int_t)iat, "nbf", (json_int_t)nbf, "exp",
		(json_int_t)exp, "digests", "alg", dname, "digests", list);
	if (claims == NULL)
		return -ENOMEM;
	int err = 0;
	for (uint32_t i = 0; i < n && err == 0; i++) {
		if (values[i].index == skip_index ||
		    is_type(values[i].type, "HS_SIGNATURE"))
			continue;
		uint8_t d[32];
		err = idn_trust_value_digest(&values[i], dname, d);
		char *b = err ? NULL : idn_base64(d, 32);
		json_t *e =
			b ? json_pack("{s:I,s:s}", "index",
				      (json_int_t)values[i].index, "digest", b)
			  : NULL;
		free(b);
		if (err == 0 &&
		    (e == NULL || json_array_append_new(list, e) != 0))
			err = -ENOMEM;
	}
	if (err == 0)
		err = idn_jwt_sign_form(claims, key, form, out);
	json_decref(claims);
	return err;
}

/* ---- verification ---- */

/* Records resolved for one signature at most: a chain is short, and
 * records full of look-alike certificates must not make it expensive. */
#define FETCH_MAX 32

typedef struct {
	const idn_trust_t *t;
	idn_arena_t *a;
	idn_trust_sig_t *rep;
	int fetches;
} vctx_t;

static void fmt_time(long long t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", t);
}

/* Records the first reason the signature failed (later ones are
 * consequences); long identifiers are cut. */
static void fail(vctx_t *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(vctx_t *v, const char *fmt, ...)
{
	if (v->rep->why[0] != 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->rep->why, sizeof(v->rep->why), fmt, ap);
	va_end(ap);
}

/* The key and permissions of the value ref ("INDEX:ID"): from an HS_CERT
 * in record ID whose subject is ref, issued by the trust root or by a key
 * that is itself certified the same way. *perms is borrowed from a token
 * kept alive in *holder (json_decref it). Returns 0 or IDN_EAUTH (reason
 * in the report). */
static int chain_key(vctx_t *v, const char *ref, int depth, EVP_PKEY **key,
		     json_t **perms, json_t **holder)
{
	uint32_t index;
	const char *id;
	if (idn_trust_ref_parse(ref, &index, &id) != 0) {
		fail(v, "bad key reference '%s'%s", ref, "");
		return IDN_EAUTH;
	}
	if (depth >= IDN_TRUST_DEPTH) {
		fail(v, "chain longer than the limit at %s%s", ref, "");
		return IDN_EAUTH;
	}
	idn_value_t *vals;
	uint32_t n;
	if (++v->fetches > FETCH_MAX) {
		fail(v, "more than %d certificate lookups", FETCH_MAX);
		return IDN_EAUTH;
	}
	if (v->t->fetch(v->t->ctx, id, v->a, &vals, &n) != 0) {
		fail(v, "cannot resolve %s for the HS_CERT of %s", id, ref);
		return IDN_EAUTH;
	}
	bool any = false;
	for (uint32_t i = 0; i < n; i++) {
		if (!is_type(vals[i].type, "HS_CERT"))
			continue;
		idn_jwt_t tok;
		if (idn_jwt_decode((const char *)vals[i].data.p,
				   vals[i].data.len, &tok) != 0)
			continue;
		const char *sub =
			json_string_value(json_object_get(tok.claims, "sub"));
		const char *iss =
			json_string_value(json_object_get(tok.claims, "iss"));
		json_t *cperms = json_object_get(tok.claims, "perms");
		if (sub == NULL || !idn_trust_ref_eq(sub, ref)) {
			idn_jwt_free(&tok);
			continue;
		}
		any = true;
		char where[300], why[120];
		snprintf(where, sizeof(where), "HS_CERT %u:%s", vals[i].index,
			 id);
		EVP_PKEY *subj = NULL, *ikey = NULL;
		json_t *iperms = NULL, *ihold = NULL;
		bool root = false;
		int ok = 0;
		if (iss == NULL || !idn_trust_perms_valid(cperms)) {
			fail(v, "%s: no issuer or bad perms%s", where, "");
		} else if (idn_jwk_to_key(
				   json_object_get(tok.claims, "publicKey"),
				   &subj) != 0) {
			fail(v, "%s: bad publicKey%s", where, "");
		} else if (idn_jwt_check_time(&tok, v->t->now, v->t->leeway,
					      why, sizeof(why)) != 0) {
			fail(v, "%s: %s", where, why);
		} else if (idn_jwt_verify(&tok, v->t->root) == 0) {
			root = true;
			ok = 1;
		} else if (idn_trust_ref_eq(iss, ref)) {
			fail(v, "%s: self-issued and not by the trust root%s",
			     where, "");
		} else if (chain_key(v, iss, depth + 1, &ikey, &iperms,
				     &ihold) != 0) {
			/* reason recorded deeper */
		} else if (idn_jwt_verify(&tok, ikey) != 0) {
			fail(v,
			     "%s: signature does not verify with the key of "
			     "its issuer %s",
			     where, iss);
		} else if (!idn_trust_perms_cover(iperms, cperms)) {
			fail(v, "%s: perms exceed those of its issuer %s",
			     where, iss);
		} else {
			ok = 1;
		}
		if (ok && v->rep->nlinks < IDN_TRUST_DEPTH) {
			char until[40], *ps = json_dumps(cperms, JSON_COMPACT);
			long long exp = json_integer_value(
				json_object_get(tok.claims, "exp"));
			fmt_time(exp, until, sizeof(until));
			snprintf(v->rep->links[v->rep->nlinks++],
				 sizeof(v->rep->links[0]),
				 "%s (%s) issued by %s%s, key %s, until %s, "
				 "perms %s",
				 where, idn_jwt_alg_name(tok.alg), iss,
				 root ? " [trust root]" : "", ref, until,
				 ps ? ps : "?");
			free(ps);
		}
		EVP_PKEY_free(ikey);
		json_decref(ihold);
		if (ok) {
			*key = subj;
			*holder = json_incref(tok.claims);
			*perms = cperms;
			idn_jwt_free(&tok);
			return 0;
		}
		EVP_PKEY_free(subj);
		idn_jwt_free(&tok);
	}
	if (!any)
		fail(v, "no HS_CERT for %s in %s", ref, id);
	return IDN_EAUTH;
}

/* Whether ref ("INDEX:ID") names a key of identifier id. */
static bool ref_in(const char *ref, const char *id)
{
	uint32_t index;
	const char *rid;
	return idn_trust_ref_parse(ref, &index, &rid) == 0 &&
	       strcasecmp(rid, id) == 0;
}

/* Checks one HS_CERT token as a self-issued root of record id. */
static int root_cert(const idn_trust_t *t, const char *id,
		     const idn_value_t *cv, EVP_PKEY **key, char *why,
		     size_t cap)
{
	idn_jwt_t tok;
	char reason[120];
	if (idn_jwt_decode((const char *)cv->data.p, cv->data.len, &tok) != 0) {
		snprintf(why, cap, "HS_CERT %u:%s is not a JWS token",
			 cv->index, id);
		return IDN_EAUTH;
	}
	const char *sub = json_string_value(json_object_get(tok.claims, "sub"));
	const char *iss = json_string_value(json_object_get(tok.claims, "iss"));
	EVP_PKEY *k = NULL;
	int err = IDN_EAUTH;
	if (sub == NULL || iss == NULL || !idn_trust_ref_eq(sub, iss))
		snprintf(why, cap, "HS_CERT %u:%s is not self-issued",
			 cv->index, id);
	else if (!ref_in(sub, id))
		snprintf(why, cap,
			 "HS_CERT %u:%s certifies %.100s, not a key of %s",
			 cv->index, id, sub, id);
	else if (idn_jwk_to_key(json_object_get(tok.claims, "publicKey"), &k) !=
		 0)
		snprintf(why, cap, "HS_CERT %u:%s: bad publicKey", cv->index,
			 id);
	else if (idn_jwt_verify(&tok, k) != 0)
		snprintf(why, cap,
			 "HS_CERT %u:%s does not verify with its own key",
			 cv->index, id);
	else if (idn_jwt_check_time(&tok, t->now, t->leeway, reason,
				    sizeof(reason)) != 0)
		snprintf(why, cap, "HS_CERT %u:%s: %s", cv->index, id, reason);
	else
		err = 0;
	idn_jwt_free(&tok);
	if (err) {
		EVP_PKEY_free(k);
		return err;
	}
	*key = k;
	return 0;
}

int idn_trust_root_at(const idn_trust_t *t, const char *id, uint32_t index,
		      idn_arena_t *a, EVP_PKEY **key, char *why, size_t cap)
{
	idn_value_t *vals;
	uint32_t n;
	int err = t->fetch(t->ctx, id, a, &vals, &n);
	if (err == -ENOMEM)
		return err;
	if (err) {
		snprintf(why, cap, "cannot resolve the trust root %s", id);
		return IDN_ENOTFOUND;
	}
	bool any = false;
	for (uint32_t i = 0; i < n; i++) {
		if (!is_type(vals[i].type, "HS_CERT") ||
		    (index != 0 && vals[i].index != index))
			continue;
		any = true;
		if (root_cert(t, id, &vals[i], key, why, cap) == 0)
			return 0;
		if (index != 0)
			return IDN_EAUTH;
	}
	if (!any) {
		snprintf(why, cap, "no HS_CERT at %u:%s", index, id);
		return IDN_ENOTFOUND;
	}
	return IDN_EAUTH;
}

const char *idn_trust_verdict_name(int verdict)
{
	switch (verdict) {
	case IDN_TV_VERIFIED:
		return "verified";
	case IDN_TV_WITHHELD:
		return "withheld";
	case IDN_TV_MISMATCH:
		return "MISMATCH";
	case IDN_TV_UNSIGNED:
		return "UNSIGNED";
	case IDN_TV_SIGNATURE:
		return "signature";
	}
	return "?";
}

/* Checks one HS_SIGNATURE token; on success *claims holds its claims. */
static bool check_signature(vctx_t *v, const char *id, const idn_value_t *sv,
			    json_t **claims)
{
	idn_jwt_t tok;
	char why[120];
	int err = idn_jwt_decode((const char *)sv->data.p, sv->data.len, &tok);
	if (err) {
		fail(v, "not a JWS token (%s)%s", idn_strerror(err), "");
		return false;
	}
	snprintf(v->rep->alg, sizeof(v->rep->alg), "%s",
		 idn_jwt_alg_name(tok.alg));
	const char *iss = json_string_value(json_object_get(tok.claims, "iss"));
	const char *sub = json_string_value(json_object_get(tok.claims, "sub"));
	json_t *dg = json_object_get(tok.claims, "digests");
	const char *dalg = json_string_value(json_object_get(dg, "alg"));
	snprintf(v->rep->signer, sizeof(v->rep->signer), "%s", iss ? iss : "");
	EVP_PKEY *key = NULL;
	json_t *perms = NULL, *hold = NULL;
	bool ok = false;
	if (iss == NULL || sub == NULL ||
	    !json_is_array(json_object_get(dg, "digests")))
		fail(v, "missing iss, sub or digests%s%s", "", "");
	else if (strcasecmp(sub, id) != 0)
		fail(v, "signs %s, not %s", sub, id);
	else if (dalg == NULL ||
		 strcmp(dalg, idn_jwt_digest_name(tok.alg)) != 0)
		fail(v, "digest algorithm %s does not match %s",
		     dalg ? dalg : "(none)", idn_jwt_alg_name(tok.alg));
	else if (idn_jwt_check_time(&tok, v->t->now, v->t->leeway, why,
				    sizeof(why)) != 0)
		fail(v, "signature %s%s", why, "");
	else if (chain_key(v, iss, 0, &key, &perms, &hold) != 0)
		; /* reason recorded */
	else if (idn_jwt_verify(&tok, key) != 0)
		fail(v,
		     "signature does not verify with the certified key of %s%s",
		     iss, "");
	else if (!idn_trust_perms_cover_id(perms, id))
		fail(v, "%s is outside the perms of the signer %s", id, iss);
	else
		ok = true;
	EVP_PKEY_free(key);
	json_decref(hold);
	if (ok)
		*claims = json_incref(tok.claims);
	idn_jwt_free(&tok);
	return ok;
}

/* Whether want is v's digest. The two ways a digest was listed cannot be
 * taken for each other: handle.net's standard base64 of 32 bytes is 44
 * characters ending in '=', idnode's former base64url 43 without. */
static int digest_matches(const idn_value_t *v, const char *dname,
			  const char *want, bool *same)
{
	*same = false;
	if (want == NULL)
		return 0;
	bool hs = strlen(want) == 44;
	uint8_t d[32];
	int err = hs ? idn_trust_value_digest(v, dname, d)
		     : idn_trust_value_digest_v0(v, dname, d);
	if (err == IDN_EUNSUPPORTED)
		return 0; /* an unknown digest algorithm matches nothing */
	if (err)
		return err;
	char *b = hs ? idn_base64(d, 32) : idn_b64url_encode(d, 32);
	if (b == NULL)
		return -ENOMEM;
	*same = strcmp(b, want) == 0;
	free(b);
	return 0;
}

static int cmp_tv(const void *a, const void *b)
{
	uint32_t x = ((const idn_trust_value_t *)a)->index;
	uint32_t y = ((const idn_trust_value_t *)b)->index;
	return x < y ? -1 : x > y;
}

static void set_type(idn_trust_value_t *tv, idn_bytes_t t)
{
	size_t n = t.len < sizeof(tv->type) - 1 ? t.len : sizeof(tv->type) - 1;
	memcpy(tv->type, t.p, n);
	tv->type[n] = 0;
}

int idn_trust_verify_record(const idn_trust_t *t, const char *id,
			    const idn_value_t *values, uint32_t n,
			    idn_arena_t *a, idn_trust_report_t *out)
{
	memset(out, 0, sizeof(*out));
	json_t *good[IDN_TRUST_SIGS_MAX] = {0};
	int ngood = 0;
	bool sig_failed = false;
	for (uint32_t i = 0; i < n; i++) {
		if (!is_type(values[i].type, "HS_SIGNATURE"))
			continue;
		if (out->nsigs == IDN_TRUST_SIGS_MAX) {
			sig_failed =
				true; /* more than we check: not all verify */
			break;
		}
		idn_trust_sig_t *s = &out->sigs[out->nsigs++];
		s->index = values[i].index;
		vctx_t v = {t, a, s, 0};
		json_t *claims = NULL;
		s->ok = check_signature(&v, id, &values[i], &claims);
		if (s->ok)
			good[ngood++] = claims;
		else
			sig_failed = true;
	}
	/* present values, then the signed indexes absent from the reply */
	uint32_t cap = n;
	for (int g = 0; g < ngood; g++)
		cap += (uint32_t)json_array_size(json_object_get(
			json_object_get(good[g], "digests"), "digests"));
	out->values = idn_arena_array(a, cap ? cap : 1, sizeof(*out->values));
	int err = out->values ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < n && err == 0; i++) {
		idn_trust_value_t *tv = &out->values[out->nvalues++];
		tv->index = values[i].index;
		set_type(tv, values[i].type);
		if (is_type(values[i].type, "HS_SIGNATURE")) {
			tv->verdict = IDN_TV_SIGNATURE;
			continue;
		}
		tv->verdict = IDN_TV_UNSIGNED;
		for (int g = 0; g < ngood && err == 0; g++) {
			json_t *dg = json_object_get(good[g], "digests");
			json_t *list = json_object_get(dg, "digests");
			const char *dname =
				json_string_value(json_object_get(dg, "alg"));
			for (size_t k = 0; k < json_array_size(list); k++) {
				json_t *e = json_array_get(list, k);
				if (json_integer_value(
					    json_object_get(e, "index")) !=
				    (json_int_t)values[i].index)
					continue;
				bool same = false;
				err = digest_matches(
					&values[i], dname,
					json_string_value(
						json_object_get(e, "digest")),
					&same);
				if (err)
					break;
				if (same)
					tv->verdict = IDN_TV_VERIFIED;
				else if (tv->verdict != IDN_TV_VERIFIED)
					tv->verdict = IDN_TV_MISMATCH;
			}
		}
	}
	for (int g = 0; g < ngood && err == 0; g++) {
		json_t *list = json_object_get(
			json_object_get(good[g], "digests"), "digests");
		for (size_t k = 0; k < json_array_size(list); k++) {
			json_t *ji = json_object_get(json_array_get(list, k),
						     "index");
			if (!json_is_integer(ji) ||
			    json_integer_value(ji) < 0 ||
			    json_integer_value(ji) > UINT32_MAX)
				continue;
			uint32_t idx = (uint32_t)json_integer_value(ji);
			bool seen = false;
			for (uint32_t j = 0; j < out->nvalues && !seen; j++)
				seen = out->values[j].index == idx;
			if (!seen && out->nvalues < cap)
				out->values[out->nvalues++] =
					(idn_trust_value_t){
						idx, IDN_TV_WITHHELD, ""};
		}
	}
	for (int g = 0; g < ngood; g++)
		json_decref(good[g]);
	if (err)
		return err;
	qsort(out->values, out->nvalues, sizeof(*out->values), cmp_tv);
	for (uint32_t i = 0; i < out->nvalues; i++) {
		switch (out->values[i].verdict) {
		case IDN_TV_VERIFIED:
			out->verified++;
			break;
		case IDN_TV_WITHHELD:
			out->withheld++;
			break;
		case IDN_TV_MISMATCH:
			out->mismatched++;
			break;
		case IDN_TV_UNSIGNED:
			out->unsigned_++;
			break;
		}
	}
	out->ok = out->nsigs > 0 && !sig_failed && out->mismatched == 0 &&
		  out->unsigned_ == 0;
	return 0;
}
