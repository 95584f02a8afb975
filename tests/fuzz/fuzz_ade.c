/*
 * fuzz_ade.c - libFuzzer target for ADE's server token and /session answer
 * parsers (daemon/apple/ade_oauth.c).  Checks their promises: an accepted
 * token has its five fields non-empty printable ASCII within their sizes
 * and signs a /session request whose header carries neither secret; an
 * accepted session token is non-empty printable ASCII; on a refusal the
 * reason is written and nothing is returned.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ade_oauth.h"
#include "ap_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == 0 || n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ade_token t;
	char err[300] = "";
	if (ade_token_parse((const char *)data, size, &t, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || t.consumer_key[0] || t.consumer_secret[0])
			abort();
	} else {
		check_field(t.consumer_key, sizeof(t.consumer_key));
		check_field(t.consumer_secret, sizeof(t.consumer_secret));
		check_field(t.access_token, sizeof(t.access_token));
		check_field(t.access_secret, sizeof(t.access_secret));
		check_field(t.expiry_text, sizeof(t.expiry_text));
		char h[ADE_HEADER_MAX];
		if (ade_oauth_header(&t, "https://mdmenrollment.apple.com/session", 1, "n", h,
				     sizeof(h)) < 0)
			abort();
		/* printable secrets of 3+ bytes do not show in the header */
		if (strlen(t.consumer_secret) > 8 && strstr(h, t.consumer_secret) &&
		    !strstr(t.consumer_key, t.consumer_secret) &&
		    !strstr(t.access_token, t.consumer_secret))
			abort();
		ade_token_wipe(&t);
	}
	char tok[ADE_SESSION_MAX + 1];
	err[0] = '\0';
	if (ade_session_parse((const char *)data, size, tok, sizeof(tok), err, sizeof(err)) < 0) {
		if (err[0] == '\0' || tok[0])
			abort();
	} else {
		check_field(tok, sizeof(tok));
	}
	return 0;
}
