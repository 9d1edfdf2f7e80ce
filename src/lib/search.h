/* Search: identifiers by a value's type and data, by prefix and by
 * creation time, through a secondary index that every backend keeps in the
 * same transaction as the record it describes.
 *
 * What is indexed. The (type, data) pair, as stored (type and data compared
 * bytewise, case-sensitive), of every value whose type is DECLARED in the
 * store (idn_wtxn_index_add). The declared types are part of the store,
 * the same for every node using it; a new store declares none. Types of
 * the Handle system (beginning "HS_": HS_ADMIN, HS_SITE, HS_PUBKEY,
 * HS_SECKEY, ...), which hold protocol data and secrets, cannot be
 * declared. A search by an undeclared type fails with IDN_ENOTINDEXED. The
 * empty type stands for the creation time index, which a search by time
 * range without a type needs (declared the same way; a new store has
 * none). A search by prefix needs no index. The creation time of a
 * record is the earliest timestamp among its values (a record without values
 * has none and is never found by a time range). It is derived from the record
 * itself, so it survives export, import and migration between backends
 * unchanged; it moves only when the value holding the earliest timestamp is
 * modified or removed.
 *
 * Order. A search with a type and data returns identifiers in key order
 * (normalised identifier, bytewise), as does a search by prefix alone; a
 * search by time range without a type returns them in creation order
 * (creation time, then key).
 *
 * Visibility. With public_only, a record is found through a value only if
 * that value grants public read (IDN_PERM_PUBLIC_READ): anonymous clients
 * never learn of an identifier through the data of a value they may not
 * read. Prefix and time filters reveal no value data.
 *
 * Paging. Results stream through a callback; nothing is collected in
 * memory. Each result comes with a cursor: a search given that cursor
 * continues after that result. Cursors are opaque, at most
 * IDN_SEARCH_CURSOR_MAX bytes, and valid across writes (a record written
 * after a page was read is found on a later page if it sorts after the
 * cursor). */
#ifndef IDN_SEARCH_H
#define IDN_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "wire.h"

#define IDN_SEARCH_CURSOR_MAX (5 + IDN_IDENT_MAX)
#define IDN_SEARCH_PAGE_MAX 1000u
#define IDN_SEARCH_PAGE_DEFAULT 100u

typedef struct {
	idn_bytes_t type;   /* len 0: no value filter; else data applies */
	idn_bytes_t data;   /* exact data (may be empty) */
	idn_bytes_t prefix; /* normalised prefix; len 0: any */
	uint32_t since;	    /* creation time >= since (0: no lower bound) */
	uint32_t until;	    /* creation time <= until (0: no upper bound) */
	bool public_only;   /* match only publicly readable values */
	idn_bytes_t cursor; /* len 0: from the start */
} idn_search_t;

/* One result: id is the identifier as first created, ctime its creation
 * time (0 if it has no values), cursor continues after it. All point into
 * memory valid during the call. Return non-zero to stop the search. */
typedef int (*idn_search_cb)(void *ctx, idn_bytes_t id, uint32_t ctime,
			     idn_bytes_t cursor);

/* Runs a search in a read transaction. Returns 0, the callback's non-zero
 * value, IDN_EINVAL (no filter at all, data without type, a malformed
 * cursor, since > until), IDN_ENOTINDEXED (the type is not declared),
 * IDN_ECORRUPT or IDN_ESTORE. */
int idn_store_search(idn_rtxn_t *t, const idn_search_t *q, idn_search_cb cb,
		     void *ctx);

/* ---- declared types ---- */

#define IDN_INDEX_TYPE_MAX 255u /* longest type that can be declared */

/* Lists the declared types, in bytewise order (the creation time, when
 * declared, first, as the empty type). Returns 0, the callback's value, or
 * an error. */
int idn_store_index_types(idn_rtxn_t *t, idn_list_cb cb, void *ctx);

/* Declares a type searchable (the empty type: the creation time) and
 * indexes the values of that type of every record, inside t: when t
 * commits, the index is complete. Returns 0, 1
 * when the type was declared already (nothing changes), IDN_EINVAL (empty,
 * longer than IDN_INDEX_TYPE_MAX, holding a control character, or an HS_
 * type), or a store error (which ends t, see store.h). */
int idn_wtxn_index_add(idn_wtxn_t *t, idn_bytes_t type);

/* Undeclares a type and deletes its index entries, inside t. Returns 0,
 * IDN_ENOTFOUND (not declared), IDN_EINVAL or a store error. */
int idn_wtxn_index_remove(idn_wtxn_t *t, idn_bytes_t type);

/* The message for IDN_ENOTINDEXED: "type T is not indexed; run idctl
 * index add T", or for the empty type "creation time is not indexed; run
 * idctl index add --created" (bytes of T outside printable ASCII shown as '?';
 * a type cut at 64 bytes). cap >= IDN_INDEX_MSG_MAX. Returns out. */
#define IDN_INDEX_MSG_MAX 200u
char *idn_search_notindexed_msg(idn_bytes_t type, char *out, size_t cap);

/* Whether a type could be declared (see idn_wtxn_index_add). */
bool idn_index_type_ok(idn_bytes_t type);

/* ---- the node operation IDN_OC_INDEX ----
 *
 * Request body: u32 action (IDN_INDEX_LIST, _ADD, _REMOVE), type (string;
 * empty for a listing, and the creation time for _ADD and _REMOVE). Reply
 * body: u32 count, count times type (string; empty: the creation time):
 * the declared types after the action. Control socket only. */
enum { IDN_INDEX_LIST = 0, IDN_INDEX_ADD = 1, IDN_INDEX_REMOVE = 2 };

/* ---- the node operation (op IDN_OC_SEARCH) ----
 *
 * Request body: type, data, prefix (strings; prefix as given by the user),
 * u32 since, u32 until, u32 page size (0: IDN_SEARCH_PAGE_DEFAULT), cursor
 * (string). Reply body: u32 count, count times (identifier string, u32
 * creation time), then the cursor of the next page (string, empty when
 * there are no more results). */

typedef struct {
	idn_bytes_t type, data, prefix, cursor;
	uint32_t since, until, page;
} idn_search_req_t;

/* Encodes a request body. w's sticky error reports overflow. */
void idn_search_req_encode(idn_wr_t *w, const idn_search_req_t *q);
/* Decodes a request body (pointing into body). Returns 0 or
 * IDN_EMALFORMED. */
int idn_search_req_decode(idn_bytes_t body, idn_search_req_t *out);

/* Checks a request (whose cursor is hex text) and turns it into a search:
 * the prefix is normalised into pbuf (IDN_IDENT_MAX bytes), the cursor
 * decoded into cbuf (IDN_SEARCH_CURSOR_MAX bytes), *page set (0 becomes
 * IDN_SEARCH_PAGE_DEFAULT). Returns 0, or IDN_EINVAL with *why naming what
 * is wrong (a static string). */
int idn_search_from_req(const idn_search_req_t *rq, bool public_only,
			uint8_t *pbuf, uint8_t *cbuf, idn_search_t *out,
			uint32_t *page, const char **why);

/* Who sees what a search finds. A privileged caller -- the local operator
 * on the control socket, or an HTTP client holding the management token --
 * matches values of any permissions unless it asks for publicly readable
 * ones only. Anyone else (over UDP, TCP or HTTP, anonymous or an
 * authenticated admin alike) matches publicly readable values only, so it
 * never learns of an identifier through data it may not read, and may not
 * search without a type: by prefix or time alone a search lists
 * identifiers, which like a listing is for privileged callers. The rule
 * for idnode's Handle op and its HTTP API alike. */

/* The public_only of a caller's search; asked: it asked for public values
 * only (IDN_OF_PUBLIC_ONLY, ?publicOnly). */
bool idn_search_public_only(bool privileged, bool asked);

/* Whether the caller may run the search rq (false: a search without a
 * type by an unprivileged caller). Checked after idn_search_from_req, so
 * a malformed request is reported as such first. */
bool idn_search_permitted(bool privileged, const idn_search_req_t *rq);

/* Parses a time given as Unix seconds, YYYY-MM-DD or
 * YYYY-MM-DDTHH:MM:SSZ (UTC). Returns 0 or -1. */
int idn_search_time_parse(const char *s, uint32_t *out);

/* Writes a cursor as lowercase hex into out (2 * len + 1 bytes). */
void idn_search_cursor_hex(idn_bytes_t cursor, char *out);
/* Parses a hex cursor into buf (IDN_SEARCH_CURSOR_MAX bytes). Returns 0 or
 * IDN_EINVAL. */
int idn_search_cursor_parse(const char *hex, size_t len, uint8_t *buf,
			    size_t *outlen);

/* ---- shared by the backends (internal) ---- */

/* Walks an encoded values section: for each value calls fn with its
 * timestamp, permissions, type and data; stops at fn's non-zero return and
 * returns it. IDN_ECORRUPT if the section does not hold n values. */
typedef int (*idn__vwalk_fn)(void *ctx, uint32_t ts, uint8_t perms,
			     idn_bytes_t type, idn_bytes_t data);
int idn__values_each(idn_bytes_t values, uint32_t n, idn__vwalk_fn fn,
		     void *ctx);

/* The creation time of a record's values (0 if n is 0), or IDN_ECORRUPT
 * (as a negative int64). */
int64_t idn__values_ctime(idn_bytes_t values, uint32_t n);

/* Whether the values hold (type, data), publicly readable if public_only.
 * 1, 0 or IDN_ECORRUPT. */
int idn__values_match(idn_bytes_t values, uint32_t n, idn_bytes_t type,
		      idn_bytes_t data, bool public_only);

/* Whether a value of this type may be indexed (not an HS_ type). */
bool idn__search_indexed(idn_bytes_t type);

#endif
