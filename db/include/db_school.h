/*
 * db_school.h - the collèges (schools), identified by their UAI.
 *
 * A UAI is 7 digits and a check letter, "ABCDEFGHJKLMNPRSTUVWXYZ"[n % 23]
 * where n is the number the digits make (e.g. 0131266F).  Stored in upper
 * case; every function taking a UAI expects the normalised form.
 */
#ifndef DB_SCHOOL_H
#define DB_SCHOOL_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define DB_UAI_LEN	     8
#define DB_SCHOOL_NAME_MAX   128
#define DB_SCHOOL_TEXT_MAX   256 /* address, commune */
#define DB_SCHOOL_SECTOR_MAX 32

struct db_school {
	char uai[DB_UAI_LEN + 1];
	char name[DB_SCHOOL_NAME_MAX + 1];
	char address[DB_SCHOOL_TEXT_MAX + 1];
	char commune[DB_SCHOOL_TEXT_MAX + 1];
	char sector[DB_SCHOOL_SECTOR_MAX + 1];
	/* the equipment targets of the département's plan: pupils and
	 * teachers to equip with a tablet; 0 when unknown (stored NULL) */
	int64_t pupils_equipped, teachers_equipped;
	int64_t created_at;
};

/* The check letter of the 7 digits at `digits`. */
char db_school_uai_letter(const char *digits);
/* Normalises `in` (surrounding blanks dropped, letter upper-cased) into
 * ret.  AP_EPARSE when it is not 7 digits and a letter; AP_EINVAL when the
 * letter is not the check letter (db_school_uai_letter() says which). */
int db_school_uai_norm(const char *in, char ret[DB_UAI_LEN + 1]);

/* Adds a collège; AP_EEXIST when its UAI is known. */
int db_school_add(struct db *db, const struct db_school *s);
/* Adds or updates (name, address, commune, sector, and each equipment
 * target that is not 0: 0 keeps the stored one); *ret_created says
 * which (an enum db_put, store.h: DB_PUT_UNCHANGED when the row already
 * says all that, and is not written). */
int db_school_put(struct db *db, const struct db_school *s, int *ret_created);
/* AP_ENOTFOUND when unknown. */
int db_school_get(struct db *db, const char *uai, struct db_school *ret);
/* Calls fn for each collège ordered by UAI, only those named in
 * `only` (n_only UAIs) unless only is NULL; fn returning non-zero stops. */
int db_school_list(struct db *db, const char *const *only, size_t n_only,
		   int (*fn)(const struct db_school *s, void *arg), void *arg);

#endif
