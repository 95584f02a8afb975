/* ap_codec.c - base64 (through OpenSSL) and hex. */
#include "ap_codec.h"
#include "ap_err.h"

#include <openssl/evp.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ap_codec_b64_encode(const void *data, size_t len, char **ret, size_t *ret_len)
{
	if (len > (size_t)INT_MAX / 4 * 3 - 3 || (data == NULL && len > 0))
		return AP_EINVAL;
	size_t out_len = (len + 2) / 3 * 4;
	char *out = malloc(out_len + 1);
	if (out == NULL)
		return AP_ENOMEM;
	int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	out[n] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

/* Copies the base64 characters of s into clean, checking alphabet and
 * padding placement.  Returns the count, or 0 with *bad set. */
static size_t b64_clean(const char *s, size_t len, char *clean, size_t *ret_pad, int *bad)
{
	size_t n = 0, pad = 0;

	*bad = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_space(c))
			continue;
		if (c == '=') {
			pad++;
		} else if (!is_b64(c) || pad > 0) {
			*bad = 1;
			return 0;
		}
		clean[n++] = (char)c;
	}
	if (n % 4 != 0 || pad > 2)
		*bad = 1;
	*ret_pad = pad;
	return n;
}

int ap_codec_b64_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len)
{
	int rc, bad;
	size_t pad = 0;
	char *clean = NULL;
	unsigned char *out = NULL;

	if ((s == NULL && len > 0) || len > (size_t)INT_MAX)
		return AP_EINVAL;
	clean = malloc(len + 1);
	out = malloc(len / 4 * 3 + 3);
	if (clean == NULL || out == NULL) {
		rc = AP_ENOMEM;
		goto out;
	}
	size_t n = b64_clean(s, len, clean, &pad, &bad);
	if (bad) {
		rc = AP_EPARSE;
		goto out;
	}
	int m = n ? EVP_DecodeBlock(out, (unsigned char *)clean, (int)n) : 0;
	if (m < 0 || (size_t)m < pad) {
		rc = AP_EPARSE;
		goto out;
	}
	m -= (int)pad;
	out[m] = '\0';
	*ret = out;
	out = NULL;
	if (ret_len)
		*ret_len = (size_t)m;
	rc = 0;
out:
	free(clean);
	free(out);
	return rc;
}

int ap_codec_hex_encode(const void *data, size_t len, char **ret)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;

	if ((data == NULL && len > 0) || len > (SIZE_MAX - 1) / 2)
		return AP_EINVAL;
	char *out = malloc(len * 2 + 1);
	if (out == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[len * 2] = '\0';
	*ret = out;
	return 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ap_codec_hex_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len)
{
	if (s == NULL && len > 0)
		return AP_EINVAL;
	if (len % 2 != 0)
		return AP_EPARSE;
	unsigned char *out = malloc(len / 2 + 1);
	if (out == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return AP_EPARSE;
		}
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = len / 2;
	return 0;
}
