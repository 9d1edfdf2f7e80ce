/* idctl search: identifiers by value, prefix and creation time
 * (search.h), over the control socket or the network. */
#ifndef IDN_CTL_SEARCH_CMD_H
#define IDN_CTL_SEARCH_CMD_H

#include "cli.h"

/* idctl search and idctl index (the declared types of the search index):
 * the command table's handlers (cli.h). argv holds the command's name and
 * its own options (search_opts, index_opts); the node, --timeout, --json
 * and --public come from o. Return the exit status. */
extern const ctl_optdef_t search_opts[], index_opts[];
int search_main(ctl_opts_t *o, int argc, char **argv);
int index_main(ctl_opts_t *o, int argc, char **argv);

#endif
