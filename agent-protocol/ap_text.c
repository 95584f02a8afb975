/* ap_text.c - UTF-8 and control characters in staff text. */
#include "ap_text.h"

size_t ap_utf8_char(const char *s, unsigned *ret_cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k;
	unsigned cp;
	if (p[0] < 0x80) {
		*ret_cp = p[0];
		return p[0] ? 1 : 0;
	}
	if ((p[0] & 0xe0) == 0xc0)
		k = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		k = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		k = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return k;
}

int ap_text_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int ap_text_ok(const char *s, size_t max, int lines)
{
	size_t n = 0, k;
	unsigned cp;
	while (s[n]) {
		if ((k = ap_utf8_char(s + n, &cp)) == 0)
			return 0;
		if (ap_text_control(cp) && !(lines && cp == '\n'))
			return 0;
		n += k;
		if (n > max)
			return 0;
	}
	return 1;
}
