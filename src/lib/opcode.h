/* Every Handle operation code idnode and idctl know, public and private,
 * defined once. Which principal may run an op, whether it is challenged
 * and which HS_ADMIN rights it needs are decided by the daemon's op table
 * (src/node/optable.c), never by ranges of these numbers. */
#ifndef IDN_OPCODE_H
#define IDN_OPCODE_H

enum {
	/* the Handle protocol 2.x (HANDLE.NET technical manual) */
	IDN_OC_RESOLUTION = 1,
	IDN_OC_GET_SITE_INFO = 2,
	IDN_OC_CREATE = 100,
	IDN_OC_DELETE = 101,
	IDN_OC_ADD_VALUE = 102,
	IDN_OC_REMOVE_VALUE = 103,
	IDN_OC_MODIFY_VALUE = 104,
	IDN_OC_LIST = 105,
	IDN_OC_CHALLENGE_ANSWER = 200,
	IDN_OC_VERIFY_CHALLENGE = 201,
	IDN_OC_HOME = 300,
	IDN_OC_UNHOME = 301,
	IDN_OC_LIST_HOMED = 302,
	IDN_OC_SESSION_SETUP = 400,
	IDN_OC_SESSION_TERMINATE = 401,
	IDN_OC_SESSION_EXCHANGE_KEY = 402,
	/* replication (repl.h): served to replication admins over TCP */
	IDN_OC_GET_NEXT_TXN_ID = 1000,
	IDN_OC_RETRIEVE_TXN_LOG = 1001,
	IDN_OC_DUMP_HANDLES = 1002,
	IDN_OC_BACKUP_SERVER = 1003, /* a dated hot copy (server admins) */
	/* idnode's own operations (private range) */
	IDN_OC_STATS = 1100,	   /* node counters (control socket) */
	IDN_OC_CACHE_FLUSH = 1101, /* empty the recursive cache */
	IDN_OC_BULK_CREATE = 1102, /* idctl import: many creates at once */
	IDN_OC_SEARCH = 1103,	   /* search.h */
	IDN_OC_INDEX = 1104,	   /* declared search types (search.h) */
	IDN_OC_RELOAD = 1105,	   /* re-read the configuration */
	IDN_OC_BACKUP = 1106,	   /* a hot copy of the store */
	IDN_OC_ACCOUNT = 1107,	   /* SNMS login accounts (idctl account) */
	IDN_OC_REPL_STATUS = 1108, /* the mirror's state, as JSON */
	/* idnode's replication (repl.h): the change log as it is, with the
	 * search index's types, long polled; and the copy */
	IDN_OC_REPL_CHANGES = 1109,
	IDN_OC_REPL_COPY = 1110,
	/* a mirror's damaged records replaced from its source (control
	 * socket) */
	IDN_OC_REPAIR = 1111,
	/* the national system's (IDIS SDK): key login binding a session id
	 * the client chose to its connection */
	IDN_OC_LOGIN = 2001,
};

/* The actions of IDN_OC_ACCOUNT (src/node/account.h). */
enum {
	IDN_ACCOUNT_LIST = 0,
	IDN_ACCOUNT_ADD = 1,
	IDN_ACCOUNT_REMOVE = 2,
	IDN_ACCOUNT_REPLACE = 3, /* add, or change an existing one */
};

#endif
