/* HTTPS for the HTTP plane: the SSL_CTX built from http-tls-cert and
 * http-tls-key, handed to each TLS accept, and swapped by
 * http_tls_reload. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_int.h"
#include "log.h"

/* libh2o keeps a raw SSL_CTX pointer from the accept until the first
 * ClientHello creates the SSL object (bounded by its handshake timeout,
 * 10 s by default), so a replaced context must outlive that: it is freed
 * only at the first reload this long after it was replaced, or at stop. */
#define TLS_RETIRE_SECONDS 120

typedef struct tls_old {
	SSL_CTX *ctx;
	time_t since;
	struct tls_old *next;
} tls_old_t;

struct http_tls {
	_Atomic(SSL_CTX *) cur;
	pthread_mutex_t lock; /* reloads, and the list of replaced contexts */
	tls_old_t *old;
};

/* TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only; TLS 1.3 keeps
 * OpenSSL's defaults, which are all of that kind. */
static const char tls12_ciphers[] = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL";

/* HTTP/1.1 only: the server's connection bookkeeping (stop, the open
 * connection gauge) follows libh2o's HTTP/1 connections. */
static const h2o_iovec_t alpn[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

/* The reason of OpenSSL's first queued error, for one log line. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_error(); /* the first: the cause */
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return why ? why : "unknown error";
}

static FILE *open_pem(const char *opt, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		log_error("cannot read %s %s: %s", opt, path, strerror(errno));
	return f;
}

/* The certificate chain: the leaf first, then its intermediates. */
static int load_cert(SSL_CTX *ctx, const char *path)
{
	FILE *f = open_pem("http-tls-cert", path);
	if (f == NULL)
		return -1;
	fclose(f);
	if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) {
		log_error("http-tls-cert %s: not a PEM certificate (%s)", path,
			  ssl_reason());
		return -1;
	}
	return 0;
}

static int load_key(SSL_CTX *ctx, const char *key, const char *cert)
{
	FILE *f = open_pem("http-tls-key", key);
	if (f == NULL)
		return -1;
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL) {
		log_error("http-tls-key %s: not a PEM private key (%s)", key,
			  ssl_reason());
		return -1;
	}
	int ok = SSL_CTX_use_PrivateKey(ctx, pk) == 1 &&
		 SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(pk);
	if (!ok) {
		ERR_clear_error();
		log_error("http-tls-key %s does not match http-tls-cert %s",
			  key, cert);
		return -1;
	}
	return 0;
}

/* A new server context from the configured files; NULL after logging
 * why. */
static int accept_any_cert(int preverify_ok, X509_STORE_CTX *x)
{
	(void)preverify_ok;
	(void)x;
	return 1;
}

static SSL_CTX *tls_ctx_new(const node_conf_t *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		log_error("https: cannot create a TLS context (%s)",
			  ssl_reason());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1) {
		log_error("https: no usable TLS 1.2 cipher (%s)", ssl_reason());
		goto fail;
	}
	if (load_cert(ctx, c->http_tls_cert) != 0 ||
	    load_key(ctx, c->http_tls_key, c->http_tls_cert) != 0)
		goto fail;
	h2o_ssl_register_alpn_protocols(ctx, alpn);
	/* a client may authenticate with a certificate naming index:handle
	 * (http_auth.c): it is asked for one, never required to send it, and
	 * a self-signed one is welcome, since its key is checked against the
	 * admin's HS_PUBKEY, not against a CA */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_cert);
	static const unsigned char sid_ctx[] = "idnode-https";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int http_tls_new(const node_conf_t *c, http_tls_t **out)
{
	*out = NULL;
	if (c->https[0] == 0) {
		if (c->http_tls_cert[0] || c->http_tls_key[0]) {
			log_error("http-tls-cert and http-tls-key need https "
				  "ADDR[:PORT] to serve them on");
			return -1;
		}
		return 0;
	}
	if (c->http_tls_cert[0] == 0 || c->http_tls_key[0] == 0) {
		log_error("https needs http-tls-cert FILE and http-tls-key "
			  "FILE");
		return -1;
	}
	SSL_CTX *ctx = tls_ctx_new(c);
	if (ctx == NULL)
		return -1;
	http_tls_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		SSL_CTX_free(ctx);
		return -1;
	}
	atomic_init(&t->cur, ctx);
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

SSL_CTX *http_tls_ctx(http_tls_t *t)
{
	return atomic_load(&t->cur);
}

void http_tls_free(http_tls_t *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(atomic_load(&t->cur));
	while (t->old != NULL) {
		tls_old_t *o = t->old;
		t->old = o->next;
		SSL_CTX_free(o->ctx);
		free(o);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int http_tls_reload(http_server_t *s)
{
	if (s == NULL || s->tls == NULL)
		return 0;
	http_tls_t *t = s->tls;
	SSL_CTX *ctx = tls_ctx_new(s->conf);
	if (ctx == NULL) {
		log_warn("https: keeping the certificate in use");
		return -1;
	}
	tls_old_t *o = malloc(sizeof(*o));
	if (o == NULL) {
		SSL_CTX_free(ctx);
		return -1;
	}
	time_t now = time(NULL);
	pthread_mutex_lock(&t->lock);
	/* free what was replaced long enough ago (the list is newest first) */
	for (tls_old_t **p = &t->old; *p != NULL; p = &(*p)->next) {
		if (now - (*p)->since < TLS_RETIRE_SECONDS)
			continue;
		tls_old_t *rest = *p;
		*p = NULL;
		while (rest != NULL) {
			tls_old_t *n = rest->next;
			SSL_CTX_free(rest->ctx);
			free(rest);
			rest = n;
		}
		break;
	}
	o->ctx = atomic_exchange(&t->cur, ctx);
	o->since = now;
	o->next = t->old;
	t->old = o;
	pthread_mutex_unlock(&t->lock);
	log_info("https: certificate %s reloaded", s->conf->http_tls_cert);
	return 0;
}
