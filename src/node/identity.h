/* What the node is to its peers beyond its data (docs/security.md): the
 * site key that signs its replies and is published in its site, the
 * server admins that may run node-level operations (HANDLE.NET's
 * server_admins), and the weakest hash it accepts or signs with
 * (nego.h). */
#ifndef IDN_NODE_IDENTITY_H
#define IDN_NODE_IDENTITY_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "wire.h"

/* The file under the data directory holding the site key made at first
 * start. */
#define IDENTITY_SITE_KEY "site-key.pem"

/* The site key: the file --server-key names (PEM, or a HANDLE.NET server's
 * plain privkey.bin: RSA or DSA), else DATA/site-key.pem,
 * created (RSA-2048, mode 0600, never overwritten) when it does not
 * exist. Returns the key (the caller frees it with EVP_PKEY_free) or NULL
 * after logging why. */
EVP_PKEY *identity_site_key(const node_conf_t *conf);

/* Checks --min-auth-hash and every --server-admin (ADMIN:INDEX). Returns
 * the floor's rank (IDN_HASH_RANK_*), or -1 after logging the bad value. */
int identity_check(const node_conf_t *conf);

/* Whether (admin, index) is one of the --server-admin entries (the
 * identifier compared byte for byte, as HS_ADMIN references are). */
bool identity_is_server_admin(const node_conf_t *conf, idn_bytes_t admin,
			      uint32_t index);

#endif
