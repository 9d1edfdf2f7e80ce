/* Fuzz target: metadata template decoders (template.c). The input is tried
 * as template JSON and as the binary layout. Whatever decodes must
 * re-encode stably (binary byte for byte, JSON text for text), survive the
 * other encoding, and validate records without faults. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "template.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *encode(const idn_template_t *t, size_t *n)
{
	*n = idn_template_size(t);
	uint8_t *buf = malloc(*n ? *n : 1);
	if (buf == NULL)
		abort();
	idn_wr_t w;
	idn_wr_init(&w, buf, *n);
	if (idn_template_encode(t, &w) != 0 || w.len != *n)
		abort();
	return buf;
}

static char *json(const idn_template_t *t)
{
	size_t len = 0;
	if (idn_template_to_json(t, NULL, 0, &len) != IDN_ETOOLONG)
		abort();
	char *s = malloc(len + 1);
	if (s == NULL || idn_template_to_json(t, s, len + 1, &len) != 0)
		abort();
	return s;
}

/* Validates a record made from the input: one value per item, its data a
 * slice of the input, plus one value beyond the items. */
static void validate(const idn_template_t *t, const uint8_t *data, size_t size)
{
	idn_value_t vals[IDN_TPL_ITEMS_MAX + 1];
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->nitems; i++) {
		memset(&vals[n], 0, sizeof(vals[n]));
		vals[n].index = t->items[i].index;
		size_t off = size ? (i * 7) % size : 0;
		size_t len = size - off < 24 ? size - off : 24;
		vals[n].data = idn_bytes(data + off, len);
		n++;
	}
	memset(&vals[n], 0, sizeof(vals[n]));
	vals[n].index = 65535;
	vals[n].data = idn_bytes(data, size < 8 ? size : 8);
	n++;
	idn_tpl_violation_t out[4];
	uint32_t nv = 0;
	int rc = idn_template_validate(t, NULL, vals, n, out, 4, &nv);
	if ((rc == 0) != (nv == 0))
		abort();
	for (uint32_t i = 0; i < nv && i < 4; i++)
		if (out[i].msg[0] == '\0')
			abort();
}

static void check(const idn_template_t *t, const uint8_t *data, size_t size)
{
	/* binary round trip */
	size_t n1, n2;
	uint8_t *b1 = encode(t, &n1);
	idn_template_t t2;
	if (idn_template_decode(b1, n1, NULL, &t2, NULL, 0) != 0)
		abort();
	uint8_t *b2 = encode(&t2, &n2);
	if (n1 != n2 || memcmp(b1, b2, n1) != 0)
		abort();
	/* JSON round trip */
	char *j1 = json(t), *j2 = json(&t2);
	if (strcmp(j1, j2) != 0)
		abort();
	idn_template_t t3;
	if (idn_template_from_json(j1, strlen(j1), NULL, &t3, NULL, 0) != 0)
		abort();
	char *j3 = json(&t3);
	if (strcmp(j1, j3) != 0)
		abort();
	validate(t, data, size);
	free(b1);
	free(b2);
	free(j1);
	free(j2);
	free(j3);
	idn_template_free(&t2);
	idn_template_free(&t3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idn_template_t t;
	char err[256];
	if (idn_template_from_json((const char *)data, size, NULL, &t, err,
				   sizeof(err)) == 0) {
		check(&t, data, size);
		idn_template_free(&t);
	} else if (err[0] == '\0' || t.name != NULL || t.nitems != 0) {
		abort();
	}
	if (idn_template_decode(data, size, NULL, &t, err, sizeof(err)) == 0) {
		/* the binary layout has one encoding per template */
		size_t n;
		uint8_t *b = encode(&t, &n);
		if (n != size || memcmp(b, data, n) != 0)
			abort();
		free(b);
		check(&t, data, size);
		idn_template_free(&t);
	} else if (err[0] == '\0' || t.name != NULL || t.nitems != 0) {
		abort();
	}
	return 0;
}
