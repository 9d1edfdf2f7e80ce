/* Fuzz target: HANDLE.NET private key files (cnrikey.h), plain and
 * encrypted, read with a passphrase and without. Nothing may crash; a
 * key that reads back writes out again and reads back the same. */
#include <stdint.h>
#include <stdlib.h>

#include "cnrikey.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idn_bytes_t in = idn_bytes(data, size);
	static const char *const pass[] = {"testpass", ""};
	(void)idn_cnrikey_detect(in, NULL);
	for (int i = 0; i < 2; i++) {
		EVP_PKEY *k = NULL;
		if (idn_cnrikey_decode(in, idn_bytes_str(pass[i]), &k) != 0)
			continue;
		static uint8_t out[20000];
		idn_wr_t w;
		idn_wr_init(&w, out, sizeof(out));
		EVP_PKEY *back = NULL;
		/* a key OpenSSL accepted may still lack parts (an RSA key
		 * without CRT numbers): then it is not written */
		if (idn_cnrikey_encode(k, idn_bytes(NULL, 0), &w) == 0 &&
		    (idn_cnrikey_decode(idn_bytes(out, w.len),
					idn_bytes(NULL, 0), &back) != 0 ||
		     EVP_PKEY_eq(k, back) != 1))
			abort();
		EVP_PKEY_free(back);
		EVP_PKEY_free(k);
	}
	return 0;
}
