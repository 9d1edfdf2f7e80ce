/* Metadata templates (issue #6): templates stored as PREFIX/TEMPLATE/NAME
 * values through idctl template; records bound by 1001 TEMPLATE are
 * validated item by item on create, add, modify and remove, every
 * violation named with its item and rule (rc 202) and nothing written;
 * state rules (only drafts change, withdrawn templates take no new
 * records); the HTTP management API's template CRUD; no removal of a
 * template version that records still use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "tpl-secret-token-0123456789"

static node_t *node;
static uint16_t hport;
static char tplfile[256];

static const char motor_json[] =
	"{\"prefix\":\"" H_HOME "\",\"name\":\"motor\",\"version\":1,"
	"\"industry\":\"C/38/381/3811\",\"items\":["
	"{\"name\":\"BATCH\",\"index\":2003,\"type\":\"string\","
	"\"required\":true,\"min_len\":2,\"max_len\":8},"
	"{\"name\":\"COLOR\",\"index\":2004,\"type\":\"string\","
	"\"enum\":[\"red\",\"blue\"]},"
	"{\"name\":\"MADE\",\"index\":2005,\"type\":\"date\",\"required\":true}"
	","
	"{\"name\":\"POWER\",\"index\":2006,\"type\":\"number\"}]}";

static int setup(void **state)
{
	(void)state;
	node = node_new("--home", H_HOME, NULL);
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
	snprintf(tplfile, sizeof(tplfile), "%s/motor.json", node->dir);
	h_write_file(tplfile, motor_json);
	h_ctl_ok(node, "template", "put", H_HOME, tplfile, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	node_stop(node);
	node_free(node);
	return 0;
}

/* The record as idctl --json resolve prints it (compact), or NULL. */
static char *record(const char *id)
{
	h_run_t r;
	h_ctl(&r, node, "--json", "resolve", id, NULL);
	char *s = NULL;
	if (r.status == 0) {
		json_t *j = h_json(&r);
		s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(j);
	}
	h_run_free(&r);
	return s;
}

/* idctl -C ... ARGS must fail with rc 202 and every wanted text in its
 * one-line message; the record id (may be absent) must not change. */
#define refused(id, wants, ...)                                                \
	refused_((id), (wants), __FILE__, __LINE__, __VA_ARGS__, NULL)
static void refused_(const char *id, const char *const *wants, const char *file,
		     int line, const char *arg, ...)
{
	const char *args[32];
	int k = 0;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a && k < 31; a = va_arg(ap, const char *))
		args[k++] = a;
	va_end(ap);
	args[k] = NULL;
	char *before = record(id);
	h_run_t r;
	h_ctl_argv(&r, node, args);
	if (r.status != 1 || strstr(r.err, "(rc 202)") == NULL ||
	    h_count_lines(r.err) != 1)
		fail_msg("%s:%d: idctl %s %s: status %d stderr \"%s\"; want "
			 "status 1 and one line with (rc 202)",
			 file, line, args[0], args[1], r.status, r.err);
	for (int i = 0; wants[i]; i++)
		if (strstr(r.err, wants[i]) == NULL)
			fail_msg("%s:%d: idctl %s %s: stderr \"%s\" lacks "
				 "\"%s\"",
				 file, line, args[0], args[1], r.err, wants[i]);
	h_run_free(&r);
	char *after = record(id);
	if ((before == NULL) != (after == NULL) ||
	    (before && strcmp(before, after) != 0))
		fail_msg("%s:%d: %s changed:\n%s\n%s", file, line, id,
			 before ? before : "(none)", after ? after : "(none)");
	free(before);
	free(after);
}

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

static void conforming_and_violations(void **state)
{
	(void)state;
	/* a draft template already binds records */
	h_ctl_ok(node, "create", H_HOME "/m-1", "--template", "motor@1",
		 "1:URL=https://example.com/m1", "2003:BATCH=B-17",
		 "2004:COLOR=red", "2005:MADE=2024-02-29", "2006:POWER=7.5",
		 NULL);
	json_t *j = h_ctl_json(node, "resolve", H_HOME "/m-1", NULL);
	json_t *ref = h_json_value(j, 1001);
	assert_non_null(ref);
	assert_string_equal(json_string_value(json_object_get(ref, "type")),
			    "TEMPLATE");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(ref, "data"), "value")),
			    "motor@1");
	json_decref(j);
	/* each rule refuses a new record, naming item and rule */
	const char *id = H_HOME "/m-bad";
	refused(id, W("item BATCH (index 2003): required but missing"),
		"create", id, "--template", "motor@1", "2005:MADE=2024-01-01");
	refused(id, W("item BATCH (index 2003)", "min_len 2"), "create", id,
		"--template", "motor@1", "2003:BATCH=B",
		"2005:MADE=2024-01-01");
	refused(id, W("item BATCH (index 2003)", "max_len 8"), "create", id,
		"--template", "motor@1", "2003:BATCH=B-123456789",
		"2005:MADE=2024-01-01");
	refused(id, W("item COLOR (index 2004)", "enum"), "create", id,
		"--template", "motor@1", "2003:BATCH=B-1", "2004:COLOR=green",
		"2005:MADE=2024-01-01");
	refused(id, W("item MADE (index 2005)", "date"), "create", id,
		"--template", "motor@1", "2003:BATCH=B-1",
		"2005:MADE=2023-02-29");
	refused(id, W("item POWER (index 2006)", "not a number"), "create", id,
		"--template", "motor@1", "2003:BATCH=B-1",
		"2005:MADE=2024-01-01", "2006:POWER=01");
	refused(id, W("index 2010"), "create", id, "--template", "motor@1",
		"2003:BATCH=B-1", "2005:MADE=2024-01-01", "2010:X=y");
	/* every violation at once, each named */
	refused(id,
		W("item BATCH (index 2003)", "item COLOR (index 2004)",
		  "item MADE (index 2005)", "item POWER (index 2006)"),
		"create", id, "--template", "motor@1", "2003:BATCH=B",
		"2004:COLOR=x", "2005:MADE=2024-13-01", "2006:POWER=+1");
	refused(id, W("template nope@1 does not exist"), "create", id,
		"--template", "nope@1", "1:URL=x");
	refused(id, W("template motor@7 does not exist"), "create", id,
		"--template", "motor@7", "1:URL=x");
	refused(id, W("index 1001"), "create", id, "5:TEMPLATE=motor@1");
	/* template values live only in template records */
	refused(id, W("PREFIX/TEMPLATE/NAME"), "create", id,
		"5:IDN_TEMPLATE=hex:00");
	/* a record without the binding is not constrained */
	h_ctl_ok(node, "create", H_HOME "/free", "2003:BATCH=x", NULL);
}

static void modify_add_remove(void **state)
{
	(void)state;
	const char *id = H_HOME "/m-2";
	h_ctl_ok(node, "create", id, "--template", "motor@1", "2003:BATCH=B-2",
		 "2005:MADE=2024-03-01", NULL);
	refused(id, W("item BATCH (index 2003)", "max_len 8"), "modify", id,
		"2003:BATCH=far-too-long");
	refused(id, W("item COLOR (index 2004)", "enum"), "add", id,
		"2004:COLOR=green");
	refused(id, W("item MADE (index 2005): required but missing"), "remove",
		id, "2005");
	refused(id, W("template nope@1 does not exist"), "modify", id,
		"1001:TEMPLATE=nope@1");
	h_ctl_ok(node, "modify", id, "2003:BATCH=B-3", NULL);
	h_ctl_ok(node, "add", id, "2004:COLOR=blue", NULL);
	h_ctl_ok(node, "remove", id, "2004", NULL);
	/* binding an existing record later validates it too */
	h_ctl_ok(node, "create", H_HOME "/late", "2003:BATCH=L-1", NULL);
	refused(H_HOME "/late", W("item MADE (index 2005)"), "add",
		H_HOME "/late", "1001:TEMPLATE=motor@1");
	/* bulk import: a record that does not conform is rejected alone */
	char path[300];
	snprintf(path, sizeof(path), "%s/bulk.jsonl", node->dir);
	h_write_file(path,
		     "{\"handle\":\"" H_HOME "/bulk-ok\",\"values\":["
		     "{\"index\":1001,\"type\":\"TEMPLATE\",\"data\":"
		     "\"motor@1\"},{\"index\":2003,\"type\":\"BATCH\",\"data\":"
		     "\"K-1\"},{\"index\":2005,\"type\":\"MADE\",\"data\":"
		     "\"2024-01-01\"}]}\n"
		     "{\"handle\":\"" H_HOME "/bulk-bad\",\"values\":["
		     "{\"index\":1001,\"type\":\"TEMPLATE\",\"data\":"
		     "\"motor@1\"},{\"index\":2003,\"type\":\"BATCH\",\"data\":"
		     "\"K-2\"}]}\n");
	h_run_t r;
	h_ctl(&r, node, "import", "--quiet", path, NULL);
	h_run_free(&r);
	char *ok = record(H_HOME "/bulk-ok"), *bad = record(H_HOME "/bulk-bad");
	assert_non_null(ok);
	assert_null(bad);
	free(ok);
	/* removing the binding frees the record */
	h_ctl_ok(node, "remove", id, "1001", NULL);
	h_ctl_ok(node, "remove", id, "2005", NULL);
}

static void states(void **state)
{
	(void)state;
	char path[300];
	/* version 2: a draft based on version 1, which must not be a draft */
	snprintf(path, sizeof(path), "%s/motor2.json", node->dir);
	h_write_file(path,
		     "{\"prefix\":\"" H_HOME
		     "\",\"name\":\"motor\",\"version\":2,"
		     "\"industry\":\"C/38\",\"based_on\":{\"name\":\"motor\","
		     "\"version\":1},\"items\":[{\"name\":\"SERIAL\","
		     "\"index\":2001,\"type\":\"string\",\"required\":true}]}");
	refused(H_HOME "/TEMPLATE/motor", W("based_on motor@1 is a draft"),
		"template", "put", H_HOME, path);
	h_ctl_ok(node, "template", "publish", H_HOME, "motor", "1", NULL);
	h_run_t r;
	h_ctl(&r, node, "template", "publish", H_HOME, "motor", "1", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	/* a published version no longer changes, and stays */
	refused(H_HOME "/TEMPLATE/motor", W("only drafts can be changed"),
		"template", "put", H_HOME, tplfile);
	refused(H_HOME "/TEMPLATE/motor", W("only drafts can be removed"),
		"remove", H_HOME "/TEMPLATE/motor", "1");
	refused(H_HOME "/TEMPLATE/motor", W("version 1 must equal the index"),
		"add", H_HOME "/TEMPLATE/motor",
		"3:IDN_TEMPLATE=hex:49444e5401000000"
		"00000008"
		"38382e3131382e38"
		"00000005"
		"6d6f746f72"
		"00000001"
		"00000001"
		"43"
		"00000000");
	h_ctl_ok(node, "template", "put", H_HOME, path, NULL);
	json_t *j = h_ctl_json(node, "template", "get", H_HOME, "motor", NULL);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(j, 0), "state")),
			    "published");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(j, 1), "state")),
			    "draft");
	json_decref(j);
	j = h_ctl_json(node, "template", "get", H_HOME, "motor", "2", NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	json_decref(j);
	h_ctl(&r, node, "template", "get", H_HOME, "motor", "1", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "version 1: published"));
	assert_non_null(
		strstr(r.out, "2003 BATCH string required length 2..8"));
	h_run_free(&r);
	/* withdrawn: no new records; those bound before stay valid and
	 * checked */
	h_ctl_ok(node, "create", H_HOME "/m-3", "--template", "motor@1",
		 "2003:BATCH=B-3", "2005:MADE=2024-03-01", NULL);
	h_ctl_ok(node, "template", "withdraw", H_HOME, "motor", "1", NULL);
	refused(H_HOME "/m-4", W("withdrawn"), "create", H_HOME "/m-4",
		"--template", "motor@1", "2003:BATCH=B-4",
		"2005:MADE=2024-03-01");
	h_ctl_ok(node, "modify", H_HOME "/m-3", "2003:BATCH=B-33", NULL);
	refused(H_HOME "/m-3", W("item BATCH (index 2003)"), "modify",
		H_HOME "/m-3", "2003:BATCH=B");
	h_ctl(&r, node, "template", "publish", H_HOME, "motor", "1", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "only a draft can be published"));
	h_run_free(&r);
	/* usage errors */
	h_ctl(&r, node, "template", "get", H_HOME, "motor", "0", NULL);
	h_assert_status(&r, 2);
	h_run_free(&r);
	h_ctl(&r, node, "template", "get", H_HOME, "nosuch", NULL);
	h_assert_status(&r, 1);
	h_run_free(&r);
	h_ctl(&r, node, "template", "put", "88.999", tplfile, NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "not 88.999"));
	h_run_free(&r);
}

/* ---- HTTP ---- */

/* curl METHOD PATH [BODY]: the HTTP status; *body the response. */
static int http(const char *method, const char *path, const char *body,
		json_t **out)
{
	char url[512], auth[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", hport, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TOKEN);
	const char *argv[] = {"/usr/bin/curl",
			      "-s",
			      "-X",
			      method,
			      "-H",
			      auth,
			      "-w",
			      "\n%{http_code}",
			      "--max-time",
			      "20",
			      url,
			      body ? "-d" : NULL,
			      body,
			      NULL};
	h_run_t r;
	h_run(&r, 30000, argv);
	assert_int_equal(r.status, 0);
	char *nl = strrchr(r.out, '\n');
	assert_non_null(nl);
	int code = atoi(nl + 1);
	*nl = 0;
	*out = json_loads(r.out, 0, NULL);
	if (*out == NULL)
		fail_msg("%s %s: not JSON: %s", method, path, r.out);
	h_run_free(&r);
	return code;
}

static long st(json_t *j)
{
	return json_integer_value(json_object_get(j, "status"));
}

static void http_crud(void **state)
{
	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0) {
		print_message("SKIP: /usr/bin/curl is absent\n");
		skip();
	}
	json_t *j;
	const char *pump =
		"{\"prefix\":\"" H_HOME "\",\"name\":\"pump\",\"version\":1,"
		"\"industry\":\"C\",\"items\":[{\"name\":\"FLOW\","
		"\"index\":2001,\"type\":\"number\",\"required\":true}]}";
	assert_int_equal(http("POST", "/snms/api/v5/template", pump, &j), 201);
	assert_int_equal(st(j), 1);
	json_decref(j);
	assert_int_equal(http("POST", "/snms/api/v5/template", pump, &j), 409);
	assert_int_equal(st(j), -2);
	json_decref(j);
	/* update the draft */
	const char *pump2 =
		"{\"prefix\":\"" H_HOME "\",\"name\":\"pump\",\"version\":1,"
		"\"industry\":\"C\",\"items\":[{\"name\":\"FLOW\","
		"\"index\":2001,\"type\":\"number\",\"required\":true},"
		"{\"name\":\"MODEL\",\"index\":2002,\"type\":\"string\"}]}";
	assert_int_equal(http("PUT", "/snms/api/v5/template", pump2, &j), 200);
	json_decref(j);
	assert_int_equal(http("GET",
			      "/snms/api/v5/template?prefix=" H_HOME
			      "&name=pump&version=1",
			      NULL, &j),
			 200);
	json_t *d = json_object_get(j, "data");
	assert_int_equal(json_array_size(json_object_get(d, "items")), 2);
	assert_string_equal(json_string_value(json_object_get(d, "state")),
			    "draft");
	json_decref(j);
	/* strict JSON: the library's message */
	assert_int_equal(http("POST", "/snms/api/v5/template",
			      "{\"prefix\":\"" H_HOME "\",\"colour\":1}", &j),
			 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
			       "colour"));
	json_decref(j);
	/* publish, then it is frozen */
	assert_int_equal(http("POST",
			      "/snms/api/v5/template/publish?prefix=" H_HOME
			      "&name=pump&version=1",
			      NULL, &j),
			 200);
	json_decref(j);
	assert_int_equal(http("PUT", "/snms/api/v5/template", pump2, &j), 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
			       "only drafts"));
	json_decref(j);
	/* the list names every template of the prefix with its versions */
	assert_int_equal(
		http("GET", "/snms/api/v5/template?prefix=" H_HOME, NULL, &j),
		200);
	d = json_object_get(j, "data");
	bool found = false;
	for (size_t i = 0; i < json_array_size(d); i++) {
		json_t *t = json_array_get(d, i);
		if (strcmp(json_string_value(json_object_get(t, "name")),
			   "pump") == 0) {
			json_t *v0 = json_array_get(
				json_object_get(t, "versions"), 0);
			assert_string_equal(
				json_string_value(json_object_get(v0, "state")),
				"published");
			found = true;
		}
	}
	assert_true(found);
	json_decref(j);
	/* records validate against it, over HTTP too */
	assert_int_equal(
		http("POST", "/snms/api/v5/data",
		     "{\"handle\":\"" H_HOME
		     "/p-1\",\"values\":[{\"index\":1001,"
		     "\"type\":\"TEMPLATE\",\"data\":\"pump@1\"},"
		     "{\"index\":2001,\"type\":\"FLOW\",\"data\":\"fast\"}]}",
		     &j),
		400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
			       "item FLOW (index 2001)"));
	json_decref(j);
	/* a published version cannot be deleted; withdraw it */
	assert_int_equal(http("DELETE",
			      "/snms/api/v5/template?prefix=" H_HOME
			      "&name=pump&version=1",
			      NULL, &j),
			 400);
	json_decref(j);
	assert_int_equal(http("POST",
			      "/snms/api/v5/template/withdraw?prefix=" H_HOME
			      "&name=pump&version=1",
			      NULL, &j),
			 200);
	json_decref(j);
	/* a draft version can be deleted */
	const char *pumpv2 =
		"{\"prefix\":\"" H_HOME "\",\"name\":\"pump\",\"version\":2,"
		"\"industry\":\"C\",\"items\":[]}";
	assert_int_equal(http("POST", "/snms/api/v5/template", pumpv2, &j),
			 201);
	json_decref(j);
	assert_int_equal(http("DELETE",
			      "/snms/api/v5/template?prefix=" H_HOME
			      "&name=pump&version=2",
			      NULL, &j),
			 200);
	json_decref(j);
	assert_int_equal(http("GET",
			      "/snms/api/v5/template?prefix=" H_HOME
			      "&name=pump&version=2",
			      NULL, &j),
			 404);
	json_decref(j);
	assert_int_equal(http("GET", "/snms/api/v5/template", NULL, &j), 400);
	json_decref(j);
}

/* A template version that records use cannot be removed, through any
 * door: idctl template delete (one version or the whole template), a
 * plain delete of the template record over the control socket, and the
 * HTTP management API. The refusal names the version, how many records
 * use it and one of them; the template stays. Once the records are gone
 * the same deletes succeed. */
static void delete_in_use(void **state)
{
	(void)state;
	char file[256];
	snprintf(file, sizeof(file), "%s/valve.json", node->dir);
	h_write_file(file, "{\"prefix\":\"" H_HOME "\",\"name\":\"valve\","
			   "\"version\":1,\"industry\":\"C/34\",\"items\":["
			   "{\"name\":\"SIZE\",\"index\":2001,\"type\":"
			   "\"number\"}]}");
	h_ctl_ok(node, "template", "put", H_HOME, file, NULL);
	h_ctl_ok(node, "create", H_HOME "/valve-1", "--template", "valve@1",
		 "1:URL=https://e.com/v1", NULL);
	refused(H_HOME "/TEMPLATE/valve",
		W("template valve version 1 is still used by 1 record (" H_HOME
		  "/valve-1)"),
		"template", "delete", H_HOME, "valve", "1");
	refused(H_HOME "/TEMPLATE/valve",
		W("still used by 1 record (" H_HOME "/valve-1)"), "template",
		"delete", H_HOME, "valve");
	refused(H_HOME "/TEMPLATE/valve", W("still used by 1 record"), "delete",
		H_HOME "/TEMPLATE/valve");
	h_ctl_ok(node, "create", H_HOME "/valve-2", "--template", "valve@1",
		 "2001:SIZE=40", NULL);
	refused(H_HOME "/TEMPLATE/valve", W("still used by 2 records"),
		"template", "delete", H_HOME, "valve");
	json_t *j;
	if (access("/usr/bin/curl", X_OK) == 0) {
		assert_int_equal(http("DELETE",
				      "/snms/api/v5/template?prefix=" H_HOME
				      "&name=valve&version=1",
				      NULL, &j),
				 400);
		const char *m =
			json_string_value(json_object_get(j, "message"));
		if (m == NULL || strstr(m, "valve version 1 is still used by "
					   "2 records") == NULL)
			fail_msg("HTTP delete: %s", m ? m : "(no message)");
		json_decref(j);
	}
	h_ctl_ok(node, "template", "get", H_HOME, "valve", "1", NULL);
	/* a record bound to another template does not hold this one */
	h_ctl_ok(node, "delete", H_HOME "/valve-1", NULL);
	refused(H_HOME "/TEMPLATE/valve",
		W("still used by 1 record (" H_HOME "/valve-2)"), "template",
		"delete", H_HOME, "valve", "1");
	h_ctl_ok(node, "delete", H_HOME "/valve-2", NULL);
	h_run_t r;
	h_ctl(&r, node, "template", "delete", H_HOME, "valve", "1", NULL);
	h_assert_status(&r, 0);
	assert_non_null(strstr(r.out, "deleted " H_HOME "/TEMPLATE/valve "
				      "version 1"));
	h_run_free(&r);
	h_ctl(&r, node, "template", "get", H_HOME, "valve", "1", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "idctl: template: no template " H_HOME
				      "/TEMPLATE/valve version 1 (rc "));
	h_run_free(&r);
	h_ctl(&r, node, "template", "delete", H_HOME, "valve", "1", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err,
			       "idctl: template delete: no template " H_HOME
			       "/TEMPLATE/valve version 1 (rc "));
	h_run_free(&r);
	/* the whole template, unused */
	h_ctl_ok(node, "template", "put", H_HOME, file, NULL);
	h_ctl_ok(node, "template", "delete", H_HOME, "valve", NULL);
	h_ctl(&r, node, "template", "get", H_HOME, "valve", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err, "idctl: template: no template " H_HOME
				      "/TEMPLATE/valve (rc "));
	h_run_free(&r);
	h_ctl(&r, node, "template", "delete", H_HOME, "valve", NULL);
	h_assert_status(&r, 1);
	assert_non_null(strstr(r.err,
			       "idctl: template delete: no template " H_HOME
			       "/TEMPLATE/valve (rc "));
	h_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conforming_and_violations),
		cmocka_unit_test(modify_add_remove),
		cmocka_unit_test(states),
		cmocka_unit_test(http_crud),
		cmocka_unit_test(delete_in_use),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
