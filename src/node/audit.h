/* The audit log (docs/audit.md): one JSON line per write attempt,
 * accepted or refused, and per failed authentication, on every plane.
 * A line is written with one write(2) to a file opened with O_APPEND
 * before the answer leaves the node; the file is reopened on SIGHUP so
 * logrotate can move it away. Lines of callers nobody has proven
 * (failed authentications, anonymous refusals) are rate-limited per
 * source network (/24 for IPv4, /56 for IPv6), with a summary line
 * counting what was left out. Every function is thread-safe. Internal to
 * the daemon. */
#ifndef IDN_NODE_AUDIT_H
#define IDN_NODE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "msg.h"
#include "principal.h"
#include "wire.h"

typedef struct audit audit_t;

/* Lines a second a source network may cause before it is summarised. */
#define AUDIT_SOURCE_RATE 10

typedef enum {
	AUDIT_WRITE = 0, /* a write attempt: accepted (rc 1) or refused */
	AUDIT_AUTH = 1,	 /* a failed authentication */
} audit_event_t;

/* One line's content. Pointers are borrowed for the call. */
typedef struct {
	audit_event_t event;
	struct timespec when; /* 0: now (CLOCK_REALTIME) */
	const principal_t *who;
	transport_t transport;
	const struct sockaddr_storage *peer; /* NULL: none known */
	const char *op;			     /* the op table row's name */
	const char *action; /* what the op does when its name does not say
			     * ("add", "remove" for the index op); NULL */
	idn_bytes_t id;	    /* identifier, prefix or index type; p NULL: none */
	const uint32_t *indexes; /* value indexes the op names */
	uint32_t nindexes;
	bool has_indexes;
	/* bulk create: records in the batch and how many were created */
	bool has_counts;
	uint32_t records, created;
	uint32_t rc;	   /* the response code answered */
	const char *error; /* refusal text; NULL or "" when none */
	/* a failed authentication: who the answer claimed to be (p NULL:
	 * unknown) and by what means ("challenge answer", "bearer token",
	 * "login") */
	idn_bytes_t claimed;
	uint32_t claimed_index;
	const char *method;
	const char *claimed_user; /* an HTTP login's user name, or NULL */
} audit_rec_t;

/* A line being built (audit_format); buf is malloc'd, NULL after an
 * allocation failure. */
typedef struct {
	char *buf;
	size_t len, cap;
	bool failed;
} audit_buf_t;

/* Opens path for appending (created 0640 when missing). required: writes
 * are refused while a line cannot be written (audit_gate). Returns 0 with
 * *out set, or -errno (the path cannot be opened), logged. */
int audit_open(const char *path, bool required, audit_t **out);

/* Writes the pending rate-limit summaries and closes; NULL is fine. */
void audit_close(audit_t *a);

/* Opens the configured path again (logrotate moved the file away) and
 * writes an "open" line there. Returns 0 or -errno; on failure the old
 * file stays in use. */
int audit_reopen(audit_t *a);

/* Whether a write may run: always when the log is not required; when it
 * is, only while the last line could be written. */
bool audit_gate(audit_t *a);

/* Formats rec and appends the line (rate-limited when rec->who is
 * anonymous). Returns 0 (written or left out by the rate limit) or
 * -errno (the line is lost; logged at most every 10 seconds). */
int audit_write(audit_t *a, const audit_rec_t *rec);

/* Appends lines already formatted (audit_format), as one write. Returns
 * as audit_write. */
int audit_append(audit_t *a, const char *lines, size_t len);

/* Formats rec as one JSON line ending in '\n' onto b (appended). Strings
 * are escaped as JSON requires (control characters as \u00XX); bytes
 * that are not UTF-8 become U+FFFD, and the identifier is then also given
 * exactly in hex ("id_hex"). Returns 0 or -ENOMEM (b->failed). */
int audit_format(const audit_rec_t *rec, audit_buf_t *b);

/* Appends s[0..len) as a JSON string (quoted) to b; *lossy is set when a
 * byte was not UTF-8. Returns 0 or -ENOMEM. */
int audit_json_str(audit_buf_t *b, const uint8_t *s, size_t len, bool *lossy);

void audit_buf_free(audit_buf_t *b);

/* What the write rows of the op table (optable.h, field audit) name in
 * their lines: each fills rec's id, indexes or counts from the request
 * req (allocating from ar) and returns whether the request writes at all
 * (an index listing does not: nothing is audited). A body that does not
 * decode still writes nothing but is an attempt: true, without an id. */
typedef bool (*audit_desc_fn)(const idn_msg_t *req, idn_arena_t *ar,
			      audit_rec_t *rec);
/* create, add value, modify value: the identifier and the values' indexes */
bool audit_desc_values(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec);
/* remove value: the identifier and the indexes removed */
bool audit_desc_remove(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec);
/* delete, home, unhome: the identifier (or prefix) */
bool audit_desc_id(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec);
/* bulk create: the number of records in the batch */
bool audit_desc_bulk(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec);
/* index: adding or removing a type (as id); a listing is no write */
bool audit_desc_index(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec);

/* The ISO 8601 UTC time with milliseconds, "2026-12-07T09:48:00.123Z". */
void audit_time(const struct timespec *ts, char out[64]);

#endif
