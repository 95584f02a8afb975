/* Unit tests for db_privacy: leavers' pseudonymisation (batches, who is
 * due, who is held back, what is kept), one person's records, the class
 * levels and the indicators' counts. */
#include "fleet_fixture.h"
#include "db_audit.h"
#include "db_incident.h"
#include "db_loan.h"
#include "db_privacy.h"

#include <stdlib.h>

#define DAY 86400

static void leave(struct db *db, int64_t id, int64_t day)
{
	int n;
	assert_int_equal(db_person_leave(db, id, day, &n), 0);
}

static int count_people(const struct db_person *p, void *arg)
{
	int *n = arg;
	if (strncmp(p->ext_id, DB_PRIVACY_ANON_PREFIX, strlen(DB_PRIVACY_ANON_PREFIX)) == 0)
		n[0]++;
	else
		n[1]++;
	return 0;
}

static void test_pseudonymise_batches(void **state)
{
	struct db *db = *state;
	int64_t now = db_now(), cut = now - 10 * DAY, n = -1, held = -1, at = -1, next;
	int64_t ids[5];
	char ext[8];
	for (int i = 0; i < 5; i++) {
		snprintf(ext, sizeof(ext), "E%d", i);
		ids[i] = fixture_person(db, ext, i == 4 ? DB_PERSON_TEACHER : DB_PERSON_PUPIL, "3A",
					UAI_A);
	}
	leave(db, ids[0], cut - DAY);
	leave(db, ids[1], cut - 400 * DAY);
	leave(db, ids[2], cut); /* on the cut-off day: not before it */
	leave(db, ids[4], cut - 2 * DAY);
	/* E3 has not left */
	assert_int_equal(db_privacy_pseudonymise(db, cut, 2, &n), 0);
	assert_int_equal(n, 2); /* the batch's bound */
	assert_int_equal(db_privacy_pseudonymise(db, cut, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_privacy_pseudonymise(db, cut, 2, &n), 0);
	assert_int_equal(n, 0); /* nobody twice */
	assert_int_equal(db_privacy_held_back(db, cut, &held), 0);
	assert_int_equal(held, 0);
	/* the old ids are gone; E2 and E3 stay as they were */
	assert_int_equal(db_privacy_pseudonymised_at(db, "E0", &at), AP_ENOTFOUND);
	assert_int_equal(db_privacy_pseudonymised_at(db, "E2", &at), 0);
	assert_int_equal(at, 0);
	int counts[2] = {0, 0};
	assert_int_equal(db_person_list(db, NULL, 0, NULL, 0, 100, count_people, counts, &next), 0);
	assert_int_equal(counts[0], 3);
	assert_int_equal(counts[1], 2);
}

struct found {
	struct db_person p;
	int n;
};

static int first_anon(const struct db_person *p, void *arg)
{
	struct found *f = arg;
	if (strncmp(p->ext_id, DB_PRIVACY_ANON_PREFIX, 5) != 0)
		return 0;
	f->p = *p;
	f->n++;
	return 0;
}

static int count_ids(int64_t id, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_what_is_kept(void **state)
{
	struct db *db = *state;
	int64_t now = db_now(), dev = fixture_device(db, "DMPA00000001", UAI_A), loan, inc, n, held;
	int64_t p = fixture_person(db, "E-LEA", DB_PERSON_PUPIL, "6B", UAI_A);
	struct db_privacy_person k;
	struct db_incident in;
	struct db_loan l;
	struct found f = {0};
	int ids = 0;
	assert_int_equal(db_loan_create(db, dev, p, UAI_A, 0, 0, "ati", &loan), 0);
	assert_int_equal(
	    db_incident_declare(db, dev, DB_INC_DAMAGE, now, NULL, "Léa l'a cassée", "ati", &inc),
	    0);
	leave(db, p, now - 30 * DAY);
	/* the tablet is not back: held back */
	assert_int_equal(db_privacy_pseudonymise(db, now, 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_privacy_held_back(db, now, &held), 0);
	assert_int_equal(held, 1);
	assert_int_equal(db_privacy_incident_ids(db, p, NULL, 0, count_ids, &ids), 0);
	assert_int_equal(ids, 1);
	const char *only_b[] = {UAI_B};
	ids = 0;
	assert_int_equal(db_privacy_incident_ids(db, p, only_b, 1, count_ids, &ids), 0);
	assert_int_equal(ids, 0); /* another collège's view */
	/* written off: the loan ends, the leaver is pseudonymised */
	assert_int_equal(db_incident_close(db, inc, DB_INC_WRITTEN_OFF, "Léa paiera", "ati"), 0);
	assert_int_equal(db_privacy_pseudonymise(db, now, 10, &n), 0);
	assert_int_equal(n, 1);
	int64_t next;
	assert_int_equal(db_person_list(db, NULL, 0, NULL, 0, 100, first_anon, &f, &next), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(strlen(f.p.ext_id), 5 + 16);
	assert_int_equal(strspn(f.p.ext_id + 5, "0123456789abcdef"), 16);
	assert_string_equal(f.p.class_name, "");
	assert_non_null(strstr(f.p.name, DB_PRIVACY_PUPIL_LABEL));
	assert_null(strstr(f.p.name, "LEA"));
	assert_int_equal(db_privacy_person(db, f.p.ext_id, &k), 0);
	assert_int_equal(k.id, p);
	assert_true(k.pseudonymised_at > 0);
	/* the loan and the incident stay, without the notes */
	assert_int_equal(db_loan_get(db, loan, &l), 0);
	assert_string_equal(l.person, f.p.ext_id);
	assert_int_equal(db_incident_get(db, inc, &in), 0);
	assert_int_equal(in.kind, DB_INC_DAMAGE);
	assert_string_equal(in.note, "");
	assert_string_equal(in.close_note, "");
}

static int count_rows(const struct db_audit_row *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_audit_about(void **state)
{
	struct db *db = *state;
	int n = 0;
	assert_int_equal(db_audit_append(db, "t", "person.leave", "E1", "", ""), 0);
	assert_int_equal(db_audit_append(db, "t", "loan.create", "DMP1", "", "{\"person\":\"E1\"}"),
			 0);
	assert_int_equal(
	    db_audit_append(db, "t", "loan.create", "DMP2", "", "{\"person\":\"E10\"}"), 0);
	assert_int_equal(db_audit_append(db, "t", "x.y", "E10", "", "not json \"person\":"), 0);
	assert_int_equal(db_privacy_audit(db, "E1", 0, count_rows, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(db_privacy_audit(db, "E1", 1, count_rows, &n), 0);
	assert_int_equal(n, 1);
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(db_ind_level_of("pupil", "6A"), DB_IND_6E);
	assert_int_equal(db_ind_level_of("pupil", " 5e B"), DB_IND_5E);
	assert_int_equal(db_ind_level_of("pupil", "4ème 2"), DB_IND_4E);
	assert_int_equal(db_ind_level_of("pupil", "3"), DB_IND_3E);
	assert_int_equal(db_ind_level_of("pupil", "ULIS"), DB_IND_OTHER);
	assert_int_equal(db_ind_level_of("pupil", "4 segpa"), DB_IND_OTHER);
	assert_int_equal(db_ind_level_of("pupil", ""), DB_IND_OTHER);
	assert_int_equal(db_ind_level_of("pupil", "CM2"), DB_IND_OTHER);
	assert_int_equal(db_ind_level_of("teacher", "6A"), DB_IND_TEACHER);
	assert_int_equal(db_ind_level_of(NULL, NULL), DB_IND_NONE);
	assert_string_equal(db_ind_level_name(DB_IND_OTHER), "other");
	assert_string_equal(db_ind_measure_name(DB_IND_HOME_USE), "home_use_loans");
}

static void test_indicators(void **state)
{
	struct db *db = *state;
	int64_t now = db_now(), loan, inc;
	int64_t d1 = fixture_device(db, "A1", UAI_A), d2 = fixture_device(db, "A2", UAI_A);
	int64_t d3 = fixture_device(db, "B1", UAI_B), d4 = fixture_device(db, "A3", UAI_A);
	int64_t p1 = fixture_person(db, "E1", DB_PERSON_PUPIL, "6A", UAI_A);
	int64_t p2 = fixture_person(db, "E2", DB_PERSON_PUPIL, "ULIS", UAI_A);
	int64_t t1 = fixture_person(db, "T1", DB_PERSON_TEACHER, "", UAI_B);
	struct db_ind_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(db_loan_create(db, d1, p1, UAI_A, 1, 0, "t", &loan), 0);
	assert_int_equal(db_loan_create(db, d2, p2, UAI_A, 0, 0, "t", &loan), 0);
	assert_int_equal(db_loan_return(db, loan, "ok", "t"), 0);
	assert_int_equal(db_loan_create(db, d3, t1, UAI_B, 0, 0, "t", &loan), 0);
	assert_int_equal(db_incident_declare(db, d4, DB_INC_LOSS, now, NULL, NULL, "t", &inc), 0);
	assert_int_equal(db_incident_declare(db, d1, DB_INC_THEFT, now, "PV-1", NULL, "t", &inc),
			 0);
	assert_int_equal(db_privacy_indicators(db, now - DAY, now + DAY, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].uai, UAI_A);
	assert_string_equal(rows[0].name, "Clg N. Sarraute");
	assert_int_equal(rows[0].n[DB_IND_LOANS][DB_IND_6E], 1);
	assert_int_equal(rows[0].n[DB_IND_LOANS][DB_IND_OTHER], 1);
	assert_int_equal(rows[0].n[DB_IND_HOME_USE][DB_IND_6E], 1);
	assert_int_equal(rows[0].n[DB_IND_HOME_USE][DB_IND_OTHER], 0);
	assert_int_equal(rows[0].n[DB_IND_RETURNS][DB_IND_OTHER], 1);
	assert_int_equal(rows[0].n[DB_IND_INC_LOSS][DB_IND_NONE], 1);
	assert_int_equal(rows[0].n[DB_IND_INC_THEFT][DB_IND_6E], 1);
	assert_string_equal(rows[1].uai, UAI_B);
	assert_int_equal(rows[1].n[DB_IND_LOANS][DB_IND_TEACHER], 1);
	free(rows);
	/* another period: nothing */
	assert_int_equal(db_privacy_indicators(db, now + DAY, now + 2 * DAY, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pseudonymise_batches, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_what_is_kept, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_audit_about, fixture_setup, fixture_teardown),
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test_setup_teardown(test_indicators, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
