"""test_audit.py - the audit log against someone who can write its database.

Issue 11 (Medium, "The audit chain is unkeyed"): an edited row re-chained
with plain SHA-256, the newest rows deleted, or the whole log wiped, all
passed `ardoisectl audit verify`; lock, clear-passcode and locate wrote
their audit row after the change and ignored a failure.

The intruder works as one with only the database would: the daemon is
stopped, the sqlite3 module drops the append-only triggers, edits, and
recomputes every hash after the edit exactly as db/db_audit.c did before
the chain was keyed, and fixes audit_head.  Heads are saved the way an
operator keeps them elsewhere: a copy of DATA_DIR/audit.head, and the
daemon's logged `audit_head` line.
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3

from harness import Daemon, Sim, check, run, wait_until

GENESIS = "0" * 64
UAI = "0131266F"


def db_path(d):
    return os.path.join(d.data, "ardoise.db")


def plain_hash(prev, row):
    """SHA-256 of a row as db_audit.c computed it before the key (row_hash)."""
    msg = "%d:%d:" % (row["id"], row["ts"])
    for f in (prev, row["actor"], row["action"], row["target"], row["reason"], row["detail"]):
        msg += "%d:%s" % (len(f.encode()), f)
    return hashlib.sha256(msg.encode()).hexdigest()


def tamper(d, fn):
    """Runs fn(connection) on the stopped daemon's database, guards dropped."""
    check(not d.alive(), "tampering is done with the daemon stopped")
    c = sqlite3.connect(db_path(d))
    c.row_factory = sqlite3.Row
    c.execute("DROP TRIGGER IF EXISTS audit_no_update")
    c.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    fn(c)
    c.commit()
    c.close()


def rechain_from(c, first_id):
    """Recomputes prev_hash/hash of rows first_id.. with plain SHA-256 and
    points audit_head at the new last hash."""
    rows = [dict(r) for r in c.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", (first_id,))]
    prev = c.execute("SELECT hash FROM audit WHERE id = ?", (first_id - 1,)).fetchone()
    prev = prev[0] if prev else GENESIS
    for r in rows:
        h = plain_hash(prev, r)
        c.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, r["id"]))
        prev = h
    c.execute("UPDATE audit_head SET last_id = (SELECT max(id) FROM audit), last_hash = ?", (prev,))


def delete_from(c, first_id):
    """Deletes rows first_id.. and makes audit_head name the new last row."""
    c.execute("DELETE FROM audit WHERE id >= ?", (first_id,))
    last = c.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    if last:
        c.execute("UPDATE audit_head SET last_id = ?, last_hash = ?", (last[0], last[1]))
    else:
        c.execute("DELETE FROM audit_head")


def last_id(d):
    out = d.sqlite("SELECT coalesce(max(id), 0) FROM audit").stdout.strip()
    return int(out or 0)


def actions(d, prefix, n):
    """n audited changes (accounts created)."""
    for i in range(n):
        d.ctl("account", "create", "--name", "%s%d" % (prefix, i), "--role", "auditor")


def saved_head(d):
    """What an operator keeps elsewhere once the head caught up with the
    log: a copy of audit.head, and the last logged audit_head line."""
    path = os.path.join(d.data, "audit.head")
    want = last_id(d)

    def head():
        return open(path).read() if os.path.exists(path) else ""

    def names_last():
        m = re.search(r"last_id=(\d+)", head())
        return m and int(m.group(1)) == want
    wait_until(names_last, 30, lambda: "DATA_DIR/audit.head to name the last row %d (it holds %r)"
               % (want, head()), interval=0.1)
    copy = os.path.join(d.tmp, "saved.head")
    shutil.copy(path, copy)
    m = d.wait_log(r"[^\n]*event=audit_head count=%d last_id=%d hash=[0-9a-f]{64}[^\n]*" % (want, want), 30)
    return copy, m.group(0), want


def healthz_warnings(d):
    status, _, body = d.request("GET", "/healthz", token=None)
    check(status == 200, "/healthz answers 200")
    return json.loads(body).get("warnings", [])


def warned(d, text):
    w = healthz_warnings(d)
    check(any(text in x for x in w), "/healthz warns that the audit log is behind: %r" % w)


def truncation_reported(d, heads, saved):
    for arg in heads:
        out = d.ctl("audit", "verify", "--head", arg, expect=1)
        check("truncated: the saved head %d" % saved in out.stderr and "missing" in out.stderr,
              "verify --head %s reports the truncation: %r" % (arg[:40], out.stderr))


def test_rechained_edit_detected():
    """(a) an edited reason re-chained with plain SHA-256 fails verify, naming the row."""
    with Daemon() as d:
        actions(d, "a", 4)
        target = int(d.sqlite("SELECT min(id) FROM audit WHERE action = 'account.create'").stdout)
        d.ctl("audit", "verify")
        d.stop()

        def edit(c):
            c.execute("UPDATE audit SET reason = 'nothing happened' WHERE id = ?", (target,))
            rechain_from(c, target)
        tamper(d, edit)
        d.start()
        out = d.ctl("audit", "verify", expect=1)
        check("broken at row %d" % target in out.stderr,
              "verify names the edited row %d: %r" % (target, out.stderr))
        v = json.loads(d.ctl("audit", "verify", "--json", expect=1).stdout)
        check(v["intact"] is False and v["first_bad_id"] == target,
              "the JSON answer names row %d: %r" % (target, v))


def test_truncated_tail_detected_with_saved_head():
    """(b) the newest rows deleted and audit_head fixed: --head FILE and --head LINE say truncated."""
    with Daemon() as d:
        actions(d, "b", 3)
        head_file, head_line, saved = saved_head(d)
        actions(d, "c", 3)
        d.stop()
        tamper(d, lambda c: delete_from(c, saved))
        d.start()
        d.ctl("audit", "verify")  # the chain alone still verifies: only a saved head shows it
        truncation_reported(d, (head_file, head_line), saved)
        d.wait_log(r"event=audit_behind", 30)
        warned(d, "audit log behind")


def test_wiped_log_detected():
    """(c) the whole log wiped: detected with the saved head, and warned at start."""
    with Daemon() as d:
        actions(d, "w", 3)
        head_file, head_line, saved = saved_head(d)
        d.stop()
        tamper(d, lambda c: delete_from(c, 1))
        check(last_id(d) == 0, "the log is empty")
        d.start()
        m = d.wait_log(r"level=error event=audit_behind[^\n]*", 30)
        check("truncated" in m.group(0), "the start-up error says truncated: %r" % m.group(0))
        warned(d, "audit log behind")
        truncation_reported(d, (head_file, head_line), saved)
        d.stop()
        d.start()  # the warning stays until the operator removes the kept head
        warned(d, "behind")


def test_untouched_log_verifies():
    """(d) an untouched log verifies with and without --head, across a restart."""
    with Daemon() as d:
        actions(d, "u", 3)
        head_file, head_line, saved = saved_head(d)
        actions(d, "v", 2)
        d.stop()
        check(re.search(r"event=audit_head count=%d " % last_id(d), d.log()),
              "the head is logged at shutdown")
        d.start()
        d.ctl("audit", "verify")
        for arg in (head_file, head_line):
            out = d.ctl("audit", "verify", "--head", arg)
            check("saved head present: row %d" % saved in out.stdout, "verify --head: %r" % out.stdout)
        check(healthz_warnings(d) == [], "no warning for an untouched log: %r" % healthz_warnings(d))
        out = d.ctl("audit", "verify", "--head", "no head here", expect=2)
        check("audit_head" in out.stderr, "a text without a head is a usage error: %r" % out.stderr)


def sim_tablet(d):
    """One enrolled simulated iPad in collège UAI; returns its serial."""
    d.ctl("school", "add", UAI, "--name", "Clg N. Sarraute")
    code = d.ctl_json("enroll-code", "new", "--uses", "1")["code"]
    sim = Sim(d)
    sim("enroll", "-n", "1", "--code", code)
    sim("connect")
    serial = sim.devices()[0]["serial"]
    d.ctl("device", "move", serial, "--school", UAI)
    return serial


def counts(d, serial):
    q = d.sqlite("SELECT (SELECT count(*) FROM command WHERE type = 'DeviceLock'),"
                 " (SELECT count(*) FROM audit WHERE action = 'device.lock'),"
                 " (SELECT count(*) FROM command WHERE type = 'ClearPasscode'),"
                 " (SELECT count(*) FROM audit WHERE action = 'device.clear_passcode'),"
                 " (SELECT count(*) FROM locate_request),"
                 " (SELECT count(*) FROM audit WHERE action = 'locate.request')").stdout.strip()
    n = [int(x) for x in q.split("|")]
    return {"lock": n[0:2], "clear_passcode": n[2:4], "locate": n[4:6]}


def act(d, serial, expect):
    d.ctl("device", "lock", serial, "--reason", "perdue en cour", expect=expect)
    d.ctl("device", "clear-passcode", serial, "--reason", "code oublié", expect=expect)
    d.ctl("locate", "request", serial, "--authority-ref", "PV-2026-1", "--reason", "vol", expect=expect)


def test_every_action_has_its_audit_row():
    """(e) lock, clear-passcode, locate: no action is done without its audit row."""
    with Daemon() as d:
        serial = sim_tablet(d)
        # the audit row cannot be written (a full or broken audit store):
        # the action must not happen either
        d.sqlite("CREATE TRIGGER audit_refused BEFORE INSERT ON audit WHEN NEW.action IN"
                 " ('device.lock', 'device.clear_passcode', 'locate.request')"
                 " BEGIN SELECT RAISE(ABORT, 'audit store refused'); END;")
        act(d, serial, None)
        c = counts(d, serial)
        for what, (done, rows) in c.items():
            check(done == rows, "%s: %d done, %d audit rows while the audit store refused rows"
                  % (what, done, rows))
        d.sqlite("DROP TRIGGER audit_refused")
        act(d, serial, 0)
        c = counts(d, serial)
        for what, (done, rows) in c.items():
            check(done == rows == 1 if what != "lock" else done == rows >= 1,
                  "%s: %d done, %d audit rows" % (what, done, rows))


def test_row_written_first_or_nothing():
    """A row written before what it records (a job run, a reconciliation, the
    geolocation register shown, an enrolment profile and its new code): when
    the audit store refuses it, the request fails and nothing is run, shown
    or made."""
    with Daemon() as d:
        d.sqlite("CREATE TRIGGER audit_refused BEFORE INSERT ON audit WHEN NEW.action IN"
                 " ('job.run', 'policy.reconcile', 'locate.register_read', 'enroll.profile')"
                 " BEGIN SELECT RAISE(ABORT, 'audit store refused'); END;")
        codes = int(d.sqlite("SELECT count(*) FROM enroll_code").stdout)
        for method, path, body in (("POST", "/api/v1/jobs/locate_expire/run", None),
                                   ("POST", "/api/v1/policy/reconcile", {}),
                                   ("GET", "/api/v1/locate", None),
                                   ("GET", "/mdm/enroll", None)):
            status, _, data = d.request(method, path, body=body)
            check(status == 500 and b"audit row" in data,
                  "%s %s without its audit row: %d %r" % (method, path, status, data[:200]))
        check(int(d.sqlite("SELECT count(*) FROM enroll_code").stdout) == codes,
              "an enrolment code was made without its audit row")
        d.sqlite("DROP TRIGGER audit_refused")
        d.api("POST", "/api/v1/jobs/locate_expire/run")
        status, _, _ = d.request("GET", "/mdm/enroll")
        check(status == 200, "the profile once the row can be written: %d" % status)


run([test_rechained_edit_detected, test_truncated_tail_detected_with_saved_head,
     test_wiped_log_detected, test_untouched_log_verifies, test_every_action_has_its_audit_row,
     test_row_written_first_or_nothing])
