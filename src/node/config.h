/* idnode configuration: defaults, then the config file (-c), then command
 * line flags, each overriding the one before. */
#ifndef IDN_NODE_CONFIG_H
#define IDN_NODE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONF_MAX_LISTEN 16
#define CONF_MAX_HOME 64

typedef struct {
	char data[1024];	/* LMDB environment directory */
	char store[1024];	/* PostgreSQL URI; "" = LMDB */
	char replicas[8][1024]; /* read-only PostgreSQL replicas */
	int nreplicas;
	char control[108];		   /* control socket path */
	char server_key[1024];		   /* PEM key signing replies */
	char listen[CONF_MAX_LISTEN][128]; /* ADDR:PORT, UDP and TCP */
	int nlisten;
	char home[CONF_MAX_HOME][256]; /* prefixes homed at start */
	int nhome;
	int workers; /* 0: one per core */
	int log_level;
	uint64_t map_size;	   /* LMDB map reservation */
	bool case_suffix;	   /* suffixes case-sensitive */
	uint32_t udp_reply_max;	   /* larger UDP replies: truncated */
	int tcp_idle_timeout;	   /* seconds */
	uint32_t session_lifetime; /* seconds, admin sessions */
	bool read_challenge;	   /* challenge anonymous reads of
				    * restricted values */
	int tcp_max_conns;	   /* per worker */
	int tcp_max_per_source;	   /* per worker and source address */
	uint32_t rrl_rate, rrl_burst, rrl_slip; /* UDP rate limit; 0: off */
	uint16_t site_serial;
	/* hierarchy and the recursive role */
	bool recursive;			  /* resolve for clients */
	char roots[CONF_MAX_LISTEN][128]; /* root hints, HOST:PORT */
	int nroots;
	char parents[CONF_MAX_LISTEN][128]; /* referral when nothing known */
	int nparents;
	char advertise[CONF_MAX_LISTEN][128]; /* this node's site servers */
	int nadvertise;
	uint64_t cache_size;	/* bytes */
	uint32_t cache_max_ttl; /* seconds */
	uint32_t cache_neg_ttl; /* seconds */
	int query_timeout;	/* ms per upstream server */
	int max_referrals;
	int resolver_threads; /* blocking upstream resolvers */
	/* HTTP (src/node/http.h) */
	char http[128]; /* ADDR[:PORT]; "" = off */
	int http_threads;
	char http_token_file[1024]; /* admin secret; "" = no writes */
	char http_root[1024];	    /* console files; "" = find web/ */
	uint64_t http_max_body;	    /* bytes */
	int http_timeout;	    /* seconds per request */
	int http_token_ttl;	    /* seconds a login token lives */
	/* prefixes other schemes map under (HTTP proxy); "" = unmapped */
	char gs1_prefix[256], oid_prefix[256], ecode_prefix[256];
} node_conf_t;

/* Fills conf from defaults, the file named by -c (if any) and the flags.
 * On error prints one line to stderr and returns -1; returns 1 when --help
 * or --version was handled, 0 to run. */
int conf_load(node_conf_t *conf, int argc, char **argv);

#endif
