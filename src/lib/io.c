/* Whole-buffer reads and writes (io.h). */
#include "io.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"

static int io_error(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK ? IDN_ETIMEOUT : -e;
}

int idn_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	bool sock = true; /* until send() says otherwise */
	while (n > 0) {
		ssize_t w =
			sock ? send(fd, b, n, MSG_NOSIGNAL) : write(fd, b, n);
		if (w < 0 && sock && errno == ENOTSOCK) {
			sock = false;
			continue;
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return io_error(errno);
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int idn_read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t r = read(fd, b, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return io_error(errno);
		}
		if (r == 0)
			return IDN_EPROTO;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}
