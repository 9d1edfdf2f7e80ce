/* The storage interface (store.h): argument checks common to every
 * backend, then dispatch through the backend's ops (store_impl.h). */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "store_impl.h"

/* wakes the waiters of idn_store_wait_commit; one for every store of the
 * process (a waiter checks its own store's count) */
static pthread_mutex_t commit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t commit_cond = PTHREAD_COND_INITIALIZER;

int idn_store_open(const idn_store_opts_t *o, idn_store_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	idn_store_spec_t spec;
	if (o == NULL || idn_store_spec_parse(o->path, &spec) != 0 ||
	    (o->replicas == NULL && o->nreplicas))
		return IDN_EINVAL;
	idn_store_opts_t bo = *o;
	bo.path = spec.path;
	if (spec.kind == IDN_STORE_PG)
		return idn__store_pg_open(&bo, out);
	return idn__store_lmdb_open(&bo, out);
}

void idn_store_close(idn_store_t *s)
{
	if (s)
		s->ops->close(s);
}

int idn_store_stat(idn_store_t *s, idn_store_stat_t *out)
{
	if (s == NULL || out == NULL)
		return IDN_EINVAL;
	return s->ops->stat(s, out);
}

/* ---- reads ---- */

int idn_rtxn_begin(idn_store_t *s, idn_rtxn_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (s == NULL)
		return IDN_EINVAL;
	return s->ops->rtxn_begin(s, out);
}

void idn_rtxn_reset(idn_rtxn_t *t)
{
	if (t)
		t->store->ops->rtxn_reset(t);
}

int idn_rtxn_renew(idn_rtxn_t *t)
{
	if (t == NULL)
		return IDN_EINVAL;
	return t->store->ops->rtxn_renew(t);
}

uint64_t idn_rtxn_snapshot(idn_rtxn_t *t)
{
	if (t == NULL || t->store->ops->rtxn_snapshot == NULL)
		return 0;
	return t->store->ops->rtxn_snapshot(t);
}

void idn_rtxn_free(idn_rtxn_t *t)
{
	if (t)
		t->store->ops->rtxn_free(t);
}

/* A normalised key or prefix of a size that can be stored. */
static bool key_ok(const uint8_t *key, size_t len)
{
	return key != NULL && len != 0 && len <= IDN_IDENT_MAX;
}

int idn_store_get(idn_rtxn_t *t, const uint8_t *key, size_t keylen,
		  idn_record_t *out)
{
	if (t == NULL || out == NULL || (key == NULL && keylen))
		return IDN_EINVAL;
	if (!key_ok(key, keylen))
		return IDN_ENOTFOUND;
	return t->store->ops->get(t, key, keylen, out);
}

int idn_store_get_unchecked(idn_rtxn_t *t, const uint8_t *key, size_t keylen,
			    idn_record_t *out)
{
	if (t == NULL || out == NULL || (key == NULL && keylen))
		return IDN_EINVAL;
	if (!key_ok(key, keylen))
		return IDN_ENOTFOUND;
	if (t->store->ops->get_unchecked == NULL)
		return t->store->ops->get(t, key, keylen, out);
	return t->store->ops->get_unchecked(t, key, keylen, out);
}

int idn_store_homed(idn_rtxn_t *t, const uint8_t *prefix, size_t len)
{
	if (t == NULL || (prefix == NULL && len))
		return IDN_EINVAL;
	if (!key_ok(prefix, len))
		return 0;
	return t->store->ops->homed(t, prefix, len);
}

int idn_store_list(idn_rtxn_t *t, const uint8_t *prefix, size_t len,
		   idn_bytes_t after, idn_list_cb cb, void *ctx)
{
	if (t == NULL || cb == NULL || (prefix == NULL && len) ||
	    (after.p == NULL && after.len))
		return IDN_EINVAL;
	/* No identifier has an empty prefix or one this long. */
	if (len == 0 || len >= IDN_IDENT_MAX)
		return 0;
	return t->store->ops->list(t, prefix, len, after, cb, ctx);
}

int idn_store_list_homed(idn_rtxn_t *t, idn_list_cb cb, void *ctx)
{
	if (t == NULL || cb == NULL)
		return IDN_EINVAL;
	return t->store->ops->list_homed(t, cb, ctx);
}

/* ---- iterators ---- */

int idn_iter_records(idn_rtxn_t *t, idn_bytes_t under, idn_bytes_t from,
		     idn_iter_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (t == NULL || (under.p == NULL && under.len) ||
	    (from.p == NULL && from.len) || under.len > IDN_IDENT_MAX + 1 ||
	    from.len > IDN_IDENT_MAX + 1)
		return IDN_EINVAL;
	return t->store->ops->iter_records(t, under, from, out);
}

/* The homed prefixes and the declared types: read whole at begin, in the
 * transaction's snapshot (there are few of them), then handed out one at
 * a time. Each item is a u32 length and its bytes. */
typedef struct {
	idn_iter_t base;
	uint8_t *p;
	size_t len, cap, off;
	int err; /* of the listing's callback */
} list_iter_t;

static int list_iter_add(void *ctx, idn_bytes_t item)
{
	list_iter_t *it = ctx;
	if (item.len > IDN_IDENT_MAX) {
		it->err = IDN_ECORRUPT;
		return 1;
	}
	if (it->cap - it->len < 4 + item.len) {
		size_t cap = it->cap ? it->cap * 2 : 4096;
		while (cap - it->len < 4 + item.len)
			cap *= 2;
		uint8_t *p = realloc(it->p, cap);
		if (p == NULL) {
			it->err = -ENOMEM;
			return 1;
		}
		it->p = p;
		it->cap = cap;
	}
	idn_put_u32(it->p + it->len, (uint32_t)item.len);
	if (item.len)
		memcpy(it->p + it->len + 4, item.p, item.len);
	it->len += 4 + item.len;
	return 0;
}

static int list_iter_next(idn_iter_t *base, idn_iter_item_t *out)
{
	list_iter_t *it = (list_iter_t *)base;
	if (it->off == it->len)
		return IDN_ENOTFOUND;
	uint32_t n = idn_get_u32(it->p + it->off);
	out->key = idn_bytes(it->p + it->off + 4, n);
	it->off += 4 + (size_t)n;
	return 0;
}

static void list_iter_free(idn_iter_t *base)
{
	list_iter_t *it = (list_iter_t *)base;
	free(it->p);
	free(it);
}

typedef int (*listing_fn)(idn_rtxn_t *t, idn_list_cb cb, void *ctx);

static int list_iter_begin(idn_rtxn_t *t, listing_fn list, idn_iter_t **out)
{
	*out = NULL;
	list_iter_t *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -ENOMEM;
	it->base.txn = t;
	it->base.next = list_iter_next;
	it->base.free = list_iter_free;
	int err = list ? list(t, list_iter_add, it) : 0;
	if (err > 0) /* stopped by list_iter_add */
		err = it->err;
	if (err) {
		list_iter_free(&it->base);
		return err;
	}
	*out = &it->base;
	return 0;
}

int idn_iter_homed(idn_rtxn_t *t, idn_iter_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (t == NULL)
		return IDN_EINVAL;
	return list_iter_begin(t, t->store->ops->list_homed, out);
}

int idn_iter_types(idn_rtxn_t *t, idn_iter_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (t == NULL)
		return IDN_EINVAL;
	return list_iter_begin(t, t->store->ops->index_types, out);
}

int idn_iter_next(idn_iter_t *it, idn_iter_item_t *out)
{
	if (it == NULL || out == NULL)
		return IDN_EINVAL;
	memset(out, 0, sizeof(*out));
	if (it->err == 0)
		it->err = it->next(it, out);
	if (it->err)
		memset(out, 0, sizeof(*out));
	return it->err;
}

void idn_iter_free(idn_iter_t *it)
{
	if (it)
		it->free(it);
}

/* ---- writes ---- */

int idn_wtxn_begin(idn_store_t *s, idn_wtxn_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (s == NULL)
		return IDN_EINVAL;
	if (s->readonly)
		return IDN_EREADONLY;
	int err = s->ops->wtxn_begin(s, out);
	if (err == 0) {
		idn_wtxn_t *t = *out;
		t->log = NULL;
		t->log_len = t->log_cap = 0;
		t->log_n = 0;
		t->log_err = 0;
		t->actor_len = 0;
	}
	return err;
}

int idn_wtxn_commit(idn_wtxn_t *t)
{
	if (t == NULL)
		return IDN_EINVAL;
	/* the change log is written in the transaction it records */
	bool logged = t->log_n > 0;
	int err = idn__changes_flush(t);
	idn__changes_free(t);
	if (err) {
		t->store->ops->wtxn_abort(t);
		return err;
	}
	idn_store_t *s = t->store;
	err = s->ops->wtxn_commit(t);
	if (err == 0 && logged) {
		pthread_mutex_lock(&commit_mu);
		atomic_fetch_add(&s->commits, 1);
		pthread_cond_broadcast(&commit_cond);
		pthread_mutex_unlock(&commit_mu);
	}
	return err;
}

uint64_t idn_store_commits(idn_store_t *s)
{
	return s ? atomic_load(&s->commits) : 0;
}

uint64_t idn_store_wait_commit(idn_store_t *s, uint64_t seen, int timeout_ms)
{
	if (s == NULL)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&commit_mu);
	while (atomic_load(&s->commits) == seen &&
	       pthread_cond_timedwait(&commit_cond, &commit_mu, &ts) == 0)
		;
	pthread_mutex_unlock(&commit_mu);
	return atomic_load(&s->commits);
}

int idn_store_meta_get(idn_rtxn_t *t, const char *key, uint8_t *buf, size_t cap,
		       size_t *len)
{
	if (t == NULL || key == NULL || len == NULL || (buf == NULL && cap))
		return IDN_EINVAL;
	if (t->store->ops->meta_get == NULL)
		return IDN_EUNSUPPORTED;
	return t->store->ops->meta_get(t, key, buf, cap, len);
}

int idn_wtxn_meta_put(idn_wtxn_t *t, const char *key, const uint8_t *v,
		      size_t len)
{
	if (t == NULL || key == NULL || (v == NULL && len) || len > 1024 ||
	    strlen(key) > 200)
		return IDN_EINVAL;
	if (t->store->ops->meta_put == NULL)
		return IDN_EUNSUPPORTED;
	return t->store->ops->meta_put(t, key, v, len);
}

void idn_wtxn_abort(idn_wtxn_t *t)
{
	if (t) {
		idn__changes_free(t);
		t->store->ops->wtxn_abort(t);
	}
}

int idn_wtxn_get(idn_wtxn_t *t, const uint8_t *key, size_t keylen,
		 idn_record_t *out)
{
	if (t == NULL || out == NULL || (key == NULL && keylen))
		return IDN_EINVAL;
	if (!key_ok(key, keylen))
		return IDN_ENOTFOUND;
	return t->store->ops->wtxn_get(t, key, keylen, out);
}

static bool ident_ok(const idn_ident_t *id)
{
	return id != NULL && key_ok(id->key, id->key_len) &&
	       id->text.p != NULL && id->text.len == id->key_len;
}

/* Checks the common arguments of the value-carrying operations. */
static int values_ok(idn_wtxn_t *t, const idn_ident_t *id, const void *v,
		     uint32_t n)
{
	if (t == NULL || !ident_ok(id) || (v == NULL && n))
		return IDN_EINVAL;
	if (n > IDN_VALUES_MAX)
		return IDN_ETOOMANY;
	return 0;
}

int idn_wtxn_create(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		    uint32_t n, bool overwrite)
{
	int err = values_ok(t, id, v, n);
	if (err)
		return err;
	err = t->store->ops->create(t, id, v, n, overwrite);
	if (err == 0)
		idn__changes_note(t, IDN_CH_CREATE, id->text, v, NULL, n,
				  overwrite);
	return err;
}

int idn_wtxn_delete(idn_wtxn_t *t, const idn_ident_t *id)
{
	if (t == NULL || !ident_ok(id))
		return IDN_EINVAL;
	int err = t->store->ops->del(t, id);
	if (err == 0)
		idn__changes_note(t, IDN_CH_DELETE, id->text, NULL, NULL, 0,
				  false);
	return err;
}

int idn_wtxn_add(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		 uint32_t n, bool overwrite)
{
	int err = values_ok(t, id, v, n);
	if (err)
		return err;
	err = t->store->ops->add(t, id, v, n, overwrite);
	if (err == 0)
		idn__changes_note(t, IDN_CH_ADD, id->text, v, NULL, n,
				  overwrite);
	return err;
}

int idn_wtxn_modify(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		    uint32_t n)
{
	int err = values_ok(t, id, v, n);
	if (err)
		return err;
	err = t->store->ops->modify(t, id, v, n);
	if (err == 0)
		idn__changes_note(t, IDN_CH_MODIFY, id->text, v, NULL, n,
				  false);
	return err;
}

int idn_wtxn_remove(idn_wtxn_t *t, const idn_ident_t *id, const uint32_t *idx,
		    uint32_t n)
{
	int err = values_ok(t, id, idx, n);
	if (err)
		return err;
	err = t->store->ops->remove(t, id, idx, n);
	if (err == 0)
		idn__changes_note(t, IDN_CH_REMOVE, id->text, NULL, idx, n,
				  false);
	return err;
}

int idn_wtxn_home(idn_wtxn_t *t, const uint8_t *prefix, size_t len)
{
	if (t == NULL || !key_ok(prefix, len))
		return IDN_EINVAL;
	int err = t->store->ops->home(t, prefix, len);
	/* a prefix homed already is no change: the log holds none */
	if (err == 0)
		idn__changes_note(t, IDN_CH_HOME, idn_bytes(prefix, len), NULL,
				  NULL, 0, false);
	return err == 1 ? 0 : err;
}

int idn_wtxn_unhome(idn_wtxn_t *t, const uint8_t *prefix, size_t len)
{
	if (t == NULL || !key_ok(prefix, len))
		return IDN_EINVAL;
	int err = t->store->ops->unhome(t, prefix, len);
	if (err == 0)
		idn__changes_note(t, IDN_CH_UNHOME, idn_bytes(prefix, len),
				  NULL, NULL, 0, false);
	return err;
}

/* ---- integrity and backups ---- */

int idn_store_check(idn_store_t *s, idn_check_cb cb, void *ctx,
		    idn_check_stat_t *st)
{
	if (s == NULL || cb == NULL || st == NULL)
		return IDN_EINVAL;
	memset(st, 0, sizeof(*st));
	if (s->ops->check == NULL)
		return IDN_EUNSUPPORTED;
	return s->ops->check(s, cb, ctx, st);
}

int idn_store_backup(idn_store_t *s, const char *dir)
{
	if (s == NULL || dir == NULL || dir[0] == '\0')
		return IDN_EINVAL;
	if (s->ops->backup == NULL)
		return IDN_EUNSUPPORTED;
	return s->ops->backup(s, dir);
}
