/* Registrations and resolutions by industry and by region, for the
 * dashboard (GET /api/stats) and /metrics.
 *
 * Industry: the GB/T 4754-2017 section (A-T) of the metadata template a
 * record is bound to (its IDN_TEMPLATE_REF value, tplcheck.h): the first
 * letter of that template version's industry class.
 *
 * Region: the GB/T 2260 province-level division of the enterprise that
 * owns the record's prefix, read from the prefix handle 0.NA/<prefix>: its
 * first value of type REGION holds a six-digit GB/T 2260 code (e.g.
 * "440300", Shenzhen), counted under its province (440000, Guangdong).
 *
 * Records without a template, prefixes without a REGION value, and codes
 * that are not valid count as "unknown".
 *
 * Every handler owns one activity_t: its counters are written by its
 * thread only (relaxed atomics, read by the stats from other threads), and
 * the classification of a (prefix, template) pair is kept in a small
 * per-handler table for ACT_CACHE_SECONDS, so a resolution costs a scan of
 * the record's values and a table probe; the store is read only on a miss.
 * Nothing here takes a lock. */
#ifndef IDN_NODE_ACTIVITY_H
#define IDN_NODE_ACTIVITY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "store.h"

#define ACT_INDUSTRIES 21 /* sections A..T, then unknown */
#define ACT_REGIONS 35	  /* 34 province-level divisions, then unknown */
#define ACT_CACHE_SECONDS 10

enum { ACT_RESOLVE = 0, ACT_REGISTER = 1, ACT_KINDS = 2 };

typedef struct {
	atomic_uint_fast64_t industry[ACT_KINDS][ACT_INDUSTRIES];
	atomic_uint_fast64_t region[ACT_KINDS][ACT_REGIONS];
} act_counts_t;

typedef struct activity activity_t;

/* Returns a new activity table, or NULL when out of memory. */
activity_t *act_new(void);
void act_free(activity_t *a);

/* The handler's counters (valid while a lives). */
const act_counts_t *act_counts(const activity_t *a);
/* Adds from's counts to to (retiring a handler). */
void act_counts_add(act_counts_t *to, const act_counts_t *from);

/* Counts a resolution of identifier id, read through t, whose record's
 * template reference (the data of its TPL_REF_INDEX / TPL_REF_TYPE value)
 * is ref (length 0: none): the caller found it in its walk of the values.
 * now: the handler's clock (seconds); flags: idn_ident_parse flags of the
 * node (case-sensitive suffixes). */
void act_resolved(activity_t *a, uint32_t now, unsigned flags,
		  const idn_ident_t *id, idn_bytes_t ref, idn_rtxn_t *t);

/* Classifies record id, created in write transaction t with the values
 * v[0..nv), and holds a registration back until act_commit (the
 * transaction committed) or act_discard (it did not). Only the values are
 * read, not the record back from the store. */
void act_registered(activity_t *a, uint32_t now, unsigned flags,
		    const idn_ident_t *id, const idn_value_t *v, uint32_t nv,
		    idn_wtxn_t *t);
void act_commit(activity_t *a);
void act_discard(activity_t *a);

/* Names: "A".."T" and the section's name; "110000".. and the province's
 * name; the last index of each is "unknown". */
const char *act_industry_code(int i);
const char *act_industry_name(int i);
const char *act_region_code(int i);
const char *act_region_name(int i);

/* Index of the province of a six-digit GB/T 2260 code, or ACT_REGIONS - 1
 * when p[0..n) is not one. */
int act_region_index(const uint8_t *p, size_t n);

/* Index of the section of an industry class ("C/38/381"), or
 * ACT_INDUSTRIES - 1. */
int act_industry_index(const uint8_t *p, size_t n);

#endif
