"""APNs push against a local HTTP/2 TLS stand-in (tests/push/apns_standin).

Checks what Apple would see (path, headers, payload), coalescing, answers by
reason (410/400 mark the token invalid, 429/5xx retried with backoff),
reconnection, that queueing never waits on push, the stale re-push job,
certificate problems, authorisation, and the drain at SIGTERM.

Tablets are rows inserted with the sqlite3 CLI (enrolment is tested
elsewhere); commands are queued with `ardoisectl command send|bulk`.
"""
import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import Daemon, Failure, check, run, wait_until

STANDIN = os.environ.get("APNS_STANDIN", "build/tests/push/apns_standin")
MAKE_CERTS = os.environ.get("APNS_MAKE_CERTS", "build/tests/support/tu-make-certs")
TOPIC = "com.apple.mgmt.External.ardoise-test"
TYPES = ["DeviceInformation", "SecurityInfo", "ProfileList", "InstalledApplicationList",
         "ManagedApplicationList"]

TMPDIRS = []


def mkdtemp():
    d = tempfile.mkdtemp(prefix="ardoise-push-")
    TMPDIRS.append(d)
    return d


atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in TMPDIRS])
PKI = mkdtemp()
subprocess.run([MAKE_CERTS, PKI, TOPIC], check=True)


def pki(name, base=PKI):
    return os.path.join(base, name)


def uai(n):
    return "%07d%s" % (n, "ABCDEFGHJKLMNPRSTUVWXYZ"[n % 23])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Standin:
    """The APNs stand-in: its request log and a control file of rules."""

    def __init__(self, tmp, port=0, ca=None, rules=()):
        self.tmp = tmp
        self.log_path = os.path.join(tmp, "apns-%d.jsonl" % time.time_ns())
        self.control = os.path.join(tmp, "apns-control")
        self.set_rules(*rules)
        self.port = port
        self.ca = ca or pki("ca.pem")
        self.proc = None

    def set_rules(self, *rules):
        # a new file each time: the stand-in re-reads on mtime or size change
        tmp = self.control + ".new"
        with open(tmp, "w") as f:
            f.write("# rules %d\n" % time.time_ns() + "".join(r + "\n" for r in rules))
        os.replace(tmp, self.control)

    def start(self):
        with open(os.path.join(self.tmp, "standin.err"), "a") as err:
            self.proc = subprocess.Popen(
                [STANDIN, "--cert", pki("server.pem"), "--key", pki("server.key"), "--ca", self.ca,
                 "--port", str(self.port), "--log", self.log_path, "--control", self.control],
                stdout=subprocess.PIPE, stderr=err, text=True)
        line = self.proc.stdout.readline()
        check(line.startswith("port="), "stand-in did not start: %r" % line)
        self.port = int(line.strip().split("=")[1])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()
        self.proc = None

    def requests(self):
        try:
            with open(self.log_path) as f:
                # the stand-in may be writing its next line while we read: a
                # line without its newline is not complete yet
                return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
        except FileNotFoundError:
            return []

    def for_token(self, token):
        return [r for r in self.requests() if r["path"] == "/3/device/" + token]

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port


def push_config(url, extra=""):
    return ("[mdm]\ntopic = %s\n[push]\nurl = %s\ncert = %s\nkey = %s\nca = %s\n"
            "retry_base_ms = 300\nretry_max_ms = 2000\nreconnect_min_ms = 100\n"
            "reconnect_max_ms = 400\ntimeout_ms = 3000\ndrain_ms = 3000\n%s"
            % (TOPIC, url, pki("push.pem"), pki("push.key"), pki("ca.pem"), extra))


def sql(d, statement):
    """Raw SQL where the test plays the tablet (its enrolment and push token,
    its answers) or reads what the push thread wrote; setup staff can do
    goes through ardoisectl."""
    out = d.sqlite(statement)
    check(out.returncode == 0, "sqlite3: %s" % out.stderr)
    return out.stdout


def add_school(d, school):
    if school not in [s["uai"] for s in d.ctl_json("school", "list")]:
        d.ctl("school", "add", school, "--name", "Collège %s" % school)


def add_device(d, serial, school=None, topic=TOPIC):
    """An enrolled tablet with a push token; returns (token hex, magic)."""
    token, magic = os.urandom(32).hex(), "magic-" + os.urandom(8).hex()
    if school:
        add_school(d, school)
    sql(d, "INSERT INTO device(serial, udid, school, enrollment, topic, push_token, push_magic,"
        " created_at, updated_at) VALUES ('%s', 'udid-%s', %s, 'enrolled', '%s', X'%s', '%s',"
        " strftime('%%s','now'), strftime('%%s','now'))"
        % (serial, serial, "'%s'" % school if school else "NULL", topic, token, magic))
    return token, magic


def add_devices(d, prefix, n, school):
    """n tablets in one statement; returns their token hexes."""
    add_school(d, school)
    tokens = [os.urandom(32).hex() for _ in range(n)]
    rows = ",".join("('%s%04d', 'udid-%s%04d', '%s', 'enrolled', '%s', X'%s', 'm%d', 0, 0)"
                    % (prefix, i, prefix, i, school, TOPIC, t, i) for i, t in enumerate(tokens))
    sql(d, "INSERT INTO device(serial, udid, school, enrollment, topic, push_token, push_magic,"
        " created_at, updated_at) VALUES " + rows)
    return tokens


def device_row(d, serial):
    out = sql(d, "SELECT push_state, coalesce(last_push, 0) FROM device WHERE serial = '%s'"
              % serial).strip()
    state, last_push = out.rsplit("|", 1)
    return state, int(last_push)


def status(d):
    return d.ctl_json("push", "status")


def wait_idle(d, timeout=15):
    """Waits until the push thread is idle (nothing handed off, waiting, in
    flight or unwritten: no push goes out until something new asks for
    one); returns the status."""
    return wait_until(lambda: (lambda s: s if s["idle"] else None)(status(d)), timeout,
                      "the push thread to be idle")


def secrets_not_logged(d, *secrets):
    log = d.log()
    for s in secrets:
        check(s not in log, "a secret (token or PushMagic) was logged")


def test_path_headers_payload_and_coalescing():
    tmp = mkdtemp()
    apns = Standin(tmp).start()
    try:
        with Daemon(config=push_config(apns.url, "coalesce_ms = 2500\n")) as d:
            token, magic = add_device(d, "DMPCOAL0001")
            t0 = time.time()
            for t in TYPES:
                d.ctl("command", "send", "DMPCOAL0001", t)
            queued_in = time.time() - t0
            wait_until(lambda: apns.for_token(token), what="the push")
            wait_idle(d)  # anything more would be planned, in flight or written by now
            reqs = apns.for_token(token)
            check(len(reqs) == 1, "5 commands queued within the window -> 1 push, got %d (queued in %.1fs)"
                  % (len(reqs), queued_in))
            r = reqs[0]
            check(r["method"] == "POST", "method %r" % r["method"])
            check(r["headers"].get("apns-topic") == TOPIC, "apns-topic %r" % r["headers"])
            check(r["headers"].get("apns-push-type") == "mdm", "apns-push-type %r" % r["headers"])
            check(json.loads(r["body"]) == {"mdm": magic} and r["body"] == json.dumps({"mdm": magic}, separators=(",", ":")),
                  "body must be exactly {\"mdm\":\"<PushMagic>\"}: %r" % r["body"])
            check(r["status"] == 200, "stand-in accepted it: %r" % r)
            st = wait_until(lambda: (lambda s: s if s["counters"]["sent"] == 1 else None)(status(d)),
                            what="status sent=1")
            check(st["counters"]["notified"] == 5 and st["counters"]["coalesced"] == 4,
                  "status counts 5 notifications, 4 coalesced: %r" % st["counters"])
            check(st["connection"] == "ready" and st["topic"] == TOPIC, "status: %r" % st)
            wait_until(lambda: device_row(d, "DMPCOAL0001")[1] > 0, what="last_push written")

            # bulk: one push per tablet of the collège
            school = uai(131266)
            tokens = [add_device(d, "DMPBULK%04d" % i, school)[0] for i in range(3)]
            d.ctl("command", "bulk", "SecurityInfo", "--school", school)
            d.ctl("command", "bulk", "ProfileList", "--school", school)
            for t in tokens:
                wait_until(lambda: apns.for_token(t), what="bulk push")
            wait_idle(d)
            check(all(len(apns.for_token(t)) == 1 for t in tokens), "one push per tablet of a bulk")
            secrets_not_logged(d, token, magic, *tokens)
    finally:
        apns.stop()


def test_invalid_tokens_410_and_400():
    tmp = mkdtemp()
    apns = Standin(tmp).start()
    try:
        with Daemon(config=push_config(apns.url, "coalesce_ms = 200\n")) as d:
            gone, _ = add_device(d, "DMPGONE0001")
            bad, _ = add_device(d, "DMPBADT0001")
            ok, _ = add_device(d, "DMPOKAY0001")
            apns.set_rules("token %s 410 Unregistered" % gone, "token %s 400 BadDeviceToken" % bad)
            for s in ("DMPGONE0001", "DMPBADT0001", "DMPOKAY0001"):
                d.ctl("command", "send", s, "DeviceInformation")
            wait_until(lambda: device_row(d, "DMPGONE0001")[0] == "invalid: Unregistered",
                       what="410 marks the token invalid")
            wait_until(lambda: device_row(d, "DMPBADT0001")[0] == "invalid: BadDeviceToken",
                       what="400 BadDeviceToken marks the token invalid")
            check(device_row(d, "DMPOKAY0001")[0] == "", "a good token stays valid")
            st = status(d)
            by = st["counters"]["failed_by_reason"]
            check(by.get("Unregistered") == 1 and by.get("BadDeviceToken") == 1, "by reason: %r" % by)
            check(st["invalid_tokens"] == 2, "invalid tokens: %r" % st)
            serials = sorted(x["serial"] for x in st["invalid_sample"])
            check(serials == ["DMPBADT0001", "DMPGONE0001"], "invalid sample: %r" % st["invalid_sample"])
            human = d.ctl("push", "status").stdout
            check("DMPGONE0001 (invalid: Unregistered)" in human, "status shows it: " + human)
            # shown on the device, and no more pushes to it
            out = d.ctl("device", "push", "DMPGONE0001", expect=1)
            check("Unregistered" in out.stderr and "TokenUpdate" in out.stderr,
                  "device push explains: %r" % out.stderr)
            d.ctl("command", "send", "DMPGONE0001", "SecurityInfo")
            wait_idle(d)  # the notification was handled: skipped, not pushed
            check(len(apns.for_token(gone)) == 1, "an invalid token is not pushed again")
            check(len(apns.for_token(ok)) == 1, "the good one got its push")
    finally:
        apns.stop()


def gaps(reqs):
    return [b["t"] - a["t"] for a, b in zip(reqs, reqs[1:])]


def test_429_and_5xx_retried_with_backoff():
    tmp = mkdtemp()
    apns = Standin(tmp).start()
    try:
        with Daemon(config=push_config(apns.url, "coalesce_ms = 100\nretries = 2\n")) as d:
            busy, _ = add_device(d, "DMPBUSY0001")
            unav, _ = add_device(d, "DMPUNAV0001")
            err, _ = add_device(d, "DMPERRR0001")
            down, _ = add_device(d, "DMPDOWN0001")
            apns.set_rules("token %s 429 TooManyRequests 2" % busy,
                           "token %s 503 ServiceUnavailable 1" % unav,
                           "token %s 500 InternalServerError 1" % err,
                           "token %s 503 ServiceUnavailable" % down)
            for s in ("DMPBUSY0001", "DMPUNAV0001", "DMPERRR0001", "DMPDOWN0001"):
                d.ctl("device", "push", s)
            wait_until(lambda: [r["status"] for r in apns.for_token(busy)] == [429, 429, 200],
                       what="429, 429, then 200")
            g = gaps(apns.for_token(busy))
            # retry_base_ms 300, doubling, + up to 25% jitter
            check(0.28 <= g[0] < 0.6 and 0.58 <= g[1] < 1.2 and g[1] > g[0],
                  "backoff doubles from 300 ms: gaps %r" % g)
            wait_until(lambda: [r["status"] for r in apns.for_token(unav)] == [503, 200], what="503 then 200")
            wait_until(lambda: [r["status"] for r in apns.for_token(err)] == [500, 200], what="500 then 200")
            # always 503: 1 try + 2 retries, then given up (the re-push job takes over)
            wait_until(lambda: status(d)["counters"]["failed"] == 1, what="given up after retries")
            check([r["status"] for r in apns.for_token(down)] == [503, 503, 503],
                  "bounded retries: %r" % [r["status"] for r in apns.for_token(down)])
            st = status(d)
            k = st["counters"]
            check(k["sent"] == 3 and k["retried"] == 6, "counters: %r" % k)
            by = k["failed_by_reason"]
            check(by == {"TooManyRequests": 2, "ServiceUnavailable": 4, "InternalServerError": 1},
                  "by reason: %r" % by)
            check(device_row(d, "DMPDOWN0001")[0] == "", "a 5xx never invalidates a token")
            check("push_gave_up" in d.log(), "giving up is logged")
    finally:
        apns.stop()


def test_reconnect_after_the_connection_drops():
    tmp = mkdtemp()
    apns = Standin(tmp, rules=["drop-after 2 1"]).start()
    try:
        with Daemon(config=push_config(apns.url, "coalesce_ms = 100\n")) as d:
            school = uai(4242)
            tokens = [add_device(d, "DMPDROP%04d" % i, school)[0] for i in range(4)]
            d.ctl("push", "--school", school)
            for t in tokens:
                wait_until(lambda: any(r["status"] == 200 for r in apns.for_token(t)),
                           what="every tablet pushed after the reconnect")
            reqs = apns.requests()
            check(any(r["dropped"] for r in reqs), "the stand-in dropped a request")
            check(len(set(r["conn"] for r in reqs)) >= 2, "a second connection was made")
            st = status(d)
            check(st["counters"]["connects"] >= 2 and st["counters"]["sent"] == 4,
                  "status: %r" % st["counters"])
            check(st["last_error"] and ("closed" in st["last_error"]["message"]
                                        or "reset" in st["last_error"]["message"]),
                  "last error says why: %r" % st["last_error"])
    finally:
        apns.stop()


def test_goaway_streams_are_resent_without_penalty():
    tmp = mkdtemp()
    apns = Standin(tmp, rules=["goaway-after 2 1"]).start()
    try:
        with Daemon(config=push_config(apns.url, "coalesce_ms = 100\n")) as d:
            school = uai(5151)
            tokens = add_devices(d, "DMPGONE", 6, school)
            d.ctl("push", "--school", school)
            for t in tokens:
                wait_until(lambda: any(r["status"] == 200 for r in apns.for_token(t)),
                           what="every tablet pushed after APNs said GOAWAY")
            check(len(set(r["conn"] for r in apns.requests())) == 2, "a new connection after GOAWAY")
            check(all(len(apns.for_token(t)) == 1 for t in tokens),
                  "each push processed once: the refused ones were not processed before")
            k = status(d)["counters"]
            check(k["sent"] == 6 and k["retried"] == 0 and k["failed"] == 0 and k["connects"] == 2,
                  "refused streams are resent, not failures: %r" % k)
            check("event=push_connection_failed" not in d.log(), "GOAWAY is not an error")
    finally:
        apns.stop()


def test_queueing_never_waits_when_apns_is_down():
    tmp = mkdtemp()
    port = free_port()
    apns = Standin(tmp, port=port)
    with Daemon(config=push_config(apns.url, "coalesce_ms = 100\n")) as d:
        school = uai(777)
        tokens = add_devices(d, "DMPWAIT", 200, school)
        t0 = time.time()
        d.ctl("command", "send", "DMPWAIT0000", "DeviceInformation")
        one = time.time() - t0
        t0 = time.time()
        out = d.ctl_json("command", "bulk", "SecurityInfo", "--school", school)
        bulk = time.time() - t0
        check(out["queued"] == 200, "bulk queued: %r" % out)
        check(one < 2 and bulk < 5, "queueing does not wait for APNs: send %.2fs, bulk %.2fs" % (one, bulk))
        st = wait_until(lambda: (lambda s: s if s["last_error"] else None)(status(d)),
                        what="the connection error in status")
        check("connect" in st["last_error"]["message"], "last error: %r" % st["last_error"])
        check(st["connection"] in ("backoff", "resolving", "connecting"), "state %r" % st["connection"])
        check(d.log().count("event=push_connection_failed") == 1,
              "one log line for a repeated connection failure")
        apns.start()  # APNs comes back on the same port
        try:
            for t in tokens:
                wait_until(lambda: apns.for_token(t), what="pushes once APNs is back")
            wait_idle(d)
            check(all(len(apns.for_token(t)) == 1 for t in tokens), "one push per tablet, no storm")
            check(status(d)["connection"] == "ready", "reconnected")
        finally:
            apns.stop()


def test_stale_devices_are_pushed_again_with_backoff():
    tmp = mkdtemp()
    apns = Standin(tmp).start()
    conf = "coalesce_ms = 100\nrepush_check_s = 1\nrepush_min_s = 2\nrepush_max_s = 4\n"
    try:
        with Daemon(config=push_config(apns.url, conf)) as d:
            silent, _ = add_device(d, "DMPSILE0001")
            d.ctl("command", "send", "DMPSILE0001", "DeviceInformation")
            # pushes at about 0, 2, 4, 8, 12 s: the gaps double up to 4 s,
            # each up to one check (1 s) late
            wait_until(lambda: len(apns.for_token(silent)) >= 4, timeout=30,
                       what="a silent tablet pushed again")
            times = [r["t"] for r in apns.for_token(silent)]
            g = gaps([{"t": t} for t in times])
            check(all(1.5 <= x <= 7 for x in g), "never sooner than the minimum gap, never later"
                  " than the cap and a check: %r" % g)
            check(g[0] < 4.5 and g[-1] >= 3.5, "gaps grow to the cap: %r" % g)
            # the tablet comes and acknowledges: no more pushes
            sql(d, "UPDATE command SET status = 'acknowledged', done_at = strftime('%s','now')"
                " WHERE device_id = (SELECT id FROM device WHERE serial = 'DMPSILE0001');"
                "UPDATE device SET last_seen = strftime('%s','now') WHERE serial = 'DMPSILE0001'")
            n = len(apns.for_token(silent))
            # the re-push job runs each second: five runs span the 4 s cap
            checks = status(d)["counters"]["repush_checks"]
            wait_until(lambda: status(d)["counters"]["repush_checks"] >= checks + 5, 30,
                       "five runs of the re-push job")
            wait_idle(d)
            check(len(apns.for_token(silent)) <= n + 1, "no re-push once the tablet answered")

            # a command queued with no notification (a restart, a full queue)
            missed, _ = add_device(d, "DMPMISS0001")
            sql(d, "INSERT INTO command(uuid, device_id, type, status, payload, created_at, expires_at)"
                " SELECT 'u-missed', id, 'DeviceInformation', 'queued', X'00',"
                " strftime('%s','now') - 120, strftime('%s','now') + 86400 FROM device"
                " WHERE serial = 'DMPMISS0001'")
            wait_until(lambda: apns.for_token(missed), timeout=10, what="the re-push job finds it")
    finally:
        apns.stop()


def test_certificate_problems():
    tmp = mkdtemp()
    garbage = os.path.join(tmp, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("not a certificate\n")
    apns = Standin(tmp).start()
    try:
        # unusable certificate: one clear line, a health warning, the daemon serves
        conf = push_config(apns.url).replace(pki("push.pem"), garbage)
        with Daemon(config=conf) as d:
            check(d.log().count("event=push_certificate_unusable") == 1, "one log line")
            _, _, body = d.request("GET", "/healthz", token=None)
            h = json.loads(body)
            check(h["status"] == "ok" and any("certificate problem" in w for w in h["warnings"]),
                  "health warning: %r" % h)
            add_device(d, "DMPCERT0001")
            d.ctl("command", "send", "DMPCERT0001", "DeviceInformation")  # queueing still works
            out = d.ctl("device", "push", "DMPCERT0001", expect=1)
            check("certificate" in out.stderr, "device push says why: %r" % out.stderr)
            st = status(d)
            check(st["enabled"] and not st["usable"], "status: %r" % st)
            chk = subprocess.run([os.environ.get("ARDOISED", "build/daemon/ardoised"), "--data-dir", d.data,
                                  "--config", os.path.join(d.tmp, "ardoised.conf"), "-n"],
                                 capture_output=True, text=True)
            check(chk.returncode == 1 and "garbage.pem" in chk.stderr, "-n reports it: %r" % chk.stderr)

        # expiring within 30 days: warning, pushes still go
        soon = os.path.join(tmp, "soon")
        subprocess.run([MAKE_CERTS, soon, TOPIC, "10"], check=True)
        conf = push_config(apns.url).replace(pki("push.pem"), pki("push.pem", soon)) \
            .replace(pki("push.key"), pki("push.key", soon))
        apns_soon = Standin(tmp, ca=pki("ca.pem", soon)).start()
        try:
            conf = conf.replace(apns.url, apns_soon.url)
            with Daemon(config=conf) as d:
                st = status(d)
                check(st["usable"] and st["certificate"]["expires_in_days"] in (9, 10), "status: %r" % st)
                check(any("expires in" in w for w in st["warnings"]), "warning: %r" % st["warnings"])
                human = d.ctl("push", "status").stdout
                check("WARNING: push: certificate expires in" in human, human)
                wait_until(lambda: "event=push_certificate_expiring" in d.log(), timeout=15,
                           what="the certificate job's log line")
                token, _ = add_device(d, "DMPSOON0001")
                d.ctl("device", "push", "DMPSOON0001")
                wait_until(lambda: apns_soon.for_token(token), what="push with a certificate near expiry")
        finally:
            apns_soon.stop()

        # APNs refusing the client certificate: one log line however many reconnects
        other = os.path.join(tmp, "other")
        subprocess.run([MAKE_CERTS, other, TOPIC], check=True)
        strict = Standin(tmp, ca=pki("ca.pem", other)).start()
        try:
            with Daemon(config=push_config(strict.url, "coalesce_ms = 100\n")) as d:
                add_device(d, "DMPREFU0001")
                d.ctl("device", "push", "DMPREFU0001")
                # several attempts at reconnect_max_ms 400
                wait_until(lambda: status(d)["counters"]["connect_failures"] >= 4, 15,
                           "several failed connection attempts")
                check(d.log().count("event=push_connection_failed") == 1,
                      "one line: %s" % [l for l in d.log().splitlines() if "push_" in l])
                st = status(d)
                check(any("certificate" in w for w in st["warnings"]), "health warning: %r" % st)
                check(d.alive(), "never a crash")
        finally:
            strict.stop()

        # a key file others can read: refused at start, naming it
        loose = os.path.join(tmp, "loose.key")
        with open(pki("push.key")) as src, open(loose, "w") as dst:
            dst.write(src.read())
        os.chmod(loose, 0o644)
        d = Daemon(config=push_config(apns.url).replace(pki("push.key"), loose), start=False)
        with d:
            started = True
            try:
                d.start()
            except Failure:  # it exited at start
                started = False
                d.proc.wait(10)
                d.logf.close()
                d.proc = None
            check(not started, "ardoised must refuse a push key others can read")
            check("loose.key" in d.log() and "chmod 600" in d.log(), "names the file: %s" % d.log())
    finally:
        apns.stop()


def test_pkcs12_with_passphrase():
    tmp = mkdtemp()
    p12 = os.path.join(tmp, "push.p12")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", pki("push.pem"), "-inkey", pki("push.key"),
                    "-out", p12, "-passout", "pass:Tr0ub4dor"], check=True)
    os.chmod(p12, 0o600)
    apns = Standin(tmp).start()
    try:
        conf = ("[mdm]\ntopic = %s\n[push]\nurl = %s\ncert = %s\npassphrase = Tr0ub4dor\nca = %s\n"
                "coalesce_ms = 100\n" % (TOPIC, apns.url, p12, pki("ca.pem")))
        with Daemon(config=conf) as d:
            token, _ = add_device(d, "DMPP12X0001")
            d.ctl("command", "send", "DMPP12X0001", "DeviceInformation")
            wait_until(lambda: apns.for_token(token), what="push with a PKCS#12 identity")
            check("Tr0ub4dor" not in d.log(), "the passphrase is never logged")
    finally:
        apns.stop()


def test_authorisation_and_errors():
    tmp = mkdtemp()
    apns = Standin(tmp).start()
    try:
        with Daemon(config=push_config(apns.url, "coalesce_ms = 100\n")) as d:
            mine, other = uai(1001), uai(2002)
            add_device(d, "DMPMINE0001", mine)
            add_device(d, "DMPOTHR0001", other)
            # an ATI of one collège, a référent
            ati = "ard_" + "A" * 42 + "1"  # tokens are "ard_" + 43 characters
            ref = "ard_" + "R" * 42 + "1"
            for name, role, tok in (("ati1", "ati", ati), ("ref1", "referent", ref)):
                sql(d, "INSERT INTO account(name, role, schools, token_hash, created_at)"
                    " VALUES ('%s', '%s', '%s', '%s', 0)"
                    % (name, role, mine, hashlib.sha256(tok.encode()).hexdigest()))
            d.ctl("device", "push", "DMPMINE0001", token=ati)
            d.ctl("push", "--school", mine, token=ati)
            out = d.ctl("device", "push", "DMPOTHR0001", token=ati, expect=1)
            check("404" in out.stderr, "ATI cannot push another collège's tablet (as unknown): %r" % out.stderr)
            d.ctl("push", "--school", other, token=ati, expect=1)
            d.ctl("push", "--all", token=ati, expect=1)
            d.ctl("push", "status", token=ati, expect=1)
            d.ctl("device", "push", "DMPMINE0001", token=ref, expect=1)
            d.ctl("push", "--school", "0131266A", expect=1)  # bad UAI
            d.ctl("device", "push", "NOSUCHSERIAL", expect=1)
            d.ctl("push", expect=2)
            add_device(d, "DMPTOPC0001", mine, topic="com.apple.mgmt.External.other")
            out = d.ctl("device", "push", "DMPTOPC0001", expect=1)
            check("enrol again" in out.stderr, "topic mismatch explained: %r" % out.stderr)
            sql(d, "UPDATE device SET enrollment = 'unenrolled', push_token = NULL"
                " WHERE serial = 'DMPOTHR0001'")
            out = d.ctl("device", "push", "DMPOTHR0001", expect=1)
            check("not enrolled" in out.stderr, "says why: %r" % out.stderr)
            audit = sql(d, "SELECT actor, action, target FROM audit WHERE action LIKE '%push%'")
            check("ati1|device.push|DMPMINE0001" in audit and "ati1|push.school|" + mine in audit,
                  "pushes are audited: %r" % audit)
    finally:
        apns.stop()


def test_push_off_and_sigterm_drain():
    with Daemon() as d:  # no [push] cert: off
        st = status(d)
        check(not st["enabled"] and st["connection"] == "off", "status: %r" % st)
        check("push: off" in d.ctl("push", "status").stdout, "human status")
        add_device(d, "DMPOFFX0001")
        d.ctl("command", "send", "DMPOFFX0001", "DeviceInformation")
        out = d.ctl("device", "push", "DMPOFFX0001", expect=1)
        check("push is off" in out.stderr, out.stderr)

    tmp = mkdtemp()
    apns = Standin(tmp).start()
    try:
        # pushes still inside their coalescing window go out at SIGTERM
        with Daemon(config=push_config(apns.url, "coalesce_ms = 30000\n")) as d:
            tokens = [add_device(d, "DMPTERM%04d" % i)[0] for i in range(3)]
            for i in range(3):
                d.ctl("command", "send", "DMPTERM%04d" % i, "DeviceInformation")
            t0 = time.time()
            check(d.stop() == 0, "SIGTERM exits 0")
            check(time.time() - t0 < 5, "bounded drain")
            check(all(len(apns.for_token(t)) == 1 for t in tokens), "pushes flushed at the drain")
    finally:
        apns.stop()
    # APNs down: the drain does not wait for it
    with Daemon(config=push_config("https://127.0.0.1:%d" % free_port(), "coalesce_ms = 100\n")) as d:
        add_device(d, "DMPTERM9999")
        d.ctl("command", "send", "DMPTERM9999", "DeviceInformation")
        # the push is due and its connection attempt failed: the drain has it to give up
        wait_until(lambda: status(d)["last_error"], what="the connection error in status")
        t0 = time.time()
        check(d.stop() == 0, "SIGTERM exits 0")
        check(time.time() - t0 < 5, "the drain does not wait for an unreachable APNs")


if __name__ == "__main__":
    run([test_path_headers_payload_and_coalescing, test_invalid_tokens_410_and_400,
         test_429_and_5xx_retried_with_backoff, test_reconnect_after_the_connection_drops,
         test_goaway_streams_are_resent_without_penalty,
         test_queueing_never_waits_when_apns_is_down, test_stale_devices_are_pushed_again_with_backoff,
         test_certificate_problems, test_pkcs12_with_passphrase, test_authorisation_and_errors,
         test_push_off_and_sigterm_drain])
