/* Search (search.h): argument checks, dispatch to the backend, the node
 * operation's codec, cursors, and the value walks the backends share. */
#include "search.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "hex.h"
#include "ident.h"
#include "store_impl.h"
#include "value.h"

int idn_store_search(idn_rtxn_t *t, const idn_search_t *q, idn_search_cb cb,
		     void *ctx)
{
	if (t == NULL || q == NULL || cb == NULL)
		return IDN_EINVAL;
	if ((q->type.p == NULL && q->type.len) ||
	    (q->data.p == NULL && q->data.len) ||
	    (q->prefix.p == NULL && q->prefix.len) ||
	    (q->cursor.p == NULL && q->cursor.len))
		return IDN_EINVAL;
	bool timed = q->since != 0 || q->until != 0;
	if (q->type.len == 0 && (q->data.len || (!timed && !q->prefix.len)))
		return IDN_EINVAL;
	if (q->until && q->since > q->until)
		return IDN_EINVAL;
	if (q->prefix.len >= IDN_IDENT_MAX || q->type.len > IDN_TYPE_MAX ||
	    q->cursor.len > IDN_SEARCH_CURSOR_MAX)
		return IDN_EINVAL;
	if (t->store->ops->search == NULL)
		return IDN_EUNSUPPORTED;
	/* a type needs its term index; a time range without a type, the
	 * creation time index (the empty type) */
	if (q->type.len && !idn_index_type_ok(q->type))
		return IDN_ENOTINDEXED;
	if (q->type.len || timed) {
		int d = t->store->ops->index_declared(t, q->type);
		if (d < 0)
			return d;
		if (d == 0)
			return IDN_ENOTINDEXED;
	}
	return t->store->ops->search(t, q, cb, ctx);
}

/* ---- declared types ---- */

char *idn_search_notindexed_msg(idn_bytes_t type, char *out, size_t cap)
{
	char t[68];
	size_t n = type.len < 64 ? type.len : 64;
	for (size_t i = 0; i < n; i++)
		t[i] = type.p[i] >= 0x20 && type.p[i] < 0x7f ? (char)type.p[i]
							     : '?';
	if (type.len > n)
		memcpy(t + n, "...", 3), n += 3;
	t[n] = 0;
	if (type.len == 0)
		snprintf(out, cap,
			 "creation time is not indexed; run idctl "
			 "index add --created");
	else
		snprintf(out, cap,
			 "type %s is not indexed; run idctl index add %s", t,
			 t);
	return out;
}

bool idn_index_type_ok(idn_bytes_t type)
{
	if (type.p == NULL || type.len == 0 || type.len > IDN_INDEX_TYPE_MAX ||
	    !idn__search_indexed(type))
		return false;
	for (size_t i = 0; i < type.len; i++)
		if (type.p[i] < 0x20 || type.p[i] == 0x7f)
			return false;
	return true;
}

int idn_store_index_types(idn_rtxn_t *t, idn_list_cb cb, void *ctx)
{
	if (t == NULL || cb == NULL)
		return IDN_EINVAL;
	if (t->store->ops->index_types == NULL)
		return IDN_EUNSUPPORTED;
	return t->store->ops->index_types(t, cb, ctx);
}

int idn_wtxn_index_add(idn_wtxn_t *t, idn_bytes_t type)
{
	if (t == NULL || (type.len && !idn_index_type_ok(type)))
		return IDN_EINVAL;
	if (t->store->ops->index_add == NULL)
		return IDN_EUNSUPPORTED;
	int err = t->store->ops->index_add(t, type);
	if (err == 0)
		idn__changes_note(t, IDN_CH_INDEX_ADD, type, NULL, NULL, 0,
				  false);
	return err;
}

int idn_wtxn_index_remove(idn_wtxn_t *t, idn_bytes_t type)
{
	if (t == NULL || (type.len && !idn_index_type_ok(type)))
		return IDN_EINVAL;
	if (t->store->ops->index_remove == NULL)
		return IDN_EUNSUPPORTED;
	int err = t->store->ops->index_remove(t, type);
	if (err == 0)
		idn__changes_note(t, IDN_CH_INDEX_REMOVE, type, NULL, NULL, 0,
				  false);
	return err;
}

/* ---- the node operation ---- */

void idn_search_req_encode(idn_wr_t *w, const idn_search_req_t *q)
{
	idn_wr_str(w, q->type);
	idn_wr_str(w, q->data);
	idn_wr_str(w, q->prefix);
	idn_wr_u32(w, q->since);
	idn_wr_u32(w, q->until);
	idn_wr_u32(w, q->page);
	idn_wr_str(w, q->cursor);
}

int idn_search_req_decode(idn_bytes_t body, idn_search_req_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	out->type = idn_rd_str(&r, IDN_TYPE_MAX);
	out->data = idn_rd_str(&r, IDN_MSG_MAX);
	out->prefix = idn_rd_str(&r, IDN_IDENT_MAX);
	out->since = idn_rd_u32(&r);
	out->until = idn_rd_u32(&r);
	out->page = idn_rd_u32(&r);
	out->cursor = idn_rd_str(&r, 2 * IDN_SEARCH_CURSOR_MAX);
	return idn_rd_finish(&r) ? IDN_EMALFORMED : 0;
}

int idn_search_from_req(const idn_search_req_t *rq, bool public_only,
			uint8_t *pbuf, uint8_t *cbuf, idn_search_t *out,
			uint32_t *page, const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (rq->data.len && rq->type.len == 0)
		*why = "data given without a type";
	else if (rq->type.len == 0 && rq->prefix.len == 0 && rq->since == 0 &&
		 rq->until == 0)
		*why = "give a type and data, a prefix or a time range";
	else if (rq->until && rq->since > rq->until)
		*why = "since is later than until";
	else if (rq->page > IDN_SEARCH_PAGE_MAX)
		*why = "page size must be 1 to 1000";
	if (*why)
		return IDN_EINVAL;
	if (rq->prefix.len) {
		uint32_t pl = 0;
		if (idn_prefix_normalise(rq->prefix.p, rq->prefix.len, pbuf,
					 &pl) != 0 ||
		    pl >= IDN_IDENT_MAX) {
			*why = "invalid prefix";
			return IDN_EINVAL;
		}
		out->prefix = idn_bytes(pbuf, pl);
	}
	if (rq->cursor.len) {
		size_t cl = 0;
		if (idn_search_cursor_parse((const char *)rq->cursor.p,
					    rq->cursor.len, cbuf, &cl) != 0 ||
		    cl == 0) {
			*why = "malformed cursor";
			return IDN_EINVAL;
		}
		out->cursor = idn_bytes(cbuf, cl);
	}
	out->type = rq->type;
	out->data = rq->data;
	out->since = rq->since;
	out->until = rq->until;
	out->public_only = public_only;
	*page = rq->page ? rq->page : IDN_SEARCH_PAGE_DEFAULT;
	return 0;
}

bool idn_search_public_only(bool privileged, bool asked)
{
	return !privileged || asked;
}

bool idn_search_permitted(bool privileged, const idn_search_req_t *rq)
{
	return privileged || rq->type.len > 0;
}

/* Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC). */
int idn_search_time_parse(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s && *end == 0 && errno == 0 && v <= UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (rest == NULL || *rest) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, "%Y-%m-%d", &tm);
	}
	if (rest == NULL || *rest)
		return -1;
	time_t t = timegm(&tm);
	if (t < 0 || (unsigned long long)t > UINT32_MAX)
		return -1;
	*out = (uint32_t)t;
	return 0;
}

void idn_search_cursor_hex(idn_bytes_t cursor, char *out)
{
	idn_hex_encode(cursor.p, cursor.len, out);
}

int idn_search_cursor_parse(const char *hex, size_t len, uint8_t *buf,
			    size_t *outlen)
{
	if (len % 2 || len / 2 > IDN_SEARCH_CURSOR_MAX)
		return IDN_EINVAL;
	if (idn_hex_decode_buf(hex, len, buf) != 0)
		return IDN_EINVAL;
	*outlen = len / 2;
	return 0;
}

/* ---- value walks ---- */

int idn__values_each(idn_bytes_t values, uint32_t n, idn__vwalk_fn fn,
		     void *ctx)
{
	idn_rd_t r;
	idn_rd_init(&r, values.p, values.len);
	for (uint32_t i = 0; i < n; i++) {
		idn_rd_u32(&r); /* index */
		uint32_t ts = idn_rd_u32(&r);
		idn_rd_raw(&r, 5); /* ttl type, ttl */
		uint8_t perms = idn_rd_u8(&r);
		idn_bytes_t type = idn_rd_str(&r, IDN_TYPE_MAX);
		idn_bytes_t data = idn_rd_str(&r, IDN_MSG_MAX);
		uint32_t nrefs = idn_rd_count(&r, IDN_REFS_MAX, 8);
		for (uint32_t j = 0; j < nrefs && !r.err; j++) {
			idn_rd_str(&r, IDN_IDENT_MAX);
			idn_rd_u32(&r);
		}
		if (r.err)
			return IDN_ECORRUPT;
		int ret = fn(ctx, ts, perms, type, data);
		if (ret)
			return ret;
	}
	return idn_rd_left(&r) == 0 ? 0 : IDN_ECORRUPT;
}

static int min_ts(void *ctx, uint32_t ts, uint8_t perms, idn_bytes_t type,
		  idn_bytes_t data)
{
	(void)perms, (void)type, (void)data;
	uint32_t *m = ctx;
	if (ts < *m)
		*m = ts;
	return 0;
}

int64_t idn__values_ctime(idn_bytes_t values, uint32_t n)
{
	uint32_t m = UINT32_MAX;
	if (n == 0)
		return 0;
	int err = idn__values_each(values, n, min_ts, &m);
	return err ? err : (int64_t)m;
}

typedef struct {
	idn_bytes_t type, data;
	bool public_only;
} want_t;

static int is_match(void *ctx, uint32_t ts, uint8_t perms, idn_bytes_t type,
		    idn_bytes_t data)
{
	(void)ts;
	want_t *w = ctx;
	if (w->public_only && !(perms & IDN_PERM_PUBLIC_READ))
		return 0;
	return idn_bytes_eq(type, w->type) && idn_bytes_eq(data, w->data) &&
	       idn__search_indexed(type);
}

int idn__values_match(idn_bytes_t values, uint32_t n, idn_bytes_t type,
		      idn_bytes_t data, bool public_only)
{
	want_t w = {type, data, public_only};
	return idn__values_each(values, n, is_match, &w);
}

bool idn__search_indexed(idn_bytes_t type)
{
	/* the Handle system's own types hold protocol data (admins, sites,
	 * keys, secrets), not what users search for; most records carry an
	 * HS_ADMIN, so leaving them out also saves an index entry a record */
	return !(type.len >= 3 && memcmp(type.p, "HS_", 3) == 0);
}
