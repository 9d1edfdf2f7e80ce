/* The primary side of replication (docs/replication.md): ops 1000-1002
 * served to the replication admins (--replication-admin), and the
 * operator's view of the follower (op 1108). Internal to the daemon. */
#ifndef IDN_NODE_REPL_OPS_H
#define IDN_NODE_REPL_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "handler_int.h"
#include "repl.h"

/* Reads the replication admins of conf at every check (conf outlives the
 * node). */
void repl_ops_init(const node_conf_t *conf);
/* Ends the requests held open (within 200 ms), before the server stops. */
void repl_ops_stop(void);

/* Whether admin:index is one of conf's replication admins. */
bool repl_is_admin(const node_conf_t *conf, idn_bytes_t admin, uint32_t index);

/* The op table's rights function of ops 1000-1002: a replication admin,
 * or rc 401. */
/* Rights of op 1003 BACKUP_SERVER: backup admins (--backup-admin,
 * HANDLE.NET's backup_admins) and replication admins; rc 401 otherwise. */
uint32_t backup_rights(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
		       idn_bytes_t admin, uint32_t aidx, const char **why);
uint32_t repl_rights(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
		     idn_bytes_t admin, uint32_t aidx, const char **why);

/* Replication streams are for TCP (and the operator's socket): 1, or the
 * refusal sent over UDP. */
int repl_refuse_udp(reply_t *r);
/* The start of a dump (op 1002 or 1110): refused over UDP, the request
 * decoded and checked, a read transaction begun into *t. Returns 1 to go
 * on, else the result of the reply sent. */
int repl_dump_begin(reply_t *r, idn_repl_req_t *q, idn_rtxn_t **t);
/* The start of a retrieve (op 1001), either stream form: as
 * repl_dump_begin, the read transaction begun by repl_log_begin. */
int repl_retrieve_begin(reply_t *r, idn_repl_req_t *q, idn_rtxn_t **t);
uint64_t repl_now_ms(void);

/* A read transaction on the change log as followers read it (ops 1000,
 * 1001): on the store's primary alone when the node reads PostgreSQL
 * replicas (node_ctx_t.primary). Replicas replay at their own pace: a
 * follower that read the log through one and then through another
 * further behind would find itself ahead of the log and copy everything
 * again. Returns 0 or a store error. */
int repl_log_begin(reply_t *r, idn_rtxn_t **t);

/* Waits, in t (renewed while it waits; from repl_log_begin), until the
 * change log holds an entry at from or later, or 25 s pass (a long poll;
 * at most two held at once: a third returns at once); s is the store the
 * node writes, whose commits wake the wait. *next: the log's next id. Returns
 * 0, 1 when from is outside the kept log (the follower must copy everything
 * again), or a store error. */
int repl_wait(idn_store_t *s, idn_rtxn_t *t, uint64_t from, uint64_t *next);

/* HANDLE.NET's 1001 and 1002 (repl_cnri.c): the same, as its signed
 * streams (repl_cnri.h). */
int do_cnri_retrieve(reply_t *r);
int do_cnri_dump(reply_t *r);

int do_next_txn_id(reply_t *r);
int do_retrieve_txn(reply_t *r);
int do_dump_handles(reply_t *r);
/* The follower's state as JSON (mirror.h), one string. */
int do_repl_status(reply_t *r);
/* The operator's repair (mirror_repair.c): the damaged records of a
 * mirror replaced from its source, or deleted where the source has none;
 * the outcome as JSON. Refused on a node that is not a mirror. */
int do_repair(reply_t *r);

#endif
