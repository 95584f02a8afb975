/*
 * pol_scope.h - where a policy item applies: the whole fleet (the
 * baseline), one collège, a group of one collège (its pupils, its
 * teachers, or one class), or one tablet.
 *
 * Text form, as stored and as typed by staff:
 *   fleet
 *   school:UAI          e.g. school:0131266F
 *   group:UAI/NAME      NAME = pupils | teachers | a class ("5B", "6e A")
 *   device:SERIAL       e.g. device:DMPXK2ABCDEF
 *
 * Pure: no I/O, no allocation.
 */
#ifndef POL_SCOPE_H
#define POL_SCOPE_H

#include <stddef.h>

#define POL_GROUP_MAX	   32  /* bytes of a group name */
#define POL_SERIAL_MAX	   64  /* bytes of a serial number */
#define POL_SCOPE_TEXT	   112 /* buffer for any formatted scope, NUL included */
#define POL_GROUP_PUPILS   "pupils"
#define POL_GROUP_TEACHERS "teachers"

enum pol_scope_kind { POL_SCOPE_FLEET, POL_SCOPE_SCHOOL, POL_SCOPE_GROUP, POL_SCOPE_DEVICE };

struct pol_scope {
	enum pol_scope_kind kind;
	char school[9];		       /* SCHOOL and GROUP: the UAI, upper case; else "" */
	char name[POL_SERIAL_MAX + 1]; /* GROUP: the group; DEVICE: the serial; else "" */
};

/* What a scope is matched against.  school is "" for a tablet that no
 * collège holds; groups are the tablet's groups within that collège
 * ("pupils" or "teachers", and the class of its borrower), n_groups may
 * be 0 (groups NULL).  Strings are borrowed. */
struct pol_device_facts {
	const char *serial;
	const char *school;
	const char *const *groups;
	size_t n_groups;
};

/* 1 if uai is a valid UAI: 7 digits and the check letter
 * "ABCDEFGHJKLMNPRSTUVWXYZ"[number % 23] (upper case only), else 0. */
int pol_scope_uai_valid(const char *uai);

/* Parses the text form.  The UAI may be given in lower case (it is
 * stored upper case); "pupils" and "teachers" are recognised in any
 * case and stored lower case.  AP_EINVAL for an unknown kind, a bad UAI
 * (wrong check letter included), an empty or too long group or serial,
 * a serial with other characters than A-Z, a-z, 0-9 (stored upper
 * case), a group holding '/' or control characters.  *ret is written
 * only on success. */
int pol_scope_parse(const char *text, struct pol_scope *ret);

/* Writes the canonical text form into out (POL_SCOPE_TEXT bytes). */
void pol_scope_format(const struct pol_scope *s, char out[POL_SCOPE_TEXT]);

/* 1 if the scope covers the tablet, else 0.  Group names compare
 * without regard to ASCII case ("5b" is "5B"). */
int pol_scope_applies(const struct pol_scope *s, const struct pol_device_facts *d);

/* The collège a scope belongs to (its UAI), or NULL for fleet and device
 * scopes (a device scope belongs to whatever collège holds the tablet). */
const char *pol_scope_school(const struct pol_scope *s);

#endif
