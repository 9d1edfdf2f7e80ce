/* Whole-buffer reads and writes on blocking descriptors: the loops every
 * stream peer needs around read() and write(), which may move fewer bytes
 * than asked or be interrupted by a signal. */
#ifndef IDN_IO_H
#define IDN_IO_H

#include <stddef.h>

/* Writes all n bytes of p to fd, retrying after EINTR and short writes.
 * On a socket it sends with MSG_NOSIGNAL, so a peer that went away is an
 * error (-EPIPE) rather than a SIGPIPE; other descriptors are written
 * with write(). Returns 0; IDN_ETIMEOUT when the descriptor would block
 * (EAGAIN: a socket send timeout expired, or a non-blocking descriptor is
 * full); -errno otherwise. Some bytes may have been written on failure. */
int idn_write_all(int fd, const void *p, size_t n);

/* Reads exactly n bytes from fd into p, retrying after EINTR and short
 * reads. Returns 0; IDN_EPROTO when the peer closed the stream before n
 * bytes came (end of file mid-message); IDN_ETIMEOUT when the descriptor
 * would block (EAGAIN); -errno otherwise. p's contents are unspecified on
 * failure. */
int idn_read_all(int fd, void *p, size_t n);

#endif
