/* idctl cert issue, idctl sign and idctl resolve --verify-chain: HS_CERT
 * and HS_SIGNATURE values (docs/trust.md). */
#ifndef IDN_CTL_CERT_H
#define IDN_CTL_CERT_H

/* Runs the command of argv when it is `cert`, `sign`, or `resolve` with
 * --verify-chain, and returns the exit status. Returns -1 when the
 * command is something else (*next_argv NULL), and also -1 with
 * *next_argc / *next_argv set when the token is to be stored: the caller
 * then runs that argv (an `idctl --overwrite add ID INDEX:TYPE=TOKEN`
 * with the same node options) as if it had been given. The new argv lives
 * until the process exits. */
int cert_dispatch(int argc, char **argv, int *next_argc, char ***next_argv);

#endif
