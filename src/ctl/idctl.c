/* idctl: resolve and administer identifiers on an idnode.
 *
 * Resolution goes over UDP (or TCP) to a node; administration goes over the
 * node's local control socket, whose file permissions are the access
 * control, or over the network answering the node's challenge. Human
 * output by default, --json for the handle.net JSON shape.
 *
 * This file is the command table and the one parser of the command line
 * (cli.h); the commands live in their own files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_cmd.h"
#include "bench.h"
#include "cert.h"
#include "cli.h"
#include "import.h"
#include "migrate.h"
#include "search_cmd.h"
#include "template_cmd.h"
#include "value.h"
#include "version.h"

/* ---- helpers shared by the commands (cli.h) ---- */

int ctl_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "idctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see idctl --help)\n");
	return 2;
}

int ctl_parse_u32(const char *s, size_t n, int base, uint32_t *out)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, base);
	if (*end || errno || v > 0xffffffffull || buf[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

const char *ctl_control_path(const ctl_opts_t *o)
{
	return o->control ? o->control : getenv("IDNODE_CONTROL");
}

int ctl_timeout(const ctl_opts_t *o, int dflt)
{
	return o->timeout_ms > 0 ? o->timeout_ms : dflt;
}

/* ---- the global options ---- */

enum {
	G_SERVER,
	G_CONTROL,
	G_TCP,
	G_JSON,
	G_TIMEOUT,
	G_GS1,
	G_OID,
	G_ECODE,
	G_AUTH,
	G_KEY,
	G_SECRET,
	G_PASSFILE,
	G_HELP,
	G_VERSION,
	G_TYPE,
	G_INDEX,
	G_PUBLIC,
	G_NO_RECURSION,
	G_TRACE,
	G_VERIFY,
	G_OVERWRITE,
	G_TEMPLATE,
	G_ADMIN,
	G_PERMS,
};

typedef struct {
	ctl_optdef_t def;
	int id;		  /* G_* */
	const char *arg;  /* the value's name in the help, or NULL */
	const char *help; /* one line */
} gopt_t;

static const gopt_t gopts[] = {
	{{"server", 's', true},
	 G_SERVER,
	 "HOST:PORT",
	 "the node (default " CTL_DEFAULT_SERVER "), over UDP unless --tcp"},
	{{"control", 'C', true},
	 G_CONTROL,
	 "PATH",
	 "the node's control socket (default $IDNODE_CONTROL)"},
	{{"tcp", 0, false}, G_TCP, NULL, "resolve over TCP"},
	{{"json", 0, false}, G_JSON, NULL, "output as JSON (handle.net's)"},
	{{"timeout", 0, true},
	 G_TIMEOUT,
	 "MS",
	 "per request (default 3000; bulk commands wait longer)"},
	{{"gs1-prefix", 0, true}, G_GS1, "P", "the prefix GS1 keys map under"},
	{{"oid-prefix", 0, true}, G_OID, "P", "the prefix OIDs map under"},
	{{"ecode-prefix", 0, true},
	 G_ECODE,
	 "P",
	 "the prefix Ecodes map under"},
	{{"auth", 0, true},
	 G_AUTH,
	 "ADMIN_ID:INDEX",
	 "administer over the network (-s) as this admin"},
	{{"key", 0, true},
	 G_KEY,
	 "FILE",
	 "its private key (PEM or HANDLE.NET .bin)"},
	{{"secret", 0, true},
	 G_SECRET,
	 "FILE",
	 "or its secret (an HS_SECKEY admin; FILE must be 0600)"},
	{{"passphrase-file", 0, true},
	 G_PASSFILE,
	 "F",
	 "the passphrase of an encrypted key"},
	{{"help", 'h', false}, G_HELP, NULL, "this text; COMMAND --help: one"},
	{{"version", 'V', false}, G_VERSION, NULL, "print the version"},
	/* the core commands' options, accepted anywhere as they always were */
	{{"type", 0, true}, G_TYPE, "T", "resolve: values of type T only"},
	{{"index", 0, true}, G_INDEX, "N", "resolve: value N only"},
	{{"public", 0, false}, G_PUBLIC, NULL, "resolve, search: public only"},
	{{"no-recursion", 0, false},
	 G_NO_RECURSION,
	 NULL,
	 "resolve: do not ask the node to recurse"},
	{{"trace", 0, false}, G_TRACE, NULL, "resolve: iteratively from -s"},
	{{"verify", 0, false},
	 G_VERIFY,
	 NULL,
	 "resolve: check the node's signature"},
	{{"overwrite", 0, false},
	 G_OVERWRITE,
	 NULL,
	 "create, add: replace what exists"},
	{{"template", 0, true},
	 G_TEMPLATE,
	 "NAME@VERSION",
	 "create, add, modify: bind a template"},
	{{"admin", 0, true},
	 G_ADMIN,
	 "ADMIN_ID:INDEX",
	 "admin grant|revoke; account add"},
	{{"perms", 0, true}, G_PERMS, "LIST", "admin grant|revoke"},
};

#define NGOPTS (sizeof(gopts) / sizeof(gopts[0]))

/* Sets global option id from value (NULL for a flag). Returns 0 or 2
 * after a one-line error. */
static int global_set(ctl_opts_t *o, int id, const char *v)
{
	uint32_t x;
	switch (id) {
	case G_SERVER:
		o->server = v;
		break;
	case G_CONTROL:
		o->control = v;
		break;
	case G_TCP:
		o->tcp = true;
		break;
	case G_JSON:
		o->json = true;
		break;
	case G_TIMEOUT:
		if (ctl_parse_u32(v, strlen(v), 10, &x) != 0 || x == 0 ||
		    x > 0x7fffffff)
			return ctl_usage("bad --timeout '%s'", v);
		o->timeout_ms = (int)x;
		break;
	case G_GS1:
		o->schemes.gs1 = v;
		break;
	case G_OID:
		o->schemes.oid = v;
		break;
	case G_ECODE:
		o->schemes.ecode = v;
		break;
	case G_AUTH:
		o->auth = v;
		break;
	case G_KEY:
		o->key_file = v;
		break;
	case G_SECRET:
		o->secret_file = v;
		break;
	case G_PASSFILE:
		o->passphrase_file = v;
		break;
	case G_TYPE:
		if (o->ntypes == CTL_MAX_ITEMS)
			return ctl_usage("too many --type%s", "");
		o->types[o->ntypes++] = idn_bytes_str(v);
		break;
	case G_INDEX:
		if (o->nindexes == CTL_MAX_ITEMS ||
		    ctl_parse_u32(v, strlen(v), 10, &x) != 0)
			return ctl_usage("bad --index '%s'", v);
		o->indexes[o->nindexes++] = x;
		break;
	case G_PUBLIC:
		o->public_only = true;
		break;
	case G_NO_RECURSION:
		o->no_recursion = true;
		break;
	case G_TRACE:
		o->trace = true;
		break;
	case G_VERIFY:
		o->verify = true;
		break;
	case G_OVERWRITE:
		o->overwrite = true;
		break;
	case G_TEMPLATE:
		o->tpl_ref = v;
		break;
	case G_ADMIN:
		o->admin_ref = v;
		break;
	case G_PERMS:
		o->perms = v;
		break;
	}
	return 0;
}

/* ---- the commands ---- */

static int run_migrate(ctl_opts_t *o, int argc, char **argv)
{
	(void)o;
	return migrate_main(argc, argv);
}

static const ctl_optdef_t resolve_opts[] = {
	{"verify-chain", 0, false},
	{"trust-root", 0, true},
	{NULL, 0, false},
};

static const ctl_optdef_t delegate_opts[] = {
	{"to", 0, true},	 {"mirror", 0, true}, {"ttl", 0, true},
	{"site-info", 0, false}, {NULL, 0, false},
};

static const ctl_optdef_t key_opts[] = {
	{"to", 0, true},
	{"out-passphrase-file", 0, true},
	{NULL, 0, false},
};

static const ctl_optdef_t verify_opts[] = {
	{"all", 0, false},
	{"sample", 0, true},
	{"parallel", 0, true},
	{NULL, 0, false},
};

static const ctl_optdef_t keygen_opts[] = {
	{"out", 0, true},  {"bits", 0, true}, {"type", 0, true},
	{"form", 0, true}, {NULL, 0, false},
};

#define VALUES_HELP                                                            \
	"VALUE is INDEX[,OPTION...]:TYPE=DATA, for example\n"                  \
	"  1:URL=https://example.com/p/1   2,ttl=3600:EMAIL=qa@example.com\n"  \
	"  100:HS_ADMIN=0.NA/88.118.8@300  (admin identifier @ index [#PERMS " \
	"hex])\n"                                                              \
	"  5:HS_PUBKEY=hex:0000000b...     (binary data as hex)\n"             \
	"OPTIONs: ttl=SECONDS, abs (ttl is an absolute expiry time), "         \
	"perms=HEX\n"                                                          \
	"(0x8 admin read, 0x4 admin write, 0x2 public read, 0x1 public "       \
	"write;\n"                                                             \
	"default 0xe), ref=ID@INDEX (repeatable; ID without ',' or ':').\n"

#define ADMIN_HELP                                                               \
	"Through the node's control socket (-C SOCKET or $IDNODE_CONTROL), or\n" \
	"over the network: -s HOST:PORT --auth ADMIN_ID:INDEX --key FILE\n"      \
	"[--passphrase-file F] or --secret FILE (the node challenges, idctl\n"   \
	"signs).\n"

static const ctl_cmd_t commands[] = {
	{"resolve", ctl_cmd_resolve, 0, resolve_opts,
	 "ID [--type T]... [--index N]... [--public] [--no-recursion] "
	 "[--trace] [--verify]",
	 "the values of ID (UDP to -s; --tcp; -C alone: the control socket)",
	 "Asks a recursive node to resolve unless --no-recursion; a referral\n"
	 "(rc 303/302) is shown with the delegated prefix and its servers, "
	 "exit 1.\n"
	 "ID may also be a GS1 key, element string or Digital Link URI, an "
	 "OID,\n"
	 "an Ecode, a doi: or hdl: URI: it is mapped to its canonical "
	 "identifier\n"
	 "under --gs1-prefix P, --oid-prefix P or --ecode-prefix P.\n"
	 "--verify asks for a reply signed by the node and checks it against "
	 "the\n"
	 "key the node publishes in its site. --trace resolves iteratively "
	 "from\n"
	 "-s as the root, printing every hop down the levels (all values).\n"
	 "--auth ADMIN_ID:INDEX with --key or --secret: resolve in a session "
	 "as\n"
	 "that admin, seeing what it may read.\n"
	 "resolve ID --verify-chain --trust-root ROOT.pem|ID:INDEX [--public]: "
	 "checks\n"
	 "the record's signatures and certificate chains up to a PEM key or "
	 "the\n"
	 "self-issued HS_CERT at ID:INDEX (idctl cert --help).\n"},
	{"siteinfo", ctl_cmd_siteinfo, 0, NULL, "",
	 "the node's own HS_SITE (GET_SITE_INFO)", NULL},
	{"create", ctl_cmd_write, CTL_ADMIN, NULL,
	 "ID VALUE... [--overwrite] [--template NAME@VERSION]",
	 "create a record (--overwrite replaces one)",
	 "--template NAME@VERSION adds the value "
	 "1001:TEMPLATE=NAME@VERSION (the national form; NAME alone: its\n"
	 "newest version that is not a draft):\n"
	 "the node validates the record against that template of its "
	 "prefix.\n" ADMIN_HELP VALUES_HELP},
	{"delete", ctl_cmd_write, CTL_ADMIN, NULL, "ID", "delete a record",
	 ADMIN_HELP},
	{"add", ctl_cmd_write, CTL_ADMIN, NULL, "ID VALUE... [--overwrite]",
	 "add values (--overwrite replaces indexes)", ADMIN_HELP VALUES_HELP},
	{"modify", ctl_cmd_write, CTL_ADMIN, NULL, "ID VALUE...",
	 "replace values by index", ADMIN_HELP VALUES_HELP},
	{"remove", ctl_cmd_write, CTL_ADMIN, NULL, "ID INDEX...",
	 "remove values by index", ADMIN_HELP},
	{"list", ctl_cmd_write, CTL_ADMIN, NULL, "PREFIX",
	 "list identifiers under PREFIX", ADMIN_HELP},
	{"home", ctl_cmd_write, CTL_ADMIN, NULL, "PREFIX",
	 "make the node authoritative for PREFIX", ADMIN_HELP},
	{"unhome", ctl_cmd_write, CTL_ADMIN, NULL, "PREFIX",
	 "stop serving PREFIX", ADMIN_HELP},
	{"homed", ctl_cmd_write, CTL_ADMIN, NULL, "", "list the homed prefixes",
	 ADMIN_HELP},
	{"checkpoint", ctl_cmd_write, CTL_ADMIN, NULL, "",
	 "ask the node for a dated backup under its backup-dir (op 1003, "
	 "HANDLE.NET's hdl-docheckpoint; backup and replication admins)",
	 ADMIN_HELP},
	{"delegate", ctl_cmd_delegate, CTL_NEEDS_CONTROL, delegate_opts,
	 "PREFIX --to HOST:PORT[,HOST:PORT...] [--mirror HOST:PORT[,...]]... "
	 "[--ttl SEC] [--site-info]",
	 "write the delegation record 0.NA/PREFIX",
	 "The record holds the HS_SITE of the primary site (1), one HS_SITE "
	 "per\n"
	 "mirror site (2, 3, ...) and HS_ADMIN (100); it replaces an existing "
	 "one.\n"
	 "--site-info: each HS_SITE as the site's first server answers "
	 "GET_SITE_INFO\n"
	 "(its servers' keys and interfaces, as HANDLE.NET publishes sites), "
	 "so that\n"
	 "clients can check the certified answers of the delegated prefix.\n"},
	{"undelegate", ctl_cmd_undelegate, CTL_NEEDS_CONTROL, NULL, "PREFIX",
	 "delete the delegation record 0.NA/PREFIX", NULL},
	{"verify-sites", ctl_cmd_verify_sites, 0, verify_opts,
	 "PREFIX --all|ID...|- [--sample N] [--parallel N] [--json]",
	 "compare a prefix's primary and mirror sites record by record",
	 "The sites are the HS_SITE values of 0.NA/PREFIX (and of the service\n"
	 "handles its HS_SERV values name), resolved from -s (the root or the\n"
	 "parent) down the delegations; the one flagged primary is compared\n"
	 "with every other. Each record is asked for at every site over TCP,\n"
	 "authoritatively and without recursion, from the server the site's\n"
	 "hash picks, N at a time (--parallel, default 16, at most 64), and\n"
	 "compared value "
	 "by value: index, type, data, ttl, permissions, timestamp, "
	 "references.\n"
	 "Public values only: a value no one may read anonymously is left "
	 "out.\n"
	 "Which records: ID... or - (one a line on stdin), or --all: those\n"
	 "LIST_HANDLES (op 105) gives, which needs an admin: --auth\n"
	 "ADMIN_ID:INDEX with --key FILE or --secret FILE lists every server "
	 "of\n"
	 "every site (records only a mirror holds are found too), -C SOCKET "
	 "the\n"
	 "primary when it is local. --sample N checks N of them picked at "
	 "random.\n"
	 "Prints per identifier and site: record missing, extra record, value\n"
	 "missing, extra value, value differs (in which fields), or an error\n"
	 "(unreachable server, rc); a server that cannot be connected to or\n"
	 "does not answer within --timeout is not asked again.\n"
	 "--json: {prefix, sites[], checked, agreeing, differing, errors,\n"
	 "seconds, rate, items[{handle, differences[{site, server, kind,\n"
	 "index, fields, rc, error}]}]}.\n"
	 "Exit status: 0 all sites agree, 1 differences, 2 errors reaching "
	 "sites\n"
	 "(or a usage error).\n"},
	{"import", import_main, CTL_NEEDS_CONTROL, import_opts,
	 "FILE|- [--format jsonl|csv] ...",
	 "bulk-create records from JSON Lines or CSV", NULL},
	{"export", export_main, CTL_NEEDS_CONTROL, export_opts,
	 "PREFIX [-o FILE]", "the records of PREFIX as JSON Lines", NULL},
	{"stats", ctl_cmd_stats, CTL_NEEDS_CONTROL, NULL, "",
	 "the node's request and cache counters", NULL},
	{"cache", ctl_cmd_cache, CTL_NEEDS_CONTROL, NULL,
	 "stats | flush [PREFIX]",
	 "the recursive node's cache: counters, or drop answers (under PREFIX)",
	 NULL},
	{"reload", ctl_cmd_reload, CTL_NEEDS_CONTROL, NULL, "",
	 "re-read the node's configuration, as SIGHUP does",
	 "Applies what can change while the node runs (log-level, rrl-*,\n"
	 "tcp-max-*, tcp-idle-timeout, the HTTP admin token file, read again\n"
	 "even under the same name) and names the options that differ but need\n"
	 "a restart; the node keeps their running values. Exits 1 when a new\n"
	 "value could not be used.\n"},
	{"template", template_main, CTL_NEEDS_CONTROL, template_opts,
	 "put|get|publish|withdraw|delete ...", "metadata templates", NULL},
	{"account", account_main, CTL_NEEDS_CONTROL, account_opts,
	 "add NAME --admin ADMIN_ID:INDEX | list | remove NAME",
	 "accounts of the SNMS token login (/identity/token)", NULL},
	{"search", search_main, CTL_NEEDS_NODE, search_opts,
	 "[--type T --data D] [--prefix P] [--since T1 --until T2] ...",
	 "find identifiers", NULL},
	{"index", index_main, CTL_NEEDS_CONTROL, index_opts,
	 "list | add TYPE | remove TYPE", "the value types search indexes",
	 NULL},
	{"admin", ctl_cmd_admin_perm, CTL_ADMIN, NULL,
	 "grant|revoke ID --admin ADMIN_ID:INDEX [--perms LIST]",
	 "add, widen, narrow or remove the HS_ADMIN of ID naming that admin",
	 "LIST: all, or of add_handle delete_handle add_prefix delete_prefix\n"
	 "modify_value remove_value add_value modify_admin remove_admin "
	 "add_admin\n"
	 "read_value list, comma-separated.\n" ADMIN_HELP},
	{"batch", ctl_cmd_batch, CTL_NEEDS_SESSION, NULL, "[FILE]",
	 "admin commands, one a line, over one authenticated session",
	 "Lines: create|add|modify|remove|delete ... as on the command line;\n"
	 "blank lines and # comments skipped. Needs -s HOST:PORT, --auth\n"
	 "ADMIN_ID:INDEX and --key FILE or --secret FILE.\n"
	 "A HANDLE.NET batch file (CNRI's GenericBatch format: CREATE, ADD,\n"
	 "MODIFY, REMOVE, DELETE, HOME, UNHOME blocks) is recognised by its\n"
	 "first operation; its AUTHENTICATE PUBKEY blocks name a PEM private\n"
	 "key (FILE or FILE|PASSPHRASE), SECKEY blocks the secret, and stand\n"
	 "in for --auth and --key/--secret.\n"},
	{"keygen", ctl_cmd_keygen, 0, keygen_opts,
	 "--out FILE [--type rsa|sm2] [--form raw|national] [--bits N]\n"
	 "       [--passphrase-file F]",
	 "make an admin key",
	 "Writes FILE (PEM, 0600, AES-256 encrypted with a passphrase) and\n"
	 "FILE.pub (HS_PUBKEY data, 0600), printed as hex. --form national\n"
	 "writes an SM2 public key as the national system's SM2_PUB_KEY\n"
	 "(a DER SubjectPublicKeyInfo, which the IDIS SDK reads) instead of\n"
	 "the raw point; idnode reads both.\n"},
	{"key", ctl_cmd_key, 0, key_opts,
	 "convert IN OUT [--to pem|cnri] [--out-passphrase-file F]",
	 "convert a private key between PEM and HANDLE.NET's key files",
	 "IN is PEM or a HANDLE.NET key file (admpriv.bin, privkey.bin), read\n"
	 "with --passphrase-file F when encrypted (else asked). OUT (created\n"
	 "0600, never overwritten) gets the other format, or the one --to\n"
	 "names: PEM (AES-256 under --out-passphrase-file F) or cnri (a\n"
	 "HANDLE.NET 7 key file; DES under that passphrase, the only\n"
	 "encryption HANDLE.NET 7 reads). Every --key takes either format.\n"},
	{"cert", cert_main, 0, cert_opts,
	 "issue --issuer ID:INDEX --key FILE --subject ID:INDEX ...",
	 "issue an HS_CERT token", NULL},
	{"sign", cert_main, 0, cert_opts,
	 "ID --signer ID:INDEX --key FILE [--form national|idnode]",
	 "store an HS_SIGNATURE over a record's values", NULL},
	{"populate", bench_populate_main, CTL_RAW, NULL,
	 "--data DIR --prefix P --count N",
	 "fill a store directly (benchmarks)", NULL},
	{"bench", bench_main, CTL_RAW, NULL,
	 "-s HOST:PORT --prefix P --count N", "UDP/TCP load generator", NULL},
	{"migrate", run_migrate, CTL_RAW, NULL, "--from SRC --to DST",
	 "copy a node's data between stores", NULL},
	{"check", ctl_cmd_check, CTL_RAW, NULL, "--data DIR [--json]",
	 "check every record of a store offline; exit 1 names damage", NULL},
	{"changes", ctl_cmd_changes, CTL_RAW, NULL,
	 "--data STORE [--since ID|--last N] [--limit N] [--name ID] [--json]",
	 "the store's change log: every committed change, who made it, when",
	 "Reads the store read-only (the node may run): LMDB directory or\n"
	 "PostgreSQL URI. Without --since, the newest 50 (--last N).\n"},
	{"backup", ctl_cmd_backup, CTL_NEEDS_CONTROL, NULL, "DIR",
	 "a consistent, compacted hot copy of the node's store",
	 "The node writes DIR (made if missing; it must hold no store) while\n"
	 "writes go on, then opens the copy and checks every record; a node\n"
	 "starts on it as it is. A PostgreSQL node answers with how to copy\n"
	 "its database instead (pg_basebackup, pg_dump, idctl migrate).\n"},
	{"replication", ctl_cmd_replication, CTL_NEEDS_CONTROL, NULL,
	 "status [--json]", "the node's replication role and sources' state",
	 "On a mirror, per source: dumping, following, behind or error (with\n"
	 "its reason), the last applied and the source's txn ids, the lag in\n"
	 "txns and in ms (source commit to applied here). Exits 1 when a\n"
	 "source is in error.\n"},
	{"repair", ctl_cmd_repair, CTL_NEEDS_CONTROL, NULL, "[--json]",
	 "a mirror's damaged records replaced from its source",
	 "The node checks its store (as idctl check does) and takes its\n"
	 "source's copy: each damaged record is replaced by the source's, or\n"
	 "deleted when the source has none; the follower's position stays.\n"
	 "Prints checked, damaged, repaired, deleted and what failed; exits 1\n"
	 "when something is not repaired. A node that is not a mirror\n"
	 "refuses: restore it from a backup or re-import its records.\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const ctl_cmd_t *command_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* ---- help ---- */

static void print_usage(void)
{
	printf("usage: idctl [GLOBAL OPTION...] COMMAND [ARG...]\n"
	       "       idctl COMMAND --help   (one command)\n"
	       "\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const ctl_cmd_t *c = &commands[i];
		char head[256];
		snprintf(head, sizeof(head), "%s %s", c->name, c->synopsis);
		if (strlen(head) <= 24)
			printf("  %-24s %s\n", head, c->summary);
		else
			printf("  %s\n  %-24s %s\n", head, "", c->summary);
	}
	printf("\nglobal options (before or after the command):\n");
	for (size_t i = 0; i < NGOPTS; i++) {
		const gopt_t *g = &gopts[i];
		char head[64];
		char sn = g->def.short_name;
		snprintf(head, sizeof(head), "%c%c%c --%s%s%s", sn ? '-' : ' ',
			 sn ? sn : ' ', sn ? ',' : ' ', g->def.name,
			 g->arg ? " " : "", g->arg ? g->arg : "");
		if (g->id == G_TYPE)
			printf("options of the core commands (anywhere on the "
			       "line too):\n");
		printf("  %-30s %s\n", head, g->help);
	}
	printf("\n" VALUES_HELP
	       "\nExit status: 0 success, 1 the node refused or failed, 2 "
	       "usage error.\n");
}

static int command_help(const ctl_cmd_t *c)
{
	printf("usage: idctl [GLOBAL OPTION...] %s %s\n\n%s\n", c->name,
	       c->synopsis, c->summary);
	if (c->help)
		printf("\n%s", c->help);
	printf("\nGlobal options: idctl --help. Exit status: 0 success, 1 the "
	       "node refused or failed, 2 usage error.\n");
	return 0;
}

/* ---- the parser ---- */

/* Whether arg is option d: "--name", "--name=VALUE", "-c" or "-cVALUE";
 * *inl gets an inline value, else NULL. */
static bool opt_match(const ctl_optdef_t *d, const char *arg, const char **inl)
{
	*inl = NULL;
	if (arg[1] == '-') {
		size_t n = strlen(d->name);
		if (strncmp(arg + 2, d->name, n) != 0)
			return false;
		if (arg[2 + n] == '=' && d->value)
			*inl = arg + 3 + n;
		return arg[2 + n] == 0 || *inl != NULL;
	}
	if (d->short_name == 0 || arg[1] != d->short_name)
		return false;
	if (arg[2] != 0 && d->value)
		*inl = arg + 2;
	return arg[2] == 0 || *inl != NULL;
}

static const ctl_optdef_t *opt_in(const ctl_optdef_t *defs, const char *arg,
				  const char **inl)
{
	for (size_t i = 0; defs != NULL && defs[i].name != NULL; i++)
		if (opt_match(&defs[i], arg, inl))
			return &defs[i];
	return NULL;
}

static const gopt_t *opt_global(const char *arg, const char **inl)
{
	for (size_t i = 0; i < NGOPTS; i++)
		if (opt_match(&gopts[i].def, arg, inl))
			return &gopts[i];
	return NULL;
}

/* A global option or one of any command: what an option before the
 * command may be. */
static const ctl_optdef_t *opt_any(const char *arg, const char **inl)
{
	const gopt_t *g = opt_global(arg, inl);
	if (g != NULL)
		return &g->def;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const ctl_optdef_t *d = opt_in(commands[i].opts, arg, inl);
		if (d != NULL)
			return d;
	}
	return NULL;
}

static bool is_option(const char *a)
{
	return a[0] == '-' && a[1] != 0;
}

/* The position of the command word in argv (the first argument that is
 * neither an option nor an option's value), 0 when there is none, or -2
 * after a usage error. */
static int find_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *inl;
		if (!strcmp(a, "--"))
			return i + 1 < argc ? i + 1 : 0;
		if (!is_option(a))
			return i;
		const ctl_optdef_t *d = opt_any(a, &inl);
		if (d == NULL) {
			ctl_usage("unknown option '%s'", a);
			return -2;
		}
		if (d->value && inl == NULL && ++i == argc) {
			ctl_usage("option '%s' needs a value", a);
			return -2;
		}
	}
	return 0;
}

/* An option the command does not know: naming the command it belongs to,
 * when one has it. Returns 2. */
static int foreign_option(const ctl_cmd_t *c, const char *arg)
{
	const char *inl;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (opt_in(commands[i].opts, arg, &inl) != NULL) {
			fprintf(stderr,
				"idctl: %s: option '%s' belongs to %s, not %s "
				"(see idctl %s --help)\n",
				c->name, arg, commands[i].name, c->name,
				c->name);
			return 2;
		}
	return ctl_opt_error(c->name, '?', arg);
}

/* The command's words: its name, its own options (as "--name" and the
 * value as the next word) and arguments; NULL-terminated. */
typedef struct {
	char **v;
	int n;
	idn_arena_t *a;
} words_t;

static int words_add(words_t *w, const char *s)
{
	w->v[w->n++] = (char *)s;
	w->v[w->n] = NULL;
	return 0;
}

static int words_add_opt(words_t *w, const ctl_optdef_t *d)
{
	size_t n = strlen(d->name) + 3;
	char *s = idn_arena_alloc(w->a, n);
	if (s == NULL)
		return 1;
	snprintf(s, n, "--%s", d->name);
	return words_add(w, s);
}

/* Applies every global option of argv to o and collects the command's
 * words. Returns 0, or 2 after a usage error. *help: --help was given
 * and is not the command's own. */
static int split_args(int argc, char **argv, int at, const ctl_cmd_t *c,
		      ctl_opts_t *o, words_t *w, bool *help, bool *version)
{
	bool raw = c->flags & CTL_RAW, rest = false;
	words_add(w, c->name);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *inl = NULL;
		if (i == at)
			continue;
		if (rest || (raw && i > at) || !is_option(a)) {
			if (!strcmp(a, "--") && !rest && !(raw && i > at))
				rest = true;
			else
				words_add(w, a);
			continue;
		}
		const ctl_optdef_t *d = opt_in(c->opts, a, &inl);
		const gopt_t *g = d ? NULL : opt_global(a, &inl);
		if (d == NULL && g == NULL)
			return foreign_option(c, a);
		const ctl_optdef_t *def = d ? d : &g->def;
		const char *v = inl;
		if (def->value && v == NULL) {
			if (i + 1 == argc || i + 1 == at)
				return ctl_opt_error(c->name, ':', a);
			v = argv[++i];
		}
		if (d != NULL && !strcmp(d->name, "help")) {
			*help = true;
		} else if (d != NULL) {
			if (words_add_opt(w, d) || (v && words_add(w, v)))
				return 1;
		} else if (g->id == G_HELP) {
			*help = true;
		} else if (g->id == G_VERSION) {
			*version = true;
		} else if (global_set(o, g->id, v) != 0) {
			return 2;
		}
	}
	return 0;
}

/* What the command needs of the options (CTL_* flags). Returns 0 or 2
 * after a one-line error. */
static int check_needs(const ctl_cmd_t *c, const ctl_opts_t *o)
{
	const char *sock = ctl_control_path(o);
	bool cred = (o->key_file == NULL) != (o->secret_file == NULL);
	if ((c->flags & (CTL_ADMIN | CTL_NEEDS_SESSION)) && o->auth != NULL &&
	    (o->server == NULL || !cred))
		return ctl_usage("--auth needs -s HOST:PORT and either --key "
				 "FILE or --secret FILE%s",
				 "");
	/* a HANDLE.NET batch file may carry its own AUTHENTICATE */
	if ((c->flags & CTL_NEEDS_SESSION) && o->server == NULL)
		return ctl_usage("batch needs -s HOST:PORT (and --auth "
				 "ADMIN_ID:INDEX with --key FILE or --secret "
				 "FILE unless the file authenticates)%s",
				 "");
	if ((c->flags & CTL_ADMIN) && o->auth == NULL && sock == NULL) {
		fprintf(stderr,
			"idctl: %s needs the node's control socket: -C PATH or "
			"IDNODE_CONTROL, or --auth with -s\n",
			c->name);
		return 2;
	}
	if ((c->flags & CTL_NEEDS_CONTROL) && sock == NULL) {
		fprintf(stderr,
			"idctl: %s needs the node's control socket: -C PATH or "
			"IDNODE_CONTROL\n",
			c->name);
		return 2;
	}
	if ((c->flags & CTL_NEEDS_NODE) && sock == NULL && o->server == NULL) {
		fprintf(stderr,
			"idctl: %s needs -C SOCKET (or IDNODE_CONTROL) or -s "
			"HOST:PORT\n",
			c->name);
		return 2;
	}
	return 0;
}

int ctl_run_command(ctl_opts_t *o, int argc, char **argv)
{
	const ctl_cmd_t *c = command_find(argv[0]);
	if (c == NULL)
		return ctl_usage("unknown command '%s'", argv[0]);
	int rc = check_needs(c, o);
	return rc ? rc : c->run(o, argc, argv);
}

int ctl_run_in_arena(ctl_opts_t *o, int argc, char **argv,
		     int (*cmd)(ctl_opts_t *o, int argc, char **argv,
				idn_arena_t *a))
{
	idn_arena_t a;
	idn_arena_init(&a, 0);
	int rc = cmd(o, argc - 1, argv + 1, &a);
	idn_arena_free(&a);
	return rc;
}

/* The command's own --help, when it has one (its options list "help"). */
static bool own_help(const ctl_cmd_t *c)
{
	const char *inl;
	return (c->flags & CTL_RAW) || opt_in(c->opts, "--help", &inl);
}

int main(int argc, char **argv)
{
	static ctl_opts_t o;
	int at = find_command(argc, argv);
	if (at < 0)
		return 2;
	const ctl_cmd_t *c = at ? command_find(argv[at]) : NULL;
	if (at && c == NULL)
		return ctl_usage("unknown command '%s'", argv[at]);
	if (c == NULL) {
		/* only options: --help, --version or a mistake */
		for (int i = 1; i < argc; i++) {
			const char *inl;
			const gopt_t *g = opt_global(argv[i], &inl);
			if (g && g->id == G_HELP) {
				print_usage();
				return 0;
			}
			if (g && g->id == G_VERSION) {
				printf("idctl %s\n", IDN_VERSION);
				return 0;
			}
		}
		return ctl_usage("no command given%s", "");
	}
	idn_arena_t a;
	idn_arena_init(&a, 0);
	words_t w = {idn_arena_array(&a, (size_t)argc + 2, sizeof(char *)), 0,
		     &a};
	bool help = false, version = false;
	int rc = w.v == NULL ? 1
			     : split_args(argc, argv, at, c, &o, &w, &help,
					  &version);
	if (rc == 0 && version)
		printf("idctl %s\n", IDN_VERSION);
	else if (rc == 0 && help && !own_help(c))
		rc = command_help(c);
	else if (rc == 0 && help)
		rc = c->run(&o, 2, (char *[]){(char *)c->name, "--help", NULL});
	else if (rc == 0)
		rc = ctl_run_command(&o, w.n, w.v);
	idn_arena_free(&a);
	return rc;
}
