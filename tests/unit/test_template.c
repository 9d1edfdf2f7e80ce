/* Tests of metadata templates (template.c): industry classes, type
 * grammars, editing and state rules, JSON and binary encodings, record
 * validation, based-on derivation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "template.h"
#include "value.h"

#define assert_msg(err, want) assert_msg_((err), (want), __FILE__, __LINE__)
static void assert_msg_(const char *err, const char *want, const char *file,
			int line)
{
	if (strcmp(err, want) == 0)
		return;
	print_error("%s:%d:\n  message \"%s\"\n  want    \"%s\"\n", file, line,
		    err, want);
	fail();
}

/* ---- industry classes ---- */

#define ind_ok(s) ind_(s, NULL, __FILE__, __LINE__)
#define ind_bad(s, m) ind_(s, m, __FILE__, __LINE__)
static void ind_(const char *s, const char *msg, const char *file, int line)
{
	char err[200];
	int rc = idn_industry_check(s, strlen(s), err, sizeof(err));
	if (msg == NULL && rc != 0) {
		print_error("%s:%d: \"%s\" rejected: %s\n", file, line, s, err);
		fail();
	}
	if (msg != NULL) {
		if (rc != IDN_EVALUE) {
			print_error("%s:%d: \"%s\" gave %d, want IDN_EVALUE\n",
				    file, line, s, rc);
			fail();
		}
		assert_msg_(err, msg, file, line);
	}
}

static void test_industry(void **state)
{
	(void)state;
	ind_ok("A");
	ind_ok("A/01");
	ind_ok("A/01/011");
	ind_ok("A/01/011/0111");
	ind_ok("A/05/051/0511");
	ind_ok("B/06");
	ind_ok("C/13");
	ind_ok("C/38/381/3811");
	ind_ok("C/43/431/4310");
	ind_ok("I/65/651/6510");
	ind_ok("K/70");
	ind_ok("P/83");
	ind_ok("S/96");
	ind_ok("T/97/970/9700");
	ind_bad("", "industry class is empty");
	ind_bad("U", "industry section \"U\" is not a letter A to T");
	ind_bad("a/01", "industry section \"a\" is not a letter A to T");
	ind_bad("01/011", "industry section \"01/011\" is not a letter A to T");
	ind_bad("A/06", "industry division 06 is not in section A (01-05)");
	ind_bad("B/05", "industry division 05 is not in section B (06-12)");
	ind_bad("C/44", "industry division 44 is not in section C (13-43)");
	ind_bad("T/98", "industry division 98 is not in section T (97-97)");
	ind_bad("A/00", "industry division 00 is not in section A (01-05)");
	ind_bad("A/1", "industry division \"1\" is not 2 digits");
	ind_bad("A/0x", "industry division \"0x\" is not 2 digits");
	ind_bad("A/", "industry division \"\" is not 2 digits");
	ind_bad("A/01/11", "industry group \"11\" is not 3 digits");
	ind_bad("A/01/011/01111", "industry class \"01111\" is not 4 digits");
	ind_bad("A/01/021", "industry group 021 does not start with division "
			    "01");
	ind_bad("A/01/011/0121", "industry class 0121 does not start with "
				 "group 011");
	ind_bad("A/01/011/0111/", "industry class \"A/01/011/0111/\" has "
				  "more than four levels");
	ind_bad("A01", "industry class \"A01\": expected '/' after \"A\"");
	ind_bad("A/01/011/0111/22222",
		"industry class \"A/01/011/0111/22222\" is not "
		"SECTION[/DIVISION[/GROUP[/CLASS]]] like A/01/011/0111");
	char err[8];
	assert_int_equal(idn_industry_check(NULL, 0, err, sizeof(err)),
			 IDN_EVALUE);
	assert_int_equal(idn_industry_check("A", 1, NULL, 0), 0);
}

/* ---- type grammars ---- */

static bool num(const char *s)
{
	return idn_tpl_is_number((const uint8_t *)s, strlen(s));
}

static bool date(const char *s)
{
	return idn_tpl_is_date((const uint8_t *)s, strlen(s));
}

static void test_types(void **state)
{
	(void)state;
	const char *good_n[] = {"0",   "-0",	"7",
				"12",  "-12.5", "3.14159",
				"0.5", "0.000", "1234567890123456789012345"};
	for (size_t i = 0; i < sizeof(good_n) / sizeof(*good_n); i++)
		if (!num(good_n[i])) {
			print_error("number \"%s\" rejected\n", good_n[i]);
			fail();
		}
	const char *bad_n[] = {"",	   "-",	    "+1",      "01",   "-01",
			       "1.",	   ".5",    "1e5",     "1E5",  "1,5",
			       " 1",	   "1 ",    "--1",     "0x1F", "NaN",
			       "Infinity", "1.2.3", "\xd9\xa1"};
	for (size_t i = 0; i < sizeof(bad_n) / sizeof(*bad_n); i++)
		if (num(bad_n[i])) {
			print_error("number \"%s\" accepted\n", bad_n[i]);
			fail();
		}
	assert_false(idn_tpl_is_number(NULL, 0));
	assert_false(idn_tpl_is_number((const uint8_t *)"1\0"
							"2",
				       3));

	const char *good_d[] = {"2024-02-29", "2000-02-29", "0001-01-01",
				"9999-12-31", "2023-12-31", "2023-04-30",
				"2024-01-31"};
	for (size_t i = 0; i < sizeof(good_d) / sizeof(*good_d); i++)
		if (!date(good_d[i])) {
			print_error("date \"%s\" rejected\n", good_d[i]);
			fail();
		}
	const char *bad_d[] = {
		"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10",
		"2024-04-31", "2024-4-01",  "2024/04/01", "0000-01-01",
		"2024-01-32", "2024-01-00", "20240101",	  "2024-01-01T00:00",
		"",	      "2024-02-3a", "-024-01-01", "2023-06-31"};
	for (size_t i = 0; i < sizeof(bad_d) / sizeof(*bad_d); i++)
		if (date(bad_d[i])) {
			print_error("date \"%s\" accepted\n", bad_d[i]);
			fail();
		}
	assert_false(idn_tpl_is_date(NULL, 10));

	assert_string_equal(idn_tpl_type_name(IDN_TPL_STRING), "string");
	assert_string_equal(idn_tpl_type_name(IDN_TPL_NUMBER), "number");
	assert_string_equal(idn_tpl_type_name(IDN_TPL_DATE), "date");
	assert_string_equal(idn_tpl_state_name(IDN_TPL_DRAFT), "draft");
	assert_string_equal(idn_tpl_state_name(IDN_TPL_PUBLISHED), "published");
	assert_string_equal(idn_tpl_state_name(IDN_TPL_WITHDRAWN), "withdrawn");
}

/* ---- construction, editing, states ---- */

static const char *const grades[] = {"A", "B", "C"};

static idn_tpl_item_t item(const char *name, uint32_t index,
			   idn_tpl_type_t type, bool required)
{
	idn_tpl_item_t it = {0};
	it.name = name;
	it.index = index;
	it.type = type;
	it.required = required;
	return it;
}

/* A published "motor" v1 under 88.118.8 with the items the validation
 * tests use. */
static void make_motor(idn_template_t *t)
{
	char err[200];
	assert_int_equal(idn_template_new(t, "88.118.8", "motor", 1,
					  "C/38/381/3811", err, sizeof(err)),
			 0);
	idn_tpl_item_t it = item("BATCH", 2003, IDN_TPL_STRING, true);
	it.min_len = 1;
	it.max_len = 10;
	assert_int_equal(idn_template_add_item(t, &it, NULL, err, sizeof(err)),
			 0);
	it = item("WEIGHT", 2004, IDN_TPL_NUMBER, false);
	assert_int_equal(idn_template_add_item(t, &it, NULL, err, sizeof(err)),
			 0);
	it = item("MADE", 2005, IDN_TPL_DATE, true);
	assert_int_equal(idn_template_add_item(t, &it, NULL, err, sizeof(err)),
			 0);
	it = item("GRADE", 2006, IDN_TPL_STRING, false);
	it.nenum = 3;
	it.enums = grades;
	assert_int_equal(idn_template_add_item(t, &it, NULL, err, sizeof(err)),
			 0);
	it = item("NOTE", 2007, IDN_TPL_STRING, false);
	it.max_len = 5;
	assert_int_equal(idn_template_add_item(t, &it, NULL, err, sizeof(err)),
			 0);
	it = item("CODE", 2008, IDN_TPL_NUMBER, false);
	it.max_len = 3;
	assert_int_equal(idn_template_add_item(t, &it, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(idn_template_publish(t, NULL, err, sizeof(err)), 0);
}

static void test_new(void **state)
{
	(void)state;
	idn_template_t t;
	char err[200];
	assert_int_equal(idn_template_new(&t, "88.118.8", "motor", 1,
					  "C/38/381/3811", err, sizeof(err)),
			 0);
	assert_string_equal(t.prefix, "88.118.8");
	assert_string_equal(t.name, "motor");
	assert_int_equal(t.version, 1);
	assert_string_equal(t.industry, "C/38/381/3811");
	assert_int_equal(t.state, IDN_TPL_DRAFT);
	assert_false(t.has_based_on);
	assert_int_equal(t.nitems, 0);
	assert_int_equal(idn_template_check(&t, NULL, err, sizeof(err)), 0);
	idn_template_free(&t);
	idn_template_free(&t); /* twice is safe */

	struct {
		const char *prefix, *name;
		uint32_t version;
		const char *industry, *msg;
	} bad[] = {
		{"", "m", 1, "A", "prefix is empty"},
		{NULL, "m", 1, "A", "prefix is missing"},
		{"88.1/x", "m", 1, "A",
		 "prefix \"88.1/x\" is not a handle prefix (non-empty segments "
		 "separated by '.', no '/')"},
		{"88..1", "m", 1, "A",
		 "prefix \"88..1\" is not a handle prefix (non-empty segments "
		 "separated by '.', no '/')"},
		{"88.1", "", 1, "A", "name is empty"},
		{"88.1", "a\tb", 1, "A", "name has a control character"},
		{"88.1", "\xff", 1, "A", "name is not valid UTF-8"},
		{"88.1", "m", 0, "A", "version must be at least 1"},
		{"88.1", "m", 1, "A/06",
		 "industry division 06 is not in section A (01-05)"},
		{"88.1", "m", 1, NULL, "industry class is empty"},
		{"88.1", "m", 1, "A/01/011/0111/22222",
		 "industry class \"A/01/011/0111/22222\" is not "
		 "SECTION[/DIVISION[/GROUP[/CLASS]]] like A/01/011/0111"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc = idn_template_new(&t, bad[i].prefix, bad[i].name,
					  bad[i].version, bad[i].industry, err,
					  sizeof(err));
		assert_int_equal(rc, IDN_EVALUE);
		assert_msg(err, bad[i].msg);
		assert_null(t.name);
		idn_template_free(&t);
	}
	char longname[IDN_TPL_NAME_MAX + 2];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(idn_template_new(&t, "88.1", longname, 1, "A", err,
					  sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "name is longer than 128 bytes");
	longname[IDN_TPL_NAME_MAX] = '\0';
	assert_int_equal(idn_template_new(&t, "88.1", longname, 1, "A", err,
					  sizeof(err)),
			 0);
	idn_template_free(&t);
}

static void test_edit(void **state)
{
	(void)state;
	idn_template_t t;
	char err[200];
	assert_int_equal(idn_template_new(&t, "88.118.8", "motor", 1, "C/38",
					  err, sizeof(err)),
			 0);
	idn_tpl_item_t it = item("BATCH", 2003, IDN_TPL_STRING, true);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 0);
	/* the template copies what it is given */
	char name[8] = "LOT";
	it = item(name, 2004, IDN_TPL_STRING, false);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 0);
	strcpy(name, "XXX");
	assert_string_equal(t.items[1].name, "LOT");

	struct {
		idn_tpl_item_t it;
		const char *msg;
	} bad[] = {
		{item("OTHER", 2003, IDN_TPL_STRING, false),
		 "items BATCH and OTHER share index 2003"},
		{item("batch", 2010, IDN_TPL_STRING, false),
		 "two items are named batch"},
		{item("LOW", 1999, IDN_TPL_STRING, false),
		 "item LOW: index 1999 is below 2000"},
		{item("", 2010, IDN_TPL_STRING, false),
		 "items[2].name is empty"},
		{item(NULL, 2010, IDN_TPL_STRING, false),
		 "items[2].name is missing"},
		{item("T", 2010, (idn_tpl_type_t)3, false),
		 "item T: type 3 is not string, number or date"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(idn_template_add_item(&t, &bad[i].it, NULL,
						       err, sizeof(err)),
				 IDN_EVALUE);
		assert_msg(err, bad[i].msg);
		assert_int_equal(t.nitems, 2);
	}
	it = item("LEN", 2010, IDN_TPL_STRING, false);
	it.min_len = 5;
	it.max_len = 3;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item LEN: min_len 5 is greater than max_len 3");
	const char *nums[] = {"1", "abc"};
	it = item("N", 2010, IDN_TPL_NUMBER, false);
	it.nenum = 2;
	it.enums = nums;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item N: enum value \"abc\" is not a number");
	const char *dates[] = {"2024-02-30"};
	it = item("D", 2010, IDN_TPL_DATE, false);
	it.nenum = 1;
	it.enums = dates;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item D: enum value \"2024-02-30\" is not a YYYY-MM-DD "
			"date");
	const char *dup[] = {"A", "B", "A"};
	it = item("G", 2010, IDN_TPL_STRING, false);
	it.nenum = 3;
	it.enums = dup;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item G: enum value \"A\" appears twice");
	const char *longv[] = {"ABCD"};
	it.nenum = 1;
	it.enums = longv;
	it.max_len = 3;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item G: enum value \"ABCD\" is longer than max_len 3");
	it.max_len = 0;
	it.min_len = 5;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err,
		   "item G: enum value \"ABCD\" is shorter than min_len 5");
	const char *empty[] = {""};
	it.min_len = 0;
	it.enums = empty;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item G: enum value 1 is empty");
	it.enums = NULL;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item G: enum values are missing");
	assert_int_equal(t.nitems, 2);

	/* a node configured for items from 1000 */
	idn_tpl_conf_t conf = {.min_index = 1000};
	it = item("OLD", 1500, IDN_TPL_STRING, false);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item OLD: index 1500 is below 2000");
	assert_int_equal(
		idn_template_add_item(&t, &it, &conf, err, sizeof(err)), 0);
	assert_int_equal(t.nitems, 3);
	/* the default rule then rejects the template as a whole */
	assert_int_equal(idn_template_check(&t, NULL, err, sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item OLD: index 1500 is below 2000");
	assert_int_equal(idn_template_check(&t, &conf, err, sizeof(err)), 0);

	assert_int_equal(idn_template_remove_item(&t, 1500, err, sizeof(err)),
			 0);
	assert_int_equal(t.nitems, 2);
	assert_int_equal(idn_template_remove_item(&t, 2003, err, sizeof(err)),
			 0);
	assert_int_equal(t.nitems, 1);
	assert_string_equal(t.items[0].name, "LOT");
	assert_int_equal(idn_template_remove_item(&t, 2003, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 has no item at index 2003");

	assert_int_equal(
		idn_template_set_industry(&t, "C/38/381", err, sizeof(err)), 0);
	assert_string_equal(t.industry, "C/38/381");
	assert_int_equal(
		idn_template_set_industry(&t, "C/38/391", err, sizeof(err)),
		IDN_EVALUE);
	assert_msg(err, "industry group 391 does not start with division 38");
	assert_string_equal(t.industry, "C/38/381");

	/* many items: the array grows past its first allocations */
	for (uint32_t i = 0; i < IDN_TPL_ITEMS_MAX - 1; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "I%u", i);
		it = item(nm, 3000 + i, IDN_TPL_STRING, false);
		assert_int_equal(
			idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			0);
	}
	assert_int_equal(t.nitems, IDN_TPL_ITEMS_MAX);
	assert_string_equal(t.items[0].name, "LOT");
	assert_string_equal(t.items[200].name, "I199");
	it = item("ONE-TOO-MANY", 9999, IDN_TPL_STRING, false);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_ETOOMANY);
	assert_msg(err, "more than 256 items");
	assert_int_equal(idn_template_check(&t, NULL, err, sizeof(err)), 0);
	idn_template_free(&t);
}

static void test_states(void **state)
{
	(void)state;
	idn_template_t t;
	char err[200];
	assert_int_equal(idn_template_new(&t, "88.118.8", "motor", 1, "C", err,
					  sizeof(err)),
			 0);
	assert_int_equal(idn_template_publish(&t, NULL, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 has no items: nothing to "
			"publish");
	assert_int_equal(idn_template_withdraw(&t, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is a draft: only a published "
			"template can be withdrawn");
	idn_tpl_item_t it = item("BATCH", 2003, IDN_TPL_STRING, true);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(idn_template_publish(&t, NULL, err, sizeof(err)), 0);
	assert_int_equal(t.state, IDN_TPL_PUBLISHED);
	/* only drafts edit */
	it = item("LOT", 2004, IDN_TPL_STRING, false);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is published: only drafts "
			"can be edited");
	assert_int_equal(idn_template_remove_item(&t, 2003, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is published: only drafts "
			"can be edited");
	assert_int_equal(idn_template_set_industry(&t, "A", err, sizeof(err)),
			 IDN_EINVAL);
	assert_int_equal(t.nitems, 1);
	assert_int_equal(idn_template_publish(&t, NULL, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is published: only a draft "
			"can be published");
	assert_int_equal(idn_template_withdraw(&t, err, sizeof(err)), 0);
	assert_int_equal(t.state, IDN_TPL_WITHDRAWN);
	assert_int_equal(idn_template_withdraw(&t, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is already withdrawn");
	assert_int_equal(idn_template_publish(&t, NULL, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is withdrawn: only a draft "
			"can be published");
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 IDN_EINVAL);
	assert_msg(err, "template motor version 1 is withdrawn: only drafts "
			"can be edited");
	idn_template_free(&t);
}

static void test_derive(void **state)
{
	(void)state;
	idn_template_t v1, v2, other, bad;
	char err[200];
	make_motor(&v1);
	assert_int_equal(
		idn_template_derive(&v1, NULL, 2, &v2, err, sizeof(err)), 0);
	assert_string_equal(v2.name, "motor");
	assert_int_equal(v2.version, 2);
	assert_int_equal(v2.state, IDN_TPL_DRAFT);
	assert_true(v2.has_based_on);
	assert_string_equal(v2.based_on_name, "motor");
	assert_int_equal(v2.based_on_version, 1);
	assert_string_equal(v2.prefix, "88.118.8");
	assert_string_equal(v2.industry, "C/38/381/3811");
	assert_int_equal(v2.nitems, v1.nitems);
	for (uint32_t i = 0; i < v1.nitems; i++) {
		assert_string_equal(v2.items[i].name, v1.items[i].name);
		assert_int_equal(v2.items[i].index, v1.items[i].index);
		assert_ptr_not_equal(v2.items[i].name, v1.items[i].name);
	}
	assert_int_equal(v2.items[3].nenum, 3);
	assert_string_equal(v2.items[3].enums[2], "C");
	/* the new version is edited on its own */
	idn_tpl_item_t it = item("COLOUR", 2010, IDN_TPL_STRING, false);
	assert_int_equal(
		idn_template_add_item(&v2, &it, NULL, err, sizeof(err)), 0);
	assert_int_equal(idn_template_remove_item(&v2, 2004, err, sizeof(err)),
			 0);
	assert_int_equal(v1.nitems, 6);
	assert_int_equal(v2.nitems, 6);
	assert_int_equal(idn_template_publish(&v2, NULL, err, sizeof(err)), 0);
	/* derived from a withdrawn version, under a new name */
	assert_int_equal(idn_template_withdraw(&v1, err, sizeof(err)), 0);
	assert_int_equal(idn_template_derive(&v1, "motor-ev", 1, &other, err,
					     sizeof(err)),
			 0);
	assert_string_equal(other.name, "motor-ev");
	assert_string_equal(other.based_on_name, "motor");
	/* the copy outlives its base */
	idn_template_free(&v1);
	assert_string_equal(other.items[0].name, "BATCH");
	assert_int_equal(idn_template_check(&other, NULL, err, sizeof(err)), 0);

	assert_int_equal(
		idn_template_derive(&v2, NULL, 2, &bad, err, sizeof(err)),
		IDN_EINVAL);
	assert_msg(err, "new version 2 of motor must be greater than 2");
	assert_null(bad.name);
	assert_int_equal(
		idn_template_derive(&other, NULL, 2, &bad, err, sizeof(err)),
		IDN_EINVAL);
	assert_msg(err, "template motor-ev version 1 is a draft: derive from a "
			"published or withdrawn version");
	assert_int_equal(
		idn_template_derive(&v2, "", 1, &bad, err, sizeof(err)),
		IDN_EVALUE);
	assert_msg(err, "name is empty");
	assert_int_equal(
		idn_template_derive(&v2, NULL, 3, &v2, err, sizeof(err)),
		IDN_EINVAL);
	idn_template_free(&bad);
	idn_template_free(&v2);
	idn_template_free(&other);
}

/* ---- JSON ---- */

static const char motor_json[] =
	"{\"prefix\":\"88.118.8\",\"name\":\"motor\",\"version\":2,"
	"\"industry\":\"C/38/381/3811\",\"state\":\"published\","
	"\"based_on\":{\"name\":\"motor\",\"version\":1},"
	"\"items\":[{\"name\":\"BATCH\",\"index\":2003,\"type\":\"string\","
	"\"required\":true,\"min_len\":1,\"max_len\":20},"
	"{\"name\":\"GRADE\",\"index\":2006,\"type\":\"string\","
	"\"required\":false,\"enum\":[\"A\",\"B\"]},"
	"{\"name\":\"\xe5\x87\xba\xe5\x8e\x82\xe6\x97\xa5\xe6\x9c\x9f\","
	"\"index\":2005,\"type\":\"date\",\"required\":true},"
	"{\"name\":\"WEIGHT\",\"index\":2004,\"type\":\"number\","
	"\"required\":false}]}";

static char *to_json(const idn_template_t *t)
{
	size_t len = 0;
	assert_int_equal(idn_template_to_json(t, NULL, 0, &len), IDN_ETOOLONG);
	assert_true(len > 0);
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	/* one byte short of the NUL */
	size_t l2 = 0;
	assert_int_equal(idn_template_to_json(t, buf, len, &l2), IDN_ETOOLONG);
	assert_int_equal(l2, len);
	assert_int_equal(idn_template_to_json(t, buf, len + 1, &l2), 0);
	assert_int_equal(l2, len);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void test_json_roundtrip(void **state)
{
	(void)state;
	idn_template_t t, t2;
	char err[200];
	assert_int_equal(idn_template_from_json(motor_json, strlen(motor_json),
						NULL, &t, err, sizeof(err)),
			 0);
	assert_string_equal(t.prefix, "88.118.8");
	assert_string_equal(t.name, "motor");
	assert_int_equal(t.version, 2);
	assert_string_equal(t.industry, "C/38/381/3811");
	assert_int_equal(t.state, IDN_TPL_PUBLISHED);
	assert_true(t.has_based_on);
	assert_string_equal(t.based_on_name, "motor");
	assert_int_equal(t.based_on_version, 1);
	assert_int_equal(t.nitems, 4);
	assert_string_equal(t.items[0].name, "BATCH");
	assert_int_equal(t.items[0].index, 2003);
	assert_int_equal(t.items[0].type, IDN_TPL_STRING);
	assert_true(t.items[0].required);
	assert_int_equal(t.items[0].min_len, 1);
	assert_int_equal(t.items[0].max_len, 20);
	assert_int_equal(t.items[0].nenum, 0);
	assert_int_equal(t.items[1].nenum, 2);
	assert_string_equal(t.items[1].enums[1], "B");
	assert_string_equal(t.items[2].name,
			    "\xe5\x87\xba\xe5\x8e\x82\xe6\x97\xa5\xe6\x9c\x9f");
	assert_int_equal(t.items[2].type, IDN_TPL_DATE);
	assert_int_equal(t.items[3].type, IDN_TPL_NUMBER);
	assert_false(t.items[3].required);

	char *out = to_json(&t);
	assert_string_equal(out, motor_json);
	assert_int_equal(idn_template_from_json(out, strlen(out), NULL, &t2,
						err, sizeof(err)),
			 0);
	char *out2 = to_json(&t2);
	assert_string_equal(out2, out);
	free(out);
	free(out2);
	idn_template_free(&t2);
	idn_template_free(&t);

	/* defaults: state draft, no based_on, required false, min_len 0
	 * and an explicit "min_len":0 vanish on output */
	const char *in = "{ \"items\": [ {\"type\":\"number\",\"index\":2000,"
			 "\"name\":\"N\",\"min_len\":0} ], \"industry\":\"A\","
			 "\"version\":1,\"name\":\"x\",\"prefix\":\"88.1\" }";
	assert_int_equal(idn_template_from_json(in, strlen(in), NULL, &t, err,
						sizeof(err)),
			 0);
	assert_int_equal(t.state, IDN_TPL_DRAFT);
	assert_false(t.has_based_on);
	out = to_json(&t);
	assert_string_equal(out, "{\"prefix\":\"88.1\",\"name\":\"x\","
				 "\"version\":1,\"industry\":\"A\","
				 "\"state\":\"draft\",\"items\":[{\"name\":"
				 "\"N\",\"index\":2000,\"type\":\"number\","
				 "\"required\":false}]}");
	free(out);
	idn_template_free(&t);

	/* items may be empty */
	in = "{\"prefix\":\"88.1\",\"name\":\"x\",\"version\":4294967295,"
	     "\"industry\":\"A\",\"items\":[]}";
	assert_int_equal(idn_template_from_json(in, strlen(in), NULL, &t, err,
						sizeof(err)),
			 0);
	assert_int_equal(t.version, UINT32_MAX);
	assert_int_equal(t.nitems, 0);
	idn_template_free(&t);

	/* a configured minimum index */
	in = "{\"prefix\":\"88.1\",\"name\":\"x\",\"version\":1,"
	     "\"industry\":\"A\",\"items\":[{\"name\":\"N\",\"index\":1000,"
	     "\"type\":\"string\"}]}";
	idn_tpl_conf_t conf = {.min_index = 1000};
	assert_int_equal(idn_template_from_json(in, strlen(in), &conf, &t, err,
						sizeof(err)),
			 0);
	idn_template_free(&t);
	assert_int_equal(idn_template_from_json(in, strlen(in), NULL, &t, err,
						sizeof(err)),
			 IDN_EVALUE);
	assert_msg(err, "item N: index 1000 is below 2000");
	assert_null(t.name);
	assert_int_equal(idn_template_to_json(NULL, NULL, 0, NULL), IDN_EINVAL);
}

#define HEAD                                                                   \
	"\"prefix\":\"88.1\",\"name\":\"m\",\"version\":1,\"industry\":\"A\""
#define ITEM "{\"name\":\"N\",\"index\":2000,\"type\":\"string\""

static void test_json_errors(void **state)
{
	(void)state;
	struct {
		const char *json, *msg;
	} cases[] = {
		{"[]", "template must be a JSON object"},
		{"{" HEAD ",\"items\":[],\"colour\":1}",
		 "unknown field \"colour\""},
		{"{" HEAD ",\"items\":[" ITEM "}," ITEM
		 ",\"colour\":\"red\"}]}",
		 "items[1]: unknown field \"colour\""},
		{"{" HEAD ",\"items\":[],\"based_on\":{\"name\":\"m\","
		 "\"version\":0,\"x\":1}}",
		 "based_on: unknown field \"x\""},
		{"{" HEAD ",\"items\":[],\"based_on\":{\"name\":\"m\","
		 "\"version\":0}}",
		 "based_on.version must be an integer from 1 to 4294967295"},
		{"{" HEAD ",\"items\":[],\"based_on\":{\"name\":\"m\","
		 "\"version\":1}}",
		 "based_on m version 1 is not older than version 1"},
		{"{" HEAD ",\"items\":[],\"based_on\":[]}",
		 "based_on must be an object"},
		{"{" HEAD ",\"items\":[],\"based_on\":{\"version\":1}}",
		 "based_on.name is missing"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":\"1\","
		 "\"industry\":\"A\",\"items\":[]}",
		 "version must be an integer from 1 to 4294967295"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":0,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "version must be an integer from 1 to 4294967295"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":1.0,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "version must be an integer from 1 to 4294967295"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":4294967296,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "version must be an integer from 1 to 4294967295"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":-1,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "version must be an integer from 1 to 4294967295"},
		{"{\"prefix\":\"88.1\",\"version\":1,\"industry\":\"A\","
		 "\"items\":[]}",
		 "name is missing"},
		{"{\"prefix\":\"88.1\",\"name\":5,\"version\":1,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "name must be a string"},
		{"{\"prefix\":\"88.1\",\"name\":\"a\\u0001\",\"version\":1,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "name has a control character"},
		{"{\"prefix\":\"88.1/x\",\"name\":\"m\",\"version\":1,"
		 "\"industry\":\"A\",\"items\":[]}",
		 "prefix \"88.1/x\" is not a handle prefix (non-empty segments "
		 "separated by '.', no '/')"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":1,"
		 "\"industry\":\"A/06\",\"items\":[]}",
		 "industry division 06 is not in section A (01-05)"},
		{"{\"prefix\":\"88.1\",\"name\":\"m\",\"version\":1,"
		 "\"items\":[]}",
		 "industry is missing"},
		{"{" HEAD "}", "items is missing"},
		{"{" HEAD ",\"items\":{}}", "items must be an array"},
		{"{" HEAD ",\"items\":[1]}", "items[0] must be an object"},
		{"{" HEAD ",\"items\":[{\"name\":\"N\",\"index\":2000}]}",
		 "items[0].type is missing"},
		{"{" HEAD ",\"items\":[{\"name\":\"N\",\"index\":2000,"
		 "\"type\":\"text\"}]}",
		 "items[0].type must be \"string\", \"number\" or \"date\""},
		{"{" HEAD ",\"items\":[{\"name\":\"N\",\"index\":\"2000\","
		 "\"type\":\"text\"}]}",
		 "items[0].index must be an integer from 0 to 4294967295"},
		{"{" HEAD ",\"items\":[{\"index\":2000,\"type\":\"date\"}]}",
		 "items[0].name is missing"},
		{"{" HEAD ",\"items\":[" ITEM ",\"required\":\"yes\"}]}",
		 "items[0].required must be true or false"},
		{"{" HEAD ",\"items\":[" ITEM ",\"max_len\":0}]}",
		 "items[0].max_len must be an integer from 1 to 4294967295"},
		{"{" HEAD ",\"items\":[" ITEM ",\"min_len\":-1}]}",
		 "items[0].min_len must be an integer from 0 to 4294967295"},
		{"{" HEAD ",\"items\":[" ITEM ",\"enum\":[]}]}",
		 "items[0].enum must be a non-empty array of strings"},
		{"{" HEAD ",\"items\":[" ITEM ",\"enum\":\"A\"}]}",
		 "items[0].enum must be a non-empty array of strings"},
		{"{" HEAD ",\"items\":[" ITEM ",\"enum\":[\"A\",1]}]}",
		 "items[0].enum[1] must be a string"},
		{"{" HEAD ",\"items\":[],\"state\":\"live\"}",
		 "state must be \"draft\", \"published\" or \"withdrawn\""},
		{"{" HEAD ",\"items\":[" ITEM "},{\"name\":\"L\","
		 "\"index\":2000,\"type\":\"date\"}]}",
		 "items N and L share index 2000"},
		{"{" HEAD ",\"items\":[{\"name\":\"N\",\"index\":1999,"
		 "\"type\":\"date\"}]}",
		 "item N: index 1999 is below 2000"},
		{"{" HEAD ",\"items\":[{\"name\":\"W\",\"index\":2000,"
		 "\"type\":\"number\",\"enum\":[\"1.5\",\"abc\"]}]}",
		 "item W: enum value \"abc\" is not a number"},
	};
	idn_template_t t;
	char err[200];
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc = idn_template_from_json(cases[i].json,
						strlen(cases[i].json), NULL, &t,
						err, sizeof(err));
		if (rc != IDN_EVALUE) {
			print_error("case %zu: %s\n  gave %d (%s)\n", i,
				    cases[i].json, rc, err);
			fail();
		}
		assert_msg(err, cases[i].msg);
		assert_null(t.name);
		assert_int_equal(t.nitems, 0);
	}

	/* syntax errors come from jansson, prefixed */
	const char *syntax[] = {"",
				"{",
				"{\"prefix\":\"88.1\",}",
				"{\"a\":1,\"a\":2}",
				"{\"name\":\"\\u0000\"}",
				"{\"name\":\"\xff\"}",
				"{} x"};
	for (size_t i = 0; i < sizeof(syntax) / sizeof(*syntax); i++) {
		assert_int_equal(idn_template_from_json(syntax[i],
							strlen(syntax[i]), NULL,
							&t, err, sizeof(err)),
				 IDN_EVALUE);
		if (strncmp(err, "JSON: ", 6) != 0) {
			print_error("\"%s\": message \"%s\"\n", syntax[i], err);
			fail();
		}
	}
	assert_int_equal(
		idn_template_from_json(NULL, 0, NULL, &t, err, sizeof(err)),
		IDN_EVALUE);
	assert_int_equal(
		idn_template_from_json("{}", 2, NULL, NULL, err, sizeof(err)),
		IDN_EINVAL);
	/* too large */
	size_t big = IDN_TPL_JSON_MAX + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	assert_int_equal(
		idn_template_from_json(huge, big, NULL, &t, err, sizeof(err)),
		IDN_ETOOLONG);
	assert_msg(err, "template JSON is larger than 262144 bytes");
	free(huge);
}

/* ---- binary ---- */

static const uint8_t tiny_bin[] = {
	'I', 'D', 'N',	'T',  1,   0,	0,   0,	       /* header, draft */
	0,   0,	  0,	4,    '8', '8', '.', '1',      /* prefix */
	0,   0,	  0,	1,    'm',		       /* name */
	0,   0,	  0,	1,			       /* version */
	0,   0,	  0,	1,    'A',		       /* industry */
	0,   0,	  0,	1,			       /* one item */
	0,   0,	  0x07, 0xd0, 1,   1,		       /* 2000 number req */
	0,   0,	  0,	0,    0,   0,	0,   3,	       /* min 0 max 3 */
	0,   0,	  0,	1,    'X',		       /* name */
	0,   0,	  0,	1,    0,   0,	0,   1,	  '1', /* enum ["1"] */
};

static uint8_t *encode(const idn_template_t *t, size_t *len)
{
	size_t n = idn_template_size(t);
	uint8_t *buf = malloc(n + 16);
	assert_non_null(buf);
	idn_wr_t w;
	idn_wr_init(&w, buf, n);
	assert_int_equal(idn_template_encode(t, &w), 0);
	assert_int_equal(w.len, n);
	/* one byte short overflows */
	idn_wr_init(&w, buf, n - 1);
	assert_int_equal(idn_template_encode(t, &w), IDN_ETOOLONG);
	idn_wr_init(&w, buf, n);
	assert_int_equal(idn_template_encode(t, &w), 0);
	*len = n;
	return buf;
}

static void test_binary(void **state)
{
	(void)state;
	idn_template_t t, t2;
	char err[200];
	/* the documented layout, byte for byte */
	assert_int_equal(
		idn_template_new(&t, "88.1", "m", 1, "A", err, sizeof(err)), 0);
	const char *one[] = {"1"};
	idn_tpl_item_t it = item("X", 2000, IDN_TPL_NUMBER, true);
	it.max_len = 3;
	it.nenum = 1;
	it.enums = one;
	assert_int_equal(idn_template_add_item(&t, &it, NULL, err, sizeof(err)),
			 0);
	size_t n;
	uint8_t *bin = encode(&t, &n);
	assert_int_equal(n, sizeof(tiny_bin));
	assert_memory_equal(bin, tiny_bin, n);
	free(bin);
	idn_template_free(&t);
	assert_int_equal(idn_template_decode(tiny_bin, sizeof(tiny_bin), NULL,
					     &t, err, sizeof(err)),
			 0);
	assert_string_equal(t.items[0].name, "X");
	assert_true(t.items[0].required);
	assert_int_equal(t.items[0].max_len, 3);
	assert_string_equal(t.items[0].enums[0], "1");
	idn_template_free(&t);

	/* a full template: JSON -> binary -> template -> same binary and
	 * same JSON */
	assert_int_equal(idn_template_from_json(motor_json, strlen(motor_json),
						NULL, &t, err, sizeof(err)),
			 0);
	bin = encode(&t, &n);
	assert_int_equal(
		idn_template_decode(bin, n, NULL, &t2, err, sizeof(err)), 0);
	size_t n2;
	uint8_t *bin2 = encode(&t2, &n2);
	assert_int_equal(n2, n);
	assert_memory_equal(bin2, bin, n);
	char *j = to_json(&t2);
	assert_string_equal(j, motor_json);
	free(j);
	free(bin2);
	idn_template_free(&t2);

	/* every truncation fails cleanly */
	for (size_t k = 0; k < n; k++) {
		int rc = idn_template_decode(bin, k, NULL, &t2, err,
					     sizeof(err));
		if (rc == 0) {
			print_error("truncated to %zu bytes decoded\n", k);
			fail();
		}
		assert_null(t2.name);
	}
	/* trailing byte */
	uint8_t *more = malloc(n + 1);
	assert_non_null(more);
	memcpy(more, bin, n);
	more[n] = 0;
	assert_int_equal(
		idn_template_decode(more, n + 1, NULL, &t2, err, sizeof(err)),
		IDN_EMALFORMED);
	assert_msg(err, "1 bytes after the template");
	free(more);
	free(bin);
	idn_template_free(&t);

	/* header faults */
	uint8_t b[sizeof(tiny_bin)];
	struct {
		size_t at;
		uint8_t val;
		int rc;
		const char *msg;
	} faults[] = {
		{0, 'X', IDN_EMALFORMED, "not a template: bad magic"},
		{4, 2, IDN_EVERSION,
		 "template layout version 2 is not "
		 "supported"},
		{5, 3, IDN_EMALFORMED, "state 3 is invalid"},
		{6, 2, IDN_EMALFORMED,
		 "unknown flags 0x02 or reserved byte "
		 "0x00"},
		{7, 1, IDN_EMALFORMED,
		 "unknown flags 0x00 or reserved byte "
		 "0x01"},
		{6, 1, IDN_EVALUE, "based_on name has a NUL byte"},
		{10, 1, IDN_ETOOLONG,
		 "prefix at byte 12: length exceeds "
		 "limit"},
		{11, 200, IDN_EMALFORMED,
		 "prefix at byte 12: malformed or "
		 "truncated encoding"},
		{14, 0, IDN_EVALUE, "prefix has a NUL byte"},
		{14, '/', IDN_EVALUE,
		 "prefix \"88/1\" is not a handle prefix "
		 "(non-empty segments separated by '.', "
		 "no '/')"},
		{20, 0xff, IDN_EVALUE, "name is not valid UTF-8"},
		{24, 0, IDN_EVALUE, "version must be at least 1"},
		{28, 2, IDN_EVALUE, "industry has a NUL byte"},
		{28, 20, IDN_ETOOLONG,
		 "industry at byte 29: length exceeds "
		 "limit"},
		{29, 'U', IDN_EVALUE,
		 "industry section \"U\" is not a letter "
		 "A to T"},
		{33, 2, IDN_EMALFORMED,
		 "item count at byte 34: malformed or "
		 "truncated encoding"},
		{33, 0, IDN_EMALFORMED, "28 bytes after the template"},
		{36, 0x06, IDN_EVALUE, "item X: index 1744 is below 2000"},
		{38, 3, IDN_EMALFORMED,
		 "items[0]: type 3 or flags 0x01 "
		 "invalid"},
		{39, 2, IDN_EMALFORMED,
		 "items[0]: type 1 or flags 0x02 "
		 "invalid"},
		{43, 4, IDN_EVALUE,
		 "item X: min_len 4 is greater than max_len "
		 "3"},
		{51, 60, IDN_EMALFORMED,
		 "items[0].name at byte 52: malformed "
		 "or truncated encoding"},
		{51, 100, IDN_ETOOLONG,
		 "items[0].name at byte 52: length "
		 "exceeds limit"},
		{52, 0, IDN_EVALUE, "items[0].name has a NUL byte"},
		{53, 0xff, IDN_ETOOMANY,
		 "items[0].enum at byte 57: too many "
		 "values"},
		{61, 'a', IDN_EVALUE,
		 "item X: enum value \"a\" is not a "
		 "number"},
	};
	for (size_t i = 0; i < sizeof(faults) / sizeof(*faults); i++) {
		memcpy(b, tiny_bin, sizeof(b));
		b[faults[i].at] = faults[i].val;
		int rc = idn_template_decode(b, sizeof(b), NULL, &t, err,
					     sizeof(err));
		if (rc != faults[i].rc) {
			print_error("fault %zu (byte %zu = %u): gave %d (%s)\n",
				    i, faults[i].at, faults[i].val, rc, err);
			fail();
		}
		assert_msg(err, faults[i].msg);
		assert_null(t.name);
	}
	/* max_len 0 is "no maximum" and decodes */
	memcpy(b, tiny_bin, sizeof(b));
	b[47] = 0;
	assert_int_equal(
		idn_template_decode(b, sizeof(b), NULL, &t, err, sizeof(err)),
		0);
	assert_int_equal(t.items[0].max_len, 0);
	idn_template_free(&t);
	/* huge counts are refused before anything is allocated */
	memcpy(b, tiny_bin, sizeof(b));
	b[30] = 0xff;
	assert_int_equal(
		idn_template_decode(b, sizeof(b), NULL, &t, err, sizeof(err)),
		IDN_ETOOMANY);
	assert_msg(err, "item count at byte 34: too many values");
	assert_int_equal(
		idn_template_decode(NULL, 0, NULL, &t, err, sizeof(err)),
		IDN_EMALFORMED);
	assert_int_equal(
		idn_template_decode(NULL, 5, NULL, &t, err, sizeof(err)),
		IDN_EINVAL);
}

/* ---- validation ---- */

static idn_value_t val(uint32_t index, const char *data)
{
	idn_value_t v = {0};
	v.index = index;
	v.type = idn_bytes_str("STRING");
	v.data = idn_bytes_str(data);
	return v;
}

/* Validates and compares the messages with want (NULL-terminated). */
#define expect(t, conf, vals, n, ...)                                          \
	expect_((t), (conf), (vals), (n), (const char *[]){__VA_ARGS__, NULL}, \
		__FILE__, __LINE__)
static void expect_(const idn_template_t *t, const idn_tpl_conf_t *conf,
		    const idn_value_t *vals, uint32_t n, const char **want,
		    const char *file, int line)
{
	idn_tpl_violation_t out[16];
	uint32_t nv = 99;
	int rc = idn_template_validate(t, conf, vals, n, out, 16, &nv);
	uint32_t nwant = 0;
	while (want[nwant] != NULL)
		nwant++;
	bool ok = rc == (nwant ? IDN_EVALUE : 0) && nv == nwant;
	for (uint32_t i = 0; ok && i < nwant; i++)
		ok = strcmp(out[i].msg, want[i]) == 0;
	if (ok)
		return;
	print_error("%s:%d: rc %d, %u violations:\n", file, line, rc, nv);
	for (uint32_t i = 0; i < nv && i < 16; i++)
		print_error("  got  \"%s\"\n", out[i].msg);
	for (uint32_t i = 0; i < nwant; i++)
		print_error("  want \"%s\"\n", want[i]);
	fail();
}

#define valid(t, conf, vals, n)                                                \
	expect_((t), (conf), (vals), (n), (const char *[]){NULL}, __FILE__,    \
		__LINE__)

static void test_validate(void **state)
{
	(void)state;
	idn_template_t t;
	make_motor(&t);
	idn_value_t good[] = {
		val(1, "https://example.com/m/1"),
		val(100, "admin"),
		val(2003, "B-2024-07"),
		val(2004, "-12.5"),
		val(2005, "2024-02-29"),
		val(2006, "B"),
		val(2007, "\xe7\x94\xb5\xe6\x9c\xba\xe7\x94\xb5\xe6\x9c\xba"
			  "\xe7\x94\xb5"),
		val(2008, "123"),
	};
	valid(&t, NULL, good, 8);
	/* only required items */
	idn_value_t minimal[] = {val(2003, "X"), val(2005, "0001-01-01")};
	valid(&t, NULL, minimal, 2);
	/* an empty optional value counts as absent */
	idn_value_t empty_opt[] = {val(2003, "X"), val(2005, "2024-01-01"),
				   val(2004, ""), val(2006, "")};
	valid(&t, NULL, empty_opt, 4);
	/* tabs and newlines are data */
	idn_value_t nl[] = {val(2003, "a\tb\nc"), val(2005, "2024-01-01")};
	valid(&t, NULL, nl, 2);

	expect(&t, NULL, NULL, 0,
	       "item BATCH (index 2003): required but missing",
	       "item MADE (index 2005): required but missing");
	idn_value_t empty_req[] = {val(2003, ""), val(2005, "2024-01-01")};
	expect(&t, NULL, empty_req, 2,
	       "item BATCH (index 2003): required but empty");
	idn_value_t long_batch[] = {val(2003, "ABCDEFGHIJK"),
				    val(2005, "2024-01-01")};
	expect(&t, NULL, long_batch, 2,
	       "item BATCH (index 2003): 11 characters, more than max_len 10");
	idn_value_t weight[] = {val(2003, "X"), val(2005, "2024-01-01"),
				val(2004, "12,5")};
	expect(&t, NULL, weight, 3,
	       "item WEIGHT (index 2004): \"12,5\" is not a number");
	idn_value_t made[] = {val(2003, "X"), val(2005, "2023-02-29")};
	expect(&t, NULL, made, 2,
	       "item MADE (index 2005): \"2023-02-29\" is not a valid "
	       "YYYY-MM-DD date");
	idn_value_t grade[] = {val(2003, "X"), val(2005, "2024-01-01"),
			       val(2006, "D")};
	expect(&t, NULL, grade, 3,
	       "item GRADE (index 2006): \"D\" is not one of the 3 enum "
	       "values");
	idn_value_t grade_case[] = {val(2003, "X"), val(2005, "2024-01-01"),
				    val(2006, "a")};
	expect(&t, NULL, grade_case, 3,
	       "item GRADE (index 2006): \"a\" is not one of the 3 enum "
	       "values");
	/* lengths count UTF-8 characters, not bytes */
	idn_value_t note[] = {val(2003, "X"), val(2005, "2024-01-01"),
			      val(2007,
				  "\xe7\x94\xb5\xe6\x9c\xba\xe7\x94\xb5"
				  "\xe6\x9c\xba\xe7\x94\xb5\xe6\x9c\xba")};
	expect(&t, NULL, note, 3,
	       "item NOTE (index 2007): 6 characters, more than max_len 5");
	idn_value_t unknown[] = {val(2003, "X"), val(2005, "2024-01-01"),
				 val(2999, "?"), val(1999, "below")};
	expect(&t, NULL, unknown, 4,
	       "index 2999: no item of template motor version 1 has this "
	       "index");
	idn_value_t dup[] = {val(2003, "X"), val(2005, "2024-01-01"),
			     val(2003, "Y")};
	expect(&t, NULL, dup, 3,
	       "item BATCH (index 2003): 2 values at this index");
	idn_value_t utf8[] = {val(2003, "\xc3\x28"), val(2005, "2024-01-01")};
	expect(&t, NULL, utf8, 2,
	       "item BATCH (index 2003): data is not valid UTF-8");
	idn_value_t ctl[] = {val(2003, "a\x01"), val(2005, "2024-01-01")};
	expect(&t, NULL, ctl, 2,
	       "item BATCH (index 2003): data has a control character");
	/* one value breaking two rules reports both */
	idn_value_t code[] = {val(2003, "X"), val(2005, "2024-01-01"),
			      val(2008, "abcd")};
	expect(&t, NULL, code, 3,
	       "item CODE (index 2008): \"abcd\" is not a number",
	       "item CODE (index 2008): 4 characters, more than max_len 3");
	/* long values are clipped in messages */
	idn_value_t longw[] = {val(2003, "X"), val(2005, "2024-01-01"),
			       val(2004, "0123456789012345678901234567890123"
					 "456789x")};
	expect(&t, NULL, longw, 3,
	       "item WEIGHT (index 2004): \"01234567890123456789012345678901"
	       "...\" is not a number");

	/* every violation, in template order, then unknown values */
	idn_value_t all[] = {
		val(3000, "u1"),	 val(2008, "1234"), val(2006, "Z"),
		val(2005, "2024-13-01"), val(2004, "x"),    val(2007, "123456"),
		val(2001, "u2"),
	};
	expect(&t, NULL, all, 7,
	       "item BATCH (index 2003): required but missing",
	       "item WEIGHT (index 2004): \"x\" is not a number",
	       "item MADE (index 2005): \"2024-13-01\" is not a valid "
	       "YYYY-MM-DD date",
	       "item GRADE (index 2006): \"Z\" is not one of the 3 enum "
	       "values",
	       "item NOTE (index 2007): 6 characters, more than max_len 5",
	       "item CODE (index 2008): 4 characters, more than max_len 3",
	       "index 3000: no item of template motor version 1 has this "
	       "index",
	       "index 2001: no item of template motor version 1 has this "
	       "index");
	/* rule codes, indexes and names of the violations */
	idn_tpl_violation_t out[3];
	uint32_t nv = 0;
	assert_int_equal(idn_template_validate(&t, NULL, all, 7, out, 3, &nv),
			 IDN_EVALUE);
	assert_int_equal(nv, 8); /* total, though only 3 were stored */
	assert_int_equal(out[0].rule, IDN_TPL_V_MISSING);
	assert_int_equal(out[0].index, 2003);
	assert_string_equal(out[0].item, "BATCH");
	assert_int_equal(out[1].rule, IDN_TPL_V_NUMBER);
	assert_int_equal(out[2].rule, IDN_TPL_V_DATE);
	assert_int_equal(idn_template_validate(&t, NULL, all, 7, NULL, 0, &nv),
			 IDN_EVALUE);
	assert_int_equal(nv, 8);
	idn_tpl_violation_t o2[8];
	assert_int_equal(idn_template_validate(&t, NULL, all, 7, o2, 8, &nv),
			 IDN_EVALUE);
	assert_int_equal(o2[3].rule, IDN_TPL_V_ENUM);
	assert_int_equal(o2[4].rule, IDN_TPL_V_MAX_LEN);
	assert_int_equal(o2[6].rule, IDN_TPL_V_UNKNOWN);
	assert_int_equal(o2[6].index, 3000);
	assert_null(o2[6].item);

	/* a configured lower bound makes more indexes template indexes */
	idn_tpl_conf_t conf = {.min_index = 1000};
	expect(&t, &conf, unknown, 4,
	       "index 2999: no item of template motor version 1 has this "
	       "index",
	       "index 1999: no item of template motor version 1 has this "
	       "index");

	/* arguments */
	assert_int_equal(
		idn_template_validate(NULL, NULL, good, 8, out, 3, &nv),
		IDN_EINVAL);
	assert_int_equal(idn_template_validate(&t, NULL, good, 8, out, 3, NULL),
			 IDN_EINVAL);
	assert_int_equal(idn_template_validate(&t, NULL, NULL, 2, out, 3, &nv),
			 IDN_EINVAL);
	assert_int_equal(idn_template_validate(&t, NULL, good, 8, NULL, 3, &nv),
			 IDN_EINVAL);

	/* withdrawn: no new record validates, whatever it holds */
	char err[200];
	assert_int_equal(idn_template_withdraw(&t, err, sizeof(err)), 0);
	expect(&t, NULL, good, 8,
	       "template motor version 1 is withdrawn: new records cannot be "
	       "validated against it");
	assert_int_equal(idn_template_validate(&t, NULL, good, 8, out, 3, &nv),
			 IDN_EVALUE);
	assert_int_equal(out[0].rule, IDN_TPL_V_WITHDRAWN);
	assert_int_equal(out[0].index, 0);
	assert_null(out[0].item);
	idn_template_free(&t);

	/* a draft validates (to try a template out before publishing) */
	char e2[200];
	assert_int_equal(
		idn_template_new(&t, "88.1", "d", 1, "A", e2, sizeof(e2)), 0);
	idn_tpl_item_t it = item("N", 2000, IDN_TPL_NUMBER, true);
	assert_int_equal(idn_template_add_item(&t, &it, NULL, e2, sizeof(e2)),
			 0);
	idn_value_t n1[] = {val(2000, "42")};
	valid(&t, NULL, n1, 1);
	idn_value_t n2[] = {val(2000, "042")};
	expect(&t, NULL, n2, 1, "item N (index 2000): \"042\" is not a number");
	idn_template_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_industry),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
