/* idctl template: put, get, publish and withdraw metadata templates. */
#ifndef IDN_CTL_TEMPLATE_CMD_H
#define IDN_CTL_TEMPLATE_CMD_H

#include "cli.h"

/* idctl template put|get|publish|withdraw|delete ...: the command table's
 * handler (cli.h). The control socket, --timeout (default 10 s) and
 * --json come from o. Returns the exit status. */
extern const ctl_optdef_t template_opts[];
int template_main(ctl_opts_t *o, int argc, char **argv);

#endif
