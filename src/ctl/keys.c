#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ui.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cnrikey.h"
#include "ctlutil.h"
#include "error.h"
#include "msg.h"
#include "nego.h"
#include "seckey.h"

/* Key files are small: an RSA-16384 PEM is about 12 KiB. */
#define KEY_FILE_MAX 65536

/* Reads a small secret file that only its owner may read into buf
 * (NUL-terminated; one trailing newline dropped). Returns the length or
 * -1 after printing why. */
static long read_private(const char *path, const char *what, uint8_t *buf,
			 size_t cap)
{
	char kind[64];
	snprintf(kind, sizeof(kind), "%s ", what);
	int fd = ctl_open_private("", kind, path);
	if (fd < 0)
		return -1;
	size_t n = 0;
	ssize_t r;
	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n == cap) {
		fprintf(stderr,
			"idctl: %s %s is too long (at most %zu bytes)\n", what,
			path, cap - 1);
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	if (n == 0) {
		fprintf(stderr, "idctl: %s %s is empty\n", what, path);
		return -1;
	}
	return (long)n;
}

/* Creates path 0600, failing if it exists. */
static FILE *create_private(const char *path, const char *cmd)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		fprintf(stderr, "idctl: %s: cannot create %s: %s\n", cmd, path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

int ctl_keygen(const char *out, const char *type, int bits, bool national,
	       const char *passfile)
{
	bool sm2 = type != NULL && !strcmp(type, "sm2");
	if (type != NULL && !sm2 && strcmp(type, "rsa")) {
		fprintf(stderr,
			"idctl: keygen: unknown --type '%s' (rsa or sm2)\n",
			type);
		return 2;
	}
	char pass[1024];
	long plen = 0;
	if (passfile != NULL &&
	    (plen = read_private(passfile, "passphrase file", (uint8_t *)pass,
				 sizeof(pass))) < 0)
		return 1;
	if (passfile != NULL && plen < 4) {
		fprintf(stderr,
			"idctl: keygen: the passphrase needs at least 4 "
			"characters\n");
		OPENSSL_cleanse(pass, sizeof(pass));
		return 1;
	}
	EVP_PKEY *key = sm2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
			    : EVP_RSA_gen((unsigned)bits);
	int rc = 1;
	if (key == NULL) {
		fprintf(stderr, "idctl: keygen: cannot generate the key\n");
		goto done;
	}
	char pub[4096];
	uint8_t data[4096];
	idn_wr_t w;
	idn_wr_init(&w, data, sizeof(data));
	FILE *f = create_private(out, "keygen");
	if (f == NULL)
		goto done;
	/* PKCS#8, encrypted with AES-256-CBC under the passphrase if any */
	int ok = plen > 0 ? PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(),
						      pass, (int)plen, NULL,
						      NULL)
			  : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
						 NULL);
	int enc = national ? idn_pubkey_encode_national(key, &w)
			   : idn_pubkey_encode(key, &w);
	if (fclose(f) != 0 || !ok || enc != 0) {
		fprintf(stderr, "idctl: keygen: cannot write %s\n", out);
		goto done;
	}
	snprintf(pub, sizeof(pub), "%s.pub", out);
	f = create_private(pub, "keygen");
	if (f == NULL)
		goto done;
	if (fwrite(data, 1, w.len, f) != w.len || fclose(f) != 0) {
		fprintf(stderr, "idctl: keygen: cannot write %s\n", pub);
		goto done;
	}
	printf("private key: %s (mode 0600%s)\npublic key (HS_PUBKEY data): %s\n"
	       "value to store, e.g. at index 300 of the admin identifier:\n"
	       "  300:HS_PUBKEY=hex:",
	       out, plen > 0 ? ", encrypted with AES-256" : "", pub);
	for (size_t i = 0; i < w.len; i++)
		printf("%02x", data[i]);
	printf("\n");
	rc = 0;
done:
	OPENSSL_cleanse(pass, sizeof(pass));
	EVP_PKEY_free(key);
	return rc;
}

/* The passphrase from passfile, or asked on the terminal; its length, or
 * -1 after printing why. */
static long passphrase(const char *passfile, const char *path, char *pass,
		       size_t cap)
{
	if (passfile != NULL)
		return read_private(passfile, "passphrase file",
				    (uint8_t *)pass, cap);
	char prompt[1200];
	snprintf(prompt, sizeof(prompt), "passphrase of %s: ", path);
	if (EVP_read_pw_string(pass, (int)cap, prompt, 0) != 0) {
		fprintf(stderr,
			"idctl: no passphrase for %s (give "
			"--passphrase-file F)\n",
			path);
		return -1;
	}
	return (long)strlen(pass);
}

/* ctl_key_read_as, telling in *cnri whether path was a HANDLE.NET file. */
static EVP_PKEY *key_read(const char *path, const char *passfile,
			  const char *what, bool *cnri)
{
	static uint8_t buf[KEY_FILE_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "idctl: cannot read %s from %s: %s\n", what,
			path, strerror(errno));
		return NULL;
	}
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	char pass[1024] = "";
	long plen = 0;
	bool enc = false;
	EVP_PKEY *key = NULL;
	const char *why = "not a PEM or HANDLE.NET key file";
	*cnri = idn_cnrikey_detect(idn_bytes(buf, n), &enc);
	if (*cnri) {
		if (enc &&
		    (plen = passphrase(passfile, path, pass, sizeof(pass))) < 0)
			goto out;
		int err = idn_cnrikey_decode(
			idn_bytes(buf, n), idn_bytes(pass, (size_t)plen), &key);
		why = err == IDN_EAUTH
			      ? "wrong passphrase"
			      : "a HANDLE.NET key file idctl cannot use";
	} else {
		if (passfile != NULL &&
		    (plen = read_private(passfile, "passphrase file",
					 (uint8_t *)pass, sizeof(pass))) < 0)
			goto out;
		BIO *b = BIO_new_mem_buf(buf, (int)n);
		/* without a passphrase file, OpenSSL asks on the terminal
		 * when the key is encrypted */
		key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL,
						  plen > 0 ? pass : NULL)
			: NULL;
		BIO_free(b);
		why = "wrong passphrase, or not a PEM or HANDLE.NET key file";
	}
	if (key == NULL)
		fprintf(stderr, "idctl: cannot read %s from %s (%s)\n", what,
			path, why);
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(buf, n);
	return key;
}

EVP_PKEY *ctl_key_read(const char *path, const char *passfile)
{
	return ctl_key_read_as(path, passfile, "a private key");
}

EVP_PKEY *ctl_key_read_as(const char *path, const char *passfile,
			  const char *what)
{
	bool cnri;
	return key_read(path, passfile, what, &cnri);
}

int ctl_cred_load(const char *key_file, const char *secret_file,
		  const char *passfile, ctl_cred_t *c)
{
	memset(c, 0, sizeof(*c));
	if (secret_file != NULL) {
		long n = read_private(secret_file, "secret file", c->secret,
				      sizeof(c->secret));
		if (n < 0)
			return -1;
		c->secret_len = (size_t)n;
		c->is_secret = true;
		return 0;
	}
	c->key = ctl_key_read(key_file, passfile);
	return c->key ? 0 : -1;
}

int ctl_key_convert(const char *in, const char *out, const char *to,
		    const char *passfile, const char *out_passfile)
{
	bool cnri_in = false;
	if (to != NULL && strcmp(to, "pem") && strcmp(to, "cnri")) {
		fprintf(stderr,
			"idctl: key convert: unknown --to '%s' (pem or cnri)\n",
			to);
		return 2;
	}
	EVP_PKEY *key = key_read(in, passfile, "a private key", &cnri_in);
	if (key == NULL)
		return 1;
	bool cnri_out = to ? !strcmp(to, "cnri") : !cnri_in;
	char pass[1024] = "";
	long plen = 0;
	int rc = 1;
	static uint8_t data[KEY_FILE_MAX];
	idn_wr_t w;
	idn_wr_init(&w, data, sizeof(data));
	if (out_passfile != NULL &&
	    (plen = read_private(out_passfile, "passphrase file",
				 (uint8_t *)pass, sizeof(pass))) < 0)
		goto done;
	if (cnri_out &&
	    idn_cnrikey_encode(key, idn_bytes(pass, (size_t)plen), &w) != 0) {
		fprintf(stderr, "idctl: key convert: a HANDLE.NET key file "
				"holds RSA or DSA keys only\n");
		goto done;
	}
	FILE *f = create_private(out, "key convert");
	if (f == NULL)
		goto done;
	int ok = cnri_out   ? fwrite(data, 1, w.len, f) == w.len
		 : plen > 0 ? PEM_write_PKCS8PrivateKey(f, key,
							EVP_aes_256_cbc(), pass,
							(int)plen, NULL, NULL)
			    : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
						   NULL);
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "idctl: key convert: cannot write %s\n", out);
		goto done;
	}
	printf("%s: %s private key, %s%s\n", out, EVP_PKEY_get0_type_name(key),
	       cnri_out ? "HANDLE.NET key file" : "PEM",
	       plen == 0  ? ""
	       : cnri_out ? " (DES-encrypted, as HANDLE.NET 7 reads it)"
			  : " (AES-256-encrypted)");
	rc = 0;
done:
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(data, w.len);
	EVP_PKEY_free(key);
	return rc;
}

void ctl_cred_free(ctl_cred_t *c)
{
	EVP_PKEY_free(c->key);
	c->key = NULL;
	OPENSSL_cleanse(c->secret, sizeof(c->secret));
	c->secret_len = 0;
}

int ctl_answer_encode(const ctl_cred_t *c, idn_bytes_t admin, uint32_t index,
		      idn_bytes_t nonce, idn_bytes_t digest, idn_wr_t *w)
{
	return ctl_answer_encode_v(c, IDN_PROTO_MAJOR, IDN_PROTO_MINOR, admin,
				   index, nonce, digest, w);
}

int ctl_answer_encode_hash(const ctl_cred_t *c, const char *hash,
			   idn_bytes_t admin, uint32_t index, idn_bytes_t nonce,
			   idn_bytes_t digest, idn_wr_t *w)
{
	/* "SHA1": a server that knows no better, as HANDLE.NET 7 (2.5) */
	bool sha1 = hash != NULL && strcmp(hash, "SHA1") == 0;
	return ctl_answer_encode_v(c, sha1 ? 2 : IDN_PROTO_MAJOR,
				   sha1 ? 5 : IDN_PROTO_MINOR, admin, index,
				   nonce, digest, w);
}

int ctl_answer_encode_v(const ctl_cred_t *c, uint8_t major, uint8_t minor,
			idn_bytes_t admin, uint32_t index, idn_bytes_t nonce,
			idn_bytes_t digest, idn_wr_t *w)
{
	/* what the challenger can check (nego.h): HANDLE.NET 7 (2.5) knows
	 * SHA-1 signatures and its own SHA-1 HS_SECKEY form */
	bool sha256 = idn_peer_knows_sha256(major, minor);
	uint8_t sbuf[1100];
	idn_wr_t sw;
	idn_wr_init(&sw, sbuf, sizeof(sbuf));
	int err;
	if (c->is_secret) {
		err = idn_seckey_answer(sha256 ? IDN_MAC_HMAC_SHA256
					       : IDN_MAC_SHA1,
					idn_bytes(c->secret, c->secret_len),
					nonce, digest, &sw);
	} else {
		const char *hash = idn_sig_hash_for_peer(c->key, major, minor,
							 IDN_HASH_RANK_SHA1);
		err = idn_answer_sign(c->key, hash, nonce, digest, &sw);
	}
	if (err == 0)
		err = sw.err;
	if (err)
		return err;
	idn_challenge_answer_t ans = {
		idn_bytes_str(c->is_secret ? "HS_SECKEY" : "HS_PUBKEY"), admin,
		index, idn_bytes(sbuf, sw.len)};
	idn_challenge_answer_encode(w, &ans);
	OPENSSL_cleanse(sbuf, sizeof(sbuf));
	return w->err;
}
