/* idnode's options as a schema: one row per option (name, short flag,
 * type, field, bounds, default, help), from which the defaults, the
 * config-file keys, the getopt table and the usage text are generated.
 * Loading applies the defaults, then the file named by -c, then the
 * flags; a list flag given on the command line replaces the file's list
 * rather than adding to it. */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "version.h"

#define IDNODE_VERSION IDN_VERSION

/* Row builders: (name, short flag, field, [bounds,] default, value name,
 * help). A default is written as in the config file; NULL is zero. */
#define FIELD(f)                                                               \
	.off = offsetof(node_conf_t, f), .size = sizeof(((node_conf_t *)0)->f)
#define O_STR(n, fl, f, d, a, h)                                               \
	.name = n, .flag = fl, .type = CONF_STR, FIELD(f), .def = d, .arg = a, \
	.help = h
#define O_INT(n, fl, f, lo, hi, d, a, h)                                       \
	.name = n, .flag = fl, .type = CONF_INT, FIELD(f), .min = lo,          \
	.max = hi, .def = d, .arg = a, .help = h
#define O_SIZE(n, f, hi, d, h)                                                 \
	.name = n, .type = CONF_SIZE, FIELD(f), .max = hi, .def = d,           \
	.arg = "SIZE", .help = h
#define O_BOOL(n, f, h) .name = n, .type = CONF_BOOL, FIELD(f), .help = h
#define O_PREFIX(n, f, h)                                                      \
	.name = n, .type = CONF_PREFIX, FIELD(f), .arg = "P", .help = h
#define O_LEVEL(n, fl, f, d, h)                                                \
	.name = n, .flag = fl, .type = CONF_LEVEL, FIELD(f), .def = d,         \
	.arg = "LVL", .help = h
#define O_LOGFMT(n, f, d, h)                                                   \
	.name = n, .type = CONF_LOGFMT, FIELD(f), .def = d, .arg = "FMT",      \
	.help = h
/* the command line's own options: no field */
#define O_ACTION(n, fl, t, a, h)                                               \
	.name = n, .flag = fl, .type = t, .arg = a, .help = h
/* a list: field f holds the items, field c counts them */
#define O_LIST(n, fl, f, c, what, a, h)                                        \
	.name = n, .flag = fl, .type = CONF_LIST,                              \
	.off = offsetof(node_conf_t, f),                                       \
	.size = sizeof(((node_conf_t *)0)->f[0]),                              \
	.count_off = offsetof(node_conf_t, c),                                 \
	.max_items = (int)(sizeof(((node_conf_t *)0)->f) /                     \
			   sizeof(((node_conf_t *)0)->f[0])),                  \
	.items = what, .arg = a, .help = h

static const conf_opt_t options[] = {
	{O_ACTION("config", 'c', CONF_FILE, "FILE",
		  "read settings from FILE (\"key value\" lines, '#' comments; "
		  "the keys are the long flags' names)")},
	{O_STR("data", 'd', data, "idnode-data", "DIR", "data directory")},
	{O_LIST("listen", 'l', listen, nlisten, "listeners", "ADDR:PORT",
		"UDP+TCP listener, repeatable (default 0.0.0.0:2641 and "
		"[::]:2641)")},
	{O_STR("control", 'C', control, NULL, "PATH",
	       "control socket (default DIR/control.sock)")},
	{O_STR("server-key", 0, server_key, NULL, "FILE",
	       "PEM RSA key (or a HANDLE.NET privkey.bin): signs replies to "
	       "requests with the certify flag; published in the site "
	       "(default: DIR/site-key.pem, made at first start)")},
	{O_STR("min-auth-hash", 0, min_auth_hash, "sha1", "HASH",
	       "weakest hash accepted in challenge answers and signed with: "
	       "md5 (admits protocol 2.0 clients), sha1 (HANDLE.NET 7) or "
	       "sha256 (docs/security.md)")},
	{O_LIST("server-admin", 0, server_admins, nserver_admins,
		"server admins", "ADMIN:INDEX",
		"may home and unhome prefixes whatever HS_ADMIN says, as "
		"HANDLE.NET's server_admins; repeatable")},
	{O_STR("store", 0, store, NULL, "STORE",
	       "where the data lives: lmdb:DIR, postgresql://... or a libpq "
	       "key=value string (default: LMDB in the data directory)")},
	{O_LIST("store-replica", 0, replicas, nreplicas, "replicas", "URI",
		"read-only replica for resolution, repeatable")},
	{O_LIST("home", 'H', home, nhome, "home prefixes", "PREFIX",
		"home PREFIX at start, repeatable")},
	{O_INT("workers", 'w', workers, 0, 256, NULL, "N",
	       "worker threads (default 0: one per core)")},
	{O_LEVEL("log-level", 'L', log_level, "info",
		 "error, warn, info or debug"),
	 .live = true},
	{O_LOGFMT("log-format", log_format, "text",
		  "text, or json: one JSON object a line (time, level, module, "
		  "src, msg)"),
	 .live = true},
	{O_STR("audit-log", 0, audit_log, NULL, "FILE",
	       "append a JSON line per write attempt and failed "
	       "authentication to FILE, reopened on SIGHUP (docs/audit.md; "
	       "default: none)")},
	{O_BOOL("audit-required", audit_required,
		"refuse writes (rc 2, \"audit log unavailable\") while a line "
		"cannot be written to the audit log")},
	{O_SIZE("map-size", map_size, 0, "64G",
		"LMDB map reservation, e.g. 64G")},
	{O_INT("changelog-max-age", 0, changelog_max_age, 0, 315360000,
	       "604800", "S",
	       "drop change log entries older than S seconds (0: keep any "
	       "age); the newest is always kept")},
	{O_INT("changelog-max-entries", 0, changelog_max_entries, 0, 2000000000,
	       "10000000", "N",
	       "keep at most N change log entries (0: no limit); followers "
	       "further behind copy the whole store again")},
	{O_STR("backup-dir", 0, backup_dir, NULL, "DIR",
	       "where a backup admin's BACKUP_SERVER (op 1003, HANDLE.NET's "
	       "hdl-docheckpoint) writes a dated copy of the store (default "
	       "DIR/backups)")},
	{O_INT("backup-keep", 0, backup_keep, 0, 100000, "7", "N",
	       "keep the newest N of those dated copies, removing older ones "
	       "(0: keep all)")},
	{O_BOOL("case-sensitive-suffix", case_suffix,
		"compare suffixes case-sensitively")},
	{O_INT("udp-reply-max", 0, udp_reply_max, 512, 262144, "65536", "N",
	       "largest reply message sent over UDP, in datagrams of 512 "
	       "bytes as HANDLE.NET sends them; a larger one is answered with "
	       "an error (rc 2) so the client asks over TCP")},
	{O_INT("rrl-rate", 0, rrl_rate, 0, 100000000, "200", "N",
	       "UDP datagrams a second per /24 or /64 source network (a reply "
	       "of several costs each); 0: no limit (benchmarks from one host "
	       "need it)"),
	 .live = true},
	{O_INT("rrl-burst", 0, rrl_burst, 0, 100000000, NULL, "N",
	       "responses a source network may get at once above the rate "
	       "(default: the rate)"),
	 .live = true},
	{O_INT("rrl-slip", 0, rrl_slip, 0, 100, "2", "N",
	       "every Nth rate-limited query gets a short error (rc 3), to "
	       "retry on TCP; 0: never"),
	 .live = true},
	{O_INT("tcp-max-connections", 0, tcp_max_conns, 1, 1000000, "1024", "N",
	       "TCP connections per worker"),
	 .live = true},
	{O_INT("tcp-max-per-source", 0, tcp_max_per_source, 1, 1000000, "64",
	       "N", "TCP connections per worker and client address"),
	 .live = true},
	{O_INT("tcp-idle-timeout", 0, tcp_idle_timeout, 1, 86400, "60", "S",
	       "seconds a TCP connection may go without a complete message"),
	 .live = true},
	{O_INT("tcp-max-per-network", 0, tcp_max_per_network, 1, 1000000, "256",
	       "N",
	       "TCP connections per worker and /24 or /56 client network")},
	{O_INT("tcp-message-timeout", 0, tcp_message_timeout, 1, 86400, "10",
	       "S", "seconds a TCP client has to deliver a whole message")},
	{O_INT("auth-cost-rate", 0, auth_cost_rate, 0, 1000000000, "100000",
	       "N",
	       "CPU units a second (one: a PBKDF2 iteration, about 2 us) that "
	       "checking challenge answers may cost per /24 or /56 network; "
	       "0: no limit")},
	{O_INT("auth-cost-burst", 0, auth_cost_burst, 0, 1000000000, "400000",
	       "N", "units a network may spend at once above the rate")},
	{O_INT("session-lifetime", 0, session_lifetime, 1, 7 * 86400, "3600",
	       "S",
	       "authenticated admin sessions (op 400) end after S seconds, or "
	       "with their TCP connection")},
	{O_BOOL("read-challenge", read_challenge,
		"answer a resolution that is not public-only and wants values "
		"the public may not read with a challenge, as the reference "
		"server does (default: give such clients public values)")},
	{O_LIST("advertise", 0, advertise, nadvertise, "advertise addresses",
		"HOST:PORT",
		"a server of this node's site, repeatable (GET_SITE_INFO; "
		"default: the non-wildcard listen addresses)")},
	{O_LIST("parent", 0, parents, nparents, "parent addresses", "HOST:PORT",
		"refer queries for unknown prefixes there, repeatable (default: "
		"answer 301, not responsible)")},
	{O_BOOL("no-referrals", no_referrals,
		"answer 301 (not responsible) instead of a prefix referral "
		"for identifiers under prefixes delegated elsewhere, as a "
		"HANDLE.NET server or the Global Handle Registry does: clients "
		"resolve the prefix handle 0.NA/<prefix> themselves")},
	{O_INT("site-serial", 0, site_serial, 0, 65535, "1", "N",
	       "serial number of this node's site (GET_SITE_INFO)")},

	{O_BOOL("recursive", recursive,
		"resolve for clients setting the recursive flag"),
	 .section = "recursive role (resolve any identifier for clients that "
		    "ask):"},
	{O_LIST("root", 0, roots, nroots, "root addresses", "HOST:PORT",
		"root hint, repeatable")},
	{O_SIZE("cache-size", cache_size, 0, "256M", "cache memory bound")},
	{O_INT("cache-max-ttl", 0, cache_max_ttl, 1, 30 * 86400, "86400", "S",
	       "cap on cached TTLs")},
	{O_INT("cache-negative-ttl", 0, cache_neg_ttl, 1, 86400, "60", "S",
	       "how long \"not found\" is kept")},
	{O_INT("query-timeout", 0, query_timeout, 10, 60000, "500", "MS",
	       "per upstream server, with retries")},
	{O_INT("max-referrals", 0, max_referrals, 1, 64, "8", "N",
	       "referrals followed at most")},
	{O_INT("resolver-threads", 0, resolver_threads, 1, 1024, "16", "N",
	       "concurrent upstream resolutions")},

	{O_LIST("replication-admin", 0, repl_admins, nrepl_admins,
		"replication admins", "ADMIN_ID:INDEX",
		"an admin that may follow this node (ops 1000-1002, proven by "
		"its key), repeatable; INDEX:ADMIN_ID as HANDLE.NET's "
		"replication_admins also works"),
	 .section = "Replication (docs/replication.md):"},
	{O_LIST("backup-admin", 0, backup_admins, nbackup_admins,
		"backup admins", "ADMIN_ID:INDEX",
		"an admin that may ask for a dated backup (op 1003, "
		"HANDLE.NET's hdl-docheckpoint; replication admins may too), "
		"repeatable; INDEX:ADMIN_ID as HANDLE.NET's backup_admins "
		"also works")},
	{O_LIST("replicate-from", 0, repl_from, nrepl_from, "sources",
		"HOST:PORT",
		"be a mirror of the primary (or mirror) there: copy its store, "
		"then follow its changes; repeatable for the servers of a "
		"site; local writes are refused")},
	{O_STR("replication-auth", 0, repl_auth, NULL, "ADMIN_ID:INDEX",
	       "the replication admin this mirror proves to its source")},
	{O_STR("replication-key", 0, repl_key, NULL, "FILE",
	       "its PEM private key (HS_PUBKEY admins)")},
	{O_STR("replication-secret", 0, repl_secret, NULL, "FILE",
	       "or its secret, mode 0600 (HS_SECKEY admins)")},
	{O_STR("replication-share", 0, repl_share, NULL, "HASH:N:NUM",
	       "copy only the share of server NUM (0-based) of N servers "
	       "that split a site by HASH (prefix, suffix or all)")},
	{O_STR("replication-protocol", 0, repl_protocol, "auto", "P",
	       "idnode (ops 1109/1110: the change log as it is, search types "
	       "too), handle.net (ops 1001/1002 streams, HANDLE.NET's), or "
	       "auto: idnode's unless the source does not know it")},
	{O_STR("replication-source-key", 0, repl_source_key, NULL, "FILE",
	       "the source's public key (HS_PUBKEY data, e.g. HANDLE.NET's "
	       "pubkey.bin or idctl keygen's .pub): every block of a "
	       "handle.net stream must verify with it")},

	{O_STR("http", 0, http, NULL, "ADDR[:PORT]",
	       "serve HTTP there (port 8000 if omitted; off unless given)"),
	 .section = "HTTP (REST API, management API, console, /metrics; "
		    "docs/http-api.md):"},
	{O_INT("http-threads", 0, http_threads, 1, 256, "2", "N",
	       "HTTP threads")},
	{O_STR("http-admin-token-file", 0, http_token_file, NULL, "FILE",
	       "secret that enables writes over HTTP (Authorization: Bearer "
	       "...) and login"),
	 .live = true},
	{O_STR("http-accounts-file", 0, http_accounts_file, NULL, "FILE",
	       "accounts of the SNMS token login, managed with idctl account "
	       "(default: DATA/http-accounts)")},
	{O_STR("http-root", 0, http_root, NULL, "DIR",
	       "the console's files (default: web/ beside the binary, else "
	       "PREFIX/share/idnode/web as installed)")},
	{O_SIZE("http-max-body", http_max_body, 1ll << 30, "1M",
		"largest request body")},
	{O_INT("http-timeout", 0, http_timeout, 1, 3600, "10", "S",
	       "request timeout")},
	{O_INT("http-token-ttl", 0, http_token_ttl, 60, 30 * 86400, "3600", "S",
	       "lifetime of a login token")},
	{O_STR("https", 0, https, NULL, "ADDR[:PORT]",
	       "serve HTTPS there too (port 8443 if omitted; needs "
	       "http-tls-cert and http-tls-key)")},
	{O_STR("http-tls-cert", 0, http_tls_cert, NULL, "FILE",
	       "PEM certificate chain for https, the server's first; re-read "
	       "on reload")},
	{O_STR("http-tls-key", 0, http_tls_key, NULL, "FILE",
	       "PEM private key of http-tls-cert")},
	{O_BOOL("http-allow-insecure-writes", http_allow_insecure,
		"accept writes and logins over plain HTTP from other hosts "
		"than loopback (default: 403, use HTTPS)")},
	{O_LIST("http-cors-origin", 0, http_cors, nhttp_cors, "CORS origins",
		"ORIGIN",
		"origin allowed to read public data cross-origin, repeatable "
		"(default: any, \"*\"); writes never are")},
	{O_PREFIX("gs1-prefix", gs1_prefix,
		  "the browser proxy (GET /{identifier}) maps GS1 keys and "
		  "Digital Links under P, as idctl resolve does (default: not "
		  "mapped)")},
	{O_PREFIX("oid-prefix", oid_prefix,
		  "... OIDs under P (default: not mapped)")},
	{O_PREFIX("ecode-prefix", ecode_prefix,
		  "... Ecodes under P (default: not mapped)")},

	{O_ACTION("help", 'h', CONF_HELP, NULL, "this text"), .section = ""},
	{O_ACTION("version", 'V', CONF_VERSION, NULL, "print the version")},
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

const conf_opt_t *conf_options(size_t *n)
{
	*n = NOPTS;
	return options;
}

/* ---- usage ---- */

static const char usage_head[] =
	"usage: idnode [-c FILE] [--data DIR] [--listen ADDR:PORT]...\n"
	"              [--control PATH] [--home PREFIX]... [--workers N]\n"
	"              [--log-level error|warn|info|debug] [OPTION]...\n"
	"\n"
	"Serves the Handle protocol on UDP and TCP for the prefixes it is\n"
	"homed for, from an LMDB store in DIR. Flags override the config file.\n"
	"\n";

#define HELP_COL 24
#define LINE_MAX_COL 79

/* Writes text from column col on, wrapped at word boundaries, each further
 * line indented to HELP_COL. */
static void wrap(FILE *out, int col, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > HELP_COL && col + 1 + (int)w > LINE_MAX_COL) {
			fprintf(out, "\n%*s", HELP_COL, "");
			col = HELP_COL;
		} else if (col > HELP_COL) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, w, out);
		col += (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

void conf_usage(FILE *out)
{
	fputs(usage_head, out);
	for (size_t i = 0; i < NOPTS; i++) {
		const conf_opt_t *o = &options[i];
		if (o->section != NULL)
			fprintf(out, "\n%s%s", o->section,
				o->section[0] ? "\n" : "");
		char head[96];
		int col = snprintf(head, sizeof(head), "  %c%c%c --%s%s%s",
				   o->flag ? '-' : ' ', o->flag ? o->flag : ' ',
				   o->flag ? ',' : ' ', o->name,
				   o->arg ? " " : "", o->arg ? o->arg : "");
		fputs(head, out);
		if (col > HELP_COL - 2) {
			fprintf(out, "\n%*s", HELP_COL, "");
		} else {
			fprintf(out, "%*s", HELP_COL - col, "");
		}
		char help[512];
		if (o->def != NULL)
			snprintf(help, sizeof(help), "%s (default %s)", o->help,
				 o->def);
		else
			snprintf(help, sizeof(help), "%s", o->help);
		/* column HELP_COL + 1 for the first word: no space before it */
		wrap(out, HELP_COL, help);
	}
}

/* ---- values ---- */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	case 'T':
		v <<= 40;
		end++;
		break;
	default:
		break;
	}
	if (*end != 0 || v == 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") ||
	    !strcmp(s, "1"))
		*out = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") ||
		 !strcmp(s, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* A prefix another scheme maps under: non-empty dot-separated segments of
 * letters, digits, '-' and '_' (scheme.h). */
static int scheme_prefix(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n == 0 || src[0] == '.' || src[n - 1] == '.' ||
	    strstr(src, "..") != NULL ||
	    strspn(src, "0123456789abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_") != n)
		return -1;
	return copy(dst, cap, src);
}

static void put_int(void *field, size_t size, long v)
{
	if (size == sizeof(uint16_t)) {
		uint16_t x = (uint16_t)v;
		memcpy(field, &x, sizeof(x));
	} else if (size == sizeof(int32_t)) {
		int32_t x = (int32_t)v;
		memcpy(field, &x, sizeof(x));
	} else {
		assert(size == sizeof(int64_t));
		int64_t x = v;
		memcpy(field, &x, sizeof(x));
	}
}

/* Appends val to list row o of c. Returns 0, 1 for a bad value, -1 after
 * printing that the list is full. */
static int list_add(node_conf_t *c, const conf_opt_t *o, const char *val,
		    const char *where)
{
	int *n = (int *)((char *)c + o->count_off);
	if (*n >= o->max_items) {
		fprintf(stderr, "idnode: %s: more than %d %s\n", where,
			o->max_items, o->items);
		return -1;
	}
	char *item = (char *)c + o->off + (size_t)*n * o->size;
	if (copy(item, o->size, val) != 0)
		return 1;
	(*n)++;
	return 0;
}

/* Parses val into o's field of c. Returns 0, 1 for a bad value, -1 after
 * printing why. */
static int set_value(node_conf_t *c, const conf_opt_t *o, const char *val,
		     const char *where)
{
	void *field = (char *)c + o->off;
	long n;
	uint64_t size;
	switch (o->type) {
	case CONF_STR:
		return copy(field, o->size, val) != 0;
	case CONF_LIST:
		return list_add(c, o, val, where);
	case CONF_INT:
		if (parse_int(val, (long)o->min, (long)o->max, &n) != 0)
			return 1;
		put_int(field, o->size, n);
		return 0;
	case CONF_SIZE:
		if (parse_size(val, &size) != 0 ||
		    (o->max != 0 && size > (uint64_t)o->max))
			return 1;
		memcpy(field, &size, sizeof(size));
		return 0;
	case CONF_BOOL:
		return parse_bool(val, field) != 0;
	case CONF_LEVEL:
		n = log_level_parse(val);
		if (n < 0)
			return 1;
		put_int(field, o->size, n);
		return 0;
	case CONF_LOGFMT:
		n = log_format_parse(val);
		if (n < 0)
			return 1;
		put_int(field, o->size, n);
		return 0;
	case CONF_PREFIX:
		return scheme_prefix(field, o->size, val) != 0;
	default:
		return 1; /* not a setting */
	}
}

/* Whether row o is a setting (has a field, a config-file key). */
static bool is_setting(const conf_opt_t *o)
{
	return o->type != CONF_FILE && o->type != CONF_HELP &&
	       o->type != CONF_VERSION;
}

bool conf_same(const conf_opt_t *o, const node_conf_t *a, const node_conf_t *b)
{
	assert(is_setting(o));
	const char *fa = (const char *)a + o->off;
	const char *fb = (const char *)b + o->off;
	switch (o->type) {
	case CONF_STR:
	case CONF_PREFIX:
		return strcmp(fa, fb) == 0;
	case CONF_LIST: {
		int na = *(const int *)((const char *)a + o->count_off);
		int nb = *(const int *)((const char *)b + o->count_off);
		for (int i = 0; na == nb && i < na; i++)
			if (strcmp(fa + (size_t)i * o->size,
				   fb + (size_t)i * o->size) != 0)
				return false;
		return na == nb;
	}
	default:
		return memcmp(fa, fb, o->size) == 0;
	}
}

static const conf_opt_t *find(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (is_setting(&options[i]) && !strcmp(options[i].name, key))
			return &options[i];
	return NULL;
}

/* Applies one setting of row o; where says where it came from for the
 * message. */
static int set(node_conf_t *c, const conf_opt_t *o, const char *val,
	       const char *where)
{
	int rc = set_value(c, o, val, where);
	if (rc > 0)
		fprintf(stderr, "idnode: %s: invalid value '%s' for %s\n",
			where, val, o->name);
	return rc == 0 ? 0 : -1;
}

static void defaults(node_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++) {
		const conf_opt_t *o = &options[i];
		if (o->def == NULL)
			continue;
		int rc = set_value(c, o, o->def, "default");
		assert(rc == 0); /* a schema row with a bad default */
		(void)rc;
	}
}

static int load_file(node_conf_t *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "idnode: cannot read config %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	char line[2048];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *p = line, *key, *val;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == 0)
			continue;
		size_t n = strlen(p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			p[--n] = 0;
		key = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=')
			p++;
		if (*p)
			*p++ = 0;
		while (isspace((unsigned char)*p) || *p == '=')
			p++;
		val = p;
		char where[1200];
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		const conf_opt_t *o = find(key);
		if (*val == 0) {
			fprintf(stderr, "idnode: %s: '%s' needs a value\n",
				where, key);
			rc = -1;
		} else if (o == NULL) {
			fprintf(stderr, "idnode: %s: unknown setting '%s'\n",
				where, key);
			rc = -1;
		} else {
			rc = set(c, o, val, where);
		}
	}
	fclose(f);
	return rc;
}

/* getopt's val for row i: its short flag, else past any character */
#define LONG_ONLY 256

/* Builds the getopt tables from the schema: opts (NOPTS + 1 entries) and
 * the short options string, with a leading ':' when colon is set. */
static void getopt_tables(struct option *opts, char *shorts, bool colon)
{
	char *s = shorts;
	if (colon)
		*s++ = ':';
	for (size_t i = 0; i < NOPTS; i++) {
		const conf_opt_t *o = &options[i];
		bool arg = o->type != CONF_BOOL && o->type != CONF_HELP &&
			   o->type != CONF_VERSION;
		opts[i] = (struct option){
			o->name, arg ? required_argument : no_argument, NULL,
			o->flag ? o->flag : LONG_ONLY + (int)i};
		if (o->flag) {
			*s++ = o->flag;
			if (arg)
				*s++ = ':';
		}
	}
	opts[NOPTS] = (struct option){0};
	*s = 0;
}

/* The row getopt_long's answer o stands for, or NULL. */
static const conf_opt_t *row_of(int o)
{
	if (o >= LONG_ONLY && o < LONG_ONLY + (int)NOPTS)
		return &options[o - LONG_ONLY];
	for (size_t i = 0; o > 0 && i < NOPTS; i++)
		if (options[i].flag == o)
			return &options[i];
	return NULL;
}

/* First pass: -h, -V and the config file's name. Returns 1 when -h or -V
 * was handled, else 0 with *file set (NULL: none). */
static int first_pass(int argc, char **argv, const char **file)
{
	struct option opts[NOPTS + 1];
	char shorts[2 * NOPTS + 2];
	getopt_tables(opts, shorts, false);
	*file = NULL;
	opterr = 0;
	optind = 0; /* 0: glibc starts afresh, as for a new argv */
	int o;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const conf_opt_t *row = row_of(o);
		if (row == NULL)
			continue;
		if (row->type == CONF_FILE)
			*file = optarg;
		if (row->type == CONF_HELP) {
			conf_usage(stdout);
			return 1;
		}
		if (row->type == CONF_VERSION) {
			printf("idnode %s\n", IDNODE_VERSION);
			return 1;
		}
	}
	return 0;
}

/* Second pass: the flags, over what the file set. */
static int flag_pass(node_conf_t *c, int argc, char **argv)
{
	struct option opts[NOPTS + 1];
	char shorts[2 * NOPTS + 2];
	getopt_tables(opts, shorts, true);
	bool seen[NOPTS] = {false};
	opterr = 0;
	optind = 0;
	int o;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const conf_opt_t *row = row_of(o);
		if (row == NULL) {
			/* one line naming the option, not the whole usage */
			char name[3] = {'-', (char)optopt, 0};
			const char *last = argv[optind - 1];
			fprintf(stderr, "idnode: %s '%s' (see idnode --help)\n",
				o == ':' ? "missing value for option"
					 : "unknown option",
				!strncmp(last, "--", 2) ? last : name);
			return -1;
		}
		if (!is_setting(row))
			continue;
		size_t i = (size_t)(row - options);
		if (row->type == CONF_LIST && !seen[i])
			*(int *)((char *)c + row->count_off) = 0;
		seen[i] = true;
		const char *val = row->type == CONF_BOOL ? "yes" : optarg;
		char where[64];
		snprintf(where, sizeof(where), "--%s", row->name);
		if (set(c, row, val, where) != 0)
			return -1;
	}
	return 0;
}

int conf_load(node_conf_t *c, int argc, char **argv)
{
	defaults(c);
	const char *file;
	if (first_pass(argc, argv, &file) != 0)
		return 1;
	if (file != NULL && load_file(c, file) != 0)
		return -1;
	if (flag_pass(c, argc, argv) != 0)
		return -1;
	if (c->recursive && c->nroots == 0) {
		fprintf(stderr,
			"idnode: --recursive needs at least one --root HOST:PORT\n");
		return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "idnode: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (c->nlisten == 0) {
		strcpy(c->listen[0], "0.0.0.0:2641");
		strcpy(c->listen[1], "[::]:2641");
		c->nlisten = 2;
	}
	if (c->control[0] == 0 &&
	    snprintf(c->control, sizeof(c->control), "%s/control.sock",
		     c->data) >= (int)sizeof(c->control)) {
		fprintf(stderr,
			"idnode: control socket path too long; set --control\n");
		return -1;
	}
	return 0;
}
