#include "batch.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/pem.h>
#include <string.h>
#include <time.h>

#include "ctlutil.h"
#include "error.h"
#include "genbatch.h"
#include "ident.h"
#include "msg.h"
#include "session.h"

#define BATCH_WORDS 260
#define BATCH_LINE 65536

typedef struct {
	ctl_cred_t cred; /* a copy of the caller's: it outlives the open */
	idn_bytes_t admin;
	uint32_t index;
} answer_ctx_t;

static int answer(void *vctx, const char *hash, idn_bytes_t nonce,
		  idn_bytes_t digest, idn_wr_t *w)
{
	answer_ctx_t *x = vctx;
	return ctl_answer_encode_hash(&x->cred, hash, x->admin, x->index, nonce,
				      digest, w);
}

/* Splits line into words in place; "quoted words" may hold spaces. */
static int split(char *line, char **words, int max)
{
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p == 0 || *p == '#')
			return n;
		if (n == max)
			return -1;
		if (*p == '"') {
			words[n++] = ++p;
			char *q = strchr(p, '"');
			if (q == NULL)
				return -1;
			*q = 0;
			p = q + 1;
			continue;
		}
		words[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
	}
}

/* Encodes the request of one command line into w; 0 or -1 with why. */
static int encode(char **words, int n, idn_arena_t *a, uint32_t *op,
		  uint32_t flags, idn_wr_t *w, const char **why)
{
	static const struct {
		const char *name;
		uint32_t op;
	} ops[] = {{"create", IDN_OC_CREATE},
		   {"add", IDN_OC_ADD_VALUE},
		   {"modify", IDN_OC_MODIFY_VALUE},
		   {"remove", IDN_OC_REMOVE_VALUE},
		   {"delete", IDN_OC_DELETE}};
	size_t k = 0;
	while (k < sizeof(ops) / sizeof(ops[0]) &&
	       strcmp(ops[k].name, words[0]))
		k++;
	if (k == sizeof(ops) / sizeof(ops[0])) {
		*why = "unknown command (create, add, modify, remove, delete)";
		return -1;
	}
	*op = ops[k].op;
	bool del = *op == IDN_OC_DELETE;
	if (n < 2 || (del && n != 2) || (!del && n < 3)) {
		*why = "wrong number of arguments";
		return -1;
	}
	idn_hdr_t h = {0};
	h.op = *op;
	h.flags = flags;
	h.serial = 0xffff;
	h.expiry = (uint32_t)time(NULL) + 3600;
	idn_msg_mark_t mk = idn_msg_start(w, NULL, &h);
	idn_bytes_t id = idn_bytes_str(words[1]);
	uint32_t cnt = (uint32_t)n - 2;
	if (del) {
		idn_id_body_encode(w, id);
	} else if (*op == IDN_OC_REMOVE_VALUE) {
		uint32_t *idx = idn_arena_array(a, cnt, sizeof(uint32_t));
		for (uint32_t i = 0; idx && i < cnt; i++) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(words[2 + i], &end, 10);
			if (*end || errno || v > UINT32_MAX) {
				*why = "bad index";
				return -1;
			}
			idx[i] = (uint32_t)v;
		}
		idn_remove_req_t b = {id, cnt, idx};
		idn_remove_req_encode(w, &b);
	} else {
		idn_values_body_t b = {
			id, cnt, idn_arena_array(a, cnt, sizeof(idn_value_t))};
		for (uint32_t i = 0; b.values && i < cnt; i++)
			if (ctl_parse_value(words[2 + i], a, &b.values[i]) !=
			    0) {
				*why = "bad value: expected INDEX[,OPTION...]:TYPE=DATA";
				return -1;
			}
		idn_values_body_encode(w, &b);
	}
	idn_msg_finish(w, mk, NULL);
	if (w->err) {
		*why = "request too large";
		return -1;
	}
	return 0;
}

typedef struct {
	uint32_t rc;
	char text[200];
} result_t;

static int on_reply(void *vctx, const idn_env_t *env, const uint8_t *msg,
		    size_t len)
{
	(void)env;
	result_t *r = vctx;
	idn_msg_t m;
	idn_bytes_t t;
	r->text[0] = 0;
	if (idn_msg_decode(msg, len, &m) != 0) {
		r->rc = IDN_RC_PROTOCOL_ERROR;
		return 1;
	}
	r->rc = m.hdr.rc;
	if (m.hdr.rc != IDN_RC_SUCCESS &&
	    idn_error_body_decode(m.rest, &t) == 0)
		snprintf(r->text, sizeof(r->text), "%.*s",
			 (int)(t.len > 190 ? 190 : t.len), t.p);
	return 1;
}

int ctl_session_open(const batch_opts_t *o, const char *what, idn_session_t **s)
{
	/* the session answers its challenge later, when a request is
	 * challenged: idctl holds one session at a time */
	static answer_ctx_t ax;
	if (ctl_admin_ref(o->auth, &ax.admin, &ax.index) != 0) {
		fprintf(stderr,
			"idctl: --auth wants ADMIN_ID:INDEX, e.g. 0.NA/88.118.8:300\n");
		return 2;
	}
	ax.cred = *o->cred;
	idn_session_opts_t so = {o->server, IDN_NET_TCP, o->timeout_ms, 0,
				 ax.admin,  ax.index,	 answer,	&ax};
	uint32_t rc;
	int err = idn_session_open(&so, s, &rc);
	if (err) {
		if (err == IDN_EAUTH)
			fprintf(stderr,
				"idctl: %s: %s refused the session "
				"for %s (rc %u)\n",
				what, o->server, o->auth, rc);
		else
			fprintf(stderr, "idctl: %s: %s: %s\n", what, o->server,
				idn_strerror(err));
		return 1;
	}
	return 0;
}

/* ---- idctl's own lines ---- */

/* Sends the command line (split into n words) in session s; returns 0,
 * 1 (refused: counted as failed) or -1 (the session is gone). */
static int run_words(const batch_opts_t *o, idn_session_t *s, char **words,
		     int n, idn_arena_t *a, const char *name,
		     unsigned long lineno)
{
	static uint8_t buf[IDN_MSG_MAX];
	const char *why = "too many words or an unclosed quote";
	uint32_t op;
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	if (n < 0 ||
	    encode(words, n, a, &op, o->overwrite ? IDN_OF_OVERWRITE : 0, &w,
		   &why) != 0) {
		fprintf(stderr, "idctl: batch %s:%lu: %s\n", name, lineno, why);
		return 1;
	}
	result_t r = {0};
	int err = idn_session_call(s, w.buf, w.len, on_reply, &r);
	if (err) {
		fprintf(stderr, "idctl: batch %s:%lu: %s %s: %s\n", name,
			lineno, words[0], words[1], idn_strerror(err));
		return -1; /* the connection, and so the session, is gone */
	}
	if (r.rc != IDN_RC_SUCCESS) {
		fprintf(stderr, "idctl: batch %s:%lu: %s %s: %s (rc %u)\n",
			name, lineno, words[0], words[1],
			r.text[0] ? r.text : "refused", r.rc);
		return 1;
	}
	printf("%s %s\n", words[0], words[1]);
	return 0;
}

static int run_lines(const batch_opts_t *o, FILE *in, const char *name,
		     char *line, unsigned long lineno)
{
	if (o->auth == NULL) {
		fprintf(stderr, "idctl: batch needs --auth ADMIN_ID:INDEX and "
				"--key FILE or --secret FILE\n");
		return 2;
	}
	idn_session_t *s;
	int err = ctl_session_open(o, "batch", &s);
	if (err)
		return err;
	char *words[BATCH_WORDS];
	unsigned long sent = 0, failed = 0;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int status = 0;
	do {
		idn_arena_reset(&a);
		line[strcspn(line, "\r\n")] = 0;
		if (idn_utf8_check((const uint8_t *)line, strlen(line)) != 0) {
			/* text of another encoding would be stored as its
			 * bytes: binary data is written hex:... */
			fprintf(stderr,
				"idctl: batch %s:%lu: not valid UTF-8 (binary "
				"data is written hex:...)\n",
				name, lineno);
			failed++;
			continue;
		}
		int n = split(line, words, BATCH_WORDS);
		if (n == 0)
			continue;
		int rc = run_words(o, s, words, n, &a, name, lineno);
		sent += n > 0 && rc >= 0;
		failed += rc != 0;
		if (rc < 0) {
			status = 1;
			break;
		}
	} while (lineno++, fgets(line, BATCH_LINE, in) != NULL);
	idn_arena_free(&a);
	if (ferror(in)) {
		fprintf(stderr, "idctl: batch: cannot read %s\n", name);
		status = 1;
	}
	printf("batch: %lu requests in session %08x, %lu failed\n", sent,
	       idn_session_id(s), failed);
	if (idn_session_close(s) != 0 && status == 0)
		fprintf(stderr,
			"idctl: batch: the session did not end cleanly\n");
	return status || failed ? 1 : 0;
}

/* ---- HANDLE.NET batch files (genbatch.h) ---- */

typedef struct {
	const batch_opts_t *o;
	const char *name;
	idn_session_t *s;
	batch_opts_t as;   /* who the file authenticated as */
	ctl_cred_t cred;   /* ... with this credential */
	char auth[600];	   /* ... ADMIN_ID:INDEX */
	bool authed;	   /* as is set */
	uint64_t auth_bad; /* the line of an AUTHENTICATE that failed */
	unsigned long sent, failed;
} gbrun_t;

/* AUTHENTICATE: the credential for the operations that follow, in a
 * new session. PUBKEY names a PEM private key file (FILE|PASSPHRASE when
 * it is encrypted); SECKEY gives the secret. */
static int gb_auth(gbrun_t *g, const gb_op_t *op)
{
	if (g->s) {
		idn_session_close(g->s);
		g->s = NULL;
	}
	if (g->authed)
		ctl_cred_free(&g->cred);
	g->authed = false;
	memset(&g->cred, 0, sizeof(g->cred));
	g->auth_bad = op->line;
	if (op->seckey) {
		if (op->secret.len == 0 || op->secret.len > CTL_SECRET_MAX) {
			fprintf(stderr,
				"idctl: batch %s:%" PRIu64 ": the secret is "
				"empty or longer than %d bytes\n",
				g->name, op->line + 1, CTL_SECRET_MAX);
			return 1;
		}
		memcpy(g->cred.secret, op->secret.p, op->secret.len);
		g->cred.secret_len = op->secret.len;
		g->cred.is_secret = true;
	} else if (op->passphrase == NULL) {
		if (ctl_cred_load(op->key_file, NULL, NULL, &g->cred) != 0)
			return 1;
	} else {
		FILE *f = fopen(op->key_file, "r");
		g->cred.key = f ? PEM_read_PrivateKey(f, NULL, NULL,
						      (void *)op->passphrase)
				: NULL;
		if (f)
			fclose(f);
		if (g->cred.key == NULL) {
			fprintf(stderr,
				"idctl: batch %s:%" PRIu64 ": cannot load "
				"the private key %s (a PEM key; wrong "
				"passphrase?)\n",
				g->name, op->line + 1, op->key_file);
			return 1;
		}
	}
	snprintf(g->auth, sizeof(g->auth), "%.*s:%u", (int)op->id.len, op->id.p,
		 op->index);
	g->as = *g->o;
	g->as.auth = g->auth;
	g->as.cred = &g->cred;
	g->authed = true;
	g->auth_bad = 0;
	return 0;
}

/* One operation in the session (opened first when there is none). */
static int gb_call(gbrun_t *g, const gb_op_t *op, idn_arena_t *a)
{
	const batch_opts_t *who = g->authed ? &g->as : g->o;
	if (g->s == NULL) {
		if (g->auth_bad || who->auth == NULL) {
			if (g->auth_bad)
				fprintf(stderr,
					"idctl: batch %s:%" PRIu64 ": %s %.*s: "
					"not sent: the AUTHENTICATE of "
					"line %" PRIu64 " failed\n",
					g->name, op->line, op->verb,
					(int)op->id.len, op->id.p, g->auth_bad);
			else
				fprintf(stderr,
					"idctl: batch %s:%" PRIu64 ": %s %.*s: "
					"no credential: an AUTHENTICATE "
					"block before it, or --auth with "
					"--key or --secret\n",
					g->name, op->line, op->verb,
					(int)op->id.len, op->id.p);
			return 1;
		}
		if (ctl_session_open(who, "batch", &g->s) != 0)
			return -1;
	}
	size_t cap = 64 + op->id.len;
	for (uint32_t i = 0; i < op->n; i++)
		cap += idn_value_size(&op->v[i]);
	cap += 4 * (size_t)op->nidx;
	uint8_t *buf = idn_arena_alloc(a, cap + IDN_HDR_LEN + 64);
	if (buf == NULL)
		return -1;
	idn_wr_t w;
	idn_wr_init(&w, buf, cap + IDN_HDR_LEN + 64);
	idn_hdr_t h = {0};
	h.op = gb_opcode(op);
	h.flags = g->o->overwrite ? IDN_OF_OVERWRITE : 0;
	h.serial = 0xffff;
	h.expiry = (uint32_t)time(NULL) + 3600;
	idn_msg_mark_t mk = idn_msg_start(&w, NULL, &h);
	gb_body(op, &w);
	idn_msg_finish(&w, mk, NULL);
	if (w.err || w.len > IDN_MSG_MAX) {
		fprintf(stderr,
			"idctl: batch %s:%" PRIu64 ": %s %.*s: request too "
			"large\n",
			g->name, op->line, op->verb, (int)op->id.len, op->id.p);
		return 1;
	}
	result_t r = {0};
	int err = idn_session_call(g->s, w.buf, w.len, on_reply, &r);
	g->sent++;
	if (err) {
		fprintf(stderr, "idctl: batch %s:%" PRIu64 ": %s %.*s: %s\n",
			g->name, op->line, op->verb, (int)op->id.len, op->id.p,
			idn_strerror(err));
		idn_session_close(g->s);
		g->s = NULL;
		return -1;
	}
	if (r.rc != IDN_RC_SUCCESS) {
		fprintf(stderr,
			"idctl: batch %s:%" PRIu64 ": %s %.*s: %s (rc %u)\n",
			g->name, op->line, op->verb, (int)op->id.len, op->id.p,
			r.text[0] ? r.text : "refused", r.rc);
		return 1;
	}
	printf("%s %.*s\n", op->verb, (int)op->id.len, op->id.p);
	return 0;
}

static int run_genbatch(const batch_opts_t *o, FILE *in, const char *name,
			const char *first, unsigned long lineno)
{
	gb_reader_t rd;
	gb_open(&rd, in);
	gb_hold(&rd, first, lineno);
	gbrun_t g;
	memset(&g, 0, sizeof(g));
	g.o = o;
	g.name = name;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int status = 0;
	char why[512];
	gb_op_t op;
	for (;;) {
		idn_arena_reset(&a);
		int rc = gb_next(&rd, &op, &a, why, sizeof(why));
		if (rc == 0)
			break;
		if (rc < 0) {
			fprintf(stderr, "idctl: batch %s:%" PRIu64 ": %s\n",
				name, op.line, why);
			g.failed++;
			continue;
		}
		if (op.kind == GB_SESSION)
			continue; /* idctl batch always uses one session */
		rc = op.kind == GB_AUTH ? gb_auth(&g, &op)
					: gb_call(&g, &op, &a);
		g.failed += rc != 0;
		if (rc < 0) {
			status = 1;
			break;
		}
	}
	if (ferror(in)) {
		fprintf(stderr, "idctl: batch: cannot read %s\n", name);
		status = 1;
	}
	printf("batch: %lu requests", g.sent);
	if (g.s)
		printf(" in session %08x", idn_session_id(g.s));
	printf(", %lu failed\n", g.failed);
	if (g.s && idn_session_close(g.s) != 0 && status == 0)
		fprintf(stderr,
			"idctl: batch: the session did not end cleanly\n");
	if (g.authed)
		ctl_cred_free(&g.cred);
	idn_arena_free(&a);
	gb_close(&rd);
	return status || g.failed ? 1 : 0;
}

int batch_run(const batch_opts_t *o, FILE *in, const char *name)
{
	static char line[BATCH_LINE];
	unsigned long lineno = 0;
	idn_bytes_t admin;
	uint32_t index;
	if (o->auth != NULL && ctl_admin_ref(o->auth, &admin, &index) != 0) {
		fprintf(stderr, "idctl: --auth wants ADMIN_ID:INDEX, e.g. "
				"0.NA/88.118.8:300\n");
		return 2;
	}
	/* the first line that is not blank or a comment tells the format */
	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		size_t n = strcspn(line, "\r\n");
		line[n] = 0;
		if (lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3))
			memmove(line, line + 3, (n -= 3) + 1);
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == 0 || *p == '#')
			continue;
		if (gb_detect(line, n))
			return run_genbatch(o, in, name, line, lineno);
		return run_lines(o, in, name, line, lineno);
	}
	if (ferror(in)) {
		fprintf(stderr, "idctl: batch: cannot read %s\n", name);
		return 1;
	}
	printf("batch: 0 requests, 0 failed\n");
	return 0;
}
