/* The value model (docs/architecture.md, Values) and the typed layouts of HS_*
 * values.
 *
 * Decoded structures point into the buffer they were decoded from (zero
 * copy); arrays they need are allocated from the arena passed in. Both the
 * buffer and the arena must outlive the structure. Encoders append to an
 * idn_wr_t; the writer's sticky error reports overflow. */
#ifndef IDN_VALUE_H
#define IDN_VALUE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "wire.h"

/* permissions */
enum {
	IDN_PERM_PUBLIC_WRITE = 0x1,
	IDN_PERM_PUBLIC_READ = 0x2,
	IDN_PERM_ADMIN_WRITE = 0x4,
	IDN_PERM_ADMIN_READ = 0x8,
	IDN_PERM_DEFAULT = 0xe, /* admin read+write, public read */
};

enum { IDN_TTL_RELATIVE = 0, IDN_TTL_ABSOLUTE = 1 };
#define IDN_TTL_DEFAULT 86400

typedef struct {
	idn_bytes_t id;
	uint32_t index;
} idn_ref_t;

typedef struct {
	uint32_t index;
	uint32_t timestamp; /* Unix seconds of last change */
	uint8_t ttl_type;   /* IDN_TTL_* */
	uint32_t ttl;
	uint8_t perms; /* IDN_PERM_* bits */
	idn_bytes_t type;
	idn_bytes_t data;
	uint32_t nrefs;
	idn_ref_t *refs;
} idn_value_t;

/* Limits applied when decoding a value. */
#define IDN_TYPE_MAX 1024
#define IDN_REFS_MAX 1024

/* Decodes one value: index timestamp ttl_type ttl perms type data refs.
 * Sets r->err (IDN_EMALFORMED, IDN_ETOOLONG, IDN_ETOOMANY, -ENOMEM) on
 * failure. refs are allocated from a. */
void idn_value_decode(idn_rd_t *r, idn_arena_t *a, idn_value_t *v);

/* Decodes "u32 count, values" into an arena array. Returns 0 or the error.
 * Count is limited to IDN_VALUES_MAX. */
int idn_values_decode(idn_rd_t *r, idn_arena_t *a, idn_value_t **out,
		      uint32_t *n);

void idn_value_encode(idn_wr_t *w, const idn_value_t *v);

/* Copies the n encoded values of in[0..len) to out (len bytes) in
 * ascending index order. Peers may send a record's values in any order
 * (HANDLE.NET answers in creation order, e.g. 100, 1, 2); a record is kept
 * and served in index order. Returns 0, IDN_EMALFORMED (not n values
 * filling len exactly), IDN_EVALUE (an index twice) or -ENOMEM. out must
 * not overlap in. */
int idn_values_order(const uint8_t *in, size_t len, uint32_t n, uint8_t *out);

/* Encoded size of one value in bytes. */
size_t idn_value_size(const idn_value_t *v);

/* Checks a value for storage: type is non-empty valid UTF-8 without
 * control characters, reference identifiers valid UTF-8, ttl_type 0 or 1,
 * perms within 0..0xf, and the data of known HS_* types decodes with its
 * layout. Returns 0 or IDN_EVALUE / IDN_EUTF8. */
int idn_value_check(const idn_value_t *v, idn_arena_t *a);

/* Type matching for resolution filters: exact ASCII case-insensitive match,
 * or, when want ends in '.', a match of the type family ("URL." matches
 * "URL" and "URL.x"). */
bool idn_type_matches(idn_bytes_t type, idn_bytes_t want);

/* ---- HS_ADMIN ---- */
enum {
	IDN_ADM_ADD_HANDLE = 0x1,
	IDN_ADM_DELETE_HANDLE = 0x2,
	IDN_ADM_ADD_PREFIX = 0x4,
	IDN_ADM_DELETE_PREFIX = 0x8,
	IDN_ADM_MODIFY_VALUE = 0x10,
	IDN_ADM_REMOVE_VALUE = 0x20,
	IDN_ADM_ADD_VALUE = 0x40,
	IDN_ADM_MODIFY_ADMIN = 0x80,
	IDN_ADM_REMOVE_ADMIN = 0x100,
	IDN_ADM_ADD_ADMIN = 0x200,
	IDN_ADM_READ_VALUE = 0x400,
	IDN_ADM_LIST = 0x800,
	IDN_ADM_ALL = 0xfff,
};

typedef struct {
	uint16_t perms;
	idn_bytes_t admin;
	uint32_t index;
} idn_hs_admin_t;

int idn_hs_admin_decode(idn_bytes_t data, idn_hs_admin_t *out);
void idn_hs_admin_encode(idn_wr_t *w, const idn_hs_admin_t *in);

/* ---- HS_VLIST ---- */
typedef struct {
	uint32_t n;
	idn_ref_t *refs;
} idn_hs_vlist_t;

int idn_hs_vlist_decode(idn_bytes_t data, idn_arena_t *a, idn_hs_vlist_t *out);
void idn_hs_vlist_encode(idn_wr_t *w, const idn_hs_vlist_t *in);

/* ---- HS_SITE ---- */
enum { IDN_SITE_PRIMARY = 0x80, IDN_SITE_MULTI_PRIMARY = 0x40 };
enum { IDN_HASH_PREFIX = 0, IDN_HASH_SUFFIX = 1, IDN_HASH_WHOLE = 2 };
enum { IDN_IF_ADMIN = 1, IDN_IF_QUERY = 2, IDN_IF_BOTH = 3 };
enum {
	IDN_PROTO_UDP = 0,
	IDN_PROTO_TCP = 1,
	IDN_PROTO_HTTP = 2,
	IDN_PROTO_HTTPS = 3
};

typedef struct {
	uint8_t type;  /* IDN_IF_* */
	uint8_t proto; /* IDN_PROTO_* */
	uint32_t port;
} idn_hs_iface_t;

typedef struct {
	uint32_t id;
	uint8_t addr[16]; /* IPv4 in the last 4 bytes after 12 zero bytes */
	idn_bytes_t pubkey;
	uint32_t nifaces;
	idn_hs_iface_t *ifaces;
} idn_hs_server_t;

typedef struct {
	idn_bytes_t name;
	idn_bytes_t value;
} idn_hs_attr_t;

typedef struct {
	uint16_t version; /* 1 */
	uint8_t major, minor;
	uint16_t serial;
	uint8_t flags;	     /* IDN_SITE_* */
	uint8_t hash_option; /* IDN_HASH_* */
	idn_bytes_t hash_filter;
	uint32_t nattrs;
	idn_hs_attr_t *attrs;
	uint32_t nservers;
	idn_hs_server_t *servers;
} idn_hs_site_t;

int idn_hs_site_decode(idn_bytes_t data, idn_arena_t *a, idn_hs_site_t *out);
void idn_hs_site_encode(idn_wr_t *w, const idn_hs_site_t *in);

/* ---- HS_PUBKEY ----
 * key type string, 2 flag bytes, then the key parameters as byte arrays:
 * RSA_PUB_KEY: exponent, modulus (a third, empty, array may follow in some
 * encoders: kept in nparams); DSA_PUB_KEY: q, p, g, y; DH_PUB_KEY: y, p, g;
 * SM2 ("SM2_PUB_KEY"): the uncompressed point. */
#define IDN_PUBKEY_PARAMS_MAX 8

typedef struct {
	idn_bytes_t type;
	uint16_t flags;
	uint32_t nparams;
	idn_bytes_t params[IDN_PUBKEY_PARAMS_MAX];
} idn_hs_pubkey_t;

int idn_hs_pubkey_decode(idn_bytes_t data, idn_hs_pubkey_t *out);
void idn_hs_pubkey_encode(idn_wr_t *w, const idn_hs_pubkey_t *in);

/* ---- HS_SECKEY ----: the data is the secret (or its hash) as raw bytes;
 * no layout to decode. */

#endif
