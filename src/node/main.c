/* idnode: the identifier resolution node. main loads the configuration
 * and starts the planes side by side on one node context: the Handle
 * server (UDP and TCP, server.h), the control socket (ctlsock.h) and HTTP
 * (http.h); a signal stops them in the reverse order. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "claim.h"
#include "config.h"
#include "ctlsock.h"
#include "error.h"
#include "http.h"
#include "ident.h"
#include "log.h"
#include "mirror.h"
#include "pruner.h"
#include "ticker.h"
#include "reload.h"
#include "repl_ops.h"
#include "server.h"
#include "store.h"
#include "tplcheck.h"

/* Homes the prefixes named on the command line or in the config file,
 * named for the configuration in the change log; *todo_n gets how many
 * were not homed yet. When all are, nothing is written and no write
 * transaction is begun: a restart writes nothing, and a PostgreSQL node
 * whose primary is down has nothing to defer. Returns 0, -1 after logging
 * why, or IDN_ENOPRIMARY (the primary is down: not logged, the caller
 * defers). */
static int home_prefixes(idn_store_t *store, const node_conf_t *conf,
			 int *todo_n)
{
	*todo_n = 0;
	if (conf->nhome == 0)
		return 0;
	uint8_t p[CONF_MAX_HOME][IDN_IDENT_MAX];
	uint32_t pl[CONF_MAX_HOME];
	for (int i = 0; i < conf->nhome; i++) {
		const char *s = conf->home[i];
		int err = idn_prefix_normalise((const uint8_t *)s, strlen(s),
					       p[i], &pl[i]);
		if (err) {
			log_error("invalid prefix to home '%s': %s", s,
				  idn_strerror(err));
			return -1;
		}
	}
	idn_rtxn_t *rt;
	int err = idn_rtxn_begin(store, &rt);
	int n = 0;
	if (err == 0) {
		for (int i = 0; err == 0 && i < conf->nhome; i++) {
			int homed = idn_store_homed(rt, p[i], pl[i]);
			if (homed < 0)
				err = homed;
			n += homed == 0;
		}
		idn_rtxn_free(rt);
	}
	*todo_n = n;
	if (err == 0 && n == 0)
		return 0;
	idn_wtxn_t *t = NULL;
	if (err == 0)
		err = idn_wtxn_begin(store, &t);
	if (err == 0)
		idn_wtxn_set_actor(t, "configuration (home)");
	/* those homed already are no change (idn_wtxn_home) */
	for (int i = 0; err == 0 && i < conf->nhome; i++)
		err = idn_wtxn_home(t, p[i], pl[i]);
	if (err == 0)
		err = idn_wtxn_commit(t);
	else if (t)
		idn_wtxn_abort(t);
	if (err == IDN_ENOPRIMARY)
		return err;
	if (err) {
		log_error("cannot home prefixes: %s", idn_strerror(err));
		return -1;
	}
	return 0;
}

/* Homing deferred while PostgreSQL's primary is down: tried again with
 * a back-off of 1 s doubling to at most 8 s until it succeeds or the node
 * stops. */
typedef struct {
	idn_store_t *store;
	const node_conf_t *conf;
	int wait_s; /* the last wait */
	ticker_t ticker;
} homer_t;

static int homer_tick(void *ctx)
{
	homer_t *hm = ctx;
	int n;
	int err = home_prefixes(hm->store, hm->conf, &n);
	if (err != IDN_ENOPRIMARY) {
		if (err == 0)
			log_info("homed %d deferred prefixes: the primary is "
				 "back",
				 n);
		return -1;
	}
	hm->wait_s = hm->wait_s >= 4 ? 8 : hm->wait_s * 2;
	return hm->wait_s;
}

static int homer_start(homer_t *hm, idn_store_t *store, const node_conf_t *conf)
{
	hm->store = store;
	hm->conf = conf;
	hm->wait_s = 1;
	if (ticker_start(&hm->ticker, hm->wait_s, homer_tick, hm) != 0) {
		log_error("cannot start the thread of deferred homing");
		return -1;
	}
	return 0;
}

static void homer_stop(homer_t *hm)
{
	ticker_stop(&hm->ticker);
}

/* The store's messages (PostgreSQL's, for instance) into the node's log. */
static void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	/* the store's lines name their module, not a line of this file */
	log_msg_at(level < LOG_ERROR   ? LOG_ERROR
		   : level > LOG_DEBUG ? LOG_DEBUG
				       : level,
		   "store", 0, "store: %s", msg);
}

static int log_homed(void *ctx, idn_bytes_t id)
{
	(void)ctx;
	log_info("homed prefix %.*s", (int)id.len, id.p);
	return 0;
}

/* Moves template references written before the national form (index
 * 1999 IDN_TEMPLATE_REF) to index 1001 TEMPLATE (tplcheck.h). A failure
 * is logged and the node goes on: the pass runs again at the next start. */
static void upgrade_store(const node_conf_t *conf, idn_store_t *s)
{
	uint64_t moved;
	int err = tpl_upgrade_store(
		s, conf->case_suffix ? IDN_IDENT_CASE_SUFFIX : 0, conf->data,
		&moved);
	if (err)
		log_warn("template references not upgraded: %s",
			 idn_strerror(err));
	else if (moved)
		log_info("template references of %llu records moved to index "
			 "%d (" TPL_REF_TYPE ")",
			 (unsigned long long)moved, TPL_REF_INDEX);
}

/* Opens the store (and, with replicas, the primary alone, for reads
 * flagged authoritative), homes the configured prefixes and logs what it
 * holds. With PostgreSQL's primary down, the store starts on replicas
 * (read-only until the primary is back) and *defer_home says that homing
 * waits for the primary. Returns 0 or -1 after logging why. */
static int open_store(const node_conf_t *conf, idn_store_t **store,
		      idn_store_t **primary, bool *defer_home)
{
	const char *replicas[8];
	for (int i = 0; i < conf->nreplicas; i++)
		replicas[i] = conf->replicas[i];
	const char *where = conf->store[0] ? conf->store : conf->data;
	idn_store_spec_t spec;
	if (idn_store_spec_parse(where, &spec) != 0)
		return -1; /* main checked it */
	/* the log names a PostgreSQL store without its connection string,
	 * which may hold a password */
	const char *shown =
		spec.kind == IDN_STORE_PG ? "PostgreSQL" : spec.path;
	idn_store_opts_t so = {.path = where,
			       .map_size = conf->map_size,
			       .replicas = replicas,
			       .nreplicas = (unsigned)conf->nreplicas,
			       .log = store_log};
	int err = idn_store_open(&so, store);
	if (err) {
		log_error("cannot open store %s%s%s: %s",
			  spec.kind == IDN_STORE_PG ? "(" : "", shown,
			  spec.kind == IDN_STORE_PG ? ")" : "",
			  idn_strerror(err));
		return -1;
	}
	*defer_home = false;
	int todo;
	err = home_prefixes(*store, conf, &todo);
	if (err == IDN_ENOPRIMARY) {
		log_warn("homing of %d prefixes deferred until the "
			 "PostgreSQL primary is back",
			 todo);
		*defer_home = true;
	} else if (err != 0) {
		goto fail;
	}
	idn_store_stat_t st;
	if (idn_store_stat(*store, &st) == 0)
		log_info("store %s: %llu identifiers, %llu homed prefixes",
			 shown, (unsigned long long)st.records,
			 (unsigned long long)st.prefixes);
	idn_rtxn_t *rt;
	if (idn_rtxn_begin(*store, &rt) == 0) {
		idn_store_list_homed(rt, log_homed, NULL);
		idn_rtxn_free(rt);
	}
	*primary = NULL;
	if (conf->nreplicas > 0) {
		idn_store_opts_t po = so;
		po.replicas = NULL;
		po.nreplicas = 0;
		po.deferred = true; /* checked above; it may be down now */
		err = idn_store_open(&po, primary);
		if (err) {
			log_error(
				"cannot open the primary for authoritative reads: %s",
				idn_strerror(err));
			goto fail;
		}
	}
	return 0;
fail:
	idn_store_close(*store);
	*store = NULL;
	return -1;
}

/* The planes of a running node, each started and stopped here. */
typedef struct {
	idn_store_t *store, *primary;
	homer_t homer;	 /* homing deferred while the primary is down */
	pruner_t pruner; /* the change log within its limits */
	node_ctx_t node;
	bool node_up;
	ctlsock_t *ctl;
	server_t *handle;
	http_server_t *http;
	int lockfd;	 /* holds the data directory's lock (claim.h) */
	int storelockfd; /* and an LMDB store's elsewhere, or -1 */
	reload_t *rl;
	audit_t *audit;
} planes_t;

/* Stops what is running, in the reverse order of planes_start. */
static void planes_stop(planes_t *p)
{
	/* waits for a reload from the control socket to finish */
	if (p->rl != NULL)
		reload_attach(p->rl, NULL, NULL, NULL);
	http_stop(p->http); /* its handlers belong to p->node */
	p->http = NULL;
	repl_ops_stop(); /* a held follower's request ends */
	if (p->handle != NULL)
		server_stop(p->handle);
	p->handle = NULL;
	mirror_repair_cancel(); /* a repair on the control socket ends */
	ctlsock_close(p->ctl);
	p->ctl = NULL;
	homer_stop(&p->homer);
	mirror_stop();
	pruner_stop(&p->pruner);
	if (p->node_up)
		node_ctx_fini(&p->node);
	p->node_up = false;
	audit_close(p->audit);
	p->audit = NULL;
	if (p->primary)
		idn_store_close(p->primary);
	if (p->store)
		idn_store_close(p->store);
	p->store = p->primary = NULL;
	/* last: the store is closed, another node may have the directory */
	if (p->storelockfd >= 0)
		close(p->storelockfd);
	if (p->lockfd >= 0)
		close(p->lockfd);
	p->lockfd = p->storelockfd = -1;
}

/* The control socket is claimed first: a live node on it owns the data
 * directory, and this one must go before it opens or writes the store.
 * Then the data directory's lock (also with a PostgreSQL store: the
 * control socket and the node's files live there) and the listen
 * addresses (claim.h), before the store is opened. Then the store, the Handle
 * server (UDP and TCP), the control socket's service and HTTP. Returns 0, or -1
 * after logging why with nothing left running. */
static int planes_start(planes_t *p, const node_conf_t *conf, reload_t *rl)
{
	memset(p, 0, sizeof(*p));
	p->lockfd = p->storelockfd = -1;
	p->rl = rl;
	/* the default control socket lives in the data directory */
	if (mkdir(conf->data, 0750) != 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", conf->data, strerror(errno));
		return -1;
	}
	if (ctlsock_open(conf->control, &p->ctl) != 0)
		return -1;
	if (claim_dir(conf->data, "data directory", &p->lockfd) != 0 ||
	    claim_store_dir(conf, &p->storelockfd) != 0 ||
	    claim_addresses(conf) != 0)
		goto fail;
	bool defer_home = false;
	if (open_store(conf, &p->store, &p->primary, &defer_home) != 0)
		goto fail;
	if (defer_home && homer_start(&p->homer, p->store, conf) != 0)
		goto fail;
	if (!defer_home)
		upgrade_store(conf, p->store);
	if (pruner_start(&p->pruner, p->primary ? p->primary : p->store, conf,
			 !defer_home) != 0)
		goto fail;
	if (node_ctx_init(&p->node, conf, p->store, p->primary) != 0)
		goto fail;
	p->node_up = true;
	if (conf->audit_log[0] &&
	    audit_open(conf->audit_log, conf->audit_required, &p->audit) != 0)
		goto fail;
	p->node.audit = p->audit;
	p->node.reload = reload_hook;
	p->node.reload_ctx = rl;
	repl_ops_init(conf);
	if (server_start(&p->node, &p->handle) != 0)
		goto fail;
	if (mirror_start(conf, p->store) != 0)
		goto fail;
	if (ctlsock_start(p->ctl, &p->node) != 0)
		goto fail;
	if (http_start(&p->node, conf, &p->http) != 0)
		goto fail;
	reload_attach(rl, p->handle, p->http, p->audit);
	return 0;
fail:
	planes_stop(p);
	return -1;
}

int main(int argc, char **argv)
{
	node_conf_t conf;
	int rc = conf_load(&conf, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	log_set_level(conf.log_level);
	log_set_format(conf.log_format);

	/* Signals are taken by sigwait in this thread only. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* a store named wrongly is a usage error, found before anything
	 * starts */
	const char *where = conf.store[0] ? conf.store : conf.data;
	idn_store_spec_t spec;
	if (idn_store_spec_parse(where, &spec) != 0) {
		log_error("store '%s': name a store as lmdb:DIR, "
			  "postgresql://... or a libpq key=value string",
			  where);
		return 2;
	}
	planes_t p;
	reload_t rl;
	reload_init(&rl, argc, argv, &conf);
	if (planes_start(&p, &conf, &rl) != 0) {
		reload_fini(&rl);
		return 1;
	}
	for (int i = 0; i < conf.nlisten; i++)
		log_info("listening on %s (udp, tcp)", conf.listen[i]);
	log_info("control socket %s", conf.control);
	log_info("idnode ready");

	int sig = 0;
	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
		char report[4096];
		log_info("SIGHUP: reloading");
		reload_run(&rl, report, sizeof(report));
	}
	log_info("signal %d: shutting down", sig);
	planes_stop(&p);
	reload_fini(&rl);
	log_info("stopped");
	log_flush();
	return 0;
}
