/* Unit tests for ap_plist: the pre-scan against hostile XML, the getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "ap_plist.h"

#define HEAD                                                      \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"            \
	"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
	"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n"
#define TAIL "</plist>\n"

static int parse_s(const char *s, plist_t *ret)
{
	return ap_plist_parse(s, strlen(s), 0, ret);
}

/* Parses s and expects rc; frees any result. */
static void expect(const char *s, int rc)
{
	plist_t p = NULL;
	assert_int_equal(parse_s(s, &p), rc);
	if (rc == 0)
		assert_non_null(p);
	plist_free(p);
}

static char *nested(const char *open, const char *close, size_t depth, const char *inner)
{
	size_t len = strlen(HEAD) + depth * (strlen(open) + strlen(close)) + strlen(inner) +
		     strlen(TAIL) + 1;
	char *s = malloc(len), *p = s;
	assert_non_null(s);
	p += snprintf(p, len, "%s", HEAD);
	for (size_t i = 0; i < depth; i++)
		p += snprintf(p, len - (size_t)(p - s), "%s", open);
	p += snprintf(p, len - (size_t)(p - s), "%s", inner);
	for (size_t i = 0; i < depth; i++)
		p += snprintf(p, len - (size_t)(p - s), "%s", close);
	snprintf(p, len - (size_t)(p - s), "%s", TAIL);
	return s;
}

static void test_valid(void **state)
{
	plist_t p = NULL;
	const char *s = HEAD "<dict><key>a</key><string>x &amp; y &lt;&#233;&#x1F600;</string>"
			     "<!-- a comment with <tags> & stuff -->"
			     "<key>b</key><string><![CDATA[<raw> & ]]></string>"
			     "<key>c</key><array/><key>d</key><dict/></dict>" TAIL;
	assert_int_equal(parse_s(s, &p), 0);
	char *v = NULL;
	assert_int_equal(ap_dict_get_string(p, "a", &v), 0);
	assert_string_equal(v, "x & y <\xc3\xa9\xf0\x9f\x98\x80");
	free(v);
	assert_int_equal(ap_dict_get_string(p, "b", &v), 0);
	assert_string_equal(v, "<raw> & ");
	free(v);
	plist_free(p);
	/* a byte order mark is skipped; a bare root works */
	expect("\xEF\xBB\xBF<plist><string>x</string></plist>", 0);
	/* DOCTYPE with an external id only is fine (libplist fetches nothing) */
	expect("<!DOCTYPE plist SYSTEM \"file:///etc/passwd\"><plist><true/></plist>", 0);
}

static void test_entities(void **state)
{
	/* billion laughs */
	expect("<?xml version=\"1.0\"?>\n<!DOCTYPE plist [\n <!ENTITY lol \"lol\">\n"
	       " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	       " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n"
	       "<plist><dict><key>a</key><string>&lol3;</string></dict></plist>",
	       AP_EUNSUPPORTED);
	/* external entity (XXE) through an internal subset */
	expect("<!DOCTYPE plist [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	       "<plist><string>&x;</string></plist>",
	       AP_EUNSUPPORTED);
	/* a quoted '[' does not count as a subset */
	expect("<!DOCTYPE plist PUBLIC \"[x\" \"y\"><plist><true/></plist>", 0);
	/* markup declarations outside a DOCTYPE */
	expect("<!ENTITY a \"b\"><plist><true/></plist>", AP_EUNSUPPORTED);
	expect("<plist><!ELEMENT x ANY><true/></plist>", AP_EUNSUPPORTED);
	/* undeclared and malformed references */
	expect("<plist><string>&foo;</string></plist>", AP_EPARSE);
	expect("<plist><string>&amp</string></plist>", AP_EPARSE);
	expect("<plist><string>&#0;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#x0;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#1;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#xD800;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#x110000;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#99999999999;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#x;</string></plist>", AP_EPARSE);
	expect("<plist><string>&#9;&#10;&#13;</string></plist>", 0);
}

static void test_depth(void **state)
{
	char *s = nested("<array>", "</array>", AP_PLIST_MAX_DEPTH, "<string>x</string>");
	expect(s, 0);
	free(s);
	s = nested("<array>", "</array>", AP_PLIST_MAX_DEPTH + 1, "");
	expect(s, AP_ETOODEEP);
	free(s);
	s = nested("<dict><key>k</key>", "</dict>", AP_PLIST_MAX_DEPTH + 1, "<true/>");
	expect(s, AP_ETOODEEP);
	free(s);
	/* 100000 levels: libplist alone overflows the stack on this */
	s = nested("<array>", "</array>", 100000, "");
	expect(s, AP_ETOODEEP);
	free(s);
	s = nested("<array>", "", 100000, "");
	expect(s, AP_ETOODEEP);
	free(s);
	/* non-container elements nested deep are bounded too */
	s = nested("<string>", "</string>", 100, "");
	expect(s, AP_ETOODEEP);
	free(s);
	/* self-closed containers do not nest */
	s = nested("<array>", "</array>", AP_PLIST_MAX_DEPTH, "<array/><dict/>");
	expect(s, 0);
	free(s);
}

static void test_malformed(void **state)
{
	expect("", AP_EPARSE);
	expect("garbage", AP_EPARSE);
	expect("<plist><dict><key>a</key><string>abc", AP_EPARSE);		/* truncated */
	expect("<plist><dict><key>a</key><string>x</dict></plist>", AP_EPARSE); /* mismatch */
	expect("<plist><dict></plist></dict>", AP_EPARSE);
	expect("<plist><dict><key>a</key><string>x</string></dict></plist></plist>", AP_EPARSE);
	expect("<plist><!-- unterminated <true/></plist>", AP_EPARSE);
	expect("<plist><![CDATA[ unterminated </plist>", AP_EPARSE);
	expect("<?xml version=\"1.0\"", AP_EPARSE);
	expect("<plist><string attr=\"x></string></plist>", AP_EPARSE);
	expect("<plist><dict><key>a<b</key><string>x</string></dict></plist>", AP_EPARSE);
	expect("<plist><foo>1</foo></plist>", AP_EPARSE); /* libplist refuses */
	expect("<plist><>x</></plist>", AP_EPARSE);
}

static void test_bytes(void **state)
{
	plist_t p = NULL;
	static const char nul[] = "<plist><string>a\0b</string></plist>";
	assert_int_equal(ap_plist_parse(nul, sizeof(nul) - 1, 0, &p), AP_EPARSE);
	expect("<plist><string>\xff\xfe</string></plist>", AP_EPARSE);
	expect("<plist><string>\xc3</string></plist>", AP_EPARSE);	   /* cut sequence */
	expect("<plist><string>\xc0\xaf</string></plist>", AP_EPARSE);	   /* overlong */
	expect("<plist><string>\xed\xa0\x80</string></plist>", AP_EPARSE); /* surrogate */
	expect("<plist><string>\xf4\x90\x80\x80</string></plist>", AP_EPARSE);
	expect("<plist><string>\x01</string></plist>", AP_EPARSE);
	expect("<plist><string>\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80</string></plist>", 0);
	assert_int_equal(ap_plist_parse(NULL, 1, 0, &p), AP_EINVAL);
	assert_int_equal(ap_plist_parse("x", 1, 0, NULL), AP_EINVAL);
}

static void test_binary_and_size(void **state)
{
	plist_t p = plist_new_dict(), q = NULL;
	char *bin = NULL;
	uint32_t blen = 0;

	plist_dict_set_item(p, "Status", plist_new_string("Idle"));
	plist_to_bin(p, &bin, &blen);
	assert_non_null(bin);
	assert_int_equal(ap_plist_parse(bin, blen, 0, &q), AP_EUNSUPPORTED);
	free(bin);
	plist_free(p);
	assert_int_equal(ap_plist_parse("bplist00xxxx", 12, 0, &q), AP_EUNSUPPORTED);

	/* 5 MB of valid XML: over the default cap, accepted with a larger one */
	size_t n = 5u * 1024 * 1024;
	char *big = malloc(n + 1);
	assert_non_null(big);
	size_t head = (size_t)snprintf(big, n, "<plist><data>");
	memset(big + head, 'A', n - head);
	memcpy(big + n - 20, "AAAA</data></plist>", 19);
	n -= 1;
	assert_int_equal(ap_plist_parse(big, n, 0, &q), AP_ETOOBIG);
	assert_int_equal(ap_plist_parse(big, n, n - 1, &q), AP_ETOOBIG);
	assert_int_equal(ap_plist_parse(big, n, 8u * 1024 * 1024, &q), 0);
	assert_int_equal(plist_get_node_type(q), PLIST_DATA);
	plist_free(q);
	free(big);
}

static void test_getters(void **state)
{
	plist_t p = NULL;
	const char *s = HEAD "<dict><key>s</key><string>str</string><key>e</key><string/>"
			     "<key>d</key><data>AAEC</data><key>z</key><data></data>"
			     "<key>b</key><true/><key>i</key><integer>-42</integer>"
			     "<key>r</key><real>1.5</real><key>ri</key><integer>7</integer>"
			     "<key>nan</key><real>nan</real><key>a</key><array/></dict>" TAIL;
	char *str = NULL;
	unsigned char *data = NULL;
	size_t len = 99;
	int b = -1;
	int64_t i = 0;
	double r = 0;
	plist_t node = NULL;

	assert_int_equal(parse_s(s, &p), 0);
	assert_int_equal(ap_dict_get_string(p, "s", &str), 0);
	assert_string_equal(str, "str");
	free(str);
	assert_int_equal(ap_dict_get_string(p, "e", &str), 0);
	assert_string_equal(str, "");
	free(str);
	assert_int_equal(ap_dict_get_string(p, "missing", &str), AP_EMISSING);
	assert_int_equal(ap_dict_get_string(p, "b", &str), AP_ETYPE);
	assert_int_equal(ap_dict_get_data(p, "d", &data, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "\0\1\2", 3);
	free(data);
	assert_int_equal(ap_dict_get_data(p, "z", &data, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(data);
	free(data);
	assert_int_equal(ap_dict_get_data(p, "s", &data, &len), AP_ETYPE);
	assert_int_equal(ap_dict_get_bool(p, "b", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(ap_dict_get_bool(p, "i", &b), AP_ETYPE);
	assert_int_equal(ap_dict_get_int(p, "i", &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(ap_dict_get_int(p, "r", &i), AP_ETYPE);
	assert_int_equal(ap_dict_get_real(p, "r", &r), 0);
	assert_true(r == 1.5);
	assert_int_equal(ap_dict_get_real(p, "ri", &r), 0);
	assert_true(r == 7.0);
	assert_int_equal(ap_dict_get_real(p, "nan", &r), AP_EINVAL);
	assert_int_equal(ap_dict_get_real(p, "s", &r), AP_ETYPE);
	assert_int_equal(ap_dict_get_real(p, "none", &r), AP_EMISSING);
	assert_int_equal(ap_dict_get_node(p, "a", PLIST_ARRAY, &node), 0);
	assert_ptr_equal(node, plist_dict_get_item(p, "a"));
	assert_int_equal(ap_dict_get_node(p, "a", PLIST_DICT, &node), AP_ETYPE);
	/* not a dictionary, NULLs */
	assert_int_equal(ap_dict_get_string(node, "x", &str), AP_EINVAL);
	assert_int_equal(ap_dict_get_string(NULL, "x", &str), AP_EINVAL);
	assert_int_equal(ap_dict_get_string(p, NULL, &str), AP_EINVAL);
	assert_int_equal(ap_dict_get_data(p, "d", &data, NULL), AP_EINVAL);
	plist_free(p);
}

static void test_to_xml_round_trip(void **state)
{
	plist_t p = plist_new_dict(), q = NULL;
	char *xml = NULL, *str = NULL;
	size_t len = 0;

	plist_dict_set_item(p, "k", plist_new_string("a<b>&c\"d'e]]>\xc3\xa9"));
	plist_dict_set_item(p, "n", plist_new_uint((uint64_t)-5));
	assert_int_equal(ap_plist_to_xml(p, &xml, &len), 0);
	assert_int_equal(strlen(xml), len);
	assert_int_equal(ap_plist_parse(xml, len, 0, &q), 0);
	assert_int_equal(ap_dict_get_string(q, "k", &str), 0);
	assert_string_equal(str, "a<b>&c\"d'e]]>\xc3\xa9");
	int64_t n;
	assert_int_equal(ap_dict_get_int(q, "n", &n), 0);
	assert_int_equal(n, -5);
	free(str);
	free(xml);
	plist_free(p);
	plist_free(q);
	assert_int_equal(ap_plist_to_xml(NULL, &xml, &len), AP_EINVAL);
}

static void test_text_and_tree(void **state)
{
	assert_true(ap_plist_text_ok("abc\t\n\xc3\xa9", 7));
	assert_false(ap_plist_text_ok("a\0b", 3));
	assert_false(ap_plist_text_ok("\x1b[31m", 5));
	assert_false(ap_plist_text_ok("\xff", 1));
	assert_false(ap_plist_text_ok(NULL, 0));

	plist_t root = plist_new_dict(), cur = root;
	plist_dict_set_item(root, "ok", plist_new_string("fine"));
	assert_int_equal(ap_plist_check_tree(root), 0);
	plist_dict_set_item(root, "bad\x01key", plist_new_string("x"));
	assert_int_equal(ap_plist_check_tree(root), AP_EINVAL);
	plist_dict_remove_item(root, "bad\x01key");
	plist_dict_set_item(root, "v", plist_new_string("bad\xff"));
	assert_int_equal(ap_plist_check_tree(root), AP_EINVAL);
	plist_dict_remove_item(root, "v");
	for (int i = 0; i < AP_PLIST_MAX_DEPTH + 1; i++) {
		plist_t a = plist_new_array();
		if (plist_get_node_type(cur) == PLIST_DICT)
			plist_dict_set_item(cur, "a", a);
		else
			plist_array_append_item(cur, a);
		cur = a;
	}
	assert_int_equal(ap_plist_check_tree(root), AP_ETOODEEP);
	plist_free(root);
	assert_string_equal(ap_plist_type_name(PLIST_DICT), "dictionary");
	assert_string_equal(ap_plist_type_name((plist_type)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),	  cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_depth),	  cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bytes),	  cmocka_unit_test(test_binary_and_size),
	    cmocka_unit_test(test_getters),	  cmocka_unit_test(test_to_xml_round_trip),
	    cmocka_unit_test(test_text_and_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
