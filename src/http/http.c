/* The HTTP server: threads, listeners, responses, login tokens, HTTP
 * principals and dispatch through the route table (http_route.h). */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "http_int.h"
#include "log.h"
#include "net.h"

const double http_lat_bounds[HTTP_LAT_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01,	0.025,	 0.05,	 0.1,	0.5,	2.5};

/* ---- responses ---- */

void http_add_header(hreq_t *r, const h2o_token_t *tok, const char *v)
{
	h2o_add_header(&r->req->pool, &r->req->res.headers, tok, NULL, v,
		       strlen(v));
}

void http_add_header_str(hreq_t *r, const char *name, const char *v)
{
	h2o_add_header_by_str(&r->req->pool, &r->req->res.headers, name,
			      strlen(name), 0, NULL, v, strlen(v));
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 300:
		return "Multiple Choices";
	case 302:
		return "Found";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

void http_reply(hreq_t *r, int status, const char *ctype, const char *body,
		size_t len)
{
	r->req->res.status = status;
	r->req->res.reason = reason(status);
	if (ctype)
		http_add_header(r, H2O_TOKEN_CONTENT_TYPE, ctype);
	r->req->res.content_length = len; /* not chunked: keep-alive */
	h2o_send_inline(r->req, body, len);
}

void http_reply_json(hreq_t *r, int status, json_t *j)
{
	size_t flags = JSON_COMPACT;
	if (http_q_flag(r, "pretty"))
		flags = JSON_INDENT(2);
	char *s = j ? json_dumps(j, flags) : NULL;
	json_decref(j);
	if (s == NULL) {
		http_reply(r, 500, "application/json", "{\"responseCode\":2}",
			   17);
		return;
	}
	http_add_header(r, H2O_TOKEN_CACHE_CONTROL, "no-store");
	http_reply(r, status, "application/json", s, strlen(s));
	free(s);
}

json_t *http_reply_obj(hreq_t *r, uint32_t rc)
{
	json_t *j = json_object();
	r->rc = rc;
	json_object_set_new(j, "responseCode", json_integer(rc));
	return j;
}

void http_reply_rc(hreq_t *r, int status, uint32_t rc, const char *msg)
{
	json_t *j = http_reply_obj(r, rc);
	if (msg && *msg)
		json_object_set_new(j, "message", json_string(msg));
	http_reply_json(r, status, j);
}

/* ---- request helpers ---- */

char *http_pct_decode(h2o_mem_pool_t *pool, const char *s, size_t len,
		      bool plus_space, size_t *out_len)
{
	char *o = h2o_mem_alloc_pool(pool, len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return NULL;
			int hi = idn_hex_digit((unsigned char)s[i + 1]);
			int lo = idn_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		} else if (c == 0) {
			return NULL;
		}
		o[n++] = c;
	}
	o[n] = 0;
	if (out_len)
		*out_len = n;
	return o;
}

int http_parse_query(hreq_t *r, const char *q, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && q[end] != '&')
			end++;
		if (end > i) {
			size_t eq = i;
			while (eq < end && q[eq] != '=')
				eq++;
			if (r->nq == HTTP_Q_MAX)
				return -1;
			char *k = http_pct_decode(&r->req->pool, q + i, eq - i,
						  true, NULL);
			char *v = eq < end ? http_pct_decode(
						     &r->req->pool, q + eq + 1,
						     end - eq - 1, true, NULL)
					   : (char *)"";
			if (k == NULL || v == NULL)
				return -1;
			r->qk[r->nq] = k;
			r->qv[r->nq] = v;
			r->nq++;
		}
		i = end + 1;
	}
	return 0;
}

const char *http_q(const hreq_t *r, const char *name)
{
	for (int i = 0; i < r->nq; i++)
		if (!strcmp(r->qk[i], name))
			return r->qv[i];
	return NULL;
}

bool http_q_flag(const hreq_t *r, const char *name)
{
	const char *v = http_q(r, name);
	return v != NULL && strcmp(v, "false") && strcmp(v, "0");
}

bool http_method(const hreq_t *r, const char *m)
{
	return h2o_memis(r->req->method.base, r->req->method.len, m, strlen(m));
}

json_t *http_body_json(hreq_t *r)
{
	json_error_t e;
	json_t *j = NULL;
	if (r->req->entity.base != NULL)
		j = json_loadb(r->req->entity.base, r->req->entity.len,
			       JSON_REJECT_DUPLICATES, &e);
	if (j == NULL || !json_is_object(j)) {
		char msg[256];
		if (j == NULL && r->req->entity.base != NULL)
			snprintf(msg, sizeof(msg), "invalid JSON: %s (line %d)",
				 e.text, e.line);
		else
			snprintf(msg, sizeof(msg),
				 "the body must be a JSON object");
		json_decref(j);
		http_reply_rc(r, 400, IDN_RC_PROTOCOL_ERROR, msg);
		return NULL;
	}
	return j;
}

/* ---- login tokens ---- */

int http_token_issue(http_server_t *s, const char *user, char out[65])
{
	return http_token_issue_admin(s, user, "", 0, out);
}

int http_token_issue_admin(http_server_t *s, const char *user,
			   const char *admin, uint32_t index, char out[65])
{
	uint8_t raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	idn_hex_encode(raw, sizeof(raw), out);
	time_t now = time(NULL);
	pthread_mutex_lock(&s->tok_lock);
	int slot = 0;
	for (int i = 0; i < HTTP_TOKENS_MAX; i++) {
		if (s->tokens[i].expires <= now) {
			slot = i;
			break;
		}
		if (s->tokens[i].expires < s->tokens[slot].expires)
			slot = i; /* full: the oldest goes */
	}
	http_token_t *t = &s->tokens[slot];
	memcpy(t->token, out, 65);
	snprintf(t->user, sizeof(t->user), "%s", user);
	snprintf(t->admin, sizeof(t->admin), "%s", admin);
	t->index = index;
	t->expires = now + s->conf->http_token_ttl;
	pthread_mutex_unlock(&s->tok_lock);
	return 0;
}

bool http_token_revoke(http_server_t *s, const char *tok, size_t len)
{
	bool found = false;
	time_t now = time(NULL);
	pthread_mutex_lock(&s->tok_lock);
	for (int i = 0; len == 64 && i < HTTP_TOKENS_MAX; i++)
		if (s->tokens[i].expires > now &&
		    CRYPTO_memcmp(s->tokens[i].token, tok, 64) == 0) {
			memset(&s->tokens[i], 0, sizeof(s->tokens[i]));
			found = true;
		}
	pthread_mutex_unlock(&s->tok_lock);
	return found;
}

bool http_secret_set(http_server_t *s)
{
	pthread_mutex_lock(&s->tok_lock);
	bool set = s->secret[0] != 0;
	pthread_mutex_unlock(&s->tok_lock);
	return set;
}

bool http_secret_match(http_server_t *s, const char *p, size_t len)
{
	pthread_mutex_lock(&s->tok_lock);
	size_t sl = strlen(s->secret);
	bool ok = sl > 0 && sl == len && CRYPTO_memcmp(s->secret, p, len) == 0;
	pthread_mutex_unlock(&s->tok_lock);
	return ok;
}

/* Who holds tok: the node's admin token ("admin-token"), a live login
 * token of the admin secret ("admin") or of an account (its admin, its
 * name as user, copied into pool); anonymous when none. */
static principal_t token_holder(http_server_t *s, const char *tok, size_t len,
				h2o_mem_pool_t *pool)
{
	principal_t who = {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL};
	if (len == 0)
		return who;
	if (http_secret_match(s, tok, len)) {
		who.kind = PRINCIPAL_HTTP;
		who.user = "admin-token";
		return who;
	}
	if (len != 64)
		return who;
	time_t now = time(NULL);
	pthread_mutex_lock(&s->tok_lock);
	for (int i = 0; i < HTTP_TOKENS_MAX; i++) {
		const http_token_t *t = &s->tokens[i];
		if (t->expires <= now || CRYPTO_memcmp(t->token, tok, 64) != 0)
			continue;
		if (t->admin[0] == 0) {
			who.kind = PRINCIPAL_HTTP;
			who.user = "admin";
			break;
		}
		size_t al = strlen(t->admin), ul = strlen(t->user);
		char *a = h2o_mem_alloc_pool(pool, al + ul + 2);
		memcpy(a, t->admin, al + 1);
		memcpy(a + al + 1, t->user, ul + 1);
		who.kind = PRINCIPAL_ADMIN;
		who.admin = idn_bytes((const uint8_t *)a, al);
		who.index = t->index;
		who.user = a + al + 1;
		break;
	}
	pthread_mutex_unlock(&s->tok_lock);
	return who;
}

principal_t http_principal(http_server_t *s, h2o_req_t *req)
{
	principal_t who = {PRINCIPAL_ANONYMOUS, {NULL, 0}, 0, NULL};
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i < 0)
		return who;
	h2o_iovec_t v = req->headers.entries[i].value;
	if (v.len >= 7 && strncasecmp(v.base, "Bearer ", 7) == 0)
		who = token_holder(s, v.base + 7, v.len - 7, &req->pool);
	return who;
}

void http_audit_auth(hreq_t *r, const char *method, const char *user,
		     const char *why)
{
	http_thr_t *t = r->t;
	audit_t *a = t->srv->node->audit;
	if (a == NULL)
		return;
	audit_rec_t rec = {.event = AUDIT_AUTH,
			   .who = &r->who,
			   .transport = TRANSPORT_HTTP,
			   .peer = t->has_peer ? &t->peer : NULL,
			   .rc = IDN_RC_AUTH_FAILED,
			   .error = why,
			   .method = method,
			   .claimed_user = user};
	audit_write(a, &rec);
}

/* Notes who sends req on its thread, for the audit lines of the writes
 * it runs; a bearer token that is not valid is a failed authentication
 * (the request goes on as anonymous). */
static void note_caller(hreq_t *r)
{
	http_thr_t *t = r->t;
	h2o_req_t *req = r->req;
	t->user = r->who.user;
	t->who = r->who;
	if (t->srv->node->audit == NULL)
		return;
	if (r->who.kind == PRINCIPAL_ANONYMOUS &&
	    h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1) >= 0)
		http_audit_auth(r, "bearer token", NULL,
				"not a valid token: expired, revoked or wrong");
}

/* ---- dispatch ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void http_console_redirect(hreq_t *r)
{
	http_add_header(r, H2O_TOKEN_LOCATION, "/console/");
	http_reply(r, 302, "text/plain", "see /console/\n", 14);
}

/* 401 for a row that requires an identity, in the row's shape. */
static void refuse_anonymous(hreq_t *r)
{
	r->rc = IDN_RC_AUTH_NEEDED;
	http_add_header(r, H2O_TOKEN_WWW_AUTHENTICATE,
			"Bearer realm=\"idnode\"");
	if (r->route->style == HTTP_STYLE_REST)
		http_auth_challenge(r);
	if (r->route->style == HTTP_STYLE_MGMT) {
		http_mgmt_reply(r, HTTP_MGMT_LOGIN, 401,
				"not logged in: POST /identity/token, then "
				"send Authorization: Bearer <token>",
				NULL);
		return;
	}
	http_reply_rc(r, 401, IDN_RC_AUTH_NEEDED,
		      "authentication needed: Basic (index%3Ahandle and its "
		      "HS_SECKEY secret), Authorization: Handle, a client "
		      "certificate, or Authorization: Bearer <token>");
}

/* 403 for a write or a login over plain HTTP from another host. */
static void refuse_insecure(hreq_t *r)
{
	static const char msg[] =
		"writes and logins over plain HTTP are accepted from loopback "
		"only: use HTTPS";
	if (r->route->style == HTTP_STYLE_MGMT)
		http_mgmt_reply(r, HTTP_MGMT_PERM, 403, msg, NULL);
	else
		http_reply_rc(r, 403, IDN_RC_PROTOCOL_ERROR, msg);
}

static void refuse_method(hreq_t *r, unsigned allow)
{
	char text[64];
	http_allow_text(allow, text, sizeof(text));
	http_add_header(r, H2O_TOKEN_ALLOW, text);
	if (r->route->style == HTTP_STYLE_MGMT)
		http_mgmt_reply(r, HTTP_MGMT_BUSINESS, 405,
				"method not allowed", NULL);
	else
		http_reply_rc(r, 405, IDN_RC_PROTOCOL_ERROR,
			      "method not allowed");
}

/* How r came: over TLS, from loopback. */
static http_chan_t channel(hreq_t *r)
{
	h2o_req_t *req = r->req;
	http_chan_t c = {false, false, r->t->srv->conf->http_allow_insecure};
	c.tls = req->scheme == &H2O_URL_SCHEME_HTTPS;
	if (r->t->has_peer)
		c.loopback = http_addr_loopback((struct sockaddr *)&r->t->peer);
	return c;
}

/* Runs the route table's row for r (http_route.h). */
static void dispatch(hreq_t *r)
{
	h2o_req_t *req = r->req;
	http_chan_t chan = channel(r);
	if (http_preflight(r, &chan))
		return;
	unsigned method = http_method_bit(req->method.base, req->method.len);
	ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
	h2o_iovec_t ctype = ct >= 0 ? req->headers.entries[ct].value
				    : h2o_iovec_init(NULL, 0);
	unsigned allow;
	const http_route_t *row;
	http_route_result_t res =
		http_route_find(r->path, method, ctype.base, ctype.len, &r->who,
				&chan, &row, &allow);
	r->route = row;
	switch (res) {
	case HTTP_ROUTE_OK:
		r->arg = row->match == HTTP_PREFIX
				 ? r->path + strlen(row->pattern)
				 : "";
		http_cors(r, method);
		row->handler(r);
		break;
	case HTTP_ROUTE_NEED_TLS:
		refuse_insecure(r);
		break;
	case HTTP_ROUTE_NEED_IDENTITY:
		refuse_anonymous(r);
		break;
	case HTTP_ROUTE_BAD_METHOD:
		refuse_method(r, allow);
		break;
	case HTTP_ROUTE_NOT_FOUND:
		http_reply_rc(r, 404, 0, "no such resource");
		break;
	}
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	http_thr_t *t = *(http_thr_t **)h2o_context_get_handler_context(
		req->conn->ctx, self);
	double t0 = now_s();
	hreq_t r;
	memset(&r, 0, sizeof(r));
	r.t = t;
	r.req = req;
	r.arg = "";
	/* the peer, once: the abuse limits, the loopback rule and the audit
	 * log read it */
	memset(&t->peer, 0, sizeof(t->peer));
	t->has_peer = req->conn->callbacks->get_peername != NULL &&
		      req->conn->callbacks->get_peername(
			      req->conn, (struct sockaddr *)&t->peer) > 0;
	idn_arena_reset(&t->arena);
	size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	r.path = http_pct_decode(&req->pool, req->path.base, plen, false,
				 &r.plen);
	if (r.path == NULL || r.plen != strlen(r.path) ||
	    (req->query_at != SIZE_MAX &&
	     http_parse_query(&r, req->path.base + req->query_at + 1,
			      req->path.len - req->query_at - 1) != 0)) {
		http_reply_rc(&r, 400, IDN_RC_PROTOCOL_ERROR,
			      "malformed percent-encoding or query string");
	} else if (!http_bytes_valid(r.path, r.plen)) {
		http_reply_rc(&r, 400, IDN_RC_PROTOCOL_ERROR,
			      "the path holds a control character or is not "
			      "UTF-8");
	} else {
		r.who = http_principal(t->srv, req);
		/* handle.net credentials: an admin, or 401 when they fail */
		if (http_auth(&r) == 0) {
			note_caller(&r);
			dispatch(&r);
		}
	}
	http_stats_request(t->srv->stats, &r, req->res.status, now_s() - t0);
	return 0;
}

/* ---- threads ---- */

/* The connection a listener's callback announces, or NULL (the listener
 * reported an error, or accept(2) failed). */
static h2o_socket_t *accepted(h2o_socket_t *listener, const char *err)
{
	return err == NULL ? h2o_evloop_socket_accept(listener) : NULL;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	http_thr_t *t = listener->data;
	h2o_socket_t *sock = accepted(listener, err);
	if (sock != NULL)
		h2o_accept(&t->actx, sock);
}

static void on_accept_tls(h2o_socket_t *listener, const char *err)
{
	http_thr_t *t = listener->data;
	h2o_socket_t *sock = accepted(listener, err);
	if (sock == NULL)
		return;
	/* the context of the last reload, for this connection's handshake */
	t->tactx.ssl_ctx = http_tls_ctx(t->srv->tls);
	h2o_accept(&t->tactx, sock);
}

static int count_conns(http_thr_t *t)
{
	int n = 0;
	for (h2o_linklist_t *l = t->ctx.http1._conns.next;
	     l != &t->ctx.http1._conns; l = l->next)
		n++;
	return n;
}

/* Wakes every open HTTP/1 connection of the thread with a socket
 * shutdown, so h2o sees end of input and closes it itself. libh2o 2.2 has
 * no call for this: the connection is found from its link in
 * ctx->http1._conns (it follows h2o_conn_t and the socket pointer in
 * struct st_h2o_http1_conn_t), checked against its context before use. */
static void shutdown_conns(http_thr_t *t)
{
	for (h2o_linklist_t *l = t->ctx.http1._conns.next;
	     l != &t->ctx.http1._conns; l = l->next) {
		h2o_conn_t *c =
			(h2o_conn_t *)((char *)l - sizeof(h2o_socket_t *) -
				       sizeof(h2o_conn_t));
		if (c->ctx != &t->ctx || c->callbacks->get_socket == NULL)
			continue;
		h2o_socket_t *sock = c->callbacks->get_socket(c);
		if (sock != NULL)
			shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
	}
}

/* Frees the chunks a thread-local h2o recycler keeps for reuse (the
 * socket buffers), which would otherwise outlive the thread. */
static void drain_recycler(h2o_mem_recycle_t *rc)
{
	while (rc->_link != NULL) {
		void **c = (void **)rc->_link;
		rc->_link = *c;
		free(c);
		rc->cnt--;
	}
}

static bool timeouts_empty(http_thr_t *t)
{
	return h2o_linklist_is_empty(&t->ctx.zero_timeout._entries) &&
	       h2o_linklist_is_empty(&t->ctx.one_sec_timeout._entries) &&
	       h2o_linklist_is_empty(&t->ctx.hundred_ms_timeout._entries) &&
	       h2o_linklist_is_empty(&t->ctx.http1.req_timeout._entries) &&
	       h2o_linklist_is_empty(&t->ctx.handshake_timeout._entries);
}

static void *thr_main(void *arg)
{
	http_thr_t *t = arg;
	http_server_t *s = t->srv;
	time_t last = 0;
	while (!atomic_load(&s->stop)) {
		h2o_evloop_run(t->loop, 200);
		time_t now = time(NULL);
		if (now != last) {
			atomic_store(&t->conns, count_conns(t));
			last = now;
		}
	}
	/* stop accepting, let requests in progress finish, close the rest */
	h2o_socket_t **ls[] = {&t->lsock, &t->tsock};
	for (int i = 0; i < 2; i++) {
		if (*ls[i] == NULL)
			continue;
		h2o_socket_read_stop(*ls[i]);
		h2o_socket_close(*ls[i]);
		*ls[i] = NULL;
	}
	h2o_context_request_shutdown(&t->ctx);
	for (int i = 0; i < 40 && count_conns(t) > 0; i++) {
		if (i == 4) /* in-flight requests had their chance */
			shutdown_conns(t);
		h2o_evloop_run(t->loop, 50);
	}
	t->drained = count_conns(t) == 0;
	/* closed sockets and finished requests go on the zero and one-second
	 * timeouts: let those run empty before the context is disposed */
	for (int i = 0; i < 40 && t->drained && !timeouts_empty(t); i++)
		h2o_evloop_run(t->loop, 50);
	t->drained = t->drained && timeouts_empty(t);
	if (t->drained) {
		/* in this thread, so what it frees goes to its recyclers */
		h2o_context_dispose(&t->ctx);
		h2o_evloop_destroy(t->loop);
		t->loop = NULL;
		t->disposed = true;
	}
	drain_recycler(&h2o_socket_buffer_prototype.allocator);
	return NULL;
}

static int open_http_listener(const char *what, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (idn_addr_parse(addr, port, &ss, &sl) != 0) {
		log_error("invalid %s address '%s'", what, addr);
		return -1;
	}
	int fd = socket(ss.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("http socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, 1024) != 0) {
		log_error("cannot listen on %s %s: %s", what, addr,
			  strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void thr_fini(http_thr_t *t)
{
	if (t->disposed) {
		/* the thread disposed of its context and loop */
	} else if (t->loop != NULL) {
		if (t->lsock != NULL)
			h2o_socket_close(t->lsock);
		else if (t->lfd >= 0 && !t->started)
			close(t->lfd);
		if (t->tsock != NULL)
			h2o_socket_close(t->tsock);
		else if (t->tfd >= 0 && !t->started)
			close(t->tfd);
		/* h2o asserts on connections still open: leave them */
		if (t->drained || !t->started) {
			h2o_context_dispose(&t->ctx);
			h2o_evloop_destroy(t->loop);
		} else {
			log_warn("http: connections still open at exit");
		}
	} else {
		if (t->lfd >= 0)
			close(t->lfd);
		if (t->tfd >= 0)
			close(t->tfd);
	}
	handler_fini(&t->h);
	idn_arena_free(&t->arena);
	free(t->frame);
	free(t->body);
	free(t->rep);
}

static int thr_init(http_server_t *s, http_thr_t *t, int id)
{
	t->srv = s;
	t->id = id;
	t->lfd = -1;
	t->tfd = -1;
	idn_arena_init(&t->arena, 0);
	t->frame = malloc(IDN_ENV_LEN + IDN_MSG_MAX);
	t->body = malloc(IDN_MSG_MAX);
	if (t->frame == NULL || t->body == NULL ||
	    handler_init(&t->h, s->node, true) != 0)
		return -1;
	const node_conf_t *c = s->conf;
	if (c->http[0] &&
	    (t->lfd = open_http_listener("http", c->http, 8000)) < 0)
		return -1;
	if (c->https[0] &&
	    (t->tfd = open_http_listener("https", c->https, 8443)) < 0)
		return -1;
	t->loop = h2o_evloop_create();
	h2o_context_init(&t->ctx, t->loop, &s->gconf);
	t->actx.ctx = t->tactx.ctx = &t->ctx;
	t->actx.hosts = t->tactx.hosts = s->gconf.hosts;
	if (t->lfd >= 0) {
		t->lsock = h2o_evloop_socket_create(t->loop, t->lfd,
						    H2O_SOCKET_FLAG_DONT_READ);
		t->lsock->data = t;
		h2o_socket_read_start(t->lsock, on_accept);
	}
	if (t->tfd >= 0) {
		t->tsock = h2o_evloop_socket_create(t->loop, t->tfd,
						    H2O_SOCKET_FLAG_DONT_READ);
		t->tsock->data = t;
		h2o_socket_read_start(t->tsock, on_accept_tls);
	}
	return 0;
}

/* The handler's per-thread context pointer: h2o gives each context its
 * own copy of the handler's context slot. */
static void on_context_init(h2o_handler_t *self, h2o_context_t *ctx)
{
	http_thr_t *t = (http_thr_t *)((char *)ctx - offsetof(http_thr_t, ctx));
	http_thr_t **slot = malloc(sizeof(*slot));
	if (slot != NULL)
		*slot = t;
	h2o_context_set_handler_context(ctx, self, slot);
}

static void on_context_dispose(h2o_handler_t *self, h2o_context_t *ctx)
{
	free(h2o_context_get_handler_context(ctx, self));
}

/* The console's files go to libh2o's file handler, which decodes the
 * path itself: "index.html%00.js" would be served as index.html under a
 * JavaScript type. Paths with a control character or that are not UTF-8
 * stop here. */
static int console_guard(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	if (http_raw_path_valid(&req->pool, req->path.base, plen))
		return -1; /* to the file handler */
	h2o_send_error_400(req, "Bad Request",
			   "the path holds a control character or is not "
			   "UTF-8\n",
			   0);
	return 0;
}

static int read_secret(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		log_error("cannot read http-admin-token-file %s: %s", path,
			  strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		log_error("http-admin-token-file %s is readable by others "
			  "(mode %04o): chmod 600 it",
			  path, (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -1;
	}
	if (fgets(out, (int)cap, f) == NULL)
		out[0] = 0;
	fclose(f);
	size_t n = strlen(out);
	while (n > 0 &&
	       (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = 0;
	if (n < 16) {
		log_error("%s: the admin token must be at least 16 characters",
			  path);
		return -1;
	}
	return 0;
}

/* The console's installed home, compiled in by the Makefile from PREFIX;
 * --http-root overrides it. */
#ifndef IDN_WEBDIR
#define IDN_WEBDIR "/usr/local/share/idnode/web"
#endif

static void find_webroot(http_server_t *s)
{
	if (s->conf->http_root[0]) {
		snprintf(s->webroot, sizeof(s->webroot), "%s",
			 s->conf->http_root);
		return;
	}
	/* next to the binary (build/idnode, build/x/idnode, an installed
	 * PREFIX/sbin/idnode moved with its tree), then the installed home,
	 * then ./web */
	char exe[900];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	static const char *const rel[] = {"/../web", "/../../web",
					  "/../share/idnode/web"};
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		for (int i = 0; i < 3; i++) {
			char p[1024];
			struct stat st;
			snprintf(p, sizeof(p), "%s%s/index.html", exe, rel[i]);
			if (stat(p, &st) == 0) {
				snprintf(s->webroot, sizeof(s->webroot), "%s%s",
					 exe, rel[i]);
				return;
			}
		}
	}
	/* where `make install` put them (PREFIX/share/idnode/web) */
	struct stat st;
	if (stat(IDN_WEBDIR "/index.html", &st) == 0) {
		snprintf(s->webroot, sizeof(s->webroot), "%s", IDN_WEBDIR);
		return;
	}
	snprintf(s->webroot, sizeof(s->webroot), "web");
}

int http_start(node_ctx_t *node, const node_conf_t *conf, http_server_t **out)
{
	*out = NULL;
	if (conf->http[0] == 0 && conf->https[0] == 0) {
		http_tls_t *none; /* refuses a certificate without https */
		return http_tls_new(conf, &none);
	}
	http_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->node = node;
	s->conf = conf;
	pthread_mutex_init(&s->tok_lock, NULL);
	if (conf->http_token_file[0] &&
	    read_secret(conf->http_token_file, s->secret, sizeof(s->secret)) !=
		    0)
		goto fail_early;
	if (http_tls_new(conf, &s->tls) != 0 || http_auth_new(&s->auth) != 0)
		goto fail_early;
	find_webroot(s);
	if (http_stats_new(s, &s->stats) != 0)
		goto fail_early;
	h2o_config_init(&s->gconf);
	s->gconf.max_request_entity_size = conf->http_max_body;
	s->gconf.http1.req_timeout = (uint64_t)conf->http_timeout * 1000;
	s->gconf.server_name = h2o_iovec_init(H2O_STRLIT("idnode"));
	h2o_hostconf_t *hc = h2o_config_register_host(
		&s->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *pc = h2o_config_register_path(hc, "/console", 0);
	static const char *index_files[] = {"index.html", NULL};
	h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = console_guard;
	h2o_file_register(pc, s->webroot, index_files, NULL, 0);
	http_sec_register(pc);
	pc = h2o_config_register_path(hc, "/", 0);
	http_sec_register(pc);
	h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
	h->on_req = on_req;
	h->on_context_init = on_context_init;
	h->on_context_dispose = on_context_dispose;
	s->nthr = conf->http_threads;
	s->thr = calloc((size_t)s->nthr, sizeof(*s->thr));
	if (s->thr == NULL)
		goto fail;
	for (int i = 0; i < s->nthr; i++)
		if (thr_init(s, &s->thr[i], i) != 0)
			goto fail;
	for (int i = 0; i < s->nthr; i++) {
		if (pthread_create(&s->thr[i].thread, NULL, thr_main,
				   &s->thr[i]) != 0) {
			log_error("cannot start http thread");
			goto fail;
		}
		s->thr[i].started = true;
	}
	log_info("http on %s%s%s (%d threads, console %s, writes %s)",
		 conf->http[0] ? conf->http : "",
		 conf->https[0] ? " https " : "", conf->https, s->nthr,
		 s->webroot,
		 s->secret[0] ? "with the admin token" : "disabled");
	*out = s;
	return 0;
fail:
	http_stop(s);
	return -1;
fail_early:
	http_auth_free(s->auth);
	http_tls_free(s->tls);
	pthread_mutex_destroy(&s->tok_lock);
	free(s);
	return -1;
}

int http_reload(http_server_t *s, const node_conf_t *conf)
{
	if (s == NULL)
		return 0;
	char secret[256] = "";
	if (conf->http_token_file[0] &&
	    read_secret(conf->http_token_file, secret, sizeof(secret)) != 0)
		return -1;
	bool set = secret[0] != 0;
	pthread_mutex_lock(&s->tok_lock);
	bool changed = strcmp(secret, s->secret) != 0;
	memcpy(s->secret, secret, sizeof(secret));
	/* logins made with the old secret end with it */
	if (changed)
		memset(s->tokens, 0, sizeof(s->tokens));
	pthread_mutex_unlock(&s->tok_lock);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (changed)
		log_info("http: admin token %s",
			 set ? "replaced: writes need the new one"
			     : "removed: writes disabled");
	return changed ? 1 : 0;
}

void http_stop(http_server_t *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, 1);
	for (int i = 0; i < s->nthr; i++)
		if (s->thr && s->thr[i].started)
			pthread_join(s->thr[i].thread, NULL);
	for (int i = 0; i < s->nthr && s->thr; i++)
		if (s->thr[i].srv != NULL)
			thr_fini(&s->thr[i]);
	free(s->thr);
	h2o_config_dispose(&s->gconf);
	http_stats_free(s->stats);
	http_tls_free(s->tls);
	http_auth_free(s->auth);
	pthread_mutex_destroy(&s->tok_lock);
	free(s);
}

#if defined(__SANITIZE_ADDRESS__)
/* libh2o keeps freed memory-pool chunks in thread-local recyclers that no
 * call empties; they go with the HTTP threads at shutdown. Read by
 * LeakSanitizer in sanitizer builds only. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libh2o-evloop.so\n";
}
#endif
