#!/usr/bin/env python3
"""The session index (db/db_mdm_cache.c): what a tablet's requests read
about its certificate and its device is kept in memory between sessions,
and a change made through the API between two sessions is seen by the very
next one: a released certificate is refused, an erased tablet enrolled
again with a new certificate is served with it, on both loops, while its
neighbour goes on being served.  Each change comes right after sessions
that loaded the index, so a change the index missed would fail here.
"""
import json
import re

from harness import Daemon, Sim, check, new_code, run


def session(sim, udid):
    """One session of the tablet udid: its summary (a refusal is counted)."""
    out = sim("connect", "--json", "--device", udid, "-c", "1", expect=None)
    return json.loads(out.stdout.strip().splitlines()[-1])


def warm(sim, devs, times=2):
    """Sessions of every tablet (the index loads, then serves)."""
    for _ in range(times):
        for x in devs:
            r = session(sim, x["udid"])
            check(r["errors"] == 0, "a session of %s: %r" % (x["serial"], r))


def refusals(d, udid):
    return len(re.findall(r"event=device_refused .*udid=%s .*status=403" % re.escape(udid),
                          d.log()))


def test_release_then_next_session_refused():
    with Daemon(workers=2, init_args=["--no-baseline"]) as d:
        sim = Sim(d)
        sim("enroll", "-n", "2", "--code", new_code(d, 2), "--key-pool", "2")
        a, b = sim.devices()
        warm(sim, [a, b])
        d.api("POST", "/api/v1/devices/%s/release" % a["serial"],
              {"reason": "certificat rendu caduc pour le test"})
        before = refusals(d, a["udid"])
        r = session(sim, a["udid"])
        check(r["errors"] == 1, "the released certificate is refused at once: %r" % r)
        check(refusals(d, a["udid"]) == before + 1, "refused with 403 in the log")
        check(re.search(r"udid=%s status=403 reason=.*replaced or released"
                        % re.escape(a["udid"]), d.log()),
              "the refusal names the ended certificate")
        # its neighbour is still served, from memory or not
        warm(sim, [b], times=1)


def test_erase_reenrol_new_certificate_served():
    with Daemon(workers=2, init_args=["--no-baseline"]) as d:
        sim = Sim(d)
        sim("enroll", "-n", "2", "--code", new_code(d, 2), "--key-pool", "2")
        a, b = sim.devices()
        warm(sim, [a, b])
        old_fp = d.sqlite("SELECT cert_fp FROM device WHERE serial = '%s'"
                          % a["serial"]).stdout.strip()
        d.ctl("device", "erase", a["serial"], "--reason", "remise à zéro pour le test")
        r = session(sim, a["udid"])
        check(r["acknowledged"] == 1, "erase acknowledged: %r" % r)
        out = d.sqlite("SELECT enrollment FROM device WHERE serial = '%s'" % a["serial"])
        check(out.stdout.strip() == "unenrolled", "unenrolled by the erase: %r" % out.stdout)
        sim("enroll", "-n", "1", "--code", new_code(d, 1), "--key-pool", "2")
        again = [x for x in sim.devices() if x["udid"] == a["udid"]]
        check(len(again) == 1 and again[0]["state"] == "enrolled",
              "the same tablet enrolled again: %r" % again)
        new_fp = d.sqlite("SELECT cert_fp FROM device WHERE serial = '%s'"
                          % a["serial"]).stdout.strip()
        check(new_fp and new_fp != old_fp, "a new certificate is bound")
        ended = d.sqlite("SELECT ended_at IS NOT NULL FROM device_identity WHERE fp = '%s'"
                         % old_fp).stdout.strip()
        check(ended == "1", "the old certificate is ended")
        # the next sessions with the new certificate, on either loop
        r = sim.connect("-c", "2")
        check(r["errors"] == 0, "both tablets served after the re-enrolment: %r" % r)
        warm(sim, [again[0], b])
        check(refusals(d, a["udid"]) == 0, "never refused: %s" % a["udid"])


if __name__ == "__main__":
    run([test_release_then_next_session_refused, test_erase_reenrol_new_certificate_served])
