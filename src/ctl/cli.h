/* idctl's command line: the options every command sees, the command table
 * and the helpers its commands share.
 *
 * idctl.c holds the table (one row per command: name, handler, the
 * command's own options, what it needs, its help) and the one parser of
 * the command line: it finds the command, applies the global options
 * wherever they stand, and hands the command only its own options and
 * arguments (argv[0] the command's name), as Knot's knotc does. */
#ifndef IDN_CTL_CLI_H
#define IDN_CTL_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ctlutil.h"
#include "msg.h"
#include "scheme.h"
#include "wire.h"

#define CTL_MAX_ITEMS 2048

/* The default timeout of one request, when --timeout is not given. */
#define CTL_TIMEOUT_MS 3000

/* The default node, for resolution and the network. */
#define CTL_DEFAULT_SERVER "127.0.0.1:2641"

/* The global options, parsed once for the whole command line. The
 * options of the core commands (resolve; create, add, modify; admin
 * grant|revoke) have always been accepted anywhere on the line and are
 * kept here too: a command that does not use one ignores it. Strings
 * point into argv. */
typedef struct {
	const char *server;  /* -s HOST:PORT */
	const char *control; /* -C PATH (IDNODE_CONTROL: ctl_control_path) */
	bool tcp;
	bool json;
	int timeout_ms; /* --timeout MS; 0: the command's own default */
	idn_scheme_map_t
		schemes;      /* --gs1-prefix, --oid-prefix, --ecode-prefix */
	const char *auth;     /* --auth ADMIN_ID:INDEX: administer over TCP */
	const char *key_file; /* --key FILE: the admin's private key (PEM) */
	const char
		*secret_file; /* --secret FILE: an HS_SECKEY admin's secret */
	const char *passphrase_file; /* --passphrase-file F: of --key */
	/* resolve */
	bool public_only;
	bool no_recursion;
	bool trace;
	bool verify; /* --verify: ask for a signed reply and check it */
	uint32_t indexes[CTL_MAX_ITEMS];
	uint32_t nindexes;
	idn_bytes_t types[CTL_MAX_ITEMS];
	uint32_t ntypes;
	/* create, add, modify */
	bool overwrite;
	const char *tpl_ref; /* --template NAME@VERSION */
	/* admin grant|revoke */
	const char *admin_ref; /* --admin ADMIN_ID:INDEX */
	const char *perms;     /* --perms LIST */
} ctl_opts_t;

/* An option of one command: long name without "--", short letter (0:
 * none), whether it takes a value. Tables end with a NULL name. */
typedef struct {
	const char *name;
	char short_name;
	bool value;
} ctl_optdef_t;

/* A command's handler: argc/argv hold the command's name and then only its
 * own options (each value a separate word) and arguments, in the order
 * given. Returns the exit status: 0 success, 1 failure, 2 usage error. */
typedef int (*ctl_run_t)(ctl_opts_t *o, int argc, char **argv);

enum {
	/* needs the node's control socket (-C or IDNODE_CONTROL) */
	CTL_NEEDS_CONTROL = 1 << 0,
	/* administration: the control socket, or --auth with -s and either
	 * --key or --secret */
	CTL_ADMIN = 1 << 1,
	/* needs -s, --auth and --key or --secret (one session) */
	CTL_NEEDS_SESSION = 1 << 2,
	/* the control socket or -s */
	CTL_NEEDS_NODE = 1 << 3,
	/* parses everything after its name itself (its own getopt table);
	 * only global options may precede it */
	CTL_RAW = 1 << 4,
};

typedef struct {
	const char *name;
	ctl_run_t run;
	unsigned flags;		  /* CTL_* */
	const ctl_optdef_t *opts; /* its own options, or NULL */
	const char *synopsis;	  /* arguments, for the usage line */
	const char *summary;	  /* one line for idctl --help */
	const char *help;	  /* more for idctl CMD --help, or NULL */
} ctl_cmd_t;

/* ---- shared helpers (idctl.c) ---- */

/* Prints "idctl: " fmt (with arg) " (see idctl --help)" on stderr and
 * returns 2, the exit status of a usage error. */
int ctl_usage(const char *fmt, const char *arg);

/* A decimal or hex (base) number of n bytes of s, at most UINT32_MAX.
 * Returns 0 or -1. */
int ctl_parse_u32(const char *s, size_t n, int base, uint32_t *out);

/* -C, else $IDNODE_CONTROL, else NULL. */
const char *ctl_control_path(const ctl_opts_t *o);

/* --timeout, or the command's default. */
int ctl_timeout(const ctl_opts_t *o, int dflt);

/* Runs the command argv[0] of the table with these options, as if it
 * had been given on the command line (argv: its own options and
 * arguments, NULL-terminated): checks what it needs, then runs it.
 * Returns the exit status. */
int ctl_run_command(ctl_opts_t *o, int argc, char **argv);

/* Runs cmd over a command's own arguments (argv[1..argc-1]) with an
 * arena that lives for the call. Returns what cmd returns. */
int ctl_run_in_arena(ctl_opts_t *o, int argc, char **argv,
		     int (*cmd)(ctl_opts_t *o, int argc, char **argv,
				idn_arena_t *a));

/* ctl_call and ctl_call_one with the timeout of o (ctlutil.h). */
static inline int ctl_node_call(const ctl_opts_t *o, int transport,
				const char *where, uint32_t op, uint32_t flags,
				const uint8_t *body, size_t blen, ctl_call_t *c)
{
	return ctl_call(transport, where, ctl_timeout(o, CTL_TIMEOUT_MS), op,
			flags, body, blen, c);
}

static inline int ctl_node_call_one(const ctl_opts_t *o, int transport,
				    const char *where, uint32_t op,
				    uint32_t flags, const idn_wr_t *body,
				    const char *cmd, const char *id,
				    idn_arena_t *a, const idn_msg_t **out)
{
	return ctl_call_one(transport, where, ctl_timeout(o, CTL_TIMEOUT_MS),
			    op, flags, body, cmd, id, a, out);
}

/* Sends op (flags, body) to server over TCP as the admin of o->auth
 * (ADMIN_ID:INDEX) with o->key_file or o->secret_file: a challenge is
 * answered on a new connection, whose replies go to c. Returns 0, a
 * transport error, or IDN_EINVAL after a one-line message (a bad --auth,
 * a key that does not load). (write_cmd.c) */
int ctl_call_auth(const ctl_opts_t *o, const char *server, uint32_t op,
		  uint32_t flags, const uint8_t *body, size_t blen,
		  ctl_call_t *c);

/* ---- the core commands ---- */

/* resolve_cmd.c */
int ctl_cmd_resolve(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_siteinfo(ctl_opts_t *o, int argc, char **argv);

/* write_cmd.c: create, delete, add, modify, remove, list, home, unhome,
 * homed (argv[0] names which), batch, admin grant|revoke, keygen */
int ctl_cmd_write(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_batch(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_admin_perm(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_keygen(ctl_opts_t *o, int argc, char **argv);
/* key convert IN OUT: PEM <-> HANDLE.NET key files (keys.h) */
int ctl_cmd_key(ctl_opts_t *o, int argc, char **argv);

/* hier_cmd.c: delegate, undelegate, stats, cache, reload */
int ctl_cmd_delegate(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_undelegate(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_stats(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_cache(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_reload(ctl_opts_t *o, int argc, char **argv);
/* Sends a control op whose body is an identifier string and whose reply
 * is one string holding a JSON object; *out gets the object. Returns the
 * exit status. */
int ctl_json_op(ctl_opts_t *o, const char *cmd, uint32_t op, const char *arg,
		idn_arena_t *a, json_t **out);

/* store_cmd.c: check (offline), backup (through the node) */
int ctl_cmd_check(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_backup(ctl_opts_t *o, int argc, char **argv);

/* changes_cmd.c: the store's change log, read offline */
int ctl_cmd_changes(ctl_opts_t *o, int argc, char **argv);

/* verify_cmd.c: verify-sites */
int ctl_cmd_verify_sites(ctl_opts_t *o, int argc, char **argv);
/* repl_cmd.c: replication status, repair (through the node) */
int ctl_cmd_replication(ctl_opts_t *o, int argc, char **argv);
int ctl_cmd_repair(ctl_opts_t *o, int argc, char **argv);

#endif
