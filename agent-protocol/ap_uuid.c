/* ap_uuid.c - random and seeded UUIDs. */
#include "ap_uuid.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void format(unsigned char b[16], char out[37])
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 0x0f];
	}
	out[o] = '\0';
}

static int sha256_parts(const void *a, size_t alen, const void *b, size_t blen,
			unsigned char md[32])
{
	unsigned int mdlen = 0;
	static const unsigned char zero = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(ctx, a, alen) && EVP_DigestUpdate(ctx, &zero, 1) &&
		 EVP_DigestUpdate(ctx, b, blen) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Last resort when no entropy source answers: unique, not unpredictable. */
static void fallback_bytes(unsigned char b[16])
{
	static uint64_t counter;
	struct timespec ts = {0};
	unsigned char md[32];
	uint64_t in[4];

	clock_gettime(CLOCK_REALTIME, &ts);
	in[0] = (uint64_t)ts.tv_sec;
	in[1] = (uint64_t)ts.tv_nsec;
	in[2] = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	in[3] = (uint64_t)(uintptr_t)&counter ^ (uint64_t)getpid();
	if (sha256_parts(in, sizeof(in), "", 0, md) == 0) {
		memcpy(b, md, 16);
	} else {
		memcpy(b, in, 16);
		memcpy(b + 8, &in[2], 8);
	}
}

void ap_uuid_random(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1 && getentropy(b, sizeof(b)) != 0)
		fallback_bytes(b);
	format(b, out);
}

void ap_uuid_from_seed(const char *seed, const char *salt, char out[37])
{
	unsigned char md[32];

	if (seed == NULL)
		seed = "";
	if (salt == NULL)
		salt = "";
	if (sha256_parts(seed, strlen(seed), salt, strlen(salt), md) != 0)
		memset(md, 0, sizeof(md)); /* only on OpenSSL failure; still well-formed */
	format(md, out);
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int ap_uuid_is_valid(const char *s)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < AP_UUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return 0;
	}
	return s[AP_UUID_LEN] == '\0';
}
