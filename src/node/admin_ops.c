/* The administrative write operations of the Handle protocol and of the
 * control socket (handler_int.h). */
#include <errno.h>
#include <string.h>

#include "changes.h"
#include "error.h"
#include "handler_int.h"
#include "log.h"
#include "tplcheck.h"
#include "value.h"

static int stamp_and_check(handler_t *h, idn_value_t *v, uint32_t n, reply_t *r)
{
	for (uint32_t i = 0; i < n; i++) {
		int err = idn_value_check(&v[i], &h->arena);
		if (err) {
			char text[160];
			snprintf(text, sizeof(text), "value %u (%.*s): %s",
				 v[i].index,
				 (int)(v[i].type.len > 64 ? 64 : v[i].type.len),
				 v[i].type.p, idn_strerror(err));
			reply_error(r, IDN_RC_INVALID_VALUE, text);
			return -1;
		}
		v[i].timestamp = h->now;
	}
	return 0;
}

static unsigned id_flags(const handler_t *h)
{
	return h->conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0;
}

/* The values of id before a write, copied out of t into a (the template
 * rules compare before and after); *oldp NULL when there is no record. */
static int tpl_old(idn_wtxn_t *t, const idn_ident_t *id, idn_arena_t *a,
		   idn_record_t *old, idn_record_t **oldp)
{
	*oldp = NULL;
	int err = idn_wtxn_get(t, id->key, id->key_len, old);
	if (err == IDN_ENOTFOUND)
		return 0;
	if (err)
		return err;
	uint8_t *copy = idn_arena_alloc(a, old->values.len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, old->values.p, old->values.len);
	old->values = idn_bytes(copy, old->values.len);
	*oldp = old;
	return 0;
}

/* Has the record the write transaction holds (old, NULL: none) changed
 * since the snapshot the admin's rights were checked on (op_permit)? A
 * write of a proven admin applies only to the record as it stood there:
 * one created, replaced or changed since must not slip under rights
 * granted for what it was. With read replicas the snapshot may lag the
 * primary without anything having changed, so there the check is left
 * to the rights read from the replica. */
static bool changed_since_check(handler_t *h, const idn_record_t *old)
{
	if (h->prtxn != NULL || !h->snapshot)
		return false;
	idn_record_t snap;
	int err = idn_store_get(h->rtxn, h->id.key, h->id.key_len, &snap);
	if (err == IDN_ENOTFOUND)
		return old != NULL;
	if (err != 0 || old == NULL)
		return true;
	return snap.nvalues != old->nvalues ||
	       snap.values.len != old->values.len ||
	       memcmp(snap.values.p, old->values.p, old->values.len) != 0;
}

/* Runs one write operation in its own durable transaction. */
static int write_op(reply_t *r, int op, idn_value_t *v, uint32_t n,
		    const uint32_t *idx, uint32_t nidx, const uint8_t *pfx,
		    uint32_t pfxlen)
{
	handler_t *h = r->h;
	bool overwrite = r->req->hdr.flags & IDN_OF_OVERWRITE;
	bool checked = op == IDN_OC_CREATE || op == IDN_OC_ADD_VALUE ||
		       op == IDN_OC_MODIFY_VALUE || op == IDN_OC_REMOVE_VALUE;
	idn_record_t old = {0}, *oldp = NULL;
	char text[1024];
	text[0] = 0; /* set by tpl_enforce only */
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(h->store, &t);
	if (err)
		return reply_lib_error(r, err);
	char actor[256];
	idn_wtxn_set_actor(t,
			   principal_name(&r->from.who, actor, sizeof(actor)));
	if (checked || op == IDN_OC_DELETE)
		err = tpl_old(t, &h->id, &h->arena, &old, &oldp);
	/* a damaged record (its values unreadable) is the operator's to
	 * delete or replace: the repair of a standalone node */
	if (err == IDN_ECORRUPT && principal_is_operator(&r->from.who) &&
	    (op == IDN_OC_DELETE || (op == IDN_OC_CREATE && overwrite))) {
		log_warn("replacing the damaged record %.*s",
			 (int)h->id.text.len, (const char *)h->id.text.p);
		err = 0;
	}
	if (err) {
		idn_wtxn_abort(t);
		return reply_lib_error(r, err);
	}
	if ((checked || op == IDN_OC_DELETE) &&
	    r->from.who.kind == PRINCIPAL_ADMIN &&
	    changed_since_check(h, oldp)) {
		idn_wtxn_abort(t);
		return reply_error(r, IDN_RC_TOO_BUSY,
				   "the record changed while the admin's "
				   "rights were checked: try again");
	}
	switch (op) {
	case IDN_OC_CREATE:
		err = idn_wtxn_create(t, &h->id, v, n, overwrite);
		break;
	case IDN_OC_DELETE:
		err = idn_wtxn_delete(t, &h->id);
		break;
	case IDN_OC_ADD_VALUE:
		err = idn_wtxn_add(t, &h->id, v, n, overwrite);
		break;
	case IDN_OC_MODIFY_VALUE:
		err = idn_wtxn_modify(t, &h->id, v, n);
		break;
	case IDN_OC_REMOVE_VALUE:
		err = idn_wtxn_remove(t, &h->id, idx, nidx);
		break;
	case IDN_OC_HOME:
		err = idn_wtxn_home(t, pfx, pfxlen);
		break;
	case IDN_OC_UNHOME:
		err = idn_wtxn_unhome(t, pfx, pfxlen);
		break;
	default:
		err = IDN_EUNSUPPORTED;
	}
	/* templates: the record as it would stand must pass (tplcheck.h) */
	if (err == 0 && checked)
		err = tpl_enforce(t, &h->id, id_flags(h), oldp, true, &h->arena,
				  text, sizeof(text));
	/* ... and template versions that records use stay */
	if (err == 0 && (op == IDN_OC_DELETE || op == IDN_OC_REMOVE_VALUE))
		err = tpl_check_unused(h->store, t, &h->id, id_flags(h), oldp,
				       op == IDN_OC_DELETE ? NULL : idx, nidx,
				       &h->arena, text, sizeof(text));
	if (err) {
		idn_wtxn_abort(t);
		if (err == IDN_EVALUE && text[0])
			return reply_error(r, IDN_RC_INVALID_VALUE, text);
		return reply_lib_error(r, err);
	}
	if (op == IDN_OC_CREATE && oldp == NULL) /* new, not replaced */
		act_registered(h->act, h->now, id_flags(h), &h->id, v, n, t);
	err = idn_wtxn_commit(t);
	if (err) {
		act_discard(h->act);
		return reply_lib_error(r, err);
	}
	act_commit(h->act);
	STAT(h, writes);
	reply_start(r, IDN_RC_SUCCESS, 0);
	return reply_send(r);
}

/* Parses the identifier of a record operation and checks that this node
 * is responsible for it. Replies and returns -1 on failure. */
static int admin_target(reply_t *r, idn_bytes_t text)
{
	handler_t *h = r->h;
	int err = parse_id(h, text);
	if (err == 0) {
		err = responsible(h, &h->id);
		err = err < 0 ? err : err == 0 ? IDN_ENOTHOMED : 0;
	}
	if (err) {
		if (err == IDN_ENOTHOMED) {
			char text2[300];
			snprintf(text2, sizeof(text2),
				 "prefix %.*s is not homed on this node",
				 (int)(h->id.prefix_len > 200
					       ? 200
					       : h->id.prefix_len),
				 h->id.text.p);
			reply_error(r, IDN_RC_SERVER_NOT_RESP, text2);
		} else {
			reply_lib_error(r, err);
		}
		return -1;
	}
	return 0;
}

int do_values_op(reply_t *r)
{
	idn_values_body_t b;
	int err = idn_values_body_decode(r->req->rest, &r->h->arena, &b);
	if (err)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR, idn_strerror(err));
	if (admin_target(r, b.id) != 0)
		return 0;
	if (stamp_and_check(r->h, b.values, b.nvalues, r) != 0)
		return 0;
	return write_op(r, (int)r->req->hdr.op, b.values, b.nvalues, NULL, 0,
			NULL, 0);
}

/* Response code of one record of a bulk create. */
static uint32_t bulk_rc(int err)
{
	switch (err) {
	case 0:
		return IDN_RC_SUCCESS;
	case IDN_EEXISTS:
		return IDN_RC_ALREADY_EXISTS;
	case IDN_EIDENT:
	case IDN_EUTF8:
		return IDN_RC_INVALID_HANDLE;
	case IDN_EVALUE:
	case IDN_ETOOMANY:
	case IDN_ETOOLONG:
		return IDN_RC_INVALID_VALUE;
	case IDN_ENOTHOMED:
		return IDN_RC_SERVER_NOT_RESP;
	default:
		return IDN_RC_ERROR;
	}
}

/* A failure of the store itself (or -errno, e.g. -ENOMEM) ends the write
 * transaction (store.h). */
static bool bulk_fatal(int err)
{
	return err == IDN_ENOSPACE || err == IDN_ESTORE ||
	       err == IDN_ENOPRIMARY || err == IDN_EUNKNOWN_OUTCOME ||
	       (err < 0 && (err < IDN_ERR_BASE || err >= IDN_ERR_LAST));
}

/* idnode's bulk create (idctl import): body u32 count + count times
 * (identifier, u32 nvalues, values); every record is created without
 * overwrite in ONE durable write transaction. A record that fails (exists,
 * invalid identifier or value, prefix not homed) is reported in its slot of
 * the reply (u32 count + u32 response code per record) and does not stop
 * the others; a failure of the store fails the whole batch with an error
 * reply and nothing applied. Values keep a non-zero timestamp as given
 * (an export restored keeps its times); 0 means now. */
/* Ends a bulk create's transaction without committing; a group's
 * transaction ends the whole group (handler.h). */
static void bulk_abort(handler_t *h, idn_wtxn_t *t)
{
	if (t == h->group) {
		h->group = NULL;
		h->group_broken = true;
	}
	idn_wtxn_abort(t);
	act_discard(h->act);
}

int do_bulk_create(reply_t *r)
{
	handler_t *h = r->h;
	idn_rd_t rd;
	idn_rd_init(&rd, r->req->rest.p, r->req->rest.len);
	/* a record is at least an empty identifier string and a count */
	uint32_t n = idn_rd_count(&rd, IDN_MSG_MAX / 8, 8);
	uint32_t *rcs = n ? idn_arena_array(&h->arena, n, sizeof(*rcs)) : NULL;
	if (rd.err || (n && rcs == NULL))
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed bulk create request");
	idn_wtxn_t *t = h->group;
	int err = t ? 0 : idn_wtxn_begin(h->store, &t);
	if (err)
		return reply_lib_error(r, err);
	char actor[256];
	idn_wtxn_set_actor(t,
			   principal_name(&r->from.who, actor, sizeof(actor)));
	uint64_t created = 0;
	for (uint32_t i = 0; i < n; i++) {
		idn_bytes_t id = idn_rd_str(&rd, IDN_IDENT_MAX);
		idn_value_t *v;
		uint32_t nv;
		if (rd.err || idn_values_decode(&rd, &h->arena, &v, &nv) != 0) {
			bulk_abort(h, t);
			return reply_error(r, IDN_RC_PROTOCOL_ERROR,
					   "malformed bulk create request");
		}
		err = parse_id(h, id);
		if (err == 0) {
			err = responsible(h, &h->id);
			err = err < 0 ? err : err == 0 ? IDN_ENOTHOMED : 0;
		}
		for (uint32_t k = 0; err == 0 && k < nv; k++) {
			err = idn_value_check(&v[k], &h->arena);
			if (v[k].timestamp == 0)
				v[k].timestamp = h->now;
		}
		if (err == 0)
			err = idn_wtxn_create(t, &h->id, v, nv, false);
		if (err == 0 && tpl_concerns(&h->id, v, nv)) {
			/* templates: a record that does not conform is taken
			 * back out (it did not exist before) */
			char text[512];
			err = tpl_enforce(t, &h->id, id_flags(h), NULL, false,
					  &h->arena, text, sizeof(text));
			if (err != 0 && !bulk_fatal(err)) {
				int e2 = idn_wtxn_delete(t, &h->id);
				err = e2 ? e2 : err;
			}
		}
		if (bulk_fatal(err)) {
			bulk_abort(h, t);
			return reply_lib_error(r, err);
		}
		if (err == 0)
			act_registered(h->act, h->now, id_flags(h), &h->id, v,
				       nv, t);
		created += err == 0;
		rcs[i] = bulk_rc(err);
	}
	if (idn_rd_finish(&rd) != 0) {
		bulk_abort(h, t);
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed bulk create request");
	}
	if (t == h->group) {
		h->group_created += created; /* counted at the group's commit */
	} else {
		err = idn_wtxn_commit(t);
		if (err) {
			act_discard(h->act);
			return reply_lib_error(r, err);
		}
		act_commit(h->act);
		atomic_fetch_add_explicit(&h->stats.writes, created,
					  memory_order_relaxed);
	}
	r->created = (uint32_t)created; /* for the batch's audit line */
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_u32(&r->w, n);
	for (uint32_t i = 0; i < n; i++)
		idn_wr_u32(&r->w, rcs[i]);
	return reply_send(r);
}

int do_remove(reply_t *r)
{
	idn_remove_req_t b;
	int err = idn_remove_req_decode(r->req->rest, &r->h->arena, &b);
	if (err)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR, idn_strerror(err));
	if (admin_target(r, b.id) != 0)
		return 0;
	return write_op(r, IDN_OC_REMOVE_VALUE, NULL, 0, b.indexes, b.nindexes,
			NULL, 0);
}

int do_delete(reply_t *r)
{
	idn_bytes_t id;
	if (idn_id_body_decode(r->req->rest, &id) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed delete request");
	if (admin_target(r, id) != 0)
		return 0;
	return write_op(r, IDN_OC_DELETE, NULL, 0, NULL, 0, NULL, 0);
}

int do_home(reply_t *r)
{
	idn_bytes_t id;
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl;
	if (idn_id_body_decode(r->req->rest, &id) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed home request");
	int err = idn_prefix_normalise(id.p, id.len, p, &pl);
	if (err)
		return reply_lib_error(r, err);
	return write_op(r, (int)r->req->hdr.op, NULL, 0, NULL, 0, p, pl);
}
