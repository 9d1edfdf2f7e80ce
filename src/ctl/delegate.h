/* idctl's side of the hierarchy (issue #3): HS_SITE values built from
 * "HOST:PORT,..." lists for `idctl delegate`, HS_SITE values shown to people
 * and as JSON (resolve output, referrals, site info), and the node's
 * statistics JSON printed as aligned key/value lines. */
#ifndef IDCTL_DELEGATE_H
#define IDCTL_DELEGATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "value.h"
#include "wire.h"

/* Servers in one site given on the command line. */
#define SITE_SERVERS_CLI_MAX 64

/* Encodes the HS_SITE of `idctl delegate`: version 1, protocol 2.10,
 * serial 1, flags 0x80 when primary (else 0), hash by prefix, no filter,
 * attribute "desc" = desc, servers numbered 1.. from servers
 * ("HOST:PORT[,HOST:PORT...]", HOST an IPv4 or IPv6 literal, IPv6 in
 * brackets, or localhost), each with an empty public key and query+admin
 * interfaces on UDP and TCP at its port. The bytes come from a. Returns 0,
 * or -1 with a one-line reason in why (naming the bad part). */
int site_build(const char *servers, bool primary, const char *desc,
	       idn_arena_t *a, idn_bytes_t *out, char *why, size_t whycap);

/* "127.0.0.1:2641 udp/tcp, [::1]:2642 tcp" — the servers of a site, one
 * entry per server and port, written to f. */
void site_print_servers(FILE *f, const idn_hs_site_t *s);

/* One line for a value column: "site primary: 127.0.0.1:2641 udp/tcp"
 * (mirror sites say "site mirror", multi-primary ones "site multi-primary";
 * "serial N" follows when not 1). Written to f without a newline. */
void site_print(FILE *f, const idn_hs_site_t *s);

/* The JSON of one site, the "value" of data.format "site":
 * {"version","protocolVersion","serialNumber","primary","multiPrimary",
 *  "hashOption","hashFilter","attributes":[{name,value}],
 *  "servers":[{"id","address","publicKey"?,"interfaces":[{"type",
 *  "protocol","port"}]}]}. New reference owned by the caller. */
json_t *site_json(const idn_hs_site_t *s);

/* The address of a server as text: "127.0.0.1" or "::1" (IPv4 when the
 * first 12 bytes are zero). out holds at least 48 bytes. */
void site_addr_format(const uint8_t addr[16], char *out, size_t cap);

/* Prints a JSON object as aligned "key  value" lines to f, nested objects
 * flattened with dotted keys ("cache.hits"). */
void stats_print(FILE *f, json_t *obj);

#endif
