/* The change log's generic layer (changes.h): entries gathered per write
 * transaction as its operations succeed, handed to the backend at commit;
 * reading, pruning and replaying through the backend's operations. */
#include "changes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "ident.h"
#include "search.h"
#include "store_impl.h"
#include "value.h"

static const char *const names[] = {
	[IDN_CH_CREATE] = "create",
	[IDN_CH_DELETE] = "delete",
	[IDN_CH_ADD] = "add",
	[IDN_CH_MODIFY] = "modify",
	[IDN_CH_REMOVE] = "remove",
	[IDN_CH_HOME] = "home",
	[IDN_CH_UNHOME] = "unhome",
	[IDN_CH_INDEX_ADD] = "index add",
	[IDN_CH_INDEX_REMOVE] = "index remove",
};

const char *idn_change_op_name(uint32_t op)
{
	if (op < sizeof(names) / sizeof(names[0]) && names[op])
		return names[op];
	return "?";
}

void idn_wtxn_set_actor(idn_wtxn_t *t, const char *actor)
{
	if (t == NULL)
		return;
	size_t n = actor ? strlen(actor) : 0;
	if (n > sizeof(t->actor))
		n = sizeof(t->actor);
	memcpy(t->actor, actor ? actor : "", n);
	t->actor_len = (uint16_t)n;
}

void idn__change_encode(idn_wr_t *w, uint64_t time_ms, uint32_t op,
			idn_bytes_t actor, idn_bytes_t name, idn_bytes_t body)
{
	idn_wr_u64(w, time_ms);
	idn_wr_u32(w, op);
	idn_wr_str(w, actor);
	idn_wr_str(w, name);
	idn_wr_str(w, body);
}

int idn__change_decode(const uint8_t *p, size_t len, idn_change_t *c)
{
	idn_rd_t r;
	idn_rd_init(&r, p, len);
	const uint8_t *t = idn_rd_raw(&r, 8);
	c->op = idn_rd_u32(&r);
	c->actor = idn_rd_str(&r, UINT32_MAX);
	c->name = idn_rd_str(&r, UINT32_MAX);
	c->body = idn_rd_str(&r, UINT32_MAX);
	if (r.err || idn_rd_left(&r) != 0)
		return IDN_ECORRUPT;
	c->time_ms = idn_get_u64(t);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Makes room for need more bytes of pending entries. */
static uint8_t *log_room(idn_wtxn_t *t, size_t need)
{
	if (t->log_len + need > t->log_cap) {
		size_t cap = t->log_cap ? t->log_cap : 4096;
		while (cap < t->log_len + need)
			cap *= 2;
		uint8_t *p = realloc(t->log, cap);
		if (p == NULL)
			return NULL;
		t->log = p;
		t->log_cap = cap;
	}
	return t->log + t->log_len;
}

/* Appends one entry: u32 length, then idn__change_encode's bytes; the
 * body is written by body(ctx, w) into bsize bytes. A failure to remember
 * it fails the commit (t->log_err): the log never misses a change. */
static void log_add(idn_wtxn_t *t, uint32_t op, idn_bytes_t name, size_t bsize,
		    void (*body)(const void *ctx, idn_wr_t *w), const void *ctx)
{
	if (t->log_err)
		return;
	size_t size = 8 + 4 + 4 + t->actor_len + 4 + name.len + 4 + bsize;
	uint8_t *p = log_room(t, 4 + size);
	if (p == NULL) {
		t->log_err = -ENOMEM;
		return;
	}
	idn_wr_t w;
	idn_wr_init(&w, p, 4 + size);
	idn_wr_u32(&w, (uint32_t)size);
	idn_wr_u64(&w, now_ms());
	idn_wr_u32(&w, op);
	idn_wr_str(&w, idn_bytes(t->actor, t->actor_len));
	idn_wr_str(&w, name);
	idn_wr_u32(&w, (uint32_t)bsize);
	if (body)
		body(ctx, &w);
	if (w.err || w.len != 4 + size) {
		t->log_err = IDN_ETOOLONG;
		return;
	}
	t->log_len += w.len;
	t->log_n++;
}

typedef struct {
	bool flags;
	uint8_t flag;
	const idn_value_t *v;
	const uint32_t *idx;
	uint32_t n;
} args_t;

static void put_args(const void *ctx, idn_wr_t *w)
{
	const args_t *a = ctx;
	if (a->flags)
		idn_wr_u8(w, a->flag);
	idn_wr_u32(w, a->n);
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->v)
			idn_value_encode(w, &a->v[i]);
		else
			idn_wr_u32(w, a->idx[i]);
	}
}

static size_t args_size(const args_t *a)
{
	size_t n = (a->flags ? 1 : 0) + 4;
	for (uint32_t i = 0; i < a->n; i++)
		n += a->v ? idn_value_size(&a->v[i]) : 4;
	return n;
}

void idn__changes_note(idn_wtxn_t *t, uint32_t op, idn_bytes_t name,
		       const idn_value_t *v, const uint32_t *idx, uint32_t n,
		       bool overwrite)
{
	args_t a = {.flags = op == IDN_CH_CREATE || op == IDN_CH_ADD,
		    .flag = overwrite ? 1 : 0,
		    .v = v,
		    .idx = idx,
		    .n = n};
	bool args = v != NULL || idx != NULL || a.flags;
	log_add(t, op, name, args ? args_size(&a) : 0, args ? put_args : NULL,
		&a);
}

int idn__changes_flush(idn_wtxn_t *t)
{
	int err = t->log_err;
	if (err == 0 && t->log_n) {
		if (t->store->ops->changes_write == NULL)
			err = IDN_EUNSUPPORTED;
		else
			err = t->store->ops->changes_write(
				t, t->log, t->log_len, t->log_n);
	}
	return err;
}

void idn__changes_free(idn_wtxn_t *t)
{
	free(t->log);
	t->log = NULL;
	t->log_len = t->log_cap = 0;
	t->log_n = 0;
	t->log_err = 0;
}

int idn_changes_bounds(idn_rtxn_t *t, uint64_t *first, uint64_t *next)
{
	if (t == NULL || first == NULL || next == NULL)
		return IDN_EINVAL;
	if (t->store->ops->changes_bounds == NULL)
		return IDN_EUNSUPPORTED;
	return t->store->ops->changes_bounds(t, first, next);
}

int idn_changes_read(idn_rtxn_t *t, uint64_t from, uint32_t max,
		     idn_change_cb cb, void *ctx)
{
	if (t == NULL || cb == NULL)
		return IDN_EINVAL;
	if (t->store->ops->changes_read == NULL)
		return IDN_EUNSUPPORTED;
	return t->store->ops->changes_read(t, from, max, cb, ctx);
}

int idn_store_changes_prune(idn_store_t *s, uint64_t older_than_ms,
			    uint64_t keep_max, uint64_t *pruned)
{
	if (s == NULL || pruned == NULL)
		return IDN_EINVAL;
	*pruned = 0;
	if (s->readonly)
		return IDN_EREADONLY;
	if (s->ops->changes_prune == NULL)
		return IDN_EUNSUPPORTED;
	return s->ops->changes_prune(s, older_than_ms, keep_max, pruned);
}

/* The identifier of a change, as the write operations take it. */
static int change_ident(const idn_change_t *c, unsigned flags, idn_ident_t *id)
{
	if (c->name.len == 0 || c->name.len > IDN_IDENT_MAX)
		return IDN_EMALFORMED;
	return idn_ident_parse(c->name.p, c->name.len, flags, id) == 0
		       ? 0
		       : IDN_EMALFORMED;
}

int idn_wtxn_replay(idn_wtxn_t *t, const idn_change_t *c, unsigned id_flags,
		    idn_arena_t *a)
{
	if (t == NULL || c == NULL || a == NULL)
		return IDN_EINVAL;
	idn_rd_t r;
	idn_rd_init(&r, c->body.p, c->body.len);
	idn_ident_t id;
	uint8_t flag = 0;
	idn_value_t *v = NULL;
	uint32_t n = 0, *idx = NULL;
	int err;
	switch (c->op) {
	case IDN_CH_HOME:
	case IDN_CH_UNHOME:
		if (c->name.len == 0 || c->name.len >= IDN_IDENT_MAX)
			return IDN_EMALFORMED;
		return c->op == IDN_CH_HOME
			       ? idn_wtxn_home(t, c->name.p, c->name.len)
			       : idn_wtxn_unhome(t, c->name.p, c->name.len);
	case IDN_CH_INDEX_ADD:
		return idn_wtxn_index_add(t, c->name);
	case IDN_CH_INDEX_REMOVE:
		return idn_wtxn_index_remove(t, c->name);
	case IDN_CH_DELETE:
		err = change_ident(c, id_flags, &id);
		return err ? err : idn_wtxn_delete(t, &id);
	case IDN_CH_CREATE:
	case IDN_CH_ADD:
		flag = idn_rd_u8(&r);
		/* fall through */
	case IDN_CH_MODIFY:
		if (idn_values_decode(&r, a, &v, &n) != 0 || idn_rd_left(&r))
			return IDN_EMALFORMED;
		break;
	case IDN_CH_REMOVE:
		n = idn_rd_count(&r, IDN_VALUES_MAX, 4);
		idx = idn_arena_alloc(a, (n ? n : 1) * sizeof(*idx));
		if (idx == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < n; i++)
			idx[i] = idn_rd_u32(&r);
		if (r.err || idn_rd_left(&r))
			return IDN_EMALFORMED;
		break;
	default:
		return IDN_EMALFORMED;
	}
	err = change_ident(c, id_flags, &id);
	if (err)
		return err;
	switch (c->op) {
	case IDN_CH_CREATE:
		return idn_wtxn_create(t, &id, v, n, flag & 1);
	case IDN_CH_ADD:
		return idn_wtxn_add(t, &id, v, n, flag & 1);
	case IDN_CH_MODIFY:
		return idn_wtxn_modify(t, &id, v, n);
	default:
		return idn_wtxn_remove(t, &id, idx, n);
	}
}
