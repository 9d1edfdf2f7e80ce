/* Fuzz target: the authentication data a client sends: an HS_SECKEY
 * answer checked against a secret (HANDLE.NET's forms too), and the same bytes
 * as the HS_PUBKEY data of an admin's key (RSA, DSA, SM2 layouts). Neither may
 * crash, and no input may verify without the secret. */
#include <stdint.h>
#include <stdlib.h>

#include "auth.h"
#include "error.h"
#include "seckey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idn_bytes_t in = idn_bytes(data, size);
	idn_bytes_t nonce = idn_bytes_str("0123456789abcdef");
	idn_bytes_t digest = idn_bytes_str("digest-of-the-request");
	/* a random 32-byte secret: no fixed input can know it */
	static uint8_t secret[32];
	static int init;
	if (!init) {
		for (size_t i = 0; i < sizeof(secret); i++)
			secret[i] = (uint8_t)(rand() ^ (int)(i * 131));
		init = 1;
	}
	int err = idn_seckey_verify(idn_bytes(secret, sizeof(secret)), in,
				    nonce, digest);
	if (err == 0)
		abort();
	/* HANDLE.NET's bare MD5 form, read for protocol 2.0 */
	if (idn_seckey_verify_v(idn_bytes(secret, sizeof(secret)), in, nonce,
				digest, 0) == 0)
		abort();
	(void)idn_seckey_rank(in, 0);
	(void)idn_seckey_rank(in, 5);
	EVP_PKEY *k = NULL;
	if (idn_pubkey_load(in, &k) == 0) {
		idn_bytes_t parts[1] = {nonce};
		/* any key: a signature of nothing never verifies */
		if (idn_sig_verify(k, idn_bytes_str("SM3"), parts, 1,
				   idn_bytes(NULL, 0)) == 0)
			abort();
	}
	EVP_PKEY_free(k);
	return 0;
}
