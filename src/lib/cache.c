#include "cache.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct entry {
	struct entry *hnext;	   /* hash chain */
	struct entry *prev, *next; /* LRU list, most recent first */
	uint64_t hash;
	uint64_t expires_ms;
	uint32_t klen, dlen;
	uint32_t rc, nvalues;
	int kind;
	uint8_t bytes[]; /* key then data */
} entry_t;

typedef struct {
	pthread_mutex_t lock;
	entry_t **buckets;
	size_t nbuckets; /* power of two */
	size_t entries;
	size_t bytes;
	entry_t *head, *tail;
	uint64_t hits, misses, inserts, evictions, expired;
	char pad[64]; /* keep neighbouring shards' locks off one cache line */
} shard_t;

struct idn_cache {
	idn_cache_opts_t o;
	uint8_t sipkey[16];
	unsigned nshards;
	size_t shard_budget;
	shard_t *shards;
};

/* ---- SipHash-2-4 (Aumasson & Bernstein). Written here because OpenSSL
 * offers it only through EVP_MAC, whose per-call context setup costs more
 * than hashing a short identifier. ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t idn_siphash(const uint8_t key[16], const uint8_t *data, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = le64(data + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)data[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- cache ---- */

static size_t entry_size(const entry_t *e)
{
	return sizeof(*e) + e->klen + e->dlen;
}

int idn_cache_new(const idn_cache_opts_t *o, idn_cache_t **out)
{
	idn_cache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->o = *o;
	if (c->o.max_bytes == 0)
		c->o.max_bytes = 256u << 20;
	if (c->o.max_ttl == 0)
		c->o.max_ttl = 86400;
	if (c->o.neg_ttl == 0)
		c->o.neg_ttl = 60;
	unsigned n = 1;
	while (n < (c->o.shards ? c->o.shards : 64) && n < 65536)
		n <<= 1;
	c->nshards = n;
	c->shard_budget = c->o.max_bytes / n;
	if (RAND_bytes(c->sipkey, sizeof(c->sipkey)) != 1) {
		free(c);
		return IDN_EINVAL;
	}
	c->shards = calloc(n, sizeof(shard_t));
	if (c->shards == NULL) {
		free(c);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		shard_t *s = &c->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->nbuckets = 64;
		s->buckets = calloc(s->nbuckets, sizeof(entry_t *));
		if (s->buckets == NULL) {
			c->nshards = i + 1;
			idn_cache_free(c);
			return -ENOMEM;
		}
	}
	*out = c;
	return 0;
}

void idn_cache_free(idn_cache_t *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->nshards; i++) {
		shard_t *s = &c->shards[i];
		entry_t *e = s->head;
		while (e != NULL) {
			entry_t *next = e->next;
			free(e);
			e = next;
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

static shard_t *shard_of(idn_cache_t *c, uint64_t h)
{
	/* the top bits pick the shard, the low bits the bucket */
	return &c->shards[(h >> 48) & (c->nshards - 1)];
}

static void lru_unlink(shard_t *s, entry_t *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(shard_t *s, entry_t *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head)
		s->head->prev = e;
	s->head = e;
	if (s->tail == NULL)
		s->tail = e;
}

static entry_t **find_slot(shard_t *s, uint64_t h, const uint8_t *key,
			   size_t klen)
{
	entry_t **pp = &s->buckets[h & (s->nbuckets - 1)];
	while (*pp != NULL) {
		entry_t *e = *pp;
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->bytes, key, klen) == 0)
			return pp;
		pp = &e->hnext;
	}
	return pp;
}

/* Removes e, already found at *pp, from the shard and frees it. */
static void drop(shard_t *s, entry_t **pp)
{
	entry_t *e = *pp;
	*pp = e->hnext;
	lru_unlink(s, e);
	s->entries--;
	s->bytes -= entry_size(e);
	free(e);
}

static void drop_entry(shard_t *s, entry_t *e)
{
	entry_t **pp = find_slot(s, e->hash, e->bytes, e->klen);
	if (*pp == e)
		drop(s, pp);
}

static void grow(shard_t *s)
{
	size_t n = s->nbuckets * 2;
	entry_t **nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nbuckets; i++) {
		entry_t *e = s->buckets[i];
		while (e != NULL) {
			entry_t *next = e->hnext;
			size_t b = e->hash & (n - 1);
			e->hnext = nb[b];
			nb[b] = e;
			e = next;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

int idn_cache_put(idn_cache_t *c, const uint8_t *key, size_t klen, int kind,
		  uint32_t rc, uint32_t nvalues, const uint8_t *data,
		  size_t dlen, uint32_t ttl, uint64_t now_ms)
{
	if (kind == IDN_CACHE_NEGATIVE) {
		ttl = c->o.neg_ttl;
		dlen = 0;
	} else if (ttl > c->o.max_ttl) {
		ttl = c->o.max_ttl;
	}
	if (ttl == 0)
		return 0;
	if (klen > UINT32_MAX || dlen > UINT32_MAX ||
	    sizeof(entry_t) + klen + dlen > c->shard_budget)
		return IDN_ETOOLONG;
	entry_t *e = malloc(sizeof(*e) + klen + dlen);
	if (e == NULL)
		return -ENOMEM;
	e->hash = idn_siphash(c->sipkey, key, klen);
	e->expires_ms = now_ms + (uint64_t)ttl * 1000;
	e->klen = (uint32_t)klen;
	e->dlen = (uint32_t)dlen;
	e->rc = rc;
	e->nvalues = nvalues;
	e->kind = kind;
	memcpy(e->bytes, key, klen);
	if (dlen)
		memcpy(e->bytes + klen, data, dlen);
	shard_t *s = shard_of(c, e->hash);
	pthread_mutex_lock(&s->lock);
	entry_t **pp = find_slot(s, e->hash, key, klen);
	if (*pp != NULL)
		drop(s, pp);
	pp = &s->buckets[e->hash & (s->nbuckets - 1)];
	e->hnext = *pp;
	*pp = e;
	lru_push(s, e);
	s->entries++;
	s->bytes += entry_size(e);
	s->inserts++;
	while (s->bytes > c->shard_budget && s->tail != NULL && s->tail != e) {
		drop_entry(s, s->tail);
		s->evictions++;
	}
	if (s->entries > s->nbuckets)
		grow(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int idn_cache_get(idn_cache_t *c, const uint8_t *key, size_t klen,
		  uint64_t now_ms, uint8_t *buf, size_t cap,
		  idn_cache_hit_t *out)
{
	uint64_t h = idn_siphash(c->sipkey, key, klen);
	shard_t *s = shard_of(c, h);
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	entry_t **pp = find_slot(s, h, key, klen);
	entry_t *e = *pp;
	if (e == NULL) {
		s->misses++;
		rc = IDN_ENOTFOUND;
	} else if (e->expires_ms <= now_ms) {
		drop(s, pp);
		s->expired++;
		s->misses++;
		rc = IDN_ENOTFOUND;
	} else {
		out->kind = e->kind;
		out->rc = e->rc;
		out->nvalues = e->nvalues;
		out->ttl_left =
			(uint32_t)((e->expires_ms - now_ms + 999) / 1000);
		out->len = e->dlen;
		if (e->dlen > cap) {
			rc = IDN_ETOOLONG;
		} else {
			if (e->dlen)
				memcpy(buf, e->bytes + e->klen, e->dlen);
			if (s->head != e) {
				lru_unlink(s, e);
				lru_push(s, e);
			}
			s->hits++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static bool in_prefix(const entry_t *e, const uint8_t *p, size_t plen)
{
	const uint8_t *k = e->bytes;
	if (e->klen > plen && k[plen] == '/' && memcmp(k, p, plen) == 0)
		return true;
	return e->klen == plen + 5 && memcmp(k, "0.NA/", 5) == 0 &&
	       memcmp(k + 5, p, plen) == 0;
}

size_t idn_cache_flush(idn_cache_t *c, const uint8_t *prefix, size_t plen)
{
	size_t n = 0;
	for (unsigned i = 0; i < c->nshards; i++) {
		shard_t *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		entry_t *e = s->head;
		while (e != NULL) {
			entry_t *next = e->next;
			if (plen == 0 || in_prefix(e, prefix, plen)) {
				drop_entry(s, e);
				n++;
			}
			e = next;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

void idn_cache_stats(idn_cache_t *c, idn_cache_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < c->nshards; i++) {
		shard_t *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		out->hits += s->hits;
		out->misses += s->misses;
		out->inserts += s->inserts;
		out->evictions += s->evictions;
		out->expired += s->expired;
		out->entries += s->entries;
		out->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}
