/* idctl's admin credentials: key generation (RSA or SM2, optionally
 * passphrase-encrypted), loading a private key or a secret, and answering
 * a node's challenge with them (docs/architecture.md, Wire protocol). Every
 * file written here is created 0600; a secret file that others may read is
 * refused. */
#ifndef IDN_CTL_KEYS_H
#define IDN_CTL_KEYS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define CTL_SECRET_MAX 1024

/* An admin's credential: a private key (HS_PUBKEY admins) or a secret
 * (HS_SECKEY admins). */
typedef struct {
	EVP_PKEY *key;
	uint8_t secret[CTL_SECRET_MAX];
	size_t secret_len;
	bool is_secret;
} ctl_cred_t;

/* idctl keygen --out FILE [--type rsa|sm2] [--form raw|national]
 * [--bits N] [--passphrase-file F]: writes FILE (PEM private key, 0600;
 * encrypted with AES-256 under the passphrase when given) and FILE.pub
 * (HS_PUBKEY data; with national, an SM2 key as a SubjectPublicKeyInfo,
 * idn_pubkey_encode_national) and prints the value to store. Returns the
 * exit status. */
int ctl_keygen(const char *out, const char *type, int bits, bool national,
	       const char *passfile);

/* Reads a private key from path: PEM (encrypted or not), or a private key
 * file of CNRI's HANDLE.NET (cnrikey.h; docs/keys.md). The passphrase of an
 * encrypted one comes from passfile, else it is asked on the terminal.
 * Prints a one-line error and returns NULL on failure; the caller frees
 * the key with EVP_PKEY_free. */
EVP_PKEY *ctl_key_read(const char *path, const char *passfile);
/* The same, the error naming what the key is ("the issuer's private
 * key"). */
EVP_PKEY *ctl_key_read_as(const char *path, const char *passfile,
			  const char *what);

/* idctl key convert IN OUT [--to pem|cnri] [--out-passphrase-file F]:
 * reads IN as ctl_key_read does (passphrase from passfile) and writes OUT
 * (created 0600, never overwritten) in the other format, or the one --to
 * names: PEM (PKCS#8, AES-256 under the out passphrase when given) or a
 * HANDLE.NET key file (DES under it). Returns the exit status. */
int ctl_key_convert(const char *in, const char *out, const char *to,
		    const char *passfile, const char *out_passfile);

/* Loads key_file (ctl_key_read: PEM or HANDLE.NET; an encrypted key takes the
 * passphrase from passfile, or asks on the terminal) or secret_file (raw bytes,
 * a trailing newline dropped; the file must not be readable by group or
 * others). Exactly one of key_file and secret_file is non-NULL. Prints a
 * one-line error and returns -1 on failure. Free with ctl_cred_free. */
int ctl_cred_load(const char *key_file, const char *secret_file,
		  const char *passfile, ctl_cred_t *c);
void ctl_cred_free(ctl_cred_t *c);

/* Writes the body of op 200 answering a challenge (nonce, request digest)
 * as admin:index: a signature (SHA-256 for RSA, SM3 for SM2 keys) or an
 * HMAC-SHA256 with the secret. Returns 0 or a library error. */
int ctl_answer_encode(const ctl_cred_t *c, idn_bytes_t admin, uint32_t index,
		      idn_bytes_t nonce, idn_bytes_t digest, idn_wr_t *w);
/* The same, a public key signing with hash when not NULL ("SHA1" for a
 * server that knows no better, session.h; SM2 keys keep SM3). */
int ctl_answer_encode_hash(const ctl_cred_t *c, const char *hash,
			   idn_bytes_t admin, uint32_t index, idn_bytes_t nonce,
			   idn_bytes_t digest, idn_wr_t *w);

/* The same for a challenge that came in protocol major.minor (its
 * envelope), in a form that challenger checks (nego.h): before 2.7
 * (HANDLE.NET 7) a SHA-1 signature or HANDLE.NET's SHA-1 HS_SECKEY form
 * (seckey.h), else as ctl_answer_encode. */
int ctl_answer_encode_v(const ctl_cred_t *c, uint8_t major, uint8_t minor,
			idn_bytes_t admin, uint32_t index, idn_bytes_t nonce,
			idn_bytes_t digest, idn_wr_t *w);

#endif
