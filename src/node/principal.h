/* Who asks and how the request came, kept apart (docs/architecture.md,
 * "Principals"). The transport says which plane carried a request; the
 * principal says on whose behalf it runs. Rights (HS_ADMIN) and
 * visibility (per-value read permissions) follow the principal only;
 * the transport decides framing, truncation and whether a request that
 * may write is deferred to a blocking handler. */
#ifndef IDN_NODE_PRINCIPAL_H
#define IDN_NODE_PRINCIPAL_H

#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h" /* idn_bytes_t */

typedef enum {
	TRANSPORT_UDP = 0,
	TRANSPORT_TCP = 1,
	TRANSPORT_CONTROL = 2, /* the local control socket */
	TRANSPORT_HTTP = 3,    /* the HTTP plane (src/http/) */
} transport_t;

typedef enum {
	/* nobody proven: public values, challenged for anything more */
	PRINCIPAL_ANONYMOUS = 0,
	/* an admin proven by a challenge answer or a session, over HTTP as
	 * the handle.net REST API authenticates (src/http/http_auth.c), or
	 * the admin an HTTP account logged in as (src/node/account.h):
	 * rights from the HS_ADMIN values (and HS_VLIST groups) that name
	 * it */
	PRINCIPAL_ADMIN = 1,
	/* the local operator: whoever may open the control socket (its
	 * file permissions are the access control); every right */
	PRINCIPAL_OPERATOR = 2,
	/* an HTTP identity: the holder of the node's HTTP admin token or of
	 * a login token issued for it; acts with the operator's rights */
	PRINCIPAL_HTTP = 3,
} principal_kind_t;

typedef struct {
	principal_kind_t kind;
	idn_bytes_t admin; /* PRINCIPAL_ADMIN: the admin's identifier */
	uint32_t index;	   /* PRINCIPAL_ADMIN: its key's value index */
	/* PRINCIPAL_HTTP: the name it is known by in the audit log (static
	 * text: "admin" for a login token, "admin-token" for the token
	 * itself); NULL otherwise */
	const char *user;
} principal_t;

/* How a request arrived and on whose behalf it runs. */
struct sockaddr_storage;

typedef struct {
	transport_t transport;
	principal_t who;
	/* the network peer (UDP, TCP, HTTP): the abuse limits count by its
	 * source network (netlimit.h) and the audit log names it; NULL for
	 * the control socket or when unknown, valid while the request is
	 * processed */
	const struct sockaddr_storage *peer;
} caller_t;

/* The principal as the change log names it (changes.h): "admin
 * INDEX:HANDLE", "http USER", "operator" or "anonymous", into buf. */
static inline const char *principal_name(const principal_t *p, char *buf,
					 size_t n)
{
	switch (p->kind) {
	case PRINCIPAL_ADMIN:
		snprintf(buf, n, "admin %u:%.*s", (unsigned)p->index,
			 (int)(p->admin.len > 200 ? 200 : p->admin.len),
			 (const char *)p->admin.p);
		break;
	case PRINCIPAL_HTTP:
		snprintf(buf, n, "http %s", p->user ? p->user : "");
		break;
	case PRINCIPAL_OPERATOR:
		snprintf(buf, n, "operator");
		break;
	default:
		snprintf(buf, n, "anonymous");
	}
	return buf;
}

/* Principals that hold every right without an HS_ADMIN check. */
static inline int principal_is_operator(const principal_t *p)
{
	return p->kind == PRINCIPAL_OPERATOR || p->kind == PRINCIPAL_HTTP;
}

#endif
