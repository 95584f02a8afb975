"""GET /metrics (issue 17): a wave of ardoise-sim enrolments and sessions and
a push to the local APNs stand-in, then a scrape that promtool accepts and
whose numbers match what happened (sessions, commands by type read back from
the database, enrolled tablets, handshakes, histograms); then who may read
it under each [metrics] access, and that a monitoring account reads it and
nothing else.
"""
import os
import re
import socket
import ssl
import subprocess

from harness import (ARDOISED, Daemon, Sim, check, new_code, read_response, run, token_of,
                     wait_until)
from test_push import Standin, mkdtemp, push_config, wait_idle

PROMTOOL = os.environ.get("PROMTOOL", "promtool")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
N = 4  # tablets


def parse(text):
    """{(name, labels text): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m is not None, "not a sample line: %r" % line)
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def value(samples, name, labels=""):
    key = (name, "{%s}" % labels if labels else "")
    check(key in samples, "no sample %s{%s}" % (name, labels))
    return samples[key]


def scrape(d, token=None, expect=200):
    status, headers, body = d.request("GET", "/metrics", token=token)
    check(status == expect, "GET /metrics: expected %d, got %d: %s" % (expect, status, body[:300]))
    if expect == 200:
        check(headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
              "content type %r" % headers.get("content-type"))
    return body.decode()


def promtool_check(text):
    out = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    check(out.returncode == 0, "promtool check metrics: %s%s" % (out.stdout, out.stderr))


def check_histograms(samples):
    """Buckets rise with le; +Inf equals _count; returns {series: count}."""
    series = {}
    for (name, labels), v in samples.items():
        if not name.endswith("_bucket"):
            continue
        le = re.search(r'le="([^"]+)"', labels).group(1)
        rest = re.sub(r',?le="[^"]+"', "", labels)
        rest = "" if rest == "{}" else rest
        series.setdefault((name[:-7], rest), []).append((float(le), v))
    counts = {}
    for (base, rest), buckets in series.items():
        buckets.sort()
        for (_, a), (_, b) in zip(buckets, buckets[1:]):
            check(b >= a, "%s%s: buckets not cumulative: %s" % (base, rest, buckets))
        check(buckets[-1][0] == float("inf"), "%s%s has no +Inf bucket" % (base, rest))
        count = samples[(base + "_count", rest)]
        check(buckets[-1][1] == count, "%s%s: +Inf %g != _count %g" % (base, rest, buckets[-1][1], count))
        counts[(base, rest)] = count
    return counts


def db_counts(d, sql):
    out = d.sqlite(sql)  # reads what is stored, to compare with the counters
    check(out.returncode == 0, out.stderr)
    rows = {}
    for line in out.stdout.splitlines():
        k, _, v = line.rpartition("|")
        rows[k] = int(v)
    return rows


def test_numbers_match_a_wave():
    tmp = mkdtemp()
    apns = Standin(tmp).start()
    try:
        with Daemon(config=push_config(apns.url)) as d:
            sim = Sim(d)
            sim("enroll", "-n", str(N), "--code", new_code(d, N), "--key-pool", "2")
            first = sim.connect()
            serials = [x["serial"] for x in sim.devices()]
            for s in serials:
                d.ctl("command", "send", s, "SecurityInfo")
            wait_until(lambda: len(apns.requests()) >= N, what="the pushes to reach APNs")
            wait_idle(d)
            second = sim.connect()
            check(second["acknowledged"] >= N, "the tablets acknowledged: %r" % second)
            # one command left waiting, one tablet silent for 8 days (the
            # test plays the clock on the stored row)
            d.ctl("command", "send", serials[0], "DeviceInformation")
            wait_until(lambda: len(apns.requests()) >= N + 1, what="the last push")
            wait_idle(d)
            out = d.sqlite("UPDATE device SET last_seen = last_seen - 8 * 86400 "
                           "WHERE serial = '%s'" % serials[1])
            check(out.returncode == 0, out.stderr)

            text = scrape(d)
            promtool_check(text)
            m = parse(text)

            # commands by type, as the database holds them
            queued = db_counts(d, "SELECT type, count(*) FROM command GROUP BY type")
            acked = db_counts(d, "SELECT type, count(*) FROM command WHERE status = "
                                 "'acknowledged' GROUP BY type")
            sent = db_counts(d, "SELECT type, count(*) FROM command WHERE sent_at IS NOT NULL "
                                "GROUP BY type")
            check(queued.get("SecurityInfo", 0) >= N, "SecurityInfo queued: %r" % queued)
            for t, n in queued.items():
                check(value(m, "ardoise_commands_queued_total", 'type="%s"' % t) == n,
                      "%s queued: metrics %g, database %d"
                      % (t, value(m, "ardoise_commands_queued_total", 'type="%s"' % t), n))
            for t, n in sent.items():
                check(value(m, "ardoise_commands_delivered_total", 'type="%s"' % t) == n,
                      "%s delivered: database %d" % (t, n))
            for t, n in acked.items():
                check(value(m, "ardoise_commands_acknowledged_total", 'type="%s"' % t) == n,
                      "%s acknowledged: database %d" % (t, n))
            total_acked = sum(acked.values())
            check(first["acknowledged"] + second["acknowledged"] == total_acked,
                  "the sim's acknowledgements %d + %d, the database's %d"
                  % (first["acknowledged"], second["acknowledged"], total_acked))
            check(value(m, "ardoise_mdm_reports_total", 'status="Acknowledged"') == total_acked,
                  "Acknowledged reports")
            check(value(m, "ardoise_mdm_connect_requests_total", 'outcome="command_sent"')
                  == sum(sent.values()), "command_sent = commands delivered")
            # each session ends with the empty answer
            check(value(m, "ardoise_mdm_connect_requests_total", 'outcome="idle"') >= 2 * N,
                  "idle answers")
            check(value(m, "ardoise_mdm_checkin_requests_total",
                        'message="Authenticate",outcome="ok"') == N, "Authenticate check-ins")
            check(value(m, "ardoise_mdm_checkin_requests_total",
                        'message="TokenUpdate",outcome="ok"') >= N, "TokenUpdate check-ins")
            check(value(m, "ardoise_tablets_enrolled") == N, "enrolled tablets")
            check(value(m, "ardoise_tablets_not_seen", 'days="7"') == 1, "one unseen for 7 days")
            check(value(m, "ardoise_tablets_not_seen", 'days="30"') == 0, "none for 30")
            check(value(m, "ardoise_commands_pending", 'status="queued"') == 1, "one pending")

            # handshakes: at least one a session (the sim opens a connection each)
            sessions = sum(v for (n, _), v in m.items()
                           if n in ("ardoise_mdm_checkin_requests_total",
                                    "ardoise_mdm_connect_requests_total"))
            hs = sum(value(m, "ardoise_tls_handshakes_total", 'result="%s"' % r)
                     for r in ("full", "resumed"))
            check(hs >= 2 * N, "handshakes %g for %d tablets' sessions" % (hs, N))
            counts = check_histograms(m)
            check(counts[("ardoise_http_request_duration_seconds", '{class="mdm"}')] == sessions,
                  "mdm requests in the histogram %g, counted %g"
                  % (counts[("ardoise_http_request_duration_seconds", '{class="mdm"}')], sessions))
            check(counts[("ardoise_http_request_duration_seconds", '{class="scep"}')] >= N,
                  "SCEP requests")
            # the tablets' writes go in group commits (one transaction for the
            # requests of a loop turn): at least one a group, and every
            # request in a group is a tablet's
            groups = sum(value(m, "ardoise_db_group_commits_total", 'result="%s"' % r)
                         for r in ("ok", "failed"))
            in_groups = value(m, "ardoise_db_group_requests_total")
            check(0 < in_groups <= sessions, "requests in groups %g, tablet requests %g"
                  % (in_groups, sessions))
            check(counts[("ardoise_db_write_transaction_duration_seconds", "")] >= groups > 0,
                  "write transactions %g, group commits %g"
                  % (counts[("ardoise_db_write_transaction_duration_seconds", "")], groups))
            check(value(m, "ardoise_reconcile_runs_total", 'scope="tablet",result="ok"') >= N,
                  "a reconciliation per enrolled tablet")

            # the push: APNs answered 200 to each
            check(value(m, "ardoise_push_sent_total") == len(apns.requests()),
                  "pushes sent %g, the stand-in saw %d"
                  % (value(m, "ardoise_push_sent_total"), len(apns.requests())))
            check(value(m, "ardoise_push_failed_total") == 0, "no failed push")
            for cert in ("push", "server", "ca"):
                at = value(m, "ardoise_certificate_expiry_timestamp_seconds", 'cert="%s"' % cert)
                check(at > 1.7e9, "%s expiry %g" % (cert, at))
            check(value(m, "ardoise_process_start_time_seconds") > 1.7e9, "start time")
            check(value(m, "ardoise_connections_open") >= 1, "this scrape's connection")
    finally:
        apns.stop()


def non_loopback_address():
    """An address of this machine that is not loopback, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet: picks the outgoing address
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if addr.startswith("127.") else addr


def test_loopback_only_by_default():
    with Daemon() as d:
        check(scrape(d).startswith("# HELP"), "loopback answered without a token")
    addr = non_loopback_address()
    if addr is None:
        print("no non-loopback address here: the unit test covers the check")
        return
    with Daemon(start=False) as d:
        # the harness listens on 127.0.0.1: this daemon on the machine's address
        with open(d.log_path, "w") as logf:
            proc = subprocess.Popen([ARDOISED, "--data-dir", d.data, "--listen", "%s:0" % addr,
                                     "--workers", "1"], stdout=logf, stderr=subprocess.STDOUT)
        try:
            m = d.wait_log(r"event=listening addr=%s:(\d+)" % re.escape(addr), timeout=30)
            ctx = ssl.create_default_context(cafile=d.ca)
            ctx.check_hostname = False
            for headers in ({}, {"X-Forwarded-For": "127.0.0.1"},
                            {"Authorization": "Bearer " + d.token}):
                sock = ctx.wrap_socket(socket.create_connection((addr, int(m.group(1))),
                                                                timeout=30))
                req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (
                    "".join("%s: %s\r\n" % kv for kv in headers.items()))
                sock.sendall(req.encode())
                data = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                sock.close()
                check(data.startswith(b"HTTP/1.1 403"),
                      "a peer on %s %r got %r" % (addr, headers, data[:200]))
                check(b"ardoise_" not in data, "no metric to a non-loopback peer")
        finally:
            proc.terminate()
            check(proc.wait(30) == 0, "ardoised on %s exited %s" % (addr, proc.returncode))


def test_account_access_and_monitoring_role():
    with Daemon(config="[metrics]\naccess = account\n") as d:
        d.ctl("school", "add", "0131266F", "--name", "Collège Test")
        tokens = {}
        for name, role, school in (("mon", "monitoring", None), ("ati1", "ati", "0131266F"),
                                   ("ref1", "referent", "0131266F"), ("aud", "auditor", None)):
            args = ["account", "create", name, "--role", role]
            if school:
                args += ["--school", school]
            tokens[role] = token_of(d.ctl(*args))
        # the role's French name in ardoisectl
        out = d.ctl("account", "list", lang="fr_FR.UTF-8")
        check("supervision" in out.stdout, "monitoring in French: %s" % out.stdout)
        d.ctl("account", "create", "bad", "--role", "monitoring", "--school", "0131266F", expect=1)

        scrape(d, token=None, expect=401)
        scrape(d, token="ard_" + "x" * 43, expect=401)
        check("ardoise_build_info" in scrape(d, token="admin"), "a technician reads it")
        promtool_check(scrape(d, token=tokens["monitoring"]))
        for role in ("ati", "referent", "auditor"):
            scrape(d, token=tokens[role], expect=403)
        # the monitoring token opens nothing else
        for method, path in (("GET", "/api/v1/devices"), ("GET", "/api/v1/audit"),
                             ("GET", "/api/v1/people"), ("GET", "/api/v1/whoami"),
                             ("GET", "/api/v1/accounts"), ("GET", "/api/v1/policy/profiles"),
                             ("POST", "/api/v1/jobs/purge/run"),
                             ("POST", "/api/v1/token/rotate")):
            status, _, body = d.request(method, path, token=tokens["monitoring"],
                                        body={} if method == "POST" else None)
            check(status == 403, "monitoring %s %s: %d %s" % (method, path, status, body[:200]))
        # refused from the head: its 5 MB body is never waited for
        sock = d.raw_tls()
        sock.sendall(("POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
                      % tokens["monitoring"]).encode())
        status, _, body = read_response(sock.makefile("rb"))
        sock.close()
        check(status == 403 and b"monitoring" in body, "a monitoring body: %d %s" % (status, body))


def test_off_is_404():
    with Daemon(config="[metrics]\naccess = off\n") as d:
        scrape(d, expect=404)
        scrape(d, token="admin", expect=404)
        out = d.run_once("-n", "--config", d.write_config("[metrics]\naccess = everyone\n", "bad.conf"))
        check(out.returncode != 0 and "metrics" in out.stderr, "a bad access refused: %s" % out.stderr)


def test_scrape_answers_during_a_refresh():
    """The fleet figures are read again on a work thread: a scrape while a
    refresh is on its way answers with the figures the cache holds (it does
    not wait for the refresh), and the scrapes after it show the new ones.
    Test hooks of the daemon: every figure stale at once (TTL 0), and each
    refresh held 5 s before it reads."""
    os.environ["ARDOISE_TEST_METRICS_TTL_MS"] = "0"
    os.environ["ARDOISE_TEST_METRICS_DELAY_MS"] = "5000"
    try:
        with Daemon() as d:
            sim = Sim(d)
            sim("enroll", "-n", "2", "--code", new_code(d, 2), "--key-pool", "2")
            m = parse(scrape(d))  # the first scrape reads on its loop: no wait
            check(value(m, "ardoise_tablets_enrolled") == 2, "enrolled after the first scrape")
            queued = value(m, "ardoise_commands_pending", 'status="queued"')
            check(value(m, "ardoise_tablets_not_seen", 'days="7"') == 0, "all seen")

            serials = [x["serial"] for x in sim.devices()]
            d.ctl("command", "send", serials[0], "DeviceLock", "Message=test", "--reason", "test")
            # the test plays the clock on the stored row: silent for 8 days
            out = d.sqlite("UPDATE device SET last_seen = last_seen - 8 * 86400 "
                           "WHERE serial = '%s'" % serials[1])
            check(out.returncode == 0, out.stderr)

            # this scrape starts the refresh and answers from the cache;
            # the next one, the refresh still held, too (and starts no other)
            for _ in range(2):
                m = parse(scrape(d))
                check(value(m, "ardoise_commands_pending", 'status="queued"') == queued,
                      "the scrape waited for the refresh")
                check(value(m, "ardoise_tablets_not_seen", 'days="7"') == 0,
                      "the scrape waited for the refresh")
            wait_until(lambda: value(parse(scrape(d)), "ardoise_commands_pending",
                                     'status="queued"') == queued + 1,
                       what="the refreshed figures in a scrape")
            m = parse(scrape(d))
            check(value(m, "ardoise_tablets_not_seen", 'days="7"') == 1, "one unseen for 7 days")
            check(value(m, "ardoise_tablets_enrolled") == 2, "still two enrolled")
            check("metrics_refresh_failed" not in d.log(), "a refresh failed:\n" + d.log()[-2000:])
    finally:
        os.environ.pop("ARDOISE_TEST_METRICS_TTL_MS", None)
        os.environ.pop("ARDOISE_TEST_METRICS_DELAY_MS", None)


if __name__ == "__main__":
    run([test_numbers_match_a_wave, test_loopback_only_by_default,
         test_account_access_and_monitoring_role, test_off_is_404,
         test_scrape_answers_during_a_refresh])
