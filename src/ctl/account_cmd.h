/* idctl account: add, list and remove the accounts of the SNMS token
 * login (src/node/account.h) through the node's control socket. */
#ifndef IDN_CTL_ACCOUNT_CMD_H
#define IDN_CTL_ACCOUNT_CMD_H

#include "cli.h"

/* idctl account add NAME --admin ADMIN_ID:INDEX [--password-file F]
 * [--replace] | list | remove NAME: the command table's handler (cli.h).
 * The control socket, --timeout and --json come from o; --admin is the
 * global option (o->admin_ref). Returns the exit status. */
extern const ctl_optdef_t account_opts[];
int account_main(ctl_opts_t *o, int argc, char **argv);

#endif
