#!/usr/bin/env python3
"""Group commit: the tablets' requests of one loop turn write in one
transaction, and each is answered only once that transaction is committed.

Every tablet gets one command, and a wave of sessions (Idle, the command,
Acknowledged, the empty answer) runs.  A session that ended without an
error had its Acknowledged answered 200; one that ended with an error did
not.  So the commands acknowledged in the database must be exactly the
sessions without an error when a group commit fails (the failed group's
tablets got 503s and nothing of theirs was kept), and at least those when
the daemon is killed with SIGKILL in the middle of the wave (a write
committed whose answer the kill cut is allowed; an answer sent whose
write is missing is not).  ARDOISE_TEST_GROUP_FAIL=N (tests only) makes
the Nth group commit after start roll back instead.
"""
import json
import os
import plistlib
import re
import signal
import sqlite3
import ssl
import tempfile
import threading

from harness import Daemon, Sim, check, new_code, read_response, run, wait_until

N = 48


def db_path(d):
    return os.path.join(d.data, "ardoise.db")


def sql(d, query, *args):
    c = sqlite3.connect("file:%s?mode=ro" % db_path(d), uri=True, timeout=20)
    try:
        return c.execute(query, args).fetchall()
    finally:
        c.close()


def statuses(d, after):
    """{status: count} of the commands queued after command id after (read only)."""
    c = sqlite3.connect("file:%s?mode=ro" % db_path(d), uri=True, timeout=20)
    try:
        return dict(c.execute("SELECT status, count(*) FROM command WHERE id > ?"
                              " GROUP BY status", (after,)).fetchall())
    finally:
        c.close()


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    check(m is not None, "%s in /metrics" % name)
    return int(m.group(1))


def fleet(d, sim, n):
    """n tablets enrolled, their enrolment commands done, one SecurityInfo
    each queued: the id of the last command before them."""
    sim("enroll", "-n", str(n), "--code", new_code(d, n), "--key-pool", "2", "--key-type", "ec")
    drained = sim.connect("-c", "8")
    check(drained["errors"] == 0, "the enrolment commands drained: %r" % drained)
    last = sql(d, "SELECT coalesce(max(id), 0) FROM command")[0][0]
    q = d.api("POST", "/api/v1/commands/bulk", {"type": "SecurityInfo", "all": True})
    check(q.get("queued") == n, "one command a tablet: %r" % q)
    return last


def wave(sim, conc):
    """The sessions' summary; the run may fail (errors counted in it)."""
    out = sim("connect", "--json", "-c", str(conc), expect=None)
    lines = out.stdout.strip().splitlines()
    check(lines, "ardoise-sim printed a summary: %s" % out.stderr[-500:])
    return json.loads(lines[-1])


def restart(d, env=None):
    d.stop()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        d.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_failed_group_answers_503_and_keeps_nothing():
    with Daemon(workers=1) as d:
        sim = Sim(d)
        last = fleet(d, sim, N)
        # counted from the start: the third group of the wave fails
        restart(d, {"ARDOISE_TEST_GROUP_FAIL": "3"})
        s = wave(sim, 32)
        line = d.wait_log(r"event=group_commit_failed .*answers=(\d+)")
        failed = int(line.group(1))
        st = statuses(d, last)
        acked = st.get("acknowledged", 0)
        print("wave with a failed group: %r, statuses %r, answers replaced %d"
              % ({k: s.get(k) for k in ("devices", "errors", "acknowledged")}, st, failed))
        check(failed >= 1, "the failed group held answers")
        check(s["errors"] == failed, "each answer of the failed group was an error (503): "
              "%d errors, %d replaced" % (s["errors"], failed))
        check(acked == N - s["errors"],
              "acknowledged in the database (%d) = sessions answered 200 (%d)"
              % (acked, N - s["errors"]))
        text = d.request("GET", "/metrics", token=None)[2].decode()
        check(metric(text, 'ardoise_db_group_commits_total{result="failed"}') == 1,
              "one failed group in /metrics")
        # retrying converges: every command acknowledged
        s2 = wave(sim, 32)
        check(s2["errors"] == 0, "the retry ran without errors: %r" % s2)
        st = statuses(d, last)
        check(st == {"acknowledged": N}, "every command acknowledged after the retry: %r" % st)
        d.check_serving("a failed group commit")


def test_groups_batch_under_concurrency():
    with Daemon(workers=1) as d:
        sim = Sim(d)
        last = fleet(d, sim, 64)
        before = d.request("GET", "/metrics", token=None)[2].decode()
        s = wave(sim, 64)
        check(s["errors"] == 0, "the wave ran without errors: %r" % s)
        text = d.request("GET", "/metrics", token=None)[2].decode()
        groups = (metric(text, 'ardoise_db_group_commits_total{result="ok"}')
                  - metric(before, 'ardoise_db_group_commits_total{result="ok"}'))
        reqs = (metric(text, "ardoise_db_group_requests_total")
                - metric(before, "ardoise_db_group_requests_total"))
        print("wave of 64 at concurrency 64: %d requests in %d groups" % (reqs, groups))
        check(reqs >= 2 * 64, "every session's requests went through groups: %d" % reqs)
        check(groups < reqs, "groups of more than one request: %d requests, %d groups"
              % (reqs, groups))
        check(statuses(d, last) == {"acknowledged": 64}, "every command acknowledged")


def test_kill_during_wave_loses_nothing_answered():
    with Daemon(workers=2) as d:
        sim = Sim(d)
        last = fleet(d, sim, N)
        result = {}
        t = threading.Thread(target=lambda: result.update(wave(sim, 2)))
        t.start()
        # some acknowledged, not all: then SIGKILL
        wait_until(lambda: statuses(d, last).get("acknowledged", 0) >= N // 4, 60,
                   "a quarter of the wave acknowledged", interval=0.005)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(30)
        d.logf.close()
        d.proc = None
        t.join(120)
        check(not t.is_alive(), "the wave ended")
        ok = N - result["errors"]
        d.start()
        acked = statuses(d, last).get("acknowledged", 0)
        print("killed during the wave: %d sessions answered 200, %d acknowledged after the "
              "restart" % (ok, acked))
        check(result["errors"] > 0, "the kill cut the wave: %r" % result)
        check(acked >= ok, "nothing answered 200 is missing: %d acknowledged, %d answered"
              % (acked, ok))
        s2 = wave(sim, 8)
        check(statuses(d, last) == {"acknowledged": N}, "converged after the restart: %r (%r)"
              % (statuses(d, last), s2))


def identity(d, sim, n):
    """(udid, cert path, key path) of the sim's nth tablet."""
    h = sqlite3.connect("file:%s?mode=ro" % sim.state, uri=True)
    udid, der, key = h.execute("SELECT d.udid, d.cert, k.pem FROM device d JOIN key_pool k"
                               " ON k.kind = d.key_kind AND k.slot = d.key_slot"
                               " ORDER BY d.serial LIMIT 1 OFFSET ?", (n,)).fetchone()
    h.close()
    tmp = tempfile.mkdtemp(dir=d.tmp)
    cert, kpath = os.path.join(tmp, "id.pem"), os.path.join(tmp, "id.key")
    with open(cert, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(bytes(der)))
    with open(kpath, "w") as f:
        f.write(key)
    return udid, cert, kpath


def put(path, body, close=False):
    return (("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-apple-aspen-mdm\r\n"
             "Content-Length: %d\r\n%s\r\n" % (path, len(body), "Connection: close\r\n"
                                                if close else "")).encode() + body)


def test_hostile_pipelined_and_abrupt():
    """Requests pipelined on one connection, grouped and not, are answered
    in order; tablets that close before their held answer is sent lose the
    answer, not the daemon's health nor their writes."""
    with Daemon(workers=1) as d:
        sim = Sim(d)
        last = fleet(d, sim, 4)
        udid, cert, key = identity(d, sim, 0)
        idle = plistlib.dumps({"Status": "Idle", "UDID": udid})
        s = d.raw_tls(cert, key)
        s.sendall(put("/mdm/connect", idle) + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  + put("/mdm/connect", idle, close=True))
        f = s.makefile("rb")
        got = [read_response(f) for _ in range(3)]
        s.close()
        check([g[0] for g in got] == [200, 200, 200], "three answers: %r" % [g[:2] for g in got])
        check(b"<plist" in got[0][2] and b"ok" in got[1][2].lower(),
              "in order: the command, then the health: %r" % [g[2][:80] for g in got[:2]])
        # abrupt closes: each sends its report and goes without reading
        for n in range(4):
            u, c, k = identity(d, sim, n)
            for _ in range(5):
                s = d.raw_tls(c, k)
                s.sendall(put("/mdm/connect", plistlib.dumps({"Status": "Idle", "UDID": u})))
                s.close()
        d.check_serving("tablets gone before their answers")
        s = wave(sim, 4)  # the commands left are delivered and acknowledged
        check(s["errors"] == 0 and statuses(d, last) == {"acknowledged": 4},
              "the fleet converged: %r, %r" % (s, statuses(d, last)))


if __name__ == "__main__":
    run([test_failed_group_answers_503_and_keeps_nothing, test_groups_batch_under_concurrency,
         test_kill_during_wave_loses_nothing_answered, test_hostile_pipelined_and_abrupt])
