#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "io.h"

/* More than a socket buffer holds: the writer sees short writes. */
#define BIG (4u << 20)

typedef struct {
	int fd;
	uint8_t *buf;
	size_t n;
	int rc;
} job_t;

static void *reader(void *arg)
{
	job_t *j = arg;
	j->rc = idn_read_all(j->fd, j->buf, j->n);
	return NULL;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	return p;
}

/* A buffer larger than the socket's moves whole in both directions. */
static void test_large_roundtrip(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	uint8_t *out = pattern(BIG);
	job_t j = {sv[1], malloc(BIG), BIG, -1};
	assert_non_null(j.buf);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader, &j), 0);
	assert_int_equal(idn_write_all(sv[0], out, BIG), 0);
	pthread_join(t, NULL);
	assert_int_equal(j.rc, 0);
	assert_memory_equal(j.buf, out, BIG);
	free(j.buf);
	free(out);
	close(sv[0]);
	close(sv[1]);
}

/* A pipe is not a socket: the write falls back to write(). */
static void test_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(idn_write_all(p[1], "hello", 5), 0);
	char got[6] = {0};
	assert_int_equal(idn_read_all(p[0], got, 5), 0);
	assert_string_equal(got, "hello");
	close(p[0]);
	close(p[1]);
}

/* The peer closing mid-message is IDN_EPROTO; at the very start too. */
static void test_eof(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(idn_write_all(sv[0], "abc", 3), 0);
	close(sv[0]);
	uint8_t buf[8];
	assert_int_equal(idn_read_all(sv[1], buf, 8), IDN_EPROTO);
	assert_int_equal(idn_read_all(sv[1], buf, 1), IDN_EPROTO);
	close(sv[1]);
}

/* A non-blocking descriptor with nothing to read, or no room to write,
 * reports IDN_ETIMEOUT (what a socket timeout looks like). */
static void test_would_block(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	uint8_t b[4];
	assert_int_equal(idn_read_all(sv[1], b, 4), IDN_ETIMEOUT);
	uint8_t *big = pattern(BIG);
	assert_int_equal(idn_write_all(sv[1], big, BIG), IDN_ETIMEOUT);
	free(big);
	close(sv[0]);
	close(sv[1]);
}

/* Writing to a peer that has gone is -EPIPE, not a SIGPIPE that would
 * end the process; a bad descriptor is -EBADF. */
static void test_errors(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(idn_write_all(sv[0], "x", 1), -EPIPE);
	close(sv[0]);
	assert_int_equal(idn_write_all(sv[0], "x", 1), -EBADF);
	uint8_t b;
	assert_int_equal(idn_read_all(sv[0], &b, 1), -EBADF);
	assert_int_equal(idn_write_all(-1, NULL, 0), 0); /* nothing to do */
}

static void on_alarm(int sig)
{
	(void)sig;
}

typedef struct {
	pthread_t target;
	int fd;
} late_t;

static void *late_writer(void *arg)
{
	late_t *l = arg;
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	pthread_kill(l->target, SIGUSR1); /* read() fails with EINTR */
	nanosleep(&ts, NULL);
	write(l->fd, "ab", 2);
	nanosleep(&ts, NULL);
	pthread_kill(l->target, SIGUSR1);
	nanosleep(&ts, NULL);
	write(l->fd, "cd", 2);
	return NULL;
}

/* A signal without SA_RESTART interrupts the read, which goes on. */
static void test_eintr(void **state)
{
	(void)state;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART */
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	late_t l = {pthread_self(), p[1]};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, late_writer, &l), 0);
	char got[5] = {0};
	assert_int_equal(idn_read_all(p[0], got, 4), 0);
	assert_string_equal(got, "abcd");
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_roundtrip),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_would_block),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_eintr),
	};
	return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
