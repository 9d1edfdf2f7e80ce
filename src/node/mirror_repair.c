/* A mirror's repair of its damaged records (idctl -C SOCK repair;
 * docs/replication.md, Repair). The store's check names every damaged
 * record; the source's copy (mirror_fetch) brings each one as the source
 * holds it, and the record is replaced whole (a create with overwrite,
 * which purges the index entries of the damaged one), or deleted when
 * the source has none. The copy is a snapshot at one change id of the
 * source: it is written only while the mirror's position is that id, so
 * a change the follower applied after the snapshot is never undone and
 * one before it never replayed on top: the follower is held where it is
 * while the copy is read, then let go up to the copy's snapshot and held
 * there until the write (mirror_hold; a follower of HANDLE.NET's streams
 * is not held: a copy it went past is taken again). The follower's
 * position is not written: the repair is a change of the mirror's own
 * (its change log names the operator), the follower goes on from where
 * it was. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "changes.h"
#include "error.h"
#include "ident.h"
#include "log.h"
#include "mirror.h"
#include "repl_ops.h"
#include "store.h"

/* a copy whose snapshot the follower has not reached is waited for this
 * long; one it has passed is taken again this many times */
#define WAIT_BEHIND_MS 15000
#define FETCHES_MAX 5
/* failures named in the reply; the rest are counted */
#define FAILED_NAMED 100
/* records of a copy missing here kept for one repair (a mirror far behind
 * has many, which its follower brings) */
#define MISSING_MAX 100000

typedef struct {
	char *name; /* as the check names it */
	uint8_t key[IDN_IDENT_MAX];
	uint32_t keylen; /* 0: the name is no identifier */
	char *kind;	 /* "record", or what else the check found */
	char *why;	 /* the check's words, then the failure's */
	uint8_t *body;	 /* the source's record: a create body */
	size_t blen;
	char *src_name; /* the identifier as the source created it */
	bool found, done, failed;
} item_t;

/* A record of the copy that this store does not hold. */
typedef struct {
	char *name;
	uint8_t *body;
	size_t blen;
} miss_t;

typedef struct {
	item_t *v;
	size_t n, cap;
	unsigned id_flags;
	int err;
	/* while a copy is read: the records it has and this store lacks */
	idn_rtxn_t *rt;
	uint32_t seen;
	miss_t *miss;
	size_t nmiss, miss_cap, miss_over;
} items_t;

static char *dup_bytes(idn_bytes_t b)
{
	char *s = malloc(b.len + 1);
	if (s) {
		memcpy(s, b.p, b.len);
		s[b.len] = 0;
	}
	return s;
}

static void miss_free(items_t *l)
{
	for (size_t i = 0; i < l->nmiss; i++) {
		free(l->miss[i].name);
		free(l->miss[i].body);
	}
	free(l->miss);
	l->miss = NULL;
	l->nmiss = l->miss_cap = l->miss_over = 0;
}

static void items_free(items_t *l)
{
	miss_free(l);
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].kind);
		free(l->v[i].why);
		free(l->v[i].body);
		free(l->v[i].src_name);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int on_damaged(void *ctx, const char *kind, idn_bytes_t name,
		      const char *what)
{
	items_t *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		item_t *nv = realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return l->err = -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	item_t *it = &l->v[l->n];
	memset(it, 0, sizeof(*it));
	it->name = dup_bytes(name);
	it->kind = dup_bytes(idn_bytes_str(kind));
	it->why = dup_bytes(idn_bytes_str(what));
	if (it->name == NULL || it->kind == NULL || it->why == NULL) {
		free(it->name);
		free(it->kind);
		free(it->why);
		return l->err = -ENOMEM;
	}
	l->n++;
	idn_ident_t id;
	if (!strcmp(kind, "record") &&
	    idn_ident_parse(name.p, name.len, l->id_flags, &id) == 0) {
		memcpy(it->key, id.key, id.key_len);
		it->keylen = id.key_len;
	}
	return 0;
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int item_cmp(const void *a, const void *b)
{
	const item_t *x = a, *y = b;
	return key_cmp(x->key, x->keylen, y->key, y->keylen);
}

/* Keeps a record of the copy this store lacks (a record filed under a
 * damaged key is missing under its own). */
static int take_missing(items_t *l, const idn_change_t *c,
			const idn_ident_t *id)
{
	/* a long copy: a fresh snapshot now and then keeps the old pages
	 * from piling up */
	if (++l->seen % 4096 == 0) {
		idn_rtxn_reset(l->rt);
		if (idn_rtxn_renew(l->rt) != 0)
			return IDN_ESTORE;
	}
	idn_record_t rec;
	if (idn_store_get(l->rt, id->key, id->key_len, &rec) != IDN_ENOTFOUND)
		return 0;
	if (l->nmiss == MISSING_MAX) {
		l->miss_over++;
		return 0;
	}
	if (l->nmiss == l->miss_cap) {
		size_t cap = l->miss_cap ? l->miss_cap * 2 : 64;
		miss_t *nm = realloc(l->miss, cap * sizeof(*nm));
		if (nm == NULL)
			return -ENOMEM;
		l->miss = nm;
		l->miss_cap = cap;
	}
	miss_t *m = &l->miss[l->nmiss];
	m->name = dup_bytes(c->name);
	m->body = malloc(c->body.len ? c->body.len : 1);
	if (m->name == NULL || m->body == NULL) {
		free(m->name);
		free(m->body);
		return -ENOMEM;
	}
	memcpy(m->body, c->body.p, c->body.len);
	m->blen = c->body.len;
	l->nmiss++;
	return 0;
}

/* The copy's records that are damaged here, kept with their bytes, and
 * those missing here. */
static int take(void *ctx, const idn_change_t *c)
{
	items_t *l = ctx;
	idn_ident_t id;
	if (c->op != IDN_CH_CREATE ||
	    idn_ident_parse(c->name.p, c->name.len, l->id_flags, &id) != 0)
		return 0;
	item_t probe = {0};
	memcpy(probe.key, id.key, id.key_len);
	probe.keylen = id.key_len;
	item_t *it = l->n ? bsearch(&probe, l->v, l->n, sizeof(*it), item_cmp)
			  : NULL;
	if (it == NULL)
		return take_missing(l, c, &id);
	if (it->done || it->keylen == 0)
		return 0;
	uint8_t *b = malloc(c->body.len ? c->body.len : 1);
	char *nm = dup_bytes(c->name);
	if (b == NULL || nm == NULL) {
		free(b);
		free(nm);
		return -ENOMEM;
	}
	memcpy(b, c->body.p, c->body.len);
	free(it->body);
	free(it->src_name);
	it->body = b;
	it->blen = c->body.len;
	it->src_name = nm;
	it->found = true;
	return 0;
}

static void forget_found(items_t *l)
{
	miss_free(l);
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].done) {
			free(l->v[i].body);
			free(l->v[i].src_name);
			l->v[i].body = NULL;
			l->v[i].src_name = NULL;
			l->v[i].found = false;
		}
}

static void fail_item(item_t *it, const char *why)
{
	char *w = dup_bytes(idn_bytes_str(why));
	if (w) {
		free(it->why);
		it->why = w;
	}
	it->failed = true;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Writes, in one transaction taken while source i's position is at, the
 * records found in its copy; with deletes, removes the damaged records
 * no source has. Returns 0 (written), 1 (the position is before at), 2
 * (after it), or an error. */
static int write_found(idn_store_t *store, items_t *l, int i, uint64_t at,
		       bool deletes, const char *where, size_t *repaired,
		       size_t *deleted, size_t *restored)
{
	bool pending = l->nmiss > 0;
	for (size_t k = 0; !pending && k < l->n; k++)
		pending = !l->v[k].done && !l->v[k].failed && l->v[k].keylen &&
			  (l->v[k].found || deletes);
	if (!pending)
		return 0;
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(store, &t);
	if (err)
		return err;
	/* no other commit until this one: the position read now holds */
	uint64_t pos = 0;
	err = mirror_position(i, &pos);
	if (err || pos != at) {
		/* no position yet: the first copy is still being made */
		idn_wtxn_abort(t);
		return err == IDN_ENOTFOUND ? 1 : err ? err : pos < at ? 1 : 2;
	}
	char actor[256];
	snprintf(actor, sizeof(actor), "repair from %s (operator)", where);
	idn_wtxn_set_actor(t, actor);
	idn_arena_t ar;
	idn_arena_init(&ar, 1 << 12);
	size_t rep = 0, del = 0;
	for (size_t k = 0; err == 0 && k < l->n; k++) {
		item_t *it = &l->v[k];
		if (it->done || it->failed || it->keylen == 0)
			continue;
		if (it->found) {
			idn_change_t c = {0};
			c.op = IDN_CH_CREATE;
			c.name = idn_bytes_str(it->src_name);
			c.body = idn_bytes(it->body, it->blen);
			idn_arena_reset(&ar);
			err = idn_wtxn_replay(t, &c, l->id_flags, &ar);
			if (err == 0)
				rep++;
		} else if (deletes) {
			idn_ident_t id;
			err = idn_ident_parse(it->key, it->keylen, l->id_flags,
					      &id);
			if (err == 0)
				err = idn_wtxn_delete(t, &id);
			if (err == IDN_ENOTFOUND)
				err = 0;
			if (err == 0)
				del++;
		}
	}
	/* what the copy has and this store lacks, looked at again now that
	 * the position is the copy's */
	size_t res = 0;
	for (size_t k = 0; err == 0 && k < l->nmiss; k++) {
		miss_t *m = &l->miss[k];
		idn_ident_t id;
		idn_record_t rec;
		if (idn_ident_parse((const uint8_t *)m->name, strlen(m->name),
				    l->id_flags, &id) != 0 ||
		    idn_wtxn_get(t, id.key, id.key_len, &rec) != IDN_ENOTFOUND)
			continue;
		idn_change_t c = {0};
		c.op = IDN_CH_CREATE;
		c.name = idn_bytes_str(m->name);
		c.body = idn_bytes(m->body, m->blen);
		idn_arena_reset(&ar);
		err = idn_wtxn_replay(t, &c, l->id_flags, &ar);
		if (err == 0) {
			res++;
			log_warn("repair: restored the record %s, missing here "
				 "(%s)",
				 m->name, where);
		}
	}
	idn_arena_free(&ar);
	if (err) {
		idn_wtxn_abort(t);
		return err;
	}
	if ((err = idn_wtxn_commit(t)) != 0)
		return err;
	for (size_t k = 0; k < l->n; k++) {
		item_t *it = &l->v[k];
		if (!it->done && !it->failed && it->keylen &&
		    (it->found || deletes)) {
			it->done = true;
			log_warn("repair: %s the damaged record %s (%s)",
				 it->found ? "replaced" : "deleted", it->name,
				 it->found ? where : "no source has it");
		}
	}
	*repaired += rep;
	*deleted += del;
	*restored += res;
	return 0;
}

/* Repairs from source i what is not done yet. Returns 0, or an error
 * with why filled (the items stay undone). */
static int from_source(idn_store_t *store, items_t *l, int i, bool deletes,
		       size_t *repaired, size_t *deleted, size_t *restored,
		       char *why, size_t cap)
{
	const char *where = mirror_source(i);
	for (int f = 0; f < FETCHES_MAX; f++) {
		forget_found(l);
		/* the follower stays where it is while the copy is read (its
		 * snapshot is then at or after the position), then goes on to
		 * exactly that snapshot and waits there for the write */
		bool held = mirror_hold(i, 1);
		uint64_t at = 0;
		int err = idn_rtxn_begin(store, &l->rt);
		if (err == 0) {
			err = mirror_fetch(i, take, l, &at, why, cap);
			idn_rtxn_free(l->rt);
			l->rt = NULL;
		} else {
			snprintf(why, cap, "reading the store: %s",
				 idn_strerror(err));
		}
		if (err) {
			mirror_hold(i, 0);
			return err;
		}
		if (held)
			mirror_hold(i, at > 1 ? at : 1);
		if (l->miss_over)
			log_warn("repair: %zu more records of the copy are "
				 "missing here than one repair restores (%d); "
				 "the follower brings them if it is behind, "
				 "else repair again",
				 l->miss_over, MISSING_MAX);
		int waited = 0;
		for (;;) {
			err = write_found(store, l, i, at, deletes, where,
					  repaired, deleted, restored);
			if (err != 1 || waited >= WAIT_BEHIND_MS ||
			    mirror_repair_cancelled())
				break;
			nap_ms(100); /* the follower reaches the snapshot */
			waited += 100;
		}
		mirror_hold(i, 0);
		if (err == 0)
			return 0;
		if (err < 0) {
			snprintf(why, cap, "writing the repair: %s",
				 idn_strerror(err));
			return err;
		}
		if (err == 1) {
			snprintf(why, cap,
				 "the mirror stayed behind its source's copy "
				 "for %d s (idctl replication status)",
				 WAIT_BEHIND_MS / 1000);
			return IDN_ETIMEOUT;
		}
		/* the follower went past the copy: a newer one */
	}
	snprintf(why, cap, "the source kept changing: try again");
	return IDN_ETIMEOUT;
}

static void json_str(idn_wr_t *w, const char *s)
{
	char buf[8];
	idn_wr_raw(w, (const uint8_t *)"\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[0] = '\\';
			buf[1] = (char)ch;
			idn_wr_raw(w, (const uint8_t *)buf, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(buf, sizeof(buf), "\\u%04x", ch);
			idn_wr_raw(w, (const uint8_t *)buf, 6);
		} else {
			idn_wr_raw(w, &ch, 1);
		}
	}
	idn_wr_raw(w, (const uint8_t *)"\"", 1);
}

static void json_raw(idn_wr_t *w, const char *s)
{
	idn_wr_raw(w, (const uint8_t *)s, strlen(s));
}

/* A record of the first check that is not repaired (what else the check
 * found is judged by the second one: an index entry of a record restored
 * is whole again). */
static bool listed_first(const item_t *it)
{
	return !it->done && !strcmp(it->kind, "record");
}

/* The items not repaired: the records that failed, and what a second
 * check still finds that is not among them. */
static size_t json_failed(idn_wr_t *w, const items_t *l, const items_t *after)
{
	size_t n = 0;
	json_raw(w, "[");
	for (int pass = 0; pass < 2; pass++) {
		const items_t *src = pass ? after : l;
		for (size_t k = 0; k < src->n; k++) {
			const item_t *it = &src->v[k];
			if (pass == 0 && !listed_first(it))
				continue;
			bool dup = false;
			for (size_t j = 0; pass == 1 && j < l->n && !dup; j++)
				dup = listed_first(&l->v[j]) &&
				      !strcmp(l->v[j].name, it->name) &&
				      !strcmp(l->v[j].kind, it->kind);
			if (dup)
				continue;
			if (n++ >= FAILED_NAMED)
				continue;
			json_raw(w, n > 1 ? ",{\"kind\":" : "{\"kind\":");
			json_str(w, it->kind);
			json_raw(w, ",\"name\":");
			json_str(w, it->name);
			json_raw(w, ",\"reason\":");
			json_str(w, it->why);
			json_raw(w, "}");
		}
	}
	json_raw(w, "]");
	return n;
}

static int repair(reply_t *r, int nsrc);

int do_repair(reply_t *r)
{
	int nsrc = mirror_sources();
	if (nsrc == 0)
		return reply_error(
			r, IDN_RC_ERROR,
			"this node is not a mirror: it has no source to repair "
			"from. Restore the store from a backup (idctl backup, "
			"docs/operations.md) or re-import its records; idctl "
			"check --data DIR names the damaged ones");
	/* one at a time: two would fetch the same copy and race to write */
	static atomic_flag busy = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&busy))
		return reply_error(r, IDN_RC_ERROR,
				   "a repair is already running");
	int rc = repair(r, nsrc);
	atomic_flag_clear(&busy);
	return rc;
}

static int repair(reply_t *r, int nsrc)
{
	idn_store_t *store = r->h->store;
	items_t l = {.id_flags = mirror_id_flags()};
	idn_check_stat_t st;
	int err = idn_store_check(store, on_damaged, &l, &st);
	if (err == 0 && l.err)
		err = l.err;
	if (err) {
		items_free(&l);
		return reply_lib_error(r, err);
	}
	for (size_t k = 0; k < l.n; k++)
		if (strcmp(l.v[k].kind, "record") != 0)
			fail_item(&l.v[k], "not a record: the repair replaces "
					   "records (restore from a backup)");
		else if (l.v[k].keylen == 0)
			fail_item(&l.v[k], "its name is no identifier: "
					   "restore from a backup");
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), item_cmp);
	size_t repaired = 0, deleted = 0, restored = 0, todo = 0;
	for (size_t k = 0; k < l.n; k++)
		todo += !l.v[k].failed;
	log_info("repair: %llu records checked, %llu damaged, %zu to take "
		 "from %d source%s",
		 (unsigned long long)st.records, (unsigned long long)st.damaged,
		 todo, nsrc, nsrc > 1 ? "s" : "");
	char why[512] = "";
	/* a record missing from one source may be another's (the servers
	 * of a site): deleted only with the last source's copy */
	for (int i = 0; i < nsrc; i++) {
		char w1[400] = "";
		if (from_source(store, &l, i, i == nsrc - 1, &repaired,
				&deleted, &restored, w1, sizeof(w1)) != 0) {
			log_warn("repair: %s", w1);
			snprintf(why, sizeof(why), "%s", w1);
		}
	}
	for (size_t k = 0; k < l.n; k++)
		if (!l.v[k].done && !l.v[k].failed)
			fail_item(&l.v[k], why[0] ? why : "not repaired");
	items_t after = {.id_flags = l.id_flags};
	idn_check_stat_t st2;
	err = idn_store_check(store, on_damaged, &after, &st2);
	if (err == 0 && after.err)
		err = after.err;
	if (err) {
		items_free(&l);
		items_free(&after);
		return reply_lib_error(r, err);
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	/* the JSON as one string (the other control ops' form): its length
	 * is patched once written */
	size_t len_pos = r->w.len;
	idn_wr_u32(&r->w, 0);
	size_t from = r->w.len;
	char head[200];
	snprintf(head, sizeof(head),
		 "{\"checked\":%llu,\"damaged\":%llu,\"repaired\":%zu,"
		 "\"deleted\":%zu,\"restored\":%zu,\"failed\":",
		 (unsigned long long)st.records, (unsigned long long)st.damaged,
		 repaired, deleted, restored);
	json_raw(&r->w, head);
	size_t nfailed = json_failed(&r->w, &l, &after);
	snprintf(head, sizeof(head), ",\"failed_count\":%zu}", nfailed);
	json_raw(&r->w, head);
	idn_wr_patch_u32(&r->w, len_pos, (uint32_t)(r->w.len - from));
	log_info("repair: %zu replaced, %zu deleted, %zu restored, %zu failed",
		 repaired, deleted, restored, nfailed);
	items_free(&l);
	items_free(&after);
	return reply_send(r);
}
