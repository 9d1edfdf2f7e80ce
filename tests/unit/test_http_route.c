/* Tests of the HTTP route table (src/http/http_route.c): which row each
 * path and method reaches, 405 against 404, the principal a row
 * requires, the rule that writes and logins over plain HTTP come from
 * loopback only (with synthetic peer addresses), the principal a
 * request's Authorization header gives (http.c), and the table's own
 * consistency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_int.h"

static const principal_t anon = {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0};
static const principal_t ident = {PRINCIPAL_HTTP, {NULL, 0}, 0};

static const char hdl_type[] = "application/x-hdl-message";

/* plain HTTP from loopback: every row may run */
static const http_chan_t local = {false, true, false};

/* Looks up method path (no Content-Type) as who; returns the result and
 * the row and Allow set through the pointers. */
static http_route_result_t find(const char *method, const char *path,
				const principal_t *who,
				const http_route_t **row, unsigned *allow)
{
	return http_route_find(path, http_method_bit(method, strlen(method)),
			       NULL, 0, who, &local, row, allow);
}

typedef struct {
	const char *method, *path;
	void (*handler)(hreq_t *r);
	const char *name;
	bool need_identity;
	const char *arg; /* r->arg the dispatcher derives, NULL: "" */
} want_t;

static const want_t wants[] = {
	{"GET", "/api/handles/88.1/x", http_api_get, "handle", false, "88.1/x"},
	{"HEAD", "/api/handles/88.1/x", http_api_get, "handle", false,
	 "88.1/x"},
	{"PUT", "/api/handles/88.1/x", http_api_put, "handle", true, "88.1/x"},
	{"DELETE", "/api/handles/88.1/x", http_api_delete, "handle", true,
	 "88.1/x"},
	{"GET", "/api/handles", http_api_list, "list", true, NULL},
	{"GET", "/api/handles/", http_api_list, "list", true, NULL},
	{"GET", "/api/search", http_search, "search", false, NULL},
	{"GET", "/api/prefixes", http_api_prefixes, "prefixes", false, NULL},
	{"GET", "/api/site", http_api_site, "site", false, NULL},
	{"GET", "/api/stats", http_stats_json, "stats", false, NULL},
	{"GET", "/metrics", http_metrics, "metrics", false, NULL},
	{"GET", "/api/nothing", http_api_not_found, "other", false, "nothing"},
	{"POST", "/api/statsx", http_api_not_found, "other", false, "statsx"},
	{"GET", "/api", http_api_not_found, "other", false, NULL},
	{"POST", "/identity/token", http_snms_login, "mgmt", false, NULL},
	{"DELETE", "/identity/token", http_snms_logout, "mgmt", false, NULL},
	{"POST", "/identity/token/v1", http_snms_login_v1, "mgmt", false, NULL},
	{"GET", "/identityv2/data/detail", http_snms_detail, "mgmt", true,
	 NULL},
	{"POST", "/identityv2/data", http_snms_create, "mgmt", true, NULL},
	{"PUT", "/identityv2/data", http_snms_update, "mgmt", true, NULL},
	{"DELETE", "/identityv2/data", http_snms_delete, "mgmt", true, NULL},
	{"POST", "/identityv2/data/batchCreate", http_snms_batch_create, "mgmt",
	 true, NULL},
	{"PUT", "/identityv2/data/batchUpdate", http_snms_batch_update, "mgmt",
	 true, NULL},
	{"DELETE", "/identityv2/data/batchDelete", http_snms_batch_delete,
	 "mgmt", true, NULL},
	{"GET", "/identityv2/other", http_mgmt_not_found, "mgmt", false,
	 "other"},
	{"GET", "/identity/other", http_mgmt_not_found, "mgmt", false, "other"},
	{"GET", "/snms/api/v5/data", http_mgmt_data_get, "mgmt", true, NULL},
	{"POST", "/snms/api/v5/data", http_mgmt_data_create, "mgmt", true,
	 NULL},
	{"PUT", "/snms/api/v5/data", http_mgmt_data_update, "mgmt", true, NULL},
	{"DELETE", "/snms/api/v5/data", http_mgmt_data_delete, "mgmt", true,
	 NULL},
	{"POST", "/snms/api/v5/data/batch/create", http_mgmt_batch_create,
	 "mgmt", true, NULL},
	{"POST", "/snms/api/v5/data/batch/update", http_mgmt_batch_update,
	 "mgmt", true, NULL},
	{"POST", "/snms/api/v5/data/batch/delete", http_mgmt_batch_delete,
	 "mgmt", true, NULL},
	{"POST", "/snms/api/v5/data/batch/other", http_mgmt_not_found, "mgmt",
	 false, "api/v5/data/batch/other"},
	{"GET", "/snms/api/v5/template", http_snms_tpl_get, "mgmt", true, NULL},
	{"POST", "/snms/api/v5/template", http_snms_tpl_create, "mgmt", true,
	 NULL},
	{"PUT", "/snms/api/v5/template", http_snms_tpl_update, "mgmt", true,
	 NULL},
	{"DELETE", "/snms/api/v5/template", http_snms_tpl_delete, "mgmt", true,
	 NULL},
	{"POST", "/snms/api/v5/template/publish", http_mgmt_tpl_publish, "mgmt",
	 true, NULL},
	{"POST", "/snms/api/v5/template/withdraw", http_mgmt_tpl_withdraw,
	 "mgmt", true, NULL},
	{"GET", "/", http_console_redirect, "other", false, NULL},
	{"DELETE", "/", http_console_redirect, "other", false, NULL},
	{"GET", "/88.1/x", http_proxy, "proxy", false, "88.1/x"},
	{"GET", "/01/09506000134352", http_proxy, "proxy", false,
	 "01/09506000134352"},
};

static void each_path_reaches_its_row(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		const want_t *w = &wants[i];
		const http_route_t *row;
		unsigned allow;
		http_route_result_t res =
			find(w->method, w->path, &ident, &row, &allow);
		if (res != HTTP_ROUTE_OK || row == NULL ||
		    row->handler != w->handler || strcmp(row->name, w->name))
			fail_msg("%s %s: result %d, row %s", w->method, w->path,
				 res, row ? row->name : "none");
		assert_int_equal(allow, 0);
		const char *arg = row->match == HTTP_PREFIX
					  ? w->path + strlen(row->pattern)
					  : "";
		assert_string_equal(arg, w->arg ? w->arg : "");
		/* the same request anonymous: refused by the table exactly
		 * when the row requires an identity */
		res = find(w->method, w->path, &anon, &row, &allow);
		if (res != (w->need_identity ? HTTP_ROUTE_NEED_IDENTITY
					     : HTTP_ROUTE_OK))
			fail_msg("anonymous %s %s: result %d", w->method,
				 w->path, res);
		assert_ptr_equal(row->handler, w->handler);
	}
}

static void wrong_method_is_405(void **state)
{
	(void)state;
	static const struct {
		const char *method, *path;
		unsigned allow;
	} cases[] = {
		{"POST", "/api/handles/88.1/x",
		 HTTP_M_READ | HTTP_M_PUT | HTTP_M_DELETE},
		{"PATCH", "/api/prefixes", HTTP_M_READ},
		{"DELETE", "/metrics", HTTP_M_READ},
		{"PUT", "/api/search", HTTP_M_READ},
		{"POST", "/api/handles", HTTP_M_READ},
		{"GET", "/identity/token", HTTP_M_POST | HTTP_M_DELETE},
		{"HEAD", "/snms/api/v5/data",
		 HTTP_M_GET | HTTP_M_POST | HTTP_M_PUT | HTTP_M_DELETE},
		{"GET", "/snms/api/v5/data/batch/create", HTTP_M_POST},
		{"PUT", "/88.1/x", HTTP_M_READ},
		{"POST", "/88.1/x", HTTP_M_READ},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const http_route_t *row;
		unsigned allow;
		/* an identity does not turn 405 into anything else */
		http_route_result_t res = find(cases[i].method, cases[i].path,
					       &ident, &row, &allow);
		if (res != HTTP_ROUTE_BAD_METHOD || allow != cases[i].allow)
			fail_msg("%s %s: result %d allow %#x, wanted 405 %#x",
				 cases[i].method, cases[i].path, res, allow,
				 cases[i].allow);
		assert_non_null(row); /* metered under the path's row */
		res = find(cases[i].method, cases[i].path, &anon, &row, &allow);
		assert_int_equal(res, HTTP_ROUTE_BAD_METHOD);
	}
}

static void unknown_path_is_404(void **state)
{
	(void)state;
	const http_route_t *row = (const http_route_t *)1;
	unsigned allow = 7;
	/* only a path that is not one: every '/' path has a row (the proxy
	 * or a family's not-found handler) */
	assert_int_equal(find("GET", "*", &anon, &row, &allow),
			 HTTP_ROUTE_NOT_FOUND);
	assert_null(row);
	assert_int_equal(allow, 0);
	assert_int_equal(find("GET", "", &ident, &row, &allow),
			 HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(find("OPTIONS", "*", &ident, &row, &allow),
			 HTTP_ROUTE_NOT_FOUND);
}

static void handle_messages_by_content_type(void **state)
{
	(void)state;
	const http_route_t *row;
	unsigned allow;
	unsigned post = http_method_bit("POST", 4);
	const char *paths[] = {"/", "/api/handles/88.1/x", "/identity/token",
			       "/snms/api/v5/data", "/anything"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(http_route_find(paths[i], post, hdl_type,
						 strlen(hdl_type), &anon,
						 &local, &row, &allow),
				 HTTP_ROUTE_OK);
		assert_ptr_equal(row->handler, http_hdl_message);
		assert_string_equal(row->name, "hdl");
	}
	/* another type, a prefix of it or another method: the path decides */
	assert_int_equal(http_route_find("/88.1/x", post, hdl_type,
					 strlen(hdl_type) - 1, &anon, &local,
					 &row, &allow),
			 HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(http_route_find("/88.1/x", http_method_bit("GET", 3),
					 hdl_type, strlen(hdl_type), &anon,
					 &local, &row, &allow),
			 HTTP_ROUTE_OK);
	assert_ptr_equal(row->handler, http_proxy);
	const char *json = "application/json";
	assert_int_equal(http_route_find("/identity/token", post, json,
					 strlen(json), &anon, &local, &row,
					 &allow),
			 HTTP_ROUTE_OK);
	assert_ptr_equal(row->handler, http_snms_login);
}

static void methods_and_allow_text(void **state)
{
	(void)state;
	assert_int_equal(http_method_bit("GET", 3), HTTP_M_GET);
	assert_int_equal(http_method_bit("HEAD", 4), HTTP_M_HEAD);
	assert_int_equal(http_method_bit("DELETE", 6), HTTP_M_DELETE);
	/* exact and case-sensitive, as HTTP methods are */
	assert_int_not_equal(http_method_bit("get", 3), HTTP_M_GET);
	assert_int_not_equal(http_method_bit("GETX", 4), HTTP_M_GET);
	assert_int_not_equal(http_method_bit("GE", 2), HTTP_M_GET);
	unsigned other = http_method_bit("PATCH", 5);
	assert_int_equal(other & (HTTP_M_READ | HTTP_M_POST | HTTP_M_PUT |
				  HTTP_M_DELETE),
			 0);
	assert_int_not_equal(other & HTTP_M_ANY, 0);
	char text[64];
	http_allow_text(HTTP_M_READ | HTTP_M_PUT | HTTP_M_DELETE, text,
			sizeof(text));
	assert_string_equal(text, "GET, HEAD, PUT, DELETE");
	http_allow_text(HTTP_M_POST, text, sizeof(text));
	assert_string_equal(text, "POST");
	char small[8];
	http_allow_text(HTTP_M_READ | HTTP_M_POST, small, sizeof(small));
	assert_string_equal(small, "GET"); /* cut at a whole name */
}

static void permits(void **state)
{
	(void)state;
	http_route_t row = {HTTP_M_GET, "/x",		HTTP_EXACT,	 NULL,
			    "x",	PRINCIPAL_HTTP, HTTP_STYLE_REST, NULL};
	assert_false(http_route_permits(&row, &anon));
	assert_true(http_route_permits(&row, &ident));
	/* an admin authenticated over HTTP may try (the op table checks its
	 * HS_ADMIN rights); the operator is not an HTTP identity */
	principal_t admin = {PRINCIPAL_ADMIN, {NULL, 0}, 300};
	assert_true(http_route_permits(&row, &admin));
	principal_t oper = {PRINCIPAL_OPERATOR, {NULL, 0}, 0};
	assert_false(http_route_permits(&row, &oper));
	row.need = PRINCIPAL_ANONYMOUS;
	assert_true(http_route_permits(&row, &anon));
	assert_true(http_route_permits(&row, &admin));
}

/* ---- how it came: writes and logins in clear only on loopback ---- */

static bool loopback4(const char *a)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, a, &sa.sin_addr), 1);
	return http_addr_loopback((struct sockaddr *)&sa);
}

static bool loopback6(const char *a)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, a, &sa.sin6_addr), 1);
	return http_addr_loopback((struct sockaddr *)&sa);
}

static void loopback_addresses(void **state)
{
	(void)state;
	assert_true(loopback4("127.0.0.1"));
	assert_true(loopback4("127.255.3.2"));
	assert_false(loopback4("128.0.0.1"));
	assert_false(loopback4("192.0.2.7"));
	assert_false(loopback4("10.127.0.1"));
	assert_false(loopback4("0.0.0.0"));
	assert_true(loopback6("::1"));
	assert_true(loopback6("::ffff:127.0.0.9"));
	assert_false(loopback6("::ffff:192.0.2.7"));
	assert_false(loopback6("::2"));
	assert_false(loopback6("2001:db8::1"));
	assert_false(loopback6("fe80::1"));
	struct sockaddr un = {.sa_family = AF_UNIX};
	assert_false(http_addr_loopback(&un));
}

/* A request from 192.0.2.7 (TEST-NET-1), as the server sees its peer. */
static http_chan_t remote_chan(bool tls, bool allow)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.7", &sa.sin_addr);
	http_chan_t c = {tls, http_addr_loopback((struct sockaddr *)&sa),
			 allow};
	return c;
}

static http_route_result_t find_chan(const char *method, const char *path,
				     const principal_t *who,
				     const http_chan_t *chan)
{
	const http_route_t *row;
	unsigned allow;
	return http_route_find(path, http_method_bit(method, strlen(method)),
			       NULL, 0, who, chan, &row, &allow);
}

static void plain_writes_only_from_loopback(void **state)
{
	(void)state;
	http_chan_t plain = remote_chan(false, false);
	http_chan_t tls = remote_chan(true, false);
	http_chan_t allowed = remote_chan(false, true);
	assert_false(plain.loopback);
	static const char *const writes[][2] = {
		{"PUT", "/api/handles/88.1/x"},
		{"DELETE", "/api/handles/88.1/x"},
		{"POST", "/snms/api/v5/data"},
		{"PUT", "/snms/api/v5/data"},
		{"DELETE", "/snms/api/v5/data"},
		{"POST", "/snms/api/v5/data/batch/create"},
		{"POST", "/snms/api/v5/template/publish"},
		{"POST", "/identity/token"},
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		const char *m = writes[i][0], *p = writes[i][1];
		/* refused whoever asks: the token already went in clear */
		if (find_chan(m, p, &ident, &plain) != HTTP_ROUTE_NEED_TLS ||
		    find_chan(m, p, &anon, &plain) != HTTP_ROUTE_NEED_TLS)
			fail_msg("%s %s over plain HTTP from afar: not 403", m,
				 p);
		if (find_chan(m, p, &ident, &tls) != HTTP_ROUTE_OK ||
		    find_chan(m, p, &ident, &allowed) != HTTP_ROUTE_OK ||
		    find_chan(m, p, &ident, &local) != HTTP_ROUTE_OK)
			fail_msg("%s %s over TLS, allowed or local: refused", m,
				 p);
	}
	/* the identity is still needed over TLS */
	assert_int_equal(find_chan("PUT", "/api/handles/88.1/x", &anon, &tls),
			 HTTP_ROUTE_NEED_IDENTITY);
	/* reads and Handle messages (challenge-answer, no token) are not
	 * guarded */
	assert_int_equal(find_chan("GET", "/api/handles/88.1/x", &anon, &plain),
			 HTTP_ROUTE_OK);
	assert_int_equal(find_chan("GET", "/api/handles", &ident, &plain),
			 HTTP_ROUTE_OK);
	assert_int_equal(find_chan("GET", "/snms/api/v5/data", &ident, &plain),
			 HTTP_ROUTE_OK);
	const http_route_t *row;
	unsigned allow;
	assert_int_equal(http_route_find("/", http_method_bit("POST", 4),
					 hdl_type, strlen(hdl_type), &anon,
					 &plain, &row, &allow),
			 HTTP_ROUTE_OK);
	/* every row that needs an identity to change data is guarded */
	size_t n;
	const http_route_t *t = http_routes(&n);
	for (size_t i = 0; i < n; i++)
		if (t[i].need == PRINCIPAL_HTTP &&
		    (t[i].methods & ~(unsigned)HTTP_M_READ) &&
		    !http_route_guarded(&t[i]))
			fail_msg("row %zu (%s) writes unguarded", i,
				 t[i].pattern);
}

/* ---- who asks: the principal of a request (http.c) ---- */

#define SECRET "unit-admin-token-0123456789"

static principal_kind_t kind_for(http_server_t *srv, const char *auth)
{
	h2o_req_t req;
	memset(&req, 0, sizeof(req));
	h2o_mem_init_pool(&req.pool);
	if (auth != NULL)
		h2o_add_header(&req.pool, &req.headers, H2O_TOKEN_AUTHORIZATION,
			       NULL, auth, strlen(auth));
	principal_t who = http_principal(srv, &req);
	h2o_mem_clear_pool(&req.pool);
	return who.kind;
}

static void principal_from_bearer(void **state)
{
	(void)state;
	node_conf_t conf;
	memset(&conf, 0, sizeof(conf));
	conf.http_token_ttl = 60;
	http_server_t *srv = calloc(1, sizeof(*srv));
	assert_non_null(srv);
	srv->conf = &conf;
	pthread_mutex_init(&srv->tok_lock, NULL);
	/* no secret: nobody is an HTTP identity, an empty token neither */
	assert_int_equal(kind_for(srv, "Bearer "), PRINCIPAL_ANONYMOUS);
	assert_int_equal(kind_for(srv, "Bearer " SECRET), PRINCIPAL_ANONYMOUS);
	snprintf(srv->secret, sizeof(srv->secret), "%s", SECRET);
	assert_int_equal(kind_for(srv, NULL), PRINCIPAL_ANONYMOUS);
	assert_int_equal(kind_for(srv, "Bearer " SECRET), PRINCIPAL_HTTP);
	assert_int_equal(kind_for(srv, "bearer " SECRET), PRINCIPAL_HTTP);
	assert_int_equal(kind_for(srv, "Bearer " SECRET "x"),
			 PRINCIPAL_ANONYMOUS);
	assert_int_equal(kind_for(srv, "Bearer unit-admin-token"),
			 PRINCIPAL_ANONYMOUS);
	assert_int_equal(kind_for(srv, "Basic " SECRET), PRINCIPAL_ANONYMOUS);
	assert_int_equal(kind_for(srv, SECRET), PRINCIPAL_ANONYMOUS);
	/* a login token, while it lives */
	char tok[65], auth[80];
	assert_int_equal(http_token_issue(srv, "admin", tok), 0);
	assert_int_equal(strlen(tok), 64);
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	assert_int_equal(kind_for(srv, auth), PRINCIPAL_HTTP);
	auth[10] = auth[10] == '0' ? '1' : '0';
	assert_int_equal(kind_for(srv, auth), PRINCIPAL_ANONYMOUS);
	conf.http_token_ttl = 0; /* issued already expired */
	assert_int_equal(http_token_issue(srv, "admin", tok), 0);
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	assert_int_equal(kind_for(srv, auth), PRINCIPAL_ANONYMOUS);
	pthread_mutex_destroy(&srv->tok_lock);
	free(srv);
}

/* Every row is complete, rows of one path are adjacent and accept
 * disjoint methods, and no row is shadowed by an earlier prefix row. */
static void table_is_consistent(void **state)
{
	(void)state;
	size_t n;
	const http_route_t *t = http_routes(&n);
	assert_true(n > 10);
	for (size_t i = 0; i < n; i++) {
		const http_route_t *r = &t[i];
		if (r->handler == NULL || r->name == NULL || !r->name[0] ||
		    r->pattern == NULL || r->pattern[0] != '/' ||
		    r->methods == 0)
			fail_msg("row %zu is incomplete", i);
		if (r->need != PRINCIPAL_ANONYMOUS && r->need != PRINCIPAL_HTTP)
			fail_msg("row %zu (%s) needs a principal HTTP never "
				 "has",
				 i, r->pattern);
		for (size_t j = 0; j < i; j++) {
			const http_route_t *p = &t[j];
			if (p->ctype || r->ctype)
				continue;
			bool same = p->match == r->match &&
				    !strcmp(p->pattern, r->pattern);
			if (same && (p->methods & r->methods))
				fail_msg("rows %zu and %zu overlap", j, i);
			if (same && j + 1 < i &&
			    (t[j + 1].match != r->match ||
			     strcmp(t[j + 1].pattern, r->pattern)))
				fail_msg("rows of %s are not adjacent",
					 r->pattern);
			if (!same && p->match == HTTP_PREFIX &&
			    !strncmp(r->pattern, p->pattern,
				     strlen(p->pattern)))
				fail_msg("%s (row %zu) hides %s (row %zu)",
					 p->pattern, j, r->pattern, i);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_path_reaches_its_row),
		cmocka_unit_test(wrong_method_is_405),
		cmocka_unit_test(unknown_path_is_404),
		cmocka_unit_test(handle_messages_by_content_type),
		cmocka_unit_test(methods_and_allow_text),
		cmocka_unit_test(permits),
		cmocka_unit_test(loopback_addresses),
		cmocka_unit_test(plain_writes_only_from_loopback),
		cmocka_unit_test(principal_from_bearer),
		cmocka_unit_test(table_is_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
