/* Fuzz target: multi-scheme identifier parsing (scheme.c) and the
 * canonical mapping. Checks invariants: a parsed identifier maps to a valid
 * Handle identifier, GS1 keys carry a correct check digit, parsing is
 * deterministic, and the canonical form parses back to the same key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"
#include "scheme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const idn_scheme_map_t map = {"88.100.1", "88.100.2", "88.100.3"};

static bool same(const idn_scheme_id_t *a, const idn_scheme_id_t *b)
{
	return a->scheme == b->scheme && strcmp(a->key, b->key) == 0 &&
	       strcmp(a->cpv, b->cpv) == 0 && strcmp(a->lot, b->lot) == 0 &&
	       strcmp(a->serial, b->serial) == 0 &&
	       strcmp(a->glnx, b->glnx) == 0 && a->text_len == b->text_len &&
	       memcmp(a->text, b->text, a->text_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static idn_scheme_id_t id, again, back;
	static idn_ident_t ident;
	static char canon[IDN_IDENT_MAX + 1];
	static char url[IDN_IDENT_MAX + 64];
	char err[256];
	const char *in = (const char *)data;
	int rc = idn_scheme_parse(in, size, &id, err, sizeof(err));
	if (rc != 0) {
		/* every failure explains itself */
		if (id.scheme != IDN_SCHEME_NONE || err[0] == '\0')
			abort();
		return 0;
	}
	if (id.scheme == IDN_SCHEME_NONE || err[0] != '\0')
		abort();
	if (idn_scheme_parse(in, size, &again, NULL, 0) != 0 ||
	    !same(&id, &again))
		abort();
	size_t kl = strlen(id.key);
	if (kl > 0 &&
	    idn_gs1_check_digit(id.key, kl - 1) != id.key[kl - 1] - '0')
		abort();
	rc = idn_scheme_canonical(&id, &map, canon, sizeof(canon));
	if (rc == IDN_ETOOLONG)
		return 0;
	if (rc != 0)
		abort();
	size_t cl = strlen(canon);
	if (idn_ident_parse((const uint8_t *)canon, cl, IDN_IDENT_CASE_SUFFIX,
			    &ident) != 0)
		abort();
	/* the canonical suffix parses back to the same identifier */
	switch (id.scheme) {
	case IDN_SCHEME_GTIN:
	case IDN_SCHEME_SGTIN:
	case IDN_SCHEME_SSCC:
	case IDN_SCHEME_GLN:
		snprintf(url, sizeof(url), "https://id.gs1.org/%s",
			 canon + strlen(map.gs1) + 1);
		if (idn_scheme_parse(url, strlen(url), &back, NULL, 0) != 0)
			abort();
		if (strcmp(back.key, id.key) != 0 ||
		    strcmp(back.serial, id.serial) != 0 ||
		    strcmp(back.lot, id.lot) != 0 ||
		    strcmp(back.cpv, id.cpv) != 0 ||
		    strcmp(back.glnx, id.glnx) != 0 || back.scheme != id.scheme)
			abort();
		break;
	case IDN_SCHEME_OID:
		snprintf(url, sizeof(url), "urn:oid:%s",
			 canon + strlen(map.oid) + 1);
		if (idn_scheme_parse(url, strlen(url), &back, NULL, 0) != 0 ||
		    !same(&back, &id))
			abort();
		break;
	case IDN_SCHEME_DOI:
	case IDN_SCHEME_NATIONAL:
	case IDN_SCHEME_HANDLE:
		if (cl != id.text_len ||
		    idn_scheme_parse(canon, cl, &back, NULL, 0) != 0 ||
		    !same(&back, &id))
			abort();
		break;
	default:
		break;
	}
	return 0;
}
