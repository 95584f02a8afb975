#!/usr/bin/env python3
"""Group commit without the wait between loops: a loop opens its group
before a tablet's request runs, only when the write lock is free; when the
other loop has it, the request is put off unstarted (counted in
ardoise_db_group_deferred_total) and dispatched when the loop's turn comes,
so no loop blocks on the other's group (ardoise_db_write_lock_wait_seconds_
total{caller="grouped"} stays 0).

ARDOISE_TEST_GROUP_HOLD_MS=N (tests only) makes each group hold the lock N
ms once open, as a loop turn full of handshakes would: the other loop then
finds it taken.
"""
import re
import signal
import ssl
import plistlib
import time

from harness import Daemon, Failure, Sim, check, read_response, run, wait_until
from test_group_commit import fleet, identity, put, restart, statuses, wave

N = 24


def value(text, name):
    m = re.search(r"^%s ([0-9.e+-]+)$" % re.escape(name), text, re.M)
    check(m is not None, "%s in /metrics" % name)
    return float(m.group(1))


def figures(d):
    text = d.request("GET", "/metrics", token=None)[2].decode()
    return (value(text, "ardoise_db_group_deferred_total"),
            value(text, 'ardoise_db_write_lock_wait_seconds_total{caller="grouped"}'))


def test_wave_defers_instead_of_waiting():
    with Daemon(workers=2) as d:
        sim = Sim(d)
        last = fleet(d, sim, N)
        restart(d, {"ARDOISE_TEST_GROUP_HOLD_MS": "15"})
        s = wave(sim, 12)
        deferred, waited = figures(d)
        print("wave of %d on 2 loops, groups holding 15 ms: %r, %d requests put off, "
              "grouped lock wait %.6f s" % (N, {k: s.get(k) for k in ("errors", "acknowledged")},
                                            deferred, waited))
        check(s["errors"] == 0, "every session answered: %r" % s)
        check(statuses(d, last) == {"acknowledged": N},
              "every command acknowledged: %r" % statuses(d, last))
        check(deferred > 0, "requests were put off while the other loop held the lock")
        check(waited == 0, "no loop blocked on the lock for a group: %f s" % waited)
        d.check_serving("a wave with requests put off")


def idle_request(d, sim, n, close=False):
    udid, cert, key = identity(d, sim, n)
    return cert, key, put("/mdm/connect", plistlib.dumps({"Status": "Idle", "UDID": udid}),
                          close=close)


def test_closed_while_deferred():
    """Tablets that send their request and close while it is put off: the
    daemon drops them (no use after free: the ASan build runs this), gives
    the turn it waited for back, and goes on serving tablets."""
    with Daemon(workers=2) as d:
        sim = Sim(d)
        last = fleet(d, sim, 8)
        restart(d, {"ARDOISE_TEST_GROUP_HOLD_MS": "150"})
        before = figures(d)[0]
        for _ in range(3):
            socks = []
            for n in range(8):
                cert, key, req = idle_request(d, sim, n)
                s = d.raw_tls(cert, key)
                s.sendall(req)
                socks.append(s)
            time.sleep(0.05)  # read by both loops, one holding the lock
            for s in socks:
                s.close()
        wait_until(lambda: figures(d)[0] > before, 10, "a request put off")
        time.sleep(0.5)  # the holding groups end, the turns waited for come
        d.check_serving("tablets gone while their requests were put off")
        s = wave(sim, 4)
        check(s["errors"] == 0 and statuses(d, last) == {"acknowledged": 8},
              "the fleet converged after: %r, %r" % (s, statuses(d, last)))
        check(figures(d)[1] == 0, "no loop blocked on the lock for a group")


def test_drain_with_requests_deferred():
    """SIGTERM while requests are put off: each is answered (its connection
    then closed) or its connection closed, and the daemon exits 0 (under
    ASan: nothing leaked)."""
    with Daemon(workers=2) as d:
        sim = Sim(d)
        fleet(d, sim, 8)
        restart(d, {"ARDOISE_TEST_GROUP_HOLD_MS": "500"})
        socks = []
        for n in range(8):
            cert, key, req = idle_request(d, sim, n)
            s = d.raw_tls(cert, key)
            s.sendall(req)
            socks.append(s)
        # put off while the other loop's group holds the lock: then SIGTERM
        wait_until(lambda: figures(d)[0] > 0, 10, "a request put off", interval=0.01)
        d.proc.send_signal(signal.SIGTERM)
        got = []
        for s in socks:
            s.settimeout(20)
            f = s.makefile("rb")
            try:
                status = read_response(f)[0]
            except (OSError, ssl.SSLError, Failure):  # closed before an answer
                status = "closed"
            got.append(status)
            if status != "closed":  # answered, then closed: the drain
                try:
                    rest = f.read()
                except (OSError, ssl.SSLError):
                    rest = b""
                check(rest == b"", "nothing after the answer: %r" % rest[:80])
            s.close()
        rc = d.stop()
        print("drain with requests put off: answers %r, exit %r" % (got, rc))
        check(rc == 0, "ardoised exited 0 after the drain: %r" % rc)
        check(all(g in (200, "closed") for g in got), "answered or closed: %r" % got)
        check("event=drain_timeout" not in d.log(), "the drain ended before its timeout")


if __name__ == "__main__":
    run([test_wave_defers_instead_of_waiting, test_closed_while_deferred,
         test_drain_with_requests_deferred])
