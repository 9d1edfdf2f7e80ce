#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnrikey.h"
#include "log.h"
#include "nego.h"

/* A PEM key, or a plain HANDLE.NET key file (a CNRI server's privkey.bin:
 * its site keeps its key when it moves to idnode). */
static EVP_PKEY *read_key(const char *path)
{
	uint8_t buf[16384];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	EVP_PKEY *k = NULL;
	bool enc = false;
	if (f && idn_cnrikey_detect(idn_bytes(buf, n), &enc)) {
		if (enc)
			log_error(
				"%s is an encrypted HANDLE.NET key file: idctl "
				"key convert makes a PEM copy idnode reads",
				path);
		else
			idn_cnrikey_decode(idn_bytes(buf, n),
					   idn_bytes(NULL, 0), &k);
	} else if (f) {
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	if (f)
		fclose(f);
	OPENSSL_cleanse(buf, sizeof(buf));
	return k;
}

/* Makes the key and writes it to path, created 0600 and never over an
 * existing file (two nodes on one data directory cannot both get here:
 * the directory is claimed, claim.h). */
static EVP_PKEY *create(const char *path)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	int fd = k ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
		   : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	if (f ? fclose(f) != 0 : (fd >= 0 && close(fd) != 0))
		ok = 0;
	if (!ok) {
		log_error("cannot create the site key %s: %s", path,
			  k ? strerror(errno) : "key generation failed");
		if (fd >= 0)
			unlink(path);
		EVP_PKEY_free(k);
		return NULL;
	}
	log_info("created the site key %s (RSA-2048)", path);
	return k;
}

EVP_PKEY *identity_site_key(const node_conf_t *conf)
{
	if (conf->server_key[0]) {
		EVP_PKEY *k = read_key(conf->server_key);
		if (k == NULL)
			log_error(
				"cannot read the server key %s (a PEM RSA "
				"key, e.g. from idctl keygen, or a HANDLE.NET "
				"privkey.bin)",
				conf->server_key);
		return k;
	}
	char path[1100];
	snprintf(path, sizeof(path), "%s/%s", conf->data, IDENTITY_SITE_KEY);
	if (access(path, F_OK) != 0)
		return create(path);
	EVP_PKEY *k = read_key(path);
	if (k == NULL)
		log_error("cannot read the site key %s: remove it to have a "
			  "new one made",
			  path);
	return k;
}

/* Splits "ADMIN:INDEX" at its last ':'; 0 or -1. */
static int split_admin(const char *s, idn_bytes_t *admin, uint32_t *index)
{
	const char *c = strrchr(s, ':');
	if (c == NULL || c == s || c[1] < '0' || c[1] > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long v = strtoul(c + 1, &end, 10);
	if (*end || errno || v > 0xffffffffUL)
		return -1;
	*admin = idn_bytes(s, (size_t)(c - s));
	*index = (uint32_t)v;
	return 0;
}

int identity_check(const node_conf_t *conf)
{
	int rank = idn_hash_rank_parse(conf->min_auth_hash);
	if (rank < 0) {
		log_error("bad min-auth-hash '%s' (md5, sha1 or sha256)",
			  conf->min_auth_hash);
		return -1;
	}
	for (int i = 0; i < conf->nserver_admins; i++) {
		idn_bytes_t a;
		uint32_t idx;
		if (split_admin(conf->server_admins[i], &a, &idx) != 0) {
			log_error("bad server-admin '%s' (ADMIN:INDEX, e.g. "
				  "0.NA/20.500:300)",
				  conf->server_admins[i]);
			return -1;
		}
	}
	return rank;
}

bool identity_is_server_admin(const node_conf_t *conf, idn_bytes_t admin,
			      uint32_t index)
{
	for (int i = 0; i < conf->nserver_admins; i++) {
		idn_bytes_t a;
		uint32_t idx;
		if (split_admin(conf->server_admins[i], &a, &idx) == 0 &&
		    idx == index && idn_bytes_eq(a, admin))
			return true;
	}
	return false;
}
