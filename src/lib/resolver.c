#include "resolver.h"

#include <arpa/inet.h>
#include <errno.h>
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
	if (!r->req || !r->reply || !r->result || !r->deleg) {
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

/* Candidates of a delegation, in the order to try them: for each site, the
 * hashed server first, then the others of that site. */
static unsigned deleg_candidates(idn_resolver_t *r, const idn_ident_t *id,
				 cand_t *c, unsigned max)
{
	idn_rd_t rd;
	unsigned n = 0;
	idn_rd_init(&rd, r->deleg, r->deleg_len);
	for (uint32_t i = 0; i < r->deleg_n && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, &r->arena, &v);
		idn_hs_site_t site;
		if (rd.err ||
		    !idn_type_matches(v.type, idn_bytes_str("HS_SITE")) ||
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

/* Sends the resolution request for id to one server, over UDP, or TCP when
 * the server has no UDP interface or the UDP answer was truncated. On
 * success r->reply holds the answer. */
static int query(idn_resolver_t *r, const cand_t *c, const idn_ident_t *id,
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
	idn_resolve_req_t q = {id->text, 0, NULL, 0, NULL};
	idn_resolve_req_encode(&w, &q);
	idn_msg_finish(&w, mk, NULL);
	if (w.err)
		return w.err;
	int err = IDN_ENOTFOUND;
	if (c->udp[0]) {
		err = ask(r, IDN_NET_UDP, c->udp, w.len);
		if (err == 0 && !r->truncated)
			return 0;
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

static void trace_to(idn_trace_fn trace, void *ctx, const char *server,
		     const idn_ident_t *id, uint32_t rc, const char *detail)
{
	if (trace == NULL)
		return;
	char ident[IDN_IDENT_MAX + 1];
	memcpy(ident, id->text.p, id->text.len);
	ident[id->text.len] = 0;
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
		qlen = id->key_len - 5;
		while (qlen > 0 && q[qlen - 1] != '.')
			qlen--;
		if (qlen > 0)
			qlen--;
	}
	while (qlen > 0) {
		memcpy(key + 5, q, qlen);
		idn_cache_hit_t hit;
		if (idn_cache_get(r->o.cache, key, 5 + qlen, now, r->deleg,
				  IDN_MSG_MAX, &hit) == 0 &&
		    hit.kind == IDN_CACHE_REFERRAL) {
			r->deleg_len = hit.len;
			r->deleg_n = hit.nvalues;
			return qlen;
		}
		while (qlen > 0 && q[qlen - 1] != '.')
			qlen--;
		if (qlen > 0)
			qlen--;
	}
	return 0;
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
	uint64_t now = idn_now_ms();
	idn_cache_hit_t hit;
	if (r->o.cache &&
	    idn_cache_get(r->o.cache, id->key, id->key_len, now, r->result,
			  IDN_MSG_MAX, &hit) == 0 &&
	    hit.kind != IDN_CACHE_REFERRAL) {
		out->from_cache = true;
		out->ttl = hit.ttl_left;
		if (hit.kind == IDN_CACHE_NEGATIVE) {
			out->rc = IDN_RC_NOT_FOUND;
			return 0;
		}
		out->rc = IDN_RC_SUCCESS;
		out->nvalues = hit.nvalues;
		out->values = idn_bytes(r->result, hit.len);
		return 0;
	}
	/* the prefix whose delegation is being followed (0: the roots) */
	const uint8_t *p = id->key;
	size_t plen = id->prefix_len;
	if (plen == 4 && memcmp(p, "0.NA", 4) == 0) {
		p = id->key + 5;
		plen = id->key_len - 5;
	}
	size_t qlen = cached_start(r, id, now);
	bool have_deleg = qlen > 0;
	char qtext[IDN_IDENT_MAX + 1];
	for (unsigned hop = 0;; hop++) {
		if (hop > r->o.max_referrals) {
			fail(out, IDN_RC_RECURSION_COUNT,
			     "more than %s referrals", "the allowed number of");
			return 0;
		}
		cand_t cands[MAX_CANDIDATES];
		unsigned nc = 0;
		if (have_deleg) {
			nc = deleg_candidates(r, id, cands, MAX_CANDIDATES);
			if (nc == 0) {
				memcpy(qtext, p, qlen);
				qtext[qlen] = 0;
				fail(out, IDN_RC_SERVER_NOT_RESP,
				     "delegation of %.120s lists no usable server",
				     qtext);
				return 0;
			}
		} else {
			for (unsigned i = 0;
			     i < r->o.nroots && nc < MAX_CANDIDATES; i++) {
				/* snprintf writes the candidate; cppcheck
				 * reads sizeof as a use */
				/* cppcheck-suppress legacyUninitvar */
				snprintf(cands[nc].udp, sizeof(cands[nc].udp),
					 "%s", r->o.roots[i]);
				snprintf(cands[nc].tcp, sizeof(cands[nc].tcp),
					 "%s", r->o.roots[i]);
				nc++;
			}
		}
		int err = IDN_ETIMEOUT;
		const cand_t *used = NULL;
		for (unsigned i = 0; i < nc; i++) {
			out->queries++;
			err = query(r, &cands[i], id, (uint8_t)(rcount + 1));
			used = &cands[i];
			if (err == 0)
				break;
			trace_to(trace, ctx,
				 used->udp[0] ? used->udp : used->tcp, id, 0,
				 idn_strerror(err));
		}
		const char *server = used && used->udp[0] ? used->udp
				     : used		  ? used->tcp
							  : "";
		if (err) {
			if (have_deleg) {
				memcpy(qtext, p, qlen);
				qtext[qlen] = 0;
			} else {
				strcpy(qtext, "the root");
			}
			fail(out, IDN_RC_SERVER_NOT_RESP,
			     "no server of %.120s answered", qtext);
			return 0;
		}
		idn_msg_t m;
		if (idn_msg_decode(r->reply, r->reply_len, &m) != 0 ||
		    m.hdr.rc == 0) {
			fail(out, IDN_RC_ERROR, "malformed answer from %.120s",
			     server);
			trace_to(trace, ctx, server, id, 0, out->detail);
			return 0;
		}
		uint32_t rc = m.hdr.rc;
		if (rc == IDN_RC_SUCCESS) {
			idn_values_body_t b;
			if (idn_values_body_decode(m.rest, &r->arena, &b) !=
			    0) {
				fail(out, IDN_RC_ERROR,
				     "malformed answer from %.120s", server);
				return 0;
			}
			idn_bytes_t vs = values_section(m.rest, &b);
			memcpy(r->result, vs.p, vs.len);
			out->rc = rc;
			out->nvalues = b.nvalues;
			out->values = idn_bytes(r->result, vs.len);
			out->ttl = values_ttl(b.values, b.nvalues);
			if (r->o.cache)
				idn_cache_put(r->o.cache, id->key, id->key_len,
					      IDN_CACHE_POSITIVE, rc, b.nvalues,
					      vs.p, vs.len, out->ttl,
					      idn_now_ms());
			trace_to(trace, ctx, server, id, rc, "answer");
			return 0;
		}
		if (rc == IDN_RC_NOT_FOUND) {
			out->rc = rc;
			if (r->o.cache)
				idn_cache_put(r->o.cache, id->key, id->key_len,
					      IDN_CACHE_NEGATIVE, rc, 0, NULL,
					      0, 1, idn_now_ms());
			trace_to(trace, ctx, server, id, rc, "not found");
			return 0;
		}
		if (rc != IDN_RC_PREFIX_REFERRAL &&
		    rc != IDN_RC_SERVICE_REFERRAL) {
			idn_bytes_t text = {NULL, 0};
			idn_error_body_decode(m.rest, &text);
			out->rc = rc;
			snprintf(out->detail, sizeof(out->detail),
				 "%s answered: %.*s", server,
				 (int)(text.len > 150 ? 150 : text.len),
				 text.p ? (const char *)text.p : "");
			trace_to(trace, ctx, server, id, rc, out->detail);
			return 0;
		}
		/* a referral: it must name a prefix that covers ours and is
		 * more specific than the delegation we followed */
		idn_values_body_t b;
		uint8_t q[IDN_IDENT_MAX];
		uint32_t ql = 0;
		if (idn_values_body_decode(m.rest, &r->arena, &b) != 0 ||
		    idn_prefix_normalise(b.id.p, b.id.len, q, &ql) != 0) {
			fail(out, IDN_RC_ERROR,
			     "malformed referral from %.120s", server);
			trace_to(trace, ctx, server, id, rc, out->detail);
			return 0;
		}
		memcpy(qtext, b.id.p,
		       b.id.len > IDN_IDENT_MAX ? IDN_IDENT_MAX : b.id.len);
		qtext[b.id.len > IDN_IDENT_MAX ? IDN_IDENT_MAX : b.id.len] = 0;
		if (!covers(q, ql, p, plen) || ql <= qlen) {
			trace_to(trace, ctx, server, id, rc, qtext);
			fail(out, IDN_RC_RECURSION_COUNT,
			     "referral loop: referred to %.100s, which is not more "
			     "specific than the delegation followed",
			     qtext);
			return 0;
		}
		char detail[IDN_IDENT_MAX + 32];
		snprintf(detail, sizeof(detail), "referral to %s", qtext);
		trace_to(trace, ctx, server, id, rc, detail);
		idn_bytes_t vs = values_section(m.rest, &b);
		memcpy(r->deleg, vs.p, vs.len);
		r->deleg_len = vs.len;
		r->deleg_n = b.nvalues;
		if (r->o.cache) {
			uint8_t key[5 + IDN_IDENT_MAX];
			memcpy(key, "0.NA/", 5);
			memcpy(key + 5, q, ql);
			idn_cache_put(r->o.cache, key, 5 + ql,
				      IDN_CACHE_REFERRAL, rc, b.nvalues, vs.p,
				      vs.len, values_ttl(b.values, b.nvalues),
				      idn_now_ms());
		}
		qlen = ql;
		have_deleg = true;
	}
}
