#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

struct idn_arena_chunk {
	idn_arena_chunk_t *next;
	size_t size; /* usable bytes in data[] */
	size_t used;
	_Alignas(16) unsigned char data[];
};

void idn_arena_init(idn_arena_t *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void *idn_arena_alloc(idn_arena_t *a, size_t n)
{
	if (n > SIZE_MAX - 15)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	idn_arena_chunk_t *c = a->head;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > a->chunk_size ? n : a->chunk_size;
		if (size > SIZE_MAX - sizeof(*c))
			return NULL;
		idn_arena_chunk_t *nc = malloc(sizeof(*nc) + size);
		if (nc == NULL)
			return NULL;
		nc->size = size;
		nc->used = 0;
		/* Keep a partly used chunk at the head when the new one is a
		 * one-off large allocation, so small allocations continue
		 * there. */
		if (c != NULL && size > a->chunk_size) {
			nc->next = c->next;
			c->next = nc;
			nc->used = n;
			return nc->data;
		}
		nc->next = c;
		a->head = c = nc;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

void *idn_arena_array(idn_arena_t *a, size_t n, size_t sz)
{
	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	size_t total = n * sz;
	return idn_arena_alloc(a, total != 0 ? total : 1);
}

void idn_arena_reset(idn_arena_t *a)
{
	idn_arena_chunk_t *c = a->head;
	if (c == NULL)
		return;
	/* keep the last (oldest) chunk of default size; free the rest */
	idn_arena_chunk_t *keep = NULL;
	while (c != NULL) {
		idn_arena_chunk_t *next = c->next;
		if (keep == NULL && c->size == a->chunk_size)
			keep = c;
		else
			free(c);
		c = next;
	}
	if (keep != NULL) {
		keep->next = NULL;
		keep->used = 0;
	}
	a->head = keep;
}

void idn_arena_free(idn_arena_t *a)
{
	idn_arena_chunk_t *c = a->head;
	while (c != NULL) {
		idn_arena_chunk_t *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}
