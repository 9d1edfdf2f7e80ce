/* idctl's side of the hierarchy: delegate and undelegate (the record
 * 0.NA/PREFIX), the node's statistics and the recursive node's cache. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "delegate.h"
#include "site.h"
#include "error.h"
#include "ident.h"
#include "msg.h"
#include "net.h"
#include "value.h"
#include "value_out.h"
#include "wire.h"

#define DELEGATE_MIRRORS_MAX 64

/* PREFIX or 0.NA/PREFIX: the bare prefix, checked. */
static const char *delegated_prefix(const char *cmd, const char *arg)
{
	const char *p = arg;
	if (!strncasecmp(p, "0.NA/", 5))
		p += 5;
	uint8_t norm[IDN_IDENT_MAX];
	uint32_t nl;
	if (*p == 0 || strchr(p, '/') != NULL ||
	    idn_prefix_normalise((const uint8_t *)p, strlen(p), norm, &nl) !=
		    0) {
		fprintf(stderr,
			"idctl: %s: bad prefix '%s': expected a prefix "
			"such as 88.118.8 (see idctl --help)\n",
			cmd, arg);
		return NULL;
	}
	return p;
}

/* delegate's own options: --to, --mirror (repeatable), --ttl,
 * --site-info. */
typedef struct {
	const char *to;
	const char *mirrors[DELEGATE_MIRRORS_MAX];
	uint32_t nmirrors;
	uint32_t ttl;
	const char *prefix;
	bool siteinfo; /* each site as its first server describes it */
} deleg_t;

static int delegate_args(int argc, char **argv, deleg_t *d)
{
	*d = (deleg_t){.ttl = IDN_TTL_DEFAULT};
	uint32_t x;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--to")) {
			if (d->to != NULL)
				return ctl_usage("--to given twice: list the "
						 "servers of the primary site "
						 "in one --to A,B%s",
						 "");
			d->to = argv[++i];
		} else if (!strcmp(a, "--mirror")) {
			if (d->nmirrors == DELEGATE_MIRRORS_MAX)
				return ctl_usage("too many --mirror%s", "");
			d->mirrors[d->nmirrors++] = argv[++i];
		} else if (!strcmp(a, "--site-info")) {
			d->siteinfo = true;
		} else if (!strcmp(a, "--ttl")) {
			if (ctl_parse_u32(v, strlen(v), 10, &x) != 0 ||
			    x > 0x7fffffff)
				return ctl_usage("bad --ttl '%s': seconds, "
						 "0..2147483647",
						 v);
			d->ttl = x;
			i++;
		} else if (d->prefix != NULL) {
			return ctl_usage("delegate needs exactly one prefix%s",
					 "");
		} else {
			d->prefix = a;
		}
	}
	if (d->prefix == NULL)
		return ctl_usage("delegate needs exactly one prefix%s", "");
	return 0;
}

/* The HS_SITE the first server of list answers to GET_SITE_INFO (UDP):
 * with its servers' keys and interfaces, as HANDLE.NET sites are
 * published, so that clients can check certified answers. 0, or 1 after
 * printing why. */
static int site_from_server(ctl_opts_t *o, const char *prefix, const char *list,
			    idn_arena_t *a, idn_bytes_t *out)
{
	size_t n = strcspn(list, ",");
	char *server = idn_arena_alloc(a, n + 1);
	if (server == NULL)
		return 1;
	memcpy(server, list, n);
	server[n] = 0;
	uint8_t none[1];
	idn_wr_t w;
	idn_wr_init(&w, none, 0);
	const idn_msg_t *m;
	if (ctl_node_call_one(o, IDN_NET_UDP, server, IDN_OC_GET_SITE_INFO, 0,
			      &w, "delegate", prefix, a, &m))
		return 1;
	idn_hs_site_t site;
	if (m->hdr.rc != IDN_RC_SUCCESS ||
	    idn_hs_site_decode(m->rest, a, &site) != 0) {
		fprintf(stderr,
			"idctl: delegate %s: %s answers GET_SITE_INFO with no "
			"site (rc %u)\n",
			prefix, server, m->hdr.rc);
		return 1;
	}
	*out = m->rest;
	return 0;
}

static int cmd_delegate(ctl_opts_t *o, const deleg_t *d, idn_arena_t *a)
{
	if (d->to == NULL)
		return ctl_usage(
			"delegate needs --to HOST:PORT[,HOST:PORT...]%s", "");
	const char *prefix = delegated_prefix("delegate", d->prefix);
	if (prefix == NULL)
		return 2;
	const char *sock = ctl_control_path(o); /* CTL_NEEDS_CONTROL */
	size_t pl = strlen(prefix);
	char *id = idn_arena_alloc(a, pl + 6);
	char *desc = idn_arena_alloc(a, pl + 32);
	char *admin = idn_arena_alloc(a, pl + 32);
	uint32_t n = 2 + d->nmirrors;
	idn_value_t *v = idn_arena_array(a, n, sizeof(*v));
	if (!id || !desc || !admin || !v)
		return 1;
	snprintf(id, pl + 6, "0.NA/%s", prefix);
	snprintf(desc, pl + 32, "idnode site for %s", prefix);
	char why[256];
	for (uint32_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].ttl = d->ttl;
		v[i].perms = IDN_PERM_DEFAULT;
		v[i].type = idn_bytes_str("HS_SITE");
		v[i].index = i + 1;
		if (i == n - 1)
			break;
		const char *list = i == 0 ? d->to : d->mirrors[i - 1];
		if (d->siteinfo) {
			if (site_from_server(o, prefix, list, a, &v[i].data))
				return 1;
			continue;
		}
		if (site_build(list, i == 0, desc, a, &v[i].data, why,
			       sizeof(why)) != 0) {
			fprintf(stderr, "idctl: delegate %s: %s%s\n", prefix,
				i == 0 ? "--to: " : "--mirror: ", why);
			return 2;
		}
	}
	/* HS_ADMIN 0.NA/PREFIX@300, all permissions */
	idn_hs_admin_t adm = {IDN_ADM_ALL, idn_bytes_str(id), 300};
	uint8_t *ab = idn_arena_alloc(a, pl + 32);
	idn_wr_t aw;
	idn_wr_init(&aw, ab, pl + 32);
	idn_hs_admin_encode(&aw, &adm);
	v[n - 1].index = 100;
	v[n - 1].type = idn_bytes_str("HS_ADMIN");
	v[n - 1].data = idn_bytes(ab, aw.len);
	idn_values_body_t b = {idn_bytes_str(id), n, v};
	size_t cap = 64 + pl;
	for (uint32_t i = 0; i < n; i++)
		cap += idn_value_size(&v[i]);
	idn_wr_t w;
	idn_wr_init(&w, idn_arena_alloc(a, cap), cap);
	idn_values_body_encode(&w, &b);
	if (aw.err || w.err || w.len > IDN_MSG_MAX - 64)
		return ctl_usage("delegation too large%s", "");
	const idn_msg_t *m;
	if (ctl_node_call_one(o, IDN_NET_UNIX, sock, IDN_OC_CREATE,
			      IDN_OF_OVERWRITE, &w, "delegate", prefix, a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		ctl_print_failure("delegate", prefix, m, (int)m->hdr.rc);
		return 1;
	}
	if (o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		json_object_set_new(root, "handle", json_string(id));
		json_t *vals = json_array();
		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(vals, value_json(&v[i], a));
		json_object_set_new(root, "values", vals);
		ctl_print_json(root);
		json_decref(root);
		return 0;
	}
	printf("delegated %s (%s)\n", prefix, id);
	for (uint32_t i = 0; i + 1 < n; i++) {
		idn_hs_site_t site;
		if (idn_hs_site_decode(v[i].data, a, &site) == 0) {
			printf("  ");
			idn_site_print(stdout, &site);
			putchar('\n');
		}
	}
	return 0;
}

static int cmd_undelegate(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1)
		return ctl_usage("undelegate needs exactly one prefix%s", "");
	const char *prefix = delegated_prefix("undelegate", argv[0]);
	if (prefix == NULL)
		return 2;
	const char *sock = ctl_control_path(o); /* CTL_NEEDS_CONTROL */
	char id[IDN_IDENT_MAX + 8];
	snprintf(id, sizeof(id), "0.NA/%s", prefix);
	idn_wr_t w;
	size_t cap = strlen(id) + 8;
	idn_wr_init(&w, idn_arena_alloc(a, cap), cap);
	idn_id_body_encode(&w, idn_bytes_str(id));
	if (w.err)
		return ctl_usage("prefix too long%s", "");
	const idn_msg_t *m;
	if (ctl_node_call_one(o, IDN_NET_UNIX, sock, IDN_OC_DELETE, 0, &w,
			      "undelegate", prefix, a, &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		ctl_print_failure("undelegate", prefix, m, (int)m->hdr.rc);
		return 1;
	}
	if (o->json) {
		json_t *root = json_object();
		json_object_set_new(root, "responseCode", json_integer(1));
		json_object_set_new(root, "handle", json_string(id));
		ctl_print_json(root);
		json_decref(root);
	} else {
		printf("undelegated %s (deleted %s)\n", prefix, id);
	}
	return 0;
}

/* Sends a control op whose body is an identifier string and whose reply
 * is one string holding a JSON object; *out gets the object. */
int ctl_json_op(ctl_opts_t *o, const char *cmd, uint32_t op, const char *arg,
		idn_arena_t *a, json_t **out)
{
	const char *sock = ctl_control_path(o); /* CTL_NEEDS_CONTROL */
	idn_wr_t w;
	size_t cap = strlen(arg) + 8;
	idn_wr_init(&w, idn_arena_alloc(a, cap), cap);
	idn_id_body_encode(&w, idn_bytes_str(arg));
	if (w.err)
		return ctl_usage("argument too long%s", "");
	const idn_msg_t *m;
	if (ctl_node_call_one(o, IDN_NET_UNIX, sock, op, 0, &w, cmd, arg, a,
			      &m))
		return 1;
	if (m->hdr.rc != IDN_RC_SUCCESS) {
		ctl_print_failure(cmd, arg, m, (int)m->hdr.rc);
		return 1;
	}
	idn_rd_t r;
	idn_rd_init(&r, m->rest.p, m->rest.len);
	idn_bytes_t text = idn_rd_str(&r, IDN_MSG_MAX);
	json_error_t je;
	json_t *j = r.err ? NULL
			  : json_loadb((const char *)text.p, text.len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		fprintf(stderr,
			"idctl: %s: the node's reply is not a JSON "
			"object\n",
			cmd);
		return 1;
	}
	*out = j;
	return 0;
}

static int cmd_stats(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("stats takes no arguments%s", "");
	json_t *j;
	int st = ctl_json_op(o, "stats", IDN_OC_STATS, "", a, &j);
	if (st)
		return st;
	if (o->json)
		ctl_print_json(j);
	else
		stats_print(stdout, j);
	json_decref(j);
	return 0;
}

/* Prints "label: a, b" for a non-empty array of names; returns its size. */
static size_t print_names(const char *label, json_t *names)
{
	size_t n = json_array_size(names);
	if (n == 0)
		return 0;
	printf("%s: ", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "",
		       json_string_value(json_array_get(names, i)));
	printf("\n");
	return n;
}

static int cmd_reload(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("reload takes no arguments%s", "");
	json_t *j;
	int st = ctl_json_op(o, "reload", IDN_OC_RELOAD, "", a, &j);
	if (st)
		return st;
	json_t *failed = json_object_get(j, "failed");
	if (o->json) {
		ctl_print_json(j);
	} else if (print_names("applied", json_object_get(j, "applied")) +
			   print_names("needs a restart (kept the running "
				       "value)",
				       json_object_get(j, "restart")) +
			   print_names("failed (kept the running value; the "
				       "node's log says why)",
				       failed) ==
		   0) {
		printf("nothing changed\n");
	}
	st = json_array_size(failed) > 0;
	json_decref(j);
	return st;
}

static int cmd_cache(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc < 1)
		return ctl_usage("cache needs 'stats' or 'flush [PREFIX]'%s",
				 "");
	const char *sub = argv[0];
	json_t *j;
	int st;
	if (!strcmp(sub, "stats")) {
		if (argc != 1)
			return ctl_usage("cache stats takes no arguments%s",
					 "");
		st = ctl_json_op(o, "cache stats", IDN_OC_STATS, "", a, &j);
		if (st)
			return st;
		json_t *c = json_object_get(j, "cache");
		if (!json_is_object(c)) {
			json_decref(j);
			fprintf(stderr, "idctl: cache stats: the node reports "
					"no cache\n");
			return 1;
		}
		if (o->json)
			ctl_print_json(c);
		else
			stats_print(stdout, c);
		json_decref(j);
		return 0;
	}
	if (strcmp(sub, "flush"))
		return ctl_usage("unknown cache command '%s' (stats, flush)",
				 sub);
	if (argc > 2)
		return ctl_usage("cache flush takes at most one prefix%s", "");
	const char *prefix = argc == 2 ? argv[1] : "";
	if (*prefix && delegated_prefix("cache flush", prefix) == NULL)
		return 2;
	st = ctl_json_op(o, "cache flush", IDN_OC_CACHE_FLUSH, prefix, a, &j);
	if (st)
		return st;
	if (o->json) {
		ctl_print_json(j);
	} else {
		json_int_t k =
			json_integer_value(json_object_get(j, "flushed"));
		printf("flushed %" JSON_INTEGER_FORMAT " cache entr%s%s%s\n", k,
		       k == 1 ? "y" : "ies", *prefix ? " under " : "", prefix);
	}
	json_decref(j);
	return 0;
}

int ctl_cmd_delegate(ctl_opts_t *o, int argc, char **argv)
{
	deleg_t d;
	int st = delegate_args(argc, argv, &d);
	if (st)
		return st;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int rc = cmd_delegate(o, &d, &a);
	idn_arena_free(&a);
	return rc;
}

int ctl_cmd_undelegate(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_undelegate);
}

int ctl_cmd_stats(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_stats);
}

int ctl_cmd_reload(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_reload);
}

int ctl_cmd_cache(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_cache);
}
