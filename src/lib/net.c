#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

int idn_addr_parse(const char *s, uint16_t default_port,
		   struct sockaddr_storage *out, socklen_t *out_len)
{
	char host[256];
	const char *port = NULL;
	size_t n;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return IDN_EINVAL;
		n = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != 0)
			return IDN_EINVAL;
		s++;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') == colon) {
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s); /* bare IPv4, IPv6 or name */
		}
	}
	if (n == 0 || n >= sizeof(host))
		return IDN_EINVAL;
	memcpy(host, s, n);
	host[n] = 0;
	unsigned long p = default_port;
	if (port != NULL) {
		char *end;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (*port == 0 || *end != 0 || errno || p == 0 || p > 65535)
			return IDN_EINVAL;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*out_len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*out_len = sizeof(*v6);
		return 0;
	}
	return IDN_EINVAL;
}

void idn_addr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(v4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
	} else {
		snprintf(out, cap, "(local)");
	}
}

struct idn_client {
	int fd;
	int transport;
	int timeout_ms;
	uint32_t next_id;
	uint32_t session_id;
	uint8_t *buf;	/* IDN_ENV_LEN + IDN_MSG_MAX: receive buffer */
	uint8_t *reasm; /* IDN_MSG_MAX: UDP reassembly */
};

int idn_client_fd(const idn_client_t *c)
{
	return c ? c->fd : -1;
}

int idn_client_open(int transport, const char *where, int timeout_ms,
		    idn_client_t **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int type = transport == IDN_NET_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if (transport == IDN_NET_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		memset(un, 0, sizeof(*un));
		if (strlen(where) >= sizeof(un->sun_path))
			return IDN_EINVAL;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, where);
		sl = sizeof(*un);
	} else if (idn_addr_parse(where, IDN_DEFAULT_PORT, &ss, &sl) != 0) {
		return IDN_EINVAL;
	}
	idn_client_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->transport = transport;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	c->buf = malloc(IDN_ENV_LEN + IDN_MSG_MAX);
	c->reasm = malloc(IDN_MSG_MAX);
	c->fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	int err = 0;
	if (c->buf == NULL || c->reasm == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	if (c->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (transport != IDN_NET_UDP) {
		struct timeval tv = {c->timeout_ms / 1000,
				     (c->timeout_ms % 1000) * 1000};
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (connect(c->fd, (struct sockaddr *)&ss, sl) != 0) {
		err = errno == EINPROGRESS || errno == EAGAIN ? IDN_ETIMEOUT
							      : -errno;
		goto fail;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->next_id = (uint32_t)(ts.tv_nsec ^ (ts.tv_sec << 10) ^ getpid()) &
		     0x7fffffff;
	*out = c;
	return 0;
fail:
	idn_client_close(c);
	return err;
}

void idn_client_close(idn_client_t *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->reasm);
	free(c);
}

static int call_stream(idn_client_t *c, const idn_env_t *env,
		       const uint8_t *msg, size_t len, idn_reply_cb cb,
		       void *ctx)
{
	/* envelope and message in one write: written apart, Nagle holds the
	 * message back until the peer's delayed ACK of the envelope (40 ms
	 * per request on a reused connection) */
	idn_env_encode(c->buf, env);
	memcpy(c->buf + IDN_ENV_LEN, msg, len);
	int err = idn_write_all(c->fd, c->buf, IDN_ENV_LEN + len);
	while (!err) {
		idn_env_t renv;
		err = idn_read_all(c->fd, c->buf, IDN_ENV_LEN);
		if (err)
			break;
		int derr = idn_env_decode(c->buf, IDN_ENV_LEN, &renv);
		if (derr != 0 || renv.msg_len < IDN_HDR_LEN)
			return IDN_EPROTO;
		err = idn_read_all(c->fd, c->buf + IDN_ENV_LEN, renv.msg_len);
		if (err)
			break;
		const uint8_t *m = c->buf + IDN_ENV_LEN;
		uint32_t flags = idn_hdr_flags(m);
		if (renv.request_id != env->request_id)
			continue; /* a stale answer */
		if (cb(ctx, &renv, m, renv.msg_len))
			return 0;
		if (!(flags & IDN_OF_CONTINUOUS))
			return 0;
	}
	return err;
}

static int call_udp(idn_client_t *c, const idn_env_t *env, const uint8_t *msg,
		    size_t len, idn_reply_cb cb, void *ctx)
{
	size_t nf = idn_udp_frag_count(len);
	uint8_t dg[IDN_UDP_DGRAM_MAX];
	/* the parts of a multi-datagram request are flagged truncated, as
	 * HANDLE.NET's client flags them (the flag's meaning there) */
	idn_env_t senv = *env;
	if (nf > 1)
		senv.flags |= IDN_EF_TRUNCATED;
	for (int attempt = 0; attempt < 3; attempt++) {
		for (size_t i = 0; i < nf; i++) {
			size_t dl = idn_udp_frag(&senv, msg, len, i, dg);
			if (send(c->fd, dg, dl, 0) < 0 && errno != EINTR)
				return -errno;
		}
		idn_reasm_t *r = malloc(sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		idn_reasm_init(r, c->reasm);
		/* exponential backoff: 1/7, 2/7 and 4/7 of the timeout */
		int wait = c->timeout_ms * (1 << attempt) / 7;
		if (wait < 1)
			wait = 1;
		for (;;) {
			struct pollfd pfd = {c->fd, POLLIN, 0};
			int pr = poll(&pfd, 1, wait);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				break;
			ssize_t n =
				recv(c->fd, c->buf, IDN_UDP_DGRAM_MAX + 64, 0);
			if (n < 0) {
				int e = errno;
				free(r);
				return e == ECONNREFUSED ? -ECONNREFUSED : -e;
			}
			idn_env_t renv;
			if (idn_env_decode(c->buf, (size_t)n, &renv) != 0 ||
			    renv.request_id != env->request_id)
				continue;
			if (idn_reasm_add(r, c->buf, (size_t)n) != 1)
				continue;
			renv = r->env;
			renv.seq = 0;
			int stop = cb(ctx, &renv, c->reasm, renv.msg_len);
			uint32_t flags = renv.msg_len >= IDN_HDR_LEN
						 ? idn_hdr_flags(c->reasm)
						 : 0;
			if (stop || !(flags & IDN_OF_CONTINUOUS)) {
				free(r);
				return 0;
			}
			idn_reasm_init(r, c->reasm);
		}
		free(r);
	}
	return IDN_ETIMEOUT;
}

int idn_client_call(idn_client_t *c, const uint8_t *msg, size_t len,
		    idn_reply_cb cb, void *ctx)
{
	if (len > IDN_MSG_MAX)
		return IDN_ETOOLONG;
	idn_env_t env = {0};
	env.major = IDN_PROTO_MAJOR;
	env.minor = IDN_PROTO_MINOR;
	env.request_id = c->next_id++ & 0x7fffffff;
	env.session_id = c->session_id;
	env.msg_len = (uint32_t)len;
	if (c->transport == IDN_NET_UDP)
		return call_udp(c, &env, msg, len, cb, ctx);
	return call_stream(c, &env, msg, len, cb, ctx);
}

void idn_client_set_session(idn_client_t *c, uint32_t session_id)
{
	c->session_id = session_id;
}

bool idn_client_stale(idn_client_t *c)
{
	if (c->transport == IDN_NET_UDP)
		return false;
	struct pollfd pfd = {c->fd, POLLIN, 0};
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	uint8_t b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			  errno != EINTR);
}
