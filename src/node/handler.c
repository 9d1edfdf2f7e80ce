/* The request path every transport shares: the node's context, a
 * handler's lifecycle, building replies, and handler_process, which looks
 * each request's op up in the op table (optable.h) and runs it, challenges
 * it or refuses it by who asks (principal.h). */
#include "handler.h"

#include <arpa/inet.h>
#include <assert.h>
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
#include "hsession.h"
#include "identity.h"
#include "log.h"
#include "mirror.h"
#include "msg.h"
#include "nego.h"
#include "net.h"
#include "optable.h"
#include "site.h"
#include "value.h"
#include "wire.h"

/* ---- the node's shared context ---- */

/* Encodes an HS_SITE listing the given servers, each answering queries and
 * administration over UDP and TCP on its port; own: this node's own site,
 * whose interfaces are listed as HANDLE.NET lists its own (site.h), or
 * NULL. */
static int encode_site(idn_wr_t *w, char addrs[][128], int n, uint16_t serial,
		       uint8_t flags, const char *desc, idn_bytes_t pubkey,
		       const node_conf_t *own)
{
	const char *list[CONF_MAX_LISTEN];
	for (int i = 0; i < n; i++)
		list[i] = addrs[i];
	idn_site_opts_t o = {serial,	       flags, desc, pubkey,
			     IDN_DEFAULT_PORT, true};
	/* the node's own site lists its HTTP interface (http.c's default
	 * port 8000) as HANDLE.NET lists its own */
	struct sockaddr_storage ss;
	socklen_t sl;
	if (own != NULL && own->http[0] &&
	    idn_addr_parse(own->http, 8000, &ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *v4 = (void *)&ss;
			memcpy(o.http_addr + 12, &v4->sin_addr, 4);
			o.http_port = ntohs(v4->sin_port);
		} else {
			const struct sockaddr_in6 *v6 = (void *)&ss;
			memcpy(o.http_addr, &v6->sin6_addr, 16);
			if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
				memset(o.http_addr, 0, 12);
			o.http_port = ntohs(v6->sin6_port);
		}
	}
	o.own = own != NULL;
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
	    authz_new(&n->authz, conf->auth_cost_rate, conf->auth_cost_burst) !=
		    0)
		goto fail;
	idn_wr_t w;
	if ((n->min_hash = identity_check(conf)) < 0)
		goto fail;
	authz_set_min_hash(n->authz, n->min_hash);
	/* every node has a site key (identity.h), as CNRI clients read one
	 * from every site */
	n->key = identity_site_key(conf);
	idn_wr_init(&w, n->pubkey, 4096);
	if (n->key == NULL)
		goto fail;
	if (idn_pubkey_encode(n->key, &w) != 0) {
		log_error("the site key is neither RSA, DSA nor SM2 (give "
			  "--server-key an RSA key in PEM, e.g. from idctl "
			  "keygen)");
		goto fail;
	}
	n->pubkey_len = w.len;
	idn_bytes_t pub = idn_bytes(n->pubkey, n->pubkey_len);
	idn_wr_init(&w, n->site, 65536);
	if (conf->nadvertise > 0)
		encode_site(&w, (char(*)[128])conf->advertise, conf->nadvertise,
			    conf->site_serial, IDN_SITE_PRIMARY, "idnode", pub,
			    conf);
	else
		encode_site(&w, (char(*)[128])conf->listen, conf->nlisten,
			    conf->site_serial, IDN_SITE_PRIMARY, "idnode", pub,
			    conf);
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
				idn_bytes(NULL, 0), NULL) != 0) {
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
	/* room for a reply sealed in its session's cipher */
	h->out = malloc(IDN_ENV_LEN + IDN_MSG_MAX + IDN_SKEY_OVERHEAD);
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

/* clang-format off: one counter a line */
#define STAT_FIELDS(X)                                                         \
	X(requests)                                                            \
	X(resolutions)                                                         \
	X(not_found)                                                           \
	X(referrals)                                                           \
	X(recursive)                                                           \
	X(upstream)                                                            \
	X(errors)                                                              \
	X(writes)                                                              \
	X(rrl_dropped)                                                         \
	X(rrl_slipped)                                                         \
	X(tcp_refused)                                                         \
	X(outcome_unknown)
/* clang-format on */

void handler_stats_add(handler_stats_t *to, handler_stats_t *from)
{
#define ADD(f)                                                                 \
	atomic_fetch_add_explicit(                                             \
		&to->f, atomic_load_explicit(&from->f, memory_order_relaxed),  \
		memory_order_relaxed);
	STAT_FIELDS(ADD)
#undef ADD
	for (int t = 0; t < REQLAT_TRANSPORTS; t++)
		reqlat_merge(&to->lat[t], &from->lat[t]);
}

void node_stats_sum(node_ctx_t *n, handler_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->lock);
	handler_stats_add(out, &n->retired);
	for (handler_t *h = n->handlers; h != NULL; h = h->next)
		handler_stats_add(out, &h->stats);
	pthread_mutex_unlock(&n->lock);
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
	handler_stats_add(&n->retired, &h->stats);
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
	audit_buf_free(&h->audit_pend);
	free(h->out);
	free(h->scratch);
	free(h->dec);
	h->dec = NULL;
	h->rtxn = NULL;
	h->out = h->scratch = NULL;
	h->resolver = NULL;
}

int handler_begin(handler_t *h)
{
	h->now = (uint32_t)time(NULL);
	h->lib_err = 0;
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
	env.minor = IDN_PROTO_MINOR;
	/* in the client's version when we speak it */
	if (r->env)
		idn_env_answer_version(r->env, &env.major, &env.minor);
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
	/* a hash the client can check (nego.h): SHA-1 for HANDLE.NET 7 */
	uint8_t major = r->env ? r->env->major : IDN_PROTO_MAJOR;
	uint8_t minor = r->env ? r->env->minor : IDN_PROTO_MINOR;
	const char *hash = idn_sig_hash_for_peer(r->h->node->key, major, minor,
						 r->h->node->min_hash);
	if (r->w.err || idn_sig_sign(r->h->node->key, hash, &part, 1, sig,
				     sizeof(sig), &sl) != 0)
		return -1;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_sig_encode(&w, idn_bytes_str(hash), idn_bytes(sig, sl));
	memset(cred, 0, sizeof(*cred));
	cred->signer = idn_bytes(NULL, 0);
	cred->type = idn_bytes_str("HS_SIGNED");
	cred->signed_data = idn_bytes(buf, w.len);
	return w.err ? -1 : 0;
}

/* The audit line of the reply r is about to send, when its request is a
 * write attempt (docs/audit.md): written before the answer leaves. A
 * challenge (rc 402) is no attempt yet; the answer that releases the
 * request is. */
static void audit_reply(reply_t *r)
{
	handler_t *h = r->h;
	const idn_msg_t *req = r->audit_req ? r->audit_req : r->req;
	if (req == NULL || r->sent > 0 || r->noaudit)
		return;
	const op_row_t *row = optable_find(req->hdr.op);
	uint32_t rc = idn_hdr_rc(r->w.buf + r->mark.hdr);
	if (row == NULL || row->audit == NULL || rc == IDN_RC_AUTH_NEEDED)
		return;
	audit_rec_t rec = {.event = AUDIT_WRITE,
			   .who = &r->from.who,
			   .transport = r->from.transport,
			   .peer = r->from.peer,
			   .op = row->name,
			   .rc = rc,
			   .error = rc == IDN_RC_SUCCESS ? NULL : r->errtext};
	if (!row->audit(req, &h->arena, &rec))
		return;
	rec.created = r->created;
	if (h->group == NULL) {
		audit_write(h->node->audit, &rec);
		return;
	}
	audit_format(&rec, &h->audit_pend);
}

void handler_audit_group(handler_t *h, bool committed)
{
	audit_buf_t *b = &h->audit_pend;
	if (committed && b->len > 0)
		audit_append(h->node->audit, b->buf, b->len);
	b->len = 0;
	b->failed = false;
}

int reply_send(reply_t *r)
{
	idn_cred_t cred;
	uint8_t sigbuf[1100];
	bool sign = r->w.len >= r->mark.hdr + IDN_HDR_LEN &&
		    (idn_hdr_flags(r->w.buf + r->mark.hdr) & IDN_OF_CERT);
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
	if (r->h->node->audit != NULL)
		audit_reply(r);
	size_t len = r->w.len;
	const req_sess_t *ss = r->sess;
	if (ss != NULL && ss->enc &&
	    idn_skey_seal_frame(idn_bytes(ss->s.key, ss->s.key_len),
				ss->s.cipher, r->w.buf, r->w.len,
				r->w.cap + IDN_SKEY_OVERHEAD, &len) != 0) {
		log_error("cannot encrypt a reply in its session");
		return -1;
	}
	r->sent++;
	return r->emit(r->ctx, r->w.buf, len);
}

static int send_error(reply_t *r, uint32_t rc, const char *text)
{
	reply_start(r, rc, 0);
	idn_error_body_encode(&r->w, idn_bytes_str(text ? text : ""));
	return reply_send(r);
}

/* Logs a request that failed with err, but one line per error code per
 * FAIL_QUIET_S: a store that is down fails every request, and its own log
 * says why once. The line after a quiet spell tells how many it left
 * out. */
#define FAIL_QUIET_S 10
static void log_failed(int err)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int last;
	static time_t at;
	static unsigned long long quiet;
	time_t now = time(NULL);
	pthread_mutex_lock(&mu);
	bool same = err == last && now - at < FAIL_QUIET_S;
	unsigned long long left = same ? 0 : quiet;
	int prev = last;
	if (same) {
		quiet++;
	} else {
		last = err;
		at = now;
		quiet = 0;
	}
	pthread_mutex_unlock(&mu);
	if (same)
		return;
	if (left)
		log_warn("request failed: %s (and %llu more '%s' not logged)",
			 idn_strerror(err), left, idn_strerror(prev));
	else
		log_warn("request failed: %s", idn_strerror(err));
}

int reply_error(reply_t *r, uint32_t rc, const char *text)
{
	r->errtext = text;
	return send_error(r, rc, text);
}

/* Maps a library error from a write or lookup to a response code and a
 * message for the client. */
int reply_lib_error(reply_t *r, int err)
{
	r->h->lib_err = err;
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
	case IDN_EUNKNOWN_OUTCOME: /* not a failure: told apart, counted */
		rc = IDN_RC_ERROR;
		STAT(r->h, outcome_unknown);
		break;
	case IDN_ENOPRIMARY: /* the store logs the outage once, not each */
		return reply_error(r, IDN_RC_ERROR, text);
	default:
		rc = IDN_RC_ERROR;
		if (err == IDN_ENOSPACE)
			text = "store is full: no space for this write";
		break;
	}
	if (rc == IDN_RC_ERROR)
		log_failed(err);
	/* the audit log says why even where the wire says nothing */
	r->errtext = idn_strerror(err);
	return send_error(r, rc, text);
}

/* Answers frame from caller from without running it: rc 3 when err is 0,
 * else the reply of library error err. */
static void answer_unrun(handler_t *h, const uint8_t *frame, size_t len,
			 const caller_t *from, int err, emit_fn emit, void *ctx)
{
	idn_env_t env;
	idn_msg_t msg;
	if (idn_env_decode(frame, len, &env) != 0 ||
	    idn_msg_decode(frame + IDN_ENV_LEN, len - IDN_ENV_LEN, &msg) != 0)
		return;
	reply_t r = {h, &env, &msg, emit, ctx, {0}, {0, 0}, 0};
	r.from = *from; /* the audit line names who asked */
	if (err == 0)
		reply_error(&r, IDN_RC_TOO_BUSY, "server too busy: try again");
	else
		reply_lib_error(&r, err);
}

void handler_busy(handler_t *h, const uint8_t *frame, size_t len,
		  const caller_t *from, emit_fn emit, void *ctx)
{
	answer_unrun(h, frame, len, from, 0, emit, ctx);
}

void handler_fail(handler_t *h, const uint8_t *frame, size_t len,
		  const caller_t *from, int err, emit_fn emit, void *ctx)
{
	answer_unrun(h, frame, len, from, err, emit, ctx);
}

uint32_t op_permit(const reply_t *r, const op_row_t *row, const char **why)
{
	const principal_t *who = &r->from.who;
	*why = "";
	if (principal_rank(who->kind) < principal_rank(row->min)) {
		*why = "not allowed to this caller";
		return IDN_RC_INSUFFICIENT_PERMS;
	}
	if (row->min != PRINCIPAL_ADMIN || principal_is_operator(who))
		return 0;
	/* node-level ops: a server admin needs no HS_ADMIN (optable.h) */
	if (row->server_admin &&
	    identity_is_server_admin(r->h->conf, who->admin, who->index))
		return 0;
	assert(row->rights != NULL);
	handler_t *h = r->h;
	return row->rights(h->rtxn, &h->arena, r->req, who->admin, who->index,
			   why);
}

int op_run(reply_t *r, const op_row_t *row)
{
	handler_t *h = r->h;
	if (principal_rank(r->from.who.kind) < principal_rank(row->min))
		return reply_error(r, IDN_RC_INSUFFICIENT_PERMS,
				   "not allowed to this caller");
	/* no audit, no write: with audit-required, a write whose line could
	 * not be written is refused (docs/audit.md) */
	if (row->audit != NULL && !audit_gate(h->node->audit)) {
		audit_rec_t probe = {0};
		if (row->audit(r->req, &h->arena, &probe))
			return reply_error(r, IDN_RC_ERROR,
					   "audit log unavailable");
	}
	/* a mirror's data is its source's: writes go there
	 * (docs/replication.md) */
	if (row->audit != NULL && mirror_active()) {
		audit_rec_t probe = {0};
		if (row->audit(r->req, &h->arena, &probe)) {
			char text[200];
			snprintf(text, sizeof(text),
				 "this node is a mirror: write to its primary "
				 "%s",
				 mirror_primary());
			return reply_error(r, IDN_RC_ERROR, text);
		}
	}
	/* a client asking for authoritative data reads the primary, not a
	 * replica that may lag */
	idn_rtxn_t *replica = NULL;
	if (row->reads_primary && (r->req->hdr.flags & IDN_OF_AUTH) &&
	    h->prtxn != NULL &&
	    (h->psnapshot || idn_rtxn_renew(h->prtxn) == 0)) {
		h->psnapshot = true;
		replica = h->rtxn;
		h->rtxn = h->prtxn;
	}
	int rc = row->run(r);
	if (replica != NULL)
		h->rtxn = replica;
	assert(rc != HANDLER_DEFER || row->defer == OP_DEFER_SELF);
	return rc;
}

/* Refuses an op this node does not serve, or does not serve to this
 * caller. */
static int not_supported(reply_t *r, uint32_t op, const char *name)
{
	char text[96];
	if (name != NULL)
		snprintf(text, sizeof(text),
			 "operation %u (%s) is for the control socket only", op,
			 name);
	else
		snprintf(text, sizeof(text), "operation %u is not supported",
			 op);
	return reply_error(r, IDN_RC_NOT_SUPPORTED, text);
}

/* Looks up the session the envelope names (authz.h) into ss. */
static void session_lookup(handler_t *h, const idn_env_t *env,
			   const caller_t *from, req_sess_t *ss)
{
	ss->err = authz_session_find(h->node->authz, env->session_id,
				     from->peer, h->owner, h->conn, &ss->s);
	ss->found = ss->err == 0;
	ss->usable = ss->found && !ss->s.keyed;
	/* the national SDK answers a challenge in the challenge's id,
	 * encrypted in its connection's session: that key opens it, and
	 * the request is no request of that session */
	if (!ss->found && (env->flags & IDN_EF_ENCRYPTED) &&
	    authz_session_conn_keyed(h->node->authz, h->owner, h->conn,
				     &ss->s) == 0) {
		ss->found = true;
		ss->by_conn = true;
	}
}

/* Replaces *frame by its decrypted form in h->dec (the envelope without
 * the encrypted flag); 0, or the reply refusing it was sent. */
static int session_decrypt(reply_t *r, idn_env_t *env, const uint8_t **frame,
			   size_t *len)
{
	handler_t *h = r->h;
	req_sess_t *ss = r->sess;
	if (!ss->found || !ss->s.keyed) {
		reply_error(r, AUTHZ_RC_SESSION_TIMEOUT,
			    "an encrypted message needs a live session of "
			    "this network with a session key");
		return -1;
	}
	if (h->dec == NULL &&
	    (h->dec = malloc(IDN_ENV_LEN + IDN_MSG_MAX)) == NULL) {
		reply_error(r, IDN_RC_ERROR, "out of memory");
		return -1;
	}
	size_t n = 0;
	int err = idn_skey_decrypt(idn_bytes(ss->s.key, ss->s.key_len),
				   ss->s.cipher, *frame + IDN_ENV_LEN,
				   *len - IDN_ENV_LEN, h->dec + IDN_ENV_LEN,
				   IDN_MSG_MAX, &n);
	if (err) {
		reply_error(
			r, IDN_RC_AUTH_FAILED,
			"the message does not decrypt with the session key");
		return -1;
	}
	memcpy(h->dec, *frame, IDN_ENV_LEN);
	h->dec[IDN_ENV_OFF_FLAGS] &= (uint8_t)~IDN_EF_ENCRYPTED;
	idn_put_u32(h->dec + IDN_ENV_OFF_MSG_LEN, (uint32_t)n);
	env->flags &= (uint8_t)~IDN_EF_ENCRYPTED;
	env->msg_len = (uint32_t)n;
	/* a session of this connection whose key the client holds (the
	 * national SDK's): coming encrypted under it is what makes a
	 * request the session's */
	if (ss->s.conn_bound && !ss->by_conn)
		ss->usable = true;
	*frame = h->dec;
	*len = IDN_ENV_LEN + n;
	r->frame = *frame;
	r->frame_len = *len;
	ss->enc = true; /* and so goes the reply */
	return 0;
}

/* Checks the session MAC of a request in a keyed session; 0, or the
 * refusal was sent. A request without one is no request of the session
 * (it may still be a challenge answer, which carries none). */
static int session_mac(reply_t *r, const idn_env_t *env, const idn_msg_t *m)
{
	req_sess_t *ss = r->sess;
	if (!ss->found || !ss->s.keyed || ss->s.conn_bound || !m->has_cred ||
	    !idn_bytes_eq_str(m->cred.type, "HS_MAC"))
		return 0;
	int err = idn_skey_mac_check(idn_bytes(ss->s.key, ss->s.key_len),
				     env->major, env->minor, m, &ss->counter);
	if (err) {
		reply_error(r, IDN_RC_AUTH_FAILED,
			    err == IDN_EUNSUPPORTED
				    ? "unsupported session MAC"
				    : "the session MAC does not verify");
		return -1;
	}
	ss->mac = true;
	ss->usable = true;
	return 0;
}

/* Refuses a request naming a session it may not use. */
static int session_refuse(reply_t *r)
{
	const req_sess_t *ss = r->sess;
	const char *why =
		ss->err == IDN_EAUTH ? "the session belongs to another network"
		: ss->found && ss->s.conn_bound
			? "requests in this session must come encrypted"
		: ss->found ? "requests in this session must carry its MAC"
			    : "no such session: expired, ended or of another "
			      "connection";
	return reply_error(r, AUTHZ_RC_SESSION_TIMEOUT, why);
}

int handler_process(handler_t *h, const uint8_t *frame, size_t len,
		    const caller_t *from, emit_fn emit, void *ctx)
{
	idn_env_t env;
	idn_msg_t msg;
	req_sess_t ss = {0};
	reply_t r = {h,	     NULL, NULL,  emit, ctx,  {0},
		     {0, 0}, 0,	   frame, len,	*from};
	r.sess = &ss;
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
			"unsupported protocol version %u.%u (this node speaks 2.x)",
			env.major, env.minor);
		reply_error(&r, IDN_RC_PROTOCOL_ERROR, text);
		return r.sent;
	}
	if (err || env.msg_len != len - IDN_ENV_LEN) {
		STAT(h, errors);
		if (env.seq == 0 && env.msg_len > len - IDN_ENV_LEN &&
		    from->transport == TRANSPORT_UDP)
			reply_error(
				&r, IDN_RC_PROTOCOL_ERROR,
				"request spans several datagrams; send it over TCP");
		return r.sent; /* lengths disagree: drop */
	}
	if (env.session_id != 0)
		session_lookup(h, &env, from, &ss);
	if ((env.flags & IDN_EF_ENCRYPTED) &&
	    session_decrypt(&r, &env, &frame, &len) != 0)
		return r.sent;
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
	/* IDN_EF_COMPRESSED: HANDLE.NET 7.3.1 compresses nothing and reads a
	 * message so flagged as it stands (tests/vectors/nego/compressed-*);
	 * so does this node. Encrypted messages were opened above, in their
	 * session. */
	if (session_mac(&r, &env, &msg) != 0)
		return r.sent;
	const op_row_t *row = optable_find(msg.hdr.op);
	int rank = principal_rank(from->who.kind);
	if (row == NULL ||
	    (row->network_only && rank >= principal_rank(PRINCIPAL_OPERATOR))) {
		not_supported(&r, msg.hdr.op, NULL);
		return r.sent;
	}
	/* a request that runs for a proven admin may write: that runs on a
	 * blocking handler, off the worker that serves many clients */
	bool in_session = ss.usable && ss.s.bound;
	bool proven = rank >= principal_rank(row->min) ||
		      (row->min == PRINCIPAL_ADMIN && in_session);
	if (proven && row->defer == OP_DEFER_RUN && !h->blocking)
		return HANDLER_DEFER;
	/* each MAC counter once: a replayed message is refused (counted
	 * here, past the deferral, which processes the frame again) */
	if (ss.mac && authz_session_counter(h->node->authz, env.session_id,
					    ss.counter) != 0) {
		reply_error(&r, IDN_RC_AUTH_FAILED,
			    "session message replayed (counter seen before)");
		return r.sent;
	}
	if (rank < principal_rank(row->min)) {
		if (row->min != PRINCIPAL_ADMIN)
			not_supported(&r, msg.hdr.op, row->name);
		else if (in_session) /* proven by its session */
			do_in_session(&r, row);
		else if (ss.usable) /* whose admin it proves now */
			do_challenge(&r);
		else if (env.session_id != 0 &&
			 (ss.found || h->conn != 0 || ss.err == IDN_EAUTH))
			session_refuse(&r);
		else /* the caller must prove who it is */
			do_challenge(&r);
		return r.sent;
	}
	const char *why;
	uint32_t rc = op_permit(&r, row, &why);
	if (rc != 0) {
		reply_error(&r, rc, why);
		return r.sent;
	}
	if (op_run(&r, row) == HANDLER_DEFER)
		return HANDLER_DEFER;
	return r.sent;
}
