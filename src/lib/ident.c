#include "ident.h"

#include "error.h"

size_t idn_utf8_seq_len(const uint8_t *s, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp, min;
	if ((c & 0xe0) == 0xc0) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond Unicode */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int idn_utf8_check(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = idn_utf8_seq_len(s + i, len - i);
		if (n == 0)
			return IDN_EUTF8;
		i += n;
	}
	return 0;
}

static uint8_t ascii_upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

bool idn_ascii_caseeq(const uint8_t *a, size_t alen, const uint8_t *b,
		      size_t blen)
{
	if (alen != blen)
		return false;
	/* equal bytes, or a letter in either case: bytes that differ only
	 * in bit 0x20 where that bit makes a lower-case letter */
	for (size_t i = 0; i < alen; i++) {
		uint8_t x = a[i], y = b[i];
		if (x == y)
			continue;
		uint8_t lower = x | 0x20;
		if ((x ^ y) != 0x20 || lower < 'a' || lower > 'z')
			return false;
	}
	return true;
}

/* A prefix is dot-separated non-empty segments without '/'. */
static int check_prefix(const uint8_t *p, size_t len)
{
	if (len == 0 || p[0] == '.' || p[len - 1] == '.')
		return IDN_EIDENT;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '/')
			return IDN_EIDENT;
		if (p[i] == '.' && p[i + 1] == '.')
			return IDN_EIDENT;
	}
	return 0;
}

static int check_text(const uint8_t *s, size_t len)
{
	if (len > IDN_IDENT_MAX)
		return IDN_ETOOLONG;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return IDN_EIDENT;
	return idn_utf8_check(s, len);
}

int idn_ident_parse(const uint8_t *s, size_t len, unsigned flags,
		    idn_ident_t *out)
{
	if (len > IDN_IDENT_MAX)
		return IDN_ETOOLONG;
	/* One pass over the text (this runs for every request): control
	 * characters, whether any byte is non-ASCII (then the UTF-8 check),
	 * the first '/', and the key upper-cased as it goes; out->key may
	 * be written when the text is then refused. */
	size_t plen = len;
	uint8_t high = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (c < 0x20 || c == 0x7f)
			return IDN_EIDENT;
		high |= c;
		if (c == '/' && plen == len)
			plen = i;
		out->key[i] = ascii_upper(c);
	}
	if ((high & 0x80) && idn_utf8_check(s, len) != 0)
		return IDN_EUTF8;
	if (plen == len) {
		if (!(flags & IDN_IDENT_PREFIX_ONLY))
			return IDN_EIDENT;
	} else if (plen + 1 == len) { /* empty suffix */
		return IDN_EIDENT;
	}
	int err = check_prefix(s, plen);
	if (err)
		return err;
	out->text = idn_bytes(s, len);
	out->prefix_len = (uint32_t)plen;
	out->key_len = (uint32_t)len;
	if ((flags & IDN_IDENT_CASE_SUFFIX) && plen < len)
		memcpy(out->key + plen, s + plen, len - plen);
	return 0;
}

int idn_prefix_normalise(const uint8_t *s, size_t len, uint8_t *out,
			 uint32_t *out_len)
{
	int err = check_text(s, len);
	if (err)
		return err;
	/* "0.NA/88.118" names prefix "88.118" */
	if (len > 5 && idn_ascii_caseeq(s, 5, (const uint8_t *)"0.NA/", 5)) {
		s += 5;
		len -= 5;
	}
	err = check_prefix(s, len);
	if (err)
		return err;
	for (size_t i = 0; i < len; i++)
		out[i] = ascii_upper(s[i]);
	*out_len = (uint32_t)len;
	return 0;
}
