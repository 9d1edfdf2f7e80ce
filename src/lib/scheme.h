/* Identifiers of other schemes (docs/architecture.md, Identifiers): GS1 keys,
 * OIDs, Ecode, DOI / Handle and the national "88." form. Each is parsed and
 * validated by its own rules, then mapped to one canonical Handle
 * identifier under the prefix an operator configured for the scheme, so a
 * single resolver answers for all of them. Pure functions: no I/O, no
 * allocation, no global state.
 *
 * Accepted input (the scheme is detected from the text):
 *
 * GS1 (GS1 General Specifications; GS1 Digital Link URI syntax 1.2)
 *   plain digits     8, 12, 13 or 14 digits: GTIN-8/12/13/14; 18 digits: SSCC.
 *                    (13 digits are always read as a GTIN-13: a GLN needs
 *                    the (414) or /414/ form.)
 *   element string   "(01)09506000134352(21)ABC": AIs of 2-4 digits in
 *                    parentheses. Exactly one primary key: (01) GTIN of 14
 *                    digits, (00) SSCC of 18, (414) GLN of 13. Key
 *                    qualifiers (22) consumer product variant, (10) batch/
 *                    lot, (21) serial of a GTIN and (254) extension of a
 *                    GLN, each 1-20 characters of GS1 character set 82, in
 *                    any order, each at most once. Any other AI is a data
 *                    attribute: its value must be 1-90 characters of set 82
 *                    and it is otherwise ignored (counted in nattrs). A
 *                    literal '(' inside a value is written "\(".
 *   Digital Link     "http[s]://HOST[/PATH...]/01/<gtin>[/22/v][/10/v][/21/v]",
 *                    ".../00/<sscc>", ".../414/<gln>[/254/v]": any host and
 *                    any leading path; the GTIN may be 8, 12, 13 or 14
 *                    digits; qualifiers are optional but must come in the
 *                    order shown; the short names of DL 1.2 (gtin cpv lot
 *                    ser sscc gln glnx) are accepted too; segments are
 *                    percent-decoded; the query string (data attributes)
 *                    and fragment are ignored; one trailing '/' is allowed.
 *   EPC pure identity URN (GS1 Tag Data Standard)
 *                    "urn:epc:id:sgtin:<company prefix>.<indicator+item ref>
 *                    .<serial>", "urn:epc:id:sscc:<cp>.<ext+serial ref>",
 *                    "urn:epc:id:sgln:<cp>.<location ref>.<extension>"
 *                    (extension "0" = none); the company prefix is 6-12
 *                    digits and the check digit is computed.
 *   Every key's GS1 mod-10 check digit is verified; GTINs are normalised to
 *   14 digits. A GTIN with a serial (AI 21) is an SGTIN.
 *
 * OID (ITU-T X.660)
 *   "1.2.156.10197.1.301" or "urn:oid:1.2.156.10197.1.301": decimal arcs
 *   separated by '.', no empty arc, no leading zero, first arc 0, 1 or 2,
 *   second arc at most 39 under 0 and 1. Arcs may be longer than 64 bits
 *   (kept as text; arcs_u64 says whether all fit a uint64_t). The bare
 *   form needs at least two arcs; "urn:oid:" allows one.
 *
 * Ecode (GB/T 31866, "Identification system for internet of things - Ecode
 * of entity code", 2015, revised 2023)
 *   "ecode:<V><NSI><MD>" ("ecode:" is idnode's label; the standard defines
 *   no textual URI form that we could confirm). Confirmed from public
 *   sources: an Ecode is a version V, a numbering scheme identifier NSI and
 *   a master data code MD; versions V0-V3 exist; V0 is reserved for
 *   GS1-compatible codes. UNCONFIRMED (from secondary recollection of the
 *   2015 table, not checked against the standard text): NSI is 4 digits in
 *   V1 and V2 and 5 in V3; a whole code is at most 25 (V1), 33 (V2) or 45
 *   (V3) characters; MD is digits in V1 and letters/digits in V2 and V3.
 *   These limits live in one table in scheme.c. Ecode has no code-wide check
 *   digit that we could confirm (check digits belong to the MD of particular
 *   numbering schemes), so none is verified. V0 is rejected (give the GS1
 *   key itself); V4 and above are rejected as unsupported.
 *
 * DOI / Handle / national
 *   "10.1000/182", "doi:10.1000/182", "info:doi/10.1000/182",
 *   "https://doi.org/10.1000/182" (also dx.doi.org, www.doi.org) -> DOI
 *   (prefix "10." then dot-separated digits); "hdl:P/S", "info:hdl/P/S",
 *   "https://hdl.handle.net/P/S" and any other "P/S" -> a Handle; a prefix
 *   "88" or starting "88." (all segments digits) -> the national form.
 *   A handle prefix holds only letters, digits, '.', '-' and '_'.
 *   URL paths are percent-decoded; the text must then be a valid identifier
 *   for idn_ident_parse (UTF-8, no control characters, <= 2048 bytes,
 *   non-empty prefix segments and suffix).
 *
 * Leading or trailing white space is an error, never trimmed. */
#ifndef IDN_SCHEME_H
#define IDN_SCHEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"

typedef enum {
	IDN_SCHEME_NONE = 0,
	IDN_SCHEME_GTIN,  /* GTIN, optionally with cpv / lot */
	IDN_SCHEME_SGTIN, /* GTIN + serial (AI 21), optionally cpv / lot */
	IDN_SCHEME_SSCC,
	IDN_SCHEME_GLN, /* optionally with extension (AI 254) */
	IDN_SCHEME_OID,
	IDN_SCHEME_ECODE,
	IDN_SCHEME_DOI,
	IDN_SCHEME_NATIONAL, /* 88.x/... */
	IDN_SCHEME_HANDLE,   /* any other prefix/suffix */
} idn_scheme_t;

typedef enum {
	IDN_FORM_PLAIN = 0,    /* bare digits, bare OID, bare prefix/suffix */
	IDN_FORM_ELEMENT,      /* GS1 element string "(01)..." */
	IDN_FORM_DIGITAL_LINK, /* GS1 Digital Link URI */
	IDN_FORM_EPC_URN,      /* urn:epc:id:... */
	IDN_FORM_URN,	       /* urn:oid:... */
	IDN_FORM_LABEL,	       /* doi: hdl: info:doi/ info:hdl/ ecode: */
	IDN_FORM_URL, /* https://doi.org/..., https://hdl.handle.net/... */
} idn_scheme_form_t;

#define IDN_GS1_QUAL_MAX 20 /* characters in AI 22, 10, 21 and 254 */

/* A parsed identifier. Self-contained (no pointers into the input). GS1
 * fields are NUL-terminated ASCII and "" when absent; text holds the OID,
 * Ecode or handle text (percent-decoded, NUL-terminated). */
typedef struct {
	idn_scheme_t scheme;
	idn_scheme_form_t form;
	/* GS1 */
	uint8_t given_digits; /* key digits as given (GTIN 8/12/13/14) */
	char key[19];	      /* GTIN-14, SSCC (18) or GLN (13) digits */
	char cpv[IDN_GS1_QUAL_MAX + 1];	   /* AI 22 */
	char lot[IDN_GS1_QUAL_MAX + 1];	   /* AI 10 */
	char serial[IDN_GS1_QUAL_MAX + 1]; /* AI 21 */
	char glnx[IDN_GS1_QUAL_MAX + 1];   /* AI 254 */
	uint32_t nattrs; /* element-string data attributes ignored */
	/* OID */
	uint32_t narcs;
	bool arcs_u64; /* every arc fits in a uint64_t */
	/* Ecode */
	uint8_t ecode_version; /* V */
	uint8_t nsi_len;       /* digits of NSI after V */
	/* OID, Ecode, DOI, national, handle */
	uint32_t prefix_len; /* handles: bytes of text before the '/' */
	uint32_t text_len;
	char text[IDN_IDENT_MAX + 1];
} idn_scheme_id_t;

/* Handle prefixes the schemes map under ("88.100.1"); NULL or "" leaves a
 * scheme unmapped. DOI, national and handle identifiers need no prefix. */
typedef struct {
	const char *gs1; /* GTIN, SGTIN, SSCC, GLN */
	const char *oid;
	const char *ecode;
} idn_scheme_map_t;

/* Detects the scheme of in[0..len) and parses and validates it into *out.
 * Returns 0; IDN_EIDENT for anything that is not a valid identifier of a
 * known scheme (wrong check digit, bad length, bad OID arc, qualifiers out
 * of order...); IDN_EUTF8 for invalid UTF-8 in handle text; IDN_ETOOLONG
 * for input over IDN_IDENT_MAX bytes; IDN_EINVAL for NULL arguments. On
 * failure, when err is not NULL, a one-line English message naming what
 * was wrong (e.g. "GTIN-13 check digit is 3, expected 2", "OID arc 2 has a
 * leading zero") is written to err (truncated to errcap, NUL-terminated)
 * and out->scheme is IDN_SCHEME_NONE. The input is not retained. */
int idn_scheme_parse(const char *in, size_t len, idn_scheme_id_t *out,
		     char *err, size_t errcap);

/* Writes the canonical Handle identifier of id, NUL-terminated, to out:
 *   GTIN     <gs1>/01/<gtin14>[/22/<cpv>][/10/<lot>]
 *   SGTIN    <gs1>/01/<gtin14>[/22/<cpv>][/10/<lot>]/21/<serial>
 *   SSCC     <gs1>/00/<sscc>
 *   GLN      <gs1>/414/<gln>[/254/<extension>]
 *   OID      <oid>/<dotted arcs>
 *   Ecode    <ecode>/<V NSI MD>
 *   DOI, national, handle: the identifier text itself (decoded, unchanged)
 * The suffix of a GS1 identifier is its Digital Link path: qualifier values
 * are percent-encoded (%XX, upper-case hex) except A-Z a-z 0-9 '-' '.' '_',
 * so a '/' in a serial cannot split the path and the mapping is one to
 * one. GS1 serials are case-sensitive: a node holding them needs
 * case-sensitive suffixes (--case-sensitive-suffix), otherwise serials that
 * differ only in case name the same record.
 * Returns 0; IDN_EUNSUPPORTED when map has no prefix for the scheme;
 * IDN_EINVAL for a NULL argument, an unparsed id or a configured prefix
 * that is not a valid prefix (no '/', non-empty dot-separated segments);
 * IDN_ETOOLONG when the result exceeds IDN_IDENT_MAX bytes or cap - 1. */
int idn_scheme_canonical(const idn_scheme_id_t *id, const idn_scheme_map_t *map,
			 char *out, size_t cap);

/* Whether in[0..len) has a shape that only an identifier of another
 * scheme could have: a URI ("://" anywhere), a URN ("urn:" first), an
 * Ecode label ("ecode:" first; labels in either case), a GS1 element
 * string ('(' first), bare digits, or digits and dots without a '/' (an
 * OID) whose first arc is not 10 or 88 (those are DOI and national handle
 * prefixes lacking a suffix). Text of such a shape that idn_scheme_parse
 * refuses is a mistyped identifier of that scheme and an error, never a handle
 * to pass on as it is; text of any other shape that it refuses may still be a
 * handle (the node judges it). The empty text has no shape. Pure, never fails.
 */
bool idn_scheme_shaped(const char *in, size_t len);

/* The GS1 mod-10 check digit (0-9) of digits[0..n) (the data digits, the
 * check digit excluded): weights 3, 1, 3, ... from the rightmost digit.
 * Returns it, or -1 when n is 0 or a character is not a digit. */
int idn_gs1_check_digit(const char *digits, size_t n);

/* A short English name: "GTIN", "SGTIN", "SSCC", "GLN", "OID", "Ecode",
 * "DOI", "national", "handle", "none". Static string. */
const char *idn_scheme_name(idn_scheme_t s);

#endif
