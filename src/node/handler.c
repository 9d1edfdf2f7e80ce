#include "handler.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "authz.h"
#include "error.h"
#include "handler_int.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "search.h"
#include "site.h"
#include "tplcheck.h"
#include "value.h"
#include "wire.h"

/* Bodies of list replies are cut at about this size, the rest continues in
 * further messages flagged continuous. */
#define LIST_CHUNK 32768

/* ---- the node's shared context ---- */

/* Encodes an HS_SITE listing the given servers, each answering queries and
 * administration over UDP and TCP on its port. */
static int encode_site(idn_wr_t *w, char addrs[][128], int n, uint16_t serial,
		       uint8_t flags, const char *desc, idn_bytes_t pubkey)
{
	const char *list[CONF_MAX_LISTEN];
	for (int i = 0; i < n; i++)
		list[i] = addrs[i];
	idn_site_opts_t o = {serial,	       flags, desc, pubkey,
			     IDN_DEFAULT_PORT, true};
	return idn_site_build(w, &o, list, (size_t)n, NULL, 0) ? -1 : 0;
}

int node_ctx_init(node_ctx_t *n, const node_conf_t *conf, idn_store_t *s,
		  idn_store_t *primary)
{
	memset(n, 0, sizeof(*n));
	n->conf = conf;
	n->store = s;
	n->primary = primary;
	for (int i = 0; i < conf->nroots; i++)
		n->roots[i] = conf->roots[i];
	pthread_mutex_init(&n->lock, NULL);
	n->site = malloc(65536);
	n->parent_refer = malloc(65536);
	n->pubkey = malloc(4096);
	if (n->site == NULL || n->parent_refer == NULL || n->pubkey == NULL ||
	    authz_new(&n->authz) != 0)
		goto fail;
	idn_wr_t w;
	if (conf->server_key[0]) {
		FILE *f = fopen(conf->server_key, "r");
		n->key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		idn_wr_init(&w, n->pubkey, 4096);
		if (n->key == NULL || idn_pubkey_encode(n->key, &w) != 0) {
			log_error(
				"cannot use %s as the server key (an RSA key in "
				"PEM, e.g. from idctl keygen)",
				conf->server_key);
			goto fail;
		}
		n->pubkey_len = w.len;
	}
	idn_bytes_t pub = idn_bytes(n->pubkey, n->pubkey_len);
	idn_wr_init(&w, n->site, 65536);
	if (conf->nadvertise > 0)
		encode_site(&w, (char(*)[128])conf->advertise, conf->nadvertise,
			    conf->site_serial, IDN_SITE_PRIMARY, "idnode", pub);
	else
		encode_site(&w, (char(*)[128])conf->listen, conf->nlisten,
			    conf->site_serial, IDN_SITE_PRIMARY, "idnode", pub);
	if (w.err) {
		log_error(
			"cannot describe this node's site: check --advertise");
		goto fail;
	}
	n->site_len = w.len;
	if (conf->nparents > 0) {
		/* one HS_SITE value, as a delegation record would hold */
		uint8_t data[16384];
		idn_wr_t dw;
		idn_wr_init(&dw, data, sizeof(data));
		if (encode_site(&dw, (char(*)[128])conf->parents,
				conf->nparents, 1, IDN_SITE_PRIMARY, "parent",
				idn_bytes(NULL, 0)) != 0) {
			log_error("invalid --parent address");
			goto fail;
		}
		idn_value_t v = {1,
				 0,
				 IDN_TTL_RELATIVE,
				 3600,
				 IDN_PERM_PUBLIC_READ | IDN_PERM_ADMIN_READ,
				 idn_bytes_str("HS_SITE"),
				 idn_bytes(data, dw.len),
				 0,
				 NULL};
		idn_wr_init(&w, n->parent_refer, 65536);
		idn_value_encode(&w, &v);
		n->parent_len = w.len;
	}
	if (conf->recursive) {
		idn_cache_opts_t co = {conf->cache_size, 0, conf->cache_max_ttl,
				       conf->cache_neg_ttl};
		if (idn_cache_new(&co, &n->cache) != 0) {
			log_error("cannot create the cache");
			goto fail;
		}
	}
	return 0;
fail:
	authz_free(n->authz);
	n->authz = NULL;
	EVP_PKEY_free(n->key);
	free(n->site);
	free(n->parent_refer);
	free(n->pubkey);
	n->site = n->parent_refer = n->pubkey = NULL;
	n->key = NULL;
	return -1;
}

void node_ctx_fini(node_ctx_t *n)
{
	authz_free(n->authz);
	EVP_PKEY_free(n->key);
	free(n->pubkey);
	idn_cache_free(n->cache);
	free(n->site);
	free(n->parent_refer);
	pthread_mutex_destroy(&n->lock);
}

int handler_init(handler_t *h, node_ctx_t *node, bool blocking)
{
	memset(h, 0, sizeof(*h));
	h->node = node;
	h->conf = node->conf;
	h->store = node->store;
	h->blocking = blocking;
	h->owner = h;
	idn_arena_init(&h->arena, 0);
	h->out = malloc(IDN_ENV_LEN + IDN_MSG_MAX);
	int err = -ENOMEM;
	if (h->out == NULL)
		goto fail;
	if (node->cache != NULL) {
		h->scratch = malloc(IDN_MSG_MAX);
		if (h->scratch == NULL)
			goto fail;
	}
	if (node->cache != NULL && blocking) {
		const node_conf_t *c = node->conf;
		idn_resolver_opts_t ro = {node->roots,
					  (unsigned)c->nroots,
					  node->cache,
					  c->query_timeout,
					  (unsigned)c->max_referrals,
					  c->case_suffix ? IDN_IDENT_CASE_SUFFIX
							 : 0};
		err = idn_resolver_new(&ro, &h->resolver);
		if (err)
			goto fail;
	}
	h->act = act_new();
	if (h->act == NULL)
		goto fail;
	err = idn_rtxn_begin(node->store, &h->rtxn);
	if (err)
		goto fail;
	idn_rtxn_reset(h->rtxn);
	if (node->primary != NULL) {
		err = idn_rtxn_begin(node->primary, &h->prtxn);
		if (err)
			goto fail;
		idn_rtxn_reset(h->prtxn);
	}
	pthread_mutex_lock(&node->lock);
	h->next = node->handlers;
	node->handlers = h;
	pthread_mutex_unlock(&node->lock);
	return 0;
fail:
	act_free(h->act);
	h->act = NULL;
	idn_resolver_free(h->resolver);
	free(h->scratch);
	free(h->out);
	h->out = h->scratch = NULL;
	h->resolver = NULL;
	return err;
}

#define STAT_FIELDS(X)                                                         \
	X(requests)                                                            \
	X(resolutions) X(not_found) X(referrals) X(recursive) X(upstream)      \
		X(errors) X(writes) X(rrl_dropped) X(rrl_slipped)              \
			X(tcp_refused)

static void stats_add(handler_stats_t *to, handler_stats_t *from)
{
#define ADD(f)                                                                 \
	atomic_fetch_add_explicit(                                             \
		&to->f, atomic_load_explicit(&from->f, memory_order_relaxed),  \
		memory_order_relaxed);
	STAT_FIELDS(ADD)
#undef ADD
}

void handler_fini(handler_t *h)
{
	if (h->out == NULL)
		return; /* never initialised */
	node_ctx_t *n = h->node;
	pthread_mutex_lock(&n->lock);
	for (handler_t **pp = &n->handlers; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	stats_add(&n->retired, &h->stats);
	act_counts_add(&n->act_retired, act_counts(h->act));
	pthread_mutex_unlock(&n->lock);
	act_free(h->act);
	h->act = NULL;
	if (h->rtxn)
		idn_rtxn_free(h->rtxn);
	if (h->prtxn)
		idn_rtxn_free(h->prtxn);
	idn_resolver_free(h->resolver);
	idn_arena_free(&h->arena);
	free(h->out);
	free(h->scratch);
	h->rtxn = NULL;
	h->out = h->scratch = NULL;
	h->resolver = NULL;
}

int handler_begin(handler_t *h)
{
	h->now = (uint32_t)time(NULL);
	if (h->snapshot)
		return 0;
	int err = idn_rtxn_renew(h->rtxn);
	if (err == 0)
		h->snapshot = true;
	/* the memo of locate points into the snapshot: it stays only when
	 * nothing was committed since it was taken */
	uint64_t snap = err == 0 ? idn_rtxn_snapshot(h->rtxn) : 0;
	if (snap == 0 || snap != h->loc.snap)
		h->loc.len = 0;
	h->loc.snap = snap;
	return err;
}

void handler_end(handler_t *h)
{
	if (h->snapshot) {
		idn_rtxn_reset(h->rtxn);
		h->snapshot = false;
	}
	if (h->psnapshot) {
		idn_rtxn_reset(h->prtxn);
		h->psnapshot = false;
	}
	idn_arena_reset(&h->arena);
}

/* ---- reply building (handler_int.h) ---- */

void reply_start(reply_t *r, uint32_t rc, uint32_t extra_flags)
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
		if ((r->req->hdr.flags & IDN_OF_CERT) && r->h->node->key)
			hdr.flags |= IDN_OF_CERT; /* signed in reply_send */
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
	if (r->req &&
	    ((r->req->hdr.flags | extra_flags) & IDN_OF_RETURN_DIGEST)) {
		uint8_t d[32];
		uint32_t dl = 0;
		idn_digest(IDN_DIGEST_SHA1, r->req->signed_part.p,
			   r->req->signed_part.len, d, &dl);
		idn_digest_encode(&r->w, IDN_DIGEST_SHA1, idn_bytes(d, dl));
	}
}

/* Signs header + body with the server key into an HS_SIGNED credential,
 * as the reference server does for requests with the certify flag. */
static int sign_reply(reply_t *r, idn_cred_t *cred, uint8_t *buf, size_t cap)
{
	size_t body = r->w.len - r->mark.hdr - IDN_HDR_LEN;
	idn_wr_patch_u32(&r->w, r->mark.hdr + IDN_HDR_LEN - 4, (uint32_t)body);
	uint8_t sig[1024];
	size_t sl;
	idn_bytes_t part =
		idn_bytes(r->w.buf + r->mark.hdr, r->w.len - r->mark.hdr);
	if (r->w.err || idn_sig_sign(r->h->node->key, "SHA256", &part, 1, sig,
				     sizeof(sig), &sl) != 0)
		return -1;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_sig_encode(&w, idn_bytes_str("SHA256"), idn_bytes(sig, sl));
	memset(cred, 0, sizeof(*cred));
	cred->signer = idn_bytes(NULL, 0);
	cred->type = idn_bytes_str("HS_SIGNED");
	cred->signed_data = idn_bytes(buf, w.len);
	return w.err ? -1 : 0;
}

int reply_send(reply_t *r)
{
	idn_cred_t cred;
	uint8_t sigbuf[1100];
	bool sign = r->w.len >= r->mark.hdr + IDN_HDR_LEN &&
		    (idn_get_u32(r->w.buf + r->mark.hdr + 8) & IDN_OF_CERT);
	if (sign && sign_reply(r, &cred, sigbuf, sizeof(sigbuf)) != 0) {
		log_error("cannot sign a reply");
		return -1;
	}
	idn_msg_finish(&r->w, r->mark, sign ? &cred : NULL);
	if (r->w.err) {
		log_error("reply does not fit in a message: %s",
			  idn_strerror(r->w.err));
		return -1;
	}
	r->sent++;
	return r->emit(r->ctx, r->w.buf, r->w.len);
}

int reply_error(reply_t *r, uint32_t rc, const char *text)
{
	reply_start(r, rc, 0);
	idn_error_body_encode(&r->w, idn_bytes_str(text ? text : ""));
	return reply_send(r);
}

/* Maps a library error from a write or lookup to a response code and a
 * message for the client. */
int reply_lib_error(reply_t *r, int err)
{
	uint32_t rc;
	const char *text = idn_strerror(err);
	switch (err) {
	case IDN_ENOTFOUND:
		rc = IDN_RC_NOT_FOUND;
		text = "";
		break;
	case IDN_EEXISTS:
		rc = IDN_RC_ALREADY_EXISTS;
		text = "";
		break;
	case IDN_EIDENT:
	case IDN_EUTF8:
		rc = IDN_RC_INVALID_HANDLE;
		break;
	case IDN_EVALNOTFOUND:
		rc = IDN_RC_VALUES_NOT_FOUND;
		break;
	case IDN_EVALEXISTS:
		rc = IDN_RC_VALUE_EXISTS;
		break;
	case IDN_EVALUE:
	case IDN_ETOOMANY:
	case IDN_ETOOLONG:
		rc = IDN_RC_INVALID_VALUE;
		break;
	case IDN_ENOTHOMED:
		rc = IDN_RC_SERVER_NOT_RESP;
		text = "server not responsible for handle";
		break;
	case IDN_EMALFORMED:
		rc = IDN_RC_PROTOCOL_ERROR;
		break;
	case -EAGAIN: /* the store lost a deadlock or serialisation race */
		rc = IDN_RC_TOO_BUSY;
		text = "server too busy: try again";
		break;
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

/* ---- where an identifier lives ---- */

/* Length of the parent of prefix p[0..len) ("88.118.8" -> 6), 0 at the
 * top. */
static size_t parent_len(const uint8_t *p, size_t len)
{
	while (len > 0 && p[len - 1] != '.')
		len--;
	return len > 0 ? len - 1 : 0;
}

/* Extent and filter fields of one stored value. */
typedef struct {
	const uint8_t *start;
	size_t len;
	uint32_t index;
	uint8_t perms;
	idn_bytes_t type;
	idn_bytes_t data;
} span_t;

static int next_span(idn_rd_t *rd, span_t *s)
{
	s->start = rd->p;
	s->index = idn_rd_u32(rd);
	idn_rd_raw(rd, 4 + 1 + 4); /* timestamp, ttl type, ttl */
	s->perms = idn_rd_u8(rd);
	s->type = idn_rd_str(rd, IDN_MSG_MAX);
	s->data = idn_rd_str(rd, IDN_MSG_MAX);
	uint32_t nrefs = idn_rd_count(rd, IDN_MSG_MAX, 8);
	for (uint32_t i = 0; i < nrefs && !rd->err; i++) {
		idn_rd_str(rd, IDN_IDENT_MAX);
		idn_rd_u32(rd);
	}
	s->len = (size_t)(rd->p - s->start);
	return rd->err;
}

/* A record delegates its prefix when it holds a site or service value. */
static bool is_delegation(const idn_record_t *rec)
{
	idn_rd_t rd;
	idn_rd_init(&rd, rec->values.p, rec->values.len);
	for (uint32_t i = 0; i < rec->nvalues; i++) {
		span_t sp;
		if (next_span(&rd, &sp) != 0)
			return false;
		if (idn_type_matches(sp.type, idn_bytes_str("HS_SITE.")) ||
		    idn_type_matches(sp.type, idn_bytes_str("HS_SERV")))
			return true;
	}
	return false;
}

enum { LOC_NONE = 0, LOC_AUTH = 1, LOC_REFER = 2 };

/* Walks the normalised prefix p up its parents, most specific first: a
 * homed level makes this node authoritative (LOC_AUTH), a delegation
 * record 0.NA/<level> held here refers onward (LOC_REFER, record in
 * *deleg). *at gets the level's length (0: the 0.NA root, when homed).
 * Returns LOC_*, or a negative error. */
static int locate_store(handler_t *h, const uint8_t *p, size_t plen, size_t *at,
			idn_record_t *deleg)
{
	uint8_t key[5 + IDN_IDENT_MAX];
	memcpy(key, "0.NA/", 5);
	for (size_t q = plen; q > 0; q = parent_len(p, q)) {
		int hit = idn_store_homed(h->rtxn, p, q);
		if (hit < 0)
			return hit;
		if (hit) {
			*at = q;
			return LOC_AUTH;
		}
		memcpy(key + 5, p, q);
		int err = idn_store_get(h->rtxn, key, 5 + q, deleg);
		if (err == 0 && is_delegation(deleg)) {
			*at = q;
			return LOC_REFER;
		}
		if (err != 0 && err != IDN_ENOTFOUND)
			return err;
	}
	*at = 0;
	int hit = idn_store_homed(h->rtxn, (const uint8_t *)"0.NA", 4);
	return hit < 0 ? hit : hit ? LOC_AUTH : LOC_NONE;
}

/* locate_store on the handler's snapshot, remembering the last answer
 * while the snapshot stays the same (handler_begin): on a recursive node that
 * saves the walk up the prefix's parents (up to two lookups per level) before
 * every cache hit, on an authoritative one the homed lookup. */
static int locate(handler_t *h, const uint8_t *p, size_t plen, size_t *at,
		  idn_record_t *deleg)
{
	if (plen > 0 && plen == h->loc.len && h->snapshot &&
	    memcmp(p, h->loc.prefix, plen) == 0) {
		*at = h->loc.at;
		if (h->loc.loc == LOC_REFER)
			*deleg = h->loc.deleg;
		return h->loc.loc;
	}
	int loc = locate_store(h, p, plen, at, deleg);
	if (loc >= 0 && h->snapshot && plen > 0 &&
	    plen <= sizeof(h->loc.prefix)) {
		memcpy(h->loc.prefix, p, plen);
		h->loc.len = plen;
		h->loc.loc = loc;
		h->loc.at = *at;
		if (loc == LOC_REFER)
			h->loc.deleg = *deleg;
	}
	return loc;
}

static bool is_prefix_handle(const idn_ident_t *id)
{
	return id->prefix_len == 4 && memcmp(id->key, "0.NA", 4) == 0;
}

/* The node may change P/S when it is authoritative for P, and the prefix
 * handle 0.NA/X when it is authoritative for X or a level above it. */
int responsible(handler_t *h, const idn_ident_t *id)
{
	idn_record_t rec;
	size_t at;
	if (!is_prefix_handle(id)) {
		return idn_store_homed(h->rtxn, id->key, id->prefix_len);
	}
	const uint8_t *p = id->key + 5;
	size_t plen = id->key_len - 5;
	int loc = locate(h, p, plen, &at, &rec);
	if (loc < 0)
		return loc;
	return loc == LOC_AUTH || (loc == LOC_REFER && at == plen);
}

int parse_id(handler_t *h, idn_bytes_t text)
{
	unsigned flags = h->conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0;
	int err = idn_ident_parse(text.p, text.len, flags, &h->id);
	/* the suffix of a prefix handle is a prefix: never case-sensitive */
	if (err == 0 && flags && is_prefix_handle(&h->id))
		err = idn_ident_parse(text.p, text.len, 0, &h->id);
	return err;
}

/* ---- resolution ---- */

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

/* Who sees which values of a resolution: everything (the control
 * socket), what the public may read, or that and what admins may read (an
 * authenticated reader the record lists: authz_may_read). */
enum { VIS_ALL = 0, VIS_PUBLIC = 1, VIS_READER = 2 };

static bool visible(uint8_t perms, int vis)
{
	if (vis == VIS_ALL || (perms & IDN_PERM_PUBLIC_READ))
		return true;
	return vis == VIS_READER && (perms & IDN_PERM_ADMIN_READ);
}

/* Writes "identifier, count, values" of the values in blob that the
 * request wants and may see. This is the one walk of a resolved record's
 * values (the store hands them over unchecked): it checks their
 * structure and ascending indexes, and gives the data of the template
 * reference (TPL_REF_INDEX, TPL_REF_TYPE) in *ref (length 0: none) when
 * ref is not NULL. Returns the number written, or -1 when the blob is
 * corrupt. */
static int64_t put_values(reply_t *r, idn_bytes_t id, const uint8_t *blob,
			  size_t len, uint32_t nvalues,
			  const idn_resolve_req_t *q, int vis, idn_bytes_t *ref)
{
	idn_wr_str(&r->w, id);
	size_t count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	uint32_t n = 0;
	idn_rd_t rd;
	idn_rd_init(&rd, blob, len);
	if (ref != NULL)
		*ref = idn_bytes(NULL, 0);
	uint32_t prev = 0;
	for (uint32_t i = 0; i < nvalues; i++) {
		span_t s;
		if (next_span(&rd, &s) != 0 || (i > 0 && s.index <= prev))
			return -1;
		prev = s.index;
		if (ref != NULL && s.index == TPL_REF_INDEX &&
		    idn_type_matches(s.type, idn_bytes_str(TPL_REF_TYPE)))
			*ref = s.data;
		/* a secret key never goes to the public, whatever its
		 * permissions say */
		uint8_t perms = s.perms;
		if (idn_bytes_eq_str(s.type, "HS_SECKEY"))
			perms &= (uint8_t)~IDN_PERM_PUBLIC_READ;
		if (!visible(perms, vis))
			continue;
		if (q != NULL && !wanted(&s, q))
			continue;
		idn_wr_raw(&r->w, s.start, s.len);
		n++;
	}
	if (idn_rd_left(&rd) != 0)
		return -1;
	idn_wr_patch_u32(&r->w, count_pos, n);
	return n;
}

static int answer(reply_t *r, const idn_resolve_req_t *q, const uint8_t *blob,
		  size_t len, uint32_t nvalues, int vis)
{
	reply_start(r, IDN_RC_SUCCESS, 0);
	int64_t n = put_values(r, q->id, blob, len, nvalues, q, vis, NULL);
	if (n < 0) {
		log_error("record %.*s is corrupt", (int)r->h->id.text.len,
			  r->h->id.text.p);
		return reply_error(r, IDN_RC_ERROR, "stored record is corrupt");
	}
	if (n == 0)
		return reply_error(r, IDN_RC_VALUES_NOT_FOUND, "");
	return reply_send(r);
}

/* A prefix referral carries the delegation's site and service values. */
static int refer(reply_t *r, idn_bytes_t id, const uint8_t *blob, size_t len,
		 uint32_t nvalues)
{
	static const idn_bytes_t types[] = {{(const uint8_t *)"HS_SITE.", 8},
					    {(const uint8_t *)"HS_SERV", 7}};
	const idn_resolve_req_t deleg = {id, 0, NULL, 2, (idn_bytes_t *)types};
	STAT(r->h, referrals);
	reply_start(r, IDN_RC_PREFIX_REFERRAL, 0);
	if (put_values(r, id, blob, len, nvalues, &deleg, VIS_PUBLIC, NULL) < 0)
		return reply_error(r, IDN_RC_ERROR,
				   "stored delegation is corrupt");
	return reply_send(r);
}

/* The recursive role: answer from the cache, or resolve (blocking
 * handlers) or defer (the others). */
static int recurse(reply_t *r, const idn_resolve_req_t *q, int vis)
{
	handler_t *h = r->h;
	idn_cache_hit_t hit;
	if (idn_cache_get(h->node->cache, h->id.key, h->id.key_len,
			  idn_now_ms(), h->scratch, IDN_MSG_MAX, &hit) == 0 &&
	    hit.kind != IDN_CACHE_REFERRAL) {
		STAT(h, recursive);
		if (hit.kind == IDN_CACHE_NEGATIVE) {
			STAT(h, not_found);
			return reply_error(r, IDN_RC_NOT_FOUND, "");
		}
		return answer(r, q, h->scratch, hit.len, hit.nvalues, vis);
	}
	if (!h->blocking)
		return HANDLER_DEFER;
	STAT(h, recursive);
	idn_resolution_t res;
	int err = idn_resolve(h->resolver, &h->id, r->req->hdr.rcount, &res,
			      NULL, NULL);
	atomic_fetch_add_explicit(&h->stats.upstream, res.queries,
				  memory_order_relaxed);
	if (err)
		return reply_lib_error(r, err);
	if (res.rc == IDN_RC_SUCCESS)
		return answer(r, q, res.values.p, res.values.len, res.nvalues,
			      vis);
	if (res.rc == IDN_RC_NOT_FOUND) {
		STAT(h, not_found);
		return reply_error(r, IDN_RC_NOT_FOUND, "");
	}
	log_debug("recursive resolution of %.*s: rc %u %s", (int)h->id.text.len,
		  h->id.text.p, res.rc, res.detail);
	return reply_error(r, res.rc, res.detail);
}

/* Does the request want a value of blob that admins may read but the
 * public may not? */
static bool restricted(const idn_resolve_req_t *q, const uint8_t *blob,
		       size_t len, uint32_t nvalues)
{
	idn_rd_t rd;
	idn_rd_init(&rd, blob, len);
	for (uint32_t i = 0; i < nvalues; i++) {
		span_t s;
		if (next_span(&rd, &s) != 0)
			return false;
		if (!(s.perms & IDN_PERM_PUBLIC_READ) &&
		    (s.perms & IDN_PERM_ADMIN_READ) && wanted(&s, q))
			return true;
	}
	return false;
}

static void do_challenge(reply_t *r, const uint8_t *frame, size_t len);

static int do_resolve(reply_t *r, int transport)
{
	handler_t *h = r->h;
	idn_resolve_req_t q;
	if (!h->redo)
		STAT(h, resolutions);
	int err = idn_resolve_req_decode(r->req->rest, &h->arena, &q);
	if (err)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed resolution request");
	err = parse_id(h, q.id);
	if (err)
		return reply_lib_error(r, err);
	/* The control socket sees everything unless it asks for public
	 * values only. Over the network, a request flagged public-only gets
	 * public values; another sees what admins may read when its client
	 * is a reader the record lists: authenticated by a session of this
	 * connection, or (with --read-challenge) by answering the challenge
	 * that a request for restricted values gets; else public values. */
	int vis = transport == TRANSPORT_CONTROL ? VIS_ALL : VIS_READER;
	if (r->req->hdr.flags & IDN_OF_PUBLIC_ONLY)
		vis = VIS_PUBLIC;
	const authz_who_t *reader = r->reader;
	authz_who_t who;
	if (vis == VIS_READER && reader == NULL && r->env->session_id != 0 &&
	    h->conn != 0 &&
	    authz_session_get(h->node->authz, r->env->session_id, h->owner,
			      h->conn, &who) == 0)
		reader = &who;
	bool prefix_handle = is_prefix_handle(&h->id);
	const uint8_t *p = prefix_handle ? h->id.key + 5 : h->id.key;
	size_t plen = prefix_handle ? h->id.key_len - 5 : h->id.prefix_len;
	idn_record_t deleg;
	size_t at;
	int loc = locate(h, p, plen, &at, &deleg);
	if (loc < 0)
		return reply_lib_error(r, loc);
	bool here = prefix_handle ? loc == LOC_AUTH ||
					    (loc == LOC_REFER && at == plen)
				  : loc == LOC_AUTH && at == plen;
	if (here) {
		/* values unchecked: put_values below is their one walk */
		idn_record_t rec;
		err = idn_store_get_unchecked(h->rtxn, h->id.key, h->id.key_len,
					      &rec);
		if (err) {
			if (err == IDN_ENOTFOUND)
				STAT(h, not_found);
			return reply_lib_error(r, err);
		}
		if (vis == VIS_READER && reader == NULL &&
		    h->conf->read_challenge &&
		    restricted(&q, rec.values.p, rec.values.len, rec.nvalues)) {
			/* like the reference server: prove who you are */
			do_challenge(r, r->frame, r->frame_len);
			return 0;
		}
		if (vis == VIS_READER &&
		    (reader == NULL ||
		     !authz_may_read(h->rtxn, &h->arena, rec.values,
				     rec.nvalues, reader->admin,
				     reader->index)))
			vis = VIS_PUBLIC;
		idn_bytes_t ref;
		reply_start(r, IDN_RC_SUCCESS, 0);
		int64_t n = put_values(r, q.id, rec.values.p, rec.values.len,
				       rec.nvalues, &q, vis, &ref);
		if (n < 0) {
			log_error("record %.*s is corrupt", (int)h->id.text.len,
				  h->id.text.p);
			return reply_lib_error(r, IDN_ECORRUPT);
		}
		act_resolved(h->act, h->now,
			     h->conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0,
			     &h->id, ref, h->rtxn);
		if (n == 0)
			return reply_error(r, IDN_RC_VALUES_NOT_FOUND, "");
		return reply_send(r);
	}
	if (loc == LOC_AUTH) {
		/* authoritative above the prefix, which nobody was given */
		STAT(h, not_found);
		return reply_error(r, IDN_RC_NOT_FOUND, "");
	}
	if (h->node->cache != NULL && (r->req->hdr.flags & IDN_OF_RECURSE))
		return recurse(r, &q, VIS_PUBLIC);
	if (r->req->hdr.flags & IDN_OF_DONT_REFER)
		return reply_lib_error(r, IDN_ENOTHOMED);
	if (loc == LOC_REFER)
		return refer(r, deleg.id, deleg.values.p, deleg.values.len,
			     deleg.nvalues);
	if (h->node->parent_len > 0)
		return refer(r, idn_bytes_str("0.NA/"), h->node->parent_refer,
			     h->node->parent_len, 1);
	STAT(h, not_found);
	return reply_error(r, IDN_RC_NOT_FOUND, "");
}

/* ---- listing ---- */

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

/* ---- search (search.h): op IDN_OC_SEARCH ---- */

typedef struct {
	reply_t *r;
	size_t count_pos;
	uint32_t n, page;
	uint8_t next[IDN_SEARCH_CURSOR_MAX];
	size_t next_len;
} searcher_t;

/* Room kept for the next-page cursor in hex after the results. */
#define SEARCH_REPLY_MAX (IDN_MSG_MAX - 2 * IDN_SEARCH_CURSOR_MAX - 1024)

static int search_cb(void *ctx, idn_bytes_t id, uint32_t ctime,
		     idn_bytes_t cursor)
{
	searcher_t *s = ctx;
	if (s->n == s->page || s->r->w.len + 8 + id.len > SEARCH_REPLY_MAX)
		return 1; /* a result past the page: there are more */
	idn_wr_str(&s->r->w, id);
	idn_wr_u32(&s->r->w, ctime);
	s->n++;
	memcpy(s->next, cursor.p, cursor.len);
	s->next_len = cursor.len;
	return 0;
}

static int do_search(reply_t *r, int transport)
{
	idn_search_req_t rq;
	idn_search_t q;
	const char *why;
	uint8_t pbuf[IDN_IDENT_MAX], cbuf[IDN_SEARCH_CURSOR_MAX];
	searcher_t s = {r, 0, 0, 0, {0}, 0};
	if (idn_search_req_decode(r->req->rest, &rq) != 0)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed search request");
	/* only the control socket sees matches in non-public values */
	bool pub = transport != TRANSPORT_CONTROL ||
		   (r->req->hdr.flags & IDN_OF_PUBLIC_ONLY);
	if (idn_search_from_req(&rq, pub, pbuf, cbuf, &q, &s.page, &why) != 0)
		return reply_error(r, IDN_RC_ERROR, why);
	/* without a value to match, a search lists identifiers: like a
	 * listing, that is for the control socket only */
	if (transport != TRANSPORT_CONTROL && rq.type.len == 0)
		return reply_error(r, IDN_RC_INSUFFICIENT_PERMS,
				   "search by prefix or time alone lists "
				   "identifiers: over the network give a "
				   "type and data");
	reply_start(r, IDN_RC_SUCCESS, 0);
	s.count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	int err = idn_store_search(r->h->rtxn, &q, search_cb, &s);
	if (err == IDN_ENOTINDEXED) {
		char msg[IDN_INDEX_MSG_MAX];
		return reply_error(
			r, IDN_RC_ERROR,
			idn_search_notindexed_msg(q.type, msg, sizeof(msg)));
	}
	if (err < 0)
		return err == IDN_EINVAL
			       ? reply_error(r, IDN_RC_ERROR,
					     "cursor belongs to another search")
			       : reply_lib_error(r, err);
	idn_wr_patch_u32(&r->w, s.count_pos, s.n);
	char hex[2 * IDN_SEARCH_CURSOR_MAX + 1];
	idn_search_cursor_hex(idn_bytes(s.next, err ? s.next_len : 0), hex);
	idn_wr_str(&r->w, idn_bytes_str(hex));
	return reply_send(r);
}

/* ---- declared types of the search index: op IDN_OC_INDEX ---- */

typedef struct {
	reply_t *r;
	uint32_t n;
} index_list_t;

static int index_type_cb(void *ctx, idn_bytes_t type)
{
	index_list_t *l = ctx;
	idn_wr_str(&l->r->w, type);
	l->n++;
	return 0;
}

static int do_index(reply_t *r)
{
	handler_t *h = r->h;
	idn_rd_t rd;
	idn_rd_init(&rd, r->req->rest.p, r->req->rest.len);
	uint32_t action = idn_rd_u32(&rd);
	idn_bytes_t type = idn_rd_str(&rd, IDN_TYPE_MAX);
	if (idn_rd_finish(&rd) != 0 || action > IDN_INDEX_REMOVE)
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed index request");
	if (action != IDN_INDEX_LIST) {
		/* the empty type: the creation time */
		if (type.len && !idn_index_type_ok(type))
			return reply_error(r, IDN_RC_ERROR,
					   "a type to index is 1 to 255 "
					   "printable bytes and not an HS_ "
					   "type");
		/* the declared set and the entries commit together */
		idn_wtxn_t *t = h->group;
		int err = t ? 0 : idn_wtxn_begin(h->store, &t);
		if (err == 0)
			err = action == IDN_INDEX_ADD
				      ? idn_wtxn_index_add(t, type)
				      : idn_wtxn_index_remove(t, type);
		if (t != h->group) {
			if (err >= 0)
				err = idn_wtxn_commit(t);
			else
				idn_wtxn_abort(t);
		}
		if (err == IDN_ENOTFOUND)
			return reply_error(r, IDN_RC_NOT_FOUND,
					   type.len ? "type is not indexed"
						    : "creation time is not "
						      "indexed");
		if (err < 0)
			return reply_lib_error(r, err);
		log_info("search index: %s%.*s %s",
			 type.len ? "type " : "creation time", (int)type.len,
			 type.len ? (const char *)type.p : "",
			 action == IDN_INDEX_ADD ? "declared" : "dropped");
	}
	/* the set as it is now: a snapshot after the commit */
	if (h->snapshot) {
		idn_rtxn_reset(h->rtxn);
		h->snapshot = false;
	}
	int err = idn_rtxn_renew(h->rtxn);
	if (err)
		return reply_lib_error(r, err);
	h->snapshot = true;
	reply_start(r, IDN_RC_SUCCESS, 0);
	size_t count_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	index_list_t l = {r, 0};
	err = idn_store_index_types(h->rtxn, index_type_cb, &l);
	if (err)
		return reply_lib_error(r, err);
	idn_wr_patch_u32(&r->w, count_pos, l.n);
	return reply_send(r);
}

/* ---- idnode's own control operations ---- */

static void sum_stats(node_ctx_t *n, handler_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->lock);
	stats_add(out, &n->retired);
	for (handler_t *h = n->handlers; h != NULL; h = h->next)
		stats_add(out, &h->stats);
	pthread_mutex_unlock(&n->lock);
}

static int do_node_op(reply_t *r, uint32_t op)
{
	node_ctx_t *n = r->h->node;
	char text[1024];
	if (op == IDN_OC_CACHE_FLUSH) {
		idn_bytes_t id;
		uint8_t p[IDN_IDENT_MAX];
		uint32_t pl = 0;
		if (idn_id_body_decode(r->req->rest, &id) != 0)
			return reply_error(r, IDN_RC_PROTOCOL_ERROR,
					   "malformed cache flush request");
		if (id.len > 0) {
			int err = idn_prefix_normalise(id.p, id.len, p, &pl);
			if (err)
				return reply_lib_error(r, err);
		}
		size_t dropped =
			n->cache ? idn_cache_flush(n->cache, p, pl) : 0;
		snprintf(text, sizeof(text), "{\"flushed\":%zu}", dropped);
	} else {
		handler_stats_t st;
		idn_cache_stats_t cs = {0};
		sum_stats(n, &st);
		if (n->cache)
			idn_cache_stats(n->cache, &cs);
#define LD(f) (unsigned long long)atomic_load(&st.f)
		snprintf(text, sizeof(text),
			 "{\"requests\":%llu,\"resolutions\":%llu,"
			 "\"not_found\":%llu,\"referrals\":%llu,"
			 "\"recursive\":%llu,\"upstream_queries\":%llu,"
			 "\"errors\":%llu,\"writes\":%llu,"
			 "\"rrl_dropped\":%llu,\"rrl_slipped\":%llu,"
			 "\"tcp_refused\":%llu,"
			 "\"cache\":{\"hits\":%llu,\"misses\":%llu,"
			 "\"inserts\":%llu,\"evictions\":%llu,"
			 "\"expired\":%llu,\"entries\":%llu,\"bytes\":%llu}}",
			 LD(requests), LD(resolutions), LD(not_found),
			 LD(referrals), LD(recursive), LD(upstream), LD(errors),
			 LD(writes), LD(rrl_dropped), LD(rrl_slipped),
			 LD(tcp_refused), (unsigned long long)cs.hits,
			 (unsigned long long)cs.misses,
			 (unsigned long long)cs.inserts,
			 (unsigned long long)cs.evictions,
			 (unsigned long long)cs.expired,
			 (unsigned long long)cs.entries,
			 (unsigned long long)cs.bytes);
#undef LD
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_str(&r->w, idn_bytes_str(text));
	return reply_send(r);
}

void handler_busy(handler_t *h, const uint8_t *frame, size_t len, emit_fn emit,
		  void *ctx)
{
	idn_env_t env;
	idn_msg_t msg;
	if (idn_env_decode(frame, len, &env) != 0 ||
	    idn_msg_decode(frame + IDN_ENV_LEN, len - IDN_ENV_LEN, &msg) != 0)
		return;
	reply_t r = {h, &env, &msg, emit, ctx, {0}, {0, 0}, 0};
	reply_error(&r, IDN_RC_TOO_BUSY, "server too busy: try again");
}

/* ---- authenticated administration over the network (authz.h) ---- */

static void dispatch(reply_t *r, uint32_t op);

static void do_challenge(reply_t *r, const uint8_t *frame, size_t len)
{
	uint32_t id;
	uint8_t nonce[16];
	int err = authz_challenge(r->h->node->authz, frame, len,
				  r->req->signed_part, &id, nonce);
	if (err) {
		if (err == -EBUSY)
			reply_error(r, IDN_RC_TOO_BUSY,
				    "too many pending challenges");
		else
			reply_error(r, IDN_RC_ERROR, "cannot make a challenge");
		return;
	}
	reply_start(r, IDN_RC_AUTH_NEEDED, IDN_OF_RETURN_DIGEST);
	idn_put_u32(r->w.buf + r->mark.env + 4, id); /* session id */
	idn_challenge_encode(&r->w, idn_bytes(nonce, sizeof(nonce)));
	reply_send(r);
}

/* The authenticated admin's session on this connection: the reply to
 * the session setup carries its id in the envelope. */
static void session_open(reply_t *r, const idn_msg_t *orig,
			 const idn_challenge_answer_t *ans)
{
	handler_t *h = r->h;
	idn_session_req_t sr;
	if (idn_session_req_decode(orig->rest, &sr) != 0) {
		reply_error(r, IDN_RC_PROTOCOL_ERROR,
			    "malformed session setup");
		return;
	}
	if (h->conn == 0) {
		reply_error(r, IDN_RC_NOT_SUPPORTED,
			    "sessions live on a TCP connection: answer the "
			    "session setup on it");
		return;
	}
	uint32_t life = h->conf->session_lifetime;
	if (sr.timeout > 0 && sr.timeout < life)
		life = sr.timeout;
	uint32_t id;
	int err = authz_session_open(h->node->authz, h->owner, h->conn,
				     ans->admin, ans->index, life, &id);
	if (err) {
		reply_error(r, err == -EBUSY ? IDN_RC_TOO_BUSY : IDN_RC_ERROR,
			    "cannot open a session");
		return;
	}
	log_info("session %08x opened for %.*s:%u", id,
		 (int)(ans->admin.len > 200 ? 200 : ans->admin.len),
		 ans->admin.p, ans->index);
	idn_env_t env = *r->env;
	env.session_id = id;
	reply_t run = *r;
	run.env = &env;
	run.req = orig;
	reply_start(&run, IDN_RC_SUCCESS, 0);
	idn_session_resp_t resp = {sr.mode, idn_bytes(NULL, 0),
				   idn_bytes(NULL, 0)};
	idn_session_resp_encode(&run.w, &resp);
	reply_send(&run);
	r->sent = run.sent;
}

/* An administrative request inside a session: runs as the session's
 * admin, whose rights are checked as after a challenge. */
static void do_in_session(reply_t *r, uint32_t op)
{
	handler_t *h = r->h;
	authz_who_t who;
	if (authz_session_get(h->node->authz, r->env->session_id, h->owner,
			      h->conn, &who) != 0) {
		reply_error(
			r, AUTHZ_RC_SESSION_TIMEOUT,
			"no such session on this connection: expired or ended");
		return;
	}
	uint32_t rc =
		authz_permit(h->rtxn, &h->arena, r->req, who.admin, who.index);
	if (rc != 0) {
		reply_error(
			r, rc,
			rc == IDN_RC_INSUFFICIENT_PERMS
				? "the admin lacks the permission for this operation"
				: "");
		return;
	}
	dispatch(r, op);
}

static void do_session_end(reply_t *r)
{
	handler_t *h = r->h;
	if (authz_session_end(h->node->authz, r->env->session_id, h->owner,
			      h->conn) != 0) {
		reply_error(
			r, AUTHZ_RC_SESSION_TIMEOUT,
			"no such session on this connection: expired or ended");
		return;
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	reply_send(r);
}

static void do_answer(reply_t *r)
{
	handler_t *h = r->h;
	authz_challenge_t *c = authz_take(h->node->authz, r->env->session_id);
	if (c == NULL) {
		reply_error(r, IDN_RC_AUTH_TIMEOUT,
			    "no such challenge: expired or already answered");
		return;
	}
	idn_challenge_answer_t ans;
	const char *why = "";
	uint32_t rc = authz_check_answer(h->rtxn, &h->arena, c, r->req->rest,
					 &ans, &why);
	if (rc != 0) {
		reply_error(r, rc, why);
		goto out;
	}
	idn_msg_t orig;
	if (idn_msg_decode(c->frame + IDN_ENV_LEN, c->len - IDN_ENV_LEN,
			   &orig) != 0) {
		reply_error(r, IDN_RC_ERROR, "challenged request lost");
		goto out;
	}
	if (orig.hdr.op == IDN_OC_SESSION_SETUP) {
		session_open(r, &orig, &ans);
		goto out;
	}
	if (orig.hdr.op == IDN_OC_RESOLUTION) {
		/* anyone may ask; what the reader sees depends on who it is */
		authz_who_t who = {{0}, ans.admin, ans.index};
		idn_env_t env = *r->env;
		env.session_id = 0;
		reply_t run = *r;
		run.env = &env;
		run.req = &orig;
		run.reader = &who;
		do_resolve(&run, TRANSPORT_TCP);
		r->sent = run.sent;
		goto out;
	}
	rc = authz_permit(h->rtxn, &h->arena, &orig, ans.admin, ans.index);
	if (rc != 0) {
		reply_error(
			r, rc,
			rc == IDN_RC_INSUFFICIENT_PERMS
				? "the admin lacks the permission for this operation"
				: "");
		goto out;
	}
	/* the original request runs; its reply answers this message, with
	 * the original op code and no session (as the reference does) */
	idn_env_t env = *r->env;
	env.session_id = 0;
	reply_t run = *r;
	run.env = &env;
	run.req = &orig;
	dispatch(&run, orig.hdr.op);
	r->sent = run.sent;
out:
	free(c);
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
	reply_t r = {h,	     NULL, NULL,  emit, ctx, {0},
		     {0, 0}, 0,	   frame, len,	NULL};
	if (!h->redo)
		STAT(h, requests);
	int err = idn_env_decode(frame, len, &env);
	if (err == IDN_EMALFORMED || len < IDN_ENV_LEN + IDN_HDR_LEN) {
		STAT(h, errors);
		return 0; /* not even an envelope: nothing to answer */
	}
	r.env = &env;
	if (err == IDN_EVERSION) {
		STAT(h, errors);
		char text[96];
		snprintf(
			text, sizeof(text),
			"unsupported protocol version %u.%u (this node speaks 2.1-2.%d)",
			env.major, env.minor, IDN_PROTO_MAJOR == 2 ? 11 : 0);
		reply_error(&r, IDN_RC_PROTOCOL_ERROR, text);
		return r.sent;
	}
	if (err || env.msg_len != len - IDN_ENV_LEN) {
		STAT(h, errors);
		if (env.seq == 0 && env.msg_len > len - IDN_ENV_LEN &&
		    transport == TRANSPORT_UDP)
			reply_error(
				&r, IDN_RC_PROTOCOL_ERROR,
				"request spans several datagrams; send it over TCP");
		return r.sent; /* lengths disagree: drop */
	}
	err = idn_msg_decode(frame + IDN_ENV_LEN, len - IDN_ENV_LEN, &msg);
	if (err) {
		STAT(h, errors);
		reply_error(&r, IDN_RC_PROTOCOL_ERROR, "malformed message");
		return r.sent;
	}
	if (msg.hdr.rc != 0) {
		STAT(h, errors);
		return 0; /* a response sent to us: never answer it */
	}
	r.req = &msg;
	if (env.flags & (IDN_EF_COMPRESSED | IDN_EF_ENCRYPTED)) {
		reply_error(
			&r, IDN_RC_NOT_SUPPORTED,
			"compressed or encrypted messages are not supported");
		return r.sent;
	}
	uint32_t op = msg.hdr.op;
	if (op == IDN_OC_RESOLUTION) {
		/* a client asking for authoritative data reads the primary,
		 * not a replica that may lag */
		idn_rtxn_t *replica = NULL;
		if ((msg.hdr.flags & IDN_OF_AUTH) && h->prtxn != NULL &&
		    (h->psnapshot || idn_rtxn_renew(h->prtxn) == 0)) {
			h->psnapshot = true;
			replica = h->rtxn;
			h->rtxn = h->prtxn;
		}
		int rc = do_resolve(&r, transport);
		if (replica != NULL)
			h->rtxn = replica;
		if (rc == HANDLER_DEFER)
			return HANDLER_DEFER;
		return r.sent;
	}
	if (op == IDN_OC_GET_SITE_INFO) {
		reply_start(&r, IDN_RC_SUCCESS, 0);
		idn_wr_raw(&r.w, h->node->site, h->node->site_len);
		reply_send(&r);
		return r.sent;
	}
	if ((op == IDN_OC_STATS || op == IDN_OC_CACHE_FLUSH) &&
	    transport == TRANSPORT_CONTROL) {
		do_node_op(&r, op);
		return r.sent;
	}
	if (op == IDN_OC_BULK_CREATE && transport == TRANSPORT_CONTROL) {
		do_bulk_create(&r);
		return r.sent;
	}
	if (op == IDN_OC_SEARCH) {
		do_search(&r, transport);
		return r.sent;
	}
	if (op == IDN_OC_INDEX && transport == TRANSPORT_CONTROL) {
		do_index(&r);
		return r.sent;
	}
	/* what may write runs on a blocking handler, off the worker that
	 * serves many clients (see HANDLER_DEFER) */
	if (!h->blocking && transport != TRANSPORT_CONTROL &&
	    (op == IDN_OC_CHALLENGE_ANSWER ||
	     (is_admin_op(op) && env.session_id != 0 && h->conn != 0)))
		return HANDLER_DEFER;
	if (op == IDN_OC_CHALLENGE_ANSWER && transport != TRANSPORT_CONTROL) {
		do_answer(&r);
		return r.sent;
	}
	if (op == IDN_OC_SESSION_TERMINATE && transport != TRANSPORT_CONTROL) {
		do_session_end(&r);
		return r.sent;
	}
	if (op == IDN_OC_SESSION_SETUP && transport != TRANSPORT_CONTROL) {
		if (h->conn == 0)
			reply_error(&r, IDN_RC_NOT_SUPPORTED,
				    "sessions need a TCP connection");
		else
			do_challenge(&r, frame, len);
		return r.sent;
	}
	if (is_admin_op(op) && transport != TRANSPORT_CONTROL) {
		/* the network must prove who it is: by a session of this
		 * connection, or by answering a challenge */
		if (env.session_id != 0 && h->conn != 0)
			do_in_session(&r, op);
		else
			do_challenge(&r, frame, len);
		return r.sent;
	}
	dispatch(&r, op);
	return r.sent;
}

/* Runs an operation for a client entitled to it. */
static void dispatch(reply_t *r_, uint32_t op)
{
	reply_t r = *r_;
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
	r_->sent = r.sent;
}
