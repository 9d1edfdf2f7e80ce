/* HS_SITE values: built from "HOST:PORT" server lists (a node's own site,
 * a delegation), printed for people, and as JSON in the one shape that the
 * HTTP API and idctl --json share, handle.net's:
 *
 *   {"version":1, "protocolVersion":"2.10", "serialNumber":1,
 *    "primaryMask":128, "hashOption":0, "hashFilter":"",
 *    "attributes":[{"name":"desc","value":"idnode"}],
 *    "servers":[{"serverId":1, "address":"127.0.0.1",
 *                "publicKey":{"format":"base64","value":"..."},
 *                "interfaces":[{"query":true,"admin":true,
 *                               "protocol":"UDP","port":2641}, ...]}]}
 *
 * primaryMask holds the site flags (0x80 primary, 0x40 multi-primary);
 * publicKey is left out when a server has none; an IPv6 address is
 * written as eight hexadecimal groups without compression. */
#ifndef IDN_SITE_H
#define IDN_SITE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "value.h"
#include "wire.h"

/* Servers one site built here may list. */
#define IDN_SITE_SERVERS_MAX 64

typedef struct {
	uint16_t serial;
	uint8_t flags;	    /* IDN_SITE_PRIMARY, IDN_SITE_MULTI_PRIMARY */
	const char *desc;   /* the "desc" attribute (not NULL) */
	idn_bytes_t pubkey; /* every server's public key (len 0: none) */
	/* the port of a server given without one; 0: a port is required */
	uint16_t default_port;
	/* the addresses a node listens on: a wildcard (0.0.0.0, ::) names
	 * no server and is left out, and an IPv6 address whose first 12
	 * bytes are zero (::1) is kept, as idnode's resolver reads it back.
	 * Otherwise (a site given by a person) both are refused: other
	 * readers take 12 zero bytes for IPv4 (::1 as 0.0.0.1). */
	bool listen;
	/* a node's own site: its interfaces as HANDLE.NET lists its own
	 * (below), with HTTP at http_port when that is not 0, on the
	 * servers whose address is http_addr (the site layout's 16 bytes;
	 * all zero, a wildcard listener: on every server) */
	bool own;
	uint16_t http_port;
	uint8_t http_addr[16];
} idn_site_opts_t;

/* Appends the HS_SITE data of a site to w: version 1, protocol
 * IDN_PROTO_MAJOR.IDN_PROTO_MINOR, hash by prefix, no hash filter, one
 * attribute "desc", and for each of servers[0..n) ("1.2.3.4:2641",
 * "[2001:db8::1]:2641", "localhost:2641"; without ":PORT" when
 * o->default_port is set) a server numbered from 1 that answers queries
 * and administration over UDP and TCP at its port; a node's own site
 * (o->own) lists them as HANDLE.NET lists its own
 * (tests/vectors/get-site-info-response.hex): TCP for queries and
 * administration, UDP for queries, then HTTP for both at o->http_port
 * when set and served on that server's address. An IPv4-mapped IPv6
 * address is written in the IPv4 form. Returns 0; IDN_EINVAL for a server
 * that is not a reachable HOST:PORT, with a one-line reason naming it in
 * why (cut to whycap, NUL-terminated; why may be NULL); IDN_ETOOMANY for
 * more than IDN_SITE_SERVERS_MAX servers; or w's sticky error
 * (IDN_ETOOLONG when the site does not fit). Nothing is retained. */
int idn_site_build(idn_wr_t *w, const idn_site_opts_t *o,
		   const char *const *servers, size_t n, char *why,
		   size_t whycap);

/* The address of a server as text, "127.0.0.1" or "2001:db8::1" (IPv4
 * when the first 12 bytes are zero), NUL-terminated in out (cut to cap;
 * 46 bytes hold any). */
void idn_site_addr_format(const uint8_t addr[16], char *out, size_t cap);

/* "127.0.0.1:2641 udp/tcp, [2001:db8::1]:2642 tcp" -- the servers of a
 * site, one entry per server and port ("(no servers)" for none), written
 * to f. */
void idn_site_print_servers(FILE *f, const idn_hs_site_t *s);

/* One line for a value column, without a newline: "site primary:
 * 127.0.0.1:2641 udp/tcp" ("site mirror", "site multi-primary"; "serial N"
 * when not 1, "hash suffix|whole" when not by prefix). Written to f. */
void idn_site_print(FILE *f, const idn_hs_site_t *s);

/* The JSON of a site in the shape above: a new reference owned by the
 * caller, or NULL when out of memory. Text that is not UTF-8 (attribute
 * names and values, the hash filter) is written as "". */
json_t *idn_site_json(const idn_hs_site_t *s);

#endif
