/* idctl verify-sites PREFIX [--all|--sample N] [ID...|-] (verify.h): the
 * sites from the prefix handle, the identifiers to check, the report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "ident.h"
#include "net.h"
#include "resolver.h"
#include "verify.h"

/* Error lines printed per site before the rest are only counted. */
#define ERRORS_SHOWN 10

typedef struct {
	const char *prefix; /* as normalised: "88.118.8" */
	char **ids;
	size_t n, cap;
	bool list_failed; /* a site could not be listed (--all) */
} idset_t;

static int ids_add(idset_t *s, const char *id, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		char **n = realloc(s->ids, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		s->ids = n;
		s->cap = cap;
	}
	char *c = strndup(id, len);
	if (c == NULL)
		return -ENOMEM;
	s->ids[s->n++] = c;
	return 0;
}

static void ids_free(idset_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the identifiers and drops repeats (a record listed by several
 * sites is checked once). */
static void ids_unique(idset_t *s)
{
	if (s->n == 0)
		return;
	qsort(s->ids, s->n, sizeof(*s->ids), by_text);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->ids[i], s->ids[k - 1]) == 0)
			free(s->ids[i]);
		else
			s->ids[k++] = s->ids[i];
	}
	s->n = k;
}

/* Keeps n of the identifiers, picked at random (a partial Fisher-Yates
 * shuffle), in sorted order. */
static void ids_sample(idset_t *s, size_t n)
{
	if (n >= s->n)
		return;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	for (size_t i = 0; i < n; i++) {
		size_t j = i + (size_t)random() % (s->n - i);
		char *t = s->ids[i];
		s->ids[i] = s->ids[j];
		s->ids[j] = t;
	}
	for (size_t i = n; i < s->n; i++)
		free(s->ids[i]);
	s->n = n;
	qsort(s->ids, s->n, sizeof(*s->ids), by_text);
}

/* Identifiers one a line from f; blank lines and # comments skipped. */
static int ids_read(idset_t *s, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;
	while (err == 0 && (len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			line[len - 1] == ' '))
			len--;
		if (len > 0 && line[0] != '#')
			err = ids_add(s, line, (size_t)len);
	}
	free(line);
	return err;
}

/* ---- the sites ---- */

typedef struct {
	ctl_opts_t *o;
	idn_arena_t *a;
	idn_resolver_t *r;
	verify_t *v;
	const char *root;
} sites_ctx_t;

/* Resolves text from the root (-s) as the resolver does, down the
 * delegations. On success *vals and *n hold its values, copied into the
 * arena. Returns 0, or 2 after a one-line message. */
static int resolve_from_root(sites_ctx_t *c, const char *text,
			     idn_value_t **vals, uint32_t *n)
{
	idn_ident_t id;
	if (idn_ident_parse((const uint8_t *)text, strlen(text), 0, &id) != 0)
		return ctl_usage("verify-sites: '%s' is no identifier", text);
	idn_resolution_t res;
	int err = idn_resolve(c->r, &id, 0, &res, NULL, NULL);
	if (err || res.rc != IDN_RC_SUCCESS) {
		fprintf(stderr, "idctl: verify-sites: %s from %s: %s%s%s\n",
			text, c->root,
			err ? idn_strerror(err) : ctl_rc_name((int)res.rc),
			res.detail[0] ? ": " : "", res.detail);
		return 2;
	}
	uint8_t *copy = idn_arena_alloc(c->a, res.values.len + 1);
	*vals = idn_arena_array(c->a, res.nvalues + 1, sizeof(**vals));
	if (copy == NULL || *vals == NULL)
		return 1;
	memcpy(copy, res.values.p, res.values.len);
	idn_rd_t rd;
	idn_rd_init(&rd, copy, res.values.len);
	for (uint32_t i = 0; i < res.nvalues && !rd.err; i++)
		idn_value_decode(&rd, c->a, &(*vals)[i]);
	*n = rd.err ? 0 : res.nvalues;
	return 0;
}

/* Adds the site of an HS_SITE value. Returns 0 or 2 after a message. */
static int site_add(sites_ctx_t *c, const idn_value_t *val, const char *from)
{
	verify_t *v = c->v;
	if (v->nsites == VERIFY_SITES_MAX) {
		fprintf(stderr,
			"idctl: verify-sites: %s lists more than %d "
			"sites\n",
			from, VERIFY_SITES_MAX);
		return 2;
	}
	verify_site_t *s = &v->sites[v->nsites];
	memset(s, 0, sizeof(*s));
	if (idn_hs_site_decode(val->data, c->a, &s->site) != 0 ||
	    s->site.nservers == 0 || s->site.nservers > IDN_SITE_SERVERS_MAX) {
		fprintf(stderr,
			"idctl: verify-sites: %s: HS_SITE at index %u does not "
			"decode or has no (or over %d) servers\n",
			from, val->index, IDN_SITE_SERVERS_MAX);
		return 2;
	}
	s->index = val->index;
	s->primary = s->site.flags & IDN_SITE_PRIMARY;
	for (uint32_t k = 0; k < s->site.nservers; k++) {
		const idn_hs_server_t *srv = &s->site.servers[k];
		s->transport[k] = IDN_NET_TCP;
		if (idn_site_server_addr(srv, IDN_PROTO_TCP, s->addr[k],
					 sizeof(s->addr[k])) == 0)
			continue;
		s->transport[k] = IDN_NET_UDP;
		if (idn_site_server_addr(srv, IDN_PROTO_UDP, s->addr[k],
					 sizeof(s->addr[k])) != 0) {
			fprintf(stderr,
				"idctl: verify-sites: %s: a server of the site at "
				"index %u has no query interface\n",
				from, val->index);
			return 2;
		}
	}
	v->nsites++;
	return 0;
}

/* The sites of the prefix: the HS_SITE values of 0.NA/PREFIX and of the
 * service handles its HS_SERV values name, in index order; the primary
 * is the first flagged primary (else the first). Returns 0 or the exit
 * status after a message. */
static int sites_load(sites_ctx_t *c, const char *prefix)
{
	char text[IDN_IDENT_MAX + 8];
	snprintf(text, sizeof(text), "0.NA/%s", prefix);
	idn_value_t *vals;
	uint32_t n;
	int rc = resolve_from_root(c, text, &vals, &n);
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (idn_type_matches(vals[i].type, idn_bytes_str("HS_SITE"))) {
			rc = site_add(c, &vals[i], text);
		} else if (idn_type_matches(vals[i].type,
					    idn_bytes_str("HS_SERV"))) {
			char *serv =
				idn_arena_alloc(c->a, vals[i].data.len + 1);
			if (serv == NULL)
				return 1;
			memcpy(serv, vals[i].data.p, vals[i].data.len);
			serv[vals[i].data.len] = 0;
			idn_value_t *sv;
			uint32_t sn;
			rc = resolve_from_root(c, serv, &sv, &sn);
			for (uint32_t k = 0; rc == 0 && k < sn; k++)
				if (idn_type_matches(sv[k].type,
						     idn_bytes_str("HS_SITE")))
					rc = site_add(c, &sv[k], serv);
		}
	}
	if (rc)
		return rc;
	verify_t *v = c->v;
	if (v->nsites == 0) {
		fprintf(stderr,
			"idctl: verify-sites: %s has no HS_SITE or HS_SERV "
			"value\n",
			text);
		return 2;
	}
	v->primary = 0;
	for (unsigned i = v->nsites; i-- > 0;)
		if (v->sites[i].primary)
			v->primary = i;
	v->sites[v->primary].primary = true;
	return 0;
}

/* ---- the identifiers of --all ---- */

typedef struct {
	idset_t *set;
	idn_arena_t *a;
	uint32_t rc;
	int err;
} list_ctx_t;

static int on_list(void *ctx, const idn_env_t *env, const idn_msg_t *m)
{
	(void)env;
	list_ctx_t *x = ctx;
	x->rc = m->hdr.rc;
	if (m->hdr.rc != IDN_RC_SUCCESS)
		return 1;
	idn_list_body_t b;
	if (idn_list_body_decode(m->rest, x->a, &b) != 0) {
		x->err = IDN_EPROTO;
		return 1;
	}
	for (uint32_t i = 0; i < b.n && x->err == 0; i++)
		x->err =
			ids_add(x->set, (const char *)b.ids[i].p, b.ids[i].len);
	/* a long listing comes in many messages: keep memory flat */
	idn_arena_reset(x->a);
	return x->err != 0;
}

/* LIST_HANDLES of the prefix at one server: over the control socket sock
 * (when server is NULL) or as the --auth admin. Returns 0, or -1 after a
 * message naming where. */
static int list_at(ctl_opts_t *o, const char *sock, const char *server,
		   idset_t *set)
{
	uint8_t body[IDN_IDENT_MAX + 16];
	char text[IDN_IDENT_MAX + 8];
	snprintf(text, sizeof(text), "0.NA/%s", set->prefix);
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_id_body_encode(&w, idn_bytes_str(text));
	idn_arena_t a;
	idn_arena_init(&a, 0);
	list_ctx_t x = {set, &a, 0, 0};
	ctl_call_t c = {&a, on_list, &x, 0, false, 0, 0, false};
	const char *where = server ? server : sock;
	int err = server ? ctl_call_auth(o, server, IDN_OC_LIST, 0, w.buf,
					 w.len, &c)
			 : ctl_node_call(o, IDN_NET_UNIX, sock, IDN_OC_LIST, 0,
					 w.buf, w.len, &c);
	idn_arena_free(&a);
	if (err == 0)
		err = x.err;
	if (err) {
		fprintf(stderr, "idctl: verify-sites: list %s at %s: %s\n",
			text, where, idn_strerror(err));
		return -1;
	}
	if (x.rc != IDN_RC_SUCCESS) {
		fprintf(stderr,
			"idctl: verify-sites: list %s at %s: %s (rc %u)\n",
			text, where, ctl_rc_name((int)x.rc), x.rc);
		return -1;
	}
	return 0;
}

/* --all: the primary's identifiers over the control socket, or, with
 * --auth, those of every server of every site (so that records only a
 * mirror holds are found too). Returns 0 or the exit status. */
static int list_all(ctl_opts_t *o, const verify_t *v, idset_t *set)
{
	const char *sock = ctl_control_path(o);
	if (o->auth == NULL && sock == NULL) {
		fprintf(stderr,
			"idctl: verify-sites: --all lists the identifiers with "
			"LIST_HANDLES (op 105), which needs an admin: --auth "
			"ADMIN_ID:INDEX with --key FILE or --secret FILE (every "
			"site is listed), or -C SOCKET when the primary is local; "
			"or give the identifiers as arguments or - (stdin)\n");
		return 2;
	}
	if (o->auth != NULL && o->key_file == NULL && o->secret_file == NULL)
		return ctl_usage("--auth needs --key FILE or --secret FILE%s",
				 "");
	if (o->auth == NULL)
		return list_at(o, sock, NULL, set) ? 2 : 0;
	for (unsigned si = 0; si < v->nsites; si++) {
		const verify_site_t *s = &v->sites[si];
		for (uint32_t k = 0; k < s->site.nservers; k++) {
			if (list_at(o, NULL, s->addr[k], set) == 0)
				continue;
			if (si == v->primary)
				return 2;
			set->list_failed = true;
		}
	}
	return 0;
}

/* ---- the report ---- */

static const char *site_role(const verify_t *v, unsigned si)
{
	return si == v->primary ? "primary" : "mirror";
}

static void fields_text(uint8_t f, char *out, size_t cap)
{
	static const char *const names[] = {"type",  "data",	  "ttl",
					    "perms", "timestamp", "refs"};
	size_t len = 0;
	out[0] = 0;
	for (unsigned b = 0; b < 6; b++)
		if (f & (1u << b))
			len += (size_t)snprintf(
				out + len, len < cap ? cap - len : 0, "%s%s",
				len ? ", " : "", names[b]);
}

typedef struct {
	size_t agree, differing, errors;
	double seconds;
} totals_t;

static void totals_count(const verify_t *v, totals_t *t)
{
	for (size_t i = 0; i < v->nids; i++) {
		bool diff = false, err = false;
		for (uint32_t j = 0; j < v->items[i].n; j++) {
			if (v->items[i].d[j].kind == VD_ERROR)
				err = true;
			else
				diff = true;
		}
		t->differing += diff;
		t->errors += err;
		t->agree += !diff && !err;
	}
}

static void print_diff(const verify_t *v, const char *id,
		       const verify_diff_t *d)
{
	const verify_site_t *s = &v->sites[d->site];
	char f[80];
	printf("%s at %s %s (site %u): ", id, site_role(v, d->site),
	       s->addr[d->server], s->index);
	switch (d->kind) {
	case VD_MISSING:
		printf("record missing\n");
		break;
	case VD_EXTRA:
		printf("extra record (not at the primary)\n");
		break;
	case VD_VALUE_MISSING:
		printf("value %u missing\n", d->index);
		break;
	case VD_VALUE_EXTRA:
		printf("extra value %u\n", d->index);
		break;
	case VD_VALUE_DIFFERS:
		fields_text(d->fields, f, sizeof(f));
		printf("value %u differs in %s\n", d->index, f);
		break;
	default:
		printf("error: %s\n", d->detail);
	}
}

static void print_text(const verify_t *v, const char *prefix, const totals_t *t)
{
	printf("sites of %s:\n", prefix);
	for (unsigned si = 0; si < v->nsites; si++) {
		const verify_site_t *s = &v->sites[si];
		printf("  site %u  %-7s ", s->index, site_role(v, si));
		for (uint32_t k = 0; k < s->site.nservers; k++)
			printf("%s%s", k ? ", " : "", s->addr[k]);
		printf("\n");
	}
	size_t shown[VERIFY_SITES_MAX] = {0}, hidden[VERIFY_SITES_MAX] = {0};
	for (size_t i = 0; i < v->nids; i++)
		for (uint32_t j = 0; j < v->items[i].n; j++) {
			const verify_diff_t *d = &v->items[i].d[j];
			if (d->kind == VD_ERROR &&
			    shown[d->site]++ >= ERRORS_SHOWN) {
				hidden[d->site]++;
				continue;
			}
			print_diff(v, v->ids[i], d);
		}
	for (unsigned si = 0; si < v->nsites; si++)
		if (hidden[si])
			printf("... and %zu more errors at site %u\n",
			       hidden[si], v->sites[si].index);
	printf("checked %zu identifiers at %u sites in %.2f s (%.0f/s): %zu "
	       "agree, %zu differ, %zu with errors\n",
	       v->nids, v->nsites, t->seconds,
	       t->seconds > 0 ? (double)v->nids / t->seconds : 0.0, t->agree,
	       t->differing, t->errors);
}

static json_t *diff_json(const verify_t *v, const verify_diff_t *d)
{
	const verify_site_t *s = &v->sites[d->site];
	json_t *o = json_object();
	json_object_set_new(o, "site", json_integer(s->index));
	json_object_set_new(o, "server", json_string(s->addr[d->server]));
	json_object_set_new(o, "kind", json_string(verify_kind_name(d->kind)));
	if (d->kind >= VD_VALUE_MISSING && d->kind <= VD_VALUE_DIFFERS)
		json_object_set_new(o, "index", json_integer(d->index));
	if (d->kind == VD_VALUE_DIFFERS) {
		static const char *const names[] = {
			"type", "data", "ttl", "perms", "timestamp", "refs"};
		json_t *f = json_array();
		for (unsigned b = 0; b < 6; b++)
			if (d->fields & (1u << b))
				json_array_append_new(f, json_string(names[b]));
		json_object_set_new(o, "fields", f);
	}
	if (d->kind == VD_ERROR) {
		if (d->rc)
			json_object_set_new(o, "rc", json_integer(d->rc));
		json_object_set_new(o, "error", json_string(d->detail));
	}
	return o;
}

static void print_json(const verify_t *v, const char *prefix, const totals_t *t)
{
	json_t *root = json_object(), *sites = json_array(),
	       *items = json_array();
	json_object_set_new(root, "prefix", json_string(prefix));
	for (unsigned si = 0; si < v->nsites; si++) {
		const verify_site_t *s = &v->sites[si];
		json_t *so = json_object(), *srv = json_array();
		json_object_set_new(so, "index", json_integer(s->index));
		json_object_set_new(so, "role", json_string(site_role(v, si)));
		for (uint32_t k = 0; k < s->site.nservers; k++)
			json_array_append_new(srv, json_string(s->addr[k]));
		json_object_set_new(so, "servers", srv);
		json_array_append_new(sites, so);
	}
	json_object_set_new(root, "sites", sites);
	json_object_set_new(root, "checked", json_integer((json_int_t)v->nids));
	json_object_set_new(root, "agreeing",
			    json_integer((json_int_t)t->agree));
	json_object_set_new(root, "differing",
			    json_integer((json_int_t)t->differing));
	json_object_set_new(root, "errors",
			    json_integer((json_int_t)t->errors));
	json_object_set_new(root, "seconds", json_real(t->seconds));
	json_object_set_new(
		root, "rate",
		json_integer(t->seconds > 0 ? (json_int_t)((double)v->nids /
							   t->seconds)
					    : 0));
	for (size_t i = 0; i < v->nids; i++) {
		if (v->items[i].n == 0)
			continue;
		json_t *it = json_object(), *ds = json_array();
		json_object_set_new(it, "handle", json_string(v->ids[i]));
		for (uint32_t j = 0; j < v->items[i].n; j++)
			json_array_append_new(ds,
					      diff_json(v, &v->items[i].d[j]));
		json_object_set_new(it, "differences", ds);
		json_array_append_new(items, it);
	}
	json_object_set_new(root, "items", items);
	ctl_print_json(root);
	json_decref(root);
}

/* ---- the command ---- */

typedef struct {
	const char *prefix;
	bool all;
	size_t sample; /* 0: every identifier */
	unsigned parallel;
	int first_id, nids; /* of the arguments */
} vargs_t;

static int parse_args(int argc, char **argv, vargs_t *va, char **ids)
{
	uint32_t x;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool val = !strcmp(a, "--sample") || !strcmp(a, "--parallel");
		if (val && i + 1 == argc)
			return ctl_usage("verify-sites: %s needs a value", a);
		if (!strcmp(a, "--all")) {
			va->all = true;
		} else if (val) {
			const char *s = argv[++i];
			if (ctl_parse_u32(s, strlen(s), 10, &x) != 0 ||
			    x == 0 || (a[2] == 'p' && x > 64))
				return ctl_usage("verify-sites: bad value '%s'",
						 s);
			if (a[2] == 's')
				va->sample = x;
			else
				va->parallel = x;
		} else if (va->prefix == NULL) {
			va->prefix = a;
		} else {
			ids[va->nids++] = argv[i];
		}
	}
	if (va->prefix == NULL)
		return ctl_usage("verify-sites needs a PREFIX%s", "");
	if (va->all == (va->nids > 0))
		return ctl_usage("verify-sites: give --all or identifiers (or "
				 "- for stdin)%s",
				 "");
	return 0;
}

/* Fills set from the arguments, stdin or --all. Returns 0 or the exit
 * status. */
static int gather_ids(ctl_opts_t *o, const vargs_t *va, char **argv,
		      const verify_t *v, idset_t *set)
{
	int err = 0;
	if (va->all)
		return list_all(o, v, set);
	for (int i = 0; i < va->nids && err == 0; i++)
		err = !strcmp(argv[i], "-")
			      ? ids_read(set, stdin)
			      : ids_add(set, argv[i], strlen(argv[i]));
	if (err)
		fprintf(stderr, "idctl: verify-sites: %s\n", idn_strerror(err));
	return err ? 1 : 0;
}

static int cmd_verify(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	vargs_t va = {0};
	char **args = idn_arena_array(a, (size_t)argc + 1, sizeof(char *));
	if (args == NULL)
		return 1;
	int rc = parse_args(argc, argv, &va, args);
	if (rc)
		return rc;
	uint8_t norm[IDN_IDENT_MAX + 1];
	uint32_t nlen;
	if (idn_prefix_normalise((const uint8_t *)va.prefix, strlen(va.prefix),
				 norm, &nlen) != 0)
		return ctl_usage("verify-sites: bad prefix '%s'", va.prefix);
	char prefix[IDN_IDENT_MAX + 1];
	snprintf(prefix, sizeof(prefix), "%.*s", (int)nlen, (char *)norm);
	const char *root = o->server ? o->server : CTL_DEFAULT_SERVER;
	verify_t v = {0};
	v.sites = idn_arena_array(a, VERIFY_SITES_MAX, sizeof(*v.sites));
	v.timeout_ms = ctl_timeout(o, CTL_TIMEOUT_MS);
	v.parallel = va.parallel ? va.parallel : 16;
	idn_resolver_opts_t ro = {&root, 1, NULL, v.timeout_ms, 0, 0};
	idn_resolver_t *r;
	if (v.sites == NULL || idn_resolver_new(&ro, &r) != 0)
		return 1;
	sites_ctx_t sc = {o, a, r, &v, root};
	rc = sites_load(&sc, prefix);
	idn_resolver_free(r);
	if (rc)
		return rc;
	idset_t set = {prefix, NULL, 0, 0, false};
	rc = gather_ids(o, &va, args, &v, &set);
	if (rc == 0) {
		ids_unique(&set);
		if (va.sample)
			ids_sample(&set, va.sample);
		v.ids = set.ids;
		v.nids = set.n;
		uint64_t t0 = idn_now_ms();
		rc = verify_run(&v) ? 1 : 0;
		totals_t t = {0};
		t.seconds = (double)(idn_now_ms() - t0) / 1000.0;
		if (rc == 0) {
			totals_count(&v, &t);
			if (o->json)
				print_json(&v, prefix, &t);
			else
				print_text(&v, prefix, &t);
			rc = t.errors || set.list_failed ? 2
			     : t.differing		 ? 1
							 : 0;
		} else {
			fprintf(stderr, "idctl: verify-sites: out of memory\n");
		}
		verify_items_free(&v);
	}
	ids_free(&set);
	return rc;
}

int ctl_cmd_verify_sites(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_verify);
}
