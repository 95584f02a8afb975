/* ap_detail.c - failure reasons for callers' buffers. */
#include "ap_detail.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Drops a UTF-8 sequence cut short by truncation at the end of s. */
static void trim_partial_utf8(char *s, size_t len)
{
	size_t i = len;
	size_t back = 0;

	while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0 || ((unsigned char)s[i - 1] & 0x80) == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
	if (back < need)
		s[i - 1] = '\0';
}

int ap_detail_set(char *detail, size_t cap, int err, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || cap == 0)
		return err;
	va_start(ap, fmt);
	int n = vsnprintf(detail, cap, fmt, ap);
	va_end(ap);
	if (n < 0) {
		detail[0] = '\0';
		return err;
	}
	size_t len = strlen(detail);
	if ((size_t)n >= cap)
		trim_partial_utf8(detail, len);
	for (char *p = detail; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return err;
}

void ap_detail_clear(char *detail, size_t cap)
{
	if (detail != NULL && cap > 0)
		detail[0] = '\0';
}
