/* Fuzz target: the session key's parsers (hsession.h). The input is tried
 * as a DH_PUB_KEY blob (one that decodes must give a key pair in its group
 * and a key against itself), as a sealed message under a fixed key, and as
 * a message whose HS_MAC credential is checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsession.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idn_bytes_t in = idn_bytes(data, size);
	idn_dh_pub_t pub;
	if (idn_dh_pub_decode(in, &pub) == 0) {
		idn_dh_t *dh;
		uint8_t key[IDN_SKEY_MAX];
		size_t kl;
		if (idn_dh_new(in, &dh) != 0 ||
		    idn_dh_derive(dh, in, IDN_SCIPHER_DES, key, &kl) != 0 ||
		    kl != 8)
			abort();
		idn_dh_free(dh);
	}
	static const uint8_t k[8] = {0x75, 0xcd, 0xef, 0xc7,
				     0x98, 0x43, 0xb3, 0x37};
	uint8_t *out = malloc(size + 1);
	size_t n = 0;
	if (out != NULL &&
	    idn_skey_decrypt(idn_bytes(k, 8), IDN_SCIPHER_DES, data, size, out,
			     size, &n) == 0 &&
	    n > size)
		abort();
	free(out);
	idn_msg_t m;
	uint32_t ctr;
	if (idn_msg_decode(data, size, &m) == 0)
		(void)idn_skey_mac_check(idn_bytes(k, 8), 2, 5, &m, &ctr);
	return 0;
}
