/* Internals shared by the HTTP modules (http*.c): the server and thread
 * state, the request as handlers see it, and each module's entry points.
 * Not for code outside src/http/ (the unit tests and fuzz_http aside). */
#ifndef IDN_NODE_HTTP_INT_H
#define IDN_NODE_HTTP_INT_H

#include <h2o.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "handler.h"
#include "http.h"
#include "http_route.h"
#include "msg.h"
#include "value.h"

#define HTTP_Q_MAX 64	   /* query parameters kept per request */
#define HTTP_TOKENS_MAX 64 /* live management login tokens */

/* Latency buckets of the histograms, in seconds. */
#define HTTP_LAT_BUCKETS 12
extern const double http_lat_bounds[HTTP_LAT_BUCKETS];

typedef struct http_thr http_thr_t;

/* The TLS context of the HTTPS listeners (http_tls.c). */
typedef struct http_tls http_tls_t;

/* The handle.net REST API's sessions (http_auth.c). */
typedef struct http_auth http_auth_t;

/* Activity the dashboard and /metrics show (http_stats.c). */
typedef struct http_stats http_stats_t;

struct http_thr {
	http_server_t *srv;
	int id;
	pthread_t thread;
	bool started;
	bool drained;  /* every connection closed at stop */
	bool disposed; /* its context and loop are gone */
	h2o_evloop_t *loop;
	h2o_context_t ctx;
	h2o_accept_ctx_t actx;
	int lfd; /* the plain HTTP listener, -1 when http is off */
	h2o_socket_t *lsock;
	h2o_accept_ctx_t tactx; /* HTTPS: ssl_ctx set at each accept */
	int tfd;		/* the HTTPS listener, -1 when https is off */
	h2o_socket_t *tsock;
	handler_t h;
	idn_arena_t arena; /* decoded replies and parsed input, per request */
	uint8_t *frame;	   /* request being built: envelope + message */
	uint8_t *body;	   /* request body being built */
	uint8_t *rep;	   /* reply frames of the last call, concatenated */
	size_t replen, repcap;
	atomic_int conns; /* open connections, sampled by the loop */
	/* the request being served: its peer (for the abuse limits, the
	 * loopback rule and the audit log of the writes it runs) and its
	 * HTTP identity's name */
	struct sockaddr_storage peer;
	bool has_peer;
	const char *user;
	/* the request's principal, which its Handle messages run as */
	principal_t who;
};

typedef struct {
	char token[65];
	char user[64];
	time_t expires;
	/* an account's token (account.h): the admin it acts as; "" for the
	 * admin secret's login */
	char admin[IDN_IDENT_MAX + 1];
	uint32_t index;
} http_token_t;

struct http_server {
	node_ctx_t *node;
	const node_conf_t *conf;
	h2o_globalconf_t gconf;
	http_thr_t *thr;
	int nthr;
	atomic_int stop;
	/* from http-admin-token-file; "" = writes off. Guarded by tok_lock:
	 * http_reload replaces it while requests run */
	char secret[256];
	pthread_mutex_t tok_lock;
	http_token_t tokens[HTTP_TOKENS_MAX];
	http_stats_t *stats;
	char webroot[1024];
	http_tls_t *tls;   /* NULL when https is off */
	http_auth_t *auth; /* handle.net sessions (http_auth.c) */
};

/* One request as the route handlers see it. */
typedef struct hreq {
	http_thr_t *t;
	h2o_req_t *req;
	char *path; /* percent-decoded path without the query, NUL-ended */
	size_t plen;
	const char *arg; /* the path after a prefix row's pattern, else "" */
	int nq;
	char *qk[HTTP_Q_MAX], *qv[HTTP_Q_MAX]; /* decoded query pairs */
	/* who asks: anonymous, or PRINCIPAL_HTTP for the holder of the admin
	 * token or of a login token */
	principal_t who;
	const http_route_t *route; /* the row that ran; NULL: none */
	const char *op; /* for the metrics: "resolve", "create", ... */
	char sess[33];	/* the live handle.net session it names, "" none */
	uint32_t rc;	/* Handle response code of the operation, 0 none */
} hreq_t;

/* ---- http_tls.c: HTTPS ---- */

/* The TLS context for https from c's http-tls-cert and http-tls-key
 * (TLS 1.2 or later, ECDHE with AEAD suites, no compression, no
 * renegotiation, HTTP/1.1). *out = NULL and 0 when https is off. Returns
 * -1 after logging one line: https without a certificate and key (or
 * they without https), a file that cannot be read, is not PEM, or a key
 * that does not match the certificate. */
int http_tls_new(const node_conf_t *c, http_tls_t **out);
/* The context for a TLS accept on a loop thread: it stays valid for at
 * least two minutes after a reload replaces it. */
SSL_CTX *http_tls_ctx(http_tls_t *t);
/* Frees t and every context it made. NULL is fine. */
void http_tls_free(http_tls_t *t);

/* ---- http_sec.c: hostile input and hostile pages ---- */

/* Whether s[0..len) (a decoded path) is UTF-8 without control
 * characters (C0, DEL). */
bool http_bytes_valid(const char *s, size_t len);
/* The same for a raw, percent-encoded path; false for a malformed escape
 * too. The decoded copy is taken from pool. */
bool http_raw_path_valid(h2o_mem_pool_t *pool, const char *s, size_t len);
/* url[0..len) as a Location value, from pool: NULL when it holds a
 * control character (C0, DEL: it is then no redirect target); bytes
 * outside printable ASCII, space included, are percent-encoded. */
const char *http_location(h2o_mem_pool_t *pool, const char *url, size_t len);
/* Puts the security headers (nosniff, CSP, X-Frame-Options,
 * Referrer-Policy) on every response of pc. */
void http_sec_register(h2o_pathconf_t *pc);
/* Allows r's Origin to read the answer when r ran a public read (an
 * anonymous GET or HEAD of an anonymous row), as http-cors-origin says;
 * nothing else ever gets CORS headers. */
void http_cors(hreq_t *r, unsigned method);
/* Answers a CORS preflight (OPTIONS with Origin and
 * Access-Control-Request-Method): 204 allowing GET and HEAD of a public
 * path, else 403 without CORS headers. False when r is no preflight. */
bool http_preflight(hreq_t *r, const http_chan_t *chan);

/* ---- http_scheme.c: identifiers of other schemes (browser proxy) ---- */

enum { HTTP_SCHEME_INVALID = 1, HTTP_SCHEME_UNMAPPED = 2 };

/* Maps in (the proxy path without its '/') to the identifier to resolve,
 * NUL-terminated in out[0..cap): a GS1 key, element string or Digital
 * Link (also a DL path served here, "01/<gtin>/21/<serial>"), OID, Ecode,
 * DOI or Handle URI becomes its canonical identifier (scheme.h) under the
 * prefix c configures for the scheme; other text is copied as it is.
 * *scheme gets the recognised scheme's name ("GTIN", "SGTIN", "OID",
 * "DOI", "national", "handle"...) or NULL. Returns 0;
 * HTTP_SCHEME_INVALID when the text has a scheme's shape but is not valid
 * (err names what is wrong, e.g. the check digit expected); or
 * HTTP_SCHEME_UNMAPPED when c maps no prefix for its scheme (err says
 * which setting). */
int http_scheme_map(const node_conf_t *c, const char *in, char *out, size_t cap,
		    const char **scheme, char *err, size_t errcap);

/* ---- http.c: responses and request helpers ---- */

void http_reply(hreq_t *r, int status, const char *ctype, const char *body,
		size_t len);
/* Sends j (reference stolen) as JSON; ?pretty indents it. */
void http_reply_json(hreq_t *r, int status, json_t *j);
/* A new {"responseCode":rc} object (the caller's reference) to which a
 * reply adds its fields; sets r->rc, the code the access log records. */
json_t *http_reply_obj(hreq_t *r, uint32_t rc);
/* {"responseCode":rc,"message":msg} with the status. */
void http_reply_rc(hreq_t *r, int status, uint32_t rc, const char *msg);
void http_add_header(hreq_t *r, const h2o_token_t *tok, const char *v);
/* The same for a header without an h2o token; name in lower case. */
void http_add_header_str(hreq_t *r, const char *name, const char *v);

/* The first value of query parameter name, NULL if absent. */
const char *http_q(const hreq_t *r, const char *name);
/* True when name is present and not "false"/"0" (a bare "?pretty" too). */
bool http_q_flag(const hreq_t *r, const char *name);
bool http_method(const hreq_t *r, const char *m);
/* Decodes %XX in s[0..len) into a NUL-ended pool string; NULL when an
 * escape is malformed or decodes to NUL. */
char *http_pct_decode(h2o_mem_pool_t *pool, const char *s, size_t len,
		      bool plus_space, size_t *out_len);
/* Splits a query string (without '?') into r's decoded pairs (qk, qv,
 * nq), from r->req's pool. Returns 0, or -1 on a malformed escape or more
 * than HTTP_Q_MAX pairs. */
int http_parse_query(hreq_t *r, const char *q, size_t len);
/* Parses the request body as a JSON object; replies 400 and returns NULL
 * when it is not one. */
json_t *http_body_json(hreq_t *r);

/* Issues a management login token for user (64 hex digits into out). */
int http_token_issue(http_server_t *s, const char *user, char out[65]);
/* The same for an account (account.h): its holder is PRINCIPAL_ADMIN
 * admin:index. */
int http_token_issue_admin(http_server_t *s, const char *user,
			   const char *admin, uint32_t index, char out[65]);
/* Ends login token tok (len bytes) before its time: true when it was
 * live. */
bool http_token_revoke(http_server_t *s, const char *tok, size_t len);
/* Whether the node has an admin secret (writes and login enabled), and
 * whether p (len bytes) is that secret. */
bool http_secret_set(http_server_t *s);
bool http_secret_match(http_server_t *s, const char *p, size_t len);
/* Who sends req: PRINCIPAL_HTTP when its "Authorization: Bearer T" holds
 * the node's admin token or a live login token of the admin secret,
 * PRINCIPAL_ADMIN (the account's admin, copied into req's pool) for a
 * live token of an account, else anonymous (no header, another scheme, a
 * wrong or expired token). */
principal_t http_principal(http_server_t *s, h2o_req_t *req);

/* Writes the audit line of a failed authentication of r (docs/audit.md):
 * method ("bearer token", "login"), the user name a login claimed (NULL
 * for none) and why. Nothing when no audit log is configured. */
void http_audit_auth(hreq_t *r, const char *method, const char *user,
		     const char *why);

/* ---- the Handle message path (http_api.c) ---- */

typedef struct {
	uint32_t rc;	       /* response code of the first reply message */
	idn_msg_t msg;	       /* the first reply message, decoded */
	const uint8_t *frames; /* every reply frame, concatenated */
	size_t len;
	int nframes;
} hdl_reply_t;

/* Runs one request (op, flags, body of blen bytes in t->body) through the
 * thread's handler, as the control socket when admin, else as a network
 * client. Returns 0 with *out filled in, or -1 (no reply). The reply lives
 * until the next call. */
int http_hdl_call(http_thr_t *t, uint32_t op, uint32_t flags, size_t blen,
		  bool admin, hdl_reply_t *out);

/* http_hdl_call for the resolution request q (flags IDN_OF_*). Returns 0
 * with *hr filled in, else the code to answer with and *msg why:
 * IDN_RC_INVALID_HANDLE (the identifier does not fit a request) or
 * IDN_RC_ERROR (no reply). */
uint32_t http_hdl_resolve(http_thr_t *t, const idn_resolve_req_t *q,
			  uint32_t flags, bool admin, hdl_reply_t *hr,
			  const char **msg);

/* The error text of a reply (pool-allocated for r), "" when it has none. */
const char *http_hdl_text(hreq_t *r, const hdl_reply_t *hr);

/* Whether the Handle answer rc to r's last request is a write the store
 * could not do for now (its PostgreSQL primary is down) or whose outcome
 * it cannot tell (the library error the thread's handler answered with):
 * every API answers 503, the client to come back, after resolving the
 * identifier in the second case. */
bool http_store_unavailable(const hreq_t *r, uint32_t rc);

/* HTTP status for a Handle response code (docs/architecture.md, HTTP status).
 */
int http_status_for_rc(uint32_t rc);

/* Resolves id for r; on rc 1 *values gets the values array (JSON). Returns
 * the response code, or 0 when the request could not be made (r replied). */
uint32_t http_resolve(hreq_t *r, const char *id, bool public_only,
		      const char *const *types, int ntypes, const uint32_t *idx,
		      int nidx, json_t **values, const char **message);

/* Applies a write. op is IDN_OC_*; v/n the values (create/add/modify),
 * idx/nidx the indexes (remove). Returns the response code; *message gets
 * the node's error text (pool or static). */
uint32_t http_write(hreq_t *r, uint32_t op, const char *id, bool overwrite,
		    const idn_value_t *v, uint32_t n, const uint32_t *idx,
		    uint32_t nidx, const char **message);

/* http_hdl_call for principal who (the request's: the operator's
 * rights for an HTTP identity, its HS_ADMIN rights for an admin). */
int http_hdl_call_as(http_thr_t *t, uint32_t op, uint32_t flags, size_t blen,
		     const principal_t *who, hdl_reply_t *out);

/* ---- http_rest.c: the REST API as the HANDLE.NET manual has it ---- */

/* Query parameter name as a boolean (true/false, 1/0, yes/no in any
 * case; present without a value: true) into *out, dflt when absent.
 * Returns 0, or -1 for another value. */
int http_q_bool(const hreq_t *r, const char *name, bool dflt, bool *out);
/* The repeatable ?index=N parameters into out; with various non-NULL,
 * index=various sets *various instead. Returns the count or -1. */
int http_q_indexes(const hreq_t *r, uint32_t *out, bool *various);
/* The REST API's HTTP status for a Handle response code: as
 * http_status_for_rc, but 400 for 301 (not responsible), as the manual
 * says. */
int http_rest_status(uint32_t rc);
/* A new {"responseCode":rc,"handle":id,"message":msg}, the REST API's
 * answer object; id NULL and msg NULL or "" are left out. */
json_t *http_rc_json(uint32_t rc, const char *id, const char *msg);
/* {"responseCode":rc,"handle":id,"message":msg} with the REST status
 * (ok_status on success, 503 when the store cannot write now). */
void http_reply_result(hreq_t *r, uint32_t rc, const char *id, const char *msg,
		       int ok_status);
/* Whether this node is neither homed for id's prefix nor above it (a
 * foreign prefix: 400 with responseCode 301). */
bool http_not_responsible(hreq_t *r, const char *id);
/* Puts Cache-Control: max-age (the smallest TTL of v[0..n)) and an ETag of
 * body on r's public answer; answers 304 and returns true when
 * If-None-Match names that ETag. */
bool http_cache_public(hreq_t *r, const idn_value_t *v, uint32_t n,
		       const char *body, size_t len);

/* ---- http_auth.c: who speaks, as the handle.net REST API authenticates
 * (docs/http-api.md, "Authentication") ---- */

/* The fields of "Authorization: Handle k=v, k="v", ..." (NULL: absent;
 * id percent-decoded). */
typedef struct {
	bool present; /* the Handle scheme was used */
	const char *version, *session, *id, *cnonce, *type, *alg, *sig, *salt,
		*iter, *length;
} http_hauth_t;

/* Parses the parameters after "Handle " (s[0..len)) into *h (zeroed by
 * the caller), the values NUL-terminated from pool. Returns 0, or -1 when
 * malformed. */
int http_auth_parse(h2o_mem_pool_t *pool, const char *s, size_t len,
		    http_hauth_t *h);

int http_auth_new(http_auth_t **out);
void http_auth_free(http_auth_t *a);
/* Authenticates r from Authorization: Basic (index%3Ahandle and the
 * HS_SECKEY secret), Authorization: Handle (a signature over a session's
 * nonce), a session authenticated earlier (sessionId in the header, the
 * sessionId parameter or the JSESSIONID cookie) or a TLS client
 * certificate naming index:handle: r->who becomes that admin
 * (PRINCIPAL_ADMIN, identifier from the request's pool). Returns 0 (also
 * when nothing authenticates: r->who stays anonymous), or -1 after
 * answering 401 for credentials that do not verify. */
int http_auth(hreq_t *r);
/* The WWW-Authenticate challenges of a 401 on the REST API: Basic, and
 * Handle with a new session's id and nonce. */
void http_auth_challenge(hreq_t *r);
void http_sessions_new(hreq_t *r);  /* POST /api/sessions */
void http_sessions_this(hreq_t *r); /* GET|POST|PUT /api/sessions/this */
void http_sessions_end(hreq_t *r);  /* DELETE /api/sessions/this */

/* ---- route handlers (rows of http_route.c); r->arg is the identifier
 * for the /api/handles/ rows ---- */

void http_api_get(hreq_t *r);	       /* GET /api/handles/{id} */
void http_api_put(hreq_t *r);	       /* PUT /api/handles/{id} */
void http_api_delete(hreq_t *r);       /* DELETE /api/handles/{id} */
void http_api_list(hreq_t *r);	       /* GET /api/handles?prefix= */
void http_api_prefixes(hreq_t *r);     /* GET /api/prefixes */
void http_api_site(hreq_t *r);	       /* GET /api/site */
void http_api_not_found(hreq_t *r);    /* any other /api/... */
void http_search(hreq_t *r);	       /* GET /api/search (http_search.c) */
void http_hdl_message(hreq_t *r);      /* POST application/x-hdl-message */
void http_proxy(hreq_t *r);	       /* GET /{identifier} */
void http_console_redirect(hreq_t *r); /* / -> /console/ (http.c) */

/* http_snms.c: the guide's SNMS API: login (/identity/token, its v1
 * form), logout, /identityv2/data... */
void http_snms_login(hreq_t *r);
void http_snms_login_v1(hreq_t *r);
void http_snms_logout(hreq_t *r);
void http_snms_detail(hreq_t *r);
void http_snms_create(hreq_t *r);
void http_snms_update(hreq_t *r);
void http_snms_delete(hreq_t *r);
void http_snms_batch_create(hreq_t *r);
void http_snms_batch_update(hreq_t *r);
void http_snms_batch_delete(hreq_t *r);
/* The HS_ADMIN value (index SNMS_OWNER_INDEX, every right) naming the
 * admin of r's account (PRINCIPAL_ADMIN) into *out, from the thread's
 * arena: what the guide's API registers stays its to change. False for
 * any other principal. */
#define SNMS_OWNER_INDEX 100
bool http_snms_owner(hreq_t *r, idn_value_t *out);
/* http_snms_tpl.c: /snms/api/v5/template in the guide's shape (the
 * former shape handed to http_mgmt_tpl_*) */
void http_snms_tpl_get(hreq_t *r);
void http_snms_tpl_create(hreq_t *r);
void http_snms_tpl_update(hreq_t *r);
void http_snms_tpl_delete(hreq_t *r);

/* http_mgmt.c: /snms/api/v5/... */
void http_mgmt_data_get(hreq_t *r);
void http_mgmt_data_create(hreq_t *r);
void http_mgmt_data_update(hreq_t *r);
void http_mgmt_data_delete(hreq_t *r);
void http_mgmt_batch_create(hreq_t *r);
void http_mgmt_batch_update(hreq_t *r);
void http_mgmt_batch_delete(hreq_t *r);
void http_mgmt_tpl_get(hreq_t *r);
void http_mgmt_tpl_create(hreq_t *r);
void http_mgmt_tpl_update(hreq_t *r);
void http_mgmt_tpl_delete(hreq_t *r);
void http_mgmt_tpl_publish(hreq_t *r);
void http_mgmt_tpl_withdraw(hreq_t *r);
void http_mgmt_not_found(hreq_t *r);
/* {"status":status,"message":msg,"data":data} with HTTP status http;
 * data (reference stolen) may be NULL. */
void http_mgmt_reply(hreq_t *r, int status, int http, const char *msg,
		     json_t *data);
/* The values of type vtype of template record id (P/TEMPLATE/NAME) at
 * index (0: all of that type) into *v, *n (the thread's arena). Returns
 * the response code, IDN_RC_NOT_FOUND or IDN_RC_VALUES_NOT_FOUND with
 * *msg "no such template". */
uint32_t http_tpl_fetch(hreq_t *r, const char *id, uint32_t index,
			const char *vtype, idn_value_t **v, uint32_t *n,
			const char **msg);
/* The management API's status for the Handle response code rc of r's
 * last request, and the HTTP status into *http. */
int http_mgmt_status(const hreq_t *r, uint32_t rc, int *http);
/* Replies text for a request whose last operation answered rc: the status
 * and HTTP status http_mgmt_status gives (ok_http in place of 200 on
 * success), data (reference stolen) may be NULL. Sets r->rc. */
void http_mgmt_reply_rc(hreq_t *r, uint32_t rc, int ok_http, const char *text,
			json_t *data);
/* The management API's "status": success, not logged in, business
 * error (bad input, not found, exists), no permission, internal error. */
enum {
	HTTP_MGMT_OK = 1,
	HTTP_MGMT_LOGIN = -1,
	HTTP_MGMT_BUSINESS = -2,
	HTTP_MGMT_PERM = -3,
	HTTP_MGMT_INTERNAL = -4
};

/* ---- http_json.c: values as handle.net JSON ---- */
/* The first member name of object obj that is not among keys (a NULL-ended
 * list), or NULL when there is none: a body's unknown field. */
const char *http_unknown_key(json_t *obj, const char *const *keys);

json_t *http_value_json(const idn_value_t *v, idn_arena_t *a);
/* Parses one value object ({index,type,data:{format,value}|"text",ttl,
 * permissions}) into v, allocating from a. Unknown fields are an error.
 * Returns 0, or -1 with a message in err. */
int http_value_parse(json_t *j, idn_value_t *v, idn_arena_t *a, char *err,
		     size_t errlen);
/* Parses a JSON array of values. Returns 0 or -1 with err. */
int http_values_parse(json_t *arr, idn_value_t **out, uint32_t *n,
		      idn_arena_t *a, char *err, size_t errlen);
/* The compact JSON text json_dumps makes of an array of http_value_json
 * (byte for byte), written without jansson; with id, wrapped as the GET
 * reply {"responseCode":1,"handle":id,"values":[...]}. Allocated from a;
 * NULL when out of memory. */
char *http_values_text(const idn_value_t *v, uint32_t n, const char *id,
		       idn_arena_t *a, size_t *len);
json_t *http_site_json(const idn_hs_site_t *s);
/* A value's "ttl" given as text: an ISO 8601 duration (PT1H: relative
 * seconds) or an ISO 8601 time with a zone (an absolute expiry, Unix
 * seconds) into *ttl. Returns IDN_TTL_RELATIVE, IDN_TTL_ABSOLUTE, or -1. */
int http_ttl_iso(const char *s, uint32_t *ttl);
json_t *http_jstrn(const uint8_t *p, size_t len);
void http_fmt_time(uint32_t t, char *out, size_t cap);

/* ---- http_stats.c ---- */

int http_stats_new(http_server_t *s, http_stats_t **out);
void http_stats_free(http_stats_t *st);
/* Records one finished HTTP request. */
void http_stats_request(http_stats_t *st, const hreq_t *r, int status,
			double seconds);
/* Records a resolution or registration of an identifier (dashboard). */
void http_stats_ident(http_stats_t *st, int thr, const char *id, bool write,
		      bool ok);
void http_stats_json(hreq_t *r); /* GET /api/stats */
void http_metrics(hreq_t *r);	 /* GET /metrics */

#endif
