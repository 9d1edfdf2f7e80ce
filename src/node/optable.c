/* The op table (optable.h): every operation the node serves, who may run
 * it and which rights it needs, in one place. */
#include "optable.h"

#include <stddef.h>

#include "account.h"
#include "repl_ops.h"

#define ANON PRINCIPAL_ANONYMOUS
#define ADMIN PRINCIPAL_ADMIN
#define OPER PRINCIPAL_OPERATOR

/* Ascending by code (optable_find bisects). */
static const op_row_t rows[] = {
	/* code, name, minimum, rights, defer, network only, reads primary,
	 * handler, what its challenge answer does (NULL: run it), what its
	 * audit line names (NULL: not a write), server admins run it */
	{IDN_OC_RESOLUTION, "resolution", ANON, NULL, OP_DEFER_SELF, false,
	 true, do_resolve},
	{IDN_OC_GET_SITE_INFO, "site info", ANON, NULL, OP_DEFER_NO, false,
	 false, do_site_info},
	{IDN_OC_CREATE, "create", ADMIN, authz_rights_create, OP_DEFER_RUN,
	 false, false, do_values_op, NULL, audit_desc_values},
	{IDN_OC_DELETE, "delete", ADMIN, authz_rights_delete, OP_DEFER_RUN,
	 false, false, do_delete, NULL, audit_desc_id},
	{IDN_OC_ADD_VALUE, "add value", ADMIN, authz_rights_add, OP_DEFER_RUN,
	 false, false, do_values_op, NULL, audit_desc_values},
	{IDN_OC_REMOVE_VALUE, "remove value", ADMIN, authz_rights_remove,
	 OP_DEFER_RUN, false, false, do_remove, NULL, audit_desc_remove},
	{IDN_OC_MODIFY_VALUE, "modify value", ADMIN, authz_rights_modify,
	 OP_DEFER_RUN, false, false, do_values_op, NULL, audit_desc_values},
	{IDN_OC_LIST, "list", ADMIN, authz_rights_list, OP_DEFER_RUN, false,
	 false, do_list},
	/* the answer releases the request it was challenged for, which may
	 * write */
	{IDN_OC_CHALLENGE_ANSWER, "challenge answer", ANON, NULL, OP_DEFER_RUN,
	 true, false, do_answer},
	{IDN_OC_HOME, "home", ADMIN, authz_rights_home, OP_DEFER_RUN, false,
	 false, do_home, NULL, audit_desc_id, true},
	{IDN_OC_UNHOME, "unhome", ADMIN, authz_rights_unhome, OP_DEFER_RUN,
	 false, false, do_home, NULL, audit_desc_id, true},
	{IDN_OC_LIST_HOMED, "list homed", ADMIN, authz_rights_none,
	 OP_DEFER_RUN, false, false, do_list_homed},
	/* a Diffie-Hellman setup opens a keyed session at once (its CPU on
	 * the blocking threads, like an answer's check); answering the
	 * challenge of one without a key exchange opens the connection's */
	{IDN_OC_SESSION_SETUP, "session setup", ANON, NULL, OP_DEFER_RUN, true,
	 false, do_session_setup, session_open},
	{IDN_OC_SESSION_TERMINATE, "session terminate", ANON, NULL, OP_DEFER_NO,
	 true, false, do_session_end},
	/* HANDLE.NET's replication (repl_cnri.c): replication admins, over
	 * TCP; 1001 may be held open for up to 25 s, on a blocking
	 * handler */
	{IDN_OC_GET_NEXT_TXN_ID, "next txn id", ADMIN, repl_rights,
	 OP_DEFER_RUN, false, false, do_next_txn_id},
	{IDN_OC_RETRIEVE_TXN_LOG, "retrieve txn log", ADMIN, repl_rights,
	 OP_DEFER_RUN, false, false, do_cnri_retrieve},
	{IDN_OC_DUMP_HANDLES, "dump handles", ADMIN, repl_rights, OP_DEFER_RUN,
	 false, false, do_cnri_dump},
	/* HANDLE.NET's hdl-docheckpoint: a dated copy under backup-dir
	 * (backup_ops.c), for backup admins (HANDLE.NET's backup_admins:
	 * its server admins may not) and replication admins; the copy
	 * blocks only the blocking handler it runs on */
	{IDN_OC_BACKUP_SERVER, "backup server", ADMIN, backup_rights,
	 OP_DEFER_RUN, false, false, do_backup_server},
	{IDN_OC_STATS, "stats", OPER, NULL, OP_DEFER_NO, false, false,
	 do_stats},
	{IDN_OC_CACHE_FLUSH, "cache flush", OPER, NULL, OP_DEFER_NO, false,
	 false, do_cache_flush},
	/* audited as one line per batch, with its counts */
	{IDN_OC_BULK_CREATE, "bulk create", OPER, NULL, OP_DEFER_NO, false,
	 false, do_bulk_create, NULL, audit_desc_bulk},
	/* anyone may search; what it matches follows the principal */
	{IDN_OC_SEARCH, "search", ANON, NULL, OP_DEFER_NO, false, false,
	 do_search},
	/* adding or removing a type writes; listing them does not */
	{IDN_OC_INDEX, "index", OPER, NULL, OP_DEFER_NO, false, false, do_index,
	 NULL, audit_desc_index},
	{IDN_OC_RELOAD, "reload", OPER, NULL, OP_DEFER_NO, false, false,
	 do_reload},
	/* the control connection has a thread of its own: the copy blocks
	 * only it */
	{IDN_OC_BACKUP, "backup", OPER, NULL, OP_DEFER_NO, false, false,
	 do_backup},
	/* the accounts file holds password hashes: the operator's alone */
	{IDN_OC_ACCOUNT, "account", OPER, NULL, OP_DEFER_NO, false, false,
	 do_account, NULL, audit_desc_account},
	{IDN_OC_REPL_STATUS, "replication status", OPER, NULL, OP_DEFER_NO,
	 false, false, do_repl_status},
	/* idnode's replication (repl_ops.c), as 1001 and 1002 */
	{IDN_OC_REPL_CHANGES, "replication changes", ADMIN, repl_rights,
	 OP_DEFER_RUN, false, false, do_retrieve_txn},
	{IDN_OC_REPL_COPY, "replication copy", ADMIN, repl_rights, OP_DEFER_RUN,
	 false, false, do_dump_handles},
	/* on the control connection's own thread, like a backup: the
	 * source's copy blocks only it */
	{IDN_OC_REPAIR, "repair", OPER, NULL, OP_DEFER_NO, false, false,
	 do_repair},
	/* the national system's key login: answering its challenge binds
	 * the session id the client chose to its connection (login.c) */
	{IDN_OC_LOGIN, "login", ANON, NULL, OP_DEFER_NO, true, false, do_login,
	 login_open},
};

const op_row_t *optable_find(uint32_t code)
{
	size_t lo = 0, hi = sizeof(rows) / sizeof(rows[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rows[mid].code == code)
			return &rows[mid];
		if (rows[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const op_row_t *optable_rows(size_t *n)
{
	*n = sizeof(rows) / sizeof(rows[0]);
	return rows;
}

int principal_rank(principal_kind_t kind)
{
	switch (kind) {
	case PRINCIPAL_ANONYMOUS:
		return 0;
	case PRINCIPAL_ADMIN:
		return 1;
	case PRINCIPAL_OPERATOR:
	case PRINCIPAL_HTTP:
		return 2;
	}
	return 0;
}
