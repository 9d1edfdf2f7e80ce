/* The replication ops' bodies (repl.h). */
#include "repl.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"

int idn_repl_req_decode(idn_bytes_t body, bool with_txn, idn_repl_req_t *out)
{
	idn_rd_t r;
	idn_rd_init(&r, body.p, body.len);
	memset(out, 0, sizeof(*out));
	if (with_txn) {
		const uint8_t *p = idn_rd_raw(&r, 16);
		if (p) {
			out->last_txn = idn_get_u64(p);
			out->last_date = idn_get_u64(p + 8);
		}
	}
	out->hash_type = idn_rd_u8(&r);
	out->nservers = idn_rd_u32(&r);
	out->server_num = idn_rd_u32(&r);
	return idn_rd_finish(&r) ? IDN_EMALFORMED : 0;
}

void idn_repl_req_encode(idn_wr_t *w, bool with_txn, const idn_repl_req_t *in)
{
	if (with_txn) {
		idn_wr_u64(w, in->last_txn);
		idn_wr_u64(w, in->last_date);
	}
	uint8_t t = in->hash_type;
	idn_wr_raw(w, &t, 1);
	idn_wr_u32(w, in->nservers);
	idn_wr_u32(w, in->server_num);
}

void idn_repl_entry_encode(idn_wr_t *w, const idn_change_t *c)
{
	idn_wr_u64(w, c->id);
	idn_wr_u64(w, c->time_ms);
	idn_wr_u32(w, c->op);
	idn_wr_str(w, c->actor);
	idn_wr_str(w, c->name);
	idn_wr_str(w, c->body);
}

int idn_repl_entry_decode(idn_rd_t *r, idn_change_t *c)
{
	const uint8_t *p = idn_rd_raw(r, 16);
	if (p) {
		c->id = idn_get_u64(p);
		c->time_ms = idn_get_u64(p + 8);
	}
	c->op = idn_rd_u32(r);
	c->actor = idn_rd_str(r, 255);
	c->name = idn_rd_str(r, 65536);
	c->body = idn_rd_str(r, IDN_MSG_MAX);
	return r->err;
}

bool idn_repl_in_share(uint32_t op, idn_bytes_t name, uint8_t hash_type,
		       uint32_t nservers, uint32_t server_num)
{
	/* every server of a site homes its prefixes and declares its
	 * types */
	if (nservers <= 1 || op == IDN_CH_INDEX_ADD ||
	    op == IDN_CH_INDEX_REMOVE || op == IDN_CH_HOME ||
	    op == IDN_CH_UNHOME)
		return true;
	const uint8_t *slash = memchr(name.p, '/', name.len);
	idn_bytes_t part = name;
	if (hash_type == IDN_HASH_BY_PREFIX && slash)
		part.len = (size_t)(slash - name.p);
	else if (hash_type == IDN_HASH_BY_SUFFIX && slash) {
		part.p = slash + 1;
		part.len = name.len - (size_t)(slash + 1 - name.p);
	}
	uint8_t *up = malloc(part.len ? part.len : 1);
	if (up == NULL)
		return true;
	for (size_t i = 0; i < part.len; i++)
		up[i] = (uint8_t)toupper(part.p[i]);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int ok = EVP_Digest(up, part.len, md, &mdlen, EVP_md5(), NULL);
	free(up);
	if (!ok)
		return true;
	int32_t v = (int32_t)idn_get_u32(md);
	int64_t m = (int64_t)v % (int64_t)nservers;
	if (m < 0)
		m = -m;
	return (uint32_t)m == server_num;
}
