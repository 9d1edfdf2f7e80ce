/* idnode library error codes.
 *
 * Every library function that can fail returns int: 0 on success, a negative
 * number on failure. errno values pass through negated (-ENOMEM, -ENOSPC);
 * project codes live below IDN_ERR_BASE so they never collide with errno.
 * Foreign codes (LMDB, libpq, OpenSSL) are translated in exactly one place per
 * backend. */
#ifndef IDN_ERROR_H
#define IDN_ERROR_H

#include <stddef.h>

#define IDN_ERR_BASE (-1000)

enum {
	IDN_OK = 0,
	IDN_EMALFORMED = IDN_ERR_BASE, /* truncated or malformed encoding */
	IDN_ETOOLONG,	  /* a length exceeds a protocol or buffer limit */
	IDN_EUTF8,	  /* text is not valid UTF-8 */
	IDN_EIDENT,	  /* identifier syntax is invalid */
	IDN_ENOTFOUND,	  /* identifier not found */
	IDN_EEXISTS,	  /* identifier already exists */
	IDN_EVALNOTFOUND, /* value index not found */
	IDN_EVALEXISTS,	  /* value index already exists */
	IDN_EVALUE,	  /* value is invalid (bad layout, duplicate index) */
	IDN_ETOOMANY,	  /* too many values or items */
	IDN_ENOSPACE,	  /* store is full (map size or disk) */
	IDN_EVERSION,	  /* unsupported protocol version */
	IDN_EUNSUPPORTED, /* operation not supported */
	IDN_ENOTHOMED,	  /* prefix is not homed on this node */
	IDN_ESTORE,	  /* storage backend failure */
	IDN_ECORRUPT,	  /* stored data failed validation */
	IDN_ETIMEOUT,	  /* peer did not answer in time */
	IDN_EPROTO,	  /* peer violated the protocol */
	IDN_EINVAL,	  /* invalid argument from the caller */
	IDN_EAUTH,	  /* a signature or MAC did not verify */
	IDN_ENOTINDEXED,  /* a search by a type that is not declared */
	IDN_EREADONLY,	  /* a write to a store opened read-only */
	/* the connection to the store was lost after the commit was sent
	 * and before its result arrived: the write may have been applied */
	IDN_EUNKNOWN_OUTCOME,
	IDN_ENOPRIMARY, /* the store's primary is unreachable: reads only */
	IDN_ERR_LAST
};

/* Human-readable text for any code this library returns, including negated
 * errno values. Never returns NULL; the string is static. */
const char *idn_strerror(int err);

/* Internal: where a library function that explains its refusals writes
 * the reason (buf of cap bytes; buf NULL or cap 0: nowhere). */
typedef struct {
	char *buf;
	size_t cap;
} idn__errbuf_t;

/* Internal: formats the reason into e (truncated to fit) and returns
 * code. */
__attribute__((format(printf, 3, 4))) int idn__fail(idn__errbuf_t *e, int code,
						    const char *fmt, ...);

#endif
