/* idctl migrate --from SRC --to DST: copies every homed prefix, every
 * declared search type and every record of a node from one store to
 * another, LMDB or PostgreSQL either way, with a progress bar.
 *
 * Only the storage interface is used (store.h). The source is opened
 * read-only (nothing of it is written or upgraded, so a store on read-only
 * media or a snapshot can be copied) and read through its iterators in one
 * read transaction, so the copy is one snapshot while a running node may keep
 * writing; every record is checked as a read checks it. The destination
 * is written in transactions of --batch records (pipelined on
 * PostgreSQL), each record created whole with overwrite, under the
 * normalised key the source holds it under (so nodes with case-sensitive
 * suffixes keep them). */
#include "migrate.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "search.h"
#include "store.h"
#include "value.h"
#include "wire.h"

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("idctl migrate: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the source ---- */

typedef struct {
	idn_store_t *st;
	idn_rtxn_t *rt;	     /* the snapshot everything is read from */
	uint64_t nrec, npfx; /* totals, for the progress bar */
	const char *label;
} src_t;

static void close_src(src_t *s)
{
	idn_rtxn_free(s->rt);
	idn_store_close(s->st);
	s->rt = NULL;
	s->st = NULL;
}

/* Opens the existing store name and its snapshot; says why not. */
static int open_src(src_t *s, const char *name, const char *label)
{
	memset(s, 0, sizeof(*s));
	s->label = label;
	idn_store_opts_t o = {.path = name, .readonly = true};
	int err = idn_store_open(&o, &s->st);
	if (err == IDN_ENOTFOUND) {
		fail("%s: no idnode store there", label);
		return err;
	}
	if (err == IDN_ECORRUPT) {
		fail("%s: not a store of a schema version this idctl reads",
		     label);
		return err;
	}
	if (err == IDN_EREADONLY)
		return err; /* the store said which version, and what to do */
	if (err) {
		fail("opening %s: %s", label, idn_strerror(err));
		return err;
	}
	idn_store_stat_t st;
	if (idn_store_stat(s->st, &st) == 0) {
		s->nrec = st.records;
		s->npfx = st.prefixes;
	}
	err = idn_rtxn_begin(s->st, &s->rt);
	if (err) {
		fail("reading %s: %s", label, idn_strerror(err));
		close_src(s);
	}
	return err;
}

/* Hands every item of a walk to fn, which says why it stops; says what
 * else ended the walk if not its end. Frees it. */
static int each(src_t *s, idn_iter_t *it,
		int (*fn)(void *ctx, const idn_iter_item_t *item), void *ctx)
{
	idn_iter_item_t item;
	int err;
	while ((err = idn_iter_next(it, &item)) == 0) {
		if ((err = fn(ctx, &item)) != 0) {
			idn_iter_free(it);
			return err;
		}
	}
	idn_iter_free(it);
	if (err == IDN_ENOTFOUND)
		return 0;
	fail("reading %s: %s", s->label, idn_strerror(err));
	return err;
}

/* Begins a walk (kind 'r' records, 'h' homed prefixes, 't' types) of the
 * source's snapshot and hands every item to fn. */
static int walk(src_t *s, char kind,
		int (*fn)(void *ctx, const idn_iter_item_t *item), void *ctx)
{
	idn_iter_t *it;
	idn_bytes_t all = idn_bytes(NULL, 0);
	int err = kind == 'r'	? idn_iter_records(s->rt, all, all, &it)
		  : kind == 'h' ? idn_iter_homed(s->rt, &it)
				: idn_iter_types(s->rt, &it);
	if (err) {
		fail("reading %s: %s", s->label, idn_strerror(err));
		return err;
	}
	return each(s, it, fn, ctx);
}

/* ---- copying ---- */

typedef struct {
	idn_store_t *dst;
	unsigned batch;
	bool progress;
	uint64_t done, total, prefixes;
	double t0, shown;
	idn_wtxn_t *t;
	unsigned in_txn;
	idn_arena_t arena;
} copy_t;

static void show(copy_t *c, bool last)
{
	if (!c->progress)
		return;
	double now = now_s();
	if (!last && now - c->shown < 0.2)
		return;
	c->shown = now;
	double secs = now - c->t0, rate = secs > 0 ? c->done / secs : 0;
	double frac = c->total ? (double)c->done / (double)c->total : 1;
	if (frac > 1)
		frac = 1;
	char bar[41];
	int fill = (int)(frac * 40);
	for (int i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = 0;
	double eta = rate > 0 && c->total > c->done
			     ? (double)(c->total - c->done) / rate
			     : 0;
	fprintf(stderr, "\r[%s] %3d%% %llu/%llu records %.0f/s ETA %d:%02d ",
		bar, (int)(frac * 100), (unsigned long long)c->done,
		(unsigned long long)c->total, rate, (int)eta / 60,
		(int)eta % 60);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

static int flush_txn(copy_t *c)
{
	if (c->t == NULL)
		return 0;
	int err = idn_wtxn_commit(c->t);
	c->t = NULL;
	c->in_txn = 0;
	if (err)
		fail("commit: %s", idn_strerror(err));
	return err;
}

/* Declares a searchable type of the source on the destination, before
 * the records, so that each is indexed as it is copied. */
static int declare_one(void *ctx, const idn_iter_item_t *item)
{
	copy_t *c = ctx;
	idn_bytes_t type = item->key;
	int err = 0;
	if (c->t == NULL)
		err = idn_wtxn_begin(c->dst, &c->t);
	if (err == 0)
		err = idn_wtxn_index_add(c->t, type);
	if (err == IDN_EINVAL) {
		fprintf(stderr,
			"idctl migrate: type %.*s cannot be declared: "
			"not searchable on the destination\n",
			(int)type.len, (const char *)type.p);
		return 0;
	}
	if (err < 0)
		fail("declaring type %.*s: %s", (int)type.len,
		     (const char *)type.p, idn_strerror(err));
	return err < 0 ? err : 0;
}

static int home_one(void *ctx, const idn_iter_item_t *item)
{
	copy_t *c = ctx;
	idn_bytes_t p = item->key;
	int err = 0;
	if (c->t == NULL)
		err = idn_wtxn_begin(c->dst, &c->t);
	if (err == 0)
		err = idn_wtxn_home(c->t, p.p, p.len);
	if (err) {
		fail("homing %.*s: %s", (int)p.len, p.p, idn_strerror(err));
		return err;
	}
	c->prefixes++;
	return 0;
}

/* The identifier of a record, parsed so that its key is the one the
 * source stores it under (its suffix upper-cased or not). The iterator
 * yields that exact key, so whichever parse matches it is the one. */
static int ident_of(const idn_iter_item_t *r, idn_ident_t *id)
{
	static const unsigned flags[2] = {0, IDN_IDENT_CASE_SUFFIX};
	for (int i = 0; i < 2; i++) {
		if (idn_ident_parse(r->rec.id.p, r->rec.id.len, flags[i], id))
			continue;
		if (id->key_len == r->key.len &&
		    memcmp(id->key, r->key.p, r->key.len) == 0)
			return 0;
	}
	fail("%.*s: stored under a key that is not its own",
	     (int)(r->rec.id.len > 200 ? 200 : r->rec.id.len), r->rec.id.p);
	return IDN_ECORRUPT;
}

static int copy_one(void *ctx, const idn_iter_item_t *r)
{
	copy_t *c = ctx;
	idn_ident_t id;
	int err = ident_of(r, &id);
	if (err)
		return err;
	idn_arena_reset(&c->arena);
	idn_value_t *v = idn_arena_array(
		&c->arena, r->rec.nvalues ? r->rec.nvalues : 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	idn_rd_t rd;
	idn_rd_init(&rd, r->rec.values.p, r->rec.values.len);
	for (uint32_t i = 0; i < r->rec.nvalues; i++)
		idn_value_decode(&rd, &c->arena, &v[i]);
	if (rd.err) {
		fail("%.*s: value does not decode: %s", (int)id.text.len,
		     id.text.p, idn_strerror(rd.err));
		return rd.err;
	}
	if (c->t == NULL && (err = idn_wtxn_begin(c->dst, &c->t)) != 0) {
		fail("begin: %s", idn_strerror(err));
		return err;
	}
	err = idn_wtxn_create(c->t, &id, v, r->rec.nvalues, true);
	if (err) {
		fail("%.*s: %s", (int)id.text.len, id.text.p,
		     idn_strerror(err));
		return err;
	}
	c->done++;
	if (++c->in_txn >= c->batch)
		err = flush_txn(c);
	show(c, false);
	return err;
}

typedef struct {
	idn_rtxn_t *rt; /* the destination's */
	uint64_t n, bad;
} verify_t;

static int verify_one(void *ctx, const idn_iter_item_t *r)
{
	verify_t *v = ctx;
	idn_ident_t id;
	idn_record_t d;
	int err = ident_of(r, &id);
	if (err)
		return err;
	if (v->n++ % 1000 == 0 && (err = idn_rtxn_renew(v->rt)) != 0)
		return err;
	err = idn_store_get(v->rt, id.key, id.key_len, &d);
	if (err || !idn_bytes_eq(d.id, r->rec.id) ||
	    d.nvalues != r->rec.nvalues ||
	    !idn_bytes_eq(d.values, r->rec.values)) {
		if (v->bad < 10)
			fail("differs after the copy: %.*s (%s)",
			     (int)id.text.len, id.text.p,
			     err ? idn_strerror(err) : "other values");
		v->bad++;
	}
	return 0;
}

/* Compares every record of the source's snapshot with the
 * destination's. */
static int verify(src_t *s, copy_t *c, uint64_t *bad)
{
	verify_t v = {0};
	int err = idn_rtxn_begin(c->dst, &v.rt);
	if (err)
		return err;
	err = walk(s, 'r', verify_one, &v);
	idn_rtxn_free(v.rt);
	*bad = v.bad;
	return err;
}

static const char usage[] =
	"usage: idctl migrate --from SRC --to DST [options]\n"
	"Copies every homed prefix and every record of a node's store to\n"
	"another store. SRC and DST: lmdb:DIR (or DIR), or a PostgreSQL\n"
	"connection URI (postgresql://...) or key=value string. The source\n"
	"is read in one snapshot and may be in use by a running node; it is\n"
	"opened read-only and never changed.\n"
	"  --batch N                records per destination transaction "
	"(1000)\n"
	"  --merge                  copy into a destination that holds "
	"records\n"
	"  --case-sensitive-suffix  no effect, accepted for compatibility "
	"(every\n"
	"                           record keeps the key the source holds "
	"it under)\n"
	"  --verify                 read everything back and compare\n"
	"  --no-progress            no progress bar (default on a terminal)\n"
	"  --json                   print the summary as JSON\n";

int migrate_main(int argc, char **argv)
{
	enum {
		O_FROM = 256,
		O_TO,
		O_BATCH,
		O_MERGE,
		O_CASE,
		O_VERIFY,
		O_NOPROG,
		O_JSON
	};
	static const struct option lopts[] = {
		{"from", required_argument, NULL, O_FROM},
		{"to", required_argument, NULL, O_TO},
		{"batch", required_argument, NULL, O_BATCH},
		{"merge", no_argument, NULL, O_MERGE},
		{"case-sensitive-suffix", no_argument, NULL, O_CASE},
		{"verify", no_argument, NULL, O_VERIFY},
		{"no-progress", no_argument, NULL, O_NOPROG},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *from = NULL, *to = NULL;
	bool merge = false, do_verify = false, json = false;
	copy_t c = {.batch = 1000, .progress = isatty(2)};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case O_FROM:
			from = optarg;
			break;
		case O_TO:
			to = optarg;
			break;
		case O_BATCH: {
			char *end;
			unsigned long b = strtoul(optarg, &end, 10);
			if (*end || b == 0 || b > 1000000) {
				fail("--batch: a number from 1 to 1000000");
				return 2;
			}
			c.batch = (unsigned)b;
			break;
		}
		case O_MERGE:
			merge = true;
			break;
		case O_CASE: /* no effect: see usage */
			break;
		case O_VERIFY:
			do_verify = true;
			break;
		case O_NOPROG:
			c.progress = false;
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (from == NULL || to == NULL || optind != argc) {
		fail("--from and --to are required (see --help)");
		return 2;
	}
	idn_store_spec_t sfrom, sto;
	if (idn_store_spec_parse(from, &sfrom) != 0 ||
	    idn_store_spec_parse(to, &sto) != 0) {
		fail("--from and --to name stores: lmdb:DIR, "
		     "postgresql://... or a key=value string");
		return 2;
	}
	char lfrom[300], lto[300];
	idn_store_spec_label(&sfrom, lfrom, sizeof(lfrom));
	idn_store_spec_label(&sto, lto, sizeof(lto));
	if (sfrom.kind == sto.kind && strcmp(sfrom.path, sto.path) == 0) {
		fail("the source and the destination are the same store");
		return 2;
	}

	src_t s;
	int err = open_src(&s, from, lfrom);
	if (err)
		return 1;
	idn_store_opts_t o = {.path = to};
	err = idn_store_open(&o, &c.dst);
	if (err) {
		fail("opening %s: %s", lto, idn_strerror(err));
		close_src(&s);
		return 1;
	}
	idn_store_stat_t st;
	if (!merge && idn_store_stat(c.dst, &st) == 0 && st.records) {
		fail("%s already holds %llu records (--merge copies over "
		     "them)",
		     lto, (unsigned long long)st.records);
		idn_store_close(c.dst);
		close_src(&s);
		return 1;
	}
	idn_arena_init(&c.arena, 0);
	c.total = s.nrec;
	c.t0 = now_s();
	if (c.progress)
		fprintf(stderr,
			"copying %llu records and %llu prefixes from "
			"%s to %s\n",
			(unsigned long long)s.nrec, (unsigned long long)s.npfx,
			lfrom, lto);
	err = walk(&s, 'h', home_one, &c);
	if (err == 0)
		err = walk(&s, 't', declare_one, &c);
	if (err == 0)
		err = walk(&s, 'r', copy_one, &c);
	if (err == 0)
		err = flush_txn(&c);
	else if (c.t)
		idn_wtxn_abort(c.t);
	show(&c, true);
	double secs = now_s() - c.t0;
	uint64_t bad = 0;
	/* the same snapshot, read again */
	if (err == 0 && do_verify) {
		err = verify(&s, &c, &bad);
		if (err == 0 && bad)
			err = IDN_ECORRUPT;
	}
	close_src(&s);
	idn_arena_free(&c.arena);
	idn_store_close(c.dst);
	if (err) {
		fail("stopped after %llu records: %s",
		     (unsigned long long)c.done, idn_strerror(err));
		return 1;
	}
	double rate = secs > 0 ? c.done / secs : 0;
	if (json) {
		json_t *j = json_pack(
			"{s:s, s:s, s:I, s:I, s:f, s:f, s:b}", "from", lfrom,
			"to", lto, "records", (json_int_t)c.done, "prefixes",
			(json_int_t)c.prefixes, "seconds", secs,
			"records_per_second", rate, "verified", do_verify);
		char *txt = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
		if (txt)
			puts(txt);
		free(txt);
		json_decref(j);
	} else {
		printf("copied %llu records and %llu prefixes from %s to %s "
		       "in %.1f s (%.0f records/s)%s\n",
		       (unsigned long long)c.done,
		       (unsigned long long)c.prefixes, lfrom, lto, secs, rate,
		       do_verify ? ", verified" : "");
	}
	return 0;
}
