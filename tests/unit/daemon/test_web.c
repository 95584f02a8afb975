/* Unit tests for daemon/web/web.c and the table tools/web-embed wrote: the
 * embedded pages are found by their exact name only, with their type and
 * an ETag that is their SHA-256's first 16 hex digits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "web.h"

/* The asset's bytes (not NUL-terminated) hold text. */
static const void *contains(const struct web_asset *a, const char *text)
{
	return memmem(a->data, a->len, text, strlen(text));
}

static void test_find(void **state)
{
	const struct web_asset *a = web_asset_find("index.html");
	assert_non_null(a);
	assert_string_equal(a->path, "index.html");
	assert_string_equal(a->content_type, "text/html; charset=utf-8");
	assert_non_null(contains(a, "<html lang=\"fr\">"));
	assert_non_null(contains(a, "<script type=\"module\" src=\"/static/js/main.js\">"));
	a = web_asset_find("js/main.js");
	assert_non_null(a);
	assert_string_equal(a->content_type, "text/javascript; charset=utf-8");
	assert_true(a->len > 0);
}

/* Names a request can carry that must not reach a file. */
static void test_not_found(void **state)
{
	static const char *const names[] = {
	    NULL,
	    "",
	    "/index.html",
	    "./index.html",
	    "js/../index.html",
	    "../meson.build",
	    "meson.build",
	    "web.c",
	    "web.h",
	    "js//main.js",
	    "js/main.js/",
	    "JS/MAIN.JS",
	    "js/main",
	    "js",
	    "index.html%00",
	    "%2e%2e/x",
	    "/etc/passwd",
	    "js/main.js ",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_null(web_asset_find(names[i]));
}

/* Every row: sorted (the lookup is a binary search), found by its own
 * name, its ETag the SHA-256 of its bytes. */
static void test_table(void **state)
{
	assert_true(web_n_assets >= 2);
	for (size_t i = 0; i < web_n_assets; i++) {
		const struct web_asset *a = &web_assets[i];
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		char hex[17];
		if (i > 0)
			assert_true(strcmp(web_assets[i - 1].path, a->path) < 0);
		assert_ptr_equal(web_asset_find(a->path), a);
		assert_true(EVP_Digest(a->data, a->len, md, &n, EVP_sha256(), NULL));
		for (size_t k = 0; k < 8; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		assert_string_equal(a->etag, hex);
	}
}

static void test_is_page(void **state)
{
	static const char *const pages[] = {"/",       "/connexion", "/tablettes/ABC",	  "/api",
					    "/static", "/lien/x",    "/documents/recu/12"};
	static const char *const others[] = {"/api/",	 "/api/v1/nope",      "/mdm/checkin",
					     "/scep",	 "/scep/x",	      "/healthz",
					     "/static/", "/static/js/main.js"};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		assert_true(web_is_page(pages[i]));
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_false(web_is_page(others[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_is_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
