/* Hexadecimal digits and text (hex.h). */
#include "hex.h"

#include <errno.h>

#include "error.h"

int idn_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int idn_hex_decode_buf(const char *s, size_t n, uint8_t *out)
{
	if (n % 2)
		return IDN_EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = idn_hex_digit(s[2 * i]),
		    lo = idn_hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return IDN_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int idn_hex_decode(const char *s, size_t n, idn_arena_t *a, idn_bytes_t *out)
{
	if (n % 2)
		return IDN_EINVAL;
	uint8_t *o = idn_arena_alloc(a, n / 2 + 1);
	if (o == NULL)
		return -ENOMEM;
	int err = idn_hex_decode_buf(s, n, o);
	if (err)
		return err;
	*out = idn_bytes(o, n / 2);
	return 0;
}

void idn_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}
