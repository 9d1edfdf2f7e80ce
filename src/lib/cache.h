/* The resolution cache of a recursive node (docs/architecture.md, Hierarchy):
 * answers kept for their TTL (capped), "not found" kept for a short negative
 * TTL, and delegations (referrals) kept for theirs.
 *
 * Bounded memory: each of the power-of-two shards holds at most
 * max_bytes / shards bytes and evicts its least recently used entries
 * beyond that. Lookups and inserts lock one shard only, so workers rarely
 * contend; keys are hashed with SipHash-2-4 under a random per-cache key so
 * that clients cannot aim collisions at one bucket. */
#ifndef IDN_CACHE_H
#define IDN_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct idn_cache idn_cache_t;

typedef struct {
	size_t max_bytes; /* 0: 256 MiB */
	unsigned shards;  /* rounded up to a power of two; 0: 64 */
	uint32_t max_ttl; /* cap on positive TTLs, seconds; 0: 86400 */
	uint32_t neg_ttl; /* TTL of negative answers, seconds; 0: 60 */
} idn_cache_opts_t;

enum {
	IDN_CACHE_POSITIVE = 1, /* data: an identifier's encoded values */
	IDN_CACHE_NEGATIVE = 2, /* identifier not found; no data */
	IDN_CACHE_REFERRAL = 3, /* data: delegation values of a prefix */
};

typedef struct {
	int kind;    /* IDN_CACHE_* */
	uint32_t rc; /* response code stored with the entry */
	uint32_t nvalues;
	uint32_t ttl_left; /* seconds until expiry */
	size_t len;	   /* bytes of data copied out */
} idn_cache_hit_t;

typedef struct {
	uint64_t hits, misses, inserts, evictions, expired;
	uint64_t entries, bytes;
} idn_cache_stats_t;

/* Returns 0, IDN_EINVAL or -ENOMEM. */
int idn_cache_new(const idn_cache_opts_t *o, idn_cache_t **out);
void idn_cache_free(idn_cache_t *c);

/* Stores an entry under key (a normalised identifier or prefix), replacing
 * any earlier one. ttl is capped by max_ttl; negative entries use neg_ttl
 * whatever ttl says. A ttl of 0 stores nothing. now_ms is a monotonic
 * clock in milliseconds. The data is copied. Returns 0, -ENOMEM or
 * IDN_ETOOLONG (entry larger than one shard's budget). */
int idn_cache_put(idn_cache_t *c, const uint8_t *key, size_t klen, int kind,
		  uint32_t rc, uint32_t nvalues, const uint8_t *data,
		  size_t dlen, uint32_t ttl, uint64_t now_ms);

/* Looks key up. On a live hit copies the data into buf (cap bytes) and
 * returns 0; IDN_ENOTFOUND on a miss or an expired entry (which is then
 * dropped); IDN_ETOOLONG when cap is too small (out->len says how much is
 * needed). */
int idn_cache_get(idn_cache_t *c, const uint8_t *key, size_t klen,
		  uint64_t now_ms, uint8_t *buf, size_t cap,
		  idn_cache_hit_t *out);

/* Drops the entries of a prefix: keys "<prefix>/..." and the prefix handle
 * "0.NA/<prefix>" (plen 0: everything). Returns the number dropped. */
size_t idn_cache_flush(idn_cache_t *c, const uint8_t *prefix, size_t plen);

void idn_cache_stats(idn_cache_t *c, idn_cache_stats_t *out);

/* SipHash-2-4 of data under a 16-byte key. */
uint64_t idn_siphash(const uint8_t key[16], const uint8_t *data, size_t len);

#endif
