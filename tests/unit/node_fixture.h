/* The daemon unit tests' fixture (test_optable.c, test_authz.c): a node
 * context and a handler on a fresh LMDB store in a temporary directory,
 * fed request frames in-process through handler_process, its replies
 * collected and decoded. Values are written straight into the store. */
#ifndef IDN_TEST_NODE_FIXTURE_H
#define IDN_TEST_NODE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "handler.h"
#include "msg.h"
#include "principal.h"
#include "value.h"

#define NFX_HOME "88.118.8"

typedef struct {
	char dir[256];
	node_conf_t conf;
	idn_store_t *s;
	node_ctx_t node;
	handler_t h;
	/* the replies of the last call: frames back to back */
	uint8_t *rep;
	size_t replen, repcap;
	int nrep;
	/* the first reply, decoded (points into rep) */
	idn_env_t env;
	idn_msg_t msg;
} nfx_t;

/* cmocka setup and teardown: a fresh nfx_t in *state with NFX_HOME homed
 * and a blocking handler (a non-blocking one: nfx_setup_worker). */
int nfx_setup(void **state);
int nfx_setup_worker(void **state);
int nfx_teardown(void **state);

/* Callers. */
caller_t nfx_anon(transport_t tr);
caller_t nfx_operator(void);
caller_t nfx_admin(const char *admin, uint32_t index);

/* A request frame: op, header flags, envelope session id and body. */
size_t nfx_frame(uint8_t *out, size_t cap, uint32_t op, uint32_t flags,
		 uint32_t session, const void *body, size_t blen);

/* Runs a frame as from (h->conn set to conn for the call) and decodes the
 * first reply into f->env and f->msg (only f->env when it is encrypted).
 * Returns handler_process's answer; f->msg.hdr.rc is 0 when nothing was
 * emitted. */
int nfx_call(nfx_t *f, const uint8_t *frame, size_t len, const caller_t *from,
	     uint64_t conn);

/* The error text of the decoded reply (static buffer). */
const char *nfx_error_text(const nfx_t *f);

/* Builds values: "INDEX:TYPE=DATA" with data as text, or for HS_ADMIN
 * types (any case) "ADMIN@INDEX#PERMSHEX". Allocated from a. */
idn_value_t nfx_value(idn_arena_t *a, const char *spec);

/* Creates (replacing) the record id with the given value specs
 * (NULL-terminated) straight in the store; fails the test on error. */
void nfx_put(nfx_t *f, const char *id, ...) __attribute__((sentinel));

/* The record's encoded values as stored, copied (caller frees), and
 * their count; NULL when the record does not exist. */
uint8_t *nfx_get(nfx_t *f, const char *id, size_t *len, uint32_t *nvalues);

/* An HS_VLIST value "INDEX" listing n members (ids[i], idx[i]). */
idn_value_t nfx_vlist(idn_arena_t *a, uint32_t index, const char *const *ids,
		      const uint32_t *idx, uint32_t n);

/* Writes the values straight into the store as record id. */
void nfx_put_values(nfx_t *f, const char *id, const idn_value_t *v, uint32_t n);

#endif
