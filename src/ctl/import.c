/* idctl import: bulk registration from JSON Lines or CSV (import.h).
 *
 * The input is read line by line; each line is parsed and checked here
 * (JSON, identifier syntax, value layouts, duplicate indexes), so most
 * rejects carry a precise reason, and the records are packed into batches
 * of up to one message (256 KiB) for idnode's bulk create op. Up to 16
 * batches are in flight on one control connection, so the node writes
 * while idctl parses; the node commits the batches it finds queued
 * together in one durable write transaction (group commit) and answers
 * each only after that commit.
 *
 * Resuming: after each acknowledged batch FILE.idnprogress records the
 * last line and byte offset whose outcome is known, with the running
 * totals; --resume starts after it. Creates never overwrite, so records of
 * batches that were in flight when an import died come back as "exists"
 * (skipped) on the re-run, never as duplicates. */
#include "import.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "ctlutil.h"
#include "error.h"
#include "genbatch.h"
#include "ident.h"
#include "import_int.h"
#include "io.h"
#include "value.h"
#include "wire.h"

#define FIRST_REJECTS 10 /* rejects shown in the summary */
#define PIPELINE_MAX 16
#define FRAME_CAP (IDN_ENV_LEN + IDN_MSG_MAX)

/* ---- control connection ---- */

int ctl_conn_open(ctl_conn_t *c, const char *path, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return IDN_EINVAL;
	strcpy(sa.sun_path, path);
	c->buf = malloc(FRAME_CAP);
	if (c->buf == NULL)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = -errno;
		ctl_conn_close(c);
		return err;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->next_id = 1;
	return 0;
}

void ctl_conn_close(ctl_conn_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

void ctl_frame_start(ctl_conn_t *c, idn_wr_t *w, uint8_t *buf, uint32_t op,
		     uint32_t flags, uint32_t *id, idn_msg_mark_t *mark)
{
	idn_env_t env = {0};
	env.major = IDN_PROTO_MAJOR;
	env.minor = IDN_PROTO_MINOR;
	env.request_id = c->next_id++ & 0x7fffffff;
	idn_hdr_t h = {0};
	h.op = op;
	h.flags = flags;
	h.serial = 0xffff;
	h.expiry = (uint32_t)time(NULL) + 12 * 3600;
	*id = env.request_id;
	idn_wr_init(w, buf, FRAME_CAP);
	*mark = idn_msg_start(w, &env, &h);
}

int ctl_send(ctl_conn_t *c, const uint8_t *p, size_t n)
{
	return idn_write_all(c->fd, p, n);
}

static int recv_all(int fd, uint8_t *p, size_t n)
{
	return idn_read_all(fd, p, n); /* IDN_EPROTO: the node closed */
}

int ctl_recv(ctl_conn_t *c, idn_env_t *env, idn_msg_t *m)
{
	int err = recv_all(c->fd, c->buf, IDN_ENV_LEN);
	if (err)
		return err;
	if (idn_env_decode(c->buf, IDN_ENV_LEN, env) != 0 ||
	    env->msg_len < IDN_HDR_LEN)
		return IDN_EPROTO;
	err = recv_all(c->fd, c->buf + IDN_ENV_LEN, env->msg_len);
	if (err)
		return err;
	return idn_msg_decode(c->buf + IDN_ENV_LEN, env->msg_len, m)
		       ? IDN_EPROTO
		       : 0;
}

const char *import_rc_name(uint32_t rc)
{
	/* import and export only talk to the node they name, so "not
	 * responsible" means the prefix is not homed there */
	if (rc == IDN_RC_SERVER_NOT_RESP)
		return "prefix not homed on this node";
	return ctl_rc_name((int)rc);
}

/* import's own options; -C, --timeout and --json are global (cli.h) */
const ctl_optdef_t import_opts[] = {
	{"format", 0, true},   {"resume", 0, false},  {"rejects", 0, true},
	{"batch", 0, true},    {"pipeline", 0, true}, {"quiet", 0, false},
	{"encoding", 0, true}, {"help", 'h', false},  {NULL, 0, false},
};

/* ---- the import ---- */

static const char import_usage[] =
	"usage: idctl -C SOCKET import FILE|- [--format jsonl|csv|batch]\n"
	"             [--encoding utf-8|gbk|gb18030] [--resume]\n"
	"             [--rejects FILE] [--batch N] [--pipeline N]\n"
	"             [--timeout MS] [--quiet] [--json]\n"
	"\n"
	"Creates the records of FILE (- for stdin) through the node's control\n"
	"socket (-C or $IDNODE_CONTROL), in batches that the node writes in "
	"one\n"
	"durable transaction each. Existing identifiers are never "
	"overwritten:\n"
	"they are counted as skipped, so running the same file again is safe.\n"
	"An identifier a second time in FILE with the same values is an exact\n"
	"duplicate (counted, left out); with other values a conflict, rejected\n"
	"naming both lines.\n"
	"\n"
	"JSON Lines (default; the shape idctl --json resolve and idctl export\n"
	"print), one record a line:\n"
	"  "
	"{\"handle\":\"88.118.8/"
	"p-1\",\"values\":[{\"index\":1,\"type\":\"URL\",\n"
	"   "
	"\"data\":{\"format\":\"string\",\"value\":\"https://example.com/"
	"1\"},\n"
	"   \"ttl\":86400,\"permissions\":\"rwr-\"}]}\n"
	"  data formats: string, base64, hex, admin ({\"handle\",\"index\",\n"
	"  \"permissions\":\"111111111111\"}); optional ttl (86400), ttlType "
	"(1:\n"
	"  absolute), permissions (rwr-), timestamp (kept; default now),\n"
	"  references ([{\"handle\",\"index\"}]). \"values\":[] is a record\n"
	"  without values.\n"
	"CSV (--format csv, or a .csv file; RFC 4180, as Excel and WPS save "
	"it,\n"
	"  with or without a byte order mark): a header handle,INDEX:TYPE,...\n"
	"  then one record a row; each non-empty cell is a text value of its\n"
	"  column (ttl 86400, permissions rwr-), an HS_ADMIN column's cells\n"
	"  INDEX:PERMISSIONS:HANDLE as HANDLE.NET writes them\n"
	"  (300:111111111111:0.NA/88.118.8). \"Quoted\" cells may hold commas,\n"
	"  \"\" for a quote and line breaks; a row of empty cells is a record\n"
	"  without values.\n"
	"HANDLE.NET batch files (--format batch, or a file whose first\n"
	"  operation is CREATE, ADD, MODIFY, REMOVE, DELETE, HOME, UNHOME,\n"
	"  AUTHENTICATE or SESSIONSETUP; CNRI's GenericBatch format): CREATE\n"
	"  blocks are created as records are; the other operations are done "
	"in\n"
	"  file order; AUTHENTICATE and SESSIONSETUP are not needed (the\n"
	"  control socket acts as the node's operator). --resume is not "
	"offered\n"
	"  for them.\n"
	"\n"
	"  --encoding E     the text encoding of FILE: utf-8 (default), gbk "
	"or\n"
	"                   gb18030 (converted with iconv). Bytes not valid "
	"in\n"
	"                   it reject the record, naming its line and column\n"
	"  --resume         start after the last line recorded in\n"
	"                   FILE.idnprogress (written after every "
	"acknowledged\n"
	"                   batch, removed when the whole file is done)\n"
	"  --rejects FILE   write every rejected line as \"line N: reason\"\n"
	"  --batch N        records per batch (default 4096; a batch is also "
	"cut\n"
	"                   at one message, 256 KiB)\n"
	"  --pipeline N     batches in flight (default 16, at most 16)\n"
	"  --timeout MS     bound on every wait for the node (default 60000)\n"
	"  --quiet          no progress line\n"
	"  --json           the summary as a JSON object\n"
	"Progress goes to stderr (a bar on a terminal, a line every 5 s\n"
	"otherwise); the summary to stdout. Exit status 0 when every record "
	"was\n"
	"created or skipped, 1 when any was rejected or the import failed, 2 "
	"on\n"
	"a usage error.\n";

typedef struct {
	uint64_t line;
	char *reason; /* NULL: the next record of the batch; else rejected */
} entry_t;

typedef struct {
	uint8_t *frame;
	size_t len;
	uint32_t id;
	uint32_t nrec;	  /* records in the frame */
	size_t count_pos; /* offset of the record count */
	idn_msg_mark_t mark;
	entry_t *ents;
	size_t nents, capents;
	uint64_t end_line; /* last line this batch covers */
	uint64_t end_off;  /* input offset after that line */
} batch_t;

typedef struct {
	/* options */
	const char *sock, *file, *rejects_path;
	bool csv, resume, quiet, json;
	int timeout_ms;
	uint32_t batch_max;
	int pipeline;
	/* state */
	ctl_conn_t conn;
	FILE *in, *rej;
	char *ckpt;	 /* FILE.idnprogress, NULL for stdin */
	csv_head_t csvh; /* CSV header */
	textenc_t enc;	 /* --encoding */
	dupset_t *dups;	 /* identifiers seen in this run */
	char *rec;	 /* stdin: a CSV record of several lines */
	size_t reccap;
	bool genbatch; /* a HANDLE.NET batch file */
	bool dup_full; /* the duplicate table stopped taking more */
	uint64_t duplicates, conflicts, changed;
	batch_t ring[PIPELINE_MAX + 1];
	int head, inflight; /* oldest in-flight batch, how many */
	batch_t *cur;	    /* being filled */
	idn_arena_t arena;  /* one record's parse, reset per line */
	uint64_t created, skipped, rejected;
	uint64_t done_line, done_off; /* outcome known up to here */
	uint64_t start_line;	      /* resumed after this line */
	uint64_t base_created, base_skipped, base_rejected, base_off;
	char *first[FIRST_REJECTS];
	int nfirst;
	uint64_t size; /* input bytes (regular file), 0 unknown */
	char *map;     /* a regular file, mapped: lines are read from it */
	double t0, last_progress;
	bool tty;
	int fatal; /* exit status after a failure, 0 none */
} imp_t;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- checkpoint ---- */

static int ckpt_write(imp_t *m)
{
	if (m->ckpt == NULL)
		return 0;
	size_t n = strlen(m->ckpt) + 8;
	char *tmp = malloc(n);
	if (tmp == NULL)
		return -1;
	snprintf(tmp, n, "%s.tmp", m->ckpt);
	FILE *f = fopen(tmp, "w");
	int rc = -1;
	if (f != NULL) {
		fprintf(f,
			"idnprogress 1\nline %" PRIu64 "\noffset %" PRIu64
			"\ncreated %" PRIu64 "\nskipped %" PRIu64
			"\nrejected %" PRIu64 "\n",
			m->done_line, m->done_off, m->created, m->skipped,
			m->rejected);
		/* the rename makes the file either the old or the new one;
		 * a checkpoint that lags is safe (creates never overwrite) */
		if (fclose(f) == 0 && rename(tmp, m->ckpt) == 0)
			rc = 0;
	}
	if (rc)
		fprintf(stderr, "idctl: import: cannot write %s: %s\n", m->ckpt,
			strerror(errno));
	free(tmp);
	return rc;
}

static int ckpt_read(imp_t *m)
{
	FILE *f = fopen(m->ckpt, "r");
	if (f == NULL) {
		if (errno == ENOENT) {
			fprintf(stderr,
				"idctl: import: no %s: starting at the "
				"first line\n",
				m->ckpt);
			return 0;
		}
		fprintf(stderr, "idctl: import: cannot read %s: %s\n", m->ckpt,
			strerror(errno));
		return -1;
	}
	int ver = 0,
	    got = fscanf(f,
			 "idnprogress %d line %" SCNu64 " offset %" SCNu64
			 " created %" SCNu64 " skipped %" SCNu64
			 " rejected %" SCNu64,
			 &ver, &m->start_line, &m->base_off, &m->base_created,
			 &m->base_skipped, &m->base_rejected);
	fclose(f);
	if (got != 6 || ver != 1) {
		fprintf(stderr,
			"idctl: import: %s is not an import checkpoint\n",
			m->ckpt);
		return -1;
	}
	m->created = m->base_created;
	m->skipped = m->base_skipped;
	m->rejected = m->base_rejected;
	m->done_line = m->start_line;
	m->done_off = m->base_off;
	return 0;
}

/* ---- progress ---- */

static void progress(imp_t *m, bool final)
{
	if (m->quiet)
		return;
	double t = now_s();
	if (!final && t - m->last_progress < (m->tty ? 0.2 : 5.0))
		return;
	m->last_progress = t;
	double el = t - m->t0;
	uint64_t recs = m->created + m->skipped + m->rejected -
			(m->base_created + m->base_skipped + m->base_rejected);
	double rate = el > 0 ? (double)recs / el : 0;
	double frac = m->size ? (double)m->done_off / (double)m->size : -1;
	if (!m->tty) {
		if (!final)
			fprintf(stderr,
				"import: line %" PRIu64 ", %" PRIu64
				" created, %" PRIu64 " skipped, %" PRIu64
				" rejected, %.0f records/s\n",
				m->done_line, m->created, m->skipped,
				m->rejected, rate);
		return;
	}
	char bar[31];
	int fill = frac < 0 ? 0 : (int)(frac * 30 + 0.5);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	char eta[32] = "?";
	double done_bytes = (double)(m->done_off - m->base_off);
	if (frac >= 0 && done_bytes > 0 && el > 0) {
		double left = (double)(m->size - m->done_off) * el / done_bytes;
		snprintf(eta, sizeof(eta), "%d:%02d", (int)left / 60,
			 (int)left % 60);
	}
	if (frac >= 0)
		fprintf(stderr,
			"\r[%s] %5.1f%%  line %" PRIu64 "  %.0f rec/s  "
			"ETA %s   ",
			bar, frac * 100, m->done_line, rate, eta);
	else
		fprintf(stderr, "\rline %" PRIu64 "  %.0f rec/s   ",
			m->done_line, rate);
	if (final)
		fputc('\n', stderr);
}

/* ---- outcomes ---- */

static void reject(imp_t *m, uint64_t line, const char *reason)
{
	m->rejected++;
	char buf[600];
	snprintf(buf, sizeof(buf), "line %" PRIu64 ": %s", line, reason);
	if (m->nfirst < FIRST_REJECTS)
		m->first[m->nfirst++] = strdup(buf);
	if (m->rej)
		fprintf(m->rej, "%s\n", buf);
}

static int ent_add(batch_t *b, uint64_t line, const char *reason)
{
	if (b->nents == b->capents) {
		size_t cap = b->capents ? b->capents * 2 : 1024;
		entry_t *e = realloc(b->ents, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		b->ents = e;
		b->capents = cap;
	}
	char *r = NULL;
	if (reason && (r = strdup(reason)) == NULL)
		return -1;
	entry_t *e = &b->ents[b->nents++];
	e->line = line;
	e->reason = r; /* freed with the batch */
	return 0;
}

/* Applies the node's answer to the oldest batch in flight. */
static int ack(imp_t *m)
{
	batch_t *b = &m->ring[m->head];
	idn_env_t env;
	idn_msg_t msg;
	int err = ctl_recv(&m->conn, &env, &msg);
	if (err) {
		fprintf(stderr, "idctl: import: %s: %s\n", m->sock,
			idn_strerror(err));
		return -1;
	}
	if (env.request_id != b->id) {
		fprintf(stderr,
			"idctl: import: the node answered request %u, "
			"expected %u\n",
			env.request_id, b->id);
		return -1;
	}
	if (msg.hdr.rc != IDN_RC_SUCCESS) {
		idn_bytes_t text = {NULL, 0};
		idn_error_body_decode(msg.rest, &text);
		fprintf(stderr,
			"idctl: import: batch ending at line %" PRIu64
			" failed, nothing of it applied: %s (rc %u)%s%.*s\n",
			b->end_line, import_rc_name(msg.hdr.rc), msg.hdr.rc,
			text.len ? ": " : "", (int)text.len,
			text.p ? (const char *)text.p : "");
		if (msg.hdr.rc == IDN_RC_NOT_SUPPORTED)
			fprintf(stderr,
				"idctl: import: the node does not "
				"support bulk create (an older idnode?)\n");
		return -1;
	}
	idn_rd_t rd;
	idn_rd_init(&rd, msg.rest.p, msg.rest.len);
	uint32_t n = idn_rd_u32(&rd);
	if (rd.err || n != b->nrec || idn_rd_left(&rd) != 4 * (size_t)n) {
		fprintf(stderr, "idctl: import: malformed bulk create reply\n");
		return -1;
	}
	for (size_t i = 0; i < b->nents; i++) {
		entry_t *e = &b->ents[i];
		if (e->reason) {
			reject(m, e->line, e->reason);
			free(e->reason);
			continue;
		}
		uint32_t rc = idn_rd_u32(&rd);
		if (rc == IDN_RC_SUCCESS)
			m->created++;
		else if (rc == IDN_RC_ALREADY_EXISTS)
			m->skipped++;
		else {
			char why[96];
			snprintf(why, sizeof(why),
				 "the node refused it: %s (rc %u)",
				 import_rc_name(rc), rc);
			reject(m, e->line, why);
		}
	}
	b->nents = 0;
	m->done_line = b->end_line;
	m->done_off = b->end_off;
	m->head = (m->head + 1) % (PIPELINE_MAX + 1);
	m->inflight--;
	if (ckpt_write(m) != 0)
		return -1;
	progress(m, false);
	return 0;
}

static batch_t *batch_open(imp_t *m)
{
	int slot = (m->head + m->inflight) % (PIPELINE_MAX + 1);
	batch_t *b = &m->ring[slot];
	if (b->frame == NULL && (b->frame = malloc(FRAME_CAP)) == NULL)
		return NULL;
	idn_wr_t w;
	ctl_frame_start(&m->conn, &w, b->frame, IDN_OC_BULK_CREATE, 0, &b->id,
			&b->mark);
	b->count_pos = w.len;
	idn_wr_u32(&w, 0);
	b->len = w.len;
	b->nrec = 0;
	b->nents = 0;
	return b;
}

/* Sends the batch being filled (waiting for the oldest answer first when
 * the pipeline is full). A batch with no records is acknowledged at once. */
static int batch_send(imp_t *m, uint64_t line, uint64_t off)
{
	batch_t *b = m->cur;
	m->cur = NULL;
	b->end_line = line;
	b->end_off = off;
	idn_wr_t w = {b->frame, b->len, FRAME_CAP, 0};
	idn_wr_patch_u32(&w, b->count_pos, b->nrec);
	idn_msg_finish(&w, b->mark, NULL);
	if (w.err)
		return -1;
	if (b->nrec == 0) {
		/* only rejects: nothing to ask the node, but they come after
		 * the batches in flight (ordered output and checkpoint) */
		while (m->inflight > 0)
			if (ack(m) != 0)
				return -1;
		for (size_t i = 0; i < b->nents; i++) {
			reject(m, b->ents[i].line, b->ents[i].reason);
			free(b->ents[i].reason);
		}
		b->nents = 0;
		m->done_line = line;
		m->done_off = off;
		return ckpt_write(m);
	}
	int err = ctl_send(&m->conn, w.buf, w.len);
	if (err) {
		fprintf(stderr, "idctl: import: %s: %s\n", m->sock,
			idn_strerror(err));
		return -1;
	}
	m->inflight++;
	if (m->inflight >= m->pipeline)
		return ack(m);
	return 0;
}

/* Appends a parsed record to the current batch, sending batches as they
 * fill. line/off: this line and the offset after it. */
static int add_record(imp_t *m, const rec_t *r, uint64_t line,
		      uint64_t prev_off, const char **reason)
{
	size_t size = 8 + r->id.len;
	for (uint32_t i = 0; i < r->n; i++)
		size += idn_value_size(&r->v[i]);
	/* room for the credential length at the end of the message */
	if (size + IDN_ENV_LEN + IDN_HDR_LEN + 8 + 4 > FRAME_CAP) {
		*reason = "record too large for one message (256 KiB)";
		return 0;
	}
	if (m->cur && (m->cur->len + size + 4 > FRAME_CAP ||
		       m->cur->nrec >= m->batch_max)) {
		if (batch_send(m, line - 1, prev_off) != 0)
			return -1;
	}
	if (m->cur == NULL && (m->cur = batch_open(m)) == NULL)
		return -1;
	batch_t *b = m->cur;
	idn_wr_t w = {b->frame, b->len, FRAME_CAP, 0};
	idn_wr_str(&w, r->id);
	idn_wr_u32(&w, r->n);
	for (uint32_t i = 0; i < r->n; i++)
		idn_value_encode(&w, &r->v[i]);
	if (w.err)
		return -1;
	b->len = w.len;
	b->nrec++;
	return ent_add(b, line, NULL);
}

/* A reject of the record that begins on line first and ends on last
 * (off: the input offset after it). */
static int note_reject(imp_t *m, uint64_t first, uint64_t last, uint64_t off,
		       const char *why)
{
	if (m->cur == NULL && (m->cur = batch_open(m)) == NULL)
		return -1;
	if (ent_add(m->cur, first, why) != 0)
		return -1;
	/* a long run of rejects still moves the checkpoint on */
	if (m->cur->nents >= 8 * (size_t)m->batch_max + 1024)
		return batch_send(m, last, off);
	return 0;
}

/* A digest of a record's values, whatever their order. */
static uint32_t rec_digest(const rec_t *r)
{
	uint64_t sum = r->n;
	for (uint32_t i = 0; i < r->n; i++) {
		const idn_value_t *v = &r->v[i];
		uint32_t f[5] = {v->index, v->ttl, v->ttl_type, v->perms,
				 v->timestamp};
		uint64_t h = digest_bytes(DIGEST_INIT, f, sizeof(f));
		h = digest_bytes(h, &v->type.len, sizeof(v->type.len));
		h = digest_bytes(h, v->type.p, v->type.len);
		h = digest_bytes(h, &v->data.len, sizeof(v->data.len));
		h = digest_bytes(h, v->data.p, v->data.len);
		for (uint32_t k = 0; k < v->nrefs; k++) {
			h = digest_bytes(h, &v->refs[k].index, 4);
			h = digest_bytes(h, v->refs[k].id.p, v->refs[k].id.len);
		}
		sum += h;
	}
	return (uint32_t)(sum ^ sum >> 32);
}

/* Whether the record of line first repeats one of an earlier line: an
 * exact repeat is counted (*dup) and not sent, another record for the
 * same identifier is a conflict (a reason naming both lines). */
static const char *dup_check(imp_t *m, const rec_t *r, uint64_t first,
			     bool *dup, char *why, size_t cap)
{
	uint64_t earlier;
	*dup = false;
	int d = dupset_note(m->dups, r->id, rec_digest(r), first, &earlier);
	if (d < 0)
		return "out of memory";
	if (d == DUP_FULL && !m->dup_full) {
		m->dup_full = true;
		if (!m->quiet)
			fprintf(stderr,
				"idctl: import: line %" PRIu64 ": from here on "
				"only identifiers already seen are checked for "
				"duplicates (the table is full); a later repeat "
				"counts as skipped\n",
				first);
	}
	if (d == DUP_SAME) {
		*dup = true;
		m->duplicates++;
	} else if (d == DUP_CONFLICT) {
		m->conflicts++;
		snprintf(why, cap,
			 "conflict: %.*s is also on line %" PRIu64
			 " with different values; this line is not imported",
			 (int)(r->id.len > 200 ? 200 : r->id.len), r->id.p,
			 earlier);
		return why;
	}
	return NULL;
}

/* Decodes the record's text (from line first on) from --encoding and
 * parses it into r. text (len bytes, line breaks stripped) may be
 * modified. */
static int parse_record(imp_t *m, char *text, size_t len, uint64_t first,
			rec_t *r, char *why, size_t cap)
{
	const char *u;
	size_t ul, bad;
	int e = textenc_decode(&m->enc, text, len, &m->arena, &u, &ul, &bad);
	if (e == -2) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	if (e != 0) {
		/* name where: the line of a multi-line record, the cell */
		char bytes[16] = "";
		for (size_t i = 0; i < 3 && bad + i < len; i++)
			snprintf(bytes + 3 * i, 4, " %02X",
				 (unsigned char)text[bad + i]);
		uint64_t loff;
		uint32_t col;
		csv_locate(text, bad, &loff, &col);
		char where[80];
		int k = m->csv ? snprintf(where, sizeof(where), "column %u",
					  col)
			       : snprintf(where, sizeof(where), "byte %zu",
					  bad + 1);
		if (loff) /* a cell with line breaks: the line it is on */
			snprintf(where + k, sizeof(where) - (size_t)k,
				 " of line %" PRIu64, first + loff);
		static const char *const names[] = {"UTF-8", "GBK", "GB18030"};
		snprintf(why, cap, "%s: bytes%s are not valid %s%s", where,
			 bytes, names[m->enc.enc],
			 m->enc.enc == ENC_UTF8
				 ? " (a GBK or GB18030 file? give --encoding "
				   "gbk or --encoding gb18030)"
				 : "");
		return -1;
	}
	if (!m->csv)
		return rec_parse_json(u, ul, r, &m->arena, why, cap);
	if (csv_record(&m->csvh, (char *)u, ul, r, &m->arena, why, cap) != 0)
		return -1;
	dupset_prefetch(m->dups, r->id); /* dup_check comes after the check */
	return rec_check(r, &m->arena, why, cap);
}

static void print_summary(imp_t *m, double secs)
{
	uint64_t here = m->created + m->skipped + m->rejected -
			(m->base_created + m->base_skipped + m->base_rejected);
	double rate = secs > 0 ? (double)here / secs : 0;
	if (m->json) {
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(m->file));
		json_object_set_new(o, "created",
				    json_integer((json_int_t)m->created));
		json_object_set_new(o, "skipped",
				    json_integer((json_int_t)m->skipped));
		json_object_set_new(o, "rejected",
				    json_integer((json_int_t)m->rejected));
		json_object_set_new(o, "duplicates",
				    json_integer((json_int_t)m->duplicates));
		json_object_set_new(o, "conflicts",
				    json_integer((json_int_t)m->conflicts));
		if (m->genbatch)
			json_object_set_new(
				o, "changed",
				json_integer((json_int_t)m->changed));
		json_object_set_new(o, "lines",
				    json_integer((json_int_t)m->done_line));
		json_object_set_new(o, "resumed_after",
				    json_integer((json_int_t)m->start_line));
		json_object_set_new(o, "seconds", json_real(secs));
		json_object_set_new(o, "records_per_s", json_real(rate));
		json_object_set_new(o, "complete", json_boolean(!m->fatal));
		json_t *a = json_array();
		for (int i = 0; i < m->nfirst; i++)
			json_array_append_new(a, json_string(m->first[i]));
		json_object_set_new(o, "first_rejects", a);
		ctl_print_json(o);
		json_decref(o);
		return;
	}
	printf("%s %s: %" PRIu64 " created, %" PRIu64 " skipped (already "
	       "existed), %" PRIu64 " rejected",
	       m->fatal ? "import stopped," : "imported", m->file, m->created,
	       m->skipped, m->rejected);
	if (m->conflicts)
		printf(" (%" PRIu64 " of them conflicting duplicates)",
		       m->conflicts);
	if (m->duplicates)
		printf(", %" PRIu64 " exact duplicates left out",
		       m->duplicates);
	if (m->genbatch)
		printf(", %" PRIu64 " other operations done", m->changed);
	printf("; %" PRIu64 " lines", m->done_line);
	if (m->start_line)
		printf(" (resumed after line %" PRIu64 ")", m->start_line);
	printf(" in %.2f s, %.0f records/s\n", secs, rate);
	if (m->nfirst) {
		printf("first rejects%s:\n",
		       m->rejects_path ? "" : " (--rejects FILE for all)");
		for (int i = 0; i < m->nfirst; i++)
			printf("  %s\n", m->first[i]);
	}
}

/* Skips to the resume point: seeks on a regular file, else reads lines. */
static int skip_to(imp_t *m, char **line, size_t *cap, uint64_t *lineno,
		   uint64_t *off)
{
	if (m->start_line <= *lineno)
		return 0;
	struct stat st;
	if (fstat(fileno(m->in), &st) == 0 && S_ISREG(st.st_mode) &&
	    m->base_off <= (uint64_t)st.st_size && m->base_off > 0) {
		/* the checkpoint's offset must follow a line break */
		char c = 0;
		if (fseeko(m->in, (off_t)m->base_off - 1, SEEK_SET) == 0 &&
		    fread(&c, 1, 1, m->in) == 1 && c == '\n') {
			*lineno = m->start_line;
			*off = m->base_off;
			return 0;
		}
		fprintf(stderr,
			"idctl: import: %s does not match %s (changed "
			"since?): remove it to start over\n",
			m->ckpt, m->file);
		return -1;
	}
	while (*lineno < m->start_line) {
		ssize_t n = getline(line, cap, m->in);
		if (n < 0) {
			fprintf(stderr,
				"idctl: import: %s ends before the "
				"checkpoint's line %" PRIu64 "\n",
				m->file, m->start_line);
			return -1;
		}
		(*lineno)++;
		*off += (uint64_t)n;
	}
	return 0;
}

/* Appends the next line of stdin to the record being built in m->rec.
 * Returns its length, -1 at the end or on a read error (ferror), -2 when
 * out of memory. */
static ssize_t rec_append(imp_t *m, size_t *used, char **line, size_t *lcap)
{
	ssize_t k = getline(line, lcap, m->in);
	if (k <= 0)
		return k;
	if (*used + (size_t)k + 1 > m->reccap) {
		size_t cap = 2 * (*used + (size_t)k + 1);
		char *p = realloc(m->rec, cap);
		if (p == NULL)
			return -2;
		m->rec = p;
		m->reccap = cap;
	}
	memcpy(m->rec + *used, *line, (size_t)k);
	*used += (size_t)k;
	return k;
}

/* The next record's bytes at input offset off: one line, or for CSV as
 * many as its quoted cells span (RFC 4180). *text points into the map,
 * the line buffer or m->rec; *lines is the lines it covers. *open: a CSV
 * quote that no later line closes; in a mapped file the record is then
 * its first line alone, so the import goes on with the next. Returns 0,
 * 1 at the end of the input, -1 on a read error. */
static int next_span(imp_t *m, char **line, size_t *lcap, uint64_t off,
		     char **text, size_t *n, uint64_t *lines, bool *open)
{
	*open = false;
	*lines = 1;
	if (m->map != NULL) {
		if (off >= m->size)
			return 1;
		char *p = m->map + off;
		size_t left = m->size - off;
		const char *nl = memchr(p, '\n', left);
		*text = p;
		*n = nl ? (size_t)(nl - p) + 1 : left;
		size_t len;
		if (m->csv && memchr(p, '"', *n) != NULL) {
			if (csv_record_len(p, left, &len, lines))
				*n = len;
			else
				*open = true, *lines = 1;
		}
		return 0;
	}
	ssize_t k = getline(line, lcap, m->in);
	if (k < 0)
		return ferror(m->in) ? -1 : 1;
	*text = *line;
	*n = (size_t)k;
	size_t len;
	uint64_t nl;
	if (!m->csv || memchr(*line, '"', *n) == NULL ||
	    csv_record_len(*line, *n, &len, &nl))
		return 0;
	/* a quoted cell goes on over the next lines */
	size_t used = 0;
	if (m->reccap < *n + 1) {
		free(m->rec);
		m->reccap = 2 * *n + 1024;
		if ((m->rec = malloc(m->reccap)) == NULL)
			return -1;
	}
	memcpy(m->rec, *line, *n);
	used = *n;
	*open = true;
	while ((k = rec_append(m, &used, line, lcap)) > 0) {
		(*lines)++;
		if (csv_record_len(m->rec, used, &len, &nl)) {
			*open = false;
			break;
		}
	}
	if (k == -2 || (k < 0 && ferror(m->in)))
		return -1;
	*text = m->rec;
	*n = used;
	return 0;
}

/* Reads the CSV header (after a byte order mark) from the first line. */
static int read_header(imp_t *m, char **line, size_t *lcap, uint64_t *lineno,
		       uint64_t *off)
{
	char *text;
	size_t n;
	uint64_t lines;
	bool open;
	int e = next_span(m, line, lcap, 0, &text, &n, &lines, &open);
	if (e != 0) {
		fprintf(stderr, "idctl: import: %s: %s\n", m->file,
			e > 0 ? "empty, no CSV header" : strerror(errno));
		return -1;
	}
	*lineno = lines;
	*off = n;
	size_t l = n;
	while (l > 0 && (text[l - 1] == '\n' || text[l - 1] == '\r'))
		l--;
	size_t bom = textenc_bom(&m->enc, text, l);
	const char *u;
	size_t ul, bad;
	if (textenc_decode(&m->enc, text + bom, l - bom, &m->arena, &u, &ul,
			   &bad) != 0) {
		fprintf(stderr,
			"idctl: import: %s: line 1 (the header): byte %zu is "
			"not valid in the encoding (see --encoding)\n",
			m->file, bom + bad + 1);
		return -1;
	}
	if (csv_header(&m->csvh, (char *)u, ul, m->file) != 0)
		return -1;
	if (m->start_line == 0) {
		m->done_line = *lineno;
		m->done_off = *off;
	}
	return 0;
}

static int run_import(imp_t *m)
{
	char *line = NULL;
	size_t lcap = 0;
	uint64_t lineno = 0, off = 0;
	char why[512];
	int rc = -1;
	if (m->csv && read_header(m, &line, &lcap, &lineno, &off) != 0)
		goto out;
	if (skip_to(m, &line, &lcap, &lineno, &off) != 0)
		goto out;
	for (;;) {
		/* a mapped file is read in place: no copy through read(2),
		 * which cost idctl a third of its time on large inputs */
		char *text;
		size_t n;
		uint64_t lines;
		bool open;
		int e = next_span(m, &line, &lcap, off, &text, &n, &lines,
				  &open);
		if (e < 0) {
			fprintf(stderr, "idctl: import: reading %s: %s\n",
				m->file, strerror(errno));
			goto out;
		}
		if (e > 0)
			break;
		uint64_t prev = off, first = lineno + 1;
		lineno += lines;
		off += n;
		size_t l = n;
		while (l > 0 && (text[l - 1] == '\n' || text[l - 1] == '\r'))
			l--;
		if (first == 1) { /* a JSON Lines file saved with a BOM */
			size_t bom = textenc_bom(&m->enc, text, l);
			text += bom;
			l -= bom;
		}
		size_t s = 0;
		while (s < l && (text[s] == ' ' || text[s] == '\t'))
			s++;
		if (s == l) { /* blank lines carry nothing */
			if (m->cur == NULL && m->inflight == 0) {
				m->done_line = lineno;
				m->done_off = off;
			}
			continue;
		}
		rec_t r;
		idn_arena_reset(&m->arena);
		const char *reason = NULL;
		bool dup = false;
		if (open)
			reason = lines > 1 ? "a quote opened on this line is "
					     "never closed (the record runs "
					     "to the end of the input)"
					   : "a quote opened on this line is "
					     "never closed";
		else if (parse_record(m, text, l, first, &r, why, sizeof(why)))
			reason = why;
		else
			reason =
				dup_check(m, &r, first, &dup, why, sizeof(why));
		int err = 0;
		if (reason == NULL && !dup)
			err = add_record(m, &r, first, prev, &reason);
		if (err == 0 && reason)
			err = note_reject(m, first, lineno, off, reason);
		if (err)
			goto out;
		progress(m, false);
	}
	if (m->map == NULL && ferror(m->in)) {
		fprintf(stderr, "idctl: import: reading %s: %s\n", m->file,
			strerror(errno));
		goto out;
	}
	if (m->cur && batch_send(m, lineno, off) != 0)
		goto out;
	while (m->inflight > 0)
		if (ack(m) != 0)
			goto out;
	if (lineno > m->done_line) { /* trailing blank lines */
		m->done_line = lineno;
		m->done_off = off;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

/* ---- HANDLE.NET batch files (genbatch.h) ---- */

/* An operation other than CREATE, in file order: the batches before it
 * are answered first. Returns 0 (done or rejected) or -1. */
static int send_op(imp_t *m, const gb_op_t *op, uint8_t *buf)
{
	if (m->cur && batch_send(m, op->line - 1, 0) != 0)
		return -1;
	while (m->inflight > 0)
		if (ack(m) != 0)
			return -1;
	idn_wr_t w;
	idn_msg_mark_t mk;
	uint32_t id;
	ctl_frame_start(&m->conn, &w, buf, gb_opcode(op), 0, &id, &mk);
	gb_body(op, &w);
	idn_msg_finish(&w, mk, NULL);
	if (w.err) {
		reject(m, op->line, "request too large for one message");
		return 0;
	}
	idn_env_t env;
	idn_msg_t msg;
	int err = ctl_send(&m->conn, w.buf, w.len);
	if (err == 0)
		err = ctl_recv(&m->conn, &env, &msg);
	if (err == 0 && env.request_id != id)
		err = IDN_EPROTO;
	if (err) {
		fprintf(stderr, "idctl: import: %s: %s\n", m->sock,
			idn_strerror(err));
		return -1;
	}
	if (msg.hdr.rc == IDN_RC_SUCCESS) {
		m->changed++;
		return 0;
	}
	idn_bytes_t text = {NULL, 0};
	idn_error_body_decode(msg.rest, &text);
	char why[512];
	snprintf(why, sizeof(why),
		 "%s %.*s: the node refused it: %s (rc %u)%s%.*s", op->verb,
		 (int)(op->id.len > 200 ? 200 : op->id.len), op->id.p,
		 import_rc_name(msg.hdr.rc), msg.hdr.rc, text.len ? ": " : "",
		 (int)(text.len > 200 ? 200 : text.len),
		 text.p ? (const char *)text.p : "");
	reject(m, op->line, why);
	return 0;
}

/* CREATE blocks go in batches as records do; ADD, MODIFY, REMOVE,
 * DELETE, HOME and UNHOME one at a time in order. AUTHENTICATE and
 * SESSIONSETUP have nothing to do: the control socket acts as the node's
 * operator. */
static int run_genbatch(imp_t *m)
{
	gb_reader_t rd;
	gb_open(&rd, m->in);
	uint8_t *buf = malloc(FRAME_CAP);
	char why[512];
	bool told = false;
	int rc = -1;
	gb_op_t op;
	if (buf == NULL)
		goto out;
	for (;;) {
		idn_arena_reset(&m->arena);
		int e = gb_next(&rd, &op, &m->arena, why, sizeof(why));
		if (e == 0)
			break;
		const char *reason = e < 0 ? why : NULL;
		int err = 0;
		if (e > 0 && (op.kind == GB_AUTH || op.kind == GB_SESSION)) {
			if (!told && !m->quiet)
				fprintf(stderr,
					"idctl: import: %s:%" PRIu64 ": %s "
					"not needed: import writes as the "
					"node's operator (control socket)\n",
					m->file, op.line, op.verb);
			told = true;
			continue;
		}
		if (e > 0 && op.kind != GB_CREATE) {
			if (send_op(m, &op, buf) != 0)
				goto out;
			progress(m, false);
			continue;
		}
		rec_t r = {op.id, op.v, op.n};
		if (e > 0 && rec_check(&r, &m->arena, why, sizeof(why)))
			reason = why;
		if (reason == NULL)
			err = add_record(m, &r, op.line, 0, &reason);
		if (err == 0 && reason)
			err = note_reject(m, op.line, op.line, 0, reason);
		if (err)
			goto out;
		progress(m, false);
	}
	if (ferror(m->in)) {
		fprintf(stderr, "idctl: import: reading %s: %s\n", m->file,
			strerror(errno));
		goto out;
	}
	if (m->cur && batch_send(m, rd.line, 0) != 0)
		goto out;
	while (m->inflight > 0)
		if (ack(m) != 0)
			goto out;
	m->done_line = rd.line;
	rc = 0;
out:
	free(buf);
	gb_close(&rd);
	return rc;
}

/* Whether the input's first line that is not blank or a comment begins
 * a HANDLE.NET batch operation; the input is rewound (a regular file) or
 * the line pushed back (stdin: only a first line shorter than stdio's
 * buffer can be, so only a regular file is sniffed). */
static bool sniff_genbatch(FILE *in)
{
	struct stat st;
	if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool yes = false;
	while ((n = getline(&line, &cap, in)) >= 0) {
		size_t l = strcspn(line, "\r\n"), s = 0;
		if (l >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
			s = 3;
		while (s < l && (line[s] == ' ' || line[s] == '\t'))
			s++;
		if (s == l || line[s] == '#')
			continue;
		yes = gb_detect(line, l);
		break;
	}
	free(line);
	rewind(in);
	return yes;
}

int import_main(ctl_opts_t *o, int argc, char **argv)
{
	enum {
		O_FORMAT = 256,
		O_RESUME,
		O_REJECTS,
		O_BATCH,
		O_PIPELINE,
		O_QUIET,
		O_ENCODING
	};
	static const struct option lopts[] = {
		{"format", required_argument, NULL, O_FORMAT},
		{"resume", no_argument, NULL, O_RESUME},
		{"rejects", required_argument, NULL, O_REJECTS},
		{"batch", required_argument, NULL, O_BATCH},
		{"pipeline", required_argument, NULL, O_PIPELINE},
		{"quiet", no_argument, NULL, O_QUIET},
		{"encoding", required_argument, NULL, O_ENCODING},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static imp_t m; /* large; zeroed */
	const char *format = NULL, *encoding = "utf-8";
	m.sock = ctl_control_path(o);
	m.timeout_ms = ctl_timeout(o, 60000);
	m.json = o->json;
	m.batch_max = 4096;
	m.pipeline = 16;
	int c;
	long x;
	char *end;
	optind = 0; /* a fresh scan: argv[0] is the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		switch (c) {
		case O_FORMAT:
			format = optarg;
			break;
		case O_RESUME:
			m.resume = true;
			break;
		case O_REJECTS:
			m.rejects_path = optarg;
			break;
		case O_QUIET:
			m.quiet = true;
			break;
		case O_ENCODING:
			encoding = optarg;
			break;
		case O_BATCH:
		case O_PIPELINE:
			errno = 0;
			x = strtol(optarg, &end, 10);
			if (*end || errno || x < 1 ||
			    (c == O_PIPELINE && x > PIPELINE_MAX) ||
			    x > 100000000) {
				fprintf(stderr,
					"idctl: import: bad value '%s' "
					"for --%s (see idctl import --help)\n",
					optarg,
					c == O_BATCH ? "batch" : "pipeline");
				return 2;
			}
			if (c == O_BATCH)
				m.batch_max = (uint32_t)x;
			else
				m.pipeline = (int)x;
			break;
		case 'h':
			fputs(import_usage, stdout);
			return 0;
		default:
			return ctl_opt_error("import", c, argv[optind - 1]);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "idctl: import needs exactly one FILE (- for "
				"stdin) (see idctl import --help)\n");
		return 2;
	}
	m.file = argv[optind];
	if (format && strcmp(format, "csv") && strcmp(format, "jsonl") &&
	    strcmp(format, "json") && strcmp(format, "batch")) {
		fprintf(stderr,
			"idctl: import: unknown --format '%s' (jsonl, "
			"csv, batch)\n",
			format);
		return 2;
	}
	if (textenc_open(&m.enc, encoding) != 0) {
		fprintf(stderr,
			"idctl: import: unknown --encoding '%s' (utf-8, gbk, "
			"gb18030)\n",
			encoding);
		return 2;
	}
	size_t fl = strlen(m.file);
	m.csv = format ? !strcmp(format, "csv")
		       : fl > 4 && !strcasecmp(m.file + fl - 4, ".csv");
	m.genbatch = format && !strcmp(format, "batch");
	bool is_stdin = !strcmp(m.file, "-");
	if (m.resume && is_stdin) {
		fprintf(stderr,
			"idctl: import: --resume needs a FILE (stdin has "
			"no checkpoint)\n");
		textenc_close(&m.enc);
		return 2;
	}
	int status = 1;
	idn_arena_init(&m.arena, 0);

	m.in = is_stdin ? stdin : fopen(m.file, "r");
	if (m.in == NULL) {
		fprintf(stderr, "idctl: import: cannot open %s: %s\n", m.file,
			strerror(errno));
		goto out;
	}
	/* large reads: stdio's default buffer is one page, a read(2) per
	 * 4 KiB */
	setvbuf(m.in, NULL, _IOFBF, (size_t)1 << 20);
	struct stat st;
	if (fstat(fileno(m.in), &st) == 0 && S_ISREG(st.st_mode))
		m.size = (uint64_t)st.st_size;
	/* about one identifier per 48 bytes of a large file */
	if ((m.dups = dupset_new(m.size / 48)) == NULL)
		goto out;
	if (!m.csv && !m.genbatch && !format && sniff_genbatch(m.in))
		m.genbatch = true;
	if (m.genbatch && m.enc.enc != ENC_UTF8) {
		fprintf(stderr, "idctl: import: HANDLE.NET batch files are "
				"read as UTF-8 (--encoding utf-8)\n");
		goto out;
	}
	if (m.genbatch && m.resume) {
		fprintf(stderr, "idctl: import: --resume is not offered for "
				"HANDLE.NET batch files (their operations "
				"are not all repeatable)\n");
		goto out;
	}
	if (m.size > 0 && m.size <= SIZE_MAX && !m.genbatch) {
		/* private and writable: CSV cells are unquoted in place */
		void *p = mmap(NULL, (size_t)m.size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE, fileno(m.in), 0);
		if (p != MAP_FAILED) {
			madvise(p, (size_t)m.size, MADV_SEQUENTIAL);
			m.map = p;
		}
	}
	if (!is_stdin && !m.genbatch) {
		m.ckpt = malloc(fl + 16);
		if (m.ckpt == NULL)
			goto out;
		snprintf(m.ckpt, fl + 16, "%s.idnprogress", m.file);
		if (m.resume && ckpt_read(&m) != 0)
			goto out;
	}
	if (m.rejects_path) {
		m.rej = fopen(m.rejects_path, m.start_line ? "a" : "w");
		if (m.rej == NULL) {
			fprintf(stderr, "idctl: import: cannot write %s: %s\n",
				m.rejects_path, strerror(errno));
			goto out;
		}
	}
	int err = ctl_conn_open(&m.conn, m.sock, m.timeout_ms);
	if (err) {
		fprintf(stderr, "idctl: import: cannot connect to %s: %s\n",
			m.sock, idn_strerror(err));
		goto out;
	}
	m.tty = isatty(STDERR_FILENO);
	m.t0 = now_s();
	m.last_progress = m.t0;
	if ((m.genbatch ? run_genbatch(&m) : run_import(&m)) != 0)
		m.fatal = 1;
	progress(&m, true);
	print_summary(&m, now_s() - m.t0);
	if (!m.fatal && m.ckpt)
		unlink(m.ckpt); /* done: nothing left to resume */
	status = m.fatal || m.rejected ? 1 : 0;
out:
	if (m.conn.buf)
		ctl_conn_close(&m.conn);
	if (m.in && !is_stdin)
		fclose(m.in);
	if (m.map != NULL)
		munmap(m.map, (size_t)m.size);
	if (m.rej && fclose(m.rej) != 0) {
		fprintf(stderr, "idctl: import: writing %s: %s\n",
			m.rejects_path, strerror(errno));
		status = 1;
	}
	for (int i = 0; i <= PIPELINE_MAX; i++) {
		for (size_t k = 0; k < m.ring[i].nents; k++)
			free(m.ring[i].ents[k].reason);
		free(m.ring[i].ents);
		free(m.ring[i].frame);
	}
	csv_head_free(&m.csvh);
	textenc_close(&m.enc);
	dupset_free(m.dups);
	free(m.rec);
	for (int i = 0; i < m.nfirst; i++)
		free(m.first[i]);
	free(m.ckpt);
	idn_arena_free(&m.arena);
	return status;
}
