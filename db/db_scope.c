/* db_scope.c - collège sets for list queries. */
#include "db_scope.h"
#include "ap_err.h"

#include <ctype.h>
#include <string.h>

int db_scope_has(const char *const *only, size_t n_only, const char *uai)
{
	for (size_t i = 0; i < n_only; i++)
		if (strcmp(only[i], uai) == 0)
			return 1;
	return 0;
}

int db_scope_json(const char *const *only, size_t n_only, char out[DB_SCOPE_JSON_CAP])
{
	size_t o = 0;
	if (n_only > DB_SCOPE_MAX)
		return AP_ELIMIT;
	out[o++] = '[';
	for (size_t i = 0; i < n_only; i++) {
		if (strlen(only[i]) != 8)
			return AP_EINVAL;
		for (size_t k = 0; k < 8; k++)
			if (!isalnum((unsigned char)only[i][k]))
				return AP_EINVAL;
		if (i)
			out[o++] = ',';
		out[o++] = '"';
		memcpy(out + o, only[i], 8);
		o += 8;
		out[o++] = '"';
	}
	out[o++] = ']';
	out[o] = '\0';
	return 0;
}
