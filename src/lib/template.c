#include "template.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "ident.h"

/* ---- helpers ---- */

/* refusals explain themselves through the library's reason buffer */
typedef idn__errbuf_t errbuf_t;
#define fail idn__fail

static void clear_err(char *err, size_t cap)
{
	if (err != NULL && cap > 0)
		err[0] = '\0';
}

/* A printable excerpt of untrusted text for a message: up to 32 bytes cut
 * on a character boundary, control characters (and, in invalid UTF-8, every
 * non-ASCII byte) shown as '?', "..." when cut. */
typedef struct {
	char s[40];
} clip_t;

static clip_t clip(const uint8_t *s, size_t n)
{
	clip_t c;
	bool utf8 = idn_utf8_check(s, n) == 0;
	size_t k = n > 32 ? 32 : n;
	if (utf8)
		while (k > 0 && k < n && (s[k] & 0xc0) == 0x80)
			k--;
	size_t o = 0;
	for (size_t i = 0; i < k; i++) {
		uint8_t b = s[i];
		bool ok = b >= 0x20 && b != 0x7f && (b < 0x80 || utf8);
		c.s[o++] = ok ? (char)b : '?';
	}
	if (k < n) {
		memcpy(c.s + o, "...", 3);
		o += 3;
	}
	c.s[o] = '\0';
	return c;
}

static clip_t clips(const char *s)
{
	return clip((const uint8_t *)s, strlen(s));
}

static bool has_control(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* Characters of valid UTF-8. */
static size_t utf8_chars(const uint8_t *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

static char *adup(idn_arena_t *a, const char *s, size_t n)
{
	char *p = idn_arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static uint32_t min_index(const idn_tpl_conf_t *conf)
{
	return (conf != NULL && conf->min_index != 0) ? conf->min_index
						      : IDN_TPL_MIN_INDEX;
}

const char *idn_tpl_state_name(idn_tpl_state_t s)
{
	switch (s) {
	case IDN_TPL_DRAFT:
		return "draft";
	case IDN_TPL_PUBLISHED:
		return "published";
	case IDN_TPL_WITHDRAWN:
		return "withdrawn";
	}
	return "invalid";
}

const char *idn_tpl_type_name(idn_tpl_type_t t)
{
	switch (t) {
	case IDN_TPL_STRING:
		return "string";
	case IDN_TPL_NUMBER:
		return "number";
	case IDN_TPL_DATE:
		return "date";
	}
	return "invalid";
}

static bool dig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

bool idn_tpl_is_number(const uint8_t *s, size_t n)
{
	size_t i = 0;
	if (s == NULL)
		return false;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && dig(s[i]))
			i++;
	} else {
		return false;
	}
	if (i < n && s[i] == '.') {
		size_t a = ++i;
		while (i < n && dig(s[i]))
			i++;
		if (i == a)
			return false;
	}
	return i == n;
}

bool idn_tpl_is_date(const uint8_t *s, size_t n)
{
	if (s == NULL || n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	static const int at[8] = {0, 1, 2, 3, 5, 6, 8, 9};
	for (int i = 0; i < 8; i++)
		if (!dig(s[at[i]]))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
		(s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	static const int days[13] = {0,	 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};
	int dim = days[m];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	return d <= dim;
}

/* ---- GB/T 4754-2017 industry classes ---- */

/* Divisions of each section (GB/T 4754-2017: 20 sections, 97 divisions). */
static const struct {
	uint8_t lo, hi;
} sections[20] = {
	{1, 5},	  /* A agriculture, forestry, animal husbandry, fishery */
	{6, 12},  /* B mining */
	{13, 43}, /* C manufacturing */
	{44, 46}, /* D electricity, heat, gas, water */
	{47, 50}, /* E construction */
	{51, 52}, /* F wholesale and retail */
	{53, 60}, /* G transport, storage, post */
	{61, 62}, /* H accommodation and catering */
	{63, 65}, /* I information technology services */
	{66, 69}, /* J finance */
	{70, 70}, /* K real estate */
	{71, 72}, /* L leasing and business services */
	{73, 75}, /* M research and technical services */
	{76, 79}, /* N water, environment, public facilities */
	{80, 82}, /* O residential and other services */
	{83, 83}, /* P education */
	{84, 85}, /* Q health and social work */
	{86, 90}, /* R culture, sports, entertainment */
	{91, 96}, /* S public administration, social organisations */
	{97, 97}, /* T international organisations */
};

int idn_industry_check(const char *s, size_t n, char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (s == NULL || n == 0)
		return fail(&e, IDN_EVALUE, "industry class is empty");
	const uint8_t *u = (const uint8_t *)s;
	if (n >= IDN_TPL_INDUSTRY_MAX)
		return fail(&e, IDN_EVALUE,
			    "industry class \"%s\" is not SECTION[/DIVISION"
			    "[/GROUP[/CLASS]]] like A/01/011/0111",
			    clip(u, n).s);
	char sec = s[0];
	if (sec < 'A' || sec > 'T')
		return fail(&e, IDN_EVALUE,
			    "industry section \"%s\" is not a letter A to T",
			    clip(u, n == 1 || s[1] == '/' ? 1 : n).s);
	/* levels after the section: division 2, group 3, class 4 digits */
	const char *lvl[3] = {NULL, NULL, NULL};
	size_t pos = 1;
	int nl = 0;
	while (pos < n) {
		if (s[pos] != '/')
			return fail(&e, IDN_EVALUE,
				    "industry class \"%s\": expected '/' after "
				    "\"%.*s\"",
				    clip(u, n).s, (int)pos, s);
		if (nl == 3)
			return fail(&e, IDN_EVALUE,
				    "industry class \"%s\" has more than four "
				    "levels",
				    clip(u, n).s);
		size_t a = ++pos;
		while (pos < n && s[pos] != '/')
			pos++;
		size_t want = (size_t)nl + 2;
		static const char *const names[3] = {"division", "group",
						     "class"};
		bool digits = pos - a == want;
		for (size_t i = a; digits && i < pos; i++)
			digits = dig(u[i]);
		if (!digits)
			return fail(&e, IDN_EVALUE,
				    "industry %s \"%s\" is not %zu digits",
				    names[nl], clip(u + a, pos - a).s, want);
		lvl[nl++] = s + a;
	}
	if (nl >= 1) {
		int div = (lvl[0][0] - '0') * 10 + (lvl[0][1] - '0');
		int si = sec - 'A';
		if (div < sections[si].lo || div > sections[si].hi)
			return fail(&e, IDN_EVALUE,
				    "industry division %.2s is not in section "
				    "%c (%02u-%02u)",
				    lvl[0], sec, sections[si].lo,
				    sections[si].hi);
	}
	if (nl >= 2 && memcmp(lvl[1], lvl[0], 2) != 0)
		return fail(&e, IDN_EVALUE,
			    "industry group %.3s does not start with division "
			    "%.2s",
			    lvl[1], lvl[0]);
	if (nl >= 3 && memcmp(lvl[2], lvl[1], 3) != 0)
		return fail(&e, IDN_EVALUE,
			    "industry class %.4s does not start with group "
			    "%.3s",
			    lvl[2], lvl[1]);
	return 0;
}

/* ---- semantic checks ---- */

/* what names the field in messages. */
static int check_text(errbuf_t *e, const char *what, const char *s, size_t max)
{
	if (s == NULL)
		return fail(e, IDN_EVALUE, "%s is missing", what);
	size_t n = strlen(s);
	if (n == 0)
		return fail(e, IDN_EVALUE, "%s is empty", what);
	if (n > max)
		return fail(e, IDN_EVALUE, "%s is longer than %zu bytes", what,
			    max);
	if (idn_utf8_check((const uint8_t *)s, n) != 0)
		return fail(e, IDN_EVALUE, "%s is not valid UTF-8", what);
	if (has_control((const uint8_t *)s, n))
		return fail(e, IDN_EVALUE, "%s has a control character", what);
	return 0;
}

static int check_prefix(errbuf_t *e, const char *p)
{
	int err = check_text(e, "prefix", p, IDN_TPL_PREFIX_MAX);
	if (err)
		return err;
	size_t n = strlen(p);
	uint8_t tmp[IDN_IDENT_MAX];
	uint32_t tl;
	if (memchr(p, '/', n) != NULL ||
	    idn_prefix_normalise((const uint8_t *)p, n, tmp, &tl) != 0)
		return fail(e, IDN_EVALUE,
			    "prefix \"%s\" is not a handle prefix (non-empty "
			    "segments separated by '.', no '/')",
			    clips(p).s);
	return 0;
}

/* The data-level rules an enum value or a record value must pass, beyond
 * UTF-8: type grammar and lengths. Returns the first failing rule or 0. */
static idn_tpl_rule_t value_rule(const idn_tpl_item_t *it, const uint8_t *s,
				 size_t n, size_t *chars)
{
	*chars = utf8_chars(s, n);
	if (it->type == IDN_TPL_NUMBER && !idn_tpl_is_number(s, n))
		return IDN_TPL_V_NUMBER;
	if (it->type == IDN_TPL_DATE && !idn_tpl_is_date(s, n))
		return IDN_TPL_V_DATE;
	if (it->min_len && *chars < it->min_len)
		return IDN_TPL_V_MIN_LEN;
	if (it->max_len && *chars > it->max_len)
		return IDN_TPL_V_MAX_LEN;
	return 0;
}

static int check_item(errbuf_t *e, const idn_tpl_item_t *it, uint32_t pos,
		      uint32_t lowest)
{
	char what[48];
	snprintf(what, sizeof(what), "items[%u].name", pos);
	int err = check_text(e, what, it->name, IDN_TPL_ITEM_NAME_MAX);
	if (err)
		return err;
	const char *nm = it->name;
	if (it->index < lowest)
		return fail(e, IDN_EVALUE, "item %s: index %u is below %u", nm,
			    it->index, lowest);
	if ((unsigned)it->type > IDN_TPL_DATE)
		return fail(e, IDN_EVALUE,
			    "item %s: type %u is not string, "
			    "number or date",
			    nm, (unsigned)it->type);
	if (it->max_len && it->min_len > it->max_len)
		return fail(e, IDN_EVALUE,
			    "item %s: min_len %u is greater than max_len %u",
			    nm, it->min_len, it->max_len);
	if (it->nenum > IDN_TPL_ENUM_MAX)
		return fail(e, IDN_EVALUE, "item %s: more than %d enum values",
			    nm, IDN_TPL_ENUM_MAX);
	if (it->nenum > 0 && it->enums == NULL)
		return fail(e, IDN_EVALUE, "item %s: enum values are missing",
			    nm);
	for (uint32_t k = 0; k < it->nenum; k++) {
		const char *v = it->enums[k];
		char ew[96];
		snprintf(ew, sizeof(ew), "item %s: enum value %u", nm, k + 1);
		err = check_text(e, ew, v, IDN_TPL_ENUM_LEN_MAX);
		if (err)
			return err;
		size_t n = strlen(v), chars;
		clip_t c = clip((const uint8_t *)v, n);
		switch (value_rule(it, (const uint8_t *)v, n, &chars)) {
		case IDN_TPL_V_NUMBER:
			return fail(
				e, IDN_EVALUE,
				"item %s: enum value \"%s\" is not a number",
				nm, c.s);
		case IDN_TPL_V_DATE:
			return fail(e, IDN_EVALUE,
				    "item %s: enum value \"%s\" is not a "
				    "YYYY-MM-DD date",
				    nm, c.s);
		case IDN_TPL_V_MIN_LEN:
			return fail(
				e, IDN_EVALUE,
				"item %s: enum value \"%s\" is shorter than "
				"min_len %u",
				nm, c.s, it->min_len);
		case IDN_TPL_V_MAX_LEN:
			return fail(e, IDN_EVALUE,
				    "item %s: enum value \"%s\" is longer than "
				    "max_len %u",
				    nm, c.s, it->max_len);
		default:
			break;
		}
		for (uint32_t j = 0; j < k; j++)
			if (strcmp(it->enums[j], v) == 0)
				return fail(
					e, IDN_EVALUE,
					"item %s: enum value \"%s\" appears "
					"twice",
					nm, c.s);
	}
	return 0;
}

/* Item it (at position pos) against items[0..n) other than pos. */
static int check_unique(errbuf_t *e, const idn_tpl_item_t *items, uint32_t n,
			const idn_tpl_item_t *it, uint32_t pos)
{
	for (uint32_t j = 0; j < n; j++) {
		if (j == pos)
			continue;
		const idn_tpl_item_t *o = &items[j];
		if (o->index == it->index)
			return fail(e, IDN_EVALUE,
				    "items %s and %s share index %u", o->name,
				    it->name, it->index);
		size_t a = strlen(o->name), b = strlen(it->name);
		if (idn_ascii_caseeq((const uint8_t *)o->name, a,
				     (const uint8_t *)it->name, b))
			return fail(e, IDN_EVALUE, "two items are named %s",
				    it->name);
	}
	return 0;
}

static int check_header(errbuf_t *e, const idn_template_t *t)
{
	int err = check_prefix(e, t->prefix);
	if (err)
		return err;
	err = check_text(e, "name", t->name, IDN_TPL_NAME_MAX);
	if (err)
		return err;
	if (t->version == 0)
		return fail(e, IDN_EVALUE, "version must be at least 1");
	size_t il = strnlen(t->industry, sizeof(t->industry));
	if (il == sizeof(t->industry))
		return fail(e, IDN_EVALUE, "industry class is too long");
	err = idn_industry_check(t->industry, il, e->buf, e->cap);
	if (err)
		return err;
	if ((unsigned)t->state > IDN_TPL_WITHDRAWN)
		return fail(e, IDN_EVALUE, "state %u is invalid",
			    (unsigned)t->state);
	if (t->has_based_on) {
		err = check_text(e, "based_on name", t->based_on_name,
				 IDN_TPL_NAME_MAX);
		if (err)
			return err;
		if (t->based_on_version == 0)
			return fail(e, IDN_EVALUE,
				    "based_on version must be at least 1");
		if (strcmp(t->based_on_name, t->name) == 0 &&
		    t->based_on_version >= t->version)
			return fail(e, IDN_EVALUE,
				    "based_on %s version %u is not older than "
				    "version %u",
				    t->name, t->based_on_version, t->version);
	}
	return 0;
}

int idn_template_check(const idn_template_t *t, const idn_tpl_conf_t *conf,
		       char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL)
		return fail(&e, IDN_EINVAL, "no template");
	int rc = check_header(&e, t);
	if (rc)
		return rc;
	if (t->nitems > IDN_TPL_ITEMS_MAX)
		return fail(&e, IDN_EVALUE, "more than %d items",
			    IDN_TPL_ITEMS_MAX);
	if (t->nitems > 0 && t->items == NULL)
		return fail(&e, IDN_EVALUE, "items are missing");
	uint32_t lowest = min_index(conf);
	for (uint32_t i = 0; i < t->nitems; i++) {
		rc = check_item(&e, &t->items[i], i, lowest);
		if (rc)
			return rc;
		rc = check_unique(&e, t->items, i, &t->items[i], i);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- construction and editing ---- */

static void tpl_empty(idn_template_t *t)
{
	memset(t, 0, sizeof(*t));
	idn_arena_init(&t->arena, 4096);
}

void idn_template_free(idn_template_t *t)
{
	if (t == NULL)
		return;
	idn_arena_free(&t->arena);
	tpl_empty(t);
}

/* Deep-copies src into dst, strings and enum array from a. */
static int copy_item(idn_arena_t *a, idn_tpl_item_t *dst,
		     const idn_tpl_item_t *src)
{
	*dst = *src;
	dst->name = adup(a, src->name, strlen(src->name));
	if (dst->name == NULL)
		return -ENOMEM;
	dst->enums = NULL;
	if (src->nenum > 0) {
		const char **v = idn_arena_array(a, src->nenum, sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		for (uint32_t k = 0; k < src->nenum; k++) {
			v[k] = adup(a, src->enums[k], strlen(src->enums[k]));
			if (v[k] == NULL)
				return -ENOMEM;
		}
		dst->enums = v;
	}
	return 0;
}

/* Room for one more item (doubling; old arrays stay in the arena). */
static int grow_items(idn_template_t *t, uint32_t need)
{
	if (need <= t->items_cap)
		return 0;
	uint32_t cap = t->items_cap ? t->items_cap * 2 : 8;
	while (cap < need)
		cap *= 2;
	if (cap > IDN_TPL_ITEMS_MAX)
		cap = IDN_TPL_ITEMS_MAX;
	idn_tpl_item_t *n = idn_arena_array(&t->arena, cap, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	if (t->nitems)
		memcpy(n, t->items, t->nitems * sizeof(*n));
	t->items = n;
	t->items_cap = cap;
	return 0;
}

int idn_template_new(idn_template_t *t, const char *prefix, const char *name,
		     uint32_t version, const char *industry, char *err,
		     size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL)
		return fail(&e, IDN_EINVAL, "no template");
	tpl_empty(t);
	idn_template_t tmp;
	tpl_empty(&tmp);
	tmp.prefix = prefix;
	tmp.name = name;
	tmp.version = version;
	if (industry != NULL) {
		size_t il = strnlen(industry, sizeof(tmp.industry));
		if (il == sizeof(tmp.industry))
			return idn_industry_check(industry, strlen(industry),
						  err, errcap);
		memcpy(tmp.industry, industry, il + 1);
	}
	int rc = check_header(&e, &tmp);
	if (rc)
		return rc;
	t->prefix = adup(&t->arena, prefix, strlen(prefix));
	t->name = adup(&t->arena, name, strlen(name));
	if (t->prefix == NULL || t->name == NULL) {
		idn_template_free(t);
		return fail(&e, -ENOMEM, "out of memory");
	}
	t->version = version;
	memcpy(t->industry, tmp.industry, sizeof(t->industry));
	t->state = IDN_TPL_DRAFT;
	return 0;
}

static int need_draft(errbuf_t *e, const idn_template_t *t)
{
	if (t->state != IDN_TPL_DRAFT)
		return fail(e, IDN_EINVAL,
			    "template %s version %u is %s: only drafts can be "
			    "edited",
			    t->name ? clips(t->name).s : "?", t->version,
			    idn_tpl_state_name(t->state));
	return 0;
}

int idn_template_add_item(idn_template_t *t, const idn_tpl_item_t *item,
			  const idn_tpl_conf_t *conf, char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL || item == NULL)
		return fail(&e, IDN_EINVAL, "no template or item");
	int rc = need_draft(&e, t);
	if (rc)
		return rc;
	if (t->nitems >= IDN_TPL_ITEMS_MAX)
		return fail(&e, IDN_ETOOMANY, "more than %d items",
			    IDN_TPL_ITEMS_MAX);
	rc = check_item(&e, item, t->nitems, min_index(conf));
	if (rc)
		return rc;
	rc = check_unique(&e, t->items, t->nitems, item, t->nitems);
	if (rc)
		return rc;
	rc = grow_items(t, t->nitems + 1);
	if (rc == 0)
		rc = copy_item(&t->arena, &t->items[t->nitems], item);
	if (rc)
		return fail(&e, rc, "out of memory");
	t->nitems++;
	return 0;
}

int idn_template_remove_item(idn_template_t *t, uint32_t index, char *err,
			     size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL)
		return fail(&e, IDN_EINVAL, "no template");
	int rc = need_draft(&e, t);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < t->nitems; i++) {
		if (t->items[i].index != index)
			continue;
		memmove(&t->items[i], &t->items[i + 1],
			(t->nitems - i - 1) * sizeof(t->items[0]));
		t->nitems--;
		return 0;
	}
	return fail(&e, IDN_EINVAL,
		    "template %s version %u has no item at "
		    "index %u",
		    clips(t->name).s, t->version, index);
}

int idn_template_set_industry(idn_template_t *t, const char *industry,
			      char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL || industry == NULL)
		return fail(&e, IDN_EINVAL, "no template or industry");
	int rc = need_draft(&e, t);
	if (rc)
		return rc;
	size_t n = strlen(industry);
	rc = idn_industry_check(industry, n, err, errcap);
	if (rc)
		return rc;
	memcpy(t->industry, industry, n + 1);
	return 0;
}

int idn_template_publish(idn_template_t *t, const idn_tpl_conf_t *conf,
			 char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL)
		return fail(&e, IDN_EINVAL, "no template");
	if (t->state != IDN_TPL_DRAFT)
		return fail(&e, IDN_EINVAL,
			    "template %s version %u is %s: only a draft can "
			    "be published",
			    t->name ? clips(t->name).s : "?", t->version,
			    idn_tpl_state_name(t->state));
	int rc = idn_template_check(t, conf, err, errcap);
	if (rc)
		return rc;
	if (t->nitems == 0)
		return fail(&e, IDN_EINVAL,
			    "template %s version %u has no items: nothing to "
			    "publish",
			    clips(t->name).s, t->version);
	t->state = IDN_TPL_PUBLISHED;
	return 0;
}

int idn_template_withdraw(idn_template_t *t, char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (t == NULL)
		return fail(&e, IDN_EINVAL, "no template");
	if (t->state == IDN_TPL_WITHDRAWN)
		return fail(&e, IDN_EINVAL,
			    "template %s version %u is already withdrawn",
			    t->name ? clips(t->name).s : "?", t->version);
	if (t->state != IDN_TPL_PUBLISHED)
		return fail(&e, IDN_EINVAL,
			    "template %s version %u is a draft: only a "
			    "published template can be withdrawn",
			    t->name ? clips(t->name).s : "?", t->version);
	t->state = IDN_TPL_WITHDRAWN;
	return 0;
}

int idn_template_derive(const idn_template_t *base, const char *name,
			uint32_t version, idn_template_t *out, char *err,
			size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (base == NULL || out == NULL || base == out)
		return fail(&e, IDN_EINVAL, "no base or output template");
	if (name == NULL)
		name = base->name;
	if (base->state == IDN_TPL_DRAFT) {
		tpl_empty(out);
		return fail(&e, IDN_EINVAL,
			    "template %s version %u is a draft: derive from a "
			    "published or withdrawn version",
			    base->name ? clips(base->name).s : "?",
			    base->version);
	}
	if (base->name != NULL && name != NULL &&
	    strcmp(name, base->name) == 0 && version <= base->version) {
		tpl_empty(out);
		return fail(&e, IDN_EINVAL,
			    "new version %u of %s must be greater than %u",
			    version, clips(name).s, base->version);
	}
	int rc = idn_template_new(out, base->prefix, name, version,
				  base->industry, err, errcap);
	if (rc)
		return rc;
	out->has_based_on = true;
	out->based_on_name = adup(&out->arena, base->name, strlen(base->name));
	out->based_on_version = base->version;
	rc = out->based_on_name ? grow_items(out, base->nitems) : -ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < base->nitems; i++)
		rc = copy_item(&out->arena, &out->items[i], &base->items[i]);
	if (rc) {
		idn_template_free(out);
		return fail(&e, rc, "out of memory");
	}
	out->nitems = base->nitems;
	return 0;
}

/* ---- JSON ---- */

typedef struct {
	errbuf_t *e;
	idn_template_t *t;
} jctx_t;

/* Rejects members of obj not in allowed (NULL-terminated); where names
 * the object in messages ("" for the top level). */
static int j_known(jctx_t *c, json_t *obj, const char *const *allowed,
		   const char *where)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(key, *a) == 0;
		if (!ok)
			return fail(c->e, IDN_EVALUE,
				    "%s%sunknown field \"%s\"", where,
				    where[0] ? ": " : "", clips(key).s);
	}
	return 0;
}

/* A string member; *out is an arena copy. Missing: error when required,
 * else *out stays NULL. */
static int j_string(jctx_t *c, json_t *obj, const char *key, const char *path,
		    bool required, size_t max, const char **out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL) {
		if (required)
			return fail(c->e, IDN_EVALUE, "%s is missing", path);
		return 0;
	}
	if (!json_is_string(v))
		return fail(c->e, IDN_EVALUE, "%s must be a string", path);
	size_t n = json_string_length(v);
	if (n > max)
		return fail(c->e, IDN_EVALUE, "%s is longer than %zu bytes",
			    path, max);
	/* jansson rejects \u0000 without JSON_ALLOW_NUL: no NUL inside */
	char *s = adup(&c->t->arena, json_string_value(v), n);
	if (s == NULL)
		return fail(c->e, -ENOMEM, "out of memory");
	*out = s;
	return 0;
}

static int j_uint(jctx_t *c, json_t *obj, const char *key, const char *path,
		  bool required, uint32_t lo, uint32_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL) {
		if (required)
			return fail(c->e, IDN_EVALUE, "%s is missing", path);
		return 0;
	}
	json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!json_is_integer(v) || x < (json_int_t)lo || x > UINT32_MAX)
		return fail(c->e, IDN_EVALUE,
			    "%s must be an integer from %u to %u", path, lo,
			    UINT32_MAX);
	*out = (uint32_t)x;
	return 0;
}

static int j_item(jctx_t *c, json_t *o, uint32_t i, idn_tpl_item_t *it)
{
	char where[32], path[48];
	snprintf(where, sizeof(where), "items[%u]", i);
	if (!json_is_object(o))
		return fail(c->e, IDN_EVALUE, "%s must be an object", where);
	static const char *const fields[] = {"name",	 "index",   "type",
					     "required", "min_len", "max_len",
					     "enum",	 NULL};
	int rc = j_known(c, o, fields, where);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s.name", where);
	rc = j_string(c, o, "name", path, true, IDN_TPL_ITEM_NAME_MAX,
		      &it->name);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s.index", where);
	rc = j_uint(c, o, "index", path, true, 0, &it->index);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s.type", where);
	const char *type = NULL;
	rc = j_string(c, o, "type", path, true, 16, &type);
	if (rc)
		return rc;
	if (strcmp(type, "string") == 0)
		it->type = IDN_TPL_STRING;
	else if (strcmp(type, "number") == 0)
		it->type = IDN_TPL_NUMBER;
	else if (strcmp(type, "date") == 0)
		it->type = IDN_TPL_DATE;
	else
		return fail(c->e, IDN_EVALUE,
			    "%s must be \"string\", \"number\" or \"date\"",
			    path);
	json_t *v = json_object_get(o, "required");
	if (v != NULL && !json_is_boolean(v))
		return fail(c->e, IDN_EVALUE,
			    "%s.required must be true or "
			    "false",
			    where);
	it->required = v != NULL && json_is_true(v);
	snprintf(path, sizeof(path), "%s.min_len", where);
	rc = j_uint(c, o, "min_len", path, false, 0, &it->min_len);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s.max_len", where);
	rc = j_uint(c, o, "max_len", path, false, 1, &it->max_len);
	if (rc)
		return rc;
	v = json_object_get(o, "enum");
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(c->e, IDN_EVALUE,
			    "%s.enum must be a non-empty array of strings",
			    where);
	size_t n = json_array_size(v);
	if (n > IDN_TPL_ENUM_MAX)
		return fail(c->e, IDN_EVALUE, "%s.enum has more than %d values",
			    where, IDN_TPL_ENUM_MAX);
	const char **vals = idn_arena_array(&c->t->arena, n, sizeof(*vals));
	if (vals == NULL)
		return fail(c->e, -ENOMEM, "out of memory");
	for (size_t k = 0; k < n; k++) {
		json_t *s = json_array_get(v, k);
		if (!json_is_string(s))
			return fail(c->e, IDN_EVALUE,
				    "%s.enum[%zu] must be a string", where, k);
		size_t l = json_string_length(s);
		if (l > IDN_TPL_ENUM_LEN_MAX)
			return fail(c->e, IDN_EVALUE,
				    "%s.enum[%zu] is longer than %d bytes",
				    where, k, IDN_TPL_ENUM_LEN_MAX);
		vals[k] = adup(&c->t->arena, json_string_value(s), l);
		if (vals[k] == NULL)
			return fail(c->e, -ENOMEM, "out of memory");
	}
	it->enums = vals;
	it->nenum = (uint32_t)n;
	return 0;
}

static int j_template(jctx_t *c, json_t *root)
{
	idn_template_t *t = c->t;
	if (!json_is_object(root))
		return fail(c->e, IDN_EVALUE, "template must be a JSON object");
	static const char *const fields[] = {"prefix",	 "name",  "version",
					     "industry", "state", "based_on",
					     "items",	 NULL};
	int rc = j_known(c, root, fields, "");
	if (rc)
		return rc;
	rc = j_string(c, root, "prefix", "prefix", true, IDN_TPL_PREFIX_MAX,
		      &t->prefix);
	if (rc == 0)
		rc = j_string(c, root, "name", "name", true, IDN_TPL_NAME_MAX,
			      &t->name);
	if (rc == 0)
		rc = j_uint(c, root, "version", "version", true, 1,
			    &t->version);
	const char *ind = NULL;
	if (rc == 0)
		rc = j_string(c, root, "industry", "industry", true, 64, &ind);
	if (rc)
		return rc;
	rc = idn_industry_check(ind, strlen(ind), c->e->buf, c->e->cap);
	if (rc)
		return rc;
	memcpy(t->industry, ind, strlen(ind) + 1);
	const char *state = NULL;
	rc = j_string(c, root, "state", "state", false, 16, &state);
	if (rc)
		return rc;
	if (state == NULL || strcmp(state, "draft") == 0)
		t->state = IDN_TPL_DRAFT;
	else if (strcmp(state, "published") == 0)
		t->state = IDN_TPL_PUBLISHED;
	else if (strcmp(state, "withdrawn") == 0)
		t->state = IDN_TPL_WITHDRAWN;
	else
		return fail(c->e, IDN_EVALUE,
			    "state must be \"draft\", \"published\" or "
			    "\"withdrawn\"");
	json_t *b = json_object_get(root, "based_on");
	if (b != NULL) {
		if (!json_is_object(b))
			return fail(c->e, IDN_EVALUE,
				    "based_on must be an object");
		static const char *const bf[] = {"name", "version", NULL};
		rc = j_known(c, b, bf, "based_on");
		if (rc == 0)
			rc = j_string(c, b, "name", "based_on.name", true,
				      IDN_TPL_NAME_MAX, &t->based_on_name);
		if (rc == 0)
			rc = j_uint(c, b, "version", "based_on.version", true,
				    1, &t->based_on_version);
		if (rc)
			return rc;
		t->has_based_on = true;
	}
	json_t *items = json_object_get(root, "items");
	if (items == NULL)
		return fail(c->e, IDN_EVALUE, "items is missing");
	if (!json_is_array(items))
		return fail(c->e, IDN_EVALUE, "items must be an array");
	size_t n = json_array_size(items);
	if (n > IDN_TPL_ITEMS_MAX)
		return fail(c->e, IDN_EVALUE, "more than %d items",
			    IDN_TPL_ITEMS_MAX);
	rc = grow_items(t, (uint32_t)n);
	if (rc)
		return fail(c->e, rc, "out of memory");
	for (size_t i = 0; i < n; i++) {
		memset(&t->items[i], 0, sizeof(t->items[i]));
		rc = j_item(c, json_array_get(items, i), (uint32_t)i,
			    &t->items[i]);
		if (rc)
			return rc;
		t->nitems = (uint32_t)i + 1;
	}
	return 0;
}

int idn_template_from_json(const char *json, size_t len,
			   const idn_tpl_conf_t *conf, idn_template_t *out,
			   char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (out == NULL || (json == NULL && len > 0))
		return fail(&e, IDN_EINVAL, "no input or output");
	tpl_empty(out);
	if (len > IDN_TPL_JSON_MAX)
		return fail(&e, IDN_ETOOLONG,
			    "template JSON is larger than %d bytes",
			    IDN_TPL_JSON_MAX);
	json_error_t je;
	json_t *root =
		json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return fail(&e, IDN_EVALUE, "JSON: %s (line %d, column %d)",
			    je.text, je.line, je.column);
	jctx_t c = {&e, out};
	int rc = j_template(&c, root);
	json_decref(root);
	if (rc == 0)
		rc = idn_template_check(out, conf, err, errcap);
	if (rc)
		idn_template_free(out);
	return rc;
}

/* json_object_set_new that records failure instead of returning it. */
static void jset(json_t *o, const char *k, json_t *v, bool *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = true;
}

json_t *idn_template_to_jansson(const idn_template_t *t)
{
	bool bad = false;
	json_t *root = json_object();
	if (root == NULL)
		return NULL;
	jset(root, "prefix", json_string(t->prefix ? t->prefix : ""), &bad);
	jset(root, "name", json_string(t->name ? t->name : ""), &bad);
	jset(root, "version", json_integer(t->version), &bad);
	jset(root, "industry", json_string(t->industry), &bad);
	jset(root, "state", json_string(idn_tpl_state_name(t->state)), &bad);
	if (t->has_based_on) {
		json_t *b = json_object();
		if (b != NULL) {
			jset(b, "name",
			     json_string(t->based_on_name ? t->based_on_name
							  : ""),
			     &bad);
			jset(b, "version", json_integer(t->based_on_version),
			     &bad);
		}
		jset(root, "based_on", b, &bad);
	}
	json_t *items = json_array();
	for (uint32_t i = 0; items != NULL && i < t->nitems; i++) {
		const idn_tpl_item_t *it = &t->items[i];
		json_t *o = json_object();
		if (o == NULL) {
			bad = true;
			break;
		}
		jset(o, "name", json_string(it->name ? it->name : ""), &bad);
		jset(o, "index", json_integer(it->index), &bad);
		jset(o, "type", json_string(idn_tpl_type_name(it->type)), &bad);
		jset(o, "required", json_boolean(it->required), &bad);
		if (it->min_len)
			jset(o, "min_len", json_integer(it->min_len), &bad);
		if (it->max_len)
			jset(o, "max_len", json_integer(it->max_len), &bad);
		if (it->nenum) {
			json_t *ev = json_array();
			for (uint32_t k = 0; ev != NULL && k < it->nenum; k++)
				if (json_array_append_new(
					    ev, json_string(it->enums[k])) != 0)
					bad = true;
			jset(o, "enum", ev, &bad);
		}
		if (json_array_append_new(items, o) != 0)
			bad = true;
	}
	jset(root, "items", items, &bad);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int idn_template_to_json(const idn_template_t *t, char *out, size_t cap,
			 size_t *len)
{
	if (t == NULL || len == NULL || (out == NULL && cap > 0))
		return IDN_EINVAL;
	*len = 0;
	json_t *root = idn_template_to_jansson(t);
	if (root == NULL)
		return -ENOMEM; /* or a string that is not UTF-8 */
	size_t need = json_dumpb(root, NULL, 0, JSON_COMPACT);
	int rc = 0;
	if (need == 0) {
		rc = -ENOMEM;
	} else if (out == NULL || cap <= need) {
		rc = IDN_ETOOLONG;
		*len = need;
	} else {
		json_dumpb(root, out, cap, JSON_COMPACT);
		out[need] = '\0';
		*len = need;
	}
	json_decref(root);
	return rc;
}

/* ---- binary ---- */

#define TPL_MAGIC "IDNT"
#define TPL_LAYOUT 1
#define TPL_F_BASED_ON 0x01
#define TPL_IF_REQUIRED 0x01

static size_t str_size(const char *s)
{
	return 4 + (s ? strlen(s) : 0);
}

size_t idn_template_size(const idn_template_t *t)
{
	size_t n = 8 + str_size(t->prefix) + str_size(t->name) + 4 +
		   str_size(t->industry);
	if (t->has_based_on)
		n += str_size(t->based_on_name) + 4;
	n += 4;
	for (uint32_t i = 0; i < t->nitems; i++) {
		const idn_tpl_item_t *it = &t->items[i];
		n += 4 + 1 + 1 + 4 + 4 + str_size(it->name) + 4;
		for (uint32_t k = 0; k < it->nenum; k++)
			n += str_size(it->enums[k]);
	}
	return n;
}

static void wr_cstr(idn_wr_t *w, const char *s)
{
	idn_wr_str(w, idn_bytes(s ? s : "", s ? strlen(s) : 0));
}

int idn_template_encode(const idn_template_t *t, idn_wr_t *w)
{
	idn_wr_raw(w, TPL_MAGIC, 4);
	idn_wr_u8(w, TPL_LAYOUT);
	idn_wr_u8(w, (uint8_t)t->state);
	idn_wr_u8(w, t->has_based_on ? TPL_F_BASED_ON : 0);
	idn_wr_u8(w, 0);
	wr_cstr(w, t->prefix);
	wr_cstr(w, t->name);
	idn_wr_u32(w, t->version);
	wr_cstr(w, t->industry);
	if (t->has_based_on) {
		wr_cstr(w, t->based_on_name);
		idn_wr_u32(w, t->based_on_version);
	}
	idn_wr_u32(w, t->nitems);
	for (uint32_t i = 0; i < t->nitems; i++) {
		const idn_tpl_item_t *it = &t->items[i];
		idn_wr_u32(w, it->index);
		idn_wr_u8(w, (uint8_t)it->type);
		idn_wr_u8(w, it->required ? TPL_IF_REQUIRED : 0);
		idn_wr_u32(w, it->min_len);
		idn_wr_u32(w, it->max_len);
		wr_cstr(w, it->name);
		idn_wr_u32(w, it->nenum);
		for (uint32_t k = 0; k < it->nenum; k++)
			wr_cstr(w, it->enums[k]);
	}
	return w->err;
}

typedef struct {
	errbuf_t *e;
	idn_rd_t r;
	idn_template_t *t;
	const uint8_t *base;
	int rc;
} bctx_t;

/* Reads a string of at most max bytes and copies it NUL-terminated; a NUL
 * byte inside is a value error (it could not round-trip). */
static const char *b_str(bctx_t *c, uint32_t max, const char *what)
{
	if (c->rc)
		return NULL;
	idn_bytes_t b = idn_rd_str(&c->r, max);
	if (c->r.err) {
		c->rc = fail(c->e, c->r.err, "%s at byte %zu: %s", what,
			     (size_t)(c->r.p - c->base),
			     idn_strerror(c->r.err));
		return NULL;
	}
	if (b.len && memchr(b.p, 0, b.len) != NULL) {
		c->rc = fail(c->e, IDN_EVALUE, "%s has a NUL byte", what);
		return NULL;
	}
	char *s = adup(&c->t->arena, (const char *)b.p, b.len);
	if (s == NULL)
		c->rc = fail(c->e, -ENOMEM, "out of memory");
	return s;
}

static uint32_t b_u32(bctx_t *c, const char *what)
{
	if (c->rc)
		return 0;
	uint32_t v = idn_rd_u32(&c->r);
	if (c->r.err)
		c->rc = fail(c->e, c->r.err, "%s at byte %zu: %s", what,
			     (size_t)(c->r.p - c->base),
			     idn_strerror(c->r.err));
	return v;
}

static uint8_t b_u8(bctx_t *c, const char *what)
{
	if (c->rc)
		return 0;
	uint8_t v = idn_rd_u8(&c->r);
	if (c->r.err)
		c->rc = fail(c->e, c->r.err, "%s at byte %zu: %s", what,
			     (size_t)(c->r.p - c->base),
			     idn_strerror(c->r.err));
	return v;
}

static uint32_t b_count(bctx_t *c, uint32_t max, size_t min_item,
			const char *what)
{
	if (c->rc)
		return 0;
	uint32_t v = idn_rd_count(&c->r, max, min_item);
	if (c->r.err)
		c->rc = fail(c->e, c->r.err, "%s at byte %zu: %s", what,
			     (size_t)(c->r.p - c->base),
			     idn_strerror(c->r.err));
	return v;
}

static int b_template(bctx_t *c)
{
	idn_template_t *t = c->t;
	const uint8_t *magic = idn_rd_raw(&c->r, 4);
	if (magic == NULL || memcmp(magic, TPL_MAGIC, 4) != 0)
		return fail(c->e, IDN_EMALFORMED, "not a template: bad magic");
	uint8_t layout = b_u8(c, "layout version");
	uint8_t state = b_u8(c, "state");
	uint8_t flags = b_u8(c, "flags");
	uint8_t reserved = b_u8(c, "reserved byte");
	if (c->rc)
		return c->rc;
	if (layout != TPL_LAYOUT)
		return fail(c->e, IDN_EVERSION,
			    "template layout version %u is not supported",
			    layout);
	if (state > IDN_TPL_WITHDRAWN)
		return fail(c->e, IDN_EMALFORMED, "state %u is invalid", state);
	if ((flags & ~TPL_F_BASED_ON) != 0 || reserved != 0)
		return fail(c->e, IDN_EMALFORMED,
			    "unknown flags 0x%02x or reserved byte 0x%02x",
			    flags, reserved);
	t->state = (idn_tpl_state_t)state;
	t->prefix = b_str(c, IDN_TPL_PREFIX_MAX, "prefix");
	t->name = b_str(c, IDN_TPL_NAME_MAX, "name");
	t->version = b_u32(c, "version");
	const char *ind = b_str(c, IDN_TPL_INDUSTRY_MAX - 1, "industry");
	if (c->rc)
		return c->rc;
	memcpy(t->industry, ind, strlen(ind) + 1);
	if (flags & TPL_F_BASED_ON) {
		t->has_based_on = true;
		t->based_on_name = b_str(c, IDN_TPL_NAME_MAX, "based_on name");
		t->based_on_version = b_u32(c, "based_on version");
	}
	uint32_t n = b_count(c, IDN_TPL_ITEMS_MAX, 22, "item count");
	if (c->rc)
		return c->rc;
	int rc = grow_items(t, n);
	if (rc)
		return fail(c->e, rc, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		idn_tpl_item_t *it = &t->items[i];
		char what[48];
		memset(it, 0, sizeof(*it));
		snprintf(what, sizeof(what), "items[%u]", i);
		it->index = b_u32(c, what);
		uint8_t type = b_u8(c, what);
		uint8_t iflags = b_u8(c, what);
		it->min_len = b_u32(c, what);
		it->max_len = b_u32(c, what);
		if (c->rc)
			return c->rc;
		if (type > IDN_TPL_DATE || (iflags & ~TPL_IF_REQUIRED) != 0)
			return fail(c->e, IDN_EMALFORMED,
				    "%s: type %u or flags 0x%02x invalid", what,
				    type, iflags);
		it->type = (idn_tpl_type_t)type;
		it->required = (iflags & TPL_IF_REQUIRED) != 0;
		snprintf(what, sizeof(what), "items[%u].name", i);
		it->name = b_str(c, IDN_TPL_ITEM_NAME_MAX, what);
		snprintf(what, sizeof(what), "items[%u].enum", i);
		uint32_t ne = b_count(c, IDN_TPL_ENUM_MAX, 4, what);
		if (c->rc)
			return c->rc;
		t->nitems = i + 1;
		if (ne == 0)
			continue;
		const char **v = idn_arena_array(&t->arena, ne, sizeof(*v));
		if (v == NULL)
			return fail(c->e, -ENOMEM, "out of memory");
		for (uint32_t k = 0; k < ne; k++) {
			v[k] = b_str(c, IDN_TPL_ENUM_LEN_MAX, what);
			if (c->rc)
				return c->rc;
		}
		it->enums = v;
		it->nenum = ne;
	}
	if (idn_rd_left(&c->r) != 0)
		return fail(c->e, IDN_EMALFORMED,
			    "%zu bytes after the template", idn_rd_left(&c->r));
	return 0;
}

int idn_template_decode(const uint8_t *p, size_t n, const idn_tpl_conf_t *conf,
			idn_template_t *out, char *err, size_t errcap)
{
	errbuf_t e = {err, errcap};
	clear_err(err, errcap);
	if (out == NULL || (p == NULL && n > 0))
		return fail(&e, IDN_EINVAL, "no input or output");
	tpl_empty(out);
	bctx_t c = {&e, {0}, out, p, 0};
	idn_rd_init(&c.r, p, n);
	c.base = c.r.p;
	int rc = b_template(&c);
	if (rc == 0)
		rc = idn_template_check(out, conf, err, errcap);
	if (rc)
		idn_template_free(out);
	return rc;
}

/* ---- validating records ---- */

typedef struct {
	idn_tpl_violation_t *out;
	uint32_t cap;
	uint32_t n;
} vctx_t;

__attribute__((format(printf, 5, 6))) static void
viol(vctx_t *c, idn_tpl_rule_t rule, uint32_t index, const char *item,
     const char *fmt, ...)
{
	if (c->n < c->cap) {
		idn_tpl_violation_t *v = &c->out[c->n];
		v->rule = rule;
		v->index = index;
		v->item = item;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
		va_end(ap);
	}
	if (c->n < UINT32_MAX)
		c->n++;
}

/* Control characters a record value may not hold: C0 except TAB, LF, CR,
 * and DEL. */
static bool bad_control(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' &&
		     s[i] != '\r') ||
		    s[i] == 0x7f)
			return true;
	return false;
}

static void validate_item(vctx_t *c, const idn_tpl_item_t *it,
			  const idn_value_t *vals, uint32_t nvals)
{
	const idn_value_t *v = NULL;
	uint32_t count = 0;
	for (uint32_t i = 0; i < nvals; i++)
		if (vals[i].index == it->index && count++ == 0)
			v = &vals[i];
	const char *nm = it->name;
	uint32_t ix = it->index;
	if (count > 1) {
		viol(c, IDN_TPL_V_DUPLICATE, ix, nm,
		     "item %s (index %u): %u values at this index", nm, ix,
		     count);
		return;
	}
	if (v == NULL || v->data.len == 0) {
		if (it->required)
			viol(c, IDN_TPL_V_MISSING, ix, nm,
			     "item %s (index %u): required but %s", nm, ix,
			     v == NULL ? "missing" : "empty");
		return;
	}
	const uint8_t *s = v->data.p;
	size_t n = v->data.len;
	if (idn_utf8_check(s, n) != 0) {
		viol(c, IDN_TPL_V_UTF8, ix, nm,
		     "item %s (index %u): data is not valid UTF-8", nm, ix);
		return;
	}
	if (bad_control(s, n)) {
		viol(c, IDN_TPL_V_CONTROL, ix, nm,
		     "item %s (index %u): data has a control character", nm,
		     ix);
		return;
	}
	clip_t q = clip(s, n);
	size_t chars = utf8_chars(s, n);
	if (it->type == IDN_TPL_NUMBER && !idn_tpl_is_number(s, n))
		viol(c, IDN_TPL_V_NUMBER, ix, nm,
		     "item %s (index %u): \"%s\" is not a number", nm, ix, q.s);
	if (it->type == IDN_TPL_DATE && !idn_tpl_is_date(s, n))
		viol(c, IDN_TPL_V_DATE, ix, nm,
		     "item %s (index %u): \"%s\" is not a valid YYYY-MM-DD "
		     "date",
		     nm, ix, q.s);
	if (it->min_len && chars < it->min_len)
		viol(c, IDN_TPL_V_MIN_LEN, ix, nm,
		     "item %s (index %u): %zu characters, fewer than min_len "
		     "%u",
		     nm, ix, chars, it->min_len);
	if (it->max_len && chars > it->max_len)
		viol(c, IDN_TPL_V_MAX_LEN, ix, nm,
		     "item %s (index %u): %zu characters, more than max_len %u",
		     nm, ix, chars, it->max_len);
	if (it->nenum) {
		bool found = false;
		for (uint32_t k = 0; k < it->nenum && !found; k++)
			found = strlen(it->enums[k]) == n &&
				memcmp(it->enums[k], s, n) == 0;
		if (!found)
			viol(c, IDN_TPL_V_ENUM, ix, nm,
			     "item %s (index %u): \"%s\" is not one of the %u "
			     "enum values",
			     nm, ix, q.s, it->nenum);
	}
}

int idn_template_validate(const idn_template_t *t, const idn_tpl_conf_t *conf,
			  const idn_value_t *vals, uint32_t nvals,
			  idn_tpl_violation_t *out, uint32_t cap,
			  uint32_t *nviol)
{
	if (nviol != NULL)
		*nviol = 0;
	if (t == NULL || nviol == NULL || (out == NULL && cap > 0) ||
	    (vals == NULL && nvals > 0))
		return IDN_EINVAL;
	vctx_t c = {out, cap, 0};
	if (t->state == IDN_TPL_WITHDRAWN) {
		viol(&c, IDN_TPL_V_WITHDRAWN, 0, NULL,
		     "template %s version %u is withdrawn: new records cannot "
		     "be validated against it",
		     t->name ? clips(t->name).s : "?", t->version);
	} else {
		for (uint32_t i = 0; i < t->nitems; i++)
			validate_item(&c, &t->items[i], vals, nvals);
		uint32_t lowest = min_index(conf);
		for (uint32_t i = 0; i < nvals; i++) {
			if (vals[i].index < lowest)
				continue;
			bool known = false;
			for (uint32_t k = 0; k < t->nitems && !known; k++)
				known = t->items[k].index == vals[i].index;
			if (!known)
				viol(&c, IDN_TPL_V_UNKNOWN, vals[i].index, NULL,
				     "index %u: no item of template %s version "
				     "%u has this index",
				     vals[i].index,
				     t->name ? clips(t->name).s : "?",
				     t->version);
		}
	}
	*nviol = c.n;
	return c.n ? IDN_EVALUE : 0;
}
