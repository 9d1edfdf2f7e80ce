/* Per-request bump allocator (NSD regions, Knot mempools): allocations live
 * until idn_arena_reset() or idn_arena_free(); there is no per-object free. */
#ifndef IDN_ARENA_H
#define IDN_ARENA_H

#include <stddef.h>

typedef struct idn_arena_chunk idn_arena_chunk_t;

typedef struct {
	idn_arena_chunk_t *head; /* newest chunk */
	size_t chunk_size;	 /* default size of new chunks */
} idn_arena_t;

/* Prepares an empty arena; chunk_size 0 picks 64 KiB. Never fails. */
void idn_arena_init(idn_arena_t *a, size_t chunk_size);

/* Returns n bytes aligned to 16, or NULL when out of memory. The memory is
 * owned by the arena. */
void *idn_arena_alloc(idn_arena_t *a, size_t n);

/* Like idn_arena_alloc for an array of n elements of size sz, with overflow
 * checking; NULL on overflow or out of memory. */
void *idn_arena_array(idn_arena_t *a, size_t n, size_t sz);

/* Frees everything but the first chunk, which is kept for reuse. */
void idn_arena_reset(idn_arena_t *a);

/* Frees all memory. The arena may be reused after idn_arena_init. */
void idn_arena_free(idn_arena_t *a);

#endif
