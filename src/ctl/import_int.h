/* idctl import's parts shared between its files (import.c reads and
 * sends; import_csv.c: CSV records, text encodings, the duplicate table;
 * genbatch.c: HANDLE.NET batch files). Not used outside import/export. */
#ifndef IDN_CTL_IMPORT_INT_H
#define IDN_CTL_IMPORT_INT_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "value.h"

/* One record to create: values point into the line or the arena. */
typedef struct {
	idn_bytes_t id;
	idn_value_t *v;
	uint32_t n;
} rec_t;

/* Checks what the node would check (identifier syntax, value layouts,
 * one value an index), for a precise reason. Returns 0 or -1 with why. */
int rec_check(rec_t *r, idn_arena_t *a, char *why, size_t cap);

/* Parses one JSON Lines record (len bytes) into r and checks it; strings
 * point into line or a. Returns 0 or -1 with why. (import_rec.c) */
int rec_parse_json(const char *line, size_t len, rec_t *r, idn_arena_t *a,
		   char *why, size_t cap);

/* ---- text encodings (import_csv.c) ---- */

enum { ENC_UTF8, ENC_GBK, ENC_GB18030 };

typedef struct {
	int enc;    /* ENC_* */
	iconv_t cd; /* to UTF-8 (glibc's iconv); (iconv_t)-1 for UTF-8 */
} textenc_t;

/* Opens the encoding named (utf-8, gbk, gb18030; case-insensitive, utf8
 * and gb2312 accepted: GBK is its superset). Returns 0 or -1 (unknown
 * name, or iconv lacks it). */
int textenc_open(textenc_t *e, const char *name);
void textenc_close(textenc_t *e);

/* Length of a byte order mark at p (UTF-8's EF BB BF, GB18030's 84 31 95
 * 33 when that is the encoding), 0 if none. */
size_t textenc_bom(const textenc_t *e, const char *p, size_t n);

/* The n bytes at in as UTF-8: in itself when the encoding is UTF-8 and
 * they are valid, else converted into a (valid until the arena is reset).
 * Returns 0, or -1 with *bad the offset of the first byte that is not
 * valid in the encoding (or -ENOMEM as -2). */
int textenc_decode(textenc_t *e, const char *in, size_t n, idn_arena_t *a,
		   const char **out, size_t *outn, size_t *bad);

/* ---- CSV (import_csv.c; RFC 4180) ---- */

typedef struct {
	uint32_t index;
	char *type;
} column_t;

typedef struct {
	column_t *cols;
	uint32_t ncols;
} csv_head_t;

/* Length of the CSV record at p (n bytes), through its line break: a
 * quoted cell may hold line breaks. *lines gets the line breaks it spans
 * (1 for a one-line record ending in one). Returns 0 when the record's
 * quote is still open at n (*len then n). */
bool csv_record_len(const char *p, size_t n, size_t *len, uint64_t *lines);

/* Where byte off of a record lies: *line_off line breaks after its first
 * line, in cell *col (1-based), counting quotes as csv_record_len does. */
void csv_locate(const char *p, size_t off, uint64_t *line_off, uint32_t *col);

/* Parses the header line handle,INDEX:TYPE,... into h. Returns 0, or -1
 * after printing why (file names the input). Free with csv_head_free. */
int csv_header(csv_head_t *h, char *line, size_t len, const char *file);
void csv_head_free(csv_head_t *h);

/* Parses one record (its line breaks stripped at the end; quoted cells
 * unquoted in place) into r: a non-empty cell is a text value of its
 * column, an HS_ADMIN column's cell the ADMIN form
 * INDEX:PERMISSIONS:HANDLE (genbatch.h). Returns 0 or -1 with why. */
int csv_record(const csv_head_t *h, char *line, size_t len, rec_t *r,
	       idn_arena_t *a, char *why, size_t cap);

/* One CSV cell, quoted when RFC 4180 needs it, written to f. Returns 0
 * or -1 (a write error). */
int csv_put_cell(FILE *f, const char *s, size_t n);

/* ---- records seen in this input (import_csv.c) ---- */

typedef struct dupset dupset_t;

/* A table of the identifiers seen so far: 64-bit hash of the identifier,
 * a 32-bit digest of its record and its line (16 bytes an identifier),
 * sized at first for about expect identifiers. NULL when out of memory. */
dupset_t *dupset_new(uint64_t expect);
void dupset_free(dupset_t *d);

enum { DUP_NEW, DUP_SAME, DUP_CONFLICT, DUP_FULL };

/* Notes identifier id with record digest at line. Returns DUP_NEW (now
 * noted), DUP_SAME (seen with the same record: *first its line),
 * DUP_CONFLICT (seen with another record: *first its line), DUP_FULL (not
 * seen, and not noted: the table holds its most, about 12 million); -1
 * when out of memory. */
int dupset_note(dupset_t *d, idn_bytes_t id, uint32_t digest, uint64_t line,
		uint64_t *first);

/* Starts loading the slot of id, so that a dupset_note a little later
 * finds it in the cache (the table is read at random). */
void dupset_prefetch(const dupset_t *d, idn_bytes_t id);

/* A 64-bit digest of n bytes, continuing from h (start with
 * DIGEST_INIT); not cryptographic. */
#define DIGEST_INIT 0xcbf29ce484222325ULL
uint64_t digest_bytes(uint64_t h, const void *p, size_t n);

#endif
