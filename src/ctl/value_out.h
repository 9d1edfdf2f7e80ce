/* How idctl shows values of a record: a line for people (resolve's
 * default output) or a JSON object (--json, handle.net's layout). */
#ifndef IDCTL_VALUE_OUT_H
#define IDCTL_VALUE_OUT_H

#include <jansson.h>

#include "arena.h"
#include "value.h"

/* The JSON object of v (index, type, data with its format, ttl,
 * timestamp, permissions, references); owned by the caller (json_decref).
 * HS_SITE data is decoded in a. */
json_t *value_json(const idn_value_t *v, idn_arena_t *a);

/* Prints v as one line (and a line per reference) on stdout. HS_SITE data
 * is decoded in a. */
void print_value(const idn_value_t *v, idn_arena_t *a);

#endif
