/* Response rate limiting for UDP (as DNS servers do against reflection
 * and amplification): a token bucket per source network — /24 for IPv4,
 * /64 for IPv6, NSD's defaults — refilled at `rate` responses a second up to
 * `burst`; a response of several datagrams costs one token each. Over the
 * limit a response is dropped, except every `slip`-th, which is answered with
 * a short error (rc 3) so that a real client retries over TCP (where spoofing
 * is impossible). One instance per worker thread: no locking. */
#ifndef IDN_NODE_RRL_H
#define IDN_NODE_RRL_H

#include <stdint.h>
#include <sys/socket.h>

typedef struct rrl rrl_t;

enum { RRL_PASS = 0, RRL_DROP = 1, RRL_SLIP = 2 };

/* rate 0 disables limiting (rrl_new returns NULL, and rrl_check on NULL
 * passes everything). slip 0 never slips. Returns NULL on no memory too;
 * the caller tells the two apart by rate. */
rrl_t *rrl_new(uint32_t rate, uint32_t burst, uint32_t slip);
void rrl_free(rrl_t *r);

/* Accounts one response to src at now_ms (monotonic) and says what to do
 * with it. */
int rrl_check(rrl_t *r, const struct sockaddr_storage *src, uint64_t now_ms);

/* Takes n more responses' worth from src's bucket (a reply of n + 1
 * datagrams costs n + 1), down to empty. */
void rrl_charge(rrl_t *r, const struct sockaddr_storage *src, uint32_t n);

#endif
