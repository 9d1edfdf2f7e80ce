/* HANDLE.NET's replication ops 1001 and 1002 on this node's change log
 * (docs/replication.md; layouts in repl_cnri.h, as a 7.3.1 primary sends
 * them to its mirrors). A transaction names a record and what happened to
 * it; like HANDLE.NET, a create or an update carries the record's values
 * as they are when the stream is written (the snapshot of the log read),
 * so replaying is idempotent; a record gone since is sent as a delete.
 * Declared search types have no HANDLE.NET form: their entries are passed
 * over (idnode mirrors follow with ops 1109/1110, which carry them). The
 * stream's blocks are signed with the node's --server-key (SHA1, as the
 * reference does); without one the signatures are empty, which HANDLE.NET
 * mirrors refuse. The 1001 request is held open as 1109 is (repl_wait). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "error.h"
#include "log.h"
#include "repl.h"
#include "repl_cnri.h"
#include "repl_ops.h"

/* bytes of stream gathered before they are handed to the connection */
#define STREAM_FLUSH (256 * 1024)
#define STREAM_CAP (STREAM_FLUSH + IDN_MSG_MAX + 8192)

typedef struct {
	reply_t *r;
	const idn_repl_req_t *q;
	idn_rtxn_t *t;
	EVP_PKEY *key;
	idn_wr_t w;
	uint8_t *buf;
	int err;
	uint32_t n;
} cstream_t;

static int cs_open(cstream_t *cs, reply_t *r, const idn_repl_req_t *q,
		   idn_rtxn_t *t)
{
	memset(cs, 0, sizeof(*cs));
	cs->r = r;
	cs->q = q;
	cs->t = t;
	cs->key = r->h->node->key;
	cs->buf = malloc(STREAM_CAP);
	if (cs->buf == NULL)
		return -ENOMEM;
	idn_wr_init(&cs->w, cs->buf, STREAM_CAP);
	idn_cnri_stream_begin(&cs->w);
	return 0;
}

/* Hands what was gathered to the connection. */
static int cs_flush(cstream_t *cs)
{
	if (cs->err == 0 && cs->w.len &&
	    cs->r->emit(cs->r->ctx, cs->buf, cs->w.len) != 0)
		cs->err = -EIO;
	idn_wr_init(&cs->w, cs->buf, STREAM_CAP);
	return cs->err;
}

static int cs_sign(cstream_t *cs, size_t start)
{
	int err = idn_cnri_stream_sign(&cs->w, start, cs->key);
	if (err && !cs->err)
		cs->err = err;
	if (!cs->err && cs->w.len > STREAM_FLUSH)
		cs_flush(cs);
	return cs->err;
}

static void cs_u8(cstream_t *cs, uint8_t v)
{
	idn_wr_raw(&cs->w, &v, 1);
}

/* "0.NA/" + a normalised prefix, as HANDLE.NET names homed prefixes. */
static idn_bytes_t na_name(idn_bytes_t prefix, uint8_t *buf, size_t cap)
{
	size_t n = prefix.len + 5 < cap ? prefix.len : cap - 5;
	memcpy(buf, "0.NA/", 5);
	memcpy(buf + 5, prefix.p, n);
	return idn_bytes(buf, n + 5);
}

/* One transaction of a change log entry. */
static int txn_cb(void *ctx, const idn_change_t *c)
{
	cstream_t *cs = ctx;
	if (!idn_repl_in_share(c->op, c->name, cs->q->hash_type,
			       cs->q->nservers, cs->q->server_num) ||
	    c->op == IDN_CH_INDEX_ADD || c->op == IDN_CH_INDEX_REMOVE)
		return 0;
	uint8_t action;
	idn_record_t rec = {0};
	uint8_t nb[IDN_IDENT_MAX + 8];
	idn_bytes_t name = c->name;
	switch (c->op) {
	case IDN_CH_HOME:
	case IDN_CH_UNHOME:
		action = c->op == IDN_CH_HOME ? IDN_CNRI_HOME : IDN_CNRI_UNHOME;
		name = na_name(c->name, nb, sizeof(nb));
		break;
	case IDN_CH_DELETE:
		action = IDN_CNRI_DELETE;
		break;
	default: {
		idn_ident_t id;
		int err = idn_ident_parse(c->name.p, c->name.len, 0, &id);
		if (err == 0)
			err = idn_store_get(cs->t, id.key, id.key_len, &rec);
		if (err == IDN_ENOTFOUND)
			action = IDN_CNRI_DELETE;
		else if (err)
			return cs->err = err;
		else
			action = c->op == IDN_CH_CREATE ? IDN_CNRI_CREATE
							: IDN_CNRI_UPDATE;
	}
	}
	size_t start = cs->w.len;
	cs_u8(cs, 1);
	idn_wr_u64(&cs->w, c->id);
	idn_wr_str(&cs->w, name);
	cs_u8(cs, action);
	idn_wr_u64(&cs->w, c->time_ms);
	if (action == IDN_CNRI_CREATE || action == IDN_CNRI_UPDATE) {
		int err =
			idn_cnri_values_write(&cs->w, rec.nvalues, rec.values);
		if (err)
			return cs->err = err;
	}
	cs->n++;
	return cs_sign(cs, start) ? 1 : 0;
}

int do_cnri_retrieve(reply_t *r)
{
	idn_repl_req_t q;
	idn_rtxn_t *t;
	int err = repl_retrieve_begin(r, &q, &t);
	if (err != 1)
		return err;
	uint64_t from = q.last_txn + 1, next = 0;
	int st = repl_wait(r->h->store, t, from, &next);
	if (st < 0) {
		idn_rtxn_free(t);
		return reply_lib_error(r, st);
	}
	cstream_t cs;
	if ((err = cs_open(&cs, r, &q, t)) != 0) {
		idn_rtxn_free(t);
		return reply_lib_error(r, err);
	}
	/* the message: a body of one byte 0, as the reference's */
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_raw(&r->w, "", 1);
	if ((err = reply_send(r)) != 0)
		goto out;
	size_t b0 = cs.w.len;
	idn_wr_u32(&cs.w, 1);
	idn_wr_u32(&cs.w, st == 1 ? IDN_REPL_REDUMP : IDN_REPL_SENDING);
	cs_sign(&cs, b0);
	if (st == 0 && from < next && !cs.err) {
		/* a batch a time, like 1109; the next request asks on */
		err = idn_changes_read(t, from, 2000, txn_cb, &cs);
		if (err > 0)
			err = 0;
		if (err && !cs.err)
			cs.err = err;
	}
	if (!cs.err) {
		b0 = cs.w.len;
		cs_u8(&cs, 0);
		idn_wr_u64(&cs.w, repl_now_ms());
		cs_sign(&cs, b0);
	}
	if (cs.err)
		log_warn("replication: a HANDLE.NET stream ended early: %s",
			 idn_strerror(cs.err));
	cs_flush(&cs);
	err = 0;
out:
	free(cs.buf);
	idn_rtxn_free(t);
	return err;
}

static int dump_kind(cstream_t *cs, int kind)
{
	idn_iter_t *it;
	int err = kind == 0 ? idn_iter_records(cs->t, idn_bytes(NULL, 0),
					       idn_bytes(NULL, 0), &it)
			    : idn_iter_homed(cs->t, &it);
	if (err)
		return err;
	idn_iter_item_t item;
	while (!cs->err && (err = idn_iter_next(it, &item)) == 0) {
		idn_bytes_t name = kind == 0 ? item.rec.id : item.key;
		if (!idn_repl_in_share(kind == 0 ? IDN_CH_CREATE : IDN_CH_HOME,
				       name, cs->q->hash_type, cs->q->nservers,
				       cs->q->server_num))
			continue;
		size_t start = cs->w.len;
		uint8_t nb[IDN_IDENT_MAX + 8];
		if (kind == 0) {
			cs_u8(cs, 1);
			idn_wr_str(&cs->w, name);
			err = idn_cnri_values_write(&cs->w, item.rec.nvalues,
						    item.rec.values);
			if (err)
				break;
		} else {
			cs_u8(cs, 2);
			idn_wr_str(&cs->w, na_name(name, nb, sizeof(nb)));
		}
		cs->n++;
		cs_sign(cs, start);
	}
	idn_iter_free(it);
	return err == IDN_ENOTFOUND ? 0 : err;
}

int do_cnri_dump(reply_t *r)
{
	idn_repl_req_t q;
	idn_rtxn_t *t;
	int rc = repl_dump_begin(r, &q, &t);
	if (rc != 1)
		return rc;
	int err = 0;
	uint64_t first, next;
	cstream_t cs;
	err = idn_changes_bounds(t, &first, &next);
	if (err == 0)
		err = cs_open(&cs, r, &q, t);
	if (err) {
		idn_rtxn_free(t);
		return reply_lib_error(r, err);
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	if ((err = reply_send(r)) != 0)
		goto out;
	size_t b0 = cs.w.len;
	idn_wr_u32(&cs.w, 2);
	cs_sign(&cs, b0);
	/* records first, then the homed prefixes, as the reference */
	err = dump_kind(&cs, 0);
	if (!err)
		err = dump_kind(&cs, 1);
	if (err && !cs.err)
		cs.err = err;
	if (!cs.err) {
		b0 = cs.w.len;
		cs_u8(&cs, 0);
		idn_wr_u64(&cs.w, repl_now_ms());
		idn_wr_u64(&cs.w, next - 1);
		cs_sign(&cs, b0);
		cs_u8(&cs, 0xff);
	}
	log_info("replication: HANDLE.NET dump of %u items (at txn %llu)%s%s",
		 cs.n, (unsigned long long)(next - 1), cs.err ? ": " : "",
		 cs.err ? idn_strerror(cs.err) : "");
	cs_flush(&cs);
	err = 0;
out:
	free(cs.buf);
	idn_rtxn_free(t);
	return err;
}
