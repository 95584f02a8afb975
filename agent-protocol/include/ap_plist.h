/*
 * ap_plist.h - safe parsing and serialising of XML property lists, and
 * typed getters on dictionaries.
 *
 * Everything that comes from a device goes through ap_plist_parse(), which
 * refuses what libplist 2.2 should not be fed (see below) before libplist
 * sees a byte.  Binary plists are refused: devices send XML and the daemon
 * has no use for a second parser exposed to the network.
 */
#ifndef AP_PLIST_H
#define AP_PLIST_H

#include <plist/plist.h>

#include <stddef.h>
#include <stdint.h>

#define AP_PLIST_MAX_BYTES (4u * 1024 * 1024) /* default hard cap for one message */
#define AP_PLIST_MAX_DEPTH 32		      /* nested containers (dict, array) */

/*
 * Parses an XML plist from untrusted bytes (data need not be NUL-terminated;
 * a leading UTF-8 byte order mark is skipped).  max_bytes 0 means
 * AP_PLIST_MAX_BYTES.  Errors:
 *   AP_ETOOBIG       len > max_bytes;
 *   AP_EUNSUPPORTED  binary plist ("bplist" magic); a <!DOCTYPE with an
 *                    internal subset; any other <!ENTITY / <!ELEMENT ...
 *                    markup declaration;
 *   AP_ETOODEEP      more than AP_PLIST_MAX_DEPTH nested <dict>/<array>
 *                    elements, or elements of any kind nested more than
 *                    AP_PLIST_MAX_DEPTH + 2 deep (<plist>, the containers,
 *                    one value), found by a pre-scan before libplist runs
 *                    (libplist 2.2 recurses and overflows the stack on
 *                    deep input);
 *   AP_EPARSE        empty input, NUL bytes, invalid UTF-8 or control
 *                    characters that XML forbids, character references to
 *                    such characters, unknown entity references, unbalanced
 *                    or unterminated markup, and anything libplist cannot
 *                    parse;
 *   AP_EINVAL        data NULL with len > 0, or ret NULL.
 * On success *ret is a plist_t of any type that the caller frees with
 * plist_free().  Note that libplist 2.2 is lenient about values: bad base64
 * in <data> yields empty data, a bad <date> yields the epoch, "12abc" in
 * <integer> yields 12; callers validate meaning, not syntax.
 * Cost: libplist builds about 15 bytes of tree per input byte and, for a
 * dictionary of 200,000 small keys (4.9 MB), takes about 1 s of CPU on the
 * test machine; pick max_bytes per endpoint (check-ins are tiny).
 */
int ap_plist_parse(const char *data, size_t len, size_t max_bytes, plist_t *ret);

/* Serialises p to XML; *ret_xml is malloc'd and NUL-terminated (the caller
 * frees it with free()); ret_len may be NULL.  p NULL -> AP_EINVAL. */
int ap_plist_to_xml(plist_t p, char **ret_xml, size_t *ret_len);

/*
 * Typed getters on a dictionary.  All return AP_EINVAL if dict is NULL, not
 * a dictionary, or key/ret is NULL; AP_EMISSING if the key is absent;
 * AP_ETYPE if the value has another plist type.  The dictionary is not
 * modified and keeps ownership of its nodes.
 */
/* *ret is a malloc'd copy (caller frees).  Strings holding a NUL byte
 * -> AP_EINVAL. */
int ap_dict_get_string(plist_t dict, const char *key, char **ret);
/* *ret is a malloc'd copy of ret_len bytes, plus a NUL byte after them;
 * never NULL on success, even for empty data (caller frees). */
int ap_dict_get_data(plist_t dict, const char *key, unsigned char **ret, size_t *ret_len);
/* *ret is 0 or 1. */
int ap_dict_get_bool(plist_t dict, const char *key, int *ret);
/* <integer>.  libplist 2.2 stores integers as 64-bit patterns, so a value
 * above INT64_MAX comes back negative. */
int ap_dict_get_int(plist_t dict, const char *key, int64_t *ret);
/* <real>, or <integer> converted.  NaN and infinities -> AP_EINVAL. */
int ap_dict_get_real(plist_t dict, const char *key, double *ret);
/* Borrowed pointer to the value if it has plist type `type` (e.g.
 * PLIST_DICT, PLIST_ARRAY); valid as long as dict is. */
int ap_dict_get_node(plist_t dict, const char *key, plist_type type, plist_t *ret);

/* 1 if s[0..len) is UTF-8 made only of XML 1.0 characters (no NUL, no
 * C0 controls but tab, LF and CR, no surrogates), so it can go into an XML
 * plist and a JSON document unchanged; else 0.  s NULL -> 0. */
int ap_plist_text_ok(const char *s, size_t len);
/* Checks a plist built locally (not parsed) before it is serialised: every
 * string and key passes ap_plist_text_ok() (else AP_EINVAL) and containers
 * nest at most AP_PLIST_MAX_DEPTH deep (else AP_ETOODEEP). */
int ap_plist_check_tree(plist_t p);

/* Name of a plist type for messages ("string", "dictionary", ...). */
const char *ap_plist_type_name(plist_type t);

#endif
