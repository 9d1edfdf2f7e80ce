/* How idctl shows values of a record: a line for people (resolve's
 * default output) or a JSON object (--json, handle.net's layout). */
#ifndef IDCTL_VALUE_OUT_H
#define IDCTL_VALUE_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "value.h"

/* The JSON object of v (index, type, data with its format, ttl,
 * timestamp, permissions, references); owned by the caller (json_decref).
 * HS_SITE data is decoded in a. */
json_t *value_json(const idn_value_t *v, idn_arena_t *a);

/* Prints v as one line (and a line per reference) on stdout. HS_SITE data
 * is decoded in a. */
void print_value(const idn_value_t *v, idn_arena_t *a);

/* The pieces value_json shares with idctl export's records:
 * value_printable: UTF-8 without control characters but tab (shown as a
 * string); value_time: t as 2026-01-01T00:00:00Z; value_admin_json: data's
 * format "admin" and value {handle, index, permissions as nbits (12 or 16)
 * binary digits}; value_bytes_json: data's format "string" when printable,
 * else "base64", and value; value_meta_json: o's timestamp, permissions
 * and references. */
bool value_printable(idn_bytes_t b);
void value_time(uint32_t t, char *out, size_t cap);
void value_admin_json(json_t *data, const idn_hs_admin_t *adm, int nbits);
void value_bytes_json(json_t *data, idn_bytes_t d);
void value_meta_json(json_t *o, const idn_value_t *v);

#endif
