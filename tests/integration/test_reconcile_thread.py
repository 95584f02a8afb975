#!/usr/bin/env python3
"""A reconciliation of the fleet or a collège runs on a work thread with a
connection of its own (reconcile.h): the loop that received the change
serves its tablets meanwhile, the staff's answer waits for the run and
carries its figures, and changes arriving during a run are reconciled by
one more run after it (widened to the fleet when their collèges differ).

ARDOISE_TEST_RECONCILE_SLOW_MS=N (tests only) makes such a run pause N ms
after it read its facts, before it queues anything: a change committed
during the pause is not in the run's facts, so only a later run can
reconcile it.
"""
import os
import re
import sqlite3
import threading
import time

from harness import Daemon, Sim, check, new_code, run

SLOW_MS = 3000
UAI_A = "0131266F"


def sql(d, query, *args):
    c = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.data, "ardoise.db"), uri=True,
                        timeout=20)
    try:
        return c.execute(query, args).fetchall()
    finally:
        c.close()


def installs(d, bundle):
    return sql(d, "SELECT count(*) FROM command WHERE type='InstallApplication'"
               " AND dedupe=?", bundle)[0][0]


def slow_daemon(d, n):
    """n tablets enrolled and drained, then the daemon restarted with slow runs."""
    sim = Sim(d)
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2", "--key-type", "ec")
    check(sim.connect("-c", str(n))["errors"] == 0, "the enrolment commands drained")
    d.stop()
    os.environ["ARDOISE_TEST_RECONCILE_SLOW_MS"] = str(SLOW_MS)
    try:
        d.start()
    finally:
        del os.environ["ARDOISE_TEST_RECONCILE_SLOW_MS"]
    return sim


class Change(threading.Thread):
    """One assignment, answered in the background: .answer, .t (when)."""

    def __init__(self, d, bundle, scope):
        super().__init__(daemon=True)
        self.d, self.bundle, self.scope = d, bundle, scope
        self.answer = self.t = self.error = None
        self.start()

    def run(self):
        try:
            self.answer = self.d.api("POST", "/api/v1/policy/assignments",
                                     {"item": "app:" + self.bundle, "scope": self.scope},
                                     expect=201)
        except Exception as e:  # the test reads it
            self.error = e
        self.t = time.time()


def add_apps(d, *bundles):
    for i, b in enumerate(bundles):
        d.ctl("app", "add", "--bundle-id", b, "--store-id", str(4000 + i), "--name", b)


def test_sessions_served_during_a_fleet_run():
    with Daemon(workers=1) as d:  # one loop: the run's and the sessions'
        sim = slow_daemon(d, 3)
        add_apps(d, "fr.test.one")
        change = Change(d, "fr.test.one", "fleet")
        time.sleep(0.5)  # the run has read its facts and pauses
        t0 = time.time()
        s = sim.connect("-c", "3")
        t1 = time.time()
        print("sessions during the run: %.2fs, the run still going: %s"
              % (t1 - t0, change.is_alive()))
        check(s["errors"] == 0 and s["devices"] == 3, "the sessions ran: %r" % s)
        check(change.is_alive() or change.t > t1,
              "the sessions were answered before the run ended")
        change.join(30)
        check(change.answer is not None, "the change was answered: %s" % change.error)
        rec = change.answer["reconcile"]
        check(rec.get("devices") == 3 and rec.get("queued") == 3,
              "the answer carries the run's figures: %r" % rec)
        check(t0 >= change.t - rec["ms"] / 1000.0,
              "the sessions started once the run was going (it took %d ms)" % rec["ms"])
        check(installs(d, "fr.test.one") == 3, "every tablet got its InstallApplication")
        d.wait_log(r"event=reconcile reason=assign scope=fleet devices=3 .*queued=3")


def test_changes_during_a_run_make_one_more_run():
    with Daemon(workers=2) as d:  # the changes land on either loop
        slow_daemon(d, 3)
        d.sqlite("INSERT OR IGNORE INTO school(uai,name,created_at) VALUES ('%s','A',0)" % UAI_A)
        add_apps(d, "fr.test.a", "fr.test.b", "fr.test.c")
        first = Change(d, "fr.test.a", "fleet")
        time.sleep(1.0)  # the first run has read its facts
        # a collège's change, then the fleet's: the run after must be the fleet's
        school = Change(d, "fr.test.c", "school:" + UAI_A)
        time.sleep(0.3)
        fleet = Change(d, "fr.test.b", "fleet")
        for c in (first, school, fleet):
            c.join(60)
            check(c.answer is not None, "%s answered: %s" % (c.bundle, c.error))
        ra, rc, rb = (c.answer["reconcile"] for c in (first, school, fleet))
        print("first run %r, the one after %r" % (ra, rb))
        check(ra.get("queued") == 3, "the first run queued its own change only: %r" % ra)
        check(rb.get("devices") == 3 and rb.get("queued") == 3,
              "the run after, of the fleet, queued the other: %r" % rb)
        check(rc == rb, "both changes answered with the same run: %r / %r" % (rc, rb))
        for b in ("fr.test.a", "fr.test.b"):
            check(installs(d, b) == 3, "%s reached every tablet" % b)
        runs = re.findall(r"event=reconcile reason=\S+ scope=(\S+) ", d.log())
        check(runs == ["fleet", "fleet"], "two runs of the fleet, none of the collège: %r" % runs)


def test_stop_during_a_run():
    with Daemon(workers=1) as d:
        slow_daemon(d, 2)
        add_apps(d, "fr.test.stop")
        change = Change(d, "fr.test.stop", "fleet")
        time.sleep(0.5)
        rc = d.stop()
        check(rc == 0, "ardoised stopped cleanly during a run: %r" % rc)
        change.join(30)
        check(not change.is_alive(), "the change's request ended")
        check(installs(d, "fr.test.stop") in (0, 2), "a run's part is whole or absent")


if __name__ == "__main__":
    run([test_sessions_served_during_a_fleet_run, test_changes_during_a_run_make_one_more_run,
         test_stop_during_a_run])
