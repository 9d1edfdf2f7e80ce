/* Request processing shared by every transport: one Handle message in, its
 * reply message(s) out through an emit callback. A handler belongs to one
 * thread; it owns a recycled read transaction, an arena and an output
 * buffer, so the read path takes no lock and allocates nothing per
 * request once warm. */
#ifndef IDN_NODE_HANDLER_H
#define IDN_NODE_HANDLER_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activity.h"
#include "arena.h"
#include "audit.h"
#include "cache.h"
#include "config.h"
#include "principal.h"
#include "reqlat.h"
#include "ident.h"
#include "resolver.h"
#include "store.h"

/* Receives one complete reply frame (envelope + message). Returns 0, or
 * non-zero to abandon the rest of a multi-message reply. */
typedef int (*emit_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Counters of one handler; only its thread writes them (relaxed atomics,
 * so the stats operation may read them from another thread). */
typedef struct {
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t resolutions;
	atomic_uint_fast64_t not_found;
	atomic_uint_fast64_t referrals;
	atomic_uint_fast64_t recursive; /* answered by the recursive role */
	atomic_uint_fast64_t upstream;	/* queries sent to other nodes */
	atomic_uint_fast64_t errors;	/* protocol errors, malformed input */
	atomic_uint_fast64_t writes;
	atomic_uint_fast64_t rrl_dropped; /* UDP queries over the rate limit */
	atomic_uint_fast64_t rrl_slipped; /* ... answered truncated instead */
	atomic_uint_fast64_t tcp_refused; /* connections over a cap */
	/* writes whose commit may or may not have happened (the store lost
	 * its connection during it) */
	atomic_uint_fast64_t outcome_unknown;
	reqlat_t lat[REQLAT_TRANSPORTS]; /* by transport_t */
} handler_stats_t;

typedef struct handler handler_t;

/* What every handler of a node shares. */
typedef struct {
	const node_conf_t *conf;
	idn_store_t *store;
	idn_store_t *primary; /* PostgreSQL with replicas: the primary alone,
			       * for reads flagged authoritative; else NULL */
	idn_cache_t *cache;   /* recursive nodes only, else NULL */
	uint8_t *site;	      /* this node's HS_SITE (GET_SITE_INFO) */
	size_t site_len;
	const char *roots[CONF_MAX_LISTEN]; /* root hints of the resolvers */
	uint8_t *parent_refer; /* encoded values of the parent referral */
	size_t parent_len;
	EVP_PKEY *key;	 /* the site key: signs certified replies */
	int min_hash;	 /* min-auth-hash (nego.h IDN_HASH_RANK_*) */
	uint8_t *pubkey; /* its HS_PUBKEY data, in the site */
	size_t pubkey_len;
	struct authz *authz;	  /* pending challenges (authz.h) */
	pthread_mutex_t lock;	  /* guards handlers and retired */
	handler_t *handlers;	  /* every live handler, for the stats */
	handler_stats_t retired;  /* counts of handlers that have ended */
	act_counts_t act_retired; /* their activity by industry, region */
	/* reloads the configuration (reload.h) for the reload op: returns
	 * 0 with its JSON report in json, or -1 with a message; NULL when
	 * the node cannot reload */
	int (*reload)(void *ctx, char *json, size_t cap);
	void *reload_ctx;
	/* the audit log (audit.h), or NULL when none is configured: then
	 * nothing is done for it on any path */
	audit_t *audit;
} node_ctx_t;

/* Sets up the shared context: the cache of a recursive node, this node's
 * site and the parent referral. primary (may be NULL) is the store's
 * primary alone, read for requests flagged authoritative. Returns 0 or -1 after
 * logging why. */
int node_ctx_init(node_ctx_t *n, const node_conf_t *conf, idn_store_t *s,
		  idn_store_t *primary);
void node_ctx_fini(node_ctx_t *n);

/* The counters of every handler of n, live and ended, summed into out
 * (latency histograms merged). Takes n->lock. */
void node_stats_sum(node_ctx_t *n, handler_stats_t *out);

struct handler {
	node_ctx_t *node;
	const node_conf_t *conf;
	idn_store_t *store;
	idn_rtxn_t *rtxn;
	bool snapshot;	   /* rtxn holds a live snapshot */
	idn_rtxn_t *prtxn; /* on node->primary, when there is one */
	bool psnapshot;
	bool blocking; /* may wait on other nodes (recursive resolution) */
	idn_resolver_t *resolver; /* blocking handlers of recursive nodes */
	idn_arena_t arena;
	uint8_t *out;	  /* IDN_ENV_LEN + IDN_MSG_MAX + IDN_SKEY_OVERHEAD */
	uint8_t *dec;	  /* IDN_ENV_LEN + IDN_MSG_MAX: a decrypted request,
			   * allocated at the first */
	uint8_t *scratch; /* IDN_MSG_MAX: cached answers */
	uint32_t now;
	/* the library error the last request since handler_begin was
	 * answered with (reply_lib_error), 0 if none: the HTTP plane maps
	 * it to a status the response code alone cannot tell */
	int lib_err;
	idn_ident_t id;
	/* where the last prefix looked up lives (handler.c locate), kept
	 * while the snapshot is the same (snap: idn_rtxn_snapshot), also
	 * across batches: the requests are mostly under one prefix (len 0:
	 * nothing kept) */
	struct {
		uint64_t snap;
		size_t len;
		int loc;
		size_t at;
		idn_record_t deleg; /* points into the snapshot */
		uint8_t prefix[256];
	} loc;
	handler_stats_t stats;
	activity_t *act; /* by industry and region (activity.h) */
	bool redo;	 /* processing a deferred request: counted already */
	uint64_t conn;	 /* the TCP connection being served (its worker's id for
			  * it), 0 for other transports: sessions (authz.h) */
	const void *owner; /* whose id conn is: this handler, or the worker
			    * whose request a blocking handler runs */
	/* group commit of bulk creates (ctlgroup.h): while set, bulk creates
	 * write into this transaction and leave the commit to the caller; a
	 * bulk create that would have aborted its own transaction aborts
	 * this one instead, clears it and sets group_broken */
	idn_wtxn_t *group;
	bool group_broken;
	uint64_t group_created; /* records created in the group */
	/* the audit lines of a group's bulk creates, written once it has
	 * committed (handler_audit_group) */
	audit_buf_t audit_pend;
	handler_t *next; /* in node->handlers */
};

/* blocking: the handler may resolve recursively itself (resolver and
 * control threads); otherwise such requests are deferred. */
int handler_init(handler_t *h, node_ctx_t *node, bool blocking);
void handler_fini(handler_t *h);

/* Takes a fresh read snapshot and clock for a batch of requests. */
int handler_begin(handler_t *h);
/* Releases the snapshot and the arena after the batch's replies are sent. */
void handler_end(handler_t *h);

/* handler_process's answer for a request that needs a recursive resolution
 * or may write (a challenge answer, an admin request in a session: writes
 * commit durably, which would stall the worker's other clients) on a
 * non-blocking handler: hand the frame to a blocking one. */
#define HANDLER_DEFER (-2)

/* Processes one frame (envelope + message, len bytes) from the caller
 * from: its op table row (optable.h) decides. An op whose minimum is the
 * operator runs for the operator (the control socket, whose file
 * permissions are the access control, and the HTTP admin) and is refused
 * to anyone else; an administrative op from an anonymous caller is
 * challenged, or runs in the caller's authenticated session (authz.h),
 * once the rights the row names pass. The transport decides framing
 * only. Returns the number of reply frames emitted (0: the input was
 * dropped) or HANDLER_DEFER. Frames point into h->out and are valid
 * during the emit call only. */
int handler_process(handler_t *h, const uint8_t *frame, size_t len,
		    const caller_t *from, emit_fn emit, void *ctx);

/* Ends the audit lines a group of bulk creates gathered: written as one
 * when committed, dropped when not (the batches run again alone and write
 * their own). */
void handler_audit_group(handler_t *h, bool committed);

/* Answers a request of caller from with rc 3 (too busy), e.g. when
 * deferred work cannot be queued. */
void handler_busy(handler_t *h, const uint8_t *frame, size_t len,
		  const caller_t *from, emit_fn emit, void *ctx);

/* Answers a request with the reply of library error err (as a handler
 * would had the store returned it), e.g. to each request of a group
 * whose shared commit failed. */
void handler_fail(handler_t *h, const uint8_t *frame, size_t len,
		  const caller_t *from, int err, emit_fn emit, void *ctx);

#endif
