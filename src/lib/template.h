/* Metadata templates (docs/architecture.md, Values): the layout of the industry
 * data values of the identifiers registered under a prefix.
 *
 * A template is {prefix, name, version, GB/T 4754 industry class, state,
 * based_on (name + version), items}. An item describes the value at one
 * index: {name, index, type string|number|date, required, min_len, max_len,
 * enum}. Records are validated against a template value by value (matched
 * by index); every violation is reported with the item and the rule.
 *
 * States: a template is created as a draft; only drafts can be edited;
 * publishing freezes it; a published template can be withdrawn, after which
 * no new record validates against it. A new version is derived from a
 * published or withdrawn one (idn_template_derive): a draft that inherits
 * the items and names its origin in based_on.
 *
 * Encodings: JSON (strict: unknown fields are rejected by name, wrong types
 * are named) and a compact binary layout for storing a template as a value,
 * described at idn_template_encode. Both decoders run the full semantic
 * check (idn_template_check), so a decoded template is always valid.
 *
 * Memory: every string and array of an idn_template_t lives in its own
 * arena and is freed by idn_template_free. Do not copy the struct (derive
 * instead); read its fields freely; change it only through the functions
 * below, which keep it valid. No function here keeps global state; a
 * template may be read from several threads, written from one. */
#ifndef IDN_TEMPLATE_H
#define IDN_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arena.h"
#include "value.h"
#include "wire.h"

#define IDN_TPL_MIN_INDEX 2000	  /* template items from index 2000 on */
#define IDN_TPL_ITEMS_MAX 256	  /* items in one template */
#define IDN_TPL_ENUM_MAX 256	  /* enum values of one item */
#define IDN_TPL_NAME_MAX 128	  /* bytes in a template name */
#define IDN_TPL_ITEM_NAME_MAX 64  /* bytes in an item name */
#define IDN_TPL_ENUM_LEN_MAX 1024 /* bytes in one enum value */
#define IDN_TPL_PREFIX_MAX 255	  /* bytes in the prefix */
#define IDN_TPL_JSON_MAX 262144	  /* bytes of template JSON accepted */
#define IDN_TPL_INDUSTRY_MAX 16	  /* "A/01/011/0111" + NUL fits */

typedef enum {
	IDN_TPL_DRAFT = 0,
	IDN_TPL_PUBLISHED = 1,
	IDN_TPL_WITHDRAWN = 2,
} idn_tpl_state_t;

typedef enum {
	IDN_TPL_STRING = 0,
	IDN_TPL_NUMBER = 1, /* -?(0|[1-9][0-9]*)(\.[0-9]+)? : no '+', no
			     * exponent, no leading zeros, no bare '.' */
	IDN_TPL_DATE = 2,   /* YYYY-MM-DD, a real Gregorian date, year
			     * 0001-9999 (ISO 8601 calendar date, extended) */
} idn_tpl_type_t;

typedef struct {
	const char *name;
	uint32_t index;
	idn_tpl_type_t type;
	bool required;
	uint32_t min_len; /* in UTF-8 characters; 0: no minimum */
	uint32_t max_len; /* in UTF-8 characters; 0: no maximum */
	uint32_t nenum;	  /* 0: any value; else the value must be one of */
	const char *const *enums;
} idn_tpl_item_t;

typedef struct {
	const char *prefix; /* "88.118.8", as given (case kept) */
	const char *name;
	uint32_t version;		     /* >= 1 */
	char industry[IDN_TPL_INDUSTRY_MAX]; /* "C/38/381/3811" or a prefix */
	idn_tpl_state_t state;
	bool has_based_on;
	const char *based_on_name;
	uint32_t based_on_version;
	uint32_t nitems;
	idn_tpl_item_t *items;
	/* internal */
	uint32_t items_cap;
	idn_arena_t arena;
} idn_template_t;

/* Node configuration of template rules; NULL means the defaults. */
typedef struct {
	uint32_t min_index; /* lowest item index; 0 means IDN_TPL_MIN_INDEX */
} idn_tpl_conf_t;

/* Every function taking err/errcap writes a one-line English message on
 * failure (truncated to errcap, NUL-terminated; err may be NULL) naming the
 * field, item or rule at fault, e.g. "items[2]: unknown field \"colour\"",
 * "item BATCH: index 1999 is below 2000". */

/* Checks a GB/T 4754-2017 industry class: a section letter A-T, then
 * optionally "/" a 2-digit division within that section's range, "/" a
 * 3-digit group starting with the division, "/" a 4-digit class starting
 * with the group ("A", "A/01", "A/01/011", "A/01/011/0111"). Returns 0 or
 * IDN_EVALUE. */
int idn_industry_check(const char *s, size_t n, char *err, size_t errcap);

/* Makes *t an empty draft. Strings are copied. Returns 0, IDN_EVALUE (bad
 * prefix, name, version 0, industry class) or -ENOMEM; on failure *t is
 * left empty (idn_template_free is still safe). */
int idn_template_new(idn_template_t *t, const char *prefix, const char *name,
		     uint32_t version, const char *industry, char *err,
		     size_t errcap);

/* Frees everything *t owns and leaves it empty; safe on an empty or
 * already-freed template (zero-initialised counts as empty). */
void idn_template_free(idn_template_t *t);

/* Full semantic check: prefix, name, version, industry, based_on (a
 * template based on its own name has a lower version), items (names
 * unique, indexes unique and >= the configured minimum, min_len <= max_len,
 * enum values unique, of the item's type and within its lengths).
 * Returns 0 or IDN_EVALUE. */
int idn_template_check(const idn_template_t *t, const idn_tpl_conf_t *conf,
		       char *err, size_t errcap);

/* Draft editing. add_item copies *item (strings too) and appends it;
 * remove_item removes the item at index; set_industry replaces the class.
 * Return 0; IDN_EINVAL when the template is not a draft or (remove) has no
 * item at that index; IDN_EVALUE when the result would not pass
 * idn_template_check (the template is then unchanged); IDN_ETOOMANY past
 * IDN_TPL_ITEMS_MAX items; -ENOMEM. */
int idn_template_add_item(idn_template_t *t, const idn_tpl_item_t *item,
			  const idn_tpl_conf_t *conf, char *err, size_t errcap);
int idn_template_remove_item(idn_template_t *t, uint32_t index, char *err,
			     size_t errcap);
int idn_template_set_industry(idn_template_t *t, const char *industry,
			      char *err, size_t errcap);

/* State rules. publish: draft -> published, when the template has at least
 * one item and passes idn_template_check. withdraw: published -> withdrawn.
 * Return 0, IDN_EINVAL (wrong state, no items) or IDN_EVALUE. */
int idn_template_publish(idn_template_t *t, const idn_tpl_conf_t *conf,
			 char *err, size_t errcap);
int idn_template_withdraw(idn_template_t *t, char *err, size_t errcap);

/* Makes *out a new draft from a published or withdrawn base: same prefix,
 * industry and items (copied), name (base's when name is NULL) and version,
 * based_on = base's name and version. With the base's name the version must
 * be greater than the base's. Returns 0, IDN_EINVAL (base is a draft,
 * version not greater), IDN_EVALUE (bad name) or -ENOMEM; on failure *out
 * is empty. base and out must differ. */
int idn_template_derive(const idn_template_t *base, const char *name,
			uint32_t version, idn_template_t *out, char *err,
			size_t errcap);

/* ---- JSON ----
 * {"prefix":"88.118.8","name":"motor","version":2,
 *  "industry":"C/38/381/3811","state":"draft",
 *  "based_on":{"name":"motor","version":1},
 *  "items":[{"name":"BATCH","index":2003,"type":"string","required":true,
 *            "min_len":1,"max_len":20,"enum":["A","B"]}]}
 * Required: prefix, name, version, industry, items (may be []); optional:
 * state (default "draft"), based_on; per item name, index, type required,
 * required (default false), min_len (default 0), max_len (>= 1 when
 * given), enum (non-empty) optional. Integers must be JSON integers in
 * range; duplicate keys and unknown fields are errors. */

/* Parses and checks template JSON into *out (which need not be
 * initialised). Returns 0, IDN_EVALUE (syntax, structure or semantic
 * error; err names it), IDN_ETOOLONG (over IDN_TPL_JSON_MAX bytes) or
 * -ENOMEM; on failure *out is empty. */
int idn_template_from_json(const char *json, size_t len,
			   const idn_tpl_conf_t *conf, idn_template_t *out,
			   char *err, size_t errcap);

/* Writes the template as compact JSON (key order as above; min_len,
 * max_len, enum and based_on omitted when absent/zero), NUL-terminated,
 * into out[0..cap). *len gets the length without the NUL, also when out is
 * too small (then IDN_ETOOLONG is returned; out may be NULL with cap 0 to
 * ask for the size). Returns 0, IDN_ETOOLONG, IDN_EINVAL or -ENOMEM.
 * from_json(to_json(t)) is equal to t and to_json of that is the same
 * text. */
int idn_template_to_json(const idn_template_t *t, char *out, size_t cap,
			 size_t *len);

/* The same JSON as a new jansson object (the caller's reference), or NULL
 * when out of memory or a string is not UTF-8. */
json_t *idn_template_to_jansson(const idn_template_t *t);

/* ---- binary layout (version 1; all integers big-endian; a "string" is a
 * u32 byte length then that many UTF-8 bytes, as on the wire):
 *   magic "IDNT" (4) | layout version u8 = 1 | state u8 (0 draft,
 *   1 published, 2 withdrawn) | flags u8 (0x01 based_on present; other
 *   bits 0) | reserved u8 = 0
 *   prefix string | name string | version u32 | industry string
 *   [based_on name string | based_on version u32]      when flags & 0x01
 *   item count u32, then per item:
 *     index u32 | type u8 (0 string, 1 number, 2 date) | flags u8 (0x01
 *     required; other bits 0) | min_len u32 | max_len u32 | name string |
 *     enum count u32 | enum value strings
 * Every field has exactly one encoding, so decode then encode gives back
 * the same bytes. */

/* Encoded size of t in bytes. */
size_t idn_template_size(const idn_template_t *t);

/* Appends t to w. Returns 0 or w's sticky error (IDN_ETOOLONG). */
int idn_template_encode(const idn_template_t *t, idn_wr_t *w);

/* Decodes and checks one template occupying all of p[0..n). Returns 0,
 * IDN_EMALFORMED (truncated, trailing bytes, bad magic/flags/enum
 * values), IDN_ETOOLONG / IDN_ETOOMANY (a length or count over its limit),
 * IDN_EVERSION (unknown layout version), IDN_EVALUE (fails the check) or
 * -ENOMEM; err says which field. On failure *out is empty. Nothing in
 * *out points into p. */
int idn_template_decode(const uint8_t *p, size_t n, const idn_tpl_conf_t *conf,
			idn_template_t *out, char *err, size_t errcap);

/* ---- validating a record ---- */

typedef enum {
	IDN_TPL_V_WITHDRAWN = 1, /* the template is withdrawn */
	IDN_TPL_V_MISSING,	 /* required item absent or empty */
	IDN_TPL_V_DUPLICATE,	 /* more than one value at an item's index */
	IDN_TPL_V_UTF8,		 /* data is not valid UTF-8 */
	IDN_TPL_V_CONTROL,	 /* data has a control character */
	IDN_TPL_V_NUMBER,	 /* not a number (grammar above) */
	IDN_TPL_V_DATE,		 /* not a valid YYYY-MM-DD date */
	IDN_TPL_V_MIN_LEN,	 /* fewer characters than min_len */
	IDN_TPL_V_MAX_LEN,	 /* more characters than max_len */
	IDN_TPL_V_ENUM,		 /* not one of the enum values */
	IDN_TPL_V_UNKNOWN,	 /* index in the template range, no item */
} idn_tpl_rule_t;

#define IDN_TPL_MSG_MAX 200

typedef struct {
	idn_tpl_rule_t rule;
	uint32_t index;	  /* the item's or value's index; 0 for the template */
	const char *item; /* item name (owned by the template); NULL if none */
	char msg[IDN_TPL_MSG_MAX]; /* "item BATCH (index 2003): required
				    * but missing" */
} idn_tpl_violation_t;

/* Validates the values of one record: for each item the value with its
 * index (absent or empty data: missing, an error only when required; a
 * present value: valid UTF-8 without control characters, of the item's
 * type, min_len <= characters <= max_len, in enum); every value at an index
 * >= the configured minimum that no item describes is IDN_TPL_V_UNKNOWN;
 * lower indexes (URL, HS_ADMIN...) are ignored. A withdrawn template
 * reports IDN_TPL_V_WITHDRAWN and checks nothing else. Violations come in a
 * fixed order (template, items in template order, then unknown values in
 * record order); the first cap are stored in out and *nviol gets the total.
 * Returns 0 when valid, IDN_EVALUE when *nviol > 0, IDN_EINVAL for NULL
 * arguments (out may be NULL when cap is 0; vals when nvals is 0). */
int idn_template_validate(const idn_template_t *t, const idn_tpl_conf_t *conf,
			  const idn_value_t *vals, uint32_t nvals,
			  idn_tpl_violation_t *out, uint32_t cap,
			  uint32_t *nviol);

/* Text of a state / type ("draft", "published", "withdrawn"; "string",
 * "number", "date"); static. */
const char *idn_tpl_state_name(idn_tpl_state_t s);
const char *idn_tpl_type_name(idn_tpl_type_t t);

/* Checks one text against the type grammars above. */
bool idn_tpl_is_number(const uint8_t *s, size_t n);
bool idn_tpl_is_date(const uint8_t *s, size_t n);

#endif
