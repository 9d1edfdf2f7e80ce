/* The node's own operations: site info, listings of a prefix's
 * identifiers and of homed prefixes, search and the search index's
 * declared types, the counters and the recursive cache. */
#include <stdio.h>
#include <string.h>

#include "changes.h"
#include "error.h"
#include "handler_int.h"
#include "log.h"
#include "search.h"

/* Bodies of list replies are cut at about this size, the rest continues in
 * further messages flagged continuous. */
#define LIST_CHUNK 32768

/* ---- listing ---- */

/* List replies: identifiers collected into bodies of about LIST_CHUNK
 * bytes, each sent as its own message while the listing continues. */
typedef struct {
	reply_t *r;
	uint32_t n;
	size_t count_pos;
	int stop;
} lister_t;

static void list_open(lister_t *l)
{
	reply_start(l->r, IDN_RC_SUCCESS, 0);
	l->count_pos = l->r->w.len;
	idn_wr_u32(&l->r->w, 0);
	l->n = 0;
}

static int list_flush(lister_t *l, bool more)
{
	reply_t *r = l->r;
	idn_wr_patch_u32(&r->w, l->count_pos, l->n);
	if (more) { /* set continuous on this message's header */
		uint8_t *hdr = r->w.buf + r->mark.hdr;
		idn_hdr_set_flags(hdr, idn_hdr_flags(hdr) | IDN_OF_CONTINUOUS);
	}
	return reply_send(r);
}

static int list_cb(void *ctx, idn_bytes_t id)
{
	lister_t *l = ctx;
	if (l->r->w.len - l->count_pos + 4 + id.len > LIST_CHUNK && l->n > 0) {
		if (list_flush(l, true) != 0)
			return l->stop = 1;
		list_open(l);
	}
	idn_wr_str(&l->r->w, id);
	l->n++;
	return 0;
}

static int list(reply_t *r, bool homed)
{
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl = 0;
	idn_bytes_t id;
	if (!homed) {
		if (idn_id_body_decode(r->req->rest, &id) != 0)
			return reply_error(r, IDN_RC_PROTOCOL_ERROR,
					   "malformed list request");
		int err = idn_prefix_normalise(id.p, id.len, p, &pl);
		if (err)
			return reply_lib_error(r, err);
		/* like every other operation on a prefix's identifiers */
		err = idn_store_homed(r->h->rtxn, p, pl);
		if (err == 0) {
			char text[300];
			snprintf(text, sizeof(text),
				 "prefix %.*s is not homed on this node",
				 (int)(pl > 200 ? 200 : pl), p);
			return reply_error(r, IDN_RC_SERVER_NOT_RESP, text);
		}
		if (err < 0)
			return reply_lib_error(r, err);
	}
	lister_t l = {r, 0, 0, 0};
	list_open(&l);
	int err = homed ? idn_store_list_homed(r->h->rtxn, list_cb, &l)
			: idn_store_list(r->h->rtxn, p, pl, idn_bytes(NULL, 0),
					 list_cb, &l);
	if (l.stop)
		return 0;
	if (err)
		return reply_lib_error(r, err);
	return list_flush(&l, false);
}

int do_list(reply_t *r)
{
	return list(r, false);
}

int do_list_homed(reply_t *r)
{
	return list(r, true);
}

/* ---- search (search.h): op IDN_OC_SEARCH ---- */

typedef struct {
	reply_t *r;
	size_t count_pos;
	uint32_t n, page;
	uint8_t next[IDN_SEARCH_CURSOR_MAX];
	size_t next_len;
} searcher_t;

/* Room kept for the next-page cursor in hex after the results. */
#define SEARCH_REPLY_MAX (IDN_MSG_MAX - 2 * IDN_SEARCH_CURSOR_MAX - 1024)

static int search_cb(void *ctx, idn_bytes_t id, uint32_t ctime,
		     idn_bytes_t cursor)
{
	searcher_t *s = ctx;
	if (s->n == s->page || s->r->w.len + 8 + id.len > SEARCH_REPLY_MAX)
		return 1; /* a result past the page: there are more */
	idn_wr_str(&s->r->w, id);
	idn_wr_u32(&s->r->w, ctime);
	s->n++;
	memcpy(s->next, cursor.p, cursor.len);
	s->next_len = cursor.len;
	return 0;
}

int do_search(reply_t *r)
{
	bool sees_all = principal_is_operator(&r->from.who);
	idn_search_req_t rq;
	idn_search_t q;
	const char *why;
	uint8_t pbuf[IDN_IDENT_MAX], cbuf[IDN_SEARCH_CURSOR_MAX];
	searcher_t s = {r, 0, 0, 0, {0}, 0};
	if (idn_search_req_decode(r->req->rest, &rq) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed search request");
	/* only the operator sees matches in non-public values */
	bool pub = idn_search_public_only(sees_all, r->req->hdr.flags &
							    IDN_OF_PUBLIC_ONLY);
	if (idn_search_from_req(&rq, pub, pbuf, cbuf, &q, &s.page, &why) != 0)
		return reply_error(r, IDN_RC_ERROR, why);
	/* without a value to match, a search lists identifiers: like a
	 * listing, that is for the operator only */
	if (!idn_search_permitted(sees_all, &rq))
		return reply_error(r, IDN_RC_INSUFFICIENT_PERMS,
				   "search by prefix or time alone lists "
				   "identifiers: over the network give a "
				   "type and data");
	reply_start(r, IDN_RC_SUCCESS, 0);
	s.count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	int err = idn_store_search(r->h->rtxn, &q, search_cb, &s);
	if (err == IDN_ENOTINDEXED) {
		char msg[IDN_INDEX_MSG_MAX];
		return reply_error(
			r, IDN_RC_ERROR,
			idn_search_notindexed_msg(q.type, msg, sizeof(msg)));
	}
	if (err < 0)
		return err == IDN_EINVAL
			       ? reply_error(r, IDN_RC_ERROR,
					     "cursor belongs to another search")
			       : reply_lib_error(r, err);
	idn_wr_patch_u32(&r->w, s.count_pos, s.n);
	char hex[2 * IDN_SEARCH_CURSOR_MAX + 1];
	idn_search_cursor_hex(idn_bytes(s.next, err ? s.next_len : 0), hex);
	idn_wr_str(&r->w, idn_bytes_str(hex));
	return reply_send(r);
}

/* ---- declared types of the search index: op IDN_OC_INDEX ---- */

typedef struct {
	reply_t *r;
	uint32_t n;
} index_list_t;

static int index_type_cb(void *ctx, idn_bytes_t type)
{
	index_list_t *l = ctx;
	idn_wr_str(&l->r->w, type);
	l->n++;
	return 0;
}

int do_index(reply_t *r)
{
	handler_t *h = r->h;
	idn_rd_t rd;
	idn_rd_init(&rd, r->req->rest.p, r->req->rest.len);
	uint32_t action = idn_rd_u32(&rd);
	idn_bytes_t type = idn_rd_str(&rd, IDN_TYPE_MAX);
	if (idn_rd_finish(&rd) != 0 || action > IDN_INDEX_REMOVE)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed index request");
	if (action != IDN_INDEX_LIST) {
		/* the empty type: the creation time */
		if (type.len && !idn_index_type_ok(type))
			return reply_error(r, IDN_RC_ERROR,
					   "a type to index is 1 to 255 "
					   "printable bytes and not an HS_ "
					   "type");
		/* the declared set and the entries commit together */
		idn_wtxn_t *t = h->group;
		int err = t ? 0 : idn_wtxn_begin(h->store, &t);
		char actor[256];
		if (err == 0)
			idn_wtxn_set_actor(t,
					   principal_name(&r->from.who, actor,
							  sizeof(actor)));
		if (err == 0)
			err = action == IDN_INDEX_ADD
				      ? idn_wtxn_index_add(t, type)
				      : idn_wtxn_index_remove(t, type);
		if (t != h->group) {
			if (err >= 0)
				err = idn_wtxn_commit(t);
			else
				idn_wtxn_abort(t);
		}
		if (err == IDN_ENOTFOUND)
			return reply_error(r, IDN_RC_NOT_FOUND,
					   type.len ? "type is not indexed"
						    : "creation time is not "
						      "indexed");
		if (err < 0)
			return reply_lib_error(r, err);
		log_info("search index: %s%.*s %s",
			 type.len ? "type " : "creation time", (int)type.len,
			 type.len ? (const char *)type.p : "",
			 action == IDN_INDEX_ADD ? "declared" : "dropped");
	}
	/* the set as it is now: a snapshot after the commit */
	if (h->snapshot) {
		idn_rtxn_reset(h->rtxn);
		h->snapshot = false;
	}
	int err = idn_rtxn_renew(h->rtxn);
	if (err)
		return reply_lib_error(r, err);
	h->snapshot = true;
	reply_start(r, IDN_RC_SUCCESS, 0);
	size_t count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	index_list_t l = {r, 0};
	err = idn_store_index_types(h->rtxn, index_type_cb, &l);
	if (err)
		return reply_lib_error(r, err);
	idn_wr_patch_u32(&r->w, count_pos, l.n);
	return reply_send(r);
}

/* ---- idnode's own control operations ---- */

static int node_op(reply_t *r, uint32_t op)
{
	node_ctx_t *n = r->h->node;
	char text[1024];
	if (op == IDN_OC_CACHE_FLUSH) {
		idn_bytes_t id;
		uint8_t p[IDN_IDENT_MAX];
		uint32_t pl = 0;
		if (idn_id_body_decode(r->req->rest, &id) != 0)
			return reply_error(r, IDN_RC_PROTOCOL_ERROR,
					   "malformed cache flush request");
		if (id.len > 0) {
			int err = idn_prefix_normalise(id.p, id.len, p, &pl);
			if (err)
				return reply_lib_error(r, err);
		}
		size_t dropped =
			n->cache ? idn_cache_flush(n->cache, p, pl) : 0;
		snprintf(text, sizeof(text), "{\"flushed\":%zu}", dropped);
	} else {
		handler_stats_t st;
		idn_cache_stats_t cs = {0};
		node_stats_sum(n, &st);
		if (n->cache)
			idn_cache_stats(n->cache, &cs);
#define LD(f) (unsigned long long)atomic_load(&st.f)
		snprintf(text, sizeof(text),
			 "{\"requests\":%llu,\"resolutions\":%llu,"
			 "\"not_found\":%llu,\"referrals\":%llu,"
			 "\"recursive\":%llu,\"upstream_queries\":%llu,"
			 "\"errors\":%llu,\"writes\":%llu,"
			 "\"rrl_dropped\":%llu,\"rrl_slipped\":%llu,"
			 "\"tcp_refused\":%llu,\"outcome_unknown\":%llu,"
			 "\"cache\":{\"hits\":%llu,\"misses\":%llu,"
			 "\"inserts\":%llu,\"evictions\":%llu,"
			 "\"expired\":%llu,\"entries\":%llu,\"bytes\":%llu}}",
			 LD(requests), LD(resolutions), LD(not_found),
			 LD(referrals), LD(recursive), LD(upstream), LD(errors),
			 LD(writes), LD(rrl_dropped), LD(rrl_slipped),
			 LD(tcp_refused), LD(outcome_unknown),
			 (unsigned long long)cs.hits,
			 (unsigned long long)cs.misses,
			 (unsigned long long)cs.inserts,
			 (unsigned long long)cs.evictions,
			 (unsigned long long)cs.expired,
			 (unsigned long long)cs.entries,
			 (unsigned long long)cs.bytes);
#undef LD
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_str(&r->w, idn_bytes_str(text));
	return reply_send(r);
}

int do_stats(reply_t *r)
{
	return node_op(r, IDN_OC_STATS);
}

int do_cache_flush(reply_t *r)
{
	return node_op(r, IDN_OC_CACHE_FLUSH);
}

int do_reload(reply_t *r)
{
	node_ctx_t *n = r->h->node;
	idn_bytes_t arg = {NULL, 0};
	/* no body, or an empty string (idctl's control ops send one) */
	if (r->req->rest.len != 0 &&
	    (idn_id_body_decode(r->req->rest, &arg) != 0 || arg.len != 0))
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "a reload takes no argument");
	if (n->reload == NULL)
		return reply_error(r, IDN_RC_ERROR, "this node cannot reload");
	char text[4096];
	if (n->reload(n->reload_ctx, text, sizeof(text)) != 0)
		return reply_error(r, IDN_RC_ERROR, text);
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_str(&r->w, idn_bytes_str(text));
	return reply_send(r);
}

int do_site_info(reply_t *r)
{
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_raw(&r->w, r->h->node->site, r->h->node->site_len);
	return reply_send(r);
}
