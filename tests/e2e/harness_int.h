/* What the end-to-end harness's files share (harness.c, harness_proto.c);
 * tests use harness.h. */
#ifndef IDN_E2E_HARNESS_INT_H
#define IDN_E2E_HARNESS_INT_H

/* Milliseconds of the monotonic clock. */
long long h__now_ms(void);
/* Fails the running test naming any daemon that has died. */
void h__report_dead_nodes(void);

#endif
