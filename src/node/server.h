/* The idnode server: worker threads (one per core by default), each with
 * its own SO_REUSEPORT UDP and TCP sockets per listen address and its own
 * epoll loop, and a control thread serving the local Unix socket. */
#ifndef IDN_NODE_SERVER_H
#define IDN_NODE_SERVER_H

#include "config.h"
#include "store.h"

typedef struct server server_t;

/* Binds every socket (so address errors surface before the node reports
 * ready) and starts the threads. Returns 0 or -1 after logging why. */
int server_start(const node_conf_t *conf, idn_store_t *store,
		 idn_store_t *primary, server_t **out);

/* Stops all threads, closes the sockets and removes the control socket
 * file. Connections in progress are closed. */
void server_stop(server_t *s);

#endif
