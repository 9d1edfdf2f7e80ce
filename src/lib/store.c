/* The storage interface (store.h): argument checks common to every
 * backend, then dispatch through the backend's ops (store_impl.h). */
#include "store.h"

#include <string.h>

#include "error.h"
#include "store_impl.h"

/* A libpq connection URI, or a key=value connection string naming a
 * server or database (a directory path holds neither form). */
static bool is_pg(const char *path)
{
	static const char *const kw[] = {
		"host=", "hostaddr=", "dbname=", "service="};
	if (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0)
		return true;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		const char *p = strstr(path, kw[i]);
		if (p && (p == path || p[-1] == ' '))
			return true;
	}
	return false;
}

int idn_store_open(const idn_store_opts_t *o, idn_store_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (o == NULL || o->path == NULL || o->path[0] == '\0' ||
	    (o->replicas == NULL && o->nreplicas))
		return IDN_EINVAL;
	if (is_pg(o->path))
		return idn__store_pg_open(o, out);
	return idn__store_lmdb_open(o, out);
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

/* ---- writes ---- */

int idn_wtxn_begin(idn_store_t *s, idn_wtxn_t **out)
{
	if (out == NULL)
		return IDN_EINVAL;
	*out = NULL;
	if (s == NULL)
		return IDN_EINVAL;
	return s->ops->wtxn_begin(s, out);
}

int idn_wtxn_commit(idn_wtxn_t *t)
{
	if (t == NULL)
		return IDN_EINVAL;
	return t->store->ops->wtxn_commit(t);
}

void idn_wtxn_abort(idn_wtxn_t *t)
{
	if (t)
		t->store->ops->wtxn_abort(t);
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
	return t->store->ops->create(t, id, v, n, overwrite);
}

int idn_wtxn_delete(idn_wtxn_t *t, const idn_ident_t *id)
{
	if (t == NULL || !ident_ok(id))
		return IDN_EINVAL;
	return t->store->ops->del(t, id);
}

int idn_wtxn_add(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		 uint32_t n, bool overwrite)
{
	int err = values_ok(t, id, v, n);
	if (err)
		return err;
	return t->store->ops->add(t, id, v, n, overwrite);
}

int idn_wtxn_modify(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		    uint32_t n)
{
	int err = values_ok(t, id, v, n);
	if (err)
		return err;
	return t->store->ops->modify(t, id, v, n);
}

int idn_wtxn_remove(idn_wtxn_t *t, const idn_ident_t *id, const uint32_t *idx,
		    uint32_t n)
{
	int err = values_ok(t, id, idx, n);
	if (err)
		return err;
	return t->store->ops->remove(t, id, idx, n);
}

int idn_wtxn_home(idn_wtxn_t *t, const uint8_t *prefix, size_t len)
{
	if (t == NULL || !key_ok(prefix, len))
		return IDN_EINVAL;
	return t->store->ops->home(t, prefix, len);
}

int idn_wtxn_unhome(idn_wtxn_t *t, const uint8_t *prefix, size_t len)
{
	if (t == NULL || !key_ok(prefix, len))
		return IDN_EINVAL;
	return t->store->ops->unhome(t, prefix, len);
}
