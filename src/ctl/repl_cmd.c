/* idctl replication status [--json]: the node's replication role and, on
 * a mirror, each source's state; idctl repair [--json]: a mirror's damaged
 * records replaced from its source (docs/replication.md). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctlutil.h"
#include "opcode.h"

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int cmd_replication(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	if (argc != 1 || strcmp(argv[0], "status") != 0)
		return ctl_usage("usage: idctl -C SOCKET replication status "
				 "[--json]%s",
				 "");
	json_t *j;
	int st = ctl_json_op(o, "replication status", IDN_OC_REPL_STATUS, "", a,
			     &j);
	if (st)
		return st;
	if (o->json) {
		ctl_print_json(j);
		json_decref(j);
		return 0;
	}
	json_t *srcs = json_object_get(j, "sources");
	printf("role: %s (replication admins: %lld)\n",
	       json_string_value(json_object_get(j, "role")),
	       num(j, "replication_admins"));
	size_t i;
	json_t *s;
	int bad = 0;
	json_array_foreach(srcs, i, s)
	{
		const char *state =
			json_string_value(json_object_get(s, "state"));
		const char *why =
			json_string_value(json_object_get(s, "reason"));
		printf("source %s: %s%s%s\n  last applied txn %lld, source txn "
		       "%lld, behind %lld txns, lag %lld ms, applied %lld, "
		       "copies %lld\n",
		       json_string_value(json_object_get(s, "source")), state,
		       why && *why ? ": " : "", why ? why : "",
		       num(s, "last_applied_txn"), num(s, "source_txn"),
		       num(s, "lag_txns"), num(s, "lag_ms"), num(s, "applied"),
		       num(s, "dumps"));
		bad |= state && !strcmp(state, "error");
	}
	json_decref(j);
	return bad;
}

int ctl_cmd_replication(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_replication);
}

static int cmd_repair(ctl_opts_t *o, int argc, char **argv, idn_arena_t *a)
{
	(void)argv;
	if (argc != 0)
		return ctl_usage("usage: idctl -C SOCKET repair [--json]%s",
				 "");
	if (o->timeout_ms == 0)
		o->timeout_ms = 6 * 3600 * 1000; /* the source's whole copy */
	json_t *j;
	int st = ctl_json_op(o, "repair", IDN_OC_REPAIR, "", a, &j);
	if (st)
		return st;
	json_t *failed = json_object_get(j, "failed");
	long long nfailed = num(j, "failed_count");
	if (o->json) {
		ctl_print_json(j);
	} else {
		printf("checked %lld records: %lld damaged, %lld repaired, "
		       "%lld deleted (the source has none), %lld restored "
		       "(missing here), %lld failed\n",
		       num(j, "checked"), num(j, "damaged"), num(j, "repaired"),
		       num(j, "deleted"), num(j, "restored"), nfailed);
		size_t i;
		json_t *f;
		json_array_foreach(failed, i, f)
		{
			printf("failed %s %s: %s\n",
			       json_string_value(json_object_get(f, "kind")),
			       json_string_value(json_object_get(f, "name")),
			       json_string_value(json_object_get(f, "reason")));
		}
		if (nfailed > (long long)json_array_size(failed))
			printf("(%lld more not listed; the node's log names "
			       "them)\n",
			       nfailed - (long long)json_array_size(failed));
	}
	json_decref(j);
	return nfailed ? 1 : 0;
}

int ctl_cmd_repair(ctl_opts_t *o, int argc, char **argv)
{
	return ctl_run_in_arena(o, argc, argv, cmd_repair);
}
