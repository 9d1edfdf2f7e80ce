/* idnode configuration: defaults, then the config file (-c), then command
 * line flags, each overriding the one before.
 *
 * Every option is one row of a schema (config.c, like Knot DNS's
 * conf/schema.c): its name (the long flag and the config-file key), short
 * flag, type, place in node_conf_t, bounds, default and help. The usage
 * text, the defaults, the file keys and the getopt table all come from
 * it: adding an option is adding a row and its field. */
#ifndef IDN_NODE_CONFIG_H
#define IDN_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_MAX_LISTEN 16
#define CONF_MAX_HOME 64

typedef struct {
	char data[1024];	/* LMDB environment directory */
	char store[1024];	/* PostgreSQL URI; "" = LMDB */
	char replicas[8][1024]; /* read-only PostgreSQL replicas */
	int nreplicas;
	char control[108];	     /* control socket path */
	char server_key[1024];	     /* PEM key signing replies */
	char min_auth_hash[16];	     /* md5, sha1, sha256 (nego.h) */
	char server_admins[16][256]; /* ADMIN:INDEX, node-level ops */
	int nserver_admins;
	char listen[CONF_MAX_LISTEN][128]; /* ADDR:PORT, UDP and TCP */
	int nlisten;
	char home[CONF_MAX_HOME][256]; /* prefixes homed at start */
	int nhome;
	int workers; /* 0: one per core */
	int log_level;
	int log_format;		    /* LOG_TEXT or LOG_JSON (log.h) */
	char audit_log[1024];	    /* JSON lines of writes and failed logins;
				     * "" = none (audit.h) */
	bool audit_required;	    /* no audit line, no write */
	uint64_t map_size;	    /* LMDB map reservation */
	uint32_t changelog_max_age; /* seconds; 0: no age limit */
	uint32_t changelog_max_entries; /* 0: no count limit */
	char backup_dir[1024];	   /* op 1003's copies; "" = DATA/backups */
	int backup_keep;	   /* newest copies kept there; 0: all */
	bool case_suffix;	   /* suffixes case-sensitive */
	uint32_t udp_reply_max;	   /* larger UDP replies: truncated */
	int tcp_idle_timeout;	   /* seconds */
	uint32_t session_lifetime; /* seconds, admin sessions */
	bool read_challenge;	   /* challenge anonymous reads of
				    * restricted values */
	int tcp_max_conns;	   /* per worker */
	int tcp_max_per_source;	   /* per worker and source address */
	int tcp_max_per_network;   /* per worker and /24 or /56 network */
	int tcp_message_timeout;   /* seconds to deliver a whole message */
	uint64_t auth_cost_rate, auth_cost_burst; /* answers' CPU a network */
	uint32_t rrl_rate, rrl_burst, rrl_slip;	  /* UDP rate limit; 0: off */
	uint16_t site_serial;
	/* hierarchy and the recursive role */
	bool recursive;			  /* resolve for clients */
	char roots[CONF_MAX_LISTEN][128]; /* root hints, HOST:PORT */
	int nroots;
	char parents[CONF_MAX_LISTEN][128]; /* referral when nothing known */
	int nparents;
	bool no_referrals; /* 301, not 303, for delegated prefixes */
	char advertise[CONF_MAX_LISTEN][128]; /* this node's site servers */
	int nadvertise;
	uint64_t cache_size;	/* bytes */
	uint32_t cache_max_ttl; /* seconds */
	uint32_t cache_neg_ttl; /* seconds */
	int query_timeout;	/* ms per upstream server */
	int max_referrals;
	int resolver_threads; /* blocking upstream resolvers */
	/* HTTP (src/http/http.h) */
	char http[128]; /* ADDR[:PORT]; "" = off */
	int http_threads;
	char http_token_file[1024]; /* admin secret; "" = no writes */
	char http_root[1024];	    /* console files; "" = find web/ */
	uint64_t http_max_body;	    /* bytes */
	int http_timeout;	    /* seconds per request */
	int http_token_ttl;	    /* seconds a login token lives */
	char https[128];	    /* ADDR[:PORT]; "" = off */
	char http_tls_cert[1024];   /* PEM chain for https */
	char http_tls_key[1024];    /* its PEM private key */
	bool http_allow_insecure;   /* writes over plain HTTP from afar */
	char http_cors[CONF_MAX_LISTEN][256]; /* origins; none = "*" */
	int nhttp_cors;
	/* SNMS login accounts (account.h); "" = DATA/http-accounts */
	char http_accounts_file[1024];
	/* replication (docs/replication.md): who may follow this node, and
	 * what this node follows as a mirror */
	char repl_admins[16][256]; /* INDEX:HANDLE or HANDLE:INDEX */
	int nrepl_admins;
	char backup_admins[16][256]; /* op 1003, as repl_admins */
	int nbackup_admins;
	char repl_from[8][128]; /* HOST:PORT of the primary's servers */
	int nrepl_from;
	char repl_auth[300];	    /* HANDLE:INDEX the mirror proves */
	char repl_key[1024];	    /* its PEM private key, or */
	char repl_secret[1024];	    /* its secret (HS_SECKEY) */
	char repl_share[64];	    /* HASH:N:NUM of a multi-server site */
	char repl_protocol[16];	    /* auto, idnode or handle.net */
	char repl_source_key[1024]; /* HS_PUBKEY data checking streams */
	/* prefixes other schemes map under (HTTP proxy); "" = unmapped */
	char gs1_prefix[256], oid_prefix[256], ecode_prefix[256];
} node_conf_t;

/* What an option's value is. */
typedef enum {
	CONF_STR,     /* text into a char array: non-empty, must fit */
	CONF_LIST,    /* repeatable text, appended to a list; a flag given on
		       * the command line replaces the file's list */
	CONF_INT,     /* decimal integer within [min, max] */
	CONF_SIZE,    /* bytes, with an optional K/M/G/T suffix: above 0, at
		       * most max when max is not 0 */
	CONF_BOOL,    /* a flag without value on the command line; yes/no,
		       * true/false, on/off, 1/0 in the file */
	CONF_LEVEL,   /* a log level name (log.h) */
	CONF_LOGFMT,  /* "text" or "json" (log.h) */
	CONF_PREFIX,  /* a prefix another scheme maps under: dot-separated
		       * segments of letters, digits, '-' and '_' */
	CONF_FILE,    /* -c: the config file (command line only) */
	CONF_HELP,    /* -h (command line only) */
	CONF_VERSION, /* -V (command line only) */
} conf_type_t;

/* One option of the schema. */
typedef struct {
	const char *name;    /* long flag and config-file key */
	char flag;	     /* short flag, or 0 */
	conf_type_t type;    /* CONF_FILE/HELP/VERSION: no field */
	size_t off;	     /* of the field in node_conf_t */
	size_t size;	     /* of the field (a list: of one item) */
	size_t count_off;    /* CONF_LIST: of its int item count */
	int max_items;	     /* CONF_LIST: capacity */
	const char *items;   /* CONF_LIST: what they are, for errors */
	long long min, max;  /* CONF_INT bounds; CONF_SIZE: max */
	const char *def;     /* default, as the file would write it;
			      * NULL: zero, empty or computed */
	const char *arg;     /* the value's name in the usage */
	const char *help;    /* the usage's description */
	const char *section; /* heading the usage prints before this
			      * row, or NULL */
	bool live;	     /* a reload applies a new value to the running
			      * node (reload.h); else it needs a restart */
} conf_opt_t;

/* The schema, in usage order; *n receives the number of rows. Static. */
const conf_opt_t *conf_options(size_t *n);

/* Whether setting row o holds the same value in a and b. */
bool conf_same(const conf_opt_t *o, const node_conf_t *a, const node_conf_t *b);

/* Writes idnode's usage text, generated from the schema, to out. */
void conf_usage(FILE *out);

/* Fills conf from defaults, the file named by -c (if any) and the flags.
 * On error prints one line to stderr and returns -1; returns 1 when --help
 * or --version was handled, 0 to run. */
int conf_load(node_conf_t *conf, int argc, char **argv);

#endif
