/* idctl cert issue, idctl sign and idctl resolve --verify-chain: HS_CERT
 * and HS_SIGNATURE values (docs/trust.md). */
#ifndef IDN_CTL_CERT_H
#define IDN_CTL_CERT_H

#include "cli.h"

/* idctl cert issue and idctl sign (argv[0] "cert" or "sign"), and idctl
 * resolve ID --verify-chain (cert_verify_main, argv[0] "resolve"): the
 * command table's handlers (cli.h). argv holds the command's own options
 * (cert_opts) and arguments; the node, --auth, --json, --public and
 * --timeout come from o. A token to store goes to the node as an
 * `idctl --overwrite add ID INDEX:TYPE=TOKEN` with the same options.
 * Return the exit status. */
extern const ctl_optdef_t cert_opts[];
int cert_main(ctl_opts_t *o, int argc, char **argv);
int cert_verify_main(ctl_opts_t *o, int argc, char **argv);

#endif
