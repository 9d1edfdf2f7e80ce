/* idctl populate: synthetic identifiers written straight into a store
 * (bench.h), for idctl bench to resolve. */
#include "bench.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "error.h"
#include "ident.h"
#include "search.h"
#include "store.h"
#include "value.h"
#include "wire.h"

static const char populate_usage[] =
	"usage: idctl populate --data DIR --prefix P --count N\n"
	"                      [--batch N] [--json]\n"
	"\n"
	"Writes N synthetic identifiers P/bench-0 .. P/bench-<N-1> straight\n"
	"into the LMDB store in DIR (created if needed) and homes P there,\n"
	"for idctl bench to resolve. Each record has 4 or 5 public values:\n"
	"URL https://example.com/p/<i>, EMAIL, BATCH (a lot number), DESC\n"
	"on every third identifier, and HS_ADMIN naming 0.NA/P. Existing\n"
	"identifiers of those names are replaced.\n"
	"\n"
	"idnode must NOT be running on DIR while this runs: stop it first.\n"
	"\n"
	"  -d, --data DIR      the node's data directory\n"
	"  -p, --prefix P      prefix of the identifiers (e.g. 20.500)\n"
	"  -n, --count N       number of identifiers\n"
	"  -b, --batch N       identifiers per write transaction\n"
	"                      (default 10000)\n"
	"      --index-type T  declare value type T searchable first\n"
	"                      (idctl index add; repeatable, up to 8)\n"
	"      --index-created declare the creation time index first\n"
	"      --json          print the result as a JSON object\n"
	"  -h, --help          this text\n";

typedef struct {
	char url[64];
	char email[64];
	char batch[96];
	char desc[128];
	idn_value_t v[5];
	uint32_t n;
} rec_buf_t;

/* Fills the values of identifier i; admin is the encoded HS_ADMIN data. */
static void make_record(rec_buf_t *r, uint64_t i, uint32_t now,
			idn_bytes_t admin)
{
	static const char *const lines[] = {"north", "south", "east", "west"};
	int nu = snprintf(r->url, sizeof(r->url),
			  "https://example.com/p/%" PRIu64, i);
	int ne = snprintf(r->email, sizeof(r->email),
			  "owner%" PRIu64 "@example.com", i % 997);
	int nb = snprintf(r->batch, sizeof(r->batch),
			  "lot=B2026-%06" PRIu64 ";line=%s;qty=%" PRIu64,
			  i / 1000, lines[i % 4], 100 + i % 900);
	r->n = 0;
	idn_value_t base = {0};
	base.timestamp = now;
	base.ttl_type = IDN_TTL_RELATIVE;
	base.ttl = IDN_TTL_DEFAULT;
	base.perms = IDN_PERM_DEFAULT;

	idn_value_t *v = &r->v[r->n++];
	*v = base;
	v->index = 1;
	v->type = idn_bytes_str("URL");
	v->data = idn_bytes(r->url, (size_t)nu);
	v = &r->v[r->n++];
	*v = base;
	v->index = 2;
	v->type = idn_bytes_str("EMAIL");
	v->data = idn_bytes(r->email, (size_t)ne);
	v = &r->v[r->n++];
	*v = base;
	v->index = 3;
	v->type = idn_bytes_str("BATCH");
	v->data = idn_bytes(r->batch, (size_t)nb);
	if (i % 3 == 0) {
		int nd =
			snprintf(r->desc, sizeof(r->desc),
				 "Benchmark item %" PRIu64
				 ", synthetic record written by idctl populate",
				 i);
		v = &r->v[r->n++];
		*v = base;
		v->index = 4;
		v->type = idn_bytes_str("DESC");
		v->data = idn_bytes(r->desc, (size_t)nd);
	}
	v = &r->v[r->n++];
	*v = base;
	v->index = 100;
	v->type = idn_bytes_str("HS_ADMIN");
	v->data = admin;
}

static void print_populate(bool json, const char *prefix, uint64_t count,
			   double secs, const idn_store_stat_t *st)
{
	double rate = secs > 0 ? (double)count / secs : 0;
	double per =
		st->records ? (double)st->bytes_used / (double)st->records : 0;
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "prefix", json_string(prefix));
		json_object_set_new(o, "count",
				    json_integer((json_int_t)count));
		json_object_set_new(o, "seconds", json_real(secs));
		json_object_set_new(o, "identifiers_per_s", json_real(rate));
		json_object_set_new(o, "store_records",
				    json_integer((json_int_t)st->records));
		json_object_set_new(o, "store_bytes",
				    json_integer((json_int_t)st->bytes_used));
		json_object_set_new(o, "bytes_per_identifier", json_real(per));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("populated %" PRIu64 " identifiers under %s in %.2f s: "
	       "%.0f identifiers/s\n",
	       count, prefix, secs, rate);
	printf("store: %" PRIu64 " identifiers, %" PRIu64
	       " bytes in use, %.1f bytes/identifier\n",
	       st->records, st->bytes_used, per);
}

int bench_populate_main(ctl_opts_t *o, int argc, char **argv)
{
	(void)o;
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"prefix", required_argument, NULL, 'p'},
		{"count", required_argument, NULL, 'n'},
		{"batch", required_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'J'},
		{"index-type", required_argument, NULL, 'I'},
		{"index-created", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL, *prefix = NULL;
	uint64_t count = 0, batch = 10000;
	bool have_count = false, json = false;
	const char *itypes[8];
	int nitypes = 0;
	int c;
	optind = 0; /* a fresh scan: argv[0] is the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:p:n:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'n':
			if (bench_parse_u64(optarg, 1, UINT32_MAX, &count) !=
			    0) {
				fprintf(stderr,
					"idctl populate: invalid --count "
					"'%s' (1..4294967295)\n",
					optarg);
				return 2;
			}
			have_count = true;
			break;
		case 'b':
			if (bench_parse_u64(optarg, 1, 10000000, &batch) != 0) {
				fprintf(stderr,
					"idctl populate: invalid --batch "
					"'%s' (1..10000000)\n",
					optarg);
				return 2;
			}
			break;
		case 'J':
			json = true;
			break;
		case 'C':
			if (nitypes == 8)
				return 2;
			itypes[nitypes++] = ""; /* the creation time */
			break;
		case 'I':
			if (nitypes == 8 ||
			    !idn_index_type_ok(idn_bytes_str(optarg))) {
				fprintf(stderr,
					"idctl populate: bad or too many "
					"--index-type '%s'\n",
					optarg);
				return 2;
			}
			itypes[nitypes++] = optarg;
			break;
		case 'h':
			fputs(populate_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "idctl populate: %s needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr,
				"idctl populate: unknown option '%s' "
				"(see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "idctl populate: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (data == NULL) {
		fprintf(stderr, "idctl populate: --data is required\n");
		return 2;
	}
	if (!have_count) {
		fprintf(stderr, "idctl populate: --count is required\n");
		return 2;
	}
	if (bench_check_prefix("populate", prefix) != 0)
		return 2;

	size_t plen = strlen(prefix);
	uint8_t pnorm[IDN_IDENT_MAX];
	uint32_t pnl;
	idn_prefix_normalise((const uint8_t *)prefix, plen, pnorm, &pnl);

	/* The HS_ADMIN data is the same for every record: 0.NA/P index 200,
	 * all permissions. */
	char admin_id[IDN_IDENT_MAX + 8];
	snprintf(admin_id, sizeof(admin_id), "0.NA/%s", prefix);
	uint8_t admin_buf[IDN_IDENT_MAX + 64];
	idn_wr_t aw;
	idn_wr_init(&aw, admin_buf, sizeof(admin_buf));
	idn_hs_admin_t adm = {IDN_ADM_ALL, idn_bytes_str(admin_id), 200};
	idn_hs_admin_encode(&aw, &adm);
	if (aw.err) {
		fprintf(stderr, "idctl populate: prefix too long\n");
		return 2;
	}
	idn_bytes_t admin = idn_bytes(admin_buf, aw.len);

	/* idn_ident_t holds a 2 KiB key: keep it off the stack */
	idn_ident_t *id = malloc(sizeof(*id));
	char *text = malloc(plen + 32);
	if (id == NULL || text == NULL) {
		free(id);
		free(text);
		fprintf(stderr, "idctl populate: out of memory\n");
		return 1;
	}
	idn_arena_t arena;
	idn_arena_init(&arena, 0);
	idn_store_opts_t so = {.path = data};
	idn_store_t *store = NULL;
	int rc = 1;
	int err = idn_store_open(&so, &store);
	if (err) {
		fprintf(stderr, "idctl populate: cannot open store %s: %s\n",
			data, idn_strerror(err));
		goto out;
	}
	if (nitypes) {
		idn_wtxn_t *t;
		err = idn_wtxn_begin(store, &t);
		bool began = err == 0;
		for (int k = 0; err == 0 && k < nitypes; k++) {
			err = idn_wtxn_index_add(t, idn_bytes_str(itypes[k]));
			err = err == 1 ? 0 : err;
		}
		if (began)
			err = err ? (idn_wtxn_abort(t), err)
				  : idn_wtxn_commit(t);
		if (err) {
			fprintf(stderr, "idctl populate: --index-type: %s\n",
				idn_strerror(err));
			goto out;
		}
	}
	uint32_t now = (uint32_t)time(NULL);
	uint64_t t0 = bench_now_ns(), last_report = t0;
	uint64_t i = 0;
	rec_buf_t rec;
	while (i < count) {
		idn_wtxn_t *t;
		err = idn_wtxn_begin(store, &t);
		if (err) {
			fprintf(stderr,
				"idctl populate: cannot begin a write "
				"transaction: %s\n",
				idn_strerror(err));
			goto out;
		}
		if (i == 0)
			err = idn_wtxn_home(t, pnorm, pnl);
		uint64_t end = count - i < batch ? count : i + batch;
		for (; err == 0 && i < end; i++) {
			int tl = snprintf(text, plen + 32,
					  "%s/" BENCH_SUFFIX_FMT, prefix, i);
			err = idn_ident_parse((const uint8_t *)text, (size_t)tl,
					      0, id);
			if (err)
				break;
			make_record(&rec, i, now, admin);
			for (uint32_t k = 0; err == 0 && k < rec.n; k++)
				err = idn_value_check(&rec.v[k], &arena);
			idn_arena_reset(&arena);
			if (err == 0)
				err = idn_wtxn_create(t, id, rec.v, rec.n,
						      true);
		}
		if (err) {
			idn_wtxn_abort(t);
			fprintf(stderr,
				"idctl populate: cannot write "
				"%s/" BENCH_SUFFIX_FMT ": %s\n",
				prefix, i, idn_strerror(err));
			goto out;
		}
		err = idn_wtxn_commit(t);
		if (err) {
			fprintf(stderr,
				"idctl populate: commit failed after %" PRIu64
				" identifiers: %s\n",
				i, idn_strerror(err));
			goto out;
		}
		uint64_t tn = bench_now_ns();
		if (tn - last_report >= 1000000000u || i == count) {
			double secs = (double)(tn - t0) / 1e9;
			fprintf(stderr,
				"populate: %" PRIu64 "/%" PRIu64
				" (%.0f%%), %.0f identifiers/s\n",
				i, count, 100.0 * (double)i / (double)count,
				secs > 0 ? (double)i / secs : 0);
			last_report = tn;
		}
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	idn_store_stat_t st;
	err = idn_store_stat(store, &st);
	if (err) {
		fprintf(stderr,
			"idctl populate: cannot read store statistics: "
			"%s\n",
			idn_strerror(err));
		goto out;
	}
	print_populate(json, prefix, count, secs, &st);
	rc = 0;
out:
	if (store)
		idn_store_close(store);
	idn_arena_free(&arena);
	free(id);
	free(text);
	return rc;
}
