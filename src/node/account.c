/* The accounts file of the SNMS token login (account.h). */
#include "account.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "handler_int.h"
#include "hex.h"
#include "io.h"
#include "log.h"
#include "opcode.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define LINE_MAX_LEN (IDN_IDENT_MAX + 512) /* name, admin, hash, sealed */

/* Writers of the file (control requests may run on several threads):
 * one at a time, so no change is lost between a read and the rename. */
static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;

/* One line of the file, as read. */
typedef struct {
	account_t a;
	char line[LINE_MAX_LEN];
} entry_t;

bool account_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > ACCOUNT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '-'))
			return false;
	}
	return true;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned dl = 0;
	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	idn_hex_encode(d, sizeof(d), out);
}

void account_v1_proof(const char *pass_sha256hex, const char *date,
		      char out[65])
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s%s", pass_sha256hex, date);
	sha256_hex(buf, (size_t)n, out);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* Reads the file into e[0..cap); *n lines. A missing file: none. */
static int load(const char *file, entry_t *e, size_t cap, size_t *n)
{
	*n = 0;
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	char line[LINE_MAX_LEN];
	int err = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (len == 0 || line[0] == '#')
			continue;
		if (*n == cap) {
			err = IDN_ETOOMANY;
			break;
		}
		entry_t *x = &e[*n];
		memcpy(x->line, line, len + 1);
		char *tab = strchr(line, '\t');
		char *colon = tab ? strchr(tab + 1, ':') : NULL;
		char *tab2 = colon ? strchr(colon, '\t') : NULL;
		if (tab == NULL || colon == NULL || tab2 == NULL ||
		    (size_t)(tab - line) > ACCOUNT_NAME_MAX ||
		    (size_t)(tab2 - colon - 1) > IDN_IDENT_MAX) {
			err = IDN_ECORRUPT;
			break;
		}
		memset(&x->a, 0, sizeof(x->a));
		memcpy(x->a.name, line, (size_t)(tab - line));
		x->a.index = (uint32_t)strtoul(tab + 1, NULL, 10);
		memcpy(x->a.admin, colon + 1, (size_t)(tab2 - colon - 1));
		(*n)++;
	}
	fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	return err;
}

/* Writes e[0..n) to file whole (a temporary file renamed over it). */
static int store(const char *file, const entry_t *e, size_t n)
{
	char tmp[1100];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		err = idn_write_all(fd, e[i].line, strlen(e[i].line));
		if (err == 0)
			err = idn_write_all(fd, "\n", 1);
	}
	if (err == 0 && fsync(fd) != 0)
		err = -errno;
	close(fd);
	if (err == 0 && rename(tmp, file) != 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* The sealing key FILE.key, made when make and absent. */
static int seal_key(const char *file, bool make, uint8_t key[KEY_LEN])
{
	char path[1100];
	if ((size_t)snprintf(path, sizeof(path), "%s.key", file) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		int err = idn_read_all(fd, key, KEY_LEN);
		close(fd);
		return err;
	}
	if (errno != ENOENT || !make)
		return -errno;
	if (RAND_bytes(key, KEY_LEN) != 1)
		return IDN_EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int err = idn_write_all(fd, key, KEY_LEN);
	if (err == 0 && fsync(fd) != 0)
		err = -errno;
	close(fd);
	return err;
}

/* AES-256-GCM of in[0..n) (the account's name as associated data, so a
 * sealed value cannot be moved to another account): IV || ct || tag. */
static int seal(const uint8_t key[KEY_LEN], const char *name, const uint8_t *in,
		size_t n, uint8_t *out)
{
	if (RAND_bytes(out, IV_LEN) != 1)
		return -1;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok = c != NULL &&
		      EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key,
					 out) == 1 &&
		      EVP_EncryptUpdate(c, NULL, &len, (const uint8_t *)name,
					(int)strlen(name)) == 1 &&
		      EVP_EncryptUpdate(c, out + IV_LEN, &len, in, (int)n) ==
			      1 &&
		      EVP_EncryptFinal_ex(c, out + IV_LEN + len, &len) == 1 &&
		      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
					  out + IV_LEN + n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int unseal(const uint8_t key[KEY_LEN], const char *name,
		  const uint8_t *in, size_t n, uint8_t *out)
{
	if (n < IV_LEN + TAG_LEN)
		return -1;
	size_t ct = n - IV_LEN - TAG_LEN;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok = c != NULL &&
		      EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) ==
			      1 &&
		      EVP_DecryptUpdate(c, NULL, &len, (const uint8_t *)name,
					(int)strlen(name)) == 1 &&
		      EVP_DecryptUpdate(c, out, &len, in + IV_LEN, (int)ct) ==
			      1 &&
		      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
					  (void *)(in + IV_LEN + ct)) == 1 &&
		      EVP_DecryptFinal_ex(c, out + len, &len) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int find(const entry_t *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].a.name, name) == 0)
			return (int)i;
	return -1;
}

int account_add(const char *file, const char *name, const char *admin,
		uint32_t index, const char *pass, bool replace)
{
	size_t pl = strlen(pass);
	if (!account_name_ok(name) || pl == 0 || pl > ACCOUNT_PASS_MAX ||
	    strlen(admin) == 0 || strlen(admin) > IDN_IDENT_MAX ||
	    strpbrk(admin, "\t\n") != NULL)
		return IDN_EINVAL;
	entry_t *e = calloc(ACCOUNT_MAX, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	size_t n;
	uint8_t key[KEY_LEN], salt[SALT_LEN], hash[HASH_LEN];
	uint8_t sealed[IV_LEN + 64 + TAG_LEN];
	char h1[65], salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
	char sealed_hex[2 * sizeof(sealed) + 1];
	pthread_mutex_lock(&writer);
	int err = load(file, e, ACCOUNT_MAX, &n);
	int at = err ? -1 : find(e, n, name);
	if (err == 0 && at >= 0 && !replace)
		err = IDN_EEXISTS;
	if (err == 0 && at < 0 && n == ACCOUNT_MAX)
		err = IDN_ETOOMANY;
	if (err == 0)
		err = seal_key(file, true, key);
	if (err)
		goto out;
	sha256_hex(pass, pl, h1);
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    PKCS5_PBKDF2_HMAC(h1, 64, salt, sizeof(salt), ACCOUNT_PBKDF2_ITER,
			      EVP_sha256(), sizeof(hash), hash) != 1 ||
	    seal(key, name, (const uint8_t *)h1, 64, sealed) != 0) {
		err = IDN_EINVAL;
		goto out;
	}
	idn_hex_encode(salt, sizeof(salt), salt_hex);
	idn_hex_encode(hash, sizeof(hash), hash_hex);
	idn_hex_encode(sealed, sizeof(sealed), sealed_hex);
	entry_t *x = &e[at >= 0 ? (size_t)at : n];
	snprintf(x->line, sizeof(x->line),
		 "%s\t%u:%s\tpbkdf2-sha256$%d$%s$%s\t%s", name, index, admin,
		 ACCOUNT_PBKDF2_ITER, salt_hex, hash_hex, sealed_hex);
	err = store(file, e, at >= 0 ? n : n + 1);
out:
	pthread_mutex_unlock(&writer);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(h1, sizeof(h1));
	OPENSSL_cleanse(e, ACCOUNT_MAX * sizeof(*e));
	free(e);
	return err;
}

int account_remove(const char *file, const char *name)
{
	entry_t *e = calloc(ACCOUNT_MAX, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	size_t n;
	pthread_mutex_lock(&writer);
	int err = load(file, e, ACCOUNT_MAX, &n);
	int at = err ? -1 : find(e, n, name);
	if (err == 0 && at < 0)
		err = IDN_ENOTFOUND;
	if (err == 0) {
		memmove(&e[at], &e[at + 1], (n - (size_t)at - 1) * sizeof(*e));
		err = store(file, e, n - 1);
	}
	pthread_mutex_unlock(&writer);
	OPENSSL_cleanse(e, ACCOUNT_MAX * sizeof(*e));
	free(e);
	return err;
}

int account_list(const char *file, account_t *out, size_t cap, size_t *n)
{
	entry_t *e = calloc(ACCOUNT_MAX, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	size_t m;
	int err = load(file, e, ACCOUNT_MAX, &m);
	*n = 0;
	for (size_t i = 0; err == 0 && i < m && *n < cap; i++)
		out[(*n)++] = e[i].a;
	OPENSSL_cleanse(e, ACCOUNT_MAX * sizeof(*e));
	free(e);
	return err;
}

/* The fields after the admin of line: iterations, salt, hash, sealed. */
static int split_secrets(char *line, int *iter, char **salt, char **hash,
			 char **sealed)
{
	char *p = strchr(line, '\t');
	p = p ? strchr(p + 1, '\t') : NULL;
	if (p == NULL || strncmp(p + 1, "pbkdf2-sha256$", 14) != 0)
		return -1;
	p += 15;
	*iter = atoi(p);
	*salt = strchr(p, '$');
	*hash = *salt ? strchr(*salt + 1, '$') : NULL;
	*sealed = *hash ? strchr(*hash + 1, '\t') : NULL;
	if (*sealed == NULL || *iter < 1 || *iter > 10000000)
		return -1;
	*(*salt)++ = 0;
	*(*hash)++ = 0;
	*(*sealed)++ = 0;
	return 0;
}

static void day(time_t t, char out[11])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static bool check_v1(const char *file, const char *name, const char *sealed,
		     const char *pass, time_t now)
{
	uint8_t key[KEY_LEN], raw[IV_LEN + 64 + TAG_LEN], h1[65];
	size_t sl = strlen(sealed);
	bool ok = false;
	if (sl != 2 * sizeof(raw) || seal_key(file, false, key) != 0)
		return false;
	if (idn_hex_decode_buf(sealed, sl, raw) == 0 &&
	    unseal(key, name, raw, sizeof(raw), h1) == 0) {
		h1[64] = 0;
		for (int d = -1; d <= 1 && !ok; d++) {
			char date[11], want[65];
			day(now + d * 86400, date);
			account_v1_proof((const char *)h1, date, want);
			ok = strlen(pass) == 64 &&
			     CRYPTO_memcmp(want, pass, 64) == 0;
		}
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(h1, sizeof(h1));
	return ok;
}

int account_check(const char *file, const char *user, const char *pass, bool v1,
		  time_t now, account_t *out)
{
	entry_t *e = calloc(ACCOUNT_MAX, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	size_t n;
	int err = load(file, e, ACCOUNT_MAX, &n);
	int at = err ? -1 : find(e, n, user);
	int rc = err ? err : 1;
	int iter;
	char *salt, *hash, *sealed;
	if (at >= 0 &&
	    split_secrets(e[at].line, &iter, &salt, &hash, &sealed) != 0)
		rc = IDN_ECORRUPT;
	else if (at >= 0 && v1)
		rc = check_v1(file, user, sealed, pass, now) ? 0 : 1;
	else if (at >= 0) {
		uint8_t s[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
		char h1[65];
		sha256_hex(pass, strlen(pass), h1);
		if (strlen(salt) != 2 * SALT_LEN ||
		    strlen(hash) != 2 * HASH_LEN ||
		    idn_hex_decode_buf(salt, 2 * SALT_LEN, s) != 0 ||
		    idn_hex_decode_buf(hash, 2 * HASH_LEN, want) != 0)
			rc = IDN_ECORRUPT;
		else if (PKCS5_PBKDF2_HMAC(h1, 64, s, sizeof(s), iter,
					   EVP_sha256(), sizeof(got),
					   got) == 1 &&
			 CRYPTO_memcmp(got, want, sizeof(got)) == 0)
			rc = 0;
		OPENSSL_cleanse(h1, sizeof(h1));
	}
	if (rc == 0)
		*out = e[at].a;
	OPENSSL_cleanse(e, ACCOUNT_MAX * sizeof(*e));
	free(e);
	return rc;
}

const char *account_file(const node_conf_t *c, char *buf, size_t cap)
{
	int n = c->http_accounts_file[0]
			? snprintf(buf, cap, "%s", c->http_accounts_file)
			: snprintf(buf, cap, "%s/http-accounts", c->data);
	return n > 0 && (size_t)n < cap ? buf : NULL;
}

/* ---- the control op (IDN_OC_ACCOUNT) ---- */

bool audit_desc_account(const idn_msg_t *req, idn_arena_t *ar, audit_rec_t *rec)
{
	(void)ar;
	idn_rd_t rd;
	idn_rd_init(&rd, req->rest.p, req->rest.len);
	uint32_t action = idn_rd_u32(&rd);
	idn_bytes_t name = idn_rd_str(&rd, ACCOUNT_NAME_MAX);
	if (rd.err)
		return true;
	if (action == IDN_ACCOUNT_LIST)
		return false;
	rec->action =
		action == IDN_ACCOUNT_REMOVE ? "account remove" : "account add";
	rec->id = name;
	return true;
}

/* s as a NUL-ended copy into out[0..cap); false when it does not fit or
 * holds a NUL. */
static bool cstr(idn_bytes_t s, char *out, size_t cap)
{
	if (s.len >= cap || memchr(s.p, 0, s.len) != NULL)
		return false;
	memcpy(out, s.p, s.len);
	out[s.len] = 0;
	return true;
}

int do_account(reply_t *r)
{
	char file[1100], name[ACCOUNT_NAME_MAX + 1], admin[IDN_IDENT_MAX + 1];
	char pass[ACCOUNT_PASS_MAX + 1];
	idn_rd_t rd;
	idn_rd_init(&rd, r->req->rest.p, r->req->rest.len);
	uint32_t action = idn_rd_u32(&rd);
	idn_bytes_t bn = idn_rd_str(&rd, ACCOUNT_NAME_MAX);
	idn_bytes_t ba = idn_rd_str(&rd, IDN_IDENT_MAX);
	uint32_t index = idn_rd_u32(&rd);
	idn_bytes_t bp = idn_rd_str(&rd, ACCOUNT_PASS_MAX);
	if (idn_rd_finish(&rd) != 0 || action > IDN_ACCOUNT_REPLACE ||
	    !cstr(bn, name, sizeof(name)) || !cstr(ba, admin, sizeof(admin)) ||
	    !cstr(bp, pass, sizeof(pass)))
		return reply_error(r, IDN_RC_PROTOCOL_ERROR,
				   "malformed account request");
	if (account_file(r->h->node->conf, file, sizeof(file)) == NULL)
		return reply_error(r, IDN_RC_ERROR,
				   "accounts file name too long");
	int err = 0;
	if (action == IDN_ACCOUNT_ADD || action == IDN_ACCOUNT_REPLACE) {
		if (!account_name_ok(name))
			return reply_error(r, IDN_RC_INVALID_VALUE,
					   "an account name is 1..50 letters, "
					   "digits or . _ @ -");
		if (index == 0 || admin[0] == 0 || pass[0] == 0)
			return reply_error(r, IDN_RC_INVALID_VALUE,
					   "an account needs an admin "
					   "(ADMIN_ID:INDEX) and a password of "
					   "1..64 bytes");
		err = account_add(file, name, admin, index, pass,
				  action == IDN_ACCOUNT_REPLACE);
	} else if (action == IDN_ACCOUNT_REMOVE) {
		err = account_remove(file, name);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	if (err == IDN_EEXISTS)
		return reply_error(r, IDN_RC_ALREADY_EXISTS,
				   "the account exists");
	if (err == IDN_ENOTFOUND)
		return reply_error(r, IDN_RC_NOT_FOUND, "no such account");
	if (err) {
		char m[1200];
		snprintf(m, sizeof(m), "%s: %s", file, idn_strerror(err));
		return reply_error(r, IDN_RC_ERROR, m);
	}
	if (action != IDN_ACCOUNT_LIST)
		log_info("http account %s %s", name,
			 action == IDN_ACCOUNT_REMOVE ? "removed" : "set");
	account_t *list = calloc(ACCOUNT_MAX, sizeof(*list));
	size_t n = 0;
	err = list ? account_list(file, list, ACCOUNT_MAX, &n) : -ENOMEM;
	if (err) {
		free(list);
		return reply_lib_error(r, err);
	}
	reply_start(r, IDN_RC_SUCCESS, 0);
	idn_wr_u32(&r->w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		idn_wr_str(&r->w, idn_bytes_str(list[i].name));
		idn_wr_str(&r->w, idn_bytes_str(list[i].admin));
		idn_wr_u32(&r->w, list[i].index);
	}
	free(list);
	return reply_send(r);
}
