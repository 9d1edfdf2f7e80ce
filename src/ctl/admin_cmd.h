/* idctl admin grant|revoke ID --admin ADMIN_ID:INDEX [--perms LIST]:
 * adds, widens, narrows or removes the HS_ADMIN value of record ID that
 * names an admin, over the control socket or, with --auth, over the
 * network in an authenticated session like any admin command. */
#ifndef IDN_CTL_ADMIN_CMD_H
#define IDN_CTL_ADMIN_CMD_H

#include <stdbool.h>

#include "keys.h"

typedef struct {
	const char
		*control;   /* control socket path, when not over the network */
	const char *server; /* -s HOST:PORT with --auth */
	const char *auth;   /* --auth ADMIN_ID:INDEX, or NULL */
	const ctl_cred_t *cred; /* its credential, with auth */
	int timeout_ms;
	const char *admin; /* --admin ADMIN_ID:INDEX: whose rights */
	const char *perms; /* --perms add_value,modify_value,...|all */
	bool json;
} admin_cmd_opts_t;

/* Parses a comma-separated list of permission names (add_handle,
 * delete_handle, add_prefix, delete_prefix, modify_value, remove_value,
 * add_value, modify_admin, remove_admin, add_admin, read_value, list,
 * all) into HS_ADMIN bits. Returns 0 or -1 with the bad name in *bad. */
int admin_perms_parse(const char *list, uint16_t *out, const char **bad,
		      size_t *badlen);

/* Runs "admin grant ID" (sub "grant") or "admin revoke ID". Returns the
 * exit status. */
int admin_cmd_run(const admin_cmd_opts_t *o, const char *sub, const char *id);

#endif
