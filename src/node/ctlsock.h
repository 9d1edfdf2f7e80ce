/* The control plane's listener: the local Unix socket idctl -C talks to.
 * Its file mode (0600) is the access control: whoever can connect runs
 * as the local operator. Each connection is served by a thread of its
 * own with a blocking handler (ctlconn.h). */
#ifndef IDN_NODE_CTLSOCK_H
#define IDN_NODE_CTLSOCK_H

#include "handler.h"

typedef struct ctlsock ctlsock_t;

/* Claims the control socket at path: refuses when a live idnode answers
 * there (it owns the data directory), else replaces a stale file, binds
 * with mode 0600 and listens. Connections wait in the backlog until
 * ctlsock_start. Returns 0 or -1 after logging why. */
int ctlsock_open(const char *path, ctlsock_t **out);

/* Starts accepting connections, served with handlers on node (which must
 * outlive ctlsock_close). Returns 0 or -1 after logging why. */
int ctlsock_start(ctlsock_t *c, node_ctx_t *node);

/* Stops accepting, ends the connections in progress and waits for their
 * threads, closes the socket and removes its file. NULL is fine. */
void ctlsock_close(ctlsock_t *c);

#endif
