/* Tests of the HTTPS context (src/http/http_tls.c): what it allows, the
 * files it refuses, and http_tls_reload replacing it for new connections
 * while the one replaced stays usable. Certificates are made with the
 * openssl command in a temporary directory (skipped without it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_int.h"

static char dir[64];
static char cert[128], key[128], cert2[128], key2[128];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

/* A self-signed certificate with this serial, and its key. */
static void make_cert(const char *c, const char *k, int serial)
{
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	   "-nodes -keyout %s -out %s -days 2 -subj /CN=127.0.0.1 -set_serial "
	   "%d 2>/dev/null",
	   k, c, serial);
}

static int setup(void **state)
{
	(void)state;
	if (access("/usr/bin/openssl", X_OK) != 0)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/test_http_tls.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/a.pem", dir);
	snprintf(key, sizeof(key), "%s/a.key", dir);
	snprintf(cert2, sizeof(cert2), "%s/b.pem", dir);
	snprintf(key2, sizeof(key2), "%s/b.key", dir);
	make_cert(cert, key, 11);
	make_cert(cert2, key2, 22);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (dir[0])
		sh("rm -rf %s", dir);
	return 0;
}

#define NEED_OPENSSL()                                                         \
	do {                                                                   \
		if (!dir[0]) {                                                 \
			print_message("[ SKIP     ] no openssl command\n");    \
			skip();                                                \
		}                                                              \
	} while (0)

static void conf_for(node_conf_t *c, const char *crt, const char *k)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->https, sizeof(c->https), "127.0.0.1:8443");
	snprintf(c->http_tls_cert, sizeof(c->http_tls_cert), "%s", crt);
	snprintf(c->http_tls_key, sizeof(c->http_tls_key), "%s", k);
}

static long serial_of(SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	assert_non_null(x);
	return ASN1_INTEGER_get(X509_get0_serialNumber(x));
}

static void context_settings(void **state)
{
	(void)state;
	NEED_OPENSSL();
	node_conf_t c;
	conf_for(&c, cert, key);
	http_tls_t *t;
	assert_int_equal(http_tls_new(&c, &t), 0);
	assert_non_null(t);
	SSL_CTX *ctx = http_tls_ctx(t);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	uint64_t opts = SSL_CTX_get_options(ctx);
	assert_true(opts & SSL_OP_NO_COMPRESSION);
	assert_true(opts & SSL_OP_NO_RENEGOTIATION);
	/* TLS 1.2 suites: ECDHE key exchange and AEAD, nothing else */
	SSL *ssl = SSL_new(ctx);
	STACK_OF(SSL_CIPHER) *cs = SSL_get_ciphers(ssl);
	int n12 = 0;
	for (int i = 0; i < sk_SSL_CIPHER_num(cs); i++) {
		const SSL_CIPHER *ci = sk_SSL_CIPHER_value(cs, i);
		if (SSL_CIPHER_get_kx_nid(ci) == NID_kx_any) /* TLS 1.3 */
			continue;
		n12++;
		if (SSL_CIPHER_get_kx_nid(ci) != NID_kx_ecdhe ||
		    !SSL_CIPHER_is_aead(ci))
			fail_msg("suite %s allowed", SSL_CIPHER_get_name(ci));
	}
	assert_true(n12 >= 2);
	SSL_free(ssl);
	assert_int_equal(serial_of(ctx), 11);
	http_tls_free(t);
}

static void refused_files(void **state)
{
	(void)state;
	NEED_OPENSSL();
	node_conf_t c;
	http_tls_t *t = (http_tls_t *)(uintptr_t)1; /* a failure sets NULL */
	conf_for(&c, cert, key2); /* another certificate's key */
	assert_int_equal(http_tls_new(&c, &t), -1);
	assert_null(t);
	conf_for(&c, "/nonexistent/cert.pem", key);
	assert_int_equal(http_tls_new(&c, &t), -1);
	conf_for(&c, key, key); /* a key is no certificate */
	assert_int_equal(http_tls_new(&c, &t), -1);
	conf_for(&c, cert, cert); /* nor a certificate a key */
	assert_int_equal(http_tls_new(&c, &t), -1);
	conf_for(&c, cert, "");
	assert_int_equal(http_tls_new(&c, &t), -1);
	conf_for(&c, cert, key);
	c.https[0] = 0; /* certificate without https */
	assert_int_equal(http_tls_new(&c, &t), -1);
	memset(&c, 0, sizeof(c)); /* https off */
	assert_int_equal(http_tls_new(&c, &t), 0);
	assert_null(t);
}

static void reload_swaps_for_new_connections(void **state)
{
	(void)state;
	NEED_OPENSSL();
	node_conf_t c;
	conf_for(&c, cert, key);
	http_server_t srv;
	memset(&srv, 0, sizeof(srv));
	srv.conf = &c;
	assert_int_equal(http_tls_new(&c, &srv.tls), 0);
	SSL_CTX *before = http_tls_ctx(srv.tls);
	/* the files replaced in place, as a certificate renewal does */
	sh("cp %s %s && cp %s %s", cert2, cert, key2, key);
	assert_int_equal(http_tls_reload(&srv), 0);
	SSL_CTX *after = http_tls_ctx(srv.tls);
	assert_ptr_not_equal(before, after);
	assert_int_equal(serial_of(after), 22);
	/* a handshake that began on the old context may still create its
	 * SSL from it */
	SSL *ssl = SSL_new(before);
	assert_non_null(ssl);
	SSL_free(ssl);
	assert_int_equal(serial_of(before), 11);
	/* a bad file: refused, the context in use kept */
	sh("echo broken > %s", cert);
	assert_int_equal(http_tls_reload(&srv), -1);
	assert_ptr_equal(http_tls_ctx(srv.tls), after);
	/* without https there is nothing to reload */
	http_server_t off;
	memset(&off, 0, sizeof(off));
	assert_int_equal(http_tls_reload(&off), 0);
	assert_int_equal(http_tls_reload(NULL), 0);
	http_tls_free(srv.tls);
	make_cert(cert, key, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(context_settings),
		cmocka_unit_test(refused_files),
		cmocka_unit_test(reload_swaps_for_new_connections),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
