/* Backups made by the running node (docs/operations.md, Backups): the
 * operator's `idctl backup DIR` (op 1106, control socket) and HANDLE.NET's
 * BACKUP_SERVER (op 1003, what hdl-docheckpoint sends), which a backup
 * or replication admin asks for over the network and which writes a
 * dated copy under backup-dir, keeping the newest backup-keep. Both are
 * compacted hot copies of one snapshot while writes go on, checked as a
 * node would open them before they are reported made. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "handler_int.h"
#include "log.h"
#include "store.h"

/* Names of the copies op 1003 makes: the prefix, then the UTC time as
 * YYYYMMDDTHHMMSSZ, then "-N" when several fall in one second. */
#define DATED_PREFIX "idnode-"

/* What a backup of a PostgreSQL store is: the database's own tools. */
#define PG_BACKUP_HOW                                                          \
	"the store is PostgreSQL, which is copied with its own tools: a "      \
	"physical copy with pg_basebackup -D DIR -X stream -c fast (with "     \
	"WAL archiving for point-in-time recovery), a logical one with "       \
	"pg_dump -Fc DBNAME; a node starts on an LMDB copy made with idctl "   \
	"migrate --from postgresql://... --to lmdb:DIR (one snapshot, the "    \
	"source opened read-only). docs/operations.md, Backups"

static int check_count(void *ctx, const char *kind, idn_bytes_t name,
		       const char *what)
{
	(void)ctx;
	log_warn("backup copy: damaged %s %.*s: %s", kind,
		 (int)(name.len > 200 ? 200 : name.len), (const char *)name.p,
		 what);
	return 0;
}

/* Checks a copy just made, as a node would open it. */
static int check_copy(const char *dir, idn_check_stat_t *st)
{
	idn_store_opts_t o = {.path = dir, .readonly = true};
	idn_store_t *s;
	int err = idn_store_open(&o, &s);
	if (err)
		return err;
	err = idn_store_check(s, check_count, NULL, st);
	idn_store_close(s);
	return err;
}

typedef struct {
	uint64_t records, prefixes;
	long long bytes, ms;
} copy_stat_t;

/* Copies the store into dir and checks the copy. Returns 0 when it is
 * made and checks clean; otherwise the error has been replied to r, and
 * *sent is what the reply returned. */
static int make_copy(reply_t *r, const char *dir, copy_stat_t *cs, int *sent)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int err = idn_store_backup(r->h->store, dir);
	if (err == IDN_EUNSUPPORTED) {
		*sent = reply_error(r, IDN_RC_ERROR, PG_BACKUP_HOW);
		return -1;
	}
	if (err == IDN_EEXISTS) {
		*sent = reply_error(r, IDN_RC_ERROR,
				    "the directory already holds a store "
				    "(data.mdb): name a new one");
		return -1;
	}
	if (err) {
		log_warn("backup to %s failed: %s", dir, idn_strerror(err));
		*sent = reply_lib_error(r, err);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	idn_check_stat_t st;
	err = check_copy(dir, &st);
	if (err || st.damaged) {
		log_warn("backup to %s does not check clean: %s, %llu damaged",
			 dir, idn_strerror(err),
			 (unsigned long long)st.damaged);
		*sent = reply_error(r, IDN_RC_ERROR,
				    "the copy does not check clean (the node's "
				    "log says why; idctl check --data DIR "
				    "names what)");
		return -1;
	}
	struct stat fs;
	char file[4200];
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	cs->records = st.records;
	cs->prefixes = st.prefixes;
	cs->bytes = stat(file, &fs) == 0 ? (long long)fs.st_size : -1;
	cs->ms = (t1.tv_sec - t0.tv_sec) * 1000LL +
		 (t1.tv_nsec - t0.tv_nsec) / 1000000;
	log_info("backup written to %s: %llu records, %lld bytes, %lld ms", dir,
		 (unsigned long long)cs->records, cs->bytes, cs->ms);
	return 0;
}

int do_backup(reply_t *r)
{
	idn_bytes_t arg;
	if (idn_id_body_decode(r->req->rest, &arg) != 0 || arg.len == 0 ||
	    arg.len >= 4096 || memchr(arg.p, 0, arg.len) || arg.p[0] != '/')
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "backup takes the absolute path of a "
				   "directory");
	char dir[4096];
	memcpy(dir, arg.p, arg.len);
	dir[arg.len] = 0;
	copy_stat_t cs;
	int sent;
	if (make_copy(r, dir, &cs, &sent) != 0)
		return sent;
	char text[600];
	snprintf(text, sizeof(text),
		 "{\"records\":%llu,\"prefixes\":%llu,\"bytes\":%lld,"
		 "\"ms\":%lld,\"checked\":true}",
		 (unsigned long long)cs.records,
		 (unsigned long long)cs.prefixes, cs.bytes, cs.ms);
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_str(&r->w, idn_bytes_str(text));
	return reply_send(r);
}

/* ---- op 1003: dated copies under backup-dir ---- */

/* backup-dir, or DATA/backups. */
static void backup_root(const node_conf_t *conf, char *out, size_t cap)
{
	if (conf->backup_dir[0])
		snprintf(out, cap, "%s", conf->backup_dir);
	else
		snprintf(out, cap, "%s/backups", conf->data);
}

/* Whether name is one of the dated copies (and nothing else the operator
 * keeps there): "idnode-" YYYYMMDD "T" HHMMSS "Z", maybe "-N". */
static bool is_dated(const char *name)
{
	static const char shape[] = "ddddddddTddddddZ";
	size_t pl = sizeof(DATED_PREFIX) - 1;
	if (strncmp(name, DATED_PREFIX, pl) != 0)
		return false;
	const char *p = name + pl;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		char want = shape[i];
		if (want == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != want)
			return false;
	}
	p += sizeof(shape) - 1;
	if (*p == 0)
		return true;
	if (*p++ != '-' || *p == 0)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* The k of a dated name: 1 for the plain name, N for "-N". */
static long dated_k(const char *name)
{
	const char *dash = strchr(name + sizeof(DATED_PREFIX) - 1, '-');
	return dash ? strtol(dash + 1, NULL, 10) : 1;
}

/* Oldest first: by the time, then by k within one second. */
static int by_age(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int c = strncmp(x, y, sizeof(DATED_PREFIX) - 1 + 16);
	if (c != 0)
		return c;
	long kx = dated_k(x), ky = dated_k(y);
	return (kx > ky) - (kx < ky);
}

/* Removes the copy root/name: its files (a copy holds data.mdb and the
 * lock.mdb of its check), then the directory; anything else in it stays
 * and so does the directory. */
static void remove_copy(const char *root, const char *name)
{
	char dir[4200], file[4400];
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
		if (unlink(file) != 0 && errno != ENOENT)
			log_warn("backup-keep: cannot remove %s: %s", file,
				 strerror(errno));
	}
	if (rmdir(dir) != 0)
		log_warn("backup-keep: cannot remove %s: %s", dir,
			 strerror(errno));
	else
		log_info("backup-keep: removed the old copy %s", dir);
}

/* Keeps the newest conf->backup_keep dated copies in root (0: all). */
static void prune_copies(const char *root, int keep)
{
	if (keep <= 0)
		return;
	DIR *d = opendir(root);
	if (d == NULL)
		return;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!is_dated(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL)
				break;
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_age);
	for (size_t i = 0; i < n; i++) {
		if (n - i > (size_t)keep)
			remove_copy(root, names[i]);
		free(names[i]);
	}
	free(names);
}

/* Makes root/idnode-<UTC time>[-N], a directory of this request's own,
 * with N above that of any copy of the same second (kept ones sort by
 * it, however many were removed). */
static int new_dated_dir(const char *root, char *out, size_t cap)
{
	if (mkdir(root, 0750) != 0 && errno != EEXIST)
		return -errno;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char base[64];
	strftime(base, sizeof(base), DATED_PREFIX "%Y%m%dT%H%M%SZ", &tm);
	long k = 0;
	DIR *d = opendir(root);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (is_dated(e->d_name) &&
			    strncmp(e->d_name, base, strlen(base)) == 0 &&
			    dated_k(e->d_name) > k)
				k = dated_k(e->d_name);
		closedir(d);
	}
	for (int tries = 0; tries < 1000; tries++) {
		if (++k == 1)
			snprintf(out, cap, "%s/%s", root, base);
		else
			snprintf(out, cap, "%s/%s-%ld", root, base, k);
		if (mkdir(out, 0750) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int do_backup_server(reply_t *r)
{
	/* HANDLE.NET's client sends an identifier body ("/"), which names
	 * nothing: the copy goes where the operator configured */
	const node_conf_t *conf = r->h->conf;
	char root[2048], dir[2200];
	backup_root(conf, root, sizeof(root));
	idn_store_spec_t spec;
	if (conf->store[0] && idn_store_spec_parse(conf->store, &spec) == 0 &&
	    spec.kind == IDN_STORE_PG)
		return reply_error(r, IDN_RC_ERROR, PG_BACKUP_HOW);
	int err = new_dated_dir(root, dir, sizeof(dir));
	if (err) {
		log_warn("backup server: cannot make a copy in %s: %s", root,
			 strerror(-err));
		return reply_error(r, IDN_RC_ERROR,
				   "the backup directory cannot be written "
				   "(the node's log says why)");
	}
	copy_stat_t cs;
	int sent;
	if (make_copy(r, dir, &cs, &sent) != 0) {
		rmdir(dir);
		return sent;
	}
	char who[260];
	log_info("backup server: %s asked for it; %llu records in %s",
		 principal_name(&r->from.who, who, sizeof(who)),
		 (unsigned long long)cs.records, dir);
	prune_copies(root, conf->backup_keep);
	/* HANDLE.NET answers with an empty body; so does idnode: the log
	 * names the copy */
	reply_start(r, IDN_RC_SUCCESS, 0);
	return reply_send(r);
}
