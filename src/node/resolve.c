/* Resolution: where an identifier lives (homed here, delegated, or
 * elsewhere), answering from the store with the values the caller may
 * see, prefix referrals, and the recursive role (the cache, or a
 * blocking handler resolving through other nodes). */
#include <string.h>

#include "authz.h"
#include "error.h"
#include "handler_int.h"
#include "log.h"
#include "tplcheck.h"
#include "value.h"

/* ---- where an identifier lives ---- */

/* Length of the parent of prefix p[0..len) ("88.118.8" -> 6), 0 at the
 * top. */
static size_t parent_len(const uint8_t *p, size_t len)
{
	while (len > 0 && p[len - 1] != '.')
		len--;
	return len > 0 ? len - 1 : 0;
}

/* Extent and filter fields of one stored value. */
typedef struct {
	const uint8_t *start;
	size_t len;
	uint32_t index;
	uint8_t perms;
	idn_bytes_t type;
	idn_bytes_t data;
} span_t;

static int next_span(idn_rd_t *rd, span_t *s)
{
	s->start = rd->p;
	s->index = idn_rd_u32(rd);
	idn_rd_raw(rd, 4 + 1 + 4); /* timestamp, ttl type, ttl */
	s->perms = idn_rd_u8(rd);
	s->type = idn_rd_str(rd, IDN_MSG_MAX);
	s->data = idn_rd_str(rd, IDN_MSG_MAX);
	uint32_t nrefs = idn_rd_count(rd, IDN_MSG_MAX, 8);
	for (uint32_t i = 0; i < nrefs && !rd->err; i++) {
		idn_rd_str(rd, IDN_IDENT_MAX);
		idn_rd_u32(rd);
	}
	s->len = (size_t)(rd->p - s->start);
	return rd->err;
}

/* A record delegates its prefix when it holds a site or service value. */
static bool is_delegation(const idn_record_t *rec)
{
	idn_rd_t rd;
	idn_rd_init(&rd, rec->values.p, rec->values.len);
	for (uint32_t i = 0; i < rec->nvalues; i++) {
		span_t sp;
		if (next_span(&rd, &sp) != 0)
			return false;
		if (idn_type_matches(sp.type, idn_bytes_str("HS_SITE.")) ||
		    idn_type_matches(sp.type, idn_bytes_str("HS_SERV")))
			return true;
	}
	return false;
}

enum { LOC_NONE = 0, LOC_AUTH = 1, LOC_REFER = 2 };

/* Walks the normalised prefix p up its parents, most specific first: a
 * homed level makes this node authoritative (LOC_AUTH), a delegation
 * record 0.NA/<level> held here refers onward (LOC_REFER, record in
 * *deleg). *at gets the level's length (0: the 0.NA root, when homed).
 * Returns LOC_*, or a negative error. */
static int locate_store(handler_t *h, const uint8_t *p, size_t plen, size_t *at,
			idn_record_t *deleg)
{
	uint8_t key[5 + IDN_IDENT_MAX];
	memcpy(key, "0.NA/", 5);
	for (size_t q = plen; q > 0; q = parent_len(p, q)) {
		int hit = idn_store_homed(h->rtxn, p, q);
		if (hit < 0)
			return hit;
		if (hit) {
			*at = q;
			return LOC_AUTH;
		}
		memcpy(key + 5, p, q);
		int err = idn_store_get(h->rtxn, key, 5 + q, deleg);
		if (err == 0 && is_delegation(deleg)) {
			*at = q;
			return LOC_REFER;
		}
		if (err != 0 && err != IDN_ENOTFOUND)
			return err;
	}
	*at = 0;
	int hit = idn_store_homed(h->rtxn, (const uint8_t *)"0.NA", 4);
	return hit < 0 ? hit : hit ? LOC_AUTH : LOC_NONE;
}

/* locate_store on the handler's snapshot, remembering the last answer
 * while the snapshot stays the same (handler_begin): on a recursive node that
 * saves the walk up the prefix's parents (up to two lookups per level) before
 * every cache hit, on an authoritative one the homed lookup. */
static int locate(handler_t *h, const uint8_t *p, size_t plen, size_t *at,
		  idn_record_t *deleg)
{
	if (plen > 0 && plen == h->loc.len && h->snapshot &&
	    memcmp(p, h->loc.prefix, plen) == 0) {
		*at = h->loc.at;
		if (h->loc.loc == LOC_REFER)
			*deleg = h->loc.deleg;
		return h->loc.loc;
	}
	int loc = locate_store(h, p, plen, at, deleg);
	if (loc >= 0 && h->snapshot && plen > 0 &&
	    plen <= sizeof(h->loc.prefix)) {
		memcpy(h->loc.prefix, p, plen);
		h->loc.len = plen;
		h->loc.loc = loc;
		h->loc.at = *at;
		if (loc == LOC_REFER)
			h->loc.deleg = *deleg;
	}
	return loc;
}

static bool is_prefix_handle(const idn_ident_t *id)
{
	return id->prefix_len == 4 && memcmp(id->key, "0.NA", 4) == 0;
}

/* The node may change P/S when it is authoritative for P, and the prefix
 * handle 0.NA/X when it is authoritative for X or a level above it. */
int responsible(handler_t *h, const idn_ident_t *id)
{
	idn_record_t rec;
	size_t at;
	if (!is_prefix_handle(id)) {
		return idn_store_homed(h->rtxn, id->key, id->prefix_len);
	}
	const uint8_t *p = id->key + 5;
	size_t plen = id->key_len - 5;
	int loc = locate(h, p, plen, &at, &rec);
	if (loc < 0)
		return loc;
	return loc == LOC_AUTH || (loc == LOC_REFER && at == plen);
}

int parse_id(handler_t *h, idn_bytes_t text)
{
	unsigned flags = h->conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0;
	int err = idn_ident_parse(text.p, text.len, flags, &h->id);
	/* the suffix of a prefix handle is a prefix: never case-sensitive */
	if (err == 0 && flags && is_prefix_handle(&h->id))
		err = idn_ident_parse(text.p, text.len, 0, &h->id);
	return err;
}

/* ---- resolution ---- */

static bool wanted(const span_t *s, const idn_resolve_req_t *q)
{
	if (q->nindexes == 0 && q->ntypes == 0)
		return true;
	for (uint32_t i = 0; i < q->nindexes; i++)
		if (q->indexes[i] == s->index)
			return true;
	for (uint32_t i = 0; i < q->ntypes; i++)
		if (idn_type_matches(s->type, q->types[i]))
			return true;
	return false;
}

/* Who sees which values of a resolution: everything (the operator),
 * what the public may read, or that and what admins may read (an
 * authenticated reader the record lists: authz_may_read). */
enum { VIS_ALL = 0, VIS_PUBLIC = 1, VIS_READER = 2 };

static bool visible(uint8_t perms, int vis)
{
	if (vis == VIS_ALL || (perms & IDN_PERM_PUBLIC_READ))
		return true;
	return vis == VIS_READER && (perms & IDN_PERM_ADMIN_READ);
}

/* Writes "identifier, count, values" of the values in blob that the
 * request wants and may see. This is the one walk of a resolved record's
 * values (the store hands them over unchecked): it checks their
 * structure and ascending indexes, and gives the data of the template
 * reference (TPL_REF_INDEX, TPL_REF_TYPE) in *ref (length 0: none) when
 * ref is not NULL. Returns the number written, or -1 when the blob is
 * corrupt. */
static int64_t put_values(reply_t *r, idn_bytes_t id, const uint8_t *blob,
			  size_t len, uint32_t nvalues,
			  const idn_resolve_req_t *q, int vis, idn_bytes_t *ref)
{
	idn_wr_str(&r->w, id);
	size_t count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	uint32_t n = 0;
	idn_rd_t rd;
	idn_rd_init(&rd, blob, len);
	if (ref != NULL)
		*ref = idn_bytes(NULL, 0);
	uint32_t prev = 0;
	for (uint32_t i = 0; i < nvalues; i++) {
		span_t s;
		if (next_span(&rd, &s) != 0 || (i > 0 && s.index <= prev))
			return -1;
		prev = s.index;
		if (ref != NULL && s.index == TPL_REF_INDEX &&
		    idn_type_matches(s.type, idn_bytes_str(TPL_REF_TYPE)))
			*ref = s.data;
		/* a secret key never goes to the public, whatever its
		 * permissions say */
		uint8_t perms = s.perms;
		if (idn_bytes_eq_str(s.type, "HS_SECKEY"))
			perms &= (uint8_t)~IDN_PERM_PUBLIC_READ;
		if (!visible(perms, vis))
			continue;
		if (q != NULL && !wanted(&s, q))
			continue;
		idn_wr_raw(&r->w, s.start, s.len);
		n++;
	}
	if (idn_rd_left(&rd) != 0)
		return -1;
	idn_wr_patch_u32(&r->w, count_pos, n);
	return n;
}

static int answer(reply_t *r, const idn_resolve_req_t *q, const uint8_t *blob,
		  size_t len, uint32_t nvalues, int vis)
{
	reply_start(r, IDN_RC_SUCCESS, 0);
	int64_t n = put_values(r, q->id, blob, len, nvalues, q, vis, NULL);
	if (n < 0) {
		log_error("record %.*s is corrupt", (int)r->h->id.text.len,
			  r->h->id.text.p);
		return reply_error(r, IDN_RC_ERROR, "stored record is corrupt");
	}
	if (n == 0)
		return reply_error(r, IDN_RC_VALUES_NOT_FOUND, "");
	return reply_send(r);
}

/* A prefix referral carries the delegation's site and service values. */
static int refer(reply_t *r, idn_bytes_t id, const uint8_t *blob, size_t len,
		 uint32_t nvalues)
{
	static const idn_bytes_t types[] = {{(const uint8_t *)"HS_SITE.", 8},
					    {(const uint8_t *)"HS_SERV", 7}};
	const idn_resolve_req_t deleg = {id, 0, NULL, 2, (idn_bytes_t *)types};
	STAT(r->h, referrals);
	reply_start(r, IDN_RC_PREFIX_REFERRAL, 0);
	if (put_values(r, id, blob, len, nvalues, &deleg, VIS_PUBLIC, NULL) < 0)
		return reply_error(r, IDN_RC_ERROR,
				   "stored delegation is corrupt");
	return reply_send(r);
}

/* The recursive role: answer from the cache, or resolve (blocking
 * handlers) or defer (the others). */
static int recurse(reply_t *r, const idn_resolve_req_t *q, int vis)
{
	handler_t *h = r->h;
	idn_cache_hit_t hit;
	if (idn_cache_get(h->node->cache, h->id.key, h->id.key_len,
			  idn_now_ms(), h->scratch, IDN_MSG_MAX, &hit) == 0 &&
	    hit.kind != IDN_CACHE_REFERRAL) {
		STAT(h, recursive);
		if (hit.kind == IDN_CACHE_NEGATIVE) {
			STAT(h, not_found);
			return reply_error(r, IDN_RC_NOT_FOUND, "");
		}
		return answer(r, q, h->scratch, hit.len, hit.nvalues, vis);
	}
	if (!h->blocking)
		return HANDLER_DEFER;
	STAT(h, recursive);
	idn_resolution_t res;
	int err = idn_resolve(h->resolver, &h->id, r->req->hdr.rcount, &res,
			      NULL, NULL);
	atomic_fetch_add_explicit(&h->stats.upstream, res.queries,
				  memory_order_relaxed);
	if (err)
		return reply_lib_error(r, err);
	if (res.rc == IDN_RC_SUCCESS)
		return answer(r, q, res.values.p, res.values.len, res.nvalues,
			      vis);
	if (res.rc == IDN_RC_NOT_FOUND) {
		STAT(h, not_found);
		return reply_error(r, IDN_RC_NOT_FOUND, "");
	}
	log_debug("recursive resolution of %.*s: rc %u %s", (int)h->id.text.len,
		  h->id.text.p, res.rc, res.detail);
	return reply_error(r, res.rc, res.detail);
}

/* Does the request want a value of blob that admins may read but the
 * public may not? */
static bool restricted(const idn_resolve_req_t *q, const uint8_t *blob,
		       size_t len, uint32_t nvalues)
{
	idn_rd_t rd;
	idn_rd_init(&rd, blob, len);
	for (uint32_t i = 0; i < nvalues; i++) {
		span_t s;
		if (next_span(&rd, &s) != 0)
			return false;
		if (!(s.perms & IDN_PERM_PUBLIC_READ) &&
		    (s.perms & IDN_PERM_ADMIN_READ) && wanted(&s, q))
			return true;
	}
	return false;
}

int do_resolve(reply_t *r)
{
	handler_t *h = r->h;
	idn_resolve_req_t q;
	/* the operator's reads (idctl export, -C resolve) are the node's
	 * own business, not resolutions by its users */
	bool counted = !principal_is_operator(&r->from.who);
	if (!h->redo && counted)
		STAT(h, resolutions);
	int err = idn_resolve_req_decode(r->req->rest, &h->arena, &q);
	if (err)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed resolution request");
	err = parse_id(h, q.id);
	if (err)
		return reply_lib_error(r, err);
	/* The operator sees everything unless it asks for public values
	 * only. Anyone else flagging public-only gets public values; another
	 * sees what admins may read when it is a reader the record lists:
	 * the admin of the session it is in, or (with
	 * --read-challenge) by answering the challenge that a request for
	 * restricted values gets; else public values. */
	const principal_t *who = &r->from.who;
	int vis = principal_is_operator(who) ? VIS_ALL : VIS_READER;
	if (r->req->hdr.flags & IDN_OF_PUBLIC_ONLY)
		vis = VIS_PUBLIC;
	const principal_t *reader = who->kind == PRINCIPAL_ADMIN ? who : NULL;
	const req_sess_t *ss = r->sess;
	principal_t in_session;
	if (vis == VIS_READER && reader == NULL && ss != NULL && ss->usable &&
	    ss->s.bound) {
		in_session = (principal_t){PRINCIPAL_ADMIN, ss->s.who.admin,
					   ss->s.who.index};
		reader = &in_session;
	}
	/* The national system's token names an admin and proves it; a
	 * token that does not verify is refused. The IDIS SDK flags every
	 * request public-only, so the token itself asks for its admin's
	 * view (docs/national.md). */
	principal_t by_token;
	if (q.token.len > 0 && !principal_is_operator(who)) {
		uint32_t rc;
		const char *why = login_token_reader(h, &r->from, q.token,
						     &by_token, &rc);
		if (why != NULL)
			return reply_error(r, rc, why);
		vis = VIS_READER;
		reader = &by_token;
	}
	/* a keyed session not yet bound to an admin binds by a challenge */
	bool prove = h->conf->read_challenge ||
		     (ss != NULL && ss->usable && !ss->s.bound);
	bool prefix_handle = is_prefix_handle(&h->id);
	const uint8_t *p = prefix_handle ? h->id.key + 5 : h->id.key;
	size_t plen = prefix_handle ? h->id.key_len - 5 : h->id.prefix_len;
	idn_record_t deleg;
	size_t at;
	int loc = locate(h, p, plen, &at, &deleg);
	if (loc < 0)
		return reply_lib_error(r, loc);
	bool here = prefix_handle ? loc == LOC_AUTH ||
					    (loc == LOC_REFER && at == plen)
				  : loc == LOC_AUTH && at == plen;
	if (here) {
		/* values unchecked: put_values below is their one walk */
		idn_record_t rec;
		err = idn_store_get_unchecked(h->rtxn, h->id.key, h->id.key_len,
					      &rec);
		if (err) {
			if (err == IDN_ENOTFOUND)
				STAT(h, not_found);
			return reply_lib_error(r, err);
		}
		if (vis == VIS_READER && reader == NULL && prove &&
		    restricted(&q, rec.values.p, rec.values.len, rec.nvalues)) {
			/* like the reference server: prove who you are */
			return do_challenge(r);
		}
		if (vis == VIS_READER &&
		    (reader == NULL ||
		     !authz_may_read(h->rtxn, &h->arena, rec.values,
				     rec.nvalues, reader->admin,
				     reader->index)))
			vis = VIS_PUBLIC;
		idn_bytes_t ref;
		reply_start(r, IDN_RC_SUCCESS, 0);
		int64_t n = put_values(r, q.id, rec.values.p, rec.values.len,
				       rec.nvalues, &q, vis, &ref);
		if (n < 0) {
			log_error("record %.*s is corrupt", (int)h->id.text.len,
				  h->id.text.p);
			return reply_lib_error(r, IDN_ECORRUPT);
		}
		if (counted)
			act_resolved(h->act, h->now,
				     h->conf->case_suffix
					     ? IDN_IDENT_CASE_SUFFIX
					     : 0,
				     &h->id, ref, h->rtxn);
		if (n == 0)
			return reply_error(r, IDN_RC_VALUES_NOT_FOUND, "");
		return reply_send(r);
	}
	if (loc == LOC_AUTH) {
		/* authoritative above the prefix, which nobody was given */
		STAT(h, not_found);
		return reply_error(r, IDN_RC_NOT_FOUND, "");
	}
	if (h->node->cache != NULL && (r->req->hdr.flags & IDN_OF_RECURSE))
		return recurse(r, &q, VIS_PUBLIC);
	/* like a HANDLE.NET server: a prefix this node neither homes nor
	 * refers to is not its business (rc 301); the client finds the
	 * prefix handle 0.NA/<prefix> itself (docs/architecture.md,
	 * Hierarchy) */
	if ((r->req->hdr.flags & IDN_OF_DONT_REFER) || h->conf->no_referrals)
		return reply_lib_error(r, IDN_ENOTHOMED);
	if (loc == LOC_REFER)
		return refer(r, deleg.id, deleg.values.p, deleg.values.len,
			     deleg.nvalues);
	if (h->node->parent_len > 0)
		return refer(r, idn_bytes_str("0.NA/"), h->node->parent_refer,
			     h->node->parent_len, 1);
	return reply_lib_error(r, IDN_ENOTHOMED);
}
