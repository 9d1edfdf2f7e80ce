/* idctl template: put, get, publish and withdraw metadata templates. */
#ifndef IDN_CTL_TEMPLATE_CMD_H
#define IDN_CTL_TEMPLATE_CMD_H

/* Runs `idctl ... template ...` when that is the command of argv (the
 * first argument that is neither an option nor an option's value);
 * returns the exit status, or -1 when the command is something else. */
int template_dispatch(int argc, char **argv);

#endif
