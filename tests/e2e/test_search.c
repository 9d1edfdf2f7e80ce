/* Search against a real node (on PostgreSQL too in the second pass):
 * idctl search over the control socket, UDP and TCP, and GET /api/search,
 * after creates, modifies away from and back to the searched data, value
 * removals, deletes, overwrites, HTTP PUT/DELETE and a bulk import; paging
 * that returns every match exactly once; time ranges and prefixes;
 * non-public data invisible to anonymous clients; clear errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "search-test-token-0123456789"

static node_t *node;
static uint16_t hport;

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, "--home", "88.7", NULL);
	char tok[256], port[32];
	snprintf(tok, sizeof(tok), "%s/admin.token", node->dir);
	FILE *f = fopen(tok, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	chmod(tok, 0600);
	hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	node_add_args(node, "--http", port, "--http-admin-token-file", tok,
		      NULL);
	node_start(node);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(node);
	node_free(node);
	return 0;
}

/* The identifiers of `idctl search ARGS --all` joined by spaces (control
 * socket), asserting success. */
static char *ctl_search(const char *const *args)
{
	const char *argv[32];
	int n = 0;
	argv[n++] = "search";
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = "--all";
	argv[n] = NULL;
	h_run_t r;
	h_ctl_argv(&r, node, argv);
	h_assert_status(&r, 0);
	char *out = strdup(r.out);
	h_run_free(&r);
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : 0;
	return out;
}

static void expect(const char *want, const char *const *args)
{
	char *got = ctl_search(args);
	if (strcmp(got, want) != 0) {
		char line[512] = "";
		for (int i = 0; args[i]; i++) {
			strncat(line, args[i], sizeof(line) - strlen(line) - 2);
			strcat(line, " ");
		}
		fail_msg("search %s\n got: [%s]\nwant: [%s]", line, got, want);
	}
	free(got);
}

#define BATCH(d) ((const char *const[]){"--type", "BATCH", "--data", d, NULL})

#define NOT_INDEXED(t) "type " t " is not indexed; run idctl index add " t

static char *http(const char *method, const char *path, const char *body,
		  bool token, int *status);

/* `idctl index ARGS` over the control socket: its output, asserting
 * status want. */
static char *ctl_index(int want, const char *action, const char *type)
{
	h_run_t r;
	const char *argv[] = {"index", action, type, NULL};
	h_ctl_argv(&r, node, argv);
	h_assert_status(&r, want);
	char *out = strdup(want ? r.err : r.out);
	h_run_free(&r);
	return out;
}

/* A search by a type that is not declared is refused on every interface
 * with the same message; declaring it indexes the records already there;
 * removing it refuses searches again. */
static void declared_types(void **state)
{
	(void)state;
	char *out = ctl_index(0, "list", NULL);
	assert_string_equal(out, ""); /* a new store declares none */
	free(out);
	h_ctl_ok(node, "create", H_HOME "/d-1", "1:BATCH=D-1", "2:URL=u", NULL);
	h_run_t r;
	h_ctl(&r, node, "search", "--type", "BATCH", "--data", "D-1", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, NOT_INDEXED("BATCH")));
	h_run_free(&r);
	const char *transports[] = {NULL, "--tcp"};
	for (int i = 0; i < 2; i++) {
		const char *argv[] = {"search", "--type", "BATCH",
				      "--data", "D-1",	  transports[i],
				      NULL};
		h_net_argv(&r, node, argv);
		h_assert_status(&r, 1);
		assert_non_null(strstr(r.err, NOT_INDEXED("BATCH")));
		h_run_free(&r);
	}
	int st;
	if (access("/usr/bin/curl", X_OK) == 0) {
		char *b = http("GET", "/api/search?type=BATCH&data=D-1", NULL,
			       false, &st);
		assert_int_equal(st, 400);
		assert_non_null(strstr(b, NOT_INDEXED("BATCH")));
		free(b);
	}
	/* a time range without a type needs the creation time index; a
	 * prefix alone needs none */
	h_ctl(&r, node, "search", "--prefix", H_HOME, "--since", "2000-01-01",
	      NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "creation time is not indexed; run "
				      "idctl index add --created"));
	h_run_free(&r);
	h_ctl(&r, node, "search", "--prefix", H_HOME, NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, H_HOME "/d-1\n");
	h_run_free(&r);
	if (access("/usr/bin/curl", X_OK) == 0) {
		char *b = http("GET", "/api/search?since=2000-01-01", NULL,
			       true, &st);
		assert_int_equal(st, 400);
		assert_non_null(strstr(b, "creation time is not indexed"));
		free(b);
	}
	h_ctl_ok(node, "index", "add", "--created", NULL);
	h_ctl(&r, node, "search", "--prefix", H_HOME, "--since", "2000-01-01",
	      NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, H_HOME "/d-1\n");
	h_run_free(&r);
	out = ctl_index(0, "remove", "--created");
	assert_string_equal(out, "");
	free(out);

	out = ctl_index(0, "add", "BATCH");
	assert_string_equal(out, "BATCH\n");
	free(out);
	expect(H_HOME "/d-1", BATCH("D-1"));
	h_net(&r, node, "search", "--type", "BATCH", "--data", "D-1", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, H_HOME "/d-1\n");
	h_run_free(&r);
	out = ctl_index(0, "add", "BATCH"); /* again: nothing changes */
	assert_string_equal(out, "BATCH\n");
	free(out);
	out = ctl_index(0, "add", "URL");
	assert_string_equal(out, "BATCH\nURL\n");
	free(out);
	expect(H_HOME "/d-1",
	       ((const char *const[]){"--type", "URL", "--data", "u", NULL}));
	out = ctl_index(0, "remove", "URL");
	assert_string_equal(out, "BATCH\n");
	free(out);
	h_ctl(&r, node, "search", "--type", "URL", "--data", "u", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, NOT_INDEXED("URL")));
	h_run_free(&r);
	out = ctl_index(1, "remove", "URL");
	assert_non_null(strstr(out, "not indexed"));
	free(out);
	out = ctl_index(2, "add", "HS_ADMIN");
	assert_non_null(strstr(out, "bad type"));
	free(out);
	h_ctl_ok(node, "delete", H_HOME "/d-1", NULL);

	/* what the other tests search */
	const char *types[] = {"URL",	 "LOT",	 "SERIAL",   "COLOR",
			       "SECRET", "PART", "TEMPLATE", NULL};
	for (int i = 0; types[i]; i++)
		free(ctl_index(0, "add", types[i]));
	free(ctl_index(0, "add", "--created"));
	out = ctl_index(0, "list", NULL);
	assert_string_equal(out, "--created\nBATCH\nCOLOR\nLOT\nPART\nSECRET\n"
				 "SERIAL\nTEMPLATE\nURL\n");
	free(out);
	/* --json */
	h_ctl(&r, node, "index", "list", "--json", NULL);
	h_assert_status(&r, 0);
	json_t *j = h_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "types")), 8);
	assert_true(json_is_true(json_object_get(j, "created")));
	json_decref(j);
	h_run_free(&r);
}

/* Values of types not declared are stored but not searchable. */
static void undeclared_writes(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/u-1", "1:NOTE=n1", "2:BATCH=U-1",
		 NULL);
	h_run_t r;
	h_ctl(&r, node, "search", "--type", "NOTE", "--data", "n1", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, NOT_INDEXED("NOTE")));
	h_run_free(&r);
	expect(H_HOME "/u-1", BATCH("U-1"));
	h_ctl(&r, node, "resolve", H_HOME "/u-1", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "n1"));
	h_run_free(&r);
	h_ctl_ok(node, "delete", H_HOME "/u-1", NULL);
}

/* Every write path of the control socket keeps search exact. */
static void writes_and_search(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/w-a", "1:URL=https://e.com/a",
		 "2:BATCH=2026-11-A", NULL);
	h_ctl_ok(node, "create", H_HOME "/w-b", "1:BATCH=2026-11-A", NULL);
	h_ctl_ok(node, "create", "88.7/w-c", "5:BATCH=2026-11-A", NULL);
	expect(H_HOME "/w-a " H_HOME "/w-b 88.7/w-c", BATCH("2026-11-A"));
	expect("", BATCH("2026-11-a")); /* case-sensitive data */
	expect(H_HOME "/w-a " H_HOME "/w-b",
	       ((const char *const[]){"--type", "BATCH", "--data", "2026-11-A",
				      "--prefix", H_HOME, NULL}));

	/* modify away, then back */
	h_ctl_ok(node, "modify", H_HOME "/w-a", "2:BATCH=2026-11-B", NULL);
	expect(H_HOME "/w-b 88.7/w-c", BATCH("2026-11-A"));
	expect(H_HOME "/w-a", BATCH("2026-11-B"));
	h_ctl_ok(node, "modify", H_HOME "/w-a", "2:BATCH=2026-11-A", NULL);
	expect(H_HOME "/w-a " H_HOME "/w-b 88.7/w-c", BATCH("2026-11-A"));
	expect("", BATCH("2026-11-B"));

	/* add, remove a value */
	h_ctl_ok(node, "add", H_HOME "/w-b", "7:LOT=L1", NULL);
	expect(H_HOME "/w-b",
	       ((const char *const[]){"--type", "LOT", "--data", "L1", NULL}));
	h_ctl_ok(node, "remove", H_HOME "/w-b", "7", NULL);
	expect("",
	       ((const char *const[]){"--type", "LOT", "--data", "L1", NULL}));
	h_ctl_ok(node, "remove", H_HOME "/w-b", "1", NULL);
	expect(H_HOME "/w-a 88.7/w-c", BATCH("2026-11-A"));

	/* overwrite a whole record, delete one */
	h_ctl_ok(node, "--overwrite", "create", "88.7/w-c", "1:BATCH=2026-11-C",
		 NULL);
	expect(H_HOME "/w-a", BATCH("2026-11-A"));
	expect("88.7/w-c", BATCH("2026-11-C"));
	h_ctl_ok(node, "delete", H_HOME "/w-a", NULL);
	expect("", BATCH("2026-11-A"));

	/* a refused write leaves the index as it was */
	h_run_t r;
	h_ctl(&r, node, "create", "88.7/w-c", "1:BATCH=2026-11-D", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	expect("", BATCH("2026-11-D"));

	/* the index and the declared types survive a restart */
	node_stop(node);
	node_start(node);
	expect("88.7/w-c", BATCH("2026-11-C"));
	char *types = ctl_index(0, "list", NULL);
	assert_non_null(strstr(types, "BATCH\n"));
	assert_non_null(strstr(types, "URL\n"));
	free(types);
}

/* Non-public values: found over the control socket only. */
static void visibility(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/v-open", "1:SERIAL=S-9", NULL);
	h_ctl_ok(node, "create", H_HOME "/v-hidden", "1,perms=c:SERIAL=S-9",
		 NULL);
	const char *const q[] = {"--type", "SERIAL", "--data", "S-9", NULL};
	expect(H_HOME "/v-hidden " H_HOME "/v-open", q);
	const char *transports[] = {NULL, "--tcp"};
	for (int i = 0; i < 2; i++) {
		h_run_t r;
		const char *argv[] = {"search", "--type", "SERIAL",
				      "--data", "S-9",	  transports[i],
				      NULL};
		h_net_argv(&r, node, argv);
		h_assert_status(&r, 0);
		assert_string_equal(r.out, H_HOME "/v-open\n");
		h_run_free(&r);
	}
	/* --public on the control socket asks for the same */
	h_run_t r;
	h_ctl(&r, node, "search", "--type", "SERIAL", "--data", "S-9",
	      "--public", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, H_HOME "/v-open\n");
	h_run_free(&r);
	/* listing by prefix is not for anonymous network clients */
	h_net(&r, node, "search", "--prefix", H_HOME, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "give a type and data"));
	h_run_free(&r);
}

/* A bulk import is indexed; paging returns every match exactly once. */
static void import_and_paging(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/lots.jsonl", node->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	/* 2500 records; every third in lot X; creation times 2020-01-01 plus
	 * i minutes */
	for (int i = 0; i < 2500; i++) {
		unsigned ts = 1577836800u + 60u * (unsigned)i;
		fprintf(f,
			"{\"handle\":\"" H_HOME "/imp-%05d\",\"values\":["
			"{\"index\":1,\"type\":\"LOT\",\"data\":\"%s\","
			"\"timestamp\":%u}]}\n",
			i, i % 3 ? "Y" : "X", ts);
	}
	fclose(f);
	h_run_t r;
	const char *argv[] = {h_bin("idctl"), "-C",	 node->ctl, "import",
			      path,	      "--quiet", NULL};
	h_run(&r, 120000, argv);
	h_assert_status(&r, 0);
	h_run_free(&r);

	/* page by page with explicit cursors: 834 matches, page size 100 */
	char cursor[8192] = "";
	int total = 0, pages = 0;
	char last[64] = "";
	for (;;) {
		const char *args[] = {
			"--json",      "search", "--type",
			"LOT",	       "--data", "X",
			"--page-size", "100",	 cursor[0] ? "--cursor" : NULL,
			cursor,	       NULL};
		h_ctl_argv(&r, node, args);
		h_assert_status(&r, 0);
		json_t *j = h_json(&r);
		json_t *res = json_object_get(j, "results");
		assert_true(json_is_array(res));
		size_t i;
		json_t *v;
		json_array_foreach(res, i, v)
		{
			const char *id =
				json_string_value(json_object_get(v, "handle"));
			int k = atoi(strrchr(id, '-') + 1);
			assert_int_equal(k % 3, 0);
			if (strcmp(id, last) <= 0)
				fail_msg("%s after %s", id, last);
			snprintf(last, sizeof(last), "%s", id);
			total++;
		}
		pages++;
		json_t *next = json_object_get(j, "next");
		if (json_is_null(next)) {
			json_decref(j);
			h_run_free(&r);
			break;
		}
		assert_int_equal(json_array_size(res), 100);
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(j);
		h_run_free(&r);
	}
	assert_int_equal(total, 834);
	assert_int_equal(pages, 9);

	/* time range: minutes 100..199 inclusive, in creation order */
	const char *tq[] = {"search",  "--since",     "2020-01-01T01:40:00Z",
			    "--until", "1577848740",  "--prefix",
			    H_HOME,    "--page-size", "7",
			    "--all",   NULL};
	h_ctl_argv(&r, node, tq);
	h_assert_status(&r, 0);
	assert_int_equal(h_count_lines(r.out), 100);
	assert_true(strncmp(r.out, H_HOME "/imp-00100\n" H_HOME "/imp-00101\n",
			    2 * strlen(H_HOME "/imp-00100\n")) == 0);
	assert_non_null(strstr(r.out, H_HOME "/imp-00199\n"));
	assert_null(strstr(r.out, H_HOME "/imp-00200"));
	h_run_free(&r);
	/* type + time */
	const char *tt[] = {"search",	  "--type",  "LOT",	   "--data",
			    "X",	  "--since", "1577848740", "--until",
			    "1577849100", NULL};
	h_ctl_argv(&r, node, tt);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, H_HOME "/imp-00201\n" H_HOME "/imp-00204\n");
	h_run_free(&r);
}

/* HTTP writes and GET /api/search. */
static char *http(const char *method, const char *path, const char *body,
		  bool token, int *status)
{
	char url[1024], auth[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", hport, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TOKEN);
	const char *argv[16];
	int n = 0;
	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-s";
	argv[n++] = "-w";
	argv[n++] = "\n%{http_code}";
	argv[n++] = "-X";
	argv[n++] = method;
	if (token) {
		argv[n++] = "-H";
		argv[n++] = auth;
	}
	if (body) {
		argv[n++] = "-d";
		argv[n++] = body;
	}
	argv[n++] = url;
	argv[n] = NULL;
	h_run_t r;
	h_run(&r, 20000, argv);
	h_assert_status(&r, 0);
	char *nl = strrchr(r.out, '\n');
	assert_non_null(nl);
	*status = atoi(nl + 1);
	*nl = 0;
	char *out = strdup(r.out);
	h_run_free(&r);
	return out;
}

static void http_search(void **state)
{
	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0) {
		print_message("SKIP: /usr/bin/curl is absent\n");
		skip();
	}
	int st;
	free(http("PUT", "/api/handles/" H_HOME "/h-1",
		  "{\"values\":[{\"index\":1,\"type\":\"COLOR\",\"data\":"
		  "\"red\"},{\"index\":2,\"type\":\"SECRET\",\"data\":\"s1\","
		  "\"permissions\":\"rw--\"}]}",
		  true, &st));
	assert_int_equal(st, 201);
	char *b = http("GET", "/api/search?type=COLOR&data=red", NULL, false,
		       &st);
	assert_int_equal(st, 200);
	json_error_t je;
	json_t *j = json_loads(b, 0, &je);
	assert_non_null(j);
	json_t *res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(res, 0), "handle")),
			    H_HOME "/h-1");
	assert_true(json_is_null(json_object_get(j, "next")));
	json_decref(j);
	free(b);
	/* non-public: only with the token */
	b = http("GET", "/api/search?type=SECRET&data=s1", NULL, false, &st);
	assert_int_equal(st, 200);
	assert_non_null(strstr(b, "\"results\":[]"));
	free(b);
	b = http("GET", "/api/search?type=SECRET&data=s1", NULL, true, &st);
	assert_int_equal(st, 200);
	assert_non_null(strstr(b, H_HOME "/h-1"));
	free(b);
	/* PUT replaces the record: the old data is gone from the index */
	free(http("PUT", "/api/handles/" H_HOME "/h-1",
		  "{\"values\":[{\"index\":1,\"type\":\"COLOR\",\"data\":"
		  "\"blue\"}]}",
		  true, &st));
	assert_true(st == 200 || st == 201);
	b = http("GET", "/api/search?type=COLOR&data=red", NULL, false, &st);
	assert_non_null(strstr(b, "\"results\":[]"));
	free(b);
	b = http("GET", "/api/search?type=COLOR&data=blue", NULL, false, &st);
	assert_non_null(strstr(b, H_HOME "/h-1"));
	free(b);
	free(http("DELETE", "/api/handles/" H_HOME "/h-1", NULL, true, &st));
	assert_int_equal(st, 200);
	b = http("GET", "/api/search?type=COLOR&data=blue", NULL, false, &st);
	assert_non_null(strstr(b, "\"results\":[]"));
	free(b);
}

/* Template-checked writes: a refused write leaves the index alone, and
 * the records of a template are found by their template reference. */
static void template_writes(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/lot.json", node->dir);
	h_write_file(path, "{\"prefix\":\"" H_HOME "\",\"name\":\"lot\","
			   "\"version\":1,\"industry\":\"C/38/381/3811\","
			   "\"items\":[{\"name\":\"BATCH\",\"index\":2003,"
			   "\"type\":\"string\",\"required\":true,"
			   "\"min_len\":2,\"max_len\":8}]}");
	h_ctl_ok(node, "template", "put", H_HOME, path, NULL);
	h_ctl_ok(node, "create", H_HOME "/t-1", "--template", "lot@1",
		 "2003:BATCH=TB-1", NULL);
	h_run_t r;
	/* too long for the template: refused, not indexed */
	h_ctl(&r, node, "create", H_HOME "/t-2", "--template", "lot@1",
	      "2003:BATCH=TB-123456789", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	h_ctl(&r, node, "modify", H_HOME "/t-1", "2003:BATCH=TB-123456789",
	      NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	expect(H_HOME "/t-1", BATCH("TB-1"));
	expect("", BATCH("TB-123456789"));
	h_ctl_ok(node, "modify", H_HOME "/t-1", "2003:BATCH=TB-2", NULL);
	expect("", BATCH("TB-1"));
	expect(H_HOME "/t-1", BATCH("TB-2"));
	expect(H_HOME "/t-1", ((const char *const[]){"--type", "TEMPLATE",
						     "--data", "lot@1", NULL}));
}

/* idctl migrate writes the index of the destination as it copies. */
static void migrate_keeps_index(void **state)
{
	(void)state;
	h_ctl_ok(node, "create", H_HOME "/m-1", "1:PART=P-77", NULL);
	node_t *dst = node_new("--home", H_HOME, NULL);
	char from[512], to[512];
	if (h_pg()) {
		snprintf(from, sizeof(from), "%s", node_store(node));
		snprintf(to, sizeof(to), "%s", node_store(dst));
	} else {
		snprintf(from, sizeof(from), "lmdb:%s", node->data);
		snprintf(to, sizeof(to), "lmdb:%s", dst->data);
	}
	h_run_t r;
	h_idctl(&r, "migrate", "--from", from, "--to", to, "--verify",
		"--no-progress", NULL);
	h_assert_status(&r, 0);
	h_run_free(&r);
	node_start(dst);
	/* the declared types came along */
	h_ctl(&r, dst, "index", "list", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "PART\n"));
	assert_non_null(strstr(r.out, "LOT\n"));
	h_run_free(&r);
	h_ctl(&r, dst, "search", "--type", "PART", "--data", "P-77", NULL);
	h_assert_status(&r, 0);
	assert_string_equal(r.out, H_HOME "/m-1\n");
	h_run_free(&r);
	h_ctl(&r, dst, "search", "--type", "LOT", "--data", "X", "--page-size",
	      "1000", NULL);
	h_assert_status(&r, 0);
	assert_int_equal(h_count_lines(r.out), 834);
	h_run_free(&r);
	node_stop(dst);
	node_free(dst);
}

/* Bad parameters: usage errors (2) from idctl, refusals (1) from the
 * node, 400 from HTTP, each naming the problem. */
static void bad_parameters(void **state)
{
	(void)state;
	struct {
		const char *args[8];
		int status;
		const char *msg;
	} cases[] = {
		{{"search", NULL}, 2, "give --type and --data"},
		{{"search", "--data", "x", NULL}, 2, "--data needs --type"},
		{{"search", "--type", "T", NULL}, 2, "--type needs --data"},
		{{"search", "--since", "yesterday", NULL}, 2, "bad --since"},
		{{"search", "--since", "20", "--until", "10", NULL},
		 2,
		 "later than --until"},
		{{"search", "--prefix", H_HOME, "--page-size", "0", NULL},
		 2,
		 "bad --page-size"},
		{{"search", "--prefix", H_HOME, "--cursor", "zz", NULL},
		 1,
		 "malformed cursor"},
		{{"search", "--prefix", "88..1", NULL}, 1, "invalid prefix"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_run_t r;
		h_ctl_argv(&r, node, cases[i].args);
		if (r.status != cases[i].status ||
		    strstr(r.err, cases[i].msg) == NULL)
			fail_msg("case %zu: status %d, stderr %s", i, r.status,
				 r.err);
		h_run_free(&r);
	}
	if (access("/usr/bin/curl", X_OK) != 0)
		return;
	const char *paths[] = {"/api/search", "/api/search?data=x",
			       "/api/search?type=T&data=x&pageSize=1001",
			       "/api/search?type=T&data=x&until=soon",
			       "/api/search?type=T&data=x&cursor=4"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int st;
		char *b = http("GET", paths[i], NULL, false, &st);
		if (st != 400 || strstr(b, "\"message\"") == NULL)
			fail_msg("%s: %d %s", paths[i], st, b);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(declared_types),
		cmocka_unit_test(undeclared_writes),
		cmocka_unit_test(writes_and_search),
		cmocka_unit_test(visibility),
		cmocka_unit_test(import_and_paging),
		cmocka_unit_test(http_search),
		cmocka_unit_test(migrate_keeps_index),
		cmocka_unit_test(template_writes),
		cmocka_unit_test(bad_parameters),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
