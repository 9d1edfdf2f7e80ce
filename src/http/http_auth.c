/* Who an HTTP request speaks for, as the handle.net REST API
 * authenticates (the HANDLE.NET 9 technical manual, REST chapter;
 * docs/http-api.md, "Authentication"): Basic with the user name
 * index%3Ahandle and the HS_SECKEY secret as password; Authorization:
 * Handle, a signature over a session's server nonce and a client nonce
 * (an HS_SECKEY MAC or an HS_PUBKEY signature), after which the session
 * itself authenticates; a TLS client certificate whose subject (UID, else
 * CN) names index:handle and whose key is the HS_PUBKEY there. Each makes
 * the request's principal that admin (PRINCIPAL_ADMIN): the op table then
 * gives it the rights of the HS_ADMIN values that name it, never more
 * (docs/architecture.md, "Principals"). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "authz.h"
#include "b64.h"
#include "error.h"
#include "hex.h"
#include "http_int.h"
#include "ident.h"
#include "seckey.h"

#define SESSIONS_MAX 1024
#define SESSION_IDLE 1800 /* seconds a session lives unused */
#define SID_LEN 32	  /* hex digits of a session id */

typedef struct {
	char id[SID_LEN + 1]; /* "" when the slot is free */
	uint8_t nonce[16];
	time_t expires;
	bool authed;
	uint32_t index;
	uint32_t admin_len;
	uint8_t admin[IDN_IDENT_MAX];
} sess_t;

struct http_auth {
	pthread_mutex_t lock;
	sess_t s[SESSIONS_MAX];
};

int http_auth_new(http_auth_t **out)
{
	http_auth_t *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return 0;
}

void http_auth_free(http_auth_t *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* ---- the session table ---- */

/* A new unauthenticated session: its id and nonce. When the table is
 * full the slot of an expired session, else of the least recently used
 * unauthenticated one, is taken. Returns 0 or -1 (every slot holds a live
 * authenticated session, or no randomness). */
static int sess_new(http_auth_t *a, char id[SID_LEN + 1], uint8_t nonce[16])
{
	uint8_t raw[SID_LEN / 2];
	if (RAND_bytes(raw, sizeof(raw)) != 1 || RAND_bytes(nonce, 16) != 1)
		return -1;
	idn_hex_encode(raw, sizeof(raw), id);
	time_t now = time(NULL);
	pthread_mutex_lock(&a->lock);
	sess_t *slot = NULL;
	for (int i = 0; i < SESSIONS_MAX; i++) {
		sess_t *s = &a->s[i];
		if (!s->id[0] || s->expires <= now) {
			slot = s;
			break;
		}
		if (!s->authed && (slot == NULL || s->expires < slot->expires))
			slot = s;
	}
	if (slot != NULL) {
		memset(slot, 0, offsetof(sess_t, admin));
		memcpy(slot->id, id, SID_LEN + 1);
		memcpy(slot->nonce, nonce, 16);
		slot->expires = now + SESSION_IDLE;
	}
	pthread_mutex_unlock(&a->lock);
	return slot != NULL ? 0 : -1;
}

/* The live session id (its use keeps it alive), copied into *out.
 * Returns false when there is none. */
static bool sess_get(http_auth_t *a, const char *id, sess_t *out)
{
	if (id == NULL || strlen(id) != SID_LEN)
		return false;
	time_t now = time(NULL);
	bool found = false;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < SESSIONS_MAX && !found; i++) {
		sess_t *s = &a->s[i];
		if (s->id[0] && s->expires > now &&
		    CRYPTO_memcmp(s->id, id, SID_LEN) == 0) {
			s->expires = now + SESSION_IDLE;
			memcpy(out, s, sizeof(*s));
			found = true;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

/* Marks session id authenticated as (admin, index), or ends it (admin
 * NULL). */
static void sess_set(http_auth_t *a, const char *id, const uint8_t *admin,
		     uint32_t len, uint32_t index)
{
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < SESSIONS_MAX; i++) {
		sess_t *s = &a->s[i];
		if (!s->id[0] || strcmp(s->id, id))
			continue;
		if (admin == NULL) {
			memset(s, 0, offsetof(sess_t, admin));
		} else {
			s->authed = true;
			s->index = index;
			s->admin_len = len;
			memcpy(s->admin, admin, len);
		}
	}
	pthread_mutex_unlock(&a->lock);
}

/* ---- the Authorization header ---- */

int http_auth_parse(h2o_mem_pool_t *pool, const char *s, size_t len,
		    http_hauth_t *h)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == ',' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		size_t k = i;
		while (i < len && s[i] != '=' && s[i] != ' ')
			i++;
		size_t klen = i - k;
		while (i < len && s[i] == ' ')
			i++;
		if (i == len || s[i] != '=' || klen == 0)
			return -1;
		i++;
		while (i < len && s[i] == ' ')
			i++;
		char *v = h2o_mem_alloc_pool(pool, len - i + 1);
		size_t vl = 0;
		if (i < len && s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				v[vl++] = s[i];
			}
			if (i == len)
				return -1;
			i++;
		} else {
			while (i < len && s[i] != ',' && s[i] != ' ')
				v[vl++] = s[i++];
		}
		v[vl] = 0;
		const char *key = s + k;
#define KEY(name) (klen == strlen(name) && !strncasecmp(key, name, klen))
		if (KEY("version"))
			h->version = v;
		else if (KEY("sessionId"))
			h->session = v;
		else if (KEY("id")) /* percent-encoded, as in Basic */
			h->id = http_pct_decode(pool, v, vl, false, NULL);
		else if (KEY("cnonce"))
			h->cnonce = v;
		else if (KEY("type"))
			h->type = v;
		else if (KEY("alg"))
			h->alg = v;
		else if (KEY("signature"))
			h->sig = v;
		else if (KEY("salt"))
			h->salt = v;
		else if (KEY("iterations"))
			h->iter = v;
		else if (KEY("length"))
			h->length = v;
#undef KEY
	}
	return 0;
}

/* "index:handle" (or a bare handle: index 0, any key) into *admin, *index.
 * Returns 0 or -1. */
static int parse_identity(const char *s, idn_bytes_t *admin, uint32_t *index)
{
	const char *colon = strchr(s, ':');
	*index = 0;
	*admin = idn_bytes_str(s);
	if (colon == NULL || colon == s)
		return admin->len ? 0 : -1;
	for (const char *p = s; p < colon; p++)
		if (*p < '0' || *p > '9')
			return 0; /* a colon inside the handle */
	unsigned long v = strtoul(s, NULL, 10);
	if (v > 0xffffffffUL || colon[1] == 0)
		return -1;
	*index = (uint32_t)v;
	*admin = idn_bytes_str(colon + 1);
	return 0;
}

/* ---- checks against the admin's keys ---- */

typedef struct {
	int (*check)(void *ctx, const idn_value_t *v); /* 0: it matches */
	void *ctx;
} keycheck_t;

/* Runs kc on each value of the admin's record whose type is type and
 * whose index is index (any index when 0), lowest index first. Returns
 * the index of the first that matches, or 0. */
static uint32_t find_key(hreq_t *r, idn_bytes_t admin, uint32_t index,
			 const char *type, keycheck_t *kc)
{
	static _Thread_local idn_ident_t id;
	handler_t *h = &r->t->h;
	if (idn_ident_parse(admin.p, admin.len, 0, &id) != 0 ||
	    handler_begin(h) != 0)
		return 0;
	uint32_t found = 0, best = UINT32_MAX;
	idn_record_t rec;
	if (idn_store_get(h->rtxn, id.key, id.key_len, &rec) == 0) {
		idn_rd_t rd;
		idn_rd_init(&rd, rec.values.p, rec.values.len);
		for (uint32_t i = 0; i < rec.nvalues && !rd.err; i++) {
			idn_value_t v;
			idn_value_decode(&rd, &r->t->arena, &v);
			if (rd.err || !idn_bytes_eq_str(v.type, type) ||
			    (index != 0 && v.index != index) || v.index == 0 ||
			    v.index >= best)
				continue;
			if (kc->check(kc->ctx, &v) == 0) {
				found = v.index;
				best = v.index;
			}
		}
	}
	handler_end(h);
	return found;
}

static int check_password(void *ctx, const idn_value_t *v)
{
	const idn_bytes_t *pw = ctx;
	return v->data.len == pw->len &&
			       CRYPTO_memcmp(v->data.p, pw->p, pw->len) == 0
		       ? 0
		       : -1;
}

typedef struct {
	idn_bytes_t answer, nonce, cnonce; /* HS_SECKEY */
	const char *alg;		   /* HS_PUBKEY */
	idn_bytes_t sig;
	EVP_PKEY *cert_key; /* a client certificate's key */
} sigcheck_t;

static int check_seckey(void *ctx, const idn_value_t *v)
{
	const sigcheck_t *c = ctx;
	return idn_seckey_verify(v->data, c->answer, c->nonce, c->cnonce) == 0
		       ? 0
		       : -1;
}

static int check_pubkey(void *ctx, const idn_value_t *v)
{
	const sigcheck_t *c = ctx;
	EVP_PKEY *pk;
	if (idn_pubkey_load(v->data, &pk) != 0)
		return -1;
	idn_bytes_t parts[2] = {c->nonce, c->cnonce};
	int err = c->cert_key != NULL
			  ? (EVP_PKEY_eq(pk, c->cert_key) == 1 ? 0 : -1)
			  : idn_sig_verify(pk, idn_bytes_str(c->alg), parts, 2,
					   c->sig);
	EVP_PKEY_free(pk);
	return err ? -1 : 0;
}

/* ---- the principal ---- */

static void become(hreq_t *r, idn_bytes_t admin, uint32_t index)
{
	char *copy = h2o_mem_alloc_pool(&r->req->pool, admin.len + 1);
	memcpy(copy, admin.p, admin.len);
	copy[admin.len] = 0;
	r->who = (principal_t){PRINCIPAL_ADMIN, idn_bytes(copy, admin.len),
			       index, NULL};
}

/* 401 for credentials that were given and do not verify. */
static int refuse(hreq_t *r, const char *method, const char *why)
{
	http_audit_auth(r, method, NULL, why);
	r->rc = IDN_RC_AUTH_FAILED;
	http_auth_challenge(r);
	http_reply_rc(r, 401, IDN_RC_AUTH_FAILED, why);
	return -1;
}

static int basic(hreq_t *r, const char *b64, size_t len)
{
	uint8_t *raw = h2o_mem_alloc_pool(&r->req->pool,
					  IDN_BASE64_DECODED_MAX(len) + 1);
	size_t n;
	if (idn_base64_decode(b64, len, IDN_B64_LENIENT, raw, &n) != 0)
		return refuse(r, "basic", "malformed Basic credentials");
	uint8_t *colon = memchr(raw, ':', n);
	if (colon == NULL)
		return refuse(r, "basic", "malformed Basic credentials");
	char *user = http_pct_decode(&r->req->pool, (const char *)raw,
				     (size_t)(colon - raw), false, NULL);
	idn_bytes_t admin,
		pw = idn_bytes(colon + 1, n - (size_t)(colon - raw) - 1);
	uint32_t index;
	if (user == NULL || parse_identity(user, &admin, &index) != 0)
		return refuse(r, "basic",
			      "the user name must be index%3Ahandle");
	keycheck_t kc = {check_password, &pw};
	uint32_t got = find_key(r, admin, index, "HS_SECKEY", &kc);
	OPENSSL_cleanse(raw, n);
	if (got == 0)
		return refuse(r, "basic", "Identity not verified");
	become(r, admin, got);
	return 0;
}

static idn_bytes_t b64_bytes(hreq_t *r, const char *s)
{
	idn_bytes_t out = {NULL, 0};
	if (s != NULL && idn_base64_decode_arena(s, strlen(s), IDN_B64_LENIENT,
						 &r->t->arena, &out) != 0)
		out = idn_bytes(NULL, 0);
	return out;
}

/* The HS_SECKEY answer field (seckey.h) for alg and the signature. */
static int seckey_answer(hreq_t *r, const http_hauth_t *h, idn_bytes_t sig,
			 idn_bytes_t *out)
{
	static const struct {
		const char *name;
		uint8_t code;
	} algs[] = {{"HMAC-SHA256", IDN_MAC_HMAC_SHA256},
		    {"HMACSHA256", IDN_MAC_HMAC_SHA256},
		    {"HMAC-SHA1", IDN_MAC_HMAC_SHA1},
		    {"HMACSHA1", IDN_MAC_HMAC_SHA1},
		    {"PBKDF2-HMAC-SHA1", IDN_MAC_PBKDF2_HMAC_SHA1},
		    {"PBKDF2WithHmacSHA1", IDN_MAC_PBKDF2_HMAC_SHA1}};
	uint8_t code = 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcasecmp(h->alg, algs[i].name))
			code = algs[i].code;
	if (code == 0)
		return -1;
	size_t cap = sig.len + 64 + (h->salt ? strlen(h->salt) : 0);
	uint8_t *buf = idn_arena_alloc(&r->t->arena, cap);
	if (buf == NULL)
		return -1;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_wr_u8(&w, code);
	if (code == IDN_MAC_PBKDF2_HMAC_SHA1) {
		idn_bytes_t salt = b64_bytes(r, h->salt);
		if (h->salt == NULL || h->iter == NULL || h->length == NULL)
			return -1;
		idn_wr_str(&w, salt);
		idn_wr_u32(&w, (uint32_t)strtoul(h->iter, NULL, 10));
		idn_wr_u32(&w, (uint32_t)strtoul(h->length, NULL, 10));
		idn_wr_str(&w, sig);
	} else {
		idn_wr_raw(&w, sig.p, sig.len);
	}
	*out = idn_bytes(buf, w.len);
	return w.err ? -1 : 0;
}

/* An Authorization: Handle that authenticates: checked against session
 * s's nonce; on success the session is authenticated too. */
static int handle_sig(hreq_t *r, const http_hauth_t *h, const sess_t *s)
{
	if (h->version != NULL && strcmp(h->version, "0"))
		return refuse(r, "handle",
			      "Unknown version in Authorization: Handle");
	if (!h->id || !h->cnonce || !h->type || !h->alg || !h->sig)
		return refuse(r, "handle",
			      "Missing fields in authentication data");
	idn_bytes_t admin;
	uint32_t index;
	if (parse_identity(h->id, &admin, &index) != 0)
		return refuse(r, "handle", "id must be index:handle");
	sigcheck_t c = {.nonce = idn_bytes(s->nonce, 16),
			.cnonce = b64_bytes(r, h->cnonce),
			.sig = b64_bytes(r, h->sig),
			.alg = h->alg};
	if (c.cnonce.len == 0 || c.sig.len == 0)
		return refuse(r, "handle", "cnonce and signature are base64");
	keycheck_t kc = {NULL, &c};
	const char *type = NULL;
	if (!strcmp(h->type, "HS_SECKEY")) {
		if (seckey_answer(r, h, c.sig, &c.answer) != 0)
			return refuse(r, "handle",
				      "HS_SECKEY alg must be HMAC-SHA256, "
				      "HMAC-SHA1 or PBKDF2-HMAC-SHA1");
		kc.check = check_seckey;
		type = "HS_SECKEY";
	} else if (!strcmp(h->type, "HS_PUBKEY")) {
		kc.check = check_pubkey;
		type = "HS_PUBKEY";
	} else {
		return refuse(r, "handle",
			      "type must be HS_PUBKEY or HS_SECKEY");
	}
	/* priced and charged to the sender's network like a challenge
	 * answer over UDP or TCP (docs/architecture.md, "Abuse limits"): a
	 * PBKDF2 answer by its iterations, a signature by its size */
	uint64_t cost = kc.check == check_seckey
				? authz_seckey_cost(c.answer)
				: authz_pubkey_cost((int)c.sig.len * 8);
	const struct sockaddr_storage *peer =
		r->t->has_peer ? &r->t->peer : NULL;
	authz_t *az = r->t->srv->node->authz;
	const char *why;
	if (peer != NULL && authz_charge(az, peer, cost, &why) != 0) {
		http_auth_challenge(r);
		http_reply_rc(r, 503, IDN_RC_TOO_BUSY, why);
		return -1;
	}
	uint32_t got = find_key(r, admin, index, type, &kc);
	if (peer != NULL)
		authz_charge_done(az, peer, cost);
	if (got == 0)
		return refuse(r, "handle", "Identity not verified");
	sess_set(r->t->srv->auth, s->id, admin.p, (uint32_t)admin.len, got);
	become(r, admin, got);
	return 0;
}

/* The SSL object of r's connection, NULL over plain HTTP. libh2o 2.2 has
 * no call for it: its socket's ssl member begins with the SSL_CTX and the
 * SSL (struct st_h2o_socket_ssl_t in lib/common/socket.c, as
 * h2o_socket_get_ssl_cipher reads it), checked against each other. */
static SSL *conn_ssl(h2o_req_t *req)
{
	if (req->scheme != &H2O_URL_SCHEME_HTTPS ||
	    req->conn->callbacks->get_socket == NULL)
		return NULL;
	h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
	if (sock == NULL || sock->ssl == NULL)
		return NULL;
	struct {
		SSL_CTX *ctx;
		SSL *ossl;
	} *head = (void *)sock->ssl;
	if (head->ossl == NULL || SSL_get_SSL_CTX(head->ossl) != head->ctx)
		return NULL;
	return head->ossl;
}

/* The identity a client certificate's subject names: its UID, else its
 * CN, from pool. */
static char *cert_identity(h2o_mem_pool_t *pool, X509 *cert)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_userId, -1);
	if (i < 0)
		i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0)
		return NULL;
	unsigned char *utf8;
	int n = ASN1_STRING_to_UTF8(
		&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0)
		return NULL;
	char *out = h2o_strdup(pool, (const char *)utf8, (size_t)n).base;
	OPENSSL_free(utf8);
	return out;
}

/* A TLS client certificate: the handshake proved the client holds its
 * key; the admin it names must have that key as an HS_PUBKEY. */
static int client_cert(hreq_t *r)
{
	SSL *ssl = conn_ssl(r->req);
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	if (cert == NULL)
		return 0;
	char *ident = cert_identity(&r->req->pool, cert);
	idn_bytes_t admin;
	uint32_t index;
	if (ident == NULL || parse_identity(ident, &admin, &index) != 0 ||
	    strchr(ident, '/') == NULL)
		return 0; /* a certificate naming no admin: anonymous */
	sigcheck_t c = {.cert_key = X509_get0_pubkey(cert)};
	keycheck_t kc = {check_pubkey, &c};
	uint32_t got =
		c.cert_key ? find_key(r, admin, index, "HS_PUBKEY", &kc) : 0;
	if (got == 0)
		return refuse(r, "client certificate",
			      "the certificate's key is not the HS_PUBKEY of "
			      "the admin it names");
	become(r, admin, got);
	return 0;
}

/* The session r names: the sessionId of its Authorization: Handle, its
 * sessionId parameter, or its JSESSIONID cookie. *explicit tells whether
 * it was named on purpose (not by a cookie). */
static const char *named_session(hreq_t *r, const http_hauth_t *h,
				 bool *explicit)
{
	*explicit = true;
	if (h->session != NULL)
		return h->session;
	const char *q = http_q(r, "sessionId");
	if (q != NULL)
		return q;
	*explicit = false;
	ssize_t i = -1;
	while ((i = h2o_find_header(&r->req->headers, H2O_TOKEN_COOKIE, i)) >=
	       0) {
		h2o_iovec_t v = r->req->headers.entries[i].value;
		for (size_t k = 0; k + 11 + SID_LEN <= v.len; k++)
			if ((k == 0 || v.base[k - 1] == ' ' ||
			     v.base[k - 1] == ';') &&
			    memcmp(v.base + k, "JSESSIONID=", 11) == 0)
				return h2o_strdup(&r->req->pool,
						  v.base + k + 11, SID_LEN)
					.base;
	}
	return NULL;
}

int http_auth(hreq_t *r)
{
	http_thr_t *t = r->t;
	r->sess[0] = 0;
	if (r->who.kind != PRINCIPAL_ANONYMOUS)
		return 0; /* a bearer token (http_principal) */
	http_hauth_t h = {0};
	ssize_t i =
		h2o_find_header(&r->req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	h2o_iovec_t v = i >= 0 ? r->req->headers.entries[i].value
			       : h2o_iovec_init(NULL, 0);
	if (v.len >= 6 && !strncasecmp(v.base, "Basic ", 6))
		return basic(r, v.base + 6, v.len - 6);
	if (v.len >= 6 && !strncasecmp(v.base, "Handle", 6) &&
	    (v.len == 6 || v.base[6] == ' ')) {
		h.present = true;
		if (http_auth_parse(&r->req->pool, v.base + 6, v.len - 6, &h) !=
		    0)
			return refuse(r, "handle",
				      "malformed Authorization: Handle");
	}
	bool explicit;
	const char *sid = named_session(r, &h, &explicit);
	sess_t *s = idn_arena_alloc(&t->arena, sizeof(*s));
	bool live = s != NULL && sess_get(t->srv->auth, sid, s);
	if (live)
		snprintf(r->sess, sizeof(r->sess), "%s", s->id);
	bool authenticating = h.id || h.type || h.alg || h.sig;
	if (authenticating) {
		if (!live)
			return refuse(r, "handle",
				      "Authorization: Handle needs a live "
				      "sessionId: POST /api/sessions first");
		return handle_sig(r, &h, s);
	}
	if (live && s->authed) {
		become(r, idn_bytes(s->admin, s->admin_len), s->index);
		return 0;
	}
	if (sid != NULL && explicit && !live)
		return refuse(r, "handle", "unknown or expired session");
	return client_cert(r);
}

/* ---- challenges and /api/sessions ---- */

static void set_cookie(hreq_t *r, const char *id)
{
	char c[128];
	snprintf(c, sizeof(c),
		 "JSESSIONID=%s; Path=/; HttpOnly; SameSite=Strict%s", id,
		 r->req->scheme == &H2O_URL_SCHEME_HTTPS ? "; Secure" : "");
	http_add_header(r, H2O_TOKEN_SET_COOKIE,
			h2o_strdup(&r->req->pool, c, SIZE_MAX).base);
}

static void nonce_b64(const uint8_t nonce[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, nonce, 16);
}

void http_auth_challenge(hreq_t *r)
{
	char id[SID_LEN + 1], nb[25], hdr[160];
	uint8_t nonce[16];
	http_add_header(r, H2O_TOKEN_WWW_AUTHENTICATE,
			"Basic realm=\"handle\"");
	if (sess_new(r->t->srv->auth, id, nonce) != 0)
		return;
	nonce_b64(nonce, nb);
	snprintf(hdr, sizeof(hdr), "Handle sessionId=\"%s\", nonce=\"%s\"", id,
		 nb);
	http_add_header(r, H2O_TOKEN_WWW_AUTHENTICATE,
			h2o_strdup(&r->req->pool, hdr, SIZE_MAX).base);
}

static void session_reply(hreq_t *r, int status, const char *id,
			  const uint8_t nonce[16])
{
	char nb[25];
	nonce_b64(nonce, nb);
	json_t *j = json_object();
	json_object_set_new(j, "sessionId", json_string(id));
	json_object_set_new(j, "nonce", json_string(nb));
	bool authed = r->who.kind == PRINCIPAL_ADMIN;
	json_object_set_new(j, "authenticated", json_boolean(authed));
	if (authed) {
		char who[IDN_IDENT_MAX + 16];
		snprintf(who, sizeof(who), "%u:%.*s", r->who.index,
			 (int)r->who.admin.len, r->who.admin.p);
		json_object_set_new(j, "id", json_string(who));
	}
	set_cookie(r, id);
	http_reply_json(r, status, j);
}

void http_sessions_new(hreq_t *r)
{
	r->op = "session";
	char id[SID_LEN + 1];
	uint8_t nonce[16];
	if (sess_new(r->t->srv->auth, id, nonce) != 0) {
		http_reply_rc(r, 503, IDN_RC_TOO_BUSY, "too many sessions");
		return;
	}
	/* Basic or a client certificate on the request authenticates the
	 * new session at once */
	if (r->who.kind == PRINCIPAL_ADMIN)
		sess_set(r->t->srv->auth, id, r->who.admin.p,
			 (uint32_t)r->who.admin.len, r->who.index);
	session_reply(r, 200, id, nonce);
}

void http_sessions_this(hreq_t *r)
{
	r->op = "session";
	sess_t *s = idn_arena_alloc(&r->t->arena, sizeof(*s));
	if (s == NULL || !r->sess[0] ||
	    !sess_get(r->t->srv->auth, r->sess, s)) {
		http_reply_rc(r, 404, 0, "no session: POST /api/sessions");
		return;
	}
	if (r->who.kind == PRINCIPAL_ADMIN && !s->authed)
		sess_set(r->t->srv->auth, s->id, r->who.admin.p,
			 (uint32_t)r->who.admin.len, r->who.index);
	session_reply(r, 200, s->id, s->nonce);
}

void http_sessions_end(hreq_t *r)
{
	r->op = "session";
	if (!r->sess[0]) {
		http_reply_rc(r, 404, 0, "no session");
		return;
	}
	sess_set(r->t->srv->auth, r->sess, NULL, 0, 0);
	http_add_header(r, H2O_TOKEN_SET_COOKIE,
			"JSESSIONID=; Path=/; Max-Age=0");
	json_t *j = json_object();
	json_object_set_new(j, "sessionId", json_string(r->sess));
	json_object_set_new(j, "authenticated", json_false());
	http_reply_json(r, 200, j);
}
