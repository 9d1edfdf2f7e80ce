/* What one node holds alone (docs/architecture.md, "Planes"): its data
 * directory, by an exclusive lock kept for the life of the process, and
 * its listen addresses, which SO_REUSEPORT would otherwise share with
 * any other process that sets it too. main claims both before the store
 * is opened, after the control socket. */
#ifndef IDN_NODE_CLAIM_H
#define IDN_NODE_CLAIM_H

#include "config.h"

/* Takes an exclusive lock on DIR/lock (created 0600) and writes this
 * process's id into it; *fd gets the descriptor, which holds the lock
 * until it is closed (the process's end releases it too). what names the
 * directory in messages ("data directory", "store"). Returns 0, or -1
 * after logging why, naming the lock and the holder's pid when another
 * process has it. */
int claim_dir(const char *dir, const char *what, int *fd);

/* The LMDB store of conf when it lives outside the data directory
 * (--store lmdb:DIR): created if missing and locked like the data
 * directory; *fd = -1 when there is nothing more to lock (the store is in
 * the data directory, or on PostgreSQL). Returns 0 or -1 after logging. */
int claim_store_dir(const node_conf_t *conf, int *fd);

/* Refuses addresses another process already listens on: every listen
 * address (UDP and TCP) and the HTTP address of conf. Each is bound once
 * without SO_REUSEPORT on a probe socket that is closed again; an address
 * in use is logged with the process that holds it where /proc shows it
 * (pid and command). Other bind errors are left to the planes, which
 * report them as before. Returns 0, or -1 after logging. */
int claim_addresses(const node_conf_t *conf);

#endif
