/* Bounds-checked big-endian cursors over untrusted bytes (Knot's wire_ctx).
 *
 * The reader's first error sticks: after it, every read returns zero or NULL
 * and leaves the cursor where it failed, so a decoder reads a whole structure
 * and checks r->err once at the end. Lengths are checked against what remains
 * before anything is used or allocated.
 *
 * The writer writes into a caller-owned buffer of fixed capacity; overflow
 * sets a sticky IDN_ETOOLONG and further writes are ignored. */
#ifndef IDN_WIRE_H
#define IDN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

/* A view of bytes owned by someone else (usually the input buffer, or an
 * LMDB page inside a read transaction). Not NUL-terminated. */
typedef struct {
	const uint8_t *p;
	uint32_t len;
} idn_bytes_t;

static inline idn_bytes_t idn_bytes(const void *p, size_t len)
{
	idn_bytes_t b = {(const uint8_t *)p, (uint32_t)len};
	return b;
}

static inline idn_bytes_t idn_bytes_str(const char *s)
{
	return idn_bytes(s, strlen(s));
}

static inline bool idn_bytes_eq(idn_bytes_t a, idn_bytes_t b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool idn_bytes_eq_str(idn_bytes_t a, const char *s)
{
	return idn_bytes_eq(a, idn_bytes_str(s));
}

typedef struct {
	const uint8_t *p;
	const uint8_t *end;
	int err;
} idn_rd_t;

/* buf may be NULL when len is 0 (an empty field of a decoded struct). */
static inline void idn_rd_init(idn_rd_t *r, const void *buf, size_t len)
{
	r->p = buf != NULL ? (const uint8_t *)buf : (const uint8_t *)"";
	r->end = r->p + (buf != NULL ? len : 0);
	r->err = 0;
}

static inline size_t idn_rd_left(const idn_rd_t *r)
{
	return (size_t)(r->end - r->p);
}

static inline bool idn_rd_need(idn_rd_t *r, size_t n)
{
	if (r->err)
		return false;
	if (idn_rd_left(r) < n) {
		r->err = IDN_EMALFORMED;
		return false;
	}
	return true;
}

static inline uint8_t idn_rd_u8(idn_rd_t *r)
{
	if (!idn_rd_need(r, 1))
		return 0;
	return *r->p++;
}

static inline uint16_t idn_rd_u16(idn_rd_t *r)
{
	if (!idn_rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
	r->p += 2;
	return v;
}

static inline uint32_t idn_rd_u32(idn_rd_t *r)
{
	if (!idn_rd_need(r, 4))
		return 0;
	uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
		     ((uint32_t)r->p[2] << 8) | r->p[3];
	r->p += 4;
	return v;
}

/* Returns a pointer to the next n bytes inside the buffer and advances, or
 * NULL (with r->err set) if fewer remain. */
static inline const uint8_t *idn_rd_raw(idn_rd_t *r, size_t n)
{
	if (!idn_rd_need(r, n))
		return NULL;
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

/* Reads a u32 length then that many bytes. A length over max, or over what
 * remains, sets IDN_ETOOLONG / IDN_EMALFORMED. */
static inline idn_bytes_t idn_rd_str(idn_rd_t *r, uint32_t max)
{
	idn_bytes_t b = {NULL, 0};
	uint32_t n = idn_rd_u32(r);
	if (r->err)
		return b;
	if (n > max) {
		r->err = IDN_ETOOLONG;
		return b;
	}
	const uint8_t *p = idn_rd_raw(r, n);
	if (p == NULL)
		return b;
	b.p = p;
	b.len = n;
	return b;
}

/* Reads a u32 count and checks that count items of at least min_item bytes
 * each can still fit in what remains, and that count <= max. */
static inline uint32_t idn_rd_count(idn_rd_t *r, uint32_t max, size_t min_item)
{
	uint32_t n = idn_rd_u32(r);
	if (r->err)
		return 0;
	if (n > max) {
		r->err = IDN_ETOOMANY;
		return 0;
	}
	if (min_item != 0 && (size_t)n > idn_rd_left(r) / min_item) {
		r->err = IDN_EMALFORMED;
		return 0;
	}
	return n;
}

/* Ends a decode that must consume all of its input: returns the sticky
 * error, or IDN_EMALFORMED when bytes are left over. */
static inline int idn_rd_finish(const idn_rd_t *r)
{
	if (r->err)
		return r->err;
	return idn_rd_left(r) == 0 ? 0 : IDN_EMALFORMED;
}

static inline void idn_rd_fail(idn_rd_t *r, int err)
{
	if (!r->err)
		r->err = err;
}

typedef struct {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
} idn_wr_t;

static inline void idn_wr_init(idn_wr_t *w, void *buf, size_t cap)
{
	w->buf = (uint8_t *)buf;
	w->len = 0;
	w->cap = cap;
	w->err = 0;
}

/* Reserves n bytes and returns where to write them, or NULL on overflow. */
static inline uint8_t *idn_wr_reserve(idn_wr_t *w, size_t n)
{
	if (w->err)
		return NULL;
	if (w->cap - w->len < n) {
		w->err = IDN_ETOOLONG;
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static inline void idn_wr_u8(idn_wr_t *w, uint8_t v)
{
	uint8_t *p = idn_wr_reserve(w, 1);
	if (p)
		p[0] = v;
}

static inline void idn_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void idn_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t idn_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline void idn_put_u64(uint8_t *p, uint64_t v)
{
	idn_put_u32(p, (uint32_t)(v >> 32));
	idn_put_u32(p + 4, (uint32_t)v);
}

static inline uint64_t idn_get_u64(const uint8_t *p)
{
	return ((uint64_t)idn_get_u32(p) << 32) | idn_get_u32(p + 4);
}

static inline void idn_wr_u16(idn_wr_t *w, uint16_t v)
{
	uint8_t *p = idn_wr_reserve(w, 2);
	if (p)
		idn_put_u16(p, v);
}

static inline void idn_wr_u32(idn_wr_t *w, uint32_t v)
{
	uint8_t *p = idn_wr_reserve(w, 4);
	if (p)
		idn_put_u32(p, v);
}

static inline void idn_wr_u64(idn_wr_t *w, uint64_t v)
{
	uint8_t *p = idn_wr_reserve(w, 8);
	if (p)
		idn_put_u64(p, v);
}

static inline void idn_wr_raw(idn_wr_t *w, const void *src, size_t n)
{
	uint8_t *p = idn_wr_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

/* Writes a u32 length then the bytes. */
static inline void idn_wr_str(idn_wr_t *w, idn_bytes_t b)
{
	idn_wr_u32(w, b.len);
	idn_wr_raw(w, b.p, b.len);
}

/* Overwrites a u32 at an earlier position (for lengths known only later). */
static inline void idn_wr_patch_u32(idn_wr_t *w, size_t pos, uint32_t v)
{
	if (!w->err && pos + 4 <= w->len)
		idn_put_u32(w->buf + pos, v);
}

#endif
