/* HANDLE.NET batch files (CNRI's GenericBatch format), read by idctl
 * batch and idctl import: blocks CREATE|ADD|MODIFY HANDLE followed by
 * value lines and ended by a blank line, REMOVE INDEXES:HANDLE, DELETE
 * HANDLE, HOME|UNHOME HOST:PORT:PROTO followed by prefix lines,
 * AUTHENTICATE PUBKEY|SECKEY:INDEX:HANDLE followed by the key file
 * (FILE or FILE|PASSPHRASE) or the secret, and SESSIONSETUP followed by
 * its settings.
 *
 * A value line is INDEX TYPE TTL PERMISSIONS FORMAT DATA: PERMISSIONS four
 * 0/1 digits (admin read, admin write, public read, public write), FORMAT
 * UTF8 (DATA the rest of the line), ADMIN (INDEX:PERMISSIONS:HANDLE, the
 * twelve digits in CNRI's order: add handle, delete handle, add prefix,
 * delete prefix, modify value, remove value, add value, read value,
 * modify admin, remove admin, add admin, list), FILE (the bytes of the
 * file named) or LIST (INDEX:HANDLE;... as HS_VLIST data). */
#ifndef IDN_CTL_GENBATCH_H
#define IDN_CTL_GENBATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "value.h"
#include "wire.h"

enum {
	GB_CREATE,
	GB_ADD,
	GB_MODIFY,
	GB_REMOVE,
	GB_DELETE,
	GB_HOME,   /* one a prefix line */
	GB_UNHOME, /* one a prefix line */
	GB_AUTH,
	GB_SESSION,
};

typedef struct {
	int kind;	  /* GB_* */
	uint64_t line;	  /* the line it starts on */
	const char *verb; /* CREATE, ... as the file has it */
	idn_bytes_t id;	  /* the handle; the prefix of HOME/UNHOME; the
			   * admin's handle of AUTHENTICATE */
	idn_value_t *v;	  /* CREATE, ADD, MODIFY */
	uint32_t n;
	uint32_t *idx; /* REMOVE */
	uint32_t nidx;
	const char *server; /* HOME/UNHOME: HOST:PORT:PROTO */
	/* AUTHENTICATE */
	bool seckey;
	uint32_t index;
	const char *key_file;	/* PUBKEY */
	const char *passphrase; /* PUBKEY after '|', or NULL */
	idn_bytes_t secret;	/* SECKEY */
} gb_op_t;

typedef struct {
	FILE *in;
	uint64_t line;
	char *buf; /* the current line */
	size_t cap;
	ssize_t len;
	bool held; /* buf holds a line not yet taken */
	/* inside a HOME/UNHOME block */
	int home;
	char *server;
} gb_reader_t;

/* Whether a line (the first that is not blank or a # comment) begins a
 * GenericBatch operation: an upper-case keyword above alone or followed
 * by a space. */
bool gb_detect(const char *line, size_t n);

/* Reads from in (not closed by gb_close). */
void gb_open(gb_reader_t *r, FILE *in);
void gb_close(gb_reader_t *r);

/* Gives the reader a line already read from in (its number lineno, line
 * break stripped): the first line, read to detect the format. */
void gb_hold(gb_reader_t *r, const char *line, uint64_t lineno);

/* The next operation into op; strings and arrays live in a until it is
 * reset. Returns 1 (an operation), 0 (the end) or -1 with a one-line
 * reason in why and op->line the line at fault; reading goes on with
 * the next block. Blank lines and lines beginning with # between blocks
 * are skipped. */
int gb_next(gb_reader_t *r, gb_op_t *op, idn_arena_t *a, char *why, size_t cap);

/* The request of op (CREATE..UNHOME) for the Handle protocol: its
 * opcode, and its body appended to w. */
uint32_t gb_opcode(const gb_op_t *op);
void gb_body(const gb_op_t *op, idn_wr_t *w);

/* HS_ADMIN data from CNRI's form INDEX:PERMISSIONS:HANDLE (twelve 0/1
 * digits, CNRI's order). Returns 0 or -1; *out lives in a. */
int gb_admin_parse(const char *s, size_t n, idn_arena_t *a, idn_bytes_t *out);

/* The inverse: HS_ADMIN data as INDEX:PERMISSIONS:HANDLE into out (cap
 * bytes, NUL-terminated). Returns 0, or -1 when data is not a layout that
 * form keeps exactly (permission bits past the twelve, a handle that is
 * not printable, a form longer than cap). */
int gb_admin_format(idn_bytes_t data, char *out, size_t cap);

#endif
