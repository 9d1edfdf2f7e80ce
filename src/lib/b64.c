#include "b64.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>

#include "error.h"

char *idn_base64(const uint8_t *p, size_t n)
{
	if (n > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	char *s = malloc((n + 2) / 3 * 4 + 1);
	if (s != NULL)
		EVP_EncodeBlock((unsigned char *)s, p,
				(int)n); /* NUL-terminates */
	return s;
}

/* The 6-bit value of c in the mode's alphabet, or -1. */
static int b64_val(unsigned char c, idn_b64_mode_t mode)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	bool std = mode != IDN_B64_URL, url = mode != IDN_B64_STRICT;
	if ((c == '+' && std) || (c == '-' && url))
		return 62;
	if ((c == '/' && std) || (c == '_' && url))
		return 63;
	return -1;
}

int idn_base64_decode(const char *s, size_t n, idn_b64_mode_t mode,
		      uint8_t *out, size_t *outlen)
{
	size_t data = n;
	while (data > 0 && s[data - 1] == '=')
		data--;
	size_t pad = n - data;
	if (pad > 2 || (pad > 0 && mode == IDN_B64_URL))
		return IDN_EMALFORMED;
	if (mode == IDN_B64_STRICT && n % 4 != 0)
		return IDN_EMALFORMED;
	if (data % 4 == 1)
		return IDN_EMALFORMED;
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < data; i++) {
		int v = b64_val((unsigned char)s[i], mode);
		if (v < 0)
			return IDN_EMALFORMED;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (mode == IDN_B64_URL && acc != 0)
		return IDN_EMALFORMED;
	*outlen = k;
	return 0;
}

int idn_base64_decode_arena(const char *s, size_t n, idn_b64_mode_t mode,
			    idn_arena_t *a, idn_bytes_t *out)
{
	if (n / 4 * 3 > UINT32_MAX)
		return IDN_ETOOLONG;
	uint8_t *o = idn_arena_alloc(a, IDN_BASE64_DECODED_MAX(n));
	if (o == NULL)
		return -ENOMEM;
	size_t len;
	int err = idn_base64_decode(s, n, mode, o, &len);
	if (err)
		return err;
	*out = idn_bytes(o, len);
	return 0;
}
