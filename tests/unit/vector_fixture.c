/* Helpers of the wire codec tests (test_msg.c, test_msg_frame.c): the
 * captured vectors and byte comparisons (vector_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "vector_fixture.h"

const char *vec_dir(void)
{
	const char *d = getenv("IDN_VECTORS");
	return d != NULL ? d : "tests/vectors";
}

/* Reads a file of hex digits (whitespace ignored) into a malloc'd buffer. */
uint8_t *load_hex(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", vec_dir(), name);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	int c, hi = -1;
	while ((c = fgetc(f)) != EOF) {
		int v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	fclose(f);
	assert_int_equal(hi, -1);
	*len = n;
	return buf;
}

uint8_t *load_bin(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", vec_dir(), name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	uint8_t *buf = malloc(65536);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

void assert_bytes_str_(idn_bytes_t b, const char *s, const char *file, int line)
{
	if (idn_bytes_eq_str(b, s))
		return;
	print_error("%s:%d: got \"%.*s\" (%u bytes), want \"%s\"\n", file, line,
		    (int)b.len, b.p ? (const char *)b.p : "", b.len, s);
	fail();
}

/* A copy of p[0..n) in a buffer of exactly n bytes, so that the address
 * sanitizer sees any read past the end. */
uint8_t *exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}
/* Decodes envelope + message; the message is all of what follows. */
int decode_full(const uint8_t *p, size_t len, idn_env_t *env, idn_msg_t *m)
{
	int err = idn_env_decode(p, len, env);
	if (err)
		return err;
	if (len - IDN_ENV_LEN != env->msg_len)
		return IDN_EMALFORMED;
	return idn_msg_decode(p + IDN_ENV_LEN, len - IDN_ENV_LEN, m);
}
