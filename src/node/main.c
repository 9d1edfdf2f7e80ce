/* idnode: the identifier resolution node. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "ident.h"
#include "log.h"
#include "server.h"
#include "store.h"

/* Homes the prefixes named on the command line or in the config file. */
static int home_prefixes(idn_store_t *store, const node_conf_t *conf)
{
	if (conf->nhome == 0)
		return 0;
	idn_wtxn_t *t;
	int err = idn_wtxn_begin(store, &t);
	for (int i = 0; err == 0 && i < conf->nhome; i++) {
		uint8_t p[IDN_IDENT_MAX];
		uint32_t pl;
		const char *s = conf->home[i];
		err = idn_prefix_normalise((const uint8_t *)s, strlen(s), p,
					   &pl);
		if (err) {
			log_error("invalid prefix to home '%s': %s", s,
				  idn_strerror(err));
			idn_wtxn_abort(t);
			return -1;
		}
		err = idn_wtxn_home(t, p, pl);
	}
	if (err == 0)
		err = idn_wtxn_commit(t);
	else
		idn_wtxn_abort(t);
	if (err) {
		log_error("cannot home prefixes: %s", idn_strerror(err));
		return -1;
	}
	return 0;
}

/* The store's messages (PostgreSQL's, for instance) into the node's log. */
static void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	log_msg(level < LOG_ERROR   ? LOG_ERROR
		: level > LOG_DEBUG ? LOG_DEBUG
				    : level,
		"store: %s", msg);
}

static int log_homed(void *ctx, idn_bytes_t id)
{
	(void)ctx;
	log_info("homed prefix %.*s", (int)id.len, id.p);
	return 0;
}

int main(int argc, char **argv)
{
	node_conf_t conf;
	int rc = conf_load(&conf, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	log_set_level(conf.log_level);

	/* Signals are taken by sigwait in this thread only. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	const char *replicas[8];
	for (int i = 0; i < conf.nreplicas; i++)
		replicas[i] = conf.replicas[i];
	const char *where = conf.store[0] ? conf.store : conf.data;
	idn_store_spec_t spec;
	if (idn_store_spec_parse(where, &spec) != 0) {
		log_error("store '%s': name a store as lmdb:DIR, "
			  "postgresql://... or a libpq key=value string",
			  where);
		return 2;
	}
	/* the log names a PostgreSQL store without its connection string,
	 * which may hold a password */
	const char *shown =
		spec.kind == IDN_STORE_PG ? "PostgreSQL" : spec.path;
	idn_store_opts_t so = {.path = where,
			       .map_size = conf.map_size,
			       .replicas = replicas,
			       .nreplicas = (unsigned)conf.nreplicas,
			       .log = store_log};
	if (conf.store[0] && mkdir(conf.data, 0750) != 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", conf.data, strerror(errno));
		return 1;
	}
	idn_store_t *store;
	int err = idn_store_open(&so, &store);
	if (err) {
		log_error("cannot open store %s%s%s: %s",
			  spec.kind == IDN_STORE_PG ? "(" : "", shown,
			  spec.kind == IDN_STORE_PG ? ")" : "",
			  idn_strerror(err));
		return 1;
	}
	if (home_prefixes(store, &conf) != 0) {
		idn_store_close(store);
		return 1;
	}
	idn_store_stat_t st;
	if (idn_store_stat(store, &st) == 0)
		log_info("store %s: %llu identifiers, %llu homed prefixes",
			 shown, (unsigned long long)st.records,
			 (unsigned long long)st.prefixes);
	idn_rtxn_t *rt;
	if (idn_rtxn_begin(store, &rt) == 0) {
		idn_store_list_homed(rt, log_homed, NULL);
		idn_rtxn_free(rt);
	}

	server_t *srv;
	/* with replicas, reads flagged authoritative go to the primary */
	idn_store_t *primary = NULL;
	if (conf.nreplicas > 0) {
		idn_store_opts_t po = so;
		po.replicas = NULL;
		po.nreplicas = 0;
		err = idn_store_open(&po, &primary);
		if (err) {
			log_error(
				"cannot open the primary for authoritative reads: %s",
				idn_strerror(err));
			idn_store_close(store);
			return 1;
		}
	}
	if (server_start(&conf, store, primary, &srv) != 0) {
		if (primary)
			idn_store_close(primary);
		idn_store_close(store);
		return 1;
	}
	for (int i = 0; i < conf.nlisten; i++)
		log_info("listening on %s (udp, tcp)", conf.listen[i]);
	log_info("control socket %s", conf.control);
	log_info("idnode ready");

	int sig = 0;
	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
		log_info("SIGHUP: nothing to reload yet");
	log_info("signal %d: shutting down", sig);
	server_stop(srv);
	if (primary)
		idn_store_close(primary);
	idn_store_close(store);
	log_info("stopped");
	return 0;
}
