/*
 * testutil.h - helpers shared by the unit tests (tests may do I/O):
 * running tools/mdm-schema-check on plists, reading files, legacy seals;
 * with the test PKI of tu_pki.h.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "tu_pki.h" /* the test PKI */

#include <stddef.h>

/* A document for the schema checker: a name for messages and its bytes. */
struct tu_doc {
	const char *name;
	const char *data;
	size_t len;
};

/* Writes each document to a temporary file and runs the checker once on
 * all of them with the extra arguments (NULL-terminated, may be NULL).
 * The checker is $AP_SCHEMA_CHECK (set by meson).  Returns its exit status
 * (0 = every file valid); prints its output when it is not 0 or when
 * $TU_VERBOSE is set.  Returns -1 if it cannot be run. */
int tu_schema_check(const struct tu_doc *docs, size_t n, const char *const *args);
/* One document. */
int tu_schema_check1(const char *name, const char *data, size_t len, const char *const *args);

/* Reads a whole file (malloc'd, NUL-terminated); NULL on error. */
char *tu_read_file(const char *path, size_t *ret_len);

/* Seals plain as keystore.c did before the version byte (nonce(12) |
 * ciphertext | tag(16), aad = the owner alone) with the secret.key of the
 * data directory dir: the rows an upgraded installation holds.  *ret
 * malloc'd.  Returns 0, or -1 when the key cannot be read. */
int tu_legacy_seal(const char *dir, const char *aad, const void *plain, size_t len,
		   unsigned char **ret, size_t *ret_len);

#endif
