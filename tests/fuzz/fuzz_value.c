/* Fuzz target: a value list, then every HS_* layout decoder on the input.
 * Whatever decodes must re-encode to the bytes it came from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const idn_wr_t *w, const uint8_t *p, size_t n)
{
	if (w->err != 0 || w->len != n || (n && memcmp(w->buf, p, n) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = malloc(size + 64);
	if (out == NULL)
		return 0;
	idn_arena_t a;
	idn_arena_init(&a, 4096);
	idn_wr_t w;

	/* u32 count + values: the consumed prefix must round-trip */
	idn_rd_t r;
	idn_rd_init(&r, data, size);
	idn_value_t *vals;
	uint32_t n;
	if (idn_values_decode(&r, &a, &vals, &n) == 0) {
		size_t used = size - idn_rd_left(&r);
		size_t total = 4;
		idn_wr_init(&w, out, size + 64);
		idn_wr_u32(&w, n);
		for (uint32_t i = 0; i < n; i++) {
			idn_value_encode(&w, &vals[i]);
			total += idn_value_size(&vals[i]);
			(void)idn_value_check(&vals[i], &a);
		}
		if (total != used)
			abort();
		same(&w, data, used);
	}
	idn_arena_reset(&a);

	idn_bytes_t b = idn_bytes(data, size);
	idn_hs_admin_t adm;
	if (idn_hs_admin_decode(b, &adm) == 0) {
		idn_wr_init(&w, out, size + 64);
		idn_hs_admin_encode(&w, &adm);
		same(&w, data, size);
	}
	idn_hs_vlist_t vl;
	if (idn_hs_vlist_decode(b, &a, &vl) == 0) {
		idn_wr_init(&w, out, size + 64);
		idn_hs_vlist_encode(&w, &vl);
		same(&w, data, size);
	}
	idn_hs_site_t site;
	if (idn_hs_site_decode(b, &a, &site) == 0) {
		idn_wr_init(&w, out, size + 64);
		idn_hs_site_encode(&w, &site);
		same(&w, data, size);
	}
	idn_hs_pubkey_t pk;
	if (idn_hs_pubkey_decode(b, &pk) == 0) {
		idn_wr_init(&w, out, size + 64);
		idn_hs_pubkey_encode(&w, &pk);
		same(&w, data, size);
	}
	idn_arena_reset(&a);

	/* the input as a value of each known type, and type matching */
	static const char *types[] = {"HS_ADMIN",	"HS_VLIST",  "HS_SITE",
				      "HS_SITE.PREFIX", "HS_PUBKEY", "URL"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		idn_value_t v = {1, 0, 0,   86400, 0xe, idn_bytes_str(types[i]),
				 b, 0, NULL};
		(void)idn_value_check(&v, &a);
	}
	size_t cut = size ? data[0] % (size + 1) : 0;
	bool m = idn_type_matches(idn_bytes(data, cut),
				  idn_bytes(data + cut, size - cut));
	if (cut == size - cut && memcmp(data, data + cut, cut) == 0 && !m)
		abort();
	idn_arena_free(&a);
	free(out);
	return 0;
}
