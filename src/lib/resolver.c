#include "resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "msg.h"
#include "net.h"

#define MAX_CANDIDATES 64

struct idn_resolver {
	idn_resolver_opts_t o;
	idn_arena_t arena;
	uint8_t *req;	/* request being sent */
	uint8_t *reply; /* last reply message */
	size_t reply_len;
	bool truncated;
	uint8_t *result; /* values of the final answer */
	uint8_t *deleg;	 /* values of the delegation being followed */
	size_t deleg_len;
	uint32_t deleg_n;
	uint8_t *tmp;	     /* a prefix handle's values being looked at */
	idn_resolver_t *sub; /* resolves service handles (HS_SERV) */
	unsigned depth;	     /* of service handles being resolved */
};

typedef struct {
	char udp[64]; /* "" when the server has no UDP query interface */
	char tcp[64];
} cand_t;

uint64_t idn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int idn_resolver_new(const idn_resolver_opts_t *o, idn_resolver_t **out)
{
	if (o->nroots == 0)
		return IDN_EINVAL;
	idn_resolver_t *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->o = *o;
	if (r->o.timeout_ms <= 0)
		r->o.timeout_ms = 500;
	if (r->o.max_referrals == 0)
		r->o.max_referrals = 8;
	idn_arena_init(&r->arena, 0);
	r->req = malloc(IDN_MSG_MAX);
	r->reply = malloc(IDN_MSG_MAX);
	r->result = malloc(IDN_MSG_MAX);
	r->deleg = malloc(IDN_MSG_MAX);
	r->tmp = malloc(IDN_MSG_MAX);
	if (!r->req || !r->reply || !r->result || !r->deleg || !r->tmp) {
		idn_resolver_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void idn_resolver_free(idn_resolver_t *r)
{
	if (r == NULL)
		return;
	idn_arena_free(&r->arena);
	free(r->req);
	free(r->reply);
	free(r->result);
	free(r->deleg);
	free(r->tmp);
	idn_resolver_free(r->sub);
	free(r);
}

/* ---- server selection ---- */

uint32_t idn_site_pick(const idn_hs_site_t *site, const idn_ident_t *id)
{
	if (site->nservers <= 1)
		return 0;
	const uint8_t *p = id->text.p;
	size_t n = id->text.len;
	if (site->hash_option == IDN_HASH_PREFIX) {
		n = id->prefix_len;
	} else if (site->hash_option == IDN_HASH_SUFFIX) {
		size_t skip = id->prefix_len < n ? id->prefix_len + 1 : n;
		p += skip;
		n -= skip;
	}
	uint8_t up[IDN_IDENT_MAX];
	for (size_t i = 0; i < n; i++)
		up[i] = (p[i] >= 'a' && p[i] <= 'z') ? (uint8_t)(p[i] - 32)
						     : p[i];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(up, n, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen < 4)
		return 0;
	int32_t v = (int32_t)idn_get_u32(md + mdlen - 4);
	uint32_t a = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
	return a % site->nservers;
}

int idn_site_server_addr(const idn_hs_server_t *s, uint8_t proto, char *out,
			 size_t cap)
{
	const idn_hs_iface_t *ifc = NULL;
	for (uint32_t i = 0; i < s->nifaces && ifc == NULL; i++)
		if (s->ifaces[i].proto == proto &&
		    (s->ifaces[i].type & IDN_IF_QUERY))
			ifc = &s->ifaces[i];
	if (ifc == NULL || ifc->port == 0 || ifc->port > 65535)
		return IDN_ENOTFOUND;
	static const uint8_t zero[12];
	char host[INET6_ADDRSTRLEN];
	bool v4 = memcmp(s->addr, zero, 12) == 0;
	/* 12 zero bytes mark IPv4 (the Handle convention); ::1 would read as
	 * 0.0.0.1, which is no host, so it stays the IPv6 loopback */
	if (v4 && idn_get_u32(s->addr + 12) == 1)
		v4 = false;
	if (v4) {
		inet_ntop(AF_INET, s->addr + 12, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ifc->port);
	} else {
		inet_ntop(AF_INET6, s->addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ifc->port);
	}
	return 0;
}

/* Candidates of the site values of the given type among the n values in
 * buf[0..len), in the order to try them: for each site, the server the
 * site's hash picks for id first, then the others of that site. */
static unsigned site_candidates(idn_resolver_t *r, const uint8_t *buf,
				size_t len, uint32_t nvals, const char *type,
				const idn_ident_t *id, cand_t *c, unsigned max)
{
	idn_rd_t rd;
	unsigned n = 0;
	idn_rd_init(&rd, buf, len);
	for (uint32_t i = 0; i < nvals && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, &r->arena, &v);
		idn_hs_site_t site;
		if (rd.err || !idn_type_matches(v.type, idn_bytes_str(type)) ||
		    idn_hs_site_decode(v.data, &r->arena, &site) != 0)
			continue;
		uint32_t first = idn_site_pick(&site, id);
		for (uint32_t k = 0; k < site.nservers && n < max; k++) {
			const idn_hs_server_t *s =
				&site.servers[(first + k) % site.nservers];
			cand_t *cc = &c[n];
			cc->udp[0] = cc->tcp[0] = 0;
			idn_site_server_addr(s, IDN_PROTO_UDP, cc->udp,
					     sizeof(cc->udp));
			idn_site_server_addr(s, IDN_PROTO_TCP, cc->tcp,
					     sizeof(cc->tcp));
			if (cc->udp[0] || cc->tcp[0])
				n++;
		}
	}
	return n;
}

/* Candidates of the delegation being followed. */
static unsigned deleg_candidates(idn_resolver_t *r, const idn_ident_t *id,
				 cand_t *c, unsigned max)
{
	return site_candidates(r, r->deleg, r->deleg_len, r->deleg_n, "HS_SITE",
			       id, c, max);
}

/* ---- talking to one server ---- */

typedef struct {
	idn_resolver_t *r;
	bool got;
} reply_ctx_t;

static int on_reply(void *vctx, const idn_env_t *env, const uint8_t *msg,
		    size_t len)
{
	reply_ctx_t *c = vctx;
	c->r->truncated = env->flags & IDN_EF_TRUNCATED;
	memcpy(c->r->reply, msg, len);
	c->r->reply_len = len;
	c->got = true;
	return 1;
}

static int ask(idn_resolver_t *r, int transport, const char *addr,
	       size_t req_len)
{
	idn_client_t *cl;
	int err = idn_client_open(transport, addr, r->o.timeout_ms, &cl);
	if (err)
		return err;
	reply_ctx_t c = {r, false};
	err = idn_client_call(cl, r->req, req_len, on_reply, &c);
	idn_client_close(cl);
	if (err == 0 && !c.got)
		err = IDN_EPROTO;
	return err;
}

/* Whether a UDP answer is to be asked again over TCP: an older idnode
 * flags a reply too large for UDP truncated (HANDLE.NET uses that flag for
 * multi-datagram requests only), and a node whose UDP reply limit or rate
 * limit stops the answer says so with rc 2 or 3 (docs/architecture.md,
 * Hierarchy). */
static bool udp_retry_tcp(const idn_resolver_t *r)
{
	if (r->truncated)
		return true;
	idn_msg_t m;
	if (idn_msg_decode(r->reply, r->reply_len, &m) != 0)
		return true;
	return m.hdr.rc == IDN_RC_ERROR || m.hdr.rc == IDN_RC_TOO_BUSY;
}

/* Sends the resolution request for the identifier text to one server,
 * over UDP, then TCP when the server has no UDP interface, UDP brought no
 * answer, or the UDP answer could not carry the values (udp_retry_tcp). On
 * success r->reply holds the answer. */
static int query(idn_resolver_t *r, const cand_t *c, idn_bytes_t text,
		 uint8_t rcount)
{
	idn_hdr_t h = {0};
	h.op = IDN_OC_RESOLUTION;
	/* a resolver answers everyone: it never asks for restricted values
	 * (which would be challenged) */
	h.flags = IDN_OF_PUBLIC_ONLY;
	h.serial = 0xffff;
	h.rcount = rcount;
	h.expiry = (uint32_t)time(NULL) + 12 * 3600;
	idn_wr_t w;
	idn_wr_init(&w, r->req, IDN_MSG_MAX);
	idn_msg_mark_t mk = idn_msg_start(&w, NULL, &h);
	idn_resolve_req_t q = {text, 0, NULL, 0, NULL};
	idn_resolve_req_encode(&w, &q);
	idn_msg_finish(&w, mk, NULL);
	if (w.err)
		return w.err;
	int err = IDN_ENOTFOUND;
	if (c->udp[0]) {
		err = ask(r, IDN_NET_UDP, c->udp, w.len);
		if (err == 0 && (!udp_retry_tcp(r) || !c->tcp[0]))
			return r->truncated ? IDN_EPROTO : 0;
	}
	if (c->tcp[0])
		err = ask(r, IDN_NET_TCP, c->tcp, w.len);
	return err == 0 && r->truncated ? IDN_EPROTO : err;
}

/* The smallest remaining lifetime of a set of values, in seconds. */
static uint32_t values_ttl(const idn_value_t *v, uint32_t n)
{
	uint32_t now = (uint32_t)time(NULL), ttl = UINT32_MAX;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t t = v[i].ttl;
		if (v[i].ttl_type == IDN_TTL_ABSOLUTE)
			t = v[i].ttl > now ? v[i].ttl - now : 0;
		if (t < ttl)
			ttl = t;
	}
	return n == 0 ? 0 : ttl;
}

/* Where the values of an identifier+values body start. */
static idn_bytes_t values_section(idn_bytes_t body, const idn_values_body_t *b)
{
	size_t off = 4 + (size_t)b->id.len + 4;
	return idn_bytes(body.p + off, body.len - off);
}

static void trace_text(idn_trace_fn trace, void *ctx, const char *server,
		       idn_bytes_t text, uint32_t rc, const char *detail)
{
	if (trace == NULL)
		return;
	char ident[IDN_IDENT_MAX + 1];
	size_t n = text.len > IDN_IDENT_MAX ? IDN_IDENT_MAX : text.len;
	memcpy(ident, text.p, n);
	ident[n] = 0;
	trace(ctx, server, ident, rc, detail);
}

/* Prefix Q covers P when P == Q or P starts with "Q.". */
static bool covers(const uint8_t *q, size_t qlen, const uint8_t *p, size_t plen)
{
	if (qlen > plen || memcmp(q, p, qlen) != 0)
		return false;
	return qlen == plen || p[qlen] == '.';
}

static void fail(idn_resolution_t *out, uint32_t rc, const char *fmt,
		 const char *arg)
{
	out->rc = rc;
	snprintf(out->detail, sizeof(out->detail), fmt, arg);
}

/* Length of the parent of prefix p[0..len) ("20.500.1" -> 6), 0 at the
 * top. */
static size_t parent_len(const uint8_t *p, size_t len)
{
	while (len > 0 && p[len - 1] != '.')
		len--;
	return len > 0 ? len - 1 : 0;
}

/* Starts from the most specific delegation in the cache. Returns the
 * length of its prefix, or 0 when none is cached (start at the roots). */
static size_t cached_start(idn_resolver_t *r, const idn_ident_t *id,
			   uint64_t now)
{
	if (r->o.cache == NULL)
		return 0;
	uint8_t key[5 + IDN_IDENT_MAX];
	memcpy(key, "0.NA/", 5);
	size_t qlen = id->prefix_len;
	/* a prefix handle 0.NA/X is found through the delegations of X's
	 * parents; other identifiers through their prefix's */
	const uint8_t *q = id->key;
	if (id->prefix_len == 4 && memcmp(id->key, "0.NA", 4) == 0) {
		q = id->key + 5;
		qlen = parent_len(q, id->key_len - 5);
	}
	for (; qlen > 0; qlen = parent_len(q, qlen)) {
		memcpy(key + 5, q, qlen);
		idn_cache_hit_t hit;
		if (idn_cache_get(r->o.cache, key, 5 + qlen, now, r->deleg,
				  IDN_MSG_MAX, &hit) == 0 &&
		    hit.kind == IDN_CACHE_REFERRAL) {
			r->deleg_len = hit.len;
			r->deleg_n = hit.nvalues;
			return qlen;
		}
	}
	return 0;
}

/* ---- one level of the hierarchy ---- */

/* A resolution in progress: the identifier, the prefix whose delegation
 * is followed (p, plen) and how much of it the current level covers. */
typedef struct {
	const idn_ident_t *id;
	const uint8_t *p;
	size_t plen;
	size_t qlen; /* 0: the roots */
	uint8_t rcount;
	idn_resolution_t *out;
	idn_trace_fn trace;
	void *ctx;
	cand_t cands[MAX_CANDIDATES];
	unsigned nc;
	char server[64]; /* the server that answered last */
} walk_t;

/* The servers of the current level: the delegation's, or the roots. */
static void level_candidates(idn_resolver_t *r, walk_t *wk)
{
	wk->nc = 0;
	if (wk->qlen > 0) {
		wk->nc = deleg_candidates(r, wk->id, wk->cands, MAX_CANDIDATES);
		return;
	}
	for (unsigned i = 0; i < r->o.nroots && wk->nc < MAX_CANDIDATES; i++) {
		cand_t *c = &wk->cands[wk->nc++];
		snprintf(c->udp, sizeof(c->udp), "%s", r->o.roots[i]);
		snprintf(c->tcp, sizeof(c->tcp), "%s", r->o.roots[i]);
	}
}

/* Asks the servers of the current level for text until one answers.
 * Returns 0 (r->reply holds the answer, wk->server names who gave it) or
 * the last server's error. */
static int ask_level(idn_resolver_t *r, walk_t *wk, idn_bytes_t text)
{
	int err = IDN_ETIMEOUT;
	for (unsigned i = 0; i < wk->nc; i++) {
		const cand_t *c = &wk->cands[i];
		wk->out->queries++;
		err = query(r, c, text, (uint8_t)(wk->rcount + 1));
		snprintf(wk->server, sizeof(wk->server), "%s",
			 c->udp[0] ? c->udp : c->tcp);
		if (err == 0)
			return 0;
		trace_text(wk->trace, wk->ctx, wk->server, text, 0,
			   idn_strerror(err));
	}
	return err;
}

/* Decodes the identifier+values body of the answer in r->reply and copies
 * its values, in index order, to dst (IDN_MSG_MAX bytes). Returns 0 or an
 * error; *b gets the decoded body (in r->arena). */
static int take_values(idn_resolver_t *r, const idn_msg_t *m,
		       idn_values_body_t *b, uint8_t *dst, size_t *len)
{
	int err = idn_values_body_decode(m->rest, &r->arena, b);
	if (err)
		return err;
	idn_bytes_t vs = values_section(m->rest, b);
	*len = vs.len;
	return idn_values_order(vs.p, vs.len, b->nvalues, dst);
}

/* Copies to dst the values of src (n values, len bytes) whose type is one
 * of types; returns how many, *dlen gets their length. */
static uint32_t keep_types(const uint8_t *src, size_t len, uint32_t n,
			   const char *const *types, unsigned ntypes,
			   idn_arena_t *a, uint8_t *dst, size_t *dlen)
{
	idn_rd_t rd;
	idn_rd_init(&rd, src, len);
	uint32_t k = 0;
	*dlen = 0;
	for (uint32_t i = 0; i < n && !rd.err; i++) {
		const uint8_t *start = rd.p;
		idn_value_t v;
		idn_value_decode(&rd, a, &v);
		if (rd.err)
			break;
		for (unsigned t = 0; t < ntypes; t++) {
			if (!idn_type_matches(v.type, idn_bytes_str(types[t])))
				continue;
			size_t vl = (size_t)(rd.p - start);
			memcpy(dst + *dlen, start, vl);
			*dlen += vl;
			k++;
			break;
		}
	}
	return k;
}

static const char *const SITE_TYPES[] = {"HS_SITE", "HS_SERV"};

/* A delegation without HS_SITE values names service handles (HS_SERV):
 * their HS_SITE values, resolved from the roots, are the delegation's
 * sites (RFC 3651, 3.2.2). Replaces r->deleg by them. Returns 0, or
 * IDN_ENOTFOUND when no service handle gave a site. */
static int expand_services(idn_resolver_t *r, walk_t *wk)
{
	static const char *const site[] = {"HS_SITE"};
	size_t len;
	if (keep_types(r->deleg, r->deleg_len, r->deleg_n, site, 1, &r->arena,
		       r->tmp, &len) > 0)
		return 0;
	if (r->depth >= 2)
		return IDN_ENOTFOUND; /* a service handle naming another */
	if (r->sub == NULL) {
		if (idn_resolver_new(&r->o, &r->sub) != 0)
			return -ENOMEM;
		r->sub->depth = r->depth + 1;
	}
	/* r->deleg is overwritten below: work from a copy */
	uint8_t *serv = malloc(r->deleg_len);
	if (serv == NULL)
		return -ENOMEM;
	memcpy(serv, r->deleg, r->deleg_len);
	idn_rd_t rd;
	idn_rd_init(&rd, serv, r->deleg_len);
	uint32_t nserv = r->deleg_n;
	r->deleg_len = 0;
	r->deleg_n = 0;
	for (uint32_t i = 0; i < nserv && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, &r->arena, &v);
		idn_ident_t sid;
		if (rd.err ||
		    !idn_type_matches(v.type, idn_bytes_str("HS_SERV")) ||
		    idn_ident_parse(v.data.p, v.data.len, 0, &sid) != 0)
			continue;
		idn_resolution_t sr;
		if (idn_resolve(r->sub, &sid, wk->rcount, &sr, wk->trace,
				wk->ctx) != 0 ||
		    sr.rc != IDN_RC_SUCCESS)
			continue;
		wk->out->queries += sr.queries;
		size_t got;
		r->deleg_n +=
			keep_types(sr.values.p, sr.values.len, sr.nvalues, site,
				   1, &r->arena, r->deleg + r->deleg_len, &got);
		r->deleg_len += got;
	}
	free(serv);
	return r->deleg_n > 0 ? 0 : IDN_ENOTFOUND;
}

/* Follows the delegation now in r->deleg for the prefix p[0..qlen): its
 * service handles are resolved, and it is cached. */
static int enter_level(idn_resolver_t *r, walk_t *wk, const uint8_t *q,
		       size_t qlen, uint32_t ttl)
{
	int err = expand_services(r, wk);
	if (err) {
		char text[IDN_IDENT_MAX + 1];
		memcpy(text, q, qlen);
		text[qlen] = 0;
		fail(wk->out, IDN_RC_SERVER_NOT_RESP,
		     "delegation of %.120s lists no usable site or service",
		     text);
		return err;
	}
	if (r->o.cache) {
		uint8_t key[5 + IDN_IDENT_MAX];
		memcpy(key, "0.NA/", 5);
		memcpy(key + 5, q, qlen);
		idn_cache_put(r->o.cache, key, 5 + qlen, IDN_CACHE_REFERRAL,
			      IDN_RC_PREFIX_REFERRAL, r->deleg_n, r->deleg,
			      r->deleg_len, ttl, idn_now_ms());
	}
	wk->qlen = qlen;
	return 0;
}

/* Resolves the prefix handle 0.NA/<q> at the current level. Returns 1 when
 * it was found (its values, in index order, in dst: *len bytes, *n
 * values, *ttl), 0 when the level says it does not exist (rc 100, or 301
 * from a root), -1 when it could not tell (dst may have been written). */
static int ask_prefix_handle(idn_resolver_t *r, walk_t *wk, const uint8_t *q,
			     size_t qlen, uint8_t *dst, size_t *len,
			     uint32_t *n, uint32_t *ttl)
{
	uint8_t text[5 + IDN_IDENT_MAX];
	memcpy(text, "0.NA/", 5);
	memcpy(text + 5, q, qlen);
	idn_bytes_t t = idn_bytes(text, 5 + qlen);
	if (ask_level(r, wk, t) != 0)
		return -1;
	idn_msg_t m;
	if (idn_msg_decode(r->reply, r->reply_len, &m) != 0)
		return -1;
	if (m.hdr.rc != IDN_RC_SUCCESS) {
		trace_text(wk->trace, wk->ctx, wk->server, t, m.hdr.rc,
			   "prefix handle not there");
		/* a root not responsible for the prefix handle either: no one
		 * is, so the prefix does not exist in this hierarchy */
		bool none =
			m.hdr.rc == IDN_RC_NOT_FOUND ||
			(m.hdr.rc == IDN_RC_SERVER_NOT_RESP && wk->qlen == 0);
		return none ? 0 : -1;
	}
	idn_values_body_t b;
	if (take_values(r, &m, &b, dst, len) != 0)
		return -1;
	*n = b.nvalues;
	*ttl = values_ttl(b.values, b.nvalues);
	trace_text(wk->trace, wk->ctx, wk->server, t, m.hdr.rc,
		   "prefix handle");
	return 1;
}

/* The parent prefix handle in r->tmp (*len bytes, *n values) lists
 * HS_SITE.PREFIX sites, which serve the prefix handles of derived
 * prefixes: asks them for 0.NA/<p>. Returns 1 with its values in r->tmp
 * (*len, *n, *ttl), else 0 with r->tmp unchanged. */
static int derived_prefix(idn_resolver_t *r, walk_t *wk, size_t *len,
			  uint32_t *n, uint32_t *ttl)
{
	uint8_t text[5 + IDN_IDENT_MAX];
	memcpy(text, "0.NA/", 5);
	memcpy(text + 5, wk->p, wk->plen);
	idn_ident_t pid;
	if (idn_ident_parse(text, 5 + wk->plen, 0, &pid) != 0)
		return 0;
	walk_t *sub = malloc(sizeof(*sub));
	if (sub == NULL)
		return 0;
	*sub = *wk;
	sub->nc = site_candidates(r, r->tmp, *len, *n, "HS_SITE.PREFIX", &pid,
				  sub->cands, MAX_CANDIDATES);
	size_t l2;
	uint32_t n2, t2;
	int found = sub->nc > 0 ? ask_prefix_handle(r, sub, wk->p, wk->plen,
						    r->deleg, &l2, &n2, &t2)
				: 0;
	free(sub);
	if (found != 1)
		return 0;
	memcpy(r->tmp, r->deleg, l2);
	*len = l2, *n = n2, *ttl = t2;
	return 1;
}

/* A level answered 301 (not responsible): like a HANDLE.NET client, find
 * the prefix handle 0.NA/<prefix> there, walking up the derived-prefix
 * chain when it is absent (20.500.1, then 20.500), and follow its sites
 * (HS_SITE, or the service handles HS_SERV names). A parent with
 * HS_SITE.PREFIX values is asked at those sites for the derived prefix's
 * handle first. Returns 0 with the new level entered, or 1 with out
 * failed. */
static int global_lookup(idn_resolver_t *r, walk_t *wk)
{
	bool absent = true; /* every prefix handle asked does not exist */
	for (size_t q = wk->plen; q > wk->qlen; q = parent_len(wk->p, q)) {
		size_t len;
		uint32_t n, ttl;
		int found = ask_prefix_handle(r, wk, wk->p, q, r->tmp, &len, &n,
					      &ttl);
		absent = absent && found == 0;
		if (found != 1)
			continue;
		absent = false;
		if (q < wk->plen && derived_prefix(r, wk, &len, &n, &ttl))
			q = wk->plen;
		r->deleg_n = keep_types(r->tmp, len, n, SITE_TYPES, 2,
					&r->arena, r->deleg, &r->deleg_len);
		if (r->deleg_n == 0)
			continue;
		return enter_level(r, wk, wk->p, q, ttl) == 0 ? 0 : 1;
	}
	char text[IDN_IDENT_MAX + 1];
	memcpy(text, wk->p, wk->plen);
	text[wk->plen] = 0;
	/* no prefix handle of the chain exists: nor does the identifier (a
	 * HANDLE.NET client says "service not found") */
	if (absent && r->o.cache)
		idn_cache_put(r->o.cache, wk->id->key, wk->id->key_len,
			      IDN_CACHE_NEGATIVE, IDN_RC_NOT_FOUND, 0, NULL, 0,
			      1, idn_now_ms());
	fail(wk->out, absent ? IDN_RC_NOT_FOUND : IDN_RC_SERVER_NOT_RESP,
	     absent ? "no prefix handle 0.NA/%.120s or of a parent prefix"
		    : "not responsible, and no prefix handle 0.NA/%.120s or "
		      "of a parent prefix names a site",
	     text);
	return 1;
}

/* ---- the walk ---- */

/* Handles the answer in r->reply to the identifier. Returns 1 when the
 * resolution is over (out says how), 0 to go on at the level entered. */
static int on_answer(idn_resolver_t *r, walk_t *wk, bool *global_done)
{
	const idn_ident_t *id = wk->id;
	idn_resolution_t *out = wk->out;
	const char *server = wk->server;
	idn_msg_t m;
	if (idn_msg_decode(r->reply, r->reply_len, &m) != 0 || m.hdr.rc == 0) {
		fail(out, IDN_RC_ERROR, "malformed answer from %.120s", server);
		trace_text(wk->trace, wk->ctx, server, id->text, 0,
			   out->detail);
		return 1;
	}
	uint32_t rc = m.hdr.rc;
	idn_values_body_t b;
	size_t len;
	if (rc == IDN_RC_SUCCESS) {
		if (take_values(r, &m, &b, r->result, &len) != 0) {
			fail(out, IDN_RC_ERROR, "malformed answer from %.120s",
			     server);
			return 1;
		}
		out->rc = rc;
		out->nvalues = b.nvalues;
		out->values = idn_bytes(r->result, len);
		out->ttl = values_ttl(b.values, b.nvalues);
		if (r->o.cache)
			idn_cache_put(r->o.cache, id->key, id->key_len,
				      IDN_CACHE_POSITIVE, rc, b.nvalues,
				      r->result, len, out->ttl, idn_now_ms());
		trace_text(wk->trace, wk->ctx, server, id->text, rc, "answer");
		return 1;
	}
	if (rc == IDN_RC_NOT_FOUND) {
		out->rc = rc;
		if (r->o.cache)
			idn_cache_put(r->o.cache, id->key, id->key_len,
				      IDN_CACHE_NEGATIVE, rc, 0, NULL, 0, 1,
				      idn_now_ms());
		trace_text(wk->trace, wk->ctx, server, id->text, rc,
			   "not found");
		return 1;
	}
	bool is_prefix_handle =
		id->prefix_len == 4 && memcmp(id->key, "0.NA", 4) == 0;
	if (rc == IDN_RC_SERVER_NOT_RESP && !*global_done &&
	    !is_prefix_handle) {
		trace_text(wk->trace, wk->ctx, server, id->text, rc,
			   "not responsible: looking for the prefix handle");
		*global_done = true;
		return global_lookup(r, wk);
	}
	if (rc != IDN_RC_PREFIX_REFERRAL && rc != IDN_RC_SERVICE_REFERRAL) {
		idn_bytes_t text = {NULL, 0};
		idn_error_body_decode(m.rest, &text);
		out->rc = rc;
		snprintf(out->detail, sizeof(out->detail), "%s answered: %.*s",
			 server, (int)(text.len > 150 ? 150 : text.len),
			 text.p ? (const char *)text.p : "");
		trace_text(wk->trace, wk->ctx, server, id->text, rc,
			   out->detail);
		return 1;
	}
	/* a referral: it must name a prefix that covers ours and is more
	 * specific than the delegation we followed */
	uint8_t q[IDN_IDENT_MAX];
	uint32_t ql = 0;
	char qtext[IDN_IDENT_MAX + 1];
	if (take_values(r, &m, &b, r->deleg, &len) != 0 ||
	    idn_prefix_normalise(b.id.p, b.id.len, q, &ql) != 0) {
		fail(out, IDN_RC_ERROR, "malformed referral from %.120s",
		     server);
		trace_text(wk->trace, wk->ctx, server, id->text, rc,
			   out->detail);
		return 1;
	}
	size_t tl = b.id.len > IDN_IDENT_MAX ? IDN_IDENT_MAX : b.id.len;
	memcpy(qtext, b.id.p, tl);
	qtext[tl] = 0;
	if (!covers(q, ql, wk->p, wk->plen) || ql <= wk->qlen) {
		trace_text(wk->trace, wk->ctx, server, id->text, rc, qtext);
		fail(out, IDN_RC_RECURSION_COUNT,
		     "referral loop: referred to %.100s, which is not more "
		     "specific than the delegation followed",
		     qtext);
		return 1;
	}
	char detail[IDN_IDENT_MAX + 32];
	snprintf(detail, sizeof(detail), "referral to %s", qtext);
	trace_text(wk->trace, wk->ctx, server, id->text, rc, detail);
	r->deleg_len = len;
	r->deleg_n = b.nvalues;
	return enter_level(r, wk, q, ql, values_ttl(b.values, b.nvalues)) == 0
		       ? 0
		       : 1;
}

/* Answers from the cache. Returns true when it held the identifier. */
static bool from_cache(idn_resolver_t *r, const idn_ident_t *id,
		       idn_resolution_t *out)
{
	idn_cache_hit_t hit;
	if (r->o.cache == NULL ||
	    idn_cache_get(r->o.cache, id->key, id->key_len, idn_now_ms(),
			  r->result, IDN_MSG_MAX, &hit) != 0 ||
	    hit.kind == IDN_CACHE_REFERRAL)
		return false;
	out->from_cache = true;
	out->ttl = hit.ttl_left;
	if (hit.kind == IDN_CACHE_NEGATIVE) {
		out->rc = IDN_RC_NOT_FOUND;
		return true;
	}
	out->rc = IDN_RC_SUCCESS;
	out->nvalues = hit.nvalues;
	out->values = idn_bytes(r->result, hit.len);
	return true;
}

int idn_resolve(idn_resolver_t *r, const idn_ident_t *id, uint8_t rcount,
		idn_resolution_t *out, idn_trace_fn trace, void *ctx)
{
	memset(out, 0, sizeof(*out));
	idn_arena_reset(&r->arena);
	if (rcount >= r->o.max_referrals) {
		fail(out, IDN_RC_RECURSION_COUNT, "%srecursion count too high",
		     "");
		return 0;
	}
	if (from_cache(r, id, out))
		return 0;
	walk_t *wk = malloc(sizeof(*wk));
	if (wk == NULL)
		return -ENOMEM;
	memset(wk, 0, offsetof(walk_t, cands));
	wk->id = id;
	wk->rcount = rcount;
	wk->out = out;
	wk->trace = trace;
	wk->ctx = ctx;
	/* the prefix whose delegation is followed */
	wk->p = id->key;
	wk->plen = id->prefix_len;
	if (wk->plen == 4 && memcmp(wk->p, "0.NA", 4) == 0) {
		wk->p = id->key + 5;
		wk->plen = id->key_len - 5;
	}
	wk->qlen = cached_start(r, id, idn_now_ms());
	bool global_done = false;
	for (unsigned hop = 0;; hop++) {
		if (hop > r->o.max_referrals) {
			fail(out, IDN_RC_RECURSION_COUNT,
			     "more than %s referrals", "the allowed number of");
			break;
		}
		level_candidates(r, wk);
		char qtext[IDN_IDENT_MAX + 1];
		memcpy(qtext, wk->p, wk->qlen);
		qtext[wk->qlen] = 0;
		if (wk->nc == 0) {
			fail(out, IDN_RC_SERVER_NOT_RESP,
			     "delegation of %.120s lists no usable server",
			     qtext);
			break;
		}
		if (ask_level(r, wk, id->text) != 0) {
			fail(out, IDN_RC_SERVER_NOT_RESP,
			     "no server of %.120s answered",
			     wk->qlen ? qtext : "the root");
			break;
		}
		size_t before = wk->qlen;
		if (on_answer(r, wk, &global_done) != 0)
			break;
		if (wk->qlen != before)
			global_done = false;
	}
	free(wk);
	return 0;
}
