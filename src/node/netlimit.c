#include "netlimit.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h" /* idn_siphash */

/* The family and the first v4len (IPv4) or v6len (IPv6) address bytes of
 * peer; the rest of the key stays zero. */
static void netkey_prefix(const struct sockaddr_storage *peer, netkey_t *k,
			  size_t v4len, size_t v6len)
{
	memset(k, 0, sizeof(*k));
	if (peer == NULL)
		return;
	k->b[0] = (uint8_t)peer->ss_family;
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)peer;
		memcpy(k->b + 1, &v4->sin_addr, v4len);
	} else if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const void *)peer;
		memcpy(k->b + 1, &v6->sin6_addr, v6len);
	}
}

void netkey_of(const struct sockaddr_storage *peer, netkey_t *k)
{
	netkey_prefix(peer, k, 3, 7); /* /24, /56 */
}

void netkey_rrl(const struct sockaddr_storage *peer, netkey_t *k)
{
	netkey_prefix(peer, k, 3, 8); /* /24, /64: NSD's rrl prefix lengths */
}

void netkey_addr(const struct sockaddr_storage *peer, netkey_t *k)
{
	netkey_prefix(peer, k, 4, 16);
}

bool netkey_eq(const netkey_t *a, const netkey_t *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

#define COST_SLOTS 4096 /* a power of two */

typedef struct {
	netkey_t key;
	bool used;
	bool running;	 /* an expensive check of this network runs */
	uint64_t tokens; /* cost units */
	uint64_t last_ms;
} cost_bucket_t;

struct netcost {
	pthread_mutex_t lock;
	uint64_t rate, burst;
	uint8_t sipkey[16];
	cost_bucket_t slots[COST_SLOTS];
};

netcost_t *netcost_new(uint64_t rate, uint64_t burst)
{
	if (rate == 0)
		return NULL;
	netcost_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (RAND_bytes(c->sipkey, sizeof(c->sipkey)) != 1) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->rate = rate;
	c->burst = burst > rate ? burst : rate;
	return c;
}

void netcost_free(netcost_t *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The bucket of k; a network new to its slot takes it over (a collision
 * gives the newcomer a full bucket, as the response rate limit does). */
static cost_bucket_t *bucket(netcost_t *c, const netkey_t *k, uint64_t now)
{
	cost_bucket_t *b =
		&c->slots[idn_siphash(c->sipkey, k->b, sizeof(k->b)) &
			  (COST_SLOTS - 1)];
	if (!b->used || !netkey_eq(&b->key, k)) {
		b->key = *k;
		b->used = true;
		b->running = false;
		b->tokens = c->burst;
		b->last_ms = now;
	}
	return b;
}

int netcost_take(netcost_t *c, const struct sockaddr_storage *peer,
		 uint64_t cost, uint64_t now_ms)
{
	if (c == NULL)
		return 0;
	netkey_t k;
	netkey_of(peer, &k);
	int rc = -1;
	pthread_mutex_lock(&c->lock);
	cost_bucket_t *b = bucket(c, &k, now_ms);
	b->tokens += (now_ms - b->last_ms) * c->rate / 1000;
	if (b->tokens > c->burst)
		b->tokens = c->burst;
	b->last_ms = now_ms;
	bool expensive = cost >= NETCOST_CHEAP;
	if (b->tokens >= cost && !(expensive && b->running)) {
		b->tokens -= cost;
		if (expensive)
			b->running = true;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void netcost_done(netcost_t *c, const struct sockaddr_storage *peer,
		  uint64_t cost)
{
	if (c == NULL || cost < NETCOST_CHEAP)
		return;
	netkey_t k;
	netkey_of(peer, &k);
	pthread_mutex_lock(&c->lock);
	cost_bucket_t *b = &c->slots[idn_siphash(c->sipkey, k.b, sizeof(k.b)) &
				     (COST_SLOTS - 1)];
	if (b->used && netkey_eq(&b->key, &k))
		b->running = false;
	pthread_mutex_unlock(&c->lock);
}
