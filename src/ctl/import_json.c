/* A small strict JSON parser for idctl import (import.h): one line into a
 * tree in an arena, strings pointing into the line when they hold no
 * escapes. jansson builds a malloc'ed DOM per line, which made it 90% of an
 * import's client time; this parses the same records several times faster.
 * RFC 8259 syntax, UTF-8 checked, duplicate object keys rejected, nesting
 * bounded. */
#include "import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"

#define DEPTH_MAX 32

typedef struct {
	const char *p, *start, *end;
	idn_arena_t *a;
	char *why;
	size_t cap;
	int depth;
} jp_t;

static jv_t *fail(jp_t *j, const char *what)
{
	if (j->why[0] == 0)
		snprintf(j->why, j->cap, "bad JSON: %s at column %zu", what,
			 (size_t)(j->p - j->start) + 1);
	return NULL;
}

static void ws(jp_t *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* A string at j->p (the opening quote); out points into the line or the
 * arena. */
static int str(jp_t *j, const char **out, size_t *len)
{
	const char *s = ++j->p;
	const char *q = s;
	unsigned hi = 0; /* any byte >= 0x80: only then check UTF-8 */
	while (q < j->end) {
		unsigned char c = (unsigned char)*q;
		if (c == '"' || c == '\\' || c < 0x20)
			break;
		hi |= c;
		q++;
	}
	if (q < j->end && *q == '"') { /* no escapes: the common case */
		if ((hi & 0x80) &&
		    idn_utf8_check((const uint8_t *)s, (size_t)(q - s)) != 0)
			return fail(j, "invalid UTF-8 in a string"), -1;
		*out = s;
		*len = (size_t)(q - s);
		j->p = q + 1;
		return 0;
	}
	/* the unescaped string is no longer than its source */
	const char *e = q;
	while (e < j->end && *e != '"')
		e += *e == '\\' ? 2 : 1;
	char *o = idn_arena_alloc(j->a, (size_t)(e - s) + 1);
	if (o == NULL)
		return fail(j, "out of memory"), -1;
	size_t n = (size_t)(q - s);
	memcpy(o, s, n);
	j->p = q;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20)
			return fail(j, "control character in a string"), -1;
		if (c != '\\') {
			o[n++] = (char)c;
			j->p++;
			continue;
		}
		if (j->end - j->p < 2)
			return fail(j, "unterminated string"), -1;
		char esc = j->p[1];
		j->p += 2;
		switch (esc) {
		case '"':
			o[n++] = '"';
			break;
		case '\\':
			o[n++] = '\\';
			break;
		case '/':
			o[n++] = '/';
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u': {
			int u = j->end - j->p >= 4 ? hex4(j->p) : -1;
			if (u < 0)
				return fail(j, "bad \\u escape"), -1;
			j->p += 4;
			unsigned cp = (unsigned)u;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				int lo = j->end - j->p >= 6 &&
							 j->p[0] == '\\' &&
							 j->p[1] == 'u'
						 ? hex4(j->p + 2)
						 : -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(j, "unpaired surrogate"),
					       -1;
				j->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     ((unsigned)lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return fail(j, "unpaired surrogate"), -1;
			}
			/* the escape is at least as long as its UTF-8 */
			if (cp < 0x80) {
				o[n++] = (char)cp;
			} else if (cp < 0x800) {
				o[n++] = (char)(0xc0 | cp >> 6);
				o[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				o[n++] = (char)(0xe0 | cp >> 12);
				o[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
				o[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				o[n++] = (char)(0xf0 | cp >> 18);
				o[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
				o[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
				o[n++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		default:
			return fail(j, "bad escape"), -1;
		}
	}
	if (j->p >= j->end)
		return fail(j, "unterminated string"), -1;
	j->p++;
	if (idn_utf8_check((const uint8_t *)o, n) != 0)
		return fail(j, "invalid UTF-8 in a string"), -1;
	*out = o;
	*len = n;
	return 0;
}

static jv_t *node(jp_t *j, int kind)
{
	jv_t *v = idn_arena_alloc(j->a, sizeof(*v));
	if (v == NULL)
		return fail(j, "out of memory");
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	return v;
}

static jv_t *value(jp_t *j);

static jv_t *container(jp_t *j, bool obj)
{
	if (++j->depth > DEPTH_MAX)
		return fail(j, "nested too deeply");
	jv_t *v = node(j, obj ? JV_OBJECT : JV_ARRAY);
	if (v == NULL)
		return NULL;
	jv_t **tail = &v->kids;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
		j->p++;
		j->depth--;
		return v;
	}
	for (;;) {
		const char *k = NULL;
		size_t kl = 0;
		ws(j);
		if (obj) {
			if (j->p >= j->end || *j->p != '"')
				return fail(j, "expected a key string");
			if (str(j, &k, &kl) != 0)
				return NULL;
			for (jv_t *o = v->kids; o; o = o->next)
				if (o->klen == kl && !memcmp(o->key, k, kl))
					return fail(j, "duplicate key");
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return fail(j, "expected ':'");
			j->p++;
		}
		jv_t *c = value(j);
		if (c == NULL)
			return NULL;
		c->key = k;
		c->klen = kl;
		*tail = c;
		tail = &c->next;
		v->n++;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
			j->p++;
			j->depth--;
			return v;
		}
		return fail(j, obj ? "expected ',' or '}'"
				   : "expected ',' or ']'");
	}
}

static jv_t *number(jp_t *j)
{
	const char *s = j->p;
	bool neg = false, isint = true;
	if (*j->p == '-') {
		neg = true;
		j->p++;
	}
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return fail(j, "bad number");
	if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' &&
	    j->p[1] <= '9')
		return fail(j, "leading zero");
	uint64_t x = 0;
	bool big = false;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		if (x > (UINT64_MAX - 9) / 10)
			big = true;
		x = x * 10 + (uint64_t)(*j->p - '0');
		j->p++;
	}
	if (j->p < j->end && *j->p == '.') {
		isint = false;
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail(j, "bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		isint = false;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail(j, "bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	jv_t *v = node(j, JV_NUMBER);
	if (v == NULL)
		return NULL;
	v->s = s;
	v->len = (size_t)(j->p - s);
	/* integers that fit a u32 are all import needs; others are kept as
	 * "not an integer in range" */
	v->isint = isint && !big && !neg && x <= 0xffffffffull;
	v->u = (uint32_t)x;
	return v;
}

static jv_t *lit(jp_t *j, const char *w, int kind)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return fail(j, "unexpected character");
	j->p += n;
	return node(j, kind);
}

static jv_t *value(jp_t *j)
{
	ws(j);
	if (j->p >= j->end)
		return fail(j, "unexpected end");
	switch (*j->p) {
	case '{':
		return container(j, true);
	case '[':
		return container(j, false);
	case '"': {
		jv_t *v = node(j, JV_STRING);
		if (v == NULL || str(j, &v->s, &v->len) != 0)
			return NULL;
		return v;
	}
	case 't':
		return lit(j, "true", JV_TRUE);
	case 'f':
		return lit(j, "false", JV_FALSE);
	case 'n':
		return lit(j, "null", JV_NULL);
	default:
		return number(j);
	}
}

jv_t *jv_parse(const char *s, size_t len, idn_arena_t *a, char *why, size_t cap)
{
	jp_t j = {s, s, s + len, a, why, cap, 0};
	why[0] = 0;
	jv_t *v = value(&j);
	if (v == NULL)
		return NULL;
	ws(&j);
	if (j.p != j.end)
		return fail(&j, "text after the value");
	return v;
}

jv_t *jv_get(const jv_t *o, const char *key)
{
	if (o == NULL || o->kind != JV_OBJECT)
		return NULL;
	size_t kl = strlen(key);
	for (jv_t *c = o->kids; c; c = c->next)
		if (c->klen == kl && !memcmp(c->key, key, kl))
			return c;
	return NULL;
}
