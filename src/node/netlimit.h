/* Abuse limits counted by source network: a client is one address, but an
 * attacker holds a network, so the limits that keep one sender from
 * starving the others (pending challenges, TCP connections, the CPU spent
 * checking challenge answers, the response rate limit) group peers by
 * their /24 (IPv4) or /56 (IPv6) network. docs/architecture.md, "Abuse
 * limits", lists them. */
#ifndef IDN_NODE_NETLIMIT_H
#define IDN_NODE_NETLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A source network: the family and the masked address. Peers without an
 * address (the control socket, NULL) share the all-zero key. */
typedef struct {
	uint8_t b[17];
} netkey_t;

/* The /24 or /56 network of peer (NULL: the all-zero key). */
void netkey_of(const struct sockaddr_storage *peer, netkey_t *k);

/* The network response-rate limiting counts a peer in: /24 (IPv4) and /64
 * (IPv6), NSD's rrl-ipv4-prefix-length and rrl-ipv6-prefix-length
 * defaults, so an IPv6 client that holds only its /64 is limited alone. */
void netkey_rrl(const struct sockaddr_storage *peer, netkey_t *k);

/* The peer's own address as a key (full length). */
void netkey_addr(const struct sockaddr_storage *peer, netkey_t *k);

bool netkey_eq(const netkey_t *a, const netkey_t *b);

/* The CPU a challenge answer may cost, per source network: a token bucket
 * of cost units (one unit is about one PBKDF2-HMAC-SHA1 iteration, ~2 µs)
 * refilled at rate a second up to burst, and at most one expensive check
 * (above NETCOST_CHEAP units) running at a time per network. Thread-safe. */
typedef struct netcost netcost_t;

/* Checks below this many units neither wait for nor hold the network's
 * running slot (HMACs, RSA-2048 signatures). */
#define NETCOST_CHEAP 1000

/* rate 0: no limit (netcost_new returns NULL; every call passes). */
netcost_t *netcost_new(uint64_t rate, uint64_t burst);
void netcost_free(netcost_t *c);

/* Takes cost units from peer's network at now_ms. Returns 0 (the caller
 * runs the check, then calls netcost_done with the same cost), or -1 when
 * the bucket is short or an expensive check of that network is running. */
int netcost_take(netcost_t *c, const struct sockaddr_storage *peer,
		 uint64_t cost, uint64_t now_ms);
void netcost_done(netcost_t *c, const struct sockaddr_storage *peer,
		  uint64_t cost);

#endif
