/* The PostgreSQL backend's view of its servers (see store_pg.c for the
 * design): the one translation of libpq failures into library codes, and
 * each server's outages.
 *
 * An outage begins when a connection to a server fails or one in use is
 * lost. It is logged once ("postgresql primary unreachable: …"); what
 * fails during it is counted, not logged, and the first connection that
 * succeeds ends it with one line ("… back after N s, M requests failed").
 * A server that cannot be reached is not tried again for a back-off that
 * starts at BACKOFF_MIN_MS and doubles up to BACKOFF_MAX_MS; meanwhile the
 * requests that need it fail at once. When the back-off ends, one request
 * probes the server and the others keep failing fast until it has. */
#include "store_pg.h"

#include <errno.h>
#include <string.h>

#include "error.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000

/* SQLSTATEs with a code of their own; the others by class, then
 * IDN_ESTORE. */
static const struct {
	const char *state;
	int err;
} sqlstates[] = {
	{"53100", IDN_ENOSPACE}, /* disk_full */
	{"40001", -EAGAIN},	 /* serialization_failure: retry */
	{"40P01", -EAGAIN},	 /* deadlock_detected: retry */
	{"57014", IDN_ETIMEOUT}, /* query_canceled (statement_timeout) */
	{"23505", IDN_EEXISTS},	 /* unique_violation */
	{"42P01", IDN_ECORRUPT}, /* undefined_table: not our schema */
	{"42703", IDN_ECORRUPT}, /* undefined_column */
	{"42P07", IDN_ECORRUPT}, /* duplicate_table: tables without version */
	{"XX001", IDN_ECORRUPT}, /* data_corrupted */
	{"XX002", IDN_ECORRUPT}, /* index_corrupted */
	{"08", IDN_ESTORE},	 /* connection exceptions */
	{"53", IDN_ESTORE},	 /* out of memory, connections, limits */
	{"57", IDN_ESTORE},	 /* shutdown, cannot connect now */
	{"25", IDN_ESTORE},	 /* read-only transaction: not a primary */
	{"28", IDN_ESTORE},	 /* authorization */
};

int idn__pg_sqlstate_error(const char *st)
{
	if (st == NULL || strlen(st) != 5)
		return IDN_ESTORE;
	for (size_t i = 0; i < sizeof(sqlstates) / sizeof(sqlstates[0]); i++)
		if (strncmp(st, sqlstates[i].state,
			    strlen(sqlstates[i].state)) == 0)
			return sqlstates[i].err;
	return IDN_ESTORE;
}

bool idn__pg_result_fatal(const PGresult *r)
{
	const char *sev =
		r ? PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
	return sev != NULL &&
	       (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0);
}

/* The one translation of libpq failures: a failed result (r), or a
 * connection that failed outside any result (r NULL). Logs the server's
 * message, which the code cannot carry; a lost connection is an outage
 * of its server, logged once. A FATAL error ends the session as surely
 * as a closed socket (the server's "terminating connection"). */
int idn__pg_error(pstore_t *s, pconn_t *pc, const PGresult *r)
{
	if (r == NULL || PQstatus(pc->c) == CONNECTION_BAD ||
	    idn__pg_result_fatal(r)) {
		pc->broken = true;
		char why[512];
		snprintf(why, sizeof(why), "connection lost: %s",
			 r ? PQresultErrorMessage(r) : PQerrorMessage(pc->c));
		idn__pg_server_lost(s, pc->srv, why);
		return IDN_ESTORE;
	}
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int err = idn__pg_sqlstate_error(st);
	idn__pg_log(s, err == -EAGAIN ? 2 : 1,
		    "postgresql %s: %s (SQLSTATE %s)", s->srv[pc->srv].label,
		    PQresultErrorMessage(r), st ? st : "none");
	return err;
}

/* ---- outages ---- */

/* The server's address, from its label ("primary 127.0.0.1:5432"). */
static const char *addr(const server_t *sv)
{
	const char *a = sv->label + strlen(sv->role);
	return *a == ' ' ? a + 1 : "";
}

/* Begins an outage of sv if none is going on (mu held): returns true if
 * the caller is to log it. Otherwise counts one more failure. */
static bool outage_begin(server_t *sv, int64_t now)
{
	if (sv->out_since != 0) {
		sv->out_failed++;
		return false;
	}
	sv->out_since = now;
	sv->out_failed = 1;
	return true;
}

static void log_unreachable(pstore_t *s, const server_t *sv, const char *why)
{
	idn__pg_log(s, 0, "postgresql %s unreachable: %s%s%s", sv->role,
		    addr(sv), addr(sv)[0] ? ": " : "", why);
}

bool idn__pg_server_down(pstore_t *s, int i, int64_t now)
{
	server_t *sv = &s->srv[i];
	pthread_mutex_lock(&s->mu);
	bool down = sv->down_until > now;
	if (down)
		sv->out_failed++;
	else if (sv->down_until != 0)
		/* this caller probes; the others keep failing fast */
		sv->down_until = now + sv->backoff_ms;
	pthread_mutex_unlock(&s->mu);
	return down;
}

void idn__pg_server_mark(pstore_t *s, int i, bool up, const char *why)
{
	server_t *sv = &s->srv[i];
	int64_t now = idn__pg_now_ms();
	pthread_mutex_lock(&s->mu);
	int64_t since = sv->out_since;
	uint64_t failed = sv->out_failed;
	bool begun = false;
	if (up) {
		sv->down_until = 0;
		sv->backoff_ms = 0;
		sv->out_since = 0;
		sv->out_failed = 0;
	} else {
		sv->backoff_ms = sv->backoff_ms == 0 ? BACKOFF_MIN_MS
				 : sv->backoff_ms >= BACKOFF_MAX_MS / 2
					 ? BACKOFF_MAX_MS
					 : sv->backoff_ms * 2;
		sv->down_until = now + sv->backoff_ms;
		begun = outage_begin(sv, now);
	}
	pthread_mutex_unlock(&s->mu);
	if (begun)
		log_unreachable(s, sv, why ? why : "cannot connect");
	if (up && since != 0)
		idn__pg_log(s, 2, "postgresql %s back after %lld s, %llu %s",
			    sv->role, (long long)((now - since + 500) / 1000),
			    (unsigned long long)failed,
			    i == 0 ? "requests failed"
				   : "requests turned away");
}

void idn__pg_server_lost(pstore_t *s, int i, const char *why)
{
	server_t *sv = &s->srv[i];
	pthread_mutex_lock(&s->mu);
	bool begun = outage_begin(sv, idn__pg_now_ms());
	pthread_mutex_unlock(&s->mu);
	if (begun)
		log_unreachable(s, sv, why);
}
