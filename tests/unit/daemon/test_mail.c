/* Unit tests for daemon/core/mail.c: the relay's URL, the addresses that
 * may go into a header, the message as composed (no sending here: the
 * integration test test_mail_notice.py sends to a local SMTP server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "mail.h"

static void test_url(void **state)
{
	char err[200];
	static const char *const good[] = {"",
					   "smtp://mail.dep13.fr",
					   "smtp://mail.dep13.fr:587",
					   "smtps://mail.dep13.fr:465/",
					   "smtp://127.0.0.1:2525",
					   "smtp://[::1]:25"};
	static const char *const bad[] = {"http://mail.dep13.fr", "smtp://",
					  "smtp://:25",		  "smtp://bob:pw@mail.fr",
					  "smtp://mail.fr:0",	  "smtp://mail.fr:65536",
					  "smtp://mail.fr:25x",	  "smtp://mail.fr/x",
					  "smtp://mail fr",	  "smtp://mail.fr\r\nX: y",
					  "SMTP://mail.fr",	  "smtp://[::1",
					  "smtp://[zz]:25",	  "smtps://mail.fr:25?x=y"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(mail_url_check(good[i], err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(mail_url_check(bad[i], err, sizeof(err)), AP_EINVAL);
		assert_true(err[0] != '\0');
		assert_null(strstr(err, "pw")); /* the URL's password is not echoed */
	}
}

static void test_address(void **state)
{
	char longer[300];
	memset(longer, 'a', sizeof(longer));
	memcpy(longer + 250, "@b.fr", 6);
	assert_true(mail_address_ok("ati.aubagne@ac-aix-marseille.fr"));
	assert_true(mail_address_ok("ardoise@localhost"));
	static const char *const bad[] = {
	    "",		"nobody",	    "@b.fr",	"a@",	     "a@b@c.fr",
	    "a b@c.fr", "a@b.fr\r\nBcc: x", "a@b.fr\n", "<a@b.fr>",  "a@b.fr,c@d.fr",
	    "é@b.fr",	"a\"@b.fr",	    "a;b@c.fr", "a@b.fr\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mail_address_ok(bad[i]));
	assert_false(mail_address_ok(longer));
}

/* The bytes of the base64 header value between =?UTF-8?B? and ?=. */
static size_t decode_word(const char *w, unsigned char *out)
{
	const char *end = strstr(w, "?=");
	assert_non_null(end);
	int n = EVP_DecodeBlock(out, (const unsigned char *)w, (int)(end - w));
	assert_true(n >= 0);
	size_t len = (size_t)n;
	while (len > 0 && end[-1] == '=') { /* padding decoded as zeros */
		len--;
		end--;
	}
	return len;
}

static void test_compose(void **state)
{
	/* 60 characters of two bytes each: several encoded words, none cut
	 * inside a character */
	char subject[256] = "";
	for (int i = 0; i < 60; i++)
		memcpy(subject + 2 * i, "é", 2);
	struct mail_msg m = {"ardoise@dep13.fr",
			     "Département des Bouches-du-Rhône",
			     "ati@clg.fr",
			     "Anne Martin",
			     subject,
			     "Bonjour,\nligne deux\n\n.\n",
			     "dep13.fr",
			     1764669600};
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(mail_compose(&m, &data, &len), 0);
	assert_int_equal(strlen(data), len);
	assert_non_null(strstr(data, "To: Anne Martin <ati@clg.fr>\r\n"));
	assert_non_null(strstr(data, "From: =?UTF-8?B?"));
	assert_non_null(strstr(data, "Date: Tue, 02 Dec 2025 10:00:00 +0000\r\n"));
	assert_non_null(strstr(data, "@dep13.fr>\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(data, "Content-Type: text/plain; charset=UTF-8\r\n"));
	assert_non_null(strstr(data, "Content-Transfer-Encoding: base64\r\n"));
	assert_non_null(strstr(data, "Auto-Submitted: auto-generated\r\n\r\n"));
	/* no bare LF anywhere: every line ends CRLF */
	for (const char *p = data; (p = strchr(p, '\n')) != NULL; p++)
		assert_true(p > data && p[-1] == '\r');
	/* the subject's words decode to whole characters, back to the subject */
	char back[256] = "";
	size_t back_len = 0;
	const char *p = strstr(data, "Subject: ");
	assert_non_null(p);
	const char *stop = strstr(p, "\r\nDate:");
	int words = 0;
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL && p < stop) {
		unsigned char buf[128];
		size_t n = decode_word(p + 10, buf);
		assert_true(n <= 45 && n % 2 == 0); /* é is 2 bytes: never cut */
		assert_true(back_len + n < sizeof(back));
		memcpy(back + back_len, buf, n);
		back_len += n;
		p += 10;
		words++;
	}
	assert_true(words >= 3);
	assert_string_equal(back, subject);
	free(data);
	/* an address that would add headers is refused, not composed */
	m.to = "ati@clg.fr\r\nBcc: evil@x.fr";
	data = NULL;
	assert_int_equal(mail_compose(&m, &data, &len), AP_EINVAL);
	assert_null(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url),
	    cmocka_unit_test(test_address),
	    cmocka_unit_test(test_compose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
