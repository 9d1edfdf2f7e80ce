/* The control socket's listener: an accept thread polls the Unix socket
 * and starts one detached thread per connection (at most CONTROL_MAX at
 * once), which serves it through ctl_conn_serve (ctlconn.c). Closing
 * shuts every connection down and waits for the threads to finish, so
 * nothing touches the node after ctlsock_close returns. */
#include "ctlsock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlconn.h"
#include "io.h"
#include "log.h"

#define CONTROL_MAX 64

struct ctlsock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	node_ctx_t *node;
	atomic_int stop;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int conns[CONTROL_MAX];
	int nconns;
};

typedef struct {
	ctlsock_t *cs;
	int fd;
} ctl_arg_t;

static int fd_emit(void *ctx, const uint8_t *frame, size_t len)
{
	int fd = *(int *)ctx;
	return idn_write_all(fd, frame, len) == 0 ? 0 : -1;
}

static void forget(ctlsock_t *cs, int fd)
{
	pthread_mutex_lock(&cs->lock);
	for (int i = 0; i < cs->nconns; i++)
		if (cs->conns[i] == fd) {
			cs->conns[i] = cs->conns[--cs->nconns];
			break;
		}
	pthread_cond_broadcast(&cs->cond);
	pthread_mutex_unlock(&cs->lock);
}

static void *conn_main(void *varg)
{
	ctl_arg_t *a = varg;
	ctlsock_t *cs = a->cs;
	int fd = a->fd;
	free(a);
	handler_t h;
	if (handler_init(&h, cs->node, true) != 0)
		goto out;
	ctl_conn_serve(&h, fd, &cs->stop, fd_emit, &fd);
	handler_fini(&h);
out:
	forget(cs, fd);
	close(fd);
	return NULL;
}

/* Hands connection fd to a thread of its own, or closes it. */
static void serve(ctlsock_t *cs, int fd)
{
	pthread_mutex_lock(&cs->lock);
	bool full = cs->nconns >= CONTROL_MAX;
	if (!full)
		cs->conns[cs->nconns++] = fd;
	pthread_mutex_unlock(&cs->lock);
	if (full) {
		log_warn("control socket: too many connections");
		close(fd);
		return;
	}
	ctl_arg_t *a = malloc(sizeof(*a));
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (a != NULL) {
		a->cs = cs;
		a->fd = fd;
	}
	if (a == NULL || pthread_create(&t, &attr, conn_main, a) != 0) {
		free(a);
		forget(cs, fd);
		close(fd);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
	ctlsock_t *cs = arg;
	while (!atomic_load(&cs->stop)) {
		struct pollfd pfd = {cs->fd, POLLIN, 0};
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		int fd = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(cs, fd);
	}
	return NULL;
}

/* Binds and listens on un, mode 0600. Returns the socket or -1. */
static int bind_socket(const struct sockaddr_un *un)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	mode_t old =
		umask(0177); /* 0600: the file mode is the access control */
	int rc = bind(fd, (const struct sockaddr *)un, sizeof(*un));
	umask(old);
	if (rc != 0 || listen(fd, 64) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int ctlsock_open(const char *path, ctlsock_t **out)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(un.sun_path)) {
		log_error("control socket path too long: %s", path);
		return -1;
	}
	strcpy(un.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a live socket means another idnode owns this data directory */
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0) {
		log_error("control socket %s is in use: is another idnode "
			  "running?",
			  path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	fd = bind_socket(&un);
	if (fd < 0) {
		log_error("cannot create control socket %s: %s", path,
			  strerror(errno));
		return -1;
	}
	ctlsock_t *cs = calloc(1, sizeof(*cs));
	if (cs == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	strcpy(cs->path, path);
	cs->fd = fd;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->cond, NULL);
	*out = cs;
	return 0;
}

int ctlsock_start(ctlsock_t *cs, node_ctx_t *node)
{
	cs->node = node;
	if (pthread_create(&cs->thread, NULL, accept_main, cs) != 0) {
		log_error("cannot start the control socket's thread");
		return -1;
	}
	cs->started = true;
	return 0;
}

void ctlsock_close(ctlsock_t *cs)
{
	if (cs == NULL)
		return;
	atomic_store(&cs->stop, 1);
	/* wakes the accept loop's poll at once (POLLHUP) */
	shutdown(cs->fd, SHUT_RDWR);
	if (cs->started)
		pthread_join(cs->thread, NULL);
	/* wake connections blocked in read, wait for them to end */
	pthread_mutex_lock(&cs->lock);
	for (int i = 0; i < cs->nconns; i++)
		shutdown(cs->conns[i], SHUT_RDWR);
	while (cs->nconns > 0)
		pthread_cond_wait(&cs->cond, &cs->lock);
	pthread_mutex_unlock(&cs->lock);
	close(cs->fd);
	unlink(cs->path);
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->cond);
	free(cs);
}
