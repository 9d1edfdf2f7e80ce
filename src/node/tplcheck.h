/* Metadata templates on the node (issue #6): where they are stored and how
 * the node enforces them on writes.
 *
 * A template NAME of prefix P is the record P/TEMPLATE/NAME; each version
 * is one value there: index = version (1..1999), type IDN_TEMPLATE, data =
 * the template's binary encoding (idn_template_encode). A record that holds
 * a template reference in the national form (index 1001, type TEMPLATE,
 * data the template's name, the SNMS API's templateVersion, or
 * "NAME@VERSION" for one version) must conform to that template of its
 * own prefix: the version named, else the newest version that is not a
 * draft. Stores written before hold the reference as index 1999, type
 * IDN_TEMPLATE_REF, data "NAME@VERSION"; tpl_upgrade_store moves them. */
#ifndef IDN_NODE_TPLCHECK_H
#define IDN_NODE_TPLCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "ident.h"
#include "store.h"

#define TPL_TYPE "IDN_TEMPLATE"
#define TPL_REF_TYPE "TEMPLATE"
#define TPL_REF_INDEX 1001
#define TPL_REF_OLD_TYPE "IDN_TEMPLATE_REF" /* before the national form */
#define TPL_REF_OLD_INDEX 1999
#define TPL_VERSION_MAX 1999
#define TPL_SUFFIX "TEMPLATE/" /* P/TEMPLATE/NAME */

/* The template a reference's data names: *nlen gets the length of its
 * name; returns the version of a "NAME@VERSION" (1..1999), else 0 (the
 * whole data is the name: the newest version that is not a draft). */
uint32_t tpl_ref_parse(idn_bytes_t data, size_t *nlen);

/* Checks record id as it stands in t after a write against the template
 * rules: in a template record, every IDN_TEMPLATE value decodes, names this
 * record's prefix and name and its own index as version, and changes only
 * as the states allow (drafts freely; published -> withdrawn; nothing
 * else, and no published or withdrawn version removed), with a based_on
 * that names an existing non-draft version (cross-record bases are checked
 * only when cross is set); elsewhere, an IDN_TEMPLATE_REF value binds the
 * record to its template, validated item by item (a withdrawn template
 * accepts no new binding; a record already bound to it before the write
 * keeps being validated against its items). old: the record's values
 * before the write (a copy, not into t), NULL when it did not exist.
 * flags: idn_ident_parse flags of the node. Returns 0; IDN_EVALUE with a
 * one-line message naming every item and rule at fault in msg; or the
 * store's error (IDN_ENOTFOUND when the record is gone counts as valid).
 * Allocates from a. */
int tpl_enforce(idn_wtxn_t *t, const idn_ident_t *id, unsigned flags,
		const idn_record_t *old, bool cross, idn_arena_t *a, char *msg,
		size_t cap);

/* Whether tpl_enforce has anything to check in a new record id with
 * values v: it is a template record (P/TEMPLATE/...) or holds an
 * IDN_TEMPLATE or IDN_TEMPLATE_REF value. When false, tpl_enforce of the
 * created record returns 0, so bulk creates skip reading it back. */
bool tpl_concerns(const idn_ident_t *id, const idn_value_t *v, uint32_t n);

/* Refuses removing template versions that records still use. For a
 * write to record id that removes values idx[0..nidx) (idx NULL: deletes
 * the whole record), old being the record before the write (NULL: it does
 * not exist): when id is a template record P/TEMPLATE/NAME and a removed
 * value is a version of it, scans the records of prefix P (in a snapshot
 * taken while t holds the writer, each read through t) for an
 * IDN_TEMPLATE_REF naming NAME@that version. Returns 0; IDN_EVALUE with a
 * message naming the version, how many records use it and the first of
 * them; or the store's error. Cost: one pass over the prefix's records,
 * only for removals of template versions. Allocates from a. */
int tpl_check_unused(idn_store_t *s, idn_wtxn_t *t, const idn_ident_t *id,
		     unsigned flags, const idn_record_t *old,
		     const uint32_t *idx, uint32_t nidx, idn_arena_t *a,
		     char *msg, size_t cap);

/* Upgrades a store written before the national form: moves every record's
 * template reference at index 1999 (IDN_TEMPLATE_REF) to index 1001
 * (TEMPLATE), data, TTL, permissions and timestamp kept, in write
 * transactions of a few hundred records, through the store interface. A
 * record whose index 1001 holds another value keeps the old form (a line
 * is logged). dir (NULL: none) holds a marker once done, so later starts
 * skip the pass over every record. flags: idn_ident_parse flags. Returns
 * 0 with *moved the records changed, or the store's error. */
int tpl_upgrade_store(idn_store_t *s, unsigned flags, const char *dir,
		      uint64_t *moved);

#endif
