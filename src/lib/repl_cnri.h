/* HANDLE.NET's replication streams (ops 1001 and 1002), as its 7.3.1 server
 * sends them (tests/vectors/INDEX.md, Replication; docs/replication.md).
 * After the response message, on the same connection:
 *
 *   u32 0 (stream type: public key), str hash ("SHA1"), then blocks, each
 *   followed by u32 length + the signature, with the server's key, of
 *   exactly the block's bytes.
 *   1001: block u32 1, u32 status (1 redump needed, 2 sending); then per
 *         transaction a block u8 1, u64 txn id, str handle, u8 action, u64
 *         date ms, and for create and update u32 n + n × (u32 length,
 *         value); the end: block u8 0, u64 the server's date.
 *   1002: block u32 2; per handle u8 1, str handle, u32 n, n × (u32
 *         length, value); per homed prefix u8 2, str "0.NA/PREFIX"; the
 *         end: u8 0, u64 date, u64 the last txn id.
 *
 * The writer builds blocks in an idn_wr_t; the reader pulls bytes through
 * a callback (a socket, or a buffer in the tests). */
#ifndef IDN_REPL_CNRI_H
#define IDN_REPL_CNRI_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

enum {
	IDN_CNRI_CREATE = 1,
	IDN_CNRI_DELETE = 2,
	IDN_CNRI_UPDATE = 3,
	IDN_CNRI_HOME = 4,
	IDN_CNRI_UNHOME = 5,
	IDN_CNRI_DELETE_ALL = 6,
};

/* ---- writing ---- */

/* The stream's header. */
void idn_cnri_stream_begin(idn_wr_t *w);
/* Ends the block that began at block_start: u32 length + the SHA1
 * signature of w->buf[block_start..] with key (NULL: an empty signature,
 * which HANDLE.NET's mirrors refuse). Returns 0 or an error. */
int idn_cnri_stream_sign(idn_wr_t *w, size_t block_start, EVP_PKEY *key);
/* A value list: u32 n, n × (u32 length, value), from n encoded values
 * (a record's). Returns 0 or IDN_EMALFORMED. */
int idn_cnri_values_write(idn_wr_t *w, uint32_t n, idn_bytes_t values);

/* ---- reading ---- */

typedef struct {
	/* reads exactly n bytes into buf: 0, or an error */
	int (*read)(void *ctx, uint8_t *buf, size_t n);
	void *ctx;
	/* checks every block's signature when set */
	EVP_PKEY *key;
	uint8_t *blk; /* the current block */
	size_t len, cap;
	bool header_read;
} idn_cnri_rd_t;

typedef enum {
	IDN_CNRI_ITEM_STATUS,	  /* 1001's first block: status */
	IDN_CNRI_ITEM_TXN,	  /* a transaction */
	IDN_CNRI_ITEM_DUMP_START, /* 1002's first block */
	IDN_CNRI_ITEM_RECORD,	  /* a handle of a dump */
	IDN_CNRI_ITEM_NA,	  /* a homed prefix of a dump */
	IDN_CNRI_ITEM_END,	  /* the last block */
} idn_cnri_kind_t;

typedef struct {
	idn_cnri_kind_t kind;
	uint32_t status;
	uint64_t txn_id; /* TXN; END of a dump: the last txn id */
	uint64_t date;	 /* TXN, END */
	uint8_t action;	 /* TXN */
	idn_bytes_t name;
	/* TXN create/update, RECORD: "u32 n, values" (changes.h's body
	 * without its flag) */
	idn_bytes_t values;
} idn_cnri_item_t;

void idn_cnri_rd_init(idn_cnri_rd_t *r, int (*read)(void *, uint8_t *, size_t),
		      void *ctx, EVP_PKEY *key);
void idn_cnri_rd_free(idn_cnri_rd_t *r);
/* Reads the next block of a 1001 (dump false) or 1002 stream; the item's
 * bytes live until the next call. Returns 0, IDN_EAUTH (a signature that
 * does not verify), IDN_EMALFORMED, or the read error. */
int idn_cnri_next(idn_cnri_rd_t *r, bool dump, bool first, idn_cnri_item_t *it);

#endif
