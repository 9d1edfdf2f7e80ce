#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "version.h"

#define IDNODE_VERSION IDN_VERSION

static const char usage[] =
	"usage: idnode [-c FILE] [--data DIR] [--listen ADDR:PORT]...\n"
	"              [--control PATH] [--home PREFIX]... [--workers N]\n"
	"              [--log-level error|warn|info|debug]\n"
	"\n"
	"Serves the Handle protocol on UDP and TCP for the prefixes it is\n"
	"homed for, from an LMDB store in DIR. Flags override the config file.\n"
	"\n"
	"  -c, --config FILE     read settings from FILE (\"key value\" lines)\n"
	"  -d, --data DIR        data directory (default ./idnode-data)\n"
	"  -l, --listen ADDR:PORT  UDP+TCP listener, repeatable\n"
	"                        (default 0.0.0.0:2641 and [::]:2641)\n"
	"  -C, --control PATH    control socket (default DIR/control.sock)\n"
	"      --server-key FILE PEM RSA key: signs replies to requests with\n"
	"                        the certify flag; published in the site\n"
	"      --store URI       keep the data in PostgreSQL instead of LMDB\n"
	"                        (postgresql://... or a libpq string)\n"
	"      --store-replica URI  read-only replica for resolution, repeatable\n"
	"  -H, --home PREFIX     home PREFIX at start, repeatable\n"
	"  -w, --workers N       worker threads (default: one per core)\n"
	"  -L, --log-level LVL   error, warn, info (default) or debug\n"
	"      --map-size SIZE   LMDB map reservation, e.g. 64G (default)\n"
	"      --case-sensitive-suffix  compare suffixes case-sensitively\n"
	"      --udp-reply-max N larger UDP replies are sent truncated so the\n"
	"                        client retries on TCP (default 4096)\n"
	"      --rrl-rate N      UDP responses a second per /24 or /56 source\n"
	"                        network (default 0: no limit); --rrl-burst N;\n"
	"                        --rrl-slip N: every Nth limited query gets a\n"
	"                        truncated reply, to retry on TCP (default 2)\n"
	"      --tcp-max-connections N  per worker (1024); --tcp-max-per-source N\n"
	"                        per worker and client address (64);\n"
	"                        --tcp-idle-timeout S (60)\n"
	"      --session-lifetime S  authenticated admin sessions (op 400) end\n"
	"                        after S seconds (3600), or with their TCP\n"
	"                        connection\n"
	"      --read-challenge  answer a resolution that is not public-only\n"
	"                        and wants values the public may not read with\n"
	"                        a challenge, as the reference server does\n"
	"                        (default: give such clients public values)\n"
	"      --advertise HOST:PORT  a server of this node's site, repeatable\n"
	"                        (GET_SITE_INFO; default: the non-wildcard\n"
	"                        listen addresses)\n"
	"      --parent HOST:PORT  refer queries for unknown prefixes there,\n"
	"                        repeatable (default: answer not found)\n"
	"\n"
	"recursive role (resolve any identifier for clients that ask):\n"
	"      --recursive       resolve for clients setting the recursive flag\n"
	"      --root HOST:PORT  root hint, repeatable\n"
	"      --cache-size SIZE cache memory bound (default 256M)\n"
	"      --cache-max-ttl S cap on cached TTLs (default 86400)\n"
	"      --cache-negative-ttl S  how long \"not found\" is kept (60)\n"
	"      --query-timeout MS  per upstream server, with retries (500)\n"
	"      --max-referrals N referrals followed at most (8)\n"
	"      --resolver-threads N  concurrent upstream resolutions (16)\n"
	"\n"
	"HTTP (REST API, management API, console, /metrics; docs/http-api.md):\n"
	"      --http ADDR[:PORT]  serve HTTP there (port 8000 if omitted; off\n"
	"                        unless given)\n"
	"      --http-threads N  HTTP threads (default 2)\n"
	"      --http-admin-token-file FILE  secret that enables writes over\n"
	"                        HTTP (Authorization: Bearer ...) and login\n"
	"      --http-root DIR   the console's files (default: web/ beside\n"
	"                        the binary)\n"
	"      --http-max-body SIZE  largest request body (default 1M)\n"
	"      --http-timeout S  request timeout (default 10)\n"
	"      --http-token-ttl S  lifetime of a login token (default 3600)\n"
	"      --gs1-prefix P, --oid-prefix P, --ecode-prefix P  the browser\n"
	"                        proxy (GET /{identifier}) maps GS1 keys and\n"
	"                        Digital Links, OIDs, Ecodes under P, as\n"
	"                        idctl resolve does (default: not mapped)\n"
	"  -h, --help            this text\n"
	"  -V, --version         print the version\n";

static void defaults(node_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->data, "idnode-data");
	c->log_level = LOG_INFO;
	c->map_size = 64ull << 30;
	c->udp_reply_max = 4096;
	c->tcp_idle_timeout = 60;
	c->session_lifetime = 3600;
	c->tcp_max_conns = 1024;
	c->tcp_max_per_source = 64;
	c->rrl_slip = 2;
	c->site_serial = 1;
	c->cache_size = 256ull << 20;
	c->cache_max_ttl = 86400;
	c->cache_neg_ttl = 60;
	c->query_timeout = 500;
	c->max_referrals = 8;
	c->resolver_threads = 16;
	c->http_threads = 2;
	c->http_max_body = 1u << 20;
	c->http_timeout = 10;
	c->http_token_ttl = 3600;
}

/* Appends to one of the repeatable address lists. */
static int add_addr(char list[][128], int *n, const char *val, const char *what,
		    const char *where)
{
	if (*n >= CONF_MAX_LISTEN) {
		fprintf(stderr, "idnode: %s: more than %d %s addresses\n",
			where, CONF_MAX_LISTEN, what);
		return -1;
	}
	size_t len = strlen(val);
	if (len == 0 || len >= 128)
		return 1;
	memcpy(list[*n], val, len + 1);
	(*n)++;
	return 0;
}

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

/* Applies one setting; where says where it came from for the message. */
static int set(node_conf_t *c, const char *key, const char *val,
	       const char *where)
{
	long n;
	int bad = 0;
	if (!strcmp(key, "data")) {
		bad = copy(c->data, sizeof(c->data), val);
	} else if (!strcmp(key, "server-key")) {
		bad = copy(c->server_key, sizeof(c->server_key), val);
	} else if (!strcmp(key, "store")) {
		bad = copy(c->store, sizeof(c->store), val);
	} else if (!strcmp(key, "store-replica")) {
		if (c->nreplicas >= 8) {
			fprintf(stderr, "idnode: %s: more than 8 replicas\n",
				where);
			return -1;
		}
		bad = copy(c->replicas[c->nreplicas], sizeof(c->replicas[0]),
			   val);
		if (!bad)
			c->nreplicas++;
	} else if (!strcmp(key, "control")) {
		bad = copy(c->control, sizeof(c->control), val);
	} else if (!strcmp(key, "listen")) {
		if (c->nlisten >= CONF_MAX_LISTEN) {
			fprintf(stderr, "idnode: %s: more than %d listeners\n",
				where, CONF_MAX_LISTEN);
			return -1;
		}
		bad = copy(c->listen[c->nlisten], sizeof(c->listen[0]), val);
		if (!bad)
			c->nlisten++;
	} else if (!strcmp(key, "home")) {
		if (c->nhome >= CONF_MAX_HOME) {
			fprintf(stderr,
				"idnode: %s: more than %d home prefixes\n",
				where, CONF_MAX_HOME);
			return -1;
		}
		bad = copy(c->home[c->nhome], sizeof(c->home[0]), val);
		if (!bad)
			c->nhome++;
	} else if (!strcmp(key, "workers")) {
		bad = parse_int(val, 0, 256, &n);
		c->workers = (int)n;
	} else if (!strcmp(key, "log-level")) {
		c->log_level = log_level_parse(val);
		bad = c->log_level < 0;
	} else if (!strcmp(key, "map-size")) {
		bad = parse_size(val, &c->map_size);
	} else if (!strcmp(key, "case-sensitive-suffix")) {
		bad = parse_bool(val, &c->case_suffix);
	} else if (!strcmp(key, "udp-reply-max")) {
		bad = parse_int(val, 512, 262144, &n);
		c->udp_reply_max = (uint32_t)n;
	} else if (!strcmp(key, "tcp-idle-timeout")) {
		bad = parse_int(val, 1, 86400, &n);
		c->tcp_idle_timeout = (int)n;
	} else if (!strcmp(key, "read-challenge")) {
		bad = parse_bool(val, &c->read_challenge);
	} else if (!strcmp(key, "session-lifetime")) {
		bad = parse_int(val, 1, 7 * 86400, &n);
		c->session_lifetime = (uint32_t)n;
	} else if (!strcmp(key, "tcp-max-connections")) {
		bad = parse_int(val, 1, 1000000, &n);
		c->tcp_max_conns = (int)n;
	} else if (!strcmp(key, "recursive")) {
		bad = parse_bool(val, &c->recursive);
	} else if (!strcmp(key, "root")) {
		if ((bad = add_addr(c->roots, &c->nroots, val, key, where)) < 0)
			return -1;
	} else if (!strcmp(key, "parent")) {
		if ((bad = add_addr(c->parents, &c->nparents, val, key,
				    where)) < 0)
			return -1;
	} else if (!strcmp(key, "advertise")) {
		if ((bad = add_addr(c->advertise, &c->nadvertise, val, key,
				    where)) < 0)
			return -1;
	} else if (!strcmp(key, "cache-size")) {
		bad = parse_size(val, &c->cache_size);
	} else if (!strcmp(key, "cache-max-ttl")) {
		bad = parse_int(val, 1, 30 * 86400, &n);
		c->cache_max_ttl = (uint32_t)n;
	} else if (!strcmp(key, "cache-negative-ttl")) {
		bad = parse_int(val, 1, 86400, &n);
		c->cache_neg_ttl = (uint32_t)n;
	} else if (!strcmp(key, "query-timeout")) {
		bad = parse_int(val, 10, 60000, &n);
		c->query_timeout = (int)n;
	} else if (!strcmp(key, "max-referrals")) {
		bad = parse_int(val, 1, 64, &n);
		c->max_referrals = (int)n;
	} else if (!strcmp(key, "resolver-threads")) {
		bad = parse_int(val, 1, 1024, &n);
		c->resolver_threads = (int)n;
	} else if (!strcmp(key, "tcp-max-per-source")) {
		bad = parse_int(val, 1, 1000000, &n);
		c->tcp_max_per_source = (int)n;
	} else if (!strcmp(key, "rrl-rate")) {
		bad = parse_int(val, 0, 100000000, &n);
		c->rrl_rate = (uint32_t)n;
	} else if (!strcmp(key, "rrl-burst")) {
		bad = parse_int(val, 0, 100000000, &n);
		c->rrl_burst = (uint32_t)n;
	} else if (!strcmp(key, "rrl-slip")) {
		bad = parse_int(val, 0, 100, &n);
		c->rrl_slip = (uint32_t)n;
	} else if (!strcmp(key, "http")) {
		bad = copy(c->http, sizeof(c->http), val);
	} else if (!strcmp(key, "http-threads")) {
		bad = parse_int(val, 1, 256, &n);
		c->http_threads = (int)n;
	} else if (!strcmp(key, "http-admin-token-file")) {
		bad = copy(c->http_token_file, sizeof(c->http_token_file), val);
	} else if (!strcmp(key, "http-root")) {
		bad = copy(c->http_root, sizeof(c->http_root), val);
	} else if (!strcmp(key, "http-max-body")) {
		bad = parse_size(val, &c->http_max_body) ||
		      c->http_max_body > (1u << 30);
	} else if (!strcmp(key, "http-timeout")) {
		bad = parse_int(val, 1, 3600, &n);
		c->http_timeout = (int)n;
	} else if (!strcmp(key, "http-token-ttl")) {
		bad = parse_int(val, 60, 30 * 86400, &n);
		c->http_token_ttl = (int)n;
	} else if (!strcmp(key, "gs1-prefix")) {
		bad = scheme_prefix(c->gs1_prefix, sizeof(c->gs1_prefix), val);
	} else if (!strcmp(key, "oid-prefix")) {
		bad = scheme_prefix(c->oid_prefix, sizeof(c->oid_prefix), val);
	} else if (!strcmp(key, "ecode-prefix")) {
		bad = scheme_prefix(c->ecode_prefix, sizeof(c->ecode_prefix),
				    val);
	} else if (!strcmp(key, "site-serial")) {
		bad = parse_int(val, 0, 65535, &n);
		c->site_serial = (uint16_t)n;
	} else {
		fprintf(stderr, "idnode: %s: unknown setting '%s'\n", where,
			key);
		return -1;
	}
	if (bad) {
		fprintf(stderr, "idnode: %s: invalid value '%s' for %s\n",
			where, val, key);
		return -1;
	}
	return 0;
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
		if (*val == 0) {
			fprintf(stderr, "idnode: %s: '%s' needs a value\n",
				where, key);
			rc = -1;
			break;
		}
		rc = set(c, key, val, where);
	}
	fclose(f);
	return rc;
}

int conf_load(node_conf_t *c, int argc, char **argv)
{
	/* long-only options (val O_LONG) are settings of the same name */
	enum { O_LONG = 256 };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"control", required_argument, NULL, 'C'},
		{"home", required_argument, NULL, 'H'},
		{"workers", required_argument, NULL, 'w'},
		{"log-level", required_argument, NULL, 'L'},
		{"server-key", required_argument, NULL, O_LONG},
		{"store", required_argument, NULL, O_LONG},
		{"store-replica", required_argument, NULL, O_LONG},
		{"map-size", required_argument, NULL, O_LONG},
		{"case-sensitive-suffix", no_argument, NULL, O_LONG},
		{"udp-reply-max", required_argument, NULL, O_LONG},
		{"tcp-idle-timeout", required_argument, NULL, O_LONG},
		{"session-lifetime", required_argument, NULL, O_LONG},
		{"read-challenge", no_argument, NULL, O_LONG},
		{"tcp-max-connections", required_argument, NULL, O_LONG},
		{"tcp-max-per-source", required_argument, NULL, O_LONG},
		{"rrl-rate", required_argument, NULL, O_LONG},
		{"rrl-burst", required_argument, NULL, O_LONG},
		{"rrl-slip", required_argument, NULL, O_LONG},
		{"site-serial", required_argument, NULL, O_LONG},
		{"advertise", required_argument, NULL, O_LONG},
		{"parent", required_argument, NULL, O_LONG},
		{"recursive", no_argument, NULL, O_LONG},
		{"root", required_argument, NULL, O_LONG},
		{"cache-size", required_argument, NULL, O_LONG},
		{"cache-max-ttl", required_argument, NULL, O_LONG},
		{"cache-negative-ttl", required_argument, NULL, O_LONG},
		{"query-timeout", required_argument, NULL, O_LONG},
		{"max-referrals", required_argument, NULL, O_LONG},
		{"resolver-threads", required_argument, NULL, O_LONG},
		{"http", required_argument, NULL, O_LONG},
		{"http-threads", required_argument, NULL, O_LONG},
		{"http-admin-token-file", required_argument, NULL, O_LONG},
		{"http-root", required_argument, NULL, O_LONG},
		{"http-max-body", required_argument, NULL, O_LONG},
		{"http-timeout", required_argument, NULL, O_LONG},
		{"http-token-ttl", required_argument, NULL, O_LONG},
		{"gs1-prefix", required_argument, NULL, O_LONG},
		{"oid-prefix", required_argument, NULL, O_LONG},
		{"ecode-prefix", required_argument, NULL, O_LONG},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	static const char *const names[] = {
		['c'] = "config",    ['d'] = "data", ['l'] = "listen",
		['C'] = "control",   ['H'] = "home", ['w'] = "workers",
		['L'] = "log-level",
	};
	defaults(c);
	/* first pass: the config file, so that flags override it */
	int o;
	const char *file = NULL;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:d:l:C:H:w:L:hV", opts, NULL)) !=
	       -1) {
		if (o == 'c')
			file = optarg;
		if (o == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		if (o == 'V') {
			printf("idnode %s\n", IDNODE_VERSION);
			return 1;
		}
	}
	if (file != NULL && load_file(c, file) != 0)
		return -1;
	/* second pass: flags; a repeatable flag replaces the file's list */
	bool listen_seen = false, home_seen = false, root_seen = false,
	     parent_seen = false, adv_seen = false, rep_seen = false;
	optind = 1;
	int li = -1;
	while ((o = getopt_long(argc, argv, ":c:d:l:C:H:w:L:hV", opts, &li)) !=
	       -1) {
		const char *key = NULL;
		const char *val = optarg;
		switch (o) {
		case 'c':
			continue;
		case 'l':
			if (!listen_seen)
				c->nlisten = 0;
			listen_seen = true;
			key = "listen";
			break;
		case 'H':
			if (!home_seen)
				c->nhome = 0;
			home_seen = true;
			key = "home";
			break;
		case 'd':
		case 'C':
		case 'w':
		case 'L':
			key = names[o];
			break;
		case O_LONG:
			key = opts[li].name;
			if (opts[li].has_arg == no_argument)
				val = "yes";
			if (!strcmp(key, "root") && !root_seen) {
				c->nroots = 0;
				root_seen = true;
			} else if (!strcmp(key, "parent") && !parent_seen) {
				c->nparents = 0;
				parent_seen = true;
			} else if (!strcmp(key, "store-replica") && !rep_seen) {
				c->nreplicas = 0;
				rep_seen = true;
			} else if (!strcmp(key, "advertise") && !adv_seen) {
				c->nadvertise = 0;
				adv_seen = true;
			}
			break;
		default: {
			/* one line naming the option, not the whole usage */
			char name[3] = {'-', (char)optopt, 0};
			const char *last = argv[optind - 1];
			fprintf(stderr, "idnode: %s '%s' (see idnode --help)\n",
				o == ':' ? "missing value for option"
					 : "unknown option",
				!strncmp(last, "--", 2) ? last : name);
			return -1;
		}
		}
		char where[64];
		snprintf(where, sizeof(where), "--%s", key);
		if (set(c, key, val, where) != 0)
			return -1;
	}
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
