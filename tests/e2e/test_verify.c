/* idctl verify-sites end to end: a parent node (homed 88.118) holds the
 * delegation 0.NA/88.118.8 to a primary and two mirror sites, each an
 * idnode with its own store (the mirrors start on hot backups of the
 * primary's). A clean set agrees (exit 0); a modified value, an added and
 * a removed value, a deleted record and a record only a mirror holds are
 * each reported at the site where they are (exit 1); a mirror that is
 * down is named with exit 2. A prefix handle that names a service handle
 * (HS_SERV) gives the sites of that handle.
 *
 * The mirrors run on LMDB. On the LMDB pass the parent and the primary
 * do too; on the PostgreSQL pass (IDN_E2E_PG) they run on PostgreSQL and
 * the mirrors start on logical copies of the primary's database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "site.h"

#define NRECS 30
#define ADMIN "0.NA/" H_HOME ":300"

typedef struct {
	node_t *par, *p, *m1, *m2;
	char key[200];
} fx_t;

static fx_t fx;

/* A node started on a copy of the primary's store: a hot backup of an
 * LMDB primary; of a PostgreSQL primary, the logical copy idctl migrate
 * writes into an LMDB store (docs/operations.md, Backups), which the node
 * runs on on both passes. */
static node_t *mirror_of(node_t *p, const char *name)
{
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/%s", p->dir, name);
	if (h_pg()) {
		char to[210];
		snprintf(to, sizeof(to), "lmdb:%s", dir);
		h_run_t r;
		h_idctl(&r, "migrate", "--from", node_store(p), "--to", to,
			"--no-progress", NULL);
		h_assert_status(&r, 0);
		h_run_free(&r);
	} else {
		h_ctl_ok(p, "backup", dir, NULL);
	}
	node_t *m = node_new("--home", H_HOME, "--rrl-rate", "0", NULL);
	assert_int_equal(rmdir(m->data) == 0 || errno == ENOENT, 1);
	assert_int_equal(rename(dir, m->data), 0);
	char store[160];
	snprintf(store, sizeof(store), "lmdb:%s", m->data);
	node_add_args(m, "--store", store, NULL);
	return m;
}

static int setup(void **state)
{
	(void)state;
	fx.par = node_new("--home", "88.118", "--rrl-rate", "0", NULL);
	fx.p = node_new("--home", H_HOME, "--rrl-rate", "0", NULL);
	node_start(fx.par);
	node_start(fx.p);
	snprintf(fx.key, sizeof(fx.key), "%s/admin.pem", fx.p->dir);
	char *hex = h_keygen(fx.key, NULL, NULL);
	char pub[4096];
	snprintf(pub, sizeof(pub), "300,perms=e:HS_PUBKEY=hex:%s", hex);
	free(hex);
	h_ctl_ok(fx.p, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", pub, NULL);
	for (int i = 0; i < NRECS; i++) {
		char id[64], url[96], mail[96];
		snprintf(id, sizeof(id), H_HOME "/v%02d", i);
		snprintf(url, sizeof(url), "1:URL=https://example.org/%d", i);
		snprintf(mail, sizeof(mail), "2,ttl=600:EMAIL=m%d@example.org",
			 i);
		h_ctl_ok(fx.p, "create", id, url, mail, NULL);
	}
	fx.m1 = mirror_of(fx.p, "copy1");
	fx.m2 = mirror_of(fx.p, "copy2");
	node_start(fx.m1);
	node_start(fx.m2);
	h_ctl_ok(fx.par, "delegate", H_HOME, "--to", fx.p->addr, "--mirror",
		 fx.m1->addr, "--mirror", fx.m2->addr, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_free(fx.m2);
	node_free(fx.m1);
	node_free(fx.p);
	node_free(fx.par);
	return 0;
}

/* verify-sites over the network as the prefix's admin (every site
 * listed), --json; returns the report and the exit status in *st. */
static json_t *verify_auth(int *st, const char *extra)
{
	h_run_t r;
	*st = h_idctl(&r, "-s", fx.par->addr, "--auth", ADMIN, "--key", fx.key,
		      "--json", "verify-sites", H_HOME, "--all", extra, NULL);
	json_t *j = h_json(&r);
	h_run_free(&r);
	return j;
}

static long long jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		fail_msg("report has no integer '%s'", k);
	return json_integer_value(v);
}

/* The difference of item handle at site (index of its HS_SITE), or
 * NULL. */
static json_t *diff_at(json_t *report, const char *handle, long site)
{
	json_t *items = json_object_get(report, "items"), *it;
	size_t i, j;
	json_array_foreach(items, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "handle")),
			   handle))
			continue;
		json_t *d;
		json_array_foreach(json_object_get(it, "differences"), j, d)
		{
			if (json_integer_value(json_object_get(d, "site")) ==
			    site)
				return d;
		}
	}
	return NULL;
}

static void assert_kind(json_t *d, const char *kind, long index)
{
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "kind")),
			    kind);
	if (index >= 0)
		assert_int_equal(
			json_integer_value(json_object_get(d, "index")), index);
}

/* A clean set: the sites from the delegation, every record agrees. */
static void clean_sites_agree(void **state)
{
	(void)state;
	int st;
	json_t *j = verify_auth(&st, NULL);
	assert_int_equal(st, 0);
	assert_int_equal(jint(j, "checked"), NRECS);
	assert_int_equal(jint(j, "agreeing"), NRECS);
	assert_int_equal(jint(j, "differing"), 0);
	assert_int_equal(jint(j, "errors"), 0);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_t *sites = json_object_get(j, "sites");
	assert_int_equal(json_array_size(sites), 3);
	const char *want[3] = {fx.p->addr, fx.m1->addr, fx.m2->addr};
	for (size_t i = 0; i < 3; i++) {
		json_t *s = json_array_get(sites, i);
		assert_int_equal(jint(s, "index"), (long long)i + 1);
		assert_string_equal(
			json_string_value(json_object_get(s, "role")),
			i == 0 ? "primary" : "mirror");
		assert_string_equal(json_string_value(json_array_get(
					    json_object_get(s, "servers"), 0)),
				    want[i]);
	}
	json_decref(j);

	/* a sample of the primary's list through its control socket */
	h_run_t r;
	assert_int_equal(h_ctl(&r, fx.p, "-s", fx.par->addr, "--json",
			       "verify-sites", H_HOME, "--all", "--sample", "7",
			       NULL),
			 0);
	j = h_json(&r);
	assert_int_equal(jint(j, "checked"), 7);
	json_decref(j);
	h_run_free(&r);

	/* --all without a way to list: says what is needed */
	assert_int_equal(h_idctl(&r, "-s", fx.par->addr, "verify-sites", H_HOME,
				 "--all", NULL),
			 2);
	assert_non_null(strstr(r.err, "--auth ADMIN_ID:INDEX"));
	assert_non_null(strstr(r.err, "-C SOCKET"));
	h_run_free(&r);
}

/* Differences made on the mirrors are each reported where they are. */
static void differences_reported(void **state)
{
	(void)state;
	h_ctl_ok(fx.m1, "modify", H_HOME "/v05",
		 "1:URL=https://elsewhere.example/5", NULL);
	h_ctl_ok(fx.m1, "add", H_HOME "/v09", "3:URL=https://added", NULL);
	h_ctl_ok(fx.m1, "remove", H_HOME "/v10", "2", NULL);
	h_ctl_ok(fx.m2, "delete", H_HOME "/v07", NULL);
	h_ctl_ok(fx.m2, "create", H_HOME "/only-here", "1:URL=https://x", NULL);
	int st;
	json_t *j = verify_auth(&st, NULL);
	assert_int_equal(st, 1);
	assert_int_equal(jint(j, "checked"), NRECS + 1);
	assert_int_equal(jint(j, "differing"), 5);
	assert_int_equal(jint(j, "agreeing"), NRECS + 1 - 5);
	assert_int_equal(jint(j, "errors"), 0);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 5);
	json_t *d = diff_at(j, H_HOME "/v05", 2);
	assert_kind(d, "value-differs", 1);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(d, "fields"), 0)),
			    "data");
	assert_string_equal(json_string_value(json_object_get(d, "server")),
			    fx.m1->addr);
	assert_null(diff_at(j, H_HOME "/v05", 3));
	assert_kind(diff_at(j, H_HOME "/v09", 2), "value-extra", 3);
	assert_kind(diff_at(j, H_HOME "/v10", 2), "value-missing", 2);
	assert_kind(diff_at(j, H_HOME "/v07", 3), "missing", -1);
	assert_null(diff_at(j, H_HOME "/v07", 2));
	assert_kind(diff_at(j, H_HOME "/only-here", 3), "extra", -1);
	json_decref(j);

	/* the same in words, for identifiers given on the command line */
	h_run_t r;
	assert_int_equal(h_idctl(&r, "-s", fx.par->addr, "verify-sites", H_HOME,
				 H_HOME "/v05", H_HOME "/v07", H_HOME "/v01",
				 NULL),
			 1);
	char want[200];
	snprintf(want, sizeof(want),
		 H_HOME "/v05 at mirror %s (site 2): value 1 differs in data",
		 fx.m1->addr);
	assert_non_null(strstr(r.out, want));
	snprintf(want, sizeof(want),
		 H_HOME "/v07 at mirror %s (site 3): record missing",
		 fx.m2->addr);
	assert_non_null(strstr(r.out, want));
	assert_null(strstr(r.out, H_HOME "/v01 at"));
	assert_non_null(strstr(r.out, "checked 3 identifiers at 3 sites"));
	assert_non_null(strstr(r.out, "1 agree, 2 differ, 0 with errors"));
	h_run_free(&r);
}

/* "INDEX:HS_SITE=hex:..." of a site of one server built as idnode's are. */
static void site_value(char *out, size_t cap, uint32_t index, bool primary,
		       const char *server)
{
	uint8_t buf[1024];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_site_opts_t o = {
		1, primary ? IDN_SITE_PRIMARY : 0, "test", {0}, 0, false};
	assert_int_equal(idn_site_build(&w, &o, &server, 1, NULL, 0), 0);
	int n = snprintf(out, cap, "%u:HS_SITE=hex:", index);
	for (size_t i = 0; i < w.len; i++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", buf[i]);
}

/* 0.NA/PREFIX naming a service handle: its HS_SITE values are the sites,
 * and the differences are found there as before. */
static void service_handle_sites(void **state)
{
	(void)state;
	char v1[1024], v2[1024], v3[1024];
	site_value(v1, sizeof(v1), 1, true, fx.p->addr);
	site_value(v2, sizeof(v2), 2, false, fx.m1->addr);
	site_value(v3, sizeof(v3), 3, false, fx.m2->addr);
	h_ctl_ok(fx.par, "create", "88.118/service", v1, v2, v3, NULL);
	h_ctl_ok(fx.par, "create", "--overwrite", "0.NA/" H_HOME,
		 "1:HS_SERV=88.118/service", "100:HS_ADMIN=0.NA/88.118@300",
		 NULL);
	int st;
	json_t *j = verify_auth(&st, NULL);
	assert_int_equal(st, 1);
	assert_int_equal(json_array_size(json_object_get(j, "sites")), 3);
	assert_int_equal(jint(j, "differing"), 5);
	assert_kind(diff_at(j, H_HOME "/v07", 3), "missing", -1);
	json_decref(j);
	h_ctl_ok(fx.par, "delegate", H_HOME, "--to", fx.p->addr, "--mirror",
		 fx.m1->addr, "--mirror", fx.m2->addr, NULL);
}

/* A mirror that is down: exit 2, each of its records an error naming
 * it, the other mirror still compared. */
static void unreachable_mirror(void **state)
{
	(void)state;
	node_stop(fx.m2);
	h_run_t r;
	int st = h_ctl(&r, fx.p, "-s", fx.par->addr, "--json", "verify-sites",
		       H_HOME, "--all", NULL);
	assert_int_equal(st, 2);
	json_t *j = h_json(&r);
	h_run_free(&r);
	assert_int_equal(jint(j, "checked"), NRECS);
	assert_int_equal(jint(j, "errors"), NRECS);
	json_t *d = diff_at(j, H_HOME "/v00", 3);
	assert_kind(d, "error", -1);
	assert_string_equal(json_string_value(json_object_get(d, "server")),
			    fx.m2->addr);
	assert_non_null(strstr(json_string_value(json_object_get(d, "error")),
			       "unreachable"));
	assert_kind(diff_at(j, H_HOME "/v05", 2), "value-differs", 1);
	json_decref(j);
	assert_int_equal(h_ctl(&r, fx.p, "-s", fx.par->addr, "verify-sites",
			       H_HOME, "--all", NULL),
			 2);
	char want[200];
	snprintf(want, sizeof(want),
		 "at mirror %s (site 3): error: unreachable", fx.m2->addr);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "more errors at site 3"));
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_sites_agree),
		cmocka_unit_test(differences_reported),
		cmocka_unit_test(service_handle_sites),
		cmocka_unit_test(unreachable_mirror),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
