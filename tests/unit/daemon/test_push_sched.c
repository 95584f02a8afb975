/* Unit tests for push_sched: coalescing, retries, bounds, drain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "ap_err.h"
#include "push_sched.h"

static const struct push_sched_opts opts = {
    .coalesce_ms = 500,
    .retry_base_ms = 1000,
    .retry_max_ms = 8000,
    .retries = 3,
    .max_devices = 1000,
};

static struct push_sched *make(const struct push_sched_opts *o)
{
	struct push_sched *s = NULL;
	assert_int_equal(push_sched_new(o, &s), 0);
	return s;
}

/* Next due device at now, or 0. */
static int64_t next(struct push_sched *s, uint64_t now)
{
	int64_t id;
	enum push_kind k;
	return push_sched_next(s, now, &id, &k) ? id : 0;
}

static void test_five_notifications_one_push(void **state)
{
	struct push_sched *s = make(&opts);
	assert_int_equal(push_sched_notify(s, 7, PUSH_QUEUED, 1000), 0);
	for (int i = 1; i < 5; i++)
		assert_int_equal(push_sched_notify(s, 7, PUSH_QUEUED, 1000 + 50 * i), 1);
	assert_int_equal(push_sched_next_due(s), 1500);
	assert_int_equal(next(s, 1499), 0); /* the window is not over */
	assert_int_equal(next(s, 1500), 7);
	assert_int_equal(next(s, 1500), 0); /* only once */
	assert_int_equal(push_sched_in_flight(s), 1);
	assert_int_equal(push_sched_done(s, 7, PUSH_END_OK, 1510, NULL), 0);
	/* quiet for the window: a notification now waits for its end */
	assert_int_equal(push_sched_notify(s, 7, PUSH_QUEUED, 1600), 0);
	assert_int_equal(next(s, 1900), 0);
	assert_int_equal(next(s, 2010), 7);
	push_sched_free(s);
}

static void test_quiet_expires(void **state)
{
	struct push_sched *s = make(&opts);
	push_sched_notify(s, 3, PUSH_QUEUED, 0);
	assert_int_equal(next(s, 500), 3);
	push_sched_done(s, 3, PUSH_END_OK, 600, NULL);
	assert_int_equal(push_sched_count(s), 1);
	assert_int_equal(push_sched_due(s, 1099), 0);
	assert_int_equal(push_sched_count(s), 1);
	assert_int_equal(push_sched_due(s, 1100), 0); /* dropped, nothing waiting */
	assert_int_equal(push_sched_count(s), 0);
	assert_int_equal(push_sched_next_due(s), UINT64_MAX);
	push_sched_free(s);
}

static void test_manual_is_now(void **state)
{
	struct push_sched *s = make(&opts);
	assert_int_equal(push_sched_notify(s, 1, PUSH_MANUAL, 100), 0);
	assert_int_equal(next(s, 100), 1);
	push_sched_done(s, 1, PUSH_END_OK, 110, NULL);
	/* manual overrides the quiet window and a planned push */
	assert_int_equal(push_sched_notify(s, 1, PUSH_MANUAL, 120), 0);
	assert_int_equal(next(s, 120), 1);
	push_sched_done(s, 1, PUSH_END_OK, 130, NULL);
	push_sched_notify(s, 2, PUSH_QUEUED, 200);
	assert_int_equal(push_sched_notify(s, 2, PUSH_MANUAL, 210), 1);
	assert_int_equal(next(s, 210), 2);
	push_sched_free(s);
}

static void test_notify_in_flight_pushes_again(void **state)
{
	struct push_sched *s = make(&opts);
	push_sched_notify(s, 9, PUSH_QUEUED, 0);
	assert_int_equal(next(s, 500), 9);
	assert_int_equal(push_sched_notify(s, 9, PUSH_QUEUED, 510), 1);
	assert_int_equal(push_sched_notify(s, 9, PUSH_QUEUED, 520), 1);
	push_sched_done(s, 9, PUSH_END_OK, 600, NULL);
	assert_int_equal(next(s, 1099), 0);
	assert_int_equal(next(s, 1100), 9); /* one more, coalesced */
	push_sched_done(s, 9, PUSH_END_OK, 1110, NULL);
	assert_int_equal(next(s, 5000), 0);
	push_sched_free(s);
}

static void test_retry_backoff_then_give_up(void **state)
{
	struct push_sched *s = make(&opts);
	uint64_t now = 0, prev_delay = 0;
	unsigned attempt = 0;
	push_sched_notify(s, 42, PUSH_MANUAL, now);
	assert_int_equal(next(s, now), 42);
	for (unsigned i = 1; i <= 3; i++) {
		assert_int_equal(push_sched_done(s, 42, PUSH_END_RETRY, now, &attempt), 0);
		assert_int_equal(attempt, i);
		uint64_t due = push_sched_next_due(s), delay = due - now;
		/* doubling from 1000 ms (+ up to a quarter), capped at 8000 (+ a quarter) */
		assert_true(delay >= (1000u << (i - 1)) && delay < (1250u << (i - 1)));
		assert_true(delay > prev_delay);
		prev_delay = delay;
		assert_int_equal(next(s, due - 1), 0);
		assert_int_equal(next(s, due), 42);
		now = due;
	}
	assert_int_equal(push_sched_done(s, 42, PUSH_END_RETRY, now, &attempt), 1);
	assert_int_equal(attempt, 4);
	assert_int_equal(push_sched_count(s), 0);
	push_sched_free(s);
}

static void test_resend_and_drop(void **state)
{
	struct push_sched *s = make(&opts);
	unsigned attempt = 9;
	push_sched_notify(s, 5, PUSH_MANUAL, 0);
	assert_int_equal(next(s, 0), 5);
	assert_int_equal(push_sched_done(s, 5, PUSH_END_RESEND, 10, &attempt), 0);
	assert_int_equal(attempt, 0); /* not an attempt */
	assert_int_equal(next(s, 10), 5);
	assert_int_equal(push_sched_done(s, 5, PUSH_END_DROP, 20, NULL), 0);
	assert_int_equal(push_sched_count(s), 0);
	assert_int_equal(push_sched_done(s, 5, PUSH_END_OK, 30, NULL), AP_ENOTFOUND);
	assert_int_equal(push_sched_notify(s, 0, PUSH_QUEUED, 0), AP_EINVAL);
	push_sched_free(s);
}

static void test_bound(void **state)
{
	struct push_sched_opts o = opts;
	o.max_devices = 3;
	struct push_sched *s = make(&o);
	for (int64_t id = 1; id <= 3; id++)
		assert_int_equal(push_sched_notify(s, id, PUSH_QUEUED, 0), 0);
	assert_int_equal(push_sched_notify(s, 4, PUSH_QUEUED, 0), AP_ELIMIT);
	assert_int_equal(push_sched_notify(s, 2, PUSH_QUEUED, 0), 1); /* known: merged */
	assert_int_equal(next(s, 500), 1);
	push_sched_done(s, 1, PUSH_END_DROP, 500, NULL);
	assert_int_equal(push_sched_notify(s, 4, PUSH_QUEUED, 500), 0);
	push_sched_free(s);
}

static void test_many_devices_in_order(void **state)
{
	struct push_sched_opts o = opts;
	o.max_devices = 100000;
	struct push_sched *s = make(&o);
	for (int64_t id = 100000; id >= 1; id--)
		assert_int_equal(push_sched_notify(s, id, PUSH_QUEUED, (uint64_t)(100000 - id)), 0);
	assert_int_equal(push_sched_waiting(s), 100000);
	int64_t expect = 100000;
	for (uint64_t now = 500; now < 100500; now++) {
		int64_t id = next(s, now);
		assert_int_equal(id, expect--);
		push_sched_done(s, id, PUSH_END_OK, now, NULL);
	}
	assert_int_equal(push_sched_due(s, 1000000), 0);
	assert_int_equal(push_sched_count(s), 0);
	push_sched_free(s);
}

static void test_flush(void **state)
{
	struct push_sched *s = make(&opts);
	push_sched_notify(s, 1, PUSH_QUEUED, 0);
	push_sched_notify(s, 2, PUSH_QUEUED, 0);
	assert_int_equal(next(s, 500), 1);
	push_sched_done(s, 1, PUSH_END_RETRY, 500, NULL); /* backing off */
	push_sched_notify(s, 3, PUSH_QUEUED, 400);
	push_sched_flush(s, 600);
	assert_int_equal(next(s, 600), 1);
	assert_int_equal(next(s, 600), 2);
	assert_int_equal(next(s, 600), 3);
	push_sched_free(s);
}

static void test_backoff_bounds(void **state)
{
	for (unsigned a = 1; a < 100; a++) {
		uint64_t d = push_sched_backoff(&opts, 1234, a);
		assert_true(d >= 1000 && d < 10000);
	}
	assert_int_equal(push_sched_backoff(&opts, 77, 2), push_sched_backoff(&opts, 77, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_five_notifications_one_push),
	    cmocka_unit_test(test_quiet_expires),
	    cmocka_unit_test(test_manual_is_now),
	    cmocka_unit_test(test_notify_in_flight_pushes_again),
	    cmocka_unit_test(test_retry_backoff_then_give_up),
	    cmocka_unit_test(test_resend_and_drop),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_many_devices_in_order),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_backoff_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
