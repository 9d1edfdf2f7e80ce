/* idctl import's CSV records (RFC 4180, as Excel and WPS save them: an
 * optional byte order mark, CRLF line ends, quoted cells that may hold
 * commas, quotes and line breaks), the text encodings a file may come in,
 * and the table of identifiers seen, which tells exact duplicates from
 * conflicting ones (import_int.h). */
#include "import_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "genbatch.h"
#include "ident.h"

/* ---- encodings ---- */

int textenc_open(textenc_t *e, const char *name)
{
	static const struct {
		const char *name;
		int enc;
		const char *iconv;
	} encs[] = {
		{"utf-8", ENC_UTF8, NULL}, {"utf8", ENC_UTF8, NULL},
		{"gbk", ENC_GBK, "GBK"},   {"gb2312", ENC_GBK, "GBK"},
		{"cp936", ENC_GBK, "GBK"}, {"gb18030", ENC_GB18030, "GB18030"},
	};
	e->enc = ENC_UTF8;
	e->cd = (iconv_t)-1;
	for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
		if (strcasecmp(name, encs[i].name) != 0)
			continue;
		e->enc = encs[i].enc;
		if (encs[i].iconv == NULL)
			return 0;
		e->cd = iconv_open("UTF-8", encs[i].iconv);
		return e->cd == (iconv_t)-1 ? -1 : 0;
	}
	return -1;
}

void textenc_close(textenc_t *e)
{
	if (e->cd != (iconv_t)-1)
		iconv_close(e->cd);
	e->cd = (iconv_t)-1;
}

size_t textenc_bom(const textenc_t *e, const char *p, size_t n)
{
	if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		return 3;
	if (e->enc == ENC_GB18030 && n >= 4 &&
	    !memcmp(p, "\x84\x31\x95\x33", 4))
		return 4;
	return 0;
}

/* Offset of the first byte that does not begin a valid UTF-8 sequence. */
static size_t utf8_bad(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = idn_utf8_seq_len(s + i, n - i);
		if (k == 0)
			return i;
		i += k;
	}
	return n;
}

int textenc_decode(textenc_t *e, const char *in, size_t n, idn_arena_t *a,
		   const char **out, size_t *outn, size_t *bad)
{
	if (e->enc == ENC_UTF8) {
		*bad = utf8_bad((const uint8_t *)in, n);
		*out = in;
		*outn = n;
		return *bad == n ? 0 : -1;
	}
	/* GBK takes at most 3 UTF-8 bytes per 2, GB18030 4 per 4 */
	size_t cap = 2 * n + 4;
	char *buf = idn_arena_alloc(a, cap);
	if (buf == NULL)
		return -2;
	char *ip = (char *)in, *op = buf;
	size_t il = n, ol = cap;
	iconv(e->cd, NULL, NULL, NULL, NULL);
	if (iconv(e->cd, &ip, &il, &op, &ol) == (size_t)-1) {
		/* EILSEQ: not a sequence of the encoding; EINVAL: one cut
		 * short by the end of the record */
		*bad = (size_t)(ip - in);
		return -1;
	}
	*out = buf;
	*outn = cap - ol;
	return 0;
}

/* ---- CSV ---- */

bool csv_record_len(const char *p, size_t n, size_t *len, uint64_t *lines)
{
	bool quoted = false;
	*lines = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			quoted = !quoted; /* "" inside a cell toggles twice */
		else if (p[i] == '\n') {
			(*lines)++;
			if (!quoted) {
				*len = i + 1;
				return true;
			}
		}
	}
	*len = n;
	if (!quoted && n > 0)
		(*lines)++; /* a last line without a line break */
	return !quoted;
}

void csv_locate(const char *p, size_t off, uint64_t *line_off, uint32_t *col)
{
	bool quoted = false;
	*line_off = 0;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (p[i] == '"')
			quoted = !quoted;
		else if (p[i] == '\n')
			(*line_off)++;
		else if (p[i] == ',' && !quoted)
			(*col)++;
	}
}

/* Splits one record into cells (RFC 4180: a quoted cell may hold commas,
 * doubled quotes and line breaks); cells point into line, which is
 * modified. */
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

void csv_head_free(csv_head_t *h)
{
	for (uint32_t i = 0; i < h->ncols; i++)
		free(h->cols[i].type);
	free(h->cols);
	h->cols = NULL;
	h->ncols = 0;
}

static int header_column(csv_head_t *h, uint32_t i, char *cell, size_t len,
			 const char *file)
{
	char *colon = memchr(cell, ':', len);
	char *end;
	if (colon == NULL || colon == cell || colon + 1 == cell + len) {
		fprintf(stderr,
			"idctl: import: %s: header column %u '%.*s' is not "
			"INDEX:TYPE\n",
			file, i + 1, (int)len, cell);
		return -1;
	}
	*colon = 0;
	errno = 0;
	unsigned long x = strtoul(cell, &end, 10);
	if (*end || errno || x > 0xffffffffUL || cell[0] == '-') {
		fprintf(stderr,
			"idctl: import: %s: header column %u: bad index '%s'\n",
			file, i + 1, cell);
		return -1;
	}
	size_t tl = (size_t)(cell + len - colon - 1);
	/* one index may have a column per type (an export of records that
	 * differ); a record still holds each index once */
	for (uint32_t k = 0; k + 1 < i; k++)
		if (h->cols[k].index == x && strlen(h->cols[k].type) == tl &&
		    !memcmp(h->cols[k].type, colon + 1, tl)) {
			fprintf(stderr,
				"idctl: import: %s: header: column %lu:%s "
				"appears twice\n",
				file, x, h->cols[k].type);
			return -1;
		}
	h->cols[i - 1].index = (uint32_t)x;
	h->cols[i - 1].type = strndup(colon + 1, tl);
	return h->cols[i - 1].type ? 0 : -1;
}

int csv_header(csv_head_t *h, char *line, size_t len, const char *file)
{
	uint32_t max = IDN_VALUES_MAX + 1, n;
	char **cells = calloc(max, sizeof(char *));
	size_t *lens = calloc(max, sizeof(size_t));
	int rc = -1;
	memset(h, 0, sizeof(*h));
	if (cells == NULL || lens == NULL ||
	    csv_split(line, len, cells, lens, max, &n) != 0 || n < 1 ||
	    lens[0] != 6 || strncmp(cells[0], "handle", 6) != 0) {
		fprintf(stderr,
			"idctl: import: %s: line 1 must be a CSV header "
			"handle,INDEX:TYPE,...\n",
			file);
		goto out;
	}
	h->cols = calloc(n, sizeof(column_t));
	if (h->cols == NULL)
		goto out;
	h->ncols = n - 1;
	for (uint32_t i = 1; i < n; i++)
		if (header_column(h, i, cells[i], lens[i], file) != 0)
			goto out;
	rc = 0;
out:
	if (rc)
		csv_head_free(h);
	free(cells);
	free(lens);
	return rc;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(why, cap, __VA_ARGS__);                               \
		return -1;                                                     \
	} while (0)

int csv_record(const csv_head_t *h, char *line, size_t len, rec_t *r,
	       idn_arena_t *a, char *why, size_t cap)
{
	uint32_t max = h->ncols + 1, n;
	char **cells = idn_arena_array(a, max, sizeof(char *));
	size_t *lens = idn_arena_array(a, max, sizeof(size_t));
	if (cells == NULL || lens == NULL)
		FAIL("out of memory");
	if (csv_split(line, len, cells, lens, max + 1, &n) != 0)
		FAIL("bad CSV (an unbalanced quote, or text after a "
		     "closing quote)");
	if (n != max)
		FAIL("%u cells, the header has %u", n, max);
	r->id = idn_bytes(cells[0], lens[0]);
	r->v = idn_arena_array(a, h->ncols ? h->ncols : 1, sizeof(idn_value_t));
	if (r->v == NULL)
		FAIL("out of memory");
	r->n = 0;
	for (uint32_t i = 0; i < h->ncols; i++) {
		if (lens[i + 1] == 0)
			continue;
		idn_value_t *v = &r->v[r->n++];
		memset(v, 0, sizeof(*v));
		v->index = h->cols[i].index;
		v->type = idn_bytes_str(h->cols[i].type);
		v->ttl = IDN_TTL_DEFAULT;
		v->perms = IDN_PERM_DEFAULT;
		v->data = idn_bytes(cells[i + 1], lens[i + 1]);
		if (idn_bytes_eq_str(v->type, "HS_ADMIN") &&
		    gb_admin_parse(cells[i + 1], lens[i + 1], a, &v->data) != 0)
			FAIL("column %u (%u:HS_ADMIN): '%.*s' is not "
			     "INDEX:PERMISSIONS:HANDLE (300:111111111111:0.NA/"
			     "20.500)",
			     i + 2, v->index,
			     (int)(lens[i + 1] > 60 ? 60 : lens[i + 1]),
			     cells[i + 1]);
	}
	return 0;
}

#undef FAIL

int csv_put_cell(FILE *f, const char *s, size_t n)
{
	bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' ||
			s[i] == '\r';
	if (!quote)
		return fwrite(s, 1, n, f) == n ? 0 : -1;
	if (fputc('"', f) == EOF)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' && fputc('"', f) == EOF)
			return -1;
		if (fputc(s[i], f) == EOF)
			return -1;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

/* ---- identifiers seen ---- */

typedef struct {
	uint64_t hash; /* 0: an empty slot */
	uint32_t digest;
	uint32_t line; /* UINT32_MAX: past 4G lines */
} dup_slot_t;

/* 256 MiB of table: about 12 million identifiers noted */
#define DUP_SLOTS_MAX ((size_t)1 << 24)

struct dupset {
	dup_slot_t *slots;
	size_t cap, n; /* cap a power of two */
};

uint64_t digest_bytes(uint64_t h, const void *p, size_t n)
{
	/* eight bytes a step: a byte at a time made the digests a seventh
	 * of an import's client time */
	const uint8_t *b = p;
	uint64_t w;
	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	w = n;
	for (size_t i = 0; i < n; i++)
		w = w << 8 | b[i];
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ h >> 32;
}

/* Zeroed slots; a large table in huge pages where the kernel has them
 * (madvise): the lookups are random, and TLB misses were most of their
 * cost. */
static dup_slot_t *slots_alloc(size_t cap)
{
	size_t bytes = cap * sizeof(dup_slot_t);
	if (bytes < ((size_t)2 << 20))
		return calloc(cap, sizeof(dup_slot_t));
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void slots_free(dup_slot_t *s, size_t cap)
{
	size_t bytes = cap * sizeof(dup_slot_t);
	if (bytes < ((size_t)2 << 20))
		free(s);
	else if (s != NULL)
		munmap(s, bytes);
}

dupset_t *dupset_new(uint64_t expect)
{
	dupset_t *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	/* sized for what is expected, so the table is not copied as it
	 * grows (calloc'ed pages cost nothing until used) */
	d->cap = 1024;
	while (d->cap < DUP_SLOTS_MAX && 3 * d->cap < 4 * expect)
		d->cap *= 2;
	d->slots = slots_alloc(d->cap);
	if (d->slots == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void dupset_free(dupset_t *d)
{
	if (d == NULL)
		return;
	slots_free(d->slots, d->cap);
	free(d);
}

static size_t dup_home(size_t cap, uint64_t hash)
{
	return (size_t)(hash ^ hash >> 29) & (cap - 1);
}

static dup_slot_t *dup_find(dup_slot_t *slots, size_t cap, uint64_t hash)
{
	size_t i = dup_home(cap, hash);
	while (slots[i].hash != 0 && slots[i].hash != hash)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int dup_grow(dupset_t *d)
{
	size_t cap = d->cap * 2;
	dup_slot_t *s = slots_alloc(cap);
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < d->cap; i++)
		if (d->slots[i].hash != 0)
			*dup_find(s, cap, d->slots[i].hash) = d->slots[i];
	slots_free(d->slots, d->cap);
	d->slots = s;
	d->cap = cap;
	return 0;
}

void dupset_prefetch(const dupset_t *d, idn_bytes_t id)
{
	uint64_t hash = digest_bytes(DIGEST_INIT, id.p, id.len);
	__builtin_prefetch(&d->slots[dup_home(d->cap, hash ? hash : 1)]);
}

int dupset_note(dupset_t *d, idn_bytes_t id, uint32_t digest, uint64_t line,
		uint64_t *first)
{
	/* 64 bits of the identifier: two identifiers of a ten-million-line
	 * file share one with odds of about 3 in a million */
	uint64_t hash = digest_bytes(DIGEST_INIT, id.p, id.len);
	hash = hash ? hash : 1;
	bool full = 4 * (d->n + 1) > 3 * d->cap;
	if (full && d->cap < DUP_SLOTS_MAX) {
		if (dup_grow(d) != 0)
			return -1;
		full = false;
	}
	dup_slot_t *s = dup_find(d->slots, d->cap, hash);
	if (s->hash != 0) {
		*first = s->line;
		return s->digest == digest ? DUP_SAME : DUP_CONFLICT;
	}
	if (full)
		return DUP_FULL; /* checked, but no longer noted */
	s->hash = hash;
	s->digest = digest;
	s->line = line < UINT32_MAX ? (uint32_t)line : UINT32_MAX;
	d->n++;
	return DUP_NEW;
}
