/* The replication ops' bodies (ops 1000-1002; docs/replication.md): what a
 * follower asks and what a primary streams back, shared by the node's
 * primary side (src/node/repl_ops.c), its follower (src/node/mirror.c) and
 * the tests.
 *
 * Requests (big-endian, the layout HANDLE.NET's RetrieveTxnRequest and
 * DumpHandlesRequest carry):
 *   1000 GET_NEXT_TXN_ID   empty
 *   1001 RETRIEVE_TXN_LOG  u64 last txn id, u64 last query date (ms),
 *                          u8 hash type, u32 number of servers,
 *                          u32 this server's number
 *   1002 DUMP_HANDLES      u8 hash type, u32 number of servers,
 *                          u32 this server's number
 * Replies (rc 1):
 *   1000  u64 the id the next change gets
 *   1001  u32 status: 1 redump needed (the asked position is before the
 *         first kept entry), 2 sending; with 2: u64 the source's next id
 *         once these are applied, u32 n, n entries (below), ids ascending,
 *         only entries of this server's share
 *   1002  messages flagged continuous but the last, each u64 the source's
 *         next id at the dump's snapshot, u32 n, n entries: a create
 *         (overwrite) per record, a home per homed prefix, an index add
 *         per declared type; their ids are 0
 * An entry: u64 id, u64 time ms, u32 op (changes.h), str actor, str name,
 * str body (changes.h's bodies). */
#ifndef IDN_REPL_H
#define IDN_REPL_H

#include <stdbool.h>
#include <stdint.h>

#include "changes.h"
#include "wire.h"

enum {
	IDN_REPL_REDUMP = 1,
	IDN_REPL_SENDING = 2,
	/* hash types of a site's servers (HS_SITE) */
	IDN_HASH_BY_PREFIX = 0,
	IDN_HASH_BY_SUFFIX = 1,
	IDN_HASH_BY_ALL = 2,
};

typedef struct {
	uint64_t last_txn;
	uint64_t last_date;
	uint8_t hash_type;
	uint32_t nservers;
	uint32_t server_num;
} idn_repl_req_t;

/* with_txn: a 1001 body (else 1002's). Returns 0 or IDN_EMALFORMED. */
int idn_repl_req_decode(idn_bytes_t body, bool with_txn, idn_repl_req_t *out);
void idn_repl_req_encode(idn_wr_t *w, bool with_txn, const idn_repl_req_t *in);

void idn_repl_entry_encode(idn_wr_t *w, const idn_change_t *c);
/* Reads one entry; its bytes point into r's buffer. Returns 0 or the
 * reader's error. */
int idn_repl_entry_decode(idn_rd_t *r, idn_change_t *c);

/* Whether the change of name (an identifier, a prefix or a type) belongs
 * to server server_num (0-based) of nservers that split a site by
 * hash_type: the MD5 of the upper-cased hashed part (prefix, suffix or
 * all; a name without '/' is its own prefix), its first four bytes a
 * signed big-endian integer, that modulo nservers, made non-negative.
 * Homes, unhomes and declared types belong to every server; nservers 0
 * or 1: everything. */
bool idn_repl_in_share(uint32_t op, idn_bytes_t name, uint8_t hash_type,
		       uint32_t nservers, uint32_t server_num);

#endif
