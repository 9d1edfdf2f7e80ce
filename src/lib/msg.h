/* The Handle protocol 2.x wire codec (docs/architecture.md, Wire protocol;
 * tests/vectors/INDEX.md).
 *
 * A message on the wire is envelope(20) | header(24) | body | credential
 * length(4) | credential. Decoders are bounds-checked through idn_rd_t and
 * return 0 or a negative idn error; decoded structures point into the input
 * buffer (zero copy) and into the arena passed in, which must both outlive
 * them. Encoders append to an idn_wr_t; check w->err once at the end. */
#ifndef IDN_MSG_H
#define IDN_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ident.h" /* IDN_MSG_MAX */
#include "opcode.h"
#include "value.h"
#include "wire.h"

#define IDN_ENV_LEN 20
#define IDN_HDR_LEN 24
#define IDN_UDP_DGRAM_MAX 512
#define IDN_UDP_PAYLOAD (IDN_UDP_DGRAM_MAX - IDN_ENV_LEN) /* 492 */
#define IDN_PROTO_MAJOR 2
#define IDN_PROTO_MINOR 10

/* response codes */
enum {
	IDN_RC_SUCCESS = 1,
	IDN_RC_ERROR = 2,
	IDN_RC_TOO_BUSY = 3,
	IDN_RC_PROTOCOL_ERROR = 4,
	IDN_RC_NOT_SUPPORTED = 5,
	IDN_RC_RECURSION_COUNT = 6,
	IDN_RC_NOT_FOUND = 100,
	IDN_RC_ALREADY_EXISTS = 101,
	IDN_RC_INVALID_HANDLE = 102,
	IDN_RC_VALUES_NOT_FOUND = 200,
	IDN_RC_VALUE_EXISTS = 201,
	IDN_RC_INVALID_VALUE = 202,
	IDN_RC_OUT_OF_DATE_SITE = 300,
	IDN_RC_SERVER_NOT_RESP = 301,
	IDN_RC_SERVICE_REFERRAL = 302,
	IDN_RC_PREFIX_REFERRAL = 303,
	IDN_RC_INVALID_ADMIN = 400,
	IDN_RC_INSUFFICIENT_PERMS = 401,
	IDN_RC_AUTH_NEEDED = 402,
	IDN_RC_AUTH_FAILED = 403,
	IDN_RC_INVALID_CREDENTIAL = 404,
	IDN_RC_AUTH_TIMEOUT = 405,
	IDN_RC_AUTH_ERROR = 406,
};

/* op flags */
enum {
	IDN_OF_AUTH = 0x80000000u,
	IDN_OF_CERT = 0x40000000u,
	IDN_OF_ENCRYPT = 0x20000000u,
	IDN_OF_RECURSE = 0x10000000u,
	IDN_OF_CACHE_CERT = 0x08000000u,
	IDN_OF_CONTINUOUS = 0x04000000u,
	IDN_OF_KEEP_ALIVE = 0x02000000u,
	IDN_OF_PUBLIC_ONLY = 0x01000000u,
	IDN_OF_RETURN_DIGEST = 0x00800000u,
	IDN_OF_OVERWRITE = 0x00400000u,
	IDN_OF_MINT = 0x00200000u,
	IDN_OF_DONT_REFER = 0x00100000u,
	/* the national system's (IDIS SDK): a resolution carrying an
	 * authentication token */
	IDN_OF_RECURSE_AUTH = 0x00000004u,
};

/* envelope flags */
enum {
	IDN_EF_COMPRESSED = 0x80,
	IDN_EF_ENCRYPTED = 0x40,
	IDN_EF_TRUNCATED = 0x20,
};

/* digest algorithms of the request digest */
enum { IDN_DIGEST_MD5 = 1, IDN_DIGEST_SHA1 = 2, IDN_DIGEST_SHA256 = 3 };

/* ---- envelope ---- */
typedef struct {
	uint8_t major, minor;
	uint8_t flags;	   /* IDN_EF_* (low bits may carry a suggested major) */
	uint8_t sug_minor; /* suggested minor */
	uint32_t session_id;
	uint32_t request_id;
	uint32_t seq;
	uint32_t msg_len;
} idn_env_t;

/* Decodes 20 bytes. Returns 0, IDN_EMALFORMED (fewer than 20 bytes),
 * IDN_ETOOLONG (msg_len > IDN_MSG_MAX, checked first) or IDN_EVERSION
 * (major below 2). Every 2.x, 2.0 included, and every newer major is read
 * with the 2.x layout, as HANDLE.NET does (tests/vectors/version-*). On
 * IDN_EVERSION out is still filled in, with msg_len within bounds, so a
 * server can answer with a protocol error. */
int idn_env_decode(const uint8_t *p, size_t len, idn_env_t *out);
void idn_env_encode(uint8_t out[IDN_ENV_LEN], const idn_env_t *e);

/* The version to answer a request in, as HANDLE.NET 7.3.1 answers: the
 * request's own when this node knows it (2.0 .. 2.IDN_PROTO_MINOR), else
 * the newest it speaks (2.12 and 3.0 are answered as 2.IDN_PROTO_MINOR,
 * where the reference answers 2.5, its own). */
void idn_env_answer_version(const idn_env_t *req, uint8_t *major,
			    uint8_t *minor);

/* ---- fields of encoded envelopes and headers ----
 *
 * For code that peeks at or patches a message already in a buffer (a
 * reply's flags, a frame's length) without decoding it. Offsets are those
 * of the wire layout: envelope major(1) minor(1) flags(1) suggested
 * minor(1) session id(4) request id(4) sequence(4) message length(4);
 * header op(4) rc(4) flags(4) serial(2) recursion count(1) reserved(1)
 * expiry(4) body length(4). The caller guarantees env points at
 * IDN_ENV_LEN bytes and hdr at IDN_HDR_LEN bytes (programmer errors, not
 * checked). */
enum {
	IDN_ENV_OFF_FLAGS = 2,
	IDN_ENV_OFF_SESSION = 4,
	IDN_ENV_OFF_REQUEST = 8,
	IDN_ENV_OFF_SEQ = 12,
	IDN_ENV_OFF_MSG_LEN = 16,
	IDN_HDR_OFF_OP = 0,
	IDN_HDR_OFF_RC = 4,
	IDN_HDR_OFF_FLAGS = 8,
	IDN_HDR_OFF_BODY_LEN = 20,
};

static inline uint32_t idn_env_session(const uint8_t *env)
{
	return idn_get_u32(env + IDN_ENV_OFF_SESSION);
}
static inline void idn_env_set_session(uint8_t *env, uint32_t v)
{
	idn_put_u32(env + IDN_ENV_OFF_SESSION, v);
}
static inline uint32_t idn_env_request_id(const uint8_t *env)
{
	return idn_get_u32(env + IDN_ENV_OFF_REQUEST);
}
static inline void idn_env_set_request_id(uint8_t *env, uint32_t v)
{
	idn_put_u32(env + IDN_ENV_OFF_REQUEST, v);
}
static inline uint32_t idn_env_msg_len(const uint8_t *env)
{
	return idn_get_u32(env + IDN_ENV_OFF_MSG_LEN);
}
static inline void idn_env_set_msg_len(uint8_t *env, uint32_t v)
{
	idn_put_u32(env + IDN_ENV_OFF_MSG_LEN, v);
}
static inline uint32_t idn_hdr_op(const uint8_t *hdr)
{
	return idn_get_u32(hdr + IDN_HDR_OFF_OP);
}
static inline uint32_t idn_hdr_rc(const uint8_t *hdr)
{
	return idn_get_u32(hdr + IDN_HDR_OFF_RC);
}
static inline uint32_t idn_hdr_flags(const uint8_t *hdr)
{
	return idn_get_u32(hdr + IDN_HDR_OFF_FLAGS);
}
static inline void idn_hdr_set_flags(uint8_t *hdr, uint32_t v)
{
	idn_put_u32(hdr + IDN_HDR_OFF_FLAGS, v);
}
static inline uint32_t idn_hdr_body_len(const uint8_t *hdr)
{
	return idn_get_u32(hdr + IDN_HDR_OFF_BODY_LEN);
}
static inline void idn_hdr_set_body_len(uint8_t *hdr, uint32_t v)
{
	idn_put_u32(hdr + IDN_HDR_OFF_BODY_LEN, v);
}

/* ---- message header ---- */
typedef struct {
	uint32_t op;
	uint32_t rc;	/* 0 in requests */
	uint32_t flags; /* IDN_OF_* */
	uint16_t serial;
	uint8_t rcount; /* recursion count */
	uint8_t reserved;
	uint32_t expiry; /* Unix seconds */
} idn_hdr_t;

/* ---- credential ---- */
typedef struct {
	uint8_t version;
	uint8_t reserved;
	uint16_t options;
	idn_bytes_t signer; /* signer identifier ("" when none) */
	uint32_t signer_index;
	idn_bytes_t type; /* "HS_SIGNED", "HS_MAC", ... */
	idn_bytes_t signed_data;
} idn_cred_t;

/* ---- a decoded message (without envelope) ---- */
typedef struct {
	idn_hdr_t hdr;
	idn_bytes_t body; /* the whole body as sent */
	/* In a response (rc != 0) with IDN_OF_RETURN_DIGEST the body starts
	 * with the request digest; it is parsed off into these fields and
	 * rest holds what follows. Otherwise digest_alg is 0 and rest ==
	 * body. */
	uint8_t digest_alg;
	idn_bytes_t digest;
	idn_bytes_t rest;
	bool has_cred; /* false when the credential length is 0 */
	/* op 2001 came without the credential length (the IDIS SDK's) */
	bool cred_absent;
	idn_cred_t cred;
	idn_bytes_t signed_part; /* header + body: what digests cover */
} idn_msg_t;

/* Decodes a message of exactly len bytes (the envelope's msg_len). An op
 * 2001 message (IDN_OC_LOGIN) that ends right after its body, without the
 * credential length, is read as one without credential: the IDIS SDK sends
 * it so; any other message needs the length.
 * Returns 0, IDN_EMALFORMED (lengths inconsistent, trailing bytes) or
 * IDN_ETOOLONG. */
int idn_msg_decode(const uint8_t *p, size_t len, idn_msg_t *m);

/* Writing a message: idn_msg_start writes the envelope (unless env is NULL)
 * and the header with placeholder lengths; the caller writes the body; then
 * idn_msg_finish writes the credential (NULL for none: length 0) and patches
 * the body length and the envelope's msg_len. */
typedef struct {
	size_t env; /* offset of the envelope, or SIZE_MAX when none */
	size_t hdr; /* offset of the message header */
} idn_msg_mark_t;

idn_msg_mark_t idn_msg_start(idn_wr_t *w, const idn_env_t *env,
			     const idn_hdr_t *h);
void idn_msg_finish(idn_wr_t *w, idn_msg_mark_t m, const idn_cred_t *cred);

/* Writes a whole request message of op without envelope or credential:
 * the header (flags, serial 0xffff, expiry ttl seconds from now) and the
 * body's blen bytes. Errors stick in w->err (IDN_ETOOLONG when the
 * buffer or the message limit is exceeded). */
void idn_msg_request(idn_wr_t *w, uint32_t op, uint32_t flags, uint32_t ttl,
		     const uint8_t *body, size_t blen);

/* Digest of a request's header + body (msg->signed_part) with the given
 * algorithm. out must hold 32 bytes; *out_len gets the digest length.
 * Returns 0 or IDN_EINVAL for an unknown algorithm. */
int idn_digest(uint8_t alg, const uint8_t *p, size_t len, uint8_t *out,
	       uint32_t *out_len);

/* Writes "alg byte + digest", the prefix of a response body to a request
 * that set IDN_OF_RETURN_DIGEST. */
void idn_digest_encode(idn_wr_t *w, uint8_t alg, idn_bytes_t digest);

/* ---- bodies ---- */

/* resolution request: identifier, u32 count + u32 indexes, u32 count +
 * type strings, then in the national system's requests (IDIS SDK) one
 * more string, an authentication token (empty, or a JWT naming an admin;
 * its presence is announced by op flag IDN_OF_RECURSE_AUTH). Requests
 * without it, as handle.net sends them, decode with an empty token. */
typedef struct {
	idn_bytes_t id;
	uint32_t nindexes;
	uint32_t *indexes;
	uint32_t ntypes;
	idn_bytes_t *types;
	idn_bytes_t token; /* empty when absent */
	/* the token string is there (the IDIS SDK always sends it, empty
	 * when it has no token) */
	bool has_token;
} idn_resolve_req_t;

/* The token string is written when in->has_token or in->token is not
 * empty, so requests without one stay plain handle.net requests and a
 * decoded request encodes to the same bytes. */
int idn_resolve_req_decode(idn_bytes_t body, idn_arena_t *a,
			   idn_resolve_req_t *out);
void idn_resolve_req_encode(idn_wr_t *w, const idn_resolve_req_t *in);

/* Longest resolution token accepted (a JWT signed with RSA-4096 is about
 * 1 KiB). */
#define IDN_RESOLVE_TOKEN_MAX 8192

/* op 2001 key login (the national system's, IDIS SDK): admin identifier,
 * u32 index of its HS_PUBKEY. The SDK sends it without the credential
 * length after the body (idn_msg_decode accepts that). */
typedef struct {
	idn_bytes_t admin;
	uint32_t index;
} idn_login_req_t;

int idn_login_req_decode(idn_bytes_t body, idn_login_req_t *out);
void idn_login_req_encode(idn_wr_t *w, const idn_login_req_t *in);

/* identifier + values: resolution reply (after any digest), create, add
 * value, modify value, and referral (302/303) bodies. */
typedef struct {
	idn_bytes_t id;
	uint32_t nvalues;
	idn_value_t *values;
} idn_values_body_t;

int idn_values_body_decode(idn_bytes_t body, idn_arena_t *a,
			   idn_values_body_t *out);
void idn_values_body_encode(idn_wr_t *w, const idn_values_body_t *in);

/* identifier + u32 count + u32 indexes: remove value. */
typedef struct {
	idn_bytes_t id;
	uint32_t nindexes;
	uint32_t *indexes;
} idn_remove_req_t;

int idn_remove_req_decode(idn_bytes_t body, idn_arena_t *a,
			  idn_remove_req_t *out);
void idn_remove_req_encode(idn_wr_t *w, const idn_remove_req_t *in);

/* identifier only: delete, get site info, home, unhome, list (the prefix
 * identifier "0.NA/<prefix>"). */
int idn_id_body_decode(idn_bytes_t body, idn_bytes_t *id);
void idn_id_body_encode(idn_wr_t *w, idn_bytes_t id);

/* list reply (and list-homed reply): u32 count + identifier strings; a long
 * list is split over several messages flagged IDN_OF_CONTINUOUS. */
typedef struct {
	uint32_t n;
	idn_bytes_t *ids;
} idn_list_body_t;

int idn_list_body_decode(idn_bytes_t body, idn_arena_t *a,
			 idn_list_body_t *out);
void idn_list_body_encode(idn_wr_t *w, const idn_list_body_t *in);

/* error reply: a message string (may be empty). */
int idn_error_body_decode(idn_bytes_t body, idn_bytes_t *text);
void idn_error_body_encode(idn_wr_t *w, idn_bytes_t text);

/* 402 challenge (after the request digest): the nonce as a byte array. */
int idn_challenge_decode(idn_bytes_t rest, idn_bytes_t *nonce);
void idn_challenge_encode(idn_wr_t *w, idn_bytes_t nonce);

/* op 200 challenge answer: auth type ("HS_PUBKEY"/"HS_SECKEY"), admin
 * identifier, admin index, signature bytes. For HS_PUBKEY the signature
 * bytes are themselves "hash name string + signature bytes", decoded by
 * idn_sig_decode. */
typedef struct {
	idn_bytes_t auth_type;
	idn_bytes_t admin;
	uint32_t index;
	idn_bytes_t sig;
} idn_challenge_answer_t;

int idn_challenge_answer_decode(idn_bytes_t body, idn_challenge_answer_t *out);
void idn_challenge_answer_encode(idn_wr_t *w, const idn_challenge_answer_t *in);

/* "hash name string + signature bytes" inside a challenge answer or an
 * HS_SIGNED credential's signed_data. */
int idn_sig_decode(idn_bytes_t data, idn_bytes_t *hash, idn_bytes_t *sig);
void idn_sig_encode(idn_wr_t *w, idn_bytes_t hash, idn_bytes_t sig);

/* op 400 session setup request and its reply (after the digest). The
 * request is mode, timeout, identity, index, then by mode (hsession.h):
 * 1 (client's public key) and 4 (Diffie-Hellman) the exchange key as a
 * byte array, 3 a key handle and index, others nothing; the reference
 * then sends two zero bytes (tail). */
typedef struct {
	uint16_t mode; /* key exchange mode */
	uint32_t timeout;
	idn_bytes_t identity;
	uint32_t index;
	idn_bytes_t key;    /* exchange key bytes (mode 3: its handle) */
	idn_bytes_t tail;   /* bytes after the key, kept verbatim */
	uint32_t key_index; /* mode 3: the key's index */
} idn_session_req_t;

int idn_session_req_decode(idn_bytes_t body, idn_session_req_t *out);
void idn_session_req_encode(idn_wr_t *w, const idn_session_req_t *in);

typedef struct {
	uint16_t mode;
	idn_bytes_t key;
	idn_bytes_t tail;
} idn_session_resp_t;

int idn_session_resp_decode(idn_bytes_t rest, idn_session_resp_t *out);
void idn_session_resp_encode(idn_wr_t *w, const idn_session_resp_t *in);

/* ---- UDP ----
 * A message longer than IDN_UDP_PAYLOAD travels as several datagrams, each
 * with its own envelope (same request id and msg_len, seq 0, 1, 2, ...). */

/* Number of datagrams a message of msg_len bytes needs. */
size_t idn_udp_frag_count(size_t msg_len);

/* Builds datagram i (0-based) of msg (msg_len bytes, without envelope):
 * env gives everything but seq and msg_len. out holds IDN_UDP_DGRAM_MAX
 * bytes. Returns the datagram's length. */
size_t idn_udp_frag(const idn_env_t *env, const uint8_t *msg, size_t msg_len,
		    size_t i, uint8_t *out);

/* Reassembly of a multi-datagram message. buf must hold IDN_MSG_MAX bytes;
 * seen is a bitmap of IDN_MSG_MAX / IDN_UDP_PAYLOAD + 1 bits. */
typedef struct {
	idn_env_t env;	 /* of the first datagram accepted */
	uint32_t nfrags; /* datagrams expected */
	uint32_t got;	 /* distinct datagrams received */
	uint8_t *buf;
	uint8_t seen[(IDN_MSG_MAX / IDN_UDP_PAYLOAD + 1 + 7) / 8];
	bool started;
} idn_reasm_t;

void idn_reasm_init(idn_reasm_t *r, uint8_t *buf);

/* Adds one datagram. Returns 1 when the message is complete (r->buf holds
 * r->env.msg_len bytes), 0 when more are needed, IDN_EMALFORMED for a
 * datagram that does not fit (wrong request id or msg_len for this
 * reassembly, seq out of range, wrong payload size) — such a datagram is
 * ignored and the reassembly continues. Duplicates are ignored. */
int idn_reasm_add(idn_reasm_t *r, const uint8_t *dgram, size_t len);

#endif
