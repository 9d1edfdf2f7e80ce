/* Iterative resolution across the identifier hierarchy (docs/architecture.md,
 * Hierarchy).
 *
 * Starting at the most specific delegation in the cache, or at the root
 * hints, the resolver asks for the identifier itself and follows prefix and
 * service referrals (303/302) down the levels. A level that answers 301 (not
 * responsible, as HANDLE.NET servers and the Global Handle Registry do) is
 * asked for the prefix handle 0.NA/<prefix>, up the derived-prefix chain,
 * whose HS_SITE values (or those of the service handles its HS_SERV values
 * name, or, for a derived prefix, the HS_SITE.PREFIX sites of its parent)
 * give the next level. Values are kept in index order whatever order a
 * server sends them in. Inside a delegated site the
 * server is picked by the site hash (docs/architecture.md, Hierarchy); a server
 * that does not answer is retried with backoff and then abandoned for the next
 * server or mirror site. Every referral must be strictly more specific than the
 * one before and cover the identifier's prefix, and there are at most
 * max_referrals of them, so loops and over-long chains end with an error, not a
 * hang.
 *
 * A resolver does blocking network I/O and owns its buffers: one per
 * thread. The cache it uses is shared and thread-safe. */
#ifndef IDN_RESOLVER_H
#define IDN_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "ident.h"
#include "value.h"
#include "wire.h"

typedef struct idn_resolver idn_resolver_t;

typedef struct {
	const char *const *roots; /* root hints, "HOST:PORT" */
	unsigned nroots;
	idn_cache_t *cache;	/* NULL: no caching */
	int timeout_ms;		/* per server, backoff inside; 0: 500 */
	unsigned max_referrals; /* 0: 8 */
	unsigned ident_flags;	/* idn_ident_parse flags of this node */
} idn_resolver_opts_t;

typedef struct {
	uint32_t rc; /* 1, 100, or an error code (6, 301, upstream's) */
	uint32_t nvalues;
	idn_bytes_t values; /* rc 1: encoded values; valid until next call */
	uint32_t ttl;	    /* seconds the answer may be kept */
	bool from_cache;
	unsigned queries; /* upstream queries this resolution sent */
	char detail[200]; /* for errors: what went wrong, for the client */
} idn_resolution_t;

/* Called for every upstream answer (or failure) when tracing. */
typedef void (*idn_trace_fn)(void *ctx, const char *server, const char *ident,
			     uint32_t rc, const char *detail);

/* Returns 0, IDN_EINVAL (no root hints) or -ENOMEM. The opts strings must
 * outlive the resolver. */
int idn_resolver_new(const idn_resolver_opts_t *o, idn_resolver_t **out);
void idn_resolver_free(idn_resolver_t *r);

/* Resolves id (all values). rcount is the recursion count of the request
 * being served (a chain of recursive nodes stops at max_referrals).
 * Returns 0 with the outcome in out (out->rc says whether it was found);
 * a negative error only for local failures (-ENOMEM). */
int idn_resolve(idn_resolver_t *r, const idn_ident_t *id, uint8_t rcount,
		idn_resolution_t *out, idn_trace_fn trace, void *ctx);

/* Picks the server of a site for an identifier by the site hash
 * (docs/architecture.md, Hierarchy): MD5 of the upper-cased prefix, suffix or
 * whole identifier (the site's hash option), the last 4 bytes as a signed
 * 32-bit big-endian integer, its absolute value modulo the number of servers.
 */
uint32_t idn_site_pick(const idn_hs_site_t *site, const idn_ident_t *id);

/* Formats a site server's address with the port of its first query
 * interface of the given protocol ("1.2.3.4:2641" or "[::1]:2641").
 * Returns 0, or IDN_ENOTFOUND when the server has no such interface. */
int idn_site_server_addr(const idn_hs_server_t *s, uint8_t proto, char *out,
			 size_t cap);

/* Milliseconds of a monotonic clock. */
uint64_t idn_now_ms(void);

#endif
