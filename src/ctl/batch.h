/* idctl batch: many administrative requests to a node over the network in
 * one authenticated session (session.h), and idctl admin grant|revoke,
 * which edit a record's HS_ADMIN values. */
#ifndef IDN_CTL_BATCH_H
#define IDN_CTL_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "keys.h"
#include "session.h"
#include "value.h"

/* idctl's value syntax INDEX[,OPTION...]:TYPE=DATA (idctl.c). Returns 0
 * or -1. */
int ctl_parse_value(const char *spec, idn_arena_t *a, idn_value_t *v);

/* Where and as whom: -s, --auth ADMIN_ID:INDEX and its credential. */
typedef struct {
	const char *server;
	int timeout_ms;
	const char *auth;
	const ctl_cred_t *cred;
	bool overwrite;
} batch_opts_t;

/* Opens an authenticated session (session.h) to o->server as o->auth with
 * o->cred. Returns 0, or the exit status after printing why (what names
 * the command). */
int ctl_session_open(const batch_opts_t *o, const char *what,
		     idn_session_t **s);

/* Reads admin command lines from in ("create ID VALUE...", "add ID
 * VALUE...", "modify ID VALUE...", "remove ID INDEX...", "delete ID";
 * blank lines and # comments skipped; a "double-quoted" word may hold
 * spaces) and sends them all in one session. Prints one line per request
 * and a summary. Returns the exit status (1 when any request failed). */
int batch_run(const batch_opts_t *o, FILE *in, const char *name);

#endif
