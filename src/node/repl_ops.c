/* The primary side of replication (repl_ops.h; wire layouts in repl.h,
 * docs/replication.md). A follower asks from its position; the reply
 * holds what follows it in the change log, or, when nothing does yet,
 * waits up to REPL_HOLD_MS for a commit (long polling: a change reaches
 * a following mirror as soon as it commits, where HANDLE.NET's mirrors
 * poll about once a minute). */
#include "repl_ops.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "changes.h"
#include "error.h"
#include "log.h"
#include "mirror.h"
#include "opcode.h"
#include "repl.h"

/* how long a 1001 without news is held open */
#define REPL_HOLD_MS 25000
/* at most this many held at once: each holds one of the blocking
 * handlers (defer.c) */
#define REPL_HOLDERS_MAX 2
/* entries per reply, and the bytes of one reply's entries */
#define REPL_BATCH 2000
#define REPL_CHUNK (IDN_MSG_MAX - 4096)

static const node_conf_t *g_conf;
static atomic_int holders;
static atomic_bool stopping;

void repl_ops_init(const node_conf_t *conf)
{
	g_conf = conf;
	atomic_store(&stopping, false);
}

void repl_ops_stop(void)
{
	atomic_store(&stopping, true);
}

/* An admin reference of the configuration: "INDEX:HANDLE" (HANDLE.NET's
 * replication_admins form) or "HANDLE:INDEX". */
static bool admin_matches(const char *ref, idn_bytes_t admin, uint32_t index)
{
	const char *colon = strchr(ref, ':');
	const char *last = strrchr(ref, ':');
	if (colon == NULL)
		return false;
	const char *h;
	size_t hl;
	unsigned long idx;
	char *end;
	idx = strtoul(ref, &end, 10);
	if (end == colon && colon != ref) {
		h = colon + 1;
		hl = strlen(h);
	} else {
		idx = strtoul(last + 1, &end, 10);
		if (*end || end == last + 1)
			return false;
		h = ref;
		hl = (size_t)(last - ref);
	}
	return idx == index && hl == admin.len &&
	       strncasecmp(h, (const char *)admin.p, hl) == 0;
}

/* Whether admin:index is one of the n ADMIN:INDEX (or INDEX:ADMIN)
 * entries of list. */
static bool admin_listed(const char (*list)[256], int n, idn_bytes_t admin,
			 uint32_t index)
{
	for (int i = 0; i < n; i++)
		if (admin_matches(list[i], admin, index))
			return true;
	return false;
}

bool repl_is_admin(const node_conf_t *conf, idn_bytes_t admin, uint32_t index)
{
	return conf && admin_listed(conf->repl_admins, conf->nrepl_admins,
				    admin, index);
}

uint32_t repl_rights(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
		     idn_bytes_t admin, uint32_t aidx, const char **why)
{
	(void)t;
	(void)ar;
	(void)m;
	if (repl_is_admin(g_conf, admin, aidx)) {
		*why = "";
		return 0;
	}
	*why = "not a replication admin of this node";
	return IDN_RC_INSUFFICIENT_PERMS;
}

uint32_t backup_rights(idn_rtxn_t *t, idn_arena_t *ar, const idn_msg_t *m,
		       idn_bytes_t admin, uint32_t aidx, const char **why)
{
	(void)t;
	(void)ar;
	(void)m;
	if ((g_conf && admin_listed(g_conf->backup_admins,
				    g_conf->nbackup_admins, admin, aidx)) ||
	    repl_is_admin(g_conf, admin, aidx)) {
		*why = "";
		return 0;
	}
	*why = "not a backup admin (--backup-admin) or replication admin of "
	       "this node";
	return IDN_RC_INSUFFICIENT_PERMS;
}

int repl_refuse_udp(reply_t *r)
{
	if (r->from.transport == TRANSPORT_UDP)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "replication is served over TCP only");
	return 1;
}

uint64_t repl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int repl_log_begin(reply_t *r, idn_rtxn_t **t)
{
	idn_store_t *s = r->h->node->primary;
	return idn_rtxn_begin(s ? s : r->h->store, t);
}

int do_next_txn_id(reply_t *r)
{
	int rc = repl_refuse_udp(r);
	if (rc != 1)
		return rc;
	idn_rtxn_t *t;
	uint64_t first, next;
	int err = repl_log_begin(r, &t);
	if (err == 0)
		err = idn_changes_bounds(t, &first, &next);
	idn_rtxn_free(t);
	if (err)
		return reply_lib_error(r, err);
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_u64(&r->w, next);
	return reply_send(r);
}

typedef struct {
	reply_t *r;
	const idn_repl_req_t *q;
	uint32_t n;
	uint64_t upto; /* the id after the last entry taken or skipped */
} batch_t;

static int batch_cb(void *ctx, const idn_change_t *c)
{
	batch_t *b = ctx;
	if (idn_repl_in_share(c->op, c->name, b->q->hash_type, b->q->nservers,
			      b->q->server_num)) {
		size_t need = 36 + c->actor.len + c->name.len + c->body.len;
		if (b->n > 0 && b->r->w.len + need > REPL_CHUNK)
			return 1;
		idn_repl_entry_encode(&b->r->w, c);
		b->n++;
	}
	b->upto = c->id + 1;
	return 0;
}

int repl_wait(idn_store_t *s, idn_rtxn_t *t, uint64_t from, uint64_t *next)
{
	uint64_t first = 0;
	bool held = false;
	int err;
	uint64_t deadline = repl_now_ms() + REPL_HOLD_MS;
	for (;;) {
		uint64_t seen = idn_store_commits(s);
		err = idn_changes_bounds(t, &first, next);
		if (err)
			break;
		/* behind the kept log, or ahead of it (another primary, or
		 * one restored from an older copy): copy everything again */
		if (from < first || from > *next) {
			err = 1;
			break;
		}
		uint64_t now = repl_now_ms();
		if (from < *next || now >= deadline || atomic_load(&stopping))
			break;
		if (!held) {
			if (atomic_fetch_add(&holders, 1) >= REPL_HOLDERS_MAX) {
				atomic_fetch_sub(&holders, 1);
				break;
			}
			held = true;
		}
		/* a commit of this process wakes us at once; those of other
		 * nodes on a shared PostgreSQL are seen by the next read */
		uint64_t left = deadline - now;
		idn_store_wait_commit(s, seen, left < 200 ? (int)left : 200);
		idn_rtxn_reset(t);
		if ((err = idn_rtxn_renew(t)) != 0)
			break;
	}
	if (held)
		atomic_fetch_sub(&holders, 1);
	return err;
}

/* Refuses UDP, decodes the request of a retrieve (txn) or a dump into q
 * and checks it. 1 to go on, else the result of the reply sent. */
static int req_begin(reply_t *r, bool txn, idn_repl_req_t *q)
{
	int rc = repl_refuse_udp(r);
	if (rc != 1)
		return rc;
	if (idn_repl_req_decode(r->req->rest, txn, q) != 0 ||
	    (q->nservers > 1 && q->server_num >= q->nservers) ||
	    q->hash_type > IDN_HASH_BY_ALL)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   txn ? "malformed retrieve-transactions "
					 "request"
				       : "malformed dump request");
	return 1;
}

int repl_retrieve_begin(reply_t *r, idn_repl_req_t *q, idn_rtxn_t **t)
{
	int rc = req_begin(r, true, q);
	if (rc != 1)
		return rc;
	int err = repl_log_begin(r, t);
	if (err)
		return reply_lib_error(r, err);
	return 1;
}

int do_retrieve_txn(reply_t *r)
{
	idn_repl_req_t q;
	idn_rtxn_t *t;
	int err = repl_retrieve_begin(r, &q, &t);
	if (err != 1)
		return err;
	uint64_t from = q.last_txn + 1, next = 0;
	err = repl_wait(r->h->store, t, from, &next);
	if (err == 1) {
		idn_rtxn_free(t);
		reply_start(r, IDN_RC_SUCCESS, 0);
		idn_wr_u32(&r->w, IDN_REPL_REDUMP);
		return reply_send(r);
	}
	if (err) {
		idn_rtxn_free(t);
		return reply_lib_error(r, err);
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_u32(&r->w, IDN_REPL_SENDING);
	size_t upto_pos = r->w.len;
	idn_wr_u64(&r->w, from);
	idn_wr_u64(&r->w, next);
	size_t n_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	batch_t b = {r, &q, 0, from};
	if (from < next)
		err = idn_changes_read(t, from, REPL_BATCH, batch_cb, &b);
	idn_rtxn_free(t);
	if (err < 0)
		return reply_lib_error(r, err);
	idn_put_u64(r->w.buf + upto_pos, b.upto);
	idn_wr_patch_u32(&r->w, n_pos, b.n);
	return reply_send(r);
}

/* ---- the dump ---- */

typedef struct {
	reply_t *r;
	const idn_repl_req_t *q;
	uint64_t next;
	size_t n_pos;
	uint32_t n;
	int stop;
	uint8_t *body;
	size_t body_cap;
} dump_t;

static void dump_open(dump_t *d)
{
	reply_start(d->r, IDN_RC_SUCCESS, 0);
	idn_wr_u64(&d->r->w, d->next);
	d->n_pos = d->r->w.len;
	idn_wr_u32(&d->r->w, 0);
	d->n = 0;
}

static int dump_flush(dump_t *d, bool more)
{
	reply_t *r = d->r;
	idn_wr_patch_u32(&r->w, d->n_pos, d->n);
	if (more) {
		uint8_t *hdr = r->w.buf + r->mark.hdr;
		idn_hdr_set_flags(hdr, idn_hdr_flags(hdr) | IDN_OF_CONTINUOUS);
	}
	return reply_send(r);
}

/* Adds one synthetic change to the dump. */
static int dump_add(dump_t *d, uint32_t op, idn_bytes_t name, idn_bytes_t body)
{
	if (!idn_repl_in_share(op, name, d->q->hash_type, d->q->nservers,
			       d->q->server_num))
		return 0;
	size_t need = 36 + name.len + body.len;
	if (d->n > 0 && d->r->w.len + need > REPL_CHUNK) {
		if (dump_flush(d, true) != 0)
			return d->stop = 1;
		dump_open(d);
	}
	idn_change_t c = {0, 0, op, {NULL, 0}, name, body};
	idn_repl_entry_encode(&d->r->w, &c);
	d->n++;
	return 0;
}

static int dump_walk(dump_t *d, idn_rtxn_t *t, int kind)
{
	idn_iter_t *it;
	int err = kind == 0   ? idn_iter_records(t, idn_bytes(NULL, 0),
						 idn_bytes(NULL, 0), &it)
		  : kind == 1 ? idn_iter_homed(t, &it)
			      : idn_iter_types(t, &it);
	if (err)
		return err;
	idn_iter_item_t item;
	while (!d->stop && (err = idn_iter_next(it, &item)) == 0) {
		if (kind == 0) {
			/* a create that overwrites: u8 1, u32 n, the values */
			size_t need = 5 + item.rec.values.len;
			if (need > d->body_cap) {
				uint8_t *nb = realloc(d->body, need);
				if (nb == NULL) {
					err = -ENOMEM;
					break;
				}
				d->body = nb;
				d->body_cap = need;
			}
			d->body[0] = 1;
			idn_put_u32(d->body + 1, item.rec.nvalues);
			memcpy(d->body + 5, item.rec.values.p,
			       item.rec.values.len);
			dump_add(d, IDN_CH_CREATE, item.rec.id,
				 idn_bytes(d->body, need));
		} else {
			dump_add(d, kind == 1 ? IDN_CH_HOME : IDN_CH_INDEX_ADD,
				 item.key, idn_bytes(NULL, 0));
		}
	}
	idn_iter_free(it);
	return err == IDN_ENOTFOUND ? 0 : err;
}

int repl_dump_begin(reply_t *r, idn_repl_req_t *q, idn_rtxn_t **t)
{
	int rc = req_begin(r, false, q);
	if (rc != 1)
		return rc;
	int err = idn_rtxn_begin(r->h->store, t);
	if (err)
		return reply_lib_error(r, err);
	return 1;
}

int do_dump_handles(reply_t *r)
{
	idn_repl_req_t q;
	idn_rtxn_t *t;
	int rc = repl_dump_begin(r, &q, &t);
	if (rc != 1)
		return rc;
	int err = 0;
	uint64_t first;
	dump_t d = {r, &q, 0, 0, 0, 0, NULL, 0};
	err = idn_changes_bounds(t, &first, &d.next);
	if (err) {
		idn_rtxn_free(t);
		return reply_lib_error(r, err);
	}
	log_info("replication: dumping the store for %.*s (at change %llu)",
		 (int)r->from.who.admin.len,
		 r->from.who.admin.p ? (const char *)r->from.who.admin.p : "",
		 (unsigned long long)d.next);
	dump_open(&d);
	/* prefixes first: a follower's records then land under homed
	 * prefixes, and the types before the records they index */
	for (int kind = 1; err == 0 && !d.stop && kind <= 2; kind++)
		err = dump_walk(&d, t, kind);
	if (err == 0 && !d.stop)
		err = dump_walk(&d, t, 0);
	idn_rtxn_free(t);
	free(d.body);
	if (d.stop)
		return 0;
	if (err) {
		/* the messages sent so far were flagged continuous: this one
		 * ends the stream */
		return reply_lib_error(r, err);
	}
	return dump_flush(&d, false);
}

int do_repl_status(reply_t *r)
{
	char json[8192];
	mirror_status_json(json, sizeof(json));
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_str(&r->w, idn_bytes_str(json));
	return reply_send(r);
}
