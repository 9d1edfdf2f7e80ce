/* The upgrade of template references to the national form (tplcheck.h,
 * tpl_upgrade_store): index 1999 IDN_TEMPLATE_REF becomes index 1001
 * TEMPLATE, through the store interface, so LMDB and PostgreSQL stores
 * alike. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "tplcheck.h"
#include "value.h"

#define MARKER "tplref-1001" /* in the data directory: upgrade done */
#define BATCH 256	     /* records a write transaction moves */

/* The identifiers (as first created) of the records to move. */
typedef struct {
	char **ids;
	size_t n, cap;
} todo_t;

static int todo_add(todo_t *t, idn_bytes_t id)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		char **ids = realloc(t->ids, cap * sizeof(*ids));
		if (ids == NULL)
			return -ENOMEM;
		t->ids = ids;
		t->cap = cap;
	}
	t->ids[t->n] = strndup((const char *)id.p, id.len);
	return t->ids[t->n++] ? 0 : -ENOMEM;
}

/* Whether rec holds an old-form reference (index 1999, IDN_TEMPLATE_REF). */
static bool has_old_ref(const idn_record_t *rec, idn_arena_t *a)
{
	idn_rd_t rd;
	idn_rd_init(&rd, rec->values.p, rec->values.len);
	for (uint32_t i = 0; i < rec->nvalues && !rd.err; i++) {
		idn_value_t v;
		idn_value_decode(&rd, a, &v);
		if (!rd.err && v.index == TPL_REF_OLD_INDEX &&
		    idn_type_matches(v.type, idn_bytes_str(TPL_REF_OLD_TYPE)))
			return true;
	}
	return false;
}

static int scan(idn_store_t *s, todo_t *todo)
{
	idn_rtxn_t *rt;
	idn_iter_t *it = NULL;
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int err = idn_rtxn_begin(s, &rt);
	if (err)
		return err;
	err = idn_iter_records(rt, idn_bytes(NULL, 0), idn_bytes(NULL, 0), &it);
	idn_iter_item_t item;
	while (err == 0 && (err = idn_iter_next(it, &item)) == 0) {
		if (has_old_ref(&item.rec, &a))
			err = todo_add(todo, item.rec.id);
		idn_arena_reset(&a);
	}
	if (err == IDN_ENOTFOUND)
		err = 0;
	idn_iter_free(it);
	idn_rtxn_free(rt);
	idn_arena_free(&a);
	return err;
}

/* Moves the reference of one record in t; *moved says whether it did
 * (an index 1001 already taken by another value keeps the old form). */
static int move_one(idn_wtxn_t *t, const char *text, unsigned flags,
		    idn_arena_t *a, bool *moved)
{
	*moved = false;
	idn_ident_t id;
	int err = idn_ident_parse((const uint8_t *)text, strlen(text), flags,
				  &id);
	idn_record_t rec;
	if (err == 0)
		err = idn_wtxn_get(t, id.key, id.key_len, &rec);
	if (err == IDN_ENOTFOUND || err == IDN_EIDENT)
		return 0; /* gone since the scan */
	if (err)
		return err;
	idn_value_t *v =
		idn_arena_array(a, rec.nvalues ? rec.nvalues : 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	idn_rd_t rd;
	idn_rd_init(&rd, rec.values.p, rec.values.len);
	for (uint32_t i = 0; i < rec.nvalues && !rd.err; i++)
		idn_value_decode(&rd, a, &v[i]);
	if (rd.err)
		return IDN_ECORRUPT;
	idn_value_t nv;
	bool found = false;
	for (uint32_t i = 0; i < rec.nvalues; i++) {
		if (v[i].index == TPL_REF_INDEX) {
			log_warn("template reference of %s stays at index %d: "
				 "index %d holds a value of type %.*s",
				 text, TPL_REF_OLD_INDEX, TPL_REF_INDEX,
				 (int)v[i].type.len, (const char *)v[i].type.p);
			return 0;
		}
		if (v[i].index == TPL_REF_OLD_INDEX &&
		    idn_type_matches(v[i].type,
				     idn_bytes_str(TPL_REF_OLD_TYPE))) {
			nv = v[i];
			found = true;
		}
	}
	if (!found)
		return 0;
	nv.index = TPL_REF_INDEX;
	nv.type = idn_bytes_str(TPL_REF_TYPE);
	uint32_t old = TPL_REF_OLD_INDEX;
	err = idn_wtxn_remove(t, &id, &old, 1);
	if (err == 0)
		err = idn_wtxn_add(t, &id, &nv, 1, false);
	*moved = err == 0;
	return err;
}

/* Whether the marker says the store was upgraded already. */
static bool marked(const char *dir)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/" MARKER, dir);
	return access(path, F_OK) == 0;
}

static void mark(const char *dir)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/" MARKER, dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd >= 0)
		close(fd);
}

int tpl_upgrade_store(idn_store_t *s, unsigned flags, const char *dir,
		      uint64_t *moved)
{
	*moved = 0;
	if (dir != NULL && marked(dir))
		return 0;
	todo_t todo = {0};
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int err = scan(s, &todo);
	for (size_t i = 0; err == 0 && i < todo.n; i += BATCH) {
		idn_wtxn_t *t;
		err = idn_wtxn_begin(s, &t);
		for (size_t k = i; err == 0 && k < todo.n && k < i + BATCH;
		     k++) {
			bool m;
			err = move_one(t, todo.ids[k], flags, &a, &m);
			*moved += m;
			idn_arena_reset(&a);
		}
		if (err == 0)
			err = idn_wtxn_commit(t);
		else if (t != NULL)
			idn_wtxn_abort(t);
	}
	for (size_t i = 0; i < todo.n; i++)
		free(todo.ids[i]);
	free(todo.ids);
	idn_arena_free(&a);
	if (err == 0 && dir != NULL)
		mark(dir);
	return err;
}
