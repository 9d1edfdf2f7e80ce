/* Accounts of the national SNMS API's token login (docs/snms-api.md):
 * a name and password that log in over HTTP (POST /identity/token and
 * /identity/token/v1) and then act as one Handle admin (ADMIN_ID:INDEX),
 * with that admin's HS_ADMIN rights (principal.h, PRINCIPAL_ADMIN).
 *
 * They live in one file (http-accounts-file; 0600, written whole and
 * renamed), one line an account:
 *
 *   NAME <TAB> INDEX:ADMIN_ID <TAB> pbkdf2-sha256$ITER$SALT$HASH <TAB> V1
 *
 * HASH is PBKDF2-HMAC-SHA256 over sha256hex(password) (hex, lower case),
 * the plain login's proof. The guide's v1 login sends
 * sha256hex(sha256hex(password) + "YYYY-MM-DD"), which only a holder of
 * sha256hex(password) can check: V1 is that value sealed with AES-256-GCM
 * under a key of its own (the file FILE.key, 0600, made with the first
 * account), so the accounts file alone gives no password and no key to
 * attack one offline.
 *
 * The node is the only writer (idctl account talks to it through the
 * control socket, op IDN_OC_ACCOUNT); logins read the file each time, so
 * a change applies to the next login. */
#ifndef IDN_NODE_ACCOUNT_H
#define IDN_NODE_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "audit.h"
#include "config.h"
#include "ident.h"

#define ACCOUNT_NAME_MAX 50 /* the guide's username: at most 50 */
#define ACCOUNT_PASS_MAX 64 /* the guide's password: at most 64 */
#define ACCOUNT_MAX 256	    /* accounts in one file */
#define ACCOUNT_PBKDF2_ITER 60000

typedef struct {
	char name[ACCOUNT_NAME_MAX + 1];
	char admin[IDN_IDENT_MAX + 1]; /* the admin's identifier */
	uint32_t index;		       /* its key's value index */
} account_t;

/* Whether name is a valid account name: 1..50 bytes of letters, digits
 * and . _ @ - */
bool account_name_ok(const char *name);

/* Adds (or, with replace, replaces) account name acting as admin:index
 * with password pass to file. Returns 0; IDN_EEXISTS (exists, !replace);
 * IDN_EINVAL (a bad name, admin or password: 1..64 bytes); IDN_ETOOMANY;
 * -errno. */
int account_add(const char *file, const char *name, const char *admin,
		uint32_t index, const char *pass, bool replace);

/* Removes account name. Returns 0, IDN_ENOTFOUND or -errno. */
int account_remove(const char *file, const char *name);

/* The accounts of file, in file order, into out[0..cap); *n gets how
 * many. A missing file has none. Returns 0 or -errno / IDN_ECORRUPT. */
int account_list(const char *file, account_t *out, size_t cap, size_t *n);

/* Checks a login of user with pass: the plain form (v1 false: pass is
 * the password) or the guide's v1 form (pass is
 * sha256hex(sha256hex(password) + date), date now's UTC day, the day
 * before or after, so clients in any time zone log in). Returns 0 with
 * *out the account; 1 when the name or password is wrong; -errno or
 * IDN_ECORRUPT when the file cannot be read. */
int account_check(const char *file, const char *user, const char *pass, bool v1,
		  time_t now, account_t *out);

/* The accounts file of c: http-accounts-file, else DATA/http-accounts;
 * written into buf[0..cap). Returns buf, or NULL when it does not fit. */
const char *account_file(const node_conf_t *c, char *buf, size_t cap);

/* sha256hex(sha256hex(pass) + date) into out (64 hex digits, NUL): the
 * guide's v1 password. */
void account_v1_proof(const char *pass_sha256hex, const char *date,
		      char out[65]);

/* The audit description of an IDN_OC_ACCOUNT request (audit.h): the
 * account's name as id; a listing writes nothing. */
bool audit_desc_account(const idn_msg_t *req, idn_arena_t *ar,
			audit_rec_t *rec);

#endif
