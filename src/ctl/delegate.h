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

/* The HS_SITE of `idctl delegate` (idn_site_build of site.h): version
 * 1, serial 1, flags 0x80 when primary (else 0), attribute "desc" = desc,
 * servers numbered 1.. from servers ("HOST:PORT[,HOST:PORT...]", each
 * with a port, no wildcard, no IPv6 address HS_SITE would read as IPv4),
 * each with an empty public key and query+admin interfaces on UDP and TCP
 * at its port. The bytes come from a. Returns 0, or -1 with a one-line
 * reason in why (naming the bad part). */
int site_build(const char *servers, bool primary, const char *desc,
	       idn_arena_t *a, idn_bytes_t *out, char *why, size_t whycap);

/* Prints a JSON object as aligned "key  value" lines to f, nested objects
 * flattened with dotted keys ("cache.hits"). */
void stats_print(FILE *f, json_t *obj);

#endif
