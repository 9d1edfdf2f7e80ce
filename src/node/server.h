/* The Handle server, idnode's data plane: worker threads (one per core by
 * default), each with its own SO_REUSEPORT UDP and TCP sockets per listen
 * address and its own epoll loop (udp.c, tcp.c), and the resolver threads
 * that run what the workers defer (defer.c). The control socket
 * (ctlsock.h) and HTTP (http.h) are separate planes that main starts
 * beside it on the same node context. */
#ifndef IDN_NODE_SERVER_H
#define IDN_NODE_SERVER_H

#include "handler.h"

typedef struct server server_t;

/* Binds every listener (so address errors surface before the node reports
 * ready) and starts the threads, with handlers on node (which must outlive
 * server_stop). Returns 0 or -1 after logging why. */
int server_start(node_ctx_t *node, server_t **out);

/* The rate-limit settings of the node's configuration (rrl-rate,
 * rrl-burst, rrl-slip) have changed: each worker builds its limiter
 * afresh from them before its next datagram, or within a second when
 * idle. The TCP caps and idle timeout need nothing: the workers read
 * them per use. */
void server_reload(server_t *s);

/* Stops all threads and closes the sockets. Connections in progress are
 * closed. */
void server_stop(server_t *s);

#endif
