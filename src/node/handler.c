#include "handler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "msg.h"
#include "value.h"
#include "wire.h"

/* Bodies of list replies are cut at about this size, the rest continues in
 * further messages flagged continuous. */
#define LIST_CHUNK 32768

int handler_init(handler_t *h, idn_store_t *s, const node_conf_t *conf)
{
	memset(h, 0, sizeof(*h));
	h->conf = conf;
	h->store = s;
	idn_arena_init(&h->arena, 0);
	h->out = malloc(IDN_ENV_LEN + IDN_MSG_MAX);
	if (h->out == NULL)
		return -ENOMEM;
	int err = idn_rtxn_begin(s, &h->rtxn);
	if (err) {
		free(h->out);
		h->out = NULL;
		return err;
	}
	idn_rtxn_reset(h->rtxn);
	return 0;
}

void handler_fini(handler_t *h)
{
	if (h->rtxn)
		idn_rtxn_free(h->rtxn);
	idn_arena_free(&h->arena);
	free(h->out);
	h->rtxn = NULL;
	h->out = NULL;
}

int handler_begin(handler_t *h)
{
	h->now = (uint32_t)time(NULL);
	if (h->snapshot)
		return 0;
	int err = idn_rtxn_renew(h->rtxn);
	if (err == 0)
		h->snapshot = true;
	return err;
}

void handler_end(handler_t *h)
{
	if (h->snapshot) {
		idn_rtxn_reset(h->rtxn);
		h->snapshot = false;
	}
	idn_arena_reset(&h->arena);
}

/* ---- reply building ---- */

typedef struct {
	handler_t *h;
	const idn_env_t *env;
	const idn_msg_t *req; /* NULL when the request did not decode */
	emit_fn emit;
	void *ctx;
	idn_wr_t w;
	idn_msg_mark_t mark;
	int sent;
} reply_t;

static void reply_start(reply_t *r, uint32_t rc, uint32_t extra_flags)
{
	idn_env_t env = {0};
	idn_hdr_t hdr = {0};
	env.major = IDN_PROTO_MAJOR;
	/* answer in the client's minor version when we speak it */
	env.minor = r->env && r->env->major == IDN_PROTO_MAJOR &&
				    r->env->minor >= 1 &&
				    r->env->minor <= IDN_PROTO_MINOR
			    ? r->env->minor
			    : IDN_PROTO_MINOR;
	if (r->env) {
		env.session_id = r->env->session_id;
		env.request_id = r->env->request_id;
	}
	if (r->req) {
		hdr.op = r->req->hdr.op;
		/* echo the request's flags, as the reference server does, but
		 * never claim a signature or continuation we do not provide */
		hdr.flags = r->req->hdr.flags &
			    ~(IDN_OF_CERT | IDN_OF_CONTINUOUS | IDN_OF_ENCRYPT);
		hdr.rcount = r->req->hdr.rcount;
		hdr.expiry = r->req->hdr.expiry;
	} else if (r->env) {
		hdr.expiry = r->h->now + 3600;
	}
	hdr.flags |= IDN_OF_AUTH | extra_flags;
	hdr.rc = rc;
	hdr.serial = r->h->conf->site_serial;
	idn_wr_init(&r->w, r->h->out, IDN_ENV_LEN + IDN_MSG_MAX);
	r->mark = idn_msg_start(&r->w, &env, &hdr);
	if (r->req && (r->req->hdr.flags & IDN_OF_RETURN_DIGEST)) {
		uint8_t d[32];
		uint32_t dl = 0;
		idn_digest(IDN_DIGEST_SHA1, r->req->signed_part.p,
			   r->req->signed_part.len, d, &dl);
		idn_digest_encode(&r->w, IDN_DIGEST_SHA1, idn_bytes(d, dl));
	}
}

static int reply_send(reply_t *r)
{
	idn_msg_finish(&r->w, r->mark, NULL);
	if (r->w.err) {
		log_error("reply does not fit in a message: %s",
			  idn_strerror(r->w.err));
		return -1;
	}
	r->sent++;
	return r->emit(r->ctx, r->w.buf, r->w.len);
}

static int reply_error(reply_t *r, uint32_t rc, const char *text)
{
	reply_start(r, rc, 0);
	idn_error_body_encode(&r->w, idn_bytes_str(text ? text : ""));
	return reply_send(r);
}

/* Maps a library error from a write or lookup to a response code and a
 * message for the client. */
static int reply_lib_error(reply_t *r, int err)
{
	uint32_t rc;
	const char *text = idn_strerror(err);
	switch (err) {
	case IDN_ENOTFOUND: rc = IDN_RC_NOT_FOUND; text = ""; break;
	case IDN_EEXISTS: rc = IDN_RC_ALREADY_EXISTS; text = ""; break;
	case IDN_EIDENT: case IDN_EUTF8: rc = IDN_RC_INVALID_HANDLE; break;
	case IDN_EVALNOTFOUND: rc = IDN_RC_VALUES_NOT_FOUND; break;
	case IDN_EVALEXISTS: rc = IDN_RC_VALUE_EXISTS; break;
	case IDN_EVALUE: case IDN_ETOOMANY: case IDN_ETOOLONG:
		rc = IDN_RC_INVALID_VALUE;
		break;
	case IDN_ENOTHOMED:
		rc = IDN_RC_SERVER_NOT_RESP;
		text = "server not responsible for handle";
		break;
	case IDN_EMALFORMED: rc = IDN_RC_PROTOCOL_ERROR; break;
	default:
		rc = IDN_RC_ERROR;
		if (err == IDN_ENOSPACE)
			text = "store is full: no space for this write";
		break;
	}
	if (rc == IDN_RC_ERROR)
		log_warn("request failed: %s", idn_strerror(err));
	return reply_error(r, rc, text);
}

/* ---- responsibility ---- */

/* The node answers for P/S when P is homed, and for the prefix handle
 * 0.NA/P when 0.NA or P is homed. */
static int responsible(handler_t *h, const idn_ident_t *id)
{
	int hit = idn_store_homed(h->rtxn, id->key, id->prefix_len);
	if (hit != 0)
		return hit;
	if (id->prefix_len == 4 && memcmp(id->key, "0.NA", 4) == 0) {
		uint8_t p[IDN_IDENT_MAX];
		uint32_t pl;
		if (idn_prefix_normalise(id->text.p, id->text.len, p, &pl) == 0)
			return idn_store_homed(h->rtxn, p, pl);
	}
	return 0;
}

static int parse_id(handler_t *h, idn_bytes_t text)
{
	unsigned flags = h->conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0;
	return idn_ident_parse(text.p, text.len, flags, &h->id);
}

/* ---- resolution ---- */

/* Extent and filter fields of one stored value. */
typedef struct {
	const uint8_t *start;
	size_t len;
	uint32_t index;
	uint8_t perms;
	idn_bytes_t type;
} span_t;

static int next_span(idn_rd_t *rd, span_t *s)
{
	s->start = rd->p;
	s->index = idn_rd_u32(rd);
	idn_rd_raw(rd, 4 + 1 + 4); /* timestamp, ttl type, ttl */
	s->perms = idn_rd_u8(rd);
	s->type = idn_rd_str(rd, IDN_MSG_MAX);
	idn_rd_str(rd, IDN_MSG_MAX); /* data */
	uint32_t nrefs = idn_rd_count(rd, IDN_MSG_MAX, 8);
	for (uint32_t i = 0; i < nrefs && !rd->err; i++) {
		idn_rd_str(rd, IDN_IDENT_MAX);
		idn_rd_u32(rd);
	}
	s->len = (size_t)(rd->p - s->start);
	return rd->err;
}

static bool wanted(const span_t *s, const idn_resolve_req_t *q)
{
	if (q->nindexes == 0 && q->ntypes == 0)
		return true;
	for (uint32_t i = 0; i < q->nindexes; i++)
		if (q->indexes[i] == s->index)
			return true;
	for (uint32_t i = 0; i < q->ntypes; i++)
		if (idn_type_matches(s->type, q->types[i]))
			return true;
	return false;
}

static int do_resolve(reply_t *r, int transport)
{
	handler_t *h = r->h;
	idn_resolve_req_t q;
	h->stats.resolutions++;
	int err = idn_resolve_req_decode(r->req->rest, &h->arena, &q);
	if (err)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed resolution request");
	err = parse_id(h, q.id);
	if (err)
		return reply_lib_error(r, err);
	err = responsible(h, &h->id);
	if (err <= 0)
		return reply_lib_error(r, err == 0 ? IDN_ENOTHOMED : err);
	idn_record_t rec;
	err = idn_store_get(h->rtxn, h->id.key, h->id.key_len, &rec);
	if (err) {
		if (err == IDN_ENOTFOUND)
			h->stats.not_found++;
		return reply_lib_error(r, err);
	}
	/* Without authentication (a later feature) only values that the
	 * public may read leave the node over the network; the control
	 * socket sees everything unless it asks for public values only. */
	bool public_only = transport != TRANSPORT_CONTROL ||
			   (r->req->hdr.flags & IDN_OF_PUBLIC_ONLY);
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_str(&r->w, q.id);
	size_t count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	uint32_t n = 0;
	idn_rd_t rd;
	idn_rd_init(&rd, rec.values.p, rec.values.len);
	for (uint32_t i = 0; i < rec.nvalues; i++) {
		span_t s;
		if (next_span(&rd, &s) != 0) {
			log_error("stored record %.*s is corrupt",
				  (int)h->id.text.len, h->id.text.p);
			return reply_error(r, IDN_RC_ERROR,
					   "stored record is corrupt");
		}
		if (public_only && !(s.perms & IDN_PERM_PUBLIC_READ))
			continue;
		if (!wanted(&s, &q))
			continue;
		idn_wr_raw(&r->w, s.start, s.len);
		n++;
	}
	if (n == 0)
		return reply_error(r, IDN_RC_VALUES_NOT_FOUND, "");
	idn_wr_patch_u32(&r->w, count_pos, n);
	return reply_send(r);
}

/* ---- administration ---- */

static int stamp_and_check(handler_t *h, idn_value_t *v, uint32_t n,
			   reply_t *r)
{
	for (uint32_t i = 0; i < n; i++) {
		int err = idn_value_check(&v[i], &h->arena);
		if (err) {
			char text[160];
			snprintf(text, sizeof(text), "value %u (%.*s): %s",
				 v[i].index, (int)(v[i].type.len > 64 ? 64 : v[i].type.len),
				 v[i].type.p, idn_strerror(err));
			reply_error(r, IDN_RC_INVALID_VALUE, text);
			return -1;
		}
		v[i].timestamp = h->now;
	}
	return 0;
}

/* Runs one write operation in its own durable transaction. */
static int write_op(reply_t *r, int op, idn_value_t *v, uint32_t n,
		    const uint32_t *idx, uint32_t nidx, const uint8_t *pfx,
		    uint32_t pfxlen)
{
	handler_t *h = r->h;
	bool overwrite = r->req->hdr.flags & IDN_OF_OVERWRITE;
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(h->store, &t);
	if (err)
		return reply_lib_error(r, err);
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
	if (err) {
		idn_wtxn_abort(t);
		return reply_lib_error(r, err);
	}
	err = idn_wtxn_commit(t);
	if (err)
		return reply_lib_error(r, err);
	h->stats.writes++;
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
				 (int)(h->id.prefix_len > 200 ? 200 : h->id.prefix_len),
				 h->id.text.p);
			reply_error(r, IDN_RC_SERVER_NOT_RESP, text2);
		} else {
			reply_lib_error(r, err);
		}
		return -1;
	}
	return 0;
}

static int do_values_op(reply_t *r)
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

static int do_remove(reply_t *r)
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

static int do_delete(reply_t *r)
{
	idn_bytes_t id;
	if (idn_id_body_decode(r->req->rest, &id) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed delete request");
	if (admin_target(r, id) != 0)
		return 0;
	return write_op(r, IDN_OC_DELETE, NULL, 0, NULL, 0, NULL, 0);
}

static int do_home(reply_t *r)
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

/* List replies: identifiers collected into bodies of about LIST_CHUNK
 * bytes, each sent as its own message while the listing continues. */
typedef struct {
	reply_t *r;
	uint32_t n;
	size_t count_pos;
	int stop;
} lister_t;

static void list_open(lister_t *l)
{
	reply_start(l->r, IDN_RC_SUCCESS, 0);
	l->count_pos = l->r->w.len;
	idn_wr_u32(&l->r->w, 0);
	l->n = 0;
}

static int list_flush(lister_t *l, bool more)
{
	reply_t *r = l->r;
	idn_wr_patch_u32(&r->w, l->count_pos, l->n);
	if (more) /* set continuous on this message's header */
		r->w.buf[r->mark.hdr + 8] |= IDN_OF_CONTINUOUS >> 24;
	return reply_send(r);
}

static int list_cb(void *ctx, idn_bytes_t id)
{
	lister_t *l = ctx;
	if (l->r->w.len - l->count_pos + 4 + id.len > LIST_CHUNK && l->n > 0) {
		if (list_flush(l, true) != 0)
			return l->stop = 1;
		list_open(l);
	}
	idn_wr_str(&l->r->w, id);
	l->n++;
	return 0;
}

static int do_list(reply_t *r, bool homed)
{
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl = 0;
	idn_bytes_t id;
	if (!homed) {
		if (idn_id_body_decode(r->req->rest, &id) != 0)
			return reply_error(r, IDN_RC_PROTOCOL_ERROR,
					   "malformed list request");
		int err = idn_prefix_normalise(id.p, id.len, p, &pl);
		if (err)
			return reply_lib_error(r, err);
		/* like every other operation on a prefix's identifiers */
		err = idn_store_homed(r->h->rtxn, p, pl);
		if (err == 0) {
			char text[300];
			snprintf(text, sizeof(text),
				 "prefix %.*s is not homed on this node",
				 (int)(pl > 200 ? 200 : pl), p);
			return reply_error(r, IDN_RC_SERVER_NOT_RESP, text);
		}
		if (err < 0)
			return reply_lib_error(r, err);
	}
	lister_t l = {r, 0, 0, 0};
	list_open(&l);
	int err = homed ? idn_store_list_homed(r->h->rtxn, list_cb, &l)
			: idn_store_list(r->h->rtxn, p, pl, idn_bytes(NULL, 0),
					 list_cb, &l);
	if (l.stop)
		return 0;
	if (err)
		return reply_lib_error(r, err);
	return list_flush(&l, false);
}

static bool is_admin_op(uint32_t op)
{
	return (op >= IDN_OC_CREATE && op <= IDN_OC_LIST) ||
	       (op >= IDN_OC_HOME && op <= IDN_OC_LIST_HOMED);
}

int handler_process(handler_t *h, const uint8_t *frame, size_t len,
		    int transport, emit_fn emit, void *ctx)
{
	idn_env_t env;
	idn_msg_t msg;
	reply_t r = {h, NULL, NULL, emit, ctx, {0}, {0, 0}, 0};
	h->stats.requests++;
	int err = idn_env_decode(frame, len, &env);
	if (err == IDN_EMALFORMED || len < IDN_ENV_LEN + IDN_HDR_LEN) {
		h->stats.errors++;
		return 0; /* not even an envelope: nothing to answer */
	}
	r.env = &env;
	if (err == IDN_EVERSION) {
		h->stats.errors++;
		char text[96];
		snprintf(text, sizeof(text),
			 "unsupported protocol version %u.%u (this node speaks 2.1-2.%d)",
			 env.major, env.minor, IDN_PROTO_MAJOR == 2 ? 11 : 0);
		reply_error(&r, IDN_RC_PROTOCOL_ERROR, text);
		return r.sent;
	}
	if (err || env.msg_len != len - IDN_ENV_LEN) {
		h->stats.errors++;
		if (env.seq == 0 && env.msg_len > len - IDN_ENV_LEN &&
		    transport == TRANSPORT_UDP)
			reply_error(&r, IDN_RC_PROTOCOL_ERROR,
				    "request spans several datagrams; send it over TCP");
		return r.sent; /* lengths disagree: drop */
	}
	err = idn_msg_decode(frame + IDN_ENV_LEN, len - IDN_ENV_LEN, &msg);
	if (err) {
		h->stats.errors++;
		reply_error(&r, IDN_RC_PROTOCOL_ERROR, "malformed message");
		return r.sent;
	}
	if (msg.hdr.rc != 0) {
		h->stats.errors++;
		return 0; /* a response sent to us: never answer it */
	}
	r.req = &msg;
	if (env.flags & (IDN_EF_COMPRESSED | IDN_EF_ENCRYPTED)) {
		reply_error(&r, IDN_RC_NOT_SUPPORTED,
			    "compressed or encrypted messages are not supported");
		return r.sent;
	}
	uint32_t op = msg.hdr.op;
	if (op == IDN_OC_RESOLUTION) {
		do_resolve(&r, transport);
		return r.sent;
	}
	if (is_admin_op(op) && transport != TRANSPORT_CONTROL) {
		reply_error(&r, IDN_RC_NOT_SUPPORTED,
			    "remote administration is not enabled on this node; use the control socket");
		return r.sent;
	}
	switch (op) {
	case IDN_OC_CREATE:
	case IDN_OC_ADD_VALUE:
	case IDN_OC_MODIFY_VALUE:
		do_values_op(&r);
		break;
	case IDN_OC_REMOVE_VALUE:
		do_remove(&r);
		break;
	case IDN_OC_DELETE:
		do_delete(&r);
		break;
	case IDN_OC_HOME:
	case IDN_OC_UNHOME:
		do_home(&r);
		break;
	case IDN_OC_LIST:
		do_list(&r, false);
		break;
	case IDN_OC_LIST_HOMED:
		do_list(&r, true);
		break;
	default: {
		char text[64];
		snprintf(text, sizeof(text), "operation %u is not supported",
			 op);
		reply_error(&r, IDN_RC_NOT_SUPPORTED, text);
	}
	}
	return r.sent;
}
