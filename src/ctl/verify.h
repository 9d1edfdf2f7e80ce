/* idctl verify-sites: the sites of a prefix compared record by record, as
 * HANDLE.NET's CheckHandleAtSites does (docs/operations.md, Mirrors).
 *
 * verify_cmd.c finds the sites (the HS_SITE values of 0.NA/PREFIX, and of
 * the service handles its HS_SERV values name), the identifiers to check
 * and prints the report; verify_run.c asks every site for every record and
 * compares the answers with the primary's. */
#ifndef IDN_CTL_VERIFY_H
#define IDN_CTL_VERIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "site.h"
#include "value.h"

/* Sites one prefix handle may list here. */
#define VERIFY_SITES_MAX 16

typedef struct {
	uint32_t index;	    /* of its HS_SITE value in the prefix handle */
	bool primary;	    /* the site all others are compared with */
	idn_hs_site_t site; /* decoded; lives as long as the command */
	/* per server: "HOST:PORT" to ask (TCP, else UDP) and its transport */
	char addr[IDN_SITE_SERVERS_MAX][64];
	int transport[IDN_SITE_SERVERS_MAX];
	/* per server: 2 once it could not be reached (it is not asked again
	 * in this run), with the reason in down_why (written while 1) */
	atomic_int down[IDN_SITE_SERVERS_MAX];
	char down_why[IDN_SITE_SERVERS_MAX][96];
} verify_site_t;

/* What differs for one identifier at one site. */
enum {
	VD_MISSING,	  /* the record is at the primary, not at the site */
	VD_EXTRA,	  /* the record is at the site, not at the primary */
	VD_VALUE_MISSING, /* a value of the primary's record is absent */
	VD_VALUE_EXTRA,	  /* the site's record has a value the primary lacks */
	VD_VALUE_DIFFERS, /* a value with the same index differs (fields) */
	VD_ERROR,	  /* the site could not be asked or answered an error */
};

/* Fields of a value that differ (VD_VALUE_DIFFERS). */
enum {
	VF_TYPE = 1,
	VF_DATA = 2,
	VF_TTL = 4, /* its type (relative, absolute) or its seconds */
	VF_PERMS = 8,
	VF_TIMESTAMP = 16,
	VF_REFS = 32,
};

typedef struct {
	uint8_t site;	 /* position in verify_t.sites */
	uint8_t kind;	 /* VD_* */
	uint8_t fields;	 /* VF_* of VD_VALUE_DIFFERS */
	uint16_t server; /* of the site, picked by the site hash */
	uint32_t index;	 /* the value's (VD_VALUE_*) */
	uint32_t rc;	 /* VD_ERROR: the response code, 0 for no answer */
	char *detail;	 /* VD_ERROR: what went wrong (malloc'd) */
} verify_diff_t;

typedef struct {
	verify_diff_t *d; /* malloc'd */
	uint32_t n;
} verify_item_t;

typedef struct {
	verify_site_t *sites;
	unsigned nsites;
	unsigned primary; /* position of the primary site in sites */
	char **ids;	  /* the identifiers to check */
	size_t nids;
	verify_item_t *items; /* nids of them, filled by verify_run */
	unsigned parallel;    /* identifiers in flight */
	int timeout_ms;	      /* per request */
} verify_t;

/* Asks every site for every identifier of v (v->parallel at a time, each
 * worker keeping its connections open) and fills v->items with what
 * differs from the primary's answer. Returns 0 or -ENOMEM. */
int verify_run(verify_t *v);

/* Frees what verify_run put in v->items. */
void verify_items_free(verify_t *v);

/* "missing", "extra", "value-missing", "value-extra", "value-differs",
 * "error". */
const char *verify_kind_name(unsigned kind);

#endif
