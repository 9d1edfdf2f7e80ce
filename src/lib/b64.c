#include "b64.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>

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
