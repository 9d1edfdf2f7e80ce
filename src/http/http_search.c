/* GET /api/search (search.h): identifiers by value, prefix and creation
 * time, one page of JSON a request. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "handler.h"
#include "http_int.h"
#include "search.h"

typedef struct {
	json_t *arr;
	uint32_t n, page;
	char next[2 * IDN_SEARCH_CURSOR_MAX + 1];
} hsearch_t;

static int result_cb(void *ctx, idn_bytes_t id, uint32_t ctime,
		     idn_bytes_t cursor)
{
	hsearch_t *s = ctx;
	if (s->n == s->page)
		return 1; /* one past the page: there are more */
	char ts[32];
	time_t t = (time_t)ctime;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *o = json_object();
	json_object_set_new(o, "handle", http_jstrn(id.p, id.len));
	json_object_set_new(o, "created", json_string(ts));
	json_array_append_new(s->arr, o);
	idn_search_cursor_hex(cursor, s->next);
	s->n++;
	return 0;
}

/* A time parameter: absent (0), or Unix seconds / ISO 8601 UTC. */
static int q_time(hreq_t *r, const char *name, uint32_t *out)
{
	const char *s = http_q(r, name);
	*out = 0;
	return s == NULL ? 0 : idn_search_time_parse(s, out);
}

void http_search(hreq_t *r)
{
	r->op = "search";
	idn_search_req_t rq = {0};
	const char *type = http_q(r, "type"), *data = http_q(r, "data");
	const char *prefix = http_q(r, "prefix"), *cursor = http_q(r, "cursor");
	const char *size = http_q(r, "pageSize");
	if (type && *type)
		rq.type = idn_bytes_str(type);
	if (data)
		rq.data = idn_bytes_str(data);
	if (prefix && *prefix)
		rq.prefix = idn_bytes_str(prefix);
	if (cursor && *cursor)
		rq.cursor = idn_bytes_str(cursor);
	if (q_time(r, "since", &rq.since) || q_time(r, "until", &rq.until)) {
		http_reply_rc(r, 400, IDN_RC_ERROR,
			      "since and until are Unix seconds, YYYY-MM-DD or "
			      "YYYY-MM-DDTHH:MM:SSZ");
		return;
	}
	if (size) {
		char *end;
		long n = strtol(size, &end, 10);
		if (*size == 0 || *end || n < 1 ||
		    n > (long)IDN_SEARCH_PAGE_MAX) {
			http_reply_rc(r, 400, IDN_RC_ERROR,
				      "pageSize must be 1 to 1000");
			return;
		}
		rq.page = (uint32_t)n;
	}
	if (type && *type && data == NULL) {
		http_reply_rc(r, 400, IDN_RC_ERROR,
			      "type needs data (the exact data to find)");
		return;
	}
	/* anonymous clients match publicly readable values only */
	bool privileged = principal_is_operator(&r->who);
	bool pub = idn_search_public_only(privileged,
					  http_q_flag(r, "publicOnly"));
	uint8_t pbuf[IDN_IDENT_MAX], cbuf[IDN_SEARCH_CURSOR_MAX];
	idn_search_t q;
	const char *why;
	hsearch_t s = {NULL, 0, 0, {0}};
	if (idn_search_from_req(&rq, pub, pbuf, cbuf, &q, &s.page, &why)) {
		http_reply_rc(r, 400, IDN_RC_ERROR, why);
		return;
	}
	/* without a value to match, a search lists identifiers: like
	 * GET /api/handles?prefix=, that needs the token */
	if (!idn_search_permitted(privileged, &rq)) {
		http_reply_rc(r, 401, IDN_RC_AUTH_NEEDED,
			      "search by prefix or time alone lists "
			      "identifiers: give a type and data, or the "
			      "token");
		return;
	}
	handler_t *h = &r->t->h;
	if (handler_begin(h) != 0) {
		http_reply_rc(r, 500, IDN_RC_ERROR, "store unavailable");
		return;
	}
	s.arr = json_array();
	int err = idn_store_search(h->rtxn, &q, result_cb, &s);
	handler_end(h);
	if (err < 0) {
		json_decref(s.arr);
		char msg[IDN_INDEX_MSG_MAX];
		if (err == IDN_ENOTINDEXED)
			http_reply_rc(r, 400, IDN_RC_ERROR,
				      idn_search_notindexed_msg(q.type, msg,
								sizeof(msg)));
		else if (err == IDN_EINVAL)
			http_reply_rc(r, 400, IDN_RC_ERROR,
				      "cursor belongs to another search");
		else
			http_reply_rc(r, 500, IDN_RC_ERROR, idn_strerror(err));
		return;
	}
	json_t *j = http_reply_obj(r, IDN_RC_SUCCESS);
	json_object_set_new(j, "results", s.arr);
	json_object_set_new(j, "next", err ? json_string(s.next) : json_null());
	http_reply_json(r, 200, j);
}
