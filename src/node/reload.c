/* Reload (reload.h): the schema's rows say what a running node may take
 * without a restart (conf_opt_t.live); this applies those and names the
 * rest. */
#include "reload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void reload_init(reload_t *r, int argc, char **argv, node_conf_t *conf)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->argc = argc;
	r->argv = argv;
	r->conf = conf;
}

void reload_fini(reload_t *r)
{
	pthread_mutex_destroy(&r->lock);
}

void reload_attach(reload_t *r, server_t *handle, http_server_t *http,
		   audit_t *audit)
{
	pthread_mutex_lock(&r->lock);
	r->handle = handle;
	r->http = http;
	r->audit = audit;
	pthread_mutex_unlock(&r->lock);
}

/* Copies live row o of from into the running conf. Numbers are stored
 * atomically: the planes' threads read them per use. */
static void apply_row(node_conf_t *to, const node_conf_t *from,
		      const conf_opt_t *o)
{
	char *dst = (char *)to + o->off;
	const char *src = (const char *)from + o->off;
	switch (o->size) {
	case sizeof(uint8_t):
		__atomic_store_n((uint8_t *)dst, *(const uint8_t *)src,
				 __ATOMIC_RELAXED);
		break;
	case sizeof(uint16_t):
		__atomic_store_n((uint16_t *)dst, *(const uint16_t *)src,
				 __ATOMIC_RELAXED);
		break;
	case sizeof(uint32_t):
		__atomic_store_n((uint32_t *)dst, *(const uint32_t *)src,
				 __ATOMIC_RELAXED);
		break;
	case sizeof(uint64_t):
		__atomic_store_n((uint64_t *)dst, *(const uint64_t *)src,
				 __ATOMIC_RELAXED);
		break;
	default:
		/* text (the token file's name): only reloads read it */
		memcpy(dst, src, o->size);
	}
}

/* A list of option names, as JSON and as the log's text. */
typedef struct {
	char json[1024];
	char text[1024];
	int n;
} names_t;

static void names_add(names_t *l, const char *name)
{
	size_t j = strlen(l->json), t = strlen(l->text);
	snprintf(l->json + j, sizeof(l->json) - j, "%s\"%s\"", l->n ? "," : "",
		 name);
	snprintf(l->text + t, sizeof(l->text) - t, "%s%s", l->n ? ", " : "",
		 name);
	l->n++;
}

static bool is_token_row(const conf_opt_t *o)
{
	return o->off == offsetof(node_conf_t, http_token_file);
}

static void log_outcome(const names_t *applied, const names_t *restart,
			const names_t *failed)
{
	if (applied->n)
		log_info("reload: applied %s", applied->text);
	if (failed->n)
		log_error("reload: %s could not be applied (kept the running "
			  "value%s)",
			  failed->text, failed->n > 1 ? "s" : "");
	if (restart->n)
		log_warn("reload: %s need%s a restart (kept the running "
			 "value%s)",
			 restart->text, restart->n > 1 ? "" : "s",
			 restart->n > 1 ? "s" : "");
	if (!applied->n && !failed->n && !restart->n)
		log_info("reload: nothing changed");
}

/* Compares every setting of fresh with the running conf and applies the
 * live ones. */
static void reload_apply(reload_t *r, const node_conf_t *fresh,
			 names_t *applied, names_t *restart, names_t *failed)
{
	size_t n;
	const conf_opt_t *rows = conf_options(&n);
	bool rrl = false, token_named = false;
	for (size_t i = 0; i < n; i++) {
		const conf_opt_t *o = &rows[i];
		if (o->type == CONF_FILE || o->type == CONF_HELP ||
		    o->type == CONF_VERSION || conf_same(o, r->conf, fresh))
			continue;
		if (!o->live) {
			names_add(restart, o->name);
			continue;
		}
		if (is_token_row(o)) {
			token_named = true; /* applied below, with the file */
			continue;
		}
		apply_row(r->conf, fresh, o);
		names_add(applied, o->name);
		rrl |= !strncmp(o->name, "rrl-", 4);
	}
	log_set_level(r->conf->log_level);
	log_set_format(r->conf->log_format);
	if (rrl && r->handle != NULL)
		server_reload(r->handle);
	/* the file is read again even under the same name: a rotation */
	int tok = http_reload(r->http, fresh);
	const conf_opt_t *trow = NULL;
	for (size_t i = 0; i < n && trow == NULL; i++)
		if (is_token_row(&rows[i]))
			trow = &rows[i];
	if (tok < 0) {
		names_add(failed, trow->name);
	} else if (tok > 0 || token_named) {
		apply_row(r->conf, fresh, trow);
		names_add(applied, trow->name);
	}
	/* the audit log is reopened under its name: logrotate moved it */
	if (r->audit != NULL) {
		if (audit_reopen(r->audit) != 0)
			names_add(failed, "audit-log");
		else
			names_add(applied, "audit-log");
	}
	/* the certificate and key are read again under the same names (a
	 * renewal); a pair that does not load leaves the running one */
	if (r->conf->https[0]) {
		if (http_tls_reload(r->http) != 0)
			names_add(failed, "http-tls-cert");
		else
			names_add(applied, "http-tls-cert");
	}
}

int reload_run(reload_t *r, char *json, size_t cap)
{
	node_conf_t *fresh = malloc(sizeof(*fresh));
	if (fresh == NULL) {
		snprintf(json, cap, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	int rc = conf_load(fresh, r->argc, r->argv);
	if (rc != 0) {
		log_error("reload: the configuration does not load (see the "
			  "line above); nothing changed");
		snprintf(json, cap,
			 "the configuration does not load (the node's log "
			 "says why); nothing changed");
		pthread_mutex_unlock(&r->lock);
		free(fresh);
		return -1;
	}
	names_t applied = {0}, restart = {0}, failed = {0};
	reload_apply(r, fresh, &applied, &restart, &failed);
	pthread_mutex_unlock(&r->lock);
	free(fresh);
	log_outcome(&applied, &restart, &failed);
	snprintf(json, cap,
		 "{\"applied\":[%s],\"restart\":[%s],\"failed\":[%s]}",
		 applied.json, restart.json, failed.json);
	return 0;
}

int reload_hook(void *ctx, char *json, size_t cap)
{
	return reload_run(ctx, json, cap);
}
