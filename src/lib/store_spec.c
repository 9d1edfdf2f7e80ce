/* Naming a store (store.h): the one parser of the names that idnode's
 * --store and --data, idctl migrate and idctl populate accept. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "store.h"

/* A libpq key=value string names a server or a database (a directory
 * path holds none of these keywords at a word's start). */
static bool is_pg_keywords(const char *name)
{
	static const char *const kw[] = {
		"host=", "hostaddr=", "dbname=", "service="};
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		const char *p = strstr(name, kw[i]);
		if (p && (p == name || p[-1] == ' '))
			return true;
	}
	return false;
}

int idn_store_spec_parse(const char *name, idn_store_spec_t *out)
{
	if (out == NULL)
		return IDN_EINVAL;
	memset(out, 0, sizeof(*out));
	if (name == NULL || name[0] == '\0')
		return IDN_EINVAL;
	if (strncmp(name, "lmdb:", 5) == 0) {
		if (name[5] == '\0')
			return IDN_EINVAL;
		out->kind = IDN_STORE_LMDB;
		out->path = name + 5;
		return 0;
	}
	if (strncmp(name, "postgresql://", 13) == 0 ||
	    strncmp(name, "postgres://", 11) == 0 || is_pg_keywords(name)) {
		out->kind = IDN_STORE_PG;
		out->path = name;
		return 0;
	}
	out->kind = IDN_STORE_LMDB;
	out->path = name;
	return 0;
}

void idn_store_spec_label(const idn_store_spec_t *spec, char *out, size_t cap)
{
	if (cap == 0)
		return;
	out[0] = '\0';
	if (spec == NULL || spec->path == NULL)
		return;
	if (spec->kind != IDN_STORE_PG) {
		snprintf(out, cap, "lmdb:%s", spec->path);
		return;
	}
	PQconninfoOption *o = PQconninfoParse(spec->path, NULL);
	const char *host = "", *port = "", *db = "";
	for (PQconninfoOption *q = o; q && q->keyword; q++) {
		if (!strcmp(q->keyword, "host") && q->val)
			host = q->val;
		else if (!strcmp(q->keyword, "port") && q->val)
			port = q->val;
		else if (!strcmp(q->keyword, "dbname") && q->val)
			db = q->val;
	}
	snprintf(out, cap, "postgresql://%s%s%s/%s", host, *port ? ":" : "",
		 port, db);
	PQconninfoFree(o);
}
