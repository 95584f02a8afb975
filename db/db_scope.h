/*
 * db_scope.h - private to db/: the set of collèges a query is limited to.
 *
 * Lists take `only` (an array of n_only normalised UAIs) or NULL for the
 * whole fleet.  SQL receives the set as a JSON array bound to json_each(?),
 * so statements stay string literals whatever the size of the set.
 */
#ifndef DB_SCOPE_H
#define DB_SCOPE_H

#include <stddef.h>

/* Room for the JSON text of DB_SCOPE_MAX UAIs. */
#define DB_SCOPE_MAX	  64
#define DB_SCOPE_JSON_CAP (DB_SCOPE_MAX * 11 + 3)

/* 1 when uai is one of only[0..n_only). */
int db_scope_has(const char *const *only, size_t n_only, const char *uai);
/* Writes only as a JSON array of strings into out; AP_ELIMIT when
 * n_only > DB_SCOPE_MAX, AP_EINVAL when a UAI is not 8 plain characters. */
int db_scope_json(const char *const *only, size_t n_only, char out[DB_SCOPE_JSON_CAP]);

#endif
