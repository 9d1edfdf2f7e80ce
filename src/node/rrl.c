#include "rrl.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h" /* idn_siphash */
#include "netlimit.h"

#define SLOTS 16384 /* per worker; a power of two */

typedef struct {
	uint8_t key[17]; /* family byte + masked address */
	bool used;
	uint32_t limited; /* responses limited in a row, for slip */
	uint64_t tokens;  /* milli-tokens */
	uint64_t last_ms;
} bucket_t;

struct rrl {
	uint32_t rate, burst, slip;
	uint8_t sipkey[16];
	bucket_t slots[SLOTS];
};

rrl_t *rrl_new(uint32_t rate, uint32_t burst, uint32_t slip)
{
	if (rate == 0)
		return NULL;
	rrl_t *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->rate = rate;
	r->burst = burst ? burst : rate;
	r->slip = slip;
	if (RAND_bytes(r->sipkey, sizeof(r->sipkey)) != 1) {
		free(r);
		return NULL;
	}
	return r;
}

void rrl_free(rrl_t *r)
{
	free(r);
}

int rrl_check(rrl_t *r, const struct sockaddr_storage *src, uint64_t now_ms)
{
	if (r == NULL)
		return RRL_PASS;
	netkey_t nk;
	netkey_rrl(src, &nk);
	const uint8_t *key = nk.b;
	bucket_t *b = &r->slots[idn_siphash(r->sipkey, key, sizeof(nk.b)) &
				(SLOTS - 1)];
	if (!b->used || memcmp(b->key, key, sizeof(b->key)) != 0) {
		/* a new network (or a colliding one takes the slot over) */
		memcpy(b->key, key, sizeof(b->key));
		b->used = true;
		b->tokens = (uint64_t)r->burst * 1000;
		b->limited = 0;
		b->last_ms = now_ms;
	}
	uint64_t cap = (uint64_t)r->burst * 1000;
	b->tokens += (now_ms - b->last_ms) * r->rate;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last_ms = now_ms;
	if (b->tokens >= 1000) {
		b->tokens -= 1000;
		b->limited = 0;
		return RRL_PASS;
	}
	b->limited++;
	return r->slip != 0 && b->limited % r->slip == 0 ? RRL_SLIP : RRL_DROP;
}

void rrl_charge(rrl_t *r, const struct sockaddr_storage *src, uint32_t n)
{
	if (r == NULL || n == 0)
		return;
	netkey_t nk;
	netkey_rrl(src, &nk);
	bucket_t *b = &r->slots[idn_siphash(r->sipkey, nk.b, sizeof(nk.b)) &
				(SLOTS - 1)];
	if (!b->used || memcmp(b->key, nk.b, sizeof(b->key)) != 0)
		return;
	uint64_t cost = (uint64_t)n * 1000;
	b->tokens = b->tokens > cost ? b->tokens - cost : 0;
}
