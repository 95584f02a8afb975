/*
 * ctl_scan.h - the CLI's JSON scanner for long lists (ctl_fleet_get_rows()):
 * it reads the shape the server writes them in (api_fleet_list_begin())
 * without building JSON objects, and says so when an answer has another
 * shape, so the caller falls back to a JSON parser.  Values are raw: the
 * caller escapes them for people.  No I/O.
 */
#ifndef CTL_SCAN_H
#define CTL_SCAN_H

#include <stddef.h>

#define CTL_SCAN_VAL	  512 /* a value's room, NUL included: longer ones are cut */
#define CTL_SCAN_MAX_KEYS 16

/* A page shaped {"next":N|null<blanks>,"KEY":[\n ITEMS \n]}\n: the
 * elements' text at *items (*n_items bytes), the cursor in next ("" when
 * none).  1 when the page has that shape, 0 otherwise. */
int ctl_scan_page(const char *body, size_t len, const char *key, const char **items,
		  size_t *n_items, char *next, size_t next_cap);

/* The flat objects of text (elements joined by ",\n"), whose members may
 * be flat objects themselves: for each, fn gets vals[k], the value of
 * keys[k] ("a.b": member b of member a; "" when null or absent; numbers
 * and booleans as written).  -1, and fn not called at all, when one
 * element is not such an object or nkeys > CTL_SCAN_MAX_KEYS; 0
 * otherwise. */
int ctl_scan_rows(const char *text, size_t len, const char *const *keys, size_t nkeys,
		  void (*fn)(const char *const *vals, void *arg), void *arg);

#endif
