/* The Handle protocol 2.x wire codec (msg.h). */
#include "msg.h"

#include <errno.h>
#include <time.h>

#include <openssl/evp.h>

/* Lower bound of a message: header, empty body, credential length. */
#define MSG_MIN_LEN (IDN_HDR_LEN + 4)
#define STR_MIN_LEN 4
#define U32_LEN 4

/* A reader over b. An empty view may carry a NULL pointer, which must not
 * reach the cursor's pointer arithmetic. */
/* ---- envelope ---- */

int idn_env_decode(const uint8_t *p, size_t len, idn_env_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len < IDN_ENV_LEN)
		return IDN_EMALFORMED;
	idn_rd_t r;
	idn_rd_init(&r, p, IDN_ENV_LEN);
	out->major = idn_rd_u8(&r);
	out->minor = idn_rd_u8(&r);
	out->flags = idn_rd_u8(&r);
	out->sug_minor = idn_rd_u8(&r);
	out->session_id = idn_rd_u32(&r);
	out->request_id = idn_rd_u32(&r);
	out->seq = idn_rd_u32(&r);
	out->msg_len = idn_rd_u32(&r);
	/* the length first: callers that answer IDN_EVERSION may rely on
	 * msg_len being bounded */
	if (out->msg_len > IDN_MSG_MAX)
		return IDN_ETOOLONG;
	/* as the reference does: 2.0 is read as 2.x, and a newer version
	 * (2.12, 3.0) too, answered in ours (idn_env_answer_version) */
	if (out->major < IDN_PROTO_MAJOR)
		return IDN_EVERSION;
	return 0;
}

void idn_env_answer_version(const idn_env_t *req, uint8_t *major,
			    uint8_t *minor)
{
	bool known =
		req->major == IDN_PROTO_MAJOR && req->minor <= IDN_PROTO_MINOR;
	*major = IDN_PROTO_MAJOR;
	*minor = known ? req->minor : IDN_PROTO_MINOR;
}

void idn_env_encode(uint8_t out[IDN_ENV_LEN], const idn_env_t *e)
{
	out[0] = e->major;
	out[1] = e->minor;
	out[2] = e->flags;
	out[3] = e->sug_minor;
	idn_env_set_session(out, e->session_id);
	idn_env_set_request_id(out, e->request_id);
	idn_put_u32(out + IDN_ENV_OFF_SEQ, e->seq);
	idn_env_set_msg_len(out, e->msg_len);
}

/* ---- message ---- */

/* Length of the digest an algorithm byte announces, 0 if unknown. */
static uint32_t digest_len(uint8_t alg)
{
	switch (alg) {
	case IDN_DIGEST_MD5:
		return 16;
	case IDN_DIGEST_SHA1:
		return 20;
	case IDN_DIGEST_SHA256:
		return 32;
	default:
		return 0;
	}
}

/* Decodes a credential that must fill cred exactly. */
static int cred_decode(idn_bytes_t cred, idn_cred_t *c)
{
	idn_rd_t r;
	idn_rd_init(&r, cred.p, cred.len);
	c->version = idn_rd_u8(&r);
	c->reserved = idn_rd_u8(&r);
	c->options = idn_rd_u16(&r);
	c->signer = idn_rd_str(&r, IDN_IDENT_MAX);
	c->signer_index = idn_rd_u32(&r);
	c->type = idn_rd_str(&r, IDN_TYPE_MAX);
	c->signed_data = idn_rd_str(&r, IDN_MSG_MAX);
	return idn_rd_finish(&r);
}

int idn_msg_decode(const uint8_t *p, size_t len, idn_msg_t *m)
{
	memset(m, 0, sizeof(*m));
	if (len > IDN_MSG_MAX)
		return IDN_ETOOLONG;
	idn_rd_t r;
	idn_rd_init(&r, p, len);
	m->hdr.op = idn_rd_u32(&r);
	m->hdr.rc = idn_rd_u32(&r);
	m->hdr.flags = idn_rd_u32(&r);
	m->hdr.serial = idn_rd_u16(&r);
	m->hdr.rcount = idn_rd_u8(&r);
	m->hdr.reserved = idn_rd_u8(&r);
	m->hdr.expiry = idn_rd_u32(&r);
	uint32_t body_len = idn_rd_u32(&r);
	const uint8_t *body = idn_rd_raw(&r, body_len);
	/* the national client sends its login without a credential length:
	 * there, and only there, none reads as length 0 */
	m->cred_absent =
		idn_rd_left(&r) == 0 && m->hdr.op == IDN_OC_LOGIN && !r.err;
	uint32_t cred_len = m->cred_absent ? 0 : idn_rd_u32(&r);
	const uint8_t *cred = idn_rd_raw(&r, cred_len);
	int err = idn_rd_finish(&r);
	if (err)
		return err;
	m->body = idn_bytes(body, body_len);
	m->rest = m->body;
	m->signed_part = idn_bytes(p, IDN_HDR_LEN + (size_t)body_len);
	if (cred_len > 0) {
		err = cred_decode(idn_bytes(cred, cred_len), &m->cred);
		if (err)
			return err;
		m->has_cred = true;
	}
	if (m->hdr.rc != 0 && (m->hdr.flags & IDN_OF_RETURN_DIGEST)) {
		idn_rd_t b;
		idn_rd_init(&b, body, body_len);
		uint8_t alg = idn_rd_u8(&b);
		uint32_t n = digest_len(alg);
		if (b.err || n == 0)
			return IDN_EMALFORMED;
		const uint8_t *d = idn_rd_raw(&b, n);
		if (d == NULL)
			return IDN_EMALFORMED;
		m->digest_alg = alg;
		m->digest = idn_bytes(d, n);
		m->rest = idn_bytes(b.p, idn_rd_left(&b));
	}
	return 0;
}

idn_msg_mark_t idn_msg_start(idn_wr_t *w, const idn_env_t *env,
			     const idn_hdr_t *h)
{
	idn_msg_mark_t m = {SIZE_MAX, 0};
	if (env != NULL) {
		m.env = w->len;
		uint8_t *p = idn_wr_reserve(w, IDN_ENV_LEN);
		if (p != NULL)
			idn_env_encode(p, env);
	}
	m.hdr = w->len;
	idn_wr_u32(w, h->op);
	idn_wr_u32(w, h->rc);
	idn_wr_u32(w, h->flags);
	idn_wr_u16(w, h->serial);
	idn_wr_u8(w, h->rcount);
	idn_wr_u8(w, h->reserved);
	idn_wr_u32(w, h->expiry);
	idn_wr_u32(w, 0); /* body length, patched by idn_msg_finish */
	return m;
}

void idn_msg_finish(idn_wr_t *w, idn_msg_mark_t m, const idn_cred_t *cred)
{
	if (w->err)
		return;
	size_t body_len = w->len - (m.hdr + IDN_HDR_LEN);
	size_t cred_pos = w->len;
	idn_wr_u32(w, 0);
	if (cred != NULL) {
		idn_wr_u8(w, cred->version);
		idn_wr_u8(w, cred->reserved);
		idn_wr_u16(w, cred->options);
		idn_wr_str(w, cred->signer);
		idn_wr_u32(w, cred->signer_index);
		idn_wr_str(w, cred->type);
		idn_wr_str(w, cred->signed_data);
	}
	if (w->err)
		return;
	size_t msg_len = w->len - m.hdr;
	if (msg_len > IDN_MSG_MAX) {
		w->err = IDN_ETOOLONG;
		return;
	}
	idn_wr_patch_u32(w, cred_pos, (uint32_t)(w->len - cred_pos - 4));
	idn_wr_patch_u32(w, m.hdr + IDN_HDR_OFF_BODY_LEN, (uint32_t)body_len);
	if (m.env != SIZE_MAX)
		idn_wr_patch_u32(w, m.env + IDN_ENV_OFF_MSG_LEN,
				 (uint32_t)msg_len);
}

void idn_msg_request(idn_wr_t *w, uint32_t op, uint32_t flags, uint32_t ttl,
		     const uint8_t *body, size_t blen)
{
	idn_hdr_t h = {0};
	h.op = op;
	h.flags = flags;
	h.serial = 0xffff;
	h.expiry = (uint32_t)time(NULL) + ttl;
	idn_msg_mark_t mk = idn_msg_start(w, NULL, &h);
	idn_wr_raw(w, body, blen);
	idn_msg_finish(w, mk, NULL);
}

int idn_digest(uint8_t alg, const uint8_t *p, size_t len, uint8_t *out,
	       uint32_t *out_len)
{
	const EVP_MD *md;
	switch (alg) {
	case IDN_DIGEST_MD5:
		md = EVP_md5();
		break;
	case IDN_DIGEST_SHA1:
		md = EVP_sha1();
		break;
	case IDN_DIGEST_SHA256:
		md = EVP_sha256();
		break;
	default:
		return IDN_EINVAL;
	}
	unsigned int n = 0;
	/* EVP_Digest only fails when it cannot allocate its context. */
	if (EVP_Digest(p, len, out, &n, md, NULL) != 1)
		return -ENOMEM;
	*out_len = n;
	return 0;
}

void idn_digest_encode(idn_wr_t *w, uint8_t alg, idn_bytes_t digest)
{
	idn_wr_u8(w, alg);
	idn_wr_raw(w, digest.p, digest.len);
}

/* ---- bodies ---- */

/* Reads "u32 count + u32 items" into an arena array. */
static void rd_u32_list(idn_rd_t *r, idn_arena_t *a, uint32_t max,
			uint32_t **out, uint32_t *n)
{
	*out = NULL;
	*n = 0;
	uint32_t count = idn_rd_count(r, max, U32_LEN);
	if (r->err || count == 0)
		return;
	uint32_t *v = idn_arena_array(a, count, sizeof(*v));
	if (v == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < count; i++)
		v[i] = idn_rd_u32(r);
	*out = v;
	*n = count;
}

/* Reads "u32 count + strings" into an arena array. */
static void rd_str_list(idn_rd_t *r, idn_arena_t *a, uint32_t max,
			uint32_t item_max, idn_bytes_t **out, uint32_t *n)
{
	*out = NULL;
	*n = 0;
	uint32_t count = idn_rd_count(r, max, STR_MIN_LEN);
	if (r->err || count == 0)
		return;
	idn_bytes_t *v = idn_arena_array(a, count, sizeof(*v));
	if (v == NULL) {
		idn_rd_fail(r, -ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < count; i++)
		v[i] = idn_rd_str(r, item_max);
	*out = v;
	*n = count;
}

static void wr_u32_list(idn_wr_t *w, const uint32_t *v, uint32_t n)
{
	idn_wr_u32(w, n);
	for (uint32_t i = 0; i < n; i++)
		idn_wr_u32(w, v[i]);
}

static void wr_str_list(idn_wr_t *w, const idn_bytes_t *v, uint32_t n)
{
	idn_wr_u32(w, n);
	for (uint32_t i = 0; i < n; i++)
		idn_wr_str(w, v[i]);
}

int idn_resolve_req_decode(idn_bytes_t body, idn_arena_t *a,
			   idn_resolve_req_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	memset(out, 0, sizeof(*out));
	out->id = idn_rd_str(&r, IDN_IDENT_MAX);
	rd_u32_list(&r, a, IDN_VALUES_MAX, &out->indexes, &out->nindexes);
	rd_str_list(&r, a, IDN_VALUES_MAX, IDN_TYPE_MAX, &out->types,
		    &out->ntypes);
	if (!r.err && idn_rd_left(&r) > 0) {
		out->token = idn_rd_str(&r, IDN_RESOLVE_TOKEN_MAX);
		out->has_token = true;
	}
	return idn_rd_finish(&r);
}

void idn_resolve_req_encode(idn_wr_t *w, const idn_resolve_req_t *in)
{
	idn_wr_str(w, in->id);
	wr_u32_list(w, in->indexes, in->nindexes);
	wr_str_list(w, in->types, in->ntypes);
	if (in->has_token || in->token.len > 0)
		idn_wr_str(w, in->token);
}

int idn_login_req_decode(idn_bytes_t body, idn_login_req_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	out->admin = idn_rd_str(&r, IDN_IDENT_MAX);
	out->index = idn_rd_u32(&r);
	return idn_rd_finish(&r);
}

void idn_login_req_encode(idn_wr_t *w, const idn_login_req_t *in)
{
	idn_wr_str(w, in->admin);
	idn_wr_u32(w, in->index);
}

int idn_values_body_decode(idn_bytes_t body, idn_arena_t *a,
			   idn_values_body_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	memset(out, 0, sizeof(*out));
	out->id = idn_rd_str(&r, IDN_IDENT_MAX);
	if (!r.err)
		idn_values_decode(&r, a, &out->values, &out->nvalues);
	return idn_rd_finish(&r);
}

void idn_values_body_encode(idn_wr_t *w, const idn_values_body_t *in)
{
	idn_wr_str(w, in->id);
	idn_wr_u32(w, in->nvalues);
	for (uint32_t i = 0; i < in->nvalues; i++)
		idn_value_encode(w, &in->values[i]);
}

int idn_remove_req_decode(idn_bytes_t body, idn_arena_t *a,
			  idn_remove_req_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	memset(out, 0, sizeof(*out));
	out->id = idn_rd_str(&r, IDN_IDENT_MAX);
	rd_u32_list(&r, a, IDN_VALUES_MAX, &out->indexes, &out->nindexes);
	return idn_rd_finish(&r);
}

void idn_remove_req_encode(idn_wr_t *w, const idn_remove_req_t *in)
{
	idn_wr_str(w, in->id);
	wr_u32_list(w, in->indexes, in->nindexes);
}

int idn_id_body_decode(idn_bytes_t body, idn_bytes_t *id)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	*id = idn_rd_str(&r, IDN_IDENT_MAX);
	return idn_rd_finish(&r);
}

void idn_id_body_encode(idn_wr_t *w, idn_bytes_t id)
{
	idn_wr_str(w, id);
}

int idn_list_body_decode(idn_bytes_t body, idn_arena_t *a, idn_list_body_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	/* The count is bounded by the bytes present (4 per identifier). */
	rd_str_list(&r, a, UINT32_MAX, IDN_IDENT_MAX, &out->ids, &out->n);
	return idn_rd_finish(&r);
}

void idn_list_body_encode(idn_wr_t *w, const idn_list_body_t *in)
{
	wr_str_list(w, in->ids, in->n);
}

int idn_error_body_decode(idn_bytes_t body, idn_bytes_t *text)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	*text = idn_rd_str(&r, IDN_MSG_MAX);
	return idn_rd_finish(&r);
}

void idn_error_body_encode(idn_wr_t *w, idn_bytes_t text)
{
	idn_wr_str(w, text);
}

int idn_challenge_decode(idn_bytes_t rest, idn_bytes_t *nonce)
{
	idn_rd_t r;
	idn_rd_init(&r, rest.p, rest.len);
	*nonce = idn_rd_str(&r, IDN_MSG_MAX);
	return idn_rd_finish(&r);
}

void idn_challenge_encode(idn_wr_t *w, idn_bytes_t nonce)
{
	idn_wr_str(w, nonce);
}

int idn_challenge_answer_decode(idn_bytes_t body, idn_challenge_answer_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	out->auth_type = idn_rd_str(&r, IDN_TYPE_MAX);
	out->admin = idn_rd_str(&r, IDN_IDENT_MAX);
	out->index = idn_rd_u32(&r);
	out->sig = idn_rd_str(&r, IDN_MSG_MAX);
	return idn_rd_finish(&r);
}

void idn_challenge_answer_encode(idn_wr_t *w, const idn_challenge_answer_t *in)
{
	idn_wr_str(w, in->auth_type);
	idn_wr_str(w, in->admin);
	idn_wr_u32(w, in->index);
	idn_wr_str(w, in->sig);
}

int idn_sig_decode(idn_bytes_t data, idn_bytes_t *hash, idn_bytes_t *sig)
{
	idn_rd_t r;
	idn_rd_init(&r, data.p, data.len);
	*hash = idn_rd_str(&r, IDN_TYPE_MAX);
	*sig = idn_rd_str(&r, IDN_MSG_MAX);
	return idn_rd_finish(&r);
}

void idn_sig_encode(idn_wr_t *w, idn_bytes_t hash, idn_bytes_t sig)
{
	idn_wr_str(w, hash);
	idn_wr_str(w, sig);
}

/* Whatever remains in r, taken verbatim. */
static idn_bytes_t rd_tail(idn_rd_t *r)
{
	size_t n = r->err ? 0 : idn_rd_left(r);
	idn_bytes_t b = idn_bytes(r->p, n);
	if (n > 0)
		r->p += n;
	return b;
}

int idn_session_req_decode(idn_bytes_t body, idn_session_req_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	out->mode = idn_rd_u16(&r);
	out->timeout = idn_rd_u32(&r);
	out->identity = idn_rd_str(&r, IDN_IDENT_MAX);
	out->index = idn_rd_u32(&r);
	out->key = idn_bytes(NULL, 0);
	out->key_index = 0;
	if (out->mode == 1 || out->mode == 3 || out->mode == 4)
		out->key = idn_rd_str(&r, IDN_MSG_MAX);
	if (out->mode == 3)
		out->key_index = idn_rd_u32(&r);
	out->tail = rd_tail(&r);
	return idn_rd_finish(&r);
}

void idn_session_req_encode(idn_wr_t *w, const idn_session_req_t *in)
{
	idn_wr_u16(w, in->mode);
	idn_wr_u32(w, in->timeout);
	idn_wr_str(w, in->identity);
	idn_wr_u32(w, in->index);
	if (in->mode == 1 || in->mode == 3 || in->mode == 4)
		idn_wr_str(w, in->key);
	if (in->mode == 3)
		idn_wr_u32(w, in->key_index);
	idn_wr_raw(w, in->tail.p, in->tail.len);
}

int idn_session_resp_decode(idn_bytes_t rest, idn_session_resp_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, rest.p, rest.len);
	out->mode = idn_rd_u16(&r);
	out->key = idn_rd_str(&r, IDN_MSG_MAX);
	out->tail = rd_tail(&r);
	return idn_rd_finish(&r);
}

void idn_session_resp_encode(idn_wr_t *w, const idn_session_resp_t *in)
{
	idn_wr_u16(w, in->mode);
	idn_wr_str(w, in->key);
	idn_wr_raw(w, in->tail.p, in->tail.len);
}

/* ---- UDP ---- */

size_t idn_udp_frag_count(size_t msg_len)
{
	if (msg_len == 0)
		return 1;
	return (msg_len + IDN_UDP_PAYLOAD - 1) / IDN_UDP_PAYLOAD;
}

/* Bytes of message that datagram i of a msg_len-byte message carries. */
static size_t frag_payload(size_t msg_len, size_t i)
{
	size_t off = i * IDN_UDP_PAYLOAD;
	if (off >= msg_len)
		return 0;
	size_t n = msg_len - off;
	return n < IDN_UDP_PAYLOAD ? n : IDN_UDP_PAYLOAD;
}

size_t idn_udp_frag(const idn_env_t *env, const uint8_t *msg, size_t msg_len,
		    size_t i, uint8_t *out)
{
	if (i >= idn_udp_frag_count(msg_len))
		return 0;
	idn_env_t e = *env;
	e.seq = (uint32_t)i;
	e.msg_len = (uint32_t)msg_len;
	idn_env_encode(out, &e);
	size_t n = frag_payload(msg_len, i);
	if (n > 0)
		memcpy(out + IDN_ENV_LEN, msg + i * IDN_UDP_PAYLOAD, n);
	return IDN_ENV_LEN + n;
}

void idn_reasm_init(idn_reasm_t *r, uint8_t *buf)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
}

int idn_reasm_add(idn_reasm_t *r, const uint8_t *dgram, size_t len)
{
	idn_env_t e;
	int err = idn_env_decode(dgram, len, &e);
	if (err)
		return err;
	if (e.msg_len < MSG_MIN_LEN)
		return IDN_EMALFORMED;
	size_t nfrags = idn_udp_frag_count(e.msg_len);
	if (e.seq >= nfrags)
		return IDN_EMALFORMED;
	if (len - IDN_ENV_LEN != frag_payload(e.msg_len, e.seq))
		return IDN_EMALFORMED;
	if (r->started &&
	    (e.request_id != r->env.request_id ||
	     e.session_id != r->env.session_id || e.msg_len != r->env.msg_len))
		return IDN_EMALFORMED;
	if (!r->started) {
		r->env = e;
		r->nfrags = (uint32_t)nfrags;
		r->got = 0;
		r->started = true;
	}
	uint8_t bit = (uint8_t)(1u << (e.seq % 8));
	if (r->seen[e.seq / 8] & bit)
		return r->got == r->nfrags ? 1 : 0;
	memcpy(r->buf + (size_t)e.seq * IDN_UDP_PAYLOAD, dgram + IDN_ENV_LEN,
	       len - IDN_ENV_LEN);
	r->seen[e.seq / 8] |= bit;
	r->got++;
	return r->got == r->nfrags ? 1 : 0;
}
