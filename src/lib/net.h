/* Socket addresses and a small client for the Handle protocol over UDP, TCP
 * and the node's local control socket (a Unix stream socket). */
#ifndef IDN_NET_H
#define IDN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "msg.h"

#define IDN_DEFAULT_PORT 2641

/* Parses "1.2.3.4:2641", "[::1]:2641", "::1" or "1.2.3.4" (default_port
 * then), or "localhost[:port]". Returns 0 or IDN_EINVAL. */
int idn_addr_parse(const char *s, uint16_t default_port,
		   struct sockaddr_storage *out, socklen_t *out_len);

/* Formats an address as "1.2.3.4:2641" or "[::1]:2641". */
void idn_addr_format(const struct sockaddr *sa, char *out, size_t cap);

enum { IDN_NET_UDP = 0, IDN_NET_TCP = 1, IDN_NET_UNIX = 2 };

typedef struct idn_client idn_client_t;

/* Connects to a node. where is "HOST:PORT" for UDP/TCP or a path for UNIX.
 * timeout_ms bounds every wait. Returns 0, IDN_EINVAL, -errno. */
int idn_client_open(int transport, const char *where, int timeout_ms,
		    idn_client_t **out);
void idn_client_close(idn_client_t *c);

/* Whether a stream connection was closed by the peer (a server that
 * answers one request per connection, as HANDLE.NET's does): the next
 * call needs a new connection. False for UDP. */
bool idn_client_stale(idn_client_t *c);

/* The connection's socket, e.g. for another thread to shut it down and so
 * end a call waiting on it. */
int idn_client_fd(const idn_client_t *c);

/* The envelope session id of the following calls (0: none), e.g. the
 * challenge id a challenge answer echoes. */
void idn_client_set_session(idn_client_t *c, uint32_t session_id);

/* Called for every reply message; msg points at the message (no envelope),
 * valid during the call only. Return non-zero to stop waiting. */
typedef int (*idn_reply_cb)(void *ctx, const idn_env_t *env, const uint8_t *msg,
			    size_t len);

/* Sends one request message (header + body + credential, no envelope)
 * and delivers replies to cb until a reply without IDN_OF_CONTINUOUS
 * arrives (or cb returns non-zero). Over UDP the request is split into
 * datagrams as needed, replies are reassembled, and the request is retried
 * (3 tries, waiting 1/7, 2/7 and 4/7 of the timeout) on timeout. Returns 0,
 * IDN_ETIMEOUT, IDN_EPROTO, -errno; a UDP reply flagged truncated is delivered
 * with env->flags showing it. */
int idn_client_call(idn_client_t *c, const uint8_t *msg, size_t len,
		    idn_reply_cb cb, void *ctx);

#endif
