#include "scheme.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "hex.h"

/* ---- small helpers ---- */

/* refusals explain themselves through the library's reason buffer */
typedef idn__errbuf_t errbuf_t;
#define fail idn__fail

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* ASCII case-insensitive "s starts with lit". */
static bool starts_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n < l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (lower(s[i]) != lit[i])
			return false;
	return true;
}

static bool eq_ci(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && starts_ci(s, n, lit);
}

static bool eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A printable excerpt of untrusted text for an error message: at most 24
 * bytes, anything outside printable ASCII shown as '?'. */
typedef struct {
	char s[32];
} clip_t;

static clip_t clip(const char *s, size_t n)
{
	clip_t c;
	size_t k = 0;
	for (size_t i = 0; i < n && i < 24; i++)
		c.s[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > 24) {
		c.s[k++] = '.';
		c.s[k++] = '.';
		c.s[k++] = '.';
	}
	c.s[k] = '\0';
	return c;
}

/* One character for a message: 'x' or \xNN. */
typedef struct {
	char s[8];
} chr_t;

static chr_t chr(char ch)
{
	chr_t c;
	unsigned char u = (unsigned char)ch;
	if (u >= 0x20 && u < 0x7f)
		snprintf(c.s, sizeof(c.s), "'%c'", ch);
	else
		snprintf(c.s, sizeof(c.s), "\\x%02x", u);
	return c;
}

/* GS1 AI encodable character set 82 (GS1 General Specifications 7.11). */
static bool cset82(char c)
{
	if (is_alnum(c))
		return true;
	return c != '\0' && strchr("!\"%&'()*+,-./:;<=>?_", c) != NULL;
}

/* Percent-decodes s[0..n) into out (capacity cap, NUL-terminated).
 * Returns the decoded length, -1 for a bad escape, -2 when it does not fit. */
static long pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			int h = idn_hex_digit(s[i + 1]),
			    l = idn_hex_digit(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (k + 1 >= cap)
			return -2;
		out[k++] = c;
	}
	out[k] = '\0';
	return (long)k;
}

int idn_gs1_check_digit(const char *digits, size_t n)
{
	if (digits == NULL || n == 0)
		return -1;
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		char c = digits[n - 1 - i];
		if (!is_digit(c))
			return -1;
		sum += (unsigned)(c - '0') * ((i % 2 == 0) ? 3 : 1);
	}
	return (int)((10 - sum % 10) % 10);
}

const char *idn_scheme_name(idn_scheme_t s)
{
	switch (s) {
	case IDN_SCHEME_GTIN:
		return "GTIN";
	case IDN_SCHEME_SGTIN:
		return "SGTIN";
	case IDN_SCHEME_SSCC:
		return "SSCC";
	case IDN_SCHEME_GLN:
		return "GLN";
	case IDN_SCHEME_OID:
		return "OID";
	case IDN_SCHEME_ECODE:
		return "Ecode";
	case IDN_SCHEME_DOI:
		return "DOI";
	case IDN_SCHEME_NATIONAL:
		return "national";
	case IDN_SCHEME_HANDLE:
		return "handle";
	case IDN_SCHEME_NONE:
		break;
	}
	return "none";
}

/* ---- GS1 keys ---- */

/* Verifies n digits ending in a check digit; what names the key. */
static int check_key(errbuf_t *e, const char *what, const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(d[i]))
			return fail(e, IDN_EIDENT,
				    "%s has a non-digit character %s at "
				    "position %zu",
				    what, chr(d[i]).s, i + 1);
	int want = idn_gs1_check_digit(d, n - 1);
	if (want != d[n - 1] - '0')
		return fail(e, IDN_EIDENT, "%s check digit is %c, expected %d",
			    what, d[n - 1], want);
	return 0;
}

static int set_gtin(errbuf_t *e, idn_scheme_id_t *id, const char *d, size_t n)
{
	if (n != 8 && n != 12 && n != 13 && n != 14)
		return fail(e, IDN_EIDENT,
			    "GTIN has %zu digits, expected 8, 12, 13 or 14", n);
	char what[16];
	snprintf(what, sizeof(what), "GTIN-%zu", n);
	int err = check_key(e, what, d, n);
	if (err)
		return err;
	memset(id->key, '0', 14 - n);
	memcpy(id->key + 14 - n, d, n);
	id->key[14] = '\0';
	id->given_digits = (uint8_t)n;
	id->scheme = IDN_SCHEME_GTIN;
	return 0;
}

static int set_sscc(errbuf_t *e, idn_scheme_id_t *id, const char *d, size_t n)
{
	if (n != 18)
		return fail(e, IDN_EIDENT, "SSCC has %zu digits, expected 18",
			    n);
	int err = check_key(e, "SSCC", d, n);
	if (err)
		return err;
	memcpy(id->key, d, 18);
	id->key[18] = '\0';
	id->given_digits = 18;
	id->scheme = IDN_SCHEME_SSCC;
	return 0;
}

static int set_gln(errbuf_t *e, idn_scheme_id_t *id, const char *d, size_t n)
{
	if (n != 13)
		return fail(e, IDN_EIDENT, "GLN has %zu digits, expected 13",
			    n);
	int err = check_key(e, "GLN", d, n);
	if (err)
		return err;
	memcpy(id->key, d, 13);
	id->key[13] = '\0';
	id->given_digits = 13;
	id->scheme = IDN_SCHEME_GLN;
	return 0;
}

/* Key qualifiers: AI, field, name, rank in the Digital Link path order. */
enum { Q_CPV, Q_LOT, Q_SER, Q_GLNX, Q_N };
static const struct {
	const char *ai;
	const char *alpha; /* DL 1.2 short name */
	const char *name;
} quals[Q_N] = {
	[Q_CPV] = {"22", "cpv", "consumer product variant"},
	[Q_LOT] = {"10", "lot", "batch/lot"},
	[Q_SER] = {"21", "ser", "serial"},
	[Q_GLNX] = {"254", "glnx", "GLN extension"},
};

static char *qual_field(idn_scheme_id_t *id, int q)
{
	switch (q) {
	case Q_CPV:
		return id->cpv;
	case Q_LOT:
		return id->lot;
	case Q_SER:
		return id->serial;
	default:
		return id->glnx;
	}
}

static int set_qual(errbuf_t *e, idn_scheme_id_t *id, int q, const char *v,
		    size_t n)
{
	char *f = qual_field(id, q);
	if (f[0] != '\0')
		return fail(e, IDN_EIDENT, "AI %s (%s) appears twice",
			    quals[q].ai, quals[q].name);
	if (n == 0)
		return fail(e, IDN_EIDENT, "AI %s (%s) is empty", quals[q].ai,
			    quals[q].name);
	if (n > IDN_GS1_QUAL_MAX)
		return fail(e, IDN_EIDENT,
			    "AI %s (%s) has %zu characters, at most %d allowed",
			    quals[q].ai, quals[q].name, n, IDN_GS1_QUAL_MAX);
	for (size_t i = 0; i < n; i++)
		if (!cset82(v[i]))
			return fail(e, IDN_EIDENT,
				    "AI %s (%s) has character %s outside the "
				    "GS1 character set 82",
				    quals[q].ai, quals[q].name, chr(v[i]).s);
	memcpy(f, v, n);
	f[n] = '\0';
	return 0;
}

static void clear_gs1(idn_scheme_id_t *id)
{
	id->scheme = IDN_SCHEME_NONE;
	id->given_digits = 0;
	id->key[0] = id->cpv[0] = id->lot[0] = id->serial[0] = id->glnx[0] =
		'\0';
	id->nattrs = 0;
}

/* After the key and qualifiers are known: GTIN + serial is an SGTIN. */
static void finish_gs1(idn_scheme_id_t *id)
{
	if (id->scheme == IDN_SCHEME_GTIN && id->serial[0] != '\0')
		id->scheme = IDN_SCHEME_SGTIN;
}

static int parse_plain_digits(errbuf_t *e, idn_scheme_id_t *id, const char *s,
			      size_t n)
{
	id->form = IDN_FORM_PLAIN;
	if (n == 18)
		return set_sscc(e, id, s, n);
	if (n == 8 || n == 12 || n == 13 || n == 14)
		return set_gtin(e, id, s, n);
	return fail(e, IDN_EIDENT,
		    "%zu digits is neither a GTIN (8, 12, 13 or 14 digits) nor "
		    "an SSCC (18 digits)",
		    n);
}

/* "(01)09506000134352(21)ABC" */
static int parse_element(errbuf_t *e, idn_scheme_id_t *id, const char *s,
			 size_t n)
{
	id->form = IDN_FORM_ELEMENT;
	char keyai[5] = "";
	size_t i = 0;
	while (i < n) {
		if (s[i] != '(')
			return fail(e, IDN_EIDENT,
				    "element string: expected '(' at byte %zu, "
				    "found %s",
				    i + 1, chr(s[i]).s);
		size_t a = ++i;
		while (i < n && is_digit(s[i]))
			i++;
		size_t alen = i - a;
		if (i >= n || s[i] != ')' || alen < 2 || alen > 4)
			return fail(e, IDN_EIDENT,
				    "element string: the AI at byte %zu is not "
				    "2 to 4 digits in parentheses",
				    a);
		char ai[5];
		memcpy(ai, s + a, alen);
		ai[alen] = '\0';
		i++;
		char v[91];
		size_t vl = 0;
		while (i < n && s[i] != '(') {
			char c = s[i];
			if (c == '\\' && i + 1 < n && s[i + 1] == '(') {
				c = '(';
				i++;
			}
			if (!cset82(c))
				return fail(e, IDN_EIDENT,
					    "element string: AI (%s) has "
					    "character %s outside the GS1 "
					    "character set 82",
					    ai, chr(c).s);
			if (vl == 90)
				return fail(e, IDN_EIDENT,
					    "element string: AI (%s) value is "
					    "longer than 90 characters",
					    ai);
			v[vl++] = c;
			i++;
		}
		if (vl == 0)
			return fail(e, IDN_EIDENT,
				    "element string: AI (%s) has no value", ai);
		bool key = strcmp(ai, "01") == 0 || strcmp(ai, "00") == 0 ||
			   strcmp(ai, "414") == 0;
		if (key && keyai[0] != '\0')
			return fail(e, IDN_EIDENT,
				    "element string has two primary keys, "
				    "(%s) and (%s)",
				    keyai, ai);
		int err = 0;
		if (strcmp(ai, "01") == 0) {
			if (vl != 14)
				return fail(e, IDN_EIDENT,
					    "AI (01) GTIN has %zu characters, "
					    "expected 14 digits",
					    vl);
			err = set_gtin(e, id, v, vl);
		} else if (strcmp(ai, "00") == 0) {
			err = set_sscc(e, id, v, vl);
		} else if (strcmp(ai, "414") == 0) {
			err = set_gln(e, id, v, vl);
		} else {
			int q = -1;
			for (int k = 0; k < Q_N; k++)
				if (strcmp(ai, quals[k].ai) == 0)
					q = k;
			if (q >= 0)
				err = set_qual(e, id, q, v, vl);
			else
				id->nattrs++;
		}
		if (err)
			return err;
		if (key)
			memcpy(keyai, ai, sizeof(ai));
	}
	if (keyai[0] == '\0')
		return fail(e, IDN_EIDENT,
			    "element string has no primary key: (01) GTIN, "
			    "(00) SSCC or (414) GLN");
	bool gtin = strcmp(keyai, "01") == 0, gln = strcmp(keyai, "414") == 0;
	for (int q = 0; q < Q_N; q++) {
		if (qual_field(id, q)[0] == '\0')
			continue;
		if (q == Q_GLNX && !gln)
			return fail(e, IDN_EIDENT,
				    "AI (254) qualifies a GLN (414), not the "
				    "key (%s)",
				    keyai);
		if (q != Q_GLNX && !gtin)
			return fail(e, IDN_EIDENT,
				    "AI (%s) qualifies a GTIN (01), not the "
				    "key (%s)",
				    quals[q].ai, keyai);
	}
	finish_gs1(id);
	return 0;
}

/* ---- GS1 Digital Link ---- */

#define DL_SEGS_MAX 64

typedef struct {
	const char *p;
	size_t n;
} seg_t;

static int dl_key_ai(const seg_t *s)
{
	if (eq(s->p, s->n, "01") || eq(s->p, s->n, "gtin"))
		return IDN_SCHEME_GTIN;
	if (eq(s->p, s->n, "00") || eq(s->p, s->n, "sscc"))
		return IDN_SCHEME_SSCC;
	if (eq(s->p, s->n, "414") || eq(s->p, s->n, "gln"))
		return IDN_SCHEME_GLN;
	return IDN_SCHEME_NONE;
}

static int dl_qual(const seg_t *s)
{
	for (int q = 0; q < Q_N; q++)
		if (eq(s->p, s->n, quals[q].ai) ||
		    eq(s->p, s->n, quals[q].alpha))
			return q;
	return -1;
}

/* Parses segs[k..n) as a primary key and its qualifiers. */
static int dl_parse_at(errbuf_t *e, idn_scheme_id_t *id, const seg_t *segs,
		       size_t k, size_t n)
{
	clear_gs1(id);
	int kind = dl_key_ai(&segs[k]);
	clip_t kai = clip(segs[k].p, segs[k].n);
	if (k + 1 >= n)
		return fail(e, IDN_EIDENT,
			    "Digital Link: key AI %s at the end of the path "
			    "has no value",
			    kai.s);
	char v[64];
	long vl = pct_decode(segs[k + 1].p, segs[k + 1].n, v, sizeof(v));
	if (vl == -1)
		return fail(e, IDN_EIDENT,
			    "Digital Link: bad percent-encoding in the value "
			    "of AI %s",
			    kai.s);
	if (vl == -2)
		return fail(e, IDN_EIDENT,
			    "Digital Link: the value of AI %s is too long",
			    kai.s);
	int err;
	if (kind == IDN_SCHEME_GTIN)
		err = set_gtin(e, id, v, (size_t)vl);
	else if (kind == IDN_SCHEME_SSCC)
		err = set_sscc(e, id, v, (size_t)vl);
	else
		err = set_gln(e, id, v, (size_t)vl);
	if (err)
		return err;
	int last = -1; /* rank of the last qualifier seen */
	for (size_t i = k + 2; i < n; i += 2) {
		int q = dl_qual(&segs[i]);
		clip_t qs = clip(segs[i].p, segs[i].n);
		bool ok = (kind == IDN_SCHEME_GTIN && q >= 0 && q <= Q_SER) ||
			  (kind == IDN_SCHEME_GLN && q == Q_GLNX);
		if (!ok) {
			const char *allowed = kind == IDN_SCHEME_GTIN
						      ? "22, 10, 21"
					      : kind == IDN_SCHEME_GLN ? "254"
								       : "none";
			return fail(e, IDN_EIDENT,
				    "Digital Link: %s is not a key qualifier "
				    "of the %s (allowed: %s; data attributes "
				    "belong in the query string)",
				    qs.s, idn_scheme_name(id->scheme), allowed);
		}
		if (i + 1 >= n)
			return fail(e, IDN_EIDENT,
				    "Digital Link: qualifier %s at the end of "
				    "the path has no value",
				    quals[q].ai);
		if (q == last)
			return fail(e, IDN_EIDENT,
				    "Digital Link: qualifier %s appears twice",
				    quals[q].ai);
		if (q < last)
			return fail(e, IDN_EIDENT,
				    "Digital Link: qualifier %s (%s) comes "
				    "after %s (%s); the order is 22, 10, 21",
				    quals[q].ai, quals[q].name, quals[last].ai,
				    quals[last].name);
		last = q;
		char qv[IDN_GS1_QUAL_MAX * 3 + 4];
		long ql = pct_decode(segs[i + 1].p, segs[i + 1].n, qv,
				     sizeof(qv));
		if (ql == -1)
			return fail(e, IDN_EIDENT,
				    "Digital Link: bad percent-encoding in the "
				    "value of AI %s",
				    quals[q].ai);
		if (ql == -2 || ql > IDN_GS1_QUAL_MAX)
			return fail(e, IDN_EIDENT,
				    "AI %s (%s) has more than %d characters",
				    quals[q].ai, quals[q].name,
				    IDN_GS1_QUAL_MAX);
		err = set_qual(e, id, q, qv, (size_t)ql);
		if (err)
			return err;
	}
	finish_gs1(id);
	return 0;
}

static int parse_digital_link(errbuf_t *e, idn_scheme_id_t *id,
			      const char *path, size_t n)
{
	id->form = IDN_FORM_DIGITAL_LINK;
	seg_t segs[DL_SEGS_MAX];
	size_t nseg = 0;
	if (n == 0 || path[0] != '/')
		return fail(e, IDN_EIDENT,
			    "URL has no path: not a GS1 Digital Link (no "
			    "/01/, /00/ or /414/)");
	size_t i = 1;
	while (i <= n) {
		size_t a = i;
		while (i < n && path[i] != '/')
			i++;
		if (nseg == DL_SEGS_MAX)
			return fail(e, IDN_EIDENT,
				    "Digital Link: more than %d path segments",
				    DL_SEGS_MAX);
		segs[nseg].p = path + a;
		segs[nseg].n = i - a;
		nseg++;
		i++;
	}
	/* one trailing '/' */
	if (nseg > 1 && segs[nseg - 1].n == 0)
		nseg--;
	for (size_t k = 0; k < nseg; k++)
		if (segs[k].n == 0)
			return fail(e, IDN_EIDENT,
				    "Digital Link: path segment %zu is empty",
				    k + 1);
	/* The key may follow a path of the host's own: take the first
	 * position that parses; report the first failure otherwise. */
	int first = 0;
	char first_msg[256] = "";
	for (size_t k = 0; k < nseg; k++) {
		if (dl_key_ai(&segs[k]) == IDN_SCHEME_NONE)
			continue;
		errbuf_t tmp = {first ? NULL : first_msg, sizeof(first_msg)};
		int err = dl_parse_at(&tmp, id, segs, k, nseg);
		if (err == 0)
			return 0;
		if (!first)
			first = err;
	}
	clear_gs1(id);
	if (first)
		return fail(e, first, "%s", first_msg);
	return fail(e, IDN_EIDENT,
		    "URL is not a GS1 Digital Link with a supported key: no "
		    "/01/ GTIN, /00/ SSCC or /414/ GLN in the path");
}

/* ---- EPC pure identity URNs (GS1 Tag Data Standard) ---- */

/* Characters allowed unescaped in an EPC URI serial (TDS "GS3A3"): set 82
 * except " % & / < > ?, which must be %-escaped. */
static int epc_serial(errbuf_t *e, const char *s, size_t n, char *out,
		      size_t *outlen)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h = n - i >= 3 ? idn_hex_digit(s[i + 1]) : -1;
			int l = n - i >= 3 ? idn_hex_digit(s[i + 2]) : -1;
			if (h < 0 || l < 0)
				return fail(e, IDN_EIDENT,
					    "EPC URN: bad %%-escape in the "
					    "serial");
			c = (char)(h * 16 + l);
			i += 2;
		} else if (strchr("\"&/<>?", c) != NULL || !cset82(c)) {
			return fail(e, IDN_EIDENT,
				    "EPC URN: character %s must not appear "
				    "unescaped in the serial",
				    chr(c).s);
		}
		if (!cset82(c))
			return fail(e, IDN_EIDENT,
				    "EPC URN: serial character %s is outside "
				    "the GS1 character set 82",
				    chr(c).s);
		if (k == IDN_GS1_QUAL_MAX)
			return fail(e, IDN_EIDENT,
				    "EPC URN: serial is longer than %d "
				    "characters",
				    IDN_GS1_QUAL_MAX);
		out[k++] = c;
	}
	if (k == 0)
		return fail(e, IDN_EIDENT, "EPC URN: serial is empty");
	*outlen = k;
	return 0;
}

/* "urn:epc:id:sgtin:0614141.812345.6789" (the text after "urn:epc:id:"). */
static int parse_epc(errbuf_t *e, idn_scheme_id_t *id, const char *s, size_t n)
{
	id->form = IDN_FORM_EPC_URN;
	int kind;
	size_t skip;
	if (starts_ci(s, n, "sgtin:")) {
		kind = IDN_SCHEME_SGTIN;
		skip = 6;
	} else if (starts_ci(s, n, "sscc:")) {
		kind = IDN_SCHEME_SSCC;
		skip = 5;
	} else if (starts_ci(s, n, "sgln:")) {
		kind = IDN_SCHEME_GLN;
		skip = 5;
	} else {
		const char *colon = memchr(s, ':', n);
		return fail(e, IDN_EIDENT,
			    "EPC URN scheme \"%s\" is not supported (sgtin, "
			    "sscc, sgln)",
			    clip(s, colon ? (size_t)(colon - s) : n).s);
	}
	s += skip;
	n -= skip;
	/* company prefix '.' reference ['.' rest (may contain dots)] */
	const char *d1 = memchr(s, '.', n);
	if (d1 == NULL)
		return fail(e, IDN_EIDENT,
			    "EPC URN: expected <company prefix>.<reference>");
	size_t cpl = (size_t)(d1 - s);
	const char *r = d1 + 1;
	size_t rest = n - cpl - 1;
	const char *d2 = memchr(r, '.', rest);
	size_t rl = d2 ? (size_t)(d2 - r) : rest;
	if (cpl < 6 || cpl > 12 || !all_digits(s, cpl))
		return fail(e, IDN_EIDENT,
			    "EPC URN: company prefix must be 6 to 12 digits");
	size_t total = kind == IDN_SCHEME_SGTIN	 ? 13
		       : kind == IDN_SCHEME_SSCC ? 17
						 : 12;
	if (rl != total - cpl || !all_digits(r, rl))
		return fail(e, IDN_EIDENT,
			    "EPC URN: the reference after a %zu-digit company "
			    "prefix must be %zu digits",
			    cpl, total - cpl);
	bool want_third = kind != IDN_SCHEME_SSCC;
	if (want_third != (d2 != NULL))
		return fail(e, IDN_EIDENT,
			    want_third ? "EPC URN: missing the last field "
					 "(serial or extension)"
				       : "EPC URN: an SSCC has two fields");
	char d[19];
	if (kind == IDN_SCHEME_GLN) {
		memcpy(d, s, cpl);
		memcpy(d + cpl, r, rl);
	} else {
		/* indicator / extension digit first */
		d[0] = r[0];
		memcpy(d + 1, s, cpl);
		memcpy(d + 1 + cpl, r + 1, rl - 1);
	}
	d[total] = (char)('0' + idn_gs1_check_digit(d, total));
	int err = kind == IDN_SCHEME_SGTIN  ? set_gtin(e, id, d, 14)
		  : kind == IDN_SCHEME_SSCC ? set_sscc(e, id, d, 18)
					    : set_gln(e, id, d, 13);
	if (err)
		return err;
	if (d2 != NULL) {
		const char *t = d2 + 1;
		size_t tl = rest - rl - 1;
		char v[IDN_GS1_QUAL_MAX + 1];
		size_t vl = 0;
		err = epc_serial(e, t, tl, v, &vl);
		if (err)
			return err;
		if (kind == IDN_SCHEME_GLN && vl == 1 && v[0] == '0')
			return 0; /* extension "0": none */
		err = set_qual(e, id, kind == IDN_SCHEME_GLN ? Q_GLNX : Q_SER,
			       v, vl);
		if (err)
			return err;
	}
	finish_gs1(id);
	return 0;
}

/* ---- OID ---- */

static int parse_oid(errbuf_t *e, idn_scheme_id_t *id, const char *s, size_t n,
		     bool urn)
{
	id->form = urn ? IDN_FORM_URN : IDN_FORM_PLAIN;
	if (n == 0)
		return fail(e, IDN_EIDENT, "OID is empty");
	uint32_t arc = 0;
	char first = 0;
	bool u64 = true;
	size_t i = 0;
	while (i <= n) {
		size_t a = i;
		while (i < n && s[i] != '.')
			i++;
		size_t l = i - a;
		arc++;
		if (l == 0)
			return fail(e, IDN_EIDENT, "OID arc %u is empty", arc);
		for (size_t k = a; k < i; k++)
			if (!is_digit(s[k]))
				return fail(e, IDN_EIDENT,
					    "OID arc %u has a non-digit "
					    "character %s",
					    arc, chr(s[k]).s);
		if (l > 1 && s[a] == '0')
			return fail(e, IDN_EIDENT,
				    "OID arc %u has a leading zero", arc);
		if (arc == 1) {
			if (l > 1 || s[a] > '2')
				return fail(
					e, IDN_EIDENT,
					"OID arc 1 is %s, must be 0, 1 or 2",
					clip(s + a, l).s);
			first = s[a];
		} else if (arc == 2 && first != '2') {
			if (l > 2 ||
			    (l == 2 &&
			     (s[a] - '0') * 10 + (s[a + 1] - '0') > 39))
				return fail(e, IDN_EIDENT,
					    "OID arc 2 is %s, must be at most "
					    "39 under arc %c",
					    clip(s + a, l).s, first);
		}
		if (l > 20 ||
		    (l == 20 && memcmp(s + a, "18446744073709551615", 20) > 0))
			u64 = false;
		i++;
	}
	if (!urn && arc < 2)
		return fail(e, IDN_EIDENT, "OID needs at least two arcs");
	memcpy(id->text, s, n);
	id->text[n] = '\0';
	id->text_len = (uint32_t)n;
	id->narcs = arc;
	id->arcs_u64 = u64;
	id->scheme = IDN_SCHEME_OID;
	return 0;
}

/* ---- Ecode ---- */

/* Per version: NSI digits, maximum whole-code length, MD letters allowed.
 * UNCONFIRMED against the text of GB/T 31866 (see scheme.h). */
static const struct {
	uint8_t nsi;
	uint8_t max;
	bool letters;
} ecode_v[4] = {
	[1] = {4, 25, false},
	[2] = {4, 33, true},
	[3] = {5, 45, true},
};

static int parse_ecode(errbuf_t *e, idn_scheme_id_t *id, const char *s,
		       size_t n)
{
	id->form = IDN_FORM_LABEL;
	if (n == 0)
		return fail(e, IDN_EIDENT, "Ecode is empty");
	if (!is_digit(s[0]))
		return fail(e, IDN_EIDENT,
			    "Ecode version must be a digit, found %s",
			    chr(s[0]).s);
	unsigned v = (unsigned)(s[0] - '0');
	if (v == 0)
		return fail(e, IDN_EIDENT,
			    "Ecode version 0 is the GS1-compatible form: give "
			    "the GS1 key (GTIN, SSCC, GLN) itself");
	if (v > 3)
		return fail(e, IDN_EIDENT,
			    "Ecode version %u is not supported (versions 1 to "
			    "3)",
			    v);
	size_t nsi = ecode_v[v].nsi;
	if (n > ecode_v[v].max)
		return fail(e, IDN_EIDENT,
			    "Ecode-V%u has %zu characters, at most %u allowed",
			    v, n, ecode_v[v].max);
	if (n < 1 + nsi + 1)
		return fail(e, IDN_EIDENT,
			    "Ecode-V%u needs a %zu-digit NSI and a master data "
			    "code",
			    v, nsi);
	for (size_t i = 1; i <= nsi; i++)
		if (!is_digit(s[i]))
			return fail(e, IDN_EIDENT,
				    "Ecode NSI has a non-digit character %s",
				    chr(s[i]).s);
	for (size_t i = 1 + nsi; i < n; i++) {
		bool ok = ecode_v[v].letters ? is_alnum(s[i]) : is_digit(s[i]);
		if (!ok)
			return fail(e, IDN_EIDENT,
				    "Ecode-V%u master data code has character "
				    "%s (allowed: %s)",
				    v, chr(s[i]).s,
				    ecode_v[v].letters ? "letters and digits"
						       : "digits");
	}
	memcpy(id->text, s, n);
	id->text[n] = '\0';
	id->text_len = (uint32_t)n;
	id->ecode_version = (uint8_t)v;
	id->nsi_len = (uint8_t)nsi;
	id->scheme = IDN_SCHEME_ECODE;
	return 0;
}

/* ---- DOI / Handle / national ---- */

enum { H_ANY, H_DOI };

/* Segments of p[0..n) separated by '.' are all non-empty digit strings. */
static bool digit_segments(const char *p, size_t n)
{
	if (n == 0)
		return false;
	size_t l = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (l == 0)
				return false;
			l = 0;
		} else if (!is_digit(p[i])) {
			return false;
		} else {
			l++;
		}
	}
	return l > 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int parse_handle(errbuf_t *e, idn_scheme_id_t *id, const char *s,
			size_t n, int want)
{
	if (n > IDN_IDENT_MAX)
		return fail(e, IDN_ETOOLONG,
			    "identifier is longer than %d bytes",
			    IDN_IDENT_MAX);
	const char *slash = n ? memchr(s, '/', n) : NULL;
	if (slash == NULL)
		return fail(e, IDN_EIDENT,
			    "%s has no '/' between prefix and suffix",
			    want == H_DOI ? "DOI" : "handle");
	size_t pl = (size_t)(slash - s);
	if (pl == 0)
		return fail(e, IDN_EIDENT, "handle prefix is empty");
	if (pl + 1 == n)
		return fail(e, IDN_EIDENT, "handle suffix is empty");
	/* also after a label or percent-decoding: the canonical form must
	 * parse back as it is */
	if (is_space(s[0]) || is_space(s[n - 1]))
		return fail(e, IDN_EIDENT,
			    "identifier has leading or trailing white space");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(e, IDN_EIDENT,
				    "identifier has control character %s at "
				    "byte %zu",
				    chr(s[i]).s, i + 1);
	if (idn_utf8_check((const uint8_t *)s, n) != 0)
		return fail(e, IDN_EUTF8, "identifier is not valid UTF-8");
	/* Prefixes are naming-authority segments ("20.500.12345", "0.NA"):
	 * anything else (a ':' of "http:", a '(') is a mistyped identifier
	 * of another scheme, and would make the canonical form ambiguous. */
	for (size_t i = 0; i < pl; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-' &&
		    s[i] != '_')
			return fail(e, IDN_EIDENT,
				    "handle prefix \"%s\" has character %s "
				    "(allowed: letters, digits, '.', '-', '_')",
				    clip(s, pl).s, chr(s[i]).s);
	idn_scheme_t kind = IDN_SCHEME_HANDLE;
	if (pl >= 2 && memcmp(s, "10", 2) == 0 && (pl == 2 || s[2] == '.')) {
		if (pl < 4 || !digit_segments(s + 3, pl - 3))
			return fail(e, IDN_EIDENT,
				    "DOI prefix \"%s\" is not 10.<registrant "
				    "digits>",
				    clip(s, pl).s);
		kind = IDN_SCHEME_DOI;
	} else if (pl >= 2 && memcmp(s, "88", 2) == 0 &&
		   (pl == 2 || s[2] == '.')) {
		if (!digit_segments(s, pl))
			return fail(e, IDN_EIDENT,
				    "national prefix \"%s\" must be "
				    "dot-separated digit segments",
				    clip(s, pl).s);
		kind = IDN_SCHEME_NATIONAL;
	}
	if (want == H_DOI && kind != IDN_SCHEME_DOI)
		return fail(e, IDN_EIDENT,
			    "DOI prefix must start with \"10.\"");
	idn_ident_t tmp;
	int err = idn_ident_parse((const uint8_t *)s, n, IDN_IDENT_CASE_SUFFIX,
				  &tmp);
	if (err == IDN_EIDENT)
		return fail(e, err, "handle prefix \"%s\" has an empty segment",
			    clip(s, pl).s);
	if (err)
		return fail(e, err, "invalid handle: %s", idn_strerror(err));
	memcpy(id->text, s, n);
	id->text[n] = '\0';
	id->text_len = (uint32_t)n;
	id->prefix_len = (uint32_t)pl;
	id->scheme = kind;
	return 0;
}

/* https://doi.org/<doi>, https://hdl.handle.net/<handle>: path after the
 * host, up to '?' or '#', percent-decoded. */
static int parse_handle_url(errbuf_t *e, idn_scheme_id_t *id, const char *p,
			    size_t n, int want)
{
	id->form = IDN_FORM_URL;
	size_t l = 0;
	while (l < n && p[l] != '?' && p[l] != '#')
		l++;
	if (l < 2 || p[0] != '/')
		return fail(e, IDN_EIDENT, "URL has no identifier in its path");
	char buf[IDN_IDENT_MAX + 1];
	long dl = pct_decode(p + 1, l - 1, buf, sizeof(buf));
	if (dl == -1)
		return fail(e, IDN_EIDENT, "URL path has a bad %%-escape");
	if (dl == -2)
		return fail(e, IDN_ETOOLONG,
			    "identifier is longer than %d bytes",
			    IDN_IDENT_MAX);
	return parse_handle(e, id, buf, (size_t)dl, want);
}

static int parse_url(errbuf_t *e, idn_scheme_id_t *id, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#') {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			return fail(e, IDN_EIDENT, "URL host has character %s",
				    chr(s[i]).s);
		i++;
	}
	if (i == 0)
		return fail(e, IDN_EIDENT, "URL has no host");
	const char *host = s;
	size_t hl = i;
	if (eq_ci(host, hl, "doi.org") || eq_ci(host, hl, "dx.doi.org") ||
	    eq_ci(host, hl, "www.doi.org"))
		return parse_handle_url(e, id, s + i, n - i, H_DOI);
	if (eq_ci(host, hl, "hdl.handle.net"))
		return parse_handle_url(e, id, s + i, n - i, H_ANY);
	size_t pl = 0;
	while (i + pl < n && s[i + pl] != '?' && s[i + pl] != '#')
		pl++;
	return parse_digital_link(e, id, s + i, pl);
}

static bool digits_dots(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]) && s[i] != '.')
			return false;
	return is_digit(s[0]);
}

bool idn_scheme_shaped(const char *in, size_t len)
{
	if (in == NULL || len == 0)
		return false;
	bool dots_only = true;
	for (size_t i = 0; i < len; i++)
		dots_only &= is_digit(in[i]) || in[i] == '.';
	/* "10.1000" and "88.118.8" are handle prefixes that lack a suffix
	 * (as idn_scheme_parse reads them), not OIDs */
	size_t arc = 0;
	while (arc < len && in[arc] != '.')
		arc++;
	bool handle_root = eq(in, arc, "10") || eq(in, arc, "88");
	return memmem(in, len, "://", 3) != NULL ||
	       starts_ci(in, len, "urn:") || starts_ci(in, len, "ecode:") ||
	       in[0] == '(' || all_digits(in, len) ||
	       (dots_only && !handle_root);
}

int idn_scheme_parse(const char *in, size_t len, idn_scheme_id_t *out,
		     char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (out == NULL || (in == NULL && len > 0))
		return fail(&e, IDN_EINVAL, "no input or output");
	memset(out, 0, offsetof(idn_scheme_id_t, text));
	out->text[0] = '\0';
	int rc;
	const char *s = in;
	size_t n = len;
	if (n == 0) {
		rc = fail(&e, IDN_EIDENT, "identifier is empty");
	} else if (n > IDN_IDENT_MAX) {
		rc = fail(&e, IDN_ETOOLONG,
			  "identifier is longer than %d bytes", IDN_IDENT_MAX);
	} else if (is_space(s[0]) || is_space(s[n - 1])) {
		rc = fail(&e, IDN_EIDENT,
			  "identifier has leading or trailing white space");
	} else if (starts_ci(s, n, "urn:oid:")) {
		rc = parse_oid(&e, out, s + 8, n - 8, true);
	} else if (starts_ci(s, n, "urn:epc:id:")) {
		rc = parse_epc(&e, out, s + 11, n - 11);
	} else if (starts_ci(s, n, "ecode:")) {
		rc = parse_ecode(&e, out, s + 6, n - 6);
	} else if (starts_ci(s, n, "doi:")) {
		out->form = IDN_FORM_LABEL;
		rc = parse_handle(&e, out, s + 4, n - 4, H_DOI);
	} else if (starts_ci(s, n, "info:doi/")) {
		out->form = IDN_FORM_LABEL;
		rc = parse_handle(&e, out, s + 9, n - 9, H_DOI);
	} else if (starts_ci(s, n, "hdl:")) {
		out->form = IDN_FORM_LABEL;
		rc = parse_handle(&e, out, s + 4, n - 4, H_ANY);
	} else if (starts_ci(s, n, "info:hdl/")) {
		out->form = IDN_FORM_LABEL;
		rc = parse_handle(&e, out, s + 9, n - 9, H_ANY);
	} else if (starts_ci(s, n, "https://")) {
		rc = parse_url(&e, out, s + 8, n - 8);
	} else if (starts_ci(s, n, "http://")) {
		rc = parse_url(&e, out, s + 7, n - 7);
	} else if (s[0] == '(') {
		rc = parse_element(&e, out, s, n);
	} else if (all_digits(s, n)) {
		rc = parse_plain_digits(&e, out, s, n);
	} else if (memchr(s, '/', n) != NULL) {
		rc = parse_handle(&e, out, s, n, H_ANY);
	} else if (digits_dots(s, n)) {
		/* digits and dots only: an OID, or a handle prefix that
		 * lacks its suffix */
		size_t a = 0;
		while (a < n && s[a] != '.')
			a++;
		if (eq(s, a, "10") || eq(s, a, "88"))
			rc = fail(&e, IDN_EIDENT,
				  "\"%s\" is a handle prefix without '/' and "
				  "suffix",
				  clip(s, n).s);
		else
			rc = parse_oid(&e, out, s, n, false);
	} else {
		rc = fail(&e, IDN_EIDENT,
			  "\"%s\" is not a GS1 key, OID, Ecode, DOI or handle",
			  clip(s, n).s);
	}
	if (rc != 0) {
		out->scheme = IDN_SCHEME_NONE;
		out->text[0] = '\0';
		out->text_len = 0;
	}
	return rc;
}

/* ---- canonical mapping ---- */

typedef struct {
	char *p;
	size_t len;
	size_t cap;
	bool over;
} sb_t;

static void sb_put(sb_t *b, const char *s, size_t n)
{
	if (b->over || b->cap - b->len <= n) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(sb_t *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_pct(sb_t *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strnlen(s, IDN_GS1_QUAL_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (is_alnum(c) || c == '-' || c == '.' || c == '_') {
			sb_put(b, &c, 1);
		} else {
			unsigned char u = (unsigned char)c;
			char t[3] = {'%', hex[u >> 4], hex[u & 15]};
			sb_put(b, t, 3);
		}
	}
}

static bool prefix_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 255 || memchr(p, '/', n) != NULL)
		return false;
	uint8_t tmp[IDN_IDENT_MAX];
	uint32_t tl;
	return idn_prefix_normalise((const uint8_t *)p, n, tmp, &tl) == 0;
}

int idn_scheme_canonical(const idn_scheme_id_t *id, const idn_scheme_map_t *map,
			 char *out, size_t cap)
{
	if (id == NULL || out == NULL || cap == 0)
		return IDN_EINVAL;
	out[0] = '\0';
	const char *prefix = NULL;
	switch (id->scheme) {
	case IDN_SCHEME_GTIN:
	case IDN_SCHEME_SGTIN:
	case IDN_SCHEME_SSCC:
	case IDN_SCHEME_GLN:
		prefix = map ? map->gs1 : NULL;
		break;
	case IDN_SCHEME_OID:
		prefix = map ? map->oid : NULL;
		break;
	case IDN_SCHEME_ECODE:
		prefix = map ? map->ecode : NULL;
		break;
	case IDN_SCHEME_DOI:
	case IDN_SCHEME_NATIONAL:
	case IDN_SCHEME_HANDLE:
		if (id->text_len == 0 || id->text_len > IDN_IDENT_MAX ||
		    id->text[id->text_len] != '\0')
			return IDN_EINVAL;
		if (id->text_len >= cap)
			return IDN_ETOOLONG;
		memcpy(out, id->text, id->text_len + 1);
		return 0;
	case IDN_SCHEME_NONE:
	default:
		return IDN_EINVAL;
	}
	if (prefix == NULL || prefix[0] == '\0')
		return IDN_EUNSUPPORTED;
	if (!prefix_ok(prefix))
		return IDN_EINVAL;
	char buf[IDN_IDENT_MAX + 1];
	sb_t b = {.p = buf, .len = 0, .cap = sizeof(buf), .over = false};
	sb_str(&b, prefix);
	switch (id->scheme) {
	case IDN_SCHEME_GTIN:
	case IDN_SCHEME_SGTIN:
		sb_str(&b, "/01/");
		sb_put(&b, id->key, strnlen(id->key, 14));
		if (id->cpv[0]) {
			sb_str(&b, "/22/");
			sb_pct(&b, id->cpv);
		}
		if (id->lot[0]) {
			sb_str(&b, "/10/");
			sb_pct(&b, id->lot);
		}
		if (id->serial[0]) {
			sb_str(&b, "/21/");
			sb_pct(&b, id->serial);
		}
		break;
	case IDN_SCHEME_SSCC:
		sb_str(&b, "/00/");
		sb_put(&b, id->key, strnlen(id->key, 18));
		break;
	case IDN_SCHEME_GLN:
		sb_str(&b, "/414/");
		sb_put(&b, id->key, strnlen(id->key, 13));
		if (id->glnx[0]) {
			sb_str(&b, "/254/");
			sb_pct(&b, id->glnx);
		}
		break;
	default: /* OID, Ecode */
		if (id->text_len == 0 || id->text_len > IDN_IDENT_MAX ||
		    id->text[id->text_len] != '\0')
			return IDN_EINVAL;
		sb_str(&b, "/");
		sb_put(&b, id->text, id->text_len);
		break;
	}
	if (b.over || b.len > IDN_IDENT_MAX || b.len >= cap)
		return IDN_ETOOLONG;
	memcpy(out, buf, b.len);
	out[b.len] = '\0';
	return 0;
}
