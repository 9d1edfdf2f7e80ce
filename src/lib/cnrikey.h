/* Private key files of CNRI's HANDLE.NET tools (admpriv.bin, privkey.bin,
 * what its hdl-keygen writes), read and written so that operators keep
 * their keys (docs/security.md).
 *
 * Layout, as HANDLE.NET 7.3.1 writes and reads it: a u32 encryption
 * method, then the key bytes, encrypted or not:
 *   0  DES-ECB, PKCS#5 padding (older files)
 *   1  none
 *   2  DES-CBC, PKCS#5 padding; the 8-byte IV first, then the ciphertext
 * The DES key is the first 8 bytes of MD5(passphrase). The key bytes are
 * Handle-protocol strings (u32 length, bytes): the key type, then its
 * numbers as big-endian two's-complement integers (a leading 0 byte when
 * the top bit is set):
 *   DSA_PRIV_KEY     x, p, q, g
 *   RSA_PRIVCRT_KEY  n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1 mod p
 * DES is what 7.3.1 offers; a file written here with a passphrase is as
 * weak as the ones it writes, which the documentation says. */
#ifndef IDN_CNRIKEY_H
#define IDN_CNRIKEY_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "wire.h"

enum {
	IDN_CNRIKEY_DES_ECB = 0,
	IDN_CNRIKEY_NONE = 1,
	IDN_CNRIKEY_DES_CBC = 2,
};

/* Whether file looks like a CNRI key file (a known method and, when not
 * encrypted, a known key type); *encrypted tells whether it needs a
 * passphrase (encrypted may be NULL). */
bool idn_cnrikey_detect(idn_bytes_t file, bool *encrypted);

/* Reads the private key of a CNRI key file, decrypting it with pass (any
 * bytes; ignored for a plain file). Returns 0 with *out (the caller frees
 * it with EVP_PKEY_free), IDN_EAUTH when the passphrase is wrong (padding
 * or the key bytes do not check), IDN_EMALFORMED for a bad layout,
 * IDN_EUNSUPPORTED for another method or key type, -ENOMEM. */
int idn_cnrikey_decode(idn_bytes_t file, idn_bytes_t pass, EVP_PKEY **out);

/* Writes an RSA or DSA private key as a CNRI key file: plain when pass is
 * empty, else DES-CBC under pass (method 2) with a random IV. Returns 0,
 * IDN_EUNSUPPORTED for other keys, IDN_EAUTH when the library fails, or
 * the writer's error. */
int idn_cnrikey_encode(EVP_PKEY *key, idn_bytes_t pass, idn_wr_t *w);

#endif
