/* idnode's HTTP interface (docs/architecture.md, HTTP status): the
 * handle.net-shaped REST API, the management API, the browser resolution proxy,
 * the web console's static files, /api/stats and /metrics.
 *
 * Built on libh2o's evloop library: http-threads threads (their own, never
 * the UDP/TCP workers), each with an event loop, an SO_REUSEPORT listener
 * and a handler_t of its own, so a request runs through the same Handle
 * message path as UDP and TCP without locks. Writes are refused (401)
 * unless the request carries the secret of http-admin-token-file, or a
 * token from the management login, as "Authorization: Bearer ...". */
#ifndef IDN_NODE_HTTP_H
#define IDN_NODE_HTTP_H

#include "config.h"
#include "handler.h"

typedef struct http_server http_server_t;

/* Binds the listeners and starts the threads when conf->http or
 * conf->https is set (else *out = NULL and 0). Returns 0 or -1 after logging
 * why. */
int http_start(node_ctx_t *node, const node_conf_t *conf, http_server_t **out);

/* Applies what conf changes of the running server (reload.h): re-reads
 * the admin token file (conf->http_token_file; "" disables writes) and
 * swaps the secret under the token lock, so a request sees the old secret
 * or the new one whole; login tokens issued under the old secret end
 * with it. NULL is fine (no HTTP). Returns 1 when the secret changed,
 * 0 when not, -1 after logging why the file cannot be used (the running
 * secret is kept). */
int http_reload(http_server_t *s, const node_conf_t *conf);

/* Re-reads the files named by s->conf's http-tls-cert and http-tls-key
 * into a new TLS context and gives it to new HTTPS connections;
 * connections already open keep the one they began with. Returns 0 (also
 * when s is NULL or https is off), or -1 after logging why, with the
 * context in use kept. Safe to call from any thread while s runs. */
int http_tls_reload(http_server_t *s);

/* Stops the threads, closing connections in progress. NULL is fine. */
void http_stop(http_server_t *s);

#endif
