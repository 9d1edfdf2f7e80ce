#include "ident.h"

#include "error.h"

int idn_utf8_check(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return IDN_EUTF8;
		}
		if (len - i - 1 < n)
			return IDN_EUTF8;
		for (size_t k = 1; k <= n; k++) {
			uint8_t cc = s[i + k];
			if ((cc & 0xc0) != 0x80)
				return IDN_EUTF8;
			cp = (cp << 6) | (cc & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, beyond Unicode */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return IDN_EUTF8;
		i += n + 1;
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
	for (size_t i = 0; i < alen; i++)
		if (ascii_upper(a[i]) != ascii_upper(b[i]))
			return false;
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
	int err = check_text(s, len);
	if (err)
		return err;
	const uint8_t *slash = len ? memchr(s, '/', len) : NULL;
	size_t plen;
	if (slash == NULL) {
		if (!(flags & IDN_IDENT_PREFIX_ONLY))
			return IDN_EIDENT;
		plen = len;
	} else {
		plen = (size_t)(slash - s);
		if (plen + 1 == len) /* empty suffix */
			return IDN_EIDENT;
	}
	err = check_prefix(s, plen);
	if (err)
		return err;
	out->text = idn_bytes(s, len);
	out->prefix_len = (uint32_t)plen;
	out->key_len = (uint32_t)len;
	size_t upto = (flags & IDN_IDENT_CASE_SUFFIX) ? plen : len;
	for (size_t i = 0; i < upto; i++)
		out->key[i] = ascii_upper(s[i]);
	if (upto < len)
		memcpy(out->key + upto, s + upto, len - upto);
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
