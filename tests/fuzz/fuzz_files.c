/* Fuzz target: idctl's readers of files people have (src/ctl/import_csv.c,
 * src/ctl/genbatch.c). The first byte picks the text encoding; the rest is
 * read as a CSV file (records, header, cells, where a bad byte lies) and
 * as a HANDLE.NET batch file, whose requests are encoded and whose ADMIN
 * values must format back to what they parsed from. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "genbatch.h"
#include "import_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void csv(textenc_t *e, char *p, size_t n, idn_arena_t *a)
{
	csv_head_t h = {NULL, 0};
	bool have_head = false;
	char why[512];
	while (n > 0) {
		size_t len;
		uint64_t lines;
		bool closed = csv_record_len(p, n, &len, &lines);
		if (len == 0 || len > n)
			abort();
		if (!closed && len != n)
			abort();
		const char *u;
		size_t ul, bad;
		idn_arena_reset(a);
		int rc = textenc_decode(e, p, len, a, &u, &ul, &bad);
		if (rc == -1) {
			uint64_t loff;
			uint32_t col;
			if (bad > len)
				abort();
			csv_locate(p, bad, &loff, &col);
		} else if (rc == 0) {
			char *t = idn_arena_alloc(a, ul + 1);
			if (t != NULL) {
				memcpy(t, u, ul);
				rec_t r;
				if (!have_head)
					have_head = csv_header(&h, t, ul,
							       "fuzz") == 0;
				else
					(void)csv_record(&h, t, ul, &r, a, why,
							 sizeof(why));
			}
		}
		p += len;
		n -= len;
	}
	csv_head_free(&h);
}

static void batch(const uint8_t *data, size_t size, idn_arena_t *a)
{
	if (size == 0)
		return;
	FILE *f = fmemopen((void *)data, size, "r");
	if (f == NULL)
		return;
	gb_reader_t r;
	gb_open(&r, f);
	gb_op_t op;
	char why[512];
	uint8_t *buf = malloc(1 << 16);
	for (int i = 0; buf != NULL && i < 10000; i++) {
		idn_arena_reset(a);
		int rc = gb_next(&r, &op, a, why, sizeof(why));
		if (rc == 0)
			break;
		if (rc < 0 || op.kind == GB_AUTH || op.kind == GB_SESSION)
			continue;
		idn_wr_t w;
		idn_wr_init(&w, buf, 1 << 16);
		(void)gb_opcode(&op);
		gb_body(&op, &w);
		for (uint32_t k = 0; k < op.n; k++) {
			char text[4200];
			idn_bytes_t back;
			if (!idn_bytes_eq_str(op.v[k].type, "HS_ADMIN") ||
			    gb_admin_format(op.v[k].data, text, sizeof(text)))
				continue;
			if (gb_admin_parse(text, strlen(text), a, &back) != 0 ||
			    back.len != op.v[k].data.len ||
			    memcmp(back.p, op.v[k].data.p, back.len) != 0)
				abort();
		}
	}
	free(buf);
	gb_close(&r);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const encs[] = {"utf-8", "gbk", "gb18030"};
	if (size == 0)
		return 0;
	textenc_t e;
	if (textenc_open(&e, encs[data[0] % 3]) != 0)
		return 0;
	idn_arena_t a;
	idn_arena_init(&a, 4096);
	char *copy = malloc(size);
	if (copy != NULL) {
		memcpy(copy, data + 1, size - 1);
		csv(&e, copy, size - 1, &a);
		free(copy);
	}
	batch(data + 1, size - 1, &a);
	idn_arena_free(&a);
	textenc_close(&e);
	return 0;
}
