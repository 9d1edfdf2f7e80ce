/* The checking side of idctl verify-sites (verify.h): workers that ask
 * every site for a record and compare each answer with the primary's. */
#include "verify.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "msg.h"
#include "net.h"
#include "resolver.h"

/* One site's answer for one identifier. */
typedef struct {
	int err;     /* transport error, 0 when answered */
	uint32_t rc; /* the response code */
	idn_value_t *v;
	uint32_t n;
	uint16_t server;
	char detail[160]; /* err or an error reply's text */
} answer_t;

typedef struct {
	verify_t *v;
	atomic_size_t *next;
	idn_arena_t arena; /* replies and decoded values of one identifier */
	idn_client_t *conn[VERIFY_SITES_MAX][IDN_SITE_SERVERS_MAX];
	uint8_t *req;
	const uint8_t *reply; /* the last reply, copied into arena */
	size_t reply_len;
	int err; /* out of memory, sticky */
} worker_t;

const char *verify_kind_name(unsigned kind)
{
	static const char *const names[] = {
		"missing",     "extra",		"value-missing",
		"value-extra", "value-differs", "error",
	};
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* ---- asking one server ---- */

static int on_reply(void *ctx, const idn_env_t *env, const uint8_t *msg,
		    size_t len)
{
	(void)env;
	worker_t *w = ctx;
	uint8_t *copy = idn_arena_alloc(&w->arena, len ? len : 1);
	if (copy == NULL) {
		w->err = -ENOMEM;
		return 1;
	}
	memcpy(copy, msg, len);
	w->reply = copy;
	w->reply_len = len;
	return 1;
}

/* Sends the request in w->req to server k of site si on the worker's
 * connection, opened when there is none; a connection the server has
 * closed meanwhile (HANDLE.NET closes after each answer) is opened again
 * once. Returns 0 with the reply in w->reply, or a transport error;
 * *dead is set when the server could not be connected to at all. */
static int ask(worker_t *w, unsigned si, unsigned k, size_t len, bool *dead)
{
	const verify_site_t *s = &w->v->sites[si];
	idn_client_t **cl = &w->conn[si][k];
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = *cl == NULL;
		int err = 0;
		if (fresh)
			err = idn_client_open(s->transport[k], s->addr[k],
					      w->v->timeout_ms, cl);
		if (err) {
			*dead = true;
			return err;
		}
		w->reply = NULL;
		err = idn_client_call(*cl, w->req, len, on_reply, w);
		if (err == 0 && w->reply != NULL)
			return 0;
		idn_client_close(*cl);
		*cl = NULL;
		if (w->err)
			return w->err;
		if (fresh)
			return err ? err : IDN_EPROTO;
	}
	return IDN_EPROTO;
}

/* The resolution request for id: authoritative (answered from the site's
 * own data, never from a cache or by recursion), public values only (a
 * value that needs an admin to read would be challenged). */
static size_t build_request(worker_t *w, idn_bytes_t id)
{
	idn_hdr_t h = {0};
	h.op = IDN_OC_RESOLUTION;
	h.flags = IDN_OF_AUTH | IDN_OF_PUBLIC_ONLY;
	h.serial = 0xffff;
	h.expiry = (uint32_t)time(NULL) + 12 * 3600;
	idn_wr_t wr;
	idn_wr_init(&wr, w->req, IDN_MSG_MAX);
	idn_msg_mark_t mk = idn_msg_start(&wr, NULL, &h);
	idn_resolve_req_t q = {id, 0, NULL, 0, NULL};
	idn_resolve_req_encode(&wr, &q);
	idn_msg_finish(&wr, mk, NULL);
	return wr.err ? 0 : wr.len;
}

static int by_index(const void *a, const void *b)
{
	const idn_value_t *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Asks site si for id (request already in w->req, len bytes). */
static void query(worker_t *w, unsigned si, const idn_ident_t *id, size_t len,
		  answer_t *a)
{
	verify_site_t *s = &w->v->sites[si];
	memset(a, 0, sizeof(*a));
	a->server = (uint16_t)idn_site_pick(&s->site, id);
	if (atomic_load(&s->down[a->server]) == 2) {
		a->err = IDN_ETIMEOUT;
		snprintf(a->detail, sizeof(a->detail), "unreachable: %s",
			 s->down_why[a->server]);
		return;
	}
	bool dead = false;
	a->err = ask(w, si, a->server, len, &dead);
	if (a->err) {
		snprintf(a->detail, sizeof(a->detail), "%s: %s",
			 dead ? "unreachable" : "no answer",
			 idn_strerror(a->err));
		/* a server that cannot be connected to or does not answer in
		 * time is not asked again: later records there fail at once
		 * instead of each waiting for the timeout (the first reason is
		 * kept); one that closed the connection (its connection
		 * limits) is asked again for the next record */
		int was = 0;
		if ((dead || a->err == IDN_ETIMEOUT) &&
		    atomic_compare_exchange_strong(&s->down[a->server], &was,
						   1)) {
			snprintf(s->down_why[a->server], sizeof(s->down_why[0]),
				 "%s", idn_strerror(a->err));
			atomic_store(&s->down[a->server], 2);
		}
		return;
	}
	idn_msg_t m;
	if (idn_msg_decode(w->reply, w->reply_len, &m) != 0) {
		a->err = IDN_EPROTO;
		snprintf(a->detail, sizeof(a->detail),
			 "a reply that is not a message");
		return;
	}
	a->rc = m.hdr.rc;
	if (a->rc == IDN_RC_SUCCESS) {
		idn_values_body_t b;
		if (idn_values_body_decode(m.rest, &w->arena, &b) != 0) {
			a->err = IDN_EPROTO;
			snprintf(a->detail, sizeof(a->detail),
				 "malformed values");
			return;
		}
		a->v = b.values;
		a->n = b.nvalues;
		qsort(a->v, a->n, sizeof(*a->v), by_index);
	} else if (a->rc != IDN_RC_NOT_FOUND) {
		idn_bytes_t t = {NULL, 0};
		idn_error_body_decode(m.rest, &t);
		snprintf(a->detail, sizeof(a->detail), "rc %u%s%.*s", a->rc,
			 t.len ? ": " : "", (int)(t.len > 100 ? 100 : t.len),
			 t.p ? (const char *)t.p : "");
	}
}

/* ---- comparing ---- */

static bool bytes_eq(idn_bytes_t a, idn_bytes_t b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

static bool refs_eq(const idn_value_t *a, const idn_value_t *b)
{
	if (a->nrefs != b->nrefs)
		return false;
	for (uint32_t i = 0; i < a->nrefs; i++)
		if (a->refs[i].index != b->refs[i].index ||
		    !bytes_eq(a->refs[i].id, b->refs[i].id))
			return false;
	return true;
}

/* The VF_* fields in which two values with the same index differ. */
static uint8_t value_fields(const idn_value_t *a, const idn_value_t *b)
{
	uint8_t f = 0;
	if (!bytes_eq(a->type, b->type))
		f |= VF_TYPE;
	if (!bytes_eq(a->data, b->data))
		f |= VF_DATA;
	if (a->ttl_type != b->ttl_type || a->ttl != b->ttl)
		f |= VF_TTL;
	if (a->perms != b->perms)
		f |= VF_PERMS;
	if (a->timestamp != b->timestamp)
		f |= VF_TIMESTAMP;
	if (!refs_eq(a, b))
		f |= VF_REFS;
	return f;
}

static void add_diff(worker_t *w, verify_item_t *it, verify_diff_t d)
{
	verify_diff_t *n = realloc(it->d, (it->n + 1) * sizeof(*n));
	if (n == NULL) {
		free(d.detail);
		w->err = -ENOMEM;
		return;
	}
	it->d = n;
	it->d[it->n++] = d;
}

static void add_error(worker_t *w, verify_item_t *it, unsigned si,
		      const answer_t *a)
{
	verify_diff_t d = {(uint8_t)si, VD_ERROR,	  0, a->server, 0,
			   a->rc,	strdup(a->detail)};
	if (d.detail == NULL) {
		w->err = -ENOMEM;
		return;
	}
	add_diff(w, it, d);
}

/* Appends what differs between the primary's answer p and site si's a. */
static void compare(worker_t *w, verify_item_t *it, unsigned si,
		    const answer_t *p, const answer_t *a)
{
	verify_diff_t d = {(uint8_t)si, 0, 0, a->server, 0, 0, NULL};
	bool pin = p->rc == IDN_RC_SUCCESS, ain = a->rc == IDN_RC_SUCCESS;
	if (a->err || (!ain && a->rc != IDN_RC_NOT_FOUND)) {
		add_error(w, it, si, a);
		return;
	}
	if (pin != ain) {
		d.kind = pin ? VD_MISSING : VD_EXTRA;
		add_diff(w, it, d);
		return;
	}
	uint32_t i = 0, j = 0;
	while (pin && (i < p->n || j < a->n)) {
		if (j == a->n || (i < p->n && p->v[i].index < a->v[j].index)) {
			d.kind = VD_VALUE_MISSING;
			d.index = p->v[i++].index;
		} else if (i == p->n || a->v[j].index < p->v[i].index) {
			d.kind = VD_VALUE_EXTRA;
			d.index = a->v[j++].index;
		} else {
			d.kind = VD_VALUE_DIFFERS;
			d.index = p->v[i].index;
			d.fields = value_fields(&p->v[i++], &a->v[j++]);
			if (d.fields == 0)
				continue;
		}
		add_diff(w, it, d);
	}
}

/* Checks identifier number k at every site. */
static void check_one(worker_t *w, size_t k)
{
	verify_t *v = w->v;
	verify_item_t *it = &v->items[k];
	const char *text = v->ids[k];
	idn_ident_t id;
	answer_t ans[VERIFY_SITES_MAX];
	idn_arena_reset(&w->arena);
	size_t len = 0;
	if (idn_ident_parse((const uint8_t *)text, strlen(text), 0, &id) == 0)
		len = build_request(w, id.text);
	if (len == 0) {
		answer_t bad = {.err = IDN_EIDENT};
		snprintf(bad.detail, sizeof(bad.detail),
			 "not an identifier to ask for");
		add_error(w, it, v->primary, &bad);
		return;
	}
	query(w, v->primary, &id, len, &ans[v->primary]);
	const answer_t *p = &ans[v->primary];
	if (p->err || (p->rc != IDN_RC_SUCCESS && p->rc != IDN_RC_NOT_FOUND)) {
		add_error(w, it, v->primary, p);
		return;
	}
	for (unsigned si = 0; si < v->nsites; si++) {
		if (si == v->primary)
			continue;
		query(w, si, &id, len, &ans[si]);
		compare(w, it, si, p, &ans[si]);
	}
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	for (;;) {
		size_t k = atomic_fetch_add(w->next, 1);
		if (k >= w->v->nids || w->err)
			break;
		check_one(w, k);
	}
	for (unsigned si = 0; si < VERIFY_SITES_MAX; si++)
		for (unsigned k = 0; k < IDN_SITE_SERVERS_MAX; k++)
			idn_client_close(w->conn[si][k]);
	return NULL;
}

int verify_run(verify_t *v)
{
	assert(v->nsites > 0 && v->nsites <= VERIFY_SITES_MAX);
	v->items = calloc(v->nids ? v->nids : 1, sizeof(*v->items));
	unsigned n = v->parallel ? v->parallel : 16;
	if (n > v->nids)
		n = v->nids ? (unsigned)v->nids : 1;
	worker_t *ws = calloc(n, sizeof(*ws));
	pthread_t *th = calloc(n, sizeof(*th));
	if (v->items == NULL || ws == NULL || th == NULL) {
		free(ws);
		free(th);
		return -ENOMEM;
	}
	atomic_size_t next = 0;
	int err = 0;
	unsigned started = 0;
	for (unsigned i = 0; i < n; i++) {
		ws[i].v = v;
		ws[i].next = &next;
		idn_arena_init(&ws[i].arena, 0);
		ws[i].req = malloc(IDN_MSG_MAX);
		if (ws[i].req == NULL ||
		    pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
			err = -ENOMEM;
			free(ws[i].req);
			idn_arena_free(&ws[i].arena);
			break;
		}
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (ws[i].err)
			err = ws[i].err;
		free(ws[i].req);
		idn_arena_free(&ws[i].arena);
	}
	free(ws);
	free(th);
	return err;
}

void verify_items_free(verify_t *v)
{
	for (size_t i = 0; v->items != NULL && i < v->nids; i++) {
		for (uint32_t j = 0; j < v->items[i].n; j++)
			free(v->items[i].d[j].detail);
		free(v->items[i].d);
	}
	free(v->items);
	v->items = NULL;
}
