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
#include "b64.h"
#include "ctlutil.h"
#include "error.h"
#include "hex.h"
#include "ident.h"
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
	{"format", 0, true},  {"resume", 0, false},  {"rejects", 0, true},
	{"batch", 0, true},   {"pipeline", 0, true}, {"quiet", 0, false},
	{"help", 'h', false}, {NULL, 0, false},
};

/* ---- the import ---- */

static const char import_usage[] =
	"usage: idctl -C SOCKET import FILE|- [--format jsonl|csv]\n"
	"             [--resume] [--rejects FILE] [--batch N] [--pipeline N]\n"
	"             [--timeout MS] [--quiet] [--json]\n"
	"\n"
	"Creates the records of FILE (- for stdin) through the node's control\n"
	"socket (-C or $IDNODE_CONTROL), in batches that the node writes in "
	"one\n"
	"durable transaction each. Existing identifiers are never "
	"overwritten:\n"
	"they are counted as skipped, so running the same file again is safe.\n"
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
	"  references ([{\"handle\",\"index\"}]).\n"
	"CSV (--format csv, or a .csv file): a header handle,INDEX:TYPE,...\n"
	"  then one record a line; each non-empty cell is a string value of "
	"its\n"
	"  column (ttl 86400, permissions rwr-); \"quoted\" cells may hold "
	"commas.\n"
	"\n"
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
	uint32_t index;
	char *type;
} column_t;

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
	char *ckpt;	/* FILE.idnprogress, NULL for stdin */
	column_t *cols; /* CSV header */
	uint32_t ncols;
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

/* ---- parsing one record ---- */

typedef struct {
	idn_bytes_t id;
	idn_value_t *v;
	uint32_t n;
} rec_t;

static int base64_decode(const char *s, size_t n, idn_arena_t *a,
			 idn_bytes_t *out)
{
	return idn_base64_decode_arena(s, n, IDN_B64_LENIENT, a, out) ? -1 : 0;
}

static bool get_u32(const jv_t *j, uint32_t *out)
{
	if (j == NULL || j->kind != JV_NUMBER || !j->isint)
		return false;
	*out = j->u;
	return true;
}

static bool is_str(const jv_t *j)
{
	return j != NULL && j->kind == JV_STRING;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static bool parse_time(const char *str, size_t len, uint32_t *out)
{
	struct tm tm = {0};
	char z = 0, s[21];
	if (len != 20)
		return false;
	memcpy(s, str, 20);
	s[20] = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t < 0 || t > 0xffffffffLL)
		return false;
	*out = (uint32_t)t;
	return true;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(why, cap, __VA_ARGS__);                               \
		return -1;                                                     \
	} while (0)

/* The jv string as a NUL-terminated string for messages (cut). */
static const char *cstr(const jv_t *j, char *buf, size_t cap)
{
	size_t n = j->len < cap - 1 ? j->len : cap - 1;
	memcpy(buf, j->s, n);
	buf[n] = 0;
	return buf;
}

static int json_data(const jv_t *d, idn_value_t *v, idn_arena_t *a, char *why,
		     size_t cap)
{
	if (is_str(d)) { /* shorthand for format string */
		v->data = idn_bytes(d->s, d->len);
		return 0;
	}
	const jv_t *fj = jv_get(d, "format");
	const jv_t *val = jv_get(d, "value");
	if (!is_str(fj) || val == NULL)
		FAIL("value %u: data needs format and value", v->index);
	char fmt[48];
	cstr(fj, fmt, sizeof(fmt));
	bool s = is_str(val);
	if (!strcmp(fmt, "string") && s) {
		v->data = idn_bytes(val->s, val->len);
	} else if (!strcmp(fmt, "base64") && s) {
		if (base64_decode(val->s, val->len, a, &v->data) != 0)
			FAIL("value %u: data is not valid base64", v->index);
	} else if (!strcmp(fmt, "hex") && s) {
		if (idn_hex_decode(val->s, val->len, a, &v->data) != 0)
			FAIL("value %u: data is not valid hex", v->index);
	} else if (!strcmp(fmt, "admin") && val->kind == JV_OBJECT) {
		const jv_t *h = jv_get(val, "handle");
		const jv_t *bits = jv_get(val, "permissions");
		idn_hs_admin_t adm = {IDN_ADM_ALL, {0}, 0};
		if (!is_str(h) || !get_u32(jv_get(val, "index"), &adm.index))
			FAIL("value %u: admin data needs handle and index",
			     v->index);
		adm.admin = idn_bytes(h->s, h->len);
		if (bits) {
			if (!is_str(bits) || bits->len == 0 || bits->len > 16)
				FAIL("value %u: admin permissions must be a "
				     "string of 0 and 1",
				     v->index);
			adm.perms = 0;
			for (size_t i = 0; i < bits->len; i++) {
				if (bits->s[i] != '0' && bits->s[i] != '1')
					FAIL("value %u: admin permissions must "
					     "be a string of 0 and 1",
					     v->index);
				adm.perms = (uint16_t)(adm.perms << 1 |
						       (bits->s[i] == '1'));
			}
		}
		size_t n = 16 + adm.admin.len;
		uint8_t *buf = idn_arena_alloc(a, n);
		if (buf == NULL)
			FAIL("out of memory");
		idn_wr_t w;
		idn_wr_init(&w, buf, n);
		idn_hs_admin_encode(&w, &adm);
		if (w.err)
			FAIL("value %u: admin data too long", v->index);
		v->data = idn_bytes(buf, w.len);
	} else if (!strcmp(fmt, "site")) {
		FAIL("value %u: data format site cannot be imported; use "
		     "base64 (as idctl export writes HS_SITE)",
		     v->index);
	} else {
		FAIL("value %u: unknown data format '%s' or value of the "
		     "wrong kind",
		     v->index, fmt);
	}
	return 0;
}

static int json_value(const jv_t *o, idn_value_t *v, idn_arena_t *a, char *why,
		      size_t cap, uint32_t pos)
{
	memset(v, 0, sizeof(*v));
	v->ttl = IDN_TTL_DEFAULT;
	v->perms = IDN_PERM_DEFAULT;
	if (o->kind != JV_OBJECT)
		FAIL("value #%u is not an object", pos + 1);
	if (!get_u32(jv_get(o, "index"), &v->index))
		FAIL("value #%u: index must be an integer 0..4294967295",
		     pos + 1);
	const jv_t *t = jv_get(o, "type");
	if (!is_str(t) || t->len == 0)
		FAIL("value %u: type must be a non-empty string", v->index);
	v->type = idn_bytes(t->s, t->len);
	const jv_t *d = jv_get(o, "data");
	if (d == NULL)
		FAIL("value %u: no data", v->index);
	if (json_data(d, v, a, why, cap) != 0)
		return -1;
	const jv_t *j;
	if ((j = jv_get(o, "ttl")) && !get_u32(j, &v->ttl))
		FAIL("value %u: ttl must be an integer 0..4294967295",
		     v->index);
	uint32_t x;
	if ((j = jv_get(o, "ttlType"))) {
		if (!get_u32(j, &x) || x > 1)
			FAIL("value %u: ttlType must be 0 or 1", v->index);
		v->ttl_type = (uint8_t)x;
	}
	if ((j = jv_get(o, "timestamp"))) {
		if (!(is_str(j) ? parse_time(j->s, j->len, &v->timestamp)
				: get_u32(j, &v->timestamp)))
			FAIL("value %u: timestamp must be YYYY-MM-DDTHH:MM:SSZ",
			     v->index);
	}
	if ((j = jv_get(o, "permissions"))) {
		const char *p = j->s;
		if (!is_str(j) || j->len != 4 || (p[0] != 'r' && p[0] != '-') ||
		    (p[1] != 'w' && p[1] != '-') ||
		    (p[2] != 'r' && p[2] != '-') ||
		    (p[3] != 'w' && p[3] != '-'))
			FAIL("value %u: permissions must look like rwr-",
			     v->index);
		v->perms = (uint8_t)((p[0] == 'r' ? IDN_PERM_ADMIN_READ : 0) |
				     (p[1] == 'w' ? IDN_PERM_ADMIN_WRITE : 0) |
				     (p[2] == 'r' ? IDN_PERM_PUBLIC_READ : 0) |
				     (p[3] == 'w' ? IDN_PERM_PUBLIC_WRITE : 0));
	}
	if ((j = jv_get(o, "references"))) {
		if (j->kind != JV_ARRAY || j->n > IDN_REFS_MAX)
			FAIL("value %u: references must be an array", v->index);
		v->refs = j->n ? idn_arena_array(a, j->n, sizeof(idn_ref_t))
			       : NULL;
		if (j->n && v->refs == NULL)
			FAIL("out of memory");
		uint32_t i = 0;
		for (const jv_t *r = j->kids; r; r = r->next, i++) {
			const jv_t *h = jv_get(r, "handle");
			if (!is_str(h) ||
			    !get_u32(jv_get(r, "index"), &v->refs[i].index))
				FAIL("value %u: a reference needs handle and "
				     "index",
				     v->index);
			v->refs[i].id = idn_bytes(h->s, h->len);
		}
		v->nrefs = j->n;
	}
	return 0;
}

/* Checks what the node would check, for a precise reason. */
static int check_record(rec_t *r, idn_arena_t *a, char *why, size_t cap)
{
	static idn_ident_t ident; /* large; idctl is single-threaded */
	int err = idn_ident_parse(r->id.p, r->id.len, 0, &ident);
	if (err)
		FAIL("invalid identifier '%.*s': %s",
		     (int)(r->id.len > 80 ? 80 : r->id.len), r->id.p,
		     idn_strerror(err));
	if (r->n > IDN_VALUES_MAX)
		FAIL("too many values (%u, at most %d)", r->n, IDN_VALUES_MAX);
	for (uint32_t i = 0; i < r->n; i++) {
		err = idn_value_check(&r->v[i], a);
		if (err)
			FAIL("value %u (%.*s): %s", r->v[i].index,
			     (int)(r->v[i].type.len > 40 ? 40
							 : r->v[i].type.len),
			     r->v[i].type.p, idn_strerror(err));
		for (uint32_t k = 0; k < i; k++)
			if (r->v[k].index == r->v[i].index)
				FAIL("duplicate index %u", r->v[i].index);
	}
	return 0;
}

static int parse_json_line(const char *line, size_t len, rec_t *r,
			   idn_arena_t *a, char *why, size_t cap)
{
	const jv_t *root = jv_parse(line, len, a, why, cap);
	if (root == NULL)
		return -1;
	if (root->kind != JV_OBJECT)
		FAIL("not a JSON object");
	const jv_t *h = jv_get(root, "handle");
	if (!is_str(h))
		FAIL("no \"handle\" string");
	r->id = idn_bytes(h->s, h->len);
	const jv_t *vals = jv_get(root, "values");
	if (vals == NULL || vals->kind != JV_ARRAY)
		FAIL("no \"values\" array");
	if (vals->n > IDN_VALUES_MAX)
		FAIL("too many values (%u, at most %d)", vals->n,
		     IDN_VALUES_MAX);
	r->n = vals->n;
	r->v = r->n ? idn_arena_array(a, r->n, sizeof(idn_value_t)) : NULL;
	if (r->n && r->v == NULL)
		FAIL("out of memory");
	uint32_t i = 0;
	for (const jv_t *v = vals->kids; v; v = v->next, i++)
		if (json_value(v, &r->v[i], a, why, cap, i) != 0)
			return -1;
	return check_record(r, a, why, cap);
}

/* Splits one CSV line into cells (RFC 4180 quoting, no line breaks inside
 * cells); cells point into line, which is modified. */
static int csv_split(char *line, size_t len, char **cells, size_t *lens,
		     uint32_t max, uint32_t *n)
{
	*n = 0;
	size_t i = 0;
	for (;;) {
		if (*n == max)
			return -1;
		if (i < len && line[i] == '"') {
			char *o = line + i;
			cells[*n] = o;
			size_t k = 0;
			i++;
			for (;;) {
				if (i >= len)
					return -1; /* unterminated quote */
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						o[k++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				o[k++] = line[i++];
			}
			lens[(*n)++] = k;
			if (i < len && line[i] != ',')
				return -1;
		} else {
			size_t s = i;
			while (i < len && line[i] != ',')
				i++;
			cells[*n] = line + s;
			lens[(*n)++] = i - s;
		}
		if (i >= len)
			return 0;
		i++; /* the comma */
	}
}

static int csv_header(imp_t *m, char *line, size_t len)
{
	uint32_t max = IDN_VALUES_MAX + 1, n;
	char **cells = calloc(max, sizeof(char *));
	size_t *lens = calloc(max, sizeof(size_t));
	int rc = -1;
	if (cells == NULL || lens == NULL ||
	    csv_split(line, len, cells, lens, max, &n) != 0 || n < 1 ||
	    lens[0] != 6 || strncmp(cells[0], "handle", 6) != 0) {
		fprintf(stderr,
			"idctl: import: %s: line 1 must be a CSV header "
			"handle,INDEX:TYPE,...\n",
			m->file);
		goto out;
	}
	m->cols = calloc(n, sizeof(column_t));
	if (m->cols == NULL)
		goto out;
	m->ncols = n - 1;
	for (uint32_t i = 1; i < n; i++) {
		char *colon = memchr(cells[i], ':', lens[i]);
		char *end;
		if (colon == NULL || colon == cells[i] ||
		    colon + 1 == cells[i] + lens[i]) {
			fprintf(stderr,
				"idctl: import: %s: header column %u "
				"'%.*s' is not INDEX:TYPE\n",
				m->file, i + 1, (int)lens[i], cells[i]);
			goto out;
		}
		*colon = 0;
		errno = 0;
		unsigned long x = strtoul(cells[i], &end, 10);
		if (*end || errno || x > 0xffffffffUL || cells[i][0] == '-') {
			fprintf(stderr,
				"idctl: import: %s: header column %u: "
				"bad index '%s'\n",
				m->file, i + 1, cells[i]);
			goto out;
		}
		for (uint32_t k = 0; k + 1 < i; k++)
			if (m->cols[k].index == x) {
				fprintf(stderr,
					"idctl: import: %s: header: index "
					"%lu appears twice\n",
					m->file, x);
				goto out;
			}
		m->cols[i - 1].index = (uint32_t)x;
		m->cols[i - 1].type = strndup(
			colon + 1, (size_t)(cells[i] + lens[i] - colon - 1));
		if (m->cols[i - 1].type == NULL)
			goto out;
	}
	rc = 0;
out:
	free(cells);
	free(lens);
	return rc;
}

static int parse_csv_line(imp_t *m, char *line, size_t len, rec_t *r,
			  idn_arena_t *a, char *why, size_t cap)
{
	uint32_t max = m->ncols + 1, n;
	char **cells = idn_arena_array(a, max, sizeof(char *));
	size_t *lens = idn_arena_array(a, max, sizeof(size_t));
	if (cells == NULL || lens == NULL)
		FAIL("out of memory");
	if (csv_split(line, len, cells, lens, max + 1, &n) != 0)
		FAIL("bad CSV (unbalanced quotes or a line break in a cell)");
	if (n != max)
		FAIL("%u cells, the header has %u", n, max);
	r->id = idn_bytes(cells[0], lens[0]);
	r->v = idn_arena_array(a, m->ncols ? m->ncols : 1, sizeof(idn_value_t));
	if (r->v == NULL)
		FAIL("out of memory");
	r->n = 0;
	for (uint32_t i = 0; i < m->ncols; i++) {
		if (lens[i + 1] == 0)
			continue;
		idn_value_t *v = &r->v[r->n++];
		memset(v, 0, sizeof(*v));
		v->index = m->cols[i].index;
		v->type = idn_bytes_str(m->cols[i].type);
		v->ttl = IDN_TTL_DEFAULT;
		v->perms = IDN_PERM_DEFAULT;
		v->data = idn_bytes(cells[i + 1], lens[i + 1]);
	}
	return check_record(r, a, why, cap);
}

#undef FAIL

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

static int note_reject(imp_t *m, uint64_t line, uint64_t off, const char *why)
{
	if (m->cur == NULL && (m->cur = batch_open(m)) == NULL)
		return -1;
	if (ent_add(m->cur, line, why) != 0)
		return -1;
	/* a long run of rejects still moves the checkpoint on */
	if (m->cur->nents >= 8 * (size_t)m->batch_max + 1024)
		return batch_send(m, line, off);
	return 0;
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
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(o);
		return;
	}
	printf("%s %s: %" PRIu64 " created, %" PRIu64 " skipped (already "
	       "existed), %" PRIu64 " rejected; %" PRIu64 " lines",
	       m->fatal ? "import stopped," : "imported", m->file, m->created,
	       m->skipped, m->rejected, m->done_line);
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

static int run_import(imp_t *m)
{
	char *line = NULL;
	size_t lcap = 0;
	uint64_t lineno = 0, off = 0;
	char why[512];
	int rc = -1;
	if (m->csv) {
		ssize_t n = getline(&line, &lcap, m->in);
		if (n <= 0) {
			fprintf(stderr,
				"idctl: import: %s: empty, no CSV header\n",
				m->file);
			goto out;
		}
		lineno = 1;
		off = (uint64_t)n;
		size_t l = (size_t)n;
		while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			l--;
		if (csv_header(m, line, l) != 0)
			goto out;
		if (m->start_line == 0) {
			m->done_line = 1;
			m->done_off = off;
		}
	}
	if (skip_to(m, &line, &lcap, &lineno, &off) != 0)
		goto out;
	for (;;) {
		/* a mapped file is read in place: no copy through read(2),
		 * which cost idctl a third of its time on large inputs */
		ssize_t n;
		char *text = line;
		if (m->map != NULL) {
			if (off >= m->size)
				break;
			text = m->map + off;
			const char *nl = memchr(text, '\n', m->size - off);
			n = (ssize_t)(nl ? (size_t)(nl - text) + 1
					 : m->size - off);
		} else if ((n = getline(&line, &lcap, m->in)) < 0) {
			break;
		} else {
			text = line;
		}
		uint64_t prev = off;
		lineno++;
		off += (uint64_t)n;
		size_t l = (size_t)n;
		while (l > 0 && (text[l - 1] == '\n' || text[l - 1] == '\r'))
			l--;
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
		int perr = m->csv ? parse_csv_line(m, text, l, &r, &m->arena,
						   why, sizeof(why))
				  : parse_json_line(text, l, &r, &m->arena, why,
						    sizeof(why));
		const char *reason = perr ? why : NULL;
		int err = 0;
		if (perr == 0)
			err = add_record(m, &r, lineno, prev, &reason);
		if (err == 0 && reason)
			err = note_reject(m, lineno, off, reason);
		if (err)
			goto out;
		progress(m, false);
	}
	if (ferror(m->in)) {
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

int import_main(ctl_opts_t *o, int argc, char **argv)
{
	enum {
		O_FORMAT = 256,
		O_RESUME,
		O_REJECTS,
		O_BATCH,
		O_PIPELINE,
		O_QUIET
	};
	static const struct option lopts[] = {
		{"format", required_argument, NULL, O_FORMAT},
		{"resume", no_argument, NULL, O_RESUME},
		{"rejects", required_argument, NULL, O_REJECTS},
		{"batch", required_argument, NULL, O_BATCH},
		{"pipeline", required_argument, NULL, O_PIPELINE},
		{"quiet", no_argument, NULL, O_QUIET},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static imp_t m; /* large; zeroed */
	const char *format = NULL;
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
	    strcmp(format, "json")) {
		fprintf(stderr,
			"idctl: import: unknown --format '%s' (jsonl, "
			"csv)\n",
			format);
		return 2;
	}
	size_t fl = strlen(m.file);
	m.csv = format ? !strcmp(format, "csv")
		       : fl > 4 && !strcasecmp(m.file + fl - 4, ".csv");
	bool is_stdin = !strcmp(m.file, "-");
	if (m.resume && is_stdin) {
		fprintf(stderr,
			"idctl: import: --resume needs a FILE (stdin has "
			"no checkpoint)\n");
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
	if (m.size > 0 && m.size <= SIZE_MAX) {
		/* private and writable: CSV cells are unquoted in place */
		void *p = mmap(NULL, (size_t)m.size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE, fileno(m.in), 0);
		if (p != MAP_FAILED) {
			madvise(p, (size_t)m.size, MADV_SEQUENTIAL);
			m.map = p;
		}
	}
	if (!is_stdin) {
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
	if (run_import(&m) != 0)
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
	for (uint32_t i = 0; i < m.ncols; i++)
		free(m.cols[i].type);
	free(m.cols);
	for (int i = 0; i < m.nfirst; i++)
		free(m.first[i]);
	free(m.ckpt);
	idn_arena_free(&m.arena);
	return status;
}
