/* idctl export: the records of a prefix as JSON Lines that idctl import
 * reads back unchanged, or as CSV (--format csv) for spreadsheets, which
 * idctl import reads back too (import.h).
 *
 * The identifiers come from the list op; each record is then resolved over
 * the same control connection (which sees every value, public or not),
 * with many resolutions in flight. Data is written losslessly: "string"
 * for valid UTF-8 without control characters, "admin" for an HS_ADMIN
 * value whose layout re-encodes to the same bytes, base64 otherwise (HS_SITE
 * included); ttl type, permissions, references and timestamps are kept. */
#include "import.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "ctlutil.h"
#include "error.h"
#include "genbatch.h"
#include "ident.h"
#include "import_int.h"
#include "value.h"
#include "value_out.h"
#include "wire.h"

#define FRAME_CAP (IDN_ENV_LEN + IDN_MSG_MAX)
#define WINDOW                                                                 \
	64 /* resolutions in flight: requests stay far below the               \
	    * socket buffer, so writing them never blocks on a node            \
	    * that is busy writing answers */

static const char export_usage[] =
	"usage: idctl -C SOCKET export PREFIX [-o FILE] [--format jsonl|csv]\n"
	"             [--bom] [--timeout MS]\n"
	"\n"
	"Writes every record under PREFIX as JSON Lines, one record a line, "
	"in\n"
	"the format idctl import reads: {\"handle\",\"values\":[{\"index\",\n"
	"\"type\",\"data\":{\"format\",\"value\"},\"ttl\",\"timestamp\",\n"
	"\"permissions\"[,\"ttlType\"][,\"references\"]}]}. Data is a string "
	"when\n"
	"it is printable UTF-8, admin for HS_ADMIN, base64 otherwise, so an\n"
	"export imported into another node and exported again is identical.\n"
	"Records are resolved through the control socket (-C or\n"
	"$IDNODE_CONTROL), which sees non-public values too. A record without\n"
	"values is written with an empty values array.\n"
	"\n"
	"--format csv writes a header handle,INDEX:TYPE,... (a column for each\n"
	"index and type any record has) and a row a record, as idctl import\n"
	"reads it: text data as it is (RFC 4180 quoting; line breaks kept),\n"
	"HS_ADMIN as INDEX:PERMISSIONS:HANDLE. CSV has no place for ttl,\n"
	"permissions, references or timestamps: values whose ttl is not 86400\n"
	"or whose permissions are not rwr- are counted in a warning, and data\n"
	"that is not text (binary, HS_SITE) stops the export before anything\n"
	"is written (use JSON Lines for those).\n"
	"\n"
	"  -o, --out FILE   write to FILE instead of stdout\n"
	"  --format F       jsonl (default) or csv\n"
	"  --bom            CSV: begin with a UTF-8 byte order mark, which\n"
	"                   Excel and WPS need to read UTF-8\n"
	"  --timeout MS     bound on every wait for the node (default 60000)\n";

typedef struct {
	char **ids;
	size_t n, cap;
	int err;
} idlist_t;

static int list_add(idlist_t *l, idn_bytes_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		char **p = realloc(l->ids, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		l->ids = p;
		l->cap = cap;
	}
	char *s = malloc((size_t)id.len + 1);
	if (s == NULL)
		return -1;
	memcpy(s, id.p, id.len);
	s[id.len] = 0;
	l->ids[l->n++] = s;
	return 0;
}

/* Lists the identifiers under prefix (continuous replies). */
static int fetch_list(ctl_conn_t *c, const char *prefix, uint8_t *buf,
		      idlist_t *l, idn_arena_t *a)
{
	idn_wr_t w;
	idn_msg_mark_t mk;
	uint32_t id;
	ctl_frame_start(c, &w, buf, IDN_OC_LIST, 0, &id, &mk);
	idn_id_body_encode(&w, idn_bytes_str(prefix));
	idn_msg_finish(&w, mk, NULL);
	if (w.err) {
		fprintf(stderr, "idctl: export: prefix too long\n");
		return -1;
	}
	int err = ctl_send(c, w.buf, w.len);
	for (;;) {
		idn_env_t env;
		idn_msg_t m;
		if (err == 0)
			err = ctl_recv(c, &env, &m);
		if (err) {
			fprintf(stderr, "idctl: export: list %s: %s\n", prefix,
				idn_strerror(err));
			return -1;
		}
		if (env.request_id != id)
			continue;
		if (m.hdr.rc != IDN_RC_SUCCESS) {
			idn_bytes_t text = {NULL, 0};
			idn_error_body_decode(m.rest, &text);
			fprintf(stderr, "idctl: export %s: %s (rc %u)%s%.*s\n",
				prefix, import_rc_name(m.hdr.rc), m.hdr.rc,
				text.len ? ": " : "", (int)text.len,
				text.p ? (const char *)text.p : "");
			return -1;
		}
		idn_list_body_t lb;
		idn_arena_reset(a);
		if (idn_list_body_decode(m.rest, a, &lb) != 0) {
			fprintf(stderr,
				"idctl: export: malformed list reply\n");
			return -1;
		}
		for (uint32_t i = 0; i < lb.n; i++)
			if (list_add(l, lb.ids[i]) != 0) {
				fprintf(stderr,
					"idctl: export: out of memory\n");
				return -1;
			}
		if (!(m.hdr.flags & IDN_OF_CONTINUOUS))
			return 0;
	}
}

static json_t *jstr(idn_bytes_t b)
{
	return json_stringn((const char *)b.p, b.len);
}

/* An HS_ADMIN value shown as admin only when that loses nothing. */
static bool admin_exact(idn_bytes_t data, idn_hs_admin_t *adm)
{
	if (idn_hs_admin_decode(data, adm) != 0 ||
	    !value_printable(adm->admin) || data.len > 4096)
		return false;
	uint8_t buf[4200];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_hs_admin_encode(&w, adm);
	return !w.err && w.len == data.len && !memcmp(buf, data.p, w.len);
}

static json_t *record_value_json(const idn_value_t *v)
{
	json_t *o = json_object();
	json_t *data = json_object();
	json_object_set_new(o, "index", json_integer(v->index));
	json_object_set_new(o, "type", jstr(v->type));
	idn_hs_admin_t adm;
	if (idn_bytes_eq_str(v->type, "HS_ADMIN") &&
	    admin_exact(v->data, &adm)) {
		/* 12 permission bits as handle.net shows them; 16 when the
		 * value sets bits above those */
		value_admin_json(data, &adm, adm.perms >> 12 ? 16 : 12);
	} else {
		value_bytes_json(data, v->data);
	}
	json_object_set_new(o, "data", data);
	json_object_set_new(o, "ttl", json_integer(v->ttl));
	if (v->ttl_type != IDN_TTL_RELATIVE)
		json_object_set_new(o, "ttlType", json_integer(v->ttl_type));
	value_meta_json(o, v);
	return o;
}

static int send_resolve(ctl_conn_t *c, uint8_t *buf, const char *id,
			uint32_t *rid)
{
	idn_wr_t w;
	idn_msg_mark_t mk;
	ctl_frame_start(c, &w, buf, IDN_OC_RESOLUTION, 0, rid, &mk);
	idn_resolve_req_t q = {idn_bytes_str(id), 0, NULL, 0, NULL};
	idn_resolve_req_encode(&w, &q);
	idn_msg_finish(&w, mk, NULL);
	if (w.err)
		return w.err;
	return ctl_send(c, w.buf, w.len);
}

/* ---- CSV ---- */

typedef struct {
	uint32_t index;
	char *type;
} col_t;

/* CSV export: the first pass (the resolutions) writes each record to a
 * temporary file as a JSON array [handle, column, cell, column, cell...]
 * and gathers the columns; the second writes the header, then the rows. */
typedef struct {
	FILE *tmp;
	col_t *cols;
	uint32_t ncols, capcols;
	uint64_t lossy; /* values whose ttl or permissions CSV drops */
	char first_lossy[300];
} csvx_t;

static int col_of(csvx_t *x, const idn_value_t *v)
{
	for (uint32_t i = 0; i < x->ncols; i++)
		if (x->cols[i].index == v->index &&
		    idn_bytes_eq_str(v->type, x->cols[i].type))
			return (int)i;
	if (x->ncols == x->capcols) {
		uint32_t cap = x->capcols ? 2 * x->capcols : 16;
		col_t *c = realloc(x->cols, cap * sizeof(*c));
		if (c == NULL)
			return -1;
		x->cols = c;
		x->capcols = cap;
	}
	char *t = strndup((const char *)v->type.p, v->type.len);
	if (t == NULL)
		return -1;
	x->cols[x->ncols] = (col_t){v->index, t};
	return (int)x->ncols++;
}

/* Text CSV can carry: UTF-8 without control characters other than tab,
 * CR and LF (a multi-line cell). */
static bool csv_text(idn_bytes_t d)
{
	if (idn_utf8_check(d.p, d.len) != 0)
		return false;
	for (size_t i = 0; i < d.len; i++)
		if ((d.p[i] < 0x20 && d.p[i] != '\t' && d.p[i] != '\r' &&
		     d.p[i] != '\n') ||
		    d.p[i] == 0x7f)
			return false;
	return true;
}

/* The first pass for one record. Returns 0, or -1 after printing why. */
static int csv_collect(csvx_t *x, const char *id, const idn_values_body_t *b)
{
	json_t *row = json_array();
	json_array_append_new(row, json_string(id));
	char adm[4200];
	for (uint32_t i = 0; i < b->nvalues; i++) {
		const idn_value_t *v = &b->values[i];
		idn_bytes_t cell = v->data;
		if (idn_bytes_eq_str(v->type, "HS_ADMIN") &&
		    gb_admin_format(v->data, adm, sizeof(adm)) == 0) {
			cell = idn_bytes_str(adm);
		} else if (!csv_text(v->data)) {
			fprintf(stderr,
				"idctl: export: %s index %u (%.*s): data is "
				"not text, CSV cannot hold it (use --format "
				"jsonl)\n",
				id, v->index, (int)v->type.len, v->type.p);
			json_decref(row);
			return -1;
		}
		if (v->ttl != IDN_TTL_DEFAULT ||
		    v->ttl_type != IDN_TTL_RELATIVE ||
		    v->perms != IDN_PERM_DEFAULT || v->nrefs) {
			if (x->lossy++ == 0)
				snprintf(x->first_lossy, sizeof(x->first_lossy),
					 "%s index %u", id, v->index);
		}
		int c = col_of(x, v);
		if (c < 0) {
			json_decref(row);
			fprintf(stderr, "idctl: export: out of memory\n");
			return -1;
		}
		json_array_append_new(row, json_integer(c));
		json_array_append_new(row, jstr(cell));
	}
	char *s = json_dumps(row, JSON_COMPACT);
	json_decref(row);
	int rc = s && fprintf(x->tmp, "%s\n", s) >= 0 ? 0 : -1;
	free(s);
	if (rc)
		fprintf(stderr, "idctl: export: temporary file: %s\n",
			strerror(errno));
	return rc;
}

static int col_cmp(const void *a, const void *b)
{
	const col_t *x = *(col_t *const *)a, *y = *(col_t *const *)b;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return strcmp(x->type, y->type);
}

/* The second pass: header and rows, columns by index then type. */
static int csv_write(csvx_t *x, FILE *out, bool bom)
{
	col_t **order = calloc(x->ncols + 1, sizeof(*order));
	uint32_t *pos = calloc(x->ncols + 1, sizeof(*pos));
	const char **cells = calloc(x->ncols + 1, sizeof(*cells));
	size_t *lens = calloc(x->ncols + 1, sizeof(*lens));
	char *line = NULL;
	size_t cap = 0;
	int rc = -1;
	if (order == NULL || pos == NULL || cells == NULL || lens == NULL)
		goto out;
	for (uint32_t i = 0; i < x->ncols; i++)
		order[i] = &x->cols[i];
	qsort(order, x->ncols, sizeof(*order), col_cmp);
	for (uint32_t i = 0; i < x->ncols; i++)
		pos[order[i] - x->cols] = i;
	if (bom)
		fputs("\xef\xbb\xbf", out);
	fputs("handle", out);
	for (uint32_t i = 0; i < x->ncols; i++) {
		char h[1100];
		int k = snprintf(h, sizeof(h), "%u:%s", order[i]->index,
				 order[i]->type);
		fputc(',', out);
		csv_put_cell(out, h, k > 0 ? (size_t)k : 0);
	}
	fputs("\r\n", out);
	rewind(x->tmp);
	while (getline(&line, &cap, x->tmp) > 0) {
		json_error_t je;
		json_t *row = json_loads(line, 0, &je);
		if (!json_is_array(row)) {
			json_decref(row);
			goto out;
		}
		memset(cells, 0, x->ncols * sizeof(*cells));
		for (size_t i = 1; i + 1 < json_array_size(row); i += 2) {
			uint32_t c = (uint32_t)json_integer_value(
				json_array_get(row, i));
			json_t *cell = json_array_get(row, i + 1);
			cells[pos[c]] = json_string_value(cell);
			lens[pos[c]] = json_string_length(cell);
		}
		json_t *h = json_array_get(row, 0);
		csv_put_cell(out, json_string_value(h), json_string_length(h));
		for (uint32_t i = 0; i < x->ncols; i++) {
			fputc(',', out);
			if (cells[i])
				csv_put_cell(out, cells[i], lens[i]);
		}
		int e = fputs("\r\n", out);
		json_decref(row);
		if (e == EOF)
			goto out;
	}
	rc = ferror(x->tmp) ? -1 : 0;
out:
	free(order);
	free(pos);
	free(cells);
	free(lens);
	free(line);
	return rc;
}

/* ---- the export ---- */

static int jsonl_write(FILE *out, const idn_values_body_t *b)
{
	json_t *root = json_object();
	json_object_set_new(root, "handle", jstr(b->id));
	json_t *vals = json_array();
	for (uint32_t i = 0; i < b->nvalues; i++)
		json_array_append_new(vals, record_value_json(&b->values[i]));
	json_object_set_new(root, "values", vals);
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	int rc = s == NULL || fprintf(out, "%s\n", s) < 0 ? -1 : 0;
	free(s);
	return rc;
}

/* export's own options; -C and --timeout are global (cli.h) */
const ctl_optdef_t export_opts[] = {
	{"out", 'o', true},   {"format", 0, true}, {"bom", 0, false},
	{"help", 'h', false}, {NULL, 0, false},
};

int export_main(ctl_opts_t *o, int argc, char **argv)
{
	enum { O_FORMAT = 256, O_BOM };
	static const struct option lopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, O_FORMAT},
		{"bom", no_argument, NULL, O_BOM},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *sock = ctl_control_path(o), *out_path = NULL;
	int timeout_ms = ctl_timeout(o, 60000), c;
	bool csv = false, bom = false;
	optind = 0; /* a fresh scan: argv[0] is the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "csv") && strcmp(optarg, "jsonl")) {
				fprintf(stderr,
					"idctl: export: unknown --format '%s' "
					"(jsonl, csv)\n",
					optarg);
				return 2;
			}
			csv = !strcmp(optarg, "csv");
			break;
		case O_BOM:
			bom = true;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return 0;
		default:
			return ctl_opt_error("export", c, argv[optind - 1]);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "idctl: export needs exactly one PREFIX (see "
				"idctl export --help)\n");
		return 2;
	}
	const char *prefix = argv[optind];
	int status = 1;
	ctl_conn_t conn = {-1, NULL, 0};
	idlist_t l = {NULL, 0, 0, 0};
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t *buf = malloc(FRAME_CAP);
	FILE *out = stdout;
	csvx_t x;
	memset(&x, 0, sizeof(x));
	uint32_t ids[WINDOW];
	size_t sent = 0, done = 0, written = 0, gone = 0, empty = 0;
	if (buf == NULL)
		goto out;
	if (csv && (x.tmp = tmpfile()) == NULL) {
		fprintf(stderr, "idctl: export: temporary file: %s\n",
			strerror(errno));
		goto out;
	}
	int err = ctl_conn_open(&conn, sock, timeout_ms);
	if (err) {
		fprintf(stderr, "idctl: export: cannot connect to %s: %s\n",
			sock, idn_strerror(err));
		goto out;
	}
	if (fetch_list(&conn, prefix, buf, &l, &a) != 0)
		goto out;
	if (!csv && out_path && (out = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "idctl: export: cannot write %s: %s\n",
			out_path, strerror(errno));
		goto out;
	}
	while (done < l.n) {
		while (sent < l.n && sent - done < WINDOW) {
			err = send_resolve(&conn, buf, l.ids[sent],
					   &ids[sent % WINDOW]);
			if (err) {
				fprintf(stderr,
					"idctl: export: resolve %s: %s\n",
					l.ids[sent], idn_strerror(err));
				goto out;
			}
			sent++;
		}
		idn_env_t env;
		idn_msg_t m;
		err = ctl_recv(&conn, &env, &m);
		if (err || env.request_id != ids[done % WINDOW]) {
			fprintf(stderr, "idctl: export: resolve %s: %s\n",
				l.ids[done],
				err ? idn_strerror(err)
				    : "answer out of order");
			goto out;
		}
		const char *id = l.ids[done++];
		if (m.hdr.rc == IDN_RC_NOT_FOUND) {
			gone++; /* deleted since the listing */
			continue;
		}
		idn_values_body_t b = {idn_bytes_str(id), 0, NULL};
		idn_arena_reset(&a);
		/* a record whose values were all removed resolves to "values
		 * not found" (rc 200): it is exported with no values */
		if (m.hdr.rc == IDN_RC_VALUES_NOT_FOUND) {
			empty++;
		} else if (m.hdr.rc != IDN_RC_SUCCESS ||
			   idn_values_body_decode(m.rest, &a, &b) != 0) {
			fprintf(stderr,
				"idctl: export: resolve %s: %s (rc %u)\n", id,
				m.hdr.rc == IDN_RC_SUCCESS
					? "malformed reply"
					: import_rc_name(m.hdr.rc),
				m.hdr.rc);
			goto out;
		}
		if (csv) {
			if (csv_collect(&x, id, &b) != 0)
				goto out;
		} else if (jsonl_write(out, &b) != 0) {
			fprintf(stderr, "idctl: export: writing %s: %s\n",
				out_path ? out_path : "stdout",
				strerror(errno));
			goto out;
		}
		written++;
	}
	if (csv) {
		if (out_path && (out = fopen(out_path, "w")) == NULL) {
			fprintf(stderr, "idctl: export: cannot write %s: %s\n",
				out_path, strerror(errno));
			goto out;
		}
		if (csv_write(&x, out, bom) != 0) {
			fprintf(stderr, "idctl: export: writing %s: %s\n",
				out_path ? out_path : "stdout",
				strerror(errno));
			goto out;
		}
	}
	if (fflush(out) != 0) {
		fprintf(stderr, "idctl: export: writing %s: %s\n",
			out_path ? out_path : "stdout", strerror(errno));
		goto out;
	}
	fprintf(stderr, "exported %zu records of %s%s%s", written, prefix,
		out_path ? " to " : "", out_path ? out_path : "");
	if (empty)
		fprintf(stderr, " (%zu without values)", empty);
	if (gone)
		fprintf(stderr, " (%zu deleted while exporting)", gone);
	fputc('\n', stderr);
	if (x.lossy)
		fprintf(stderr,
			"idctl: export: warning: CSV dropped the ttl, "
			"permissions or references of %" PRIu64
			" values (first: %s); --format jsonl keeps them\n",
			x.lossy, x.first_lossy);
	status = 0;
out:
	if (out != stdout && out != NULL && fclose(out) != 0 && status == 0) {
		fprintf(stderr, "idctl: export: writing %s: %s\n", out_path,
			strerror(errno));
		status = 1;
	}
	if (x.tmp)
		fclose(x.tmp);
	for (uint32_t i = 0; i < x.ncols; i++)
		free(x.cols[i].type);
	free(x.cols);
	if (conn.buf)
		ctl_conn_close(&conn);
	for (size_t i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	free(buf);
	idn_arena_free(&a);
	return status;
}
