/* The LMDB storage backend.
 *
 * One environment in the store directory with three named databases:
 *
 *   records   LMDB key (below) -> record blob (record.h)
 *   prefixes  LMDB key of a normalised prefix -> that normalised prefix
 *   changelog the change log (store_lmdb_changes.h)
 *   meta      "version" -> u32 big-endian schema version (4; a store of
 *             version 1 has no search index, one of version 2 indexes
 *             every type, one of version 3 has records without checksums:
 *             all are upgraded when opened for writing, and while the
 *             records are rewritten the version is SCHEMA_REWRITING, which
 *             older builds refuse), "index_types" -> the declared types of
 *             the search index
 *
 * and the search index (search_values, search_ctime), which every write
 * operation below keeps in step in its own transaction and which is built
 * at open for a store that has none (store_lmdb_index.h).
 *
 * LMDB keys. LMDB keys are at most 511 bytes, identifiers up to 2048. A
 * normalised key of at most KEY_DIRECT (478) bytes is its own LMDB key.
 * A longer one is stored under its first KEY_DIRECT bytes, a 0x00 marker
 * and the SHA-256 of the whole normalised key: 511 bytes. The two forms
 * never meet: direct keys are shorter and hold no 0x00 (identifiers hold no
 * control characters). Both begin with the normalised key's first
 * KEY_DIRECT bytes, so a range scan over keys beginning with "PREFIX/"
 * still finds every identifier under the prefix (for a "PREFIX/" itself
 * longer than KEY_DIRECT bytes the scan uses its first KEY_DIRECT bytes and
 * checks each record's identifier). Listings come out in LMDB key order,
 * which is normalised-key order except among identifiers that share their
 * first KEY_DIRECT bytes. A read checks that the identifier stored in the
 * record equals the requested key up to ASCII case (normalisation only maps
 * ASCII case), so a record can never answer for another identifier.
 *
 * Concurrency. The environment is opened with MDB_NOTLS: a read transaction
 * belongs to its idn_rtxn_t, not to a thread, and is reset and renewed
 * without locks. The write transaction is LMDB's single writer; the scratch
 * memory in the store that write operations use is only touched while it
 * is held. Durability: no NOSYNC/NOMETASYNC, so a commit that returns has
 * been synced. */
#include "store_impl.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "ident.h"
#include "record.h"
#include "store_lmdb_changes.h"
#include "store_lmdb_check.h"
#include "store_lmdb_index.h"

#include "store_lmdb_int.h"

/* Records an LMDB failure inside a write transaction: LMDB then only
 * allows an abort, so every later operation and the commit fail with it.
 * w is NULL in read transactions. Returns the translated error. */
static int poison(lwtxn_t *w, int rc)
{
	int err = idn__lmdb_error(rc);
	if (w)
		w->err = err;
	return err;
}

static void lmdb_log(lstore_t *s, const char *path, const char *what);

/* Logs a record that failed its check, once per identifier: a record read
 * again and again must not flood the log. */
static void report_damage(lstore_t *s, const uint8_t *key, size_t len,
			  const MDB_val *d)
{
	int first = idn__lmdb_damage_first(&s->damage, key, len);
	if (first == 0)
		return;
	idn_bytes_t id = idn__lmdb_blob_name(key, len, d->mv_data, d->mv_size);
	char what[640];
	if (first > 0)
		snprintf(what, sizeof(what),
			 "record %.*s is damaged (checksum or structure): "
			 "refused, not served; idctl check lists every "
			 "damaged record",
			 (int)(id.len > 500 ? 500 : id.len),
			 (const char *)id.p);
	else
		snprintf(what, sizeof(what),
			 "more damaged records than can be named one by one; "
			 "run idctl check on the store");
	lmdb_log(s, s->path, what);
}

/* Looks a record up in txn and checks it. Returns 0, IDN_ENOTFOUND,
 * IDN_ECORRUPT or another translated LMDB error (which poisons w). */
static int get_record_as(lstore_t *s, MDB_txn *txn, lwtxn_t *w,
			 const uint8_t *key, size_t len, bool values,
			 idn_record_t *out)
{
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(key, len, kb), d;
	int rc = mdb_get(txn, s->records, &k, &d);
	if (rc == MDB_NOTFOUND)
		return IDN_ENOTFOUND;
	if (rc)
		return poison(w, rc);
	idn_record_t rec;
	int err = values ? idn__record_parse(d.mv_data, d.mv_size, &rec)
			 : idn__record_parse_header(d.mv_data, d.mv_size, &rec);
	if (err) {
		report_damage(s, key, len, &d);
		return err;
	}
	/* the key is the identifier normalised: mostly the same bytes */
	if (!(rec.id.len == len && memcmp(rec.id.p, key, len) == 0) &&
	    !idn_ascii_caseeq(rec.id.p, rec.id.len, key, len))
		return IDN_ECORRUPT; /* filed under another identifier's key */
	*out = rec;
	return 0;
}

static int get_record(lstore_t *s, MDB_txn *txn, lwtxn_t *w, const uint8_t *key,
		      size_t len, idn_record_t *out)
{
	return get_record_as(s, txn, w, key, len, true, out);
}

/* Looks a prefix up: 1 if homed, 0 if not, IDN_ECORRUPT if its key holds
 * another prefix, or a translated LMDB error (which poisons w). */
static int get_prefix(lstore_t *s, MDB_txn *txn, lwtxn_t *w,
		      const uint8_t *prefix, size_t len)
{
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(prefix, len, kb), d;
	int rc = mdb_get(txn, s->prefixes, &k, &d);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return poison(w, rc);
	if (d.mv_size != len || memcmp(d.mv_data, prefix, len) != 0)
		return IDN_ECORRUPT;
	return 1;
}

/* ---- opening ---- */

static void lmdb_log(lstore_t *s, const char *path, const char *what)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "lmdb %s: %s", path, what);
	if (s->log)
		s->log(s->log_ctx, 0, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* Opens a sub-database a store of this version has, in a read-only open:
 * a missing one is a damaged store, never created. */
static int open_db_ro(lstore_t *s, const char *path, MDB_txn *txn,
		      const char *name, unsigned flags, MDB_dbi *dbi)
{
	int rc = mdb_dbi_open(txn, name, flags, dbi);
	if (rc == MDB_NOTFOUND) {
		char what[128];
		snprintf(what, sizeof(what),
			 "the store has no '%s' database (damaged, or not "
			 "an idnode store)",
			 name);
		lmdb_log(s, path, what);
		return IDN_ECORRUPT;
	}
	return idn__lmdb_error(rc);
}

/* The read-only open of the sub-databases: writes nothing (the read
 * transaction is committed only so that the handles outlive it). */
static int open_dbs_ro(lstore_t *s, const char *path)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return idn__lmdb_error(rc);
	int err = open_db_ro(s, path, txn, "records", 0, &s->records);
	if (err == 0)
		err = open_db_ro(s, path, txn, "prefixes", 0, &s->prefixes);
	if (err == 0)
		err = open_db_ro(s, path, txn, "meta", 0, &s->meta);
	if (err == 0)
		err = open_db_ro(s, path, txn, "changelog", 0, &s->changes);
	MDB_val k = {.mv_size = 7, .mv_data = "version"}, d;
	uint32_t version = 0;
	if (err == 0) {
		rc = mdb_get(txn, s->meta, &k, &d);
		if (rc == MDB_NOTFOUND)
			err = IDN_ENOTFOUND; /* a store never written */
		else if (rc)
			err = idn__lmdb_error(rc);
		else if (d.mv_size != 4)
			err = IDN_ECORRUPT;
		else
			version = idn_get_u32(d.mv_data);
	}
	if (err == 0 &&
	    (version == SCHEMA_UNINDEXED || version == SCHEMA_ALLTYPES ||
	     version == SCHEMA_UNCHECKED || version == SCHEMA_REWRITING)) {
		/* their records have no checksums (all or some): they are
		 * not read unchecked */
		char what[200];
		snprintf(what, sizeof(what),
			 "schema version %u cannot be read without its "
			 "upgrade; start idnode on it once to upgrade it",
			 version & 0xffffu);
		lmdb_log(s, path, what);
		err = IDN_EREADONLY;
	} else if (err == 0 && version != SCHEMA_VERSION) {
		err = IDN_ECORRUPT; /* newer, or not an idnode store */
	}
	s->ix.meta = s->meta;
	s->noindex = false;
	if (err == 0 && !s->noindex)
		err = open_db_ro(s, path, txn, "search_values", MDB_DUPSORT,
				 &s->ix.vals);
	if (err == 0 && !s->noindex)
		err = open_db_ro(s, path, txn, "search_ctime", MDB_DUPSORT,
				 &s->ix.ctime);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	return idn__lmdb_error(mdb_txn_commit(txn));
}

/* Checks the schema version (into *version; 0 for a new environment),
 * writing it into a new environment. */
static int check_version(lstore_t *s, MDB_txn *txn, uint32_t *version)
{
	MDB_val k = {.mv_size = 7, .mv_data = "version"}, d;
	int rc = mdb_get(txn, s->meta, &k, &d);
	*version = 0;
	if (rc == 0) {
		/* Another version is a store this build cannot read (a newer
		 * one, or not an idnode store): refuse it as corrupt. */
		uint32_t v = d.mv_size == 4 ? idn_get_u32(d.mv_data) : 0;
		if (v != SCHEMA_VERSION && v != SCHEMA_UNINDEXED &&
		    v != SCHEMA_ALLTYPES && v != SCHEMA_UNCHECKED &&
		    v != SCHEMA_REWRITING)
			return IDN_ECORRUPT;
		*version = v;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return idn__lmdb_error(rc);
	MDB_stat rst, pst;
	rc = mdb_stat(txn, s->records, &rst);
	if (rc == 0)
		rc = mdb_stat(txn, s->prefixes, &pst);
	if (rc)
		return idn__lmdb_error(rc);
	if (rst.ms_entries || pst.ms_entries)
		return IDN_ECORRUPT; /* data without a version */
	uint8_t v[4];
	idn_put_u32(v, SCHEMA_VERSION);
	d.mv_size = sizeof(v);
	d.mv_data = v;
	return idn__lmdb_error(mdb_put(txn, s->meta, &k, &d, 0));
}

static int put_version(lstore_t *s, MDB_txn *txn, uint32_t version)
{
	uint8_t v[4];
	idn_put_u32(v, version);
	MDB_val k = {.mv_size = 7, .mv_data = "version"};
	MDB_val d = {.mv_size = sizeof(v), .mv_data = v};
	return idn__lmdb_error(mdb_put(txn, s->meta, &k, &d, 0));
}

/* Opens a sub-database. Only a new environment gets it created: in one
 * that has committed before, a missing one means damage (store_lmdb_check.h)
 * and creating it would start an empty store over the intact snapshot. */
static int open_db(lstore_t *s, const char *path, MDB_txn *txn,
		   const char *name, bool fresh, MDB_dbi *dbi)
{
	int rc = mdb_dbi_open(txn, name, fresh ? MDB_CREATE : 0, dbi);
	if (rc != MDB_NOTFOUND)
		return idn__lmdb_error(rc);
	char what[256];
	snprintf(what, sizeof(what),
		 "the store has no '%s' database: damaged (a meta page "
		 "pointing at a wrong root?) or not an idnode store; refusing "
		 "it without writing (idctl check tells more)",
		 name);
	lmdb_log(s, path, what);
	return IDN_ECORRUPT;
}

/* Gives every record of a store opened at an older version its checksum,
 * in batches, and then the current version. */
static int rewrite_records(lstore_t *s, const char *path)
{
	uint64_t done = 0;
	int err = idn__lmdb_upgrade_records(s->env, s->records, REWRITE_BATCH,
					    &done);
	MDB_txn *txn;
	if (err == 0)
		err = idn__lmdb_error(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (err)
		return err;
	err = put_version(s, txn, SCHEMA_VERSION);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	err = idn__lmdb_error(mdb_txn_commit(txn));
	if (err == 0) {
		char what[160];
		snprintf(what, sizeof(what),
			 "schema upgraded to version %u: %llu records were "
			 "given checksums",
			 SCHEMA_VERSION, (unsigned long long)done);
		lmdb_log(s, path, what);
	}
	return err;
}

/* The writable open. Nothing is written to an existing store unless its
 * schema must change. */
static int open_dbs(lstore_t *s, const char *path, bool existing)
{
	bool fresh = idn__lmdb_is_new(s->env);
	MDB_txn *txn;
	int err = idn__lmdb_error(mdb_txn_begin(s->env, NULL, 0, &txn));
	if (err)
		return err;
	err = open_db(s, path, txn, "records", fresh, &s->records);
	if (err == 0)
		err = open_db(s, path, txn, "prefixes", fresh, &s->prefixes);
	if (err == 0)
		err = open_db(s, path, txn, "meta", fresh, &s->meta);
	uint32_t version = 0;
	if (err == 0)
		err = check_version(s, txn, &version);
	if (err == 0 && existing && version == 0)
		err = IDN_ENOTFOUND; /* aborted below: nothing is written */
	/* the change log came with version 4 */
	if (err == 0)
		err = open_db(s, path, txn, "changelog",
			      fresh || version != SCHEMA_VERSION, &s->changes);
	/* version 1 had no index databases; the others must have them */
	bool mkindex = fresh || version == SCHEMA_UNINDEXED;
	if (err == 0 && !mkindex)
		err = open_db(s, path, txn, "search_values", false,
			      &s->ix.vals);
	if (err == 0)
		err = idn__lmdb_error(idn__lidx_open(txn, s->records, s->meta,
						     version == SCHEMA_REWRITING
							     ? SCHEMA_UNCHECKED
							     : version,
						     &s->ix));
	/* an older store: an older idnode, which would neither keep the
	 * index nor the checksums, refuses it from here on */
	bool rewrite = version != 0 && version != SCHEMA_VERSION;
	if (err == 0 && rewrite)
		err = put_version(s, txn, SCHEMA_REWRITING);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	err = idn__lmdb_error(mdb_txn_commit(txn));
	if (err == 0 && rewrite)
		err = rewrite_records(s, path);
	return err;
}

static const idn_store_ops_t lmdb_ops;

/* Opens the environment read-only. LMDB still opens lock.mdb for writing
 * (readers register there, so that a writer keeps their pages); where it
 * cannot and the data file is immutable, no writer can exist and the
 * environment is read without locks. */
static int open_env_ro(lstore_t *s, const char *path, size_t map)
{
	int rc = mdb_env_open(s->env, path, MDB_NOTLS | MDB_RDONLY, 0640);
	char data[4096];
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if ((rc == EACCES || rc == EPERM) && idn__lmdb_unwritable(data)) {
		/* a failed open leaves the environment unusable */
		mdb_env_close(s->env);
		s->env = NULL;
		rc = mdb_env_create(&s->env);
		if (rc == 0)
			rc = mdb_env_set_maxdbs(s->env, MAXDBS);
		if (rc == 0)
			rc = mdb_env_set_mapsize(s->env, map);
		if (rc == 0)
			rc = mdb_env_open(s->env, path,
					  MDB_NOTLS | MDB_RDONLY | MDB_NOLOCK,
					  0640);
	}
	if (rc == EACCES || rc == EPERM)
		lmdb_log(s, path,
			 "cannot open lock.mdb for writing, which LMDB readers "
			 "need while the store can be written");
	return idn__lmdb_error(rc);
}

int idn__store_lmdb_open(const idn_store_opts_t *o, idn_store_t **out)
{
	int err;
	uint64_t map = o->map_size ? o->map_size : MAP_DEFAULT;
	unsigned readers = o->max_readers ? o->max_readers : READERS_DEFAULT;
	if (map > SIZE_MAX)
		return IDN_EINVAL;
	lstore_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->base.ops = &lmdb_ops;
	s->base.readonly = o->readonly;
	s->log = o->log;
	s->log_ctx = o->log_ctx;
	idn__rset_init(&s->rs);
	idn__lmdb_damage_init(&s->damage);
	s->path = strdup(o->path);
	if (s->path == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	if (o->existing || o->readonly) {
		/* no environment there: LMDB would make one */
		char file[4096];
		struct stat st;
		snprintf(file, sizeof(file), "%s/data.mdb", o->path);
		if (stat(file, &st) != 0) {
			err = errno == ENOENT || errno == ENOTDIR
				      ? IDN_ENOTFOUND
				      : -errno;
			goto fail;
		}
	}
	if (!o->readonly && mkdir(o->path, 0750) != 0 && errno != EEXIST) {
		err = -errno;
		goto fail;
	}
	err = idn__lmdb_error(mdb_env_create(&s->env));
	if (err)
		goto fail;
	err = idn__lmdb_error(mdb_env_set_maxdbs(s->env, MAXDBS));
	if (!err)
		err = idn__lmdb_error(mdb_env_set_mapsize(s->env, (size_t)map));
	if (!err)
		err = idn__lmdb_error(mdb_env_set_maxreaders(s->env, readers));
	if (!err && o->readonly)
		err = open_env_ro(s, o->path, (size_t)map);
	else if (!err)
		err = idn__lmdb_error(
			mdb_env_open(s->env, o->path, MDB_NOTLS, 0640));
	if (err)
		goto fail;
	if (mdb_env_get_maxkeysize(s->env) < KEY_MAX) {
		err = IDN_ESTORE; /* an LMDB built with smaller keys */
		goto fail;
	}
	int dead;
	mdb_reader_check(s->env, &dead); /* slots of crashed processes */
	char why[512];
	err = idn__lmdb_check_size(s->env, o->path, why, sizeof(why));
	if (err == IDN_ECORRUPT)
		lmdb_log(s, o->path, why);
	if (err == 0)
		err = o->readonly ? open_dbs_ro(s, o->path)
				  : open_dbs(s, o->path, o->existing);
	if (err)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	if (s->env)
		mdb_env_close(s->env);
	idn__lmdb_damage_free(&s->damage);
	free(s->path);
	free(s);
	return err;
}

static void lmdb_close(idn_store_t *base)
{
	lstore_t *s = lstore(base);
	mdb_env_close(s->env);
	idn__rset_free(&s->rs);
	idn__lidx_free(&s->ix);
	idn__lmdb_damage_free(&s->damage);
	free(s->path);
	free(s->buf);
	free(s);
}

static int lmdb_check(idn_store_t *base, idn_check_cb cb, void *ctx,
		      idn_check_stat_t *st)
{
	lstore_t *s = lstore(base);
	MDB_dbi ix[2] = {s->ix.vals, s->ix.ctime};
	return idn__lmdb_scan(s->env, s->records, s->prefixes, ix,
			      s->noindex ? 0 : 2, cb, ctx, st);
}

static int lmdb_backup(idn_store_t *base, const char *dir)
{
	return idn__lmdb_backup(lstore(base)->env, dir);
}

static int lmdb_changes_write(idn_wtxn_t *base, const uint8_t *e, size_t len,
			      uint32_t n)
{
	lwtxn_t *t = lwtxn(base);
	if (t->err)
		return t->err;
	int rc = idn__lmdb_changes_write(t->txn, lstore(base->store)->changes,
					 e, len, n);
	return rc ? poison(t, rc) : 0;
}

static int lmdb_changes_bounds(idn_rtxn_t *t, uint64_t *first, uint64_t *next)
{
	return idn__lmdb_changes_bounds(lrtxn(t)->txn,
					lstore(t->store)->changes, first, next);
}

static int lmdb_changes_read(idn_rtxn_t *t, uint64_t from, uint32_t max,
			     idn_change_cb cb, void *ctx)
{
	return idn__lmdb_changes_read(lrtxn(t)->txn, lstore(t->store)->changes,
				      from, max, cb, ctx);
}

/* The follower's bookkeeping (store.h): meta keys "repl:" + key, apart
 * from the schema's own ("version", "index_types"). */
static MDB_val meta_key(const char *key, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "repl:%s", key);
	return (MDB_val){.mv_size = (size_t)n, .mv_data = buf};
}

static int lmdb_meta_get(idn_rtxn_t *t, const char *key, uint8_t *buf,
			 size_t cap, size_t *len)
{
	char kb[256];
	MDB_val k = meta_key(key, kb, sizeof(kb)), d;
	int rc = mdb_get(lrtxn(t)->txn, lstore(t->store)->meta, &k, &d);
	if (rc == MDB_NOTFOUND)
		return IDN_ENOTFOUND;
	if (rc)
		return idn__lmdb_error(rc);
	*len = d.mv_size;
	if (d.mv_size > cap)
		return IDN_ETOOLONG;
	if (d.mv_size)
		memcpy(buf, d.mv_data, d.mv_size);
	return 0;
}

static int lmdb_meta_put(idn_wtxn_t *base, const char *key, const uint8_t *v,
			 size_t len)
{
	lwtxn_t *t = lwtxn(base);
	if (t->err)
		return t->err;
	char kb[256];
	MDB_val k = meta_key(key, kb, sizeof(kb));
	MDB_val d = {.mv_size = len, .mv_data = (void *)v};
	int rc = mdb_put(t->txn, lstore(base->store)->meta, &k, &d, 0);
	return rc ? poison(t, rc) : 0;
}

static int lmdb_changes_prune(idn_store_t *base, uint64_t older, uint64_t keep,
			      uint64_t *pruned)
{
	lstore_t *s = lstore(base);
	return idn__lmdb_changes_prune(s->env, s->changes, older, keep, pruned);
}

static int lmdb_stat(idn_store_t *base, idn_store_stat_t *out)
{
	lstore_t *s = lstore(base);
	MDB_txn *txn;
	MDB_stat rst, pst, est;
	MDB_envinfo info;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return idn__lmdb_error(rc);
	rc = mdb_stat(txn, s->records, &rst);
	if (rc == 0)
		rc = mdb_stat(txn, s->prefixes, &pst);
	mdb_txn_abort(txn);
	if (rc == 0)
		rc = mdb_env_stat(s->env, &est);
	if (rc == 0)
		rc = mdb_env_info(s->env, &info);
	if (rc)
		return idn__lmdb_error(rc);
	out->records = rst.ms_entries;
	out->prefixes = pst.ms_entries;
	out->bytes_used = ((uint64_t)info.me_last_pgno + 1) * est.ms_psize;
	out->map_size = info.me_mapsize;
	return 0;
}

/* ---- reads ---- */

static int lmdb_rtxn_begin(idn_store_t *base, idn_rtxn_t **out)
{
	lrtxn_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	int rc = mdb_txn_begin(lstore(base)->env, NULL, MDB_RDONLY, &t->txn);
	if (rc) {
		free(t);
		return idn__lmdb_error(rc);
	}
	t->base.store = base;
	t->live = true;
	*out = &t->base;
	return 0;
}

static void lmdb_rtxn_reset(idn_rtxn_t *base)
{
	lrtxn_t *t = lrtxn(base);
	if (t->live)
		mdb_txn_reset(t->txn);
	t->live = false;
}

static int lmdb_rtxn_renew(idn_rtxn_t *base)
{
	lrtxn_t *t = lrtxn(base);
	lmdb_rtxn_reset(base);
	int rc = mdb_txn_renew(t->txn);
	if (rc)
		return idn__lmdb_error(rc);
	t->live = true;
	return 0;
}

/* LMDB: the id of the last transaction committed before the snapshot. */
static uint64_t lmdb_rtxn_snapshot(idn_rtxn_t *base)
{
	lrtxn_t *t = lrtxn(base);
	return t->live ? (uint64_t)mdb_txn_id(t->txn) : 0;
}

static void lmdb_rtxn_free(idn_rtxn_t *base)
{
	lrtxn_t *t = lrtxn(base);
	mdb_txn_abort(t->txn);
	free(t);
}

static int lmdb_get(idn_rtxn_t *base, const uint8_t *key, size_t keylen,
		    idn_record_t *out)
{
	lrtxn_t *t = lrtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	return get_record(lstore(base->store), t->txn, NULL, key, keylen, out);
}

static int lmdb_get_unchecked(idn_rtxn_t *base, const uint8_t *key,
			      size_t keylen, idn_record_t *out)
{
	lrtxn_t *t = lrtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	return get_record_as(lstore(base->store), t->txn, NULL, key, keylen,
			     false, out);
}

static int lmdb_homed(idn_rtxn_t *base, const uint8_t *prefix, size_t len)
{
	lrtxn_t *t = lrtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	return get_prefix(lstore(base->store), t->txn, NULL, prefix, len);
}

/* Reads the identifier of a record blob (its check and header: listings
 * do not look at the values). Returns 0 or IDN_ECORRUPT. */
static int blob_id(const MDB_val *d, idn_bytes_t *id)
{
	idn_record_t rec;
	int err = idn__record_parse_header(d->mv_data, d->mv_size, &rec);
	if (err == 0)
		*id = rec.id;
	return err;
}

static int lmdb_list(idn_rtxn_t *base, const uint8_t *prefix, size_t len,
		     idn_bytes_t after, idn_list_cb cb, void *ctx)
{
	lrtxn_t *t = lrtxn(base);
	lstore_t *s = lstore(base->store);
	if (!t->live)
		return IDN_EINVAL;
	/* "PREFIX/": len < IDN_IDENT_MAX was checked by store.c */
	uint8_t want[IDN_IDENT_MAX];
	memcpy(want, prefix, len);
	want[len] = '/';
	size_t wlen = len + 1;
	/* What every LMDB key under the prefix begins with. */
	size_t scan = wlen <= KEY_DIRECT ? wlen : KEY_DIRECT;
	MDB_val start = {.mv_size = scan, .mv_data = want};

	uint8_t ab[KEY_MAX];
	MDB_val ak = {0};
	bool skip = false;
	if (after.len) {
		ak = lmdb_key(after.p, after.len, ab);
		skip = key_cmp(&ak, &start) >= 0;
	}
	MDB_val k = skip ? ak : start, d;

	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, s->records, &c);
	if (rc)
		return idn__lmdb_error(rc);
	int ret = 0;
	rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && skip && key_cmp(&k, &ak) == 0)
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	while (rc == 0 && has_prefix(&k, want, scan)) {
		idn_bytes_t id;
		ret = blob_id(&d, &id);
		if (ret)
			break;
		/* Under a very long prefix the scan is wider than it. */
		if (scan == wlen ||
		    (id.len > wlen &&
		     idn_ascii_caseeq(id.p, wlen, want, wlen))) {
			ret = cb(ctx, id);
			if (ret)
				break;
		}
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = idn__lmdb_error(rc);
	mdb_cursor_close(c);
	return ret;
}

static int lmdb_list_homed(idn_rtxn_t *base, idn_list_cb cb, void *ctx)
{
	lrtxn_t *t = lrtxn(base);
	lstore_t *s = lstore(base->store);
	if (!t->live)
		return IDN_EINVAL;
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, s->prefixes, &c);
	if (rc)
		return idn__lmdb_error(rc);
	int ret = 0;
	MDB_val k, d;
	rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	while (rc == 0) {
		if (d.mv_size == 0 || d.mv_size > IDN_IDENT_MAX) {
			ret = IDN_ECORRUPT;
			break;
		}
		ret = cb(ctx, idn_bytes(d.mv_data, d.mv_size));
		if (ret)
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = idn__lmdb_error(rc);
	mdb_cursor_close(c);
	return ret;
}

static int lmdb_search(idn_rtxn_t *base, const idn_search_t *q,
		       idn_search_cb cb, void *ctx)
{
	lrtxn_t *t = lrtxn(base);
	lstore_t *s = lstore(base->store);
	if (!t->live)
		return IDN_EINVAL;
	if (s->noindex && (q->type.len || q->since || q->until))
		return IDN_ENOTINDEXED;
	int rc = 0;
	int ret = idn__lidx_search(t->txn, &s->ix, s->records, q, cb, ctx, &rc);
	return rc ? idn__lmdb_error(rc) : ret;
}

static int lmdb_index_declared(idn_rtxn_t *base, idn_bytes_t type)
{
	lrtxn_t *t = lrtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	if (lstore(base->store)->noindex)
		return 0;
	int rc = 0;
	int ret =
		idn__lidx_declared(t->txn, &lstore(base->store)->ix, type, &rc);
	return rc ? idn__lmdb_error(rc) : ret;
}

static int lmdb_index_types(idn_rtxn_t *base, idn_list_cb cb, void *ctx)
{
	lrtxn_t *t = lrtxn(base);
	if (!t->live)
		return IDN_EINVAL;
	if (lstore(base->store)->noindex)
		return 0;
	int rc = 0;
	int ret =
		idn__lidx_types(t->txn, &lstore(base->store)->ix, cb, ctx, &rc);
	return rc ? idn__lmdb_error(rc) : ret;
}

/* ---- writes ---- */

static int lmdb_wtxn_begin(idn_store_t *base, idn_wtxn_t **out)
{
	lwtxn_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	int rc = mdb_txn_begin(lstore(base)->env, NULL, 0, &t->txn);
	if (rc) {
		free(t);
		return idn__lmdb_error(rc);
	}
	idn__lidx_reset(&lstore(base)->ix);
	/* another process may have declared or dropped a type */
	rc = idn__lidx_sync(&lstore(base)->ix, t->txn);
	if (rc) {
		mdb_txn_abort(t->txn);
		free(t);
		return idn__lmdb_error(rc);
	}
	t->base.store = base;
	*out = &t->base;
	return 0;
}

static int lmdb_wtxn_commit(idn_wtxn_t *base)
{
	lwtxn_t *t = lwtxn(base);
	idn__lidx_t *ix = &lstore(base->store)->ix;
	int err = t->err;
	/* the staged index writes go in with the records, or nothing does */
	if (err == 0)
		err = idn__lmdb_error(idn__lidx_flush(ix, t->txn));
	if (err)
		mdb_txn_abort(t->txn);
	else
		err = idn__lmdb_error(mdb_txn_commit(t->txn));
	idn__lidx_reset(ix);
	free(t);
	return err;
}

static void lmdb_wtxn_abort(idn_wtxn_t *base)
{
	lwtxn_t *t = lwtxn(base);
	mdb_txn_abort(t->txn);
	idn__lidx_reset(&lstore(base->store)->ix);
	free(t);
}

static int lmdb_wtxn_get(idn_wtxn_t *base, const uint8_t *key, size_t keylen,
			 idn_record_t *out)
{
	lwtxn_t *t = lwtxn(base);
	if (t->err)
		return t->err;
	return get_record(lstore(base->store), t->txn, t, key, keylen, out);
}

/* ---- the append path of creates ----
 *
 * Bulk loads mostly arrive in key order. A create whose key sorts after
 * every key of the records database cannot exist yet, so it skips the
 * lookup and is put with MDB_APPEND, which also leaves the leaf pages it
 * fills full instead of splitting them: fewer pages to copy at commit and
 * a smaller file (258 instead of 275 bytes an identifier in
 * bench/RESULTS-import.md). The transaction tracks its greatest key; a
 * delete of that key forgets it (it is looked up again when needed). */

/* 1 if k sorts after every key of records (or records is empty), 0 if not,
 * or a translated LMDB error (which poisons t). */
static int after_last(lwtxn_t *t, lstore_t *s, const MDB_val *k)
{
	if (t->last_state == LAST_UNKNOWN) {
		MDB_cursor *c;
		int rc = mdb_cursor_open(t->txn, s->records, &c);
		if (rc)
			return poison(t, rc);
		MDB_val lk, ld;
		rc = mdb_cursor_get(c, &lk, &ld, MDB_LAST);
		if (rc == 0 && lk.mv_size <= KEY_MAX) {
			memcpy(t->last, lk.mv_data, lk.mv_size);
			t->last_len = lk.mv_size;
			t->last_state = LAST_KNOWN;
		} else if (rc == MDB_NOTFOUND) {
			t->last_state = LAST_EMPTY;
			rc = 0;
		}
		mdb_cursor_close(c);
		if (rc)
			return poison(t, rc);
		if (t->last_state == LAST_UNKNOWN)
			return 0; /* a foreign over-long key: no append */
	}
	if (t->last_state == LAST_EMPTY)
		return 1;
	MDB_val last = {.mv_size = t->last_len, .mv_data = t->last};
	return key_cmp(k, &last) > 0;
}

/* Keeps the greatest key up to date after a put of k. */
static void last_note_put(lwtxn_t *t, const MDB_val *k)
{
	if (t->last_state == LAST_UNKNOWN)
		return;
	MDB_val last = {.mv_size = t->last_len, .mv_data = t->last};
	if (t->last_state == LAST_EMPTY || key_cmp(k, &last) > 0) {
		memcpy(t->last, k->mv_data, k->mv_size);
		t->last_len = k->mv_size;
		t->last_state = LAST_KNOWN;
	}
}

/* Encodes the blob of id and the store's value set into s->buf. */
static int encode_record(lstore_t *s, idn_bytes_t id, size_t *size)
{
	*size = idn__record_size(id, &s->rs);
	if (*size > s->cap) {
		uint8_t *buf = realloc(s->buf, *size);
		if (buf == NULL)
			return -ENOMEM;
		s->buf = buf;
		s->cap = *size;
	}
	idn_wr_t w;
	idn_wr_init(&w, s->buf, *size);
	return idn__record_encode(&w, id, &s->rs);
}

/* Encodes id and the store's value set and puts the blob under key. The
 * blob is built in scratch memory first: the set may point into the old
 * blob, which the put may overwrite. The index changes from old (NULL: a
 * new record) are staged before the put, while both are readable. */
static int put_record(lwtxn_t *t, const uint8_t *key, size_t len,
		      idn_bytes_t id, const idn_record_t *old)
{
	lstore_t *s = lstore(t->base.store);
	size_t size;
	int err = encode_record(s, id, &size);
	if (err)
		return err;
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(key, len, kb);
	MDB_val d = {.mv_size = size, .mv_data = s->buf};
	err = idn__lidx_stage(&s->ix, &k, old, &s->rs);
	if (err)
		return err;
	int rc = mdb_put(t->txn, s->records, &k, &d, 0);
	return rc ? poison(t, rc) : 0;
}

/* Applies a large batch of staged index writes between operations, before
 * the next one reads a record (store_lmdb_index.h). Returns t->err. */
static int flush_early(lwtxn_t *t)
{
	idn__lidx_t *ix = &lstore(t->base.store)->ix;
	if (t->err == 0 && idn__lidx_full(ix)) {
		int rc = idn__lidx_flush(ix, t->txn);
		if (rc)
			poison(t, rc);
	}
	return t->err;
}

static int lmdb_create(idn_wtxn_t *base, const idn_ident_t *id,
		       const idn_value_t *v, uint32_t n, bool overwrite)
{
	lwtxn_t *t = lwtxn(base);
	lstore_t *s = lstore(base->store);
	if (flush_early(t))
		return t->err;
	int err = idn__rset_set(&s->rs, v, n);
	size_t size;
	if (err == 0)
		err = encode_record(s, id->text, &size);
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(id->key, id->key_len, kb);
	/* staged as a new record: a fresh create reads nothing first, the
	 * put itself finds out whether the key is taken */
	if (err == 0)
		err = idn__lidx_stage(&s->ix, &k, NULL, &s->rs);
	if (err)
		return err;
	/* a key after every stored one cannot be taken: appended (see
	 * after_last), the others put with MDB_NOOVERWRITE */
	unsigned flags = MDB_NOOVERWRITE;
	if (!overwrite) {
		int after = after_last(t, s, &k);
		if (after < 0) {
			idn__lidx_unstage(&s->ix);
			return after;
		}
		if (after)
			flags = MDB_APPEND;
	}
	MDB_val d = {.mv_size = size, .mv_data = s->buf};
	int rc = mdb_put(t->txn, s->records, &k, &d, flags);
	if (rc == 0) {
		last_note_put(t, &k);
		return 0;
	}
	idn__lidx_unstage(&s->ix);
	if (rc != MDB_KEYEXIST)
		return poison(t, rc);
	if (!overwrite) /* also a bad blob, or a hashed key's twin */
		return IDN_EEXISTS;
	/* d is the record there: replace it, unindexing what it held (of a
	 * bad blob, or another identifier's, what the index names it by) */
	idn_record_t old;
	bool had = idn__record_parse(d.mv_data, d.mv_size, &old) == 0 &&
		   idn_ascii_caseeq(old.id.p, old.id.len, id->key, id->key_len);
	if (!had && (rc = idn__lidx_purge(&s->ix, t->txn, &k)) != 0)
		return poison(t, rc); /* entries of unreadable values */
	err = idn__lidx_stage(&s->ix, &k, had ? &old : NULL, &s->rs);
	if (err)
		return err;
	d.mv_size = size;
	d.mv_data = s->buf;
	rc = mdb_put(t->txn, s->records, &k, &d, 0);
	return rc ? poison(t, rc) : 0;
}

static int lmdb_delete(idn_wtxn_t *base, const idn_ident_t *id)
{
	lwtxn_t *t = lwtxn(base);
	lstore_t *s = lstore(base->store);
	if (flush_early(t))
		return t->err;
	/* the index needs the old values; the read also makes sure a hashed
	 * key holds this identifier */
	idn_record_t old;
	int err = get_record(s, t->txn, t, id->key, id->key_len, &old);
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(id->key, id->key_len, kb);
	if (err == IDN_ECORRUPT) { /* values unreadable: walk the index */
		int rc = idn__lidx_purge(&s->ix, t->txn, &k);
		if (rc)
			return poison(t, rc);
	} else if (err) {
		return err;
	} else {
		err = idn__lidx_stage(&s->ix, &k, &old, NULL);
		if (err)
			return err;
	}
	int rc = mdb_del(t->txn, s->records, &k, NULL);
	if (rc == 0)
		t->last_state = LAST_UNKNOWN;
	if (rc == MDB_NOTFOUND)
		return IDN_ENOTFOUND;
	return rc ? poison(t, rc) : 0;
}

enum op { OP_ADD, OP_ADD_OVERWRITE, OP_MODIFY, OP_REMOVE };

/* Applies an edit to an existing record: the whole new blob is computed
 * before the single put, so a failing edit changes nothing. */
static int edit(idn_wtxn_t *base, const idn_ident_t *id, enum op op,
		const idn_value_t *v, const uint32_t *idx, uint32_t n)
{
	lwtxn_t *t = lwtxn(base);
	lstore_t *s = lstore(base->store);
	if (flush_early(t))
		return t->err;
	idn_record_t old;
	int err = get_record(s, t->txn, t, id->key, id->key_len, &old);
	if (err)
		return err;
	err = idn__rset_load(&s->rs, &old);
	if (err)
		return err;
	switch (op) {
	case OP_ADD:
	case OP_ADD_OVERWRITE:
		err = idn__rset_add(&s->rs, v, n, op == OP_ADD_OVERWRITE);
		break;
	case OP_MODIFY:
		err = idn__rset_modify(&s->rs, v, n);
		break;
	case OP_REMOVE:
		err = idn__rset_remove(&s->rs, idx, n);
		break;
	}
	if (err)
		return err;
	/* the identifier keeps the spelling it was created with */
	return put_record(t, id->key, id->key_len, old.id, &old);
}

static int lmdb_add(idn_wtxn_t *t, const idn_ident_t *id, const idn_value_t *v,
		    uint32_t n, bool overwrite)
{
	return edit(t, id, overwrite ? OP_ADD_OVERWRITE : OP_ADD, v, NULL, n);
}

static int lmdb_modify(idn_wtxn_t *t, const idn_ident_t *id,
		       const idn_value_t *v, uint32_t n)
{
	return edit(t, id, OP_MODIFY, v, NULL, n);
}

static int lmdb_remove(idn_wtxn_t *t, const idn_ident_t *id,
		       const uint32_t *idx, uint32_t n)
{
	return edit(t, id, OP_REMOVE, NULL, idx, n);
}

static int lmdb_home(idn_wtxn_t *base, const uint8_t *prefix, size_t len)
{
	lwtxn_t *t = lwtxn(base);
	lstore_t *s = lstore(base->store);
	if (t->err)
		return t->err;
	int homed = get_prefix(s, t->txn, t, prefix, len);
	/* already homed (1): write nothing */
	if (homed != 0)
		return homed;
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(prefix, len, kb);
	MDB_val d = {.mv_size = len, .mv_data = (void *)prefix};
	int rc = mdb_put(t->txn, s->prefixes, &k, &d, 0);
	return rc ? poison(t, rc) : 0;
}

static int lmdb_unhome(idn_wtxn_t *base, const uint8_t *prefix, size_t len)
{
	lwtxn_t *t = lwtxn(base);
	lstore_t *s = lstore(base->store);
	if (t->err)
		return t->err;
	int homed = get_prefix(s, t->txn, t, prefix, len);
	if (homed != 1)
		return homed == 0 ? IDN_ENOTFOUND : homed;
	uint8_t kb[KEY_MAX];
	MDB_val k = lmdb_key(prefix, len, kb);
	int rc = mdb_del(t->txn, s->prefixes, &k, NULL);
	return rc ? poison(t, rc) : 0;
}

/* Declaring a type rebuilds its entries over every record in this
 * transaction: the set and the entries commit together. */
static int lmdb_index_add(idn_wtxn_t *base, idn_bytes_t type)
{
	lwtxn_t *t = lwtxn(base);
	if (t->err)
		return t->err;
	int rc = idn__lidx_type_add(&lstore(base->store)->ix, t->txn,
				    lstore(base->store)->records, type);
	return rc == 1 ? 1 : rc ? poison(t, rc) : 0;
}

static int lmdb_index_remove(idn_wtxn_t *base, idn_bytes_t type)
{
	lwtxn_t *t = lwtxn(base);
	if (t->err)
		return t->err;
	int rc = idn__lidx_type_remove(&lstore(base->store)->ix, t->txn, type);
	if (rc == MDB_NOTFOUND)
		return IDN_ENOTFOUND;
	return rc ? poison(t, rc) : 0;
}

static const idn_store_ops_t lmdb_ops = {
	.name = "lmdb",
	.close = lmdb_close,
	.stat = lmdb_stat,
	.check = lmdb_check,
	.backup = lmdb_backup,
	.changes_write = lmdb_changes_write,
	.changes_bounds = lmdb_changes_bounds,
	.changes_read = lmdb_changes_read,
	.changes_prune = lmdb_changes_prune,
	.meta_get = lmdb_meta_get,
	.meta_put = lmdb_meta_put,
	.rtxn_begin = lmdb_rtxn_begin,
	.rtxn_reset = lmdb_rtxn_reset,
	.rtxn_renew = lmdb_rtxn_renew,
	.rtxn_snapshot = lmdb_rtxn_snapshot,
	.rtxn_free = lmdb_rtxn_free,
	.get = lmdb_get,
	.get_unchecked = lmdb_get_unchecked,
	.homed = lmdb_homed,
	.list = lmdb_list,
	.list_homed = lmdb_list_homed,
	.iter_records = idn__lmdb_iter_records,
	.search = lmdb_search,
	.index_declared = lmdb_index_declared,
	.index_types = lmdb_index_types,
	.index_add = lmdb_index_add,
	.index_remove = lmdb_index_remove,
	.wtxn_begin = lmdb_wtxn_begin,
	.wtxn_commit = lmdb_wtxn_commit,
	.wtxn_abort = lmdb_wtxn_abort,
	.wtxn_get = lmdb_wtxn_get,
	.create = lmdb_create,
	.del = lmdb_delete,
	.add = lmdb_add,
	.modify = lmdb_modify,
	.remove = lmdb_remove,
	.home = lmdb_home,
	.unhome = lmdb_unhome,
};
