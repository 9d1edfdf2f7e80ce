/* Who asks and how the request came, kept apart (docs/architecture.md,
 * "Principals"). The transport says which plane carried a request; the
 * principal says on whose behalf it runs. Rights (HS_ADMIN) and
 * visibility (per-value read permissions) follow the principal only;
 * the transport decides framing, truncation and whether a request that
 * may write is deferred to a blocking handler. */
#ifndef IDN_NODE_PRINCIPAL_H
#define IDN_NODE_PRINCIPAL_H

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
	/* an admin proven by a challenge answer or a session, or the admin
	 * an HTTP account logged in as (src/node/account.h): rights from
	 * the HS_ADMIN values (and HS_VLIST groups) that name it */
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

/* Principals that hold every right without an HS_ADMIN check. */
static inline int principal_is_operator(const principal_t *p)
{
	return p->kind == PRINCIPAL_OPERATOR || p->kind == PRINCIPAL_HTTP;
}

#endif
