/* idctl import and export: bulk registration from JSON Lines or CSV over
 * the node's control socket (idnode's private bulk create op), and a
 * lossless JSON Lines export of a prefix that import reads back. */
#ifndef IDN_CTL_IMPORT_H
#define IDN_CTL_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cli.h"
#include "msg.h"

/* The bulk create op (IDN_OC_BULK_CREATE, control socket): u32 count +
 * count times (identifier, u32 nvalues, values) in; u32 count + one u32
 * response code per record out. */

/* idctl import FILE and idctl export PREFIX (the command table's
 * handlers, cli.h): argv holds the command's name and its own options
 * (import_opts, export_opts); the control socket, --timeout (default 60 s)
 * and --json come from o. Return the exit status. */
extern const ctl_optdef_t import_opts[], export_opts[];
int import_main(ctl_opts_t *o, int argc, char **argv);
int export_main(ctl_opts_t *o, int argc, char **argv);

/* ---- JSON (import_json.c) ---- */

enum { JV_NULL, JV_FALSE, JV_TRUE, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

typedef struct jv {
	int kind;      /* JV_* */
	const char *s; /* string (unescaped, valid UTF-8), number text */
	size_t len;
	bool isint;	 /* a number that is an integer 0..2^32-1 */
	uint32_t u;	 /* ... its value */
	uint32_t n;	 /* members of an array or object */
	struct jv *kids; /* first member */
	struct jv *next; /* next member of the parent */
	const char *key; /* member name inside an object */
	size_t klen;
} jv_t;

/* Parses one JSON text of len bytes. Returns the root, or NULL with a
 * one-line reason in why (cap bytes). Nodes live in a; strings point into
 * s or a: both must outlive the tree. */
jv_t *jv_parse(const char *s, size_t len, idn_arena_t *a, char *why,
	       size_t cap);

/* The member key of object o, or NULL (also when o is not an object). */
jv_t *jv_get(const jv_t *o, const char *key);

/* ---- a pipelined connection to the control socket ---- */

typedef struct {
	int fd;
	uint8_t *buf; /* IDN_ENV_LEN + IDN_MSG_MAX: the last reply read */
	uint32_t next_id;
} ctl_conn_t;

/* Connects to the Unix socket path; timeout_ms bounds every read and
 * write. Returns 0 or -errno / IDN_EINVAL. */
int ctl_conn_open(ctl_conn_t *c, const char *path, int timeout_ms);
void ctl_conn_close(ctl_conn_t *c);

/* Starts a request frame (envelope + header) for op into w (a buffer of
 * IDN_ENV_LEN + IDN_MSG_MAX bytes) with a fresh request id (*id). The
 * caller appends the body and calls idn_msg_finish(w, *mark, NULL). */
void ctl_frame_start(ctl_conn_t *c, idn_wr_t *w, uint8_t *buf, uint32_t op,
		     uint32_t flags, uint32_t *id, idn_msg_mark_t *mark);

/* Writes a whole frame. Returns 0, IDN_ETIMEOUT or -errno. */
int ctl_send(ctl_conn_t *c, const uint8_t *frame, size_t len);

/* Reads the next reply frame; m and env point into c->buf until the next
 * read. Returns 0, IDN_ETIMEOUT, IDN_EPROTO or -errno. */
int ctl_recv(ctl_conn_t *c, idn_env_t *env, idn_msg_t *m);

/* Name of a response code ("identifier already exists"). */
const char *import_rc_name(uint32_t rc);

#endif
