/* Tests of multi-scheme identifiers (scheme.c): GS1 keys in every form,
 * OIDs, Ecode, DOI / Handle / national, and the canonical mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"
#include "scheme.h"

static const idn_scheme_map_t map = {
	.gs1 = "88.100.1",
	.oid = "88.100.2",
	.ecode = "88.100.3",
};

/* Parses in, expects scheme sch and the canonical form canon; returns the
 * parsed identifier (static storage) for further checks. */
#define ok(in, sch, canon) ok_((in), (sch), (canon), __FILE__, __LINE__)
static const idn_scheme_id_t *ok_(const char *in, idn_scheme_t sch,
				  const char *canon, const char *file, int line)
{
	static idn_scheme_id_t id;
	char err[256];
	int rc = idn_scheme_parse(in, strlen(in), &id, err, sizeof(err));
	if (rc != 0) {
		print_error("%s:%d: parse \"%s\" failed (%d): %s\n", file, line,
			    in, rc, err);
		fail();
	}
	if (id.scheme != sch) {
		print_error("%s:%d: \"%s\" parsed as %s, want %s\n", file, line,
			    in, idn_scheme_name(id.scheme),
			    idn_scheme_name(sch));
		fail();
	}
	char out[IDN_IDENT_MAX + 1];
	rc = idn_scheme_canonical(&id, &map, out, sizeof(out));
	if (rc != 0) {
		print_error("%s:%d: canonical of \"%s\" failed: %d\n", file,
			    line, in, rc);
		fail();
	}
	if (strcmp(out, canon) != 0) {
		print_error("%s:%d: canonical of \"%s\" is \"%s\", want "
			    "\"%s\"\n",
			    file, line, in, out, canon);
		fail();
	}
	/* every canonical form is a valid Handle identifier */
	static idn_ident_t ident;
	if (idn_ident_parse((const uint8_t *)out, strlen(out),
			    IDN_IDENT_CASE_SUFFIX, &ident) != 0) {
		print_error("%s:%d: canonical \"%s\" is not an identifier\n",
			    file, line, out);
		fail();
	}
	return &id;
}

/* Expects in to be rejected with code rc and exactly the message msg. */
#define bad(in, msg)                                                           \
	bad_((in), strlen(in), IDN_EIDENT, (msg), __FILE__, __LINE__)
#define bad_rc(in, rc, msg)                                                    \
	bad_((in), strlen(in), (rc), (msg), __FILE__, __LINE__)
static void bad_(const char *in, size_t len, int want, const char *msg,
		 const char *file, int line)
{
	idn_scheme_id_t id;
	char err[256];
	int rc = idn_scheme_parse(in, len, &id, err, sizeof(err));
	if (rc != want) {
		print_error("%s:%d: \"%s\" gave %d (%s), want %d\n", file, line,
			    in, rc, err, want);
		fail();
	}
	if (strcmp(err, msg) != 0) {
		print_error("%s:%d: \"%s\"\n  message \"%s\"\n  want    "
			    "\"%s\"\n",
			    file, line, in, err, msg);
		fail();
	}
	assert_int_equal(id.scheme, IDN_SCHEME_NONE);
}

static void test_check_digit(void **state)
{
	(void)state;
	assert_int_equal(idn_gs1_check_digit("0950600013435", 13), 2);
	assert_int_equal(idn_gs1_check_digit("400638133393", 12), 1);
	assert_int_equal(idn_gs1_check_digit("01234567890", 11), 5);
	assert_int_equal(idn_gs1_check_digit("9638507", 7), 4);
	assert_int_equal(idn_gs1_check_digit("10614141123456789", 17), 7);
	assert_int_equal(idn_gs1_check_digit("952123400000", 12), 6);
	assert_int_equal(idn_gs1_check_digit("0", 1), 0);
	assert_int_equal(idn_gs1_check_digit("", 0), -1);
	assert_int_equal(idn_gs1_check_digit("12a", 3), -1);
	assert_int_equal(idn_gs1_check_digit(NULL, 3), -1);
}

static void test_gtin_plain(void **state)
{
	(void)state;
	const idn_scheme_id_t *id = ok("09506000134352", IDN_SCHEME_GTIN,
				       "88.100.1/01/09506000134352");
	assert_int_equal(id->form, IDN_FORM_PLAIN);
	assert_int_equal(id->given_digits, 14);
	assert_string_equal(id->key, "09506000134352");
	assert_string_equal(id->serial, "");
	id = ok("4006381333931", IDN_SCHEME_GTIN, "88.100.1/01/04006381333931");
	assert_int_equal(id->given_digits, 13);
	assert_string_equal(id->key, "04006381333931");
	id = ok("012345678905", IDN_SCHEME_GTIN, "88.100.1/01/00012345678905");
	assert_int_equal(id->given_digits, 12);
	id = ok("96385074", IDN_SCHEME_GTIN, "88.100.1/01/00000096385074");
	assert_int_equal(id->given_digits, 8);
	ok("00012345678905", IDN_SCHEME_GTIN, "88.100.1/01/00012345678905");

	bad("4006381333932", "GTIN-13 check digit is 2, expected 1");
	bad("4006381333933", "GTIN-13 check digit is 3, expected 1");
	bad("09506000134353", "GTIN-14 check digit is 3, expected 2");
	bad("012345678901", "GTIN-12 check digit is 1, expected 5");
	bad("96385075", "GTIN-8 check digit is 5, expected 4");
	bad("1234567890", "10 digits is neither a GTIN (8, 12, 13 or 14 "
			  "digits) nor an SSCC (18 digits)");
	bad("123", "3 digits is neither a GTIN (8, 12, 13 or 14 digits) nor "
		   "an SSCC (18 digits)");
	bad("0950600013435200", "16 digits is neither a GTIN (8, 12, 13 or "
				"14 digits) nor an SSCC (18 digits)");
}

static void test_sscc_plain(void **state)
{
	(void)state;
	const idn_scheme_id_t *id = ok("106141411234567897", IDN_SCHEME_SSCC,
				       "88.100.1/00/106141411234567897");
	assert_string_equal(id->key, "106141411234567897");
	assert_int_equal(id->given_digits, 18);
	bad("106141411234567890", "SSCC check digit is 0, expected 7");
}

static void test_element_string(void **state)
{
	(void)state;
	const idn_scheme_id_t *id =
		ok("(01)09506000134352(21)ABC", IDN_SCHEME_SGTIN,
		   "88.100.1/01/09506000134352/21/ABC");
	assert_int_equal(id->form, IDN_FORM_ELEMENT);
	assert_string_equal(id->serial, "ABC");
	assert_int_equal(id->nattrs, 0);
	ok("(01)09506000134352", IDN_SCHEME_GTIN, "88.100.1/01/09506000134352");
	/* any order in an element string; data attributes ignored */
	ok("(21)ABC(01)09506000134352", IDN_SCHEME_SGTIN,
	   "88.100.1/01/09506000134352/21/ABC");
	id = ok("(01)09506000134352(17)261231(10)LOT-7(21)A/B%1",
		IDN_SCHEME_SGTIN,
		"88.100.1/01/09506000134352/10/LOT-7/21/A%2FB%251");
	assert_int_equal(id->nattrs, 1);
	assert_string_equal(id->lot, "LOT-7");
	assert_string_equal(id->serial, "A/B%1");
	/* batch only: still a GTIN, not an SGTIN */
	id = ok("(01)09506000134352(10)L1(22)V", IDN_SCHEME_GTIN,
		"88.100.1/01/09506000134352/22/V/10/L1");
	assert_string_equal(id->cpv, "V");
	/* "\(" is a literal parenthesis */
	id = ok("(01)09506000134352(21)A\\(B", IDN_SCHEME_SGTIN,
		"88.100.1/01/09506000134352/21/A%28B");
	assert_string_equal(id->serial, "A(B");
	ok("(00)106141411234567897", IDN_SCHEME_SSCC,
	   "88.100.1/00/106141411234567897");
	ok("(00)106141411234567897(02)09506000134352(37)12", IDN_SCHEME_SSCC,
	   "88.100.1/00/106141411234567897");
	id = ok("(414)9521234000006(254)7", IDN_SCHEME_GLN,
		"88.100.1/414/9521234000006/254/7");
	assert_string_equal(id->glnx, "7");
	ok("(21)12345678901234567890(01)09506000134352", IDN_SCHEME_SGTIN,
	   "88.100.1/01/09506000134352/21/12345678901234567890");

	bad("(01)4006381333931",
	    "AI (01) GTIN has 13 characters, expected 14 digits");
	bad("(01)09506000134352x",
	    "AI (01) GTIN has 15 characters, expected 14 digits");
	bad("(01)0950600013435X",
	    "GTIN-14 has a non-digit character 'X' at position 14");
	bad("(01)09506000134353", "GTIN-14 check digit is 3, expected 2");
	bad("(00)10614141123456789", "SSCC has 17 digits, expected 18");
	bad("(414)9521234000005", "GLN check digit is 5, expected 6");
	bad("(01)09506000134352(21)", "element string: AI (21) has no value");
	bad("(01)09506000134352(21)A(21)B", "AI 21 (serial) appears twice");
	bad("(01)09506000134352(00)106141411234567897",
	    "element string has two primary keys, (01) and (00)");
	bad("(21)ABC", "element string has no primary key: (01) GTIN, (00) "
		       "SSCC or (414) GLN");
	bad("(00)106141411234567897(21)X",
	    "AI (21) qualifies a GTIN (01), not the key (00)");
	bad("(01)09506000134352(254)X",
	    "AI (254) qualifies a GLN (414), not the key (01)");
	bad("(1)23", "element string: the AI at byte 1 is not 2 to 4 digits "
		     "in parentheses");
	bad("(01234)5", "element string: the AI at byte 1 is not 2 to 4 "
			"digits in parentheses");
	bad("(01", "element string: the AI at byte 1 is not 2 to 4 digits in "
		   "parentheses");
	bad("(01)09506000134352(2x)1", "element string: the AI at byte 19 is "
				       "not 2 to 4 digits in parentheses");
	bad("(01)09506000134352 (21)1",
	    "element string: AI (01) has character ' ' outside the GS1 "
	    "character set 82");
	bad("(01)09506000134352)", "AI (01) GTIN has 15 characters, expected "
				   "14 digits");
	bad("(01)09506000134352(21)ABCDEFGHIJKLMNOPQRSTU",
	    "AI 21 (serial) has 21 characters, at most 20 allowed");
	bad("(01)09506000134352(21)AB C",
	    "element string: AI (21) has character ' ' outside the GS1 "
	    "character set 82");
	bad("(01)09506000134352(21)A\\B",
	    "element string: AI (21) has character '\\' outside the GS1 "
	    "character set 82");
	bad("(01)09506000134352(21)\xc3\xa9",
	    "element string: AI (21) has character \\xc3 outside the GS1 "
	    "character set 82");
}

static void test_digital_link(void **state)
{
	(void)state;
	const idn_scheme_id_t *id =
		ok("https://id.gs1.org/01/09506000134352/21/ABC",
		   IDN_SCHEME_SGTIN, "88.100.1/01/09506000134352/21/ABC");
	assert_int_equal(id->form, IDN_FORM_DIGITAL_LINK);
	assert_string_equal(id->serial, "ABC");
	ok("https://id.gs1.org/01/09506000134352", IDN_SCHEME_GTIN,
	   "88.100.1/01/09506000134352");
	id = ok("http://example.com/01/4006381333931", IDN_SCHEME_GTIN,
		"88.100.1/01/04006381333931");
	assert_int_equal(id->given_digits, 13);
	ok("HTTPS://id.gs1.org/01/012345678905", IDN_SCHEME_GTIN,
	   "88.100.1/01/00012345678905");
	ok("https://id.gs1.org/01/96385074", IDN_SCHEME_GTIN,
	   "88.100.1/01/00000096385074");
	/* brand's own path, query and fragment ignored */
	ok("https://example.com/products/01/09506000134352/10/ABC123/21/"
	   "12345?17=261231#top",
	   IDN_SCHEME_SGTIN, "88.100.1/01/09506000134352/10/ABC123/21/12345");
	ok("https://id.gs1.org/01/09506000134352/22/V1/10/L1/21/S1",
	   IDN_SCHEME_SGTIN, "88.100.1/01/09506000134352/22/V1/10/L1/21/S1");
	ok("https://id.gs1.org/01/09506000134352/10/L1?3103=000195",
	   IDN_SCHEME_GTIN, "88.100.1/01/09506000134352/10/L1");
	/* percent-decoding, then re-encoding in the canonical form */
	id = ok("https://id.gs1.org/01/09506000134352/21/A%2FB%3f",
		IDN_SCHEME_SGTIN, "88.100.1/01/09506000134352/21/A%2FB%3F");
	assert_string_equal(id->serial, "A/B?");
	ok("https://id.gs1.org/00/106141411234567897", IDN_SCHEME_SSCC,
	   "88.100.1/00/106141411234567897");
	ok("https://id.gs1.org/414/9521234000006/254/1", IDN_SCHEME_GLN,
	   "88.100.1/414/9521234000006/254/1");
	ok("https://id.gs1.org/414/9521234000006", IDN_SCHEME_GLN,
	   "88.100.1/414/9521234000006");
	/* DL 1.2 short names */
	ok("https://id.gs1.org/gtin/09506000134352/lot/L/ser/ABC",
	   IDN_SCHEME_SGTIN, "88.100.1/01/09506000134352/10/L/21/ABC");
	ok("https://id.gs1.org/sscc/106141411234567897", IDN_SCHEME_SSCC,
	   "88.100.1/00/106141411234567897");
	/* one trailing slash */
	ok("https://id.gs1.org/01/09506000134352/", IDN_SCHEME_GTIN,
	   "88.100.1/01/09506000134352");
	/* a leading path that itself contains "01" */
	ok("https://example.com/01/info/01/09506000134352/21/X",
	   IDN_SCHEME_SGTIN, "88.100.1/01/09506000134352/21/X");

	bad("https://id.gs1.org/01/09506000134352/21/ABC/10/L1",
	    "Digital Link: qualifier 10 (batch/lot) comes after 21 (serial); "
	    "the order is 22, 10, 21");
	bad("https://id.gs1.org/01/09506000134352/10/L1/22/V",
	    "Digital Link: qualifier 22 (consumer product variant) comes "
	    "after 10 (batch/lot); the order is 22, 10, 21");
	bad("https://id.gs1.org/01/09506000134352/21/A/21/B",
	    "Digital Link: qualifier 21 appears twice");
	bad("https://id.gs1.org/01/09506000134352/17/261231",
	    "Digital Link: 17 is not a key qualifier of the GTIN (allowed: "
	    "22, 10, 21; data attributes belong in the query string)");
	bad("https://id.gs1.org/00/106141411234567897/21/X",
	    "Digital Link: 21 is not a key qualifier of the SSCC (allowed: "
	    "none; data attributes belong in the query string)");
	bad("https://id.gs1.org/414/9521234000006/21/X",
	    "Digital Link: 21 is not a key qualifier of the GLN (allowed: "
	    "254; data attributes belong in the query string)");
	bad("https://id.gs1.org/01/09506000134352/21",
	    "Digital Link: qualifier 21 at the end of the path has no value");
	bad("https://id.gs1.org/01",
	    "Digital Link: key AI 01 at the end of the path has no value");
	bad("https://id.gs1.org/01/09506000134352/21/A%2",
	    "Digital Link: bad percent-encoding in the value of AI 21");
	bad("https://id.gs1.org/01/09506000134352/21/A%zz",
	    "Digital Link: bad percent-encoding in the value of AI 21");
	bad("https://id.gs1.org/01/09506000134352/21/A%20B",
	    "AI 21 (serial) has character ' ' outside the GS1 character set "
	    "82");
	bad("https://id.gs1.org/01/09506000134352/21/A%00",
	    "AI 21 (serial) has character \\x00 outside the GS1 character set "
	    "82");
	bad("https://id.gs1.org/01/09506000134352/21/ABCDEFGHIJKLMNOPQRSTU",
	    "AI 21 (serial) has more than 20 characters");
	bad("https://id.gs1.org//01/09506000134352",
	    "Digital Link: path segment 1 is empty");
	bad("https://id.gs1.org/01/09506000134352//",
	    "Digital Link: path segment 3 is empty");
	bad("https://example.com/about",
	    "URL is not a GS1 Digital Link with a supported key: no /01/ GTIN, "
	    "/00/ SSCC or /414/ GLN in the path");
	bad("https://id.gs1.org/8004/0614141ABC",
	    "URL is not a GS1 Digital Link with a supported key: no /01/ GTIN, "
	    "/00/ SSCC or /414/ GLN in the path");
	bad("https://example.com", "URL has no path: not a GS1 Digital Link "
				   "(no /01/, /00/ or /414/)");
	bad("https://example.com?01=09506000134352",
	    "URL has no path: not a GS1 Digital Link (no /01/, /00/ or "
	    "/414/)");
	bad("https:///01/09506000134352", "URL has no host");
	bad("https://id.gs1.org/01/09506000134353/21/ABC",
	    "GTIN-14 check digit is 3, expected 2");
	bad("https://id.gs1.org/01/123456789",
	    "GTIN has 9 digits, expected 8, 12, 13 or 14");
	bad("https://id.gs1.org/01/1234567890123456789012345678901234567890"
	    "12345678901234567890123",
	    "GTIN has 63 digits, expected 8, 12, 13 or 14");
	bad("https://id.gs1.org/01/1234567890123456789012345678901234567890"
	    "123456789012345678901234",
	    "Digital Link: the value of AI 01 is too long");
	bad("https://id.gs1.org/00/106141411234567890",
	    "SSCC check digit is 0, expected 7");
	/* short names are case-sensitive in DL 1.2 */
	bad("https://id.gs1.org/GTIN/09506000134352",
	    "URL is not a GS1 Digital Link with a supported key: no /01/ GTIN, "
	    "/00/ SSCC or /414/ GLN in the path");
}

static void test_epc_urn(void **state)
{
	(void)state;
	const idn_scheme_id_t *id =
		ok("urn:epc:id:sgtin:0614141.812345.6789", IDN_SCHEME_SGTIN,
		   "88.100.1/01/80614141123458/21/6789");
	assert_int_equal(id->form, IDN_FORM_EPC_URN);
	assert_string_equal(id->key, "80614141123458");
	assert_string_equal(id->serial, "6789");
	ok("urn:epc:id:sgtin:0614141.812345.A%2FB.C", IDN_SCHEME_SGTIN,
	   "88.100.1/01/80614141123458/21/A%2FB.C");
	ok("urn:epc:id:sscc:0614141.1234567890", IDN_SCHEME_SSCC,
	   "88.100.1/00/106141412345678908");
	id = ok("urn:epc:id:sgln:0614141.12345.400", IDN_SCHEME_GLN,
		"88.100.1/414/0614141123452/254/400");
	assert_string_equal(id->glnx, "400");
	ok("urn:epc:id:sgln:0614141.12345.0", IDN_SCHEME_GLN,
	   "88.100.1/414/0614141123452");
	ok("URN:EPC:ID:SGTIN:061414112345.0.1", IDN_SCHEME_SGTIN,
	   "88.100.1/01/00614141123452/21/1");

	bad("urn:epc:id:sgtin:0614141.81234.6789",
	    "EPC URN: the reference after a 7-digit company prefix must be 6 "
	    "digits");
	bad("urn:epc:id:sgtin:06141.8123456.1",
	    "EPC URN: company prefix must be 6 to 12 digits");
	bad("urn:epc:id:sgtin:0614141.812345",
	    "EPC URN: missing the last field (serial or extension)");
	bad("urn:epc:id:sscc:0614141.1234567890.1",
	    "EPC URN: an SSCC has two fields");
	bad("urn:epc:id:sgtin:0614141.812345.A/B",
	    "EPC URN: character '/' must not appear unescaped in the serial");
	bad("urn:epc:id:sgtin:0614141.812345.A%2", "EPC URN: bad %-escape in "
						   "the serial");
	bad("urn:epc:id:sgtin:0614141.812345.", "EPC URN: serial is empty");
	bad("urn:epc:id:sgtin:0614141.812345.123456789012345678901",
	    "EPC URN: serial is longer than 20 characters");
	bad("urn:epc:id:giai:0614141.12345", "EPC URN scheme \"giai\" is not "
					     "supported (sgtin, sscc, sgln)");
	bad("urn:epc:id:sgtin:0614141812345",
	    "EPC URN: expected <company prefix>.<reference>");
}

static void test_oid(void **state)
{
	(void)state;
	const idn_scheme_id_t *id = ok("1.2.156.10197.1.301", IDN_SCHEME_OID,
				       "88.100.2/1.2.156.10197.1.301");
	assert_int_equal(id->form, IDN_FORM_PLAIN);
	assert_int_equal(id->narcs, 6);
	assert_true(id->arcs_u64);
	assert_string_equal(id->text, "1.2.156.10197.1.301");
	id = ok("urn:oid:2.999.1", IDN_SCHEME_OID, "88.100.2/2.999.1");
	assert_int_equal(id->form, IDN_FORM_URN);
	ok("URN:OID:1.3.6.1.4.1", IDN_SCHEME_OID, "88.100.2/1.3.6.1.4.1");
	id = ok("urn:oid:2", IDN_SCHEME_OID, "88.100.2/2");
	assert_int_equal(id->narcs, 1);
	ok("0.39", IDN_SCHEME_OID, "88.100.2/0.39");
	ok("2.40", IDN_SCHEME_OID, "88.100.2/2.40");
	ok("0.0", IDN_SCHEME_OID, "88.100.2/0.0");
	id = ok("1.2.18446744073709551615", IDN_SCHEME_OID,
		"88.100.2/1.2.18446744073709551615");
	assert_true(id->arcs_u64);
	id = ok("1.2.18446744073709551616", IDN_SCHEME_OID,
		"88.100.2/1.2.18446744073709551616");
	assert_false(id->arcs_u64);
	id = ok("2.25.329800735698586629295641978511506172918", IDN_SCHEME_OID,
		"88.100.2/2.25.329800735698586629295641978511506172918");
	assert_false(id->arcs_u64);
	assert_int_equal(id->narcs, 3);

	bad("1.2.0156.1", "OID arc 3 has a leading zero");
	bad("1.02.156", "OID arc 2 has a leading zero");
	bad("3.1", "OID arc 1 is 3, must be 0, 1 or 2");
	bad("1.40.1", "OID arc 2 is 40, must be at most 39 under arc 1");
	bad("0.100", "OID arc 2 is 100, must be at most 39 under arc 0");
	bad("1..2", "OID arc 2 is empty");
	bad("1.2.", "OID arc 3 is empty");
	bad("urn:oid:.1", "OID arc 1 is empty");
	bad("urn:oid:1.2.a", "OID arc 3 has a non-digit character 'a'");
	bad("urn:oid:1.2.156.10197.1.301/x", "OID arc 6 has a non-digit "
					     "character '/'");
	bad("urn:oid:", "OID is empty");
	bad("urn:oid:12.1", "OID arc 1 is 12, must be 0, 1 or 2");
	bad("1.2.156.10197.1.301.", "OID arc 7 is empty");
}

static void test_ecode(void **state)
{
	(void)state;
	const idn_scheme_id_t *id =
		ok("ecode:100012023000000000001", IDN_SCHEME_ECODE,
		   "88.100.3/100012023000000000001");
	assert_int_equal(id->form, IDN_FORM_LABEL);
	assert_int_equal(id->ecode_version, 1);
	assert_int_equal(id->nsi_len, 4);
	id = ok("ECODE:20001ABC123xyz", IDN_SCHEME_ECODE,
		"88.100.3/20001ABC123xyz");
	assert_int_equal(id->ecode_version, 2);
	id = ok("ecode:300001A", IDN_SCHEME_ECODE, "88.100.3/300001A");
	assert_int_equal(id->nsi_len, 5);

	bad("ecode:", "Ecode is empty");
	bad("ecode:x0001", "Ecode version must be a digit, found 'x'");
	bad("ecode:0069501234567", "Ecode version 0 is the GS1-compatible "
				   "form: give the GS1 key (GTIN, SSCC, GLN) "
				   "itself");
	bad("ecode:5123", "Ecode version 5 is not supported (versions 1 to 3)");
	bad("ecode:10001A", "Ecode-V1 master data code has character 'A' "
			    "(allowed: digits)");
	bad("ecode:20001AB-1", "Ecode-V2 master data code has character '-' "
			       "(allowed: letters and digits)");
	bad("ecode:10001000000000000000000001",
	    "Ecode-V1 has 26 characters, at most 25 allowed");
	bad("ecode:10001", "Ecode-V1 needs a 4-digit NSI and a master data "
			   "code");
	bad("ecode:300001", "Ecode-V3 needs a 5-digit NSI and a master data "
			    "code");
	bad("ecode:1A0011", "Ecode NSI has a non-digit character 'A'");
}

static void test_handles(void **state)
{
	(void)state;
	const idn_scheme_id_t *id =
		ok("10.1000/182", IDN_SCHEME_DOI, "10.1000/182");
	assert_int_equal(id->form, IDN_FORM_PLAIN);
	assert_int_equal(id->prefix_len, 7);
	id = ok("doi:10.1000/182", IDN_SCHEME_DOI, "10.1000/182");
	assert_int_equal(id->form, IDN_FORM_LABEL);
	ok("DOI:10.1000/182", IDN_SCHEME_DOI, "10.1000/182");
	ok("info:doi/10.1000/182", IDN_SCHEME_DOI, "10.1000/182");
	id = ok("https://doi.org/10.1000/182", IDN_SCHEME_DOI, "10.1000/182");
	assert_int_equal(id->form, IDN_FORM_URL);
	ok("http://dx.doi.org/10.1000/182?x=1#y", IDN_SCHEME_DOI,
	   "10.1000/182");
	ok("https://DOI.ORG/10.1000.10/abc", IDN_SCHEME_DOI, "10.1000.10/abc");
	ok("https://doi.org/10.1002/%28SICI%291097-4571%28199806%2949",
	   IDN_SCHEME_DOI, "10.1002/(SICI)1097-4571(199806)49");
	ok("10.1002/(SICI)1097-4571/x", IDN_SCHEME_DOI,
	   "10.1002/(SICI)1097-4571/x");
	id = ok("88.118.8/JXDY2106023", IDN_SCHEME_NATIONAL,
		"88.118.8/JXDY2106023");
	assert_int_equal(id->prefix_len, 8);
	ok("88.118.8/\xe7\x94\xb5\xe6\x9c\xba-7731", IDN_SCHEME_NATIONAL,
	   "88.118.8/\xe7\x94\xb5\xe6\x9c\xba-7731");
	ok("88/x", IDN_SCHEME_NATIONAL, "88/x");
	ok("20.500.12345/abc", IDN_SCHEME_HANDLE, "20.500.12345/abc");
	ok("hdl:20.500.12345/abc", IDN_SCHEME_HANDLE, "20.500.12345/abc");
	ok("info:hdl/20.500.12345/abc", IDN_SCHEME_HANDLE, "20.500.12345/abc");
	ok("https://hdl.handle.net/20.500.12345/a%20b", IDN_SCHEME_HANDLE,
	   "20.500.12345/a b");
	ok("hdl:10.1000/182", IDN_SCHEME_DOI, "10.1000/182");
	ok("0.NA/88.118", IDN_SCHEME_HANDLE, "0.NA/88.118");
	ok("880.1/x", IDN_SCHEME_HANDLE, "880.1/x");
	ok("101.1/x", IDN_SCHEME_HANDLE, "101.1/x");

	bad("doi:20.500.1/x", "DOI prefix must start with \"10.\"");
	bad("https://doi.org/20.500.1/x", "DOI prefix must start with \"10.\"");
	bad("10.abc/x", "DOI prefix \"10.abc\" is not 10.<registrant digits>");
	bad("10/x", "DOI prefix \"10\" is not 10.<registrant digits>");
	bad("10./x", "DOI prefix \"10.\" is not 10.<registrant digits>");
	bad("10.1000./x", "DOI prefix \"10.1000.\" is not 10.<registrant "
			  "digits>");
	bad("88.abc/x", "national prefix \"88.abc\" must be dot-separated "
			"digit segments");
	bad("88..1/x", "national prefix \"88..1\" must be dot-separated digit "
		       "segments");
	bad("88.118.8", "\"88.118.8\" is a handle prefix without '/' and "
			"suffix");
	bad("10.1000", "\"10.1000\" is a handle prefix without '/' and "
		       "suffix");
	bad("doi:10.1000", "DOI has no '/' between prefix and suffix");
	bad("10.1000/", "handle suffix is empty");
	bad("/x", "handle prefix is empty");
	bad("a..b/x", "handle prefix \"a..b\" has an empty segment");
	bad("hdl:http://01234=67//05",
	    "handle prefix \"http:\" has character ':' (allowed: letters, "
	    "digits, '.', '-', '_')");
	bad("01 2/x", "handle prefix \"01 2\" has character ' ' (allowed: "
		      "letters, digits, '.', '-', '_')");
	bad("(01)x/y", "AI (01) GTIN has 3 characters, expected 14 digits");
	bad("\xe7\x94\xb5/x", "handle prefix \"???\" has character \\xe7 "
			      "(allowed: letters, digits, '.', '-', '_')");
	ok("cnri.test_1-a/x", IDN_SCHEME_HANDLE, "cnri.test_1-a/x");
	bad("a./x", "handle prefix \"a.\" has an empty segment");
	bad_rc("88.1/\xff", IDN_EUTF8, "identifier is not valid UTF-8");
	bad_rc("88.1/\xc0\xaf", IDN_EUTF8, "identifier is not valid UTF-8");
	bad("88.1/a\tb", "identifier has control character \\x09 at byte 7");
	bad("https://doi.org/10.1000/a%0Ab",
	    "identifier has control character \\x0a at byte 10");
	bad("https://doi.org/10.1000/a%zz", "URL path has a bad %-escape");
	bad("https://doi.org/", "URL has no identifier in its path");
	bad("hdl:", "handle has no '/' between prefix and suffix");
	bad("https://hdl.handle.net/20.00.1445/a%20",
	    "identifier has leading or trailing white space");
	bad("doi: 10.1000/182",
	    "identifier has leading or trailing white space");
	ok("hdl:20.1/a b", IDN_SCHEME_HANDLE, "20.1/a b");
}

static void test_general(void **state)
{
	(void)state;
	bad("", "identifier is empty");
	bad(" 09506000134352", "identifier has leading or trailing white "
			       "space");
	bad("09506000134352\n", "identifier has leading or trailing white "
				"space");
	bad("hello", "\"hello\" is not a GS1 key, OID, Ecode, DOI or handle");
	bad("0950600013435a", "\"0950600013435a\" is not a GS1 key, OID, "
			      "Ecode, DOI or handle");
	bad("abcdefghijklmnopqrstuvwxyz0123",
	    "\"abcdefghijklmnopqrstuvwx...\" is not a GS1 key, OID, Ecode, "
	    "DOI or handle");

	/* NUL bytes inside the length are data, never terminators */
	bad_("0950600013435\0"
	     "2",
	     15, IDN_EIDENT,
	     "\"0950600013435?2\" is not a GS1 key, OID, Ecode, DOI or handle",
	     __FILE__, __LINE__);
	bad_("88.1/a\0b", 8, IDN_EIDENT,
	     "identifier has control character \\x00 at byte 7", __FILE__,
	     __LINE__);

	char *big = malloc(IDN_IDENT_MAX + 2);
	assert_non_null(big);
	memcpy(big, "88.1/", 5);
	memset(big + 5, 'a', IDN_IDENT_MAX - 4);
	bad_(big, IDN_IDENT_MAX + 1, IDN_ETOOLONG,
	     "identifier is longer than 2048 bytes", __FILE__, __LINE__);
	/* exactly the limit is fine */
	idn_scheme_id_t id;
	assert_int_equal(idn_scheme_parse(big, IDN_IDENT_MAX, &id, NULL, 0), 0);
	assert_int_equal(id.scheme, IDN_SCHEME_NATIONAL);
	assert_int_equal(id.text_len, IDN_IDENT_MAX);
	free(big);

	/* arguments */
	char err[64];
	assert_int_equal(idn_scheme_parse(NULL, 3, &id, err, sizeof(err)),
			 IDN_EINVAL);
	assert_int_equal(idn_scheme_parse("x", 1, NULL, NULL, 0), IDN_EINVAL);
	assert_int_equal(idn_scheme_parse(NULL, 0, &id, NULL, 0), IDN_EIDENT);
	/* messages truncate to the buffer */
	assert_int_equal(idn_scheme_parse("4006381333932", 13, &id, err, 8),
			 IDN_EIDENT);
	assert_string_equal(err, "GTIN-13");
	/* success clears the message */
	strcpy(err, "stale");
	assert_int_equal(idn_scheme_parse("96385074", 8, &id, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
}

static void test_canonical(void **state)
{
	(void)state;
	idn_scheme_id_t id;
	char out[64];
	assert_int_equal(idn_scheme_parse("09506000134352", 14, &id, NULL, 0),
			 0);
	idn_scheme_map_t m = {0};
	assert_int_equal(idn_scheme_canonical(&id, &m, out, sizeof(out)),
			 IDN_EUNSUPPORTED);
	assert_int_equal(idn_scheme_canonical(&id, NULL, out, sizeof(out)),
			 IDN_EUNSUPPORTED);
	m.gs1 = "";
	assert_int_equal(idn_scheme_canonical(&id, &m, out, sizeof(out)),
			 IDN_EUNSUPPORTED);
	m.gs1 = "88.100/1";
	assert_int_equal(idn_scheme_canonical(&id, &m, out, sizeof(out)),
			 IDN_EINVAL);
	m.gs1 = "88..1";
	assert_int_equal(idn_scheme_canonical(&id, &m, out, sizeof(out)),
			 IDN_EINVAL);
	m.gs1 = "88.1\n";
	assert_int_equal(idn_scheme_canonical(&id, &m, out, sizeof(out)),
			 IDN_EINVAL);
	m.gs1 = "88.100.1";
	/* "88.100.1/01/09506000134352" is 26 bytes: needs cap 27 */
	assert_int_equal(idn_scheme_canonical(&id, &m, out, 26), IDN_ETOOLONG);
	assert_int_equal(idn_scheme_canonical(&id, &m, out, 27), 0);
	assert_string_equal(out, "88.100.1/01/09506000134352");
	/* an OID needs the OID prefix, not the GS1 one */
	assert_int_equal(idn_scheme_parse("1.2.156", 7, &id, NULL, 0), 0);
	assert_int_equal(idn_scheme_canonical(&id, &m, out, sizeof(out)),
			 IDN_EUNSUPPORTED);
	/* DOIs need no prefix */
	assert_int_equal(idn_scheme_parse("10.1000/182", 11, &id, NULL, 0), 0);
	assert_int_equal(idn_scheme_canonical(&id, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "10.1000/182");
	assert_int_equal(idn_scheme_canonical(&id, NULL, out, 11),
			 IDN_ETOOLONG);
	/* unparsed or failed identifiers */
	assert_int_equal(idn_scheme_parse("bad", 3, &id, NULL, 0), IDN_EIDENT);
	assert_int_equal(idn_scheme_canonical(&id, &map, out, sizeof(out)),
			 IDN_EINVAL);
	assert_int_equal(idn_scheme_canonical(NULL, &map, out, sizeof(out)),
			 IDN_EINVAL);
	assert_int_equal(idn_scheme_canonical(&id, &map, NULL, 5), IDN_EINVAL);
	assert_int_equal(idn_scheme_canonical(&id, &map, out, 0), IDN_EINVAL);

	/* a canonical form over IDN_IDENT_MAX is refused */
	char *oid = malloc(IDN_IDENT_MAX + 1);
	assert_non_null(oid);
	size_t n = 0;
	n += (size_t)sprintf(oid, "2");
	while (n + 2 <= IDN_IDENT_MAX - 4)
		n += (size_t)sprintf(oid + n, ".1");
	assert_int_equal(idn_scheme_parse(oid, n, &id, NULL, 0), 0);
	char *big = malloc(IDN_IDENT_MAX + 100);
	assert_non_null(big);
	m.oid = "88.100.2";
	assert_int_equal(
		idn_scheme_canonical(&id, &m, big, IDN_IDENT_MAX + 100),
		IDN_ETOOLONG);
	m.oid = "8";
	assert_int_equal(
		idn_scheme_canonical(&id, &m, big, IDN_IDENT_MAX + 100), 0);
	assert_int_equal(strlen(big), n + 2);
	free(big);
	free(oid);

	/* every GS1 character gets through the canonical form and back */
	const char *all = "!\"%&'()*+,-./:;<=>?_";
	const char *el = "(01)09506000134352(21)!\"%&'\\()*+,-./:;<=>?_";
	assert_int_equal(idn_scheme_parse(el, strlen(el), &id, NULL, 0), 0);
	assert_string_equal(id.serial, all);
	char canon[128];
	assert_int_equal(idn_scheme_canonical(&id, &map, canon, sizeof(canon)),
			 0);
	assert_string_equal(canon, "88.100.1/01/09506000134352/21/"
				   "%21%22%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B"
				   "%3C%3D%3E%3F_");
	/* the encoded serial, put back into a Digital Link, decodes to the
	 * same serial */
	char dl[160];
	snprintf(dl, sizeof(dl), "https://id.gs1.org/%s",
		 canon + strlen("88.100.1/"));
	idn_scheme_id_t back;
	assert_int_equal(idn_scheme_parse(dl, strlen(dl), &back, NULL, 0), 0);
	assert_string_equal(back.serial, all);
	assert_string_equal(back.key, id.key);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(idn_scheme_name(IDN_SCHEME_GTIN), "GTIN");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_SGTIN), "SGTIN");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_SSCC), "SSCC");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_GLN), "GLN");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_OID), "OID");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_ECODE), "Ecode");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_DOI), "DOI");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_NATIONAL), "national");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_HANDLE), "handle");
	assert_string_equal(idn_scheme_name(IDN_SCHEME_NONE), "none");
	assert_string_equal(idn_scheme_name((idn_scheme_t)99), "none");
}

/* The shape test: what only another scheme could mean, and what may
 * still be a handle. */
static void test_shaped(void **state)
{
	(void)state;
	static const char *const shaped[] = {
		"https://example.com/01/123",
		"ftp://x",
		"urn:oid:1.2.3",
		"URN:epc:id:sgtin:x",
		"urn:anything",
		"ecode:1234",
		"Ecode:x",
		"(01)0950600013435",
		"(",
		"0123",
		"9506000134352",
		"1.2.840",
		"3.1",
		"100.1",
		"1.88",
		"88",
		"...",
		"20.500.123/x://y",
	};
	for (size_t i = 0; i < sizeof(shaped) / sizeof(*shaped); i++)
		if (!idn_scheme_shaped(shaped[i], strlen(shaped[i])))
			fail_msg("\"%s\" should be scheme-shaped", shaped[i]);
	static const char *const plain[] = {
		"",
		"20.500.123/abc",
		"10.1000/182",
		"1.2.3/x",
		"hdl:1/2",
		"doi:10.1/x",
		"abc",
		"0.NA/88.118",
		"12a",
		"urn",
		"ecode",
		" 123",
		"1.2.3 ",
		"x(01)",
		"01/234",
		/* handle prefixes without a suffix: the node judges them */
		"10.1000",
		"88.118.8",
		"10.",
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++)
		if (idn_scheme_shaped(plain[i], strlen(plain[i])))
			fail_msg("\"%s\" should not be scheme-shaped",
				 plain[i]);
	/* only len bytes are looked at */
	assert_true(idn_scheme_shaped("123abc", 3));
	assert_false(idn_scheme_shaped("abc://", 3));
	assert_false(idn_scheme_shaped(NULL, 0));
	/* every shaped text that parses is a scheme's; the rest that parses
	 * is a handle */
	idn_scheme_id_t id;
	assert_int_equal(idn_scheme_parse("1.2.840", 7, &id, NULL, 0), 0);
	assert_int_equal(id.scheme, IDN_SCHEME_OID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shaped),
		cmocka_unit_test(test_check_digit),
		cmocka_unit_test(test_gtin_plain),
		cmocka_unit_test(test_sscc_plain),
		cmocka_unit_test(test_element_string),
		cmocka_unit_test(test_digital_link),
		cmocka_unit_test(test_epc_urn),
		cmocka_unit_test(test_oid),
		cmocka_unit_test(test_ecode),
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_general),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
