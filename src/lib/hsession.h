/* The session key of the Handle protocol (docs/architecture.md, Wire
 * protocol, "Sessions"), as HANDLE.NET 7.3.1 has it: the Diffie-Hellman
 * exchange of a session setup (op 400, key exchange mode 4), the key it
 * yields, the MAC that authenticates an in-session message and the cipher
 * of an encrypted one. Used by idnode (the answering side) and idctl (the
 * asking side).
 *
 * Facts from the reference's traffic (tests/vectors/README.md):
 * - A DH public key travels as string "DH_PUB_KEY", u16 0, then y, p and g
 *   as byte arrays holding Java's two's-complement big-endian integers.
 *   CNRI's clients use the 1024-bit MODP group of RFC 2409 (group 2), g 2.
 * - The answer to the setup is u16 mode 4, then a byte array holding u32
 *   cipher code (1 DES, 2 DESede, 3 AES; the reference answers 1) and the
 *   server's public key, then two zero bytes.
 * - The session key of cipher DES is the first 8 bytes of the shared
 *   secret (as wide as p), each byte given odd parity.
 * - An in-session request carries an HS_MAC credential: signer "", signer
 *   index the session counter (1, 2, ...), signed data "hash code byte
 *   array {2} + MAC byte array", the MAC SHA-1 over, for protocol 2.5 and
 *   later, key[0..4) || header+body || key || (key length + 10) zero bytes
 *   (the reference's 2.5 layout, whose version, session id, request id and
 *   counter fields it overwrites itself); before 2.5, key || header+body
 *   || key.
 * - An encrypted message (envelope flag IDN_EF_ENCRYPTED) carries, in
 *   place of header+body+credential, an 8-byte IV and those bytes under
 *   DES-CBC with PKCS#5 padding; the plain header has IDN_OF_ENCRYPT. */
#ifndef IDN_HSESSION_H
#define IDN_HSESSION_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <stdbool.h>

#include "msg.h"
#include "wire.h"

/* key exchange modes of a session setup */
enum {
	IDN_KX_NONE = 0,
	IDN_KX_CIPHER_CLIENT = 1, /* the client's public key wraps the key */
	IDN_KX_CIPHER_SERVER = 2, /* the server's public key wraps the key */
	IDN_KX_CIPHER_HDL = 3,	  /* a public key in a handle value wraps it */
	IDN_KX_DH = 4,		  /* Diffie-Hellman */
};

/* session ciphers (the code in the setup answer; SM4 is the national
 * SDK's, docs/national.md) */
enum {
	IDN_SCIPHER_DES = 1,
	IDN_SCIPHER_DESEDE = 2,
	IDN_SCIPHER_AES = 3,
	IDN_SCIPHER_SM4 = 4,
};

#define IDN_SKEY_MAX 32	    /* bytes of a session key */
#define IDN_SKEY_MAC_LEN 20 /* bytes of a session MAC (SHA-1) */
/* bytes an encryption adds at most: the IV and a block of padding */
#define IDN_SKEY_OVERHEAD 16

/* A DH public key; the bytes point into the decoded blob. */
typedef struct {
	idn_bytes_t y, p, g;
} idn_dh_pub_t;

/* Decodes a "DH_PUB_KEY" blob. Returns 0 or IDN_EMALFORMED (another key
 * type, bad layout, or p outside 1024..2048 bits, g or y outside 2..p-2:
 * the group is the client's choice, its size bounds the node's work). */
int idn_dh_pub_decode(idn_bytes_t blob, idn_dh_pub_t *out);

/* One side's DH key pair (opaque). */
typedef struct idn_dh idn_dh_t;

/* Makes a key pair in the group of peer (NULL: the RFC 2409 group 2 CNRI's
 * clients use) with a 256-bit private exponent. Returns 0, IDN_EMALFORMED
 * for a peer key that does not decode, -ENOMEM. Free with idn_dh_free. */
int idn_dh_new(idn_bytes_t peer, idn_dh_t **out);
void idn_dh_free(idn_dh_t *d);

/* Replaces d's private exponent by x (big-endian) and its public value
 * accordingly: for known-answer tests, and to resume an exchange. Returns
 * 0, IDN_EINVAL for x outside 2..p-2, -ENOMEM. */
int idn_dh_set_private(idn_dh_t *d, idn_bytes_t x);

/* Writes the public key of d as a "DH_PUB_KEY" blob (no length prefix). */
void idn_dh_pub_encode(const idn_dh_t *d, idn_wr_t *w);

/* The session key for cipher from d and the peer's public key blob
 * (which must be in d's group): key gets *klen bytes (IDN_SKEY_MAX
 * room). Returns 0, IDN_EMALFORMED (bad blob, another group),
 * IDN_EUNSUPPORTED for a cipher other than DES, -ENOMEM. */
int idn_dh_derive(const idn_dh_t *d, idn_bytes_t peer, int cipher, uint8_t *key,
		  size_t *klen);

/* The MAC of a message's header+body (signed_part) under key for protocol
 * major.minor, into out (IDN_SKEY_MAC_LEN bytes). Returns 0 or -ENOMEM. */
int idn_skey_mac(idn_bytes_t key, uint8_t major, uint8_t minor,
		 idn_bytes_t signed_part, uint8_t out[IDN_SKEY_MAC_LEN]);

/* Fills cred with the HS_MAC credential of signed_part for session
 * counter; buf (64 bytes) holds its signed data while cred is used.
 * Returns 0 or -ENOMEM. */
int idn_skey_mac_cred(idn_bytes_t key, uint8_t major, uint8_t minor,
		      idn_bytes_t signed_part, uint32_t counter,
		      idn_cred_t *cred, uint8_t buf[64]);

/* Checks the HS_MAC credential of message m (sent with protocol
 * major.minor) against key. Returns 0 with its counter in *counter,
 * IDN_EUNSUPPORTED when m has no HS_MAC credential or another hash than
 * SHA-1, IDN_EMALFORMED for a bad layout, IDN_EAUTH when it does not
 * match. Compares in constant time. */
int idn_skey_mac_check(idn_bytes_t key, uint8_t major, uint8_t minor,
		       const idn_msg_t *m, uint32_t *counter);

/* Encrypts len bytes of in for cipher under key into out (cap bytes, at
 * least len + IDN_SKEY_OVERHEAD): for DES a fresh IV, then the
 * ciphertext; for SM4 (the national SDK's) the ciphertext alone, the key
 * being the IV. Returns 0 with *outlen, IDN_EUNSUPPORTED for another
 * cipher,
 * IDN_ETOOLONG when out is too small, -ENOMEM. in and out may not
 * overlap. */
int idn_skey_encrypt(idn_bytes_t key, int cipher, const uint8_t *in, size_t len,
		     uint8_t *out, size_t cap, size_t *outlen);

/* Decrypts what idn_skey_encrypt wrote into out (cap bytes, at least len).
 * Returns 0 with *outlen, IDN_EAUTH when it does not decrypt (padding),
 * IDN_EMALFORMED when len is no whole number of blocks after the IV,
 * IDN_EUNSUPPORTED, -ENOMEM. */
int idn_skey_decrypt(idn_bytes_t key, int cipher, const uint8_t *in, size_t len,
		     uint8_t *out, size_t cap, size_t *outlen);

/* Encrypts the message of a whole frame (envelope + message, len bytes in
 * buf of cap bytes) in place: sets IDN_OF_ENCRYPT in its header, replaces
 * the message by IV + ciphertext, flags the envelope IDN_EF_ENCRYPTED and
 * fixes its length. Returns 0 with the frame's new length in *outlen, or
 * the errors of idn_skey_encrypt. */
int idn_skey_seal_frame(idn_bytes_t key, int cipher, uint8_t *buf, size_t len,
			size_t cap, size_t *outlen);

/* ---- the national SDK's encrypted session (hsession_gm.c) ----
 * Facts from the SDK's code and traffic (docs/national.md, "Encrypted
 * sessions", tests/vectors/idis/README.md): a session setup with key
 * exchange mode 3 names a key handle and index (the admin's HS_PUBKEY);
 * the answer's byte array is u32 cipher (4, SM4) || 16-byte key, wrapped
 * to that key: RSA with PKCS#1 v1.5 padding, SM2 as 04 || x || y || C3 ||
 * C2. Messages then travel whole (header, body, credential) under
 * SM4-CBC, PKCS#5 padding, IV = key, envelope flag IDN_EF_ENCRYPTED. */
#define IDN_SM4_KEY_LEN 16
#define IDN_SM4_BLOCK 16

/* SM4-CBC with PKCS#5 padding and the key as IV, into out (cap bytes, at
 * least len + IDN_SM4_BLOCK to encrypt, len to decrypt). Returns 0 with
 * *outlen, IDN_EINVAL for a key not of IDN_SM4_KEY_LEN bytes,
 * IDN_EMALFORMED for a ciphertext no whole number of blocks, IDN_EAUTH
 * when it does not decrypt (padding), IDN_ETOOLONG, IDN_EUNSUPPORTED
 * when OpenSSL has no SM4, -ENOMEM. */
int idn_sm4_cbc(bool enc, idn_bytes_t key, const uint8_t *in, size_t len,
		uint8_t *out, size_t cap, size_t *outlen);

/* Converts an SM2 ciphertext between OpenSSL's DER and the C1 C3 C2
 * order. Returns 0 with *outlen, IDN_EMALFORMED, IDN_ETOOLONG, -ENOMEM. */
int idn_sm2_der_to_c1c3c2(idn_bytes_t der, uint8_t *out, size_t cap,
			  size_t *outlen);
int idn_sm2_c1c3c2_to_der(idn_bytes_t c, uint8_t *out, size_t cap,
			  size_t *outlen);

/* Wraps plain to public key pub (RSA: PKCS#1 v1.5; SM2: C1 C3 C2) into
 * out (cap bytes); idn_skey_unwrap undoes it with the private key.
 * Return 0 with *outlen, IDN_EUNSUPPORTED for another key type,
 * IDN_EAUTH when it does not unwrap, IDN_EMALFORMED, IDN_ETOOLONG,
 * -ENOMEM. */
int idn_skey_wrap(EVP_PKEY *pub, idn_bytes_t plain, uint8_t *out, size_t cap,
		  size_t *outlen);
int idn_skey_unwrap(EVP_PKEY *priv, idn_bytes_t wrapped, uint8_t *out,
		    size_t cap, size_t *outlen);

#endif
