/* Reloading a running node (SIGHUP, idctl reload): the configuration is
 * loaded again from the same command line and config file, compared with
 * the running one row by row of the options schema (config.h), and the
 * rows flagged live are applied: the log level, the UDP rate limit, the
 * TCP caps and idle timeout, the HTTP admin token file (read again even
 * when its name is the same, to rotate the token). Every other row that
 * differs needs a restart; the running value is kept and the log names it
 * (docs/architecture.md, "Planes"). */
#ifndef IDN_NODE_RELOAD_H
#define IDN_NODE_RELOAD_H

#include <pthread.h>
#include <stddef.h>

#include "audit.h"
#include "config.h"
#include "http.h"
#include "server.h"

typedef struct {
	pthread_mutex_t lock; /* one reload at a time */
	int argc;
	char **argv;	   /* the command line conf_load read at start */
	node_conf_t *conf; /* the running configuration, changed in place */
	server_t *handle;  /* the planes it applies to, once started */
	http_server_t *http;
	audit_t *audit; /* reopened on every reload (logrotate), or NULL */
} reload_t;

/* conf must outlive r; argv too. */
void reload_init(reload_t *r, int argc, char **argv, node_conf_t *conf);
void reload_fini(reload_t *r);

/* Names the planes a reload applies to (NULL: not running). */
void reload_attach(reload_t *r, server_t *handle, http_server_t *http,
		   audit_t *audit);

/* Reloads (see above) and logs what it did. json (cap bytes) receives
 * {"applied":[...],"restart":[...],"failed":[...]} with the option names
 * (failed: live options whose new value could not be used, the running
 * one being kept). Returns 0, or -1 when the configuration does not load
 * (conf_load printed why; nothing changed) with json holding the
 * message. */
int reload_run(reload_t *r, char *json, size_t cap);

/* reload_run for a node_ctx_t's hook (handler.h): ctx is a reload_t. */
int reload_hook(void *ctx, char *json, size_t cap);

#endif
