/* ap_buf.c - capped growable buffer. */
#include "ap_buf.h"
#include "ap_err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ap_buf_init(struct ap_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void ap_buf_free(struct ap_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void ap_buf_reset(struct ap_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int reserve(struct ap_buf *b, size_t extra)
{
	if (extra > b->limit || b->len > b->limit - extra)
		return AP_ETOOBIG;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	char *p = realloc(b->data, ncap);
	if (p == NULL)
		return AP_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int ap_buf_append(struct ap_buf *b, const void *data, size_t len)
{
	int rc = reserve(b, len);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ap_buf_appends(struct ap_buf *b, const char *s)
{
	return ap_buf_append(b, s, strlen(s));
}

int ap_buf_vprintf(struct ap_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return AP_EINVAL;
	int rc = reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int ap_buf_printf(struct ap_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ap_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void ap_buf_consume(struct ap_buf *b, size_t n)
{
	if (n >= b->len) {
		ap_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *ap_buf_steal(struct ap_buf *b, size_t *ret_len)
{
	char *p = b->data;
	if (p == NULL) {
		p = calloc(1, 1);
		if (p == NULL)
			return NULL;
	}
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int ap_grow(void *arrayp, size_t *cap, size_t n, size_t size, size_t first)
{
	void *old, *nv;
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : (first ? first : 1);
	if (ncap < *cap || size == 0 || ncap > SIZE_MAX / size)
		return AP_ENOMEM;
	memcpy(&old, arrayp, sizeof(old));
	if ((nv = realloc(old, ncap * size)) == NULL)
		return AP_ENOMEM;
	memcpy(arrayp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}
