/* Authentication and authorisation of administration over the network
 * (docs/architecture.md, "Principals"). An administrative request arriving by
 * UDP or TCP is answered with a challenge (rc 402: the request's digest and a
 * nonce; the envelope's session id names the pending challenge). The client
 * answers with op 200 (admin identifier, key index, signature over nonce ||
 * digest, or a MAC keyed with a secret); the answer is checked against the
 * admin's HS_PUBKEY or HS_SECKEY value (auth.h, seckey.h), then
 * the admin's rights in the HS_ADMIN values that govern the target
 * (directly or through HS_VLIST groups), and the original request runs
 * once. This module keeps the pending challenges and makes those checks;
 * the handler builds the replies. */
#ifndef IDN_NODE_AUTHZ_H
#define IDN_NODE_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "hsession.h"
#include "msg.h"
#include "netlimit.h"
#include "store.h"

typedef struct authz authz_t;

/* One pending challenge: the request it holds back and what the answer
 * must sign. The request itself is kept, not only its digest: the
 * protocol's answer (op 200) does not carry it again, and the node runs it
 * once the answer checks. What that costs is bounded instead: at most
 * AUTHZ_PENDING_* challenges and bytes held in all, per source network and
 * per source address, so that one sender can neither lock the other
 * networks' admins out nor hold more than AUTHZ_PENDING_BYTES of memory
 * (a client with many large writes opens a session, whose requests are
 * never held). */
typedef struct authz_challenge {
	struct authz_challenge *next;
	netkey_t net, addr; /* the source network and address */
	uint32_t id;	    /* never 0 */
	uint32_t session;   /* the session it is in (then id), or 0 */
	uint64_t expires;   /* idn_now_ms() time */
	uint8_t nonce[16];
	uint8_t digest[20]; /* SHA-1 of the request's header and body */
	size_t len;
	uint8_t frame[]; /* the request: envelope + message */
} authz_challenge_t;

/* Pending challenges (and the bytes of the requests they hold) at most: in
 * all, per /24 or /56 source network, per source address. */
#define AUTHZ_PENDING_MAX 4096
#define AUTHZ_PENDING_BYTES (64u << 20)
#define AUTHZ_PENDING_NET_MAX 512
#define AUTHZ_PENDING_NET_BYTES (16u << 20)
#define AUTHZ_PENDING_ADDR_MAX 128
#define AUTHZ_PENDING_ADDR_BYTES (8u << 20)

/* cost_rate, cost_burst: the CPU budget of challenge answers per source
 * network (netlimit.h; rate 0: unlimited). Returns 0 or -ENOMEM. */
int authz_new(authz_t **out, uint64_t cost_rate, uint64_t cost_burst);
void authz_free(authz_t *a);

/* The weakest hash (nego.h IDN_HASH_RANK_*) a challenge answer may use:
 * a weaker signature or HS_SECKEY form is refused with 406 before any
 * work (min-auth-hash; default SHA-1). Set before the node serves. */
void authz_set_min_hash(authz_t *a, int rank);

/* Holds back the request frame (len bytes; signed_part its header and
 * body) from peer (NULL: local) behind a new challenge. Returns 0 with the
 * challenge's id and nonce in *id and nonce, -ENOMEM, -EBUSY when the
 * node holds too many in all, or -EUSERS when peer's network or address
 * does. Thread-safe. */
int authz_challenge(authz_t *a, const struct sockaddr_storage *peer,
		    const uint8_t *frame, size_t len, idn_bytes_t signed_part,
		    uint32_t *id, uint8_t nonce[16]);

/* authz_challenge for a request in session (its id): the challenge's id
 * is the session's, which the answer's envelope carries, as the
 * reference has it; a newer challenge in the session replaces an older
 * one. */
int authz_challenge_in(authz_t *a, const struct sockaddr_storage *peer,
		       const uint8_t *frame, size_t len,
		       idn_bytes_t signed_part, uint32_t session,
		       uint8_t nonce[16]);

/* Takes the pending, unexpired challenge id out of the table (each is
 * answered once), or NULL. The caller frees it with free(). Thread-safe. */
authz_challenge_t *authz_take(authz_t *a, uint32_t id);

/* Checks a challenge answer (op 200 body) from peer against challenge c,
 * reading the admin's key from t. The check is priced first (PBKDF2
 * iterations, the key's size) and charged to peer's network: an answer
 * over its budget, or expensive while another of its network's is being
 * checked, is refused with IDN_RC_TOO_BUSY before any work. Returns 0
 * with the decoded answer in *ans (its bytes point into body), or the
 * response code to send with *why set to its message. Allocates from ar. */
uint32_t authz_check_answer(authz_t *a, const struct sockaddr_storage *peer,
			    idn_rtxn_t *t, idn_arena_t *ar,
			    const authz_challenge_t *c, idn_bytes_t body,
			    idn_challenge_answer_t *ans, const char **why);

/* The cost units (netlimit.h) of checking an answer's signature field:
 * HS_SECKEY answers by their PBKDF2 iterations, HS_PUBKEY ones by the
 * key's size in bits. */
uint64_t authz_seckey_cost(idn_bytes_t sig);
uint64_t authz_pubkey_cost(int bits);

/* Charges cost units to peer's network before a check made elsewhere
 * (the HTTP plane's handle.net authentication), from the same budget as
 * challenge answers. Returns 0, then the caller calls authz_charge_done
 * with the same cost after the check; or IDN_RC_TOO_BUSY with *why. */
uint32_t authz_charge(authz_t *a, const struct sockaddr_storage *peer,
		      uint64_t cost, const char **why);
void authz_charge_done(authz_t *a, const struct sockaddr_storage *peer,
		       uint64_t cost);

/* A check examines at most this many HS_VLIST group members in all
 * (each group once); past it the check is refused with the text
 * "admin group walk exceeds 10000 members". */
#define AUTHZ_WALK_MAX 10000
#define AUTHZ_WALK_MAX_TEXT "10000"

/* The rights function of an op (the op table, optable.h): may the admin
 * (admin, aidx), proven by a challenge answer or a session, run request
 * m on the store as it stands in t? It sees the whole request and the
 * record: a request that replaces values needs the rights of what it
 * replaces. Returns 0, or the response code to refuse with (401
 * insufficient permissions, 100 not found, 102 invalid identifier, 4
 * malformed, 2 store failure) and *why its text (static). Reads HS_ADMIN
 * values (any case) and HS_VLIST groups from t within AUTHZ_WALK_MAX;
 * allocates from ar. */
typedef uint32_t (*authz_rights_fn)(idn_rtxn_t *t, idn_arena_t *ar,
				    const idn_msg_t *m, idn_bytes_t admin,
				    uint32_t aidx, const char **why);

/* CREATE: add-identifier on the prefix handle 0.NA/<prefix>; with the
 * overwrite flag over an existing record, also delete-identifier on that
 * record (replacing it takes it from its admins). */
uint32_t authz_rights_create(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx,
			     const char **why);
/* ADD_VALUE: add-value (add-admin for an HS_ADMIN); with the overwrite
 * flag, a value it replaces needs modify-value, or modify-admin for an
 * HS_ADMIN (and remove-admin when no HS_ADMIN replaces it). */
uint32_t authz_rights_add(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			  idn_bytes_t admin, uint32_t aidx, const char **why);
/* MODIFY_VALUE: modify-value; modify-admin when an HS_ADMIN is changed or
 * written, and remove-admin when one becomes another type. */
uint32_t authz_rights_modify(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx,
			     const char **why);
/* REMOVE_VALUE: remove-value, remove-admin for an HS_ADMIN. */
uint32_t authz_rights_remove(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx,
			     const char **why);
/* DELETE: delete-identifier on the record. */
uint32_t authz_rights_delete(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx,
			     const char **why);
/* LIST: list on the prefix handle. */
uint32_t authz_rights_list(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			   idn_bytes_t admin, uint32_t aidx, const char **why);
/* HOME, UNHOME: add-prefix, delete-prefix on the prefix handle. */
uint32_t authz_rights_home(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			   idn_bytes_t admin, uint32_t aidx, const char **why);
uint32_t authz_rights_unhome(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			     idn_bytes_t admin, uint32_t aidx,
			     const char **why);
/* No HS_ADMIN right covers the op (LIST_HOMED): refused as malformed (4)
 * for every admin. */
uint32_t authz_rights_none(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
			   idn_bytes_t admin, uint32_t aidx, const char **why);

/* Is type HS_ADMIN, in any case? */
bool authz_is_admin_type(idn_bytes_t type);

/* Is the admin (admin, aidx) a reader of the record whose nvalues encoded
 * values are blob: does one of its HS_ADMIN values with the read-value bit
 * (0x400) name the admin, directly or through HS_VLIST groups (past
 * AUTHZ_WALK_MAX members: no)? Such a reader sees the record's values that
 * admins may read (0x8) though the public may not. Allocates from ar. */
bool authz_may_read(idn_rtxn_t *t, idn_arena_t *ar, idn_bytes_t blob,
		    uint32_t nvalues, idn_bytes_t admin, uint32_t aidx);

/* ---- sessions (op 400 setup, 401 terminate) ----
 * docs/architecture.md, "Sessions". A session is named by its id in the
 * envelope. Two kinds:
 * - keyed (a key exchange in the setup, as HANDLE.NET has them): set up
 *   over UDP or TCP by anyone, it holds the session key and lives for its
 *   lifetime, whatever connection its requests come on, but only for its
 *   source network; its requests must carry the key's MAC. The admin it
 *   runs as is bound by the first challenge answered in it (and must be
 *   the identity the setup named, if any).
 * - connection-bound (setup without a key exchange, idnode's own, or a
 *   login): the admin is known when it opens, and it serves only the TCP
 *   connection it was opened on (named by its handler, owner, and the
 *   handler's id for it, conn, never 0), until that closes.
 * Both end with their lifetime or op 401. At most AUTHZ_SESSIONS_MAX live
 * in all and AUTHZ_SESSIONS_NET_MAX keyed ones per source network; a new
 * keyed session over a cap takes the place of the oldest keyed one no
 * admin was bound to yet (set up and never used, or spoofed), or is
 * refused when there is none. */
#define AUTHZ_SESSIONS_MAX 4096
#define AUTHZ_SESSIONS_NET_MAX 256

/* Response code for a session id that is unknown, expired or belongs to
 * another connection or network (the protocol's session timeout). */
#define AUTHZ_RC_SESSION_TIMEOUT 500
/* Response code for a session setup the node cannot do (session failed). */
#define AUTHZ_RC_SESSION_FAILED 501

/* The admin a session authenticated; admin points into the caller's copy
 * (name). */
typedef struct {
	uint8_t name[IDN_IDENT_MAX];
	idn_bytes_t admin;
	uint32_t index;
} authz_who_t;

/* What a request may use of the session it names: the admin it runs as
 * (bound false: none yet) and, keyed, the session key. */
typedef struct {
	authz_who_t who;
	bool bound;
	bool keyed;
	bool conn_bound; /* of one TCP connection (else of a network) */
	int cipher;	 /* IDN_SCIPHER_* of the key */
	size_t key_len;
	uint8_t key[IDN_SKEY_MAX];
} authz_sess_t;

/* Opens a connection-bound session for (admin, index) on connection
 * (owner, conn) for lifetime seconds. Returns 0 with its id, -EBUSY when
 * too many are open, IDN_ETOOLONG for an over-long admin, -ENOMEM.
 * Thread-safe. */
int authz_session_open(authz_t *a, const void *owner, uint64_t conn,
		       idn_bytes_t admin, uint32_t index, uint32_t lifetime,
		       uint32_t *id);

/* Opens a keyed session set up from peer: key (key_len bytes of cipher),
 * the identity (admin, index) the setup named (empty: any), lifetime
 * seconds. Returns 0 with its id, -EBUSY when the node holds too many
 * bound ones, -EUSERS when peer's network does, IDN_ETOOLONG, IDN_EINVAL for a
 * key over IDN_SKEY_MAX bytes, -ENOMEM. Thread-safe. */
int authz_session_new(authz_t *a, const struct sockaddr_storage *peer,
		      idn_bytes_t key, int cipher, idn_bytes_t identity,
		      uint32_t index, uint32_t lifetime, uint32_t *id);

/* The CPU of a Diffie-Hellman setup with a p of bits, charged to peer's
 * network like a challenge answer's (authz_check_answer): 0, or
 * IDN_RC_TOO_BUSY with *why set. authz_dh_done after the work. */
uint32_t authz_dh_charge(authz_t *a, const struct sockaddr_storage *peer,
			 int bits, const char **why);
void authz_dh_done(authz_t *a, const struct sockaddr_storage *peer, int bits);

/* Copies what a request from peer on connection (owner, conn; 0: none)
 * may use of live session id into *out. Returns 0, IDN_ENOTFOUND (none,
 * expired, or connection-bound to another connection) or IDN_EAUTH (keyed,
 * set up from another network). Thread-safe. */
int authz_session_find(authz_t *a, uint32_t id,
		       const struct sockaddr_storage *peer, const void *owner,
		       uint64_t conn, authz_sess_t *out);

/* Binds keyed session id to the admin (admin, index) who answered a
 * challenge in it. Returns 0 (also when bound to that admin already),
 * IDN_ENOTFOUND, or IDN_EAUTH when it is bound to, or was set up for,
 * another admin. Thread-safe. */
int authz_session_bind(authz_t *a, uint32_t id, idn_bytes_t admin,
		       uint32_t index);

/* Records that keyed session id saw MAC counter ctr. Returns 0, or
 * IDN_EEXISTS for a counter seen before or 64 or more below the highest
 * seen (a replay), IDN_ENOTFOUND. Thread-safe. */
int authz_session_counter(authz_t *a, uint32_t id, uint32_t ctr);

/* Copies the admin of live connection-bound session id on (owner, conn)
 * into *who. Returns 0 or IDN_ENOTFOUND. Thread-safe. */
int authz_session_get(authz_t *a, uint32_t id, const void *owner, uint64_t conn,
		      authz_who_t *who);

/* Ends session id: a connection-bound one on (owner, conn), a keyed one
 * from peer's network. Returns 0 or IDN_ENOTFOUND. */
int authz_session_end(authz_t *a, uint32_t id, const void *owner,
		      uint64_t conn);
int authz_session_close(authz_t *a, uint32_t id,
			const struct sockaddr_storage *peer, const void *owner,
			uint64_t conn);

/* Ends every session bound to a connection that closes. */
void authz_conn_closed(authz_t *a, const void *owner, uint64_t conn);

/* ---- sessions whose id the client chose (op 2001 login, login.c) ----
 * The national system's client (IDIS SDK) names its session id itself
 * before it logs in, counting from 1 in every process: the same id may
 * be open on many connections, each its own session. A request finds
 * only the session of its own connection (authz_session_get), so an id
 * presented on another connection, however it was learnt, proves
 * nothing. */

/* Opens session id (not 0) for (admin, index) on connection (owner,
 * conn), replacing one of the same id on that connection (whose session
 * key, if it has one, the new session keeps). Returns 0,
 * IDN_EINVAL (id 0), IDN_ETOOLONG, -EBUSY (too many open), -ENOMEM.
 * Thread-safe. */
int authz_session_open_as(authz_t *a, const void *owner, uint64_t conn,
			  idn_bytes_t admin, uint32_t index, uint32_t lifetime,
			  uint32_t id);

/* Opens session id (not 0) of connection (owner, conn) with key (key_len
 * bytes of cipher) and no admin yet: the national SDK's encrypted session,
 * set up before its login (session.c), which binds the admin and keeps
 * the key (authz_session_open_as). Replaces one of the same id on that
 * connection. Returns 0, IDN_EINVAL, -EBUSY, -ENOMEM. Thread-safe. */
int authz_session_key_as(authz_t *a, const void *owner, uint64_t conn,
			 idn_bytes_t key, int cipher, uint32_t lifetime,
			 uint32_t id);

/* Copies the key of the newest keyed session of connection (owner, conn)
 * into *out: an encrypted challenge answer names the challenge, not the
 * session whose key encrypts it (the national SDK's login, handler.c).
 * Returns 0 or IDN_ENOTFOUND. Thread-safe. */
int authz_session_conn_keyed(authz_t *a, const void *owner, uint64_t conn,
			     authz_sess_t *out);

/* A resolution token's signature check (login.c) is priced like a
 * challenge answer's (authz_pubkey_cost) and charged to peer's network:
 * 0, or IDN_RC_TOO_BUSY with *why set when over its budget. A check that
 * was charged ends with authz_charge_done and the same cost.
 * Thread-safe. */
uint32_t authz_token_charge(authz_t *a, const struct sockaddr_storage *peer,
			    uint64_t cost, const char **why);

#endif
