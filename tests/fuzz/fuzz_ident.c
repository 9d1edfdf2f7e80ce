/* Fuzz target: identifier parsing, normalisation and UTF-8 validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static idn_ident_t id;
	uint8_t p[IDN_IDENT_MAX];
	uint32_t pl;
	for (unsigned flags = 0; flags < 4; flags++) {
		if (idn_ident_parse(data, size, flags, &id) == 0) {
			/* a parsed identifier is valid UTF-8 of the same length
			 * and its key keeps the '/' where the prefix ends */
			if (idn_utf8_check(data, size) != 0 ||
			    id.key_len != size)
				abort();
			if (id.prefix_len < size &&
			    id.key[id.prefix_len] != '/')
				abort();
		}
	}
	if (idn_prefix_normalise(data, size, p, &pl) == 0 && pl > size)
		abort();
	return 0;
}
