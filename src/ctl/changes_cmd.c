/* idctl changes: the store's change log read as it is (changes.h), the
 * record of what was committed, by whom and when, that mirrors replay and
 * the audit trail rests on (docs/audit.md, The store's change log). The
 * store is opened read-only, so the node may run. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "changes.h"
#include "cli.h"
#include "ctlutil.h"
#include "error.h"
#include "value.h"
#include "value_out.h"

typedef struct {
	bool json;
	const char *name; /* only this identifier (NULL: all) */
	uint64_t shown;
	idn_arena_t arena;
} walk_t;

static void when(uint64_t ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char day[32];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

/* " 1:URL 2:EMAIL" for the values r holds, appended at out + at. */
static size_t values_text(idn_rd_t *r, idn_arena_t *a, char *out, size_t at,
			  size_t cap)
{
	idn_value_t *v;
	uint32_t n;
	if (idn_values_decode(r, a, &v, &n) != 0)
		return at;
	for (uint32_t i = 0; i < n && at < cap; i++)
		at += (size_t)snprintf(
			out + at, cap - at, " %u:%.*s", v[i].index,
			(int)(v[i].type.len > 40 ? 40 : v[i].type.len),
			(const char *)v[i].type.p);
	return at;
}

/* What the body holds, for people: "values 1:URL", "indexes 1 2". */
static void body_text(const idn_change_t *c, idn_arena_t *a, char *out,
		      size_t cap)
{
	idn_rd_t r;
	idn_rd_init(&r, c->body.p, c->body.len);
	out[0] = 0;
	if (c->op == IDN_CH_CREATE || c->op == IDN_CH_ADD ||
	    c->op == IDN_CH_MODIFY) {
		uint8_t flags = c->op == IDN_CH_MODIFY ? 0 : idn_rd_u8(&r);
		size_t at = (size_t)snprintf(out, cap, "values");
		at = values_text(&r, a, out, at, cap);
		if ((flags & 1) && at < cap)
			snprintf(out + at, cap - at, " (overwrite)");
	} else if (c->op == IDN_CH_REMOVE) {
		uint32_t n = idn_rd_u32(&r);
		size_t at = (size_t)snprintf(out, cap, "indexes");
		for (uint32_t i = 0; i < n && !r.err && at < cap; i++)
			at += (size_t)snprintf(out + at, cap - at, " %u",
					       idn_rd_u32(&r));
	}
}

/* The body as JSON fields of o: values (as idctl resolve --json shows
 * them), overwrite, indexes. */
static void body_json(json_t *o, const idn_change_t *c, idn_arena_t *a)
{
	idn_rd_t r;
	idn_rd_init(&r, c->body.p, c->body.len);
	if (c->op == IDN_CH_CREATE || c->op == IDN_CH_ADD ||
	    c->op == IDN_CH_MODIFY) {
		if (c->op != IDN_CH_MODIFY)
			json_object_set_new(o, "overwrite",
					    json_boolean(idn_rd_u8(&r) & 1));
		idn_value_t *v;
		uint32_t n;
		json_t *vs = json_array();
		if (idn_values_decode(&r, a, &v, &n) == 0)
			for (uint32_t i = 0; i < n; i++)
				json_array_append_new(vs, value_json(&v[i], a));
		json_object_set_new(o, "values", vs);
	} else if (c->op == IDN_CH_REMOVE) {
		uint32_t n = idn_rd_u32(&r);
		json_t *is = json_array();
		for (uint32_t i = 0; i < n && !r.err; i++)
			json_array_append_new(is, json_integer(idn_rd_u32(&r)));
		json_object_set_new(o, "indexes", is);
	}
}

static int on_change(void *ctx, const idn_change_t *c)
{
	walk_t *w = ctx;
	if (w->name != NULL && (c->name.len != strlen(w->name) ||
				memcmp(c->name.p, w->name, c->name.len) != 0))
		return 0;
	w->shown++;
	char t[48];
	when(c->time_ms, t, sizeof(t));
	idn_arena_reset(&w->arena);
	if (w->json) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer((json_int_t)c->id));
		json_object_set_new(o, "time", json_string(t));
		json_object_set_new(o, "op",
				    json_string(idn_change_op_name(c->op)));
		json_object_set_new(
			o, "actor",
			json_stringn((const char *)c->actor.p, c->actor.len));
		json_object_set_new(
			o, "name",
			json_stringn((const char *)c->name.p, c->name.len));
		body_json(o, c, &w->arena);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(o);
		return 0;
	}
	char what[600];
	body_text(c, &w->arena, what, sizeof(what));
	printf("%" PRIu64 " %s %-8s %.*s by %.*s%s%s\n", c->id, t,
	       idn_change_op_name(c->op), (int)c->name.len,
	       (const char *)c->name.p, (int)(c->actor.len ? c->actor.len : 1),
	       c->actor.len ? (const char *)c->actor.p : "-",
	       what[0] ? ": " : "", what);
	return 0;
}

static int changes_usage(void)
{
	return ctl_usage("usage: idctl changes --data STORE [--since ID | "
			 "--last N] [--limit N] [--name ID] [--json]%s",
			 "");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int ctl_cmd_changes(ctl_opts_t *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"store", required_argument, NULL, 'd'},
		{"since", required_argument, NULL, 's'},
		{"last", required_argument, NULL, 'l'},
		{"limit", required_argument, NULL, 'n'},
		{"name", required_argument, NULL, 'N'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL;
	uint64_t since = 0, last = 0, limit = 0;
	bool has_since = false, has_last = false;
	walk_t w = {.json = o->json};
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 's':
			if (parse_u64(optarg, &since))
				return changes_usage();
			has_since = true;
			break;
		case 'l':
			if (parse_u64(optarg, &last) || last == 0)
				return changes_usage();
			has_last = true;
			break;
		case 'n':
			if (parse_u64(optarg, &limit) || limit > UINT32_MAX)
				return changes_usage();
			break;
		case 'N':
			w.name = optarg;
			break;
		case 'J':
			w.json = true;
			break;
		case 'h':
			printf("usage: idctl changes --data STORE [--since ID | "
			       "--last N] [--limit N] [--name ID] [--json]\n"
			       "Prints the store's change log: every committed "
			       "change with its id, time\n"
			       "(UTC), operation, identifier, the principal "
			       "that made it and what it\n"
			       "wrote; --json: one JSON object a line. STORE "
			       "is an LMDB directory or a\n"
			       "PostgreSQL URI, opened read-only (the node may "
			       "run). Without --since,\n"
			       "the newest 50 (--last N). --name keeps one "
			       "identifier's changes.\n");
			return 0;
		default:
			return changes_usage();
		}
	}
	if (data == NULL || optind != argc || (has_since && has_last))
		return changes_usage();
	idn_store_opts_t so = {.path = data, .readonly = true};
	idn_store_t *s;
	int err = idn_store_open(&so, &s);
	if (err) {
		fprintf(stderr, "idctl changes: cannot read the store %s: %s\n",
			data, idn_strerror(err));
		return 2;
	}
	idn_rtxn_t *t;
	uint64_t first = 0, next = 0;
	err = idn_rtxn_begin(s, &t);
	if (err == 0) {
		err = idn_changes_bounds(t, &first, &next);
		if (err == 0) {
			uint64_t from = first;
			if (has_since)
				from = since > first ? since : first;
			else if (next - first > (has_last ? last : 50))
				from = next - (has_last ? last : 50);
			if (!w.json)
				printf("# change log of %s: entries %" PRIu64
				       "..%" PRIu64 " kept, from %" PRIu64 "\n",
				       data, first, next ? next - 1 : 0, from);
			idn_arena_init(&w.arena, 1 << 16);
			err = idn_changes_read(t, from, (uint32_t)limit,
					       on_change, &w);
			idn_arena_free(&w.arena);
		}
		idn_rtxn_free(t);
	}
	idn_store_close(s);
	if (err) {
		fprintf(stderr, "idctl changes: reading %s: %s\n", data,
			idn_strerror(err));
		return 2;
	}
	if (!w.json)
		printf("# %" PRIu64 " shown\n", w.shown);
	return 0;
}
