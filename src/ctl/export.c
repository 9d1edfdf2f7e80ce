/* idctl export: the records of a prefix as JSON Lines that idctl import
 * reads back unchanged (import.h).
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
#include "ident.h"
#include "value.h"
#include "value_out.h"
#include "wire.h"

#define FRAME_CAP (IDN_ENV_LEN + IDN_MSG_MAX)
#define WINDOW                                                                 \
	64 /* resolutions in flight: requests stay far below the               \
	    * socket buffer, so writing them never blocks on a node            \
	    * that is busy writing answers */

static const char export_usage[] =
	"usage: idctl -C SOCKET export PREFIX [-o FILE] [--timeout MS]\n"
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
	"$IDNODE_CONTROL), which sees non-public values too.\n"
	"\n"
	"  -o, --out FILE   write to FILE instead of stdout\n"
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

/* export's own options; -C and --timeout are global (cli.h) */
const ctl_optdef_t export_opts[] = {
	{"out", 'o', true},
	{"help", 'h', false},
	{NULL, 0, false},
};

int export_main(ctl_opts_t *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *sock = ctl_control_path(o), *out_path = NULL;
	int timeout_ms = ctl_timeout(o, 60000), c;
	optind = 0; /* a fresh scan: argv[0] is the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
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
	uint32_t ids[WINDOW];
	size_t sent = 0, done = 0, written = 0, gone = 0;
	if (buf == NULL)
		goto out;
	int err = ctl_conn_open(&conn, sock, timeout_ms);
	if (err) {
		fprintf(stderr, "idctl: export: cannot connect to %s: %s\n",
			sock, idn_strerror(err));
		goto out;
	}
	if (fetch_list(&conn, prefix, buf, &l, &a) != 0)
		goto out;
	if (out_path && (out = fopen(out_path, "w")) == NULL) {
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
		idn_values_body_t b;
		idn_arena_reset(&a);
		if (m.hdr.rc != IDN_RC_SUCCESS ||
		    idn_values_body_decode(m.rest, &a, &b) != 0) {
			fprintf(stderr,
				"idctl: export: resolve %s: %s (rc %u)\n", id,
				m.hdr.rc == IDN_RC_SUCCESS
					? "malformed reply"
					: import_rc_name(m.hdr.rc),
				m.hdr.rc);
			goto out;
		}
		json_t *root = json_object();
		json_object_set_new(root, "handle", jstr(b.id));
		json_t *vals = json_array();
		for (uint32_t i = 0; i < b.nvalues; i++)
			json_array_append_new(vals,
					      record_value_json(&b.values[i]));
		json_object_set_new(root, "values", vals);
		char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(root);
		if (s == NULL || fprintf(out, "%s\n", s) < 0) {
			free(s);
			fprintf(stderr, "idctl: export: writing %s: %s\n",
				out_path ? out_path : "stdout",
				strerror(errno));
			goto out;
		}
		free(s);
		written++;
	}
	if (fflush(out) != 0) {
		fprintf(stderr, "idctl: export: writing %s: %s\n",
			out_path ? out_path : "stdout", strerror(errno));
		goto out;
	}
	fprintf(stderr, "exported %zu records of %s%s%s", written, prefix,
		out_path ? " to " : "", out_path ? out_path : "");
	if (gone)
		fprintf(stderr, " (%zu deleted while exporting)", gone);
	fputc('\n', stderr);
	status = 0;
out:
	if (out != stdout && out != NULL && fclose(out) != 0 && status == 0) {
		fprintf(stderr, "idctl: export: writing %s: %s\n", out_path,
			strerror(errno));
		status = 1;
	}
	if (conn.buf)
		ctl_conn_close(&conn);
	for (size_t i = 0; i < l.n; i++)
		free(l.ids[i]);
	free(l.ids);
	free(buf);
	idn_arena_free(&a);
	return status;
}
