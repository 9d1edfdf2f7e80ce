#include "batch.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ctlutil.h"
#include "error.h"
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

int batch_run(const batch_opts_t *o, FILE *in, const char *name)
{
	idn_session_t *s;
	int err = ctl_session_open(o, "batch", &s);
	if (err)
		return err;
	static char line[BATCH_LINE];
	static uint8_t buf[IDN_MSG_MAX];
	char *words[BATCH_WORDS];
	unsigned long lineno = 0, sent = 0, failed = 0;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int status = 0;
	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		idn_arena_reset(&a);
		line[strcspn(line, "\r\n")] = 0;
		int n = split(line, words, BATCH_WORDS);
		if (n == 0)
			continue;
		const char *why = "too many words or an unclosed quote";
		uint32_t op;
		idn_wr_t w;
		idn_wr_init(&w, buf, sizeof(buf));
		if (n < 0 || encode(words, n, &a, &op,
				    o->overwrite ? IDN_OF_OVERWRITE : 0, &w,
				    &why) != 0) {
			fprintf(stderr, "idctl: batch %s:%lu: %s\n", name,
				lineno, why);
			failed++;
			continue;
		}
		result_t r = {0};
		err = idn_session_call(s, w.buf, w.len, on_reply, &r);
		sent++;
		if (err) {
			fprintf(stderr, "idctl: batch %s:%lu: %s %s: %s\n",
				name, lineno, words[0], words[1],
				idn_strerror(err));
			failed++;
			status = 1;
			break; /* the connection, and so the session, is gone */
		}
		if (r.rc != IDN_RC_SUCCESS) {
			fprintf(stderr,
				"idctl: batch %s:%lu: %s %s: %s (rc %u)\n",
				name, lineno, words[0], words[1],
				r.text[0] ? r.text : "refused", r.rc);
			failed++;
			continue;
		}
		printf("%s %s\n", words[0], words[1]);
	}
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
