/* The HTTP route table (http_route.h): every path, its methods, metrics
 * name, required principal and handler, and the lookup on_req uses. */
#include "http_route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http_int.h"

#define ANON PRINCIPAL_ANONYMOUS
#define IDENT PRINCIPAL_HTTP
#define REST HTTP_STYLE_REST
#define MGMT HTTP_STYLE_MGMT

/* Most specific first: a prefix row must come after the rows of the
 * longer paths it covers. Rows of one path are adjacent. */
static const http_route_t routes[] = {
	/* Handle messages, as the CNRI client POSTs them to any path */
	{HTTP_M_POST, "/", HTTP_PREFIX, "application/x-hdl-message", "hdl",
	 ANON, REST, http_hdl_message},

	/* the handle.net-shaped REST API */
	{HTTP_M_READ, "/api/handles", HTTP_EXACT, NULL, "list", IDENT, REST,
	 http_api_list},
	{HTTP_M_READ, "/api/handles/", HTTP_EXACT, NULL, "list", IDENT, REST,
	 http_api_list},
	{HTTP_M_READ, "/api/handles/", HTTP_PREFIX, NULL, "handle", ANON, REST,
	 http_api_get},
	{HTTP_M_PUT, "/api/handles/", HTTP_PREFIX, NULL, "handle", IDENT, REST,
	 http_api_put},
	{HTTP_M_DELETE, "/api/handles/", HTTP_PREFIX, NULL, "handle", IDENT,
	 REST, http_api_delete},
	/* handle.net sessions (http_auth.c): a nonce to sign, then the
	 * session authenticates; they carry proofs, hence the login rule */
	{HTTP_M_POST, "/api/sessions", HTTP_EXACT, NULL, "session", ANON, REST,
	 http_sessions_new, .login = true},
	{HTTP_M_POST, "/api/sessions/", HTTP_EXACT, NULL, "session", ANON, REST,
	 http_sessions_new, .login = true},
	{HTTP_M_READ | HTTP_M_POST | HTTP_M_PUT, "/api/sessions/this",
	 HTTP_EXACT, NULL, "session", ANON, REST, http_sessions_this,
	 .login = true},
	{HTTP_M_DELETE, "/api/sessions/this", HTTP_EXACT, NULL, "session", ANON,
	 REST, http_sessions_end, .login = true},
	{HTTP_M_READ, "/api/search", HTTP_EXACT, NULL, "search", ANON, REST,
	 http_search},
	{HTTP_M_READ, "/api/prefixes", HTTP_EXACT, NULL, "prefixes", ANON, REST,
	 http_api_prefixes},
	{HTTP_M_READ, "/api/site", HTTP_EXACT, NULL, "site", ANON, REST,
	 http_api_site},
	{HTTP_M_READ, "/api/stats", HTTP_EXACT, NULL, "stats", ANON, REST,
	 http_stats_json},
	{HTTP_M_ANY, "/api", HTTP_EXACT, NULL, "other", ANON, REST,
	 http_api_not_found},
	{HTTP_M_ANY, "/api/", HTTP_PREFIX, NULL, "other", ANON, REST,
	 http_api_not_found},
	{HTTP_M_READ, "/metrics", HTTP_EXACT, NULL, "metrics", ANON, REST,
	 http_metrics},

	/* the national SNMS API as its developer guide has it
	 * (docs/snms-api.md): login in both forms, logout, identifiers */
	{HTTP_M_POST, "/identity/token", HTTP_EXACT, NULL, "mgmt", ANON, MGMT,
	 http_snms_login, .login = true},
	{HTTP_M_DELETE, "/identity/token", HTTP_EXACT, NULL, "mgmt", ANON, MGMT,
	 http_snms_logout},
	{HTTP_M_POST, "/identity/token/v1", HTTP_EXACT, NULL, "mgmt", ANON,
	 MGMT, http_snms_login_v1, .login = true},
	{HTTP_M_ANY, "/identity/", HTTP_PREFIX, NULL, "mgmt", ANON, MGMT,
	 http_mgmt_not_found},
	{HTTP_M_GET, "/identityv2/data/detail", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_snms_detail},
	{HTTP_M_POST, "/identityv2/data", HTTP_EXACT, NULL, "mgmt", IDENT, MGMT,
	 http_snms_create},
	{HTTP_M_PUT, "/identityv2/data", HTTP_EXACT, NULL, "mgmt", IDENT, MGMT,
	 http_snms_update},
	{HTTP_M_DELETE, "/identityv2/data", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_snms_delete},
	{HTTP_M_POST, "/identityv2/data/batchCreate", HTTP_EXACT, NULL, "mgmt",
	 IDENT, MGMT, http_snms_batch_create},
	{HTTP_M_PUT, "/identityv2/data/batchUpdate", HTTP_EXACT, NULL, "mgmt",
	 IDENT, MGMT, http_snms_batch_update},
	{HTTP_M_DELETE, "/identityv2/data/batchDelete", HTTP_EXACT, NULL,
	 "mgmt", IDENT, MGMT, http_snms_batch_delete},
	{HTTP_M_ANY, "/identityv2/", HTTP_PREFIX, NULL, "mgmt", ANON, MGMT,
	 http_mgmt_not_found},

	/* the management API's former paths, deprecated (docs/http-api.md):
	 * the guide's /identityv2/data replaces /snms/api/v5/data */
	{HTTP_M_GET, "/snms/api/v5/data", HTTP_EXACT, NULL, "mgmt", IDENT, MGMT,
	 http_mgmt_data_get},
	{HTTP_M_POST, "/snms/api/v5/data", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_mgmt_data_create},
	{HTTP_M_PUT, "/snms/api/v5/data", HTTP_EXACT, NULL, "mgmt", IDENT, MGMT,
	 http_mgmt_data_update},
	{HTTP_M_DELETE, "/snms/api/v5/data", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_mgmt_data_delete},
	{HTTP_M_POST, "/snms/api/v5/data/batch/create", HTTP_EXACT, NULL,
	 "mgmt", IDENT, MGMT, http_mgmt_batch_create},
	{HTTP_M_POST, "/snms/api/v5/data/batch/update", HTTP_EXACT, NULL,
	 "mgmt", IDENT, MGMT, http_mgmt_batch_update},
	{HTTP_M_POST, "/snms/api/v5/data/batch/delete", HTTP_EXACT, NULL,
	 "mgmt", IDENT, MGMT, http_mgmt_batch_delete},
	/* templates: the guide's shape, or the former one (deprecated) */
	{HTTP_M_GET, "/snms/api/v5/template", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_snms_tpl_get},
	{HTTP_M_POST, "/snms/api/v5/template", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_snms_tpl_create},
	{HTTP_M_PUT, "/snms/api/v5/template", HTTP_EXACT, NULL, "mgmt", IDENT,
	 MGMT, http_snms_tpl_update},
	{HTTP_M_DELETE, "/snms/api/v5/template", HTTP_EXACT, NULL, "mgmt",
	 IDENT, MGMT, http_snms_tpl_delete},
	{HTTP_M_POST, "/snms/api/v5/template/publish", HTTP_EXACT, NULL, "mgmt",
	 IDENT, MGMT, http_mgmt_tpl_publish},
	{HTTP_M_POST, "/snms/api/v5/template/withdraw", HTTP_EXACT, NULL,
	 "mgmt", IDENT, MGMT, http_mgmt_tpl_withdraw},
	{HTTP_M_ANY, "/snms/", HTTP_PREFIX, NULL, "mgmt", ANON, MGMT,
	 http_mgmt_not_found},

	/* the console's front door, then every other path: an identifier */
	{HTTP_M_ANY, "/", HTTP_EXACT, NULL, "other", ANON, REST,
	 http_console_redirect},
	{HTTP_M_READ, "/", HTTP_PREFIX, NULL, "proxy", ANON, REST, http_proxy},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const http_route_t *http_routes(size_t *n)
{
	*n = NROUTES;
	return routes;
}

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{"GET", HTTP_M_GET}, {"HEAD", HTTP_M_HEAD},	{"POST", HTTP_M_POST},
	{"PUT", HTTP_M_PUT}, {"DELETE", HTTP_M_DELETE},
};

#define HTTP_M_OTHER (1u << 15)

unsigned http_method_bit(const char *m, size_t len)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len &&
		    memcmp(methods[i].name, m, len) == 0)
			return methods[i].bit;
	return HTTP_M_OTHER;
}

void http_allow_text(unsigned bits, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (!(bits & methods[i].bit))
			continue;
		size_t need = (len ? 2 : 0) + strlen(methods[i].name);
		if (len + need >= cap)
			return; /* whole names only */
		snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
			 methods[i].name);
		len += need;
	}
}

bool http_addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *a6 =
		&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
}

bool http_route_guarded(const http_route_t *row)
{
	return row->login || (row->need == PRINCIPAL_HTTP &&
			      (row->methods & ~(unsigned)HTTP_M_READ) != 0);
}

/* Writes and logins in clear only where nobody can listen (loopback), or
 * where the operator said so. */
static bool chan_permits(const http_route_t *row, const http_chan_t *chan)
{
	return !http_route_guarded(row) || chan->tls || chan->loopback ||
	       chan->allow_insecure;
}

int http_route_permits(const http_route_t *row, const principal_t *who)
{
	/* an admin authenticated over HTTP (handle.net REST) or an account's
	 * admin (SNMS login) may try what an HTTP identity may; the op table
	 * then checks its HS_ADMIN rights */
	return row->need == PRINCIPAL_ANONYMOUS || who->kind == row->need ||
	       (row->need == PRINCIPAL_HTTP && who->kind == PRINCIPAL_ADMIN);
}

static int path_matches(const http_route_t *row, const char *path)
{
	size_t n = strlen(row->pattern);
	if (row->match == HTTP_EXACT)
		return strcmp(path, row->pattern) == 0;
	return strncmp(path, row->pattern, n) == 0;
}

static int same_path(const http_route_t *a, const http_route_t *b)
{
	return a->match == b->match && a->ctype == NULL && b->ctype == NULL &&
	       strcmp(a->pattern, b->pattern) == 0;
}

http_route_result_t http_route_find(const char *path, unsigned method,
				    const char *ctype, size_t ctype_len,
				    const principal_t *who,
				    const http_chan_t *chan,
				    const http_route_t **row, unsigned *allow)
{
	*row = NULL;
	*allow = 0;
	for (size_t i = 0; i < NROUTES; i++) {
		const http_route_t *r = &routes[i];
		if (r->ctype != NULL) {
			if ((r->methods & method) && ctype != NULL &&
			    strlen(r->ctype) == ctype_len &&
			    memcmp(r->ctype, ctype, ctype_len) == 0 &&
			    path_matches(r, path)) {
				*row = r;
				break;
			}
			continue;
		}
		if (!path_matches(r, path))
			continue;
		/* this path's rows: the one accepting the method, or 405 */
		for (size_t j = i; j < NROUTES && same_path(&routes[j], r);
		     j++) {
			if (routes[j].methods & method) {
				*row = &routes[j];
				break;
			}
			*allow |= routes[j].methods;
		}
		if (*row == NULL) {
			*row = r;
			return HTTP_ROUTE_BAD_METHOD;
		}
		*allow = 0;
		break;
	}
	if (*row == NULL)
		return HTTP_ROUTE_NOT_FOUND;
	if (!chan_permits(*row, chan))
		return HTTP_ROUTE_NEED_TLS;
	return http_route_permits(*row, who) ? HTTP_ROUTE_OK
					     : HTTP_ROUTE_NEED_IDENTITY;
}
