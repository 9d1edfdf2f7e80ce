/* HANDLE.NET batch files (genbatch.h): the operations of CNRI's
 * GenericBatch format, read one block at a time. */
#include "genbatch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ident.h"
#include "msg.h"

#define FILE_DATA_MAX (1u << 20) /* FILE data: within one message */

/* n decimal digits as a u32 (this file stands alone for its fuzz target,
 * tests/fuzz/fuzz_files.c, so idctl's own parser is not used) */
static int parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static const struct {
	const char *word;
	int kind;
} keywords[] = {
	{"CREATE", GB_CREATE},	      {"ADD", GB_ADD},
	{"MODIFY", GB_MODIFY},	      {"REMOVE", GB_REMOVE},
	{"DELETE", GB_DELETE},	      {"HOME", GB_HOME},
	{"UNHOME", GB_UNHOME},	      {"AUTHENTICATE", GB_AUTH},
	{"SESSIONSETUP", GB_SESSION},
};

#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* The keyword that line begins with (alone or before a space), or -1. */
static int keyword(const char *line, size_t n, size_t *wlen)
{
	size_t w = 0;
	while (w < n && line[w] != ' ' && line[w] != '\t')
		w++;
	for (size_t k = 0; k < NKEYWORDS; k++)
		if (strlen(keywords[k].word) == w &&
		    !memcmp(line, keywords[k].word, w)) {
			*wlen = w;
			return (int)k;
		}
	return -1;
}

bool gb_detect(const char *line, size_t n)
{
	size_t w;
	if (n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		n -= 3;
	}
	return keyword(line, n, &w) >= 0;
}

void gb_open(gb_reader_t *r, FILE *in)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->home = -1;
}

void gb_hold(gb_reader_t *r, const char *line, uint64_t lineno)
{
	size_t n = strlen(line);
	if (r->cap < n + 1) {
		char *b = realloc(r->buf, n + 1);
		if (b == NULL)
			return; /* the line is then lost: gb_next reads on */
		r->buf = b;
		r->cap = n + 1;
	}
	memcpy(r->buf, line, n + 1);
	r->len = (ssize_t)n;
	r->line = lineno;
	r->held = true;
}

void gb_close(gb_reader_t *r)
{
	free(r->buf);
	free(r->server);
	r->buf = NULL;
	r->server = NULL;
}

/* The next line (held or read) without its line break; false at the end. */
static bool next_line(gb_reader_t *r)
{
	if (r->held) {
		r->held = false;
		return true;
	}
	r->len = getline(&r->buf, &r->cap, r->in);
	if (r->len < 0)
		return false;
	r->line++;
	while (r->len > 0 &&
	       (r->buf[r->len - 1] == '\n' || r->buf[r->len - 1] == '\r'))
		r->buf[--r->len] = 0;
	if (r->line == 1 && r->len >= 3 && !memcmp(r->buf, "\xef\xbb\xbf", 3)) {
		memmove(r->buf, r->buf + 3, (size_t)r->len - 2);
		r->len -= 3;
	}
	return true;
}

static bool blank(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == 0;
}

/* Whether the current line ends a block: blank, or the next operation
 * (which is then held for the next call). */
static bool block_end(gb_reader_t *r)
{
	size_t w;
	if (blank(r->buf))
		return true;
	if (keyword(r->buf, (size_t)r->len, &w) >= 0) {
		r->held = true;
		return true;
	}
	return false;
}

/* Skips the rest of a block after an error in it. */
static void skip_block(gb_reader_t *r)
{
	while (next_line(r) && !block_end(r))
		;
}

static char *dup_in(idn_arena_t *a, const char *s, size_t n)
{
	char *p = idn_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(why, cap, __VA_ARGS__);                               \
		return -1;                                                     \
	} while (0)

/* CNRI's twelve admin permissions, in the order its batch files write
 * them, as HS_ADMIN bits (RFC 3652, value.h) */
static const uint16_t admin_bits[12] = {
	IDN_ADM_ADD_HANDLE,    IDN_ADM_DELETE_HANDLE, IDN_ADM_ADD_PREFIX,
	IDN_ADM_DELETE_PREFIX, IDN_ADM_MODIFY_VALUE,  IDN_ADM_REMOVE_VALUE,
	IDN_ADM_ADD_VALUE,     IDN_ADM_READ_VALUE,    IDN_ADM_MODIFY_ADMIN,
	IDN_ADM_REMOVE_ADMIN,  IDN_ADM_ADD_ADMIN,     IDN_ADM_LIST,
};

int gb_admin_parse(const char *s, size_t n, idn_arena_t *a, idn_bytes_t *out)
{
	const char *c1 = memchr(s, ':', n);
	const char *c2 =
		c1 ? memchr(c1 + 1, ':', (size_t)(s + n - c1 - 1)) : NULL;
	idn_hs_admin_t adm = {0, {0}, 0};
	if (c2 == NULL || c2 + 1 == s + n || c2 - c1 - 1 != 12 ||
	    parse_u32(s, (size_t)(c1 - s), &adm.index) != 0)
		return -1;
	for (int i = 0; i < 12; i++) {
		if (c1[1 + i] != '0' && c1[1 + i] != '1')
			return -1;
		if (c1[1 + i] == '1')
			adm.perms |= admin_bits[i];
	}
	adm.admin = idn_bytes(c2 + 1, (size_t)(s + n - c2 - 1));
	size_t sz = 16 + adm.admin.len;
	uint8_t *buf = idn_arena_alloc(a, sz);
	if (buf == NULL)
		return -1;
	idn_wr_t w;
	idn_wr_init(&w, buf, sz);
	idn_hs_admin_encode(&w, &adm);
	if (w.err)
		return -1;
	*out = idn_bytes(buf, w.len);
	return 0;
}

int gb_admin_format(idn_bytes_t data, char *out, size_t cap)
{
	idn_hs_admin_t adm;
	if (idn_hs_admin_decode(data, &adm) != 0 || adm.perms > IDN_ADM_ALL)
		return -1;
	if (idn_utf8_check(adm.admin.p, adm.admin.len) != 0)
		return -1;
	for (size_t i = 0; i < adm.admin.len; i++)
		if (adm.admin.p[i] < 0x20 || adm.admin.p[i] == 0x7f)
			return -1;
	char bits[13];
	for (int i = 0; i < 12; i++)
		bits[i] = adm.perms & admin_bits[i] ? '1' : '0';
	bits[12] = 0;
	int k = snprintf(out, cap, "%u:%s:%.*s", adm.index, bits,
			 (int)adm.admin.len, adm.admin.p);
	if (k < 0 || (size_t)k >= cap)
		return -1;
	/* only when it reads back to the same bytes */
	uint8_t buf[4200];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_admin_encode(&w, &adm);
	return !w.err && w.len == data.len && !memcmp(buf, data.p, w.len) ? 0
									  : -1;
}

/* LIST data: INDEX:HANDLE;INDEX:HANDLE;... (a trailing ';' allowed) */
static int vlist_parse(char *s, idn_arena_t *a, idn_bytes_t *out)
{
	uint32_t n = 0;
	for (char *p = s; *p; p++)
		n += *p == ';';
	idn_hs_vlist_t vl = {0, idn_arena_array(a, n + 1, sizeof(idn_ref_t))};
	if (vl.refs == NULL)
		return -1;
	size_t sz = 8;
	for (char *tok = strtok(s, ";"); tok; tok = strtok(NULL, ";")) {
		const char *t = trim(tok);
		const char *c = strchr(t, ':');
		if (*t == 0)
			continue;
		if (c == NULL || c[1] == 0 ||
		    parse_u32(t, (size_t)(c - t), &vl.refs[vl.n].index) != 0)
			return -1;
		vl.refs[vl.n++].id = idn_bytes_str(c + 1);
		sz += 8 + strlen(c + 1);
	}
	uint8_t *buf = idn_arena_alloc(a, sz);
	if (buf == NULL)
		return -1;
	idn_wr_t w;
	idn_wr_init(&w, buf, sz);
	idn_hs_vlist_encode(&w, &vl);
	if (w.err)
		return -1;
	*out = idn_bytes(buf, w.len);
	return 0;
}

static int file_data(const char *path, idn_arena_t *a, idn_bytes_t *out)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (f == NULL)
		return -1;
	int rc = -1;
	if (fstat(fileno(f), &st) == 0 && st.st_size <= FILE_DATA_MAX) {
		size_t n = (size_t)st.st_size;
		uint8_t *p = idn_arena_alloc(a, n ? n : 1);
		if (p && fread(p, 1, n, f) == n) {
			*out = idn_bytes(p, n);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* INDEX TYPE TTL PERMISSIONS FORMAT DATA */
static int value_line(char *line, idn_value_t *v, idn_arena_t *a, char *why,
		      size_t cap)
{
	char *f[5], *p = line;
	for (int i = 0; i < 5; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		f[i] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = 0;
		if (*f[i] == 0)
			FAIL("a value line is INDEX TYPE TTL PERMISSIONS "
			     "FORMAT DATA");
	}
	if (*p == ' ' || *p == '\t')
		p++; /* one separator: UTF8 data keeps its spaces */
	memset(v, 0, sizeof(*v));
	if (parse_u32(f[0], strlen(f[0]), &v->index) != 0)
		FAIL("bad value index '%s'", f[0]);
	v->type = idn_bytes_str(f[1]);
	if (parse_u32(f[2], strlen(f[2]), &v->ttl) != 0)
		FAIL("bad ttl '%s'", f[2]);
	if (strlen(f[3]) != 4 || strspn(f[3], "01") != 4)
		FAIL("permissions '%s' are not four 0/1 digits (admin read, "
		     "admin write, public read, public write)",
		     f[3]);
	for (int i = 0; i < 4; i++)
		if (f[3][i] == '1')
			v->perms |= (uint8_t)(8 >> i);
	if (!strcmp(f[4], "UTF8")) {
		v->data = idn_bytes_str(p);
		if (idn_utf8_check(v->data.p, v->data.len) != 0)
			FAIL("UTF8 data that is not valid UTF-8");
	} else if (!strcmp(f[4], "ADMIN")) {
		if (gb_admin_parse(p, strlen(p), a, &v->data) != 0)
			FAIL("ADMIN data '%s' is not INDEX:PERMISSIONS:HANDLE "
			     "(twelve 0/1 digits)",
			     p);
	} else if (!strcmp(f[4], "FILE")) {
		if (file_data(p, a, &v->data) != 0)
			FAIL("FILE %s: cannot read it (or larger than 1 MiB)",
			     p);
	} else if (!strcmp(f[4], "LIST")) {
		if (vlist_parse(p, a, &v->data) != 0)
			FAIL("LIST data is not INDEX:HANDLE;...");
	} else {
		FAIL("unknown data format '%s' (UTF8, ADMIN, FILE, LIST)",
		     f[4]);
	}
	return 0;
}

/* The value lines of a CREATE, ADD or MODIFY block. */
static int values_block(gb_reader_t *r, gb_op_t *op, idn_arena_t *a, char *why,
			size_t cap)
{
	uint32_t have = 0;
	op->n = 0;
	while (next_line(r) && !block_end(r)) {
		if (r->buf[0] == '#')
			continue;
		if (op->n == IDN_VALUES_MAX) {
			op->line = r->line;
			skip_block(r);
			FAIL("more than %d values", IDN_VALUES_MAX);
		}
		if (op->n == have) {
			uint32_t cap2 = have ? 2 * have : 8;
			idn_value_t *v =
				idn_arena_array(a, cap2, sizeof(idn_value_t));
			if (v == NULL)
				FAIL("out of memory");
			if (have)
				memcpy(v, op->v, have * sizeof(*v));
			op->v = v;
			have = cap2;
		}
		char *copy = dup_in(a, r->buf, (size_t)r->len);
		if (copy == NULL)
			FAIL("out of memory");
		if (value_line(copy, &op->v[op->n], a, why, cap) != 0) {
			op->line = r->line;
			skip_block(r);
			return -1;
		}
		op->n++;
	}
	return 0;
}

/* REMOVE INDEX,INDEX:HANDLE */
static int remove_args(const char *arg, gb_op_t *op, idn_arena_t *a, char *why,
		       size_t cap)
{
	const char *c = strchr(arg, ':');
	if (c == NULL || c == arg || c[1] == 0)
		FAIL("REMOVE wants INDEX[,INDEX...]:HANDLE");
	uint32_t n = 1;
	for (const char *p = arg; p < c; p++)
		n += *p == ',';
	op->idx = idn_arena_array(a, n, sizeof(uint32_t));
	if (op->idx == NULL)
		FAIL("out of memory");
	const char *p = arg;
	for (op->nidx = 0; op->nidx < n; op->nidx++) {
		const char *e = memchr(p, ',', (size_t)(c - p));
		e = e ? e : c;
		if (parse_u32(p, (size_t)(e - p), &op->idx[op->nidx]) != 0)
			FAIL("REMOVE: bad index '%.*s'", (int)(e - p), p);
		p = e + 1;
	}
	op->id = idn_bytes_str(c + 1);
	return 0;
}

/* AUTHENTICATE PUBKEY|SECKEY:INDEX:HANDLE, then the key file or secret */
static int auth_block(gb_reader_t *r, const char *arg, gb_op_t *op,
		      idn_arena_t *a, char *why, size_t cap)
{
	const char *c1 = strchr(arg, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	op->seckey = c1 && c1 - arg == 6 && !strncmp(arg, "SECKEY", 6);
	if (c2 == NULL || c2[1] == 0 ||
	    (!op->seckey && !(c1 - arg == 6 && !strncmp(arg, "PUBKEY", 6))) ||
	    parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), &op->index) != 0)
		FAIL("AUTHENTICATE wants PUBKEY:INDEX:HANDLE or "
		     "SECKEY:INDEX:HANDLE");
	op->id = idn_bytes_str(c2 + 1);
	if (!next_line(r) || blank(r->buf))
		FAIL("AUTHENTICATE: the next line must hold the %s",
		     op->seckey ? "secret" : "private key file");
	char *l = dup_in(a, r->buf, (size_t)r->len);
	if (l == NULL)
		FAIL("out of memory");
	if (op->seckey) {
		op->secret = idn_bytes_str(l);
		return 0;
	}
	char *bar = strchr(l, '|');
	if (bar) {
		*bar = 0;
		op->passphrase = bar + 1;
	}
	op->key_file = trim(l);
	return 0;
}

/* SESSIONSETUP: idctl batch always works in one session whose keys the
 * node and idctl agree on (session.h); exchange keys of files or handles
 * are not taken. */
static int session_block(gb_reader_t *r, gb_op_t *op, char *why, size_t cap)
{
	static const char *const ok[] = {"USESESSION:", "OPTIONS:", "TIMEOUT:"};
	static const char *const no[] = {"PUBEXNGKEYFILE:", "PUBEXNGKEYREF:",
					 "PRIVEXNGKEYFILE:", "PASSPHRASE:"};
	while (next_line(r) && !block_end(r)) {
		const char *l = trim(r->buf);
		bool known = false;
		for (size_t i = 0; i < 3; i++)
			known |= !strncmp(l, ok[i], strlen(ok[i]));
		for (size_t i = 0; i < 4 && !known; i++)
			if (!strncmp(l, no[i], strlen(no[i]))) {
				op->line = r->line;
				skip_block(r);
				FAIL("SESSIONSETUP %.*s not supported: idctl "
				     "agrees on session keys with the node "
				     "itself",
				     (int)strlen(no[i]) - 1, no[i]);
			}
		if (!known) {
			/* the message first: skipping reuses the line */
			op->line = r->line;
			snprintf(why, cap,
				 "SESSIONSETUP: unknown setting '%.40s'", l);
			skip_block(r);
			return -1;
		}
	}
	return 0;
}

int gb_next(gb_reader_t *r, gb_op_t *op, idn_arena_t *a, char *why, size_t cap)
{
	memset(op, 0, sizeof(*op));
	for (;;) {
		if (!next_line(r))
			return 0;
		op->line = r->line;
		size_t w;
		int k = keyword(r->buf, (size_t)r->len, &w);
		if (r->home >= 0) {
			/* the prefixes of a HOME or UNHOME block */
			if (blank(r->buf) || k >= 0) {
				r->home = -1;
			} else if (r->buf[0] == '#') {
				continue;
			} else {
				op->kind = r->home;
				op->verb =
					r->home == GB_HOME ? "HOME" : "UNHOME";
				op->server =
					dup_in(a, r->server, strlen(r->server));
				char *id = dup_in(a, r->buf, (size_t)r->len);
				if (id == NULL || op->server == NULL)
					FAIL("out of memory");
				op->id = idn_bytes_str(trim(id));
				return 1;
			}
		}
		if (blank(r->buf) || r->buf[0] == '#')
			continue;
		if (k < 0) {
			snprintf(why, cap,
				 "'%.40s' is not an operation (CREATE, ADD, "
				 "MODIFY, REMOVE, DELETE, HOME, UNHOME, "
				 "AUTHENTICATE, SESSIONSETUP)",
				 r->buf);
			skip_block(r);
			return -1;
		}
		op->kind = keywords[k].kind;
		op->verb = keywords[k].word;
		char *arg = dup_in(a, r->buf + w, (size_t)r->len - w);
		if (arg == NULL)
			FAIL("out of memory");
		arg = trim(arg);
		switch (op->kind) {
		case GB_CREATE:
		case GB_ADD:
		case GB_MODIFY:
			if (*arg == 0 || strchr(arg, ' ')) {
				skip_block(r);
				FAIL("%s wants one HANDLE", op->verb);
			}
			op->id = idn_bytes_str(arg);
			return values_block(r, op, a, why, cap) ? -1 : 1;
		case GB_REMOVE:
			return remove_args(arg, op, a, why, cap) ? -1 : 1;
		case GB_DELETE:
			if (*arg == 0 || strchr(arg, ' '))
				FAIL("DELETE wants one HANDLE");
			op->id = idn_bytes_str(arg);
			return 1;
		case GB_HOME:
		case GB_UNHOME:
			if (*arg == 0) {
				skip_block(r);
				FAIL("%s wants HOST:PORT:PROTOCOL", op->verb);
			}
			free(r->server);
			r->server = strdup(arg);
			if (r->server == NULL)
				FAIL("out of memory");
			r->home = op->kind;
			continue;
		case GB_AUTH:
			return auth_block(r, arg, op, a, why, cap) ? -1 : 1;
		default: /* GB_SESSION */
			return session_block(r, op, why, cap) ? -1 : 1;
		}
	}
}

#undef FAIL

uint32_t gb_opcode(const gb_op_t *op)
{
	switch (op->kind) {
	case GB_CREATE:
		return IDN_OC_CREATE;
	case GB_ADD:
		return IDN_OC_ADD_VALUE;
	case GB_MODIFY:
		return IDN_OC_MODIFY_VALUE;
	case GB_REMOVE:
		return IDN_OC_REMOVE_VALUE;
	case GB_DELETE:
		return IDN_OC_DELETE;
	case GB_HOME:
		return IDN_OC_HOME;
	default:
		assert(op->kind == GB_UNHOME);
		return IDN_OC_UNHOME;
	}
}

void gb_body(const gb_op_t *op, idn_wr_t *w)
{
	if (op->kind == GB_CREATE || op->kind == GB_ADD ||
	    op->kind == GB_MODIFY) {
		idn_values_body_t b = {op->id, op->n, op->v};
		idn_values_body_encode(w, &b);
	} else if (op->kind == GB_REMOVE) {
		idn_remove_req_t b = {op->id, op->nidx, op->idx};
		idn_remove_req_encode(w, &b);
	} else {
		idn_id_body_encode(w, op->id);
	}
}
