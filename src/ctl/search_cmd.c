/* idctl search (search_cmd.h). */
#include "search_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "ctlutil.h"
#include "error.h"
#include "msg.h"
#include "net.h"
#include "search.h"
#include "value_out.h"
#include "wire.h"

static const char search_usage[] =
	"usage: idctl (-C SOCKET | -s HOST:PORT [--tcp]) search\n"
	"             [--type T --data D] [--prefix P] [--since T1] "
	"[--until T2]\n"
	"             [--page-size N] [--cursor C | --all] [--public] "
	"[--json]\n"
	"\n"
	"Finds identifiers: those holding a value of type T whose data is\n"
	"exactly D (bytes as stored, case-sensitive), those under prefix P,\n"
	"those created between T1 and T2 (inclusive; Unix seconds,\n"
	"YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ). Filters combine. The creation\n"
	"time of a record is the earliest timestamp of its values.\n"
	"Results come in identifier order, or in creation order for a time\n"
	"range without --type; one page (--page-size, default 100, at most\n"
	"1000) a call. When more follow, the cursor for the next page is\n"
	"printed on stderr (and as \"next\" with --json); --all fetches every\n"
	"page. Over the control socket non-public values match too (unless\n"
	"--public); over the network only publicly readable ones.\n"
	"Output: one identifier a line, or with --json\n"
	"{\"responseCode\":1,\"results\":[{\"handle\":ID,\"created\":TIME}],"
	"\"next\":C|null}.\n"
	"Exit status: 0 success, 1 the node refused or failed, 2 usage "
	"error.\n";

typedef struct {
	const char *where;
	int transport;
	int timeout_ms;
	bool json, all, pub;
	idn_arena_t a;
} sctx_t;

static int usage_err(const char *fmt, const char *arg)
{
	fputs("idctl: search: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (idctl search --help)\n", stderr);
	return 2;
}

/* One page: sends q and prints the results; *next gets the next cursor
 * (arena text, "" at the end). Returns the exit status. */
static int one_page(sctx_t *x, const idn_search_req_t *q, json_t *results,
		    char **next)
{
	size_t cap =
		64 + q->type.len + q->data.len + q->prefix.len + q->cursor.len;
	uint8_t *buf = idn_arena_alloc(&x->a, cap);
	if (buf == NULL)
		return 1;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_search_req_encode(&w, q);
	if (w.err)
		return usage_err("request too large%s", "");
	uint32_t flags = x->pub ? IDN_OF_PUBLIC_ONLY : 0;
	ctl_reply_t g;
	int err = ctl_request(x->transport, x->where, x->timeout_ms,
			      IDN_OC_SEARCH, flags, &w, &x->a, &g);
	if (err == 0 && g.truncated) /* a page too large for UDP */
		err = ctl_request(IDN_NET_TCP, x->where, x->timeout_ms,
				  IDN_OC_SEARCH, flags, &w, &x->a, &g);
	if (ctl_reply_check("search", x->where, err, &g) != 0)
		return 1;
	idn_rd_t r;
	idn_rd_init(&r, g.m.rest.p, g.m.rest.len);
	uint32_t n = idn_rd_count(&r, IDN_MSG_MAX / 8, 8);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		idn_bytes_t id = idn_rd_str(&r, IDN_IDENT_MAX);
		uint32_t ct = idn_rd_u32(&r);
		if (r.err)
			break;
		if (results) {
			char ts[32];
			value_time(ct, ts, sizeof(ts));
			json_t *o = json_object();
			json_object_set_new(
				o, "handle",
				json_stringn((const char *)id.p, id.len));
			json_object_set_new(o, "created", json_string(ts));
			json_array_append_new(results, o);
		} else {
			printf("%.*s\n", (int)id.len, (const char *)id.p);
		}
	}
	idn_bytes_t cur = idn_rd_str(&r, 2 * IDN_SEARCH_CURSOR_MAX);
	if (idn_rd_finish(&r) != 0) {
		fprintf(stderr, "idctl: search: malformed reply from %s\n",
			x->where);
		return 1;
	}
	*next = idn_arena_alloc(&x->a, cur.len + 1);
	if (*next == NULL)
		return 1;
	if (cur.len)
		memcpy(*next, cur.p, cur.len);
	(*next)[cur.len] = 0;
	return 0;
}

const ctl_optdef_t search_opts[] = {
	{"type", 0, true},   {"data", 0, true},	 {"prefix", 0, true},
	{"since", 0, true},  {"until", 0, true}, {"page-size", 0, true},
	{"cursor", 0, true}, {"all", 0, false},	 {"help", 'h', false},
	{NULL, 0, false},
};

int search_main(ctl_opts_t *o, int argc, char **argv)
{
	sctx_t x = {NULL,    IDN_NET_UDP, ctl_timeout(o, 5000),
		    o->json, false,	  o->public_only,
		    {0}};
	const char *control = ctl_control_path(o), *server = o->server;
	bool tcp = o->tcp;
	idn_search_req_t q = {0};
	const char *cursor = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(search_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--all")) {
			x.all = true;
		} else if (OPT("--type")) {
			q.type = idn_bytes_str(v);
		} else if (OPT("--data")) {
			q.data = idn_bytes_str(v);
		} else if (OPT("--prefix")) {
			q.prefix = idn_bytes_str(v);
		} else if (OPT("--since")) {
			if (idn_search_time_parse(v, &q.since) != 0)
				return usage_err("bad --since '%s' (Unix "
						 "seconds, YYYY-MM-DD or "
						 "YYYY-MM-DDTHH:MM:SSZ)",
						 v);
		} else if (OPT("--until")) {
			if (idn_search_time_parse(v, &q.until) != 0)
				return usage_err("bad --until '%s' (Unix "
						 "seconds, YYYY-MM-DD or "
						 "YYYY-MM-DDTHH:MM:SSZ)",
						 v);
		} else if (OPT("--page-size")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (*v == 0 || *end || n < 1 ||
			    n > (long)IDN_SEARCH_PAGE_MAX)
				return usage_err("bad --page-size '%s' "
						 "(1..1000)",
						 v);
			q.page = (uint32_t)n;
		} else if (OPT("--cursor")) {
			cursor = v;
		} else if (a[0] == '-') {
			return usage_err("unknown option or missing value "
					 "'%s'",
					 a);
		} else {
			return usage_err("unexpected argument '%s'", a);
		}
#undef OPT
	}
	if (q.data.len && !q.type.len)
		return usage_err("--data needs --type%s", "");
	if (q.type.len && q.data.p == NULL)
		return usage_err("--type needs --data (the exact data to "
				 "find)%s",
				 "");
	if (!q.type.len && !q.prefix.len && !q.since && !q.until)
		return usage_err("give --type and --data, --prefix, or "
				 "--since/--until%s",
				 "");
	if (q.until && q.since > q.until)
		return usage_err("--since is later than --until%s", "");
	/* the command table made sure of one or the other */
	x.where = server ? server : control;
	x.transport = !server ? IDN_NET_UNIX : tcp ? IDN_NET_TCP : IDN_NET_UDP;
	idn_arena_init(&x.a, 0);
	json_t *results = x.json ? json_array() : NULL;
	char *next = NULL;
	int rc;
	for (;;) {
		q.cursor = idn_bytes_str(cursor);
		rc = one_page(&x, &q, results, &next);
		if (rc || !x.all || next[0] == 0)
			break;
		cursor = next;
	}
	if (rc == 0 && x.json) {
		json_t *j = json_object();
		json_object_set_new(j, "responseCode", json_integer(1));
		json_object_set_new(j, "results", results);
		results = NULL;
		json_object_set_new(j, "next",
				    next[0] ? json_string(next) : json_null());
		char *s = json_dumps(j, JSON_COMPACT);
		if (s)
			puts(s);
		free(s);
		json_decref(j);
	} else if (rc == 0 && next[0]) {
		fprintf(stderr, "more results: --cursor %s\n", next);
	}
	json_decref(results);
	idn_arena_free(&x.a);
	return rc;
}

/* ---- idctl index ---- */

static const char index_usage[] =
	"usage: idctl -C SOCKET index list | add TYPE|--created |\n"
	"                              remove TYPE|--created [--json]\n"
	"\n"
	"The value types the search index holds. A store indexes only the\n"
	"types declared here (none at first), for every node using it; a\n"
	"search by another type is refused. --created stands for the\n"
	"creation time index, which searches by time range without --type\n"
	"need. add indexes the values of TYPE of every record in one\n"
	"transaction (writes wait meanwhile) and answers once the index is\n"
	"complete; remove drops TYPE's entries. HS_ types cannot be\n"
	"declared. Prints the declared types afterwards, one a line, the\n"
	"creation time as --created (--json: {\"types\":[...],\n"
	"\"created\":true|false}).\n"
	"Exit status: 0 success, 1 the node refused or failed, 2 usage "
	"error.\n";

static int index_err(const char *fmt, const char *arg)
{
	fputs("idctl: index: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (idctl index --help)\n", stderr);
	return 2;
}

const ctl_optdef_t index_opts[] = {
	{"created", 0, false},
	{"help", 'h', false},
	{NULL, 0, false},
};

int index_main(ctl_opts_t *o, int argc, char **argv)
{
	const char *control = ctl_control_path(o);
	const char *words[3] = {"index", NULL, NULL};
	/* add may index many records */
	int nw = 1, timeout_ms = ctl_timeout(o, 600000);
	bool json = o->json;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(index_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--created") && nw < 3) {
			words[nw++] = ""; /* the empty type */
		} else if (a[0] == '-' && a[1]) {
			return index_err("unknown option or missing value "
					 "'%s'",
					 a);
		} else if (nw < 3) {
			words[nw++] = a; /* "index", action, type */
		} else {
			return index_err("unexpected argument '%s'", a);
		}
	}
	uint32_t action;
	const char *act = nw > 1 ? words[1] : "";
	if (!strcmp(act, "list") && nw == 2)
		action = IDN_INDEX_LIST;
	else if (!strcmp(act, "add") && nw == 3)
		action = IDN_INDEX_ADD;
	else if (!strcmp(act, "remove") && nw == 3)
		action = IDN_INDEX_REMOVE;
	else
		return index_err("give list, add TYPE or remove TYPE%s", "");
	idn_bytes_t type = idn_bytes_str(nw == 3 ? words[2] : "");
	if (action != IDN_INDEX_LIST && type.len && !idn_index_type_ok(type))
		return index_err("bad type '%s' (1 to 255 printable bytes, "
				 "not HS_...)",
				 words[2]);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t buf[512];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_wr_u32(&w, action);
	idn_wr_str(&w, type);
	ctl_reply_t g;
	int err = w.err ? IDN_ETOOLONG
			: ctl_request(IDN_NET_UNIX, control, timeout_ms,
				      IDN_OC_INDEX, 0, &w, &a, &g);
	int rc = 1;
	if (ctl_reply_check("index", control, err, &g) != 0)
		goto out;
	idn_rd_t r;
	idn_rd_init(&r, g.m.rest.p, g.m.rest.len);
	uint32_t n = idn_rd_count(&r, IDN_MSG_MAX / 4, 4);
	json_t *arr = json ? json_array() : NULL;
	bool created = false;
	for (uint32_t i = 0; i < n && !r.err; i++) {
		idn_bytes_t t = idn_rd_str(&r, IDN_TYPE_MAX);
		if (r.err)
			break;
		if (t.len == 0) {
			created = true;
			if (!arr)
				puts("--created");
		} else if (arr)
			json_array_append_new(
				arr, json_stringn((const char *)t.p, t.len));
		else
			printf("%.*s\n", (int)t.len, (const char *)t.p);
	}
	if (idn_rd_finish(&r) != 0) {
		fprintf(stderr, "idctl: index: malformed reply from %s\n",
			control);
		json_decref(arr);
		goto out;
	}
	if (arr) {
		json_t *j = json_object();
		json_object_set_new(j, "types", arr);
		json_object_set_new(j, "created", json_boolean(created));
		char *txt = json_dumps(j, JSON_COMPACT);
		if (txt)
			puts(txt);
		free(txt);
		json_decref(j);
	}
	rc = 0;
out:
	idn_arena_free(&a);
	return rc;
}
