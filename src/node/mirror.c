/* The mirror role (mirror.h; wire layouts in repl.h). Each source has a
 * thread and one TCP connection. Every request is challenged by the
 * source and answered with the replication admin's key (op 200 on the
 * same connection). The position is the id of the next change to apply,
 * kept in the store's meta ("src:HOST:PORT") and written in the write
 * transaction of the changes it covers. */
#include "mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "auth.h"
#include "changes.h"
#include "error.h"
#include "io.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "opcode.h"
#include "repl.h"
#include "repl_cnri.h"
#include "search.h"
#include "seckey.h"

#define MIRROR_SOURCES_MAX 8
/* longer than the source holds a request (repl_ops.c: 25 s) */
#define CALL_TIMEOUT_MS 40000
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

typedef struct {
	char where[128];
	pthread_t th;
	bool started;
	/* guarded by M.mu */
	char state[16];
	char reason[512];
	uint64_t next;	      /* the next source id to apply */
	uint64_t source_next; /* the source's next id, last seen */
	uint64_t lag_ms;      /* commit on the source to applied here */
	uint64_t applied;     /* changes applied since start */
	uint32_t dumps;
	int fd; /* of the connection in use, -1: none */
	/* the source speaks only HANDLE.NET's replication (1001/1002
	 * streams): found when it refuses 1110 or 1109 as an unknown op */
	bool cnri;
	uint64_t cnri_date; /* the last stream's date, asked with */
	/* a repair's hold (mirror_hold): no change with an id from here on
	 * is applied; 0: none */
	uint64_t hold;
} msrc_t;

static struct {
	const node_conf_t *conf;
	idn_store_t *store;
	int n;
	msrc_t src[MIRROR_SOURCES_MAX];
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* the credential */
	EVP_PKEY *key;
	uint8_t secret[1024];
	size_t secret_len;
	char admin[256];
	uint32_t index;
	idn_repl_req_t share;
	unsigned id_flags;
	bool cnri;	   /* replication-protocol handle.net */
	bool no_switch;	   /* replication-protocol idnode */
	EVP_PKEY *src_key; /* checks HANDLE.NET streams, or NULL */
	/* a repair's fetch (guarded by mu): its connection, ended by
	 * mirror_repair_cancel */
	msrc_t *repair;
	bool repair_cancel;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_state(msrc_t *s, const char *state, const char *reason)
{
	pthread_mutex_lock(&M.mu);
	snprintf(s->state, sizeof(s->state), "%s", state);
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
	pthread_mutex_unlock(&M.mu);
}

/* ---- the credential ---- */

static int load_cred(const node_conf_t *c)
{
	const char *colon = strrchr(c->repl_auth, ':');
	char *end;
	unsigned long idx = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == c->repl_auth || *end ||
	    end == colon + 1 || idx > UINT32_MAX) {
		log_error("replication-auth wants ADMIN_ID:INDEX, e.g. "
			  "0.NA/88.118:300");
		return -1;
	}
	snprintf(M.admin, sizeof(M.admin), "%.*s", (int)(colon - c->repl_auth),
		 c->repl_auth);
	M.index = (uint32_t)idx;
	if ((c->repl_key[0] != 0) == (c->repl_secret[0] != 0)) {
		log_error("a mirror needs replication-key or "
			  "replication-secret (one of them)");
		return -1;
	}
	if (c->repl_secret[0]) {
		int fd = open(c->repl_secret, O_RDONLY | O_CLOEXEC);
		struct stat st;
		ssize_t n = -1;
		if (fd >= 0 && fstat(fd, &st) == 0 && !(st.st_mode & 077))
			n = read(fd, M.secret, sizeof(M.secret) - 1);
		if (fd >= 0)
			close(fd);
		while (n > 0 &&
		       (M.secret[n - 1] == '\n' || M.secret[n - 1] == '\r'))
			n--;
		if (n <= 0) {
			log_error("replication-secret %s: cannot read it, or "
				  "others may (chmod 600 it)",
				  c->repl_secret);
			return -1;
		}
		M.secret_len = (size_t)n;
		return 0;
	}
	FILE *f = fopen(c->repl_key, "r");
	M.key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (M.key == NULL) {
		log_error("replication-key %s: not a readable unencrypted PEM "
			  "private key",
			  c->repl_key);
		return -1;
	}
	return 0;
}

/* The source's public key, as HS_PUBKEY data in a file. */
static int load_source_key(const node_conf_t *c)
{
	uint8_t buf[8192];
	FILE *f = fopen(c->repl_source_key, "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	if (n == 0 || n == sizeof(buf) ||
	    idn_pubkey_load(idn_bytes(buf, n), &M.src_key) != 0) {
		log_error("replication-source-key %s: not HS_PUBKEY data",
			  c->repl_source_key);
		return -1;
	}
	return 0;
}

/* The body of op 200 answering nonce for the request of digest. */
static int answer_encode(idn_bytes_t nonce, idn_bytes_t digest, idn_wr_t *w)
{
	uint8_t sbuf[1100];
	idn_wr_t sw;
	idn_wr_init(&sw, sbuf, sizeof(sbuf));
	int err;
	if (M.key == NULL) {
		err = idn_seckey_answer(IDN_MAC_HMAC_SHA256,
					idn_bytes(M.secret, M.secret_len),
					nonce, digest, &sw);
	} else {
		/* DSA keys sign with SHA1, as HANDLE.NET's own clients do (a
		 * 7.3.1 server refuses SHA256withDSA) */
		const char *hash = EVP_PKEY_base_id(M.key) == EVP_PKEY_DSA
					   ? "SHA1"
					   : idn_sig_hash_for(M.key);
		err = idn_answer_sign(M.key, hash, nonce, digest, &sw);
	}
	if (err == 0)
		err = sw.err;
	if (err == 0) {
		idn_challenge_answer_t ans = {
			idn_bytes_str(M.key ? "HS_PUBKEY" : "HS_SECKEY"),
			idn_bytes_str(M.admin), M.index,
			idn_bytes(sbuf, sw.len)};
		idn_challenge_answer_encode(w, &ans);
		err = w->err;
	}
	OPENSSL_cleanse(sbuf, sizeof(sbuf));
	return err;
}

/* ---- one authenticated call ---- */

typedef int (*msg_fn)(void *ctx, const idn_msg_t *m);

typedef struct {
	msg_fn fn;
	void *ctx;
	int err;     /* from fn, or a decode error */
	uint32_t rc; /* of the last message */
	uint32_t op; /* of the last message (HANDLE.NET: 0 for an unknown op) */
	char text[200];
	bool challenged;
	uint8_t nonce[64], digest[64];
	size_t nonce_len, digest_len;
	uint32_t session;
} call_t;

static int on_msg(void *vctx, const idn_env_t *env, const uint8_t *msg,
		  size_t len)
{
	call_t *c = vctx;
	idn_msg_t m;
	if (idn_msg_decode(msg, len, &m) != 0) {
		c->err = IDN_EPROTO;
		return 1;
	}
	c->rc = m.hdr.rc;
	c->op = m.hdr.op;
	idn_bytes_t nonce;
	if (m.hdr.rc == IDN_RC_AUTH_NEEDED && m.digest.len <= 64 &&
	    idn_challenge_decode(m.rest, &nonce) == 0 && nonce.len <= 64) {
		memcpy(c->nonce, nonce.p, nonce.len);
		memcpy(c->digest, m.digest.p, m.digest.len);
		c->nonce_len = nonce.len;
		c->digest_len = m.digest.len;
		c->session = env->session_id;
		c->challenged = true;
		return 1;
	}
	if (m.hdr.rc != IDN_RC_SUCCESS) {
		idn_bytes_t t = {NULL, 0};
		idn_error_body_decode(m.rest, &t);
		snprintf(c->text, sizeof(c->text), "rc %u%s%.*s",
			 (unsigned)m.hdr.rc, t.len ? ": " : "",
			 (int)(t.len > 150 ? 150 : t.len),
			 t.p ? (const char *)t.p : "");
		return 1;
	}
	if (c->fn && (c->err = c->fn(c->ctx, &m)) != 0)
		return 1;
	return 0;
}

/* A HANDLE.NET server answers one request per connection: a new one for
 * each (also for a challenge's answer). */
static int reopen(msrc_t *s, idn_client_t **clp)
{
	idn_client_close(*clp);
	*clp = NULL;
	int err = idn_client_open(IDN_NET_TCP, s->where, CALL_TIMEOUT_MS, clp);
	pthread_mutex_lock(&M.mu);
	s->fd = err ? -1 : idn_client_fd(*clp);
	pthread_mutex_unlock(&M.mu);
	return err;
}

/* Sends op with body over *clp, answers the source's challenge, and
 * hands every message of the reply to fn. Returns 0 (c->rc and c->text
 * tell a refusal) or a transport error. */
static int call(msrc_t *s, idn_client_t **clp, uint32_t op, const uint8_t *body,
		size_t blen, call_t *c)
{
	static _Thread_local uint8_t buf[8192];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_msg_request(&w, op, 0, 3600, body, blen);
	if (w.err)
		return w.err;
	if (s->cnri && reopen(s, clp) != 0)
		return -ECONNREFUSED;
	idn_client_t *cl = *clp;
	idn_client_set_session(cl, 0);
	int err = idn_client_call(cl, w.buf, w.len, on_msg, c);
	if (err || !c->challenged)
		return err ? err : c->err;
	uint8_t abuf[4096];
	idn_wr_t aw;
	idn_wr_init(&aw, abuf, sizeof(abuf));
	err = answer_encode(idn_bytes(c->nonce, c->nonce_len),
			    idn_bytes(c->digest, c->digest_len), &aw);
	if (err)
		return err;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_msg_request(&w, IDN_OC_CHALLENGE_ANSWER, 0, 3600, aw.buf, aw.len);
	if (w.err)
		return w.err;
	if (s->cnri && reopen(s, clp) != 0)
		return -ECONNREFUSED;
	cl = *clp;
	c->challenged = false;
	idn_client_set_session(cl, c->session);
	err = idn_client_call(cl, w.buf, w.len, on_msg, c);
	idn_client_set_session(cl, 0);
	if (err == 0 && c->challenged) {
		snprintf(c->text, sizeof(c->text), "challenged again");
		c->rc = IDN_RC_AUTH_FAILED;
	}
	return err ? err : c->err;
}

/* ---- applying ---- */

static void meta_key(const msrc_t *s, char *key, size_t cap)
{
	snprintf(key, cap, "src:%s", s->where);
}

/* The position kept for s: u64 the next source id, then, for a
 * HANDLE.NET source, u64 the date of the last stream read (what its
 * primary is asked with; without it a restarted mirror would be sent a
 * whole new copy). *date gets that date, 0 for an idnode source. */
static int load_position(msrc_t *s, uint64_t *next, uint64_t *date)
{
	idn_rtxn_t *t;
	int err = idn_rtxn_begin(M.store, &t);
	if (err)
		return err;
	char key[160];
	meta_key(s, key, sizeof(key));
	uint8_t v[16];
	size_t len = 0;
	err = idn_store_meta_get(t, key, v, sizeof(v), &len);
	idn_rtxn_free(t);
	if (err == 0 && len != 8 && len != 16)
		err = IDN_ECORRUPT;
	if (err == 0) {
		*next = idn_get_u64(v);
		*date = len == 16 ? idn_get_u64(v + 8) : 0;
	}
	return err;
}

static int save_position(msrc_t *s, idn_wtxn_t *t, uint64_t next)
{
	char key[160];
	meta_key(s, key, sizeof(key));
	uint8_t v[16];
	idn_put_u64(v, next);
	idn_put_u64(v + 8, s->cnri_date);
	return idn_wtxn_meta_put(t, key, v, s->cnri ? 16 : 8);
}

typedef struct {
	msrc_t *s;
	/* the connection: HANDLE.NET's streams follow the message */
	idn_client_t **clp;
	idn_wtxn_t *t;
	idn_arena_t arena;
	uint64_t next, upto, source_next, newest_ms;
	uint32_t status, n;
	int err;
	char why[200];
	/* a repair's fetch: each entry goes to take instead of the store */
	mirror_take_fn take;
	void *take_ctx;
	uint64_t from, hold; /* the position asked from; s->hold */
} apply_t;

/* Replays the entries of one message into a->t. */
static int apply_entries(apply_t *a, idn_rd_t *rd, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		idn_change_t c;
		if (idn_repl_entry_decode(rd, &c) != 0)
			return IDN_EPROTO;
		if (a->hold && c.id >= a->hold)
			break; /* ids ascend: the rest is held too */
		if (a->take) {
			int err = a->take(a->take_ctx, &c);
			if (err)
				return err;
			a->n++;
			continue;
		}
		idn_arena_reset(&a->arena);
		int err = idn_wtxn_replay(a->t, &c, M.id_flags, &a->arena);
		if (err) {
			snprintf(a->why, sizeof(a->why),
				 "change %llu (%s %.*s) does not apply: %s",
				 (unsigned long long)c.id,
				 idn_change_op_name(c.op),
				 (int)(c.name.len > 100 ? 100 : c.name.len),
				 (const char *)c.name.p, idn_strerror(err));
			return err;
		}
		if (c.time_ms > a->newest_ms)
			a->newest_ms = c.time_ms;
		a->n++;
	}
	return 0;
}

static int on_txns(void *ctx, const idn_msg_t *m)
{
	apply_t *a = ctx;
	idn_rd_t rd;
	idn_rd_init(&rd, m->rest.p, m->rest.len);
	a->status = idn_rd_u32(&rd);
	if (rd.err)
		return IDN_EPROTO;
	if (a->status == IDN_REPL_REDUMP)
		return 0;
	if (a->status != IDN_REPL_SENDING)
		return IDN_EPROTO;
	const uint8_t *p = idn_rd_raw(&rd, 16);
	uint32_t n = idn_rd_u32(&rd);
	if (p == NULL || rd.err)
		return IDN_EPROTO;
	a->upto = idn_get_u64(p);
	a->source_next = idn_get_u64(p + 8);
	/* read as the reply came: a repair's copy taken after it was held
	 * is at or after what this reply holds */
	pthread_mutex_lock(&M.mu);
	a->hold = a->s->hold;
	pthread_mutex_unlock(&M.mu);
	if (a->hold && a->upto > a->hold)
		a->upto = a->hold > a->from ? a->hold : a->from;
	if (n == 0)
		return 0;
	int err = idn_wtxn_begin(M.store, &a->t);
	if (err)
		return err;
	char actor[200];
	snprintf(actor, sizeof(actor), "replication %s", a->s->where);
	idn_wtxn_set_actor(a->t, actor);
	return apply_entries(a, &rd, n);
}

static int on_dump(void *ctx, const idn_msg_t *m)
{
	apply_t *a = ctx;
	idn_rd_t rd;
	idn_rd_init(&rd, m->rest.p, m->rest.len);
	const uint8_t *p = idn_rd_raw(&rd, 8);
	uint32_t n = idn_rd_u32(&rd);
	if (p == NULL || rd.err)
		return IDN_EPROTO;
	a->source_next = idn_get_u64(p);
	return apply_entries(a, &rd, n);
}

/* Takes everything out of the store, in a->t, before a dump goes in. */
typedef struct {
	char **names;
	size_t n, cap;
} names_t;

static int names_add(names_t *l, idn_bytes_t b)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **nn = realloc(l->names, cap * sizeof(*nn));
		if (nn == NULL)
			return -ENOMEM;
		l->names = nn;
		l->cap = cap;
	}
	char *s = malloc(b.len + 1);
	if (s == NULL)
		return -ENOMEM;
	memcpy(s, b.p, b.len);
	s[b.len] = 0;
	l->names[l->n++] = s;
	return 0;
}

static void names_free(names_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static int collect(int kind, names_t *l)
{
	idn_rtxn_t *t;
	int err = idn_rtxn_begin(M.store, &t);
	if (err)
		return err;
	idn_iter_t *it = NULL;
	err = kind == 0	  ? idn_iter_records(t, idn_bytes(NULL, 0),
					     idn_bytes(NULL, 0), &it)
	      : kind == 1 ? idn_iter_homed(t, &it)
			  : idn_iter_types(t, &it);
	if (err == 0) {
		idn_iter_item_t item;
		while ((err = idn_iter_next(it, &item)) == 0 &&
		       (err = names_add(l, kind == 0 ? item.rec.id
						     : item.key)) == 0)
			;
		idn_iter_free(it);
	}
	idn_rtxn_free(t);
	return err == IDN_ENOTFOUND ? 0 : err;
}

static int wipe(idn_wtxn_t *t)
{
	for (int kind = 0; kind <= 2; kind++) {
		names_t l = {0};
		int err = collect(kind, &l);
		for (size_t i = 0; err == 0 && i < l.n; i++) {
			idn_bytes_t b = idn_bytes_str(l.names[i]);
			if (kind == 0) {
				idn_ident_t id;
				err = idn_ident_parse(b.p, b.len, M.id_flags,
						      &id);
				if (err == 0)
					err = idn_wtxn_delete(t, &id);
			} else if (kind == 1) {
				err = idn_wtxn_unhome(t, b.p, b.len);
			} else {
				err = idn_wtxn_index_remove(t, b);
			}
			if (err == IDN_ENOTFOUND)
				err = 0;
		}
		names_free(&l);
		if (err)
			return err;
	}
	return 0;
}

/* ---- HANDLE.NET's streams (repl_cnri.h) ---- */

static int fd_read(void *ctx, uint8_t *buf, size_t n)
{
	return idn_read_all(idn_client_fd(*(idn_client_t **)ctx), buf, n);
}

/* Applies one item of a HANDLE.NET stream into a->t: a create or update
 * (the record's values as they are) replaces the record, a delete, a
 * home or an unhome of 0.NA/PREFIX; what is already so is no error. */
static int cnri_apply(apply_t *a, const idn_cnri_item_t *it)
{
	uint8_t action = it->kind == IDN_CNRI_ITEM_RECORD ? IDN_CNRI_CREATE
			 : it->kind == IDN_CNRI_ITEM_NA	  ? IDN_CNRI_HOME
							  : it->action;
	idn_change_t c = {0};
	c.name = it->name;
	uint8_t pbuf[IDN_IDENT_MAX];
	uint32_t pl = 0;
	uint8_t *body = NULL;
	switch (action) {
	case IDN_CNRI_CREATE:
	case IDN_CNRI_UPDATE:
		body = malloc(1 + it->values.len);
		if (body == NULL)
			return -ENOMEM;
		body[0] = 1; /* overwrite */
		memcpy(body + 1, it->values.p, it->values.len);
		c.op = IDN_CH_CREATE;
		c.body = idn_bytes(body, 1 + it->values.len);
		break;
	case IDN_CNRI_DELETE:
		c.op = IDN_CH_DELETE;
		break;
	case IDN_CNRI_HOME:
	case IDN_CNRI_UNHOME:
		if (idn_prefix_normalise(it->name.p, it->name.len, pbuf, &pl))
			return IDN_EPROTO;
		c.op = action == IDN_CNRI_HOME ? IDN_CH_HOME : IDN_CH_UNHOME;
		c.name = idn_bytes(pbuf, pl);
		break;
	case IDN_CNRI_DELETE_ALL:
		return a->take ? 0 : wipe(a->t);
	default:
		return 0; /* placeholders */
	}
	if (a->take) {
		int err = a->take(a->take_ctx, &c);
		free(body);
		return err;
	}
	idn_arena_reset(&a->arena);
	int err = idn_wtxn_replay(a->t, &c, M.id_flags, &a->arena);
	free(body);
	if (err == IDN_ENOTFOUND || err == IDN_EEXISTS)
		err = 0;
	if (err)
		snprintf(a->why, sizeof(a->why),
			 "HANDLE.NET transaction %llu (%u %.*s) does not "
			 "apply: %s",
			 (unsigned long long)it->txn_id, (unsigned)action,
			 (int)(it->name.len > 100 ? 100 : it->name.len),
			 (const char *)it->name.p, idn_strerror(err));
	return err;
}

/* The stream after a 1001 reply: a->status, the transactions applied in
 * one write transaction, a->upto after the last. */
static int on_cnri_txns(void *ctx, const idn_msg_t *m)
{
	(void)m;
	apply_t *a = ctx;
	idn_cnri_rd_t rd;
	idn_cnri_rd_init(&rd, fd_read, a->clp, M.src_key);
	idn_cnri_item_t it;
	int err = idn_cnri_next(&rd, false, true, &it);
	if (err == 0)
		a->status = it.status;
	while (err == 0 && (err = idn_cnri_next(&rd, false, false, &it)) == 0 &&
	       it.kind != IDN_CNRI_ITEM_END) {
		if (it.kind != IDN_CNRI_ITEM_TXN) {
			err = IDN_EPROTO;
			break;
		}
		if (a->t == NULL) {
			if ((err = idn_wtxn_begin(M.store, &a->t)) != 0)
				break;
			char actor[200];
			snprintf(actor, sizeof(actor), "replication %s",
				 a->s->where);
			idn_wtxn_set_actor(a->t, actor);
		}
		if ((err = cnri_apply(a, &it)) != 0)
			break;
		a->upto = it.txn_id + 1;
		if (it.date > a->newest_ms)
			a->newest_ms = it.date;
		a->n++;
	}
	if (err == 0)
		a->s->cnri_date = it.date;
	idn_cnri_rd_free(&rd);
	a->source_next = a->upto;
	return err;
}

/* The stream after a 1002 reply, into a->t (emptied before). */
static int on_cnri_dump(void *ctx, const idn_msg_t *m)
{
	(void)m;
	apply_t *a = ctx;
	idn_cnri_rd_t rd;
	idn_cnri_rd_init(&rd, fd_read, a->clp, M.src_key);
	idn_cnri_item_t it;
	int err = idn_cnri_next(&rd, true, true, &it);
	while (err == 0 && (err = idn_cnri_next(&rd, true, false, &it)) == 0 &&
	       it.kind != IDN_CNRI_ITEM_END) {
		if ((err = cnri_apply(a, &it)) != 0)
			break;
		a->n++;
	}
	if (err == 0) {
		uint8_t tail;
		/* one byte follows the last block */
		err = fd_read(a->clp, &tail, 1);
		a->source_next = it.txn_id + 1;
		a->s->cnri_date = it.date;
	}
	idn_cnri_rd_free(&rd);
	return err;
}

/* A source that answers idnode's 1110 or 1109 as an unknown op
 * (HANDLE.NET: op 0, rc 2) speaks HANDLE.NET's replication only. */
static bool switch_to_cnri(msrc_t *s, const call_t *c)
{
	if (s->cnri || M.no_switch ||
	    !((c->rc == IDN_RC_ERROR && c->op == 0) ||
	      c->rc == IDN_RC_NOT_SUPPORTED))
		return false;
	s->cnri = true;
	log_info("replication: %s speaks HANDLE.NET's replication (ops "
		 "1001/1002) only; following it so (no search types)",
		 s->where);
	return true;
}

static void fail_text(msrc_t *s, const char *what, int err, const call_t *c,
		      const apply_t *a)
{
	char why[480];
	if (a && a->why[0])
		snprintf(why, sizeof(why), "%s: %s", what, a->why);
	else if (err == IDN_EAUTH)
		snprintf(why, sizeof(why),
			 "%s from %s: a block of its stream does not verify "
			 "with replication-source-key",
			 what, s->where);
	else if (err == 0 && c->text[0])
		snprintf(why, sizeof(why), "%s refused by %s: %s", what,
			 s->where, c->text);
	else
		snprintf(why, sizeof(why), "%s from %s: %s", what, s->where,
			 idn_strerror(err ? err : c->err));
	set_state(s, "error", why);
	log_warn("replication: %s", why);
}

/* Copies the source's whole store: 0, or -1 with the state set. */
static int dump(msrc_t *s, idn_client_t **clp)
{
	set_state(s, "dumping", "");
	uint8_t body[64];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_repl_req_encode(&w, false, &M.share);
	apply_t a = {.s = s, .clp = clp};
	idn_arena_init(&a.arena, 1 << 16);
	int err = idn_wtxn_begin(M.store, &a.t);
	if (err == 0) {
		char actor[200];
		snprintf(actor, sizeof(actor), "replication %s (copy)",
			 s->where);
		idn_wtxn_set_actor(a.t, actor);
		/* the copy replaces the store; with several sources (the
		 * servers of a site, each with its share) it only adds */
		if (M.n == 1)
			err = wipe(a.t);
	}
	call_t c = {s->cnri ? on_cnri_dump : on_dump, &a};
	if (err == 0)
		err = call(s, clp,
			   s->cnri ? IDN_OC_DUMP_HANDLES : IDN_OC_REPL_COPY,
			   w.buf, w.len, &c);
	if (err == 0 && a.n == 0 && switch_to_cnri(s, &c)) {
		idn_wtxn_abort(a.t);
		idn_arena_free(&a.arena);
		set_state(s, "dumping", "");
		return -1; /* again, on a new connection */
	}
	if (err == 0 && c.rc == IDN_RC_SUCCESS)
		err = save_position(s, a.t, a.source_next);
	int rc = -1;
	if (err == 0 && c.rc == IDN_RC_SUCCESS) {
		err = idn_wtxn_commit(a.t);
		a.t = NULL;
		if (err == 0) {
			pthread_mutex_lock(&M.mu);
			s->next = s->source_next = a.source_next;
			s->dumps++;
			s->lag_ms = 0;
			snprintf(s->state, sizeof(s->state), "following");
			pthread_mutex_unlock(&M.mu);
			log_info("replication: copied %u entries from %s (at "
				 "change %llu)",
				 a.n, s->where,
				 (unsigned long long)a.source_next);
			rc = 0;
		}
	}
	if (a.t)
		idn_wtxn_abort(a.t);
	if (rc)
		fail_text(s, "copy", err, &c, &a);
	idn_arena_free(&a.arena);
	return rc;
}

/* Asks for what follows s->next and applies it: 0, 1 (a copy is
 * needed), or -1 with the state set. */
static int follow(msrc_t *s, idn_client_t **clp)
{
	uint8_t body[64];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_repl_req_t q = M.share;
	q.last_txn = s->next - 1;
	/* HANDLE.NET's mirror sends the date of the last stream it read */
	q.last_date = s->cnri ? s->cnri_date : now_ms();
	idn_repl_req_encode(&w, true, &q);
	apply_t a = {.s = s, .clp = clp, .upto = s->next, .from = s->next};
	idn_arena_init(&a.arena, 1 << 16);
	call_t c = {s->cnri ? on_cnri_txns : on_txns, &a};
	int err = call(s, clp,
		       s->cnri ? IDN_OC_RETRIEVE_TXN_LOG : IDN_OC_REPL_CHANGES,
		       w.buf, w.len, &c);
	/* a restarted mirror that has its position asks 1109 first: a
	 * HANDLE.NET source refuses it as it refused 1110 at the copy */
	if (err == 0 && a.n == 0 && switch_to_cnri(s, &c)) {
		if (a.t)
			idn_wtxn_abort(a.t);
		idn_arena_free(&a.arena);
		return 0;
	}
	int rc = -1;
	if (err == 0 && c.rc == IDN_RC_SUCCESS && a.status == IDN_REPL_REDUMP) {
		rc = 1;
	} else if (err == 0 && c.rc == IDN_RC_SUCCESS && a.upto >= s->next) {
		if (a.t)
			err = save_position(s, a.t, a.upto);
		if (err == 0 && a.t) {
			err = idn_wtxn_commit(a.t);
			a.t = NULL;
		}
		if (err == 0) {
			uint64_t now = now_ms();
			pthread_mutex_lock(&M.mu);
			s->next = a.upto;
			s->source_next = a.source_next;
			s->applied += a.n;
			if (a.n)
				s->lag_ms = now > a.newest_ms
						    ? now - a.newest_ms
						    : 0;
			bool behind = s->next < s->source_next;
			snprintf(s->state, sizeof(s->state), "%s",
				 behind ? "behind" : "following");
			s->reason[0] = 0;
			pthread_mutex_unlock(&M.mu);
			rc = 0;
		}
	} else if (err == 0 && c.rc == IDN_RC_SUCCESS) {
		err = IDN_EPROTO;
	}
	if (a.t)
		idn_wtxn_abort(a.t);
	if (rc < 0) {
		fail_text(s, "changes", err, &c, &a);
		if (a.why[0])
			rc = 1; /* diverged: copy again */
	}
	idn_arena_free(&a.arena);
	return rc;
}

/* ---- a repair's fetch (mirror_repair.c) ---- */

int mirror_sources(void)
{
	return M.n;
}

const char *mirror_source(int i)
{
	return i >= 0 && i < M.n ? M.src[i].where : "";
}

unsigned mirror_id_flags(void)
{
	return M.id_flags;
}

int mirror_position(int i, uint64_t *next)
{
	if (i < 0 || i >= M.n)
		return IDN_EINVAL;
	uint64_t date;
	return load_position(&M.src[i], next, &date);
}

int mirror_fetch(int i, mirror_take_fn take, void *ctx, uint64_t *at, char *why,
		 size_t cap)
{
	if (i < 0 || i >= M.n)
		return IDN_EINVAL;
	/* a connection of its own: the follower's, its state and position
	 * stay as they are */
	msrc_t s;
	pthread_mutex_lock(&M.mu);
	s = M.src[i];
	s.fd = -1;
	bool cancelled = M.repair_cancel;
	pthread_mutex_unlock(&M.mu);
	if (cancelled) {
		snprintf(why, cap, "the node is stopping");
		return IDN_ETIMEOUT;
	}
	idn_client_t *cl = NULL;
	int err = idn_client_open(IDN_NET_TCP, s.where, CALL_TIMEOUT_MS, &cl);
	if (err) {
		snprintf(why, cap, "connecting to %s: %s", s.where,
			 idn_strerror(err));
		return err;
	}
	pthread_mutex_lock(&M.mu);
	s.fd = idn_client_fd(cl);
	M.repair = &s; /* reopen keeps s.fd current */
	pthread_mutex_unlock(&M.mu);
	uint8_t body[64];
	idn_wr_t w;
	idn_wr_init(&w, body, sizeof(body));
	idn_repl_req_encode(&w, false, &M.share);
	apply_t a = {.s = &s, .clp = &cl, .take = take, .take_ctx = ctx};
	idn_arena_init(&a.arena, 1 << 12);
	call_t c = {s.cnri ? on_cnri_dump : on_dump, &a};
	err = call(&s, &cl, s.cnri ? IDN_OC_DUMP_HANDLES : IDN_OC_REPL_COPY,
		   w.buf, w.len, &c);
	if (err == 0 && c.rc != IDN_RC_SUCCESS) {
		snprintf(why, cap, "the copy was refused by %s: %s", s.where,
			 c.text);
		err = IDN_EPROTO;
	} else if (err) {
		snprintf(why, cap, "the copy from %s: %s", s.where,
			 idn_strerror(err));
	}
	*at = a.source_next;
	idn_arena_free(&a.arena);
	pthread_mutex_lock(&M.mu);
	M.repair = NULL;
	pthread_mutex_unlock(&M.mu);
	idn_client_close(cl);
	return err;
}

bool mirror_hold(int i, uint64_t at)
{
	if (i < 0 || i >= M.n)
		return false;
	pthread_mutex_lock(&M.mu);
	msrc_t *s = &M.src[i];
	bool held = !s->cnri;
	if (held || at == 0)
		s->hold = at;
	pthread_mutex_unlock(&M.mu);
	return held;
}

void mirror_repair_cancel(void)
{
	pthread_mutex_lock(&M.mu);
	M.repair_cancel = true;
	if (M.repair && M.repair->fd >= 0)
		shutdown(M.repair->fd, SHUT_RDWR);
	pthread_mutex_unlock(&M.mu);
}

bool mirror_repair_cancelled(void)
{
	pthread_mutex_lock(&M.mu);
	bool c = M.repair_cancel;
	pthread_mutex_unlock(&M.mu);
	return c;
}

/* Sleeps ms unless stopped. */
static void nap(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&M.mu);
	if (!atomic_load(&M.stop))
		pthread_cond_timedwait(&M.cond, &M.mu, &ts);
	pthread_mutex_unlock(&M.mu);
}

static void *source_main(void *arg)
{
	msrc_t *s = arg;
	int backoff = BACKOFF_MIN_MS;
	uint64_t next = 0, date = 0;
	bool need_copy = load_position(s, &next, &date) != 0;
	if (!need_copy) {
		pthread_mutex_lock(&M.mu);
		s->next = next;
		/* a HANDLE.NET source's position has its date: it is followed
		 * so again at once */
		if (date != 0 && !M.no_switch) {
			s->cnri = true;
			s->cnri_date = date;
		}
		pthread_mutex_unlock(&M.mu);
	}
	while (!atomic_load(&M.stop)) {
		idn_client_t *cl = NULL;
		int err = idn_client_open(IDN_NET_TCP, s->where,
					  CALL_TIMEOUT_MS, &cl);
		if (err) {
			call_t c = {0};
			fail_text(s, "connecting", err, &c, NULL);
			nap(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							       : backoff * 2;
			continue;
		}
		pthread_mutex_lock(&M.mu);
		s->fd = idn_client_fd(cl);
		pthread_mutex_unlock(&M.mu);
		int rc = 0;
		while (!atomic_load(&M.stop)) {
			if (need_copy) {
				if ((rc = dump(s, &cl)) != 0)
					break;
				need_copy = false;
			}
			uint64_t t0 = now_ms();
			pthread_mutex_lock(&M.mu);
			uint64_t before = s->next;
			pthread_mutex_unlock(&M.mu);
			rc = follow(s, &cl);
			if (rc == 1) {
				log_info("replication: %s needs a new copy",
					 s->where);
				need_copy = true;
				continue;
			}
			if (rc != 0)
				break;
			backoff = BACKOFF_MIN_MS;
			/* an empty answer that came at once: the source does
			 * not hold requests open (a HANDLE.NET primary, or
			 * one whose holds are all taken); ask a little
			 * later */
			pthread_mutex_lock(&M.mu);
			bool idle = s->next == before;
			pthread_mutex_unlock(&M.mu);
			if (idle && now_ms() - t0 < 1000)
				nap(s->cnri ? 1000 : 250);
		}
		pthread_mutex_lock(&M.mu);
		s->fd = -1;
		pthread_mutex_unlock(&M.mu);
		idn_client_close(cl);
		if (rc != 0 && !atomic_load(&M.stop)) {
			nap(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							       : backoff * 2;
		}
	}
	return NULL;
}

static int parse_share(const char *spec, idn_repl_req_t *q)
{
	memset(q, 0, sizeof(*q));
	q->nservers = 1;
	if (spec[0] == 0)
		return 0;
	char hash[16];
	unsigned n, num;
	if (sscanf(spec, "%15[a-z]:%u:%u", hash, &n, &num) != 3 || n == 0 ||
	    num >= n)
		return -1;
	if (!strcmp(hash, "prefix"))
		q->hash_type = IDN_HASH_BY_PREFIX;
	else if (!strcmp(hash, "suffix"))
		q->hash_type = IDN_HASH_BY_SUFFIX;
	else if (!strcmp(hash, "all"))
		q->hash_type = IDN_HASH_BY_ALL;
	else
		return -1;
	q->nservers = n;
	q->server_num = num;
	return 0;
}

int mirror_start(const node_conf_t *conf, idn_store_t *store)
{
	M.conf = conf;
	M.store = store;
	M.n = 0;
	atomic_store(&M.stop, false);
	M.repair_cancel = false;
	if (conf->nrepl_from == 0)
		return 0;
	idn_store_spec_t spec;
	if (idn_store_spec_parse(conf->store[0] ? conf->store : conf->data,
				 &spec) == 0 &&
	    spec.kind == IDN_STORE_PG) {
		log_error("a mirror keeps its position in an LMDB store; "
			  "PostgreSQL can be a primary, not a mirror "
			  "(docs/replication.md)");
		return -1;
	}
	if (load_cred(conf) != 0)
		return -1;
	if (parse_share(conf->repl_share, &M.share) != 0) {
		log_error("replication-share wants HASH:N:NUM, HASH prefix, "
			  "suffix or all, NUM below N");
		return -1;
	}
	M.id_flags = conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0;
	const char *proto =
		conf->repl_protocol[0] ? conf->repl_protocol : "auto";
	if (strcmp(proto, "auto") && strcmp(proto, "idnode") &&
	    strcmp(proto, "handle.net")) {
		log_error("replication-protocol is auto, idnode or handle.net");
		return -1;
	}
	M.cnri = !strcmp(proto, "handle.net");
	M.no_switch = !strcmp(proto, "idnode");
	if (conf->repl_source_key[0] && load_source_key(conf) != 0)
		return -1;
	for (int i = 0; i < conf->nrepl_from && i < MIRROR_SOURCES_MAX; i++) {
		msrc_t *s = &M.src[M.n++];
		memset(s, 0, sizeof(*s));
		s->fd = -1;
		snprintf(s->where, sizeof(s->where), "%s", conf->repl_from[i]);
		snprintf(s->state, sizeof(s->state), "starting");
		s->cnri = M.cnri;
		if (pthread_create(&s->th, NULL, source_main, s) != 0) {
			log_error("cannot start the replication thread");
			M.n--;
			mirror_stop();
			return -1;
		}
		s->started = true;
		log_info("replication: mirror of %s as %s:%u", s->where,
			 M.admin, (unsigned)M.index);
	}
	return 0;
}

void mirror_stop(void)
{
	pthread_mutex_lock(&M.mu);
	atomic_store(&M.stop, true);
	pthread_cond_broadcast(&M.cond);
	/* a held request ends when its connection does */
	for (int i = 0; i < M.n; i++)
		if (M.src[i].fd >= 0)
			shutdown(M.src[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&M.mu);
	for (int i = 0; i < M.n; i++)
		if (M.src[i].started)
			pthread_join(M.src[i].th, NULL);
	M.n = 0;
	EVP_PKEY_free(M.key);
	M.key = NULL;
	EVP_PKEY_free(M.src_key);
	M.src_key = NULL;
	OPENSSL_cleanse(M.secret, sizeof(M.secret));
	M.secret_len = 0;
}

bool mirror_active(void)
{
	return M.conf != NULL && M.conf->nrepl_from > 0;
}

const char *mirror_primary(void)
{
	return mirror_active() ? M.conf->repl_from[0] : "";
}

static void json_str(char *out, size_t cap, size_t *at, const char *s)
{
	if (*at + 2 >= cap)
		return;
	out[(*at)++] = '"';
	for (; *s && *at + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			*at += (size_t)snprintf(out + *at, cap - *at, "\\%c",
						ch);
		else if (ch < 0x20)
			*at += (size_t)snprintf(out + *at, cap - *at, "\\u%04x",
						ch);
		else
			out[(*at)++] = (char)ch;
	}
	out[(*at)++] = '"';
	out[*at] = 0;
}

#define PUT(...)                                                               \
	do {                                                                   \
		if (at < cap)                                                  \
			at += (size_t)snprintf(out + at, cap - at,             \
					       __VA_ARGS__);                   \
	} while (0)

void mirror_status_json(char *out, size_t cap)
{
	size_t at = 0;
	const node_conf_t *c = M.conf;
	const char *role = mirror_active()	  ? "mirror"
			   : c && c->nrepl_admins ? "primary"
						  : "standalone";
	PUT("{\"role\":\"%s\",\"replication_admins\":%d,\"sources\":[", role,
	    c ? c->nrepl_admins : 0);
	pthread_mutex_lock(&M.mu);
	for (int i = 0; i < M.n; i++) {
		msrc_t *s = &M.src[i];
		uint64_t last = s->next ? s->next - 1 : 0;
		uint64_t src = s->source_next ? s->source_next - 1 : 0;
		uint64_t behind = src > last ? src - last : 0;
		PUT("%s{\"source\":", i ? "," : "");
		if (at < cap)
			json_str(out, cap, &at, s->where);
		PUT(",\"state\":\"%s\",\"reason\":", s->state);
		if (at < cap)
			json_str(out, cap, &at, s->reason);
		PUT(",\"last_applied_txn\":%llu,\"source_txn\":%llu,"
		    "\"lag_txns\":%llu,\"lag_ms\":%llu,\"applied\":%llu,"
		    "\"dumps\":%u}",
		    (unsigned long long)last, (unsigned long long)src,
		    (unsigned long long)behind, (unsigned long long)s->lag_ms,
		    (unsigned long long)s->applied, s->dumps);
	}
	pthread_mutex_unlock(&M.mu);
	PUT("]}");
	if (at >= cap && cap)
		out[cap - 1] = 0;
}

void mirror_metrics(bool *is_mirror, unsigned long long *lag_txns,
		    unsigned long long *lag_ms, unsigned *in_error,
		    unsigned long long *applied)
{
	*is_mirror = mirror_active();
	*lag_txns = *lag_ms = *applied = 0;
	*in_error = 0;
	pthread_mutex_lock(&M.mu);
	for (int i = 0; i < M.n; i++) {
		msrc_t *s = &M.src[i];
		if (s->source_next > s->next)
			*lag_txns += s->source_next - s->next;
		if (s->lag_ms > *lag_ms)
			*lag_ms = s->lag_ms;
		if (!strcmp(s->state, "error"))
			(*in_error)++;
		*applied += s->applied;
	}
	pthread_mutex_unlock(&M.mu);
}
