/* idctl search: identifiers by value, prefix and creation time
 * (search.h), over the control socket or the network. */
#ifndef IDN_CTL_SEARCH_CMD_H
#define IDN_CTL_SEARCH_CMD_H

/* Runs `idctl ... search ...` or `idctl ... index ...` (the declared
 * types of the search index) when that is the command of argv (the first
 * argument that is neither an option nor an option's value); returns the
 * exit status, or -1 when the command is something else. */
int search_dispatch(int argc, char **argv);

#endif
