/* The HTTP route table: every path idnode serves over HTTP, with the
 * methods it accepts, the name it is metered under, the principal it
 * requires and its handler, in one table (http_route.c).
 *
 * The one rule for what a route may read:
 *
 *   A route that reads or changes the values of an identifier's record
 *   builds a Handle message and runs it through the thread's handler
 *   (http_hdl_call -> handler_process), so HTTP answers exactly as UDP and
 *   TCP do: referrals, homing, per-value visibility and HS_ADMIN rights
 *   are decided there and nowhere else. That is GET/PUT/DELETE
 *   /api/handles/{id}, the browser proxy GET /{identifier}, POSTed Handle
 *   messages, /identityv2/data and /snms/api/v5/data (and their
 *   batches) and the templates.
 *
 *   A route reads the store or the node directly only when its answer
 *   holds no value of any record, so there is no per-value permission to
 *   apply: the homed prefixes (/api/prefixes) and this node's HS_SITE
 *   (/api/site), both public as every site publishes them; the counters of
 *   /api/stats and /metrics; identifier names of a homed prefix
 *   (/api/handles?prefix=, the template list), which the table gives only
 *   to an HTTP identity; and /api/search, which matches anonymous clients
 *   on publicly readable values only (search.h) and returns names.
 *
 * A route whose row requires an identity is refused with 401 here, before
 * its handler runs; handlers may still narrow what an anonymous client
 * sees (public values only), never widen it. */
#ifndef IDN_HTTP_ROUTE_H
#define IDN_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

#include "principal.h"

struct hreq;

/* Request methods, as bits so a row can accept several. */
enum {
	HTTP_M_GET = 1u << 0,
	HTTP_M_HEAD = 1u << 1,
	HTTP_M_POST = 1u << 2,
	HTTP_M_PUT = 1u << 3,
	HTTP_M_DELETE = 1u << 4,
	HTTP_M_READ = HTTP_M_GET | HTTP_M_HEAD,
	HTTP_M_ANY = 0xffffu, /* every method, unknown ones too */
};

/* The bit of a method name (exact, upper case); 1 << 15 for a method no
 * row names (PATCH, OPTIONS, ...), which only HTTP_M_ANY rows accept. */
unsigned http_method_bit(const char *m, size_t len);

typedef enum {
	HTTP_EXACT = 0,	 /* the path equals pattern */
	HTTP_PREFIX = 1, /* the path starts with pattern; the rest is r->arg */
} http_match_t;

/* The shape of the answers the table gives for a row (401, 405): the
 * handle.net REST shape {"responseCode",...} or the management API's
 * {"status","message","data"}. */
typedef enum {
	HTTP_STYLE_REST = 0,
	HTTP_STYLE_MGMT = 1,
} http_style_t;

typedef struct http_route {
	unsigned methods;    /* HTTP_M_* bits accepted */
	const char *pattern; /* see match */
	http_match_t match;
	/* NULL, or the Content-Type that selects this row on any path
	 * matching pattern (Handle messages over HTTP): such a row is chosen
	 * before any other when method and type match, and is invisible
	 * otherwise */
	const char *ctype;
	const char *name; /* metrics label (route="...") */
	/* ANONYMOUS: anyone; HTTP: an HTTP identity (the admin token, a
	 * login token, or an account's admin: http_route_permits) */
	principal_kind_t need;
	http_style_t style;
	void (*handler)(struct hreq *r);
	/* the row takes a password (the login): guarded like a write, see
	 * http_route_find */
	bool login;
} http_route_t;

/* How a request reached the node: the rule that writes and logins travel
 * in clear only on loopback needs it. */
typedef struct {
	bool tls;	     /* it came over HTTPS */
	bool loopback;	     /* from 127.0.0.0/8 or ::1 (or ::ffff:127.x) */
	bool allow_insecure; /* http-allow-insecure-writes */
} http_chan_t;

/* Whether sa (AF_INET or AF_INET6) is a loopback address. */
bool http_addr_loopback(const struct sockaddr *sa);

/* Whether a row must not run over plain HTTP from beyond loopback: its
 * requests carry the admin token or a login token and change data
 * (a row requiring an identity with a method other than GET and HEAD), or
 * carry a password (a login row). */
bool http_route_guarded(const http_route_t *row);

typedef enum {
	HTTP_ROUTE_OK = 0,	      /* *row is the route to run */
	HTTP_ROUTE_NOT_FOUND = 1,     /* no row has the path (*row NULL) */
	HTTP_ROUTE_BAD_METHOD = 2,    /* 405: *row is the path's first row,
				       * *allow the methods its rows accept */
	HTTP_ROUTE_NEED_IDENTITY = 3, /* 401: *row requires an identity */
	HTTP_ROUTE_NEED_TLS = 4,      /* 403: *row is guarded (see
				       * http_route_guarded) and the request
				       * came over plain HTTP from another
				       * host than loopback */
} http_route_result_t;

/* Finds the row for a request: path (percent-decoded, NUL-ended), its
 * method bit, its Content-Type (NULL when absent), who asks and how it
 * came (chan). Rows are tried in table order; the first row whose pattern
 * matches the path decides, together with the rows right after it that
 * share its pattern (one row per method set). A guarded row over a
 * channel that is neither TLS nor loopback (and not allowed insecure) is
 * HTTP_ROUTE_NEED_TLS whoever asks, before the identity is looked at.
 * *row and *allow are set as the result says; *allow is 0 unless the
 * result is HTTP_ROUTE_BAD_METHOD. */
http_route_result_t http_route_find(const char *path, unsigned method,
				    const char *ctype, size_t ctype_len,
				    const principal_t *who,
				    const http_chan_t *chan,
				    const http_route_t **row, unsigned *allow);

/* Whether who may run row: rows requiring PRINCIPAL_HTTP need that
 * principal; anonymous rows anyone. */
int http_route_permits(const http_route_t *row, const principal_t *who);

/* The table, for the metrics (one counter set per row, merged by name)
 * and the tests: *n gets the number of rows. */
const http_route_t *http_routes(size_t *n);

/* Writes the Allow header value for a method set ("GET, HEAD, PUT") into
 * out[0..cap), NUL-ended. */
void http_allow_text(unsigned methods, char *out, size_t cap);

#endif
