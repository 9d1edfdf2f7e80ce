/* idctl check and idctl backup: a store's integrity, offline, and a hot
 * copy made by the running node (idn_store_check, idn_store_backup). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctlutil.h"
#include "error.h"
#include "opcode.h"
#include "store.h"

typedef struct {
	bool json;
	json_t *items; /* --json: the damaged items */
} check_out_t;

/* Prints name with every byte outside printable ASCII as \xHH: a damaged
 * name may hold anything. */
static void print_name(FILE *fp, idn_bytes_t name)
{
	for (size_t i = 0; i < name.len; i++) {
		uint8_t c = name.p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, fp);
		else
			fprintf(fp, "\\x%02x", c);
	}
}

static int on_damage(void *ctx, const char *kind, idn_bytes_t name,
		     const char *what)
{
	check_out_t *out = ctx;
	if (!out->json) {
		printf("damaged %s ", kind);
		print_name(stdout, name);
		printf(": %s\n", what);
		return 0;
	}
	char *text = malloc(name.len * 4 + 1);
	if (text == NULL)
		return -ENOMEM;
	FILE *fp = fmemopen(text, name.len * 4 + 1, "w");
	if (fp == NULL) {
		free(text);
		return -ENOMEM;
	}
	print_name(fp, name);
	fclose(fp);
	json_array_append_new(out->items,
			      json_pack("{s:s, s:s, s:s}", "kind", kind, "name",
					text, "problem", what));
	free(text);
	return 0;
}

static int check_usage(void)
{
	return ctl_usage("usage: idctl check --data DIR [--json]%s", "");
}

int ctl_cmd_check(ctl_opts_t *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL;
	check_out_t out = {.json = o->json};
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 'J':
			out.json = true;
			break;
		case 'h':
			printf("usage: idctl check --data DIR [--json]\n"
			       "Reads every record, homed prefix and index "
			       "entry of the store in DIR\n"
			       "(read-only; the node may run) and names each "
			       "damaged one. Exit 0: clean,\n"
			       "1: damage found, 2: the store cannot be "
			       "read.\n");
			return 0;
		default:
			return check_usage();
		}
	}
	if (data == NULL || optind != argc)
		return check_usage();
	idn_store_opts_t so = {.path = data, .readonly = true};
	idn_store_t *s;
	int err = idn_store_open(&so, &s);
	if (err) {
		fprintf(stderr, "idctl check: cannot read the store %s: %s\n",
			data, idn_strerror(err));
		return 2;
	}
	out.items = json_array();
	idn_check_stat_t st;
	err = idn_store_check(s, on_damage, &out, &st);
	idn_store_close(s);
	if (err == IDN_EUNSUPPORTED) {
		json_decref(out.items);
		fprintf(stderr,
			"idctl check: %s is a PostgreSQL store, whose pages "
			"PostgreSQL checks itself (initdb --data-checksums; "
			"pg_checksums --check)\n",
			data);
		return 2;
	}
	if (err) {
		json_decref(out.items);
		fprintf(stderr, "idctl check: reading %s failed: %s\n", data,
			idn_strerror(err));
		return 2;
	}
	if (out.json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:b}",
				      "store", data, "records",
				      (json_int_t)st.records, "prefixes",
				      (json_int_t)st.prefixes, "index_entries",
				      (json_int_t)st.index, "damaged_count",
				      (json_int_t)st.damaged, "damaged",
				      out.items, "clean", st.damaged == 0);
		ctl_print_json(j);
		json_decref(j);
	} else {
		json_decref(out.items);
		printf("checked %llu records, %llu prefixes, %llu index "
		       "entries: %s\n",
		       (unsigned long long)st.records,
		       (unsigned long long)st.prefixes,
		       (unsigned long long)st.index,
		       st.damaged ? "DAMAGED" : "clean");
		if (st.damaged)
			printf("%llu damaged item(s) listed above\n",
			       (unsigned long long)st.damaged);
	}
	return st.damaged ? 1 : 0;
}

/* DIR made absolute: the node, not idctl, writes it. */
static int absolute(const char *dir, char *out, size_t cap)
{
	if (dir[0] == '/') {
		if (strlen(dir) >= cap)
			return -ENAMETOOLONG;
		snprintf(out, cap, "%s", dir);
		return 0;
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -errno;
	if ((size_t)snprintf(out, cap, "%s/%s", cwd, dir) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static int cmd_backup(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1)
		return ctl_usage("usage: idctl -C SOCKET backup DIR%s", "");
	char dir[PATH_MAX];
	int err = absolute(argv[0], dir, sizeof(dir));
	if (err) {
		fprintf(stderr, "idctl backup: %s: %s\n", argv[0],
			strerror(-err));
		return 2;
	}
	if (o->timeout_ms == 0)
		o->timeout_ms = 6 * 3600 * 1000; /* a copy takes its time */
	json_t *j;
	int st = ctl_json_op(o, "backup", IDN_OC_BACKUP, dir, a, &j);
	if (st)
		return st;
	if (o->json) {
		json_object_set_new(j, "dir", json_string(dir));
		ctl_print_json(j);
	} else {
		printf("backup written to %s: %lld records, %lld bytes in "
		       "%lld ms; the copy checks clean\n",
		       dir,
		       (long long)json_integer_value(
			       json_object_get(j, "records")),
		       (long long)json_integer_value(
			       json_object_get(j, "bytes")),
		       (long long)json_integer_value(json_object_get(j, "ms")));
	}
	json_decref(j);
	return 0;
}

int ctl_cmd_backup(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_backup);
}
