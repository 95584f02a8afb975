/* fleet_fixture.h - a :memory: store with two collèges, and an enrolled
 * tablet, for db unit tests. */
#ifndef FLEET_FIXTURE_H
#define FLEET_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ap_err.h"
#include "db_device.h"
#include "db_mdm.h"
#include "db_person.h"
#include "db_school.h"
#include "store.h"

#define UAI_A "0131266F"
#define UAI_B "0132318Z"

static inline void fixture_school(struct db *db, const char *uai, const char *name)
{
	struct db_school s;
	memset(&s, 0, sizeof(s));
	snprintf(s.uai, sizeof(s.uai), "%s", uai);
	snprintf(s.name, sizeof(s.name), "%s", name);
	assert_int_equal(db_school_add(db, &s), 0);
}

static inline int64_t fixture_device(struct db *db, const char *serial, const char *uai)
{
	struct db_device d;
	int created = -1;
	assert_int_equal(db_device_import(db, serial, "iPad 9", uai, "", &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(db_device_get(db, serial, &d), 0);
	return d.id;
}

static inline int64_t fixture_person(struct db *db, const char *ext_id, enum db_person_kind kind,
				     const char *class_name, const char *uai)
{
	struct db_person p, got;
	int created;
	memset(&p, 0, sizeof(p));
	snprintf(p.ext_id, sizeof(p.ext_id), "%s", ext_id);
	p.kind = kind;
	snprintf(p.name, sizeof(p.name), "%s", ext_id);
	snprintf(p.class_name, sizeof(p.class_name), "%s", class_name);
	snprintf(p.school, sizeof(p.school), "%s", uai);
	assert_int_equal(db_person_put(db, &p, &created), 0);
	assert_int_equal(db_person_get(db, ext_id, &got), 0);
	return got.id;
}

/* A tablet enrolled (authenticated, then its push token) with UDID udid,
 * serial and certificate fingerprint fp; returns its id. */
static inline int64_t fixture_mdm_enrol(struct db *db, const char *udid, const char *serial,
					const char *fp)
{
	struct db_mdm_auth a = {udid, serial, "com.apple.mgmt.test", "17.5", "21F79", "iPad", fp};
	int64_t id = 0;
	const unsigned char tok[4] = {1, 2, 3, 4};
	int first = 0;
	struct db_mdm_bound b;
	assert_int_equal(db_mdm_authenticate(db, &a, &b), 0);
	assert_int_equal(b.how, DB_MDM_BIND_NEW);
	id = b.id;
	assert_int_equal(
	    db_mdm_token_update(db, id, tok, 4, "magic", "com.apple.mgmt.test", NULL, 0, 0, &first),
	    0);
	assert_int_equal(first, 1);
	return id;
}

static inline int fixture_setup(void **state)
{
	struct db *db;
	db_clock_set_offset(0);
	if (db_open(":memory:", &db) < 0)
		return -1;
	fixture_school(db, UAI_A, "Clg N. Sarraute");
	fixture_school(db, UAI_B, "Clg Elie Coutarel");
	*state = db;
	return 0;
}

/* An empty :memory: store in *state (for fixture_teardown). */
static inline int fixture_empty_setup(void **state)
{
	struct db *db;
	db_clock_set_offset(0);
	if (db_open(":memory:", &db) < 0)
		return -1;
	*state = db;
	return 0;
}

static inline int fixture_teardown(void **state)
{
	db_close(*state);
	db_clock_set_offset(0);
	return 0;
}

static inline enum db_device_state fixture_state(struct db *db, const char *serial)
{
	struct db_device d;
	assert_int_equal(db_device_get(db, serial, &d), 0);
	return d.state;
}

#endif
