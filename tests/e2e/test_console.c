/* The web console as a user works in it, in headless Chromium driven by
 * tests/console/drive.mjs (playwright-core): every page opened in English
 * and in Chinese (chosen from the browser's language), photographed into
 * build/artifacts/, its labels measured to fit; the admin logs in, pages
 * through a prefix of 120 identifiers, searches, creates an identifier
 * and edits it through the forms, which idctl then reads back. Skipped
 * only when Chromium or Node.js is absent (scripts/deps.sh --test installs
 * both and the driver's one package). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "console-test-token-5f1e2d3c4b5a69788796a5b4c3d2e1f0"

static const char chromium[] = "/usr/bin/chromium";
static const char nodejs[] = "/usr/bin/node";

static json_t *lang(json_t *report, const char *l)
{
	json_t *j = json_object_get(report, l);
	if (!json_is_object(j))
		fail_msg("no report for %s", l);
	return j;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_string(v))
		fail_msg("report lacks %s", k);
	return json_string_value(v);
}

/* Every page's labels fit, and its screenshot is there. */
static void check_pages(json_t *r, const char *l)
{
	json_t *ov = json_object_get(r, "overflow");
	const char *page;
	json_t *list;
	int pages = 0;
	json_object_foreach(ov, page, list)
	{
		pages++;
		if (json_array_size(list) != 0) {
			char *s = json_dumps(list, 0);
			fail_msg("%s, page %s: labels that do not fit: %s", l,
				 page, s);
		}
	}
	assert_int_equal(pages, 7);
	json_t *shots = json_object_get(r, "shots");
	assert_int_equal(json_array_size(shots), 10);
	size_t i;
	json_t *s;
	json_array_foreach(shots, i, s)
	{
		struct stat st;
		const char *p = json_string_value(s);
		if (stat(p, &st) != 0 || st.st_size < 8000)
			fail_msg("no screenshot %s", p);
	}
	json_t *errs = json_object_get(r, "errors");
	if (json_array_size(errs) != 0)
		fail_msg("%s: script errors in the page: %s", l,
			 json_dumps(errs, 0));
}

static void console_at_work(void **state)
{
	(void)state;
	if (access(chromium, X_OK) != 0 || access(nodejs, X_OK) != 0) {
		print_message("SKIP: %s or %s is absent (scripts/deps.sh "
			      "--test installs them)\n",
			      chromium, nodejs);
		skip();
	}
	char mod[512];
	snprintf(mod, sizeof(mod), "%s/node_modules/playwright-core",
		 h_src("tests/console"));
	if (access(mod, R_OK) != 0)
		fail_msg("%s is missing: scripts/deps.sh --test installs it "
			 "(npm ci --prefix tests/console)",
			 mod);
	node_t *n = node_new("--home", H_HOME, "--rrl-rate", "0", NULL);
	char tok[256], port[32], url[64];
	snprintf(tok, sizeof(tok), "%s/admin.token", n->dir);
	FILE *f = fopen(tok, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	chmod(tok, 0600);
	uint16_t hport = h_free_port();
	snprintf(port, sizeof(port), "127.0.0.1:%u", hport);
	snprintf(url, sizeof(url), "http://%s", port);
	node_add_args(n, "--http", port, "--http-admin-token-file", tok,
		      "--http-root", h_src("web"), NULL);
	node_start(n);
	char path[256];
	snprintf(path, sizeof(path), "%s/items.jsonl", n->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 1; i <= 120; i++)
		fprintf(f,
			"{\"handle\":\"" H_HOME "/item-%d\",\"values\":[{"
			"\"index\":1,\"type\":\"URL\",\"data\":"
			"\"https://example.org/item/%d\"}]}\n",
			i, i);
	fclose(f);
	h_ctl_ok(n, "import", path, NULL);
	h_ctl_ok(n, "index", "add", "URL", NULL);
	/* an SNMS account acting as the prefix's admin, which the Chinese
	 * run logs in with */
	h_ctl_ok(n, "create", "0.NA/" H_HOME,
		 "100:HS_ADMIN=0.NA/" H_HOME "@300", NULL);
	char pwf[256];
	snprintf(pwf, sizeof(pwf), "%s/ops.password", n->dir);
	f = fopen(pwf, "w");
	assert_non_null(f);
	fprintf(f, "console-Pass-2026\n");
	fclose(f);
	chmod(pwf, 0600);
	h_ctl_ok(n, "account", "add", "ops", "--admin", "0.NA/" H_HOME ":300",
		 "--password-file", pwf, NULL);

	const char *b = getenv("IDN_BUILD") ? getenv("IDN_BUILD") : "build";
	char out[300];
	snprintf(out, sizeof(out), "%s/artifacts", b);
	mkdir(out, 0755);
	char driver[512];
	snprintf(driver, sizeof(driver), "%s",
		 h_src("tests/console/drive.mjs"));
	const char *argv[] = {nodejs,	    driver,
			      "--url",	    url,
			      "--token",    TOKEN,
			      "--prefix",   H_HOME,
			      "--out",	    out,
			      "--account",  "ops",
			      "--password", "console-Pass-2026",
			      NULL};
	h_run_t r;
	h_run(&r, 240000, argv);
	if (r.status != 0)
		fail_msg("drive.mjs exit %d\n%s\n%s", r.status, r.out, r.err);
	json_error_t je;
	json_t *rep = json_loads(r.out, 0, &je);
	if (rep == NULL)
		fail_msg("drive.mjs printed no JSON: %.2000s", r.out);
	h_run_free(&r);

	json_t *en = lang(rep, "en"), *zh = lang(rep, "zh-CN");
	check_pages(en, "en");
	check_pages(zh, "zh-CN");
	/* the language follows the browser's */
	assert_string_equal(str(en, "htmlLang"), "en");
	assert_string_equal(str(zh, "htmlLang"), "zh-CN");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(en, "nav"), 0)),
			    "Resolve");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(zh, "nav"), 0)),
			    "解析");
	assert_string_equal(str(en, "who"), "signed in with the admin token");
	assert_string_equal(str(zh, "who"), "已登录：ops");
	assert_string_equal(str(en, "resolved"), H_HOME "/item-1");
	/* paging through 120 (then 121) identifiers, 50 a page */
	assert_string_equal(str(en, "browseCount"), H_HOME ": 120 identifiers");
	assert_string_equal(str(en, "browsePage"), "page 1 of 3");
	assert_string_equal(str(en, "browsePage2"), "page 2 of 3");
	assert_string_equal(str(zh, "browsePage2"), "第 2 页，共 3 页");
	assert_int_equal(json_integer_value(json_object_get(en, "searchRows")),
			 50);
	assert_int_equal(json_integer_value(json_object_get(zh, "searchRows")),
			 1);
	assert_non_null(strstr(str(en, "editMsg"), "saved " H_HOME));
	assert_non_null(strstr(str(zh, "editMsg"), "已保存 " H_HOME));
	/* a template made in the editor; a record made through its form,
	 * whose required field is asked for first */
	assert_string_equal(str(en, "templateSaved"), "template saved");
	assert_string_equal(str(zh, "templateSaved"), "模板已保存");
	assert_string_equal(str(en, "requiredMsg"), "batch is required");
	assert_string_equal(str(zh, "requiredMsg"), "batch 为必填项");
	assert_non_null(strstr(str(en, "templateRecordMsg"), "saved"));
	json_decref(rep);

	/* what the forms wrote, read back by idctl */
	const char *langs[] = {"en", "zh-CN"};
	for (int i = 0; i < 2; i++) {
		char id[64], url1[96], mail[64];
		snprintf(id, sizeof(id), H_HOME "/console-%s", langs[i]);
		snprintf(url1, sizeof(url1), "https://example.org/%s/edited",
			 langs[i]);
		snprintf(mail, sizeof(mail), "%s@example.org", langs[i]);
		json_t *j = h_ctl_json(n, "resolve", id, NULL);
		json_t *vals = json_object_get(j, "values");
		/* the account's record names its admin too */
		assert_int_equal(json_array_size(vals), i == 0 ? 2 : 3);
		char *s = json_dumps(vals, 0);
		if (strstr(s, url1) == NULL || strstr(s, mail) == NULL ||
		    strstr(s, "/created") != NULL)
			fail_msg("%s holds %s", id, s);
		free(s);
		json_decref(j);
	}
	/* the records made through the templates' forms: the reference (index
	 * 1001, type TEMPLATE, the template's version) and the item */
	const char *tvals[2][3] = {{"en", "console-en", "B-2026-11"},
				   {"zh-CN", "console-zh", "批次-2026-11"}};
	for (int i = 0; i < 2; i++) {
		char id[64];
		snprintf(id, sizeof(id), H_HOME "/console-tpl-%s", tvals[i][0]);
		h_run_t rr;
		assert_int_equal(h_ctl(&rr, n, "resolve", id, NULL), 0);
		if (strstr(rr.out, "TEMPLATE") == NULL ||
		    strstr(rr.out, tvals[i][1]) == NULL ||
		    strstr(rr.out, tvals[i][2]) == NULL)
			fail_msg("%s holds %s", id, rr.out);
		h_run_free(&rr);
	}
	node_stop(n);
	node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(console_at_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
